/*  =========================================================================
    rh_audit - the broker's audit log: an RFC 6962 Merkle tree in LevelDB
    =========================================================================
*/
#include "rh_broker_classes.h"
#include "rhannu.pb-c.h"

struct _rh_audit_t {
    rh_db_t *db;               //  borrowed
    rh_merkle_builder_t tree;  //  the right edge: one complete subtree per set bit of the size
    uint64_t checkpointed;     //  size of the last checkpoint
    uint64_t marked;           //  size once the last checkpoint's own record was appended
    rh_checkpoint_t last;      //  the last checkpoint (size 0: none yet)
};

static void
s_leaf_key (uint64_t seq, char *key, size_t size)
{
    snprintf (key, size, "a/%020" PRIu64, seq);
}

static void
s_node_key (unsigned level, uint64_t index, char *key, size_t size)
{
    snprintf (key, size, "mt/%02u/%016" PRIx64, level, index);
}

//  Complete subtrees are stored for every leaf (level 0: the record's hash, which verification
//  checks record by record) and at levels that are multiples of this (16, 256, ... leaves):
//  about 1.07 nodes per record instead of 2, and any other node is at most 8 reads and 7 hashes
//  away (proofs are rare; appends are not).
#define S_NODE_STRIDE 4

//  The hash of the complete subtree at level, index: stored, or made from its children.
static int
s_read_node (void *arg, unsigned level, uint64_t index, uint8_t out [RH_DIGEST_LEN])
{
    if (level % S_NODE_STRIDE != 0) {
        uint8_t left [RH_DIGEST_LEN], right [RH_DIGEST_LEN];
        if (s_read_node (arg, level - 1, index * 2, left) != 0
            || s_read_node (arg, level - 1, index * 2 + 1, right) != 0)
            return -1;
        rh_merkle_node_hash (left, right, out);
        return 0;
    }
    char key [48];
    s_node_key (level, index, key, sizeof key);
    uint8_t *value = NULL;
    size_t size = 0;
    if (rh_db_get (arg, key, strlen (key), &value, &size) != 0)
        return -1;
    int rc = size == RH_DIGEST_LEN ? 0 : -1;
    if (rc == 0)
        memcpy (out, value, RH_DIGEST_LEN);
    free (value);
    return rc;
}

//  The tree size a checkpoint iterator is at, from its key ck/<size>; UINT64_MAX at the end.
static uint64_t
s_checkpoint_size (rh_db_iter_t *iter)
{
    if (!rh_db_iter_valid (iter))
        return UINT64_MAX;
    size_t size = 0;
    const uint8_t *key = rh_db_iter_key (iter, &size);
    char text [32] = "";
    if (size > 3 && size - 3 < sizeof text)
        memcpy (text, key + 3, size - 3);
    return strtoull (text, NULL, 16);
}

//  Decodes a stored Checkpoint. Returns true if it is well formed.
static bool
s_checkpoint_decode (const uint8_t *value, size_t size, rh_checkpoint_t *checkpoint)
{
    Rhannu__V1__Checkpoint *in = rhannu__v1__checkpoint__unpack (NULL, size, value);
    bool good = in && in->root.len == RH_DIGEST_LEN && in->signature.len == RH_SIG_LEN
                && in->signer_cert_sha256.len == RH_DIGEST_LEN;
    if (good) {
        checkpoint->size = in->size;
        checkpoint->time_ms = in->time_ms;
        memcpy (checkpoint->root, in->root.data, RH_DIGEST_LEN);
        memcpy (checkpoint->signature, in->signature.data, RH_SIG_LEN);
        memcpy (checkpoint->signer_sha256, in->signer_cert_sha256.data, RH_DIGEST_LEN);
        good = rh_checkpoint_witnessing_set (checkpoint, in->origin, in->cosignatures) == RH_OK;
    }
    if (in)
        rhannu__v1__checkpoint__free_unpacked (in, NULL);
    return good;
}

bool
rh_audit_checkpoint_decode (const uint8_t *value, size_t size, rh_checkpoint_t *checkpoint)
{
    assert (value && checkpoint);
    return s_checkpoint_decode (value, size, checkpoint);
}

//  Stores checkpoint under ck/<size> (in the pending batch). Returns 0 or -1.
static int
s_checkpoint_put (rh_db_t *db, const rh_checkpoint_t *checkpoint)
{
    Rhannu__V1__Checkpoint out = RHANNU__V1__CHECKPOINT__INIT;
    out.size = checkpoint->size;
    out.root.data = (uint8_t *) checkpoint->root;
    out.root.len = RH_DIGEST_LEN;
    out.time_ms = checkpoint->time_ms;
    out.signature.data = (uint8_t *) checkpoint->signature;
    out.signature.len = RH_SIG_LEN;
    out.signer_cert_sha256.data = (uint8_t *) checkpoint->signer_sha256;
    out.signer_cert_sha256.len = RH_DIGEST_LEN;
    out.origin = (char *) checkpoint->origin;
    out.cosignatures = (char *) checkpoint->cosignatures;
    size_t size = rhannu__v1__checkpoint__get_packed_size (&out);
    uint8_t *bytes = malloc (size);
    if (!bytes)
        return -1;
    rhannu__v1__checkpoint__pack (&out, bytes);
    char key [48];
    snprintf (key, sizeof key, "ck/%016" PRIx64, checkpoint->size);
    rh_db_put (db, key, strlen (key), bytes, size);
    free (bytes);
    return 0;
}

bool
rh_audit_latest_checkpoint (rh_db_t *db, rh_checkpoint_t *checkpoint)
{
    memset (checkpoint, 0, sizeof *checkpoint);
    rh_db_iter_t *iter = rh_db_iter_new (db, "ck/", 3);
    bool found = false;
    if (iter) {
        rh_db_iter_seek_last (iter);
        size_t size = 0;
        const uint8_t *value = rh_db_iter_valid (iter) ? rh_db_iter_value (iter, &size) : NULL;
        found = value && s_checkpoint_decode (value, size, checkpoint);
        if (!found)
            memset (checkpoint, 0, sizeof *checkpoint);
        rh_db_iter_destroy (&iter);
    }
    return found;
}

//  The record that names a checkpoint: at seq = the checkpoint's size, right after its tree.
#define S_MARKER_EVENT "CHECKPOINT"

//  True if committed record seq is a CHECKPOINT record.
static bool
s_is_marker (rh_db_t *db, uint64_t seq)
{
    char key [48];
    s_leaf_key (seq, key, sizeof key);
    uint8_t *value = NULL;
    size_t size = 0;
    rh_audit_record_t record;
    bool marker = false;
    if (rh_db_get (db, key, strlen (key), &value, &size) == 0
        && rh_record_decode_audit (value, size, &record) == RH_OK) {
        marker = !strcmp (record.event, S_MARKER_EVENT);
        rh_record_release (&record.owned);
    }
    free (value);
    return marker;
}

rh_audit_t *
rh_audit_new (rh_db_t *db)
{
    assert (db);
    rh_audit_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->db = db;
    uint64_t size = 0;
    rh_db_iter_t *iter = rh_db_iter_new (db, "a/", 2);
    if (iter) {
        rh_db_iter_seek_last (iter);
        if (rh_db_iter_valid (iter)) {
            size_t key_size = 0;
            const uint8_t *key = rh_db_iter_key (iter, &key_size);
            size = rh_db_key_sequence (key, key_size, 2);
            size = size == UINT64_MAX ? UINT64_MAX : size + 1;
        }
        rh_db_iter_destroy (&iter);
    }
    //  The right edge of the tree from its stored complete subtrees.
    bool good = size != UINT64_MAX;
    for (unsigned level = 0; good && level < 64; level++)
        if (size & (1ull << level))
            good = s_read_node (db, level, (size >> level) - 1, self->tree.subtrees [level]) == 0;
    self->tree.size = size;
    if (good && rh_audit_latest_checkpoint (db, &self->last))
        self->checkpointed = self->last.size;
    if (good && self->checkpointed && size == self->checkpointed + 1
        && s_is_marker (db, self->checkpointed))
        self->marked = size;
    if (!good) {
        rh_log_error ("audit", "the audit log's stored tree does not match its records; "
                               "refusing to extend it (run rhannu-broker log to see where)");
        free (self);
        return NULL;
    }
    return self;
}

void
rh_audit_destroy (rh_audit_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}

int
rh_audit_append (rh_audit_t *self, rh_audit_record_t *record)
{
    return rh_audit_append_at (self, record, rh_time_now_ms ());
}

int
rh_audit_append_at (rh_audit_t *self, rh_audit_record_t *record, int64_t at_ms)
{
    assert (self && record);
    record->seq = self->tree.size;
    record->at_ms = at_ms;
    record->prev_hash = NULL;
    //  The message goes apart from the leaf: erasing it later leaves the tree whole.
    const uint8_t *payload = record->sealed;
    size_t payload_size = record->sealed_size;
    uint8_t payload_sha256 [RH_DIGEST_LEN];
    if (payload && payload_size) {
        rh_sha256 (payload_sha256, payload, payload_size);
        record->payload_sha256 = payload_sha256;
    }
    record->sealed = NULL;
    record->sealed_size = 0;
    size_t size = 0;
    uint8_t *bytes = rh_record_encode_audit (record, &size);
    record->sealed = payload;
    record->sealed_size = payload_size;
    record->payload_sha256 = NULL;
    if (!bytes)
        return -1;
    char key [48];
    s_leaf_key (record->seq, key, sizeof key);
    rh_db_put (self->db, key, strlen (key), bytes, size);
    if (payload && payload_size) {
        snprintf (key, sizeof key, "ap/%020" PRIu64, record->seq);
        rh_db_put (self->db, key, strlen (key), payload, payload_size);
    }
    //  Indexes for the auditor's questions: every event about a message, every message of a case.
    char index_key [RH_MAX_ID * 2 + 32];
    if (record->msg_id && *record->msg_id && strlen (record->msg_id) <= RH_MAX_ID) {
        snprintf (index_key, sizeof index_key, "ai/%s/%020" PRIu64, record->msg_id, record->seq);
        rh_db_put (self->db, index_key, strlen (index_key), "", 0);
    }
    if (record->case_id && *record->case_id && strlen (record->case_id) <= RH_MAX_ID) {
        snprintf (index_key, sizeof index_key, "ac/%s/%020" PRIu64, record->case_id, record->seq);
        rh_db_put (self->db, index_key, strlen (index_key), "", 0);
    }
    //  The complete subtrees this leaf finishes at the stored levels go with the leaf.
    uint8_t leaf [RH_DIGEST_LEN], completed [64][RH_DIGEST_LEN];
    rh_merkle_leaf_hash (bytes, size, leaf);
    free (bytes);
    unsigned levels = rh_merkle_builder_extend (&self->tree, leaf, completed);
    for (unsigned level = 0; level < levels; level += S_NODE_STRIDE) {
        s_node_key (level, (self->tree.size >> level) - 1, key, sizeof key);
        rh_db_put (self->db, key, strlen (key), completed [level], RH_DIGEST_LEN);
    }
    return 0;
}

//  The broker records what it did as it goes; a record that cannot be appended is logged, not
//  returned: the group commit that follows decides whether anything is acknowledged.
uint64_t
rh_audit_decided (rh_audit_t *self, const char *event, rh_rc_t rc, const char *msg_id,
                  const char *agency, const char *const *recipients, size_t recipient_count,
                  const uint8_t *sealed, size_t sealed_size, const uint8_t *frame_sha256,
                  const char *detail, const rh_audit_decision_t *decisions, size_t decision_count,
                  const char *case_id)
{
    assert (self && event);
    rh_audit_record_t record = { .event = event,
                                 .code = rh_rc_name (rc),
                                 .msg_id = msg_id,
                                 .agency = agency,
                                 .recipients = recipients,
                                 .recipient_count = recipient_count,
                                 .sealed = sealed,
                                 .sealed_size = sealed_size,
                                 .detail = detail,
                                 .frame_sha256 = frame_sha256,
                                 .decisions = decisions,
                                 .decision_count = decision_count,
                                 .case_id = case_id };
    if (rh_audit_append (self, &record) == 0)
        return record.seq + 1;
    rh_log_error ("broker", "cannot append audit record for %s", msg_id ? msg_id : "-");
    return 0;
}

//  As rh_audit_decided, for an event without policy decisions or case.
uint64_t
rh_audit_event (rh_audit_t *self, const char *event, rh_rc_t rc, const char *msg_id,
                const char *agency, const char *const *recipients, size_t recipient_count,
                const uint8_t *sealed, size_t sealed_size, const uint8_t *frame_sha256,
                const char *detail)
{
    return rh_audit_decided (self, event, rc, msg_id, agency, recipients, recipient_count, sealed,
                             sealed_size, frame_sha256, detail, NULL, 0, NULL);
}

int
rh_audit_payload (rh_db_t *db, uint64_t seq, uint8_t **payload, size_t *size)
{
    assert (db && payload && size);
    char key [48];
    snprintf (key, sizeof key, "ap/%020" PRIu64, seq);
    return rh_db_get (db, key, strlen (key), payload, size);
}

uint64_t
rh_audit_size (rh_audit_t *self)
{
    assert (self);
    return self->tree.size;
}

uint64_t
rh_audit_checkpointed (rh_audit_t *self)
{
    assert (self);
    return self->checkpointed;
}

int
rh_audit_checkpoint (rh_audit_t *self, rh_signer_t *signer, int64_t now_ms)
{
    assert (self && signer);
    if (self->tree.size == 0 || self->tree.size == self->checkpointed
        || self->tree.size == self->marked)
        return 0;
    rh_checkpoint_t checkpoint = { .size = self->tree.size, .time_ms = now_ms };
    rh_merkle_builder_root (&self->tree, checkpoint.root);
    memcpy (checkpoint.signer_sha256, rh_signer_fingerprint (signer), RH_DIGEST_LEN);
    uint8_t message [128];
    size_t message_size = rh_merkle_checkpoint_message (&checkpoint, message);
    if (rh_signer_sign (signer, message, message_size, checkpoint.signature) != 0)
        return -1;
    //  The checkpoint is stored apart from the tree, so the tree names it: a record of its own
    //  right after the tree it signs. A checkpoint that goes missing is then noticed by the
    //  verifier, as the tree keeps the record (removing that breaks the tree).
    char root [RH_DIGEST_LEN * 2 + 1], detail [RH_DIGEST_LEN * 2 + 64];
    sodium_bin2hex (root, sizeof root, checkpoint.root, RH_DIGEST_LEN);
    snprintf (detail, sizeof detail, "signed checkpoint of %" PRIu64 " records, root %s",
              checkpoint.size, root);
    rh_audit_record_t marker = { .event = S_MARKER_EVENT, .code = "RH_OK", .detail = detail };
    if (rh_audit_append_at (self, &marker, now_ms) != 0
        || s_checkpoint_put (self->db, &checkpoint) != 0)
        return -1;
    self->checkpointed = checkpoint.size;
    self->marked = self->tree.size;
    self->last = checkpoint;
    return 0;
}

bool
rh_audit_last_checkpoint (rh_audit_t *self, rh_checkpoint_t *checkpoint)
{
    assert (self && checkpoint);
    *checkpoint = self->last;
    return self->last.size > 0;
}

int
rh_audit_inclusion_proof (rh_db_t *db, uint64_t index, uint64_t size,
                          uint8_t (*proof) [RH_DIGEST_LEN])
{
    return rh_merkle_inclusion_proof (s_read_node, db, index, size, proof, RH_MERKLE_MAX_PROOF);
}

int
rh_audit_consistency_proof (rh_db_t *db, uint64_t old_size, uint64_t size,
                            uint8_t (*proof) [RH_DIGEST_LEN])
{
    return rh_merkle_consistency_proof (s_read_node, db, old_size, size, proof,
                                        RH_MERKLE_MAX_PROOF);
}

int
rh_audit_root (rh_db_t *db, uint64_t size, uint8_t root [RH_DIGEST_LEN])
{
    return rh_merkle_range_hash (s_read_node, db, 0, size, root);
}

//  ---------------------------------------------------------------------------------------------
//  Verification

//  Checks one stored checkpoint against the root recomputed at its size.
static bool
s_checkpoint_good (const uint8_t *value, size_t size, const uint8_t root [RH_DIGEST_LEN],
                   rh_certstore_t *store, char *reason, size_t reason_size)
{
    rh_checkpoint_t checkpoint;
    if (!s_checkpoint_decode (value, size, &checkpoint)) {
        snprintf (reason, reason_size, "a checkpoint does not decode");
        return false;
    }
    if (sodium_memcmp (checkpoint.root, root, RH_DIGEST_LEN) != 0) {
        snprintf (reason, reason_size,
                  "the records do not give the root the broker signed at size %" PRIu64,
                  checkpoint.size);
        return false;
    }
    //  The signer must be a broker certificate usable when the checkpoint was made.
    if (store && rh_certstore_verify_checkpoint (store, &checkpoint) != RH_OK) {
        snprintf (reason, reason_size,
                  "the checkpoint at size %" PRIu64 " is not signed by a valid broker key",
                  checkpoint.size);
        return false;
    }
    return true;
}

//  The event of a record that erased message payloads (rhannu-broker erase, retention).
#define S_ERASURE_EVENT "ERASURE"

//  A message payload found missing during a walk, and the ERASURE record that covers it.
typedef struct {
    uint64_t seq;                    //  the record the payload was kept with
    uint64_t by;                     //  the ERASURE record that names it, plus one (0: none yet)
    uint8_t sha256 [RH_DIGEST_LEN];  //  the commitment the record names
} s_missing_t;

//  The one place that decides whether a message no longer stored was erased lawfully: an
//  ERASURE record must name it, by record and commitment. Erasure records come after what they
//  erase, so the walk notes each missing payload here (in log order, so sorted by seq) and each
//  ERASURE record met later marks those it covers; what is left unmarked at the end is damage.
//  One pass, and a binary search per erased entry: no record is read twice.
typedef struct {
    s_missing_t *items;  //  sorted by seq
    size_t count;        //  entries in items
    size_t capacity;     //  entries allocated
} s_erasures_t;

//  Notes a missing payload. Returns 0 or -1 (no memory).
static int
s_erasures_missing (s_erasures_t *self, uint64_t seq, const uint8_t sha256 [RH_DIGEST_LEN])
{
    if (self->count == self->capacity) {
        size_t capacity = self->capacity ? self->capacity * 2 : 64;
        s_missing_t *grown = realloc (self->items, capacity * sizeof *grown);
        if (!grown)
            return -1;
        self->items = grown;
        self->capacity = capacity;
    }
    s_missing_t *item = &self->items [self->count++];
    item->seq = seq;
    item->by = 0;
    memcpy (item->sha256, sha256, RH_DIGEST_LEN);
    return 0;
}

//  Marks what ERASURE record seq covers: each payload it names that is missing with the same
//  commitment. A name of a payload still stored is harmless (a run stopped between committing
//  the record and deleting); a commitment that differs covers nothing. Returns false if the
//  record names a record at or after itself (it cannot have erased what came later).
static bool
s_erasures_cover (s_erasures_t *self, const rh_audit_record_t *record, uint64_t seq)
{
    rh_erased_t erased;
    for (size_t i = 0; rh_record_erased (record, i, &erased); i++) {
        if (erased.seq >= seq)
            return false;
        size_t low = 0, high = self->count;
        while (low < high) {
            size_t middle = low + (high - low) / 2;
            if (self->items [middle].seq < erased.seq)
                low = middle + 1;
            else
                high = middle;
        }
        s_missing_t *item = low < self->count ? &self->items [low] : NULL;
        if (item && item->seq == erased.seq && !item->by
            && sodium_memcmp (item->sha256, erased.payload_sha256, RH_DIGEST_LEN) == 0)
            item->by = seq + 1;
    }
    return true;
}

//  Fails the walk at record seq with a reason; returns RH_E_MALFORMED.
static rh_rc_t s_fail (rh_audit_check_t *check, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));
static rh_rc_t
s_fail (rh_audit_check_t *check, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    vsnprintf (check->reason, sizeof check->reason, format, args);
    va_end (args);
    return RH_E_MALFORMED;
}

//  The record number in a key "<prefix><20 digits>" at a valid iterator, or UINT64_MAX.
static uint64_t
s_iter_sequence (rh_db_iter_t *iter, size_t prefix_size)
{
    size_t size = 0;
    const uint8_t *key = rh_db_iter_key (iter, &size);
    return rh_db_key_sequence (key, size, prefix_size);
}

//  True if key is the stored leaf hash of record seq ("mt/00/" and 16 hex digits), without
//  formatting one for every record of a long walk.
static bool
s_is_leaf_node (const uint8_t *key, size_t size, uint64_t seq)
{
    static const char hex [] = "0123456789abcdef";
    if (size != 6 + 16 || memcmp (key, "mt/00/", 6) != 0)
        return false;
    for (size_t i = 0; i < 16; i++)
        if (key [6 + i] != hex [(seq >> (60 - 4 * i)) & 0xf])
            return false;
    return true;
}

//  Checks the message record seq names (payload_sha256, or NULL if it names none) against the
//  stored messages, which are read in step with the records (ap/<seq> sorts as a/<seq> does):
//  the one at messages, if any, must be record seq's, and one stored where no record names one
//  is damage too. On RH_OK with a stored message, *message and *size are its bytes (borrowed
//  from the iterator until the next step) and the iterator is left on it.
static rh_rc_t
s_check_payload (rh_db_iter_t *messages, uint64_t seq, const uint8_t *payload_sha256,
                 rh_audit_check_t *check, s_erasures_t *erasures, const uint8_t **message,
                 size_t *size)
{
    *message = NULL;
    bool stored = rh_db_iter_valid (messages);
    if (!stored && rh_db_iter_error (messages))
        return s_fail (check, "cannot read the message of record %" PRIu64 " (keys ap/): %s", seq,
                       rh_db_iter_error (messages));
    uint64_t at = stored ? s_iter_sequence (messages, 3) : UINT64_MAX;
    if (stored && at == UINT64_MAX)
        return s_fail (check, "a message stored after record %" PRIu64 " has a malformed key", seq);
    if (stored && at < seq)
        return s_fail (check, "a message is stored as record %" PRIu64 ", which names none", at);
    stored = stored && at == seq;
    if (!payload_sha256) {
        if (stored)
            return s_fail (check, "a message is stored as record %" PRIu64 ", which names none",
                           seq);
        return RH_OK;
    }
    if (!stored) {
        //  Lawfully erased or damage: judged at the end of the walk, when every ERASURE record
        //  (which comes after what it erases) has been read.
        if (s_erasures_missing (erasures, seq, payload_sha256) != 0)
            return s_fail (check, "out of memory");
        return RH_OK;
    }
    const uint8_t *value = rh_db_iter_value (messages, size);
    uint8_t digest [RH_DIGEST_LEN];
    rh_sha256 (digest, value, *size);
    if (sodium_memcmp (digest, payload_sha256, RH_DIGEST_LEN) != 0)
        return s_fail (check, "the message stored with record %" PRIu64 " is not the one it names",
                       seq);
    check->messages++;
    *message = value;
    return RH_OK;
}

//  The reason an iterator stopped early, or NULL if it read everything it passed.
static const char *
s_unreadable (rh_db_iter_t *leaves, rh_db_iter_t *nodes, rh_db_iter_t *checkpoints,
              rh_db_iter_t *messages, const char **what)
{
    const char *error = NULL;
    if ((error = rh_db_iter_error (leaves)))
        *what = "its record";
    else if ((error = rh_db_iter_error (nodes)))
        *what = "its hash in the stored tree";
    else if ((error = rh_db_iter_error (checkpoints)))
        *what = "the checkpoints";
    else if ((error = rh_db_iter_error (messages)))
        *what = "the stored messages";
    return error;
}

rh_rc_t
rh_audit_verify (rh_db_t *db, rh_certstore_t *store, rh_audit_check_t *check)
{
    return rh_audit_verify_hooked (db, store, check, NULL);
}

rh_rc_t
rh_audit_verify_progress (rh_db_t *db, rh_certstore_t *store, rh_audit_check_t *check,
                          rh_audit_progress_fn *progress, void *arg)
{
    rh_audit_hooks_t hooks = { .progress = progress, .arg = arg };
    return rh_audit_verify_hooked (db, store, check, &hooks);
}

rh_rc_t
rh_audit_verify_hooked (rh_db_t *db, rh_certstore_t *store, rh_audit_check_t *check,
                        const rh_audit_hooks_t *hooks)
{
    assert (db && check);
    memset (check, 0, sizeof *check);
    rh_audit_progress_fn *progress = hooks ? hooks->progress : NULL;
    s_erasures_t erasures = { .items = NULL };
    rh_merkle_builder_t tree = { .size = 0 };
    //  One pass over each kind of key, in step: scans, so that the walk does not fill the cache.
    rh_db_iter_t *leaves = rh_db_scan_new (db, "a/", 2);
    rh_db_iter_t *checkpoints = rh_db_scan_new (db, "ck/", 3);
    rh_db_iter_t *nodes = rh_db_scan_new (db, "mt/00/", 6);
    rh_db_iter_t *messages = rh_db_scan_new (db, "ap/", 3);
    if (!leaves || !checkpoints || !nodes || !messages) {
        rh_db_iter_destroy (&leaves);
        rh_db_iter_destroy (&checkpoints);
        rh_db_iter_destroy (&nodes);
        rh_db_iter_destroy (&messages);
        return RH_E_NOMEM;
    }
    rh_rc_t rc = RH_OK;
    //  The next checkpoint to meet, by size, and the last one met (UINT64_MAX: none).
    uint64_t next_checkpoint = s_checkpoint_size (checkpoints);
    uint64_t last_checkpoint = UINT64_MAX;
    bool markers = false;  //  a CHECKPOINT record was met (logs from before them have none)
    uint64_t expected = 0;
    for (; rh_db_iter_valid (leaves); rh_db_iter_next (leaves), expected++) {
        if (progress && expected % 4096 == 0) {
            check->count = expected;
            progress (hooks->arg, check);
        }
        size_t size = 0;
        const uint8_t *value = rh_db_iter_value (leaves, &size);
        rh_audit_record_t record;
        if (s_iter_sequence (leaves, 2) != expected) {
            rc = s_fail (check, "record %" PRIu64 " is missing or out of place", expected);
            break;
        }
        if (rh_record_decode_audit (value, size, &record) != RH_OK || record.seq != expected) {
            if (record.owned)
                rh_record_release (&record.owned);
            rc = s_fail (check, "record %" PRIu64 " does not decode or names another position",
                         expected);
            break;
        }
        uint8_t leaf [RH_DIGEST_LEN];
        rh_merkle_leaf_hash (value, size, leaf);
        //  The stored leaf hashes are read in step with the records (mt/00/ is in order).
        size_t node_size = 0, node_key_size = 0;
        const uint8_t *stored =
            rh_db_iter_valid (nodes) ? rh_db_iter_value (nodes, &node_size) : NULL;
        const uint8_t *node_key = stored ? rh_db_iter_key (nodes, &node_key_size) : NULL;
        bool node_good = stored && node_size == RH_DIGEST_LEN
                         && s_is_leaf_node (node_key, node_key_size, expected)
                         && sodium_memcmp (leaf, stored, RH_DIGEST_LEN) == 0;
        if (stored)
            rh_db_iter_next (nodes);
        if (!node_good && rh_db_iter_error (nodes)) {
            rh_record_release (&record.owned);
            rc = s_fail (check,
                         "cannot read the stored tree at record %" PRIu64 " (key mt/00/%016" PRIx64
                         "): %s",
                         expected, expected, rh_db_iter_error (nodes));
            break;
        }
        if (!node_good) {
            rh_record_release (&record.owned);
            rc = s_fail (check, "record %" PRIu64 " was changed: its hash is not the tree's",
                         expected);
            break;
        }
        //  The stored message, unless an erasure record covers it, must be the one it names;
        //  then whoever asked checks more of it (rhannu-audit: its signature).
        const uint8_t *message = NULL;
        size_t message_size = 0;
        rc = s_check_payload (messages, expected, record.payload_sha256, check, &erasures, &message,
                              &message_size);
        if (rc == RH_OK && !strcmp (record.event, S_ERASURE_EVENT)
            && !s_erasures_cover (&erasures, &record, expected))
            rc = s_fail (check, "erasure record %" PRIu64 " names a record that comes after it",
                         expected);
        if (rc == RH_OK && message && hooks && hooks->message) {
            rc = hooks->message (hooks->arg, &record, message, message_size);
            if (rc != RH_OK)
                s_fail (check, "the message of record %" PRIu64 " was not checked", expected);
        }
        if (message)
            rh_db_iter_next (messages);
        //  A CHECKPOINT record names the checkpoint of the tree just before it.
        bool marker = !strcmp (record.event, S_MARKER_EVENT);
        rh_record_release (&record.owned);
        if (rc != RH_OK)
            break;
        markers |= marker;
        if (marker && last_checkpoint != expected) {
            rc = s_fail (check,
                         "the checkpoint of %" PRIu64 " records named by record %" PRIu64
                         " is missing",
                         expected, expected);
            break;
        }
        rh_merkle_builder_add (&tree, leaf);
        while (next_checkpoint == tree.size) {
            uint8_t root [RH_DIGEST_LEN];
            rh_merkle_builder_root (&tree, root);
            size_t checkpoint_size = 0;
            const uint8_t *checkpoint = rh_db_iter_value (checkpoints, &checkpoint_size);
            if (!s_checkpoint_good (checkpoint, checkpoint_size, root, store, check->reason,
                                    sizeof check->reason)) {
                rc = RH_E_MALFORMED;
                break;
            }
            check->checkpoints++;
            last_checkpoint = tree.size;
            rh_db_iter_next (checkpoints);
            next_checkpoint = s_checkpoint_size (checkpoints);
        }
        if (rc != RH_OK)
            break;
        if (rh_db_iter_error (checkpoints)) {
            rc = s_fail (check, "cannot read the checkpoints after record %" PRIu64 ": %s",
                         expected, rh_db_iter_error (checkpoints));
            break;
        }
    }
    //  A walk that stopped at a key LevelDB could not read names the record it could not read.
    const char *what = NULL;
    const char *unreadable =
        rc == RH_OK ? s_unreadable (leaves, nodes, checkpoints, messages, &what) : NULL;
    if (unreadable) {
        char want [48];
        s_leaf_key (expected, want, sizeof want);
        rc = s_fail (check, "cannot read record %" PRIu64 " (key %s) or %s: %s", expected, want,
                     what, unreadable);
    }
    if (rc == RH_OK && rh_db_iter_valid (messages)) {
        //  A message stored past the last record: no record names it.
        rc = s_fail (check, "a message is stored as record %" PRIu64 ", past the end of the log",
                     s_iter_sequence (messages, 3));
    }
    if (rc == RH_OK && next_checkpoint != UINT64_MAX) {
        //  The broker signed a larger tree than the records now make: records were removed.
        rc = s_fail (check,
                     "the log ends at record %" PRIu64 " but the broker signed %" PRIu64 " records",
                     expected, next_checkpoint);
    }
    if (rc == RH_OK && markers && last_checkpoint == expected && expected > 0) {
        //  Every checkpoint is followed by its own record: one missing at the end was removed.
        rc = s_fail (check,
                     "the log ends at the checkpoint of %" PRIu64
                     " records without the record that names it: records were removed",
                     expected);
    }
    check->count = expected;
    if (progress)
        progress (hooks->arg, check);
    check->bad = expected;
    //  Every payload found missing is lawfully erased, or damage (the first one names it).
    for (size_t i = 0; rc == RH_OK && i < erasures.count; i++) {
        if (!erasures.items [i].by) {
            rc = s_fail (check,
                         "the message of record %" PRIu64
                         " is missing: damaged (no erasure record covers it)",
                         erasures.items [i].seq);
            check->bad = erasures.items [i].seq;
        }
    }
    for (size_t i = 0; rc == RH_OK && i < erasures.count; i++) {
        check->erased++;
        if (hooks && hooks->erased)
            hooks->erased (hooks->arg, erasures.items [i].seq, erasures.items [i].by - 1);
    }
    free (erasures.items);
    if (tree.size)
        rh_merkle_builder_root (&tree, check->root);
    rh_db_iter_destroy (&leaves);
    rh_db_iter_destroy (&checkpoints);
    rh_db_iter_destroy (&nodes);
    rh_db_iter_destroy (&messages);
    return rc;
}

int64_t
rh_audit_print (rh_db_t *db, FILE *out)
{
    assert (db && out);
    rh_db_iter_t *iter = rh_db_iter_new (db, "a/", 2);
    if (!iter)
        return -1;
    int64_t count = 0;
    for (; rh_db_iter_valid (iter); rh_db_iter_next (iter)) {
        size_t size = 0;
        const uint8_t *value = rh_db_iter_value (iter, &size);
        rh_audit_record_t record;
        if (rh_record_decode_audit (value, size, &record) != RH_OK) {
            fprintf (out, "%6" PRId64 "  (record does not decode)\n", count++);
            continue;
        }
        char when [32], recipients [256] = "";
        for (size_t i = 0; i < record.recipient_count; i++) {
            size_t used = strlen (recipients);
            snprintf (recipients + used, sizeof recipients - used, "%s%s", i ? "," : "",
                      record.recipients [i]);
        }
        fprintf (out, "%6" PRIu64 "  %s  %-17s %-18s %-36s %-22s %-22s %s\n", record.seq,
                 rh_time_format (record.at_ms, when, sizeof when), record.event, record.code,
                 *record.msg_id ? record.msg_id : "-", *record.agency ? record.agency : "-",
                 *recipients ? recipients : "-", record.detail);
        //  One indented line per policy decision: who, under what, and what was withheld.
        rh_audit_decision_t decision;
        for (size_t i = 0; rh_record_decision (&record, i, &decision); i++) {
            char withheld [256] = "";
            for (size_t k = 0; k < decision.withheld_count; k++) {
                uint32_t field = 0;
                const uint8_t *digest = NULL;
                if (!rh_record_withheld (&record, i, k, &field, &digest))
                    break;
                size_t used = strlen (withheld);
                snprintf (withheld + used, sizeof withheld - used, "%s%u", k ? "," : "", field);
            }
            fprintf (out, "        %s %s: agreement %s v%u rule %s%s%s%s%s\n",
                     decision.allowed ? "allowed" : "refused",
                     *decision.recipient ? decision.recipient : "-",
                     *decision.agreement_id ? decision.agreement_id : "-",
                     decision.agreement_version, *decision.rule_id ? decision.rule_id : "(default)",
                     *decision.missing_condition ? ", missing " : "", decision.missing_condition,
                     *withheld ? ", withheld fields " : "", withheld);
        }
        //  One indented line per payload an ERASURE record erased: which record, its commitment.
        rh_erased_t erased;
        for (size_t i = 0; rh_record_erased (&record, i, &erased); i++) {
            char sha [RH_DIGEST_LEN * 2 + 1];
            sodium_bin2hex (sha, sizeof sha, erased.payload_sha256, RH_DIGEST_LEN);
            fprintf (out, "        erased the message of record %" PRIu64 " (%s), sha256 %s\n",
                     erased.seq, erased.msg_id, sha);
        }
        rh_record_release (&record.owned);
        count++;
    }
    rh_db_iter_destroy (&iter);
    return count;
}

int
rh_audit_cosigned (rh_audit_t *self, uint64_t size, const char *origin, const char *line)
{
    assert (self && origin && line);
    rh_checkpoint_t checkpoint;
    if (self->last.size == size)
        checkpoint = self->last;
    else {
        char key [48];
        snprintf (key, sizeof key, "ck/%016" PRIx64, size);
        uint8_t *value = NULL;
        size_t value_size = 0;
        if (rh_db_get (self->db, key, strlen (key), &value, &value_size) != 0 || !value)
            return -1;
        bool good = s_checkpoint_decode (value, value_size, &checkpoint);
        free (value);
        if (!good)
            return -1;
    }
    if (strstr (checkpoint.cosignatures, line))
        return 0;  //  already kept (a witness answered twice for the same checkpoint)
    size_t used = strlen (checkpoint.cosignatures), length = strlen (line);
    if (strlen (origin) >= sizeof checkpoint.origin
        || used + length >= sizeof checkpoint.cosignatures)
        return -1;
    strcpy (checkpoint.origin, origin);
    memcpy (checkpoint.cosignatures + used, line, length + 1);
    if (s_checkpoint_put (self->db, &checkpoint) != 0)
        return -1;
    if (self->last.size == size)
        self->last = checkpoint;
    return 0;
}

int
rh_audit_note_signed (rh_audit_t *self, uint64_t size, const char *line)
{
    assert (self && line);
    if (strlen (line) >= RH_CHECKPOINT_MAX_COSIGNED)
        return -1;
    char key [48];
    snprintf (key, sizeof key, "cn/%016" PRIx64, size);
    rh_db_put (self->db, key, strlen (key), line, strlen (line));
    return 0;
}

int
rh_audit_note_signature (rh_db_t *db, uint64_t size, char *line, size_t max)
{
    assert (db && line && max > 0);
    char key [48];
    snprintf (key, sizeof key, "cn/%016" PRIx64, size);
    line [0] = 0;
    uint8_t *value = NULL;
    size_t length = 0;
    int rc = rh_db_get (db, key, strlen (key), &value, &length);
    if (rc != 0)
        return rc == 1 ? 0 : -1;
    //  Stored bytes are checked like any other input: one line, no NUL, room for ours.
    bool good = length > 0 && length < max && !memchr (value, 0, length);
    if (good) {
        memcpy (line, value, length);
        line [length] = 0;
    }
    free (value);
    return good ? 1 : -1;
}
