/*  =========================================================================
    rh_sessions - the broker's transport connections, one entry per socket

    A ROUTER socket has no per-peer close and says nothing about its
    connections; its monitor does (accepted, handshake succeeded,
    disconnected, each with the descriptor), and every message carries the
    descriptor it came on (ZMQ_SRCFD). This class joins the two: it knows
    which live descriptor speaks for which agency, how many sessions each
    agency holds, how many malformed frames a session has sent, and which
    authenticated connections never said anything. The router closes such a
    connection by shutting its descriptor down; libzmq then cleans up as
    for any lost peer. Only descriptors this table knows to be live are ever
    shut down, so a descriptor reused by another connection is never hit.
    =========================================================================
*/
#ifndef RH_SESSIONS_H_INCLUDED
#define RH_SESSIONS_H_INCLUDED

typedef struct _rh_sessions_t rh_sessions_t;

//  Why a session is to be closed.
typedef enum {
    RH_SESSION_KEEP = 0,
    RH_SESSION_OVER_CAP,     //  its agency already holds max_per_agency sessions
    RH_SESSION_SILENT,       //  authenticated, but sent nothing within first_frame_ms
    RH_SESSION_PROTO_ERRORS  //  sent max_proto_errors malformed frames
} rh_session_verdict_t;

//  New table. max_per_agency: sessions one certificate may hold (the least recently active
//  one gives way to a new one); first_frame_ms: how long an authenticated connection may stay
//  silent; max_proto_errors: malformed frames before a session is closed. NULL on failure.
rh_sessions_t *rh_sessions_new (size_t max_per_agency, int64_t first_frame_ms,
                                uint32_t max_proto_errors);

void rh_sessions_destroy (rh_sessions_t **self_p);

//  A monitor event (ZMQ_EVENT_*) about descriptor fd.
void rh_sessions_event (rh_sessions_t *self, uint16_t event, int fd, int64_t now_ms);

//  A handshake for agency is being authenticated (ZAP). Returns true, counting it as a session
//  of the agency until its first frame, if the agency holds fewer than max_per_agency sessions
//  (bound, or admitted in the last first_frame_ms and silent since); false: refuse it.
bool rh_sessions_admit (rh_sessions_t *self, const char *agency, int64_t now_ms);

//  A well-formed frame from agency on fd. Binds the session to the agency on its first frame.
//  Returns RH_SESSION_KEEP, or RH_SESSION_OVER_CAP with *evict set to the descriptor that must
//  give way (the agency's least recently active session, possibly fd itself).
rh_session_verdict_t rh_sessions_frame (rh_sessions_t *self, int fd, const char *agency,
                                        int64_t now_ms, int *evict);

//  A malformed frame on fd. Returns RH_SESSION_PROTO_ERRORS when the session has sent its
//  limit (the caller closes it), else RH_SESSION_KEEP.
rh_session_verdict_t rh_sessions_malformed (rh_sessions_t *self, int fd);

//  Descriptors of authenticated sessions that stayed silent past first_frame_ms: up to max of
//  them into fds. Returns how many.
size_t rh_sessions_silent (rh_sessions_t *self, int64_t now_ms, int *fds, size_t max);

//  Closes a live session by shutting its descriptor down. Returns 0, or -1 if fd is not a
//  live session (nothing is done).
int rh_sessions_close (rh_sessions_t *self, int fd);

//  The agency a live, bound session speaks for, or NULL.
const char *rh_sessions_agency (rh_sessions_t *self, int fd);

//  True if the broker closed fd (rh_sessions_close) and its disconnection has not come yet.
bool rh_sessions_closing (rh_sessions_t *self, int fd);

//  Remembers the CURVE key the live session on fd authenticated with (what ZAP admitted), so
//  that a reload can close the sessions whose own certificate is no longer valid.
void rh_sessions_set_key (rh_sessions_t *self, int fd, const uint8_t curve_key [RH_PUBKEY_LEN]);

//  The CURVE key of the live session on fd (RH_PUBKEY_LEN bytes), or NULL if not known.
const uint8_t *rh_sessions_key (rh_sessions_t *self, int fd);

//  Descriptors of live sessions bound to an agency and not being closed: up to max into fds.
//  Returns how many.
size_t rh_sessions_bound (rh_sessions_t *self, int *fds, size_t max);

//  Live sessions bound to agency.
size_t rh_sessions_count (rh_sessions_t *self, const char *agency);

//  Live connections (accepted and not yet gone).
size_t rh_sessions_size (rh_sessions_t *self);

#endif
