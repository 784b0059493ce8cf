/*  =========================================================================
    rh_record - storage records kept in LevelDB by the broker and agents

    Plain structs with borrowed pointers for encoding; decoding fills the
    same struct with pointers into storage owned until rh_record_release.
    Stored records are written by us, but are still parsed with limits:
    a disk can be corrupted or edited.
    =========================================================================
*/
#ifndef RH_RECORD_H_INCLUDED
#define RH_RECORD_H_INCLUDED

//  A message in a recipient's queue at the broker.
typedef struct {
    const char *msg_id;
    const char *sender;
    const uint8_t *sealed;
    size_t sealed_size;
    uint32_t attempts;
    int64_t enqueued_ms;
    int64_t expires_ms;
    void *owned;
} rh_queued_t;

//  One record of the broker's hash-chained audit log.
typedef struct {
    uint64_t seq;
    int64_t at_ms;
    const char *event;
    const char *code;
    const char *msg_id;
    const char *agency;
    const char *const *recipients;
    size_t recipient_count;
    const uint8_t *sealed;
    size_t sealed_size;
    const char *detail;
    const uint8_t *prev_hash;     //  RH_DIGEST_LEN bytes
    const uint8_t *frame_sha256;  //  RH_DIGEST_LEN bytes or NULL
    void *owned;
} rh_audit_record_t;

//  A message in an agent's outbox.
typedef struct {
    const char *msg_id;
    const uint8_t *sealed;
    size_t sealed_size;
    const char *file_name;
    const uint8_t *json;
    size_t json_size;
    void *owned;
} rh_outgoing_t;

uint8_t *rh_record_encode_queued (const rh_queued_t *record, size_t *size);
rh_rc_t rh_record_decode_queued (const uint8_t *data, size_t size, rh_queued_t *record);

uint8_t *rh_record_encode_audit (const rh_audit_record_t *record, size_t *size);
rh_rc_t rh_record_decode_audit (const uint8_t *data, size_t size, rh_audit_record_t *record);

uint8_t *rh_record_encode_outgoing (const rh_outgoing_t *record, size_t *size);
rh_rc_t rh_record_decode_outgoing (const uint8_t *data, size_t size, rh_outgoing_t *record);

//  Frees the storage of any decoded record (pass &record.owned).
void rh_record_release (void **owned);

#endif
