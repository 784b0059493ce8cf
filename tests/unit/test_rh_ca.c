/*  =========================================================================
    test_rh_ca - the board certificate authority
    =========================================================================
*/
#include "test_helpers.h"

static void
test_init_issue_list_revoke_as_an_operator_would (void)
{
    char dir [PATH_MAX], pki [PATH_MAX], path [PATH_MAX];
    test_tempdir (dir, sizeof dir);
    rh_file_path (pki, sizeof pki, "%s/pki", dir);
    CU_ASSERT_EQUAL_FATAL (rh_ca_init (pki, NULL, 0), 0);
    rh_ca_request_t request = {
        .agency_id = "police-dyfed", .type = "POLICE", .la = "carmarthen", .region = "mid-west"
    };
    CU_ASSERT_EQUAL_FATAL (rh_ca_issue (pki, &request), 0);

    //  Standard files, secrets at 0600.
    static const char *files [] = { "ca.pem",
                                    "ca.key",
                                    "crl.pem",
                                    "police-dyfed/cert.pem",
                                    "police-dyfed/key.pem",
                                    "police-dyfed/curve.key",
                                    "police-dyfed/curve.pub" };
    static const int modes [] = { 0644, 0600, 0644, 0644, 0600, 0600, 0644 };
    for (size_t i = 0; i < sizeof files / sizeof files [0]; i++) {
        struct stat st;
        rh_file_path (path, sizeof path, "%s/%s", pki, files [i]);
        CU_ASSERT_EQUAL_FATAL (stat (path, &st), 0);
        CU_ASSERT_EQUAL (st.st_mode & 0777, modes [i]);
    }
    rh_certstore_t *store = rh_certstore_load_dir (pki);
    CU_ASSERT_PTR_NOT_NULL_FATAL (store);
    CU_ASSERT_EQUAL (rh_certstore_size (store), 1);
    const rh_identity_t *id = rh_certstore_identity (store, 0);
    CU_ASSERT_STRING_EQUAL (id->agency_id, "police-dyfed");
    CU_ASSERT_STRING_EQUAL (id->type, "POLICE");
    CU_ASSERT_STRING_EQUAL (id->la, "carmarthen");
    CU_ASSERT_STRING_EQUAL (id->region, "mid-west");
    CU_ASSERT_TRUE (id->has_curve_key);
    CU_ASSERT_EQUAL (rh_certstore_status (store, 0, rh_time_now_ms ()), RH_OK);
    rh_certstore_destroy (&store);
    CU_ASSERT_PTR_NULL (store);

    char listing [4096] = "";
    FILE *out = fmemopen (listing, sizeof listing - 1, "w");
    CU_ASSERT_EQUAL (rh_ca_list (pki, RH_CA_WARN_DAYS, out), 0);
    fclose (out);
    CU_ASSERT_PTR_NOT_NULL (strstr (listing, "police-dyfed"));
    CU_ASSERT_PTR_NOT_NULL (strstr (listing, "valid"));

    CU_ASSERT_EQUAL (rh_ca_revoke (pki, "police-dyfed", CRL_REASON_SUPERSEDED), 0);
    CU_ASSERT_EQUAL (rh_ca_revoke (pki, "police-dyfed", CRL_REASON_SUPERSEDED), 0);
    out = fmemopen (listing, sizeof listing - 1, "w");
    CU_ASSERT_EQUAL (rh_ca_list (pki, RH_CA_WARN_DAYS, out), 0);
    fclose (out);
    CU_ASSERT_PTR_NOT_NULL (strstr (listing, "revoked"));
}

static void
test_init_refuses_to_overwrite_a_ca (void)
{
    CU_ASSERT_EQUAL (rh_ca_init (test_pki ()->pki, NULL, 0), -1);
}

static void
test_issue_refuses_bad_ids_types_and_a_second_live_certificate (void)
{
    const char *pki = test_pki ()->pki;
    rh_ca_request_t request = { .agency_id = "Police Gwent", .type = "POLICE" };
    CU_ASSERT_EQUAL (rh_ca_issue (pki, &request), -1);
    request.agency_id = "police-new";
    request.type = "POLIS";
    CU_ASSERT_EQUAL (rh_ca_issue (pki, &request), -1);
    request.type = "AGENCY_TYPE_UNSET";
    CU_ASSERT_EQUAL (rh_ca_issue (pki, &request), -1);
    request.agency_id = "police-gwent";
    request.type = "POLICE";
    CU_ASSERT_EQUAL (rh_ca_issue (pki, &request), -1);
    request.agency_id = "x";
    request.la = "has space";
    CU_ASSERT_EQUAL (rh_ca_issue (pki, &request), -1);
}

static void
test_a_revoked_agency_can_be_enrolled_again_and_old_signatures_keep_their_certificate (void)
{
    char dir [PATH_MAX], pki [PATH_MAX], path [PATH_MAX];
    test_tempdir (dir, sizeof dir);
    rh_file_path (pki, sizeof pki, "%s/pki", dir);
    CU_ASSERT_EQUAL_FATAL (rh_ca_init (pki, NULL, 0), 0);
    rh_ca_request_t request = { .agency_id = "health-cv", .type = "HEALTH" };
    CU_ASSERT_EQUAL_FATAL (rh_ca_issue (pki, &request), 0);
    CU_ASSERT_EQUAL (rh_ca_revoke (pki, "health-cv", CRL_REASON_SUPERSEDED), 0);
    CU_ASSERT_EQUAL (rh_ca_issue (pki, &request), 0);
    rh_file_path (path, sizeof path, "%s/health-cv/archive", pki);
    CU_ASSERT_TRUE (rh_file_exists (path));
    rh_certstore_t *store = rh_certstore_load_dir (pki);
    CU_ASSERT_PTR_NOT_NULL_FATAL (store);
    CU_ASSERT_EQUAL (rh_certstore_size (store), 2);
    int valid = 0, revoked = 0;
    for (size_t i = 0; i < rh_certstore_size (store); i++) {
        rh_rc_t rc = rh_certstore_status (store, i, rh_time_now_ms () + 1000);
        valid += rc == RH_OK;
        revoked += rc == RH_E_REVOKED;
    }
    CU_ASSERT_EQUAL (valid, 1);
    CU_ASSERT_EQUAL (revoked, 1);
    rh_certstore_destroy (&store);
}

static void
test_revoke_of_an_unknown_agency_fails (void)
{
    CU_ASSERT_EQUAL (rh_ca_revoke (test_pki ()->pki, "nobody-here", CRL_REASON_UNSPECIFIED), -1);
    CU_ASSERT_EQUAL (rh_ca_revoke (test_pki ()->pki, "../escape", CRL_REASON_UNSPECIFIED), -1);
}

static void
test_reason_names_map_to_crl_codes (void)
{
    CU_ASSERT_EQUAL (rh_ca_reason_code ("key-compromise"), CRL_REASON_KEY_COMPROMISE);
    CU_ASSERT_EQUAL (rh_ca_reason_code ("cessation"), CRL_REASON_CESSATION_OF_OPERATION);
    CU_ASSERT_EQUAL (rh_ca_reason_code ("bored"), -1);
    CU_ASSERT_EQUAL (rh_ca_reason_code (NULL), -1);
}

static void
test_a_ca_key_readable_by_others_is_refused (void)
{
    char dir [PATH_MAX], pki [PATH_MAX], path [PATH_MAX];
    test_tempdir (dir, sizeof dir);
    rh_file_path (pki, sizeof pki, "%s/pki", dir);
    CU_ASSERT_EQUAL_FATAL (rh_ca_init (pki, NULL, 0), 0);
    rh_file_path (path, sizeof path, "%s/ca.key", pki);
    CU_ASSERT_EQUAL (chmod (path, 0644), 0);
    rh_ca_request_t request = { .agency_id = "health-cv", .type = "HEALTH" };
    CU_ASSERT_EQUAL (rh_ca_issue (pki, &request), -1);
}

void
init_rh_ca_tests (void)
{
    CU_pSuite suite = CU_add_suite ("rh_ca", NULL, NULL);
    CU_add_test (suite, "init, issue, list and revoke as an operator would",
                 test_init_issue_list_revoke_as_an_operator_would);
    CU_add_test (suite, "init refuses to overwrite a CA", test_init_refuses_to_overwrite_a_ca);
    CU_add_test (suite, "issue refuses bad ids, types and a second live certificate",
                 test_issue_refuses_bad_ids_types_and_a_second_live_certificate);
    CU_add_test (
        suite, "a revoked agency can be enrolled again and its old certificate is kept",
        test_a_revoked_agency_can_be_enrolled_again_and_old_signatures_keep_their_certificate);
    CU_add_test (suite, "revoke of an unknown agency fails",
                 test_revoke_of_an_unknown_agency_fails);
    CU_add_test (suite, "reason names map to CRL codes", test_reason_names_map_to_crl_codes);
    CU_add_test (suite, "a CA key readable by others is refused",
                 test_a_ca_key_readable_by_others_is_refused);
}
