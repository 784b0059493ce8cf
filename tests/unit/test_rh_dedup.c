/*  =========================================================================
    test_rh_dedup - message-id de-duplication and per-sender sequence numbers
    =========================================================================
*/
#include "test_helpers.h"
#include "rh_broker_classes.h"

static rh_db_t *
s_db (char *dir, size_t size)
{
    test_tempdir (dir, size);
    return rh_db_open (dir);
}

static void
test_dedup_state_dedups_ids_and_sequences_and_keeps_a_floor_across_restarts (void)
{
    char dir [PATH_MAX];
    rh_db_t *db = s_db (dir, sizeof dir);
    rh_dedup_t *dedup = rh_dedup_new (db);
    uint8_t hash_a [32] = { 1 }, hash_b [32] = { 2 };
    bool duplicate = false;
    const char *why = NULL;
    CU_ASSERT_EQUAL (rh_dedup_check (dedup, "police", "m1", 10, hash_a, &duplicate, &why), RH_OK);
    CU_ASSERT_FALSE (duplicate);
    //  The same message again, even before the commit: a duplicate.
    CU_ASSERT_EQUAL (rh_dedup_check (dedup, "police", "m1", 10, hash_a, &duplicate, &why), RH_OK);
    CU_ASSERT_TRUE (duplicate);
    //  Same id, other content: a replay.
    CU_ASSERT_EQUAL (rh_dedup_check (dedup, "police", "m1", 11, hash_b, &duplicate, &why),
                     RH_E_REPLAY);
    //  A late message with an unused, lower sequence is fine; a used sequence is not.
    CU_ASSERT_EQUAL (rh_dedup_check (dedup, "police", "m2", 3, hash_b, &duplicate, &why), RH_OK);
    CU_ASSERT_EQUAL (rh_dedup_check (dedup, "police", "m3", 3, hash_b, &duplicate, &why),
                     RH_E_REPLAY);
    CU_ASSERT_STRING_EQUAL (why, "sequence number already used");
    CU_ASSERT_EQUAL (rh_dedup_check (dedup, "police", "m5", 0, hash_b, &duplicate, &why),
                     RH_E_REPLAY);
    //  Another sender has its own numbers.
    CU_ASSERT_EQUAL (rh_dedup_check (dedup, "health", "h1", 3, hash_b, &duplicate, &why), RH_OK);
    char sender [RH_MAX_ID + 1];
    CU_ASSERT_STRING_EQUAL (rh_dedup_sender_of (dedup, "h1", sender), "health");
    //  The agency says everything below 8 was answered: 4..7 can no longer arrive.
    CU_ASSERT_EQUAL (rh_dedup_set_floor (dedup, "police", 8), 0);
    CU_ASSERT_EQUAL (rh_dedup_check (dedup, "police", "m4", 5, hash_b, &duplicate, &why),
                     RH_E_REPLAY);
    CU_ASSERT_EQUAL (rh_db_commit (db, true), 0);
    rh_dedup_committed (dedup);
    rh_dedup_destroy (&dedup);
    rh_db_destroy (&db);
    //  After a restart the state is the same, and a floor never goes down.
    db = rh_db_open (dir);
    dedup = rh_dedup_new (db);
    CU_ASSERT_EQUAL (rh_dedup_set_floor (dedup, "police", 2), 0);
    CU_ASSERT_EQUAL (rh_dedup_check (dedup, "police", "m1", 10, hash_a, &duplicate, &why), RH_OK);
    CU_ASSERT_TRUE (duplicate);
    CU_ASSERT_EQUAL (rh_dedup_check (dedup, "police", "m6", 10, hash_b, &duplicate, &why),
                     RH_E_REPLAY);
    CU_ASSERT_EQUAL (rh_dedup_check (dedup, "police", "m7", 6, hash_b, &duplicate, &why),
                     RH_E_REPLAY);
    CU_ASSERT_EQUAL (rh_dedup_check (dedup, "police", "m8", 11, hash_b, &duplicate, &why), RH_OK);
    CU_ASSERT_STRING_EQUAL (rh_dedup_sender_of (dedup, "m1", sender), "police");
    CU_ASSERT_PTR_NULL (rh_dedup_sender_of (dedup, "nope", sender));
    //  Raising the floor forgets the sequence records below it.
    CU_ASSERT_EQUAL (rh_db_commit (db, true), 0);
    rh_dedup_committed (dedup);
    CU_ASSERT_TRUE (rh_db_has (db, "s/police/00000000000000000010", 29));
    CU_ASSERT_EQUAL (rh_dedup_set_floor (dedup, "police", 11), 0);
    CU_ASSERT_EQUAL (rh_db_commit (db, true), 0);
    CU_ASSERT_FALSE (rh_db_has (db, "s/police/00000000000000000010", 29));
    CU_ASSERT_TRUE (rh_db_has (db, "s/police/00000000000000000011", 29));
    rh_dedup_destroy (&dedup);
    rh_db_destroy (&db);
}

void
init_rh_dedup_tests (void)
{
    CU_pSuite suite = CU_add_suite ("rh_dedup", NULL, NULL);
    CU_add_test (suite, "dedup state dedups ids and sequences and keeps a floor across restarts",
                 test_dedup_state_dedups_ids_and_sequences_and_keeps_a_floor_across_restarts);
}
