/*  =========================================================================
    test_rh_envelope - signed, redactable messages
    =========================================================================
*/
#include "test_helpers.h"
#include "rhannu.pb-c.h"

//  ---------------------------------------------------------------------------------------------
//  Sample bodies: every kind, with nested messages, repeated fields and free text filled in.

static uint8_t *
s_pack (const ProtobufCMessage *message, size_t *size)
{
    *size = protobuf_c_message_get_packed_size (message);
    uint8_t *bytes = malloc (*size ? *size : 1);
    protobuf_c_message_pack (message, bytes);
    return bytes;
}

static uint8_t *
s_sample (rh_kind_t kind, size_t *size)
{
    Rhannu__V1__Address where = RHANNU__V1__ADDRESS__INIT;
    where.agency_id = "la-newport";
    where.alias = "IAA";
    Rhannu__V1__Address *places [] = { &where };
    Rhannu__V1__WhatMatters matters = RHANNU__V1__WHAT_MATTERS__INIT;
    matters.conducted = true;
    matters.summary = "Mae hi eisiau aros yn yr ysgol / she wants to stay at her school";
    matters.child_voice = "I feel safe at Nan's";
    uint8_t key [32];
    memset (key, 0xa5, sizeof key);
    Rhannu__V1__Subject child = RHANNU__V1__SUBJECT__INIT;
    child.subject_key.data = key;
    child.subject_key.len = 32;
    child.kind = RHANNU__V1__SUBJECT_KIND__CHILD;
    child.home_la = "newport";
    child.name = "Child A";
    child.date_of_birth = "2018-03-02";
    child.at_risk = true;
    Rhannu__V1__Subject adult = RHANNU__V1__SUBJECT__INIT;
    adult.kind = RHANNU__V1__SUBJECT_KIND__ADULT;
    adult.name = "Adult B";
    adult.alleged_person = true;
    Rhannu__V1__Subject *subjects [] = { &child, &adult };
    char *notes [] = { "no GP recorded", "school not named" };

    switch (kind) {
        case RH_KIND_REFERRAL: {
            Rhannu__V1__Consent consent = RHANNU__V1__CONSENT__INIT;
            consent.state = RHANNU__V1__CONSENT_STATE__NOT_REQUIRED_SIGNIFICANT_HARM;
            consent.family_aware = true;
            Rhannu__V1__AgencyType scope [] = { RHANNU__V1__AGENCY_TYPE__HEALTH };
            consent.scope = scope;
            consent.n_scope = 1;
            Rhannu__V1__Category categories [] = { RHANNU__V1__CATEGORY__DOMESTIC_ABUSE,
                                                   RHANNU__V1__CATEGORY__NEGLECT };
            Rhannu__V1__Referral body = RHANNU__V1__REFERRAL__INIT;
            body.referral_kind = RHANNU__V1__REFERRAL_KIND__PPN;
            body.subjects = subjects;
            body.n_subjects = 2;
            body.categories = categories;
            body.n_categories = 2;
            body.narrative = "Officers attended a domestic incident; a child was present.";
            body.proposed_rag = RHANNU__V1__RAG__AMBER;
            body.requested_route = RHANNU__V1__ROUTE__DA_HUB;
            body.urgency = 2;
            body.consent = &consent;
            body.what_matters = &matters;
            body.children_present = true;
            body.incident_ms = 1764000000000;
            body.incident_ref = "GW-2026-001234";
            return s_pack (&body.base, size);
        }
        case RH_KIND_RECEIPT: {
            Rhannu__V1__Receipt body = RHANNU__V1__RECEIPT__INIT;
            body.original_msg_id = "m-1";
            body.case_id = "case-1";
            body.held_by = "la-newport";
            body.held_by_label = "Newport IAA";
            body.received_ms = 1764000000000;
            body.outcome_due_ms = 1764400000000;
            return s_pack (&body.base, size);
        }
        case RH_KIND_OUTCOME: {
            Rhannu__V1__Outcome body = RHANNU__V1__OUTCOME__INIT;
            body.decision = RHANNU__V1__DECISION__STEP_DOWN_EARLY_HELP;
            body.rationale = "Below threshold for statutory services; family consents to FF.";
            body.missing_info = notes;
            body.n_missing_info = 2;
            body.better_placed = &where;
            body.better_placed_reason = "Families First can offer the 12-week programme";
            body.referrer_role = "none";
            body.rag = RHANNU__V1__RAG__GREEN;
            body.reviewers = 2;
            return s_pack (&body.base, size);
        }
        case RH_KIND_STATUS_UPDATE: {
            Rhannu__V1__StatusUpdate body = RHANNU__V1__STATUS_UPDATE__INIT;
            body.update_kind = RHANNU__V1__UPDATE_KIND__WORKER_CHANGED;
            body.detail = "Allocated social worker has left; duty team holds the case";
            body.new_owner = &where;
            body.lead_professional = "duty social worker";
            body.final_what_matters = &matters;
            return s_pack (&body.base, size);
        }
        case RH_KIND_INFO_REQUEST: {
            Rhannu__V1__InfoRequest body = RHANNU__V1__INFO_REQUEST__INIT;
            body.question = "Is this family known to your service?";
            body.fields_requested = notes;
            body.n_fields_requested = 2;
            body.reply_by_ms = 1764100000000;
            body.subjects = subjects;
            body.n_subjects = 2;
            return s_pack (&body.base, size);
        }
        case RH_KIND_INFO_RESPONSE: {
            Rhannu__V1__InfoResponse body = RHANNU__V1__INFO_RESPONSE__INIT;
            body.original_msg_id = "m-2";
            body.known_to_service = true;
            body.content = "Known to health visiting since 2019.";
            body.withheld = notes;
            body.n_withheld = 1;
            return s_pack (&body.base, size);
        }
        case RH_KIND_ALERT: {
            Rhannu__V1__Alert body = RHANNU__V1__ALERT__INIT;
            body.alert_kind = RHANNU__V1__ALERT_KIND__REPEAT_REFERRALS;
            body.summary_en = "Third referral in 90 days about one child";
            body.summary_cy = "Trydydd atgyfeiriad mewn 90 diwrnod am un plentyn";
            body.subject_key.data = key;
            body.subject_key.len = 32;
            body.count = 3;
            body.window_days = 90;
            body.related_msg_ids = notes;
            body.n_related_msg_ids = 2;
            return s_pack (&body.base, size);
        }
        case RH_KIND_ERROR: {
            Rhannu__V1__Error body = RHANNU__V1__ERROR__INIT;
            body.original_msg_id = "m-3";
            body.code = "RH_E_POLICY";
            body.reason = "consent required for CARE_AND_SUPPORT referral to health";
            body.rule_id = "R2";
            body.agreement_id = "REG-GWENT-01";
            return s_pack (&body.base, size);
        }
        case RH_KIND_TRANSFER: {
            Rhannu__V1__Transfer body = RHANNU__V1__TRANSFER__INIT;
            body.to = &where;
            body.reason = "Young person lives in Cardiff";
            body.cross_border = true;
            body.from_la = "newport";
            body.to_la = "cardiff";
            return s_pack (&body.base, size);
        }
        case RH_KIND_STRATEGY_MEETING: {
            Rhannu__V1__StrategyMeeting body = RHANNU__V1__STRATEGY_MEETING__INIT;
            body.route = RHANNU__V1__ROUTE__CHILD_PROTECTION;
            body.when_ms = 1764200000000;
            body.invited = places;
            body.n_invited = 1;
            body.attended = places;
            body.n_attended = 1;
            body.actions = notes;
            body.n_actions = 2;
            body.summary_for_referrer = "Section 47 enquiry agreed";
            body.minutes = "Full minutes";
            return s_pack (&body.base, size);
        }
        case RH_KIND_CHALLENGE: {
            Rhannu__V1__Challenge body = RHANNU__V1__CHALLENGE__INIT;
            body.decision_msg_id = "m-4";
            body.grounds = "School holds further concerns not considered";
            body.level = 1;
            return s_pack (&body.base, size);
        }
        case RH_KIND_USER_FEEDBACK: {
            Rhannu__V1__UserFeedback body = RHANNU__V1__USER_FEEDBACK__INIT;
            body.distance_travelled_start = 3;
            body.distance_travelled_end = 8;
            body.felt_listened_to = 5;
            body.views_respected = 4;
            body.told_what_next = 5;
            body.narrative = "They listened to me.";
            body.respondent = "young person";
            return s_pack (&body.base, size);
        }
        case RH_KIND_NOTICE: {
            uint8_t original [] = { 0x0a, 0x02, 0x08, 0x01 };  //  opaque here: any bytes
            char *copies [] = { "supervisor:DS-2290" };
            Rhannu__V1__Notice body = RHANNU__V1__NOTICE__INIT;
            body.notice_kind = RHANNU__V1__NOTICE_KIND__NOTICE_OUTCOME;
            body.case_id = "case-2026-0001";
            body.referral_msg_id = "0f6b1a52-1111-4222-8333-944455556666";
            body.summary_en = "Newport IAA decided on referral case-2026-0001: no further action.";
            body.summary_cy = "Mae Newport IAA wedi penderfynu ar yr atgyfeiriad case-2026-0001: "
                              "dim camau pellach.";
            body.holder = "la-newport";
            body.for_practitioner = "PC-4411";
            body.copy_to = copies;
            body.n_copy_to = 1;
            body.original.data = original;
            body.original.len = sizeof original;
            body.decision = RHANNU__V1__DECISION__NO_FURTHER_ACTION;
            body.role = "referrer";
            return s_pack (&body.base, size);
        }
        default:
            return NULL;
    }
}

//  Builds and signs an envelope of kind from its sample body.
static rh_envelope_t *
s_signed (rh_signer_t *signer, rh_kind_t kind)
{
    size_t size = 0;
    uint8_t *bytes = s_sample (kind, &size);
    ProtobufCMessage *body =
        protobuf_c_message_unpack (rh_envelope_body_descriptor (kind), NULL, size, bytes);
    free (bytes);
    rh_envelope_t *envelope = rh_envelope_new (kind);
    if (!envelope || !body)
        return NULL;
    rh_envelope_set_case_id (envelope, "case-2026-0001");
    rh_envelope_set_purpose (envelope, "SAFEGUARDING_CHILD");
    rh_envelope_set_sequence (envelope, 7);
    rh_envelope_add_to_front_door (envelope, "newport", "IAA");
    int rc = rh_envelope_set_body (envelope, body);
    protobuf_c_message_free_unpacked (body, NULL);
    if (rc != 0 || rh_envelope_sign (envelope, signer) != 0)
        rh_envelope_destroy (&envelope);
    return envelope;
}

static uint8_t *
s_encoded (rh_signer_t *signer, rh_kind_t kind, size_t *size)
{
    rh_envelope_t *envelope = s_signed (signer, kind);
    uint8_t *bytes = NULL;
    if (envelope)
        rh_envelope_encode (envelope, &bytes, size);
    rh_envelope_destroy (&envelope);
    return bytes;
}

//  Decodes and verifies in one go, as a broker does.
static rh_rc_t
s_receive (const uint8_t *bytes, size_t size, rh_certstore_t *store, int64_t at_ms)
{
    rh_envelope_t *envelope = NULL;
    rh_rc_t rc = rh_envelope_decode (bytes, size, &envelope);
    if (rc == RH_OK)
        rc = rh_certstore_verify (store, envelope, at_ms);
    rh_envelope_destroy (&envelope);
    return rc;
}

static rh_signer_t *s_police;
static rh_signer_t *s_la;
static rh_certstore_t *s_store;

static int
s_suite_init (void)
{
    const test_pki_t *pki = test_pki ();
    s_police = test_signer (pki->pki, "police-gwent");
    s_la = test_signer (pki->pki, "la-newport");
    s_store = rh_certstore_load_dir (pki->pki);
    return s_police && s_la && s_store ? 0 : -1;
}

static int
s_suite_clean (void)
{
    rh_signer_destroy (&s_police);
    rh_signer_destroy (&s_la);
    rh_certstore_destroy (&s_store);
    return 0;
}

//  Packs a header as a forger would, committing to the given disclosures with test_salt.
static uint8_t *
s_forge (rh_signer_t *signer, const char *sender, const uint8_t *fingerprint, uint32_t version,
         rh_kind_t kind, const test_disclosure_t *disclosures, size_t count, size_t *size)
{
    Rhannu__V1__Commitment commitments [64];
    Rhannu__V1__Commitment *pointers [64];
    uint8_t digests [64][32];
    for (size_t i = 0; i < count; i++) {
        test_commit (kind, disclosures [i].field, test_salt, disclosures [i].value,
                     disclosures [i].size, digests [i]);
        rhannu__v1__commitment__init (&commitments [i]);
        commitments [i].field = disclosures [i].field;
        commitments [i].digest.data = digests [i];
        commitments [i].digest.len = 32;
        pointers [i] = &commitments [i];
    }
    Rhannu__V1__Header header = RHANNU__V1__HEADER__INIT;
    header.schema_version = version;
    header.msg_id = "forged-1";
    header.sender = (char *) sender;
    header.signer_cert_sha256.data = (uint8_t *) fingerprint;
    header.signer_cert_sha256.len = 32;
    header.kind = (Rhannu__V1__MessageKind) kind;
    header.commitments = pointers;
    header.n_commitments = count;
    size_t header_size = 0;
    uint8_t *header_bytes = s_pack (&header.base, &header_size);
    uint8_t *sealed =
        test_seal (signer, header_bytes, header_size, NULL, 0, disclosures, count, size);
    free (header_bytes);
    return sealed;
}

//  Forges a police referral holding one disclosure, honestly signed by the police but with the
//  given schema version, and receives it as a broker would.
static rh_rc_t
s_receive_forged (uint32_t version, const test_disclosure_t *disclosure)
{
    size_t size = 0;
    uint8_t *wire = s_forge (s_police, "police-gwent", rh_signer_fingerprint (s_police), version,
                             RH_KIND_REFERRAL, disclosure, 1, &size);
    rh_rc_t rc = s_receive (wire, size, s_store, rh_time_now_ms ());
    free (wire);
    return rc;
}

//  A one-field referral body with a narrative of length bytes.
static uint8_t *
s_narrative (size_t length, size_t *size)
{
    char *text = malloc (length + 1);
    memset (text, 'n', length);
    text [length] = 0;
    Rhannu__V1__Referral body = RHANNU__V1__REFERRAL__INIT;
    body.narrative = text;
    uint8_t *bytes = s_pack (&body.base, size);
    free (text);
    return bytes;
}

//  ---------------------------------------------------------------------------------------------

static void
test_a_police_referral_is_signed_sent_and_verified (void)
{
    //  The canonical use: build, sign, encode at the sender; decode, verify, read at the broker.
    Rhannu__V1__Referral referral = RHANNU__V1__REFERRAL__INIT;
    referral.referral_kind = RHANNU__V1__REFERRAL_KIND__PPN;
    referral.narrative = "Domestic incident, child present";
    rh_envelope_t *envelope = rh_envelope_new (RH_KIND_REFERRAL);
    CU_ASSERT_PTR_NOT_NULL_FATAL (envelope);
    CU_ASSERT_EQUAL (rh_envelope_set_case_id (envelope, "gw-0001"), 0);
    CU_ASSERT_EQUAL (rh_envelope_set_purpose (envelope, "SAFEGUARDING_CHILD"), 0);
    CU_ASSERT_EQUAL (rh_envelope_set_agreement_id (envelope, "REG-GWENT-01"), 0);
    CU_ASSERT_EQUAL (rh_envelope_set_lang (envelope, "cy"), 0);
    CU_ASSERT_EQUAL (rh_envelope_set_sequence (envelope, 42), 0);
    CU_ASSERT_EQUAL (rh_envelope_set_expires (envelope, 1900000000000), 0);
    CU_ASSERT_EQUAL (rh_envelope_set_author (envelope, "PC1234", "PC", "CRU", "DS77", NULL), 0);
    CU_ASSERT_EQUAL (rh_envelope_add_to_front_door (envelope, "newport", "IAA"), 0);
    CU_ASSERT_EQUAL (rh_envelope_add_to_agency (envelope, "health-abb", NULL), 0);
    CU_ASSERT_EQUAL (rh_envelope_set_body (envelope, &referral.base), 0);
    CU_ASSERT_EQUAL_FATAL (rh_envelope_sign (envelope, s_police), 0);
    uint8_t *wire = NULL;
    size_t size = 0;
    CU_ASSERT_EQUAL_FATAL (rh_envelope_encode (envelope, &wire, &size), 0);

    rh_envelope_t *received = NULL;
    CU_ASSERT_EQUAL_FATAL (rh_envelope_decode (wire, size, &received), RH_OK);
    CU_ASSERT_EQUAL (rh_certstore_verify (s_store, received, rh_time_now_ms ()), RH_OK);
    CU_ASSERT_EQUAL (rh_envelope_check_sender (received, "police-gwent"), RH_OK);
    CU_ASSERT_EQUAL (rh_envelope_check_sender (received, "la-newport"), RH_E_IMPERSONATION);
    CU_ASSERT_STRING_EQUAL (rh_envelope_msg_id (received), rh_envelope_msg_id (envelope));
    CU_ASSERT_EQUAL (strlen (rh_envelope_msg_id (received)), 36);
    CU_ASSERT_STRING_EQUAL (rh_envelope_sender (received), "police-gwent");
    CU_ASSERT_EQUAL (rh_envelope_kind (received), RH_KIND_REFERRAL);
    CU_ASSERT_STRING_EQUAL (rh_envelope_case_id (received), "gw-0001");
    CU_ASSERT_STRING_EQUAL (rh_envelope_purpose (received), "SAFEGUARDING_CHILD");
    CU_ASSERT_STRING_EQUAL (rh_envelope_agreement_id (received), "REG-GWENT-01");
    CU_ASSERT_STRING_EQUAL (rh_envelope_lang (received), "cy");
    CU_ASSERT_STRING_EQUAL (rh_envelope_author (received), "PC1234");
    CU_ASSERT_EQUAL (rh_envelope_sequence (received), 42);
    CU_ASSERT_EQUAL (rh_envelope_expires (received), 1900000000000);
    CU_ASSERT (llabs (rh_envelope_created (received) - rh_time_now_ms ()) < 60000);
    CU_ASSERT_EQUAL (rh_envelope_recipients (received), 2);
    CU_ASSERT_STRING_EQUAL (rh_envelope_recipient_front_door (received, 0), "newport");
    CU_ASSERT_STRING_EQUAL (rh_envelope_recipient_agency (received, 0), "");
    CU_ASSERT_STRING_EQUAL (rh_envelope_recipient_agency (received, 1), "health-abb");
    CU_ASSERT_STRING_EQUAL (rh_envelope_recipient_agency (received, 5), "");
    CU_ASSERT_EQUAL (rh_envelope_commitments (received), 2);
    const Rhannu__V1__Referral *body = (const Rhannu__V1__Referral *) rh_envelope_body (received);
    CU_ASSERT_PTR_NOT_NULL_FATAL (body);
    CU_ASSERT_STRING_EQUAL (body->narrative, "Domestic incident, child present");
    CU_ASSERT_EQUAL (body->referral_kind, RHANNU__V1__REFERRAL_KIND__PPN);
    size_t header_size = 0;
    CU_ASSERT_PTR_NOT_NULL (rh_envelope_header_bytes (received, &header_size));
    CU_ASSERT (header_size > 0);
    CU_ASSERT_EQUAL (
        memcmp (rh_envelope_signature (received), rh_envelope_signature (envelope), 64), 0);
    free (wire);
    rh_envelope_destroy (&received);
    rh_envelope_destroy (&envelope);
    CU_ASSERT_PTR_NULL (envelope);
}

static void
test_every_body_kind_round_trips_unchanged (void)
{
    for (int kind = RH_KIND_REFERRAL; kind < RH_KIND_COUNT; kind++) {
        size_t expected_size = 0, size = 0, got_size = 0;
        uint8_t *expected = s_sample ((rh_kind_t) kind, &expected_size);
        uint8_t *wire = s_encoded (s_la, (rh_kind_t) kind, &size);
        CU_ASSERT_PTR_NOT_NULL_FATAL (wire);
        rh_envelope_t *received = NULL;
        CU_ASSERT_EQUAL_FATAL (rh_envelope_decode (wire, size, &received), RH_OK);
        CU_ASSERT_EQUAL (rh_certstore_verify (s_store, received, rh_time_now_ms ()), RH_OK);
        CU_ASSERT_EQUAL (rh_envelope_kind (received), kind);
        uint8_t *got = s_pack (rh_envelope_body (received), &got_size);
        CU_ASSERT_EQUAL (got_size, expected_size);
        CU_ASSERT (got_size == expected_size && memcmp (got, expected, got_size) == 0);
        //  Encoding again gives the same bytes: nothing is lost or reordered.
        uint8_t *again = NULL;
        size_t again_size = 0;
        CU_ASSERT_EQUAL (rh_envelope_encode (received, &again, &again_size), 0);
        CU_ASSERT (again_size == size && memcmp (again, wire, size) == 0);
        free (again);
        free (got);
        free (expected);
        free (wire);
        rh_envelope_destroy (&received);
    }
}

static void
test_every_flipped_signature_bit_is_refused (void)
{
    rh_envelope_t *envelope = s_signed (s_police, RH_KIND_REFERRAL);
    CU_ASSERT_PTR_NOT_NULL_FATAL (envelope);
    size_t header_size = 0;
    const uint8_t *header = rh_envelope_header_bytes (envelope, &header_size);
    uint8_t signature [64];
    memcpy (signature, rh_envelope_signature (envelope), 64);
    int refused = 0;
    for (int bit = 0; bit < 64 * 8; bit++) {
        signature [bit / 8] ^= (uint8_t) (1u << (bit % 8));
        size_t size = 0;
        uint8_t *wire = test_seal (NULL, header, header_size, signature, 64, NULL, 0, &size);
        refused += s_receive (wire, size, s_store, rh_time_now_ms ()) == RH_E_SIG;
        free (wire);
        signature [bit / 8] ^= (uint8_t) (1u << (bit % 8));
    }
    CU_ASSERT_EQUAL (refused, 64 * 8);
    //  The unflipped signature over the same header verifies: the loop tested the flips.
    size_t size = 0;
    uint8_t *wire = test_seal (NULL, header, header_size, signature, 64, NULL, 0, &size);
    CU_ASSERT_EQUAL (s_receive (wire, size, s_store, rh_time_now_ms ()), RH_OK);
    free (wire);
    rh_envelope_destroy (&envelope);
}

static void
test_every_changed_byte_of_a_message_is_refused (void)
{
    size_t size = 0;
    uint8_t *wire = s_encoded (s_police, RH_KIND_REFERRAL, &size);
    CU_ASSERT_PTR_NOT_NULL_FATAL (wire);
    CU_ASSERT_EQUAL_FATAL (s_receive (wire, size, s_store, rh_time_now_ms ()), RH_OK);
    unsigned accepted = 0;
    uint32_t random_state = 12345;
    for (size_t at = 0; at < size; at++) {
        for (int round = 0; round < 2; round++) {
            //  One single-bit flip and one random non-zero change at every position.
            random_state = random_state * 1103515245u + 12345u;
            uint8_t mask = round == 0 ? (uint8_t) (1u << (at % 8))
                                      : (uint8_t) ((random_state >> 16) % 255 + 1);
            wire [at] ^= mask;
            if (s_receive (wire, size, s_store, rh_time_now_ms ()) == RH_OK)
                accepted++;
            wire [at] ^= mask;
        }
    }
    CU_ASSERT_EQUAL (accepted, 0);
    free (wire);
}

static void
test_a_flipped_header_bit_is_reported_as_a_bad_signature (void)
{
    //  A flip inside a commitment digest breaks both the signature and the field's commitment:
    //  the receiver names the signature, the more specific cause.
    size_t size = 0;
    uint8_t *wire = s_encoded (s_police, RH_KIND_REFERRAL, &size);
    CU_ASSERT_PTR_NOT_NULL_FATAL (wire);
    rh_envelope_t *envelope = NULL;
    CU_ASSERT_EQUAL_FATAL (rh_certstore_receive (s_store, wire, size, rh_time_now_ms (), &envelope),
                           RH_OK);
    const uint8_t *digest = NULL;
    CU_ASSERT_FATAL (rh_envelope_commitments (envelope) > 0);
    rh_envelope_commitment (envelope, 0, &digest);
    uint8_t *at = memmem (wire, size, digest, RH_DIGEST_LEN);
    CU_ASSERT_PTR_NOT_NULL_FATAL (at);
    rh_envelope_destroy (&envelope);
    at [5] ^= 0x10;
    rh_envelope_t *decoded = NULL;
    CU_ASSERT_EQUAL (rh_envelope_decode (wire, size, &decoded), RH_E_COMMITMENT);
    CU_ASSERT_EQUAL (rh_certstore_receive (s_store, wire, size, rh_time_now_ms (), &envelope),
                     RH_E_SIG);
    CU_ASSERT_PTR_NULL (envelope);
    //  The header alone still decodes, and its signature is what fails.
    CU_ASSERT_EQUAL_FATAL (rh_envelope_decode_header (wire, size, &decoded), RH_OK);
    CU_ASSERT_EQUAL (rh_certstore_verify (s_store, decoded, rh_time_now_ms ()), RH_E_SIG);
    rh_envelope_destroy (&decoded);
    free (wire);
}

static void
test_a_signature_by_another_key_is_refused (void)
{
    rh_envelope_t *envelope = s_signed (s_police, RH_KIND_REFERRAL);
    CU_ASSERT_PTR_NOT_NULL_FATAL (envelope);
    size_t header_size = 0;
    const uint8_t *header = rh_envelope_header_bytes (envelope, &header_size);
    //  The LA's key signs the police header: the header still names the police certificate.
    size_t size = 0;
    uint8_t *wire = test_seal (s_la, header, header_size, NULL, 0, NULL, 0, &size);
    CU_ASSERT_EQUAL (s_receive (wire, size, s_store, rh_time_now_ms ()), RH_E_SIG);
    free (wire);
    rh_envelope_destroy (&envelope);
}

static void
test_another_agencys_certificate_cannot_be_claimed (void)
{
    size_t value_size = 0, size = 0;
    uint8_t *value = s_narrative (10, &value_size);
    test_disclosure_t disclosure = { 4, value, value_size };
    //  Police sign, claiming to be the LA but naming their own certificate.
    uint8_t *wire = s_forge (s_police, "la-newport", rh_signer_fingerprint (s_police), 1,
                             RH_KIND_REFERRAL, &disclosure, 1, &size);
    CU_ASSERT_EQUAL (s_receive (wire, size, s_store, rh_time_now_ms ()), RH_E_CERT_MISMATCH);
    free (wire);
    //  Police sign, claiming to be the LA and naming the LA's certificate.
    wire = s_forge (s_police, "la-newport", rh_signer_fingerprint (s_la), 1, RH_KIND_REFERRAL,
                    &disclosure, 1, &size);
    CU_ASSERT_EQUAL (s_receive (wire, size, s_store, rh_time_now_ms ()), RH_E_SIG);
    free (wire);
    //  The honest forge verifies, so the two refusals above are about the claim alone.
    CU_ASSERT_EQUAL (s_receive_forged (1, &disclosure), RH_OK);
    free (value);
}

static void
test_a_truncated_signature_is_refused (void)
{
    rh_envelope_t *envelope = s_signed (s_police, RH_KIND_OUTCOME);
    CU_ASSERT_PTR_NOT_NULL_FATAL (envelope);
    size_t header_size = 0, size = 0;
    const uint8_t *header = rh_envelope_header_bytes (envelope, &header_size);
    for (size_t length = 0; length < 64; length += 9) {
        uint8_t *wire = test_seal (NULL, header, header_size, rh_envelope_signature (envelope),
                                   length, NULL, 0, &size);
        CU_ASSERT_EQUAL (s_receive (wire, size, s_store, rh_time_now_ms ()), RH_E_SIG);
        free (wire);
    }
    rh_envelope_destroy (&envelope);
}

static void
test_oversize_messages_and_fields_are_refused (void)
{
    uint8_t *big = calloc (1, RH_MAX_ENVELOPE + 1);
    rh_envelope_t *envelope = NULL;
    CU_ASSERT_EQUAL (rh_envelope_decode (big, RH_MAX_ENVELOPE + 1, &envelope), RH_E_TOO_LARGE);
    CU_ASSERT_PTR_NULL (envelope);
    free (big);

    //  A string one byte over the limit: the library will not sign it...
    size_t value_size = 0;
    uint8_t *value = s_narrative (RH_MAX_STRING + 1, &value_size);
    ProtobufCMessage *body =
        protobuf_c_message_unpack (&rhannu__v1__referral__descriptor, NULL, value_size, value);
    envelope = rh_envelope_new (RH_KIND_REFERRAL);
    CU_ASSERT_EQUAL (rh_envelope_set_body (envelope, body), 0);
    CU_ASSERT_EQUAL (rh_envelope_sign (envelope, s_police), -1);
    rh_envelope_destroy (&envelope);
    protobuf_c_message_free_unpacked (body, NULL);
    //  ...and refuses it when a forger does.
    test_disclosure_t disclosure = { 4, value, value_size };
    CU_ASSERT_EQUAL (s_receive_forged (1, &disclosure), RH_E_TOO_LARGE);
    free (value);
    //  Exactly at the limit is fine.
    value = s_narrative (RH_MAX_STRING, &value_size);
    disclosure.value = value;
    disclosure.size = value_size;
    CU_ASSERT_EQUAL (s_receive_forged (1, &disclosure), RH_OK);
    free (value);

    //  Too many recipients.
    envelope = rh_envelope_new (RH_KIND_REFERRAL);
    for (int i = 0; i < RH_MAX_RECIPIENTS; i++)
        CU_ASSERT_EQUAL (rh_envelope_add_to_agency (envelope, "la-newport", NULL), 0);
    CU_ASSERT_EQUAL (rh_envelope_add_to_agency (envelope, "la-newport", NULL), -1);
    rh_envelope_destroy (&envelope);

    //  Too many entries in a repeated field.
    Rhannu__V1__Referral referral = RHANNU__V1__REFERRAL__INIT;
    Rhannu__V1__Category categories [RH_MAX_REPEATED + 1];
    for (int i = 0; i <= RH_MAX_REPEATED; i++)
        categories [i] = RHANNU__V1__CATEGORY__NEGLECT;
    referral.categories = categories;
    referral.n_categories = RH_MAX_REPEATED + 1;
    value = s_pack (&referral.base, &value_size);
    disclosure = (test_disclosure_t){ 3, value, value_size };
    CU_ASSERT_EQUAL (s_receive_forged (1, &disclosure), RH_E_TOO_LARGE);
    free (value);
}

static void
test_signers_with_unusable_certificates_are_refused (void)
{
    const test_pki_t *pki = test_pki ();
    static const struct {
        const char *pki;
        const char *agency;
        rh_rc_t expected;
    } cases [] = {
        { NULL, "edu-old", RH_E_EXPIRED },          { NULL, "vcs-future", RH_E_NOT_YET_VALID },
        { NULL, "vcs-gone", RH_E_REVOKED },         { NULL, "pol-leak", RH_E_REVOKED },
        { "other", "stranger", RH_E_CERT_UNKNOWN },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        rh_signer_t *signer = test_signer (cases [i].pki ? pki->other : pki->pki, cases [i].agency);
        CU_ASSERT_PTR_NOT_NULL_FATAL (signer);
        size_t size = 0;
        uint8_t *wire = s_encoded (signer, RH_KIND_REFERRAL, &size);
        CU_ASSERT_PTR_NOT_NULL_FATAL (wire);
        CU_ASSERT_EQUAL (s_receive (wire, size, s_store, rh_time_now_ms ()), cases [i].expected);
        free (wire);
        rh_signer_destroy (&signer);
    }
    //  A message from an agency revoked later verifies at the time it was received.
    rh_signer_t *signer = test_signer (pki->pki, "vcs-gone");
    size_t size = 0;
    uint8_t *wire = s_encoded (signer, RH_KIND_REFERRAL, &size);
    CU_ASSERT_EQUAL (s_receive (wire, size, s_store, pki->revoked_at_ms - 3000), RH_OK);
    free (wire);
    rh_signer_destroy (&signer);
}

static void
test_a_redacted_message_still_verifies_and_withholds_the_field (void)
{
    rh_envelope_t *envelope = s_signed (s_police, RH_KIND_REFERRAL);
    CU_ASSERT_PTR_NOT_NULL_FATAL (envelope);
    uint32_t narrative = rh_envelope_field_number (RH_KIND_REFERRAL, "narrative");
    uint32_t subjects = rh_envelope_field_number (RH_KIND_REFERRAL, "subjects");
    uint32_t categories = rh_envelope_field_number (RH_KIND_REFERRAL, "categories");
    CU_ASSERT_EQUAL (narrative, 4);
    size_t committed = rh_envelope_commitments (envelope);
    CU_ASSERT (committed >= 10);
    uint8_t *full = NULL, *redacted = NULL;
    size_t full_size = 0, redacted_size = 0;
    CU_ASSERT_EQUAL (rh_envelope_encode (envelope, &full, &full_size), 0);
    uint32_t keep [] = { subjects, categories };
    CU_ASSERT_EQUAL (rh_envelope_redact (envelope, keep, 2), 0);
    CU_ASSERT_FALSE (rh_envelope_discloses (envelope, narrative));
    CU_ASSERT_TRUE (rh_envelope_discloses (envelope, subjects));
    CU_ASSERT_EQUAL (rh_envelope_encode (envelope, &redacted, &redacted_size), 0);
    CU_ASSERT (redacted_size < full_size);
    //  The narrative's text is nowhere in the redacted bytes.
    CU_ASSERT_PTR_NULL (memmem (redacted, redacted_size, "domestic incident", 17));
    CU_ASSERT_PTR_NOT_NULL (memmem (full, full_size, "domestic incident", 17));

    rh_envelope_t *received = NULL;
    CU_ASSERT_EQUAL_FATAL (rh_envelope_decode (redacted, redacted_size, &received), RH_OK);
    CU_ASSERT_EQUAL (rh_certstore_verify (s_store, received, rh_time_now_ms ()), RH_OK);
    CU_ASSERT_EQUAL (rh_envelope_commitments (received), committed);
    const Rhannu__V1__Referral *body = (const Rhannu__V1__Referral *) rh_envelope_body (received);
    CU_ASSERT_STRING_EQUAL (body->narrative, "");
    CU_ASSERT_EQUAL (body->n_subjects, 2);
    CU_ASSERT_EQUAL (body->n_categories, 2);
    CU_ASSERT_PTR_NULL (body->consent);
    //  The withheld field's commitment is still there for the audit log.
    bool found = false;
    for (size_t i = 0; i < rh_envelope_commitments (received); i++) {
        const uint8_t *digest = NULL;
        if (rh_envelope_commitment (received, i, &digest) == narrative)
            found = digest != NULL;
    }
    CU_ASSERT_TRUE (found);
    //  Redacting everything leaves a verifiable header with no body fields.
    CU_ASSERT_EQUAL (rh_envelope_redact (received, NULL, 0), 0);
    free (redacted);
    CU_ASSERT_EQUAL (rh_envelope_encode (received, &redacted, &redacted_size), 0);
    CU_ASSERT_EQUAL (s_receive (redacted, redacted_size, s_store, rh_time_now_ms ()), RH_OK);
    free (full);
    free (redacted);
    rh_envelope_destroy (&received);
    rh_envelope_destroy (&envelope);
}

static void
test_a_field_that_does_not_match_its_commitment_is_refused (void)
{
    size_t committed_size = 0, swapped_size = 0, size = 0;
    uint8_t *committed = s_narrative (20, &committed_size);
    uint8_t *swapped = s_narrative (21, &swapped_size);
    test_disclosure_t disclosure = { 4, committed, committed_size };
    uint8_t *wire = s_forge (s_police, "police-gwent", rh_signer_fingerprint (s_police), 1,
                             RH_KIND_REFERRAL, &disclosure, 1, &size);
    CU_ASSERT_EQUAL (s_receive (wire, size, s_store, rh_time_now_ms ()), RH_OK);
    //  Replace the disclosed value after signing.
    Rhannu__V1__Sealed *sealed = rhannu__v1__sealed__unpack (NULL, size, wire);
    CU_ASSERT_PTR_NOT_NULL_FATAL (sealed);
    ProtobufCBinaryData original = sealed->disclosures [0]->value;
    sealed->disclosures [0]->value.data = swapped;
    sealed->disclosures [0]->value.len = swapped_size;
    size_t tampered_size = 0;
    uint8_t *tampered = s_pack (&sealed->base, &tampered_size);
    sealed->disclosures [0]->value = original;  //  so that free_unpacked frees its own
    rhannu__v1__sealed__free_unpacked (sealed, NULL);
    CU_ASSERT_EQUAL (s_receive (tampered, tampered_size, s_store, rh_time_now_ms ()),
                     RH_E_COMMITMENT);
    //  The header is intact and signed: the field is what was changed.
    rh_envelope_t *envelope = NULL;
    CU_ASSERT_EQUAL (
        rh_certstore_receive (s_store, tampered, tampered_size, rh_time_now_ms (), &envelope),
        RH_E_COMMITMENT);
    free (tampered);
    free (wire);
    free (committed);
    free (swapped);
}

static void
test_a_disclosure_cannot_smuggle_another_field (void)
{
    //  Field 3 (categories) disclosed with a value that holds field 4 (narrative): a broker
    //  allowing categories would otherwise pass the narrative on.
    size_t value_size = 0;
    uint8_t *value = s_narrative (12, &value_size);
    test_disclosure_t disclosure = { 3, value, value_size };
    CU_ASSERT_EQUAL (s_receive_forged (1, &disclosure), RH_E_MALFORMED);
    //  A field number the body type does not have.
    disclosure.field = 99;
    CU_ASSERT_EQUAL (s_receive_forged (1, &disclosure), RH_E_MALFORMED);
    free (value);
}

static void
test_an_unknown_schema_version_is_refused (void)
{
    size_t value_size = 0;
    uint8_t *value = s_narrative (5, &value_size);
    test_disclosure_t disclosure = { 4, value, value_size };
    CU_ASSERT_EQUAL (s_receive_forged (2, &disclosure), RH_E_VERSION);
    free (value);
}

static void
test_garbage_and_empty_input_is_malformed (void)
{
    rh_envelope_t *envelope = NULL;
    CU_ASSERT_EQUAL (rh_envelope_decode (NULL, 0, &envelope), RH_E_MALFORMED);
    CU_ASSERT_EQUAL (rh_envelope_decode ((const uint8_t *) "", 0, &envelope), RH_E_MALFORMED);
    CU_ASSERT_EQUAL (rh_envelope_decode ((const uint8_t *) "\xff\xff\xff", 3, &envelope),
                     RH_E_MALFORMED);
    CU_ASSERT_EQUAL (rh_envelope_decode ((const uint8_t *) "hello, broker", 13, &envelope),
                     RH_E_MALFORMED);
    //  A well-formed Sealed with an empty header.
    uint8_t signature [64] = { 0 };
    size_t size = 0;
    uint8_t *wire = test_seal (NULL, (const uint8_t *) "", 0, signature, 64, NULL, 0, &size);
    CU_ASSERT_EQUAL (rh_envelope_decode (wire, size, &envelope), RH_E_MALFORMED);
    free (wire);
    CU_ASSERT_PTR_NULL (envelope);
}

static void
test_bad_text_and_unknown_enum_values_in_a_body_are_malformed (void)
{
    size_t value_size = 0;
    Rhannu__V1__Referral referral = RHANNU__V1__REFERRAL__INIT;
    referral.narrative = "caf\xc3";  //  truncated UTF-8
    uint8_t *value = s_pack (&referral.base, &value_size);
    test_disclosure_t disclosure = { 4, value, value_size };
    CU_ASSERT_EQUAL (s_receive_forged (1, &disclosure), RH_E_MALFORMED);
    free (value);
    referral.narrative = "\xc0\xaf";  //  overlong '/'
    value = s_pack (&referral.base, &value_size);
    disclosure = (test_disclosure_t){ 4, value, value_size };
    CU_ASSERT_EQUAL (s_receive_forged (1, &disclosure), RH_E_MALFORMED);
    free (value);
    referral.narrative = "Cymraeg: ŵ ŷ — 👍";  //  valid UTF-8 passes
    value = s_pack (&referral.base, &value_size);
    disclosure = (test_disclosure_t){ 4, value, value_size };
    CU_ASSERT_EQUAL (s_receive_forged (1, &disclosure), RH_OK);
    free (value);

    Rhannu__V1__Referral unknown = RHANNU__V1__REFERRAL__INIT;
    unknown.proposed_rag = (Rhannu__V1__Rag) 77;
    value = s_pack (&unknown.base, &value_size);
    disclosure = (test_disclosure_t){ 5, value, value_size };
    CU_ASSERT_EQUAL (s_receive_forged (1, &disclosure), RH_E_MALFORMED);
    free (value);
}

static void
test_building_refuses_values_that_break_the_rules (void)
{
    CU_ASSERT_PTR_NULL (rh_envelope_new (RH_KIND_UNSET));
    CU_ASSERT_PTR_NULL (rh_envelope_new (RH_KIND_COUNT));
    rh_envelope_t *envelope = rh_envelope_new (RH_KIND_OUTCOME);
    CU_ASSERT_PTR_NOT_NULL_FATAL (envelope);
    CU_ASSERT_EQUAL (rh_envelope_set_lang (envelope, "fr"), -1);
    CU_ASSERT_EQUAL (rh_envelope_set_msg_id (envelope, "has space"), -1);
    CU_ASSERT_EQUAL (rh_envelope_set_msg_id (envelope, ""), -1);
    CU_ASSERT_EQUAL (rh_envelope_set_case_id (envelope, "a/b"), -1);
    CU_ASSERT_EQUAL (rh_envelope_set_created (envelope, -1), -1);
    CU_ASSERT_EQUAL (rh_envelope_add_to_agency (envelope, "Not An Id", NULL), -1);
    CU_ASSERT_EQUAL (rh_envelope_add_to_front_door (envelope, "", NULL), -1);
    CU_ASSERT_EQUAL (rh_envelope_set_author (envelope, "p\xff", NULL, NULL, NULL, NULL), -1);
    //  The wrong body type for the kind.
    Rhannu__V1__Referral referral = RHANNU__V1__REFERRAL__INIT;
    CU_ASSERT_EQUAL (rh_envelope_set_body (envelope, &referral.base), -1);
    //  No body, no signature.
    CU_ASSERT_EQUAL (rh_envelope_sign (envelope, s_la), -1);
    uint8_t *wire = NULL;
    size_t size = 0;
    CU_ASSERT_EQUAL (rh_envelope_encode (envelope, &wire, &size), -1);
    Rhannu__V1__Outcome outcome = RHANNU__V1__OUTCOME__INIT;
    outcome.decision = RHANNU__V1__DECISION__NO_FURTHER_ACTION;
    CU_ASSERT_EQUAL (rh_envelope_set_msg_id (envelope, "la-newport:0001"), 0);
    CU_ASSERT_EQUAL (rh_envelope_set_body (envelope, &outcome.base), 0);
    CU_ASSERT_EQUAL (rh_envelope_sign (envelope, s_la), 0);
    CU_ASSERT_STRING_EQUAL (rh_envelope_msg_id (envelope), "la-newport:0001");
    //  Once signed, it cannot change.
    CU_ASSERT_EQUAL (rh_envelope_set_case_id (envelope, "other"), -1);
    CU_ASSERT_EQUAL (rh_envelope_set_body (envelope, &outcome.base), -1);
    rh_envelope_destroy (&envelope);
}

//  Every body field of every kind is numbered below 64: an agreement shares fields by a 64-bit
//  mask (rh_agreement), so a field numbered higher would be withheld from every recipient.
static void
test_body_fields_are_numbered_below_64 (void)
{
    for (int kind = RH_KIND_UNSET + 1; kind < RH_KIND_COUNT; kind++) {
        const ProtobufCMessageDescriptor *body = rh_envelope_body_descriptor ((rh_kind_t) kind);
        for (unsigned i = 0; body && i < body->n_fields; i++) {
            if (body->fields [i].id >= 64)
                fprintf (stderr, "\n  %s.%s is numbered %u", body->name, body->fields [i].name,
                         body->fields [i].id);
            CU_ASSERT (body->fields [i].id < 64);
        }
    }
}

static void
test_schema_names_map_both_ways (void)
{
    CU_ASSERT_STRING_EQUAL (rh_envelope_kind_name (RH_KIND_REFERRAL), "REFERRAL");
    CU_ASSERT_STRING_EQUAL (rh_envelope_kind_name (RH_KIND_USER_FEEDBACK), "USER_FEEDBACK");
    CU_ASSERT_PTR_NULL (rh_envelope_kind_name (RH_KIND_UNSET));
    CU_ASSERT_PTR_NULL (rh_envelope_kind_name (RH_KIND_COUNT));
    CU_ASSERT_EQUAL (rh_envelope_kind_from_name ("OUTCOME"), RH_KIND_OUTCOME);
    CU_ASSERT_PTR_NOT_NULL (rh_envelope_body_descriptor (RH_KIND_CHALLENGE));
    CU_ASSERT_PTR_NULL (rh_envelope_body_descriptor (RH_KIND_UNSET));
    CU_ASSERT_PTR_NULL (rh_envelope_body_descriptor (RH_KIND_COUNT));
    CU_ASSERT_EQUAL (rh_envelope_kind_from_name ("KIND_UNSET"), RH_KIND_UNSET);
    CU_ASSERT_EQUAL (rh_envelope_kind_from_name ("nonsense"), RH_KIND_UNSET);
    CU_ASSERT_EQUAL (rh_envelope_field_number (RH_KIND_OUTCOME, "rationale"), 2);
    CU_ASSERT_EQUAL (rh_envelope_field_number (RH_KIND_OUTCOME, "nonsense"), 0);
    CU_ASSERT_STRING_EQUAL (rh_envelope_field_name (RH_KIND_REFERRAL, 4), "narrative");
    CU_ASSERT_PTR_NULL (rh_envelope_field_name (RH_KIND_REFERRAL, 99));
    CU_ASSERT_TRUE (rh_envelope_enum_known ("AgencyType", "LA_FRONT_DOOR"));
    CU_ASSERT_FALSE (rh_envelope_enum_known ("AgencyType", "POLIS"));
    CU_ASSERT_FALSE (rh_envelope_enum_known ("Nothing", "POLICE"));
    CU_ASSERT_TRUE (rh_identity_valid_type ("BROKER"));
    CU_ASSERT_FALSE (rh_identity_valid_type ("AGENCY_TYPE_UNSET"));
    CU_ASSERT_TRUE (rh_envelope_valid_id ("la-newport.iaa"));
    CU_ASSERT_FALSE (rh_envelope_valid_id ("-leading-dash"));
    CU_ASSERT_FALSE (rh_envelope_valid_id ("UPPER"));
}

static void
test_committed_vectors_still_verify_from_their_stored_bytes (void)
{
    //  Messages signed when the vectors were made, with keys since destroyed: what an auditor
    //  holds years later. Only the public PKI in tests/vectors/pki is needed.
    rh_certstore_t *store = rh_certstore_load_dir (RH_SOURCE_DIR "/tests/vectors/pki");
    CU_ASSERT_PTR_NOT_NULL_FATAL (store);
    static const char *names [] = { "seed-referral", "seed-referral-redacted",
                                    "seed-outcome",  "seed-update",
                                    "seed-error",    "seed-alert-redacted" };
    for (size_t i = 0; i < sizeof names / sizeof names [0]; i++) {
        char path [PATH_MAX];
        rh_file_path (path, sizeof path, "%s/tests/fuzz/corpus/envelope/%s", RH_SOURCE_DIR,
                      names [i]);
        uint8_t *bytes = NULL;
        size_t size = 0;
        CU_ASSERT_EQUAL_FATAL (rh_file_read (path, RH_MAX_ENVELOPE, &bytes, &size), 0);
        rh_envelope_t *envelope = NULL;
        CU_ASSERT_EQUAL (rh_envelope_decode (bytes, size, &envelope), RH_OK);
        if (envelope)
            CU_ASSERT_EQUAL (rh_certstore_verify (store, envelope, rh_envelope_created (envelope)),
                             RH_OK);
        rh_envelope_destroy (&envelope);
        free (bytes);
    }
    rh_certstore_destroy (&store);
}

static void
test_proto_checks_the_signature_with_the_key_it_is_given (void)
{
    //  proto knows no PKI: rh_envelope_verify_key takes a bare key; certs finds the right one.
    rh_envelope_t *envelope = s_signed (s_police, RH_KIND_REFERRAL);
    CU_ASSERT_PTR_NOT_NULL_FATAL (envelope);
    const rh_identity_t *police = NULL, *la = NULL;
    int64_t now = rh_time_now_ms ();
    CU_ASSERT_EQUAL_FATAL (rh_certstore_signer (s_store, "police-gwent",
                                                rh_envelope_signer_fingerprint (envelope), now,
                                                &police),
                           RH_OK);
    CU_ASSERT_EQUAL_FATAL (
        rh_certstore_signer (s_store, "la-newport", rh_signer_fingerprint (s_la), now, &la), RH_OK);
    CU_ASSERT_EQUAL (rh_envelope_verify_key (envelope, police->sign_key), RH_OK);
    CU_ASSERT_EQUAL (rh_envelope_verify_key (envelope, la->sign_key), RH_E_SIG);
    rh_envelope_destroy (&envelope);
    //  An envelope that is neither signed nor decoded has nothing to verify.
    envelope = rh_envelope_new (RH_KIND_REFERRAL);
    CU_ASSERT_PTR_NOT_NULL_FATAL (envelope);
    CU_ASSERT_EQUAL (rh_envelope_verify_key (envelope, police->sign_key), RH_E_MALFORMED);
    CU_ASSERT_EQUAL (rh_certstore_verify (s_store, envelope, now), RH_E_MALFORMED);
    rh_envelope_destroy (&envelope);
}

//  A reply names the header it answers by digest: set on the draft, signed, and read back
//  after decoding; a digest that is not 32 bytes, or one with nothing named, is malformed.
static void
test_a_reply_is_bound_to_the_header_it_answers (void)
{
    rh_envelope_t *referral = s_signed (s_police, RH_KIND_REFERRAL);
    CU_ASSERT_PTR_NOT_NULL_FATAL (referral);
    size_t header_size = 0;
    const uint8_t *header = rh_envelope_header_bytes (referral, &header_size);
    uint8_t digest [RH_DIGEST_LEN];
    rh_sha256 (digest, header, header_size);
    rh_envelope_t *reply = rh_envelope_new (RH_KIND_OUTCOME);
    CU_ASSERT_PTR_NOT_NULL_FATAL (reply);
    CU_ASSERT_FALSE (rh_envelope_has_in_reply_sha256 (reply));
    CU_ASSERT_EQUAL (rh_envelope_set_in_reply_to (reply, rh_envelope_msg_id (referral)), 0);
    CU_ASSERT_STRING_EQUAL (rh_envelope_in_reply_to (reply), rh_envelope_msg_id (referral));
    CU_ASSERT_EQUAL (rh_envelope_set_in_reply_sha256 (reply, digest), 0);
    CU_ASSERT_TRUE (rh_envelope_has_in_reply_sha256 (reply));
    rh_envelope_set_sequence (reply, 9);
    Rhannu__V1__Outcome body = RHANNU__V1__OUTCOME__INIT;
    body.rationale = "no role";
    CU_ASSERT_EQUAL_FATAL (rh_envelope_set_body (reply, &body.base), 0);
    CU_ASSERT_EQUAL_FATAL (rh_envelope_sign (reply, s_la), 0);
    CU_ASSERT_EQUAL (rh_envelope_set_in_reply_sha256 (reply, digest), -1);  //  signed: fixed
    uint8_t *wire = NULL;
    size_t size = 0;
    CU_ASSERT_EQUAL_FATAL (rh_envelope_encode (reply, &wire, &size), 0);
    rh_envelope_t *decoded = NULL;
    CU_ASSERT_EQUAL_FATAL (rh_envelope_decode (wire, size, &decoded), RH_OK);
    CU_ASSERT_EQUAL (rh_certstore_verify (s_store, decoded, rh_time_now_ms ()), RH_OK);
    CU_ASSERT_TRUE_FATAL (rh_envelope_has_in_reply_sha256 (decoded));
    CU_ASSERT_EQUAL (memcmp (rh_envelope_in_reply_sha256 (decoded), digest, RH_DIGEST_LEN), 0);
    CU_ASSERT_PTR_NULL (rh_envelope_in_reply_sha256 (referral));
    free (wire);
    rh_envelope_destroy (&decoded);
    rh_envelope_destroy (&reply);
    rh_envelope_destroy (&referral);

    //  Forged headers: a short digest, and a digest naming no message.
    for (int variant = 0; variant < 2; variant++) {
        Rhannu__V1__Header forged = RHANNU__V1__HEADER__INIT;
        forged.schema_version = RH_SCHEMA_VERSION;
        forged.msg_id = "forged-2";
        forged.sender = "la-newport";
        forged.signer_cert_sha256.data = (uint8_t *) rh_signer_fingerprint (s_la);
        forged.signer_cert_sha256.len = 32;
        forged.kind = RHANNU__V1__MESSAGE_KIND__OUTCOME;
        forged.in_reply_to = variant == 0 ? "referral-1" : "";
        forged.in_reply_sha256.data = digest;
        forged.in_reply_sha256.len = variant == 0 ? RH_DIGEST_LEN - 1 : RH_DIGEST_LEN;
        size_t forged_size = 0;
        uint8_t *forged_bytes = s_pack (&forged.base, &forged_size);
        uint8_t *sealed = test_seal (s_la, forged_bytes, forged_size, NULL, 0, NULL, 0, &size);
        CU_ASSERT_EQUAL (s_receive (sealed, size, s_store, rh_time_now_ms ()), RH_E_MALFORMED);
        free (sealed);
        free (forged_bytes);
    }
}

void
init_rh_envelope_tests (void)
{
    CU_pSuite suite = CU_add_suite ("rh_envelope", s_suite_init, s_suite_clean);
    CU_add_test (suite, "a reply is bound to the header it answers",
                 test_a_reply_is_bound_to_the_header_it_answers);
    CU_add_test (suite, "a police referral is signed, sent and verified",
                 test_a_police_referral_is_signed_sent_and_verified);
    CU_add_test (suite, "every body kind round-trips unchanged",
                 test_every_body_kind_round_trips_unchanged);
    CU_add_test (suite, "every flipped signature bit is refused",
                 test_every_flipped_signature_bit_is_refused);
    CU_add_test (suite, "every changed byte of a message is refused",
                 test_every_changed_byte_of_a_message_is_refused);
    CU_add_test (suite, "proto checks the signature with the key it is given",
                 test_proto_checks_the_signature_with_the_key_it_is_given);
    CU_add_test (suite, "a flipped header bit is reported as a bad signature",
                 test_a_flipped_header_bit_is_reported_as_a_bad_signature);
    CU_add_test (suite, "a signature by another key is refused",
                 test_a_signature_by_another_key_is_refused);
    CU_add_test (suite, "another agency's certificate cannot be claimed",
                 test_another_agencys_certificate_cannot_be_claimed);
    CU_add_test (suite, "a truncated signature is refused", test_a_truncated_signature_is_refused);
    CU_add_test (suite, "oversize messages and fields are refused",
                 test_oversize_messages_and_fields_are_refused);
    CU_add_test (suite, "signers with unusable certificates are refused",
                 test_signers_with_unusable_certificates_are_refused);
    CU_add_test (suite, "a redacted message still verifies and withholds the field",
                 test_a_redacted_message_still_verifies_and_withholds_the_field);
    CU_add_test (suite, "a field that does not match its commitment is refused",
                 test_a_field_that_does_not_match_its_commitment_is_refused);
    CU_add_test (suite, "a disclosure cannot smuggle another field",
                 test_a_disclosure_cannot_smuggle_another_field);
    CU_add_test (suite, "an unknown schema version is refused",
                 test_an_unknown_schema_version_is_refused);
    CU_add_test (suite, "garbage and empty input is malformed",
                 test_garbage_and_empty_input_is_malformed);
    CU_add_test (suite, "bad text and unknown enum values in a body are malformed",
                 test_bad_text_and_unknown_enum_values_in_a_body_are_malformed);
    CU_add_test (suite, "building refuses values that break the rules",
                 test_building_refuses_values_that_break_the_rules);
    CU_add_test (suite, "schema names map both ways", test_schema_names_map_both_ways);
    CU_add_test (suite, "body fields are numbered below 64",
                 test_body_fields_are_numbered_below_64);
    CU_add_test (suite, "committed vectors still verify from their stored bytes",
                 test_committed_vectors_still_verify_from_their_stored_bytes);
}
