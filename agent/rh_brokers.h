/*  =========================================================================
    rh_brokers - the brokers an agent may use, and when to move to the next

    broker/endpoints lists them: entries separated by spaces or commas, each
    ENDPOINT or ENDPOINT=IDENTITY. IDENTITY names the broker whose CURVE
    key the agent expects there (its folder in pki/dir, or the name on a
    BROKER certificate in the trust bundle); without it, broker/identity.
    An empty list is the one broker at broker/endpoint, as before lists.

    The client side of ZeroMQ's Binary Star (zguide chapter 4): one broker
    at a time. A link that was up and is lost (ZeroMQ's heartbeat says so
    within dead_after_ms, or the connection is closed) moves the agent to
    the next broker at once; a broker that has not let us in within
    dead_after_ms of trying moves it on too, round the list. With one
    broker there is nowhere to move: ZeroMQ simply reconnects. This class
    holds no socket; the agent asks it and does the moving.
    =========================================================================
*/
#ifndef RH_BROKERS_H_INCLUDED
#define RH_BROKERS_H_INCLUDED

typedef struct _rh_brokers_t rh_brokers_t;

//  Parses list (broker/endpoints); when it is empty, the list is endpoint alone. identity is the
//  identity of entries that name none. Returns NULL and a one-line reason in error when an entry
//  is malformed (no "://", an empty identity, longer than RH_MAX_ENDPOINT or RH_MAX_ID), named
//  twice, or there are more than RH_MAX_BROKERS; or when memory ran out.
rh_brokers_t *rh_brokers_new (const char *list, const char *endpoint, const char *identity,
                              int64_t dead_after_ms, char *error, size_t error_size);

void rh_brokers_destroy (rh_brokers_t **self_p);

//  How many brokers are listed (at least one).
size_t rh_brokers_size (const rh_brokers_t *self);

//  The index of the broker in use.
size_t rh_brokers_current (const rh_brokers_t *self);

//  The endpoint and the identity of the index-th broker (borrowed).
const char *rh_brokers_endpoint (const rh_brokers_t *self, size_t index);
const char *rh_brokers_identity (const rh_brokers_t *self, size_t index);

//  Tells whether the link to the current broker is up at now_ms. Returns true when the agent
//  should move to the next broker now: the link was up and is lost, or it has not been up for
//  dead_after_ms since the agent came to this broker or lost it. Always false with one broker.
bool rh_brokers_should_move (rh_brokers_t *self, bool up, int64_t now_ms);

//  Makes the next broker (round the list) current from now_ms. Returns its index.
size_t rh_brokers_move (rh_brokers_t *self, int64_t now_ms);

//  How many times the agent has moved.
uint64_t rh_brokers_moves (const rh_brokers_t *self);

#endif
