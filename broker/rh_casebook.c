/*  =========================================================================
    rh_casebook - referral cases rebuilt from the audit log alone
    =========================================================================
*/
#include "rh_broker_classes.h"

struct _rh_casebook_t {
    rh_casebook_case_t *cases;  //  in the order they were opened
    size_t count;               //  cases in use
    size_t capacity;            //  cases allocated
};

rh_casebook_t *
rh_casebook_new (void)
{
    return calloc (1, sizeof (rh_casebook_t));
}

void
rh_casebook_destroy (rh_casebook_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        rh_casebook_t *self = *self_p;
        free (self->cases);
        free (self);
        *self_p = NULL;
    }
}

rh_casebook_case_t *
rh_casebook_open (rh_casebook_t *self, const rh_audit_record_t *record, const char *case_id,
                  const char *holder)
{
    assert (self && record && case_id && holder);
    if (self->count == self->capacity) {
        size_t capacity = self->capacity ? self->capacity * 2 : 256;
        rh_casebook_case_t *grown = realloc (self->cases, capacity * sizeof *grown);
        if (!grown)
            return NULL;
        self->cases = grown;
        self->capacity = capacity;
    }
    rh_casebook_case_t *opened = &self->cases [self->count++];
    memset (opened, 0, sizeof *opened);
    snprintf (opened->referral, sizeof opened->referral, "%s", record->msg_id);
    snprintf (opened->case_id, sizeof opened->case_id, "%s", case_id);
    snprintf (opened->referrer, sizeof opened->referrer, "%s", record->agency);
    snprintf (opened->holder, sizeof opened->holder, "%s", holder);
    opened->received_ms = record->at_ms;
    return opened;
}

rh_casebook_case_t *
rh_casebook_find (rh_casebook_t *self, const char *referral, const char *holder,
                  const char *case_id)
{
    assert (self && referral && case_id);
    for (size_t i = 0; i < self->count; i++) {
        rh_casebook_case_t *c = &self->cases [i];
        if ((*referral && !strcmp (c->referral, referral))
            || (holder && *case_id && !strcmp (c->holder, holder) && !strcmp (c->case_id, case_id)))
            return c;
    }
    return NULL;
}

void
rh_casebook_involve (rh_casebook_case_t *c, const char *agency)
{
    assert (c && agency);
    for (size_t i = 0; i < c->involved_count; i++)
        if (!strcmp (c->involved [i], agency))
            return;
    if (c->involved_count < RH_MAX_INVOLVED && *agency)
        snprintf (c->involved [c->involved_count++], RH_MAX_ID + 1, "%s", agency);
}

size_t
rh_casebook_size (rh_casebook_t *self)
{
    assert (self);
    return self->count;
}

const rh_casebook_case_t *
rh_casebook_at (rh_casebook_t *self, size_t index)
{
    assert (self && index < self->count);
    return &self->cases [index];
}
