/*  =========================================================================
    rh_explain - rhannu-broker explain: a dry run of the broker's decision

    For information-governance officers, as `opa eval` is for policies:
    reads a message as an agent's outbox file and says, for each recipient
    the broker would decide, which agreement and rule decide it, which
    fields the recipient would receive, and which condition is missing when
    it is refused. Nothing is sent and the store is not opened.

    It names fields, agencies, rules and conditions, never the values the
    message holds: a governance officer may run it on a real referral.
    =========================================================================
*/
#ifndef RH_EXPLAIN_H_INCLUDED
#define RH_EXPLAIN_H_INCLUDED

//  What to explain.
typedef struct {
    const char *message;     //  the outbox JSON file
    const char *from;        //  the sending agency (enrolled in pki/dir)
    const char *agreements;  //  NULL: the agreements in force (policy/dir, signatures checked);
                             //  a folder: its signed agreements; a file: a draft agreement
    bool json;               //  one JSON document on out instead of sentences
} rh_explain_args_t;

//  Explains on out, or writes one line "what: RH_E_...: why" on err. Returns the exit code:
//  0 the broker would accept the message, 1 it would refuse it, 2 the message, the sender or
//  the agreements could not be read.
int rh_explain_run (rh_config_t *config, const rh_explain_args_t *args, FILE *out, FILE *err);

#endif
