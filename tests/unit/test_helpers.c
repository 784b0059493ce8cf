/*  =========================================================================
    test_helpers - fixtures shared by the unit suites
    =========================================================================
*/
#include "test_helpers.h"
#include "rhannu.pb-c.h"
#include <ftw.h>

static test_pki_t s_pki;
static bool s_ready;
static int s_tempdirs;

static void
s_issue (const char *dir, const char *id, const char *type, const char *la, int64_t before,
         int64_t after)
{
    rh_ca_request_t request = { .agency_id = id,
                                .type = type,
                                .la = la,
                                .region = "gwent",
                                .not_before_ms = before,
                                .not_after_ms = after };
    if (rh_ca_issue (dir, &request) != 0) {
        fprintf (stderr, "test fixture: cannot issue %s\n", id);
        abort ();
    }
}

const test_pki_t *
test_pki (void)
{
    if (s_ready)
        return &s_pki;
    snprintf (s_pki.root, sizeof s_pki.root, "/tmp/rhannu-unit-XXXXXX");
    if (!mkdtemp (s_pki.root))
        abort ();
    rh_file_path (s_pki.pki, sizeof s_pki.pki, "%s/pki", s_pki.root);
    rh_file_path (s_pki.other, sizeof s_pki.other, "%s/other", s_pki.root);
    int64_t now = rh_time_now_ms ();
    if (rh_ca_init (s_pki.pki, "test board CA", 0) != 0
        || rh_ca_init (s_pki.other, "unrelated CA", 0) != 0)
        abort ();
    s_issue (s_pki.pki, "police-gwent", "POLICE", "newport", 0, 0);
    s_issue (s_pki.pki, "la-newport", "LA_FRONT_DOOR", "newport", 0, 0);
    s_issue (s_pki.pki, "health-abb", "HEALTH", NULL, 0, 0);
    //  Expired a minute ago; valid for three minutes while the (new) CA was already valid.
    s_issue (s_pki.pki, "edu-old", "EDUCATION", "newport", now - 4 * 60 * 1000, now - 60 * 1000);
    s_issue (s_pki.pki, "vcs-future", "VCS", "newport", now + 10 * TEST_DAY_MS,
             now + 400 * TEST_DAY_MS);
    s_issue (s_pki.pki, "vcs-gone", "VCS", "newport", now - 10 * TEST_DAY_MS, 0);
    s_issue (s_pki.pki, "pol-leak", "POLICE", "newport", now - 10 * TEST_DAY_MS, 0);
    s_issue (s_pki.other, "stranger", "POLICE", NULL, 0, 0);
    //  Revocation dates have one-second resolution: keep "before" and "after" clearly apart.
    sleep (1);
    s_pki.revoked_at_ms = rh_time_now_ms ();
    if (rh_ca_revoke (s_pki.pki, "vcs-gone", CRL_REASON_CESSATION_OF_OPERATION) != 0
        || rh_ca_revoke (s_pki.pki, "pol-leak", CRL_REASON_KEY_COMPROMISE) != 0)
        abort ();
    s_ready = true;
    return &s_pki;
}

static int
s_remove (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st, (void) flag, (void) ftw;
    return remove (path);
}

void
test_pki_cleanup (void)
{
    if (s_ready)
        nftw (s_pki.root, s_remove, 16, FTW_DEPTH | FTW_PHYS);
    s_ready = false;
}

void
test_tempdir (char *out, size_t size)
{
    const test_pki_t *pki = test_pki ();
    rh_file_path (out, size, "%s/tmp%d", pki->root, ++s_tempdirs);
    if (rh_file_mkdir (out, 0700) != 0)
        abort ();
}

rh_signer_t *
test_signer (const char *pki_dir, const char *agency_id)
{
    char path [PATH_MAX];
    rh_file_path (path, sizeof path, "%s/%s", pki_dir, agency_id);
    return rh_signer_load (path);
}

void
test_commit (uint32_t kind, uint32_t field, const uint8_t *salt, const uint8_t *value, size_t size,
             uint8_t digest [32])
{
    //  Written from the documented formula, not from the library's code.
    uint8_t buffer [16 + 8 + 16 + 4096];
    size_t at = 0;
    memcpy (buffer, "rhannu.field.v1", 16);  //  15 characters and the NUL
    at = 16;
    for (int shift = 24; shift >= 0; shift -= 8)
        buffer [at++] = (uint8_t) (kind >> shift);
    for (int shift = 24; shift >= 0; shift -= 8)
        buffer [at++] = (uint8_t) (field >> shift);
    memcpy (buffer + at, salt, 16);
    at += 16;
    if (size > sizeof buffer - at) {
        //  Large values: hash incrementally.
        EVP_MD_CTX *md = EVP_MD_CTX_new ();
        EVP_DigestInit_ex (md, EVP_sha256 (), NULL);
        EVP_DigestUpdate (md, buffer, at);
        EVP_DigestUpdate (md, value, size);
        EVP_DigestFinal_ex (md, digest, NULL);
        EVP_MD_CTX_free (md);
        return;
    }
    memcpy (buffer + at, value, size);
    at += size;
    SHA256 (buffer, at, digest);
}

uint8_t *
test_seal (rh_signer_t *signer, const uint8_t *header, size_t header_size,
           const uint8_t *signature_override, size_t signature_size,
           const test_disclosure_t *disclosures, size_t count, size_t *size)
{
    uint8_t signature [64];
    if (!signature_override) {
        size_t total = 19 + header_size;
        uint8_t *to_sign = malloc (total);
        memcpy (to_sign, "rhannu.envelope.v1", 19);
        memcpy (to_sign + 19, header, header_size);
        rh_signer_sign (signer, to_sign, total, signature);
        free (to_sign);
        signature_override = signature;
        signature_size = 64;
    }
    Rhannu__V1__Sealed sealed = RHANNU__V1__SEALED__INIT;
    Rhannu__V1__Disclosure items [64];
    Rhannu__V1__Disclosure *pointers [64];
    for (size_t i = 0; i < count && i < 64; i++) {
        rhannu__v1__disclosure__init (&items [i]);
        items [i].field = disclosures [i].field;
        items [i].salt.data = (uint8_t *) test_salt;
        items [i].salt.len = 16;
        items [i].value.data = (uint8_t *) disclosures [i].value;
        items [i].value.len = disclosures [i].size;
        pointers [i] = &items [i];
    }
    sealed.header.data = (uint8_t *) header;
    sealed.header.len = header_size;
    sealed.signature.data = (uint8_t *) signature_override;
    sealed.signature.len = signature_size;
    sealed.disclosures = pointers;
    sealed.n_disclosures = count;
    *size = rhannu__v1__sealed__get_packed_size (&sealed);
    uint8_t *bytes = malloc (*size);
    rhannu__v1__sealed__pack (&sealed, bytes);
    return bytes;
}
