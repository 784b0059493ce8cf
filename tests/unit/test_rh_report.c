/*  =========================================================================
    test_rh_report - the board report's figures, CSV files and HTML page
    =========================================================================
*/
#include "test_helpers.h"
#include "rh_broker_classes.h"

//  A message signed by sender, encoded as the broker stores it. The caller frees *data.
static void
s_sealed (const char *sender, const char *json, uint8_t **data, size_t *size)
{
    char error [256] = "";
    rh_envelope_t *envelope =
        rh_json_to_envelope ((const uint8_t *) json, strlen (json), error, sizeof error);
    CU_ASSERT_PTR_NOT_NULL_FATAL (envelope);
    rh_signer_t *signer = test_signer (test_pki ()->pki, sender);
    CU_ASSERT_FATAL (signer && rh_envelope_sign (envelope, signer) == 0);
    CU_ASSERT_FATAL (rh_envelope_encode (envelope, data, size) == 0);
    rh_signer_destroy (&signer);
    rh_envelope_destroy (&envelope);
}

//  Appends an ACCEPTED record of a message from sender to recipient.
static void
s_accepted (rh_audit_t *audit, const char *msg_id, const char *sender, const char *recipient,
            const char *json)
{
    uint8_t *sealed = NULL;
    size_t size = 0;
    s_sealed (sender, json, &sealed, &size);
    const char *recipients [] = { recipient };
    rh_audit_record_t record = { .event = "ACCEPTED",
                                 .code = "RH_OK",
                                 .msg_id = msg_id,
                                 .agency = sender,
                                 .recipients = recipients,
                                 .recipient_count = 1,
                                 .sealed = sealed,
                                 .sealed_size = size };
    CU_ASSERT_EQUAL (rh_audit_append (audit, &record), 0);
    free (sealed);
}

//  An agreement version as the broker keeps it: a signature's room, then the file.
static void
s_keep_agreement (rh_db_t *db, const char *yaml)
{
    size_t size = RH_SIG_LEN + strlen (yaml);
    uint8_t *value = calloc (1, size);
    CU_ASSERT_PTR_NOT_NULL_FATAL (value);
    memcpy (value + RH_SIG_LEN, yaml, strlen (yaml));
    const char *key = "g/TEST-REPORT/0000000001";
    rh_db_put (db, key, strlen (key), value, size);
    free (value);
}

//  A new database in a fresh folder (dir).
static rh_db_t *
s_db (char *dir, size_t size)
{
    test_tempdir (dir, size);
    rh_db_t *db = rh_db_open (dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL (db);
    return db;
}

//  The integer figure name, or its member (a breakdown's entry).
static json_int_t
s_figure (rh_report_t *report, const char *name, const char *member)
{
    const json_t *value = json_object_get (rh_report_figures (report), name);
    if (member)
        value = json_object_get (value, member);
    return json_integer_value (value);
}

static void
test_a_report_counts_referrals_outcomes_refusals_and_areas_from_the_log (void)
{
    char dir [PATH_MAX];
    rh_db_t *db = s_db (dir, sizeof dir);
    rh_audit_t *audit = rh_audit_new (db);
    CU_ASSERT_PTR_NOT_NULL_FATAL (audit);
    s_accepted (audit, "pol-1", "police-gwent", "la-newport",
                "{\"kind\": \"REFERRAL\", \"msg_id\": \"pol-1\", \"case_id\": \"GW-1\","
                " \"purpose\": \"SAFEGUARDING_CHILD\", \"to\": [{\"agency_id\": \"la-newport\"}],"
                " \"author\": {\"practitioner_id\": \"PC-1\", \"supervisor_id\": \"DS-9\"},"
                " \"body\": {\"referral_kind\": \"PPN\", \"categories\": [\"NEGLECT\"]}}");
    s_accepted (audit, "la-1", "la-newport", "police-gwent",
                "{\"kind\": \"OUTCOME\", \"msg_id\": \"la-1\", \"in_reply_to\": \"pol-1\","
                " \"case_id\": \"N-7\", \"purpose\": \"REFERRER_FEEDBACK\","
                " \"body\": {\"decision\": \"NO_FURTHER_ACTION\"}}");
    //  A refusal, by its rule.
    rh_audit_decision_t refused = { .recipient = "health-abb",
                                    .agreement_id = "TEST-REPORT",
                                    .agreement_version = 1,
                                    .rule_id = "R9",
                                    .missing_condition = "" };
    rh_audit_record_t rejected = { .event = "REJECTED",
                                   .code = "RH_E_POLICY",
                                   .msg_id = "pol-2",
                                   .agency = "police-gwent",
                                   .decisions = &refused,
                                   .decision_count = 1 };
    CU_ASSERT_EQUAL (rh_audit_append (audit, &rejected), 0);
    //  A message erased since (personal data): counted, not read.
    s_accepted (audit, "pol-3", "police-gwent", "la-newport",
                "{\"kind\": \"REFERRAL\", \"msg_id\": \"pol-3\", \"case_id\": \"GW-3\","
                " \"purpose\": \"SAFEGUARDING_CHILD\", \"to\": [{\"agency_id\": \"la-newport\"}],"
                " \"author\": {\"practitioner_id\": \"PC-1\", \"supervisor_id\": \"DS-9\"},"
                " \"body\": {\"referral_kind\": \"PPN\", \"categories\": [\"NEGLECT\"]}}");
    s_keep_agreement (db,
                      "id: TEST-REPORT\nlocal_authorities: [newport, torfaen, vale-of-glamorgan]\n"
                      "parties:\n  - {id: la-newport, label: \"Newport <IAA> & \\\"co\\\", 'x'\"}\n"
                      "rules:\n  - {id: R9, description: 'nothing <else> & \"more\"'}\n");
    CU_ASSERT_EQUAL_FATAL (rh_db_commit (db, true), 0);
    rh_db_delete (db, "ap/00000000000000000003", 23);
    CU_ASSERT_EQUAL_FATAL (rh_db_commit (db, true), 0);

    //  Deleted by hand, with no ERASURE record (rhannu-broker erase writes them): the log does
    //  not verify, and rhannu-audit makes no report of it; the report itself still counts it.
    rh_audit_check_t check;
    CU_ASSERT_EQUAL (rh_audit_verify (db, NULL, &check), RH_E_MALFORMED);
    CU_ASSERT_EQUAL (check.bad, 3);
    check.count = 4;
    rh_report_scope_t scope = { .board = "Gwent <Board> & \"Co\"", .now_ms = rh_time_now_ms () };
    rh_report_t *report = rh_report_new (db, &check, &scope);
    CU_ASSERT_PTR_NOT_NULL_FATAL (report);
    CU_ASSERT_EQUAL (s_figure (report, "log", "records"), 4);
    CU_ASSERT_EQUAL (s_figure (report, "referrals", NULL), 1);
    CU_ASSERT_EQUAL (s_figure (report, "decided", NULL), 1);
    CU_ASSERT_EQUAL (s_figure (report, "refusals", NULL), 1);
    CU_ASSERT_EQUAL (s_figure (report, "messages_erased", NULL), 1);
    const json_t *rule = json_object_get (
        json_object_get (rh_report_figures (report), "refusals_by_rule"), "TEST-REPORT/R9");
    CU_ASSERT_EQUAL (json_integer_value (json_object_get (rule, "count")), 1);
    //  The rule's own sentence comes from the agreement the broker kept.
    CU_ASSERT_STRING_EQUAL (json_string_value (json_object_get (rule, "description")),
                            "nothing <else> & \"more\"");
    CU_ASSERT_EQUAL (s_figure (report, "by_referral_kind", "PPN"), 1);
    CU_ASSERT_EQUAL (s_figure (report, "by_referrer", "police-gwent"), 1);
    CU_ASSERT_EQUAL (s_figure (report, "outcomes_by_referrer", "police-gwent"), 0);
    CU_ASSERT_EQUAL (
        json_integer_value (json_object_get (
            json_object_get (json_object_get (rh_report_figures (report), "outcomes_by_referrer"),
                             "police-gwent"),
            "nfa")),
        1);
    //  Labels from the agreement, the id where it gives none.
    const json_t *labels = json_object_get (rh_report_figures (report), "labels");
    CU_ASSERT_STRING_EQUAL (json_string_value (json_object_get (labels, "la-newport")),
                            "Newport <IAA> & \"co\", 'x'");
    CU_ASSERT_STRING_EQUAL (json_string_value (json_object_get (labels, "police-gwent")),
                            "police-gwent");
    CU_ASSERT_EQUAL (s_figure (report, "referrers_told", NULL), 1);
    CU_ASSERT_EQUAL (s_figure (report, "by_category", "NEGLECT"), 1);
    CU_ASSERT_EQUAL (s_figure (report, "decisions", "NO_FURTHER_ACTION"), 1);
    CU_ASSERT_EQUAL (
        json_integer_value (json_object_get (
            json_object_get (json_object_get (rh_report_figures (report), "time_to_outcome_days"),
                             "0-1"),
            "no_deadline")),
        1);
    //  Areas the agreement covers are listed even with no referral from them.
    const json_t *areas = json_object_get (rh_report_figures (report), "by_local_authority");
    CU_ASSERT_PTR_NOT_NULL (json_object_get (areas, "torfaen"));
    CU_ASSERT_EQUAL (s_figure (report, "by_local_authority", "torfaen"), 0);
    const json_t *names = json_object_get (rh_report_figures (report), "area_names");
    CU_ASSERT_STRING_EQUAL (json_string_value (json_object_get (names, "vale-of-glamorgan")),
                            "Vale of Glamorgan");
    CU_ASSERT_EQUAL (s_figure (report, "by_local_authority", "(not given)"), 1);
    double nfa = json_real_value (json_object_get (
        json_object_get (json_object_get (rh_report_figures (report), "outcomes_by_referrer"),
                         "police-gwent"),
        "nfa_percent"));
    CU_ASSERT_DOUBLE_EQUAL (nfa, 100.0, 0.001);
    //  No deadline was set: no percentage of outcomes within one (null, not 0).
    CU_ASSERT_TRUE (json_is_null (json_object_get (
        json_object_get (json_object_get (rh_report_figures (report), "aaa"), "assurance"),
        "within_deadline_percent")));

    //  The same figures as JSON, CSV files and an HTML page.
    char text [32768] = "";
    FILE *out = fmemopen (text, sizeof text - 1, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL (out);
    rh_report_print (report, out);
    fclose (out);
    CU_ASSERT_PTR_NOT_NULL (strstr (text, "\"referrals\": 1,"));
    char csv [PATH_MAX], path [PATH_MAX];
    rh_file_path (csv, sizeof csv, "%s/csv", dir);
    CU_ASSERT_EQUAL (rh_report_csv_write (rh_report_figures (report), csv), 0);
    rh_file_path (path, sizeof path, "%s/by_local_authority.csv", csv);
    uint8_t *data = NULL;
    size_t size = 0;
    CU_ASSERT_FATAL (rh_file_read (path, 1 << 20, &data, &size) == 0);
    CU_ASSERT_PTR_NOT_NULL (memmem (data, size, "torfaen,Torfaen,0\r\n", 19));
    free (data);
    //  A label with a comma and quotes is quoted, its quotes doubled (RFC 4180).
    rh_file_path (path, sizeof path, "%s/refusals_by_rule.csv", csv);
    CU_ASSERT_FATAL (rh_file_read (path, 1 << 20, &data, &size) == 0);
    const char *quoted = "TEST-REPORT,R9,\"nothing <else> & \"\"more\"\"\",1\r\n";
    CU_ASSERT_PTR_NOT_NULL (memmem (data, size, quoted, strlen (quoted)));
    free (data);
    rh_file_path (path, sizeof path, "%s/report.html", dir);
    CU_ASSERT_EQUAL (rh_report_html_write (rh_report_figures (report), "en", path), 0);
    CU_ASSERT_FATAL (rh_file_read (path, 1 << 20, &data, &size) == 0);
    CU_ASSERT_PTR_NOT_NULL (memmem (data, size, "<svg class=\"trend\"", 18));
    //  Everything from outside is escaped: the board's name and the rule's sentence.
    const char *board = "Gwent &lt;Board&gt; &amp; &quot;Co&quot;";
    CU_ASSERT_PTR_NOT_NULL (memmem (data, size, board, strlen (board)));
    const char *sentence = "nothing &lt;else&gt; &amp; &quot;more&quot;";
    CU_ASSERT_PTR_NOT_NULL (memmem (data, size, sentence, strlen (sentence)));
    CU_ASSERT_PTR_NULL (memmem (data, size, "<Board>", 7));
    //  One outcome, no deadline: no "0 % within deadline".
    CU_ASSERT_PTR_NOT_NULL (memmem (data, size, "No outcomes in the period", 25));
    free (data);
    rh_file_path (path, sizeof path, "%s/report-cy.html", dir);
    CU_ASSERT_EQUAL (rh_report_html_write (rh_report_figures (report), "cy", path), 0);
    CU_ASSERT_FATAL (rh_file_read (path, 1 << 20, &data, &size) == 0);
    CU_ASSERT_PTR_NOT_NULL (memmem (data, size, "Adroddiad y Bwrdd Diogelu", 25));
    CU_ASSERT_PTR_NOT_NULL (memmem (data, size, "<html lang=\"cy\">", 16));
    free (data);
    rh_file_path (path, sizeof path, "%s/no-such-folder/report.html", dir);
    CU_ASSERT_EQUAL (rh_report_html_write (rh_report_figures (report), "en", path), -1);

    rh_report_destroy (&report);
    CU_ASSERT_PTR_NULL (report);
    rh_report_destroy (&report);  //  idempotent
    rh_audit_destroy (&audit);
    rh_db_destroy (&db);
}

static void
test_a_report_of_an_empty_log_counts_nothing (void)
{
    char dir [PATH_MAX];
    rh_db_t *db = s_db (dir, sizeof dir);
    rh_audit_check_t check;
    CU_ASSERT_EQUAL_FATAL (rh_audit_verify (db, NULL, &check), RH_OK);
    rh_report_scope_t scope = { .now_ms = rh_time_now_ms () };
    rh_report_t *report = rh_report_new (db, &check, &scope);
    CU_ASSERT_PTR_NOT_NULL_FATAL (report);
    CU_ASSERT_EQUAL (s_figure (report, "referrals", NULL), 0);
    CU_ASSERT_EQUAL (
        json_object_size (json_object_get (rh_report_figures (report), "by_referral_kind")), 0);
    //  Every section says in words that it has nothing to show.
    char page [32768] = "";
    FILE *out = fmemopen (page, sizeof page - 1, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL (out);
    rh_report_html_print (rh_report_figures (report), "en", out);
    fclose (out);
    CU_ASSERT_PTR_NOT_NULL (strstr (page, "No referrals were received in the period."));
    CU_ASSERT_PTR_NOT_NULL (strstr (page, "No outcomes in the period."));
    CU_ASSERT_PTR_NOT_NULL (strstr (page, "No repeat-referral alerts in the period."));
    CU_ASSERT_PTR_NOT_NULL (strstr (page, "No deadline was breached in the period."));
    CU_ASSERT_PTR_NOT_NULL (strstr (page, "No message was refused in the period."));
    CU_ASSERT_PTR_NOT_NULL (strstr (page, "No professional challenge was raised in the period."));
    CU_ASSERT_PTR_NULL (strstr (page, "Not recorded by this version"));
    CU_ASSERT_PTR_NULL (strstr (page, "the referrer was sent"));
    CU_ASSERT_PTR_NULL (strstr (page, "within their deadline ("));
    CU_ASSERT_PTR_NULL (strstr (page, "(0%)"));
    //  An empty log proves nothing: the report does not call it verified.
    CU_ASSERT_TRUE (json_is_false (
        json_object_get (json_object_get (rh_report_figures (report), "log"), "verified")));
    rh_report_destroy (&report);
    rh_db_destroy (&db);
}

static void
test_every_text_has_english_and_welsh (void)
{
    for (int id = 0; id < RH_T_COUNT; id++) {
        CU_ASSERT (*rh_report_text ("en", (rh_report_text_id_t) id) != 0);
        CU_ASSERT (*rh_report_text ("cy", (rh_report_text_id_t) id) != 0);
    }
    CU_ASSERT_STRING_EQUAL (rh_report_text ("cy", RH_T_AAA),
                            "Rhybuddion, Sicrwydd a Chyflawniadau");
    CU_ASSERT_STRING_EQUAL (rh_report_text_month ("cy", 2), "Chwe");
    CU_ASSERT_STRING_EQUAL (rh_report_text_kind ("en", "PPN"), "Police PPN");
    CU_ASSERT_STRING_EQUAL (rh_report_text_kind ("en", "NEW_KIND"), "NEW_KIND");
    CU_ASSERT_FALSE (rh_report_text_has ("fr"));
    int64_t ms = 0;
    CU_ASSERT_EQUAL (rh_report_parse_day ("2025-04-01", &ms), 0);
    CU_ASSERT_EQUAL (ms, 1743465600000LL);
    CU_ASSERT_EQUAL (rh_report_parse_day ("2025-04-01x", &ms), -1);
    CU_ASSERT_EQUAL (rh_report_parse_day ("April", &ms), -1);
}

static void
test_csv_fields_are_quoted_as_rfc_4180_says (void)
{
    char text [256] = "";
    FILE *out = fmemopen (text, sizeof text - 1, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL (out);
    rh_report_csv_field (out, "plain");
    fputc ('|', out);
    rh_report_csv_field (out, "a,b");
    fputc ('|', out);
    rh_report_csv_field (out, "say \"hi\"");
    fputc ('|', out);
    rh_report_csv_field (out, "two\nlines");
    fclose (out);
    CU_ASSERT_STRING_EQUAL (text, "plain|\"a,b\"|\"say \"\"hi\"\"\"|\"two\nlines\"");
}

void
init_rh_report_tests (void)
{
    CU_pSuite suite = CU_add_suite ("rh_report", NULL, NULL);
    CU_add_test (suite, "a report counts referrals, outcomes, refusals and areas from the log",
                 test_a_report_counts_referrals_outcomes_refusals_and_areas_from_the_log);
    CU_add_test (suite, "a report of an empty log counts nothing",
                 test_a_report_of_an_empty_log_counts_nothing);
    CU_add_test (suite, "every text has English and Welsh", test_every_text_has_english_and_welsh);
    CU_add_test (suite, "CSV fields are quoted as RFC 4180 says",
                 test_csv_fields_are_quoted_as_rfc_4180_says);
}
