/*  =========================================================================
    rh_casebook - referral cases rebuilt from the audit log alone

    rhannu-audit's replay and report walk the log in order and follow each
    referral to its outcome and closure without reading the broker's own
    case records (k/): what the log says must be enough, so an auditor can
    check the broker rather than trust it. A referral opens a case; later
    messages find it by the referral they answer or by the holder's case id.
    =========================================================================
*/
#ifndef RH_CASEBOOK_H_INCLUDED
#define RH_CASEBOOK_H_INCLUDED

typedef struct _rh_casebook_t rh_casebook_t;

//  One case as the log tells it. Callers update the lifecycle fields as they read on.
typedef struct {
    char referral [RH_MAX_ID + 1];                   //  msg id of the referral that opened it
    char case_id [RH_MAX_ID + 1];                    //  the referrer's case id
    char referrer [RH_MAX_ID + 1];                   //  agency that sent the referral
    char holder [RH_MAX_ID + 1];                     //  front door that holds it
    char involved [RH_MAX_INVOLVED][RH_MAX_ID + 1];  //  agencies the case has reached
    size_t involved_count;                           //  entries in involved
    int64_t received_ms;                             //  when the broker took the referral in
    int64_t decided_ms;                              //  first outcome, 0 if none yet
    bool acknowledged;                               //  the holder acknowledged the referral
    uint32_t unverified;  //  times the holder's agent could not verify it (and did not take it in)
    bool closed;
    uint8_t
        header_sha256 [RH_DIGEST_LEN];  //  the referral's signed header: replies are bound to it
} rh_casebook_case_t;

//  New, empty casebook. NULL on failure.
rh_casebook_t *rh_casebook_new (void);

void rh_casebook_destroy (rh_casebook_t **self_p);

//  Opens the case a referral record starts, held by holder. Returns it (borrowed, valid until
//  the next open), or NULL if there is no room.
rh_casebook_case_t *rh_casebook_open (rh_casebook_t *self, const rh_audit_record_t *record,
                                      const char *case_id, const char *holder);

//  The case opened by referral, or (holder not NULL, case_id not empty) held by holder under
//  case_id. Returns NULL if none.
rh_casebook_case_t *rh_casebook_find (rh_casebook_t *self, const char *referral, const char *holder,
                                      const char *case_id);

//  Adds agency to the case's involved agencies (once; at most RH_MAX_INVOLVED).
void rh_casebook_involve (rh_casebook_case_t *c, const char *agency);

//  Cases opened so far.
size_t rh_casebook_size (rh_casebook_t *self);

//  The case at index (0 .. size-1), in the order they were opened.
const rh_casebook_case_t *rh_casebook_at (rh_casebook_t *self, size_t index);

#endif
