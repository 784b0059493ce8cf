/*  =========================================================================
    rh_report - the figures boards ask for, from the audit log
    =========================================================================
*/
#include "rh_broker_classes.h"
#include "rhannu.pb-c.h"

//  Adds one to counts[name] (a JSON object of integers).
static void
s_count (json_t *counts, const char *name)
{
    if (!name || !*name)
        name = "(none)";
    json_int_t seen = json_integer_value (json_object_get (counts, name));
    json_object_set_new (counts, name, json_integer (seen + 1));
}

struct _rh_report_t {
    json_t *by_agency, *by_kind, *by_category, *by_la, *by_month;  //  name -> count
    json_t *outcomes_by_referrer, *nfa_by_referrer, *refusals_by_rule, *decisions;  //  counts
    json_t *days_to_outcome;  //  histogram: "0-1", "1-2", "2-5", "5-10", "10+"
    size_t referrals, decided, within_deadline, with_deadline;  //  outcomes and deadlines met
    size_t overdue_alerts, repeat_alerts;                       //  alerts the broker sent
    size_t closed, refusals, erased;  //  cases closed, messages refused, messages erased
    size_t unverified;                //  deliveries a recipient could not verify (not taken in)
    size_t awaiting_verification;     //  referrals not taken in since their front door could not
    json_t *figures;                  //  all of it, as printed and rendered
};

//  The histogram bucket of a time to outcome: boards ask "how many within a day, a week".
static const char *
s_days_bucket (double days)
{
    return days < 1    ? "0-1 days"
           : days < 2  ? "1-2 days"
           : days < 5  ? "2-5 days"
           : days < 10 ? "5-10 days"
                       : "10+ days";
}

//  One pass over the log, like replay's, gathering the figures.
//  Returns 0, or -1 if it could not start.
static int
s_gather (rh_db_t *db, rh_report_t *f, json_t *las_known)
{
    rh_casebook_t *cases = rh_casebook_new ();
    rh_logreader_t *reader = rh_logreader_new (db);
    //  Outcome deadlines from the broker's receipts: referral msg id -> due ms.
    json_t *due = json_object ();
    if (!cases || !reader || !due) {
        rh_logreader_destroy (&reader);
        rh_casebook_destroy (&cases);
        json_decref (due);
        return -1;
    }
    const rh_audit_record_t *record;
    while ((record = rh_logreader_next (reader))) {
        if (!strcmp (record->event, "REJECTED")) {
            f->refusals++;
            rh_audit_decision_t decision;
            if (rh_record_decision (record, 0, &decision))
                s_count (f->refusals_by_rule,
                         *decision.rule_id ? decision.rule_id : "(no rule: default deny)");
            else
                s_count (f->refusals_by_rule, record->code);
        }
        if (!strcmp (record->event, "ACKED") || !strcmp (record->event, "UNVERIFIED")) {
            rh_casebook_case_t *c = rh_casebook_find (cases, record->msg_id, NULL, "");
            bool holder = c && !strcmp (c->holder, record->agency);
            if (holder && record->event [0] == 'A')
                c->acknowledged = true;
            else if (record->event [0] == 'U') {
                f->unverified++;
                if (holder && c->unverified < UINT32_MAX)
                    c->unverified++;
            }
        }
        bool accepted = !strcmp (record->event, "ACCEPTED"),
             notice = !strcmp (record->event, "NOTICE");
        rh_envelope_t *envelope = NULL;
        if ((accepted || notice) && record->payload_sha256) {
            if (rh_logreader_erased (reader))
                f->erased++;
            envelope = rh_logreader_message (reader);
        }
        if (envelope) {
            const ProtobufCMessage *body = rh_envelope_body (envelope);
            rh_kind_t kind = rh_envelope_kind (envelope);
            if (notice && kind == RH_KIND_RECEIPT && body) {
                const Rhannu__V1__Receipt *receipt = (const Rhannu__V1__Receipt *) body;
                if (receipt->outcome_due_ms)
                    json_object_set_new (due, receipt->original_msg_id,
                                         json_integer (receipt->outcome_due_ms));
            }
            if (notice && kind == RH_KIND_ALERT && body) {
                const Rhannu__V1__Alert *alert = (const Rhannu__V1__Alert *) body;
                f->overdue_alerts += alert->alert_kind == RHANNU__V1__ALERT_KIND__OUTCOME_OVERDUE;
                f->repeat_alerts += alert->alert_kind == RHANNU__V1__ALERT_KIND__REPEAT_REFERRALS;
            }
            if (accepted) {
                char month [8];
                time_t seconds = (time_t) (record->at_ms / 1000);
                struct tm tm;
                strftime (month, sizeof month, "%Y-%m", gmtime_r (&seconds, &tm));
                s_count (f->by_kind, rh_envelope_kind_name (kind));
                s_count (f->by_agency, record->agency);
                s_count (f->by_month, month);
                rh_facts_t facts;
                rh_policy_facts (envelope, &facts);
                if (kind == RH_KIND_REFERRAL) {
                    f->referrals++;
                    const Rhannu__V1__Referral *referral = (const Rhannu__V1__Referral *) body;
                    for (size_t c = 0; referral && c < referral->n_categories; c++) {
                        const ProtobufCEnumValue *name = protobuf_c_enum_descriptor_get_value (
                            &rhannu__v1__category__descriptor, referral->categories [c]);
                        s_count (f->by_category, name ? name->name : "?");
                    }
                    for (size_t l = 0; l < facts.home_la_count; l++)
                        s_count (f->by_la, facts.home_las [l]);
                    if (!facts.home_la_count)
                        s_count (f->by_la, "(not given)");
                    if (record->recipient_count)
                        rh_casebook_open (cases, record, rh_envelope_case_id (envelope),
                                          record->recipients [0]);
                }
                if (kind == RH_KIND_OUTCOME || kind == RH_KIND_STATUS_UPDATE) {
                    rh_casebook_case_t *c =
                        rh_casebook_find (cases, rh_envelope_in_reply_to (envelope), record->agency,
                                          rh_envelope_case_id (envelope));
                    if (c && kind == RH_KIND_OUTCOME && !c->decided_ms) {
                        c->decided_ms = record->at_ms;
                        f->decided++;
                        s_count (f->outcomes_by_referrer, c->referrer);
                        const ProtobufCEnumValue *name = protobuf_c_enum_descriptor_get_value (
                            &rhannu__v1__decision__descriptor, (int) facts.decision);
                        s_count (f->decisions, name ? name->name : "?");
                        if (facts.decision == RHANNU__V1__DECISION__NO_FURTHER_ACTION)
                            s_count (f->nfa_by_referrer, c->referrer);
                        double days = (double) (c->decided_ms - c->received_ms) / 86400000.0;
                        s_count (f->days_to_outcome, s_days_bucket (days));
                        json_int_t deadline =
                            json_integer_value (json_object_get (due, c->referral));
                        if (deadline) {
                            f->with_deadline++;
                            f->within_deadline += c->decided_ms <= deadline;
                        }
                    }
                    if (c && facts.update_kind == RHANNU__V1__UPDATE_KIND__CLOSED && !c->closed) {
                        c->closed = true;
                        f->closed++;
                    }
                }
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
    //  Areas with no referrals are shown too: an absence of demand is information.
    size_t index;
    json_t *la;
    json_array_foreach (las_known, index,
                        la) if (!json_object_get (f->by_la, json_string_value (la)))
        json_object_set_new (f->by_la, json_string_value (la), json_integer (0));
    json_decref (due);
    //  Referrals their front door could not verify and has not taken in since: still queued.
    for (size_t i = 0; i < rh_casebook_size (cases); i++) {
        const rh_casebook_case_t *c = rh_casebook_at (cases, i);
        f->awaiting_verification += c->unverified > 0 && !c->acknowledged;
    }
    rh_casebook_destroy (&cases);
    return rc;
}

//  Local authorities the agreements cover, from the versions the broker kept (g/).
static json_t *
s_known_las (rh_db_t *db)
{
    json_t *las = json_array ();
    rh_db_iter_t *iter = rh_db_iter_new (db, "g/", 2);
    for (; iter && rh_db_iter_valid (iter); rh_db_iter_next (iter)) {
        size_t size = 0;
        const uint8_t *value = rh_db_iter_value (iter, &size);
        if (size <= RH_SIG_LEN)
            continue;
        yaml_parser_t parser;
        yaml_document_t document;
        if (!yaml_parser_initialize (&parser))
            continue;
        yaml_parser_set_input_string (&parser, value + RH_SIG_LEN, size - RH_SIG_LEN);
        if (yaml_parser_load (&parser, &document)) {
            yaml_node_t *root = yaml_document_get_root_node (&document);
            for (yaml_node_pair_t *pair = root && root->type == YAML_MAPPING_NODE
                                              ? root->data.mapping.pairs.start
                                              : NULL;
                 pair && pair < root->data.mapping.pairs.top; pair++) {
                yaml_node_t *k = yaml_document_get_node (&document, pair->key);
                yaml_node_t *v = yaml_document_get_node (&document, pair->value);
                if (!k || k->type != YAML_SCALAR_NODE || !v || v->type != YAML_SEQUENCE_NODE
                    || strcmp ((const char *) k->data.scalar.value, "local_authorities") != 0)
                    continue;
                for (yaml_node_item_t *item = v->data.sequence.items.start;
                     item < v->data.sequence.items.top; item++) {
                    yaml_node_t *name = yaml_document_get_node (&document, *item);
                    if (!name || name->type != YAML_SCALAR_NODE)
                        continue;
                    bool seen = false;
                    size_t i;
                    json_t *known;
                    json_array_foreach (las, i, known) seen =
                        seen
                        || !strcmp (json_string_value (known),
                                    (const char *) name->data.scalar.value);
                    if (!seen)
                        json_array_append_new (
                            las, json_string ((const char *) name->data.scalar.value));
                }
            }
            yaml_document_delete (&document);
        }
        yaml_parser_delete (&parser);
    }
    rh_db_iter_destroy (&iter);
    return las;
}

//  The figures as one JSON object, headed by the log's size and root so that a reader can
//  tie the report to a signed checkpoint. Returns a new object, or NULL.
static json_t *
s_figures_json (rh_report_t *f, const rh_audit_check_t *check)
{
    double within =
        f->with_deadline ? 100.0 * (double) f->within_deadline / (double) f->with_deadline : 0.0;
    json_t *nfa_rate = json_object ();
    const char *agency;
    json_t *outcomes;
    json_object_foreach (f->outcomes_by_referrer, agency, outcomes)
    {
        double nfa = (double) json_integer_value (json_object_get (f->nfa_by_referrer, agency));
        json_object_set_new (nfa_rate, agency,
                             json_real (100.0 * nfa / (double) json_integer_value (outcomes)));
    }
    char root [RH_DIGEST_LEN * 2 + 1];
    sodium_bin2hex (root, sizeof root, check->root, RH_DIGEST_LEN);
    return json_pack (
        "{s:{s:b, s:I, s:s}, s:I, s:I, s:I, s:f, s:I, s:I, s:I, s:I, s:O, s:O, s:O, s:O, s:O, "
        "s:O, s:o, s:O, s:O, s:{s:[s,s,s], s:[s,s], s:[s,s,s]}}",
        "log", "verified", check->count > 0, "records", (json_int_t) check->count, "root", root,
        "referrals", (json_int_t) f->referrals, "decided", (json_int_t) f->decided, "closed",
        (json_int_t) f->closed, "outcomes_within_deadline_percent", within, "overdue_alerts",
        (json_int_t) f->overdue_alerts, "repeat_referral_alerts", (json_int_t) f->repeat_alerts,
        "refusals", (json_int_t) f->refusals, "messages_erased", (json_int_t) f->erased,
        "by_agency", f->by_agency, "by_kind", f->by_kind, "by_category", f->by_category,
        "by_local_authority", f->by_la, "by_month", f->by_month, "days_to_outcome",
        f->days_to_outcome, "nfa_rate_by_referrer_percent", nfa_rate, "refusals_by_rule",
        f->refusals_by_rule, "decisions", f->decisions, "aaa", "alerts", "overdue outcomes",
        "repeat referrals", "refusals", "assurance", "audit log verified",
        "outcomes within deadline", "achievements", "referrals decided", "cases closed",
        "feedback sent to referrers");
}

//  Writes one breakdown as dir/name.csv (column, count). A file that cannot be opened is
//  left out: the others still serve.
static void
s_csv (const char *dir, const char *name, json_t *counts, const char *column)
{
    char path [PATH_MAX];
    rh_file_path (path, sizeof path, "%s/%s.csv", dir, name);
    FILE *out = fopen (path, "w");
    if (!out)
        return;
    fprintf (out, "%s,count\n", column);
    const char *key;
    json_t *value;
    json_object_foreach (counts, key, value)
    {
        //  Quote every name: ids are plain, but a CSV reader should never have to guess.
        fprintf (out, "\"%s\",", key);
        if (json_is_real (value))
            fprintf (out, "%.1f\n", json_real_value (value));
        else
            fprintf (out, "%" JSON_INTEGER_FORMAT "\n", json_integer_value (value));
    }
    fclose (out);
}

//  A horizontal bar chart as inline SVG: no scripts, no network.
static void
s_html_chart (FILE *out, const char *title, json_t *counts, const char *unit)
{
    double top = 0;
    const char *key;
    json_t *value;
    json_object_foreach (counts, key, value)
    {
        double v = json_number_value (value);
        top = v > top ? v : top;
    }
    size_t rows = json_object_size (counts);
    fprintf (out,
             "<section><h2>%s</h2>\n<svg class=\"chart\" width=\"640\" height=\"%zu\" "
             "role=\"img\" aria-label=\"%s\">\n",
             title, rows * 26 + 10, title);
    size_t row = 0;
    json_object_foreach (counts, key, value)
    {
        double v = json_number_value (value);
        double width = top > 0 ? 380.0 * v / top : 0;
        fprintf (out,
                 "<text x=\"0\" y=\"%zu\" class=\"label\">%s</text>"
                 "<rect x=\"200\" y=\"%zu\" width=\"%.1f\" height=\"18\" class=\"%s\"/>"
                 "<text x=\"%.1f\" y=\"%zu\" class=\"value\">%g%s</text>\n",
                 row * 26 + 19, key, row * 26 + 5, width > 0 ? width : 1,
                 v > 0 ? "bar" : "bar empty", 206 + width, row * 26 + 19, v, unit);
        row++;
    }
    if (rows == 0)
        fprintf (out, "<text x=\"0\" y=\"19\" class=\"label\">nothing recorded</text>\n");
    fprintf (out, "</svg></section>\n");
}

//  The whole report as one self-contained page. Returns 0, or -1 if path cannot be written.
static int
s_report_html (const char *path, json_t *figures)
{
    FILE *out = fopen (path, "w");
    if (!out)
        return -1;
    json_t *log = json_object_get (figures, "log");
    fprintf (out,
             "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
             "<title>rhannu report</title>\n<style>\n"
             "body{font-family:sans-serif;max-width:720px;margin:2em auto;color:#222}\n"
             "h1{font-size:1.5em}h2{font-size:1.1em;margin-top:1.5em}\n"
             ".aaa{display:flex;gap:1em}.aaa div{flex:1;border:1px solid #ccc;padding:.5em}\n"
             ".label{font-size:13px}.value{font-size:12px;fill:#444}\n"
             ".bar{fill:#2a6f97}.empty{fill:#ccc}\n</style></head><body>\n"
             "<h1>Safeguarding information sharing: report</h1>\n"
             "<p>From the broker's audit log: %" JSON_INTEGER_FORMAT
             " records, root <code>%.16s…</code>.</p>\n",
             json_integer_value (json_object_get (log, "records")),
             json_string_value (json_object_get (log, "root")));
    fprintf (out,
             "<h2>Alerts, Assurance and Achievements</h2>\n<div class=\"aaa\">\n"
             "<div><h3>Alerts</h3><p>%" JSON_INTEGER_FORMAT
             " outcomes overdue<br>%" JSON_INTEGER_FORMAT
             " repeat-referral alerts<br>%" JSON_INTEGER_FORMAT " messages refused</p></div>\n"
             "<div><h3>Assurance</h3><p>audit log verified<br>%.0f %% of outcomes within their "
             "deadline</p></div>\n"
             "<div><h3>Achievements</h3><p>%" JSON_INTEGER_FORMAT " of %" JSON_INTEGER_FORMAT
             " referrals decided, the referrer told each time<br>%" JSON_INTEGER_FORMAT
             " cases closed</p></div>\n</div>\n",
             json_integer_value (json_object_get (figures, "overdue_alerts")),
             json_integer_value (json_object_get (figures, "repeat_referral_alerts")),
             json_integer_value (json_object_get (figures, "refusals")),
             json_real_value (json_object_get (figures, "outcomes_within_deadline_percent")),
             json_integer_value (json_object_get (figures, "decided")),
             json_integer_value (json_object_get (figures, "referrals")),
             json_integer_value (json_object_get (figures, "closed")));
    s_html_chart (out, "Messages by agency", json_object_get (figures, "by_agency"), "");
    s_html_chart (out, "Messages by kind", json_object_get (figures, "by_kind"), "");
    s_html_chart (out, "Referrals by category", json_object_get (figures, "by_category"), "");
    s_html_chart (out, "Referrals by local authority (areas with none shown too)",
                  json_object_get (figures, "by_local_authority"), "");
    s_html_chart (out, "Messages by month", json_object_get (figures, "by_month"), "");
    s_html_chart (out, "Time to outcome", json_object_get (figures, "days_to_outcome"), "");
    s_html_chart (out, "Outcomes", json_object_get (figures, "decisions"), "");
    s_html_chart (out, "No-further-action rate by referring agency",
                  json_object_get (figures, "nfa_rate_by_referrer_percent"), " %");
    s_html_chart (out, "Refusals by rule", json_object_get (figures, "refusals_by_rule"), "");
    fprintf (out, "</body></html>\n");
    fclose (out);
    return 0;
}

rh_report_t *
rh_report_new (rh_db_t *db, const rh_audit_check_t *check)
{
    assert (db && check);
    rh_report_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->by_agency = json_object ();
    self->by_kind = json_object ();
    self->by_category = json_object ();
    self->by_la = json_object ();
    self->by_month = json_object ();
    self->outcomes_by_referrer = json_object ();
    self->nfa_by_referrer = json_object ();
    self->refusals_by_rule = json_object ();
    self->decisions = json_object ();
    self->days_to_outcome = json_object ();
    json_t *las = s_known_las (db);
    if (self->by_agency && self->by_kind && self->by_category && self->by_la && self->by_month
        && self->outcomes_by_referrer && self->nfa_by_referrer && self->refusals_by_rule
        && self->decisions && self->days_to_outcome && las && s_gather (db, self, las) == 0)
        self->figures = s_figures_json (self, check);
    if (self->figures) {
        //  Delivered but not taken in: the front door's agent could not verify the sender.
        json_object_set_new (self->figures, "deliveries_unverified",
                             json_integer ((json_int_t) self->unverified));
        json_object_set_new (self->figures, "referrals_awaiting_verification",
                             json_integer ((json_int_t) self->awaiting_verification));
    }
    json_decref (las);
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
        json_decref (self->by_agency);
        json_decref (self->by_kind);
        json_decref (self->by_category);
        json_decref (self->by_la);
        json_decref (self->by_month);
        json_decref (self->outcomes_by_referrer);
        json_decref (self->nfa_by_referrer);
        json_decref (self->refusals_by_rule);
        json_decref (self->decisions);
        json_decref (self->days_to_outcome);
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

void
rh_report_write_csv (rh_report_t *self, const char *dir)
{
    assert (self && dir);
    rh_file_mkdir (dir, 0755);
    s_csv (dir, "by_agency", self->by_agency, "agency");
    s_csv (dir, "by_kind", self->by_kind, "kind");
    s_csv (dir, "by_category", self->by_category, "category");
    s_csv (dir, "by_local_authority", self->by_la, "local_authority");
    s_csv (dir, "by_month", self->by_month, "month");
    s_csv (dir, "days_to_outcome", self->days_to_outcome, "days");
    s_csv (dir, "decisions", self->decisions, "decision");
    s_csv (dir, "nfa_rate_by_referrer",
           json_object_get (self->figures, "nfa_rate_by_referrer_percent"), "referrer");
    s_csv (dir, "refusals_by_rule", self->refusals_by_rule, "rule");
}

int
rh_report_write_html (rh_report_t *self, const char *path)
{
    assert (self && path);
    return s_report_html (path, self->figures);
}
