/*  =========================================================================
    rh_eraser - erasure as an act: message payloads leave the store only
    after a committed ERASURE record says which, why and on whose authority

    The audit log keeps each message apart from its leaf (ap/<seq>), so a
    payload can go without breaking the tree. An eraser gathers the payloads
    to erase (by message id, by pseudonymous subject key, or those past
    their agreement's retention), refuses any still owed to a recipient (a
    queue entry or dead letter holds it) or under an agreement's legal hold,
    appends ERASURE records naming each payload by record and SHA-256, signs
    a checkpoint over them and commits (sync), and only then deletes the
    payloads. A run stopped between the two leaves records that name
    payloads still stored: harmless, and the next run finishes the deletion.
    =========================================================================
*/
#ifndef RH_ERASER_H_INCLUDED
#define RH_ERASER_H_INCLUDED

typedef struct _rh_eraser_t rh_eraser_t;

//  What became of one payload considered.
typedef enum {
    RH_ERASE_ERASED = 0,  //  named by an ERASURE record and deleted
    RH_ERASE_OWED,        //  refused: still owed to a recipient (queued or dead-lettered)
    RH_ERASE_HELD,        //  refused: its agreement is under legal hold
    RH_ERASE_GONE,        //  nothing to do: no payload stored (erased before)
} rh_erase_outcome_t;

//  Called once per payload considered: its record, message id, outcome, and for refusals who
//  it is owed to or which agreement holds it.
typedef void (rh_eraser_fn) (void *arg, uint64_t seq, const char *msg_id,
                             rh_erase_outcome_t outcome, const char *why);

//  New eraser over the committed store: db and audit are borrowed, policy (the agreements, for
//  legal holds and retention; may be NULL: then nothing is held and nothing is due) too.
//  Returns NULL on failure.
rh_eraser_t *rh_eraser_new (rh_db_t *db, rh_audit_t *audit, const rh_policy_t *policy);
void rh_eraser_destroy (rh_eraser_t **self_p);

//  Adds the payloads kept with every record about message msg_id. Returns how many records
//  about it carry a payload (stored or erased before), or -1 on failure.
int rh_eraser_add_message (rh_eraser_t *self, const char *msg_id);

//  Adds the referrals indexed under a subject's pseudonymous key (64 hex digits) and every
//  message of their cases. Returns the number of referrals, or -1 if subject is not a key.
int rh_eraser_add_subject (rh_eraser_t *self, const char *subject);

//  Adds every stored payload whose retention has passed at now_ms: received more than the
//  longest referral_years of the agreements that allowed it ago. Returns how many, or -1.
int rh_eraser_add_due (rh_eraser_t *self, int64_t now_ms);

//  Erases what was added: refusals first, then ERASURE records (reason: one of RH_ERASURE_*;
//  authority: who authorised it) and a checkpoint signed by signer (NULL: none), committed
//  with sync; then the payloads are deleted and committed. The store must have nothing
//  pending. Calls report (if not NULL) per payload. Returns the number erased, or -1 if
//  nothing could be committed (then nothing was deleted).
int rh_eraser_run (rh_eraser_t *self, const char *reason, const char *authority,
                   rh_signer_t *signer, rh_eraser_fn *report, void *arg);

//  The outcome's name for operators: "erased", "owed", "held", "gone".
const char *rh_eraser_outcome_name (rh_erase_outcome_t outcome);

#endif
