/*  =========================================================================
    rh_report_csv - the board report's breakdowns as CSV files (RFC 4180)

    One file per breakdown, for people who put the figures in a
    spreadsheet: a header row, then one row per entry, with the agency's
    id and its label side by side. Every field that holds a comma, a quote
    or a line break is quoted, with quotes doubled; lines end in CRLF.
    =========================================================================
*/
#ifndef RH_REPORT_CSV_H_INCLUDED
#define RH_REPORT_CSV_H_INCLUDED

//  Writes one CSV file per breakdown of figures (rh_report_figures) into dir (made if
//  missing). Returns 0, or -1 if a file could not be written (the others are still written).
int rh_report_csv_write (const json_t *figures, const char *dir);

//  Writes one field to out, quoted if it needs to be (RFC 4180).
void rh_report_csv_field (FILE *out, const char *text);

#endif
