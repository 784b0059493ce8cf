/*  =========================================================================
    test_rh_frame - transport frames and storage records
    =========================================================================
*/
#include "test_helpers.h"
#include "rhannu.pb-c.h"

static rh_frame_t
s_round_trip (const rh_frame_t *frame)
{
    size_t size = 0;
    uint8_t *bytes = rh_frame_encode (frame, &size);
    rh_frame_t decoded;
    CU_ASSERT_EQUAL (rh_frame_decode (bytes, size, &decoded), RH_OK);
    free (bytes);
    return decoded;
}

static void
test_every_frame_type_round_trips (void)
{
    rh_frame_t hello = { .type = RH_FRAME_HELLO, .credit = 500 };
    rh_frame_t got = s_round_trip (&hello);
    CU_ASSERT_EQUAL (got.type, RH_FRAME_HELLO);
    CU_ASSERT_EQUAL (got.credit, 500);
    rh_frame_release (&got);

    rh_frame_t submit = { .type = RH_FRAME_SUBMIT,
                          .msg_id = "m-1",
                          .sealed = (const uint8_t *) "abc",
                          .sealed_size = 3 };
    got = s_round_trip (&submit);
    CU_ASSERT_EQUAL (got.type, RH_FRAME_SUBMIT);
    CU_ASSERT_STRING_EQUAL (got.msg_id, "m-1");
    CU_ASSERT_EQUAL (got.sealed_size, 3);
    CU_ASSERT_EQUAL (memcmp (got.sealed, "abc", 3), 0);
    rh_frame_release (&got);

    rh_frame_t accepted = { .type = RH_FRAME_ACCEPTED, .msg_id = "m-2", .duplicate = true };
    got = s_round_trip (&accepted);
    CU_ASSERT_EQUAL (got.type, RH_FRAME_ACCEPTED);
    CU_ASSERT_TRUE (got.duplicate);
    rh_frame_release (&got);

    rh_frame_t rejected = { .type = RH_FRAME_REJECTED,
                            .msg_id = "m-3",
                            .code = "RH_E_SIG",
                            .reason = "signature does not verify" };
    got = s_round_trip (&rejected);
    CU_ASSERT_STRING_EQUAL (got.code, "RH_E_SIG");
    CU_ASSERT_STRING_EQUAL (got.reason, "signature does not verify");
    rh_frame_release (&got);

    rh_frame_t deliver = { .type = RH_FRAME_DELIVER,
                           .delivery_id = 77,
                           .sealed = (const uint8_t *) "x",
                           .sealed_size = 1 };
    got = s_round_trip (&deliver);
    CU_ASSERT_EQUAL (got.delivery_id, 77);
    rh_frame_release (&got);

    uint64_t ids [] = { 1, 2, 99 };
    rh_frame_t delivered = { .type = RH_FRAME_DELIVERED, .ids = ids, .id_count = 3 };
    got = s_round_trip (&delivered);
    CU_ASSERT_EQUAL (got.id_count, 3);
    CU_ASSERT_EQUAL (got.ids [2], 99);
    rh_frame_release (&got);
    rh_frame_release (&got);  //  releasing twice is harmless

    rh_frame_t checkpoint = { .type = RH_FRAME_CHECKPOINT,
                              .checkpoint = { .size = 1234, .time_ms = 1700000000000 } };
    memset (checkpoint.checkpoint.root, 0x11, RH_DIGEST_LEN);
    memset (checkpoint.checkpoint.signature, 0x22, RH_SIG_LEN);
    memset (checkpoint.checkpoint.signer_sha256, 0x33, RH_DIGEST_LEN);
    got = s_round_trip (&checkpoint);
    CU_ASSERT (got.type == RH_FRAME_CHECKPOINT && got.checkpoint.size == 1234);
    CU_ASSERT (memcmp (&got.checkpoint, &checkpoint.checkpoint, sizeof got.checkpoint) == 0);
    rh_frame_release (&got);
    rh_frame_t request = { .type = RH_FRAME_PROOF_REQUEST, .from_size = 10, .to_size = 20 };
    got = s_round_trip (&request);
    CU_ASSERT (got.type == RH_FRAME_PROOF_REQUEST && got.from_size == 10 && got.to_size == 20);
    rh_frame_release (&got);
    uint8_t hashes [3][RH_DIGEST_LEN];
    memset (hashes, 0x44, sizeof hashes);
    rh_frame_t proof = { .type = RH_FRAME_PROOF,
                         .from_size = 10,
                         .to_size = 20,
                         .hashes = (const uint8_t *) hashes,
                         .hash_count = 3 };
    got = s_round_trip (&proof);
    CU_ASSERT (got.type == RH_FRAME_PROOF && got.hash_count == 3);
    CU_ASSERT (got.hashes && memcmp (got.hashes, hashes, sizeof hashes) == 0);
    rh_frame_release (&got);

    rh_frame_t bundle = { .type = RH_FRAME_BUNDLE,
                          .sealed = (const uint8_t *) "bundle",
                          .sealed_size = 6 };
    got = s_round_trip (&bundle);
    CU_ASSERT (got.type == RH_FRAME_BUNDLE && got.sealed_size == 6);
    CU_ASSERT (got.sealed && memcmp (got.sealed, "bundle", 6) == 0);
    rh_frame_release (&got);
    rh_frame_t unverified = { .type = RH_FRAME_UNVERIFIED,
                              .delivery_id = 42,
                              .code = "RH_E_CERT_UNKNOWN",
                              .reason = "sender not in our trust bundle" };
    got = s_round_trip (&unverified);
    CU_ASSERT (got.type == RH_FRAME_UNVERIFIED && got.delivery_id == 42);
    CU_ASSERT_STRING_EQUAL (got.code, "RH_E_CERT_UNKNOWN");
    CU_ASSERT_STRING_EQUAL (got.reason, "sender not in our trust bundle");
    rh_frame_release (&got);
    rh_frame_t witness = { .type = RH_FRAME_WITNESS_REQUEST,
                           .sealed = (const uint8_t *) "old 0\n\nnote",
                           .sealed_size = 11 };
    got = s_round_trip (&witness);
    CU_ASSERT (got.type == RH_FRAME_WITNESS_REQUEST && got.sealed_size == 11);
    CU_ASSERT (got.sealed && memcmp (got.sealed, "old 0\n\nnote", 11) == 0);
    rh_frame_release (&got);
    rh_frame_t reply = { .type = RH_FRAME_WITNESS_REPLY,
                         .status = 409,
                         .sealed = (const uint8_t *) "12\n",
                         .sealed_size = 3 };
    got = s_round_trip (&reply);
    CU_ASSERT (got.type == RH_FRAME_WITNESS_REPLY && got.status == 409 && got.sealed_size == 3);
    rh_frame_release (&got);
}

//  Witness frames of a federated peer broker: an empty or oversized request, a status that is
//  no HTTP status, a reply longer than any answer kept, are refused.
static void
test_witness_frames_are_bounded (void)
{
    size_t big_size = RH_NOTE_MAX_SIZE + 1, size = 0;
    uint8_t *big = calloc (1, big_size);
    CU_ASSERT_PTR_NOT_NULL_FATAL (big);
    rh_frame_t frames [] = {
        { .type = RH_FRAME_WITNESS_REQUEST, .sealed = big, .sealed_size = 0 },
        { .type = RH_FRAME_WITNESS_REQUEST, .sealed = big, .sealed_size = big_size },
        { .type = RH_FRAME_WITNESS_REPLY, .status = 99, .sealed = big, .sealed_size = 1 },
        { .type = RH_FRAME_WITNESS_REPLY, .status = 600, .sealed = big, .sealed_size = 1 },
        { .type = RH_FRAME_WITNESS_REPLY,
          .status = 200,
          .sealed = big,
          .sealed_size = RH_MAX_WITNESS_REPLY + 1 },
    };
    for (size_t i = 0; i < sizeof frames / sizeof frames [0]; i++) {
        uint8_t *bytes = rh_frame_encode (&frames [i], &size);
        CU_ASSERT_PTR_NOT_NULL_FATAL (bytes);
        rh_frame_t got;
        rh_rc_t rc = rh_frame_decode (bytes, size, &got);
        CU_ASSERT (rc == RH_E_MALFORMED || rc == RH_E_TOO_LARGE);
        free (bytes);
    }
    free (big);
}

static void
test_bad_frames_are_refused (void)
{
    rh_frame_t frame;
    CU_ASSERT_EQUAL (rh_frame_decode (NULL, 0, &frame), RH_E_MALFORMED);
    CU_ASSERT_EQUAL (rh_frame_decode ((const uint8_t *) "\xff\xff", 2, &frame), RH_E_MALFORMED);
    //  A valid protobuf with no operation set.
    CU_ASSERT_EQUAL (rh_frame_decode ((const uint8_t *) "\x78\x01", 2, &frame), RH_E_MALFORMED);
    uint8_t *big = calloc (1, RH_MAX_ENVELOPE + 2048);
    CU_ASSERT_EQUAL (rh_frame_decode (big, RH_MAX_ENVELOPE + 2048, &frame), RH_E_TOO_LARGE);
    free (big);
    rh_frame_t unknown = { .type = RH_FRAME_NONE };
    size_t size = 0;
    CU_ASSERT_PTR_NULL (rh_frame_encode (&unknown, &size));
    //  Too many acknowledgements in one frame.
    uint64_t *ids = calloc (RH_MAX_ACK_BATCH + 1, sizeof *ids);
    rh_frame_t delivered = { .type = RH_FRAME_DELIVERED,
                             .ids = ids,
                             .id_count = RH_MAX_ACK_BATCH + 1 };
    uint8_t *bytes = rh_frame_encode (&delivered, &size);
    CU_ASSERT_EQUAL (rh_frame_decode (bytes, size, &frame), RH_E_TOO_LARGE);
    free (bytes);
    free (ids);
    //  A proof whose hashes are not whole digests, and a checkpoint with a short root.
    uint8_t odd [33] = { 0 };
    rh_frame_t proof = { .type = RH_FRAME_PROOF, .from_size = 1, .to_size = 2 };
    bytes = rh_frame_encode (&proof, &size);
    free (bytes);
    Rhannu__V1__ConsistencyProof in_proof = RHANNU__V1__CONSISTENCY_PROOF__INIT;
    in_proof.hashes.data = odd;
    in_proof.hashes.len = sizeof odd;
    Rhannu__V1__Frame out = RHANNU__V1__FRAME__INIT;
    out.op_case = RHANNU__V1__FRAME__OP_PROOF;
    out.proof = &in_proof;
    uint8_t packed [256];
    size = rhannu__v1__frame__pack (&out, packed);
    CU_ASSERT_EQUAL (rh_frame_decode (packed, size, &frame), RH_E_MALFORMED);
    Rhannu__V1__Checkpoint in_checkpoint = RHANNU__V1__CHECKPOINT__INIT;
    in_checkpoint.root.data = odd;
    in_checkpoint.root.len = 31;
    out.op_case = RHANNU__V1__FRAME__OP_CHECKPOINT;
    out.checkpoint = &in_checkpoint;
    size = rhannu__v1__frame__pack (&out, packed);
    CU_ASSERT_EQUAL (rh_frame_decode (packed, size, &frame), RH_E_MALFORMED);
}

static void
test_a_submit_without_sealed_bytes_is_malformed (void)
{
    //  Bytes an enrolled agency once sent to crash the broker: Submit{} and Submit{msg_id "m"}.
    rh_frame_t frame;
    CU_ASSERT_EQUAL (rh_frame_decode ((const uint8_t *) "\x12\x00", 2, &frame), RH_E_MALFORMED);
    CU_ASSERT_EQUAL (rh_frame_decode ((const uint8_t *) "\x12\x03\x0a\x01\x6d", 5, &frame),
                     RH_E_MALFORMED);
    CU_ASSERT_PTR_NULL (frame.owned);
    rh_frame_t deliver = { .type = RH_FRAME_DELIVER, .delivery_id = 1 };
    size_t size = 0;
    uint8_t *bytes = rh_frame_encode (&deliver, &size);
    CU_ASSERT_EQUAL (rh_frame_decode (bytes, size, &frame), RH_E_MALFORMED);
    free (bytes);
    //  Nor is a bundle frame without a bundle.
    rh_frame_t bundle = { .type = RH_FRAME_BUNDLE };
    bytes = rh_frame_encode (&bundle, &size);
    CU_ASSERT_EQUAL (rh_frame_decode (bytes, size, &frame), RH_E_MALFORMED);
    free (bytes);
}

static void
test_strings_must_be_utf8_and_replies_always_are (void)
{
    rh_frame_t frame;
    //  Submit{msg_id "\xff\xfe", sealed "abc"}
    CU_ASSERT_EQUAL (
        rh_frame_decode ((const uint8_t *) "\x12\x09\x0a\x02\xff\xfe\x12\x03\x61\x62\x63", 11,
                         &frame),
        RH_E_MALFORMED);
    //  Overlong form of '/' and a UTF-16 surrogate are not UTF-8 either.
    //  Nor may an id carry control characters: a newline would forge operator log lines.
    const char *bad [] = { "\xc0\xaf", "\xed\xa0\x80", "abc\xe2\x82", "a\nb", "a\x7f" };
    for (size_t i = 0; i < 5; i++) {
        rh_frame_t submit = { .type = RH_FRAME_SUBMIT,
                              .msg_id = bad [i],
                              .sealed = (const uint8_t *) "x",
                              .sealed_size = 1 };
        size_t size = 0;
        uint8_t *bytes = rh_frame_encode (&submit, &size);
        CU_ASSERT_EQUAL (rh_frame_decode (bytes, size, &frame), RH_E_MALFORMED);
        free (bytes);
    }
    //  What the broker sends back is valid UTF-8 whatever it is asked to echo.
    rh_frame_t rejected = { .type = RH_FRAME_REJECTED,
                            .msg_id = "\xff\xfe-id",
                            .code = "RH_E_MALFORMED",
                            .reason = "caf\xc3\xa9 \xc3" };
    size_t size = 0;
    uint8_t *bytes = rh_frame_encode (&rejected, &size);
    CU_ASSERT_EQUAL_FATAL (rh_frame_decode (bytes, size, &frame), RH_OK);
    CU_ASSERT_STRING_EQUAL (frame.msg_id, "?\?-id");
    CU_ASSERT_STRING_EQUAL (frame.reason, "caf?\? ?");
    rh_frame_release (&frame);
    free (bytes);
    rh_frame_t accepted = { .type = RH_FRAME_ACCEPTED, .msg_id = "caf\xc3\xa9" };
    bytes = rh_frame_encode (&accepted, &size);
    CU_ASSERT_EQUAL_FATAL (rh_frame_decode (bytes, size, &frame), RH_OK);
    CU_ASSERT_STRING_EQUAL (frame.msg_id, "caf\xc3\xa9");
    rh_frame_release (&frame);
    free (bytes);
}

static void
test_storage_records_round_trip_and_refuse_corruption (void)
{
    rh_queued_t queued = { .msg_id = "m-1",
                           .sender = "police-gwent",
                           .sealed = (const uint8_t *) "s",
                           .sealed_size = 1,
                           .attempts = 3,
                           .enqueued_ms = 10,
                           .expires_ms = 20,
                           .dead_ms = 30,
                           .dead_reason = "it expired before delivery" };
    size_t size = 0;
    uint8_t *bytes = rh_record_encode_queued (&queued, &size);
    rh_queued_t back;
    CU_ASSERT_EQUAL_FATAL (rh_record_decode_queued (bytes, size, &back), RH_OK);
    CU_ASSERT_STRING_EQUAL (back.sender, "police-gwent");
    CU_ASSERT_EQUAL (back.attempts, 3);
    CU_ASSERT_EQUAL (back.expires_ms, 20);
    CU_ASSERT_EQUAL (back.dead_ms, 30);
    CU_ASSERT_STRING_EQUAL (back.dead_reason, "it expired before delivery");
    rh_record_release (&back.owned);
    CU_ASSERT_EQUAL (rh_record_decode_queued (bytes, size - 1, &back), RH_E_MALFORMED);
    free (bytes);

    rh_outgoing_t outgoing = { .msg_id = "m-2",
                               .sealed = (const uint8_t *) "s",
                               .sealed_size = 1,
                               .file_name = "r.json",
                               .json = (const uint8_t *) "{}",
                               .json_size = 2 };
    bytes = rh_record_encode_outgoing (&outgoing, &size);
    rh_outgoing_t out_back;
    CU_ASSERT_EQUAL_FATAL (rh_record_decode_outgoing (bytes, size, &out_back), RH_OK);
    CU_ASSERT_STRING_EQUAL (out_back.file_name, "r.json");
    CU_ASSERT_EQUAL (out_back.json_size, 2);
    rh_record_release (&out_back.owned);
    free (bytes);

    uint8_t prev [32] = { 1 };
    const char *recipients [] = { "la-newport" };
    rh_audit_record_t audit = { .seq = 4,
                                .event = "ACCEPTED",
                                .code = "RH_OK",
                                .msg_id = "m",
                                .recipients = recipients,
                                .recipient_count = 1,
                                .prev_hash = prev };
    bytes = rh_record_encode_audit (&audit, &size);
    rh_audit_record_t audit_back;
    CU_ASSERT_EQUAL_FATAL (rh_record_decode_audit (bytes, size, &audit_back), RH_OK);
    CU_ASSERT_EQUAL (audit_back.seq, 4);
    CU_ASSERT_STRING_EQUAL (audit_back.recipients [0], "la-newport");
    CU_ASSERT_EQUAL (memcmp (audit_back.prev_hash, prev, 32), 0);
    rh_record_release (&audit_back.owned);
    free (bytes);
    //  A digest of the wrong length makes the record refused (here: a payload hash of 31 bytes,
    //  by editing the encoded length of the 32-byte one).
    uint8_t payload_digest [32];
    memset (payload_digest, 0x77, sizeof payload_digest);
    audit.prev_hash = NULL;
    audit.payload_sha256 = payload_digest;
    bytes = rh_record_encode_audit (&audit, &size);
    CU_ASSERT_EQUAL (rh_record_decode_audit (bytes, size, &audit_back), RH_OK);
    CU_ASSERT (audit_back.payload_sha256 && audit_back.payload_sha256 [0] == 0x77);
    rh_record_release (&audit_back.owned);
    uint8_t *tag = memmem (bytes, size, "\x6a\x20\x77\x77", 4);  //  field 13, length 32
    CU_ASSERT_PTR_NOT_NULL_FATAL (tag);
    tag [1] = 31;
    CU_ASSERT_EQUAL (rh_record_decode_audit (bytes, size - 1, &audit_back), RH_E_MALFORMED);
    free (bytes);
}

void
init_rh_frame_tests (void)
{
    CU_pSuite suite = CU_add_suite ("rh_frame", NULL, NULL);
    CU_add_test (suite, "witness frames are bounded", test_witness_frames_are_bounded);
    CU_add_test (suite, "every frame type round-trips", test_every_frame_type_round_trips);
    CU_add_test (suite, "bad frames are refused", test_bad_frames_are_refused);
    CU_add_test (suite, "a submit without sealed bytes is malformed",
                 test_a_submit_without_sealed_bytes_is_malformed);
    CU_add_test (suite, "strings must be UTF-8 and replies always are",
                 test_strings_must_be_utf8_and_replies_always_are);
    CU_add_test (suite, "storage records round-trip and refuse corruption",
                 test_storage_records_round_trip_and_refuse_corruption);
}
