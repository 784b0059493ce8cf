/*  =========================================================================
    rh_verifier - signature-verify workers beside the broker's main loop

    One worker thread per core, each with its own certificate store; they
    share nothing with the main loop and talk to it over inproc sockets.
    A submitted message is decoded, checked against the authenticated
    sender and verified; the result comes back with ownership of the bytes
    received and of the decoded envelope. Any worker with credit left takes
    the next submission, and results come back in the order submitted (so
    each sender's results come back in the order it sent).

    No thread ever blocks sending to another. Each worker holds at most
    RH_VERIFY_CREDIT submissions, counted from rh_verifier_submit until
    rh_verifier_result hands the result over; every pipe holds more than
    that, so a credited send always fits. When the workers hold their
    credit, rh_verifier_submit says "busy" at once and the caller stops
    reading submissions (it keeps serving everything else) until it has
    read results:

        poll the input only while rh_verifier_has_room () is true;
        read one submission, rh_verifier_submit it, check has_room again;
        read results whenever rh_verifier_socket () is readable, and poll
        with no timeout while rh_verifier_ready () is true.

    rh_verifier_destroy returns within about RH_VERIFY_STOP_MS whatever
    the load, and frees everything not yet read.
    =========================================================================
*/
#ifndef RH_VERIFIER_H_INCLUDED
#define RH_VERIFIER_H_INCLUDED

typedef struct _rh_verifier_t rh_verifier_t;

//  One verified (or refused) submission. Owns sealed and envelope: release it with
//  rh_verified_release.
typedef struct {
    uint8_t routing_id [RH_MAX_ROUTING_ID];  //  the connection it came on
    size_t routing_id_size;
    char agency [RH_MAX_ID + 1];  //  authenticated agency (ZAP User-Id); cut short if too long
    char msg_id [RH_MAX_ID + 1];  //  as the Submit frame named it; cut short if too long
    rh_rc_t rc;                   //  RH_OK or why it was refused
    rh_envelope_t *envelope;      //  decoded envelope, owned; NULL unless RH_OK
    uint8_t *sealed;              //  exactly the bytes received, owned; never NULL in a result
    size_t sealed_size;           //  may be 0 (an empty Submit)
    uint8_t sealed_sha256 [RH_DIGEST_LEN];  //  of sealed, for audit records of refusals (not
                                            //  computed for rh_verifier_submit_stored)
    uint64_t tag;                           //  rh_verifier_submit_stored's tag; 0 otherwise
    //  A message another region's broker forwarded (submitted with agency RH_PEER_QUEUE_PREFIX
    //  REGION, as that broker's connection is known): REGION, and agency is then the sender
    //  the signed header names, verified against pki_dir/peers/REGION; "" otherwise.
    char region [RH_MAX_ID + 1];
} rh_verified_t;

//  rh_verifier_submit results.
#define RH_VERIFIER_QUEUED  0   //  taken: exactly one result will follow
#define RH_VERIFIER_BUSY    1   //  every worker holds its credit: nothing taken; read results first
#define RH_VERIFIER_REFUSED -1  //  not taken and no result will follow (see rh_verifier_submit)

//  Starts workers (0: one per core, at most RH_MAX_VERIFY_WORKERS) loading the PKI from pki_dir;
//  returns when all are ready. A worker whose certificates do not load refuses every message
//  with RH_E_CRL. Returns NULL on failure.
rh_verifier_t *rh_verifier_new (void *context, const char *pki_dir, int workers);

//  Stops the workers without ever blocking on them: asks each to stop, waits at most
//  RH_VERIFY_STOP_MS in all, and frees submissions and results not yet read. A worker that does
//  not stop in time is left to finish on its own (logged) and its few bytes are not freed.
void rh_verifier_destroy (rh_verifier_t **self_p);

//  The socket the main loop polls (ZMQ_POLLIN) for results.
void *rh_verifier_socket (rh_verifier_t *self);

//  Hands one submission to a worker without blocking; the bytes are copied. A submission whose
//  agency is RH_PEER_QUEUE_PREFIX REGION came from that region's broker: it is verified against
//  the certificates that region's board issued (pki_dir/peers/REGION, read by each worker at
//  start and on reload), its sender must be one of them (not a broker), and the result names
//  the region and that sender. Input from the
//  network is never asserted on: an agency or msg id that is NULL or over RH_MAX_ID bytes, or
//  sealed bytes that are empty, NULL or do not parse, give a result with RH_E_MALFORMED (in its
//  place in the order). Returns RH_VERIFIER_QUEUED, RH_VERIFIER_BUSY (every worker holds its
//  credit: nothing taken), or RH_VERIFIER_REFUSED when the routing id is empty or over
//  RH_MAX_ROUTING_ID bytes (a reply could not be routed) or memory ran out.
int rh_verifier_submit (rh_verifier_t *self, const uint8_t *routing_id, size_t routing_id_size,
                        const char *agency, const char *msg_id, const uint8_t *sealed, size_t size);

//  Hands one stored message to a worker without blocking, as rh_verifier_submit does (same
//  credit, order and return values), to be checked as it was on receipt: decoded and verified
//  with the certificate that was valid at at_ms (rh_certstore_receive), with no connection or
//  authenticated sender to hold it to: the auditor re-checking a log. The bytes are copied; tag
//  (a record number) and agency (the sender the record names, or NULL: only to say whose
//  message failed, not checked) come back in the result, which holds no envelope.
int rh_verifier_submit_stored (rh_verifier_t *self, uint64_t tag, int64_t at_ms, const char *agency,
                               const uint8_t *sealed, size_t size);

//  True when the next rh_verifier_submit will be taken: some worker has credit left. The main
//  loop reads submissions only while this holds.
bool rh_verifier_has_room (rh_verifier_t *self);

//  True when rh_verifier_result will give a result now although the socket may not be readable
//  (it arrived early and waited for an earlier one). A loop that stops reading results before
//  rh_verifier_result returns -1 polls with no timeout while this holds.
bool rh_verifier_ready (rh_verifier_t *self);

//  Reads one result without blocking (call when the socket is readable) and gives the caller
//  ownership of it: release it with rh_verified_release. Returns 0, or -1 when none is waiting
//  (result is then zeroed, so releasing it is harmless).
int rh_verifier_result (rh_verifier_t *self, rh_verified_t *result);

//  Frees what a result owns (received bytes and envelope) and zeroes those fields; safe on a
//  zeroed or already released result.
void rh_verified_release (rh_verified_t *result);

//  Asks every worker to reload its certificate store (after a CRL change). Never blocks. Any
//  submission made after this call is verified with certificates read after this call (or,
//  if they fail to load, with the ones the worker had).
void rh_verifier_reload (rh_verifier_t *self);

//  Submissions taken whose results have not been read yet.
size_t rh_verifier_in_flight (rh_verifier_t *self);

#endif
