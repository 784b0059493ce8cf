/*  =========================================================================
    rh_sessions - the broker's transport connections, one entry per socket
    =========================================================================
*/
#include "rh_broker_classes.h"

typedef enum {
    S_FREE = 0,       //  no live connection on this descriptor
    S_ACCEPTED,       //  TCP accepted, CURVE handshake under way
    S_AUTHENTICATED,  //  handshake done (ZAP admitted it); no frame yet
    S_BOUND           //  has sent a frame: speaks for agency
} s_state_t;

typedef struct {
    s_state_t state;
    char agency [RH_MAX_ID + 1];  //  S_BOUND: the ZAP User-Id of its frames
    int64_t since_ms;             //  S_AUTHENTICATED: when; S_BOUND: last frame
    uint32_t malformed;           //  malformed frames so far
    bool closing;                 //  shut down by us; the disconnection is on its way
    bool keyed;                   //  curve_key holds the key the session authenticated with
    uint8_t curve_key [RH_PUBKEY_LEN];
} s_entry_t;

//  A handshake admitted for an agency whose session has not sent its first frame yet. The
//  admission cannot be tied to a descriptor (ZAP does not say which), so it is counted per
//  agency until the agency's next first frame, or until first_frame_ms have passed.
typedef struct {
    char agency [RH_MAX_ID + 1];
    int64_t admitted_ms;
} s_pending_t;

struct _rh_sessions_t {
    s_pending_t *pending;  //  admissions not yet bound, oldest first
    size_t pending_count;
    size_t pending_capacity;
    s_entry_t *entries;      //  indexed by descriptor
    size_t capacity;         //  entries allocated
    size_t live;             //  entries not S_FREE
    size_t max_per_agency;   //  sessions one certificate may hold
    int64_t first_frame_ms;  //  silence allowed after the handshake
    uint32_t max_proto_errors;
};

rh_sessions_t *
rh_sessions_new (size_t max_per_agency, int64_t first_frame_ms, uint32_t max_proto_errors)
{
    rh_sessions_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->max_per_agency = max_per_agency ? max_per_agency : 1;
    self->first_frame_ms = first_frame_ms;
    self->max_proto_errors = max_proto_errors ? max_proto_errors : 1;
    return self;
}

void
rh_sessions_destroy (rh_sessions_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        rh_sessions_t *self = *self_p;
        free (self->entries);
        free (self->pending);
        free (self);
        *self_p = NULL;
    }
}

//  The entry of fd, growing the table to hold it; NULL if fd is out of range or memory is short.
static s_entry_t *
s_entry (rh_sessions_t *self, int fd, bool grow)
{
    if (fd < 0 || fd >= RH_MAX_SESSION_FD)
        return NULL;
    if ((size_t) fd >= self->capacity) {
        if (!grow)
            return NULL;
        size_t capacity = self->capacity ? self->capacity : 64;
        while (capacity <= (size_t) fd)
            capacity *= 2;
        s_entry_t *grown = realloc (self->entries, capacity * sizeof *grown);
        if (!grown)
            return NULL;
        memset (grown + self->capacity, 0, (capacity - self->capacity) * sizeof *grown);
        self->entries = grown;
        self->capacity = capacity;
    }
    return &self->entries [fd];
}

static void
s_clear (rh_sessions_t *self, s_entry_t *entry)
{
    if (entry->state != S_FREE && self->live > 0)
        self->live--;
    memset (entry, 0, sizeof *entry);
}

static void
s_open (rh_sessions_t *self, s_entry_t *entry, s_state_t state, int64_t now_ms)
{
    if (entry->state == S_FREE)
        self->live++;
    entry->state = state;
    entry->since_ms = now_ms;
}

void
rh_sessions_event (rh_sessions_t *self, uint16_t event, int fd, int64_t now_ms)
{
    assert (self);
    s_entry_t *entry =
        s_entry (self, fd, event == ZMQ_EVENT_ACCEPTED || event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    if (!entry)
        return;
    switch (event) {
        case ZMQ_EVENT_ACCEPTED:
            s_clear (self, entry);  //  a new connection on a descriptor reused by the kernel
            s_open (self, entry, S_ACCEPTED, now_ms);
            break;
        case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
            //  A frame can overtake the monitor's event: a bound session stays bound.
            if (entry->state != S_BOUND)
                s_open (self, entry, S_AUTHENTICATED, now_ms);
            break;
        case ZMQ_EVENT_DISCONNECTED:
        case ZMQ_EVENT_CLOSED:
        case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
        case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
        case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
            s_clear (self, entry);
            break;
        default:
            break;
    }
}

//  Forgets admissions older than first_frame_ms: their session never spoke, or went.
static void
s_expire_pending (rh_sessions_t *self, int64_t now_ms)
{
    size_t kept = 0;
    for (size_t i = 0; i < self->pending_count; i++)
        if (now_ms - self->pending [i].admitted_ms <= self->first_frame_ms)
            self->pending [kept++] = self->pending [i];
    self->pending_count = kept;
}

//  Forgets the oldest pending admission of agency, if any.
static void
s_settle_pending (rh_sessions_t *self, const char *agency)
{
    for (size_t i = 0; i < self->pending_count; i++)
        if (strcmp (self->pending [i].agency, agency) == 0) {
            memmove (&self->pending [i], &self->pending [i + 1],
                     (self->pending_count - i - 1) * sizeof *self->pending);
            self->pending_count--;
            return;
        }
}

bool
rh_sessions_admit (rh_sessions_t *self, const char *agency, int64_t now_ms)
{
    assert (self && agency);
    s_expire_pending (self, now_ms);
    size_t held = rh_sessions_count (self, agency);
    for (size_t i = 0; i < self->pending_count; i++)
        held += strcmp (self->pending [i].agency, agency) == 0;
    if (held >= self->max_per_agency)
        return false;
    if (self->pending_count == self->pending_capacity) {
        size_t capacity = self->pending_capacity ? self->pending_capacity * 2 : 16;
        s_pending_t *grown = realloc (self->pending, capacity * sizeof *grown);
        if (!grown)
            return false;
        self->pending = grown;
        self->pending_capacity = capacity;
    }
    s_pending_t *entry = &self->pending [self->pending_count++];
    snprintf (entry->agency, sizeof entry->agency, "%s", agency);
    entry->admitted_ms = now_ms;
    return true;
}

rh_session_verdict_t
rh_sessions_frame (rh_sessions_t *self, int fd, const char *agency, int64_t now_ms, int *evict)
{
    assert (self && agency && evict);
    *evict = -1;
    s_entry_t *entry = s_entry (self, fd, true);
    if (!entry)
        return RH_SESSION_KEEP;  //  cannot track it: the transport's own limits still hold
    if (entry->state == S_BOUND && strcmp (entry->agency, agency) == 0) {
        entry->since_ms = now_ms;
        return RH_SESSION_KEEP;
    }
    //  First frame of this session (its monitor events may still be on their way).
    s_settle_pending (self, agency);
    s_open (self, entry, S_BOUND, now_ms);
    snprintf (entry->agency, sizeof entry->agency, "%s", agency);
    size_t count = 0;
    int oldest = fd;
    int64_t oldest_ms = INT64_MAX;
    for (size_t i = 0; i < self->capacity; i++) {
        s_entry_t *other = &self->entries [i];
        if (other->state != S_BOUND || other->closing || strcmp (other->agency, agency) != 0)
            continue;
        count++;
        if ((int) i != fd && other->since_ms < oldest_ms) {
            oldest_ms = other->since_ms;
            oldest = (int) i;
        }
    }
    if (count <= self->max_per_agency)
        return RH_SESSION_KEEP;
    *evict = oldest;
    return RH_SESSION_OVER_CAP;
}

rh_session_verdict_t
rh_sessions_malformed (rh_sessions_t *self, int fd)
{
    assert (self);
    s_entry_t *entry = s_entry (self, fd, false);
    if (!entry || entry->state == S_FREE)
        return RH_SESSION_KEEP;
    if (entry->malformed < UINT32_MAX)
        entry->malformed++;
    return entry->malformed >= self->max_proto_errors ? RH_SESSION_PROTO_ERRORS : RH_SESSION_KEEP;
}

size_t
rh_sessions_silent (rh_sessions_t *self, int64_t now_ms, int *fds, size_t max)
{
    assert (self && fds);
    size_t found = 0;
    for (size_t i = 0; i < self->capacity && found < max; i++) {
        s_entry_t *entry = &self->entries [i];
        if (entry->state == S_AUTHENTICATED && !entry->closing
            && now_ms - entry->since_ms > self->first_frame_ms)
            fds [found++] = (int) i;
    }
    return found;
}

int
rh_sessions_close (rh_sessions_t *self, int fd)
{
    assert (self);
    s_entry_t *entry = s_entry (self, fd, false);
    if (!entry || entry->state == S_FREE || entry->closing)
        return -1;
    entry->closing = true;
    //  libzmq sees the end of the stream and drops the connection as it would a lost peer.
    return shutdown (fd, SHUT_RDWR) == 0 ? 0 : -1;
}

const char *
rh_sessions_agency (rh_sessions_t *self, int fd)
{
    assert (self);
    s_entry_t *entry = s_entry (self, fd, false);
    return entry && entry->state == S_BOUND ? entry->agency : NULL;
}

bool
rh_sessions_closing (rh_sessions_t *self, int fd)
{
    assert (self);
    s_entry_t *entry = s_entry (self, fd, false);
    return entry && entry->closing;
}

size_t
rh_sessions_count (rh_sessions_t *self, const char *agency)
{
    assert (self && agency);
    size_t count = 0;
    for (size_t i = 0; i < self->capacity; i++)
        count += self->entries [i].state == S_BOUND && !self->entries [i].closing
                 && strcmp (self->entries [i].agency, agency) == 0;
    return count;
}

size_t
rh_sessions_size (rh_sessions_t *self)
{
    assert (self);
    return self->live;
}

void
rh_sessions_set_key (rh_sessions_t *self, int fd, const uint8_t curve_key [RH_PUBKEY_LEN])
{
    assert (self && curve_key);
    s_entry_t *entry = s_entry (self, fd, false);
    if (!entry || entry->state == S_FREE)
        return;
    memcpy (entry->curve_key, curve_key, RH_PUBKEY_LEN);
    entry->keyed = true;
}

const uint8_t *
rh_sessions_key (rh_sessions_t *self, int fd)
{
    assert (self);
    s_entry_t *entry = s_entry (self, fd, false);
    return entry && entry->state != S_FREE && entry->keyed ? entry->curve_key : NULL;
}

size_t
rh_sessions_bound (rh_sessions_t *self, int *fds, size_t max)
{
    assert (self && fds);
    size_t found = 0;
    for (size_t i = 0; i < self->capacity && found < max; i++)
        if (self->entries [i].state == S_BOUND && !self->entries [i].closing)
            fds [found++] = (int) i;
    return found;
}
