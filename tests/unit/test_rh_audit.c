/*  =========================================================================
    test_rh_audit - the hash-chained audit log, replay state and the database
    =========================================================================
*/
#include "test_helpers.h"
#include "rh_audit.h"
#include "rh_replay.h"

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

static void
test_the_audit_chain_verifies_and_continues_after_a_restart (void)
{
    char dir [PATH_MAX];
    rh_db_t *db = s_db (dir, sizeof dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL (db);
    rh_audit_t *audit = rh_audit_new (db);
    CU_ASSERT_PTR_NOT_NULL_FATAL (audit);
    for (int i = 0; i < 10; i++)
        s_append (audit, "ACCEPTED", "m");
    CU_ASSERT_EQUAL (rh_db_commit (db, true), 0);
    rh_audit_destroy (&audit);
    rh_db_destroy (&db);
    db = rh_db_open (dir);
    audit = rh_audit_new (db);
    CU_ASSERT_EQUAL (rh_audit_size (audit), 10);
    s_append (audit, "ACKED", "m");
    CU_ASSERT_EQUAL (rh_db_commit (db, true), 0);
    uint64_t count = 0, bad = 0;
    CU_ASSERT_EQUAL (rh_audit_verify (db, &count, &bad), RH_OK);
    CU_ASSERT_EQUAL (count, 11);
    char text [8192] = "";
    FILE *out = fmemopen (text, sizeof text - 1, "w");
    CU_ASSERT_EQUAL (rh_audit_print (db, out), 11);
    fclose (out);
    CU_ASSERT_PTR_NOT_NULL (strstr (text, "ACKED"));
    rh_audit_destroy (&audit);
    rh_db_destroy (&db);
}

static void
test_an_edited_or_missing_record_breaks_the_chain_where_it_happened (void)
{
    char dir [PATH_MAX];
    rh_db_t *db = s_db (dir, sizeof dir);
    rh_audit_t *audit = rh_audit_new (db);
    for (int i = 0; i < 20; i++)
        s_append (audit, "ACCEPTED", "m");
    CU_ASSERT_EQUAL (rh_db_commit (db, true), 0);
    //  Edit record 7: change a byte of its encoded content, keep its stored hash.
    uint8_t *value = NULL;
    size_t size = 0;
    const char *key = "a/00000000000000000007";
    CU_ASSERT_EQUAL_FATAL (rh_db_get (db, key, strlen (key), &value, &size), 0);
    uint8_t *edited = malloc (size);
    memcpy (edited, value, size);
    char *event = memmem (edited, size, "ACCEPTED", 8);
    CU_ASSERT_PTR_NOT_NULL_FATAL (event);
    memcpy (event, "REJECTED", 8);
    rh_db_put (db, key, strlen (key), edited, size);
    CU_ASSERT_EQUAL (rh_db_commit (db, true), 0);
    uint64_t count = 0, bad = 0;
    CU_ASSERT_EQUAL (rh_audit_verify (db, &count, &bad), RH_E_MALFORMED);
    CU_ASSERT_EQUAL (bad, 7);
    //  Put it back, then delete record 12.
    rh_db_put (db, key, strlen (key), value, size);
    rh_db_delete (db, "a/00000000000000000012", 22);
    CU_ASSERT_EQUAL (rh_db_commit (db, true), 0);
    CU_ASSERT_EQUAL (rh_audit_verify (db, &count, &bad), RH_E_MALFORMED);
    CU_ASSERT_EQUAL (bad, 12);
    free (value);
    free (edited);
    rh_audit_destroy (&audit);
    rh_db_destroy (&db);
}

static void
test_replay_state_dedups_ids_and_sequences_and_keeps_a_floor_across_restarts (void)
{
    char dir [PATH_MAX];
    rh_db_t *db = s_db (dir, sizeof dir);
    rh_replay_t *replay = rh_replay_new (db);
    uint8_t hash_a [32] = { 1 }, hash_b [32] = { 2 };
    bool duplicate = false;
    const char *why = NULL;
    CU_ASSERT_EQUAL (rh_replay_check (replay, "police", "m1", 10, hash_a, &duplicate, &why), RH_OK);
    CU_ASSERT_FALSE (duplicate);
    //  The same message again, even before the commit: a duplicate.
    CU_ASSERT_EQUAL (rh_replay_check (replay, "police", "m1", 10, hash_a, &duplicate, &why), RH_OK);
    CU_ASSERT_TRUE (duplicate);
    //  Same id, other content: a replay.
    CU_ASSERT_EQUAL (rh_replay_check (replay, "police", "m1", 11, hash_b, &duplicate, &why),
                     RH_E_REPLAY);
    //  A late message with an unused, lower sequence is fine; a used sequence is not.
    CU_ASSERT_EQUAL (rh_replay_check (replay, "police", "m2", 3, hash_b, &duplicate, &why), RH_OK);
    CU_ASSERT_EQUAL (rh_replay_check (replay, "police", "m3", 3, hash_b, &duplicate, &why),
                     RH_E_REPLAY);
    CU_ASSERT_STRING_EQUAL (why, "sequence number already used");
    CU_ASSERT_EQUAL (rh_replay_check (replay, "police", "m5", 0, hash_b, &duplicate, &why),
                     RH_E_REPLAY);
    //  Another sender has its own numbers.
    CU_ASSERT_EQUAL (rh_replay_check (replay, "health", "h1", 3, hash_b, &duplicate, &why), RH_OK);
    char sender [RH_MAX_ID + 1];
    CU_ASSERT_STRING_EQUAL (rh_replay_sender_of (replay, "h1", sender), "health");
    //  The agency says everything below 8 was answered: 4..7 can no longer arrive.
    CU_ASSERT_EQUAL (rh_replay_set_floor (replay, "police", 8), 0);
    CU_ASSERT_EQUAL (rh_replay_check (replay, "police", "m4", 5, hash_b, &duplicate, &why),
                     RH_E_REPLAY);
    CU_ASSERT_EQUAL (rh_db_commit (db, true), 0);
    rh_replay_committed (replay);
    rh_replay_destroy (&replay);
    rh_db_destroy (&db);
    //  After a restart the state is the same, and a floor never goes down.
    db = rh_db_open (dir);
    replay = rh_replay_new (db);
    CU_ASSERT_EQUAL (rh_replay_set_floor (replay, "police", 2), 0);
    CU_ASSERT_EQUAL (rh_replay_check (replay, "police", "m1", 10, hash_a, &duplicate, &why), RH_OK);
    CU_ASSERT_TRUE (duplicate);
    CU_ASSERT_EQUAL (rh_replay_check (replay, "police", "m6", 10, hash_b, &duplicate, &why),
                     RH_E_REPLAY);
    CU_ASSERT_EQUAL (rh_replay_check (replay, "police", "m7", 6, hash_b, &duplicate, &why),
                     RH_E_REPLAY);
    CU_ASSERT_EQUAL (rh_replay_check (replay, "police", "m8", 11, hash_b, &duplicate, &why), RH_OK);
    CU_ASSERT_STRING_EQUAL (rh_replay_sender_of (replay, "m1", sender), "police");
    CU_ASSERT_PTR_NULL (rh_replay_sender_of (replay, "nope", sender));
    //  Raising the floor forgets the sequence records below it.
    CU_ASSERT_EQUAL (rh_db_commit (db, true), 0);
    rh_replay_committed (replay);
    CU_ASSERT_TRUE (rh_db_has (db, "s/police/00000000000000000010", 29));
    CU_ASSERT_EQUAL (rh_replay_set_floor (replay, "police", 11), 0);
    CU_ASSERT_EQUAL (rh_db_commit (db, true), 0);
    CU_ASSERT_FALSE (rh_db_has (db, "s/police/00000000000000000010", 29));
    CU_ASSERT_TRUE (rh_db_has (db, "s/police/00000000000000000011", 29));
    rh_replay_destroy (&replay);
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

void
init_rh_audit_tests (void)
{
    CU_pSuite suite = CU_add_suite ("rh_audit", NULL, NULL);
    CU_add_test (suite, "the audit chain verifies and continues after a restart",
                 test_the_audit_chain_verifies_and_continues_after_a_restart);
    CU_add_test (suite, "an edited or missing record breaks the chain where it happened",
                 test_an_edited_or_missing_record_breaks_the_chain_where_it_happened);
    CU_add_test (suite, "replay state dedups ids and sequences and keeps a floor across restarts",
                 test_replay_state_dedups_ids_and_sequences_and_keeps_a_floor_across_restarts);
    CU_add_test (suite, "the database iterates a prefix in order",
                 test_the_database_iterates_a_prefix_in_order);
}
