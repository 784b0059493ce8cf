/*  =========================================================================
    rh_tracker - the referral lifecycle: cases, receipts, outcomes and
    updates, close refusals, deadlines and repeat-referral alerts
    =========================================================================
*/
#include "rh_broker_classes.h"
#include "rhannu.pb-c.h"

//  Case states (CaseState), by short names.
#define S_UNSET        RHANNU__V1__CASE_STATE__CASE_STATE_UNSET
#define S_RECEIVED     RHANNU__V1__CASE_STATE__CASE_RECEIVED
#define S_ACKNOWLEDGED RHANNU__V1__CASE_STATE__CASE_ACKNOWLEDGED
#define S_DECIDED      RHANNU__V1__CASE_STATE__CASE_DECIDED
#define S_CLOSED       RHANNU__V1__CASE_STATE__CASE_CLOSED
#define S_REOPENED     RHANNU__V1__CASE_STATE__CASE_REOPENED
//  Issue 17, withdrawal:
#define S_WITHDRAWN RHANNU__V1__CASE_STATE__CASE_WITHDRAWN
//  Issue 17, the front door's progress:
#define S_SCREENING RHANNU__V1__CASE_STATE__CASE_SCREENING
#define S_ON_HOLD   RHANNU__V1__CASE_STATE__CASE_ON_HOLD
#define S_STATES    (S_ON_HOLD + 1)
#define S_INITIAL   S_RECEIVED  //  a case opens when the broker accepts the referral

//  What happens to a case.
typedef enum {
    S_TAKE_IN,   //  the holder's agent took the referral in
    S_DECIDE,    //  the holder sent the outcome
    S_CLOSE,     //  the holder sent an update closing the case
    S_REOPEN,    //  the holder sent an update reopening it
    S_NOTE,      //  the holder sent any other update
    S_WITHDRAW,  //  the referrer withdrew the referral (issue 17)
    S_SCREEN,    //  the holder marked it received, under screening (issue 17)
    S_HOLD,      //  the holder put it on hold, waiting for information (issue 17)
    S_EVENTS
} s_event_t;

#define S_IGNORED UINT32_MAX        //  the event does not apply in this state: nothing happens
#define S_STAY    (UINT32_MAX - 1)  //  the event is recorded; the state stays

//  The lifecycle, declared once: for each state, whether its deadlines still run, and the
//  state each event leads to. An outcome or update is taken in any state (the holder's word
//  is recorded as it comes); only taking the referral in is once, from RECEIVED.
//  A withdrawal is taken before or after the decision, not once the case is closed or already
//  withdrawn (refused: rh_tracker_close_refused). A withdrawn case has no deadlines; the holder
//  may still record an outcome or updates on it (its word is kept, the state stays WITHDRAWN),
//  close it, or reopen it. Screening and on hold are the front door's progress before its
//  decision; after it they are recorded as notes. On hold does not pause the deadlines: the
//  front door waits for information, but the person waits too, and a paused clock would hide
//  the delay the overdue alert and the report exist to show. (Below: rows by state.)
//  close it, or reopen it. State values are not dense (new ones start at 40): a row left out
//  of the table (its TAKE_IN is 0, never a real answer) behaves as UNSET.
// clang-format off
static const struct {
    bool open;                 //  no outcome yet: deadlines run
    uint32_t next [S_EVENTS];  //  by event
} s_lifecycle [S_STATES] = {
    //                   open     TAKE_IN          DECIDE     CLOSE     REOPEN      NOTE     WITHDRAW     SCREEN       HOLD
    [S_UNSET]        = { false, { S_IGNORED,      S_DECIDED, S_CLOSED, S_REOPENED, S_STAY, S_WITHDRAWN, S_STAY,      S_STAY    } },
    [S_RECEIVED]     = { true,  { S_ACKNOWLEDGED, S_DECIDED, S_CLOSED, S_REOPENED, S_STAY, S_WITHDRAWN, S_SCREENING, S_ON_HOLD } },
    [S_ACKNOWLEDGED] = { true,  { S_IGNORED,      S_DECIDED, S_CLOSED, S_REOPENED, S_STAY, S_WITHDRAWN, S_SCREENING, S_ON_HOLD } },
    [S_DECIDED]      = { false, { S_IGNORED,      S_DECIDED, S_CLOSED, S_REOPENED, S_STAY, S_WITHDRAWN, S_STAY,      S_STAY    } },
    [S_CLOSED]       = { false, { S_IGNORED,      S_DECIDED, S_CLOSED, S_REOPENED, S_STAY, S_IGNORED,   S_STAY,      S_STAY    } },
    [S_REOPENED]     = { false, { S_IGNORED,      S_DECIDED, S_CLOSED, S_REOPENED, S_STAY, S_WITHDRAWN, S_STAY,      S_STAY    } },
    //  Issue 17, withdrawal:
    [S_WITHDRAWN]    = { false, { S_IGNORED,      S_STAY,    S_CLOSED, S_REOPENED, S_STAY, S_IGNORED,   S_STAY,      S_STAY    } },
    //  Issue 17, the front door's progress:
    [S_SCREENING]    = { true,  { S_IGNORED,      S_DECIDED, S_CLOSED, S_REOPENED, S_STAY, S_WITHDRAWN, S_STAY,      S_ON_HOLD } },
    [S_ON_HOLD]      = { true,  { S_IGNORED,      S_DECIDED, S_CLOSED, S_REOPENED, S_STAY, S_WITHDRAWN, S_SCREENING, S_STAY    } },
};
// clang-format on

//  ---------------------------------------------------------------------------------------------
//  Consent override with review: beside the case's lifecycle, an override runs its own small
//  one. Overriding starts it; the review period running out marks it overdue (and alerts the
//  reviewer again); the reviewer's review ends it, upheld or not.
#define O_NONE     0
#define O_PENDING  RHANNU__V1__OVERRIDE_REVIEW__OVERRIDE_REVIEW_PENDING
#define O_OVERDUE  RHANNU__V1__OVERRIDE_REVIEW__OVERRIDE_REVIEW_LATE
#define O_UPHELD   RHANNU__V1__OVERRIDE_REVIEW__OVERRIDE_UPHELD
#define O_REJECTED RHANNU__V1__OVERRIDE_REVIEW__OVERRIDE_NOT_UPHELD

typedef enum { O_OVERRIDE, O_REVIEW_DUE, O_UPHOLD, O_REJECT, O_EVENTS } o_event_t;

// clang-format off
static const struct {
    uint32_t state;
    uint32_t next [O_EVENTS];
} s_override_lifecycle [] = {
    //                OVERRIDE    REVIEW_DUE  UPHOLD     REJECT
    { O_NONE,     { O_PENDING, S_IGNORED, S_IGNORED, S_IGNORED  } },
    { O_PENDING,  { S_IGNORED, O_OVERDUE, O_UPHELD,  O_REJECTED } },
    { O_OVERDUE,  { S_IGNORED, S_IGNORED, O_UPHELD,  O_REJECTED } },
    { O_UPHELD,   { S_IGNORED, S_IGNORED, S_IGNORED, S_IGNORED  } },
    { O_REJECTED, { S_IGNORED, S_IGNORED, S_IGNORED, S_IGNORED  } },
};
// clang-format on

//  The override state after event, S_IGNORED if the event does not apply (an unknown state:
//  nothing applies).
static uint32_t
s_override_next (uint32_t state, o_event_t event)
{
    for (size_t i = 0; i < sizeof s_override_lifecycle / sizeof s_override_lifecycle [0]; i++)
        if (s_override_lifecycle [i].state == state)
            return s_override_lifecycle [i].next [event];
    return S_IGNORED;
}
//  ---------------------------------------------------------------------------------------------

//  The table row of a stored state: one the table does not know (a record from a newer
//  broker, or damaged) behaves as UNSET.
static size_t
s_row (uint32_t state)
{
    return state < S_STATES && s_lifecycle [state].next [S_TAKE_IN] != S_UNSET ? state : S_UNSET;
}

//  The state after event, S_IGNORED if the event does not apply.
static uint32_t
s_next (uint32_t state, s_event_t event)
{
    uint32_t next = s_lifecycle [s_row (state)].next [event];
    return next == S_STAY ? state : next;
}

//  The event an outcome or update from the holder is.
static s_event_t
s_event_of (const rh_facts_t *facts)
{
    if (facts->kind == RH_KIND_OUTCOME)
        return S_DECIDE;
    if (facts->update_kind == RHANNU__V1__UPDATE_KIND__CLOSED)
        return S_CLOSE;
    if (facts->update_kind == RHANNU__V1__UPDATE_KIND__REOPENED)
        return S_REOPEN;
    if (facts->update_kind == RHANNU__V1__UPDATE_KIND__WITHDRAWN)
        return S_WITHDRAW;
    if (facts->update_kind == RHANNU__V1__UPDATE_KIND__UNDER_SCREENING)
        return S_SCREEN;
    if (facts->update_kind == RHANNU__V1__UPDATE_KIND__ON_HOLD)
        return S_HOLD;
    return S_NOTE;
}

struct _rh_tracker_t {
    rh_db_t *db;                   //  borrowed: ka/ keys
    rh_cases_t *cases;             //  borrowed: the case records and their indexes
    rh_queue_t *queue;             //  borrowed: where the broker's messages go
    rh_signer_t *signer;           //  borrowed: the broker's identity
    rh_certstore_t *const *store;  //  borrowed slot: who is enrolled (swapped on reload)
    rh_policy_t *const *policy;    //  borrowed slot: the agreements in force (swapped on reload)
    rh_audit_t *audit;             //  borrowed, may be NULL: strategy meetings' own records
};

rh_tracker_t *
rh_tracker_new (rh_db_t *db, rh_cases_t *cases, rh_queue_t *queue, rh_signer_t *signer,
                rh_certstore_t *const *store, rh_policy_t *const *policy)
{
    assert (db && cases && queue && signer && store && policy);
    rh_tracker_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->db = db;
    self->cases = cases;
    self->queue = queue;
    self->signer = signer;
    self->store = store;
    self->policy = policy;
    return self;
}

void
rh_tracker_destroy (rh_tracker_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}

//  The identity of an agency enrolled and valid at now, or NULL.
static const rh_identity_t *
s_identity (rh_tracker_t *self, const char *agency, int64_t now)
{
    return rh_certstore_enrolled (*self->store, agency, now);
}

static const rh_obligations_t *
s_obligations (rh_tracker_t *self, const rh_case_t *record)
{
    const rh_agreement_t *agreement = rh_policy_find (*self->policy, record->agreement_id);
    return agreement ? rh_agreement_obligations (agreement) : NULL;
}

size_t
rh_tracker_copy_to (rh_tracker_t *self, const rh_case_t *record, char copies [2][RH_MAX_ID + 32],
                    const char *list [2])
{
    const rh_obligations_t *obligations = s_obligations (self, record);
    size_t count = 0;
    if (obligations && obligations->feedback_supervisor && *record->supervisor)
        snprintf (copies [count++], RH_MAX_ID + 32, "supervisor:%s", record->supervisor);
    if (obligations && obligations->feedback_duty_inbox && *record->duty_inbox)
        snprintf (copies [count++], RH_MAX_ID + 32, "duty_inbox:%s", record->duty_inbox);
    for (size_t i = 0; i < count; i++)
        list [i] = copies [i];
    return count;
}

//  Which of the count recipients holds a case: the first the agreements name as a front door,
//  else the first.
static size_t
s_holder (const char *const *recipients, const rh_decision_t *decisions, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (decisions [i].agreement
            && rh_agreement_has_role (decisions [i].agreement, recipients [i], "front_door"))
            return i;
    return 0;
}

//  Opens the case of referral_msg_id, from envelope (a referral, or a transfer that came from
//  another region): see rh_tracker_open. Fills opened, if not NULL, with the case.
static void
s_open (rh_tracker_t *self, const char *referral_msg_id, rh_envelope_t *envelope,
        const rh_facts_t *facts, const char *sender, const char *const *recipients,
        const rh_decision_t *decisions, size_t count, rh_case_t *opened, int64_t now)
{
    size_t holder = s_holder (recipients, decisions, count);
    const rh_agreement_t *agreement = decisions [holder].agreement;
    rh_case_t record;
    memset (&record, 0, sizeof record);
    snprintf (record.referral_msg_id, sizeof record.referral_msg_id, "%s", referral_msg_id);
    snprintf (record.case_id, sizeof record.case_id, "%s", rh_envelope_case_id (envelope));
    snprintf (record.referrer, sizeof record.referrer, "%s", sender);
    snprintf (record.referrer_author, sizeof record.referrer_author, "%s",
              rh_envelope_author (envelope));
    snprintf (record.supervisor, sizeof record.supervisor, "%s",
              rh_envelope_author_supervisor (envelope));
    snprintf (record.duty_inbox, sizeof record.duty_inbox, "%s",
              rh_envelope_author_duty_inbox (envelope));
    snprintf (record.holder, sizeof record.holder, "%s", recipients [holder]);
    if (agreement) {
        snprintf (record.holder_label, sizeof record.holder_label, "%s",
                  rh_agreement_label (agreement, recipients [holder]));
        snprintf (record.agreement_id, sizeof record.agreement_id, "%s",
                  rh_agreement_id (agreement));
    }
    record.referral_kind = facts->referral_kind;
    record.state = S_INITIAL;
    record.received_ms = now;
    rh_cases_involve (&record, sender);
    const rh_obligations_t *obligations = agreement ? rh_agreement_obligations (agreement) : NULL;
    if (obligations) {
        snprintf (record.escalate_to, sizeof record.escalate_to, "%s", obligations->escalate_to);
        if (obligations->acknowledge_ms)
            rh_cases_set_timer (self->cases, &record, RH_TIMER_ACKNOWLEDGE,
                                now + obligations->acknowledge_ms);
        int64_t outcome = facts->referral_kind < RH_MAX_REFERRAL_KINDS
                                  && obligations->outcome_ms_by_kind [facts->referral_kind]
                              ? obligations->outcome_ms_by_kind [facts->referral_kind]
                              : obligations->outcome_ms;
        if (outcome) {
            int64_t due = now + outcome;
            rh_cases_set_timer (self->cases, &record, RH_TIMER_OUTCOME, due);
            if (obligations->reminder_before_ms && obligations->reminder_before_ms < outcome)
                rh_cases_set_timer (self->cases, &record, RH_TIMER_REMINDER,
                                    due - obligations->reminder_before_ms);
            if (obligations->escalate_after_ms && *obligations->escalate_to)
                rh_cases_set_timer (self->cases, &record, RH_TIMER_ESCALATE,
                                    due + obligations->escalate_after_ms);
        }
    }
    for (size_t i = 0; i < facts->subject_key_count; i++) {
        memcpy (record.subject_keys [record.subject_count++], facts->subject_keys [i],
                RH_SUBJECT_KEY_LEN);
        rh_cases_note_subject (self->cases, facts->subject_keys [i], now, record.referral_msg_id,
                               RH_SUBJECT_PENDING);
    }
    rh_cases_put (self->cases, &record);
    if (opened)
        *opened = record;
}

void
rh_tracker_open (rh_tracker_t *self, rh_envelope_t *envelope, const rh_facts_t *facts,
                 const char *sender, const char *const *recipients, const rh_decision_t *decisions,
                 size_t count, int64_t now)
{
    assert (self && envelope && facts && sender && recipients && decisions && count > 0);
    s_open (self, rh_envelope_msg_id (envelope), envelope, facts, sender, recipients, decisions,
            count, NULL, now);
}

//  Issue 16: the case a transfer from another region opened (or joined) here, from
//  kt/<transfer msg id>. False if it is not one.
static bool
s_transfer_case (rh_tracker_t *self, const char *msg_id, char referral [RH_MAX_ID + 1])
{
    char key [RH_MAX_QUEUE_KEY];
    snprintf (key, sizeof key, "kt/%s", msg_id);
    return rh_db_get_text (self->db, key, referral, RH_MAX_ID);
}

bool
rh_tracker_transferred_in (rh_tracker_t *self, rh_envelope_t *envelope, const rh_facts_t *facts,
                           const char *sender, const char *const *recipients,
                           const rh_decision_t *decisions, size_t count, rh_case_t *record,
                           int64_t now)
{
    assert (self && envelope && facts && sender && recipients && decisions && count > 0 && record);
    //  Keyed as the other region keys it: the referral the transfer answers, so that an answer
    //  to that referral finds the case on either side. A transfer answering none is its own.
    const char *msg_id = rh_envelope_msg_id (envelope);
    const char *referral =
        *rh_envelope_in_reply_to (envelope) ? rh_envelope_in_reply_to (envelope) : msg_id;
    bool opened = !rh_cases_get (self->cases, referral, record);
    if (opened)
        s_open (self, referral, envelope, facts, sender, recipients, decisions, count, record, now);
    else {
        //  Handed on again (to another agency here): as a transfer within the region.
        const char *to = recipients [s_holder (recipients, decisions, count)];
        if (strcmp (record->holder, to) != 0)
            rh_tracker_transfer (self, record, to, now);
    }
    //  The holder's agent takes the transfer in, and may answer it rather than the referral.
    char key [RH_MAX_QUEUE_KEY];
    snprintf (key, sizeof key, "kt/%s", msg_id);
    rh_db_put (self->db, key, strlen (key), referral, strlen (referral));
    return opened;
}

//  The front door's agent took the referral in: the referrer gets a receipt naming who holds it
//  (with receipt; a transfer taken in acknowledges its case without one).
static void
s_case_taken_in (rh_tracker_t *self, const char *referral_msg_id, const char *agency, bool receipt,
                 int64_t now)
{
    rh_case_t record;
    if (!rh_cases_get (self->cases, referral_msg_id, &record) || strcmp (record.holder, agency))
        return;
    uint32_t next = s_next (record.state, S_TAKE_IN);
    if (next == S_IGNORED)
        return;  //  taken in before: no second receipt
    record.state = next;
    record.acknowledged_ms = now;
    rh_cases_set_timer (self->cases, &record, RH_TIMER_ACKNOWLEDGE, 0);
    rh_cases_put (self->cases, &record);
    //  The referrer of a case a transfer opened is in another region: a notice signed by this
    //  broker does not cross the border, the holder's own RECEIPT does.
    if (!receipt)
        return;
    char copies [2][RH_MAX_ID + 32], msg_id [RH_MAX_ID + 1] = "";
    const char *list [2];
    size_t copy_count = rh_tracker_copy_to (self, &record, copies, list);
    rh_notice_from_t from = { self->signer, rh_queue_next_sequence (self->queue), record.referrer,
                              now };
    size_t size = 0;
    uint8_t *sealed = rh_notice_receipt (&from, &record, list, copy_count, &size, msg_id);
    rh_queue_send_own (self->queue, record.referrer, &sealed, size, msg_id, RH_KIND_RECEIPT,
                       "receipt", NULL, record.case_id, now);
}

//  An agency took in a repeat-referral alert: the case no longer waits on that copy. A case
//  waits until every agency alerted (the front door and those the agreement names) has it.
static void
s_alert_taken_in (rh_tracker_t *self, const char *alert_msg_id, const char *agency)
{
    char key [RH_MAX_QUEUE_KEY], referral [RH_MAX_ID + 1];
    snprintf (key, sizeof key, "ka/%s", alert_msg_id);
    bool good = rh_db_get_text (self->db, key, referral, RH_MAX_ID);
    rh_case_t record;
    (void) agency;  //  the delivery came from that agency's own queue: it is the alert's recipient
    if (!good || !rh_cases_get (self->cases, referral, &record))
        return;
    for (size_t i = 0; i < record.open_alert_count; i++)
        if (strcmp (record.open_alerts [i], alert_msg_id) == 0) {
            memmove (&record.open_alerts [i], &record.open_alerts [i + 1],
                     (record.open_alert_count - i - 1) * sizeof record.open_alerts [0]);
            record.open_alert_count--;
            rh_cases_put (self->cases, &record);
            break;
        }
    rh_db_delete (self->db, key, strlen (key));
}

//  Strategy meetings: the case a meeting message (an invitation or a record) belongs to, from
//  km/<msg id>. False if it is not one.
static bool
s_meeting_case (rh_tracker_t *self, const char *msg_id, char referral [RH_MAX_ID + 1])
{
    char key [RH_MAX_QUEUE_KEY];
    snprintf (key, sizeof key, "km/%s", msg_id);
    return rh_db_get_text (self->db, key, referral, RH_MAX_ID);
}

//  The case a message names: by the referral it answers (or a transfer from another region
//  that opened the case here, or a strategy meeting's message), or by the case id sender knows
//  it under as its holder.
static bool
s_case_named (rh_tracker_t *self, rh_envelope_t *envelope, const char *sender, rh_case_t *record)
{
    const char *answers = rh_envelope_in_reply_to (envelope);
    char referral [RH_MAX_ID + 1];
    return (*answers && rh_cases_get (self->cases, answers, record))
           || (*answers && s_transfer_case (self, answers, referral)
               && rh_cases_get (self->cases, referral, record))
           || (rh_envelope_kind (envelope) == RH_KIND_STRATEGY_MEETING && *answers
               && s_meeting_case (self, answers, referral)
               && rh_cases_get (self->cases, referral, record))
           || (rh_cases_find (self->cases, sender, rh_envelope_case_id (envelope), referral)
               && rh_cases_get (self->cases, referral, record));
}

bool
rh_tracker_held (rh_tracker_t *self, rh_envelope_t *envelope, const char *sender, rh_case_t *record)
{
    assert (self && envelope && sender && record);
    return s_case_named (self, envelope, sender, record)
           && (strcmp (record->holder, sender) == 0
               || strcmp (record->transferred_to, sender) == 0);
}

rh_case_match_t
rh_tracker_case_of (rh_tracker_t *self, rh_envelope_t *envelope, const char *sender,
                    rh_case_t *record)
{
    assert (self && envelope && sender && record);
    rh_kind_t kind = rh_envelope_kind (envelope);
    if (kind != RH_KIND_OUTCOME && kind != RH_KIND_STATUS_UPDATE && kind != RH_KIND_TRANSFER
        && kind != RH_KIND_STRATEGY_MEETING)
        return RH_CASE_NONE;
    if (!s_case_named (self, envelope, sender, record))
        return RH_CASE_NONE;
    //  A review of a consent override comes from the agreement's reviewer, who speaks for the
    //  case for that update only.
    const Rhannu__V1__StatusUpdate *update =
        kind == RH_KIND_STATUS_UPDATE
            ? (const Rhannu__V1__StatusUpdate *) rh_envelope_body (envelope)
            : NULL;
    if (update && update->update_kind == RHANNU__V1__UPDATE_KIND__OVERRIDE_REVIEWED) {
        const rh_agreement_t *agreement = rh_policy_find (*self->policy, record->agreement_id);
        return agreement && rh_agreement_has_role (agreement, sender, "reviewer") ? RH_CASE_HELD
                                                                                  : RH_CASE_OTHERS;
    }
    return strcmp (record->holder, sender) == 0 || strcmp (record->transferred_to, sender) == 0
               ? RH_CASE_HELD
               : RH_CASE_OTHERS;
}

static bool
s_below_threshold (uint32_t decision)
{
    return decision == RHANNU__V1__DECISION__NO_FURTHER_ACTION
           || decision == RHANNU__V1__DECISION__SIGNPOSTED
           || decision == RHANNU__V1__DECISION__STEP_DOWN_EARLY_HELP;
}

//  Agencies a repeat alert goes to: the holder, and each notify target of the agreement (a
//  role of its parties, or an agency type in the holder's local authority).
static size_t
s_repeat_targets (rh_tracker_t *self, const rh_case_t *record, const rh_obligations_t *obligations,
                  const char **targets, size_t max, int64_t now)
{
    size_t count = 0;
    targets [count++] = record->holder;
    const rh_agreement_t *agreement = rh_policy_find (*self->policy, record->agreement_id);
    const rh_identity_t *holder = s_identity (self, record->holder, now);
    for (size_t n = 0; agreement && n < obligations->repeat_notify_count; n++) {
        const char *target = obligations->repeat_notify [n];
        const char *found [RH_MAX_INVOLVED];
        size_t found_count = 0;
        if (!strcmp (target, "front_door"))
            continue;  //  the holder is the front door
        found_count = rh_agreement_parties_with_role (agreement, target, found, RH_MAX_INVOLVED);
        for (size_t i = 0;
             holder && i < rh_certstore_size (*self->store) && found_count < RH_MAX_INVOLVED; i++) {
            const rh_identity_t *id = rh_certstore_identity (*self->store, i);
            if (!strcmp (id->type, target) && !strcmp (id->la, holder->la))
                found [found_count++] = id->agency_id;
        }
        for (size_t i = 0; i < found_count && count < max; i++) {
            bool seen = false;
            for (size_t k = 0; k < count && !seen; k++)
                seen = !strcmp (targets [k], found [i]);
            if (!seen && s_identity (self, found [i], now))
                targets [count++] = found [i];
        }
    }
    return count;
}

//  The "three report benchmark": enough referrals about one subject within the window did not
//  meet the threshold. The front door (and whoever the agreement names) is alerted, with the
//  earlier referrals named; the case cannot close until each of them has taken the alert in.
static void
s_repeat_check (rh_tracker_t *self, rh_case_t *record, int64_t now)
{
    const rh_obligations_t *obligations = s_obligations (self, record);
    uint8_t state =
        s_below_threshold (record->decision) ? RH_SUBJECT_BELOW_THRESHOLD : RH_SUBJECT_OTHER;
    for (size_t s = 0; s < record->subject_count; s++)
        rh_cases_note_subject (self->cases, record->subject_keys [s], record->received_ms,
                               record->referral_msg_id, state);
    if (!obligations || obligations->repeat_count < 2 || state != RH_SUBJECT_BELOW_THRESHOLD)
        return;
    for (size_t s = 0; s < record->subject_count; s++) {
        rh_subject_entry_t entries [RH_MAX_REPEAT_HISTORY];
        size_t found = rh_cases_subject_history (
            self->cases, record->subject_keys [s],
            record->received_ms - obligations->repeat_window_ms, entries, RH_MAX_REPEAT_HISTORY);
        const char *ids [RH_MAX_REPEAT_HISTORY + 1];
        char case_ids [RH_MAX_REPEAT_HISTORY + 1][RH_MAX_ID + 1];
        const char *case_list [RH_MAX_REPEAT_HISTORY + 1];
        size_t count = 0;
        for (size_t i = 0; i < found; i++) {
            if (entries [i].state != RH_SUBJECT_BELOW_THRESHOLD
                || !strcmp (entries [i].referral_msg_id, record->referral_msg_id)
                || entries [i].received_ms > record->received_ms)
                continue;
            rh_case_t earlier;
            ids [count] = entries [i].referral_msg_id;
            snprintf (case_ids [count], sizeof case_ids [count], "%s",
                      rh_cases_get (self->cases, entries [i].referral_msg_id, &earlier)
                          ? earlier.case_id
                          : "");
            case_list [count] = case_ids [count];
            count++;
        }
        ids [count] = record->referral_msg_id;
        snprintf (case_ids [count], sizeof case_ids [count], "%s", record->case_id);
        case_list [count] = case_ids [count];
        count++;
        if (count < obligations->repeat_count)
            continue;
        const char *targets [RH_MAX_INVOLVED];
        size_t target_count =
            s_repeat_targets (self, record, obligations, targets, RH_MAX_INVOLVED, now);
        rh_alert_t alert = { .alert_kind = RHANNU__V1__ALERT_KIND__REPEAT_REFERRALS,
                             .record = record,
                             .count = (uint32_t) count,
                             .window_days =
                                 (uint32_t) (obligations->repeat_window_ms / (24 * 3600 * 1000LL)),
                             .related_msg_ids = ids,
                             .related_case_ids = case_list,
                             .related_count = count,
                             .subject_key = record->subject_keys [s] };
        for (size_t t = 0; t < target_count; t++) {
            rh_notice_from_t from = { self->signer, rh_queue_next_sequence (self->queue),
                                      targets [t], now };
            char msg_id [RH_MAX_ID + 1] = "";
            size_t size = 0;
            uint8_t *sealed = rh_notice_alert (&from, &alert, &size, msg_id);
            if (sealed && record->open_alert_count < RH_MAX_OPEN_ALERTS) {
                snprintf (record->open_alerts [record->open_alert_count++], RH_MAX_ID + 1, "%s",
                          msg_id);
                char key [RH_MAX_QUEUE_KEY];
                snprintf (key, sizeof key, "ka/%s", msg_id);
                rh_db_put (self->db, key, strlen (key), record->referral_msg_id,
                           strlen (record->referral_msg_id));
            }
            rh_queue_send_own (self->queue, targets [t], &sealed, size, msg_id, RH_KIND_ALERT,
                               "repeat-referral alert", NULL, record->case_id, now);
        }
        rh_log_info ("broker",
                     "repeat referrals: %zu below threshold about one subject; alerted %zu", count,
                     target_count);
        return;  //  one alert per outcome, whichever subject crossed the line
    }
}

void
rh_tracker_event (rh_tracker_t *self, rh_case_t *record, const rh_facts_t *facts,
                  const char *const *addressed, size_t addressed_count, int64_t now)
{
    assert (self && record && facts);
    for (size_t i = 0; i < addressed_count; i++)
        rh_cases_involve (record, addressed [i]);  //  whoever the holder brings in hears updates
    s_event_t event = s_event_of (facts);
    record->state = s_next (record->state, event);
    if (event == S_DECIDE) {
        record->decision = facts->decision;
        record->decided_ms = now;
        record->outcome_notice_sent = true;
        //  The outcome's deadlines end; an override's review does not depend on the outcome,
        //  nor does a strategy meeting's record (a meeting is often what the outcome decides).
        for (int timer = 0; timer < RH_TIMER_COUNT; timer++)
            if (timer != RH_TIMER_REVIEW && timer != RH_TIMER_MEETING)
                rh_cases_set_timer (self->cases, record, (rh_timer_t) timer, 0);
        s_repeat_check (self, record, now);
    }
    else if (facts->update_kind == RHANNU__V1__UPDATE_KIND__OVERRIDE_REVIEWED) {
        //  rh_tracker_close_refused let only a review the override's lifecycle takes through.
        o_event_t review = facts->review_outcome == O_UPHELD ? O_UPHOLD : O_REJECT;
        uint32_t next = s_override_next (record->override_review, review);
        if (next != S_IGNORED) {
            record->override_review = next;
            rh_cases_set_timer (self->cases, record, RH_TIMER_REVIEW, 0);
        }
        record->updates++;
    }
    else {
        record->updates++;
        if (*facts->new_owner)
            rh_cases_involve (record, facts->new_owner);

        if (event == S_CLOSE)
            record->closed_ms = now;
        if (event == S_WITHDRAW) {
            //  Nothing more is owed on a withdrawn referral: no reminders, no overdue alerts.
            record->withdrawn_ms = now;
            for (int timer = 0; timer < RH_TIMER_COUNT; timer++)
                rh_cases_set_timer (self->cases, record, (rh_timer_t) timer, 0);
        }
    }
    rh_cases_put (self->cases, record);
}

void
rh_tracker_transfer (rh_tracker_t *self, rh_case_t *record, const char *to, int64_t now)
{
    assert (self && record && to);
    //  The holder still decides on the referral it received (say, "transferred"); the agency
    //  it handed the case to may record outcomes and updates too. It is not made one of those
    //  who hear the case's updates: that would share more than the transfer itself did.
    snprintf (record->transferred_to, sizeof record->transferred_to, "%s", to);
    record->updates++;
    rh_cases_put (self->cases, record);
    rh_log_info ("broker", "case %s transferred to %s", record->referral_msg_id, to);
    (void) now;
}

bool
rh_tracker_close_refused (rh_tracker_t *self, const rh_case_t *record, const rh_facts_t *facts,
                          rh_decision_t *refusal)
{
    assert (self && record && facts && refusal);
    if (facts->kind != RH_KIND_STATUS_UPDATE)
        return false;
    bool review = facts->update_kind == RHANNU__V1__UPDATE_KIND__OVERRIDE_REVIEWED;
    if (!review && s_event_of (facts) != S_CLOSE && s_event_of (facts) != S_WITHDRAW)
        return false;
    memset (refusal, 0, sizeof *refusal);
    refusal->result = RH_DECIDE_CONDITION;
    refusal->rule_id = "";
    const char *name = *record->case_id ? record->case_id : record->referral_msg_id;
    if (review) {
        bool outcome = facts->review_outcome == O_UPHELD || facts->review_outcome == O_REJECTED;
        if (!outcome) {
            snprintf (refusal->missing, sizeof refusal->missing, "review_outcome");
            snprintf (refusal->reason, sizeof refusal->reason,
                      "a review of the consent override on case %s must say whether it is "
                      "upheld (OVERRIDE_UPHELD or OVERRIDE_NOT_UPHELD)",
                      name);
            return true;
        }
        if (s_override_next (record->override_review, O_UPHOLD) == S_IGNORED) {
            snprintf (refusal->missing, sizeof refusal->missing, "override_pending");
            snprintf (refusal->reason, sizeof refusal->reason,
                      "case %s has no consent override awaiting review", name);
            return true;
        }
        return false;
    }
    if (s_event_of (facts) == S_WITHDRAW) {
        if (s_next (record->state, S_WITHDRAW) != S_IGNORED)
            return false;
        snprintf (refusal->missing, sizeof refusal->missing, "withdrawable");
        snprintf (refusal->reason, sizeof refusal->reason, "case %s cannot be withdrawn: it is %s",
                  name, record->state == S_CLOSED ? "closed" : "withdrawn already");
        return true;
    }
    if (!record->outcome_notice_sent) {
        snprintf (refusal->missing, sizeof refusal->missing, "outcome_notice");
        snprintf (refusal->reason, sizeof refusal->reason,
                  "case %s cannot be closed: no outcome has gone to the referrer %s yet", name,
                  record->referrer);
        return true;
    }
    if (record->open_alert_count > 0) {
        snprintf (refusal->missing, sizeof refusal->missing, "repeat_alert");
        snprintf (refusal->reason, sizeof refusal->reason,
                  "case %s cannot be closed: repeat-referral alert %s has not been taken in yet",
                  name, record->open_alerts [0]);
        return true;
    }
    return false;
}

//  Alerts each enrolled party of the case's agreement with the reviewer role. Returns how many.
static size_t
s_alert_reviewers (rh_tracker_t *self, rh_case_t *record, uint32_t kind, int64_t now)
{
    const rh_agreement_t *agreement = rh_policy_find (*self->policy, record->agreement_id);
    const char *targets [RH_MAX_INVOLVED];
    size_t count = agreement ? rh_agreement_parties_with_role (agreement, "reviewer", targets,
                                                               RH_MAX_INVOLVED)
                             : 0,
           sent = 0;
    //  The referral is named: the review answers it (in_reply_to).
    const char *ids [1] = { record->referral_msg_id }, *case_ids [1] = { record->case_id };
    rh_alert_t alert = { .alert_kind = kind,
                         .record = record,
                         .related_msg_ids = ids,
                         .related_case_ids = case_ids,
                         .related_count = 1,
                         .due_ms = record->timers [RH_TIMER_REVIEW]
                                       ? record->timers [RH_TIMER_REVIEW]
                                       : now };
    for (size_t i = 0; i < count; i++) {
        if (!s_identity (self, targets [i], now))
            continue;
        rh_notice_from_t from = { self->signer, rh_queue_next_sequence (self->queue), targets [i],
                                  now };
        char msg_id [RH_MAX_ID + 1] = "";
        size_t size = 0;
        uint8_t *sealed = rh_notice_alert (&from, &alert, &size, msg_id);
        rh_queue_send_own (self->queue, targets [i], &sealed, size, msg_id, RH_KIND_ALERT,
                           "consent override alert", NULL, record->case_id, now);
        sent++;
    }
    return sent;
}

size_t
rh_tracker_override (rh_tracker_t *self, const char *referral_msg_id, const char *rule_id,
                     int64_t review_ms, int64_t now)
{
    assert (self && referral_msg_id && rule_id);
    rh_case_t record;
    if (!rh_cases_get (self->cases, referral_msg_id, &record))
        return 0;
    uint32_t next = s_override_next (record.override_review, O_OVERRIDE);
    if (next == S_IGNORED)
        return 0;
    record.override_review = next;
    record.overridden_ms = now;
    snprintf (record.override_rule, sizeof record.override_rule, "%s", rule_id);
    rh_cases_set_timer (self->cases, &record, RH_TIMER_REVIEW, now + review_ms);
    rh_cases_put (self->cases, &record);
    size_t sent = s_alert_reviewers (self, &record, RHANNU__V1__ALERT_KIND__CONSENT_OVERRIDE, now);
    rh_log_info ("broker", "consent override: case %s under rule %s; %zu reviewers alerted",
                 record.referral_msg_id, rule_id, sent);
    return sent;
}

//  One due timer: remind the holder, tell the referrer it is overdue, escalate.
static void
s_fire (rh_tracker_t *self, const rh_due_t *due, int64_t now)
{
    rh_case_t record;
    if (!rh_cases_get (self->cases, due->referral_msg_id, &record)
        || record.timers [due->timer] != due->due_ms) {
        rh_cases_drop_due (self->cases, due);  //  stale: the case moved on
        return;
    }
    rh_cases_set_timer (self->cases, &record, due->timer, 0);
    if (due->timer == RH_TIMER_REVIEW) {
        uint32_t next = s_override_next (record.override_review, O_REVIEW_DUE);
        if (next != S_IGNORED) {
            record.override_review = next;
            rh_cases_put (self->cases, &record);
            record.timers [RH_TIMER_REVIEW] = due->due_ms;  //  the alert names the due time
            size_t sent = s_alert_reviewers (self, &record,
                                             RHANNU__V1__ALERT_KIND__OVERRIDE_REVIEW_OVERDUE, now);
            rh_log_info ("broker", "consent override review overdue: case %s; %zu alerted",
                         record.referral_msg_id, sent);
        }
        else
            rh_cases_put (self->cases, &record);
        return;
    }
    if (due->timer == RH_TIMER_MEETING) {
        //  Strategy meetings: the meeting's record is not in; the holder is told.
        uint32_t next = rh_strategy_next (record.meeting_state, RH_MEETING_RECORD_DUE);
        if (next != RH_MEETING_IGNORED)
            record.meeting_state = next;
        rh_cases_put (self->cases, &record);
        if (next == RH_MEETING_IGNORED || !s_identity (self, record.holder, now))
            return;
        const char *ids [1] = { record.meeting_msg_id }, *case_ids [1] = { record.case_id };
        rh_alert_t alert = { .alert_kind = RHANNU__V1__ALERT_KIND__MEETING_RECORD_OVERDUE,
                             .record = &record,
                             .due_ms = due->due_ms,
                             .related_msg_ids = ids,
                             .related_case_ids = case_ids,
                             .related_count = 1 };
        rh_notice_from_t from = { self->signer, rh_queue_next_sequence (self->queue), record.holder,
                                  now };
        char msg_id [RH_MAX_ID + 1] = "";
        size_t size = 0;
        uint8_t *sealed = rh_notice_alert (&from, &alert, &size, msg_id);
        rh_queue_send_own (self->queue, record.holder, &sealed, size, msg_id, RH_KIND_ALERT,
                           "strategy meeting record alert", NULL, record.case_id, now);
        rh_log_info ("broker", "strategy meeting record overdue: case %s", record.referral_msg_id);
        return;
    }
    bool open = s_lifecycle [s_row (record.state)].open;
    //  A breach while the front door had not even received the referral, or was not connected,
    //  is put down to the outage, not to the front door's practice.
    bool outage = record.state == S_RECEIVED || !rh_queue_connected (self->queue, record.holder);
    const char *targets [RH_MAX_INVOLVED];
    size_t target_count = 0;
    uint32_t kind = 0;
    int64_t when =
        record.timers [RH_TIMER_OUTCOME] ? record.timers [RH_TIMER_OUTCOME] : due->due_ms;
    //  (for a reminder: the outcome deadline, still pending)
    if (due->timer == RH_TIMER_ACKNOWLEDGE && record.state == S_RECEIVED) {
        kind = RHANNU__V1__ALERT_KIND__ACKNOWLEDGEMENT_OVERDUE;
        targets [target_count++] = record.referrer;
        when = record.received_ms;
        record.outage_attributed = record.outage_attributed || outage;
    }
    else if (due->timer == RH_TIMER_REMINDER && open
             && !(record.timers [RH_TIMER_OUTCOME] && record.timers [RH_TIMER_OUTCOME] <= now)) {
        kind = RHANNU__V1__ALERT_KIND__OUTCOME_DUE_SOON;
        targets [target_count++] = record.holder;
    }
    else if (due->timer == RH_TIMER_OUTCOME && open) {
        kind = RHANNU__V1__ALERT_KIND__OUTCOME_OVERDUE;
        when = due->due_ms;
        record.overdue = true;
        record.outage_attributed = record.outage_attributed || outage;
        targets [target_count++] = record.referrer;
        targets [target_count++] = record.holder;
    }
    else if (due->timer == RH_TIMER_ESCALATE && open) {
        kind = RHANNU__V1__ALERT_KIND__ESCALATION;
        const rh_agreement_t *agreement = rh_policy_find (*self->policy, record.agreement_id);
        if (agreement) {
            target_count = rh_agreement_parties_with_role (agreement, record.escalate_to, targets,
                                                           RH_MAX_INVOLVED);
            //  Name the outcome's deadline, which the escalation follows by a set time.
            when = due->due_ms - rh_agreement_obligations (agreement)->escalate_after_ms;
        }
    }
    rh_cases_put (self->cases, &record);
    if (!kind)
        return;
    rh_alert_t alert = { .alert_kind = kind, .record = &record, .due_ms = when };
    for (size_t i = 0; i < target_count; i++) {
        if (!s_identity (self, targets [i], now))
            continue;
        rh_notice_from_t from = { self->signer, rh_queue_next_sequence (self->queue), targets [i],
                                  now };
        char msg_id [RH_MAX_ID + 1] = "";
        size_t size = 0;
        uint8_t *sealed = rh_notice_alert (&from, &alert, &size, msg_id);
        rh_queue_send_own (self->queue, targets [i], &sealed, size, msg_id, RH_KIND_ALERT,
                           "deadline alert", NULL, record.case_id, now);
    }
    rh_log_info ("broker", "deadline: case %s alert kind %u to %zu agencies%s",
                 record.referral_msg_id, kind, target_count,
                 record.outage_attributed ? " (outage)" : "");
}

void
rh_tracker_fire (rh_tracker_t *self, int64_t now)
{
    assert (self);
    rh_due_t due [64];
    size_t fired = 0, found;
    do {
        found = rh_cases_due (self->cases, now, due, 64);
        for (size_t i = 0; i < found; i++)
            s_fire (self, &due [i], now);
        fired += found;
        //  The due-time index is read from committed data: commit before reading on.
        if (found && rh_db_commit (self->db, true) != 0) {
            rh_log_error ("broker", "cannot commit fired deadlines");
            return;
        }
    } while (found == 64 && fired < RH_MAX_DUE_PER_TICK);
}

//  Strategy meetings: an invitee's agent took a meeting message in. Once every invitee has the
//  meeting's record, its actions are delivered.
static void
s_meeting_taken_in (rh_tracker_t *self, const char *msg_id, const char *agency, int64_t now)
{
    char referral [RH_MAX_ID + 1];
    rh_case_t record;
    if (!s_meeting_case (self, msg_id, referral) || !rh_cases_get (self->cases, referral, &record)
        || strcmp (record.meeting_record_msg_id, msg_id) != 0)
        return;  //  an invitation, a cancellation, or the record of an earlier meeting
    const char *invited [RH_MAX_INVITEES];
    for (size_t i = 0; i < record.meeting_invited_count; i++)
        invited [i] = record.meeting_invited [i];
    int index = rh_strategy_index (invited, record.meeting_invited_count, agency);
    if (index < 0)
        return;
    record.meeting_taken_in |= 1u << index;
    uint32_t all =
        record.meeting_invited_count >= 32 ? UINT32_MAX : (1u << record.meeting_invited_count) - 1;
    uint32_t next = (record.meeting_taken_in & all) == all
                        ? rh_strategy_next (record.meeting_state, RH_MEETING_DELIVERED)
                        : RH_MEETING_IGNORED;
    if (next != RH_MEETING_IGNORED) {
        record.meeting_state = next;
        char detail [RH_MAX_REASON];
        snprintf (detail, sizeof detail,
                  "strategy meeting %s: actions delivered to all %zu invitees",
                  record.meeting_msg_id, record.meeting_invited_count);
        if (self->audit)
            rh_audit_decided (self->audit, "STRATEGY_ACTIONS_DELIVERED", RH_OK, msg_id,
                              record.holder, NULL, 0, NULL, 0, NULL, detail, NULL, 0,
                              record.case_id);
    }
    rh_cases_put (self->cases, &record);
    (void) now;
}

void
rh_tracker_meeting (rh_tracker_t *self, rh_case_t *record, rh_envelope_t *envelope,
                    rh_meeting_event_t event, int64_t now)
{
    assert (self && record && envelope);
    uint32_t next = rh_strategy_next (record->meeting_state, event);
    if (next == RH_MEETING_IGNORED)
        return;  //  rh_strategy_check let only events the table takes through
    const char *msg_id = rh_envelope_msg_id (envelope);
    char key [RH_MAX_QUEUE_KEY];
    record->meeting_state = next;
    if (event == RH_MEETING_INVITE) {
        const char *list [RH_MAX_INVITEES];
        size_t count = rh_strategy_invitees (record, envelope, event, list);
        for (size_t i = 0; i < count; i++)
            snprintf (record->meeting_invited [i], sizeof record->meeting_invited [i], "%s",
                      list [i]);
        record->meeting_invited_count = count;
        snprintf (record->meeting_msg_id, sizeof record->meeting_msg_id, "%s", msg_id);
        *record->meeting_record_msg_id = 0;
        record->meeting_taken_in = 0;
        const Rhannu__V1__StrategyMeeting *body =
            (const Rhannu__V1__StrategyMeeting *) rh_envelope_body (envelope);
        record->meeting_when_ms = body ? body->when_ms : 0;
        //  The record is due the agreement's meeting_record_days after the meeting.
        const rh_obligations_t *obligations = s_obligations (self, record);
        rh_cases_set_timer (self->cases, record, RH_TIMER_MEETING,
                            obligations && obligations->meeting_record_ms
                                ? record->meeting_when_ms + obligations->meeting_record_ms
                                : 0);
    }
    else {
        rh_cases_set_timer (self->cases, record, RH_TIMER_MEETING, 0);
        if (event == RH_MEETING_HOLD)
            snprintf (record->meeting_record_msg_id, sizeof record->meeting_record_msg_id, "%s",
                      msg_id);
    }
    //  Every meeting message can be found by its id: a record answers its invitation, and the
    //  invitees' agents take the record in.
    snprintf (key, sizeof key, "km/%s", msg_id);
    rh_db_put (self->db, key, strlen (key), record->referral_msg_id,
               strlen (record->referral_msg_id));
    record->updates++;
    rh_cases_put (self->cases, record);
    (void) now;
}

void
rh_tracker_set_audit (rh_tracker_t *self, rh_audit_t *audit)
{
    assert (self);
    self->audit = audit;
}

void
rh_tracker_taken_in (rh_tracker_t *self, uint32_t kind, const char *msg_id, const char *agency,
                     int64_t now)
{
    assert (self && msg_id && agency);
    char referral [RH_MAX_ID + 1];
    if (kind == RH_KIND_REFERRAL)
        s_case_taken_in (self, msg_id, agency, true, now);
    else if (kind == RH_KIND_TRANSFER && s_transfer_case (self, msg_id, referral))
        s_case_taken_in (self, referral, agency, false, now);
    else if (kind == RH_KIND_ALERT)
        s_alert_taken_in (self, msg_id, agency);
    else if (kind == RH_KIND_STRATEGY_MEETING)
        s_meeting_taken_in (self, msg_id, agency, now);
}

void
rh_tracker_unverified (rh_tracker_t *self, uint32_t kind, const char *msg_id, const char *agency,
                       const char *code, int64_t now)
{
    assert (self && msg_id && agency);
    rh_case_t record;
    if (kind != RH_KIND_REFERRAL || !rh_cases_get (self->cases, msg_id, &record)
        || strcmp (record.holder, agency) != 0)
        return;
    if (record.unverified < UINT32_MAX)
        record.unverified++;
    snprintf (record.unverified_code, sizeof record.unverified_code, "%s",
              code && *code ? code : "RH_E_UNKNOWN");
    if (!record.unverified_ms)
        record.unverified_ms = now;
    rh_cases_put (self->cases, &record);
}
