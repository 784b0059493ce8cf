/*  =========================================================================
    test_rh_json - spool JSON to envelopes and back
    =========================================================================
*/
#include "test_helpers.h"
#include "rhannu.pb-c.h"

static rh_envelope_t *
s_parse (const char *text, char *error, size_t size)
{
    return rh_json_to_envelope ((const uint8_t *) text, strlen (text), error, size);
}

static void
test_an_outbox_file_becomes_a_signed_message_and_an_inbox_file (void)
{
    const char *text =
        "{\"kind\": \"REFERRAL\", \"msg_id\": \"pol-0001\", \"case_id\": \"GW-1\","
        " \"purpose\": \"SAFEGUARDING_CHILD\", \"lang\": \"cy\", \"expires_ms\": 1900000000000,"
        " \"to\": [{\"front_door_la\": \"newport\", \"alias\": \"IAA\"}, {\"agency_id\": "
        "\"health-abb\"}],"
        " \"author\": {\"practitioner_id\": \"PC-1\", \"role\": \"PC\"},"
        " \"body\": {\"referral_kind\": \"PPN\", \"urgency\": 2, \"children_present\": true,"
        "  \"categories\": [\"DOMESTIC_ABUSE\", \"NEGLECT\"], \"incident_ms\": 1764000000000,"
        "  \"subjects\": [{\"kind\": \"CHILD\", \"name\": \"Plentyn A\", \"subject_key\": "
        "\"00ff10\"}],"
        "  \"consent\": {\"state\": \"GIVEN\", \"scope\": [\"HEALTH\"]}}}";
    char error [256] = "";
    rh_envelope_t *envelope = s_parse (text, error, sizeof error);
    CU_ASSERT_PTR_NOT_NULL_FATAL (envelope);
    rh_signer_t *signer = test_signer (test_pki ()->pki, "police-gwent");
    CU_ASSERT_EQUAL_FATAL (rh_envelope_sign (envelope, signer), 0);
    CU_ASSERT_STRING_EQUAL (rh_envelope_msg_id (envelope), "pol-0001");
    CU_ASSERT_EQUAL (rh_envelope_recipients (envelope), 2);
    const Rhannu__V1__Referral *body = (const Rhannu__V1__Referral *) rh_envelope_body (envelope);
    CU_ASSERT_EQUAL (body->referral_kind, RHANNU__V1__REFERRAL_KIND__PPN);
    CU_ASSERT_EQUAL (body->n_categories, 2);
    CU_ASSERT_EQUAL (body->categories [1], RHANNU__V1__CATEGORY__NEGLECT);
    CU_ASSERT_EQUAL (body->subjects [0]->subject_key.len, 3);
    CU_ASSERT_EQUAL (body->consent->scope [0], RHANNU__V1__AGENCY_TYPE__HEALTH);
    CU_ASSERT_EQUAL (body->incident_ms, 1764000000000);

    char *inbox = rh_json_from_envelope (envelope);
    CU_ASSERT_PTR_NOT_NULL_FATAL (inbox);
    json_t *root = json_loads (inbox, 0, NULL);
    CU_ASSERT_STRING_EQUAL (json_string_value (json_object_get (root, "sender")), "police-gwent");
    CU_ASSERT_STRING_EQUAL (json_string_value (json_object_get (root, "lang")), "cy");
    json_t *out_body = json_object_get (root, "body");
    CU_ASSERT_STRING_EQUAL (json_string_value (json_object_get (out_body, "referral_kind")), "PPN");
    CU_ASSERT_EQUAL (json_integer_value (json_object_get (out_body, "incident_ms")), 1764000000000);
    json_t *subject = json_array_get (json_object_get (out_body, "subjects"), 0);
    CU_ASSERT_STRING_EQUAL (json_string_value (json_object_get (subject, "subject_key")), "00ff10");
    CU_ASSERT_STRING_EQUAL (json_string_value (json_object_get (subject, "name")), "Plentyn A");
    //  Defaults are left out, as a reader expects.
    CU_ASSERT_PTR_NULL (json_object_get (out_body, "narrative"));
    //  Withheld fields are named.
    uint32_t keep [] = { 1, 3 };
    CU_ASSERT_EQUAL (rh_envelope_redact (envelope, keep, 2), 0);
    free (inbox);
    json_decref (root);
    inbox = rh_json_from_envelope (envelope);
    root = json_loads (inbox, 0, NULL);
    json_t *withheld = json_object_get (root, "withheld");
    CU_ASSERT (json_array_size (withheld) >= 3);
    bool names_subjects = false;
    size_t i;
    json_t *item;
    json_array_foreach (withheld, i, item) names_subjects |=
        strcmp (json_string_value (item), "subjects") == 0;
    CU_ASSERT_TRUE (names_subjects);
    json_decref (root);
    free (inbox);
    rh_envelope_destroy (&envelope);
    rh_signer_destroy (&signer);
}

static void
test_mistakes_in_a_file_are_explained_by_path (void)
{
    static const struct {
        const char *text;
        const char *expected;
    } cases [] = {
        { "{\"kind\": \"REFERAL\", \"body\": {}}",
          "value not allowed for field kind; allowed: REFERRAL, RECEIPT" },
        { "{\"kind\": \"REFERRAL\"}", "body: missing" },
        { "{\"kind\": \"REFERRAL\", \"colour\": 1, \"body\": {}}",
          "a key is not in the schema; allowed: kind, msg_id" },
        { "{\"kind\": \"REFERRAL\", \"body\": {\"narative\": \"x\"}}",
          "body: a field is not in the schema; allowed: " },
        { "{\"kind\": \"REFERRAL\", \"body\": {\"urgency\": \"high\"}}",
          "body.urgency: expected a whole number" },
        { "{\"kind\": \"REFERRAL\", \"body\": {\"urgency\": -1}}",
          "body.urgency: number out of range" },
        { "{\"kind\": \"REFERRAL\", \"body\": {\"categories\": \"DA\"}}",
          "body.categories: expected a list" },
        { "{\"kind\": \"REFERRAL\", \"body\": {\"categories\": [\"DOMESTIC_ABUSE\", \"DA\"]}}",
          "value not allowed for field body.categories[1]; allowed: DOMESTIC_ABUSE, CSE" },
        { "{\"kind\": \"REFERRAL\", \"body\": {\"subjects\": [{\"subject_key\": \"zz\"}]}}",
          "body.subjects[0].subject_key: expected lower-case hex" },
        { "{\"kind\": \"REFERRAL\", \"body\": {\"children_present\": 1}}",
          "expected true or false" },
        { "{\"kind\": \"REFERRAL\", \"body\": {\"consent\": []}}",
          "body.consent: expected an object" },
        { "{\"kind\": \"REFERRAL\", \"to\": [{\"agency_id\": \"Bad Id\"}], \"body\": {}}",
          "to[0]" },
        { "{\"kind\": \"REFERRAL\", \"lang\": \"fr\", \"body\": {}}", "lang: not a valid value" },
        { "{\"kind\": \"REFERRAL\", \"author\": {\"name\": \"x\"}, \"body\": {}}",
          "author: a field is not in the schema; allowed: practitioner_id" },
        { "{\"kind\": \"REFERRAL\", \"kind\": \"OUTCOME\", \"body\": {}}", "duplicate" },
        { "[1, 2]", "expected a JSON object" },
        { "{\"kind\": \"REFERRAL\", \"body\": {\"narrative\": \"abc", "line 1" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        char error [1024] = "";
        rh_envelope_t *envelope = s_parse (cases [i].text, error, sizeof error);
        CU_ASSERT_PTR_NULL (envelope);
        if (!strstr (error, cases [i].expected))
            fprintf (stderr, "\n  case %zu: got '%s'\n", i, error);
        CU_ASSERT_PTR_NOT_NULL (strstr (error, cases [i].expected));
        rh_envelope_destroy (&envelope);
    }
}

//  An error goes to failed/*.error and the operator log: it names the field and what is allowed,
//  never what was given, which may be personal data typed into the wrong place.
static void
test_an_error_never_repeats_the_value_given (void)
{
#define S_PERSON "Mary Smith 12/03/2016"
    static const struct {
        const char *text;
        const char *expected;
    } cases [] = {
        { "{\"kind\": \"" S_PERSON "\", \"body\": {}}", "allowed: REFERRAL" },
        { "{\"kind\": \"REFERRAL\", \"body\": {\"subjects\": [{\"kind\": \"" S_PERSON "\"}]}}",
          "value not allowed for field body.subjects[0].kind; allowed: CHILD, ADULT" },
        { "{\"kind\": \"REFERRAL\", \"body\": {\"categories\": [\"" S_PERSON "\"]}}",
          "value not allowed for field body.categories[0]; allowed: " },
        { "{\"kind\": \"REFERRAL\", \"body\": {\"requested_route\": 7}}",
          "value not allowed for field body.requested_route; allowed: " },
        { "{\"kind\": \"REFERRAL\", \"" S_PERSON "\": 1, \"body\": {}}", "allowed: kind" },
        { "{\"kind\": \"REFERRAL\", \"body\": {\"" S_PERSON "\": \"x\"}}",
          "body: a field is not in the schema" },
        { "{\"kind\": \"REFERRAL\", \"body\": {\"subjects\": [{\"" S_PERSON "\": 1}]}}",
          "body.subjects[0]: a field is not in the schema" },
        { "{\"kind\": \"REFERRAL\", \"author\": {\"" S_PERSON "\": \"x\"}, \"body\": {}}",
          "author: a field is not in the schema" },
        { "{\"kind\": \"REFERRAL\", \"body\": {\"narrative\": Mary Smith}}", "line 1 column" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        char error [1024] = "";
        rh_envelope_t *envelope = s_parse (cases [i].text, error, sizeof error);
        CU_ASSERT_PTR_NULL (envelope);
        if (!strstr (error, cases [i].expected) || strstr (error, "Mary"))
            fprintf (stderr, "\n  case %zu: got '%s'\n", i, error);
        CU_ASSERT_PTR_NOT_NULL (strstr (error, cases [i].expected));
        CU_ASSERT_PTR_NULL (strstr (error, "Mary"));
        rh_envelope_destroy (&envelope);
    }
#undef S_PERSON
}

void
init_rh_json_tests (void)
{
    CU_pSuite suite = CU_add_suite ("rh_json", NULL, NULL);
    CU_add_test (suite, "an outbox file becomes a signed message and an inbox file",
                 test_an_outbox_file_becomes_a_signed_message_and_an_inbox_file);
    CU_add_test (suite, "mistakes in a file are explained by path",
                 test_mistakes_in_a_file_are_explained_by_path);
    CU_add_test (suite, "an error never repeats the value given",
                 test_an_error_never_repeats_the_value_given);
}
