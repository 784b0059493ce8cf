/*  =========================================================================
    rh_policy - the sharing agreements in force, and the broker's decisions

    Loads every AGREEMENT.yaml of a folder together with its detached
    signature AGREEMENT.yaml.sig (rhannu-ca sign-agreement), checked against
    the board CA. A load is all or nothing: one unsigned, tampered, expired,
    duplicated or invalid file fails the whole set, so a reload can keep the
    set in force and say why.

    A message that names an agreement is decided by that agreement alone;
    otherwise each agreement in force is asked in id order and the first
    that allows the delivery is recorded. When none allows it, the most
    useful explanation wins: an unmet condition of a matching rule, then an
    explicit deny rule, then "no rule allows", then "not a party".
    =========================================================================
*/
#ifndef RH_POLICY_H_INCLUDED
#define RH_POLICY_H_INCLUDED

typedef struct _rh_policy_t rh_policy_t;

//  Loads dir against the CA certificate in ca_pem, at now_ms (an agreement whose valid_to has
//  passed is refused). On failure returns NULL and writes one line per problem into errors.
rh_policy_t *rh_policy_load (const char *dir, const char *ca_pem, int64_t now_ms, char *errors,
                             size_t errors_size);

void rh_policy_destroy (rh_policy_t **self_p);

size_t rh_policy_size (const rh_policy_t *self);
const rh_agreement_t *rh_policy_agreement (const rh_policy_t *self, size_t index);
//  The index-th agreement's file as signed, and its signature (RH_SIG_LEN bytes): what an
//  auditor needs to re-evaluate a decision later. Borrowed.
const uint8_t *rh_policy_source (const rh_policy_t *self, size_t index, size_t *size,
                                 const uint8_t **signature);

const rh_agreement_t *rh_policy_find (const rh_policy_t *self, const char *agreement_id);

//  Reads the facts a decision needs from a decoded envelope. Pointers borrow from it.
void rh_policy_facts (rh_envelope_t *envelope, rh_facts_t *facts);

//  Describes an agency for a decision from its certificate identity (pointers borrow from it).
void rh_policy_party (const rh_identity_t *identity, rh_party_ref_t *ref);

//  Decides one recipient (see the header comment). agreement_id is the one the message names,
//  or "". Fills decision; decision->agreement is NULL when no agreement was in force.
void rh_policy_decide (const rh_policy_t *self, const rh_facts_t *facts, const char *agreement_id,
                       const rh_party_ref_t *sender, const rh_party_ref_t *recipient,
                       int64_t now_ms, rh_decision_t *decision);

//  The front door of local authority la among the agreements in force at now_ms (alias may be
//  NULL). Returns the agency id or NULL; *label gets the front door's name ("" if none).
const char *rh_policy_front_door (const rh_policy_t *self, const char *la, const char *alias,
                                  int64_t now_ms, const char **label);

#endif
