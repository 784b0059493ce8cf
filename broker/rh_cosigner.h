/*  =========================================================================
    rh_cosigner - submits the broker's checkpoints to its witnesses

    Each committed checkpoint goes to every configured witness as a
    c2sp.org/tlog-witness add-checkpoint request (the checkpoint as a
    signed note, the witness's last cosigned size and the consistency
    proof from it). The HTTP requests run on a thread of their own: the
    main loop hands it one job at a time over an inproc pair without ever
    blocking (one credit: a job is built only when the last one has come
    back), so a slow or dead witness never holds up routing.

    Everything that touches the database stays on the main loop: proofs
    are read when a job is built, and what comes back is kept there
    (cosignature lines with the checkpoint under ck/, the broker's own
    signature line of the note beside it under cn/ once a witness has
    cosigned, each witness's last cosigned size under wc/<witness name>). A 409 gives the witness's size
    and the checkpoint is sent again at once with the right proof; a
    witness that cannot be reached or refuses is tried again with backoff
    (RH_WITNESS_BACKOFF_*), and only the change is logged and audited
    (WITNESS_UNREACHABLE, WITNESS_REFUSED, then WITNESS_BACK), never each
    attempt.

    The other regions' brokers of a federation witness this log too, over
    their links rather than HTTP: the broker asks for the next request for
    a peer (rh_cosigner_peer_request, one out at a time per peer), sends it
    as a WitnessRequest and hands the WitnessReply back here; a peer's
    answers are treated exactly as an HTTP witness's.
    =========================================================================
*/
#ifndef RH_COSIGNER_H_INCLUDED
#define RH_COSIGNER_H_INCLUDED

typedef struct _rh_cosigner_t rh_cosigner_t;

//  Starts the request thread for the witnesses in config (witness/urls, witness/keys in the
//  same order, witness/origin; no URLs: only federated brokers witness). Returns NULL on failure
//  (logged): a bad key, counts that differ, more than RH_MAX_WITNESSES, an invalid origin. db,
//  audit and signer are borrowed.
rh_cosigner_t *rh_cosigner_new (void *context, rh_config_t *config, rh_db_t *db, rh_audit_t *audit,
                                rh_signer_t *signer);

//  Stops the thread (an HTTP request in progress is abandoned) and frees everything.
void rh_cosigner_destroy (rh_cosigner_t **self_p);

//  The socket the main loop polls (ZMQ_POLLIN) for results.
void *rh_cosigner_socket (rh_cosigner_t *self);

//  Submits checkpoint (committed) to the witnesses that have not cosigned it and are due, if no
//  job is out. Never blocks.
void rh_cosigner_tick (rh_cosigner_t *self, const rh_checkpoint_t *checkpoint, int64_t now_ms);

//  Takes a result, if one came: keeps the cosignatures that verify (pending batch). Returns 1
//  if a cosignature was kept, 0 if not, -1 if no result was waiting.
int rh_cosigner_receive (rh_cosigner_t *self, int64_t now_ms);

//  At a clean stop: submits checkpoint and waits (at most wait_ms) for the witnesses that
//  answer, so the last checkpoint is witnessed too. Cosignatures join the pending batch.
void rh_cosigner_flush (rh_cosigner_t *self, const rh_checkpoint_t *checkpoint, int64_t wait_ms);

//  Adds region's broker as a witness asked over its link, whose cosignatures verify with vkey
//  (its BROKER key, its region's log_origin as the name), or changes its key. Returns 0, or -1
//  when there is no room (RH_MAX_FED_REGIONS).
int rh_cosigner_peer_add (rh_cosigner_t *self, const char *region, const rh_note_vkey_t *vkey);

//  Stops asking region's broker (its region left the federation, or no longer witnesses).
void rh_cosigner_peer_remove (rh_cosigner_t *self, const char *region);

//  The add-checkpoint request region's broker is due for checkpoint (committed), from the size
//  it last cosigned. Returns 1 with *body (caller frees), 0 if none is due (it has cosigned it,
//  it is backing off, or a request is out and not yet timed out: RH_WITNESS_TIMEOUT_MS), -1 if
//  one cannot be built (logged).
int rh_cosigner_peer_request (rh_cosigner_t *self, const char *region,
                              const rh_checkpoint_t *checkpoint, int64_t now_ms, char **body,
                              size_t *body_size);

//  True while region's broker has a request out for checkpoint (not yet timed out) or one is
//  due: what a clean stop waits for.
bool rh_cosigner_peer_pending (rh_cosigner_t *self, const char *region,
                               const rh_checkpoint_t *checkpoint, int64_t now_ms);

//  The link to region went down: the request out will not be answered.
void rh_cosigner_peer_lost (rh_cosigner_t *self, const char *region);

//  region's broker answered the request out (status and body of its WitnessReply, body
//  NUL-terminated). Returns 1 if a cosignature was kept, 0 if not.
int rh_cosigner_peer_answer (rh_cosigner_t *self, const char *region, long status, const char *body,
                             size_t body_size, int64_t now_ms);

//  The vkey text of the broker's checkpoint note key (what a witness's logs/vkeys lists).
const char *rh_cosigner_log_vkey (rh_cosigner_t *self);

#endif
