/*  =========================================================================
    rh_broker - the rhannu broker: authenticate, verify, store, deliver

    Keys in the database:
      q/<agency>/<seq>   a message queued for agency (Queued)
      t/<agency>         last queue sequence given out for agency
      x/<agency>/<seq>   dead letter (Queued)
      m/<msg id>         replay state: header hash and sender (rh_replay)
      r/<agency>         replay state: sequence window (rh_replay)
      a/<seq>            audit record (rh_audit)
      b/seq              the broker's own message sequence
      p/<agreement id>   highest version of the agreement ever loaded (refuses rollback)
      g/<id>/<version>   that agreement as signed: signature (64 bytes) then the file
      k/, kh/, d/, s/    referral lifecycles, deadlines by due time, subjects (rh_cases)
      ka/<alert msg id>  a repeat-referral alert a case waits on: the case's referral id
    =========================================================================
*/
#include "rh_classes.h"
#include "rh_audit.h"
#include "rh_replay.h"
#include "rh_verifier.h"
#include "rh_cases.h"
#include "rh_notice.h"
#include "rhannu.pb-c.h"
#include "rh_broker.h"

#define RH_ZAP_ENDPOINT    "inproc://zeromq.zap.01"
#define RH_ZAP_DOMAIN      "rhannu"
#define RH_TICK_MS         100
#define RH_REBIND_ATTEMPTS 100    //  after a CRL reload closed every connection
#define RH_REBIND_PAUSE_US 20000  //  between attempts: the I/O thread releases the port soon

const rh_cfg_spec_t rh_broker_config_spec [] = {
    //  key                      type        min   max         default                  req
    { "bind/endpoint", RH_CFG_STR, 0, 0, "tcp://127.0.0.1:5670", false,
      "ZeroMQ endpoint agents connect to" },
    { "pki/dir", RH_CFG_STR, 0, 0, NULL, true,
      "PKI folder: ca.pem, crl.pem, one folder per agency" },
    { "pki/identity", RH_CFG_STR, 0, 0, "broker", false,
      "the broker's own folder in pki/dir (cert, keys)" },
    { "data/dir", RH_CFG_STR, 0, 0, NULL, true, "folder for the broker's LevelDB" },
    { "policy/dir", RH_CFG_STR, 0, 0, NULL, true,
      "sharing agreements in force: *.yaml, each with its CA signature *.yaml.sig" },
    { "net/handshake_ms", RH_CFG_INT, 100, 600000, "10000", false,
      "time a connection has to finish its CURVE handshake" },
    { "net/heartbeat_ms", RH_CFG_INT, 100, 600000, "5000", false,
      "ZMTP heartbeat interval; a silent peer is dropped after three" },
    { "clock/offset_file", RH_CFG_STR, 0, 0, "", false,
      "tests only: a file holding milliseconds added to the clock (deadlines in seconds)" },
    { "audit/checkpoint_every", RH_CFG_INT, 1, 10000000, "1000", false,
      "sign a checkpoint of the audit log after this many records..." },
    { "audit/checkpoint_ms", RH_CFG_INT, 100, 86400000, "60000", false,
      "...or this long after the last one, whichever comes first" },
    { "verify/workers", RH_CFG_INT, 0, 16, "0", false,
      "signature-verify threads (0: one per core)" },
    { "commit/max_batch", RH_CFG_INT, 1, RH_MAX_BATCH, "256", false,
      "messages in one group commit at most" },
    { "delivery/redeliver_ms", RH_CFG_INT, 100, 86400000, "30000", false,
      "resend an unacknowledged delivery after this long" },
    { "delivery/max_attempts", RH_CFG_INT, 1, 1000, "10", false,
      "deliveries without acknowledgement before a message is dead-lettered" },
    { "delivery/expiry_days", RH_CFG_INT, 1, 3650, "30", false,
      "default life of a queued message (the sender may set a shorter one)" },
    { NULL }
};

typedef struct {
    uint64_t seq;
    int64_t sent_ms;
    uint32_t kind;                //  a referral or alert taken in moves a case on
    char msg_id [RH_MAX_ID + 1];  //  for the audit record of its acknowledgement
} s_flight_t;

//  An agency as a delivery target.
typedef struct {
    char agency [RH_MAX_ID + 1];
    uint8_t routing_id [256];  //  connection bound by the agency's latest Hello
    size_t routing_id_size;
    bool bound;               //  a Hello bound a live connection
    uint32_t window;          //  credit the agent asked for
    uint64_t tail;            //  last queue sequence given out
    uint64_t committed_tail;  //  last queue sequence known to be committed (may lag, never lead)
    uint64_t cursor;          //  next queue sequence to send
    s_flight_t *flights;      //  sent, not yet acknowledged, in send order
    size_t flight_count;
    size_t flight_capacity;
    bool ready;  //  may have something to send
} s_peer_t;

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
} s_reply_t;

struct _rh_broker_t {
    rh_config_t *config;  //  borrowed
    char pki_dir [PATH_MAX];
    void *context;
    void *router;
    void *zap;
    uint8_t curve_public [32];
    uint8_t curve_secret [32];
    rh_certstore_t *store;       //  for ZAP and recipients; workers have their own
    rh_signer_t *signer;         //  the broker's own identity, for notices
    rh_policy_t *policy;         //  the sharing agreements in force
    rh_cases_t *cases;           //  referral lifecycles
    int64_t clock_offset;        //  added to the clock (tests: clock/offset_file)
    int64_t last_checkpoint_ms;  //  when the audit log was last checkpointed
    rh_checkpoint_t published;   //  the last checkpoint committed and sent to the agents
    rh_db_t *db;
    rh_audit_t *audit;
    rh_replay_t *replay;
    rh_verifier_t *verifier;
    s_peer_t *peers;
    size_t peer_count;
    s_reply_t *replies;
    size_t reply_count;
    size_t reply_capacity;
    uint64_t own_sequence;  //  sequence of broker-made messages
    int64_t expiry_ms;      //  default message life
    int64_t redeliver_ms;
    uint32_t max_attempts;
    size_t max_batch;
    int64_t last_tick;
};

//  The broker's clock: real time, plus the test offset when clock/offset_file is set.
static int64_t
s_now (rh_broker_t *self)
{
    return rh_time_now_ms () + self->clock_offset;
}

//  Tests move the clock by writing milliseconds into clock/offset_file; read once per tick.
static void
s_read_clock (rh_broker_t *self)
{
    const char *path = rh_config_str (self->config, "clock/offset_file");
    uint8_t *text = NULL;
    size_t size = 0;
    if (!*path || rh_file_read (path, 64, &text, &size) != 0)
        return;
    char buffer [65];
    memcpy (buffer, text, size);
    buffer [size] = 0;
    free (text);
    char *end = NULL;
    long long offset = strtoll (buffer, &end, 10);
    if (end != buffer && offset >= 0)
        self->clock_offset = offset;
}

//  ---------------------------------------------------------------------------------------------
//  Peers and queues

static s_peer_t *
s_peer (rh_broker_t *self, const char *agency)
{
    for (size_t i = 0; i < self->peer_count; i++)
        if (strcmp (self->peers [i].agency, agency) == 0)
            return &self->peers [i];
    if (self->peer_count >= RH_MAX_AGENCIES)
        return NULL;
    s_peer_t *peer = &self->peers [self->peer_count++];
    memset (peer, 0, sizeof *peer);
    snprintf (peer->agency, sizeof peer->agency, "%s", agency);
    char key [RH_MAX_ID + 8];
    snprintf (key, sizeof key, "t/%s", agency);
    uint8_t *value = NULL;
    size_t size = 0;
    if (rh_db_get (self->db, key, strlen (key), &value, &size) == 0 && size == 8)
        memcpy (&peer->tail, value, 8);
    free (value);
    peer->committed_tail = peer->tail;
    peer->cursor = peer->tail + 1;
    return peer;
}

static void
s_queue_key (const char *prefix, const char *agency, uint64_t seq, char *key, size_t size)
{
    snprintf (key, size, "%s/%s/%020" PRIu64, prefix, agency, seq);
}

//  Lowest queued sequence of a peer (tail + 1 when the queue is empty).
static uint64_t
s_queue_head (rh_broker_t *self, s_peer_t *peer)
{
    char prefix [RH_MAX_ID + 8];
    snprintf (prefix, sizeof prefix, "q/%s/", peer->agency);
    //  Reads see only committed entries: an empty committed queue starts after the committed
    //  tail, never after entries still in the pending batch (they would be skipped).
    uint64_t head = peer->committed_tail + 1;
    rh_db_iter_t *iter = rh_db_iter_new (self->db, prefix, strlen (prefix));
    if (iter && rh_db_iter_valid (iter)) {
        size_t size = 0;
        const uint8_t *key = rh_db_iter_key (iter, &size);
        uint64_t seq = rh_db_key_sequence (key, size, strlen (prefix));
        if (seq != UINT64_MAX)
            head = seq;
    }
    rh_db_iter_destroy (&iter);
    return head;
}

//  Puts a message in an agency's queue (pending batch).
static int
s_enqueue (rh_broker_t *self, const char *agency, const char *msg_id, const char *sender,
           const uint8_t *sealed, size_t size, int64_t expires_ms, const rh_decision_t *decision,
           uint32_t kind)
{
    s_peer_t *peer = s_peer (self, agency);
    if (!peer)
        return -1;
    rh_queued_t record = { .msg_id = msg_id,
                           .sender = sender,
                           .sealed = sealed,
                           .sealed_size = size,
                           .enqueued_ms = s_now (self),
                           .expires_ms = expires_ms,
                           .kind = kind };
    if (decision && decision->agreement) {
        record.agreement_id = rh_agreement_id (decision->agreement);
        record.agreement_version = rh_agreement_version (decision->agreement);
        record.rule_id = decision->rule_id;
    }
    size_t record_size = 0;
    uint8_t *bytes = rh_record_encode_queued (&record, &record_size);
    if (!bytes)
        return -1;
    char key [RH_MAX_QUEUE_KEY];
    peer->tail++;
    s_queue_key ("q", agency, peer->tail, key, sizeof key);
    rh_db_put (self->db, key, strlen (key), bytes, record_size);
    snprintf (key, sizeof key, "t/%s", agency);
    rh_db_put (self->db, key, strlen (key), &peer->tail, 8);
    free (bytes);
    peer->ready = true;
    return 0;
}

static void
s_audit_decided (rh_broker_t *self, const char *event, rh_rc_t rc, const char *msg_id,
                 const char *agency, const char *const *recipients, size_t recipient_count,
                 const uint8_t *sealed, size_t sealed_size, const uint8_t *frame_sha256,
                 const char *detail, const rh_audit_decision_t *decisions, size_t decision_count,
                 const char *case_id)
{
    rh_audit_record_t record = { .event = event,
                                 .code = rh_rc_name (rc),
                                 .msg_id = msg_id,
                                 .agency = agency,
                                 .recipients = recipients,
                                 .recipient_count = recipient_count,
                                 .sealed = sealed,
                                 .sealed_size = sealed_size,
                                 .detail = detail,
                                 .frame_sha256 = frame_sha256,
                                 .decisions = decisions,
                                 .decision_count = decision_count,
                                 .case_id = case_id };
    if (rh_audit_append (self->audit, &record) != 0)
        rh_log_error ("broker", "cannot append audit record for %s", msg_id ? msg_id : "-");
}

static void
s_audit (rh_broker_t *self, const char *event, rh_rc_t rc, const char *msg_id, const char *agency,
         const char *const *recipients, size_t recipient_count, const uint8_t *sealed,
         size_t sealed_size, const uint8_t *frame_sha256, const char *detail)
{
    s_audit_decided (self, event, rc, msg_id, agency, recipients, recipient_count, sealed,
                     sealed_size, frame_sha256, detail, NULL, 0, NULL);
}

//  ---------------------------------------------------------------------------------------------
//  Replies

static void
s_send_frame (rh_broker_t *self, const uint8_t *routing_id, size_t routing_id_size,
              const rh_frame_t *frame)
{
    size_t size = 0;
    uint8_t *bytes = rh_frame_encode (frame, &size);
    if (!bytes)
        return;
    //  ROUTER_MANDATORY: a peer that went away makes this fail instead of vanishing silently.
    if (zmq_send (self->router, routing_id, routing_id_size, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0)
        zmq_send (self->router, bytes, size, ZMQ_DONTWAIT);
    free (bytes);
}

static s_reply_t *
s_queue_reply (rh_broker_t *self, const uint8_t *routing_id, size_t routing_id_size,
               const char *msg_id, rh_rc_t rc, bool duplicate, const char *reason)
{
    if (self->reply_count == self->reply_capacity) {
        size_t capacity = self->reply_capacity ? self->reply_capacity * 2 : 256;
        s_reply_t *grown = realloc (self->replies, capacity * sizeof *grown);
        if (!grown)
            return NULL;  //  no reply: the agent resends and gets one then
        self->replies = grown;
        self->reply_capacity = capacity;
    }
    s_reply_t *reply = &self->replies [self->reply_count++];
    memcpy (reply->routing_id, routing_id, routing_id_size);
    reply->routing_id_size = routing_id_size;
    snprintf (reply->msg_id, sizeof reply->msg_id, "%s", msg_id ? msg_id : "");
    reply->rc = rc;
    reply->duplicate = duplicate;
    snprintf (reply->reason, sizeof reply->reason, "%s", reason ? reason : rh_rc_text (rc));
    reply->rule_id [0] = reply->agreement_id [0] = reply->missing [0] = 0;
    return reply;
}

static void
s_flush_replies (rh_broker_t *self)
{
    for (size_t i = 0; i < self->reply_count; i++) {
        s_reply_t *reply = &self->replies [i];
        rh_frame_t frame = { .msg_id = reply->msg_id };
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
        s_send_frame (self, reply->routing_id, reply->routing_id_size, &frame);
    }
    self->reply_count = 0;
}

//  ---------------------------------------------------------------------------------------------
//  Broker-made messages

//  Tells a sender that a message could not be delivered: a broker-signed ALERT in its queue.
static void
s_non_delivery (rh_broker_t *self, const rh_queued_t *queued, const char *recipient,
                const char *why)
{
    //  A notice about a notice is not sent: that way lies a loop.
    if (!self->signer || strcmp (queued->sender, rh_signer_agency (self->signer)) == 0)
        return;
    char summary_en [512], summary_cy [512];
    snprintf (summary_en, sizeof summary_en,
              "Your message %s to %s could not be delivered: %s. Please contact them another "
              "way if it is still needed.",
              queued->msg_id, recipient, why);
    snprintf (summary_cy, sizeof summary_cy,
              "Nid oedd modd danfon eich neges %s at %s: %s. Cysylltwch â nhw mewn ffordd arall "
              "os oes ei hangen o hyd.",
              queued->msg_id, recipient, why);
    //  Build the body through the JSON mapper's schema names, keeping pb-c out of the broker.
    json_t *root = json_pack ("{s:s, s:[{s:s}], s:s, s:{s:s, s:s, s:s, s:[s]}}", "kind", "ALERT",
                              "to", "agency_id", queued->sender, "in_reply_to", queued->msg_id,
                              "body", "alert_kind", "NON_DELIVERY", "summary_en", summary_en,
                              "summary_cy", summary_cy, "related_msg_ids", queued->msg_id);
    char *text = root ? json_dumps (root, 0) : NULL;
    json_decref (root);
    char error [256];
    rh_envelope_t *envelope =
        text ? rh_json_to_envelope ((const uint8_t *) text, strlen (text), error, sizeof error)
             : NULL;
    free (text);
    uint8_t *sealed = NULL;
    size_t size = 0;
    self->own_sequence++;
    rh_db_put (self->db, "b/seq", 5, &self->own_sequence, 8);
    if (envelope && rh_envelope_set_sequence (envelope, self->own_sequence) == 0
        && rh_envelope_sign (envelope, self->signer) == 0
        && rh_envelope_encode (envelope, &sealed, &size) == 0) {
        const char *to [] = { queued->sender };
        if (s_enqueue (self, queued->sender, rh_envelope_msg_id (envelope),
                       rh_signer_agency (self->signer), sealed, size,
                       s_now (self) + self->expiry_ms, NULL, RH_KIND_ALERT)
            == 0)
            s_audit (self, "NOTICE", RH_OK, rh_envelope_msg_id (envelope),
                     rh_signer_agency (self->signer), to, 1, sealed, size, NULL,
                     "non-delivery notice");
    }
    free (sealed);
    rh_envelope_destroy (&envelope);
}

//  ---------------------------------------------------------------------------------------------
//  Delivery

static void
s_unbind (s_peer_t *peer)
{
    peer->bound = false;
    peer->flight_count = 0;
}

static void
s_dead_letter (rh_broker_t *self, s_peer_t *peer, uint64_t seq, const rh_queued_t *queued,
               const uint8_t *value, size_t size, const char *why)
{
    char key [RH_MAX_QUEUE_KEY];
    s_queue_key ("x", peer->agency, seq, key, sizeof key);
    rh_db_put (self->db, key, strlen (key), value, size);
    s_queue_key ("q", peer->agency, seq, key, sizeof key);
    rh_db_delete (self->db, key, strlen (key));
    const char *recipients [] = { peer->agency };
    s_audit (self, "DEAD_LETTER", RH_OK, queued->msg_id, queued->sender, recipients, 1, NULL, 0,
             NULL, why);
    rh_log_warn ("broker", "dead-lettered %s for %s: %s", queued->msg_id, peer->agency, why);
    s_non_delivery (self, queued, peer->agency, why);
}

//  Sends what the peer's credit allows, from its cursor on.
static void
s_pump (rh_broker_t *self, s_peer_t *peer)
{
    peer->ready = false;
    if (!peer->bound || peer->flight_count >= peer->window)
        return;
    char prefix [RH_MAX_ID + 8], key [RH_MAX_QUEUE_KEY];
    snprintf (prefix, sizeof prefix, "q/%s/", peer->agency);
    rh_db_iter_t *iter = rh_db_iter_new (self->db, prefix, strlen (prefix));
    if (!iter)
        return;
    s_queue_key ("q", peer->agency, peer->cursor, key, sizeof key);
    rh_db_iter_seek (iter, key, strlen (key));
    int64_t now = s_now (self);
    for (; rh_db_iter_valid (iter) && peer->flight_count < peer->window; rh_db_iter_next (iter)) {
        size_t key_size = 0, size = 0;
        const uint8_t *found = rh_db_iter_key (iter, &key_size);
        const uint8_t *value = rh_db_iter_value (iter, &size);
        uint64_t seq = rh_db_key_sequence (found, key_size, strlen (prefix));
        if (seq == UINT64_MAX)
            continue;
        rh_queued_t queued;
        if (rh_record_decode_queued (value, size, &queued) != RH_OK) {
            rh_log_error ("broker", "queue entry %s/%" PRIu64 " does not decode; skipped",
                          peer->agency, seq);
            peer->cursor = seq + 1;
            continue;
        }
        if (queued.expires_ms && now > queued.expires_ms)
            s_dead_letter (self, peer, seq, &queued, value, size, "it expired before delivery");
        else if (queued.attempts >= self->max_attempts)
            s_dead_letter (self, peer, seq, &queued, value, size,
                           "it was delivered repeatedly without acknowledgement");
        else {
            rh_frame_t frame = { .type = RH_FRAME_DELIVER,
                                 .delivery_id = seq,
                                 .sealed = queued.sealed,
                                 .sealed_size = queued.sealed_size,
                                 .agreement_id = queued.agreement_id,
                                 .agreement_version = queued.agreement_version,
                                 .rule_id = queued.rule_id };
            size_t frame_size = 0;
            uint8_t *bytes = rh_frame_encode (&frame, &frame_size);
            int rc = -1;
            if (bytes
                && zmq_send (self->router, peer->routing_id, peer->routing_id_size,
                             ZMQ_SNDMORE | ZMQ_DONTWAIT)
                       >= 0)
                rc = zmq_send (self->router, bytes, frame_size, ZMQ_DONTWAIT);
            free (bytes);
            if (rc < 0) {
                if (errno == EHOSTUNREACH)
                    s_unbind (peer);  //  gone: its next Hello starts again from the head
                rh_record_release (&queued.owned);
                break;
            }
            if (peer->flight_count == peer->flight_capacity) {
                size_t capacity = peer->flight_capacity ? peer->flight_capacity * 2 : 64;
                s_flight_t *grown = realloc (peer->flights, capacity * sizeof *grown);
                if (!grown) {
                    rh_record_release (&queued.owned);
                    break;
                }
                peer->flights = grown;
                peer->flight_capacity = capacity;
            }
            s_flight_t *flight = &peer->flights [peer->flight_count++];
            flight->seq = seq;
            flight->kind = queued.kind;
            flight->sent_ms = now;
            snprintf (flight->msg_id, sizeof flight->msg_id, "%s", queued.msg_id);
            const char *recipients [] = { peer->agency };
            s_audit (self, "DELIVERED", RH_OK, queued.msg_id, queued.sender, recipients, 1, NULL, 0,
                     NULL, NULL);
        }
        peer->cursor = seq + 1;
        rh_record_release (&queued.owned);
    }
    rh_db_iter_destroy (&iter);
}

//  Counts one more attempt on every unacknowledged delivery and sends them again.
static void
s_redeliver (rh_broker_t *self, s_peer_t *peer)
{
    if (peer->flight_count == 0)
        return;
    for (size_t i = 0; i < peer->flight_count; i++) {
        char key [RH_MAX_QUEUE_KEY];
        s_queue_key ("q", peer->agency, peer->flights [i].seq, key, sizeof key);
        uint8_t *value = NULL;
        size_t size = 0;
        rh_queued_t queued;
        if (rh_db_get (self->db, key, strlen (key), &value, &size) == 0
            && rh_record_decode_queued (value, size, &queued) == RH_OK) {
            queued.attempts++;
            size_t record_size = 0;
            uint8_t *bytes = rh_record_encode_queued (&queued, &record_size);
            if (bytes)
                rh_db_put (self->db, key, strlen (key), bytes, record_size);
            free (bytes);
            rh_record_release (&queued.owned);
        }
        free (value);
    }
    peer->cursor = peer->flights [0].seq;
    for (size_t i = 1; i < peer->flight_count; i++)
        if (peer->flights [i].seq < peer->cursor)
            peer->cursor = peer->flights [i].seq;
    peer->flight_count = 0;
    peer->ready = true;
}

//  Taking a referral or an alert in moves its case on (referral lifecycle, below).
static void s_case_taken_in (rh_broker_t *self, const char *referral_msg_id, const char *agency);
static void s_alert_taken_in (rh_broker_t *self, const char *alert_msg_id, const char *agency);

static void
s_acknowledged (rh_broker_t *self, s_peer_t *peer, uint64_t seq)
{
    for (size_t i = 0; i < peer->flight_count; i++) {
        if (peer->flights [i].seq != seq)
            continue;
        char msg_id [RH_MAX_ID + 1];
        snprintf (msg_id, sizeof msg_id, "%s", peer->flights [i].msg_id);
        uint32_t kind = peer->flights [i].kind;
        memmove (&peer->flights [i], &peer->flights [i + 1],
                 (peer->flight_count - i - 1) * sizeof *peer->flights);
        peer->flight_count--;
        char key [RH_MAX_QUEUE_KEY];
        s_queue_key ("q", peer->agency, seq, key, sizeof key);
        rh_db_delete (self->db, key, strlen (key));
        char detail [48];
        snprintf (detail, sizeof detail, "delivery %" PRIu64, seq);
        const char *recipients [] = { peer->agency };
        s_audit (self, "ACKED", RH_OK, msg_id, peer->agency, recipients, 1, NULL, 0, NULL, detail);
        peer->ready = true;
        if (kind == RH_KIND_REFERRAL)
            s_case_taken_in (self, msg_id, peer->agency);
        else if (kind == RH_KIND_ALERT)
            s_alert_taken_in (self, msg_id, peer->agency);
        return;
    }
}

//  ---------------------------------------------------------------------------------------------
//  Accepting messages

//  The certificate identity of an agency enrolled and valid at now, or NULL.
static const rh_identity_t *
s_identity (rh_broker_t *self, const char *agency, int64_t now)
{
    for (size_t i = 0; i < rh_certstore_size (self->store); i++) {
        const rh_identity_t *id = rh_certstore_identity (self->store, i);
        if (strcmp (id->agency_id, agency) == 0
            && rh_certstore_status (self->store, i, now) == RH_OK)
            return id;
    }
    return NULL;
}

static bool
s_enrolled (rh_broker_t *self, const char *agency)
{
    return s_identity (self, agency, rh_time_now_ms ()) != NULL;
}

//  Resolves "the front door of LA x": the agreements' directory first (which knows the local
//  labels: IAA, SPOC, MASH, hub), then an enrolled LA_FRONT_DOOR (or LA_CHILDREN) certificate
//  of that local authority. Either way the agreement still has to allow the delivery.
static const char *
s_front_door (rh_broker_t *self, const char *la, const char *alias, int64_t now)
{
    const char *label = NULL;
    const char *agency = rh_policy_front_door (self->policy, la, alias, now, &label);
    if (agency && s_identity (self, agency, now))
        return agency;
    const char *fallback = NULL;
    for (size_t i = 0; i < rh_certstore_size (self->store); i++) {
        const rh_identity_t *id = rh_certstore_identity (self->store, i);
        if (strcmp (id->la, la) != 0 || rh_certstore_status (self->store, i, now) != RH_OK)
            continue;
        if (strcmp (id->type, "LA_FRONT_DOOR") == 0)
            return id->agency_id;
        if (strcmp (id->type, "LA_CHILDREN") == 0 && !fallback)
            fallback = id->agency_id;
    }
    return fallback;
}

//  Works out who receives a message. Returns RH_OK or RH_E_POLICY with the reason.
static rh_rc_t
s_route (rh_broker_t *self, rh_envelope_t *envelope, const char **recipients, size_t *count,
         char replied_to [RH_MAX_ID + 1], char *reason, size_t reason_size, int64_t now,
         bool about_case)
{
    *count = 0;
    size_t wanted = rh_envelope_recipients (envelope);
    for (size_t i = 0; i < wanted; i++) {
        const char *agency = rh_envelope_recipient_agency (envelope, i);
        if (!*agency) {
            const char *la = rh_envelope_recipient_front_door (envelope, i);
            agency = s_front_door (self, la, rh_envelope_recipient_alias (envelope, i), now);
            if (!agency) {
                snprintf (reason, reason_size, "no front door is enrolled for local authority '%s'",
                          la);
                return RH_E_POLICY;
            }
        }
        else if (!s_identity (self, agency, now)) {
            snprintf (reason, reason_size, "recipient '%s' is not an enrolled agency", agency);
            return RH_E_POLICY;
        }
        bool seen = false;
        for (size_t k = 0; k < *count && !seen; k++)
            seen = strcmp (recipients [k], agency) == 0;
        if (!seen)
            recipients [(*count)++] = agency;
    }
    if (about_case)
        return RH_OK;  //  the case adds who must be told
    if (*count == 0 && *rh_envelope_in_reply_to (envelope)) {
        //  A reply with no address goes back to whoever sent the original.
        if (rh_replay_sender_of (self->replay, rh_envelope_in_reply_to (envelope), replied_to)
            && s_identity (self, replied_to, now))
            recipients [(*count)++] = replied_to;
    }
    if (*count == 0) {
        snprintf (reason, reason_size, "the message names no recipient");
        return RH_E_POLICY;
    }
    return RH_OK;
}

static void
s_reject (rh_broker_t *self, const rh_verified_t *result, rh_rc_t rc, const char *reason)
{
    char detail [300];
    snprintf (detail, sizeof detail, "%s", reason ? reason : rh_rc_text (rc));
    s_audit (self, "REJECTED", rc, result->msg_id, result->agency, NULL, 0, NULL, 0,
             result->sealed_sha256, detail);
    s_queue_reply (self, result->routing_id, result->routing_id_size, result->msg_id, rc, false,
                   detail);
    rh_log_info ("broker", "rejected %s from %s: %s (%s)", result->msg_id, result->agency,
                 rh_rc_name (rc), detail);
}

//  Fills an audit decision from a policy decision (strings borrowed from it).
static void
s_audit_decision (const rh_decision_t *decision, const char *recipient, rh_audit_decision_t *out)
{
    memset (out, 0, sizeof *out);
    out->recipient = recipient;
    out->allowed = decision->result == RH_DECIDE_ALLOW;
    out->rule_id = decision->rule_id;
    out->missing_condition = decision->missing;
    if (decision->agreement) {
        out->agreement_id = rh_agreement_id (decision->agreement);
        out->agreement_version = rh_agreement_version (decision->agreement);
        out->agreement_sha256 = rh_agreement_sha256 (decision->agreement);
    }
}

//  Refuses a message the agreements do not allow: a typed answer naming the rule or the
//  missing condition, and an audit record of the decision.
static void
s_refuse (rh_broker_t *self, const rh_verified_t *result, const rh_decision_t *decision,
          const char *recipient)
{
    rh_audit_decision_t audit;
    s_audit_decision (decision, recipient, &audit);
    s_audit_decided (self, "REJECTED", RH_E_POLICY, result->msg_id, result->agency, NULL, 0, NULL,
                     0, result->sealed_sha256, decision->reason, &audit, 1,
                     result->envelope ? rh_envelope_case_id (result->envelope) : NULL);
    s_reply_t *reply = s_queue_reply (self, result->routing_id, result->routing_id_size,
                                      result->msg_id, RH_E_POLICY, false, decision->reason);
    if (reply) {
        snprintf (reply->rule_id, sizeof reply->rule_id, "%s", decision->rule_id);
        snprintf (reply->agreement_id, sizeof reply->agreement_id, "%s",
                  decision->agreement ? rh_agreement_id (decision->agreement) : "");
        snprintf (reply->missing, sizeof reply->missing, "%s", decision->missing);
    }
    rh_log_info ("broker", "refused %s from %s to %s: %s", result->msg_id, result->agency,
                 recipient, decision->reason);
}

//  A copy of sealed without the fields not in keep. Returns NULL on failure.
static uint8_t *
s_redacted (const uint8_t *sealed, size_t size, const uint32_t *keep, size_t keep_count,
            size_t *redacted_size)
{
    rh_envelope_t *copy = NULL;
    uint8_t *redacted = NULL;
    if (rh_envelope_decode (sealed, size, &copy) == RH_OK
        && rh_envelope_redact (copy, keep, keep_count) == 0
        && rh_envelope_encode (copy, &redacted, redacted_size) != 0)
        redacted = NULL;
    rh_envelope_destroy (&copy);
    return redacted;
}

//  ---------------------------------------------------------------------------------------------
//  Referral lifecycle: cases, the broker's own messages about them, deadlines, repeats

#define S_MAX_TO (RH_MAX_RECIPIENTS + RH_MAX_INVOLVED)  //  addressed plus told by the broker

static uint64_t
s_next_sequence (rh_broker_t *self)
{
    self->own_sequence++;
    rh_db_put (self->db, "b/seq", 5, &self->own_sequence, 8);
    return self->own_sequence;
}

//  Queues a message the broker wrote and signed, with its audit record.
static void
s_send_own (rh_broker_t *self, const char *recipient, uint8_t *sealed, size_t size,
            const char *msg_id, rh_kind_t kind, const char *detail, const rh_decision_t *decision,
            const char *case_id)
{
    if (!sealed) {
        rh_log_error ("broker", "cannot build the %s for %s", detail, recipient);
        return;
    }
    const char *to [] = { recipient };
    if (s_enqueue (self, recipient, msg_id, rh_signer_agency (self->signer), sealed, size,
                   s_now (self) + self->expiry_ms, decision, kind)
        == 0)
        s_audit_decided (self, "NOTICE", RH_OK, msg_id, rh_signer_agency (self->signer), to, 1,
                         sealed, size, NULL, detail, NULL, 0, case_id);
    free (sealed);
}

static const rh_obligations_t *
s_obligations (rh_broker_t *self, const rh_case_t *record)
{
    const rh_agreement_t *agreement = rh_policy_find (self->policy, record->agreement_id);
    return agreement ? rh_agreement_obligations (agreement) : NULL;
}

//  Who at the referring agency also hears back, where the agreement says so.
static size_t
s_copy_to (rh_broker_t *self, const rh_case_t *record, char copies [2][RH_MAX_ID + 32],
           const char *list [2])
{
    const rh_obligations_t *obligations = s_obligations (self, record);
    size_t count = 0;
    if (obligations && obligations->feedback_supervisor && *record->supervisor)
        snprintf (copies [count++], RH_MAX_ID + 32, "supervisor:%s", record->supervisor);
    if (obligations && obligations->feedback_duty_inbox && *record->duty_inbox)
        snprintf (copies [count++], RH_MAX_ID + 32, "duty_inbox:%s", record->duty_inbox);
    for (size_t i = 0; i < count; i++)
        list [i] = copies [i];
    return count;
}

static bool
s_connected (rh_broker_t *self, const char *agency)
{
    for (size_t i = 0; i < self->peer_count; i++)
        if (strcmp (self->peers [i].agency, agency) == 0)
            return self->peers [i].bound;
    return false;
}

//  A referral was accepted: its case starts, with the deadlines of the agreement that let it
//  reach the front door.
static void
s_open_case (rh_broker_t *self, rh_envelope_t *envelope, const rh_facts_t *facts,
             const char *sender, const char *const *recipients, const rh_decision_t *decisions,
             size_t count, int64_t now)
{
    size_t holder = 0;
    for (size_t i = 0; i < count; i++)
        if (decisions [i].agreement
            && rh_agreement_has_role (decisions [i].agreement, recipients [i], "front_door")) {
            holder = i;
            break;
        }
    const rh_agreement_t *agreement = decisions [holder].agreement;
    rh_case_t record;
    memset (&record, 0, sizeof record);
    snprintf (record.referral_msg_id, sizeof record.referral_msg_id, "%s",
              rh_envelope_msg_id (envelope));
    snprintf (record.case_id, sizeof record.case_id, "%s", rh_envelope_case_id (envelope));
    snprintf (record.referrer, sizeof record.referrer, "%s", sender);
    snprintf (record.referrer_author, sizeof record.referrer_author, "%s",
              rh_envelope_author (envelope));
    snprintf (record.supervisor, sizeof record.supervisor, "%s",
              rh_envelope_author_supervisor (envelope));
    snprintf (record.duty_inbox, sizeof record.duty_inbox, "%s",
              rh_envelope_author_duty_inbox (envelope));
    snprintf (record.holder, sizeof record.holder, "%s", recipients [holder]);
    if (agreement) {
        snprintf (record.holder_label, sizeof record.holder_label, "%s",
                  rh_agreement_label (agreement, recipients [holder]));
        snprintf (record.agreement_id, sizeof record.agreement_id, "%s",
                  rh_agreement_id (agreement));
    }
    record.referral_kind = facts->referral_kind;
    record.state = RHANNU__V1__CASE_STATE__CASE_RECEIVED;
    record.received_ms = now;
    rh_cases_involve (&record, sender);
    const rh_obligations_t *obligations = agreement ? rh_agreement_obligations (agreement) : NULL;
    if (obligations) {
        snprintf (record.escalate_to, sizeof record.escalate_to, "%s", obligations->escalate_to);
        if (obligations->acknowledge_ms)
            rh_cases_set_timer (self->cases, &record, RH_TIMER_ACKNOWLEDGE,
                                now + obligations->acknowledge_ms);
        int64_t outcome = facts->referral_kind < RH_MAX_REFERRAL_KINDS
                                  && obligations->outcome_ms_by_kind [facts->referral_kind]
                              ? obligations->outcome_ms_by_kind [facts->referral_kind]
                              : obligations->outcome_ms;
        if (outcome) {
            int64_t due = now + outcome;
            rh_cases_set_timer (self->cases, &record, RH_TIMER_OUTCOME, due);
            if (obligations->reminder_before_ms && obligations->reminder_before_ms < outcome)
                rh_cases_set_timer (self->cases, &record, RH_TIMER_REMINDER,
                                    due - obligations->reminder_before_ms);
            if (obligations->escalate_after_ms && *obligations->escalate_to)
                rh_cases_set_timer (self->cases, &record, RH_TIMER_ESCALATE,
                                    due + obligations->escalate_after_ms);
        }
    }
    for (size_t i = 0; i < facts->subject_key_count; i++) {
        memcpy (record.subject_keys [record.subject_count++], facts->subject_keys [i],
                RH_SUBJECT_KEY_LEN);
        rh_cases_note_subject (self->cases, facts->subject_keys [i], now, record.referral_msg_id,
                               RH_SUBJECT_PENDING);
    }
    rh_cases_put (self->cases, &record);
}

//  The front door's agent took the referral in: the referrer gets a receipt naming who holds it.
static void
s_case_taken_in (rh_broker_t *self, const char *referral_msg_id, const char *agency)
{
    rh_case_t record;
    if (!rh_cases_get (self->cases, referral_msg_id, &record) || strcmp (record.holder, agency)
        || record.state != RHANNU__V1__CASE_STATE__CASE_RECEIVED)
        return;
    int64_t now = s_now (self);
    record.state = RHANNU__V1__CASE_STATE__CASE_ACKNOWLEDGED;
    record.acknowledged_ms = now;
    rh_cases_set_timer (self->cases, &record, RH_TIMER_ACKNOWLEDGE, 0);
    rh_cases_put (self->cases, &record);
    char copies [2][RH_MAX_ID + 32], msg_id [RH_MAX_ID + 1] = "";
    const char *list [2];
    size_t copy_count = s_copy_to (self, &record, copies, list);
    rh_notice_from_t from = { self->signer, s_next_sequence (self), record.referrer, now };
    size_t size = 0;
    uint8_t *sealed = rh_notice_receipt (&from, &record, list, copy_count, &size, msg_id);
    s_send_own (self, record.referrer, sealed, size, msg_id, RH_KIND_RECEIPT, "receipt", NULL,
                record.case_id);
}

//  An agency took in a repeat-referral alert: the case no longer waits on that copy. A case
//  waits until every agency alerted (the front door and those the agreement names) has it.
static void
s_alert_taken_in (rh_broker_t *self, const char *alert_msg_id, const char *agency)
{
    char key [RH_MAX_QUEUE_KEY], referral [RH_MAX_ID + 1];
    snprintf (key, sizeof key, "ka/%s", alert_msg_id);
    uint8_t *value = NULL;
    size_t size = 0;
    if (rh_db_get (self->db, key, strlen (key), &value, &size) != 0)
        return;
    bool good = size > 0 && size <= RH_MAX_ID;
    if (good) {
        memcpy (referral, value, size);
        referral [size] = 0;
    }
    free (value);
    rh_case_t record;
    (void) agency;  //  the delivery came from that agency's own queue: it is the alert's recipient
    if (!good || !rh_cases_get (self->cases, referral, &record))
        return;
    for (size_t i = 0; i < record.open_alert_count; i++)
        if (strcmp (record.open_alerts [i], alert_msg_id) == 0) {
            memmove (&record.open_alerts [i], &record.open_alerts [i + 1],
                     (record.open_alert_count - i - 1) * sizeof record.open_alerts [0]);
            record.open_alert_count--;
            rh_cases_put (self->cases, &record);
            break;
        }
    rh_db_delete (self->db, key, strlen (key));
}

//  The case an outcome or update is about, if its sender holds it: by the referral it answers,
//  or by the case id the front door knows it under.
static bool
s_case_of (rh_broker_t *self, rh_envelope_t *envelope, const char *sender, rh_case_t *record)
{
    rh_kind_t kind = rh_envelope_kind (envelope);
    if (kind != RH_KIND_OUTCOME && kind != RH_KIND_STATUS_UPDATE)
        return false;
    const char *answers = rh_envelope_in_reply_to (envelope);
    char referral [RH_MAX_ID + 1];
    bool found = (*answers && rh_cases_get (self->cases, answers, record))
                 || (rh_cases_find (self->cases, sender, rh_envelope_case_id (envelope), referral)
                     && rh_cases_get (self->cases, referral, record));
    return found && strcmp (record->holder, sender) == 0;
}

static bool
s_below_threshold (uint32_t decision)
{
    return decision == RHANNU__V1__DECISION__NO_FURTHER_ACTION
           || decision == RHANNU__V1__DECISION__SIGNPOSTED
           || decision == RHANNU__V1__DECISION__STEP_DOWN_EARLY_HELP;
}

//  Agencies a repeat alert goes to: the holder, and each notify target of the agreement (a
//  role of its parties, or an agency type in the holder's local authority).
static size_t
s_repeat_targets (rh_broker_t *self, const rh_case_t *record, const rh_obligations_t *obligations,
                  const char **targets, size_t max)
{
    size_t count = 0;
    targets [count++] = record->holder;
    const rh_agreement_t *agreement = rh_policy_find (self->policy, record->agreement_id);
    const rh_identity_t *holder = s_identity (self, record->holder, s_now (self));
    for (size_t n = 0; agreement && n < obligations->repeat_notify_count; n++) {
        const char *target = obligations->repeat_notify [n];
        const char *found [RH_MAX_INVOLVED];
        size_t found_count = 0;
        if (!strcmp (target, "front_door"))
            continue;  //  the holder is the front door
        found_count = rh_agreement_parties_with_role (agreement, target, found, RH_MAX_INVOLVED);
        for (size_t i = 0;
             holder && i < rh_certstore_size (self->store) && found_count < RH_MAX_INVOLVED; i++) {
            const rh_identity_t *id = rh_certstore_identity (self->store, i);
            if (!strcmp (id->type, target) && !strcmp (id->la, holder->la))
                found [found_count++] = id->agency_id;
        }
        for (size_t i = 0; i < found_count && count < max; i++) {
            bool seen = false;
            for (size_t k = 0; k < count && !seen; k++)
                seen = !strcmp (targets [k], found [i]);
            if (!seen && s_identity (self, found [i], s_now (self)))
                targets [count++] = found [i];
        }
    }
    return count;
}

//  The "three report benchmark": enough referrals about one subject within the window did not
//  meet the threshold. The front door (and whoever the agreement names) is alerted, with the
//  earlier referrals named; the case cannot close until each of them has taken the alert in.
static void
s_repeat_check (rh_broker_t *self, rh_case_t *record, int64_t now)
{
    const rh_obligations_t *obligations = s_obligations (self, record);
    uint8_t state =
        s_below_threshold (record->decision) ? RH_SUBJECT_BELOW_THRESHOLD : RH_SUBJECT_OTHER;
    for (size_t s = 0; s < record->subject_count; s++)
        rh_cases_note_subject (self->cases, record->subject_keys [s], record->received_ms,
                               record->referral_msg_id, state);
    if (!obligations || obligations->repeat_count < 2 || state != RH_SUBJECT_BELOW_THRESHOLD)
        return;
    for (size_t s = 0; s < record->subject_count; s++) {
        rh_subject_entry_t entries [RH_MAX_REPEAT_HISTORY];
        size_t found = rh_cases_subject_history (
            self->cases, record->subject_keys [s],
            record->received_ms - obligations->repeat_window_ms, entries, RH_MAX_REPEAT_HISTORY);
        const char *ids [RH_MAX_REPEAT_HISTORY + 1];
        char case_ids [RH_MAX_REPEAT_HISTORY + 1][RH_MAX_ID + 1];
        const char *case_list [RH_MAX_REPEAT_HISTORY + 1];
        size_t count = 0;
        for (size_t i = 0; i < found; i++) {
            if (entries [i].state != RH_SUBJECT_BELOW_THRESHOLD
                || !strcmp (entries [i].referral_msg_id, record->referral_msg_id)
                || entries [i].received_ms > record->received_ms)
                continue;
            rh_case_t earlier;
            ids [count] = entries [i].referral_msg_id;
            snprintf (case_ids [count], sizeof case_ids [count], "%s",
                      rh_cases_get (self->cases, entries [i].referral_msg_id, &earlier)
                          ? earlier.case_id
                          : "");
            case_list [count] = case_ids [count];
            count++;
        }
        ids [count] = record->referral_msg_id;
        snprintf (case_ids [count], sizeof case_ids [count], "%s", record->case_id);
        case_list [count] = case_ids [count];
        count++;
        if (count < obligations->repeat_count)
            continue;
        const char *targets [RH_MAX_INVOLVED];
        size_t target_count =
            s_repeat_targets (self, record, obligations, targets, RH_MAX_INVOLVED);
        rh_alert_t alert = { .alert_kind = RHANNU__V1__ALERT_KIND__REPEAT_REFERRALS,
                             .record = record,
                             .count = (uint32_t) count,
                             .window_days =
                                 (uint32_t) (obligations->repeat_window_ms / (24 * 3600 * 1000LL)),
                             .related_msg_ids = ids,
                             .related_case_ids = case_list,
                             .related_count = count,
                             .subject_key = record->subject_keys [s] };
        for (size_t t = 0; t < target_count; t++) {
            rh_notice_from_t from = { self->signer, s_next_sequence (self), targets [t], now };
            char msg_id [RH_MAX_ID + 1] = "";
            size_t size = 0;
            uint8_t *sealed = rh_notice_alert (&from, &alert, &size, msg_id);
            if (sealed && record->open_alert_count < RH_MAX_OPEN_ALERTS) {
                snprintf (record->open_alerts [record->open_alert_count++], RH_MAX_ID + 1, "%s",
                          msg_id);
                char key [RH_MAX_QUEUE_KEY];
                snprintf (key, sizeof key, "ka/%s", msg_id);
                rh_db_put (self->db, key, strlen (key), record->referral_msg_id,
                           strlen (record->referral_msg_id));
            }
            s_send_own (self, targets [t], sealed, size, msg_id, RH_KIND_ALERT,
                        "repeat-referral alert", NULL, record->case_id);
        }
        rh_log_info ("broker",
                     "repeat referrals: %zu below threshold about one subject; alerted %zu", count,
                     target_count);
        return;  //  one alert per outcome, whichever subject crossed the line
    }
}

//  An outcome or update from the holder moves the case on.
static void
s_case_event (rh_broker_t *self, rh_case_t *record, const rh_facts_t *facts,
              const char *const *addressed, size_t addressed_count, int64_t now)
{
    for (size_t i = 0; i < addressed_count; i++)
        rh_cases_involve (record, addressed [i]);  //  whoever the holder brings in hears updates
    if (facts->kind == RH_KIND_OUTCOME) {
        record->state = RHANNU__V1__CASE_STATE__CASE_DECIDED;
        record->decision = facts->decision;
        record->decided_ms = now;
        record->outcome_notice_sent = true;
        for (int timer = 0; timer < RH_TIMER_COUNT; timer++)
            rh_cases_set_timer (self->cases, record, (rh_timer_t) timer, 0);
        s_repeat_check (self, record, now);
    }
    else {
        record->updates++;
        if (*facts->new_owner)
            rh_cases_involve (record, facts->new_owner);
        if (facts->update_kind == RHANNU__V1__UPDATE_KIND__CLOSED) {
            record->state = RHANNU__V1__CASE_STATE__CASE_CLOSED;
            record->closed_ms = now;
        }
        else if (facts->update_kind == RHANNU__V1__UPDATE_KIND__REOPENED)
            record->state = RHANNU__V1__CASE_STATE__CASE_REOPENED;
    }
    rh_cases_put (self->cases, record);
}

//  A case may not close before its referrer was told the outcome, nor while the front door has
//  not taken in a repeat-referral alert. Returns true (and a refusal) if this update may not.
static bool
s_close_refused (const rh_case_t *record, const rh_facts_t *facts, rh_decision_t *refusal)
{
    if (facts->kind != RH_KIND_STATUS_UPDATE
        || facts->update_kind != RHANNU__V1__UPDATE_KIND__CLOSED)
        return false;
    memset (refusal, 0, sizeof *refusal);
    refusal->result = RH_DECIDE_CONDITION;
    refusal->rule_id = "";
    const char *name = *record->case_id ? record->case_id : record->referral_msg_id;
    if (!record->outcome_notice_sent) {
        snprintf (refusal->missing, sizeof refusal->missing, "outcome_notice");
        snprintf (refusal->reason, sizeof refusal->reason,
                  "case %s cannot be closed: no outcome has gone to the referrer %s yet", name,
                  record->referrer);
        return true;
    }
    if (record->open_alert_count > 0) {
        snprintf (refusal->missing, sizeof refusal->missing, "repeat_alert");
        snprintf (refusal->reason, sizeof refusal->reason,
                  "case %s cannot be closed: repeat-referral alert %s has not been taken in yet",
                  name, record->open_alerts [0]);
        return true;
    }
    return false;
}

//  One due timer: remind the holder, tell the referrer it is overdue, escalate.
static void
s_fire (rh_broker_t *self, const rh_due_t *due, int64_t now)
{
    rh_case_t record;
    if (!rh_cases_get (self->cases, due->referral_msg_id, &record)
        || record.timers [due->timer] != due->due_ms) {
        rh_cases_drop_due (self->cases, due);  //  stale: the case moved on
        return;
    }
    rh_cases_set_timer (self->cases, &record, due->timer, 0);
    bool open = record.state == RHANNU__V1__CASE_STATE__CASE_RECEIVED
                || record.state == RHANNU__V1__CASE_STATE__CASE_ACKNOWLEDGED;
    //  A breach while the front door had not even received the referral, or was not connected,
    //  is put down to the outage, not to the front door's practice.
    bool outage =
        record.state == RHANNU__V1__CASE_STATE__CASE_RECEIVED || !s_connected (self, record.holder);
    const char *targets [RH_MAX_INVOLVED];
    size_t target_count = 0;
    uint32_t kind = 0;
    int64_t when =
        record.timers [RH_TIMER_OUTCOME] ? record.timers [RH_TIMER_OUTCOME] : due->due_ms;
    //  (for a reminder: the outcome deadline, still pending)
    if (due->timer == RH_TIMER_ACKNOWLEDGE
        && record.state == RHANNU__V1__CASE_STATE__CASE_RECEIVED) {
        kind = RHANNU__V1__ALERT_KIND__ACKNOWLEDGEMENT_OVERDUE;
        targets [target_count++] = record.referrer;
        when = record.received_ms;
        record.outage_attributed = record.outage_attributed || outage;
    }
    else if (due->timer == RH_TIMER_REMINDER && open
             && !(record.timers [RH_TIMER_OUTCOME] && record.timers [RH_TIMER_OUTCOME] <= now)) {
        kind = RHANNU__V1__ALERT_KIND__OUTCOME_DUE_SOON;
        targets [target_count++] = record.holder;
    }
    else if (due->timer == RH_TIMER_OUTCOME && open) {
        kind = RHANNU__V1__ALERT_KIND__OUTCOME_OVERDUE;
        when = due->due_ms;
        record.overdue = true;
        record.outage_attributed = record.outage_attributed || outage;
        targets [target_count++] = record.referrer;
        targets [target_count++] = record.holder;
    }
    else if (due->timer == RH_TIMER_ESCALATE && open) {
        kind = RHANNU__V1__ALERT_KIND__ESCALATION;
        const rh_agreement_t *agreement = rh_policy_find (self->policy, record.agreement_id);
        if (agreement) {
            target_count = rh_agreement_parties_with_role (agreement, record.escalate_to, targets,
                                                           RH_MAX_INVOLVED);
            //  Name the outcome's deadline, which the escalation follows by a set time.
            when = due->due_ms - rh_agreement_obligations (agreement)->escalate_after_ms;
        }
    }
    rh_cases_put (self->cases, &record);
    if (!kind)
        return;
    rh_alert_t alert = { .alert_kind = kind, .record = &record, .due_ms = when };
    for (size_t i = 0; i < target_count; i++) {
        if (!s_identity (self, targets [i], now))
            continue;
        rh_notice_from_t from = { self->signer, s_next_sequence (self), targets [i], now };
        char msg_id [RH_MAX_ID + 1] = "";
        size_t size = 0;
        uint8_t *sealed = rh_notice_alert (&from, &alert, &size, msg_id);
        s_send_own (self, targets [i], sealed, size, msg_id, RH_KIND_ALERT, "deadline alert", NULL,
                    record.case_id);
    }
    rh_log_info ("broker", "deadline: case %s alert kind %u to %zu agencies%s",
                 record.referral_msg_id, kind, target_count,
                 record.outage_attributed ? " (outage)" : "");
}

static void
s_fire_timers (rh_broker_t *self, int64_t now)
{
    rh_due_t due [64];
    size_t fired = 0, found;
    do {
        found = rh_cases_due (self->cases, now, due, 64);
        for (size_t i = 0; i < found; i++)
            s_fire (self, &due [i], now);
        fired += found;
        //  The due-time index is read from committed data: commit before reading on.
        if (found && rh_db_commit (self->db, true) != 0) {
            rh_log_error ("broker", "cannot commit fired deadlines");
            return;
        }
    } while (found == 64 && fired < RH_MAX_DUE_PER_TICK);
}

//  ---------------------------------------------------------------------------------------------
//  Accepting messages

static void
s_accept (rh_broker_t *self, rh_verified_t *result)
{
    rh_envelope_t *envelope = result->envelope;
    if (result->rc != RH_OK) {
        s_reject (self, result, result->rc, NULL);
        return;
    }
    int64_t now = s_now (self);
    rh_facts_t facts;
    rh_policy_facts (envelope, &facts);
    //  An outcome or update from the front door holding a case: the case says who hears it.
    rh_case_t record;
    bool about_case = s_case_of (self, envelope, result->agency, &record);
    const char *involved [RH_MAX_INVOLVED];
    if (about_case) {
        for (size_t i = 0; i < record.involved_count; i++)
            involved [i] = record.involved [i];
        facts.case_referrer = record.referrer;
        facts.case_involved = involved;
        facts.case_involved_count = record.involved_count;
    }
    const char *recipients [S_MAX_TO];
    const char *roles [S_MAX_TO];  //  NULL: addressed by the sender; else why the broker tells it
    size_t count = 0;
    char reason [256] = "", replied_to [RH_MAX_ID + 1];
    rh_rc_t rc = s_route (self, envelope, recipients, &count, replied_to, reason, sizeof reason,
                          now, about_case);
    if (rc != RH_OK) {
        s_reject (self, result, rc, reason);
        return;
    }
    size_t addressed = count;
    for (size_t i = 0; i < count; i++)
        roles [i] = NULL;
    for (size_t i = 0; about_case && i < record.involved_count; i++) {
        const char *agency = record.involved [i];
        bool seen = false;
        for (size_t k = 0; k < count && !seen; k++)
            seen = strcmp (recipients [k], agency) == 0;
        if (!seen && s_identity (self, agency, now)) {
            roles [count] = strcmp (agency, record.referrer) ? "involved" : "referrer";
            recipients [count++] = agency;
        }
    }
    //  Every addressed recipient, and the referrer of a case, must be allowed by an agreement;
    //  one refusal refuses the message, so a sender never has to work out who got it. Other
    //  involved agencies the agreement does not cover are left out, and the audit says so.
    const rh_identity_t *sender_id = s_identity (self, result->agency, now);
    rh_party_ref_t sender, recipient;
    rh_decision_t decisions [S_MAX_TO];
    bool skipped [S_MAX_TO] = { false };
    char known_sender [RH_MAX_ID + 1];
    bool seen_before = rh_replay_sender_of (self->replay, result->msg_id, known_sender);
    for (size_t i = 0; i < count && sender_id && !seen_before; i++) {
        rh_policy_party (sender_id, &sender);
        rh_policy_party (s_identity (self, recipients [i], now), &recipient);
        rh_policy_decide (self->policy, &facts, rh_envelope_agreement_id (envelope), &sender,
                          &recipient, now, &decisions [i]);
        if (decisions [i].result == RH_DECIDE_ALLOW)
            continue;
        if (roles [i] && strcmp (roles [i], "referrer") != 0) {
            skipped [i] = true;
            continue;
        }
        s_refuse (self, result, &decisions [i], recipients [i]);
        return;
    }
    if (!sender_id && !seen_before) {
        s_reject (self, result, RH_E_CERT_UNKNOWN, "the sender is not enrolled");
        return;
    }
    rh_decision_t refusal;
    if (about_case && !seen_before && s_close_refused (&record, &facts, &refusal)) {
        s_refuse (self, result, &refusal, record.holder);
        return;
    }
    size_t header_size = 0;
    const uint8_t *header = rh_envelope_header_bytes (envelope, &header_size);
    uint8_t header_hash [RH_DIGEST_LEN];
    crypto_hash_sha256 (header_hash, header, header_size);
    bool duplicate = false;
    const char *why = NULL;
    rc = rh_replay_check (self->replay, result->agency, result->msg_id,
                          rh_envelope_sequence (envelope), header_hash, &duplicate, &why);
    if (rc != RH_OK) {
        s_reject (self, result, rc, why);
        return;
    }
    if (duplicate) {
        s_audit (self, "DUPLICATE", RH_OK, result->msg_id, result->agency, NULL, 0, NULL, 0,
                 result->sealed_sha256, "seen before; acknowledged again");
        s_queue_reply (self, result->routing_id, result->routing_id_size, result->msg_id, RH_OK,
                       true, NULL);
        return;
    }
    if (seen_before) {
        //  Known id, but neither a replay nor a duplicate: cannot happen (rh_replay refuses a
        //  reused id with other content); refuse rather than deliver undecided.
        s_reject (self, result, RH_E_REPLAY, "message id seen before");
        return;
    }
    uint8_t *sealed = NULL;
    size_t size = 0;
    if (rh_envelope_encode (envelope, &sealed, &size) != 0) {
        s_reject (self, result, RH_E_NOMEM, NULL);
        return;
    }
    int64_t expires = rh_envelope_expires (envelope);
    int64_t latest = now + self->expiry_ms;
    if (!expires || expires > latest)
        expires = latest;
    //  What each recipient does not receive is recorded by its commitment: an auditor can show
    //  later what was withheld without the broker keeping a second copy.
    size_t committed = rh_envelope_commitments (envelope);
    static_assert (RH_MAX_FIELDS <= 64, "field masks are 64 bits");
    rh_audit_decision_t audit [S_MAX_TO];
    const char *audit_recipients [S_MAX_TO];
    uint32_t withheld [S_MAX_TO][RH_MAX_FIELDS];
    const uint8_t *digests [S_MAX_TO][RH_MAX_FIELDS];
    uint32_t keep [RH_MAX_FIELDS];
    uint8_t *copies [S_MAX_TO] = { NULL };  //  redacted copies or notices; NULL: as sent
    size_t copy_sizes [S_MAX_TO] = { 0 };
    char notice_ids [S_MAX_TO][RH_MAX_ID + 1];
    char copy_text [2][RH_MAX_ID + 32];
    const char *copy_list [2];
    size_t copy_count = about_case ? s_copy_to (self, &record, copy_text, copy_list) : 0;
    size_t delivered = 0;
    bool prepared = true;
    for (size_t i = 0; i < count && prepared; i++) {
        s_audit_decision (&decisions [i], recipients [i], &audit [i]);
        if (skipped [i])
            continue;
        audit_recipients [delivered++] = recipients [i];
        size_t keep_count = 0, withheld_count = 0;
        for (size_t k = 0; k < committed && k < RH_MAX_FIELDS; k++) {
            const uint8_t *digest = NULL;
            uint32_t field = rh_envelope_commitment (envelope, k, &digest);
            if (field < 64 && (decisions [i].fields & (1ull << field)))
                keep [keep_count++] = field;
            else {
                withheld [i][withheld_count] = field;
                digests [i][withheld_count++] = digest;
            }
        }
        audit [i].withheld_count = withheld_count;
        audit [i].withheld_fields = withheld [i];
        audit [i].withheld_digests = digests [i];
        if (withheld_count > 0)
            prepared =
                (copies [i] = s_redacted (sealed, size, keep, keep_count, &copy_sizes [i])) != NULL;
        if (prepared && roles [i]) {
            //  Told by the broker: a notice it signs, with the front door's message inside.
            rh_notice_from_t from = { self->signer, s_next_sequence (self), recipients [i], now };
            size_t notice_size = 0;
            uint8_t *notice = rh_notice_case (
                &from, &record,
                facts.kind == RH_KIND_OUTCOME ? RHANNU__V1__NOTICE_KIND__NOTICE_OUTCOME
                                              : RHANNU__V1__NOTICE_KIND__NOTICE_UPDATE,
                roles [i], facts.decision, facts.update_kind, copies [i] ? copies [i] : sealed,
                copies [i] ? copy_sizes [i] : size,
                strcmp (roles [i], "referrer") ? NULL : copy_list,
                strcmp (roles [i], "referrer") ? 0 : copy_count, &notice_size, notice_ids [i]);
            free (copies [i]);
            copies [i] = notice;
            copy_sizes [i] = notice_size;
            prepared = notice != NULL;
        }
    }
    //  Nothing is queued until every copy exists: a message goes to all its recipients or is
    //  refused, never half.
    for (size_t i = 0; i < count && prepared; i++)
        prepared = skipped [i] || s_peer (self, recipients [i]) != NULL;
    if (!prepared) {
        for (size_t i = 0; i < count; i++)
            free (copies [i]);
        free (sealed);
        s_reject (self, result, RH_E_NOMEM, "cannot prepare the recipients' copies");
        return;
    }
    //  The message first, then what the broker made of it.
    s_audit_decided (self, "ACCEPTED", RH_OK, result->msg_id, result->agency, audit_recipients,
                     delivered, sealed, size, NULL,
                     rh_envelope_kind_name (rh_envelope_kind (envelope)), audit, count,
                     rh_envelope_case_id (envelope));
    for (size_t i = 0; i < count; i++) {
        if (skipped [i])
            continue;
        if (roles [i]) {
            s_send_own (self, recipients [i], copies [i], copy_sizes [i], notice_ids [i],
                        RH_KIND_NOTICE,
                        facts.kind == RH_KIND_OUTCOME ? "outcome notice" : "update notice",
                        &decisions [i], record.case_id);
            continue;  //  s_send_own freed it
        }
        s_enqueue (self, recipients [i], result->msg_id, result->agency,
                   copies [i] ? copies [i] : sealed, copies [i] ? copy_sizes [i] : size, expires,
                   &decisions [i], facts.kind);
        free (copies [i]);
    }
    free (sealed);
    if (facts.kind == RH_KIND_REFERRAL)
        s_open_case (self, envelope, &facts, result->agency, recipients, decisions, addressed, now);
    else if (about_case)
        s_case_event (self, &record, &facts, recipients, addressed, now);
    s_queue_reply (self, result->routing_id, result->routing_id_size, result->msg_id, RH_OK, false,
                   NULL);
}

//  ---------------------------------------------------------------------------------------------
//  Transport

static int
s_setup_router (rh_broker_t *self)
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
    const char *endpoint = rh_config_str (self->config, "bind/endpoint");
    if (zmq_bind (self->router, endpoint) != 0) {
        rh_log_error ("broker", "cannot bind %s: %s", endpoint, zmq_strerror (errno));
        return -1;
    }
    return 0;
}

//  Answers one ZAP request: admit a CURVE key only if an unrevoked certificate binds it.
static void
s_handle_zap (rh_broker_t *self)
{
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
        rh_rc_t rc = rh_certstore_by_curve (self->store, zmq_msg_data (&parts [6]),
                                            rh_time_now_ms (), &identity);
        if (rc == RH_OK && strcmp (identity->type, "BROKER") != 0) {
            status = "200";
            text = "OK";
            snprintf (agency, sizeof agency, "%s", identity->agency_id);
        }
        else {
            char key [65];
            sodium_bin2hex (key, sizeof key, zmq_msg_data (&parts [6]), 32);
            text = rc == RH_OK ? "broker key used as a client" : rh_rc_text (rc);
            rh_log_warn ("broker", "refused a connection with CURVE key %.16s...: %s", key, text);
            char detail [200];
            snprintf (detail, sizeof detail, "handshake refused for CURVE key %s", key);
            s_audit (self, "HANDSHAKE_REFUSED", rc == RH_OK ? RH_E_CERT_UNKNOWN : rc, NULL, NULL,
                     NULL, 0, NULL, 0, NULL, detail);
        }
    }
    if (count >= 2) {
        zmq_send (self->zap, "1.0", 3, ZMQ_SNDMORE);
        zmq_send (self->zap, zmq_msg_data (&parts [1]), zmq_msg_size (&parts [1]), ZMQ_SNDMORE);
        zmq_send (self->zap, status, 3, ZMQ_SNDMORE);
        zmq_send (self->zap, text, strlen (text), ZMQ_SNDMORE);
        zmq_send (self->zap, agency, strlen (agency), ZMQ_SNDMORE);
        zmq_send (self->zap, "", 0, 0);
    }
    for (int i = 0; i < count; i++)
        zmq_msg_close (&parts [i]);
}

//  Reads one message from the ROUTER. Returns 1 if one was handled, 0 if none was waiting.
static int
s_handle_router (rh_broker_t *self)
{
    zmq_msg_t routing, body;
    zmq_msg_init (&routing);
    zmq_msg_init (&body);
    if (zmq_msg_recv (&routing, self->router, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close (&routing);
        zmq_msg_close (&body);
        return 0;
    }
    if (!zmq_msg_more (&routing) || zmq_msg_recv (&body, self->router, 0) < 0) {
        zmq_msg_close (&routing);
        zmq_msg_close (&body);
        return 1;
    }
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
    char agency [RH_MAX_ID + 1] = "";
    snprintf (agency, sizeof agency, "%s", user ? user : "");
    const uint8_t *routing_id = zmq_msg_data (&routing);
    size_t routing_id_size = zmq_msg_size (&routing);
    if (routing_id_size > 256 || !*agency)
        goto done;  //  cannot happen with ZAP enforced
    rh_frame_t frame;
    rh_rc_t rc = rh_frame_decode (zmq_msg_data (&body), zmq_msg_size (&body), &frame);
    if (rc != RH_OK) {
        uint8_t sha [RH_DIGEST_LEN];
        crypto_hash_sha256 (sha, zmq_msg_data (&body), zmq_msg_size (&body));
        s_audit (self, "REJECTED", rc, NULL, agency, NULL, 0, NULL, 0, sha, "frame does not parse");
        s_queue_reply (self, routing_id, routing_id_size, "", rc, false,
                       "the transport frame does not parse");
        goto done;
    }
    switch (frame.type) {
        case RH_FRAME_HELLO: {
            s_peer_t *peer = s_peer (self, agency);
            if (!peer)
                break;
            rh_replay_set_floor (self->replay, agency, frame.low_sequence);
            memcpy (peer->routing_id, routing_id, routing_id_size);
            peer->routing_id_size = routing_id_size;
            peer->bound = true;
            peer->window = frame.credit > RH_MAX_CREDIT ? RH_MAX_CREDIT
                           : frame.credit               ? frame.credit
                                                        : 1;
            //  Everything not acknowledged is sent again, from the head of the queue.
            peer->flight_count = 0;
            peer->cursor = s_queue_head (self, peer);
            peer->ready = true;
            rh_log_info ("broker", "%s connected (credit %u)", agency, peer->window);
            //  The agent checks that the log it saw last is still the beginning of this one.
            if (self->published.size) {
                rh_frame_t checkpoint = { .type = RH_FRAME_CHECKPOINT,
                                          .checkpoint = self->published };
                s_send_frame (self, routing_id, routing_id_size, &checkpoint);
            }
            break;
        }
        case RH_FRAME_PROOF_REQUEST: {
            uint8_t hashes [RH_MERKLE_MAX_PROOF][RH_DIGEST_LEN];
            int count =
                frame.from_size >= 1 && frame.from_size <= frame.to_size
                        && frame.to_size <= self->published.size
                    ? rh_audit_consistency_proof (self->db, frame.from_size, frame.to_size, hashes)
                    : -1;
            if (count < 0)
                break;  //  not a tree the broker published: nothing to prove
            rh_frame_t proof = { .type = RH_FRAME_PROOF,
                                 .from_size = frame.from_size,
                                 .to_size = frame.to_size,
                                 .hashes = (const uint8_t *) hashes,
                                 .hash_count = (size_t) count };
            s_send_frame (self, routing_id, routing_id_size, &proof);
            break;
        }
        case RH_FRAME_SUBMIT:
            if (rh_verifier_submit (self->verifier, routing_id, routing_id_size, agency,
                                    frame.msg_id, frame.sealed, frame.sealed_size)
                != 0)
                s_queue_reply (self, routing_id, routing_id_size, frame.msg_id, RH_E_NOMEM, false,
                               "broker busy; try again");
            break;
        case RH_FRAME_DELIVERED: {
            s_peer_t *peer = s_peer (self, agency);
            if (peer && peer->bound && peer->routing_id_size == routing_id_size
                && memcmp (peer->routing_id, routing_id, routing_id_size) == 0)
                for (size_t i = 0; i < frame.id_count; i++)
                    s_acknowledged (self, peer, frame.ids [i]);
            break;
        }
        default:
            s_queue_reply (self, routing_id, routing_id_size, "", RH_E_MALFORMED, false,
                           "agents may send Hello, Submit, Delivered and ProofRequest only");
            break;
    }
    rh_frame_release (&frame);
done:
    zmq_msg_close (&routing);
    zmq_msg_close (&body);
    return 1;
}

//  Loads the agreements of policy/dir. Refuses a set holding an older version of an agreement
//  than one loaded before (a rollback), records each version and its file under g/ so that an
//  auditor can re-evaluate decisions from a copy of the data, and writes a POLICY_LOADED audit
//  record. Returns NULL (and logs every problem) on failure.
static rh_policy_t *
s_load_policy (rh_broker_t *self, char *why, size_t why_size)
{
    const char *dir = rh_config_str (self->config, "policy/dir");
    char ca [PATH_MAX], errors [8192] = "";
    rh_file_path (ca, sizeof ca, "%s/ca.pem", self->pki_dir);
    rh_policy_t *policy = rh_policy_load (dir, ca, s_now (self), errors, sizeof errors);
    for (size_t i = 0; policy && i < rh_policy_size (policy); i++) {
        const rh_agreement_t *agreement = rh_policy_agreement (policy, i);
        char key [RH_MAX_QUEUE_KEY];
        snprintf (key, sizeof key, "p/%s", rh_agreement_id (agreement));
        uint8_t *value = NULL;
        size_t size = 0;
        uint32_t highest = 0;
        if (rh_db_get (self->db, key, strlen (key), &value, &size) == 0 && size == 4)
            memcpy (&highest, value, 4);
        free (value);
        if (rh_agreement_version (agreement) < highest) {
            snprintf (errors, sizeof errors,
                      "agreement %s version %u is older than version %u, loaded before "
                      "(a rollback is refused)\n",
                      rh_agreement_id (agreement), rh_agreement_version (agreement), highest);
            rh_policy_destroy (&policy);
        }
    }
    if (!policy) {
        for (char *line = errors, *end; *line; line = end + 1) {
            end = strchr (line, '\n');
            if (!end)
                break;
            *end = 0;
            rh_log_error ("broker", "agreements: %s", line);
            if (line == errors)
                snprintf (why, why_size, "%s", line);
        }
        return NULL;
    }
    char detail [300] = "";
    for (size_t i = 0; i < rh_policy_size (policy); i++) {
        const rh_agreement_t *agreement = rh_policy_agreement (policy, i);
        uint32_t version = rh_agreement_version (agreement);
        char key [RH_MAX_QUEUE_KEY];
        snprintf (key, sizeof key, "p/%s", rh_agreement_id (agreement));
        rh_db_put (self->db, key, strlen (key), &version, 4);
        snprintf (key, sizeof key, "g/%s/%010u", rh_agreement_id (agreement), version);
        size_t size = 0;
        const uint8_t *signature = NULL;
        const uint8_t *source = rh_policy_source (policy, i, &size, &signature);
        if (!rh_db_has (self->db, key, strlen (key))) {
            uint8_t *stored = malloc (size + RH_SIG_LEN);
            if (stored) {
                memcpy (stored, signature, RH_SIG_LEN);
                memcpy (stored + RH_SIG_LEN, source, size);
                rh_db_put (self->db, key, strlen (key), stored, size + RH_SIG_LEN);
                free (stored);
            }
        }
        char hex [RH_DIGEST_LEN * 2 + 1];
        sodium_bin2hex (hex, sizeof hex, rh_agreement_sha256 (agreement), RH_DIGEST_LEN);
        size_t used = strlen (detail);
        snprintf (detail + used, sizeof detail - used, "%s%s v%u sha256:%.16s", used ? ", " : "",
                  rh_agreement_id (agreement), version, hex);
        rh_log_info ("broker", "agreement %s version %u in force (%zu rules, %zu parties)",
                     rh_agreement_id (agreement), version, rh_agreement_rules (agreement),
                     rh_agreement_parties (agreement));
    }
    s_audit (self, "POLICY_LOADED", RH_OK, NULL, NULL, NULL, 0, NULL, 0, NULL, detail);
    return policy;
}

//  Reloads the CRL and certificates; closes every connection if a connected agency is no
//  longer allowed (ROUTER has no per-peer close: agents reconnect and are checked afresh).
static void
s_reload (rh_broker_t *self)
{
    //  Agreements first, all or nothing: a bad new set leaves the old one in force.
    char why [RH_MAX_REASON] = "";
    rh_policy_t *policy = s_load_policy (self, why, sizeof why);
    if (policy) {
        rh_policy_destroy (&self->policy);
        self->policy = policy;
    }
    else {
        rh_log_error ("broker", "agreement reload failed; the agreements in force stay");
        s_audit (self, "POLICY_RELOAD_FAILED", RH_E_POLICY, NULL, NULL, NULL, 0, NULL, 0, NULL,
                 why);
    }
    if (rh_db_commit (self->db, true) != 0)
        rh_log_error ("broker", "cannot commit the reload's audit records");
    rh_certstore_t *fresh = rh_certstore_load_dir (self->pki_dir);
    if (!fresh) {
        rh_log_error ("broker", "reload failed; keeping the certificates in force");
        return;
    }
    rh_certstore_destroy (&self->store);
    self->store = fresh;
    rh_verifier_reload (self->verifier);
    bool revoked = false;
    for (size_t i = 0; i < self->peer_count; i++) {
        s_peer_t *peer = &self->peers [i];
        if (peer->bound && !s_enrolled (self, peer->agency)) {
            rh_log_warn ("broker", "%s is no longer allowed; closing its connection", peer->agency);
            s_audit (self, "DISCONNECTED", RH_E_REVOKED, NULL, peer->agency, NULL, 0, NULL, 0, NULL,
                     "certificate no longer valid after CRL reload");
            revoked = true;
        }
    }
    rh_log_info ("broker", "reloaded PKI: %zu certificates", rh_certstore_size (self->store));
    if (!revoked)
        return;
    zmq_close (self->router);
    self->router = NULL;
    for (size_t i = 0; i < self->peer_count; i++)
        s_unbind (&self->peers [i]);
    //  zmq_close returns before the I/O thread has released the port: try again for a while.
    for (int attempt = 0; attempt < RH_REBIND_ATTEMPTS; attempt++) {
        if (s_setup_router (self) == 0)
            return;
        if (self->router) {
            zmq_close (self->router);
            self->router = NULL;
        }
        usleep (RH_REBIND_PAUSE_US);
    }
    rh_log_error ("broker",
                  "cannot rebind after reload; stopping so that a supervisor restarts us");
    exit (4);
}

//  Signs a checkpoint of the audit log when enough records or time have passed since the last.
static void
s_checkpoint (rh_broker_t *self, int64_t now, bool force)
{
    uint64_t size = rh_audit_size (self->audit);
    uint64_t last = rh_audit_checkpointed (self->audit);
    if (size == last)
        return;
    if (!force && size - last < (uint64_t) rh_config_int (self->config, "audit/checkpoint_every")
        && now - self->last_checkpoint_ms < rh_config_int (self->config, "audit/checkpoint_ms"))
        return;
    if (rh_audit_checkpoint (self->audit, self->signer, rh_time_now_ms ()) != 0)
        rh_log_error ("broker", "cannot sign an audit checkpoint");
    self->last_checkpoint_ms = now;
}

//  Sends a newly committed checkpoint to every connected agent.
static void
s_publish_checkpoint (rh_broker_t *self)
{
    rh_checkpoint_t last;
    if (!rh_audit_last_checkpoint (self->audit, &last) || last.size == self->published.size)
        return;
    self->published = last;
    rh_frame_t frame = { .type = RH_FRAME_CHECKPOINT, .checkpoint = last };
    for (size_t i = 0; i < self->peer_count; i++)
        if (self->peers [i].bound)
            s_send_frame (self, self->peers [i].routing_id, self->peers [i].routing_id_size,
                          &frame);
}

static void
s_tick (rh_broker_t *self, int64_t now)
{
    s_read_clock (self);
    s_checkpoint (self, rh_time_now_ms (), false);
    s_fire_timers (self, s_now (self));
    for (size_t i = 0; i < self->peer_count; i++) {
        s_peer_t *peer = &self->peers [i];
        if (peer->flight_count > 0 && now - peer->flights [0].sent_ms > self->redeliver_ms)
            s_redeliver (self, peer);
    }
}

//  ---------------------------------------------------------------------------------------------

rh_broker_t *
rh_broker_new (rh_config_t *config)
{
    assert (config);
    rh_broker_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->config = config;
    snprintf (self->pki_dir, sizeof self->pki_dir, "%s", rh_config_str (config, "pki/dir"));
    self->expiry_ms = rh_config_int (config, "delivery/expiry_days") * 24 * 3600 * 1000;
    self->redeliver_ms = rh_config_int (config, "delivery/redeliver_ms");
    self->max_attempts = (uint32_t) rh_config_int (config, "delivery/max_attempts");
    self->max_batch = (size_t) rh_config_int (config, "commit/max_batch");
    char identity [PATH_MAX];
    rh_file_path (identity, sizeof identity, "%s/%s", self->pki_dir,
                  rh_config_str (config, "pki/identity"));
    if (!(self->store = rh_certstore_load_dir (self->pki_dir)))
        goto fail;
    if (!(self->signer = rh_signer_load (identity))
        || rh_ca_load_curve (identity, self->curve_public, self->curve_secret) != 0)
        goto fail;
    const char *data_dir = rh_config_str (config, "data/dir");
    if (rh_file_mkdir (data_dir, 0700) != 0) {
        rh_log_error ("broker", "cannot create %s: %s", data_dir, strerror (errno));
        goto fail;
    }
    if (!(self->db = rh_db_open (data_dir)) || !(self->audit = rh_audit_new (self->db))
        || !(self->replay = rh_replay_new (self->db)))
        goto fail;
    char why [RH_MAX_REASON];
    s_read_clock (self);
    if (!(self->cases = rh_cases_new (self->db)))
        goto fail;
    if (!(self->policy = s_load_policy (self, why, sizeof why))
        || rh_db_commit (self->db, true) != 0)
        goto fail;
    rh_audit_last_checkpoint (self->audit, &self->published);
    uint8_t *value = NULL;
    size_t size = 0;
    if (rh_db_get (self->db, "b/seq", 5, &value, &size) == 0 && size == 8)
        memcpy (&self->own_sequence, value, 8);
    free (value);
    if (!(self->peers = calloc (RH_MAX_AGENCIES, sizeof *self->peers)))
        goto fail;
    if (!(self->context = zmq_ctx_new ()))
        goto fail;
    //  The ZAP handler must be bound before any CURVE socket accepts a connection.
    self->zap = zmq_socket (self->context, ZMQ_REP);
    if (!self->zap || zmq_bind (self->zap, RH_ZAP_ENDPOINT) != 0)
        goto fail;
    if (!(self->verifier = rh_verifier_new (self->context, self->pki_dir,
                                            (int) rh_config_int (config, "verify/workers"))))
        goto fail;
    if (s_setup_router (self) != 0)
        goto fail;
    rh_log_info ("broker",
                 "listening on %s as %s; %zu certificates; audit log holds %" PRIu64 " records",
                 rh_config_str (config, "bind/endpoint"), rh_signer_agency (self->signer),
                 rh_certstore_size (self->store), rh_audit_size (self->audit));
    return self;
fail:
    rh_log_error ("broker", "cannot start");
    rh_broker_destroy (&self);
    return NULL;
}

void
rh_broker_destroy (rh_broker_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        rh_broker_t *self = *self_p;
        int linger = 0;
        if (self->router) {
            zmq_setsockopt (self->router, ZMQ_LINGER, &linger, sizeof linger);
            zmq_close (self->router);
        }
        rh_verifier_destroy (&self->verifier);
        if (self->zap) {
            zmq_setsockopt (self->zap, ZMQ_LINGER, &linger, sizeof linger);
            zmq_close (self->zap);
        }
        if (self->context)
            zmq_ctx_term (self->context);
        for (size_t i = 0; self->peers && i < self->peer_count; i++)
            free (self->peers [i].flights);
        free (self->peers);
        free (self->replies);
        rh_replay_destroy (&self->replay);
        rh_audit_destroy (&self->audit);
        rh_db_destroy (&self->db);
        rh_signer_destroy (&self->signer);
        rh_policy_destroy (&self->policy);
        rh_cases_destroy (&self->cases);
        rh_certstore_destroy (&self->store);
        sodium_memzero (self->curve_secret, sizeof self->curve_secret);
        free (self);
        *self_p = NULL;
    }
}

int
rh_broker_run (rh_broker_t *self, volatile sig_atomic_t *stop, volatile sig_atomic_t *reload)
{
    assert (self && stop && reload);
    while (!*stop) {
        zmq_pollitem_t items [] = {
            //  Input waits while the verify workers hold their credit; results free it.
            { self->router, 0, rh_verifier_has_room (self->verifier) ? ZMQ_POLLIN : 0, 0 },
            { rh_verifier_socket (self->verifier), 0, ZMQ_POLLIN, 0 },
            { self->zap, 0, ZMQ_POLLIN, 0 },
        };
        if (zmq_poll (items, 3, rh_verifier_ready (self->verifier) ? 0 : RH_TICK_MS) < 0
            && errno != EINTR)
            break;
        if (items [2].revents & ZMQ_POLLIN)
            s_handle_zap (self);
        //  Take everything that is waiting, up to one batch, then commit once.
        size_t handled = 0;
        bool progress = true;
        while (progress && handled < self->max_batch) {
            progress = false;
            if (rh_verifier_has_room (self->verifier) && s_handle_router (self) > 0) {
                handled++;
                progress = true;
            }
            rh_verified_t result;
            if (rh_verifier_result (self->verifier, &result) == 0) {
                s_accept (self, &result);
                rh_verified_release (&result);
                handled++;
                progress = true;
            }
        }
        int64_t now = s_now (self);
        if (now - self->last_tick >= RH_TICK_MS) {
            self->last_tick = now;
            s_tick (self, now);
        }
        if (rh_db_pending (self->db) > 0) {
            //  No acknowledgement leaves before this returns. A batch that backs no reply
            //  (acknowledged deliveries, their audit records) need not wait for the disk: the
            //  next synchronous commit of the same log makes it durable with it, and a crashed
            //  process loses nothing the kernel already holds.
            if (rh_db_commit (self->db, self->reply_count > 0) != 0) {
                rh_log_error ("broker", "storage failed: stopping intake; nothing unsaved was "
                                        "acknowledged");
                return -1;
            }
            rh_replay_committed (self->replay);
            for (size_t i = 0; i < self->peer_count; i++)
                self->peers [i].committed_tail = self->peers [i].tail;
            s_publish_checkpoint (self);
        }
        s_flush_replies (self);
        //  Deliver only what is committed; their audit records join the next commit.
        for (size_t i = 0; i < self->peer_count; i++)
            if (self->peers [i].ready)
                s_pump (self, &self->peers [i]);
        if (*reload) {
            *reload = 0;
            s_reload (self);
        }
    }
    s_checkpoint (self, rh_time_now_ms (), true);  //  a clean stop leaves the whole log signed
    if (rh_db_pending (self->db) > 0 && rh_db_commit (self->db, true) != 0)
        return -1;
    return 0;
}
