/*  =========================================================================
    test_rh_backlog - submissions waiting for a verify worker's credit
    =========================================================================
*/
#include "test_helpers.h"
#include "rh_broker_classes.h"

static const uint8_t s_route [4] = { 0, 1, 2, 3 };

static void
test_submissions_wait_in_arrival_order (void)
{
    rh_backlog_t *backlog = rh_backlog_new (1000, 1000);
    CU_ASSERT_PTR_NOT_NULL_FATAL (backlog);
    CU_ASSERT_PTR_NULL (rh_backlog_peek (backlog));
    CU_ASSERT_EQUAL (
        rh_backlog_park (backlog, s_route, 4, "police-gwent", "m-1", (const uint8_t *) "abc", 3),
        0);
    CU_ASSERT_EQUAL (
        rh_backlog_park (backlog, s_route, 4, "health-abb", "m-2", (const uint8_t *) "defg", 4), 0);
    CU_ASSERT_EQUAL (rh_backlog_size (backlog), 2);
    CU_ASSERT_EQUAL (rh_backlog_bytes (backlog), 7);
    const rh_parked_t *first = rh_backlog_peek (backlog);
    CU_ASSERT_PTR_NOT_NULL_FATAL (first);
    CU_ASSERT_STRING_EQUAL (first->msg_id, "m-1");
    CU_ASSERT_STRING_EQUAL (first->agency, "police-gwent");
    CU_ASSERT_EQUAL (first->sealed_size, 3);
    CU_ASSERT_EQUAL (memcmp (first->sealed, "abc", 3), 0);
    CU_ASSERT_EQUAL (first->routing_id_size, 4);
    rh_backlog_pop (backlog);
    CU_ASSERT_STRING_EQUAL (rh_backlog_peek (backlog)->msg_id, "m-2");
    rh_backlog_pop (backlog);
    CU_ASSERT_PTR_NULL (rh_backlog_peek (backlog));
    CU_ASSERT_EQUAL (rh_backlog_bytes (backlog), 0);
    rh_backlog_pop (backlog);  //  on empty: nothing
    rh_backlog_destroy (&backlog);
    CU_ASSERT_PTR_NULL (backlog);
}

static void
test_one_agency_cannot_take_the_room_of_every_other (void)
{
    rh_backlog_t *backlog = rh_backlog_new (100, 40);
    uint8_t bytes [30] = { 0 };
    CU_ASSERT_EQUAL (rh_backlog_park (backlog, s_route, 4, "flooder", "f-1", bytes, 30), 0);
    //  A second 30 would put the flooder over its 40.
    CU_ASSERT_EQUAL (rh_backlog_park (backlog, s_route, 4, "flooder", "f-2", bytes, 30), -1);
    CU_ASSERT_EQUAL (rh_backlog_park (backlog, s_route, 4, "la-newport", "l-1", bytes, 30), 0);
    CU_ASSERT_EQUAL (rh_backlog_park (backlog, s_route, 4, "police-gwent", "p-1", bytes, 30), 0);
    //  Overall bound: 90 of 100 used.
    CU_ASSERT_EQUAL (rh_backlog_park (backlog, s_route, 4, "health-abb", "h-1", bytes, 30), -1);
    rh_backlog_pop (backlog);  //  the flooder's went to a worker: it has room again
    CU_ASSERT_EQUAL (rh_backlog_park (backlog, s_route, 4, "flooder", "f-2", bytes, 30), 0);
    rh_backlog_destroy (&backlog);  //  frees what is still parked (ASan checks)
}

static void
test_bad_sizes_from_the_network_are_refused (void)
{
    rh_backlog_t *backlog = rh_backlog_new (100, 100);
    uint8_t route [RH_MAX_ROUTING_ID + 1] = { 0 };
    char long_id [RH_MAX_ID + 2];
    memset (long_id, 'x', sizeof long_id - 1);
    long_id [sizeof long_id - 1] = 0;
    CU_ASSERT_EQUAL (rh_backlog_park (backlog, route, 0, "a", "m", NULL, 0), -1);
    CU_ASSERT_EQUAL (rh_backlog_park (backlog, route, sizeof route, "a", "m", NULL, 0), -1);
    CU_ASSERT_EQUAL (rh_backlog_park (backlog, route, 4, long_id, "m", NULL, 0), -1);
    CU_ASSERT_EQUAL (rh_backlog_park (backlog, route, 4, "a", long_id, NULL, 0), -1);
    CU_ASSERT_EQUAL (rh_backlog_park (backlog, route, 4, "a", "m", NULL, 0), 0);
    CU_ASSERT_EQUAL (rh_backlog_size (backlog), 1);
    rh_backlog_destroy (&backlog);
}

void
init_rh_backlog_tests (void)
{
    CU_pSuite suite = CU_add_suite ("rh_backlog", NULL, NULL);
    CU_add_test (suite, "submissions wait in arrival order",
                 test_submissions_wait_in_arrival_order);
    CU_add_test (suite, "one agency cannot take the room of every other",
                 test_one_agency_cannot_take_the_room_of_every_other);
    CU_add_test (suite, "bad sizes from the network are refused",
                 test_bad_sizes_from_the_network_are_refused);
}
