/*  =========================================================================
    test_rh_pruner - the agent forgets per-message records in time: dated
    values, stores written before they were dated, bounded steps
    =========================================================================
*/
#include "test_helpers.h"
#include "rh_pruner.h"

#define KEEP_MS  (400 * TEST_DAY_MS)
#define GUARD_MS TEST_DAY_MS
#define T0       ((int64_t) 1800000000000)  //  some day in 2027

//  A store and an outbox folder, fresh for one test.
typedef struct {
    char dir [PATH_MAX];
    char outbox [PATH_MAX];
    rh_db_t *db;
} s_fixture_t;

static void
s_open (s_fixture_t *fixture)
{
    char path [PATH_MAX];
    test_tempdir (fixture->dir, sizeof fixture->dir);
    rh_file_path (fixture->outbox, sizeof fixture->outbox, "%s/outbox", fixture->dir);
    CU_ASSERT_EQUAL_FATAL (mkdir (fixture->outbox, 0700), 0);
    rh_file_path (path, sizeof path, "%s/db", fixture->dir);
    fixture->db = rh_db_open (path);
    CU_ASSERT_PTR_NOT_NULL_FATAL (fixture->db);
}

//  A record made at ms, holding a digest of byte fill (or none when fill is 0).
static void
s_put (rh_db_t *db, const char *key, uint8_t fill, int64_t ms)
{
    uint8_t digest [RH_DIGEST_LEN], value [RH_PRUNER_VALUE_MAX];
    memset (digest, fill, sizeof digest);
    size_t size = rh_pruner_value (value, fill ? digest : NULL, ms);
    rh_db_put (db, key, strlen (key), value, size);
}

//  Runs steps of budget records until the pass due at now ends; commits after each, as the
//  agent's loop does. Returns the steps taken.
static int
s_pass (rh_pruner_t *pruner, rh_db_t *db, int64_t now, size_t budget)
{
    uint64_t passes = rh_pruner_passes (pruner);
    int steps = 0;
    while (rh_pruner_passes (pruner) == passes && steps < 10000) {
        size_t looked = rh_pruner_step (pruner, now, budget);
        CU_ASSERT (looked <= budget);
        CU_ASSERT_EQUAL (rh_db_commit (db, false), 0);
        steps++;
    }
    return steps;
}

static void
test_pruner_forgets_arrivals_older_than_the_retention (void)
{
    s_fixture_t fixture;
    s_open (&fixture);
    s_put (fixture.db, "i/old", 1, T0);
    s_put (fixture.db, "i/recent", 2, T0 + 300 * TEST_DAY_MS);
    s_put (fixture.db, "h/old-invitation", 3, T0);
    s_put (fixture.db, "h/recent-invitation", 4, T0 + 100 * TEST_DAY_MS);
    s_put (fixture.db, "i/no-header", 0, T0 + 300 * TEST_DAY_MS);
    s_put (fixture.db, "x/other", 5, T0);  //  not ours: a referral's record
    CU_ASSERT_EQUAL_FATAL (rh_db_commit (fixture.db, true), 0);
    rh_pruner_t *pruner =
        rh_pruner_new (fixture.db, "la-newport", fixture.outbox, KEEP_MS, GUARD_MS);
    CU_ASSERT_PTR_NOT_NULL_FATAL (pruner);
    s_pass (pruner, fixture.db, T0 + 401 * TEST_DAY_MS, 256);
    CU_ASSERT_FALSE (rh_db_has (fixture.db, "i/old", 5));
    CU_ASSERT_FALSE (rh_db_has (fixture.db, "h/old-invitation", 16));
    CU_ASSERT_TRUE (rh_db_has (fixture.db, "i/recent", 8));
    CU_ASSERT_TRUE (rh_db_has (fixture.db, "h/recent-invitation", 19));
    CU_ASSERT_TRUE (rh_db_has (fixture.db, "i/no-header", 11));
    CU_ASSERT_TRUE (rh_db_has (fixture.db, "x/other", 7));
    CU_ASSERT_EQUAL (rh_pruner_pruned (pruner), 2);
    CU_ASSERT_EQUAL (rh_pruner_kept (pruner), 3);
    CU_ASSERT_EQUAL (rh_pruner_passes (pruner), 1);
    //  Exactly at the retention a record goes; a millisecond before, it stays.
    s_put (fixture.db, "i/edge", 6, T0 + 500 * TEST_DAY_MS);
    CU_ASSERT_EQUAL (rh_db_commit (fixture.db, true), 0);
    s_pass (pruner, fixture.db, T0 + 900 * TEST_DAY_MS - 1, 256);
    CU_ASSERT_TRUE (rh_db_has (fixture.db, "i/edge", 6));
    s_pass (pruner, fixture.db, T0 + 900 * TEST_DAY_MS + RH_PRUNER_PASS_MS, 256);
    CU_ASSERT_FALSE (rh_db_has (fixture.db, "i/edge", 6));
    CU_ASSERT_EQUAL (rh_pruner_kept (pruner), 0);
    rh_pruner_destroy (&pruner);
    CU_ASSERT_PTR_NULL (pruner);
    rh_pruner_destroy (&pruner);
    rh_db_destroy (&fixture.db);
}

static void
test_pruner_values_carry_the_digest_and_when_it_was_recorded (void)
{
    uint8_t digest [RH_DIGEST_LEN], value [RH_PRUNER_VALUE_MAX];
    memset (digest, 0xab, sizeof digest);
    size_t size = rh_pruner_value (value, digest, T0);
    CU_ASSERT_EQUAL (size, RH_DIGEST_LEN + 8);
    CU_ASSERT_PTR_NOT_NULL_FATAL (rh_pruner_digest (value, size));
    CU_ASSERT_EQUAL (memcmp (rh_pruner_digest (value, size), digest, RH_DIGEST_LEN), 0);
    int64_t ms = 0;
    CU_ASSERT_TRUE (rh_pruner_stamp (value, size, &ms));
    CU_ASSERT_EQUAL (ms, T0);
    size = rh_pruner_value (value, NULL, T0 + 1);
    CU_ASSERT_EQUAL (size, 8);
    CU_ASSERT_PTR_NULL (rh_pruner_digest (value, size));
    CU_ASSERT_TRUE (rh_pruner_stamp (value, size, &ms));
    CU_ASSERT_EQUAL (ms, T0 + 1);
    //  As stored before records were dated: the digest alone, or nothing.
    CU_ASSERT_PTR_EQUAL (rh_pruner_digest (digest, RH_DIGEST_LEN), digest);
    CU_ASSERT_FALSE (rh_pruner_stamp (digest, RH_DIGEST_LEN, &ms));
    CU_ASSERT_PTR_NULL (rh_pruner_digest ((const uint8_t *) "", 0));
    CU_ASSERT_FALSE (rh_pruner_stamp ((const uint8_t *) "", 0, &ms));
    //  Any other size is neither.
    CU_ASSERT_PTR_NULL (rh_pruner_digest (digest, 31));
    CU_ASSERT_FALSE (rh_pruner_stamp (digest, 9, &ms));
    memset (value, 0xff, 8);
    CU_ASSERT_FALSE (rh_pruner_stamp (value, 8, &ms));  //  no time of ours
}

static void
test_pruner_dates_a_store_written_before_records_were_dated (void)
{
    s_fixture_t fixture;
    s_open (&fixture);
    //  As the agent wrote them before: i/ and f/ the bare digest, an arrival without a header
    //  nothing at all.
    uint8_t digest [RH_DIGEST_LEN];
    memset (digest, 7, sizeof digest);
    rh_db_put (fixture.db, "i/legacy", 8, digest, RH_DIGEST_LEN);
    rh_db_put (fixture.db, "i/legacy-empty", 14, "", 0);
    rh_db_put (fixture.db, "h/legacy", 8, digest, RH_DIGEST_LEN);
    rh_db_put (fixture.db, "f/legacy.json", 13, digest, RH_DIGEST_LEN);
    CU_ASSERT_EQUAL_FATAL (rh_db_commit (fixture.db, true), 0);
    rh_pruner_t *pruner =
        rh_pruner_new (fixture.db, "la-newport", fixture.outbox, KEEP_MS, GUARD_MS);
    CU_ASSERT_PTR_NOT_NULL_FATAL (pruner);
    //  However late the upgrade, nothing is forgotten at once: each counts from the first pass.
    s_pass (pruner, fixture.db, T0, 256);
    CU_ASSERT_EQUAL (rh_pruner_pruned (pruner), 0);
    CU_ASSERT_EQUAL (rh_pruner_kept (pruner), 4);
    uint8_t *value = NULL;
    size_t size = 0;
    CU_ASSERT_EQUAL_FATAL (rh_db_get (fixture.db, "i/legacy", 8, &value, &size), 0);
    int64_t ms = 0;
    CU_ASSERT_TRUE (rh_pruner_stamp (value, size, &ms));
    CU_ASSERT_EQUAL (ms, T0);
    CU_ASSERT_PTR_NOT_NULL_FATAL (rh_pruner_digest (value, size));
    CU_ASSERT_EQUAL (memcmp (rh_pruner_digest (value, size), digest, RH_DIGEST_LEN), 0);
    free (value);
    CU_ASSERT_EQUAL_FATAL (rh_db_get (fixture.db, "i/legacy-empty", 14, &value, &size), 0);
    CU_ASSERT_PTR_NULL (rh_pruner_digest (value, size));
    CU_ASSERT_TRUE (rh_pruner_stamp (value, size, &ms));
    free (value);
    //  The spool file's record goes a guard later, the rest a retention later.
    s_pass (pruner, fixture.db, T0 + 2 * GUARD_MS, 256);
    CU_ASSERT_FALSE (rh_db_has (fixture.db, "f/legacy.json", 13));
    CU_ASSERT_TRUE (rh_db_has (fixture.db, "i/legacy", 8));
    s_pass (pruner, fixture.db, T0 + KEEP_MS, 256);
    CU_ASSERT_FALSE (rh_db_has (fixture.db, "i/legacy", 8));
    CU_ASSERT_FALSE (rh_db_has (fixture.db, "i/legacy-empty", 14));
    CU_ASSERT_FALSE (rh_db_has (fixture.db, "h/legacy", 8));
    CU_ASSERT_EQUAL (rh_pruner_kept (pruner), 0);
    rh_pruner_destroy (&pruner);
    rh_db_destroy (&fixture.db);
}

static void
test_pruner_keeps_a_spool_record_while_its_file_is_in_outbox (void)
{
    s_fixture_t fixture;
    s_open (&fixture);
    s_put (fixture.db, "f/gone.json", 1, T0);
    s_put (fixture.db, "f/still-there.json", 2, T0);
    s_put (fixture.db, "f/just-taken.json", 3, T0 + GUARD_MS);
    CU_ASSERT_EQUAL_FATAL (rh_db_commit (fixture.db, true), 0);
    //  A crash between the commit and the removal left this one behind: its record is what
    //  stops the agent sending it twice, however old.
    char path [PATH_MAX];
    rh_file_path (path, sizeof path, "%s/still-there.json", fixture.outbox);
    CU_ASSERT_EQUAL_FATAL (rh_file_write_atomic (path, "{}", 2, 0600), 0);
    rh_pruner_t *pruner =
        rh_pruner_new (fixture.db, "la-newport", fixture.outbox, KEEP_MS, GUARD_MS);
    CU_ASSERT_PTR_NOT_NULL_FATAL (pruner);
    s_pass (pruner, fixture.db, T0 + GUARD_MS + 1, 256);
    CU_ASSERT_FALSE (rh_db_has (fixture.db, "f/gone.json", 11));
    CU_ASSERT_TRUE (rh_db_has (fixture.db, "f/still-there.json", 18));
    CU_ASSERT_TRUE (rh_db_has (fixture.db, "f/just-taken.json", 17));
    unlink (path);
    s_pass (pruner, fixture.db, T0 + 3 * GUARD_MS, 256);
    CU_ASSERT_FALSE (rh_db_has (fixture.db, "f/still-there.json", 18));
    CU_ASSERT_FALSE (rh_db_has (fixture.db, "f/just-taken.json", 17));
    rh_pruner_destroy (&pruner);
    rh_db_destroy (&fixture.db);
}

static void
test_pruner_works_in_bounded_steps_and_paces_its_passes (void)
{
    s_fixture_t fixture;
    s_open (&fixture);
    char key [32];
    for (int i = 0; i < 100; i++) {
        snprintf (key, sizeof key, "i/m%03d", i);
        s_put (fixture.db, key, 1, i % 2 ? T0 : T0 + KEEP_MS);  //  every other one old
        snprintf (key, sizeof key, "f/s%03d.json", i);
        s_put (fixture.db, key, 1, T0);
    }
    CU_ASSERT_EQUAL_FATAL (rh_db_commit (fixture.db, true), 0);
    rh_pruner_t *pruner =
        rh_pruner_new (fixture.db, "la-newport", fixture.outbox, KEEP_MS, GUARD_MS);
    CU_ASSERT_PTR_NOT_NULL_FATAL (pruner);
    int64_t now = T0 + KEEP_MS + 1;
    //  Ten records a step: twenty steps for 200, not one long stall.
    int steps = s_pass (pruner, fixture.db, now, 10);
    CU_ASSERT (steps >= 20 && steps <= 21);
    CU_ASSERT_EQUAL (rh_pruner_pruned (pruner), 150);
    CU_ASSERT_EQUAL (rh_pruner_kept (pruner), 50);
    rh_db_iter_t *iter = rh_db_iter_new (fixture.db, "i/", 2);
    size_t left = 0;
    for (; rh_db_iter_valid (iter); rh_db_iter_next (iter))
        left++;
    rh_db_iter_destroy (&iter);
    CU_ASSERT_EQUAL (left, 50);
    //  The next pass waits its turn.
    CU_ASSERT_EQUAL (rh_pruner_step (pruner, now + RH_PRUNER_PASS_MS - 1, 10), 0);
    CU_ASSERT_EQUAL (rh_pruner_step (pruner, now + RH_PRUNER_PASS_MS, 10), 10);
    rh_pruner_destroy (&pruner);
    rh_db_destroy (&fixture.db);
}

void
init_rh_pruner_tests (void)
{
    CU_pSuite suite = CU_add_suite ("rh_pruner", NULL, NULL);
    CU_add_test (suite, "pruner forgets arrivals older than the retention",
                 test_pruner_forgets_arrivals_older_than_the_retention);
    CU_add_test (suite, "pruner values carry the digest and when it was recorded",
                 test_pruner_values_carry_the_digest_and_when_it_was_recorded);
    CU_add_test (suite, "pruner dates a store written before records were dated",
                 test_pruner_dates_a_store_written_before_records_were_dated);
    CU_add_test (suite, "pruner keeps a spool record while its file is in outbox",
                 test_pruner_keeps_a_spool_record_while_its_file_is_in_outbox);
    CU_add_test (suite, "pruner works in bounded steps and paces its passes",
                 test_pruner_works_in_bounded_steps_and_paces_its_passes);
}
