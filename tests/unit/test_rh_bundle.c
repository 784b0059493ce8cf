/*  =========================================================================
    test_rh_bundle - the board's trust bundle
    =========================================================================
*/
#include "test_helpers.h"
#include "rhannu.pb-c.h"

//  A fresh board: a broker, a front door, police; agreements/ holds one signed agreement.
static void
s_board (char *pki, char *agreements, size_t size)
{
    char dir [PATH_MAX];
    test_tempdir (dir, sizeof dir);
    rh_file_path (pki, size, "%s/pki", dir);
    rh_file_path (agreements, size, "%s/agreements", dir);
    CU_ASSERT_EQUAL_FATAL (rh_ca_init (pki, NULL, 0), 0);
    rh_ca_request_t broker = { .agency_id = "broker", .type = "BROKER" };
    rh_ca_request_t door = { .agency_id = "la-newport", .type = "LA_FRONT_DOOR", .la = "newport" };
    rh_ca_request_t police = { .agency_id = "police-gwent", .type = "POLICE", .la = "newport" };
    CU_ASSERT_EQUAL_FATAL (rh_ca_issue (pki, &broker), 0);
    CU_ASSERT_EQUAL_FATAL (rh_ca_issue (pki, &door), 0);
    CU_ASSERT_EQUAL_FATAL (rh_ca_issue (pki, &police), 0);
    CU_ASSERT_EQUAL_FATAL (rh_file_mkdir (agreements, 0700), 0);
    uint8_t *text = NULL;
    size_t text_size = 0;
    char path [PATH_MAX];
    CU_ASSERT_EQUAL_FATAL (rh_file_read (RH_SOURCE_DIR "/tests/integration/agreements/"
                                                       "lifecycle.yaml",
                                         RH_MAX_AGREEMENT_FILE, &text, &text_size),
                           0);
    rh_file_path (path, sizeof path, "%s/lifecycle.yaml", agreements);
    CU_ASSERT_EQUAL_FATAL (rh_file_write_atomic (path, text, text_size, 0644), 0);
    free (text);
    CU_ASSERT_EQUAL_FATAL (rh_ca_sign_file (pki, path), 0);
    //  An unsigned agreement is left out, as the broker would refuse it.
    rh_file_path (path, sizeof path, "%s/unsigned.yaml", agreements);
    CU_ASSERT_EQUAL_FATAL (rh_file_write_atomic (path, "id: x\n", 6, 0644), 0);
}

static X509 *
s_ca (const char *pki)
{
    char path [PATH_MAX];
    rh_file_path (path, sizeof path, "%s/ca.pem", pki);
    return rh_ca_read_cert (path);
}

static rh_bundle_t *
s_load (const char *pki, X509 *ca, rh_rc_t *rc)
{
    char path [PATH_MAX];
    rh_file_path (path, sizeof path, "%s/%s", pki, RH_BUNDLE_FILE);
    rh_bundle_t *bundle = NULL;
    *rc = rh_bundle_load (ca, path, &bundle);
    return bundle;
}

static void
test_a_bundle_holds_what_an_agent_must_trust (void)
{
    char pki [PATH_MAX], agreements [PATH_MAX];
    s_board (pki, agreements, sizeof pki);
    uint64_t version = 0;
    CU_ASSERT_EQUAL_FATAL (rh_bundle_make (pki, agreements, 0, &version), 0);
    CU_ASSERT_EQUAL (version, 1);
    X509 *ca = s_ca (pki);
    rh_rc_t rc;
    rh_bundle_t *bundle = s_load (pki, ca, &rc);
    CU_ASSERT_EQUAL_FATAL (rc, RH_OK);
    CU_ASSERT_EQUAL (rh_bundle_version (bundle), 1);
    CU_ASSERT_EQUAL (rh_bundle_certificates (bundle), 3);
    CU_ASSERT_STRING_EQUAL (rh_bundle_front_door (bundle, "newport"), "la-newport");
    CU_ASSERT_PTR_NULL (rh_bundle_front_door (bundle, "cardiff"));
    CU_ASSERT_EQUAL_FATAL (rh_bundle_agreements (bundle), 1);
    uint32_t agreement_version = 0;
    const uint8_t *sha = NULL;
    const char *id = rh_bundle_agreement (bundle, 0, &agreement_version, &sha);
    CU_ASSERT_PTR_NOT_NULL (id);
    CU_ASSERT (agreement_version > 0 && sha != NULL);
    CU_ASSERT_PTR_NULL (rh_bundle_agreement (bundle, 1, NULL, NULL));
    //  Expiry defaults to the CRL's next update: weeks away, not now.
    int64_t now = rh_time_now_ms ();
    CU_ASSERT (rh_bundle_expires_ms (bundle) > now + TEST_DAY_MS);
    CU_ASSERT_FALSE (rh_bundle_expired (bundle, now));
    CU_ASSERT_TRUE (rh_bundle_expired (bundle, rh_bundle_expires_ms (bundle)));

    //  The store made from it knows exactly the enrolled agencies, without the PKI folder.
    rh_certstore_t *store = rh_bundle_certstore (bundle, ca);
    CU_ASSERT_PTR_NOT_NULL_FATAL (store);
    CU_ASSERT_EQUAL (rh_certstore_size (store), 3);
    CU_ASSERT_PTR_NOT_NULL (rh_certstore_enrolled (store, "police-gwent", now));
    CU_ASSERT_PTR_NULL (rh_certstore_enrolled (store, "health-abb", now));
    rh_certstore_destroy (&store);

    //  An agency enrolled and another revoked: the next bundle says so, with the next version.
    rh_ca_request_t health = { .agency_id = "health-abb", .type = "HEALTH" };
    CU_ASSERT_EQUAL_FATAL (rh_ca_issue (pki, &health), 0);
    CU_ASSERT_EQUAL_FATAL (rh_ca_revoke (pki, "police-gwent", CRL_REASON_CESSATION_OF_OPERATION),
                           0);
    CU_ASSERT_EQUAL_FATAL (rh_bundle_make (pki, NULL, 0, &version), 0);
    CU_ASSERT_EQUAL (version, 2);
    rh_bundle_t *next = s_load (pki, ca, &rc);
    CU_ASSERT_EQUAL_FATAL (rc, RH_OK);
    CU_ASSERT_EQUAL (rh_bundle_version (next), 2);
    CU_ASSERT_EQUAL (rh_bundle_agreements (next), 0);
    store = rh_bundle_certstore (next, ca);
    CU_ASSERT_PTR_NOT_NULL_FATAL (store);
    CU_ASSERT_PTR_NOT_NULL (rh_certstore_enrolled (store, "health-abb", now + 1000));
    CU_ASSERT_PTR_NULL (rh_certstore_enrolled (store, "police-gwent", rh_time_now_ms () + 2000));
    rh_certstore_destroy (&store);
    rh_bundle_destroy (&next);
    rh_bundle_destroy (&bundle);
    CU_ASSERT_PTR_NULL (bundle);
    rh_bundle_destroy (&bundle);  //  idempotent
    X509_free (ca);
}

static void
test_tampered_foreign_and_misdirected_bundles_are_refused (void)
{
    char pki [PATH_MAX], agreements [PATH_MAX];
    s_board (pki, agreements, sizeof pki);
    CU_ASSERT_EQUAL_FATAL (rh_bundle_make (pki, agreements, 0, NULL), 0);
    X509 *ca = s_ca (pki);
    char path [PATH_MAX];
    rh_file_path (path, sizeof path, "%s/%s", pki, RH_BUNDLE_FILE);
    uint8_t *data = NULL;
    size_t size = 0;
    CU_ASSERT_EQUAL_FATAL (rh_file_read (path, RH_MAX_BUNDLE, &data, &size), 0);
    rh_bundle_t *bundle = NULL;
    CU_ASSERT_EQUAL (rh_bundle_open (ca, data, size, &bundle), RH_OK);
    rh_bundle_destroy (&bundle);

    //  Any one byte changed anywhere: never opened.
    size_t opened = 0;
    for (size_t i = 0; i < size; i++) {
        data [i] ^= 0x01;
        if (rh_bundle_open (ca, data, size, &bundle) == RH_OK)
            opened++;
        CU_ASSERT_PTR_NULL (bundle);
        rh_bundle_destroy (&bundle);
        data [i] ^= 0x01;
    }
    CU_ASSERT_EQUAL (opened, 0);
    //  Truncated, empty, oversized.
    CU_ASSERT_NOT_EQUAL (rh_bundle_open (ca, data, size - 1, &bundle), RH_OK);
    CU_ASSERT_EQUAL (rh_bundle_open (ca, data, 0, &bundle), RH_E_MALFORMED);
    CU_ASSERT_EQUAL (rh_bundle_open (ca, NULL, 0, &bundle), RH_E_MALFORMED);
    CU_ASSERT_EQUAL (rh_bundle_open (ca, data, RH_MAX_BUNDLE + 1, &bundle), RH_E_TOO_LARGE);

    //  Another board's CA does not vouch for it.
    X509 *other = s_ca (test_pki ()->other);
    CU_ASSERT_EQUAL (rh_bundle_open (other, data, size, &bundle), RH_E_SIG);
    X509_free (other);

    //  The same content signed as if it were an agreement is not a bundle.
    Rhannu__V1__SignedBundle *outer = rhannu__v1__signed_bundle__unpack (NULL, size, data);
    CU_ASSERT_PTR_NOT_NULL_FATAL (outer);
    uint8_t signature [RH_SIG_LEN];
    CU_ASSERT_EQUAL_FATAL (rh_ca_sign_bytes (pki, RH_AGREEMENT_DOMAIN, outer->bundle.data,
                                             outer->bundle.len, signature),
                           0);
    memcpy (outer->signature.data, signature, RH_SIG_LEN);
    uint8_t *misdirected = malloc (rhannu__v1__signed_bundle__get_packed_size (outer));
    size_t misdirected_size = rhannu__v1__signed_bundle__pack (outer, misdirected);
    CU_ASSERT_EQUAL (rh_bundle_open (ca, misdirected, misdirected_size, &bundle), RH_E_SIG);
    //  Signed with the bundle domain it opens: the refusal above was the domain, nothing else.
    CU_ASSERT_EQUAL_FATAL (
        rh_ca_sign_bytes (pki, RH_BUNDLE_DOMAIN, outer->bundle.data, outer->bundle.len, signature),
        0);
    memcpy (outer->signature.data, signature, RH_SIG_LEN);
    misdirected_size = rhannu__v1__signed_bundle__pack (outer, misdirected);
    CU_ASSERT_EQUAL (rh_bundle_open (ca, misdirected, misdirected_size, &bundle), RH_OK);
    rh_bundle_destroy (&bundle);
    free (misdirected);
    rhannu__v1__signed_bundle__free_unpacked (outer, NULL);
    free (data);
    X509_free (ca);
}

static void
test_expiry_and_numbering_are_kept (void)
{
    char pki [PATH_MAX], agreements [PATH_MAX];
    s_board (pki, agreements, sizeof pki);
    int64_t now = rh_time_now_ms ();
    //  A bundle that would be born expired is refused.
    CU_ASSERT_EQUAL (rh_bundle_make (pki, NULL, now - 1, NULL), -1);
    CU_ASSERT_EQUAL_FATAL (rh_bundle_make (pki, NULL, now + 60000, NULL), 0);
    X509 *ca = s_ca (pki);
    rh_rc_t rc;
    rh_bundle_t *bundle = s_load (pki, ca, &rc);
    CU_ASSERT_EQUAL_FATAL (rc, RH_OK);
    CU_ASSERT_EQUAL (rh_bundle_expires_ms (bundle), now + 60000);
    CU_ASSERT_FALSE (rh_bundle_expired (bundle, now + 59999));
    CU_ASSERT_TRUE (rh_bundle_expired (bundle, now + 60000));
    //  The signed bytes handed on are exactly the file.
    size_t size = 0;
    const uint8_t *bytes = rh_bundle_signed (bundle, &size);
    rh_bundle_t *again = NULL;
    CU_ASSERT_EQUAL (rh_bundle_open (ca, bytes, size, &again), RH_OK);
    CU_ASSERT_EQUAL (rh_bundle_version (again), rh_bundle_version (bundle));
    rh_bundle_destroy (&again);
    rh_bundle_destroy (&bundle);

    //  An older bundle file put back does not make the board reuse a number it gave out.
    char path [PATH_MAX], saved [PATH_MAX];
    rh_file_path (path, sizeof path, "%s/%s", pki, RH_BUNDLE_FILE);
    rh_file_path (saved, sizeof saved, "%s/saved.rhb", pki);
    CU_ASSERT_EQUAL_FATAL (rename (path, saved), 0);
    uint64_t version = 0;
    CU_ASSERT_EQUAL_FATAL (rh_bundle_make (pki, NULL, 0, &version), 0);
    CU_ASSERT_EQUAL (version, 2);
    CU_ASSERT_EQUAL_FATAL (rename (saved, path), 0);
    CU_ASSERT_EQUAL_FATAL (rh_bundle_make (pki, NULL, 0, &version), 0);
    CU_ASSERT_EQUAL (version, 3);

    //  A damaged bundle in place stops the board rather than numbering afresh from 1.
    rh_file_path (path, sizeof path, "%s/%s", pki, RH_BUNDLE_FILE);
    CU_ASSERT_EQUAL_FATAL (rh_file_write_atomic (path, "junk", 4, 0644), 0);
    CU_ASSERT_EQUAL (rh_bundle_make (pki, NULL, 0, NULL), -1);
    CU_ASSERT_EQUAL (rh_bundle_load (ca, path, &bundle), RH_E_MALFORMED);
    rh_file_path (path, sizeof path, "%s/nothing-here", pki);
    CU_ASSERT_EQUAL (rh_bundle_load (ca, path, &bundle), RH_E_IO);
    X509_free (ca);
}

//  The bytes of the board's bundle in place now.
static uint8_t *
s_bytes (const char *pki, size_t *size)
{
    char path [PATH_MAX];
    uint8_t *data = NULL;
    rh_file_path (path, sizeof path, "%s/%s", pki, RH_BUNDLE_FILE);
    CU_ASSERT_EQUAL (rh_file_read (path, RH_MAX_BUNDLE, &data, size), 0);
    return data;
}

static void
test_trust_takes_only_newer_bundles_and_keeps_them (void)
{
    char pki [PATH_MAX], agreements [PATH_MAX], keep_dir [PATH_MAX], keep [PATH_MAX],
        ca_path [PATH_MAX];
    s_board (pki, agreements, sizeof pki);
    test_tempdir (keep_dir, sizeof keep_dir);
    rh_file_path (keep, sizeof keep, "%s/bundle.rhb", keep_dir);
    rh_file_path (ca_path, sizeof ca_path, "%s/ca.pem", pki);
    CU_ASSERT_EQUAL_FATAL (rh_bundle_make (pki, agreements, 0, NULL), 0);
    size_t v1_size = 0, v2_size = 0;
    uint8_t *v1 = s_bytes (pki, &v1_size);
    rh_ca_request_t health = { .agency_id = "health-abb", .type = "HEALTH" };
    CU_ASSERT_EQUAL_FATAL (rh_ca_issue (pki, &health), 0);
    CU_ASSERT_EQUAL_FATAL (rh_bundle_make (pki, agreements, 0, NULL), 0);
    uint8_t *v2 = s_bytes (pki, &v2_size);

    //  Starting from the PKI folder: no bundle, the folder's agencies.
    rh_trust_t *trust = rh_trust_new (ca_path, keep, pki);
    CU_ASSERT_PTR_NOT_NULL_FATAL (trust);
    CU_ASSERT_EQUAL (rh_trust_version (trust), 0);
    CU_ASSERT_PTR_NULL (rh_trust_bundle (trust));
    CU_ASSERT_PTR_NOT_NULL (rh_trust_store (trust));
    CU_ASSERT_FALSE (rh_trust_expired (trust, rh_time_now_ms ()));
    bool adopted = false;
    CU_ASSERT_EQUAL (rh_trust_offer (trust, v1, v1_size, &adopted), RH_OK);
    CU_ASSERT_TRUE (adopted);
    CU_ASSERT_EQUAL (rh_trust_version (trust), 1);
    CU_ASSERT_TRUE (rh_file_exists (keep));
    CU_ASSERT_PTR_NULL (
        rh_certstore_enrolled (rh_trust_store (trust), "health-abb", rh_time_now_ms ()));
    //  The same again changes nothing; the newer one is taken; the older one is a rollback.
    CU_ASSERT_EQUAL (rh_trust_offer (trust, v1, v1_size, &adopted), RH_OK);
    CU_ASSERT_FALSE (adopted);
    CU_ASSERT_EQUAL (rh_trust_offer (trust, v2, v2_size, &adopted), RH_OK);
    CU_ASSERT_TRUE (adopted);
    CU_ASSERT_PTR_NOT_NULL (
        rh_certstore_enrolled (rh_trust_store (trust), "health-abb", rh_time_now_ms ()));
    CU_ASSERT_EQUAL (rh_trust_offer (trust, v1, v1_size, &adopted), RH_E_REPLAY);
    CU_ASSERT_FALSE (adopted);
    CU_ASSERT_EQUAL (rh_trust_version (trust), 2);
    //  A tampered bundle changes nothing.
    v2 [v2_size / 2] ^= 0x10;
    CU_ASSERT_NOT_EQUAL (rh_trust_offer (trust, v2, v2_size, &adopted), RH_OK);
    v2 [v2_size / 2] ^= 0x10;
    CU_ASSERT_EQUAL (rh_trust_version (trust), 2);
    rh_trust_destroy (&trust);
    CU_ASSERT_PTR_NULL (trust);

    //  A restart starts from the kept bundle, and still refuses the older one.
    trust = rh_trust_new (ca_path, keep, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL (trust);
    CU_ASSERT_EQUAL (rh_trust_version (trust), 2);
    CU_ASSERT_EQUAL (rh_trust_offer (trust, v1, v1_size, &adopted), RH_E_REPLAY);
    rh_trust_destroy (&trust);

    //  A damaged kept bundle stops the start rather than falling back to the folder.
    CU_ASSERT_EQUAL_FATAL (rh_file_write_atomic (keep, "junk", 4, 0644), 0);
    CU_ASSERT_PTR_NULL (rh_trust_new (ca_path, keep, pki));
    //  No bundle and no folder: nothing to verify with, yet.
    rh_file_path (keep, sizeof keep, "%s/none.rhb", keep_dir);
    trust = rh_trust_new (ca_path, keep, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL (trust);
    CU_ASSERT_PTR_NULL (rh_trust_store (trust));
    rh_trust_destroy (&trust);
    free (v1);
    free (v2);
}

void
init_rh_bundle_tests (void)
{
    CU_pSuite suite = CU_add_suite ("rh_bundle", NULL, NULL);
    CU_add_test (suite, "a bundle holds what an agent must trust",
                 test_a_bundle_holds_what_an_agent_must_trust);
    CU_add_test (suite, "tampered, foreign and misdirected bundles are refused",
                 test_tampered_foreign_and_misdirected_bundles_are_refused);
    CU_add_test (suite, "expiry and numbering are kept", test_expiry_and_numbering_are_kept);
    CU_add_test (suite, "trust takes only newer bundles and keeps them",
                 test_trust_takes_only_newer_bundles_and_keeps_them);
}
