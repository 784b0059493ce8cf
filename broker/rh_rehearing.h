/*  =========================================================================
    rh_rehearing - every logged policy decision decided again

    rhannu-audit replay: the referral lifecycles are rebuilt from the log
    alone and each decision the broker recorded is decided again, against
    the agreement version it names as the broker kept it (g/<id>/<version>,
    signed by the board), with the parties' certificates valid at the time.
    A decision that does not come out the same (allowed or not, rule,
    fields withheld) is a mismatch: either the broker or its log is wrong.
    Refused messages are not kept, so their decisions stand as logged.
    =========================================================================
*/
#ifndef RH_REHEARING_H_INCLUDED
#define RH_REHEARING_H_INCLUDED

typedef struct _rh_rehearing_t rh_rehearing_t;

//  New rehearing of the committed log in db, with the certificates in store (both borrowed)
//  and the board CA read from pki/ca.pem (without it no agreement version is trusted, and
//  every decision is a mismatch). NULL on failure.
rh_rehearing_t *rh_rehearing_new (rh_db_t *db, rh_certstore_t *store, const char *pki);

void rh_rehearing_destroy (rh_rehearing_t **self_p);

//  One pass over the log: rebuilds the cases and decides every recorded decision again.
//  Returns 0, or -1 if it could not run (no memory).
int rh_rehearing_run (rh_rehearing_t *self);

//  Decisions that did not come out the same in the last run.
size_t rh_rehearing_mismatches (rh_rehearing_t *self);

//  Writes what the last run found: counts and each mismatch, as text or as JSON.
void rh_rehearing_print (rh_rehearing_t *self, FILE *out, bool json);

#endif
