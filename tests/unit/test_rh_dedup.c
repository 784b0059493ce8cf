/*  =========================================================================
    test_rh_dedup - message-id de-duplication and per-sender sequence numbers
    =========================================================================
*/
#include "test_helpers.h"
#include "rh_broker_classes.h"
#include "rhannu.pb-c.h"

static rh_db_t *
s_db (char *dir, size_t size)
{
    test_tempdir (dir, size);
    return rh_db_open (dir);
}

static void
test_dedup_state_dedups_ids_and_sequences_and_keeps_a_floor_across_restarts (void)
{
    char dir [PATH_MAX];
    rh_db_t *db = s_db (dir, sizeof dir);
    rh_dedup_t *dedup = rh_dedup_new (db);
    uint8_t hash_a [32] = { 1 }, hash_b [32] = { 2 };
    bool duplicate = false;
    const char *why = NULL;
    CU_ASSERT_EQUAL (rh_dedup_check (dedup, "police", "m1", 10, hash_a, &duplicate, &why), RH_OK);
    CU_ASSERT_FALSE (duplicate);
    //  The same message again, even before the commit: a duplicate.
    CU_ASSERT_EQUAL (rh_dedup_check (dedup, "police", "m1", 10, hash_a, &duplicate, &why), RH_OK);
    CU_ASSERT_TRUE (duplicate);
    //  Same id, other content: a replay.
    CU_ASSERT_EQUAL (rh_dedup_check (dedup, "police", "m1", 11, hash_b, &duplicate, &why),
                     RH_E_REPLAY);
    //  A late message with an unused, lower sequence is fine; a used sequence is not.
    CU_ASSERT_EQUAL (rh_dedup_check (dedup, "police", "m2", 3, hash_b, &duplicate, &why), RH_OK);
    CU_ASSERT_EQUAL (rh_dedup_check (dedup, "police", "m3", 3, hash_b, &duplicate, &why),
                     RH_E_REPLAY);
    CU_ASSERT_STRING_EQUAL (why, "sequence number already used");
    CU_ASSERT_EQUAL (rh_dedup_check (dedup, "police", "m5", 0, hash_b, &duplicate, &why),
                     RH_E_REPLAY);
    //  Another sender has its own numbers.
    CU_ASSERT_EQUAL (rh_dedup_check (dedup, "health", "h1", 3, hash_b, &duplicate, &why), RH_OK);
    char sender [RH_MAX_ID + 1];
    CU_ASSERT_STRING_EQUAL (rh_dedup_sender_of (dedup, "h1", sender), "health");
    //  The agency says everything below 8 was answered: 4..7 can no longer arrive.
    CU_ASSERT_EQUAL (rh_dedup_set_floor (dedup, "police", 8), 0);
    CU_ASSERT_EQUAL (rh_dedup_check (dedup, "police", "m4", 5, hash_b, &duplicate, &why),
                     RH_E_REPLAY);
    CU_ASSERT_EQUAL (rh_db_commit (db, true), 0);
    rh_dedup_committed (dedup);
    rh_dedup_destroy (&dedup);
    rh_db_destroy (&db);
    //  After a restart the state is the same, and a floor never goes down.
    db = rh_db_open (dir);
    dedup = rh_dedup_new (db);
    CU_ASSERT_EQUAL (rh_dedup_set_floor (dedup, "police", 2), 0);
    CU_ASSERT_EQUAL (rh_dedup_check (dedup, "police", "m1", 10, hash_a, &duplicate, &why), RH_OK);
    CU_ASSERT_TRUE (duplicate);
    CU_ASSERT_EQUAL (rh_dedup_check (dedup, "police", "m6", 10, hash_b, &duplicate, &why),
                     RH_E_REPLAY);
    CU_ASSERT_EQUAL (rh_dedup_check (dedup, "police", "m7", 6, hash_b, &duplicate, &why),
                     RH_E_REPLAY);
    CU_ASSERT_EQUAL (rh_dedup_check (dedup, "police", "m8", 11, hash_b, &duplicate, &why), RH_OK);
    CU_ASSERT_STRING_EQUAL (rh_dedup_sender_of (dedup, "m1", sender), "police");
    CU_ASSERT_PTR_NULL (rh_dedup_sender_of (dedup, "nope", sender));
    //  Raising the floor forgets the sequence records below it.
    CU_ASSERT_EQUAL (rh_db_commit (db, true), 0);
    rh_dedup_committed (dedup);
    CU_ASSERT_TRUE (rh_db_has (db, "s/police/00000000000000000010", 29));
    CU_ASSERT_EQUAL (rh_dedup_set_floor (dedup, "police", 11), 0);
    CU_ASSERT_EQUAL (rh_db_commit (db, true), 0);
    CU_ASSERT_FALSE (rh_db_has (db, "s/police/00000000000000000010", 29));
    CU_ASSERT_TRUE (rh_db_has (db, "s/police/00000000000000000011", 29));
    rh_dedup_destroy (&dedup);
    rh_db_destroy (&db);
}

//  A referral from police-gwent with msg_id and sequence, sealed; its header's SHA-256 into hash.
static uint8_t *
s_sealed (rh_signer_t *signer, const char *msg_id, uint64_t sequence, uint8_t hash [32],
          size_t *size)
{
    Rhannu__V1__Referral referral = RHANNU__V1__REFERRAL__INIT;
    referral.narrative = "resend test";
    rh_envelope_t *envelope = rh_envelope_new (RH_KIND_REFERRAL);
    CU_ASSERT_FATAL (envelope != NULL);
    rh_envelope_set_msg_id (envelope, msg_id);
    rh_envelope_set_sequence (envelope, sequence);
    rh_envelope_add_to_front_door (envelope, "newport", "IAA");
    CU_ASSERT_FATAL (rh_envelope_set_body (envelope, &referral.base) == 0);
    CU_ASSERT_FATAL (rh_envelope_sign (envelope, signer) == 0);
    uint8_t *sealed = NULL;
    CU_ASSERT_FATAL (rh_envelope_encode (envelope, &sealed, size) == 0);
    size_t header_size = 0;
    const uint8_t *header = rh_envelope_header_bytes (envelope, &header_size);
    rh_sha256 (hash, header, header_size);
    rh_envelope_destroy (&envelope);
    return sealed;
}

static void
test_dedup_tells_a_resend_of_an_accepted_message_from_anything_else (void)
{
    char dir [PATH_MAX];
    rh_db_t *db = s_db (dir, sizeof dir);
    rh_dedup_t *dedup = rh_dedup_new (db);
    rh_signer_t *signer = test_signer (test_pki ()->pki, "police-gwent");
    CU_ASSERT_FATAL (signer != NULL);
    uint8_t hash [32], other_hash [32];
    size_t size = 0, other_size = 0;
    uint8_t *sealed = s_sealed (signer, "r1", 1, hash, &size);
    //  The same id with another header (another sequence): a replay, never a resend.
    uint8_t *other = s_sealed (signer, "r1", 2, other_hash, &other_size);
    CU_ASSERT_FALSE (rh_dedup_is_resend (dedup, "police-gwent", "r1", sealed, size));
    bool duplicate = false;
    const char *why = NULL;
    CU_ASSERT_EQUAL (rh_dedup_check (dedup, "police-gwent", "r1", 1, hash, &duplicate, &why),
                     RH_OK);
    //  Known in the pending batch, and after the commit.
    CU_ASSERT_TRUE (rh_dedup_is_resend (dedup, "police-gwent", "r1", sealed, size));
    CU_ASSERT_EQUAL (rh_db_commit (db, true), 0);
    rh_dedup_committed (dedup);
    CU_ASSERT_TRUE (rh_dedup_is_resend (dedup, "police-gwent", "r1", sealed, size));
    CU_ASSERT_FALSE (rh_dedup_is_resend (dedup, "health-abb", "r1", sealed, size));
    CU_ASSERT_FALSE (rh_dedup_is_resend (dedup, "police-gwent", "r1", other, other_size));
    //  The frame's id must be the one the signed header names.
    CU_ASSERT_FALSE (rh_dedup_is_resend (dedup, "police-gwent", "r2", sealed, size));
    CU_ASSERT_FALSE (rh_dedup_is_resend (dedup, "police-gwent", "r1", sealed, size / 2));
    CU_ASSERT_FALSE (rh_dedup_is_resend (dedup, "police-gwent", "r1", (const uint8_t *) "", 0));
    CU_ASSERT_FALSE (rh_dedup_is_resend (dedup, "police-gwent", NULL, sealed, size));
    free (sealed);
    free (other);
    rh_signer_destroy (&signer);
    rh_dedup_destroy (&dedup);
    rh_db_destroy (&db);
}

void
init_rh_dedup_tests (void)
{
    CU_pSuite suite = CU_add_suite ("rh_dedup", NULL, NULL);
    CU_add_test (suite, "dedup state dedups ids and sequences and keeps a floor across restarts",
                 test_dedup_state_dedups_ids_and_sequences_and_keeps_a_floor_across_restarts);
    CU_add_test (suite, "dedup tells a resend of an accepted message from anything else",
                 test_dedup_tells_a_resend_of_an_accepted_message_from_anything_else);
}
