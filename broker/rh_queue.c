/*  =========================================================================
    rh_queue - durable per-recipient queues, the agents bound to them, and
    delivery with credit, redelivery, acknowledgement and dead letters
    =========================================================================
*/
#include "rh_broker_classes.h"

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

struct _rh_queue_t {
    rh_db_t *db;               //  borrowed
    rh_audit_t *audit;         //  borrowed: DELIVERED, ACKED, DEAD_LETTER and NOTICE records
    rh_signer_t *signer;       //  borrowed: the broker's identity, for non-delivery notices
    rh_queue_send_fn *send;    //  hands a frame to the transport
    void *send_arg;            //  its first argument
    rh_queue_limits_t limits;  //  expiry, redelivery, attempts
    s_peer_t *peers;           //  RH_MAX_AGENCIES slots: a peer's address never changes
    size_t peer_count;
    uint64_t own_sequence;  //  sequence of broker-made messages
};

rh_queue_t *
rh_queue_new (rh_db_t *db, rh_audit_t *audit, rh_signer_t *signer, const rh_queue_limits_t *limits,
              rh_queue_send_fn *send, void *send_arg)
{
    assert (db && audit && limits && send);
    rh_queue_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->db = db;
    self->audit = audit;
    self->signer = signer;
    self->send = send;
    self->send_arg = send_arg;
    self->limits = *limits;
    uint8_t *value = NULL;
    size_t size = 0;
    if (rh_db_get (db, "b/seq", 5, &value, &size) == 0 && size == 8)
        memcpy (&self->own_sequence, value, 8);
    free (value);
    if (!(self->peers = calloc (RH_MAX_AGENCIES, sizeof *self->peers)))
        rh_queue_destroy (&self);
    return self;
}

void
rh_queue_destroy (rh_queue_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        rh_queue_t *self = *self_p;
        for (size_t i = 0; self->peers && i < self->peer_count; i++)
            free (self->peers [i].flights);
        free (self->peers);
        free (self);
        *self_p = NULL;
    }
}

//  The peer of an agency, created (with its tail read from the database) on first use; NULL if
//  no more agencies fit.
static s_peer_t *
s_peer (rh_queue_t *self, const char *agency)
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
s_queue_head (rh_queue_t *self, s_peer_t *peer)
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

int
rh_queue_reserve (rh_queue_t *self, const char *agency)
{
    assert (self && agency);
    return s_peer (self, agency) ? 0 : -1;
}

int
rh_queue_enqueue (rh_queue_t *self, const char *agency, const char *msg_id, const char *sender,
                  const uint8_t *sealed, size_t size, int64_t expires_ms,
                  const rh_decision_t *decision, uint32_t kind, int64_t now)
{
    assert (self && agency && msg_id && sender && sealed);
    s_peer_t *peer = s_peer (self, agency);
    if (!peer)
        return -1;
    rh_queued_t record = { .msg_id = msg_id,
                           .sender = sender,
                           .sealed = sealed,
                           .sealed_size = size,
                           .enqueued_ms = now,
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

uint64_t
rh_queue_next_sequence (rh_queue_t *self)
{
    assert (self);
    self->own_sequence++;
    rh_db_put (self->db, "b/seq", 5, &self->own_sequence, 8);
    return self->own_sequence;
}

void
rh_queue_send_own (rh_queue_t *self, const char *recipient, uint8_t **sealed_p, size_t size,
                   const char *msg_id, uint32_t kind, const char *detail,
                   const rh_decision_t *decision, const char *case_id, int64_t now)
{
    assert (self && recipient && sealed_p && self->signer);
    uint8_t *sealed = *sealed_p;
    *sealed_p = NULL;
    if (!sealed) {
        rh_log_error ("broker", "cannot build the %s for %s", detail, recipient);
        return;
    }
    const char *to [] = { recipient };
    if (rh_queue_enqueue (self, recipient, msg_id, rh_signer_agency (self->signer), sealed, size,
                          now + self->limits.expiry_ms, decision, kind, now)
        == 0)
        rh_audit_decided (self->audit, "NOTICE", RH_OK, msg_id, rh_signer_agency (self->signer), to,
                          1, sealed, size, NULL, detail, NULL, 0, case_id);
    free (sealed);
}

//  Tells a sender that a message could not be delivered: a broker-signed ALERT in its queue.
static void
s_non_delivery (rh_queue_t *self, const rh_queued_t *queued, const char *recipient, const char *why,
                int64_t now)
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
    uint64_t sequence = rh_queue_next_sequence (self);
    if (envelope && rh_envelope_set_sequence (envelope, sequence) == 0
        && rh_envelope_sign (envelope, self->signer) == 0
        && rh_envelope_encode (envelope, &sealed, &size) == 0) {
        const char *to [] = { queued->sender };
        if (rh_queue_enqueue (self, queued->sender, rh_envelope_msg_id (envelope),
                              rh_signer_agency (self->signer), sealed, size,
                              now + self->limits.expiry_ms, NULL, RH_KIND_ALERT, now)
            == 0)
            rh_audit_event (self->audit, "NOTICE", RH_OK, rh_envelope_msg_id (envelope),
                            rh_signer_agency (self->signer), to, 1, sealed, size, NULL,
                            "non-delivery notice");
    }
    free (sealed);
    rh_envelope_destroy (&envelope);
}

static void
s_unbind (s_peer_t *peer)
{
    peer->bound = false;
    peer->flight_count = 0;
}

static void
s_dead_letter (rh_queue_t *self, s_peer_t *peer, uint64_t seq, const rh_queued_t *queued,
               const uint8_t *value, size_t size, const char *why, int64_t now)
{
    char key [RH_MAX_QUEUE_KEY];
    s_queue_key ("x", peer->agency, seq, key, sizeof key);
    rh_db_put (self->db, key, strlen (key), value, size);
    s_queue_key ("q", peer->agency, seq, key, sizeof key);
    rh_db_delete (self->db, key, strlen (key));
    const char *recipients [] = { peer->agency };
    rh_audit_event (self->audit, "DEAD_LETTER", RH_OK, queued->msg_id, queued->sender, recipients,
                    1, NULL, 0, NULL, why);
    rh_log_warn ("broker", "dead-lettered %s for %s: %s", queued->msg_id, peer->agency, why);
    s_non_delivery (self, queued, peer->agency, why, now);
}

//  Sends what the peer's credit allows, from its cursor on.
static void
s_pump (rh_queue_t *self, s_peer_t *peer, int64_t now)
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
            s_dead_letter (self, peer, seq, &queued, value, size, "it expired before delivery",
                           now);
        else if (queued.attempts >= self->limits.max_attempts)
            s_dead_letter (self, peer, seq, &queued, value, size,
                           "it was delivered repeatedly without acknowledgement", now);
        else {
            rh_frame_t frame = { .type = RH_FRAME_DELIVER,
                                 .delivery_id = seq,
                                 .sealed = queued.sealed,
                                 .sealed_size = queued.sealed_size,
                                 .agreement_id = queued.agreement_id,
                                 .agreement_version = queued.agreement_version,
                                 .rule_id = queued.rule_id };
            if (self->send (self->send_arg, peer->routing_id, peer->routing_id_size, &frame) != 0) {
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
            rh_audit_event (self->audit, "DELIVERED", RH_OK, queued.msg_id, queued.sender,
                            recipients, 1, NULL, 0, NULL, NULL);
        }
        peer->cursor = seq + 1;
        rh_record_release (&queued.owned);
    }
    rh_db_iter_destroy (&iter);
}

//  Counts one more attempt on every unacknowledged delivery and sends them again.
static void
s_redeliver (rh_queue_t *self, s_peer_t *peer)
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

int
rh_queue_bind (rh_queue_t *self, const char *agency, const uint8_t *routing_id,
               size_t routing_id_size, uint32_t credit)
{
    assert (self && agency && routing_id);
    s_peer_t *peer = s_peer (self, agency);
    if (!peer || NEVER (routing_id_size > sizeof peer->routing_id))
        return -1;
    memcpy (peer->routing_id, routing_id, routing_id_size);
    peer->routing_id_size = routing_id_size;
    peer->bound = true;
    peer->window = credit > RH_MAX_CREDIT ? RH_MAX_CREDIT : credit ? credit : 1;
    //  Everything not acknowledged is sent again, from the head of the queue.
    peer->flight_count = 0;
    peer->cursor = s_queue_head (self, peer);
    peer->ready = true;
    rh_log_info ("broker", "%s connected (credit %u)", agency, peer->window);
    return 0;
}

bool
rh_queue_bound_to (rh_queue_t *self, const char *agency, const uint8_t *routing_id,
                   size_t routing_id_size)
{
    assert (self && agency && routing_id);
    s_peer_t *peer = s_peer (self, agency);
    return peer && peer->bound && peer->routing_id_size == routing_id_size
           && memcmp (peer->routing_id, routing_id, routing_id_size) == 0;
}

int
rh_queue_ack (rh_queue_t *self, const char *agency, uint64_t seq, rh_acked_t *acked)
{
    assert (self && agency && acked);
    s_peer_t *peer = s_peer (self, agency);
    for (size_t i = 0; peer && i < peer->flight_count; i++) {
        if (peer->flights [i].seq != seq)
            continue;
        snprintf (acked->msg_id, sizeof acked->msg_id, "%s", peer->flights [i].msg_id);
        acked->kind = peer->flights [i].kind;
        memmove (&peer->flights [i], &peer->flights [i + 1],
                 (peer->flight_count - i - 1) * sizeof *peer->flights);
        peer->flight_count--;
        char key [RH_MAX_QUEUE_KEY];
        s_queue_key ("q", peer->agency, seq, key, sizeof key);
        rh_db_delete (self->db, key, strlen (key));
        char detail [48];
        snprintf (detail, sizeof detail, "delivery %" PRIu64, seq);
        const char *recipients [] = { peer->agency };
        rh_audit_event (self->audit, "ACKED", RH_OK, acked->msg_id, peer->agency, recipients, 1,
                        NULL, 0, NULL, detail);
        peer->ready = true;
        return 1;
    }
    return 0;
}

bool
rh_queue_connected (rh_queue_t *self, const char *agency)
{
    assert (self && agency);
    for (size_t i = 0; i < self->peer_count; i++)
        if (strcmp (self->peers [i].agency, agency) == 0)
            return self->peers [i].bound;
    return false;
}

size_t
rh_queue_bound_agencies (rh_queue_t *self, const char **agencies, size_t max)
{
    assert (self && agencies);
    size_t count = 0;
    for (size_t i = 0; i < self->peer_count && count < max; i++)
        if (self->peers [i].bound)
            agencies [count++] = self->peers [i].agency;
    return count;
}

void
rh_queue_unbind_all (rh_queue_t *self)
{
    assert (self);
    for (size_t i = 0; i < self->peer_count; i++)
        s_unbind (&self->peers [i]);
}

void
rh_queue_broadcast (rh_queue_t *self, const rh_frame_t *frame)
{
    assert (self && frame);
    for (size_t i = 0; i < self->peer_count; i++)
        if (self->peers [i].bound)
            self->send (self->send_arg, self->peers [i].routing_id, self->peers [i].routing_id_size,
                        frame);
}

void
rh_queue_committed (rh_queue_t *self)
{
    assert (self);
    for (size_t i = 0; i < self->peer_count; i++)
        self->peers [i].committed_tail = self->peers [i].tail;
}

void
rh_queue_pump (rh_queue_t *self, int64_t now)
{
    assert (self);
    for (size_t i = 0; i < self->peer_count; i++)
        if (self->peers [i].ready)
            s_pump (self, &self->peers [i], now);
}

void
rh_queue_redeliver (rh_queue_t *self, int64_t now)
{
    assert (self);
    for (size_t i = 0; i < self->peer_count; i++) {
        s_peer_t *peer = &self->peers [i];
        if (peer->flight_count > 0 && now - peer->flights [0].sent_ms > self->limits.redeliver_ms)
            s_redeliver (self, peer);
    }
}
