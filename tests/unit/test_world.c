/*  =========================================================================
    test_world - a broker's world for the unit suites (see test_world.h)
    =========================================================================
*/
#include "test_world.h"

//  The queue's send callback: nothing is connected in a unit test, and what is queued is
//  counted from the queue's tail (test_world_queued), not from what was sent.
static int
s_send (void *arg, const uint8_t *routing_id, size_t routing_id_size, const rh_frame_t *frame)
{
    (void) arg, (void) routing_id, (void) routing_id_size, (void) frame;
    return 0;
}

//  Signs the agreement with the board CA and loads it, as a broker loads its policy folder.
static void
s_load_policy (test_world_t *world, const char *agreement, const char *name)
{
    const test_pki_t *pki = test_pki ();
    char policy_dir [PATH_MAX], path [PATH_MAX], ca [PATH_MAX];
    test_tempdir (policy_dir, sizeof policy_dir);
    rh_file_path (path, sizeof path, "%s/%s", policy_dir, name);
    CU_ASSERT_FATAL (rh_file_write_atomic (path, agreement, strlen (agreement), 0644) == 0);
    CU_ASSERT_FATAL (rh_ca_sign_file (pki->pki, path) == 0);
    rh_file_path (ca, sizeof ca, "%s/ca.pem", pki->pki);
    char errors [4096] = "";
    world->policy = rh_policy_load (policy_dir, ca, rh_time_now_ms (), errors, sizeof errors);
    if (!world->policy)
        fprintf (stderr, "\n  policy refused:\n%s", errors);
    CU_ASSERT_PTR_NOT_NULL_FATAL (world->policy);
}

void
test_world_open (test_world_t *world, const char *agreement, const char *name)
{
    const test_pki_t *pki = test_pki ();
    memset (world, 0, sizeof *world);
    char dir [PATH_MAX];
    test_tempdir (dir, sizeof dir);
    if (agreement)
        s_load_policy (world, agreement, name);
    world->db = rh_db_open (dir);
    world->store = rh_certstore_load_dir (pki->pki);
    world->signer = test_signer (pki->pki, "health-abb");
    CU_ASSERT_FATAL (world->db && world->store && world->signer);
    world->audit = rh_audit_new (world->db);
    if (agreement) {
        world->cases = rh_cases_new (world->db);
        CU_ASSERT_PTR_NOT_NULL_FATAL (world->cases);
    }
    rh_queue_limits_t limits = { .expiry_ms = TEST_DAY_MS, .redeliver_ms = 1000 };
    world->queue = rh_queue_new (world->db, world->audit, world->signer, &limits, s_send, NULL);
    CU_ASSERT_FATAL (world->audit && world->queue);
    if (agreement) {
        world->tracker = rh_tracker_new (world->db, world->cases, world->queue, world->signer,
                                         &world->store, &world->policy);
        CU_ASSERT_PTR_NOT_NULL_FATAL (world->tracker);
    }
}

void
test_world_close (test_world_t *world)
{
    if (world->tracker) {
        rh_tracker_destroy (&world->tracker);
        CU_ASSERT_PTR_NULL (world->tracker);
    }
    rh_queue_destroy (&world->queue);
    rh_cases_destroy (&world->cases);
    rh_audit_destroy (&world->audit);
    rh_signer_destroy (&world->signer);
    rh_certstore_destroy (&world->store);
    rh_policy_destroy (&world->policy);
    rh_db_destroy (&world->db);
}

rh_envelope_t *
test_world_message (const char *sender, const char *json)
{
    char error [256] = "";
    rh_envelope_t *envelope =
        rh_json_to_envelope ((const uint8_t *) json, strlen (json), error, sizeof error);
    if (!envelope)
        fprintf (stderr, "\n  %s\n", error);
    CU_ASSERT_PTR_NOT_NULL_FATAL (envelope);
    rh_signer_t *signer = test_signer (test_pki ()->pki, sender);
    CU_ASSERT_FATAL (signer && rh_envelope_sign (envelope, signer) == 0);
    rh_signer_destroy (&signer);
    return envelope;
}

uint64_t
test_world_queued (test_world_t *world, const char *agency)
{
    CU_ASSERT_EQUAL (rh_db_commit (world->db, true), 0);
    char key [64];
    snprintf (key, sizeof key, "t/%s", agency);
    uint8_t *value = NULL;
    size_t size = 0;
    uint64_t tail = 0;
    if (rh_db_get (world->db, key, strlen (key), &value, &size) == 0 && size == 8)
        memcpy (&tail, value, 8);
    free (value);
    return tail;
}

rh_envelope_t *
test_world_refer (test_world_t *world, const char *msg_id, const char *case_id, const char *fields,
                  const rh_decision_t *decision, int64_t now)
{
    CU_ASSERT_PTR_NOT_NULL_FATAL (world->tracker);
    //  A misspelt agreement id would open the case under no agreement, with none of the
    //  deadlines the tests go on to check.
    CU_ASSERT_PTR_NOT_NULL_FATAL (decision->agreement);
    char json [1024];
    int length = snprintf (json, sizeof json,
                           "{\"kind\": \"REFERRAL\", \"msg_id\": \"%s\", \"case_id\": \"%s\","
                           " \"purpose\": \"SAFEGUARDING_CHILD\","
                           " \"to\": [{\"agency_id\": \"la-newport\"}], %s}",
                           msg_id, case_id, fields);
    CU_ASSERT_FATAL (length > 0 && (size_t) length < sizeof json);
    rh_envelope_t *referral = test_world_message ("police-gwent", json);
    rh_facts_t facts;
    rh_policy_facts (referral, &facts);
    const char *recipients [] = { "la-newport" };
    rh_tracker_open (world->tracker, referral, &facts, "police-gwent", recipients, decision, 1,
                     now);
    return referral;
}
