/*  =========================================================================
    rh_tracker - the referral lifecycle: cases, receipts, outcomes and
    updates, close refusals, deadlines and repeat-referral alerts

    A referral the broker accepts opens a case (rh_cases) at the front door
    that received it, with the deadlines of the agreement that let it
    through. The case moves on when the front door's agent takes the
    referral in (the referrer gets a receipt), when the holder sends an
    outcome or an update, and when a deadline passes (reminder, overdue,
    escalation alerts). The legal moves are declared once, as a table of
    state x event -> next state, in rh_tracker.c. An outcome below the
    threshold about a subject referred often enough within the agreement's
    window sends repeat-referral alerts; the case cannot close until each
    alerted agency has taken its alert in.

    Keys in the database (besides rh_cases'):
      ka/<alert msg id>  a repeat-referral alert a case waits on: the case's referral id
      km/<msg id>        a strategy meeting message (invitation, record, cancellation): the
                         case's referral id
      kt/<msg id>        a transfer from another region that opened or joined a case here
                         (issue 16): the case's referral id

    The messages the broker writes about cases are signed with its own
    identity and queued through rh_queue; every write joins the database's
    pending batch.
    =========================================================================
*/
#ifndef RH_TRACKER_H_INCLUDED
#define RH_TRACKER_H_INCLUDED

typedef struct _rh_tracker_t rh_tracker_t;

//  Creates the tracker. Everything is borrowed; store and policy are the owner's slots, read
//  on every use, because a reload swaps what they point to. Returns NULL on failure.
rh_tracker_t *rh_tracker_new (rh_db_t *db, rh_cases_t *cases, rh_queue_t *queue,
                              rh_signer_t *signer, rh_certstore_t *const *store,
                              rh_policy_t *const *policy);

void rh_tracker_destroy (rh_tracker_t **self_p);

//  A referral was accepted: its case starts, held by the first recipient the agreements name
//  as a front door (else the first), with that agreement's deadlines. recipients and decisions
//  are the count addressed recipients and the decisions that allowed them.
void rh_tracker_open (rh_tracker_t *self, rh_envelope_t *envelope, const rh_facts_t *facts,
                      const char *sender, const char *const *recipients,
                      const rh_decision_t *decisions, size_t count, int64_t now);

//  Issue 16: a TRANSFER another region's broker forwarded was accepted here, for recipients
//  (the count addressed, allowed by decisions). The case is this region's side of it, keyed by
//  the referral the transfer answers (else by the transfer): it opens as rh_tracker_open's
//  would, held by the recipient, referred by sender (the agency in the other region that
//  handed it over), with the deadlines of the agreement that let it through. If that
//  referral's case is here already, the transfer joins it as a transfer within the region
//  does (rh_tracker_transfer). An answer to the transfer is about the case as an answer to the
//  referral is. Fills record with the case; returns true if it opened it, false if it joined.
bool rh_tracker_transferred_in (rh_tracker_t *self, rh_envelope_t *envelope,
                                const rh_facts_t *facts, const char *sender,
                                const char *const *recipients, const rh_decision_t *decisions,
                                size_t count, rh_case_t *record, int64_t now);

//  agency's agent took in a message of this kind the broker had delivered: a referral taken in
//  by its holder gets the referrer a receipt; a transfer that opened a case here (above), taken
//  in by its holder, acknowledges the case without one (its referrer is in another region, and
//  hears from the holder's own RECEIPT); a repeat-referral alert no longer holds its case open.
//  Other kinds change nothing.
void rh_tracker_taken_in (rh_tracker_t *self, uint32_t kind, const char *msg_id, const char *agency,
                          int64_t now);

//  agency's agent could not verify a message of this kind the broker had delivered (code
//  RH_E_...) and did not take it in: a referral's case records it (how often, the code, since
//  when) and stays RECEIVED; no receipt goes out.
void rh_tracker_unverified (rh_tracker_t *self, uint32_t kind, const char *msg_id,
                            const char *agency, const char *code, int64_t now);

//  Whether an outcome or update is about a case, and whose.
typedef enum {
    RH_CASE_NONE = 0,  //  about no case the broker knows (or not an outcome or update)
    RH_CASE_HELD,      //  about a case its sender holds
    RH_CASE_OTHERS     //  about a case another agency holds: only the holder may speak for it
} rh_case_match_t;

//  The case an outcome or update is about: by the referral it answers, or by the case id the
//  front door knows it under. Fills record unless RH_CASE_NONE.
rh_case_match_t rh_tracker_case_of (rh_tracker_t *self, rh_envelope_t *envelope, const char *sender,
                                    rh_case_t *record);

//  Whether sender holds (or was transferred) the case a message of any kind is about, by the
//  referral or transfer it answers or the case id sender knows it under; fills record if so.
bool rh_tracker_held (rh_tracker_t *self, rh_envelope_t *envelope, const char *sender,
                      rh_case_t *record);

//  The holder transferred the case to agency to (an accepted TRANSFER about it): from now on
//  that agency, beside the holder, may record its outcome and updates.
void rh_tracker_transfer (rh_tracker_t *self, rh_case_t *record, const char *to, int64_t now);

//  A case may not close before its referrer was told the outcome, nor while an agency has not
//  taken in a repeat-referral alert; a review of a consent override needs an override awaiting
//  review and an outcome. Returns true (and fills refusal, whose strings live in it) if this
//  message is an update refused for either reason.
bool rh_tracker_close_refused (rh_tracker_t *self, const rh_case_t *record, const rh_facts_t *facts,
                               rh_decision_t *refusal);

//  An outcome or update from the holder, sent to addressed, moves the case on and is stored.
void rh_tracker_event (rh_tracker_t *self, rh_case_t *record, const rh_facts_t *facts,
                       const char *const *addressed, size_t addressed_count, int64_t now);

//  Who at the referring agency also hears back, where the agreement says so ("supervisor:x",
//  "duty_inbox:y"): fills copies and list (pointing into copies). Returns how many.
size_t rh_tracker_copy_to (rh_tracker_t *self, const rh_case_t *record,
                           char copies [2][RH_MAX_ID + 32], const char *list [2]);

//  Fires every deadline due at now (up to RH_MAX_DUE_PER_TICK), committing as it goes: the
//  due-time index is read from committed data.
void rh_tracker_fire (rh_tracker_t *self, int64_t now);

//  A referral was accepted under a consent override (rh_decision_t.overridden): the case's
//  override review starts, due review_ms from now, and the agreement's reviewers are alerted.
//  Returns how many were alerted.
size_t rh_tracker_override (rh_tracker_t *self, const char *referral_msg_id, const char *rule_id,
                            int64_t review_ms, int64_t now);

//  Strategy meetings: a meeting message from the holder, accepted (rh_strategy_check said
//  which event it is): the case's meeting moves on by rh_strategy's table. An invitation
//  starts a new meeting with its invitees and the record's deadline (the agreement's
//  meeting_record_days after the meeting; MEETING_RECORD_OVERDUE to the holder when it
//  passes); a record or cancellation ends the deadline. Once every invitee's agent has taken
//  the record in, its actions are delivered (audited, if an audit log was set).
void rh_tracker_meeting (rh_tracker_t *self, rh_case_t *record, rh_envelope_t *envelope,
                         rh_meeting_event_t event, int64_t now);

//  The audit log strategy meetings' own records go to (STRATEGY_ACTIONS_DELIVERED). Borrowed.
void rh_tracker_set_audit (rh_tracker_t *self, rh_audit_t *audit);

#endif
