/*  =========================================================================
    fuzz_json - libFuzzer harness: spool files as an agency's system writes
    them. A file that parses becomes an envelope that signs, encodes, decodes
    and renders back to JSON. Signing uses a key made once per run.
    =========================================================================
*/
#include "rh_certs.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static rh_signer_t *s_signer;

static rh_signer_t *
s_make_signer (void)
{
    char dir [] = "/tmp/rhannu-fuzz-json-XXXXXX", pki [PATH_MAX], agency [PATH_MAX];
    if (!mkdtemp (dir))
        abort ();
    rh_file_path (pki, sizeof pki, "%s/pki", dir);
    rh_ca_request_t request = { .agency_id = "fuzz-agency", .type = "POLICE" };
    if (rh_ca_init (pki, NULL, 0) != 0 || rh_ca_issue (pki, &request) != 0)
        abort ();
    rh_file_path (agency, sizeof agency, "%s/fuzz-agency", pki);
    return rh_signer_load (agency);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (!s_signer) {
        setenv ("RH_LOG_LEVEL", "off", 0);
        if (!(s_signer = s_make_signer ()))
            abort ();
    }
    char error [256];
    rh_envelope_t *envelope = rh_json_to_envelope (data, size, error, sizeof error);
    if (!envelope)
        return 0;
    //  Signing may refuse values over a limit; what it signs must decode and render.
    uint8_t *sealed = NULL;
    size_t sealed_size = 0;
    if (rh_envelope_sign (envelope, s_signer) == 0) {
        if (rh_envelope_encode (envelope, &sealed, &sealed_size) != 0)
            abort ();
        rh_envelope_t *decoded = NULL;
        if (rh_envelope_decode (sealed, sealed_size, &decoded) != RH_OK)
            abort ();
        char *text = rh_json_from_envelope (decoded);
        if (!text)
            abort ();
        free (text);
        rh_envelope_destroy (&decoded);
    }
    free (sealed);
    rh_envelope_destroy (&envelope);
    return 0;
}
