/*  =========================================================================
    rh-bench-year - a year of safeguarding referrals, written as the broker would

    rh-bench-year DATA-DIR PKI-DIR N [--from DAY] [--label AGENCY=TEXT]...
        writes N referrals over the 365 days from DAY (default tomorrow, UTC)
        into a broker store through rh_audit (the broker's own code), each
        message signed by its agency's key in PKI-DIR: referrals from police
        (PPNs), health, education and a voluntary service to the front doors
        of 7 local authorities (the agreement names an 8th that gets none),
        weekdays busier than weekends and Mondays busiest; the broker's
        receipts with their outcome deadlines; outcomes (no further action
        for about half of PPNs, fewer for others) mostly within the
        deadline; closures; repeat referrals about the same people, each
        set of three NFA'd ones alerted and some escalated after; overdue
        alerts, those of a 9-day outage at one front door put down to it;
        refusals by rule and a few before any rule. The agreement (labels,
        rules' sentences, local authorities) is kept as the broker keeps
        it. PKI-DIR needs broker, police-gwent, health-abb, education-gwent,
        vcs-gwent and la-<area> for the 7 areas below, valid for the year.
    =========================================================================
*/
#include "rh_broker_classes.h"
#include "rhannu.pb-c.h"

#define S_AREAS     7
#define S_REFERRERS 4
#define S_DAY_MS    86400000LL
#define S_HOUR_MS   3600000LL

static const char *s_areas [S_AREAS] = { "blaenau-gwent",    "caerphilly", "monmouthshire",
                                         "newport",          "torfaen",    "cardiff",
                                         "vale-of-glamorgan" };
//  Relative demand by area: cities refer more.
static const int s_area_weight [S_AREAS] = { 8, 16, 9, 17, 10, 30, 12 };
static const char *s_referrers [S_REFERRERS] = { "police-gwent", "health-abb", "education-gwent",
                                                 "vcs-gwent" };
static const int s_referrer_weight [S_REFERRERS] = { 45, 22, 20, 13 };
#define S_OUTAGE_AREA 5  //  cardiff's front door is down for 9 days in the summer

typedef enum {
    E_REFERRAL,
    E_RECEIPT,
    E_OUTCOME,
    E_CLOSED,
    E_OVERDUE,
    E_REPEAT,
    E_REFUSED
} s_kind_t;

typedef struct {
    int64_t at;
    uint32_t referral;  //  index into the referrals
    uint8_t kind;       //  s_kind_t
} s_event_t;

typedef struct {
    int64_t at, due;
    uint32_t person;  //  index into people: its subject key
    uint8_t area, referrer, referral_kind;
    uint8_t decision;  //  0: no outcome yet
    bool outage;       //  overdue because the front door was down
    char msg_id [40];  //  the referral's
} s_referral_t;

static uint64_t s_rand_state = 0x2545F4914F6CDD1DULL;

static uint64_t
s_rand (void)
{
    s_rand_state ^= s_rand_state << 13;
    s_rand_state ^= s_rand_state >> 7;
    s_rand_state ^= s_rand_state << 17;
    return s_rand_state;
}

static int
s_pick (const int *weights, int count)
{
    int total = 0;
    for (int i = 0; i < count; i++)
        total += weights [i];
    int r = (int) (s_rand () % (uint64_t) total);
    for (int i = 0; i < count; i++)
        if ((r -= weights [i]) < 0)
            return i;
    return count - 1;
}

static double
s_uniform (void)
{
    return (double) (s_rand () >> 11) / (double) (1ULL << 53);
}

static int
s_by_time (const void *a, const void *b)
{
    const s_event_t *x = a, *y = b;
    return x->at < y->at ? -1 : x->at > y->at ? 1 : (int) x->kind - (int) y->kind;
}

//  A decision for a referral of this kind (PPNs are NFA'd far more often).
static uint8_t
s_decision (int kind)
{
    static const int ppn [] = { 0, 55, 10, 2, 1, 14, 2, 7, 3, 0, 3, 3, 0, 0 };
    static const int other [] = { 0, 24, 14, 7, 4, 14, 20, 8, 4, 3, 0, 0, 1, 1 };
    return (uint8_t) s_pick (kind == RHANNU__V1__REFERRAL_KIND__PPN ? ppn : other, 14);
}

typedef struct {
    rh_audit_t *audit;
    rh_db_t *db;
    rh_signer_t *broker;
    rh_signer_t *signers [S_REFERRERS + S_AREAS];  //  referrers, then front doors
    uint8_t (*keys) [RH_SUBJECT_KEY_LEN];          //  one subject key per person
    s_referral_t *referrals;
    uint64_t sequence;
    uint64_t records;
} s_writer_t;

//  Seals envelope by signer and appends its record. Returns 0 or -1.
static int
s_append (s_writer_t *w, rh_envelope_t *envelope, rh_signer_t *signer, const char *event,
          const char *agency, const char *recipient, const char *case_id, int64_t at)
{
    uint8_t *sealed = NULL;
    size_t size = 0;
    rh_envelope_set_sequence (envelope, ++w->sequence);
    rh_envelope_set_created (envelope, at);
    if (rh_envelope_sign (envelope, signer) != 0
        || rh_envelope_encode (envelope, &sealed, &size) != 0)
        return -1;
    const char *to [] = { recipient };
    rh_audit_record_t record = { .event = event,
                                 .code = "RH_OK",
                                 .msg_id = rh_envelope_msg_id (envelope),
                                 .agency = agency,
                                 .recipients = to,
                                 .recipient_count = 1,
                                 .sealed = sealed,
                                 .sealed_size = size,
                                 .detail = rh_envelope_kind_name (rh_envelope_kind (envelope)),
                                 .case_id = case_id };
    int rc = rh_audit_append_at (w->audit, &record, at);
    free (sealed);
    w->records++;
    return rc;
}

static int
s_write (s_writer_t *w, const s_event_t *event)
{
    s_referral_t *r = &w->referrals [event->referral];
    char front_door [RH_MAX_ID + 1], case_id [32], holder_case [32];
    snprintf (front_door, sizeof front_door, "la-%s", s_areas [r->area]);
    snprintf (case_id, sizeof case_id, "Y-%u", event->referral);
    snprintf (holder_case, sizeof holder_case, "FD-%u", event->referral);
    const char *referrer = s_referrers [r->referrer];
    rh_envelope_t *envelope = NULL;
    int rc = 0;
    switch (event->kind) {
        case E_REFERRAL: {
            Rhannu__V1__Referral body = RHANNU__V1__REFERRAL__INIT;
            Rhannu__V1__Subject child = RHANNU__V1__SUBJECT__INIT;
            child.kind = RHANNU__V1__SUBJECT_KIND__CHILD;
            child.home_la = (char *) s_areas [r->area];
            child.subject_key.data = w->keys [r->person];
            child.subject_key.len = RH_SUBJECT_KEY_LEN;
            Rhannu__V1__Subject *subjects [] = { &child };
            Rhannu__V1__Category categories [] = {
                r->referral_kind == RHANNU__V1__REFERRAL_KIND__PPN
                    ? RHANNU__V1__CATEGORY__DOMESTIC_ABUSE
                    : (Rhannu__V1__Category) (1 + s_rand () % 12)
            };
            body.referral_kind = (Rhannu__V1__ReferralKind) r->referral_kind;
            body.subjects = subjects;
            body.n_subjects = 1;
            body.categories = categories;
            body.n_categories = 1;
            body.narrative = "generated referral: no personal data";
            envelope = rh_envelope_new (RH_KIND_REFERRAL);
            rh_envelope_add_to_front_door (envelope, s_areas [r->area], NULL);
            rh_envelope_set_case_id (envelope, case_id);
            rh_envelope_set_purpose (envelope, "SAFEGUARDING_CHILD");
            rc = rh_envelope_set_body (envelope, &body.base);
            rc = rc ? rc
                    : s_append (w, envelope, w->signers [r->referrer], "ACCEPTED", referrer,
                                front_door, case_id, event->at);
            //  The id is the signed message's: what receipts, outcomes and alerts answer.
            snprintf (r->msg_id, sizeof r->msg_id, "%s", rh_envelope_msg_id (envelope));
            break;
        }
        case E_RECEIPT: {
            Rhannu__V1__Receipt body = RHANNU__V1__RECEIPT__INIT;
            body.original_msg_id = r->msg_id;
            body.case_id = case_id;
            body.held_by = front_door;
            body.received_ms = r->at;
            body.outcome_due_ms = r->due;
            body.summary_en = "Received.";
            body.summary_cy = "Derbyniwyd.";
            envelope = rh_envelope_new (RH_KIND_RECEIPT);
            rh_envelope_add_to_agency (envelope, referrer, NULL);
            rh_envelope_set_case_id (envelope, case_id);
            rh_envelope_set_in_reply_to (envelope, r->msg_id);
            rc = rh_envelope_set_body (envelope, &body.base);
            rc = rc ? rc
                    : s_append (w, envelope, w->broker, "NOTICE", "broker", referrer, case_id,
                                event->at);
            break;
        }
        case E_OUTCOME:
        case E_CLOSED: {
            Rhannu__V1__Outcome outcome = RHANNU__V1__OUTCOME__INIT;
            Rhannu__V1__StatusUpdate update = RHANNU__V1__STATUS_UPDATE__INIT;
            outcome.decision = (Rhannu__V1__Decision) r->decision;
            outcome.rationale = "generated";
            update.update_kind = RHANNU__V1__UPDATE_KIND__CLOSED;
            update.closure_reason = "generated";
            envelope = rh_envelope_new (event->kind == E_OUTCOME ? RH_KIND_OUTCOME
                                                                 : RH_KIND_STATUS_UPDATE);
            rh_envelope_add_to_agency (envelope, referrer, NULL);
            rh_envelope_set_case_id (envelope, holder_case);
            rh_envelope_set_in_reply_to (envelope, r->msg_id);
            rh_envelope_set_purpose (envelope, "REFERRER_FEEDBACK");
            rc = rh_envelope_set_body (envelope,
                                       event->kind == E_OUTCOME ? &outcome.base : &update.base);
            rc = rc ? rc
                    : s_append (w, envelope, w->signers [S_REFERRERS + r->area], "ACCEPTED",
                                front_door, referrer, holder_case, event->at);
            break;
        }
        case E_OVERDUE:
        case E_REPEAT: {
            Rhannu__V1__Alert body = RHANNU__V1__ALERT__INIT;
            char *related [] = { r->msg_id };
            body.alert_kind = event->kind == E_OVERDUE ? RHANNU__V1__ALERT_KIND__OUTCOME_OVERDUE
                                                       : RHANNU__V1__ALERT_KIND__REPEAT_REFERRALS;
            body.summary_en = "Generated alert.";
            body.summary_cy = "Rhybudd wedi'i gynhyrchu.";
            body.related_msg_ids = related;
            body.n_related_msg_ids = 1;
            body.due_ms = r->due;
            body.outage_attributed = event->kind == E_OVERDUE && r->outage;
            body.holder = front_door;
            if (event->kind == E_REPEAT) {
                body.subject_key.data = w->keys [r->person];
                body.subject_key.len = RH_SUBJECT_KEY_LEN;
                body.count = 3;
                body.window_days = 90;
            }
            envelope = rh_envelope_new (RH_KIND_ALERT);
            rh_envelope_add_to_agency (envelope, front_door, NULL);
            rh_envelope_set_case_id (envelope, holder_case);
            rc = rh_envelope_set_body (envelope, &body.base);
            rc = rc ? rc
                    : s_append (w, envelope, w->broker, "NOTICE", "broker", front_door, holder_case,
                                event->at);
            break;
        }
        case E_REFUSED: {
            //  Most refusals are policy's (a rule's condition, or no rule at all); a few come
            //  before any rule (a signature, a certificate).
            static const char *const rules [] = { "R1", "R1", "R2", "R99", "" };
            static const char *const conditions [] = { "consent", "family_aware", "consent", "",
                                                       "" };
            static const char *const codes [] = { "RH_E_SIG", "RH_E_CERT_UNKNOWN", "RH_E_REVOKED" };
            char msg_id [40];
            snprintf (msg_id, sizeof msg_id, "refused-%u", event->referral);
            int which = (int) (s_rand () % 6);
            rh_audit_decision_t decision = { .recipient = front_door,
                                             .agreement_id = "GWENT-CARDIFF-YEAR",
                                             .agreement_version = 1,
                                             .rule_id = which < 5 ? rules [which] : "",
                                             .missing_condition =
                                                 which < 5 ? conditions [which] : "" };
            rh_audit_record_t record = { .event = "REJECTED",
                                         .code = which < 5 ? "RH_E_POLICY" : codes [s_rand () % 3],
                                         .msg_id = msg_id,
                                         .agency = referrer,
                                         .decisions = which < 5 ? &decision : NULL,
                                         .decision_count = which < 5 ? 1 : 0 };
            rc = rh_audit_append_at (w->audit, &record, event->at);
            w->records++;
            break;
        }
    }
    rh_envelope_destroy (&envelope);
    return rc;
}

//  The agreement as the broker keeps it (g/<id>/<version>: signature room, then the file).
static int
s_keep_agreement (rh_db_t *db, const char *labels [], size_t label_count)
{
    char yaml [8192];
    size_t used = 0;
    used += (size_t) snprintf (yaml + used, sizeof yaml - used,
                               "id: GWENT-CARDIFF-YEAR\nversion: 1\nlocal_authorities: [");
    for (int a = 0; a < S_AREAS; a++)
        used += (size_t) snprintf (yaml + used, sizeof yaml - used, "%s, ", s_areas [a]);
    used += (size_t) snprintf (yaml + used, sizeof yaml - used, "powys]\nparties:\n");
    const char *names [S_REFERRERS] = { "Gwent Police", "Aneurin Bevan University Health Board",
                                        "Gwent schools", "Gwent Women's Aid" };
    for (int r = 0; r < S_REFERRERS; r++) {
        const char *label = names [r];
        size_t n = strlen (s_referrers [r]);
        for (size_t l = 0; l < label_count; l++)
            if (!strncmp (labels [l], s_referrers [r], n) && labels [l][n] == '=')
                label = labels [l] + n + 1;
        //  A double-quoted YAML scalar: backslash and quote escaped.
        used += (size_t) snprintf (yaml + used, sizeof yaml - used, "  - id: %s\n    label: \"",
                                   s_referrers [r]);
        for (const char *p = label; *p && used + 4 < sizeof yaml; p++) {
            if (*p == '"' || *p == '\\')
                yaml [used++] = '\\';
            yaml [used++] = *p;
        }
        used += (size_t) snprintf (yaml + used, sizeof yaml - used, "\"\n");
    }
    for (int a = 0; a < S_AREAS; a++)
        used += (size_t) snprintf (yaml + used, sizeof yaml - used,
                                   "  - {id: la-%s, label: \"%c%s front door\", front_door_for: "
                                   "[%s]}\n",
                                   s_areas [a], s_areas [a][0] - 'a' + 'A', s_areas [a] + 1,
                                   s_areas [a]);
    used += (size_t) snprintf (
        yaml + used, sizeof yaml - used,
        "rules:\n"
        "  - {id: R1, description: \"referrals to the front door of the subject's local "
        "authority, with consent unless harm is significant\"}\n"
        "  - {id: R2, description: \"transfers to partners within the consent given\"}\n"
        "  - {id: R99, effect: deny, description: \"anything else is not shared\"}\n");
    if (used >= sizeof yaml)
        return -1;
    uint8_t *value = calloc (1, RH_SIG_LEN + used);
    if (!value)
        return -1;
    memcpy (value + RH_SIG_LEN, yaml, used);
    const char *key = "g/GWENT-CARDIFF-YEAR/0000000001";
    rh_db_put (db, key, strlen (key), value, RH_SIG_LEN + used);
    free (value);
    return 0;
}

int
main (int argc, char **argv)
{
    if (argc < 4) {
        fprintf (stderr, "usage: rh-bench-year DATA-DIR PKI-DIR N [--from DAY] "
                         "[--label AGENCY=TEXT]...\n");
        return 2;
    }
    setenv ("RH_LOG_LEVEL", "error", 0);
    long count = strtol (argv [3], NULL, 10);
    //  From tomorrow: the board's CA and the agencies' certificates, made just before, must be
    //  valid when each message is signed.
    int64_t start = (rh_time_now_ms () / S_DAY_MS + 1) * S_DAY_MS;
    const char *labels [8];
    size_t label_count = 0;
    for (int i = 4; i + 1 < argc; i += 2) {
        if (!strcmp (argv [i], "--from") && rh_report_parse_day (argv [i + 1], &start) == 0)
            continue;
        if (!strcmp (argv [i], "--label") && label_count < 8) {
            labels [label_count++] = argv [i + 1];
            continue;
        }
        fprintf (stderr, "rh-bench-year: cannot read %s %s\n", argv [i], argv [i + 1]);
        return 2;
    }
    if (count < 10 || count > 10000000)
        return 2;
    s_writer_t w = { 0 };
    char path [PATH_MAX];
    for (int s = 0; s < S_REFERRERS + S_AREAS; s++) {
        if (s < S_REFERRERS)
            rh_file_path (path, sizeof path, "%s/%s", argv [2], s_referrers [s]);
        else
            rh_file_path (path, sizeof path, "%s/la-%s", argv [2], s_areas [s - S_REFERRERS]);
        if (!(w.signers [s] = rh_signer_load (path))) {
            fprintf (stderr, "rh-bench-year: no signer in %s\n", path);
            return 1;
        }
    }
    rh_file_path (path, sizeof path, "%s/broker", argv [2]);
    w.broker = rh_signer_load (path);
    w.db = rh_db_open (argv [1]);
    w.audit = w.db ? rh_audit_new (w.db) : NULL;
    size_t people = (size_t) count;
    w.keys = calloc (people, sizeof *w.keys);
    w.referrals = calloc ((size_t) count, sizeof *w.referrals);
    size_t max_events = (size_t) count * 5 + 16;
    s_event_t *events = calloc (max_events, sizeof *events);
    if (!w.broker || !w.audit || !w.keys || !w.referrals || !events)
        return 1;
    randombytes_buf (w.keys, people * sizeof *w.keys);
    struct timespec t0, t1;
    clock_gettime (CLOCK_MONOTONIC, &t0);

    //  Days weighted by weekday (Mondays busiest, weekends quiet), times in office hours mostly.
    int day_weight [365];
    for (int d = 0; d < 365; d++) {
        time_t seconds = (time_t) ((start + d * S_DAY_MS) / 1000);
        struct tm tm;
        gmtime_r (&seconds, &tm);
        day_weight [d] = tm.tm_wday == 1 ? 30 : tm.tm_wday == 0 || tm.tm_wday == 6 ? 6 : 18;
    }
    int64_t end = start + 365 * S_DAY_MS;
    int64_t outage_from = start + 190 * S_DAY_MS, outage_to = outage_from + 9 * S_DAY_MS;
    size_t n_events = 0, next_person = 0;
    long repeats = 0, repeat_people = 0;
    for (long i = 0; i < count; i++) {
        s_referral_t *r = &w.referrals [i];
        r->referrer = (uint8_t) s_pick (s_referrer_weight, S_REFERRERS);
        r->area = (uint8_t) s_pick (s_area_weight, S_AREAS);
        r->referral_kind = r->referrer == 0   ? RHANNU__V1__REFERRAL_KIND__PPN
                           : r->referrer == 1 ? RHANNU__V1__REFERRAL_KIND__DUTY_TO_REPORT
                                              : RHANNU__V1__REFERRAL_KIND__PROFESSIONAL;
        int day = s_pick (day_weight, 365);
        r->at = start + day * S_DAY_MS + 7 * S_HOUR_MS + (int64_t) (s_uniform () * 11 * S_HOUR_MS);
        r->person = (uint32_t) next_person++;
        r->decision = s_decision (r->referral_kind);
        //  About one person in fifty is referred three times within weeks, each NFA'd: the
        //  broker alerts on the third; four in ten of them are referred again and escalated.
        bool repeat = i + 4 < count && s_rand () % 100 < 2 && r->at + 100 * S_DAY_MS < end;
        int times = repeat ? 3 + (s_rand () % 10 < 4) : 1;
        for (int k = 0; k < times && i < count; k++) {
            r = &w.referrals [i];
            if (k > 0) {
                *r = w.referrals [i - 1];
                r->at += (int64_t) (10 + s_rand () % 20) * S_DAY_MS;
                r->referrer = (uint8_t) s_pick (s_referrer_weight, S_REFERRERS);
                r->referral_kind = r->referrer == 0 ? RHANNU__V1__REFERRAL_KIND__PPN
                                                    : RHANNU__V1__REFERRAL_KIND__PROFESSIONAL;
            }
            if (repeat)
                r->decision = k < 3 ? RHANNU__V1__DECISION__NO_FURTHER_ACTION
                                    : RHANNU__V1__DECISION__STRATEGY_DISCUSSION;
            int64_t deadline_days =
                r->referral_kind == RHANNU__V1__REFERRAL_KIND__DUTY_TO_REPORT ? 7 : 5;
            r->due = r->at + deadline_days * S_DAY_MS;
            //  Time to outcome: most within a day or two, a tail past the deadline.
            double u = s_uniform ();
            double days = u < 0.45   ? s_uniform ()
                          : u < 0.75 ? 1 + 2 * s_uniform ()
                          : u < 0.90 ? 3 + 2 * s_uniform ()
                          : u < 0.97 ? 5 + 5 * s_uniform ()
                                     : 10 + 15 * s_uniform ();
            bool down = r->area == S_OUTAGE_AREA && r->at >= outage_from && r->at < outage_to;
            if (down)
                days = (double) (outage_to - r->at) / S_DAY_MS + 1 + 2 * s_uniform ();
            int64_t decided = r->at + (int64_t) (days * S_DAY_MS);
            events [n_events++] = (s_event_t){ r->at, (uint32_t) i, E_REFERRAL };
            events [n_events++] = (s_event_t){ r->at + 1000, (uint32_t) i, E_RECEIPT };
            if (decided > r->due && r->due < end) {
                r->outage = down;
                events [n_events++] = (s_event_t){ r->due + S_HOUR_MS, (uint32_t) i, E_OVERDUE };
            }
            if (decided < end && !(s_rand () % 100 < 2 && !repeat)) {
                events [n_events++] = (s_event_t){ decided, (uint32_t) i, E_OUTCOME };
                if (repeat && k == 2) {
                    events [n_events++] =
                        (s_event_t){ decided + S_HOUR_MS, (uint32_t) i, E_REPEAT };
                    repeat_people++;
                }
                if (s_rand () % 10 < 3 && decided + 3 * S_DAY_MS < end)
                    events [n_events++] =
                        (s_event_t){ decided + 3 * S_DAY_MS, (uint32_t) i, E_CLOSED };
            }
            else
                r->decision = 0;
            if (s_rand () % 1000 < 15)
                events [n_events++] = (s_event_t){ r->at + 60000, (uint32_t) i, E_REFUSED };
            if (k + 1 < times)
                i++;
            repeats += k > 0;
        }
    }
    qsort (events, n_events, sizeof *events, s_by_time);
    if (s_keep_agreement (w.db, labels, label_count) != 0)
        return 1;
    for (size_t e = 0; e < n_events; e++) {
        if (s_write (&w, &events [e]) != 0) {
            fprintf (stderr, "rh-bench-year: cannot write event %zu\n", e);
            return 1;
        }
        if (w.records % 1000 == 999)
            rh_audit_checkpoint (w.audit, w.broker, events [e].at);
        if (e % 5000 == 4999 && rh_db_commit (w.db, false) != 0)
            return 1;
    }
    rh_audit_checkpoint (w.audit, w.broker, n_events ? events [n_events - 1].at + 1000 : start);
    if (rh_db_commit (w.db, true) != 0)
        return 1;
    clock_gettime (CLOCK_MONOTONIC, &t1);
    printf ("bench year: %ld referrals (%ld repeats, %ld people alerted) over 365 days from "
            "the store's first day, %" PRIu64 " records written in %.1f s\n",
            count, repeats, repeat_people, rh_audit_size (w.audit),
            (double) (t1.tv_sec - t0.tv_sec) + (double) (t1.tv_nsec - t0.tv_nsec) / 1e9);
    rh_audit_destroy (&w.audit);
    rh_db_destroy (&w.db);
    for (int s = 0; s < S_REFERRERS + S_AREAS; s++)
        rh_signer_destroy (&w.signers [s]);
    rh_signer_destroy (&w.broker);
    free (events);
    free (w.keys);
    free (w.referrals);
    return 0;
}
