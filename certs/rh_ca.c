/*  =========================================================================
    rh_ca - the board certificate authority: enrol and revoke agencies
    =========================================================================
*/
#include "rh_certs.h"

#define RH_CA_LOG    "rhannu-ca"
#define RH_MINUTE_MS ((int64_t) 60 * 1000)
#define RH_DAY_MS    ((int64_t) 24 * 3600 * 1000)

//  Writes a PEM rendering produced by writer into path with mode, atomically.
static int
s_write_pem (const char *path, mode_t mode, int (*writer) (BIO *, const void *), const void *object)
{
    BIO *bio = BIO_new (BIO_s_mem ());
    int rc = -1;
    char *data = NULL;
    if (bio && writer (bio, object) == 1) {
        long size = BIO_get_mem_data (bio, &data);
        if (size > 0 && rh_file_write_atomic (path, data, (size_t) size, mode) == 0)
            rc = 0;
    }
    //  The BIO may hold a private key: wipe it before it is freed.
    if (bio && data) {
        long size = BIO_get_mem_data (bio, &data);
        OPENSSL_cleanse (data, (size_t) size);
    }
    BIO_free (bio);
    if (rc != 0)
        rh_log_error (RH_CA_LOG, "cannot write %s: %s", path, strerror (errno));
    return rc;
}

static int
s_write_cert (BIO *bio, const void *cert)
{
    return PEM_write_bio_X509 (bio, (X509 *) cert);
}

static int
s_write_key (BIO *bio, const void *key)
{
    return PEM_write_bio_PrivateKey (bio, (EVP_PKEY *) key, NULL, NULL, 0, NULL, NULL);
}

static int
s_write_req (BIO *bio, const void *csr)
{
    return PEM_write_bio_X509_REQ (bio, (X509_REQ *) csr);
}

static int
s_write_crl_pem (BIO *bio, const void *crl)
{
    return PEM_write_bio_X509_CRL (bio, (X509_CRL *) crl);
}

static void *
s_pem_cert (BIO *bio)
{
    return PEM_read_bio_X509 (bio, NULL, NULL, NULL);
}

static void *
s_pem_crl (BIO *bio)
{
    return PEM_read_bio_X509_CRL (bio, NULL, NULL, NULL);
}

//  Reads the first PEM object of a file with reader. Returns it, or NULL.
static void *
s_read_pem (const char *path, void *(*reader) (BIO *) )
{
    uint8_t *pem = NULL;
    size_t size = 0;
    if (rh_file_read (path, RH_MAX_PKI_FILE, &pem, &size) != 0)
        return NULL;
    BIO *bio = BIO_new_mem_buf (pem, (int) size);
    void *object = bio ? reader (bio) : NULL;
    BIO_free (bio);
    free (pem);
    return object;
}

static X509 *
s_read_cert (const char *path)
{
    return s_read_pem (path, s_pem_cert);
}

X509 *
rh_ca_read_cert (const char *path)
{
    return s_read_cert (path);
}

static X509_CRL *
s_read_crl (const char *path)
{
    return s_read_pem (path, s_pem_crl);
}

//  Loads the CA certificate and private key; the key file must be 0600.
static int
s_load_ca (const char *dir, X509 **cert, EVP_PKEY **key)
{
    char path [PATH_MAX];
    rh_file_path (path, sizeof path, "%s/ca.pem", dir);
    *cert = s_read_cert (path);
    if (!*cert) {
        rh_log_error (RH_CA_LOG, "cannot read CA certificate %s", path);
        return -1;
    }
    rh_file_path (path, sizeof path, "%s/ca.key", dir);
    uint8_t *pem = NULL;
    size_t size = 0;
    if (rh_file_read_secret (path, RH_MAX_PKI_FILE, &pem, &size) != 0) {
        rh_log_error (RH_CA_LOG, "cannot read CA key %s: %s", path,
                      errno == EPERM ? "mode is wider than 0600" : strerror (errno));
        X509_free (*cert);
        *cert = NULL;
        return -1;
    }
    BIO *bio = BIO_new_mem_buf (pem, (int) size);
    *key = bio ? PEM_read_bio_PrivateKey (bio, NULL, NULL, NULL) : NULL;
    BIO_free (bio);
    OPENSSL_cleanse (pem, size);
    free (pem);
    if (!*key) {
        rh_log_error (RH_CA_LOG, "CA key %s does not parse", path);
        X509_free (*cert);
        *cert = NULL;
        return -1;
    }
    return 0;
}

static int
s_add_ext (X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb (&ctx);
    X509V3_set_ctx (&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid (NULL, &ctx, nid, value);
    int rc = ext && X509_add_ext (cert, ext, -1) == 1 ? 0 : -1;
    X509_EXTENSION_free (ext);
    return rc;
}

static int
s_set_name (X509_NAME *name, const char *field, const char *value)
{
    if (!value || !*value)
        return 0;
    return X509_NAME_add_entry_by_txt (name, field, MBSTRING_UTF8, (const unsigned char *) value,
                                       -1, -1, 0)
                   == 1
               ? 0
               : -1;
}

static int
s_set_random_serial (X509 *cert)
{
    uint8_t bytes [16];
    randombytes_buf (bytes, sizeof bytes);
    bytes [0] &= 0x7f;  //  positive, as RFC 5280 requires
    bytes [0] |= 0x01;  //  and never with a leading zero byte
    BIGNUM *number = BN_bin2bn (bytes, sizeof bytes, NULL);
    int rc = number && BN_to_ASN1_INTEGER (number, X509_get_serialNumber (cert)) ? 0 : -1;
    BN_free (number);
    return rc;
}

static int
s_set_validity (X509 *cert, int64_t not_before_ms, int64_t not_after_ms)
{
    return ASN1_TIME_set (X509_getm_notBefore (cert), (time_t) (not_before_ms / 1000))
                   && ASN1_TIME_set (X509_getm_notAfter (cert), (time_t) (not_after_ms / 1000))
               ? 0
               : -1;
}

//  Writes a CRL over the given entries, numbered one past the previous CRL's number.
static int
s_write_crl (const char *dir, X509 *ca, EVP_PKEY *ca_key, const X509_CRL *previous,
             X509_REVOKED *extra, int64_t next_update_ms)
{
    X509_CRL *crl = X509_CRL_new ();
    ASN1_TIME *now = NULL, *next = NULL;
    ASN1_INTEGER *number = NULL;
    X509_EXTENSION *aki = NULL;
    int rc = -1;
    int64_t now_ms = rh_time_now_ms ();
    if (!crl || X509_CRL_set_version (crl, X509_CRL_VERSION_2) != 1
        || X509_CRL_set_issuer_name (crl, X509_get_subject_name (ca)) != 1)
        goto out;
    if (!(now = ASN1_TIME_set (NULL, (time_t) (now_ms / 1000)))
        || !(
            next = ASN1_TIME_set (
                NULL, (time_t) ((next_update_ms ? next_update_ms : now_ms + RH_CRL_DAYS * RH_DAY_MS)
                                / 1000)))
        || X509_CRL_set1_lastUpdate (crl, now) != 1 || X509_CRL_set1_nextUpdate (crl, next) != 1)
        goto out;
    STACK_OF (X509_REVOKED) *entries =
        previous ? X509_CRL_get_REVOKED ((X509_CRL *) previous) : NULL;
    for (int i = 0; i < sk_X509_REVOKED_num (entries); i++) {
        const X509_REVOKED *kept = sk_X509_REVOKED_value (entries, i);
        //  A new entry for a certificate already listed replaces the old one.
        if (extra
            && ASN1_INTEGER_cmp (X509_REVOKED_get0_serialNumber (kept),
                                 X509_REVOKED_get0_serialNumber (extra))
                   == 0)
            continue;
        X509_REVOKED *copy = X509_REVOKED_dup (kept);
        if (!copy || X509_CRL_add0_revoked (crl, copy) != 1) {
            X509_REVOKED_free (copy);
            goto out;
        }
    }
    if (extra) {
        if (X509_CRL_add0_revoked (crl, extra) != 1)
            goto out;
        extra = NULL;
    }
    //  CRL number: one more than before, so relying parties can tell newer from older.
    long previous_number = 0;
    ASN1_INTEGER *old_number =
        previous ? X509_CRL_get_ext_d2i (previous, NID_crl_number, NULL, NULL) : NULL;
    if (old_number)
        previous_number = ASN1_INTEGER_get (old_number);
    ASN1_INTEGER_free (old_number);
    if (!(number = ASN1_INTEGER_new ()) || ASN1_INTEGER_set (number, previous_number + 1) != 1
        || X509_CRL_add1_ext_i2d (crl, NID_crl_number, number, 0, 0) != 1)
        goto out;
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb (&ctx);
    X509V3_set_ctx (&ctx, ca, NULL, NULL, crl, 0);
    if (!(aki = X509V3_EXT_conf_nid (NULL, &ctx, NID_authority_key_identifier, "keyid:always"))
        || X509_CRL_add_ext (crl, aki, -1) != 1)
        goto out;
    if (X509_CRL_sort (crl) != 1 || X509_CRL_sign (crl, ca_key, NULL) <= 0)
        goto out;
    char path [PATH_MAX];
    rh_file_path (path, sizeof path, "%s/crl.pem", dir);
    rc = s_write_pem (path, 0644, s_write_crl_pem, crl);
out:
    if (rc != 0)
        rh_log_error (RH_CA_LOG, "cannot issue CRL in %s", dir);
    X509_REVOKED_free (extra);
    X509_EXTENSION_free (aki);
    ASN1_INTEGER_free (number);
    ASN1_TIME_free (now);
    ASN1_TIME_free (next);
    X509_CRL_free (crl);
    ERR_clear_error ();
    return rc;
}

int
rh_ca_init (const char *dir, const char *name, int64_t not_after_ms)
{
    assert (dir);
    char path [PATH_MAX];
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    int rc = -1;
    rh_file_path (path, sizeof path, "%s/ca.pem", dir);
    if (rh_file_exists (path)) {
        rh_log_error (RH_CA_LOG, "%s already holds a CA; refusing to overwrite it", dir);
        return -1;
    }
    if (rh_file_mkdir (dir, 0755) != 0) {
        rh_log_error (RH_CA_LOG, "cannot create %s: %s", dir, strerror (errno));
        return -1;
    }
    int64_t now_ms = rh_time_now_ms ();
    if (!(key = EVP_PKEY_Q_keygen (NULL, NULL, "ED25519")) || !(cert = X509_new ()))
        goto out;
    X509_NAME *subject = X509_get_subject_name (cert);
    if (X509_set_version (cert, X509_VERSION_3) != 1 || s_set_random_serial (cert)
        || s_set_name (subject, "O", "rhannu")
        || s_set_name (subject, "CN", name ? name : "rhannu board CA")
        || X509_set_issuer_name (cert, subject) != 1
        || s_set_validity (cert, now_ms - RH_CA_BACKDATE_MINUTES * RH_MINUTE_MS,
                           not_after_ms ? not_after_ms : now_ms + RH_CA_DAYS * RH_DAY_MS)
        || X509_set_pubkey (cert, key) != 1)
        goto out;
    if (s_add_ext (cert, cert, NID_basic_constraints, "critical,CA:TRUE")
        || s_add_ext (cert, cert, NID_key_usage, "critical,keyCertSign,cRLSign")
        || s_add_ext (cert, cert, NID_subject_key_identifier, "hash")
        || s_add_ext (cert, cert, NID_authority_key_identifier, "keyid:always"))
        goto out;
    if (X509_sign (cert, key, NULL) <= 0)
        goto out;
    rh_file_path (path, sizeof path, "%s/ca.key", dir);
    if (s_write_pem (path, 0600, s_write_key, key))
        goto out;
    if (s_write_crl (dir, cert, key, NULL, NULL, 0))
        goto out;
    //  ca.pem last: its presence means the CA is complete.
    rh_file_path (path, sizeof path, "%s/ca.pem", dir);
    rc = s_write_pem (path, 0644, s_write_cert, cert);
out:
    if (rc != 0)
        rh_log_error (RH_CA_LOG, "cannot create a CA in %s", dir);
    EVP_PKEY_free (key);
    X509_free (cert);
    ERR_clear_error ();
    return rc;
}

//  Whether the CRL lists the certificate; if so, sets *at_ms to its revocation date (INT64_MIN
//  if unreadable) and *reason to its reason code.
static bool
s_listed (const X509_CRL *crl, X509 *cert, int64_t *at_ms, int *reason)
{
    X509_REVOKED *entry = NULL;
    if (!crl || X509_CRL_get0_by_cert ((X509_CRL *) crl, &entry, cert) != 1)
        return false;
    if (rh_time_from_asn1 (X509_REVOKED_get0_revocationDate (entry), at_ms) != 0)
        *at_ms = INT64_MIN;
    ASN1_ENUMERATED *code = X509_REVOKED_get_ext_d2i (entry, NID_crl_reason, NULL, NULL);
    *reason = code ? (int) ASN1_ENUMERATED_get (code) : CRL_REASON_UNSPECIFIED;
    ASN1_ENUMERATED_free (code);
    return true;
}

//  True if the certificate may still be used at now_ms: not expired, and not revoked from a
//  time at or before now_ms (a certificate superseded by rotation stays usable until its
//  revocation date).
static bool
s_usable (const X509_CRL *crl, X509 *cert, int64_t now_ms)
{
    int64_t revoked_at = 0, not_after = 0;
    int reason = 0;
    if (rh_time_from_asn1 (X509_get0_notAfter (cert), &not_after) != 0 || now_ms > not_after)
        return false;
    return !s_listed (crl, cert, &revoked_at, &reason) || revoked_at > now_ms;
}

//  The next whole second strictly after at_ms. CRL revocation dates hold whole seconds; see
//  rh_ca_revoke for why revocations are recorded there rather than at the second they fall in.
static int64_t
s_next_second (int64_t at_ms)
{
    return (at_ms / 1000 + 1) * 1000;
}

//  Sleeps until at_ms has passed. Waits at most a second: a clock stepped back is not waited out.
static void
s_wait_until (int64_t at_ms)
{
    for (int64_t now = rh_time_now_ms (); now < at_ms && at_ms - now <= 1000;
         now = rh_time_now_ms ()) {
        struct timespec pause = { (at_ms - now) / 1000, (long) ((at_ms - now) % 1000) * 1000000L };
        nanosleep (&pause, NULL);
    }
}

//  Writes the CRL with cert listed as revoked from at_ms (whole seconds) for reason, replacing
//  any earlier entry for it.
static int
s_revoke_cert (const char *dir, X509 *ca, EVP_PKEY *ca_key, const X509_CRL *crl, X509 *cert,
               int reason, int64_t at_ms)
{
    X509_REVOKED *entry = NULL;
    ASN1_TIME *when = NULL;
    ASN1_ENUMERATED *code = NULL;
    int rc = -1;
    if (!(entry = X509_REVOKED_new ())
        || X509_REVOKED_set_serialNumber (entry, X509_get_serialNumber (cert)) != 1
        || !(when = ASN1_TIME_set (NULL, (time_t) (at_ms / 1000)))
        || X509_REVOKED_set_revocationDate (entry, when) != 1)
        goto out;
    if (reason >= 0
        && (!(code = ASN1_ENUMERATED_new ()) || ASN1_ENUMERATED_set (code, reason) != 1
            || X509_REVOKED_add1_ext_i2d (entry, NID_crl_reason, code, 0, 0) != 1))
        goto out;
    rc = s_write_crl (dir, ca, ca_key, crl, entry, 0);
    entry = NULL;  //  s_write_crl took it
out:
    X509_REVOKED_free (entry);
    ASN1_TIME_free (when);
    ASN1_ENUMERATED_free (code);
    ERR_clear_error ();
    return rc;
}

//  Moves a file into the archive folder under a new name, if it exists.
static int
s_archive_file (const char *agency_dir, const char *name, const char *folder, const char *serial,
                const char *suffix)
{
    char from [PATH_MAX], to [PATH_MAX];
    rh_file_path (from, sizeof from, "%s/%s", agency_dir, name);
    if (!rh_file_exists (from))
        return 0;
    rh_file_path (to, sizeof to, "%s/%s%s", folder, serial, suffix);
    return rename (from, to);
}

//  Moves an agency's replaced certificate out of the way of a new one: cert.pem becomes
//  archive/SERIAL.pem (stores still load it, so that old signatures verify), and keys the board
//  generated for it become archive/SERIAL.key, SERIAL.curve.key and SERIAL.curve.pub (not
//  ".pem", so no store mistakes them for certificates). Keeping the old keys matters during a
//  rotation's overlap, when the agency may still be using them.
static int
s_archive (const char *agency_dir, X509 *old)
{
    char folder [PATH_MAX];
    rh_file_path (folder, sizeof folder, "%s/archive", agency_dir);
    if (rh_file_mkdir (folder, 0755) != 0)
        return -1;
    BIGNUM *serial = ASN1_INTEGER_to_BN (X509_get0_serialNumber (old), NULL);
    char *hex = serial ? BN_bn2hex (serial) : NULL;
    BN_free (serial);
    if (!hex)
        return -1;
    int rc = s_archive_file (agency_dir, "key.pem", folder, hex, ".key")
                     || s_archive_file (agency_dir, "curve.key", folder, hex, ".curve.key")
                     || s_archive_file (agency_dir, "curve.pub", folder, hex, ".curve.pub")
                     || s_archive_file (agency_dir, "cert.pem", folder, hex, ".pem")
                 ? -1
                 : 0;
    OPENSSL_free (hex);
    return rc;
}

//  Writes agency_dir/curve.pub: the CURVE public key, Z85 text.
static int
s_write_curve_public (const char *agency_dir, const uint8_t public_key [32])
{
    char public_z85 [41], text [64], path [PATH_MAX];
    if (!zmq_z85_encode (public_z85, public_key, 32))
        return -1;
    rh_file_path (path, sizeof path, "%s/curve.pub", agency_dir);
    int length = snprintf (text, sizeof text, "%s\n", public_z85);
    return rh_file_write_atomic (path, text, (size_t) length, 0644);
}

static int
s_write_curve_keys (const char *agency_dir, const uint8_t public_key [32],
                    const uint8_t secret_key [32])
{
    char public_z85 [41], secret_z85 [41], text [160], path [PATH_MAX];
    if (!zmq_z85_encode (public_z85, public_key, 32)
        || !zmq_z85_encode (secret_z85, secret_key, 32))
        return -1;
    rh_file_path (path, sizeof path, "%s/curve.key", agency_dir);
    int length = snprintf (text, sizeof text, "public = %s\nsecret = %s\n", public_z85, secret_z85);
    int rc = rh_file_write_atomic (path, text, (size_t) length, 0600);
    OPENSSL_cleanse (text, sizeof text);
    OPENSSL_cleanse (secret_z85, sizeof secret_z85);
    if (rc != 0)
        return -1;
    return s_write_curve_public (agency_dir, public_key);
}

//  An agency's key material: the Ed25519 signing key and the CURVE transport key pair.
typedef struct {
    EVP_PKEY *key;              //  signing key (private when generated here)
    uint8_t curve_public [32];  //  CURVE public key, bound in the certificate
    uint8_t curve_secret [32];  //  CURVE secret key, zero when the agency holds it
} s_keys_t;

static int
s_keys_generate (s_keys_t *keys)
{
    keys->key = EVP_PKEY_Q_keygen (NULL, NULL, "ED25519");
    crypto_box_keypair (keys->curve_public, keys->curve_secret);
    return keys->key ? 0 : -1;
}

//  Writes generated keys into folder: key.pem and curve.key (0600), curve.pub.
static int
s_keys_write (const s_keys_t *keys, const char *folder)
{
    char path [PATH_MAX];
    rh_file_path (path, sizeof path, "%s/key.pem", folder);
    if (s_write_pem (path, 0600, s_write_key, keys->key)
        || s_write_curve_keys (folder, keys->curve_public, keys->curve_secret))
        return -1;
    return 0;
}

static void
s_keys_clear (s_keys_t *keys)
{
    EVP_PKEY_free (keys->key);
    keys->key = NULL;
    OPENSSL_cleanse (keys->curve_secret, sizeof keys->curve_secret);
}

//  The subjectAltName value that binds a CURVE public key, for X509V3_EXT_conf_nid.
static void
s_curve_uri (const uint8_t curve_public [32], char *uri, size_t size)
{
    char hex [65];
    sodium_bin2hex (hex, sizeof hex, curve_public, 32);
    snprintf (uri, size, "URI:" RH_CURVE_URI_PREFIX "%s", hex);
}

//  Writes the subject an agency certificate (or request) carries, in the one order both use.
static int
s_set_subject (X509_NAME *subject, const rh_ca_request_t *request)
{
    return s_set_name (subject, "O", "rhannu") || s_set_name (subject, "OU", request->type)
                   || s_set_name (subject, "ST", request->region)
                   || s_set_name (subject, "L", request->la)
                   || s_set_name (subject, "CN", request->agency_id)
               ? -1
               : 0;
}

//  Checks what a certificate will say about an agency. Returns 0 or -1 (logged).
static int
s_check_request (const rh_ca_request_t *request)
{
    if (!rh_envelope_valid_id (request->agency_id)) {
        rh_log_error (RH_CA_LOG, "agency id must be 1-%d characters of a-z, 0-9, '.', '-'",
                      RH_MAX_ID);
        return -1;
    }
    if (!rh_identity_valid_type (request->type)) {
        char allowed [512];
        rh_envelope_enum_names ("AgencyType", allowed, sizeof allowed);
        rh_log_error (RH_CA_LOG, "value not allowed for the agency type; allowed: %s", allowed);
        return -1;
    }
    if ((request->la && *request->la && !rh_envelope_valid_id (request->la))
        || (request->region && *request->region && !rh_envelope_valid_id (request->region))) {
        rh_log_error (RH_CA_LOG, "LA and region codes use the same characters as agency ids");
        return -1;
    }
    return 0;
}

//  Makes and signs an agency certificate for the public parts of keys. Returns it or NULL.
static X509 *
s_make_cert (X509 *ca, EVP_PKEY *ca_key, const rh_ca_request_t *request, const s_keys_t *keys,
             int64_t now_ms)
{
    char uri [128];
    s_curve_uri (keys->curve_public, uri, sizeof uri);
    int64_t not_before = request->not_before_ms ? request->not_before_ms
                                                : now_ms - RH_CA_BACKDATE_MINUTES * RH_MINUTE_MS;
    int64_t not_after =
        request->not_after_ms ? request->not_after_ms : now_ms + RH_CERT_DAYS * RH_DAY_MS;
    X509 *cert = X509_new ();
    if (!cert || X509_set_version (cert, X509_VERSION_3) != 1 || s_set_random_serial (cert)
        || s_set_subject (X509_get_subject_name (cert), request)
        || X509_set_issuer_name (cert, X509_get_subject_name (ca)) != 1
        || s_set_validity (cert, not_before, not_after) || X509_set_pubkey (cert, keys->key) != 1
        || s_add_ext (cert, ca, NID_basic_constraints, "critical,CA:FALSE")
        || s_add_ext (cert, ca, NID_key_usage, "critical,digitalSignature")
        || s_add_ext (cert, ca, NID_subject_key_identifier, "hash")
        || s_add_ext (cert, ca, NID_authority_key_identifier, "keyid:always")
        || s_add_ext (cert, ca, NID_subject_alt_name, uri) || X509_sign (cert, ca_key, NULL) <= 0) {
        X509_free (cert);
        return NULL;
    }
    return cert;
}

//  True (logged) if a certificate in the board's store, current or archived, already carries
//  the signing or the transport key: a key names one certificate, or the broker could not tell
//  whose connection or signature it is.
static bool
s_key_in_use (const char *dir, const rh_identity_t *requested)
{
    rh_certstore_t *store = rh_certstore_load_dir (dir);
    bool used = !store;
    for (size_t i = 0; store && i < rh_certstore_size (store) && !used; i++) {
        const rh_identity_t *id = rh_certstore_identity (store, i);
        used = CRYPTO_memcmp (id->sign_key, requested->sign_key, RH_PUBKEY_LEN) == 0
               || (id->has_curve_key
                   && CRYPTO_memcmp (id->curve_key, requested->curve_key, RH_PUBKEY_LEN) == 0);
        if (used)
            rh_log_error (RH_CA_LOG, "the request's keys are already in a certificate of %s",
                          id->agency_id);
    }
    rh_certstore_destroy (&store);
    return used;
}

//  Enrols an agency. With keys->key NULL the board generates its keys and writes them into the
//  agency's folder; otherwise keys holds public keys from a request. A current certificate that
//  is still usable is refused unless rotating; when rotating it must be usable, and it is
//  revoked (superseded) from overlap_ms after now. A replaced certificate moves to the archive.
static int
s_enrol (const char *dir, const rh_ca_request_t *request, s_keys_t *keys, bool rotate,
         int64_t overlap_ms)
{
    X509 *ca = NULL, *cert = NULL, *old = NULL;
    EVP_PKEY *ca_key = NULL;
    X509_CRL *crl = NULL;
    char agency_dir [PATH_MAX], path [PATH_MAX];
    bool generate = keys->key == NULL;
    int rc = -1;
    if (s_check_request (request) || s_load_ca (dir, &ca, &ca_key))
        return -1;
    rh_file_path (path, sizeof path, "%s/crl.pem", dir);
    if (!(crl = s_read_crl (path))) {
        rh_log_error (RH_CA_LOG, "cannot read CRL %s", path);
        goto out;
    }
    int64_t now_ms = rh_time_now_ms ();
    rh_file_path (agency_dir, sizeof agency_dir, "%s/%s", dir, request->agency_id);
    rh_file_path (path, sizeof path, "%s/cert.pem", agency_dir);
    old = s_read_cert (path);
    if (rotate) {
        rh_identity_t was = { 0 };
        if (!old || !s_usable (crl, old, now_ms)) {
            rh_log_error (RH_CA_LOG,
                          "%s has no valid certificate to rotate; enrol it with sign-request "
                          "or issue",
                          request->agency_id);
            goto out;
        }
        if (rh_identity_from_name (X509_get_subject_name (old), &was) != RH_OK
            || strcmp (was.type, request->type) != 0) {
            rh_log_error (RH_CA_LOG,
                          "rotation keeps an agency's type (%s); to change it, revoke and enrol "
                          "again",
                          was.type);
            goto out;
        }
    }
    else if (old && s_usable (crl, old, now_ms)) {
        rh_log_error (RH_CA_LOG,
                      "%s already has a valid certificate; rotate it (rhannu-ca rotate) or "
                      "revoke it first",
                      request->agency_id);
        goto out;
    }
    if (generate && s_keys_generate (keys))
        goto out;
    if (!(cert = s_make_cert (ca, ca_key, request, keys, now_ms)))
        goto out;
    //  The CRL first: if a later step fails, the old certificate is already set to end and
    //  running rotate again (which accepts it until then) finishes the job.
    int64_t revoked_at = 0;
    int reason = 0;
    if (rotate && !s_listed (crl, old, &revoked_at, &reason)) {
        //  As for rh_ca_revoke: from the next whole second, and with no overlap the CRL is
        //  written only once that second has come.
        revoked_at = s_next_second (now_ms) + overlap_ms;
        s_wait_until (revoked_at);
        if (s_revoke_cert (dir, ca, ca_key, crl, old, CRL_REASON_SUPERSEDED, revoked_at))
            goto out;
    }
    if (rh_file_mkdir (agency_dir, 0755) != 0) {
        rh_log_error (RH_CA_LOG, "cannot create %s: %s", agency_dir, strerror (errno));
        goto out;
    }
    if (old && s_archive (agency_dir, old)) {
        rh_log_error (RH_CA_LOG, "cannot archive the old certificate of %s", request->agency_id);
        goto out;
    }
    //  Agents find the broker's transport key as curve.pub in its folder, however it enrolled.
    if (generate ? s_keys_write (keys, agency_dir)
                 : s_write_curve_public (agency_dir, keys->curve_public))
        goto out;
    //  cert.pem last: its presence means the agency's files are complete.
    rh_file_path (path, sizeof path, "%s/cert.pem", agency_dir);
    rc = s_write_pem (path, 0644, s_write_cert, cert);
out:
    if (rc != 0)
        rh_log_error (RH_CA_LOG, "could not issue a certificate for %s", request->agency_id);
    if (generate)
        s_keys_clear (keys);
    X509_free (ca);
    X509_free (cert);
    X509_free (old);
    X509_CRL_free (crl);
    EVP_PKEY_free (ca_key);
    ERR_clear_error ();
    return rc;
}

int
rh_ca_issue (const char *dir, const rh_ca_request_t *request)
{
    assert (dir && request);
    s_keys_t keys = { 0 };
    return s_enrol (dir, request, &keys, false, 0);
}

int
rh_ca_make_request (const char *out_dir, const rh_ca_request_t *request)
{
    assert (out_dir && request);
    s_keys_t keys = { 0 };
    X509_REQ *csr = NULL;
    X509_EXTENSION *san = NULL;
    STACK_OF (X509_EXTENSION) *extensions = NULL;
    char path [PATH_MAX], uri [128];
    int rc = -1;
    if (s_check_request (request))
        return -1;
    //  Never overwrite keys: an agency that lost track of which request is current asks again
    //  in a fresh folder.
    static const char *const secrets [] = { "key.pem", "curve.key", "request.csr" };
    for (size_t i = 0; i < sizeof secrets / sizeof secrets [0]; i++) {
        rh_file_path (path, sizeof path, "%s/%s", out_dir, secrets [i]);
        if (rh_file_exists (path)) {
            rh_log_error (RH_CA_LOG, "%s already exists; make a request in a new folder", path);
            return -1;
        }
    }
    if (rh_file_mkdir (out_dir, 0700) != 0) {
        rh_log_error (RH_CA_LOG, "cannot create %s: %s", out_dir, strerror (errno));
        return -1;
    }
    if (s_keys_generate (&keys))
        goto out;
    s_curve_uri (keys.curve_public, uri, sizeof uri);
    if (!(csr = X509_REQ_new ()) || X509_REQ_set_version (csr, X509_REQ_VERSION_1) != 1
        || s_set_subject (X509_REQ_get_subject_name (csr), request)
        || X509_REQ_set_pubkey (csr, keys.key) != 1
        || !(san = X509V3_EXT_conf_nid (NULL, NULL, NID_subject_alt_name, uri))
        || !(extensions = sk_X509_EXTENSION_new_null ())
        || sk_X509_EXTENSION_push (extensions, san) <= 0)
        goto out;
    san = NULL;  //  the stack holds it
    if (X509_REQ_add_extensions (csr, extensions) != 1 || X509_REQ_sign (csr, keys.key, NULL) <= 0)
        goto out;
    if (s_keys_write (&keys, out_dir))
        goto out;
    //  request.csr last: its presence means the keys it names are on disk.
    rh_file_path (path, sizeof path, "%s/request.csr", out_dir);
    rc = s_write_pem (path, 0644, s_write_req, csr);
out:
    if (rc != 0)
        rh_log_error (RH_CA_LOG, "could not make a certificate request in %s", out_dir);
    s_keys_clear (&keys);
    X509_EXTENSION_free (san);
    sk_X509_EXTENSION_pop_free (extensions, X509_EXTENSION_free);
    X509_REQ_free (csr);
    ERR_clear_error ();
    return rc;
}

//  Subject attributes a request may carry: those certificates carry.
static bool
s_known_attribute (int nid)
{
    return nid == NID_organizationName || nid == NID_organizationalUnitName
           || nid == NID_stateOrProvinceName || nid == NID_localityName || nid == NID_commonName;
}

rh_rc_t
rh_ca_check_request (const uint8_t *pem, size_t size, rh_identity_t *identity)
{
    assert (pem && identity);
    memset (identity, 0, sizeof *identity);
    if (size == 0 || size > RH_MAX_PKI_FILE)
        return RH_E_MALFORMED;
    BIO *bio = BIO_new_mem_buf (pem, (int) size);
    X509_REQ *csr = bio ? PEM_read_bio_X509_REQ (bio, NULL, NULL, NULL) : NULL;
    STACK_OF (X509_EXTENSION) *extensions = NULL;
    GENERAL_NAMES *names = NULL;
    rh_rc_t rc = RH_E_MALFORMED;
    if (!csr || X509_REQ_get_version (csr) != X509_REQ_VERSION_1)
        goto out;
    //  Proof of possession: the request is signed by the signing key it asks to certify.
    EVP_PKEY *key = X509_REQ_get0_pubkey (csr);
    size_t key_len = RH_PUBKEY_LEN;
    if (!key || EVP_PKEY_get_id (key) != EVP_PKEY_ED25519
        || EVP_PKEY_get_raw_public_key (key, identity->sign_key, &key_len) != 1
        || key_len != RH_PUBKEY_LEN)
        goto out;
    if (X509_REQ_verify (csr, key) != 1) {
        rc = RH_E_SIG;
        goto out;
    }
    const X509_NAME *subject = X509_REQ_get_subject_name (csr);
    for (int i = 0; i < X509_NAME_entry_count (subject); i++) {
        const X509_NAME_ENTRY *entry = X509_NAME_get_entry (subject, i);
        if (!s_known_attribute (OBJ_obj2nid (X509_NAME_ENTRY_get_object (entry))))
            goto out;
    }
    if (rh_identity_from_name (subject, identity) != RH_OK
        || (*identity->la && !rh_envelope_valid_id (identity->la))
        || (*identity->region && !rh_envelope_valid_id (identity->region)))
        goto out;
    //  The CURVE key has no proof of possession (it cannot sign); it is the agency's to bind,
    //  and the signature above shows the request came from the holder of the signing key.
    extensions = X509_REQ_get_extensions (csr);
    names = extensions ? X509V3_get_d2i (extensions, NID_subject_alt_name, NULL, NULL) : NULL;
    if (rh_identity_curve_from_names (names, identity) != RH_OK || !identity->has_curve_key)
        goto out;
    rc = RH_OK;
out:
    GENERAL_NAMES_free (names);
    sk_X509_EXTENSION_pop_free (extensions, X509_EXTENSION_free);
    X509_REQ_free (csr);
    BIO_free (bio);
    ERR_clear_error ();
    return rc;
}

//  Reads and checks a request file, filling request (pointing into identity) and keys (public
//  keys only). Returns 0 or -1 (logged).
static int
s_read_request (const char *csr_path, rh_identity_t *identity, rh_ca_request_t *request,
                s_keys_t *keys)
{
    uint8_t *pem = NULL;
    size_t size = 0;
    if (rh_file_read (csr_path, RH_MAX_PKI_FILE, &pem, &size) != 0) {
        rh_log_error (RH_CA_LOG, "cannot read %s: %s", csr_path, strerror (errno));
        return -1;
    }
    rh_rc_t rc = rh_ca_check_request (pem, size, identity);
    free (pem);
    if (rc != RH_OK) {
        rh_log_error (RH_CA_LOG, "%s is not a valid rhannu certificate request: %s", csr_path,
                      rc == RH_E_SIG ? "its signature does not verify"
                                     : "it needs an Ed25519 key, a subject with a valid agency "
                                       "id (CN) and type (OU), and the CURVE key as "
                                       "subjectAltName URI " RH_CURVE_URI_PREFIX "<hex>");
        return -1;
    }
    request->agency_id = identity->agency_id;
    request->type = identity->type;
    request->la = identity->la;
    request->region = identity->region;
    memcpy (keys->curve_public, identity->curve_key, sizeof keys->curve_public);
    keys->key =
        EVP_PKEY_new_raw_public_key (EVP_PKEY_ED25519, NULL, identity->sign_key, RH_PUBKEY_LEN);
    return keys->key ? 0 : -1;
}

int
rh_ca_sign_request (const char *dir, const char *csr_path, int64_t not_before_ms,
                    int64_t not_after_ms, char agency_id [RH_MAX_ID + 1])
{
    assert (dir && csr_path && agency_id);
    rh_identity_t identity;
    rh_ca_request_t request = { .not_before_ms = not_before_ms, .not_after_ms = not_after_ms };
    s_keys_t keys = { 0 };
    int rc = -1;
    if (s_read_request (csr_path, &identity, &request, &keys) == 0 && !s_key_in_use (dir, &identity)
        && s_enrol (dir, &request, &keys, false, 0) == 0) {
        snprintf (agency_id, RH_MAX_ID + 1, "%s", identity.agency_id);
        rc = 0;
    }
    EVP_PKEY_free (keys.key);
    return rc;
}

int
rh_ca_rotate (const char *dir, const char *agency_id, const char *csr_path, int64_t overlap_ms,
              int64_t not_before_ms, int64_t not_after_ms)
{
    assert (dir && agency_id);
    rh_identity_t identity = { 0 };
    rh_ca_request_t request = { .not_before_ms = not_before_ms, .not_after_ms = not_after_ms };
    s_keys_t keys = { 0 };
    char path [PATH_MAX];
    int rc = -1;
    if (!rh_envelope_valid_id (agency_id)) {
        rh_log_error (RH_CA_LOG, "'%s' is not an agency id", agency_id);
        return -1;
    }
    if (overlap_ms < 0) {
        rh_log_error (RH_CA_LOG, "the overlap cannot be negative");
        return -1;
    }
    if (csr_path) {
        if (s_read_request (csr_path, &identity, &request, &keys) != 0)
            goto out;
        if (strcmp (identity.agency_id, agency_id) != 0) {
            rh_log_error (RH_CA_LOG, "%s asks for %s, not %s", csr_path, identity.agency_id,
                          agency_id);
            goto out;
        }
        if (s_key_in_use (dir, &identity))
            goto out;
    }
    else {
        //  Board-generated keys: the new certificate names the agency as the old one does.
        rh_file_path (path, sizeof path, "%s/%s/cert.pem", dir, agency_id);
        X509 *old = s_read_cert (path);
        rh_rc_t read = old ? rh_identity_from_name (X509_get_subject_name (old), &identity)
                           : RH_E_CERT_UNKNOWN;
        X509_free (old);
        if (read != RH_OK) {
            rh_log_error (RH_CA_LOG, "no certificate for %s at %s", agency_id, path);
            goto out;
        }
        request.agency_id = identity.agency_id;
        request.type = identity.type;
        request.la = identity.la;
        request.region = identity.region;
    }
    rc = s_enrol (dir, &request, &keys, true, overlap_ms);
out:
    EVP_PKEY_free (keys.key);
    return rc;
}

int
rh_ca_revoke (const char *dir, const char *agency_id, int reason)
{
    assert (dir && agency_id);
    X509 *ca = NULL, *cert = NULL;
    EVP_PKEY *ca_key = NULL;
    X509_CRL *crl = NULL;
    char path [PATH_MAX];
    int rc = -1;
    if (!rh_envelope_valid_id (agency_id)) {
        rh_log_error (RH_CA_LOG, "'%s' is not an agency id", agency_id);
        return -1;
    }
    if (s_load_ca (dir, &ca, &ca_key))
        return -1;
    rh_file_path (path, sizeof path, "%s/%s/cert.pem", dir, agency_id);
    if (!(cert = s_read_cert (path))) {
        rh_log_error (RH_CA_LOG, "no certificate for %s at %s", agency_id, path);
        goto out;
    }
    rh_file_path (path, sizeof path, "%s/crl.pem", dir);
    if (!(crl = s_read_crl (path))) {
        rh_log_error (RH_CA_LOG, "cannot read CRL %s", path);
        goto out;
    }
    //  A CRL's revocation date holds whole seconds, and stores compare it with message times in
    //  milliseconds. Recorded at the second it falls in (rounded down), a revocation at
    //  12:00:00.9 would read as 12:00:00.0, before a message that a broker not yet reloaded
    //  accepted at 12:00:00.5, and an untampered log would fail verification. So the
    //  revocation is recorded at the next whole second, after everything accepted before this
    //  command ran; and the CRL is written only once that second has come, so that no broker
    //  loads it while the date still lies ahead (it would keep the revoked session open).
    int64_t now_ms = rh_time_now_ms ();
    int64_t at_ms = s_next_second (now_ms), listed_at = 0;
    int listed_reason = 0;
    if (s_listed (crl, cert, &listed_at, &listed_reason)) {
        //  Revoking again is not an error; but a later key compromise taints the key for all
        //  time, and a revocation still ahead (a rotation's overlap) is brought forward.
        bool compromise =
            reason == CRL_REASON_KEY_COMPROMISE && listed_reason != CRL_REASON_KEY_COMPROMISE;
        if (listed_at <= now_ms && !compromise) {
            rh_log_info (RH_CA_LOG, "%s is already revoked", agency_id);
            rc = 0;
            goto out;
        }
        if (listed_at < at_ms)
            at_ms = listed_at;
    }
    s_wait_until (at_ms);
    rc = s_revoke_cert (dir, ca, ca_key, crl, cert, reason, at_ms);
out:
    X509_free (ca);
    X509_free (cert);
    X509_CRL_free (crl);
    EVP_PKEY_free (ca_key);
    ERR_clear_error ();
    return rc;
}

int
rh_ca_crl (const char *dir, int64_t next_update_ms)
{
    assert (dir);
    X509 *ca = NULL;
    EVP_PKEY *ca_key = NULL;
    char path [PATH_MAX];
    if (s_load_ca (dir, &ca, &ca_key))
        return -1;
    rh_file_path (path, sizeof path, "%s/crl.pem", dir);
    X509_CRL *crl = s_read_crl (path);
    int rc = crl ? s_write_crl (dir, ca, ca_key, crl, NULL, next_update_ms) : -1;
    if (!crl)
        rh_log_error (RH_CA_LOG, "cannot read CRL %s", path);
    X509_CRL_free (crl);
    X509_free (ca);
    EVP_PKEY_free (ca_key);
    return rc;
}

int
rh_ca_list (const char *dir, int warn_days, FILE *out)
{
    assert (dir && out);
    rh_certstore_t *store = rh_certstore_load_dir (dir);
    if (!store)
        return -1;
    int64_t now_ms = rh_time_now_ms ();
    fprintf (out, "%-24s %-14s %-12s %-10s %-20s %-16s %s\n", "AGENCY", "TYPE", "LA", "REGION",
             "EXPIRES", "STATUS", "FINGERPRINT");
    for (size_t i = 0; i < rh_certstore_size (store); i++) {
        const rh_identity_t *id = rh_certstore_identity (store, i);
        rh_rc_t status = rh_certstore_status (store, i, now_ms);
        char expires [32], fingerprint [17];
        sodium_bin2hex (fingerprint, sizeof fingerprint, id->cert_sha256, 8);
        const char *word = status == RH_OK                ? "valid"
                           : status == RH_E_REVOKED       ? "revoked"
                           : status == RH_E_EXPIRED       ? "expired"
                           : status == RH_E_NOT_YET_VALID ? "not-yet-valid"
                                                          : rh_rc_name (status);
        fprintf (out, "%-24s %-14s %-12s %-10s %-20s %-16s %s\n", id->agency_id, id->type,
                 *id->la ? id->la : "-", *id->region ? id->region : "-",
                 rh_time_format (id->not_after_ms, expires, sizeof expires), word, fingerprint);
    }
    char next [32];
    int64_t next_ms = rh_certstore_crl_next_update (store);
    fprintf (out, "CRL next update: %s\n", rh_time_format (next_ms, next, sizeof next));
    //  Past its next update the CRL shows nobody unrevoked, and every signer is refused.
    if (now_ms > next_ms)
        fprintf (out,
                 "WARNING: the CRL is out of date: every signature is refused until "
                 "`rhannu-ca crl %s` re-issues it\n",
                 dir);
    else if (next_ms - now_ms < warn_days * RH_DAY_MS)
        fprintf (out,
                 "WARNING: the CRL goes out of date in %" PRId64
                 " hours; re-issue it (`rhannu-ca crl %s`) before then\n",
                 (next_ms - now_ms) / (3600 * 1000), dir);
    rh_certstore_destroy (&store);
    return 0;
}

int
rh_ca_reason_code (const char *name)
{
    static const struct {
        const char *name;
        int code;
    } reasons [] = {
        { "unspecified", CRL_REASON_UNSPECIFIED },
        { "key-compromise", CRL_REASON_KEY_COMPROMISE },
        { "affiliation-changed", CRL_REASON_AFFILIATION_CHANGED },
        { "superseded", CRL_REASON_SUPERSEDED },
        { "cessation", CRL_REASON_CESSATION_OF_OPERATION },
    };
    for (size_t i = 0; name && i < sizeof reasons / sizeof reasons [0]; i++)
        if (strcmp (name, reasons [i].name) == 0)
            return reasons [i].code;
    return -1;
}

static int
s_z85_line (const char *text, const char *label, uint8_t out [32])
{
    const char *at = label ? strstr (text, label) : text;
    if (!at)
        return -1;
    if (label)
        at += strlen (label);
    char z85 [41];
    size_t length = strcspn (at, "\r\n");
    if (length != 40)
        return -1;
    memcpy (z85, at, 40);
    z85 [40] = 0;
    return zmq_z85_decode (out, z85) ? 0 : -1;
}

int
rh_ca_load_curve (const char *agency_dir, uint8_t public_key [32], uint8_t secret_key [32])
{
    assert (agency_dir && public_key);
    char path [PATH_MAX];
    uint8_t *text = NULL;
    size_t size = 0;
    rh_file_path (path, sizeof path, "%s/curve.pub", agency_dir);
    if (rh_file_read (path, 4096, &text, &size) != 0
        || s_z85_line ((char *) text, NULL, public_key)) {
        rh_log_error ("pki", "cannot read CURVE public key %s", path);
        free (text);
        return -1;
    }
    free (text);
    text = NULL;
    if (!secret_key)
        return 0;
    rh_file_path (path, sizeof path, "%s/curve.key", agency_dir);
    int rc = -1;
    if (rh_file_read_secret (path, 4096, &text, &size) == 0)
        rc = s_z85_line ((char *) text, "secret = ", secret_key);
    if (rc != 0)
        rh_log_error ("pki", "cannot read CURVE secret key %s%s", path,
                      errno == EPERM ? ": mode is wider than 0600" : "");
    if (text)
        OPENSSL_cleanse (text, size);
    free (text);
    return rc;
}

//  The bytes a detached signature covers: the domain, a zero byte, the data. The domain keeps
//  a signature over one kind of object from ever being taken for another (an agreement for a
//  bundle, either for a certificate or CRL).
static uint8_t *
s_domain_message (const char *domain, const uint8_t *data, size_t size, size_t *message_size)
{
    size_t prefix = strlen (domain) + 1;
    uint8_t *message = malloc (prefix + size);
    if (!message)
        return NULL;
    memcpy (message, domain, prefix);  //  includes the terminating zero
    if (size)
        memcpy (message + prefix, data, size);
    *message_size = prefix + size;
    return message;
}

int
rh_ca_sign_bytes (const char *dir, const char *domain, const uint8_t *data, size_t size,
                  uint8_t signature [RH_SIG_LEN])
{
    assert (dir && domain && (data || size == 0) && signature);
    X509 *cert = NULL;
    EVP_PKEY *key = NULL;
    uint8_t *message = NULL;
    size_t message_size = 0, signature_size = RH_SIG_LEN;
    EVP_MD_CTX *md = NULL;
    int rc = -1;
    if (s_load_ca (dir, &cert, &key) != 0)
        return -1;
    if (!(message = s_domain_message (domain, data, size, &message_size))
        || !(md = EVP_MD_CTX_new ()) || EVP_DigestSignInit (md, NULL, NULL, NULL, key) != 1
        || EVP_DigestSign (md, signature, &signature_size, message, message_size) != 1
        || signature_size != RH_SIG_LEN)
        rh_log_error (RH_CA_LOG, "cannot sign with the CA key in %s", dir);
    else
        rc = 0;
    EVP_MD_CTX_free (md);
    free (message);
    EVP_PKEY_free (key);
    X509_free (cert);
    return rc;
}

int
rh_ca_sign_file (const char *dir, const char *path)
{
    uint8_t *data = NULL;
    size_t size = 0;
    uint8_t signature [RH_SIG_LEN];
    char sig_path [PATH_MAX];
    if (rh_file_path (sig_path, sizeof sig_path, "%s.sig", path) != 0)
        return -1;
    if (rh_file_read (path, RH_MAX_AGREEMENT_FILE, &data, &size) != 0) {
        rh_log_error (RH_CA_LOG, "cannot read %s: %s", path, strerror (errno));
        return -1;
    }
    int rc = rh_ca_sign_bytes (dir, RH_AGREEMENT_DOMAIN, data, size, signature);
    free (data);
    if (rc == 0 && rh_file_write_atomic (sig_path, signature, sizeof signature, 0644) != 0) {
        rh_log_error (RH_CA_LOG, "cannot write %s: %s", sig_path, strerror (errno));
        rc = -1;
    }
    return rc;
}

rh_rc_t
rh_ca_verify_bytes (X509 *ca, const char *domain, const uint8_t *data, size_t size,
                    const uint8_t *signature, size_t signature_size)
{
    assert (domain);
    EVP_PKEY *key = ca ? X509_get0_pubkey (ca) : NULL;
    if (!key || EVP_PKEY_get_id (key) != EVP_PKEY_ED25519)
        return RH_E_CERT_UNKNOWN;
    if (!signature || signature_size != RH_SIG_LEN || (!data && size))
        return RH_E_SIG;
    size_t message_size = 0;
    uint8_t *message = s_domain_message (domain, data, size, &message_size);
    EVP_MD_CTX *md = EVP_MD_CTX_new ();
    rh_rc_t rc = RH_E_NOMEM;
    if (message && md) {
        rc = (EVP_DigestVerifyInit (md, NULL, NULL, NULL, key) == 1
              && EVP_DigestVerify (md, signature, signature_size, message, message_size) == 1)
                 ? RH_OK
                 : RH_E_SIG;
    }
    EVP_MD_CTX_free (md);
    free (message);
    ERR_clear_error ();
    return rc;
}

rh_rc_t
rh_ca_verify_file (X509 *ca, const uint8_t *data, size_t size, const uint8_t *signature,
                   size_t signature_size)
{
    return rh_ca_verify_bytes (ca, RH_AGREEMENT_DOMAIN, data, size, signature, signature_size);
}
