/*  =========================================================================
    rh_lateral - lateral checks: information requests to partners, their
    reply-by times, reminders, overdue alerts and the responses that close
    them, and the rule that a response is not shared onward
    =========================================================================
*/
#include "rh_broker_classes.h"
#include "rhannu.pb-c.h"

//  States (LateralState), by short names.
#define L_NONE      0
#define L_REQUESTED RHANNU__V1__LATERAL_STATE__LATERAL_REQUESTED
#define L_REMINDED  RHANNU__V1__LATERAL_STATE__LATERAL_REMINDED
#define L_ANSWERED  RHANNU__V1__LATERAL_STATE__LATERAL_ANSWERED
#define L_OVERDUE   RHANNU__V1__LATERAL_STATE__LATERAL_OVERDUE
#define L_LATE      RHANNU__V1__LATERAL_STATE__LATERAL_ANSWERED_LATE

//  One partner's check, declared once: the state each event leads to (0: the event does not
//  apply, nothing happens). A reminder comes once, before the reply-by time; the reply-by time
//  passing makes an unanswered check overdue (whether reminded or not); the partner's response
//  answers it once, in time or late. An answered check takes nothing more: a second response
//  is refused (rh_lateral_refused).
// clang-format off
static const struct {
    uint32_t state;
    uint32_t next [RH_LATERAL_EVENTS];
} s_lifecycle [] = {
    //                REMIND      DUE        ANSWER
    { L_REQUESTED, { L_REMINDED, L_OVERDUE, L_ANSWERED } },
    { L_REMINDED,  { 0,          L_OVERDUE, L_ANSWERED } },
    { L_OVERDUE,   { 0,          0,         L_LATE     } },
    { L_ANSWERED,  { 0,          0,         0          } },
    { L_LATE,      { 0,          0,         0          } },
};
// clang-format on

uint32_t
rh_lateral_next (uint32_t state, rh_lateral_event_t event)
{
    if ((unsigned) event >= RH_LATERAL_EVENTS)
        return 0;
    for (size_t i = 0; i < sizeof s_lifecycle / sizeof s_lifecycle [0]; i++)
        if (s_lifecycle [i].state == state)
            return s_lifecycle [i].next [event];
    return 0;  //  a state the table does not know (a newer broker's, or damaged): nothing applies
}

#define S_KEY 256  //  longest key: ld/<16 hex>/<msg id>/<agency>/<timer>

struct _rh_lateral_t {
    rh_db_t *db;                   //  borrowed
    rh_queue_t *queue;             //  borrowed: where the alerts go
    rh_audit_t *audit;             //  borrowed: what was decided
    rh_signer_t *signer;           //  borrowed: the broker's identity
    rh_certstore_t *const *store;  //  borrowed slot: who is enrolled (swapped on reload)
    //  Reads see only committed data; a response may follow its request within one batch.
    rh_lateral_check_t cache [RH_LATERAL_CACHE];
    size_t cache_next;
    int64_t next_due_ms;  //  nothing is due before this (0: not known yet)
};

rh_lateral_t *
rh_lateral_new (rh_db_t *db, rh_queue_t *queue, rh_audit_t *audit, rh_signer_t *signer,
                rh_certstore_t *const *store)
{
    assert (db && queue && audit && signer && store);
    rh_lateral_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->db = db;
    self->queue = queue;
    self->audit = audit;
    self->signer = signer;
    self->store = store;
    return self;
}

void
rh_lateral_destroy (rh_lateral_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}

//  ---------------------------------------------------------------------------------------------
//  Storage

static void
s_check_key (char key [S_KEY], const char *request_msg_id, const char *recipient)
{
    snprintf (key, S_KEY, "lq/%s/%s", request_msg_id, recipient);
}

static void
s_due_key (char key [S_KEY], int64_t due_ms, const rh_lateral_check_t *check,
           rh_lateral_event_t event)
{
    snprintf (key, S_KEY, "ld/%016" PRIx64 "/%s/%s/%d", (uint64_t) due_ms, check->request_msg_id,
              check->recipient, (int) event);
}

static void
s_put (rh_lateral_t *self, const rh_lateral_check_t *check)
{
    Rhannu__V1__LateralCheck out = RHANNU__V1__LATERAL_CHECK__INIT;
    out.request_msg_id = (char *) check->request_msg_id;
    out.requester = (char *) check->requester;
    out.recipient = (char *) check->recipient;
    out.case_id = (char *) check->case_id;
    out.author = (char *) check->author;
    out.state = (Rhannu__V1__LateralState) check->state;
    out.requested_ms = check->requested_ms;
    out.reply_by_ms = check->reply_by_ms;
    out.remind_ms = check->remind_ms;
    out.response_msg_id = (char *) check->response_msg_id;
    out.answered_ms = check->answered_ms;
    out.known_to_service = check->known_to_service;
    size_t size = rhannu__v1__lateral_check__get_packed_size (&out);
    uint8_t *data = malloc (size ? size : 1);
    if (!data) {
        rh_log_error ("broker", "no memory for a lateral check");
        return;
    }
    rhannu__v1__lateral_check__pack (&out, data);
    char key [S_KEY];
    s_check_key (key, check->request_msg_id, check->recipient);
    rh_db_put (self->db, key, strlen (key), data, size);
    free (data);
    self->cache [self->cache_next] = *check;
    self->cache_next = (self->cache_next + 1) % RH_LATERAL_CACHE;
}

bool
rh_lateral_get (rh_lateral_t *self, const char *request_msg_id, const char *recipient,
                rh_lateral_check_t *check)
{
    assert (self && request_msg_id && recipient && check);
    if (!*request_msg_id || !*recipient)
        return false;
    for (size_t k = 0; k < RH_LATERAL_CACHE; k++) {
        const rh_lateral_check_t *cached =
            &self->cache [(self->cache_next + RH_LATERAL_CACHE - 1 - k) % RH_LATERAL_CACHE];
        if (!strcmp (cached->request_msg_id, request_msg_id)
            && !strcmp (cached->recipient, recipient)) {
            *check = *cached;
            return true;
        }
    }
    char key [S_KEY];
    s_check_key (key, request_msg_id, recipient);
    uint8_t *data = NULL;
    size_t size = 0;
    if (rh_db_get (self->db, key, strlen (key), &data, &size) != 0)
        return false;
    Rhannu__V1__LateralCheck *in = rhannu__v1__lateral_check__unpack (NULL, size, data);
    free (data);
    if (!in) {
        rh_log_error ("broker", "a lateral check record does not decode: %s", key);
        return false;
    }
    memset (check, 0, sizeof *check);
    rh_text_copy (check->request_msg_id, sizeof check->request_msg_id, in->request_msg_id);
    rh_text_copy (check->requester, sizeof check->requester, in->requester);
    rh_text_copy (check->recipient, sizeof check->recipient, in->recipient);
    rh_text_copy (check->case_id, sizeof check->case_id, in->case_id);
    rh_text_copy (check->author, sizeof check->author, in->author);
    check->state = (uint32_t) in->state;
    check->requested_ms = in->requested_ms;
    check->reply_by_ms = in->reply_by_ms;
    check->remind_ms = in->remind_ms;
    rh_text_copy (check->response_msg_id, sizeof check->response_msg_id, in->response_msg_id);
    check->answered_ms = in->answered_ms;
    check->known_to_service = in->known_to_service;
    rhannu__v1__lateral_check__free_unpacked (in, NULL);
    return true;
}

static void
s_set_due (rh_lateral_t *self, const rh_lateral_check_t *check, int64_t due_ms,
           rh_lateral_event_t event)
{
    char key [S_KEY];
    s_due_key (key, due_ms, check, event);
    rh_db_put (self->db, key, strlen (key), "", 0);
    if (self->next_due_ms && due_ms < self->next_due_ms)
        self->next_due_ms = due_ms;
}

static void
s_drop_due (rh_lateral_t *self, int64_t due_ms, const rh_lateral_check_t *check,
            rh_lateral_event_t event)
{
    char key [S_KEY];
    s_due_key (key, due_ms, check, event);
    rh_db_delete (self->db, key, strlen (key));
}

//  A time for the audit record's sentence (UTC, to the minute), as the alerts name it.
static void
s_when (int64_t ms, char text [32])
{
    time_t seconds = (time_t) (ms / 1000);
    struct tm tm;
    if (!gmtime_r (&seconds, &tm) || !strftime (text, 32, "%Y-%m-%d %H:%M UTC", &tm))
        snprintf (text, 32, "%" PRId64, ms);
}

//  ---------------------------------------------------------------------------------------------
//  Requests

void
rh_lateral_open (rh_lateral_t *self, rh_envelope_t *envelope, const char *requester,
                 const char *const *recipients, size_t count, int64_t now)
{
    assert (self && envelope && requester && (recipients || !count));
    if (rh_envelope_kind (envelope) != RH_KIND_INFO_REQUEST)
        return;
    const Rhannu__V1__InfoRequest *request =
        (const Rhannu__V1__InfoRequest *) rh_envelope_body (envelope);
    //  The reply-by time the requester signed, held within reach; without one the check is
    //  tracked (and answered) but never reminded or overdue.
    int64_t reply_by = request ? request->reply_by_ms : 0;
    int64_t latest = now + (int64_t) RH_MAX_LATERAL_REPLY_DAYS * 24 * 3600 * 1000;
    if (reply_by > latest)
        reply_by = latest;
    if (reply_by < 0)
        reply_by = 0;
    size_t tracked = 0;
    const char *partners [RH_MAX_LATERAL_PARTNERS];
    for (size_t i = 0; i < count && tracked < RH_MAX_LATERAL_PARTNERS; i++) {
        rh_lateral_check_t check;
        memset (&check, 0, sizeof check);
        rh_text_copy (check.request_msg_id, sizeof check.request_msg_id,
                      rh_envelope_msg_id (envelope));
        rh_text_copy (check.requester, sizeof check.requester, requester);
        rh_text_copy (check.recipient, sizeof check.recipient, recipients [i]);
        rh_text_copy (check.case_id, sizeof check.case_id, rh_envelope_case_id (envelope));
        rh_text_copy (check.author, sizeof check.author, rh_envelope_author (envelope));
        check.state = L_REQUESTED;
        check.requested_ms = now;
        check.reply_by_ms = reply_by;
        if (reply_by > now) {
            check.remind_ms = now + (reply_by - now) * RH_LATERAL_REMIND_PERCENT / 100;
            if (check.remind_ms > now && check.remind_ms < reply_by)
                s_set_due (self, &check, check.remind_ms, RH_LATERAL_REMIND);
            else
                check.remind_ms = 0;
        }
        if (reply_by)
            s_set_due (self, &check, reply_by, RH_LATERAL_DUE);
        s_put (self, &check);
        partners [tracked++] = recipients [i];
    }
    if (!tracked)
        return;
    char detail [RH_MAX_REASON], when [32];
    s_when (reply_by, when);
    if (reply_by)
        snprintf (detail, sizeof detail,
                  "lateral check of %zu partners; reply by %s (reminder at %d%%)", tracked, when,
                  RH_LATERAL_REMIND_PERCENT);
    else
        snprintf (detail, sizeof detail, "lateral check of %zu partners; no reply-by time",
                  tracked);
    rh_audit_decided (self->audit, "LATERAL_REQUESTED", RH_OK, rh_envelope_msg_id (envelope),
                      requester, partners, tracked, NULL, 0, NULL, detail, NULL, 0,
                      rh_envelope_case_id (envelope));
    rh_log_info ("broker", "lateral check %s: %zu partners tracked", rh_envelope_msg_id (envelope),
                 tracked);
}

//  ---------------------------------------------------------------------------------------------
//  Responses and the onward rule

rh_lateral_match_t
rh_lateral_match (rh_lateral_t *self, rh_envelope_t *envelope, const char *sender,
                  rh_lateral_check_t *check)
{
    assert (self && envelope && sender && check);
    if (rh_envelope_kind (envelope) == RH_KIND_INFO_RESPONSE) {
        const char *answers = rh_envelope_in_reply_to (envelope);
        const Rhannu__V1__InfoResponse *response =
            (const Rhannu__V1__InfoResponse *) rh_envelope_body (envelope);
        if (!*answers && response && response->original_msg_id)
            answers = response->original_msg_id;
        if (rh_lateral_get (self, answers, sender, check))
            return RH_LATERAL_RESPONSE;
    }
    //  A message naming a response, as the one it answers or the thread it continues, carries
    //  it on: the response's own sharing rule applies.
    const char *names [2] = { rh_envelope_in_reply_to (envelope),
                              rh_envelope_thread_id (envelope) };
    for (size_t i = 0; i < 2; i++) {
        if (!*names [i])
            continue;
        char key [S_KEY], value [2 * RH_MAX_ID + 2];
        snprintf (key, sizeof key, "lr/%s", names [i]);
        if (!rh_db_get_text (self->db, key, value, sizeof value - 1))
            continue;
        char *slash = strchr (value, '/');
        if (!slash)
            continue;
        *slash = 0;
        if (rh_lateral_get (self, value, slash + 1, check))
            return RH_LATERAL_RELAY;
    }
    return RH_LATERAL_NONE;
}

bool
rh_lateral_refused (rh_lateral_t *self, rh_lateral_match_t match, const rh_lateral_check_t *check,
                    const char *const *recipients, const rh_decision_t *decisions, size_t count,
                    rh_decision_t *refusal, const char **refused_recipient)
{
    assert (check && refusal && refused_recipient);
    if (!self || match == RH_LATERAL_NONE)
        return false;
    memset (refusal, 0, sizeof *refusal);
    refusal->result = RH_DECIDE_CONDITION;
    refusal->rule_id = "";
    const char *name = *check->case_id ? check->case_id : check->request_msg_id;
    if (match == RH_LATERAL_RESPONSE && !rh_lateral_next (check->state, RH_LATERAL_ANSWER)) {
        *refused_recipient = check->requester;
        snprintf (refusal->missing, sizeof refusal->missing, "lateral_open");
        char reason [RH_MAX_REASON * 2];
        snprintf (reason, sizeof reason,
                  "the information request %s (case %s) was answered already by %s",
                  check->request_msg_id, name, check->recipient);
        rh_text_copy (refusal->reason, sizeof refusal->reason, reason);
        return true;
    }
    //  Who may have it without an onward rule: the requester (a response), and the partner
    //  that answered (a relay back to it tells it nothing new).
    for (size_t i = 0; i < count; i++) {
        if (decisions [i].result != RH_DECIDE_ALLOW || decisions [i].onward)
            continue;
        if (!strcmp (recipients [i], check->requester)
            || (match == RH_LATERAL_RELAY && !strcmp (recipients [i], check->recipient)))
            continue;
        *refused_recipient = recipients [i];
        refusal->agreement = decisions [i].agreement;
        refusal->rule_id = decisions [i].rule_id;
        snprintf (refusal->missing, sizeof refusal->missing, "onward");
        char reason [RH_MAX_REASON * 2];  //  room for five ids; the refusal keeps what fits
        snprintf (reason, sizeof reason,
                  "%s's response to the information request on case %s is for %s only; rule %s "
                  "does not allow sharing it onward to %s",
                  check->recipient, name, check->requester, decisions [i].rule_id, recipients [i]);
        rh_text_copy (refusal->reason, sizeof refusal->reason, reason);
        return true;
    }
    return false;
}

void
rh_lateral_answer (rh_lateral_t *self, rh_lateral_check_t *check, rh_envelope_t *envelope,
                   int64_t now)
{
    assert (self && check && envelope);
    uint32_t next = rh_lateral_next (check->state, RH_LATERAL_ANSWER);
    if (!next)
        return;  //  rh_lateral_refused refused it
    //  Its deadlines end: drop what is still indexed.
    if (check->remind_ms)
        s_drop_due (self, check->remind_ms, check, RH_LATERAL_REMIND);
    if (check->reply_by_ms && check->state != L_OVERDUE)
        s_drop_due (self, check->reply_by_ms, check, RH_LATERAL_DUE);
    const Rhannu__V1__InfoResponse *response =
        (const Rhannu__V1__InfoResponse *) rh_envelope_body (envelope);
    check->state = next;
    check->remind_ms = 0;
    check->answered_ms = now;
    check->known_to_service = response && response->known_to_service;
    rh_text_copy (check->response_msg_id, sizeof check->response_msg_id,
                  rh_envelope_msg_id (envelope));
    s_put (self, check);
    char key [S_KEY], value [2 * RH_MAX_ID + 2];
    snprintf (key, sizeof key, "lr/%s", check->response_msg_id);
    snprintf (value, sizeof value, "%s/%s", check->request_msg_id, check->recipient);
    rh_db_put (self->db, key, strlen (key), value, strlen (value));
    char detail [RH_MAX_REASON];
    snprintf (detail, sizeof detail, "answers information request %s: %s; %s",
              check->request_msg_id, next == L_LATE ? "late" : "in time",
              check->known_to_service ? "known to service" : "not known to service");
    const char *requester [1] = { check->requester };
    rh_audit_decided (self->audit, "LATERAL_ANSWERED", RH_OK, check->response_msg_id,
                      check->recipient, requester, 1, NULL, 0, NULL, detail, NULL, 0,
                      check->case_id);
    rh_log_info ("broker", "lateral check %s answered by %s%s", check->request_msg_id,
                 check->recipient, next == L_LATE ? " (late)" : "");
}

//  ---------------------------------------------------------------------------------------------
//  Deadlines

//  Alerts one agency about a check (AlertKind kind), naming the request to answer.
static void
s_alert (rh_lateral_t *self, const rh_lateral_check_t *check, uint32_t kind, const char *to,
         int64_t now)
{
    if (!rh_certstore_enrolled (*self->store, to, now))
        return;
    //  An alert is about a case: the request stands in for the referral, the partner for the
    //  holder, the requester for the referrer.
    rh_case_t *record = calloc (1, sizeof *record);
    if (!record)
        return;
    rh_text_copy (record->referral_msg_id, sizeof record->referral_msg_id, check->request_msg_id);
    rh_text_copy (record->case_id, sizeof record->case_id, check->case_id);
    rh_text_copy (record->holder, sizeof record->holder, check->recipient);
    rh_text_copy (record->referrer, sizeof record->referrer, check->requester);
    rh_text_copy (record->referrer_author, sizeof record->referrer_author,
                  !strcmp (to, check->requester) ? check->author : "");
    const char *ids [1] = { check->request_msg_id }, *case_ids [1] = { check->case_id };
    rh_alert_t alert = { .alert_kind = kind,
                         .record = record,
                         .due_ms = check->reply_by_ms,
                         .related_msg_ids = ids,
                         .related_case_ids = case_ids,
                         .related_count = 1 };
    rh_notice_from_t from = { self->signer, rh_queue_next_sequence (self->queue), to, now };
    char msg_id [RH_MAX_ID + 1] = "";
    size_t size = 0;
    uint8_t *sealed = rh_notice_alert (&from, &alert, &size, msg_id);
    rh_queue_send_own (self->queue, to, &sealed, size, msg_id, RH_KIND_ALERT, "lateral check alert",
                       NULL, check->case_id, now);
    free (record);
}

//  One due entry (ld/ key text, NUL-terminated): the event it names, if its check still takes it.
static void
s_fire (rh_lateral_t *self, char *text, int64_t due_ms, int64_t now)
{
    //  ld/<16 hex>/<request>/<partner>/<event>
    char *request = text + 3 + 16 + 1;
    char *event_at = strrchr (request, '/');
    if (!event_at)
        return;
    *event_at = 0;
    char *partner = strrchr (request, '/');
    if (!partner || event_at [1] < '0' || event_at [1] >= '0' + RH_LATERAL_EVENTS)
        return;
    *partner++ = 0;
    rh_lateral_event_t event = (rh_lateral_event_t) (event_at [1] - '0');
    rh_lateral_check_t check;
    if (!rh_lateral_get (self, request, partner, &check))
        return;
    uint32_t next = rh_lateral_next (check.state, event);
    bool current =
        event == RH_LATERAL_REMIND ? check.remind_ms == due_ms : check.reply_by_ms == due_ms;
    if (!next || !current)
        return;  //  stale: the check moved on
    if (event == RH_LATERAL_REMIND && check.reply_by_ms && check.reply_by_ms <= now) {
        //  A broker that was down fires both at once: the overdue alert says it all.
        check.remind_ms = 0;
        s_put (self, &check);
        return;
    }
    check.state = next;
    if (event == RH_LATERAL_REMIND) {
        check.remind_ms = 0;
        s_put (self, &check);
        s_alert (self, &check, RHANNU__V1__ALERT_KIND__INFO_REQUEST_REMINDER, check.recipient, now);
        rh_log_info ("broker", "lateral check %s: %s reminded", check.request_msg_id,
                     check.recipient);
        return;
    }
    check.remind_ms = 0;  //  a reminder not sent by now has nothing left to remind of
    s_put (self, &check);
    s_alert (self, &check, RHANNU__V1__ALERT_KIND__INFO_REQUEST_OVERDUE, check.requester, now);
    s_alert (self, &check, RHANNU__V1__ALERT_KIND__INFO_REQUEST_OVERDUE, check.recipient, now);
    char detail [RH_MAX_REASON], when [32];
    s_when (check.reply_by_ms, when);
    snprintf (detail, sizeof detail,
              "reply by %s passed without a response from %s; requester and partner alerted", when,
              check.recipient);
    const char *told [2] = { check.requester, check.recipient };
    rh_audit_decided (self->audit, "LATERAL_OVERDUE", RH_OK, check.request_msg_id, check.recipient,
                      told, 2, NULL, 0, NULL, detail, NULL, 0, check.case_id);
    rh_log_info ("broker", "lateral check %s: %s overdue", check.request_msg_id, check.recipient);
}

void
rh_lateral_fire (rh_lateral_t *self, int64_t now)
{
    assert (self);
    size_t fired = 0;
    while (fired < RH_MAX_DUE_PER_TICK && (!self->next_due_ms || now >= self->next_due_ms)) {
        //  The index is read from committed data: a deadline set in the pending batch (a
        //  request accepted this turn) is committed first, or this look would miss it.
        if (rh_db_pending (self->db) > 0 && rh_db_commit (self->db, true) != 0) {
            rh_log_error ("broker", "cannot commit before firing lateral check deadlines");
            return;
        }
        rh_db_iter_t *iter = rh_db_iter_new (self->db, "ld/", 3);
        if (!iter)
            return;
        char keys [64][S_KEY];
        int64_t dues [64];
        size_t found = 0;
        int64_t next = INT64_MAX;
        for (rh_db_iter_seek (iter, "ld/", 3); rh_db_iter_valid (iter) && found < 64;
             rh_db_iter_next (iter)) {
            size_t size = 0;
            const uint8_t *key = rh_db_iter_key (iter, &size);
            if (size < 3 + 16 + 2 || size >= S_KEY)
                continue;
            memcpy (keys [found], key, size);
            keys [found][size] = 0;
            char *end = NULL;
            uint64_t when = strtoull (keys [found] + 3, &end, 16);
            if (end != keys [found] + 19 || *end != '/')
                continue;
            if ((int64_t) when > now) {
                next = (int64_t) when;
                break;  //  ordered by due time: nothing later is due
            }
            dues [found++] = (int64_t) when;
        }
        rh_db_iter_destroy (&iter);
        //  Nothing due before the next entry seen; none seen: nothing until a new one is set.
        self->next_due_ms = found == 64 ? 0 : next;
        for (size_t i = 0; i < found; i++) {
            rh_db_delete (self->db, keys [i], strlen (keys [i]));
            char text [S_KEY];
            snprintf (text, sizeof text, "%s", keys [i]);
            s_fire (self, text, dues [i], now);
        }
        fired += found;
        //  The due-time index is read from committed data: commit before reading on.
        if (found && rh_db_commit (self->db, true) != 0) {
            rh_log_error ("broker", "cannot commit fired lateral check deadlines");
            self->next_due_ms = 0;
            return;
        }
        if (found < 64)
            return;
    }
}

size_t
rh_lateral_count (rh_lateral_t *self, size_t *open)
{
    assert (self);
    size_t count = 0, waiting = 0;
    rh_db_iter_t *iter = rh_db_iter_new (self->db, "lq/", 3);
    if (!iter)
        return 0;
    for (rh_db_iter_seek (iter, "lq/", 3); rh_db_iter_valid (iter); rh_db_iter_next (iter)) {
        size_t size = 0;
        const uint8_t *value = rh_db_iter_value (iter, &size);
        Rhannu__V1__LateralCheck *in = rhannu__v1__lateral_check__unpack (NULL, size, value);
        if (!in)
            continue;
        count++;
        waiting += in->state != L_ANSWERED && in->state != L_LATE;
        rhannu__v1__lateral_check__free_unpacked (in, NULL);
    }
    rh_db_iter_destroy (&iter);
    if (open)
        *open = waiting;
    return count;
}
