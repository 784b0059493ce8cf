/*  =========================================================================
    rh_lateral - lateral checks: information requests to partners, their
    reply-by times, reminders, overdue alerts and the responses that close
    them, and the rule that a response is not shared onward

    An accepted INFO_REQUEST is tracked for each partner it was sent to,
    with the request's reply_by_ms (held to RH_MAX_LATERAL_REPLY_DAYS). The
    partner is reminded RH_LATERAL_REMIND_PERCENT of the way from the
    request to the reply-by time; when the reply-by time passes unanswered
    the requester and the partner are alerted. An INFO_RESPONSE from the
    partner answering the request (in_reply_to, else original_msg_id) is
    linked to it and closes it: answered, or answered late, with whether
    the person is known to the partner's service. Each partner's check has
    its own lifecycle, declared once as a table in rh_lateral.c. Deadlines
    run on the broker's clock (simulated in tests).

    A response goes to the requester only. A message that relays it (its
    in_reply_to or thread_id names the response) to any agency other than
    the partner that answered is refused, typed (RH_E_POLICY, missing
    "onward") and audited, unless the agreement rule allowing that
    recipient says onward: true. The same holds for a response addressed
    to anyone beside the requester.

    Keys in the database:
      lq/<request msg id>/<partner>        one partner's check (LateralCheck)
      ld/<due, 16 hex>/<request msg id>/<partner>/<timer>  its deadlines
      lr/<response msg id>                 the check a response closed:
                                           <request msg id>/<partner>

    Audit records (each under the request's case id, so that the case's
    chronology shows them): LATERAL_REQUESTED (the partners and reply-by
    time), LATERAL_OVERDUE (one partner's reply-by time passed),
    LATERAL_ANSWERED (a response linked: in time or late, known to the
    service or not). Writes join the database's pending batch.
    =========================================================================
*/
#ifndef RH_LATERAL_H_INCLUDED
#define RH_LATERAL_H_INCLUDED

typedef struct _rh_lateral_t rh_lateral_t;

//  One partner's part in a lateral check.
typedef struct {
    char request_msg_id [RH_MAX_ID + 1];
    char requester [RH_MAX_ID + 1];
    char recipient [RH_MAX_ID + 1];  //  the partner asked
    char case_id [RH_MAX_ID + 1];
    char author [RH_MAX_ID + 1];  //  the requesting practitioner's id
    uint32_t state;               //  LateralState
    int64_t requested_ms;
    int64_t reply_by_ms;  //  0: none given
    int64_t remind_ms;    //  pending reminder, 0: none
    char response_msg_id [RH_MAX_ID + 1];
    int64_t answered_ms;
    bool known_to_service;
} rh_lateral_check_t;

//  What happens to a check (the columns of its lifecycle table).
typedef enum {
    RH_LATERAL_REMIND = 0,  //  the reminder time came
    RH_LATERAL_DUE = 1,     //  the reply-by time passed
    RH_LATERAL_ANSWER = 2,  //  the partner's response came
    RH_LATERAL_EVENTS
} rh_lateral_event_t;

//  How a message bears on the lateral checks.
typedef enum {
    RH_LATERAL_NONE = 0,  //  not at all
    RH_LATERAL_RESPONSE,  //  an INFO_RESPONSE answering a check of its sender
    RH_LATERAL_RELAY      //  a message naming a response (in_reply_to or thread_id)
} rh_lateral_match_t;

//  Creates the lateral checks. Everything is borrowed; store is the owner's slot (swapped on
//  reload). Returns NULL on failure.
rh_lateral_t *rh_lateral_new (rh_db_t *db, rh_queue_t *queue, rh_audit_t *audit,
                              rh_signer_t *signer, rh_certstore_t *const *store);

void rh_lateral_destroy (rh_lateral_t **self_p);

//  The state after event from state, or 0 if the event does not apply there (the table).
uint32_t rh_lateral_next (uint32_t state, rh_lateral_event_t event);

//  An INFO_REQUEST from requester was accepted for the count partners named: each is tracked.
//  Does nothing for another kind.
void rh_lateral_open (rh_lateral_t *self, rh_envelope_t *envelope, const char *requester,
                      const char *const *recipients, size_t count, int64_t now);

//  Reads one partner's check. Returns true if found.
bool rh_lateral_get (rh_lateral_t *self, const char *request_msg_id, const char *recipient,
                     rh_lateral_check_t *check);

//  Whether a message from sender bears on a check, and which (filled unless RH_LATERAL_NONE).
rh_lateral_match_t rh_lateral_match (rh_lateral_t *self, rh_envelope_t *envelope,
                                     const char *sender, rh_lateral_check_t *check);

//  Whether a matched message is refused: a second answer to a check, or a response shared
//  beyond the requester (a relay: beyond the partner that answered) where the decision for
//  that recipient does not allow it onward. Returns true and fills refusal (its strings live
//  in it) and *refused_recipient (an entry of recipients, or the requester). Without lateral
//  checks (self NULL) or a match, nothing is refused.
bool rh_lateral_refused (rh_lateral_t *self, rh_lateral_match_t match,
                         const rh_lateral_check_t *check, const char *const *recipients,
                         const rh_decision_t *decisions, size_t count, rh_decision_t *refusal,
                         const char **refused_recipient);

//  An accepted response closes its check: answered (or answered late), audited, indexed under
//  the response's id for the onward rule.
void rh_lateral_answer (rh_lateral_t *self, rh_lateral_check_t *check, rh_envelope_t *envelope,
                        int64_t now);

//  Fires every reminder and reply-by time due at now, committing as it goes.
void rh_lateral_fire (rh_lateral_t *self, int64_t now);

//  Counts the checks kept (open: not answered), for status lines and tests.
size_t rh_lateral_count (rh_lateral_t *self, size_t *open);

#endif
