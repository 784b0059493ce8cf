/*  =========================================================================
    test_rh_tracker - the referral lifecycle on a real LevelDB: a case opens,
    is taken in (a receipt), has deadlines fire, is decided and closed
    =========================================================================
*/
#include "test_world.h"
#include "rhannu.pb-c.h"

#define S_HOUR_MS ((int64_t) 3600 * 1000)

static const char *s_agreement =
    "id: TEST-TRACKER\n"
    "version: 1\n"
    "valid_from: 2024-04-01\n"
    "valid_to: 2099-03-31\n"
    "purposes: [SAFEGUARDING_CHILD, REFERRER_FEEDBACK]\n"
    "parties:\n"
    "  - {id: police-gwent, type: POLICE, roles: [referrer]}\n"
    "  - {id: la-newport, type: LA_FRONT_DOOR, roles: [front_door], front_door_for: [newport],\n"
    "     label: \"Newport IAA\"}\n"
    "  - {id: health-abb, type: HEALTH, roles: [reviewer]}\n"
    "rules:\n"
    "  - {id: R1, kinds: [REFERRAL], from: {role: referrer}, to: {role: front_door}, fields: all}\n"
    "  - {id: R99, effect: deny}\n"
    "obligations:\n"
    "  acknowledge_hours: 24\n"
    "  outcome_days: {default: 5}\n"
    "  reminder_hours_before: 24\n"
    "  feedback_to: [referrer, supervisor]\n"
    "  meeting_record_days: 2\n";

static void
test_a_referral_case_is_opened_taken_in_reminded_decided_and_closed (void)
{
    test_world_t fx;
    test_world_open (&fx, s_agreement, "tracker.yaml");
    int64_t now = rh_time_now_ms ();
    //  A referral the agreement let through to the front door opens a case with its deadlines.
    rh_decision_t decision = { .result = RH_DECIDE_ALLOW,
                               .agreement = rh_policy_find (fx.policy, "TEST-TRACKER"),
                               .rule_id = "R1" };
    CU_ASSERT_PTR_NOT_NULL_FATAL (decision.agreement);
    rh_envelope_t *referral = test_world_refer (
        &fx, "pol-1", "GW-1",
        "\"author\": {\"practitioner_id\": \"PC-1\", \"supervisor_id\": \"DS-9\"}, \"body\": "
        "{\"referral_kind\": \"PPN\", \"categories\": [\"NEGLECT\"]}",
        &decision, now);
    rh_case_t record;
    CU_ASSERT_FATAL (rh_cases_get (fx.cases, "pol-1", &record));
    CU_ASSERT_EQUAL (record.state, RHANNU__V1__CASE_STATE__CASE_RECEIVED);
    CU_ASSERT_STRING_EQUAL (record.holder, "la-newport");
    CU_ASSERT_STRING_EQUAL (record.holder_label, "Newport IAA");
    CU_ASSERT_EQUAL (record.timers [RH_TIMER_ACKNOWLEDGE], now + 24 * S_HOUR_MS);
    CU_ASSERT_EQUAL (record.timers [RH_TIMER_OUTCOME], now + 5 * TEST_DAY_MS);
    CU_ASSERT_EQUAL (record.timers [RH_TIMER_REMINDER], now + 4 * TEST_DAY_MS);
    //  The supervisor hears back too, as the agreement says.
    char copies [2][RH_MAX_ID + 32];
    const char *list [2];
    CU_ASSERT_EQUAL (rh_tracker_copy_to (fx.tracker, &record, copies, list), 1);
    CU_ASSERT_STRING_EQUAL (list [0], "supervisor:DS-9");
    //  Only the holder's taking it in counts, and only once: one receipt to the referrer.
    rh_tracker_taken_in (fx.tracker, RH_KIND_REFERRAL, "pol-1", "police-gwent", now + 1);
    CU_ASSERT_EQUAL (test_world_queued (&fx, "police-gwent"), 0);
    rh_tracker_taken_in (fx.tracker, RH_KIND_REFERRAL, "pol-1", "la-newport", now + 1);
    rh_tracker_taken_in (fx.tracker, RH_KIND_REFERRAL, "pol-1", "la-newport", now + 2);
    CU_ASSERT_EQUAL (test_world_queued (&fx, "police-gwent"), 1);
    CU_ASSERT_FATAL (rh_cases_get (fx.cases, "pol-1", &record));
    CU_ASSERT_EQUAL (record.state, RHANNU__V1__CASE_STATE__CASE_ACKNOWLEDGED);
    CU_ASSERT_EQUAL (record.acknowledged_ms, now + 1);
    CU_ASSERT_EQUAL (record.timers [RH_TIMER_ACKNOWLEDGE], 0);
    CU_ASSERT_EQUAL (rh_db_commit (fx.db, true), 0);
    //  A day before the outcome is due, the holder is reminded; nothing fires before that.
    rh_tracker_fire (fx.tracker, now + 3 * TEST_DAY_MS);
    CU_ASSERT_EQUAL (test_world_queued (&fx, "la-newport"), 0);
    rh_tracker_fire (fx.tracker, now + 4 * TEST_DAY_MS);
    CU_ASSERT_EQUAL (test_world_queued (&fx, "la-newport"), 1);
    CU_ASSERT_FATAL (rh_cases_get (fx.cases, "pol-1", &record));
    CU_ASSERT_EQUAL (record.timers [RH_TIMER_REMINDER], 0);
    //  The holder's outcome answers the referral; anyone else's does not.
    rh_envelope_t *outcome = test_world_message (
        "la-newport",
        "{\"kind\": \"OUTCOME\", \"msg_id\": \"la-1\", \"in_reply_to\": \"pol-1\", \"case_id\": "
        "\"N-7\", \"purpose\": \"REFERRER_FEEDBACK\", \"body\": {\"decision\": \"SIGNPOSTED\"}}");
    CU_ASSERT_EQUAL (rh_tracker_case_of (fx.tracker, outcome, "police-gwent", &record),
                     RH_CASE_OTHERS);
    CU_ASSERT_STRING_EQUAL (record.holder, "la-newport");
    CU_ASSERT_EQUAL_FATAL (rh_tracker_case_of (fx.tracker, outcome, "la-newport", &record),
                           RH_CASE_HELD);
    //  The case cannot close before the referrer has had the outcome.
    rh_envelope_t *closing = test_world_message (
        "la-newport",
        "{\"kind\": \"STATUS_UPDATE\", \"msg_id\": \"la-2\", \"in_reply_to\": \"pol-1\","
        " \"purpose\": \"REFERRER_FEEDBACK\", \"body\": {\"update_kind\": \"CLOSED\"}}");
    rh_facts_t closing_facts;
    rh_policy_facts (closing, &closing_facts);
    rh_decision_t refusal;
    CU_ASSERT_TRUE (rh_tracker_close_refused (fx.tracker, &record, &closing_facts, &refusal));
    CU_ASSERT_STRING_EQUAL (refusal.missing, "outcome_notice");
    rh_facts_t facts;
    rh_policy_facts (outcome, &facts);
    const char *addressed [] = { "police-gwent" };
    rh_tracker_event (fx.tracker, &record, &facts, addressed, 1, now + 4 * TEST_DAY_MS + 10);
    CU_ASSERT_FATAL (rh_cases_get (fx.cases, "pol-1", &record));
    CU_ASSERT_EQUAL (record.state, RHANNU__V1__CASE_STATE__CASE_DECIDED);
    CU_ASSERT_EQUAL (record.decision, RHANNU__V1__DECISION__SIGNPOSTED);
    CU_ASSERT_TRUE (record.outcome_notice_sent);
    CU_ASSERT_EQUAL (record.timers [RH_TIMER_OUTCOME], 0);  //  no overdue alert now
    //  Now it may close.
    CU_ASSERT_FALSE (rh_tracker_close_refused (fx.tracker, &record, &closing_facts, &refusal));
    rh_tracker_event (fx.tracker, &record, &closing_facts, NULL, 0, now + 5 * TEST_DAY_MS);
    CU_ASSERT_FATAL (rh_cases_get (fx.cases, "pol-1", &record));
    CU_ASSERT_EQUAL (record.state, RHANNU__V1__CASE_STATE__CASE_CLOSED);
    CU_ASSERT_EQUAL (record.closed_ms, now + 5 * TEST_DAY_MS);
    CU_ASSERT_EQUAL (record.updates, 1);
    //  A taking-in after the case moved on changes nothing.
    rh_tracker_taken_in (fx.tracker, RH_KIND_REFERRAL, "pol-1", "la-newport", now + 6);
    CU_ASSERT_FATAL (rh_cases_get (fx.cases, "pol-1", &record));
    CU_ASSERT_EQUAL (record.state, RHANNU__V1__CASE_STATE__CASE_CLOSED);
    CU_ASSERT_EQUAL (test_world_queued (&fx, "police-gwent"), 1);
    rh_envelope_destroy (&closing);
    rh_envelope_destroy (&outcome);
    rh_envelope_destroy (&referral);
    test_world_close (&fx);
}

static void
test_an_overdue_referral_alerts_the_referrer_and_the_holder (void)
{
    test_world_t fx;
    test_world_open (&fx, s_agreement, "tracker.yaml");
    int64_t now = rh_time_now_ms ();
    rh_decision_t decision = { .agreement = rh_policy_find (fx.policy, "TEST-TRACKER") };
    rh_envelope_t *referral = test_world_refer (
        &fx, "pol-2", "GW-2", "\"body\": {\"referral_kind\": \"PPN\"}", &decision, now);
    CU_ASSERT_EQUAL (rh_db_commit (fx.db, true), 0);
    //  Never taken in: the referrer hears it was not acknowledged, then that it is overdue; the
    //  holder gets the overdue alert (a reminder past the deadline is not sent).
    rh_tracker_fire (fx.tracker, now + 6 * TEST_DAY_MS);
    CU_ASSERT_EQUAL (test_world_queued (&fx, "police-gwent"), 2);
    CU_ASSERT_EQUAL (test_world_queued (&fx, "la-newport"), 1);
    rh_case_t record;
    CU_ASSERT_FATAL (rh_cases_get (fx.cases, "pol-2", &record));
    CU_ASSERT_TRUE (record.overdue);
    CU_ASSERT_TRUE (record.outage_attributed);  //  the front door never had it
    rh_envelope_destroy (&referral);
    test_world_close (&fx);
}

//  A consent override's own lifecycle: pending when the referral goes through, late (and the
//  reviewer told again) when the review period runs out, then upheld or not by one review; the
//  outcome of the referral does not end the review.
static void
test_a_consent_override_is_reviewed_once (void)
{
    test_world_t fx;
    test_world_open (&fx, s_agreement, "tracker.yaml");
    int64_t now = rh_time_now_ms ();
    rh_decision_t decision = { .agreement = rh_policy_find (fx.policy, "TEST-TRACKER") };
    rh_envelope_t *referral = test_world_refer (
        &fx, "pol-3", "GW-3", "\"body\": {\"referral_kind\": \"PPN\"}", &decision, now);
    rh_case_t record;
    CU_ASSERT_FATAL (rh_cases_get (fx.cases, "pol-3", &record));
    CU_ASSERT_EQUAL (record.override_review, 0);
    //  Overridden: the reviewer is alerted and the review is due in five days; only once.
    CU_ASSERT_EQUAL (rh_tracker_override (fx.tracker, "pol-3", "R1", 5 * TEST_DAY_MS, now), 1);
    CU_ASSERT_EQUAL (rh_tracker_override (fx.tracker, "pol-3", "R1", 5 * TEST_DAY_MS, now), 0);
    CU_ASSERT_EQUAL (test_world_queued (&fx, "health-abb"), 1);
    CU_ASSERT_FATAL (rh_cases_get (fx.cases, "pol-3", &record));
    CU_ASSERT_EQUAL (record.override_review, RHANNU__V1__OVERRIDE_REVIEW__OVERRIDE_REVIEW_PENDING);
    CU_ASSERT_STRING_EQUAL (record.override_rule, "R1");
    CU_ASSERT_EQUAL (record.timers [RH_TIMER_REVIEW], now + 5 * TEST_DAY_MS);
    //  The outcome ends the outcome's deadlines, not the review's.
    rh_envelope_t *outcome = test_world_message (
        "la-newport",
        "{\"kind\": \"OUTCOME\", \"msg_id\": \"la-3\", \"in_reply_to\": \"pol-3\","
        " \"purpose\": \"REFERRER_FEEDBACK\", \"body\": {\"decision\": \"SECTION_47\"}}");
    rh_facts_t facts;
    rh_policy_facts (outcome, &facts);
    rh_tracker_event (fx.tracker, &record, &facts, NULL, 0, now + TEST_DAY_MS);
    CU_ASSERT_FATAL (rh_cases_get (fx.cases, "pol-3", &record));
    CU_ASSERT_EQUAL (record.timers [RH_TIMER_OUTCOME], 0);
    CU_ASSERT_EQUAL (record.timers [RH_TIMER_REVIEW], now + 5 * TEST_DAY_MS);
    CU_ASSERT_EQUAL (rh_db_commit (fx.db, true), 0);
    //  The review period runs out: late, and the reviewer is told again.
    rh_tracker_fire (fx.tracker, now + 6 * TEST_DAY_MS);
    CU_ASSERT_EQUAL (test_world_queued (&fx, "health-abb"), 2);
    CU_ASSERT_FATAL (rh_cases_get (fx.cases, "pol-3", &record));
    CU_ASSERT_EQUAL (record.override_review, RHANNU__V1__OVERRIDE_REVIEW__OVERRIDE_REVIEW_LATE);
    CU_ASSERT_EQUAL (record.timers [RH_TIMER_REVIEW], 0);
    //  Only the reviewer speaks for the case in a review.
    rh_envelope_t *review = test_world_message (
        "health-abb",
        "{\"kind\": \"STATUS_UPDATE\", \"msg_id\": \"rv-3\", \"in_reply_to\": \"pol-3\","
        " \"purpose\": \"REFERRER_FEEDBACK\", \"body\": {\"update_kind\": \"OVERRIDE_REVIEWED\","
        " \"review_outcome\": \"OVERRIDE_NOT_UPHELD\", \"review_notes\": \"no\"}}");
    CU_ASSERT_EQUAL (rh_tracker_case_of (fx.tracker, review, "la-newport", &record),
                     RH_CASE_OTHERS);
    CU_ASSERT_EQUAL_FATAL (rh_tracker_case_of (fx.tracker, review, "health-abb", &record),
                           RH_CASE_HELD);
    rh_facts_t review_facts;
    rh_policy_facts (review, &review_facts);
    rh_decision_t refusal;
    CU_ASSERT_FALSE (rh_tracker_close_refused (fx.tracker, &record, &review_facts, &refusal));
    rh_tracker_event (fx.tracker, &record, &review_facts, NULL, 0, now + 7 * TEST_DAY_MS);
    CU_ASSERT_FATAL (rh_cases_get (fx.cases, "pol-3", &record));
    CU_ASSERT_EQUAL (record.override_review, RHANNU__V1__OVERRIDE_REVIEW__OVERRIDE_NOT_UPHELD);
    CU_ASSERT_EQUAL (record.state, RHANNU__V1__CASE_STATE__CASE_DECIDED);  //  the case is as it was
    //  A second review is refused, typed; so is one without an outcome.
    CU_ASSERT_TRUE (rh_tracker_close_refused (fx.tracker, &record, &review_facts, &refusal));
    CU_ASSERT_STRING_EQUAL (refusal.missing, "override_pending");
    review_facts.review_outcome = RHANNU__V1__OVERRIDE_REVIEW__OVERRIDE_REVIEW_PENDING;
    CU_ASSERT_TRUE (rh_tracker_close_refused (fx.tracker, &record, &review_facts, &refusal));
    CU_ASSERT_STRING_EQUAL (refusal.missing, "review_outcome");
    rh_envelope_destroy (&review);
    rh_envelope_destroy (&outcome);
    rh_envelope_destroy (&referral);
    test_world_close (&fx);
}

static void
test_a_referral_its_holder_cannot_verify_is_recorded_and_gets_no_receipt (void)
{
    test_world_t fx;
    test_world_open (&fx, s_agreement, "tracker.yaml");
    int64_t now = rh_time_now_ms ();
    rh_decision_t decision = { .result = RH_DECIDE_ALLOW,
                               .agreement = rh_policy_find (fx.policy, "TEST-TRACKER"),
                               .rule_id = "R1" };
    rh_envelope_t *referral = test_world_refer (
        &fx, "pol-9", "GW-9",
        "\"body\": {\"referral_kind\": \"PPN\", \"categories\": [\"NEGLECT\"]}", &decision, now);
    //  The holder's agent could not verify it: recorded on the case, which is not taken in.
    rh_tracker_unverified (fx.tracker, RH_KIND_REFERRAL, "pol-9", "la-newport", "RH_E_CERT_UNKNOWN",
                           now + 5);
    rh_tracker_unverified (fx.tracker, RH_KIND_REFERRAL, "pol-9", "la-newport",
                           "RH_E_NOT_YET_VALID", now + 9);
    rh_tracker_unverified (fx.tracker, RH_KIND_REFERRAL, "pol-9", "police-gwent", "RH_E_SIG",
                           now + 9);  //  not its holder: changes nothing
    rh_case_t record;
    CU_ASSERT_FATAL (rh_cases_get (fx.cases, "pol-9", &record));
    CU_ASSERT_EQUAL (record.state, RHANNU__V1__CASE_STATE__CASE_RECEIVED);
    CU_ASSERT_EQUAL (record.unverified, 2);
    CU_ASSERT_STRING_EQUAL (record.unverified_code, "RH_E_NOT_YET_VALID");
    CU_ASSERT_EQUAL (record.unverified_ms, now + 5);
    CU_ASSERT_EQUAL (record.acknowledged_ms, 0);
    CU_ASSERT_EQUAL (test_world_queued (&fx, "police-gwent"), 0);  //  no receipt
    //  Kept through a commit (the case record holds it)...
    CU_ASSERT_FATAL (rh_cases_get (fx.cases, "pol-9", &record));
    CU_ASSERT_EQUAL (record.unverified, 2);
    //  ...and once it is taken in, the receipt goes out.
    rh_tracker_taken_in (fx.tracker, RH_KIND_REFERRAL, "pol-9", "la-newport", now + 20);
    CU_ASSERT_EQUAL (test_world_queued (&fx, "police-gwent"), 1);
    CU_ASSERT_FATAL (rh_cases_get (fx.cases, "pol-9", &record));
    CU_ASSERT_EQUAL (record.state, RHANNU__V1__CASE_STATE__CASE_ACKNOWLEDGED);
    rh_envelope_destroy (&referral);
    test_world_close (&fx);
}

//  Issue 17: a withdrawal by the referrer moves the case to WITHDRAWN before (or after) the
//  decision and stops its deadlines; a withdrawn or closed case cannot be withdrawn again; the
//  holder may still close a withdrawn case.
static void
test_a_withdrawn_referral_has_no_deadlines_and_is_withdrawn_once (void)
{
    test_world_t fx;
    test_world_open (&fx, s_agreement, "tracker.yaml");
    int64_t now = rh_time_now_ms ();
    rh_decision_t decision = { .agreement = rh_policy_find (fx.policy, "TEST-TRACKER") };
    rh_envelope_t *referral = test_world_refer (
        &fx, "pol-3", "GW-3", "\"body\": {\"referral_kind\": \"PPN\"}", &decision, now);
    rh_case_t record;
    CU_ASSERT_FATAL (rh_cases_get (fx.cases, "pol-3", &record));
    CU_ASSERT_NOT_EQUAL (record.timers [RH_TIMER_OUTCOME], 0);
    rh_envelope_t *withdrawal = test_world_message (
        "police-gwent",
        "{\"kind\": \"STATUS_UPDATE\", \"msg_id\": \"pol-4\", \"in_reply_to\": \"pol-3\","
        " \"purpose\": \"REFERRER_FEEDBACK\", \"body\": {\"update_kind\": \"WITHDRAWN\","
        " \"detail\": \"moved away\"}}");
    rh_facts_t withdrawal_facts;
    rh_policy_facts (withdrawal, &withdrawal_facts);
    rh_decision_t refusal;
    CU_ASSERT_FALSE (rh_tracker_close_refused (fx.tracker, &record, &withdrawal_facts, &refusal));
    rh_tracker_event (fx.tracker, &record, &withdrawal_facts, NULL, 0, now + 10);
    CU_ASSERT_FATAL (rh_cases_get (fx.cases, "pol-3", &record));
    CU_ASSERT_EQUAL (record.state, RHANNU__V1__CASE_STATE__CASE_WITHDRAWN);
    CU_ASSERT_EQUAL (record.withdrawn_ms, now + 10);
    for (int timer = 0; timer < RH_TIMER_COUNT; timer++)
        CU_ASSERT_EQUAL (record.timers [timer], 0);
    CU_ASSERT_EQUAL (rh_db_commit (fx.db, true), 0);
    //  Nothing fires for it, however late.
    rh_tracker_fire (fx.tracker, now + 30 * TEST_DAY_MS);
    CU_ASSERT_EQUAL (test_world_queued (&fx, "police-gwent"), 0);
    CU_ASSERT_EQUAL (test_world_queued (&fx, "la-newport"), 0);
    //  Withdrawn once only.
    CU_ASSERT_TRUE (rh_tracker_close_refused (fx.tracker, &record, &withdrawal_facts, &refusal));
    CU_ASSERT_STRING_EQUAL (refusal.missing, "withdrawable");
    //  An outcome recorded afterwards is kept but the case stays withdrawn.
    rh_envelope_t *outcome = test_world_message (
        "la-newport",
        "{\"kind\": \"OUTCOME\", \"msg_id\": \"la-3\", \"in_reply_to\": \"pol-3\","
        " \"purpose\": \"REFERRER_FEEDBACK\", \"body\": {\"decision\": \"NO_FURTHER_ACTION\"}}");
    rh_facts_t facts;
    rh_policy_facts (outcome, &facts);
    rh_tracker_event (fx.tracker, &record, &facts, NULL, 0, now + 20);
    CU_ASSERT_FATAL (rh_cases_get (fx.cases, "pol-3", &record));
    CU_ASSERT_EQUAL (record.state, RHANNU__V1__CASE_STATE__CASE_WITHDRAWN);
    CU_ASSERT_EQUAL (record.decision, RHANNU__V1__DECISION__NO_FURTHER_ACTION);
    rh_envelope_destroy (&outcome);
    rh_envelope_destroy (&withdrawal);
    rh_envelope_destroy (&referral);
    test_world_close (&fx);
}

//  Issue 17: the front door's progress. Under screening and on hold move the case before the
//  decision, and the outcome deadline keeps running through both.
static void
test_screening_and_on_hold_keep_the_deadlines (void)
{
    test_world_t fx;
    test_world_open (&fx, s_agreement, "tracker.yaml");
    int64_t now = rh_time_now_ms ();
    rh_decision_t decision = { .agreement = rh_policy_find (fx.policy, "TEST-TRACKER") };
    rh_envelope_t *referral = test_world_refer (
        &fx, "pol-5", "GW-5", "\"body\": {\"referral_kind\": \"PPN\"}", &decision, now);
    rh_case_t record;
    CU_ASSERT_FATAL (rh_cases_get (fx.cases, "pol-5", &record));
    int64_t due = record.timers [RH_TIMER_OUTCOME];
    const char *kinds [] = { "UNDER_SCREENING", "ON_HOLD", "UNDER_SCREENING" };
    const uint32_t states [] = { RHANNU__V1__CASE_STATE__CASE_SCREENING,
                                 RHANNU__V1__CASE_STATE__CASE_ON_HOLD,
                                 RHANNU__V1__CASE_STATE__CASE_SCREENING };
    for (size_t i = 0; i < 3; i++) {
        char json [400];
        snprintf (json, sizeof json,
                  "{\"kind\": \"STATUS_UPDATE\", \"msg_id\": \"la-5%zu\", \"in_reply_to\": "
                  "\"pol-5\", \"purpose\": \"REFERRER_FEEDBACK\", \"body\": {\"update_kind\": "
                  "\"%s\"}}",
                  i, kinds [i]);
        rh_envelope_t *update = test_world_message ("la-newport", json);
        rh_facts_t facts;
        rh_policy_facts (update, &facts);
        rh_tracker_event (fx.tracker, &record, &facts, NULL, 0, now + 10 + (int64_t) i);
        CU_ASSERT_FATAL (rh_cases_get (fx.cases, "pol-5", &record));
        CU_ASSERT_EQUAL (record.state, states [i]);
        CU_ASSERT_EQUAL (record.timers [RH_TIMER_OUTCOME], due);
        rh_envelope_destroy (&update);
    }
    CU_ASSERT_EQUAL (rh_db_commit (fx.db, true), 0);
    //  Still open: the overdue alert goes out when the deadline passes.
    rh_tracker_fire (fx.tracker, due + 1);
    CU_ASSERT_FATAL (rh_cases_get (fx.cases, "pol-5", &record));
    CU_ASSERT_TRUE (record.overdue);
    rh_envelope_destroy (&referral);
    test_world_close (&fx);
}

//  A strategy meeting beside its case: invited (the record due two days after the meeting),
//  late when it is not in (the holder alerted), held, and its actions delivered once every
//  invitee's agent has taken the record in.
static void
test_a_strategy_meeting_goes_late_is_held_and_its_actions_delivered (void)
{
    test_world_t fx;
    test_world_open (&fx, s_agreement, "tracker.yaml");
    rh_tracker_set_audit (fx.tracker, fx.audit);
    int64_t now = rh_time_now_ms ();
    rh_decision_t decision = { .agreement = rh_policy_find (fx.policy, "TEST-TRACKER") };
    rh_envelope_t *referral = test_world_refer (
        &fx, "pol-7", "GW-7", "\"body\": {\"referral_kind\": \"PROFESSIONAL\"}", &decision, now);
    rh_tracker_taken_in (fx.tracker, RH_KIND_REFERRAL, "pol-7", "la-newport", now);
    CU_ASSERT_EQUAL (rh_db_commit (fx.db, true), 0);
    char json [1024];
    int64_t when = now + TEST_DAY_MS;
    snprintf (
        json, sizeof json,
        "{\"kind\": \"STRATEGY_MEETING\", \"msg_id\": \"inv-7\", \"in_reply_to\": \"pol-7\","
        " \"purpose\": \"SAFEGUARDING_CHILD\", \"body\": {\"when_ms\": %" PRId64 ","
        " \"invited\": [{\"agency_id\": \"police-gwent\"}, {\"agency_id\": \"health-abb\"}]}}",
        when);
    rh_envelope_t *invitation = test_world_message ("la-newport", json);
    rh_case_t record;
    CU_ASSERT_EQUAL_FATAL (rh_tracker_case_of (fx.tracker, invitation, "la-newport", &record),
                           RH_CASE_HELD);
    CU_ASSERT_EQUAL (rh_tracker_case_of (fx.tracker, invitation, "health-abb", &record),
                     RH_CASE_OTHERS);
    rh_meeting_event_t event;
    rh_decision_t refusal;
    CU_ASSERT_FATAL (rh_strategy_check (&record, invitation, &event, &refusal));
    rh_tracker_meeting (fx.tracker, &record, invitation, event, now);
    CU_ASSERT_FATAL (rh_cases_get (fx.cases, "pol-7", &record));
    CU_ASSERT_EQUAL (record.meeting_state, RHANNU__V1__STRATEGY_MEETING_STATE__MEETING_INVITED);
    CU_ASSERT_STRING_EQUAL (record.meeting_msg_id, "inv-7");
    CU_ASSERT_EQUAL (record.meeting_invited_count, 2);
    CU_ASSERT_EQUAL (record.timers [RH_TIMER_MEETING], when + 2 * TEST_DAY_MS);
    //  The outcome (a strategy discussion) ends the outcome's deadlines, not the meeting's.
    rh_envelope_t *outcome = test_world_message (
        "la-newport",
        "{\"kind\": \"OUTCOME\", \"msg_id\": \"out-7\", \"in_reply_to\": \"pol-7\","
        " \"purpose\": \"REFERRER_FEEDBACK\", \"body\": {\"decision\": \"STRATEGY_DISCUSSION\"}}");
    rh_facts_t outcome_facts;
    rh_policy_facts (outcome, &outcome_facts);
    rh_tracker_event (fx.tracker, &record, &outcome_facts, NULL, 0, now + 1);
    CU_ASSERT_FATAL (rh_cases_get (fx.cases, "pol-7", &record));
    CU_ASSERT_EQUAL (record.timers [RH_TIMER_OUTCOME], 0);
    CU_ASSERT_EQUAL (record.timers [RH_TIMER_MEETING], when + 2 * TEST_DAY_MS);
    rh_envelope_destroy (&outcome);
    CU_ASSERT_EQUAL (rh_db_commit (fx.db, true), 0);
    //  The record answers the invitation: found by it, as the holder's.
    rh_envelope_t *held = test_world_message (
        "la-newport",
        "{\"kind\": \"STRATEGY_MEETING\", \"msg_id\": \"rec-7\", \"in_reply_to\": \"inv-7\","
        " \"in_reply_sha256\": "
        "\"0101010101010101010101010101010101010101010101010101010101010101\","
        " \"purpose\": \"SAFEGUARDING_CHILD\", \"body\": {\"attended\": [{\"agency_id\":"
        " \"police-gwent\"}], \"minutes\": \"m\"}}");
    CU_ASSERT_EQUAL_FATAL (rh_tracker_case_of (fx.tracker, held, "la-newport", &record),
                           RH_CASE_HELD);
    CU_ASSERT_STRING_EQUAL (record.referral_msg_id, "pol-7");
    //  Not yet due on day two; late on day three, and the holder is told.
    uint64_t before = test_world_queued (&fx, "la-newport");
    rh_tracker_fire (fx.tracker, now + 2 * TEST_DAY_MS);
    CU_ASSERT_EQUAL (test_world_queued (&fx, "la-newport"), before);
    rh_tracker_fire (fx.tracker, when + 2 * TEST_DAY_MS + 1);
    CU_ASSERT_EQUAL (test_world_queued (&fx, "la-newport"), before + 1);
    CU_ASSERT_FATAL (rh_cases_get (fx.cases, "pol-7", &record));
    CU_ASSERT_EQUAL (record.meeting_state, RHANNU__V1__STRATEGY_MEETING_STATE__MEETING_RECORD_LATE);
    //  Recorded late: held, no deadline left.
    CU_ASSERT_FATAL (rh_strategy_check (&record, held, &event, &refusal));
    CU_ASSERT_EQUAL (event, RH_MEETING_HOLD);
    rh_tracker_meeting (fx.tracker, &record, held, event, when + 3 * TEST_DAY_MS);
    CU_ASSERT_FATAL (rh_cases_get (fx.cases, "pol-7", &record));
    CU_ASSERT_EQUAL (record.meeting_state, RHANNU__V1__STRATEGY_MEETING_STATE__MEETING_HELD);
    CU_ASSERT_EQUAL (record.timers [RH_TIMER_MEETING], 0);
    CU_ASSERT_STRING_EQUAL (record.meeting_record_msg_id, "rec-7");
    CU_ASSERT_EQUAL (rh_db_commit (fx.db, true), 0);
    //  Delivered when both invitees have it: not an outsider, not the invitation, not one alone.
    rh_tracker_taken_in (fx.tracker, RH_KIND_STRATEGY_MEETING, "rec-7", "fire-x", now);
    rh_tracker_taken_in (fx.tracker, RH_KIND_STRATEGY_MEETING, "inv-7", "health-abb", now);
    rh_tracker_taken_in (fx.tracker, RH_KIND_STRATEGY_MEETING, "rec-7", "police-gwent", now);
    rh_tracker_taken_in (fx.tracker, RH_KIND_STRATEGY_MEETING, "rec-7", "police-gwent", now);
    CU_ASSERT_FATAL (rh_cases_get (fx.cases, "pol-7", &record));
    CU_ASSERT_EQUAL (record.meeting_state, RHANNU__V1__STRATEGY_MEETING_STATE__MEETING_HELD);
    rh_tracker_taken_in (fx.tracker, RH_KIND_STRATEGY_MEETING, "rec-7", "health-abb", now);
    CU_ASSERT_FATAL (rh_cases_get (fx.cases, "pol-7", &record));
    CU_ASSERT_EQUAL (record.meeting_state,
                     RHANNU__V1__STRATEGY_MEETING_STATE__MEETING_ACTIONS_DELIVERED);
    CU_ASSERT_EQUAL (rh_db_commit (fx.db, true), 0);
    rh_envelope_destroy (&held);
    rh_envelope_destroy (&invitation);
    rh_envelope_destroy (&referral);
    test_world_close (&fx);
}

//  Issue 16: a transfer from another region's front door (la1-fd, not enrolled here) opens this
//  region's side of the case, under the referral it answers; the holder's answers find it by
//  that referral, by the transfer or by the case id; taking the transfer in acknowledges it
//  without a receipt (the referrer is elsewhere); a second transfer of the referral joins it.
static void
test_a_transfer_from_another_region_opens_its_case_here_and_a_second_joins_it (void)
{
    test_world_t fx;
    test_world_open (&fx, s_agreement, "tracker.yaml");
    int64_t now = rh_time_now_ms ();
    rh_envelope_t *transfer = test_world_message (
        "police-gwent",
        "{\"kind\": \"TRANSFER\", \"msg_id\": \"xfer-1\", \"in_reply_to\": \"ref-9\","
        " \"case_id\": \"X-9\", \"purpose\": \"SAFEGUARDING_CHILD\","
        " \"to\": [{\"agency_id\": \"la-newport\"}], \"body\": {\"cross_border\": true}}");
    rh_facts_t facts;
    rh_policy_facts (transfer, &facts);
    rh_decision_t decision = { .result = RH_DECIDE_ALLOW,
                               .agreement = rh_policy_find (fx.policy, "TEST-TRACKER") };
    const char *recipients [] = { "la-newport" };
    rh_case_t record;
    CU_ASSERT_TRUE_FATAL (rh_tracker_transferred_in (fx.tracker, transfer, &facts, "la1-fd",
                                                     recipients, &decision, 1, &record, now));
    CU_ASSERT_STRING_EQUAL (record.referral_msg_id, "ref-9");
    CU_ASSERT_STRING_EQUAL (record.case_id, "X-9");
    CU_ASSERT_STRING_EQUAL (record.holder, "la-newport");
    CU_ASSERT_STRING_EQUAL (record.referrer, "la1-fd");
    CU_ASSERT_EQUAL (record.state, RHANNU__V1__CASE_STATE__CASE_RECEIVED);
    CU_ASSERT_EQUAL (record.timers [RH_TIMER_OUTCOME], now + 5 * TEST_DAY_MS);
    CU_ASSERT_EQUAL (rh_db_commit (fx.db, true), 0);
    //  The holder's answers, of any kind, to the referral, to the transfer, or by case id.
    const char *answers [] = {
        "{\"kind\": \"OUTCOME\", \"msg_id\": \"a-1\", \"in_reply_to\": \"ref-9\","
        " \"purpose\": \"REFERRER_FEEDBACK\", \"body\": {\"decision\": \"SECTION_47\"}}",
        "{\"kind\": \"OUTCOME\", \"msg_id\": \"a-2\", \"in_reply_to\": \"xfer-1\","
        " \"purpose\": \"REFERRER_FEEDBACK\", \"body\": {\"decision\": \"SECTION_47\"}}",
        "{\"kind\": \"RECEIPT\", \"msg_id\": \"a-3\", \"case_id\": \"X-9\","
        " \"purpose\": \"REFERRER_FEEDBACK\", \"body\": {}}",
    };
    for (size_t i = 0; i < sizeof answers / sizeof answers [0]; i++) {
        rh_envelope_t *answer = test_world_message ("la-newport", answers [i]);
        memset (&record, 0, sizeof record);
        CU_ASSERT_TRUE (rh_tracker_held (fx.tracker, answer, "la-newport", &record));
        CU_ASSERT_STRING_EQUAL (record.referral_msg_id, "ref-9");
        CU_ASSERT_FALSE (rh_tracker_held (fx.tracker, answer, "la1-fd", &record));
        if (i < 2)
            CU_ASSERT_EQUAL (rh_tracker_case_of (fx.tracker, answer, "la-newport", &record),
                             RH_CASE_HELD);
        rh_envelope_destroy (&answer);
    }
    //  Taken in by its holder: acknowledged, and no receipt is queued for la1-fd here.
    rh_tracker_taken_in (fx.tracker, RH_KIND_TRANSFER, "xfer-1", "health-abb", now + 1);
    CU_ASSERT_FATAL (rh_cases_get (fx.cases, "ref-9", &record));
    CU_ASSERT_EQUAL (record.state, RHANNU__V1__CASE_STATE__CASE_RECEIVED);
    rh_tracker_taken_in (fx.tracker, RH_KIND_TRANSFER, "xfer-1", "la-newport", now + 1);
    CU_ASSERT_FATAL (rh_cases_get (fx.cases, "ref-9", &record));
    CU_ASSERT_EQUAL (record.state, RHANNU__V1__CASE_STATE__CASE_ACKNOWLEDGED);
    CU_ASSERT_EQUAL (record.timers [RH_TIMER_ACKNOWLEDGE], 0);
    CU_ASSERT_EQUAL (test_world_queued (&fx, "la1-fd"), 0);
    //  la1-fd hands the referral on to another agency here: the transfer joins the case.
    rh_envelope_t *again = test_world_message (
        "police-gwent",
        "{\"kind\": \"TRANSFER\", \"msg_id\": \"xfer-2\", \"in_reply_to\": \"ref-9\","
        " \"purpose\": \"SAFEGUARDING_CHILD\", \"to\": [{\"agency_id\": \"health-abb\"}],"
        " \"body\": {\"cross_border\": true}}");
    rh_policy_facts (again, &facts);
    const char *others [] = { "health-abb" };
    CU_ASSERT_FALSE (rh_tracker_transferred_in (fx.tracker, again, &facts, "la1-fd", others,
                                                &decision, 1, &record, now + 2));
    CU_ASSERT_STRING_EQUAL (record.holder, "la-newport");
    CU_ASSERT_STRING_EQUAL (record.transferred_to, "health-abb");
    CU_ASSERT_EQUAL (record.state, RHANNU__V1__CASE_STATE__CASE_ACKNOWLEDGED);
    CU_ASSERT_EQUAL (rh_db_commit (fx.db, true), 0);
    rh_envelope_t *answer = test_world_message (
        "health-abb",
        "{\"kind\": \"STATUS_UPDATE\", \"msg_id\": \"h-1\", \"in_reply_to\": \"xfer-2\","
        " \"purpose\": \"REFERRER_FEEDBACK\", \"body\": {\"update_kind\": \"ALLOCATED\"}}");
    CU_ASSERT_EQUAL (rh_tracker_case_of (fx.tracker, answer, "health-abb", &record), RH_CASE_HELD);
    rh_envelope_destroy (&answer);
    rh_envelope_destroy (&again);
    rh_envelope_destroy (&transfer);
    test_world_close (&fx);
}

void
init_rh_tracker_tests (void)
{
    CU_pSuite suite = CU_add_suite ("rh_tracker", NULL, NULL);
    CU_add_test (suite, "a referral's case is opened, taken in, reminded, decided and closed",
                 test_a_referral_case_is_opened_taken_in_reminded_decided_and_closed);
    CU_add_test (suite, "a referral its holder cannot verify is recorded and gets no receipt",
                 test_a_referral_its_holder_cannot_verify_is_recorded_and_gets_no_receipt);
    CU_add_test (suite, "a consent override is reviewed once, late or not",
                 test_a_consent_override_is_reviewed_once);
    CU_add_test (suite, "a withdrawn referral has no deadlines and is withdrawn once",
                 test_a_withdrawn_referral_has_no_deadlines_and_is_withdrawn_once);
    CU_add_test (suite, "screening and on hold keep the deadlines",
                 test_screening_and_on_hold_keep_the_deadlines);
    CU_add_test (suite, "a strategy meeting goes late, is held and its actions delivered",
                 test_a_strategy_meeting_goes_late_is_held_and_its_actions_delivered);
    CU_add_test (suite, "an overdue referral alerts the referrer and the holder",
                 test_an_overdue_referral_alerts_the_referrer_and_the_holder);
    CU_add_test (suite, "a transfer from another region opens its case here, and a second joins it",
                 test_a_transfer_from_another_region_opens_its_case_here_and_a_second_joins_it);
}
