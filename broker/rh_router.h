/*  =========================================================================
    rh_router - the broker's transport: the CURVE ROUTER socket agents
    connect to, the ZAP handler that admits them, frames in and out, and
    the replies that wait for the group commit

    ZAP admits a CURVE key only if an unrevoked agency certificate binds
    it; the agency becomes the connection's User-Id, so every frame read
    here carries the authenticated agency, and the key itself rides along
    as ZAP metadata: each session remembers the key it authenticated with,
    so that a reload closes exactly the sessions whose own certificate is
    no longer valid. A frame that does not parse is
    audited and answered here; every other frame is handed to the caller
    decoded (rh_router_recv). Replies to submissions are held until the
    caller has committed what they acknowledge (rh_router_flush).
    =========================================================================
*/
#ifndef RH_ROUTER_H_INCLUDED
#define RH_ROUTER_H_INCLUDED

typedef struct _rh_router_t rh_router_t;

//  One frame an authenticated agent sent.
typedef struct {
    uint8_t routing_id [256];  //  the connection it came on
    size_t routing_id_size;
    char agency [RH_MAX_ID + 1];  //  authenticated agency (ZAP User-Id)
    int connection;               //  its socket descriptor: names the session
    rh_frame_t frame;             //  decoded; the caller releases it with rh_frame_release
} rh_inbound_t;

//  A bound session that went away (its agent's messages in flight must go again).
typedef struct {
    char agency [RH_MAX_ID + 1];
    int connection;
} rh_lost_t;

//  A reply that waits for the group commit.
typedef struct {
    uint8_t routing_id [256];
    size_t routing_id_size;
    char msg_id [RH_MAX_ID + 1];
    rh_rc_t rc;
    bool duplicate;
    char reason [RH_MAX_REASON];
    char rule_id [RH_MAX_ID + 1];  //  policy refusals: which rule of which agreement
    char agreement_id [RH_MAX_ID + 1];
    char missing [RH_MAX_ID + 1];
} rh_reply_t;

//  Binds the ZAP handler, then the ROUTER on config's bind/endpoint with the broker's CURVE
//  secret key (copied). context, config and audit are borrowed; store is the owner's slot,
//  read on every handshake, because a reload swaps what it points to. Returns NULL (and logs
//  why) on failure.
rh_router_t *rh_router_new (void *context, rh_config_t *config,
                            const uint8_t curve_secret [RH_PUBKEY_LEN],
                            rh_certstore_t *const *store, rh_audit_t *audit);

void rh_router_destroy (rh_router_t **self_p);

//  Gives ZAP the owner's slot of the federation in force (NULL inside it: none): a peer
//  region's broker is then admitted as RH_PEER_QUEUE_PREFIX REGION (rh_peers_broker_of), and
//  its sessions are closed when the agreement in force no longer trusts its key.
void rh_router_set_peers (rh_router_t *self, rh_peers_t *const *peers);

//  The sockets the caller polls: the ROUTER, and the ZAP handler.
void *rh_router_socket (rh_router_t *self);
void *rh_router_zap_socket (rh_router_t *self);

//  The socket of the ROUTER's connection events.
void *rh_router_monitor_socket (rh_router_t *self);

//  Takes one connection event. Returns 1 when it was the loss of a session bound to an agency
//  (filling *lost), 0 for any other event, -1 if none waited.
int rh_router_handle_monitor (rh_router_t *self, int64_t now_ms, rh_lost_t *lost);

//  Closes sessions that stayed silent after their handshake, and writes the summaries of
//  refused handshakes, malformed frames and closed sessions to the audit log once an interval
//  has passed (or now, if force: a clean stop leaves nothing uncounted).
void rh_router_tick (rh_router_t *self, int64_t now_ms, bool force);

//  Closes every live session whose own certificate (the one its CURVE key belongs to) is no
//  longer valid at now_ms in the store in force (revoked, expired, gone, or now another
//  agency's), and only those: the agency may hold a newer certificate. Fills closed (up to max)
//  with each session closed. Returns how many.
size_t rh_router_close_invalid (rh_router_t *self, int64_t now_ms, rh_lost_t *closed, size_t max);

//  Live sessions of agency, or every live connection if agency is NULL.
size_t rh_router_sessions (rh_router_t *self, const char *agency);

//  Answers one ZAP request (call when the ZAP socket is readable).
void rh_router_handle_zap (rh_router_t *self);

//  Reads one message. Returns 1 with a decoded frame in *in; 0 if a message was taken that
//  needs nothing from the caller (dropped, or audited and answered here); -1 if none waited.
int rh_router_recv (rh_router_t *self, rh_inbound_t *in);

//  Takes one frame body that agency sent on connection fd (what rh_router_recv does with a
//  message, and what the fuzz harness drives directly): decodes it, counts and answers it if it
//  does not parse (closing a session that keeps at it), and enforces the per-agency session
//  cap. Returns 1 with the decoded frame in *in, or 0 if nothing is left for the caller.
int rh_router_take (rh_router_t *self, const char *agency, int fd, const uint8_t *routing_id,
                    size_t routing_id_size, const uint8_t *body, size_t body_size,
                    rh_inbound_t *in);

//  Sends one frame on a connection, now. Returns 0, or -1 with errno set (EHOSTUNREACH: the
//  peer has gone).
int rh_router_send (rh_router_t *self, const uint8_t *routing_id, size_t routing_id_size,
                    const rh_frame_t *frame);

//  Holds an ACCEPTED (rc RH_OK) or REJECTED reply for the next rh_router_flush; reason NULL
//  means rc's own text. Returns the reply, so that a refusal can name its rule, or NULL if it
//  cannot be held (no reply: the agent resends and gets one then).
rh_reply_t *rh_router_reply (rh_router_t *self, const uint8_t *routing_id, size_t routing_id_size,
                             const char *msg_id, rh_rc_t rc, bool duplicate, const char *reason);

//  Replies held.
size_t rh_router_replies (rh_router_t *self);

//  Sends every reply held. Call only once what they acknowledge is committed.
void rh_router_flush (rh_router_t *self);

//  Replies sent since start, by result: RH_RC_COUNT counts indexed by rh_rc_t (RH_OK: accepted).
//  duplicates, if not NULL, gets how many of the accepted were duplicates.
const uint64_t *rh_router_results (rh_router_t *self, uint64_t *duplicates);

#endif
