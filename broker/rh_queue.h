/*  =========================================================================
    rh_queue - durable per-recipient queues, the agents bound to them, and
    delivery with credit, redelivery, acknowledgement and dead letters

    Keys in the database:
      q/<agency>/<seq>   a message queued for agency (Queued)
      qs/<agency>/<seq>  (empty) it was sent at least once: never dead-lettered
      t/<agency>         last queue sequence given out for agency
      x/<agency>/<seq>   dead letter (Queued, with dead_ms and dead_reason)
      qu/<agency>/<seq>  the agent could not verify q/<agency>/<seq>: first time, alerted, code
      b/seq              the broker's own message sequence

    Writes join the database's pending batch; the owner commits them (group
    commit) and then calls rh_queue_committed, after which rh_queue_pump
    sends what the agents' credit allows. Only committed entries are ever
    delivered. Every delivery, acknowledgement and dead letter has its
    audit record; a dead letter sends its sender a broker-signed
    non-delivery ALERT. The queue knows nothing of cases: an acknowledged
    referral or alert is reported to the caller (rh_queue_ack).

    Slow is not failed: nothing is given up on while it can still be
    delivered. A message becomes a dead letter only when it expires before
    it was ever sent to its recipient; one that was sent (marked under qs/
    when first sent, and its attempts counted whenever it may have reached
    the agent without an acknowledgement coming back) is sent again instead, and the agent
    acknowledges a duplicate by its message id. An agent that is connected
    but silent is sent its unacknowledged deliveries again after
    redeliver_ms, then after twice as long, and so on up to
    RH_MAX_REDELIVER_MS, so that a stalled agent's messages do not pile up
    in the transport; an acknowledgement starts the back-off again.
    =========================================================================
*/
#ifndef RH_QUEUE_H_INCLUDED
#define RH_QUEUE_H_INCLUDED

typedef struct _rh_queue_t rh_queue_t;

//  Sends one frame on a connection. Returns 0, or -1 with errno set (EHOSTUNREACH: the peer
//  has gone).
typedef int (rh_queue_send_fn) (void *arg, const uint8_t *routing_id, size_t routing_id_size,
                                const rh_frame_t *frame);

typedef struct {
    int64_t expiry_ms;     //  default life of a queued message (and of a re-queued dead letter)
    int64_t redeliver_ms;  //  resend unacknowledged deliveries after this long without an answer
    int64_t unverified_alert_ms;  //  a delivery its recipient cannot verify for this long: its
                                  //  sender is told it waits (0: never)
} rh_queue_limits_t;

//  What an acknowledgement took off a queue.
typedef struct {
    uint32_t kind;                //  MessageKind of the message acknowledged
    char msg_id [RH_MAX_ID + 1];  //  its id
    char code [RH_MAX_ID + 1];    //  rh_queue_unverified: the agent's code if it names a result
                                  //  (RH_E_...), else "RH_E_UNKNOWN"
} rh_acked_t;

//  A dead letter, as an operator sees it.
typedef struct {
    char recipient [RH_MAX_ID + 1];
    char msg_id [RH_MAX_ID + 1];
    char sender [RH_MAX_ID + 1];
    int64_t dead_ms;              //  when it was given up on (0: not recorded)
    char reason [RH_MAX_REASON];  //  why ("" if not recorded)
} rh_dead_letter_t;

//  Called for each dead letter listed or re-queued.
typedef void (rh_queue_dead_fn) (void *arg, const rh_dead_letter_t *letter);

//  Creates the queues over db. audit, signer (for notices; may be NULL: then no non-delivery
//  notices) and send are borrowed. Returns NULL on failure.
rh_queue_t *rh_queue_new (rh_db_t *db, rh_audit_t *audit, rh_signer_t *signer,
                          const rh_queue_limits_t *limits, rh_queue_send_fn *send, void *send_arg);

void rh_queue_destroy (rh_queue_t **self_p);

//  Makes sure agency has a queue (reading its tail). Returns 0, or -1 if no more agencies fit.
int rh_queue_reserve (rh_queue_t *self, const char *agency);

//  Puts a message in agency's queue (pending batch). payload_leaf, if not 0, is the audit record
//  (plus one, as rh_audit_decided returns it) that keeps exactly these bytes as its payload: the
//  queue then keeps that reference instead of a second copy. decision, if not NULL, names the
//  agreement and rule that allowed it. Returns 0 or -1.
int rh_queue_enqueue (rh_queue_t *self, const char *agency, const char *msg_id, const char *sender,
                      const uint8_t *sealed, size_t size, uint64_t payload_leaf, int64_t expires_ms,
                      const rh_decision_t *decision, uint32_t kind, int64_t now);

//  The next sequence number for a message the broker signs (stored in the pending batch).
uint64_t rh_queue_next_sequence (rh_queue_t *self);

//  Queues a message the broker wrote and signed (the queue needs its signer), with its NOTICE
//  audit record (detail says what it is; case_id may be NULL). Takes ownership of *sealed_p
//  (NULL: it could not be built, which is logged).
void rh_queue_send_own (rh_queue_t *self, const char *recipient, uint8_t **sealed_p, size_t size,
                        const char *msg_id, uint32_t kind, const char *detail,
                        const rh_decision_t *decision, const char *case_id, int64_t now);

//  An alert the broker itself writes, signs and queues for one agency (alert_kind: an AlertKind
//  name; the rest may be NULL but the summaries). Returns 0, or -1 (logged) if it cannot be made.
typedef struct {
    const char *to;
    const char *alert_kind;
    const char *summary_en;
    const char *summary_cy;
    const char *in_reply_to;  //  the message it is about
    const char *case_id;
    const char *holder;  //  the agency it concerns
    const char *detail;  //  for the audit record
} rh_queue_alert_t;

int rh_queue_send_alert (rh_queue_t *self, const rh_queue_alert_t *alert, int64_t now);

//  An agent said Hello on this connection asking for credit: binds its queue to it and starts
//  again from the head of the queue (everything unacknowledged is sent again; what was in flight
//  has its attempt counted). connection is an opaque token for the transport's connection (the
//  socket descriptor the Hello came on), or -1 if unknown; rh_queue_connection_lost matches it.
//  A credit of 0 binds but sends nothing until a later Hello asks for more (the agent has paused
//  its intake). Returns 0, or -1 if no more agencies fit.
int rh_queue_bind (rh_queue_t *self, const char *agency, const uint8_t *routing_id,
                   size_t routing_id_size, int connection, uint32_t credit);

//  The transport lost a connection: unbinds agency if its latest Hello came on that connection
//  (a token of -1 matches nothing), counting an attempt, durably, on each delivery that was in
//  flight (it may have arrived with its acknowledgement lost, so it is never dead-lettered on
//  expiry). They are sent again when the agent says Hello again. Returns 1 if it unbound the
//  agency, else 0.
int rh_queue_connection_lost (rh_queue_t *self, const char *agency, int connection);

//  True if agency's latest Hello bound this very connection (acknowledgements from any other
//  are ignored).
bool rh_queue_bound_to (rh_queue_t *self, const char *agency, const uint8_t *routing_id,
                        size_t routing_id_size);

//  The agent acknowledged delivery seq: removes it from the queue, with its audit record.
//  Returns 1 and fills acked if it was in flight, else 0.
int rh_queue_ack (rh_queue_t *self, const char *agency, uint64_t seq, rh_acked_t *acked);

//  The agent could not verify delivery seq and did not take it in (an Unverified answer, code
//  RH_E_... and a reason for a person): it is not acknowledged and stays queued, its credit
//  comes back, and it is offered again at the agent's next Hello, after
//  rh_queue_reoffer_unverified, or RH_UNVERIFIED_RETRY_MS after each refusal. Writes an
//  UNVERIFIED audit record; if it still waits after the limits' unverified_alert_ms, its sender
//  gets a broker-signed AWAITING_VERIFICATION alert (once) and the log says so (ids and codes
//  only). Returns 1 and fills which if seq was in flight, else 0 (nothing changes).
int rh_queue_unverified (rh_queue_t *self, const char *agency, uint64_t seq, const char *code,
                         const char *reason, int64_t now, rh_acked_t *which);

//  The agents' trust was refreshed (a new trust bundle): offers agency's deliveries it could not
//  verify again at the next rh_queue_redeliver, or every agency's when agency is NULL. Returns
//  how many are offered again.
size_t rh_queue_reoffer_unverified (rh_queue_t *self, const char *agency);

//  Deliveries agency's agent could not verify and has not acknowledged since.
size_t rh_queue_unverified_count (rh_queue_t *self, const char *agency);

//  True if agency has a bound connection.
bool rh_queue_connected (rh_queue_t *self, const char *agency);

//  The agencies with a bound connection (borrowed names), up to max. Returns how many.
size_t rh_queue_bound_agencies (rh_queue_t *self, const char **agencies, size_t max);

//  Forgets every connection (the transport closed them all), counting an attempt on everything
//  in flight; each agent's next Hello binds again.
void rh_queue_unbind_all (rh_queue_t *self);

//  Sends a frame to every bound agent.
void rh_queue_broadcast (rh_queue_t *self, const rh_frame_t *frame);

//  Call after the pending batch has been committed: what was queued may now be delivered.
void rh_queue_committed (rh_queue_t *self);

//  Sends what each agent's credit allows. A message past its expiry that was never sent becomes
//  a dead letter; one that was sent is sent again. Call with everything written before it
//  committed (as the broker's loop does).
void rh_queue_pump (rh_queue_t *self, int64_t now);

//  Sends again the unacknowledged deliveries of every connected agent that has not
//  acknowledged anything for its current back-off (redeliver_ms, doubling after each resend up to
//  RH_MAX_REDELIVER_MS, back to redeliver_ms on an acknowledgement). Counts an attempt on each.
//  Offers again the deliveries an agent could not verify that are due, and sends the
//  awaiting-verification alerts that are due (see rh_queue_unverified).
void rh_queue_redeliver (rh_queue_t *self, int64_t now);

//  Calls fn for each dead letter (committed), by recipient then age. Returns how many, or -1 if
//  the store cannot be read.
int rh_queue_dead_letters (rh_queue_t *self, rh_queue_dead_fn *fn, void *arg);

//  Moves the dead letters with msg_id (every recipient's), or all of them when msg_id is NULL,
//  back to the end of their recipients' queues with a fresh expiry (now + expiry_ms) and no
//  attempts, each with a REQUEUED audit record whose detail names who (the operator and tool).
//  fn, if not NULL, is called for each. Writes join the pending batch: the caller commits them.
//  Returns how many were re-queued, or -1 on failure (then commit nothing).
int rh_queue_requeue (rh_queue_t *self, const char *msg_id, const char *who, int64_t now,
                      rh_queue_dead_fn *fn, void *arg);

//  What an operator watches of one agency's queue (rh_queue_figures).
typedef struct {
    const char *agency;     //  borrowed
    bool connected;         //  an agent is bound
    uint64_t queued;        //  committed entries waiting (counted up to RH_MAX_FIGURES_SCAN)
    bool queued_capped;     //  more than that: queued is the span from head to tail
    int64_t oldest_ms;      //  when the oldest waiting entry was queued (0: none)
    uint64_t in_flight;     //  sent, not yet acknowledged
    uint64_t unverified;    //  the agent could not verify them
    uint64_t dead_letters;  //  given up on (counted up to RH_MAX_FIGURES_SCAN)
} rh_queue_figures_t;

typedef void (rh_queue_figures_fn) (void *arg, const rh_queue_figures_t *figures);

//  Calls fn for every agency that has ever had a queue in the store or is connected now, in
//  the order they became known. Reads committed entries only; the cost is bounded by
//  RH_MAX_FIGURES_SCAN keys per agency. Returns how many agencies.
int rh_queue_figures (rh_queue_t *self, rh_queue_figures_fn *fn, void *arg);

#endif
