/*  =========================================================================
    rh_peerlogs - the other regions' audit logs, as this broker sees them:
    where each stood, and this broker's witnessing of them

    A federated region's broker sends its signed checkpoints over its link.
    Each new one (larger than the last, signed by that region's BROKER
    certificate) is audited here once as PEER_CHECKPOINT (or, when this
    broker witnesses that log, as PEER_COSIGNED once it is cosigned), at
    most one record per region per RH_PEER_RECORD_MS, and its size is kept
    (pc/REGION), so a restart does not audit it again and a crossing can
    say where the other log stood when it arrived.

    Cross-witnessing: when the federation agreement names a log_origin for
    this broker's region and for another, this broker is a c2sp.org
    tlog-witness of that region's log (rh_witness, one per region, keyed
    by the other broker's BROKER key under its log_origin; state under
    pw/ORIGIN in the store). It cosigns a checkpoint only if it extends
    the one it cosigned before (a consistency proof), with its own BROKER
    key under its own region's log_origin. The state is written in the
    step's batch and the answer held until the group commit has made it
    durable (rh_peerlogs_flush), as for an Accepted. Cosigned checkpoints
    are audited as PEER_COSIGNED; a checkpoint that does not extend the
    cosigned one is refused (422) and audited as PEER_COSIGN_REFUSED with
    RH_E_FORK, once per state: the other region's log forked or was rolled
    back.
    =========================================================================
*/
#ifndef RH_PEERLOGS_H_INCLUDED
#define RH_PEERLOGS_H_INCLUDED

typedef struct _rh_peerlogs_t rh_peerlogs_t;

//  db and audit are borrowed; signer's key is copied (wiped on destroy) to cosign with.
//  Returns NULL on failure.
rh_peerlogs_t *rh_peerlogs_new (rh_db_t *db, rh_audit_t *audit, rh_signer_t *signer);

void rh_peerlogs_destroy (rh_peerlogs_t **self_p);

//  Follows the federation agreement in force (peers NULL: none): witnesses the log of every
//  other region that names a log_origin, if ours names one too, with that region's BROKER key
//  valid at now_ms. A held answer of a region no longer witnessed is dropped.
void rh_peerlogs_sync (rh_peerlogs_t *self, const rh_peers_t *peers, int64_t now_ms);

//  The cosignature vkey this broker witnesses with (name: our region's log_origin), or NULL
//  when it witnesses nobody.
const rh_note_vkey_t *rh_peerlogs_vkey (rh_peerlogs_t *self);

//  A Checkpoint region's broker sent at now_ms: kept if it is newer than the last and verifies
//  against the BROKER certificate in store, and audited (at most once per RH_PEER_RECORD_MS).
void rh_peerlogs_checkpoint (rh_peerlogs_t *self, const rh_fed_region_t *region,
                             rh_certstore_t *store, const rh_checkpoint_t *checkpoint,
                             int64_t now_ms);

//  Audit records written here since start. The broker signs no checkpoint for these alone:
//  otherwise two idle brokers would checkpoint forever, each recording the other's.
uint64_t rh_peerlogs_appended (rh_peerlogs_t *self);

//  The size of region's log at its last checkpoint audited here (0: none yet).
uint64_t rh_peerlogs_size (rh_peerlogs_t *self, const char *region);

//  A WitnessRequest region's broker sent on routing_id: decided now, answered by
//  rh_peerlogs_flush after the next commit. A region this broker does not witness is answered
//  404 the same way. A second request while one answer is held is not read: the other broker
//  asks one at a time, and asks again when no answer comes.
void rh_peerlogs_witness (rh_peerlogs_t *self, const char *region, const uint8_t *routing_id,
                          size_t routing_id_size, const uint8_t *body, size_t size, int64_t now_ms);

//  Answers held for the commit.
size_t rh_peerlogs_held (rh_peerlogs_t *self);

//  Sends the answers held (on router, to each request's connection). Call only once the
//  step's batch is committed with sync.
void rh_peerlogs_flush (rh_peerlogs_t *self, rh_router_t *router);

#endif
