/*  =========================================================================
    rh_strategy - strategy meetings (Section 47 strategy discussions)
    =========================================================================
*/
#include "rh_broker_classes.h"
#include "rhannu.pb-c.h"

//  Meeting states (StrategyMeetingState), by short names.
#define M_NONE      RHANNU__V1__STRATEGY_MEETING_STATE__MEETING_STATE_UNSET
#define M_INVITED   RHANNU__V1__STRATEGY_MEETING_STATE__MEETING_INVITED
#define M_LATE      RHANNU__V1__STRATEGY_MEETING_STATE__MEETING_RECORD_LATE
#define M_HELD      RHANNU__V1__STRATEGY_MEETING_STATE__MEETING_HELD
#define M_DELIVERED RHANNU__V1__STRATEGY_MEETING_STATE__MEETING_ACTIONS_DELIVERED
#define M_CANCELLED RHANNU__V1__STRATEGY_MEETING_STATE__MEETING_CANCELLED
#define M_IGNORED   RH_MEETING_IGNORED

//  The lifecycle of one strategy meeting, declared once. An invitation opens a meeting when
//  the case has none open (none yet, or the last one held or cancelled: a held meeting whose
//  record some invitee has not taken in yet does not stop the next one, or one agency's
//  outage would hold the case). The record's deadline passing makes an invited meeting late;
//  the record is still taken late. A meeting is recorded once or cancelled once; a cancelled
//  one is not recorded. Actions are delivered when every invitee's agent has taken the record
//  in (absent invitees too: the actions are theirs as well).
// clang-format off
static const struct {
    uint32_t state;
    uint32_t next [RH_MEETING_EVENTS];
} s_lifecycle [] = {
    //                 INVITE     RECORD_DUE  HOLD       DELIVERED    CANCEL
    { M_NONE,      { M_INVITED, M_IGNORED, M_IGNORED, M_IGNORED,   M_IGNORED   } },
    { M_INVITED,   { M_IGNORED, M_LATE,    M_HELD,    M_IGNORED,   M_CANCELLED } },
    { M_LATE,      { M_IGNORED, M_IGNORED, M_HELD,    M_IGNORED,   M_CANCELLED } },
    { M_HELD,      { M_INVITED, M_IGNORED, M_IGNORED, M_DELIVERED, M_IGNORED   } },
    { M_DELIVERED, { M_INVITED, M_IGNORED, M_IGNORED, M_IGNORED,   M_IGNORED   } },
    { M_CANCELLED, { M_INVITED, M_IGNORED, M_IGNORED, M_IGNORED,   M_IGNORED   } },
};
// clang-format on

uint32_t
rh_strategy_next (uint32_t state, rh_meeting_event_t event)
{
    if ((int) event < 0 || event >= RH_MEETING_EVENTS)
        return M_IGNORED;
    for (size_t i = 0; i < sizeof s_lifecycle / sizeof s_lifecycle [0]; i++)
        if (s_lifecycle [i].state == state)
            return s_lifecycle [i].next [event];
    return M_IGNORED;
}

const char *
rh_strategy_state_name (uint32_t state)
{
    const ProtobufCEnumValue *value = protobuf_c_enum_descriptor_get_value (
        &rhannu__v1__strategy_meeting_state__descriptor, (int) state);
    return value ? value->name : "MEETING_STATE_UNSET";
}

int
rh_strategy_index (const char *const *list, size_t count, const char *agency)
{
    for (size_t i = 0; i < count; i++)
        if (!strcmp (list [i], agency))
            return (int) i;
    return -1;
}

//  Fills refusal; returns false for rh_strategy_check to return.
#define s_refuse(refusal, ...) (rh_decision_condition ((refusal), __VA_ARGS__), false)

//  The invited list of an invitation body, as agency ids. False (with refusal) if an entry is
//  not an agency id, repeats, or there are too many or none.
static bool
s_invited (const Rhannu__V1__StrategyMeeting *body, const char *list [RH_MAX_INVITEES],
           size_t *count, rh_decision_t *refusal)
{
    *count = 0;
    if (body->n_invited == 0)
        return s_refuse (refusal, "invited", "a strategy meeting invitation names its invitees");
    if (body->n_invited > RH_MAX_INVITEES)
        return s_refuse (refusal, "invited", "a strategy meeting invites at most %d agencies",
                         RH_MAX_INVITEES);
    for (size_t i = 0; i < body->n_invited; i++) {
        const char *agency = body->invited [i]->agency_id;
        if (!*agency)
            return s_refuse (refusal, "invited", "invitees are named by agency id");
        if (rh_strategy_index (list, *count, agency) >= 0)
            return s_refuse (refusal, "invited", "%s is invited twice", agency);
        list [(*count)++] = agency;
    }
    return true;
}

bool
rh_strategy_check (const rh_case_t *record, rh_envelope_t *envelope, rh_meeting_event_t *event,
                   rh_decision_t *refusal)
{
    assert (record && envelope && event && refusal);
    const Rhannu__V1__StrategyMeeting *body =
        rh_envelope_kind (envelope) == RH_KIND_STRATEGY_MEETING
            ? (const Rhannu__V1__StrategyMeeting *) rh_envelope_body (envelope)
            : NULL;
    if (!body)
        return s_refuse (refusal, "strategy_meeting", "not a strategy meeting");
    const char *answers = rh_envelope_in_reply_to (envelope);
    const char *name = *record->case_id ? record->case_id : record->referral_msg_id;
    const char *state = rh_strategy_state_name (record->meeting_state);
    bool recorded = body->n_attended || body->person_participated || body->n_actions
                    || *body->minutes || *body->summary_for_referrer;
    if (!*record->meeting_msg_id || strcmp (answers, record->meeting_msg_id) != 0) {
        //  Not answering the current meeting: an invitation to a new one, about the case (its
        //  referral or its case id), or an answer to an earlier meeting, which is over.
        if (*answers && strcmp (answers, record->referral_msg_id) != 0)
            return s_refuse (refusal, "meeting_current",
                             "%s is not the current strategy meeting of case %s (%s)", answers,
                             name, *record->meeting_msg_id ? record->meeting_msg_id : "none");
        if (rh_strategy_next (record->meeting_state, RH_MEETING_INVITE) == M_IGNORED)
            return s_refuse (refusal, "meeting_closed",
                             "case %s has strategy meeting %s open (%s): record or cancel it "
                             "before inviting to another",
                             name, record->meeting_msg_id, state);
        if (recorded || body->cancelled)
            return s_refuse (refusal, "invitation",
                             "an invitation carries no attendance, actions, minutes or summary: "
                             "record the meeting by answering the invitation");
        if (body->when_ms <= 0)
            return s_refuse (refusal, "when_ms", "an invitation says when the meeting is");
        const char *list [RH_MAX_INVITEES];
        size_t count = 0;
        if (!s_invited (body, list, &count, refusal))
            return false;
        *event = RH_MEETING_INVITE;
        return true;
    }
    //  Answering the current meeting: bound to the invitation's header, as a reply is.
    if (!rh_envelope_has_in_reply_sha256 (envelope))
        return s_refuse (refusal, "in_reply_sha256",
                         "the record of strategy meeting %s must carry in_reply_sha256, the "
                         "digest of the invitation's signed header",
                         answers);
    const char *invited [RH_MAX_INVITEES];
    for (size_t i = 0; i < record->meeting_invited_count; i++)
        invited [i] = record->meeting_invited [i];
    for (size_t i = 0; i < body->n_invited; i++)
        if (rh_strategy_index (invited, record->meeting_invited_count, body->invited [i]->agency_id)
            < 0)
            return s_refuse (
                refusal, "invitee",
                "%s was not invited to strategy meeting %s: a record cannot add "
                "invitees",
                *body->invited [i]->agency_id ? body->invited [i]->agency_id : "(no id)", answers);
    if (body->cancelled) {
        if (recorded)
            return s_refuse (refusal, "cancelled",
                             "a cancelled strategy meeting has no attendance, actions or minutes");
        if (rh_strategy_next (record->meeting_state, RH_MEETING_CANCEL) == M_IGNORED)
            return s_refuse (refusal, "meeting_invited",
                             "strategy meeting %s cannot be cancelled: it is %s", answers, state);
        *event = RH_MEETING_CANCEL;
        return true;
    }
    if (rh_strategy_next (record->meeting_state, RH_MEETING_HOLD) == M_IGNORED)
        return s_refuse (refusal, "meeting_invited",
                         "strategy meeting %s cannot be recorded: it is %s (a meeting is "
                         "recorded once)",
                         answers, state);
    for (size_t i = 0; i < body->n_attended; i++) {
        const char *agency = body->attended [i]->agency_id;
        if (rh_strategy_index (invited, record->meeting_invited_count, agency) < 0)
            return s_refuse (refusal, "attended",
                             "%s is recorded as attending strategy meeting %s but was not "
                             "invited",
                             *agency ? agency : "(no id)", answers);
    }
    if (rh_strategy_index (invited, record->meeting_invited_count, record->referrer) < 0
        && !*body->summary_for_referrer)
        return s_refuse (refusal, "summary_for_referrer",
                         "the referrer %s was not invited: the record of strategy meeting %s "
                         "carries a summary for the referrer",
                         record->referrer, answers);
    *event = RH_MEETING_HOLD;
    return true;
}

size_t
rh_strategy_invitees (const rh_case_t *record, rh_envelope_t *envelope, rh_meeting_event_t event,
                      const char *list [RH_MAX_INVITEES])
{
    assert (record && envelope && list);
    size_t count = 0;
    if (event == RH_MEETING_INVITE) {
        rh_decision_t ignored;
        const Rhannu__V1__StrategyMeeting *body =
            (const Rhannu__V1__StrategyMeeting *) rh_envelope_body (envelope);
        if (!body || !s_invited (body, list, &count, &ignored))
            return 0;
        return count;
    }
    for (size_t i = 0; i < record->meeting_invited_count && i < RH_MAX_INVITEES; i++)
        list [count++] = record->meeting_invited [i];
    return count;
}

uint64_t
rh_strategy_referrer_fields (uint64_t fields)
{
    //  By name from the schema, so that the numbers are never written twice.
    static const char *const names [] = { "route", "when_ms", "summary_for_referrer" };
    uint64_t keep = 0;
    for (size_t i = 0; i < sizeof names / sizeof names [0]; i++) {
        const ProtobufCFieldDescriptor *field = protobuf_c_message_descriptor_get_field_by_name (
            &rhannu__v1__strategy_meeting__descriptor, names [i]);
        if (field && field->id < 64)
            keep |= 1ull << field->id;
    }
    return fields & keep;
}

//  Appends what to text, as far as it fits.
static void
s_append (char *text, size_t size, const char *what)
{
    size_t used = strlen (text);
    if (used < size)
        snprintf (text + used, size - used, "%s", what);
}

void
rh_strategy_detail (const rh_case_t *record, rh_envelope_t *envelope, rh_meeting_event_t event,
                    char *text, size_t size)
{
    assert (record && envelope && text && size);
    *text = 0;
    const Rhannu__V1__StrategyMeeting *body =
        (const Rhannu__V1__StrategyMeeting *) rh_envelope_body (envelope);
    if (!body)
        return;
    if (event == RH_MEETING_CANCEL) {
        snprintf (text, size, "strategy meeting %s cancelled", rh_envelope_in_reply_to (envelope));
        return;
    }
    if (event == RH_MEETING_INVITE) {
        char when [32];
        rh_time_format (body->when_ms, when, sizeof when);
        snprintf (text, size, "strategy meeting at %s; invited %zu:", when, body->n_invited);
        for (size_t i = 0; i < body->n_invited; i++) {
            s_append (text, size, i ? "," : " ");
            s_append (text, size, body->invited [i]->agency_id);
        }
        return;
    }
    //  The record: who of those invited attended, who did not, and the person's participation.
    const char *attended [RH_MAX_INVITEES];
    size_t attended_count = 0;
    for (size_t i = 0; i < body->n_attended && attended_count < RH_MAX_INVITEES; i++)
        attended [attended_count++] = body->attended [i]->agency_id;
    size_t present = 0;
    for (size_t i = 0; i < record->meeting_invited_count; i++)
        present += rh_strategy_index (attended, attended_count, record->meeting_invited [i]) >= 0;
    snprintf (text, size, "strategy meeting %s held; attended %zu of %zu invited; absent:",
              rh_envelope_in_reply_to (envelope), present, record->meeting_invited_count);
    size_t absent = 0;
    for (size_t i = 0; i < record->meeting_invited_count; i++)
        if (rh_strategy_index (attended, attended_count, record->meeting_invited [i]) < 0) {
            s_append (text, size, absent++ ? "," : " ");
            s_append (text, size, record->meeting_invited [i]);
        }
    if (!absent)
        s_append (text, size, " none");
    s_append (text, size,
              body->person_participated ? "; the person participated: yes"
                                        : "; the person participated: no");
}
