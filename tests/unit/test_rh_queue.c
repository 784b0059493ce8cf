/*  =========================================================================
    test_rh_queue - durable queues, binding, credit, acknowledgement,
    redelivery and dead letters, on a real LevelDB
    =========================================================================
*/
#include "test_helpers.h"
#include "rh_broker_classes.h"

#define S_MAX_SENT 16

//  What the queue handed to the transport.
typedef struct {
    uint64_t ids [S_MAX_SENT];
    uint8_t routing_id [8];
    size_t routing_id_size;
    size_t count;
    bool gone;  //  the transport says the peer has gone
} s_sent_t;

static int
s_send (void *arg, const uint8_t *routing_id, size_t routing_id_size, const rh_frame_t *frame)
{
    s_sent_t *sent = arg;
    if (sent->gone) {
        errno = EHOSTUNREACH;
        return -1;
    }
    if (sent->count < S_MAX_SENT && frame->type == RH_FRAME_DELIVER)
        sent->ids [sent->count++] = frame->delivery_id;
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
                                 .max_attempts = 2 };
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

static void
test_messages_are_delivered_within_credit_once_committed_and_acknowledged (void)
{
    s_fixture_t fx;
    s_open (&fx);
    int64_t now = 1000000;
    const uint8_t connection [] = { 0, 1, 2, 3, 4 };
    CU_ASSERT_EQUAL (rh_queue_enqueue (fx.queue, "la-newport", "m-1", "police-gwent", s_sealed,
                                       sizeof s_sealed, now + TEST_DAY_MS, NULL, RH_KIND_REFERRAL,
                                       now),
                     0);
    //  A Hello binds the queue with credit for one; nothing uncommitted is ever sent.
    CU_ASSERT_EQUAL (rh_queue_bind (fx.queue, "la-newport", connection, sizeof connection, 1), 0);
    CU_ASSERT_TRUE (rh_queue_connected (fx.queue, "la-newport"));
    CU_ASSERT_FALSE (rh_queue_connected (fx.queue, "health-abb"));
    rh_queue_pump (fx.queue, now);
    CU_ASSERT_EQUAL (fx.sent.count, 0);
    //  The broker pumps after each commit; a new message makes the queue ready again.
    CU_ASSERT_EQUAL (rh_queue_enqueue (fx.queue, "la-newport", "m-2", "police-gwent", s_sealed,
                                       sizeof s_sealed, 0, NULL, RH_KIND_INFO_REQUEST, now),
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
    rh_queue_pump (fx.queue, now);
    CU_ASSERT_EQUAL_FATAL (fx.sent.count, 2);
    CU_ASSERT_EQUAL (fx.sent.ids [1], 2);
    s_commit (&fx);
    CU_ASSERT_FALSE (s_has (&fx, "q/la-newport/00000000000000000001"));
    CU_ASSERT_TRUE (s_has (&fx, "q/la-newport/00000000000000000002"));
    //  Unacknowledged past redeliver_ms: sent again, one attempt more.
    rh_queue_redeliver (fx.queue, now + 500);
    rh_queue_pump (fx.queue, now + 500);
    CU_ASSERT_EQUAL (fx.sent.count, 2);
    rh_queue_redeliver (fx.queue, now + 1001);
    s_commit (&fx);
    rh_queue_pump (fx.queue, now + 1001);
    CU_ASSERT_EQUAL_FATAL (fx.sent.count, 3);
    CU_ASSERT_EQUAL (fx.sent.ids [2], 2);
    //  Delivered, redelivered, acknowledged: one audit record each.
    CU_ASSERT_EQUAL (rh_audit_size (fx.audit), 4);
    //  A Hello starts again from the head of the queue; a gone peer is unbound.
    CU_ASSERT_EQUAL (rh_queue_bind (fx.queue, "la-newport", other, sizeof other, 5), 0);
    const char *bound [4];
    CU_ASSERT_EQUAL (rh_queue_bound_agencies (fx.queue, bound, 4), 1);
    CU_ASSERT_STRING_EQUAL (bound [0], "la-newport");
    fx.sent.gone = true;
    rh_queue_pump (fx.queue, now + 1001);
    CU_ASSERT_FALSE (rh_queue_connected (fx.queue, "la-newport"));
    s_close (&fx);
}

static void
test_an_expired_or_undeliverable_message_becomes_a_dead_letter_with_a_notice (void)
{
    s_fixture_t fx;
    s_open (&fx);
    int64_t now = 2000000;
    const uint8_t connection [] = { 7 };
    rh_queue_enqueue (fx.queue, "la-newport", "m-old", "police-gwent", s_sealed, sizeof s_sealed,
                      now - 1, NULL, RH_KIND_REFERRAL, now - 10);
    rh_queue_enqueue (fx.queue, "la-newport", "m-slow", "police-gwent", s_sealed, sizeof s_sealed,
                      0, NULL, RH_KIND_REFERRAL, now);
    s_commit (&fx);
    rh_queue_bind (fx.queue, "la-newport", connection, sizeof connection, 10);
    rh_queue_pump (fx.queue, now);
    CU_ASSERT_EQUAL_FATAL (fx.sent.count, 1);  //  m-old expired: never sent
    CU_ASSERT_EQUAL (fx.sent.ids [0], 2);
    //  Two attempts without acknowledgement are the limit.
    rh_queue_redeliver (fx.queue, now + 2000);
    s_commit (&fx);
    rh_queue_pump (fx.queue, now + 2000);
    rh_queue_redeliver (fx.queue, now + 4000);
    s_commit (&fx);
    rh_queue_pump (fx.queue, now + 4000);
    CU_ASSERT_EQUAL (fx.sent.count, 2);
    s_commit (&fx);
    CU_ASSERT_TRUE (s_has (&fx, "x/la-newport/00000000000000000001"));
    CU_ASSERT_TRUE (s_has (&fx, "x/la-newport/00000000000000000002"));
    CU_ASSERT_FALSE (s_has (&fx, "q/la-newport/00000000000000000002"));
    //  Each sender has a signed non-delivery notice in its own queue.
    CU_ASSERT_TRUE (s_has (&fx, "q/police-gwent/00000000000000000001"));
    CU_ASSERT_TRUE (s_has (&fx, "q/police-gwent/00000000000000000002"));
    CU_ASSERT_TRUE (s_has (&fx, "b/seq"));
    CU_ASSERT_EQUAL (rh_queue_next_sequence (fx.queue), 3);
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
    s_close (&fx);
}

void
init_rh_queue_tests (void)
{
    CU_pSuite suite = CU_add_suite ("rh_queue", NULL, NULL);
    CU_add_test (suite, "messages are delivered within credit once committed, and acknowledged",
                 test_messages_are_delivered_within_credit_once_committed_and_acknowledged);
    CU_add_test (suite, "an expired or undeliverable message becomes a dead letter with a notice",
                 test_an_expired_or_undeliverable_message_becomes_a_dead_letter_with_a_notice);
    CU_add_test (suite, "the broker's own messages are queued with their audit record",
                 test_the_broker_own_messages_are_queued_with_their_record);
}
