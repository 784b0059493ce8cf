/*  =========================================================================
    rh_dedup - message-id de-duplication and per-sender sequence numbers

    A message id is accepted once. The same id with the same signed header
    again is a duplicate: stored once, acknowledged again (an agent that
    lost an acknowledgement resends). The same id with a different header
    is a replay, and so is a sequence number the sender already used for
    another message, or one below the sender's floor: in every Hello an
    agent declares the sequence below which all its messages have been
    answered, so nothing below it can be a legitimate resend. (A fixed
    window would refuse legitimate resends after a long outage.) State lives
    in the database ("m/<msg id>", "r/<sender>", "s/<sender>/<seq>"), so it
    survives restarts; writes join the pending batch.
    =========================================================================
*/
#ifndef RH_DEDUP_H_INCLUDED
#define RH_DEDUP_H_INCLUDED

typedef struct _rh_dedup_t rh_dedup_t;

rh_dedup_t *rh_dedup_new (rh_db_t *db);

void rh_dedup_destroy (rh_dedup_t **self_p);

//  Checks and, if new, records a message. header_hash is SHA-256 of the signed header bytes.
//  Returns RH_OK (*duplicate false: new; true: seen before with the same header) or RH_E_REPLAY
//  (*why explains), or RH_E_IO / RH_E_NOMEM.
rh_rc_t rh_dedup_check (rh_dedup_t *self, const char *sender, const char *msg_id, uint64_t sequence,
                        const uint8_t header_hash [RH_DIGEST_LEN], bool *duplicate,
                        const char **why);

//  Raises the sender's floor (a floor never goes down) and forgets the sequence numbers below
//  it. Call when an authenticated agent says Hello. Returns 0 or -1.
int rh_dedup_set_floor (rh_dedup_t *self, const char *sender, uint64_t floor);

//  The sender of a message accepted earlier, or NULL. Copies into sender (RH_MAX_ID + 1 bytes).
const char *rh_dedup_sender_of (rh_dedup_t *self, const char *msg_id, char *sender);

//  The SHA-256 of the signed header of a message accepted earlier, into header_hash; false
//  if the message is not known. What a reply's in_reply_sha256 must equal.
bool rh_dedup_header_of (rh_dedup_t *self, const char *msg_id, uint8_t header_hash [RH_DIGEST_LEN]);

//  True if sealed is a resend of a message accepted earlier: sender's own msg_id again with the
//  very signed header accepted then (compared by SHA-256). Such a submission needs no second
//  signature check, only its acknowledgement again, so resends stay cheap for a broker under
//  load. Anything else (unknown id, another sender, other header, bytes that do not decode) is
//  false, and goes the whole way through verification.
bool rh_dedup_is_resend (rh_dedup_t *self, const char *sender, const char *msg_id,
                         const uint8_t *sealed, size_t size);

//  Call after the pending batch has been committed: forgets the in-batch bookkeeping.
void rh_dedup_committed (rh_dedup_t *self);

#endif
