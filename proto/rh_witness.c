/*  =========================================================================
    rh_witness - a C2SP tlog-witness: checks add-checkpoint requests and
    cosigns what is consistent with what it cosigned before

    The state of a log is the text of the latest checkpoint cosigned for it
    (origin, size, root), so it is read back with the same strict parser as
    a request. A state that does not read refuses every request for
    that log (500) rather than starting again from zero: forgetting the
    state would let the log roll back.
    =========================================================================
*/
#include "rh_proto.h"

#define S_TEXT "text/plain; charset=utf-8"
#define S_SIZE "text/x.tlog.size"

struct _rh_witness_t {
    char *name;                           //  the witness's key name
    uint8_t secret [RH_NOTE_SECRET_LEN];  //  its Ed25519 secret (wiped on destroy)
    rh_note_vkey_t vkey;                  //  its verifier key (type 0x04)
    char *state_dir;                      //  rh_witness_new: one file per origin
    rh_witness_store_t store;             //  where the state is kept
    rh_note_vkey_t *logs;                 //  trusted log keys (name = origin)
    size_t count;                         //  how many
    pthread_mutex_t lock;                 //  check-then-store is one step per witness
};

static int s_file_load (void *arg, const char *origin, char *text, size_t size);
static int s_file_store (void *arg, const char *origin, const char *text, size_t size);

rh_witness_t *
rh_witness_new_with (const char *name, const uint8_t secret [RH_NOTE_SECRET_LEN],
                     const rh_witness_store_t *store, const rh_note_vkey_t *logs, size_t count)
{
    assert (name && secret && store && store->load && store->store && (logs || count == 0));
    rh_witness_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    pthread_mutex_init (&self->lock, NULL);
    memcpy (self->secret, secret, RH_NOTE_SECRET_LEN);
    self->store = *store;
    self->name = strdup (name);
    self->logs = calloc (count ? count : 1, sizeof *self->logs);
    if (!self->name || !self->logs
        || rh_note_vkey_make (name, RH_NOTE_TYPE_COSIGNATURE, secret + 32, &self->vkey) != RH_OK) {
        rh_log_error ("witness", "cannot start witness %s (name or memory)", name);
        rh_witness_destroy (&self);
        return NULL;
    }
    for (size_t i = 0; i < count; i++) {
        if (logs [i].type != RH_NOTE_TYPE_ED25519) {
            rh_log_error ("witness", "log key %s is not an Ed25519 (type 1) key", logs [i].name);
            rh_witness_destroy (&self);
            return NULL;
        }
        self->logs [i] = logs [i];
    }
    self->count = count;
    return self;
}

rh_witness_t *
rh_witness_new (const char *name, const uint8_t secret [RH_NOTE_SECRET_LEN], const char *state_dir,
                const rh_note_vkey_t *logs, size_t count)
{
    assert (state_dir);
    if (rh_file_mkdir (state_dir, 0700) != 0) {
        rh_log_error ("witness", "cannot start witness %s (state folder)", name);
        return NULL;
    }
    rh_witness_store_t files = { s_file_load, s_file_store, NULL };
    rh_witness_t *self = rh_witness_new_with (name, secret, &files, logs, count);
    if (self && !(self->state_dir = strdup (state_dir)))
        rh_witness_destroy (&self);
    if (self)
        self->store.arg = self->state_dir;
    return self;
}

void
rh_witness_destroy (rh_witness_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        rh_witness_t *self = *self_p;
        sodium_memzero (self->secret, sizeof self->secret);
        pthread_mutex_destroy (&self->lock);
        free (self->name);
        free (self->state_dir);
        free (self->logs);
        free (self);
        *self_p = NULL;
    }
}

const rh_note_vkey_t *
rh_witness_vkey (rh_witness_t *self)
{
    assert (self);
    return &self->vkey;
}

//  The state file of origin: STATE/<hex SHA-256 of the origin>, so any origin is a safe name.
static int
s_state_path (const char *state_dir, const char *origin, char *path, size_t size)
{
    uint8_t digest [RH_DIGEST_LEN];
    char hex [RH_DIGEST_LEN * 2 + 1];
    rh_sha256 (digest, origin, strlen (origin));
    sodium_bin2hex (hex, sizeof hex, digest, sizeof digest);
    return rh_file_path (path, size, "%s/%s", state_dir, hex);
}

static int
s_file_load (void *arg, const char *origin, char *text, size_t size)
{
    char path [PATH_MAX];
    if (s_state_path (arg, origin, path, sizeof path) != 0)
        return -1;
    uint8_t *data = NULL;
    size_t data_size = 0;
    if (rh_file_read (path, size, &data, &data_size) != 0)
        return errno == ENOENT ? 0 : -1;
    memcpy (text, data, data_size);
    free (data);
    return (int) data_size;
}

static int
s_file_store (void *arg, const char *origin, const char *text, size_t size)
{
    char path [PATH_MAX];
    return s_state_path (arg, origin, path, sizeof path) == 0
                   && rh_file_write_atomic (path, text, size, 0600) == 0
               ? 0
               : -1;
}

int
rh_witness_state (rh_witness_t *self, const char *origin, uint64_t *size,
                  uint8_t root [RH_DIGEST_LEN])
{
    assert (self && origin && size && root);
    *size = 0;
    memset (root, 0, RH_DIGEST_LEN);
    char text [RH_NOTE_MAX_NAME + 128];
    int length = self->store.load (self->store.arg, origin, text, sizeof text);
    if (length <= 0)
        return length;  //  never cosigned for this log (size 0), or unreadable
    rh_note_checkpoint_t state;
    if (rh_note_checkpoint_parse (text, (size_t) length, &state) != RH_OK
        || strcmp (state.origin, origin) != 0)
        return -1;
    *size = state.size;
    memcpy (root, state.root, RH_DIGEST_LEN);
    return 0;
}

//  Fills reply with a status and a one-line text body.
static int s_reply (rh_witness_reply_t *reply, int status, const char *content_type,
                    const char *format, ...) __attribute__ ((format (printf, 4, 5)));

static int
s_reply (rh_witness_reply_t *reply, int status, const char *content_type, const char *format, ...)
{
    char line [RH_NOTE_MAX_NAME + 512];  //  fits a cosignature line
    va_list args;
    va_start (args, format);
    int n = vsnprintf (line, sizeof line, format, args);
    va_end (args);
    reply->status = status;
    reply->content_type = content_type;
    reply->body = strdup (n >= 0 ? line : "");
    reply->size = reply->body ? strlen (reply->body) : 0;
    return reply->body ? 0 : -1;
}

int
rh_witness_add_checkpoint (rh_witness_t *self, const uint8_t *body, size_t size, uint64_t now_s,
                           rh_witness_reply_t *reply)
{
    assert (self && (body || size == 0) && reply);
    memset (reply, 0, sizeof *reply);
    uint64_t old_size = 0;
    size_t count = 0;
    uint8_t (*proof) [RH_DIGEST_LEN] = malloc (RH_NOTE_MAX_PROOF * RH_DIGEST_LEN);
    rh_note_vkey_t *keys = calloc (self->count ? self->count : 1, sizeof *keys);
    rh_note_t *note = NULL;
    rh_note_checkpoint_t checkpoint;
    int rc = -1;
    bool locked = false;
    if (!proof || !keys)
        goto out;
    rh_rc_t parsed =
        rh_note_request_parse (body, size, &old_size, proof, &count, &note, &checkpoint);
    if (parsed != RH_OK) {
        rc = s_reply (reply, 400, S_TEXT, "malformed add-checkpoint request (%s)\n",
                      rh_rc_name (parsed));
        goto out;
    }
    //  The log: the keys whose name is the origin. Signatures of other keys are ignored.
    size_t key_count = 0;
    for (size_t i = 0; i < self->count; i++)
        if (strcmp (self->logs [i].name, checkpoint.origin) == 0)
            keys [key_count++] = self->logs [i];
    if (key_count == 0) {
        rc = s_reply (reply, 404, S_TEXT, "unknown log origin\n");
        goto out;
    }
    size_t verified = 0;
    if (rh_note_verify (note, keys, key_count, &verified, NULL) != RH_OK || verified == 0) {
        rh_log_warn ("witness", "log %s: checkpoint of size %" PRIu64 " not signed by its key",
                     checkpoint.origin, checkpoint.size);
        rc = s_reply (reply, 403, S_TEXT, "checkpoint not signed by the log's key\n");
        goto out;
    }
    if (old_size > checkpoint.size) {
        rc = s_reply (reply, 400, S_TEXT, "old size is larger than the checkpoint\n");
        goto out;
    }
    pthread_mutex_lock (&self->lock);
    locked = true;
    uint64_t stored_size = 0;
    uint8_t stored_root [RH_DIGEST_LEN];
    if (rh_witness_state (self, checkpoint.origin, &stored_size, stored_root) != 0) {
        rh_log_error ("witness", "log %s: stored state does not read: refusing to cosign",
                      checkpoint.origin);
        rc = s_reply (reply, 500, S_TEXT, "witness state unreadable\n");
        goto out;
    }
    if (old_size != stored_size) {
        rh_log_info ("witness", "log %s: old size %" PRIu64 " is not the cosigned %" PRIu64,
                     checkpoint.origin, old_size, stored_size);
        rc = s_reply (reply, 409, S_SIZE, "%" PRIu64 "\n", stored_size);
        goto out;
    }
    uint8_t empty [RH_DIGEST_LEN];
    rh_sha256 (empty, "", 0);
    bool consistent;
    if (checkpoint.size == 0)
        consistent = count == 0 && CRYPTO_memcmp (checkpoint.root, empty, RH_DIGEST_LEN) == 0;
    else if (old_size == 0)
        consistent = count == 0;  //  the empty tree is consistent with any tree
    else
        consistent =
            rh_merkle_verify_consistency (old_size, checkpoint.size, stored_root, checkpoint.root,
                                          (const uint8_t (*) [RH_DIGEST_LEN]) proof, count);
    if (!consistent) {
        //  Signed by the log and not consistent: evidence of a fork, kept in the log.
        rh_log_error ("witness",
                      "log %s: checkpoint of size %" PRIu64 " is inconsistent with the cosigned "
                      "size %" PRIu64 ": refused",
                      checkpoint.origin, checkpoint.size, stored_size);
        rc = s_reply (reply, 422, S_TEXT, "checkpoint is not consistent with the cosigned one\n");
        goto out;
    }
    //  Durable before the cosignature leaves: the state is the checkpoint's text (no extensions).
    char text [RH_NOTE_MAX_NAME + 128];
    int text_size = rh_note_checkpoint_format (checkpoint.origin, checkpoint.size, checkpoint.root,
                                               text, sizeof text);
    if (text_size < 0
        || self->store.store (self->store.arg, checkpoint.origin, text, (size_t) text_size) != 0) {
        rh_log_error ("witness", "log %s: cannot store the new state: not cosigning",
                      checkpoint.origin);
        rc = s_reply (reply, 500, S_TEXT, "witness state not stored\n");
        goto out;
    }
    size_t note_text_size = 0;
    const char *note_text = rh_note_text (note, &note_text_size);
    rh_note_t *cosigned = rh_note_new (note_text, note_text_size);
    char line [RH_NOTE_MAX_NAME + 256];
    int n = -1;
    if (cosigned && rh_note_cosign (cosigned, self->name, self->secret, now_s) == 0)
        n = rh_note_line (cosigned, 0, line, sizeof line);
    rh_note_destroy (&cosigned);
    if (n < 0) {
        rc = s_reply (reply, 500, S_TEXT, "cannot cosign\n");
        goto out;
    }
    rh_log_info ("witness", "log %s: cosigned size %" PRIu64 " (was %" PRIu64 ")",
                 checkpoint.origin, checkpoint.size, stored_size);
    rc = s_reply (reply, 200, S_TEXT, "%s", line);
out:
    if (locked)
        pthread_mutex_unlock (&self->lock);
    rh_note_destroy (&note);
    free (keys);
    free (proof);
    return rc;
}
