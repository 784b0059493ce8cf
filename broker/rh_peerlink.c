/*  =========================================================================
    rh_peerlink - the link from this region's broker to another region's
    =========================================================================
*/
#include "rh_broker_classes.h"
#include <pthread.h>

//  What the link thread watches on its connection to the peer.
#define S_EVENTS (ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED)

//  What is in flight to the peer: the msg id of each delivery, so that the peer's answer (by
//  msg id) finds the queue entry it acknowledges. The queue never hands more than its credit.
typedef struct {
    uint64_t delivery_id;
    char msg_id [RH_MAX_ID + 1];
    bool used;
} s_flight_t;

struct _rh_peerlink_t {
    void *context;
    char region [RH_MAX_ID + 1];
    char endpoint [256];
    uint8_t peer_key [RH_PUBKEY_LEN];
    uint8_t public_key [RH_PUBKEY_LEN];
    uint8_t secret_key [RH_PUBKEY_LEN];
    int heartbeat_ms;
    char pipe_endpoint [80];
    uint64_t nonce;  //  in inproc names: a new link may start before an old one's are released
    void *pipe;      //  main's end (PAIR, bound)
    pthread_t thread;
    bool started;
    //  The thread's own, touched by nothing else once it runs:
    void *thread_pipe;  //  the link's end (PAIR, connected)
    s_flight_t flight [RH_PEER_CREDIT];
    bool up;
};

//  Link thread: tells the main loop something.
static void
s_tell (void *pipe, rh_peerlink_kind_t kind, uint64_t delivery_id, const char *msg_id,
        const char *code, const char *reason)
{
    rh_peerlink_event_t event;
    memset (&event, 0, sizeof event);
    event.kind = kind;
    event.delivery_id = delivery_id;
    snprintf (event.msg_id, sizeof event.msg_id, "%s", msg_id ? msg_id : "");
    snprintf (event.code, sizeof event.code, "%s", code ? code : "");
    snprintf (event.reason, sizeof event.reason, "%s", reason ? reason : "");
    //  Events are few (one per delivery in the credit, plus up and down): the pipe's room holds
    //  them; a lost one is mended by the queue's redelivery.
    zmq_send (pipe, &event, sizeof event, ZMQ_DONTWAIT);
}

//  Link thread: forwards one Deliver frame from the main loop as a Submit of the same bytes.
static void
s_forward (rh_peerlink_t *self, void *dealer, const uint8_t *data, size_t size)
{
    rh_frame_t frame;
    if (rh_frame_decode (data, size, &frame) != RH_OK)
        return;
    if ((frame.type == RH_FRAME_CHECKPOINT || frame.type == RH_FRAME_WITNESS_REQUEST) && self->up) {
        //  This broker's latest signed checkpoint (the peer keeps it as where our log stood), or
        //  a request that the peer witness it: passed on as they are. Lost while down: the
        //  cosigner asks again.
        zmq_send (dealer, data, size, ZMQ_DONTWAIT);
        rh_frame_release (&frame);
        return;
    }
    if (frame.type != RH_FRAME_DELIVER || !self->up) {
        //  Down: the queue counts what it handed us and sends it again at the next up.
        rh_frame_release (&frame);
        return;
    }
    rh_envelope_t *envelope = NULL;
    char msg_id [RH_MAX_ID + 1] = "";
    if (rh_envelope_decode (frame.sealed, frame.sealed_size, &envelope) == RH_OK)
        snprintf (msg_id, sizeof msg_id, "%s", rh_envelope_msg_id (envelope));
    rh_envelope_destroy (&envelope);
    s_flight_t *slot = NULL;
    for (size_t i = 0; i < RH_PEER_CREDIT; i++) {
        if (self->flight [i].used && self->flight [i].delivery_id == frame.delivery_id)
            slot = &self->flight [i];  //  sent again: same entry
        else if (!self->flight [i].used && !slot)
            slot = &self->flight [i];
    }
    if (slot) {
        slot->used = true;
        slot->delivery_id = frame.delivery_id;
        snprintf (slot->msg_id, sizeof slot->msg_id, "%s", msg_id);
        rh_frame_t submit = { .type = RH_FRAME_SUBMIT,
                              .msg_id = msg_id,
                              .sealed = frame.sealed,
                              .sealed_size = frame.sealed_size };
        size_t bytes_size = 0;
        uint8_t *bytes = rh_frame_encode (&submit, &bytes_size);
        if (bytes)
            zmq_send (dealer, bytes, bytes_size, ZMQ_DONTWAIT);  //  lost: redelivered
        free (bytes);
    }
    rh_frame_release (&frame);
}

//  True if the peer's refusal stands whatever happens (its border or agreements, a signature
//  or certificate that will never verify). Anything the peer may lift by itself is waited for:
//  busy, its storage, its clock, and what its board has not given it yet (the sender's
//  certificate, a CRL in date, a certificate's start). The queue's redelivery sends it again,
//  and it expires only as any queued message does.
static bool
s_refusal_lasts (const char *code)
{
    static const rh_rc_t passing [] = { RH_E_BUSY,         RH_E_NOMEM,        RH_E_IO,
                                        RH_E_CLOCK,        RH_E_CERT_UNKNOWN, RH_E_CRL,
                                        RH_E_NOT_YET_VALID };
    for (size_t i = 0; i < sizeof passing / sizeof passing [0]; i++)
        if (strcmp (code, rh_rc_name (passing [i])) == 0)
            return false;
    return true;
}

//  Link thread: the peer's answer to a Submit.
static void
s_answer (rh_peerlink_t *self, const uint8_t *data, size_t size)
{
    rh_frame_t frame;
    if (rh_frame_decode (data, size, &frame) != RH_OK)
        return;
    if (frame.type == RH_FRAME_WITNESS_REPLY) {
        rh_peerlink_event_t event;
        memset (&event, 0, sizeof event);
        event.kind = RH_PEERLINK_WITNESSED;
        event.status = frame.status;
        event.body_size = frame.sealed_size;  //  decode bounds it by RH_MAX_WITNESS_REPLY
        if (frame.sealed_size)
            memcpy (event.body, frame.sealed, frame.sealed_size);
        zmq_send (self->thread_pipe, &event, sizeof event, ZMQ_DONTWAIT);  //  lost: asked again
        rh_frame_release (&frame);
        return;
    }
    bool answer = frame.type == RH_FRAME_ACCEPTED || frame.type == RH_FRAME_REJECTED;
    for (size_t i = 0; answer && frame.msg_id && i < RH_PEER_CREDIT; i++) {
        s_flight_t *slot = &self->flight [i];
        if (!slot->used || strcmp (slot->msg_id, frame.msg_id) != 0)
            continue;
        slot->used = false;
        if (frame.type == RH_FRAME_ACCEPTED)
            s_tell (self->thread_pipe, RH_PEERLINK_STORED, slot->delivery_id, slot->msg_id, NULL,
                    NULL);
        else if (frame.code && s_refusal_lasts (frame.code))
            s_tell (self->thread_pipe, RH_PEERLINK_REFUSED, slot->delivery_id, slot->msg_id,
                    frame.code, frame.reason);
        else
            s_tell (self->thread_pipe, RH_PEERLINK_WAITING, slot->delivery_id, slot->msg_id,
                    frame.code, frame.reason);
        break;
    }
    rh_frame_release (&frame);
}

//  Link thread: opens the dealer to the peer and its monitor. Returns 0 or -1.
static int
s_open (rh_peerlink_t *self, void **dealer, void **monitor)
{
    *dealer = zmq_socket (self->context, ZMQ_DEALER);
    *monitor = zmq_socket (self->context, ZMQ_PAIR);
    if (!*dealer || !*monitor)
        return -1;
    uint8_t routing_id [17];
    randombytes_buf (routing_id, sizeof routing_id);
    routing_id [0] = 'P';
    int dead_after = self->heartbeat_ms * 3, reconnect = 200, reconnect_max = 5000;
    int rc = zmq_setsockopt (*dealer, ZMQ_CURVE_SERVERKEY, self->peer_key, RH_PUBKEY_LEN)
             | zmq_setsockopt (*dealer, ZMQ_CURVE_PUBLICKEY, self->public_key, RH_PUBKEY_LEN)
             | zmq_setsockopt (*dealer, ZMQ_CURVE_SECRETKEY, self->secret_key, RH_PUBKEY_LEN)
             | zmq_setsockopt (*dealer, ZMQ_ROUTING_ID, routing_id, sizeof routing_id)
             | zmq_setsockopt (*dealer, ZMQ_HEARTBEAT_IVL, &self->heartbeat_ms, sizeof (int))
             | zmq_setsockopt (*dealer, ZMQ_HEARTBEAT_TIMEOUT, &dead_after, sizeof dead_after)
             | zmq_setsockopt (*dealer, ZMQ_HEARTBEAT_TTL, &dead_after, sizeof dead_after)
             | zmq_setsockopt (*dealer, ZMQ_RECONNECT_IVL, &reconnect, sizeof reconnect)
             | zmq_setsockopt (*dealer, ZMQ_RECONNECT_IVL_MAX, &reconnect_max, sizeof reconnect_max)
             | rh_pipe_limits (*dealer, RH_PEER_CREDIT * 4);
    char endpoint [96];
    snprintf (endpoint, sizeof endpoint, "inproc://rh-peerlink-monitor-%016" PRIx64, self->nonce);
    if (rc != 0 || zmq_socket_monitor (*dealer, endpoint, S_EVENTS) != 0
        || zmq_connect (*monitor, endpoint) != 0 || zmq_connect (*dealer, self->endpoint) != 0)
        return -1;
    return 0;
}

//  Link thread: one connection event.
static void
s_event (rh_peerlink_t *self, void *monitor, void *dealer)
{
    zmq_msg_t event, address;
    zmq_msg_init (&event);
    zmq_msg_init (&address);
    if (zmq_msg_recv (&event, monitor, ZMQ_DONTWAIT) >= 0) {
        if (zmq_msg_more (&event))
            zmq_msg_recv (&address, monitor, 0);
        uint16_t type = 0;
        if (zmq_msg_size (&event) >= 2)
            memcpy (&type, zmq_msg_data (&event), 2);
        if (type == ZMQ_EVENT_HANDSHAKE_SUCCEEDED && !self->up) {
            self->up = true;
            //  A first frame at once: the peer closes a connection that stays silent.
            rh_frame_t hello = { .type = RH_FRAME_HELLO, .credit = 0 };
            size_t size = 0;
            uint8_t *bytes = rh_frame_encode (&hello, &size);
            if (bytes)
                zmq_send (dealer, bytes, size, ZMQ_DONTWAIT);
            free (bytes);
            s_tell (self->thread_pipe, RH_PEERLINK_UP, 0, NULL, NULL, NULL);
        }
        else if (type == ZMQ_EVENT_DISCONNECTED && self->up) {
            self->up = false;
            memset (self->flight, 0, sizeof self->flight);
            s_tell (self->thread_pipe, RH_PEERLINK_DOWN, 0, NULL, NULL, NULL);
        }
    }
    zmq_msg_close (&event);
    zmq_msg_close (&address);
}

//  Link thread: runs until the main loop sends an empty message.
static void *
s_run (void *arg)
{
    rh_peerlink_t *self = arg;
    void *dealer = NULL, *monitor = NULL;
    if (s_open (self, &dealer, &monitor) != 0)
        rh_log_error ("peerlink", "region %s: cannot open the link to %s: %s", self->region,
                      self->endpoint, zmq_strerror (errno));
    bool running = true;
    while (running) {
        zmq_pollitem_t items [3] = { { self->thread_pipe, 0, ZMQ_POLLIN, 0 },
                                     { dealer, 0, ZMQ_POLLIN, 0 },
                                     { monitor, 0, ZMQ_POLLIN, 0 } };
        if (zmq_poll (items, dealer && monitor ? 3 : 1, 1000) < 0 && errno != EINTR)
            break;
        zmq_msg_t message;
        zmq_msg_init (&message);
        while (running && zmq_msg_recv (&message, self->thread_pipe, ZMQ_DONTWAIT) >= 0) {
            if (zmq_msg_size (&message) == 0)
                running = false;
            else if (dealer)
                s_forward (self, dealer, zmq_msg_data (&message), zmq_msg_size (&message));
        }
        while (dealer && zmq_msg_recv (&message, dealer, ZMQ_DONTWAIT) >= 0)
            s_answer (self, zmq_msg_data (&message), zmq_msg_size (&message));
        zmq_msg_close (&message);
        if (monitor && (items [2].revents & ZMQ_POLLIN))
            s_event (self, monitor, dealer);
    }
    if (dealer) {
        zmq_socket_monitor (dealer, NULL, 0);
        zmq_close (dealer);
    }
    if (monitor)
        zmq_close (monitor);
    zmq_close (self->thread_pipe);
    self->thread_pipe = NULL;
    return NULL;
}

rh_peerlink_t *
rh_peerlink_new (void *context, const char *region, const char *endpoint,
                 const uint8_t peer_key [RH_PUBKEY_LEN], const uint8_t public_key [RH_PUBKEY_LEN],
                 const uint8_t secret_key [RH_PUBKEY_LEN], int heartbeat_ms)
{
    assert (context && region && endpoint && peer_key && public_key && secret_key);
    rh_peerlink_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->context = context;
    snprintf (self->region, sizeof self->region, "%s", region);
    snprintf (self->endpoint, sizeof self->endpoint, "%s", endpoint);
    memcpy (self->peer_key, peer_key, RH_PUBKEY_LEN);
    memcpy (self->public_key, public_key, RH_PUBKEY_LEN);
    memcpy (self->secret_key, secret_key, RH_PUBKEY_LEN);
    self->heartbeat_ms = heartbeat_ms;
    randombytes_buf (&self->nonce, sizeof self->nonce);
    snprintf (self->pipe_endpoint, sizeof self->pipe_endpoint, "inproc://rh-peerlink-%016" PRIx64,
              self->nonce);
    //  Events in flight at most: one per credit, plus up and down, several times over.
    int hwm = RH_PEER_CREDIT * 8;
    if (!(self->pipe = zmq_socket (context, ZMQ_PAIR)) || rh_pipe_limits (self->pipe, hwm) != 0
        || zmq_bind (self->pipe, self->pipe_endpoint) != 0
        || !(self->thread_pipe = zmq_socket (context, ZMQ_PAIR))
        || rh_pipe_limits (self->thread_pipe, hwm) != 0
        || zmq_connect (self->thread_pipe, self->pipe_endpoint) != 0
        || pthread_create (&self->thread, NULL, s_run, self) != 0) {
        rh_log_error ("peerlink", "region %s: cannot start the link", region);
        rh_peerlink_destroy (&self);
        return NULL;
    }
    self->started = true;
    rh_log_info ("peerlink", "linking to region %s's broker at %s", region, endpoint);
    return self;
}

void
rh_peerlink_destroy (rh_peerlink_t **self_p)
{
    assert (self_p);
    rh_peerlink_t *self = *self_p;
    if (!self)
        return;
    if (self->started) {
        //  An empty message stops the thread; the pipe has room for it even when full of
        //  deliveries, since the credit bounds those.
        zmq_send (self->pipe, "", 0, 0);
        pthread_join (self->thread, NULL);
    }
    else if (self->thread_pipe)
        zmq_close (self->thread_pipe);
    if (self->pipe)
        zmq_close (self->pipe);
    sodium_memzero (self->secret_key, sizeof self->secret_key);
    free (self);
    *self_p = NULL;
}

const char *
rh_peerlink_region (const rh_peerlink_t *self)
{
    return self->region;
}

const char *
rh_peerlink_endpoint (const rh_peerlink_t *self)
{
    return self->endpoint;
}

const uint8_t *
rh_peerlink_peer_key (const rh_peerlink_t *self)
{
    return self->peer_key;
}

void *
rh_peerlink_socket (rh_peerlink_t *self)
{
    return self->pipe;
}

int
rh_peerlink_send (rh_peerlink_t *self, const rh_frame_t *frame)
{
    assert (self && frame);
    size_t size = 0;
    uint8_t *bytes = rh_frame_encode (frame, &size);
    int rc = bytes ? zmq_send (self->pipe, bytes, size, ZMQ_DONTWAIT) : -1;
    free (bytes);
    return rc < 0 ? -1 : 0;
}

int
rh_peerlink_event (rh_peerlink_t *self, rh_peerlink_event_t *event)
{
    assert (self && event);
    int size = zmq_recv (self->pipe, event, sizeof *event, ZMQ_DONTWAIT);
    if (size != (int) sizeof *event)
        return -1;
    event->msg_id [RH_MAX_ID] = event->code [RH_MAX_ID] = event->reason [RH_MAX_REASON - 1] = 0;
    if (event->body_size > RH_MAX_WITNESS_REPLY)
        event->body_size = RH_MAX_WITNESS_REPLY;
    event->body [event->body_size] = 0;
    return 0;
}
