/*  =========================================================================
    fuzz_envelope - libFuzzer harness: decode, verify, redact, re-encode

    Untrusted bytes as a broker receives them. Properties checked beyond
    "no crash, no leak": a message that decodes re-encodes to bytes that
    decode again, and redacting it keeps it decodable and verifiable.
    Signatures verify against the public test PKI in tests/vectors/pki.
    =========================================================================
*/
#include "rh_certs.h"

static rh_certstore_t *s_store;

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (!s_store) {
        setenv ("RH_LOG_LEVEL", "error", 0);
        const char *pki = getenv ("RH_FUZZ_PKI");
        s_store = rh_certstore_load_dir (pki ? pki : RH_SOURCE_DIR "/tests/vectors/pki");
        if (!s_store)
            abort ();  //  the harness itself is broken, not the input
    }
    rh_envelope_t *envelope = NULL;
    if (rh_envelope_decode (data, size, &envelope) != RH_OK)
        return 0;
    //  Verify at the time the message says it was made: the vector certificates are long-lived.
    rh_rc_t verified = rh_certstore_verify (s_store, envelope, rh_envelope_created (envelope));
    uint8_t *again = NULL;
    size_t again_size = 0;
    if (rh_envelope_encode (envelope, &again, &again_size) != 0)
        abort ();
    rh_envelope_t *copy = NULL;
    if (rh_envelope_decode (again, again_size, &copy) != RH_OK)
        abort ();  //  what we decoded we must be able to pass on
    //  Keep every other committed field.
    uint32_t keep [RH_MAX_FIELDS];
    size_t count = 0;
    for (size_t i = 0; i < rh_envelope_commitments (copy); i += 2)
        keep [count++] = rh_envelope_commitment (copy, i, NULL);
    if (rh_envelope_redact (copy, keep, count) != 0)
        abort ();
    free (again);
    again = NULL;
    if (rh_envelope_encode (copy, &again, &again_size) != 0)
        abort ();
    rh_envelope_t *redacted = NULL;
    if (rh_envelope_decode (again, again_size, &redacted) != RH_OK)
        abort ();
    if (verified == RH_OK
        && rh_certstore_verify (s_store, redacted, rh_envelope_created (redacted)) != RH_OK)
        abort ();  //  redaction must never break the sender's signature
    free (again);
    rh_envelope_destroy (&redacted);
    rh_envelope_destroy (&copy);
    rh_envelope_destroy (&envelope);
    return 0;
}
