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

void rh_broker_destroy (rh_broker_t **self_p);

//  Runs until *stop becomes true (set from a signal handler). *reload, when set, makes the
//  broker reload the CRL and certificates and is cleared. Returns 0 on a clean stop, -1 if the
//  broker had to stop because storage failed.
int rh_broker_run (rh_broker_t *self, volatile sig_atomic_t *stop, volatile sig_atomic_t *reload);

#endif
