/*  =========================================================================
    rh_logreader - reads a committed audit log, record by record

    The auditor's tools read the log the broker wrote, in order or by
    record number, each record with the message it is about while that is
    still stored (ap/<seq>; erasure removes it without breaking the tree).
    One reader owns the record and message it hands out, so the tools
    need not free them record by record. Records that do not decode are
    passed over (rh_audit_verify is what judges the log), but a reader
    never passes a key it could not read silently: the walk stops there,
    and rh_logreader_error says so, as for a record that did not decode.
    =========================================================================
*/
#ifndef RH_LOGREADER_H_INCLUDED
#define RH_LOGREADER_H_INCLUDED

typedef struct _rh_logreader_t rh_logreader_t;

//  New reader of the committed log in db (borrowed). NULL on failure.
rh_logreader_t *rh_logreader_new (rh_db_t *db);

void rh_logreader_destroy (rh_logreader_t **self_p);

//  The next record in log order (the first on the first call), or NULL at the end. Borrowed,
//  valid until the next call on this reader.
const rh_audit_record_t *rh_logreader_next (rh_logreader_t *self);

//  Record seq, or NULL if it is not there or does not decode. Borrowed, as for next. A walk
//  with rh_logreader_next goes on from where it was, not from seq.
const rh_audit_record_t *rh_logreader_read (rh_logreader_t *self, uint64_t seq);

//  The message the current record is about, or NULL if it is not stored or does not decode.
//  Borrowed, valid until the reader moves on.
rh_envelope_t *rh_logreader_message (rh_logreader_t *self);

//  True if the current record names a message (its SHA-256) that is no longer stored.
bool rh_logreader_erased (rh_logreader_t *self);

//  NULL if everything this reader was asked for was read and decoded, else the first thing that
//  was not (a sentence naming the record and key). Tools that walk the log check it at the end.
const char *rh_logreader_error (rh_logreader_t *self);

#endif
