/*  =========================================================================
    rh_pruner - forgets the agent's small per-message records once they are
    no longer needed, so that its store does not grow without bound

    The agent keeps, per message, a record that is needed for a while:
    f/NAME (the SHA-256 of a spool file taken in: a file still in outbox/
    after a crash between the commit and its removal is recognised and not
    sent twice), i/MSGID (the header digest of a delivery: it binds a reply
    we send later, and drops the broker's delivery of it again) and h/MSGID
    (the header digest of our own strategy-meeting invitation: it binds the
    meeting's record). Each value is the digest (or nothing) followed by the
    time it was recorded, 8 bytes big-endian. Values written before that
    time was kept (0 or 32 bytes) still read; the first pass stamps them
    with the time it sees them, so that they go a retention after upgrade.

    The pruner walks those records in passes, a bounded step at a time on
    the agent's loop, and deletes i/ and h/ records older than the
    retention, and f/ records older than the guard whose file is no longer
    in outbox/ (made durable first: the folder is flushed before the first
    delete of a step). Its writes go into the store's pending batch; the
    agent commits them with its own. It reads committed values only.
    =========================================================================
*/
#ifndef RH_PRUNER_H_INCLUDED
#define RH_PRUNER_H_INCLUDED

typedef struct _rh_pruner_t rh_pruner_t;

//  Bytes of a record value at most: a digest and its time.
#define RH_PRUNER_VALUE_MAX (RH_DIGEST_LEN + 8)

//  Writes the value of a record made at now_ms holding digest (RH_DIGEST_LEN bytes, or NULL for
//  none) into out. Returns its size.
size_t rh_pruner_value (uint8_t out [RH_PRUNER_VALUE_MAX], const uint8_t *digest, int64_t now_ms);

//  The digest a record value holds, in either form (borrowed from value), or NULL if none.
const uint8_t *rh_pruner_digest (const uint8_t *value, size_t size);

//  True, with *ms, if the value says when it was recorded; false for a value written before
//  records were dated, or one of no known size.
bool rh_pruner_stamp (const uint8_t *value, size_t size, int64_t *ms);

//  Creates a pruner over db (borrowed; it must outlive the pruner) that forgets i/ and h/
//  records keep_ms after they were made, and f/ records guard_ms after they were made once no
//  file of their name is left in the folder outbox. agency names the log lines. Returns NULL on
//  failure.
rh_pruner_t *rh_pruner_new (rh_db_t *db, const char *agency, const char *outbox, int64_t keep_ms,
                            int64_t guard_ms);

void rh_pruner_destroy (rh_pruner_t **self_p);

//  One bounded step: starts a pass when one is due (RH_PRUNER_PASS_MS after the last began),
//  then looks at up to budget records of the pass, adding deletes (and stamps for undated
//  records) to the pending batch. Returns the records it looked at (0: no pass under way).
#define RH_PRUNER_PASS_MS ((int64_t) 3600 * 1000)
size_t rh_pruner_step (rh_pruner_t *self, int64_t now_ms, size_t budget);

//  Records the last complete pass kept (its count at the end of the pass; 0 before the first).
uint64_t rh_pruner_kept (rh_pruner_t *self);

//  Records deleted since the pruner was made.
uint64_t rh_pruner_pruned (rh_pruner_t *self);

//  Passes completed since the pruner was made.
uint64_t rh_pruner_passes (rh_pruner_t *self);

#endif
