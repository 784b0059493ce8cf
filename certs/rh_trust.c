/*  =========================================================================
    rh_trust - the newest trust bundle a party has verified
    =========================================================================
*/
#include "rh_certs.h"

#define RH_TRUST_LOG "trust"

struct _rh_trust_t {
    X509 *ca;               //  the board CA given at enrolment
    char *keep_path;        //  where adopted bundles are kept, or NULL
    rh_bundle_t *bundle;    //  in force, or NULL
    rh_certstore_t *store;  //  made from the bundle, or from the fallback folder
    bool starting;          //  offering the kept bundle itself: no need to write it again
};

rh_trust_t *
rh_trust_new (const char *ca_path, const char *keep_path, const char *fallback_dir)
{
    assert (ca_path);
    rh_trust_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    if (!(self->ca = rh_ca_read_cert (ca_path))) {
        rh_log_error (RH_TRUST_LOG, "cannot read the board CA %s", ca_path);
        goto fail;
    }
    if (keep_path && !(self->keep_path = strdup (keep_path)))
        goto fail;
    if (keep_path && rh_file_exists (keep_path)) {
        bool adopted = false;
        self->starting = true;
        rh_rc_t rc = rh_trust_offer_file (self, keep_path, &adopted);
        self->starting = false;
        if (rc != RH_OK) {
            rh_log_error (RH_TRUST_LOG,
                          "the trust bundle kept in %s does not open (%s): refusing to fall "
                          "back to older trust; restore it or remove it to start from the PKI "
                          "folder",
                          keep_path, rh_rc_text (rc));
            goto fail;
        }
    }
    if (!self->store && fallback_dir && !(self->store = rh_certstore_load_dir (fallback_dir)))
        goto fail;
    return self;
fail:
    rh_trust_destroy (&self);
    return NULL;
}

void
rh_trust_destroy (rh_trust_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        rh_trust_t *self = *self_p;
        rh_certstore_destroy (&self->store);
        rh_bundle_destroy (&self->bundle);
        X509_free (self->ca);
        free (self->keep_path);
        free (self);
        *self_p = NULL;
    }
}

//  Takes an opened bundle (ownership) if it is newer than the one held: see rh_trust_offer.
static rh_rc_t
s_adopt (rh_trust_t *self, rh_bundle_t **bundle_p, bool *adopted)
{
    rh_bundle_t *bundle = *bundle_p;
    *bundle_p = NULL;
    uint64_t held = rh_trust_version (self);
    if (rh_bundle_version (bundle) <= held) {
        rh_rc_t rc = rh_bundle_version (bundle) == held ? RH_OK : RH_E_REPLAY;
        rh_bundle_destroy (&bundle);
        return rc;
    }
    rh_certstore_t *store = rh_bundle_certstore (bundle, self->ca);
    if (!store) {
        rh_bundle_destroy (&bundle);
        return RH_E_CRL;
    }
    //  Kept before it is used: a restart must never come back to older trust.
    size_t signed_size = 0;
    const uint8_t *signed_bytes = rh_bundle_signed (bundle, &signed_size);
    if (self->keep_path && !self->starting
        && rh_file_write_atomic (self->keep_path, signed_bytes, signed_size, 0644) != 0) {
        rh_log_error (RH_TRUST_LOG, "cannot keep the trust bundle in %s: %s", self->keep_path,
                      strerror (errno));
        rh_certstore_destroy (&store);
        rh_bundle_destroy (&bundle);
        return RH_E_IO;
    }
    rh_certstore_destroy (&self->store);
    rh_bundle_destroy (&self->bundle);
    self->store = store;
    self->bundle = bundle;
    *adopted = true;
    return RH_OK;
}

rh_rc_t
rh_trust_offer (rh_trust_t *self, const uint8_t *data, size_t size, bool *adopted)
{
    assert (self && adopted);
    *adopted = false;
    rh_bundle_t *bundle = NULL;
    rh_rc_t rc = rh_bundle_open (self->ca, data, size, &bundle);
    return rc == RH_OK ? s_adopt (self, &bundle, adopted) : rc;
}

rh_rc_t
rh_trust_offer_file (rh_trust_t *self, const char *path, bool *adopted)
{
    assert (self && path && adopted);
    *adopted = false;
    rh_bundle_t *bundle = NULL;
    rh_rc_t rc = rh_bundle_load (self->ca, path, &bundle);
    return rc == RH_OK ? s_adopt (self, &bundle, adopted) : rc;
}

const rh_bundle_t *
rh_trust_bundle (const rh_trust_t *self)
{
    assert (self);
    return self->bundle;
}

uint64_t
rh_trust_version (const rh_trust_t *self)
{
    assert (self);
    return self->bundle ? rh_bundle_version (self->bundle) : 0;
}

rh_certstore_t *
rh_trust_store (rh_trust_t *self)
{
    assert (self);
    return self->store;
}

bool
rh_trust_expired (const rh_trust_t *self, int64_t now_ms)
{
    assert (self);
    return self->bundle && rh_bundle_expired (self->bundle, now_ms);
}
