/*  =========================================================================
    rh_challenge - professional challenge: the escalation protocol
    =========================================================================
*/
#include "rh_broker_classes.h"
#include "rhannu.pb-c.h"

#define S_KEY      256  //  longest key: cgd/<16 hex>/<msg id>
#define S_DAY_MS   ((int64_t) 24 * 3600 * 1000)
#define S_PER_PASS 64  //  deadlines read from the index at once
#define S_CACHE    64  //  challenges written lately, served before their batch is committed

//  Challenge states (ChallengeState), by short names.
#define C_NONE       RHANNU__V1__CHALLENGE_STATE__CHALLENGE_STATE_UNSET
#define C_RAISED     RHANNU__V1__CHALLENGE_STATE__CHALLENGE_STATE_RAISED
#define C_ESCALATED  RHANNU__V1__CHALLENGE_STATE__CHALLENGE_STATE_ESCALATED
#define C_RESPONDED  RHANNU__V1__CHALLENGE_STATE__CHALLENGE_STATE_RESPONDED
#define C_UNRESOLVED RHANNU__V1__CHALLENGE_STATE__CHALLENGE_STATE_UNRESOLVED
#define C_IGNORED    RH_CHALLENGE_IGNORED

//  The challenge's lifecycle, declared once. Raised at a level, it is answered there, or its
//  deadline passes and it moves up a level (escalated, again and again while levels remain), or
//  the last level's deadline passes and it is unresolved. The last level may still answer an
//  unresolved challenge late: the answer is worth recording, and the report still counts the
//  deadline missed. An answered challenge is over; a second answer is refused.
// clang-format off
static const struct {
    uint32_t state;
    uint32_t next [RH_CHALLENGE_EVENTS];
} s_lifecycle [] = {
    //                 RAISE      RESPOND      MISSED       LAST_MISSED
    { C_NONE,       { C_RAISED,  C_IGNORED,   C_IGNORED,   C_IGNORED    } },
    { C_RAISED,     { C_IGNORED, C_RESPONDED, C_ESCALATED, C_UNRESOLVED } },
    { C_ESCALATED,  { C_IGNORED, C_RESPONDED, C_ESCALATED, C_UNRESOLVED } },
    { C_RESPONDED,  { C_IGNORED, C_IGNORED,   C_IGNORED,   C_IGNORED    } },
    { C_UNRESOLVED, { C_IGNORED, C_RESPONDED, C_IGNORED,   C_IGNORED    } },
};
// clang-format on

uint32_t
rh_challenge_next (uint32_t state, rh_challenge_event_t event)
{
    if ((int) event < 0 || event >= RH_CHALLENGE_EVENTS)
        return C_IGNORED;
    for (size_t i = 0; i < sizeof s_lifecycle / sizeof s_lifecycle [0]; i++)
        if (s_lifecycle [i].state == state)
            return s_lifecycle [i].next [event];
    return C_IGNORED;
}

struct _rh_challenge_t {
    rh_db_t *db;                               //  borrowed: cg/ cgd/ cgo/ keys
    rh_cases_t *cases;                         //  borrowed: the cases challenged
    rh_queue_t *queue;                         //  borrowed: where the broker's alerts go
    rh_audit_t *audit;                         //  borrowed: each step is recorded
    rh_signer_t *signer;                       //  borrowed: the broker's identity
    rh_certstore_t *const *store;              //  borrowed slot: who is enrolled
    rh_policy_t *const *policy;                //  borrowed slot: the agreements in force
    int64_t next_ms;                           //  no deadline is due before this (INT64_MIN: look)
    int64_t last_ms;                           //  the clock at the last look (tests move it back)
    char to [RH_MAX_INVOLVED][RH_MAX_ID + 1];  //  rh_challenge_check's added recipients
    //  The database answers from committed data: two answers to one challenge in one batch
    //  must see each other, so what was written lately is read from here first.
    rh_challenge_record_t cache [S_CACHE];
    size_t cache_next;
};

rh_challenge_t *
rh_challenge_new (rh_db_t *db, rh_cases_t *cases, rh_queue_t *queue, rh_audit_t *audit,
                  rh_signer_t *signer, rh_certstore_t *const *store, rh_policy_t *const *policy)
{
    assert (db && cases && queue && audit && signer && store && policy);
    rh_challenge_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->db = db;
    self->cases = cases;
    self->queue = queue;
    self->audit = audit;
    self->signer = signer;
    self->store = store;
    self->policy = policy;
    self->next_ms = INT64_MIN;
    return self;
}

void
rh_challenge_destroy (rh_challenge_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}

//  ---------------------------------------------------------------------------------------------
//  Records

static int
s_put (rh_challenge_t *self, const rh_challenge_record_t *record)
{
    Rhannu__V1__ChallengeRecord out = RHANNU__V1__CHALLENGE_RECORD__INIT;
    out.challenge_msg_id = (char *) record->challenge_msg_id;
    out.decision_msg_id = (char *) record->decision_msg_id;
    out.referral_msg_id = (char *) record->referral_msg_id;
    out.case_id = (char *) record->case_id;
    out.challenger = (char *) record->challenger;
    out.holder = (char *) record->holder;
    out.agreement_id = (char *) record->agreement_id;
    out.state = (Rhannu__V1__ChallengeState) record->state;
    out.level = record->level;
    out.raised_ms = record->raised_ms;
    out.due_ms = record->due_ms;
    out.responded_ms = record->responded_ms;
    out.outcome = (Rhannu__V1__ChallengeOutcome) record->outcome;
    out.responder = (char *) record->responder;
    size_t size = rhannu__v1__challenge_record__get_packed_size (&out);
    uint8_t *bytes = malloc (size ? size : 1);
    if (!bytes)
        return -1;
    rhannu__v1__challenge_record__pack (&out, bytes);
    char key [S_KEY];
    snprintf (key, sizeof key, "cg/%s", record->challenge_msg_id);
    rh_db_put (self->db, key, strlen (key), bytes, size);
    free (bytes);
    self->cache [self->cache_next] = *record;
    self->cache_next = (self->cache_next + 1) % S_CACHE;
    return 0;
}

bool
rh_challenge_get (rh_challenge_t *self, const char *challenge_msg_id, rh_challenge_record_t *record)
{
    assert (self && challenge_msg_id && record);
    if (!*challenge_msg_id)
        return false;
    for (size_t k = 0; k < S_CACHE; k++) {
        size_t i = (self->cache_next + S_CACHE - 1 - k) % S_CACHE;
        if (!strcmp (self->cache [i].challenge_msg_id, challenge_msg_id)) {
            *record = self->cache [i];
            return true;
        }
    }
    char key [S_KEY];
    snprintf (key, sizeof key, "cg/%s", challenge_msg_id);
    uint8_t *value = NULL;
    size_t size = 0;
    if (rh_db_get (self->db, key, strlen (key), &value, &size) != 0)
        return false;
    Rhannu__V1__ChallengeRecord *in = rhannu__v1__challenge_record__unpack (NULL, size, value);
    free (value);
    if (!in) {
        rh_log_error ("challenge", "challenge record %s does not decode", challenge_msg_id);
        return false;
    }
    memset (record, 0, sizeof *record);
    rh_text_copy (record->challenge_msg_id, sizeof record->challenge_msg_id, in->challenge_msg_id);
    rh_text_copy (record->decision_msg_id, sizeof record->decision_msg_id, in->decision_msg_id);
    rh_text_copy (record->referral_msg_id, sizeof record->referral_msg_id, in->referral_msg_id);
    rh_text_copy (record->case_id, sizeof record->case_id, in->case_id);
    rh_text_copy (record->challenger, sizeof record->challenger, in->challenger);
    rh_text_copy (record->holder, sizeof record->holder, in->holder);
    rh_text_copy (record->agreement_id, sizeof record->agreement_id, in->agreement_id);
    record->state = (uint32_t) in->state;
    record->level = in->level;
    record->raised_ms = in->raised_ms;
    record->due_ms = in->due_ms;
    record->responded_ms = in->responded_ms;
    record->outcome = (uint32_t) in->outcome;
    rh_text_copy (record->responder, sizeof record->responder, in->responder);
    rhannu__v1__challenge_record__free_unpacked (in, NULL);
    return true;
}

static void
s_due_key (int64_t due_ms, const char *challenge_msg_id, char *key, size_t size)
{
    snprintf (key, size, "cgd/%016" PRIx64 "/%.*s", (uint64_t) due_ms, RH_MAX_ID, challenge_msg_id);
}

//  Sets (due_ms > 0) or clears the challenge's deadline, keeping the index in step.
static void
s_set_due (rh_challenge_t *self, rh_challenge_record_t *record, int64_t due_ms)
{
    char key [S_KEY];
    if (record->due_ms) {
        s_due_key (record->due_ms, record->challenge_msg_id, key, sizeof key);
        rh_db_delete (self->db, key, strlen (key));
    }
    record->due_ms = due_ms > 0 ? due_ms : 0;
    if (record->due_ms && record->due_ms < self->next_ms)
        self->next_ms = record->due_ms;
    if (record->due_ms) {
        s_due_key (record->due_ms, record->challenge_msg_id, key, sizeof key);
        rh_db_put (self->db, key, strlen (key), "", 0);
    }
}

//  ---------------------------------------------------------------------------------------------
//  Levels

//  The levels of the agreement a case is under (0 if it declares none, or is not in force).
static size_t
s_levels (rh_challenge_t *self, const char *agreement_id, const rh_challenge_level_t **levels)
{
    const rh_agreement_t *agreement = rh_policy_find (*self->policy, agreement_id);
    *levels = NULL;
    return agreement ? rh_agreement_challenge_levels (agreement, levels) : 0;
}

//  Whether agency answers at level (1-based) of a challenge.
static bool
s_answers (rh_challenge_t *self, const rh_challenge_record_t *record, const char *agency)
{
    const rh_challenge_level_t *levels;
    size_t count = s_levels (self, record->agreement_id, &levels);
    if (record->level < 1 || record->level > count)
        return false;
    const char *role = levels [record->level - 1].role;
    if (!strcmp (role, "holder"))
        return !strcmp (record->holder, agency);
    const rh_agreement_t *agreement = rh_policy_find (*self->policy, record->agreement_id);
    return agreement && rh_agreement_has_role (agreement, agency, role);
}

//  The enrolled agencies that answer at level (1-based), at most max. Returns how many.
static size_t
s_responders (rh_challenge_t *self, const char *agreement_id, const char *holder, uint32_t level,
              const char **ids, size_t max, int64_t now)
{
    const rh_challenge_level_t *levels;
    size_t count = s_levels (self, agreement_id, &levels), found = 0;
    if (level < 1 || level > count || !max)
        return 0;
    const char *role = levels [level - 1].role;
    if (!strcmp (role, "holder"))
        found = *holder ? (ids [0] = holder, 1) : 0;
    else
        found = rh_agreement_parties_with_role (rh_policy_find (*self->policy, agreement_id), role,
                                                ids, max);
    size_t enrolled = 0;
    for (size_t i = 0; i < found; i++)
        if (rh_certstore_enrolled (*self->store, ids [i], now))
            ids [enrolled++] = ids [i];
    return enrolled;
}

void
rh_challenge_decided (rh_challenge_t *self, const char *outcome_msg_id, const char *referral_msg_id)
{
    assert (self && outcome_msg_id && referral_msg_id);
    char key [S_KEY];
    snprintf (key, sizeof key, "cgo/%s", outcome_msg_id);
    rh_db_put (self->db, key, strlen (key), referral_msg_id, strlen (referral_msg_id));
}

//  The decision a CHALLENGE names: body.decision_msg_id, else in_reply_to. NULL if the two
//  name different messages.
static const char *
s_decision_of (rh_envelope_t *envelope)
{
    const Rhannu__V1__Challenge *body = (const Rhannu__V1__Challenge *) rh_envelope_body (envelope);
    const char *named = body && body->decision_msg_id ? body->decision_msg_id : "";
    const char *answers = rh_envelope_in_reply_to (envelope);
    if (*named && *answers && strcmp (named, answers) != 0)
        return NULL;
    return *named ? named : answers;
}

static bool
s_check_challenge (rh_challenge_t *self, rh_envelope_t *envelope, const char *sender, int64_t now,
                   const char **to, size_t *to_count, size_t max, rh_decision_t *refusal)
{
    const char *decision = s_decision_of (envelope);
    if (!decision) {
        rh_decision_condition (
            refusal, "decision_msg_id",
            "a challenge's decision_msg_id must be the outcome in_reply_to names");
        return true;
    }
    char key [S_KEY], referral [RH_MAX_ID + 1];
    snprintf (key, sizeof key, "cgo/%s", decision);
    rh_case_t record;
    if (!*decision || !rh_db_get_text (self->db, key, referral, RH_MAX_ID)
        || !rh_cases_get (self->cases, referral, &record)) {
        rh_decision_condition (
            refusal, "decision",
            "a challenge must name (in_reply_to) an outcome the broker accepted on a case");
        return true;
    }
    const char *name = *record.case_id ? record.case_id : record.referral_msg_id;
    const rh_challenge_level_t *levels;
    size_t count = s_levels (self, record.agreement_id, &levels);
    if (!count) {
        rh_decision_condition (
            refusal, "challenge_levels",
            "the agreement of case %s declares no challenge levels: it takes no challenges", name);
        return true;
    }
    //  Only an agency involved in the case (its referrer among them) challenges its decision;
    //  the holder does not challenge itself.
    bool involved = !strcmp (record.referrer, sender);
    for (size_t i = 0; i < record.involved_count && !involved; i++)
        involved = !strcmp (record.involved [i], sender);
    if (!involved || !strcmp (record.holder, sender)) {
        rh_decision_condition (
            refusal, "case_party",
            "only an agency involved in case %s, other than its holder, may challenge its "
            "decision",
            name);
        return true;
    }
    const Rhannu__V1__Challenge *body = (const Rhannu__V1__Challenge *) rh_envelope_body (envelope);
    uint32_t level = body && body->level ? body->level : 1;
    if (level > count) {
        rh_decision_condition (refusal, "challenge_level",
                               "the agreement of case %s declares %zu challenge levels, not %u",
                               name, count, level);
        return true;
    }
    const char *ids [RH_MAX_INVOLVED];
    size_t found =
        s_responders (self, record.agreement_id, record.holder, level, ids, RH_MAX_INVOLVED, now);
    for (size_t i = 0; i < found && *to_count < max; i++) {
        rh_text_copy (self->to [*to_count], sizeof self->to [0], ids [i]);
        to [*to_count] = self->to [*to_count];
        (*to_count)++;
    }
    return false;
}

static bool
s_check_response (rh_challenge_t *self, rh_envelope_t *envelope, const rh_facts_t *facts,
                  const char *sender, const char **to, size_t *to_count, size_t max,
                  rh_decision_t *refusal)
{
    rh_challenge_record_t record;
    if (!rh_challenge_get (self, rh_envelope_in_reply_to (envelope), &record)) {
        rh_decision_condition (
            refusal, "challenge",
            "an answer to a challenge must name (in_reply_to) the challenge it answers");
        return true;
    }
    const char *name = *record.case_id ? record.case_id : record.referral_msg_id;
    uint32_t outcome = facts->challenge_outcome;
    if (outcome != RHANNU__V1__CHALLENGE_OUTCOME__CHALLENGE_UPHELD
        && outcome != RHANNU__V1__CHALLENGE_OUTCOME__CHALLENGE_NOT_UPHELD
        && outcome != RHANNU__V1__CHALLENGE_OUTCOME__CHALLENGE_RESOLVED) {
        rh_decision_condition (refusal, "challenge_outcome",
                               "an answer to a challenge must give its outcome (CHALLENGE_UPHELD, "
                               "CHALLENGE_NOT_UPHELD or CHALLENGE_RESOLVED)");
        return true;
    }
    if (rh_challenge_next (record.state, RH_CHALLENGE_RESPOND) == C_IGNORED) {
        rh_decision_condition (refusal, "challenge_open",
                               "the challenge on case %s is answered already", name);
        return true;
    }
    if (!s_answers (self, &record, sender)) {
        const rh_challenge_level_t *levels;
        size_t count = s_levels (self, record.agreement_id, &levels);
        rh_decision_condition (
            refusal, "challenge_responder",
            "the challenge on case %s stands at level %u: only %s answers it", name, record.level,
            record.level >= 1 && record.level <= count ? levels [record.level - 1].role
                                                       : "(no level of the agreement)");
        return true;
    }
    //  The challenger hears the answer (a reply with no address goes back to it anyway).
    if (*to_count < max) {
        rh_text_copy (self->to [*to_count], sizeof self->to [0], record.challenger);
        to [*to_count] = self->to [*to_count];
        (*to_count)++;
    }
    return false;
}

bool
rh_challenge_check (rh_challenge_t *self, rh_envelope_t *envelope, const rh_facts_t *facts,
                    const char *sender, int64_t now, const char **to, size_t *to_count, size_t max,
                    rh_decision_t *refusal)
{
    assert (self && envelope && facts && sender && to && to_count && refusal);
    *to_count = 0;
    if (max > RH_MAX_INVOLVED)
        max = RH_MAX_INVOLVED;
    if (facts->kind == RH_KIND_CHALLENGE)
        return s_check_challenge (self, envelope, sender, now, to, to_count, max, refusal);
    if (facts->kind == RH_KIND_STATUS_UPDATE
        && facts->update_kind == RHANNU__V1__UPDATE_KIND__CHALLENGE_RESPONDED)
        return s_check_response (self, envelope, facts, sender, to, to_count, max, refusal);
    return false;
}

//  ---------------------------------------------------------------------------------------------
//  Steps

static const char *
s_outcome_name (uint32_t outcome)
{
    const ProtobufCEnumValue *value = protobuf_c_enum_descriptor_get_value (
        &rhannu__v1__challenge_outcome__descriptor, (int) outcome);
    return value ? value->name : "CHALLENGE_OUTCOME_UNSET";
}

//  The audit record of one step, under the case challenged. The detail is written to be read
//  back by the report and replay: "level N" first.
static void
s_audit (rh_challenge_t *self, const char *event, const rh_challenge_record_t *record,
         const char *agency, const char *detail)
{
    rh_audit_decided (self->audit, event, RH_OK, record->challenge_msg_id, agency, NULL, 0, NULL, 0,
                      NULL, detail, NULL, 0, record->case_id);
}

void
rh_challenge_accepted (rh_challenge_t *self, rh_envelope_t *envelope, const rh_facts_t *facts,
                       const char *msg_id, const char *sender, int64_t now)
{
    assert (self && envelope && facts && msg_id && sender);
    char detail [RH_MAX_REASON];
    if (facts->kind == RH_KIND_CHALLENGE) {
        const char *decision = s_decision_of (envelope);
        char key [S_KEY], referral [RH_MAX_ID + 1];
        snprintf (key, sizeof key, "cgo/%s", decision ? decision : "");
        rh_case_t c;
        if (!decision || !rh_db_get_text (self->db, key, referral, RH_MAX_ID)
            || !rh_cases_get (self->cases, referral, &c))
            return;  //  rh_challenge_check refused it: cannot happen
        const rh_challenge_level_t *levels;
        size_t count = s_levels (self, c.agreement_id, &levels);
        const Rhannu__V1__Challenge *body =
            (const Rhannu__V1__Challenge *) rh_envelope_body (envelope);
        uint32_t level = body && body->level ? body->level : 1;
        uint32_t next = rh_challenge_next (C_NONE, RH_CHALLENGE_RAISE);
        if (level < 1 || level > count || next == C_IGNORED)
            return;
        rh_challenge_record_t record;
        memset (&record, 0, sizeof record);
        rh_text_copy (record.challenge_msg_id, sizeof record.challenge_msg_id, msg_id);
        rh_text_copy (record.decision_msg_id, sizeof record.decision_msg_id, decision);
        rh_text_copy (record.referral_msg_id, sizeof record.referral_msg_id, c.referral_msg_id);
        rh_text_copy (record.case_id, sizeof record.case_id, c.case_id);
        rh_text_copy (record.challenger, sizeof record.challenger, sender);
        rh_text_copy (record.holder, sizeof record.holder, c.holder);
        rh_text_copy (record.agreement_id, sizeof record.agreement_id, c.agreement_id);
        record.state = next;
        record.level = level;
        record.raised_ms = now;
        s_set_due (self, &record, now + levels [level - 1].respond_ms);
        s_put (self, &record);
        snprintf (detail, sizeof detail,
                  "level %u (%s) of %zu; response due %" PRId64 " (in %" PRId64 " days)", level,
                  levels [level - 1].role, count, record.due_ms,
                  levels [level - 1].respond_ms / S_DAY_MS);
        s_audit (self, "CHALLENGE_RAISED", &record, sender, detail);
        rh_log_info ("broker", "challenge %s of case %s raised at level %u", msg_id,
                     record.referral_msg_id, level);
        return;
    }
    if (facts->kind != RH_KIND_STATUS_UPDATE
        || facts->update_kind != RHANNU__V1__UPDATE_KIND__CHALLENGE_RESPONDED)
        return;
    rh_challenge_record_t record;
    if (!rh_challenge_get (self, rh_envelope_in_reply_to (envelope), &record))
        return;
    uint32_t next = rh_challenge_next (record.state, RH_CHALLENGE_RESPOND);
    if (next == C_IGNORED)
        return;
    bool late = record.state == C_UNRESOLVED;
    record.state = next;
    record.outcome = facts->challenge_outcome;
    record.responded_ms = now;
    rh_text_copy (record.responder, sizeof record.responder, sender);
    s_set_due (self, &record, 0);
    s_put (self, &record);
    snprintf (detail, sizeof detail, "level %u; %s; answer %s%s", record.level,
              s_outcome_name (record.outcome), msg_id, late ? " (after the last deadline)" : "");
    s_audit (self, "CHALLENGE_RESPONDED", &record, sender, detail);
    rh_log_info ("broker", "challenge %s answered at level %u", record.challenge_msg_id,
                 record.level);
}

//  Alerts the level's responders and the challenger that the challenge moved on (kind
//  CHALLENGE_ESCALATED) or ran out of levels (CHALLENGE_UNRESOLVED). Returns how many.
static size_t
s_alert (rh_challenge_t *self, const rh_challenge_record_t *record, uint32_t kind, int64_t when,
         int64_t now)
{
    rh_case_t c;
    if (!rh_cases_get (self->cases, record->referral_msg_id, &c))
        return 0;
    const char *targets [RH_MAX_INVOLVED + 1];
    size_t count = s_responders (self, record->agreement_id, record->holder, record->level, targets,
                                 RH_MAX_INVOLVED, now);
    bool seen = false;
    for (size_t i = 0; i < count && !seen; i++)
        seen = !strcmp (targets [i], record->challenger);
    if (!seen && rh_certstore_enrolled (*self->store, record->challenger, now))
        targets [count++] = record->challenger;
    //  The challenge is named: the answer replies to it.
    const char *ids [1] = { record->challenge_msg_id }, *case_ids [1] = { record->case_id };
    rh_alert_t alert = { .alert_kind = kind,
                         .record = &c,
                         .due_ms = when,
                         .count = record->level,
                         .related_msg_ids = ids,
                         .related_case_ids = case_ids,
                         .related_count = 1 };
    for (size_t i = 0; i < count; i++) {
        rh_notice_from_t from = { self->signer, rh_queue_next_sequence (self->queue), targets [i],
                                  now };
        char msg_id [RH_MAX_ID + 1] = "";
        size_t size = 0;
        uint8_t *sealed = rh_notice_alert (&from, &alert, &size, msg_id);
        rh_queue_send_own (self->queue, targets [i], &sealed, size, msg_id, RH_KIND_ALERT,
                           "challenge alert", NULL, record->case_id, now);
    }
    return count;
}

//  One due deadline: the level did not answer in time.
static void
s_fire (rh_challenge_t *self, const char *challenge_msg_id, int64_t due_ms, int64_t now)
{
    rh_challenge_record_t record;
    char key [S_KEY];
    if (!rh_challenge_get (self, challenge_msg_id, &record) || record.due_ms != due_ms) {
        s_due_key (due_ms, challenge_msg_id, key, sizeof key);  //  stale: it moved on
        rh_db_delete (self->db, key, strlen (key));
        return;
    }
    const rh_challenge_level_t *levels;
    size_t count = s_levels (self, record.agreement_id, &levels);
    //  An agreement no longer in force still had its say: with no level left, unresolved.
    bool more = record.level < count;
    uint32_t next =
        rh_challenge_next (record.state, more ? RH_CHALLENGE_MISSED : RH_CHALLENGE_LAST_MISSED);
    s_set_due (self, &record, 0);
    char detail [RH_MAX_REASON];
    if (next == C_IGNORED) {
        s_put (self, &record);
        return;
    }
    uint32_t missed = record.level;
    record.state = next;
    if (more) {
        record.level++;
        //  The next level's time runs from now: a broker that was down does not shorten it.
        s_set_due (self, &record, now + levels [record.level - 1].respond_ms);
        snprintf (detail, sizeof detail,
                  "level %u (%s) of %zu; level %u missed its deadline %" PRId64
                  "; response due %" PRId64 " (in %" PRId64 " days)",
                  record.level, levels [record.level - 1].role, count, missed, due_ms,
                  record.due_ms, levels [record.level - 1].respond_ms / S_DAY_MS);
    }
    else
        snprintf (detail, sizeof detail,
                  "level %u of %zu; the last level missed its deadline %" PRId64 "; unresolved",
                  record.level, count, due_ms);
    s_put (self, &record);
    s_audit (self, more ? "CHALLENGE_ESCALATED" : "CHALLENGE_UNRESOLVED", &record, "broker",
             detail);
    size_t sent = s_alert (self, &record,
                           more ? RHANNU__V1__ALERT_KIND__CHALLENGE_ESCALATED
                                : RHANNU__V1__ALERT_KIND__CHALLENGE_UNRESOLVED,
                           more ? record.due_ms : due_ms, now);
    rh_log_info ("broker", "challenge %s: level %u missed; %s; %zu alerted", challenge_msg_id,
                 missed, more ? "escalated" : "unresolved", sent);
}

void
rh_challenge_fire (rh_challenge_t *self, int64_t now)
{
    assert (self);
    if (now < self->last_ms)
        self->next_ms = INT64_MIN;  //  the clock moved back: what was known about later is not
    self->last_ms = now;
    if (now < self->next_ms)
        return;
    //  Look again within a second at the latest: a deadline set in a batch not yet committed
    //  was not seen by this look.
    self->next_ms = now + 1000;
    size_t fired = 0, found;
    do {
        char ids [S_PER_PASS][RH_MAX_ID + 1];
        int64_t dues [S_PER_PASS];
        found = 0;
        rh_db_iter_t *iter = rh_db_iter_new (self->db, "cgd/", 4);
        for (; iter && rh_db_iter_valid (iter) && found < S_PER_PASS; rh_db_iter_next (iter)) {
            size_t size = 0;
            const uint8_t *key = rh_db_iter_key (iter, &size);
            char text [S_KEY];
            //  cgd/<16 hex>/<msg id>
            if (size < 4 + 16 + 2 || size >= sizeof text)
                continue;
            memcpy (text, key, size);
            text [size] = 0;
            char *end = NULL;
            uint64_t when = strtoull (text + 4, &end, 16);
            if (end != text + 20 || *end != '/')
                continue;
            if ((int64_t) when > now) {
                if ((int64_t) when < self->next_ms)
                    self->next_ms = (int64_t) when;
                break;  //  ordered by due time: nothing later is due
            }
            rh_text_copy (ids [found], sizeof ids [0], end + 1);
            dues [found++] = (int64_t) when;
        }
        rh_db_iter_destroy (&iter);
        for (size_t i = 0; i < found; i++)
            s_fire (self, ids [i], dues [i], now);
        fired += found;
        if (found && rh_db_commit (self->db, true) != 0) {
            rh_log_error ("broker", "cannot commit fired challenge deadlines");
            return;
        }
    } while (found == S_PER_PASS && fired < RH_MAX_DUE_PER_TICK);
}
