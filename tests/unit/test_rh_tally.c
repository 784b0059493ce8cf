/*  =========================================================================
    test_rh_tally - refusals counted for summary audit records
    =========================================================================
*/
#include "test_helpers.h"
#include "rh_broker_classes.h"

typedef struct {
    rh_tally_entry_t entries [8];
    char peers [8][RH_MAX_PEER + 1];
    size_t count;
} s_seen_t;

static void
s_collect (void *arg, const rh_tally_entry_t *entry)
{
    s_seen_t *seen = arg;
    if (seen->count >= 8)
        return;
    seen->entries [seen->count] = *entry;
    snprintf (seen->peers [seen->count], sizeof seen->peers [0], "%s", entry->peer);
    seen->entries [seen->count].peer = seen->peers [seen->count];
    seen->count++;
}

static void
test_events_are_counted_per_event_result_and_peer (void)
{
    rh_tally_t *tally = rh_tally_new (4);
    CU_ASSERT_PTR_NOT_NULL_FATAL (tally);
    rh_tally_add (tally, "HANDSHAKE_REFUSED", RH_E_CERT_UNKNOWN, "key-a", 100);
    rh_tally_add (tally, "HANDSHAKE_REFUSED", RH_E_CERT_UNKNOWN, "key-a", 200);
    rh_tally_add (tally, "HANDSHAKE_REFUSED", RH_E_REVOKED, "key-a", 250);
    rh_tally_add (tally, "MALFORMED", RH_E_MALFORMED, "police-gwent", 300);
    CU_ASSERT_EQUAL (rh_tally_pending (tally), 4);
    s_seen_t seen = { .count = 0 };
    CU_ASSERT_EQUAL (rh_tally_drain (tally, s_collect, &seen), 3);
    CU_ASSERT_EQUAL_FATAL (seen.count, 3);
    CU_ASSERT_STRING_EQUAL (seen.entries [0].event, "HANDSHAKE_REFUSED");
    CU_ASSERT_STRING_EQUAL (seen.entries [0].peer, "key-a");
    CU_ASSERT_EQUAL (seen.entries [0].count, 2);
    CU_ASSERT_EQUAL (seen.entries [0].first_ms, 100);
    CU_ASSERT_EQUAL (seen.entries [0].last_ms, 200);
    CU_ASSERT_EQUAL (seen.entries [1].rc, RH_E_REVOKED);
    CU_ASSERT_STRING_EQUAL (seen.entries [2].peer, "police-gwent");
    //  Drained: the next interval starts empty.
    CU_ASSERT_EQUAL (rh_tally_pending (tally), 0);
    seen.count = 0;
    CU_ASSERT_EQUAL (rh_tally_drain (tally, s_collect, &seen), 0);
    rh_tally_destroy (&tally);
    CU_ASSERT_PTR_NULL (tally);
}

static void
test_more_peers_than_the_table_holds_share_one_entry (void)
{
    rh_tally_t *tally = rh_tally_new (2);
    char peer [32];
    for (int i = 0; i < 1000; i++) {
        snprintf (peer, sizeof peer, "key-%d", i);
        rh_tally_add (tally, "HANDSHAKE_REFUSED", RH_E_CERT_UNKNOWN, peer, i);
    }
    s_seen_t seen = { .count = 0 };
    CU_ASSERT_EQUAL (rh_tally_drain (tally, s_collect, &seen), 3);
    CU_ASSERT_STRING_EQUAL (seen.entries [0].peer, "key-0");
    CU_ASSERT_STRING_EQUAL (seen.entries [1].peer, "key-1");
    CU_ASSERT_STRING_EQUAL (seen.entries [2].peer, RH_TALLY_OTHERS);
    CU_ASSERT_EQUAL (seen.entries [2].count, 998);
    CU_ASSERT_EQUAL (seen.entries [2].first_ms, 2);
    CU_ASSERT_EQUAL (seen.entries [2].last_ms, 999);
    rh_tally_destroy (&tally);
}

static void
test_a_long_or_missing_peer_name_is_kept_bounded (void)
{
    rh_tally_t *tally = rh_tally_new (2);
    char peer [300];
    memset (peer, 'k', sizeof peer - 1);
    peer [sizeof peer - 1] = 0;
    rh_tally_add (tally, "MALFORMED", RH_E_MALFORMED, peer, 1);
    rh_tally_add (tally, "MALFORMED", RH_E_MALFORMED, NULL, 2);
    s_seen_t seen = { .count = 0 };
    CU_ASSERT_EQUAL (rh_tally_drain (tally, s_collect, &seen), 2);
    CU_ASSERT_EQUAL (strlen (seen.entries [0].peer), RH_MAX_PEER);
    CU_ASSERT_STRING_EQUAL (seen.entries [1].peer, "-");
    rh_tally_destroy (&tally);
}

void
init_rh_tally_tests (void)
{
    CU_pSuite suite = CU_add_suite ("rh_tally", NULL, NULL);
    CU_add_test (suite, "events are counted per event, result and peer",
                 test_events_are_counted_per_event_result_and_peer);
    CU_add_test (suite, "more peers than the table holds share one entry",
                 test_more_peers_than_the_table_holds_share_one_entry);
    CU_add_test (suite, "a long or missing peer name is kept bounded",
                 test_a_long_or_missing_peer_name_is_kept_bounded);
}
