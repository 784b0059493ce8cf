/*  =========================================================================
    rh_cases - the broker's referral lifecycles, deadlines and repeat index

    One record per referral (k/<referral msg id>), a lookup by the holding
    front door's view (kh/<holder>/<case id>), deadlines indexed by due time
    (d/<due, 16 hex digits>/<referral msg id>/<timer>) so that finding what
    is due reads only what is due, and a pseudonymous subject index
    (s/<subject key, hex>/<received, 16 hex>/<referral msg id>) for repeat
    referrals. Writes join the database's pending batch (one commit with
    the message that caused them); recently written cases are served from a
    small cache because reads see only committed data.
    =========================================================================
*/
#ifndef RH_CASES_H_INCLUDED
#define RH_CASES_H_INCLUDED

typedef enum {
    RH_TIMER_ACKNOWLEDGE = 0,  //  the front door has not taken the referral in
    RH_TIMER_REMINDER = 1,     //  remind the holder the outcome is due soon
    RH_TIMER_OUTCOME = 2,      //  outcome overdue: tell the referrer
    RH_TIMER_ESCALATE = 3,     //  still overdue: tell the escalation role
    RH_TIMER_REVIEW = 4,       //  a consent override not reviewed in time: tell the reviewer
    RH_TIMER_MEETING = 5,      //  a strategy meeting's record not in: tell the holder
    RH_TIMER_COUNT
} rh_timer_t;

//  Subject index states.
#define RH_SUBJECT_PENDING         0  //  no outcome yet
#define RH_SUBJECT_BELOW_THRESHOLD 1  //  no further action, signposted or stepped down
#define RH_SUBJECT_OTHER           2  //  any other outcome

typedef struct {
    char referral_msg_id [RH_MAX_ID + 1];
    char case_id [RH_MAX_ID + 1];
    char referrer [RH_MAX_ID + 1];
    char referrer_author [RH_MAX_ID + 1];
    char supervisor [RH_MAX_ID + 1];
    char duty_inbox [RH_MAX_ID + 1];
    char holder [RH_MAX_ID + 1];
    char holder_label [RH_MAX_TEXT];
    char transferred_to [RH_MAX_ID + 1];  //  may record outcomes and updates beside the holder
    char agreement_id [RH_MAX_ID + 1];
    char escalate_to [RH_MAX_ID + 1];
    uint32_t referral_kind;  //  ReferralKind
    uint32_t state;          //  CaseState
    uint32_t decision;       //  Decision
    int64_t received_ms;
    int64_t acknowledged_ms;
    int64_t decided_ms;
    int64_t closed_ms;
    int64_t withdrawn_ms;  //  when the referrer withdrew it, 0 if not
    bool outcome_notice_sent;
    bool overdue;
    bool outage_attributed;
    uint32_t updates;
    uint32_t unverified;                   //  times the holder's agent could not verify it
    char unverified_code [RH_MAX_ID + 1];  //  the last code it gave (RH_E_...)
    int64_t unverified_ms;                 //  when it first could not (0: never)
    int64_t timers [RH_TIMER_COUNT];       //  due times of pending timers; 0: none
    uint32_t override_review;              //  OverrideReview: 0 when no consent was overridden
    char override_rule [RH_MAX_ID + 1];    //  the rule whose consent condition was overridden
    int64_t overridden_ms;
    //  Strategy meetings: the case's current meeting (rh_strategy)
    uint32_t meeting_state;               //  StrategyMeetingState; 0: none
    char meeting_msg_id [RH_MAX_ID + 1];  //  the invitation
    int64_t meeting_when_ms;
    char meeting_invited [RH_MAX_INVITEES][RH_MAX_ID + 1];
    size_t meeting_invited_count;
    char meeting_record_msg_id [RH_MAX_ID + 1];  //  the record, once held
    uint32_t meeting_taken_in;                   //  bit i: meeting_invited [i] took the record in
    char involved [RH_MAX_INVOLVED][RH_MAX_ID + 1];
    size_t involved_count;
    uint8_t subject_keys [RH_MAX_CASE_SUBJECTS][RH_SUBJECT_KEY_LEN];
    size_t subject_count;
    char open_alerts [RH_MAX_OPEN_ALERTS][RH_MAX_ID + 1];
    size_t open_alert_count;
} rh_case_t;

//  One due timer.
typedef struct {
    char referral_msg_id [RH_MAX_ID + 1];
    rh_timer_t timer;
    int64_t due_ms;
} rh_due_t;

//  One referral about a subject.
typedef struct {
    char referral_msg_id [RH_MAX_ID + 1];
    int64_t received_ms;
    uint8_t state;
} rh_subject_entry_t;

typedef struct _rh_cases_t rh_cases_t;

rh_cases_t *rh_cases_new (rh_db_t *db);
void rh_cases_destroy (rh_cases_t **self_p);

//  Reads a case. Returns true if found (a record that does not decode counts as not found and
//  is logged).
bool rh_cases_get (rh_cases_t *self, const char *referral_msg_id, rh_case_t *record);

//  Finds the referral a holder knows by its case id. Returns true and fills referral_msg_id.
bool rh_cases_find (rh_cases_t *self, const char *holder, const char *case_id,
                    char referral_msg_id [RH_MAX_ID + 1]);

//  Writes a case (and its holder index entry). Returns 0 or -1.
int rh_cases_put (rh_cases_t *self, const rh_case_t *record);

//  Sets (due_ms > 0) or clears (0) one of a case's timers, keeping the due-time index in step.
//  The caller writes the case afterwards.
void rh_cases_set_timer (rh_cases_t *self, rh_case_t *record, rh_timer_t timer, int64_t due_ms);

//  Up to max timers due at now, earliest first, read from the due-time index only.
size_t rh_cases_due (rh_cases_t *self, int64_t now_ms, rh_due_t *due, size_t max);

//  Removes a due-time index entry whose case no longer has that timer.
void rh_cases_drop_due (rh_cases_t *self, const rh_due_t *due);

//  Adds an agency to the case's involved list (no duplicates). Returns false if full.
bool rh_cases_involve (rh_case_t *record, const char *agency);

//  Records or updates a referral in the subject index.
void rh_cases_note_subject (rh_cases_t *self, const uint8_t key [RH_SUBJECT_KEY_LEN],
                            int64_t received_ms, const char *referral_msg_id, uint8_t state);

//  Called for each referral the subject index holds for one subject, oldest first: the
//  referral's message id and its case id ("" if its case cannot be read). Returns 0 to go on,
//  -1 to stop the walk.
typedef int (rh_subject_referral_fn) (void *arg, const char *referral_msg_id, const char *case_id);

//  Walks the subject index of the store in db for subject (64 hex digits of its pseudonymous
//  key): the one place a subject is named. Returns the number of referrals, -1 if subject is not
//  a key, or -2 if the index could not be read or fn stopped the walk.
int rh_cases_each_subject_referral (rh_db_t *db, const char *subject, rh_subject_referral_fn *fn,
                                    void *arg);

//  Referrals about a subject received at or after since_ms (committed ones), oldest first.
size_t rh_cases_subject_history (rh_cases_t *self, const uint8_t key [RH_SUBJECT_KEY_LEN],
                                 int64_t since_ms, rh_subject_entry_t *entries, size_t max);

#endif
