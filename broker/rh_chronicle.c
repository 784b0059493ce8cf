/*  =========================================================================
    rh_chronicle - what the log tells about one case or one subject
    =========================================================================
*/
#include "rh_broker_classes.h"
#include "rhannu.pb-c.h"

struct _rh_chronicle_t {
    rh_db_t *db;             //  borrowed
    rh_logreader_t *reader;  //  reads the records gathered
    uint64_t *seqs;          //  the records gathered, each once
    size_t count;            //  entries in seqs
    size_t capacity;         //  entries allocated
};

rh_chronicle_t *
rh_chronicle_new (rh_db_t *db)
{
    assert (db);
    rh_chronicle_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->db = db;
    self->reader = rh_logreader_new (db);
    if (!self->reader)
        rh_chronicle_destroy (&self);
    return self;
}

void
rh_chronicle_destroy (rh_chronicle_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        rh_chronicle_t *self = *self_p;
        rh_logreader_destroy (&self->reader);
        free (self->seqs);
        free (self);
        *self_p = NULL;
    }
}

//  Adds the records of one index prefix (ac/<case>/ or ai/<msg>/) to the set, in order.
static void
s_collect (rh_chronicle_t *self, const char *prefix)
{
    rh_db_iter_t *iter = rh_db_iter_new (self->db, prefix, strlen (prefix));
    for (; iter && rh_db_iter_valid (iter); rh_db_iter_next (iter)) {
        size_t size = 0;
        const uint8_t *key = rh_db_iter_key (iter, &size);
        uint64_t seq = rh_db_key_sequence (key, size, strlen (prefix));
        if (seq == UINT64_MAX)
            continue;
        bool seen = false;
        for (size_t i = 0; i < self->count && !seen; i++)
            seen = self->seqs [i] == seq;
        if (seen)
            continue;
        if (self->count == self->capacity) {
            self->capacity = self->capacity ? self->capacity * 2 : 64;
            uint64_t *grown = realloc (self->seqs, self->capacity * sizeof *grown);
            if (!grown)
                break;
            self->seqs = grown;
        }
        self->seqs [self->count++] = seq;
    }
    rh_db_iter_destroy (&iter);
}

static int
s_compare_seq (const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y ? -1 : x > y;
}

//  Adds every message of a case and each of those messages' events (deliveries, acks).
static void
s_collect_case (rh_chronicle_t *self, const char *case_id)
{
    char prefix [RH_MAX_ID * 2 + 8];
    snprintf (prefix, sizeof prefix, "ac/%s/", case_id);
    size_t before = self->count;
    s_collect (self, prefix);
    size_t messages = self->count;
    for (size_t i = before; i < messages; i++) {
        const rh_audit_record_t *record = rh_logreader_read (self->reader, self->seqs [i]);
        if (record && *record->msg_id) {
            snprintf (prefix, sizeof prefix, "ai/%s/", record->msg_id);
            s_collect (self, prefix);
        }
    }
}

void
rh_chronicle_add_case (rh_chronicle_t *self, const char *case_id)
{
    assert (self && case_id);
    s_collect_case (self, case_id);
}

void
rh_chronicle_print (rh_chronicle_t *self, FILE *out, bool json, bool only_decided,
                    const char *title_key, const char *title)
{
    assert (self && out && title_key && title);
    qsort (self->seqs, self->count, sizeof *self->seqs, s_compare_seq);
    json_t *events = json_array ();
    if (!json)
        fprintf (out, "%s %s: %zu events\n", title_key, title, self->count);
    for (size_t i = 0; i < self->count; i++) {
        char when [32];
        const rh_audit_record_t *record = rh_logreader_read (self->reader, self->seqs [i]);
        if (!record)
            continue;
        if (only_decided && record->decision_count == 0 && strcmp (record->event, "NOTICE") != 0)
            continue;
        //  The message itself, if not erased: its kind and purpose.
        const char *kind = "", *purpose = "", *step = "";
        rh_envelope_t *envelope = rh_logreader_message (self->reader);
        if (envelope) {
            kind = rh_envelope_kind_name (rh_envelope_kind (envelope));
            purpose = rh_envelope_purpose (envelope);
            //  Steps of the lifecycle a kind alone does not name (issue 17).
            const Rhannu__V1__StatusUpdate *update =
                rh_envelope_kind (envelope) == RH_KIND_STATUS_UPDATE
                    ? (const Rhannu__V1__StatusUpdate *) rh_envelope_body (envelope)
                    : NULL;
            if (update && update->update_kind == RHANNU__V1__UPDATE_KIND__WITHDRAWN)
                step = "withdrawn by the referrer";
            else if (update && update->update_kind == RHANNU__V1__UPDATE_KIND__UNDER_SCREENING)
                step = "received, under screening";
            else if (update && update->update_kind == RHANNU__V1__UPDATE_KIND__ON_HOLD)
                step = "on hold, waiting for information";
            //  Professional challenge: the broker's own CHALLENGE_* records name the levels.
            else if (update && update->update_kind == RHANNU__V1__UPDATE_KIND__CHALLENGE_RESPONDED)
                step = "a professional challenge answered";
            else if (rh_envelope_kind (envelope) == RH_KIND_CHALLENGE)
                step = "a professional challenge of a decision";
            //  Strategy meetings: which step the message is (its STRATEGY_* record beside it
            //  names the invitees, the absent and the person's participation).
            const Rhannu__V1__StrategyMeeting *meeting =
                rh_envelope_kind (envelope) == RH_KIND_STRATEGY_MEETING
                    ? (const Rhannu__V1__StrategyMeeting *) rh_envelope_body (envelope)
                    : NULL;
            if (meeting && meeting->cancelled)
                step = "strategy meeting cancelled";
            else if (meeting
                     && (meeting->n_attended || *meeting->minutes || meeting->n_actions
                         || *meeting->summary_for_referrer))
                step = "strategy meeting record";
            else if (meeting)
                step = "strategy meeting invitation";
        }
        else if (rh_logreader_erased (self->reader))
            kind = "(erased)";  //  an ERASURE record took it: the events stay, the message not
        char recipients [256] = "";
        for (size_t r = 0; r < record->recipient_count; r++) {
            size_t used = strlen (recipients);
            snprintf (recipients + used, sizeof recipients - used, "%s%s", r ? "," : "",
                      record->recipients [r]);
        }
        json_t *decisions = json_array ();
        rh_audit_decision_t decision;
        for (size_t d = 0; rh_record_decision (record, d, &decision); d++) {
            json_t *withheld = json_array ();
            for (size_t w = 0; w < decision.withheld_count; w++) {
                uint32_t field = 0;
                const uint8_t *digest = NULL;
                if (rh_record_withheld (record, d, w, &field, &digest)) {
                    const char *name =
                        envelope ? rh_envelope_field_name (rh_envelope_kind (envelope), field)
                                 : NULL;
                    json_array_append_new (withheld,
                                           name ? json_string (name) : json_integer (field));
                }
            }
            json_array_append_new (decisions,
                                   json_pack ("{s:s, s:b, s:s, s:I, s:s, s:s, s:o}", "recipient",
                                              decision.recipient, "allowed", decision.allowed,
                                              "agreement", decision.agreement_id, "version",
                                              (json_int_t) decision.agreement_version, "rule",
                                              decision.rule_id, "missing",
                                              decision.missing_condition, "withheld", withheld));
        }
        rh_time_format (record->at_ms, when, sizeof when);
        if (json)
            json_array_append_new (
                events, json_pack ("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o}",
                                   "record", (json_int_t) record->seq, "at", when, "event",
                                   record->event, "message", record->msg_id, "kind", kind,
                                   "purpose", purpose, "step", step, "from", record->agency, "to",
                                   recipients, "detail", record->detail, "decisions", decisions));
        else {
            fprintf (out, "%s  %-10s %-15s %-22s -> %-22s %s%s%s%s%s\n", when, record->event,
                     *kind ? kind : "-", record->agency, *recipients ? recipients : "-",
                     *purpose ? "purpose " : "", purpose,
                     *record->detail && !*kind ? record->detail : "", *step ? "; " : "", step);
            size_t d;
            json_t *entry;
            json_array_foreach (decisions, d, entry)
            {
                json_t *withheld = json_object_get (entry, "withheld");
                char *list =
                    json_array_size (withheld) ? json_dumps (withheld, JSON_COMPACT) : NULL;
                fprintf (out, "      %s %s under %s v%" JSON_INTEGER_FORMAT " rule %s%s%s%s%s\n",
                         json_is_true (json_object_get (entry, "allowed")) ? "to" : "REFUSED for",
                         json_string_value (json_object_get (entry, "recipient")),
                         json_string_value (json_object_get (entry, "agreement")),
                         json_integer_value (json_object_get (entry, "version")),
                         json_string_value (json_object_get (entry, "rule")),
                         list ? ", withheld " : "", list ? list : "",
                         *json_string_value (json_object_get (entry, "missing")) ? ", missing "
                                                                                 : "",
                         json_string_value (json_object_get (entry, "missing")));
                free (list);
            }
            //  A crossing between regions (issue 16): where it went, or where it came from.
            const char *crossing = strcmp (record->event, "ACCEPTED") == 0 && *kind
                                       ? strstr (record->detail, " region ")
                                       : NULL;
            if (crossing)
                fprintf (out, "      %s\n", strchr (record->detail, ' ') + 1);
            json_decref (decisions);
        }
    }
    if (json) {
        json_t *result = json_pack ("{s:s, s:o}", title_key, title, "events", events);
        json_dumpf (result, out, JSON_INDENT (2) | JSON_PRESERVE_ORDER);
        fprintf (out, "\n");
        json_decref (result);
    }
    else
        json_decref (events);
}

const char *
rh_chronicle_error (rh_chronicle_t *self)
{
    assert (self);
    return rh_logreader_error (self->reader);
}

size_t
rh_chronicle_size (rh_chronicle_t *self)
{
    assert (self);
    return self->count;
}

//  One referral under the subject: its own records, and its case's, which bring what followed.
static int
s_collect_referral (void *arg, const char *referral_msg_id, const char *case_id)
{
    rh_chronicle_t *self = arg;
    char message_prefix [RH_MAX_ID + 8];
    snprintf (message_prefix, sizeof message_prefix, "ai/%s/", referral_msg_id);
    s_collect (self, message_prefix);
    if (*case_id)
        s_collect_case (self, case_id);
    return 0;
}

//  The broker's repeat-referral index is the only place a subject is named (by its
//  pseudonymous key): from it come the referrals, and from each referral its case.
int
rh_chronicle_add_subject (rh_chronicle_t *self, const char *subject)
{
    assert (self && subject);
    return rh_cases_each_subject_referral (self->db, subject, s_collect_referral, self);
}
