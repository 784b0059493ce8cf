/*  =========================================================================
    rh_tally - counts of refusals that are audited as summaries
    =========================================================================
*/
#include "rh_broker_classes.h"

typedef struct {
    const char *event;
    rh_rc_t rc;
    char peer [RH_MAX_PEER + 1];
    uint64_t count;
    int64_t first_ms;
    int64_t last_ms;
} s_slot_t;

struct _rh_tally_t {
    s_slot_t *slots;   //  max_keys entries, then the overflow entry
    size_t max_keys;   //  distinct (event, rc, peer) entries before the overflow one
    size_t used;       //  entries in use, overflow not counted
    uint64_t pending;  //  events since the last drain
};

rh_tally_t *
rh_tally_new (size_t max_keys)
{
    rh_tally_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->max_keys = max_keys;
    self->slots = calloc (max_keys + 1, sizeof *self->slots);
    if (!self->slots)
        rh_tally_destroy (&self);
    return self;
}

void
rh_tally_destroy (rh_tally_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        rh_tally_t *self = *self_p;
        free (self->slots);
        free (self);
        *self_p = NULL;
    }
}

static void
s_count (s_slot_t *slot, int64_t now_ms)
{
    if (slot->count == 0)
        slot->first_ms = now_ms;
    slot->count++;
    slot->last_ms = now_ms;
}

void
rh_tally_add (rh_tally_t *self, const char *event, rh_rc_t rc, const char *peer, int64_t now_ms)
{
    assert (self && event);
    char name [RH_MAX_PEER + 1];
    snprintf (name, sizeof name, "%s", peer && *peer ? peer : "-");
    self->pending++;
    for (size_t i = 0; i < self->used; i++) {
        s_slot_t *slot = &self->slots [i];
        if (slot->rc == rc && strcmp (slot->event, event) == 0 && strcmp (slot->peer, name) == 0) {
            s_count (slot, now_ms);
            return;
        }
    }
    s_slot_t *slot = &self->slots [self->max_keys];  //  the overflow entry
    if (self->used < self->max_keys) {
        slot = &self->slots [self->used++];
        snprintf (slot->peer, sizeof slot->peer, "%s", name);
    }
    else if (slot->count == 0)
        snprintf (slot->peer, sizeof slot->peer, "%s", RH_TALLY_OTHERS);
    //  The overflow entry keeps the first event and result it saw: the count is what matters.
    if (slot->count == 0) {
        slot->event = event;
        slot->rc = rc;
    }
    s_count (slot, now_ms);
}

size_t
rh_tally_drain (rh_tally_t *self, rh_tally_fn *fn, void *arg)
{
    assert (self && fn);
    size_t drained = 0;
    for (size_t i = 0; i <= self->max_keys; i++) {
        s_slot_t *slot = &self->slots [i];
        if (slot->count == 0)
            continue;
        rh_tally_entry_t entry = { slot->event, slot->rc,       slot->peer,
                                   slot->count, slot->first_ms, slot->last_ms };
        fn (arg, &entry);
        drained++;
    }
    memset (self->slots, 0, (self->max_keys + 1) * sizeof *self->slots);
    self->used = 0;
    self->pending = 0;
    return drained;
}

uint64_t
rh_tally_pending (rh_tally_t *self)
{
    assert (self);
    return self->pending;
}
