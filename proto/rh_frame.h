/*  =========================================================================
    rh_frame - transport frames between agents and the broker

    One Frame per ZeroMQ message. A decoded frame's pointers borrow from
    storage the frame owns until rh_frame_release.
    =========================================================================
*/
#ifndef RH_FRAME_H_INCLUDED
#define RH_FRAME_H_INCLUDED

typedef enum {
    RH_FRAME_NONE = 0,
    RH_FRAME_HELLO = 1,             //  agent: credit
    RH_FRAME_SUBMIT = 2,            //  agent: msg_id, sealed
    RH_FRAME_ACCEPTED = 3,          //  broker: msg_id, duplicate
    RH_FRAME_REJECTED = 4,          //  broker: msg_id, code, reason
    RH_FRAME_DELIVER = 5,           //  broker: delivery_id, sealed
    RH_FRAME_DELIVERED = 6,         //  agent: ids
    RH_FRAME_CHECKPOINT = 7,        //  broker: checkpoint
    RH_FRAME_PROOF_REQUEST = 8,     //  agent: from_size, to_size
    RH_FRAME_PROOF = 9,             //  broker: from_size, to_size, hashes
    RH_FRAME_BUNDLE = 10,           //  broker: sealed (the signed trust bundle)
    RH_FRAME_UNVERIFIED = 11,       //  agent: delivery_id, code, reason
    RH_FRAME_WITNESS_REQUEST = 12,  //  broker to peer broker: sealed (an add-checkpoint body)
    RH_FRAME_WITNESS_REPLY = 13     //  peer broker: status, sealed (its answer's body)
} rh_frame_type_t;

typedef struct {
    rh_frame_type_t type;
    uint32_t credit;
    uint64_t low_sequence;
    const char *msg_id;
    bool duplicate;
    const char *code;
    const char *reason;
    uint64_t delivery_id;
    //  SUBMIT, DELIVER: a sealed message; BUNDLE: the signed bundle; WITNESS_*: the body
    const uint8_t *sealed;
    size_t sealed_size;
    const uint64_t *ids;
    size_t id_count;
    //  DELIVER: the agreement decision that allowed it; REJECTED: the one that refused.
    const char *agreement_id;
    uint32_t agreement_version;
    const char *rule_id;
    const char *missing_condition;  //  REJECTED only
    rh_checkpoint_t checkpoint;     //  CHECKPOINT
    uint64_t from_size;             //  PROOF_REQUEST, PROOF
    uint64_t to_size;
    const uint8_t *hashes;  //  PROOF: hash_count hashes of RH_DIGEST_LEN bytes, in order
    size_t hash_count;
    uint32_t status;  //  WITNESS_REPLY: the tlog-witness (HTTP) status
    void *owned;      //  decoded storage; freed by rh_frame_release
} rh_frame_t;

//  Encodes a frame into a new buffer (caller frees). Returns NULL on failure.
uint8_t *rh_frame_encode (const rh_frame_t *frame, size_t *size);

//  Decodes untrusted bytes. Returns RH_OK, RH_E_TOO_LARGE or RH_E_MALFORMED (including a frame
//  of no known type, or one missing what its type requires).
rh_rc_t rh_frame_decode (const uint8_t *data, size_t size, rh_frame_t *frame);

//  Frees what a decoded frame holds; safe on a zeroed or already released frame.
void rh_frame_release (rh_frame_t *frame);

#endif
