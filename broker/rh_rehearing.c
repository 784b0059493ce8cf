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
    //  Issue 17, lateral checks, rebuilt from the log: "<request>/<partner>" ->
    //  {requester, overdue, answered}; response msg id -> "<request>/<partner>"; response msg
    //  id -> whether replay finds it late (until the broker's LATERAL_ANSWERED record is read).
    json_t *lateral, *responses, *answers_due;
    uint64_t lateral_asked, lateral_answered, lateral_late, lateral_overdue;
    uint64_t lateral_reproduced, lateral_onward, lateral_mismatches;
    //  Professional challenges (issue 17): each one's state, level and deadline, rebuilt
    //  from its CHALLENGE_* records by the same lifecycle table the broker follows.
    json_t *challenges;             //  challenge msg id -> {state, level, due_ms, role}
    json_t *challenge_agreements;   //  challenge msg id -> {id, version} it was decided under
    uint64_t challenge_steps;       //  CHALLENGE_* records walked
    uint64_t challenge_steps_held;  //  of those, a move the table allows, at its time
    //  Strategy meetings: each invitation's invitees (msg id -> [agency]), and the meeting
    //  messages checked against them (invitees only, and the referrer's notice).
    json_t *invitations;
    uint64_t meetings_checked;
    uint64_t meetings_held;  //  of those, sent to no agency outside the invitation
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
    self->lateral = json_object ();
    self->responses = json_object ();
    self->answers_due = json_object ();
    self->challenges = json_object ();
    self->challenge_agreements = json_object ();
    self->invitations = json_object ();
    if (!self->cases || !self->mismatches || !self->lateral || !self->responses
        || !self->answers_due || !self->challenges || !self->challenge_agreements
        || !self->invitations)
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
        json_decref (self->lateral);
        json_decref (self->responses);
        json_decref (self->answers_due);
        json_decref (self->challenges);
        json_decref (self->challenge_agreements);
        json_decref (self->invitations);
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
s_redecide (rh_rehearing_t *self, const rh_audit_record_t *record, rh_envelope_t *envelope,
            const rh_facts_t *facts, const json_t *relayed)
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
            //  As the broker does: a referrer hears of a strategy meeting's record no more than
            //  the route, the date and the summary for it.
            if (facts->kind == RH_KIND_STRATEGY_MEETING && facts->case_referrer
                && !strcmp (decision.recipient, facts->case_referrer))
                again.fields = rh_strategy_referrer_fields (again.fields);
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
            //  And none disclosed that the rules withhold: every field of the message that the
            //  decision does not allow is among those recorded withheld, or a broker that sent
            //  more than the agreement allows (the minutes to a referrer) would replay clean.
            for (size_t k = 0; same && decision.allowed && k < rh_envelope_commitments (envelope);
                 k++) {
                const uint8_t *digest = NULL;
                uint32_t field = rh_envelope_commitment (envelope, k, &digest);
                if (field < 64 && (again.fields & (1ull << field)))
                    continue;
                bool withheld = false;
                for (size_t w = 0; !withheld && w < decision.withheld_count; w++) {
                    uint32_t logged = 0;
                    rh_record_withheld (record, d, w, &logged, &digest);
                    withheld = logged == field;
                }
                same = withheld;
            }
            if (!holder && decision.allowed
                && rh_agreement_has_role (agreement, decision.recipient, "front_door"))
                holder = decision.recipient;
            //  Issue 17: a response (or a message relaying one) reached someone beside the
            //  requester and the partner that answered only under a rule with onward: true.
            const char *requester = json_string_value (json_object_get (relayed, "requester"));
            const char *partner = json_string_value (json_object_get (relayed, "partner"));
            if (relayed && decision.allowed && requester && partner
                && strcmp (decision.recipient, requester) != 0
                && strcmp (decision.recipient, partner) != 0) {
                self->lateral_onward++;
                if (!again.onward) {
                    self->lateral_mismatches++;
                    json_array_append_new (
                        self->mismatches,
                        json_pack ("{s:I, s:s, s:s, s:s, s:s}", "record", (json_int_t) record->seq,
                                   "message", record->msg_id, "recipient", decision.recipient,
                                   "recorded_rule", "response shared onward", "replayed_rule",
                                   "onward not allowed"));
                }
            }
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

//  ---------------------------------------------------------------------------------------------
//  Issue 17, lateral checks: rebuilt from the accepted requests and responses, and the broker's
//  own records of them checked against it.

static void
s_lateral_mismatch (rh_rehearing_t *self, const rh_audit_record_t *record, const char *recorded,
                    const char *replayed)
{
    self->lateral_mismatches++;
    json_array_append_new (self->mismatches,
                           json_pack ("{s:I, s:s, s:s, s:s, s:s}", "record",
                                      (json_int_t) record->seq, "message", record->msg_id,
                                      "recipient", record->agency, "recorded_rule", recorded,
                                      "replayed_rule", replayed));
}

//  The broker's records: a reply-by time passed (LATERAL_OVERDUE) or a response linked
//  (LATERAL_ANSWERED), each as replay finds it.
static void
s_lateral_record (rh_rehearing_t *self, const rh_audit_record_t *record, bool erased)
{
    char key [2 * RH_MAX_ID + 2];
    //  The partners a request was tracked for: the broker's record names them (the request
    //  itself may have been erased since).
    if (!strcmp (record->event, "LATERAL_REQUESTED")) {
        for (size_t r = 0; r < record->recipient_count; r++) {
            snprintf (key, sizeof key, "%s/%s", record->msg_id, record->recipients [r]);
            json_object_set_new (self->lateral, key,
                                 json_pack ("{s:s, s:s, s:b, s:b}", "requester", record->agency,
                                            "partner", record->recipients [r], "overdue", 0,
                                            "answered", 0));
            self->lateral_asked++;
        }
    }
    //  An accepted response whose message was erased: its answer stands as logged.
    else if (erased && !strcmp (record->event, "ACCEPTED") && record->detail
             && !strcmp (record->detail, "INFO_RESPONSE"))
        json_object_set_new (self->answers_due, record->msg_id, json_null ());
    else if (!strcmp (record->event, "LATERAL_OVERDUE")) {
        snprintf (key, sizeof key, "%s/%s", record->msg_id, record->agency);
        json_t *check = json_object_get (self->lateral, key);
        if (!check || json_is_true (json_object_get (check, "answered")))
            s_lateral_mismatch (self, record, "reply-by time passed unanswered",
                                check ? "answered before" : "no such request");
        else if (!json_is_true (json_object_get (check, "overdue"))) {
            json_object_set_new (check, "overdue", json_true ());
            self->lateral_overdue++;
        }
    }
    else if (!strcmp (record->event, "LATERAL_ANSWERED")) {
        json_t *late = json_object_get (self->answers_due, record->msg_id);
        bool recorded_late = record->detail && strstr (record->detail, ": late;");
        char request [RH_MAX_ID + 1] = "";
        if (record->detail)
            sscanf (record->detail, "answers information request %64[^:]", request);
        snprintf (key, sizeof key, "%s/%s", request, record->agency);
        json_t *check = json_object_get (self->lateral, key);
        if (late && json_is_null (late) && check) {
            json_object_set_new (check, "answered", json_true ());
            self->lateral_answered++;
            self->lateral_late += recorded_late;
        }
        else if (!late)
            s_lateral_mismatch (self, record, "response linked", "no response accepted");
        else if (json_is_null (late))
            ;  //  erased: stands as logged
        else if (json_is_true (late) != recorded_late)
            s_lateral_mismatch (self, record, recorded_late ? "answered late" : "answered in time",
                                json_is_true (late) ? "answered late" : "answered in time");
        else
            self->lateral_reproduced++;
        json_object_del (self->answers_due, record->msg_id);
    }
}

//  An accepted message: a request opens a check per partner; a partner's response answers its
//  check (once); a message naming a response carries it on. Returns the check the message
//  carries a response of ({requester, partner}), or NULL.
static const json_t *
s_lateral_message (rh_rehearing_t *self, const rh_audit_record_t *record, rh_envelope_t *envelope,
                   const rh_facts_t *facts)
{
    char key [2 * RH_MAX_ID + 2];
    if (facts->kind == RH_KIND_INFO_RESPONSE) {
        const char *answers = rh_envelope_in_reply_to (envelope);
        const Rhannu__V1__InfoResponse *response =
            (const Rhannu__V1__InfoResponse *) rh_envelope_body (envelope);
        if (!*answers && response && response->original_msg_id)
            answers = response->original_msg_id;
        snprintf (key, sizeof key, "%s/%s", answers, record->agency);
        json_t *check = json_object_get (self->lateral, key);
        if (check) {
            if (json_is_true (json_object_get (check, "answered")))
                s_lateral_mismatch (self, record, "second answer accepted", "lateral_open");
            json_object_set_new (check, "answered", json_true ());
            bool late = json_is_true (json_object_get (check, "overdue"));
            self->lateral_answered++;
            self->lateral_late += late;
            json_object_set_new (self->answers_due, record->msg_id, json_boolean (late));
            json_object_set_new (self->responses, record->msg_id, json_string (key));
            return check;
        }
    }
    const char *names [2] = { rh_envelope_in_reply_to (envelope),
                              rh_envelope_thread_id (envelope) };
    for (size_t i = 0; i < 2; i++) {
        const char *answered = json_string_value (json_object_get (self->responses, names [i]));
        if (*names [i] && answered)
            return json_object_get (self->lateral, answered);
    }
    return NULL;
}

//  One CHALLENGE_* record of rh_challenge, walked through the challenge lifecycle: the move
//  must be one the table allows from the state the earlier records left, an escalation must
//  take the next level and name as missed the deadline the step before set (records are timed
//  by the real clock, deadlines by the broker's, which tests move: the times are not compared),
//  and an answer or the end of the last level must be at the level the challenge stood at.
static void
s_challenge_step (rh_rehearing_t *self, const rh_audit_record_t *record)
{
    const char *detail = record->detail ? record->detail : "";
    json_t *entry = json_object_get (self->challenges, record->msg_id);
    uint32_t state = entry ? (uint32_t) json_integer_value (json_object_get (entry, "state"))
                           : RHANNU__V1__CHALLENGE_STATE__CHALLENGE_STATE_UNSET;
    unsigned at = entry ? (unsigned) json_integer_value (json_object_get (entry, "level")) : 0;
    int64_t due = entry ? (int64_t) json_integer_value (json_object_get (entry, "due_ms")) : 0;
    unsigned level = 0, missed = 0;
    long long missed_due = 0, next_due = 0;
    size_t levels = 0;
    char role [RH_MAX_ID + 1] = "", outcome [64] = "";
    uint32_t next = RH_CHALLENGE_IGNORED;
    bool good = false;
    if (!strcmp (record->event, "CHALLENGE_RAISED")) {
        good = sscanf (detail, "level %u (%64[^)]) of %zu; response due %lld", &level, role,
                       &levels, &next_due)
                   == 4
               && level >= 1 && level <= levels;
        next = rh_challenge_next (state, RH_CHALLENGE_RAISE);
    }
    else if (!strcmp (record->event, "CHALLENGE_ESCALATED")) {
        good = sscanf (detail,
                       "level %u (%64[^)]) of %zu; level %u missed its deadline %lld; response "
                       "due %lld",
                       &level, role, &levels, &missed, &missed_due, &next_due)
                   == 6
               && missed == at && level == at + 1 && level <= levels && missed_due == due;
        next = rh_challenge_next (state, RH_CHALLENGE_MISSED);
    }
    else if (!strcmp (record->event, "CHALLENGE_UNRESOLVED")) {
        good = sscanf (detail, "level %u of %zu; the last level missed its deadline %lld", &level,
                       &levels, &missed_due)
                   == 3
               && level == at && level == levels && missed_due == due;
        next = rh_challenge_next (state, RH_CHALLENGE_LAST_MISSED);
    }
    else if (!strcmp (record->event, "CHALLENGE_RESPONDED")) {
        good = sscanf (detail, "level %u; %63[A-Z_]", &level, outcome) == 2 && level == at
               && protobuf_c_enum_descriptor_get_value_by_name (
                   &rhannu__v1__challenge_outcome__descriptor, outcome);
        next = rh_challenge_next (state, RH_CHALLENGE_RESPOND);
        //  The answer came from a party with the level's role in the agreement the challenge
        //  was decided under (the holder's own answer is checked by its rules, re-decided).
        const char *answers = entry ? json_string_value (json_object_get (entry, "role")) : NULL;
        json_t *under = json_object_get (self->challenge_agreements, record->msg_id);
        const rh_agreement_t *agreement =
            under ? s_version (self, json_string_value (json_object_get (under, "id")),
                               (uint32_t) json_integer_value (json_object_get (under, "version")),
                               NULL)
                  : NULL;
        if (good && answers && strcmp (answers, "holder") != 0 && agreement)
            good = rh_agreement_has_role (agreement, record->agency, answers);
        snprintf (role, sizeof role, "%s", answers ? answers : "");
    }
    else
        return;  //  not a step of a challenge
    self->challenge_steps++;
    good = good && next != RH_CHALLENGE_IGNORED;
    if (!good) {
        json_array_append_new (
            self->mismatches,
            json_pack ("{s:I, s:s, s:s, s:s, s:s}", "record", (json_int_t) record->seq, "message",
                       record->msg_id, "recipient", record->agency, "recorded_rule", record->event,
                       "replayed_rule", "not a move of the challenge lifecycle"));
        return;
    }
    self->challenge_steps_held++;
    json_object_set_new (self->challenges, record->msg_id,
                         json_pack ("{s:I, s:I, s:I, s:s}", "state", (json_int_t) next, "level",
                                    (json_int_t) level, "due_ms", (json_int_t) next_due, "role",
                                    role));
}

//  Strategy meetings: an invitation is remembered with its invitees; a record or cancellation
//  answering it is checked again: it went to none but them (and, for a record, a referrer that
//  was not invited, by a notice).
static void
s_meeting (rh_rehearing_t *self, const rh_audit_record_t *record, rh_envelope_t *envelope,
           const rh_casebook_case_t *c)
{
    const Rhannu__V1__StrategyMeeting *body =
        (const Rhannu__V1__StrategyMeeting *) rh_envelope_body (envelope);
    json_t *invitation = json_object_get (self->invitations, rh_envelope_in_reply_to (envelope));
    if (!body)
        return;
    if (!invitation) {
        json_t *invited = json_array ();
        for (size_t i = 0; i < body->n_invited; i++)
            json_array_append_new (invited, json_string (body->invited [i]->agency_id));
        json_object_set_new (self->invitations, record->msg_id,
                             json_pack ("{s:s, s:o}", "referral", c->referral, "invited", invited));
        return;
    }
    self->meetings_checked++;
    json_t *invited = json_object_get (invitation, "invited");
    const char *outsider = NULL;
    for (size_t r = 0; r < record->recipient_count && !outsider; r++) {
        bool found = !body->cancelled && !strcmp (record->recipients [r], c->referrer);
        size_t i;
        json_t *agency;
        json_array_foreach (invited, i, agency) found =
            found || !strcmp (json_string_value (agency), record->recipients [r]);
        if (!found)
            outsider = record->recipients [r];
    }
    if (!outsider)
        self->meetings_held++;
    else
        json_array_append_new (
            self->mismatches,
            json_pack ("{s:I, s:s, s:s, s:s, s:s}", "record", (json_int_t) record->seq, "message",
                       record->msg_id, "recipient", outsider, "recorded_rule",
                       "strategy meeting delivered", "replayed_rule", "not invited"));
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
        if (!strncmp (record->event, "CHALLENGE_", 10))
            s_challenge_step (self, record);
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
        s_lateral_record (self, record, accepted && !envelope);
        if (!envelope)
            continue;
        rh_facts_t facts;
        rh_policy_facts (envelope, &facts);
        //  The case the message belongs to, rebuilt from the log so far.
        rh_casebook_case_t *c = NULL;
        const char *involved [RH_MAX_INVOLVED];
        bool meeting = facts.kind == RH_KIND_STRATEGY_MEETING;
        if (facts.kind == RH_KIND_OUTCOME || facts.kind == RH_KIND_STATUS_UPDATE || meeting) {
            //  A meeting's record answers its invitation, which answered the case's referral.
            json_t *invitation =
                meeting ? json_object_get (self->invitations, rh_envelope_in_reply_to (envelope))
                        : NULL;
            const char *referral =
                invitation ? json_string_value (json_object_get (invitation, "referral"))
                           : rh_envelope_in_reply_to (envelope);
            c = rh_casebook_find (self->cases, referral ? referral : "", record->agency,
                                  rh_envelope_case_id (envelope));
            //  The holder speaks for its case; so does the agreement's reviewer for a review of
            //  a consent override (the broker accepted it only from that role, and the rules
            //  re-decided below name the role again); the referrer only to withdraw it.
            bool review = facts.update_kind == RHANNU__V1__UPDATE_KIND__OVERRIDE_REVIEWED;
            bool withdrawal = facts.update_kind == RHANNU__V1__UPDATE_KIND__WITHDRAWN;
            if (c && !review && strcmp (withdrawal ? c->referrer : c->holder, record->agency) != 0)
                c = NULL;
            //  An answer to a professional challenge is decided outside its case, as the broker
            //  decided it (rh_challenge), even from the holder.
            if (facts.update_kind == RHANNU__V1__UPDATE_KIND__CHALLENGE_RESPONDED)
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
        const json_t *relayed = s_lateral_message (self, record, envelope, &facts);
        const char *holder = s_redecide (self, record, envelope, &facts, relayed);
        //  Issue 17: the agreement a challenge was decided under says who answers each level.
        rh_audit_decision_t first;
        if (facts.kind == RH_KIND_CHALLENGE && rh_record_decision (record, 0, &first)
            && *first.agreement_id)
            json_object_set_new (self->challenge_agreements, record->msg_id,
                                 json_pack ("{s:s, s:I}", "id", first.agreement_id, "version",
                                            (json_int_t) first.agreement_version));
        if (meeting && c)
            s_meeting (self, record, envelope, c);
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
        else if (c && !meeting) {
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
            "{s:I, s:I, s:I, s:O, s:{s:I, s:I, s:I, s:I, s:I, s:I}, s:{s:I, s:I}, s:{s:I, s:I}}",
            "decisions", (json_int_t) self->decisions, "reproduced", (json_int_t) self->reproduced,
            "refusals_not_kept", (json_int_t) self->refusals_unkept, "mismatches", self->mismatches,
            "referrals", "received", (json_int_t) self->referrals, "acknowledged",
            (json_int_t) acknowledged, "decided", (json_int_t) decided, "closed",
            (json_int_t) closed, "unverified", (json_int_t) unverified, "awaiting_verification",
            (json_int_t) waiting, "reply_bindings", "checked", (json_int_t) self->bindings, "held",
            (json_int_t) self->bindings_held, "strategy_meetings", "checked",
            (json_int_t) self->meetings_checked, "invitees_only", (json_int_t) self->meetings_held);
        json_object_set_new (result, "lateral_checks",
                             json_pack ("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "partners_asked",
                                        (json_int_t) self->lateral_asked, "answered",
                                        (json_int_t) self->lateral_answered, "late",
                                        (json_int_t) self->lateral_late, "overdue",
                                        (json_int_t) self->lateral_overdue, "answers_reproduced",
                                        (json_int_t) self->lateral_reproduced, "onward_shares",
                                        (json_int_t) self->lateral_onward, "mismatches",
                                        (json_int_t) self->lateral_mismatches));
        json_object_set_new (result, "challenges",
                             json_pack ("{s:I, s:I, s:I}", "count",
                                        (json_int_t) json_object_size (self->challenges), "steps",
                                        (json_int_t) self->challenge_steps, "held",
                                        (json_int_t) self->challenge_steps_held));
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
    fprintf (out,
             "lateral checks: %" PRIu64 " partners asked, %" PRIu64 " answered (%" PRIu64
             " late), %" PRIu64 " went overdue; reproduced from the log: %" PRIu64
             " answers, %" PRIu64 " onward share%s, %" PRIu64 " do not\n",
             self->lateral_asked, self->lateral_answered, self->lateral_late, self->lateral_overdue,
             self->lateral_reproduced, self->lateral_onward, self->lateral_onward == 1 ? "" : "s",
             self->lateral_mismatches);
    fprintf (out,
             "replayed %zu professional challenges (%" PRIu64 " steps): %" PRIu64
             " follow the challenge lifecycle and their deadlines, %" PRIu64 " do not\n",
             json_object_size (self->challenges), self->challenge_steps, self->challenge_steps_held,
             self->challenge_steps - self->challenge_steps_held);
    fprintf (out,
             "checked %" PRIu64 " strategy meeting records and cancellations against their "
             "invitations: %" PRIu64 " went to the invitees only\n",
             self->meetings_checked, self->meetings_held);
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
