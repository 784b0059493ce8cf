/*  =========================================================================
    rh_bundle - the board's trust bundle
    =========================================================================
*/
#include "rh_certs.h"
#include "rhannu.pb-c.h"

#define RH_BUNDLE_LOG "bundle"

struct _rh_bundle_t {
    uint8_t *signed_bytes;  //  the SignedBundle exactly as opened
    size_t signed_size;
    Rhannu__V1__TrustBundle *content;  //  decoded from the signed bytes' bundle field
};

//  --- Making ------------------------------------------------------------------------------------

//  What a bundle being made holds, all owned here.
typedef struct {
    rh_certstore_t *check;  //  certificates are added here first: only those that chain go in
    uint8_t **pems;
    size_t *pem_sizes;
    size_t pem_count;
    Rhannu__V1__FrontDoorEntry *doors;
    Rhannu__V1__FrontDoorEntry **door_ptrs;
    size_t door_count;
    Rhannu__V1__AgreementRef *refs;
    Rhannu__V1__AgreementRef **ref_ptrs;
    uint8_t (*ref_hashes) [RH_DIGEST_LEN];
    char (*ref_ids) [RH_MAX_ID + 1];
    size_t ref_count;
} s_draft_t;

static void
s_draft_free (s_draft_t *draft)
{
    for (size_t i = 0; i < draft->pem_count; i++)
        free (draft->pems [i]);
    free (draft->pems);
    free (draft->pem_sizes);
    free (draft->doors);
    free (draft->door_ptrs);
    free (draft->refs);
    free (draft->ref_ptrs);
    free (draft->ref_hashes);
    free (draft->ref_ids);
    rh_certstore_destroy (&draft->check);
}

//  Adds the certificate file at path if it chains to the CA under the CRL.
static void
s_draft_cert (s_draft_t *draft, const char *path)
{
    uint8_t *pem = NULL;
    size_t size = 0;
    if (draft->pem_count >= RH_MAX_BUNDLE_CERTS) {
        rh_log_warn (RH_BUNDLE_LOG, "more than %d certificates: %s left out", RH_MAX_BUNDLE_CERTS,
                     path);
        return;
    }
    if (rh_file_read (path, RH_MAX_PKI_FILE, &pem, &size) != 0) {
        rh_log_warn (RH_BUNDLE_LOG, "cannot read %s: left out", path);
        return;
    }
    size_t before = rh_certstore_size (draft->check);
    rh_rc_t rc = rh_certstore_add_cert_pem (draft->check, pem, size);
    if (rc != RH_OK || rh_certstore_size (draft->check) == before) {
        if (rc != RH_OK)
            rh_log_warn (RH_BUNDLE_LOG, "%s does not chain (%s): left out", path, rh_rc_text (rc));
        free (pem);  //  refused, or the same certificate twice
        return;
    }
    draft->pems [draft->pem_count] = pem;
    draft->pem_sizes [draft->pem_count++] = size;
}

static void
s_draft_found (const char *path, void *arg)
{
    s_draft_cert (arg, path);
}

//  Every agency's certificate and its archive, as rh_certstore_load_dir reads them.
static int
s_draft_certs (s_draft_t *draft, const char *dir)
{
    if (rh_certstore_each_file (dir, s_draft_found, draft) == 0)
        return 0;
    rh_log_error (RH_BUNDLE_LOG, "cannot read %s: %s", dir, strerror (errno));
    return -1;
}

//  The front door of each local authority: its LA_FRONT_DOOR certificate in force now. Two in
//  force for one LA (a rotation overlap) name the same agency; two agencies for one LA is a
//  board error, reported and left out rather than guessed.
static int
s_draft_doors (s_draft_t *draft, int64_t now_ms)
{
    size_t count = rh_certstore_size (draft->check);
    draft->doors = calloc (count ? count : 1, sizeof *draft->doors);
    draft->door_ptrs = calloc (count ? count : 1, sizeof *draft->door_ptrs);
    if (!draft->doors || !draft->door_ptrs)
        return -1;
    for (size_t i = 0; i < count; i++) {
        const rh_identity_t *identity = rh_certstore_identity (draft->check, i);
        if (strcmp (identity->type, "LA_FRONT_DOOR") != 0 || !*identity->la
            || rh_certstore_status (draft->check, i, now_ms) != RH_OK)
            continue;
        bool seen = false;
        for (size_t d = 0; d < draft->door_count && !seen; d++) {
            if (strcmp (draft->doors [d].la, identity->la) != 0)
                continue;
            seen = true;
            if (strcmp (draft->doors [d].agency_id, identity->agency_id) != 0)
                rh_log_warn (RH_BUNDLE_LOG, "LA %s has two front doors (%s, %s): the first stays",
                             identity->la, draft->doors [d].agency_id, identity->agency_id);
        }
        if (seen)
            continue;
        Rhannu__V1__FrontDoorEntry *door = &draft->doors [draft->door_count];
        rhannu__v1__front_door_entry__init (door);
        door->la = (char *) identity->la;  //  borrowed from draft->check
        door->agency_id = (char *) identity->agency_id;
        draft->door_ptrs [draft->door_count++] = door;
    }
    return 0;
}

//  Every agreement file in dir (*.yaml) whose CA signature (*.yaml.sig) verifies and which
//  parses; one that does not is reported and left out, as the broker would refuse it.
static int
s_draft_agreements (s_draft_t *draft, const char *dir, X509 *ca)
{
    size_t capacity = RH_MAX_REPEATED;
    draft->refs = calloc (capacity, sizeof *draft->refs);
    draft->ref_ptrs = calloc (capacity, sizeof *draft->ref_ptrs);
    draft->ref_hashes = calloc (capacity, sizeof *draft->ref_hashes);
    draft->ref_ids = calloc (capacity, sizeof *draft->ref_ids);
    if (!draft->refs || !draft->ref_ptrs || !draft->ref_hashes || !draft->ref_ids)
        return -1;
    if (!dir)
        return 0;
    DIR *folder = opendir (dir);
    if (!folder) {
        rh_log_error (RH_BUNDLE_LOG, "cannot read agreements %s: %s", dir, strerror (errno));
        return -1;
    }
    struct dirent *item;
    while ((item = readdir (folder)) && draft->ref_count < capacity) {
        size_t len = strlen (item->d_name);
        if (len < 6 || strcmp (item->d_name + len - 5, ".yaml") != 0)
            continue;
        char path [PATH_MAX], sig_path [PATH_MAX], errors [1024] = "";
        uint8_t *text = NULL, *sig = NULL;
        size_t text_size = 0, sig_size = 0;
        rh_agreement_t *agreement = NULL;
        if (rh_file_path (path, sizeof path, "%s/%s", dir, item->d_name) != 0
            || rh_file_path (sig_path, sizeof sig_path, "%s.sig", path) != 0
            || rh_file_read (path, RH_MAX_AGREEMENT_FILE, &text, &text_size) != 0
            || rh_file_read (sig_path, RH_SIG_LEN + 1, &sig, &sig_size) != 0)
            rh_log_warn (RH_BUNDLE_LOG, "agreement %s or its signature cannot be read: left out",
                         item->d_name);
        else if (rh_ca_verify_file (ca, text, text_size, sig, sig_size) != RH_OK)
            rh_log_warn (RH_BUNDLE_LOG, "agreement %s: CA signature does not verify: left out",
                         item->d_name);
        else if (!(agreement = rh_agreement_parse ((const char *) text, text_size, item->d_name,
                                                   errors, sizeof errors)))
            rh_log_warn (RH_BUNDLE_LOG, "agreement %s does not parse: left out", item->d_name);
        else {
            size_t i = draft->ref_count++;
            Rhannu__V1__AgreementRef *ref = &draft->refs [i];
            rhannu__v1__agreement_ref__init (ref);
            snprintf (draft->ref_ids [i], sizeof draft->ref_ids [i], "%s",
                      rh_agreement_id (agreement));
            rh_sha256 (draft->ref_hashes [i], text, text_size);
            ref->agreement_id = draft->ref_ids [i];
            ref->version = rh_agreement_version (agreement);
            ref->sha256.data = draft->ref_hashes [i];
            ref->sha256.len = RH_DIGEST_LEN;
            draft->ref_ptrs [i] = ref;
        }
        rh_agreement_destroy (&agreement);
        free (text);
        free (sig);
    }
    closedir (folder);
    return 0;
}

//  The CA certificate's fingerprint (SHA-256 of its DER).
static int
s_ca_sha256 (X509 *ca, uint8_t digest [RH_DIGEST_LEN])
{
    unsigned char *der = NULL;
    int size = i2d_X509 (ca, &der);
    if (size <= 0)
        return -1;
    rh_sha256 (digest, der, (size_t) size);
    OPENSSL_free (der);
    return 0;
}

//  The version the next bundle takes: one more than both the bundle in place and the counter
//  the board keeps beside it (DIR/RH_BUNDLE_SERIAL), so that restoring an older bundle file
//  can never make the board hand out a second, different bundle under a number agents hold.
//  A bundle in place that cannot be opened stops the board rather than guess.
static int
s_next_version (const char *dir, const char *path, X509 *ca, uint64_t *version)
{
    *version = 1;
    char serial_path [PATH_MAX];
    rh_file_path (serial_path, sizeof serial_path, "%s/%s", dir, RH_BUNDLE_SERIAL);
    uint8_t *text = NULL;
    size_t size = 0;
    if (rh_file_exists (serial_path)) {
        char buffer [32], *end = NULL;
        if (rh_file_read (serial_path, sizeof buffer - 1, &text, &size) != 0) {
            rh_log_error (RH_BUNDLE_LOG, "cannot read %s: not numbering a new bundle", serial_path);
            return -1;
        }
        memcpy (buffer, text, size);
        buffer [size] = 0;
        free (text);
        unsigned long long last = strtoull (buffer, &end, 10);
        if (end == buffer || (*end && *end != '\n')) {
            rh_log_error (RH_BUNDLE_LOG, "%s is damaged: not numbering a new bundle", serial_path);
            return -1;
        }
        *version = (uint64_t) last + 1;
    }
    if (!rh_file_exists (path))
        return 0;
    rh_bundle_t *previous = NULL;
    rh_rc_t rc = rh_bundle_load (ca, path, &previous);
    if (rc != RH_OK) {
        rh_log_error (RH_BUNDLE_LOG,
                      "the bundle in place (%s) does not open (%s): not numbering a new one; "
                      "restore it from a backup",
                      path, rh_rc_text (rc));
        return -1;
    }
    if (rh_bundle_version (previous) + 1 > *version)
        *version = rh_bundle_version (previous) + 1;
    rh_bundle_destroy (&previous);
    return 0;
}

int
rh_bundle_make (const char *dir, const char *agreements_dir, int64_t expires_ms, uint64_t *version)
{
    assert (dir);
    s_draft_t draft = { 0 };
    X509 *ca = NULL;
    uint8_t *crl = NULL, *content = NULL, *out = NULL;
    size_t crl_size = 0;
    int rc = -1;
    char path [PATH_MAX], bundle_path [PATH_MAX];
    uint8_t ca_digest [RH_DIGEST_LEN], signature [RH_SIG_LEN];
    int64_t now = rh_time_now_ms ();
    rh_file_path (bundle_path, sizeof bundle_path, "%s/%s", dir, RH_BUNDLE_FILE);
    rh_file_path (path, sizeof path, "%s/ca.pem", dir);
    if (!(ca = rh_ca_read_cert (path)) || s_ca_sha256 (ca, ca_digest) != 0) {
        rh_log_error (RH_BUNDLE_LOG, "cannot read the CA certificate %s", path);
        goto done;
    }
    uint64_t next = 0;
    if (s_next_version (dir, bundle_path, ca, &next) != 0)
        goto done;
    //  The store that checks each certificate is made from the same CA and CRL files.
    rh_file_path (path, sizeof path, "%s/crl.pem", dir);
    if (rh_file_read (path, RH_MAX_PKI_FILE, &crl, &crl_size) != 0) {
        rh_log_error (RH_BUNDLE_LOG, "cannot read the CRL %s", path);
        goto done;
    }
    rh_file_path (path, sizeof path, "%s/ca.pem", dir);
    draft.pems = calloc (RH_MAX_BUNDLE_CERTS, sizeof *draft.pems);
    draft.pem_sizes = calloc (RH_MAX_BUNDLE_CERTS, sizeof *draft.pem_sizes);
    if (!draft.pems || !draft.pem_sizes || !(draft.check = rh_certstore_new ())
        || rh_certstore_add_ca (draft.check, path) != RH_OK
        || rh_certstore_add_crl_pem (draft.check, crl, crl_size) != RH_OK) {
        rh_log_error (RH_BUNDLE_LOG, "the CA or its CRL in %s does not load", dir);
        goto done;
    }
    int64_t crl_next = rh_certstore_crl_next_update (draft.check);
    if (expires_ms == 0)
        expires_ms = crl_next;
    if (expires_ms <= now) {
        rh_log_error (RH_BUNDLE_LOG, "the bundle would have expired already (renew the CRL?)");
        goto done;
    }
    if (s_draft_certs (&draft, dir) != 0 || s_draft_doors (&draft, now) != 0
        || s_draft_agreements (&draft, agreements_dir, ca) != 0)
        goto done;

    Rhannu__V1__TrustBundle bundle = RHANNU__V1__TRUST_BUNDLE__INIT;
    ProtobufCBinaryData *certs = calloc (draft.pem_count ? draft.pem_count : 1, sizeof *certs);
    if (!certs)
        goto done;
    for (size_t i = 0; i < draft.pem_count; i++)
        certs [i] = (ProtobufCBinaryData){ .len = draft.pem_sizes [i], .data = draft.pems [i] };
    bundle.version = next;
    bundle.issued_ms = now;
    bundle.expires_ms = expires_ms;
    bundle.ca_sha256 = (ProtobufCBinaryData){ .len = RH_DIGEST_LEN, .data = ca_digest };
    bundle.n_certificates = draft.pem_count;
    bundle.certificates = certs;
    bundle.crl = (ProtobufCBinaryData){ .len = crl_size, .data = crl };
    bundle.n_front_doors = draft.door_count;
    bundle.front_doors = draft.door_ptrs;
    bundle.n_agreements = draft.ref_count;
    bundle.agreements = draft.ref_ptrs;
    size_t content_size = rhannu__v1__trust_bundle__get_packed_size (&bundle);
    if ((content = malloc (content_size ? content_size : 1)))
        rhannu__v1__trust_bundle__pack (&bundle, content);
    free (certs);
    if (!content || rh_ca_sign_bytes (dir, RH_BUNDLE_DOMAIN, content, content_size, signature) != 0)
        goto done;
    Rhannu__V1__SignedBundle outer = RHANNU__V1__SIGNED_BUNDLE__INIT;
    outer.bundle = (ProtobufCBinaryData){ .len = content_size, .data = content };
    outer.signature = (ProtobufCBinaryData){ .len = RH_SIG_LEN, .data = signature };
    size_t out_size = rhannu__v1__signed_bundle__get_packed_size (&outer);
    if (out_size > RH_MAX_BUNDLE) {
        rh_log_error (RH_BUNDLE_LOG, "the bundle would be %zu bytes, over the limit of %d",
                      out_size, RH_MAX_BUNDLE);
        goto done;
    }
    if (!(out = malloc (out_size)))
        goto done;
    rhannu__v1__signed_bundle__pack (&outer, out);
    //  The counter first: a crash between the two writes skips a number, never reuses one.
    char serial_path [PATH_MAX], serial [32];
    rh_file_path (serial_path, sizeof serial_path, "%s/%s", dir, RH_BUNDLE_SERIAL);
    snprintf (serial, sizeof serial, "%" PRIu64 "\n", next);
    if (rh_file_write_atomic (serial_path, serial, strlen (serial), 0644) != 0) {
        rh_log_error (RH_BUNDLE_LOG, "cannot write %s: %s", serial_path, strerror (errno));
        goto done;
    }
    if (rh_file_write_atomic (bundle_path, out, out_size, 0644) != 0) {
        rh_log_error (RH_BUNDLE_LOG, "cannot write %s: %s", bundle_path, strerror (errno));
        goto done;
    }
    rh_log_info (RH_BUNDLE_LOG,
                 "bundle version %" PRIu64 ": %zu certificates, %zu front doors, %zu agreements",
                 next, draft.pem_count, draft.door_count, draft.ref_count);
    if (version)
        *version = next;
    rc = 0;
done:
    free (out);
    free (content);
    free (crl);
    X509_free (ca);
    s_draft_free (&draft);
    return rc;
}

//  --- Opening -----------------------------------------------------------------------------------

static bool
s_short_text (const char *text)
{
    return text && strlen (text) <= RH_MAX_ID;
}

//  Every field of a decoded bundle within limits and well formed.
static bool
s_well_formed (const Rhannu__V1__TrustBundle *content)
{
    if (content->version == 0 || content->expires_ms <= content->issued_ms
        || content->ca_sha256.len != RH_DIGEST_LEN || content->crl.len == 0
        || content->n_certificates > RH_MAX_BUNDLE_CERTS
        || content->n_front_doors > RH_MAX_BUNDLE_CERTS || content->n_agreements > RH_MAX_REPEATED
        || content->base.n_unknown_fields)
        return false;
    for (size_t i = 0; i < content->n_front_doors; i++)
        if (!s_short_text (content->front_doors [i]->la)
            || !s_short_text (content->front_doors [i]->agency_id))
            return false;
    for (size_t i = 0; i < content->n_agreements; i++)
        if (!s_short_text (content->agreements [i]->agreement_id)
            || content->agreements [i]->sha256.len != RH_DIGEST_LEN)
            return false;
    return true;
}

rh_rc_t
rh_bundle_open (X509 *ca, const uint8_t *data, size_t size, rh_bundle_t **bundle)
{
    assert (bundle);
    *bundle = NULL;
    if (!data || size == 0)
        return RH_E_MALFORMED;
    if (size > RH_MAX_BUNDLE)
        return RH_E_TOO_LARGE;
    uint8_t ca_digest [RH_DIGEST_LEN];
    if (!ca || s_ca_sha256 (ca, ca_digest) != 0)
        return RH_E_CERT_UNKNOWN;
    Rhannu__V1__SignedBundle *outer = rhannu__v1__signed_bundle__unpack (NULL, size, data);
    if (!outer)
        return RH_E_MALFORMED;
    rh_rc_t rc = RH_E_MALFORMED;
    Rhannu__V1__TrustBundle *content = NULL;
    rh_bundle_t *self = NULL;
    if (outer->base.n_unknown_fields || outer->bundle.len == 0)
        goto done;
    //  The signature first: nothing else in the bytes is looked at until the board vouches.
    rc = rh_ca_verify_bytes (ca, RH_BUNDLE_DOMAIN, outer->bundle.data, outer->bundle.len,
                             outer->signature.data, outer->signature.len);
    if (rc != RH_OK)
        goto done;
    rc = RH_E_MALFORMED;
    content = rhannu__v1__trust_bundle__unpack (NULL, outer->bundle.len, outer->bundle.data);
    if (!content || !s_well_formed (content))
        goto done;
    rc = RH_E_CERT_UNKNOWN;
    if (memcmp (content->ca_sha256.data, ca_digest, RH_DIGEST_LEN) != 0)
        goto done;
    rc = RH_E_NOMEM;
    if (!(self = calloc (1, sizeof *self)) || !(self->signed_bytes = malloc (size)))
        goto done;
    memcpy (self->signed_bytes, data, size);
    self->signed_size = size;
    self->content = content;
    content = NULL;
    *bundle = self;
    self = NULL;
    rc = RH_OK;
done:
    rh_bundle_destroy (&self);
    if (content)
        rhannu__v1__trust_bundle__free_unpacked (content, NULL);
    rhannu__v1__signed_bundle__free_unpacked (outer, NULL);
    return rc;
}

rh_rc_t
rh_bundle_load (X509 *ca, const char *path, rh_bundle_t **bundle)
{
    assert (path && bundle);
    *bundle = NULL;
    uint8_t *data = NULL;
    size_t size = 0;
    if (rh_file_read (path, RH_MAX_BUNDLE, &data, &size) != 0)
        return errno == EFBIG ? RH_E_TOO_LARGE : RH_E_IO;
    rh_rc_t rc = rh_bundle_open (ca, data, size, bundle);
    free (data);
    return rc;
}

void
rh_bundle_destroy (rh_bundle_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        rh_bundle_t *self = *self_p;
        if (self->content)
            rhannu__v1__trust_bundle__free_unpacked (self->content, NULL);
        free (self->signed_bytes);
        free (self);
        *self_p = NULL;
    }
}

uint64_t
rh_bundle_version (const rh_bundle_t *self)
{
    assert (self);
    return self->content->version;
}

int64_t
rh_bundle_issued_ms (const rh_bundle_t *self)
{
    assert (self);
    return self->content->issued_ms;
}

int64_t
rh_bundle_expires_ms (const rh_bundle_t *self)
{
    assert (self);
    return self->content->expires_ms;
}

bool
rh_bundle_expired (const rh_bundle_t *self, int64_t now_ms)
{
    assert (self);
    return now_ms >= self->content->expires_ms;
}

const uint8_t *
rh_bundle_signed (const rh_bundle_t *self, size_t *size)
{
    assert (self && size);
    *size = self->signed_size;
    return self->signed_bytes;
}

size_t
rh_bundle_certificates (const rh_bundle_t *self)
{
    assert (self);
    return self->content->n_certificates;
}

const char *
rh_bundle_front_door (const rh_bundle_t *self, const char *la)
{
    assert (self && la);
    for (size_t i = 0; i < self->content->n_front_doors; i++)
        if (strcmp (self->content->front_doors [i]->la, la) == 0)
            return self->content->front_doors [i]->agency_id;
    return NULL;
}

size_t
rh_bundle_agreements (const rh_bundle_t *self)
{
    assert (self);
    return self->content->n_agreements;
}

const char *
rh_bundle_agreement (const rh_bundle_t *self, size_t index, uint32_t *version,
                     const uint8_t **sha256)
{
    assert (self);
    if (index >= self->content->n_agreements)
        return NULL;
    const Rhannu__V1__AgreementRef *ref = self->content->agreements [index];
    if (version)
        *version = ref->version;
    if (sha256)
        *sha256 = ref->sha256.data;
    return ref->agreement_id;
}

rh_certstore_t *
rh_bundle_certstore (const rh_bundle_t *self, X509 *ca)
{
    assert (self && ca);
    rh_certstore_t *store = rh_certstore_new ();
    BIO *bio = BIO_new (BIO_s_mem ());
    char *pem = NULL;
    long pem_size = 0;
    rh_rc_t rc = RH_E_NOMEM;
    if (!store || !bio || PEM_write_bio_X509 (bio, ca) != 1
        || (pem_size = BIO_get_mem_data (bio, &pem)) <= 0)
        goto fail;
    if ((rc = rh_certstore_add_ca_pem (store, (const uint8_t *) pem, (size_t) pem_size)) != RH_OK) {
        rh_log_error (RH_BUNDLE_LOG, "the board CA does not load: %s", rh_rc_text (rc));
        goto fail;
    }
    if ((rc = rh_certstore_add_crl_pem (store, self->content->crl.data, self->content->crl.len))
        != RH_OK) {
        rh_log_error (RH_BUNDLE_LOG, "bundle %" PRIu64 ": its CRL does not load: %s",
                      self->content->version, rh_rc_text (rc));
        goto fail;
    }
    for (size_t i = 0; i < self->content->n_certificates; i++) {
        const ProtobufCBinaryData *cert = &self->content->certificates [i];
        rc = cert->len ? rh_certstore_add_cert_pem (store, cert->data, cert->len) : RH_E_MALFORMED;
        if (rc != RH_OK)
            rh_log_warn (RH_BUNDLE_LOG, "bundle %" PRIu64 ": certificate %zu skipped: %s",
                         self->content->version, i, rh_rc_text (rc));
    }
    BIO_free (bio);
    return store;
fail:
    BIO_free (bio);
    rh_certstore_destroy (&store);
    ERR_clear_error ();
    return NULL;
}
