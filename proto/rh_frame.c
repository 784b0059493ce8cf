/*  =========================================================================
    rh_frame - transport frames between agents and the broker
    =========================================================================
*/
#include "rh_proto.h"
#include "rhannu.pb-c.h"

//  Largest Frame: a Submit or Deliver around a maximal envelope, plus field overhead.
#define RH_MAX_FRAME (RH_MAX_ENVELOPE + 1024)

//  True if text is valid UTF-8 (no overlong forms, surrogates or code points past U+10FFFF):
//  protobuf string fields must be, and clients in other languages refuse a frame that is not.
static bool
s_utf8 (const char *text)
{
    const unsigned char *p = (const unsigned char *) text;
    while (*p) {
        uint32_t c = *p;
        int extra = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : -1;
        if (extra < 0)
            return false;
        c &= extra == 0 ? 0x7f : extra == 1 ? 0x1f : extra == 2 ? 0x0f : 0x07;
        p++;
        for (int i = 0; i < extra; i++, p++) {
            if ((*p & 0xc0) != 0x80)
                return false;
            c = (c << 6) | (*p & 0x3f);
        }
        static const uint32_t lowest [4] = { 0, 0x80, 0x800, 0x10000 };
        if (c < lowest [extra] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
            return false;
    }
    return true;
}

//  A message id as the broker will log and echo it: valid UTF-8 without control characters
//  (a newline in an id would let a sender forge lines in the operator log).
static bool
s_id (const char *text)
{
    if (strlen (text) > RH_MAX_ID || !s_utf8 (text))
        return false;
    for (const unsigned char *p = (const unsigned char *) text; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return false;
    return true;
}

static bool
s_short (const char *text)
{
    return text && strlen (text) <= RH_MAX_STRING && s_utf8 (text);
}

//  A string for an outgoing frame: text itself if it is valid UTF-8, else a copy in buffer
//  with each byte of an invalid sequence replaced by '?'. Whatever the broker echoes, a strict
//  client can still parse the frame.
static char *
s_safe (const char *text, char *buffer, size_t size)
{
    if (!text)
        return "";
    if (s_utf8 (text))
        return (char *) text;
    size_t used = 0;
    for (const unsigned char *p = (const unsigned char *) text; *p && used + 1 < size; p++)
        buffer [used++] = *p < 0x80 ? (char) *p : '?';
    buffer [used] = 0;
    return buffer;
}

uint8_t *
rh_frame_encode (const rh_frame_t *frame, size_t *size)
{
    assert (frame && size);
    Rhannu__V1__Frame out = RHANNU__V1__FRAME__INIT;
    Rhannu__V1__Hello hello = RHANNU__V1__HELLO__INIT;
    Rhannu__V1__Submit submit = RHANNU__V1__SUBMIT__INIT;
    Rhannu__V1__Accepted accepted = RHANNU__V1__ACCEPTED__INIT;
    Rhannu__V1__Rejected rejected = RHANNU__V1__REJECTED__INIT;
    Rhannu__V1__Deliver deliver = RHANNU__V1__DELIVER__INIT;
    Rhannu__V1__Delivered delivered = RHANNU__V1__DELIVERED__INIT;
    Rhannu__V1__Checkpoint checkpoint = RHANNU__V1__CHECKPOINT__INIT;
    Rhannu__V1__ProofRequest request = RHANNU__V1__PROOF_REQUEST__INIT;
    Rhannu__V1__ConsistencyProof proof = RHANNU__V1__CONSISTENCY_PROOF__INIT;
    Rhannu__V1__Bundle bundle = RHANNU__V1__BUNDLE__INIT;
    Rhannu__V1__Unverified unverified = RHANNU__V1__UNVERIFIED__INIT;
    Rhannu__V1__WitnessRequest witness_request = RHANNU__V1__WITNESS_REQUEST__INIT;
    Rhannu__V1__WitnessReply witness_reply = RHANNU__V1__WITNESS_REPLY__INIT;
    char *empty = "";
    char safe [6][RH_MAX_REASON];
    switch (frame->type) {
        case RH_FRAME_HELLO:
            hello.credit = frame->credit;
            hello.low_sequence = frame->low_sequence;
            hello.agent_version = "rhannu-agent/1";
            out.op_case = RHANNU__V1__FRAME__OP_HELLO;
            out.hello = &hello;
            break;
        case RH_FRAME_SUBMIT:
            submit.msg_id = frame->msg_id ? (char *) frame->msg_id : empty;
            submit.sealed.data = (uint8_t *) frame->sealed;
            submit.sealed.len = frame->sealed_size;
            out.op_case = RHANNU__V1__FRAME__OP_SUBMIT;
            out.submit = &submit;
            break;
        case RH_FRAME_ACCEPTED:
            accepted.msg_id = s_safe (frame->msg_id, safe [0], sizeof safe [0]);
            accepted.duplicate = frame->duplicate;
            out.op_case = RHANNU__V1__FRAME__OP_ACCEPTED;
            out.accepted = &accepted;
            break;
        case RH_FRAME_REJECTED:
            rejected.msg_id = s_safe (frame->msg_id, safe [0], sizeof safe [0]);
            rejected.code = s_safe (frame->code, safe [1], sizeof safe [1]);
            rejected.reason = s_safe (frame->reason, safe [2], sizeof safe [2]);
            rejected.rule_id = s_safe (frame->rule_id, safe [3], sizeof safe [3]);
            rejected.agreement_id = s_safe (frame->agreement_id, safe [4], sizeof safe [4]);
            rejected.missing_condition =
                s_safe (frame->missing_condition, safe [5], sizeof safe [5]);
            out.op_case = RHANNU__V1__FRAME__OP_REJECTED;
            out.rejected = &rejected;
            break;
        case RH_FRAME_DELIVER:
            deliver.delivery_id = frame->delivery_id;
            deliver.sealed.data = (uint8_t *) frame->sealed;
            deliver.sealed.len = frame->sealed_size;
            deliver.agreement_id = frame->agreement_id ? (char *) frame->agreement_id : empty;
            deliver.agreement_version = frame->agreement_version;
            deliver.rule_id = frame->rule_id ? (char *) frame->rule_id : empty;
            out.op_case = RHANNU__V1__FRAME__OP_DELIVER;
            out.deliver = &deliver;
            break;
        case RH_FRAME_DELIVERED:
            delivered.delivery_ids = (uint64_t *) frame->ids;
            delivered.n_delivery_ids = frame->id_count;
            out.op_case = RHANNU__V1__FRAME__OP_DELIVERED;
            out.delivered = &delivered;
            break;
        case RH_FRAME_CHECKPOINT:
            checkpoint.size = frame->checkpoint.size;
            checkpoint.root.data = (uint8_t *) frame->checkpoint.root;
            checkpoint.root.len = RH_DIGEST_LEN;
            checkpoint.time_ms = frame->checkpoint.time_ms;
            checkpoint.signature.data = (uint8_t *) frame->checkpoint.signature;
            checkpoint.signature.len = RH_SIG_LEN;
            checkpoint.signer_cert_sha256.data = (uint8_t *) frame->checkpoint.signer_sha256;
            checkpoint.signer_cert_sha256.len = RH_DIGEST_LEN;
            checkpoint.origin = (char *) frame->checkpoint.origin;
            checkpoint.cosignatures = (char *) frame->checkpoint.cosignatures;
            out.op_case = RHANNU__V1__FRAME__OP_CHECKPOINT;
            out.checkpoint = &checkpoint;
            break;
        case RH_FRAME_PROOF_REQUEST:
            request.from_size = frame->from_size;
            request.to_size = frame->to_size;
            out.op_case = RHANNU__V1__FRAME__OP_PROOF_REQUEST;
            out.proof_request = &request;
            break;
        case RH_FRAME_PROOF:
            proof.from_size = frame->from_size;
            proof.to_size = frame->to_size;
            proof.hashes.data = (uint8_t *) frame->hashes;
            proof.hashes.len = frame->hash_count * RH_DIGEST_LEN;
            out.op_case = RHANNU__V1__FRAME__OP_PROOF;
            out.proof = &proof;
            break;
        case RH_FRAME_BUNDLE:
            bundle.signed_bundle.data = (uint8_t *) frame->sealed;
            bundle.signed_bundle.len = frame->sealed_size;
            out.op_case = RHANNU__V1__FRAME__OP_BUNDLE;
            out.bundle = &bundle;
            break;
        case RH_FRAME_UNVERIFIED:
            unverified.delivery_id = frame->delivery_id;
            unverified.code = s_safe (frame->code, safe [0], sizeof safe [0]);
            unverified.reason = s_safe (frame->reason, safe [1], sizeof safe [1]);
            out.op_case = RHANNU__V1__FRAME__OP_UNVERIFIED;
            out.unverified = &unverified;
            break;
        case RH_FRAME_WITNESS_REQUEST:
            witness_request.body.data = (uint8_t *) frame->sealed;
            witness_request.body.len = frame->sealed_size;
            out.op_case = RHANNU__V1__FRAME__OP_WITNESS_REQUEST;
            out.witness_request = &witness_request;
            break;
        case RH_FRAME_WITNESS_REPLY:
            witness_reply.status = frame->status;
            witness_reply.body.data = (uint8_t *) frame->sealed;
            witness_reply.body.len = frame->sealed_size;
            out.op_case = RHANNU__V1__FRAME__OP_WITNESS_REPLY;
            out.witness_reply = &witness_reply;
            break;
        default:
            return NULL;
    }
    *size = rhannu__v1__frame__get_packed_size (&out);
    uint8_t *bytes = malloc (*size ? *size : 1);
    if (bytes)
        rhannu__v1__frame__pack (&out, bytes);
    return bytes;
}

rh_rc_t
rh_frame_decode (const uint8_t *data, size_t size, rh_frame_t *frame)
{
    assert (frame);
    memset (frame, 0, sizeof *frame);
    if (!data || size == 0)
        return RH_E_MALFORMED;
    if (size > RH_MAX_FRAME)
        return RH_E_TOO_LARGE;
    Rhannu__V1__Frame *in = rhannu__v1__frame__unpack (NULL, size, data);
    if (!in)
        return RH_E_MALFORMED;
    frame->owned = in;
    rh_rc_t rc = RH_E_MALFORMED;
    switch (in->op_case) {
        case RHANNU__V1__FRAME__OP_HELLO:
            frame->type = RH_FRAME_HELLO;
            frame->credit = in->hello->credit;
            frame->low_sequence = in->hello->low_sequence;
            rc = RH_OK;
            break;
        case RHANNU__V1__FRAME__OP_SUBMIT:
            frame->type = RH_FRAME_SUBMIT;
            frame->msg_id = in->submit->msg_id;
            frame->sealed = in->submit->sealed.data;
            frame->sealed_size = in->submit->sealed.len;
            //  A Submit carries a sealed message; one without is not a frame we can answer for.
            rc = s_id (frame->msg_id) && frame->sealed_size > 0 ? RH_OK : RH_E_MALFORMED;
            break;
        case RHANNU__V1__FRAME__OP_ACCEPTED:
            frame->type = RH_FRAME_ACCEPTED;
            frame->msg_id = in->accepted->msg_id;
            frame->duplicate = in->accepted->duplicate;
            rc = strlen (frame->msg_id) <= RH_MAX_ID && s_utf8 (frame->msg_id) ? RH_OK
                                                                               : RH_E_MALFORMED;
            break;
        case RHANNU__V1__FRAME__OP_REJECTED:
            frame->type = RH_FRAME_REJECTED;
            frame->msg_id = in->rejected->msg_id;
            frame->code = in->rejected->code;
            frame->reason = in->rejected->reason;
            frame->rule_id = in->rejected->rule_id;
            frame->agreement_id = in->rejected->agreement_id;
            frame->missing_condition = in->rejected->missing_condition;
            rc = s_short (frame->msg_id) && s_short (frame->code) && s_short (frame->reason)
                         && s_short (frame->rule_id) && s_short (frame->agreement_id)
                         && s_short (frame->missing_condition)
                     ? RH_OK
                     : RH_E_MALFORMED;
            break;
        case RHANNU__V1__FRAME__OP_DELIVER:
            frame->type = RH_FRAME_DELIVER;
            frame->delivery_id = in->deliver->delivery_id;
            frame->sealed = in->deliver->sealed.data;
            frame->sealed_size = in->deliver->sealed.len;
            frame->agreement_id = in->deliver->agreement_id;
            frame->agreement_version = in->deliver->agreement_version;
            frame->rule_id = in->deliver->rule_id;
            rc = s_short (frame->agreement_id) && s_short (frame->rule_id) && frame->sealed_size > 0
                     ? RH_OK
                     : RH_E_MALFORMED;
            break;
        case RHANNU__V1__FRAME__OP_DELIVERED:
            frame->type = RH_FRAME_DELIVERED;
            frame->ids = in->delivered->delivery_ids;
            frame->id_count = in->delivered->n_delivery_ids;
            rc = frame->id_count <= RH_MAX_ACK_BATCH ? RH_OK : RH_E_TOO_LARGE;
            break;
        case RHANNU__V1__FRAME__OP_CHECKPOINT: {
            const Rhannu__V1__Checkpoint *in_checkpoint = in->checkpoint;
            frame->type = RH_FRAME_CHECKPOINT;
            rc = in_checkpoint->root.len == RH_DIGEST_LEN
                         && in_checkpoint->signature.len == RH_SIG_LEN
                         && in_checkpoint->signer_cert_sha256.len == RH_DIGEST_LEN
                     ? RH_OK
                     : RH_E_MALFORMED;
            if (rc == RH_OK) {
                frame->checkpoint.size = in_checkpoint->size;
                frame->checkpoint.time_ms = in_checkpoint->time_ms;
                memcpy (frame->checkpoint.root, in_checkpoint->root.data, RH_DIGEST_LEN);
                memcpy (frame->checkpoint.signature, in_checkpoint->signature.data, RH_SIG_LEN);
                memcpy (frame->checkpoint.signer_sha256, in_checkpoint->signer_cert_sha256.data,
                        RH_DIGEST_LEN);
                rc = rh_checkpoint_witnessing_set (&frame->checkpoint, in_checkpoint->origin,
                                                   in_checkpoint->cosignatures);
            }
            break;
        }
        case RHANNU__V1__FRAME__OP_PROOF_REQUEST:
            frame->type = RH_FRAME_PROOF_REQUEST;
            frame->from_size = in->proof_request->from_size;
            frame->to_size = in->proof_request->to_size;
            rc = RH_OK;
            break;
        case RHANNU__V1__FRAME__OP_PROOF:
            frame->type = RH_FRAME_PROOF;
            frame->from_size = in->proof->from_size;
            frame->to_size = in->proof->to_size;
            frame->hashes = in->proof->hashes.data;
            frame->hash_count = in->proof->hashes.len / RH_DIGEST_LEN;
            rc = in->proof->hashes.len % RH_DIGEST_LEN == 0
                         && frame->hash_count <= RH_MERKLE_MAX_PROOF
                     ? RH_OK
                     : RH_E_MALFORMED;
            break;
        case RHANNU__V1__FRAME__OP_BUNDLE:
            frame->type = RH_FRAME_BUNDLE;
            frame->sealed = in->bundle->signed_bundle.data;
            frame->sealed_size = in->bundle->signed_bundle.len;
            rc = frame->sealed_size > 0 && frame->sealed_size <= RH_MAX_BUNDLE ? RH_OK
                                                                               : RH_E_MALFORMED;
            break;
        case RHANNU__V1__FRAME__OP_UNVERIFIED:
            frame->type = RH_FRAME_UNVERIFIED;
            frame->delivery_id = in->unverified->delivery_id;
            frame->code = in->unverified->code;
            frame->reason = in->unverified->reason;
            rc = s_short (frame->code) && s_short (frame->reason) ? RH_OK : RH_E_MALFORMED;
            break;
        case RHANNU__V1__FRAME__OP_WITNESS_REQUEST:
            frame->type = RH_FRAME_WITNESS_REQUEST;
            frame->sealed = in->witness_request->body.data;
            frame->sealed_size = in->witness_request->body.len;
            rc = frame->sealed_size > 0 && frame->sealed_size <= RH_NOTE_MAX_SIZE ? RH_OK
                                                                                  : RH_E_MALFORMED;
            break;
        case RHANNU__V1__FRAME__OP_WITNESS_REPLY:
            frame->type = RH_FRAME_WITNESS_REPLY;
            frame->status = in->witness_reply->status;
            frame->sealed = in->witness_reply->body.data;
            frame->sealed_size = in->witness_reply->body.len;
            rc = frame->status >= 100 && frame->status <= 599
                         && frame->sealed_size <= RH_MAX_WITNESS_REPLY
                     ? RH_OK
                     : RH_E_MALFORMED;
            break;
        default:
            break;
    }
    if (rc == RH_OK && in->base.n_unknown_fields > 0)
        rc = RH_E_MALFORMED;
    if (rc != RH_OK)
        rh_frame_release (frame);
    return rc;
}

void
rh_frame_release (rh_frame_t *frame)
{
    if (frame && frame->owned) {
        rhannu__v1__frame__free_unpacked (frame->owned, NULL);
        memset (frame, 0, sizeof *frame);
    }
}
