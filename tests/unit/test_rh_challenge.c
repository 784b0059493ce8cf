/*  =========================================================================
    test_rh_challenge - professional challenge: its declared lifecycle, and
    a challenge raised, escalated, answered once, on a real LevelDB
    =========================================================================
*/
#include "test_world.h"
#include "rhannu.pb-c.h"

#define C_NONE       RHANNU__V1__CHALLENGE_STATE__CHALLENGE_STATE_UNSET
#define C_RAISED     RHANNU__V1__CHALLENGE_STATE__CHALLENGE_STATE_RAISED
#define C_ESCALATED  RHANNU__V1__CHALLENGE_STATE__CHALLENGE_STATE_ESCALATED
#define C_RESPONDED  RHANNU__V1__CHALLENGE_STATE__CHALLENGE_STATE_RESPONDED
#define C_UNRESOLVED RHANNU__V1__CHALLENGE_STATE__CHALLENGE_STATE_UNRESOLVED

//  The table, row by row: every state and event, the legal moves and nothing else.
static void
test_the_challenge_lifecycle_table (void)
{
    static const struct {
        uint32_t state;
        uint32_t next [RH_CHALLENGE_EVENTS];  //  RAISE, RESPOND, MISSED, LAST_MISSED
    } expected [] = {
        { C_NONE, { C_RAISED, RH_CHALLENGE_IGNORED, RH_CHALLENGE_IGNORED, RH_CHALLENGE_IGNORED } },
        { C_RAISED, { RH_CHALLENGE_IGNORED, C_RESPONDED, C_ESCALATED, C_UNRESOLVED } },
        { C_ESCALATED, { RH_CHALLENGE_IGNORED, C_RESPONDED, C_ESCALATED, C_UNRESOLVED } },
        { C_RESPONDED,
          { RH_CHALLENGE_IGNORED, RH_CHALLENGE_IGNORED, RH_CHALLENGE_IGNORED,
            RH_CHALLENGE_IGNORED } },
        //  The last level may still answer late.
        { C_UNRESOLVED,
          { RH_CHALLENGE_IGNORED, C_RESPONDED, RH_CHALLENGE_IGNORED, RH_CHALLENGE_IGNORED } },
        //  A state the table does not know (a newer broker's, or damage) takes nothing.
        { 79,
          { RH_CHALLENGE_IGNORED, RH_CHALLENGE_IGNORED, RH_CHALLENGE_IGNORED,
            RH_CHALLENGE_IGNORED } },
    };
    for (size_t i = 0; i < sizeof expected / sizeof expected [0]; i++)
        for (int event = 0; event < RH_CHALLENGE_EVENTS; event++)
            CU_ASSERT_EQUAL (rh_challenge_next (expected [i].state, (rh_challenge_event_t) event),
                             expected [i].next [event]);
    CU_ASSERT_EQUAL (rh_challenge_next (C_RAISED, RH_CHALLENGE_EVENTS), RH_CHALLENGE_IGNORED);
}

static const char *s_agreement =
    "id: TEST-CHALLENGE\n"
    "version: 1\n"
    "valid_from: 2024-04-01\n"
    "valid_to: 2099-03-31\n"
    "purposes: [SAFEGUARDING_CHILD, REFERRER_FEEDBACK]\n"
    "parties:\n"
    "  - {id: police-gwent, type: POLICE, roles: [referrer]}\n"
    "  - {id: la-newport, type: LA_FRONT_DOOR, roles: [front_door], front_door_for: [newport]}\n"
    "  - {id: health-abb, type: HEALTH, roles: [lead]}\n"
    "challenge:\n"
    "  levels:\n"
    "    - {role: holder, respond_days: 5}\n"
    "    - {role: lead, respond_days: 3}\n"
    "rules:\n"
    "  - {id: R1, kinds: [REFERRAL], from: {role: referrer}, to: {role: front_door}, fields: all}\n"
    "  - {id: R99, effect: deny}\n"
    "obligations:\n"
    "  outcome_days: {default: 5}\n";

//  The broker's world with the challenges beside its tracker, as the broker wires them.
typedef struct {
    test_world_t world;
    rh_challenge_t *challenges;
} s_fixture_t;

static void
s_open (s_fixture_t *fx)
{
    test_world_open (&fx->world, s_agreement, "challenge.yaml");
    test_world_t *world = &fx->world;
    fx->challenges = rh_challenge_new (world->db, world->cases, world->queue, world->audit,
                                       world->signer, &world->store, &world->policy);
    CU_ASSERT_PTR_NOT_NULL_FATAL (fx->challenges);
}

static void
s_close (s_fixture_t *fx)
{
    rh_challenge_destroy (&fx->challenges);
    CU_ASSERT_PTR_NULL (fx->challenges);
    test_world_close (&fx->world);
}

//  A challenge is decided (who may raise it, who answers), raised at level 1 (the holder),
//  escalated to level 2 (the lead) when the holder does not answer in time, answered there,
//  and refused a second answer.
static void
test_a_challenge_is_escalated_then_answered_once (void)
{
    s_fixture_t fx;
    s_open (&fx);
    int64_t now = rh_time_now_ms ();
    rh_decision_t decision = { .agreement = rh_policy_find (fx.world.policy, "TEST-CHALLENGE") };
    rh_envelope_t *referral = test_world_refer (
        &fx.world, "pol-1", "GW-1", "\"body\": {\"referral_kind\": \"PPN\"}", &decision, now);
    rh_case_t record;
    CU_ASSERT_FATAL (rh_cases_get (fx.world.cases, "pol-1", &record));
    rh_challenge_decided (fx.challenges, "la-1", "pol-1");
    CU_ASSERT_EQUAL (rh_db_commit (fx.world.db, true), 0);

    const char *to [RH_MAX_INVOLVED];
    size_t to_count = 0;
    rh_decision_t refusal;
    rh_facts_t facts;
    //  Naming an outcome the broker does not know: refused.
    rh_envelope_t *stray = test_world_message (
        "police-gwent", "{\"kind\": \"CHALLENGE\", \"msg_id\": \"ch-0\", \"in_reply_to\": \"la-9\","
                        " \"purpose\": \"SAFEGUARDING_CHILD\", \"body\": {\"grounds\": \"g\"}}");
    rh_policy_facts (stray, &facts);
    CU_ASSERT_TRUE (rh_challenge_check (fx.challenges, stray, &facts, "police-gwent", now, to,
                                        &to_count, RH_MAX_INVOLVED, &refusal));
    CU_ASSERT_STRING_EQUAL (refusal.missing, "decision");
    //  By an agency not involved in the case, or its holder: refused.
    rh_envelope_t *challenge = test_world_message (
        "police-gwent", "{\"kind\": \"CHALLENGE\", \"msg_id\": \"ch-1\", \"in_reply_to\": \"la-1\","
                        " \"purpose\": \"SAFEGUARDING_CHILD\","
                        " \"body\": {\"decision_msg_id\": \"la-1\", \"grounds\": \"g\"}}");
    rh_policy_facts (challenge, &facts);
    CU_ASSERT_TRUE (rh_challenge_check (fx.challenges, challenge, &facts, "health-abb", now, to,
                                        &to_count, RH_MAX_INVOLVED, &refusal));
    CU_ASSERT_STRING_EQUAL (refusal.missing, "case_party");
    CU_ASSERT_TRUE (rh_challenge_check (fx.challenges, challenge, &facts, "la-newport", now, to,
                                        &to_count, RH_MAX_INVOLVED, &refusal));
    CU_ASSERT_STRING_EQUAL (refusal.missing, "case_party");
    //  By the referrer: level 1, answered by the holder, who receives it.
    CU_ASSERT_FALSE (rh_challenge_check (fx.challenges, challenge, &facts, "police-gwent", now, to,
                                         &to_count, RH_MAX_INVOLVED, &refusal));
    CU_ASSERT_EQUAL_FATAL (to_count, 1);
    CU_ASSERT_STRING_EQUAL (to [0], "la-newport");
    rh_challenge_accepted (fx.challenges, challenge, &facts, "ch-1", "police-gwent", now);
    rh_challenge_record_t c;
    CU_ASSERT_FATAL (rh_challenge_get (fx.challenges, "ch-1", &c));
    CU_ASSERT_EQUAL (c.state, C_RAISED);
    CU_ASSERT_EQUAL (c.level, 1);
    CU_ASSERT_EQUAL (c.due_ms, now + 5 * TEST_DAY_MS);
    CU_ASSERT_STRING_EQUAL (c.case_id, "GW-1");
    CU_ASSERT_STRING_EQUAL (c.holder, "la-newport");
    CU_ASSERT_EQUAL (rh_db_commit (fx.world.db, true), 0);
    uint64_t lead_before = test_world_queued (&fx.world, "health-abb");

    //  Not yet due: nothing moves.
    rh_challenge_fire (fx.challenges, now + 4 * TEST_DAY_MS);
    CU_ASSERT_FATAL (rh_challenge_get (fx.challenges, "ch-1", &c));
    CU_ASSERT_EQUAL (c.level, 1);
    //  Level 1 missed: escalated to the lead, who is alerted (and the challenger), 3 days more.
    rh_challenge_fire (fx.challenges, now + 6 * TEST_DAY_MS);
    CU_ASSERT_FATAL (rh_challenge_get (fx.challenges, "ch-1", &c));
    CU_ASSERT_EQUAL (c.state, C_ESCALATED);
    CU_ASSERT_EQUAL (c.level, 2);
    CU_ASSERT_EQUAL (c.due_ms, now + 9 * TEST_DAY_MS);
    CU_ASSERT_EQUAL (test_world_queued (&fx.world, "health-abb"), lead_before + 1);

    //  The holder no longer answers it; the lead does, once, with an outcome.
    rh_envelope_t *answer = test_world_message (
        "health-abb",
        "{\"kind\": \"STATUS_UPDATE\", \"msg_id\": \"an-1\", \"in_reply_to\": \"ch-1\","
        " \"purpose\": \"REFERRER_FEEDBACK\", \"body\": {\"update_kind\": \"CHALLENGE_RESPONDED\","
        " \"challenge_outcome\": \"CHALLENGE_RESOLVED\", \"challenge_notes\": \"n\"}}");
    rh_policy_facts (answer, &facts);
    CU_ASSERT_EQUAL (facts.challenge_outcome, RHANNU__V1__CHALLENGE_OUTCOME__CHALLENGE_RESOLVED);
    CU_ASSERT_TRUE (rh_challenge_check (fx.challenges, answer, &facts, "la-newport", now, to,
                                        &to_count, RH_MAX_INVOLVED, &refusal));
    CU_ASSERT_STRING_EQUAL (refusal.missing, "challenge_responder");
    facts.challenge_outcome = 0;
    CU_ASSERT_TRUE (rh_challenge_check (fx.challenges, answer, &facts, "health-abb", now, to,
                                        &to_count, RH_MAX_INVOLVED, &refusal));
    CU_ASSERT_STRING_EQUAL (refusal.missing, "challenge_outcome");
    rh_policy_facts (answer, &facts);
    CU_ASSERT_FALSE (rh_challenge_check (fx.challenges, answer, &facts, "health-abb", now, to,
                                         &to_count, RH_MAX_INVOLVED, &refusal));
    CU_ASSERT_EQUAL_FATAL (to_count, 1);
    CU_ASSERT_STRING_EQUAL (to [0], "police-gwent");  //  the challenger hears the answer
    rh_challenge_accepted (fx.challenges, answer, &facts, "an-1", "health-abb",
                           now + 7 * TEST_DAY_MS);
    CU_ASSERT_FATAL (rh_challenge_get (fx.challenges, "ch-1", &c));
    CU_ASSERT_EQUAL (c.state, C_RESPONDED);
    CU_ASSERT_EQUAL (c.outcome, RHANNU__V1__CHALLENGE_OUTCOME__CHALLENGE_RESOLVED);
    CU_ASSERT_STRING_EQUAL (c.responder, "health-abb");
    CU_ASSERT_EQUAL (c.due_ms, 0);
    CU_ASSERT_TRUE (rh_challenge_check (fx.challenges, answer, &facts, "health-abb", now, to,
                                        &to_count, RH_MAX_INVOLVED, &refusal));
    CU_ASSERT_STRING_EQUAL (refusal.missing, "challenge_open");
    CU_ASSERT_EQUAL (rh_db_commit (fx.world.db, true), 0);
    //  Its old deadline passes: an answered challenge does not go unresolved.
    rh_challenge_fire (fx.challenges, now + 20 * TEST_DAY_MS);
    CU_ASSERT_FATAL (rh_challenge_get (fx.challenges, "ch-1", &c));
    CU_ASSERT_EQUAL (c.state, C_RESPONDED);
    CU_ASSERT_EQUAL (test_world_queued (&fx.world, "health-abb"), lead_before + 1);

    //  A second challenge at level 2 directly: its deadline missed, unresolved.
    rh_envelope_t *second = test_world_message (
        "police-gwent", "{\"kind\": \"CHALLENGE\", \"msg_id\": \"ch-2\", \"in_reply_to\": \"la-1\","
                        " \"purpose\": \"SAFEGUARDING_CHILD\", \"body\": {\"level\": 2}}");
    rh_policy_facts (second, &facts);
    CU_ASSERT_FALSE (rh_challenge_check (fx.challenges, second, &facts, "police-gwent", now, to,
                                         &to_count, RH_MAX_INVOLVED, &refusal));
    CU_ASSERT_EQUAL_FATAL (to_count, 1);
    CU_ASSERT_STRING_EQUAL (to [0], "health-abb");
    rh_challenge_accepted (fx.challenges, second, &facts, "ch-2", "police-gwent", now);
    CU_ASSERT_EQUAL (rh_db_commit (fx.world.db, true), 0);
    rh_challenge_fire (fx.challenges, now + 4 * TEST_DAY_MS);
    CU_ASSERT_FATAL (rh_challenge_get (fx.challenges, "ch-2", &c));
    CU_ASSERT_EQUAL (c.state, C_UNRESOLVED);
    CU_ASSERT_EQUAL (c.level, 2);
    CU_ASSERT_EQUAL (c.due_ms, 0);
    CU_ASSERT_EQUAL (test_world_queued (&fx.world, "health-abb"), lead_before + 2);
    //  A level the agreement does not declare is refused.
    rh_envelope_t *third = test_world_message (
        "police-gwent", "{\"kind\": \"CHALLENGE\", \"msg_id\": \"ch-3\", \"in_reply_to\": \"la-1\","
                        " \"purpose\": \"SAFEGUARDING_CHILD\", \"body\": {\"level\": 3}}");
    rh_policy_facts (third, &facts);
    CU_ASSERT_TRUE (rh_challenge_check (fx.challenges, third, &facts, "police-gwent", now, to,
                                        &to_count, RH_MAX_INVOLVED, &refusal));
    CU_ASSERT_STRING_EQUAL (refusal.missing, "challenge_level");

    rh_envelope_destroy (&third);
    rh_envelope_destroy (&second);
    rh_envelope_destroy (&answer);
    rh_envelope_destroy (&challenge);
    rh_envelope_destroy (&stray);
    rh_envelope_destroy (&referral);
    s_close (&fx);
}

void
init_rh_challenge_tests (void)
{
    CU_pSuite suite = CU_add_suite ("rh_challenge", NULL, NULL);
    CU_add_test (suite, "the challenge lifecycle table", test_the_challenge_lifecycle_table);
    CU_add_test (suite, "a challenge is escalated, then answered once",
                 test_a_challenge_is_escalated_then_answered_once);
}
