/*  =========================================================================
    rh_service - telling systemd how the service is (sd_notify)

    READY=1 once the process serves, STATUS= lines for `systemctl status`,
    WATCHDOG=1 from the main loop when the unit sets WatchdogSec= (so a loop
    that hangs is restarted, not just a process that dies), STOPPING=1 on
    the way out. Outside systemd (no NOTIFY_SOCKET) every call does nothing.
    Owned by the thread that runs the main loop: the watchdog must prove
    that loop turns, not that some other thread does.
    =========================================================================
*/
#ifndef RH_SERVICE_H_INCLUDED
#define RH_SERVICE_H_INCLUDED

typedef struct _rh_service_t rh_service_t;

//  Reads the watchdog interval systemd gave (WATCHDOG_USEC, for this process). NULL on failure.
rh_service_t *rh_service_new (void);

void rh_service_destroy (rh_service_t **self_p);

//  The service is ready: READY=1 with a first STATUS= line.
void rh_service_ready (rh_service_t *self, const char *status);

//  A STATUS= line, sent only when it differs from the last one sent.
void rh_service_status (rh_service_t *self, const char *status);

//  Call from every turn of the main loop: sends WATCHDOG=1 every half watchdog interval.
void rh_service_tick (rh_service_t *self, int64_t now_ms);

//  The service is stopping: STOPPING=1 with a STATUS= line.
void rh_service_stopping (rh_service_t *self, const char *status);

//  Milliseconds between watchdog pings (0: the unit has no watchdog).
int64_t rh_service_watchdog_ms (rh_service_t *self);

#endif
