/*  =========================================================================
    test_rh_rc - result names
    =========================================================================
*/
#include "test_helpers.h"

static void
test_every_result_has_a_distinct_name_and_text (void)
{
    for (int a = 0; a < RH_RC_COUNT; a++) {
        CU_ASSERT_PTR_NOT_NULL (rh_rc_name ((rh_rc_t) a));
        CU_ASSERT_PTR_NOT_NULL (rh_rc_text ((rh_rc_t) a));
        CU_ASSERT_NSTRING_EQUAL (rh_rc_name ((rh_rc_t) a), "RH_", 3);
        for (int b = a + 1; b < RH_RC_COUNT; b++)
            CU_ASSERT_STRING_NOT_EQUAL (rh_rc_name ((rh_rc_t) a), rh_rc_name ((rh_rc_t) b));
    }
    CU_ASSERT_STRING_EQUAL (rh_rc_name (RH_E_SIG), "RH_E_SIG");
}

static void
test_out_of_range_results_are_named_unknown (void)
{
    CU_ASSERT_STRING_EQUAL (rh_rc_name (RH_RC_COUNT), "RH_E_UNKNOWN");
    CU_ASSERT_STRING_EQUAL (rh_rc_name ((rh_rc_t) -1), "RH_E_UNKNOWN");
    CU_ASSERT_STRING_EQUAL (rh_rc_text ((rh_rc_t) 999), "unknown result");
}

void
init_rh_rc_tests (void)
{
    CU_pSuite suite = CU_add_suite ("rh_rc", NULL, NULL);
    CU_add_test (suite, "every result has a distinct name and text",
                 test_every_result_has_a_distinct_name_and_text);
    CU_add_test (suite, "out-of-range results are named unknown",
                 test_out_of_range_results_are_named_unknown);
}
