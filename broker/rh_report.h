/*  =========================================================================
    rh_report - the figures boards ask for, from the audit log

    rhannu-audit report: for one period, referrals by month, local
    authority, referring agency and kind; time to outcome against the
    deadline; outcomes and no-further-action rates by referring agency and
    kind; repeat referrals and whether they were escalated; overdue and
    outage-attributed breaches; refusals by rule with the rule's sentence;
    and the boards' Alerts, Assurance and Achievements summary. Gathered in
    one pass over a log that has verified (the caller's check), so every
    figure comes from records the auditor can prove, with the agencies'
    labels and rules' sentences from the agreements the broker kept.

    This class computes; it writes nothing but JSON. The figures are one
    JSON object (numbers as numbers), which rh_report_html and
    rh_report_csv render, in the words of rh_report_text.
    =========================================================================
*/
#ifndef RH_REPORT_H_INCLUDED
#define RH_REPORT_H_INCLUDED

typedef struct _rh_report_t rh_report_t;

//  What the report covers and for whom.
typedef struct {
    int64_t from_ms;    //  first moment of the period; 0: from the log's first record
    int64_t to_ms;      //  first moment after the period; 0: to the log's last record
    const char *board;  //  the board's name as it should be printed; NULL or "": none given
    int64_t now_ms;     //  when the report is made (printed as its generation time)
} rh_report_scope_t;

//  Gathers the figures from the committed log in db (borrowed), with the result of
//  rh_audit_verify on it (check: its size and root head the report), for scope. NULL on failure.
rh_report_t *rh_report_new (rh_db_t *db, const rh_audit_check_t *check,
                            const rh_report_scope_t *scope);

void rh_report_destroy (rh_report_t **self_p);

//  All the figures as one JSON object (borrowed, valid until destroy).
const json_t *rh_report_figures (rh_report_t *self);

//  Writes the figures as indented JSON and a newline.
void rh_report_print (rh_report_t *self, FILE *out);

//  Parses a day "YYYY-MM-DD" (UTC) into the milliseconds of its first moment. Returns 0, or -1
//  if text is not such a day.
int rh_report_parse_day (const char *text, int64_t *ms);

#endif
