/*  =========================================================================
    rh_audit - the broker's hash-chained audit log

    Each record is stored under "a/<seq>" as the encoded AuditRecord
    followed by its hash, SHA-256(previous hash || encoded record). Records
    go into the database's pending batch, so they become durable in the same
    group commit as the queue writes they describe. A later issue replaces
    the chain with an RFC 6962 Merkle log.
    =========================================================================
*/
#ifndef RH_AUDIT_H_INCLUDED
#define RH_AUDIT_H_INCLUDED

typedef struct _rh_audit_t rh_audit_t;

//  Opens the log in db, finding its head. Returns NULL if the last record does not decode.
rh_audit_t *rh_audit_new (rh_db_t *db);

void rh_audit_destroy (rh_audit_t **self_p);

//  Appends a record: seq, at_ms and prev_hash are filled in here; the rest comes from record.
//  The write joins the pending batch. Returns 0 or -1.
int rh_audit_append (rh_audit_t *self, rh_audit_record_t *record);

//  Records in the log (committed and pending).
uint64_t rh_audit_size (rh_audit_t *self);

//  Walks the committed log from the start, recomputing every hash. Returns RH_OK, or
//  RH_E_MALFORMED with *bad set to the first record that does not decode, does not follow
//  from the one before, or is missing.
rh_rc_t rh_audit_verify (rh_db_t *db, uint64_t *count, uint64_t *bad);

//  Prints every committed record, one line each (seq, time, event, code, message, agency,
//  recipients, detail). Returns the number printed, or -1.
int64_t rh_audit_print (rh_db_t *db, FILE *out);

#endif
