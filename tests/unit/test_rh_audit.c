/*  =========================================================================
    test_rh_audit - the Merkle audit log and the database
    =========================================================================
*/
#include "test_helpers.h"
#include "rh_audit.h"

static rh_db_t *
s_db (char *dir, size_t size)
{
    test_tempdir (dir, size);
    return rh_db_open (dir);
}

static void
s_append (rh_audit_t *audit, const char *event, const char *msg_id)
{
    rh_audit_record_t record = { .event = event, .code = "RH_OK", .msg_id = msg_id };
    CU_ASSERT_EQUAL (rh_audit_append (audit, &record), 0);
}

//  A broker identity of its own, for signing checkpoints.
static rh_signer_t *
s_broker (char *pki, size_t size)
{
    test_tempdir (pki, size);
    rh_ca_request_t request = { .agency_id = "broker", .type = "BROKER" };
    CU_ASSERT_FATAL (rh_ca_init (pki, NULL, 0) == 0 && rh_ca_issue (pki, &request) == 0);
    char dir [PATH_MAX];
    rh_file_path (dir, sizeof dir, "%s/broker", pki);
    return rh_signer_load (dir);
}

static void
test_the_merkle_log_verifies_and_continues_after_a_restart (void)
{
    char dir [PATH_MAX], pki [PATH_MAX];
    rh_signer_t *signer = s_broker (pki, sizeof pki);
    CU_ASSERT_PTR_NOT_NULL_FATAL (signer);
    rh_certstore_t *store = rh_certstore_load_dir (pki);
    rh_db_t *db = s_db (dir, sizeof dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL (db);
    rh_audit_t *audit = rh_audit_new (db);
    CU_ASSERT_PTR_NOT_NULL_FATAL (audit);
    for (int i = 0; i < 10; i++)
        s_append (audit, "ACCEPTED", "m");
    CU_ASSERT (rh_audit_checkpoint (audit, signer, rh_time_now_ms ()) == 0);
    CU_ASSERT_EQUAL (rh_db_commit (db, true), 0);
    rh_audit_destroy (&audit);
    rh_db_destroy (&db);
    db = rh_db_open (dir);
    audit = rh_audit_new (db);
    //  The checkpoint is named by a record of its own, right after the tree it signs; with
    //  nothing new since, there is nothing to sign (even after a restart).
    CU_ASSERT_EQUAL (rh_audit_size (audit), 11);
    CU_ASSERT_EQUAL (rh_audit_checkpointed (audit), 10);
    CU_ASSERT (rh_audit_checkpoint (audit, signer, rh_time_now_ms ()) == 0);
    CU_ASSERT_EQUAL (rh_audit_size (audit), 11);
    //  A message goes apart from its leaf.
    rh_audit_record_t record = { .event = "ACKED",
                                 .code = "RH_OK",
                                 .msg_id = "m",
                                 .sealed = (const uint8_t *) "signed bytes",
                                 .sealed_size = 12 };
    CU_ASSERT_EQUAL (rh_audit_append (audit, &record), 0);
    CU_ASSERT (rh_audit_checkpoint (audit, signer, rh_time_now_ms ()) == 0);
    CU_ASSERT_EQUAL (rh_db_commit (db, true), 0);
    rh_audit_check_t check;
    CU_ASSERT_EQUAL (rh_audit_verify (db, store, &check), RH_OK);
    CU_ASSERT_EQUAL (check.count, 13);
    CU_ASSERT_EQUAL (check.checkpoints, 2);
    CU_ASSERT_EQUAL (check.messages, 1);
    uint8_t root [RH_DIGEST_LEN];
    CU_ASSERT (rh_audit_root (db, 13, root) == 0 && memcmp (root, check.root, RH_DIGEST_LEN) == 0);
    //  Proofs from the stored tree verify against the roots.
    uint8_t old_root [RH_DIGEST_LEN], proof [RH_MERKLE_MAX_PROOF][RH_DIGEST_LEN];
    rh_audit_root (db, 10, old_root);
    int count = rh_audit_consistency_proof (db, 10, 13, proof);
    CU_ASSERT (count > 0
               && rh_merkle_verify_consistency (10, 13, old_root, root,
                                                (const uint8_t (*) [32]) proof, (size_t) count));
    uint8_t *leaf = NULL, leaf_hash [RH_DIGEST_LEN];
    size_t leaf_size = 0;
    CU_ASSERT_FATAL (rh_db_get (db, "a/00000000000000000011", 22, &leaf, &leaf_size) == 0);
    CU_ASSERT (memmem (leaf, leaf_size, "signed bytes", 12) == NULL);  //  not in the leaf
    rh_merkle_leaf_hash (leaf, leaf_size, leaf_hash);
    free (leaf);
    count = rh_audit_inclusion_proof (db, 11, 13, proof);
    CU_ASSERT (count > 0
               && rh_merkle_verify_inclusion (leaf_hash, 11, 13, (const uint8_t (*) [32]) proof,
                                              (size_t) count, root));
    //  A changed message fails; so does a missing one, as no erasure record covers it.
    rh_db_put (db, "ap/00000000000000000011", 23, "other bytes!", 12);
    rh_db_commit (db, true);
    CU_ASSERT_EQUAL (rh_audit_verify (db, store, &check), RH_E_MALFORMED);
    CU_ASSERT_EQUAL (check.bad, 11);
    rh_db_delete (db, "ap/00000000000000000011", 23);
    rh_db_commit (db, true);
    CU_ASSERT_EQUAL (rh_audit_verify (db, store, &check), RH_E_MALFORMED);
    CU_ASSERT_EQUAL (check.bad, 11);
    CU_ASSERT_PTR_NOT_NULL (strstr (check.reason, "missing: damaged"));
    CU_ASSERT_EQUAL (check.erased, 0);
    rh_db_put (db, "ap/00000000000000000011", 23, "signed bytes", 12);
    rh_db_commit (db, true);
    CU_ASSERT_EQUAL (rh_audit_verify (db, store, &check), RH_OK);
    //  A checkpoint that is gone is missed: its record names it.
    uint8_t *signed_checkpoint = NULL;
    size_t signed_size = 0;
    CU_ASSERT_FATAL (rh_db_get (db, "ck/000000000000000a", 19, &signed_checkpoint, &signed_size)
                     == 0);
    rh_db_delete (db, "ck/000000000000000a", 19);
    rh_db_commit (db, true);
    CU_ASSERT_EQUAL (rh_audit_verify (db, store, &check), RH_E_MALFORMED);
    CU_ASSERT_EQUAL (check.bad, 10);
    CU_ASSERT_PTR_NOT_NULL (strstr (check.reason, "checkpoint of 10 records"));
    rh_db_put (db, "ck/000000000000000a", 19, signed_checkpoint, signed_size);
    rh_db_commit (db, true);
    free (signed_checkpoint);
    CU_ASSERT_EQUAL (rh_audit_verify (db, store, &check), RH_OK);
    char text [8192] = "";
    FILE *out = fmemopen (text, sizeof text - 1, "w");
    CU_ASSERT_EQUAL (rh_audit_print (db, out), 13);
    fclose (out);
    CU_ASSERT_PTR_NOT_NULL (strstr (text, "ACKED"));
    //  A checkpoint not signed by a broker certificate is refused.
    rh_certstore_t *other = rh_certstore_load_dir (test_pki ()->pki);
    CU_ASSERT_EQUAL (rh_audit_verify (db, other, &check), RH_E_MALFORMED);
    CU_ASSERT_PTR_NOT_NULL (strstr (check.reason, "not signed by a valid broker key"));
    rh_certstore_destroy (&other);
    rh_certstore_destroy (&store);
    rh_signer_destroy (&signer);
    rh_audit_destroy (&audit);
    rh_db_destroy (&db);
}

//  The tamper vectors: a log of 1,000 events with signed checkpoints; every single-record edit,
//  deletion, insertion, swap with the next and tail truncation is found, at the first bad index.
//  Puts records [from, to) back as they were, and removes anything written past n.
static void
s_restore (rh_db_t *db, uint8_t **values, size_t *sizes, size_t from, size_t to, size_t n)
{
    for (size_t i = from; i < to && i < n; i++) {
        char key [32];
        snprintf (key, sizeof key, "a/%020zu", i);
        rh_db_put (db, key, strlen (key), values [i], sizes [i]);
    }
    char key [32];
    snprintf (key, sizeof key, "a/%020zu", n);
    rh_db_delete (db, key, strlen (key));
    rh_db_commit (db, false);
}

static void
test_tamper_vectors (void)
{
    enum { N = 1000 };
    char dir [PATH_MAX], pki [PATH_MAX];
    rh_signer_t *signer = s_broker (pki, sizeof pki);
    rh_db_t *db = s_db (dir, sizeof dir);
    rh_audit_t *audit = rh_audit_new (db);
    CU_ASSERT_PTR_NOT_NULL_FATAL (audit);
    //  N records in all, the checkpoints' own among them, the last one a checkpoint's.
    for (int i = 0; rh_audit_size (audit) < N - 1; i++) {
        char msg_id [32];
        snprintf (msg_id, sizeof msg_id, "m-%04d", i);
        s_append (audit, i % 3 ? "DELIVERED" : "ACCEPTED", msg_id);
        if (i % 100 == 99 && rh_audit_size (audit) < N - 1)
            rh_audit_checkpoint (audit, signer, rh_time_now_ms ());
    }
    rh_audit_checkpoint (audit, signer, rh_time_now_ms ());
    CU_ASSERT_EQUAL_FATAL (rh_audit_size (audit), N);
    CU_ASSERT_EQUAL_FATAL (rh_db_commit (db, true), 0);
    static uint8_t *values [N];
    static size_t sizes [N];
    for (size_t i = 0; i < N; i++) {
        char key [32];
        snprintf (key, sizeof key, "a/%020zu", i);
        CU_ASSERT_FATAL (rh_db_get (db, key, strlen (key), &values [i], &sizes [i]) == 0);
    }
    rh_audit_check_t check;
    CU_ASSERT_EQUAL_FATAL (rh_audit_verify (db, NULL, &check), RH_OK);
    size_t missed [5] = { 0 };
    for (size_t i = 0; i < N; i++) {
        char key [32], next [32];
        snprintf (key, sizeof key, "a/%020zu", i);
        snprintf (next, sizeof next, "a/%020zu", i + 1);
        //  edit: one byte of the record
        uint8_t *edited = malloc (sizes [i]);
        memcpy (edited, values [i], sizes [i]);
        edited [sizes [i] - 1] ^= 0x01;
        rh_db_put (db, key, strlen (key), edited, sizes [i]);
        rh_db_commit (db, false);
        missed [0] += rh_audit_verify (db, NULL, &check) == RH_OK || check.bad != i;
        free (edited);
        s_restore (db, values, sizes, i, i + 1, N);
        //  deletion
        rh_db_delete (db, key, strlen (key));
        rh_db_commit (db, false);
        missed [1] += rh_audit_verify (db, NULL, &check) == RH_OK || check.bad != i;
        s_restore (db, values, sizes, i, i + 1, N);
        //  insertion: a copy of the record before it, the rest moved up one
        for (size_t k = N; k > i; k--) {
            char to [32];
            snprintf (to, sizeof to, "a/%020zu", k);
            rh_db_put (db, to, strlen (to), values [k - 1], sizes [k - 1]);
        }
        rh_db_put (db, key, strlen (key), values [i ? i - 1 : 1], sizes [i ? i - 1 : 1]);
        rh_db_commit (db, false);
        missed [2] += rh_audit_verify (db, NULL, &check) == RH_OK || check.bad != i;
        s_restore (db, values, sizes, i, N, N);
        //  reordering: swapped with the next record
        if (i + 1 < N) {
            rh_db_put (db, key, strlen (key), values [i + 1], sizes [i + 1]);
            rh_db_put (db, next, strlen (next), values [i], sizes [i]);
            rh_db_commit (db, false);
            missed [3] += rh_audit_verify (db, NULL, &check) == RH_OK || check.bad != i;
            s_restore (db, values, sizes, i, i + 2, N);
        }
        //  truncation of the tail from here
        for (size_t k = i; k < N; k++) {
            char tail [32];
            snprintf (tail, sizeof tail, "a/%020zu", k);
            rh_db_delete (db, tail, strlen (tail));
        }
        rh_db_commit (db, false);
        missed [4] += rh_audit_verify (db, NULL, &check) == RH_OK || check.bad != i;
        s_restore (db, values, sizes, i, N, N);
    }
    CU_ASSERT_EQUAL (missed [0], 0);
    CU_ASSERT_EQUAL (missed [1], 0);
    CU_ASSERT_EQUAL (missed [2], 0);
    CU_ASSERT_EQUAL (missed [3], 0);
    CU_ASSERT_EQUAL (missed [4], 0);
    if (missed [0] + missed [1] + missed [2] + missed [3] + missed [4])
        fprintf (stderr, "\n  missed: edit %zu, delete %zu, insert %zu, swap %zu, truncate %zu\n",
                 missed [0], missed [1], missed [2], missed [3], missed [4]);
    //  deletion of a signed checkpoint: the record after its tree names it
    size_t checkpoints = 0, missed_checkpoints = 0;
    for (uint64_t size = 1; size < N; size++) {
        char key [32];
        snprintf (key, sizeof key, "ck/%016" PRIx64, size);
        uint8_t *value = NULL;
        size_t value_size = 0;
        if (rh_db_get (db, key, strlen (key), &value, &value_size) != 0)
            continue;
        checkpoints++;
        rh_db_delete (db, key, strlen (key));
        rh_db_commit (db, false);
        missed_checkpoints += rh_audit_verify (db, NULL, &check) == RH_OK || check.bad != size;
        rh_db_put (db, key, strlen (key), value, value_size);
        rh_db_commit (db, false);
        free (value);
    }
    CU_ASSERT_EQUAL (checkpoints, 10);
    CU_ASSERT_EQUAL (missed_checkpoints, 0);
    CU_ASSERT_EQUAL (rh_audit_verify (db, NULL, &check), RH_OK);
    for (size_t i = 0; i < N; i++)
        free (values [i]);
    rh_signer_destroy (&signer);
    rh_audit_destroy (&audit);
    rh_db_destroy (&db);
}

static void
test_the_database_iterates_a_prefix_in_order (void)
{
    char dir [PATH_MAX];
    rh_db_t *db = s_db (dir, sizeof dir);
    rh_db_put (db, "q/a/2", 5, "two", 3);
    rh_db_put (db, "q/a/1", 5, "one", 3);
    rh_db_put (db, "q/b/1", 5, "other", 5);
    CU_ASSERT_EQUAL (rh_db_pending (db), 3);
    CU_ASSERT_FALSE (rh_db_has (db, "q/a/1", 5));  //  not committed yet
    CU_ASSERT_EQUAL (rh_db_commit (db, false), 0);
    CU_ASSERT_TRUE (rh_db_has (db, "q/a/1", 5));
    rh_db_iter_t *iter = rh_db_iter_new (db, "q/a/", 4);
    CU_ASSERT_TRUE_FATAL (rh_db_iter_valid (iter));
    size_t size = 0;
    CU_ASSERT_EQUAL (memcmp (rh_db_iter_value (iter, &size), "one", 3), 0);
    rh_db_iter_next (iter);
    CU_ASSERT_EQUAL (memcmp (rh_db_iter_key (iter, &size), "q/a/2", 5), 0);
    rh_db_iter_next (iter);
    CU_ASSERT_FALSE (rh_db_iter_valid (iter));  //  q/b/ is another prefix
    rh_db_iter_seek_last (iter);
    CU_ASSERT_EQUAL (memcmp (rh_db_iter_value (iter, &size), "two", 3), 0);
    rh_db_iter_destroy (&iter);
    CU_ASSERT_PTR_NULL (iter);
    uint8_t *value = NULL;
    CU_ASSERT_EQUAL (rh_db_get (db, "missing", 7, &value, &size), 1);
    CU_ASSERT_EQUAL (rh_db_key_sequence ((const uint8_t *) "o/00000000000000000042", 22, 2), 42);
    CU_ASSERT_EQUAL (rh_db_key_sequence ((const uint8_t *) "o/0000000000000000004x", 22, 2),
                     UINT64_MAX);
    CU_ASSERT_EQUAL (rh_db_key_sequence ((const uint8_t *) "o/42", 4, 2), UINT64_MAX);
    rh_db_destroy (&db);
    //  A folder that is not a database cannot be opened as one.
    CU_ASSERT_PTR_NULL (rh_db_open ("/proc/version"));
}

//  What the message hook saw: record numbers and bytes, and where to refuse.
typedef struct {
    uint64_t seqs [8];
    char bytes [8][16];
    size_t count;
    uint64_t refuse_at;  //  UINT64_MAX: refuse none
    size_t progress;     //  progress calls
} s_seen_t;

static rh_rc_t
s_seen_message (void *arg, const rh_audit_record_t *record, const uint8_t *message, size_t size)
{
    s_seen_t *self = arg;
    if (self->count < 8) {
        self->seqs [self->count] = record->seq;
        snprintf (self->bytes [self->count], sizeof self->bytes [0], "%.*s", (int) size,
                  (const char *) message);
        self->count++;
    }
    return record->seq == self->refuse_at ? RH_E_SIG : RH_OK;
}

static void
s_seen_progress (void *arg, const rh_audit_check_t *check)
{
    (void) check;
    ((s_seen_t *) arg)->progress++;
}

static void
test_each_stored_message_is_handed_over_once_in_order_and_none_stored_unnamed (void)
{
    char dir [PATH_MAX];
    rh_db_t *db = s_db (dir, sizeof dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL (db);
    rh_audit_t *audit = rh_audit_new (db);
    CU_ASSERT_PTR_NOT_NULL_FATAL (audit);
    const char *sealed [] = { NULL, "one", NULL, "three", "four", NULL };
    for (int i = 0; i < 6; i++) {
        rh_audit_record_t record = { .event = "ACCEPTED",
                                     .code = "RH_OK",
                                     .msg_id = "m",
                                     .sealed = (const uint8_t *) sealed [i],
                                     .sealed_size = sealed [i] ? strlen (sealed [i]) : 0 };
        CU_ASSERT_EQUAL (rh_audit_append (audit, &record), 0);
    }
    CU_ASSERT_EQUAL_FATAL (rh_db_commit (db, true), 0);
    s_seen_t seen = { .refuse_at = UINT64_MAX };
    rh_audit_hooks_t hooks = { .progress = s_seen_progress,
                               .message = s_seen_message,
                               .arg = &seen };
    rh_audit_check_t check;
    CU_ASSERT_EQUAL (rh_audit_verify_hooked (db, NULL, &check, &hooks), RH_OK);
    CU_ASSERT_EQUAL (check.messages, 3);
    CU_ASSERT_EQUAL_FATAL (seen.count, 3);
    CU_ASSERT (seen.seqs [0] == 1 && seen.seqs [1] == 3 && seen.seqs [2] == 4);
    CU_ASSERT_STRING_EQUAL (seen.bytes [0], "one");
    CU_ASSERT_STRING_EQUAL (seen.bytes [2], "four");
    CU_ASSERT (seen.progress >= 1);
    //  A message the hook refuses stops the walk there.
    seen = (s_seen_t){ .refuse_at = 3 };
    CU_ASSERT_EQUAL (rh_audit_verify_hooked (db, NULL, &check, &hooks), RH_E_SIG);
    CU_ASSERT_EQUAL (check.bad, 3);
    CU_ASSERT_EQUAL (seen.count, 2);
    //  A message stored where no record names one: among the records, past the last, and under
    //  a key that is no record number.
    const char *strays [] = { "ap/00000000000000000002", "ap/00000000000000000099",
                              "ap/0000000000000000000x" };
    uint64_t bad [] = { 2, 6, 5 };
    for (size_t i = 0; i < 3; i++) {
        rh_db_put (db, strays [i], strlen (strays [i]), "stray", 5);
        CU_ASSERT_EQUAL_FATAL (rh_db_commit (db, true), 0);
        CU_ASSERT_EQUAL (rh_audit_verify (db, NULL, &check), RH_E_MALFORMED);
        CU_ASSERT_EQUAL (check.bad, bad [i]);
        rh_db_delete (db, strays [i], strlen (strays [i]));
        CU_ASSERT_EQUAL_FATAL (rh_db_commit (db, true), 0);
    }
    CU_ASSERT_EQUAL (rh_audit_verify (db, NULL, &check), RH_OK);
    rh_audit_destroy (&audit);
    rh_db_destroy (&db);
}

void
init_rh_audit_tests (void)
{
    CU_pSuite suite = CU_add_suite ("rh_audit", NULL, NULL);
    CU_add_test (suite, "the Merkle log verifies, proves and continues after a restart",
                 test_the_merkle_log_verifies_and_continues_after_a_restart);
    CU_add_test (suite,
                 "each stored message is handed over once, in order, and none stored unnamed",
                 test_each_stored_message_is_handed_over_once_in_order_and_none_stored_unnamed);
    CU_add_test (suite, "tamper vectors: every edit, deletion, insertion, swap, truncation",
                 test_tamper_vectors);
    CU_add_test (suite, "the database iterates a prefix in order",
                 test_the_database_iterates_a_prefix_in_order);
}
