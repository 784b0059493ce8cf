/*  =========================================================================
    rh_record - storage records kept in LevelDB by the broker and agents
    =========================================================================
*/
#include "rh_classes.h"
#include "rhannu.pb-c.h"

#define RH_MAX_RECORD (RH_MAX_ENVELOPE * 2 + 4096)

static char *
s_text (const char *text)
{
    return (char *) (text ? text : "");
}

static uint8_t *
s_pack (const ProtobufCMessage *message, size_t *size)
{
    *size = protobuf_c_message_get_packed_size (message);
    uint8_t *bytes = malloc (*size ? *size : 1);
    if (bytes)
        protobuf_c_message_pack (message, bytes);
    return bytes;
}

static ProtobufCMessage *
s_unpack (const ProtobufCMessageDescriptor *descriptor, const uint8_t *data, size_t size)
{
    if (!data || size > RH_MAX_RECORD)
        return NULL;
    ProtobufCMessage *message = protobuf_c_message_unpack (descriptor, NULL, size, data);
    if (message && message->n_unknown_fields > 0) {
        protobuf_c_message_free_unpacked (message, NULL);
        message = NULL;
    }
    return message;
}

uint8_t *
rh_record_encode_queued (const rh_queued_t *record, size_t *size)
{
    Rhannu__V1__Queued out = RHANNU__V1__QUEUED__INIT;
    out.msg_id = s_text (record->msg_id);
    out.sender = s_text (record->sender);
    out.sealed.data = (uint8_t *) record->sealed;
    out.sealed.len = record->sealed_size;
    out.attempts = record->attempts;
    out.enqueued_ms = record->enqueued_ms;
    out.expires_ms = record->expires_ms;
    return s_pack (&out.base, size);
}

rh_rc_t
rh_record_decode_queued (const uint8_t *data, size_t size, rh_queued_t *record)
{
    memset (record, 0, sizeof *record);
    Rhannu__V1__Queued *in =
        (Rhannu__V1__Queued *) s_unpack (&rhannu__v1__queued__descriptor, data, size);
    if (!in)
        return RH_E_MALFORMED;
    record->owned = in;
    record->msg_id = in->msg_id;
    record->sender = in->sender;
    record->sealed = in->sealed.data;
    record->sealed_size = in->sealed.len;
    record->attempts = in->attempts;
    record->enqueued_ms = in->enqueued_ms;
    record->expires_ms = in->expires_ms;
    return RH_OK;
}

uint8_t *
rh_record_encode_audit (const rh_audit_record_t *record, size_t *size)
{
    Rhannu__V1__AuditRecord out = RHANNU__V1__AUDIT_RECORD__INIT;
    out.seq = record->seq;
    out.at_ms = record->at_ms;
    out.event = s_text (record->event);
    out.code = s_text (record->code);
    out.msg_id = s_text (record->msg_id);
    out.agency = s_text (record->agency);
    out.recipients = (char **) record->recipients;
    out.n_recipients = record->recipient_count;
    out.sealed.data = (uint8_t *) record->sealed;
    out.sealed.len = record->sealed_size;
    out.detail = s_text (record->detail);
    out.prev_hash.data = (uint8_t *) record->prev_hash;
    out.prev_hash.len = record->prev_hash ? RH_DIGEST_LEN : 0;
    out.frame_sha256.data = (uint8_t *) record->frame_sha256;
    out.frame_sha256.len = record->frame_sha256 ? RH_DIGEST_LEN : 0;
    return s_pack (&out.base, size);
}

rh_rc_t
rh_record_decode_audit (const uint8_t *data, size_t size, rh_audit_record_t *record)
{
    memset (record, 0, sizeof *record);
    Rhannu__V1__AuditRecord *in =
        (Rhannu__V1__AuditRecord *) s_unpack (&rhannu__v1__audit_record__descriptor, data, size);
    if (!in)
        return RH_E_MALFORMED;
    record->owned = in;
    if (in->prev_hash.len != RH_DIGEST_LEN
        || (in->frame_sha256.len != 0 && in->frame_sha256.len != RH_DIGEST_LEN)) {
        rh_record_release (&record->owned);
        return RH_E_MALFORMED;
    }
    record->seq = in->seq;
    record->at_ms = in->at_ms;
    record->event = in->event;
    record->code = in->code;
    record->msg_id = in->msg_id;
    record->agency = in->agency;
    record->recipients = (const char *const *) in->recipients;
    record->recipient_count = in->n_recipients;
    record->sealed = in->sealed.data;
    record->sealed_size = in->sealed.len;
    record->detail = in->detail;
    record->prev_hash = in->prev_hash.data;
    record->frame_sha256 = in->frame_sha256.len ? in->frame_sha256.data : NULL;
    return RH_OK;
}

uint8_t *
rh_record_encode_outgoing (const rh_outgoing_t *record, size_t *size)
{
    Rhannu__V1__Outgoing out = RHANNU__V1__OUTGOING__INIT;
    out.msg_id = s_text (record->msg_id);
    out.sealed.data = (uint8_t *) record->sealed;
    out.sealed.len = record->sealed_size;
    out.file_name = s_text (record->file_name);
    out.json.data = (uint8_t *) record->json;
    out.json.len = record->json_size;
    return s_pack (&out.base, size);
}

rh_rc_t
rh_record_decode_outgoing (const uint8_t *data, size_t size, rh_outgoing_t *record)
{
    memset (record, 0, sizeof *record);
    Rhannu__V1__Outgoing *in =
        (Rhannu__V1__Outgoing *) s_unpack (&rhannu__v1__outgoing__descriptor, data, size);
    if (!in)
        return RH_E_MALFORMED;
    record->owned = in;
    record->msg_id = in->msg_id;
    record->sealed = in->sealed.data;
    record->sealed_size = in->sealed.len;
    record->file_name = in->file_name;
    record->json = in->json.data;
    record->json_size = in->json.len;
    return RH_OK;
}

void
rh_record_release (void **owned)
{
    if (owned && *owned) {
        protobuf_c_message_free_unpacked (*owned, NULL);
        *owned = NULL;
    }
}
