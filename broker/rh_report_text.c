/*  =========================================================================
    rh_report_text - the board report's words, in English and Welsh
    =========================================================================
*/
#include "rh_broker_classes.h"

static const char *const s_en [RH_T_COUNT] = {
    [RH_T_LANG_CODE] = "en",
    [RH_T_TITLE] = "Safeguarding Board report",
    [RH_T_SUBTITLE] = "Referrals shared between agencies through rhannu",
    [RH_T_BOARD] = "Board",
    [RH_T_NO_BOARD] = "(no board named)",
    [RH_T_PERIOD] = "Period",
    [RH_T_PERIOD_RANGE] = "{1} to {2}",
    [RH_T_GENERATED] = "Generated",
    [RH_T_SOURCE] = "Source",
    [RH_T_SOURCE_TEXT] = "the broker's audit log of {1} records, verified in full before any "
                         "figure was taken; root {2}",
    [RH_T_CHECKPOINT] = "Checkpoint",
    [RH_T_CHECKPOINT_TEXT] = "signed by the broker at {1} over the first {2} records; root {3}",
    [RH_T_COSIGNED] = "cosigned by {1}",
    [RH_T_NOT_COSIGNED] = "not cosigned by a witness",
    [RH_T_NO_CHECKPOINT] = "no signed checkpoint yet",
    [RH_T_AAA] = "Alerts, Assurance and Achievements",
    [RH_T_ALERTS] = "Alerts",
    [RH_T_ASSURANCE] = "Assurance",
    [RH_T_ACHIEVEMENTS] = "Achievements",
    [RH_T_A_OVERDUE] = "{1} referrals had their outcome overdue ({2} of them put down to an "
                       "outage)",
    [RH_T_A_NO_OVERDUE] = "No outcome was overdue",
    [RH_T_A_REPEAT] = "{1} people were referred repeatedly without meeting the threshold",
    [RH_T_A_NO_REPEAT] = "No repeat-referral alert",
    [RH_T_A_REFUSED] = "{1} messages were refused",
    [RH_T_A_NO_REFUSED] = "No message was refused",
    [RH_T_A_VERIFIED] = "The audit log verified in full",
    [RH_T_A_WITHIN] = "{1} of {2} outcomes within their deadline ({3})",
    [RH_T_A_NO_OUTCOMES] = "No outcomes in the period",
    [RH_T_A_DECIDED] = "{1} of {2} referrals decided",
    [RH_T_A_TOLD] = "the referrer was sent {1} of these outcomes",
    [RH_T_A_NO_REFERRALS] = "No referrals in the period",
    [RH_T_A_CLOSED] = "{1} cases closed",
    [RH_T_MONTH_TITLE] = "Referrals by month",
    [RH_T_MONTH_DEF] = "Referrals the broker received in each calendar month of the period (UTC), "
                       "whatever became of them.",
    [RH_T_MONTH_EMPTY] = "No referrals were received in the period.",
    [RH_T_MONTH_AXIS] = "referrals",
    [RH_T_LA_TITLE] = "Referrals by local authority",
    [RH_T_LA_DEF] = "The home local authority of each person referred, as the referral states "
                    "it; a referral about people in two areas counts in both. Every area the "
                    "agreements cover is listed, those with none too: an absence of referrals is "
                    "information. Bars are shares of all referrals in the period.",
    [RH_T_LA_EMPTY] = "No referrals were received from any area in the period.",
    [RH_T_LA_NONE] = "none received",
    [RH_T_AGENCY_TITLE] = "Referrals by referring agency",
    [RH_T_AGENCY_DEF] = "The agency that sent each referral, by the name its agreement gives it. "
                        "Bars are shares of all referrals in the period.",
    [RH_T_AGENCY_EMPTY] = "No agency sent a referral in the period.",
    [RH_T_TIME_TITLE] = "Time to outcome against the deadline",
    [RH_T_TIME_DEF] = "Days from the broker receiving a referral to the front door's first "
                      "outcome, for referrals received in the period. Each row splits into "
                      "outcomes within the deadline the broker set in its receipt and those after "
                      "it; bars are shares of all outcomes.",
    [RH_T_TIME_EMPTY] = "No outcomes in the period.",
    [RH_T_TIME_WITHIN] = "within the deadline",
    [RH_T_TIME_LATE] = "after the deadline",
    [RH_T_TIME_NO_DEADLINE] = "no deadline set",
    [RH_T_TIME_OPEN] = "{1} referrals received in the period have no outcome yet; {2} of them are "
                       "past their deadline.",
    [RH_T_TIME_DAYS] = "Days to outcome",
    [RH_T_OUTCOMES_TITLE] = "Outcomes by referring agency and kind",
    [RH_T_OUTCOMES_DEF] = "First outcomes of referrals received in the period. The "
                          "no-further-action (NFA) rate is NFA outcomes as a share of all "
                          "outcomes; for police public protection notifications (PPN) it is the "
                          "figure boards follow.",
    [RH_T_OUTCOMES_EMPTY] = "No outcomes in the period.",
    [RH_T_COL_AGENCY] = "Referring agency",
    [RH_T_COL_KIND] = "Kind of referral",
    [RH_T_COL_OUTCOMES] = "Outcomes",
    [RH_T_COL_NFA] = "NFA",
    [RH_T_COL_NFA_RATE] = "NFA rate",
    [RH_T_COL_AREA] = "Local authority",
    [RH_T_COL_REFERRALS] = "Referrals",
    [RH_T_COL_SHARE] = "Share",
    [RH_T_COL_PEOPLE] = "People",
    [RH_T_REPEAT_TITLE] = "Repeat referrals",
    [RH_T_REPEAT_DEF] = "People about whom the broker alerted that referrals within the "
                        "agreement's window did not meet the threshold (the three-referral "
                        "benchmark), counted once each. Escalated: a later referral about the "
                        "same person was decided above no further action or signposting (an "
                        "assessment, strategy discussion, enquiry, Section 47, DA hub or MARAC).",
    [RH_T_REPEAT_EMPTY] = "No repeat-referral alerts in the period.",
    [RH_T_REPEAT_TEXT] = "{1} people: {2} escalated since the alert, {3} not.",
    [RH_T_REPEAT_ESCALATED] = "escalated",
    [RH_T_REPEAT_NOT_ESCALATED] = "not escalated",
    [RH_T_BREACH_TITLE] = "Deadline breaches",
    [RH_T_BREACH_DEF] = "Referrals received in the period whose outcome or acknowledgement the "
                        "broker reported overdue, counted once each. Put down to an outage: the "
                        "front door's system was not connected when the deadline passed, so the "
                        "breach says more about the outage than about practice.",
    [RH_T_BREACH_EMPTY] = "No deadline was breached in the period.",
    [RH_T_BREACH_OVERDUE] = "Outcome overdue",
    [RH_T_BREACH_OUTAGE] = "of which put down to an outage",
    [RH_T_BREACH_PRACTICE] = "of which with the front door connected",
    [RH_T_BREACH_ACK] = "Acknowledgement overdue",
    [RH_T_BREACH_ESCALATED] = "Escalated after the deadline",
    [RH_T_REFUSAL_TITLE] = "Refusals by rule",
    [RH_T_REFUSAL_DEF] = "Messages the broker refused in the period, by the agreement rule that "
                         "decided, with the rule's own sentence. Refusals no rule decided (a "
                         "signature that did not verify, an unknown or revoked certificate, a "
                         "malformed message) are listed after, by reason.",
    [RH_T_REFUSAL_EMPTY] = "No message was refused in the period.",
    [RH_T_COL_RULE] = "Rule",
    [RH_T_COL_RULE_SAYS] = "What the rule says",
    [RH_T_COL_REFUSALS] = "Refusals",
    [RH_T_REFUSAL_NO_RULE] = "Refused before any rule applied",
    [RH_T_COL_REASON] = "Reason",
    [RH_T_DEFAULT_DENY] = "no rule of the agreement allowed it (default deny)",
    [RH_T_NO_SENTENCE] = "(the agreement gives this rule no sentence)",
    [RH_T_LATER_TITLE] = "Professional challenges",
    [RH_T_OVERRIDE_TITLE] = "Consent overrides and their reviews",
    [RH_T_OVERRIDE_DEF] = "Referrals sent without the consent a rule requires, under that rule's "
                          "override, with the sender's justification and authorising manager "
                          "recorded; the agreement's reviewer reviews each one.",
    [RH_T_OVERRIDE_EMPTY] = "No consent was overridden in the period.",
    [RH_T_OVERRIDE_TEXT] = "{1} consent overrides: {2} upheld on review, {3} not upheld.",
    [RH_T_OVERRIDE_OPEN] = "{1} awaiting review; {2} reviews were not made by their deadline.",
    [RH_T_LATERAL_TITLE] = "Lateral checks",
    [RH_T_LATERAL_DEF] = "Information requests sent to partners (\"is this person known to your "
                         "service?\") with a reply-by time, counted per partner asked. Overdue: "
                         "the reply-by time passed before the partner answered; the requester "
                         "and the partner were alerted. A response goes to the requester only, "
                         "unless the agreement allows it onward.",
    [RH_T_LATERAL_EMPTY] = "No information requests in the period.",
    [RH_T_LATERAL_TEXT] = "{1} information requests to {2} partners: {3} answered in time,",
    [RH_T_LATERAL_LATE] = "{1} late, {2} unanswered; {3} went overdue.",
    [RH_T_LATERAL_KNOWN] = "{1} partners knew the person. {2} onward shares were refused.",
    [RH_T_WITHDRAWN] = "Referrals withdrawn by their referrer: {1} ({2} before the decision, {3} "
                       "after it).",
    [RH_T_CHALLENGE_DEF] = "Challenges of a front door's decision raised in the period by an "
                           "agency involved in the case, under the agreement's escalation "
                           "protocol: a level that does not answer by its deadline passes the "
                           "challenge to the next.",
    [RH_T_CHALLENGE_EMPTY] = "No professional challenge was raised in the period.",
    [RH_T_CHALLENGE_TEXT] = "{1} professional challenges raised: {2} answered, {3} unresolved "
                            "after the last level's deadline.",
    [RH_T_CHALLENGE_OUTCOMES] = "Answers: {1} upheld, {2} not upheld, {3} resolved between the "
                                "agencies.",
    [RH_T_CHALLENGE_OPEN] = "{1} still open; {2} escalations to a further level.",
    [RH_T_CHALLENGE_LEVEL] = "Reached level {1}: {2}.",
    [RH_T_MEETING_TITLE] = "Strategy meetings",
    [RH_T_MEETING_DEF] = "Strategy meetings (Section 47 strategy discussions) a front door invited "
                         "agencies to in the period, from the broker's records of each "
                         "invitation, record and cancellation. Absent: invited to a meeting held "
                         "but not recorded as attending it.",
    [RH_T_MEETING_EMPTY] = "No strategy meeting was invited in the period.",
    [RH_T_MEETING_TEXT] = "{1} strategy meetings invited, {2} held, {3} cancelled.",
    [RH_T_MEETING_ATTEND] = "Of {1} invitations to meetings held, {2} invitees were absent; the "
                            "person took part in {3} meetings.",
    [RH_T_MEETING_LATE] = "{1} records were not in by their deadline; the actions of {2} meetings "
                          "reached every invitee.",
    [RH_T_FOOTER] = "Every figure is a count of records in the verified audit log. Percentages "
                    "are rounded to the nearest whole number.",
};

//  Welsh public-sector terms (Social Services and Well-being (Wales) Act guidance, Wales
//  Safeguarding Procedures): to be reviewed by a Welsh-speaking officer before publication.
static const char *const s_cy [RH_T_COUNT] = {
    [RH_T_LANG_CODE] = "cy",
    [RH_T_TITLE] = "Adroddiad y Bwrdd Diogelu",
    [RH_T_SUBTITLE] = "Atgyfeiriadau a rannwyd rhwng asiantaethau drwy rhannu",
    [RH_T_BOARD] = "Bwrdd",
    [RH_T_NO_BOARD] = "(dim bwrdd wedi'i enwi)",
    [RH_T_PERIOD] = "Cyfnod",
    [RH_T_PERIOD_RANGE] = "{1} i {2}",
    [RH_T_GENERATED] = "Cynhyrchwyd",
    [RH_T_SOURCE] = "Ffynhonnell",
    [RH_T_SOURCE_TEXT] = "log archwilio'r brocer o {1} o gofnodion, wedi'i ddilysu'n llawn cyn "
                         "cymryd unrhyw ffigur; gwreiddyn {2}",
    [RH_T_CHECKPOINT] = "Pwynt gwirio",
    [RH_T_CHECKPOINT_TEXT] = "wedi'i lofnodi gan y brocer am {1} dros y {2} cofnod cyntaf; "
                             "gwreiddyn {3}",
    [RH_T_COSIGNED] = "wedi'i gydlofnodi gan {1}",
    [RH_T_NOT_COSIGNED] = "heb ei gydlofnodi gan dyst",
    [RH_T_NO_CHECKPOINT] = "dim pwynt gwirio wedi'i lofnodi eto",
    [RH_T_AAA] = "Rhybuddion, Sicrwydd a Chyflawniadau",
    [RH_T_ALERTS] = "Rhybuddion",
    [RH_T_ASSURANCE] = "Sicrwydd",
    [RH_T_ACHIEVEMENTS] = "Cyflawniadau",
    [RH_T_A_OVERDUE] = "Roedd canlyniad {1} o atgyfeiriadau yn hwyr ({2} ohonynt oherwydd toriad "
                       "yn y gwasanaeth)",
    [RH_T_A_NO_OVERDUE] = "Nid oedd unrhyw ganlyniad yn hwyr",
    [RH_T_A_REPEAT] = "Atgyfeiriwyd {1} o bobl dro ar ôl tro heb gyrraedd y trothwy",
    [RH_T_A_NO_REPEAT] = "Dim rhybudd am atgyfeiriadau dro ar ôl tro",
    [RH_T_A_REFUSED] = "Gwrthodwyd {1} o negeseuon",
    [RH_T_A_NO_REFUSED] = "Ni wrthodwyd unrhyw neges",
    [RH_T_A_VERIFIED] = "Dilyswyd y log archwilio yn llawn",
    [RH_T_A_WITHIN] = "{1} o {2} o ganlyniadau o fewn eu terfyn amser ({3})",
    [RH_T_A_NO_OUTCOMES] = "Dim canlyniadau yn y cyfnod",
    [RH_T_A_DECIDED] = "Penderfynwyd ar {1} o {2} o atgyfeiriadau",
    [RH_T_A_TOLD] = "anfonwyd {1} o'r canlyniadau hyn at yr atgyfeiriwr",
    [RH_T_A_NO_REFERRALS] = "Dim atgyfeiriadau yn y cyfnod",
    [RH_T_A_CLOSED] = "Caewyd {1} o achosion",
    [RH_T_MONTH_TITLE] = "Atgyfeiriadau fesul mis",
    [RH_T_MONTH_DEF] = "Atgyfeiriadau a dderbyniodd y brocer ym mhob mis calendr o'r cyfnod "
                       "(UTC), beth bynnag a ddigwyddodd iddynt.",
    [RH_T_MONTH_EMPTY] = "Ni dderbyniwyd unrhyw atgyfeiriadau yn y cyfnod.",
    [RH_T_MONTH_AXIS] = "atgyfeiriadau",
    [RH_T_LA_TITLE] = "Atgyfeiriadau fesul awdurdod lleol",
    [RH_T_LA_DEF] = "Awdurdod lleol cartref pob person a atgyfeiriwyd, fel y mae'r atgyfeiriad yn "
                    "ei nodi; mae atgyfeiriad am bobl mewn dwy ardal yn cyfrif yn y ddwy. Rhestrir "
                    "pob ardal y mae'r cytundebau'n ei chwmpasu, gan gynnwys y rhai heb ddim: mae "
                    "absenoldeb atgyfeiriadau yn wybodaeth. Mae'r barrau'n dangos cyfran yr holl "
                    "atgyfeiriadau yn y cyfnod.",
    [RH_T_LA_EMPTY] = "Ni dderbyniwyd atgyfeiriadau o unrhyw ardal yn y cyfnod.",
    [RH_T_LA_NONE] = "dim wedi dod i law",
    [RH_T_AGENCY_TITLE] = "Atgyfeiriadau fesul asiantaeth atgyfeirio",
    [RH_T_AGENCY_DEF] = "Yr asiantaeth a anfonodd bob atgyfeiriad, wrth yr enw a roddir iddi yn ei "
                        "chytundeb. Mae'r barrau'n dangos cyfran yr holl atgyfeiriadau yn y "
                        "cyfnod.",
    [RH_T_AGENCY_EMPTY] = "Ni anfonodd unrhyw asiantaeth atgyfeiriad yn y cyfnod.",
    [RH_T_TIME_TITLE] = "Amser hyd at ganlyniad o'i gymharu â'r terfyn amser",
    [RH_T_TIME_DEF] = "Diwrnodau o'r adeg y derbyniodd y brocer atgyfeiriad hyd at ganlyniad "
                      "cyntaf y drws ffrynt, ar gyfer atgyfeiriadau a dderbyniwyd yn y cyfnod. "
                      "Mae pob rhes wedi'i rhannu'n ganlyniadau o fewn y terfyn amser a osododd y "
                      "brocer yn ei dderbynneb a'r rhai ar ei ôl; mae'r barrau'n dangos cyfran yr "
                      "holl ganlyniadau.",
    [RH_T_TIME_EMPTY] = "Dim canlyniadau yn y cyfnod.",
    [RH_T_TIME_WITHIN] = "o fewn y terfyn amser",
    [RH_T_TIME_LATE] = "ar ôl y terfyn amser",
    [RH_T_TIME_NO_DEADLINE] = "dim terfyn amser wedi'i osod",
    [RH_T_TIME_OPEN] = "Nid oes canlyniad eto i {1} o'r atgyfeiriadau a dderbyniwyd yn y cyfnod; "
                       "mae {2} ohonynt wedi pasio'u terfyn amser.",
    [RH_T_TIME_DAYS] = "Diwrnodau hyd at ganlyniad",
    [RH_T_OUTCOMES_TITLE] = "Canlyniadau fesul asiantaeth atgyfeirio a math",
    [RH_T_OUTCOMES_DEF] = "Canlyniadau cyntaf atgyfeiriadau a dderbyniwyd yn y cyfnod. Y gyfradd "
                          "dim camau pellach (DCP) yw canlyniadau DCP fel cyfran o'r holl "
                          "ganlyniadau; ar gyfer hysbysiadau diogelu'r cyhoedd yr heddlu (PPN) "
                          "dyma'r ffigur y mae byrddau'n ei ddilyn.",
    [RH_T_OUTCOMES_EMPTY] = "Dim canlyniadau yn y cyfnod.",
    [RH_T_COL_AGENCY] = "Asiantaeth atgyfeirio",
    [RH_T_COL_KIND] = "Math o atgyfeiriad",
    [RH_T_COL_OUTCOMES] = "Canlyniadau",
    [RH_T_COL_NFA] = "DCP",
    [RH_T_COL_NFA_RATE] = "Cyfradd DCP",
    [RH_T_COL_AREA] = "Awdurdod lleol",
    [RH_T_COL_REFERRALS] = "Atgyfeiriadau",
    [RH_T_COL_SHARE] = "Cyfran",
    [RH_T_COL_PEOPLE] = "Pobl",
    [RH_T_REPEAT_TITLE] = "Atgyfeiriadau dro ar ôl tro",
    [RH_T_REPEAT_DEF] = "Pobl y rhybuddiodd y brocer amdanynt nad oedd atgyfeiriadau o fewn "
                        "cyfnod y cytundeb wedi cyrraedd y trothwy (meincnod y tri "
                        "atgyfeiriad), wedi'u cyfrif unwaith yr un. Uwchgyfeiriwyd: cafodd "
                        "atgyfeiriad diweddarach am yr un person benderfyniad uwchlaw dim camau "
                        "pellach neu gyfeirio (asesiad, trafodaeth strategaeth, ymholiad, Adran "
                        "47, hyb cam-drin domestig neu MARAC).",
    [RH_T_REPEAT_EMPTY] = "Dim rhybuddion am atgyfeiriadau dro ar ôl tro yn y cyfnod.",
    [RH_T_REPEAT_TEXT] = "{1} o bobl: uwchgyfeiriwyd {2} ers y rhybudd, ni uwchgyfeiriwyd {3}.",
    [RH_T_REPEAT_ESCALATED] = "uwchgyfeiriwyd",
    [RH_T_REPEAT_NOT_ESCALATED] = "heb ei uwchgyfeirio",
    [RH_T_BREACH_TITLE] = "Achosion o dorri'r terfyn amser",
    [RH_T_BREACH_DEF] = "Atgyfeiriadau a dderbyniwyd yn y cyfnod y nododd y brocer fod eu "
                        "canlyniad neu eu cydnabyddiaeth yn hwyr, wedi'u cyfrif unwaith yr un. "
                        "Oherwydd toriad: nid oedd system y drws ffrynt wedi'i chysylltu pan aeth "
                        "y terfyn amser heibio, felly mae'r achos yn dweud mwy am y toriad nag am "
                        "ymarfer.",
    [RH_T_BREACH_EMPTY] = "Ni thorrwyd unrhyw derfyn amser yn y cyfnod.",
    [RH_T_BREACH_OVERDUE] = "Canlyniad yn hwyr",
    [RH_T_BREACH_OUTAGE] = "gyda'r rhain oherwydd toriad",
    [RH_T_BREACH_PRACTICE] = "gyda'r rhain a'r drws ffrynt wedi'i gysylltu",
    [RH_T_BREACH_ACK] = "Cydnabyddiaeth yn hwyr",
    [RH_T_BREACH_ESCALATED] = "Uwchgyfeiriwyd ar ôl y terfyn amser",
    [RH_T_REFUSAL_TITLE] = "Gwrthodiadau fesul rheol",
    [RH_T_REFUSAL_DEF] = "Negeseuon a wrthododd y brocer yn y cyfnod, fesul rheol y cytundeb a "
                         "benderfynodd, gyda brawddeg y rheol ei hun. Rhestrir wedyn, fesul "
                         "rheswm, y gwrthodiadau na phenderfynodd unrhyw reol arnynt (llofnod "
                         "na ellid ei ddilysu, tystysgrif anhysbys neu wedi'i dirymu, neges "
                         "wallus).",
    [RH_T_REFUSAL_EMPTY] = "Ni wrthodwyd unrhyw neges yn y cyfnod.",
    [RH_T_COL_RULE] = "Rheol",
    [RH_T_COL_RULE_SAYS] = "Beth mae'r rheol yn ei ddweud",
    [RH_T_COL_REFUSALS] = "Gwrthodiadau",
    [RH_T_REFUSAL_NO_RULE] = "Gwrthodwyd cyn i unrhyw reol fod yn berthnasol",
    [RH_T_COL_REASON] = "Rheswm",
    [RH_T_DEFAULT_DENY] = "nid oedd unrhyw reol yn y cytundeb yn ei ganiatáu (gwrthod yn "
                          "ddiofyn)",
    [RH_T_NO_SENTENCE] = "(nid yw'r cytundeb yn rhoi brawddeg i'r rheol hon)",
    [RH_T_LATER_TITLE] = "Heriau proffesiynol",
    [RH_T_OVERRIDE_TITLE] = "Diystyru cydsyniad a'r adolygiadau",
    [RH_T_OVERRIDE_DEF] = "Atgyfeiriadau a anfonwyd heb y cydsyniad y mae rheol yn ei ofyn, dan "
                          "ddiystyriad y rheol honno, gyda chyfiawnhad yr anfonwr a'r rheolwr a "
                          "awdurdododd wedi'u cofnodi; mae adolygydd y cytundeb yn adolygu pob un.",
    [RH_T_OVERRIDE_EMPTY] = "Ni ddiystyrwyd cydsyniad yn y cyfnod.",
    [RH_T_OVERRIDE_TEXT] =
        "{1} diystyriad cydsyniad: {2} wedi'u cadarnhau ar adolygiad, {3} heb eu "
        "cadarnhau.",
    [RH_T_OVERRIDE_OPEN] = "{1} yn aros am adolygiad; ni wnaed {2} adolygiad erbyn y dyddiad.",
    [RH_T_LATERAL_TITLE] = "Gwiriadau ochrol",
    [RH_T_LATERAL_DEF] = "Ceisiadau am wybodaeth a anfonwyd at bartneriaid (\"a yw'r person hwn "
                         "yn hysbys i'ch gwasanaeth?\") gydag amser ateb erbyn, wedi'u cyfrif "
                         "fesul partner. Hwyr: aeth yr amser ateb erbyn heibio cyn i'r partner "
                         "ateb; rhybuddiwyd y ceisydd a'r partner. Mae ateb yn mynd at y ceisydd "
                         "yn unig, oni bai bod y cytundeb yn caniatáu ei rannu ymlaen.",
    [RH_T_LATERAL_EMPTY] = "Dim ceisiadau am wybodaeth yn y cyfnod.",
    [RH_T_LATERAL_TEXT] = "{1} cais am wybodaeth at {2} partner: {3} wedi'u hateb mewn pryd,",
    [RH_T_LATERAL_LATE] = "{1} yn hwyr, {2} heb eu hateb; aeth {3} yn hwyr.",
    [RH_T_LATERAL_KNOWN] = "Roedd {1} partner yn adnabod y person. Gwrthodwyd rhannu {2} ymlaen.",
    [RH_T_WITHDRAWN] = "Atgyfeiriadau a dynnwyd yn ôl gan yr atgyfeiriwr: {1} ({2} cyn y "
                       "penderfyniad, {3} wedi hynny).",
    [RH_T_CHALLENGE_DEF] = "Heriau i benderfyniad drws ffrynt a godwyd yn y cyfnod gan asiantaeth "
                           "sy'n ymwneud â'r achos, dan brotocol uwchgyfeirio'r cytundeb: mae "
                           "lefel nad yw'n ateb erbyn y dyddiad yn trosglwyddo'r her i'r nesaf.",
    [RH_T_CHALLENGE_EMPTY] = "Ni chodwyd her broffesiynol yn y cyfnod.",
    [RH_T_CHALLENGE_TEXT] = "{1} her broffesiynol wedi'u codi: {2} wedi'u hateb, {3} heb eu "
                            "datrys ar ôl dyddiad y lefel olaf.",
    [RH_T_CHALLENGE_OUTCOMES] = "Atebion: {1} wedi'u cadarnhau, {2} heb eu cadarnhau, {3} wedi'u "
                                "datrys rhwng yr asiantaethau.",
    [RH_T_CHALLENGE_OPEN] = "{1} yn dal ar agor; {2} uwchgyfeiriad i lefel arall.",
    [RH_T_CHALLENGE_LEVEL] = "Wedi cyrraedd lefel {1}: {2}.",
    [RH_T_MEETING_TITLE] = "Cyfarfodydd strategaeth",
    [RH_T_MEETING_DEF] = "Cyfarfodydd strategaeth (trafodaethau strategaeth Adran 47) y gwahoddodd "
                         "drws ffrynt asiantaethau iddynt yn y cyfnod, o gofnodion y brocer o bob "
                         "gwahoddiad, cofnod a chanslad. Absennol: wedi'i wahodd i gyfarfod a "
                         "gynhaliwyd ond heb ei gofnodi'n bresennol.",
    [RH_T_MEETING_EMPTY] = "Ni wahoddwyd neb i gyfarfod strategaeth yn y cyfnod.",
    [RH_T_MEETING_TEXT] = "{1} cyfarfod strategaeth wedi'u gwahodd, {2} wedi'u cynnal, {3} wedi'u "
                          "canslo.",
    [RH_T_MEETING_ATTEND] = "O {1} gwahoddiad i gyfarfodydd a gynhaliwyd, roedd {2} yn absennol; "
                            "cymerodd y person ran mewn {3} cyfarfod.",
    [RH_T_MEETING_LATE] = "Ni ddaeth {1} cofnod erbyn y dyddiad; cyrhaeddodd camau gweithredu {2} "
                          "cyfarfod bawb a wahoddwyd.",
    [RH_T_FOOTER] = "Mae pob ffigur yn gyfrif o gofnodion yn y log archwilio a ddilyswyd. "
                    "Mae canrannau wedi'u talgrynnu i'r rhif cyfan agosaf.",
};

static const char *const s_months_en [12] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
static const char *const s_months_cy [12] = { "Ion", "Chwe", "Maw",  "Ebr", "Mai",  "Meh",
                                              "Gor", "Awst", "Medi", "Hyd", "Tach", "Rhag" };

//  Referral kinds as people say them: enum name, English, Welsh.
static const char *const s_kinds [][3] = {
    { "PPN", "Police PPN", "PPN yr heddlu" },
    { "PROFESSIONAL", "Professional referral", "Atgyfeiriad proffesiynol" },
    { "DUTY_TO_REPORT", "Duty to report", "Dyletswydd i adrodd" },
    { "EARLY_HELP_REQUEST", "Early help request", "Cais am gymorth cynnar" },
    { "PUBLIC", "Member of the public", "Aelod o'r cyhoedd" },
    { "DASH", "DASH risk assessment", "Asesiad risg DASH" },
    { "SELF_REFERRAL", "Self-referral", "Hunanatgyfeirio" },
    { "REFERRAL_KIND_UNSET", "Kind not given", "Math heb ei nodi" },
};

static bool
s_welsh (const char *lang)
{
    return lang && strcmp (lang, "cy") == 0;
}

bool
rh_report_text_has (const char *lang)
{
    return lang && (strcmp (lang, "en") == 0 || strcmp (lang, "cy") == 0);
}

const char *
rh_report_text (const char *lang, rh_report_text_id_t id)
{
    assert (id < RH_T_COUNT);
    const char *text = s_welsh (lang) ? s_cy [id] : s_en [id];
    return text ? text : "";
}

const char *
rh_report_text_month (const char *lang, int month)
{
    if (month < 1 || month > 12)
        return "?";
    return s_welsh (lang) ? s_months_cy [month - 1] : s_months_en [month - 1];
}

const char *
rh_report_text_kind (const char *lang, const char *name)
{
    assert (name);
    for (size_t i = 0; i < sizeof s_kinds / sizeof s_kinds [0]; i++)
        if (strcmp (s_kinds [i][0], name) == 0)
            return s_kinds [i][s_welsh (lang) ? 2 : 1];
    return name;
}
