/*  =========================================================================
    rh_chronicle - what the log tells about one case or one subject

    rhannu-audit chronology and disclosures: the records about a case
    (every message of it, and each message's deliveries and acks), or every
    disclosure about one subject (the referrals the broker indexed under its
    pseudonymous key, and their cases), gathered from the log's indexes
    (ac/<case>/, ai/<msg>/, s/<subject key>/) and printed in log order: who
    sent what, when, under which agreement and rule, what was withheld,
    who was told.
    =========================================================================
*/
#ifndef RH_CHRONICLE_H_INCLUDED
#define RH_CHRONICLE_H_INCLUDED

typedef struct _rh_chronicle_t rh_chronicle_t;

//  New, empty chronicle of the committed log in db (borrowed). NULL on failure.
rh_chronicle_t *rh_chronicle_new (rh_db_t *db);

void rh_chronicle_destroy (rh_chronicle_t **self_p);

//  Adds the records of a case: its messages and each message's events.
void rh_chronicle_add_case (rh_chronicle_t *self, const char *case_id);

//  Adds the records about one subject (subject: the 64 hex digits of its key): each referral
//  indexed under it and the referral's case. Returns the number of referrals found, -1 if
//  subject is not a key, or -2 if the subject index could not be read.
int rh_chronicle_add_subject (rh_chronicle_t *self, const char *subject);

//  NULL if every record gathered and printed so far was read, else the first that was not.
const char *rh_chronicle_error (rh_chronicle_t *self);

//  Records gathered (each once).
size_t rh_chronicle_size (rh_chronicle_t *self);

//  Writes the records gathered, in log order, as text or (json) one object {title_key: title,
//  events: [...]}. With only_decided, only records that carry policy decisions or are broker
//  notices: the disclosures.
void rh_chronicle_print (rh_chronicle_t *self, FILE *out, bool json, bool only_decided,
                         const char *title_key, const char *title);

#endif
