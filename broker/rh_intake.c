/*  =========================================================================
    rh_intake - what the broker does with a verified message: who receives
    it, what the agreements allow each recipient, the copies they get, the
    audit record of the decisions, and the queue entries
    =========================================================================
*/
#include "rh_broker_classes.h"
#include "rhannu.pb-c.h"

#define S_MAX_TO (RH_MAX_RECIPIENTS + RH_MAX_INVOLVED)  //  addressed plus told by the broker

struct _rh_intake_t {
    rh_dedup_t *dedup;             //  borrowed: message ids and sequences seen
    rh_queue_t *queue;             //  borrowed: where accepted messages go
    rh_tracker_t *tracker;         //  borrowed: the cases referrals open and outcomes move
    rh_router_t *router;           //  borrowed: holds the sender's reply until the commit
    rh_audit_t *audit;             //  borrowed: every decision is recorded
    rh_signer_t *signer;           //  borrowed: the broker's identity, for notices
    rh_certstore_t *const *store;  //  borrowed slot: who is enrolled (swapped on reload)
    rh_policy_t *const *policy;    //  borrowed slot: the agreements in force (swapped on reload)
    rh_peers_t *const *peers;      //  borrowed slot: the federation in force, or NULL
    //  While rh_intake_accept_peer decides: the region the message came from and its sender's
    //  certificate there (not enrolled here); NULL otherwise.
    uint64_t peer_log_size;  //  and the size of that region's log at its last checkpoint, or 0
    const rh_fed_region_t *from_region;
    const rh_identity_t *foreign;
    rh_lateral_t *lateral;       //  borrowed: lateral checks (issue 17), or NULL
    rh_challenge_t *challenges;  //  borrowed: professional challenges (issue 17), or NULL
    int64_t expiry_ms;           //  default message life
    int64_t created_window_ms;   //  how far a created time may be from the real clock
};

rh_intake_t *
rh_intake_new (rh_dedup_t *dedup, rh_queue_t *queue, rh_tracker_t *tracker, rh_router_t *router,
               rh_audit_t *audit, rh_signer_t *signer, rh_certstore_t *const *store,
               rh_policy_t *const *policy, int64_t expiry_ms, int64_t created_window_ms)
{
    assert (dedup && queue && tracker && router && audit && signer && store && policy);
    rh_intake_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->dedup = dedup;
    self->queue = queue;
    self->tracker = tracker;
    self->router = router;
    self->audit = audit;
    self->signer = signer;
    self->store = store;
    self->policy = policy;
    self->expiry_ms = expiry_ms;
    self->created_window_ms = created_window_ms;
    return self;
}

void
rh_intake_set_peers (rh_intake_t *self, rh_peers_t *const *peers)
{
    assert (self);
    self->peers = peers;
}

void
rh_intake_set_lateral (rh_intake_t *self, rh_lateral_t *lateral)
{
    assert (self);
    self->lateral = lateral;
}

void
rh_intake_set_challenges (rh_intake_t *self, rh_challenge_t *challenges)
{
    assert (self);
    self->challenges = challenges;
}

void
rh_intake_destroy (rh_intake_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}

//  The identity of an agency enrolled and valid at now, or NULL.
static const rh_identity_t *
s_identity (rh_intake_t *self, const char *agency, int64_t now)
{
    if (self->foreign && strcmp (agency, self->foreign->agency_id) == 0)
        return self->foreign;
    return rh_certstore_enrolled (*self->store, agency, now);
}

//  Resolves "the front door of LA x": the agreements' directory first (which knows the local
//  labels: IAA, SPOC, MASH, hub), then an enrolled LA_FRONT_DOOR (or LA_CHILDREN) certificate
//  of that local authority. Either way the agreement still has to allow the delivery.
static const char *
s_front_door (rh_intake_t *self, const char *la, const char *alias, int64_t now)
{
    const char *label = NULL;
    const char *agency = rh_policy_front_door (*self->policy, la, alias, now, &label);
    if (agency && s_identity (self, agency, now))
        return agency;
    const char *fallback = NULL;
    for (size_t i = 0; i < rh_certstore_size (*self->store); i++) {
        const rh_identity_t *id = rh_certstore_identity (*self->store, i);
        if (strcmp (id->la, la) != 0 || rh_certstore_status (*self->store, i, now) != RH_OK)
            continue;
        if (strcmp (id->type, "LA_FRONT_DOOR") == 0)
            return id->agency_id;
        if (strcmp (id->type, "LA_CHILDREN") == 0 && !fallback)
            fallback = id->agency_id;
    }
    return fallback;
}

//  Works out who receives a message. Returns RH_OK or RH_E_POLICY with the reason.
static rh_rc_t
s_route (rh_intake_t *self, rh_envelope_t *envelope, const char **recipients, size_t *count,
         char replied_to [RH_MAX_ID + 1], char *reason, size_t reason_size, int64_t now,
         bool about_case)
{
    *count = 0;
    size_t wanted = rh_envelope_recipients (envelope);
    for (size_t i = 0; i < wanted; i++) {
        const char *agency = rh_envelope_recipient_agency (envelope, i);
        if (!*agency) {
            const char *la = rh_envelope_recipient_front_door (envelope, i);
            agency = s_front_door (self, la, rh_envelope_recipient_alias (envelope, i), now);
            if (!agency) {
                snprintf (reason, reason_size, "no front door is enrolled for local authority '%s'",
                          la);
                return RH_E_POLICY;
            }
        }
        else if (!s_identity (self, agency, now)) {
            snprintf (reason, reason_size, "recipient '%s' is not an enrolled agency", agency);
            return RH_E_POLICY;
        }
        bool seen = false;
        for (size_t k = 0; k < *count && !seen; k++)
            seen = strcmp (recipients [k], agency) == 0;
        if (!seen)
            recipients [(*count)++] = agency;
    }
    if (about_case)
        return RH_OK;  //  the case adds who must be told
    if (*count == 0 && *rh_envelope_in_reply_to (envelope)) {
        //  A reply with no address goes back to whoever sent the original.
        if (rh_dedup_sender_of (self->dedup, rh_envelope_in_reply_to (envelope), replied_to)
            && s_identity (self, replied_to, now))
            recipients [(*count)++] = replied_to;
    }
    if (*count == 0) {
        snprintf (reason, reason_size, "the message names no recipient");
        return RH_E_POLICY;
    }
    return RH_OK;
}

//  Rejects a message: its audit record, the typed reply and one operator log line.
static void
s_reject (rh_intake_t *self, const rh_verified_t *result, rh_rc_t rc, const char *reason)
{
    char detail [300];
    snprintf (detail, sizeof detail, "%s", reason ? reason : rh_rc_text (rc));
    rh_audit_event (self->audit, "REJECTED", rc, result->msg_id, result->agency, NULL, 0, NULL, 0,
                    result->sealed_sha256, detail);
    rh_router_reply (self->router, result->routing_id, result->routing_id_size, result->msg_id, rc,
                     false, detail);
    rh_log_info ("broker", "rejected %s from %s: %s (%s)", result->msg_id, result->agency,
                 rh_rc_name (rc), detail);
}

//  The replay and duplicate check by message id, sequence and header digest (rh_dedup): true
//  if the message is new and goes on; false when it was answered here (refused as a replay, or
//  a duplicate acknowledged again, audited).
static bool
s_first_time (rh_intake_t *self, const rh_verified_t *result)
{
    size_t header_size = 0;
    const uint8_t *header = rh_envelope_header_bytes (result->envelope, &header_size);
    uint8_t header_hash [RH_DIGEST_LEN];
    rh_sha256 (header_hash, header, header_size);
    bool duplicate = false;
    const char *why = NULL;
    rh_rc_t rc =
        rh_dedup_check (self->dedup, result->agency, result->msg_id,
                        rh_envelope_sequence (result->envelope), header_hash, &duplicate, &why);
    if (rc != RH_OK) {
        s_reject (self, result, rc, why);
        return false;
    }
    if (duplicate) {
        rh_audit_event (self->audit, "DUPLICATE", RH_OK, result->msg_id, result->agency, NULL, 0,
                        NULL, 0, result->sealed_sha256, "seen before; acknowledged again");
        rh_router_reply (self->router, result->routing_id, result->routing_id_size, result->msg_id,
                         RH_OK, true, NULL);
        return false;
    }
    return true;
}

static void s_refuse (rh_intake_t *self, const rh_verified_t *result, const rh_decision_t *decision,
                      const char *recipient);

//  Whether an outcome or update moves its holder's case on (rh_tracker_event); a withdrawal,
//  a review of an override and an answer to a challenge are another's word, decided apart.
static bool
s_moves_case (const rh_facts_t *facts)
{
    return facts->kind == RH_KIND_OUTCOME
           || (facts->kind == RH_KIND_STATUS_UPDATE
               && facts->update_kind != RHANNU__V1__UPDATE_KIND__WITHDRAWN
               && facts->update_kind != RHANNU__V1__UPDATE_KIND__OVERRIDE_REVIEWED
               && facts->update_kind != RHANNU__V1__UPDATE_KIND__CHALLENGE_RESPONDED);
}

//  A crossing allowed at the border: the sender's original bytes wait in the per-peer queue
//  (durable with the group commit, like any queue entry) until the peer's broker has stored
//  them (rh_peerlink), and the sender is answered Accepted: accepted for forwarding. A message
//  sent again is dropped by its id here as for any recipient.
static void
s_forward (rh_intake_t *self, const rh_verified_t *result, const rh_fed_region_t *region,
           const char *door, const rh_facts_t *facts, int64_t now)
{
    rh_envelope_t *envelope = result->envelope;
    char queue [RH_MAX_ID + 1];
    snprintf (queue, sizeof queue, RH_PEER_QUEUE_PREFIX "%s", region->name);
    //  The holder's transfer hands its case on across the border as within the region. The
    //  holder's outcome or update going back to the region of the case's referrer (a transfer
    //  from there opened the case here) moves the case on here as it would within the region,
    //  and a close the case cannot take yet is refused here, typed and audited.
    rh_case_t record;
    rh_case_match_t match = rh_tracker_case_of (self->tracker, envelope, result->agency, &record);
    bool transfer = facts->kind == RH_KIND_TRANSFER && match == RH_CASE_HELD;
    bool about_case = match == RH_CASE_HELD && !transfer && s_moves_case (facts)
                      && rh_peers_home (*self->peers, record.referrer, now) == region;
    char known [RH_MAX_ID + 1];
    rh_decision_t refusal;
    if (about_case && !rh_dedup_sender_of (self->dedup, result->msg_id, known)
        && rh_tracker_close_refused (self->tracker, &record, facts, &refusal)) {
        s_refuse (self, result, &refusal, record.holder);
        return;
    }
    if (!s_first_time (self, result))
        return;
    if (rh_queue_reserve (self->queue, queue) != 0) {
        s_reject (self, result, RH_E_NOMEM, "cannot keep a queue for the other region");
        return;
    }
    int64_t expires = rh_envelope_expires (envelope), latest = now + self->expiry_ms;
    if (!expires || expires > latest)
        expires = latest;
    char detail [RH_MAX_REASON];
    snprintf (detail, sizeof detail, "%s forwarded to region %s%s%s under federation %s",
              rh_envelope_kind_name (rh_envelope_kind (envelope)), region->name,
              door ? " for " : "", door ? door : "",
              rh_federation_id (rh_peers_federation (*self->peers)));
    const char *to [1] = { queue };
    //  Under the case's id where the message names only its referral: the case's chronology
    //  shows it.
    uint64_t leaf = rh_audit_decided (
        self->audit, "ACCEPTED", RH_OK, result->msg_id, result->agency, to, 1, result->sealed,
        result->sealed_size, NULL, detail, NULL, 0,
        *rh_envelope_case_id (envelope) || !about_case ? rh_envelope_case_id (envelope)
                                                       : record.case_id);
    rh_queue_enqueue (self->queue, queue, result->msg_id, result->agency, result->sealed,
                      result->sealed_size, leaf, expires, NULL, facts->kind, now);
    if (transfer && door)
        rh_tracker_transfer (self->tracker, &record, door, now);
    else if (about_case)
        rh_tracker_event (self->tracker, &record, facts, NULL, 0, now);
    rh_router_reply (self->router, result->routing_id, result->routing_id_size, result->msg_id,
                     RH_OK, false, NULL);
    rh_log_info ("broker", "%s from %s accepted for forwarding to region %s", result->msg_id,
                 result->agency, region->name);
}

//  Where a message crosses to, if it does: a recipient that is the front door of a local
//  authority the federated directory places in another region, or an agency that region's
//  board enrolled; or, for a reply without address, the other region's agency that sent the
//  original, or that referred the case sender holds here (a transfer from that region opened
//  it). Returns that region and sets *door (the agency there), or NULL.
static const rh_fed_region_t *
s_crossing (rh_intake_t *self, rh_peers_t *peers, rh_envelope_t *envelope, const char *sender,
            const char **door, char replied_to [RH_MAX_ID + 1], int64_t now)
{
    size_t count = rh_envelope_recipients (envelope);
    for (size_t i = 0; i < count; i++) {
        const char *agency = rh_envelope_recipient_agency (envelope, i);
        const rh_fed_region_t *region = NULL;
        if (!*agency)
            region = rh_peers_route (peers, rh_envelope_recipient_front_door (envelope, i), door);
        else if (!s_identity (self, agency, now) && (region = rh_peers_home (peers, agency, now)))
            *door = agency;
        if (region)
            return region;
    }
    if (count > 0)
        return NULL;
    const char *original = rh_envelope_in_reply_to (envelope);
    rh_case_t record;
    bool answered = *original && rh_dedup_sender_of (self->dedup, original, replied_to);
    //  (Not for what another region's broker forwarded: that broker decided where it goes.)
    if (!answered && !self->from_region
        && rh_tracker_held (self->tracker, envelope, sender, &record)) {
        snprintf (replied_to, RH_MAX_ID + 1, "%s", record.referrer);
        answered = true;
    }
    if (!answered || s_identity (self, replied_to, now))
        return NULL;  //  no one to answer, or a reply within the region
    const rh_fed_region_t *region = rh_peers_home (peers, replied_to, now);
    if (region)
        *door = replied_to;
    return region;
}

//  Refuses at the border: audited, typed (RH_E_POLICY, rule "border:NAME", the federation
//  agreement's id).
static void
s_border_refuse (rh_intake_t *self, const rh_verified_t *result, const char *name,
                 const char *reason, const char *region)
{
    rh_peers_t *peers = *self->peers;
    char detail [RH_MAX_REASON + 64];
    snprintf (detail, sizeof detail, "border:%s: %s", name, reason);
    rh_audit_event (self->audit, "REJECTED", RH_E_POLICY, result->msg_id, result->agency, NULL, 0,
                    NULL, 0, result->sealed_sha256, detail);
    rh_reply_t *reply = rh_router_reply (self->router, result->routing_id, result->routing_id_size,
                                         result->msg_id, RH_E_POLICY, false, detail);
    if (reply) {
        snprintf (reply->rule_id, sizeof reply->rule_id, "border:%s", name);
        snprintf (reply->agreement_id, sizeof reply->agreement_id, "%s",
                  rh_federation_id (rh_peers_federation (peers)));
    }
    rh_log_info ("broker", "refused %s from %s at the border with region %s: %s", result->msg_id,
                 result->agency, region, name);
}

//  The border. A message from another region's broker (rh_intake_accept_peer) is decided in
//  its direction, and never crosses on to a third region. A message from here to another
//  region is decided by the federation agreement first, then forwarded (s_forward). Returns
//  true if the message was dealt with here (refused or forwarded).
static bool
s_border (rh_intake_t *self, const rh_verified_t *result, const rh_facts_t *facts, int64_t now)
{
    rh_peers_t *peers = self->peers ? *self->peers : NULL;
    if (!peers)
        return false;
    rh_envelope_t *envelope = result->envelope;
    const rh_identity_t *sender_id = s_identity (self, result->agency, now);
    rh_party_ref_t sender = { result->agency, 0, "", "" };
    if (sender_id)
        rh_policy_party (sender_id, &sender);
    char reason [RH_MAX_REASON], replied_to [RH_MAX_ID + 1];
    const char *door = NULL;
    const rh_fed_region_t *region =
        s_crossing (self, peers, envelope, result->agency, &door, replied_to, now);
    if (self->from_region) {
        rh_fed_decide_t decide =
            rh_peers_border (peers, self->from_region->name, rh_peers_own (peers)->name, facts,
                             &sender, now, reason, sizeof reason);
        if (decide != RH_FED_ALLOW) {
            s_border_refuse (self, result, rh_federation_decide_name (decide), reason,
                             self->from_region->name);
            return true;
        }
        if (region) {
            s_border_refuse (self, result, "no_onward",
                             "a message from another region is not forwarded on", region->name);
            return true;
        }
        return false;
    }
    if (!region)
        return false;
    rh_fed_decide_t decide = rh_peers_border (peers, rh_peers_own (peers)->name, region->name,
                                              facts, &sender, now, reason, sizeof reason);
    if (decide != RH_FED_ALLOW) {
        s_border_refuse (self, result, rh_federation_decide_name (decide), reason, region->name);
        return true;
    }
    s_forward (self, result, region, door, facts, now);
    return true;
}

//  Fills an audit decision from a policy decision (strings borrowed from it).
static void
s_audit_decision (const rh_decision_t *decision, const char *recipient, rh_audit_decision_t *out)
{
    memset (out, 0, sizeof *out);
    out->recipient = recipient;
    out->allowed = decision->result == RH_DECIDE_ALLOW;
    out->rule_id = decision->rule_id;
    out->missing_condition = decision->missing;
    if (decision->agreement) {
        out->agreement_id = rh_agreement_id (decision->agreement);
        out->agreement_version = rh_agreement_version (decision->agreement);
        out->agreement_sha256 = rh_agreement_sha256 (decision->agreement);
    }
}

//  Refuses a message the agreements do not allow: a typed answer naming the rule or the
//  missing condition, and an audit record of the decision.
static void
s_refuse (rh_intake_t *self, const rh_verified_t *result, const rh_decision_t *decision,
          const char *recipient)
{
    rh_audit_decision_t audit;
    s_audit_decision (decision, recipient, &audit);
    rh_audit_decided (self->audit, "REJECTED", RH_E_POLICY, result->msg_id, result->agency, NULL, 0,
                      NULL, 0, result->sealed_sha256, decision->reason, &audit, 1,
                      result->envelope ? rh_envelope_case_id (result->envelope) : NULL);
    rh_reply_t *reply = rh_router_reply (self->router, result->routing_id, result->routing_id_size,
                                         result->msg_id, RH_E_POLICY, false, decision->reason);
    if (reply) {
        snprintf (reply->rule_id, sizeof reply->rule_id, "%s", decision->rule_id);
        snprintf (reply->agreement_id, sizeof reply->agreement_id, "%s",
                  decision->agreement ? rh_agreement_id (decision->agreement) : "");
        snprintf (reply->missing, sizeof reply->missing, "%s", decision->missing);
    }
    rh_log_info ("broker", "refused %s from %s to %s: %s", result->msg_id, result->agency,
                 recipient, decision->reason);
}

//  A copy of sealed without the fields not in keep. Returns NULL on failure.
static uint8_t *
s_redacted (const uint8_t *sealed, size_t size, const uint32_t *keep, size_t keep_count,
            size_t *redacted_size)
{
    rh_envelope_t *copy = NULL;
    uint8_t *redacted = NULL;
    if (rh_envelope_decode (sealed, size, &copy) == RH_OK
        && rh_envelope_redact (copy, keep, keep_count) == 0
        && rh_envelope_encode (copy, &redacted, redacted_size) != 0)
        redacted = NULL;
    rh_envelope_destroy (&copy);
    return redacted;
}

//  Issue 16: a transfer from another region, accepted here, opens (or joins) this region's
//  side of its case (rh_tracker_transferred_in): its holder's answers go back to the region
//  it came from, and its deadlines run here. Recorded under the case, with ids only.
static void
s_transferred_in (rh_intake_t *self, const rh_verified_t *result, const rh_facts_t *facts,
                  const char *const *recipients, const rh_decision_t *decisions, size_t count,
                  int64_t now)
{
    rh_case_t record;
    bool opened = rh_tracker_transferred_in (self->tracker, result->envelope, facts, result->agency,
                                             recipients, decisions, count, &record, now);
    //  Joined: handed on to another agency here, or to the holder again.
    const char *to = opened || !*record.transferred_to ? record.holder : record.transferred_to;
    char detail [RH_MAX_REASON * 2];  //  room for four ids
    snprintf (detail, sizeof detail,
              "case of referral %s %s here for %s: transferred in from region %s by %s; its "
              "answers go back there",
              record.referral_msg_id, opened ? "opened" : "joined", to, self->from_region->name,
              result->agency);
    rh_audit_decided (self->audit, opened ? "CASE_OPENED" : "CASE_JOINED", RH_OK, result->msg_id,
                      result->agency, NULL, 0, NULL, 0, NULL, detail, NULL, 0, record.case_id);
    rh_log_info ("broker", "case %s %s for %s on the transfer %s from region %s",
                 record.referral_msg_id, opened ? "opened" : "joined", to, result->msg_id,
                 self->from_region->name);
}

void
rh_intake_accept (rh_intake_t *self, rh_verified_t *result, int64_t now)
{
    assert (self && result);
    rh_envelope_t *envelope = result->envelope;
    if (result->rc != RH_OK) {
        s_reject (self, result, result->rc, NULL);
        return;
    }
    rh_facts_t facts;
    rh_policy_facts (envelope, &facts);
    //  An outcome or update from the front door holding a case: the case says who hears it.
    //  Against the real clock: deadlines may run on a simulated one, senders' clocks do not.
    int64_t created = rh_envelope_created (envelope), real = rh_time_now_ms ();
    //  A message another region's broker forwards may have waited in its queue for days (a
    //  link down): that broker held it to the window on receipt, so only a created time in
    //  the future is refused here.
    if ((created < real - self->created_window_ms && !self->from_region)
        || created > real + self->created_window_ms) {
        //  A clock an hour out is fine; a message dated decades away is not one to act on.
        char why [RH_MAX_REASON];
        snprintf (why, sizeof why,
                  "created time is %" PRId64 " hours from the broker's clock (allowed: %" PRId64
                  ")",
                  (created - real) / 3600000, self->created_window_ms / 3600000);
        s_reject (self, result, RH_E_CLOCK, why);
        return;
    }
    //  A reply bound to a message (in_reply_sha256) must be bound to the one it names: a reply
    //  written against another version of a message, or moved onto another thread, is refused.
    //  One without a digest is taken (older agents; a case transferred in), as before.
    uint8_t named [RH_DIGEST_LEN];
    if (rh_envelope_has_in_reply_sha256 (envelope)
        && rh_dedup_header_of (self->dedup, rh_envelope_in_reply_to (envelope), named)
        && sodium_memcmp (named, rh_envelope_in_reply_sha256 (envelope), RH_DIGEST_LEN) != 0) {
        const char *why = "in_reply_sha256 is not the digest of the signed header of the "
                          "message in_reply_to names";
        //  Recorded under the case, so that its chronology shows the refused reply.
        rh_audit_decided (self->audit, "REJECTED", RH_E_REPLY_MISMATCH, result->msg_id,
                          result->agency, NULL, 0, NULL, 0, result->sealed_sha256, why, NULL, 0,
                          rh_envelope_case_id (envelope));
        rh_router_reply (self->router, result->routing_id, result->routing_id_size, result->msg_id,
                         RH_E_REPLY_MISMATCH, false, why);
        rh_log_info ("broker", "rejected %s from %s: %s", result->msg_id, result->agency,
                     rh_rc_name (RH_E_REPLY_MISMATCH));
        return;
    }
    if (s_border (self, result, &facts, now))
        return;
    rh_case_t record;
    rh_case_match_t match = rh_tracker_case_of (self->tracker, envelope, result->agency, &record);
    //  Issue 17: a withdrawal comes from the referrer (the referring practitioner or their
    //  supervisor), names the referral, and is told to the holder and the agencies involved.
    bool withdrawal = facts.kind == RH_KIND_STATUS_UPDATE
                      && facts.update_kind == RHANNU__V1__UPDATE_KIND__WITHDRAWN;
    if (withdrawal) {
        const char *author = rh_envelope_author (envelope);
        if (match == RH_CASE_NONE) {
            s_reject (self, result, RH_E_POLICY,
                      "a withdrawal must name the referral it withdraws (in_reply_to)");
            return;
        }
        if (strcmp (record.referrer, result->agency) != 0) {
            s_reject (self, result, RH_E_POLICY, "only the referrer may withdraw a referral");
            return;
        }
        if (*record.referrer_author && strcmp (author, record.referrer_author) != 0
            && strcmp (author, record.supervisor) != 0) {
            s_reject (self, result, RH_E_POLICY,
                      "a referral is withdrawn by its author or the author's supervisor");
            return;
        }
        match = RH_CASE_HELD;
    }
    //  Issue 17, professional challenge: a CHALLENGE from an agency involved in a case, and
    //  its answer from the level's responder, are decided by rh_challenge, outside the case's
    //  own lifecycle (an answer from the holder is not an update of its case).
    const char *challenge_to [RH_MAX_INVOLVED];
    size_t challenge_to_count = 0;
    bool challenge = self->challenges
                     && (facts.kind == RH_KIND_CHALLENGE
                         || (facts.kind == RH_KIND_STATUS_UPDATE
                             && facts.update_kind == RHANNU__V1__UPDATE_KIND__CHALLENGE_RESPONDED));
    char resent_by [RH_MAX_ID + 1];
    if (challenge && !rh_dedup_sender_of (self->dedup, result->msg_id, resent_by)) {
        //  (A message sent again is acknowledged again below, not decided again.)
        rh_decision_t refusal;
        if (rh_challenge_check (self->challenges, envelope, &facts, result->agency, now,
                                challenge_to, &challenge_to_count, RH_MAX_INVOLVED, &refusal)) {
            s_refuse (self, result, &refusal, "");
            return;
        }
    }
    if (challenge)
        match = RH_CASE_NONE;
    //  Issue 16: a case a transfer from another region opened here is this region's side of it.
    //  Its referrer there speaks for the case under its own broker, which decided already; here
    //  what it sends is routed as addressed, as before the case was here (a transfer joins it).
    if (match == RH_CASE_OTHERS && self->from_region && !strcmp (record.referrer, result->agency))
        match = RH_CASE_NONE;
    if (match == RH_CASE_OTHERS) {
        char why [RH_MAX_REASON * 2];  //  room for three ids; s_reject keeps what fits
        snprintf (why, sizeof why,
                  "case %s is held by %s%s%s%s: only the holder records its outcome and updates",
                  *record.case_id ? record.case_id : record.referral_msg_id, record.holder,
                  *record.transferred_to ? " (transferred to " : "",
                  *record.transferred_to ? record.transferred_to : "",
                  *record.transferred_to ? ")" : "");
        s_reject (self, result, RH_E_NOT_HOLDER, why);
        return;
    }
    //  A review of a consent override answers the referral it reviews: without one there is
    //  nothing to review.
    if (match == RH_CASE_NONE && facts.kind == RH_KIND_STATUS_UPDATE
        && facts.update_kind == RHANNU__V1__UPDATE_KIND__OVERRIDE_REVIEWED) {
        rh_decision_t refusal;
        rh_decision_condition (
            &refusal, "override_pending",
            "a review of a consent override must answer (in_reply_to) the referral it "
            "reviews; no case of that referral is known");
        s_refuse (self, result, &refusal, "");
        return;
    }
    //  Strategy meetings: the holder invites to a meeting about its case, then records or
    //  cancels it by answering the invitation; rh_strategy says which, or why not.
    //  A message sent again (its reply was lost) is answered by the duplicate check below, not
    //  checked again against a meeting it has already moved on.
    char sent_by [RH_MAX_ID + 1];
    bool meeting = facts.kind == RH_KIND_STRATEGY_MEETING
                   && !rh_dedup_sender_of (self->dedup, result->msg_id, sent_by);
    rh_meeting_event_t meeting_event = RH_MEETING_INVITE;
    if (meeting) {
        rh_decision_t refusal;
        if (match != RH_CASE_HELD) {
            rh_decision_condition (
                &refusal, "case",
                "a strategy meeting is about a case: it answers (in_reply_to) the case's "
                "referral or the meeting's invitation, or names the case by its id");
            s_refuse (self, result, &refusal, "");
            return;
        }
        if (!rh_strategy_check (&record, envelope, &meeting_event, &refusal)) {
            s_refuse (self, result, &refusal, "");
            return;
        }
    }
    //  A transfer from the holder is routed as addressed; once accepted it hands the case on.
    bool transfer = match == RH_CASE_HELD && rh_envelope_kind (envelope) == RH_KIND_TRANSFER;
    bool about_case = match == RH_CASE_HELD && !transfer;
    const char *involved [RH_MAX_INVOLVED];
    if (about_case) {
        for (size_t i = 0; i < record.involved_count; i++)
            involved [i] = record.involved [i];
        facts.case_referrer = record.referrer;
        facts.case_involved = involved;
        facts.case_involved_count = record.involved_count;
    }
    const char *recipients [S_MAX_TO];
    const char *roles [S_MAX_TO];  //  NULL: addressed by the sender; else why the broker tells it
    size_t count = 0;
    char reason [256] = "", replied_to [RH_MAX_ID + 1];
    rh_rc_t rc = s_route (self, envelope, recipients, &count, replied_to, reason, sizeof reason,
                          now, about_case);
    if (rc != RH_OK) {
        s_reject (self, result, rc, reason);
        return;
    }
    //  Issue 17: whoever answers a challenge at its level, or the challenger hearing the answer,
    //  receives it as sent; the agreement's rules must allow each of them.
    for (size_t i = 0; i < challenge_to_count && count < S_MAX_TO; i++) {
        bool seen = false;
        for (size_t k = 0; k < count && !seen; k++)
            seen = strcmp (recipients [k], challenge_to [i]) == 0;
        if (!seen)
            recipients [count++] = challenge_to [i];
    }
    size_t addressed = count;
    for (size_t i = 0; i < count; i++)
        roles [i] = NULL;
    //  Strategy meetings go to the invitees, and only to them: an addressed agency outside the
    //  invitation refuses the message. A referrer that was not invited hears of the record in
    //  a notice carrying the summary for the referrer (and not the actions or minutes).
    if (meeting) {
        const char *invitees [RH_MAX_INVITEES];
        size_t invitee_count = rh_strategy_invitees (&record, envelope, meeting_event, invitees);
        for (size_t i = 0; i < count; i++)
            if (rh_strategy_index (invitees, invitee_count, recipients [i]) < 0) {
                rh_decision_t refusal;
                rh_decision_condition (
                    &refusal, "invitee",
                    "%s is not invited to the strategy meeting: its invitations, record, "
                    "actions and minutes go to the invitees only",
                    recipients [i]);
                s_refuse (self, result, &refusal, recipients [i]);
                return;
            }
        for (size_t i = 0; i < invitee_count && count < S_MAX_TO; i++) {
            if (rh_strategy_index (recipients, count, invitees [i]) >= 0)
                continue;
            if (!s_identity (self, invitees [i], now)) {
                snprintf (reason, sizeof reason, "invitee '%s' is not an enrolled agency",
                          invitees [i]);
                s_reject (self, result, RH_E_POLICY, reason);
                return;
            }
            roles [count] = NULL;
            recipients [count++] = invitees [i];
        }
        if (meeting_event == RH_MEETING_HOLD && count < S_MAX_TO
            && rh_strategy_index (invitees, invitee_count, record.referrer) < 0
            && s_identity (self, record.referrer, now)) {
            roles [count] = "referrer";
            recipients [count++] = record.referrer;
        }
    }
    //  A withdrawal goes to the holder (and the agency the case was transferred to) as well.
    const char *holders [2] = { record.holder, record.transferred_to };
    for (size_t i = 0; withdrawal && i < 2; i++) {
        bool seen = !*holders [i];
        for (size_t k = 0; k < count && !seen; k++)
            seen = strcmp (recipients [k], holders [i]) == 0;
        if (!seen && s_identity (self, holders [i], now)) {
            roles [count] = "holder";
            recipients [count++] = holders [i];
        }
    }
    for (size_t i = 0; about_case && !meeting && i < record.involved_count; i++) {
        const char *agency = record.involved [i];
        if (withdrawal && strcmp (agency, result->agency) == 0)
            continue;  //  the referrer withdrew it: no notice back to itself
        bool seen = false;
        for (size_t k = 0; k < count && !seen; k++)
            seen = strcmp (recipients [k], agency) == 0;
        if (!seen && s_identity (self, agency, now)) {
            roles [count] = strcmp (agency, record.referrer) ? "involved" : "referrer";
            recipients [count++] = agency;
        }
    }
    //  Every addressed recipient, and the referrer of a case, must be allowed by an agreement;
    //  one refusal refuses the message, so a sender never has to work out who got it. Other
    //  involved agencies the agreement does not cover are left out, and the audit says so.
    const rh_identity_t *sender_id = s_identity (self, result->agency, now);
    rh_party_ref_t sender, recipient;
    rh_decision_t decisions [S_MAX_TO];
    bool skipped [S_MAX_TO] = { false };
    char known_sender [RH_MAX_ID + 1];
    bool seen_before = rh_dedup_sender_of (self->dedup, result->msg_id, known_sender);
    for (size_t i = 0; i < count && sender_id && !seen_before; i++) {
        rh_policy_party (sender_id, &sender);
        rh_policy_party (s_identity (self, recipients [i], now), &recipient);
        rh_policy_decide (*self->policy, &facts, rh_envelope_agreement_id (envelope), &sender,
                          &recipient, now, &decisions [i]);
        if (decisions [i].result == RH_DECIDE_ALLOW)
            continue;
        if (roles [i] && strcmp (roles [i], "referrer") != 0 && strcmp (roles [i], "holder") != 0) {
            skipped [i] = true;
            continue;
        }
        s_refuse (self, result, &decisions [i], recipients [i]);
        return;
    }
    if (!sender_id && !seen_before) {
        s_reject (self, result, RH_E_CERT_UNKNOWN, "the sender is not enrolled");
        return;
    }
    //  Whatever the agreement lets it see, a referrer that was not invited gets no more of a
    //  meeting's record than the route, the date and the summary for it.
    for (size_t i = 0; meeting && i < count; i++)
        if (roles [i] && !strcmp (roles [i], "referrer"))
            decisions [i].fields = rh_strategy_referrer_fields (decisions [i].fields);
    rh_decision_t refusal;
    if (about_case && !seen_before
        && rh_tracker_close_refused (self->tracker, &record, &facts, &refusal)) {
        s_refuse (self, result, &refusal, record.holder);
        return;
    }
    //  Issue 17, lateral checks: a response answers its check once, and goes to the requester
    //  only (as does whatever relays it) unless the agreement allows it onward.
    rh_lateral_check_t lateral;
    rh_lateral_match_t lateral_match =
        self->lateral ? rh_lateral_match (self->lateral, envelope, result->agency, &lateral)
                      : RH_LATERAL_NONE;
    const char *refused_to = NULL;
    if (!seen_before
        && rh_lateral_refused (self->lateral, lateral_match, &lateral, recipients, decisions, count,
                               &refusal, &refused_to)) {
        s_refuse (self, result, &refusal, refused_to);
        return;
    }
    if (!s_first_time (self, result))
        return;
    if (seen_before) {
        //  Known id, but neither a replay nor a duplicate: cannot happen (rh_dedup refuses a
        //  reused id with other content); refuse rather than deliver undecided.
        s_reject (self, result, RH_E_REPLAY, "message id seen before");
        return;
    }
    //  Exactly the bytes received and verified: protobuf encoding is not canonical, so a
    //  re-encoding is neither what the sender signed nor free.
    const uint8_t *sealed = result->sealed;
    size_t size = result->sealed_size;
    int64_t expires = rh_envelope_expires (envelope);
    int64_t latest = now + self->expiry_ms;
    if (!expires || expires > latest)
        expires = latest;
    //  What each recipient does not receive is recorded by its commitment: an auditor can show
    //  later what was withheld without the broker keeping a second copy.
    size_t committed = rh_envelope_commitments (envelope);
    static_assert (RH_MAX_FIELDS <= 64, "field masks are 64 bits");
    rh_audit_decision_t audit [S_MAX_TO];
    const char *audit_recipients [S_MAX_TO];
    uint32_t withheld [S_MAX_TO][RH_MAX_FIELDS];
    const uint8_t *digests [S_MAX_TO][RH_MAX_FIELDS];
    uint32_t keep [RH_MAX_FIELDS];
    uint8_t *copies [S_MAX_TO] = { NULL };  //  redacted copies or notices; NULL: as sent
    size_t copy_sizes [S_MAX_TO] = { 0 };
    char notice_ids [S_MAX_TO][RH_MAX_ID + 1];
    char copy_text [2][RH_MAX_ID + 32];
    const char *copy_list [2];
    size_t copy_count =
        about_case ? rh_tracker_copy_to (self->tracker, &record, copy_text, copy_list) : 0;
    size_t delivered = 0;
    bool prepared = true;
    for (size_t i = 0; i < count && prepared; i++) {
        s_audit_decision (&decisions [i], recipients [i], &audit [i]);
        if (skipped [i])
            continue;
        audit_recipients [delivered++] = recipients [i];
        size_t keep_count = 0, withheld_count = 0;
        for (size_t k = 0; k < committed && k < RH_MAX_FIELDS; k++) {
            const uint8_t *digest = NULL;
            uint32_t field = rh_envelope_commitment (envelope, k, &digest);
            if (field < 64 && (decisions [i].fields & (1ull << field)))
                keep [keep_count++] = field;
            else {
                withheld [i][withheld_count] = field;
                digests [i][withheld_count++] = digest;
            }
        }
        audit [i].withheld_count = withheld_count;
        audit [i].withheld_fields = withheld [i];
        audit [i].withheld_digests = digests [i];
        if (withheld_count > 0)
            prepared =
                (copies [i] = s_redacted (sealed, size, keep, keep_count, &copy_sizes [i])) != NULL;
        if (prepared && roles [i]) {
            //  Told by the broker: a notice it signs, with the front door's message inside.
            rh_notice_from_t from = { self->signer, rh_queue_next_sequence (self->queue),
                                      recipients [i], now };
            size_t notice_size = 0;
            uint8_t *notice = rh_notice_case (
                &from, &record,
                meeting                         ? RHANNU__V1__NOTICE_KIND__NOTICE_STRATEGY_MEETING
                : facts.kind == RH_KIND_OUTCOME ? RHANNU__V1__NOTICE_KIND__NOTICE_OUTCOME
                                                : RHANNU__V1__NOTICE_KIND__NOTICE_UPDATE,
                roles [i], facts.decision, facts.update_kind, copies [i] ? copies [i] : sealed,
                copies [i] ? copy_sizes [i] : size,
                strcmp (roles [i], "referrer") ? NULL : copy_list,
                strcmp (roles [i], "referrer") ? 0 : copy_count, &notice_size, notice_ids [i]);
            free (copies [i]);
            copies [i] = notice;
            copy_sizes [i] = notice_size;
            prepared = notice != NULL;
        }
    }
    //  Nothing is queued until every copy exists: a message goes to all its recipients or is
    //  refused, never half.
    for (size_t i = 0; i < count && prepared; i++)
        prepared = skipped [i] || rh_queue_reserve (self->queue, recipients [i]) == 0;
    if (!prepared) {
        for (size_t i = 0; i < count; i++)
            free (copies [i]);
        s_reject (self, result, RH_E_NOMEM, "cannot prepare the recipients' copies");
        return;
    }
    //  The message first, then what the broker made of it. The queues refer to the copy the
    //  audit record keeps rather than store it again.
    //  From another region: the record names the region and broker it came through.
    char from [RH_MAX_REASON] = "";
    if (self->from_region && self->peer_log_size)
        snprintf (from, sizeof from,
                  "%s from region %s (broker %s; its log at checkpoint %" PRIu64 ")",
                  rh_envelope_kind_name (rh_envelope_kind (envelope)), self->from_region->name,
                  self->from_region->broker_cn, self->peer_log_size);
    else if (self->from_region)
        snprintf (from, sizeof from, "%s from region %s (broker %s)",
                  rh_envelope_kind_name (rh_envelope_kind (envelope)), self->from_region->name,
                  self->from_region->broker_cn);
    uint64_t leaf = rh_audit_decided (
        self->audit, "ACCEPTED", RH_OK, result->msg_id, result->agency, audit_recipients, delivered,
        sealed, size, NULL, *from ? from : rh_envelope_kind_name (rh_envelope_kind (envelope)),
        audit, count, rh_envelope_case_id (envelope));
    for (size_t i = 0; i < count; i++) {
        if (skipped [i])
            continue;
        if (roles [i]) {
            rh_queue_send_own (self->queue, recipients [i], &copies [i], copy_sizes [i],
                               notice_ids [i], RH_KIND_NOTICE,
                               meeting                         ? "strategy meeting notice"
                               : facts.kind == RH_KIND_OUTCOME ? "outcome notice"
                                                               : "update notice",
                               &decisions [i], record.case_id, now);
            continue;  //  the queue took the notice
        }
        rh_queue_enqueue (self->queue, recipients [i], result->msg_id, result->agency,
                          copies [i] ? copies [i] : sealed, copies [i] ? copy_sizes [i] : size,
                          copies [i] ? 0 : leaf, expires, &decisions [i], facts.kind, now);
        free (copies [i]);
    }
    if (facts.kind == RH_KIND_REFERRAL) {
        rh_tracker_open (self->tracker, envelope, &facts, result->agency, recipients, decisions,
                         addressed, now);
        //  A consent override is recorded on its own (the decisions above already name the
        //  condition overridden), then handed to the reviewers. The longest review period of
        //  the rules overridden applies.
        const char *rule = NULL;
        int64_t review_ms = 0;
        for (size_t i = 0; i < count; i++)
            if (!skipped [i] && decisions [i].overridden) {
                rule = rule ? rule : decisions [i].rule_id;
                review_ms =
                    decisions [i].review_ms > review_ms ? decisions [i].review_ms : review_ms;
            }
        if (rule) {
            char detail [RH_MAX_REASON];
            snprintf (detail, sizeof detail,
                      "consent overridden under rule %s; review due in %" PRId64 " days", rule,
                      (int64_t) (review_ms / (24 * 3600 * 1000LL)));
            rh_audit_decided (self->audit, "CONSENT_OVERRIDE", RH_OK, result->msg_id,
                              result->agency, NULL, 0, NULL, 0, NULL, detail, NULL, 0,
                              rh_envelope_case_id (envelope));
            rh_tracker_override (self->tracker, result->msg_id, rule, review_ms, now);
        }
    }
    else if (meeting) {
        //  The meeting's step on its own record (agency ids and counts only), then its state.
        static const char *const events [RH_MEETING_EVENTS] = {
            [RH_MEETING_INVITE] = "STRATEGY_INVITED",
            [RH_MEETING_HOLD] = "STRATEGY_HELD",
            [RH_MEETING_CANCEL] = "STRATEGY_CANCELLED",
        };
        char detail [RH_MAX_REASON * 2];
        rh_strategy_detail (&record, envelope, meeting_event, detail, sizeof detail);
        rh_audit_decided (self->audit, events [meeting_event], RH_OK, result->msg_id,
                          result->agency, NULL, 0, NULL, 0, NULL, detail, NULL, 0, record.case_id);
        rh_tracker_meeting (self->tracker, &record, envelope, meeting_event, now);
    }
    else if (about_case) {
        rh_tracker_event (self->tracker, &record, &facts, recipients, addressed, now);
        //  Issue 17: an outcome may be challenged from now on.
        if (self->challenges && facts.kind == RH_KIND_OUTCOME)
            rh_challenge_decided (self->challenges, result->msg_id, record.referral_msg_id);
    }
    else if (challenge)
        rh_challenge_accepted (self->challenges, envelope, &facts, result->msg_id, result->agency,
                               now);
    else if (transfer && addressed > 0)
        rh_tracker_transfer (self->tracker, &record, recipients [0], now);
    else if (self->from_region && facts.kind == RH_KIND_TRANSFER && addressed > 0)
        s_transferred_in (self, result, &facts, recipients, decisions, addressed, now);
    if (self->lateral && facts.kind == RH_KIND_INFO_REQUEST)
        rh_lateral_open (self->lateral, envelope, result->agency, recipients, addressed, now);
    else if (lateral_match == RH_LATERAL_RESPONSE)
        rh_lateral_answer (self->lateral, &lateral, envelope, now);
    rh_router_reply (self->router, result->routing_id, result->routing_id_size, result->msg_id,
                     RH_OK, false, NULL);
    //  One line per crossing, ids only, as the forwarding broker writes "accepted for
    //  forwarding": the two logs side by side show each crossing's way.
    if (self->from_region)
        rh_log_info ("broker", "%s from %s came across from region %s; stored for %zu recipients",
                     result->msg_id, result->agency, self->from_region->name, delivered);
}

void
rh_intake_accept_peer (rh_intake_t *self, rh_verified_t *result, const rh_fed_region_t *region,
                       const rh_identity_t *sender, uint64_t peer_log_size, int64_t now)
{
    assert (self && result && region);
    if (result->rc == RH_OK && !sender)
        result->rc = RH_E_CERT_UNKNOWN;
    self->from_region = region;
    self->peer_log_size = peer_log_size;
    self->foreign = result->rc == RH_OK ? sender : NULL;
    rh_intake_accept (self, result, now);
    self->from_region = NULL;
    self->foreign = NULL;
}
