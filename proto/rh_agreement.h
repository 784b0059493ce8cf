/*  =========================================================================
    rh_agreement - one sharing agreement, read from YAML and made executable

    An information governance officer writes the agreement (see
    deploy/agreements/gwent-safeguarding.yaml for the annotated format):
    identity and validity, parties with roles, purposes, rules, obligations.
    Parsing uses libyaml's document API, so every node keeps its line, and
    every error (syntax, unknown key, unknown enum value, a role no party
    has, a field the message kind does not have) names the line.

    A rule matches a message by kind, sender, recipient, purpose, category,
    route, subject kind and cross-border condition; an allow rule then
    checks its consent condition and names the body fields the recipient
    receives. Within one agreement the first matching rule decides;
    anything no rule allows is denied.
    =========================================================================
*/
#ifndef RH_AGREEMENT_H_INCLUDED
#define RH_AGREEMENT_H_INCLUDED

typedef struct _rh_agreement_t rh_agreement_t;

//  What the broker knows about a message, taken from its signed header and disclosed body
//  (rh_policy_facts). Strings are borrowed and never NULL.
typedef struct {
    rh_kind_t kind;
    const char *sender;
    const char *sender_unit;  //  the author's unit, e.g. "MASH"
    const char *purpose;
    uint32_t categories;                     //  bit per Category value
    uint32_t route;                          //  Route value of the referral, 0 if none
    uint32_t subject_kinds;                  //  bit per SubjectKind value
    const char *home_las [RH_MAX_FACT_LAS];  //  subjects' home local authorities, distinct
    size_t home_la_count;
    bool has_consent;        //  the message carries a consent record
    uint32_t consent_state;  //  ConsentState value
    uint32_t capacity;       //  Capacity value
    bool capacity_assessor;  //  an assessor is recorded
    bool family_aware;
    bool not_aware_reason;       //  a reason why the family is not aware is recorded
    uint32_t consent_scope;      //  bit per AgencyType value the consent covers; 0: not limited
    bool transfer_cross_border;  //  a Transfer says it crosses a border
    const char *transfer_to_la;
    //  Referral lifecycle: what the broker's case record adds (rh_policy_facts leaves these empty)
    const char *case_referrer;         //  the agency that made the referral, "" if no case
    const char *const *case_involved;  //  agencies that hear the case's updates
    size_t case_involved_count;
    //  Read from the body for the lifecycle
    uint32_t referral_kind;                              //  ReferralKind
    uint32_t decision;                                   //  Outcome.decision
    uint32_t update_kind;                                //  StatusUpdate.update_kind
    const char *new_owner;                               //  StatusUpdate.new_owner.agency_id, ""
    const uint8_t *subject_keys [RH_MAX_CASE_SUBJECTS];  //  RH_SUBJECT_KEY_LEN bytes each
    size_t subject_key_count;
    //  Consent override (break-glass), from the signed consent record
    bool override_justification;  //  a justification is recorded
    bool override_authoriser;     //  the authorising manager is recorded
    uint32_t review_outcome;      //  StatusUpdate.review_outcome (OverrideReview) of a review
    //  Professional challenge (issue 17)
    uint32_t challenge_outcome;  //  StatusUpdate.challenge_outcome (ChallengeOutcome)
} rh_facts_t;

//  An agency taking part in a decision, as its certificate describes it.
typedef struct {
    const char *id;
    uint32_t type;  //  AgencyType value
    const char *la;
    const char *region;
} rh_party_ref_t;

typedef enum {
    RH_DECIDE_ALLOW = 0,
    RH_DECIDE_NOT_PARTY,  //  sender or recipient is not a party of the agreement
    RH_DECIDE_NO_RULE,    //  default deny: no rule matched
    RH_DECIDE_CONDITION,  //  a rule matched but its condition (consent, ...) is not met
    RH_DECIDE_DENY_RULE   //  an explicit deny rule matched
} rh_decide_t;

//  One agreement's decision for one recipient.
typedef struct {
    rh_decide_t result;
    const rh_agreement_t *agreement;
    const char *rule_id;           //  "" when no rule decided
    uint64_t fields;               //  allowed body field numbers (bit per field), ALLOW only
    char missing [RH_MAX_ID + 1];  //  the condition not met, e.g. "consent"
    char reason [RH_MAX_REASON];   //  a sentence for the sender
    //  ALLOW by a consent override: missing and reason keep the condition overridden; the
    //  agreement's reviewer has review_ms to review it.
    bool overridden;
    int64_t review_ms;
    //  Issue 17, lateral checks: ALLOW by a rule with onward: true, which lets the message share
    //  a response to an information request onward (beyond the requester).
    bool onward;
} rh_decision_t;

//  Obligations the feedback loop follows (all durations in milliseconds; 0 means none).
typedef struct {
    int64_t acknowledge_ms;
    int64_t outcome_ms;                                  //  default outcome deadline
    int64_t outcome_ms_by_kind [RH_MAX_REFERRAL_KINDS];  //  by ReferralKind; 0: the default
    int64_t reminder_before_ms;
    int64_t escalate_after_ms;
    char escalate_to [RH_MAX_ID + 1];  //  a role
    bool feedback_referrer;
    bool feedback_supervisor;
    bool feedback_duty_inbox;
    uint32_t repeat_count;
    int64_t repeat_window_ms;
    char repeat_notify [RH_MAX_NOTIFY][RH_MAX_ID + 1];  //  roles or agency types
    size_t repeat_notify_count;
    //  Strategy meetings: the holder records a meeting (attendance, actions, minutes) within
    //  this long after the meeting's time; 0: no deadline.
    int64_t meeting_record_ms;
} rh_obligations_t;

//  Professional challenge (issue 17): one level of the agreement's escalation protocol. role is
//  a role of its parties, or "holder": the agency holding the case challenged.
typedef struct {
    char role [RH_MAX_ID + 1];
    int64_t respond_ms;  //  how long the level has to respond
} rh_challenge_level_t;

//  Parses and validates text (name is used in messages, e.g. the file name). On failure
//  returns NULL and appends one line per problem, "name:line: what", to errors (at most
//  RH_MAX_AGREEMENT_ERRORS lines).
rh_agreement_t *rh_agreement_parse (const char *text, size_t size, const char *name, char *errors,
                                    size_t errors_size);

void rh_agreement_destroy (rh_agreement_t **self_p);

//  Decides whether the agreement lets sender send the message described by facts to
//  recipient; addressed_la is the local authority whose front door the sender addressed ("" if
//  it named the agency). Fills decision.
void rh_agreement_decide (const rh_agreement_t *self, const rh_facts_t *facts,
                          const rh_party_ref_t *sender, const rh_party_ref_t *recipient,
                          rh_decision_t *decision);

//  Fills decision as a refusal for a condition not met that no rule decided (the checks of a
//  conversation's own rules: a challenge, a meeting, a review): missing names the condition,
//  the reason is format's sentence for the sender, cut to fit.
void rh_decision_condition (rh_decision_t *decision, const char *missing, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

//  Looks up the front door this agreement names for local authority la. alias may be NULL or a
//  local label (IAA, SPOC, MASH, "safeguarding hub"...), compared without case; a front door
//  with that alias is preferred, and *by_alias says whether one had it. Returns the agency id
//  or NULL; *label gets the front door's own name ("" if none).
const char *rh_agreement_front_door (const rh_agreement_t *self, const char *la, const char *alias,
                                     const char **label, bool *by_alias);

const char *rh_agreement_id (const rh_agreement_t *self);
uint32_t rh_agreement_version (const rh_agreement_t *self);
const char *rh_agreement_title (const rh_agreement_t *self);
int64_t rh_agreement_valid_from (const rh_agreement_t *self);
int64_t rh_agreement_valid_to (const rh_agreement_t *self);  //  end of the last valid day
//  retention: years a message under this agreement is kept after receipt (-1 if the agreement
//  does not say: then retention never erases it), and whether a legal hold forbids erasure.
int64_t rh_agreement_referral_years (const rh_agreement_t *self);
bool rh_agreement_legal_hold (const rh_agreement_t *self);
size_t rh_agreement_rules (const rh_agreement_t *self);
size_t rh_agreement_parties (const rh_agreement_t *self);
const rh_obligations_t *rh_agreement_obligations (const rh_agreement_t *self);

//  The agreement's challenge levels (challenge: levels:), first level first; *levels points into
//  the agreement. Returns how many (0: the agreement takes no challenges).
size_t rh_agreement_challenge_levels (const rh_agreement_t *self,
                                      const rh_challenge_level_t **levels);

//  Agency ids of the parties with the role, at most max. Returns how many.
size_t rh_agreement_parties_with_role (const rh_agreement_t *self, const char *role,
                                       const char **ids, size_t max);

//  A party's label (e.g. "Newport IAA"), "" if it has none or is no party.
const char *rh_agreement_label (const rh_agreement_t *self, const char *agency);

//  True if the agency is a party with the role (e.g. "front_door").
bool rh_agreement_has_role (const rh_agreement_t *self, const char *agency, const char *role);

//  SHA-256 of the file as signed; set by the loader (rh_policy), zero until then.
const uint8_t *rh_agreement_sha256 (const rh_agreement_t *self);
void rh_agreement_set_sha256 (rh_agreement_t *self, const uint8_t digest [RH_DIGEST_LEN]);

//  Prints a summary for people (id, version, validity, parties, rules, obligations).
void rh_agreement_print (const rh_agreement_t *self, FILE *out);

#endif
