/*  =========================================================================
    rh_replay - message-id de-duplication and per-sender sequence windows
    =========================================================================
*/
#include "rh_classes.h"
#include "rh_replay.h"

typedef struct {
    char sender [RH_MAX_ID + 1];
    uint64_t highest;  //  highest sequence accepted
    uint64_t seen;     //  bit i set: highest - i accepted
} s_window_t;

typedef struct {
    char msg_id [RH_MAX_ID + 1];
    char sender [RH_MAX_ID + 1];
    uint8_t hash [RH_DIGEST_LEN];
} s_pending_t;

struct _rh_replay_t {
    rh_db_t *db;  //  borrowed
    uint32_t window;
    s_window_t *windows;  //  loaded lazily, one per sender seen
    size_t window_count;
    s_pending_t *pending;  //  accepted in the current, uncommitted batch
    size_t pending_count;
    size_t pending_capacity;
};

rh_replay_t *
rh_replay_new (rh_db_t *db, uint32_t window)
{
    assert (db);
    rh_replay_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->db = db;
    self->window = window > 64 ? 64 : window ? window : 1;
    self->windows = calloc (RH_MAX_AGENCIES, sizeof *self->windows);
    if (!self->windows) {
        free (self);
        return NULL;
    }
    return self;
}

void
rh_replay_destroy (rh_replay_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        free ((*self_p)->windows);
        free ((*self_p)->pending);
        free (*self_p);
        *self_p = NULL;
    }
}

static s_window_t *
s_window (rh_replay_t *self, const char *sender)
{
    for (size_t i = 0; i < self->window_count; i++)
        if (strcmp (self->windows [i].sender, sender) == 0)
            return &self->windows [i];
    if (self->window_count >= RH_MAX_AGENCIES)
        return NULL;
    s_window_t *window = &self->windows [self->window_count++];
    memset (window, 0, sizeof *window);
    snprintf (window->sender, sizeof window->sender, "%s", sender);
    char key [RH_MAX_ID + 8];
    snprintf (key, sizeof key, "r/%s", sender);
    uint8_t *value = NULL;
    size_t size = 0;
    if (rh_db_get (self->db, key, strlen (key), &value, &size) == 0 && size == 16) {
        memcpy (&window->highest, value, 8);
        memcpy (&window->seen, value + 8, 8);
    }
    free (value);
    return window;
}

static int
s_lookup (rh_replay_t *self, const char *msg_id, char *sender, uint8_t hash [RH_DIGEST_LEN])
{
    for (size_t i = 0; i < self->pending_count; i++)
        if (strcmp (self->pending [i].msg_id, msg_id) == 0) {
            strcpy (sender, self->pending [i].sender);
            memcpy (hash, self->pending [i].hash, RH_DIGEST_LEN);
            return 0;
        }
    char key [RH_MAX_ID + 8];
    snprintf (key, sizeof key, "m/%s", msg_id);
    uint8_t *value = NULL;
    size_t size = 0;
    int rc = rh_db_get (self->db, key, strlen (key), &value, &size);
    if (rc == 0 && (size <= RH_DIGEST_LEN || size > RH_DIGEST_LEN + RH_MAX_ID))
        rc = -1;
    if (rc == 0) {
        memcpy (hash, value, RH_DIGEST_LEN);
        memcpy (sender, value + RH_DIGEST_LEN, size - RH_DIGEST_LEN);
        sender [size - RH_DIGEST_LEN] = 0;
    }
    free (value);
    return rc;
}

rh_rc_t
rh_replay_check (rh_replay_t *self, const char *sender, const char *msg_id, uint64_t sequence,
                 const uint8_t header_hash [RH_DIGEST_LEN], bool *duplicate, const char **why)
{
    assert (self && sender && msg_id && header_hash && duplicate && why);
    *duplicate = false;
    *why = "";
    char seen_sender [RH_MAX_ID + 1];
    uint8_t seen_hash [RH_DIGEST_LEN];
    int found = s_lookup (self, msg_id, seen_sender, seen_hash);
    if (found == 0) {
        if (strcmp (seen_sender, sender) == 0
            && CRYPTO_memcmp (seen_hash, header_hash, RH_DIGEST_LEN) == 0) {
            *duplicate = true;
            return RH_OK;
        }
        *why = "message id already used for a different message";
        return RH_E_REPLAY;
    }
    if (found < 0) {
        *why = "cannot read replay state";
        return RH_E_IO;
    }
    s_window_t *window = s_window (self, sender);
    if (!window) {
        *why = "too many senders";
        return RH_E_REPLAY;
    }
    if (sequence == 0) {
        *why = "sequence number 0 is never valid";
        return RH_E_REPLAY;
    }
    if (sequence > window->highest) {
        uint64_t shift = sequence - window->highest;
        window->seen = shift >= 64 ? 0 : window->seen << shift;
        window->seen |= 1;
        window->highest = sequence;
    }
    else {
        uint64_t behind = window->highest - sequence;
        if (behind >= self->window) {
            *why = "sequence number older than the replay window";
            return RH_E_REPLAY;
        }
        if (window->seen & ((uint64_t) 1 << behind)) {
            *why = "sequence number already used";
            return RH_E_REPLAY;
        }
        window->seen |= (uint64_t) 1 << behind;
    }
    uint8_t state [16];
    memcpy (state, &window->highest, 8);
    memcpy (state + 8, &window->seen, 8);
    char key [RH_MAX_ID + 8];
    snprintf (key, sizeof key, "r/%s", sender);
    rh_db_put (self->db, key, strlen (key), state, sizeof state);
    uint8_t value [RH_DIGEST_LEN + RH_MAX_ID];
    size_t sender_len = strlen (sender);
    memcpy (value, header_hash, RH_DIGEST_LEN);
    memcpy (value + RH_DIGEST_LEN, sender, sender_len);
    snprintf (key, sizeof key, "m/%s", msg_id);
    rh_db_put (self->db, key, strlen (key), value, RH_DIGEST_LEN + sender_len);
    if (self->pending_count == self->pending_capacity) {
        size_t capacity = self->pending_capacity ? self->pending_capacity * 2 : 256;
        s_pending_t *grown = realloc (self->pending, capacity * sizeof *grown);
        if (!grown) {
            *why = "out of memory";
            return RH_E_NOMEM;
        }
        self->pending = grown;
        self->pending_capacity = capacity;
    }
    s_pending_t *pending = &self->pending [self->pending_count++];
    snprintf (pending->msg_id, sizeof pending->msg_id, "%s", msg_id);
    snprintf (pending->sender, sizeof pending->sender, "%s", sender);
    memcpy (pending->hash, header_hash, RH_DIGEST_LEN);
    return RH_OK;
}

const char *
rh_replay_sender_of (rh_replay_t *self, const char *msg_id, char *sender)
{
    uint8_t hash [RH_DIGEST_LEN];
    if (!msg_id || !*msg_id || strlen (msg_id) > RH_MAX_ID)
        return NULL;
    return s_lookup (self, msg_id, sender, hash) == 0 ? sender : NULL;
}

void
rh_replay_committed (rh_replay_t *self)
{
    assert (self);
    self->pending_count = 0;
}
