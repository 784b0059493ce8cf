/*  =========================================================================
    rh_intake - what the broker does with a verified message: who receives
    it, what the agreements allow each recipient, the copies they get, the
    audit record of the decisions, and the queue entries

    Recipients are the agencies addressed (a local authority's front door
    resolved through the agreements' directory, else its enrolled front
    door certificate), or for a reply without address the original's
    sender; for an outcome or update about a case, also everyone the case
    involves (rh_tracker). Every addressed recipient must be allowed by an
    agreement, or the whole message is refused with the rule or missing
    condition named; each recipient gets only the fields its agreement
    allows (a redacted copy), and the audit record keeps the commitment of
    each field withheld. A message goes to all its recipients or is
    refused, never half. Referrals open cases and outcomes and updates
    move them (rh_tracker). The sender's reply waits on the router for the
    group commit.
    =========================================================================
*/
#ifndef RH_INTAKE_H_INCLUDED
#define RH_INTAKE_H_INCLUDED

typedef struct _rh_intake_t rh_intake_t;

//  Creates the intake. Everything is borrowed; store and policy are the owner's slots, read on
//  every use, because a reload swaps what they point to. expiry_ms is the default message life;
//  a message created further than created_window_ms from the real clock is refused (RH_E_CLOCK).
//  Returns NULL on failure.
rh_intake_t *rh_intake_new (rh_dedup_t *dedup, rh_queue_t *queue, rh_tracker_t *tracker,
                            rh_router_t *router, rh_audit_t *audit, rh_signer_t *signer,
                            rh_certstore_t *const *store, rh_policy_t *const *policy,
                            int64_t expiry_ms, int64_t created_window_ms);

//  Gives the intake the owner's slot of the federation in force (NULL inside it: none). A
//  message that crosses to another region (addressed to a front door the federated directory
//  places there, or an agency that region's board enrolled, or a reply without address to one,
//  or about a case its sender holds here that a transfer from there opened) is decided at the
//  border first: a refusal is typed (RH_E_POLICY, rule "border:NAME") and
//  audited; an allowed crossing is stored in the per-peer queue (rh_peers
//  RH_PEER_QUEUE_PREFIX) for the link to that region's broker, and the sender is answered
//  Accepted (accepted for forwarding).
void rh_intake_set_peers (rh_intake_t *self, rh_peers_t *const *peers);

//  Issue 17, lateral checks: gives the intake the lateral checks (borrowed). An accepted
//  INFO_REQUEST is then tracked per partner, a response closes its check, and a response shared
//  beyond the requester without an onward rule is refused (see rh_lateral).
void rh_intake_set_lateral (rh_intake_t *self, rh_lateral_t *lateral);

//  Professional challenge (issue 17): challenges (borrowed) decides CHALLENGE messages and
//  their answers (STATUS_UPDATE CHALLENGE_RESPONDED) before they are routed, and records them
//  once accepted. Without it both are routed as addressed, like any message.
void rh_intake_set_challenges (rh_intake_t *self, rh_challenge_t *challenges);

void rh_intake_destroy (rh_intake_t **self_p);

//  Decides, stores and answers one verified (or refused) submission. The caller still owns
//  result->envelope.
void rh_intake_accept (rh_intake_t *self, rh_verified_t *result, int64_t now);

//  As rh_intake_accept, for a message another region's broker forwarded (from region; sender
//  is the sender's certificate from that region's board, verified by the caller; NULL: not
//  known there, refused). The border is decided in that direction first, then the agreements
//  in force here as for any sender; the audit record names the region and its broker, and
//  peer_log_size, if not 0, the size of that broker's log at its latest checkpoint received.
//  An accepted TRANSFER opens (or joins) this region's side of its case, held by its recipient
//  (rh_tracker_transferred_in, audited CASE_OPENED or CASE_JOINED); the holder's outcome and
//  updates going back move it on here as within the region.
void rh_intake_accept_peer (rh_intake_t *self, rh_verified_t *result, const rh_fed_region_t *region,
                            const rh_identity_t *sender, uint64_t peer_log_size, int64_t now);

#endif
