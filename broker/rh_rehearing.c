/*  =========================================================================
    rh_rehearing - every logged policy decision decided again
    =========================================================================
*/
#include "rh_broker_classes.h"
#include "rhannu.pb-c.h"

//  One agreement version as the broker kept it (g/<id>/<version>: signature, then the file).
typedef struct {
    char key [RH_MAX_ID + 16];  //  <id>/<version, 10 digits>
    rh_agreement_t *agreement;  //  NULL: missing, unsigned or tampered
} s_version_t;

struct _rh_rehearing_t {
    rh_db_t *db;            //  borrowed
    rh_certstore_t *store;  //  borrowed
    //  Federated regions: the certificates other boards issued (pki/peers/REGION), for the
    //  decisions about a message that came from another region.
    rh_certstore_t *peers [RH_MAX_FED_REGIONS];
    size_t peer_count;
    X509 *ca;                  //  the board CA that signs agreements, NULL if unreadable
    s_version_t *versions;     //  versions looked up so far (kept: decisions repeat them)
    size_t version_count;      //  entries in versions
    rh_casebook_t *cases;      //  the lifecycles rebuilt from the log
    json_t *mismatches;        //  array of what did not reproduce
    uint64_t decisions;        //  decisions decided again
    uint64_t reproduced;       //  of those, the same as logged
    uint64_t refusals_unkept;  //  refusals whose message is not kept
    uint64_t referrals;        //  referrals that opened a case
    uint64_t bindings;         //  accepted replies bound to their referral, checked again
    uint64_t bindings_held;    //  of those, bound to the referral's header as logged
};

rh_rehearing_t *
rh_rehearing_new (rh_db_t *db, rh_certstore_t *store, const char *pki)
{
    assert (db && store && pki);
    rh_rehearing_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->db = db;
    self->store = store;
    char ca_path [PATH_MAX];
    rh_file_path (ca_path, sizeof ca_path, "%s/ca.pem", pki);
    self->ca = rh_ca_read_cert (ca_path);
    char peers [PATH_MAX];
    rh_file_path (peers, sizeof peers, "%s/peers", pki);
    DIR *dir = opendir (peers);
    struct dirent *entry;
    while (dir && (entry = readdir (dir)) && self->peer_count < RH_MAX_FED_REGIONS) {
        char region [PATH_MAX];
        rh_file_path (region, sizeof region, "%s/%s", peers, entry->d_name);
        rh_certstore_t *peer = entry->d_name [0] == '.' ? NULL : rh_certstore_load_dir (region);
        if (peer)
            self->peers [self->peer_count++] = peer;
    }
    if (dir)
        closedir (dir);
    self->cases = rh_casebook_new ();
    self->mismatches = json_array ();
    if (!self->cases || !self->mismatches)
        rh_rehearing_destroy (&self);
    return self;
}

void
rh_rehearing_destroy (rh_rehearing_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        rh_rehearing_t *self = *self_p;
        for (size_t i = 0; i < self->version_count; i++)
            rh_agreement_destroy (&self->versions [i].agreement);
        free (self->versions);
        rh_casebook_destroy (&self->cases);
        for (size_t i = 0; i < self->peer_count; i++)
            rh_certstore_destroy (&self->peers [i]);
        json_decref (self->mismatches);
        X509_free (self->ca);
        free (self);
        *self_p = NULL;
    }
}

//  The agreement version a decision names, if the board signed it and (when the decision
//  carries its SHA-256) it is the very file decided under. NULL otherwise.
static const rh_agreement_t *
s_version (rh_rehearing_t *self, const char *id, uint32_t version, const uint8_t *sha256)
{
    char key [RH_MAX_ID + 16];
    snprintf (key, sizeof key, "%s/%010u", id, version);
    for (size_t i = 0; i < self->version_count; i++)
        if (!strcmp (self->versions [i].key, key))
            return self->versions [i].agreement;
    s_version_t *grown = realloc (self->versions, (self->version_count + 1) * sizeof *grown);
    if (!grown)
        return NULL;
    self->versions = grown;
    s_version_t *entry = &self->versions [self->version_count++];
    snprintf (entry->key, sizeof entry->key, "%s", key);
    entry->agreement = NULL;
    char db_key [RH_MAX_ID + 24];
    snprintf (db_key, sizeof db_key, "g/%s", key);
    uint8_t *value = NULL;
    size_t size = 0;
    if (rh_db_get (self->db, db_key, strlen (db_key), &value, &size) == 0 && size > RH_SIG_LEN) {
        uint8_t digest [RH_DIGEST_LEN];
        rh_sha256 (digest, value + RH_SIG_LEN, size - RH_SIG_LEN);
        //  Only the file the board signed, and the one the decision names.
        if (rh_ca_verify_file (self->ca, value + RH_SIG_LEN, size - RH_SIG_LEN, value, RH_SIG_LEN)
                == RH_OK
            && (!sha256 || memcmp (digest, sha256, RH_DIGEST_LEN) == 0)) {
            char errors [256];
            entry->agreement = rh_agreement_parse ((const char *) value + RH_SIG_LEN,
                                                   size - RH_SIG_LEN, key, errors, sizeof errors);
        }
    }
    free (value);
    return entry->agreement;
}

//  The policy's view of an agency whose certificate was valid at at_ms. False if none was.
//  An agency this region's board never enrolled is looked for among the other regions'
//  (a crossing's sender or recipient).
static bool
s_party (rh_rehearing_t *self, const char *agency, int64_t at_ms, rh_party_ref_t *ref)
{
    bool known = false;
    for (size_t p = 0; p <= self->peer_count && !known; p++) {
        rh_certstore_t *store = p == 0 ? self->store : self->peers [p - 1];
        for (size_t i = 0; i < rh_certstore_size (store); i++) {
            const rh_identity_t *id = rh_certstore_identity (store, i);
            if (strcmp (id->agency_id, agency) != 0)
                continue;
            known = true;
            if (rh_certstore_status (store, i, at_ms) == RH_OK) {
                rh_policy_party (id, ref);
                return true;
            }
        }
    }
    return false;
}

//  Decides again every decision of one accepted message. Returns the recipient that the
//  decisions make the holder (an allowed front door), or NULL.
static const char *
s_redecide (rh_rehearing_t *self, const rh_audit_record_t *record, const rh_facts_t *facts)
{
    rh_party_ref_t sender, recipient;
    bool have_sender = s_party (self, record->agency, record->at_ms, &sender);
    const char *holder = NULL;
    rh_audit_decision_t decision;
    for (size_t d = 0; rh_record_decision (record, d, &decision); d++) {
        if (!*decision.agreement_id)
            continue;
        self->decisions++;
        const rh_agreement_t *agreement = s_version (
            self, decision.agreement_id, decision.agreement_version, decision.agreement_sha256);
        rh_decision_t again;
        memset (&again, 0, sizeof again);
        //  Named even when nothing could be decided: a party without a certificate then.
        again.rule_id = agreement ? "(a party had no valid certificate then)" : "";
        bool same = false;
        if (agreement && have_sender
            && s_party (self, decision.recipient, record->at_ms, &recipient)) {
            rh_agreement_decide (agreement, facts, &sender, &recipient, &again);
            //  An allowed decision names a condition only when it was overridden: the same
            //  condition, overridden again.
            same = (again.result == RH_DECIDE_ALLOW) == decision.allowed
                   && !strcmp (again.rule_id, decision.rule_id)
                   && (!decision.allowed
                       || !strcmp (again.missing,
                                   decision.missing_condition ? decision.missing_condition : ""));
            //  And the same fields withheld.
            for (size_t w = 0; same && w < decision.withheld_count; w++) {
                uint32_t field = 0;
                const uint8_t *digest = NULL;
                rh_record_withheld (record, d, w, &field, &digest);
                same = field >= 64 || !(again.fields & (1ull << field));
            }
            if (!holder && decision.allowed
                && rh_agreement_has_role (agreement, decision.recipient, "front_door"))
                holder = decision.recipient;
        }
        if (same)
            self->reproduced++;
        else
            json_array_append_new (
                self->mismatches,
                json_pack ("{s:I, s:s, s:s, s:s, s:s}", "record", (json_int_t) record->seq,
                           "message", record->msg_id, "recipient", decision.recipient,
                           "recorded_rule", decision.rule_id, "replayed_rule",
                           agreement ? again.rule_id : "(agreement not available)"));
    }
    return holder;
}

int
rh_rehearing_run (rh_rehearing_t *self)
{
    assert (self);
    rh_logreader_t *reader = rh_logreader_new (self->db);
    if (!reader)
        return -1;
    const rh_audit_record_t *record;
    while ((record = rh_logreader_next (reader))) {
        bool accepted = !strcmp (record->event, "ACCEPTED");
        if (!strcmp (record->event, "REJECTED") && record->decision_count)
            self->refusals_unkept++;  //  a refused message is not kept: its decision stands
        if (!strcmp (record->event, "ACKED")) {
            rh_casebook_case_t *c = rh_casebook_find (self->cases, record->msg_id, NULL, "");
            if (c && !strcmp (c->holder, record->agency))
                c->acknowledged = true;
        }
        if (!strcmp (record->event, "UNVERIFIED")) {
            //  Delivered but not taken in: the front door could not verify it (still queued).
            rh_casebook_case_t *c = rh_casebook_find (self->cases, record->msg_id, NULL, "");
            if (c && !strcmp (c->holder, record->agency) && c->unverified < UINT32_MAX)
                c->unverified++;
        }
        rh_envelope_t *envelope = accepted ? rh_logreader_message (reader) : NULL;
        if (!envelope)
            continue;
        rh_facts_t facts;
        rh_policy_facts (envelope, &facts);
        //  The case the message belongs to, rebuilt from the log so far.
        rh_casebook_case_t *c = NULL;
        const char *involved [RH_MAX_INVOLVED];
        if (facts.kind == RH_KIND_OUTCOME || facts.kind == RH_KIND_STATUS_UPDATE) {
            c = rh_casebook_find (self->cases, rh_envelope_in_reply_to (envelope), record->agency,
                                  rh_envelope_case_id (envelope));
            //  The holder speaks for its case; so does the agreement's reviewer for a review of
            //  a consent override (the broker accepted it only from that role, and the rules
            //  re-decided below name the role again); the referrer only to withdraw it.
            bool review = facts.update_kind == RHANNU__V1__UPDATE_KIND__OVERRIDE_REVIEWED;
            bool withdrawal = facts.update_kind == RHANNU__V1__UPDATE_KIND__WITHDRAWN;
            if (c && !review && strcmp (withdrawal ? c->referrer : c->holder, record->agency) != 0)
                c = NULL;
        }
        if (c) {
            for (size_t i = 0; i < c->involved_count; i++)
                involved [i] = c->involved [i];
            facts.case_referrer = c->referrer;
            facts.case_involved = involved;
            facts.case_involved_count = c->involved_count;
        }
        //  A reply accepted with a binding names its referral's header digest: check it again.
        if (c && rh_envelope_has_in_reply_sha256 (envelope)
            && !strcmp (rh_envelope_in_reply_to (envelope), c->referral)) {
            self->bindings++;
            if (!memcmp (c->header_sha256, rh_envelope_in_reply_sha256 (envelope), RH_DIGEST_LEN))
                self->bindings_held++;
            else
                json_array_append_new (
                    self->mismatches,
                    json_pack ("{s:I, s:s, s:s, s:s, s:s}", "record", (json_int_t) record->seq,
                               "message", record->msg_id, "recipient", c->holder, "recorded_rule",
                               "in_reply_sha256 accepted", "replayed_rule", "RH_E_REPLY_MISMATCH"));
        }
        const char *holder = s_redecide (self, record, &facts);
        //  Lifecycle: a referral opens a case; the holder's messages move it on.
        if (facts.kind == RH_KIND_REFERRAL && record->recipient_count) {
            rh_casebook_case_t *opened =
                rh_casebook_open (self->cases, record, rh_envelope_case_id (envelope),
                                  holder ? holder : record->recipients [0]);
            if (opened) {
                size_t header_size = 0;
                const uint8_t *header = rh_envelope_header_bytes (envelope, &header_size);
                if (header)
                    rh_sha256 (opened->header_sha256, header, header_size);
                rh_casebook_involve (opened, record->agency);
                self->referrals++;
            }
        }
        else if (c) {
            //  As the broker does: those a withdrawal told are not brought into the case.
            for (size_t r = 0; facts.update_kind != RHANNU__V1__UPDATE_KIND__WITHDRAWN
                               && r < record->recipient_count;
                 r++)
                rh_casebook_involve (c, record->recipients [r]);
            if (*facts.new_owner)
                rh_casebook_involve (c, facts.new_owner);
            if (facts.kind == RH_KIND_OUTCOME && !c->decided_ms)
                c->decided_ms = record->at_ms;
            if (facts.update_kind == RHANNU__V1__UPDATE_KIND__CLOSED)
                c->closed = true;
        }
    }
    //  A replay that could not read the whole log is no replay.
    int rc = 0;
    if (rh_logreader_error (reader)) {
        rh_log_error ("audit", "replay stopped: %s", rh_logreader_error (reader));
        rc = -1;
    }
    rh_logreader_destroy (&reader);
    return rc;
}

size_t
rh_rehearing_mismatches (rh_rehearing_t *self)
{
    assert (self);
    return json_array_size (self->mismatches);
}

void
rh_rehearing_print (rh_rehearing_t *self, FILE *out, bool json)
{
    assert (self && out);
    size_t acknowledged = 0, decided = 0, closed = 0, unverified = 0, waiting = 0;
    for (size_t i = 0; i < rh_casebook_size (self->cases); i++) {
        const rh_casebook_case_t *c = rh_casebook_at (self->cases, i);
        acknowledged += c->acknowledged;
        unverified += c->unverified > 0;
        waiting += c->unverified > 0 && !c->acknowledged;
        decided += c->decided_ms > 0;
        closed += c->closed;
    }
    if (json) {
        json_t *result = json_pack (
            "{s:I, s:I, s:I, s:O, s:{s:I, s:I, s:I, s:I, s:I, s:I}, s:{s:I, s:I}}", "decisions",
            (json_int_t) self->decisions, "reproduced", (json_int_t) self->reproduced,
            "refusals_not_kept", (json_int_t) self->refusals_unkept, "mismatches", self->mismatches,
            "referrals", "received", (json_int_t) self->referrals, "acknowledged",
            (json_int_t) acknowledged, "decided", (json_int_t) decided, "closed",
            (json_int_t) closed, "unverified", (json_int_t) unverified, "awaiting_verification",
            (json_int_t) waiting, "reply_bindings", "checked", (json_int_t) self->bindings, "held",
            (json_int_t) self->bindings_held);
        json_dumpf (result, out, JSON_INDENT (2) | JSON_PRESERVE_ORDER);
        fprintf (out, "\n");
        json_decref (result);
        return;
    }
    fprintf (out,
             "replayed %" PRIu64 " referrals from the log: %zu taken in by their front door, "
             "%zu decided, %zu closed\n",
             self->referrals, acknowledged, decided, closed);
    if (unverified)
        fprintf (out,
                 "%zu referrals reached a front door that could not verify them (not taken in "
                 "then); %zu of them still wait, queued\n",
                 unverified, waiting);
    fprintf (out,
             "re-decided %" PRIu64 " policy decisions against the agreement versions they name: "
             "%" PRIu64 " reproduce, %zu do not\n",
             self->decisions, self->reproduced, json_array_size (self->mismatches));
    fprintf (out, "(%" PRIu64 " refusals stand as logged: a refused message is not kept)\n",
             self->refusals_unkept);
    fprintf (out,
             "checked %" PRIu64 " replies bound to their referral's header: %" PRIu64
             " bound to it\n",
             self->bindings, self->bindings_held);
    size_t index;
    json_t *entry;
    json_array_foreach (self->mismatches, index, entry)
        fprintf (out, "  record %" JSON_INTEGER_FORMAT " %s to %s: recorded rule %s, now %s\n",
                 json_integer_value (json_object_get (entry, "record")),
                 json_string_value (json_object_get (entry, "message")),
                 json_string_value (json_object_get (entry, "recipient")),
                 json_string_value (json_object_get (entry, "recorded_rule")),
                 json_string_value (json_object_get (entry, "replayed_rule")));
}
