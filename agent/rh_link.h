/*  =========================================================================
    rh_link - what the agent can tell about its connection to the broker

    ZeroMQ reconnects by itself and says little: a CURVE handshake that never
    finishes ends in the same event as one the broker cut short. This class
    reads the socket monitor's events, and the time between them, to tell
    apart a broker that is not listening, one that took the connection but
    did not finish the handshake in time (busy or starting), and one that
    refused our key. It holds no socket: the agent feeds it events.
    =========================================================================
*/
#ifndef RH_LINK_H_INCLUDED
#define RH_LINK_H_INCLUDED

typedef struct _rh_link_t rh_link_t;

typedef enum {
    RH_LINK_CONNECTING,         //  no attempt has finished yet
    RH_LINK_UNREACHABLE,        //  nothing accepts connections at the endpoint
    RH_LINK_HANDSHAKE_TIMEOUT,  //  connected, but the handshake did not finish in time
    RH_LINK_REFUSED,            //  the broker refused our key
    RH_LINK_UP,                 //  handshake done: frames flow
    RH_LINK_LOST                //  was up, disconnected; ZeroMQ is reconnecting
} rh_link_state_t;

//  Creates a link for endpoint that calls a handshake late after handshake_timeout_ms. Returns
//  NULL on failure.
rh_link_t *rh_link_new (const char *endpoint, int64_t handshake_timeout_ms);

void rh_link_destroy (rh_link_t **self_p);

//  Feeds one socket monitor event (a ZMQ_EVENT_* and its value) seen at now_ms. Returns 1 if
//  the state changed (report it once), else 0.
int rh_link_event (rh_link_t *self, int event, uint32_t value, int64_t now_ms);

//  Calls a handshake that has run longer than the timeout late. Returns 1 if the state changed.
int rh_link_tick (rh_link_t *self, int64_t now_ms);

rh_link_state_t rh_link_state (const rh_link_t *self);

//  The state as a word for status.json: connecting, broker_not_reachable, handshake_timeout,
//  refused, connected, disconnected.
const char *rh_link_state_name (rh_link_state_t state);

//  What the state means, for the operator: one sentence naming the endpoint, no secrets.
const char *rh_link_text (const rh_link_t *self);

//  The socket monitor events the link reads (for zmq_socket_monitor).
#define RH_LINK_EVENTS                                                                             \
    (ZMQ_EVENT_CONNECTED | ZMQ_EVENT_CONNECT_RETRIED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED               \
     | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL                  \
     | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_DISCONNECTED)

#endif
