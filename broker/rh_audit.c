/*  =========================================================================
    rh_audit - the broker's hash-chained audit log
    =========================================================================
*/
#include "rh_classes.h"
#include "rh_audit.h"

struct _rh_audit_t {
    rh_db_t *db;                   //  borrowed
    uint64_t next_seq;             //  seq of the next record
    uint8_t head [RH_DIGEST_LEN];  //  hash of the last record (zeros before the first)
};

static void
s_key (uint64_t seq, char *key, size_t size)
{
    snprintf (key, size, "a/%020" PRIu64, seq);
}

static void
s_hash (const uint8_t *prev, const uint8_t *record, size_t size, uint8_t out [RH_DIGEST_LEN])
{
    crypto_hash_sha256_state state;
    crypto_hash_sha256_init (&state);
    crypto_hash_sha256_update (&state, prev, RH_DIGEST_LEN);
    crypto_hash_sha256_update (&state, record, size);
    crypto_hash_sha256_final (&state, out);
}

rh_audit_t *
rh_audit_new (rh_db_t *db)
{
    assert (db);
    rh_audit_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->db = db;
    rh_db_iter_t *iter = rh_db_iter_new (db, "a/", 2);
    if (!iter) {
        free (self);
        return NULL;
    }
    rh_db_iter_seek_last (iter);
    if (rh_db_iter_valid (iter)) {
        size_t size = 0;
        const uint8_t *value = rh_db_iter_value (iter, &size);
        rh_audit_record_t record;
        if (size <= RH_DIGEST_LEN
            || rh_record_decode_audit (value, size - RH_DIGEST_LEN, &record) != RH_OK) {
            rh_log_error ("audit", "the last audit record does not decode; refusing to extend it");
            rh_db_iter_destroy (&iter);
            free (self);
            return NULL;
        }
        self->next_seq = record.seq + 1;
        memcpy (self->head, value + size - RH_DIGEST_LEN, RH_DIGEST_LEN);
        rh_record_release (&record.owned);
    }
    rh_db_iter_destroy (&iter);
    return self;
}

void
rh_audit_destroy (rh_audit_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}

int
rh_audit_append (rh_audit_t *self, rh_audit_record_t *record)
{
    assert (self && record);
    record->seq = self->next_seq;
    record->at_ms = rh_time_now_ms ();
    record->prev_hash = self->head;
    size_t size = 0;
    uint8_t *bytes = rh_record_encode_audit (record, &size);
    if (!bytes)
        return -1;
    uint8_t *value = realloc (bytes, size + RH_DIGEST_LEN);
    if (!value) {
        free (bytes);
        return -1;
    }
    s_hash (self->head, value, size, value + size);
    char key [32];
    s_key (record->seq, key, sizeof key);
    rh_db_put (self->db, key, strlen (key), value, size + RH_DIGEST_LEN);
    memcpy (self->head, value + size, RH_DIGEST_LEN);
    self->next_seq++;
    record->prev_hash = NULL;  //  pointed at our head, which has moved on
    free (value);
    return 0;
}

uint64_t
rh_audit_size (rh_audit_t *self)
{
    assert (self);
    return self->next_seq;
}

rh_rc_t
rh_audit_verify (rh_db_t *db, uint64_t *count, uint64_t *bad)
{
    assert (db && count && bad);
    uint8_t head [RH_DIGEST_LEN] = { 0 };
    uint64_t expected = 0;
    rh_rc_t rc = RH_OK;
    rh_db_iter_t *iter = rh_db_iter_new (db, "a/", 2);
    if (!iter)
        return RH_E_NOMEM;
    for (; rh_db_iter_valid (iter); rh_db_iter_next (iter), expected++) {
        size_t size = 0, key_size = 0;
        const uint8_t *value = rh_db_iter_value (iter, &size);
        const uint8_t *key = rh_db_iter_key (iter, &key_size);
        char want [32];
        s_key (expected, want, sizeof want);
        rh_audit_record_t record;
        uint8_t hash [RH_DIGEST_LEN];
        bool ok = key_size == strlen (want) && memcmp (key, want, key_size) == 0
                  && size > RH_DIGEST_LEN
                  && rh_record_decode_audit (value, size - RH_DIGEST_LEN, &record) == RH_OK;
        if (ok) {
            ok = record.seq == expected
                 && CRYPTO_memcmp (record.prev_hash, head, RH_DIGEST_LEN) == 0;
            rh_record_release (&record.owned);
            s_hash (head, value, size - RH_DIGEST_LEN, hash);
            ok = ok && CRYPTO_memcmp (hash, value + size - RH_DIGEST_LEN, RH_DIGEST_LEN) == 0;
        }
        if (!ok) {
            rc = RH_E_MALFORMED;
            *bad = expected;
            break;
        }
        memcpy (head, hash, RH_DIGEST_LEN);
    }
    *count = expected;
    rh_db_iter_destroy (&iter);
    return rc;
}

int64_t
rh_audit_print (rh_db_t *db, FILE *out)
{
    assert (db && out);
    rh_db_iter_t *iter = rh_db_iter_new (db, "a/", 2);
    if (!iter)
        return -1;
    int64_t count = 0;
    for (; rh_db_iter_valid (iter); rh_db_iter_next (iter)) {
        size_t size = 0;
        const uint8_t *value = rh_db_iter_value (iter, &size);
        rh_audit_record_t record;
        if (size <= RH_DIGEST_LEN
            || rh_record_decode_audit (value, size - RH_DIGEST_LEN, &record) != RH_OK) {
            fprintf (out, "%6" PRId64 "  (record does not decode)\n", count++);
            continue;
        }
        char when [32], recipients [256] = "";
        for (size_t i = 0; i < record.recipient_count; i++) {
            size_t used = strlen (recipients);
            snprintf (recipients + used, sizeof recipients - used, "%s%s", i ? "," : "",
                      record.recipients [i]);
        }
        fprintf (out, "%6" PRIu64 "  %s  %-17s %-18s %-36s %-22s %-22s %s\n", record.seq,
                 rh_time_format (record.at_ms, when, sizeof when), record.event, record.code,
                 *record.msg_id ? record.msg_id : "-", *record.agency ? record.agency : "-",
                 *recipients ? recipients : "-", record.detail);
        //  One indented line per policy decision: who, under what, and what was withheld.
        rh_audit_decision_t decision;
        for (size_t i = 0; rh_record_decision (&record, i, &decision); i++) {
            char withheld [256] = "";
            for (size_t k = 0; k < decision.withheld_count; k++) {
                uint32_t field = 0;
                const uint8_t *digest = NULL;
                if (!rh_record_withheld (&record, i, k, &field, &digest))
                    break;
                size_t used = strlen (withheld);
                snprintf (withheld + used, sizeof withheld - used, "%s%u", k ? "," : "", field);
            }
            fprintf (out, "        %s %s: agreement %s v%u rule %s%s%s%s%s\n",
                     decision.allowed ? "allowed" : "refused",
                     *decision.recipient ? decision.recipient : "-",
                     *decision.agreement_id ? decision.agreement_id : "-",
                     decision.agreement_version, *decision.rule_id ? decision.rule_id : "(default)",
                     *decision.missing_condition ? ", missing " : "", decision.missing_condition,
                     *withheld ? ", withheld fields " : "", withheld);
        }
        rh_record_release (&record.owned);
        count++;
    }
    rh_db_iter_destroy (&iter);
    return count;
}
