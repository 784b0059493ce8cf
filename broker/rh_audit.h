/*  =========================================================================
    rh_audit - the broker's audit log: an RFC 6962 Merkle tree in LevelDB

    Keys:
      a/<seq>              leaf: the encoded AuditRecord (seq, event, code, ids,
                           decisions, payload_sha256 — never the message itself)
      ap/<seq>             payload: the signed message the record is about;
                           erasable (personal data) without breaking the tree,
                           since the leaf keeps only its SHA-256
      mt/<level>/<index>   hash of every complete subtree (level 0: leaf hashes),
                           so roots and proofs read O(log n) keys
      ck/<size>            signed checkpoints (Checkpoint: size, root, time, and the
                           witnesses' cosignatures as they come); each is named by
                           the leaf right after the tree it signs (a CHECKPOINT
                           record at seq = size), so that the tree itself says
                           which checkpoints must be there
    Appends join the database's pending batch: records, nodes and
    checkpoints become durable in the same group commit as the queue writes
    they describe.
    =========================================================================
*/
#ifndef RH_AUDIT_H_INCLUDED
#define RH_AUDIT_H_INCLUDED

typedef struct _rh_audit_t rh_audit_t;

//  Opens the log in db, finding its size and right edge. Returns NULL if the stored tree does
//  not match its leaves' count.
rh_audit_t *rh_audit_new (rh_db_t *db);
void rh_audit_destroy (rh_audit_t **self_p);

//  Appends a record: seq and at_ms are filled in here; record->sealed, if set, is stored apart
//  as the payload and its SHA-256 goes into the leaf. Returns 0 or -1.
int rh_audit_append (rh_audit_t *self, rh_audit_record_t *record);

//  As rh_audit_append, with the record's time given (at_ms) instead of the clock's: for tools
//  that write a log of times past through the broker's own code (the bench's generated year).
int rh_audit_append_at (rh_audit_t *self, rh_audit_record_t *record, int64_t at_ms);

//  Appends a record of what the broker did: event, result code, message, agency, recipients,
//  the message itself (sealed, stored apart as the payload, or NULL), the SHA-256 of a frame
//  that did not parse, a detail sentence, the policy decisions and the case. A failure is
//  logged, not returned: the group commit that follows decides what is acknowledged. Returns
//  the record's position plus one (what rh_audit_payload and queues refer to), or 0 on failure.
uint64_t rh_audit_decided (rh_audit_t *self, const char *event, rh_rc_t rc, const char *msg_id,
                           const char *agency, const char *const *recipients,
                           size_t recipient_count, const uint8_t *sealed, size_t sealed_size,
                           const uint8_t *frame_sha256, const char *detail,
                           const rh_audit_decision_t *decisions, size_t decision_count,
                           const char *case_id);

//  As rh_audit_decided, without decisions or case.
uint64_t rh_audit_event (rh_audit_t *self, const char *event, rh_rc_t rc, const char *msg_id,
                         const char *agency, const char *const *recipients, size_t recipient_count,
                         const uint8_t *sealed, size_t sealed_size, const uint8_t *frame_sha256,
                         const char *detail);

//  Reads the payload kept with record seq (committed). Returns 0 and a new buffer (free it), 1 if
//  none is kept (never, or erased), or -1 if it cannot be read.
int rh_audit_payload (rh_db_t *db, uint64_t seq, uint8_t **payload, size_t *size);

//  Records in the log (committed and pending).
uint64_t rh_audit_size (rh_audit_t *self);

//  Signs a checkpoint of the tree as it is now (size, root, time) with the broker's key, stores
//  it under ck/ and appends the CHECKPOINT record that names it (so the log grows by one).
//  Returns 0 (also when nothing was appended since the last checkpoint's own record: nothing
//  new to sign) or -1.
int rh_audit_checkpoint (rh_audit_t *self, rh_signer_t *signer, int64_t now_ms);

//  Keeps a witness's cosignature line ("— name base64\n", already checked) with the stored
//  checkpoint of size, for the origin it was cosigned under (pending batch). Returns 0 (also if
//  the line is kept already) or -1 (no such checkpoint, or no room left).
int rh_audit_cosigned (rh_audit_t *self, uint64_t size, const char *origin, const char *line);

//  Keeps the broker's own signature line of the checkpoint note of size (the note its witnesses
//  cosigned: "— origin base64\n") beside that checkpoint, under cn/<size> (pending batch), so
//  an evidence bundle can carry the complete signed note. Returns 0 or -1 (too long).
int rh_audit_note_signed (rh_audit_t *self, uint64_t size, const char *line);

//  The broker's note signature line kept for the checkpoint of size, NUL-terminated, into line.
//  Returns 1, 0 if none is kept (checkpoints witnessed before the line was kept have none), or
//  -1 if it cannot be read or is not a line that fits.
int rh_audit_note_signature (rh_db_t *db, uint64_t size, char *line, size_t max);

//  The last checkpoint signed (returns false if none yet).
bool rh_audit_last_checkpoint (rh_audit_t *self, rh_checkpoint_t *checkpoint);

//  The latest checkpoint stored in a (committed) log, for readers such as rhannu-audit.
//  Returns false if there is none that decodes.
bool rh_audit_latest_checkpoint (rh_db_t *db, rh_checkpoint_t *checkpoint);

//  Decodes a checkpoint as stored under ck/ (by a reader walking those keys, such as the
//  evidence bundle's). Returns false if it is not well formed.
bool rh_audit_checkpoint_decode (const uint8_t *value, size_t size, rh_checkpoint_t *checkpoint);

//  Size of the last checkpoint written (0 if none).
uint64_t rh_audit_checkpointed (rh_audit_t *self);

//  Proofs from the committed tree (RFC 6962): the audit path of record index in the tree of
//  size records, and the consistency proof from old_size to size. Return the number of hashes
//  written (at most RH_MERKLE_MAX_PROOF), or -1.
int rh_audit_inclusion_proof (rh_db_t *db, uint64_t index, uint64_t size,
                              uint8_t (*proof) [RH_DIGEST_LEN]);
int rh_audit_consistency_proof (rh_db_t *db, uint64_t old_size, uint64_t size,
                                uint8_t (*proof) [RH_DIGEST_LEN]);

//  The root of the committed tree of size records. Returns 0 or -1.
int rh_audit_root (rh_db_t *db, uint64_t size, uint8_t root [RH_DIGEST_LEN]);

//  What a verification found.
typedef struct {
    uint64_t count;        //  records read
    uint64_t bad;          //  first bad record, when the result is not RH_OK
    uint64_t checkpoints;  //  checkpoints whose root matched (and signature, with a store)
    uint64_t erased;       //  payloads no longer stored that an erasure record covers
    uint64_t messages;     //  payloads stored (the signatures rhannu-audit checks)
    uint8_t root [RH_DIGEST_LEN];
    char reason [160];
} rh_audit_check_t;

//  Walks the committed log: every record in order with the right sequence, every leaf hash
//  equal to the stored tree's, every payload a leaf names stored and matching it (a missing one
//  is damage unless an erasure record covers it) and none stored that no leaf names, every checkpoint's root (and, when store is
//  not NULL, its signature by a broker certificate) matching the recomputed tree, every
//  checkpoint a CHECKPOINT record names present, and no checkpoint beyond the end. A key LevelDB
//  cannot read fails the walk there. Returns RH_OK or RH_E_MALFORMED (check->bad and
//  check->reason say where and what).
rh_rc_t rh_audit_verify (rh_db_t *db, rh_certstore_t *store, rh_audit_check_t *check);

//  As rh_audit_verify, calling progress (if not NULL) with arg and check as it stands (count:
//  records walked so far, messages: stored messages met so far) every few thousand records and
//  at the end, for long runs.
typedef void (rh_audit_progress_fn) (void *arg, const rh_audit_check_t *check);
rh_rc_t rh_audit_verify_progress (rh_db_t *db, rh_certstore_t *store, rh_audit_check_t *check,
                                  rh_audit_progress_fn *progress, void *arg);

//  Called for every stored message as the walk meets it, once it matched the digest its record
//  names: the record and the message's bytes, both borrowed for the call. Returns RH_OK to go
//  on; anything else stops the walk at that record (check->reason then only says where: the
//  callee knows why).
typedef rh_rc_t (rh_audit_message_fn) (void *arg, const rh_audit_record_t *record,
                                       const uint8_t *message, size_t size);

//  Called once for each message payload no longer stored that an ERASURE record covers: its
//  record, and the ERASURE record's, in log order, after a walk that found nothing wrong. A
//  missing payload no ERASURE record names (by record and SHA-256) fails the walk as damage.
typedef void (rh_audit_erased_fn) (void *arg, uint64_t seq, uint64_t by);

//  What rh_audit_verify_hooked calls as it walks (each may be NULL), with arg.
typedef struct {
    rh_audit_progress_fn *progress;  //  as for rh_audit_verify_progress
    rh_audit_message_fn *message;    //  every stored message, in order
    rh_audit_erased_fn *erased;      //  every lawfully erased message, at the end
    void *arg;
} rh_audit_hooks_t;

//  As rh_audit_verify, calling hooks (or none if NULL): the one walk over the log that reads
//  each record and each stored message once, for callers that check more of each message. A
//  message hook's refusal is returned as it gave it, with check->bad at that record.
rh_rc_t rh_audit_verify_hooked (rh_db_t *db, rh_certstore_t *store, rh_audit_check_t *check,
                                const rh_audit_hooks_t *hooks);

//  Prints every committed record, one line each (seq, time, event, code, message, agency,
//  recipients, detail) with its policy decisions. Returns the number printed, or -1.
int64_t rh_audit_print (rh_db_t *db, FILE *out);

#endif
