/*  =========================================================================
    rh_notice - messages the broker itself writes and signs

    Summaries name cases, agencies and dates only: never a person.
    =========================================================================
*/
#include "rh_broker_classes.h"
#include "rhannu.pb-c.h"

//  Decision and update wording, English and Welsh, by enum value.
typedef struct {
    uint32_t value;
    const char *en;
    const char *cy;
} s_words_t;

static const s_words_t s_decisions [] = {
    { RHANNU__V1__DECISION__NO_FURTHER_ACTION, "no further action", "dim camau pellach" },
    { RHANNU__V1__DECISION__SIGNPOSTED, "signposted to a better placed service",
      "cyfeirio at wasanaeth mwy addas" },
    { RHANNU__V1__DECISION__RETURNED_MISSING_INFO, "returned: information is missing",
      "dychwelwyd: mae gwybodaeth ar goll" },
    { RHANNU__V1__DECISION__RETURNED_FOR_CONSENT, "returned for consent",
      "dychwelwyd am gydsyniad" },
    { RHANNU__V1__DECISION__STEP_DOWN_EARLY_HELP, "stepped down to early help",
      "camu i lawr i gymorth cynnar" },
    { RHANNU__V1__DECISION__CARE_AND_SUPPORT_ASSESSMENT, "care and support assessment",
      "asesiad gofal a chymorth" },
    { RHANNU__V1__DECISION__STRATEGY_DISCUSSION, "strategy discussion", "trafodaeth strategaeth" },
    { RHANNU__V1__DECISION__SECTION_47, "section 47 enquiries", "ymholiadau adran 47" },
    { RHANNU__V1__DECISION__ADULT_ENQUIRY, "adult safeguarding enquiry",
      "ymholiad diogelu oedolion" },
    { RHANNU__V1__DECISION__DA_HUB_POD, "domestic abuse hub", "hyb cam-drin domestig" },
    { RHANNU__V1__DECISION__MARAC_REFERRAL, "referred to MARAC", "atgyfeiriwyd i MARAC" },
    { RHANNU__V1__DECISION__TRANSFERRED, "transferred", "trosglwyddwyd" },
    { RHANNU__V1__DECISION__ALREADY_OPEN, "already open to services",
      "eisoes yn agored i wasanaethau" },
};

static const s_words_t s_updates [] = {
    { RHANNU__V1__UPDATE_KIND__ALLOCATED, "a worker was allocated", "dyrannwyd gweithiwr" },
    { RHANNU__V1__UPDATE_KIND__WORKER_CHANGED, "the allocated worker changed",
      "newidiodd y gweithiwr a ddyrannwyd" },
    { RHANNU__V1__UPDATE_KIND__STEPPED_UP, "stepped up", "camu i fyny" },
    { RHANNU__V1__UPDATE_KIND__STEPPED_DOWN, "stepped down", "camu i lawr" },
    { RHANNU__V1__UPDATE_KIND__STRATEGY_MEETING_SET, "a strategy meeting was set",
      "trefnwyd cyfarfod strategaeth" },
    { RHANNU__V1__UPDATE_KIND__CLOSED, "the case was closed", "caewyd yr achos" },
    { RHANNU__V1__UPDATE_KIND__REOPENED, "the case was reopened", "ailagorwyd yr achos" },
    { RHANNU__V1__UPDATE_KIND__OVERRIDE_REVIEWED, "the consent override was reviewed",
      "adolygwyd y diystyriad caniatâd" },
    { RHANNU__V1__UPDATE_KIND__CHALLENGE_RESPONDED, "a professional challenge was answered",
      "atebwyd her broffesiynol" },
    { RHANNU__V1__UPDATE_KIND__WITHDRAWN, "the referrer withdrew the referral",
      "tynnodd yr atgyfeiriwr yr atgyfeiriad yn ôl" },
    { RHANNU__V1__UPDATE_KIND__UNDER_SCREENING, "received, under screening",
      "wedi'i dderbyn, yn cael ei sgrinio" },
    { RHANNU__V1__UPDATE_KIND__ON_HOLD, "on hold, waiting for information",
      "ar stop, yn aros am wybodaeth" },
};

static const char *
s_words (bool update, uint32_t value, bool welsh)
{
    size_t count = update ? sizeof s_updates / sizeof s_updates [0]
                          : sizeof s_decisions / sizeof s_decisions [0];
    for (size_t i = 0; i < count; i++) {
        const s_words_t *entry = update ? &s_updates [i] : &s_decisions [i];
        if (entry->value == value)
            return welsh ? entry->cy : entry->en;
    }
    return welsh ? "diweddariad" : "an update";
}

//  How a case is named in a sentence: the referrer's case id, else the referral's message id.
static const char *
s_case_name (const rh_case_t *record)
{
    return *record->case_id ? record->case_id : record->referral_msg_id;
}

static const char *
s_holder_name (const rh_case_t *record)
{
    return *record->holder_label ? record->holder_label : record->holder;
}

static void
s_when (int64_t ms, char *text, size_t size)
{
    time_t seconds = (time_t) (ms / 1000);
    struct tm tm;
    strftime (text, size, "%Y-%m-%d %H:%M UTC", gmtime_r (&seconds, &tm));
}

void
rh_notice_summary (const rh_case_t *record, uint32_t notice_kind, uint32_t decision,
                   uint32_t update_kind, const char *lang, char *text, size_t size)
{
    bool welsh = lang && !strcmp (lang, "cy");
    if (notice_kind == RHANNU__V1__NOTICE_KIND__NOTICE_OUTCOME)
        snprintf (text, size,
                  welsh ? "Mae %s wedi penderfynu ar yr atgyfeiriad %s: %s."
                        : "%s decided on referral %s: %s.",
                  s_holder_name (record), s_case_name (record), s_words (false, decision, welsh));
    else if (notice_kind == RHANNU__V1__NOTICE_KIND__NOTICE_STRATEGY_MEETING) {
        //  Strategy meetings: to a referrer that was not invited.
        char when [40];
        s_when (record->meeting_when_ms, when, sizeof when);
        snprintf (text, size,
                  welsh ? "Cynhaliodd %s gyfarfod strategaeth ar yr atgyfeiriad %s (%s); mae'r "
                          "crynodeb i chi wedi'i atodi."
                        : "%s held a strategy meeting on referral %s (%s); the summary for you "
                          "is attached.",
                  s_holder_name (record), s_case_name (record), when);
    }
    else if (update_kind == RHANNU__V1__UPDATE_KIND__WITHDRAWN)
        snprintf (text, size,
                  welsh ? "Tynnodd %s yr atgyfeiriad %s yn ôl." : "%s withdrew referral %s.",
                  record->referrer, s_case_name (record));
    else
        snprintf (text, size,
                  welsh ? "Diweddariad gan %s ar yr atgyfeiriad %s: %s."
                        : "Update from %s on referral %s: %s.",
                  s_holder_name (record), s_case_name (record), s_words (true, update_kind, welsh));
}

//  Signs a body as the broker and encodes it.
static uint8_t *
s_seal (const rh_notice_from_t *from, rh_kind_t kind, const ProtobufCMessage *body,
        const rh_case_t *record, size_t *size, char msg_id [RH_MAX_ID + 1])
{
    rh_envelope_t *envelope = rh_envelope_new (kind);
    uint8_t *sealed = NULL;
    if (envelope && rh_envelope_add_to_agency (envelope, from->recipient, NULL) == 0
        && (!record || rh_envelope_set_case_id (envelope, record->case_id) == 0)
        && (!record || rh_envelope_set_in_reply_to (envelope, record->referral_msg_id) == 0)
        && rh_envelope_set_purpose (envelope, "REFERRER_FEEDBACK") == 0
        && rh_envelope_set_sequence (envelope, from->sequence) == 0
        && rh_envelope_set_created (envelope, from->now_ms) == 0
        && rh_envelope_set_body (envelope, body) == 0
        && rh_envelope_sign (envelope, from->signer) == 0
        && rh_envelope_encode (envelope, &sealed, size) == 0)
        snprintf (msg_id, RH_MAX_ID + 1, "%s", rh_envelope_msg_id (envelope));
    rh_envelope_destroy (&envelope);
    return sealed;
}

uint8_t *
rh_notice_receipt (const rh_notice_from_t *from, const rh_case_t *record,
                   const char *const *copy_to, size_t copy_count, size_t *size,
                   char msg_id [RH_MAX_ID + 1])
{
    char due [40], en [2048], cy [2048];
    s_when (record->timers [RH_TIMER_OUTCOME], due, sizeof due);
    bool dated = record->timers [RH_TIMER_OUTCOME] > 0;
    snprintf (en, sizeof en, "%s has referral %s%s%s.", s_holder_name (record),
              s_case_name (record), dated ? "; an outcome is due by " : "", dated ? due : "");
    snprintf (cy, sizeof cy, "Mae'r atgyfeiriad %s gan %s%s%s.", s_case_name (record),
              s_holder_name (record), dated ? "; disgwylir canlyniad erbyn " : "",
              dated ? due : "");
    Rhannu__V1__Receipt receipt = RHANNU__V1__RECEIPT__INIT;
    receipt.original_msg_id = (char *) record->referral_msg_id;
    receipt.case_id = (char *) record->case_id;
    receipt.held_by = (char *) record->holder;
    receipt.held_by_label = (char *) record->holder_label;
    receipt.received_ms = record->received_ms;
    receipt.outcome_due_ms = record->timers [RH_TIMER_OUTCOME];
    receipt.summary_en = en;
    receipt.summary_cy = cy;
    receipt.for_practitioner = (char *) record->referrer_author;
    receipt.copy_to = (char **) copy_to;
    receipt.n_copy_to = copy_count;
    return s_seal (from, RH_KIND_RECEIPT, &receipt.base, record, size, msg_id);
}

uint8_t *
rh_notice_case (const rh_notice_from_t *from, const rh_case_t *record, uint32_t notice_kind,
                const char *role, uint32_t decision, uint32_t update_kind, const uint8_t *original,
                size_t original_size, const char *const *copy_to, size_t copy_count, size_t *size,
                char msg_id [RH_MAX_ID + 1])
{
    char en [2048], cy [2048];
    rh_notice_summary (record, notice_kind, decision, update_kind, "en", en, sizeof en);
    rh_notice_summary (record, notice_kind, decision, update_kind, "cy", cy, sizeof cy);
    Rhannu__V1__Notice notice = RHANNU__V1__NOTICE__INIT;
    notice.notice_kind = (Rhannu__V1__NoticeKind) notice_kind;
    notice.case_id = (char *) record->case_id;
    notice.referral_msg_id = (char *) record->referral_msg_id;
    notice.summary_en = en;
    notice.summary_cy = cy;
    notice.holder = (char *) record->holder;
    notice.holder_label = (char *) record->holder_label;
    notice.for_practitioner = !strcmp (role, "referrer") ? (char *) record->referrer_author : "";
    notice.copy_to = (char **) copy_to;
    notice.n_copy_to = copy_count;
    notice.original.data = (uint8_t *) original;
    notice.original.len = original_size;
    notice.decision = (Rhannu__V1__Decision) decision;
    notice.update_kind = (Rhannu__V1__UpdateKind) update_kind;
    notice.role = (char *) role;
    return s_seal (from, RH_KIND_NOTICE, &notice.base, record, size, msg_id);
}

uint8_t *
rh_notice_alert (const rh_notice_from_t *from, const rh_alert_t *alert, size_t *size,
                 char msg_id [RH_MAX_ID + 1])
{
    const rh_case_t *record = alert->record;
    char due [40], en [2048], cy [2048];
    s_when (alert->due_ms, due, sizeof due);
    const char *outage_en = record->outage_attributed ? " (the front door was not connected)" : "";
    const char *outage_cy =
        record->outage_attributed ? " (nid oedd y drws ffrynt wedi cysylltu)" : "";
    switch (alert->alert_kind) {
        case RHANNU__V1__ALERT_KIND__OUTCOME_DUE_SOON:
            snprintf (en, sizeof en, "Reminder: the outcome of referral %s is due by %s.",
                      s_case_name (record), due);
            snprintf (cy, sizeof cy,
                      "Nodyn atgoffa: mae canlyniad yr atgyfeiriad %s yn ddyledus erbyn %s.",
                      s_case_name (record), due);
            break;
        case RHANNU__V1__ALERT_KIND__OUTCOME_OVERDUE:
            snprintf (en, sizeof en,
                      "The outcome of referral %s held by %s was due by %s and is not recorded%s.",
                      s_case_name (record), s_holder_name (record), due, outage_en);
            snprintf (cy, sizeof cy,
                      "Roedd canlyniad yr atgyfeiriad %s gan %s yn ddyledus erbyn %s ac nid yw "
                      "wedi'i gofnodi%s.",
                      s_case_name (record), s_holder_name (record), due, outage_cy);
            break;
        case RHANNU__V1__ALERT_KIND__ACKNOWLEDGEMENT_OVERDUE:
            snprintf (en, sizeof en, "Referral %s has not been taken in by %s since %s%s.",
                      s_case_name (record), s_holder_name (record), due, outage_en);
            snprintf (cy, sizeof cy, "Nid yw %s wedi derbyn yr atgyfeiriad %s ers %s%s.",
                      s_holder_name (record), s_case_name (record), due, outage_cy);
            break;
        case RHANNU__V1__ALERT_KIND__ESCALATION:
            snprintf (en, sizeof en,
                      "Escalation: the outcome of referral %s held by %s was due by %s and is "
                      "still outstanding%s.",
                      s_case_name (record), s_holder_name (record), due, outage_en);
            snprintf (cy, sizeof cy,
                      "Uwchgyfeirio: roedd canlyniad yr atgyfeiriad %s gan %s yn ddyledus erbyn "
                      "%s ac mae'n dal heb ei gofnodi%s.",
                      s_case_name (record), s_holder_name (record), due, outage_cy);
            break;
        case RHANNU__V1__ALERT_KIND__CONSENT_OVERRIDE:
            snprintf (en, sizeof en,
                      "Referral %s to %s was sent without consent under a recorded override; "
                      "please review it by %s.",
                      s_case_name (record), s_holder_name (record), due);
            snprintf (cy, sizeof cy,
                      "Anfonwyd yr atgyfeiriad %s at %s heb ganiatâd dan ddiystyriad a gofnodwyd; "
                      "adolygwch ef erbyn %s.",
                      s_case_name (record), s_holder_name (record), due);
            break;
        case RHANNU__V1__ALERT_KIND__OVERRIDE_REVIEW_OVERDUE:
            snprintf (en, sizeof en,
                      "The review of the consent override on referral %s was due by %s and is "
                      "not recorded.",
                      s_case_name (record), due);
            snprintf (
                cy, sizeof cy,
                "Roedd adolygiad y diystyriad caniatâd ar yr atgyfeiriad %s yn ddyledus erbyn "
                "%s ac nid yw wedi'i gofnodi.",
                s_case_name (record), due);
            break;
        //  Issue 17, lateral checks: the record stands for the request (its case id or id), the
        //  holder for the partner asked, the referrer for the requester.
        case RHANNU__V1__ALERT_KIND__INFO_REQUEST_REMINDER:
            snprintf (en, sizeof en,
                      "Reminder: a reply to the information request from %s about case %s is "
                      "due by %s.",
                      record->referrer, s_case_name (record), due);
            snprintf (cy, sizeof cy,
                      "Nodyn atgoffa: mae ateb i'r cais am wybodaeth gan %s am yr achos %s yn "
                      "ddyledus erbyn %s.",
                      record->referrer, s_case_name (record), due);
            break;
        case RHANNU__V1__ALERT_KIND__INFO_REQUEST_OVERDUE:
            snprintf (en, sizeof en,
                      "The reply from %s to the information request from %s about case %s was "
                      "due by %s and has not come.",
                      record->holder, record->referrer, s_case_name (record), due);
            snprintf (cy, sizeof cy,
                      "Roedd ateb %s i'r cais am wybodaeth gan %s am yr achos %s yn ddyledus "
                      "erbyn %s ac nid yw wedi dod.",
                      record->holder, record->referrer, s_case_name (record), due);
            break;
        //  Professional challenge (issue 17): count is the level the challenge stands at.
        case RHANNU__V1__ALERT_KIND__CHALLENGE_ESCALATED:
            snprintf (en, sizeof en,
                      "A challenge of the decision on case %s by %s was not answered at level %u "
                      "in time; it now stands at level %u: please respond by %s.",
                      s_case_name (record), s_holder_name (record),
                      alert->count > 1 ? alert->count - 1 : 1, alert->count, due);
            snprintf (cy, sizeof cy,
                      "Ni atebwyd her i'r penderfyniad ar achos %s gan %s ar lefel %u mewn pryd; "
                      "mae bellach ar lefel %u: ymatebwch erbyn %s.",
                      s_case_name (record), s_holder_name (record),
                      alert->count > 1 ? alert->count - 1 : 1, alert->count, due);
            break;
        case RHANNU__V1__ALERT_KIND__CHALLENGE_UNRESOLVED:
            snprintf (en, sizeof en,
                      "A challenge of the decision on case %s by %s was not answered at level "
                      "%u, the last, by %s: it is recorded as unresolved.",
                      s_case_name (record), s_holder_name (record), alert->count, due);
            snprintf (cy, sizeof cy,
                      "Ni atebwyd her i'r penderfyniad ar achos %s gan %s ar lefel %u, yr olaf, "
                      "erbyn %s: fe'i cofnodir fel un heb ei datrys.",
                      s_case_name (record), s_holder_name (record), alert->count, due);
            break;
        case RHANNU__V1__ALERT_KIND__MEETING_RECORD_OVERDUE: {
            //  Strategy meetings: to the holder.
            char held [40];
            s_when (record->meeting_when_ms, held, sizeof held);
            snprintf (en, sizeof en,
                      "The record of the strategy meeting of %s on referral %s was due by %s and "
                      "is not in: please record the attendance, actions and minutes.",
                      held, s_case_name (record), due);
            snprintf (cy, sizeof cy,
                      "Roedd cofnod cyfarfod strategaeth %s ar yr atgyfeiriad %s yn ddyledus erbyn "
                      "%s ac nid yw wedi dod: cofnodwch y presenoldeb, y camau gweithredu a'r "
                      "cofnodion.",
                      held, s_case_name (record), due);
            break;
        }
        default:  //  repeat referrals
            snprintf (en, sizeof en,
                      "%u referrals about the same person within %u days did not meet the "
                      "threshold (latest %s); please review them together.",
                      alert->count, alert->window_days, s_case_name (record));
            snprintf (cy, sizeof cy,
                      "Ni chyrhaeddodd %u atgyfeiriad am yr un person o fewn %u diwrnod y "
                      "trothwy (yr olaf %s); adolygwch nhw gyda'i gilydd.",
                      alert->count, alert->window_days, s_case_name (record));
            break;
    }
    Rhannu__V1__Alert body = RHANNU__V1__ALERT__INIT;
    body.alert_kind = (Rhannu__V1__AlertKind) alert->alert_kind;
    body.summary_en = en;
    body.summary_cy = cy;
    body.due_ms = alert->due_ms;
    body.count = alert->count;
    body.window_days = alert->window_days;
    body.related_msg_ids = (char **) alert->related_msg_ids;
    body.n_related_msg_ids = alert->related_msg_ids ? alert->related_count : 0;
    body.related_case_ids = (char **) alert->related_case_ids;
    body.n_related_case_ids = alert->related_case_ids ? alert->related_count : 0;
    if (alert->subject_key) {
        body.subject_key.data = (uint8_t *) alert->subject_key;
        body.subject_key.len = RH_SUBJECT_KEY_LEN;
    }
    body.outage_attributed = record->outage_attributed;
    body.for_practitioner = (char *) record->referrer_author;
    body.holder = (char *) record->holder;
    return s_seal (from, RH_KIND_ALERT, &body.base, record, size, msg_id);
}
