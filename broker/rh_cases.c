/*  =========================================================================
    rh_cases - the broker's referral lifecycles, deadlines and repeat index
    =========================================================================
*/
#include "rh_broker_classes.h"
#include "rhannu.pb-c.h"

struct _rh_cases_t {
    rh_db_t *db;       //  borrowed
    rh_case_t *cache;  //  ring of recently written cases
    size_t cache_next;
    //  Nothing is due before next_due_ms (0: not known yet), so a tick does not walk the index
    //  (and the tombstones of timers already done) when nothing can be due; timers set since
    //  the last look, maybe not committed then, are kept apart.
    int64_t next_due_ms;
    int64_t set_since_look_ms;
};

rh_cases_t *
rh_cases_new (rh_db_t *db)
{
    rh_cases_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->db = db;
    self->set_since_look_ms = INT64_MAX;
    self->cache = calloc (RH_CASE_CACHE, sizeof *self->cache);
    if (!self->cache)
        rh_cases_destroy (&self);
    return self;
}

void
rh_cases_destroy (rh_cases_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free ((*self_p)->cache);
    free (*self_p);
    *self_p = NULL;
}

#define S_KEY 256  //  longest key: kh/<holder>/<case id>, s/<64 hex>/<16 hex>/<msg id>

//  ---------------------------------------------------------------------------------------------
//  Encoding

static uint8_t *
s_encode (const rh_case_t *record, size_t *size)
{
    Rhannu__V1__Case out = RHANNU__V1__CASE__INIT;
    out.referral_msg_id = (char *) record->referral_msg_id;
    out.case_id = (char *) record->case_id;
    out.referrer = (char *) record->referrer;
    out.referrer_author = (char *) record->referrer_author;
    out.supervisor = (char *) record->supervisor;
    out.duty_inbox = (char *) record->duty_inbox;
    out.holder = (char *) record->holder;
    out.holder_label = (char *) record->holder_label;
    out.transferred_to = (char *) record->transferred_to;
    out.agreement_id = (char *) record->agreement_id;
    out.escalate_to = (char *) record->escalate_to;
    out.referral_kind = (Rhannu__V1__ReferralKind) record->referral_kind;
    out.state = (Rhannu__V1__CaseState) record->state;
    out.decision = (Rhannu__V1__Decision) record->decision;
    out.received_ms = record->received_ms;
    out.acknowledged_ms = record->acknowledged_ms;
    out.decided_ms = record->decided_ms;
    out.closed_ms = record->closed_ms;
    out.withdrawn_ms = record->withdrawn_ms;
    out.outcome_notice_sent = record->outcome_notice_sent;
    out.overdue = record->overdue;
    out.outage_attributed = record->outage_attributed;
    out.updates = record->updates;
    out.unverified = record->unverified;
    out.unverified_code = (char *) record->unverified_code;
    out.unverified_ms = record->unverified_ms;
    out.acknowledge_due_ms = record->timers [RH_TIMER_ACKNOWLEDGE];
    out.reminder_ms = record->timers [RH_TIMER_REMINDER];
    out.outcome_due_ms = record->timers [RH_TIMER_OUTCOME];
    out.escalate_ms = record->timers [RH_TIMER_ESCALATE];
    out.review_due_ms = record->timers [RH_TIMER_REVIEW];
    out.override_review = (Rhannu__V1__OverrideReview) record->override_review;
    out.override_rule = (char *) record->override_rule;
    out.overridden_ms = record->overridden_ms;
    out.meeting_state = (Rhannu__V1__StrategyMeetingState) record->meeting_state;
    out.meeting_msg_id = (char *) record->meeting_msg_id;
    out.meeting_when_ms = record->meeting_when_ms;
    out.meeting_record_due_ms = record->timers [RH_TIMER_MEETING];
    out.meeting_record_msg_id = (char *) record->meeting_record_msg_id;
    out.meeting_taken_in = record->meeting_taken_in;
    char *invited [RH_MAX_INVITEES];
    for (size_t i = 0; i < record->meeting_invited_count; i++)
        invited [i] = (char *) record->meeting_invited [i];
    out.meeting_invited = invited;
    out.n_meeting_invited = record->meeting_invited_count;
    char *involved [RH_MAX_INVOLVED], *alerts [RH_MAX_OPEN_ALERTS];
    ProtobufCBinaryData keys [RH_MAX_CASE_SUBJECTS];
    for (size_t i = 0; i < record->involved_count; i++)
        involved [i] = (char *) record->involved [i];
    for (size_t i = 0; i < record->open_alert_count; i++)
        alerts [i] = (char *) record->open_alerts [i];
    for (size_t i = 0; i < record->subject_count; i++) {
        keys [i].data = (uint8_t *) record->subject_keys [i];
        keys [i].len = RH_SUBJECT_KEY_LEN;
    }
    out.involved = involved;
    out.n_involved = record->involved_count;
    out.open_alerts = alerts;
    out.n_open_alerts = record->open_alert_count;
    out.subject_keys = keys;
    out.n_subject_keys = record->subject_count;
    *size = rhannu__v1__case__get_packed_size (&out);
    uint8_t *bytes = malloc (*size ? *size : 1);
    if (bytes)
        rhannu__v1__case__pack (&out, bytes);
    return bytes;
}

static bool
s_decode (const uint8_t *data, size_t size, rh_case_t *record)
{
    Rhannu__V1__Case *in = rhannu__v1__case__unpack (NULL, size, data);
    if (!in)
        return false;
    bool good = in->n_involved <= RH_MAX_INVOLVED && in->n_open_alerts <= RH_MAX_OPEN_ALERTS
                && in->n_subject_keys <= RH_MAX_CASE_SUBJECTS
                && in->n_meeting_invited <= RH_MAX_INVITEES;
    for (size_t i = 0; good && i < in->n_subject_keys; i++)
        good = in->subject_keys [i].len == RH_SUBJECT_KEY_LEN;
    if (good) {
        memset (record, 0, sizeof *record);
        rh_text_copy (record->referral_msg_id, sizeof record->referral_msg_id, in->referral_msg_id);
        rh_text_copy (record->case_id, sizeof record->case_id, in->case_id);
        rh_text_copy (record->referrer, sizeof record->referrer, in->referrer);
        rh_text_copy (record->referrer_author, sizeof record->referrer_author, in->referrer_author);
        rh_text_copy (record->supervisor, sizeof record->supervisor, in->supervisor);
        rh_text_copy (record->duty_inbox, sizeof record->duty_inbox, in->duty_inbox);
        rh_text_copy (record->holder, sizeof record->holder, in->holder);
        rh_text_copy (record->holder_label, sizeof record->holder_label, in->holder_label);
        rh_text_copy (record->transferred_to, sizeof record->transferred_to, in->transferred_to);
        rh_text_copy (record->agreement_id, sizeof record->agreement_id, in->agreement_id);
        rh_text_copy (record->escalate_to, sizeof record->escalate_to, in->escalate_to);
        record->referral_kind = in->referral_kind > 0 ? (uint32_t) in->referral_kind : 0;
        record->state = in->state > 0 ? (uint32_t) in->state : 0;
        record->decision = in->decision > 0 ? (uint32_t) in->decision : 0;
        record->received_ms = in->received_ms;
        record->acknowledged_ms = in->acknowledged_ms;
        record->decided_ms = in->decided_ms;
        record->closed_ms = in->closed_ms;
        record->withdrawn_ms = in->withdrawn_ms;
        record->outcome_notice_sent = in->outcome_notice_sent;
        record->overdue = in->overdue;
        record->outage_attributed = in->outage_attributed;
        record->updates = in->updates;
        record->unverified = in->unverified;
        rh_text_copy (record->unverified_code, sizeof record->unverified_code, in->unverified_code);
        record->unverified_ms = in->unverified_ms;
        record->timers [RH_TIMER_ACKNOWLEDGE] = in->acknowledge_due_ms;
        record->timers [RH_TIMER_REMINDER] = in->reminder_ms;
        record->timers [RH_TIMER_OUTCOME] = in->outcome_due_ms;
        record->timers [RH_TIMER_ESCALATE] = in->escalate_ms;
        record->timers [RH_TIMER_REVIEW] = in->review_due_ms;
        record->override_review = (uint32_t) in->override_review;
        rh_text_copy (record->override_rule, sizeof record->override_rule, in->override_rule);
        record->overridden_ms = in->overridden_ms;
        record->meeting_state = (uint32_t) in->meeting_state;
        rh_text_copy (record->meeting_msg_id, sizeof record->meeting_msg_id, in->meeting_msg_id);
        record->meeting_when_ms = in->meeting_when_ms;
        record->timers [RH_TIMER_MEETING] = in->meeting_record_due_ms;
        rh_text_copy (record->meeting_record_msg_id, sizeof record->meeting_record_msg_id,
                      in->meeting_record_msg_id);
        record->meeting_taken_in = in->meeting_taken_in;
        for (size_t i = 0; i < in->n_meeting_invited; i++)
            rh_text_copy (record->meeting_invited [i], sizeof record->meeting_invited [i],
                          in->meeting_invited [i]);
        record->meeting_invited_count = in->n_meeting_invited;
        for (size_t i = 0; i < in->n_involved; i++)
            rh_text_copy (record->involved [i], sizeof record->involved [i], in->involved [i]);
        record->involved_count = in->n_involved;
        for (size_t i = 0; i < in->n_open_alerts; i++)
            rh_text_copy (record->open_alerts [i], sizeof record->open_alerts [i],
                          in->open_alerts [i]);
        record->open_alert_count = in->n_open_alerts;
        for (size_t i = 0; i < in->n_subject_keys; i++)
            memcpy (record->subject_keys [i], in->subject_keys [i].data, RH_SUBJECT_KEY_LEN);
        record->subject_count = in->n_subject_keys;
    }
    rhannu__v1__case__free_unpacked (in, NULL);
    return good;
}

//  ---------------------------------------------------------------------------------------------
//  Cases

//  The newest cached version of a case, or NULL. The cache holds what the pending batch has not
//  committed yet, so it is read newest first.
static const rh_case_t *
s_cached (rh_cases_t *self, const char *referral_msg_id)
{
    for (size_t k = 0; k < RH_CASE_CACHE; k++) {
        size_t i = (self->cache_next + RH_CASE_CACHE - 1 - k) % RH_CASE_CACHE;
        if (strcmp (self->cache [i].referral_msg_id, referral_msg_id) == 0)
            return &self->cache [i];
    }
    return NULL;
}

bool
rh_cases_get (rh_cases_t *self, const char *referral_msg_id, rh_case_t *record)
{
    if (!*referral_msg_id)
        return false;
    const rh_case_t *cached = s_cached (self, referral_msg_id);
    if (cached) {
        *record = *cached;
        return true;
    }
    char key [S_KEY];
    snprintf (key, sizeof key, "k/%s", referral_msg_id);
    uint8_t *value = NULL;
    size_t size = 0;
    if (rh_db_get (self->db, key, strlen (key), &value, &size) != 0)
        return false;
    bool found = s_decode (value, size, record);
    if (!found)
        rh_log_error ("cases", "case record %s does not decode", referral_msg_id);
    free (value);
    return found;
}

static void
s_holder_key (const char *holder, const char *case_id, char *key, size_t size)
{
    snprintf (key, size, "kh/%s/%s", holder, case_id);
}

bool
rh_cases_find (rh_cases_t *self, const char *holder, const char *case_id,
               char referral_msg_id [RH_MAX_ID + 1])
{
    if (!*case_id || !*holder)
        return false;
    for (size_t k = 0; k < RH_CASE_CACHE; k++) {
        size_t i = (self->cache_next + RH_CASE_CACHE - 1 - k) % RH_CASE_CACHE;
        if (!strcmp (self->cache [i].holder, holder)
            && !strcmp (self->cache [i].case_id, case_id)) {
            snprintf (referral_msg_id, RH_MAX_ID + 1, "%s", self->cache [i].referral_msg_id);
            return true;
        }
    }
    char key [S_KEY];
    s_holder_key (holder, case_id, key, sizeof key);
    return rh_db_get_text (self->db, key, referral_msg_id, RH_MAX_ID);
}

int
rh_cases_put (rh_cases_t *self, const rh_case_t *record)
{
    size_t size = 0;
    uint8_t *bytes = s_encode (record, &size);
    if (!bytes)
        return -1;
    char key [S_KEY];
    snprintf (key, sizeof key, "k/%s", record->referral_msg_id);
    rh_db_put (self->db, key, strlen (key), bytes, size);
    free (bytes);
    //  The holder index changes only when the holder or the case id does (the newest cached
    //  version says what was written last; a case not cached is written again, harmlessly).
    const rh_case_t *last = s_cached (self, record->referral_msg_id);
    bool indexed =
        last && !strcmp (last->holder, record->holder) && !strcmp (last->case_id, record->case_id);
    if (*record->case_id && *record->holder && !indexed) {
        s_holder_key (record->holder, record->case_id, key, sizeof key);
        rh_db_put (self->db, key, strlen (key), record->referral_msg_id,
                   strlen (record->referral_msg_id));
    }
    self->cache [self->cache_next] = *record;
    self->cache_next = (self->cache_next + 1) % RH_CASE_CACHE;
    return 0;
}

bool
rh_cases_involve (rh_case_t *record, const char *agency)
{
    for (size_t i = 0; i < record->involved_count; i++)
        if (strcmp (record->involved [i], agency) == 0)
            return true;
    if (record->involved_count >= RH_MAX_INVOLVED || !*agency)
        return false;
    rh_text_copy (record->involved [record->involved_count], RH_MAX_ID + 1, agency);
    record->involved_count++;
    return true;
}

//  ---------------------------------------------------------------------------------------------
//  Timers, indexed by due time

static void
s_due_key (int64_t due_ms, const char *referral_msg_id, rh_timer_t timer, char *key, size_t size)
{
    snprintf (key, size, "d/%016" PRIx64 "/%s/%d", (uint64_t) due_ms, referral_msg_id, (int) timer);
}

void
rh_cases_set_timer (rh_cases_t *self, rh_case_t *record, rh_timer_t timer, int64_t due_ms)
{
    char key [S_KEY];
    if (record->timers [timer]) {
        s_due_key (record->timers [timer], record->referral_msg_id, timer, key, sizeof key);
        rh_db_delete (self->db, key, strlen (key));
    }
    record->timers [timer] = due_ms > 0 ? due_ms : 0;
    if (due_ms > 0 && due_ms < self->set_since_look_ms)
        self->set_since_look_ms = due_ms;
    if (due_ms > 0) {
        s_due_key (due_ms, record->referral_msg_id, timer, key, sizeof key);
        rh_db_put (self->db, key, strlen (key), "", 0);
    }
}

void
rh_cases_drop_due (rh_cases_t *self, const rh_due_t *due)
{
    char key [S_KEY];
    s_due_key (due->due_ms, due->referral_msg_id, due->timer, key, sizeof key);
    rh_db_delete (self->db, key, strlen (key));
}

size_t
rh_cases_due (rh_cases_t *self, int64_t now_ms, rh_due_t *due, size_t max)
{
    int64_t set_since = self->set_since_look_ms;
    if (now_ms < self->next_due_ms && now_ms < set_since)
        return 0;
    rh_db_iter_t *iter = rh_db_iter_new (self->db, "d/", 2);
    if (!iter)
        return 0;
    self->set_since_look_ms = INT64_MAX;
    int64_t next = INT64_MAX;  //  the first due time after now seen, if the look got that far
    size_t count = 0;
    for (rh_db_iter_seek (iter, "d/", 2); rh_db_iter_valid (iter) && count < max;
         rh_db_iter_next (iter)) {
        size_t size = 0;
        const uint8_t *key = rh_db_iter_key (iter, &size);
        //  d/<16 hex>/<msg id>/<timer>
        char text [S_KEY];
        if (size < 2 + 16 + 1 + 1 + 2 || size >= sizeof text)
            continue;
        memcpy (text, key, size);
        text [size] = 0;
        char *end = NULL;
        uint64_t when = strtoull (text + 2, &end, 16);
        if (end != text + 18 || *end != '/')
            continue;
        if ((int64_t) when > now_ms) {
            next = (int64_t) when;
            break;  //  ordered by due time: nothing later is due
        }
        char *slash = strrchr (text, '/');
        if (slash == end || !slash [1] || slash [2] || slash [1] < '0'
            || slash [1] >= '0' + RH_TIMER_COUNT)
            continue;
        *slash = 0;
        rh_text_copy (due [count].referral_msg_id, sizeof due [count].referral_msg_id, end + 1);
        due [count].timer = (rh_timer_t) (slash [1] - '0');
        due [count].due_ms = (int64_t) when;
        count++;
    }
    rh_db_iter_destroy (&iter);
    //  What was found stays due until dropped: look again next time.
    self->next_due_ms = count > 0 ? 0 : (next < set_since ? next : set_since);
    return count;
}

//  ---------------------------------------------------------------------------------------------
//  Subjects

static void
s_subject_prefix (const uint8_t key [RH_SUBJECT_KEY_LEN], char *prefix, size_t size)
{
    char hex [RH_SUBJECT_KEY_LEN * 2 + 1];
    sodium_bin2hex (hex, sizeof hex, key, RH_SUBJECT_KEY_LEN);
    snprintf (prefix, size, "s/%s/", hex);
}

void
rh_cases_note_subject (rh_cases_t *self, const uint8_t key [RH_SUBJECT_KEY_LEN],
                       int64_t received_ms, const char *referral_msg_id, uint8_t state)
{
    char prefix [S_KEY / 2], full [S_KEY];
    s_subject_prefix (key, prefix, sizeof prefix);
    snprintf (full, sizeof full, "%s%016" PRIx64 "/%s", prefix, (uint64_t) received_ms,
              referral_msg_id);
    rh_db_put (self->db, full, strlen (full), &state, 1);
}

size_t
rh_cases_subject_history (rh_cases_t *self, const uint8_t key [RH_SUBJECT_KEY_LEN],
                          int64_t since_ms, rh_subject_entry_t *entries, size_t max)
{
    char prefix [S_KEY / 2], start [S_KEY];
    s_subject_prefix (key, prefix, sizeof prefix);
    size_t prefix_size = strlen (prefix);
    snprintf (start, sizeof start, "%s%016" PRIx64, prefix,
              (uint64_t) (since_ms > 0 ? since_ms : 0));
    rh_db_iter_t *iter = rh_db_iter_new (self->db, prefix, prefix_size);
    if (!iter)
        return 0;
    size_t count = 0;
    for (rh_db_iter_seek (iter, start, strlen (start)); rh_db_iter_valid (iter) && count < max;
         rh_db_iter_next (iter)) {
        size_t size = 0, value_size = 0;
        const uint8_t *found = rh_db_iter_key (iter, &size);
        const uint8_t *value = rh_db_iter_value (iter, &value_size);
        if (size < prefix_size + 18 || size - prefix_size - 17 > RH_MAX_ID || value_size != 1)
            continue;
        char when [17];
        memcpy (when, found + prefix_size, 16);
        when [16] = 0;
        entries [count].received_ms = (int64_t) strtoull (when, NULL, 16);
        size_t id_size = size - prefix_size - 17;
        memcpy (entries [count].referral_msg_id, found + prefix_size + 17, id_size);
        entries [count].referral_msg_id [id_size] = 0;
        entries [count].state = value [0];
        count++;
    }
    rh_db_iter_destroy (&iter);
    return count;
}

int
rh_cases_each_subject_referral (rh_db_t *db, const char *subject, rh_subject_referral_fn *fn,
                                void *arg)
{
    assert (db && subject && fn);
    uint8_t key [RH_SUBJECT_KEY_LEN];
    size_t got = 0;
    if (strlen (subject) != RH_SUBJECT_KEY_LEN * 2
        || sodium_hex2bin (key, sizeof key, subject, strlen (subject), NULL, &got, NULL) != 0
        || got != RH_SUBJECT_KEY_LEN)
        return -1;
    char prefix [RH_SUBJECT_KEY_LEN * 2 + 8];
    snprintf (prefix, sizeof prefix, "s/%s/", subject);
    size_t prefix_size = strlen (prefix);
    int referrals = 0;
    rh_db_iter_t *iter = rh_db_iter_new (db, prefix, prefix_size);
    for (; iter && rh_db_iter_valid (iter) && referrals >= 0; rh_db_iter_next (iter)) {
        size_t size = 0;
        const uint8_t *found = rh_db_iter_key (iter, &size);
        //  s/<key>/<16 hex>/<referral msg id>
        if (size <= prefix_size + 17 || size - prefix_size - 17 > RH_MAX_ID)
            continue;
        char referral [RH_MAX_ID + 1], case_key [RH_MAX_ID + 8], case_id [RH_MAX_ID + 1] = "";
        memcpy (referral, found + prefix_size + 17, size - prefix_size - 17);
        referral [size - prefix_size - 17] = 0;
        snprintf (case_key, sizeof case_key, "k/%s", referral);
        uint8_t *value = NULL;
        size_t value_size = 0;
        if (rh_db_get (db, case_key, strlen (case_key), &value, &value_size) == 0) {
            Rhannu__V1__Case *record = rhannu__v1__case__unpack (NULL, value_size, value);
            if (record && record->case_id && strlen (record->case_id) <= RH_MAX_ID)
                snprintf (case_id, sizeof case_id, "%s", record->case_id);
            if (record)
                rhannu__v1__case__free_unpacked (record, NULL);
        }
        free (value);
        referrals = fn (arg, referral, case_id) == 0 ? referrals + 1 : -2;
    }
    if (!iter || rh_db_iter_error (iter))
        referrals = -2;
    rh_db_iter_destroy (&iter);
    return referrals;
}
