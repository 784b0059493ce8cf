/*  =========================================================================
    rh_backlog - submissions waiting for a verify worker's credit

    The main loop never blocks on the verify workers and never stops
    reading its socket (Hello, acknowledgements and heartbeats share it
    with submissions). When the workers hold all their credit, a
    submission waits here, in arrival order, and goes to a worker as soon
    as one has room. The backlog is bounded in bytes, overall and per
    agency: past that the submission is answered "busy" (RH_E_BUSY) and the
    agent sends it again later, so one agency's burst cannot take the room
    every other agency needs.
    =========================================================================
*/
#ifndef RH_BACKLOG_H_INCLUDED
#define RH_BACKLOG_H_INCLUDED

typedef struct _rh_backlog_t rh_backlog_t;

//  One parked submission (borrowed from the backlog until rh_backlog_pop).
typedef struct {
    uint8_t routing_id [RH_MAX_ROUTING_ID];
    size_t routing_id_size;
    char agency [RH_MAX_ID + 1];
    char msg_id [RH_MAX_ID + 1];
    uint8_t *sealed;  //  a copy of the received bytes
    size_t sealed_size;
} rh_parked_t;

//  New, empty backlog holding at most max_bytes of sealed messages, max_agency_bytes of them
//  from one agency. NULL on failure.
rh_backlog_t *rh_backlog_new (size_t max_bytes, size_t max_agency_bytes);

//  Frees every parked submission.
void rh_backlog_destroy (rh_backlog_t **self_p);

//  Parks a copy of a submission at the tail. Returns 0, or -1 if the bounds (or memory) do not
//  allow it: the caller answers RH_E_BUSY.
int rh_backlog_park (rh_backlog_t *self, const uint8_t *routing_id, size_t routing_id_size,
                     const char *agency, const char *msg_id, const uint8_t *sealed, size_t size);

//  The oldest parked submission, or NULL if none.
const rh_parked_t *rh_backlog_peek (rh_backlog_t *self);

//  Forgets the oldest parked submission (after it went to a worker).
void rh_backlog_pop (rh_backlog_t *self);

//  Parked submissions, and the bytes they hold.
size_t rh_backlog_size (rh_backlog_t *self);
size_t rh_backlog_bytes (rh_backlog_t *self);

#endif
