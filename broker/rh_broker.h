/*  =========================================================================
    rh_broker - the rhannu broker: authenticate, verify, store, deliver

    One main loop drives the transport (rh_router), intake (rh_intake),
    queues (rh_queue) and the referral lifecycle (rh_tracker) over one
    database; signature checks run on rh_verifier workers. A message is
    acknowledged to its sender only after the group commit that stores it
    (LevelDB, sync) has returned. See README for the protocol.
    =========================================================================
*/
#ifndef RH_BROKER_H_INCLUDED
#define RH_BROKER_H_INCLUDED

typedef struct _rh_broker_t rh_broker_t;

//  The broker's configuration table (keys, types, ranges, defaults).
extern const rh_cfg_spec_t rh_broker_config_spec [];

//  Creates a broker from a loaded configuration: opens the database, loads the PKI and binds.
//  Returns NULL (and logs why) on failure.
rh_broker_t *rh_broker_new (rh_config_t *config);

//  As rh_broker_new, but a store whose lock another broker holds (the active one of a pair on
//  shared storage) makes this one a standby: it says so once, binds nothing (agents find the
//  active one), looks at the lock every RH_STANDBY_POLL_MS and starts as soon as the lock is
//  released (the active one stopped or died; the kernel drops the lock even on kill -9).
//  Returns NULL when *stop became true while waiting (a signal: check it), or on failure.
rh_broker_t *rh_broker_new_standby (rh_config_t *config, volatile sig_atomic_t *stop);

void rh_broker_destroy (rh_broker_t **self_p);

//  The test offset of the broker's clock (clock/offset_file), ms; -1 when none is set.
int64_t rh_broker_clock_offset (rh_config_t *config);

//  Runs until *stop becomes true (set from a signal handler). *reload, when set, makes the
//  broker reload the CRL and certificates and is cleared. Returns 0 on a clean stop, -1 if the
//  broker had to stop because storage failed.
int rh_broker_run (rh_broker_t *self, volatile sig_atomic_t *stop, volatile sig_atomic_t *reload);

//  One pass of the loop: takes what waits (at most timeout_ms for it), commits, replies and
//  delivers. Returns 0, or -1 if storage failed (nothing unsaved was acknowledged).
int rh_broker_step (rh_broker_t *self, int timeout_ms);

//  Handles one frame body as if agency had sent it on connection (a descriptor, or -1) with
//  this routing id: what the loop does with a message from the socket. For the fuzz harness
//  and tests; call rh_broker_step to let it take effect. Returns 1 if the frame was dispatched,
//  0 if it was refused (counted and answered).
int rh_broker_handle (rh_broker_t *self, const char *agency, int connection,
                      const uint8_t *routing_id, size_t routing_id_size, const uint8_t *body,
                      size_t body_size);

//  Submissions parked or in the verifier's hands whose results the loop has not taken yet: a
//  caller of rh_broker_handle steps until this is 0 to see a submission through intake.
size_t rh_broker_verifying (rh_broker_t *self);

//  Ends a run: writes the refusal summaries, signs a last checkpoint and commits. Returns 0 or
//  -1 (rh_broker_run calls it).
int rh_broker_finish (rh_broker_t *self);

#endif
