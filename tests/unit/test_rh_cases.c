/*  =========================================================================
    test_rh_cases - case records, the due-time index, the subject index,
    pseudonymous subject keys and the wording of notices
    =========================================================================
*/
#include "test_helpers.h"
#include "rh_policy.h"
#include "rhannu.pb-c.h"
#include "rh_cases.h"
#include "rh_notice.h"

static rh_db_t *
s_db (void)
{
    char dir [PATH_MAX];
    test_tempdir (dir, sizeof dir);
    rh_db_t *db = rh_db_open (dir);
    CU_ASSERT_FATAL (db != NULL);
    return db;
}

static void
s_case (rh_case_t *record, const char *id, const char *case_id)
{
    memset (record, 0, sizeof *record);
    snprintf (record->referral_msg_id, sizeof record->referral_msg_id, "%s", id);
    snprintf (record->case_id, sizeof record->case_id, "%s", case_id);
    snprintf (record->referrer, sizeof record->referrer, "police-gwent");
    snprintf (record->holder, sizeof record->holder, "la-newport");
    snprintf (record->holder_label, sizeof record->holder_label, "Newport IAA");
    record->state = RHANNU__V1__CASE_STATE__CASE_RECEIVED;
    record->received_ms = 1000;
}

static void
test_a_short_text_value_reads_back_and_a_bad_one_does_not (void)
{
    rh_db_t *db = s_db ();
    char text [RH_MAX_ID + 1];
    rh_db_put (db, "ka/a", 4, "pol-1", 5);
    rh_db_put (db, "ka/empty", 8, "", 0);
    char big [RH_MAX_ID + 1];
    memset (big, 'x', sizeof big);
    rh_db_put (db, "ka/big", 6, big, sizeof big);
    CU_ASSERT_EQUAL_FATAL (rh_db_commit (db, false), 0);
    CU_ASSERT_TRUE (rh_db_get_text (db, "ka/a", text, RH_MAX_ID));
    CU_ASSERT_STRING_EQUAL (text, "pol-1");
    CU_ASSERT_FALSE (rh_db_get_text (db, "ka/empty", text, RH_MAX_ID));
    CU_ASSERT_FALSE (rh_db_get_text (db, "ka/big", text, RH_MAX_ID));
    CU_ASSERT_FALSE (rh_db_get_text (db, "ka/none", text, RH_MAX_ID));
    rh_db_destroy (&db);
}

static void
test_round_trip (void)
{
    rh_db_t *db = s_db ();
    rh_cases_t *cases = rh_cases_new (db);
    CU_ASSERT_FATAL (cases != NULL);
    rh_case_t record, back;
    s_case (&record, "m-1", "GW-1");
    rh_cases_involve (&record, "police-gwent");
    rh_cases_involve (&record, "la-newport-eh");
    CU_ASSERT (rh_cases_involve (&record, "police-gwent"));  //  no duplicate
    CU_ASSERT (record.involved_count == 2);
    memset (record.subject_keys [0], 7, RH_SUBJECT_KEY_LEN);
    record.subject_count = 1;
    snprintf (record.open_alerts [0], sizeof record.open_alerts [0], "alert-1");
    record.open_alert_count = 1;
    record.decision = RHANNU__V1__DECISION__NO_FURTHER_ACTION;
    record.outcome_notice_sent = true;
    rh_cases_set_timer (cases, &record, RH_TIMER_OUTCOME, 5000);
    CU_ASSERT (rh_cases_put (cases, &record) == 0);
    //  Served from the cache before the commit...
    CU_ASSERT (rh_cases_get (cases, "m-1", &back));
    CU_ASSERT (!strcmp (back.case_id, "GW-1") && back.involved_count == 2);
    CU_ASSERT (rh_db_commit (db, true) == 0);
    //  ...and from storage by a fresh reader after it.
    rh_cases_t *fresh = rh_cases_new (db);
    CU_ASSERT_FATAL (fresh != NULL);
    memset (&back, 0, sizeof back);
    CU_ASSERT_FATAL (rh_cases_get (fresh, "m-1", &back));
    CU_ASSERT (!strcmp (back.holder_label, "Newport IAA"));
    CU_ASSERT (!strcmp (back.involved [1], "la-newport-eh"));
    CU_ASSERT (back.subject_count == 1 && back.subject_keys [0][31] == 7);
    CU_ASSERT (back.open_alert_count == 1 && !strcmp (back.open_alerts [0], "alert-1"));
    CU_ASSERT (back.decision == RHANNU__V1__DECISION__NO_FURTHER_ACTION);
    CU_ASSERT (back.outcome_notice_sent && back.timers [RH_TIMER_OUTCOME] == 5000);
    char referral [RH_MAX_ID + 1];
    CU_ASSERT (rh_cases_find (fresh, "la-newport", "GW-1", referral) && !strcmp (referral, "m-1"));
    CU_ASSERT (!rh_cases_find (fresh, "la-cardiff", "GW-1", referral));
    CU_ASSERT (!rh_cases_get (fresh, "m-2", &back));
    //  A record that does not decode is not a case.
    rh_db_put (db, "k/m-bad", 7, "\xff\xff\xff", 3);
    rh_db_commit (db, true);
    CU_ASSERT (!rh_cases_get (fresh, "m-bad", &back));
    rh_cases_destroy (&fresh);
    rh_cases_destroy (&cases);
    rh_db_destroy (&db);
}

//  The puts a prefix has had, from the handle's own count.
static uint64_t
s_puts (rh_db_t *db, const char *prefix)
{
    const rh_db_stats_t *stats = rh_db_stats (db);
    for (size_t i = 0; i < stats->prefix_count; i++)
        if (strcmp (stats->by_prefix [i].prefix, prefix) == 0)
            return stats->by_prefix [i].puts;
    return 0;
}

//  A case updated without a new holder or case id does not write its holder index again; a
//  transfer does, and the index finds the case under its new holder.
static void
test_the_holder_index_is_written_only_when_it_changes (void)
{
    rh_db_t *db = s_db ();
    rh_cases_t *cases = rh_cases_new (db);
    rh_case_t record;
    s_case (&record, "m-1", "GW-1");
    CU_ASSERT_EQUAL (rh_cases_put (cases, &record), 0);
    CU_ASSERT_EQUAL (s_puts (db, "kh/"), 1);
    record.state = RHANNU__V1__CASE_STATE__CASE_ACKNOWLEDGED;
    CU_ASSERT_EQUAL (rh_cases_put (cases, &record), 0);
    CU_ASSERT_EQUAL (s_puts (db, "kh/"), 1);
    CU_ASSERT_EQUAL (s_puts (db, "k/"), 2);
    snprintf (record.holder, sizeof record.holder, "la-cardiff");
    CU_ASSERT_EQUAL (rh_cases_put (cases, &record), 0);
    CU_ASSERT_EQUAL (s_puts (db, "kh/"), 2);
    CU_ASSERT_FATAL (rh_db_commit (db, true) == 0);
    rh_cases_t *fresh = rh_cases_new (db);  //  nothing cached: from the index
    char found [RH_MAX_ID + 1];
    CU_ASSERT (rh_cases_find (fresh, "la-cardiff", "GW-1", found) && !strcmp (found, "m-1"));
    rh_cases_destroy (&fresh);
    rh_cases_destroy (&cases);
    rh_db_destroy (&db);
}

//  The due-time index returns what is due, earliest first, and nothing replaced or cleared.
static void
test_due_index (void)
{
    rh_db_t *db = s_db ();
    rh_cases_t *cases = rh_cases_new (db);
    rh_case_t records [200];
    for (int i = 0; i < 200; i++) {
        char id [32];
        snprintf (id, sizeof id, "m-%03d", i);
        s_case (&records [i], id, "");
        //  Due times interleave across cases: 1000 + 7i mod 1400.
        rh_cases_set_timer (cases, &records [i], RH_TIMER_OUTCOME, 1000 + (i * 7) % 1400);
        rh_cases_set_timer (cases, &records [i], RH_TIMER_REMINDER, 500 + i);
        rh_cases_put (cases, &records [i]);
    }
    //  Replace one timer and clear another: neither old entry may come back.
    rh_cases_set_timer (cases, &records [3], RH_TIMER_OUTCOME, 99999);
    rh_cases_set_timer (cases, &records [4], RH_TIMER_REMINDER, 0);
    rh_cases_put (cases, &records [3]);
    rh_cases_put (cases, &records [4]);
    CU_ASSERT_FATAL (rh_db_commit (db, true) == 0);
    rh_due_t due [512];
    size_t found = rh_cases_due (cases, 499, due, 512);
    CU_ASSERT (found == 0);
    found = rh_cases_due (cases, 600, due, 512);
    CU_ASSERT (found == 100);  //  reminders 500..599, less the cleared one (504), plus none else
    size_t expect = 0;
    for (int i = 0; i < 200; i++)
        expect += (500 + i <= 600 && i != 4) + (1000 + (i * 7) % 1400 <= 600 && i != 3);
    CU_ASSERT (found == expect);
    found = rh_cases_due (cases, 1500, due, 512);
    expect = 0;
    for (int i = 0; i < 200; i++)
        expect += (i != 4) + (1000 + (i * 7) % 1400 <= 1500 && i != 3);
    CU_ASSERT (found == expect);
    bool ordered = true, stale = false;
    for (size_t i = 0; i < found; i++) {
        ordered = ordered && (i == 0 || due [i - 1].due_ms <= due [i].due_ms);
        stale =
            stale
            || (!strcmp (due [i].referral_msg_id, "m-003") && due [i].timer == RH_TIMER_OUTCOME)
            || (!strcmp (due [i].referral_msg_id, "m-004") && due [i].timer == RH_TIMER_REMINDER);
    }
    CU_ASSERT (ordered);
    CU_ASSERT (!stale);
    //  max bounds the answer; dropping an entry removes it.
    CU_ASSERT (rh_cases_due (cases, 1500, due, 10) == 10);
    rh_cases_drop_due (cases, &due [0]);
    rh_db_commit (db, true);
    rh_due_t again [1];
    CU_ASSERT (rh_cases_due (cases, 1500, again, 1) == 1);
    CU_ASSERT (strcmp (again [0].referral_msg_id, due [0].referral_msg_id) != 0
               || again [0].timer != due [0].timer);
    //  Once nothing is due the index is not read again until the next due time (or a timer set
    //  since): the look is cheap however long the history.
    for (size_t i = 0; i < found; i++)
        rh_cases_drop_due (cases, &due [i]);
    rh_db_commit (db, true);
    CU_ASSERT (rh_cases_due (cases, 1500, due, 512) == 0);
    //  Seen by writing behind its back: a key it was not told of is not found before the next
    //  due time it knows...
    const char *hidden = "d/00000000000004b0/m-hidden/1";  //  due 1200
    rh_db_put (db, hidden, strlen (hidden), "", 0);
    rh_db_commit (db, true);
    CU_ASSERT (rh_cases_due (cases, 1500, due, 512) == 0);
    found = rh_cases_due (cases, 200000, due, 512);
    bool seen = false;
    for (size_t i = 0; i < found; i++)
        seen = seen || !strcmp (due [i].referral_msg_id, "m-hidden");
    CU_ASSERT (seen);
    //  ...and a timer set since makes it look at once.
    for (size_t i = 0; i < found; i++)
        rh_cases_drop_due (cases, &due [i]);
    rh_db_commit (db, true);
    CU_ASSERT (rh_cases_due (cases, 200000, due, 512) == 0);
    rh_cases_set_timer (cases, &records [10], RH_TIMER_REMINDER, 150000);
    rh_cases_put (cases, &records [10]);
    rh_db_commit (db, true);
    CU_ASSERT (rh_cases_due (cases, 200000, due, 512) == 1);
    rh_cases_destroy (&cases);
    rh_db_destroy (&db);
}

static void
test_subject_index (void)
{
    rh_db_t *db = s_db ();
    rh_cases_t *cases = rh_cases_new (db);
    uint8_t key [RH_SUBJECT_KEY_LEN], other [RH_SUBJECT_KEY_LEN];
    memset (key, 1, sizeof key);
    memset (other, 2, sizeof other);
    rh_cases_note_subject (cases, key, 3000, "m-c", RH_SUBJECT_PENDING);
    rh_cases_note_subject (cases, key, 1000, "m-a", RH_SUBJECT_BELOW_THRESHOLD);
    rh_cases_note_subject (cases, key, 2000, "m-b", RH_SUBJECT_OTHER);
    rh_cases_note_subject (cases, other, 1500, "m-x", RH_SUBJECT_BELOW_THRESHOLD);
    rh_db_commit (db, true);
    rh_subject_entry_t entries [8];
    size_t found = rh_cases_subject_history (cases, key, 0, entries, 8);
    CU_ASSERT_FATAL (found == 3);
    CU_ASSERT (!strcmp (entries [0].referral_msg_id, "m-a") && entries [0].received_ms == 1000);
    CU_ASSERT (entries [0].state == RH_SUBJECT_BELOW_THRESHOLD);
    CU_ASSERT (!strcmp (entries [2].referral_msg_id, "m-c"));
    CU_ASSERT (rh_cases_subject_history (cases, key, 1500, entries, 8) == 2);
    //  An outcome rewrites the state in place.
    rh_cases_note_subject (cases, key, 3000, "m-c", RH_SUBJECT_BELOW_THRESHOLD);
    rh_db_commit (db, true);
    found = rh_cases_subject_history (cases, key, 2500, entries, 8);
    CU_ASSERT (found == 1 && entries [0].state == RH_SUBJECT_BELOW_THRESHOLD);
    rh_cases_destroy (&cases);
    rh_db_destroy (&db);
}

//  --- Subject keys --------------------------------------------------------------------------

static void
test_subject_keys (void)
{
    char a [256], b [256], c [256];
    CU_ASSERT (rh_subject_identity ("", "Si\xc3\xa2n  JONES-Evans", "2015-06-01", a, sizeof a)
               == 0);
    CU_ASSERT (rh_subject_identity (NULL, "Evans, Sian Jones", "2015-06-01", b, sizeof b) == 0);
    CU_ASSERT_STRING_EQUAL (a, "person:evans jones sian|2015-06-01");
    CU_ASSERT_STRING_EQUAL (a, b);
    //  Welsh circumflexes, upper or lower case.
    CU_ASSERT (rh_subject_identity ("", "\xc5\xb4YN \xc5\xb5yn", "2001-01-01", c, sizeof c) == 0);
    CU_ASSERT_STRING_EQUAL (c, "person:wyn wyn|2001-01-01");
    //  An NHS number wins over names, written any way.
    CU_ASSERT (rh_subject_identity ("943 476 5919", "Anyone", "2000-01-01", c, sizeof c) == 0);
    CU_ASSERT_STRING_EQUAL (c, "nhs:9434765919");
    //  Not enough to go on.
    CU_ASSERT (rh_subject_identity ("12345", "Sian", "", c, sizeof c) == -1);
    CU_ASSERT (rh_subject_identity ("", "", "2015-06-01", c, sizeof c) == -1);
    CU_ASSERT (rh_subject_identity ("", "--", "2015-06-01", c, sizeof c) == -1);
    uint8_t secret [RH_SUBJECT_KEY_LEN], second [RH_SUBJECT_KEY_LEN];
    memset (secret, 0x11, sizeof secret);
    memset (second, 0x22, sizeof second);
    uint8_t k1 [32], k2 [32], k3 [32];
    rh_subject_key (secret, a, k1);
    rh_subject_key (secret, b, k2);
    rh_subject_key (second, a, k3);
    CU_ASSERT (memcmp (k1, k2, 32) == 0);
    CU_ASSERT (memcmp (k1, k3, 32) != 0);  //  another region's secret, another key
    //  Secrets: 64 hex digits in a 0600 file.
    char dir [PATH_MAX], path [PATH_MAX];
    test_tempdir (dir, sizeof dir);
    rh_file_path (path, sizeof path, "%s/region.key", dir);
    const char *hex = "1111111111111111111111111111111111111111111111111111111111111111\n";
    CU_ASSERT_FATAL (rh_file_write_atomic (path, hex, strlen (hex), 0600) == 0);
    uint8_t loaded [RH_SUBJECT_KEY_LEN];
    CU_ASSERT (rh_subject_load_secret (path, loaded) == 0 && memcmp (loaded, secret, 32) == 0);
    chmod (path, 0644);
    CU_ASSERT (rh_subject_load_secret (path, loaded) == -1);
    CU_ASSERT_FATAL (rh_file_write_atomic (path, "abc\n", 4, 0600) == 0);
    CU_ASSERT (rh_subject_load_secret (path, loaded) == -1);
    //  The spool mapper keys people, not places or unknown identities.
    const char *json = "{\"kind\": \"REFERRAL\", \"to\": [{\"front_door_la\": \"newport\"}], "
                       "\"body\": {\"subjects\": ["
                       "{\"kind\": \"CHILD\", \"name\": \"Sian Jones-Evans\", \"date_of_birth\": "
                       "\"2015-06-01\"},"
                       "{\"kind\": \"PLACE\", \"name\": \"The Elms\", \"date_of_birth\": "
                       "\"2015-06-01\"},"
                       "{\"kind\": \"ADULT\", \"identity_unknown\": true, \"name\": \"X Y\", "
                       "\"date_of_birth\": \"1990-01-01\"}]}}";
    char error [256];
    rh_envelope_t *envelope = rh_json_to_envelope_keyed ((const uint8_t *) json, strlen (json),
                                                         secret, error, sizeof error);
    CU_ASSERT_FATAL (envelope != NULL);
    rh_signer_t *signer = test_signer (test_pki ()->pki, "police-gwent");
    CU_ASSERT_FATAL (signer && rh_envelope_sign (envelope, signer) == 0);
    rh_facts_t facts;
    rh_policy_facts (envelope, &facts);
    CU_ASSERT (facts.subject_key_count == 1);
    CU_ASSERT (facts.subject_key_count == 1 && memcmp (facts.subject_keys [0], k1, 32) == 0);
    rh_envelope_destroy (&envelope);
    rh_signer_destroy (&signer);
}

static void
test_notice_wording (void)
{
    rh_case_t record;
    s_case (&record, "m-1", "GW-1");
    char text [512];
    rh_notice_summary (&record, RHANNU__V1__NOTICE_KIND__NOTICE_OUTCOME,
                       RHANNU__V1__DECISION__STEP_DOWN_EARLY_HELP, 0, "en", text, sizeof text);
    CU_ASSERT_STRING_EQUAL (text,
                            "Newport IAA decided on referral GW-1: stepped down to early help.");
    rh_notice_summary (&record, RHANNU__V1__NOTICE_KIND__NOTICE_OUTCOME,
                       RHANNU__V1__DECISION__STEP_DOWN_EARLY_HELP, 0, "cy", text, sizeof text);
    CU_ASSERT_STRING_EQUAL (text, "Mae Newport IAA wedi penderfynu ar yr atgyfeiriad GW-1: camu i "
                                  "lawr i gymorth cynnar.");
    rh_notice_summary (&record, RHANNU__V1__NOTICE_KIND__NOTICE_UPDATE, 0,
                       RHANNU__V1__UPDATE_KIND__WORKER_CHANGED, "en", text, sizeof text);
    CU_ASSERT_STRING_EQUAL (text, "Update from Newport IAA on referral GW-1: the allocated worker "
                                  "changed.");
    //  Every decision and update has its own wording in both languages.
    const ProtobufCEnumDescriptor *enums [] = { &rhannu__v1__decision__descriptor,
                                                &rhannu__v1__update_kind__descriptor };
    for (int e = 0; e < 2; e++)
        for (unsigned i = 0; i < enums [e]->n_values; i++) {
            int value = enums [e]->values [i].value;
            if (value == 0)
                continue;
            uint32_t kind = e ? RHANNU__V1__NOTICE_KIND__NOTICE_UPDATE
                              : RHANNU__V1__NOTICE_KIND__NOTICE_OUTCOME;
            rh_notice_summary (&record, kind, e ? 0 : (uint32_t) value, e ? (uint32_t) value : 0,
                               "en", text, sizeof text);
            CU_ASSERT (strstr (text, "an update") == NULL);
            rh_notice_summary (&record, kind, e ? 0 : (uint32_t) value, e ? (uint32_t) value : 0,
                               "cy", text, sizeof text);
            CU_ASSERT (strstr (text, "diweddariad.") == NULL);
        }
}

void
init_rh_cases_tests (void)
{
    CU_pSuite suite = CU_add_suite ("rh_cases", NULL, NULL);
    CU_add_test (suite, "case records round trip, cached before commit", test_round_trip);
    CU_add_test (suite, "a short text value reads back and a bad one does not",
                 test_a_short_text_value_reads_back_and_a_bad_one_does_not);
    CU_add_test (suite, "the due-time index", test_due_index);
    CU_add_test (suite, "the holder index is written only when it changes",
                 test_the_holder_index_is_written_only_when_it_changes);
    CU_add_test (suite, "the subject index", test_subject_index);
    CU_add_test (suite, "pseudonymous subject keys", test_subject_keys);
    CU_add_test (suite, "notice wording in English and Welsh", test_notice_wording);
}
