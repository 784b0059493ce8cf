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

//  A queue entry written by this process and not yet sent, kept with the bytes it delivers: a
//  recipient that keeps up is served from memory, without an iterator or a read per delivery.
typedef struct {
    uint64_t seq;
    uint8_t *value;  //  the entry as stored
    size_t size;
    uint8_t *payload;  //  the bytes it delivers when the entry refers to its audit record's copy
    size_t payload_size;
} s_fresh_t;

//  A delivery the agent could not verify and did not take in (an Unverified answer): still
//  queued, not in flight, offered again later. Its first time, whether its sender was told, and
//  the last code are kept under qu/ until it is acknowledged.
typedef struct {
    uint64_t seq;
    int64_t first_ms;           //  when the agent first could not verify it
    int64_t due_ms;             //  parked: offered again then (0: at the next tick)
    bool parked;                //  false: offered again (in flight or about to be)
    bool alerted;               //  its sender was told it waits
    char code [RH_MAX_ID + 1];  //  the agent's last code (RH_E_...)
} s_held_t;

//  An agency as a delivery target.
typedef struct {
    char agency [RH_MAX_ID + 1];
    uint8_t routing_id [256];  //  connection bound by the agency's latest Hello
    size_t routing_id_size;
    int connection;           //  the transport's token for that connection (-1: unknown)
    bool bound;               //  a Hello bound a live connection
    uint32_t window;          //  credit the agent asked for (0: send nothing for now)
    uint64_t tail;            //  last queue sequence given out
    uint64_t committed_tail;  //  last queue sequence known to be committed (may lag, never lead)
    uint64_t cursor;          //  next queue sequence to send
    uint64_t sent_mark;       //  every queue sequence up to this one was sent at least once
    s_flight_t *flights;      //  sent, not yet acknowledged, in send order
    size_t flight_count;
    size_t flight_capacity;
    int64_t backoff_ms;     //  silence before the flights are sent again (doubles, capped)
    int64_t resend_due_ms;  //  when they are sent again if nothing is acknowledged before
    bool acked;             //  an acknowledgement came: the next tick restarts the back-off
    bool ready;             //  may have something to send
    s_fresh_t *fresh;       //  the newest entries, contiguous up to tail, in queue order
    size_t fresh_first;     //  ring: index of the oldest
    size_t fresh_count;
    size_t fresh_bytes;
    s_held_t *held;  //  deliveries the agent could not verify, until acknowledged
    size_t held_count;
    size_t held_capacity;
} s_peer_t;

struct _rh_queue_t {
    rh_db_t *db;               //  borrowed
    rh_audit_t *audit;         //  borrowed: DELIVERED, ACKED, DEAD_LETTER and NOTICE records
    rh_signer_t *signer;       //  borrowed: the broker's identity, for non-delivery notices
    rh_queue_send_fn *send;    //  hands a frame to the transport
    void *send_arg;            //  its first argument
    rh_queue_limits_t limits;  //  expiry, redelivery
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

//  Forgets the oldest fresh entry.
static void
s_fresh_pop (s_peer_t *peer)
{
    s_fresh_t *fresh = &peer->fresh [peer->fresh_first];
    peer->fresh_bytes -= fresh->size + fresh->payload_size;
    free (fresh->value);
    free (fresh->payload);
    peer->fresh_first = (peer->fresh_first + 1) % RH_QUEUE_FRESH_ENTRIES;
    peer->fresh_count--;
}

void
rh_queue_destroy (rh_queue_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        rh_queue_t *self = *self_p;
        for (size_t i = 0; self->peers && i < self->peer_count; i++) {
            s_peer_t *peer = &self->peers [i];
            while (peer->fresh_count)
                s_fresh_pop (peer);
            free (peer->fresh);
            free (peer->flights);
            free (peer->held);
        }
        free (self->peers);
        free (self);
        *self_p = NULL;
    }
}

//  qu/<agency>/<seq>: first time (8 bytes), alerted (1), last code.
static void
s_held_put (rh_queue_t *self, const s_peer_t *peer, const s_held_t *held)
{
    char key [RH_MAX_QUEUE_KEY];
    uint8_t value [9 + RH_MAX_ID];
    size_t code = strlen (held->code);
    memcpy (value, &held->first_ms, 8);
    value [8] = held->alerted;
    memcpy (value + 9, held->code, code);
    snprintf (key, sizeof key, "qu/%s/%020" PRIu64, peer->agency, held->seq);
    rh_db_put (self->db, key, strlen (key), value, 9 + code);
}

//  The held entry for seq, added (unparked) if absent; NULL if memory ran out.
static s_held_t *
s_held (s_peer_t *peer, uint64_t seq, bool add)
{
    for (size_t i = 0; i < peer->held_count; i++)
        if (peer->held [i].seq == seq)
            return &peer->held [i];
    if (!add)
        return NULL;
    if (peer->held_count == peer->held_capacity) {
        size_t capacity = peer->held_capacity ? peer->held_capacity * 2 : 8;
        s_held_t *grown = realloc (peer->held, capacity * sizeof *grown);
        if (!grown)
            return NULL;
        peer->held = grown;
        peer->held_capacity = capacity;
    }
    s_held_t *held = &peer->held [peer->held_count++];
    memset (held, 0, sizeof *held);
    held->seq = seq;
    return held;
}

//  Reads what a broker that stopped knew of the agency's unverified deliveries: they are sent
//  from the head at the next Hello like everything else, and keep their first time.
static void
s_held_load (rh_queue_t *self, s_peer_t *peer)
{
    char prefix [RH_MAX_ID + 8];
    snprintf (prefix, sizeof prefix, "qu/%s/", peer->agency);
    rh_db_iter_t *iter = rh_db_iter_new (self->db, prefix, strlen (prefix));
    for (; iter && rh_db_iter_valid (iter); rh_db_iter_next (iter)) {
        size_t key_size = 0, size = 0;
        const uint8_t *key = rh_db_iter_key (iter, &key_size);
        const uint8_t *value = rh_db_iter_value (iter, &size);
        uint64_t seq = rh_db_key_sequence (key, key_size, strlen (prefix));
        s_held_t *held =
            seq == UINT64_MAX || size < 9 || size > 9 + RH_MAX_ID ? NULL : s_held (peer, seq, true);
        if (!held)
            continue;
        memcpy (&held->first_ms, value, 8);
        held->alerted = value [8] != 0;
        memcpy (held->code, value + 9, size - 9);
        held->code [size - 9] = 0;
    }
    rh_db_iter_destroy (&iter);
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
    peer->connection = -1;
    peer->backoff_ms = self->limits.redeliver_ms;
    char key [RH_MAX_ID + 8];
    snprintf (key, sizeof key, "t/%s", agency);
    uint8_t *value = NULL;
    size_t size = 0;
    if (rh_db_get (self->db, key, strlen (key), &value, &size) == 0 && size == 8)
        memcpy (&peer->tail, value, 8);
    free (value);
    peer->committed_tail = peer->tail;
    peer->cursor = peer->tail + 1;
    snprintf (key, sizeof key, "qs/%s", agency);
    value = NULL;
    if (rh_db_get (self->db, key, strlen (key), &value, &size) == 0 && size == 8)
        memcpy (&peer->sent_mark, value, 8);
    free (value);
    s_held_load (self, peer);
    return peer;
}

static void
s_queue_key (const char *prefix, const char *agency, uint64_t seq, char *key, size_t size)
{
    snprintf (key, size, "%s/%s/%020" PRIu64, prefix, agency, seq);
}

//  Keeps a copy of the entry just written at the tail. A recipient far behind is read from the
//  database up to the oldest copy kept; if memory runs out, all copies are let go (they must
//  stay contiguous up to the tail).
static void
s_fresh_push (s_peer_t *peer, const uint8_t *value, size_t size, const uint8_t *payload,
              size_t payload_size)
{
    if (!peer->fresh && !(peer->fresh = calloc (RH_QUEUE_FRESH_ENTRIES, sizeof *peer->fresh)))
        return;
    s_fresh_t fresh = { .seq = peer->tail, .size = size, .payload_size = payload_size };
    //  Past the bounds the oldest go first: the copies stay contiguous up to the tail.
    while (peer->fresh_count
           && (peer->fresh_count == RH_QUEUE_FRESH_ENTRIES
               || peer->fresh_bytes + size + payload_size > RH_QUEUE_FRESH_BYTES))
        s_fresh_pop (peer);
    bool fits = size + payload_size <= RH_QUEUE_FRESH_BYTES;
    if (fits && (fresh.value = malloc (size ? size : 1))
        && (!payload || (fresh.payload = malloc (payload_size ? payload_size : 1)))) {
        memcpy (fresh.value, value, size);
        if (payload)
            memcpy (fresh.payload, payload, payload_size);
        peer->fresh [(peer->fresh_first + peer->fresh_count) % RH_QUEUE_FRESH_ENTRIES] = fresh;
        peer->fresh_count++;
        peer->fresh_bytes += size + payload_size;
        return;
    }
    free (fresh.value);
    while (peer->fresh_count)
        s_fresh_pop (peer);
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
                  const uint8_t *sealed, size_t size, uint64_t payload_leaf, int64_t expires_ms,
                  const rh_decision_t *decision, uint32_t kind, int64_t now)
{
    assert (self && agency && msg_id && sender && sealed);
    s_peer_t *peer = s_peer (self, agency);
    if (!peer)
        return -1;
    rh_queued_t record = { .msg_id = msg_id,
                           .sender = sender,
                           .sealed = payload_leaf ? NULL : sealed,
                           .sealed_size = payload_leaf ? 0 : size,
                           .payload_leaf = payload_leaf,
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
    s_fresh_push (peer, bytes, record_size, payload_leaf ? sealed : NULL, payload_leaf ? size : 0);
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
    //  Recorded first: the queue refers to the copy the audit record keeps.
    uint64_t leaf = rh_queue_reserve (self, recipient) == 0
                        ? rh_audit_decided (self->audit, "NOTICE", RH_OK, msg_id,
                                            rh_signer_agency (self->signer), to, 1, sealed, size,
                                            NULL, detail, NULL, 0, case_id)
                        : 0;
    if (!leaf
        || rh_queue_enqueue (self, recipient, msg_id, rh_signer_agency (self->signer), sealed, size,
                             leaf, now + self->limits.expiry_ms, decision, kind, now)
               != 0)
        rh_log_error ("broker", "cannot queue the %s for %s", detail, recipient);
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
    rh_queue_alert_t alert = { .to = queued->sender,
                               .alert_kind = "NON_DELIVERY",
                               .summary_en = summary_en,
                               .summary_cy = summary_cy,
                               .in_reply_to = queued->msg_id,
                               .detail = "non-delivery notice" };
    rh_queue_send_alert (self, &alert, now);
}

//  Reads a committed queue entry. Returns 0 and fills queued (release its owned storage) and
//  value (free it), or -1 if it is absent or does not decode.
static int
s_read_entry (rh_queue_t *self, const char *key, rh_queued_t *queued, uint8_t **value_p)
{
    uint8_t *value = NULL;
    size_t size = 0;
    if (rh_db_get (self->db, key, strlen (key), &value, &size) != 0)
        return -1;
    if (rh_record_decode_queued (value, size, queued) != RH_OK) {
        free (value);
        return -1;
    }
    *value_p = value;
    return 0;
}

//  Reads the committed entry seq of agency's queue, leaving its key in key (RH_MAX_QUEUE_KEY
//  bytes): as s_read_entry.
static int
s_read_queued (rh_queue_t *self, const char *agency, uint64_t seq, char *key, rh_queued_t *queued,
               uint8_t **value_p)
{
    s_queue_key ("q", agency, seq, key, RH_MAX_QUEUE_KEY);
    return s_read_entry (self, key, queued, value_p);
}

//  Writes a queue entry back with one more attempt: it may have reached the agent, so it is
//  never dead-lettered on expiry. queued is the committed entry as read.
static void
s_put_attempt (rh_queue_t *self, const char *key, rh_queued_t *queued)
{
    queued->attempts++;
    size_t size = 0;
    uint8_t *bytes = rh_record_encode_queued (queued, &size);
    if (bytes)
        rh_db_put (self->db, key, strlen (key), bytes, size);
    else
        rh_log_error ("broker", "cannot count an attempt on %s", key);
    free (bytes);
}

//  Counts an attempt on every delivery in flight and forgets them: the connection they went
//  on is gone or replaced, and the next pump sends them again from the head of the queue.
static void
s_drop_flights (rh_queue_t *self, s_peer_t *peer)
{
    for (size_t i = 0; i < peer->flight_count; i++) {
        char key [RH_MAX_QUEUE_KEY];
        rh_queued_t queued;
        uint8_t *value = NULL;
        if (s_read_queued (self, peer->agency, peer->flights [i].seq, key, &queued, &value) == 0) {
            s_put_attempt (self, key, &queued);
            rh_record_release (&queued.owned);
        }
        free (value);
    }
    peer->flight_count = 0;
    peer->backoff_ms = self->limits.redeliver_ms;
}

static void
s_unbind (rh_queue_t *self, s_peer_t *peer)
{
    s_drop_flights (self, peer);
    peer->bound = false;
    peer->connection = -1;
}

static void
s_dead_letter (rh_queue_t *self, s_peer_t *peer, uint64_t seq, rh_queued_t *queued, const char *why,
               int64_t now)
{
    char key [RH_MAX_QUEUE_KEY];
    queued->dead_ms = now;
    queued->dead_reason = why;
    size_t size = 0;
    uint8_t *bytes = rh_record_encode_queued (queued, &size);
    if (!bytes) {
        rh_log_error ("broker", "cannot write the dead letter %s/%" PRIu64, peer->agency, seq);
        return;  //  it stays queued: better late than lost
    }
    s_queue_key ("x", peer->agency, seq, key, sizeof key);
    rh_db_put (self->db, key, strlen (key), bytes, size);
    free (bytes);
    s_queue_key ("q", peer->agency, seq, key, sizeof key);
    rh_db_delete (self->db, key, strlen (key));
    const char *recipients [] = { peer->agency };
    rh_audit_event (self->audit, "DEAD_LETTER", RH_OK, queued->msg_id, queued->sender, recipients,
                    1, NULL, 0, NULL, why);
    rh_log_warn ("broker", "dead-lettered %s for %s: %s", queued->msg_id, peer->agency, why);
    s_non_delivery (self, queued, peer->agency, why, now);
}

//  Makes queued->sealed the bytes to deliver: an entry that refers to the copy its audit record
//  keeps reads it (into *payload: free it). Returns 0, or -1 if that copy is not there.
static int
s_load_payload (rh_queue_t *self, rh_queued_t *queued, uint8_t **payload)
{
    *payload = NULL;
    if (!queued->payload_leaf)
        return 0;
    size_t size = 0;
    if (rh_audit_payload (self->db, queued->payload_leaf - 1, payload, &size) != 0)
        return -1;
    queued->sealed = *payload;
    queued->sealed_size = size;
    return 0;
}

//  Hands one queue entry to the transport. Returns 0, or -1 if the transport did not take it
//  (the peer is unbound if it has gone).
static int
s_send_entry (rh_queue_t *self, s_peer_t *peer, uint64_t seq, const rh_queued_t *queued)
{
    rh_frame_t frame = { .type = RH_FRAME_DELIVER,
                         .delivery_id = seq,
                         .sealed = queued->sealed,
                         .sealed_size = queued->sealed_size,
                         .agreement_id = queued->agreement_id,
                         .agreement_version = queued->agreement_version,
                         .rule_id = queued->rule_id };
    if (self->send (self->send_arg, peer->routing_id, peer->routing_id_size, &frame) == 0) {
        const char *recipients [] = { peer->agency };
        rh_audit_event (self->audit, "DELIVERED", RH_OK, queued->msg_id, queued->sender, recipients,
                        1, NULL, 0, NULL, NULL);
        return 0;
    }
    if (errno == EHOSTUNREACH)
        s_unbind (self, peer);  //  gone: its next Hello starts again from the head
    return -1;
}

//  Remembers a delivery sent and not yet acknowledged. Returns 0, or -1 if memory ran out (it
//  is then sent again from the head after the next Hello).
static int
s_add_flight (s_peer_t *peer, uint64_t seq, const rh_queued_t *queued, int64_t now)
{
    if (peer->flight_count == peer->flight_capacity) {
        size_t capacity = peer->flight_capacity ? peer->flight_capacity * 2 : 64;
        s_flight_t *grown = realloc (peer->flights, capacity * sizeof *grown);
        if (!grown)
            return -1;
        peer->flights = grown;
        peer->flight_capacity = capacity;
    }
    if (peer->flight_count == 0)
        peer->resend_due_ms = now + peer->backoff_ms;
    s_flight_t *flight = &peer->flights [peer->flight_count++];
    flight->seq = seq;
    flight->kind = queued->kind;
    flight->sent_ms = now;
    snprintf (flight->msg_id, sizeof flight->msg_id, "%s", queued->msg_id);
    return 0;
}

//  Delivers, or dead-letters, the committed entry seq (value as stored). payload, if not NULL,
//  is the bytes it delivers when it refers to its audit record's copy (known from memory); else
//  they are read. Returns false when the transport takes no more for now.
static bool
s_pump_entry (rh_queue_t *self, s_peer_t *peer, uint64_t seq, const uint8_t *value, size_t size,
              const uint8_t *payload, size_t payload_size, int64_t now, bool *sent)
{
    rh_queued_t queued;
    if (rh_record_decode_queued (value, size, &queued) != RH_OK) {
        rh_log_error ("broker", "queue entry %s/%" PRIu64 " does not decode; skipped", peer->agency,
                      seq);
        peer->cursor = seq + 1;
        return true;
    }
    if (queued.payload_leaf && payload) {
        queued.sealed = payload;
        queued.sealed_size = payload_size;
    }
    uint8_t *read = NULL;
    bool more = true;
    //  Only a message that never left can be given up on: one that was sent may have
    //  arrived, and must not be both delivered and reported undelivered.
    if (queued.expires_ms && now > queued.expires_ms && queued.attempts == 0
        && seq > peer->sent_mark)
        s_dead_letter (self, peer, seq, &queued, "it expired before delivery", now);
    else if (!payload && s_load_payload (self, &queued, &read) != 0) {
        rh_log_error ("broker", "the stored copy of queue entry %s/%" PRIu64 " is missing",
                      peer->agency, seq);
        s_dead_letter (self, peer, seq, &queued, "its stored copy is missing", now);
    }
    else if (s_send_entry (self, peer, seq, &queued) != 0
             || s_add_flight (peer, seq, &queued, now) != 0)
        more = false;
    else if (seq > peer->sent_mark) {
        //  Sent in queue order: a broker that stops before the acknowledgement must still
        //  know that everything up to here left once (one key per agency, not per message).
        peer->sent_mark = seq;
        *sent = true;
    }
    if (more)
        peer->cursor = seq + 1;
    free (read);
    rh_record_release (&queued.owned);
    return more;
}

//  Sends committed entries read from the database, from the cursor up to (not including) end.
//  Returns false when the transport takes no more for now.
static bool
s_pump_stored (rh_queue_t *self, s_peer_t *peer, uint64_t end, int64_t now, bool *sent)
{
    char prefix [RH_MAX_ID + 8], key [RH_MAX_QUEUE_KEY];
    snprintf (prefix, sizeof prefix, "q/%s/", peer->agency);
    rh_db_iter_t *iter = rh_db_iter_new (self->db, prefix, strlen (prefix));
    if (!iter)
        return false;
    bool more = true;
    s_queue_key ("q", peer->agency, peer->cursor, key, sizeof key);
    rh_db_iter_seek (iter, key, strlen (key));
    for (; more && peer->bound && rh_db_iter_valid (iter) && peer->flight_count < peer->window;
         rh_db_iter_next (iter)) {
        size_t key_size = 0, size = 0;
        const uint8_t *found = rh_db_iter_key (iter, &key_size);
        uint64_t seq = rh_db_key_sequence (found, key_size, strlen (prefix));
        if (seq == UINT64_MAX)
            continue;
        if (seq >= end) {
            peer->cursor = end;  //  nothing between: what follows is in memory
            break;
        }
        const uint8_t *value = rh_db_iter_value (iter, &size);
        more = s_pump_entry (self, peer, seq, value, size, NULL, 0, now, sent);
    }
    if (more && !rh_db_iter_valid (iter) && peer->cursor < end)
        peer->cursor = end;
    rh_db_iter_destroy (&iter);
    return more;
}

//  Sends what the peer's credit allows, from its cursor on: older entries from the database,
//  the newest from memory.
static void
s_pump (rh_queue_t *self, s_peer_t *peer, int64_t now)
{
    peer->ready = false;
    if (!peer->bound || peer->flight_count >= peer->window)
        return;
    bool sent = false, more = true;
    while (peer->fresh_count && peer->fresh [peer->fresh_first].seq < peer->cursor)
        s_fresh_pop (peer);  //  sent or given up on
    uint64_t fresh_from =
        peer->fresh_count ? peer->fresh [peer->fresh_first].seq : peer->committed_tail + 1;
    if (fresh_from > peer->committed_tail + 1)
        fresh_from = peer->committed_tail + 1;  //  never past what the database holds
    if (peer->cursor < fresh_from)
        more = s_pump_stored (self, peer, fresh_from, now, &sent);
    while (more && peer->bound && peer->fresh_count && peer->flight_count < peer->window) {
        s_fresh_t *fresh = &peer->fresh [peer->fresh_first];
        if (fresh->seq != peer->cursor || fresh->seq > peer->committed_tail)
            break;  //  not reached yet, or not committed yet
        more = s_pump_entry (self, peer, fresh->seq, fresh->value, fresh->size, fresh->payload,
                             fresh->payload_size, now, &sent);
        if (peer->cursor > fresh->seq)
            s_fresh_pop (peer);
    }
    if (sent) {
        char key [RH_MAX_QUEUE_KEY];
        snprintf (key, sizeof key, "qs/%s", peer->agency);
        rh_db_put (self->db, key, strlen (key), &peer->sent_mark, 8);
    }
}

//  Sends every unacknowledged delivery again, counting an attempt on each, and doubles the
//  back-off: a stalled agent is not buried under copies.
static void
s_resend (rh_queue_t *self, s_peer_t *peer, int64_t now)
{
    for (size_t i = 0; peer->bound && i < peer->flight_count; i++) {
        s_flight_t *flight = &peer->flights [i];
        char key [RH_MAX_QUEUE_KEY];
        rh_queued_t queued;
        uint8_t *value = NULL;
        if (s_read_queued (self, peer->agency, flight->seq, key, &queued, &value) != 0)
            continue;  //  not readable now: the next Hello sends it from the head
        uint8_t *payload = NULL;
        if (s_load_payload (self, &queued, &payload) != 0) {
            rh_record_release (&queued.owned);
            free (value);
            continue;  //  its copy is gone: the next pump from the head dead-letters it
        }
        int sent = s_send_entry (self, peer, flight->seq, &queued);
        if (sent == 0) {
            //  Counted after the send: an unbind in s_send_entry counts it itself.
            s_put_attempt (self, key, &queued);
            flight->sent_ms = now;
        }
        free (payload);
        rh_record_release (&queued.owned);
        free (value);
        if (sent != 0)
            break;  //  gone, or the transport is full: the rest wait for the next round
    }
    if (!peer->bound)
        return;
    peer->backoff_ms *= 2;
    if (peer->backoff_ms > RH_MAX_REDELIVER_MS)
        peer->backoff_ms = RH_MAX_REDELIVER_MS;
    peer->resend_due_ms = now + peer->backoff_ms;
}

int
rh_queue_bind (rh_queue_t *self, const char *agency, const uint8_t *routing_id,
               size_t routing_id_size, int connection, uint32_t credit)
{
    assert (self && agency && routing_id);
    s_peer_t *peer = s_peer (self, agency);
    if (!peer || NEVER (routing_id_size > sizeof peer->routing_id))
        return -1;
    //  Everything not acknowledged is sent again, from the head of the queue.
    s_drop_flights (self, peer);
    memcpy (peer->routing_id, routing_id, routing_id_size);
    peer->routing_id_size = routing_id_size;
    peer->connection = connection;
    peer->bound = true;
    //  A credit of 0 is the agent pausing its intake (its inbox cannot be written).
    peer->window = credit > RH_MAX_CREDIT ? RH_MAX_CREDIT : credit;
    peer->cursor = s_queue_head (self, peer);
    peer->ready = true;
    //  What it could not verify goes again with the rest: a restarted agent may trust more now.
    for (size_t i = 0; i < peer->held_count; i++)
        peer->held [i].parked = false;
    if (peer->window)
        rh_log_info ("broker", "%s connected (credit %u)", agency, peer->window);
    else
        rh_log_info ("broker", "%s connected and asks for nothing for now (credit 0)", agency);
    return 0;
}

int
rh_queue_connection_lost (rh_queue_t *self, const char *agency, int connection)
{
    assert (self && agency);
    for (size_t i = 0; i < self->peer_count; i++) {
        s_peer_t *peer = &self->peers [i];
        if (strcmp (peer->agency, agency) != 0)
            continue;
        //  A newer Hello on another connection keeps its binding.
        if (!peer->bound || connection < 0 || peer->connection != connection)
            return 0;
        s_unbind (self, peer);
        rh_log_info ("broker", "%s disconnected", agency);
        return 1;
    }
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
        s_held_t *held = peer->held_count ? s_held (peer, seq, false) : NULL;
        if (held) {
            //  Verified at last (its trust was refreshed): nothing more waits on it.
            s_queue_key ("qu", peer->agency, seq, key, sizeof key);
            rh_db_delete (self->db, key, strlen (key));
            *held = peer->held [--peer->held_count];
        }
        //  The agent is working: what it still holds waits a whole redeliver_ms from the next
        //  tick (rh_queue_redeliver has the clock).
        peer->backoff_ms = self->limits.redeliver_ms;
        peer->acked = true;
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
        if (self->peers [i].bound)
            s_unbind (self, &self->peers [i]);
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
    for (size_t i = 0; i < self->peer_count; i++) {
        s_peer_t *peer = &self->peers [i];
        //  Something queued during a pump (a non-delivery notice) may have found its
        //  recipient already pumped and marked idle: now that it is committed, it can go.
        if (peer->committed_tail != peer->tail)
            peer->ready = true;
        peer->committed_tail = peer->tail;
    }
}

void
rh_queue_pump (rh_queue_t *self, int64_t now)
{
    assert (self);
    for (size_t i = 0; i < self->peer_count; i++)
        if (self->peers [i].ready)
            s_pump (self, &self->peers [i], now);
}

//  The result an agent named (as rh_rc_name spells it). Returns false for a name that is not
//  one: what an agent sends is not trusted into a log.
static bool
s_rc_named (const char *code, rh_rc_t *found)
{
    for (int rc = RH_OK + 1; code && rc < RH_RC_COUNT; rc++)
        if (strcmp (rh_rc_name ((rh_rc_t) rc), code) == 0) {
            *found = (rh_rc_t) rc;
            return true;
        }
    return false;
}

//  Tells the sender of a delivery its recipient still cannot verify that it waits, queued: a
//  broker-signed ALERT, recorded on the referral's case. It must not read as taken in.
int
rh_queue_send_alert (rh_queue_t *self, const rh_queue_alert_t *alert, int64_t now)
{
    assert (self && alert && alert->to && alert->alert_kind && alert->summary_en
            && alert->summary_cy);
    if (!self->signer)
        return -1;
    json_t *body = json_pack ("{s:s, s:s, s:s}", "alert_kind", alert->alert_kind, "summary_en",
                              alert->summary_en, "summary_cy", alert->summary_cy);
    //  Built through the JSON mapper's schema names, keeping pb-c out of the broker.
    json_t *root = json_pack ("{s:s, s:[{s:s}], s:o}", "kind", "ALERT", "to", "agency_id",
                              alert->to, "body", body);
    if (root && alert->case_id && *alert->case_id)
        json_object_set_new (root, "case_id", json_string (alert->case_id));
    if (root && alert->in_reply_to) {
        json_object_set_new (root, "in_reply_to", json_string (alert->in_reply_to));
        json_object_set_new (body, "related_msg_ids", json_pack ("[s]", alert->in_reply_to));
    }
    if (root && alert->holder)
        json_object_set_new (body, "holder", json_string (alert->holder));
    char *text = root ? json_dumps (root, 0) : NULL;
    json_decref (root);
    char error [256];
    rh_envelope_t *envelope =
        text ? rh_json_to_envelope ((const uint8_t *) text, strlen (text), error, sizeof error)
             : NULL;
    free (text);
    uint8_t *sealed = NULL;
    size_t size = 0;
    int rc = -1;
    if (envelope && rh_envelope_set_sequence (envelope, rh_queue_next_sequence (self)) == 0
        && rh_envelope_sign (envelope, self->signer) == 0
        && rh_envelope_encode (envelope, &sealed, &size) == 0) {
        rh_queue_send_own (self, alert->to, &sealed, size, rh_envelope_msg_id (envelope),
                           RH_KIND_ALERT, alert->detail ? alert->detail : alert->alert_kind, NULL,
                           alert->case_id && *alert->case_id ? alert->case_id : NULL, now);
        rc = 0;
    }
    else
        rh_log_error ("broker", "cannot build a %s alert for %s", alert->alert_kind, alert->to);
    free (sealed);
    rh_envelope_destroy (&envelope);
    return rc;
}

static void
s_waiting_notice (rh_queue_t *self, s_peer_t *peer, s_held_t *held, int64_t now)
{
    char key [RH_MAX_QUEUE_KEY];
    rh_queued_t queued;
    uint8_t *value = NULL, *payload = NULL;
    if (s_read_queued (self, peer->agency, held->seq, key, &queued, &value) != 0)
        return;  //  acknowledged meanwhile
    int64_t minutes = (now - held->first_ms) / 60000;
    rh_log_warn ("broker",
                 "delivery %s/%" PRIu64 " (%s) not verified by its recipient for %" PRId64
                 " minutes (%s); still queued; told %s",
                 peer->agency, held->seq, queued.msg_id, minutes, held->code, queued.sender);
    //  A notice about a notice is not sent: that way lies a loop.
    if (self->signer && strcmp (queued.sender, rh_signer_agency (self->signer)) != 0) {
        rh_envelope_t *original = NULL;
        char case_id [RH_MAX_ID + 1] = "";
        if (s_load_payload (self, &queued, &payload) == 0
            && rh_envelope_decode (queued.sealed, queued.sealed_size, &original) == RH_OK)
            snprintf (case_id, sizeof case_id, "%s", rh_envelope_case_id (original));
        rh_envelope_destroy (&original);
        char summary_en [512], summary_cy [512];
        snprintf (summary_en, sizeof summary_en,
                  "Your message %s to %s has not been taken in yet: their system cannot verify "
                  "it (%s). It is kept and offered again; their IT team has been told.",
                  queued.msg_id, peer->agency, held->code);
        snprintf (summary_cy, sizeof summary_cy,
                  "Nid yw eich neges %s at %s wedi'i derbyn eto: ni all eu system ei gwirio (%s). "
                  "Caiff ei chadw a'i chynnig eto; dywedwyd wrth eu tîm TG.",
                  queued.msg_id, peer->agency, held->code);
        rh_queue_alert_t alert = { .to = queued.sender,
                                   .alert_kind = "AWAITING_VERIFICATION",
                                   .summary_en = summary_en,
                                   .summary_cy = summary_cy,
                                   .in_reply_to = queued.msg_id,
                                   .case_id = case_id,
                                   .holder = peer->agency,
                                   .detail = "awaiting-verification notice" };
        rh_queue_send_alert (self, &alert, now);
    }
    held->alerted = true;
    s_held_put (self, peer, held);
    free (payload);
    rh_record_release (&queued.owned);
    free (value);
}

int
rh_queue_unverified (rh_queue_t *self, const char *agency, uint64_t seq, const char *code,
                     const char *reason, int64_t now, rh_acked_t *which)
{
    assert (self && agency && which);
    s_peer_t *peer = s_peer (self, agency);
    size_t i = 0;
    while (peer && i < peer->flight_count && peer->flights [i].seq != seq)
        i++;
    if (!peer || i == peer->flight_count)
        return 0;  //  not in flight: an old or a forged answer changes nothing
    snprintf (which->msg_id, sizeof which->msg_id, "%s", peer->flights [i].msg_id);
    which->kind = peer->flights [i].kind;
    rh_rc_t rc = RH_E_MALFORMED;
    const char *name = s_rc_named (code, &rc) ? rh_rc_name (rc) : "RH_E_UNKNOWN";
    snprintf (which->code, sizeof which->code, "%s", name);
    //  Its credit comes back; the message stays where it is in the queue.
    memmove (&peer->flights [i], &peer->flights [i + 1],
             (peer->flight_count - i - 1) * sizeof *peer->flights);
    peer->flight_count--;
    peer->ready = true;
    s_held_t *held = s_held (peer, seq, true);
    if (held) {
        if (!held->first_ms)
            held->first_ms = now;
        snprintf (held->code, sizeof held->code, "%s", name);
        held->parked = true;
        held->due_ms = now + RH_UNVERIFIED_RETRY_MS;
        s_held_put (self, peer, held);
    }
    char detail [RH_MAX_REASON + 2 * RH_MAX_ID + 96];
    snprintf (detail, sizeof detail,
              "delivery %" PRIu64 " not taken in: the recipient could not verify it (%s: %.*s); "
              "kept queued",
              seq, name, RH_MAX_REASON / 2, reason ? reason : "");
    const char *recipients [] = { peer->agency };
    rh_audit_event (self->audit, "UNVERIFIED", rc, which->msg_id, peer->agency, recipients, 1, NULL,
                    0, NULL, detail);
    rh_log_warn ("broker", "%s could not verify delivery %" PRIu64 " (%s): %s; kept queued",
                 peer->agency, seq, which->msg_id, name);
    return 1;
}

size_t
rh_queue_reoffer_unverified (rh_queue_t *self, const char *agency)
{
    assert (self);
    size_t count = 0;
    for (size_t i = 0; i < self->peer_count; i++) {
        s_peer_t *peer = &self->peers [i];
        if (agency && strcmp (peer->agency, agency) != 0)
            continue;
        for (size_t h = 0; h < peer->held_count; h++)
            if (peer->held [h].parked) {
                peer->held [h].due_ms = 0;  //  the next tick offers it
                count++;
            }
    }
    return count;
}

size_t
rh_queue_unverified_count (rh_queue_t *self, const char *agency)
{
    assert (self && agency);
    s_peer_t *peer = s_peer (self, agency);  //  read from the database on first use
    return peer ? peer->held_count : 0;
}

//  Offers a parked delivery again. Returns false if the transport took no more for now.
static bool
s_reoffer (rh_queue_t *self, s_peer_t *peer, s_held_t *held, int64_t now)
{
    char key [RH_MAX_QUEUE_KEY];
    rh_queued_t queued;
    uint8_t *value = NULL, *payload = NULL;
    if (s_read_queued (self, peer->agency, held->seq, key, &queued, &value) != 0) {
        held->parked = false;  //  not readable now: the next Hello sends it from the head
        return true;
    }
    bool more = true;
    if (s_load_payload (self, &queued, &payload) != 0)
        held->parked = false;  //  its copy is gone: the next pump from the head dead-letters it
    else if (s_send_entry (self, peer, held->seq, &queued) != 0
             || s_add_flight (peer, held->seq, &queued, now) != 0)
        more = false;
    else {
        s_put_attempt (self, key, &queued);
        held->parked = false;
    }
    free (payload);
    rh_record_release (&queued.owned);
    free (value);
    return more;
}

//  Offers again the parked deliveries that are due, while the agent's credit allows; tells the
//  sender of each that has waited longer than the limit.
static void
s_held_tick (rh_queue_t *self, s_peer_t *peer, int64_t now)
{
    for (size_t h = 0; h < peer->held_count; h++) {
        s_held_t *held = &peer->held [h];
        if (!held->alerted && held->first_ms && self->limits.unverified_alert_ms > 0
            && now - held->first_ms >= self->limits.unverified_alert_ms)
            s_waiting_notice (self, peer, held, now);
    }
    bool more = true;
    for (size_t h = 0; more && peer->bound && h < peer->held_count; h++) {
        s_held_t *held = &peer->held [h];
        if (held->parked && now >= held->due_ms && peer->flight_count < peer->window)
            more = s_reoffer (self, peer, held, now);
    }
}

void
rh_queue_redeliver (rh_queue_t *self, int64_t now)
{
    assert (self);
    for (size_t i = 0; i < self->peer_count; i++) {
        s_peer_t *peer = &self->peers [i];
        if (peer->acked) {
            peer->acked = false;
            peer->resend_due_ms = now + peer->backoff_ms;
        }
        if (peer->bound && peer->flight_count > 0 && now >= peer->resend_due_ms)
            s_resend (self, peer, now);
        if (peer->held_count)
            s_held_tick (self, peer, now);
    }
}

//  Fills an operator's view of the dead letter under key. Returns 0, or -1 if it is not one.
static int
s_dead_letter_view (const uint8_t *key, size_t key_size, const rh_queued_t *queued,
                    rh_dead_letter_t *letter)
{
    //  x/<agency>/<20 digits>
    if (key_size < 2 + 1 + 21 || key_size - 23 > RH_MAX_ID || key [key_size - 21] != '/')
        return -1;
    memset (letter, 0, sizeof *letter);
    memcpy (letter->recipient, key + 2, key_size - 23);
    snprintf (letter->msg_id, sizeof letter->msg_id, "%s", queued->msg_id ? queued->msg_id : "");
    snprintf (letter->sender, sizeof letter->sender, "%s", queued->sender ? queued->sender : "");
    snprintf (letter->reason, sizeof letter->reason, "%s",
              queued->dead_reason ? queued->dead_reason : "");
    letter->dead_ms = queued->dead_ms;
    return 0;
}

int
rh_queue_dead_letters (rh_queue_t *self, rh_queue_dead_fn *fn, void *arg)
{
    assert (self && fn);
    rh_db_iter_t *iter = rh_db_iter_new (self->db, "x/", 2);
    if (!iter)
        return -1;
    int count = 0;
    for (; rh_db_iter_valid (iter); rh_db_iter_next (iter)) {
        size_t key_size = 0, size = 0;
        const uint8_t *key = rh_db_iter_key (iter, &key_size);
        const uint8_t *value = rh_db_iter_value (iter, &size);
        rh_queued_t queued;
        if (rh_record_decode_queued (value, size, &queued) != RH_OK) {
            rh_log_error ("broker", "a dead letter does not decode; skipped");
            continue;
        }
        rh_dead_letter_t letter;
        if (s_dead_letter_view (key, key_size, &queued, &letter) == 0) {
            fn (arg, &letter);
            count++;
        }
        rh_record_release (&queued.owned);
    }
    rh_db_iter_destroy (&iter);
    return count;
}

//  Puts one dead letter back at the end of its recipient's queue. Returns 0 or -1.
static int
s_requeue_one (rh_queue_t *self, const rh_dead_letter_t *letter, const uint8_t *key,
               size_t key_size, rh_queued_t *queued, const char *who, int64_t now)
{
    s_peer_t *peer = s_peer (self, letter->recipient);
    if (!peer)
        return -1;
    queued->attempts = 0;
    queued->expires_ms = now + self->limits.expiry_ms;
    queued->dead_ms = 0;
    queued->dead_reason = NULL;
    size_t size = 0;
    uint8_t *bytes = rh_record_encode_queued (queued, &size);
    if (!bytes)
        return -1;
    char queue_key [RH_MAX_QUEUE_KEY];
    peer->tail++;
    s_queue_key ("q", peer->agency, peer->tail, queue_key, sizeof queue_key);
    rh_db_put (self->db, queue_key, strlen (queue_key), bytes, size);
    s_fresh_push (peer, bytes, size, NULL, 0);  //  its payload, if referred to, is read
    free (bytes);
    snprintf (queue_key, sizeof queue_key, "t/%s", peer->agency);
    rh_db_put (self->db, queue_key, strlen (queue_key), &peer->tail, 8);
    rh_db_delete (self->db, key, key_size);
    char detail [RH_MAX_REASON + 2 * RH_MAX_ID + 128];
    snprintf (detail, sizeof detail, "dead letter re-queued for %s by %s (it was given up on: %s)",
              peer->agency, who, *letter->reason ? letter->reason : "reason not recorded");
    const char *recipients [] = { peer->agency };
    rh_audit_event (self->audit, "REQUEUED", RH_OK, letter->msg_id, letter->sender, recipients, 1,
                    NULL, 0, NULL, detail);
    peer->ready = true;
    return 0;
}

int
rh_queue_requeue (rh_queue_t *self, const char *msg_id, const char *who, int64_t now,
                  rh_queue_dead_fn *fn, void *arg)
{
    assert (self && who);
    rh_db_iter_t *iter = rh_db_iter_new (self->db, "x/", 2);
    if (!iter)
        return -1;
    int count = 0;
    for (; rh_db_iter_valid (iter) && count >= 0; rh_db_iter_next (iter)) {
        size_t key_size = 0, size = 0;
        const uint8_t *key = rh_db_iter_key (iter, &key_size);
        const uint8_t *value = rh_db_iter_value (iter, &size);
        rh_queued_t queued;
        if (rh_record_decode_queued (value, size, &queued) != RH_OK)
            continue;
        rh_dead_letter_t letter;
        if (s_dead_letter_view (key, key_size, &queued, &letter) == 0
            && (!msg_id || strcmp (letter.msg_id, msg_id) == 0)) {
            if (s_requeue_one (self, &letter, key, key_size, &queued, who, now) == 0) {
                count++;
                if (fn)
                    fn (arg, &letter);
            }
            else
                count = -1;
        }
        rh_record_release (&queued.owned);
    }
    rh_db_iter_destroy (&iter);
    return count;
}

//  Counts the committed keys under prefix, up to RH_MAX_FIGURES_SCAN. Sets *capped when there
//  were more.
static uint64_t
s_count_prefix (rh_queue_t *self, const char *prefix, bool *capped)
{
    uint64_t count = 0;
    rh_db_iter_t *iter = rh_db_iter_new (self->db, prefix, strlen (prefix));
    for (; iter && rh_db_iter_valid (iter) && count < RH_MAX_FIGURES_SCAN; rh_db_iter_next (iter))
        count++;
    if (capped)
        *capped = iter && rh_db_iter_valid (iter);
    rh_db_iter_destroy (&iter);
    return count;
}

int
rh_queue_figures (rh_queue_t *self, rh_queue_figures_fn *fn, void *arg)
{
    assert (self && fn);
    //  Every agency with a tail (t/<agency>) has had a queue: known before it next connects.
    rh_db_iter_t *iter = rh_db_iter_new (self->db, "t/", 2);
    for (; iter && rh_db_iter_valid (iter); rh_db_iter_next (iter)) {
        size_t size = 0;
        const uint8_t *key = rh_db_iter_key (iter, &size);
        char agency [RH_MAX_ID + 1];
        if (size <= 2 || size - 2 > RH_MAX_ID)
            continue;
        memcpy (agency, key + 2, size - 2);
        agency [size - 2] = 0;
        if (strlen (agency) == size - 2)
            s_peer (self, agency);  //  NULL past RH_MAX_AGENCIES: not shown
    }
    rh_db_iter_destroy (&iter);
    for (size_t i = 0; i < self->peer_count; i++) {
        s_peer_t *peer = &self->peers [i];
        rh_queue_figures_t figures = { .agency = peer->agency,
                                       .connected = peer->bound,
                                       .in_flight = peer->flight_count,
                                       .unverified = peer->held_count };
        char prefix [RH_MAX_ID + 8];
        snprintf (prefix, sizeof prefix, "q/%s/", peer->agency);
        figures.queued = s_count_prefix (self, prefix, &figures.queued_capped);
        uint64_t head = 0;
        iter = rh_db_iter_new (self->db, prefix, strlen (prefix));
        if (iter && rh_db_iter_valid (iter)) {
            size_t size = 0, key_size = 0;
            const uint8_t *key = rh_db_iter_key (iter, &key_size);
            head = rh_db_key_sequence (key, key_size, strlen (prefix));
            const uint8_t *value = rh_db_iter_value (iter, &size);
            rh_queued_t queued;
            if (rh_record_decode_queued (value, size, &queued) == RH_OK) {
                figures.oldest_ms = queued.enqueued_ms;
                rh_record_release (&queued.owned);
            }
        }
        rh_db_iter_destroy (&iter);
        //  Past the count, the span from head to tail: an upper bound (acknowledgements out of
        //  order leave holes), reached without reading every entry.
        if (figures.queued_capped && head != UINT64_MAX && peer->committed_tail >= head
            && peer->committed_tail - head + 1 > figures.queued)
            figures.queued = peer->committed_tail - head + 1;
        snprintf (prefix, sizeof prefix, "x/%s/", peer->agency);
        figures.dead_letters = s_count_prefix (self, prefix, NULL);
        fn (arg, &figures);
    }
    return (int) self->peer_count;
}
