/*  =========================================================================
    test_rh_sessions - the broker's table of transport connections
    =========================================================================
*/
#include "test_helpers.h"
#include "rh_broker_classes.h"

static void
test_a_session_is_bound_to_its_agency_by_its_first_frame (void)
{
    rh_sessions_t *sessions = rh_sessions_new (2, 1000, 3);
    CU_ASSERT_PTR_NOT_NULL_FATAL (sessions);
    int evict = 0;
    rh_sessions_event (sessions, ZMQ_EVENT_ACCEPTED, 7, 0);
    rh_sessions_event (sessions, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, 7, 10);
    CU_ASSERT_EQUAL (rh_sessions_size (sessions), 1);
    CU_ASSERT_PTR_NULL (rh_sessions_agency (sessions, 7));
    CU_ASSERT_EQUAL (rh_sessions_frame (sessions, 7, "police-gwent", 20, &evict), RH_SESSION_KEEP);
    CU_ASSERT_EQUAL (evict, -1);
    CU_ASSERT_STRING_EQUAL (rh_sessions_agency (sessions, 7), "police-gwent");
    CU_ASSERT_EQUAL (rh_sessions_count (sessions, "police-gwent"), 1);
    rh_sessions_event (sessions, ZMQ_EVENT_DISCONNECTED, 7, 30);
    CU_ASSERT_EQUAL (rh_sessions_size (sessions), 0);
    CU_ASSERT_EQUAL (rh_sessions_count (sessions, "police-gwent"), 0);
    rh_sessions_destroy (&sessions);
    CU_ASSERT_PTR_NULL (sessions);
    rh_sessions_destroy (&sessions);
}

static void
test_a_frame_that_overtakes_the_handshake_event_stays_bound (void)
{
    rh_sessions_t *sessions = rh_sessions_new (2, 1000, 3);
    int evict = 0;
    CU_ASSERT_EQUAL (rh_sessions_frame (sessions, 5, "la-newport", 0, &evict), RH_SESSION_KEEP);
    rh_sessions_event (sessions, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, 5, 1);
    CU_ASSERT_STRING_EQUAL (rh_sessions_agency (sessions, 5), "la-newport");
    int fds [4];
    CU_ASSERT_EQUAL (rh_sessions_silent (sessions, 100000, fds, 4), 0);
    rh_sessions_destroy (&sessions);
}

static void
test_an_agency_over_its_cap_gives_way_with_its_least_recently_active_session (void)
{
    rh_sessions_t *sessions = rh_sessions_new (2, 1000, 3);
    int evict = 0;
    CU_ASSERT_EQUAL (rh_sessions_frame (sessions, 10, "health-abb", 100, &evict), RH_SESSION_KEEP);
    CU_ASSERT_EQUAL (rh_sessions_frame (sessions, 11, "health-abb", 200, &evict), RH_SESSION_KEEP);
    CU_ASSERT_EQUAL (rh_sessions_frame (sessions, 10, "health-abb", 300, &evict), RH_SESSION_KEEP);
    //  A third: session 11 was active least recently.
    CU_ASSERT_EQUAL (rh_sessions_frame (sessions, 12, "health-abb", 400, &evict),
                     RH_SESSION_OVER_CAP);
    CU_ASSERT_EQUAL (evict, 11);
    //  Other agencies are not affected by health's sessions.
    CU_ASSERT_EQUAL (rh_sessions_frame (sessions, 13, "police-gwent", 400, &evict),
                     RH_SESSION_KEEP);
    CU_ASSERT_EQUAL (rh_sessions_count (sessions, "health-abb"), 3);
    rh_sessions_event (sessions, ZMQ_EVENT_DISCONNECTED, 11, 500);
    CU_ASSERT_EQUAL (rh_sessions_count (sessions, "health-abb"), 2);
    rh_sessions_destroy (&sessions);
}

static void
test_malformed_frames_close_a_session_at_the_limit (void)
{
    rh_sessions_t *sessions = rh_sessions_new (2, 1000, 3);
    int evict = 0;
    rh_sessions_frame (sessions, 4, "police-gwent", 0, &evict);
    CU_ASSERT_EQUAL (rh_sessions_malformed (sessions, 4), RH_SESSION_KEEP);
    CU_ASSERT_EQUAL (rh_sessions_malformed (sessions, 4), RH_SESSION_KEEP);
    CU_ASSERT_EQUAL (rh_sessions_malformed (sessions, 4), RH_SESSION_PROTO_ERRORS);
    //  A descriptor the table does not know is never judged.
    CU_ASSERT_EQUAL (rh_sessions_malformed (sessions, 99), RH_SESSION_KEEP);
    CU_ASSERT_EQUAL (rh_sessions_malformed (sessions, -1), RH_SESSION_KEEP);
    rh_sessions_destroy (&sessions);
}

static void
test_authenticated_connections_that_stay_silent_are_named (void)
{
    rh_sessions_t *sessions = rh_sessions_new (2, 1000, 3);
    int evict = 0, fds [8];
    rh_sessions_event (sessions, ZMQ_EVENT_ACCEPTED, 20, 0);
    rh_sessions_event (sessions, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, 20, 0);
    rh_sessions_event (sessions, ZMQ_EVENT_ACCEPTED, 21, 0);
    rh_sessions_event (sessions, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, 21, 500);
    rh_sessions_event (sessions, ZMQ_EVENT_ACCEPTED, 22, 0);  //  still in its handshake
    rh_sessions_frame (sessions, 23, "la-newport", 0, &evict);
    CU_ASSERT_EQUAL (rh_sessions_silent (sessions, 1000, fds, 8), 0);
    CU_ASSERT_EQUAL_FATAL (rh_sessions_silent (sessions, 1200, fds, 8), 1);
    CU_ASSERT_EQUAL (fds [0], 20);
    CU_ASSERT_EQUAL (rh_sessions_silent (sessions, 5000, fds, 8), 2);
    CU_ASSERT_EQUAL (rh_sessions_silent (sessions, 5000, fds, 1), 1);
    rh_sessions_destroy (&sessions);
}

static void
test_closing_shuts_down_only_a_live_session (void)
{
    rh_sessions_t *sessions = rh_sessions_new (2, 1000, 3);
    int pair [2];
    CU_ASSERT_EQUAL_FATAL (socketpair (AF_UNIX, SOCK_STREAM, 0, pair), 0);
    //  Unknown to the table: left alone.
    CU_ASSERT_EQUAL (rh_sessions_close (sessions, pair [0]), -1);
    rh_sessions_event (sessions, ZMQ_EVENT_ACCEPTED, pair [0], 0);
    CU_ASSERT_EQUAL (rh_sessions_close (sessions, pair [0]), 0);
    char byte;
    CU_ASSERT_EQUAL (read (pair [1], &byte, 1), 0);  //  the peer sees the end of the stream
    CU_ASSERT_EQUAL (rh_sessions_close (sessions, pair [0]), -1);  //  once
    rh_sessions_event (sessions, ZMQ_EVENT_DISCONNECTED, pair [0], 0);
    CU_ASSERT_EQUAL (rh_sessions_close (sessions, pair [0]), -1);
    CU_ASSERT_EQUAL (rh_sessions_close (sessions, RH_MAX_SESSION_FD + 5), -1);
    close (pair [0]);
    close (pair [1]);
    rh_sessions_destroy (&sessions);
}

static void
test_handshakes_past_an_agencys_cap_are_refused_until_sessions_go (void)
{
    rh_sessions_t *sessions = rh_sessions_new (2, 1000, 3);
    int evict = 0;
    CU_ASSERT_TRUE (rh_sessions_admit (sessions, "health-abb", 0));
    CU_ASSERT_TRUE (rh_sessions_admit (sessions, "health-abb", 10));
    //  Two admitted and silent: a third is refused, another agency is not.
    CU_ASSERT_FALSE (rh_sessions_admit (sessions, "health-abb", 20));
    CU_ASSERT_TRUE (rh_sessions_admit (sessions, "police-gwent", 20));
    //  One speaks: it is a bound session now, still counted.
    rh_sessions_event (sessions, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, 30, 30);
    rh_sessions_frame (sessions, 30, "health-abb", 40, &evict);
    CU_ASSERT_FALSE (rh_sessions_admit (sessions, "health-abb", 50));
    //  The silent admission lapses after first_frame_ms; the bound one goes when it disconnects.
    CU_ASSERT_TRUE (rh_sessions_admit (sessions, "health-abb", 1100));
    CU_ASSERT_FALSE (rh_sessions_admit (sessions, "health-abb", 1100));
    rh_sessions_event (sessions, ZMQ_EVENT_DISCONNECTED, 30, 1200);
    CU_ASSERT_TRUE (rh_sessions_admit (sessions, "health-abb", 1200));
    rh_sessions_destroy (&sessions);
}

static void
test_a_session_remembers_the_key_it_authenticated_with (void)
{
    rh_sessions_t *sessions = rh_sessions_new (4, 1000, 3);
    CU_ASSERT_PTR_NOT_NULL_FATAL (sessions);
    uint8_t old_key [RH_PUBKEY_LEN], new_key [RH_PUBKEY_LEN];
    memset (old_key, 0x11, sizeof old_key);
    memset (new_key, 0x22, sizeof new_key);
    int evict = 0, fds [8];
    //  No key for a descriptor that is not a live session.
    rh_sessions_set_key (sessions, 9, old_key);
    CU_ASSERT_PTR_NULL (rh_sessions_key (sessions, 9));
    //  Two sessions of one agency, on its old and its new certificate's keys.
    rh_sessions_event (sessions, ZMQ_EVENT_ACCEPTED, 9, 0);
    CU_ASSERT_EQUAL (rh_sessions_frame (sessions, 9, "police-gwent", 1, &evict), RH_SESSION_KEEP);
    rh_sessions_set_key (sessions, 9, old_key);
    CU_ASSERT_EQUAL (rh_sessions_frame (sessions, 10, "police-gwent", 2, &evict), RH_SESSION_KEEP);
    rh_sessions_set_key (sessions, 10, new_key);
    CU_ASSERT_EQUAL (rh_sessions_frame (sessions, 11, "la-newport", 3, &evict), RH_SESSION_KEEP);
    CU_ASSERT_PTR_NOT_NULL_FATAL (rh_sessions_key (sessions, 9));
    CU_ASSERT_EQUAL (memcmp (rh_sessions_key (sessions, 9), old_key, RH_PUBKEY_LEN), 0);
    CU_ASSERT_EQUAL (memcmp (rh_sessions_key (sessions, 10), new_key, RH_PUBKEY_LEN), 0);
    CU_ASSERT_PTR_NULL (rh_sessions_key (sessions, 11));
    //  Every bound session is listed, until it is being closed.
    CU_ASSERT_EQUAL (rh_sessions_bound (sessions, fds, 8), 3);
    CU_ASSERT_EQUAL (rh_sessions_bound (sessions, fds, 1), 1);
    int pair [2];
    CU_ASSERT_FATAL (socketpair (AF_UNIX, SOCK_STREAM, 0, pair) == 0);
    CU_ASSERT_EQUAL (rh_sessions_frame (sessions, pair [0], "health-abb", 4, &evict),
                     RH_SESSION_KEEP);
    CU_ASSERT_EQUAL (rh_sessions_bound (sessions, fds, 8), 4);
    CU_ASSERT_EQUAL (rh_sessions_close (sessions, pair [0]), 0);
    CU_ASSERT_EQUAL (rh_sessions_bound (sessions, fds, 8), 3);
    //  A descriptor reused by a new connection does not inherit the old session's key.
    rh_sessions_event (sessions, ZMQ_EVENT_DISCONNECTED, 9, 5);
    CU_ASSERT_PTR_NULL (rh_sessions_key (sessions, 9));
    rh_sessions_event (sessions, ZMQ_EVENT_ACCEPTED, 9, 6);
    CU_ASSERT_PTR_NULL (rh_sessions_key (sessions, 9));
    close (pair [0]);
    close (pair [1]);
    rh_sessions_destroy (&sessions);
}

void
init_rh_sessions_tests (void)
{
    CU_pSuite suite = CU_add_suite ("rh_sessions", NULL, NULL);
    CU_add_test (suite, "a session is bound to its agency by its first frame",
                 test_a_session_is_bound_to_its_agency_by_its_first_frame);
    CU_add_test (suite, "a frame that overtakes the handshake event stays bound",
                 test_a_frame_that_overtakes_the_handshake_event_stays_bound);
    CU_add_test (suite, "an agency over its cap gives way with its least recently active session",
                 test_an_agency_over_its_cap_gives_way_with_its_least_recently_active_session);
    CU_add_test (suite, "malformed frames close a session at the limit",
                 test_malformed_frames_close_a_session_at_the_limit);
    CU_add_test (suite, "authenticated connections that stay silent are named",
                 test_authenticated_connections_that_stay_silent_are_named);
    CU_add_test (suite, "handshakes past an agency's cap are refused until sessions go",
                 test_handshakes_past_an_agencys_cap_are_refused_until_sessions_go);
    CU_add_test (suite, "a session remembers the key it authenticated with",
                 test_a_session_remembers_the_key_it_authenticated_with);
    CU_add_test (suite, "closing shuts down only a live session",
                 test_closing_shuts_down_only_a_live_session);
}
