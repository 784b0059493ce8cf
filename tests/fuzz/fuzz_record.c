/*  =========================================================================
    fuzz_record - libFuzzer harness: the records the broker and agents keep in
    LevelDB (a disk can be damaged or edited). The first byte picks the
    reader: 0 an audit record (with its policy decisions and, for ERASURE
    records, the payloads erased), 1 a queue entry, 2 an agent's outgoing
    message. An audit record that decodes encodes and decodes back the same.
    =========================================================================
*/
#include "rh_proto.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

//  The audit record re-encoded (without decisions, which have their own readers) decodes to
//  the same erasure.
static void
s_audit_round_trip (const rh_audit_record_t *record)
{
    rh_erased_t erased [RH_MAX_ERASED];
    for (size_t i = 0; i < record->erased_count; i++)
        if (!rh_record_erased (record, i, &erased [i]))
            abort ();
    rh_audit_decision_t decision;
    for (size_t i = 0; rh_record_decision (record, i, &decision); i++) {
        uint32_t field = 0;
        const uint8_t *digest = NULL;
        for (size_t k = 0; k < decision.withheld_count; k++)
            if (!rh_record_withheld (record, i, k, &field, &digest) || !digest)
                abort ();
    }
    rh_audit_record_t copy = *record;
    copy.decisions = NULL;
    copy.decision_count = 0;
    copy.erased = erased;
    size_t size = 0;
    uint8_t *bytes = rh_record_encode_audit (&copy, &size);
    rh_audit_record_t back;
    if (!bytes || rh_record_decode_audit (bytes, size, &back) != RH_OK
        || back.erased_count != record->erased_count || back.seq != record->seq
        || strcmp (back.erasure_reason, record->erasure_reason) != 0
        || strcmp (back.erasure_authority, record->erasure_authority) != 0)
        abort ();
    for (size_t i = 0; i < back.erased_count; i++) {
        rh_erased_t again;
        if (!rh_record_erased (&back, i, &again) || again.seq != erased [i].seq
            || memcmp (again.payload_sha256, erased [i].payload_sha256, RH_DIGEST_LEN) != 0)
            abort ();
    }
    rh_record_release (&back.owned);
    free (bytes);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data [0] % 3;
    data++, size--;
    if (mode == 0) {
        rh_audit_record_t record;
        if (rh_record_decode_audit (data, size, &record) == RH_OK) {
            s_audit_round_trip (&record);
            rh_record_release (&record.owned);
        }
    }
    else if (mode == 1) {
        rh_queued_t queued;
        if (rh_record_decode_queued (data, size, &queued) == RH_OK)
            rh_record_release (&queued.owned);
    }
    else {
        rh_outgoing_t outgoing;
        if (rh_record_decode_outgoing (data, size, &outgoing) == RH_OK)
            rh_record_release (&outgoing.owned);
    }
    return 0;
}
