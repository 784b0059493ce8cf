/*  =========================================================================
    rh_link - what the agent can tell about its connection to the broker

    The monitor's events for one connection attempt come in these orders:
      nothing listening     CONNECT_RETRIED (the TCP connect failed), again
      refused key           CONNECTED, HANDSHAKE_FAILED_AUTH, DISCONNECTED,
                            CONNECT_RETRIED (ZeroMQ waits, then tries again)
      wrong broker key      CONNECTED, HANDSHAKE_FAILED_NO_DETAIL at once (the
                            broker cannot read our HELLO and hangs up)
      busy or starting      CONNECTED, then nothing until ZeroMQ's own
                            handshake timer ends it with ..._NO_DETAIL
      working               CONNECTED, HANDSHAKE_SUCCEEDED
    So CONNECT_RETRIED means "unreachable" only when no CONNECTED came since
    the one before, and NO_DETAIL means "refused" only when it comes quickly,
    twice in a row (once may be a broker restarting mid-handshake).
    =========================================================================
*/
#include "rh_agent_classes.h"

#define RH_LINK_QUICK_DROPS 2  //  consecutive early hang-ups that mean the broker refuses us

struct _rh_link_t {
    char endpoint [256];      //  where the broker should be (for the operator's text)
    int64_t timeout_ms;       //  a handshake running longer than this is late
    rh_link_state_t state;    //  what is reported
    int64_t handshake_since;  //  when the pending handshake's connection opened (0: none)
    bool reached;             //  a TCP connection opened since the last retry
    int quick_drops;          //  handshakes the broker cut short, in a row
    char text [512];          //  the state in words
};

//  ---------------------------------------------------------------------------------------------

rh_link_t *
rh_link_new (const char *endpoint, int64_t handshake_timeout_ms)
{
    assert (endpoint);
    rh_link_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    snprintf (self->endpoint, sizeof self->endpoint, "%s", endpoint);
    self->timeout_ms = handshake_timeout_ms;
    self->state = RH_LINK_CONNECTING;
    snprintf (self->text, sizeof self->text, "connecting to %s", self->endpoint);
    return self;
}

void
rh_link_destroy (rh_link_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}

//  Moves to state with its text; detail (may be empty) is appended. Returns 1 if it changed.
static int
s_set_state (rh_link_t *self, rh_link_state_t state, const char *detail)
{
    if (state == self->state)
        return 0;
    self->state = state;
    switch (state) {
        case RH_LINK_CONNECTING:
            snprintf (self->text, sizeof self->text, "connecting to %s", self->endpoint);
            break;
        case RH_LINK_UNREACHABLE:
            snprintf (self->text, sizeof self->text,
                      "broker not reachable at %s: is it running, and is broker/endpoint right?",
                      self->endpoint);
            break;
        case RH_LINK_HANDSHAKE_TIMEOUT:
            snprintf (self->text, sizeof self->text,
                      "handshake with the broker at %s timed out: the broker may be busy or "
                      "starting",
                      self->endpoint);
            break;
        case RH_LINK_REFUSED:
            snprintf (self->text, sizeof self->text,
                      "the broker at %s refused our key%s: is this agency enrolled, and is "
                      "broker/identity the right key?",
                      self->endpoint, detail);
            break;
        case RH_LINK_UP:
            snprintf (self->text, sizeof self->text, "connected to %s", self->endpoint);
            break;
        case RH_LINK_LOST:
            snprintf (self->text, sizeof self->text,
                      "disconnected from the broker at %s; reconnecting", self->endpoint);
            break;
    }
    return 1;
}

int
rh_link_event (rh_link_t *self, int event, uint32_t value, int64_t now_ms)
{
    assert (self);
    int64_t since = self->handshake_since;
    char detail [64];
    switch (event) {
        case ZMQ_EVENT_CONNECTED:
            self->handshake_since = now_ms ? now_ms : 1;
            self->reached = true;
            return 0;
        case ZMQ_EVENT_CONNECT_RETRIED: {
            bool reached = self->reached;
            self->reached = false;
            self->handshake_since = 0;
            if (reached)
                return 0;  //  the retry after a closed connection, not a failed connect
            self->quick_drops = 0;
            return s_set_state (self, RH_LINK_UNREACHABLE, "");
        }
        case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
            self->handshake_since = 0;
            self->quick_drops = 0;
            return s_set_state (self, RH_LINK_UP, "");
        case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
            //  The broker's ZAP handler said no: value is its status code (400).
            self->handshake_since = 0;
            snprintf (detail, sizeof detail, " (status %u)", value);
            return s_set_state (self, RH_LINK_REFUSED, detail);
        case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
            //  What the broker sent does not decrypt with the key we hold for it.
            self->handshake_since = 0;
            snprintf (detail, sizeof detail, " (protocol error 0x%x)", value);
            return s_set_state (self, RH_LINK_REFUSED, detail);
        case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
            self->handshake_since = 0;
            if (since && now_ms - since >= self->timeout_ms) {
                self->quick_drops = 0;
                return s_set_state (self, RH_LINK_HANDSHAKE_TIMEOUT, "");
            }
            if (++self->quick_drops >= RH_LINK_QUICK_DROPS)
                return s_set_state (self, RH_LINK_REFUSED, "");
            return 0;
        case ZMQ_EVENT_DISCONNECTED:
            self->handshake_since = 0;
            return self->state == RH_LINK_UP ? s_set_state (self, RH_LINK_LOST, "") : 0;
        default:
            return 0;
    }
}

int
rh_link_tick (rh_link_t *self, int64_t now_ms)
{
    assert (self);
    if (self->handshake_since && now_ms - self->handshake_since >= self->timeout_ms)
        return s_set_state (self, RH_LINK_HANDSHAKE_TIMEOUT, "");
    return 0;
}

rh_link_state_t
rh_link_state (const rh_link_t *self)
{
    assert (self);
    return self->state;
}

const char *
rh_link_state_name (rh_link_state_t state)
{
    switch (state) {
        case RH_LINK_CONNECTING:
            return "connecting";
        case RH_LINK_UNREACHABLE:
            return "broker_not_reachable";
        case RH_LINK_HANDSHAKE_TIMEOUT:
            return "handshake_timeout";
        case RH_LINK_REFUSED:
            return "refused";
        case RH_LINK_UP:
            return "connected";
        case RH_LINK_LOST:
            return "disconnected";
    }
    return "?";
}

const char *
rh_link_text (const rh_link_t *self)
{
    assert (self);
    return self->text;
}
