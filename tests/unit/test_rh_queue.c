/*  =========================================================================
    test_rh_queue - durable queues, binding, credit, acknowledgement,
    redelivery and dead letters, on a real LevelDB
    =========================================================================
*/
#include "test_helpers.h"
#include "rh_broker_classes.h"

#define S_MAX_SENT 64
#define S_ALERT_MS (30LL * 60 * 1000)  //  a sender is told after this long unverified

//  What the queue handed to the transport.
typedef struct {
    uint64_t ids [S_MAX_SENT];
    uint8_t routing_id [8];
    size_t routing_id_size;
    size_t count;
    bool gone;           //  the transport says the peer has gone
    uint8_t last [128];  //  the bytes of the last delivery
    size_t last_size;
    size_t total;         //  deliveries, all of them
    uint64_t highest;     //  highest delivery id
    size_t out_of_order;  //  deliveries whose id was not the highest + 1
} s_sent_t;

static int
s_send (void *arg, const uint8_t *routing_id, size_t routing_id_size, const rh_frame_t *frame)
{
    s_sent_t *sent = arg;
    if (sent->gone) {
        errno = EHOSTUNREACH;
        return -1;
    }
    if (frame->type == RH_FRAME_DELIVER) {
        sent->total++;
        sent->out_of_order += frame->delivery_id != sent->highest + 1;
        if (frame->delivery_id > sent->highest)
            sent->highest = frame->delivery_id;
    }
    if (sent->count < S_MAX_SENT && frame->type == RH_FRAME_DELIVER) {
        sent->ids [sent->count++] = frame->delivery_id;
        sent->last_size = frame->sealed_size < sizeof sent->last ? frame->sealed_size : 0;
        memcpy (sent->last, frame->sealed, sent->last_size);
    }
    memcpy (sent->routing_id, routing_id, routing_id_size < 8 ? routing_id_size : 8);
    sent->routing_id_size = routing_id_size;
    return 0;
}

typedef struct {
    rh_db_t *db;
    rh_audit_t *audit;
    rh_signer_t *signer;
    rh_queue_t *queue;
    s_sent_t sent;
} s_fixture_t;

static void
s_open (s_fixture_t *fx)
{
    char dir [PATH_MAX];
    test_tempdir (dir, sizeof dir);
    memset (fx, 0, sizeof *fx);
    fx->db = rh_db_open (dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL (fx->db);
    fx->audit = rh_audit_new (fx->db);
    fx->signer = test_signer (test_pki ()->pki, "health-abb");  //  stands in for the broker
    CU_ASSERT_FATAL (fx->audit && fx->signer);
    rh_queue_limits_t limits = { .expiry_ms = TEST_DAY_MS,
                                 .redeliver_ms = 1000,
                                 .unverified_alert_ms = S_ALERT_MS };
    fx->queue = rh_queue_new (fx->db, fx->audit, fx->signer, &limits, s_send, &fx->sent);
    CU_ASSERT_PTR_NOT_NULL_FATAL (fx->queue);
}

static void
s_close (s_fixture_t *fx)
{
    rh_queue_destroy (&fx->queue);
    CU_ASSERT_PTR_NULL (fx->queue);
    rh_signer_destroy (&fx->signer);
    rh_audit_destroy (&fx->audit);
    rh_db_destroy (&fx->db);
}

static void
s_commit (s_fixture_t *fx)
{
    CU_ASSERT_EQUAL (rh_db_commit (fx->db, true), 0);
    rh_queue_committed (fx->queue);
}

static bool
s_has (s_fixture_t *fx, const char *key)
{
    return rh_db_has (fx->db, key, strlen (key));
}

static const uint8_t s_sealed [] = "sealed bytes: the queue does not read them";

//  The attempts recorded in a committed queue entry or dead letter, or -1 if it is absent.
static int
s_attempts (s_fixture_t *fx, const char *key)
{
    uint8_t *value = NULL;
    size_t size = 0;
    int attempts = -1;
    rh_queued_t queued;
    if (rh_db_get (fx->db, key, strlen (key), &value, &size) == 0
        && rh_record_decode_queued (value, size, &queued) == RH_OK) {
        attempts = (int) queued.attempts;
        rh_record_release (&queued.owned);
    }
    free (value);
    return attempts;
}

static void
s_enqueue (s_fixture_t *fx, const char *msg_id, int64_t expires_ms, int64_t now)
{
    CU_ASSERT_EQUAL (rh_queue_enqueue (fx->queue, "la-newport", msg_id, "police-gwent", s_sealed,
                                       sizeof s_sealed, 0, expires_ms, NULL, RH_KIND_REFERRAL, now),
                     0);
}

static void
test_messages_are_delivered_within_credit_once_committed_and_acknowledged (void)
{
    s_fixture_t fx;
    s_open (&fx);
    int64_t now = 1000000;
    const uint8_t connection [] = { 0, 1, 2, 3, 4 };
    CU_ASSERT_EQUAL (rh_queue_enqueue (fx.queue, "la-newport", "m-1", "police-gwent", s_sealed,
                                       sizeof s_sealed, 0, now + TEST_DAY_MS, NULL,
                                       RH_KIND_REFERRAL, now),
                     0);
    //  A Hello binds the queue with credit for one; nothing uncommitted is ever sent.
    CU_ASSERT_EQUAL (rh_queue_bind (fx.queue, "la-newport", connection, sizeof connection, 3, 1),
                     0);
    CU_ASSERT_TRUE (rh_queue_connected (fx.queue, "la-newport"));
    CU_ASSERT_FALSE (rh_queue_connected (fx.queue, "health-abb"));
    rh_queue_pump (fx.queue, now);
    CU_ASSERT_EQUAL (fx.sent.count, 0);
    //  The broker pumps after each commit; a new message makes the queue ready again.
    CU_ASSERT_EQUAL (rh_queue_enqueue (fx.queue, "la-newport", "m-2", "police-gwent", s_sealed,
                                       sizeof s_sealed, 0, 0, NULL, RH_KIND_INFO_REQUEST, now),
                     0);
    s_commit (&fx);
    rh_queue_pump (fx.queue, now);
    CU_ASSERT_EQUAL_FATAL (fx.sent.count, 1);
    CU_ASSERT_EQUAL (fx.sent.ids [0], 1);
    CU_ASSERT_EQUAL (fx.sent.routing_id_size, sizeof connection);
    CU_ASSERT_EQUAL (memcmp (fx.sent.routing_id, connection, sizeof connection), 0);
    rh_queue_pump (fx.queue, now);
    CU_ASSERT_EQUAL (fx.sent.count, 1);  //  the credit is used up
    //  Acknowledgements count only from the connection the Hello bound.
    const uint8_t other [] = { 9, 9 };
    CU_ASSERT_TRUE (rh_queue_bound_to (fx.queue, "la-newport", connection, sizeof connection));
    CU_ASSERT_FALSE (rh_queue_bound_to (fx.queue, "la-newport", other, sizeof other));
    rh_acked_t acked;
    CU_ASSERT_EQUAL (rh_queue_ack (fx.queue, "la-newport", 7, &acked), 0);
    CU_ASSERT_EQUAL (rh_queue_ack (fx.queue, "la-newport", 1, &acked), 1);
    CU_ASSERT_EQUAL (acked.kind, RH_KIND_REFERRAL);  //  the caller tells the case
    CU_ASSERT_STRING_EQUAL (acked.msg_id, "m-1");
    rh_queue_redeliver (fx.queue, now);  //  the broker's tick
    rh_queue_pump (fx.queue, now);
    CU_ASSERT_EQUAL_FATAL (fx.sent.count, 2);
    CU_ASSERT_EQUAL (fx.sent.ids [1], 2);
    s_commit (&fx);
    CU_ASSERT_FALSE (s_has (&fx, "q/la-newport/00000000000000000001"));
    CU_ASSERT_TRUE (s_has (&fx, "q/la-newport/00000000000000000002"));
    //  Unacknowledged for redeliver_ms: sent again, one attempt more.
    rh_queue_redeliver (fx.queue, now + 500);
    rh_queue_pump (fx.queue, now + 500);
    CU_ASSERT_EQUAL (fx.sent.count, 2);
    rh_queue_redeliver (fx.queue, now + 1000);
    CU_ASSERT_EQUAL_FATAL (fx.sent.count, 3);
    CU_ASSERT_EQUAL (fx.sent.ids [2], 2);
    s_commit (&fx);
    CU_ASSERT_EQUAL (s_attempts (&fx, "q/la-newport/00000000000000000002"), 1);
    //  Delivered, redelivered, acknowledged: one audit record each.
    CU_ASSERT_EQUAL (rh_audit_size (fx.audit), 4);
    //  A Hello starts again from the head of the queue; a gone peer is unbound.
    CU_ASSERT_EQUAL (rh_queue_bind (fx.queue, "la-newport", other, sizeof other, 4, 5), 0);
    const char *bound [4];
    CU_ASSERT_EQUAL (rh_queue_bound_agencies (fx.queue, bound, 4), 1);
    CU_ASSERT_STRING_EQUAL (bound [0], "la-newport");
    fx.sent.gone = true;
    s_commit (&fx);
    rh_queue_pump (fx.queue, now + 1001);
    CU_ASSERT_FALSE (rh_queue_connected (fx.queue, "la-newport"));
    s_close (&fx);
}

static void
test_a_hello_with_credit_0_sends_nothing_until_a_hello_asks_again (void)
{
    s_fixture_t fx;
    s_open (&fx);
    int64_t now = 3000000;
    const uint8_t connection [] = { 3 };
    s_enqueue (&fx, "m-1", 0, now);
    s_enqueue (&fx, "m-2", 0, now);
    s_enqueue (&fx, "m-3", 0, now);
    s_commit (&fx);
    rh_queue_bind (fx.queue, "la-newport", connection, sizeof connection, 3, 2);
    rh_queue_pump (fx.queue, now);
    CU_ASSERT_EQUAL (fx.sent.count, 2);
    //  The agent's inbox cannot be written: it asks for nothing. What it had is not resent.
    CU_ASSERT_EQUAL (rh_queue_bind (fx.queue, "la-newport", connection, sizeof connection, 3, 0),
                     0);
    CU_ASSERT_TRUE (rh_queue_connected (fx.queue, "la-newport"));
    s_commit (&fx);
    rh_queue_pump (fx.queue, now);
    rh_queue_redeliver (fx.queue, now + 100 * TEST_DAY_MS);
    rh_queue_pump (fx.queue, now + 100 * TEST_DAY_MS);
    CU_ASSERT_EQUAL (fx.sent.count, 2);
    //  What was in flight may have arrived: it is never dead-lettered on expiry.
    CU_ASSERT_EQUAL (s_attempts (&fx, "q/la-newport/00000000000000000001"), 1);
    CU_ASSERT_EQUAL (s_attempts (&fx, "q/la-newport/00000000000000000002"), 1);
    CU_ASSERT_EQUAL (s_attempts (&fx, "q/la-newport/00000000000000000003"), 0);
    //  Room again: everything from the head of the queue.
    rh_queue_bind (fx.queue, "la-newport", connection, sizeof connection, 3, 10);
    rh_queue_pump (fx.queue, now + 1);
    CU_ASSERT_EQUAL_FATAL (fx.sent.count, 5);
    CU_ASSERT_EQUAL (fx.sent.ids [2], 1);
    CU_ASSERT_EQUAL (fx.sent.ids [3], 2);
    CU_ASSERT_EQUAL (fx.sent.ids [4], 3);
    s_close (&fx);
}

static void
test_a_connected_agent_that_never_acknowledges_is_resent_to_with_back_off_and_never_dead_lettered (
    void)
{
    s_fixture_t fx;
    s_open (&fx);
    int64_t now = 4000000;
    const uint8_t connection [] = { 4 };
    s_enqueue (&fx, "m-1", now + 5000, now);
    s_enqueue (&fx, "m-2", 0, now);
    s_commit (&fx);
    rh_queue_bind (fx.queue, "la-newport", connection, sizeof connection, 4, 10);
    rh_queue_pump (fx.queue, now);
    CU_ASSERT_EQUAL (fx.sent.count, 2);
    //  Resent after 1 s, then after 2 s, then 4 s: the back-off doubles.
    int64_t at [] = { 999, 1000, 2999, 3000, 6999, 7000, 14999, 15000 };
    size_t expect [] = { 2, 4, 4, 6, 6, 8, 8, 10 };
    for (size_t i = 0; i < sizeof at / sizeof at [0]; i++) {
        rh_queue_redeliver (fx.queue, now + at [i]);
        s_commit (&fx);  //  each pass of the broker's loop commits
        CU_ASSERT_EQUAL (fx.sent.count, expect [i]);
    }
    CU_ASSERT_EQUAL (s_attempts (&fx, "q/la-newport/00000000000000000001"), 4);
    //  m-1 is past its expiry, but it was sent: it stays in the queue, with no notice.
    rh_queue_pump (fx.queue, now + 15000);
    s_commit (&fx);
    CU_ASSERT_TRUE (s_has (&fx, "q/la-newport/00000000000000000001"));
    CU_ASSERT_FALSE (s_has (&fx, "x/la-newport/00000000000000000001"));
    CU_ASSERT_FALSE (s_has (&fx, "q/police-gwent/00000000000000000001"));
    //  The back-off stops at RH_MAX_REDELIVER_MS.
    int64_t t = now + 15000;
    for (int i = 0; i < 20; i++) {
        t += RH_MAX_REDELIVER_MS;
        rh_queue_redeliver (fx.queue, t);
    }
    size_t before = fx.sent.count;
    rh_queue_redeliver (fx.queue, t + RH_MAX_REDELIVER_MS - 1);
    CU_ASSERT_EQUAL (fx.sent.count, before);
    rh_queue_redeliver (fx.queue, t + RH_MAX_REDELIVER_MS);
    CU_ASSERT_EQUAL (fx.sent.count, before + 2);
    t += RH_MAX_REDELIVER_MS;
    //  An acknowledgement starts it again at redeliver_ms (from the next tick).
    rh_acked_t acked;
    CU_ASSERT_EQUAL (rh_queue_ack (fx.queue, "la-newport", 1, &acked), 1);
    rh_queue_redeliver (fx.queue, t + 10);
    rh_queue_redeliver (fx.queue, t + 1009);
    CU_ASSERT_EQUAL (fx.sent.count, before + 2);
    rh_queue_redeliver (fx.queue, t + 1010);
    CU_ASSERT_EQUAL_FATAL (fx.sent.count, before + 3);
    CU_ASSERT_EQUAL (fx.sent.ids [before + 2], 2);
    s_commit (&fx);
    CU_ASSERT_FALSE (s_has (&fx, "q/la-newport/00000000000000000001"));
    s_close (&fx);
}

static void
test_only_a_message_never_sent_is_dead_lettered_on_expiry_with_a_notice (void)
{
    s_fixture_t fx;
    s_open (&fx);
    int64_t now = 2000000;
    const uint8_t connection [] = { 7 };
    s_enqueue (&fx, "m-old", now - 1, now - 10);
    s_enqueue (&fx, "m-sent", now + 1000, now);
    s_commit (&fx);
    rh_queue_bind (fx.queue, "la-newport", connection, sizeof connection, 7, 10);
    rh_queue_pump (fx.queue, now);
    CU_ASSERT_EQUAL_FATAL (fx.sent.count, 1);  //  m-old expired: never sent
    CU_ASSERT_EQUAL (fx.sent.ids [0], 2);
    s_commit (&fx);
    CU_ASSERT_TRUE (s_has (&fx, "x/la-newport/00000000000000000001"));
    CU_ASSERT_FALSE (s_has (&fx, "q/la-newport/00000000000000000001"));
    //  The dead letter says when and why it was given up on.
    uint8_t *value = NULL;
    size_t size = 0;
    rh_queued_t dead;
    const char *dead_key = "x/la-newport/00000000000000000001";
    CU_ASSERT_EQUAL_FATAL (rh_db_get (fx.db, dead_key, strlen (dead_key), &value, &size), 0);
    CU_ASSERT_EQUAL_FATAL (rh_record_decode_queued (value, size, &dead), RH_OK);
    CU_ASSERT_EQUAL (dead.dead_ms, now);
    CU_ASSERT_STRING_EQUAL (dead.dead_reason, "it expired before delivery");
    rh_record_release (&dead.owned);
    free (value);
    //  m-sent's connection goes; it expires while the agent is away, and is sent again when it
    //  says Hello: it may already have arrived.
    CU_ASSERT_EQUAL (rh_queue_connection_lost (fx.queue, "la-newport", 7), 1);
    s_commit (&fx);
    rh_queue_bind (fx.queue, "la-newport", connection, sizeof connection, 8, 10);
    rh_queue_pump (fx.queue, now + 5000);
    CU_ASSERT_EQUAL_FATAL (fx.sent.count, 2);
    CU_ASSERT_EQUAL (fx.sent.ids [1], 2);
    s_commit (&fx);
    CU_ASSERT_FALSE (s_has (&fx, "x/la-newport/00000000000000000002"));
    //  Only m-old's sender has a signed non-delivery notice in its own queue.
    CU_ASSERT_TRUE (s_has (&fx, "q/police-gwent/00000000000000000001"));
    CU_ASSERT_FALSE (s_has (&fx, "q/police-gwent/00000000000000000002"));
    CU_ASSERT_TRUE (s_has (&fx, "b/seq"));
    CU_ASSERT_EQUAL (rh_queue_next_sequence (fx.queue), 2);
    s_close (&fx);
}

static void
test_a_non_delivery_notice_reaches_a_connected_sender_once_committed (void)
{
    s_fixture_t fx;
    s_open (&fx);
    int64_t now = 8000000;
    const uint8_t la [] = { 1 }, police [] = { 2 };
    s_enqueue (&fx, "m-old", now - 1, now - 10);
    s_commit (&fx);
    //  The sender's queue comes after the recipient's: it is pumped, still empty, in the same
    //  round that queues the notice.
    rh_queue_bind (fx.queue, "la-newport", la, sizeof la, 1, 10);
    rh_queue_bind (fx.queue, "police-gwent", police, sizeof police, 2, 10);
    rh_queue_pump (fx.queue, now);
    CU_ASSERT_EQUAL (fx.sent.count, 0);
    s_commit (&fx);
    rh_queue_pump (fx.queue, now);
    CU_ASSERT_EQUAL_FATAL (fx.sent.count, 1);
    CU_ASSERT_EQUAL (fx.sent.routing_id_size, sizeof police);
    CU_ASSERT_EQUAL (fx.sent.routing_id [0], 2);
    s_close (&fx);
}

static void
test_a_message_sent_before_a_restart_is_not_dead_lettered_on_expiry_after_it (void)
{
    s_fixture_t fx;
    s_open (&fx);
    int64_t now = 7000000;
    const uint8_t connection [] = { 9 };
    s_enqueue (&fx, "m-1", now + 1000, now);
    s_commit (&fx);
    rh_queue_bind (fx.queue, "la-newport", connection, sizeof connection, 9, 10);
    rh_queue_pump (fx.queue, now);
    CU_ASSERT_EQUAL (fx.sent.count, 1);
    s_commit (&fx);
    //  The broker stops before the acknowledgement: its memory of the flight is gone.
    rh_queue_destroy (&fx.queue);
    rh_queue_limits_t limits = { .expiry_ms = TEST_DAY_MS, .redeliver_ms = 1000 };
    fx.queue = rh_queue_new (fx.db, fx.audit, fx.signer, &limits, s_send, &fx.sent);
    CU_ASSERT_PTR_NOT_NULL_FATAL (fx.queue);
    rh_queue_bind (fx.queue, "la-newport", connection, sizeof connection, 9, 10);
    rh_queue_pump (fx.queue, now + 5000);
    CU_ASSERT_EQUAL_FATAL (fx.sent.count, 2);  //  sent again, not given up on
    CU_ASSERT_EQUAL (fx.sent.ids [1], 1);
    s_commit (&fx);
    CU_ASSERT_FALSE (s_has (&fx, "x/la-newport/00000000000000000001"));
    rh_acked_t acked;
    CU_ASSERT_EQUAL (rh_queue_ack (fx.queue, "la-newport", 1, &acked), 1);
    s_commit (&fx);
    CU_ASSERT_FALSE (s_has (&fx, "q/la-newport/00000000000000000001"));
    //  What was sent is one mark per agency, not a key per message.
    CU_ASSERT_TRUE (s_has (&fx, "qs/la-newport"));
    s_close (&fx);
}

static void
test_a_lost_connection_unbinds_only_its_own_binding_and_counts_the_attempts (void)
{
    s_fixture_t fx;
    s_open (&fx);
    int64_t now = 5000000;
    const uint8_t first [] = { 1 }, second [] = { 2 };
    const char *key = "q/la-newport/00000000000000000001";
    s_enqueue (&fx, "m-1", 0, now);
    s_commit (&fx);
    rh_queue_bind (fx.queue, "la-newport", first, sizeof first, 11, 10);
    rh_queue_pump (fx.queue, now);
    CU_ASSERT_EQUAL (fx.sent.count, 1);
    CU_ASSERT_EQUAL (rh_queue_connection_lost (fx.queue, "la-newport", 12), 0);
    CU_ASSERT_EQUAL (rh_queue_connection_lost (fx.queue, "la-newport", -1), 0);
    CU_ASSERT_EQUAL (rh_queue_connection_lost (fx.queue, "health-abb", 11), 0);
    CU_ASSERT_TRUE (rh_queue_connected (fx.queue, "la-newport"));
    s_commit (&fx);
    CU_ASSERT_EQUAL (s_attempts (&fx, key), 0);
    //  The agent reconnected (a new Hello) before the old connection's end was noticed.
    rh_queue_bind (fx.queue, "la-newport", second, sizeof second, 12, 10);
    s_commit (&fx);
    CU_ASSERT_EQUAL (s_attempts (&fx, key), 1);
    rh_queue_pump (fx.queue, now);
    CU_ASSERT_EQUAL (fx.sent.count, 2);
    CU_ASSERT_EQUAL (rh_queue_connection_lost (fx.queue, "la-newport", 11), 0);
    CU_ASSERT_TRUE (rh_queue_bound_to (fx.queue, "la-newport", second, sizeof second));
    CU_ASSERT_EQUAL (rh_queue_connection_lost (fx.queue, "la-newport", 12), 1);
    CU_ASSERT_FALSE (rh_queue_connected (fx.queue, "la-newport"));
    CU_ASSERT_EQUAL (rh_queue_connection_lost (fx.queue, "la-newport", 12), 0);
    s_commit (&fx);
    CU_ASSERT_EQUAL (s_attempts (&fx, key), 2);
    //  Nothing goes to an unbound agency; its next Hello sends it again.
    rh_queue_redeliver (fx.queue, now + TEST_DAY_MS);
    rh_queue_pump (fx.queue, now + TEST_DAY_MS);
    CU_ASSERT_EQUAL (fx.sent.count, 2);
    rh_queue_bind (fx.queue, "la-newport", first, sizeof first, 13, 10);
    rh_queue_pump (fx.queue, now + TEST_DAY_MS);
    CU_ASSERT_EQUAL_FATAL (fx.sent.count, 3);
    CU_ASSERT_EQUAL (fx.sent.ids [2], 1);
    s_close (&fx);
}

typedef struct {
    size_t count;
    rh_dead_letter_t last;
} s_seen_t;

static void
s_see (void *arg, const rh_dead_letter_t *letter)
{
    s_seen_t *seen = arg;
    seen->count++;
    seen->last = *letter;
}

static void
test_a_dead_letter_is_listed_and_requeued_with_a_fresh_expiry_and_its_audit_record (void)
{
    s_fixture_t fx;
    s_open (&fx);
    int64_t now = 6000000;
    const uint8_t connection [] = { 6 };
    s_enqueue (&fx, "m-late", now - 1, now - 10);
    s_enqueue (&fx, "m-fine", 0, now - 10);
    s_commit (&fx);
    rh_queue_bind (fx.queue, "la-newport", connection, sizeof connection, 6, 10);
    rh_queue_pump (fx.queue, now);
    s_commit (&fx);
    s_seen_t seen = { 0 };
    CU_ASSERT_EQUAL (rh_queue_dead_letters (fx.queue, s_see, &seen), 1);
    CU_ASSERT_EQUAL_FATAL (seen.count, 1);
    CU_ASSERT_STRING_EQUAL (seen.last.recipient, "la-newport");
    CU_ASSERT_STRING_EQUAL (seen.last.msg_id, "m-late");
    CU_ASSERT_STRING_EQUAL (seen.last.sender, "police-gwent");
    CU_ASSERT_EQUAL (seen.last.dead_ms, now);
    CU_ASSERT_STRING_EQUAL (seen.last.reason, "it expired before delivery");
    //  The operator's tool opens the store afresh (the broker is stopped).
    rh_queue_destroy (&fx.queue);
    rh_queue_limits_t limits = { .expiry_ms = TEST_DAY_MS, .redeliver_ms = 1000 };
    fx.queue = rh_queue_new (fx.db, fx.audit, NULL, &limits, s_send, &fx.sent);
    CU_ASSERT_PTR_NOT_NULL_FATAL (fx.queue);
    uint64_t records = rh_audit_size (fx.audit);
    CU_ASSERT_EQUAL (rh_queue_requeue (fx.queue, "m-none", "tester", now, NULL, NULL), 0);
    memset (&seen, 0, sizeof seen);
    int64_t later = now + 100 * TEST_DAY_MS;
    CU_ASSERT_EQUAL (rh_queue_requeue (fx.queue, "m-late", "tester", later, s_see, &seen), 1);
    CU_ASSERT_EQUAL (seen.count, 1);
    CU_ASSERT_STRING_EQUAL (seen.last.msg_id, "m-late");
    CU_ASSERT_EQUAL (rh_audit_size (fx.audit), records + 1);
    s_commit (&fx);
    CU_ASSERT_FALSE (s_has (&fx, "x/la-newport/00000000000000000001"));
    //  At the end of the queue, after everything given out before.
    const char *key = "q/la-newport/00000000000000000003";
    CU_ASSERT_EQUAL (s_attempts (&fx, key), 0);
    uint8_t *value = NULL;
    size_t size = 0;
    rh_queued_t queued;
    CU_ASSERT_EQUAL_FATAL (rh_db_get (fx.db, key, strlen (key), &value, &size), 0);
    CU_ASSERT_EQUAL_FATAL (rh_record_decode_queued (value, size, &queued), RH_OK);
    CU_ASSERT_EQUAL (queued.expires_ms, later + TEST_DAY_MS);
    CU_ASSERT_EQUAL (queued.dead_ms, 0);
    CU_ASSERT_STRING_EQUAL (queued.msg_id, "m-late");
    rh_record_release (&queued.owned);
    free (value);
    CU_ASSERT_EQUAL (rh_queue_dead_letters (fx.queue, s_see, &seen), 0);
    CU_ASSERT_EQUAL (rh_queue_requeue (fx.queue, NULL, "tester", later, NULL, NULL), 0);
    //  A broker started later delivers it.
    fx.sent.count = 0;
    rh_queue_bind (fx.queue, "la-newport", connection, sizeof connection, 6, 10);
    rh_queue_pump (fx.queue, later + 1);
    CU_ASSERT_EQUAL_FATAL (fx.sent.count, 2);
    CU_ASSERT_EQUAL (fx.sent.ids [1], 3);
    s_close (&fx);
}

static void
test_the_broker_own_messages_are_queued_with_their_record (void)
{
    s_fixture_t fx;
    s_open (&fx);
    uint8_t *sealed = malloc (sizeof s_sealed);
    CU_ASSERT_PTR_NOT_NULL_FATAL (sealed);
    memcpy (sealed, s_sealed, sizeof s_sealed);
    rh_queue_send_own (fx.queue, "la-newport", &sealed, sizeof s_sealed, "n-1", RH_KIND_ALERT,
                       "test notice", NULL, "GW-1", 5000);
    CU_ASSERT_PTR_NULL (sealed);  //  the queue took it
    uint8_t *nothing = NULL;
    rh_queue_send_own (fx.queue, "la-newport", &nothing, 0, "n-2", RH_KIND_ALERT, "test notice",
                       NULL, NULL, 5000);
    s_commit (&fx);
    CU_ASSERT_TRUE (s_has (&fx, "q/la-newport/00000000000000000001"));
    CU_ASSERT_FALSE (s_has (&fx, "q/la-newport/00000000000000000002"));
    CU_ASSERT_EQUAL (rh_audit_size (fx.audit), 1);
    CU_ASSERT_EQUAL (rh_queue_reserve (fx.queue, "health-abb"), 0);
    //  The notice is kept once, by its audit record; the queue entry refers to it.
    uint8_t *value = NULL;
    size_t size = 0;
    rh_queued_t queued;
    CU_ASSERT_FATAL (rh_db_get (fx.db, "q/la-newport/00000000000000000001", 33, &value, &size)
                     == 0);
    CU_ASSERT_EQUAL_FATAL (rh_record_decode_queued (value, size, &queued), RH_OK);
    CU_ASSERT_EQUAL (queued.payload_leaf, 1);
    CU_ASSERT_EQUAL (queued.sealed_size, 0);
    rh_record_release (&queued.owned);
    free (value);
    s_close (&fx);
}

static void
test_a_message_is_stored_once_and_a_missing_copy_is_dead_lettered_not_sent (void)
{
    s_fixture_t fx;
    s_open (&fx);
    int64_t now = 9000000;
    const uint8_t connection [] = { 4 };
    const char *to [] = { "la-newport" };
    uint64_t leaf = rh_audit_event (fx.audit, "ACCEPTED", RH_OK, "m-1", "police-gwent", to, 1,
                                    s_sealed, sizeof s_sealed, NULL, NULL);
    CU_ASSERT_EQUAL_FATAL (leaf, 1);
    CU_ASSERT_EQUAL (rh_queue_enqueue (fx.queue, "la-newport", "m-1", "police-gwent", s_sealed,
                                       sizeof s_sealed, leaf, now + TEST_DAY_MS, NULL,
                                       RH_KIND_REFERRAL, now),
                     0);
    s_commit (&fx);
    //  The queue entry holds the reference, not the bytes...
    uint8_t *value = NULL;
    size_t size = 0;
    CU_ASSERT_FATAL (rh_db_get (fx.db, "q/la-newport/00000000000000000001", 33, &value, &size)
                     == 0);
    CU_ASSERT (size < sizeof s_sealed);
    free (value);
    //  ...and the agent receives exactly the bytes the audit record keeps.
    rh_queue_bind (fx.queue, "la-newport", connection, sizeof connection, 4, 10);
    rh_queue_pump (fx.queue, now);
    CU_ASSERT_EQUAL_FATAL (fx.sent.count, 1);
    CU_ASSERT_EQUAL (fx.sent.last_size, sizeof s_sealed);
    CU_ASSERT (memcmp (fx.sent.last, s_sealed, sizeof s_sealed) == 0);
    //  A copy that is gone (damaged storage) is never sent empty: after a restart (nothing in
    //  memory) it is a dead letter that says so.
    leaf = rh_audit_event (fx.audit, "ACCEPTED", RH_OK, "m-2", "police-gwent", to, 1, s_sealed,
                           sizeof s_sealed, NULL, NULL);
    rh_queue_enqueue (fx.queue, "la-newport", "m-2", "police-gwent", s_sealed, sizeof s_sealed,
                      leaf, now + TEST_DAY_MS, NULL, RH_KIND_REFERRAL, now);
    s_commit (&fx);
    char key [48];
    snprintf (key, sizeof key, "ap/%020" PRIu64, leaf - 1);
    rh_db_delete (fx.db, key, strlen (key));
    s_commit (&fx);
    rh_queue_destroy (&fx.queue);
    rh_queue_limits_t limits = { .expiry_ms = TEST_DAY_MS, .redeliver_ms = 1000 };
    fx.queue = rh_queue_new (fx.db, fx.audit, fx.signer, &limits, s_send, &fx.sent);
    CU_ASSERT_PTR_NOT_NULL_FATAL (fx.queue);
    rh_queue_bind (fx.queue, "la-newport", connection, sizeof connection, 4, 10);
    rh_queue_pump (fx.queue, now);
    s_commit (&fx);
    CU_ASSERT_EQUAL (fx.sent.count, 2);  //  m-1 again (never acknowledged), not m-2
    CU_ASSERT_EQUAL (fx.sent.ids [1], 1);
    CU_ASSERT_FALSE (s_has (&fx, "q/la-newport/00000000000000000002"));
    CU_ASSERT_TRUE (s_has (&fx, "x/la-newport/00000000000000000002"));
    s_close (&fx);
}

static void
test_a_recipient_far_behind_gets_every_entry_once_in_order_from_disk_and_memory (void)
{
    s_fixture_t fx;
    s_open (&fx);
    int64_t now = 11000000;
    const uint8_t connection [] = { 5 };
    rh_queue_bind (fx.queue, "la-newport", connection, sizeof connection, 5, 100);
    //  More entries in one batch than are kept in memory: the oldest are read back from disk.
    enum { N = RH_QUEUE_FRESH_ENTRIES + 300 };
    for (int i = 0; i < N; i++) {
        char msg_id [32];
        snprintf (msg_id, sizeof msg_id, "m-%05d", i);
        s_enqueue (&fx, msg_id, now + TEST_DAY_MS, now);
    }
    rh_queue_pump (fx.queue, now);
    CU_ASSERT_EQUAL (fx.sent.total, 0);  //  nothing before the commit
    s_commit (&fx);
    //  The agent acknowledges each window; more arrives meanwhile.
    for (int round = 0; round < 200 && fx.sent.highest < N + 50; round++) {
        rh_queue_pump (fx.queue, now);
        for (uint64_t id = fx.sent.highest > 100 ? fx.sent.highest - 100 : 1; id <= fx.sent.highest;
             id++) {
            rh_acked_t acked;
            rh_queue_ack (fx.queue, "la-newport", id, &acked);
        }
        if (round == 5)
            for (int i = 0; i < 50; i++)
                s_enqueue (&fx, "late", now + TEST_DAY_MS, now);
        s_commit (&fx);
    }
    CU_ASSERT_EQUAL (fx.sent.total, N + 50);
    CU_ASSERT_EQUAL (fx.sent.highest, N + 50);
    CU_ASSERT_EQUAL (fx.sent.out_of_order, 0);
    s_close (&fx);
}

//  Audit records of one event so far (committed).
static size_t
s_events (s_fixture_t *fx, const char *event)
{
    CU_ASSERT_EQUAL (rh_db_commit (fx->db, true), 0);
    rh_logreader_t *reader = rh_logreader_new (fx->db);
    size_t count = 0;
    const rh_audit_record_t *record;
    while (reader && (record = rh_logreader_next (reader)))
        count += strcmp (record->event, event) == 0;
    rh_logreader_destroy (&reader);
    return count;
}

static void
test_a_delivery_the_agent_cannot_verify_stays_queued_and_is_offered_again (void)
{
    s_fixture_t fx;
    s_open (&fx);
    int64_t now = 1000000;
    const uint8_t connection [] = { 9, 9 };
    s_enqueue (&fx, "m-1", now + TEST_DAY_MS, now);
    s_enqueue (&fx, "m-2", now + TEST_DAY_MS, now);
    s_commit (&fx);
    CU_ASSERT_EQUAL (rh_queue_bind (fx.queue, "la-newport", connection, sizeof connection, 4, 1),
                     0);
    rh_queue_pump (fx.queue, now);
    CU_ASSERT_EQUAL_FATAL (fx.sent.count, 1);
    CU_ASSERT_EQUAL (fx.sent.ids [0], 1);
    //  The agent cannot verify it: not acknowledged, still queued, its credit back.
    rh_acked_t which;
    CU_ASSERT_EQUAL (rh_queue_unverified (fx.queue, "la-newport", 1, "RH_E_CERT_UNKNOWN",
                                          "no certificate for the signer", now, &which),
                     1);
    CU_ASSERT_STRING_EQUAL (which.msg_id, "m-1");
    CU_ASSERT_EQUAL (which.kind, RH_KIND_REFERRAL);
    CU_ASSERT_EQUAL (rh_queue_unverified_count (fx.queue, "la-newport"), 1);
    //  Only a delivery in flight can be answered so.
    CU_ASSERT_EQUAL (
        rh_queue_unverified (fx.queue, "la-newport", 1, "RH_E_CERT_UNKNOWN", "", now, &which), 0);
    CU_ASSERT_EQUAL (rh_queue_unverified (fx.queue, "la-newport", 7, "RH_E_SIG", "", now, &which),
                     0);
    CU_ASSERT_STRING_EQUAL (which.code, "RH_E_CERT_UNKNOWN");
    s_commit (&fx);
    CU_ASSERT_TRUE (s_has (&fx, "q/la-newport/00000000000000000001"));
    CU_ASSERT_TRUE (s_has (&fx, "qu/la-newport/00000000000000000001"));
    CU_ASSERT_FALSE (s_has (&fx, "x/la-newport/00000000000000000001"));
    CU_ASSERT_EQUAL (s_events (&fx, "UNVERIFIED"), 1);
    CU_ASSERT_EQUAL (s_events (&fx, "ACKED"), 0);
    //  With its credit back the next message goes; the unverified one is not sent again yet.
    rh_queue_pump (fx.queue, now);
    CU_ASSERT_EQUAL_FATAL (fx.sent.count, 2);
    CU_ASSERT_EQUAL (fx.sent.ids [1], 2);
    rh_acked_t acked;
    CU_ASSERT_EQUAL (rh_queue_ack (fx.queue, "la-newport", 2, &acked), 1);
    rh_queue_redeliver (fx.queue, now + RH_UNVERIFIED_RETRY_MS - 1);
    rh_queue_pump (fx.queue, now + RH_UNVERIFIED_RETRY_MS - 1);
    CU_ASSERT_EQUAL (fx.sent.count, 2);
    //  After the slow back-off it is offered again.
    rh_queue_redeliver (fx.queue, now + RH_UNVERIFIED_RETRY_MS);
    CU_ASSERT_EQUAL_FATAL (fx.sent.count, 3);
    CU_ASSERT_EQUAL (fx.sent.ids [2], 1);
    //  Refused again; a trust refresh offers it at the next tick, without the wait.
    now += RH_UNVERIFIED_RETRY_MS;
    CU_ASSERT_EQUAL (
        rh_queue_unverified (fx.queue, "la-newport", 1, "no\nsuch code", "", now, &which), 1);
    CU_ASSERT_STRING_EQUAL (which.code, "RH_E_UNKNOWN");  //  not passed on as the agent wrote it
    rh_queue_redeliver (fx.queue, now + 1);
    CU_ASSERT_EQUAL (fx.sent.count, 3);
    CU_ASSERT_EQUAL (rh_queue_reoffer_unverified (fx.queue, "health-abb"), 0);
    CU_ASSERT_EQUAL (rh_queue_reoffer_unverified (fx.queue, NULL), 1);
    rh_queue_redeliver (fx.queue, now + 2);
    CU_ASSERT_EQUAL_FATAL (fx.sent.count, 4);
    CU_ASSERT_EQUAL (fx.sent.ids [3], 1);
    //  Verified at last: acknowledged, and nothing more waits on it.
    CU_ASSERT_EQUAL (rh_queue_ack (fx.queue, "la-newport", 1, &acked), 1);
    CU_ASSERT_STRING_EQUAL (acked.msg_id, "m-1");
    CU_ASSERT_EQUAL (rh_queue_unverified_count (fx.queue, "la-newport"), 0);
    s_commit (&fx);
    CU_ASSERT_FALSE (s_has (&fx, "q/la-newport/00000000000000000001"));
    CU_ASSERT_FALSE (s_has (&fx, "qu/la-newport/00000000000000000001"));
    CU_ASSERT_EQUAL (s_events (&fx, "UNVERIFIED"), 2);
    s_close (&fx);
}

static void
test_an_unverified_delivery_goes_again_at_hello_and_its_sender_is_told_once (void)
{
    s_fixture_t fx;
    s_open (&fx);
    int64_t now = 1000000;
    const uint8_t first [] = { 1 }, second [] = { 2 };
    s_enqueue (&fx, "m-1", now + TEST_DAY_MS, now);
    s_commit (&fx);
    CU_ASSERT_EQUAL (rh_queue_bind (fx.queue, "la-newport", first, sizeof first, 4, 10), 0);
    rh_queue_pump (fx.queue, now);
    CU_ASSERT_EQUAL_FATAL (fx.sent.count, 1);
    rh_acked_t which;
    CU_ASSERT_EQUAL (
        rh_queue_unverified (fx.queue, "la-newport", 1, "RH_E_CERT_UNKNOWN", "", now, &which), 1);
    //  A Hello again (a restarted agent may trust more now) offers it at once.
    CU_ASSERT_EQUAL (rh_queue_bind (fx.queue, "la-newport", second, sizeof second, 5, 10), 0);
    rh_queue_pump (fx.queue, now + 10);
    CU_ASSERT_EQUAL_FATAL (fx.sent.count, 2);
    CU_ASSERT_EQUAL (fx.sent.ids [1], 1);
    CU_ASSERT_EQUAL (
        rh_queue_unverified (fx.queue, "la-newport", 1, "RH_E_NOT_YET_VALID", "", now + 20, &which),
        1);
    //  Its sender hears nothing before the limit, counted from the first time (meanwhile it is
    //  offered again every RH_UNVERIFIED_RETRY_MS)...
    rh_queue_redeliver (fx.queue, now + S_ALERT_MS - 1);
    s_commit (&fx);
    CU_ASSERT_FALSE (s_has (&fx, "q/police-gwent/00000000000000000001"));
    //  ...then once that it waits (a broker-signed alert in its queue), and the log records it.
    rh_queue_redeliver (fx.queue, now + S_ALERT_MS);
    s_commit (&fx);
    CU_ASSERT_TRUE (s_has (&fx, "q/police-gwent/00000000000000000001"));
    CU_ASSERT_EQUAL (s_events (&fx, "NOTICE"), 1);
    rh_queue_redeliver (fx.queue, now + 2 * S_ALERT_MS);
    s_commit (&fx);
    CU_ASSERT_FALSE (s_has (&fx, "q/police-gwent/00000000000000000002"));
    //  A broker that restarts keeps the first time and that the sender was told.
    rh_queue_destroy (&fx.queue);
    rh_queue_limits_t limits = { .expiry_ms = TEST_DAY_MS,
                                 .redeliver_ms = 1000,
                                 .unverified_alert_ms = S_ALERT_MS };
    fx.queue = rh_queue_new (fx.db, fx.audit, fx.signer, &limits, s_send, &fx.sent);
    CU_ASSERT_PTR_NOT_NULL_FATAL (fx.queue);
    CU_ASSERT_EQUAL (rh_queue_unverified_count (fx.queue, "la-newport"), 1);
    size_t before = fx.sent.count;
    CU_ASSERT_EQUAL (rh_queue_bind (fx.queue, "la-newport", first, sizeof first, 4, 10), 0);
    rh_queue_pump (fx.queue, now + 3 * S_ALERT_MS);
    CU_ASSERT_EQUAL_FATAL (fx.sent.count, before + 1);
    CU_ASSERT_EQUAL (fx.sent.ids [before], 1);
    CU_ASSERT_EQUAL (rh_queue_unverified (fx.queue, "la-newport", 1, "RH_E_CERT_UNKNOWN", "",
                                          now + 3 * S_ALERT_MS, &which),
                     1);
    rh_queue_redeliver (fx.queue, now + 3 * S_ALERT_MS + 1);
    s_commit (&fx);
    CU_ASSERT_FALSE (s_has (&fx, "q/police-gwent/00000000000000000002"));
    CU_ASSERT_EQUAL (s_events (&fx, "NOTICE"), 1);
    s_close (&fx);
}

void
init_rh_queue_tests (void)
{
    CU_pSuite suite = CU_add_suite ("rh_queue", NULL, NULL);
    CU_add_test (suite, "messages are delivered within credit once committed, and acknowledged",
                 test_messages_are_delivered_within_credit_once_committed_and_acknowledged);
    CU_add_test (suite, "a Hello with credit 0 sends nothing until a Hello asks again",
                 test_a_hello_with_credit_0_sends_nothing_until_a_hello_asks_again);
    CU_add_test (
        suite,
        "a connected agent that never acknowledges is resent to with back-off, never dead-lettered",
        test_a_connected_agent_that_never_acknowledges_is_resent_to_with_back_off_and_never_dead_lettered);
    CU_add_test (suite, "only a message never sent is dead-lettered on expiry, with a notice",
                 test_only_a_message_never_sent_is_dead_lettered_on_expiry_with_a_notice);
    CU_add_test (suite, "a non-delivery notice reaches a connected sender once committed",
                 test_a_non_delivery_notice_reaches_a_connected_sender_once_committed);
    CU_add_test (suite, "a message sent before a restart is not dead-lettered on expiry after it",
                 test_a_message_sent_before_a_restart_is_not_dead_lettered_on_expiry_after_it);
    CU_add_test (suite, "a lost connection unbinds only its own binding and counts the attempts",
                 test_a_lost_connection_unbinds_only_its_own_binding_and_counts_the_attempts);
    CU_add_test (
        suite, "a dead letter is listed, and re-queued with a fresh expiry and its record",
        test_a_dead_letter_is_listed_and_requeued_with_a_fresh_expiry_and_its_audit_record);
    CU_add_test (suite,
                 "a recipient far behind gets every entry once, in order, from disk and memory",
                 test_a_recipient_far_behind_gets_every_entry_once_in_order_from_disk_and_memory);
    CU_add_test (suite, "a message is stored once, and a missing copy is dead-lettered, not sent",
                 test_a_message_is_stored_once_and_a_missing_copy_is_dead_lettered_not_sent);
    CU_add_test (suite, "the broker's own messages are queued with their audit record",
                 test_the_broker_own_messages_are_queued_with_their_record);
    CU_add_test (suite, "a delivery the agent cannot verify stays queued and is offered again",
                 test_a_delivery_the_agent_cannot_verify_stays_queued_and_is_offered_again);
    CU_add_test (suite, "an unverified delivery goes again at Hello; its sender is told once",
                 test_an_unverified_delivery_goes_again_at_hello_and_its_sender_is_told_once);
}
