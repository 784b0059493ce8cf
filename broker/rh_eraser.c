/*  =========================================================================
    rh_eraser - erasure as an act: message payloads leave the store only
    after a committed ERASURE record says which, why and on whose authority
    =========================================================================
*/
#include "rh_broker_classes.h"
#include "rhannu.pb-c.h"

//  One payload to consider.
typedef struct {
    uint64_t seq;                    //  the record it is kept with
    char msg_id [RH_MAX_ID + 1];     //  the message's id
    uint8_t sha256 [RH_DIGEST_LEN];  //  the commitment the record names
    rh_erase_outcome_t outcome;      //  what becomes of it
    char why [RH_MAX_ID + 1];        //  owed to whom, or held by which agreement
} s_candidate_t;

struct _rh_eraser_t {
    rh_db_t *db;                //  borrowed
    rh_audit_t *audit;          //  borrowed
    const rh_policy_t *policy;  //  borrowed, may be NULL
    rh_logreader_t *reader;     //  reads the records named
    s_candidate_t *candidates;  //  in the order added, each record once
    size_t count;               //  entries in candidates
    size_t capacity;            //  entries allocated
};

rh_eraser_t *
rh_eraser_new (rh_db_t *db, rh_audit_t *audit, const rh_policy_t *policy)
{
    assert (db && audit);
    rh_eraser_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->db = db;
    self->audit = audit;
    self->policy = policy;
    if (!(self->reader = rh_logreader_new (db)))
        rh_eraser_destroy (&self);
    return self;
}

void
rh_eraser_destroy (rh_eraser_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        rh_eraser_t *self = *self_p;
        rh_logreader_destroy (&self->reader);
        free (self->candidates);
        free (self);
        *self_p = NULL;
    }
}

const char *
rh_eraser_outcome_name (rh_erase_outcome_t outcome)
{
    switch (outcome) {
        case RH_ERASE_ERASED:
            return "erased";
        case RH_ERASE_OWED:
            return "owed";
        case RH_ERASE_HELD:
            return "held";
        case RH_ERASE_GONE:
            return "gone";
    }
    return "?";
}

//  The agreement under legal hold that allowed record (first found), or NULL.
static const char *
s_held_by (rh_eraser_t *self, const rh_audit_record_t *record)
{
    rh_audit_decision_t decision;
    for (size_t i = 0; self->policy && rh_record_decision (record, i, &decision); i++) {
        const rh_agreement_t *agreement = rh_policy_find (self->policy, decision.agreement_id);
        if (agreement && rh_agreement_legal_hold (agreement))
            return rh_agreement_id (agreement);
    }
    return NULL;
}

//  Adds record seq if it carries a payload. Returns 1 if added (or already there), 0 if it
//  carries none, -1 on failure. Only callers that may name a record twice (a message and its
//  case) ask for the check, which costs a pass over what was added.
static int
s_add (rh_eraser_t *self, uint64_t seq, bool once)
{
    for (size_t i = 0; once && i < self->count; i++)
        if (self->candidates [i].seq == seq)
            return 1;
    const rh_audit_record_t *record = rh_logreader_read (self->reader, seq);
    if (!record)
        return -1;
    if (!record->payload_sha256)
        return 0;
    if (self->count == RH_MAX_ERASE_CANDIDATES)
        return -1;
    if (self->count == self->capacity) {
        size_t capacity = self->capacity ? self->capacity * 2 : 64;
        s_candidate_t *grown = realloc (self->candidates, capacity * sizeof *grown);
        if (!grown)
            return -1;
        self->candidates = grown;
        self->capacity = capacity;
    }
    s_candidate_t *candidate = &self->candidates [self->count++];
    memset (candidate, 0, sizeof *candidate);
    candidate->seq = seq;
    snprintf (candidate->msg_id, sizeof candidate->msg_id, "%s", record->msg_id);
    memcpy (candidate->sha256, record->payload_sha256, RH_DIGEST_LEN);
    const char *held = s_held_by (self, record);
    if (rh_logreader_erased (self->reader))
        candidate->outcome = RH_ERASE_GONE;
    else if (held) {
        candidate->outcome = RH_ERASE_HELD;
        snprintf (candidate->why, sizeof candidate->why, "%s", held);
    }
    return 1;
}

//  Adds the records of one index prefix (ai/<msg>/ or ac/<case>/). Returns how many carry a
//  payload, or -1.
static int
s_add_index (rh_eraser_t *self, const char *prefix)
{
    int added = 0;
    rh_db_iter_t *iter = rh_db_iter_new (self->db, prefix, strlen (prefix));
    if (!iter)
        return -1;
    for (; rh_db_iter_valid (iter) && added >= 0; rh_db_iter_next (iter)) {
        size_t size = 0;
        const uint8_t *key = rh_db_iter_key (iter, &size);
        uint64_t seq = rh_db_key_sequence (key, size, strlen (prefix));
        int rc = seq == UINT64_MAX ? 0 : s_add (self, seq, true);
        added = rc < 0 ? -1 : added + rc;
    }
    if (rh_db_iter_error (iter))
        added = -1;
    rh_db_iter_destroy (&iter);
    return added;
}

int
rh_eraser_add_message (rh_eraser_t *self, const char *msg_id)
{
    assert (self && msg_id);
    if (!*msg_id || strlen (msg_id) > RH_MAX_ID)
        return 0;
    char prefix [RH_MAX_ID + 8];
    snprintf (prefix, sizeof prefix, "ai/%s/", msg_id);
    return s_add_index (self, prefix);
}

//  One referral under the subject: its message, and every message of its case.
static int
s_add_referral (void *arg, const char *referral_msg_id, const char *case_id)
{
    rh_eraser_t *self = arg;
    if (rh_eraser_add_message (self, referral_msg_id) < 0)
        return -1;
    char case_prefix [RH_MAX_ID + 8];
    snprintf (case_prefix, sizeof case_prefix, "ac/%s/", case_id);
    return *case_id && s_add_index (self, case_prefix) < 0 ? -1 : 0;
}

//  The broker's repeat-referral index is the only place a subject is named (by its key): from
//  it come the referrals, and from each its case and every message of that case.
int
rh_eraser_add_subject (rh_eraser_t *self, const char *subject)
{
    assert (self && subject);
    int referrals = rh_cases_each_subject_referral (self->db, subject, s_add_referral, self);
    return referrals < 0 ? -1 : referrals;
}

//  Years record must be kept, by the longest retention of the agreements that allowed it; -1
//  if none of them sets one (then retention never erases it).
static int64_t
s_retention_years (rh_eraser_t *self, const rh_audit_record_t *record)
{
    int64_t years = -1;
    rh_audit_decision_t decision;
    for (size_t i = 0; self->policy && rh_record_decision (record, i, &decision); i++) {
        const rh_agreement_t *agreement = rh_policy_find (self->policy, decision.agreement_id);
        if (decision.allowed && agreement && rh_agreement_referral_years (agreement) > years)
            years = rh_agreement_referral_years (agreement);
    }
    return years;
}

int
rh_eraser_add_due (rh_eraser_t *self, int64_t now_ms)
{
    assert (self);
    //  The shortest retention of any agreement: the walk stops at the first payload younger
    //  than that (records are in time order), so a run costs what is due, not the whole log.
    int64_t shortest = -1;
    for (size_t i = 0; self->policy && i < rh_policy_size (self->policy); i++) {
        int64_t years = rh_agreement_referral_years (rh_policy_agreement (self->policy, i));
        if (years >= 0 && (shortest < 0 || years < shortest))
            shortest = years;
    }
    if (shortest < 0)
        return 0;  //  no agreement sets a retention period
    //  Stored payloads only (ap/), in log order; their records say when and under what.
    rh_db_iter_t *iter = rh_db_iter_new (self->db, "ap/", 3);
    if (!iter)
        return -1;
    uint64_t *due = NULL;
    size_t count = 0, capacity = 0;
    int rc = 0;
    for (; rh_db_iter_valid (iter) && rc == 0; rh_db_iter_next (iter)) {
        size_t size = 0;
        const uint8_t *key = rh_db_iter_key (iter, &size);
        uint64_t seq = rh_db_key_sequence (key, size, 3);
        const rh_audit_record_t *record =
            seq == UINT64_MAX ? NULL : rh_logreader_read (self->reader, seq);
        if (!record)
            continue;
        if (record->at_ms + shortest * RH_RETENTION_YEAR_MS > now_ms)
            break;
        int64_t years = s_retention_years (self, record);
        if (years < 0 || record->at_ms + years * RH_RETENTION_YEAR_MS > now_ms)
            continue;
        if (count == RH_MAX_ERASE_CANDIDATES)
            break;  //  the rest next time
        if (count == capacity) {
            capacity = capacity ? capacity * 2 : 64;
            uint64_t *grown = realloc (due, capacity * sizeof *grown);
            if (!grown) {
                rc = -1;
                break;
            }
            due = grown;
        }
        due [count++] = seq;
    }
    if (rh_db_iter_error (iter))
        rc = -1;
    rh_db_iter_destroy (&iter);
    //  Each stored payload once (ap/ keys are unique): no check for repeats.
    for (size_t i = 0; rc == 0 && i < count; i++)
        if (s_add (self, due [i], false) < 0)
            rc = -1;
    free (due);
    return rc == 0 ? (int) count : -1;
}

static int
s_compare_seq (const void *a, const void *b)
{
    uint64_t x = ((const s_candidate_t *) a)->seq, y = ((const s_candidate_t *) b)->seq;
    return x < y ? -1 : x > y;
}

//  Marks a candidate owed to recipient.
static void
s_owed (s_candidate_t *candidate, const char *recipient)
{
    if (candidate->outcome != RH_ERASE_ERASED)
        return;
    candidate->outcome = RH_ERASE_OWED;
    snprintf (candidate->why, sizeof candidate->why, "%s", recipient);
}

//  Refuses every candidate a queue entry or dead letter still holds: by the payload record it
//  refers to (a binary search: candidates are sorted by record), or, for an entry that carries
//  its own copy, by message id. Returns 0 or -1.
static int
s_refuse_owed (rh_eraser_t *self)
{
    if (self->count)
        qsort (self->candidates, self->count, sizeof *self->candidates, s_compare_seq);
    static const char *const prefixes [] = { "q/", "x/" };
    int rc = 0;
    for (size_t p = 0; p < 2 && rc == 0; p++) {
        rh_db_iter_t *iter = rh_db_iter_new (self->db, prefixes [p], 2);
        if (!iter)
            return -1;
        for (; rh_db_iter_valid (iter); rh_db_iter_next (iter)) {
            size_t key_size = 0, size = 0;
            const uint8_t *key = rh_db_iter_key (iter, &key_size);
            const uint8_t *value = rh_db_iter_value (iter, &size);
            rh_queued_t queued;
            if (rh_record_decode_queued (value, size, &queued) != RH_OK) {
                rc = -1;  //  cannot tell what it holds: refuse the whole run
                break;
            }
            //  q/<agency>/<seq>: the recipient is between the slashes.
            char recipient [RH_MAX_ID + 1] = "";
            const uint8_t *slash = memchr (key + 2, '/', key_size - 2);
            size_t length = slash ? (size_t) (slash - key - 2) : 0;
            if (length <= RH_MAX_ID) {
                memcpy (recipient, key + 2, length);
                recipient [length] = 0;
            }
            if (queued.payload_leaf) {
                s_candidate_t wanted = { .seq = queued.payload_leaf - 1 };
                s_candidate_t *candidate = bsearch (&wanted, self->candidates, self->count,
                                                    sizeof *self->candidates, s_compare_seq);
                if (candidate)
                    s_owed (candidate, recipient);
            }
            for (size_t i = 0; !queued.payload_leaf && i < self->count; i++)
                if (strcmp (queued.msg_id, self->candidates [i].msg_id) == 0)
                    s_owed (&self->candidates [i], recipient);
            rh_record_release (&queued.owned);
        }
        if (rh_db_iter_error (iter))
            rc = -1;
        rh_db_iter_destroy (&iter);
    }
    return rc;
}

int
rh_eraser_run (rh_eraser_t *self, const char *reason, const char *authority, rh_signer_t *signer,
               rh_eraser_fn *report, void *arg)
{
    assert (self && reason && authority);
    if (!rh_record_erasure_reason_valid (reason) || !rh_record_erasure_authority_valid (authority)
        || rh_db_pending (self->db) > 0)
        return -1;
    if (s_refuse_owed (self) != 0)
        return -1;
    //  The records first, RH_MAX_ERASED payloads each, and a checkpoint that signs them.
    rh_erased_t *batch = calloc (RH_MAX_ERASED, sizeof *batch);
    if (!batch)
        return -1;
    int erased = 0;
    size_t next = 0;
    int rc = 0;
    while (rc == 0) {
        size_t used = 0;
        for (; next < self->count && used < RH_MAX_ERASED; next++) {
            const s_candidate_t *candidate = &self->candidates [next];
            if (candidate->outcome == RH_ERASE_ERASED)
                batch [used++] = (rh_erased_t){ .seq = candidate->seq,
                                                .msg_id = candidate->msg_id,
                                                .payload_sha256 = candidate->sha256 };
        }
        if (used == 0)
            break;
        char detail [RH_MAX_AUTHORITY + 96];
        snprintf (detail, sizeof detail, "%zu message%s erased (%s) on the authority of %s", used,
                  used == 1 ? "" : "s", reason, authority);
        rh_audit_record_t record = { .event = "ERASURE",
                                     .code = "RH_OK",
                                     .detail = detail,
                                     .erasure_reason = reason,
                                     .erasure_authority = authority,
                                     .erased = batch,
                                     .erased_count = used };
        rc = rh_audit_append (self->audit, &record);
        erased += (int) used;
    }
    free (batch);
    if (rc == 0 && erased > 0 && signer
        && rh_audit_checkpoint (self->audit, signer, rh_time_now_ms ()) != 0)
        rc = -1;
    //  Durable before anything is deleted: an erasure nobody can see did not happen.
    if (rc != 0 || (erased > 0 && rh_db_commit (self->db, true) != 0)) {
        rh_log_error ("erase", "cannot write the erasure records: nothing was erased");
        return -1;
    }
    for (size_t i = 0; i < self->count; i++) {
        if (self->candidates [i].outcome != RH_ERASE_ERASED)
            continue;
        char key [48];
        snprintf (key, sizeof key, "ap/%020" PRIu64, self->candidates [i].seq);
        rh_db_delete (self->db, key, strlen (key));
    }
    if (erased > 0 && rh_db_commit (self->db, true) != 0)
        rh_log_error ("erase", "the erasure records are written but the payloads could not be "
                               "deleted: run the erasure again");
    for (size_t i = 0; report && i < self->count; i++) {
        const s_candidate_t *candidate = &self->candidates [i];
        report (arg, candidate->seq, candidate->msg_id, candidate->outcome, candidate->why);
    }
    return erased;
}
