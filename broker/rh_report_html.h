/*  =========================================================================
    rh_report_html - the board report as one self-contained HTML page

    Renders rh_report's figures in one language (rh_report_text): a header
    with the board, period, generation time, log root and checkpoint; the
    Alerts, Assurance and Achievements summary; then one section per
    question a board asks, each with its definition, and in words when it
    has nothing to show. Inline SVG and CSS only: no scripts, nothing from
    the network, so it opens anywhere a board member reads it, and prints
    on A4 with no section split across pages. Every text that came from
    outside (labels, rule sentences, board name) is escaped.
    =========================================================================
*/
#ifndef RH_REPORT_HTML_H_INCLUDED
#define RH_REPORT_HTML_H_INCLUDED

//  Writes the page for figures (rh_report_figures) in lang ("en" or "cy") to out.
void rh_report_html_print (const json_t *figures, const char *lang, FILE *out);

//  As rh_report_html_print, to the file at path. Returns 0, or -1 if it cannot be written.
int rh_report_html_write (const json_t *figures, const char *lang, const char *path);

//  Writes text to out with &, <, >, " and ' escaped.
void rh_report_html_escape (FILE *out, const char *text);

#endif
