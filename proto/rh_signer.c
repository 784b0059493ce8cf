/*  =========================================================================
    rh_signer - an agency's Ed25519 signing key and the certificate naming it
    =========================================================================
*/
#include "rh_proto.h"

struct _rh_signer_t {
    uint8_t secret [crypto_sign_SECRETKEYBYTES];  //  libsodium form: seed then public key
    char agency_id [RH_MAX_ID + 1];               //  certificate subject CN
    uint8_t fingerprint [RH_DIGEST_LEN];          //  SHA-256 of the certificate DER
};

static EVP_PKEY *
s_read_key (const char *path)
{
    uint8_t *pem = NULL;
    size_t size = 0;
    if (rh_file_read_secret (path, RH_MAX_PKI_FILE, &pem, &size) != 0) {
        rh_log_error ("signer", "cannot read key %s: %s", path,
                      errno == EPERM ? "mode is wider than 0600" : strerror (errno));
        return NULL;
    }
    BIO *bio = BIO_new_mem_buf (pem, (int) size);
    EVP_PKEY *key = bio ? PEM_read_bio_PrivateKey (bio, NULL, NULL, NULL) : NULL;
    BIO_free (bio);
    OPENSSL_cleanse (pem, size);
    free (pem);
    if (!key)
        rh_log_error ("signer", "key %s does not parse", path);
    return key;
}

rh_signer_t *
rh_signer_new (const char *key_path, const char *cert_path)
{
    assert (key_path && cert_path);
    rh_signer_t *self = calloc (1, sizeof *self);
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    uint8_t *pem = NULL, seed [32], public_key [32];
    size_t size = 0, length;
    bool ok = false;
    if (!self)
        return NULL;
    if (!(key = s_read_key (key_path)))
        goto out;
    if (rh_file_read (cert_path, RH_MAX_PKI_FILE, &pem, &size) != 0) {
        rh_log_error ("signer", "cannot read certificate %s: %s", cert_path, strerror (errno));
        goto out;
    }
    BIO *bio = BIO_new_mem_buf (pem, (int) size);
    cert = bio ? PEM_read_bio_X509 (bio, NULL, NULL, NULL) : NULL;
    BIO_free (bio);
    if (!cert) {
        rh_log_error ("signer", "certificate %s does not parse", cert_path);
        goto out;
    }
    length = sizeof seed;
    if (EVP_PKEY_get_id (key) != EVP_PKEY_ED25519
        || EVP_PKEY_get_raw_private_key (key, seed, &length) != 1 || length != sizeof seed) {
        rh_log_error ("signer", "key %s is not an Ed25519 key", key_path);
        goto out;
    }
    crypto_sign_seed_keypair (public_key, self->secret, seed);
    EVP_PKEY *cert_key = X509_get0_pubkey (cert);
    uint8_t cert_public [32];
    length = sizeof cert_public;
    if (!cert_key || EVP_PKEY_get_raw_public_key (cert_key, cert_public, &length) != 1
        || length != sizeof cert_public
        || CRYPTO_memcmp (cert_public, public_key, sizeof public_key) != 0) {
        rh_log_error ("signer", "key %s does not match certificate %s", key_path, cert_path);
        goto out;
    }
    X509_NAME *name = X509_get_subject_name (cert);
    int got =
        X509_NAME_get_text_by_NID (name, NID_commonName, self->agency_id, sizeof self->agency_id);
    unsigned int md_len = 0;
    if (got <= 0 || !rh_envelope_valid_id (self->agency_id)
        || X509_digest (cert, EVP_sha256 (), self->fingerprint, &md_len) != 1
        || md_len != RH_DIGEST_LEN) {
        rh_log_error ("signer", "certificate %s does not name an agency", cert_path);
        goto out;
    }
    ok = true;
out:
    OPENSSL_cleanse (seed, sizeof seed);
    EVP_PKEY_free (key);
    X509_free (cert);
    free (pem);
    ERR_clear_error ();
    if (!ok)
        rh_signer_destroy (&self);
    return self;
}

rh_signer_t *
rh_signer_new_unsent (const char *agency_id)
{
    assert (agency_id);
    if (!rh_envelope_valid_id (agency_id))
        return NULL;
    rh_signer_t *self = calloc (1, sizeof *self);
    uint8_t public_key [crypto_sign_PUBLICKEYBYTES];
    if (self && crypto_sign_keypair (public_key, self->secret) != 0)
        rh_signer_destroy (&self);
    if (self)
        snprintf (self->agency_id, sizeof self->agency_id, "%s", agency_id);
    return self;
}

rh_signer_t *
rh_signer_load (const char *agency_dir)
{
    assert (agency_dir);
    char key_path [PATH_MAX], cert_path [PATH_MAX];
    rh_file_path (key_path, sizeof key_path, "%s/key.pem", agency_dir);
    rh_file_path (cert_path, sizeof cert_path, "%s/cert.pem", agency_dir);
    return rh_signer_new (key_path, cert_path);
}

void
rh_signer_destroy (rh_signer_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        rh_signer_t *self = *self_p;
        OPENSSL_cleanse (self->secret, sizeof self->secret);
        free (self);
        *self_p = NULL;
    }
}

int
rh_signer_sign (rh_signer_t *self, const uint8_t *data, size_t size, uint8_t signature [RH_SIG_LEN])
{
    assert (self && (data || size == 0) && signature);
    return crypto_sign_detached (signature, NULL, data, size, self->secret) == 0 ? 0 : -1;
}

void
rh_signer_copy_secret (rh_signer_t *self, uint8_t secret [RH_SECRET_LEN])
{
    assert (self && secret);
    static_assert (sizeof self->secret == RH_SECRET_LEN, "libsodium's secret is 64 bytes");
    memcpy (secret, self->secret, sizeof self->secret);
}

const char *
rh_signer_agency (rh_signer_t *self)
{
    assert (self);
    return self->agency_id;
}

const uint8_t *
rh_signer_fingerprint (rh_signer_t *self)
{
    assert (self);
    return self->fingerprint;
}

const uint8_t *
rh_signer_public_key (rh_signer_t *self)
{
    assert (self);
    return self->secret + 32;  //  libsodium's secret key ends with the public key
}
