/*  =========================================================================
    test_rh_link - the agent's diagnosis of its connection to the broker,
    from the socket monitor event sequences libzmq 4.3 produces
    =========================================================================
*/
#include "test_helpers.h"
#include "rh_link.h"

#define ENDPOINT "tcp://127.0.0.1:5670"
#define LATE_MS  5000

static bool
s_says (const rh_link_t *link, const char *words)
{
    return strstr (rh_link_text (link), words) != NULL;
}

static void
test_link_follows_a_connection_from_start_to_handshake (void)
{
    rh_link_t *link = rh_link_new (ENDPOINT, LATE_MS);
    CU_ASSERT_PTR_NOT_NULL_FATAL (link);
    CU_ASSERT_EQUAL (rh_link_state (link), RH_LINK_CONNECTING);
    CU_ASSERT_STRING_EQUAL (rh_link_state_name (rh_link_state (link)), "connecting");
    CU_ASSERT_EQUAL (rh_link_event (link, ZMQ_EVENT_CONNECTED, 7, 1000), 0);
    CU_ASSERT_EQUAL (rh_link_tick (link, 1100), 0);
    CU_ASSERT_EQUAL (rh_link_event (link, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, 0, 1200), 1);
    CU_ASSERT_EQUAL (rh_link_state (link), RH_LINK_UP);
    CU_ASSERT_STRING_EQUAL (rh_link_text (link), "connected to " ENDPOINT);
    //  Once up, time passing is no timeout.
    CU_ASSERT_EQUAL (rh_link_tick (link, 100000), 0);
    CU_ASSERT_EQUAL (rh_link_state (link), RH_LINK_UP);
    rh_link_destroy (&link);
    CU_ASSERT_PTR_NULL (link);
    rh_link_destroy (&link);
}

static void
test_link_names_a_broker_that_is_not_listening (void)
{
    rh_link_t *link = rh_link_new (ENDPOINT, LATE_MS);
    CU_ASSERT_PTR_NOT_NULL_FATAL (link);
    CU_ASSERT_EQUAL (rh_link_event (link, ZMQ_EVENT_CONNECT_RETRIED, 200, 1000), 1);
    CU_ASSERT_EQUAL (rh_link_state (link), RH_LINK_UNREACHABLE);
    CU_ASSERT_STRING_EQUAL (rh_link_state_name (rh_link_state (link)), "broker_not_reachable");
    CU_ASSERT (s_says (link, "broker not reachable at " ENDPOINT));
    CU_ASSERT (!s_says (link, "key"));
    //  Reported once, however often ZeroMQ retries.
    CU_ASSERT_EQUAL (rh_link_event (link, ZMQ_EVENT_CONNECT_RETRIED, 400, 1200), 0);
    CU_ASSERT_EQUAL (rh_link_event (link, ZMQ_EVENT_CONNECT_RETRIED, 800, 1600), 0);
    rh_link_destroy (&link);
}

static void
test_link_calls_a_slow_handshake_a_timeout_not_a_refusal (void)
{
    rh_link_t *link = rh_link_new (ENDPOINT, LATE_MS);
    CU_ASSERT_PTR_NOT_NULL_FATAL (link);
    //  A stopped or busy broker: the kernel takes the connection, nobody answers the greeting.
    CU_ASSERT_EQUAL (rh_link_event (link, ZMQ_EVENT_CONNECTED, 7, 1000), 0);
    CU_ASSERT_EQUAL (rh_link_tick (link, 1000 + LATE_MS - 1), 0);
    CU_ASSERT_EQUAL (rh_link_state (link), RH_LINK_CONNECTING);
    CU_ASSERT_EQUAL (rh_link_tick (link, 1000 + LATE_MS), 1);
    CU_ASSERT_EQUAL (rh_link_state (link), RH_LINK_HANDSHAKE_TIMEOUT);
    CU_ASSERT_STRING_EQUAL (rh_link_state_name (rh_link_state (link)), "handshake_timeout");
    CU_ASSERT (s_says (link, "timed out: the broker may be busy or starting"));
    CU_ASSERT (!s_says (link, "broker/identity"));
    //  ZeroMQ's own handshake timer ends the connection and tries again: still the same story,
    //  told once.
    CU_ASSERT_EQUAL (rh_link_event (link, ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL, 0, 31000), 0);
    CU_ASSERT_EQUAL (rh_link_event (link, ZMQ_EVENT_DISCONNECTED, 7, 31000), 0);
    CU_ASSERT_EQUAL (rh_link_event (link, ZMQ_EVENT_CONNECT_RETRIED, 200, 31000), 0);
    CU_ASSERT_EQUAL (rh_link_event (link, ZMQ_EVENT_CONNECTED, 8, 31200), 0);
    CU_ASSERT_EQUAL (rh_link_tick (link, 31200 + LATE_MS), 0);
    CU_ASSERT_EQUAL (rh_link_state (link), RH_LINK_HANDSHAKE_TIMEOUT);
    //  The broker wakes up.
    CU_ASSERT_EQUAL (rh_link_event (link, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, 0, 40000), 1);
    CU_ASSERT_EQUAL (rh_link_state (link), RH_LINK_UP);
    rh_link_destroy (&link);
}

static void
test_link_calls_a_handshake_ended_by_zeromq_after_the_timeout_a_timeout (void)
{
    //  Without a tick in between (a busy agent): the late failure itself says it was slow.
    rh_link_t *link = rh_link_new (ENDPOINT, LATE_MS);
    CU_ASSERT_PTR_NOT_NULL_FATAL (link);
    CU_ASSERT_EQUAL (rh_link_event (link, ZMQ_EVENT_CONNECTED, 7, 1000), 0);
    CU_ASSERT_EQUAL (rh_link_event (link, ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL, 0, 31000), 1);
    CU_ASSERT_EQUAL (rh_link_state (link), RH_LINK_HANDSHAKE_TIMEOUT);
    rh_link_destroy (&link);
}

static void
test_link_calls_an_authentication_failure_a_refused_key (void)
{
    rh_link_t *link = rh_link_new (ENDPOINT, LATE_MS);
    CU_ASSERT_PTR_NOT_NULL_FATAL (link);
    CU_ASSERT_EQUAL (rh_link_event (link, ZMQ_EVENT_CONNECTED, 7, 1000), 0);
    CU_ASSERT_EQUAL (rh_link_event (link, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, 400, 1010), 1);
    CU_ASSERT_EQUAL (rh_link_state (link), RH_LINK_REFUSED);
    CU_ASSERT_STRING_EQUAL (rh_link_state_name (rh_link_state (link)), "refused");
    CU_ASSERT (s_says (link, "refused our key (status 400)"));
    CU_ASSERT (s_says (link, "is this agency enrolled, and is broker/identity the right key?"));
    //  ZeroMQ tries again and is refused again: told once, and never "not reachable".
    CU_ASSERT_EQUAL (rh_link_event (link, ZMQ_EVENT_DISCONNECTED, 7, 1010), 0);
    CU_ASSERT_EQUAL (rh_link_event (link, ZMQ_EVENT_CONNECT_RETRIED, 200, 1010), 0);
    CU_ASSERT_EQUAL (rh_link_event (link, ZMQ_EVENT_CONNECTED, 8, 1210), 0);
    CU_ASSERT_EQUAL (rh_link_event (link, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, 400, 1220), 0);
    CU_ASSERT_EQUAL (rh_link_state (link), RH_LINK_REFUSED);
    rh_link_destroy (&link);
}

static void
test_link_calls_a_protocol_failure_a_refused_key (void)
{
    rh_link_t *link = rh_link_new (ENDPOINT, LATE_MS);
    CU_ASSERT_PTR_NOT_NULL_FATAL (link);
    CU_ASSERT_EQUAL (rh_link_event (link, ZMQ_EVENT_CONNECTED, 7, 1000), 0);
    CU_ASSERT_EQUAL (rh_link_event (link, ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL,
                                    ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC, 1010),
                     1);
    CU_ASSERT_EQUAL (rh_link_state (link), RH_LINK_REFUSED);
    CU_ASSERT (s_says (link, "protocol error"));
    rh_link_destroy (&link);
}

static void
test_link_calls_handshakes_cut_short_twice_in_a_row_a_refused_key (void)
{
    //  A wrong broker key: the broker cannot read our HELLO and hangs up at once (EPIPE).
    rh_link_t *link = rh_link_new (ENDPOINT, LATE_MS);
    CU_ASSERT_PTR_NOT_NULL_FATAL (link);
    CU_ASSERT_EQUAL (rh_link_event (link, ZMQ_EVENT_CONNECTED, 19, 1000), 0);
    CU_ASSERT_EQUAL (rh_link_event (link, ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL, EPIPE, 1001), 0);
    CU_ASSERT_EQUAL (rh_link_event (link, ZMQ_EVENT_DISCONNECTED, 19, 1001), 0);
    CU_ASSERT_EQUAL (rh_link_event (link, ZMQ_EVENT_CONNECT_RETRIED, 383, 1001), 0);
    CU_ASSERT_EQUAL (rh_link_state (link), RH_LINK_CONNECTING);
    CU_ASSERT_EQUAL (rh_link_event (link, ZMQ_EVENT_CONNECTED, 18, 1384), 0);
    CU_ASSERT_EQUAL (rh_link_event (link, ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL, EPIPE, 1385), 1);
    CU_ASSERT_EQUAL (rh_link_state (link), RH_LINK_REFUSED);
    CU_ASSERT (s_says (link, "is broker/identity the right key?"));
    rh_link_destroy (&link);
}

static void
test_link_does_not_call_one_handshake_cut_short_by_a_restart_a_refusal (void)
{
    rh_link_t *link = rh_link_new (ENDPOINT, LATE_MS);
    CU_ASSERT_PTR_NOT_NULL_FATAL (link);
    CU_ASSERT_EQUAL (rh_link_event (link, ZMQ_EVENT_CONNECTED, 7, 1000), 0);
    CU_ASSERT_EQUAL (rh_link_event (link, ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL, EPIPE, 1001), 0);
    CU_ASSERT_EQUAL (rh_link_event (link, ZMQ_EVENT_DISCONNECTED, 7, 1001), 0);
    CU_ASSERT_EQUAL (rh_link_event (link, ZMQ_EVENT_CONNECT_RETRIED, 200, 1001), 0);
    CU_ASSERT_EQUAL (rh_link_event (link, ZMQ_EVENT_CONNECTED, 8, 1300), 0);
    CU_ASSERT_EQUAL (rh_link_event (link, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, 0, 1310), 1);
    CU_ASSERT_EQUAL (rh_link_state (link), RH_LINK_UP);
    //  A success in between starts the count again.
    CU_ASSERT_EQUAL (rh_link_event (link, ZMQ_EVENT_DISCONNECTED, 8, 9000), 1);
    CU_ASSERT_EQUAL (rh_link_event (link, ZMQ_EVENT_CONNECT_RETRIED, 200, 9000), 0);
    CU_ASSERT_EQUAL (rh_link_event (link, ZMQ_EVENT_CONNECTED, 9, 9200), 0);
    CU_ASSERT_EQUAL (rh_link_event (link, ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL, EPIPE, 9201), 0);
    CU_ASSERT_NOT_EQUAL (rh_link_state (link), RH_LINK_REFUSED);
    rh_link_destroy (&link);
}

static void
test_link_reports_a_lost_connection_then_an_unreachable_broker (void)
{
    rh_link_t *link = rh_link_new (ENDPOINT, LATE_MS);
    CU_ASSERT_PTR_NOT_NULL_FATAL (link);
    rh_link_event (link, ZMQ_EVENT_CONNECTED, 7, 1000);
    rh_link_event (link, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, 0, 1010);
    CU_ASSERT_EQUAL (rh_link_event (link, ZMQ_EVENT_DISCONNECTED, 7, 5000), 1);
    CU_ASSERT_EQUAL (rh_link_state (link), RH_LINK_LOST);
    CU_ASSERT_STRING_EQUAL (rh_link_state_name (rh_link_state (link)), "disconnected");
    //  The retry ZeroMQ schedules after any closed connection is not yet a failed connect...
    CU_ASSERT_EQUAL (rh_link_event (link, ZMQ_EVENT_CONNECT_RETRIED, 200, 5000), 0);
    CU_ASSERT_EQUAL (rh_link_state (link), RH_LINK_LOST);
    //  ...the next one, with no connection in between, is.
    CU_ASSERT_EQUAL (rh_link_event (link, ZMQ_EVENT_CONNECT_RETRIED, 400, 5200), 1);
    CU_ASSERT_EQUAL (rh_link_state (link), RH_LINK_UNREACHABLE);
    rh_link_destroy (&link);
}

void
init_rh_link_tests (void)
{
    CU_pSuite suite = CU_add_suite ("rh_link", NULL, NULL);
    CU_add_test (suite, "link follows a connection from start to handshake",
                 test_link_follows_a_connection_from_start_to_handshake);
    CU_add_test (suite, "link names a broker that is not listening",
                 test_link_names_a_broker_that_is_not_listening);
    CU_add_test (suite, "link calls a slow handshake a timeout, not a refusal",
                 test_link_calls_a_slow_handshake_a_timeout_not_a_refusal);
    CU_add_test (suite, "link calls a handshake ended by ZeroMQ after the timeout a timeout",
                 test_link_calls_a_handshake_ended_by_zeromq_after_the_timeout_a_timeout);
    CU_add_test (suite, "link calls an authentication failure a refused key",
                 test_link_calls_an_authentication_failure_a_refused_key);
    CU_add_test (suite, "link calls a protocol failure a refused key",
                 test_link_calls_a_protocol_failure_a_refused_key);
    CU_add_test (suite, "link calls handshakes cut short twice in a row a refused key",
                 test_link_calls_handshakes_cut_short_twice_in_a_row_a_refused_key);
    CU_add_test (suite, "link does not call one handshake cut short by a restart a refusal",
                 test_link_does_not_call_one_handshake_cut_short_by_a_restart_a_refusal);
    CU_add_test (suite, "link reports a lost connection, then an unreachable broker",
                 test_link_reports_a_lost_connection_then_an_unreachable_broker);
}
