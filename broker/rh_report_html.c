/*  =========================================================================
    rh_report_html - the board report as one self-contained HTML page
    =========================================================================
*/
#include "rh_broker_classes.h"

//  The month chart's drawing area, in SVG user units (the SVG scales to the page's width).
#define S_CHART_W    640
#define S_CHART_H    250
#define S_CHART_LEFT 56  //  room for the y axis' numbers
#define S_CHART_TOP  18
#define S_CHART_BASE 200  //  the x axis
#define S_CHART_AXIS 236  //  where the axis title sits

void
rh_report_html_escape (FILE *out, const char *text)
{
    assert (out);
    for (const char *p = text ? text : ""; *p; p++)
        switch (*p) {
            case '&':
                fputs ("&amp;", out);
                break;
            case '<':
                fputs ("&lt;", out);
                break;
            case '>':
                fputs ("&gt;", out);
                break;
            case '"':
                fputs ("&quot;", out);
                break;
            case '\'':
                fputs ("&#39;", out);
                break;
            default:
                fputc (*p, out);
        }
}

//  n with thousands separated by commas (as both English and Welsh write them).
static const char *
s_num (json_int_t n, char buffer [32])
{
    char digits [32];
    snprintf (digits, sizeof digits, "%" JSON_INTEGER_FORMAT, n < 0 ? -n : n);
    size_t length = strlen (digits), at = 0;
    if (n < 0)
        buffer [at++] = '-';
    for (size_t i = 0; i < length; i++) {
        if (i && (length - i) % 3 == 0)
            buffer [at++] = ',';
        buffer [at++] = digits [i];
    }
    buffer [at] = 0;
    return buffer;
}

static const char *
s_percent (double percent, char buffer [32])
{
    snprintf (buffer, 32, "%.0f%%", percent);
    return buffer;
}

static json_int_t
s_int (const json_t *object, const char *key)
{
    return json_integer_value (json_object_get (object, key));
}

//  Writes a template of the text table with {1}..{3} replaced by args (escaped).
static void
s_say (FILE *out, const char *template, const char *a1, const char *a2, const char *a3)
{
    const char *args [] = { a1, a2, a3 };
    for (const char *p = template; *p; p++) {
        if (p [0] == '{' && p [1] >= '1' && p [1] <= '3' && p [2] == '}') {
            rh_report_html_escape (out, args [p [1] - '1']);
            p += 2;
        }
        else
            fputc (*p, out);
    }
}

typedef struct {
    FILE *out;
    const char *lang;
    const json_t *figures;
} s_page_t;

static const char *
s_t (s_page_t *page, rh_report_text_id_t id)
{
    return rh_report_text (page->lang, id);
}

static void
s_text (s_page_t *page, rh_report_text_id_t id)
{
    rh_report_html_escape (page->out, s_t (page, id));
}

//  An agency's label (from the agreements), or its id.
static const char *
s_label (s_page_t *page, const char *agency)
{
    const char *label =
        json_string_value (json_object_get (json_object_get (page->figures, "labels"), agency));
    return label ? label : agency;
}

//  A section's opening: its heading and its definition.
static void
s_section (s_page_t *page, const char *id, rh_report_text_id_t title, rh_report_text_id_t def)
{
    fprintf (page->out, "<section id=\"%s\">\n<h2>", id);
    s_text (page, title);
    fprintf (page->out, "</h2>\n<p class=\"def\">");
    s_text (page, def);
    fprintf (page->out, "</p>\n");
}

static void
s_empty (s_page_t *page, rh_report_text_id_t id)
{
    fprintf (page->out, "<p class=\"empty\">");
    s_text (page, id);
    fprintf (page->out, "</p>\n");
}

//  One row of a bar table: label, a bar of value against whole (its share), the number and the
//  share. A zero row says so in words (none) instead of drawing an empty bar.
static void
s_bar_row (s_page_t *page, const char *label, json_int_t value, json_int_t whole, const char *none)
{
    char number [32], percent [32];
    double share = whole > 0 ? 100.0 * (double) value / (double) whole : 0;
    fprintf (page->out, "<tr><td>");
    rh_report_html_escape (page->out, label);
    fprintf (page->out, "</td><td class=\"barcell\">");
    if (value > 0)
        fprintf (page->out, "<span class=\"bar\" style=\"width:%.1f%%\"></span>", share);
    fprintf (page->out, "</td><td class=\"n\">");
    if (value == 0 && none)
        rh_report_html_escape (page->out, none);
    else
        fprintf (page->out, "%s (%s)", s_num (value, number), s_percent (share, percent));
    fprintf (page->out, "</td></tr>\n");
}

static void
s_table_head (s_page_t *page, rh_report_text_id_t first, rh_report_text_id_t second,
              rh_report_text_id_t third)
{
    fprintf (page->out, "<table class=\"bars\"><colgroup><col class=\"c1\"><col class=\"c2\">"
                        "<col class=\"c3\"></colgroup>\n<thead><tr><th>");
    s_text (page, first);
    fprintf (page->out, "</th><th>");
    s_text (page, second);
    fprintf (page->out, "</th><th class=\"n\">");
    s_text (page, third);
    fprintf (page->out, "</th></tr></thead>\n<tbody>\n");
}

//  ---------------------------------------------------------------------------------------------

static void
s_header (s_page_t *page)
{
    FILE *out = page->out;
    const json_t *report = json_object_get (page->figures, "report");
    const json_t *log = json_object_get (page->figures, "log");
    const char *board = json_string_value (json_object_get (report, "board"));
    char number [32], size [32];
    fprintf (out, "<header>\n<h1>");
    s_text (page, RH_T_TITLE);
    fprintf (out, "</h1>\n<p class=\"sub\">");
    s_text (page, RH_T_SUBTITLE);
    fprintf (out, "</p>\n<dl class=\"meta\">\n<dt>");
    s_text (page, RH_T_BOARD);
    fprintf (out, "</dt><dd id=\"board\">");
    rh_report_html_escape (out, board ? board : s_t (page, RH_T_NO_BOARD));
    fprintf (out, "</dd>\n<dt>");
    s_text (page, RH_T_PERIOD);
    fprintf (out, "</dt><dd id=\"period\">");
    s_say (out, s_t (page, RH_T_PERIOD_RANGE), json_string_value (json_object_get (report, "from")),
           json_string_value (json_object_get (report, "to")), NULL);
    fprintf (out, "</dd>\n<dt>");
    s_text (page, RH_T_GENERATED);
    fprintf (out, "</dt><dd id=\"generated\">");
    rh_report_html_escape (out, json_string_value (json_object_get (report, "generated")));
    fprintf (out, "</dd>\n<dt>");
    s_text (page, RH_T_SOURCE);
    fprintf (out, "</dt><dd id=\"source\">");
    s_say (out, s_t (page, RH_T_SOURCE_TEXT), s_num (s_int (log, "records"), number),
           json_string_value (json_object_get (log, "root")), NULL);
    fprintf (out, "</dd>\n<dt>");
    s_text (page, RH_T_CHECKPOINT);
    fprintf (out, "</dt><dd id=\"checkpoint\">");
    const json_t *checkpoint = json_object_get (log, "checkpoint");
    if (json_is_object (checkpoint)) {
        s_say (out, s_t (page, RH_T_CHECKPOINT_TEXT),
               json_string_value (json_object_get (checkpoint, "time")),
               s_num (s_int (checkpoint, "size"), size),
               json_string_value (json_object_get (checkpoint, "root")));
        fprintf (out, "; ");
        const json_t *witnesses = json_object_get (checkpoint, "cosigned_by");
        if (json_array_size (witnesses)) {
            char names [1024] = "";
            size_t i;
            json_t *name;
            json_array_foreach (witnesses, i, name)
            {
                size_t used = strlen (names);
                snprintf (names + used, sizeof names - used, "%s%s", i ? ", " : "",
                          json_string_value (name));
            }
            s_say (out, s_t (page, RH_T_COSIGNED), names, NULL, NULL);
        }
        else
            s_text (page, RH_T_NOT_COSIGNED);
    }
    else
        s_text (page, RH_T_NO_CHECKPOINT);
    fprintf (out, "</dd>\n</dl>\n</header>\n");
}

//  Alerts, Assurance and Achievements: only sentences whose figures mean something.
static void
s_aaa (s_page_t *page)
{
    FILE *out = page->out;
    const json_t *aaa = json_object_get (page->figures, "aaa");
    const json_t *alerts = json_object_get (aaa, "alerts");
    const json_t *assurance = json_object_get (aaa, "assurance");
    const json_t *achievements = json_object_get (aaa, "achievements");
    char a [32], b [32], c [32];
    fprintf (out, "<section id=\"aaa\">\n<h2>");
    s_text (page, RH_T_AAA);
    fprintf (out, "</h2>\n<div class=\"aaa\">\n<div><h3>");
    s_text (page, RH_T_ALERTS);
    fprintf (out, "</h3><ul>\n<li>");
    if (s_int (alerts, "outcome_overdue"))
        s_say (out, s_t (page, RH_T_A_OVERDUE), s_num (s_int (alerts, "outcome_overdue"), a),
               s_num (s_int (alerts, "outcome_overdue_outage"), b), NULL);
    else
        s_text (page, RH_T_A_NO_OVERDUE);
    fprintf (out, "</li>\n<li>");
    if (s_int (alerts, "repeat_referral_people"))
        s_say (out, s_t (page, RH_T_A_REPEAT), s_num (s_int (alerts, "repeat_referral_people"), a),
               NULL, NULL);
    else
        s_text (page, RH_T_A_NO_REPEAT);
    fprintf (out, "</li>\n<li>");
    if (s_int (alerts, "refusals"))
        s_say (out, s_t (page, RH_T_A_REFUSED), s_num (s_int (alerts, "refusals"), a), NULL, NULL);
    else
        s_text (page, RH_T_A_NO_REFUSED);
    fprintf (out, "</li>\n</ul></div>\n<div><h3>");
    s_text (page, RH_T_ASSURANCE);
    fprintf (out, "</h3><ul>\n<li>");
    s_text (page, RH_T_A_VERIFIED);
    fprintf (out, "</li>\n<li>");
    json_int_t with = s_int (assurance, "outcomes_with_deadline");
    if (with > 0)
        s_say (out, s_t (page, RH_T_A_WITHIN),
               s_num (s_int (assurance, "outcomes_within_deadline"), a), s_num (with, b),
               s_percent (
                   json_number_value (json_object_get (assurance, "within_deadline_percent")), c));
    else
        s_text (page, RH_T_A_NO_OUTCOMES);
    fprintf (out, "</li>\n</ul></div>\n<div><h3>");
    s_text (page, RH_T_ACHIEVEMENTS);
    fprintf (out, "</h3><ul>\n<li>");
    json_int_t referrals = s_int (achievements, "referrals");
    json_int_t decided = s_int (achievements, "decided");
    if (referrals > 0)
        s_say (out, s_t (page, RH_T_A_DECIDED), s_num (decided, a), s_num (referrals, b), NULL);
    else
        s_text (page, RH_T_A_NO_REFERRALS);
    if (decided > 0) {
        fprintf (out, "; ");
        s_say (out, s_t (page, RH_T_A_TOLD), s_num (s_int (achievements, "referrers_told"), a),
               NULL, NULL);
    }
    fprintf (out, "</li>\n<li>");
    s_say (out, s_t (page, RH_T_A_CLOSED), s_num (s_int (achievements, "cases_closed"), a), NULL,
           NULL);
    fprintf (out, "</li>\n</ul></div>\n</div>\n</section>\n");
}

//  1, 2 or 5 times a power of ten, at least top: the y axis' maximum.
static json_int_t
s_nice (json_int_t top)
{
    json_int_t step = 1;
    while (true) {
        if (top <= step)
            return step;
        if (top <= 2 * step)
            return 2 * step;
        if (top <= 5 * step)
            return 5 * step;
        step *= 10;
    }
}

//  Referrals by month: columns with a y axis of referrals and an x axis of months, and a line
//  through the columns' tops so the trend reads at a glance.
static void
s_months (s_page_t *page)
{
    FILE *out = page->out;
    const json_t *months = json_object_get (page->figures, "by_month");
    s_section (page, "by-month", RH_T_MONTH_TITLE, RH_T_MONTH_DEF);
    if (s_int (page->figures, "referrals") == 0 || json_object_size (months) == 0) {
        s_empty (page, RH_T_MONTH_EMPTY);
        fprintf (out, "</section>\n");
        return;
    }
    json_int_t top = 0;
    const char *month;
    json_t *value;
    json_object_foreach ((json_t *) months, month, value) if (json_integer_value (value) > top)
        top = json_integer_value (value);
    json_int_t scale = s_nice (top);
    size_t count = json_object_size (months);
    double slot = (double) (S_CHART_W - S_CHART_LEFT - 8) / (double) count;
    size_t every = (count + 11) / 12;  //  at most about twelve month labels
    char number [32];
    fprintf (
        out,
        "<svg class=\"trend\" viewBox=\"0 0 %d %d\" role=\"img\" aria-labelledby=\"by-month-t\">"
        "<title id=\"by-month-t\">",
        S_CHART_W, S_CHART_H);
    s_text (page, RH_T_MONTH_TITLE);
    fprintf (out, "</title>\n");
    for (int tick = 0; tick <= 4; tick++) {
        double y = S_CHART_BASE - (double) (S_CHART_BASE - S_CHART_TOP) * tick / 4.0;
        fprintf (out,
                 "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" class=\"%s\"/>"
                 "<text x=\"%d\" y=\"%.1f\" class=\"tick\" text-anchor=\"end\">%s</text>\n",
                 S_CHART_LEFT, y, S_CHART_W - 4, y, tick ? "grid" : "axis", S_CHART_LEFT - 6, y + 4,
                 s_num (scale * tick / 4, number));
    }
    fprintf (out, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"axis\"/>\n", S_CHART_LEFT,
             S_CHART_TOP, S_CHART_LEFT, S_CHART_BASE);
    fprintf (out,
             "<text x=\"12\" y=\"%d\" class=\"tick\" transform=\"rotate(-90 12 %d)\" "
             "text-anchor=\"middle\">",
             (S_CHART_TOP + S_CHART_BASE) / 2, (S_CHART_TOP + S_CHART_BASE) / 2);
    s_text (page, RH_T_MONTH_AXIS);
    fprintf (out, "</text>\n");
    size_t index = 0;
    char points [RH_REPORT_MAX_MONTHS * 24] = "";
    json_object_foreach ((json_t *) months, month, value)
    {
        json_int_t n = json_integer_value (value);
        double height = (double) (S_CHART_BASE - S_CHART_TOP) * (double) n / (double) scale;
        double x = S_CHART_LEFT + 4 + slot * (double) index;
        double width = slot * 0.7;
        int year = 0, m = 0;
        sscanf (month, "%d-%d", &year, &m);
        fprintf (out,
                 "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" class=\"col\">"
                 "<title>%s: %s</title></rect>\n",
                 x, S_CHART_BASE - height, width, height, month, s_num (n, number));
        if (count <= 24)
            fprintf (out,
                     "<text x=\"%.1f\" y=\"%.1f\" class=\"val\" text-anchor=\"middle\">%s</text>\n",
                     x + width / 2, S_CHART_BASE - height - 3, number);
        if (index % every == 0) {
            fprintf (out, "<text x=\"%.1f\" y=\"%d\" class=\"tick\" text-anchor=\"middle\">",
                     x + width / 2, S_CHART_BASE + 14);
            rh_report_html_escape (out, rh_report_text_month (page->lang, m));
            fprintf (out, "</text>");
            if (index == 0 || m == 1)
                fprintf (
                    out,
                    "<text x=\"%.1f\" y=\"%d\" class=\"tick\" text-anchor=\"middle\">%d</text>",
                    x + width / 2, S_CHART_BASE + 27, year);
            fprintf (out, "\n");
        }
        size_t used = strlen (points);
        snprintf (points + used, sizeof points - used, "%.1f,%.1f ", x + width / 2,
                  S_CHART_BASE - height);
        index++;
    }
    fprintf (out, "<polyline points=\"%s\" class=\"trendline\"/>\n", points);
    fprintf (out, "</svg>\n</section>\n");
}

//  A breakdown of referrals as bars, each a share of all referrals in the period.
static void
s_breakdown (s_page_t *page, const char *id, const char *key, rh_report_text_id_t title,
             rh_report_text_id_t def, rh_report_text_id_t empty, rh_report_text_id_t column,
             const char *names_key, const char *none)
{
    const json_t *counts = json_object_get (page->figures, key);
    const json_t *names = names_key ? json_object_get (page->figures, names_key) : NULL;
    json_int_t referrals = s_int (page->figures, "referrals");
    s_section (page, id, title, def);
    if (json_object_size (counts) == 0)
        s_empty (page, empty);
    else {
        if (referrals == 0)
            s_empty (page, empty);
        s_table_head (page, column, RH_T_COL_SHARE, RH_T_COL_REFERRALS);
        const char *name;
        json_t *value;
        json_object_foreach ((json_t *) counts, name, value)
        {
            const char *label = names ? json_string_value (json_object_get (names, name)) : NULL;
            s_bar_row (page, label ? label : s_label (page, name), json_integer_value (value),
                       referrals, none);
        }
        fprintf (page->out, "</tbody></table>\n");
    }
    fprintf (page->out, "</section>\n");
}

static void
s_time_to_outcome (s_page_t *page)
{
    FILE *out = page->out;
    const json_t *buckets = json_object_get (page->figures, "time_to_outcome_days");
    json_int_t decided = s_int (page->figures, "decided");
    char a [32], b [32], percent [32];
    s_section (page, "time-to-outcome", RH_T_TIME_TITLE, RH_T_TIME_DEF);
    if (decided == 0)
        s_empty (page, RH_T_TIME_EMPTY);
    else {
        fprintf (out, "<p class=\"legend\"><span class=\"key within\"></span> ");
        s_text (page, RH_T_TIME_WITHIN);
        fprintf (out, " <span class=\"key late\"></span> ");
        s_text (page, RH_T_TIME_LATE);
        fprintf (out, " <span class=\"key nodeadline\"></span> ");
        s_text (page, RH_T_TIME_NO_DEADLINE);
        fprintf (out, "</p>\n");
        s_table_head (page, RH_T_TIME_DAYS, RH_T_COL_SHARE, RH_T_COL_OUTCOMES);
        const char *bucket;
        json_t *entry;
        json_object_foreach ((json_t *) buckets, bucket, entry)
        {
            json_int_t within = s_int (entry, "within"), late = s_int (entry, "late"),
                       none = s_int (entry, "no_deadline"), all = within + late + none;
            fprintf (out, "<tr><td>");
            rh_report_html_escape (out, bucket);
            fprintf (out, "</td><td class=\"barcell\">");
            const char *classes [] = { "within", "late", "nodeadline" };
            json_int_t parts [] = { within, late, none };
            for (int p = 0; p < 3; p++)
                if (parts [p])
                    fprintf (out, "<span class=\"bar %s\" style=\"width:%.1f%%\"></span>",
                             classes [p], 100.0 * (double) parts [p] / (double) decided);
            fprintf (out, "</td><td class=\"n\">%s (%s)", s_num (all, a),
                     s_percent (100.0 * (double) all / (double) decided, percent));
            if (late)
                fprintf (out, "<br><span class=\"small\">%s %s</span>", s_num (late, b),
                         s_t (page, RH_T_TIME_LATE));
            fprintf (out, "</td></tr>\n");
        }
        fprintf (out, "</tbody></table>\n");
    }
    fprintf (out, "<p>");
    s_say (out, s_t (page, RH_T_TIME_OPEN), s_num (s_int (page->figures, "awaiting_outcome"), a),
           s_num (s_int (page->figures, "awaiting_outcome_past_deadline"), b), NULL);
    fprintf (out, "</p>\n</section>\n");
}

//  Outcomes and NFA rate by one key: the bar is the NFA rate (0 to 100 %).
static void
s_outcome_table (s_page_t *page, const char *key, rh_report_text_id_t column, bool kinds)
{
    FILE *out = page->out;
    char a [32], b [32], percent [32];
    fprintf (out, "<table class=\"outcomes\"><colgroup><col class=\"o1\"><col class=\"o2\">"
                  "<col class=\"o3\"><col class=\"o4\"></colgroup>\n<thead><tr><th>");
    s_text (page, column);
    fprintf (out, "</th><th class=\"n\">");
    s_text (page, RH_T_COL_OUTCOMES);
    fprintf (out, "</th><th class=\"n\">");
    s_text (page, RH_T_COL_NFA);
    fprintf (out, "</th><th>");
    s_text (page, RH_T_COL_NFA_RATE);
    fprintf (out, "</th></tr></thead>\n<tbody>\n");
    const char *name;
    json_t *entry;
    json_object_foreach (json_object_get (page->figures, key), name, entry)
    {
        double rate = json_number_value (json_object_get (entry, "nfa_percent"));
        fprintf (out, "<tr><td>");
        rh_report_html_escape (out, kinds ? rh_report_text_kind (page->lang, name)
                                          : s_label (page, name));
        fprintf (out,
                 "</td><td class=\"n\">%s</td><td class=\"n\">%s</td><td class=\"barcell\">"
                 "<span class=\"rate\"><span class=\"bar nfa\" style=\"width:%.1f%%\"></span>"
                 "</span> %s</td></tr>\n",
                 s_num (s_int (entry, "decided"), a), s_num (s_int (entry, "nfa"), b), rate,
                 s_percent (rate, percent));
    }
    fprintf (out, "</tbody></table>\n");
}

static void
s_outcomes (s_page_t *page)
{
    s_section (page, "outcomes", RH_T_OUTCOMES_TITLE, RH_T_OUTCOMES_DEF);
    if (s_int (page->figures, "decided") == 0)
        s_empty (page, RH_T_OUTCOMES_EMPTY);
    else {
        s_outcome_table (page, "outcomes_by_referrer", RH_T_COL_AGENCY, false);
        s_outcome_table (page, "outcomes_by_kind", RH_T_COL_KIND, true);
    }
    fprintf (page->out, "</section>\n");
}

static void
s_repeats (s_page_t *page)
{
    const json_t *repeat = json_object_get (page->figures, "repeat_referrals");
    json_int_t people = s_int (repeat, "people");
    char a [32], b [32], c [32];
    s_section (page, "repeat", RH_T_REPEAT_TITLE, RH_T_REPEAT_DEF);
    if (people == 0)
        s_empty (page, RH_T_REPEAT_EMPTY);
    else {
        fprintf (page->out, "<p>");
        s_say (page->out, s_t (page, RH_T_REPEAT_TEXT), s_num (people, a),
               s_num (s_int (repeat, "escalated"), b), s_num (s_int (repeat, "not_escalated"), c));
        fprintf (page->out, "</p>\n");
        s_table_head (page, RH_T_REPEAT_TITLE, RH_T_COL_SHARE, RH_T_COL_PEOPLE);
        s_bar_row (page, s_t (page, RH_T_REPEAT_ESCALATED), s_int (repeat, "escalated"), people,
                   NULL);
        s_bar_row (page, s_t (page, RH_T_REPEAT_NOT_ESCALATED), s_int (repeat, "not_escalated"),
                   people, NULL);
        fprintf (page->out, "</tbody></table>\n");
    }
    fprintf (page->out, "</section>\n");
}

//  Issue 17, lateral checks: requests, answers in time and late, overdue, onward refusals.
static void
s_lateral (s_page_t *page)
{
    const json_t *lateral = json_object_get (page->figures, "lateral_checks");
    char a [32], b [32], c [32];
    s_section (page, "lateral", RH_T_LATERAL_TITLE, RH_T_LATERAL_DEF);
    if (s_int (lateral, "requests") == 0)
        s_empty (page, RH_T_LATERAL_EMPTY);
    else {
        fprintf (page->out, "<p>");
        s_say (page->out, s_t (page, RH_T_LATERAL_TEXT), s_num (s_int (lateral, "requests"), a),
               s_num (s_int (lateral, "partners_asked"), b),
               s_num (s_int (lateral, "answered_in_time"), c));
        fprintf (page->out, " ");
        s_say (page->out, s_t (page, RH_T_LATERAL_LATE),
               s_num (s_int (lateral, "answered_late"), a),
               s_num (s_int (lateral, "unanswered"), b), s_num (s_int (lateral, "overdue"), c));
        fprintf (page->out, " ");
        s_say (page->out, s_t (page, RH_T_LATERAL_KNOWN),
               s_num (s_int (lateral, "known_to_service"), a),
               s_num (s_int (lateral, "onward_refused"), b), NULL);
        fprintf (page->out, "</p>\n");
    }
    fprintf (page->out, "</section>\n");
}

//  Strategy meetings (issue 17).
static void
s_meetings (s_page_t *page)
{
    const json_t *meetings = json_object_get (page->figures, "strategy_meetings");
    char a [32], b [32], c [32];
    s_section (page, "meetings", RH_T_MEETING_TITLE, RH_T_MEETING_DEF);
    if (s_int (meetings, "invited") == 0)
        s_empty (page, RH_T_MEETING_EMPTY);
    else {
        fprintf (page->out, "<p>");
        s_say (page->out, s_t (page, RH_T_MEETING_TEXT), s_num (s_int (meetings, "invited"), a),
               s_num (s_int (meetings, "held"), b), s_num (s_int (meetings, "cancelled"), c));
        fprintf (page->out, " ");
        s_say (page->out, s_t (page, RH_T_MEETING_ATTEND), s_num (s_int (meetings, "invitees"), a),
               s_num (s_int (meetings, "invitees_absent"), b),
               s_num (s_int (meetings, "person_participated"), c));
        fprintf (page->out, " ");
        s_say (page->out, s_t (page, RH_T_MEETING_LATE),
               s_num (s_int (meetings, "record_overdue"), a),
               s_num (s_int (meetings, "actions_delivered"), b), NULL);
        fprintf (page->out, "</p>\n");
    }
    fprintf (page->out, "</section>\n");
}

//  Professional challenges (issue 17): how many, where they stand, the levels they reached.
static void
s_challenges (s_page_t *page)
{
    const json_t *challenges = json_object_get (page->figures, "challenges");
    json_int_t raised = s_int (challenges, "raised");
    char a [32], b [32], c [32];
    fprintf (page->out, "<p class=\"def\">");
    s_text (page, RH_T_CHALLENGE_DEF);
    fprintf (page->out, "</p>\n");
    if (raised == 0) {
        s_empty (page, RH_T_CHALLENGE_EMPTY);
        return;
    }
    const json_t *outcomes = json_object_get (challenges, "outcomes");
    fprintf (page->out, "<p>");
    s_say (page->out, s_t (page, RH_T_CHALLENGE_TEXT), s_num (raised, a),
           s_num (s_int (challenges, "answered"), b), s_num (s_int (challenges, "unresolved"), c));
    fprintf (page->out, " ");
    s_say (page->out, s_t (page, RH_T_CHALLENGE_OUTCOMES),
           s_num (s_int (outcomes, "CHALLENGE_UPHELD"), a),
           s_num (s_int (outcomes, "CHALLENGE_NOT_UPHELD"), b),
           s_num (s_int (outcomes, "CHALLENGE_RESOLVED"), c));
    fprintf (page->out, " ");
    s_say (page->out, s_t (page, RH_T_CHALLENGE_OPEN), s_num (s_int (challenges, "open"), a),
           s_num (s_int (challenges, "escalations"), b), NULL);
    const char *level;
    const json_t *count;
    json_object_foreach ((json_t *) json_object_get (challenges, "by_level_reached"), level, count)
    {
        fprintf (page->out, " ");
        s_say (page->out, s_t (page, RH_T_CHALLENGE_LEVEL), level,
               s_num (json_integer_value (count), a), NULL);
    }
    fprintf (page->out, "</p>\n");
}

static void
s_overrides (s_page_t *page)
{
    const json_t *overrides = json_object_get (page->figures, "consent_overrides");
    json_int_t count = s_int (overrides, "count");
    char a [32], b [32], c [32];
    s_section (page, "overrides", RH_T_OVERRIDE_TITLE, RH_T_OVERRIDE_DEF);
    if (count == 0)
        s_empty (page, RH_T_OVERRIDE_EMPTY);
    else {
        fprintf (page->out, "<p>");
        s_say (page->out, s_t (page, RH_T_OVERRIDE_TEXT), s_num (count, a),
               s_num (s_int (overrides, "upheld"), b), s_num (s_int (overrides, "not_upheld"), c));
        fprintf (page->out, " ");
        s_say (page->out, s_t (page, RH_T_OVERRIDE_OPEN),
               s_num (s_int (overrides, "unreviewed"), a),
               s_num (s_int (overrides, "review_deadline_missed"), b), NULL);
        fprintf (page->out, "</p>\n");
    }
    fprintf (page->out, "</section>\n");
}

static void
s_breaches (s_page_t *page)
{
    const json_t *breaches = json_object_get (page->figures, "breaches");
    json_int_t referrals = s_int (page->figures, "referrals");
    s_section (page, "breaches", RH_T_BREACH_TITLE, RH_T_BREACH_DEF);
    if (s_int (breaches, "outcome_overdue") + s_int (breaches, "acknowledgement_overdue")
            + s_int (breaches, "escalated_after_deadline")
        == 0)
        s_empty (page, RH_T_BREACH_EMPTY);
    else {
        s_table_head (page, RH_T_BREACH_TITLE, RH_T_COL_SHARE, RH_T_COL_REFERRALS);
        s_bar_row (page, s_t (page, RH_T_BREACH_OVERDUE), s_int (breaches, "outcome_overdue"),
                   referrals, NULL);
        s_bar_row (page, s_t (page, RH_T_BREACH_OUTAGE), s_int (breaches, "outcome_overdue_outage"),
                   referrals, NULL);
        s_bar_row (page, s_t (page, RH_T_BREACH_PRACTICE),
                   s_int (breaches, "outcome_overdue_connected"), referrals, NULL);
        s_bar_row (page, s_t (page, RH_T_BREACH_ACK), s_int (breaches, "acknowledgement_overdue"),
                   referrals, NULL);
        s_bar_row (page, s_t (page, RH_T_BREACH_ESCALATED),
                   s_int (breaches, "escalated_after_deadline"), referrals, NULL);
        fprintf (page->out, "</tbody></table>\n");
    }
    fprintf (page->out, "</section>\n");
}

static void
s_refusals (s_page_t *page)
{
    FILE *out = page->out;
    const json_t *by_rule = json_object_get (page->figures, "refusals_by_rule");
    const json_t *by_reason = json_object_get (page->figures, "refusals_by_reason");
    char a [32];
    s_section (page, "refusals", RH_T_REFUSAL_TITLE, RH_T_REFUSAL_DEF);
    if (s_int (page->figures, "refusals") == 0)
        s_empty (page, RH_T_REFUSAL_EMPTY);
    if (json_object_size (by_rule)) {
        fprintf (out, "<table class=\"rules\"><colgroup><col class=\"r1\"><col class=\"r2\">"
                      "<col class=\"r3\"></colgroup>\n<thead><tr><th>");
        s_text (page, RH_T_COL_RULE);
        fprintf (out, "</th><th>");
        s_text (page, RH_T_COL_RULE_SAYS);
        fprintf (out, "</th><th class=\"n\">");
        s_text (page, RH_T_COL_REFUSALS);
        fprintf (out, "</th></tr></thead>\n<tbody>\n");
        const char *key;
        json_t *entry;
        json_object_foreach ((json_t *) by_rule, key, entry)
        {
            const char *rule = json_string_value (json_object_get (entry, "rule"));
            const char *sentence = json_string_value (json_object_get (entry, "description"));
            fprintf (out, "<tr><td>");
            rh_report_html_escape (out, rule && *rule ? rule : "—");
            fprintf (out, " <span class=\"small\">");
            rh_report_html_escape (out, json_string_value (json_object_get (entry, "agreement")));
            fprintf (out, "</span></td><td>");
            rh_report_html_escape (out, !rule || !*rule         ? s_t (page, RH_T_DEFAULT_DENY)
                                        : sentence && *sentence ? sentence
                                                                : s_t (page, RH_T_NO_SENTENCE));
            fprintf (out, "</td><td class=\"n\">%s</td></tr>\n", s_num (s_int (entry, "count"), a));
        }
        fprintf (out, "</tbody></table>\n");
    }
    if (json_object_size (by_reason)) {
        fprintf (out, "<h3>");
        s_text (page, RH_T_REFUSAL_NO_RULE);
        fprintf (out, "</h3>\n<table class=\"rules\"><thead><tr><th>");
        s_text (page, RH_T_COL_REASON);
        fprintf (out, "</th><th class=\"n\">");
        s_text (page, RH_T_COL_REFUSALS);
        fprintf (out, "</th></tr></thead>\n<tbody>\n");
        const char *code;
        json_t *count;
        json_object_foreach ((json_t *) by_reason, code, count)
        {
            fprintf (out, "<tr><td>");
            rh_report_html_escape (out, code);
            fprintf (out, "</td><td class=\"n\">%s</td></tr>\n",
                     s_num (json_integer_value (count), a));
        }
        fprintf (out, "</tbody></table>\n");
    }
    fprintf (out, "</section>\n");
}

static const char s_style [] =
    "@page{size:A4;margin:14mm}\n"
    "*{box-sizing:border-box}\n"
    "body{font-family:'DejaVu Sans',Arial,sans-serif;font-size:10.5pt;line-height:1.35;"
    "color:#1d1d1d;max-width:182mm;margin:1em auto;padding:0 .5em}\n"
    "h1{font-size:1.6em;margin:.2em 0}h2{font-size:1.2em;margin:.2em 0 .3em;"
    "border-bottom:2px solid #2a6f97}h3{font-size:1em;margin:.3em 0}\n"
    ".sub{margin:0 0 .6em;color:#444}\n"
    "dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:.15em .8em;margin:0}\n"
    "dl.meta dt{font-weight:bold}dl.meta dd{margin:0;overflow-wrap:anywhere;min-width:0}\n"
    "section{break-inside:avoid;page-break-inside:avoid;margin-top:1.1em}\n"
    ".def{color:#4a4a4a;font-size:.9em;margin:.1em 0 .5em}\n"
    ".empty{font-style:italic;font-size:1.05em}\n"
    ".small{font-size:.85em;color:#555}\n"
    ".aaa{display:flex;gap:.5em}.aaa>div{flex:1;min-width:0;border:1px solid #bbb;"
    "border-top:4px solid #2a6f97;padding:.3em .5em}\n"
    ".aaa ul{margin:.2em 0;padding-left:1.1em}\n"
    "table{border-collapse:collapse;width:100%;table-layout:fixed}\n"
    "th,td{padding:2px 4px;text-align:left;vertical-align:top;overflow-wrap:anywhere}\n"
    "thead th{border-bottom:1px solid #999;font-size:.9em}\n"
    ".n{text-align:right}\n"
    "col.c1{width:38%}col.c2{width:37%}col.c3{width:25%}\n"
    "col.o1{width:40%}col.o2{width:15%}col.o3{width:12%}col.o4{width:33%}\n"
    "col.r1{width:22%}col.r2{width:60%}col.r3{width:18%}\n"
    ".barcell{white-space:nowrap}\n"
    ".bar{display:inline-block;height:.9em;background:#2a6f97;vertical-align:middle}\n"
    ".rate{display:inline-block;width:60%;background:#e4e4e4;vertical-align:middle}\n"
    ".rate .bar{display:block}\n"
    ".bar.within{background:#2a6f97}.bar.late{background:#d9822b}.bar.nodeadline{background:#999}"
    ".bar.nfa{background:#7a4e9c}\n"
    ".key{display:inline-block;width:.9em;height:.9em;vertical-align:middle}"
    ".key.within{background:#2a6f97}.key.late{background:#d9822b}.key.nodeadline{background:#999}\n"
    ".legend{font-size:.9em;margin:.2em 0}\n"
    "svg.trend{width:100%;height:auto;display:block}\n"
    "svg .axis{stroke:#333;stroke-width:1}svg .grid{stroke:#ddd;stroke-width:1}\n"
    "svg .col{fill:#2a6f97}svg .trendline{fill:none;stroke:#d9822b;stroke-width:2}\n"
    "svg .tick{font-size:11px;fill:#333}svg .val{font-size:9px;fill:#222}\n"
    "footer{margin-top:1.5em;font-size:.85em;color:#555;border-top:1px solid #ccc}\n"
    "@media print{body{max-width:none;margin:0;padding:0}}\n";

void
rh_report_html_print (const json_t *figures, const char *lang, FILE *out)
{
    assert (figures && out);
    s_page_t page = { .out = out,
                      .lang = rh_report_text_has (lang) ? lang : "en",
                      .figures = figures };
    const char *board =
        json_string_value (json_object_get (json_object_get (figures, "report"), "board"));
    fprintf (out, "<!DOCTYPE html>\n<html lang=\"%s\"><head><meta charset=\"utf-8\">\n<title>",
             s_t (&page, RH_T_LANG_CODE));
    s_text (&page, RH_T_TITLE);
    if (board) {
        fprintf (out, ": ");
        rh_report_html_escape (out, board);
    }
    fprintf (out, "</title>\n<style>\n%s</style></head>\n<body>\n", s_style);
    s_header (&page);
    s_aaa (&page);
    s_months (&page);
    s_breakdown (&page, "by-area", "by_local_authority", RH_T_LA_TITLE, RH_T_LA_DEF, RH_T_LA_EMPTY,
                 RH_T_COL_AREA, "area_names", s_t (&page, RH_T_LA_NONE));
    s_breakdown (&page, "by-agency", "by_referrer", RH_T_AGENCY_TITLE, RH_T_AGENCY_DEF,
                 RH_T_AGENCY_EMPTY, RH_T_COL_AGENCY, NULL, NULL);
    s_time_to_outcome (&page);
    s_outcomes (&page);
    s_repeats (&page);
    s_breaches (&page);
    s_refusals (&page);
    s_overrides (&page);
    s_lateral (&page);
    s_meetings (&page);
    fprintf (out, "<section id=\"later\">\n<h2>");
    s_text (&page, RH_T_LATER_TITLE);
    fprintf (out, "</h2>\n<p>");
    const json_t *withdrawals = json_object_get (figures, "withdrawals");
    char w1 [32], w2 [32], w3 [32];
    s_say (out, s_t (&page, RH_T_WITHDRAWN), s_num (s_int (withdrawals, "total"), w1),
           s_num (s_int (withdrawals, "before_decision"), w2),
           s_num (s_int (withdrawals, "after_decision"), w3));
    fprintf (out, "</p>\n");
    s_challenges (&page);
    fprintf (out, "</section>\n<footer><p>");
    s_text (&page, RH_T_FOOTER);
    fprintf (out, "</p></footer>\n</body></html>\n");
}

int
rh_report_html_write (const json_t *figures, const char *lang, const char *path)
{
    assert (figures && path);
    FILE *out = fopen (path, "w");
    if (!out)
        return -1;
    rh_report_html_print (figures, lang, out);
    return fclose (out) == 0 ? 0 : -1;
}
