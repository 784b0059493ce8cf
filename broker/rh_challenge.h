/*  =========================================================================
    rh_challenge - professional challenge: the escalation protocol

    An agency involved in a case challenges the front door's decision with a
    CHALLENGE message naming the OUTCOME (in_reply_to, decision_msg_id). The
    agreement of the case declares the levels (challenge: levels:), each with
    the role that answers and how long it has. The challenge goes to the
    level's responders; if they have not answered (a STATUS_UPDATE of kind
    CHALLENGE_RESPONDED in reply to the challenge) by the level's deadline on
    the broker's clock, the broker moves it to the next level and alerts
    that level's role and the challenger (CHALLENGE_ESCALATED); after the
    last level it is recorded as unresolved (CHALLENGE_UNRESOLVED). Each step
    is an audit record under the case (CHALLENGE_RAISED, _ESCALATED,
    _UNRESOLVED, _RESPONDED). The challenge's own lifecycle is declared once,
    as a table, in rh_challenge.c; replay walks the same table.

    Keys in the database:
      cg/<challenge msg id>              the challenge (ChallengeRecord)
      cgd/<due, 16 hex digits>/<id>      its level's deadline, by due time
      cgo/<outcome msg id>               an outcome that may be challenged: its referral
    =========================================================================
*/
#ifndef RH_CHALLENGE_H_INCLUDED
#define RH_CHALLENGE_H_INCLUDED

typedef struct _rh_challenge_t rh_challenge_t;

//  What happens to a challenge.
typedef enum {
    RH_CHALLENGE_RAISE,        //  the broker accepted the CHALLENGE
    RH_CHALLENGE_RESPOND,      //  the level's responder answered it
    RH_CHALLENGE_MISSED,       //  a level's deadline passed and a further level remains
    RH_CHALLENGE_LAST_MISSED,  //  the last level's deadline passed
    RH_CHALLENGE_EVENTS
} rh_challenge_event_t;

#define RH_CHALLENGE_IGNORED UINT32_MAX  //  the event does not apply in that state

//  The broker's record of one challenge.
typedef struct {
    char challenge_msg_id [RH_MAX_ID + 1];
    char decision_msg_id [RH_MAX_ID + 1];
    char referral_msg_id [RH_MAX_ID + 1];
    char case_id [RH_MAX_ID + 1];
    char challenger [RH_MAX_ID + 1];
    char holder [RH_MAX_ID + 1];
    char agreement_id [RH_MAX_ID + 1];
    uint32_t state;  //  ChallengeState
    uint32_t level;  //  1-based
    int64_t raised_ms;
    int64_t due_ms;  //  0: no deadline runs (answered, or unresolved)
    int64_t responded_ms;
    uint32_t outcome;  //  ChallengeOutcome
    char responder [RH_MAX_ID + 1];
} rh_challenge_record_t;

//  The state (ChallengeState) after event, RH_CHALLENGE_IGNORED if it does not apply. A state
//  the table does not know takes no event.
uint32_t rh_challenge_next (uint32_t state, rh_challenge_event_t event);

//  Creates the class. Everything is borrowed; store and policy are the owner's slots, read on
//  every use. Returns NULL on failure.
rh_challenge_t *rh_challenge_new (rh_db_t *db, rh_cases_t *cases, rh_queue_t *queue,
                                  rh_audit_t *audit, rh_signer_t *signer,
                                  rh_certstore_t *const *store, rh_policy_t *const *policy);

void rh_challenge_destroy (rh_challenge_t **self_p);

//  The holder's outcome on a case was accepted: a challenge may name it from now on.
void rh_challenge_decided (rh_challenge_t *self, const char *outcome_msg_id,
                           const char *referral_msg_id);

//  Decides whether sender may send this CHALLENGE, or this CHALLENGE_RESPONDED update, now.
//  Returns true (refusal filled, its strings in it) if not. Otherwise fills to with the
//  agencies the broker adds as recipients (a challenge: its level's responders), at most max,
//  valid until the next call, and returns false. Other messages: false, nothing added.
bool rh_challenge_check (rh_challenge_t *self, rh_envelope_t *envelope, const rh_facts_t *facts,
                         const char *sender, int64_t now, const char **to, size_t *to_count,
                         size_t max, rh_decision_t *refusal);

//  A message rh_challenge_check let through was accepted as msg_id: a challenge is raised, or
//  the answer recorded (each with its audit record). Other messages change nothing.
void rh_challenge_accepted (rh_challenge_t *self, rh_envelope_t *envelope, const rh_facts_t *facts,
                            const char *msg_id, const char *sender, int64_t now);

//  Fires every challenge deadline due at now: escalation to the next level, or unresolved.
//  Commits as it goes (the due-time index is read from committed data).
void rh_challenge_fire (rh_challenge_t *self, int64_t now);

//  The challenge with this message id. Returns true and fills record if there is one.
bool rh_challenge_get (rh_challenge_t *self, const char *challenge_msg_id,
                       rh_challenge_record_t *record);

#endif
