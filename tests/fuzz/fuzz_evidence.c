/*  =========================================================================
    fuzz_evidence - libFuzzer harness: an evidence bundle as check-bundle
    reads it (rh_evidence_add and rh_evidence_check), every file of it
    outside bytes: the manifest, the leaf (an audit record), the audit path,
    the checkpoint's signed bytes and signature, the C2SP note, the erasure
    record and its audit path, the PEM certificates and CRL, and a witness
    key.

    An input is sections, each "@@NAME\n" then the file's bytes up to the
    next "\n@@" (or the end): NAME is a bundle file (manifest.txt, leaf.bin,
    ...) or "keys" (one witness vkey, checked with a quorum of one). The
    bundle's own ca.pem is the CA here, so that seeds reach every check; the
    tool never does this. The seeds are a real bundle written by
    test_evidence (broker, agents and a cosigning witness), whole, without
    its message and no erasure record (refused: missing), the bundle of a
    message erased by rhannu-broker erase (with its ERASURE record), and
    with no files.
    =========================================================================
*/
#include "rh_broker_classes.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    rh_evidence_t *evidence = rh_evidence_new ();
    if (!evidence)
        return 0;
    const uint8_t *ca = (const uint8_t *) "", *at = data, *end = data + size;
    size_t ca_size = 0, count = 0;
    rh_note_vkey_t key;
    while (end - at > 2 && at [0] == '@' && at [1] == '@') {
        const uint8_t *name = at + 2;
        const uint8_t *eol = memchr (name, '\n', (size_t) (end - name));
        if (!eol)
            break;
        const uint8_t *body = eol + 1;
        const uint8_t *next = memmem (body, (size_t) (end - body), "\n@@", 3);
        const uint8_t *stop = next ? next : end;
        char file [32];
        size_t length = (size_t) (eol - name);
        if (length < sizeof file) {
            memcpy (file, name, length);
            file [length] = 0;
            if (!strcmp (file, "keys")) {
                char text [RH_NOTE_MAX_VKEY + 1];
                size_t n = (size_t) (stop - body) < sizeof text ? (size_t) (stop - body) : 0;
                memcpy (text, body, n);
                text [n] = 0;
                count = n && rh_note_vkey_parse (text, &key) == RH_OK ? 1 : 0;
            }
            else if (rh_evidence_add (evidence, file, body, (size_t) (stop - body)) == 0
                     && !strcmp (file, "ca.pem")) {
                ca = body;
                ca_size = (size_t) (stop - body);
            }
        }
        at = next ? next + 1 : end;
    }
    rh_evidence_fault_t fault;
    rh_rc_t rc = rh_evidence_check (evidence, ca, ca_size, &key, count, count, NULL, &fault);
    //  A refusal always says what and why.
    if (rc != RH_OK && (!fault.part || !*fault.part || !fault.reason [0]))
        abort ();
    rh_evidence_destroy (&evidence);
    return 0;
}
