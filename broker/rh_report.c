/*  =========================================================================
    rh_report - the figures boards ask for, from the audit log
    =========================================================================
*/
#include "rh_broker_classes.h"
#include "rhannu.pb-c.h"

struct _rh_report_t {
    json_t *figures;  //  everything, as printed and rendered
};

//  Time to outcome, in days: the rows of the distribution (upper bounds, exclusive).
static const struct {
    const char *key;
    double below;
} s_buckets [] = { { "0-1", 1 },   { "1-2", 2 },    { "2-5", 5 },   { "5-7", 7 },
                   { "7-10", 10 }, { "10-20", 20 }, { "20+", 1e18 } };
#define S_BUCKETS (sizeof s_buckets / sizeof s_buckets [0])

//  What one pass over the log gathers (s_gather), before it becomes figures.
typedef struct {
    int64_t from_ms, to_ms;  //  the period: [from, to)
    int64_t first_ms;        //  the log's first record time
    int64_t last_ms;         //  the log's last record time: "now" for open deadlines
    json_t *by_month, *by_la, *by_referrer, *by_kind, *by_category;  //  name -> count
    json_t *decisions;                                               //  decision -> count
    json_t *outcomes_by_referrer, *outcomes_by_kind;                 //  name -> {decided, nfa}
    json_t *time_to_outcome;       //  bucket -> {within, late, no_deadline}
    json_t *refusals_by_rule;      //  "agreement/rule" -> {agreement, rule, count}
    json_t *refusals_by_reason;    //  result code -> count (refused before any rule)
    json_t *due;                   //  referral msg id -> outcome due ms (the broker's receipts)
    json_t *referral_facts;        //  referral msg id -> [kind name, subject key hex]
    json_t *people;                //  subject -> {alert_ms, escalated}: repeat-referral alerts
    json_t *breached;              //  "kind|referral" -> true: breaches counted once per case
    json_t *overrides;             //  referral msg id -> {case, rule, review}: consent overrides
    size_t override_reviews_late;  //  review periods that ran out before the review
    //  Issue 17, lateral checks: requests, partners asked, answers in time and late, reply-by
    //  times passed, partners that knew the person, responses refused onward.
    size_t lateral_requests, lateral_partners, lateral_in_time, lateral_late, lateral_overdue,
        lateral_known, lateral_onward_refused;
    json_t *challenges;            //  challenge msg id -> {case, level, state, outcome}: issue 17
    size_t challenge_escalations;  //  of those challenges, moves to a further level
    //  Strategy meetings: each invitation's invitees (msg id -> [agency]); by agency, how often
    //  invited to a meeting held and how often absent; and counts.
    json_t *meetings, *meeting_agencies;
    size_t meetings_invited, meetings_held, meetings_cancelled, meetings_delivered;
    size_t meeting_records_late, meeting_invitees, meeting_absent, meeting_participated;
    size_t referrals, decided, told, closed;
    size_t withdrawn,
        withdrawn_decided;  //  withdrawals by the referrer; of those, after the decision
    size_t with_deadline, within_deadline;
    size_t open, open_past_deadline;
    size_t overdue, overdue_outage, ack_overdue, escalated_after_deadline;
    size_t refusals, erased, unverified, awaiting_verification;
} s_gather_t;

//  Adds one to counts[name] (a JSON object of integers).
static void
s_count (json_t *counts, const char *name)
{
    if (!name || !*name)
        name = "(none)";
    json_int_t seen = json_integer_value (json_object_get (counts, name));
    json_object_set_new (counts, name, json_integer (seen + 1));
}

//  Adds one to counts[name][member], making the entry if it is new.
static void
s_count_in (json_t *counts, const char *name, const char *member)
{
    json_t *entry = json_object_get (counts, name);
    if (!entry) {
        entry = json_object ();
        json_object_set_new (counts, name, entry);
    }
    s_count (entry, member);
}

static const char *
s_enum_name (const ProtobufCEnumDescriptor *descriptor, int value)
{
    const ProtobufCEnumValue *name = protobuf_c_enum_descriptor_get_value (descriptor, value);
    return name ? name->name : "?";
}

//  A decision that takes a case above no further action or signposting: what "escalated" means
//  for a person referred again and again.
static bool
s_escalates (uint32_t decision)
{
    return decision == RHANNU__V1__DECISION__CARE_AND_SUPPORT_ASSESSMENT
           || decision == RHANNU__V1__DECISION__STRATEGY_DISCUSSION
           || decision == RHANNU__V1__DECISION__SECTION_47
           || decision == RHANNU__V1__DECISION__ADULT_ENQUIRY
           || decision == RHANNU__V1__DECISION__DA_HUB_POD
           || decision == RHANNU__V1__DECISION__MARAC_REFERRAL;
}

static void
s_month (int64_t ms, char month [8])
{
    time_t seconds = (time_t) (ms / 1000);
    struct tm tm;
    strftime (month, 8, "%Y-%m", gmtime_r (&seconds, &tm));
}

//  A refusal, by the rule that decided, or by its result code when no rule did (a signature,
//  a certificate, a malformed message: refused before policy).
static void
s_refused (s_gather_t *g, const rh_audit_record_t *record)
{
    g->refusals++;
    rh_audit_decision_t decision;
    if (!rh_record_decision (record, 0, &decision)) {
        s_count (g->refusals_by_reason, record->code);
        return;
    }
    const char *agreement = decision.agreement_id ? decision.agreement_id : "";
    const char *rule = decision.rule_id ? decision.rule_id : "";
    char key [2 * RH_MAX_ID + 2];
    snprintf (key, sizeof key, "%s/%s", agreement, rule);
    json_t *entry = json_object_get (g->refusals_by_rule, key);
    if (!entry) {
        entry = json_pack ("{s:s, s:s, s:I}", "agreement", agreement, "rule", rule, "count",
                           (json_int_t) 0);
        json_object_set_new (g->refusals_by_rule, key, entry);
    }
    json_object_set_new (entry, "count",
                         json_integer (json_integer_value (json_object_get (entry, "count")) + 1));
}

//  A broker's alert: breaches counted once per referral received in the period, repeat
//  referrals once per person alerted about in the period.
static void
s_alert (s_gather_t *g, rh_casebook_t *cases, const rh_audit_record_t *record,
         const Rhannu__V1__Alert *alert, bool in_period)
{
    if (alert->alert_kind == RHANNU__V1__ALERT_KIND__REPEAT_REFERRALS) {
        if (!in_period)
            return;
        char subject [RH_SUBJECT_KEY_LEN * 2 + 1] = "";
        if (alert->subject_key.len == RH_SUBJECT_KEY_LEN)
            sodium_bin2hex (subject, sizeof subject, alert->subject_key.data, RH_SUBJECT_KEY_LEN);
        else if (alert->n_related_msg_ids)
            snprintf (subject, sizeof subject, "%s", alert->related_msg_ids [0]);
        if (*subject && !json_object_get (g->people, subject))
            json_object_set_new (g->people, subject,
                                 json_pack ("{s:I, s:b}", "alert_ms", (json_int_t) record->at_ms,
                                            "escalated", false));
        return;
    }
    bool overdue = alert->alert_kind == RHANNU__V1__ALERT_KIND__OUTCOME_OVERDUE,
         ack = alert->alert_kind == RHANNU__V1__ALERT_KIND__ACKNOWLEDGEMENT_OVERDUE,
         escalation = alert->alert_kind == RHANNU__V1__ALERT_KIND__ESCALATION;
    if (!overdue && !ack && !escalation)
        return;
    rh_casebook_case_t *c = NULL;
    for (size_t i = 0; !c && i < alert->n_related_msg_ids; i++)
        c = rh_casebook_find (cases, alert->related_msg_ids [i], NULL, "");
    if (!c && record->case_id && *alert->holder)
        c = rh_casebook_find (cases, "", alert->holder, record->case_id);
    if (!c)
        return;  //  about a referral outside the period
    char key [RH_MAX_ID + 8];
    snprintf (key, sizeof key, "%d|%s", (int) alert->alert_kind, c->referral);
    if (json_object_get (g->breached, key))
        return;
    json_object_set_new (g->breached, key, json_true ());
    g->overdue += overdue;
    g->overdue_outage += overdue && alert->outage_attributed;
    g->ack_overdue += ack;
    g->escalated_after_deadline += escalation;
}

//  A referral received in the period: its counts, and the case its outcome will find.
static void
s_referral (s_gather_t *g, rh_casebook_t *cases, const rh_audit_record_t *record,
            rh_envelope_t *envelope, const rh_facts_t *facts)
{
    const Rhannu__V1__Referral *referral =
        (const Rhannu__V1__Referral *) rh_envelope_body (envelope);
    char month [8];
    s_month (record->at_ms, month);
    g->referrals++;
    s_count (g->by_month, month);
    s_count (g->by_referrer, record->agency);
    const char *kind = s_enum_name (&rhannu__v1__referral_kind__descriptor,
                                    referral ? (int) referral->referral_kind : 0);
    s_count (g->by_kind, kind);
    for (size_t c = 0; referral && c < referral->n_categories; c++)
        s_count (g->by_category,
                 s_enum_name (&rhannu__v1__category__descriptor, (int) referral->categories [c]));
    for (size_t l = 0; l < facts->home_la_count; l++)
        s_count (g->by_la, facts->home_las [l]);
    if (!facts->home_la_count)
        s_count (g->by_la, "(not given)");
    char subject [RH_SUBJECT_KEY_LEN * 2 + 1] = "";
    if (facts->subject_key_count)
        sodium_bin2hex (subject, sizeof subject, facts->subject_keys [0], RH_SUBJECT_KEY_LEN);
    json_object_set_new (g->referral_facts, record->msg_id, json_pack ("[s,s]", kind, subject));
    if (record->recipient_count)
        rh_casebook_open (cases, record, rh_envelope_case_id (envelope), record->recipients [0]);
}

//  The first outcome of a referral received in the period.
static void
s_outcome (s_gather_t *g, rh_casebook_case_t *c, const rh_audit_record_t *record,
           const rh_facts_t *facts)
{
    c->decided_ms = record->at_ms;
    g->decided++;
    bool nfa = facts->decision == RHANNU__V1__DECISION__NO_FURTHER_ACTION;
    s_count (g->decisions, s_enum_name (&rhannu__v1__decision__descriptor, (int) facts->decision));
    json_t *referral = json_object_get (g->referral_facts, c->referral);
    const char *kind = json_string_value (json_array_get (referral, 0));
    const char *subject = json_string_value (json_array_get (referral, 1));
    s_count_in (g->outcomes_by_referrer, c->referrer, "decided");
    s_count_in (g->outcomes_by_kind, kind ? kind : "?", "decided");
    if (nfa) {
        s_count_in (g->outcomes_by_referrer, c->referrer, "nfa");
        s_count_in (g->outcomes_by_kind, kind ? kind : "?", "nfa");
    }
    for (size_t r = 0; r < record->recipient_count; r++)
        if (!strcmp (record->recipients [r], c->referrer)) {
            g->told++;
            break;
        }
    double days = (double) (c->decided_ms - c->received_ms) / 86400000.0;
    size_t b = 0;
    while (b + 1 < S_BUCKETS && days >= s_buckets [b].below)
        b++;
    json_int_t deadline = json_integer_value (json_object_get (g->due, c->referral));
    if (deadline) {
        g->with_deadline++;
        g->within_deadline += c->decided_ms <= deadline;
    }
    s_count_in (g->time_to_outcome, s_buckets [b].key,
                !deadline                   ? "no_deadline"
                : c->decided_ms <= deadline ? "within"
                                            : "late");
    //  A person alerted about before this referral came in, now decided above NFA: escalated.
    json_t *person = subject && *subject ? json_object_get (g->people, subject) : NULL;
    if (person && s_escalates (facts->decision)
        && json_integer_value (json_object_get (person, "alert_ms")) <= c->received_ms)
        json_object_set_new (person, "escalated", json_true ());
}

//  One pass over the log, like replay's, gathering the figures. Returns 0, or -1 if it could
//  not start or could not read the whole log.
//  A CONSENT_OVERRIDE record: the referral it names went without consent under a rule's override.
static void
s_override (s_gather_t *g, const rh_audit_record_t *record)
{
    char rule [RH_MAX_ID + 1] = "";
    if (record->detail)
        sscanf (record->detail, "consent overridden under rule %64[^;]", rule);
    json_object_set_new (
        g->overrides, record->msg_id,
        json_pack ("{s:s, s:s, s:I, s:s}", "case", record->case_id ? record->case_id : "", "rule",
                   rule, "at_ms", (json_int_t) record->at_ms, "review", "OVERRIDE_REVIEW_PENDING"));
}

//  Issue 17, lateral checks: the broker's own records of them, and refusals to share a response
//  onward (typed: missing condition "onward").
static void
s_lateral (s_gather_t *g, const rh_audit_record_t *record)
{
    const char *detail = record->detail ? record->detail : "";
    if (!strcmp (record->event, "LATERAL_REQUESTED")) {
        g->lateral_requests++;
        g->lateral_partners += record->recipient_count;
    }
    else if (!strcmp (record->event, "LATERAL_OVERDUE"))
        g->lateral_overdue++;
    else if (!strcmp (record->event, "LATERAL_ANSWERED")) {
        if (strstr (detail, ": late;"))
            g->lateral_late++;
        else
            g->lateral_in_time++;
        g->lateral_known += strstr (detail, "; known to service") != NULL;
    }
    else if (!strcmp (record->event, "REJECTED")) {
        rh_audit_decision_t decision;
        if (rh_record_decision (record, 0, &decision) && decision.missing_condition
            && !strcmp (decision.missing_condition, "onward"))
            g->lateral_onward_refused++;
    }
}

//  A CHALLENGE_* record of rh_challenge (issue 17): raised in the period, a challenge is
//  followed through its escalations to its answer or to the end of its last level. The detail
//  begins "level N"; an answer's goes on with its outcome's name.
static void
s_challenge (s_gather_t *g, const rh_audit_record_t *record, bool in_period)
{
    unsigned level = 0;
    char outcome [64] = "";
    if (!record->detail || sscanf (record->detail, "level %u; %63[A-Z_]", &level, outcome) < 1)
        return;
    json_t *entry = json_object_get (g->challenges, record->msg_id);
    if (!strcmp (record->event, "CHALLENGE_RAISED")) {
        if (in_period && !entry)
            json_object_set_new (g->challenges, record->msg_id,
                                 json_pack ("{s:s, s:I, s:I, s:s, s:s}", "case",
                                            record->case_id ? record->case_id : "", "at_ms",
                                            (json_int_t) record->at_ms, "level", (json_int_t) level,
                                            "state", "CHALLENGE_STATE_RAISED", "outcome", ""));
        return;
    }
    if (!entry)
        return;  //  raised before the period
    json_object_set_new (entry, "level", json_integer (level));
    if (!strcmp (record->event, "CHALLENGE_ESCALATED")) {
        json_object_set_new (entry, "state", json_string ("CHALLENGE_STATE_ESCALATED"));
        g->challenge_escalations++;
    }
    else if (!strcmp (record->event, "CHALLENGE_UNRESOLVED"))
        json_object_set_new (entry, "state", json_string ("CHALLENGE_STATE_UNRESOLVED"));
    else if (!strcmp (record->event, "CHALLENGE_RESPONDED")) {
        json_object_set_new (entry, "state", json_string ("CHALLENGE_STATE_RESPONDED"));
        json_object_set_new (entry, "outcome", json_string (outcome));
    }
}

//  Strategy meetings: one of the broker's STRATEGY_* records (its detail names agency ids
//  only: rh_strategy_detail's wording).
static void
s_meeting (s_gather_t *g, const rh_audit_record_t *record)
{
    const char *detail = record->detail ? record->detail : "";
    if (!strcmp (record->event, "STRATEGY_INVITED")) {
        g->meetings_invited++;
        json_t *invited = json_array ();
        const char *list = strstr (detail, "; invited ");
        list = list ? strchr (list, ':') : NULL;
        char copy [RH_MAX_REASON * 2], *save = NULL;
        snprintf (copy, sizeof copy, "%s", list ? list + 1 : "");
        for (char *name = strtok_r (copy, ", ", &save); name; name = strtok_r (NULL, ", ", &save))
            json_array_append_new (invited, json_string (name));
        json_object_set_new (g->meetings, record->msg_id, invited);
    }
    else if (!strcmp (record->event, "STRATEGY_HELD")) {
        g->meetings_held++;
        char invitation [RH_MAX_ID + 1] = "";
        sscanf (detail, "strategy meeting %64s held", invitation);
        const char *absent = strstr (detail, "; absent: ");
        const char *end = absent ? strstr (absent, "; the person participated") : NULL;
        char list [RH_MAX_REASON * 2] = "";
        if (absent && end && (size_t) (end - absent) < sizeof list) {
            absent += strlen ("; absent: ");
            memcpy (list, absent, (size_t) (end - absent));
            list [end - absent] = 0;
        }
        size_t i;
        json_t *agency;
        json_array_foreach (json_object_get (g->meetings, invitation), i, agency)
        {
            const char *name = json_string_value (agency);
            json_t *entry = json_object_get (g->meeting_agencies, name);
            if (!entry) {
                entry =
                    json_pack ("{s:I, s:I}", "invited", (json_int_t) 0, "absent", (json_int_t) 0);
                json_object_set_new (g->meeting_agencies, name, entry);
            }
            //  Absent: named in the comma-separated list ("none" when all came).
            bool missing = false;
            for (char *item = list; *item && !missing;) {
                size_t length = strcspn (item, ",");
                missing = length == strlen (name) && !strncmp (item, name, length);
                item += length + (item [length] == ',');
            }
            json_object_set_new (
                entry, "invited",
                json_integer (json_integer_value (json_object_get (entry, "invited")) + 1));
            if (missing)
                json_object_set_new (
                    entry, "absent",
                    json_integer (json_integer_value (json_object_get (entry, "absent")) + 1));
            g->meeting_invitees++;
            g->meeting_absent += missing;
        }
        g->meeting_participated += strstr (detail, "; the person participated: yes") != NULL;
    }
    else if (!strcmp (record->event, "STRATEGY_CANCELLED"))
        g->meetings_cancelled++;
    else if (!strcmp (record->event, "STRATEGY_ACTIONS_DELIVERED"))
        g->meetings_delivered++;
}

static int
s_gather (rh_db_t *db, s_gather_t *g)
{
    rh_casebook_t *cases = rh_casebook_new ();
    rh_logreader_t *reader = rh_logreader_new (db);
    if (!cases || !reader) {
        rh_logreader_destroy (&reader);
        rh_casebook_destroy (&cases);
        return -1;
    }
    const rh_audit_record_t *record;
    while ((record = rh_logreader_next (reader))) {
        if (!g->first_ms)
            g->first_ms = record->at_ms;
        g->last_ms = record->at_ms;
        bool in_period = record->at_ms >= g->from_ms && (!g->to_ms || record->at_ms < g->to_ms);
        if (!strcmp (record->event, "REJECTED") && in_period)
            s_refused (g, record);
        if (!strcmp (record->event, "ACKED") || !strcmp (record->event, "UNVERIFIED")) {
            rh_casebook_case_t *c = rh_casebook_find (cases, record->msg_id, NULL, "");
            bool holder = c && !strcmp (c->holder, record->agency);
            if (holder && record->event [0] == 'A')
                c->acknowledged = true;
            else if (record->event [0] == 'U') {
                g->unverified += in_period;
                if (holder && c->unverified < UINT32_MAX)
                    c->unverified++;
            }
        }
        if (!strcmp (record->event, "CONSENT_OVERRIDE") && in_period)
            s_override (g, record);
        if (in_period)
            s_lateral (g, record);
        if (!strncmp (record->event, "CHALLENGE_", 10))
            s_challenge (g, record, in_period);
        if (!strncmp (record->event, "STRATEGY_", 9) && in_period)
            s_meeting (g, record);
        bool accepted = !strcmp (record->event, "ACCEPTED"),
             notice = !strcmp (record->event, "NOTICE");
        rh_envelope_t *envelope = NULL;
        if ((accepted || notice) && record->payload_sha256) {
            if (rh_logreader_erased (reader))
                g->erased += in_period;
            envelope = rh_logreader_message (reader);
        }
        if (!envelope)
            continue;
        const ProtobufCMessage *body = rh_envelope_body (envelope);
        rh_kind_t kind = rh_envelope_kind (envelope);
        if (notice && kind == RH_KIND_RECEIPT && body) {
            const Rhannu__V1__Receipt *receipt = (const Rhannu__V1__Receipt *) body;
            if (receipt->outcome_due_ms)
                json_object_set_new (g->due, receipt->original_msg_id,
                                     json_integer (receipt->outcome_due_ms));
        }
        if (notice && kind == RH_KIND_ALERT && body)
            s_alert (g, cases, record, (const Rhannu__V1__Alert *) body, in_period);
        if (notice && kind == RH_KIND_ALERT && body
            && ((const Rhannu__V1__Alert *) body)->alert_kind
                   == RHANNU__V1__ALERT_KIND__OVERRIDE_REVIEW_OVERDUE
            && in_period)
            g->override_reviews_late++;
        if (notice && kind == RH_KIND_ALERT && body
            && ((const Rhannu__V1__Alert *) body)->alert_kind
                   == RHANNU__V1__ALERT_KIND__MEETING_RECORD_OVERDUE
            && in_period)
            g->meeting_records_late++;
        if (!accepted)
            continue;
        rh_facts_t facts;
        rh_policy_facts (envelope, &facts);
        if (kind == RH_KIND_REFERRAL && in_period)
            s_referral (g, cases, record, envelope, &facts);
        if (kind == RH_KIND_OUTCOME || kind == RH_KIND_STATUS_UPDATE) {
            //  Only referrals received in the period have cases: theirs are the outcomes counted,
            //  whenever they came.
            rh_casebook_case_t *c =
                rh_casebook_find (cases, rh_envelope_in_reply_to (envelope), record->agency,
                                  rh_envelope_case_id (envelope));
            if (c && kind == RH_KIND_OUTCOME && !c->decided_ms)
                s_outcome (g, c, record, &facts);
            json_t *overridden =
                facts.update_kind == RHANNU__V1__UPDATE_KIND__OVERRIDE_REVIEWED
                    ? json_object_get (g->overrides, rh_envelope_in_reply_to (envelope))
                    : NULL;
            if (overridden)  //  the broker accepts one review per override
                json_object_set_new (
                    overridden, "review",
                    json_string (s_enum_name (&rhannu__v1__override_review__descriptor,
                                              (int) facts.review_outcome)));
            if (c && facts.update_kind == RHANNU__V1__UPDATE_KIND__WITHDRAWN
                && !strcmp (c->referrer, record->agency)) {
                g->withdrawn++;
                g->withdrawn_decided += c->decided_ms > 0;
            }
            if (c && facts.update_kind == RHANNU__V1__UPDATE_KIND__CLOSED && !c->closed) {
                c->closed = true;
                g->closed++;
            }
        }
    }
    //  Figures from part of the log are not the log's figures.
    int rc = 0;
    if (rh_logreader_error (reader)) {
        rh_log_error ("audit", "report stopped: %s", rh_logreader_error (reader));
        rc = -1;
    }
    rh_logreader_destroy (&reader);
    for (size_t i = 0; i < rh_casebook_size (cases); i++) {
        const rh_casebook_case_t *c = rh_casebook_at (cases, i);
        //  Referrals their front door could not verify and has not taken in since: still queued.
        g->awaiting_verification += c->unverified > 0 && !c->acknowledged;
        if (c->decided_ms)
            continue;
        g->open++;
        json_int_t due = json_integer_value (json_object_get (g->due, c->referral));
        g->open_past_deadline += due && due < g->last_ms;
    }
    rh_casebook_destroy (&cases);
    return rc;
}

//  ---------------------------------------------------------------------------------------------
//  What the agreements the broker kept (g/<id>/<version>) say: local authorities, agencies'
//  labels, rules' sentences. Read with libyaml rather than rh_agreement_parse: an old version a
//  newer parser would refuse still names its parties.

//  The value of key in a YAML mapping node, or NULL.
static yaml_node_t *
s_yaml_get (yaml_document_t *document, yaml_node_t *mapping, const char *key)
{
    if (!mapping || mapping->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *pair = mapping->data.mapping.pairs.start;
         pair < mapping->data.mapping.pairs.top; pair++) {
        yaml_node_t *k = yaml_document_get_node (document, pair->key);
        if (k && k->type == YAML_SCALAR_NODE && !strcmp ((const char *) k->data.scalar.value, key))
            return yaml_document_get_node (document, pair->value);
    }
    return NULL;
}

static const char *
s_yaml_text (yaml_node_t *node)
{
    return node && node->type == YAML_SCALAR_NODE ? (const char *) node->data.scalar.value : NULL;
}

//  Reads one kept agreement into agreements {las: [], labels: {}, rules: {}}; later versions
//  (read later: keys sort by version) override earlier ones' labels and sentences.
static void
s_agreement (json_t *agreements, const uint8_t *text, size_t size)
{
    yaml_parser_t parser;
    yaml_document_t document;
    if (!yaml_parser_initialize (&parser))
        return;
    yaml_parser_set_input_string (&parser, text, size);
    if (yaml_parser_load (&parser, &document)) {
        yaml_node_t *root = yaml_document_get_root_node (&document);
        const char *id = s_yaml_text (s_yaml_get (&document, root, "id"));
        yaml_node_t *las = s_yaml_get (&document, root, "local_authorities");
        json_t *known = json_object_get (agreements, "las");
        for (yaml_node_item_t *item =
                 las && las->type == YAML_SEQUENCE_NODE ? las->data.sequence.items.start : NULL;
             item && item < las->data.sequence.items.top; item++) {
            const char *la = s_yaml_text (yaml_document_get_node (&document, *item));
            if (la)
                json_object_set_new (known, la, json_true ());
        }
        yaml_node_t *parties = s_yaml_get (&document, root, "parties");
        for (yaml_node_item_t *item = parties && parties->type == YAML_SEQUENCE_NODE
                                          ? parties->data.sequence.items.start
                                          : NULL;
             item && item < parties->data.sequence.items.top; item++) {
            yaml_node_t *party = yaml_document_get_node (&document, *item);
            const char *agency = s_yaml_text (s_yaml_get (&document, party, "id"));
            const char *label = s_yaml_text (s_yaml_get (&document, party, "label"));
            if (agency && label && *label)
                json_object_set_new (json_object_get (agreements, "labels"), agency,
                                     json_string (label));
        }
        yaml_node_t *rules = s_yaml_get (&document, root, "rules");
        for (yaml_node_item_t *item = id && rules && rules->type == YAML_SEQUENCE_NODE
                                          ? rules->data.sequence.items.start
                                          : NULL;
             item && item < rules->data.sequence.items.top; item++) {
            yaml_node_t *rule = yaml_document_get_node (&document, *item);
            const char *rule_id = s_yaml_text (s_yaml_get (&document, rule, "id"));
            const char *sentence = s_yaml_text (s_yaml_get (&document, rule, "description"));
            char key [2 * RH_MAX_ID + 2];
            if (rule_id && sentence && strlen (id) <= RH_MAX_ID && strlen (rule_id) <= RH_MAX_ID) {
                snprintf (key, sizeof key, "%s/%s", id, rule_id);
                json_object_set_new (json_object_get (agreements, "rules"), key,
                                     json_string (sentence));
            }
        }
        yaml_document_delete (&document);
    }
    yaml_parser_delete (&parser);
}

static json_t *
s_agreements (rh_db_t *db)
{
    json_t *agreements = json_pack ("{s:o, s:o, s:o}", "las", json_object (), "labels",
                                    json_object (), "rules", json_object ());
    rh_db_iter_t *iter = agreements ? rh_db_iter_new (db, "g/", 2) : NULL;
    for (; iter && rh_db_iter_valid (iter); rh_db_iter_next (iter)) {
        size_t size = 0;
        const uint8_t *value = rh_db_iter_value (iter, &size);
        if (size > RH_SIG_LEN)
            s_agreement (agreements, value + RH_SIG_LEN, size - RH_SIG_LEN);
    }
    rh_db_iter_destroy (&iter);
    return agreements;
}

//  An area's name from its code: "blaenau-gwent" -> "Blaenau Gwent", "vale-of-glamorgan" ->
//  "Vale of Glamorgan" (joining words stay small).
static json_t *
s_area_name (const char *code)
{
    char name [RH_MAX_ID + 1];
    snprintf (name, sizeof name, "%s", code);
    for (char *p = name; *p; p++)
        if (*p == '-' || *p == '_')
            *p = ' ';
    for (char *word = name; *word; word++) {
        bool start = word == name || word [-1] == ' ';
        bool small =
            !strncmp (word, "of ", 3) || !strncmp (word, "and ", 4) || !strncmp (word, "the ", 4);
        if (start && *word >= 'a' && *word <= 'z' && (!small || word == name))
            *word = (char) (*word - 'a' + 'A');
    }
    return json_string (name);
}

//  ---------------------------------------------------------------------------------------------
//  The figures as one JSON object

static json_t *
s_day (int64_t ms)
{
    char day [16];
    time_t seconds = (time_t) (ms / 1000);
    struct tm tm;
    strftime (day, sizeof day, "%Y-%m-%d", gmtime_r (&seconds, &tm));
    return json_string (day);
}

static json_t *
s_time (int64_t ms)
{
    char when [32];
    return json_string (rh_time_format (ms, when, sizeof when));
}

//  The log and the latest signed checkpoint the report was made from, with the names of the
//  witnesses whose cosignatures are kept with it (checked by rhannu-audit verify --quorum).
static json_t *
s_log (rh_db_t *db, const rh_audit_check_t *check)
{
    char root [RH_DIGEST_LEN * 2 + 1];
    sodium_bin2hex (root, sizeof root, check->root, RH_DIGEST_LEN);
    json_t *log = json_pack ("{s:b, s:I, s:s}", "verified", check->count > 0, "records",
                             (json_int_t) check->count, "root", root);
    rh_checkpoint_t checkpoint;
    if (!log || !rh_audit_latest_checkpoint (db, &checkpoint)) {
        json_object_set_new (log, "checkpoint", json_null ());
        return log;
    }
    sodium_bin2hex (root, sizeof root, checkpoint.root, RH_DIGEST_LEN);
    json_t *witnesses = json_array ();
    //  Lines "— name base64\n": the name is between the dash and the last space.
    for (char *line = checkpoint.cosignatures; line && *line;) {
        char *end = strchr (line, '\n');
        size_t length = end ? (size_t) (end - line) : strlen (line);
        const char *dash = "\xe2\x80\x94 ";
        if (length > 4 && !strncmp (line, dash, 4)) {
            char name [RH_NOTE_MAX_NAME + 1];
            size_t n = length - 4 < RH_NOTE_MAX_NAME ? length - 4 : RH_NOTE_MAX_NAME;
            memcpy (name, line + 4, n);
            name [n] = 0;
            char *space = strrchr (name, ' ');
            if (space)
                *space = 0;
            json_array_append_new (witnesses, json_string (name));
        }
        line = end ? end + 1 : NULL;
    }
    json_object_set_new (log, "checkpoint",
                         json_pack ("{s:I, s:s, s:o, s:o}", "size", (json_int_t) checkpoint.size,
                                    "root", root, "time", s_time (checkpoint.time_ms),
                                    "cosigned_by", witnesses));
    return log;
}

//  name -> {decided, nfa} gets its nfa_percent.
static void
s_nfa_rates (json_t *outcomes)
{
    const char *name;
    json_t *entry;
    json_object_foreach (outcomes, name, entry)
    {
        json_int_t decided = json_integer_value (json_object_get (entry, "decided"));
        json_int_t nfa = json_integer_value (json_object_get (entry, "nfa"));
        json_object_set_new (entry, "nfa", json_integer (nfa));
        json_object_set_new (entry, "nfa_percent",
                             json_real (decided ? 100.0 * (double) nfa / (double) decided : 0));
    }
}

static json_t *
s_figures (rh_db_t *db, const rh_audit_check_t *check, const rh_report_scope_t *scope,
           s_gather_t *g, json_t *agreements)
{
    //  Every month of the period, those with no referral too: a trend has no gaps.
    int64_t from = g->from_ms ? g->from_ms : g->first_ms;
    int64_t to = g->to_ms ? g->to_ms : g->last_ms + 1;
    json_t *months = json_object ();
    time_t seconds = (time_t) (from / 1000);
    struct tm tm;
    gmtime_r (&seconds, &tm);
    tm.tm_mday = 1;
    tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    for (int m = 0; m < RH_REPORT_MAX_MONTHS; m++) {
        int64_t start = (int64_t) timegm (&tm) * 1000;
        if (start >= to)
            break;
        char month [8];
        s_month (start, month);
        json_object_set_new (
            months, month,
            json_integer (json_integer_value (json_object_get (g->by_month, month))));
        tm.tm_mon++;
    }
    //  Areas with no referrals are shown too: an absence of demand is information.
    json_t *areas = json_object ();
    const char *name;
    json_t *value;
    json_object_foreach (json_object_get (agreements, "las"), name, value) json_object_set_new (
        areas, name, json_integer (json_integer_value (json_object_get (g->by_la, name))));
    json_object_update_missing (areas, g->by_la);
    json_t *area_names = json_object ();
    json_object_foreach (areas, name, value)
        json_object_set_new (area_names, name, s_area_name (name));
    //  Every agency named anywhere gets a label: the agreement's, or its id.
    json_t *labels = json_deep_copy (json_object_get (agreements, "labels"));
    json_object_foreach (g->by_referrer, name, value) if (!json_object_get (labels, name))
        json_object_set_new (labels, name, json_string (name));
    json_object_foreach (g->outcomes_by_referrer, name, value) if (!json_object_get (labels, name))
        json_object_set_new (labels, name, json_string (name));
    //  Refusals get their rule's sentence (none for default deny: the renderer words it).
    json_t *rules = json_object_get (agreements, "rules");
    json_object_foreach (g->refusals_by_rule, name, value)
    {
        json_t *sentence = json_object_get (rules, name);
        json_object_set_new (value, "description",
                             sentence ? json_incref (sentence) : json_string (""));
    }
    s_nfa_rates (g->outcomes_by_referrer);
    s_nfa_rates (g->outcomes_by_kind);
    json_t *buckets = json_object ();
    for (size_t b = 0; b < S_BUCKETS; b++) {
        json_t *entry = json_object_get (g->time_to_outcome, s_buckets [b].key);
        json_object_set_new (
            buckets, s_buckets [b].key,
            json_pack ("{s:I, s:I, s:I}", "within",
                       json_integer_value (json_object_get (entry, "within")), "late",
                       json_integer_value (json_object_get (entry, "late")), "no_deadline",
                       json_integer_value (json_object_get (entry, "no_deadline"))));
    }
    size_t escalated = 0;
    json_object_foreach (g->people, name, value) escalated +=
        json_is_true (json_object_get (value, "escalated"));
    size_t people = json_object_size (g->people);
    //  A percentage of nothing is not 0 %: null says there was nothing to divide.
    json_t *within_percent =
        g->with_deadline
            ? json_real (100.0 * (double) g->within_deadline / (double) g->with_deadline)
            : json_null ();
    json_t *log = s_log (db, check);
    json_t *figures = json_pack (
        "{s:{s:s?, s:o, s:o, s:o}, s:o, s:o, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
        "report", "board", scope->board && *scope->board ? scope->board : NULL, "from",
        s_day (from), "to", s_day (to - 1), "generated", s_time (scope->now_ms), "log", log,
        "labels", labels, "area_names", area_names, "referrals", (json_int_t) g->referrals,
        "decided", (json_int_t) g->decided, "referrers_told", (json_int_t) g->told, "closed",
        (json_int_t) g->closed, "outcomes_with_deadline", (json_int_t) g->with_deadline,
        "outcomes_within_deadline", (json_int_t) g->within_deadline, "awaiting_outcome",
        (json_int_t) g->open, "awaiting_outcome_past_deadline", (json_int_t) g->open_past_deadline);
    if (!figures)
        return NULL;
    json_object_set_new (figures, "by_month", months);
    json_object_set_new (figures, "by_local_authority", areas);
    json_object_set (figures, "by_referrer", g->by_referrer);
    json_object_set (figures, "by_referral_kind", g->by_kind);
    json_object_set (figures, "by_category", g->by_category);
    json_object_set_new (figures, "time_to_outcome_days", buckets);
    json_object_set (figures, "decisions", g->decisions);
    json_object_set (figures, "outcomes_by_referrer", g->outcomes_by_referrer);
    json_object_set (figures, "outcomes_by_kind", g->outcomes_by_kind);
    json_object_set_new (figures, "repeat_referrals",
                         json_pack ("{s:I, s:I, s:I}", "people", (json_int_t) people, "escalated",
                                    (json_int_t) escalated, "not_escalated",
                                    (json_int_t) (people - escalated)));
    json_object_set_new (
        figures, "breaches",
        json_pack ("{s:I, s:I, s:I, s:I, s:I}", "outcome_overdue", (json_int_t) g->overdue,
                   "outcome_overdue_outage", (json_int_t) g->overdue_outage,
                   "outcome_overdue_connected", (json_int_t) (g->overdue - g->overdue_outage),
                   "acknowledgement_overdue", (json_int_t) g->ack_overdue,
                   "escalated_after_deadline", (json_int_t) g->escalated_after_deadline));
    json_object_set_new (figures, "refusals", json_integer ((json_int_t) g->refusals));
    json_object_set (figures, "refusals_by_rule", g->refusals_by_rule);
    json_object_set (figures, "refusals_by_reason", g->refusals_by_reason);
    //  Professional challenges raised in the period: where each stands, the level each
    //  reached, and how those answered were answered.
    size_t raised = json_object_size (g->challenges), answered = 0, unresolved = 0;
    json_t *by_level = json_object (), *challenge_outcomes = json_object (),
           *challenge_list = json_array ();
    for (json_int_t level = 1; level <= RH_MAX_CHALLENGE_LEVELS; level++)
        json_object_foreach (g->challenges, name, value)
        {
            if (json_integer_value (json_object_get (value, "level")) != level)
                continue;
            char key [24];
            snprintf (key, sizeof key, "%" JSON_INTEGER_FORMAT, level);
            s_count (by_level, key);
        }
    json_object_foreach (g->challenges, name, value)
    {
        const char *state = json_string_value (json_object_get (value, "state"));
        if (state && !strcmp (state, "CHALLENGE_STATE_RESPONDED")) {
            answered++;
            s_count (challenge_outcomes, json_string_value (json_object_get (value, "outcome")));
        }
        unresolved += state && !strcmp (state, "CHALLENGE_STATE_UNRESOLVED");
        json_object_set_new (value, "challenge", json_string (name));
        json_array_append (challenge_list, value);
    }
    json_object_set_new (
        figures, "challenges",
        json_pack ("{s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:o}", "raised", (json_int_t) raised,
                   "answered", (json_int_t) answered, "unresolved", (json_int_t) unresolved, "open",
                   (json_int_t) (raised - answered - unresolved), "escalations",
                   (json_int_t) g->challenge_escalations, "by_level_reached", by_level, "outcomes",
                   challenge_outcomes, "challenges", challenge_list));
    //  Consent overrides in the period, each with where its review stands.
    json_t *override_list = json_array ();
    size_t upheld = 0, not_upheld = 0;
    json_object_foreach (g->overrides, name, value)
    {
        const char *review = json_string_value (json_object_get (value, "review"));
        upheld += review && !strcmp (review, "OVERRIDE_UPHELD");
        not_upheld += review && !strcmp (review, "OVERRIDE_NOT_UPHELD");
        json_object_set_new (value, "referral", json_string (name));
        json_array_append (override_list, value);
    }
    size_t overrides = json_object_size (g->overrides);
    json_object_set_new (
        figures, "consent_overrides",
        json_pack ("{s:I, s:I, s:I, s:I, s:I, s:o}", "count", (json_int_t) overrides, "upheld",
                   (json_int_t) upheld, "not_upheld", (json_int_t) not_upheld, "unreviewed",
                   (json_int_t) (overrides - upheld - not_upheld), "review_deadline_missed",
                   (json_int_t) g->override_reviews_late, "overrides", override_list));
    size_t lateral_answered = g->lateral_in_time + g->lateral_late;
    json_object_set_new (figures, "lateral_checks",
                         json_pack ("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "requests",
                                    (json_int_t) g->lateral_requests, "partners_asked",
                                    (json_int_t) g->lateral_partners, "answered_in_time",
                                    (json_int_t) g->lateral_in_time, "answered_late",
                                    (json_int_t) g->lateral_late, "overdue",
                                    (json_int_t) g->lateral_overdue, "unanswered",
                                    (json_int_t) (g->lateral_partners > lateral_answered
                                                      ? g->lateral_partners - lateral_answered
                                                      : 0),
                                    "known_to_service", (json_int_t) g->lateral_known,
                                    "onward_refused", (json_int_t) g->lateral_onward_refused));
    json_object_set_new (figures, "withdrawals",
                         json_pack ("{s:I, s:I, s:I}", "total", (json_int_t) g->withdrawn,
                                    "before_decision",
                                    (json_int_t) (g->withdrawn - g->withdrawn_decided),
                                    "after_decision", (json_int_t) g->withdrawn_decided));
    //  Strategy meetings: invited, held (with attendance by agency and the person's
    //  participation), cancelled, their actions delivered, and records not in by their deadline.
    json_object_set_new (
        figures, "strategy_meetings",
        json_pack ("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:O}", "invited",
                   (json_int_t) g->meetings_invited, "held", (json_int_t) g->meetings_held,
                   "cancelled", (json_int_t) g->meetings_cancelled, "actions_delivered",
                   (json_int_t) g->meetings_delivered, "record_overdue",
                   (json_int_t) g->meeting_records_late, "invitees",
                   (json_int_t) g->meeting_invitees, "invitees_absent",
                   (json_int_t) g->meeting_absent, "person_participated",
                   (json_int_t) g->meeting_participated, "by_agency", g->meeting_agencies));
    json_object_set_new (figures, "messages_erased", json_integer ((json_int_t) g->erased));
    json_object_set_new (figures, "deliveries_unverified",
                         json_integer ((json_int_t) g->unverified));
    json_object_set_new (figures, "referrals_awaiting_verification",
                         json_integer ((json_int_t) g->awaiting_verification));
    json_object_set_new (
        figures, "aaa",
        json_pack ("{s:{s:I, s:I, s:I, s:I}, s:{s:b, s:I, s:I, s:I, s:o}, s:{s:I, s:I, s:I, s:I}}",
                   "alerts", "outcome_overdue", (json_int_t) g->overdue, "outcome_overdue_outage",
                   (json_int_t) g->overdue_outage, "repeat_referral_people", (json_int_t) people,
                   "refusals", (json_int_t) g->refusals, "assurance", "log_verified",
                   check->count > 0, "log_records", (json_int_t) check->count,
                   "outcomes_with_deadline", (json_int_t) g->with_deadline,
                   "outcomes_within_deadline", (json_int_t) g->within_deadline,
                   "within_deadline_percent", within_percent, "achievements", "referrals",
                   (json_int_t) g->referrals, "decided", (json_int_t) g->decided, "referrers_told",
                   (json_int_t) g->told, "cases_closed", (json_int_t) g->closed));
    return figures;
}

//  The gather's JSON objects, so that they are made and freed in one place.
#define S_GATHER_OBJECTS 19
static void
s_gather_objects (s_gather_t *g, json_t **objects [S_GATHER_OBJECTS])
{
    json_t **all [S_GATHER_OBJECTS] = { &g->by_month,
                                        &g->by_la,
                                        &g->by_referrer,
                                        &g->by_kind,
                                        &g->by_category,
                                        &g->decisions,
                                        &g->outcomes_by_referrer,
                                        &g->outcomes_by_kind,
                                        &g->time_to_outcome,
                                        &g->refusals_by_rule,
                                        &g->refusals_by_reason,
                                        &g->due,
                                        &g->referral_facts,
                                        &g->people,
                                        &g->breached,
                                        &g->overrides,
                                        &g->challenges,
                                        &g->meetings,
                                        &g->meeting_agencies };
    memcpy (objects, all, sizeof all);
}

rh_report_t *
rh_report_new (rh_db_t *db, const rh_audit_check_t *check, const rh_report_scope_t *scope)
{
    assert (db && check && scope);
    rh_report_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    s_gather_t g = { .from_ms = scope->from_ms, .to_ms = scope->to_ms };
    json_t **objects [S_GATHER_OBJECTS];
    s_gather_objects (&g, objects);
    bool made = true;
    for (size_t i = 0; i < S_GATHER_OBJECTS; i++)
        made = (*objects [i] = json_object ()) && made;
    json_t *agreements = made ? s_agreements (db) : NULL;
    if (agreements && s_gather (db, &g) == 0)
        self->figures = s_figures (db, check, scope, &g, agreements);
    json_decref (agreements);
    for (size_t i = 0; i < S_GATHER_OBJECTS; i++)
        json_decref (*objects [i]);
    if (!self->figures)
        rh_report_destroy (&self);
    return self;
}

void
rh_report_destroy (rh_report_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        rh_report_t *self = *self_p;
        json_decref (self->figures);
        free (self);
        *self_p = NULL;
    }
}

const json_t *
rh_report_figures (rh_report_t *self)
{
    assert (self);
    return self->figures;
}

void
rh_report_print (rh_report_t *self, FILE *out)
{
    assert (self && out);
    json_dumpf (self->figures, out, JSON_INDENT (2) | JSON_PRESERVE_ORDER);
    fprintf (out, "\n");
}

int
rh_report_parse_day (const char *text, int64_t *ms)
{
    assert (text && ms);
    struct tm tm = { 0 };
    const char *end = strptime (text, "%Y-%m-%d", &tm);
    if (!end || *end || strlen (text) != 10)
        return -1;
    time_t seconds = timegm (&tm);
    if (seconds == (time_t) -1)
        return -1;
    *ms = (int64_t) seconds * 1000;
    return 0;
}
