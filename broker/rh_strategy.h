/*  =========================================================================
    rh_strategy - strategy meetings (Section 47 strategy discussions)

    The holder of a case invites agencies to a strategy meeting with a
    STRATEGY_MEETING about the case (in_reply_to its referral, or its case
    id): the route, the meeting's time (when_ms) and the invitees (invited,
    by agency id). It records the meeting with a second STRATEGY_MEETING
    answering the invitation (in_reply_to the invitation, bound to its
    header by in_reply_sha256): who attended, whether the person took part,
    the actions, the minutes and a summary for the referrer; or it cancels
    the meeting (cancelled, cancel_reason).

    Invitations, records and cancellations go to the invitees only, the
    absent ones too (the actions are theirs as well): an addressed agency
    outside the invitation refuses the message, typed and audited. A
    referrer that was not invited gets a notice carrying only the route,
    the date and the summary for the referrer, never the actions, the
    attendance or the minutes, whatever the agreement allows.

    A meeting runs its own lifecycle beside its case's, declared as a table
    in rh_strategy.c: invited -> held -> actions delivered (every invitee's
    agent has taken the record in), or cancelled; an invitation whose
    record is not in by the agreement's meeting_record_days after the
    meeting is late (the holder is alerted). One meeting is open per case
    at a time. This class holds the table and the checks and keeps no
    state: rh_tracker keeps the meeting in the case record and runs its
    deadline, rh_intake routes.
    =========================================================================
*/
#ifndef RH_STRATEGY_H_INCLUDED
#define RH_STRATEGY_H_INCLUDED

//  What happens to a strategy meeting.
typedef enum {
    RH_MEETING_INVITE = 0,  //  the holder invited agencies to a new meeting
    RH_MEETING_RECORD_DUE,  //  the record's deadline passed
    RH_MEETING_HOLD,        //  the holder recorded the meeting
    RH_MEETING_DELIVERED,   //  every invitee's agent took the record in
    RH_MEETING_CANCEL,      //  the holder cancelled the meeting
    RH_MEETING_EVENTS
} rh_meeting_event_t;

#define RH_MEETING_IGNORED UINT32_MAX  //  the event does not apply in this state

//  The meeting state (StrategyMeetingState) after event, RH_MEETING_IGNORED if the event does
//  not apply (to a state the table does not know, nothing applies).
uint32_t rh_strategy_next (uint32_t state, rh_meeting_event_t event);

//  The name of a meeting state, e.g. "MEETING_HELD" ("MEETING_STATE_UNSET" when unknown).
const char *rh_strategy_state_name (uint32_t state);

//  What a STRATEGY_MEETING from the holder of record's case is: an invitation, the meeting's
//  record or its cancellation. Returns true and sets *event, or false and fills refusal (a
//  condition decision naming what is missing, e.g. "meeting_invited", "attended",
//  "summary_for_referrer", "in_reply_sha256"; its strings live in it).
bool rh_strategy_check (const rh_case_t *record, rh_envelope_t *envelope, rh_meeting_event_t *event,
                        rh_decision_t *refusal);

//  The agencies a meeting message goes to: for an invitation, those it invites (pointing into
//  the envelope's body); else the case's current meeting's (pointing into record). Returns
//  how many (at most RH_MAX_INVITEES).
size_t rh_strategy_invitees (const rh_case_t *record, rh_envelope_t *envelope,
                             rh_meeting_event_t event, const char *list [RH_MAX_INVITEES]);

//  The index of agency in list, or -1.
int rh_strategy_index (const char *const *list, size_t count, const char *agency);

//  Of the fields an agreement lets the referrer see, those a referrer that was not invited
//  receives of a meeting's record: route, when_ms, summary_for_referrer.
uint64_t rh_strategy_referrer_fields (uint64_t fields);

//  The audit line of an accepted meeting message (agency ids and counts, no personal data):
//  "invited N: a,b,...; at <time>" for an invitation; "attended N of M; absent: a,b; the
//  person participated: yes" for a record; "cancelled" for a cancellation.
void rh_strategy_detail (const rh_case_t *record, rh_envelope_t *envelope, rh_meeting_event_t event,
                         char *text, size_t size);

#endif
