/*  =========================================================================
    test_rh_certstore - the CA, CRLs and enrolled agencies
    =========================================================================
*/
#include "test_helpers.h"

//  Index of agency_id's current certificate in store, or -1.
static int
s_index (rh_certstore_t *store, const char *agency_id)
{
    for (size_t i = 0; i < rh_certstore_size (store); i++)
        if (strcmp (rh_certstore_identity (store, i)->agency_id, agency_id) == 0)
            return (int) i;
    return -1;
}

static rh_rc_t
s_status_of (rh_certstore_t *store, const char *agency_id, int64_t at_ms)
{
    int index = s_index (store, agency_id);
    return index < 0 ? RH_E_CERT_UNKNOWN : rh_certstore_status (store, (size_t) index, at_ms);
}

static void
test_a_signer_is_found_by_agency_and_fingerprint (void)
{
    rh_certstore_t *store = rh_certstore_load_dir (test_pki ()->pki);
    CU_ASSERT_PTR_NOT_NULL_FATAL (store);
    int index = s_index (store, "police-gwent");
    CU_ASSERT_FATAL (index >= 0);
    const rh_identity_t *expected = rh_certstore_identity (store, (size_t) index);
    const rh_identity_t *found = NULL;
    CU_ASSERT_EQUAL (rh_certstore_signer (store, "police-gwent", expected->cert_sha256,
                                          rh_time_now_ms (), &found),
                     RH_OK);
    CU_ASSERT_PTR_EQUAL (found, expected);
    CU_ASSERT_STRING_EQUAL (found->type, "POLICE");
    CU_ASSERT_STRING_EQUAL (found->la, "newport");
    CU_ASSERT_STRING_EQUAL (found->region, "gwent");
    //  The same fingerprint under another agency's name is a mismatch, not a match.
    CU_ASSERT_EQUAL (
        rh_certstore_signer (store, "la-newport", expected->cert_sha256, rh_time_now_ms (), &found),
        RH_E_CERT_MISMATCH);
    uint8_t unknown [32] = { 0 };
    CU_ASSERT_EQUAL (
        rh_certstore_signer (store, "police-gwent", unknown, rh_time_now_ms (), &found),
        RH_E_CERT_UNKNOWN);
    rh_certstore_destroy (&store);
}

static void
test_only_agencies_valid_now_count_as_enrolled (void)
{
    rh_certstore_t *store = rh_certstore_load_dir (test_pki ()->pki);
    CU_ASSERT_PTR_NOT_NULL_FATAL (store);
    int64_t now = rh_time_now_ms ();
    const rh_identity_t *police = rh_certstore_enrolled (store, "police-gwent", now);
    CU_ASSERT_PTR_NOT_NULL_FATAL (police);
    CU_ASSERT_STRING_EQUAL (police->agency_id, "police-gwent");
    CU_ASSERT_PTR_NULL (rh_certstore_enrolled (store, "edu-old", now));     //  expired
    CU_ASSERT_PTR_NULL (rh_certstore_enrolled (store, "vcs-future", now));  //  not yet valid
    CU_ASSERT_PTR_NULL (rh_certstore_enrolled (store, "vcs-gone", now));    //  revoked
    CU_ASSERT_PTR_NULL (rh_certstore_enrolled (store, "nobody", now));
    rh_certstore_destroy (&store);
}

static void
test_expired_not_yet_valid_and_revoked_certificates_are_refused_now (void)
{
    const test_pki_t *pki = test_pki ();
    rh_certstore_t *store = rh_certstore_load_dir (pki->pki);
    CU_ASSERT_PTR_NOT_NULL_FATAL (store);
    int64_t now = rh_time_now_ms ();
    CU_ASSERT_EQUAL (s_status_of (store, "police-gwent", now), RH_OK);
    CU_ASSERT_EQUAL (s_status_of (store, "edu-old", now), RH_E_EXPIRED);
    CU_ASSERT_EQUAL (s_status_of (store, "vcs-future", now), RH_E_NOT_YET_VALID);
    CU_ASSERT_EQUAL (s_status_of (store, "vcs-gone", now), RH_E_REVOKED);
    CU_ASSERT_EQUAL (s_status_of (store, "pol-leak", now), RH_E_REVOKED);
    rh_certstore_destroy (&store);
}

static void
test_revocation_applies_from_its_date_unless_the_key_was_compromised (void)
{
    const test_pki_t *pki = test_pki ();
    rh_certstore_t *store = rh_certstore_load_dir (pki->pki);
    CU_ASSERT_PTR_NOT_NULL_FATAL (store);
    int64_t before = pki->revoked_at_ms - 5 * 1000;
    //  An auditor checking a signature made last week by an agency revoked today: valid.
    CU_ASSERT_EQUAL (s_status_of (store, "vcs-gone", before), RH_OK);
    //  A compromised key may have backdated anything: never valid.
    CU_ASSERT_EQUAL (s_status_of (store, "pol-leak", before), RH_E_REVOKED);
    //  An expired certificate was fine while it lasted.
    CU_ASSERT_EQUAL (s_status_of (store, "edu-old", rh_time_now_ms () - 2 * 60 * 1000), RH_OK);
    //  Before the CA itself was valid, nothing it issued was.
    CU_ASSERT_EQUAL (s_status_of (store, "edu-old", rh_time_now_ms () - TEST_DAY_MS),
                     RH_E_NOT_YET_VALID);
    rh_certstore_destroy (&store);
}

static void
s_curve_of (const char *pki, const char *agency, uint8_t key [32])
{
    char path [PATH_MAX];
    rh_file_path (path, sizeof path, "%s/%s/curve.pub", pki, agency);
    uint8_t *text = NULL;
    size_t size = 0;
    CU_ASSERT_EQUAL_FATAL (rh_file_read (path, 100, &text, &size), 0);
    CU_ASSERT_FATAL (size >= 40);
    text [40] = 0;
    CU_ASSERT_PTR_NOT_NULL (zmq_z85_decode (key, (char *) text));
    free (text);
}

static void
test_a_transport_key_maps_to_its_agency_and_dies_with_its_certificate (void)
{
    const test_pki_t *pki = test_pki ();
    rh_certstore_t *store = rh_certstore_load_dir (pki->pki);
    CU_ASSERT_PTR_NOT_NULL_FATAL (store);
    uint8_t key [32];
    const rh_identity_t *found = NULL;
    s_curve_of (pki->pki, "la-newport", key);
    CU_ASSERT_EQUAL (rh_certstore_by_curve (store, key, rh_time_now_ms (), &found), RH_OK);
    CU_ASSERT_STRING_EQUAL (found->agency_id, "la-newport");
    s_curve_of (pki->pki, "vcs-gone", key);
    CU_ASSERT_EQUAL (rh_certstore_by_curve (store, key, rh_time_now_ms (), &found), RH_E_REVOKED);
    s_curve_of (pki->other, "stranger", key);
    CU_ASSERT_EQUAL (rh_certstore_by_curve (store, key, rh_time_now_ms (), &found),
                     RH_E_CERT_UNKNOWN);
    rh_certstore_destroy (&store);
}

static void
test_a_certificate_from_another_ca_is_unknown (void)
{
    const test_pki_t *pki = test_pki ();
    rh_certstore_t *store = rh_certstore_load_dir (pki->pki);
    CU_ASSERT_PTR_NOT_NULL_FATAL (store);
    size_t size = rh_certstore_size (store);
    char path [PATH_MAX];
    rh_file_path (path, sizeof path, "%s/stranger/cert.pem", pki->other);
    CU_ASSERT_EQUAL (rh_certstore_add_cert (store, path), RH_E_CERT_UNKNOWN);
    CU_ASSERT_EQUAL (rh_certstore_size (store), size);
    //  The same certificate twice is held once.
    rh_file_path (path, sizeof path, "%s/police-gwent/cert.pem", pki->pki);
    CU_ASSERT_EQUAL (rh_certstore_add_cert (store, path), RH_OK);
    CU_ASSERT_EQUAL (rh_certstore_size (store), size);
    //  A CA certificate cannot speak for an agency.
    rh_file_path (path, sizeof path, "%s/ca.pem", pki->pki);
    CU_ASSERT_EQUAL (rh_certstore_add_cert (store, path), RH_E_MALFORMED);
    CU_ASSERT_EQUAL (rh_certstore_add_cert_pem (store, (const uint8_t *) "junk", 4),
                     RH_E_MALFORMED);
    rh_certstore_destroy (&store);
}

static void
test_a_crl_that_does_not_verify_is_refused_and_the_old_one_stays (void)
{
    const test_pki_t *pki = test_pki ();
    rh_certstore_t *store = rh_certstore_load_dir (pki->pki);
    CU_ASSERT_PTR_NOT_NULL_FATAL (store);
    char path [PATH_MAX];
    //  Signed by the wrong CA.
    rh_file_path (path, sizeof path, "%s/crl.pem", pki->other);
    CU_ASSERT_EQUAL (rh_certstore_add_crl (store, path), RH_E_CRL);
    //  Our CRL with one byte of its signature changed.
    rh_file_path (path, sizeof path, "%s/crl.pem", pki->pki);
    uint8_t *pem = NULL;
    size_t size = 0;
    CU_ASSERT_EQUAL_FATAL (rh_file_read (path, 1 << 16, &pem, &size), 0);
    BIO *bio = BIO_new_mem_buf (pem, (int) size);
    X509_CRL *crl = PEM_read_bio_X509_CRL (bio, NULL, NULL, NULL);
    BIO_free (bio);
    CU_ASSERT_PTR_NOT_NULL_FATAL (crl);
    unsigned char *der = NULL;
    int der_len = i2d_X509_CRL (crl, &der);
    X509_CRL_free (crl);
    CU_ASSERT_FATAL (der_len > 10);
    der [der_len - 3] ^= 0x01;
    const unsigned char *cursor = der;
    crl = d2i_X509_CRL (NULL, &cursor, der_len);
    OPENSSL_free (der);
    CU_ASSERT_PTR_NOT_NULL_FATAL (crl);
    char tampered [PATH_MAX], dir [PATH_MAX];
    test_tempdir (dir, sizeof dir);
    rh_file_path (tampered, sizeof tampered, "%s/crl.pem", dir);
    FILE *out = fopen (tampered, "w");
    PEM_write_X509_CRL (out, crl);
    fclose (out);
    X509_CRL_free (crl);
    free (pem);
    CU_ASSERT_EQUAL (rh_certstore_add_crl (store, tampered), RH_E_CRL);
    //  Not a CRL at all, or missing.
    CU_ASSERT_EQUAL (rh_certstore_add_crl (store, "/nonexistent/crl.pem"), RH_E_IO);
    //  The revocations in force are unchanged.
    CU_ASSERT_EQUAL (s_status_of (store, "vcs-gone", rh_time_now_ms ()), RH_E_REVOKED);
    CU_ASSERT_EQUAL (s_status_of (store, "police-gwent", rh_time_now_ms ()), RH_OK);
    rh_certstore_destroy (&store);
}

static void
test_an_older_crl_cannot_replace_a_newer_one (void)
{
    char dir [PATH_MAX], pki [PATH_MAX], path [PATH_MAX], old [PATH_MAX];
    test_tempdir (dir, sizeof dir);
    rh_file_path (pki, sizeof pki, "%s/pki", dir);
    CU_ASSERT_EQUAL_FATAL (rh_ca_init (pki, NULL, 0), 0);
    rh_ca_request_t request = { .agency_id = "vcs-a", .type = "VCS" };
    CU_ASSERT_EQUAL_FATAL (rh_ca_issue (pki, &request), 0);
    rh_file_path (path, sizeof path, "%s/crl.pem", pki);
    rh_file_path (old, sizeof old, "%s/old-crl.pem", dir);
    CU_ASSERT_EQUAL_FATAL (link (path, old), 0);
    sleep (1);  //  CRL times have one-second resolution
    CU_ASSERT_EQUAL_FATAL (rh_ca_revoke (pki, "vcs-a", CRL_REASON_AFFILIATION_CHANGED), 0);
    rh_certstore_t *store = rh_certstore_load_dir (pki);
    CU_ASSERT_PTR_NOT_NULL_FATAL (store);
    CU_ASSERT_EQUAL (s_status_of (store, "vcs-a", rh_time_now_ms ()), RH_E_REVOKED);
    //  Replaying the old CRL would un-revoke vcs-a.
    CU_ASSERT_EQUAL (rh_certstore_add_crl (store, old), RH_E_CRL);
    CU_ASSERT_EQUAL (s_status_of (store, "vcs-a", rh_time_now_ms ()), RH_E_REVOKED);
    //  The current CRL again is fine.
    CU_ASSERT_EQUAL (rh_certstore_add_crl (store, path), RH_OK);
    rh_certstore_destroy (&store);
}

static void
test_an_out_of_date_crl_stops_every_signer (void)
{
    char dir [PATH_MAX], pki [PATH_MAX];
    test_tempdir (dir, sizeof dir);
    rh_file_path (pki, sizeof pki, "%s/pki", dir);
    CU_ASSERT_EQUAL_FATAL (rh_ca_init (pki, NULL, 0), 0);
    rh_ca_request_t request = { .agency_id = "health-a", .type = "HEALTH" };
    CU_ASSERT_EQUAL_FATAL (rh_ca_issue (pki, &request), 0);
    int64_t now = rh_time_now_ms ();
    CU_ASSERT_EQUAL_FATAL (rh_ca_crl (pki, now + 2 * TEST_DAY_MS), 0);
    rh_certstore_t *store = rh_certstore_load_dir (pki);
    CU_ASSERT_PTR_NOT_NULL_FATAL (store);
    CU_ASSERT (llabs (rh_certstore_crl_next_update (store) - (now + 2 * TEST_DAY_MS)) < 2000);
    CU_ASSERT_EQUAL (s_status_of (store, "health-a", now), RH_OK);
    //  Three days on, the CA has stopped vouching for this CRL.
    CU_ASSERT_EQUAL (s_status_of (store, "health-a", now + 3 * TEST_DAY_MS), RH_E_CRL);
    rh_certstore_destroy (&store);
}

static void
test_a_store_without_ca_or_crl_refuses_to_load (void)
{
    char dir [PATH_MAX], path [PATH_MAX];
    test_tempdir (dir, sizeof dir);
    CU_ASSERT_PTR_NULL (rh_certstore_load_dir (dir));
    rh_certstore_t *store = rh_certstore_new ();
    CU_ASSERT_PTR_NOT_NULL_FATAL (store);
    rh_file_path (path, sizeof path, "%s/missing.pem", dir);
    CU_ASSERT_EQUAL (rh_certstore_add_ca (store, path), RH_E_IO);
    rh_file_path (path, sizeof path, "%s/police-gwent/cert.pem", test_pki ()->pki);
    CU_ASSERT_EQUAL (rh_certstore_add_ca (store, path), RH_E_CERT_UNKNOWN);
    rh_file_path (path, sizeof path, "%s/ca.pem", test_pki ()->pki);
    CU_ASSERT_EQUAL (rh_certstore_add_ca (store, path), RH_OK);
    //  With a CA but no CRL nothing can be shown unrevoked.
    rh_file_path (path, sizeof path, "%s/police-gwent/cert.pem", test_pki ()->pki);
    CU_ASSERT_EQUAL (rh_certstore_add_cert (store, path), RH_E_CRL);
    CU_ASSERT_EQUAL (rh_certstore_crl_next_update (store), 0);
    rh_certstore_destroy (&store);

    //  A folder with a CA but no CRL does not load.
    char pki [PATH_MAX];
    rh_file_path (pki, sizeof pki, "%s/pki", dir);
    CU_ASSERT_EQUAL_FATAL (rh_ca_init (pki, NULL, 0), 0);
    rh_file_path (path, sizeof path, "%s/crl.pem", pki);
    CU_ASSERT_EQUAL (unlink (path), 0);
    CU_ASSERT_PTR_NULL (rh_certstore_load_dir (pki));
}

static void
test_a_checkpoint_verifies_only_with_a_broker_certificate_in_force (void)
{
    char pki [PATH_MAX], dir [PATH_MAX];
    test_tempdir (pki, sizeof pki);
    rh_ca_request_t broker = { .agency_id = "broker", .type = "BROKER" };
    rh_ca_request_t police = { .agency_id = "police-gwent", .type = "POLICE" };
    CU_ASSERT_FATAL (rh_ca_init (pki, NULL, 0) == 0 && rh_ca_issue (pki, &broker) == 0
                     && rh_ca_issue (pki, &police) == 0);
    rh_certstore_t *store = rh_certstore_load_dir (pki);
    CU_ASSERT_PTR_NOT_NULL_FATAL (store);
    const char *agencies [] = { "broker", "police-gwent" };
    rh_rc_t expected [] = { RH_OK, RH_E_CERT_UNKNOWN };  //  an agency's key is no broker's
    for (size_t i = 0; i < 2; i++) {
        rh_file_path (dir, sizeof dir, "%s/%s", pki, agencies [i]);
        rh_signer_t *signer = rh_signer_load (dir);
        CU_ASSERT_PTR_NOT_NULL_FATAL (signer);
        rh_checkpoint_t checkpoint = { .size = 3, .time_ms = rh_time_now_ms () };
        memcpy (checkpoint.signer_sha256, rh_signer_fingerprint (signer), RH_DIGEST_LEN);
        uint8_t message [128];
        size_t size = rh_merkle_checkpoint_message (&checkpoint, message);
        CU_ASSERT_EQUAL (rh_signer_sign (signer, message, size, checkpoint.signature), 0);
        CU_ASSERT_EQUAL (rh_certstore_verify_checkpoint (store, &checkpoint), expected [i]);
        //  A changed root fails the signature; a time outside the certificate's life is unknown.
        checkpoint.root [0] ^= 1;
        CU_ASSERT_EQUAL (rh_certstore_verify_checkpoint (store, &checkpoint),
                         i == 0 ? RH_E_SIG : RH_E_CERT_UNKNOWN);
        checkpoint.root [0] ^= 1;
        checkpoint.time_ms = 0;
        CU_ASSERT_EQUAL (rh_certstore_verify_checkpoint (store, &checkpoint), RH_E_CERT_UNKNOWN);
        rh_signer_destroy (&signer);
    }
    rh_certstore_destroy (&store);
}

static void
test_the_next_change_is_the_end_of_a_rotation_overlap (void)
{
    char dir [PATH_MAX], pki [PATH_MAX];
    test_tempdir (dir, sizeof dir);
    rh_file_path (pki, sizeof pki, "%s/pki", dir);
    CU_ASSERT_EQUAL_FATAL (rh_ca_init (pki, NULL, 0), 0);
    rh_ca_request_t request = { .agency_id = "vcs-rot", .type = "VCS" };
    CU_ASSERT_EQUAL_FATAL (rh_ca_issue (pki, &request), 0);
    int64_t hour = 3600 * 1000, before = rh_time_now_ms ();
    rh_certstore_t *store = rh_certstore_load_dir (pki);
    CU_ASSERT_PTR_NOT_NULL_FATAL (store);
    //  Nothing changes until the CRL's next update passes.
    CU_ASSERT_EQUAL (rh_certstore_next_change (store, before),
                     rh_certstore_crl_next_update (store) + 1);
    rh_certstore_destroy (&store);

    CU_ASSERT_EQUAL_FATAL (rh_ca_rotate (pki, "vcs-rot", NULL, hour, 0, 0), 0);
    store = rh_certstore_load_dir (pki);
    CU_ASSERT_PTR_NOT_NULL_FATAL (store);
    int64_t ends = rh_certstore_next_change (store, rh_time_now_ms ());
    CU_ASSERT (ends > before + hour && ends <= rh_time_now_ms () + hour + 1000);
    //  Just before, the old certificate is still usable; from then on it is not.
    size_t usable_before = 0, usable_after = 0;
    for (size_t i = 0; i < rh_certstore_size (store); i++) {
        usable_before += rh_certstore_status (store, i, ends - 1) == RH_OK;
        usable_after += rh_certstore_status (store, i, ends) == RH_OK;
    }
    CU_ASSERT_EQUAL (usable_before, 2);
    CU_ASSERT_EQUAL (usable_after, 1);
    //  After it, the next change is the CRL's next update again.
    CU_ASSERT_EQUAL (rh_certstore_next_change (store, ends),
                     rh_certstore_crl_next_update (store) + 1);
    rh_certstore_destroy (&store);
}

void
init_rh_certstore_tests (void)
{
    CU_pSuite suite = CU_add_suite ("rh_certstore", NULL, NULL);
    CU_add_test (suite, "a signer is found by agency and fingerprint",
                 test_a_signer_is_found_by_agency_and_fingerprint);
    CU_add_test (suite, "only agencies valid now count as enrolled",
                 test_only_agencies_valid_now_count_as_enrolled);
    CU_add_test (suite, "expired, not-yet-valid and revoked certificates are refused now",
                 test_expired_not_yet_valid_and_revoked_certificates_are_refused_now);
    CU_add_test (suite, "revocation applies from its date unless the key was compromised",
                 test_revocation_applies_from_its_date_unless_the_key_was_compromised);
    CU_add_test (suite, "a transport key maps to its agency and dies with its certificate",
                 test_a_transport_key_maps_to_its_agency_and_dies_with_its_certificate);
    CU_add_test (suite, "a certificate from another CA is unknown",
                 test_a_certificate_from_another_ca_is_unknown);
    CU_add_test (suite, "a CRL that does not verify is refused and the old one stays",
                 test_a_crl_that_does_not_verify_is_refused_and_the_old_one_stays);
    CU_add_test (suite, "an older CRL cannot replace a newer one",
                 test_an_older_crl_cannot_replace_a_newer_one);
    CU_add_test (suite, "an out-of-date CRL stops every signer",
                 test_an_out_of_date_crl_stops_every_signer);
    CU_add_test (suite, "a store without CA or CRL refuses to load",
                 test_a_store_without_ca_or_crl_refuses_to_load);
    CU_add_test (suite, "a checkpoint verifies only with a broker certificate in force",
                 test_a_checkpoint_verifies_only_with_a_broker_certificate_in_force);
    CU_add_test (suite, "the next change is the end of a rotation overlap",
                 test_the_next_change_is_the_end_of_a_rotation_overlap);
}
