/*  =========================================================================
    rh_dedup - message-id de-duplication and per-sender sequence numbers
    =========================================================================
*/
#include "rh_broker_classes.h"

typedef struct {
    char sender [RH_MAX_ID + 1];
    uint64_t floor;  //  every sequence below was answered: refuse it
} s_sender_t;

typedef struct {
    char msg_id [RH_MAX_ID + 1];
    char sender [RH_MAX_ID + 1];
    uint64_t sequence;
    uint8_t hash [RH_DIGEST_LEN];
} s_pending_t;

struct _rh_dedup_t {
    rh_db_t *db;          //  borrowed
    s_sender_t *senders;  //  loaded lazily, one per sender seen
    size_t sender_count;
    s_pending_t *pending;  //  accepted in the current, uncommitted batch
    size_t pending_count;
    size_t pending_capacity;
};

rh_dedup_t *
rh_dedup_new (rh_db_t *db)
{
    assert (db);
    rh_dedup_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->db = db;
    self->senders = calloc (RH_MAX_AGENCIES, sizeof *self->senders);
    if (!self->senders) {
        free (self);
        return NULL;
    }
    return self;
}

void
rh_dedup_destroy (rh_dedup_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        free ((*self_p)->senders);
        free ((*self_p)->pending);
        free (*self_p);
        *self_p = NULL;
    }
}

static s_sender_t *
s_sender (rh_dedup_t *self, const char *name)
{
    for (size_t i = 0; i < self->sender_count; i++)
        if (strcmp (self->senders [i].sender, name) == 0)
            return &self->senders [i];
    if (self->sender_count >= RH_MAX_AGENCIES)
        return NULL;
    s_sender_t *sender = &self->senders [self->sender_count++];
    memset (sender, 0, sizeof *sender);
    snprintf (sender->sender, sizeof sender->sender, "%s", name);
    char key [RH_MAX_ID + 8];
    snprintf (key, sizeof key, "r/%s", name);
    uint8_t *value = NULL;
    size_t size = 0;
    if (rh_db_get (self->db, key, strlen (key), &value, &size) == 0 && size == 8)
        memcpy (&sender->floor, value, 8);
    free (value);
    return sender;
}

static void
s_sequence_key (const char *sender, uint64_t sequence, char *key, size_t size)
{
    snprintf (key, size, "s/%s/%020" PRIu64, sender, sequence);
}

static int
s_lookup (rh_dedup_t *self, const char *msg_id, char *sender, uint8_t hash [RH_DIGEST_LEN])
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

static bool
s_sequence_used (rh_dedup_t *self, const char *sender, uint64_t sequence)
{
    for (size_t i = 0; i < self->pending_count; i++)
        if (self->pending [i].sequence == sequence
            && strcmp (self->pending [i].sender, sender) == 0)
            return true;
    char key [RH_MAX_QUEUE_KEY];
    s_sequence_key (sender, sequence, key, sizeof key);
    return rh_db_has (self->db, key, strlen (key));
}

rh_rc_t
rh_dedup_check (rh_dedup_t *self, const char *sender, const char *msg_id, uint64_t sequence,
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
    s_sender_t *state = s_sender (self, sender);
    if (!state) {
        *why = "too many senders";
        return RH_E_REPLAY;
    }
    if (sequence == 0) {
        *why = "sequence number 0 is never valid";
        return RH_E_REPLAY;
    }
    if (sequence < state->floor) {
        *why = "sequence number below those the agency has had answered";
        return RH_E_REPLAY;
    }
    if (s_sequence_used (self, sender, sequence)) {
        *why = "sequence number already used";
        return RH_E_REPLAY;
    }
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
    char key [RH_MAX_QUEUE_KEY];
    s_sequence_key (sender, sequence, key, sizeof key);
    rh_db_put (self->db, key, strlen (key), header_hash, RH_DIGEST_LEN);
    uint8_t value [RH_DIGEST_LEN + RH_MAX_ID];
    size_t sender_len = strlen (sender);
    memcpy (value, header_hash, RH_DIGEST_LEN);
    memcpy (value + RH_DIGEST_LEN, sender, sender_len);
    snprintf (key, sizeof key, "m/%s", msg_id);
    rh_db_put (self->db, key, strlen (key), value, RH_DIGEST_LEN + sender_len);
    s_pending_t *pending = &self->pending [self->pending_count++];
    snprintf (pending->msg_id, sizeof pending->msg_id, "%s", msg_id);
    snprintf (pending->sender, sizeof pending->sender, "%s", sender);
    pending->sequence = sequence;
    memcpy (pending->hash, header_hash, RH_DIGEST_LEN);
    return RH_OK;
}

int
rh_dedup_set_floor (rh_dedup_t *self, const char *sender, uint64_t floor)
{
    assert (self && sender);
    s_sender_t *state = s_sender (self, sender);
    if (!state)
        return -1;
    if (floor <= state->floor)
        return 0;
    state->floor = floor;
    char key [RH_MAX_QUEUE_KEY], prefix [RH_MAX_ID + 8];
    snprintf (key, sizeof key, "r/%s", sender);
    rh_db_put (self->db, key, strlen (key), &floor, 8);
    //  Sequence numbers below the floor are refused by the floor itself: forget them.
    snprintf (prefix, sizeof prefix, "s/%s/", sender);
    s_sequence_key (sender, floor, key, sizeof key);
    rh_db_iter_t *iter = rh_db_iter_new (self->db, prefix, strlen (prefix));
    for (; iter && rh_db_iter_valid (iter); rh_db_iter_next (iter)) {
        size_t size = 0;
        const uint8_t *found = rh_db_iter_key (iter, &size);
        if (size != strlen (key) || memcmp (found, key, size) >= 0)
            break;
        rh_db_delete (self->db, found, size);
    }
    rh_db_iter_destroy (&iter);
    return 0;
}

const char *
rh_dedup_sender_of (rh_dedup_t *self, const char *msg_id, char *sender)
{
    uint8_t hash [RH_DIGEST_LEN];
    if (!msg_id || !*msg_id || strlen (msg_id) > RH_MAX_ID)
        return NULL;
    return s_lookup (self, msg_id, sender, hash) == 0 ? sender : NULL;
}

bool
rh_dedup_header_of (rh_dedup_t *self, const char *msg_id, uint8_t header_hash [RH_DIGEST_LEN])
{
    assert (self && header_hash);
    char sender [RH_MAX_ID + 1];
    if (!msg_id || !*msg_id || strlen (msg_id) > RH_MAX_ID)
        return false;
    return s_lookup (self, msg_id, sender, header_hash) == 0;
}

bool
rh_dedup_is_resend (rh_dedup_t *self, const char *sender, const char *msg_id, const uint8_t *sealed,
                    size_t size)
{
    assert (self && sender);
    char seen_sender [RH_MAX_ID + 1];
    uint8_t seen_hash [RH_DIGEST_LEN];
    if (!msg_id || !*msg_id || strlen (msg_id) > RH_MAX_ID
        || s_lookup (self, msg_id, seen_sender, seen_hash) != 0 || strcmp (seen_sender, sender))
        return false;
    rh_envelope_t *envelope = NULL;
    if (rh_envelope_decode_header (sealed, size, &envelope) != RH_OK)
        return false;
    size_t header_size = 0;
    const uint8_t *header = rh_envelope_header_bytes (envelope, &header_size);
    uint8_t hash [RH_DIGEST_LEN];
    rh_sha256 (hash, header, header_size);
    bool same = strcmp (rh_envelope_msg_id (envelope), msg_id) == 0
                && CRYPTO_memcmp (hash, seen_hash, RH_DIGEST_LEN) == 0;
    rh_envelope_destroy (&envelope);
    return same;
}

void
rh_dedup_committed (rh_dedup_t *self)
{
    assert (self);
    self->pending_count = 0;
}
