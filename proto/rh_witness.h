/*  =========================================================================
    rh_witness - a C2SP tlog-witness: checks add-checkpoint requests and
    cosigns what is consistent with what it cosigned before

    For each log (a verifier key whose name is the log's origin) it keeps
    the size and root of the latest checkpoint it cosigned, durably, and it
    cosigns a new checkpoint only if the log's key signed it and a
    consistency proof links it to that state. The answers are the spec's
    HTTP status codes; the transport is the caller's: rhannu-witness serves
    them over HTTP and keeps its state in files (one fsynced file per
    origin, named by the SHA-256 of the origin); a federated broker answers
    another region's broker over their link and keeps the state in its own
    store (rh_witness_new_with).
    =========================================================================
*/
#ifndef RH_WITNESS_H_INCLUDED
#define RH_WITNESS_H_INCLUDED

typedef struct _rh_witness_t rh_witness_t;

//  A reply to one request: the HTTP status, its body (malloc'd, caller frees) and content type.
typedef struct {
    int status;                //  200, 400, 403, 404, 409, 422 or 500
    char *body;                //  cosignature lines, the size for 409, or a one-line reason
    size_t size;               //  bytes of body
    const char *content_type;  //  static string
} rh_witness_reply_t;

//  A witness named name (its cosignatures' key name) with secret (libsodium Ed25519, copied and
//  wiped on destroy), its state in the folder state_dir (created if missing), trusting the logs
//  in logs [count] (Ed25519 vkeys; each key's name is the log's origin). Returns NULL on failure.
rh_witness_t *rh_witness_new (const char *name, const uint8_t secret [RH_NOTE_SECRET_LEN],
                              const char *state_dir, const rh_note_vkey_t *logs, size_t count);

//  Where a witness keeps its state: the text of the latest checkpoint it cosigned for each
//  origin. load fills text (at most size bytes) and returns its length, 0 if there is none
//  (never cosigned for that log), or -1 if it cannot be read; store keeps text durably (its
//  fsync done) before returning 0, or returns -1. arg is the caller's.
typedef struct {
    int (*load) (void *arg, const char *origin, char *text, size_t size);
    int (*store) (void *arg, const char *origin, const char *text, size_t size);
    void *arg;
} rh_witness_store_t;

//  As rh_witness_new, with the state wherever store keeps it (copied; arg is borrowed).
rh_witness_t *rh_witness_new_with (const char *name, const uint8_t secret [RH_NOTE_SECRET_LEN],
                                   const rh_witness_store_t *store, const rh_note_vkey_t *logs,
                                   size_t count);

void rh_witness_destroy (rh_witness_t **self_p);

//  The witness's verifier key (type 0x04), for the logs' and clients' configuration.
const rh_note_vkey_t *rh_witness_vkey (rh_witness_t *self);

//  Handles one add-checkpoint request body at now_s (seconds since the epoch, the cosignature's
//  timestamp). Checking the old size and storing the new state happen under one lock, so two
//  requests cannot roll the state back. Fills reply; returns 0, or -1 with no memory for a reply.
int rh_witness_add_checkpoint (rh_witness_t *self, const uint8_t *body, size_t size, uint64_t now_s,
                               rh_witness_reply_t *reply);

//  The latest cosigned size of origin (0 if none). Returns 0, or -1 if the state cannot be read.
int rh_witness_state (rh_witness_t *self, const char *origin, uint64_t *size,
                      uint8_t root [RH_DIGEST_LEN]);

#endif
