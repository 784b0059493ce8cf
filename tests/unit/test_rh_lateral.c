/*  =========================================================================
    test_rh_lateral - lateral checks on a real LevelDB: the declared
    lifecycle table, a check reminded, overdue and answered late, a second
    answer refused, and the onward rule for a response
    =========================================================================
*/
#include "test_world.h"
#include "rhannu.pb-c.h"

#define L_REQUESTED RHANNU__V1__LATERAL_STATE__LATERAL_REQUESTED
#define L_REMINDED  RHANNU__V1__LATERAL_STATE__LATERAL_REMINDED
#define L_ANSWERED  RHANNU__V1__LATERAL_STATE__LATERAL_ANSWERED
#define L_OVERDUE   RHANNU__V1__LATERAL_STATE__LATERAL_OVERDUE
#define L_LATE      RHANNU__V1__LATERAL_STATE__LATERAL_ANSWERED_LATE

//  The broker's world (no agreement: a lateral check needs no policy, cases or tracker) with
//  the lateral checks on its queue, as the broker wires them.
typedef struct {
    test_world_t world;
    rh_lateral_t *lateral;
} s_fixture_t;

static void
s_open (s_fixture_t *fx)
{
    test_world_open (&fx->world, NULL, NULL);
    test_world_t *world = &fx->world;
    fx->lateral =
        rh_lateral_new (world->db, world->queue, world->audit, world->signer, &world->store);
    CU_ASSERT_PTR_NOT_NULL_FATAL (fx->lateral);
}

static void
s_close (s_fixture_t *fx)
{
    rh_lateral_destroy (&fx->lateral);
    CU_ASSERT_PTR_NULL (fx->lateral);
    test_world_close (&fx->world);
}

//  The request from la-newport to health-abb (msg id lat-1), reply by reply_by.
static rh_envelope_t *
s_request (int64_t reply_by)
{
    char json [512];
    snprintf (json, sizeof json,
              "{\"kind\": \"INFO_REQUEST\", \"msg_id\": \"lat-1\", \"case_id\": \"C9\", "
              "\"purpose\": \"SAFEGUARDING_CHILD\", \"to\": [{\"agency_id\": \"health-abb\"}], "
              "\"author\": {\"practitioner_id\": \"SW-2\"}, \"body\": {\"question\": \"known?\", "
              "\"reply_by_ms\": %" PRId64 "}}",
              reply_by);
    return test_world_message ("la-newport", json);
}

static void
test_the_lifecycle_table (void)
{
    //  Requested: reminded, overdue, or answered.
    CU_ASSERT_EQUAL (rh_lateral_next (L_REQUESTED, RH_LATERAL_REMIND), L_REMINDED);
    CU_ASSERT_EQUAL (rh_lateral_next (L_REQUESTED, RH_LATERAL_DUE), L_OVERDUE);
    CU_ASSERT_EQUAL (rh_lateral_next (L_REQUESTED, RH_LATERAL_ANSWER), L_ANSWERED);
    //  Reminded once; then overdue or answered in time.
    CU_ASSERT_EQUAL (rh_lateral_next (L_REMINDED, RH_LATERAL_REMIND), 0);
    CU_ASSERT_EQUAL (rh_lateral_next (L_REMINDED, RH_LATERAL_DUE), L_OVERDUE);
    CU_ASSERT_EQUAL (rh_lateral_next (L_REMINDED, RH_LATERAL_ANSWER), L_ANSWERED);
    //  Overdue once; an answer then is late.
    CU_ASSERT_EQUAL (rh_lateral_next (L_OVERDUE, RH_LATERAL_REMIND), 0);
    CU_ASSERT_EQUAL (rh_lateral_next (L_OVERDUE, RH_LATERAL_DUE), 0);
    CU_ASSERT_EQUAL (rh_lateral_next (L_OVERDUE, RH_LATERAL_ANSWER), L_LATE);
    //  Answered: nothing more, not even a second answer.
    for (int event = 0; event < RH_LATERAL_EVENTS; event++) {
        CU_ASSERT_EQUAL (rh_lateral_next (L_ANSWERED, (rh_lateral_event_t) event), 0);
        CU_ASSERT_EQUAL (rh_lateral_next (L_LATE, (rh_lateral_event_t) event), 0);
        //  A state the table does not know takes nothing.
        CU_ASSERT_EQUAL (rh_lateral_next (0, (rh_lateral_event_t) event), 0);
        CU_ASSERT_EQUAL (rh_lateral_next (12345, (rh_lateral_event_t) event), 0);
    }
    CU_ASSERT_EQUAL (rh_lateral_next (L_REQUESTED, RH_LATERAL_EVENTS), 0);
}

static void
test_a_check_is_reminded_goes_overdue_and_is_answered_late (void)
{
    s_fixture_t fx;
    s_open (&fx);
    int64_t now = rh_time_now_ms (), reply_by = now + 2 * TEST_DAY_MS;
    rh_envelope_t *request = s_request (reply_by);
    const char *partners [1] = { "health-abb" };
    rh_lateral_open (fx.lateral, request, "la-newport", partners, 1, now);
    rh_lateral_check_t check;
    CU_ASSERT_FATAL (rh_lateral_get (fx.lateral, "lat-1", "health-abb", &check));
    CU_ASSERT_EQUAL (check.state, L_REQUESTED);
    CU_ASSERT_EQUAL (check.reply_by_ms, reply_by);
    CU_ASSERT_EQUAL (check.remind_ms, now + (reply_by - now) * RH_LATERAL_REMIND_PERCENT / 100);
    CU_ASSERT_STRING_EQUAL (check.case_id, "C9");
    CU_ASSERT_FALSE (rh_lateral_get (fx.lateral, "lat-1", "police-gwent", &check));
    uint64_t partner_before = test_world_queued (&fx.world, "health-abb"),
             requester_before = test_world_queued (&fx.world, "la-newport");

    //  Not yet: nothing fires before the reminder.
    rh_lateral_fire (fx.lateral, now + TEST_DAY_MS);
    CU_ASSERT_FATAL (rh_lateral_get (fx.lateral, "lat-1", "health-abb", &check));
    CU_ASSERT_EQUAL (check.state, L_REQUESTED);
    CU_ASSERT_EQUAL (test_world_queued (&fx.world, "health-abb"), partner_before);
    //  The reminder goes to the partner only.
    rh_lateral_fire (fx.lateral, check.remind_ms);
    CU_ASSERT_FATAL (rh_lateral_get (fx.lateral, "lat-1", "health-abb", &check));
    CU_ASSERT_EQUAL (check.state, L_REMINDED);
    CU_ASSERT_EQUAL (test_world_queued (&fx.world, "health-abb"), partner_before + 1);
    CU_ASSERT_EQUAL (test_world_queued (&fx.world, "la-newport"), requester_before);
    //  The reply-by time passes: both sides are told, once.
    rh_lateral_fire (fx.lateral, reply_by + 1);
    rh_lateral_fire (fx.lateral, reply_by + 2);
    CU_ASSERT_FATAL (rh_lateral_get (fx.lateral, "lat-1", "health-abb", &check));
    CU_ASSERT_EQUAL (check.state, L_OVERDUE);
    CU_ASSERT_EQUAL (test_world_queued (&fx.world, "health-abb"), partner_before + 2);
    CU_ASSERT_EQUAL (test_world_queued (&fx.world, "la-newport"), requester_before + 1);

    //  The partner's late answer is linked to the request and closes it.
    rh_envelope_t *response = test_world_message (
        "health-abb", "{\"kind\": \"INFO_RESPONSE\", \"msg_id\": \"resp-1\", \"in_reply_to\": "
                      "\"lat-1\", \"purpose\": \"SAFEGUARDING_CHILD\", \"body\": "
                      "{\"known_to_service\": true, \"content\": \"seen in May\"}}");
    rh_lateral_check_t matched;
    CU_ASSERT_EQUAL (rh_lateral_match (fx.lateral, response, "health-abb", &matched),
                     RH_LATERAL_RESPONSE);
    CU_ASSERT_EQUAL (rh_lateral_match (fx.lateral, response, "police-gwent", &matched),
                     RH_LATERAL_NONE);  //  not asked: nothing to answer
    CU_ASSERT_EQUAL (rh_lateral_match (fx.lateral, response, "health-abb", &matched),
                     RH_LATERAL_RESPONSE);
    const char *to [2] = { "la-newport", "police-gwent" };
    rh_decision_t decisions [2], refusal;
    memset (decisions, 0, sizeof decisions);
    decisions [0].result = decisions [1].result = RH_DECIDE_ALLOW;
    decisions [0].rule_id = decisions [1].rule_id = "L2";
    const char *refused = NULL;
    CU_ASSERT_FALSE (rh_lateral_refused (fx.lateral, RH_LATERAL_RESPONSE, &matched, to, decisions,
                                         1, &refusal, &refused));
    //  ... to the requester only: a copy to a third party is refused, typed.
    CU_ASSERT_TRUE (rh_lateral_refused (fx.lateral, RH_LATERAL_RESPONSE, &matched, to, decisions, 2,
                                        &refusal, &refused));
    CU_ASSERT_STRING_EQUAL (refusal.missing, "onward");
    CU_ASSERT_STRING_EQUAL (refused, "police-gwent");
    rh_lateral_answer (fx.lateral, &matched, response, reply_by + 10);
    CU_ASSERT_FATAL (rh_lateral_get (fx.lateral, "lat-1", "health-abb", &check));
    CU_ASSERT_EQUAL (check.state, L_LATE);
    CU_ASSERT_TRUE (check.known_to_service);
    CU_ASSERT_STRING_EQUAL (check.response_msg_id, "resp-1");
    CU_ASSERT_EQUAL (check.answered_ms, reply_by + 10);

    //  A second answer is refused, naming what is missing: an open check.
    CU_ASSERT_EQUAL (rh_lateral_match (fx.lateral, response, "health-abb", &matched),
                     RH_LATERAL_RESPONSE);
    CU_ASSERT_TRUE (rh_lateral_refused (fx.lateral, RH_LATERAL_RESPONSE, &matched, to, decisions, 1,
                                        &refusal, &refused));
    CU_ASSERT_STRING_EQUAL (refusal.missing, "lateral_open");

    //  A message relaying the response: back to the partner or to the requester is fine; to a
    //  third party only under a rule with onward: true.
    CU_ASSERT_EQUAL (rh_db_commit (fx.world.db, true), 0);
    rh_envelope_t *relay = test_world_message (
        "la-newport", "{\"kind\": \"TRANSFER\", \"msg_id\": \"fwd-1\", \"in_reply_to\": "
                      "\"resp-1\", \"purpose\": \"SAFEGUARDING_CHILD\", \"to\": "
                      "[{\"agency_id\": \"police-gwent\"}], \"body\": {}}");
    CU_ASSERT_EQUAL (rh_lateral_match (fx.lateral, relay, "la-newport", &matched),
                     RH_LATERAL_RELAY);
    const char *onward [2] = { "health-abb", "police-gwent" };
    decisions [0].rule_id = decisions [1].rule_id = "L3";
    CU_ASSERT_FALSE (rh_lateral_refused (fx.lateral, RH_LATERAL_RELAY, &matched, onward, decisions,
                                         1, &refusal, &refused));
    CU_ASSERT_TRUE (rh_lateral_refused (fx.lateral, RH_LATERAL_RELAY, &matched, onward, decisions,
                                        2, &refusal, &refused));
    CU_ASSERT_STRING_EQUAL (refusal.missing, "onward");
    CU_ASSERT_STRING_EQUAL (refusal.rule_id, "L3");
    CU_ASSERT_PTR_NOT_NULL (strstr (refusal.reason, "does not allow sharing it onward"));
    decisions [1].onward = true;
    CU_ASSERT_FALSE (rh_lateral_refused (fx.lateral, RH_LATERAL_RELAY, &matched, onward, decisions,
                                         2, &refusal, &refused));
    //  A decision that did not allow the recipient is not this rule's to judge.
    decisions [1].onward = false;
    decisions [1].result = RH_DECIDE_NO_RULE;
    CU_ASSERT_FALSE (rh_lateral_refused (fx.lateral, RH_LATERAL_RELAY, &matched, onward, decisions,
                                         2, &refusal, &refused));
    //  Without a lateral checks object nothing is refused.
    CU_ASSERT_FALSE (rh_lateral_refused (NULL, RH_LATERAL_NONE, &matched, onward, decisions, 2,
                                         &refusal, &refused));

    size_t open = 99;
    CU_ASSERT_EQUAL (rh_lateral_count (fx.lateral, &open), 1);
    CU_ASSERT_EQUAL (open, 0);
    rh_envelope_destroy (&relay);
    rh_envelope_destroy (&response);
    rh_envelope_destroy (&request);
    s_close (&fx);
}

static void
test_a_check_answered_in_time_has_no_more_deadlines (void)
{
    s_fixture_t fx;
    s_open (&fx);
    int64_t now = rh_time_now_ms (), reply_by = now + TEST_DAY_MS;
    rh_envelope_t *request = s_request (reply_by);
    const char *partners [1] = { "health-abb" };
    rh_lateral_open (fx.lateral, request, "la-newport", partners, 1, now);
    //  In the same batch, before any commit: the answer still finds its request.
    rh_envelope_t *response = test_world_message (
        "health-abb", "{\"kind\": \"INFO_RESPONSE\", \"msg_id\": \"resp-2\", \"purpose\": "
                      "\"SAFEGUARDING_CHILD\", \"body\": {\"original_msg_id\": \"lat-1\"}}");
    rh_lateral_check_t check;
    CU_ASSERT_EQUAL_FATAL (rh_lateral_match (fx.lateral, response, "health-abb", &check),
                           RH_LATERAL_RESPONSE);
    rh_lateral_answer (fx.lateral, &check, response, now + 5);
    uint64_t partner_before = test_world_queued (&fx.world, "health-abb"),
             requester_before = test_world_queued (&fx.world, "la-newport");
    rh_lateral_fire (fx.lateral, reply_by + TEST_DAY_MS);
    CU_ASSERT_FATAL (rh_lateral_get (fx.lateral, "lat-1", "health-abb", &check));
    CU_ASSERT_EQUAL (check.state, L_ANSWERED);
    CU_ASSERT_FALSE (check.known_to_service);
    CU_ASSERT_EQUAL (test_world_queued (&fx.world, "health-abb"), partner_before);
    CU_ASSERT_EQUAL (test_world_queued (&fx.world, "la-newport"), requester_before);
    //  And a request without a reply-by time is tracked but never reminded or overdue.
    rh_envelope_t *open_ended = test_world_message (
        "la-newport", "{\"kind\": \"INFO_REQUEST\", \"msg_id\": \"lat-2\", \"purpose\": "
                      "\"SAFEGUARDING_CHILD\", \"to\": [{\"agency_id\": \"health-abb\"}], "
                      "\"body\": {\"question\": \"known?\"}}");
    rh_lateral_open (fx.lateral, open_ended, "la-newport", partners, 1, now);
    rh_lateral_fire (fx.lateral, now + 365 * TEST_DAY_MS);
    CU_ASSERT_FATAL (rh_lateral_get (fx.lateral, "lat-2", "health-abb", &check));
    CU_ASSERT_EQUAL (check.state, L_REQUESTED);
    CU_ASSERT_EQUAL (check.remind_ms, 0);
    CU_ASSERT_EQUAL (test_world_queued (&fx.world, "health-abb"), partner_before);
    rh_envelope_destroy (&open_ended);
    rh_envelope_destroy (&response);
    rh_envelope_destroy (&request);
    s_close (&fx);
}

static void
test_a_reminder_past_the_reply_by_time_is_skipped (void)
{
    s_fixture_t fx;
    s_open (&fx);
    int64_t now = rh_time_now_ms (), reply_by = now + TEST_DAY_MS;
    rh_envelope_t *request = s_request (reply_by);
    const char *partners [1] = { "health-abb" };
    rh_lateral_open (fx.lateral, request, "la-newport", partners, 1, now);
    uint64_t partner_before = test_world_queued (&fx.world, "health-abb"),
             requester_before = test_world_queued (&fx.world, "la-newport");
    //  A broker down over both times fires them together: no reminder of what is overdue.
    rh_lateral_fire (fx.lateral, reply_by + TEST_DAY_MS);
    rh_lateral_check_t check;
    CU_ASSERT_FATAL (rh_lateral_get (fx.lateral, "lat-1", "health-abb", &check));
    CU_ASSERT_EQUAL (check.state, L_OVERDUE);
    CU_ASSERT_EQUAL (check.remind_ms, 0);
    CU_ASSERT_EQUAL (test_world_queued (&fx.world, "health-abb"), partner_before + 1);
    CU_ASSERT_EQUAL (test_world_queued (&fx.world, "la-newport"), requester_before + 1);
    rh_envelope_destroy (&request);
    s_close (&fx);
}

void
init_rh_lateral_tests (void)
{
    CU_pSuite suite = CU_add_suite ("rh_lateral", NULL, NULL);
    CU_add_test (suite, "the lateral check lifecycle table", test_the_lifecycle_table);
    CU_add_test (suite, "a check is reminded, goes overdue and is answered late; onward refused",
                 test_a_check_is_reminded_goes_overdue_and_is_answered_late);
    CU_add_test (suite, "a check answered in time has no more deadlines",
                 test_a_check_answered_in_time_has_no_more_deadlines);
    CU_add_test (suite, "a reminder past the reply-by time is skipped",
                 test_a_reminder_past_the_reply_by_time_is_skipped);
}
