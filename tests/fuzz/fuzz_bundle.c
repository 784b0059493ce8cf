/*  =========================================================================
    fuzz_bundle - libFuzzer harness: trust bundles as the broker hands them
    to agents.

    The first byte picks what the rest is. 0: a whole SignedBundle, as it
    arrives off the wire (the outer parse and the signature check). 1: the
    bundle content, which the harness signs with a CA of its own first, so
    that the content parser, the limits and the certificate store built
    from the certificates and CRL inside are reached too (a board's
    mistakes, or a board key in the wrong hands, must not crash an agent).
    2: as 1, with the CRL replaced by the harness CA's own, so that the
    certificates inside are parsed and chained as well.
    =========================================================================
*/
#include "rh_certs.h"
#include "rhannu.pb-c.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static char s_ca_dir [PATH_MAX];
static X509 *s_ca;
static uint8_t s_ca_sha256 [RH_DIGEST_LEN];
static uint8_t *s_crl;  //  this run's CA's CRL (PEM), for mode 2
static size_t s_crl_size;

//  A throwaway CA, made once per process; removed at exit.
static void
s_remove_ca (void)
{
    char path [PATH_MAX];
    const char *files [] = { "ca.pem", "ca.key", "crl.pem" };
    for (size_t i = 0; i < 3; i++) {
        rh_file_path (path, sizeof path, "%s/ca/%s", s_ca_dir, files [i]);
        unlink (path);
    }
    rh_file_path (path, sizeof path, "%s/ca", s_ca_dir);
    rmdir (path);
    rmdir (s_ca_dir);
    X509_free (s_ca);
    free (s_crl);
}

static int
s_setup (void)
{
    if (s_ca)
        return 0;
    snprintf (s_ca_dir, sizeof s_ca_dir, "/tmp/rhannu-fuzz-bundle-XXXXXX");
    if (!mkdtemp (s_ca_dir))
        return -1;
    char dir [PATH_MAX], path [PATH_MAX];
    rh_file_path (dir, sizeof dir, "%s/ca", s_ca_dir);
    rh_file_path (path, sizeof path, "%s/ca.pem", dir);
    if (rh_ca_init (dir, "fuzz", 0) != 0 || !(s_ca = rh_ca_read_cert (path)))
        return -1;
    unsigned char *der = NULL;
    int der_size = i2d_X509 (s_ca, &der);
    if (der_size <= 0)
        return -1;
    rh_sha256 (s_ca_sha256, der, (size_t) der_size);
    OPENSSL_free (der);
    rh_file_path (path, sizeof path, "%s/crl.pem", dir);
    if (rh_file_read (path, RH_MAX_PKI_FILE, &s_crl, &s_crl_size) != 0)
        return -1;
    setenv ("RH_LOG_LEVEL", "off", 0);  //  refusals are the point; thousands a second
    atexit (s_remove_ca);
    return 0;
}

static void
s_exercise (rh_bundle_t *bundle)
{
    rh_bundle_version (bundle);
    rh_bundle_expired (bundle, rh_time_now_ms ());
    rh_bundle_front_door (bundle, "newport");
    for (size_t i = 0; i < rh_bundle_agreements (bundle); i++)
        rh_bundle_agreement (bundle, i, NULL, NULL);
    rh_certstore_t *store = rh_bundle_certstore (bundle, s_ca);
    if (store)
        rh_certstore_enrolled (store, "police-gwent", rh_time_now_ms ());
    rh_certstore_destroy (&store);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size < 1 || s_setup () != 0)
        return 0;
    rh_bundle_t *bundle = NULL;
    if (data [0] == 0) {
        if (rh_bundle_open (s_ca, data + 1, size - 1, &bundle) == RH_OK)
            s_exercise (bundle);
        rh_bundle_destroy (&bundle);
        return 0;
    }
    //  Content that decodes is made to name this run's CA (seeds cannot know it), so that what
    //  follows the CA check is reached; then it is signed as the board would, and opened as an
    //  agent does.
    const uint8_t *content = data + 1;
    size_t content_size = size - 1;
    uint8_t *renamed = NULL;
    if (content_size > RH_MAX_BUNDLE / 2)
        return 0;
    Rhannu__V1__TrustBundle *decoded =
        rhannu__v1__trust_bundle__unpack (NULL, content_size, content);
    if (decoded) {
        ProtobufCBinaryData crl = decoded->crl, ca_sha256 = decoded->ca_sha256;
        decoded->ca_sha256.data = s_ca_sha256;
        decoded->ca_sha256.len = RH_DIGEST_LEN;
        if (data [0] == 2)
            decoded->crl = (ProtobufCBinaryData){ .len = s_crl_size, .data = s_crl };
        size_t renamed_size = rhannu__v1__trust_bundle__get_packed_size (decoded);
        if ((renamed = malloc (renamed_size ? renamed_size : 1))) {
            rhannu__v1__trust_bundle__pack (decoded, renamed);
            content = renamed;
            content_size = renamed_size;
        }
        decoded->ca_sha256 = ca_sha256;  //  ours are not to be freed: put back what was decoded
        decoded->crl = crl;
        rhannu__v1__trust_bundle__free_unpacked (decoded, NULL);
    }
    char dir [PATH_MAX];
    rh_file_path (dir, sizeof dir, "%s/ca", s_ca_dir);
    uint8_t signature [RH_SIG_LEN];
    if (rh_ca_sign_bytes (dir, RH_BUNDLE_DOMAIN, content, content_size, signature) != 0) {
        free (renamed);
        return 0;
    }
    //  SignedBundle { bytes bundle = 1; bytes signature = 2; } by hand: tag, varint length, bytes.
    uint8_t *outer = malloc (content_size + RH_SIG_LEN + 16);
    if (!outer) {
        free (renamed);
        return 0;
    }
    size_t used = 0;
    outer [used++] = 0x0a;
    for (size_t n = content_size;; n >>= 7) {
        outer [used++] = (uint8_t) ((n & 0x7f) | (n >= 0x80 ? 0x80 : 0));
        if (n < 0x80)
            break;
    }
    memcpy (outer + used, content, content_size);
    used += content_size;
    outer [used++] = 0x12;
    outer [used++] = RH_SIG_LEN;
    memcpy (outer + used, signature, RH_SIG_LEN);
    used += RH_SIG_LEN;
    if (rh_bundle_open (s_ca, outer, used, &bundle) == RH_OK)
        s_exercise (bundle);
    rh_bundle_destroy (&bundle);
    free (outer);
    free (renamed);
    return 0;
}
