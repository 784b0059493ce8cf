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

//  A fresh CA in a temporary folder; pki receives its path.
static void
s_fresh_ca (char *pki, size_t size)
{
    char dir [PATH_MAX];
    test_tempdir (dir, sizeof dir);
    rh_file_path (pki, size, "%s/pki", dir);
    CU_ASSERT_EQUAL_FATAL (rh_ca_init (pki, NULL, 0), 0);
}

static uint8_t *
s_read (const char *path, size_t *size)
{
    uint8_t *data = NULL;
    CU_ASSERT_EQUAL_FATAL (rh_file_read (path, RH_MAX_PKI_FILE, &data, size), 0);
    return data;
}

//  The SHA-256 fingerprint of a certificate file, as stores index it.
static void
s_fingerprint (const char *path, uint8_t fingerprint [RH_DIGEST_LEN])
{
    X509 *cert = rh_ca_read_cert (path);
    CU_ASSERT_PTR_NOT_NULL_FATAL (cert);
    unsigned int length = 0;
    CU_ASSERT_EQUAL (X509_digest (cert, EVP_sha256 (), fingerprint, &length), 1);
    X509_free (cert);
}

//  The revocation date (ms) the CRL in pki gives the certificate, or -1.
static int64_t
s_revocation_of (const char *pki, X509 *cert)
{
    char path [PATH_MAX];
    rh_file_path (path, sizeof path, "%s/crl.pem", pki);
    size_t size = 0;
    uint8_t *pem = s_read (path, &size);
    BIO *bio = BIO_new_mem_buf (pem, (int) size);
    X509_CRL *crl = PEM_read_bio_X509_CRL (bio, NULL, NULL, NULL);
    X509_REVOKED *entry = NULL;
    int64_t at = -1;
    if (crl && cert && X509_CRL_get0_by_cert (crl, &entry, cert) == 1
        && rh_time_from_asn1 (X509_REVOKED_get0_revocationDate (entry), &at) != 0)
        at = -1;
    X509_CRL_free (crl);
    BIO_free (bio);
    free (pem);
    return at;
}

//  The revocation date (ms) the CRL in pki gives the certificate at cert_path, or -1.
static int64_t
s_revocation_ms (const char *pki, const char *cert_path)
{
    X509 *cert = rh_ca_read_cert (cert_path);
    int64_t at = s_revocation_of (pki, cert);
    X509_free (cert);
    return at;
}

//  Status of the certificate with this fingerprint at at_ms, found by signer and by transport
//  key; both must agree.
static rh_rc_t
s_status (const char *pki, const char *agency, const uint8_t fingerprint [RH_DIGEST_LEN],
          const uint8_t curve [32], int64_t at_ms)
{
    rh_certstore_t *store = rh_certstore_load_dir (pki);
    CU_ASSERT_PTR_NOT_NULL_FATAL (store);
    const rh_identity_t *by_signer = NULL, *by_curve = NULL;
    rh_rc_t signer_rc = rh_certstore_signer (store, agency, fingerprint, at_ms, &by_signer);
    rh_rc_t curve_rc = rh_certstore_by_curve (store, curve, at_ms, &by_curve);
    CU_ASSERT_EQUAL (signer_rc, curve_rc);
    if (signer_rc == RH_OK && curve_rc == RH_OK)
        CU_ASSERT_PTR_EQUAL (by_signer, by_curve);
    rh_certstore_destroy (&store);
    return signer_rc;
}

static void
test_an_agency_enrols_by_request_and_keeps_its_private_keys (void)
{
    char pki [PATH_MAX], home [PATH_MAX], agency [PATH_MAX], path [PATH_MAX], key_path [PATH_MAX];
    s_fresh_ca (pki, sizeof pki);
    test_tempdir (home, sizeof home);
    rh_file_path (agency, sizeof agency, "%s/health-cv", home);  //  made by the request

    //  The agency makes its keys and a request.
    rh_ca_request_t request = {
        .agency_id = "health-cv", .type = "HEALTH", .la = "cardiff", .region = "south"
    };
    CU_ASSERT_EQUAL_FATAL (rh_ca_make_request (agency, &request), 0);
    static const char *files [] = { "key.pem", "curve.key", "curve.pub", "request.csr" };
    static const int modes [] = { 0600, 0600, 0644, 0644 };
    for (size_t i = 0; i < 4; i++) {
        struct stat st;
        rh_file_path (path, sizeof path, "%s/%s", agency, files [i]);
        CU_ASSERT_EQUAL_FATAL (stat (path, &st), 0);
        CU_ASSERT_EQUAL (st.st_mode & 0777, modes [i]);
    }
    //  The request holds no secret.
    size_t size = 0;
    rh_file_path (path, sizeof path, "%s/request.csr", agency);
    uint8_t *csr = s_read (path, &size);
    CU_ASSERT_PTR_NULL (memmem (csr, size, "PRIVATE", 7));
    rh_identity_t asked;
    CU_ASSERT_EQUAL (rh_ca_check_request (csr, size, &asked), RH_OK);
    CU_ASSERT_STRING_EQUAL (asked.agency_id, "health-cv");
    CU_ASSERT_STRING_EQUAL (asked.type, "HEALTH");
    CU_ASSERT_STRING_EQUAL (asked.la, "cardiff");
    CU_ASSERT_STRING_EQUAL (asked.region, "south");
    free (csr);

    //  The board signs it, and writes nothing secret.
    char signed_for [RH_MAX_ID + 1] = "";
    CU_ASSERT_EQUAL_FATAL (rh_ca_sign_request (pki, path, 0, 0, signed_for), 0);
    CU_ASSERT_STRING_EQUAL (signed_for, "health-cv");
    rh_file_path (path, sizeof path, "%s/health-cv/key.pem", pki);
    CU_ASSERT_FALSE (rh_file_exists (path));
    rh_file_path (path, sizeof path, "%s/health-cv/curve.key", pki);
    CU_ASSERT_FALSE (rh_file_exists (path));
    //  The public transport key is kept where agents look for a broker's.
    uint8_t board_copy [32], own [32];
    rh_file_path (path, sizeof path, "%s/health-cv", pki);
    CU_ASSERT_EQUAL (rh_ca_load_curve (path, board_copy, NULL), 0);
    CU_ASSERT_EQUAL (rh_ca_load_curve (agency, own, NULL), 0);
    CU_ASSERT_EQUAL (memcmp (board_copy, own, 32), 0);

    //  The agency signs with its own key under the board's certificate, and the board's store
    //  knows its transport key.
    rh_file_path (key_path, sizeof key_path, "%s/key.pem", agency);
    rh_file_path (path, sizeof path, "%s/health-cv/cert.pem", pki);
    rh_signer_t *signer = rh_signer_new (key_path, path);
    CU_ASSERT_PTR_NOT_NULL (signer);
    rh_signer_destroy (&signer);
    uint8_t curve [32], fingerprint [RH_DIGEST_LEN];
    CU_ASSERT_EQUAL_FATAL (rh_ca_load_curve (agency, curve, NULL), 0);
    s_fingerprint (path, fingerprint);
    CU_ASSERT_EQUAL (s_status (pki, "health-cv", fingerprint, curve, rh_time_now_ms ()), RH_OK);
    rh_certstore_t *store = rh_certstore_load_dir (pki);
    CU_ASSERT_PTR_NOT_NULL_FATAL (store);
    const rh_identity_t *id = rh_certstore_identity (store, 0);
    CU_ASSERT_STRING_EQUAL (id->la, "cardiff");
    CU_ASSERT_STRING_EQUAL (id->region, "south");
    CU_ASSERT_EQUAL (memcmp (id->sign_key, asked.sign_key, RH_PUBKEY_LEN), 0);
    rh_certstore_destroy (&store);
}

static void
test_a_request_is_made_once_per_folder_and_only_for_a_valid_agency (void)
{
    char agency [PATH_MAX];
    test_tempdir (agency, sizeof agency);
    rh_ca_request_t request = { .agency_id = "vcs-da", .type = "VCS" };
    CU_ASSERT_EQUAL (rh_ca_make_request (agency, &request), 0);
    //  A second request would overwrite the keys of the first.
    CU_ASSERT_EQUAL (rh_ca_make_request (agency, &request), -1);
    test_tempdir (agency, sizeof agency);
    request.type = "CHARITY";
    CU_ASSERT_EQUAL (rh_ca_make_request (agency, &request), -1);
    request.type = "VCS";
    request.agency_id = "VCS DA";
    CU_ASSERT_EQUAL (rh_ca_make_request (agency, &request), -1);
    request.agency_id = "vcs-da";
    request.region = "south wales";
    CU_ASSERT_EQUAL (rh_ca_make_request (agency, &request), -1);
}

//  Builds a request by hand so that tests can make ones rhannu-ca would not. san may be NULL
//  (no subjectAltName); extra, if not NULL, is one more subject attribute "FIELD=value".
static uint8_t *
s_hand_request (EVP_PKEY *key, const char *cn, const char *ou, const char *san, const char *extra,
                size_t *size)
{
    X509_REQ *csr = X509_REQ_new ();
    X509_NAME *name = X509_REQ_get_subject_name (csr);
    X509_REQ_set_version (csr, X509_REQ_VERSION_1);
    X509_NAME_add_entry_by_txt (name, "OU", MBSTRING_UTF8, (const unsigned char *) ou, -1, -1, 0);
    X509_NAME_add_entry_by_txt (name, "CN", MBSTRING_UTF8, (const unsigned char *) cn, -1, -1, 0);
    if (extra) {
        char field [16];
        const char *value = strchr (extra, '=');
        snprintf (field, sizeof field, "%.*s", (int) (value - extra), extra);
        X509_NAME_add_entry_by_txt (name, field, MBSTRING_UTF8, (const unsigned char *) value + 1,
                                    -1, -1, 0);
    }
    X509_REQ_set_pubkey (csr, key);
    if (san) {
        STACK_OF (X509_EXTENSION) *extensions = sk_X509_EXTENSION_new_null ();
        sk_X509_EXTENSION_push (extensions,
                                X509V3_EXT_conf_nid (NULL, NULL, NID_subject_alt_name, san));
        X509_REQ_add_extensions (csr, extensions);
        sk_X509_EXTENSION_pop_free (extensions, X509_EXTENSION_free);
    }
    X509_REQ_sign (csr, key, EVP_PKEY_get_id (key) == EVP_PKEY_ED25519 ? NULL : EVP_sha256 ());
    BIO *bio = BIO_new (BIO_s_mem ());
    PEM_write_bio_X509_REQ (bio, csr);
    char *data = NULL;
    long length = BIO_get_mem_data (bio, &data);
    uint8_t *copy = malloc ((size_t) length);
    memcpy (copy, data, (size_t) length);
    *size = (size_t) length;
    BIO_free (bio);
    X509_REQ_free (csr);
    return copy;
}

#define S_GOOD_SAN                                                                                 \
    "URI:urn:rhannu:curve25519:"                                                                   \
    "92d87028afa72449e4855be3b282074b2a214440ec6bfe7e50ab1d3f997f4358"

static void
test_a_request_is_refused_unless_signed_well_formed_and_bound_to_a_transport_key (void)
{
    EVP_PKEY *key = EVP_PKEY_Q_keygen (NULL, NULL, "ED25519");
    EVP_PKEY *ec = EVP_PKEY_Q_keygen (NULL, NULL, "EC", "P-256");
    CU_ASSERT_PTR_NOT_NULL_FATAL (key);
    CU_ASSERT_PTR_NOT_NULL_FATAL (ec);
    rh_identity_t identity;
    size_t size = 0;
    uint8_t *pem = s_hand_request (key, "fire-mw", "FIRE", S_GOOD_SAN, NULL, &size);
    //  The hand-made good one passes, so each refusal below is for its one difference.
    CU_ASSERT_EQUAL (rh_ca_check_request (pem, size, &identity), RH_OK);
    CU_ASSERT_TRUE (identity.has_curve_key);
    CU_ASSERT_EQUAL (identity.curve_key [0], 0x92);

    //  A changed byte inside the signed part: the signature no longer verifies.
    BIO *bio = BIO_new_mem_buf (pem, (int) size);
    X509_REQ *csr = PEM_read_bio_X509_REQ (bio, NULL, NULL, NULL);
    BIO_free (bio);
    unsigned char *der = NULL;
    int der_size = i2d_X509_REQ (csr, &der);
    X509_REQ_free (csr);
    const unsigned char *cn = memmem (der, (size_t) der_size, "fire-mw", 7);
    CU_ASSERT_PTR_NOT_NULL_FATAL (cn);
    der [cn - der] = 'h';  //  "hire-mw": still a valid agency id
    const unsigned char *read = der;
    csr = d2i_X509_REQ (NULL, &read, der_size);
    bio = BIO_new (BIO_s_mem ());
    PEM_write_bio_X509_REQ (bio, csr);
    char *text = NULL;
    long text_size = BIO_get_mem_data (bio, &text);
    CU_ASSERT_EQUAL (rh_ca_check_request ((uint8_t *) text, (size_t) text_size, &identity),
                     RH_E_SIG);
    BIO_free (bio);
    X509_REQ_free (csr);
    OPENSSL_free (der);
    free (pem);

    struct {
        EVP_PKEY *key;
        const char *cn, *ou, *san, *extra;
    } bad [] = {
        { key, "fire-mw", "FIRE", NULL, NULL },                              //  no transport key
        { key, "fire-mw", "FIRE", "URI:urn:rhannu:curve25519:92d8", NULL },  //  short key
        { key, "fire-mw", "FIRE", "URI:https://example.org/", NULL },        //  not a binding
        { key, "fire-mw", "FIRE", S_GOOD_SAN "," S_GOOD_SAN, NULL },         //  two bindings
        { key, "Fire MW", "FIRE", S_GOOD_SAN, NULL },                        //  not an agency id
        { key, "fire-mw", "FIREMEN", S_GOOD_SAN, NULL },                     //  unknown type
        { key, "fire-mw", "FIRE", S_GOOD_SAN, "emailAddress=a@b.c" },        //  attribute not ours
        { key, "fire-mw", "FIRE", S_GOOD_SAN, "CN=fire-other" },             //  two names
        { key, "fire-mw", "FIRE", S_GOOD_SAN, "L=bad la" },                  //  LA not a code
        { ec, "fire-mw", "FIRE", S_GOOD_SAN, NULL },                         //  not Ed25519
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++) {
        pem =
            s_hand_request (bad [i].key, bad [i].cn, bad [i].ou, bad [i].san, bad [i].extra, &size);
        CU_ASSERT_EQUAL (rh_ca_check_request (pem, size, &identity), RH_E_MALFORMED);
        free (pem);
    }
    CU_ASSERT_EQUAL (rh_ca_check_request ((const uint8_t *) "not a request", 13, &identity),
                     RH_E_MALFORMED);
    EVP_PKEY_free (key);
    EVP_PKEY_free (ec);
}

static void
test_sign_request_refuses_an_agency_with_a_valid_certificate_and_reused_keys (void)
{
    char pki [PATH_MAX], agency [PATH_MAX], csr [PATH_MAX], unused [RH_MAX_ID + 1];
    s_fresh_ca (pki, sizeof pki);
    rh_ca_request_t request = { .agency_id = "probation-w", .type = "PROBATION" };
    CU_ASSERT_EQUAL_FATAL (rh_ca_issue (pki, &request), 0);
    test_tempdir (agency, sizeof agency);
    CU_ASSERT_EQUAL_FATAL (rh_ca_make_request (agency, &request), 0);
    rh_file_path (csr, sizeof csr, "%s/request.csr", agency);
    //  The board-issued certificate is valid: a request cannot replace it.
    CU_ASSERT_EQUAL (rh_ca_sign_request (pki, csr, 0, 0, unused), -1);
    CU_ASSERT_EQUAL (rh_ca_revoke (pki, "probation-w", CRL_REASON_CESSATION_OF_OPERATION), 0);
    CU_ASSERT_EQUAL (rh_ca_sign_request (pki, csr, 0, 0, unused), 0);
    //  Once revoked, the agency enrols again only with new keys.
    CU_ASSERT_EQUAL (rh_ca_revoke (pki, "probation-w", CRL_REASON_CESSATION_OF_OPERATION), 0);
    CU_ASSERT_EQUAL (rh_ca_sign_request (pki, csr, 0, 0, unused), -1);
    //  And never with a key another agency's certificate carries: a request for probation-e
    //  signed with probation-w's key (its transport key is new).
    char path [PATH_MAX];
    rh_file_path (path, sizeof path, "%s/key.pem", agency);
    FILE *file = fopen (path, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL (file);
    EVP_PKEY *key = PEM_read_PrivateKey (file, NULL, NULL, NULL);
    fclose (file);
    CU_ASSERT_PTR_NOT_NULL_FATAL (key);
    size_t size = 0;
    uint8_t *pem = s_hand_request (key, "probation-e", "PROBATION", S_GOOD_SAN, NULL, &size);
    rh_file_path (csr, sizeof csr, "%s/other.csr", agency);
    CU_ASSERT_EQUAL_FATAL (rh_file_write_atomic (csr, pem, size, 0644), 0);
    CU_ASSERT_EQUAL (rh_ca_sign_request (pki, csr, 0, 0, unused), -1);
    //  The same request with a key of its own is signed.
    free (pem);
    EVP_PKEY_free (key);
    key = EVP_PKEY_Q_keygen (NULL, NULL, "ED25519");
    pem = s_hand_request (key, "probation-e", "PROBATION", S_GOOD_SAN, NULL, &size);
    CU_ASSERT_EQUAL_FATAL (rh_file_write_atomic (csr, pem, size, 0644), 0);
    CU_ASSERT_EQUAL (rh_ca_sign_request (pki, csr, 0, 0, unused), 0);
    CU_ASSERT_STRING_EQUAL (unused, "probation-e");
    free (pem);
    EVP_PKEY_free (key);
}

static void
test_certificates_start_before_issue_by_the_backdate (void)
{
    char pki [PATH_MAX], path [PATH_MAX];
    s_fresh_ca (pki, sizeof pki);
    rh_ca_request_t request = { .agency_id = "idva-g", .type = "IDVA" };
    int64_t before = rh_time_now_ms ();
    CU_ASSERT_EQUAL_FATAL (rh_ca_issue (pki, &request), 0);
    rh_file_path (path, sizeof path, "%s/idva-g/cert.pem", pki);
    X509 *cert = rh_ca_read_cert (path);
    CU_ASSERT_PTR_NOT_NULL_FATAL (cert);
    int64_t not_before = 0;
    CU_ASSERT_EQUAL (rh_time_from_asn1 (X509_get0_notBefore (cert), &not_before), 0);
    X509_free (cert);
    int64_t backdate = RH_CA_BACKDATE_MINUTES * 60 * 1000;
    CU_ASSERT (not_before <= before - backdate + 1000);
    CU_ASSERT (not_before >= before - backdate - 1000);
    //  A broker whose clock is most of that behind already accepts the new agency.
    rh_certstore_t *store = rh_certstore_load_dir (pki);
    CU_ASSERT_PTR_NOT_NULL_FATAL (store);
    CU_ASSERT_EQUAL (rh_certstore_status (store, 0, before - backdate + 2000), RH_OK);
    rh_certstore_destroy (&store);
}

static void
test_rotation_keeps_the_old_certificate_valid_until_the_overlap_ends (void)
{
    char pki [PATH_MAX], agency [PATH_MAX], path [PATH_MAX], archived [PATH_MAX];
    s_fresh_ca (pki, sizeof pki);
    rh_ca_request_t request = { .agency_id = "police-nw", .type = "POLICE", .la = "wrexham" };
    CU_ASSERT_EQUAL_FATAL (rh_ca_issue (pki, &request), 0);
    uint8_t old_fingerprint [RH_DIGEST_LEN], old_curve [32], new_fingerprint [RH_DIGEST_LEN],
        new_curve [32];
    rh_file_path (path, sizeof path, "%s/police-nw/cert.pem", pki);
    s_fingerprint (path, old_fingerprint);
    rh_file_path (agency, sizeof agency, "%s/police-nw", pki);
    CU_ASSERT_EQUAL_FATAL (rh_ca_load_curve (agency, old_curve, NULL), 0);
    X509 *old = rh_ca_read_cert (path);
    BIGNUM *serial = ASN1_INTEGER_to_BN (X509_get0_serialNumber (old), NULL);
    char *hex = BN_bn2hex (serial);
    rh_file_path (archived, sizeof archived, "%s/police-nw/archive/%s.pem", pki, hex);
    OPENSSL_free (hex);
    BN_free (serial);
    X509_free (old);

    //  The agency asks for new keys; the board rotates with a one-hour overlap.
    test_tempdir (agency, sizeof agency);
    CU_ASSERT_EQUAL_FATAL (rh_ca_make_request (agency, &request), 0);
    rh_file_path (path, sizeof path, "%s/request.csr", agency);
    int64_t hour = 3600 * 1000, before = rh_time_now_ms ();
    CU_ASSERT_EQUAL_FATAL (rh_ca_rotate (pki, "police-nw", path, hour, 0, 0), 0);
    int64_t after = rh_time_now_ms ();
    CU_ASSERT_TRUE (rh_file_exists (archived));
    rh_file_path (path, sizeof path, "%s/police-nw/cert.pem", pki);
    s_fingerprint (path, new_fingerprint);
    CU_ASSERT_EQUAL_FATAL (rh_ca_load_curve (agency, new_curve, NULL), 0);

    //  The old certificate is revoked (superseded) from a whole second an hour ahead.
    int64_t ends = s_revocation_ms (pki, archived);
    CU_ASSERT_EQUAL (ends % 1000, 0);
    CU_ASSERT (ends > before + hour && ends <= after + hour + 1000);
    //  Both are valid now; the old one until its revocation date, for signing and transport.
    int64_t now = rh_time_now_ms ();
    CU_ASSERT_EQUAL (s_status (pki, "police-nw", new_fingerprint, new_curve, now), RH_OK);
    CU_ASSERT_EQUAL (s_status (pki, "police-nw", old_fingerprint, old_curve, now), RH_OK);
    CU_ASSERT_EQUAL (s_status (pki, "police-nw", old_fingerprint, old_curve, ends - 1), RH_OK);
    CU_ASSERT_EQUAL (s_status (pki, "police-nw", old_fingerprint, old_curve, ends), RH_E_REVOKED);
    CU_ASSERT_EQUAL (s_status (pki, "police-nw", new_fingerprint, new_curve, ends), RH_OK);

    //  A second rotation is for the new certificate; the board cannot rotate what is revoked.
    CU_ASSERT_EQUAL (rh_ca_revoke (pki, "police-nw", CRL_REASON_CESSATION_OF_OPERATION), 0);
    CU_ASSERT_EQUAL (rh_ca_rotate (pki, "police-nw", NULL, hour, 0, 0), -1);
    CU_ASSERT_EQUAL (rh_ca_rotate (pki, "nobody", NULL, hour, 0, 0), -1);
}

static void
test_rotation_with_board_keys_archives_the_old_keys_and_keeps_the_agency (void)
{
    char pki [PATH_MAX], path [PATH_MAX], agency [PATH_MAX];
    s_fresh_ca (pki, sizeof pki);
    rh_ca_request_t request = {
        .agency_id = "la-conwy", .type = "LA_CHILDREN", .la = "conwy", .region = "north"
    };
    CU_ASSERT_EQUAL_FATAL (rh_ca_issue (pki, &request), 0);
    rh_file_path (agency, sizeof agency, "%s/la-conwy", pki);
    uint8_t old_curve [32], new_curve [32];
    CU_ASSERT_EQUAL_FATAL (rh_ca_load_curve (agency, old_curve, NULL), 0);
    CU_ASSERT_EQUAL_FATAL (rh_ca_rotate (pki, "la-conwy", NULL, 0, 0, 0), 0);
    CU_ASSERT_EQUAL_FATAL (rh_ca_load_curve (agency, new_curve, NULL), 0);
    CU_ASSERT_NOT_EQUAL (memcmp (old_curve, new_curve, 32), 0);
    rh_file_path (path, sizeof path, "%s/archive", agency);
    DIR *folder = opendir (path);
    CU_ASSERT_PTR_NOT_NULL_FATAL (folder);
    int pem = 0, keys = 0;
    struct dirent *item;
    while ((item = readdir (folder))) {
        size_t length = strlen (item->d_name);
        pem += length > 4 && strcmp (item->d_name + length - 4, ".pem") == 0;
        keys += length > 4 && strcmp (item->d_name + length - 4, ".key") == 0;
    }
    closedir (folder);
    CU_ASSERT_EQUAL (pem, 1);   //  the certificate: stores load it
    CU_ASSERT_EQUAL (keys, 2);  //  key.pem and curve.key, kept out of the stores' way
    rh_certstore_t *store = rh_certstore_load_dir (pki);
    CU_ASSERT_PTR_NOT_NULL_FATAL (store);
    CU_ASSERT_EQUAL (rh_certstore_size (store), 2);
    const rh_identity_t *id = rh_certstore_enrolled (store, "la-conwy", rh_time_now_ms ());
    CU_ASSERT_PTR_NOT_NULL_FATAL (id);
    CU_ASSERT_EQUAL (memcmp (id->curve_key, new_curve, 32), 0);
    CU_ASSERT_STRING_EQUAL (id->la, "conwy");
    CU_ASSERT_STRING_EQUAL (id->region, "north");
    CU_ASSERT_STRING_EQUAL (id->type, "LA_CHILDREN");
    //  No overlap: the old transport key is refused as soon as rotate returns.
    const rh_identity_t *found = NULL;
    CU_ASSERT_EQUAL (rh_certstore_by_curve (store, old_curve, rh_time_now_ms (), &found),
                     RH_E_REVOKED);
    rh_certstore_destroy (&store);
}

static void
test_rotation_by_request_keeps_the_agency_id_and_type (void)
{
    char pki [PATH_MAX], agency [PATH_MAX], csr [PATH_MAX];
    s_fresh_ca (pki, sizeof pki);
    rh_ca_request_t request = { .agency_id = "housing-c", .type = "HOUSING" };
    CU_ASSERT_EQUAL_FATAL (rh_ca_issue (pki, &request), 0);
    test_tempdir (agency, sizeof agency);
    rh_file_path (csr, sizeof csr, "%s/request.csr", agency);
    rh_ca_request_t other = { .agency_id = "housing-c", .type = "LA_FRONT_DOOR" };
    CU_ASSERT_EQUAL_FATAL (rh_ca_make_request (agency, &other), 0);
    CU_ASSERT_EQUAL (rh_ca_rotate (pki, "housing-c", csr, 0, 0, 0), -1);
    test_tempdir (agency, sizeof agency);
    rh_file_path (csr, sizeof csr, "%s/request.csr", agency);
    //  housing-d's request cannot rotate housing-c, even though housing-d could be rotated.
    other.agency_id = "housing-d";
    other.type = "HOUSING";
    CU_ASSERT_EQUAL_FATAL (rh_ca_issue (pki, &other), 0);
    CU_ASSERT_EQUAL_FATAL (rh_ca_make_request (agency, &other), 0);
    CU_ASSERT_EQUAL (rh_ca_rotate (pki, "housing-c", csr, 0, 0, 0), -1);
    CU_ASSERT_EQUAL (rh_ca_rotate (pki, "housing-c", csr, -1, 0, 0), -1);
    //  Rotation is to new keys: the request a certificate was signed from cannot rotate it.
    test_tempdir (agency, sizeof agency);
    rh_file_path (csr, sizeof csr, "%s/request.csr", agency);
    other.agency_id = "housing-e";
    char unused [RH_MAX_ID + 1];
    CU_ASSERT_EQUAL_FATAL (rh_ca_make_request (agency, &other), 0);
    CU_ASSERT_EQUAL_FATAL (rh_ca_sign_request (pki, csr, 0, 0, unused), 0);
    CU_ASSERT_EQUAL (rh_ca_rotate (pki, "housing-e", csr, 0, 0, 0), -1);
    rh_certstore_t *store = rh_certstore_load_dir (pki);
    CU_ASSERT_PTR_NOT_NULL_FATAL (store);
    CU_ASSERT_EQUAL (rh_certstore_size (store), 3);  //  nothing rotated
    for (size_t i = 0; i < 3; i++)
        CU_ASSERT_EQUAL (rh_certstore_status (store, i, rh_time_now_ms ()), RH_OK);
    rh_certstore_destroy (&store);
}

static void
test_a_message_accepted_in_the_second_of_a_later_revocation_still_verifies (void)
{
    char pki [PATH_MAX], path [PATH_MAX];
    s_fresh_ca (pki, sizeof pki);
    rh_ca_request_t request = { .agency_id = "edu-pembs", .type = "EDUCATION" };
    CU_ASSERT_EQUAL_FATAL (rh_ca_issue (pki, &request), 0);
    rh_file_path (path, sizeof path, "%s/edu-pembs/cert.pem", pki);
    uint8_t fingerprint [RH_DIGEST_LEN], curve [32];
    s_fingerprint (path, fingerprint);
    char agency [PATH_MAX];
    rh_file_path (agency, sizeof agency, "%s/edu-pembs", pki);
    CU_ASSERT_EQUAL_FATAL (rh_ca_load_curve (agency, curve, NULL), 0);
    //  Be well inside a second, so that the message and the revocation share it.
    while (rh_time_now_ms () % 1000 < 200 || rh_time_now_ms () % 1000 > 700)
        usleep (10 * 1000);
    int64_t accepted = rh_time_now_ms () - 100;
    CU_ASSERT_EQUAL_FATAL (rh_ca_revoke (pki, "edu-pembs", CRL_REASON_CESSATION_OF_OPERATION), 0);
    int64_t returned = rh_time_now_ms ();
    int64_t revoked = s_revocation_ms (pki, path);
    CU_ASSERT_EQUAL (revoked, (accepted / 1000 + 1) * 1000);
    //  The message accepted before the revoke command verifies, as an auditor asks it...
    CU_ASSERT_EQUAL (s_status (pki, "edu-pembs", fingerprint, curve, accepted), RH_OK);
    //  ...and once the command has returned, the agency is revoked for anyone who loads the CRL.
    CU_ASSERT (returned >= revoked);
    CU_ASSERT_EQUAL (s_status (pki, "edu-pembs", fingerprint, curve, returned), RH_E_REVOKED);
}

static void
test_revoking_again_for_key_compromise_taints_the_key_for_all_time (void)
{
    char pki [PATH_MAX], path [PATH_MAX], agency [PATH_MAX];
    s_fresh_ca (pki, sizeof pki);
    rh_ca_request_t request = { .agency_id = "yjs-b", .type = "YOUTH_JUSTICE" };
    CU_ASSERT_EQUAL_FATAL (rh_ca_issue (pki, &request), 0);
    rh_file_path (path, sizeof path, "%s/yjs-b/cert.pem", pki);
    rh_file_path (agency, sizeof agency, "%s/yjs-b", pki);
    uint8_t fingerprint [RH_DIGEST_LEN], curve [32];
    s_fingerprint (path, fingerprint);
    CU_ASSERT_EQUAL_FATAL (rh_ca_load_curve (agency, curve, NULL), 0);
    int64_t earlier = rh_time_now_ms () - 1000;
    CU_ASSERT_EQUAL (rh_ca_revoke (pki, "yjs-b", CRL_REASON_SUPERSEDED), 0);
    int64_t superseded = s_revocation_ms (pki, path);
    CU_ASSERT_EQUAL (s_status (pki, "yjs-b", fingerprint, curve, earlier), RH_OK);
    CU_ASSERT_EQUAL (rh_ca_revoke (pki, "yjs-b", CRL_REASON_SUPERSEDED), 0);
    CU_ASSERT_EQUAL (s_revocation_ms (pki, path), superseded);
    CU_ASSERT_EQUAL (rh_ca_revoke (pki, "yjs-b", CRL_REASON_KEY_COMPROMISE), 0);
    CU_ASSERT_EQUAL (s_status (pki, "yjs-b", fingerprint, curve, earlier), RH_E_REVOKED);
    CU_ASSERT_EQUAL (s_revocation_ms (pki, path), superseded);
}

//  Number of entries in the CRL of pki.
static int
s_crl_entries (const char *pki)
{
    char path [PATH_MAX];
    rh_file_path (path, sizeof path, "%s/crl.pem", pki);
    size_t size = 0;
    uint8_t *pem = s_read (path, &size);
    BIO *bio = BIO_new_mem_buf (pem, (int) size);
    X509_CRL *crl = PEM_read_bio_X509_CRL (bio, NULL, NULL, NULL);
    int count = crl ? sk_X509_REVOKED_num (X509_CRL_get_REVOKED (crl)) : -1;
    X509_CRL_free (crl);
    BIO_free (bio);
    free (pem);
    return count;
}

//  Puts a certificate back as the agency's current one, as if a rotation had stopped after
//  writing the CRL.
static void
s_put_back (const char *path, X509 *cert)
{
    FILE *file = fopen (path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL (file);
    CU_ASSERT_EQUAL (PEM_write_X509 (file, cert), 1);
    fclose (file);
}

static void
test_a_rotation_cut_short_is_finished_by_rotate_or_ended_by_revoke (void)
{
    char pki [PATH_MAX], path [PATH_MAX];
    s_fresh_ca (pki, sizeof pki);
    rh_ca_request_t request = { .agency_id = "fire-sw", .type = "FIRE" };
    CU_ASSERT_EQUAL_FATAL (rh_ca_issue (pki, &request), 0);
    rh_file_path (path, sizeof path, "%s/fire-sw/cert.pem", pki);
    int64_t hour = 3600 * 1000;

    //  The CRL was written, the new certificate was not: rotating again finishes the job and
    //  keeps the one CRL entry, with its date.
    X509 *first = rh_ca_read_cert (path);
    CU_ASSERT_EQUAL_FATAL (rh_ca_rotate (pki, "fire-sw", NULL, hour, 0, 0), 0);
    s_put_back (path, first);
    int64_t ahead = s_revocation_ms (pki, path);
    CU_ASSERT (ahead > rh_time_now_ms () + hour - 5000);
    sleep (1);  //  a second rotation that dated the entry again would date it a second later
    CU_ASSERT_EQUAL (rh_ca_rotate (pki, "fire-sw", NULL, hour, 0, 0), 0);
    CU_ASSERT_EQUAL (s_crl_entries (pki), 1);
    CU_ASSERT_EQUAL (s_revocation_of (pki, first), ahead);
    X509 *second = rh_ca_read_cert (path);
    CU_ASSERT_EQUAL (X509_cmp (first, second) != 0, 1);
    X509_free (first);

    //  Revoking a certificate whose overlap has not ended brings its end forward.
    CU_ASSERT_EQUAL_FATAL (rh_ca_rotate (pki, "fire-sw", NULL, hour, 0, 0), 0);
    s_put_back (path, second);
    CU_ASSERT (s_revocation_ms (pki, path) > rh_time_now_ms () + hour - 5000);
    CU_ASSERT_EQUAL (rh_ca_revoke (pki, "fire-sw", CRL_REASON_CESSATION_OF_OPERATION), 0);
    int64_t ended = s_revocation_ms (pki, path);
    CU_ASSERT (ended > 0 && ended <= rh_time_now_ms ());
    CU_ASSERT_EQUAL (s_crl_entries (pki), 2);
    X509_free (second);
}

static void
test_list_warns_before_the_crl_goes_out_of_date (void)
{
    char pki [PATH_MAX], listing [4096];
    s_fresh_ca (pki, sizeof pki);
    CU_ASSERT_EQUAL_FATAL (rh_ca_crl (pki, rh_time_now_ms () + 2 * TEST_DAY_MS), 0);
    FILE *out = fmemopen (listing, sizeof listing - 1, "w");
    CU_ASSERT_EQUAL (rh_ca_list (pki, 1, out), 0);
    fclose (out);
    CU_ASSERT_PTR_NULL (strstr (listing, "WARNING"));
    out = fmemopen (listing, sizeof listing - 1, "w");
    CU_ASSERT_EQUAL (rh_ca_list (pki, 3, out), 0);
    fclose (out);
    CU_ASSERT_PTR_NOT_NULL (strstr (listing, "WARNING: the CRL goes out of date in 47 hours"));
    sleep (1);  //  CRLs are dated to the second, and an older one is refused
    CU_ASSERT_EQUAL_FATAL (rh_ca_crl (pki, rh_time_now_ms () - 1000), 0);
    out = fmemopen (listing, sizeof listing - 1, "w");
    CU_ASSERT_EQUAL (rh_ca_list (pki, 0, out), 0);
    fclose (out);
    CU_ASSERT_PTR_NOT_NULL (strstr (listing, "WARNING: the CRL is out of date"));
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
    CU_add_test (suite, "an agency enrols by request and keeps its private keys",
                 test_an_agency_enrols_by_request_and_keeps_its_private_keys);
    CU_add_test (suite, "a request is made once per folder and only for a valid agency",
                 test_a_request_is_made_once_per_folder_and_only_for_a_valid_agency);
    CU_add_test (suite,
                 "a request is refused unless signed, well formed and bound to a transport key",
                 test_a_request_is_refused_unless_signed_well_formed_and_bound_to_a_transport_key);
    CU_add_test (suite, "sign-request refuses an agency with a valid certificate and reused keys",
                 test_sign_request_refuses_an_agency_with_a_valid_certificate_and_reused_keys);
    CU_add_test (suite, "certificates start before issue by the backdate",
                 test_certificates_start_before_issue_by_the_backdate);
    CU_add_test (suite, "rotation keeps the old certificate valid until the overlap ends",
                 test_rotation_keeps_the_old_certificate_valid_until_the_overlap_ends);
    CU_add_test (suite, "rotation with board keys archives the old keys and keeps the agency",
                 test_rotation_with_board_keys_archives_the_old_keys_and_keeps_the_agency);
    CU_add_test (suite, "rotation by request keeps the agency id and type",
                 test_rotation_by_request_keeps_the_agency_id_and_type);
    CU_add_test (suite, "a message accepted in the second of a later revocation still verifies",
                 test_a_message_accepted_in_the_second_of_a_later_revocation_still_verifies);
    CU_add_test (suite, "revoking again for key compromise taints the key for all time",
                 test_revoking_again_for_key_compromise_taints_the_key_for_all_time);
    CU_add_test (suite, "a rotation cut short is finished by rotate or ended by revoke",
                 test_a_rotation_cut_short_is_finished_by_rotate_or_ended_by_revoke);
    CU_add_test (suite, "list warns before the CRL goes out of date",
                 test_list_warns_before_the_crl_goes_out_of_date);
}
