/*  =========================================================================
    test_rh_brokers - the agent's list of brokers (broker/endpoints) and
    when it moves to the next one
    =========================================================================
*/
#include "test_helpers.h"
#include "rh_brokers.h"

#define ONE     "tcp://127.0.0.1:5670"
#define DEAD_MS 3000

static rh_brokers_t *
s_parse (const char *list, char *error)
{
    return rh_brokers_new (list, ONE, "broker", DEAD_MS, error, 200);
}

static void
test_brokers_lists_each_endpoint_with_its_identity (void)
{
    char error [200] = "";
    rh_brokers_t *brokers =
        s_parse ("tcp://10.0.0.1:5670 tcp://10.0.0.2:5670=broker-b,ipc:///run/rhannu.sock", error);
    CU_ASSERT_PTR_NOT_NULL_FATAL (brokers);
    CU_ASSERT_EQUAL (rh_brokers_size (brokers), 3);
    CU_ASSERT_EQUAL (rh_brokers_current (brokers), 0);
    CU_ASSERT_STRING_EQUAL (rh_brokers_endpoint (brokers, 0), "tcp://10.0.0.1:5670");
    CU_ASSERT_STRING_EQUAL (rh_brokers_identity (brokers, 0), "broker");
    CU_ASSERT_STRING_EQUAL (rh_brokers_endpoint (brokers, 1), "tcp://10.0.0.2:5670");
    CU_ASSERT_STRING_EQUAL (rh_brokers_identity (brokers, 1), "broker-b");
    CU_ASSERT_STRING_EQUAL (rh_brokers_endpoint (brokers, 2), "ipc:///run/rhannu.sock");
    CU_ASSERT_STRING_EQUAL (rh_brokers_identity (brokers, 2), "broker");
    rh_brokers_destroy (&brokers);
    CU_ASSERT_PTR_NULL (brokers);
    rh_brokers_destroy (&brokers);
}

static void
test_brokers_without_a_list_is_the_one_broker_of_broker_endpoint (void)
{
    char error [200] = "";
    rh_brokers_t *brokers = s_parse ("", error);
    CU_ASSERT_PTR_NOT_NULL_FATAL (brokers);
    CU_ASSERT_EQUAL (rh_brokers_size (brokers), 1);
    CU_ASSERT_STRING_EQUAL (rh_brokers_endpoint (brokers, 0), ONE);
    CU_ASSERT_STRING_EQUAL (rh_brokers_identity (brokers, 0), "broker");
    rh_brokers_destroy (&brokers);
    //  Separators alone are no list either.
    brokers = s_parse (" , \t", error);
    CU_ASSERT_PTR_NOT_NULL_FATAL (brokers);
    CU_ASSERT_EQUAL (rh_brokers_size (brokers), 1);
    CU_ASSERT_STRING_EQUAL (rh_brokers_endpoint (brokers, 0), ONE);
    rh_brokers_destroy (&brokers);
}

static void
test_brokers_refuses_malformed_lists_saying_why (void)
{
    char error [200] = "";
    CU_ASSERT_PTR_NULL (s_parse ("127.0.0.1:5670", error));
    CU_ASSERT_PTR_NOT_NULL (strstr (error, "entry 1 is not an endpoint"));
    CU_ASSERT_PTR_NULL (s_parse (ONE " tcp://", error));
    CU_ASSERT_PTR_NOT_NULL (strstr (error, "entry 2 is not an endpoint"));
    CU_ASSERT_PTR_NULL (s_parse ("://x", error));
    CU_ASSERT_PTR_NULL (s_parse (ONE "=", error));
    CU_ASSERT_PTR_NOT_NULL (strstr (error, "names no identity"));
    CU_ASSERT_PTR_NULL (s_parse (ONE "=a=b", error));
    CU_ASSERT_PTR_NULL (s_parse ("=broker", error));
    CU_ASSERT_PTR_NULL (s_parse (ONE " " ONE "=other", error));
    CU_ASSERT_PTR_NOT_NULL (strstr (error, "listed twice"));
    char list [4096] = "";
    for (int i = 0; i <= RH_MAX_BROKERS; i++)
        snprintf (list + strlen (list), sizeof list - strlen (list), "tcp://10.0.0.%d:1 ", i);
    CU_ASSERT_PTR_NULL (s_parse (list, error));
    CU_ASSERT_PTR_NOT_NULL (strstr (error, "at most"));
    //  RH_MAX_BROKERS exactly is fine.
    *strrchr (list, 't') = 0;
    rh_brokers_t *brokers = s_parse (list, error);
    CU_ASSERT_PTR_NOT_NULL_FATAL (brokers);
    CU_ASSERT_EQUAL (rh_brokers_size (brokers), RH_MAX_BROKERS);
    rh_brokers_destroy (&brokers);
    //  An endpoint or identity past its limit.
    char endpoint [RH_MAX_ENDPOINT + 16] = "tcp://";
    memset (endpoint + 6, 'h', RH_MAX_ENDPOINT);
    endpoint [RH_MAX_ENDPOINT + 6] = 0;
    CU_ASSERT_PTR_NULL (s_parse (endpoint, error));
    CU_ASSERT_PTR_NOT_NULL (strstr (error, "longer than"));
    char named [RH_MAX_ID + 64];
    snprintf (named, sizeof named, ONE "=%0*d", RH_MAX_ID + 1, 7);
    CU_ASSERT_PTR_NULL (s_parse (named, error));
    snprintf (named, sizeof named, ONE "=%0*d", RH_MAX_ID, 7);
    brokers = s_parse (named, error);
    CU_ASSERT_PTR_NOT_NULL (brokers);
    rh_brokers_destroy (&brokers);
}

static void
test_brokers_moves_at_once_when_a_link_that_was_up_is_lost (void)
{
    char error [200] = "";
    rh_brokers_t *brokers = s_parse ("tcp://a:1 tcp://b:1", error);
    CU_ASSERT_PTR_NOT_NULL_FATAL (brokers);
    CU_ASSERT_FALSE (rh_brokers_should_move (brokers, false, 1000));  //  connecting
    CU_ASSERT_FALSE (rh_brokers_should_move (brokers, true, 1200));
    CU_ASSERT_FALSE (rh_brokers_should_move (brokers, true, 900000));  //  up stays put
    CU_ASSERT_TRUE (rh_brokers_should_move (brokers, false, 900100));  //  lost
    CU_ASSERT_EQUAL (rh_brokers_move (brokers, 900100), 1);
    CU_ASSERT_EQUAL (rh_brokers_current (brokers), 1);
    CU_ASSERT_EQUAL (rh_brokers_moves (brokers), 1);
    //  The next one gets dead_after_ms to let us in...
    CU_ASSERT_FALSE (rh_brokers_should_move (brokers, false, 900200));
    CU_ASSERT_FALSE (rh_brokers_should_move (brokers, false, 900100 + DEAD_MS - 1));
    CU_ASSERT_TRUE (rh_brokers_should_move (brokers, false, 900100 + DEAD_MS));
    //  ...and round the list.
    CU_ASSERT_EQUAL (rh_brokers_move (brokers, 903100), 0);
    CU_ASSERT_EQUAL (rh_brokers_moves (brokers), 2);
    rh_brokers_destroy (&brokers);
}

static void
test_brokers_gives_a_broker_that_never_lets_us_in_dead_after_ms (void)
{
    char error [200] = "";
    rh_brokers_t *brokers = s_parse ("tcp://a:1,tcp://b:1", error);
    CU_ASSERT_PTR_NOT_NULL_FATAL (brokers);
    CU_ASSERT_FALSE (rh_brokers_should_move (brokers, false, 5000));
    CU_ASSERT_FALSE (rh_brokers_should_move (brokers, false, 5000 + DEAD_MS - 1));
    CU_ASSERT_TRUE (rh_brokers_should_move (brokers, false, 5000 + DEAD_MS));
    //  Up again restarts the count.
    CU_ASSERT_FALSE (rh_brokers_should_move (brokers, true, 9000));
    rh_brokers_destroy (&brokers);
}

static void
test_brokers_with_one_broker_never_moves (void)
{
    char error [200] = "";
    rh_brokers_t *brokers = s_parse ("", error);
    CU_ASSERT_PTR_NOT_NULL_FATAL (brokers);
    CU_ASSERT_FALSE (rh_brokers_should_move (brokers, true, 1000));
    CU_ASSERT_FALSE (rh_brokers_should_move (brokers, false, 2000));
    CU_ASSERT_FALSE (rh_brokers_should_move (brokers, false, 2000 + 10 * DEAD_MS));
    CU_ASSERT_EQUAL (rh_brokers_moves (brokers), 0);
    rh_brokers_destroy (&brokers);
}

void
init_rh_brokers_tests (void)
{
    CU_pSuite suite = CU_add_suite ("rh_brokers", NULL, NULL);
    CU_add_test (suite, "brokers lists each endpoint with its identity",
                 test_brokers_lists_each_endpoint_with_its_identity);
    CU_add_test (suite, "brokers without a list is the one broker of broker/endpoint",
                 test_brokers_without_a_list_is_the_one_broker_of_broker_endpoint);
    CU_add_test (suite, "brokers refuses malformed lists, saying why",
                 test_brokers_refuses_malformed_lists_saying_why);
    CU_add_test (suite, "brokers moves at once when a link that was up is lost",
                 test_brokers_moves_at_once_when_a_link_that_was_up_is_lost);
    CU_add_test (suite, "brokers gives a broker that never lets us in dead_after_ms",
                 test_brokers_gives_a_broker_that_never_lets_us_in_dead_after_ms);
    CU_add_test (suite, "brokers with one broker never moves",
                 test_brokers_with_one_broker_never_moves);
}
