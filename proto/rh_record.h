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
    const char *agreement_id;  //  the decision that allowed the delivery
    uint32_t agreement_version;
    const char *rule_id;
    uint32_t kind;            //  MessageKind of the sealed message
    int64_t dead_ms;          //  dead letters: when it was given up on
    const char *dead_reason;  //  dead letters: why
    uint64_t payload_leaf;    //  audit record + 1 whose kept payload is the bytes (0: sealed)
    void *owned;
} rh_queued_t;

//  How an agreement decided one recipient (a PolicyDecision in the audit record).
typedef struct {
    const char *recipient;
    bool allowed;
    const char *agreement_id;
    uint32_t agreement_version;
    const uint8_t *agreement_sha256;  //  RH_DIGEST_LEN bytes or NULL
    const char *rule_id;
    const char *missing_condition;
    size_t withheld_count;  //  fields the recipient did not receive
    const uint32_t *withheld_fields;
    const uint8_t *const *withheld_digests;  //  RH_DIGEST_LEN bytes each
} rh_audit_decision_t;

//  One message payload an ERASURE audit record erased.
typedef struct {
    uint64_t seq;                   //  the record the payload was kept with
    const char *msg_id;             //  the message's id
    const uint8_t *payload_sha256;  //  RH_DIGEST_LEN bytes: the commitment that record names
} rh_erased_t;

//  Why payloads were erased (the erasure_reason of an ERASURE record).
#define RH_ERASURE_RETENTION        "RETENTION"
#define RH_ERASURE_RIGHT_TO_ERASURE "RIGHT_TO_ERASURE"
#define RH_ERASURE_COURT_ORDER      "COURT_ORDER"

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
    const uint8_t *prev_hash;       //  RH_DIGEST_LEN bytes
    const uint8_t *frame_sha256;    //  RH_DIGEST_LEN bytes or NULL
    const uint8_t *payload_sha256;  //  RH_DIGEST_LEN bytes or NULL: the message, stored apart
    const char *case_id;            //  the case the message belongs to, or NULL
    const rh_audit_decision_t *decisions;  //  for encoding; decoded ones via rh_record_decision
    size_t decision_count;
    const char *erasure_reason;     //  ERASURE records: one of RH_ERASURE_*, else NULL or ""
    const char *erasure_authority;  //  ERASURE records: who authorised it
    const rh_erased_t *erased;      //  for encoding; decoded ones via rh_record_erased
    size_t erased_count;            //  at most RH_MAX_ERASED per record
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

//  The index-th policy decision of a decoded audit record, without its withheld fields (see
//  rh_record_withheld). Pointers borrow from the record. Returns false past the end.
bool rh_record_decision (const rh_audit_record_t *record, size_t index,
                         rh_audit_decision_t *decision);

//  The k-th withheld field of the index-th decision of a decoded audit record.
bool rh_record_withheld (const rh_audit_record_t *record, size_t index, size_t k, uint32_t *field,
                         const uint8_t **digest);

//  The index-th payload a decoded ERASURE record names. Pointers borrow from the record.
//  Returns false past the end.
bool rh_record_erased (const rh_audit_record_t *record, size_t index, rh_erased_t *erased);

//  True if reason is one of RH_ERASURE_*.
bool rh_record_erasure_reason_valid (const char *reason);

//  True if authority is 1..RH_MAX_AUTHORITY bytes with no control character: it is one line of
//  the log's text, of an evidence bundle's manifest and of the script that reads it.
bool rh_record_erasure_authority_valid (const char *authority);

uint8_t *rh_record_encode_outgoing (const rh_outgoing_t *record, size_t *size);
rh_rc_t rh_record_decode_outgoing (const uint8_t *data, size_t size, rh_outgoing_t *record);

//  Frees the storage of any decoded record (pass &record.owned).
void rh_record_release (void **owned);

#endif
