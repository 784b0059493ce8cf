/*  =========================================================================
    rh_report_csv - the board report's breakdowns as CSV files (RFC 4180)
    =========================================================================
*/
#include "rh_broker_classes.h"

void
rh_report_csv_field (FILE *out, const char *text)
{
    assert (out);
    text = text ? text : "";
    if (!strpbrk (text, ",\"\r\n")) {
        fputs (text, out);
        return;
    }
    fputc ('"', out);
    for (const char *p = text; *p; p++) {
        if (*p == '"')
            fputc ('"', out);
        fputc (*p, out);
    }
    fputc ('"', out);
}

//  Writes a row of fields: strings (quoted as needed) and, where text is NULL, number.
typedef struct {
    const char *text;
    double number;
    bool real;
} s_cell_t;

static void
s_row (FILE *out, const s_cell_t *cells, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (i)
            fputc (',', out);
        if (cells [i].text)
            rh_report_csv_field (out, cells [i].text);
        else if (cells [i].real)
            fprintf (out, "%.1f", cells [i].number);
        else
            fprintf (out, "%.0f", cells [i].number);
    }
    fputs ("\r\n", out);
}

#define S_TEXT(t) ((s_cell_t){ .text = (t) ? (t) : "" })
#define S_INT(n)  ((s_cell_t){ .number = (double) (n) })
#define S_REAL(n) ((s_cell_t){ .number = (n), .real = true })

static FILE *
s_open (const char *dir, const char *name, int *rc)
{
    char path [PATH_MAX];
    rh_file_path (path, sizeof path, "%s/%s.csv", dir, name);
    FILE *out = fopen (path, "w");
    if (!out)
        *rc = -1;
    return out;
}

static void
s_close (FILE *out, int *rc)
{
    if (out && fclose (out) != 0)
        *rc = -1;
}

static const char *
s_string (const json_t *object, const char *key)
{
    return json_string_value (json_object_get (object, key));
}

static double
s_number (const json_t *object, const char *key)
{
    return json_number_value (json_object_get (object, key));
}

//  name -> count, with a label column when labels is not NULL.
static void
s_counts (const char *dir, const char *file, const json_t *counts, const char *column,
          const json_t *labels, const char *label_column, int *rc)
{
    FILE *out = s_open (dir, file, rc);
    if (!out)
        return;
    s_cell_t head [] = { S_TEXT (column), S_TEXT (label_column), S_TEXT ("referrals") };
    if (labels)
        s_row (out, head, 3);
    else {
        head [1] = head [2];
        s_row (out, head, 2);
    }
    const char *name;
    json_t *value;
    json_object_foreach ((json_t *) counts, name, value)
    {
        const char *label = labels ? json_string_value (json_object_get (labels, name)) : NULL;
        s_cell_t row [] = { S_TEXT (name), S_TEXT (label ? label : name),
                            S_INT (json_integer_value (value)) };
        if (labels)
            s_row (out, row, 3);
        else {
            row [1] = row [2];
            s_row (out, row, 2);
        }
    }
    s_close (out, rc);
}

static void
s_outcomes (const char *dir, const char *file, const json_t *outcomes, const char *column,
            const json_t *labels, int *rc)
{
    FILE *out = s_open (dir, file, rc);
    if (!out)
        return;
    s_cell_t head [] = { S_TEXT (column), S_TEXT ("label"), S_TEXT ("outcomes"), S_TEXT ("nfa"),
                         S_TEXT ("nfa_percent") };
    s_row (out, head, 5);
    const char *name;
    json_t *entry;
    json_object_foreach ((json_t *) outcomes, name, entry)
    {
        const char *label = labels ? json_string_value (json_object_get (labels, name)) : NULL;
        s_cell_t row [] = { S_TEXT (name), S_TEXT (label ? label : name),
                            S_INT (s_number (entry, "decided")), S_INT (s_number (entry, "nfa")),
                            S_REAL (s_number (entry, "nfa_percent")) };
        s_row (out, row, 5);
    }
    s_close (out, rc);
}

int
rh_report_csv_write (const json_t *figures, const char *dir)
{
    assert (figures && dir);
    int rc = 0;
    rh_file_mkdir (dir, 0755);
    const json_t *labels = json_object_get (figures, "labels");
    //  The summary: what the report covers and its headline figures, one a row.
    FILE *out = s_open (dir, "summary", &rc);
    if (out) {
        const json_t *report = json_object_get (figures, "report");
        const json_t *log = json_object_get (figures, "log");
        s_cell_t head [] = { S_TEXT ("figure"), S_TEXT ("value") };
        s_row (out, head, 2);
        const char *texts [][2] = { { "board", s_string (report, "board") },
                                    { "from", s_string (report, "from") },
                                    { "to", s_string (report, "to") },
                                    { "generated", s_string (report, "generated") },
                                    { "log_root", s_string (log, "root") } };
        for (size_t i = 0; i < sizeof texts / sizeof texts [0]; i++) {
            s_cell_t row [] = { S_TEXT (texts [i][0]), S_TEXT (texts [i][1]) };
            s_row (out, row, 2);
        }
        const char *numbers [] = { "referrals",
                                   "decided",
                                   "referrers_told",
                                   "closed",
                                   "outcomes_with_deadline",
                                   "outcomes_within_deadline",
                                   "awaiting_outcome",
                                   "awaiting_outcome_past_deadline",
                                   "refusals" };
        s_cell_t records [] = { S_TEXT ("log_records"), S_INT (s_number (log, "records")) };
        s_row (out, records, 2);
        for (size_t i = 0; i < sizeof numbers / sizeof numbers [0]; i++) {
            s_cell_t row [] = { S_TEXT (numbers [i]), S_INT (s_number (figures, numbers [i])) };
            s_row (out, row, 2);
        }
        s_close (out, &rc);
    }
    s_counts (dir, "by_month", json_object_get (figures, "by_month"), "month", NULL, NULL, &rc);
    s_counts (dir, "by_local_authority", json_object_get (figures, "by_local_authority"),
              "local_authority", json_object_get (figures, "area_names"), "name", &rc);
    s_counts (dir, "by_referrer", json_object_get (figures, "by_referrer"), "agency", labels,
              "label", &rc);
    s_counts (dir, "by_referral_kind", json_object_get (figures, "by_referral_kind"), "kind", NULL,
              NULL, &rc);
    s_counts (dir, "by_category", json_object_get (figures, "by_category"), "category", NULL, NULL,
              &rc);
    s_outcomes (dir, "outcomes_by_referrer", json_object_get (figures, "outcomes_by_referrer"),
                "agency", labels, &rc);
    s_outcomes (dir, "outcomes_by_kind", json_object_get (figures, "outcomes_by_kind"), "kind",
                NULL, &rc);
    if ((out = s_open (dir, "time_to_outcome", &rc))) {
        s_cell_t head [] = { S_TEXT ("days"), S_TEXT ("within_deadline"), S_TEXT ("after_deadline"),
                             S_TEXT ("no_deadline") };
        s_row (out, head, 4);
        const char *bucket;
        json_t *entry;
        json_object_foreach (json_object_get (figures, "time_to_outcome_days"), bucket, entry)
        {
            s_cell_t row [] = { S_TEXT (bucket), S_INT (s_number (entry, "within")),
                                S_INT (s_number (entry, "late")),
                                S_INT (s_number (entry, "no_deadline")) };
            s_row (out, row, 4);
        }
        s_close (out, &rc);
    }
    if ((out = s_open (dir, "refusals_by_rule", &rc))) {
        s_cell_t head [] = { S_TEXT ("agreement"), S_TEXT ("rule"), S_TEXT ("description"),
                             S_TEXT ("refusals") };
        s_row (out, head, 4);
        const char *key;
        json_t *entry;
        json_object_foreach (json_object_get (figures, "refusals_by_rule"), key, entry)
        {
            s_cell_t row [] = { S_TEXT (s_string (entry, "agreement")),
                                S_TEXT (s_string (entry, "rule")),
                                S_TEXT (s_string (entry, "description")),
                                S_INT (s_number (entry, "count")) };
            s_row (out, row, 4);
        }
        s_close (out, &rc);
    }
    //  Strategy meetings: by agency, invitations to meetings held and absences.
    if ((out = s_open (dir, "strategy_meetings_by_agency", &rc))) {
        s_cell_t head [] = { S_TEXT ("agency"), S_TEXT ("label"), S_TEXT ("invited"),
                             S_TEXT ("absent") };
        s_row (out, head, 4);
        const char *agency;
        json_t *entry;
        json_object_foreach (
            json_object_get (json_object_get (figures, "strategy_meetings"), "by_agency"), agency,
            entry)
        {
            const char *label =
                labels ? json_string_value (json_object_get (labels, agency)) : NULL;
            s_cell_t row [] = { S_TEXT (agency), S_TEXT (label ? label : agency),
                                S_INT (s_number (entry, "invited")),
                                S_INT (s_number (entry, "absent")) };
            s_row (out, row, 4);
        }
        s_close (out, &rc);
    }
    if ((out = s_open (dir, "refusals_by_reason", &rc))) {
        s_cell_t head [] = { S_TEXT ("code"), S_TEXT ("refusals") };
        s_row (out, head, 2);
        const char *code;
        json_t *count;
        json_object_foreach (json_object_get (figures, "refusals_by_reason"), code, count)
        {
            s_cell_t row [] = { S_TEXT (code), S_INT (json_integer_value (count)) };
            s_row (out, row, 2);
        }
        s_close (out, &rc);
    }
    return rc;
}
