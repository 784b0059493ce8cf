/*  =========================================================================
    rh_record - storage records kept in LevelDB by the broker and agents
    =========================================================================
*/
#include "rh_proto.h"
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
    if (!record->payload_leaf) {  //  else the bytes are kept once, by the audit record
        out.sealed.data = (uint8_t *) record->sealed;
        out.sealed.len = record->sealed_size;
    }
    out.attempts = record->attempts;
    out.enqueued_ms = record->enqueued_ms;
    out.expires_ms = record->expires_ms;
    out.agreement_id = s_text (record->agreement_id);
    out.agreement_version = record->agreement_version;
    out.rule_id = s_text (record->rule_id);
    out.kind = (Rhannu__V1__MessageKind) record->kind;
    out.dead_ms = record->dead_ms;
    out.dead_reason = s_text (record->dead_reason);
    out.payload_leaf = record->payload_leaf;
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
    record->agreement_id = in->agreement_id;
    record->agreement_version = in->agreement_version;
    record->rule_id = in->rule_id;
    record->kind = in->kind > 0 ? (uint32_t) in->kind : 0;
    record->dead_ms = in->dead_ms;
    record->dead_reason = in->dead_reason;
    record->payload_leaf = in->payload_leaf;
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
    out.payload_sha256.data = (uint8_t *) record->payload_sha256;
    out.payload_sha256.len = record->payload_sha256 ? RH_DIGEST_LEN : 0;
    out.case_id = s_text (record->case_id);
    out.erasure_reason = s_text (record->erasure_reason);
    out.erasure_authority = s_text (record->erasure_authority);
    //  The erased payloads, at most RH_MAX_ERASED: on the stack.
    Rhannu__V1__Erased erased [RH_MAX_ERASED], *erased_ptrs [RH_MAX_ERASED];
    if (record->erased_count > RH_MAX_ERASED)
        return NULL;
    for (size_t i = 0; i < record->erased_count; i++) {
        rhannu__v1__erased__init (&erased [i]);
        erased [i].seq = record->erased [i].seq;
        erased [i].msg_id = s_text (record->erased [i].msg_id);
        erased [i].payload_sha256.data = (uint8_t *) record->erased [i].payload_sha256;
        erased [i].payload_sha256.len = RH_DIGEST_LEN;
        erased_ptrs [i] = &erased [i];
    }
    out.erased = erased_ptrs;
    out.n_erased = record->erased_count;
    size_t count = record->decision_count, withheld_total = 0;
    for (size_t i = 0; i < count; i++)
        withheld_total += record->decisions [i].withheld_count;
    //  One allocation for the decision messages and their withheld commitments.
    Rhannu__V1__PolicyDecision *decisions = calloc (count ? count : 1, sizeof *decisions);
    Rhannu__V1__PolicyDecision **decision_ptrs = calloc (count ? count : 1, sizeof *decision_ptrs);
    Rhannu__V1__Commitment *withheld =
        calloc (withheld_total ? withheld_total : 1, sizeof *withheld);
    Rhannu__V1__Commitment **withheld_ptrs =
        calloc (withheld_total ? withheld_total : 1, sizeof *withheld_ptrs);
    uint8_t *bytes = NULL;
    if (decisions && decision_ptrs && withheld && withheld_ptrs) {
        size_t next = 0;
        for (size_t i = 0; i < count; i++) {
            const rh_audit_decision_t *from = &record->decisions [i];
            Rhannu__V1__PolicyDecision *to = &decisions [i];
            rhannu__v1__policy_decision__init (to);
            to->recipient = s_text (from->recipient);
            to->allowed = from->allowed;
            to->agreement_id = s_text (from->agreement_id);
            to->agreement_version = from->agreement_version;
            to->agreement_sha256.data = (uint8_t *) from->agreement_sha256;
            to->agreement_sha256.len = from->agreement_sha256 ? RH_DIGEST_LEN : 0;
            to->rule_id = s_text (from->rule_id);
            to->missing_condition = s_text (from->missing_condition);
            to->withheld = &withheld_ptrs [next];
            to->n_withheld = from->withheld_count;
            for (size_t k = 0; k < from->withheld_count; k++, next++) {
                rhannu__v1__commitment__init (&withheld [next]);
                withheld [next].field = from->withheld_fields [k];
                withheld [next].digest.data = (uint8_t *) from->withheld_digests [k];
                withheld [next].digest.len = RH_DIGEST_LEN;
                withheld_ptrs [next] = &withheld [next];
            }
            decision_ptrs [i] = to;
        }
        out.decisions = decision_ptrs;
        out.n_decisions = count;
        bytes = s_pack (&out.base, size);
    }
    free (decisions);
    free (decision_ptrs);
    free (withheld);
    free (withheld_ptrs);
    return bytes;
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
    if ((in->prev_hash.len != 0 && in->prev_hash.len != RH_DIGEST_LEN)
        || (in->frame_sha256.len != 0 && in->frame_sha256.len != RH_DIGEST_LEN)
        || (in->payload_sha256.len != 0 && in->payload_sha256.len != RH_DIGEST_LEN)) {
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
    record->prev_hash = in->prev_hash.len ? in->prev_hash.data : NULL;
    record->frame_sha256 = in->frame_sha256.len ? in->frame_sha256.data : NULL;
    record->payload_sha256 = in->payload_sha256.len ? in->payload_sha256.data : NULL;
    record->case_id = in->case_id;
    record->decision_count = in->n_decisions;
    record->erasure_reason = in->erasure_reason;
    record->erasure_authority = in->erasure_authority;
    record->erased_count = in->n_erased;
    //  An erasure names why, at most RH_MAX_ERASED payloads, each by a full commitment.
    bool erasure_good = in->n_erased == 0 || rh_record_erasure_reason_valid (in->erasure_reason);
    erasure_good = erasure_good && in->n_erased <= RH_MAX_ERASED
                   && strlen (in->erasure_authority) <= RH_MAX_AUTHORITY;
    for (size_t i = 0; erasure_good && i < in->n_erased; i++)
        erasure_good = in->erased [i]->payload_sha256.len == RH_DIGEST_LEN
                       && strlen (in->erased [i]->msg_id) <= RH_MAX_ID;
    if (!erasure_good) {
        rh_record_release (&record->owned);
        return RH_E_MALFORMED;
    }
    for (size_t i = 0; i < in->n_decisions; i++) {
        const Rhannu__V1__PolicyDecision *decision = in->decisions [i];
        bool good =
            decision->agreement_sha256.len == 0 || decision->agreement_sha256.len == RH_DIGEST_LEN;
        for (size_t k = 0; k < decision->n_withheld; k++)
            good = good && decision->withheld [k]->digest.len == RH_DIGEST_LEN;
        if (!good) {
            rh_record_release (&record->owned);
            return RH_E_MALFORMED;
        }
    }
    return RH_OK;
}

bool
rh_record_decision (const rh_audit_record_t *record, size_t index, rh_audit_decision_t *decision)
{
    const Rhannu__V1__AuditRecord *in = record->owned;
    memset (decision, 0, sizeof *decision);
    if (!in || index >= in->n_decisions)
        return false;
    const Rhannu__V1__PolicyDecision *from = in->decisions [index];
    decision->recipient = from->recipient;
    decision->allowed = from->allowed;
    decision->agreement_id = from->agreement_id;
    decision->agreement_version = from->agreement_version;
    decision->agreement_sha256 = from->agreement_sha256.len ? from->agreement_sha256.data : NULL;
    decision->rule_id = from->rule_id;
    decision->missing_condition = from->missing_condition;
    decision->withheld_count = from->n_withheld;
    return true;
}

bool
rh_record_withheld (const rh_audit_record_t *record, size_t index, size_t k, uint32_t *field,
                    const uint8_t **digest)
{
    const Rhannu__V1__AuditRecord *in = record->owned;
    if (!in || index >= in->n_decisions || k >= in->decisions [index]->n_withheld)
        return false;
    *field = in->decisions [index]->withheld [k]->field;
    *digest = in->decisions [index]->withheld [k]->digest.data;
    return true;
}

bool
rh_record_erased (const rh_audit_record_t *record, size_t index, rh_erased_t *erased)
{
    const Rhannu__V1__AuditRecord *in = record->owned;
    memset (erased, 0, sizeof *erased);
    if (!in || index >= in->n_erased)
        return false;
    erased->seq = in->erased [index]->seq;
    erased->msg_id = in->erased [index]->msg_id;
    erased->payload_sha256 = in->erased [index]->payload_sha256.data;
    return true;
}

bool
rh_record_erasure_reason_valid (const char *reason)
{
    return reason
           && (!strcmp (reason, RH_ERASURE_RETENTION)
               || !strcmp (reason, RH_ERASURE_RIGHT_TO_ERASURE)
               || !strcmp (reason, RH_ERASURE_COURT_ORDER));
}

bool
rh_record_erasure_authority_valid (const char *authority)
{
    if (!authority || !*authority || strlen (authority) > RH_MAX_AUTHORITY)
        return false;
    for (const unsigned char *c = (const unsigned char *) authority; *c; c++)
        if (*c < 0x20 || *c == 0x7f)
            return false;
    return true;
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
