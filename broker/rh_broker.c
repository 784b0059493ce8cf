/*  =========================================================================
    rh_broker - the rhannu broker: authenticate, verify, store, deliver

    The actor: it wires the classes below together and runs the loop.
    Each pass takes what is waiting (frames from rh_router, verified
    messages from rh_verifier, handed to rh_intake) up to one batch,
    fires due deadlines (rh_tracker) and redeliveries (rh_queue) every
    tick, commits the batch once (group commit), and only then sends the
    replies it backs and delivers what it queued. A reload swaps the
    agreements and certificates the classes borrow.

    Keys in the database, by owner:
      q/ t/ qs/ x/ qu/ b/seq  queues, tails, what was sent, dead letters, what an agent could
                              not verify, own sequence (rh_queue)
      m/ r/ s/<sender>/       message ids and sequences seen (rh_dedup)
      a/ ap/ mt/ ck/          the audit log (rh_audit)
      wc/<witness>            the size each witness last cosigned (rh_cosigner)
      k/ kh/ d/ s/<subject>/  cases, deadlines by due time, subjects (rh_cases)
      ka/<alert msg id>       a repeat-referral alert a case waits on (rh_tracker)
      lq/ ld/ lr/             lateral checks, their deadlines, responses (rh_lateral)
      cg/ cgd/ cgo/           professional challenges, their deadlines, outcomes open to them
                              (rh_challenge)
      p/<agreement id>        highest version of the agreement ever loaded (refuses rollback)
      g/<id>/<version>        that agreement as signed: signature (64 bytes) then the file
    =========================================================================
*/
#include "rh_broker_classes.h"

#define RH_TICK_MS 100

const rh_cfg_spec_t rh_broker_config_spec [] = {
    //  key                      type        min   max         default                  req
    { "bind/endpoint", RH_CFG_STR, 0, 0, "tcp://127.0.0.1:5670", false,
      "ZeroMQ endpoint agents connect to" },
    { "pki/dir", RH_CFG_STR, 0, 0, NULL, true,
      "PKI folder: ca.pem, crl.pem, one folder per agency" },
    { "pki/identity", RH_CFG_STR, 0, 0, "broker", false,
      "the broker's own folder in pki/dir (cert, keys)" },
    { "pki/bundle", RH_CFG_STR, 0, 0, "", false,
      "the board's trust bundle pushed to agents (default: bundle.rhb in pki/dir, if there)" },
    { "pki/warn_days", RH_CFG_INT, 1, 365, "7", false,
      "warn (log, audit) this many days before the CRL or the trust bundle expires" },
    { "data/dir", RH_CFG_STR, 0, 0, NULL, true, "folder for the broker's LevelDB" },
    { "policy/dir", RH_CFG_STR, 0, 0, NULL, true,
      "sharing agreements in force: *.yaml, each with its CA signature *.yaml.sig" },
    { "federation/file", RH_CFG_STR, 0, 0, "", false,
      "federation agreement with other regions (FILE.sig.REGION by each board); \"\": none" },
    { "federation/region", RH_CFG_STR, 0, 0, "", false,
      "this broker's region in the federation agreement" },
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
      "resend unacknowledged deliveries after this long without an answer (then 2x, 4x...)" },
    { "verify/created_window_hours", RH_CFG_INT, 1, 720, "24", false,
      "refuse a message created further than this from the broker's clock (RH_E_CLOCK)" },
    { "delivery/expiry_days", RH_CFG_INT, 1, 3650, "30", false,
      "default life of a queued message (the sender may set a shorter one)" },
    { "delivery/unverified_alert_ms", RH_CFG_INT, 1000, 30LL * 86400000, "3600000", false,
      "tell a sender when its message's recipient has not been able to verify it for this long" },
    { "retention/check_ms", RH_CFG_INT, 100, 7LL * 86400000, "3600000", false,
      "how often (on the broker's clock) payloads past their agreement's retention are erased" },
    { "witness/urls", RH_CFG_STR, 0, 0, "", false,
      "witnesses' base URLs (tlog-witness add-checkpoint), space-separated; none: not witnessed" },
    { "witness/keys", RH_CFG_STR, 0, 0, "", false,
      "the witnesses' cosignature vkeys, in the order of witness/urls" },
    { "witness/origin", RH_CFG_STR, 0, 0, "", false,
      "the origin line of our checkpoints, the name witnesses know this log by" },
    { "log/format", RH_CFG_ENUM, 0, 0, "text", false,
      "how operator log lines are written: text, or one JSON object per line {text|json}" },
    { "metrics/listen", RH_CFG_STR, 0, 0, "", false,
      "serve /metrics, /healthz, /readyz and /status over HTTP on HOST:PORT, e.g. "
      "127.0.0.1:9464 (empty: off)" },
    { "metrics/allow_remote", RH_CFG_BOOL, 0, 1, "false", false,
      "let metrics/listen be an address that is not loopback (the figures name agencies)" },
    { NULL }
};

struct _rh_broker_t {
    rh_config_t *config;  //  borrowed
    char pki_dir [PATH_MAX];
    void *context;
    rh_router_t *router;       //  sockets, ZAP and the replies waiting for the commit
    rh_certstore_t *store;     //  for ZAP and recipients; workers have their own
    rh_trust_t *trust;         //  the trust bundle pushed to agents (its own CA check)
    int64_t trust_checked_ms;  //  when CRL and bundle expiry were last looked at
    int64_t next_change_ms;    //  when a certificate's status next changes by the clock
    rh_signer_t *signer;       //  the broker's own identity, for notices
    rh_policy_t *policy;       //  the sharing agreements in force
    rh_peers_t *peers;         //  the federation agreement in force, NULL if none
    rh_peerlink_t *links [RH_MAX_FED_REGIONS];  //  to the other regions' brokers
    int link_tokens [RH_MAX_FED_REGIONS];       //  each link's connection token for rh_queue
    bool link_up [RH_MAX_FED_REGIONS];          //  each link's peer has let us in
    rh_peerlogs_t *peerlogs;       //  where the other regions' logs stand; our witnessing of them
    uint64_t peer_records_signed;  //  its records (rh_peerlogs_appended) at our last checkpoint
    size_t link_count;
    int next_link_token;
    rh_cases_t *cases;           //  referral lifecycles
    int64_t clock_offset;        //  added to the clock (tests: clock/offset_file)
    int64_t last_checkpoint_ms;  //  when the audit log was last checkpointed
    rh_checkpoint_t published;   //  the last checkpoint committed and sent to the agents
    rh_db_t *db;
    rh_audit_t *audit;
    rh_dedup_t *dedup;
    rh_verifier_t *verifier;
    rh_cosigner_t *cosigner;     //  submits checkpoints to witnesses (NULL: none configured)
    rh_queue_t *queue;           //  per-recipient queues and the agents bound to them
    rh_tracker_t *tracker;       //  the referral lifecycle
    rh_lateral_t *lateral;       //  lateral checks: information requests and responses
    rh_intake_t *intake;         //  verified messages: recipients, decisions, copies
    rh_backlog_t *backlog;       //  submissions waiting for a verify worker's credit
    rh_challenge_t *challenges;  //  professional challenges (issue 17)
    size_t max_batch;
    int64_t last_tick;
    int64_t next_retention_ms;  //  when retention erasure next runs (broker's clock)
    int retention_held;         //  payloads past retention the last run kept: legal hold...
    int retention_owed;         //  ...and still owed to a recipient
    uint64_t commits_seen;      //  commits the classes have been told of (rh_db_stats)
    rh_monitor_t *monitor;      //  metrics and health over HTTP (NULL: metrics/listen is off)
    rh_service_t *service;      //  READY, STATUS, WATCHDOG for systemd
    int64_t started_ms;         //  when the process started serving
    int64_t status_ms;          //  when systemd's STATUS= line was last brought up to date
};

//  The paths the monitor serves; each is answered by s_answer on the loop.
static const char *const s_monitor_paths [] = { "/metrics", "/healthz", "/readyz", "/status",
                                                NULL };

static void s_service_status (rh_broker_t *self, char *status, size_t size);

//  The broker's clock: real time, plus the test offset when clock/offset_file is set.
static int64_t
s_now (rh_broker_t *self)
{
    return rh_time_now_ms () + self->clock_offset;
}

int64_t
rh_broker_clock_offset (rh_config_t *config)
{
    return rh_time_offset_file (rh_config_str (config, "clock/offset_file"));
}

//  Tests move the clock by writing milliseconds into clock/offset_file; read once per tick.
static void
s_read_clock (rh_broker_t *self)
{
    int64_t offset = rh_broker_clock_offset (self->config);
    if (offset >= 0)
        self->clock_offset = offset;
}

//  What one retention run kept, by reason.
typedef struct {
    int held;  //  under an agreement's legal hold
    int owed;  //  still queued or dead-lettered for a recipient
} s_kept_t;

//  Counts what retention kept, and names each (ids only) at debug level.
static void
s_retention_report (void *arg, uint64_t seq, const char *msg_id, rh_erase_outcome_t outcome,
                    const char *why)
{
    s_kept_t *kept = arg;
    if (outcome == RH_ERASE_OWED || outcome == RH_ERASE_HELD) {
        *(outcome == RH_ERASE_OWED ? &kept->owed : &kept->held) += 1;
        rh_log_debug ("retention", "msg %s (record %" PRIu64 ") is past retention but kept: %s %s",
                      msg_id, seq,
                      outcome == RH_ERASE_OWED ? "undelivered, still owed to"
                                               : "under legal hold by agreement",
                      why);
    }
}

//  Erases the payloads past their agreement's retention (on the broker's clock), with the
//  ERASURE records and checkpoint committed first. Runs with nothing pending. Says what it
//  kept only when that changed, not at every run.
static void
s_retention (rh_broker_t *self, int64_t now)
{
    rh_eraser_t *eraser = rh_eraser_new (self->db, self->audit, self->policy);
    s_kept_t kept = { 0, 0 };
    int due = eraser ? rh_eraser_add_due (eraser, now) : -1;
    int erased = due > 0 ? rh_eraser_run (eraser, RH_ERASURE_RETENTION,
                                          "the retention periods of the agreements in force",
                                          self->signer, s_retention_report, &kept)
                         : due;
    if (due < 0 || erased < 0)
        rh_log_error ("retention", "retention erasure failed; nothing was erased");
    else if (erased > 0 || kept.held != self->retention_held || kept.owed != self->retention_owed)
        rh_log_info ("retention",
                     "%d message payloads past retention erased; kept %d under legal hold, %d "
                     "still owed to a recipient",
                     erased, kept.held, kept.owed);
    self->retention_held = kept.held;
    self->retention_owed = kept.owed;
    rh_eraser_destroy (&eraser);
}

//  A per-peer queue is bound to its link under this routing id and a connection token above
//  any descriptor (S_LINK_CONNECTION + a serial number per link started): the queue sends to
//  it as to an agent.
#define S_LINK_ROUTING    "~link:"
#define S_LINK_CONNECTION (1 << 30)

//  The link a routing id names, or NULL.
static rh_peerlink_t *
s_link_of (rh_broker_t *self, const uint8_t *routing_id, size_t routing_id_size)
{
    size_t prefix = strlen (S_LINK_ROUTING);
    if (routing_id_size <= prefix || memcmp (routing_id, S_LINK_ROUTING, prefix) != 0)
        return NULL;
    for (size_t i = 0; i < self->link_count; i++) {
        const char *region = rh_peerlink_region (self->links [i]);
        if (routing_id_size - prefix == strlen (region)
            && memcmp (routing_id + prefix, region, routing_id_size - prefix) == 0)
            return self->links [i];
    }
    return NULL;
}

//  The queue's transport: the router, now; or a link to another region's broker.
static int
s_send (void *arg, const uint8_t *routing_id, size_t routing_id_size, const rh_frame_t *frame)
{
    rh_broker_t *self = arg;
    rh_peerlink_t *link = s_link_of (self, routing_id, routing_id_size);
    if (link)
        return rh_peerlink_send (link, frame);
    return rh_router_send (self->router, routing_id, routing_id_size, frame);
}

//  The link to region, or NULL.
static rh_peerlink_t *
s_link_named (rh_broker_t *self, const char *region)
{
    for (size_t i = 0; i < self->link_count; i++)
        if (strcmp (rh_peerlink_region (self->links [i]), region) == 0)
            return self->links [i];
    return NULL;
}

//  Stops the index-th link; what it had in flight goes again on the region's next link.
static void
s_stop_link (rh_broker_t *self, size_t index)
{
    char queue [RH_MAX_ID + 1];
    snprintf (queue, sizeof queue, RH_PEER_QUEUE_PREFIX "%s",
              rh_peerlink_region (self->links [index]));
    rh_queue_connection_lost (self->queue, queue, self->link_tokens [index]);
    rh_log_info ("broker", "link to region %s stopped", rh_peerlink_region (self->links [index]));
    rh_peerlink_destroy (&self->links [index]);
    self->link_count--;
    self->links [index] = self->links [self->link_count];
    self->link_tokens [index] = self->link_tokens [self->link_count];
    self->link_up [index] = self->link_up [self->link_count];
}

//  Cross-witnessing follows the federation agreement in force: this broker witnesses the logs
//  of the other regions that name a log_origin (rh_peerlogs), and asks their brokers to
//  witness ours (rh_cosigner), when our region names one too.
static void
s_sync_witnessing (rh_broker_t *self, int64_t now)
{
    rh_peerlogs_sync (self->peerlogs, self->peers, now);
    if (!self->cosigner) {
        if (self->peers && rh_peers_own (self->peers)->log_origin)
            rh_log_warn ("broker", "federation: the agreement now names our log_origin; restart "
                                   "the broker to have the other regions witness our log");
        return;
    }
    const rh_federation_t *federation = self->peers ? rh_peers_federation (self->peers) : NULL;
    const rh_fed_region_t *own = self->peers ? rh_peers_own (self->peers) : NULL;
    for (size_t i = 0; federation && i < rh_federation_regions (federation); i++) {
        const rh_fed_region_t *region = rh_federation_region (federation, i);
        const rh_identity_t *broker =
            region != own ? rh_peers_broker_identity (self->peers, region, now) : NULL;
        rh_note_vkey_t vkey;
        if (own->log_origin && broker && region->log_origin
            && rh_note_vkey_make (region->log_origin, RH_NOTE_TYPE_COSIGNATURE, broker->sign_key,
                                  &vkey)
                   == RH_OK
            && rh_cosigner_peer_add (self->cosigner, region->name, &vkey) == 0)
            continue;
        rh_cosigner_peer_remove (self->cosigner, region->name);
    }
}

//  Sends each linked peer broker the witness request it is due for our latest checkpoint (one
//  out at a time per peer: the cosigner says when).
static void
s_witness_requests (rh_broker_t *self, int64_t now)
{
    for (size_t i = 0; self->cosigner && i < self->link_count; i++) {
        char *body = NULL;
        size_t size = 0;
        if (!self->link_up [i]
            || rh_cosigner_peer_request (self->cosigner, rh_peerlink_region (self->links [i]),
                                         &self->published, now, &body, &size)
                   != 1)
            continue;
        rh_frame_t frame = { .type = RH_FRAME_WITNESS_REQUEST,
                             .sealed = (const uint8_t *) body,
                             .sealed_size = size };
        rh_peerlink_send (self->links [i], &frame);  //  lost: asked again after the timeout
        free (body);
    }
}

//  Makes the links match the federation agreement in force: a link to each other region whose
//  broker's certificate its board gave ours, to the endpoint and key the agreement and that
//  certificate give now. A link whose region is gone, or whose endpoint or key changed, stops
//  (and is started again with the new ones). Called at start and after each reload.
static void
s_sync_links (rh_broker_t *self, const uint8_t public_key [RH_PUBKEY_LEN],
              const uint8_t secret_key [RH_PUBKEY_LEN])
{
    int64_t now = rh_time_now_ms ();
    const rh_federation_t *federation = self->peers ? rh_peers_federation (self->peers) : NULL;
    for (size_t i = self->link_count; i-- > 0;) {
        const char *name = rh_peerlink_region (self->links [i]);
        const rh_fed_region_t *region =
            federation ? rh_federation_region_named (federation, name) : NULL;
        const rh_identity_t *broker = region && region != rh_peers_own (self->peers)
                                          ? rh_peers_broker_identity (self->peers, region, now)
                                          : NULL;
        if (!broker || strcmp (region->broker_endpoint, rh_peerlink_endpoint (self->links [i]))
            || memcmp (broker->curve_key, rh_peerlink_peer_key (self->links [i]), RH_PUBKEY_LEN))
            s_stop_link (self, i);
    }
    int heartbeat = (int) rh_config_int (self->config, "net/heartbeat_ms");
    for (size_t i = 0; federation && i < rh_federation_regions (federation); i++) {
        const rh_fed_region_t *region = rh_federation_region (federation, i);
        if (region == rh_peers_own (self->peers) || s_link_named (self, region->name)
            || self->link_count >= RH_MAX_FED_REGIONS)
            continue;
        const rh_identity_t *broker = rh_peers_broker_identity (self->peers, region, now);
        if (!broker) {
            rh_log_warn ("broker",
                         "federation: no valid BROKER certificate %s of region %s under "
                         "pki/peers/%s: crossings to it wait in its queue",
                         region->broker_cn, region->name, region->name);
            continue;
        }
        rh_peerlink_t *link =
            rh_peerlink_new (self->context, region->name, region->broker_endpoint,
                             broker->curve_key, public_key, secret_key, heartbeat);
        if (link) {
            self->link_tokens [self->link_count] = S_LINK_CONNECTION + self->next_link_token++;
            self->link_up [self->link_count] = false;
            self->links [self->link_count++] = link;
        }
    }
    s_sync_witnessing (self, now);
}

//  Acts on what the links report: up binds the region's queue (everything unacknowledged goes
//  again, in order), down unbinds it, stored takes an entry off it.
static void
s_link_events (rh_broker_t *self, size_t index)
{
    rh_peerlink_t *link = self->links [index];
    char queue [RH_MAX_ID + 1], routing [RH_MAX_ID + 8];
    snprintf (queue, sizeof queue, RH_PEER_QUEUE_PREFIX "%s", rh_peerlink_region (link));
    snprintf (routing, sizeof routing, S_LINK_ROUTING "%s", rh_peerlink_region (link));
    int connection = self->link_tokens [index];
    rh_peerlink_event_t event;
    for (int i = 0; i < RH_PEER_CREDIT * 2 && rh_peerlink_event (link, &event) == 0; i++) {
        rh_acked_t acked;
        switch (event.kind) {
            case RH_PEERLINK_UP:
                rh_log_info ("broker", "link to region %s is up", rh_peerlink_region (link));
                self->link_up [index] = true;
                //  Where our log stands first, as an agent hears it at Hello.
                if (self->published.size) {
                    rh_frame_t checkpoint = { .type = RH_FRAME_CHECKPOINT,
                                              .checkpoint = self->published };
                    rh_peerlink_send (link, &checkpoint);
                }
                if (rh_queue_reserve (self->queue, queue) == 0)
                    rh_queue_bind (self->queue, queue, (const uint8_t *) routing, strlen (routing),
                                   connection, RH_PEER_CREDIT);
                break;
            case RH_PEERLINK_DOWN:
                rh_log_info ("broker", "link to region %s is down; crossings wait in its queue",
                             rh_peerlink_region (link));
                rh_queue_connection_lost (self->queue, queue, connection);
                self->link_up [index] = false;
                if (self->cosigner)
                    rh_cosigner_peer_lost (self->cosigner, rh_peerlink_region (link));
                break;
            case RH_PEERLINK_WAITING:
                //  It stays in the queue and goes again at the next redelivery (ids only).
                rh_log_warn ("broker", "region %s cannot take %s yet (%s): it stays queued",
                             rh_peerlink_region (link), event.msg_id, event.code);
                break;
            case RH_PEERLINK_WITNESSED:
                if (self->cosigner)
                    rh_cosigner_peer_answer (self->cosigner, rh_peerlink_region (link),
                                             (long) event.status, event.body, event.body_size,
                                             rh_time_now_ms ());
                break;
            case RH_PEERLINK_STORED:
                rh_queue_ack (self->queue, queue, event.delivery_id, &acked);
                break;
            case RH_PEERLINK_REFUSED: {
                //  The other region refused it for good (its border or its agreements): it
                //  leaves the queue, and the refusal is on record here.
                char detail [RH_MAX_REASON * 2];
                snprintf (detail, sizeof detail, "region %s refused it: %s %s",
                          rh_peerlink_region (link), event.code, event.reason);
                rh_audit_event (self->audit, "FORWARD_REFUSED", RH_E_POLICY, event.msg_id, queue,
                                NULL, 0, NULL, 0, NULL, detail);
                rh_log_warn ("broker", "region %s refused %s: %s", rh_peerlink_region (link),
                             event.msg_id, event.code);
                char sender [RH_MAX_ID + 1];
                if (rh_queue_ack (self->queue, queue, event.delivery_id, &acked) == 1
                    && rh_dedup_sender_of (self->dedup, event.msg_id, sender)) {
                    //  Its sender was told "accepted for forwarding": now it is told it was not
                    //  delivered, and why, as for any message given up on.
                    char summary_en [512], summary_cy [512];
                    snprintf (summary_en, sizeof summary_en,
                              "Your message %s could not be delivered: region %s refused it (%s: "
                              "%s). Please contact them another way if it is still needed.",
                              event.msg_id, rh_peerlink_region (link), event.code, event.reason);
                    snprintf (summary_cy, sizeof summary_cy,
                              "Nid oedd modd danfon eich neges %s: gwrthododd rhanbarth %s hi "
                              "(%s: %s). Cysylltwch â nhw mewn ffordd arall os oes ei hangen o "
                              "hyd.",
                              event.msg_id, rh_peerlink_region (link), event.code, event.reason);
                    rh_queue_alert_t alert = { .to = sender,
                                               .alert_kind = "NON_DELIVERY",
                                               .summary_en = summary_en,
                                               .summary_cy = summary_cy,
                                               .in_reply_to = event.msg_id,
                                               .detail = "non-delivery notice: refused by the "
                                                         "other region" };
                    rh_queue_send_alert (self->queue, &alert, s_now (self));
                }
                break;
            }
            default:
                break;
        }
    }
}

//  Hands a submission to a verify worker if one has credit and nothing is waiting before it,
//  else parks it; past the backlog's bounds the agent is told to send it again later. Never
//  waits for a worker.
static void
s_submit (rh_broker_t *self, const uint8_t *routing_id, size_t routing_id_size, const char *agency,
          const char *msg_id, const uint8_t *sealed, size_t size)
{
    //  A resend of what was accepted (its acknowledgement was lost, or came late) is answered
    //  here: verifying it again would cost a worker's time for nothing, and a broker slowed by
    //  load would fall further behind under its own agents' resends.
    if (rh_dedup_is_resend (self->dedup, agency, msg_id, sealed, size)) {
        uint8_t sealed_hash [RH_DIGEST_LEN];
        rh_sha256 (sealed_hash, sealed, size);
        rh_audit_event (self->audit, "DUPLICATE", RH_OK, msg_id, agency, NULL, 0, NULL, 0,
                        sealed_hash, "seen before; acknowledged again without a second check");
        rh_router_reply (self->router, routing_id, routing_id_size, msg_id, RH_OK, true, NULL);
        return;
    }
    if (rh_backlog_size (self->backlog) == 0 && rh_verifier_has_room (self->verifier)) {
        int rc = rh_verifier_submit (self->verifier, routing_id, routing_id_size, agency, msg_id,
                                     sealed, size);
        if (rc == RH_VERIFIER_QUEUED)
            return;
        if (rc == RH_VERIFIER_REFUSED) {
            rh_router_reply (self->router, routing_id, routing_id_size, msg_id, RH_E_MALFORMED,
                             false, "the submission cannot be taken");
            return;
        }
    }
    if (rh_backlog_park (self->backlog, routing_id, routing_id_size, agency, msg_id, sealed, size)
        != 0)
        rh_router_reply (self->router, routing_id, routing_id_size, msg_id, RH_E_BUSY, false, NULL);
}

//  Moves parked submissions to the verify workers while they have credit.
static void
s_feed_verifier (rh_broker_t *self)
{
    const rh_parked_t *parked;
    while ((parked = rh_backlog_peek (self->backlog)) && rh_verifier_has_room (self->verifier)) {
        int rc = rh_verifier_submit (self->verifier, parked->routing_id, parked->routing_id_size,
                                     parked->agency, parked->msg_id, parked->sealed,
                                     parked->sealed_size);
        if (rc == RH_VERIFIER_BUSY)
            return;
        if (rc == RH_VERIFIER_REFUSED)
            rh_router_reply (self->router, parked->routing_id, parked->routing_id_size,
                             parked->msg_id, RH_E_MALFORMED, false,
                             "the submission cannot be taken");
        rh_backlog_pop (self->backlog);
    }
}

//  A frame from another region's broker on its link: a Submit carries a sender's original
//  sealed bytes, verified on the verify workers like an agent's (against that region's board's
//  certificates, pki/peers/REGION) and then decided by s_accept_peer. Its Accepted leaves after
//  the commit, like an agent's: the peer keeps the message until then.
static void
s_from_peer (rh_broker_t *self, rh_inbound_t *in)
{
    const rh_frame_t *frame = &in->frame;
    const char *name = in->agency + strlen (RH_PEER_QUEUE_PREFIX);
    if (frame->type == RH_FRAME_HELLO)
        return;  //  the link's first frame: nothing to bind, nothing is delivered to it
    if (frame->type == RH_FRAME_CHECKPOINT) {
        const rh_fed_region_t *region =
            self->peers ? rh_federation_region_named (rh_peers_federation (self->peers), name)
                        : NULL;
        rh_certstore_t *store = region ? rh_peers_store (self->peers, region) : NULL;
        if (store)
            rh_peerlogs_checkpoint (self->peerlogs, region, store, &frame->checkpoint,
                                    rh_time_now_ms ());
        return;
    }
    if (frame->type == RH_FRAME_WITNESS_REQUEST) {
        rh_peerlogs_witness (self->peerlogs, name, in->routing_id, in->routing_id_size,
                             frame->sealed, frame->sealed_size, rh_time_now_ms ());
        return;
    }
    if (frame->type != RH_FRAME_SUBMIT) {
        rh_router_reply (self->router, in->routing_id, in->routing_id_size, "", RH_E_MALFORMED,
                         false,
                         "another region's broker may send Hello, Submit, Checkpoint and "
                         "WitnessRequest only");
        return;
    }
    s_submit (self, in->routing_id, in->routing_id_size, in->agency, frame->msg_id, frame->sealed,
              frame->sealed_size);
}

//  A verified message another region's broker forwarded: decided at the border and under the
//  agreements by rh_intake_accept_peer, if the federation in force still names that region.
static void
s_accept_peer (rh_broker_t *self, rh_verified_t *result)
{
    const rh_fed_region_t *region =
        self->peers ? rh_federation_region_named (rh_peers_federation (self->peers), result->region)
                    : NULL;
    if (!region || region == rh_peers_own (self->peers)) {
        rh_router_reply (self->router, result->routing_id, result->routing_id_size, result->msg_id,
                         RH_E_CERT_UNKNOWN, false,
                         "no federation agreement in force names this region");
        return;
    }
    //  The worker verified the signature; the sender's certificate, from the same folder, is
    //  looked up again here for the decisions (no cryptography).
    rh_certstore_t *store = rh_peers_store (self->peers, region);
    const rh_identity_t *sender =
        result->rc == RH_OK && store
            ? rh_certstore_enrolled (store, result->agency, rh_time_now_ms ())
            : NULL;
    rh_intake_accept_peer (self->intake, result, region, sender,
                           rh_peerlogs_size (self->peerlogs, region->name), s_now (self));
}

//  Acts on one frame an agent sent.
static void
s_dispatch (rh_broker_t *self, rh_inbound_t *in)
{
    const char *agency = in->agency;
    const uint8_t *routing_id = in->routing_id;
    size_t routing_id_size = in->routing_id_size;
    const rh_frame_t *frame = &in->frame;
    if (strncmp (agency, RH_PEER_QUEUE_PREFIX, strlen (RH_PEER_QUEUE_PREFIX)) == 0) {
        s_from_peer (self, in);
        return;
    }
    switch (frame->type) {
        case RH_FRAME_HELLO: {
            //  A routing id a link's queue is bound under is never an agent's.
            if (s_link_of (self, routing_id, routing_id_size)
                || rh_queue_reserve (self->queue, agency) != 0)
                break;
            rh_dedup_set_floor (self->dedup, agency, frame->low_sequence);
            //  The trust bundle first: what is delivered next may need it to verify.
            const rh_bundle_t *bundle = rh_trust_bundle (self->trust);
            if (bundle) {
                size_t size = 0;
                rh_frame_t push = { .type = RH_FRAME_BUNDLE };
                push.sealed = rh_bundle_signed (bundle, &size);
                push.sealed_size = size;
                rh_router_send (self->router, routing_id, routing_id_size, &push);
            }
            //  Binding offers again what the agent could not verify: a restarted agent may
            //  trust more now.
            rh_queue_bind (self->queue, agency, routing_id, routing_id_size, in->connection,
                           frame->credit);
            //  The agent checks that the log it saw last is still the beginning of this one.
            if (self->published.size) {
                rh_frame_t checkpoint = { .type = RH_FRAME_CHECKPOINT,
                                          .checkpoint = self->published };
                rh_router_send (self->router, routing_id, routing_id_size, &checkpoint);
            }
            break;
        }
        case RH_FRAME_PROOF_REQUEST: {
            uint8_t hashes [RH_MERKLE_MAX_PROOF][RH_DIGEST_LEN];
            int count = frame->from_size >= 1 && frame->from_size <= frame->to_size
                                && frame->to_size <= self->published.size
                            ? rh_audit_consistency_proof (self->db, frame->from_size,
                                                          frame->to_size, hashes)
                            : -1;
            if (count < 0)
                break;  //  not a tree the broker published: nothing to prove
            rh_frame_t proof = { .type = RH_FRAME_PROOF,
                                 .from_size = frame->from_size,
                                 .to_size = frame->to_size,
                                 .hashes = (const uint8_t *) hashes,
                                 .hash_count = (size_t) count };
            rh_router_send (self->router, routing_id, routing_id_size, &proof);
            break;
        }
        case RH_FRAME_SUBMIT:
            s_submit (self, routing_id, routing_id_size, agency, frame->msg_id, frame->sealed,
                      frame->sealed_size);
            break;
        case RH_FRAME_DELIVERED: {
            if (!rh_queue_bound_to (self->queue, agency, routing_id, routing_id_size))
                break;
            int64_t now = s_now (self);
            for (size_t i = 0; i < frame->id_count; i++) {
                rh_acked_t acked;
                if (rh_queue_ack (self->queue, agency, frame->ids [i], &acked) == 1)
                    rh_tracker_taken_in (self->tracker, acked.kind, acked.msg_id, agency, now);
            }
            break;
        }
        case RH_FRAME_UNVERIFIED: {
            //  Not taken in: no receipt, the message stays queued and is offered again.
            if (!rh_queue_bound_to (self->queue, agency, routing_id, routing_id_size))
                break;
            int64_t now = s_now (self);
            rh_acked_t which;
            if (rh_queue_unverified (self->queue, agency, frame->delivery_id, frame->code,
                                     frame->reason, now, &which)
                == 1)
                rh_tracker_unverified (self->tracker, which.kind, which.msg_id, agency, which.code,
                                       now);
            break;
        }
        default:
            rh_router_reply (self->router, routing_id, routing_id_size, "", RH_E_MALFORMED, false,
                             "agents may send Hello, Submit, Delivered, Unverified and "
                             "ProofRequest only");
            break;
    }
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

//  The federation agreement of federation/file, if one is configured. Returns 0 with *peers
//  NULL when none is, 0 with it loaded, or -1 (logged, why set) when it does not load.
static int
s_load_peers (rh_broker_t *self, rh_peers_t **peers, char *why, size_t why_size)
{
    *peers = NULL;
    const char *file = rh_config_str (self->config, "federation/file");
    if (!*file)
        return 0;
    char errors [8192] = "";
    *peers = rh_peers_load (file, rh_config_str (self->config, "federation/region"), self->pki_dir,
                            s_now (self), errors, sizeof errors);
    if (!*peers) {
        for (char *line = errors, *end; *line; line = end + 1) {
            if (!(end = strchr (line, '\n')))
                break;
            *end = 0;
            rh_log_error ("broker", "federation: %s", line);
            if (line == errors)
                snprintf (why, why_size, "%s", line);
        }
        return -1;
    }
    const char *log_origin = rh_peers_own (*peers)->log_origin;
    if (log_origin && strcmp (log_origin, rh_config_str (self->config, "witness/origin")) != 0) {
        //  The other regions' brokers witness our log under the name the agreement gives it:
        //  our checkpoints must carry that origin, or no cosignature of theirs would verify.
        snprintf (why, why_size,
                  "federation: the agreement names log_origin %s for region %s, but "
                  "witness/origin is '%s': set witness/origin to it",
                  log_origin, rh_peers_own (*peers)->name,
                  rh_config_str (self->config, "witness/origin"));
        rh_log_error ("broker", "%s", why);
        rh_peers_destroy (peers);
        return -1;
    }
    const rh_federation_t *federation = rh_peers_federation (*peers);
    char detail [300];
    snprintf (detail, sizeof detail, "federation %s v%u region %s", rh_federation_id (federation),
              rh_federation_version (federation), rh_peers_own (*peers)->name);
    rh_log_info ("broker", "federation agreement %s version %u in force as region %s (%zu regions)",
                 rh_federation_id (federation), rh_federation_version (federation),
                 rh_peers_own (*peers)->name, rh_federation_regions (federation));
    rh_audit_event (self->audit, "FEDERATION_LOADED", RH_OK, NULL, NULL, NULL, 0, NULL, 0, NULL,
                    detail);
    return 0;
}

//  The trust bundle file the broker pushes: pki/bundle, or bundle.rhb in pki/dir.
static void
s_bundle_path (rh_broker_t *self, char *path, size_t size)
{
    const char *configured = rh_config_str (self->config, "pki/bundle");
    if (*configured)
        snprintf (path, size, "%s", configured);
    else
        rh_file_path (path, size, "%s/%s", self->pki_dir, RH_BUNDLE_FILE);
}

//  Loads the board's newest trust bundle, if there is one, and sends it to every connected
//  agent when it is newer than the one in force. A bundle that is older (a rollback) or does
//  not verify is refused and audited; the one in force stays.
static void
s_load_bundle (rh_broker_t *self)
{
    char path [PATH_MAX], detail [RH_MAX_REASON];
    s_bundle_path (self, path, sizeof path);
    if (!*rh_config_str (self->config, "pki/bundle") && !rh_file_exists (path))
        return;  //  a board that makes no bundles: agents trust their PKI folders
    bool adopted = false;
    rh_rc_t rc = rh_trust_offer_file (self->trust, path, &adopted);
    if (rc != RH_OK) {
        snprintf (detail, sizeof detail,
                  "trust bundle %.160s refused (%s: %s); version %" PRIu64 " stays", path,
                  rh_rc_name (rc),
                  rc == RH_E_REPLAY ? "older than the one in force, a rollback" : rh_rc_text (rc),
                  rh_trust_version (self->trust));
        rh_log_error ("broker", "%s", detail);
        rh_audit_event (self->audit, "BUNDLE_REFUSED", rc, NULL, NULL, NULL, 0, NULL, 0, NULL,
                        detail);
        return;
    }
    if (!adopted)
        return;
    const rh_bundle_t *bundle = rh_trust_bundle (self->trust);
    char expires [32];
    snprintf (detail, sizeof detail,
              "trust bundle version %" PRIu64 ": %zu certificates, %zu agreements, expires %s",
              rh_bundle_version (bundle), rh_bundle_certificates (bundle),
              rh_bundle_agreements (bundle),
              rh_time_format (rh_bundle_expires_ms (bundle), expires, sizeof expires));
    rh_log_info ("broker", "%s", detail);
    rh_audit_event (self->audit, "BUNDLE_LOADED", RH_OK, NULL, NULL, NULL, 0, NULL, 0, NULL,
                    detail);
    if (self->queue) {
        size_t size = 0;
        rh_frame_t frame = { .type = RH_FRAME_BUNDLE };
        frame.sealed = rh_bundle_signed (bundle, &size);
        frame.sealed_size = size;
        rh_queue_broadcast (self->queue, &frame);
        //  What agents could not verify may verify now: offered again, after the bundle.
        rh_queue_reoffer_unverified (self->queue, NULL);
    }
    self->trust_checked_ms = 0;  //  look at its expiry on the next tick
}

//  Tells the auditors of every agreement in force (the parties with the role "auditor"), each
//  once, that the board's CRL or trust bundle is about to expire or has: they answer to the
//  board, which re-issues them.
static void
s_alert_auditors (rh_broker_t *self, const char *what, bool expired, const char *when, int64_t now)
{
    const char *told [RH_MAX_AGENCIES];
    size_t told_count = 0;
    bool crl = strcmp (what, "the CRL") == 0;
    char en [RH_MAX_REASON * 2], cy [RH_MAX_REASON * 2];
    snprintf (en, sizeof en,
              "The safeguarding board's %s %s %s. %s Ask the board to re-issue it "
              "(rhannu-ca crl, rhannu-ca bundle) and to reload the broker.",
              crl ? "certificate revocation list" : "trust bundle", expired ? "expired" : "expires",
              when,
              crl ? "Without a current list no agency can be shown unrevoked."
                  : "Agents stop sending and receiving when it has expired.");
    snprintf (cy, sizeof cy,
              "Mae %s y bwrdd diogelu %s %s. %s Gofynnwch i'r bwrdd ei ailgyhoeddi "
              "(rhannu-ca crl, rhannu-ca bundle) ac ail-lwytho'r brocer.",
              crl ? "rhestr dirymu tystysgrifau" : "bwndel ymddiriedaeth",
              expired ? "wedi dod i ben ar" : "yn dod i ben ar", when,
              crl ? "Heb restr gyfredol ni ellir dangos nad yw unrhyw asiantaeth wedi'i dirymu."
                  : "Mae asiantau'n peidio ag anfon a derbyn pan ddaw i ben.");
    for (size_t a = 0; self->policy && a < rh_policy_size (self->policy); a++) {
        const char *ids [RH_MAX_REPEATED];
        size_t count = rh_agreement_parties_with_role (rh_policy_agreement (self->policy, a),
                                                       "auditor", ids, RH_MAX_REPEATED);
        for (size_t i = 0; i < count && told_count < RH_MAX_AGENCIES; i++) {
            bool seen = false;
            for (size_t t = 0; t < told_count && !seen; t++)
                seen = strcmp (told [t], ids [i]) == 0;
            if (seen)
                continue;
            told [told_count++] = ids [i];
            rh_queue_alert_t alert = { .to = ids [i],
                                       .alert_kind = "TRUST_EXPIRING",
                                       .summary_en = en,
                                       .summary_cy = cy,
                                       .detail = crl ? "CRL expiry alert" : "bundle expiry alert" };
            rh_queue_send_alert (self->queue, &alert, now);
        }
    }
}

//  Warns, once a day, while the CRL or the trust bundle is within pki/warn_days of expiry (or
//  past it): a stale CRL stops every signer, an expired bundle stops every agent.
static void
s_check_trust_expiry (rh_broker_t *self, int64_t now)
{
    if (self->trust_checked_ms && now - self->trust_checked_ms < 24LL * 3600 * 1000)
        return;
    self->trust_checked_ms = now;
    int64_t warn_ms = rh_config_int (self->config, "pki/warn_days") * 24LL * 3600 * 1000;
    struct {
        const char *what;
        int64_t expires_ms;
    } items [] = {
        { "the CRL", rh_certstore_crl_next_update (self->store) },
        { "the trust bundle", rh_trust_bundle (self->trust)
                                  ? rh_bundle_expires_ms (rh_trust_bundle (self->trust))
                                  : 0 },
    };
    for (size_t i = 0; i < sizeof items / sizeof items [0]; i++) {
        if (items [i].expires_ms == 0 || items [i].expires_ms - now > warn_ms)
            continue;
        char when [32], detail [RH_MAX_REASON];
        rh_time_format (items [i].expires_ms, when, sizeof when);
        snprintf (detail, sizeof detail,
                  "%s %s %s: re-issue it (rhannu-ca crl, rhannu-ca bundle) "
                  "and reload the broker",
                  items [i].what, items [i].expires_ms <= now ? "expired" : "expires", when);
        rh_log_warn ("broker", "%s", detail);
        rh_audit_event (self->audit, "TRUST_EXPIRING",
                        items [i].expires_ms <= now ? RH_E_EXPIRED : RH_OK, NULL, NULL, NULL, 0,
                        NULL, 0, NULL, detail);
        s_alert_auditors (self, items [i].what, items [i].expires_ms <= now, when, now);
    }
}

//  Closes every session whose own certificate is no longer valid now (revocation is by
//  certificate, not by name: an agency holding a newer certificate keeps its sessions on it),
//  and notes when a certificate's status next changes by the clock alone (a rotation's overlap
//  ending), to look again then.
static void
s_close_invalid_sessions (rh_broker_t *self)
{
    rh_lost_t closed [64];
    size_t count;
    do {
        count = rh_router_close_invalid (self->router, rh_time_now_ms (), closed, 64);
        for (size_t i = 0; i < count; i++) {
            //  Unbound now, not when the disconnection is reported: nothing more leaves for it.
            rh_queue_connection_lost (self->queue, closed [i].agency, closed [i].connection);
            rh_log_warn (
                "broker",
                "%s: a session's certificate is no longer valid; closed it (descriptor %d)",
                closed [i].agency, closed [i].connection);
            rh_audit_event (self->audit, "DISCONNECTED", RH_E_REVOKED, NULL, closed [i].agency,
                            NULL, 0, NULL, 0, NULL, "the session's certificate is no longer valid");
        }
    } while (count == 64);
    self->next_change_ms = rh_certstore_next_change (self->store, rh_time_now_ms ());
}

//  Reloads the agreements, the CRL and the certificates, and closes every session whose own
//  certificate is no longer valid (revocation is by certificate, not by name: an agency holding
//  a newer certificate keeps its sessions on it). Nothing else is disconnected.
static void
s_reload (rh_broker_t *self)
{
    rh_log_info ("broker", "reloading the agreements and the PKI");
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
    rh_peers_t *peers = NULL;
    if (s_load_peers (self, &peers, why, sizeof why) == 0) {
        rh_peers_destroy (&self->peers);
        self->peers = peers;
        //  The links follow: the broker's own keys are read again for any link that starts.
        char identity [PATH_MAX];
        uint8_t curve_public [RH_PUBKEY_LEN], curve_secret [RH_PUBKEY_LEN];
        rh_file_path (identity, sizeof identity, "%s/%s", self->pki_dir,
                      rh_config_str (self->config, "pki/identity"));
        if (rh_ca_load_curve (identity, curve_public, curve_secret) == 0)
            s_sync_links (self, curve_public, curve_secret);
        else
            rh_log_error ("broker", "cannot read the broker's keys; the links stay as they are");
        sodium_memzero (curve_secret, sizeof curve_secret);
    }
    else {
        rh_log_error ("broker",
                      "federation reload failed; the federation agreement in force stays");
        rh_audit_event (self->audit, "FEDERATION_RELOAD_FAILED", RH_E_POLICY, NULL, NULL, NULL, 0,
                        NULL, 0, NULL, why);
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
    s_load_bundle (self);
    s_close_invalid_sessions (self);
    rh_log_info ("broker", "reloaded PKI: %zu certificates", rh_certstore_size (self->store));
}

//  Signs a checkpoint of the audit log when enough records or time have passed since the last.
static void
s_checkpoint (rh_broker_t *self, int64_t now, bool force)
{
    uint64_t size = rh_audit_size (self->audit);
    uint64_t last = rh_audit_checkpointed (self->audit);
    uint64_t peer_records = rh_peerlogs_appended (self->peerlogs) - self->peer_records_signed;
    if (size == last || (!force && size - last <= peer_records))
        return;  //  nothing, or only records of the other regions' checkpoints (rh_peerlogs)
    if (!force && size - last < (uint64_t) rh_config_int (self->config, "audit/checkpoint_every")
        && now - self->last_checkpoint_ms < rh_config_int (self->config, "audit/checkpoint_ms"))
        return;
    if (rh_audit_checkpoint (self->audit, self->signer, rh_time_now_ms ()) != 0)
        rh_log_error ("broker", "cannot sign an audit checkpoint");
    self->last_checkpoint_ms = now;
    self->peer_records_signed = rh_peerlogs_appended (self->peerlogs);
}

//  Sends a newly committed checkpoint to every connected agent.
static void
s_publish_checkpoint (rh_broker_t *self)
{
    rh_checkpoint_t last;
    if (!rh_audit_last_checkpoint (self->audit, &last)
        || (last.size == self->published.size
            && strcmp (last.cosignatures, self->published.cosignatures) == 0))
        return;  //  nothing new: neither a checkpoint nor a cosignature
    self->published = last;
    rh_frame_t frame = { .type = RH_FRAME_CHECKPOINT, .checkpoint = last };
    rh_queue_broadcast (self->queue, &frame);
}

static void
s_tick (rh_broker_t *self, int64_t now)
{
    //  The watchdog is fed from the loop itself: a loop that stops turning is restarted.
    rh_service_tick (self->service, rh_time_now_ms ());
    if (rh_time_now_ms () - self->status_ms >= RH_SERVICE_STATUS_MS) {
        char status [160];
        s_service_status (self, status, sizeof status);
        rh_service_status (self->service, status);
        self->status_ms = rh_time_now_ms ();
    }
    s_read_clock (self);
    s_checkpoint (self, rh_time_now_ms (), false);
    rh_tracker_fire (self->tracker, s_now (self));
    rh_lateral_fire (self->lateral, s_now (self));
    rh_challenge_fire (self->challenges, s_now (self));
    rh_queue_redeliver (self->queue, now);
    rh_router_tick (self->router, rh_time_now_ms (), false);
    s_check_trust_expiry (self, now);
    if (self->next_change_ms && rh_time_now_ms () >= self->next_change_ms)
        s_close_invalid_sessions (self);  //  e.g. a rotation's overlap has just ended
    if (self->cosigner)
        rh_cosigner_tick (self->cosigner, &self->published, rh_time_now_ms ());
}

//  --- Figures: metrics, health, status --------------------------------------------------------

//  Sums of the per-agency queue figures, for systemd's status line and the totals.
typedef struct {
    size_t agencies;
    size_t connected;
    uint64_t queued;
    uint64_t dead_letters;
} s_totals_t;

static void
s_add_totals (void *arg, const rh_queue_figures_t *figures)
{
    s_totals_t *totals = arg;
    if (strncmp (figures->agency, RH_PEER_QUEUE_PREFIX, strlen (RH_PEER_QUEUE_PREFIX)) == 0)
        return;  //  another region's queue: its link is no agency (rhannu_broker_peer_*)
    totals->agencies++;
    totals->connected += figures->connected;
    totals->queued += figures->queued;
    totals->dead_letters += figures->dead_letters;
}

//  "3 agencies connected, 12 queued, 0 dead letters": what `systemctl status` shows.
static void
s_service_status (rh_broker_t *self, char *status, size_t size)
{
    s_totals_t totals = { 0 };
    rh_queue_figures (self->queue, s_add_totals, &totals);
    snprintf (status, size, "%zu agenc%s connected, %" PRIu64 " queued, %" PRIu64 " dead letter%s",
              totals.connected, totals.connected == 1 ? "y" : "ies", totals.queued,
              totals.dead_letters, totals.dead_letters == 1 ? "" : "s");
}

//  Why the broker is not ready to take referrals, or NULL when it is: the store can be written,
//  agreements are in force and the CRL is current.
static const char *
s_not_ready (rh_broker_t *self, char *why, size_t size)
{
    const char *dir = rh_config_str (self->config, "data/dir");
    char probe [PATH_MAX];
    rh_file_path (probe, sizeof probe, "%s/.ready-probe", dir);
    int fd = open (probe, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    struct statvfs space;
    if (fd < 0) {
        snprintf (why, size, "store not writable: %s", strerror (errno));
        return why;
    }
    close (fd);
    unlink (probe);
    if (statvfs (dir, &space) == 0 && space.f_bavail == 0) {
        snprintf (why, size, "store not writable: its file system is full");
        return why;
    }
    if (rh_db_stats (self->db)->failed_commits > 0) {
        snprintf (why, size, "store not writable: a commit failed");
        return why;
    }
    if (!self->policy || rh_policy_size (self->policy) == 0) {
        snprintf (why, size, "no sharing agreements in force");
        return why;
    }
    int64_t crl = rh_certstore_crl_next_update (self->store);
    if (crl == 0) {
        snprintf (why, size, "no CRL loaded");
        return why;
    }
    if (crl <= s_now (self)) {
        char when [32];
        snprintf (why, size, "CRL expired %s: re-issue it and reload",
                  rh_time_format (crl, when, sizeof when));
        return why;
    }
    return NULL;
}

//  The queue figures of one rendering, read once: every family is written from this copy.
typedef struct {
    rh_queue_figures_t *rows;       //  one per agency
    char (*names) [RH_MAX_ID + 1];  //  their agency names, copied
    size_t count;
    size_t capacity;
    bool failed;  //  out of memory: the rendering fails
} s_figures_t;

static void
s_keep_figures (void *arg, const rh_queue_figures_t *figures)
{
    s_figures_t *kept = arg;
    if (kept->failed)
        return;
    if (kept->count == kept->capacity) {
        size_t capacity = kept->capacity ? kept->capacity * 2 : 16;
        rh_queue_figures_t *rows = realloc (kept->rows, capacity * sizeof *rows);
        if (rows)
            kept->rows = rows;
        char (*names) [RH_MAX_ID + 1] = realloc (kept->names, capacity * sizeof *names);
        if (names)
            kept->names = names;
        if (!rows || !names) {
            kept->failed = true;
            return;
        }
        kept->capacity = capacity;
    }
    snprintf (kept->names [kept->count], sizeof kept->names [0], "%s", figures->agency);
    kept->rows [kept->count] = *figures;
    kept->count++;
}

typedef struct {
    rh_prom_t *prom;
    int64_t now;
    const char *family;  //  the family being written
    const char *label;   //  its label: "agency", or "region" for the other regions' queues
} s_render_t;

static void
s_agency_connected (void *arg, const rh_queue_figures_t *figures)
{
    s_render_t *render = arg;
    rh_prom_sample (render->prom, render->family, render->label, figures->agency,
                    figures->connected);
}

static void
s_agency_queued (void *arg, const rh_queue_figures_t *figures)
{
    s_render_t *render = arg;
    rh_prom_sample (render->prom, render->family, render->label, figures->agency,
                    (double) figures->queued);
}

static void
s_agency_oldest (void *arg, const rh_queue_figures_t *figures)
{
    s_render_t *render = arg;
    double age = figures->oldest_ms && render->now > figures->oldest_ms
                     ? (double) (render->now - figures->oldest_ms) / 1000.0
                     : 0;
    rh_prom_sample (render->prom, render->family, render->label, figures->agency, age);
}

static void
s_agency_in_flight (void *arg, const rh_queue_figures_t *figures)
{
    s_render_t *render = arg;
    rh_prom_sample (render->prom, render->family, render->label, figures->agency,
                    (double) figures->in_flight);
}

static void
s_agency_dead (void *arg, const rh_queue_figures_t *figures)
{
    s_render_t *render = arg;
    rh_prom_sample (render->prom, render->family, render->label, figures->agency,
                    (double) figures->dead_letters);
}

//  One labelled family per agency figure, from the figures read once: the agencies' queues, or
//  (regions) the queues of the other regions' links, labelled by region.
static void
s_agency_family (const s_figures_t *kept, s_render_t *render, const char *name, const char *help,
                 rh_queue_figures_fn *fn, bool regions)
{
    size_t prefix = strlen (RH_PEER_QUEUE_PREFIX);
    render->family = name;
    render->label = regions ? "region" : "agency";
    rh_prom_family (render->prom, name, "gauge", help);
    for (size_t i = 0; i < kept->count; i++) {
        bool region = strncmp (kept->names [i], RH_PEER_QUEUE_PREFIX, prefix) == 0;
        if (region != regions)
            continue;
        rh_queue_figures_t row = kept->rows [i];
        row.agency = kept->names [i] + (region ? prefix : 0);
        fn (render, &row);
    }
}

static char *
s_render_metrics (rh_broker_t *self, size_t *size)
{
    rh_prom_t *prom = rh_prom_new ();
    if (!prom)
        return NULL;
    int64_t now = s_now (self);
    s_render_t render = { .prom = prom, .now = now };
    s_totals_t totals = { 0 };
    s_figures_t kept = { 0 };
    rh_queue_figures (self->queue, s_keep_figures, &kept);
    for (size_t i = 0; i < kept.count; i++)
        s_add_totals (&totals, &kept.rows [i]);
    rh_prom_gauge (prom, "rhannu_broker_agencies_connected", "Agencies with a connected agent.",
                   (double) totals.connected);
    static const struct {
        const char *name, *help;
        rh_queue_figures_fn *fn;
        bool regions;
    } families [] = {
        { "rhannu_broker_agency_connected", "1 if the agency's agent is connected, else 0.",
          s_agency_connected, false },
        { "rhannu_broker_queue_depth",
          "Messages stored for the agency and not yet acknowledged by its agent.", s_agency_queued,
          false },
        { "rhannu_broker_queue_oldest_age_seconds",
          "Age of the oldest message waiting for the agency (0: none waits).", s_agency_oldest,
          false },
        { "rhannu_broker_queue_in_flight",
          "Deliveries sent to the agency's agent and not yet acknowledged.", s_agency_in_flight,
          false },
        { "rhannu_broker_dead_letters",
          "Messages for the agency given up on (rhannu-broker dead-letters).", s_agency_dead,
          false },
        { "rhannu_broker_peer_link_up",
          "1 if the link to the region's broker is up (federation), else 0.", s_agency_connected,
          true },
        { "rhannu_broker_peer_queue_depth",
          "Crossings stored for the region and not yet stored by its broker.", s_agency_queued,
          true },
        { "rhannu_broker_peer_queue_oldest_age_seconds",
          "Age of the oldest crossing waiting for the region (0: none waits).", s_agency_oldest,
          true },
        { "rhannu_broker_peer_dead_letters",
          "Crossings for the region given up on (rhannu-broker dead-letters).", s_agency_dead,
          true },
    };
    for (size_t i = 0; i < sizeof families / sizeof families [0]; i++)
        s_agency_family (&kept, &render, families [i].name, families [i].help, families [i].fn,
                         families [i].regions);
    uint64_t duplicates = 0;
    const uint64_t *results = rh_router_results (self->router, &duplicates);
    rh_prom_family (prom, "rhannu_broker_submissions_total", "counter",
                    "Submissions answered, by result: RH_OK accepted, anything else refused.");
    for (int rc = 0; rc < RH_RC_COUNT; rc++)
        rh_prom_sample (prom, "rhannu_broker_submissions_total", "result",
                        rh_rc_name ((rh_rc_t) rc), (double) results [rc]);
    rh_prom_counter (prom, "rhannu_broker_duplicates_total",
                     "Accepted submissions that were duplicates of a stored message.",
                     (double) duplicates);
    const rh_db_stats_t *db = rh_db_stats (self->db);
    rh_prom_histogram (prom, "rhannu_broker_commit_batch_size",
                       "Writes per group commit to the store.", rh_db_batch_bounds,
                       db->batch_counts, RH_DB_BATCH_BUCKETS, (double) db->batch_sum);
    rh_prom_histogram (prom, "rhannu_broker_commit_duration_seconds",
                       "Time one group commit to the store took.", rh_db_latency_bounds,
                       db->latency_counts, RH_DB_LATENCY_BUCKETS, db->latency_sum);
    rh_prom_counter (prom, "rhannu_broker_commit_failures_total",
                     "Commits the store refused (the broker stops intake on the first).",
                     (double) db->failed_commits);
    rh_prom_gauge (prom, "rhannu_broker_verify_backlog",
                   "Submissions waiting for or in a signature check.",
                   (double) rh_broker_verifying (self));
    rh_prom_gauge (prom, "rhannu_broker_dead_letters_all", "Dead letters of every agency together.",
                   (double) totals.dead_letters);
    rh_prom_gauge (prom, "rhannu_broker_audit_records", "Records in the audit log.",
                   (double) rh_audit_size (self->audit));
    rh_prom_family (prom, "rhannu_broker_audit_checkpoint_age_seconds", "gauge",
                    "Time since the last signed checkpoint of the audit log (absent: none yet).");
    if (self->published.size)
        rh_prom_sample (prom, "rhannu_broker_audit_checkpoint_age_seconds", NULL, NULL,
                        (double) (rh_time_now_ms () - self->published.time_ms) / 1000.0);
    rh_prom_family (prom, "rhannu_broker_crl_expiry_seconds", "gauge",
                    "Seconds until the CRL's next update (negative: expired; absent: no CRL).");
    int64_t crl = rh_certstore_crl_next_update (self->store);
    if (crl)
        rh_prom_sample (prom, "rhannu_broker_crl_expiry_seconds", NULL, NULL,
                        (double) (crl - now) / 1000.0);
    rh_prom_family (prom, "rhannu_broker_trust_bundle_expiry_seconds", "gauge",
                    "Seconds until the trust bundle pushed to agents expires (absent: none).");
    const rh_bundle_t *bundle = rh_trust_bundle (self->trust);
    if (bundle)
        rh_prom_sample (prom, "rhannu_broker_trust_bundle_expiry_seconds", NULL, NULL,
                        (double) (rh_bundle_expires_ms (bundle) - now) / 1000.0);
    rh_prom_gauge (prom, "rhannu_broker_agreements", "Sharing agreements in force.",
                   self->policy ? (double) rh_policy_size (self->policy) : 0);
    char why [RH_MAX_REASON];
    rh_prom_gauge (prom, "rhannu_broker_ready", "1 if /readyz answers 200, else 0.",
                   s_not_ready (self, why, sizeof why) ? 0 : 1);
    rh_prom_process (prom, self->started_ms);
    char *text = kept.failed ? NULL : rh_prom_take (prom, size);
    rh_prom_destroy (&prom);
    free (kept.rows);
    free (kept.names);
    return text;
}

static void
s_status_agency (void *arg, const rh_queue_figures_t *figures)
{
    json_t *agencies = arg;
    json_t *entry = json_pack (
        "{s:s, s:b, s:I, s:b, s:I, s:I, s:I, s:I}", "agency", figures->agency, "connected",
        figures->connected, "queued", (json_int_t) figures->queued, "queued_capped",
        figures->queued_capped, "oldest_ms", (json_int_t) figures->oldest_ms, "in_flight",
        (json_int_t) figures->in_flight, "unverified", (json_int_t) figures->unverified,
        "dead_letters", (json_int_t) figures->dead_letters);
    if (entry)
        json_array_append_new (agencies, entry);
}

//  The status a person reads with rhannu-broker status: one entry per agency.
static char *
s_render_status (rh_broker_t *self, size_t *size)
{
    json_t *agencies = json_array ();
    int64_t now = s_now (self);
    if (agencies)
        rh_queue_figures (self->queue, s_status_agency, agencies);
    char why [RH_MAX_REASON];
    const char *not_ready = s_not_ready (self, why, sizeof why);
    json_t *root = agencies
                       ? json_pack ("{s:s, s:I, s:I, s:b, s:s?, s:o}", "broker",
                                    rh_signer_agency (self->signer), "now_ms", (json_int_t) now,
                                    "started_ms", (json_int_t) self->started_ms, "ready",
                                    !not_ready, "not_ready", not_ready, "agencies", agencies)
                       : NULL;
    char *text = root ? json_dumps (root, JSON_COMPACT) : NULL;
    json_decref (root);
    if (text && size)
        *size = strlen (text);
    return text;
}

//  Answers one HTTP request on the loop (rh_monitor asked): what the loop knows now.
static void
s_answer (void *arg, const char *path, rh_monitor_reply_t *reply)
{
    rh_broker_t *self = arg;
    char why [RH_MAX_REASON + 2];
    if (strcmp (path, "/metrics") == 0) {
        reply->body = s_render_metrics (self, &reply->size);
        reply->status = reply->body ? 200 : 500;
        reply->type = RH_MONITOR_PROMETHEUS;
    }
    else if (strcmp (path, "/status") == 0) {
        reply->body = s_render_status (self, &reply->size);
        reply->status = reply->body ? 200 : 500;
        reply->type = RH_MONITOR_JSON;
    }
    else if (strcmp (path, "/readyz") == 0) {
        const char *not_ready = s_not_ready (self, why, sizeof why - 1);
        if (not_ready)
            strcat (why, "\n");
        reply->body = strdup (not_ready ? why : "ready\n");
        reply->status = not_ready ? 503 : 200;
    }
    else {
        //  /healthz: this answer is the proof that the loop turns.
        reply->body = strdup ("alive\n");
        reply->status = 200;
    }
    if (reply->body && reply->size == 0)
        reply->size = strlen (reply->body);
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
    int64_t expiry_ms = rh_config_int (config, "delivery/expiry_days") * 24 * 3600 * 1000;
    self->max_batch = (size_t) rh_config_int (config, "commit/max_batch");
    char identity [PATH_MAX];
    uint8_t curve_public [RH_PUBKEY_LEN], curve_secret [RH_PUBKEY_LEN];
    rh_file_path (identity, sizeof identity, "%s/%s", self->pki_dir,
                  rh_config_str (config, "pki/identity"));
    if (!(self->store = rh_certstore_load_dir (self->pki_dir)))
        goto fail;
    char ca_path [PATH_MAX];
    rh_file_path (ca_path, sizeof ca_path, "%s/ca.pem", self->pki_dir);
    if (!(self->trust = rh_trust_new (ca_path, NULL, NULL)))
        goto fail;
    self->next_change_ms = rh_certstore_next_change (self->store, rh_time_now_ms ());
    if (!(self->signer = rh_signer_load (identity))
        || rh_ca_load_curve (identity, curve_public, curve_secret) != 0)
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
    if (!(self->cases = rh_cases_new (self->db))
        || !(self->peerlogs = rh_peerlogs_new (self->db, self->audit, self->signer)))
        goto fail;
    if (!(self->policy = s_load_policy (self, why, sizeof why))
        || s_load_peers (self, &self->peers, why, sizeof why) != 0
        || rh_db_commit (self->db, true) != 0)
        goto fail;
    rh_audit_last_checkpoint (self->audit, &self->published);
    if (!(self->context = zmq_ctx_new ()))
        goto fail;
    if (!(self->backlog = rh_backlog_new (RH_MAX_BACKLOG_BYTES, RH_MAX_BACKLOG_AGENCY)))
        goto fail;
    if (!(self->verifier = rh_verifier_new (self->context, self->pki_dir,
                                            (int) rh_config_int (config, "verify/workers"))))
        goto fail;
    //  Witnessed by HTTP witnesses, or by the other regions' brokers when the federation
    //  agreement names our log (s_load_peers checked that witness/origin is that name).
    bool peer_witnessed = self->peers && rh_peers_own (self->peers)->log_origin;
    if ((*rh_config_str (config, "witness/urls") || peer_witnessed)
        && !(self->cosigner =
                 rh_cosigner_new (self->context, config, self->db, self->audit, self->signer)))
        goto fail;
    self->router = rh_router_new (self->context, config, curve_secret, &self->store, self->audit);
    if (self->router)
        s_sync_links (self, curve_public, curve_secret);
    sodium_memzero (curve_secret, sizeof curve_secret);
    if (!self->router)
        goto fail;
    rh_router_set_peers (self->router, &self->peers);
    rh_queue_limits_t limits = {
        .expiry_ms = expiry_ms,
        .redeliver_ms = rh_config_int (config, "delivery/redeliver_ms"),
        .unverified_alert_ms = rh_config_int (config, "delivery/unverified_alert_ms"),
    };
    if (!(self->queue = rh_queue_new (self->db, self->audit, self->signer, &limits, s_send, self))
        || !(self->tracker = rh_tracker_new (self->db, self->cases, self->queue, self->signer,
                                             &self->store, &self->policy))
        || !(self->challenges = rh_challenge_new (self->db, self->cases, self->queue, self->audit,
                                                  self->signer, &self->store, &self->policy))
        || !(self->intake =
                 rh_intake_new (self->dedup, self->queue, self->tracker, self->router, self->audit,
                                self->signer, &self->store, &self->policy, expiry_ms,
                                rh_config_int (config, "verify/created_window_hours") * 3600000)))
        goto fail;
    rh_intake_set_peers (self->intake, &self->peers);
    if (!(self->lateral =
              rh_lateral_new (self->db, self->queue, self->audit, self->signer, &self->store)))
        goto fail;
    rh_intake_set_lateral (self->intake, self->lateral);
    rh_intake_set_challenges (self->intake, self->challenges);
    rh_tracker_set_audit (self->tracker, self->audit);
    s_load_bundle (self);
    if (rh_db_commit (self->db, true) != 0)
        goto fail;
    if (!(self->service = rh_service_new ()))
        goto fail;
    const char *listen = rh_config_str (config, "metrics/listen");
    if (*listen) {
        char error [256];
        self->monitor =
            rh_monitor_new (self->context, listen, rh_config_bool (config, "metrics/allow_remote"),
                            s_monitor_paths, error, sizeof error);
        if (!self->monitor) {
            rh_log_error ("broker", "metrics/listen: %s", error);
            goto fail;
        }
        rh_log_info ("broker", "metrics and health on http://%s/metrics", listen);
    }
    self->started_ms = rh_time_now_ms ();
    rh_log_info ("broker",
                 "listening on %s as %s; %zu certificates; audit log holds %" PRIu64 " records",
                 rh_config_str (config, "bind/endpoint"), rh_signer_agency (self->signer),
                 rh_certstore_size (self->store), rh_audit_size (self->audit));
    return self;
fail:
    sodium_memzero (curve_secret, sizeof curve_secret);
    rh_log_error ("broker", "cannot start");
    rh_broker_destroy (&self);
    return NULL;
}

//  Sleeps ms, or less when a signal arrives (the caller then looks at its stop flag).
static void
s_nap (int64_t ms)
{
    struct timespec wait = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
    nanosleep (&wait, NULL);
}

rh_broker_t *
rh_broker_new_standby (rh_config_t *config, volatile sig_atomic_t *stop)
{
    assert (config && stop);
    const char *dir = rh_config_str (config, "data/dir");
    for (;;) {
        //  Nothing is loaded or bound while waiting: the PKI, policy and store are read when
        //  this broker takes over, as they are then, not as they were when it started.
        int64_t since = rh_time_now_ms ();
        bool waited = false;
        pid_t holder;
        while (!*stop && (holder = rh_db_lock_holder (dir)) > 0) {
            if (!waited)
                rh_log_info (
                    "broker",
                    "standby: waiting for the store in %s (another rhannu-broker, pid %ld, "
                    "holds its lock); not listening on %s until it is released",
                    dir, (long) holder, rh_config_str (config, "bind/endpoint"));
            waited = true;
            s_nap (RH_STANDBY_POLL_MS);
        }
        if (*stop)
            return NULL;
        if (waited)
            rh_log_info ("broker", "the store in %s was released after %" PRId64 " ms: taking over",
                         dir, rh_time_now_ms () - since);
        rh_broker_t *self = rh_broker_new (config);
        if (self || rh_db_lock_holder (dir) == 0)
            return self;
        //  Another standby opened it between our look and our open: wait for that one.
        rh_log_warn ("broker", "another broker took the store first: standby again");
    }
}

void
rh_broker_destroy (rh_broker_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        rh_broker_t *self = *self_p;
        rh_monitor_destroy (&self->monitor);  //  its thread first: it uses the context
        rh_service_destroy (&self->service);
        rh_router_destroy (&self->router);
        for (size_t i = 0; i < self->link_count; i++)
            rh_peerlink_destroy (&self->links [i]);
        rh_verifier_destroy (&self->verifier);
        if (self->cosigner)
            rh_cosigner_destroy (&self->cosigner);
        rh_peerlogs_destroy (&self->peerlogs);
        rh_backlog_destroy (&self->backlog);
        if (self->context)
            zmq_ctx_term (self->context);
        rh_intake_destroy (&self->intake);
        rh_tracker_destroy (&self->tracker);
        rh_lateral_destroy (&self->lateral);
        rh_challenge_destroy (&self->challenges);
        rh_queue_destroy (&self->queue);
        rh_dedup_destroy (&self->dedup);
        rh_audit_destroy (&self->audit);
        rh_db_destroy (&self->db);
        rh_signer_destroy (&self->signer);
        rh_policy_destroy (&self->policy);
        rh_peers_destroy (&self->peers);
        rh_cases_destroy (&self->cases);
        rh_certstore_destroy (&self->store);
        rh_trust_destroy (&self->trust);
        free (self);
        *self_p = NULL;
    }
}

//  Takes what is waiting, up to one batch, then commits once; only then do the replies that
//  the commit backs leave, and the queues deliver. Waits at most timeout_ms for input.
int
rh_broker_step (rh_broker_t *self, int timeout_ms)
{
    assert (self);
    s_feed_verifier (self);
    //  The router is always read: Hello, acknowledgements and proofs share it with
    //  submissions, and a submission the workers cannot take yet waits in the backlog.
    zmq_pollitem_t items [6 + RH_MAX_FED_REGIONS] = {
        { rh_router_socket (self->router), 0, ZMQ_POLLIN, 0 },
        { rh_verifier_socket (self->verifier), 0, ZMQ_POLLIN, 0 },
        { rh_router_zap_socket (self->router), 0, ZMQ_POLLIN, 0 },
        { rh_router_monitor_socket (self->router), 0, ZMQ_POLLIN, 0 },
    };
    int count = 4, monitor_item = -1;
    if (self->cosigner)
        items [count++] = (zmq_pollitem_t){ rh_cosigner_socket (self->cosigner), 0, ZMQ_POLLIN, 0 };
    if (self->monitor) {
        monitor_item = count;
        items [count++] = (zmq_pollitem_t){ rh_monitor_socket (self->monitor), 0, ZMQ_POLLIN, 0 };
    }
    int first_link = count;
    for (size_t i = 0; i < self->link_count; i++)
        items [count++] =
            (zmq_pollitem_t){ rh_peerlink_socket (self->links [i]), 0, ZMQ_POLLIN, 0 };
    //  A result the verifier already holds is not visible to polling.
    if (zmq_poll (items, count, rh_verifier_ready (self->verifier) ? 0 : timeout_ms) < 0
        && errno != EINTR)
        return -1;
    //  Figures are read between batches, from committed state, and never wait for HTTP.
    if (monitor_item >= 0 && (items [monitor_item].revents & ZMQ_POLLIN))
        rh_monitor_answer (self->monitor, s_answer, self);
    for (int i = 0; i < RH_MAX_BATCH && (items [2].revents & ZMQ_POLLIN); i++) {
        zmq_pollitem_t zap = { rh_router_zap_socket (self->router), 0, ZMQ_POLLIN, 0 };
        if (zmq_poll (&zap, 1, 0) <= 0)
            break;
        rh_router_handle_zap (self->router);
    }
    for (size_t i = 0; i < self->link_count; i++)
        if (items [first_link + (int) i].revents & ZMQ_POLLIN)
            s_link_events (self, i);
    rh_lost_t lost;
    int event;
    while ((event = rh_router_handle_monitor (self->router, rh_time_now_ms (), &lost)) >= 0)
        if (event == 1)
            rh_queue_connection_lost (self->queue, lost.agency, lost.connection);
    size_t handled = 0;
    bool progress = true;
    while (progress && handled < self->max_batch) {
        progress = false;
        rh_inbound_t in;
        int taken = rh_router_recv (self->router, &in);
        if (taken >= 0) {
            handled++;
            progress = true;
        }
        if (taken == 1) {
            s_dispatch (self, &in);
            rh_frame_release (&in.frame);
        }
        rh_verified_t result;
        if (rh_verifier_result (self->verifier, &result) == 0) {
            if (*result.region)
                s_accept_peer (self, &result);
            else
                rh_intake_accept (self->intake, &result, s_now (self));
            rh_verified_release (&result);
            handled++;
            progress = true;
            s_feed_verifier (self);  //  a result returns its worker's credit
        }
    }
    if (self->cosigner && rh_cosigner_receive (self->cosigner, rh_time_now_ms ()) >= 0)
        rh_cosigner_tick (self->cosigner, &self->published, rh_time_now_ms ());  //  a 409 resends
    s_witness_requests (self, rh_time_now_ms ());  //  the peer brokers': when due, one at a time
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
        if (rh_db_commit (self->db, rh_router_replies (self->router) > 0
                                        || rh_peerlogs_held (self->peerlogs) > 0)
            != 0) {
            rh_log_error ("broker", "storage failed: stopping intake; nothing unsaved was "
                                    "acknowledged");
            return -1;
        }
    }
    //  Retention erases only what is committed, with nothing of the step's own pending.
    if (now >= self->next_retention_ms && rh_db_pending (self->db) == 0) {
        self->next_retention_ms = now + rh_config_int (self->config, "retention/check_ms");
        s_retention (self, now);
    }
    //  Firing deadlines commits too (it reads the due-time index back): whoever committed,
    //  the classes learn that their pending writes are now in the database.
    if (rh_db_stats (self->db)->commits != self->commits_seen) {
        self->commits_seen = rh_db_stats (self->db)->commits;
        rh_dedup_committed (self->dedup);
        rh_queue_committed (self->queue);
        s_publish_checkpoint (self);
    }
    rh_router_flush (self->router);
    rh_peerlogs_flush (self->peerlogs, self->router);
    //  Deliver only what is committed; their audit records join the next commit.
    rh_queue_pump (self->queue, s_now (self));
    return 0;
}

int
rh_broker_handle (rh_broker_t *self, const char *agency, int connection, const uint8_t *routing_id,
                  size_t routing_id_size, const uint8_t *body, size_t body_size)
{
    assert (self && agency && routing_id);
    rh_inbound_t in;
    if (rh_router_take (self->router, agency, connection, routing_id, routing_id_size, body,
                        body_size, &in)
        != 1)
        return 0;
    s_dispatch (self, &in);
    rh_frame_release (&in.frame);
    return 1;
}

size_t
rh_broker_verifying (rh_broker_t *self)
{
    assert (self);
    return rh_backlog_size (self->backlog) + rh_verifier_in_flight (self->verifier);
}

int
rh_broker_run (rh_broker_t *self, volatile sig_atomic_t *stop, volatile sig_atomic_t *reload)
{
    assert (self && stop && reload);
    //  Listening, the store open, the agreements loaded: systemd may start what depends on us.
    char status [160];
    s_service_status (self, status, sizeof status);
    rh_service_ready (self->service, status);
    self->status_ms = rh_time_now_ms ();
    while (!*stop) {
        if (rh_broker_step (self, RH_TICK_MS) != 0) {
            rh_service_stopping (self->service, "storage failed: stopped");
            return -1;
        }
        if (*reload) {
            *reload = 0;
            s_reload (self);
        }
    }
    rh_service_stopping (self->service, "stopping: signing a last checkpoint");
    return rh_broker_finish (self);
}

//  At a clean stop: the other regions' brokers whose links are up witness the last checkpoint
//  too, if they answer within wait_ms (each answers after its own commit). What the links
//  report meanwhile is acted on as in the loop; anything else waits for the next start.
static void
s_witness_last (rh_broker_t *self, int64_t wait_ms)
{
    s_publish_checkpoint (self);
    int64_t deadline = rh_time_now_ms () + wait_ms;
    while (true) {
        int64_t now = rh_time_now_ms ();
        s_witness_requests (self, now);
        zmq_pollitem_t items [RH_MAX_FED_REGIONS];
        size_t waiting = 0;
        for (size_t i = 0; i < self->link_count; i++) {
            if (!self->link_up [i]
                || !rh_cosigner_peer_pending (self->cosigner, rh_peerlink_region (self->links [i]),
                                              &self->published, now))
                continue;
            items [waiting++] =
                (zmq_pollitem_t){ rh_peerlink_socket (self->links [i]), 0, ZMQ_POLLIN, 0 };
        }
        if (waiting == 0 || now >= deadline)
            return;
        if (zmq_poll (items, (int) waiting, (long) (deadline - now)) < 0 && errno != EINTR)
            return;
        for (size_t i = 0; i < self->link_count; i++)
            s_link_events (self, i);
    }
}

int
rh_broker_finish (rh_broker_t *self)
{
    assert (self);
    //  A clean stop leaves nothing uncounted and the whole log signed.
    rh_router_tick (self->router, rh_time_now_ms (), true);
    s_checkpoint (self, rh_time_now_ms (), true);
    if (rh_db_pending (self->db) > 0 && rh_db_commit (self->db, true) != 0)
        return -1;
    //  ...and witnessed, by the witnesses that answer in time (the others get it next start).
    rh_checkpoint_t last;
    if (self->cosigner && rh_audit_last_checkpoint (self->audit, &last)) {
        rh_cosigner_flush (self->cosigner, &last, RH_WITNESS_TIMEOUT_MS);
        s_witness_last (self, RH_PEER_STOP_WAIT_MS);
        if (rh_db_pending (self->db) > 0 && rh_db_commit (self->db, true) != 0)
            return -1;
    }
    rh_db_log_stats (self->db, "broker");
    return 0;
}
