/*  =========================================================================
    rh_brokers - the brokers an agent may use, and when to move to the next
    =========================================================================
*/
#include "rh_agent_classes.h"

typedef struct {
    char endpoint [RH_MAX_ENDPOINT + 1];  //  where it listens
    char identity [RH_MAX_ID + 1];        //  whose CURVE key to expect there
} s_broker_t;

struct _rh_brokers_t {
    s_broker_t brokers [RH_MAX_BROKERS];  //  in the order they are tried
    size_t size;                          //  brokers listed
    size_t current;                       //  the one in use
    int64_t dead_after_ms;                //  silence, or no way in, this long: move on
    int64_t trying_since;                 //  when the current one was last not up (0: up)
    bool was_up;                          //  the link to the current one was up when last told
    uint64_t moves;                       //  moves so far
};

//  Adds one entry (text, length bytes, not terminated). Returns 0, or -1 with error set.
static int
s_add (rh_brokers_t *self, const char *text, size_t length, const char *identity, char *error,
       size_t error_size)
{
    if (self->size == RH_MAX_BROKERS) {
        snprintf (error, error_size, "broker/endpoints: at most %d brokers", RH_MAX_BROKERS);
        return -1;
    }
    const char *equals = memchr (text, '=', length);
    size_t endpoint_length = equals ? (size_t) (equals - text) : length;
    size_t identity_length = equals ? length - endpoint_length - 1 : strlen (identity);
    const char *identity_text = equals ? equals + 1 : identity;
    s_broker_t *broker = &self->brokers [self->size];
    if (endpoint_length > RH_MAX_ENDPOINT) {
        snprintf (error, error_size, "broker/endpoints: entry %zu is longer than %d bytes",
                  self->size + 1, RH_MAX_ENDPOINT);
        return -1;
    }
    memcpy (broker->endpoint, text, endpoint_length);
    broker->endpoint [endpoint_length] = 0;
    const char *scheme = strstr (broker->endpoint, "://");
    if (!scheme || scheme == broker->endpoint || !scheme [3]) {
        snprintf (error, error_size,
                  "broker/endpoints: entry %zu is not an endpoint (tcp://HOST:PORT)",
                  self->size + 1);
        return -1;
    }
    if (identity_length == 0 || identity_length > RH_MAX_ID
        || memchr (identity_text, '=', identity_length)) {
        snprintf (error, error_size,
                  "broker/endpoints: entry %zu names no identity after '=', or one that is "
                  "too long",
                  self->size + 1);
        return -1;
    }
    memcpy (broker->identity, identity_text, identity_length);
    broker->identity [identity_length] = 0;
    for (size_t i = 0; i < self->size; i++)
        if (strcmp (self->brokers [i].endpoint, broker->endpoint) == 0) {
            snprintf (error, error_size, "broker/endpoints: %s is listed twice", broker->endpoint);
            return -1;
        }
    self->size++;
    return 0;
}

rh_brokers_t *
rh_brokers_new (const char *list, const char *endpoint, const char *identity, int64_t dead_after_ms,
                char *error, size_t error_size)
{
    assert (list && endpoint && identity && error);
    rh_brokers_t *self = calloc (1, sizeof *self);
    if (!self) {
        snprintf (error, error_size, "out of memory");
        return NULL;
    }
    self->dead_after_ms = dead_after_ms;
    const char *text = list + strspn (list, " \t,");
    if (!*text) {
        //  No list: the one broker of broker/endpoint, as agents were configured before lists.
        if (s_add (self, endpoint, strlen (endpoint), identity, error, error_size) != 0)
            goto fail;
        return self;
    }
    while (*text) {
        size_t length = strcspn (text, " \t,");
        if (s_add (self, text, length, identity, error, error_size) != 0)
            goto fail;
        text += length;
        text += strspn (text, " \t,");
    }
    return self;
fail:
    rh_brokers_destroy (&self);
    return NULL;
}

void
rh_brokers_destroy (rh_brokers_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}

size_t
rh_brokers_size (const rh_brokers_t *self)
{
    assert (self);
    return self->size;
}

size_t
rh_brokers_current (const rh_brokers_t *self)
{
    assert (self);
    return self->current;
}

const char *
rh_brokers_endpoint (const rh_brokers_t *self, size_t index)
{
    assert (self && index < self->size);
    return self->brokers [index].endpoint;
}

const char *
rh_brokers_identity (const rh_brokers_t *self, size_t index)
{
    assert (self && index < self->size);
    return self->brokers [index].identity;
}

bool
rh_brokers_should_move (rh_brokers_t *self, bool up, int64_t now_ms)
{
    assert (self);
    if (up) {
        self->was_up = true;
        self->trying_since = 0;
        return false;
    }
    bool lost = self->was_up;
    self->was_up = false;
    if (!self->trying_since)
        self->trying_since = now_ms ? now_ms : 1;
    if (self->size < 2)
        return false;
    //  A lost link moves at once (Binary Star): the heartbeat has already waited dead_after_ms
    //  when the broker went silent, and a closed connection needs no waiting. A broker that
    //  never lets us in gets dead_after_ms: a standby taking over binds within about a second.
    return lost || now_ms - self->trying_since >= self->dead_after_ms;
}

size_t
rh_brokers_move (rh_brokers_t *self, int64_t now_ms)
{
    assert (self);
    self->current = (self->current + 1) % self->size;
    self->trying_since = now_ms ? now_ms : 1;
    self->was_up = false;
    self->moves++;
    return self->current;
}

uint64_t
rh_brokers_moves (const rh_brokers_t *self)
{
    assert (self);
    return self->moves;
}
