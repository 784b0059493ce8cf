/*  =========================================================================
    test_rh_agreement - agreement files, decisions, redaction, loading

    The decision matrix runs every row against tests/vectors/agreements/
    regional.yaml (and da-hub.yaml for the multi-agreement rows); each row
    states the expected result, the deciding rule and the missing condition.
    =========================================================================
*/
#include "test_helpers.h"
#include "rh_policy.h"
#include "rhannu.pb-c.h"

#define VECTORS RH_SOURCE_DIR "/tests/vectors/agreements"

static rh_agreement_t *
s_load_vector (const char *name)
{
    char path [PATH_MAX], errors [4096] = "";
    rh_file_path (path, sizeof path, "%s/%s", VECTORS, name);
    uint8_t *data = NULL;
    size_t size = 0;
    CU_ASSERT_FATAL (rh_file_read (path, RH_MAX_AGREEMENT_FILE, &data, &size) == 0);
    rh_agreement_t *agreement =
        rh_agreement_parse ((const char *) data, size, name, errors, sizeof errors);
    if (!agreement)
        fprintf (stderr, "%s", errors);
    free (data);
    return agreement;
}

//  --- The parties of the matrix, as their certificates describe them ---------------------------

typedef struct {
    const char *id;
    uint32_t type;
    const char *la;
} s_agency_t;

static const s_agency_t s_agencies [] = {
    { "police-gwent", RHANNU__V1__AGENCY_TYPE__POLICE, "newport" },
    { "health-abb", RHANNU__V1__AGENCY_TYPE__HEALTH, "newport" },
    { "education-newport", RHANNU__V1__AGENCY_TYPE__EDUCATION, "newport" },
    { "vcs-da", RHANNU__V1__AGENCY_TYPE__VCS, "newport" },
    { "la-newport", RHANNU__V1__AGENCY_TYPE__LA_FRONT_DOOR, "newport" },
    { "la-newport-adults", RHANNU__V1__AGENCY_TYPE__LA_ADULTS, "newport" },
    { "la-cardiff", RHANNU__V1__AGENCY_TYPE__LA_FRONT_DOOR, "cardiff" },
    { "la-newport-eh", RHANNU__V1__AGENCY_TYPE__LA_EARLY_HELP, "newport" },
    { "cmet-panel", RHANNU__V1__AGENCY_TYPE__GOVERNANCE, "" },
    { "stranger", RHANNU__V1__AGENCY_TYPE__POLICE, "newport" },
    //  a party whose certificate says HEALTH while the agreement says LA_FRONT_DOOR
    { "la-cardiff-impostor", RHANNU__V1__AGENCY_TYPE__HEALTH, "cardiff" },
};

static void
s_ref (const char *id, rh_party_ref_t *ref)
{
    //  "la-cardiff-impostor" is checked under the id la-cardiff with the wrong type.
    for (size_t i = 0; i < sizeof s_agencies / sizeof s_agencies [0]; i++)
        if (strcmp (s_agencies [i].id, id) == 0) {
            bool impostor = strcmp (id, "la-cardiff-impostor") == 0;
            ref->id = impostor ? "la-cardiff" : id;
            ref->type = s_agencies [i].type;
            ref->la = s_agencies [i].la;
            ref->region = "south-east";
            return;
        }
    CU_FAIL_FATAL ("unknown agency in the matrix");
}

//  --- The matrix --------------------------------------------------------------------------------

enum { C_NONE = 0, C_GIVEN, C_WITHHELD, C_NOT_SOUGHT, C_HARM, C_LACKS };  //  ConsentState + 1

typedef struct {
    const char *name;
    const char *from;
    const char *to;
    rh_kind_t kind;
    const char *purpose;
    uint32_t route;
    int consent;  //  C_*: C_NONE means the message has no consent record
    uint32_t capacity;
    bool assessor;
    bool family_aware;
    bool not_aware_reason;
    uint32_t scope;  //  one AgencyType the consent covers; 0: not limited
    uint32_t category;
    uint32_t subject_kind;
    const char *home_la;
    bool transfer_cross_border;
    rh_decide_t expect;
    const char *rule;
    const char *missing;
} s_row_t;

#define CP       RHANNU__V1__ROUTE__CHILD_PROTECTION
#define CAS      RHANNU__V1__ROUTE__CARE_AND_SUPPORT
#define LACKS    RHANNU__V1__CAPACITY__LACKS_CAPACITY
#define HAS      RHANNU__V1__CAPACITY__HAS_CAPACITY
#define DA       RHANNU__V1__CATEGORY__DOMESTIC_ABUSE
#define CCE      RHANNU__V1__CATEGORY__CCE
#define NEGLECT  RHANNU__V1__CATEGORY__NEGLECT
#define ALLEGE   RHANNU__V1__CATEGORY__PROFESSIONAL_ALLEGATION
#define CHILD    RHANNU__V1__SUBJECT_KIND__CHILD
#define ADULT    RHANNU__V1__SUBJECT_KIND__ADULT
#define PLACE    RHANNU__V1__SUBJECT_KIND__PLACE
#define T_HEALTH RHANNU__V1__AGENCY_TYPE__HEALTH
#define T_EH     RHANNU__V1__AGENCY_TYPE__LA_EARLY_HELP

static const s_row_t s_matrix [] = {
    //  name                                    from            to              kind                   purpose                route consent     cap    assessor aware reason scope cat   subject home      xb     expect               rule    missing
    { "CP referral needs no consent", "police-gwent", "la-newport", RH_KIND_REFERRAL,
      "SAFEGUARDING_CHILD", CP, C_NOT_SOUGHT, 0, false, false, false, 0, DA, CHILD, "newport",
      false, RH_DECIDE_ALLOW, "R1", "" },
    { "care and support without consent", "police-gwent", "la-newport", RH_KIND_REFERRAL,
      "SAFEGUARDING_CHILD", CAS, C_NONE, 0, false, false, false, 0, DA, CHILD, "newport", false,
      RH_DECIDE_CONDITION, "R1", "consent" },
    { "care and support with consent", "police-gwent", "la-newport", RH_KIND_REFERRAL,
      "SAFEGUARDING_CHILD", CAS, C_GIVEN, 0, false, true, false, 0, DA, CHILD, "newport", false,
      RH_DECIDE_ALLOW, "R1", "" },
    { "family not aware, no reason", "police-gwent", "la-newport", RH_KIND_REFERRAL,
      "SAFEGUARDING_CHILD", CAS, C_GIVEN, 0, false, false, false, 0, DA, CHILD, "newport", false,
      RH_DECIDE_CONDITION, "R1", "family_aware" },
    { "family not aware, reason recorded", "police-gwent", "la-newport", RH_KIND_REFERRAL,
      "SAFEGUARDING_CHILD", CAS, C_GIVEN, 0, false, false, true, 0, DA, CHILD, "newport", false,
      RH_DECIDE_ALLOW, "R1", "" },
    { "consent withheld", "vcs-da", "la-newport", RH_KIND_REFERRAL, "SAFEGUARDING_ADULT", CAS,
      C_WITHHELD, HAS, false, true, false, 0, DA, ADULT, "newport", false, RH_DECIDE_CONDITION,
      "R1", "consent" },
    { "consent not sought", "education-newport", "la-newport", RH_KIND_REFERRAL,
      "SAFEGUARDING_CHILD", CAS, C_NOT_SOUGHT, 0, false, false, false, 0, NEGLECT, CHILD, "newport",
      false, RH_DECIDE_CONDITION, "R1", "consent" },
    { "significant harm", "police-gwent", "la-newport", RH_KIND_REFERRAL, "SAFEGUARDING_CHILD", CAS,
      C_HARM, 0, false, false, false, 0, DA, CHILD, "newport", false, RH_DECIDE_ALLOW, "R1", "" },
    { "lacks capacity, assessor recorded", "health-abb", "la-newport", RH_KIND_REFERRAL,
      "SAFEGUARDING_ADULT", CAS, C_LACKS, LACKS, true, true, false, 0, NEGLECT, ADULT, "newport",
      false, RH_DECIDE_ALLOW, "R1", "" },
    { "lacks capacity, no assessor", "health-abb", "la-newport", RH_KIND_REFERRAL,
      "SAFEGUARDING_ADULT", CAS, C_LACKS, LACKS, false, true, false, 0, NEGLECT, ADULT, "newport",
      false, RH_DECIDE_CONDITION, "R1", "capacity_assessment" },
    { "lacks capacity claimed, has capacity", "health-abb", "la-newport", RH_KIND_REFERRAL,
      "SAFEGUARDING_ADULT", CAS, C_LACKS, HAS, true, true, false, 0, NEGLECT, ADULT, "newport",
      false, RH_DECIDE_CONDITION, "R1", "capacity_assessment" },
    { "wrong front door, not exploitation", "police-gwent", "la-cardiff", RH_KIND_REFERRAL,
      "SAFEGUARDING_CHILD", CAS, C_GIVEN, 0, false, true, false, 0, DA, CHILD, "newport", false,
      RH_DECIDE_DENY_RULE, "R99", "" },
    { "cross-border exploitation", "police-gwent", "la-cardiff", RH_KIND_REFERRAL,
      "SAFEGUARDING_CHILD", CAS, C_NONE, 0, false, false, false, 0, CCE, CHILD, "newport", false,
      RH_DECIDE_ALLOW, "R5", "" },
    { "exploitation at home is not cross-border", "police-gwent", "la-newport", RH_KIND_REFERRAL,
      "SAFEGUARDING_CHILD", CAS, C_NONE, 0, false, false, false, 0, CCE, CHILD, "newport", false,
      RH_DECIDE_CONDITION, "R1", "consent" },
    { "not a party", "stranger", "la-newport", RH_KIND_REFERRAL, "SAFEGUARDING_CHILD", CP, C_NONE,
      0, false, false, false, 0, DA, CHILD, "newport", false, RH_DECIDE_NOT_PARTY, "", "party" },
    { "certificate type disagrees", "police-gwent", "la-cardiff-impostor", RH_KIND_REFERRAL,
      "SAFEGUARDING_CHILD", CP, C_NONE, 0, false, false, false, 0, CCE, CHILD, "newport", false,
      RH_DECIDE_NOT_PARTY, "", "party" },
    { "referral to a partner", "police-gwent", "health-abb", RH_KIND_REFERRAL, "SAFEGUARDING_CHILD",
      CP, C_NONE, 0, false, false, false, 0, NEGLECT, CHILD, "newport", false, RH_DECIDE_DENY_RULE,
      "R99", "" },
    { "explicit deny rule", "education-newport", "la-newport", RH_KIND_INFO_REQUEST,
      "SAFEGUARDING_CHILD", 0, C_NONE, 0, false, false, false, 0, 0, 0, "", false,
      RH_DECIDE_DENY_RULE, "R90", "" },
    { "outcome to the referrer", "la-newport", "police-gwent", RH_KIND_OUTCOME, "REFERRER_FEEDBACK",
      0, C_NONE, 0, false, false, false, 0, 0, 0, "", false, RH_DECIDE_ALLOW, "R3", "" },
    { "outcome to a non-referrer", "la-newport", "la-newport-eh", RH_KIND_OUTCOME,
      "REFERRER_FEEDBACK", 0, C_NONE, 0, false, false, false, 0, 0, 0, "", false,
      RH_DECIDE_DENY_RULE, "R99", "" },
    { "transfer within consent scope", "la-newport", "health-abb", RH_KIND_TRANSFER,
      "SAFEGUARDING_ADULT", 0, C_GIVEN, 0, false, true, false, T_HEALTH, 0, 0, "", false,
      RH_DECIDE_ALLOW, "R2", "" },
    { "transfer outside consent scope", "la-newport", "health-abb", RH_KIND_TRANSFER,
      "SAFEGUARDING_ADULT", 0, C_GIVEN, 0, false, true, false, T_EH, 0, 0, "", false,
      RH_DECIDE_CONDITION, "R2", "consent_scope" },
    { "transfer, consent withheld", "la-newport", "health-abb", RH_KIND_TRANSFER,
      "SAFEGUARDING_ADULT", 0, C_WITHHELD, HAS, false, true, false, 0, 0, 0, "", false,
      RH_DECIDE_CONDITION, "R2", "consent" },
    { "transfer, consent not limited", "la-newport", "la-newport-eh", RH_KIND_TRANSFER,
      "SAFEGUARDING_CHILD", 0, C_GIVEN, 0, false, true, false, 0, 0, 0, "", false, RH_DECIDE_ALLOW,
      "R2", "" },
    { "cross-border transfer to a front door", "la-newport", "la-cardiff", RH_KIND_TRANSFER,
      "SAFEGUARDING_CHILD", 0, C_NONE, 0, false, false, false, 0, 0, 0, "", true,
      RH_DECIDE_DENY_RULE, "R99", "" },
    { "copy to the exploitation panel", "la-newport", "cmet-panel", RH_KIND_TRANSFER,
      "SAFEGUARDING_CHILD", 0, C_NONE, 0, false, false, false, 0, 0, 0, "", true, RH_DECIDE_ALLOW,
      "R6", "" },
    { "allegation to a purpose holder", "health-abb", "la-newport-adults", RH_KIND_REFERRAL,
      "PROFESSIONAL_ALLEGATION", 0, C_NONE, 0, false, false, false, 0, ALLEGE, PLACE, "newport",
      false, RH_DECIDE_ALLOW, "R8", "" },
    { "allegation to another front door", "health-abb", "la-newport", RH_KIND_REFERRAL,
      "PROFESSIONAL_ALLEGATION", 0, C_NONE, 0, false, false, false, 0, ALLEGE, PLACE, "newport",
      false, RH_DECIDE_ALLOW, "R8b", "" },
    { "purpose not in the agreement", "police-gwent", "la-newport", RH_KIND_REFERRAL, "MARKETING",
      CP, C_NONE, 0, false, false, false, 0, DA, CHILD, "newport", false, RH_DECIDE_DENY_RULE,
      "R99", "" },
    { "no purpose given", "police-gwent", "la-newport", RH_KIND_REFERRAL, "", CP, C_NONE, 0, false,
      false, false, 0, DA, CHILD, "newport", false, RH_DECIDE_DENY_RULE, "R99", "" },
    { "status update from a partner", "vcs-da", "police-gwent", RH_KIND_STATUS_UPDATE,
      "SAFEGUARDING_CHILD", 0, C_NONE, 0, false, false, false, 0, 0, 0, "", false,
      RH_DECIDE_DENY_RULE, "R99", "" },
};

static void
s_facts (const s_row_t *row, rh_facts_t *facts)
{
    memset (facts, 0, sizeof *facts);
    facts->kind = row->kind;
    facts->sender = row->from;
    facts->sender_unit = "";
    facts->purpose = row->purpose;
    facts->route = row->route;
    facts->has_consent = row->consent != C_NONE;
    facts->consent_state = row->consent == C_NONE ? 0 : (uint32_t) row->consent;
    facts->capacity = row->capacity;
    facts->capacity_assessor = row->assessor;
    facts->family_aware = row->family_aware;
    facts->not_aware_reason = row->not_aware_reason;
    facts->consent_scope = row->scope ? 1u << row->scope : 0;
    facts->categories = row->category ? 1u << row->category : 0;
    facts->subject_kinds = row->subject_kind ? 1u << row->subject_kind : 0;
    if (*row->home_la) {
        facts->home_las [0] = row->home_la;
        facts->home_la_count = 1;
    }
    facts->transfer_cross_border = row->transfer_cross_border;
    facts->transfer_to_la = "";
}

static void
test_decision_matrix (void)
{
    rh_agreement_t *agreement = s_load_vector ("regional.yaml");
    CU_ASSERT_FATAL (agreement != NULL);
    size_t rows = sizeof s_matrix / sizeof s_matrix [0];
    for (size_t i = 0; i < rows; i++) {
        const s_row_t *row = &s_matrix [i];
        rh_facts_t facts;
        s_facts (row, &facts);
        rh_party_ref_t sender, recipient;
        s_ref (row->from, &sender);
        s_ref (row->to, &recipient);
        rh_decision_t decision;
        rh_agreement_decide (agreement, &facts, &sender, &recipient, &decision);
        bool good = decision.result == row->expect && strcmp (decision.rule_id, row->rule) == 0
                    && strcmp (decision.missing, row->missing) == 0;
        if (!good)
            fprintf (stderr, "\n  matrix row '%s': got %d rule '%s' missing '%s' (%s)\n", row->name,
                     decision.result, decision.rule_id, decision.missing, decision.reason);
        CU_ASSERT (good);
        //  Every refusal explains itself; an allowed delivery always names its rule.
        if (decision.result != RH_DECIDE_ALLOW) {
            CU_ASSERT (strlen (decision.reason) > 20);
        }
        else {
            CU_ASSERT (*decision.rule_id && decision.fields != 0);
        }
    }
    rh_agreement_destroy (&agreement);
}

//  The field allow-list: the referrer's outcome carries the decision, never the screeners'
//  key directions.
static void
test_field_allow_list (void)
{
    rh_agreement_t *agreement = s_load_vector ("regional.yaml");
    CU_ASSERT_FATAL (agreement != NULL);
    const s_row_t *outcome = NULL;
    for (size_t i = 0; i < sizeof s_matrix / sizeof s_matrix [0]; i++)
        if (!strcmp (s_matrix [i].name, "outcome to the referrer"))
            outcome = &s_matrix [i];
    CU_ASSERT_FATAL (outcome != NULL);
    rh_facts_t facts;
    s_facts (outcome, &facts);
    rh_party_ref_t sender, recipient;
    s_ref (outcome->from, &sender);
    s_ref (outcome->to, &recipient);
    rh_decision_t decision;
    rh_agreement_decide (agreement, &facts, &sender, &recipient, &decision);
    CU_ASSERT_FATAL (decision.result == RH_DECIDE_ALLOW);
    uint32_t decision_field = rh_envelope_field_number (RH_KIND_OUTCOME, "decision");
    uint32_t directions = rh_envelope_field_number (RH_KIND_OUTCOME, "key_directions");
    uint32_t rag = rh_envelope_field_number (RH_KIND_OUTCOME, "rag");
    CU_ASSERT (decision.fields & (1ull << decision_field));
    CU_ASSERT (!(decision.fields & (1ull << directions)));
    CU_ASSERT (!(decision.fields & (1ull << rag)));
    rh_agreement_destroy (&agreement);
}

//  --- Redaction end to end: decide, redact, and the recipient still verifies -------------------

static void
test_redaction_verifies (void)
{
    const test_pki_t *pki = test_pki ();
    rh_agreement_t *agreement = s_load_vector ("regional.yaml");
    CU_ASSERT_FATAL (agreement != NULL);
    rh_signer_t *signer = test_signer (pki->pki, "health-abb");
    CU_ASSERT_FATAL (signer != NULL);
    //  A staff-allegation referral about a care home: la-newport (not holding the purpose)
    //  gets the bare facts only.
    Rhannu__V1__Referral referral = RHANNU__V1__REFERRAL__INIT;
    Rhannu__V1__Subject home = RHANNU__V1__SUBJECT__INIT;
    home.kind = RHANNU__V1__SUBJECT_KIND__PLACE;
    home.home_la = "newport";
    home.place_type = "care home";
    Rhannu__V1__Subject *subjects [] = { &home };
    Rhannu__V1__Category categories [] = { RHANNU__V1__CATEGORY__PROFESSIONAL_ALLEGATION };
    referral.referral_kind = RHANNU__V1__REFERRAL_KIND__PROFESSIONAL;
    referral.subjects = subjects;
    referral.n_subjects = 1;
    referral.categories = categories;
    referral.n_categories = 1;
    referral.narrative = "A resident says a named carer shouted at her at night.";
    referral.urgency = 2;
    rh_envelope_t *envelope = rh_envelope_new (RH_KIND_REFERRAL);
    CU_ASSERT_FATAL (envelope != NULL);
    rh_envelope_add_to_front_door (envelope, "newport", "IAA");
    rh_envelope_set_purpose (envelope, "PROFESSIONAL_ALLEGATION");
    CU_ASSERT_FATAL (rh_envelope_set_body (envelope, &referral.base) == 0);
    CU_ASSERT_FATAL (rh_envelope_sign (envelope, signer) == 0);
    uint8_t *sealed = NULL;
    size_t size = 0;
    CU_ASSERT_FATAL (rh_envelope_encode (envelope, &sealed, &size) == 0);

    rh_facts_t facts;
    rh_policy_facts (envelope, &facts);
    CU_ASSERT (facts.subject_kinds == 1u << RHANNU__V1__SUBJECT_KIND__PLACE);
    CU_ASSERT (facts.home_la_count == 1 && !strcmp (facts.home_las [0], "newport"));
    rh_party_ref_t sender, recipient;
    s_ref ("health-abb", &sender);
    s_ref ("la-newport", &recipient);
    rh_decision_t decision;
    rh_agreement_decide (agreement, &facts, &sender, &recipient, &decision);
    CU_ASSERT_FATAL (decision.result == RH_DECIDE_ALLOW);
    CU_ASSERT (!strcmp (decision.rule_id, "R8b"));

    uint32_t keep [RH_MAX_FIELDS];
    size_t keep_count = 0;
    uint32_t narrative = rh_envelope_field_number (RH_KIND_REFERRAL, "narrative");
    const uint8_t *narrative_digest = NULL;
    for (size_t i = 0; i < rh_envelope_commitments (envelope); i++) {
        const uint8_t *digest = NULL;
        uint32_t field = rh_envelope_commitment (envelope, i, &digest);
        if (decision.fields & (1ull << field))
            keep [keep_count++] = field;
        if (field == narrative)
            narrative_digest = digest;
    }
    CU_ASSERT_FATAL (narrative_digest != NULL);
    uint8_t expected_digest [RH_DIGEST_LEN];
    memcpy (expected_digest, narrative_digest, RH_DIGEST_LEN);

    rh_envelope_t *copy = NULL;
    CU_ASSERT_FATAL (rh_envelope_decode (sealed, size, &copy) == RH_OK);
    CU_ASSERT_FATAL (rh_envelope_redact (copy, keep, keep_count) == 0);
    uint8_t *redacted = NULL;
    size_t redacted_size = 0;
    CU_ASSERT_FATAL (rh_envelope_encode (copy, &redacted, &redacted_size) == 0);
    rh_envelope_destroy (&copy);
    //  The recipient decodes the redacted bytes and verifies the sender's own signature.
    CU_ASSERT (memmem (redacted, redacted_size, "named carer", 11) == NULL);
    CU_ASSERT (memmem (sealed, size, "named carer", 11) != NULL);
    rh_certstore_t *store = rh_certstore_load_dir (pki->pki);
    CU_ASSERT_FATAL (store != NULL);
    rh_envelope_t *received = NULL;
    CU_ASSERT_FATAL (rh_envelope_decode (redacted, redacted_size, &received) == RH_OK);
    CU_ASSERT (rh_certstore_verify (store, received, rh_time_now_ms ()) == RH_OK);
    CU_ASSERT (!rh_envelope_discloses (received, narrative));
    CU_ASSERT (
        rh_envelope_discloses (received, rh_envelope_field_number (RH_KIND_REFERRAL, "subjects")));
    const Rhannu__V1__Referral *body = (const Rhannu__V1__Referral *) rh_envelope_body (received);
    CU_ASSERT (body && !*body->narrative && body->urgency == 2);
    //  The withheld field's commitment is still in the signed header: what the audit keeps.
    bool committed = false;
    for (size_t i = 0; i < rh_envelope_commitments (received); i++) {
        const uint8_t *digest = NULL;
        if (rh_envelope_commitment (received, i, &digest) == narrative)
            committed = memcmp (digest, expected_digest, RH_DIGEST_LEN) == 0;
    }
    CU_ASSERT (committed);
    rh_envelope_destroy (&received);
    rh_certstore_destroy (&store);
    free (redacted);
    free (sealed);
    rh_envelope_destroy (&envelope);
    rh_signer_destroy (&signer);
    rh_agreement_destroy (&agreement);
}

//  --- Parse errors name their line ---------------------------------------------------------------

static const char s_minimal [] = "id: T\n"
                                 "version: 1\n"
                                 "valid_from: 2024-01-01\n"
                                 "valid_to: 2099-01-01\n"
                                 "purposes: [P]\n"
                                 "parties:\n"
                                 "  - {id: a-b, roles: [referrer]}\n"
                                 "rules:\n"
                                 "  - {id: R1, kinds: [REFERRAL], fields: all}\n";

typedef struct {
    const char *name;
    const char *text;
    const char *expect;  //  substring of the errors, with "name:line:"
} s_broken_t;

static const s_broken_t s_broken [] = {
    { "unknown key", "id: T\nversoin: 1\n", "t.yaml:2: unknown key 'versoin'" },
    { "not YAML", "id: [T\n", "t.yaml:2: not valid YAML" },
    { "empty", "", "the file is empty" },
    { "not a mapping", "- a\n- b\n", "t.yaml:1: the agreement must be a mapping" },
    { "unknown kind",
      "id: T\nversion: 1\nvalid_from: 2024-01-01\nvalid_to: 2099-01-01\npurposes: [P]\n"
      "parties:\n  - {id: a-b, roles: [referrer]}\nrules:\n  - {id: R1, kinds: [REFERAL], fields: "
      "all}\n",
      "t.yaml:9: unknown message kind 'REFERAL'" },
    { "undefined role",
      "id: T\nversion: 1\nvalid_from: 2024-01-01\nvalid_to: 2099-01-01\npurposes: [P]\n"
      "parties:\n  - {id: a-b, roles: [referrer]}\nrules:\n  - id: R1\n    from: {role: "
      "referer}\n    fields: all\n",
      "t.yaml:10: no party has the role 'referer'" },
    { "field the kind lacks",
      "id: T\nversion: 1\nvalid_from: 2024-01-01\nvalid_to: 2099-01-01\npurposes: [P]\n"
      "parties:\n  - {id: a-b, roles: [referrer]}\nrules:\n  - id: R1\n    kinds: [OUTCOME]\n"
      "    fields: [decision, narrative]\n",
      "t.yaml:11: no message kind of rule 'R1' has a field called 'narrative'" },
    { "bad date",
      "id: T\nversion: 1\nvalid_from: 2024-13-01\nvalid_to: 2099-01-01\npurposes: [P]\n"
      "parties:\n  - {id: a-b, roles: [x]}\nrules:\n  - {id: R1, fields: all}\n",
      "t.yaml:3: valid_from must be a date written YYYY-MM-DD" },
    { "validity backwards",
      "id: T\nversion: 1\nvalid_from: 2024-01-01\nvalid_to: 2023-01-01\npurposes: [P]\n"
      "parties:\n  - {id: a-b, roles: [x]}\nrules:\n  - {id: R1, fields: all}\n",
      "t.yaml:4: valid_to is before valid_from" },
    { "rule id twice",
      "id: T\nversion: 1\nvalid_from: 2024-01-01\nvalid_to: 2099-01-01\npurposes: [P]\n"
      "parties:\n  - {id: a-b, roles: [x]}\nrules:\n  - {id: R1, fields: all}\n  - {id: R1, "
      "fields: all}\n",
      "t.yaml:10: rule id 'R1' is used twice" },
    { "allow rule without fields",
      "id: T\nversion: 1\nvalid_from: 2024-01-01\nvalid_to: 2099-01-01\npurposes: [P]\n"
      "parties:\n  - {id: a-b, roles: [x]}\nrules:\n  - {id: R1, kinds: [REFERRAL]}\n",
      "t.yaml:9: allow rule 'R1' must say which fields" },
    { "deny rule with fields",
      "id: T\nversion: 1\nvalid_from: 2024-01-01\nvalid_to: 2099-01-01\npurposes: [P]\n"
      "parties:\n  - {id: a-b, roles: [x]}\nrules:\n  - {id: R1, effect: deny, fields: all}\n",
      "deny rule 'R1' cannot list fields" },
    { "unknown category",
      "id: T\nversion: 1\nvalid_from: 2024-01-01\nvalid_to: 2099-01-01\npurposes: [P]\n"
      "parties:\n  - {id: a-b, roles: [x]}\nrules:\n  - {id: R1, categories: [CSEE], fields: "
      "all}\n",
      "t.yaml:9: unknown category 'CSEE' (one of: DOMESTIC_ABUSE" },
    { "purpose not declared",
      "id: T\nversion: 1\nvalid_from: 2024-01-01\nvalid_to: 2099-01-01\npurposes: [P]\n"
      "parties:\n  - {id: a-b, roles: [x]}\nrules:\n  - {id: R1, purposes: [Q], fields: all}\n",
      "t.yaml:9: purpose 'Q' is not among the agreement's purposes" },
    { "unless without required",
      "id: T\nversion: 1\nvalid_from: 2024-01-01\nvalid_to: 2099-01-01\npurposes: [P]\n"
      "parties:\n  - {id: a-b, roles: [x]}\nrules:\n  - id: R1\n    consent: {unless: "
      "[SIGNIFICANT_HARM]}\n    fields: all\n",
      "t.yaml:10: consent.unless only means something with required: true" },
    //  Consent override ("break-glass")
    { "override without a reviewer",
      "id: T\nversion: 1\nvalid_from: 2024-01-01\nvalid_to: 2099-01-01\npurposes: [P]\n"
      "parties:\n  - {id: a-b, roles: [x]}\nrules:\n  - id: R1\n    consent: {required: true}\n"
      "    override: {allowed: true, review_days: 5}\n    fields: all\n",
      "t.yaml:11: rule 'R1' allows a consent override but no party has the role reviewer" },
    { "override without a consent condition",
      "id: T\nversion: 1\nvalid_from: 2024-01-01\nvalid_to: 2099-01-01\npurposes: [P]\n"
      "parties:\n  - {id: a-b, roles: [reviewer]}\nrules:\n  - id: R1\n"
      "    override: {allowed: true, review_days: 5}\n    fields: all\n",
      "t.yaml:10: override only means something with a consent condition" },
    { "override without a review period",
      "id: T\nversion: 1\nvalid_from: 2024-01-01\nvalid_to: 2099-01-01\npurposes: [P]\n"
      "parties:\n  - {id: a-b, roles: [reviewer]}\nrules:\n  - id: R1\n    consent: {required: "
      "true}\n"
      "    override: {allowed: true}\n    fields: all\n",
      "t.yaml:11: override.allowed needs review_days" },
    { "override review period too long",
      "id: T\nversion: 1\nvalid_from: 2024-01-01\nvalid_to: 2099-01-01\npurposes: [P]\n"
      "parties:\n  - {id: a-b, roles: [reviewer]}\nrules:\n  - id: R1\n    consent: {required: "
      "true}\n"
      "    override: {allowed: true, review_days: 91}\n    fields: all\n",
      "override.review_days" },
    { "override unknown key",
      "id: T\nversion: 1\nvalid_from: 2024-01-01\nvalid_to: 2099-01-01\npurposes: [P]\n"
      "parties:\n  - {id: a-b, roles: [reviewer]}\nrules:\n  - id: R1\n    consent: {required: "
      "true}\n"
      "    override: {allowed: true, review_days: 5, reviewer: a-b}\n    fields: all\n",
      "unknown key 'reviewer'" },
    //  Issue 17, lateral checks: onward sharing of a response
    { "onward not a boolean",
      "id: T\nversion: 1\nvalid_from: 2024-01-01\nvalid_to: 2099-01-01\npurposes: [P]\n"
      "parties:\n  - {id: a-b, roles: [x]}\nrules:\n  - id: R1\n    onward: sometimes\n"
      "    fields: all\n",
      "onward" },
    { "onward on a deny rule",
      "id: T\nversion: 1\nvalid_from: 2024-01-01\nvalid_to: 2099-01-01\npurposes: [P]\n"
      "parties:\n  - {id: a-b, roles: [x]}\nrules:\n  - id: R1\n    effect: deny\n"
      "    onward: true\n",
      "t.yaml:11: deny rule 'R1' cannot allow onward sharing" },
    //  Professional challenge (issue 17): the escalation protocol's levels
    { "challenge level with a role no party has",
      "id: T\nversion: 1\nvalid_from: 2024-01-01\nvalid_to: 2099-01-01\npurposes: [P]\n"
      "parties:\n  - {id: a-b, roles: [lead]}\nrules:\n  - {id: R1, fields: all}\n"
      "challenge:\n  levels:\n    - {role: holder, respond_days: 5}\n"
      "    - {role: board_chair, respond_days: 5}\n",
      "t.yaml:13: challenge level 2: no party has the role 'board_chair'" },
    { "challenge without levels",
      "id: T\nversion: 1\nvalid_from: 2024-01-01\nvalid_to: 2099-01-01\npurposes: [P]\n"
      "parties:\n  - {id: a-b, roles: [lead]}\nrules:\n  - {id: R1, fields: all}\n"
      "challenge: {}\n",
      "challenge needs a list of levels" },
    { "challenge level without respond_days",
      "id: T\nversion: 1\nvalid_from: 2024-01-01\nvalid_to: 2099-01-01\npurposes: [P]\n"
      "parties:\n  - {id: a-b, roles: [lead]}\nrules:\n  - {id: R1, fields: all}\n"
      "challenge:\n  levels:\n    - {role: lead}\n",
      "challenge level 1 needs a role and respond_days" },
    { "challenge level respond_days out of range",
      "id: T\nversion: 1\nvalid_from: 2024-01-01\nvalid_to: 2099-01-01\npurposes: [P]\n"
      "parties:\n  - {id: a-b, roles: [lead]}\nrules:\n  - {id: R1, fields: all}\n"
      "challenge:\n  levels:\n    - {role: lead, respond_days: 91}\n",
      "challenge level respond_days" },
    { "challenge with too many levels",
      "id: T\nversion: 1\nvalid_from: 2024-01-01\nvalid_to: 2099-01-01\npurposes: [P]\n"
      "parties:\n  - {id: a-b, roles: [lead]}\nrules:\n  - {id: R1, fields: all}\n"
      "challenge:\n  levels: [{role: lead, respond_days: 1}, {role: lead, respond_days: 1},\n"
      "    {role: lead, respond_days: 1}, {role: lead, respond_days: 1},\n"
      "    {role: lead, respond_days: 1}, {role: lead, respond_days: 1}]\n",
      "challenge: at most 5 levels" },
    { "challenge level unknown key",
      "id: T\nversion: 1\nvalid_from: 2024-01-01\nvalid_to: 2099-01-01\npurposes: [P]\n"
      "parties:\n  - {id: a-b, roles: [lead]}\nrules:\n  - {id: R1, fields: all}\n"
      "challenge:\n  levels:\n    - {role: lead, respond_days: 5, notify: lead}\n",
      "unknown key 'notify'" },
    { "alias names two front doors",
      "id: T\nversion: 1\nvalid_from: 2024-01-01\nvalid_to: 2099-01-01\npurposes: [P]\n"
      "parties:\n  - {id: a-b, roles: [fd], front_door_for: [x], aliases: [MASH]}\n"
      "  - {id: c-d, roles: [fd], front_door_for: [x], aliases: [mash]}\n"
      "rules:\n  - {id: R1, fields: all}\n",
      "alias 'MASH' of 'x' names two front doors" },
    { "bad agency id",
      "id: T\nversion: 1\nvalid_from: 2024-01-01\nvalid_to: 2099-01-01\npurposes: [P]\n"
      "parties:\n  - {id: Police_Gwent, roles: [x]}\nrules:\n  - {id: R1, fields: all}\n",
      "t.yaml:7: 'Police_Gwent' is not a valid agency id" },
    { "two documents",
      "id: T\nversion: 1\nvalid_from: 2024-01-01\nvalid_to: 2099-01-01\n"
      "purposes: [P]\nparties:\n  - {id: a-b, roles: [x]}\nrules:\n  - {id: R1, "
      "fields: all}\n---\nid: U\n",
      "more than one YAML document" },
    { "version zero", "id: T\nversion: 0\n", "t.yaml:2: version must be a whole number from 1" },
};

static void
test_errors_name_lines (void)
{
    char errors [4096];
    rh_agreement_t *agreement =
        rh_agreement_parse (s_minimal, strlen (s_minimal), "t.yaml", errors, sizeof errors);
    CU_ASSERT (agreement != NULL);
    if (!agreement)
        fprintf (stderr, "\n  minimal agreement refused: %s", errors);
    rh_agreement_destroy (&agreement);
    for (size_t i = 0; i < sizeof s_broken / sizeof s_broken [0]; i++) {
        agreement = rh_agreement_parse (s_broken [i].text, strlen (s_broken [i].text), "t.yaml",
                                        errors, sizeof errors);
        bool named = strstr (errors, s_broken [i].expect) != NULL;
        if (agreement || !named)
            fprintf (stderr, "\n  broken '%s': expected '%s', got:\n%s", s_broken [i].name,
                     s_broken [i].expect, errors);
        CU_ASSERT (agreement == NULL);
        CU_ASSERT (named);
        rh_agreement_destroy (&agreement);
    }
}

//  Many problems in one file are all reported, each on its own line, up to the limit.
static void
test_errors_all_reported (void)
{
    char text [8192] = "id: T\nversion: 1\nvalid_from: 2024-01-01\nvalid_to: 2099-01-01\n"
                       "purposes: [P]\nparties:\n  - {id: a-b, roles: [x]}\nrules:\n";
    for (int i = 0; i < 30; i++) {
        size_t used = strlen (text);
        snprintf (text + used, sizeof text - used, "  - {id: R%d, kinds: [NOPE], fields: all}\n",
                  i);
    }
    char errors [16384];
    rh_agreement_t *agreement =
        rh_agreement_parse (text, strlen (text), "t.yaml", errors, sizeof errors);
    CU_ASSERT (agreement == NULL);
    CU_ASSERT (strstr (errors, "t.yaml:9: unknown message kind 'NOPE'") != NULL);
    CU_ASSERT (strstr (errors, "t.yaml:28: unknown message kind 'NOPE'") != NULL);
    CU_ASSERT (strstr (errors, "10 more problems not shown") != NULL);
}

//  --- Obligations and directory --------------------------------------------------------------

static void
test_obligations_and_front_doors (void)
{
    rh_agreement_t *agreement = s_load_vector ("regional.yaml");
    CU_ASSERT_FATAL (agreement != NULL);
    const rh_obligations_t *obligations = rh_agreement_obligations (agreement);
    CU_ASSERT (obligations->acknowledge_ms == 24 * 3600 * 1000LL);
    CU_ASSERT (obligations->outcome_ms == 5 * TEST_DAY_MS);
    CU_ASSERT (obligations->outcome_ms_by_kind [RHANNU__V1__REFERRAL_KIND__DUTY_TO_REPORT]
               == 7 * TEST_DAY_MS);
    CU_ASSERT (obligations->outcome_ms_by_kind [RHANNU__V1__REFERRAL_KIND__PPN] == 0);
    CU_ASSERT (obligations->repeat_count == 3 && obligations->repeat_window_ms == 90 * TEST_DAY_MS);
    CU_ASSERT (obligations->repeat_notify_count == 2);
    CU_ASSERT (!strcmp (obligations->escalate_to, "panel"));
    CU_ASSERT (obligations->feedback_referrer && obligations->feedback_supervisor
               && !obligations->feedback_duty_inbox);
    const char *label = NULL;
    bool by_alias = false;
    //  No alias, or one nobody uses: the first front door of the local authority.
    CU_ASSERT (!strcmp (rh_agreement_front_door (agreement, "newport", NULL, &label, &by_alias),
                        "la-newport"));
    CU_ASSERT (!strcmp (label, "Newport IAA") && !by_alias);
    CU_ASSERT (
        !strcmp (rh_agreement_front_door (agreement, "newport", "helpdesk", &label, &by_alias),
                 "la-newport"));
    //  Aliases pick between two front doors of one LA, whatever their case.
    CU_ASSERT (!strcmp (rh_agreement_front_door (agreement, "newport", "spoc", &label, &by_alias),
                        "la-newport-adults"));
    CU_ASSERT (by_alias);
    CU_ASSERT (!strcmp (
        rh_agreement_front_door (agreement, "newport", "Adult Safeguarding", &label, &by_alias),
        "la-newport-adults"));
    CU_ASSERT (!strcmp (rh_agreement_front_door (agreement, "cardiff", "MASH", &label, &by_alias),
                        "la-cardiff"));
    CU_ASSERT (rh_agreement_front_door (agreement, "swansea", "MASH", &label, &by_alias) == NULL);
    CU_ASSERT (rh_agreement_has_role (agreement, "la-cardiff", "front_door"));
    CU_ASSERT (!rh_agreement_has_role (agreement, "police-gwent", "front_door"));
    rh_agreement_destroy (&agreement);
}

//  --- Loading a folder: signatures, expiry, duplicates, several agreements ----------------------

static void
s_write (const char *dir, const char *name, const char *text)
{
    char path [PATH_MAX];
    rh_file_path (path, sizeof path, "%s/%s", dir, name);
    CU_ASSERT_FATAL (rh_file_write_atomic (path, text, strlen (text), 0644) == 0);
}

static void
s_copy_vector (const char *dir, const char *name)
{
    char path [PATH_MAX];
    rh_file_path (path, sizeof path, "%s/%s", VECTORS, name);
    uint8_t *data = NULL;
    size_t size = 0;
    CU_ASSERT_FATAL (rh_file_read (path, RH_MAX_AGREEMENT_FILE, &data, &size) == 0);
    rh_file_path (path, sizeof path, "%s/%s", dir, name);
    CU_ASSERT_FATAL (rh_file_write_atomic (path, data, size, 0644) == 0);
    free (data);
}

static void
s_sign (const char *ca_dir, const char *dir, const char *name)
{
    char path [PATH_MAX];
    rh_file_path (path, sizeof path, "%s/%s", dir, name);
    CU_ASSERT_FATAL (rh_ca_sign_file (ca_dir, path) == 0);
}

static rh_policy_t *
s_policy (const char *dir, const char *expect_error)
{
    char ca [PATH_MAX], errors [8192] = "";
    rh_file_path (ca, sizeof ca, "%s/ca.pem", test_pki ()->pki);
    rh_policy_t *policy = rh_policy_load (dir, ca, rh_time_now_ms (), errors, sizeof errors);
    if (expect_error) {
        CU_ASSERT (policy == NULL);
        if (!strstr (errors, expect_error))
            fprintf (stderr, "\n  expected '%s' in:\n%s", expect_error, errors);
        CU_ASSERT (strstr (errors, expect_error) != NULL);
    }
    else if (!policy)
        fprintf (stderr, "\n  policy refused:\n%s", errors);
    return policy;
}

static void
test_policy_load (void)
{
    const test_pki_t *pki = test_pki ();
    char dir [PATH_MAX];
    test_tempdir (dir, sizeof dir);
    s_policy (dir, "no agreements");
    //  Unsigned.
    s_copy_vector (dir, "regional.yaml");
    s_policy (dir, "not signed");
    //  Signed: loads, with the file's hash recorded.
    s_sign (pki->pki, dir, "regional.yaml");
    rh_policy_t *policy = s_policy (dir, NULL);
    CU_ASSERT_FATAL (policy != NULL);
    CU_ASSERT (rh_policy_size (policy) == 1);
    const rh_agreement_t *agreement = rh_policy_find (policy, "TEST-REGIONAL");
    CU_ASSERT_FATAL (agreement != NULL);
    uint8_t *data = NULL, digest [RH_DIGEST_LEN];
    size_t size = 0;
    char path [PATH_MAX];
    rh_file_path (path, sizeof path, "%s/regional.yaml", dir);
    CU_ASSERT_FATAL (rh_file_read (path, RH_MAX_AGREEMENT_FILE, &data, &size) == 0);
    crypto_hash_sha256 (digest, data, size);
    CU_ASSERT (memcmp (digest, rh_agreement_sha256 (agreement), RH_DIGEST_LEN) == 0);
    size_t source_size = 0;
    const uint8_t *signature = NULL;
    const uint8_t *source = rh_policy_source (policy, 0, &source_size, &signature);
    CU_ASSERT (source && source_size == size && memcmp (source, data, size) == 0);
    rh_policy_destroy (&policy);
    //  Tampered after signing: one byte.
    data [size / 2] ^= 1;
    CU_ASSERT_FATAL (rh_file_write_atomic (path, data, size, 0644) == 0);
    s_policy (dir, "does not verify");
    data [size / 2] ^= 1;
    CU_ASSERT_FATAL (rh_file_write_atomic (path, data, size, 0644) == 0);
    free (data);
    CU_ASSERT ((policy = s_policy (dir, NULL)) != NULL);
    rh_policy_destroy (&policy);
    //  Signed by another CA.
    s_sign (pki->other, dir, "regional.yaml");
    s_policy (dir, "does not verify");
    s_sign (pki->pki, dir, "regional.yaml");
    //  The same agreement twice.
    s_copy_vector (dir, "regional.yaml");
    rh_file_path (path, sizeof path, "%s/regional.yaml", dir);
    char copy [PATH_MAX];
    rh_file_path (copy, sizeof copy, "%s/regional-copy.yaml", dir);
    CU_ASSERT_FATAL (link (path, copy) == 0);
    s_sign (pki->pki, dir, "regional-copy.yaml");
    s_policy (dir, "already loaded");
    unlink (copy);
    //  Expired.
    s_write (dir, "old.yaml",
             "id: OLD\nversion: 1\nvalid_from: 2020-01-01\nvalid_to: 2021-01-01\npurposes: [P]\n"
             "parties:\n  - {id: a-b, roles: [x]}\nrules:\n  - {id: R1, fields: all}\n");
    s_sign (pki->pki, dir, "old.yaml");
    s_policy (dir, "expired on 2021-01-01");
    rh_file_path (path, sizeof path, "%s/old.yaml", dir);
    unlink (path);
    //  Invalid, even though signed: the line is reported.
    s_write (dir, "bad.yaml", "id: BAD\nversion: x\n");
    s_sign (pki->pki, dir, "bad.yaml");
    s_policy (dir, "bad.yaml:2: version must be a whole number");
    rh_file_path (path, sizeof path, "%s/bad.yaml", dir);
    unlink (path);
    CU_ASSERT ((policy = s_policy (dir, NULL)) != NULL);
    rh_policy_destroy (&policy);
}

static void
test_policy_several_agreements (void)
{
    const test_pki_t *pki = test_pki ();
    char dir [PATH_MAX];
    test_tempdir (dir, sizeof dir);
    s_copy_vector (dir, "regional.yaml");
    s_copy_vector (dir, "da-hub.yaml");
    s_sign (pki->pki, dir, "regional.yaml");
    s_sign (pki->pki, dir, "da-hub.yaml");
    rh_policy_t *policy = s_policy (dir, NULL);
    CU_ASSERT_FATAL (policy != NULL);
    CU_ASSERT (rh_policy_size (policy) == 2);
    //  Sorted by id, whatever the file names.
    CU_ASSERT (!strcmp (rh_agreement_id (rh_policy_agreement (policy, 0)), "TEST-DA-HUB"));
    int64_t now = rh_time_now_ms ();
    rh_party_ref_t police, vcs, la;
    s_ref ("police-gwent", &police);
    s_ref ("vcs-da", &vcs);
    s_ref ("la-newport", &la);
    s_row_t row = { .name = "da",
                    .from = "police-gwent",
                    .to = "vcs-da",
                    .kind = RH_KIND_REFERRAL,
                    .purpose = "SAFEGUARDING_CHILD",
                    .consent = C_HARM,
                    .category = DA,
                    .subject_kind = CHILD,
                    .home_la = "newport" };
    rh_facts_t facts;
    s_facts (&row, &facts);
    rh_decision_t decision;
    //  Not named: the regional agreement refuses, the DA hub agreement allows, and says so.
    rh_policy_decide (policy, &facts, "", &police, &vcs, now, &decision);
    CU_ASSERT (decision.result == RH_DECIDE_ALLOW);
    CU_ASSERT (decision.agreement && !strcmp (rh_agreement_id (decision.agreement), "TEST-DA-HUB"));
    CU_ASSERT (!strcmp (decision.rule_id, "DA1"));
    //  Named: only that agreement decides.
    rh_policy_decide (policy, &facts, "TEST-REGIONAL", &police, &vcs, now, &decision);
    CU_ASSERT (decision.result == RH_DECIDE_DENY_RULE && !strcmp (decision.rule_id, "R99"));
    rh_policy_decide (policy, &facts, "NO-SUCH", &police, &vcs, now, &decision);
    CU_ASSERT (decision.result == RH_DECIDE_NO_RULE && !strcmp (decision.missing, "agreement"));
    CU_ASSERT (strstr (decision.reason, "NO-SUCH, which is not known") != NULL);
    //  Both refuse: the unmet condition explains more than the regional catch-all deny.
    row.consent = C_WITHHELD;
    s_facts (&row, &facts);
    rh_policy_decide (policy, &facts, "", &police, &vcs, now, &decision);
    CU_ASSERT (decision.result == RH_DECIDE_CONDITION);
    CU_ASSERT (!strcmp (decision.rule_id, "DA1") && !strcmp (decision.missing, "consent"));
    CU_ASSERT (strstr (decision.reason, "the person withheld consent") != NULL);
    //  Outside every agreement's validity: nothing in force.
    rh_policy_decide (policy, &facts, "", &police, &la, 0, &decision);
    CU_ASSERT (decision.result == RH_DECIDE_NO_RULE && decision.agreement == NULL);
    CU_ASSERT (strstr (decision.reason, "no sharing agreement is in force") != NULL);
    //  Directory across agreements.
    const char *label = NULL;
    CU_ASSERT (!strcmp (rh_policy_front_door (policy, "newport", "SPOC", now, &label),
                        "la-newport-adults"));
    CU_ASSERT (rh_policy_front_door (policy, "newport", NULL, 0, &label) == NULL);
    rh_policy_destroy (&policy);
}

//  The example agreement shipped in deploy/ stays valid.
static void
test_example_agreement (void)
{
    char path [PATH_MAX], errors [4096] = "";
    rh_file_path (path, sizeof path, "%s/deploy/agreements/gwent-safeguarding.yaml", RH_SOURCE_DIR);
    uint8_t *data = NULL;
    size_t size = 0;
    CU_ASSERT_FATAL (rh_file_read (path, RH_MAX_AGREEMENT_FILE, &data, &size) == 0);
    rh_agreement_t *agreement =
        rh_agreement_parse ((const char *) data, size, path, errors, sizeof errors);
    CU_ASSERT (agreement != NULL);
    if (!agreement)
        fprintf (stderr, "%s", errors);
    if (agreement) {
        CU_ASSERT (!strcmp (rh_agreement_id (agreement), "GWENT-SG-ISP"));
        CU_ASSERT (rh_agreement_rules (agreement) >= 5);
        //  Its retention periods are placeholders: held, so nothing is erased by them.
        CU_ASSERT (rh_agreement_referral_years (agreement) == 6);
        CU_ASSERT (rh_agreement_legal_hold (agreement));
    }
    rh_agreement_destroy (&agreement);
    free (data);
}

//  retention: what erasure acts on. Without the block nothing is ever due and nothing is held.
static void
test_retention_and_legal_hold (void)
{
    char text [4096], errors [4096];
    rh_agreement_t *agreement =
        rh_agreement_parse (s_minimal, strlen (s_minimal), "t.yaml", errors, sizeof errors);
    CU_ASSERT_FATAL (agreement != NULL);
    CU_ASSERT (rh_agreement_referral_years (agreement) == -1);
    CU_ASSERT (!rh_agreement_legal_hold (agreement));
    rh_agreement_destroy (&agreement);
    snprintf (text, sizeof text, "%sretention: {referral_years: 2, audit_years: 7}\n", s_minimal);
    agreement = rh_agreement_parse (text, strlen (text), "t.yaml", errors, sizeof errors);
    CU_ASSERT_FATAL (agreement != NULL);
    CU_ASSERT (rh_agreement_referral_years (agreement) == 2);
    CU_ASSERT (!rh_agreement_legal_hold (agreement));
    rh_agreement_destroy (&agreement);
    snprintf (text, sizeof text, "%sretention: {referral_years: 0, legal_hold: true}\n", s_minimal);
    agreement = rh_agreement_parse (text, strlen (text), "t.yaml", errors, sizeof errors);
    CU_ASSERT_FATAL (agreement != NULL);
    CU_ASSERT (rh_agreement_referral_years (agreement) == 0);
    CU_ASSERT (rh_agreement_legal_hold (agreement));
    rh_agreement_destroy (&agreement);
    //  Out of range or of the wrong type: refused, named.
    snprintf (text, sizeof text, "%sretention: {referral_years: 101}\n", s_minimal);
    agreement = rh_agreement_parse (text, strlen (text), "t.yaml", errors, sizeof errors);
    CU_ASSERT (agreement == NULL && strstr (errors, "referral_years"));
    rh_agreement_destroy (&agreement);
    snprintf (text, sizeof text, "%sretention: {legal_hold: perhaps}\n", s_minimal);
    agreement = rh_agreement_parse (text, strlen (text), "t.yaml", errors, sizeof errors);
    CU_ASSERT (agreement == NULL && strstr (errors, "legal_hold"));
    rh_agreement_destroy (&agreement);
}

//  Parses an agreement a test means to be valid, saying why if it is refused (what names it in
//  that message); the test cannot go on without it.
static rh_agreement_t *
s_parse (const char *text, const char *what)
{
    char errors [4096] = "";
    rh_agreement_t *agreement =
        rh_agreement_parse (text, strlen (text), "t.yaml", errors, sizeof errors);
    if (!agreement)
        fprintf (stderr, "\n  %s agreement refused: %s", what, errors);
    CU_ASSERT_FATAL (agreement != NULL);
    return agreement;
}

//  The facts of a message of kind from sender that carries nothing else: every string the
//  broker would fill is empty rather than NULL, as rh_agreement_decide expects.
static void
s_bare_facts (rh_facts_t *facts, rh_kind_t kind, const char *sender)
{
    memset (facts, 0, sizeof *facts);
    facts->kind = kind;
    facts->sender = sender;
    facts->sender_unit = facts->purpose = facts->transfer_to_la = facts->case_referrer = "";
    facts->new_owner = "";
}

//  Consent override: a rule that allows it lets a message without consent through when both
//  the justification and the authorising manager are recorded, and says it was an override;
//  half an override, or a rule without one, leaves the consent refusal standing.
//  Issue 17, lateral checks: a rule says whether what it allows may carry a response onward.
static void
test_onward (void)
{
    static const char *text =
        "id: T\nversion: 1\nvalid_from: 2024-01-01\nvalid_to: 2099-01-01\n"
        "purposes: [SAFEGUARDING_CHILD]\nparties:\n"
        "  - {id: police-gwent, type: POLICE, roles: [partner]}\n"
        "  - {id: health-abb, type: HEALTH, roles: [partner]}\n"
        "  - {id: la-newport, type: LA_FRONT_DOOR, roles: [front_door]}\n"
        "rules:\n"
        "  - id: R1\n    kinds: [TRANSFER]\n    from: {role: front_door}\n    to: {id: "
        "police-gwent}\n    onward: true\n    fields: all\n"
        "  - id: R2\n    kinds: [TRANSFER]\n    from: {role: front_door}\n    to: {role: "
        "partner}\n    onward: false\n    fields: all\n";
    rh_agreement_t *agreement = s_parse (text, "onward");
    rh_party_ref_t police, health, front_door;
    s_ref ("police-gwent", &police);
    s_ref ("health-abb", &health);
    s_ref ("la-newport", &front_door);
    rh_facts_t facts;
    s_bare_facts (&facts, RH_KIND_TRANSFER, "la-newport");
    rh_decision_t decision;
    rh_agreement_decide (agreement, &facts, &front_door, &police, &decision);
    CU_ASSERT (decision.result == RH_DECIDE_ALLOW && decision.onward);
    CU_ASSERT_STRING_EQUAL (decision.rule_id, "R1");
    rh_agreement_decide (agreement, &facts, &front_door, &health, &decision);
    CU_ASSERT (decision.result == RH_DECIDE_ALLOW && !decision.onward);
    CU_ASSERT_STRING_EQUAL (decision.rule_id, "R2");
    rh_agreement_destroy (&agreement);
}

static void
test_consent_override (void)
{
    static const char *text =
        "id: T\nversion: 1\nvalid_from: 2024-01-01\nvalid_to: 2099-01-01\n"
        "purposes: [SAFEGUARDING_CHILD]\nparties:\n"
        "  - {id: police-gwent, type: POLICE, roles: [referrer]}\n"
        "  - {id: health-abb, type: HEALTH, roles: [other]}\n"
        "  - {id: la-newport, type: LA_FRONT_DOOR, roles: [front_door]}\n"
        "  - {id: cmet-panel, type: GOVERNANCE, roles: [reviewer]}\n"
        "rules:\n"
        "  - id: R1\n    kinds: [REFERRAL]\n    from: {role: referrer}\n    to: {role: "
        "front_door}\n"
        "    consent: {required: true}\n    override: {allowed: true, review_days: 5}\n"
        "    fields: all\n"
        "  - id: R2\n    kinds: [REFERRAL]\n    from: {role: other}\n    to: {role: front_door}\n"
        "    consent: {required: true}\n    fields: all\n";
    rh_agreement_t *agreement = s_parse (text, "override");
    rh_party_ref_t police, health, front_door;
    s_ref ("police-gwent", &police);
    s_ref ("health-abb", &health);
    s_ref ("la-newport", &front_door);
    rh_facts_t facts;
    s_bare_facts (&facts, RH_KIND_REFERRAL, "police-gwent");
    facts.has_consent = true;
    facts.consent_state = RHANNU__V1__CONSENT_STATE__NOT_SOUGHT;
    rh_decision_t decision;
    //  No override recorded: consent refused.
    rh_agreement_decide (agreement, &facts, &police, &front_door, &decision);
    CU_ASSERT (decision.result == RH_DECIDE_CONDITION && !decision.overridden);
    CU_ASSERT_STRING_EQUAL (decision.missing, "consent");
    //  Only the manager: the justification is named as missing.
    facts.override_authoriser = true;
    rh_agreement_decide (agreement, &facts, &police, &front_door, &decision);
    CU_ASSERT (decision.result == RH_DECIDE_CONDITION && !decision.overridden);
    CU_ASSERT_STRING_EQUAL (decision.missing, "override_justification");
    //  Only the justification: the manager is.
    facts.override_authoriser = false;
    facts.override_justification = true;
    rh_agreement_decide (agreement, &facts, &police, &front_door, &decision);
    CU_ASSERT (decision.result == RH_DECIDE_CONDITION);
    CU_ASSERT_STRING_EQUAL (decision.missing, "override_authoriser");
    //  Both: allowed, as an override of consent, with the review period.
    facts.override_authoriser = true;
    rh_agreement_decide (agreement, &facts, &police, &front_door, &decision);
    CU_ASSERT (decision.result == RH_DECIDE_ALLOW && decision.overridden);
    CU_ASSERT_STRING_EQUAL (decision.missing, "consent");
    CU_ASSERT_STRING_EQUAL (decision.rule_id, "R1");
    CU_ASSERT (decision.review_ms == 5 * 24 * 3600 * 1000LL);
    CU_ASSERT (decision.fields == ~0ull);
    //  With consent given there is nothing to override.
    facts.consent_state = RHANNU__V1__CONSENT_STATE__GIVEN;
    rh_agreement_decide (agreement, &facts, &police, &front_door, &decision);
    CU_ASSERT (decision.result == RH_DECIDE_ALLOW && !decision.overridden);
    CU_ASSERT_STRING_EQUAL (decision.missing, "");
    //  A rule without an override refuses even a full one.
    facts.consent_state = RHANNU__V1__CONSENT_STATE__NOT_SOUGHT;
    facts.sender = "health-abb";
    rh_agreement_decide (agreement, &facts, &health, &front_door, &decision);
    CU_ASSERT (decision.result == RH_DECIDE_CONDITION && !decision.overridden);
    CU_ASSERT_STRING_EQUAL (decision.rule_id, "R2");
    CU_ASSERT_STRING_EQUAL (decision.missing, "consent");
    rh_agreement_destroy (&agreement);
}

//  Professional challenge (issue 17): the levels come back in order, "holder" taken as it is;
//  an agreement without challenge: has none.
static void
test_challenge_levels (void)
{
    static const char *text =
        "id: T\nversion: 1\nvalid_from: 2024-01-01\nvalid_to: 2099-01-01\npurposes: [P]\n"
        "parties:\n  - {id: a-b, roles: [lead]}\nrules:\n  - {id: R1, fields: all}\n"
        "challenge:\n  levels:\n    - {role: holder, respond_days: 5}\n"
        "    - {role: lead, respond_days: 10}\n";
    rh_agreement_t *agreement = s_parse (text, "challenge");
    const rh_challenge_level_t *levels = NULL;
    CU_ASSERT_EQUAL_FATAL (rh_agreement_challenge_levels (agreement, &levels), 2);
    CU_ASSERT_STRING_EQUAL (levels [0].role, "holder");
    CU_ASSERT_EQUAL (levels [0].respond_ms, 5 * 24 * 3600 * 1000LL);
    CU_ASSERT_STRING_EQUAL (levels [1].role, "lead");
    CU_ASSERT_EQUAL (levels [1].respond_ms, 10 * 24 * 3600 * 1000LL);
    rh_agreement_destroy (&agreement);
    static const char *none =
        "id: T\nversion: 1\nvalid_from: 2024-01-01\nvalid_to: 2099-01-01\npurposes: [P]\n"
        "parties:\n  - {id: a-b, roles: [lead]}\nrules:\n  - {id: R1, fields: all}\n";
    agreement = s_parse (none, "challenge-free");
    CU_ASSERT_EQUAL (rh_agreement_challenge_levels (agreement, &levels), 0);
    rh_agreement_destroy (&agreement);
}

//  Strategy meetings: obligations: meeting_record_days sets the record's deadline; none is
//  no deadline, and a value that is not a whole number of days is refused, named.
static void
test_meeting_record_days (void)
{
    char text [4096], errors [4096];
    rh_agreement_t *agreement =
        rh_agreement_parse (s_minimal, strlen (s_minimal), "t.yaml", errors, sizeof errors);
    CU_ASSERT_FATAL (agreement != NULL);
    CU_ASSERT (rh_agreement_obligations (agreement)->meeting_record_ms == 0);
    rh_agreement_destroy (&agreement);
    snprintf (text, sizeof text, "%sobligations: {meeting_record_days: 3}\n", s_minimal);
    agreement = rh_agreement_parse (text, strlen (text), "t.yaml", errors, sizeof errors);
    CU_ASSERT_FATAL (agreement != NULL);
    CU_ASSERT (rh_agreement_obligations (agreement)->meeting_record_ms == 3 * TEST_DAY_MS);
    rh_agreement_destroy (&agreement);
    const char *bad [] = { "-1", "two", "[2]", "99999" };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++) {
        snprintf (text, sizeof text, "%sobligations: {meeting_record_days: %s}\n", s_minimal,
                  bad [i]);
        agreement = rh_agreement_parse (text, strlen (text), "t.yaml", errors, sizeof errors);
        CU_ASSERT (agreement == NULL && strstr (errors, "t.yaml:10: meeting_record_days"));
        if (agreement || !strstr (errors, "meeting_record_days"))
            fprintf (stderr, "\n  meeting_record_days: %s: %s", bad [i], errors);
        rh_agreement_destroy (&agreement);
    }
}

void
init_rh_agreement_tests (void)
{
    CU_pSuite suite = CU_add_suite ("rh_agreement", NULL, NULL);
    CU_add_test (suite, "decision matrix", test_decision_matrix);
    CU_add_test (suite, "strategy meetings: meeting_record_days", test_meeting_record_days);
    CU_add_test (suite, "field allow-list", test_field_allow_list);
    CU_add_test (suite, "redaction keeps the signature verifiable", test_redaction_verifies);
    CU_add_test (suite, "errors name their line", test_errors_name_lines);
    CU_add_test (suite, "every error is reported", test_errors_all_reported);
    CU_add_test (suite, "obligations and front doors", test_obligations_and_front_doors);
    CU_add_test (suite, "loading: signatures, expiry, duplicates", test_policy_load);
    CU_add_test (suite, "several agreements in force", test_policy_several_agreements);
    CU_add_test (suite, "the example agreement is valid", test_example_agreement);
    CU_add_test (suite, "retention periods and legal hold", test_retention_and_legal_hold);
    CU_add_test (suite, "consent override with review", test_consent_override);
    CU_add_test (suite, "a rule may allow a response onward", test_onward);
    CU_add_test (suite, "challenge levels", test_challenge_levels);
}
