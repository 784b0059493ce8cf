/*  =========================================================================
    rh_verifier - signature-verify workers beside the broker's main loop

    One worker thread per core, each with its own certificate store; they
    share nothing with the main loop and talk to it over inproc sockets.
    A submitted message is decoded, checked against the authenticated
    sender and verified; the result comes back with ownership of the
    decoded envelope. Messages of one sender stay on one worker while any
    are in flight, so results for a sender come back in the order sent.
    =========================================================================
*/
#ifndef RH_VERIFIER_H_INCLUDED
#define RH_VERIFIER_H_INCLUDED

typedef struct _rh_verifier_t rh_verifier_t;

//  One verified (or refused) submission.
typedef struct {
    uint8_t routing_id [256];  //  the connection it came on
    size_t routing_id_size;
    char agency [RH_MAX_ID + 1];  //  authenticated agency (ZAP User-Id)
    char msg_id [RH_MAX_ID + 1];  //  as the Submit frame named it
    rh_rc_t rc;                   //  RH_OK or why it was refused
    rh_envelope_t *envelope;      //  decoded envelope, owned by the receiver; NULL unless RH_OK
    uint8_t sealed_sha256 [RH_DIGEST_LEN];  //  what arrived, for audit records of refusals
} rh_verified_t;

//  Starts workers (0: one per core) loading the PKI from pki_dir. Returns NULL on failure.
rh_verifier_t *rh_verifier_new (void *context, const char *pki_dir, int workers);

//  Stops and joins the workers; results not yet read are freed.
void rh_verifier_destroy (rh_verifier_t **self_p);

//  The socket the main loop polls for results.
void *rh_verifier_socket (rh_verifier_t *self);

//  Queues one submission. Returns 0 or -1.
int rh_verifier_submit (rh_verifier_t *self, const uint8_t *routing_id, size_t routing_id_size,
                        const char *agency, const char *msg_id, const uint8_t *sealed, size_t size);

//  Reads one result (call when the socket is readable). Returns 0 or -1.
int rh_verifier_result (rh_verifier_t *self, rh_verified_t *result);

//  Asks every worker to reload its certificate store (after a CRL change).
void rh_verifier_reload (rh_verifier_t *self);

//  Submissions queued or being verified.
size_t rh_verifier_in_flight (rh_verifier_t *self);

#endif
