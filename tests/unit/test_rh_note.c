/*  =========================================================================
    test_rh_note - C2SP signed notes, checkpoints, cosignatures and the
    add-checkpoint request: the specs' own example, vectors computed
    independently (Python's cryptography package, seeds 0..31 and 32..63),
    and one tampering per rule
    =========================================================================
*/
#include "test_helpers.h"

//  From c2sp.org/signed-note: this vkey verifies this note.
static const char *s_spec_vkey =
    "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
static const char *s_spec_note = "This is an example message.\n\n"
                                 "\xe2\x80\x94 example.com/foo "
                                 "Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjO"
                                 "BH3mFXmRKuwHjG1Yu72IneyaQM=\n";

//  The checkpoint text of c2sp.org/tlog-checkpoint, signed by a log key from seed 32..63 and
//  cosigned at 1679315147 by a witness key from seed 0..31 (computed with Python).
static const char *s_cp_text = "example.com/behind-the-sofa\n20852163\n"
                               "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
static const char *s_log_vkey =
    "example.com/behind-the-sofa+13e30ba2+ASmsuuFBvMrwsi4alNNNC8c2HlJtC/4SyJeUvJMilm3X";
static const char *s_log_line =
    "\xe2\x80\x94 example.com/behind-the-sofa "
    "E+MLootScofIiK0RZI/"
    "1vBb3DLwLb9bRvYSiPagYXhmOMuCwTwTFDFGPPIh+bN0lJBDcB8sSuVirgwX2FlEsjzuB1gQ=\n";
static const char *s_wit_vkey =
    "witness.example/w1+e75f6532+BAOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4";
static const char *s_wit_line =
    "\xe2\x80\x94 witness.example/w1 "
    "519lMgAAAABkGFDLBuRDazBLVac2NE+Y+IjbjQOcXLfF9CSDZVUIoS83rE1nFZsVE8YiWV6Ngr7lV8H6bdoBQGP/"
    "l73euDMQ9k+bBQ==\n";

static void
s_secret (uint8_t first, uint8_t secret [RH_NOTE_SECRET_LEN])
{
    uint8_t seed [32], public_key [32];
    for (int i = 0; i < 32; i++)
        seed [i] = (uint8_t) (first + i);
    crypto_sign_seed_keypair (public_key, secret, seed);
}

static rh_note_t *
s_parse (const char *text)
{
    rh_note_t *note = NULL;
    rh_rc_t rc = rh_note_parse ((const uint8_t *) text, strlen (text), &note);
    return rc == RH_OK ? note : NULL;
}

static rh_rc_t
s_parse_rc (const char *text)
{
    rh_note_t *note = NULL;
    rh_rc_t rc = rh_note_parse ((const uint8_t *) text, strlen (text), &note);
    rh_note_destroy (&note);
    return rc;
}

static void
test_the_spec_example_note_verifies_with_its_vkey (void)
{
    rh_note_vkey_t key;
    CU_ASSERT_EQUAL_FATAL (rh_note_vkey_parse (s_spec_vkey, &key), RH_OK);
    CU_ASSERT_STRING_EQUAL (key.name, "example.com/foo");
    CU_ASSERT_EQUAL (key.id, 0x530d903a);
    CU_ASSERT_EQUAL (key.type, RH_NOTE_TYPE_ED25519);
    rh_note_t *note = s_parse (s_spec_note);
    CU_ASSERT_PTR_NOT_NULL_FATAL (note);
    size_t size = 0;
    const char *text = rh_note_text (note, &size);
    CU_ASSERT_EQUAL (size, strlen ("This is an example message.\n"));
    CU_ASSERT_EQUAL (memcmp (text, "This is an example message.\n", size), 0);
    size_t verified = 99;
    CU_ASSERT_EQUAL (rh_note_verify (note, &key, 1, &verified, NULL), RH_OK);
    CU_ASSERT_EQUAL (verified, 1);
    //  It encodes back to the same bytes, and the vkey formats back to its text.
    char *encoded = NULL;
    CU_ASSERT_EQUAL_FATAL (rh_note_encode (note, &encoded, &size), 0);
    CU_ASSERT_STRING_EQUAL (encoded, s_spec_note);
    free (encoded);
    char vkey [RH_NOTE_MAX_VKEY + 1];
    CU_ASSERT_EQUAL (rh_note_vkey_format (&key, vkey, sizeof vkey), 0);
    CU_ASSERT_STRING_EQUAL (vkey, s_spec_vkey);
    CU_ASSERT_EQUAL (rh_note_vkey_format (&key, vkey, 10), -1);
    rh_note_destroy (&note);
    CU_ASSERT_PTR_NULL (note);
}

static void
test_signing_and_cosigning_match_independent_vectors (void)
{
    uint8_t log_secret [RH_NOTE_SECRET_LEN], wit_secret [RH_NOTE_SECRET_LEN];
    s_secret (32, log_secret);
    s_secret (0, wit_secret);
    rh_note_t *note = rh_note_new (s_cp_text, strlen (s_cp_text));
    CU_ASSERT_PTR_NOT_NULL_FATAL (note);
    CU_ASSERT_EQUAL (rh_note_sign (note, "example.com/behind-the-sofa", log_secret), 0);
    CU_ASSERT_EQUAL (rh_note_cosign (note, "witness.example/w1", wit_secret, 1679315147), 0);
    CU_ASSERT_EQUAL (rh_note_signatures (note), 2);
    char line [512];
    CU_ASSERT_EQUAL (rh_note_line (note, 0, line, sizeof line), (int) strlen (s_log_line));
    CU_ASSERT_STRING_EQUAL (line, s_log_line);
    CU_ASSERT_EQUAL (rh_note_line (note, 1, line, sizeof line), (int) strlen (s_wit_line));
    CU_ASSERT_STRING_EQUAL (line, s_wit_line);
    CU_ASSERT_EQUAL (rh_note_line (note, 2, line, sizeof line), -1);
    CU_ASSERT_EQUAL (rh_note_line (note, 0, line, 20), -1);

    rh_note_vkey_t keys [2];
    CU_ASSERT_EQUAL_FATAL (rh_note_vkey_parse (s_log_vkey, &keys [0]), RH_OK);
    CU_ASSERT_EQUAL_FATAL (rh_note_vkey_parse (s_wit_vkey, &keys [1]), RH_OK);
    CU_ASSERT_EQUAL (keys [1].type, RH_NOTE_TYPE_COSIGNATURE);
    CU_ASSERT_EQUAL (keys [1].id, rh_note_key_id ("witness.example/w1", 4, wit_secret + 32));
    size_t verified = 0;
    uint64_t times [2] = { 9, 9 };
    CU_ASSERT_EQUAL (rh_note_verify (note, keys, 2, &verified, times), RH_OK);
    CU_ASSERT_EQUAL (verified, 2);
    CU_ASSERT_EQUAL (times [0], 0);
    CU_ASSERT_EQUAL (times [1], 1679315147);

    const char *name = NULL;
    uint32_t id = 0;
    const uint8_t *signature = NULL;
    size_t signature_size = 0;
    CU_ASSERT_EQUAL (rh_note_signature (note, 1, &name, &id, &signature, &signature_size), 0);
    CU_ASSERT_STRING_EQUAL (name, "witness.example/w1");
    CU_ASSERT_EQUAL (id, 0xe75f6532);
    CU_ASSERT_EQUAL (signature_size, RH_NOTE_COSIG_LEN);
    CU_ASSERT_EQUAL (rh_note_signature (note, 2, &name, &id, &signature, &signature_size), -1);

    //  The message a cosignature covers, as the spec writes it.
    uint8_t *message = NULL;
    size_t message_size = 0;
    CU_ASSERT_EQUAL (rh_note_cosignature_message (s_cp_text, strlen (s_cp_text), 1679315147,
                                                  &message, &message_size),
                     0);
    const char *expected = "cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n"
                           "20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
    CU_ASSERT_EQUAL (message_size, strlen (expected));
    CU_ASSERT_EQUAL (memcmp (message, expected, message_size), 0);
    free (message);
    //  Timestamps past 2^63 - 1 are refused; names must be names.
    CU_ASSERT_EQUAL (rh_note_cosign (note, "w", wit_secret, (uint64_t) INT64_MAX + 1), -1);
    CU_ASSERT_EQUAL (rh_note_cosign (note, "has space", wit_secret, 1), -1);
    CU_ASSERT_EQUAL (rh_note_sign (note, "a+b", log_secret), -1);
    rh_note_destroy (&note);
}

//  The note of the vectors, with its two signature lines, as text.
static char *
s_cosigned_note (void)
{
    char *text = malloc (1024);
    snprintf (text, 1024, "%s\n%s%s", s_cp_text, s_log_line, s_wit_line);
    return text;
}

static void
test_a_tampered_note_is_refused_by_the_keys_it_names (void)
{
    rh_note_vkey_t keys [2];
    CU_ASSERT_EQUAL_FATAL (rh_note_vkey_parse (s_log_vkey, &keys [0]), RH_OK);
    CU_ASSERT_EQUAL_FATAL (rh_note_vkey_parse (s_wit_vkey, &keys [1]), RH_OK);
    char *good = s_cosigned_note ();
    size_t verified = 0;
    rh_note_t *note = s_parse (good);
    CU_ASSERT_PTR_NOT_NULL_FATAL (note);
    CU_ASSERT_EQUAL (rh_note_verify (note, keys, 2, &verified, NULL), RH_OK);
    CU_ASSERT_EQUAL (verified, 2);
    rh_note_destroy (&note);

    //  Every byte of the text flipped in turn (kept printable): both signatures fail.
    size_t text_size = strlen (s_cp_text);
    for (size_t i = 0; i < text_size; i++) {
        if (good [i] == '\n')
            continue;
        char *copy = strdup (good);
        CU_ASSERT_PTR_NOT_NULL_FATAL (copy);
        copy [i] = copy [i] == 'A' ? 'B' : 'A';
        note = s_parse (copy);
        if (note) {
            CU_ASSERT_EQUAL (rh_note_verify (note, &keys [0], 1, &verified, NULL), RH_E_SIG);
            CU_ASSERT_EQUAL (rh_note_verify (note, &keys [1], 1, &verified, NULL), RH_E_SIG);
        }
        rh_note_destroy (&note);
        free (copy);
    }
    //  The cosignature's timestamp changed (byte 7 of the decoded signature): refused.
    char *copy = strdup (good);
    char *wit = strstr (copy, "519lMgAAAABkGFDL");
    CU_ASSERT_PTR_NOT_NULL_FATAL (wit);
    memcpy (wit, "519lMgAAAABkGFDM", 16);
    note = s_parse (copy);
    CU_ASSERT_PTR_NOT_NULL_FATAL (note);
    CU_ASSERT_EQUAL (rh_note_verify (note, &keys [1], 1, &verified, NULL), RH_E_SIG);
    //  ...while a verifier that knows only the log key ignores the line (unknown key).
    CU_ASSERT_EQUAL (rh_note_verify (note, &keys [0], 1, &verified, NULL), RH_OK);
    CU_ASSERT_EQUAL (verified, 1);
    rh_note_destroy (&note);
    free (copy);

    //  A key that shares the name but not the id, or the id but not the name, is not the key.
    rh_note_vkey_t other = keys [1];
    other.id ^= 1;
    note = s_parse (good);
    CU_ASSERT_EQUAL (rh_note_verify (note, &other, 1, &verified, NULL), RH_OK);
    CU_ASSERT_EQUAL (verified, 0);
    other = keys [1];
    strcpy (other.name, "witness.example/w2");
    CU_ASSERT_EQUAL (rh_note_verify (note, &other, 1, &verified, NULL), RH_OK);
    CU_ASSERT_EQUAL (verified, 0);
    //  A matching name and id with another public key: the signature fails, the note is refused.
    other = keys [1];
    other.public_key [0] ^= 1;
    CU_ASSERT_EQUAL (rh_note_verify (note, &other, 1, &verified, NULL), RH_E_SIG);
    //  The log key read as a cosigner (type 0x04) or the witness key as type 0x01: no match.
    other = keys [0];
    other.type = RH_NOTE_TYPE_COSIGNATURE;
    CU_ASSERT_EQUAL (rh_note_verify (note, &other, 1, &verified, NULL), RH_E_SIG);
    rh_note_destroy (&note);

    //  A cosignature whose timestamp is past 2^63 - 1 is refused even when its signature holds.
    uint8_t secret [RH_NOTE_SECRET_LEN];
    s_secret (0, secret);
    note = rh_note_new (s_cp_text, strlen (s_cp_text));
    uint64_t late = (uint64_t) INT64_MAX + 1;
    uint8_t *message = NULL;
    size_t message_size = 0;
    CU_ASSERT_EQUAL_FATAL (
        rh_note_cosignature_message (s_cp_text, strlen (s_cp_text), late, &message, &message_size),
        0);
    uint8_t raw [4 + RH_NOTE_COSIG_LEN];
    uint32_t id = keys [1].id;
    for (int i = 0; i < 4; i++)
        raw [i] = (uint8_t) (id >> (24 - 8 * i));
    for (int i = 0; i < 8; i++)
        raw [4 + i] = (uint8_t) (late >> (56 - 8 * i));
    crypto_sign_detached (raw + 12, NULL, message, message_size, secret);
    free (message);
    char b64 [128], line [256];
    sodium_bin2base64 (b64, sizeof b64, raw, sizeof raw, sodium_base64_VARIANT_ORIGINAL);
    int n = snprintf (line, sizeof line, "\xe2\x80\x94 witness.example/w1 %s\n", b64);
    CU_ASSERT_EQUAL_FATAL (rh_note_add_lines (note, (uint8_t *) line, (size_t) n), RH_OK);
    CU_ASSERT_EQUAL (rh_note_verify (note, &keys [1], 1, &verified, NULL), RH_E_SIG);
    rh_note_destroy (&note);
    free (good);
}

static void
test_malformed_notes_are_refused (void)
{
    CU_ASSERT_EQUAL (s_parse_rc (s_spec_note), RH_OK);
    const char *sig =
        "\xe2\x80\x94 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlT"
        "gK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=";
    char buffer [1024];
    //  No blank line, no signature, no final newline.
    snprintf (buffer, sizeof buffer, "Text\n%s\n", sig);
    CU_ASSERT_EQUAL (s_parse_rc (buffer), RH_E_MALFORMED);
    CU_ASSERT_EQUAL (s_parse_rc ("Text\n\n"), RH_E_MALFORMED);
    snprintf (buffer, sizeof buffer, "Text\n\n%s", sig);
    CU_ASSERT_EQUAL (s_parse_rc (buffer), RH_E_MALFORMED);
    CU_ASSERT_EQUAL (s_parse_rc (""), RH_E_MALFORMED);
    //  A control character, a tab, a carriage return, invalid UTF-8, an overlong form.
    const char *bad_texts [] = { "Te\x01xt\n", "Te\txt\n",       "Text\r\n",
                                 "Te\xffxt\n", "Te\xc0\xafxt\n", "Te\xed\xa0\x80xt\n" };
    for (size_t i = 0; i < sizeof bad_texts / sizeof bad_texts [0]; i++) {
        snprintf (buffer, sizeof buffer, "%s\n%s\n", bad_texts [i], sig);
        CU_ASSERT_EQUAL (s_parse_rc (buffer), RH_E_MALFORMED);
    }
    //  Bad signature lines: dash missing, hyphen for dash, name empty, name with '+', NBSP in the
    //  name, no base64, base64 unpadded, base64 with a non-canonical last character, too short.
    const char *bad_lines [] = {
        "example.com/foo Uw2QOkn8",
        "- example.com/foo Uw2QOkn8",
        "\xe2\x80\x94  Uw2QOkn8",
        "\xe2\x80\x94 a+b Uw2QOkn8",
        "\xe2\x80\x94 a\xc2\xa0z Uw2QOkn8",
        "\xe2\x80\x94 example.com/foo",
        "\xe2\x80\x94 example.com/foo Uw2QOkn",
        "\xe2\x80\x94 example.com/foo Uw2QOkn8x==",
        "\xe2\x80\x94 example.com/foo Uw2QOh==",
        "\xe2\x80\x94 example.com/foo Uw2QOg==",
        "\xe2\x80\x94 example.com/foo Uw2Q",
        "\xe2\x80\x94 example.com/foo AAAAAAAA!!!!",  //  valid base64, then not
    };
    for (size_t i = 0; i < sizeof bad_lines / sizeof bad_lines [0]; i++) {
        snprintf (buffer, sizeof buffer, "Text\n\n%s\n", bad_lines [i]);
        CU_ASSERT_EQUAL (s_parse_rc (buffer), RH_E_MALFORMED);
    }
    //  The text may hold blank lines: the last one separates.
    snprintf (buffer, sizeof buffer, "Para one\n\nPara two\n\n%s\n", sig);
    rh_note_t *note = s_parse (buffer);
    CU_ASSERT_PTR_NOT_NULL_FATAL (note);
    size_t size = 0;
    rh_note_text (note, &size);
    CU_ASSERT_EQUAL (size, strlen ("Para one\n\nPara two\n"));
    rh_note_destroy (&note);
    //  rh_note_new refuses what rh_note_parse would.
    CU_ASSERT_PTR_NULL (rh_note_new ("no newline", 10));
    CU_ASSERT_PTR_NULL (rh_note_new ("bad\x02\n", 5));
    CU_ASSERT_PTR_NULL (rh_note_new ("", 0));
}

static void
test_limits_are_enforced (void)
{
    uint8_t secret [RH_NOTE_SECRET_LEN];
    s_secret (0, secret);
    //  Up to RH_NOTE_MAX_SIGNATURES lines parse; one more is too many.
    rh_note_t *note = rh_note_new ("Text\n", 5);
    for (int i = 0; i < RH_NOTE_MAX_SIGNATURES; i++)
        CU_ASSERT_EQUAL (rh_note_sign (note, "k", secret), 0);
    CU_ASSERT_EQUAL (rh_note_sign (note, "k", secret), -1);
    char *encoded = NULL;
    size_t size = 0;
    CU_ASSERT_EQUAL_FATAL (rh_note_encode (note, &encoded, &size), 0);
    rh_note_t *parsed = NULL;
    CU_ASSERT_EQUAL (rh_note_parse ((uint8_t *) encoded, size, &parsed), RH_OK);
    char line [256];
    int n = rh_note_line (note, 0, line, sizeof line);
    CU_ASSERT_EQUAL (rh_note_add_lines (parsed, (uint8_t *) line, (size_t) n), RH_E_TOO_LARGE);
    CU_ASSERT_EQUAL (rh_note_signatures (parsed), RH_NOTE_MAX_SIGNATURES);
    rh_note_destroy (&parsed);
    char *more = malloc (size + (size_t) n + 1);
    memcpy (more, encoded, size);
    memcpy (more + size, line, (size_t) n + 1);
    CU_ASSERT_EQUAL (rh_note_parse ((uint8_t *) more, size + (size_t) n, &parsed), RH_E_TOO_LARGE);
    CU_ASSERT_PTR_NULL (parsed);
    free (more);
    free (encoded);
    rh_note_destroy (&note);
    //  A note over RH_NOTE_MAX_SIZE is refused before it is read.
    uint8_t *big = calloc (1, RH_NOTE_MAX_SIZE + 1);
    CU_ASSERT_EQUAL (rh_note_parse (big, RH_NOTE_MAX_SIZE + 1, &parsed), RH_E_TOO_LARGE);
    free (big);
    //  Names over RH_NOTE_MAX_NAME bytes are not names.
    char name [RH_NOTE_MAX_NAME + 2];
    memset (name, 'n', sizeof name - 1);
    name [sizeof name - 1] = 0;
    CU_ASSERT_FALSE (rh_note_name_valid (name));
    name [RH_NOTE_MAX_NAME] = 0;
    CU_ASSERT_TRUE (rh_note_name_valid (name));
    CU_ASSERT_FALSE (rh_note_name_valid (""));
}

static void
test_adding_witness_lines_to_a_checkpoint (void)
{
    rh_note_vkey_t keys [2];
    CU_ASSERT_EQUAL_FATAL (rh_note_vkey_parse (s_log_vkey, &keys [0]), RH_OK);
    CU_ASSERT_EQUAL_FATAL (rh_note_vkey_parse (s_wit_vkey, &keys [1]), RH_OK);
    char text [512];
    snprintf (text, sizeof text, "%s\n%s", s_cp_text, s_log_line);
    rh_note_t *note = s_parse (text);
    CU_ASSERT_PTR_NOT_NULL_FATAL (note);
    size_t verified = 0;
    CU_ASSERT_EQUAL (rh_note_verify (note, &keys [1], 1, &verified, NULL), RH_OK);
    CU_ASSERT_EQUAL (verified, 0);  //  no cosignature yet: the caller's quorum refuses it
    CU_ASSERT_EQUAL (rh_note_add_lines (note, (const uint8_t *) "garbage\n", 8), RH_E_MALFORMED);
    CU_ASSERT_EQUAL (rh_note_add_lines (note, (const uint8_t *) "", 0), RH_E_MALFORMED);
    CU_ASSERT_EQUAL (rh_note_signatures (note), 1);
    CU_ASSERT_EQUAL (rh_note_add_lines (note, (const uint8_t *) s_wit_line, strlen (s_wit_line)),
                     RH_OK);
    CU_ASSERT_EQUAL (rh_note_verify (note, keys, 2, &verified, NULL), RH_OK);
    CU_ASSERT_EQUAL (verified, 2);
    rh_note_destroy (&note);
}

static void
test_checkpoint_text_parses_strictly (void)
{
    rh_note_checkpoint_t cp;
    CU_ASSERT_EQUAL_FATAL (rh_note_checkpoint_parse (s_cp_text, strlen (s_cp_text), &cp), RH_OK);
    CU_ASSERT_STRING_EQUAL (cp.origin, "example.com/behind-the-sofa");
    CU_ASSERT_EQUAL (cp.size, 20852163);
    CU_ASSERT_EQUAL (cp.root [0], 0x0a);
    CU_ASSERT_EQUAL (cp.extensions, 0);
    char out [256];
    int n = rh_note_checkpoint_format (cp.origin, cp.size, cp.root, out, sizeof out);
    CU_ASSERT_EQUAL (n, (int) strlen (s_cp_text));
    CU_ASSERT_STRING_EQUAL (out, s_cp_text);
    CU_ASSERT_EQUAL (rh_note_checkpoint_format ("a\nb", 1, cp.root, out, sizeof out), -1);
    CU_ASSERT_EQUAL (rh_note_checkpoint_format ("", 1, cp.root, out, sizeof out), -1);
    CU_ASSERT_EQUAL (rh_note_checkpoint_format ("o", 1, cp.root, out, 10), -1);

    const char *root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
    char text [512];
    snprintf (text, sizeof text, "o\n0\n%s\next one\next two\n", root);
    CU_ASSERT_EQUAL (rh_note_checkpoint_parse (text, strlen (text), &cp), RH_OK);
    CU_ASSERT_EQUAL (cp.size, 0);
    CU_ASSERT_EQUAL (cp.extensions, 2);
    snprintf (text, sizeof text, "o\n18446744073709551615\n%s\n", root);
    CU_ASSERT_EQUAL (rh_note_checkpoint_parse (text, strlen (text), &cp), RH_OK);
    CU_ASSERT_EQUAL (cp.size, UINT64_MAX);
    const char *bad [] = {
        "o\n1\n",                                                                   //  no root
        "o\n01\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",                    //  leading zero
        "o\n+1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",                    //  sign
        "o\n18446744073709551616\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",  //  2^64
        "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2=\n",                      //  31 bytes
        "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2J=\n",    //  non-canonical
        "\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",     //  no origin
        "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n",  //  empty extension
        "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=",      //  no final newline
        "o\n1 \nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",   //  trailing space
        //  Bytes above 0x7f that libsodium's decoder reads as base64 (found by fuzz_note).
        "o\n1\nSBNJTRN+\xd2\x90ncluderKtue3eqdM4RhdRWVl71HXN2d7I=\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++)
        CU_ASSERT_EQUAL (rh_note_checkpoint_parse (bad [i], strlen (bad [i]), &cp), RH_E_MALFORMED);
    //  More than RH_NOTE_MAX_EXTENSIONS extension lines.
    int used = snprintf (text, sizeof text, "o\n1\n%s\n", root);
    for (int i = 0; i <= RH_NOTE_MAX_EXTENSIONS; i++)
        used += snprintf (text + used, sizeof text - (size_t) used, "x\n");
    CU_ASSERT_EQUAL (rh_note_checkpoint_parse (text, strlen (text), &cp), RH_E_TOO_LARGE);
}

static void
test_vkeys_parse_strictly (void)
{
    rh_note_vkey_t key;
    CU_ASSERT_EQUAL (rh_note_vkey_parse (s_wit_vkey, &key), RH_OK);
    const char *bad [] = {
        "example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",   //  wrong id
        "example.com/foo+530D903A+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",   //  upper hex
        "example.com/fo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",    //  other name
        "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2",    //  short key
        "example.com/foo+530d903a+AukyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",   //  type 0x02
        "example.com/foo+530d903+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",    //  7 hex digits
        "example.com/foo+530d903a",                                                //  no key
        "+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",                  //  no name
        "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k ",  //  space
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++)
        CU_ASSERT_EQUAL (rh_note_vkey_parse (bad [i], &key), RH_E_MALFORMED);
    char big [RH_NOTE_MAX_VKEY + 2];
    memset (big, 'a', sizeof big - 1);
    big [sizeof big - 1] = 0;
    CU_ASSERT_EQUAL (rh_note_vkey_parse (big, &key), RH_E_TOO_LARGE);
    uint8_t public_key [RH_PUBKEY_LEN] = { 0 };
    CU_ASSERT_EQUAL (rh_note_vkey_make ("a b", 1, public_key, &key), RH_E_MALFORMED);
    CU_ASSERT_EQUAL (rh_note_vkey_make ("ab", 2, public_key, &key), RH_E_MALFORMED);
    CU_ASSERT_EQUAL (rh_note_vkey_make ("ab", 4, public_key, &key), RH_OK);
}

static void
test_add_checkpoint_requests_round_trip_and_refuse_bad_bodies (void)
{
    //  The tlog-witness example's shape: old size, four proof lines, blank, checkpoint.
    char note_text [512];
    snprintf (note_text, sizeof note_text, "%s\n%s", s_cp_text, s_log_line);
    rh_note_t *note = s_parse (note_text);
    CU_ASSERT_PTR_NOT_NULL_FATAL (note);
    uint8_t proof [RH_NOTE_MAX_PROOF][RH_DIGEST_LEN];
    for (int i = 0; i < 4; i++)
        memset (proof [i], i + 1, RH_DIGEST_LEN);
    char *body = NULL;
    size_t size = 0;
    CU_ASSERT_EQUAL_FATAL (
        rh_note_request_encode (20852014, (const uint8_t (*) [32]) proof, 4, note, &body, &size),
        0);
    CU_ASSERT_EQUAL (strncmp (body, "old 20852014\nAQEBAQEB", 21), 0);
    uint64_t old_size = 0;
    size_t count = 0;
    uint8_t parsed [RH_NOTE_MAX_PROOF][RH_DIGEST_LEN];
    rh_note_t *got = NULL;
    rh_note_checkpoint_t cp;
    CU_ASSERT_EQUAL (
        rh_note_request_parse ((uint8_t *) body, size, &old_size, parsed, &count, &got, &cp),
        RH_OK);
    CU_ASSERT_EQUAL (old_size, 20852014);
    CU_ASSERT_EQUAL (count, 4);
    CU_ASSERT_EQUAL (memcmp (parsed, proof, 4 * RH_DIGEST_LEN), 0);
    CU_ASSERT_EQUAL (cp.size, 20852163);
    CU_ASSERT_EQUAL (rh_note_signatures (got), 1);
    rh_note_destroy (&got);
    free (body);

    const char *bad [] = {
        "",
        "old\n\n",
        "old 01\n\n",
        "old -1\n\n",
        "new 1\n\n",
        "old 1\nnot base64\n\n",
        "old 1\nAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\n",  //  no blank line
        "old 1\n\nexample.com/log\n1\n",                          //  no signature
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++) {
        CU_ASSERT_EQUAL (rh_note_request_parse ((const uint8_t *) bad [i], strlen (bad [i]),
                                                &old_size, parsed, &count, &got, &cp),
                         RH_E_MALFORMED);
        CU_ASSERT_PTR_NULL (got);
    }
    //  A valid signed note whose text is no checkpoint.
    char request [1024];
    snprintf (request, sizeof request, "old 0\n\n%s", s_spec_note);
    CU_ASSERT_EQUAL (rh_note_request_parse ((uint8_t *) request, strlen (request), &old_size,
                                            parsed, &count, &got, &cp),
                     RH_E_MALFORMED);
    CU_ASSERT_PTR_NULL (got);
    //  64 proof lines: one more than the spec allows.
    uint8_t many [RH_NOTE_MAX_PROOF + 1][RH_DIGEST_LEN];
    memset (many, 7, sizeof many);
    CU_ASSERT_EQUAL (rh_note_request_encode (1, (const uint8_t (*) [32]) many,
                                             RH_NOTE_MAX_PROOF + 1, note, &body, &size),
                     -1);
    CU_ASSERT_EQUAL (rh_note_request_encode (1, (const uint8_t (*) [32]) many, RH_NOTE_MAX_PROOF,
                                             note, &body, &size),
                     0);
    char *longer = malloc (size + 64);
    const char *line = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n";
    size_t head = strlen ("old 1\n");
    memcpy (longer, body, head);
    memcpy (longer + head, line, strlen (line));
    memcpy (longer + head + strlen (line), body + head, size - head);
    CU_ASSERT_EQUAL (
        rh_note_request_parse ((uint8_t *) body, size, &old_size, parsed, &count, &got, &cp),
        RH_OK);
    CU_ASSERT_EQUAL (count, RH_NOTE_MAX_PROOF);
    rh_note_destroy (&got);
    CU_ASSERT_EQUAL (rh_note_request_parse ((uint8_t *) longer, size + strlen (line), &old_size,
                                            parsed, &count, &got, &cp),
                     RH_E_TOO_LARGE);
    free (longer);
    free (body);
    rh_note_destroy (&note);
}

//  A broker checkpoint carries its witnesses' cosignature lines through a frame, and counts
//  toward a quorum only with the key that made them, over its own origin, size and root.
static void
test_a_checkpoint_carries_cosignatures_to_a_quorum (void)
{
    uint8_t secret_a [RH_NOTE_SECRET_LEN], secret_b [RH_NOTE_SECRET_LEN];
    s_secret (1, secret_a);
    s_secret (77, secret_b);
    rh_note_vkey_t keys [2];
    CU_ASSERT_EQUAL_FATAL (
        rh_note_vkey_make ("witness.example/a", RH_NOTE_TYPE_COSIGNATURE, secret_a + 32, &keys [0]),
        RH_OK);
    CU_ASSERT_EQUAL_FATAL (
        rh_note_vkey_make ("witness.example/b", RH_NOTE_TYPE_COSIGNATURE, secret_b + 32, &keys [1]),
        RH_OK);
    rh_checkpoint_t checkpoint;
    memset (&checkpoint, 0, sizeof checkpoint);
    checkpoint.size = 12;
    memset (checkpoint.root, 0x5a, RH_DIGEST_LEN);
    size_t cosigned = 9;
    CU_ASSERT_EQUAL (rh_note_checkpoint_cosigned (&checkpoint, keys, 2, &cosigned), RH_OK);
    CU_ASSERT_EQUAL (cosigned, 0);  //  no origin, no lines: nothing cosigned
    //  Witness a cosigns the checkpoint text; its line travels in the frame.
    rh_note_t *note = rh_note_from_checkpoint ("rhannu.example/log", &checkpoint);
    CU_ASSERT_PTR_NOT_NULL_FATAL (note);
    CU_ASSERT_EQUAL_FATAL (rh_note_cosign (note, "witness.example/a", secret_a, 1700000000), 0);
    char line [RH_CHECKPOINT_MAX_COSIGNED];
    CU_ASSERT_FATAL (rh_note_line (note, 0, line, sizeof line) > 0);
    rh_note_destroy (&note);
    CU_ASSERT_EQUAL (rh_checkpoint_witnessing_set (&checkpoint, "rhannu.example/log", line), RH_OK);
    rh_frame_t frame = { .type = RH_FRAME_CHECKPOINT, .checkpoint = checkpoint };
    size_t size = 0;
    uint8_t *bytes = rh_frame_encode (&frame, &size);
    CU_ASSERT_PTR_NOT_NULL_FATAL (bytes);
    rh_frame_t decoded;
    CU_ASSERT_EQUAL_FATAL (rh_frame_decode (bytes, size, &decoded), RH_OK);
    free (bytes);
    rh_checkpoint_t received = decoded.checkpoint;
    rh_frame_release (&decoded);
    CU_ASSERT_STRING_EQUAL (received.cosignatures, line);
    CU_ASSERT_EQUAL (rh_note_checkpoint_cosigned (&received, keys, 2, &cosigned), RH_OK);
    CU_ASSERT_EQUAL (cosigned, 1);
    CU_ASSERT_EQUAL (rh_note_checkpoint_cosigned (&received, keys + 1, 1, &cosigned), RH_OK);
    CU_ASSERT_EQUAL (cosigned, 0);  //  b never cosigned
    //  The same line over another size, root or origin does not verify with a's key.
    rh_checkpoint_t other = received;
    other.size = 13;
    CU_ASSERT_EQUAL (rh_note_checkpoint_cosigned (&other, keys, 2, &cosigned), RH_E_SIG);
    other = received;
    other.root [0] ^= 1;
    CU_ASSERT_EQUAL (rh_note_checkpoint_cosigned (&other, keys, 2, &cosigned), RH_E_SIG);
    other = received;
    strcpy (other.origin, "rhannu.example/elsewhere");
    CU_ASSERT_EQUAL (rh_note_checkpoint_cosigned (&other, keys, 2, &cosigned), RH_E_SIG);
    //  Lines that do not parse are malformed; fields too long for the struct are refused.
    other = received;
    strcpy (other.cosignatures, "not a signature line\n");
    CU_ASSERT_EQUAL (rh_note_checkpoint_cosigned (&other, keys, 2, &cosigned), RH_E_MALFORMED);
    char *long_text = malloc (RH_CHECKPOINT_MAX_COSIGNED + 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL (long_text);
    memset (long_text, 'x', RH_CHECKPOINT_MAX_COSIGNED);
    long_text [RH_CHECKPOINT_MAX_COSIGNED] = 0;
    CU_ASSERT_EQUAL (rh_checkpoint_witnessing_set (&other, "o", long_text), RH_E_TOO_LARGE);
    CU_ASSERT_STRING_EQUAL (other.cosignatures, "");
    free (long_text);
}

void
init_rh_note_tests (void)
{
    CU_pSuite suite = CU_add_suite ("rh_note", NULL, NULL);
    CU_add_test (suite, "the spec's example note verifies with its vkey",
                 test_the_spec_example_note_verifies_with_its_vkey);
    CU_add_test (suite, "signing and cosigning match independent vectors",
                 test_signing_and_cosigning_match_independent_vectors);
    CU_add_test (suite, "a tampered note is refused by the keys it names",
                 test_a_tampered_note_is_refused_by_the_keys_it_names);
    CU_add_test (suite, "malformed notes are refused", test_malformed_notes_are_refused);
    CU_add_test (suite, "limits are enforced", test_limits_are_enforced);
    CU_add_test (suite, "adding witness lines to a checkpoint",
                 test_adding_witness_lines_to_a_checkpoint);
    CU_add_test (suite, "checkpoint text parses strictly", test_checkpoint_text_parses_strictly);
    CU_add_test (suite, "vkeys parse strictly", test_vkeys_parse_strictly);
    CU_add_test (suite, "add-checkpoint requests round-trip and refuse bad bodies",
                 test_add_checkpoint_requests_round_trip_and_refuse_bad_bodies);
    CU_add_test (suite, "a checkpoint carries cosignatures to a quorum",
                 test_a_checkpoint_carries_cosignatures_to_a_quorum);
}
