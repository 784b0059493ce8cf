/*  =========================================================================
    rh_certstore - the board CA, its CRLs and the enrolled agencies
    =========================================================================
*/
#include "rh_certs.h"

typedef struct {
    X509 *cert;               //  the agency certificate, owned
    rh_identity_t identity;   //  what the certificate says
    rh_rc_t chain_rc;         //  chain check ignoring time: RH_OK or why it fails
    int64_t revoked_from_ms;  //  INT64_MAX if not revoked; INT64_MIN if revoked for all time
} s_entry_t;

struct _rh_certstore_t {
    STACK_OF (X509) * cas;       //  trusted CA certificates
    STACK_OF (X509_CRL) * crls;  //  at most one CRL per CA
    s_entry_t *entries;          //  agency certificates, in the order added
    size_t size;                 //  entries in use
    size_t capacity;             //  entries allocated
};

//  What the verify callback collects while OpenSSL walks a chain.
typedef struct {
    STACK_OF (X509) * revoked;  //  certificates in the chain that a CRL lists
} s_walk_t;

rh_certstore_t *
rh_certstore_new (void)
{
    rh_certstore_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->cas = sk_X509_new_null ();
    self->crls = sk_X509_CRL_new_null ();
    if (!self->cas || !self->crls)
        rh_certstore_destroy (&self);
    return self;
}

void
rh_certstore_destroy (rh_certstore_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        rh_certstore_t *self = *self_p;
        sk_X509_pop_free (self->cas, X509_free);
        sk_X509_CRL_pop_free (self->crls, X509_CRL_free);
        for (size_t i = 0; i < self->size; i++)
            X509_free (self->entries [i].cert);
        free (self->entries);
        free (self);
        *self_p = NULL;
    }
}

//  Finds the CURVE transport key in subjectAltName (see rh_identity_curve_from_names).
static int
s_curve_key (X509 *cert, rh_identity_t *identity)
{
    GENERAL_NAMES *names = X509_get_ext_d2i (cert, NID_subject_alt_name, NULL, NULL);
    int rc = rh_identity_curve_from_names (names, identity) == RH_OK ? 0 : -1;
    GENERAL_NAMES_free (names);
    return rc;
}

//  Reads who the certificate names. Returns RH_OK or RH_E_MALFORMED.
static rh_rc_t
s_identity_from_cert (X509 *cert, rh_identity_t *identity)
{
    memset (identity, 0, sizeof *identity);
    if (rh_identity_from_name (X509_get_subject_name (cert), identity) != RH_OK)
        return RH_E_MALFORMED;
    if (X509_check_ca (cert) != 0)
        return RH_E_MALFORMED;  //  a CA certificate never speaks for an agency
    EVP_PKEY *key = X509_get0_pubkey (cert);
    size_t key_len = RH_PUBKEY_LEN;
    if (!key || EVP_PKEY_get_id (key) != EVP_PKEY_ED25519
        || EVP_PKEY_get_raw_public_key (key, identity->sign_key, &key_len) != 1
        || key_len != RH_PUBKEY_LEN)
        return RH_E_MALFORMED;
    if (s_curve_key (cert, identity) != 0)
        return RH_E_MALFORMED;
    unsigned int md_len = 0;
    if (X509_digest (cert, EVP_sha256 (), identity->cert_sha256, &md_len) != 1
        || md_len != RH_DIGEST_LEN)
        return RH_E_MALFORMED;
    return RH_OK;
}

static int
s_verify_cb (int ok, X509_STORE_CTX *ctx)
{
    if (ok)
        return 1;
    //  A revoked certificate is noted rather than refused: whether revocation matters depends on
    //  the time a signature was made, which the per-message check compares.
    if (X509_STORE_CTX_get_error (ctx) == X509_V_ERR_CERT_REVOKED) {
        s_walk_t *walk = X509_STORE_CTX_get_app_data (ctx);
        X509 *current = X509_STORE_CTX_get_current_cert (ctx);
        if (walk && current && X509_up_ref (current) == 1) {
            if (sk_X509_push (walk->revoked, current) <= 0) {
                X509_free (current);
                return 0;
            }
            return 1;
        }
    }
    return 0;
}

static rh_rc_t
s_map_verify_error (int error)
{
    switch (error) {
        case X509_V_ERR_UNABLE_TO_GET_CRL:
        case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
        case X509_V_ERR_CRL_SIGNATURE_FAILURE:
        case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
        case X509_V_ERR_CRL_NOT_YET_VALID:
        case X509_V_ERR_CRL_HAS_EXPIRED:
        case X509_V_ERR_ERROR_IN_CRL_LAST_UPDATE_FIELD:
        case X509_V_ERR_ERROR_IN_CRL_NEXT_UPDATE_FIELD:
        case X509_V_ERR_DIFFERENT_CRL_SCOPE:
        case X509_V_ERR_CRL_PATH_VALIDATION_ERROR:
            return RH_E_CRL;
        case X509_V_ERR_OUT_OF_MEM:
            return RH_E_NOMEM;
        default:
            return RH_E_CERT_UNKNOWN;
    }
}

//  Earliest time from which a revoked certificate must not be used.
static int64_t
s_revoked_from (rh_certstore_t *self, X509 *cert)
{
    int64_t from = INT64_MAX;
    for (int i = 0; i < sk_X509_CRL_num (self->crls); i++) {
        X509_REVOKED *entry = NULL;
        if (X509_CRL_get0_by_cert (sk_X509_CRL_value (self->crls, i), &entry, cert) != 1)
            continue;
        ASN1_ENUMERATED *reason = X509_REVOKED_get_ext_d2i (entry, NID_crl_reason, NULL, NULL);
        long code = reason ? ASN1_ENUMERATED_get (reason) : CRL_REASON_UNSPECIFIED;
        ASN1_ENUMERATED_free (reason);
        int64_t when = INT64_MIN;
        //  A compromised key may have signed anything, backdated: it is revoked for all time.
        //  So is one whose revocation date cannot be read.
        if (code != CRL_REASON_KEY_COMPROMISE && code != CRL_REASON_CA_COMPROMISE
            && rh_time_from_asn1 (X509_REVOKED_get0_revocationDate (entry), &when) != 0)
            when = INT64_MIN;
        if (when < from)
            from = when;
    }
    return from;
}

//  Verifies the entry's chain against the CAs and CRLs now loaded, ignoring time, and records
//  revocation dates and the chain's validity window.
static void
s_check_chain (rh_certstore_t *self, s_entry_t *entry)
{
    X509_STORE *store = X509_STORE_new ();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new ();
    s_walk_t walk = { sk_X509_new_null () };
    STACK_OF (X509) *chain = NULL;
    entry->chain_rc = RH_E_NOMEM;
    entry->revoked_from_ms = INT64_MAX;
    if (!store || !ctx || !walk.revoked)
        goto out;
    for (int i = 0; i < sk_X509_num (self->cas); i++)
        if (X509_STORE_add_cert (store, sk_X509_value (self->cas, i)) != 1)
            goto out;
    for (int i = 0; i < sk_X509_CRL_num (self->crls); i++)
        if (X509_STORE_add_crl (store, sk_X509_CRL_value (self->crls, i)) != 1)
            goto out;
    if (X509_STORE_CTX_init (ctx, store, entry->cert, NULL) != 1)
        goto out;
    X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param (ctx);
    X509_VERIFY_PARAM_set_flags (param, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL
                                            | X509_V_FLAG_NO_CHECK_TIME | X509_V_FLAG_X509_STRICT);
    X509_STORE_CTX_set_app_data (ctx, &walk);
    X509_STORE_CTX_set_verify_cb (ctx, s_verify_cb);
    if (X509_verify_cert (ctx) != 1) {
        entry->chain_rc = s_map_verify_error (X509_STORE_CTX_get_error (ctx));
        goto out;
    }
    chain = X509_STORE_CTX_get1_chain (ctx);
    if (!chain)
        goto out;
    entry->identity.not_before_ms = INT64_MIN;
    entry->identity.not_after_ms = INT64_MAX;
    for (int i = 0; i < sk_X509_num (chain); i++) {
        X509 *link = sk_X509_value (chain, i);
        int64_t before, after;
        if (rh_time_from_asn1 (X509_get0_notBefore (link), &before) != 0
            || rh_time_from_asn1 (X509_get0_notAfter (link), &after) != 0) {
            entry->chain_rc = RH_E_MALFORMED;
            goto out;
        }
        if (before > entry->identity.not_before_ms)
            entry->identity.not_before_ms = before;
        if (after < entry->identity.not_after_ms)
            entry->identity.not_after_ms = after;
    }
    for (int i = 0; i < sk_X509_num (walk.revoked); i++) {
        int64_t from = s_revoked_from (self, sk_X509_value (walk.revoked, i));
        if (from < entry->revoked_from_ms)
            entry->revoked_from_ms = from;
    }
    entry->chain_rc = RH_OK;
out:
    sk_X509_pop_free (chain, X509_free);
    sk_X509_pop_free (walk.revoked, X509_free);
    X509_STORE_CTX_free (ctx);
    X509_STORE_free (store);
    ERR_clear_error ();
}

static X509 *
s_read_pem_cert (const uint8_t *pem, size_t size)
{
    if (size > RH_MAX_PKI_FILE)
        return NULL;
    BIO *bio = BIO_new_mem_buf (pem, (int) size);
    X509 *cert = bio ? PEM_read_bio_X509 (bio, NULL, NULL, NULL) : NULL;
    BIO_free (bio);
    return cert;
}

rh_rc_t
rh_certstore_add_ca_pem (rh_certstore_t *self, const uint8_t *pem, size_t size)
{
    assert (self && pem);
    rh_rc_t rc = RH_E_TOO_LARGE;
    BIO *bio = NULL;
    X509 *cert = NULL;
    int added = 0;
    if (size > RH_MAX_PKI_FILE)
        goto out;
    rc = RH_E_NOMEM;
    if (!(bio = BIO_new_mem_buf (pem, (int) size)))
        goto out;
    while ((cert = PEM_read_bio_X509 (bio, NULL, NULL, NULL))) {
        rc = RH_E_CERT_UNKNOWN;
        if (X509_check_ca (cert) == 0)
            goto out;  //  not a CA certificate
        rc = RH_E_NOMEM;
        if (sk_X509_push (self->cas, cert) <= 0)
            goto out;
        cert = NULL;
        added++;
    }
    rc = added ? RH_OK : RH_E_MALFORMED;
out:
    X509_free (cert);
    BIO_free (bio);
    ERR_clear_error ();
    return rc;
}

rh_rc_t
rh_certstore_add_ca (rh_certstore_t *self, const char *path)
{
    assert (self && path);
    uint8_t *pem = NULL;
    size_t size = 0;
    if (rh_file_read (path, RH_MAX_PKI_FILE, &pem, &size) != 0)
        return RH_E_IO;
    rh_rc_t rc = rh_certstore_add_ca_pem (self, pem, size);
    free (pem);
    return rc;
}

static int64_t
s_crl_time (const ASN1_TIME *when, int64_t fallback)
{
    int64_t ms;
    return when && rh_time_from_asn1 (when, &ms) == 0 ? ms : fallback;
}

rh_rc_t
rh_certstore_add_crl_pem (rh_certstore_t *self, const uint8_t *pem, size_t size)
{
    assert (self && pem);
    BIO *bio = NULL;
    X509_CRL *crl = NULL;
    rh_rc_t rc = RH_E_CRL;
    if (size > RH_MAX_PKI_FILE)
        goto out;
    if (!(bio = BIO_new_mem_buf (pem, (int) size))
        || !(crl = PEM_read_bio_X509_CRL (bio, NULL, NULL, NULL)))
        goto out;
    //  The CRL must be signed by one of our CAs, and must not be older than the one it replaces
    //  (an old CRL would quietly un-revoke agencies).
    X509 *issuer = NULL;
    for (int i = 0; i < sk_X509_num (self->cas) && !issuer; i++) {
        X509 *ca = sk_X509_value (self->cas, i);
        if (X509_NAME_cmp (X509_CRL_get_issuer (crl), X509_get_subject_name (ca)) == 0
            && X509_CRL_verify (crl, X509_get0_pubkey (ca)) == 1)
            issuer = ca;
    }
    if (!issuer || !X509_CRL_get0_nextUpdate (crl))
        goto out;
    int64_t this_update = s_crl_time (X509_CRL_get0_lastUpdate (crl), -1);
    if (this_update < 0)
        goto out;
    int replace = -1;
    for (int i = 0; i < sk_X509_CRL_num (self->crls); i++) {
        X509_CRL *old = sk_X509_CRL_value (self->crls, i);
        if (X509_NAME_cmp (X509_CRL_get_issuer (old), X509_CRL_get_issuer (crl)) != 0)
            continue;
        if (s_crl_time (X509_CRL_get0_lastUpdate (old), 0) > this_update)
            goto out;
        replace = i;
    }
    rc = RH_E_NOMEM;
    if (replace >= 0) {
        X509_CRL_free (sk_X509_CRL_value (self->crls, replace));
        sk_X509_CRL_set (self->crls, replace, crl);
    }
    else if (sk_X509_CRL_push (self->crls, crl) <= 0)
        goto out;
    crl = NULL;
    for (size_t i = 0; i < self->size; i++)
        s_check_chain (self, &self->entries [i]);
    rc = RH_OK;
out:
    X509_CRL_free (crl);
    BIO_free (bio);
    ERR_clear_error ();
    return rc;
}

rh_rc_t
rh_certstore_add_crl (rh_certstore_t *self, const char *path)
{
    assert (self && path);
    uint8_t *pem = NULL;
    size_t size = 0;
    if (rh_file_read (path, RH_MAX_PKI_FILE, &pem, &size) != 0)
        return RH_E_IO;
    rh_rc_t rc = rh_certstore_add_crl_pem (self, pem, size);
    free (pem);
    return rc;
}

rh_rc_t
rh_certstore_add_cert_pem (rh_certstore_t *self, const uint8_t *pem, size_t size)
{
    assert (self && pem);
    X509 *cert = s_read_pem_cert (pem, size);
    rh_rc_t rc = RH_E_MALFORMED;
    if (!cert)
        goto out;
    s_entry_t entry = { .cert = cert };
    rc = s_identity_from_cert (cert, &entry.identity);
    if (rc != RH_OK)
        goto out;
    for (size_t i = 0; i < self->size; i++)
        if (memcmp (self->entries [i].identity.cert_sha256, entry.identity.cert_sha256,
                    RH_DIGEST_LEN)
            == 0) {
            rc = self->entries [i].chain_rc;  //  already held
            goto out;
        }
    s_check_chain (self, &entry);
    if (entry.chain_rc != RH_OK) {
        rc = entry.chain_rc;
        goto out;
    }
    rc = RH_E_TOO_LARGE;
    if (self->size >= RH_MAX_AGENCIES)
        goto out;
    if (self->size == self->capacity) {
        size_t capacity = self->capacity ? self->capacity * 2 : 16;
        s_entry_t *grown = realloc (self->entries, capacity * sizeof *grown);
        rc = RH_E_NOMEM;
        if (!grown)
            goto out;
        self->entries = grown;
        self->capacity = capacity;
    }
    self->entries [self->size++] = entry;
    cert = NULL;
    rc = RH_OK;
out:
    X509_free (cert);
    ERR_clear_error ();
    return rc;
}

rh_rc_t
rh_certstore_add_cert (rh_certstore_t *self, const char *path)
{
    assert (self && path);
    uint8_t *pem = NULL;
    size_t size = 0;
    if (rh_file_read (path, RH_MAX_PKI_FILE, &pem, &size) != 0)
        return RH_E_IO;
    rh_rc_t rc = rh_certstore_add_cert_pem (self, pem, size);
    free (pem);
    return rc;
}

int
rh_certstore_each_file (const char *dir, void (*found) (const char *path, void *arg), void *arg)
{
    assert (dir && found);
    DIR *folder = opendir (dir);
    if (!folder)
        return -1;
    struct dirent *item;
    char path [PATH_MAX];
    while ((item = readdir (folder))) {
        if (!rh_envelope_valid_id (item->d_name))
            continue;
        if (rh_file_path (path, sizeof path, "%s/%s/cert.pem", dir, item->d_name) == 0
            && rh_file_exists (path))
            found (path, arg);
        char archive [PATH_MAX];
        if (rh_file_path (archive, sizeof archive, "%s/%s/archive", dir, item->d_name) != 0)
            continue;
        DIR *old = opendir (archive);
        struct dirent *kept;
        while (old && (kept = readdir (old))) {
            size_t len = strlen (kept->d_name);
            if (len < 5 || strcmp (kept->d_name + len - 4, ".pem") != 0)
                continue;
            if (rh_file_path (path, sizeof path, "%s/%s", archive, kept->d_name) == 0)
                found (path, arg);
        }
        if (old)
            closedir (old);
    }
    closedir (folder);
    return 0;
}

static void
s_add_logged (const char *path, void *arg)
{
    rh_certstore_t *self = arg;
    rh_rc_t rc = rh_certstore_add_cert (self, path);
    if (rc != RH_OK)
        rh_log_warn ("certstore", "skipping certificate %s: %s", path, rh_rc_text (rc));
}

rh_certstore_t *
rh_certstore_load_dir (const char *dir)
{
    assert (dir);
    rh_certstore_t *self = rh_certstore_new ();
    char path [PATH_MAX];
    rh_rc_t rc;
    if (!self)
        return NULL;
    rh_file_path (path, sizeof path, "%s/ca.pem", dir);
    if ((rc = rh_certstore_add_ca (self, path)) != RH_OK) {
        rh_log_error ("certstore", "cannot load CA %s: %s", path, rh_rc_text (rc));
        goto fail;
    }
    rh_file_path (path, sizeof path, "%s/crl.pem", dir);
    if ((rc = rh_certstore_add_crl (self, path)) != RH_OK) {
        rh_log_error ("certstore", "cannot load CRL %s: %s", path, rh_rc_text (rc));
        goto fail;
    }
    if (rh_certstore_each_file (dir, s_add_logged, self) != 0)
        goto fail;
    return self;
fail:
    rh_certstore_destroy (&self);
    return NULL;
}

static rh_rc_t
s_status (rh_certstore_t *self, const s_entry_t *entry, int64_t at_ms)
{
    if (entry->chain_rc != RH_OK)
        return entry->chain_rc;
    int64_t next_update = rh_certstore_crl_next_update (self);
    if (next_update == 0)
        return RH_E_CRL;  //  without a CRL nothing can be shown unrevoked
    if (at_ms >= entry->revoked_from_ms)
        return RH_E_REVOKED;
    if (at_ms < entry->identity.not_before_ms)
        return RH_E_NOT_YET_VALID;
    if (at_ms > entry->identity.not_after_ms)
        return RH_E_EXPIRED;
    if (at_ms > next_update)
        return RH_E_CRL;  //  the CA stopped vouching for this CRL
    return RH_OK;
}

rh_rc_t
rh_certstore_signer (rh_certstore_t *self, const char *agency_id,
                     const uint8_t fingerprint [RH_DIGEST_LEN], int64_t at_ms,
                     const rh_identity_t **identity)
{
    assert (self && agency_id && fingerprint && identity);
    for (size_t i = 0; i < self->size; i++) {
        const s_entry_t *entry = &self->entries [i];
        if (CRYPTO_memcmp (entry->identity.cert_sha256, fingerprint, RH_DIGEST_LEN) != 0)
            continue;
        if (strcmp (entry->identity.agency_id, agency_id) != 0)
            return RH_E_CERT_MISMATCH;
        rh_rc_t rc = s_status (self, entry, at_ms);
        if (rc == RH_OK)
            *identity = &entry->identity;
        return rc;
    }
    return RH_E_CERT_UNKNOWN;
}

rh_rc_t
rh_certstore_by_curve (rh_certstore_t *self, const uint8_t curve_key [RH_PUBKEY_LEN], int64_t at_ms,
                       const rh_identity_t **identity)
{
    assert (self && curve_key && identity);
    rh_rc_t rc = RH_E_CERT_UNKNOWN;
    for (size_t i = 0; i < self->size; i++) {
        const s_entry_t *entry = &self->entries [i];
        if (!entry->identity.has_curve_key
            || CRYPTO_memcmp (entry->identity.curve_key, curve_key, RH_PUBKEY_LEN) != 0)
            continue;
        rc = s_status (self, entry, at_ms);
        if (rc == RH_OK) {
            *identity = &entry->identity;
            break;
        }
    }
    return rc;
}

rh_rc_t
rh_certstore_verify (rh_certstore_t *self, rh_envelope_t *envelope, int64_t at_ms)
{
    //  certs/ finds the key; proto/ checks the bytes. proto knows no PKI.
    assert (self && envelope);
    const uint8_t *fingerprint = rh_envelope_signer_fingerprint (envelope);
    if (!fingerprint)
        return RH_E_MALFORMED;  //  neither signed nor decoded: nothing to look up
    const rh_identity_t *signer = NULL;
    rh_rc_t rc =
        rh_certstore_signer (self, rh_envelope_sender (envelope), fingerprint, at_ms, &signer);
    if (rc != RH_OK)
        return rc;  //  unknown, mismatched, revoked, expired or not yet valid at at_ms
    return rh_envelope_verify_key (envelope, signer->sign_key);
}

const rh_identity_t *
rh_certstore_enrolled (rh_certstore_t *self, const char *agency, int64_t at_ms)
{
    assert (self && agency);
    for (size_t i = 0; i < rh_certstore_size (self); i++) {
        const rh_identity_t *id = rh_certstore_identity (self, i);
        if (strcmp (id->agency_id, agency) == 0 && rh_certstore_status (self, i, at_ms) == RH_OK)
            return id;
    }
    return NULL;
}

rh_rc_t
rh_certstore_receive (rh_certstore_t *self, const uint8_t *data, size_t size, int64_t at_ms,
                      rh_envelope_t **envelope)
{
    assert (self && envelope);
    rh_rc_t rc = rh_envelope_decode (data, size, envelope);
    if (rc == RH_OK) {
        if ((rc = rh_certstore_verify (self, *envelope, at_ms)) != RH_OK)
            rh_envelope_destroy (envelope);
        return rc;
    }
    if (rc != RH_E_COMMITMENT)
        return rc;
    //  A field does not match its commitment. If the signed header does not verify either, the
    //  header itself was altered: say so, rather than blame the field it now mismatches.
    rh_envelope_t *header = NULL;
    if (rh_envelope_decode_header (data, size, &header) == RH_OK) {
        rh_rc_t signed_rc = rh_certstore_verify (self, header, at_ms);
        if (signed_rc != RH_OK)
            rc = signed_rc;
    }
    rh_envelope_destroy (&header);
    return rc;
}

rh_rc_t
rh_certstore_verify_checkpoint (rh_certstore_t *self, const rh_checkpoint_t *checkpoint)
{
    assert (self && checkpoint);
    for (size_t i = 0; i < self->size; i++) {
        const s_entry_t *entry = &self->entries [i];
        if (CRYPTO_memcmp (entry->identity.cert_sha256, checkpoint->signer_sha256, RH_DIGEST_LEN)
                != 0
            || strcmp (entry->identity.type, "BROKER") != 0
            || s_status (self, entry, checkpoint->time_ms) != RH_OK)
            continue;
        return rh_merkle_checkpoint_verify_key (checkpoint, entry->identity.sign_key);
    }
    return RH_E_CERT_UNKNOWN;
}

size_t
rh_certstore_size (rh_certstore_t *self)
{
    assert (self);
    return self->size;
}

const rh_identity_t *
rh_certstore_identity (rh_certstore_t *self, size_t index)
{
    assert (self);
    return index < self->size ? &self->entries [index].identity : NULL;
}

rh_rc_t
rh_certstore_status (rh_certstore_t *self, size_t index, int64_t at_ms)
{
    assert (self);
    if (index >= self->size)
        return RH_E_CERT_UNKNOWN;
    return s_status (self, &self->entries [index], at_ms);
}

int64_t
rh_certstore_crl_next_update (rh_certstore_t *self)
{
    assert (self);
    int64_t earliest = 0;
    for (int i = 0; i < sk_X509_CRL_num (self->crls); i++) {
        int64_t next = s_crl_time (X509_CRL_get0_nextUpdate (sk_X509_CRL_value (self->crls, i)), 0);
        if (earliest == 0 || next < earliest)
            earliest = next;
    }
    return earliest;
}

//  Lowers *earliest to when if when lies after at_ms.
static void
s_sooner (int64_t when, int64_t at_ms, int64_t *earliest)
{
    if (when > at_ms && when < *earliest)
        *earliest = when;
}

int64_t
rh_certstore_next_change (rh_certstore_t *self, int64_t at_ms)
{
    assert (self);
    int64_t earliest = INT64_MAX;
    for (size_t i = 0; i < self->size; i++) {
        const s_entry_t *entry = &self->entries [i];
        if (entry->chain_rc != RH_OK)
            continue;  //  refused whatever the time
        s_sooner (entry->revoked_from_ms, at_ms, &earliest);
        s_sooner (entry->identity.not_before_ms, at_ms, &earliest);
        //  Valid through not_after (s_status refuses only after it).
        if (entry->identity.not_after_ms < INT64_MAX)
            s_sooner (entry->identity.not_after_ms + 1, at_ms, &earliest);
    }
    int64_t next_update = rh_certstore_crl_next_update (self);
    if (next_update > 0)
        s_sooner (next_update + 1, at_ms, &earliest);
    return earliest;
}
