/*  =========================================================================
    rh_json - the JSON form of messages in agents' spool folders
    =========================================================================
*/
#include "rh_proto.h"
#include "rhannu.pb-c.h"

#define S_FAIL(...)                                                                                \
    do {                                                                                           \
        snprintf (error, error_size, __VA_ARGS__);                                                 \
        return -1;                                                                                 \
    } while (0)

//  What a spool file's error says is read by operators and lands in failed/*.error and the
//  operator log: it names the field (its path) and what is allowed, never the value that was
//  given, which may be personal data typed into the wrong field.

//  Appends word to the list in out ("a, b, c"), as far as it fits.
static void
s_list_add (char *out, size_t size, const char *word)
{
    size_t used = strlen (out);
    if (used + 1 < size)
        snprintf (out + used, size - used, "%s%s", used ? ", " : "", word);
}

//  The names an enum allows, but its unset value (0, the same as leaving the field out).
static void
s_list_enum (const ProtobufCEnumDescriptor *descriptor, char *out, size_t size)
{
    *out = 0;
    for (unsigned i = 0; i < descriptor->n_values; i++)
        if (descriptor->values [i].value != 0)
            s_list_add (out, size, descriptor->values [i].name);
}

//  The field names of a message.
static void
s_list_fields (const ProtobufCMessageDescriptor *descriptor, char *out, size_t size)
{
    *out = 0;
    for (unsigned i = 0; i < descriptor->n_fields; i++)
        s_list_add (out, size, descriptor->fields [i].name);
}

//  The words of a NULL-terminated list.
static void
s_list_words (const char *const *words, char *out, size_t size)
{
    *out = 0;
    for (size_t i = 0; words [i]; i++)
        s_list_add (out, size, words [i]);
}

static int s_to_message (json_t *object, const ProtobufCMessageDescriptor *descriptor,
                         ProtobufCMessage **out, const char *path, int depth, char *error,
                         size_t error_size);

static size_t
s_element_size (ProtobufCType type)
{
    switch (type) {
        case PROTOBUF_C_TYPE_INT64:
        case PROTOBUF_C_TYPE_SINT64:
        case PROTOBUF_C_TYPE_SFIXED64:
        case PROTOBUF_C_TYPE_UINT64:
        case PROTOBUF_C_TYPE_FIXED64:
            return 8;
        case PROTOBUF_C_TYPE_BOOL:
            return sizeof (protobuf_c_boolean);
        case PROTOBUF_C_TYPE_STRING:
        case PROTOBUF_C_TYPE_MESSAGE:
            return sizeof (void *);
        case PROTOBUF_C_TYPE_BYTES:
            return sizeof (ProtobufCBinaryData);
        case PROTOBUF_C_TYPE_DOUBLE:
            return sizeof (double);
        default:
            return 4;
    }
}

//  Sets one value of a field at slot from JSON.
static int
s_set_value (const ProtobufCFieldDescriptor *field, json_t *value, void *slot, const char *path,
             int depth, char *error, size_t error_size)
{
    switch (field->type) {
        case PROTOBUF_C_TYPE_INT32:
        case PROTOBUF_C_TYPE_SINT32:
        case PROTOBUF_C_TYPE_SFIXED32:
        case PROTOBUF_C_TYPE_UINT32:
        case PROTOBUF_C_TYPE_FIXED32: {
            bool is_unsigned =
                field->type == PROTOBUF_C_TYPE_UINT32 || field->type == PROTOBUF_C_TYPE_FIXED32;
            if (!json_is_integer (value))
                S_FAIL ("%s: expected a whole number", path);
            json_int_t number = json_integer_value (value);
            if (is_unsigned ? (number < 0 || number > UINT32_MAX)
                            : (number < INT32_MIN || number > INT32_MAX))
                S_FAIL ("%s: number out of range", path);
            if (is_unsigned)
                *(uint32_t *) slot = (uint32_t) number;
            else
                *(int32_t *) slot = (int32_t) number;
            return 0;
        }
        case PROTOBUF_C_TYPE_INT64:
        case PROTOBUF_C_TYPE_SINT64:
        case PROTOBUF_C_TYPE_SFIXED64:
        case PROTOBUF_C_TYPE_UINT64:
        case PROTOBUF_C_TYPE_FIXED64:
            if (!json_is_integer (value))
                S_FAIL ("%s: expected a whole number", path);
            if ((field->type == PROTOBUF_C_TYPE_UINT64 || field->type == PROTOBUF_C_TYPE_FIXED64)
                && json_integer_value (value) < 0)
                S_FAIL ("%s: number out of range", path);
            *(int64_t *) slot = json_integer_value (value);
            return 0;
        case PROTOBUF_C_TYPE_BOOL:
            if (!json_is_boolean (value))
                S_FAIL ("%s: expected true or false", path);
            *(protobuf_c_boolean *) slot = json_is_true (value);
            return 0;
        case PROTOBUF_C_TYPE_ENUM: {
            const ProtobufCEnumValue *known = json_is_string (value)
                                                  ? protobuf_c_enum_descriptor_get_value_by_name (
                                                      field->descriptor, json_string_value (value))
                                                  : NULL;
            if (!known) {
                char allowed [768];
                s_list_enum (field->descriptor, allowed, sizeof allowed);
                S_FAIL ("value not allowed for field %s; allowed: %s", path, allowed);
            }
            *(int *) slot = known->value;
            return 0;
        }
        case PROTOBUF_C_TYPE_STRING: {
            if (!json_is_string (value))
                S_FAIL ("%s: expected text", path);
            if (json_string_length (value) > RH_MAX_STRING
                || strlen (json_string_value (value)) != json_string_length (value))
                S_FAIL ("%s: text too long or holds a NUL", path);
            char *copy = strdup (json_string_value (value));
            if (!copy)
                S_FAIL ("%s: out of memory", path);
            *(char **) slot = copy;
            return 0;
        }
        case PROTOBUF_C_TYPE_BYTES: {
            const char *hex = json_is_string (value) ? json_string_value (value) : NULL;
            size_t length = hex ? strlen (hex) : 0;
            if (!hex || length % 2 || length / 2 > RH_MAX_STRING)
                S_FAIL ("%s: expected lower-case hex", path);
            ProtobufCBinaryData *data = slot;
            data->data = malloc (length / 2 + 1);
            size_t got = 0;
            if (!data->data
                || sodium_hex2bin (data->data, length / 2, hex, length, NULL, &got, NULL) != 0
                || got != length / 2) {
                free (data->data);
                data->data = NULL;
                S_FAIL ("%s: expected lower-case hex", path);
            }
            data->len = got;
            return 0;
        }
        case PROTOBUF_C_TYPE_MESSAGE:
            return s_to_message (value, field->descriptor, (ProtobufCMessage **) slot, path,
                                 depth + 1, error, error_size);
        default:
            S_FAIL ("%s: unsupported field type", path);
    }
}

static int
s_to_message (json_t *object, const ProtobufCMessageDescriptor *descriptor, ProtobufCMessage **out,
              const char *path, int depth, char *error, size_t error_size)
{
    if (depth > RH_MAX_DEPTH)
        S_FAIL ("%s: nested too deeply", path);
    if (!json_is_object (object))
        S_FAIL ("%s: expected an object", path);
    ProtobufCMessage *message = calloc (1, descriptor->sizeof_message);
    if (!message)
        S_FAIL ("%s: out of memory", path);
    protobuf_c_message_init (descriptor, message);
    *out = message;  //  the caller frees it, also on failure
    const char *key;
    json_t *value;
    json_object_foreach (object, key, value)
    {
        char inner [256];
        snprintf (inner, sizeof inner, "%s.%s", path, key);
        const ProtobufCFieldDescriptor *field =
            protobuf_c_message_descriptor_get_field_by_name (descriptor, key);
        if (!field) {
            char allowed [768];
            s_list_fields (descriptor, allowed, sizeof allowed);
            S_FAIL ("%s: a field is not in the schema; allowed: %s", path, allowed);
        }
        void *member = (char *) message + field->offset;
        if (field->label != PROTOBUF_C_LABEL_REPEATED) {
            if (s_set_value (field, value, member, inner, depth, error, error_size) != 0)
                return -1;
            continue;
        }
        if (!json_is_array (value))
            S_FAIL ("%s: expected a list", inner);
        size_t count = json_array_size (value);
        if (count > RH_MAX_REPEATED)
            S_FAIL ("%s: more than %d entries", inner, RH_MAX_REPEATED);
        if (count == 0)
            continue;
        size_t element = s_element_size (field->type);
        void *items = calloc (count, element);
        if (!items)
            S_FAIL ("%s: out of memory", inner);
        *(void **) member = items;
        size_t *quantifier = (size_t *) ((char *) message + field->quantifier_offset);
        for (size_t i = 0; i < count; i++) {
            char item_path [300];
            snprintf (item_path, sizeof item_path, "%s[%zu]", inner, i);
            //  Count each element as it is set, so that a failure frees exactly what was made.
            *quantifier = i + 1;
            if (s_set_value (field, json_array_get (value, i), (char *) items + i * element,
                             item_path, depth, error, error_size)
                != 0)
                return -1;
        }
    }
    return 0;
}

static const char *
s_get_text (json_t *root, const char *key)
{
    json_t *value = json_object_get (root, key);
    return json_is_string (value) ? json_string_value (value) : NULL;
}

//  Gives every person subject without a key the pseudonymous key of its identifiers.
static void
s_key_subjects (ProtobufCMessage *body, const uint8_t *secret)
{
    Rhannu__V1__Subject **subjects = NULL;
    size_t count = 0;
    if (body->descriptor == &rhannu__v1__referral__descriptor) {
        subjects = ((Rhannu__V1__Referral *) body)->subjects;
        count = ((Rhannu__V1__Referral *) body)->n_subjects;
    }
    else if (body->descriptor == &rhannu__v1__info_request__descriptor) {
        subjects = ((Rhannu__V1__InfoRequest *) body)->subjects;
        count = ((Rhannu__V1__InfoRequest *) body)->n_subjects;
    }
    for (size_t i = 0; i < count; i++) {
        Rhannu__V1__Subject *subject = subjects [i];
        char identity [512];
        if (subject->subject_key.len || subject->identity_unknown
            || subject->kind == RHANNU__V1__SUBJECT_KIND__PLACE
            || subject->kind == RHANNU__V1__SUBJECT_KIND__GROUP
            || rh_subject_identity (subject->nhs_number, subject->name, subject->date_of_birth,
                                    identity, sizeof identity)
                   != 0)
            continue;
        uint8_t *key = malloc (RH_SUBJECT_KEY_LEN);
        if (key && rh_subject_key (secret, identity, key) == 0) {
            subject->subject_key.data = key;
            subject->subject_key.len = RH_SUBJECT_KEY_LEN;
        }
        else
            free (key);
        sodium_memzero (identity, sizeof identity);
    }
}

rh_envelope_t *
rh_json_to_envelope (const uint8_t *text, size_t size, char *error, size_t error_size)
{
    return rh_json_to_envelope_keyed (text, size, NULL, error, error_size);
}

rh_envelope_t *
rh_json_to_envelope_keyed (const uint8_t *text, size_t size, const uint8_t *subject_secret,
                           char *error, size_t error_size)
{
    assert (text && error);
    json_error_t parse_error;
    rh_envelope_t *envelope = NULL;
    ProtobufCMessage *body = NULL;
    json_t *root = json_loadb ((const char *) text, size, JSON_REJECT_DUPLICATES, &parse_error);
    if (!root) {
        //  jansson quotes the text it stopped at ("... near 'Mary'"): only what it expected.
        const char *near = strstr (parse_error.text, " near ");
        int length = near ? (int) (near - parse_error.text) : (int) strlen (parse_error.text);
        snprintf (error, error_size, "line %d column %d: not valid JSON: %.*s", parse_error.line,
                  parse_error.column, length, parse_error.text);
        return NULL;
    }
    static const char *known [] = { "kind",
                                    "msg_id",
                                    "to",
                                    "case_id",
                                    "in_reply_to",
                                    "thread_id",
                                    "agreement_id",
                                    "purpose",
                                    "lang",
                                    "expires_ms",
                                    "author",
                                    "body",
                                    "in_reply_sha256",
                                    NULL };
    const char *key;
    json_t *value;
    if (!json_is_object (root)) {
        snprintf (error, error_size, "expected a JSON object");
        goto fail;
    }
    json_object_foreach (root, key, value)
    {
        bool found = false;
        for (int i = 0; known [i] && !found; i++)
            found = strcmp (known [i], key) == 0;
        if (!found) {
            char allowed [512];
            s_list_words (known, allowed, sizeof allowed);
            snprintf (error, error_size, "a key is not in the schema; allowed: %s", allowed);
            goto fail;
        }
    }
    const char *kind_name = s_get_text (root, "kind");
    rh_kind_t kind = rh_envelope_kind_from_name (kind_name);
    if (kind == RH_KIND_UNSET) {
        char allowed [512] = "";
        for (int k = RH_KIND_UNSET + 1; k < RH_KIND_COUNT; k++)
            if (rh_envelope_kind_name ((rh_kind_t) k))
                s_list_add (allowed, sizeof allowed, rh_envelope_kind_name ((rh_kind_t) k));
        snprintf (error, error_size, "value not allowed for field kind; allowed: %s", allowed);
        goto fail;
    }
    envelope = rh_envelope_new (kind);
    if (!envelope) {
        snprintf (error, error_size, "out of memory");
        goto fail;
    }
    static const struct {
        const char *key;
        int (*set) (rh_envelope_t *, const char *);
    } texts [] = {
        { "msg_id", rh_envelope_set_msg_id },
        { "case_id", rh_envelope_set_case_id },
        { "in_reply_to", rh_envelope_set_in_reply_to },
        { "thread_id", rh_envelope_set_thread_id },
        { "agreement_id", rh_envelope_set_agreement_id },
        { "purpose", rh_envelope_set_purpose },
        { "lang", rh_envelope_set_lang },
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts [0]; i++) {
        json_t *item = json_object_get (root, texts [i].key);
        if (!item)
            continue;
        if (!json_is_string (item) || texts [i].set (envelope, json_string_value (item)) != 0) {
            snprintf (error, error_size, "%s: not a valid value", texts [i].key);
            goto fail;
        }
    }
    //  Usually left out: the agent fills it from the message named by in_reply_to.
    json_t *binding = json_object_get (root, "in_reply_sha256");
    if (binding) {
        const char *hex = json_is_string (binding) ? json_string_value (binding) : "";
        uint8_t digest [RH_DIGEST_LEN];
        size_t got = 0;
        if (strlen (hex) != RH_DIGEST_LEN * 2
            || sodium_hex2bin (digest, sizeof digest, hex, strlen (hex), NULL, &got, NULL) != 0
            || got != RH_DIGEST_LEN || rh_envelope_set_in_reply_sha256 (envelope, digest) != 0) {
            snprintf (error, error_size, "in_reply_sha256: expected 64 hex digits");
            goto fail;
        }
    }
    json_t *expires = json_object_get (root, "expires_ms");
    if (expires
        && (!json_is_integer (expires)
            || rh_envelope_set_expires (envelope, json_integer_value (expires)) != 0)) {
        snprintf (error, error_size, "expires_ms: expected milliseconds since 1970");
        goto fail;
    }
    json_t *author = json_object_get (root, "author");
    if (author) {
        static const char *fields [] = { "practitioner_id", "role",       "unit",
                                         "supervisor_id",   "duty_inbox", NULL };
        json_object_foreach (author, key, value)
        {
            bool found = false;
            for (int i = 0; fields [i] && !found; i++)
                found = strcmp (fields [i], key) == 0;
            if (!found) {
                char allowed [256];
                s_list_words (fields, allowed, sizeof allowed);
                snprintf (error, error_size, "author: a field is not in the schema; allowed: %s",
                          allowed);
                goto fail;
            }
            if (!json_is_string (value)) {
                snprintf (error, error_size, "author.%s: expected text", key);
                goto fail;
            }
        }
        if (!json_is_object (author)
            || rh_envelope_set_author (envelope, s_get_text (author, "practitioner_id"),
                                       s_get_text (author, "role"), s_get_text (author, "unit"),
                                       s_get_text (author, "supervisor_id"),
                                       s_get_text (author, "duty_inbox"))
                   != 0) {
            snprintf (error, error_size, "author: values too long or not text");
            goto fail;
        }
    }
    json_t *to = json_object_get (root, "to");
    if (to && !json_is_array (to)) {
        snprintf (error, error_size, "to: expected a list of addresses");
        goto fail;
    }
    size_t index;
    json_array_foreach (to, index, value)
    {
        const char *agency = s_get_text (value, "agency_id");
        const char *front_door = s_get_text (value, "front_door_la");
        int rc = -1;
        if (agency && !front_door)
            rc = rh_envelope_add_to_agency (envelope, agency, s_get_text (value, "unit"));
        else if (front_door && !agency)
            rc = rh_envelope_add_to_front_door (envelope, front_door, s_get_text (value, "alias"));
        if (rc != 0) {
            snprintf (error, error_size,
                      "to[%zu]: expected {\"agency_id\": ...} or {\"front_door_la\": ...} with a "
                      "valid id",
                      index);
            goto fail;
        }
    }
    json_t *body_json = json_object_get (root, "body");
    if (!body_json) {
        snprintf (error, error_size, "body: missing");
        goto fail;
    }
    const ProtobufCMessageDescriptor *descriptor = rh_envelope_body_descriptor (kind);
    if (s_to_message (body_json, descriptor, &body, "body", 0, error, error_size) != 0)
        goto fail;
    if (subject_secret)
        s_key_subjects (body, subject_secret);
    if (rh_envelope_set_body (envelope, body) != 0) {
        snprintf (error, error_size, "body: too large");
        goto fail;
    }
    protobuf_c_message_free_unpacked (body, NULL);
    json_decref (root);
    return envelope;
fail:
    if (body)
        protobuf_c_message_free_unpacked (body, NULL);
    rh_envelope_destroy (&envelope);
    json_decref (root);
    return NULL;
}

static json_t *s_from_message (const ProtobufCMessage *message);

static json_t *
s_from_value (const ProtobufCFieldDescriptor *field, const void *slot)
{
    switch (field->type) {
        case PROTOBUF_C_TYPE_INT32:
        case PROTOBUF_C_TYPE_SINT32:
        case PROTOBUF_C_TYPE_SFIXED32:
            return json_integer (*(const int32_t *) slot);
        case PROTOBUF_C_TYPE_UINT32:
        case PROTOBUF_C_TYPE_FIXED32:
            return json_integer (*(const uint32_t *) slot);
        case PROTOBUF_C_TYPE_INT64:
        case PROTOBUF_C_TYPE_SINT64:
        case PROTOBUF_C_TYPE_SFIXED64:
        case PROTOBUF_C_TYPE_UINT64:
        case PROTOBUF_C_TYPE_FIXED64:
            return json_integer ((json_int_t) * (const int64_t *) slot);
        case PROTOBUF_C_TYPE_BOOL:
            return json_boolean (*(const protobuf_c_boolean *) slot);
        case PROTOBUF_C_TYPE_ENUM: {
            const ProtobufCEnumValue *known =
                protobuf_c_enum_descriptor_get_value (field->descriptor, *(const int *) slot);
            return known ? json_string (known->name) : json_integer (*(const int *) slot);
        }
        case PROTOBUF_C_TYPE_STRING:
            return json_string (*(char *const *) slot);
        case PROTOBUF_C_TYPE_BYTES: {
            const ProtobufCBinaryData *data = slot;
            char *hex = malloc (data->len * 2 + 1);
            if (!hex)
                return NULL;
            sodium_bin2hex (hex, data->len * 2 + 1, data->data, data->len);
            json_t *text = json_string (hex);
            free (hex);
            return text;
        }
        case PROTOBUF_C_TYPE_MESSAGE:
            return s_from_message (*(ProtobufCMessage *const *) slot);
        default:
            return json_null ();
    }
}

//  True if a singular proto3 field holds its default and so is left out of the JSON.
static bool
s_is_default (const ProtobufCFieldDescriptor *field, const void *slot)
{
    switch (field->type) {
        case PROTOBUF_C_TYPE_STRING: {
            const char *text = *(char *const *) slot;
            return !text || !*text;
        }
        case PROTOBUF_C_TYPE_BYTES:
            return ((const ProtobufCBinaryData *) slot)->len == 0;
        case PROTOBUF_C_TYPE_MESSAGE:
            return *(void *const *) slot == NULL;
        case PROTOBUF_C_TYPE_BOOL:
            return !*(const protobuf_c_boolean *) slot;
        default: {
            size_t size = s_element_size (field->type);
            static const uint8_t zero [8] = { 0 };
            return memcmp (slot, zero, size) == 0;
        }
    }
}

static json_t *
s_from_message (const ProtobufCMessage *message)
{
    json_t *object = json_object ();
    if (!object || !message)
        return object;
    const ProtobufCMessageDescriptor *descriptor = message->descriptor;
    for (unsigned i = 0; i < descriptor->n_fields; i++) {
        const ProtobufCFieldDescriptor *field = &descriptor->fields [i];
        const char *member = (const char *) message + field->offset;
        if (field->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t count = *(const size_t *) ((const char *) message + field->quantifier_offset);
            if (count == 0)
                continue;
            json_t *list = json_array ();
            const char *items = *(const char *const *) member;
            for (size_t k = 0; k < count; k++)
                json_array_append_new (
                    list, s_from_value (field, items + k * s_element_size (field->type)));
            json_object_set_new (object, field->name, list);
        }
        else if (!s_is_default (field, member))
            json_object_set_new (object, field->name, s_from_value (field, member));
    }
    return object;
}

static json_t *
s_envelope_json (rh_envelope_t *envelope, const rh_json_delivery_t *delivery)
{
    assert (envelope);
    static const rh_json_delivery_t none = { 0 };
    if (!delivery)
        delivery = &none;
    json_t *root = json_object ();
    if (!root)
        return NULL;
    json_object_set_new (root, "msg_id", json_string (rh_envelope_msg_id (envelope)));
    json_object_set_new (root, "kind",
                         json_string (rh_envelope_kind_name (rh_envelope_kind (envelope))));
    json_object_set_new (root, "sender", json_string (rh_envelope_sender (envelope)));
    char created [32];
    json_object_set_new (
        root, "created",
        json_string (rh_time_format (rh_envelope_created (envelope), created, sizeof created)));
    json_object_set_new (root, "created_ms", json_integer (rh_envelope_created (envelope)));
    static const struct {
        const char *key;
        const char *(*get) (rh_envelope_t *);
    } texts [] = {
        { "case_id", rh_envelope_case_id },
        { "in_reply_to", rh_envelope_in_reply_to },
        { "thread_id", rh_envelope_thread_id },
        { "agreement_id", rh_envelope_agreement_id },
        { "purpose", rh_envelope_purpose },
        { "lang", rh_envelope_lang },
        { "author_practitioner_id", rh_envelope_author },
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts [0]; i++) {
        const char *value = texts [i].get (envelope);
        if (value && *value)
            json_object_set_new (root, texts [i].key, json_string (value));
    }
    //  The header's own digest, which a reply names (in_reply_sha256), and the one it names.
    char hex [RH_DIGEST_LEN * 2 + 1];
    uint8_t digest [RH_DIGEST_LEN];
    size_t header_size = 0;
    const uint8_t *header = rh_envelope_header_bytes (envelope, &header_size);
    if (header) {
        rh_sha256 (digest, header, header_size);
        sodium_bin2hex (hex, sizeof hex, digest, RH_DIGEST_LEN);
        json_object_set_new (root, "header_sha256", json_string (hex));
    }
    if (rh_envelope_has_in_reply_sha256 (envelope)) {
        sodium_bin2hex (hex, sizeof hex, rh_envelope_in_reply_sha256 (envelope), RH_DIGEST_LEN);
        json_object_set_new (root, "in_reply_sha256", json_string (hex));
    }
    json_t *to = json_array ();
    for (size_t i = 0; i < rh_envelope_recipients (envelope); i++) {
        json_t *address = json_object ();
        const char *agency = rh_envelope_recipient_agency (envelope, i);
        if (*agency)
            json_object_set_new (address, "agency_id", json_string (agency));
        else
            json_object_set_new (address, "front_door_la",
                                 json_string (rh_envelope_recipient_front_door (envelope, i)));
        json_array_append_new (to, address);
    }
    json_object_set_new (root, "to", to);
    //  Fields the sender wrote that this recipient was not given.
    json_t *withheld = json_array ();
    for (size_t i = 0; i < rh_envelope_commitments (envelope); i++) {
        uint32_t field = rh_envelope_commitment (envelope, i, NULL);
        if (!rh_envelope_discloses (envelope, field)) {
            const char *name = rh_envelope_field_name (rh_envelope_kind (envelope), field);
            json_array_append_new (withheld, json_string (name ? name : "?"));
        }
    }
    json_object_set_new (root, "withheld", withheld);
    if (delivery->agreement_id && *delivery->agreement_id)
        json_object_set_new (root, "delivered_under",
                             json_pack ("{s:s, s:I, s:s}", "agreement_id", delivery->agreement_id,
                                        "agreement_version",
                                        (json_int_t) delivery->agreement_version, "rule_id",
                                        delivery->rule_id ? delivery->rule_id : ""));
    json_t *body = s_from_message (rh_envelope_body (envelope));
    //  Broker notices and alerts: the summary in the agency's language, and the front door's own
    //  message (verified by the caller) in place of its bytes.
    const char *summary = NULL;
    if (delivery->lang && json_is_object (body)) {
        summary = json_string_value (
            json_object_get (body, !strcmp (delivery->lang, "cy") ? "summary_cy" : "summary_en"));
        if (summary)
            json_object_set_new (root, "summary", json_string (summary));
    }
    if (delivery->inner && json_is_object (body))
        json_object_set_new (body, "original", s_envelope_json (delivery->inner, NULL));
    json_object_set_new (root, "body", body);
    return root;
}

char *
rh_json_from_envelope (rh_envelope_t *envelope)
{
    return rh_json_from_delivery (envelope, NULL);
}

char *
rh_json_from_delivery (rh_envelope_t *envelope, const rh_json_delivery_t *delivery)
{
    json_t *root = s_envelope_json (envelope, delivery);
    if (!root)
        return NULL;
    char *text = json_dumps (root, JSON_INDENT (2) | JSON_PRESERVE_ORDER);
    json_decref (root);
    return text;
}
