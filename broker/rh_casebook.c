/*  =========================================================================
    rh_casebook - referral cases rebuilt from the audit log alone
    =========================================================================
*/
#include "rh_broker_classes.h"

struct _rh_casebook_t {
    rh_casebook_case_t *cases;  //  in the order they were opened
    size_t count;               //  cases in use
    size_t capacity;            //  cases allocated
    //  Indexes, so that a year of referrals is not searched case by case for every message that
    //  follows one (a report on 100,000 referrals took minutes): each key names the first case
    //  opened with it, as the search in opening order would find.
    json_t *by_referral;  //  referral msg id -> index
    json_t *by_holder;    //  holder "\x1f" case id -> index
};

rh_casebook_t *
rh_casebook_new (void)
{
    rh_casebook_t *self = calloc (1, sizeof (rh_casebook_t));
    if (!self)
        return NULL;
    self->by_referral = json_object ();
    self->by_holder = json_object ();
    if (!self->by_referral || !self->by_holder)
        rh_casebook_destroy (&self);
    return self;
}

//  The key of a case in by_holder.
static void
s_holder_key (const char *holder, const char *case_id, char key [2 * RH_MAX_ID + 2])
{
    snprintf (key, 2 * RH_MAX_ID + 2, "%s\x1f%s", holder, case_id);
}

//  Index of key in index, or SIZE_MAX.
static size_t
s_lookup (json_t *index, const char *key)
{
    json_t *value = json_object_get (index, key);
    return value ? (size_t) json_integer_value (value) : SIZE_MAX;
}

void
rh_casebook_destroy (rh_casebook_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        rh_casebook_t *self = *self_p;
        free (self->cases);
        json_decref (self->by_referral);
        json_decref (self->by_holder);
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
    json_t *index = json_integer ((json_int_t) (self->count - 1));
    if (!json_object_get (self->by_referral, opened->referral))
        json_object_set (self->by_referral, opened->referral, index);
    char key [2 * RH_MAX_ID + 2];
    s_holder_key (opened->holder, opened->case_id, key);
    if (*opened->case_id && !json_object_get (self->by_holder, key))
        json_object_set (self->by_holder, key, index);
    json_decref (index);
    return opened;
}

rh_casebook_case_t *
rh_casebook_find (rh_casebook_t *self, const char *referral, const char *holder,
                  const char *case_id)
{
    assert (self && referral && case_id);
    size_t found = *referral ? s_lookup (self->by_referral, referral) : SIZE_MAX;
    if (holder && *case_id) {
        char key [2 * RH_MAX_ID + 2];
        s_holder_key (holder, case_id, key);
        size_t held = s_lookup (self->by_holder, key);
        found = held < found ? held : found;
    }
    return found < self->count ? &self->cases [found] : NULL;
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
