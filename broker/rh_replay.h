/*  =========================================================================
    rh_replay - message-id de-duplication and per-sender sequence windows

    A message id is accepted once. The same id with the same signed header
    again is a duplicate: stored once, acknowledged again (an agent that
    lost an acknowledgement resends). The same id with a different header,
    or a sequence number already used or older than the window, is a
    replay. State lives in the database ("m/<msg id>", "r/<sender>"), so it
    survives restarts; writes join the pending batch.
    =========================================================================
*/
#ifndef RH_REPLAY_H_INCLUDED
#define RH_REPLAY_H_INCLUDED

typedef struct _rh_replay_t rh_replay_t;

//  window: how far below the highest sequence seen a sequence may still arrive (max 64).
rh_replay_t *rh_replay_new (rh_db_t *db, uint32_t window);

void rh_replay_destroy (rh_replay_t **self_p);

//  Checks and, if new, records a message. header_hash is SHA-256 of the signed header bytes.
//  Returns RH_OK (*duplicate false: new; true: seen before with the same header) or RH_E_REPLAY
//  (*why explains).
rh_rc_t rh_replay_check (rh_replay_t *self, const char *sender, const char *msg_id,
                         uint64_t sequence, const uint8_t header_hash [RH_DIGEST_LEN],
                         bool *duplicate, const char **why);

//  The sender of a message accepted earlier, or NULL. Copies into sender (RH_MAX_ID + 1 bytes).
const char *rh_replay_sender_of (rh_replay_t *self, const char *msg_id, char *sender);

//  Call after the pending batch has been committed: forgets the in-batch bookkeeping.
void rh_replay_committed (rh_replay_t *self);

#endif
