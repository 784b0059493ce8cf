/*  =========================================================================
    rh_notice - messages the broker itself writes and signs

    Receipts ("the front door has your referral"), notices (an outcome or
    update, wrapping the front door's own signed message as this recipient
    may see it), and alerts (reminder, overdue, escalation, repeat
    referrals). Each carries a one-sentence summary in English and in
    Welsh; the Welsh wording is kept in one table here so that a translator
    can review it in one place.
    =========================================================================
*/
#ifndef RH_NOTICE_H_INCLUDED
#define RH_NOTICE_H_INCLUDED

//  What every broker message needs: who signs, the next sequence, to whom, and the time.
typedef struct {
    rh_signer_t *signer;
    uint64_t sequence;
    const char *recipient;
    int64_t now_ms;
} rh_notice_from_t;

//  An alert about a case (or a subject).
typedef struct {
    uint32_t alert_kind;      //  AlertKind
    const rh_case_t *record;  //  the case it is about
    int64_t due_ms;
    uint32_t count;  //  repeat referrals: how many, in how many days
    uint32_t window_days;
    const char *const *related_msg_ids;
    const char *const *related_case_ids;
    size_t related_count;
    const uint8_t *subject_key;  //  RH_SUBJECT_KEY_LEN bytes or NULL
} rh_alert_t;

//  Each returns the encoded, signed message (caller frees) with its size and id, or NULL.
uint8_t *rh_notice_receipt (const rh_notice_from_t *from, const rh_case_t *record,
                            const char *const *copy_to, size_t copy_count, size_t *size,
                            char msg_id [RH_MAX_ID + 1]);

//  notice_kind is NoticeKind; role is "referrer" or "involved"; original is the front door's
//  sealed message as this recipient may see it.
uint8_t *rh_notice_case (const rh_notice_from_t *from, const rh_case_t *record,
                         uint32_t notice_kind, const char *role, uint32_t decision,
                         uint32_t update_kind, const uint8_t *original, size_t original_size,
                         const char *const *copy_to, size_t copy_count, size_t *size,
                         char msg_id [RH_MAX_ID + 1]);

uint8_t *rh_notice_alert (const rh_notice_from_t *from, const rh_alert_t *alert, size_t *size,
                          char msg_id [RH_MAX_ID + 1]);

//  The summary sentence of an outcome or update, in "en" or "cy" (for tests and tools).
void rh_notice_summary (const rh_case_t *record, uint32_t notice_kind, uint32_t decision,
                        uint32_t update_kind, const char *lang, char *text, size_t size);

#endif
