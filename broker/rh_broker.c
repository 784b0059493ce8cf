/*  =========================================================================
    rh_broker - the rhannu broker: authenticate, verify, store, deliver

    Keys in the database:
      q/<agency>/<seq>   a message queued for agency (Queued)
      t/<agency>         last queue sequence given out for agency
      x/<agency>/<seq>   dead letter (Queued)
      m/<msg id>         replay state: header hash and sender (rh_dedup)
      r/<agency>         replay state: sequence window (rh_dedup)
      a/<seq>            audit record (rh_audit)
      b/seq              the broker's own message sequence
      p/<agreement id>   highest version of the agreement ever loaded (refuses rollback)
      g/<id>/<version>   that agreement as signed: signature (64 bytes) then the file
      k/, kh/, d/, s/    referral lifecycles, deadlines by due time, subjects (rh_cases)
      ka/<alert msg id>  a repeat-referral alert a case waits on: the case's referral id
    =========================================================================
*/
#include "rh_classes.h"
#include "rh_audit.h"
#include "rh_dedup.h"
#include "rh_verifier.h"
#include "rh_cases.h"
#include "rh_notice.h"
#include "rh_queue.h"
#include "rh_tracker.h"
#include "rhannu.pb-c.h"
#include "rh_broker.h"

#define RH_ZAP_ENDPOINT    "inproc://zeromq.zap.01"
#define RH_ZAP_DOMAIN      "rhannu"
#define RH_TICK_MS         100
#define RH_REBIND_ATTEMPTS 100    //  after a CRL reload closed every connection
#define RH_REBIND_PAUSE_US 20000  //  between attempts: the I/O thread releases the port soon

const rh_cfg_spec_t rh_broker_config_spec [] = {
    //  key                      type        min   max         default                  req
    { "bind/endpoint", RH_CFG_STR, 0, 0, "tcp://127.0.0.1:5670", false,
      "ZeroMQ endpoint agents connect to" },
    { "pki/dir", RH_CFG_STR, 0, 0, NULL, true,
      "PKI folder: ca.pem, crl.pem, one folder per agency" },
    { "pki/identity", RH_CFG_STR, 0, 0, "broker", false,
      "the broker's own folder in pki/dir (cert, keys)" },
    { "data/dir", RH_CFG_STR, 0, 0, NULL, true, "folder for the broker's LevelDB" },
    { "policy/dir", RH_CFG_STR, 0, 0, NULL, true,
      "sharing agreements in force: *.yaml, each with its CA signature *.yaml.sig" },
    { "net/handshake_ms", RH_CFG_INT, 100, 600000, "10000", false,
      "time a connection has to finish its CURVE handshake" },
    { "net/heartbeat_ms", RH_CFG_INT, 100, 600000, "5000", false,
      "ZMTP heartbeat interval; a silent peer is dropped after three" },
    { "clock/offset_file", RH_CFG_STR, 0, 0, "", false,
      "tests only: a file holding milliseconds added to the clock (deadlines in seconds)" },
    { "audit/checkpoint_every", RH_CFG_INT, 1, 10000000, "1000", false,
      "sign a checkpoint of the audit log after this many records..." },
    { "audit/checkpoint_ms", RH_CFG_INT, 100, 86400000, "60000", false,
      "...or this long after the last one, whichever comes first" },
    { "verify/workers", RH_CFG_INT, 0, 16, "0", false,
      "signature-verify threads (0: one per core)" },
    { "commit/max_batch", RH_CFG_INT, 1, RH_MAX_BATCH, "256", false,
      "messages in one group commit at most" },
    { "delivery/redeliver_ms", RH_CFG_INT, 100, 86400000, "30000", false,
      "resend an unacknowledged delivery after this long" },
    { "delivery/max_attempts", RH_CFG_INT, 1, 1000, "10", false,
      "deliveries without acknowledgement before a message is dead-lettered" },
    { "delivery/expiry_days", RH_CFG_INT, 1, 3650, "30", false,
      "default life of a queued message (the sender may set a shorter one)" },
    { NULL }
};

//  A reply that waits for the group commit.
typedef struct {
    uint8_t routing_id [256];
    size_t routing_id_size;
    char msg_id [RH_MAX_ID + 1];
    rh_rc_t rc;
    bool duplicate;
    char reason [RH_MAX_REASON];
    char rule_id [RH_MAX_ID + 1];  //  policy refusals: which rule of which agreement
    char agreement_id [RH_MAX_ID + 1];
    char missing [RH_MAX_ID + 1];
} s_reply_t;

struct _rh_broker_t {
    rh_config_t *config;  //  borrowed
    char pki_dir [PATH_MAX];
    void *context;
    void *router;
    void *zap;
    uint8_t curve_public [32];
    uint8_t curve_secret [32];
    rh_certstore_t *store;       //  for ZAP and recipients; workers have their own
    rh_signer_t *signer;         //  the broker's own identity, for notices
    rh_policy_t *policy;         //  the sharing agreements in force
    rh_cases_t *cases;           //  referral lifecycles
    int64_t clock_offset;        //  added to the clock (tests: clock/offset_file)
    int64_t last_checkpoint_ms;  //  when the audit log was last checkpointed
    rh_checkpoint_t published;   //  the last checkpoint committed and sent to the agents
    rh_db_t *db;
    rh_audit_t *audit;
    rh_dedup_t *dedup;
    rh_verifier_t *verifier;
    rh_queue_t *queue;      //  per-recipient queues and the agents bound to them
    rh_tracker_t *tracker;  //  the referral lifecycle
    s_reply_t *replies;
    size_t reply_count;
    size_t reply_capacity;
    int64_t expiry_ms;  //  default message life
    size_t max_batch;
    int64_t last_tick;
};

//  The broker's clock: real time, plus the test offset when clock/offset_file is set.
static int64_t
s_now (rh_broker_t *self)
{
    return rh_time_now_ms () + self->clock_offset;
}

//  Tests move the clock by writing milliseconds into clock/offset_file; read once per tick.
static void
s_read_clock (rh_broker_t *self)
{
    const char *path = rh_config_str (self->config, "clock/offset_file");
    uint8_t *text = NULL;
    size_t size = 0;
    if (!*path || rh_file_read (path, 64, &text, &size) != 0)
        return;
    char buffer [65];
    memcpy (buffer, text, size);
    buffer [size] = 0;
    free (text);
    char *end = NULL;
    long long offset = strtoll (buffer, &end, 10);
    if (end != buffer && offset >= 0)
        self->clock_offset = offset;
}

//  ---------------------------------------------------------------------------------------------
//  Replies

static void
s_send_frame (rh_broker_t *self, const uint8_t *routing_id, size_t routing_id_size,
              const rh_frame_t *frame)
{
    size_t size = 0;
    uint8_t *bytes = rh_frame_encode (frame, &size);
    if (!bytes)
        return;
    //  ROUTER_MANDATORY: a peer that went away makes this fail instead of vanishing silently.
    if (zmq_send (self->router, routing_id, routing_id_size, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0)
        zmq_send (self->router, bytes, size, ZMQ_DONTWAIT);
    free (bytes);
}

//  The queue's transport: one frame to one connection. Returns 0, or -1 with errno set.
static int
s_send (void *arg, const uint8_t *routing_id, size_t routing_id_size, const rh_frame_t *frame)
{
    rh_broker_t *self = arg;
    size_t size = 0;
    uint8_t *bytes = rh_frame_encode (frame, &size);
    int rc = -1;
    if (bytes
        && zmq_send (self->router, routing_id, routing_id_size, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0)
        rc = zmq_send (self->router, bytes, size, ZMQ_DONTWAIT);
    free (bytes);
    return rc < 0 ? -1 : 0;
}

static s_reply_t *
s_queue_reply (rh_broker_t *self, const uint8_t *routing_id, size_t routing_id_size,
               const char *msg_id, rh_rc_t rc, bool duplicate, const char *reason)
{
    if (self->reply_count == self->reply_capacity) {
        size_t capacity = self->reply_capacity ? self->reply_capacity * 2 : 256;
        s_reply_t *grown = realloc (self->replies, capacity * sizeof *grown);
        if (!grown)
            return NULL;  //  no reply: the agent resends and gets one then
        self->replies = grown;
        self->reply_capacity = capacity;
    }
    s_reply_t *reply = &self->replies [self->reply_count++];
    memcpy (reply->routing_id, routing_id, routing_id_size);
    reply->routing_id_size = routing_id_size;
    snprintf (reply->msg_id, sizeof reply->msg_id, "%s", msg_id ? msg_id : "");
    reply->rc = rc;
    reply->duplicate = duplicate;
    snprintf (reply->reason, sizeof reply->reason, "%s", reason ? reason : rh_rc_text (rc));
    reply->rule_id [0] = reply->agreement_id [0] = reply->missing [0] = 0;
    return reply;
}

static void
s_flush_replies (rh_broker_t *self)
{
    for (size_t i = 0; i < self->reply_count; i++) {
        s_reply_t *reply = &self->replies [i];
        rh_frame_t frame = { .msg_id = reply->msg_id };
        if (reply->rc == RH_OK) {
            frame.type = RH_FRAME_ACCEPTED;
            frame.duplicate = reply->duplicate;
        }
        else {
            frame.type = RH_FRAME_REJECTED;
            frame.code = rh_rc_name (reply->rc);
            frame.reason = reply->reason;
            frame.rule_id = reply->rule_id;
            frame.agreement_id = reply->agreement_id;
            frame.missing_condition = reply->missing;
        }
        s_send_frame (self, reply->routing_id, reply->routing_id_size, &frame);
    }
    self->reply_count = 0;
}

//  ---------------------------------------------------------------------------------------------
//  Accepting messages

//  The certificate identity of an agency enrolled and valid at now, or NULL.
static const rh_identity_t *
s_identity (rh_broker_t *self, const char *agency, int64_t now)
{
    for (size_t i = 0; i < rh_certstore_size (self->store); i++) {
        const rh_identity_t *id = rh_certstore_identity (self->store, i);
        if (strcmp (id->agency_id, agency) == 0
            && rh_certstore_status (self->store, i, now) == RH_OK)
            return id;
    }
    return NULL;
}

static bool
s_enrolled (rh_broker_t *self, const char *agency)
{
    return s_identity (self, agency, rh_time_now_ms ()) != NULL;
}

//  Resolves "the front door of LA x": the agreements' directory first (which knows the local
//  labels: IAA, SPOC, MASH, hub), then an enrolled LA_FRONT_DOOR (or LA_CHILDREN) certificate
//  of that local authority. Either way the agreement still has to allow the delivery.
static const char *
s_front_door (rh_broker_t *self, const char *la, const char *alias, int64_t now)
{
    const char *label = NULL;
    const char *agency = rh_policy_front_door (self->policy, la, alias, now, &label);
    if (agency && s_identity (self, agency, now))
        return agency;
    const char *fallback = NULL;
    for (size_t i = 0; i < rh_certstore_size (self->store); i++) {
        const rh_identity_t *id = rh_certstore_identity (self->store, i);
        if (strcmp (id->la, la) != 0 || rh_certstore_status (self->store, i, now) != RH_OK)
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
s_route (rh_broker_t *self, rh_envelope_t *envelope, const char **recipients, size_t *count,
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

static void
s_reject (rh_broker_t *self, const rh_verified_t *result, rh_rc_t rc, const char *reason)
{
    char detail [300];
    snprintf (detail, sizeof detail, "%s", reason ? reason : rh_rc_text (rc));
    rh_audit_event (self->audit, "REJECTED", rc, result->msg_id, result->agency, NULL, 0, NULL, 0,
                    result->sealed_sha256, detail);
    s_queue_reply (self, result->routing_id, result->routing_id_size, result->msg_id, rc, false,
                   detail);
    rh_log_info ("broker", "rejected %s from %s: %s (%s)", result->msg_id, result->agency,
                 rh_rc_name (rc), detail);
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
s_refuse (rh_broker_t *self, const rh_verified_t *result, const rh_decision_t *decision,
          const char *recipient)
{
    rh_audit_decision_t audit;
    s_audit_decision (decision, recipient, &audit);
    rh_audit_decided (self->audit, "REJECTED", RH_E_POLICY, result->msg_id, result->agency, NULL, 0,
                      NULL, 0, result->sealed_sha256, decision->reason, &audit, 1,
                      result->envelope ? rh_envelope_case_id (result->envelope) : NULL);
    s_reply_t *reply = s_queue_reply (self, result->routing_id, result->routing_id_size,
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

#define S_MAX_TO (RH_MAX_RECIPIENTS + RH_MAX_INVOLVED)  //  addressed plus told by the broker

//  ---------------------------------------------------------------------------------------------
//  Accepting messages

static void
s_accept (rh_broker_t *self, rh_verified_t *result)
{
    rh_envelope_t *envelope = result->envelope;
    if (result->rc != RH_OK) {
        s_reject (self, result, result->rc, NULL);
        return;
    }
    int64_t now = s_now (self);
    rh_facts_t facts;
    rh_policy_facts (envelope, &facts);
    //  An outcome or update from the front door holding a case: the case says who hears it.
    rh_case_t record;
    bool about_case = rh_tracker_case_of (self->tracker, envelope, result->agency, &record);
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
    size_t addressed = count;
    for (size_t i = 0; i < count; i++)
        roles [i] = NULL;
    for (size_t i = 0; about_case && i < record.involved_count; i++) {
        const char *agency = record.involved [i];
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
        rh_policy_decide (self->policy, &facts, rh_envelope_agreement_id (envelope), &sender,
                          &recipient, now, &decisions [i]);
        if (decisions [i].result == RH_DECIDE_ALLOW)
            continue;
        if (roles [i] && strcmp (roles [i], "referrer") != 0) {
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
    rh_decision_t refusal;
    if (about_case && !seen_before
        && rh_tracker_close_refused (self->tracker, &record, &facts, &refusal)) {
        s_refuse (self, result, &refusal, record.holder);
        return;
    }
    size_t header_size = 0;
    const uint8_t *header = rh_envelope_header_bytes (envelope, &header_size);
    uint8_t header_hash [RH_DIGEST_LEN];
    crypto_hash_sha256 (header_hash, header, header_size);
    bool duplicate = false;
    const char *why = NULL;
    rc = rh_dedup_check (self->dedup, result->agency, result->msg_id,
                         rh_envelope_sequence (envelope), header_hash, &duplicate, &why);
    if (rc != RH_OK) {
        s_reject (self, result, rc, why);
        return;
    }
    if (duplicate) {
        rh_audit_event (self->audit, "DUPLICATE", RH_OK, result->msg_id, result->agency, NULL, 0,
                        NULL, 0, result->sealed_sha256, "seen before; acknowledged again");
        s_queue_reply (self, result->routing_id, result->routing_id_size, result->msg_id, RH_OK,
                       true, NULL);
        return;
    }
    if (seen_before) {
        //  Known id, but neither a replay nor a duplicate: cannot happen (rh_dedup refuses a
        //  reused id with other content); refuse rather than deliver undecided.
        s_reject (self, result, RH_E_REPLAY, "message id seen before");
        return;
    }
    uint8_t *sealed = NULL;
    size_t size = 0;
    if (rh_envelope_encode (envelope, &sealed, &size) != 0) {
        s_reject (self, result, RH_E_NOMEM, NULL);
        return;
    }
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
                facts.kind == RH_KIND_OUTCOME ? RHANNU__V1__NOTICE_KIND__NOTICE_OUTCOME
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
        free (sealed);
        s_reject (self, result, RH_E_NOMEM, "cannot prepare the recipients' copies");
        return;
    }
    //  The message first, then what the broker made of it.
    rh_audit_decided (self->audit, "ACCEPTED", RH_OK, result->msg_id, result->agency,
                      audit_recipients, delivered, sealed, size, NULL,
                      rh_envelope_kind_name (rh_envelope_kind (envelope)), audit, count,
                      rh_envelope_case_id (envelope));
    for (size_t i = 0; i < count; i++) {
        if (skipped [i])
            continue;
        if (roles [i]) {
            rh_queue_send_own (self->queue, recipients [i], &copies [i], copy_sizes [i],
                               notice_ids [i], RH_KIND_NOTICE,
                               facts.kind == RH_KIND_OUTCOME ? "outcome notice" : "update notice",
                               &decisions [i], record.case_id, now);
            continue;  //  the queue took the notice
        }
        rh_queue_enqueue (self->queue, recipients [i], result->msg_id, result->agency,
                          copies [i] ? copies [i] : sealed, copies [i] ? copy_sizes [i] : size,
                          expires, &decisions [i], facts.kind, now);
        free (copies [i]);
    }
    free (sealed);
    if (facts.kind == RH_KIND_REFERRAL)
        rh_tracker_open (self->tracker, envelope, &facts, result->agency, recipients, decisions,
                         addressed, now);
    else if (about_case)
        rh_tracker_event (self->tracker, &record, &facts, recipients, addressed, now);
    s_queue_reply (self, result->routing_id, result->routing_id_size, result->msg_id, RH_OK, false,
                   NULL);
}

//  ---------------------------------------------------------------------------------------------
//  Transport

static int
s_setup_router (rh_broker_t *self)
{
    self->router = zmq_socket (self->context, ZMQ_ROUTER);
    if (!self->router)
        return -1;
    int one = 1, zero = 0, linger = 0;
    int handshake = (int) rh_config_int (self->config, "net/handshake_ms");
    int heartbeat = (int) rh_config_int (self->config, "net/heartbeat_ms");
    int heartbeat_timeout = heartbeat * 3;
    int64_t max_size = RH_MAX_ENVELOPE + 4096;
    int hwm = 100000;
    if (zmq_setsockopt (self->router, ZMQ_CURVE_SERVER, &one, sizeof one)
        || zmq_setsockopt (self->router, ZMQ_CURVE_SECRETKEY, self->curve_secret, 32)
        || zmq_setsockopt (self->router, ZMQ_ZAP_DOMAIN, RH_ZAP_DOMAIN, strlen (RH_ZAP_DOMAIN))
        || zmq_setsockopt (self->router, ZMQ_ZAP_ENFORCE_DOMAIN, &one, sizeof one)
        || zmq_setsockopt (self->router, ZMQ_MAXMSGSIZE, &max_size, sizeof max_size)
        || zmq_setsockopt (self->router, ZMQ_HANDSHAKE_IVL, &handshake, sizeof handshake)
        || zmq_setsockopt (self->router, ZMQ_ROUTER_MANDATORY, &one, sizeof one)
        || zmq_setsockopt (self->router, ZMQ_ROUTER_HANDOVER, &zero, sizeof zero)
        || zmq_setsockopt (self->router, ZMQ_HEARTBEAT_IVL, &heartbeat, sizeof heartbeat)
        || zmq_setsockopt (self->router, ZMQ_HEARTBEAT_TIMEOUT, &heartbeat_timeout,
                           sizeof heartbeat_timeout)
        || zmq_setsockopt (self->router, ZMQ_SNDHWM, &hwm, sizeof hwm)
        || zmq_setsockopt (self->router, ZMQ_RCVHWM, &hwm, sizeof hwm)
        || zmq_setsockopt (self->router, ZMQ_LINGER, &linger, sizeof linger))
        return -1;
    const char *endpoint = rh_config_str (self->config, "bind/endpoint");
    if (zmq_bind (self->router, endpoint) != 0) {
        rh_log_error ("broker", "cannot bind %s: %s", endpoint, zmq_strerror (errno));
        return -1;
    }
    return 0;
}

//  Answers one ZAP request: admit a CURVE key only if an unrevoked certificate binds it.
static void
s_handle_zap (rh_broker_t *self)
{
    zmq_msg_t parts [8];
    int count = 0;
    bool more = true;
    while (more) {
        zmq_msg_t *part = &parts [count < 8 ? count : 7];
        if (count >= 8)
            zmq_msg_close (part);
        zmq_msg_init (part);
        if (zmq_msg_recv (part, self->zap, 0) < 0) {
            zmq_msg_close (part);
            break;
        }
        more = zmq_msg_more (part);
        if (count < 8)
            count++;
    }
    //  version, request id, domain, address, identity, mechanism, client key
    const char *status = "400", *text = "not allowed";
    char agency [RH_MAX_ID + 1] = "";
    if (count == 7 && zmq_msg_size (&parts [0]) == 3
        && !memcmp (zmq_msg_data (&parts [0]), "1.0", 3) && zmq_msg_size (&parts [5]) == 5
        && !memcmp (zmq_msg_data (&parts [5]), "CURVE", 5) && zmq_msg_size (&parts [6]) == 32) {
        const rh_identity_t *identity = NULL;
        rh_rc_t rc = rh_certstore_by_curve (self->store, zmq_msg_data (&parts [6]),
                                            rh_time_now_ms (), &identity);
        if (rc == RH_OK && strcmp (identity->type, "BROKER") != 0) {
            status = "200";
            text = "OK";
            snprintf (agency, sizeof agency, "%s", identity->agency_id);
        }
        else {
            char key [65];
            sodium_bin2hex (key, sizeof key, zmq_msg_data (&parts [6]), 32);
            text = rc == RH_OK ? "broker key used as a client" : rh_rc_text (rc);
            rh_log_warn ("broker", "refused a connection with CURVE key %.16s...: %s", key, text);
            char detail [200];
            snprintf (detail, sizeof detail, "handshake refused for CURVE key %s", key);
            rh_audit_event (self->audit, "HANDSHAKE_REFUSED", rc == RH_OK ? RH_E_CERT_UNKNOWN : rc,
                            NULL, NULL, NULL, 0, NULL, 0, NULL, detail);
        }
    }
    if (count >= 2) {
        zmq_send (self->zap, "1.0", 3, ZMQ_SNDMORE);
        zmq_send (self->zap, zmq_msg_data (&parts [1]), zmq_msg_size (&parts [1]), ZMQ_SNDMORE);
        zmq_send (self->zap, status, 3, ZMQ_SNDMORE);
        zmq_send (self->zap, text, strlen (text), ZMQ_SNDMORE);
        zmq_send (self->zap, agency, strlen (agency), ZMQ_SNDMORE);
        zmq_send (self->zap, "", 0, 0);
    }
    for (int i = 0; i < count; i++)
        zmq_msg_close (&parts [i]);
}

//  Reads one message from the ROUTER. Returns 1 if one was handled, 0 if none was waiting.
static int
s_handle_router (rh_broker_t *self)
{
    zmq_msg_t routing, body;
    zmq_msg_init (&routing);
    zmq_msg_init (&body);
    if (zmq_msg_recv (&routing, self->router, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close (&routing);
        zmq_msg_close (&body);
        return 0;
    }
    if (!zmq_msg_more (&routing) || zmq_msg_recv (&body, self->router, 0) < 0) {
        zmq_msg_close (&routing);
        zmq_msg_close (&body);
        return 1;
    }
    while (zmq_msg_more (&body)) {
        //  We only ever expect one frame after the routing id; drop the rest.
        zmq_msg_t extra;
        zmq_msg_init (&extra);
        zmq_msg_recv (&extra, self->router, 0);
        bool again = zmq_msg_more (&extra);
        zmq_msg_close (&extra);
        if (!again)
            break;
    }
    const char *user = zmq_msg_gets (&body, "User-Id");
    char agency [RH_MAX_ID + 1] = "";
    snprintf (agency, sizeof agency, "%s", user ? user : "");
    const uint8_t *routing_id = zmq_msg_data (&routing);
    size_t routing_id_size = zmq_msg_size (&routing);
    if (routing_id_size > 256 || !*agency)
        goto done;  //  cannot happen with ZAP enforced
    rh_frame_t frame;
    rh_rc_t rc = rh_frame_decode (zmq_msg_data (&body), zmq_msg_size (&body), &frame);
    if (rc != RH_OK) {
        uint8_t sha [RH_DIGEST_LEN];
        crypto_hash_sha256 (sha, zmq_msg_data (&body), zmq_msg_size (&body));
        rh_audit_event (self->audit, "REJECTED", rc, NULL, agency, NULL, 0, NULL, 0, sha,
                        "frame does not parse");
        s_queue_reply (self, routing_id, routing_id_size, "", rc, false,
                       "the transport frame does not parse");
        goto done;
    }
    switch (frame.type) {
        case RH_FRAME_HELLO: {
            if (rh_queue_reserve (self->queue, agency) != 0)
                break;
            rh_dedup_set_floor (self->dedup, agency, frame.low_sequence);
            rh_queue_bind (self->queue, agency, routing_id, routing_id_size, frame.credit);
            //  The agent checks that the log it saw last is still the beginning of this one.
            if (self->published.size) {
                rh_frame_t checkpoint = { .type = RH_FRAME_CHECKPOINT,
                                          .checkpoint = self->published };
                s_send_frame (self, routing_id, routing_id_size, &checkpoint);
            }
            break;
        }
        case RH_FRAME_PROOF_REQUEST: {
            uint8_t hashes [RH_MERKLE_MAX_PROOF][RH_DIGEST_LEN];
            int count =
                frame.from_size >= 1 && frame.from_size <= frame.to_size
                        && frame.to_size <= self->published.size
                    ? rh_audit_consistency_proof (self->db, frame.from_size, frame.to_size, hashes)
                    : -1;
            if (count < 0)
                break;  //  not a tree the broker published: nothing to prove
            rh_frame_t proof = { .type = RH_FRAME_PROOF,
                                 .from_size = frame.from_size,
                                 .to_size = frame.to_size,
                                 .hashes = (const uint8_t *) hashes,
                                 .hash_count = (size_t) count };
            s_send_frame (self, routing_id, routing_id_size, &proof);
            break;
        }
        case RH_FRAME_SUBMIT:
            if (rh_verifier_submit (self->verifier, routing_id, routing_id_size, agency,
                                    frame.msg_id, frame.sealed, frame.sealed_size)
                != 0)
                s_queue_reply (self, routing_id, routing_id_size, frame.msg_id, RH_E_NOMEM, false,
                               "broker busy; try again");
            break;
        case RH_FRAME_DELIVERED: {
            if (!rh_queue_bound_to (self->queue, agency, routing_id, routing_id_size))
                break;
            int64_t now = s_now (self);
            for (size_t i = 0; i < frame.id_count; i++) {
                rh_acked_t acked;
                if (rh_queue_ack (self->queue, agency, frame.ids [i], &acked) == 1)
                    rh_tracker_taken_in (self->tracker, acked.kind, acked.msg_id, agency, now);
            }
            break;
        }
        default:
            s_queue_reply (self, routing_id, routing_id_size, "", RH_E_MALFORMED, false,
                           "agents may send Hello, Submit, Delivered and ProofRequest only");
            break;
    }
    rh_frame_release (&frame);
done:
    zmq_msg_close (&routing);
    zmq_msg_close (&body);
    return 1;
}

//  Loads the agreements of policy/dir. Refuses a set holding an older version of an agreement
//  than one loaded before (a rollback), records each version and its file under g/ so that an
//  auditor can re-evaluate decisions from a copy of the data, and writes a POLICY_LOADED audit
//  record. Returns NULL (and logs every problem) on failure.
static rh_policy_t *
s_load_policy (rh_broker_t *self, char *why, size_t why_size)
{
    const char *dir = rh_config_str (self->config, "policy/dir");
    char ca [PATH_MAX], errors [8192] = "";
    rh_file_path (ca, sizeof ca, "%s/ca.pem", self->pki_dir);
    rh_policy_t *policy = rh_policy_load (dir, ca, s_now (self), errors, sizeof errors);
    for (size_t i = 0; policy && i < rh_policy_size (policy); i++) {
        const rh_agreement_t *agreement = rh_policy_agreement (policy, i);
        char key [RH_MAX_QUEUE_KEY];
        snprintf (key, sizeof key, "p/%s", rh_agreement_id (agreement));
        uint8_t *value = NULL;
        size_t size = 0;
        uint32_t highest = 0;
        if (rh_db_get (self->db, key, strlen (key), &value, &size) == 0 && size == 4)
            memcpy (&highest, value, 4);
        free (value);
        if (rh_agreement_version (agreement) < highest) {
            snprintf (errors, sizeof errors,
                      "agreement %s version %u is older than version %u, loaded before "
                      "(a rollback is refused)\n",
                      rh_agreement_id (agreement), rh_agreement_version (agreement), highest);
            rh_policy_destroy (&policy);
        }
    }
    if (!policy) {
        for (char *line = errors, *end; *line; line = end + 1) {
            end = strchr (line, '\n');
            if (!end)
                break;
            *end = 0;
            rh_log_error ("broker", "agreements: %s", line);
            if (line == errors)
                snprintf (why, why_size, "%s", line);
        }
        return NULL;
    }
    char detail [300] = "";
    for (size_t i = 0; i < rh_policy_size (policy); i++) {
        const rh_agreement_t *agreement = rh_policy_agreement (policy, i);
        uint32_t version = rh_agreement_version (agreement);
        char key [RH_MAX_QUEUE_KEY];
        snprintf (key, sizeof key, "p/%s", rh_agreement_id (agreement));
        rh_db_put (self->db, key, strlen (key), &version, 4);
        snprintf (key, sizeof key, "g/%s/%010u", rh_agreement_id (agreement), version);
        size_t size = 0;
        const uint8_t *signature = NULL;
        const uint8_t *source = rh_policy_source (policy, i, &size, &signature);
        if (!rh_db_has (self->db, key, strlen (key))) {
            uint8_t *stored = malloc (size + RH_SIG_LEN);
            if (stored) {
                memcpy (stored, signature, RH_SIG_LEN);
                memcpy (stored + RH_SIG_LEN, source, size);
                rh_db_put (self->db, key, strlen (key), stored, size + RH_SIG_LEN);
                free (stored);
            }
        }
        char hex [RH_DIGEST_LEN * 2 + 1];
        sodium_bin2hex (hex, sizeof hex, rh_agreement_sha256 (agreement), RH_DIGEST_LEN);
        size_t used = strlen (detail);
        snprintf (detail + used, sizeof detail - used, "%s%s v%u sha256:%.16s", used ? ", " : "",
                  rh_agreement_id (agreement), version, hex);
        rh_log_info ("broker", "agreement %s version %u in force (%zu rules, %zu parties)",
                     rh_agreement_id (agreement), version, rh_agreement_rules (agreement),
                     rh_agreement_parties (agreement));
    }
    rh_audit_event (self->audit, "POLICY_LOADED", RH_OK, NULL, NULL, NULL, 0, NULL, 0, NULL,
                    detail);
    return policy;
}

//  Reloads the CRL and certificates; closes every connection if a connected agency is no
//  longer allowed (ROUTER has no per-peer close: agents reconnect and are checked afresh).
static void
s_reload (rh_broker_t *self)
{
    //  Agreements first, all or nothing: a bad new set leaves the old one in force.
    char why [RH_MAX_REASON] = "";
    rh_policy_t *policy = s_load_policy (self, why, sizeof why);
    if (policy) {
        rh_policy_destroy (&self->policy);
        self->policy = policy;
    }
    else {
        rh_log_error ("broker", "agreement reload failed; the agreements in force stay");
        rh_audit_event (self->audit, "POLICY_RELOAD_FAILED", RH_E_POLICY, NULL, NULL, NULL, 0, NULL,
                        0, NULL, why);
    }
    if (rh_db_commit (self->db, true) != 0)
        rh_log_error ("broker", "cannot commit the reload's audit records");
    rh_certstore_t *fresh = rh_certstore_load_dir (self->pki_dir);
    if (!fresh) {
        rh_log_error ("broker", "reload failed; keeping the certificates in force");
        return;
    }
    rh_certstore_destroy (&self->store);
    self->store = fresh;
    rh_verifier_reload (self->verifier);
    bool revoked = false;
    const char *bound [RH_MAX_AGENCIES];
    size_t bound_count = rh_queue_bound_agencies (self->queue, bound, RH_MAX_AGENCIES);
    for (size_t i = 0; i < bound_count; i++) {
        if (!s_enrolled (self, bound [i])) {
            rh_log_warn ("broker", "%s is no longer allowed; closing its connection", bound [i]);
            rh_audit_event (self->audit, "DISCONNECTED", RH_E_REVOKED, NULL, bound [i], NULL, 0,
                            NULL, 0, NULL, "certificate no longer valid after CRL reload");
            revoked = true;
        }
    }
    rh_log_info ("broker", "reloaded PKI: %zu certificates", rh_certstore_size (self->store));
    if (!revoked)
        return;
    zmq_close (self->router);
    self->router = NULL;
    rh_queue_unbind_all (self->queue);
    //  zmq_close returns before the I/O thread has released the port: try again for a while.
    for (int attempt = 0; attempt < RH_REBIND_ATTEMPTS; attempt++) {
        if (s_setup_router (self) == 0)
            return;
        if (self->router) {
            zmq_close (self->router);
            self->router = NULL;
        }
        usleep (RH_REBIND_PAUSE_US);
    }
    rh_log_error ("broker",
                  "cannot rebind after reload; stopping so that a supervisor restarts us");
    exit (4);
}

//  Signs a checkpoint of the audit log when enough records or time have passed since the last.
static void
s_checkpoint (rh_broker_t *self, int64_t now, bool force)
{
    uint64_t size = rh_audit_size (self->audit);
    uint64_t last = rh_audit_checkpointed (self->audit);
    if (size == last)
        return;
    if (!force && size - last < (uint64_t) rh_config_int (self->config, "audit/checkpoint_every")
        && now - self->last_checkpoint_ms < rh_config_int (self->config, "audit/checkpoint_ms"))
        return;
    if (rh_audit_checkpoint (self->audit, self->signer, rh_time_now_ms ()) != 0)
        rh_log_error ("broker", "cannot sign an audit checkpoint");
    self->last_checkpoint_ms = now;
}

//  Sends a newly committed checkpoint to every connected agent.
static void
s_publish_checkpoint (rh_broker_t *self)
{
    rh_checkpoint_t last;
    if (!rh_audit_last_checkpoint (self->audit, &last) || last.size == self->published.size)
        return;
    self->published = last;
    rh_frame_t frame = { .type = RH_FRAME_CHECKPOINT, .checkpoint = last };
    rh_queue_broadcast (self->queue, &frame);
}

static void
s_tick (rh_broker_t *self, int64_t now)
{
    s_read_clock (self);
    s_checkpoint (self, rh_time_now_ms (), false);
    rh_tracker_fire (self->tracker, s_now (self));
    rh_queue_redeliver (self->queue, now);
}

//  ---------------------------------------------------------------------------------------------

rh_broker_t *
rh_broker_new (rh_config_t *config)
{
    assert (config);
    rh_broker_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->config = config;
    snprintf (self->pki_dir, sizeof self->pki_dir, "%s", rh_config_str (config, "pki/dir"));
    self->expiry_ms = rh_config_int (config, "delivery/expiry_days") * 24 * 3600 * 1000;
    self->max_batch = (size_t) rh_config_int (config, "commit/max_batch");
    char identity [PATH_MAX];
    rh_file_path (identity, sizeof identity, "%s/%s", self->pki_dir,
                  rh_config_str (config, "pki/identity"));
    if (!(self->store = rh_certstore_load_dir (self->pki_dir)))
        goto fail;
    if (!(self->signer = rh_signer_load (identity))
        || rh_ca_load_curve (identity, self->curve_public, self->curve_secret) != 0)
        goto fail;
    const char *data_dir = rh_config_str (config, "data/dir");
    if (rh_file_mkdir (data_dir, 0700) != 0) {
        rh_log_error ("broker", "cannot create %s: %s", data_dir, strerror (errno));
        goto fail;
    }
    if (!(self->db = rh_db_open (data_dir)) || !(self->audit = rh_audit_new (self->db))
        || !(self->dedup = rh_dedup_new (self->db)))
        goto fail;
    char why [RH_MAX_REASON];
    s_read_clock (self);
    if (!(self->cases = rh_cases_new (self->db)))
        goto fail;
    if (!(self->policy = s_load_policy (self, why, sizeof why))
        || rh_db_commit (self->db, true) != 0)
        goto fail;
    rh_audit_last_checkpoint (self->audit, &self->published);
    rh_queue_limits_t limits = {
        .expiry_ms = self->expiry_ms,
        .redeliver_ms = rh_config_int (config, "delivery/redeliver_ms"),
        .max_attempts = (uint32_t) rh_config_int (config, "delivery/max_attempts"),
    };
    if (!(self->queue = rh_queue_new (self->db, self->audit, self->signer, &limits, s_send, self))
        || !(self->tracker = rh_tracker_new (self->db, self->cases, self->queue, self->signer,
                                             &self->store, &self->policy)))
        goto fail;
    if (!(self->context = zmq_ctx_new ()))
        goto fail;
    //  The ZAP handler must be bound before any CURVE socket accepts a connection.
    self->zap = zmq_socket (self->context, ZMQ_REP);
    if (!self->zap || zmq_bind (self->zap, RH_ZAP_ENDPOINT) != 0)
        goto fail;
    if (!(self->verifier = rh_verifier_new (self->context, self->pki_dir,
                                            (int) rh_config_int (config, "verify/workers"))))
        goto fail;
    if (s_setup_router (self) != 0)
        goto fail;
    rh_log_info ("broker",
                 "listening on %s as %s; %zu certificates; audit log holds %" PRIu64 " records",
                 rh_config_str (config, "bind/endpoint"), rh_signer_agency (self->signer),
                 rh_certstore_size (self->store), rh_audit_size (self->audit));
    return self;
fail:
    rh_log_error ("broker", "cannot start");
    rh_broker_destroy (&self);
    return NULL;
}

void
rh_broker_destroy (rh_broker_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        rh_broker_t *self = *self_p;
        int linger = 0;
        if (self->router) {
            zmq_setsockopt (self->router, ZMQ_LINGER, &linger, sizeof linger);
            zmq_close (self->router);
        }
        rh_verifier_destroy (&self->verifier);
        if (self->zap) {
            zmq_setsockopt (self->zap, ZMQ_LINGER, &linger, sizeof linger);
            zmq_close (self->zap);
        }
        if (self->context)
            zmq_ctx_term (self->context);
        rh_tracker_destroy (&self->tracker);
        rh_queue_destroy (&self->queue);
        free (self->replies);
        rh_dedup_destroy (&self->dedup);
        rh_audit_destroy (&self->audit);
        rh_db_destroy (&self->db);
        rh_signer_destroy (&self->signer);
        rh_policy_destroy (&self->policy);
        rh_cases_destroy (&self->cases);
        rh_certstore_destroy (&self->store);
        sodium_memzero (self->curve_secret, sizeof self->curve_secret);
        free (self);
        *self_p = NULL;
    }
}

int
rh_broker_run (rh_broker_t *self, volatile sig_atomic_t *stop, volatile sig_atomic_t *reload)
{
    assert (self && stop && reload);
    while (!*stop) {
        zmq_pollitem_t items [] = {
            { self->router, 0, ZMQ_POLLIN, 0 },
            { rh_verifier_socket (self->verifier), 0, ZMQ_POLLIN, 0 },
            { self->zap, 0, ZMQ_POLLIN, 0 },
        };
        if (zmq_poll (items, 3, RH_TICK_MS) < 0 && errno != EINTR)
            break;
        if (items [2].revents & ZMQ_POLLIN)
            s_handle_zap (self);
        //  Take everything that is waiting, up to one batch, then commit once.
        size_t handled = 0;
        bool progress = true;
        while (progress && handled < self->max_batch) {
            progress = false;
            if (s_handle_router (self) > 0) {
                handled++;
                progress = true;
            }
            rh_verified_t result;
            if (rh_verifier_result (self->verifier, &result) == 0) {
                s_accept (self, &result);
                rh_envelope_destroy (&result.envelope);
                handled++;
                progress = true;
            }
        }
        int64_t now = s_now (self);
        if (now - self->last_tick >= RH_TICK_MS) {
            self->last_tick = now;
            s_tick (self, now);
        }
        if (rh_db_pending (self->db) > 0) {
            //  No acknowledgement leaves before this returns. A batch that backs no reply
            //  (acknowledged deliveries, their audit records) need not wait for the disk: the
            //  next synchronous commit of the same log makes it durable with it, and a crashed
            //  process loses nothing the kernel already holds.
            if (rh_db_commit (self->db, self->reply_count > 0) != 0) {
                rh_log_error ("broker", "storage failed: stopping intake; nothing unsaved was "
                                        "acknowledged");
                return -1;
            }
            rh_dedup_committed (self->dedup);
            rh_queue_committed (self->queue);
            s_publish_checkpoint (self);
        }
        s_flush_replies (self);
        //  Deliver only what is committed; their audit records join the next commit.
        rh_queue_pump (self->queue, s_now (self));
        if (*reload) {
            *reload = 0;
            s_reload (self);
        }
    }
    s_checkpoint (self, rh_time_now_ms (), true);  //  a clean stop leaves the whole log signed
    if (rh_db_pending (self->db) > 0 && rh_db_commit (self->db, true) != 0)
        return -1;
    return 0;
}
