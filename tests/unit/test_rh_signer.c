/*  =========================================================================
    test_rh_signer - agency signing keys
    =========================================================================
*/
#include "test_helpers.h"

static void
test_a_signer_signs_what_its_certificate_verifies (void)
{
    const test_pki_t *pki = test_pki ();
    rh_signer_t *signer = test_signer (pki->pki, "police-gwent");
    CU_ASSERT_PTR_NOT_NULL_FATAL (signer);
    CU_ASSERT_STRING_EQUAL (rh_signer_agency (signer), "police-gwent");
    uint8_t signature [RH_SIG_LEN];
    CU_ASSERT_EQUAL (rh_signer_sign (signer, (const uint8_t *) "referral", 8, signature), 0);

    rh_certstore_t *store = rh_certstore_load_dir (pki->pki);
    CU_ASSERT_PTR_NOT_NULL_FATAL (store);
    const rh_identity_t *identity = NULL;
    CU_ASSERT_EQUAL_FATAL (rh_certstore_signer (store, "police-gwent",
                                                rh_signer_fingerprint (signer), rh_time_now_ms (),
                                                &identity),
                           RH_OK);
    CU_ASSERT_EQUAL (crypto_sign_verify_detached (signature, (const uint8_t *) "referral", 8,
                                                  identity->sign_key),
                     0);
    CU_ASSERT_NOT_EQUAL (crypto_sign_verify_detached (signature, (const uint8_t *) "referrak", 8,
                                                      identity->sign_key),
                         0);
    rh_certstore_destroy (&store);
    rh_signer_destroy (&signer);
    CU_ASSERT_PTR_NULL (signer);
    rh_signer_destroy (&signer);  //  idempotent
}

static void
test_a_key_readable_by_others_is_refused (void)
{
    char dir [PATH_MAX], pki [PATH_MAX], path [PATH_MAX];
    test_tempdir (dir, sizeof dir);
    rh_file_path (pki, sizeof pki, "%s/pki", dir);
    CU_ASSERT_EQUAL_FATAL (rh_ca_init (pki, NULL, 0), 0);
    rh_ca_request_t request = { .agency_id = "edu-a", .type = "EDUCATION" };
    CU_ASSERT_EQUAL_FATAL (rh_ca_issue (pki, &request), 0);
    rh_signer_t *signer = test_signer (pki, "edu-a");
    CU_ASSERT_PTR_NOT_NULL (signer);
    rh_signer_destroy (&signer);
    rh_file_path (path, sizeof path, "%s/edu-a/key.pem", pki);
    CU_ASSERT_EQUAL (chmod (path, 0644), 0);
    CU_ASSERT_PTR_NULL (test_signer (pki, "edu-a"));
}

static void
test_a_key_that_does_not_match_its_certificate_is_refused (void)
{
    const test_pki_t *pki = test_pki ();
    char key [PATH_MAX], cert [PATH_MAX];
    rh_file_path (key, sizeof key, "%s/police-gwent/key.pem", pki->pki);
    rh_file_path (cert, sizeof cert, "%s/la-newport/cert.pem", pki->pki);
    CU_ASSERT_PTR_NULL (rh_signer_new (key, cert));
    rh_file_path (cert, sizeof cert, "%s/missing/cert.pem", pki->pki);
    CU_ASSERT_PTR_NULL (rh_signer_new (key, cert));
    CU_ASSERT_PTR_NULL (test_signer (pki->pki, "nobody"));
}

void
init_rh_signer_tests (void)
{
    CU_pSuite suite = CU_add_suite ("rh_signer", NULL, NULL);
    CU_add_test (suite, "a signer signs what its certificate verifies",
                 test_a_signer_signs_what_its_certificate_verifies);
    CU_add_test (suite, "a key readable by others is refused",
                 test_a_key_readable_by_others_is_refused);
    CU_add_test (suite, "a key that does not match its certificate is refused",
                 test_a_key_that_does_not_match_its_certificate_is_refused);
}
