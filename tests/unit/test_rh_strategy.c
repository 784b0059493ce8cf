/*  =========================================================================
    test_rh_strategy - a strategy meeting's lifecycle table and the checks
    of invitations, records and cancellations
    =========================================================================
*/
#include "test_helpers.h"
#include "rh_broker_classes.h"
#include "rhannu.pb-c.h"

#define M_NONE      RHANNU__V1__STRATEGY_MEETING_STATE__MEETING_STATE_UNSET
#define M_INVITED   RHANNU__V1__STRATEGY_MEETING_STATE__MEETING_INVITED
#define M_LATE      RHANNU__V1__STRATEGY_MEETING_STATE__MEETING_RECORD_LATE
#define M_HELD      RHANNU__V1__STRATEGY_MEETING_STATE__MEETING_HELD
#define M_DELIVERED RHANNU__V1__STRATEGY_MEETING_STATE__MEETING_ACTIONS_DELIVERED
#define M_CANCELLED RHANNU__V1__STRATEGY_MEETING_STATE__MEETING_CANCELLED
#define M_NO        RH_MEETING_IGNORED

//  A message as the front door's agent would have signed it (signing fixes its header and
//  body); bound: it carries in_reply_sha256, as the agent fills it.
static rh_envelope_t *
s_message (const char *json, bool bound)
{
    char text [1024], error [256] = "";
    //  The JSON is an object: the binding goes in as its first key.
    snprintf (text, sizeof text, "{%s%s",
              bound ? "\"in_reply_sha256\": "
                      "\"0101010101010101010101010101010101010101010101010101010101010101\", "
                    : "",
              json + 1);
    rh_envelope_t *envelope =
        rh_json_to_envelope ((const uint8_t *) text, strlen (text), error, sizeof error);
    if (!envelope)
        fprintf (stderr, "\n  %s\n", error);
    CU_ASSERT_PTR_NOT_NULL_FATAL (envelope);
    rh_signer_t *signer = test_signer (test_pki ()->pki, "la-newport");
    CU_ASSERT_FATAL (signer && rh_envelope_sign (envelope, signer) == 0);
    rh_signer_destroy (&signer);
    return envelope;
}

//  A case held by la-cardiff, referred by housing-tai.
static void
s_case (rh_case_t *record)
{
    memset (record, 0, sizeof *record);
    snprintf (record->referral_msg_id, sizeof record->referral_msg_id, "ref-1");
    snprintf (record->case_id, sizeof record->case_id, "S7");
    snprintf (record->referrer, sizeof record->referrer, "housing-tai");
    snprintf (record->holder, sizeof record->holder, "la-cardiff");
}

//  The whole table, every state by every event: the declared lifecycle and nothing else.
static void
test_the_meeting_lifecycle_table (void)
{
    static const struct {
        uint32_t state;
        uint32_t next [RH_MEETING_EVENTS];  //  INVITE, RECORD_DUE, HOLD, DELIVERED, CANCEL
    } expected [] = {
        { M_NONE, { M_INVITED, M_NO, M_NO, M_NO, M_NO } },
        { M_INVITED, { M_NO, M_LATE, M_HELD, M_NO, M_CANCELLED } },
        { M_LATE, { M_NO, M_NO, M_HELD, M_NO, M_CANCELLED } },
        { M_HELD, { M_INVITED, M_NO, M_NO, M_DELIVERED, M_NO } },
        { M_DELIVERED, { M_INVITED, M_NO, M_NO, M_NO, M_NO } },
        { M_CANCELLED, { M_INVITED, M_NO, M_NO, M_NO, M_NO } },
        { 77, { M_NO, M_NO, M_NO, M_NO, M_NO } },  //  a state the table does not know
    };
    for (size_t i = 0; i < sizeof expected / sizeof expected [0]; i++)
        for (int event = 0; event < RH_MEETING_EVENTS; event++)
            CU_ASSERT_EQUAL (rh_strategy_next (expected [i].state, (rh_meeting_event_t) event),
                             expected [i].next [event]);
    CU_ASSERT_EQUAL (rh_strategy_next (M_INVITED, RH_MEETING_EVENTS), M_NO);
    CU_ASSERT_STRING_EQUAL (rh_strategy_state_name (M_HELD), "MEETING_HELD");
    CU_ASSERT_STRING_EQUAL (rh_strategy_state_name (77), "MEETING_STATE_UNSET");
}

static void
test_an_invitation_is_checked (void)
{
    rh_case_t record;
    s_case (&record);
    rh_meeting_event_t event = RH_MEETING_EVENTS;
    rh_decision_t refusal;
    rh_envelope_t *invitation = s_message (
        "{\"kind\": \"STRATEGY_MEETING\", \"msg_id\": \"inv-1\", \"in_reply_to\": \"ref-1\","
        " \"body\": {\"route\": \"CHILD_PROTECTION\", \"when_ms\": 1800000000000, \"invited\":"
        " [{\"agency_id\": \"police-sw\"}, {\"agency_id\": \"camhs-cav\"}]}}",
        false);
    CU_ASSERT_TRUE (rh_strategy_check (&record, invitation, &event, &refusal));
    CU_ASSERT_EQUAL (event, RH_MEETING_INVITE);
    const char *list [RH_MAX_INVITEES];
    CU_ASSERT_EQUAL_FATAL (rh_strategy_invitees (&record, invitation, event, list), 2);
    CU_ASSERT_STRING_EQUAL (list [1], "camhs-cav");
    char detail [512];
    rh_strategy_detail (&record, invitation, event, detail, sizeof detail);
    CU_ASSERT_PTR_NOT_NULL (strstr (detail, "; invited 2: police-sw,camhs-cav"));
    //  While a meeting is open, no other is invited.
    record.meeting_state = M_INVITED;
    snprintf (record.meeting_msg_id, sizeof record.meeting_msg_id, "inv-0");
    CU_ASSERT_FALSE (rh_strategy_check (&record, invitation, &event, &refusal));
    CU_ASSERT_STRING_EQUAL (refusal.missing, "meeting_closed");
    record.meeting_state = M_HELD;
    CU_ASSERT_TRUE (rh_strategy_check (&record, invitation, &event, &refusal));
    rh_envelope_destroy (&invitation);
    //  An invitation names its invitees by agency id, once each, and says when.
    static const struct {
        const char *body;
        const char *missing;
    } bad [] = {
        { "{\"when_ms\": 1800000000000}", "invited" },
        { "{\"when_ms\": 1800000000000, \"invited\": [{\"front_door_la\": \"cardiff\"}]}",
          "invited" },
        { "{\"when_ms\": 1800000000000, \"invited\": [{\"agency_id\": \"a\"}, {\"agency_id\": "
          "\"a\"}]}",
          "invited" },
        { "{\"invited\": [{\"agency_id\": \"a\"}]}", "when_ms" },
        { "{\"when_ms\": 1800000000000, \"invited\": [{\"agency_id\": \"a\"}], \"minutes\": "
          "\"m\"}",
          "invitation" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++) {
        char json [512];
        snprintf (json, sizeof json,
                  "{\"kind\": \"STRATEGY_MEETING\", \"in_reply_to\": \"ref-1\", \"body\": %s}",
                  bad [i].body);
        rh_envelope_t *envelope = s_message (json, false);
        CU_ASSERT_FALSE (rh_strategy_check (&record, envelope, &event, &refusal));
        CU_ASSERT_STRING_EQUAL (refusal.missing, bad [i].missing);
        rh_envelope_destroy (&envelope);
    }
    //  An answer to an earlier meeting is not an invitation.
    rh_envelope_t *stale = s_message (
        "{\"kind\": \"STRATEGY_MEETING\", \"in_reply_to\": \"inv-old\", \"body\": {\"when_ms\": 1,"
        " \"invited\": [{\"agency_id\": \"a\"}]}}",
        true);
    CU_ASSERT_FALSE (rh_strategy_check (&record, stale, &event, &refusal));
    CU_ASSERT_STRING_EQUAL (refusal.missing, "meeting_current");
    rh_envelope_destroy (&stale);
}

static void
test_a_record_answers_its_invitation_once_within_it (void)
{
    rh_case_t record;
    s_case (&record);
    record.meeting_state = M_INVITED;
    snprintf (record.meeting_msg_id, sizeof record.meeting_msg_id, "inv-1");
    const char *invited [] = { "police-sw", "health-cav", "camhs-cav" };
    for (size_t i = 0; i < 3; i++)
        snprintf (record.meeting_invited [i], sizeof record.meeting_invited [i], "%s", invited [i]);
    record.meeting_invited_count = 3;
    rh_meeting_event_t event = RH_MEETING_EVENTS;
    rh_decision_t refusal;
    const char *good =
        "{\"kind\": \"STRATEGY_MEETING\", \"in_reply_to\": \"inv-1\", \"body\": {\"attended\":"
        " [{\"agency_id\": \"police-sw\"}, {\"agency_id\": \"health-cav\"}], "
        "\"person_participated\": true, \"actions\": [\"a1\"], \"minutes\": \"m\","
        " \"summary_for_referrer\": \"s\"}}";
    //  Not bound to the invitation's header: refused.
    rh_envelope_t *unbound = s_message (good, false);
    CU_ASSERT_FALSE (rh_strategy_check (&record, unbound, &event, &refusal));
    CU_ASSERT_STRING_EQUAL (refusal.missing, "in_reply_sha256");
    rh_envelope_destroy (&unbound);
    rh_envelope_t *held = s_message (good, true);
    CU_ASSERT_TRUE (rh_strategy_check (&record, held, &event, &refusal));
    CU_ASSERT_EQUAL (event, RH_MEETING_HOLD);
    const char *list [RH_MAX_INVITEES];
    CU_ASSERT_EQUAL (rh_strategy_invitees (&record, held, event, list), 3);
    char detail [512];
    rh_strategy_detail (&record, held, event, detail, sizeof detail);
    CU_ASSERT_STRING_EQUAL (detail, "strategy meeting inv-1 held; attended 2 of 3 invited; absent: "
                                    "camhs-cav; the person participated: yes");
    //  A late record is still taken; a held one is not recorded again.
    record.meeting_state = M_LATE;
    CU_ASSERT_TRUE (rh_strategy_check (&record, held, &event, &refusal));
    record.meeting_state = M_HELD;
    CU_ASSERT_FALSE (rh_strategy_check (&record, held, &event, &refusal));
    CU_ASSERT_STRING_EQUAL (refusal.missing, "meeting_invited");
    record.meeting_state = M_CANCELLED;
    CU_ASSERT_FALSE (rh_strategy_check (&record, held, &event, &refusal));
    rh_envelope_destroy (&held);
    record.meeting_state = M_INVITED;
    //  Attendance and invitees within the invitation; a summary when the referrer was not invited.
    static const struct {
        const char *body;
        const char *missing;
    } bad [] = {
        { "{\"attended\": [{\"agency_id\": \"fire-swfrs\"}], \"summary_for_referrer\": \"s\"}",
          "attended" },
        { "{\"invited\": [{\"agency_id\": \"fire-swfrs\"}], \"summary_for_referrer\": \"s\"}",
          "invitee" },
        { "{\"attended\": [{\"agency_id\": \"police-sw\"}], \"minutes\": \"m\"}",
          "summary_for_referrer" },
        { "{\"cancelled\": true, \"minutes\": \"m\"}", "cancelled" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++) {
        char json [512];
        snprintf (json, sizeof json,
                  "{\"kind\": \"STRATEGY_MEETING\", \"in_reply_to\": \"inv-1\", \"body\": %s}",
                  bad [i].body);
        rh_envelope_t *envelope = s_message (json, true);
        CU_ASSERT_FALSE (rh_strategy_check (&record, envelope, &event, &refusal));
        CU_ASSERT_STRING_EQUAL (refusal.missing, bad [i].missing);
        rh_envelope_destroy (&envelope);
    }
    //  An invited referrer needs no separate summary.
    snprintf (record.referrer, sizeof record.referrer, "police-sw");
    rh_envelope_t *no_summary = s_message (
        "{\"kind\": \"STRATEGY_MEETING\", \"in_reply_to\": \"inv-1\", \"body\": {\"minutes\": "
        "\"m\"}}",
        true);
    CU_ASSERT_TRUE (rh_strategy_check (&record, no_summary, &event, &refusal));
    rh_envelope_destroy (&no_summary);
    //  A cancellation, once.
    rh_envelope_t *cancel = s_message (
        "{\"kind\": \"STRATEGY_MEETING\", \"in_reply_to\": \"inv-1\", \"body\": {\"cancelled\": "
        "true, \"cancel_reason\": \"superseded\"}}",
        true);
    CU_ASSERT_TRUE (rh_strategy_check (&record, cancel, &event, &refusal));
    CU_ASSERT_EQUAL (event, RH_MEETING_CANCEL);
    record.meeting_state = M_CANCELLED;
    CU_ASSERT_FALSE (rh_strategy_check (&record, cancel, &event, &refusal));
    CU_ASSERT_STRING_EQUAL (refusal.missing, "meeting_invited");
    rh_envelope_destroy (&cancel);
}

static void
test_a_referrer_sees_route_date_and_summary_only (void)
{
    //  Fields 1 route, 2 when_ms, 7 summary_for_referrer survive; the rest never.
    CU_ASSERT_EQUAL (rh_strategy_referrer_fields (~0ull), (1ull << 1) | (1ull << 2) | (1ull << 7));
    CU_ASSERT_EQUAL (rh_strategy_referrer_fields ((1ull << 8) | (1ull << 6) | (1ull << 3)), 0);
    CU_ASSERT_EQUAL (rh_strategy_referrer_fields (1ull << 7), 1ull << 7);
}

void
init_rh_strategy_tests (void)
{
    CU_pSuite suite = CU_add_suite ("rh_strategy", NULL, NULL);
    CU_add_test (suite, "the meeting lifecycle table", test_the_meeting_lifecycle_table);
    CU_add_test (suite, "an invitation is checked", test_an_invitation_is_checked);
    CU_add_test (suite, "a record answers its invitation, once, within it",
                 test_a_record_answers_its_invitation_once_within_it);
    CU_add_test (suite, "a referrer sees the route, the date and the summary only",
                 test_a_referrer_sees_route_date_and_summary_only);
}
