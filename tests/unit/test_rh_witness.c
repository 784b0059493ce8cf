/*  =========================================================================
    test_rh_witness - the tlog-witness add-checkpoint rules, one status code
    each: a log grows and is cosigned; forks, rollbacks, wrong old sizes,
    bad proofs, unknown logs and bad signatures are refused; the state
    survives a new witness on the same folder
    =========================================================================
*/
#include "test_helpers.h"
#include "rh_witness.h"

#define S_ORIGIN "rhannu.example/gwent"
#define S_LEAVES 40

typedef struct {
    uint8_t leaves [S_LEAVES][RH_DIGEST_LEN];  //  leaf hashes; a fork changes one
} s_log_t;

static int
s_node (void *arg, unsigned level, uint64_t index, uint8_t out [RH_DIGEST_LEN])
{
    s_log_t *log = arg;
    uint64_t begin = index << level, end = begin + (1ULL << level);
    if (end > S_LEAVES)
        return -1;
    if (level == 0) {
        memcpy (out, log->leaves [begin], RH_DIGEST_LEN);
        return 0;
    }
    uint8_t left [RH_DIGEST_LEN], right [RH_DIGEST_LEN];
    if (s_node (arg, level - 1, index * 2, left) != 0
        || s_node (arg, level - 1, index * 2 + 1, right) != 0)
        return -1;
    rh_merkle_node_hash (left, right, out);
    return 0;
}

static void
s_log_init (s_log_t *log, uint8_t salt)
{
    for (int i = 0; i < S_LEAVES; i++) {
        uint8_t data [2] = { (uint8_t) i, salt };
        rh_merkle_leaf_hash (data, sizeof data, log->leaves [i]);
    }
}

static void
s_secret (uint8_t first, uint8_t secret [RH_NOTE_SECRET_LEN])
{
    uint8_t seed [32], public_key [32];
    for (int i = 0; i < 32; i++)
        seed [i] = (uint8_t) (first + i);
    crypto_sign_seed_keypair (public_key, secret, seed);
}

//  An add-checkpoint body: old size, the proof from old to size of log, the checkpoint of size
//  signed by secret as origin. proof_fix lets a test break the proof.
static char *
s_request (s_log_t *log, const char *origin, const uint8_t secret [RH_NOTE_SECRET_LEN],
           uint64_t old, uint64_t size, bool break_proof, size_t *body_size)
{
    uint8_t root [RH_DIGEST_LEN];
    if (size == 0)
        rh_sha256 (root, "", 0);
    else
        CU_ASSERT_FATAL (rh_merkle_range_hash (s_node, log, 0, size, root) == 0);
    uint8_t proof [RH_MERKLE_MAX_PROOF][RH_DIGEST_LEN];
    int count = 0;
    if (old > 0 && old < size)
        count = rh_merkle_consistency_proof (s_node, log, old, size, proof, RH_MERKLE_MAX_PROOF);
    CU_ASSERT_FATAL (count >= 0);
    if (break_proof && count > 0)
        proof [0][0] ^= 1;
    char text [512];
    int n = rh_note_checkpoint_format (origin, size, root, text, sizeof text);
    rh_note_t *note = rh_note_new (text, (size_t) n);
    CU_ASSERT_FATAL (note && rh_note_sign (note, origin, secret) == 0);
    char *body = NULL;
    CU_ASSERT_FATAL (rh_note_request_encode (old, (const uint8_t (*) [32]) proof, (size_t) count,
                                             note, &body, body_size)
                     == 0);
    rh_note_destroy (&note);
    return body;
}

//  Submits and returns the status; checks a 200's cosignature with the witness's vkey.
static int
s_submit (rh_witness_t *witness, const char *body, size_t size, char *reply_body, size_t max)
{
    rh_witness_reply_t reply;
    CU_ASSERT_EQUAL_FATAL (
        rh_witness_add_checkpoint (witness, (const uint8_t *) body, size, 1700000000, &reply), 0);
    if (reply_body)
        snprintf (reply_body, max, "%.*s", (int) reply.size, reply.body);
    if (reply.status == 200) {
        //  The reply is one cosignature line over the submitted checkpoint's text.
        const char *blank = strstr (body, "\n\n");
        rh_note_t *note = NULL;
        CU_ASSERT_EQUAL_FATAL (
            rh_note_parse ((const uint8_t *) blank + 2, size - (size_t) (blank + 2 - body), &note),
            RH_OK);
        CU_ASSERT_EQUAL (rh_note_add_lines (note, (uint8_t *) reply.body, reply.size), RH_OK);
        size_t verified = 0;
        uint64_t time = 0;
        CU_ASSERT_EQUAL (rh_note_verify (note, rh_witness_vkey (witness), 1, &verified, &time),
                         RH_OK);
        CU_ASSERT_EQUAL (verified, 1);
        CU_ASSERT_EQUAL (time, 1700000000);
        rh_note_destroy (&note);
    }
    free (reply.body);
    return reply.status;
}

static int
s_add (rh_witness_t *witness, s_log_t *log, const uint8_t *secret, uint64_t old, uint64_t size,
       bool break_proof)
{
    size_t body_size = 0;
    char *body = s_request (log, S_ORIGIN, secret, old, size, break_proof, &body_size);
    int status = s_submit (witness, body, body_size, NULL, 0);
    free (body);
    return status;
}

static void
test_a_witness_cosigns_a_growing_log_and_refuses_forks_and_rollbacks (void)
{
    char state [PATH_MAX];
    test_tempdir (state, sizeof state);
    uint8_t log_secret [RH_NOTE_SECRET_LEN], wit_secret [RH_NOTE_SECRET_LEN];
    s_secret (32, log_secret);
    s_secret (0, wit_secret);
    rh_note_vkey_t log_key;
    CU_ASSERT_EQUAL_FATAL (rh_note_vkey_make (S_ORIGIN, 1, log_secret + 32, &log_key), RH_OK);
    rh_witness_t *witness = rh_witness_new ("witness.example/w1", wit_secret, state, &log_key, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL (witness);
    s_log_t log, fork;
    s_log_init (&log, 0);
    s_log_init (&fork, 0);
    memset (fork.leaves [12], 0xee, RH_DIGEST_LEN);  //  the same log, one leaf rewritten

    CU_ASSERT_EQUAL (s_add (witness, &log, log_secret, 0, 5, false), 200);
    CU_ASSERT_EQUAL (s_add (witness, &log, log_secret, 5, 13, false), 200);
    CU_ASSERT_EQUAL (s_add (witness, &log, log_secret, 13, 13, false), 200);  //  same again
    uint64_t size = 0;
    uint8_t root [RH_DIGEST_LEN], expected [RH_DIGEST_LEN];
    CU_ASSERT_EQUAL (rh_witness_state (witness, S_ORIGIN, &size, root), 0);
    CU_ASSERT_EQUAL (size, 13);
    rh_merkle_range_hash (s_node, &log, 0, 13, expected);
    CU_ASSERT_EQUAL (memcmp (root, expected, RH_DIGEST_LEN), 0);

    //  A fork: the same size with another root, or a larger tree that does not extend ours.
    CU_ASSERT_EQUAL (s_add (witness, &fork, log_secret, 13, 13, false), 422);
    CU_ASSERT_EQUAL (s_add (witness, &fork, log_secret, 13, 20, false), 422);
    //  A bad proof of the real log.
    CU_ASSERT_EQUAL (s_add (witness, &log, log_secret, 13, 20, true), 422);
    //  A rollback: a smaller tree, claimed from our size (400) or from its own (409 + our size).
    CU_ASSERT_EQUAL (s_add (witness, &log, log_secret, 13, 5, false), 400);
    size_t body_size = 0;
    char *body = s_request (&log, S_ORIGIN, log_secret, 0, 5, false, &body_size);
    char reply [64];
    CU_ASSERT_EQUAL (s_submit (witness, body, body_size, reply, sizeof reply), 409);
    CU_ASSERT_STRING_EQUAL (reply, "13\n");
    free (body);
    CU_ASSERT_EQUAL (s_add (witness, &log, log_secret, 5, 20, false), 409);
    //  Nothing refused changed the state.
    CU_ASSERT_EQUAL (rh_witness_state (witness, S_ORIGIN, &size, root), 0);
    CU_ASSERT_EQUAL (size, 13);
    CU_ASSERT_EQUAL (memcmp (root, expected, RH_DIGEST_LEN), 0);

    //  Another key signed it (403); another origin (404); not a request (400).
    uint8_t other [RH_NOTE_SECRET_LEN];
    s_secret (64, other);
    CU_ASSERT_EQUAL (s_add (witness, &log, other, 13, 20, false), 403);
    body = s_request (&log, "rhannu.example/elsewhere", log_secret, 13, 20, false, &body_size);
    CU_ASSERT_EQUAL (s_submit (witness, body, body_size, NULL, 0), 404);
    free (body);
    CU_ASSERT_EQUAL (s_submit (witness, "old 1\n", 6, NULL, 0), 400);

    //  A new witness on the same folder (a restart) remembers: the log goes on from 13.
    rh_witness_destroy (&witness);
    CU_ASSERT_PTR_NULL (witness);
    witness = rh_witness_new ("witness.example/w1", wit_secret, state, &log_key, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL (witness);
    CU_ASSERT_EQUAL (s_add (witness, &log, log_secret, 0, 20, false), 409);
    CU_ASSERT_EQUAL (s_add (witness, &log, log_secret, 13, 40, false), 200);
    CU_ASSERT_EQUAL (rh_witness_state (witness, S_ORIGIN, &size, root), 0);
    CU_ASSERT_EQUAL (size, 40);
    rh_witness_destroy (&witness);
}

static void
test_a_witness_refuses_an_empty_tree_with_a_wrong_root_and_a_proof_from_zero (void)
{
    char state [PATH_MAX];
    test_tempdir (state, sizeof state);
    uint8_t log_secret [RH_NOTE_SECRET_LEN], wit_secret [RH_NOTE_SECRET_LEN];
    s_secret (32, log_secret);
    s_secret (0, wit_secret);
    rh_note_vkey_t log_key;
    rh_note_vkey_make (S_ORIGIN, 1, log_secret + 32, &log_key);
    rh_witness_t *witness = rh_witness_new ("witness.example/w1", wit_secret, state, &log_key, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL (witness);
    s_log_t log;
    s_log_init (&log, 0);
    CU_ASSERT_EQUAL (s_add (witness, &log, log_secret, 0, 0, false), 200);
    //  Size 0 with a root other than SHA-256 of nothing.
    uint8_t root [RH_DIGEST_LEN];
    memset (root, 1, sizeof root);
    char text [256], *body = NULL;
    size_t body_size = 0;
    int n = rh_note_checkpoint_format (S_ORIGIN, 0, root, text, sizeof text);
    rh_note_t *note = rh_note_new (text, (size_t) n);
    rh_note_sign (note, S_ORIGIN, log_secret);
    rh_note_request_encode (0, NULL, 0, note, &body, &body_size);
    CU_ASSERT_EQUAL (s_submit (witness, body, body_size, NULL, 0), 422);
    free (body);
    rh_note_destroy (&note);
    //  Size 0 with the right root but a proof line.
    rh_sha256 (root, "", 0);
    n = rh_note_checkpoint_format (S_ORIGIN, 0, root, text, sizeof text);
    note = rh_note_new (text, (size_t) n);
    rh_note_sign (note, S_ORIGIN, log_secret);
    uint8_t one [1][RH_DIGEST_LEN] = { { 0 } };
    rh_note_request_encode (0, (const uint8_t (*) [32]) one, 1, note, &body, &body_size);
    CU_ASSERT_EQUAL (s_submit (witness, body, body_size, NULL, 0), 422);
    free (body);
    rh_note_destroy (&note);
    //  From old size 0 a proof must be empty.
    rh_merkle_range_hash (s_node, &log, 0, 4, root);
    n = rh_note_checkpoint_format (S_ORIGIN, 4, root, text, sizeof text);
    note = rh_note_new (text, (size_t) n);
    rh_note_sign (note, S_ORIGIN, log_secret);
    uint8_t proof [1][RH_DIGEST_LEN] = { { 0 } };
    rh_note_request_encode (0, (const uint8_t (*) [32]) proof, 1, note, &body, &body_size);
    CU_ASSERT_EQUAL (s_submit (witness, body, body_size, NULL, 0), 422);
    free (body);
    rh_note_request_encode (0, NULL, 0, note, &body, &body_size);
    CU_ASSERT_EQUAL (s_submit (witness, body, body_size, NULL, 0), 200);
    free (body);
    rh_note_destroy (&note);
    rh_witness_destroy (&witness);
}

static void
test_a_witness_with_unreadable_state_refuses_to_cosign (void)
{
    char state [PATH_MAX], path [PATH_MAX];
    test_tempdir (state, sizeof state);
    uint8_t log_secret [RH_NOTE_SECRET_LEN], wit_secret [RH_NOTE_SECRET_LEN];
    s_secret (32, log_secret);
    s_secret (0, wit_secret);
    rh_note_vkey_t log_key;
    rh_note_vkey_make (S_ORIGIN, 1, log_secret + 32, &log_key);
    rh_witness_t *witness = rh_witness_new ("witness.example/w1", wit_secret, state, &log_key, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL (witness);
    s_log_t log;
    s_log_init (&log, 0);
    CU_ASSERT_EQUAL (s_add (witness, &log, log_secret, 0, 8, false), 200);
    //  Damage the state file: the witness must not start again from zero.
    uint8_t digest [RH_DIGEST_LEN];
    char hex [65];
    rh_sha256 (digest, S_ORIGIN, strlen (S_ORIGIN));
    sodium_bin2hex (hex, sizeof hex, digest, sizeof digest);
    rh_file_path (path, sizeof path, "%s/%s", state, hex);
    CU_ASSERT_EQUAL_FATAL (rh_file_write_atomic (path, "garbage\n", 8, 0600), 0);
    CU_ASSERT_EQUAL (s_add (witness, &log, log_secret, 0, 8, false), 500);
    CU_ASSERT_EQUAL (s_add (witness, &log, log_secret, 8, 9, false), 500);
    //  A well-formed state of another origin in its place is no state of this log either.
    uint8_t root [RH_DIGEST_LEN];
    rh_merkle_range_hash (s_node, &log, 0, 8, root);
    char text [256];
    int n = rh_note_checkpoint_format ("rhannu.example/other", 8, root, text, sizeof text);
    CU_ASSERT_EQUAL_FATAL (rh_file_write_atomic (path, text, (size_t) n, 0600), 0);
    CU_ASSERT_EQUAL (s_add (witness, &log, log_secret, 8, 9, false), 500);
    //  A state that cannot be read at all (larger than any state): not taken for "none".
    char big [4096];
    memset (big, 'x', sizeof big);
    CU_ASSERT_EQUAL_FATAL (rh_file_write_atomic (path, big, sizeof big, 0600), 0);
    CU_ASSERT_EQUAL (s_add (witness, &log, log_secret, 0, 8, false), 500);
    rh_witness_destroy (&witness);
    //  A witness refuses a log key that is not Ed25519 (type 1).
    log_key.type = RH_NOTE_TYPE_COSIGNATURE;
    CU_ASSERT_PTR_NULL (rh_witness_new ("witness.example/w1", wit_secret, state, &log_key, 1));
    CU_ASSERT_PTR_NULL (rh_witness_new ("bad name", wit_secret, state, NULL, 0));
}

static void
test_a_witness_cosigns_the_brokers_checkpoint_as_a_signed_note (void)
{
    //  A certificate's key stands in for the broker's: the note is signed with the key the
    //  broker's certificate names, as origin, and a witness that trusts its vkey cosigns it.
    rh_signer_t *signer = test_signer (test_pki ()->pki, "police-gwent");
    CU_ASSERT_PTR_NOT_NULL_FATAL (signer);
    s_log_t log;
    s_log_init (&log, 0);
    rh_checkpoint_t checkpoint = { .size = 9, .time_ms = 1700000000000 };
    rh_merkle_range_hash (s_node, &log, 0, 9, checkpoint.root);
    rh_note_t *note = rh_note_from_checkpoint (S_ORIGIN, &checkpoint);
    CU_ASSERT_PTR_NOT_NULL_FATAL (note);
    CU_ASSERT_EQUAL (rh_note_sign_with (note, S_ORIGIN, signer), 0);
    CU_ASSERT_EQUAL (rh_note_sign_with (note, "not a name", signer), -1);
    CU_ASSERT_PTR_NULL (rh_note_from_checkpoint ("two\nlines", &checkpoint));

    rh_note_vkey_t broker;
    CU_ASSERT_EQUAL_FATAL (
        rh_note_vkey_make (S_ORIGIN, RH_NOTE_TYPE_ED25519, rh_signer_public_key (signer), &broker),
        RH_OK);
    size_t verified = 0;
    CU_ASSERT_EQUAL (rh_note_verify (note, &broker, 1, &verified, NULL), RH_OK);
    CU_ASSERT_EQUAL (verified, 1);
    size_t text_size = 0;
    rh_note_checkpoint_t parsed;
    const char *text = rh_note_text (note, &text_size);
    CU_ASSERT_EQUAL (rh_note_checkpoint_parse (text, text_size, &parsed), RH_OK);
    CU_ASSERT_EQUAL (parsed.size, 9);
    CU_ASSERT_EQUAL (memcmp (parsed.root, checkpoint.root, RH_DIGEST_LEN), 0);

    char state [PATH_MAX];
    test_tempdir (state, sizeof state);
    uint8_t wit_secret [RH_NOTE_SECRET_LEN];
    s_secret (0, wit_secret);
    rh_witness_t *witness = rh_witness_new ("witness.example/w1", wit_secret, state, &broker, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL (witness);
    char *body = NULL;
    size_t body_size = 0;
    CU_ASSERT_EQUAL_FATAL (rh_note_request_encode (0, NULL, 0, note, &body, &body_size), 0);
    CU_ASSERT_EQUAL (s_submit (witness, body, body_size, NULL, 0), 200);
    free (body);
    //  Another agency's key is not the broker's: the same checkpoint signed by it is refused.
    rh_signer_t *other = test_signer (test_pki ()->pki, "la-newport");
    rh_note_t *forged = rh_note_from_checkpoint (S_ORIGIN, &checkpoint);
    CU_ASSERT_EQUAL (rh_note_sign_with (forged, S_ORIGIN, other), 0);
    CU_ASSERT_EQUAL_FATAL (rh_note_request_encode (9, NULL, 0, forged, &body, &body_size), 0);
    CU_ASSERT_EQUAL (s_submit (witness, body, body_size, NULL, 0), 403);
    free (body);
    rh_note_destroy (&forged);
    rh_note_destroy (&note);
    rh_witness_destroy (&witness);
    rh_signer_destroy (&other);
    rh_signer_destroy (&signer);
}

//  A store kept in memory, for rh_witness_new_with: one origin's state, and switches to make
//  loading or storing fail.
typedef struct {
    char origin [RH_NOTE_MAX_NAME + 1];
    char text [512];
    size_t size;
    bool fail_load, fail_store;
    int stores;
} s_store_t;

static int
s_store_load (void *arg, const char *origin, char *text, size_t size)
{
    s_store_t *store = arg;
    if (store->fail_load)
        return -1;
    if (!store->size || strcmp (store->origin, origin) != 0)
        return 0;
    if (store->size > size)
        return -1;
    memcpy (text, store->text, store->size);
    return (int) store->size;
}

static int
s_store_store (void *arg, const char *origin, const char *text, size_t size)
{
    s_store_t *store = arg;
    if (store->fail_store || size > sizeof store->text)
        return -1;
    snprintf (store->origin, sizeof store->origin, "%s", origin);
    memcpy (store->text, text, size);
    store->size = size;
    store->stores++;
    return 0;
}

static void
test_a_witness_keeps_its_state_where_its_owner_says (void)
{
    //  The broker's use: its own key (a signer's secret, copied) and its store.
    rh_signer_t *signer = test_signer (test_pki ()->pki, "police-gwent");
    CU_ASSERT_PTR_NOT_NULL_FATAL (signer);
    uint8_t secret [RH_SECRET_LEN], log_secret [RH_NOTE_SECRET_LEN];
    rh_signer_copy_secret (signer, secret);
    CU_ASSERT_EQUAL (memcmp (secret + 32, rh_signer_public_key (signer), RH_PUBKEY_LEN), 0);
    s_secret (32, log_secret);
    rh_note_vkey_t log_key;
    CU_ASSERT_EQUAL_FATAL (rh_note_vkey_make (S_ORIGIN, 1, log_secret + 32, &log_key), RH_OK);
    s_store_t memory = { .size = 0 };
    rh_witness_store_t store = { s_store_load, s_store_store, &memory };
    rh_witness_t *witness =
        rh_witness_new_with ("rhannu.example/cardiff", secret, &store, &log_key, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL (witness);
    CU_ASSERT_EQUAL (memcmp (rh_witness_vkey (witness)->public_key, rh_signer_public_key (signer),
                             RH_PUBKEY_LEN),
                     0);
    s_log_t log;
    s_log_init (&log, 0);
    CU_ASSERT_EQUAL (s_add (witness, &log, log_secret, 0, 8, false), 200);
    CU_ASSERT_EQUAL (memory.stores, 1);
    CU_ASSERT_PTR_NOT_NULL (strstr (memory.text, "\n8\n"));
    //  A storage failure: no cosignature, and the state stays as it was.
    memory.fail_store = true;
    CU_ASSERT_EQUAL (s_add (witness, &log, log_secret, 8, 12, false), 500);
    CU_ASSERT_PTR_NOT_NULL (strstr (memory.text, "\n8\n"));
    memory.fail_store = false;
    //  A state that cannot be read is never taken for "none".
    memory.fail_load = true;
    CU_ASSERT_EQUAL (s_add (witness, &log, log_secret, 0, 12, false), 500);
    memory.fail_load = false;
    rh_witness_destroy (&witness);
    //  A new witness on the same store goes on from size 8: a fork of it is refused.
    witness = rh_witness_new_with ("rhannu.example/cardiff", secret, &store, &log_key, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL (witness);
    CU_ASSERT_EQUAL (s_add (witness, &log, log_secret, 0, 12, false), 409);
    s_log_t fork;
    s_log_init (&fork, 0);
    rh_merkle_leaf_hash ((const uint8_t *) "other", 5, fork.leaves [3]);
    CU_ASSERT_EQUAL (s_add (witness, &fork, log_secret, 8, 12, false), 422);
    CU_ASSERT_EQUAL (s_add (witness, &log, log_secret, 8, 12, false), 200);
    rh_witness_destroy (&witness);
    sodium_memzero (secret, sizeof secret);
    rh_signer_destroy (&signer);
}

void
init_rh_witness_tests (void)
{
    CU_pSuite suite = CU_add_suite ("rh_witness", NULL, NULL);
    CU_add_test (suite, "a witness cosigns a growing log and refuses forks and rollbacks",
                 test_a_witness_cosigns_a_growing_log_and_refuses_forks_and_rollbacks);
    CU_add_test (suite, "a witness refuses an empty tree with a wrong root and a proof from zero",
                 test_a_witness_refuses_an_empty_tree_with_a_wrong_root_and_a_proof_from_zero);
    CU_add_test (suite, "a witness with unreadable state refuses to cosign",
                 test_a_witness_with_unreadable_state_refuses_to_cosign);
    CU_add_test (suite, "a witness keeps its state where its owner says",
                 test_a_witness_keeps_its_state_where_its_owner_says);
    CU_add_test (suite, "a witness cosigns the broker's checkpoint as a signed note",
                 test_a_witness_cosigns_the_brokers_checkpoint_as_a_signed_note);
}
