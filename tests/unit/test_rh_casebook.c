/*  =========================================================================
    test_rh_casebook - referral cases rebuilt from the audit log
    =========================================================================
*/
#include "test_helpers.h"
#include "rh_broker_classes.h"

static void
test_a_referral_opens_a_case_found_by_referral_or_by_the_holders_case_id (void)
{
    rh_casebook_t *cases = rh_casebook_new ();
    CU_ASSERT_PTR_NOT_NULL_FATAL (cases);
    rh_audit_record_t referral = { .msg_id = "pol-1", .agency = "police-gwent", .at_ms = 1000 };
    rh_casebook_case_t *opened = rh_casebook_open (cases, &referral, "GW-1", "la-newport");
    CU_ASSERT_PTR_NOT_NULL_FATAL (opened);
    CU_ASSERT_STRING_EQUAL (opened->referrer, "police-gwent");
    CU_ASSERT_EQUAL (opened->received_ms, 1000);
    CU_ASSERT_PTR_EQUAL (rh_casebook_find (cases, "pol-1", NULL, ""), opened);
    CU_ASSERT_PTR_EQUAL (rh_casebook_find (cases, "", "la-newport", "GW-1"), opened);
    //  Another agency's case id of the same name is not this case.
    CU_ASSERT_PTR_NULL (rh_casebook_find (cases, "", "health-abb", "GW-1"));
    CU_ASSERT_PTR_NULL (rh_casebook_find (cases, "other", NULL, "GW-1"));
    opened->decided_ms = 2000;
    CU_ASSERT_EQUAL (rh_casebook_size (cases), 1);
    CU_ASSERT_EQUAL (rh_casebook_at (cases, 0)->decided_ms, 2000);
    rh_casebook_destroy (&cases);
    CU_ASSERT_PTR_NULL (cases);
    rh_casebook_destroy (&cases);
}

static void
test_an_agency_is_involved_once_and_at_most_rh_max_involved (void)
{
    rh_casebook_case_t c = { 0 };
    rh_casebook_involve (&c, "police-gwent");
    rh_casebook_involve (&c, "police-gwent");
    rh_casebook_involve (&c, "");
    CU_ASSERT_EQUAL (c.involved_count, 1);
    for (int i = 0; i < RH_MAX_INVOLVED + 5; i++) {
        char agency [32];
        snprintf (agency, sizeof agency, "agency-%d", i);
        rh_casebook_involve (&c, agency);
    }
    CU_ASSERT_EQUAL (c.involved_count, RH_MAX_INVOLVED);
}

static void
test_cases_beyond_the_first_allocation_keep_their_order (void)
{
    rh_casebook_t *cases = rh_casebook_new ();
    CU_ASSERT_PTR_NOT_NULL_FATAL (cases);
    for (int i = 0; i < 1000; i++) {
        char id [16];
        snprintf (id, sizeof id, "m-%d", i);
        rh_audit_record_t referral = { .msg_id = id, .agency = "police-gwent", .at_ms = i };
        CU_ASSERT_PTR_NOT_NULL (rh_casebook_open (cases, &referral, id, "la-newport"));
    }
    CU_ASSERT_EQUAL (rh_casebook_size (cases), 1000);
    CU_ASSERT_STRING_EQUAL (rh_casebook_at (cases, 999)->referral, "m-999");
    CU_ASSERT_EQUAL (rh_casebook_find (cases, "m-500", NULL, "")->received_ms, 500);
    rh_casebook_destroy (&cases);
}

void
init_rh_casebook_tests (void)
{
    CU_pSuite suite = CU_add_suite ("rh_casebook", NULL, NULL);
    CU_add_test (suite, "a referral opens a case found by referral or by the holder's case id",
                 test_a_referral_opens_a_case_found_by_referral_or_by_the_holders_case_id);
    CU_add_test (suite, "an agency is involved once and at most RH_MAX_INVOLVED",
                 test_an_agency_is_involved_once_and_at_most_rh_max_involved);
    CU_add_test (suite, "cases beyond the first allocation keep their order",
                 test_cases_beyond_the_first_allocation_keep_their_order);
}
