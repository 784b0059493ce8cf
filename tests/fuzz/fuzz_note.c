/*  =========================================================================
    fuzz_note - libFuzzer harness: C2SP signed notes, checkpoints, vkeys and
    tlog-witness add-checkpoint bodies, as a witness or a broker reads them
    from the network. The first byte picks the reader: 0 a signed note
    (verified against a log key and a witness key made from fixed seeds),
    1 an add-checkpoint body, 2 a vkey, 3 checkpoint text, 4 signature
    lines a witness returns. What parses must encode and parse back the same.
    =========================================================================
*/
#include "rh_proto.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

//  The keys gen-corpus signs its seeds with (seeds 32..63 and 0..31).
static void
s_keys (rh_note_vkey_t keys [2])
{
    uint8_t seed [32], public_key [32], secret [64];
    for (int i = 0; i < 32; i++)
        seed [i] = (uint8_t) (32 + i);
    crypto_sign_seed_keypair (public_key, secret, seed);
    if (rh_note_vkey_make ("example.com/log", RH_NOTE_TYPE_ED25519, public_key, &keys [0]) != RH_OK)
        abort ();
    for (int i = 0; i < 32; i++)
        seed [i] = (uint8_t) i;
    crypto_sign_seed_keypair (public_key, secret, seed);
    if (rh_note_vkey_make ("witness.example/w1", RH_NOTE_TYPE_COSIGNATURE, public_key, &keys [1])
        != RH_OK)
        abort ();
}

//  A parsed note must encode, parse back, and verify the same way.
static void
s_round_trip (const rh_note_t *note, const rh_note_vkey_t keys [2])
{
    size_t verified = 0, again = 0;
    uint64_t times [2];
    rh_rc_t rc = rh_note_verify (note, keys, 2, &verified, times);
    char *encoded = NULL;
    size_t encoded_size = 0;
    if (rh_note_encode (note, &encoded, &encoded_size) != 0)
        abort ();
    rh_note_t *back = NULL;
    if (rh_note_parse ((const uint8_t *) encoded, encoded_size, &back) != RH_OK
        || rh_note_signatures (back) != rh_note_signatures (note)
        || rh_note_verify (back, keys, 2, &again, NULL) != rc || again != verified)
        abort ();
    size_t a_size = 0, b_size = 0;
    const char *a = rh_note_text (note, &a_size), *b = rh_note_text (back, &b_size);
    if (a_size != b_size || memcmp (a, b, a_size) != 0)
        abort ();
    rh_note_destroy (&back);
    free (encoded);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    static rh_note_vkey_t keys [2];
    static bool ready;
    if (!ready) {
        s_keys (keys);
        ready = true;
    }
    if (size < 1)
        return 0;
    uint8_t mode = data [0];
    data++, size--;
    rh_note_t *note = NULL;
    if (mode == 0) {
        if (rh_note_parse (data, size, &note) == RH_OK)
            s_round_trip (note, keys);
    }
    else if (mode == 1) {
        uint64_t old_size = 0;
        size_t count = 0;
        uint8_t proof [RH_NOTE_MAX_PROOF][RH_DIGEST_LEN];
        rh_note_checkpoint_t checkpoint;
        if (rh_note_request_parse (data, size, &old_size, proof, &count, &note, &checkpoint)
            == RH_OK) {
            s_round_trip (note, keys);
            char *body = NULL;
            size_t body_size = 0;
            rh_note_t *back = NULL;
            uint64_t old_back = 0;
            size_t count_back = 0;
            uint8_t proof_back [RH_NOTE_MAX_PROOF][RH_DIGEST_LEN];
            rh_note_checkpoint_t checkpoint_back;
            if (rh_note_request_encode (old_size, (const uint8_t (*) [RH_DIGEST_LEN]) proof, count,
                                        note, &body, &body_size)
                    != 0
                || rh_note_request_parse ((const uint8_t *) body, body_size, &old_back, proof_back,
                                          &count_back, &back, &checkpoint_back)
                       != RH_OK
                || old_back != old_size || count_back != count
                || memcmp (proof_back, proof, count * RH_DIGEST_LEN) != 0
                || memcmp (&checkpoint_back, &checkpoint, sizeof checkpoint) != 0)
                abort ();
            rh_note_destroy (&back);
            free (body);
        }
    }
    else if (mode == 2) {
        char text [RH_NOTE_MAX_VKEY + 2];
        size_t n = size < sizeof text - 1 ? size : sizeof text - 1;
        memcpy (text, data, n);
        text [n] = 0;
        rh_note_vkey_t vkey, back;
        char formatted [RH_NOTE_MAX_VKEY + 1];
        if (rh_note_vkey_parse (text, &vkey) == RH_OK
            && (rh_note_vkey_format (&vkey, formatted, sizeof formatted) != 0
                || rh_note_vkey_parse (formatted, &back) != RH_OK
                || memcmp (&back, &vkey, sizeof vkey) != 0))
            abort ();
    }
    else if (mode == 3) {
        rh_note_checkpoint_t checkpoint, back;
        char text [RH_NOTE_MAX_NAME + 128];
        if (rh_note_checkpoint_parse ((const char *) data, size, &checkpoint) == RH_OK
            && checkpoint.extensions == 0
            && (rh_note_checkpoint_format (checkpoint.origin, checkpoint.size, checkpoint.root,
                                           text, sizeof text)
                    != (int) size
                || memcmp (text, data, size) != 0
                || rh_note_checkpoint_parse (text, size, &back) != RH_OK))
            abort ();
    }
    else if (mode == 4) {
        note =
            rh_note_new ("example.com/log\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", 63);
        if (!note)
            abort ();
        if (rh_note_add_lines (note, data, size) == RH_OK)
            s_round_trip (note, keys);
    }
    rh_note_destroy (&note);
    return 0;
}
