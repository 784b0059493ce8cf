/*  =========================================================================
    test_rh_logreader - reading a committed audit log, record by record
    =========================================================================
*/
#include "test_helpers.h"
#include "rh_broker_classes.h"

//  A log of four records: one with a signed message, one whose message is erased, one with
//  bytes that are not a message, one with no message at all.
static rh_db_t *
s_log (char *dir, size_t size)
{
    test_tempdir (dir, size);
    rh_db_t *db = rh_db_open (dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL (db);
    rh_audit_t *audit = rh_audit_new (db);
    CU_ASSERT_PTR_NOT_NULL_FATAL (audit);
    const char *json = "{\"kind\": \"STATUS_UPDATE\", \"msg_id\": \"la-2\", \"in_reply_to\": "
                       "\"pol-1\", \"purpose\": \"REFERRER_FEEDBACK\", \"body\": "
                       "{\"update_kind\": \"CLOSED\"}}";
    char error [256] = "";
    rh_envelope_t *envelope =
        rh_json_to_envelope ((const uint8_t *) json, strlen (json), error, sizeof error);
    rh_signer_t *signer = test_signer (test_pki ()->pki, "la-newport");
    uint8_t *sealed = NULL;
    size_t sealed_size = 0;
    CU_ASSERT_FATAL (envelope && signer && rh_envelope_sign (envelope, signer) == 0
                     && rh_envelope_encode (envelope, &sealed, &sealed_size) == 0);
    const char *events [] = { "ACCEPTED", "ACCEPTED", "ACCEPTED", "ACKED" };
    for (int i = 0; i < 4; i++) {
        rh_audit_record_t record = { .event = events [i], .code = "RH_OK", .msg_id = "la-2" };
        if (i < 2) {
            record.sealed = sealed;
            record.sealed_size = sealed_size;
        }
        if (i == 2) {
            record.sealed = (const uint8_t *) "not a message";
            record.sealed_size = 13;
        }
        CU_ASSERT_EQUAL (rh_audit_append (audit, &record), 0);
    }
    CU_ASSERT_EQUAL_FATAL (rh_db_commit (db, true), 0);
    rh_db_delete (db, "ap/00000000000000000001", 23);
    CU_ASSERT_EQUAL_FATAL (rh_db_commit (db, true), 0);
    free (sealed);
    rh_signer_destroy (&signer);
    rh_envelope_destroy (&envelope);
    rh_audit_destroy (&audit);
    return db;
}

static void
test_a_reader_walks_the_log_in_order_with_each_message_while_it_is_kept (void)
{
    char dir [PATH_MAX];
    rh_db_t *db = s_log (dir, sizeof dir);
    rh_logreader_t *reader = rh_logreader_new (db);
    CU_ASSERT_PTR_NOT_NULL_FATAL (reader);
    const rh_audit_record_t *record = rh_logreader_next (reader);
    CU_ASSERT_FATAL (record && record->seq == 0);
    rh_envelope_t *message = rh_logreader_message (reader);
    CU_ASSERT_FATAL (message != NULL);
    CU_ASSERT_STRING_EQUAL (rh_envelope_msg_id (message), "la-2");
    CU_ASSERT_FALSE (rh_logreader_erased (reader));
    record = rh_logreader_next (reader);
    CU_ASSERT_FATAL (record && record->seq == 1);
    CU_ASSERT_PTR_NULL (rh_logreader_message (reader));
    CU_ASSERT_TRUE (rh_logreader_erased (reader));
    record = rh_logreader_next (reader);
    CU_ASSERT_FATAL (record && record->seq == 2);
    CU_ASSERT_PTR_NULL (rh_logreader_message (reader));  //  stored, but not a message
    CU_ASSERT_FALSE (rh_logreader_erased (reader));
    //  Reading by number does not lose the walk's place.
    record = rh_logreader_read (reader, 0);
    CU_ASSERT_FATAL (record && record->seq == 0);
    CU_ASSERT_PTR_NOT_NULL (rh_logreader_message (reader));
    CU_ASSERT_PTR_NULL (rh_logreader_read (reader, 99));
    CU_ASSERT_PTR_NULL (rh_logreader_message (reader));
    record = rh_logreader_next (reader);
    CU_ASSERT_FATAL (record && record->seq == 3);
    CU_ASSERT_STRING_EQUAL (record->event, "ACKED");
    CU_ASSERT_FALSE (rh_logreader_erased (reader));  //  no message was ever named
    CU_ASSERT_PTR_NULL (rh_logreader_next (reader));
    CU_ASSERT_PTR_NULL (rh_logreader_next (reader));
    CU_ASSERT_PTR_NULL (rh_logreader_error (reader));  //  everything was read
    rh_logreader_destroy (&reader);
    CU_ASSERT_PTR_NULL (reader);
    rh_logreader_destroy (&reader);
    rh_db_destroy (&db);
}

static void
test_a_record_that_does_not_decode_is_passed_over (void)
{
    char dir [PATH_MAX];
    rh_db_t *db = s_log (dir, sizeof dir);
    rh_db_put (db, "a/00000000000000000001", 22, "garbage", 7);
    CU_ASSERT_EQUAL_FATAL (rh_db_commit (db, true), 0);
    rh_logreader_t *reader = rh_logreader_new (db);
    CU_ASSERT_PTR_NOT_NULL_FATAL (reader);
    CU_ASSERT_EQUAL (rh_logreader_next (reader)->seq, 0);
    CU_ASSERT_PTR_NULL (rh_logreader_error (reader));
    CU_ASSERT_EQUAL (rh_logreader_next (reader)->seq, 2);
    //  Passed over, not silently: the tools that walk the log check this at the end.
    CU_ASSERT_PTR_NOT_NULL (rh_logreader_error (reader));
    CU_ASSERT_PTR_NOT_NULL (strstr (rh_logreader_error (reader), "record 1 does not decode"));
    CU_ASSERT_PTR_NULL (rh_logreader_read (reader, 1));
    rh_logreader_destroy (&reader);
    rh_db_destroy (&db);
}

void
init_rh_logreader_tests (void)
{
    CU_pSuite suite = CU_add_suite ("rh_logreader", NULL, NULL);
    CU_add_test (suite, "a reader walks the log in order with each message while it is kept",
                 test_a_reader_walks_the_log_in_order_with_each_message_while_it_is_kept);
    CU_add_test (suite, "a record that does not decode is passed over",
                 test_a_record_that_does_not_decode_is_passed_over);
}
