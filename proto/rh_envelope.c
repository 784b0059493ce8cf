/*  =========================================================================
    rh_envelope - signed, redactable rhannu messages

    The only file outside tests that includes the generated protobuf-c
    header (with rh_json, which maps the same schema to JSON).
    =========================================================================
*/
#include "rh_proto.h"
#include "rhannu.pb-c.h"

#define RH_ENVELOPE_DOMAIN "rhannu.envelope.v1"  //  prefix of every signed header
#define RH_FIELD_DOMAIN    "rhannu.field.v1"     //  prefix of every field commitment

_Static_assert((int) RH_KIND_REFERRAL == (int) RHANNU__V1__MESSAGE_KIND__REFERRAL, "kind values");
_Static_assert((int) RH_KIND_RECEIPT == (int) RHANNU__V1__MESSAGE_KIND__RECEIPT, "kind values");
_Static_assert((int) RH_KIND_OUTCOME == (int) RHANNU__V1__MESSAGE_KIND__OUTCOME, "kind values");
_Static_assert((int) RH_KIND_STATUS_UPDATE == (int) RHANNU__V1__MESSAGE_KIND__STATUS_UPDATE,
               "kind values");
_Static_assert((int) RH_KIND_INFO_REQUEST == (int) RHANNU__V1__MESSAGE_KIND__INFO_REQUEST,
               "kind values");
_Static_assert((int) RH_KIND_INFO_RESPONSE == (int) RHANNU__V1__MESSAGE_KIND__INFO_RESPONSE,
               "kind values");
_Static_assert((int) RH_KIND_ALERT == (int) RHANNU__V1__MESSAGE_KIND__ALERT, "kind values");
_Static_assert((int) RH_KIND_ERROR == (int) RHANNU__V1__MESSAGE_KIND__ERROR, "kind values");
_Static_assert((int) RH_KIND_TRANSFER == (int) RHANNU__V1__MESSAGE_KIND__TRANSFER, "kind values");
_Static_assert((int) RH_KIND_STRATEGY_MEETING == (int) RHANNU__V1__MESSAGE_KIND__STRATEGY_MEETING,
               "kinds");
_Static_assert((int) RH_KIND_CHALLENGE == (int) RHANNU__V1__MESSAGE_KIND__CHALLENGE, "kind values");
_Static_assert((int) RH_KIND_USER_FEEDBACK == (int) RHANNU__V1__MESSAGE_KIND__USER_FEEDBACK,
               "kind values");
_Static_assert((int) RH_KIND_NOTICE == (int) RHANNU__V1__MESSAGE_KIND__NOTICE, "kind values");

//  Body type of each kind, indexed by rh_kind_t.
static const ProtobufCMessageDescriptor *s_bodies [RH_KIND_COUNT] = {
    [RH_KIND_REFERRAL] = &rhannu__v1__referral__descriptor,
    [RH_KIND_RECEIPT] = &rhannu__v1__receipt__descriptor,
    [RH_KIND_OUTCOME] = &rhannu__v1__outcome__descriptor,
    [RH_KIND_STATUS_UPDATE] = &rhannu__v1__status_update__descriptor,
    [RH_KIND_INFO_REQUEST] = &rhannu__v1__info_request__descriptor,
    [RH_KIND_INFO_RESPONSE] = &rhannu__v1__info_response__descriptor,
    [RH_KIND_ALERT] = &rhannu__v1__alert__descriptor,
    [RH_KIND_ERROR] = &rhannu__v1__error__descriptor,
    [RH_KIND_TRANSFER] = &rhannu__v1__transfer__descriptor,
    [RH_KIND_STRATEGY_MEETING] = &rhannu__v1__strategy_meeting__descriptor,
    [RH_KIND_CHALLENGE] = &rhannu__v1__challenge__descriptor,
    [RH_KIND_USER_FEEDBACK] = &rhannu__v1__user_feedback__descriptor,
    [RH_KIND_NOTICE] = &rhannu__v1__notice__descriptor,
};

//  Schema enums that can be looked up by name.
static const struct {
    const char *name;
    const ProtobufCEnumDescriptor *descriptor;
} s_enums [] = {
    { "AgencyType", &rhannu__v1__agency_type__descriptor },
    { "MessageKind", &rhannu__v1__message_kind__descriptor },
    { "SubjectKind", &rhannu__v1__subject_kind__descriptor },
    { "Category", &rhannu__v1__category__descriptor },
    { "Route", &rhannu__v1__route__descriptor },
    { "ConsentState", &rhannu__v1__consent_state__descriptor },
    { "ReferralKind", &rhannu__v1__referral_kind__descriptor },
    { "Decision", &rhannu__v1__decision__descriptor },
    { "UpdateKind", &rhannu__v1__update_kind__descriptor },
    { "AlertKind", &rhannu__v1__alert_kind__descriptor },
};

typedef struct {
    char agency_id [RH_MAX_ID + 1];
    char front_door_la [RH_MAX_ID + 1];
    char alias [RH_MAX_ID + 1];
    char unit [RH_MAX_ID + 1];
} s_address_t;

//  Header values while an envelope is being built.
typedef struct {
    char msg_id [RH_MAX_ID + 1];
    char case_id [RH_MAX_ID + 1];
    char in_reply_to [RH_MAX_ID + 1];
    uint8_t in_reply_sha256 [RH_DIGEST_LEN];  //  all zero: not given
    char thread_id [RH_MAX_ID + 1];
    char agreement_id [RH_MAX_ID + 1];
    char purpose [RH_MAX_ID + 1];
    char lang [3];
    char practitioner_id [RH_MAX_ID + 1];
    char role [RH_MAX_ID + 1];
    char unit [RH_MAX_ID + 1];
    char supervisor_id [RH_MAX_ID + 1];
    char duty_inbox [RH_MAX_ID + 1];
    uint64_t sequence;
    int64_t created_ms;
    int64_t expires_ms;
    s_address_t to [RH_MAX_RECIPIENTS];
    size_t to_count;
} s_draft_t;

typedef struct {
    uint32_t field;              //  body field number
    uint8_t salt [RH_SALT_LEN];  //  commitment salt
    uint8_t *value;              //  encoding of the body holding only this field, owned
    size_t size;                 //  bytes in value
} s_disclosure_t;

struct _rh_envelope_t {
    rh_kind_t kind;       //  which body type
    s_draft_t *draft;     //  header values while building; NULL once signed
    uint8_t *body_bytes;  //  encoded body while building
    size_t body_size;
    Rhannu__V1__Header *header;  //  decoded header, once signed or decoded
    uint8_t *header_bytes;       //  exact signed bytes of header
    size_t header_size;
    uint8_t signature [RH_SIG_LEN];
    s_disclosure_t *disclosures;  //  ascending by field
    size_t disclosure_count;
    ProtobufCMessage *body;  //  body rebuilt from the disclosures
};

//  ---------------------------------------------------------------------------------------------
//  Checks on untrusted values

static bool
s_utf8_valid (const uint8_t *text, size_t size)
{
    size_t i = 0;
    while (i < size) {
        uint8_t c = text [i];
        size_t extra;
        uint32_t code;
        if (c < 0x80) {
            if (c == 0)
                return false;
            i++;
            continue;
        }
        else if ((c & 0xe0) == 0xc0) {
            extra = 1;
            code = c & 0x1f;
        }
        else if ((c & 0xf0) == 0xe0) {
            extra = 2;
            code = c & 0x0f;
        }
        else if ((c & 0xf8) == 0xf0) {
            extra = 3;
            code = c & 0x07;
        }
        else
            return false;
        if (extra > size - i - 1)
            return false;
        for (size_t k = 1; k <= extra; k++) {
            if ((text [i + k] & 0xc0) != 0x80)
                return false;
            code = (code << 6) | (text [i + k] & 0x3f);
        }
        //  Overlong forms, surrogates and values past Unicode are all refused.
        if ((extra == 1 && code < 0x80) || (extra == 2 && code < 0x800)
            || (extra == 3 && code < 0x10000) || code > 0x10ffff
            || (code >= 0xd800 && code <= 0xdfff))
            return false;
        i += extra + 1;
    }
    return true;
}

//  A token: 1..RH_MAX_ID characters of [A-Za-z0-9._:-]. Ids, purposes and agreement names.
static bool
s_token_valid (const char *text)
{
    size_t length = text ? strlen (text) : 0;
    if (length == 0 || length > RH_MAX_ID)
        return false;
    for (size_t i = 0; i < length; i++) {
        char c = text [i];
        if (!isalnum ((unsigned char) c) && c != '.' && c != '_' && c != ':' && c != '-')
            return false;
    }
    return true;
}

static bool
s_optional_token_valid (const char *text)
{
    return !text || !*text || s_token_valid (text);
}

static bool
s_short_text_valid (const char *text)
{
    return !text || strlen (text) <= RH_MAX_ID;
}

//  Walks a decoded message and every message inside it, enforcing the limits of rh_limits.h,
//  valid UTF-8 and known enum values. protobuf-c itself only bounds sizes by the input.
static rh_rc_t
s_check_message (const ProtobufCMessage *message, int depth)
{
    if (depth > RH_MAX_DEPTH)
        return RH_E_TOO_LARGE;
    if (message->n_unknown_fields > 0)
        return RH_E_MALFORMED;
    const ProtobufCMessageDescriptor *descriptor = message->descriptor;
    for (unsigned i = 0; i < descriptor->n_fields; i++) {
        const ProtobufCFieldDescriptor *field = &descriptor->fields [i];
        const char *member = (const char *) message + field->offset;
        size_t count = 1;
        const void *items = member;
        if (field->label == PROTOBUF_C_LABEL_REPEATED) {
            count = *(const size_t *) ((const char *) message + field->quantifier_offset);
            if (count > RH_MAX_REPEATED)
                return RH_E_TOO_LARGE;
            items = *(const void *const *) member;
            if (count && !items)
                return RH_E_MALFORMED;
        }
        for (size_t k = 0; k < count; k++) {
            switch (field->type) {
                case PROTOBUF_C_TYPE_STRING: {
                    const char *text = ((const char *const *) items) [k];
                    size_t length = text ? strlen (text) : 0;
                    if (length > RH_MAX_STRING)
                        return RH_E_TOO_LARGE;
                    if (!s_utf8_valid ((const uint8_t *) text, length))
                        return RH_E_MALFORMED;
                    break;
                }
                case PROTOBUF_C_TYPE_BYTES: {
                    const ProtobufCBinaryData *data = &((const ProtobufCBinaryData *) items) [k];
                    if (data->len > RH_MAX_STRING)
                        return RH_E_TOO_LARGE;
                    break;
                }
                case PROTOBUF_C_TYPE_ENUM: {
                    int value = ((const int *) items) [k];
                    if (!protobuf_c_enum_descriptor_get_value (field->descriptor, value))
                        return RH_E_MALFORMED;
                    break;
                }
                case PROTOBUF_C_TYPE_MESSAGE: {
                    const ProtobufCMessage *inner = ((const ProtobufCMessage *const *) items) [k];
                    if (inner) {
                        rh_rc_t rc = s_check_message (inner, depth + 1);
                        if (rc != RH_OK)
                            return rc;
                    }
                    break;
                }
                default:
                    break;  //  numbers and booleans are bounded by their type
            }
        }
    }
    return RH_OK;
}

//  Reads a base-128 varint; returns bytes used, or 0 if it runs past the end or over 64 bits.
static size_t
s_varint (const uint8_t *data, size_t size, uint64_t *value)
{
    uint64_t result = 0;
    for (size_t i = 0; i < size && i < 10; i++) {
        if (i == 9 && data [i] > 1)
            return 0;
        result |= (uint64_t) (data [i] & 0x7f) << (7 * i);
        if ((data [i] & 0x80) == 0) {
            *value = result;
            return i + 1;
        }
    }
    return 0;
}

//  Reads one top-level protobuf record (tag and value) at data: sets its field number and total
//  length. Groups and unknown wire types are refused. Returns 0 or -1.
static int
s_record (const uint8_t *data, size_t size, uint32_t *field, size_t *length)
{
    uint64_t key, value;
    size_t used = s_varint (data, size, &key);
    if (!used || (key >> 3) == 0 || (key >> 3) > 536870911u)
        return -1;
    size_t at = used;
    switch (key & 7) {
        case 0:
            used = s_varint (data + at, size - at, &value);
            if (!used)
                return -1;
            at += used;
            break;
        case 1:
            if (size - at < 8)
                return -1;
            at += 8;
            break;
        case 2:
            used = s_varint (data + at, size - at, &value);
            if (!used || value > size - at - used)
                return -1;
            at += used + (size_t) value;
            break;
        case 5:
            if (size - at < 4)
                return -1;
            at += 4;
            break;
        default:
            return -1;
    }
    *field = (uint32_t) (key >> 3);
    *length = at;
    return 0;
}

//  True if value is a well-formed encoding holding records of field only: a disclosure may not
//  smuggle another field past redaction.
static bool
s_single_field (const uint8_t *value, size_t size, uint32_t field)
{
    size_t at = 0;
    while (at < size) {
        uint32_t number;
        size_t length;
        if (s_record (value + at, size - at, &number, &length) != 0 || number != field)
            return false;
        at += length;
    }
    return true;
}

static void
s_commit (rh_kind_t kind, uint32_t field, const uint8_t *salt, const uint8_t *value, size_t size,
          uint8_t digest [RH_DIGEST_LEN])
{
    uint8_t numbers [8] = { (uint8_t) (kind >> 24),  (uint8_t) (kind >> 16),
                            (uint8_t) (kind >> 8),   (uint8_t) kind,
                            (uint8_t) (field >> 24), (uint8_t) (field >> 16),
                            (uint8_t) (field >> 8),  (uint8_t) field };
    const void *parts [] = { RH_FIELD_DOMAIN, numbers, salt, value };
    size_t sizes [] = { sizeof RH_FIELD_DOMAIN,  //  includes the NUL separator
                        sizeof numbers, RH_SALT_LEN, size };
    rh_sha256_parts (digest, parts, sizes, 4);
}

//  ---------------------------------------------------------------------------------------------
//  Lifetime

rh_envelope_t *
rh_envelope_new (rh_kind_t kind)
{
    if (kind <= RH_KIND_UNSET || kind >= RH_KIND_COUNT)
        return NULL;
    rh_envelope_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->kind = kind;
    self->draft = calloc (1, sizeof *self->draft);
    if (!self->draft) {
        rh_envelope_destroy (&self);
        return NULL;
    }
    //  A random (version 4) UUID: unique without coordination between agencies.
    uint8_t id [16];
    randombytes_buf (id, sizeof id);
    id [6] = (id [6] & 0x0f) | 0x40;
    id [8] = (id [8] & 0x3f) | 0x80;
    snprintf (self->draft->msg_id, sizeof self->draft->msg_id,
              "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", id [0],
              id [1], id [2], id [3], id [4], id [5], id [6], id [7], id [8], id [9], id [10],
              id [11], id [12], id [13], id [14], id [15]);
    return self;
}

static void
s_free_decoded (rh_envelope_t *self)
{
    if (self->header)
        rhannu__v1__header__free_unpacked (self->header, NULL);
    self->header = NULL;
    free (self->header_bytes);
    self->header_bytes = NULL;
    for (size_t i = 0; i < self->disclosure_count; i++)
        free (self->disclosures [i].value);
    free (self->disclosures);
    self->disclosures = NULL;
    self->disclosure_count = 0;
    if (self->body)
        protobuf_c_message_free_unpacked (self->body, NULL);
    self->body = NULL;
}

void
rh_envelope_destroy (rh_envelope_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        rh_envelope_t *self = *self_p;
        s_free_decoded (self);
        free (self->draft);
        free (self->body_bytes);
        free (self);
        *self_p = NULL;
    }
}

//  ---------------------------------------------------------------------------------------------
//  Building

static int
s_set (rh_envelope_t *self, char *slot, size_t slot_size, const char *value, bool token)
{
    assert (self);
    if (!self->draft || !value || strlen (value) >= slot_size)
        return -1;
    if (token && *value && !s_token_valid (value))
        return -1;
    if (!token && !s_utf8_valid ((const uint8_t *) value, strlen (value)))
        return -1;
    strcpy (slot, value);
    return 0;
}

#define S_SET(field, value, token)                                                                 \
    (self->draft ? s_set (self, self->draft->field, sizeof self->draft->field, value, token) : -1)

int
rh_envelope_set_msg_id (rh_envelope_t *self, const char *msg_id)
{
    if (!msg_id || !*msg_id)
        return -1;
    return S_SET (msg_id, msg_id, true);
}

int
rh_envelope_set_case_id (rh_envelope_t *self, const char *case_id)
{
    return S_SET (case_id, case_id, true);
}

int
rh_envelope_set_in_reply_to (rh_envelope_t *self, const char *msg_id)
{
    return S_SET (in_reply_to, msg_id, true);
}

int
rh_envelope_set_in_reply_sha256 (rh_envelope_t *self, const uint8_t digest [RH_DIGEST_LEN])
{
    if (!self->draft || !digest)
        return -1;
    memcpy (self->draft->in_reply_sha256, digest, RH_DIGEST_LEN);
    return 0;
}

bool
rh_envelope_has_in_reply_sha256 (rh_envelope_t *self)
{
    assert (self);
    static const uint8_t zero [RH_DIGEST_LEN] = { 0 };
    if (self->draft)
        return memcmp (self->draft->in_reply_sha256, zero, RH_DIGEST_LEN) != 0;
    return self->header && self->header->in_reply_sha256.len == RH_DIGEST_LEN;
}

const uint8_t *
rh_envelope_in_reply_sha256 (rh_envelope_t *self)
{
    assert (self);
    if (self->draft)
        return rh_envelope_has_in_reply_sha256 (self) ? self->draft->in_reply_sha256 : NULL;
    return self->header && self->header->in_reply_sha256.len == RH_DIGEST_LEN
               ? self->header->in_reply_sha256.data
               : NULL;
}

int
rh_envelope_set_thread_id (rh_envelope_t *self, const char *thread_id)
{
    return S_SET (thread_id, thread_id, true);
}

int
rh_envelope_set_agreement_id (rh_envelope_t *self, const char *agreement_id)
{
    return S_SET (agreement_id, agreement_id, true);
}

int
rh_envelope_set_purpose (rh_envelope_t *self, const char *purpose)
{
    return S_SET (purpose, purpose, true);
}

int
rh_envelope_set_lang (rh_envelope_t *self, const char *lang)
{
    if (!lang || (strcmp (lang, "en") && strcmp (lang, "cy")))
        return -1;
    return S_SET (lang, lang, true);
}

int
rh_envelope_set_sequence (rh_envelope_t *self, uint64_t sequence)
{
    assert (self);
    if (!self->draft)
        return -1;
    self->draft->sequence = sequence;
    return 0;
}

int
rh_envelope_set_created (rh_envelope_t *self, int64_t created_ms)
{
    assert (self);
    if (!self->draft || created_ms < 0)
        return -1;
    self->draft->created_ms = created_ms;
    return 0;
}

int
rh_envelope_set_expires (rh_envelope_t *self, int64_t expires_ms)
{
    assert (self);
    if (!self->draft || expires_ms < 0)
        return -1;
    self->draft->expires_ms = expires_ms;
    return 0;
}

int
rh_envelope_set_author (rh_envelope_t *self, const char *practitioner_id, const char *role,
                        const char *unit, const char *supervisor_id, const char *duty_inbox)
{
    assert (self);
    if (!self->draft)
        return -1;
    if ((practitioner_id && S_SET (practitioner_id, practitioner_id, false))
        || (role && S_SET (role, role, false)) || (unit && S_SET (unit, unit, false))
        || (supervisor_id && S_SET (supervisor_id, supervisor_id, false))
        || (duty_inbox && S_SET (duty_inbox, duty_inbox, false)))
        return -1;
    return 0;
}

static s_address_t *
s_next_address (rh_envelope_t *self)
{
    assert (self);
    if (!self->draft || self->draft->to_count >= RH_MAX_RECIPIENTS)
        return NULL;
    s_address_t *address = &self->draft->to [self->draft->to_count];
    memset (address, 0, sizeof *address);
    return address;
}

int
rh_envelope_add_to_agency (rh_envelope_t *self, const char *agency_id, const char *unit)
{
    s_address_t *address = s_next_address (self);
    if (!address || !rh_envelope_valid_id (agency_id) || (unit && !s_short_text_valid (unit)))
        return -1;
    strcpy (address->agency_id, agency_id);
    if (unit)
        strcpy (address->unit, unit);
    self->draft->to_count++;
    return 0;
}

int
rh_envelope_add_to_front_door (rh_envelope_t *self, const char *la, const char *alias)
{
    s_address_t *address = s_next_address (self);
    if (!address || !rh_envelope_valid_id (la) || (alias && !s_short_text_valid (alias)))
        return -1;
    strcpy (address->front_door_la, la);
    if (alias)
        strcpy (address->alias, alias);
    self->draft->to_count++;
    return 0;
}

int
rh_envelope_set_body (rh_envelope_t *self, const ProtobufCMessage *body)
{
    assert (self && body);
    if (!self->draft || body->descriptor != s_bodies [self->kind])
        return -1;
    size_t size = protobuf_c_message_get_packed_size (body);
    if (size > RH_MAX_ENVELOPE)
        return -1;
    uint8_t *bytes = malloc (size ? size : 1);
    if (!bytes)
        return -1;
    protobuf_c_message_pack (body, bytes);
    free (self->body_bytes);
    self->body_bytes = bytes;
    self->body_size = size;
    return 0;
}

//  Splits an encoded body into one disclosure per field number (records of a repeated field
//  are gathered into one value), each with a fresh salt.
static int
s_split_body (const uint8_t *body, size_t size, s_disclosure_t *out, size_t *count)
{
    *count = 0;
    size_t at = 0;
    while (at < size) {
        uint32_t field;
        size_t length;
        if (s_record (body + at, size - at, &field, &length) != 0)
            return -1;
        s_disclosure_t *slot = NULL;
        for (size_t i = 0; i < *count && !slot; i++)
            if (out [i].field == field)
                slot = &out [i];
        if (!slot) {
            if (*count >= RH_MAX_FIELDS)
                return -1;
            //  Keep ascending order by field number: insert in place.
            size_t place = *count;
            while (place > 0 && out [place - 1].field > field) {
                out [place] = out [place - 1];
                place--;
            }
            slot = &out [place];
            memset (slot, 0, sizeof *slot);
            slot->field = field;  //  its salt is drawn with the others', once split
            (*count)++;
        }
        uint8_t *grown = realloc (slot->value, slot->size + length);
        if (!grown)
            return -1;
        memcpy (grown + slot->size, body + at, length);
        slot->value = grown;
        slot->size += length;
        at += length;
    }
    return 0;
}

//  Encodes a Sealed record from its parts. Returns a new buffer or NULL.
static uint8_t *
s_seal (const uint8_t *header, size_t header_size, const uint8_t *signature,
        const s_disclosure_t *disclosures, size_t count, size_t *size)
{
    Rhannu__V1__Sealed sealed = RHANNU__V1__SEALED__INIT;
    Rhannu__V1__Disclosure items [RH_MAX_FIELDS];
    Rhannu__V1__Disclosure *pointers [RH_MAX_FIELDS];
    if (count > RH_MAX_FIELDS)
        return NULL;
    for (size_t i = 0; i < count; i++) {
        rhannu__v1__disclosure__init (&items [i]);
        items [i].field = disclosures [i].field;
        items [i].salt.data = (uint8_t *) disclosures [i].salt;
        items [i].salt.len = RH_SALT_LEN;
        items [i].value.data = disclosures [i].value;
        items [i].value.len = disclosures [i].size;
        pointers [i] = &items [i];
    }
    sealed.header.data = (uint8_t *) header;
    sealed.header.len = header_size;
    sealed.signature.data = (uint8_t *) signature;
    sealed.signature.len = RH_SIG_LEN;
    sealed.disclosures = pointers;
    sealed.n_disclosures = count;
    *size = rhannu__v1__sealed__get_packed_size (&sealed);
    uint8_t *bytes = malloc (*size ? *size : 1);
    if (bytes)
        rhannu__v1__sealed__pack (&sealed, bytes);
    return bytes;
}

static uint8_t *
s_signed_bytes (const uint8_t *header, size_t size, size_t *total)
{
    *total = sizeof RH_ENVELOPE_DOMAIN + size;
    uint8_t *bytes = malloc (*total);
    if (bytes) {
        memcpy (bytes, RH_ENVELOPE_DOMAIN, sizeof RH_ENVELOPE_DOMAIN);
        memcpy (bytes + sizeof RH_ENVELOPE_DOMAIN, header, size);
    }
    return bytes;
}

int
rh_envelope_sign (rh_envelope_t *self, rh_signer_t *signer)
{
    assert (self && signer);
    if (!self->draft || !self->body_bytes)
        return -1;
    s_draft_t *draft = self->draft;
    s_disclosure_t fields [RH_MAX_FIELDS];
    size_t field_count = 0;
    Rhannu__V1__Commitment commitments [RH_MAX_FIELDS];
    Rhannu__V1__Commitment *commitment_pointers [RH_MAX_FIELDS];
    uint8_t digests [RH_MAX_FIELDS][RH_DIGEST_LEN];
    Rhannu__V1__Address addresses [RH_MAX_RECIPIENTS];
    Rhannu__V1__Address *address_pointers [RH_MAX_RECIPIENTS];
    uint8_t *header_bytes = NULL, *to_sign = NULL, *sealed = NULL;
    size_t header_size = 0, sign_size = 0, sealed_size = 0;
    rh_envelope_t *decoded = NULL;
    int rc = -1;

    memset (fields, 0, sizeof fields);
    if (s_split_body (self->body_bytes, self->body_size, fields, &field_count) != 0)
        goto out;
    //  One draw for every salt: each draw is a system call.
    uint8_t salts [RH_MAX_FIELDS][RH_SALT_LEN];
    randombytes_buf (salts, field_count * RH_SALT_LEN);
    for (size_t i = 0; i < field_count; i++)
        memcpy (fields [i].salt, salts [i], RH_SALT_LEN);
    for (size_t i = 0; i < field_count; i++) {
        s_commit (self->kind, fields [i].field, fields [i].salt, fields [i].value, fields [i].size,
                  digests [i]);
        rhannu__v1__commitment__init (&commitments [i]);
        commitments [i].field = fields [i].field;
        commitments [i].digest.data = digests [i];
        commitments [i].digest.len = RH_DIGEST_LEN;
        commitment_pointers [i] = &commitments [i];
    }
    for (size_t i = 0; i < draft->to_count; i++) {
        rhannu__v1__address__init (&addresses [i]);
        addresses [i].agency_id = draft->to [i].agency_id;
        addresses [i].front_door_la = draft->to [i].front_door_la;
        addresses [i].alias = draft->to [i].alias;
        addresses [i].unit = draft->to [i].unit;
        address_pointers [i] = &addresses [i];
    }
    Rhannu__V1__Author author = RHANNU__V1__AUTHOR__INIT;
    author.practitioner_id = draft->practitioner_id;
    author.role = draft->role;
    author.unit = draft->unit;
    author.supervisor_id = draft->supervisor_id;
    author.duty_inbox = draft->duty_inbox;

    Rhannu__V1__Header header = RHANNU__V1__HEADER__INIT;
    header.schema_version = RH_SCHEMA_VERSION;
    header.msg_id = draft->msg_id;
    header.sender = (char *) rh_signer_agency (signer);
    header.signer_cert_sha256.data = (uint8_t *) rh_signer_fingerprint (signer);
    header.signer_cert_sha256.len = RH_DIGEST_LEN;
    bool has_author = *draft->practitioner_id || *draft->role || *draft->unit
                      || *draft->supervisor_id || *draft->duty_inbox;
    header.author = has_author ? &author : NULL;
    header.to = address_pointers;
    header.n_to = draft->to_count;
    header.kind = (Rhannu__V1__MessageKind) self->kind;
    header.case_id = draft->case_id;
    header.in_reply_to = draft->in_reply_to;
    header.created_ms = draft->created_ms ? draft->created_ms : rh_time_now_ms ();
    header.sender_seq = draft->sequence;
    header.agreement_id = draft->agreement_id;
    header.purpose = draft->purpose;
    header.lang = draft->lang;
    header.expires_ms = draft->expires_ms;
    header.thread_id = draft->thread_id;
    if (rh_envelope_has_in_reply_sha256 (self)) {
        header.in_reply_sha256.data = draft->in_reply_sha256;
        header.in_reply_sha256.len = RH_DIGEST_LEN;
    }
    header.commitments = commitment_pointers;
    header.n_commitments = field_count;

    header_size = rhannu__v1__header__get_packed_size (&header);
    if (header_size > RH_MAX_HEADER || !(header_bytes = malloc (header_size ? header_size : 1)))
        goto out;
    rhannu__v1__header__pack (&header, header_bytes);
    uint8_t signature [RH_SIG_LEN];
    if (!(to_sign = s_signed_bytes (header_bytes, header_size, &sign_size))
        || rh_signer_sign (signer, to_sign, sign_size, signature) != 0)
        goto out;
    if (!(sealed =
              s_seal (header_bytes, header_size, signature, fields, field_count, &sealed_size)))
        goto out;
    //  Become exactly what a receiver decodes, so a sender can never hold a message that its
    //  recipients would read differently.
    if (rh_envelope_decode (sealed, sealed_size, &decoded) != RH_OK)
        goto out;
    s_free_decoded (self);
    self->header = decoded->header;
    self->header_bytes = decoded->header_bytes;
    self->header_size = decoded->header_size;
    memcpy (self->signature, decoded->signature, RH_SIG_LEN);
    self->disclosures = decoded->disclosures;
    self->disclosure_count = decoded->disclosure_count;
    self->body = decoded->body;
    memset (decoded, 0, sizeof *decoded);
    free (self->draft);
    self->draft = NULL;
    free (self->body_bytes);
    self->body_bytes = NULL;
    self->body_size = 0;
    rc = 0;
out:
    for (size_t i = 0; i < field_count; i++)
        free (fields [i].value);
    free (header_bytes);
    free (to_sign);
    free (sealed);
    rh_envelope_destroy (&decoded);
    return rc;
}

//  ---------------------------------------------------------------------------------------------
//  Wire

int
rh_envelope_encode (rh_envelope_t *self, uint8_t **data, size_t *size)
{
    assert (self && data && size);
    if (!self->header_bytes)
        return -1;
    *data = s_seal (self->header_bytes, self->header_size, self->signature, self->disclosures,
                    self->disclosure_count, size);
    return *data ? 0 : -1;
}

//  The header rules that the schema alone cannot state.
static rh_rc_t
s_check_header (const Rhannu__V1__Header *header)
{
    rh_rc_t rc = s_check_message (&header->base, 0);
    if (rc != RH_OK)
        return rc;
    if (header->schema_version != RH_SCHEMA_VERSION)
        return RH_E_VERSION;
    if (header->n_to > RH_MAX_RECIPIENTS || header->n_commitments > RH_MAX_FIELDS)
        return RH_E_TOO_LARGE;
    if (!s_token_valid (header->msg_id) || !rh_envelope_valid_id (header->sender)
        || header->signer_cert_sha256.len != RH_DIGEST_LEN)
        return RH_E_MALFORMED;
    if (header->kind <= RHANNU__V1__MESSAGE_KIND__KIND_UNSET || (int) header->kind >= RH_KIND_COUNT)
        return RH_E_MALFORMED;
    if (!s_optional_token_valid (header->case_id) || !s_optional_token_valid (header->in_reply_to)
        || !s_optional_token_valid (header->thread_id)
        || !s_optional_token_valid (header->agreement_id)
        || !s_optional_token_valid (header->purpose))
        return RH_E_MALFORMED;
    if (*header->lang && strcmp (header->lang, "en") && strcmp (header->lang, "cy"))
        return RH_E_MALFORMED;
    //  A reply's binding is a whole digest and names what it answers, or is absent.
    if (header->in_reply_sha256.len != 0
        && (header->in_reply_sha256.len != RH_DIGEST_LEN || !*header->in_reply_to))
        return RH_E_MALFORMED;
    if (header->created_ms < 0 || header->expires_ms < 0)
        return RH_E_MALFORMED;
    const Rhannu__V1__Author *author = header->author;
    if (author
        && (!s_short_text_valid (author->practitioner_id) || !s_short_text_valid (author->role)
            || !s_short_text_valid (author->unit) || !s_short_text_valid (author->supervisor_id)
            || !s_short_text_valid (author->duty_inbox)))
        return RH_E_MALFORMED;
    for (size_t i = 0; i < header->n_to; i++) {
        const Rhannu__V1__Address *to = header->to [i];
        bool agency = *to->agency_id != 0, front_door = *to->front_door_la != 0;
        if (agency == front_door)
            return RH_E_MALFORMED;  //  exactly one of the two
        if ((agency && !rh_envelope_valid_id (to->agency_id))
            || (front_door && !rh_envelope_valid_id (to->front_door_la))
            || !s_short_text_valid (to->alias) || !s_short_text_valid (to->unit))
            return RH_E_MALFORMED;
    }
    const ProtobufCMessageDescriptor *body = s_bodies [header->kind];
    for (size_t i = 0; i < header->n_commitments; i++) {
        const Rhannu__V1__Commitment *commitment = header->commitments [i];
        if (commitment->digest.len != RH_DIGEST_LEN
            || !protobuf_c_message_descriptor_get_field (body, commitment->field)
            || (i > 0 && commitment->field <= header->commitments [i - 1]->field))
            return RH_E_MALFORMED;
    }
    return RH_OK;
}

//  Rebuilds the body from the disclosures held. Returns RH_OK, RH_E_MALFORMED or RH_E_NOMEM.
static rh_rc_t
s_rebuild_body (rh_envelope_t *self)
{
    size_t total = 0;
    for (size_t i = 0; i < self->disclosure_count; i++)
        total += self->disclosures [i].size;
    uint8_t *bytes = malloc (total ? total : 1);
    if (!bytes)
        return RH_E_NOMEM;
    size_t at = 0;
    for (size_t i = 0; i < self->disclosure_count; i++) {
        memcpy (bytes + at, self->disclosures [i].value, self->disclosures [i].size);
        at += self->disclosures [i].size;
    }
    ProtobufCMessage *body = protobuf_c_message_unpack (s_bodies [self->kind], NULL, total, bytes);
    free (bytes);
    if (!body)
        return RH_E_MALFORMED;
    rh_rc_t rc = s_check_message (body, 0);
    if (rc != RH_OK) {
        protobuf_c_message_free_unpacked (body, NULL);
        return rc;
    }
    if (self->body)
        protobuf_c_message_free_unpacked (self->body, NULL);
    self->body = body;
    return RH_OK;
}

static const Rhannu__V1__Commitment *
s_find_commitment (const Rhannu__V1__Header *header, uint32_t field)
{
    for (size_t i = 0; i < header->n_commitments; i++)
        if (header->commitments [i]->field == field)
            return header->commitments [i];
    return NULL;
}

//  Decodes a sealed message; header_only stops after the signed header (no disclosures, no
//  body), which is all a signature check needs.
static rh_rc_t
s_decode (const uint8_t *data, size_t size, bool header_only, rh_envelope_t **envelope)
{
    assert (envelope);
    *envelope = NULL;
    if (!data || size == 0)
        return RH_E_MALFORMED;
    if (size > RH_MAX_ENVELOPE)
        return RH_E_TOO_LARGE;
    Rhannu__V1__Sealed *sealed = rhannu__v1__sealed__unpack (NULL, size, data);
    if (!sealed)
        return RH_E_MALFORMED;
    rh_rc_t rc = RH_E_NOMEM;
    rh_envelope_t *self = calloc (1, sizeof *self);
    if (!self)
        goto out;
    rc = RH_E_MALFORMED;
    if (sealed->base.n_unknown_fields > 0 || sealed->header.len == 0)
        goto out;
    rc = RH_E_TOO_LARGE;
    if (sealed->header.len > RH_MAX_HEADER || sealed->n_disclosures > RH_MAX_FIELDS)
        goto out;
    rc = RH_E_SIG;
    if (sealed->signature.len != RH_SIG_LEN)
        goto out;
    memcpy (self->signature, sealed->signature.data, RH_SIG_LEN);
    rc = RH_E_MALFORMED;
    self->header = rhannu__v1__header__unpack (NULL, sealed->header.len, sealed->header.data);
    if (!self->header)
        goto out;
    if ((rc = s_check_header (self->header)) != RH_OK)
        goto out;
    self->kind = (rh_kind_t) self->header->kind;
    rc = RH_E_NOMEM;
    //  Keep the exact bytes: protobuf encodings are not canonical, signatures cover these.
    if (!(self->header_bytes = malloc (sealed->header.len)))
        goto out;
    memcpy (self->header_bytes, sealed->header.data, sealed->header.len);
    self->header_size = sealed->header.len;
    if (header_only) {
        rc = RH_OK;
        goto out;
    }
    if (sealed->n_disclosures
        && !(self->disclosures = calloc (sealed->n_disclosures, sizeof *self->disclosures)))
        goto out;
    for (size_t i = 0; i < sealed->n_disclosures; i++) {
        const Rhannu__V1__Disclosure *item = sealed->disclosures [i];
        const Rhannu__V1__Commitment *commitment = s_find_commitment (self->header, item->field);
        rc = RH_E_MALFORMED;
        if (item->base.n_unknown_fields > 0 || !commitment || item->salt.len != RH_SALT_LEN
            || (i > 0 && item->field <= sealed->disclosures [i - 1]->field)
            || !s_single_field (item->value.data, item->value.len, item->field))
            goto out;
        uint8_t digest [RH_DIGEST_LEN];
        s_commit (self->kind, item->field, item->salt.data, item->value.data, item->value.len,
                  digest);
        rc = RH_E_COMMITMENT;
        if (CRYPTO_memcmp (digest, commitment->digest.data, RH_DIGEST_LEN) != 0)
            goto out;
        s_disclosure_t *slot = &self->disclosures [i];
        rc = RH_E_NOMEM;
        if (!(slot->value = malloc (item->value.len ? item->value.len : 1)))
            goto out;
        slot->field = item->field;
        memcpy (slot->salt, item->salt.data, RH_SALT_LEN);
        memcpy (slot->value, item->value.data, item->value.len);
        slot->size = item->value.len;
        self->disclosure_count = i + 1;
    }
    rc = s_rebuild_body (self);
out:
    rhannu__v1__sealed__free_unpacked (sealed, NULL);
    if (rc == RH_OK)
        *envelope = self;
    else
        rh_envelope_destroy (&self);
    return rc;
}

rh_rc_t
rh_envelope_decode (const uint8_t *data, size_t size, rh_envelope_t **envelope)
{
    return s_decode (data, size, false, envelope);
}

rh_rc_t
rh_envelope_decode_header (const uint8_t *data, size_t size, rh_envelope_t **envelope)
{
    return s_decode (data, size, true, envelope);
}

rh_rc_t
rh_envelope_verify_key (rh_envelope_t *self, const uint8_t public_key [RH_PUBKEY_LEN])
{
    assert (self && public_key);
    if (!self->header)
        return RH_E_MALFORMED;
    size_t size = 0;
    uint8_t *to_verify = s_signed_bytes (self->header_bytes, self->header_size, &size);
    if (!to_verify)
        return RH_E_NOMEM;
    rh_rc_t rc = crypto_sign_verify_detached (self->signature, to_verify, size, public_key) == 0
                     ? RH_OK
                     : RH_E_SIG;
    free (to_verify);
    return rc;
}

rh_rc_t
rh_envelope_check_sender (rh_envelope_t *self, const char *authenticated_agency)
{
    assert (self);
    if (!self->header || !authenticated_agency
        || strcmp (self->header->sender, authenticated_agency) != 0)
        return RH_E_IMPERSONATION;
    return RH_OK;
}

int
rh_envelope_redact (rh_envelope_t *self, const uint32_t *keep, size_t count)
{
    assert (self && (keep || count == 0));
    if (!self->header)
        return -1;
    size_t kept = 0;
    for (size_t i = 0; i < self->disclosure_count; i++) {
        bool allowed = false;
        for (size_t k = 0; k < count && !allowed; k++)
            allowed = keep [k] == self->disclosures [i].field;
        if (allowed)
            self->disclosures [kept++] = self->disclosures [i];
        else {
            sodium_memzero (self->disclosures [i].value, self->disclosures [i].size);
            free (self->disclosures [i].value);
        }
    }
    self->disclosure_count = kept;
    return s_rebuild_body (self) == RH_OK ? 0 : -1;
}

//  ---------------------------------------------------------------------------------------------
//  Accessors

#define S_HEADER_TEXT(field) (self->header && self->header->field ? self->header->field : "")

const char *
rh_envelope_msg_id (rh_envelope_t *self)
{
    assert (self);
    return S_HEADER_TEXT (msg_id);
}

const char *
rh_envelope_sender (rh_envelope_t *self)
{
    assert (self);
    return S_HEADER_TEXT (sender);
}

rh_kind_t
rh_envelope_kind (rh_envelope_t *self)
{
    assert (self);
    return self->kind;
}

const char *
rh_envelope_case_id (rh_envelope_t *self)
{
    assert (self);
    return S_HEADER_TEXT (case_id);
}

const char *
rh_envelope_in_reply_to (rh_envelope_t *self)
{
    assert (self);
    if (self->draft)
        return self->draft->in_reply_to;  //  the agent binds a reply before it is signed
    return S_HEADER_TEXT (in_reply_to);
}

const char *
rh_envelope_thread_id (rh_envelope_t *self)
{
    assert (self);
    return S_HEADER_TEXT (thread_id);
}

const char *
rh_envelope_agreement_id (rh_envelope_t *self)
{
    assert (self);
    return S_HEADER_TEXT (agreement_id);
}

const char *
rh_envelope_purpose (rh_envelope_t *self)
{
    assert (self);
    return S_HEADER_TEXT (purpose);
}

const char *
rh_envelope_lang (rh_envelope_t *self)
{
    assert (self);
    return S_HEADER_TEXT (lang);
}

uint64_t
rh_envelope_sequence (rh_envelope_t *self)
{
    assert (self);
    return self->header ? self->header->sender_seq : 0;
}

int64_t
rh_envelope_created (rh_envelope_t *self)
{
    assert (self);
    return self->header ? self->header->created_ms : 0;
}

int64_t
rh_envelope_expires (rh_envelope_t *self)
{
    assert (self);
    return self->header ? self->header->expires_ms : 0;
}

const char *
rh_envelope_author (rh_envelope_t *self)
{
    assert (self);
    return self->header && self->header->author && self->header->author->practitioner_id
               ? self->header->author->practitioner_id
               : "";
}

const uint8_t *
rh_envelope_signer_fingerprint (rh_envelope_t *self)
{
    assert (self);
    return self->header ? self->header->signer_cert_sha256.data : NULL;
}

size_t
rh_envelope_recipients (rh_envelope_t *self)
{
    assert (self);
    return self->header ? self->header->n_to : 0;
}

const char *
rh_envelope_recipient_agency (rh_envelope_t *self, size_t index)
{
    assert (self);
    if (!self->header || index >= self->header->n_to)
        return "";
    return self->header->to [index]->agency_id;
}

const char *
rh_envelope_recipient_front_door (rh_envelope_t *self, size_t index)
{
    assert (self);
    if (!self->header || index >= self->header->n_to)
        return "";
    return self->header->to [index]->front_door_la;
}

const char *
rh_envelope_recipient_alias (rh_envelope_t *self, size_t index)
{
    assert (self);
    if (!self->header || index >= self->header->n_to)
        return "";
    return self->header->to [index]->alias;
}

const char *
rh_envelope_author_supervisor (rh_envelope_t *self)
{
    assert (self);
    return self->header && self->header->author && self->header->author->supervisor_id
               ? self->header->author->supervisor_id
               : "";
}

const char *
rh_envelope_author_duty_inbox (rh_envelope_t *self)
{
    assert (self);
    return self->header && self->header->author && self->header->author->duty_inbox
               ? self->header->author->duty_inbox
               : "";
}

const char *
rh_envelope_author_unit (rh_envelope_t *self)
{
    assert (self);
    return self->header && self->header->author && self->header->author->unit
               ? self->header->author->unit
               : "";
}

const uint8_t *
rh_envelope_header_bytes (rh_envelope_t *self, size_t *size)
{
    assert (self && size);
    *size = self->header_size;
    return self->header_bytes;
}

const uint8_t *
rh_envelope_signature (rh_envelope_t *self)
{
    assert (self);
    return self->header ? self->signature : NULL;
}

const ProtobufCMessage *
rh_envelope_body (rh_envelope_t *self)
{
    assert (self);
    return self->body;
}

size_t
rh_envelope_commitments (rh_envelope_t *self)
{
    assert (self);
    return self->header ? self->header->n_commitments : 0;
}

uint32_t
rh_envelope_commitment (rh_envelope_t *self, size_t index, const uint8_t **digest)
{
    assert (self);
    if (!self->header || index >= self->header->n_commitments)
        return 0;
    if (digest)
        *digest = self->header->commitments [index]->digest.data;
    return self->header->commitments [index]->field;
}

bool
rh_envelope_discloses (rh_envelope_t *self, uint32_t field)
{
    assert (self);
    for (size_t i = 0; i < self->disclosure_count; i++)
        if (self->disclosures [i].field == field)
            return true;
    return false;
}

//  ---------------------------------------------------------------------------------------------
//  Schema names

const ProtobufCMessageDescriptor *
rh_envelope_body_descriptor (rh_kind_t kind)
{
    return kind > RH_KIND_UNSET && kind < RH_KIND_COUNT ? s_bodies [kind] : NULL;
}

const char *
rh_envelope_kind_name (rh_kind_t kind)
{
    const ProtobufCEnumValue *value =
        protobuf_c_enum_descriptor_get_value (&rhannu__v1__message_kind__descriptor, (int) kind);
    return kind > RH_KIND_UNSET && kind < RH_KIND_COUNT && value ? value->name : NULL;
}

rh_kind_t
rh_envelope_kind_from_name (const char *name)
{
    const ProtobufCEnumValue *value = name ? protobuf_c_enum_descriptor_get_value_by_name (
                                          &rhannu__v1__message_kind__descriptor, name)
                                           : NULL;
    if (!value || value->value <= RH_KIND_UNSET || value->value >= RH_KIND_COUNT)
        return RH_KIND_UNSET;
    return (rh_kind_t) value->value;
}

uint32_t
rh_envelope_field_number (rh_kind_t kind, const char *name)
{
    if (kind <= RH_KIND_UNSET || kind >= RH_KIND_COUNT || !name)
        return 0;
    const ProtobufCFieldDescriptor *field =
        protobuf_c_message_descriptor_get_field_by_name (s_bodies [kind], name);
    return field ? field->id : 0;
}

const char *
rh_envelope_field_name (rh_kind_t kind, uint32_t number)
{
    if (kind <= RH_KIND_UNSET || kind >= RH_KIND_COUNT)
        return NULL;
    const ProtobufCFieldDescriptor *field =
        protobuf_c_message_descriptor_get_field (s_bodies [kind], number);
    return field ? field->name : NULL;
}

bool
rh_envelope_enum_known (const char *enum_name, const char *value_name)
{
    if (!enum_name || !value_name)
        return false;
    for (size_t i = 0; i < sizeof s_enums / sizeof s_enums [0]; i++)
        if (strcmp (s_enums [i].name, enum_name) == 0)
            return protobuf_c_enum_descriptor_get_value_by_name (s_enums [i].descriptor, value_name)
                   != NULL;
    return false;
}

void
rh_envelope_enum_names (const char *enum_name, char *out, size_t size)
{
    assert (enum_name && out && size);
    *out = 0;
    size_t used = 0;
    for (size_t i = 0; i < sizeof s_enums / sizeof s_enums [0]; i++) {
        if (strcmp (s_enums [i].name, enum_name) != 0)
            continue;
        const ProtobufCEnumDescriptor *descriptor = s_enums [i].descriptor;
        for (unsigned v = 0; v < descriptor->n_values && used + 1 < size; v++) {
            if (descriptor->values [v].value == 0)
                continue;
            int n = snprintf (out + used, size - used, "%s%s", used ? ", " : "",
                              descriptor->values [v].name);
            used = n < 0 ? size : used + (size_t) n;
        }
    }
}

bool
rh_envelope_valid_id (const char *text)
{
    //  Lower case only: ids name certificates (CN), LevelDB keys and file names, where case
    //  must not make two agencies of one.
    if (!text || !*text || strlen (text) > RH_MAX_ID)
        return false;
    if (!islower ((unsigned char) text [0]) && !isdigit ((unsigned char) text [0]))
        return false;
    for (const char *c = text; *c; c++)
        if (!islower ((unsigned char) *c) && !isdigit ((unsigned char) *c) && *c != '-'
            && *c != '.')
            return false;
    return true;
}
