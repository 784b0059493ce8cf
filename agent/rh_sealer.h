/*  =========================================================================
    rh_sealer - signs the agent's outgoing messages on a thread of its own

    Signing a large outbox takes seconds of CPU; done on the agent's main
    loop it would stop heartbeats, acknowledgements and deliveries for as
    long. The sealer is one worker thread that owns the agency's signing
    key and talks to the main loop over inproc sockets, as the broker's
    verify workers do: the main loop hands it an envelope, the worker
    signs and encodes it, and the result comes back with ownership of the
    envelope and of the sealed bytes, in the order submitted.

    No thread ever blocks sending to the other. The worker holds at most
    RH_SEAL_CREDIT submissions, counted from rh_sealer_submit until
    rh_sealer_result hands the result over; both pipes hold more than
    that. When the credit is used up rh_sealer_submit says "busy" at once
    and the caller stops taking input until it has read results:

        take input only while rh_sealer_has_room () is true;
        read results whenever rh_sealer_socket () is readable.

    rh_sealer_destroy returns within about RH_SEAL_STOP_MS whatever the
    load, and frees everything not yet read.
    =========================================================================
*/
#ifndef RH_SEALER_H_INCLUDED
#define RH_SEALER_H_INCLUDED

typedef struct _rh_sealer_t rh_sealer_t;

//  One signed (or failed) submission. Owns envelope and sealed: release it with
//  rh_sealed_release.
typedef struct {
    uint64_t tag;             //  the caller's, as submitted
    int rc;                   //  0, or -1 when a value broke a limit (nothing sealed)
    rh_envelope_t *envelope;  //  the envelope, signed when rc is 0; owned
    uint8_t *sealed;          //  its encoding, owned; NULL unless rc is 0
    size_t sealed_size;
} rh_sealed_t;

//  rh_sealer_submit results.
#define RH_SEALER_QUEUED  0   //  taken: exactly one result will follow
#define RH_SEALER_BUSY    1   //  the worker holds its credit: nothing taken; read results first
#define RH_SEALER_REFUSED -1  //  not taken (out of memory); no result will follow

//  Starts the worker, which takes ownership of *signer_p (nulled, also on failure). Returns
//  when the worker is ready, or NULL on failure.
rh_sealer_t *rh_sealer_new (void *context, rh_signer_t **signer_p);

//  Stops the worker without blocking on it for more than RH_SEAL_STOP_MS, and frees
//  submissions and results not yet read.
void rh_sealer_destroy (rh_sealer_t **self_p);

//  The socket the main loop polls (ZMQ_POLLIN) for results.
void *rh_sealer_socket (rh_sealer_t *self);

//  Hands one envelope to the worker to sign and encode, without blocking. Takes ownership of
//  *envelope_p when it returns RH_SEALER_QUEUED (and nulls it); otherwise the caller keeps it.
int rh_sealer_submit (rh_sealer_t *self, rh_envelope_t **envelope_p, uint64_t tag);

//  True when the next rh_sealer_submit will be taken.
bool rh_sealer_has_room (rh_sealer_t *self);

//  Reads one result without blocking and gives the caller ownership of it. Returns 0, or -1
//  when none is waiting (result is then zeroed, so releasing it is harmless).
int rh_sealer_result (rh_sealer_t *self, rh_sealed_t *result);

//  Frees what a result owns and zeroes those fields; safe on a zeroed or released result.
void rh_sealed_release (rh_sealed_t *result);

//  Submissions taken whose results have not been read yet.
size_t rh_sealer_in_flight (rh_sealer_t *self);

#endif
