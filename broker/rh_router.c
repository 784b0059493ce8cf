/*  =========================================================================
    rh_router - the broker's transport: the CURVE ROUTER socket, the ZAP
    handler, frames in and out, and the replies that wait for the commit
    =========================================================================
*/
#include "rh_broker_classes.h"

#define RH_ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define RH_ZAP_DOMAIN   "rhannu"
#define RH_KEY_PROPERTY "X-Curve-Key"  //  ZAP metadata: the client's CURVE key, in hex
#define RH_MONITOR_EVENTS                                                                          \
    (ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED                   \
     | ZMQ_EVENT_CLOSED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL                                     \
     | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)

struct _rh_router_t {
    void *context;                         //  borrowed
    rh_config_t *config;                   //  borrowed: endpoint, handshake and heartbeat times
    rh_certstore_t *const *store;          //  borrowed slot: who ZAP admits (swapped on reload)
    rh_peers_t *const *peers;              //  borrowed slot: the federation in force (NULL: none)
    rh_audit_t *audit;                     //  borrowed: refused handshakes and frames
    uint8_t curve_secret [RH_PUBKEY_LEN];  //  the broker's CURVE secret key (cleared on destroy)
    void *router;                          //  the ROUTER agents connect to
    void *zap;                             //  the ZAP handler (REP)
    void *monitor;                         //  the ROUTER's connection events (PAIR)
    int monitor_serial;                    //  each ROUTER gets a monitor endpoint of its own
    rh_sessions_t *sessions;               //  live connections by descriptor
    rh_tally_t *tally;                     //  refusals waiting for their summary audit record
    int64_t tally_since_ms;                //  when the tally was last written to the audit log
    rh_reply_t *replies;                   //  replies held until the group commit
    size_t reply_count;
    size_t reply_capacity;
    uint64_t results [RH_RC_COUNT];  //  replies sent, by result (RH_OK: accepted)
    uint64_t duplicates;             //  of the accepted, those that were duplicates
};

//  Creates and binds the ROUTER: CURVE server with ZAP enforced, bounded frames and
//  handshakes, ROUTER_MANDATORY so that a send to a gone peer fails. Returns 0 or -1 (the
//  socket, if made, is left for the caller to close).
static int
s_setup (rh_router_t *self)
{
    self->router = zmq_socket (self->context, ZMQ_ROUTER);
    if (!self->router)
        return -1;
    int one = 1, zero = 0, linger = 0;
    int handshake = (int) rh_config_int (self->config, "net/handshake_ms");
    int heartbeat = (int) rh_config_int (self->config, "net/heartbeat_ms");
    int heartbeat_timeout = heartbeat * 3;
    int64_t max_size = RH_MAX_ENVELOPE + 4096;
    int hwm = 100000;
    if (zmq_setsockopt (self->router, ZMQ_CURVE_SERVER, &one, sizeof one)
        || zmq_setsockopt (self->router, ZMQ_CURVE_SECRETKEY, self->curve_secret, 32)
        || zmq_setsockopt (self->router, ZMQ_ZAP_DOMAIN, RH_ZAP_DOMAIN, strlen (RH_ZAP_DOMAIN))
        || zmq_setsockopt (self->router, ZMQ_ZAP_ENFORCE_DOMAIN, &one, sizeof one)
        || zmq_setsockopt (self->router, ZMQ_MAXMSGSIZE, &max_size, sizeof max_size)
        || zmq_setsockopt (self->router, ZMQ_HANDSHAKE_IVL, &handshake, sizeof handshake)
        || zmq_setsockopt (self->router, ZMQ_ROUTER_MANDATORY, &one, sizeof one)
        || zmq_setsockopt (self->router, ZMQ_ROUTER_HANDOVER, &zero, sizeof zero)
        || zmq_setsockopt (self->router, ZMQ_HEARTBEAT_IVL, &heartbeat, sizeof heartbeat)
        || zmq_setsockopt (self->router, ZMQ_HEARTBEAT_TIMEOUT, &heartbeat_timeout,
                           sizeof heartbeat_timeout)
        || zmq_setsockopt (self->router, ZMQ_SNDHWM, &hwm, sizeof hwm)
        || zmq_setsockopt (self->router, ZMQ_RCVHWM, &hwm, sizeof hwm)
        || zmq_setsockopt (self->router, ZMQ_LINGER, &linger, sizeof linger))
        return -1;
    //  The monitor tells which descriptor is which connection, and when one goes: the only
    //  way to bound what one certificate, or one misbehaving session, can hold.
    char address [64];
    snprintf (address, sizeof address, "inproc://rh-router-monitor-%d", ++self->monitor_serial);
    if (zmq_socket_monitor (self->router, address, RH_MONITOR_EVENTS) != 0
        || !(self->monitor = zmq_socket (self->context, ZMQ_PAIR))
        || zmq_setsockopt (self->monitor, ZMQ_LINGER, &linger, sizeof linger)
        || zmq_connect (self->monitor, address) != 0)
        return -1;
    const char *endpoint = rh_config_str (self->config, "bind/endpoint");
    if (zmq_bind (self->router, endpoint) != 0) {
        rh_log_error ("broker", "cannot bind %s: %s", endpoint, zmq_strerror (errno));
        return -1;
    }
    return 0;
}

//  Closes the ROUTER and its monitor; every connection goes with them.
static void
s_close (rh_router_t *self)
{
    int linger = 0;
    if (self->router) {
        zmq_socket_monitor (self->router, NULL, 0);
        zmq_setsockopt (self->router, ZMQ_LINGER, &linger, sizeof linger);
        zmq_close (self->router);
        self->router = NULL;
    }
    if (self->monitor) {
        zmq_close (self->monitor);
        self->monitor = NULL;
    }
}

//  Writes one summary of refusals as an audit record and an operator log line.
static void
s_summarise (void *arg, const rh_tally_entry_t *entry)
{
    rh_router_t *self = arg;
    char first [32], last [32], detail [400];
    const char *what = strcmp (entry->event, "HANDSHAKE_REFUSED") == 0 ? "handshake"
                       : strcmp (entry->event, "SESSION_CLOSED") == 0  ? "session"
                       : strcmp (entry->event, "SESSION_LOST") == 0    ? "lost session"
                                                                       : "frame";
    snprintf (detail, sizeof detail, "%" PRIu64 " %s%s %s %s %s, %s to %s", entry->count, what,
              entry->count == 1 ? "" : "s",
              strcmp (what, "frame") == 0     ? "that do not parse from"
              : strcmp (what, "session") == 0 ? "closed for"
                                              : "refused for CURVE key",
              entry->peer,
              strcmp (what, "session") == 0 ? "(malformed frames, silence or cap)" : "",
              rh_time_format (entry->first_ms, first, sizeof first),
              rh_time_format (entry->last_ms, last, sizeof last));
    const char *agency = strcmp (what, "handshake") == 0 ? NULL : entry->peer;
    rh_audit_event (self->audit, entry->event, entry->rc, NULL, agency, NULL, 0, NULL, 0, NULL,
                    detail);
    rh_log_warn ("broker", "%s", detail);
}

//  Closes a session the broker no longer serves, and counts why.
static void
s_drop (rh_router_t *self, int fd, const char *agency, int64_t now_ms)
{
    if (rh_sessions_close (self->sessions, fd) == 0)
        rh_tally_add (self->tally, "SESSION_CLOSED", RH_E_MALFORMED, agency ? agency : "-", now_ms);
}

rh_router_t *
rh_router_new (void *context, rh_config_t *config, const uint8_t curve_secret [RH_PUBKEY_LEN],
               rh_certstore_t *const *store, rh_audit_t *audit)
{
    assert (context && config && curve_secret && store && audit);
    rh_router_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->context = context;
    self->config = config;
    self->store = store;
    self->audit = audit;
    memcpy (self->curve_secret, curve_secret, sizeof self->curve_secret);
    //  The ZAP handler must be bound before any CURVE socket accepts a connection.
    self->zap = zmq_socket (context, ZMQ_REP);
    self->sessions =
        rh_sessions_new (RH_MAX_AGENCY_SESSIONS, RH_FIRST_FRAME_MS, RH_MAX_PROTO_ERRORS);
    self->tally = rh_tally_new (RH_MAX_TALLY_PEERS);
    self->tally_since_ms = rh_time_now_ms ();
    if (!self->zap || !self->sessions || !self->tally || zmq_bind (self->zap, RH_ZAP_ENDPOINT) != 0
        || s_setup (self) != 0)
        rh_router_destroy (&self);
    return self;
}

void
rh_router_destroy (rh_router_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        rh_router_t *self = *self_p;
        int linger = 0;
        s_close (self);
        if (self->zap) {
            zmq_setsockopt (self->zap, ZMQ_LINGER, &linger, sizeof linger);
            zmq_close (self->zap);
        }
        free (self->replies);
        rh_sessions_destroy (&self->sessions);
        rh_tally_destroy (&self->tally);
        sodium_memzero (self->curve_secret, sizeof self->curve_secret);
        free (self);
        *self_p = NULL;
    }
}

void *
rh_router_socket (rh_router_t *self)
{
    assert (self);
    return self->router;
}

void *
rh_router_zap_socket (rh_router_t *self)
{
    assert (self);
    return self->zap;
}

void *
rh_router_monitor_socket (rh_router_t *self)
{
    assert (self);
    return self->monitor;
}

int
rh_router_handle_monitor (rh_router_t *self, int64_t now_ms, rh_lost_t *lost)
{
    assert (self && lost);
    zmq_msg_t event, address;
    zmq_msg_init (&event);
    zmq_msg_init (&address);
    int rc = -1;
    if (zmq_msg_recv (&event, self->monitor, ZMQ_DONTWAIT) < 0)
        goto out;
    rc = 0;
    //  Two parts: 16-bit event and 32-bit value (the descriptor), then the endpoint.
    if (zmq_msg_more (&event))
        zmq_msg_recv (&address, self->monitor, 0);
    if (zmq_msg_size (&event) < 6)
        goto out;
    uint16_t type;
    uint32_t value;
    memcpy (&type, zmq_msg_data (&event), 2);
    memcpy (&value, (uint8_t *) zmq_msg_data (&event) + 2, 4);
    int fd = (int) value;
    const char *agency = rh_sessions_agency (self->sessions, fd);
    if (type == ZMQ_EVENT_DISCONNECTED && agency) {
        snprintf (lost->agency, sizeof lost->agency, "%s", agency);
        lost->connection = fd;
        rc = 1;
        //  Not closed by us: the agent went, the network failed, or the transport dropped a
        //  frame over its size limit (libzmq says no more than that). Summarised like refusals.
        if (!rh_sessions_closing (self->sessions, fd))
            rh_tally_add (self->tally, "SESSION_LOST", RH_E_IO, agency, now_ms);
    }
    rh_sessions_event (self->sessions, type, fd, now_ms);
out:
    zmq_msg_close (&event);
    zmq_msg_close (&address);
    return rc;
}

void
rh_router_tick (rh_router_t *self, int64_t now_ms, bool force)
{
    assert (self);
    int silent [64];
    size_t count = rh_sessions_silent (self->sessions, now_ms, silent, 64);
    for (size_t i = 0; i < count; i++)
        s_drop (self, silent [i], "(silent after the handshake)", now_ms);
    if (rh_tally_pending (self->tally) > 0
        && (force || now_ms - self->tally_since_ms >= RH_TALLY_INTERVAL_MS)) {
        rh_tally_drain (self->tally, s_summarise, self);
        self->tally_since_ms = now_ms;
    }
}

void
rh_router_set_peers (rh_router_t *self, rh_peers_t *const *peers)
{
    assert (self);
    self->peers = peers;
}

size_t
rh_router_sessions (rh_router_t *self, const char *agency)
{
    assert (self);
    return agency ? rh_sessions_count (self->sessions, agency) : rh_sessions_size (self->sessions);
}

int
rh_router_send (rh_router_t *self, const uint8_t *routing_id, size_t routing_id_size,
                const rh_frame_t *frame)
{
    assert (self && routing_id && frame);
    size_t size = 0;
    uint8_t *bytes = rh_frame_encode (frame, &size);
    int rc = -1;
    //  ROUTER_MANDATORY: a peer that went away makes this fail instead of vanishing silently.
    if (bytes
        && zmq_send (self->router, routing_id, routing_id_size, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0)
        rc = zmq_send (self->router, bytes, size, ZMQ_DONTWAIT);
    free (bytes);
    return rc < 0 ? -1 : 0;
}

//  Answers one ZAP request: admit a CURVE key only if an unrevoked certificate binds it.
void
rh_router_handle_zap (rh_router_t *self)
{
    assert (self);
    zmq_msg_t parts [8];
    int count = 0;
    bool more = true;
    while (more) {
        zmq_msg_t *part = &parts [count < 8 ? count : 7];
        if (count >= 8)
            zmq_msg_close (part);
        zmq_msg_init (part);
        if (zmq_msg_recv (part, self->zap, 0) < 0) {
            zmq_msg_close (part);
            break;
        }
        more = zmq_msg_more (part);
        if (count < 8)
            count++;
    }
    //  version, request id, domain, address, identity, mechanism, client key
    const char *status = "400", *text = "not allowed";
    char agency [RH_MAX_ID + 1] = "";
    if (count == 7 && zmq_msg_size (&parts [0]) == 3
        && !memcmp (zmq_msg_data (&parts [0]), "1.0", 3) && zmq_msg_size (&parts [5]) == 5
        && !memcmp (zmq_msg_data (&parts [5]), "CURVE", 5) && zmq_msg_size (&parts [6]) == 32) {
        const rh_identity_t *identity = NULL;
        int64_t now = rh_time_now_ms ();
        rh_rc_t rc =
            rh_certstore_by_curve (*self->store, zmq_msg_data (&parts [6]), now, &identity);
        //  Another region's broker, which the federation agreement trusts through its board's
        //  CA and its certificate's CN: known on its connection as RH_PEER_QUEUE_PREFIX REGION.
        const rh_fed_region_t *region =
            rc != RH_OK && self->peers && *self->peers
                ? rh_peers_broker_of (*self->peers, zmq_msg_data (&parts [6]), now)
                : NULL;
        char peer_name [RH_MAX_ID + 1];
        if (region) {
            snprintf (peer_name, sizeof peer_name, RH_PEER_QUEUE_PREFIX "%s", region->name);
            rc = rh_sessions_admit (self->sessions, peer_name, now) ? RH_OK : RH_E_BUSY;
            if (rc == RH_OK) {
                status = "200";
                text = "OK";
                snprintf (agency, sizeof agency, "%s", peer_name);
            }
            else
                text = "this region's broker holds as many sessions as it may";
        }
        else if (rc == RH_OK && strcmp (identity->type, "BROKER") == 0) {
            rc = RH_E_CERT_UNKNOWN;
            text = "broker key used as a client";
        }
        else if (rc == RH_OK
                 && strncmp (identity->agency_id, RH_PEER_QUEUE_PREFIX,
                             strlen (RH_PEER_QUEUE_PREFIX))
                        == 0) {
            //  That name is another region's broker's on its link: no agency may speak as one.
            rc = RH_E_CERT_UNKNOWN;
            text = "an agency id that names another region's link";
        }
        else if (rc == RH_OK && !rh_sessions_admit (self->sessions, identity->agency_id, now)) {
            //  Idle connections on one key must not take every descriptor from the others.
            rc = RH_E_BUSY;
            text = "this agency holds as many sessions as it may";
        }
        else if (rc != RH_OK)
            text = rh_rc_text (rc);
        if (region) {
            if (rc != RH_OK)
                rh_tally_add (self->tally, "HANDSHAKE_REFUSED", rc, peer_name, now);
        }
        else if (rc == RH_OK) {
            status = "200";
            text = "OK";
            snprintf (agency, sizeof agency, "%s", identity->agency_id);
        }
        else {
            //  Costs the sender nothing: counted per address, audited as a summary.
            char peer [RH_MAX_PEER + 1];
            snprintf (peer, sizeof peer, "%.*s%s%s",
                      (int) (zmq_msg_size (&parts [3]) < 64 ? zmq_msg_size (&parts [3]) : 64),
                      (const char *) zmq_msg_data (&parts [3]), rc == RH_E_BUSY ? " as " : "",
                      rc == RH_E_BUSY ? identity->agency_id : "");
            rh_tally_add (self->tally, "HANDSHAKE_REFUSED", rc, peer, now);
        }
    }
    if (count >= 2) {
        zmq_send (self->zap, "1.0", 3, ZMQ_SNDMORE);
        zmq_send (self->zap, zmq_msg_data (&parts [1]), zmq_msg_size (&parts [1]), ZMQ_SNDMORE);
        zmq_send (self->zap, status, 3, ZMQ_SNDMORE);
        zmq_send (self->zap, text, strlen (text), ZMQ_SNDMORE);
        zmq_send (self->zap, agency, strlen (agency), ZMQ_SNDMORE);
        //  Metadata: the key itself, which every frame then carries (the agency's name alone
        //  cannot tell its revoked certificate from its new one).
        uint8_t metadata [1 + sizeof RH_KEY_PROPERTY + 4 + 2 * RH_PUBKEY_LEN];
        size_t metadata_size = 0;
        if (*agency) {
            size_t name = strlen (RH_KEY_PROPERTY);
            metadata [0] = (uint8_t) name;
            memcpy (metadata + 1, RH_KEY_PROPERTY, name);
            uint8_t length [4] = { 0, 0, 0, 2 * RH_PUBKEY_LEN };
            memcpy (metadata + 1 + name, length, 4);
            char hex [2 * RH_PUBKEY_LEN + 1];
            sodium_bin2hex (hex, sizeof hex, zmq_msg_data (&parts [6]), RH_PUBKEY_LEN);
            memcpy (metadata + 1 + name + 4, hex, 2 * RH_PUBKEY_LEN);
            metadata_size = 1 + name + 4 + 2 * RH_PUBKEY_LEN;
        }
        zmq_send (self->zap, metadata, metadata_size, 0);
    }
    for (int i = 0; i < count; i++)
        zmq_msg_close (&parts [i]);
}

int
rh_router_take (rh_router_t *self, const char *agency, int fd, const uint8_t *routing_id,
                size_t routing_id_size, const uint8_t *body, size_t body_size, rh_inbound_t *in)
{
    assert (self && agency && routing_id && in);
    memset (in, 0, sizeof *in);
    if (routing_id_size == 0 || routing_id_size > sizeof in->routing_id || !*agency
        || strlen (agency) > RH_MAX_ID)
        return 0;  //  cannot happen with ZAP enforced
    int64_t now = rh_time_now_ms ();
    rh_rc_t rc = rh_frame_decode (body, body_size, &in->frame);
    if (rc != RH_OK) {
        //  Counted and summarised, not one audit leaf each; a session that keeps at it is
        //  closed, and its replies stop with it.
        rh_tally_add (self->tally, "REJECTED", rc, agency, now);
        if (rh_sessions_malformed (self->sessions, fd) == RH_SESSION_PROTO_ERRORS)
            s_drop (self, fd, agency, now);
        else
            rh_router_reply (self, routing_id, routing_id_size, "", rc, false,
                             "the transport frame does not parse");
        return 0;
    }
    int evict = -1;
    if (rh_sessions_frame (self->sessions, fd, agency, now, &evict) == RH_SESSION_OVER_CAP) {
        rh_log_warn ("broker", "%s holds more than %d sessions; closing its least active one",
                     agency, RH_MAX_AGENCY_SESSIONS);
        s_drop (self, evict, agency, now);
        if (evict == fd) {
            rh_frame_release (&in->frame);
            return 0;
        }
    }
    snprintf (in->agency, sizeof in->agency, "%s", agency);
    memcpy (in->routing_id, routing_id, routing_id_size);
    in->routing_id_size = routing_id_size;
    in->connection = fd;
    return 1;
}

//  Whether the session's own certificate (the one its CURVE key belongs to) is valid now for
//  the agency it speaks for. A session whose key is not known is judged by its agency's name.
static bool
s_session_valid (rh_router_t *self, int fd, const char *agency, int64_t now_ms)
{
    const uint8_t *key = rh_sessions_key (self->sessions, fd);
    rh_peers_t *peers = self->peers ? *self->peers : NULL;
    if (strncmp (agency, RH_PEER_QUEUE_PREFIX, strlen (RH_PEER_QUEUE_PREFIX)) == 0) {
        //  A peer region's broker: still trusted through the federation agreement in force.
        const rh_fed_region_t *peer = key && peers ? rh_peers_broker_of (peers, key, now_ms) : NULL;
        return peer && strcmp (peer->name, agency + strlen (RH_PEER_QUEUE_PREFIX)) == 0;
    }
    if (!key)
        return rh_certstore_enrolled (*self->store, agency, now_ms) != NULL;
    const rh_identity_t *identity = NULL;
    return rh_certstore_by_curve (*self->store, key, now_ms, &identity) == RH_OK
           && strcmp (identity->agency_id, agency) == 0;
}

//  Remembers the key a session authenticated with, from its first frame's metadata, and closes
//  it if that key's certificate is no longer valid (revoked between handshake and first frame).
//  Returns 0, or -1 if the session was closed.
static int
s_note_key (rh_router_t *self, int fd, const char *agency, const char *hex)
{
    uint8_t key [RH_PUBKEY_LEN];
    size_t got = 0;
    if (hex && strlen (hex) == 2 * RH_PUBKEY_LEN
        && sodium_hex2bin (key, sizeof key, hex, strlen (hex), NULL, &got, NULL) == 0
        && got == RH_PUBKEY_LEN)
        rh_sessions_set_key (self->sessions, fd, key);
    int64_t now = rh_time_now_ms ();
    if (s_session_valid (self, fd, agency, now))
        return 0;
    rh_log_warn ("broker", "%s: the certificate of this session is no longer valid; closing it",
                 agency);
    rh_audit_event (self->audit, "DISCONNECTED", RH_E_REVOKED, NULL, agency, NULL, 0, NULL, 0, NULL,
                    "the session's certificate is no longer valid");
    rh_sessions_close (self->sessions, fd);
    return -1;
}

size_t
rh_router_close_invalid (rh_router_t *self, int64_t now_ms, rh_lost_t *closed, size_t max)
{
    assert (self && closed);
    int fds [256];
    size_t count = 0, found = rh_sessions_bound (self->sessions, fds, 256);
    for (size_t i = 0; i < found && count < max; i++) {
        const char *agency = rh_sessions_agency (self->sessions, fds [i]);
        if (!agency || s_session_valid (self, fds [i], agency, now_ms))
            continue;
        snprintf (closed [count].agency, sizeof closed [count].agency, "%s", agency);
        closed [count].connection = fds [i];
        if (rh_sessions_close (self->sessions, fds [i]) == 0)
            count++;
    }
    return count;
}

int
rh_router_recv (rh_router_t *self, rh_inbound_t *in)
{
    assert (self && in);
    int taken = 0;
    zmq_msg_t routing, body;
    zmq_msg_init (&routing);
    zmq_msg_init (&body);
    if (zmq_msg_recv (&routing, self->router, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close (&routing);
        zmq_msg_close (&body);
        return -1;
    }
    if (!zmq_msg_more (&routing) || zmq_msg_recv (&body, self->router, 0) < 0)
        goto done;
    while (zmq_msg_more (&body)) {
        //  We only ever expect one frame after the routing id; drop the rest.
        zmq_msg_t extra;
        zmq_msg_init (&extra);
        zmq_msg_recv (&extra, self->router, 0);
        bool again = zmq_msg_more (&extra);
        zmq_msg_close (&extra);
        if (!again)
            break;
    }
    const char *user = zmq_msg_gets (&body, "User-Id");
    int fd = zmq_msg_get (&body, ZMQ_SRCFD);
    taken =
        rh_router_take (self, user ? user : "", fd, zmq_msg_data (&routing),
                        zmq_msg_size (&routing), zmq_msg_data (&body), zmq_msg_size (&body), in);
    if (taken == 1 && !rh_sessions_key (self->sessions, fd)
        && s_note_key (self, fd, in->agency, zmq_msg_gets (&body, RH_KEY_PROPERTY)) != 0) {
        rh_frame_release (&in->frame);
        taken = 0;
    }
done:
    zmq_msg_close (&routing);
    zmq_msg_close (&body);
    return taken;
}

rh_reply_t *
rh_router_reply (rh_router_t *self, const uint8_t *routing_id, size_t routing_id_size,
                 const char *msg_id, rh_rc_t rc, bool duplicate, const char *reason)
{
    assert (self && routing_id && routing_id_size <= sizeof self->replies->routing_id);
    if (self->reply_count == self->reply_capacity) {
        size_t capacity = self->reply_capacity ? self->reply_capacity * 2 : 256;
        rh_reply_t *grown = realloc (self->replies, capacity * sizeof *grown);
        if (!grown)
            return NULL;  //  no reply: the agent resends and gets one then
        self->replies = grown;
        self->reply_capacity = capacity;
    }
    rh_reply_t *reply = &self->replies [self->reply_count++];
    memcpy (reply->routing_id, routing_id, routing_id_size);
    reply->routing_id_size = routing_id_size;
    snprintf (reply->msg_id, sizeof reply->msg_id, "%s", msg_id ? msg_id : "");
    reply->rc = rc;
    reply->duplicate = duplicate;
    snprintf (reply->reason, sizeof reply->reason, "%s", reason ? reason : rh_rc_text (rc));
    reply->rule_id [0] = reply->agreement_id [0] = reply->missing [0] = 0;
    return reply;
}

size_t
rh_router_replies (rh_router_t *self)
{
    assert (self);
    return self->reply_count;
}

void
rh_router_flush (rh_router_t *self)
{
    assert (self);
    for (size_t i = 0; i < self->reply_count; i++) {
        rh_reply_t *reply = &self->replies [i];
        rh_frame_t frame = { .msg_id = reply->msg_id };
        self->results [(unsigned) reply->rc < RH_RC_COUNT ? reply->rc : RH_E_MALFORMED]++;
        self->duplicates += reply->rc == RH_OK && reply->duplicate;
        if (reply->rc == RH_OK) {
            frame.type = RH_FRAME_ACCEPTED;
            frame.duplicate = reply->duplicate;
        }
        else {
            frame.type = RH_FRAME_REJECTED;
            frame.code = rh_rc_name (reply->rc);
            frame.reason = reply->reason;
            frame.rule_id = reply->rule_id;
            frame.agreement_id = reply->agreement_id;
            frame.missing_condition = reply->missing;
        }
        rh_router_send (self, reply->routing_id, reply->routing_id_size, &frame);
    }
    self->reply_count = 0;
}

const uint64_t *
rh_router_results (rh_router_t *self, uint64_t *duplicates)
{
    assert (self);
    if (duplicates)
        *duplicates = self->duplicates;
    return self->results;
}
