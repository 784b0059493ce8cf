/*  =========================================================================
    rh_report_text - the board report's words, in English and Welsh

    One table per language, indexed by the same ids, so a sentence missing
    from one language is a hole the unit test finds, not a silent English
    fallback. Sentences with figures are templates: {1}, {2}, {3} stand for
    the arguments, so each language puts them where its grammar wants them
    (rh_report_html fills them in, escaped). The Welsh needs review by a
    Welsh-speaking officer before a board publishes it (README).
    =========================================================================
*/
#ifndef RH_REPORT_TEXT_H_INCLUDED
#define RH_REPORT_TEXT_H_INCLUDED

typedef enum {
    RH_T_LANG_CODE = 0,  //  "en", "cy": the page's lang attribute
    RH_T_TITLE,
    RH_T_SUBTITLE,
    RH_T_BOARD,
    RH_T_NO_BOARD,
    RH_T_PERIOD,
    RH_T_PERIOD_RANGE,  //  {1} first day, {2} last day
    RH_T_GENERATED,
    RH_T_SOURCE,
    RH_T_SOURCE_TEXT,  //  {1} records, {2} root
    RH_T_CHECKPOINT,
    RH_T_CHECKPOINT_TEXT,  //  {1} time, {2} size, {3} root
    RH_T_COSIGNED,         //  {1} witness names
    RH_T_NOT_COSIGNED,
    RH_T_NO_CHECKPOINT,
    RH_T_AAA,
    RH_T_ALERTS,
    RH_T_ASSURANCE,
    RH_T_ACHIEVEMENTS,
    RH_T_A_OVERDUE,  //  {1} referrals overdue, {2} of them outage-attributed
    RH_T_A_NO_OVERDUE,
    RH_T_A_REPEAT,  //  {1} people
    RH_T_A_NO_REPEAT,
    RH_T_A_REFUSED,  //  {1} messages
    RH_T_A_NO_REFUSED,
    RH_T_A_VERIFIED,
    RH_T_A_WITHIN,  //  {1} within, {2} with a deadline, {3} percent
    RH_T_A_NO_OUTCOMES,
    RH_T_A_DECIDED,  //  {1} decided, {2} referrals
    RH_T_A_TOLD,     //  {1} outcomes sent to the referrer
    RH_T_A_NO_REFERRALS,
    RH_T_A_CLOSED,  //  {1} cases
    RH_T_MONTH_TITLE,
    RH_T_MONTH_DEF,
    RH_T_MONTH_EMPTY,
    RH_T_MONTH_AXIS,  //  y axis: "referrals"
    RH_T_LA_TITLE,
    RH_T_LA_DEF,
    RH_T_LA_EMPTY,
    RH_T_LA_NONE,  //  beside an area with no referrals
    RH_T_AGENCY_TITLE,
    RH_T_AGENCY_DEF,
    RH_T_AGENCY_EMPTY,
    RH_T_TIME_TITLE,
    RH_T_TIME_DEF,
    RH_T_TIME_EMPTY,
    RH_T_TIME_WITHIN,
    RH_T_TIME_LATE,
    RH_T_TIME_NO_DEADLINE,
    RH_T_TIME_OPEN,  //  {1} without an outcome, {2} of them past the deadline
    RH_T_TIME_DAYS,  //  column head: days to outcome
    RH_T_OUTCOMES_TITLE,
    RH_T_OUTCOMES_DEF,
    RH_T_OUTCOMES_EMPTY,
    RH_T_COL_AGENCY,
    RH_T_COL_KIND,
    RH_T_COL_OUTCOMES,
    RH_T_COL_NFA,
    RH_T_COL_NFA_RATE,
    RH_T_COL_AREA,
    RH_T_COL_REFERRALS,
    RH_T_COL_SHARE,
    RH_T_COL_PEOPLE,
    RH_T_REPEAT_TITLE,
    RH_T_REPEAT_DEF,
    RH_T_REPEAT_EMPTY,
    RH_T_REPEAT_TEXT,  //  {1} people, {2} escalated, {3} not escalated
    RH_T_REPEAT_ESCALATED,
    RH_T_REPEAT_NOT_ESCALATED,
    RH_T_BREACH_TITLE,
    RH_T_BREACH_DEF,
    RH_T_BREACH_EMPTY,
    RH_T_BREACH_OVERDUE,
    RH_T_BREACH_OUTAGE,
    RH_T_BREACH_PRACTICE,
    RH_T_BREACH_ACK,
    RH_T_BREACH_ESCALATED,
    RH_T_REFUSAL_TITLE,
    RH_T_REFUSAL_DEF,
    RH_T_REFUSAL_EMPTY,
    RH_T_COL_RULE,
    RH_T_COL_RULE_SAYS,
    RH_T_COL_REFUSALS,
    RH_T_REFUSAL_NO_RULE,  //  sub-heading: refused before any rule applied
    RH_T_COL_REASON,
    RH_T_DEFAULT_DENY,  //  the sentence of "no rule allowed it"
    RH_T_NO_SENTENCE,   //  a rule the agreements kept no sentence for
    RH_T_LATER_TITLE,   //  the section of professional challenges (and withdrawals)
    RH_T_OVERRIDE_TITLE,
    RH_T_OVERRIDE_DEF,
    RH_T_OVERRIDE_EMPTY,
    RH_T_OVERRIDE_TEXT,  //  {1} overrides, {2} upheld, {3} not upheld
    RH_T_OVERRIDE_OPEN,  //  {1} awaiting review, {2} review deadlines missed
    RH_T_WITHDRAWN,      //  issue 17: withdrawals of referrals
    //  Issue 17, lateral checks:
    RH_T_LATERAL_TITLE,
    RH_T_LATERAL_DEF,
    RH_T_LATERAL_EMPTY,
    RH_T_LATERAL_TEXT,   //  {1} requests, {2} partners asked, {3} answered in time
    RH_T_LATERAL_LATE,   //  {1} late, {2} unanswered, {3} went overdue
    RH_T_LATERAL_KNOWN,  //  {1} partners knew the person, {2} onward shares refused
    //  Issue 17, professional challenge:
    RH_T_CHALLENGE_DEF,
    RH_T_CHALLENGE_EMPTY,
    RH_T_CHALLENGE_TEXT,      //  {1} raised, {2} answered, {3} unresolved
    RH_T_CHALLENGE_OUTCOMES,  //  {1} upheld, {2} not upheld, {3} resolved
    RH_T_CHALLENGE_OPEN,      //  {1} still open, {2} escalations
    RH_T_CHALLENGE_LEVEL,     //  {1} level, {2} challenges that reached it
    //  Strategy meetings (issue 17)
    RH_T_MEETING_TITLE,
    RH_T_MEETING_DEF,
    RH_T_MEETING_EMPTY,
    RH_T_MEETING_TEXT,    //  {1} invited, {2} held, {3} cancelled
    RH_T_MEETING_ATTEND,  //  {1} invitations to meetings held, {2} absent, {3} person took part
    RH_T_MEETING_LATE,    //  {1} records overdue, {2} meetings' actions delivered to all
    RH_T_FOOTER,
    RH_T_COUNT  //  not a text: the number of ids
} rh_report_text_id_t;

//  True if the report has words in lang ("en", "cy").
bool rh_report_text_has (const char *lang);

//  The text id in lang (static; English if lang is unknown).
const char *rh_report_text (const char *lang, rh_report_text_id_t id);

//  The short name of month (1-12) in lang, for a chart's axis (static).
const char *rh_report_text_month (const char *lang, int month);

//  A referral kind's name (ReferralKind enum name, e.g. "PPN") for people in lang, or name
//  itself if the table has none (static or name).
const char *rh_report_text_kind (const char *lang, const char *name);

#endif
