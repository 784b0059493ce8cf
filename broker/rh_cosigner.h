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
    =========================================================================
*/
#ifndef RH_COSIGNER_H_INCLUDED
#define RH_COSIGNER_H_INCLUDED

typedef struct _rh_cosigner_t rh_cosigner_t;

//  Starts the request thread for the witnesses in config (witness/urls, witness/keys in the
//  same order, witness/origin). Returns NULL on failure (logged): a bad key, counts that differ,
//  more than RH_MAX_WITNESSES, an invalid origin. db, audit and signer are borrowed.
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

//  The vkey text of the broker's checkpoint note key (what a witness's logs/vkeys lists).
const char *rh_cosigner_log_vkey (rh_cosigner_t *self);

#endif
