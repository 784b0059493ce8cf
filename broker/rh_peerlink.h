/*  =========================================================================
    rh_peerlink - the link from this region's broker to another region's

    One thread per peer region. It connects to the peer's broker as a
    client (DEALER, CURVE: this broker's own key, which the peer admits
    through the federation agreement; the peer broker's key from the
    BROKER certificate its board gave ours) and forwards what the main loop
    hands it: the sender's original sealed bytes, unchanged, as a Submit.
    It keeps nothing itself: the per-peer queue (rh_queue, durable) holds
    each crossing until the peer's broker answers Accepted, which it sends
    only once the message is stored there (its group commit), or refuses
    it for good.

    The main loop talks to the link over an inproc PAIR, with the queue's
    own credit bound (RH_PEER_CREDIT deliveries in flight), so no send on
    it ever blocks:
        main -> link   a Deliver frame (rh_frame_encode) as rh_queue sends, or this
                       broker's latest Checkpoint or a WitnessRequest (one at a
                       time: rh_cosigner), which the link passes on
        link -> main   read with rh_peerlink_event: up (bind the queue,
                       which sends everything unacknowledged again from the
                       head, in order), down (unbind; in flight goes again
                       at the next up), stored (acknowledge delivery_id),
                       refused (the peer refused delivery_id for good),
                       waiting (the peer cannot take it yet: busy, its clock,
                       or a certificate or CRL its board has not given it),
                       witnessed (the peer's WitnessReply)
    The peer drops a message it already stored by its id (and answers
    Accepted again), so a crossing sent twice is stored once.
    =========================================================================
*/
#ifndef RH_PEERLINK_H_INCLUDED
#define RH_PEERLINK_H_INCLUDED

typedef struct _rh_peerlink_t rh_peerlink_t;

typedef enum {
    RH_PEERLINK_NONE = 0,
    RH_PEERLINK_UP,        //  the peer's broker let us in
    RH_PEERLINK_DOWN,      //  the connection went (in flight must go again)
    RH_PEERLINK_STORED,    //  the peer stored delivery_id (or had it already)
    RH_PEERLINK_REFUSED,   //  the peer refused delivery_id for good: code, reason
    RH_PEERLINK_WAITING,   //  the peer cannot take delivery_id yet: code, reason (goes again)
    RH_PEERLINK_WITNESSED  //  the peer answered our witness request: status, body
} rh_peerlink_kind_t;

typedef struct {
    rh_peerlink_kind_t kind;
    uint64_t delivery_id;
    char msg_id [RH_MAX_ID + 1];
    char code [RH_MAX_ID + 1];
    char reason [RH_MAX_REASON];
    uint32_t status;                       //  WITNESSED: the tlog-witness status
    char body [RH_MAX_WITNESS_REPLY + 1];  //  WITNESSED: its body, NUL-terminated
    size_t body_size;
} rh_peerlink_event_t;

//  Starts the link to region's broker at endpoint, whose CURVE key is peer_key, with this
//  broker's keys (copied, cleared on destroy). heartbeat_ms finds a silent peer. Returns NULL
//  (logged) on failure.
rh_peerlink_t *rh_peerlink_new (void *context, const char *region, const char *endpoint,
                                const uint8_t peer_key [RH_PUBKEY_LEN],
                                const uint8_t public_key [RH_PUBKEY_LEN],
                                const uint8_t secret_key [RH_PUBKEY_LEN], int heartbeat_ms);

//  Stops the thread (it never blocks on the peer) and frees everything.
void rh_peerlink_destroy (rh_peerlink_t **self_p);

//  The region it links to.
const char *rh_peerlink_region (const rh_peerlink_t *self);

//  Where it connects, and the peer broker's CURVE key it expects (RH_PUBKEY_LEN bytes): a
//  reload that changes either starts a new link.
const char *rh_peerlink_endpoint (const rh_peerlink_t *self);
const uint8_t *rh_peerlink_peer_key (const rh_peerlink_t *self);

//  The main loop's end of the pipe (poll ZMQ_POLLIN for events).
void *rh_peerlink_socket (rh_peerlink_t *self);

//  Hands one frame the queue sends to the link, without blocking. Returns 0, or -1 (errno
//  EAGAIN: the pipe is full, which the credit bound prevents; the queue sends it again).
int rh_peerlink_send (rh_peerlink_t *self, const rh_frame_t *frame);

//  Reads one event without blocking. Returns 0, or -1 if none waited.
int rh_peerlink_event (rh_peerlink_t *self, rh_peerlink_event_t *event);

#endif
