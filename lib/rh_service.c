/*  =========================================================================
    rh_service - telling systemd how the service is (sd_notify)
    =========================================================================
*/
#include "rh_lib.h"
//  Only the long-running services link libsystemd: its header stays out of the prelude.
#include <systemd/sd-daemon.h>

#define S_STATUS_MAX 256  //  a STATUS= line, as systemctl status shows it

struct _rh_service_t {
    int64_t watchdog_ms;         //  half of WATCHDOG_USEC (0: no watchdog)
    int64_t last_ping_ms;        //  when WATCHDOG=1 was last sent
    char status [S_STATUS_MAX];  //  the last STATUS= sent
};

rh_service_t *
rh_service_new (void)
{
    rh_service_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    uint64_t usec = 0;
    //  The environment stays as it is: libsystemd checks WATCHDOG_PID, so a program this
    //  process starts (an agent's hook) is not taken for the service.
    if (sd_watchdog_enabled (0, &usec) > 0 && usec > 0)
        self->watchdog_ms = (int64_t) (usec / 2000);
    if (self->watchdog_ms == 0 && usec > 0)
        self->watchdog_ms = 1;
    return self;
}

void
rh_service_destroy (rh_service_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}

//  Status text goes to systemd as one line: newlines would start new assignments.
static void
s_clean (char *text)
{
    for (char *c = text; *c; c++)
        if (*c == '\n' || *c == '\r')
            *c = ' ';
}

void
rh_service_ready (rh_service_t *self, const char *status)
{
    assert (self && status);
    snprintf (self->status, sizeof self->status, "%s", status);
    s_clean (self->status);
    sd_notifyf (0, "READY=1\nSTATUS=%s", self->status);
}

void
rh_service_status (rh_service_t *self, const char *status)
{
    assert (self && status);
    char line [S_STATUS_MAX];
    snprintf (line, sizeof line, "%s", status);
    s_clean (line);
    if (strcmp (line, self->status) == 0)
        return;
    memcpy (self->status, line, sizeof line);
    sd_notifyf (0, "STATUS=%s", self->status);
}

void
rh_service_tick (rh_service_t *self, int64_t now_ms)
{
    assert (self);
    if (self->watchdog_ms == 0 || now_ms - self->last_ping_ms < self->watchdog_ms)
        return;
    self->last_ping_ms = now_ms;
    sd_notify (0, "WATCHDOG=1");
}

void
rh_service_stopping (rh_service_t *self, const char *status)
{
    assert (self && status);
    snprintf (self->status, sizeof self->status, "%s", status);
    s_clean (self->status);
    sd_notifyf (0, "STOPPING=1\nSTATUS=%s", self->status);
}

int64_t
rh_service_watchdog_ms (rh_service_t *self)
{
    assert (self);
    return self->watchdog_ms;
}
