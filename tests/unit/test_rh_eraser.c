/*  =========================================================================
    test_rh_eraser - ERASURE records, the eraser, and what verification makes
    of a missing message
    =========================================================================
*/
#include "test_helpers.h"
#include "rh_broker_classes.h"

//  Appends a record with a message stored apart (its payload). Returns its seq.
static uint64_t
s_message (rh_audit_t *audit, const char *msg_id, const char *bytes)
{
    rh_audit_record_t record = { .event = "ACCEPTED",
                                 .code = "RH_OK",
                                 .msg_id = msg_id,
                                 .sealed = (const uint8_t *) bytes,
                                 .sealed_size = strlen (bytes) };
    CU_ASSERT_EQUAL (rh_audit_append (audit, &record), 0);
    return record.seq;
}

static int s_outcomes [4];

static void
s_count (void *arg, uint64_t seq, const char *msg_id, rh_erase_outcome_t outcome, const char *why)
{
    (void) arg, (void) seq, (void) msg_id, (void) why;
    s_outcomes [outcome]++;
}

static uint64_t s_erased_by [8];

static void
s_erased (void *arg, uint64_t seq, uint64_t by)
{
    (void) arg;
    if (seq < 8)
        s_erased_by [seq] = by;
}

static void
test_erase_then_verify_reports_the_erasure (void)
{
    char dir [PATH_MAX];
    test_tempdir (dir, sizeof dir);
    rh_db_t *db = rh_db_open (dir);
    rh_audit_t *audit = db ? rh_audit_new (db) : NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL (audit);
    uint64_t first = s_message (audit, "m1", "first message");
    uint64_t second = s_message (audit, "m2", "second message");
    CU_ASSERT_EQUAL (rh_db_commit (db, true), 0);
    rh_eraser_t *eraser = rh_eraser_new (db, audit, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL (eraser);
    CU_ASSERT_EQUAL (rh_eraser_add_message (eraser, "m1"), 1);
    CU_ASSERT_EQUAL (rh_eraser_add_message (eraser, "nobody"), 0);
    CU_ASSERT_EQUAL (rh_eraser_add_subject (eraser, "not a key"), -1);
    //  An unknown reason is refused before anything is written.
    CU_ASSERT_EQUAL (rh_eraser_run (eraser, "BECAUSE", "me", NULL, NULL, NULL), -1);
    CU_ASSERT_EQUAL (rh_audit_size (audit), 2);
    memset (s_outcomes, 0, sizeof s_outcomes);
    CU_ASSERT_EQUAL (
        rh_eraser_run (eraser, RH_ERASURE_RIGHT_TO_ERASURE, "DPO ref 1", NULL, s_count, NULL), 1);
    CU_ASSERT_EQUAL (s_outcomes [RH_ERASE_ERASED], 1);
    rh_eraser_destroy (&eraser);
    CU_ASSERT_FALSE (rh_db_has (db, "ap/00000000000000000000", 23));
    CU_ASSERT_TRUE (rh_db_has (db, "ap/00000000000000000001", 23));
    //  The ERASURE record (seq 2) names the first message; verify says so.
    rh_audit_check_t check;
    memset (s_erased_by, 0, sizeof s_erased_by);
    rh_audit_hooks_t hooks = { .erased = s_erased };
    CU_ASSERT_EQUAL (rh_audit_verify_hooked (db, NULL, &check, &hooks), RH_OK);
    CU_ASSERT_EQUAL (check.erased, 1);
    CU_ASSERT_EQUAL (check.messages, 1);
    CU_ASSERT_EQUAL (s_erased_by [first], 2);
    //  An ERASURE record naming a message still stored (a run stopped between its commit and
    //  the deletion) is accepted: the message is checked as any other, and not counted erased.
    uint64_t third = s_message (audit, "m3", "third message");
    uint8_t third_sha [RH_DIGEST_LEN];
    rh_sha256 (third_sha, "third message", 13);
    rh_erased_t pending = { .seq = third, .msg_id = "m3", .payload_sha256 = third_sha };
    rh_audit_record_t unfinished = { .event = "ERASURE",
                                     .code = "RH_OK",
                                     .erasure_reason = RH_ERASURE_RETENTION,
                                     .erasure_authority = "schedule",
                                     .erased = &pending,
                                     .erased_count = 1 };
    CU_ASSERT_EQUAL (rh_audit_append (audit, &unfinished), 0);
    CU_ASSERT_EQUAL (rh_db_commit (db, true), 0);
    CU_ASSERT_EQUAL (rh_audit_verify (db, NULL, &check), RH_OK);
    CU_ASSERT_EQUAL (check.erased, 1);
    CU_ASSERT_EQUAL (check.messages, 2);
    //  The second message deleted without an erasure: damage, named by its record.
    rh_db_delete (db, "ap/00000000000000000001", 23);
    CU_ASSERT_EQUAL (rh_db_commit (db, true), 0);
    CU_ASSERT_EQUAL (rh_audit_verify (db, NULL, &check), RH_E_MALFORMED);
    CU_ASSERT_EQUAL (check.bad, second);
    CU_ASSERT_PTR_NOT_NULL (strstr (check.reason, "missing: damaged"));
    //  An erasure record that names it with another commitment covers nothing.
    uint8_t wrong [RH_DIGEST_LEN] = { 1 };
    rh_erased_t named = { .seq = second, .msg_id = "m2", .payload_sha256 = wrong };
    rh_audit_record_t forged = { .event = "ERASURE",
                                 .code = "RH_OK",
                                 .erasure_reason = RH_ERASURE_COURT_ORDER,
                                 .erasure_authority = "nobody",
                                 .erased = &named,
                                 .erased_count = 1 };
    CU_ASSERT_EQUAL (rh_audit_append (audit, &forged), 0);
    CU_ASSERT_EQUAL (rh_db_commit (db, true), 0);
    CU_ASSERT_EQUAL (rh_audit_verify (db, NULL, &check), RH_E_MALFORMED);
    CU_ASSERT_EQUAL (check.bad, second);
    rh_audit_destroy (&audit);
    rh_db_destroy (&db);
}

static void
test_a_message_still_owed_is_refused (void)
{
    char dir [PATH_MAX];
    test_tempdir (dir, sizeof dir);
    rh_db_t *db = rh_db_open (dir);
    rh_audit_t *audit = db ? rh_audit_new (db) : NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL (audit);
    uint64_t seq = s_message (audit, "m1", "owed message");
    //  Queued for la-newport by reference to its payload, not yet delivered.
    rh_queued_t queued = { .msg_id = "m1", .sender = "police-gwent", .payload_leaf = seq + 1 };
    size_t size = 0;
    uint8_t *bytes = rh_record_encode_queued (&queued, &size);
    CU_ASSERT_PTR_NOT_NULL_FATAL (bytes);
    rh_db_put (db, "q/la-newport/00000000000000000001", 32, bytes, size);
    free (bytes);
    CU_ASSERT_EQUAL (rh_db_commit (db, true), 0);
    rh_eraser_t *eraser = rh_eraser_new (db, audit, NULL);
    CU_ASSERT_EQUAL (rh_eraser_add_message (eraser, "m1"), 1);
    memset (s_outcomes, 0, sizeof s_outcomes);
    CU_ASSERT_EQUAL (rh_eraser_run (eraser, RH_ERASURE_RETENTION, "schedule", NULL, s_count, NULL),
                     0);
    CU_ASSERT_EQUAL (s_outcomes [RH_ERASE_OWED], 1);
    CU_ASSERT_TRUE (rh_db_has (db, "ap/00000000000000000000", 23));
    CU_ASSERT_EQUAL (rh_audit_size (audit), 1);  //  nothing erased, nothing recorded
    rh_eraser_destroy (&eraser);
    CU_ASSERT_STRING_EQUAL (rh_eraser_outcome_name (RH_ERASE_OWED), "owed");
    //  An ERASURE record cannot erase what came after it.
    uint8_t sha [RH_DIGEST_LEN] = { 2 };
    rh_erased_t later = { .seq = 5, .msg_id = "m9", .payload_sha256 = sha };
    rh_audit_record_t impossible = { .event = "ERASURE",
                                     .code = "RH_OK",
                                     .erasure_reason = RH_ERASURE_COURT_ORDER,
                                     .erasure_authority = "nobody",
                                     .erased = &later,
                                     .erased_count = 1 };
    CU_ASSERT_EQUAL (rh_audit_append (audit, &impossible), 0);
    CU_ASSERT_EQUAL (rh_db_commit (db, true), 0);
    rh_audit_check_t check;
    CU_ASSERT_EQUAL (rh_audit_verify (db, NULL, &check), RH_E_MALFORMED);
    CU_ASSERT_EQUAL (check.bad, 1);
    CU_ASSERT_PTR_NOT_NULL (strstr (check.reason, "names a record that comes after it"));
    rh_audit_destroy (&audit);
    rh_db_destroy (&db);
}

//  The record codec: what an ERASURE record carries comes back, and what breaks its rules is
//  refused as malformed (a disk can be edited).
static void
test_an_erasure_record_encodes_and_decodes (void)
{
    uint8_t sha [2][RH_DIGEST_LEN];
    memset (sha [0], 0xab, RH_DIGEST_LEN);
    memset (sha [1], 0xcd, RH_DIGEST_LEN);
    rh_erased_t erased [2] = { { .seq = 4, .msg_id = "m4", .payload_sha256 = sha [0] },
                               { .seq = 9, .msg_id = "m9", .payload_sha256 = sha [1] } };
    rh_audit_record_t record = { .seq = 12,
                                 .event = "ERASURE",
                                 .code = "RH_OK",
                                 .erasure_reason = RH_ERASURE_COURT_ORDER,
                                 .erasure_authority = "Cardiff Family Court",
                                 .erased = erased,
                                 .erased_count = 2 };
    size_t size = 0;
    uint8_t *bytes = rh_record_encode_audit (&record, &size);
    CU_ASSERT_PTR_NOT_NULL_FATAL (bytes);
    rh_audit_record_t back;
    CU_ASSERT_EQUAL_FATAL (rh_record_decode_audit (bytes, size, &back), RH_OK);
    CU_ASSERT_STRING_EQUAL (back.erasure_reason, RH_ERASURE_COURT_ORDER);
    CU_ASSERT_STRING_EQUAL (back.erasure_authority, "Cardiff Family Court");
    CU_ASSERT_EQUAL (back.erased_count, 2);
    rh_erased_t one;
    CU_ASSERT (rh_record_erased (&back, 1, &one) && one.seq == 9 && !strcmp (one.msg_id, "m9")
               && !memcmp (one.payload_sha256, sha [1], RH_DIGEST_LEN));
    CU_ASSERT_FALSE (rh_record_erased (&back, 2, &one));
    rh_record_release (&back.owned);
    free (bytes);
    //  An erasure without a known reason does not decode.
    record.erasure_reason = "TIDYING";
    bytes = rh_record_encode_audit (&record, &size);
    CU_ASSERT_EQUAL (rh_record_decode_audit (bytes, size, &back), RH_E_MALFORMED);
    free (bytes);
    //  Nor one naming more than the limit, which the encoder refuses too.
    record.erasure_reason = RH_ERASURE_RETENTION;
    record.erased_count = RH_MAX_ERASED + 1;
    CU_ASSERT_PTR_NULL (rh_record_encode_audit (&record, &size));
    //  A commitment cut short does not decode. The erased list is the last field (17), so its
    //  one entry ends the bytes: ... 8a 01 <40> 08 04 12 02 'm' '4' 1a <32> sha.
    record.erased_count = 1;
    bytes = rh_record_encode_audit (&record, &size);
    uint8_t *at = bytes + size - RH_DIGEST_LEN;
    CU_ASSERT_FATAL (!memcmp (at, sha [0], RH_DIGEST_LEN) && at [-1] == RH_DIGEST_LEN
                     && at [-9] == 40);
    at [-1] -= 1;
    at [-9] -= 1;
    CU_ASSERT_EQUAL (rh_record_decode_audit (bytes, size - 1, &back), RH_E_MALFORMED);
    at [-1] += 1;
    at [-9] += 1;
    CU_ASSERT_EQUAL (rh_record_decode_audit (bytes, size, &back), RH_OK);  //  the control
    rh_record_release (&back.owned);
    free (bytes);
    CU_ASSERT_FALSE (rh_record_erasure_reason_valid (NULL));
    CU_ASSERT_TRUE (rh_record_erasure_reason_valid (RH_ERASURE_RIGHT_TO_ERASURE));
}

void
init_rh_eraser_tests (void)
{
    CU_pSuite suite = CU_add_suite ("rh_eraser", NULL, NULL);
    CU_add_test (suite, "erase, then verify reports the erasure; damage and forged ones fail",
                 test_erase_then_verify_reports_the_erasure);
    CU_add_test (suite, "a message still owed to a recipient is refused",
                 test_a_message_still_owed_is_refused);
    CU_add_test (suite, "an erasure record encodes and decodes, and is checked",
                 test_an_erasure_record_encodes_and_decodes);
}
