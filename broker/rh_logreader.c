/*  =========================================================================
    rh_logreader - reads a committed audit log, record by record
    =========================================================================
*/
#include "rh_broker_classes.h"

struct _rh_logreader_t {
    rh_db_t *db;               //  borrowed
    rh_db_iter_t *iter;        //  the walk over a/, made on the first next
    bool have_record;          //  record holds a decoded record
    rh_audit_record_t record;  //  the current record (its storage in record.owned)
    uint8_t *leaf;             //  bytes of a record read by number
    bool loaded;               //  the message of the current record was looked up
    uint8_t *payload;          //  its stored bytes, NULL if not stored
    rh_envelope_t *envelope;   //  decoded from payload, NULL if it did not decode
    uint64_t walked;           //  records the walk has passed (the next one's number)
    char error [320];          //  the first thing not read or decoded, "" if none
};

//  Notes the first thing the reader could not read or decode.
static void s_error (rh_logreader_t *self, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));
static void
s_error (rh_logreader_t *self, const char *format, ...)
{
    if (*self->error)
        return;
    va_list args;
    va_start (args, format);
    vsnprintf (self->error, sizeof self->error, format, args);
    va_end (args);
}

rh_logreader_t *
rh_logreader_new (rh_db_t *db)
{
    assert (db);
    rh_logreader_t *self = calloc (1, sizeof *self);
    if (self)
        self->db = db;
    return self;
}

//  Lets go of the current record and its message.
static void
s_drop_current (rh_logreader_t *self)
{
    if (self->have_record)
        rh_record_release (&self->record.owned);
    self->have_record = false;
    free (self->leaf);
    self->leaf = NULL;
    rh_envelope_destroy (&self->envelope);
    free (self->payload);
    self->payload = NULL;
    self->loaded = false;
}

void
rh_logreader_destroy (rh_logreader_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        rh_logreader_t *self = *self_p;
        s_drop_current (self);
        rh_db_iter_destroy (&self->iter);
        free (self);
        *self_p = NULL;
    }
}

const rh_audit_record_t *
rh_logreader_next (rh_logreader_t *self)
{
    assert (self);
    s_drop_current (self);
    if (!self->iter)
        self->iter = rh_db_iter_new (self->db, "a/", 2);
    else if (rh_db_iter_valid (self->iter))
        rh_db_iter_next (self->iter);
    for (; self->iter && rh_db_iter_valid (self->iter); rh_db_iter_next (self->iter)) {
        size_t size = 0;
        const uint8_t *value = rh_db_iter_value (self->iter, &size);
        self->walked++;
        if (rh_record_decode_audit (value, size, &self->record) == RH_OK) {
            self->have_record = true;
            return &self->record;
        }
        s_error (self, "audit record %" PRIu64 " does not decode", self->walked - 1);
    }
    if (self->iter && rh_db_iter_error (self->iter))
        s_error (self, "cannot read the audit log after %" PRIu64 " records: %s", self->walked,
                 rh_db_iter_error (self->iter));
    return NULL;
}

const rh_audit_record_t *
rh_logreader_read (rh_logreader_t *self, uint64_t seq)
{
    assert (self);
    s_drop_current (self);
    char key [48];
    snprintf (key, sizeof key, "a/%020" PRIu64, seq);
    size_t size = 0;
    int found = rh_db_get (self->db, key, strlen (key), &self->leaf, &size);
    if (found == 0 && rh_record_decode_audit (self->leaf, size, &self->record) == RH_OK) {
        self->have_record = true;
        return &self->record;
    }
    if (found < 0)
        s_error (self, "cannot read audit record %" PRIu64 " (key %s)", seq, key);
    else if (found == 0)
        s_error (self, "audit record %" PRIu64 " does not decode", seq);
    return NULL;
}

//  Looks up the current record's message once.
static void
s_load (rh_logreader_t *self)
{
    if (self->loaded || !self->have_record)
        return;
    self->loaded = true;
    char key [48];
    snprintf (key, sizeof key, "ap/%020" PRIu64, self->record.seq);
    size_t size = 0;
    int found = rh_db_get (self->db, key, strlen (key), &self->payload, &size);
    if (found < 0)
        s_error (self, "cannot read the message of audit record %" PRIu64 " (key %s)",
                 self->record.seq, key);
    if (found == 0 && rh_envelope_decode (self->payload, size, &self->envelope) != RH_OK)
        rh_envelope_destroy (&self->envelope);
}

const char *
rh_logreader_error (rh_logreader_t *self)
{
    assert (self);
    return *self->error ? self->error : NULL;
}

rh_envelope_t *
rh_logreader_message (rh_logreader_t *self)
{
    assert (self);
    s_load (self);
    return self->envelope;
}

bool
rh_logreader_erased (rh_logreader_t *self)
{
    assert (self);
    if (!self->have_record || !self->record.payload_sha256)
        return false;
    s_load (self);
    return self->payload == NULL;
}
