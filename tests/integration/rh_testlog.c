/*  =========================================================================
    rh-testlog - a toy transparency log for the witness tests

    rh-testlog vkey ORIGIN SEED                     the log's vkey
    rh-testlog request ORIGIN SEED OLD SIZE [FORK]  an add-checkpoint body on stdout
    rh-testlog check VKEY BODY-FILE REPLY-FILE      exit 0 if REPLY cosigns BODY's checkpoint
    rh-testlog keys DIR PREFIX                      the keys under PREFIX in a stopped store
    rh-testlog delete DIR KEY                       deletes KEY from a stopped store (damage
                                                    done by hand, for the erasure tests)

    Leaf i of the log is SHA-256 leaf hash of (i, 0); with FORK set, leaves
    from index FORK on are (i, 1): the same log rewritten from there. The
    log key is Ed25519 from the 32 bytes SEED, SEED+1, ... (a test key).
    =========================================================================
*/
#include "rh_proto.h"

typedef struct {
    uint64_t fork;  //  first rewritten leaf (UINT64_MAX: none)
} s_log_t;

static void
s_leaf (const s_log_t *log, uint64_t i, uint8_t out [RH_DIGEST_LEN])
{
    uint8_t data [9];
    for (int b = 0; b < 8; b++)
        data [b] = (uint8_t) (i >> (8 * b));
    data [8] = i >= log->fork;
    rh_merkle_leaf_hash (data, sizeof data, out);
}

static int
s_node (void *arg, unsigned level, uint64_t index, uint8_t out [RH_DIGEST_LEN])
{
    if (level == 0) {
        s_leaf (arg, index, out);
        return 0;
    }
    uint8_t left [RH_DIGEST_LEN], right [RH_DIGEST_LEN];
    s_node (arg, level - 1, index * 2, left);
    s_node (arg, level - 1, index * 2 + 1, right);
    rh_merkle_node_hash (left, right, out);
    return 0;
}

static void
s_secret (int first, uint8_t secret [RH_NOTE_SECRET_LEN])
{
    uint8_t seed [32], public_key [32];
    for (int i = 0; i < 32; i++)
        seed [i] = (uint8_t) (first + i);
    crypto_sign_seed_keypair (public_key, secret, seed);
}

static int
s_check (const char *vkey_text, const char *body_path, const char *reply_path)
{
    rh_note_vkey_t vkey;
    uint8_t *body = NULL, *reply = NULL;
    size_t body_size = 0, reply_size = 0, count = 0, verified = 0;
    uint64_t old = 0;
    uint8_t proof [RH_NOTE_MAX_PROOF][RH_DIGEST_LEN];
    rh_note_t *note = NULL;
    rh_note_checkpoint_t checkpoint;
    if (rh_note_vkey_parse (vkey_text, &vkey) != RH_OK
        || rh_file_read (body_path, RH_NOTE_MAX_SIZE, &body, &body_size) != 0
        || rh_file_read (reply_path, RH_NOTE_MAX_SIZE, &reply, &reply_size) != 0
        || rh_note_request_parse (body, body_size, &old, proof, &count, &note, &checkpoint) != RH_OK
        || rh_note_add_lines (note, reply, reply_size) != RH_OK
        || rh_note_verify (note, &vkey, 1, &verified, NULL) != RH_OK || verified != 1) {
        fprintf (stderr, "rh-testlog: the reply does not cosign the checkpoint\n");
        return 1;
    }
    rh_note_destroy (&note);
    free (body);
    free (reply);
    return 0;
}

//  Lists the keys under prefix, or deletes one key (sync). Returns the exit code.
static int
s_store (const char *dir, const char *what, const char *arg)
{
    rh_db_t *db = rh_db_open (dir);
    if (!db)
        return 1;
    int rc = 0;
    if (!strcmp (what, "delete")) {
        rc = rh_db_has (db, arg, strlen (arg)) ? 0 : 1;
        rh_db_delete (db, arg, strlen (arg));
        if (rh_db_commit (db, true) != 0)
            rc = 1;
    }
    else {
        rh_db_iter_t *iter = rh_db_iter_new (db, arg, strlen (arg));
        for (; iter && rh_db_iter_valid (iter); rh_db_iter_next (iter)) {
            size_t size = 0;
            const uint8_t *key = rh_db_iter_key (iter, &size);
            printf ("%.*s\n", (int) size, (const char *) key);
        }
        rh_db_iter_destroy (&iter);
    }
    rh_db_destroy (&db);
    return rc;
}

int
main (int argc, char **argv)
{
    setenv ("RH_LOG_LEVEL", "off", 0);
    if (argc == 5 && strcmp (argv [1], "check") == 0)
        return s_check (argv [2], argv [3], argv [4]);
    if (argc == 4 && (strcmp (argv [1], "keys") == 0 || strcmp (argv [1], "delete") == 0))
        return s_store (argv [2], argv [1], argv [3]);
    if (argc < 4) {
        fprintf (stderr, "usage: see the header of tests/integration/rh_testlog.c\n");
        return 2;
    }
    const char *origin = argv [2];
    uint8_t secret [RH_NOTE_SECRET_LEN];
    s_secret (atoi (argv [3]), secret);
    if (argc == 4 && strcmp (argv [1], "vkey") == 0) {
        rh_note_vkey_t vkey;
        char text [RH_NOTE_MAX_VKEY + 1];
        if (rh_note_vkey_make (origin, RH_NOTE_TYPE_ED25519, secret + 32, &vkey) != RH_OK
            || rh_note_vkey_format (&vkey, text, sizeof text) != 0)
            return 1;
        printf ("%s\n", text);
        return 0;
    }
    if ((argc == 6 || argc == 7) && strcmp (argv [1], "request") == 0) {
        s_log_t log = { .fork = argc == 7 ? strtoull (argv [6], NULL, 10) : UINT64_MAX };
        uint64_t old = strtoull (argv [4], NULL, 10), size = strtoull (argv [5], NULL, 10);
        uint8_t root [RH_DIGEST_LEN], proof [RH_MERKLE_MAX_PROOF][RH_DIGEST_LEN];
        if (size == 0)
            rh_sha256 (root, "", 0);
        else
            rh_merkle_range_hash (s_node, &log, 0, size, root);
        int count = old > 0 && old < size ? rh_merkle_consistency_proof (s_node, &log, old, size,
                                                                         proof, RH_MERKLE_MAX_PROOF)
                                          : 0;
        char text [512], *body = NULL;
        size_t body_size = 0;
        int n = rh_note_checkpoint_format (origin, size, root, text, sizeof text);
        rh_note_t *note = n > 0 ? rh_note_new (text, (size_t) n) : NULL;
        if (count < 0 || !note || rh_note_sign (note, origin, secret) != 0
            || rh_note_request_encode (old, (const uint8_t (*) [RH_DIGEST_LEN]) proof,
                                       (size_t) count, note, &body, &body_size)
                   != 0)
            return 1;
        fwrite (body, 1, body_size, stdout);
        free (body);
        rh_note_destroy (&note);
        return 0;
    }
    fprintf (stderr, "usage: see the header of tests/integration/rh_testlog.c\n");
    return 2;
}
