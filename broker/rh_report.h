/*  =========================================================================
    rh_report - the figures boards ask for, from the audit log

    rhannu-audit report: volumes by agency, kind, category, local authority
    and month, time to outcome, deadlines met, no-further-action rates,
    refusals by rule, overdue and repeat-referral alerts, and the boards'
    Alerts, Assurance and Achievements summary. Gathered in one pass over a
    log that has verified (the caller's check), so every figure comes from
    records the auditor can prove; rendered as JSON, CSV files or one
    self-contained HTML page (inline SVG, no scripts, nothing from the
    network, so it opens anywhere a board member reads it).
    =========================================================================
*/
#ifndef RH_REPORT_H_INCLUDED
#define RH_REPORT_H_INCLUDED

typedef struct _rh_report_t rh_report_t;

//  Gathers the figures from the committed log in db (borrowed), with the result of
//  rh_audit_verify on it (check: its size and root head the report). NULL on failure.
rh_report_t *rh_report_new (rh_db_t *db, const rh_audit_check_t *check);

void rh_report_destroy (rh_report_t **self_p);

//  All the figures as one JSON object (borrowed, valid until destroy).
const json_t *rh_report_figures (rh_report_t *self);

//  Writes the figures as indented JSON and a newline.
void rh_report_print (rh_report_t *self, FILE *out);

//  Writes one CSV file per breakdown into dir (made if missing). A file that cannot be
//  written is left out, as the other files still serve.
void rh_report_write_csv (rh_report_t *self, const char *dir);

//  Writes the HTML page to path. Returns 0 or -1.
int rh_report_write_html (rh_report_t *self, const char *path);

#endif
