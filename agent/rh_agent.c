/*  =========================================================================
    rh_agent - an agency's connection to rhannu

    Keys in the agent's database:
      o/<seq>    a signed message not yet accepted by the broker (Outgoing)
      f/<name>   SHA-256 of a spool file already taken into the outbox (kept, so that a
                 file whose removal a power cut undid is not sent twice)
      n/seq      the agency's last sender sequence number
      i/<msg id> a message already written to inbox/ (de-duplication)
      c/, u/     inbox files not yet flushed, from agents before batched flushes
                 (start-up still finishes them after a machine crash, then drops them)
      n/boot     the boot id of the machine when the agent last started
      x/, xq/, xl/, xd/, xs/  referrals this agency made (see "Referrals" below)

    Outbox intake: outbox/ is listed once (names only, in name order) and
    its files are taken while any remain, without waiting for the next
    scan tick; change notifications only ask for a new listing once the
    last one is done. The main loop reads and parses each file and the
    sealer thread signs it (at most RH_SEAL_CREDIT in hand); what comes
    back is recorded under o/ and f/ in one synchronous commit per batch
    (a small drop at once, a large one half the credit at a time) before
    the spool files are removed.

    Library submissions (rh_agent_submit, rhannu_agent.h) are a second
    producer on the same path: parsed on the caller's thread, handed to the
    sealer through the same ring (s_seal) after any spool files already
    there, and committed by the same s_take_sealed (o/, without f/: there is
    no file); the call waits for that commit. A refusal by the broker goes
    to failed/ as MSGID.json and to the outcome callback.

    Deliveries taken by a receive callback instead of inbox/: verified and
    de-duplicated as for inbox/, handed to the callback, then recorded under
    i/ in the batch's one synchronous commit and acknowledged. A callback
    that declines pauses intake as an unwritable inbox does (below): nothing
    more is taken, and after RH_INTAKE_RETRY_MS the broker is asked for
    everything unacknowledged again.

    Inbox writes: a batch of delivered messages is written to inbox/.tmp/;
    every file is flushed, then .tmp/ itself; one synchronous commit
    records the batch under i/; the files are renamed into inbox/, inbox/
    is flushed once, and only then is the batch acknowledged. A crash
    before the commit leaves files in .tmp/ that start-up drops (never
    acknowledged: the broker delivers them again); after it, files in
    .tmp/ that start-up publishes. A message is never written twice, and
    nothing acknowledged is lost even to a power cut.

    When a delivery cannot be written into inbox/ (or renamed into it), it
    is not acknowledged and intake pauses: the agent asks the broker for no
    credit, declines what still comes, says why in status.json ("receiving":
    "paused", "receiving_reason") and once in its log, and every second tries
    a probe as large as the message that failed. When the probe succeeds it
    asks for its full credit again; the broker then sends everything still
    unacknowledged, and i/ keys drop what was already written.

    A delivery that does not verify here is never written or acknowledged:
    the agent answers Unverified (a code and a reason, no content), and the
    broker keeps it queued and offers it again. A submission the broker
    refuses as not yet valid stays in the outbox and goes again after
    RH_NOT_YET_VALID_RETRY_MS, doubling up to RH_NOT_YET_VALID_MAX_RETRY_MS.

    status.json also names connection trouble ("connection",
    "connection_detail", see rh_link): broker not reachable, handshake timed
    out (busy or starting), or our key refused.
    =========================================================================
*/
#include "rh_agent_classes.h"
#include "rhannu.pb-c.h"

#define RH_TICK_MS           100
#define RH_STATUS_MS         500
#define RH_STATUS_REFERRALS  50    //  open referrals listed in status.json (the latest)
#define RH_SPOOL_GRACE_MS    2000  //  a file that does not parse is retried for this long
#define RH_INTAKE_RETRY_MS   1000  //  while the inbox cannot be written, how often to try again
#define RH_HANDSHAKE_LATE_MS 5000  //  a CURVE handshake not done by then is reported as late
#define RH_PROBE_NAME        ".rhannu-probe"  //  hidden: the agency's system skips dot files
//  A spool file's f/ record outlives the file this long at least: a case system that writes the
//  identical file under the same name again within it (a retry after its own crash) is taken as
//  the same file, as it always was; after it, as a new message.
#define RH_SPOOL_GUARD_MS ((int64_t) 24 * 3600 * 1000)
#define RH_PRUNE_BATCH    256  //  records the pruner looks at per tick: the loop stays light
#define RH_DAY_MS         ((int64_t) 24 * 3600 * 1000)

const rh_cfg_spec_t rh_agent_config_spec [] = {
    { "agency/id", RH_CFG_STR, 0, 0, NULL, true, "this agency's id, as in its certificate" },
    { "agency/lang", RH_CFG_ENUM, 0, 0, "en", false,
      "language of the summaries in inbox files and listings {en|cy}" },
    { "subjects/secret_file", RH_CFG_STR, 0, 0, "", false,
      "regional subject secret (64 hex digits, 0600): subjects get pseudonymous keys" },
    { "agency/dir", RH_CFG_STR, 0, 0, "", false,
      "folder with key.pem, cert.pem, curve.key (default: pki/dir/agency id)" },
    { "pki/ca", RH_CFG_STR, 0, 0, "", false,
      "the board CA certificate given at enrolment (default: ca.pem in pki/dir)" },
    { "pki/dir", RH_CFG_STR, 0, 0, "", false,
      "a PKI folder (ca.pem, crl.pem, agencies' cert.pem) trusted until the broker's first "
      "trust bundle; not needed with pki/ca, agency/dir and broker/dir" },
    { "pki/warn_days", RH_CFG_INT, 1, 365, "7", false,
      "warn (log, status.json, an inbox alert) this many days before the trust bundle expires" },
    { "broker/endpoint", RH_CFG_STR, 0, 0, "tcp://127.0.0.1:5670", false,
      "where the broker listens (when broker/endpoints is empty)" },
    { "broker/endpoints", RH_CFG_STR, 0, 0, "", false,
      "brokers to fail over between, in order, space-separated: ENDPOINT or ENDPOINT=IDENTITY "
      "(default identity: broker/identity)" },
    { "broker/dead_after_ms", RH_CFG_INT, 300, 600000, "3000", false,
      "a broker silent this long (heartbeats), or not letting us in, is left for the next" },
    { "broker/identity", RH_CFG_STR, 0, 0, "broker", false,
      "the broker's folder in pki/dir (its curve.pub)" },
    { "broker/dir", RH_CFG_STR, 0, 0, "", false,
      "folder holding the broker's curve.pub (default: pki/dir/broker identity)" },
    { "spool/dir", RH_CFG_STR, 0, 0, NULL, true,
      "folder holding outbox/, inbox/ and failed/ for the agency's system" },
    { "spool/scan_ms", RH_CFG_INT, 20, 60000, "500", false,
      "how often outbox/ is scanned besides change notifications" },
    { "data/dir", RH_CFG_STR, 0, 0, NULL, true, "folder for the outbox database and status.json" },
    { "data/retention_days", RH_CFG_INT, 30, 36500, "400", false,
      "keep what binds a reply to a message (its header digest) and de-duplicates its delivery "
      "this many days after it arrived, then forget it: a reply after that goes unbound" },
    { "clock/offset_file", RH_CFG_STR, 0, 0, "", false,
      "tests only: a file holding milliseconds added to the clock that dates and forgets the "
      "records above" },
    { "hook/command", RH_CFG_STR, 0, 0, "", false,
      "program run with the path of each new inbox file (no shell)" },
    { "send/window", RH_CFG_INT, 1, RH_MAX_CREDIT, "1000", false,
      "messages sent and not yet accepted, at most" },
    { "send/resend_ms", RH_CFG_INT, 100, 3600000, "5000", false,
      "resend a message the broker has not answered after this long" },
    { "receive/credit", RH_CFG_INT, 1, RH_MAX_CREDIT, "1000", false,
      "deliveries the broker may send before we acknowledge" },
    { "witness/keys", RH_CFG_STR, 0, 0, "", false,
      "cosignature vkeys of the witnesses whose cosignatures count, space-separated" },
    { "witness/quorum", RH_CFG_INT, 0, RH_MAX_WITNESSES, "0", false,
      "trust a broker checkpoint only with this many of those witnesses' cosignatures "
      "(0: not required)" },
    { "log/format", RH_CFG_ENUM, 0, 0, "text", false,
      "how operator log lines are written: text, or one JSON object per line {text|json}" },
    { "metrics/listen", RH_CFG_STR, 0, 0, "", false,
      "serve /metrics, /healthz and /readyz over HTTP on HOST:PORT, e.g. 127.0.0.1:9465 "
      "(empty: off)" },
    { "metrics/allow_remote", RH_CFG_BOOL, 0, 1, "false", false,
      "let metrics/listen be an address that is not loopback" },
    { NULL }
};

//  The paths the agent's monitor serves; each is answered by s_answer on the loop.
static const char *const s_metrics_paths [] = { "/metrics", "/healthz", "/readyz", NULL };

typedef struct {
    uint64_t seq;
    char msg_id [RH_MAX_ID + 1];
    int64_t sent_ms;
} s_flight_t;

//  An outbox message the broker refused as not yet valid (its clock behind the CA's that issued
//  our certificate): it stays in the outbox and is sent again after wait_ms, which doubles.
typedef struct {
    uint64_t seq;
    char msg_id [RH_MAX_ID + 1];
    int64_t due_ms;   //  sent again then
    int64_t wait_ms;  //  the wait that led to due_ms
} s_deferred_t;

//  A delivery written to .tmp/, waiting for the commit.
typedef struct {
    uint64_t delivery_id;
    char msg_id [RH_MAX_ID + 1];
    bool fresh;      //  false: already in the inbox, acknowledge only
    bool withdrawn;  //  could not be published: not acknowledged, the broker keeps it
    bool late;       //  withdrawn after its batch was committed (its rename failed)
    bool handed;     //  taken by the case system's receive callback: no file to publish
} s_arrival_t;

typedef struct _s_touched_t s_touched_t;

//  One rh_agent_submit_batch call, on its caller's stack until every message it handed over is
//  committed (the call waits for that): what the sealer refused, and why.
typedef struct {
    size_t refused;
    char error [160];  //  the first reason
} s_submit_t;

//  A message handed to the sealer, until its record is committed (and its spool file removed):
//  a spool file, or a message submitted through the library (api, no file).
typedef struct {
    char name [NAME_MAX + 1];  //  the spool file's name; empty when api
    bool api;
    s_submit_t *submit;  //  the call that handed it over (api only)
    char *id_out;        //  where that call wants the message id (RH_AGENT_ID_SIZE), or NULL
    uint8_t *json;       //  the file's content, owned (it goes back to failed/ if refused)
    size_t json_size;
    uint8_t hash [RH_DIGEST_LEN];  //  of json, recorded under f/
    uint64_t sequence;             //  sender sequence given to it
    bool referral;                 //  followed in status.json
    bool sealed;                   //  signed, waiting for its batch's commit
    rh_sealed_t result;            //  what the sealer gave back, owned until the commit
} s_spool_t;

struct _rh_agent_t {
    rh_config_t *config;  //  borrowed
    char agency [RH_MAX_ID + 1];
    char outbox [PATH_MAX];
    char outbox_tmp [PATH_MAX];
    char inbox [PATH_MAX];
    char inbox_tmp [PATH_MAX];
    char failed [PATH_MAX];
    char status_path [PATH_MAX];
    const char *hook;
    rh_db_t *db;
    rh_signer_t *signer;  //  until the sealer takes it
    rh_sealer_t *sealer;  //  signs spool files off the main loop
    rh_trust_t *trust;    //  the board's newest bundle: verifies deliveries end to end
    //  Federated regions: the certificates other regions' boards issued, as our board passed
    //  them on (pki/dir/peers/REGION), for deliveries another region's broker forwarded.
    rh_certstore_t *peer_stores [RH_MAX_FED_REGIONS];
    size_t peer_count;
    char trust_alerted [16];  //  the last trust alert put in the inbox ("expiring", "expired")
    uint64_t trust_alerted_version;
    uint64_t untrusted;  //  deliveries declined because the bundle expired or is missing
    void *context;
    void *dealer;                //  to the current broker; NULL while none could be opened
    void *monitor;               //  the dealer's socket monitor
    rh_brokers_t *brokers;       //  the brokers to fail over between, and which is in use
    char agency_dir [PATH_MAX];  //  our keys, read again for each broker's socket
    unsigned monitor_serial;     //  names each dealer's monitor endpoint apart
    int64_t last_answer_ms;      //  when the broker last answered a submission
    int64_t outage_since;        //  the last answer before the link was lost (0: no outage)
    char outage_from [RH_MAX_ENDPOINT + 1];  //  the broker lost then
    int64_t last_outage_ms;  //  last answer before the last outage to the first after
    bool link_lost;          //  the link to the current broker was up, and is lost
    //  The CURVE key pair, read once when the first link opens: every later link (a reconnect,
    //  a failover) uses the key the agent started with, as its signing key does; a key re-issued
    //  on disk takes effect when the agent restarts.
    uint8_t curve_public [32], curve_secret [32];
    bool curve_loaded;
    int inotify;
    uint64_t sequence;       //  last sender sequence committed
    uint64_t next_sequence;  //  last sender sequence given to a spool file (sealed or not)
    char **listing;          //  spool file names in outbox/, in name order, from the last look
    size_t listing_count;
    size_t listing_next;  //  the next name to take
    bool relist;          //  outbox/ may have changed since that listing
    int64_t relist_at;    //  look again then (a file still being written); 0: no need
    int64_t last_scan;    //  when outbox/ was last listed
    s_spool_t *spool;     //  ring of RH_SEAL_CREDIT files with the sealer, in order
    size_t spool_head;
    size_t spool_count;   //  files in the ring
    size_t spool_sealed;  //  of which back from the sealer (the first ones): the next batch
    uint64_t cursor;      //  next outbox key to send
    s_flight_t *flights;
    size_t flight_count;
    size_t window;
    int64_t resend_ms;       //  send/resend_ms: how long an answer may take before a resend
    int64_t resend_wait_ms;  //  the wait now: doubled after each resend, back on an answer
    uint32_t credit;
    int64_t scan_ms;
    s_arrival_t *arrivals;
    size_t arrival_count;
    bool connected;
    rh_link_t *link;            //  why we are not connected, when we are not
    uint32_t credit_announced;  //  credit the broker last heard from us (this connection)
    bool paused;                //  the inbox cannot be written: deliveries stay with the broker
    char paused_reason [160];   //  why, for status.json and the log (never message content)
    int paused_errno;           //  the failing call's errno
    const char *paused_dir;     //  where the write failed (inbox_tmp or failed)
    size_t paused_need;         //  bytes the failed write needed: the probe writes as many
    int64_t paused_ms;          //  since when
    int64_t probe_ms;           //  when we last tried again
    uint64_t declined;          //  deliveries left with the broker while paused
    bool status_dirty;
    uint8_t subject_secret [RH_SUBJECT_KEY_LEN];
    bool has_subject_secret;  //  repeat referrals need the region's agents to share it
    char last_error [1024];
    rh_checkpoint_t trusted;  //  the broker's last checkpoint this agent checked (size 0: none)
    rh_checkpoint_t pending;  //  a newer one waiting for its consistency proof
    rh_note_vkey_t witness_keys [RH_MAX_WITNESSES];  //  witnesses whose cosignatures count
    size_t witness_count;
    size_t quorum;             //  cosignatures a checkpoint needs to be trusted (0: none)
    uint64_t awaiting_size;    //  newest checkpoint seen without its quorum (0: none)
    size_t awaiting_cosigned;  //  how many of our witnesses had cosigned it
    char alarm [300];          //  set when the broker's log was rewritten: stays until IT clears it
    int64_t last_error_ms;
    json_t *by_state;      //  referrals by state (xs/counts)
    uint64_t overdue;      //  open referrals overdue (xs/counts)
    uint64_t ordinal;      //  referrals ever taken in, for their place in the indexes
    bool counts_dirty;     //  the counts changed since the last commit
    s_touched_t *touched;  //  referrals the pending batch changed, as it leaves them
    size_t touched_count;
    size_t touched_size;
    uint64_t queued;  //  messages in the outbox database
    uint64_t accepted;
    uint64_t rejected;
    uint64_t busy;    //  answers "broker busy: send again later" (resent, not refused)
    uint64_t resent;  //  messages sent again because the broker did not answer in time
    uint64_t received;
    uint64_t duplicates;
    bool owns_config;              //  opened by rh_agent_open: destroy frees the configuration
    rh_agent_receive_fn *receive;  //  takes deliveries instead of inbox/ (NULL: inbox/)
    void *receive_arg;
    rh_agent_outcome_fn *outcome;  //  told what became of what we sent (NULL: nobody)
    void *outcome_arg;
    int64_t last_status;     //  when status.json was last written
    int64_t last_tick;       //  when the resend timer was last looked at
    s_deferred_t *deferred;  //  outbox messages refused as not yet valid, waiting to go again
    size_t deferred_count;
    size_t deferred_capacity;
    uint64_t unverified;                   //  deliveries we could not verify (not taken in)
    char unverified_code [RH_MAX_ID + 1];  //  the last one's code
    int64_t unverified_ms;                 //  and when
    rh_monitor_t *metrics;                 //  metrics and health over HTTP (NULL: off)
    rh_service_t *service;                 //  READY, STATUS, WATCHDOG for systemd
    int64_t started_ms;                    //  when the agent started
    int64_t last_accepted_ms;              //  when the broker last accepted one of ours (0: never)
    int64_t service_status_ms;             //  when systemd's STATUS= line was last updated
    rh_pruner_t *pruner;                   //  forgets f/, h/ and i/ records in time
    int64_t clock_offset;                  //  added to that clock (tests: clock/offset_file)

    //  Issue 17, lateral checks: the broker's alerts about information requests since start
    //  (reminders to answer one, reply-by times passed), and the request last named.
    uint64_t lateral_reminders, lateral_overdue;
    char lateral_request [RH_MAX_ID + 1];
};

//  ---------------------------------------------------------------------------------------------

static const char *s_trust_state (rh_agent_t *self, int64_t now);

//  The endpoint of the broker in use.
static const char *
s_broker (rh_agent_t *self)
{
    return rh_brokers_endpoint (self->brokers, rh_brokers_current (self->brokers));
}
//  The clock that dates f/, h/ and i/ records and forgets them: real time, plus the test offset
//  when clock/offset_file is set (nothing else in the agent moves with it).
static int64_t
s_retention_now (rh_agent_t *self)
{
    return rh_time_now_ms () + self->clock_offset;
}

//  Tests move that clock by writing milliseconds into clock/offset_file; read once per tick.
static void
s_read_clock (rh_agent_t *self)
{
    int64_t offset = rh_time_offset_file (rh_config_str (self->config, "clock/offset_file"));
    if (offset >= 0)
        self->clock_offset = offset;
}

static void s_error (rh_agent_t *self, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

static void
s_error (rh_agent_t *self, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    vsnprintf (self->last_error, sizeof self->last_error, format, args);
    va_end (args);
    self->last_error_ms = rh_time_now_ms ();
    self->status_dirty = true;
    rh_log_warn (self->agency, "%s", self->last_error);
}

static void
s_outbox_key (uint64_t seq, char *key, size_t size)
{
    snprintf (key, size, "o/%020" PRIu64, seq);
}

void
rh_agent_paths (rh_config_t *config, char *outbox, char *inbox, char *failed, char *status,
                size_t size)
{
    const char *spool = rh_config_str (config, "spool/dir");
    rh_file_path (outbox, size, "%s/outbox", spool);
    rh_file_path (inbox, size, "%s/inbox", spool);
    rh_file_path (failed, size, "%s/failed", spool);
    rh_file_path (status, size, "%s/status.json", rh_config_str (config, "data/dir"));
}

//  Writes a file into failed/ with a .error beside it saying why. Returns 0, or -1 (errno set)
//  if either could not be written.
static int
s_fail_file (rh_agent_t *self, const char *name, const uint8_t *content, size_t size,
             const char *why)
{
    char path [PATH_MAX], text [1024];
    rh_file_path (path, sizeof path, "%s/%s", self->failed, name);
    if (content && rh_file_write_atomic (path, content, size, 0640) != 0)
        return -1;
    rh_file_path (path, sizeof path, "%s/%s.error", self->failed, name);
    int length = snprintf (text, sizeof text, "%s\n", why);
    return rh_file_write_atomic (path, text, (size_t) length, 0640);
}

//  ---------------------------------------------------------------------------------------------
//  Referrals this agency made, followed through the broker's receipts, notices and alerts.
//  x/<msg id> holds what was sent; x/<msg id>/<field> what the agency has heard since. What
//  status.json shows is kept as it changes, so that writing it never walks the history:
//    xs/counts            {"by_state": {STATE: n}, "overdue": n, "ordinal": n}, with the batch
//    xq/<msg id>          the referral's ordinal (order taken in, 8 bytes)
//    xl/<~ordinal>        msg id of each open referral, newest first (20 digits, inverted)
//    xd/<ordinal>         msg id of each open overdue referral, oldest first
//  A state change needs the state before it: a batch can hold several changes to one
//  referral, and reads see only committed data, so the batch's changes are kept beside it
//  (self->touched) until it is committed.

//  One referral as the pending batch leaves it.
struct _s_touched_t {
    char msg_id [RH_MAX_ID + 1];
    uint32_t hash;     //  of msg_id, to look it up quickly
    bool exists;       //  x/<msg id> is there (a referral we sent and the broker did not refuse)
    bool overdue;      //  x/<msg id>/overdue is there
    char state [24];   //  its state
    uint64_t ordinal;  //  from xq/
};

static uint32_t
s_hash_id (const char *text)
{
    uint32_t hash = 2166136261u;  //  FNV-1a
    for (; *text; text++)
        hash = (hash ^ (uint8_t) *text) * 16777619u;
    return hash;
}

static void
s_index_key (char *key, size_t size, const char *prefix, uint64_t ordinal)
{
    snprintf (key, size, "%s%020" PRIu64, prefix, ordinal);
}

//  The referral as the pending batch leaves it, read from the database the first time the
//  batch touches it (unless fresh: a referral just taken in has nothing to read). Returns NULL
//  if msg_id is too long or memory ran out.
static s_touched_t *
s_touch_as (rh_agent_t *self, const char *msg_id, bool fresh)
{
    if (strlen (msg_id) > RH_MAX_ID)
        return NULL;
    uint32_t hash = s_hash_id (msg_id);
    for (size_t i = 0; i < self->touched_count; i++)
        if (self->touched [i].hash == hash && strcmp (self->touched [i].msg_id, msg_id) == 0)
            return &self->touched [i];
    if (self->touched_count == self->touched_size) {
        size_t grown = self->touched_size ? self->touched_size * 2 : 256;
        s_touched_t *bigger = realloc (self->touched, grown * sizeof *bigger);
        if (!bigger)
            return NULL;
        self->touched = bigger;
        self->touched_size = grown;
    }
    s_touched_t *touched = &self->touched [self->touched_count++];
    memset (touched, 0, sizeof *touched);
    snprintf (touched->msg_id, sizeof touched->msg_id, "%s", msg_id);
    touched->hash = hash;
    if (fresh)
        return touched;
    char key [RH_MAX_ID + 16];
    snprintf (key, sizeof key, "x/%s", msg_id);
    touched->exists = rh_db_has (self->db, key, strlen (key));
    snprintf (key, sizeof key, "x/%s/state", msg_id);
    if (!rh_db_get_text (self->db, key, touched->state, sizeof touched->state - 1))
        snprintf (touched->state, sizeof touched->state, "SENT");
    snprintf (key, sizeof key, "x/%s/overdue", msg_id);
    touched->overdue = rh_db_has (self->db, key, strlen (key));
    snprintf (key, sizeof key, "xq/%s", msg_id);
    uint8_t *value = NULL;
    size_t size = 0;
    if (rh_db_get (self->db, key, strlen (key), &value, &size) == 0 && size == 8)
        memcpy (&touched->ordinal, value, 8);
    free (value);
    return touched;
}

static s_touched_t *
s_touch (rh_agent_t *self, const char *msg_id)
{
    return s_touch_as (self, msg_id, false);
}

//  Adds delta to the count of referrals in state.
static void
s_count_state (rh_agent_t *self, const char *state, int delta)
{
    json_int_t count = json_integer_value (json_object_get (self->by_state, state)) + delta;
    if (count > 0)
        json_object_set_new (self->by_state, state, json_integer (count));
    else
        json_object_del (self->by_state, state);
    self->counts_dirty = true;
}

//  Puts a referral into (or takes it out of) the open and overdue indexes.
static void
s_index_referral (rh_agent_t *self, const s_touched_t *touched, bool open, bool overdue)
{
    char key [32];
    s_index_key (key, sizeof key, "xl/", UINT64_MAX - touched->ordinal);
    if (open)
        rh_db_put (self->db, key, strlen (key), touched->msg_id, strlen (touched->msg_id));
    else
        rh_db_delete (self->db, key, strlen (key));
    s_index_key (key, sizeof key, "xd/", touched->ordinal);
    if (overdue)
        rh_db_put (self->db, key, strlen (key), touched->msg_id, strlen (touched->msg_id));
    else
        rh_db_delete (self->db, key, strlen (key));
}

//  Follows a referral this agency has just taken into its outbox (pending batch).
static void
s_referral_sent (rh_agent_t *self, const char *msg_id, const char *case_id)
{
    s_touched_t *touched = s_touch_as (self, msg_id, true);
    if (!touched)
        return;
    char key [RH_MAX_ID + 8];
    snprintf (key, sizeof key, "x/%s", msg_id);
    rh_db_put (self->db, key, strlen (key), case_id, strlen (case_id));
    touched->exists = true;
    touched->overdue = false;
    touched->ordinal = ++self->ordinal;
    snprintf (touched->state, sizeof touched->state, "SENT");
    snprintf (key, sizeof key, "xq/%s", msg_id);
    rh_db_put (self->db, key, strlen (key), &touched->ordinal, 8);
    s_index_referral (self, touched, true, false);
    s_count_state (self, "SENT", 1);
}

//  Records what the agency heard about a referral: one field, and when it changes what
//  status.json counts (state, overdue), the counts and indexes.
static void
s_track (rh_agent_t *self, const char *msg_id, const char *field, const char *value)
{
    char key [RH_MAX_ID * 2 + 8];
    snprintf (key, sizeof key, "x/%s/%s", msg_id, field);
    bool is_state = strcmp (field, "state") == 0, is_overdue = strcmp (field, "overdue") == 0;
    s_touched_t *touched = is_state || is_overdue ? s_touch (self, msg_id) : NULL;
    if ((is_state || is_overdue) && (!touched || strlen (value) >= sizeof touched->state))
        return;
    rh_db_put (self->db, key, strlen (key), value, strlen (value));
    if (!touched || !touched->exists)
        return;  //  not one of ours (or refused): status.json does not show it
    bool was_open = strcmp (touched->state, "CLOSED") != 0;
    bool was_overdue = was_open && touched->overdue;
    if (is_state) {
        s_count_state (self, touched->state, -1);
        s_count_state (self, value, 1);
        snprintf (touched->state, sizeof touched->state, "%s", value);
    }
    else
        touched->overdue = true;
    bool open = strcmp (touched->state, "CLOSED") != 0;
    bool overdue = open && touched->overdue;
    if (open != was_open || overdue != was_overdue) {
        s_index_referral (self, touched, open, overdue);
        self->overdue += overdue;
        self->overdue -= was_overdue;
        self->counts_dirty = true;
    }
}

//  Forgets a referral the broker refused.
static void
s_referral_refused (rh_agent_t *self, const char *msg_id)
{
    s_touched_t *touched = s_touch (self, msg_id);
    if (!touched || !touched->exists)
        return;
    char key [RH_MAX_ID + 8];
    snprintf (key, sizeof key, "x/%s", msg_id);
    rh_db_delete (self->db, key, strlen (key));
    snprintf (key, sizeof key, "xq/%s", msg_id);
    rh_db_delete (self->db, key, strlen (key));
    bool was_open = strcmp (touched->state, "CLOSED") != 0;
    s_index_referral (self, touched, false, false);
    self->overdue -= was_open && touched->overdue;
    s_count_state (self, touched->state, -1);
    touched->exists = false;
}

//  Commits the pending batch (durably when sync), with the counts it changed. Returns 0, or
//  -1 if storage failed.
static int
s_commit (rh_agent_t *self, bool sync)
{
    if (self->counts_dirty) {
        json_t *counts =
            json_pack ("{s:O, s:I, s:I}", "by_state", self->by_state, "overdue",
                       (json_int_t) self->overdue, "ordinal", (json_int_t) self->ordinal);
        char *text = counts ? json_dumps (counts, JSON_COMPACT) : NULL;
        json_decref (counts);
        if (!text)
            return -1;
        rh_db_put (self->db, "xs/counts", 9, text, strlen (text));
        free (text);
        self->counts_dirty = false;
    }
    int rc = rh_db_commit (self->db, sync);
    self->touched_count = 0;  //  committed (or, on failure, the agent stops)
    return rc;
}

//  Loads the counts, or builds them and the indexes with one walk over x/ when the database
//  predates them (once). Returns 0, or -1 if storage failed.
static int
s_referrals_load (rh_agent_t *self)
{
    uint8_t *text = NULL;
    size_t size = 0;
    if (rh_db_get (self->db, "xs/counts", 9, &text, &size) == 0) {
        json_t *counts = json_loadb ((const char *) text, size, 0, NULL);
        free (text);
        json_t *by_state = json_object_get (counts, "by_state");
        if (json_is_object (by_state)) {
            json_decref (self->by_state);
            self->by_state = json_incref (by_state);
            self->overdue = (uint64_t) json_integer_value (json_object_get (counts, "overdue"));
            self->ordinal = (uint64_t) json_integer_value (json_object_get (counts, "ordinal"));
            json_decref (counts);
            return 0;
        }
        json_decref (counts);
    }
    rh_log_info (self->agency, "indexing the referrals this agency made (once)");
    rh_db_iter_t *iter = rh_db_iter_new (self->db, "x/", 2);
    s_touched_t current = { .exists = false };
    for (;; rh_db_iter_next (iter)) {
        bool valid = iter && rh_db_iter_valid (iter);
        size_t key_size = 0, value_size = 0;
        const uint8_t *key = valid ? rh_db_iter_key (iter, &key_size) : NULL;
        const uint8_t *value = valid ? rh_db_iter_value (iter, &value_size) : NULL;
        char name [RH_MAX_ID * 2 + 8];
        if (valid && key_size >= sizeof name)
            continue;
        if (valid) {
            memcpy (name, key + 2, key_size - 2);
            name [key_size - 2] = 0;
        }
        char *slash = valid ? strchr (name, '/') : NULL;
        if (valid && slash) {
            *slash = 0;
            if (current.exists && strcmp (name, current.msg_id) == 0) {
                if (strcmp (slash + 1, "state") == 0 && value_size < sizeof current.state) {
                    memcpy (current.state, value, value_size);
                    current.state [value_size] = 0;
                }
                else if (strcmp (slash + 1, "overdue") == 0)
                    current.overdue = true;
            }
            continue;
        }
        if (current.exists) {
            //  The one before is complete.
            bool open = strcmp (current.state, "CLOSED") != 0;
            char xq [RH_MAX_ID + 8];
            snprintf (xq, sizeof xq, "xq/%s", current.msg_id);
            rh_db_put (self->db, xq, strlen (xq), &current.ordinal, 8);
            s_index_referral (self, &current, open, open && current.overdue);
            s_count_state (self, current.state, 1);
            self->overdue += open && current.overdue;
            if (rh_db_pending (self->db) >= RH_MAX_BATCH && s_commit (self, false) != 0)
                break;
        }
        if (!valid || strlen (name) > RH_MAX_ID)
            break;
        memset (&current, 0, sizeof current);
        snprintf (current.msg_id, sizeof current.msg_id, "%.*s", RH_MAX_ID, name);
        snprintf (current.state, sizeof current.state, "SENT");
        current.exists = true;
        current.ordinal = ++self->ordinal;
    }
    rh_db_iter_destroy (&iter);
    self->counts_dirty = true;
    return s_commit (self, true);
}

//  One referral for status.json: {msg_id, case_id, state, and what was heard since}. Reads
//  only its own keys. Returns NULL if it is not there.
static json_t *
s_referral_json (rh_agent_t *self, const char *msg_id)
{
    char prefix [RH_MAX_ID + 8];
    int prefix_size = snprintf (prefix, sizeof prefix, "x/%s", msg_id);
    rh_db_iter_t *iter = rh_db_iter_new (self->db, prefix, (size_t) prefix_size);
    json_t *referral = NULL;
    for (; iter && rh_db_iter_valid (iter); rh_db_iter_next (iter)) {
        size_t key_size = 0, value_size = 0;
        const char *key = (const char *) rh_db_iter_key (iter, &key_size);
        const char *value = (const char *) rh_db_iter_value (iter, &value_size);
        if (key_size == (size_t) prefix_size && !referral)
            referral = json_pack ("{s:s, s:s%, s:s}", "msg_id", msg_id, "case_id", value,
                                  value_size, "state", "SENT");
        else if (referral && key_size > (size_t) prefix_size + 1 && key [prefix_size] == '/'
                 && key_size - (size_t) prefix_size - 1 <= RH_MAX_ID) {
            char field [RH_MAX_ID + 1];
            memcpy (field, key + prefix_size + 1, key_size - (size_t) prefix_size - 1);
            field [key_size - (size_t) prefix_size - 1] = 0;
            json_object_set_new (referral, field, json_stringn (value, value_size));
        }
    }
    rh_db_iter_destroy (&iter);
    return referral;
}

static const char *
s_enum_text (const ProtobufCEnumDescriptor *descriptor, int value)
{
    const ProtobufCEnumValue *found = protobuf_c_enum_descriptor_get_value (descriptor, value);
    return found ? found->name : "?";
}

//  What a broker message says about one of our referrals.
static void
s_track_news (rh_agent_t *self, rh_envelope_t *envelope)
{
    const ProtobufCMessage *body = rh_envelope_body (envelope);
    rh_kind_t kind = rh_envelope_kind (envelope);
    if (!body
        || strcmp (rh_envelope_sender (envelope), rh_config_str (self->config, "broker/identity"))
               != 0)
        return;
    char text [64];
    if (kind == RH_KIND_RECEIPT) {
        const Rhannu__V1__Receipt *receipt = (const Rhannu__V1__Receipt *) body;
        s_track (self, receipt->original_msg_id, "state", "ACKNOWLEDGED");
        s_track (self, receipt->original_msg_id, "holder",
                 *receipt->held_by_label ? receipt->held_by_label : receipt->held_by);
        snprintf (text, sizeof text, "%" PRId64, receipt->outcome_due_ms);
        s_track (self, receipt->original_msg_id, "due", text);
        if (self->outcome)
            self->outcome (self->outcome_arg, RH_AGENT_RECEIPT, receipt->original_msg_id,
                           *receipt->held_by_label ? receipt->held_by_label : receipt->held_by);
    }
    else if (kind == RH_KIND_NOTICE) {
        const Rhannu__V1__Notice *notice = (const Rhannu__V1__Notice *) body;
        if (strcmp (notice->role, "referrer") != 0)
            return;
        if (notice->notice_kind == RHANNU__V1__NOTICE_KIND__NOTICE_OUTCOME) {
            s_track (self, notice->referral_msg_id, "state", "DECIDED");
            const char *decision =
                s_enum_text (&rhannu__v1__decision__descriptor, notice->decision);
            s_track (self, notice->referral_msg_id, "decision", decision);
            if (self->outcome)
                self->outcome (self->outcome_arg, RH_AGENT_DECISION, notice->referral_msg_id,
                               decision);
        }
        else if (notice->notice_kind == RHANNU__V1__NOTICE_KIND__NOTICE_STRATEGY_MEETING) {
            //  Strategy meetings: the referrer was told a meeting was held (and its summary).
            s_track (self, notice->referral_msg_id, "update", "STRATEGY_MEETING_HELD");
            if (self->outcome)
                self->outcome (self->outcome_arg, RH_AGENT_UPDATE, notice->referral_msg_id,
                               "STRATEGY_MEETING_HELD");
        }
        else {
            const char *update =
                s_enum_text (&rhannu__v1__update_kind__descriptor, notice->update_kind);
            s_track (self, notice->referral_msg_id, "update", update);
            if (notice->update_kind == RHANNU__V1__UPDATE_KIND__CLOSED)
                s_track (self, notice->referral_msg_id, "state", "CLOSED");
            else if (notice->update_kind == RHANNU__V1__UPDATE_KIND__REOPENED)
                s_track (self, notice->referral_msg_id, "state", "REOPENED");
            else if (notice->update_kind == RHANNU__V1__UPDATE_KIND__UNDER_SCREENING)
                s_track (self, notice->referral_msg_id, "state", "SCREENING");
            else if (notice->update_kind == RHANNU__V1__UPDATE_KIND__ON_HOLD)
                s_track (self, notice->referral_msg_id, "state", "ON_HOLD");
            if (self->outcome)
                self->outcome (self->outcome_arg, RH_AGENT_UPDATE, notice->referral_msg_id, update);
        }
    }
    else if (kind == RH_KIND_ALERT) {
        const Rhannu__V1__Alert *alert = (const Rhannu__V1__Alert *) body;
        if (alert->alert_kind == RHANNU__V1__ALERT_KIND__OUTCOME_OVERDUE
            || alert->alert_kind == RHANNU__V1__ALERT_KIND__ACKNOWLEDGEMENT_OVERDUE) {
            const char *referral = rh_envelope_in_reply_to (envelope);
            const s_touched_t *touched = *referral ? s_touch (self, referral) : NULL;
            if (touched && touched->exists)
                s_track (self, referral, "overdue",
                         alert->outage_attributed ? "overdue (outage)" : "overdue");
        }
        else if (alert->alert_kind == RHANNU__V1__ALERT_KIND__INFO_REQUEST_REMINDER
                 || alert->alert_kind == RHANNU__V1__ALERT_KIND__INFO_REQUEST_OVERDUE) {
            if (alert->alert_kind == RHANNU__V1__ALERT_KIND__INFO_REQUEST_REMINDER)
                self->lateral_reminders++;
            else
                self->lateral_overdue++;
            snprintf (self->lateral_request, sizeof self->lateral_request, "%s",
                      rh_envelope_in_reply_to (envelope));
        }
    }
}

//  Open referrals for status.json: counts by state, the latest and the overdue ones. Reads
//  the counts and at most 2 * RH_STATUS_REFERRALS referrals, however many were ever sent.
static json_t *
s_referrals_status (rh_agent_t *self)
{
    json_t *latest = json_array (), *overdue_list = json_array ();
    json_int_t open = 0;
    const char *state;
    json_t *count;
    json_object_foreach (self->by_state, state, count) if (strcmp (state, "CLOSED") != 0) open +=
        json_integer_value (count);
    //  xl/ holds the newest first; status.json lists them oldest first, as it always has.
    rh_db_iter_t *iter = rh_db_iter_new (self->db, "xl/", 3);
    for (; iter && rh_db_iter_valid (iter) && json_array_size (latest) < RH_STATUS_REFERRALS;
         rh_db_iter_next (iter)) {
        size_t size = 0;
        const uint8_t *value = rh_db_iter_value (iter, &size);
        char msg_id [RH_MAX_ID + 1];
        if (size == 0 || size > RH_MAX_ID)
            continue;
        memcpy (msg_id, value, size);
        msg_id [size] = 0;
        json_t *referral = s_referral_json (self, msg_id);
        if (referral)
            json_array_insert_new (latest, 0, referral);
    }
    rh_db_iter_destroy (&iter);
    iter = rh_db_iter_new (self->db, "xd/", 3);
    for (; iter && rh_db_iter_valid (iter) && json_array_size (overdue_list) < RH_STATUS_REFERRALS;
         rh_db_iter_next (iter)) {
        size_t size = 0;
        const uint8_t *value = rh_db_iter_value (iter, &size);
        char msg_id [RH_MAX_ID + 1];
        if (size == 0 || size > RH_MAX_ID)
            continue;
        memcpy (msg_id, value, size);
        msg_id [size] = 0;
        json_t *referral = s_referral_json (self, msg_id);
        if (referral)
            json_array_append_new (overdue_list, referral);
    }
    rh_db_iter_destroy (&iter);
    return json_pack ("{s:I, s:I, s:o, s:o, s:o}", "open", open, "overdue",
                      (json_int_t) self->overdue, "by_state", json_deep_copy (self->by_state),
                      "latest", latest, "overdue_list", overdue_list);
}

//  ---------------------------------------------------------------------------------------------
//  Status

static void
s_write_status (rh_agent_t *self)
{
    char updated [32], error_at [32];
    json_t *root = json_pack (
        "{s:s, s:b, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:s, s:s}", "agency", self->agency,
        "connected", self->connected, "broker", s_broker (self), "outbox_queued",
        (json_int_t) self->queued, "in_flight", (json_int_t) self->flight_count, "accepted",
        (json_int_t) self->accepted, "rejected", (json_int_t) self->rejected, "broker_busy",
        (json_int_t) self->busy, "received", (json_int_t) self->received, "duplicates_dropped",
        (json_int_t) self->duplicates, "last_error", self->last_error, "last_error_at",
        self->last_error_ms ? rh_time_format (self->last_error_ms, error_at, sizeof error_at) : "",
        "updated", rh_time_format (rh_time_now_ms (), updated, sizeof updated));
    if (root) {
        //  Which broker of the list is in use, how often the agent moved, and how long the last
        //  outage left it unanswered (last answer before it to the first after).
        json_object_set_new (root, "brokers",
                             json_integer ((json_int_t) rh_brokers_size (self->brokers)));
        json_object_set_new (root, "failovers",
                             json_integer ((json_int_t) rh_brokers_moves (self->brokers)));
        json_object_set_new (root, "last_outage_ms", json_integer (self->last_outage_ms));
    }
    if (root && self->pruner)
        //  The per-message records kept to bind replies and guard spool files: what the last
        //  complete pass kept (levels off at a retention's worth), and what was forgotten.
        json_object_set_new (
            root, "retention",
            json_pack ("{s:I, s:I, s:I, s:I}", "days",
                       (json_int_t) rh_config_int (self->config, "data/retention_days"), "kept",
                       (json_int_t) rh_pruner_kept (self->pruner), "forgotten",
                       (json_int_t) rh_pruner_pruned (self->pruner), "passes",
                       (json_int_t) rh_pruner_passes (self->pruner)));
    if (root && self->link) {
        //  Why we are not connected, when we are not, in a word and in a sentence.
        json_object_set_new (root, "connection",
                             json_string (rh_link_state_name (rh_link_state (self->link))));
        json_object_set_new (root, "connection_detail", json_string (rh_link_text (self->link)));
    }
    if (root) {
        //  Whether deliveries are being taken in, and if not why (no message content).
        char since [32];
        const char *code = self->paused ? strerrorname_np (self->paused_errno) : NULL;
        json_object_set_new (root, "receiving", json_string (self->paused ? "paused" : "active"));
        json_object_set_new (root, "receiving_reason",
                             json_string (self->paused ? self->paused_reason : ""));
        json_object_set_new (root, "receiving_error", json_string (code ? code : ""));
        json_object_set_new (
            root, "receiving_paused_since",
            json_string (self->paused ? rh_time_format (self->paused_ms, since, sizeof since)
                                      : ""));
        json_object_set_new (root, "receive_credit",
                             json_integer (self->paused ? 0 : (json_int_t) self->credit));
        json_object_set_new (root, "deliveries_declined",
                             json_integer ((json_int_t) self->declined));
        json_object_set_new (root, "resent", json_integer ((json_int_t) self->resent));
        //  Messages the broker refused as not yet valid: kept in the outbox, sent again.
        json_t *waiting = json_array ();
        int64_t next = 0;
        for (size_t i = 0; i < self->deferred_count; i++) {
            json_array_append_new (waiting, json_string (self->deferred [i].msg_id));
            if (!next || self->deferred [i].due_ms < next)
                next = self->deferred [i].due_ms;
        }
        char next_text [32];
        json_object_set_new (
            root, "not_yet_valid",
            json_pack ("{s:I, s:o, s:s}", "waiting", (json_int_t) self->deferred_count, "msg_ids",
                       waiting, "next_retry",
                       next ? rh_time_format (next, next_text, sizeof next_text) : ""));
        //  Deliveries that did not verify here: left with the broker, never taken in.
        char last [32];
        json_object_set_new (
            root, "unverified",
            json_pack ("{s:I, s:s, s:s}", "deliveries", (json_int_t) self->unverified, "last_code",
                       self->unverified_code, "last_at",
                       self->unverified_ms ? rh_time_format (self->unverified_ms, last, sizeof last)
                                           : ""));
        json_object_set_new (root, "referrals", s_referrals_status (self));
        json_object_set_new (root, "lateral_checks",
                             json_pack ("{s:I, s:I, s:s}", "reminders",
                                        (json_int_t) self->lateral_reminders, "overdue",
                                        (json_int_t) self->lateral_overdue, "last_request",
                                        self->lateral_request));
    }
    if (root) {
        char hex [RH_DIGEST_LEN * 2 + 1];
        sodium_bin2hex (hex, sizeof hex, self->trusted.root, RH_DIGEST_LEN);
        json_object_set_new (
            root, "audit_log",
            json_pack (
                "{s:s, s:I, s:s, s:s, s:I, s:I, s:I}", "state",
                *self->alarm                               ? "HISTORY_REWRITTEN"
                : self->awaiting_size > self->trusted.size ? "AWAITING_WITNESSES"
                : self->trusted.size > 0                   ? "CONSISTENT"
                                                           : "NO_CHECKPOINT_YET",
                "checkpoint_size", (json_int_t) self->trusted.size, "root",
                self->trusted.size ? hex : "", "alarm", self->alarm, "witness_quorum",
                (json_int_t) self->quorum, "awaiting_size",
                (json_int_t) (self->awaiting_size > self->trusted.size ? self->awaiting_size : 0),
                "awaiting_cosigned", (json_int_t) self->awaiting_cosigned));
    }
    if (root) {
        const rh_bundle_t *bundle = rh_trust_bundle (self->trust);
        char expires [32] = "";
        if (bundle)
            rh_time_format (rh_bundle_expires_ms (bundle), expires, sizeof expires);
        json_object_set_new (root, "trust",
                             json_pack ("{s:s, s:I, s:s, s:I}", "state",
                                        s_trust_state (self, rh_time_now_ms ()), "bundle_version",
                                        (json_int_t) rh_trust_version (self->trust),
                                        "bundle_expires", expires, "deliveries_declined_untrusted",
                                        (json_int_t) self->untrusted));
    }
    char *text = root ? json_dumps (root, JSON_INDENT (2) | JSON_PRESERVE_ORDER) : NULL;
    if (text)
        rh_file_write_atomic (self->status_path, text, strlen (text), 0644);
    free (text);
    json_decref (root);
    self->status_dirty = false;
}

//  ---------------------------------------------------------------------------------------------
//  Outbox: spool files in, signed messages out

//  A spool file the agent takes: NAME.json, not hidden.
static bool
s_spool_name (const char *name)
{
    size_t length = strlen (name);
    return name [0] != '.' && length >= 6 && strcmp (name + length - 5, ".json") == 0;
}

static int
s_name_order (const void *a, const void *b)
{
    return strcoll (*(char *const *) a, *(char *const *) b);
}

//  Forgets the listing of outbox/.
static void
s_listing_free (rh_agent_t *self)
{
    for (size_t i = 0; i < self->listing_count; i++)
        free (self->listing [i]);
    free (self->listing);
    self->listing = NULL;
    self->listing_count = self->listing_next = 0;
}

//  Lists the spool files in outbox/, in name order: a system that drops an outcome and then a
//  closure together can rely on them being sent in that order. Only names are held (a few
//  bytes each), whatever the outbox holds.
static void
s_list_outbox (rh_agent_t *self)
{
    s_listing_free (self);
    DIR *dir = opendir (self->outbox);
    if (!dir)
        return;
    size_t capacity = 0;
    struct dirent *entry;
    while ((entry = readdir (dir))) {
        if (!s_spool_name (entry->d_name))
            continue;
        if (self->listing_count == capacity) {
            size_t grown = capacity ? capacity * 2 : 64;
            char **bigger = realloc (self->listing, grown * sizeof *bigger);
            if (!bigger)
                break;  //  the rest waits for the next listing
            self->listing = bigger;
            capacity = grown;
        }
        if (!(self->listing [self->listing_count] = strdup (entry->d_name)))
            break;
        self->listing_count++;
    }
    closedir (dir);
    if (self->listing_count)
        qsort (self->listing, self->listing_count, sizeof *self->listing, s_name_order);
    self->relist = false;
}

//  Reads one spool file, checks it was not taken before and parses it. Returns an envelope
//  (the caller owns it, with *content and hash filled in) or NULL when the file was handled
//  otherwise: gone, taken before a crash, moved to failed/, or still being written.
static rh_envelope_t *
s_read_spool (rh_agent_t *self, const char *name, uint8_t **content, size_t *size,
              uint8_t hash [RH_DIGEST_LEN])
{
    char path [PATH_MAX];
    *content = NULL;
    if (rh_file_path (path, sizeof path, "%s/%s", self->outbox, name) != 0)
        return NULL;
    if (rh_file_read (path, RH_MAX_ENVELOPE, content, size) != 0) {
        if (errno == EFBIG || errno == EINVAL) {
            s_fail_file (self, name, NULL, 0, "file is too large or not a regular file");
            unlink (path);
            s_error (self, "%s: too large or not a regular file; moved to failed/", name);
        }
        return NULL;
    }
    rh_sha256 (hash, *content, *size);
    char key [NAME_MAX + 8];
    snprintf (key, sizeof key, "f/%s", name);
    uint8_t *seen = NULL;
    size_t seen_size = 0;
    if (rh_db_get (self->db, key, strlen (key), &seen, &seen_size) == 0
        && rh_pruner_digest (seen, seen_size)
        && memcmp (rh_pruner_digest (seen, seen_size), hash, RH_DIGEST_LEN) == 0) {
        //  Taken in before a crash stopped us removing it.
        unlink (path);
        free (seen);
        free (*content);
        *content = NULL;
        return NULL;
    }
    free (seen);
    char error [1024] = "";
    rh_envelope_t *envelope = rh_json_to_envelope_keyed (
        *content, *size, self->has_subject_secret ? self->subject_secret : NULL, error,
        sizeof error);
    if (envelope)
        return envelope;
    struct stat st;
    if (stat (path, &st) == 0
        && rh_time_now_ms () - ((int64_t) st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000)
               < RH_SPOOL_GRACE_MS) {
        //  Probably still being written by a system that does not write-then-rename: a JSON
        //  object is never complete before its last byte, so look again later.
        self->relist_at = rh_time_now_ms () + RH_SPOOL_GRACE_MS;
    }
    else {
        s_fail_file (self, name, *content, *size, error);
        unlink (path);
        s_error (self, "%s: %s; moved to failed/", name, error);
    }
    free (*content);
    *content = NULL;
    return NULL;
}

//  True when the ring and the sealer can take one more message.
static bool
s_sealer_room (rh_agent_t *self)
{
    return self->spool_count < RH_SEAL_CREDIT && rh_sealer_has_room (self->sealer);
}

//  The one way into the outbox, for spool files and library submissions alike: gives the
//  message the next sender sequence and hands it to the sealer, in the ring's order; its
//  record is committed by s_take_sealed. Takes ownership of *envelope_p and json when it
//  returns RH_SEALER_QUEUED; otherwise the caller keeps both. name is the spool file's (NULL
//  for a library submission), hash that of json (spool files only).
static void s_bind_reply (rh_agent_t *self, rh_envelope_t *envelope);
static void s_note_arrival (rh_agent_t *self, const char *key, rh_envelope_t *envelope);

static int
s_seal (rh_agent_t *self, rh_envelope_t **envelope_p, uint8_t *json, size_t json_size,
        const char *name, const uint8_t *hash)
{
    if (!s_sealer_room (self))
        return RH_SEALER_BUSY;
    s_spool_t *spool = &self->spool [(self->spool_head + self->spool_count) % RH_SEAL_CREDIT];
    uint64_t sequence = self->next_sequence + 1;
    bool referral = rh_envelope_kind (*envelope_p) == RH_KIND_REFERRAL;
    s_bind_reply (self, *envelope_p);
    if (rh_envelope_set_sequence (*envelope_p, sequence) != 0)
        return RH_SEALER_REFUSED;
    int rc = rh_sealer_submit (self->sealer, envelope_p, sequence);
    if (rc != RH_SEALER_QUEUED)
        return rc;
    memset (spool, 0, sizeof *spool);
    snprintf (spool->name, sizeof spool->name, "%s", name ? name : "");
    spool->api = !name;
    spool->json = json;
    spool->json_size = json_size;
    if (hash)
        memcpy (spool->hash, hash, RH_DIGEST_LEN);
    spool->sequence = sequence;
    spool->referral = referral;
    self->next_sequence++;
    self->spool_count++;
    return RH_SEALER_QUEUED;
}

//  Hands spool files from the listing to the sealer while it has credit: at most RH_MAX_BATCH
//  files looked at per call, so that one pass of the loop stays short.
static void
s_feed_sealer (rh_agent_t *self)
{
    for (size_t looked = 0;
         looked < RH_MAX_BATCH && self->listing_next < self->listing_count && s_sealer_room (self);
         looked++) {
        const char *name = self->listing [self->listing_next++];
        uint8_t *json = NULL, hash [RH_DIGEST_LEN];
        size_t json_size = 0;
        rh_envelope_t *envelope = s_read_spool (self, name, &json, &json_size, hash);
        if (!envelope)
            continue;
        if (s_seal (self, &envelope, json, json_size, name, hash) != RH_SEALER_QUEUED) {
            //  Not taken: the file stays in outbox/ for the next listing.
            rh_envelope_destroy (&envelope);
            free (json);
            break;
        }
    }
}

//  Takes the sealer's results into the outbox database, then commits them at once (one
//  synchronous commit per batch) and removes their spool files. Returns -1 if storage failed.
static int
s_take_sealed (rh_agent_t *self)
{
    while (self->spool_sealed < self->spool_count) {
        s_spool_t *spool = &self->spool [(self->spool_head + self->spool_sealed) % RH_SEAL_CREDIT];
        if (rh_sealer_result (self->sealer, &spool->result) != 0)
            break;
        self->spool_sealed++;
        spool->sealed = true;
        //  The message id is known once the envelope is sealed (a generated one too).
        if (spool->api && spool->id_out && spool->result.rc == 0)
            snprintf (spool->id_out, RH_AGENT_ID_SIZE, "%s",
                      rh_envelope_msg_id (spool->result.envelope));
        if (NEVER (spool->result.tag != spool->sequence) || spool->result.rc != 0) {
            const char *error = "cannot sign: a value breaks a limit";
            spool->sealed = false;  //  nothing to commit for it
            rh_sealed_release (&spool->result);
            if (spool->api) {
                //  Told to the caller of rh_agent_submit, which is waiting for it.
                if (spool->submit->refused++ == 0)
                    snprintf (spool->submit->error, sizeof spool->submit->error, "%s", error);
                if (spool->id_out)
                    *spool->id_out = 0;
                continue;
            }
            char path [PATH_MAX];
            rh_file_path (path, sizeof path, "%s/%s", self->outbox, spool->name);
            s_fail_file (self, spool->name, spool->json, spool->json_size, error);
            unlink (path);
            s_error (self, "%s: %s; moved to failed/", spool->name, error);
        }
    }
    //  One commit for a whole drop when it is small, and for half the credit at a time when it
    //  is large (the sealer goes on with the rest meanwhile). Nothing goes into the database
    //  before: a record committed by some other commit could be sent before it is durable.
    if (self->spool_sealed == 0
        || (self->spool_sealed < self->spool_count && self->spool_sealed < RH_SEAL_CREDIT / 2))
        return 0;
    for (size_t i = 0; i < self->spool_sealed; i++) {
        s_spool_t *spool = &self->spool [(self->spool_head + i) % RH_SEAL_CREDIT];
        if (!spool->sealed)
            continue;
        rh_outgoing_t record = { .msg_id = rh_envelope_msg_id (spool->result.envelope),
                                 .sealed = spool->result.sealed,
                                 .sealed_size = spool->result.sealed_size,
                                 .file_name = spool->name,
                                 .json = spool->json,
                                 .json_size = spool->json_size };
        size_t record_size = 0;
        uint8_t *bytes = rh_record_encode_outgoing (&record, &record_size);
        if (bytes) {
            char outbox_key [32], key [NAME_MAX + 8];
            s_outbox_key (spool->sequence, outbox_key, sizeof outbox_key);
            rh_db_put (self->db, outbox_key, strlen (outbox_key), bytes, record_size);
            if (!spool->api) {
                uint8_t value [RH_PRUNER_VALUE_MAX];
                size_t value_size = rh_pruner_value (value, spool->hash, s_retention_now (self));
                snprintf (key, sizeof key, "f/%s", spool->name);
                rh_db_put (self->db, key, strlen (key), value, value_size);
            }
            if (spool->referral)
                s_referral_sent (self, rh_envelope_msg_id (spool->result.envelope),
                                 rh_envelope_case_id (spool->result.envelope));
            //  Strategy meetings: an invitation is answered by its own sender (the meeting's
            //  record), so its header digest is kept as an arrival's is, to bind that reply.
            if (rh_envelope_kind (spool->result.envelope) == RH_KIND_STRATEGY_MEETING) {
                snprintf (key, sizeof key, "h/%s", rh_envelope_msg_id (spool->result.envelope));
                s_note_arrival (self, key, spool->result.envelope);
            }
        }
        else if (spool->api) {
            spool->sealed = false;
            if (spool->submit->refused++ == 0)
                snprintf (spool->submit->error, sizeof spool->submit->error, "out of memory");
            if (spool->id_out)
                *spool->id_out = 0;
        }
        else
            spool->sealed = false;  //  left in outbox/: taken again with the next listing
        free (bytes);
        rh_sealed_release (&spool->result);
    }
    uint64_t sequence =
        self->spool [(self->spool_head + self->spool_sealed - 1) % RH_SEAL_CREDIT].sequence;
    rh_db_put (self->db, "n/seq", 5, &sequence, 8);
    //  Durable before the spool files go: a crash in between finds them under f/.
    if (s_commit (self, true) != 0)
        return -1;
    self->sequence = sequence;
    size_t taken = 0, files = 0;
    for (; self->spool_sealed > 0; self->spool_sealed--, self->spool_count--) {
        s_spool_t *spool = &self->spool [self->spool_head];
        self->spool_head = (self->spool_head + 1) % RH_SEAL_CREDIT;
        if (spool->sealed && !spool->api) {
            char path [PATH_MAX];
            rh_file_path (path, sizeof path, "%s/%s", self->outbox, spool->name);
            unlink (path);
            files++;
        }
        taken += spool->sealed;
        free (spool->json);
        spool->json = NULL;
    }
    //  No fsync of outbox/ here: if an unlink is lost to a power cut, the file comes back and
    //  its f/ record recognises it (the pruner forgets the record only once the file is gone,
    //  and flushes outbox/ before it does).
    self->queued += taken;
    self->status_dirty = true;
    //  Files taken may be part of a larger drop: look again as soon as this listing is done,
    //  whether or not a change notification says so.
    if (files > 0)
        self->relist = true;
    rh_log_debug (self->agency, "took %zu messages into the outbox (%zu spool files)", taken,
                  files);
    return 0;
}

//  Spool intake, one bounded step: takes what the sealer has signed, lists outbox/ again when
//  the last listing is done and something may have changed, and hands the sealer more. Returns
//  -1 if storage failed.
static int
s_intake_outbox (rh_agent_t *self, int64_t now)
{
    if (s_take_sealed (self) != 0)
        return -1;
    //  A new listing only once everything from the last is committed or left: a file in flight
    //  is still in outbox/ and must not be taken twice.
    bool due =
        now - self->last_scan >= self->scan_ms || (self->relist_at && now >= self->relist_at);
    if (self->listing_next >= self->listing_count && self->spool_count == 0
        && (self->relist || due)) {
        self->last_scan = now;
        self->relist_at = 0;
        s_list_outbox (self);
    }
    s_feed_sealer (self);
    return 0;
}

//  True while spool files wait to be handed to the sealer and it has room for them.
static bool
s_intake_busy (rh_agent_t *self)
{
    return self->listing_next < self->listing_count && self->spool_count < RH_SEAL_CREDIT
           && rh_sealer_has_room (self->sealer);
}

static void
s_send_frame (rh_agent_t *self, const rh_frame_t *frame)
{
    size_t size = 0;
    uint8_t *bytes = self->dealer ? rh_frame_encode (frame, &size) : NULL;
    if (bytes)
        zmq_send (self->dealer, bytes, size, ZMQ_DONTWAIT);
    free (bytes);
}

//  The deferred entry of outbox message seq, or NULL.
static s_deferred_t *
s_deferred_find (rh_agent_t *self, uint64_t seq)
{
    for (size_t i = 0; i < self->deferred_count; i++)
        if (self->deferred [i].seq == seq)
            return &self->deferred [i];
    return NULL;
}

static void
s_deferred_drop (rh_agent_t *self, uint64_t seq)
{
    s_deferred_t *deferred = s_deferred_find (self, seq);
    if (deferred) {
        *deferred = self->deferred [--self->deferred_count];
        self->status_dirty = true;
    }
}

//  The broker refused outbox message seq as not yet valid: not final (the clocks of the CA and
//  the broker may be apart), so it stays in the outbox and goes again later, waiting
//  RH_NOT_YET_VALID_RETRY_MS, then twice as long, up to RH_NOT_YET_VALID_MAX_RETRY_MS. Returns 0,
//  or -1 if it cannot be remembered (then it is refused for good, as before).
static int
s_defer (rh_agent_t *self, uint64_t seq, const char *msg_id, int64_t now)
{
    s_deferred_t *deferred = s_deferred_find (self, seq);
    if (!deferred) {
        if (self->deferred_count == self->deferred_capacity) {
            size_t capacity = self->deferred_capacity ? self->deferred_capacity * 2 : 16;
            s_deferred_t *grown = realloc (self->deferred, capacity * sizeof *grown);
            if (!grown)
                return -1;
            self->deferred = grown;
            self->deferred_capacity = capacity;
        }
        deferred = &self->deferred [self->deferred_count++];
        deferred->seq = seq;
        deferred->wait_ms = 0;
        snprintf (deferred->msg_id, sizeof deferred->msg_id, "%s", msg_id);
    }
    deferred->wait_ms =
        deferred->wait_ms ? deferred->wait_ms * 2 : (int64_t) RH_NOT_YET_VALID_RETRY_MS;
    if (deferred->wait_ms > RH_NOT_YET_VALID_MAX_RETRY_MS)
        deferred->wait_ms = RH_NOT_YET_VALID_MAX_RETRY_MS;
    deferred->due_ms = now + deferred->wait_ms;
    self->status_dirty = true;
    return 0;
}

//  Sends again the deferred messages that are due (from the head of the outbox: the cursor
//  skips those not due yet).
static void
s_deferred_tick (rh_agent_t *self, int64_t now)
{
    uint64_t first = UINT64_MAX;
    for (size_t i = 0; i < self->deferred_count; i++) {
        const s_deferred_t *deferred = &self->deferred [i];
        if (deferred->due_ms > now || deferred->due_ms == 0)
            continue;
        bool flying = false;
        for (size_t f = 0; f < self->flight_count && !flying; f++)
            flying = self->flights [f].seq == deferred->seq;
        if (!flying && deferred->seq < first)
            first = deferred->seq;
    }
    if (first != UINT64_MAX && first < self->cursor && self->connected) {
        //  Sent again with everything unanswered after it; the broker de-duplicates by id.
        self->cursor = first;
        self->flight_count = 0;
    }
}

//  Sends outbox messages from the cursor while the window allows.
static void
s_send_more (rh_agent_t *self)
{
    if (!self->connected || self->flight_count >= self->window
        || rh_trust_expired (self->trust, rh_time_now_ms ()))
        return;  //  with an expired bundle we send nothing: what we trust may be out of date
    int64_t now = rh_time_now_ms ();
    rh_db_iter_t *iter = rh_db_iter_new (self->db, "o/", 2);
    if (!iter)
        return;
    char key [32];
    s_outbox_key (self->cursor, key, sizeof key);
    rh_db_iter_seek (iter, key, strlen (key));
    for (; rh_db_iter_valid (iter) && self->flight_count < self->window; rh_db_iter_next (iter)) {
        size_t key_size = 0, size = 0;
        const uint8_t *found = rh_db_iter_key (iter, &key_size);
        const uint8_t *value = rh_db_iter_value (iter, &size);
        uint64_t seq = rh_db_key_sequence (found, key_size, 2);
        if (seq == UINT64_MAX)
            continue;
        const s_deferred_t *deferred = s_deferred_find (self, seq);
        if (deferred && deferred->due_ms > now) {
            self->cursor = seq + 1;  //  not yet: s_deferred_tick sends it when it is due
            continue;
        }
        rh_outgoing_t record;
        if (rh_record_decode_outgoing (value, size, &record) != RH_OK) {
            s_error (self, "outbox entry %" PRIu64 " does not decode; skipped", seq);
            self->cursor = seq + 1;
            continue;
        }
        rh_frame_t frame = { .type = RH_FRAME_SUBMIT,
                             .msg_id = record.msg_id,
                             .sealed = record.sealed,
                             .sealed_size = record.sealed_size };
        s_send_frame (self, &frame);
        s_flight_t *flight = &self->flights [self->flight_count++];
        flight->seq = seq;
        snprintf (flight->msg_id, sizeof flight->msg_id, "%s", record.msg_id);
        flight->sent_ms = rh_time_now_ms ();
        self->cursor = seq + 1;
        rh_record_release (&record.owned);
    }
    rh_db_iter_destroy (&iter);
}

//  The first outbox key (so that a reconnect resends everything not yet accepted).
static uint64_t
s_outbox_head (rh_agent_t *self)
{
    uint64_t head = self->sequence + 1;
    rh_db_iter_t *iter = rh_db_iter_new (self->db, "o/", 2);
    if (iter && rh_db_iter_valid (iter)) {
        size_t size = 0;
        const uint8_t *key = rh_db_iter_key (iter, &size);
        uint64_t seq = rh_db_key_sequence (key, size, 2);
        if (seq != UINT64_MAX)
            head = seq;
    }
    rh_db_iter_destroy (&iter);
    return head;
}

//  Forgets an outbox message the broker has answered; on rejection returns it to failed/.
static void
s_answered (rh_agent_t *self, const char *msg_id, const rh_frame_t *refusal)
{
    const char *code = refusal ? refusal->code : NULL;
    const char *reason = refusal ? refusal->reason : NULL;
    for (size_t i = 0; i < self->flight_count; i++) {
        if (strcmp (self->flights [i].msg_id, msg_id) != 0)
            continue;
        self->resend_wait_ms = self->resend_ms;  //  the broker answers again: no more backing off
        if (code && strcmp (code, rh_rc_name (RH_E_BUSY)) == 0) {
            //  Not a refusal: the broker was at its limit and kept nothing. The message stays
            //  in flight and goes again with the next resend.
            self->busy++;
            self->status_dirty = true;
            return;
        }
        if (code && strcmp (code, rh_rc_name (RH_E_NOT_YET_VALID)) == 0
            && s_defer (self, self->flights [i].seq, msg_id, rh_time_now_ms ()) == 0) {
            //  Not final: the broker's clock may be behind the CA's. It stays in the outbox.
            const s_deferred_t *deferred = s_deferred_find (self, self->flights [i].seq);
            s_error (self,
                     "%s refused by the broker as not yet valid (its clock may be behind the "
                     "CA's); kept in the outbox, sent again in %" PRId64 " s",
                     msg_id, deferred->wait_ms / 1000);
            memmove (&self->flights [i], &self->flights [i + 1],
                     (self->flight_count - i - 1) * sizeof *self->flights);
            self->flight_count--;
            return;
        }
        s_deferred_drop (self, self->flights [i].seq);
        char key [NAME_MAX + 8];
        s_outbox_key (self->flights [i].seq, key, sizeof key);
        //  Only a refusal needs the stored record: its file goes back to failed/.
        uint8_t *value = NULL;
        size_t size = 0;
        rh_outgoing_t record;
        if (!code) {
            self->accepted++;
            self->last_accepted_ms = rh_time_now_ms ();
            if (self->outcome)
                self->outcome (self->outcome_arg, RH_AGENT_ACCEPTED, msg_id, "");
        }
        else if (rh_db_get (self->db, key, strlen (key), &value, &size) == 0
                 && rh_record_decode_outgoing (value, size, &record) == RH_OK) {
            char why [900];
            int used = snprintf (why, sizeof why, "%s: %s\nmsg_id: %s", code, reason ? reason : "",
                                 msg_id);
            //  A policy refusal says which agreement and rule decided, and what was missing.
            if (used > 0 && *refusal->agreement_id)
                used +=
                    snprintf (why + used, sizeof why - (size_t) used, "\nagreement: %s\nrule: %s",
                              refusal->agreement_id, refusal->rule_id);
            if (used > 0 && (size_t) used < sizeof why && *refusal->missing_condition)
                snprintf (why + used, sizeof why - (size_t) used, "\nmissing: %s",
                          refusal->missing_condition);
            //  A library submission has no file name: failed/ names it by its message id.
            char name [RH_MAX_ID + 8];
            snprintf (name, sizeof name, "%s.json", msg_id);
            const char *file = *record.file_name ? record.file_name : name;
            s_fail_file (self, file, record.json, record.json_size, why);
            s_error (self, "%s (%s) refused by the broker: %s: %s; moved to failed/", file, msg_id,
                     code, reason ? reason : "");
            if (self->outcome) {
                char detail [RH_MAX_ID + 400];
                snprintf (detail, sizeof detail, "%s: %s", code, reason ? reason : "");
                self->outcome (self->outcome_arg, RH_AGENT_REFUSED, msg_id, detail);
            }
            self->rejected++;
            s_referral_refused (self, msg_id);
            rh_record_release (&record.owned);
        }
        free (value);
        rh_db_delete (self->db, key, strlen (key));
        memmove (&self->flights [i], &self->flights [i + 1],
                 (self->flight_count - i - 1) * sizeof *self->flights);
        self->flight_count--;
        if (self->queued > 0)
            self->queued--;
        self->status_dirty = true;
        return;
    }
}

//  ---------------------------------------------------------------------------------------------
//  Inbox

static void
s_run_hook (rh_agent_t *self, const char *path)
{
    if (!self->hook || !*self->hook)
        return;
    pid_t child = fork ();
    if (child == 0) {
        execl (self->hook, self->hook, path, (char *) NULL);
        _exit (127);
    }
    if (child < 0)
        s_error (self, "cannot run hook %s: %s", self->hook, strerror (errno));
}

//  ---------------------------------------------------------------------------------------------
//  Intake: an agent that cannot write what it receives must not acknowledge it, and must stop
//  asking for more until it can (a full disk, a quota, a folder made read-only, an I/O error).
//  It says why once, tries again every RH_INTAKE_RETRY_MS, and resumes by itself; the broker
//  then sends everything unacknowledged again, and i/ keys drop what was already written.

//  Tells the broker how many deliveries we can take when that changes: none while paused (the
//  broker then sends nothing; what was already on its way is declined). A Hello also has the
//  broker send everything unacknowledged again from the head of our queue, which is what
//  resuming needs.
static void
s_announce_credit (rh_agent_t *self)
{
    uint32_t credit = self->paused ? 0 : self->credit;
    if (!self->connected || credit == self->credit_announced)
        return;
    rh_frame_t hello = { .type = RH_FRAME_HELLO,
                         .credit = credit,
                         .low_sequence = s_outbox_head (self) };
    s_send_frame (self, &hello);
    self->credit_announced = credit;
}

//  Stops taking deliveries because what (in dir) could not be written: error is the errno,
//  need the bytes the write needed. Says why once; later failures only update the reason.
static void
s_pause_intake (rh_agent_t *self, const char *what, const char *dir, int error, size_t need)
{
    const char *text = strerror (error);
    snprintf (self->paused_reason, sizeof self->paused_reason, "%s not writable: %c%s", what,
              tolower ((unsigned char) text [0]), text + 1);
    self->paused_errno = error;
    self->paused_dir = dir;
    self->paused_need = need;
    self->status_dirty = true;
    if (self->paused)
        return;
    self->paused = true;
    self->paused_ms = self->probe_ms = rh_time_now_ms ();
    s_error (self,
             "%s; receiving paused: deliveries stay with the broker, trying again every %d ms",
             self->paused_reason, RH_INTAKE_RETRY_MS);
}

//  The case system's receive callback did not take a delivery: like an inbox that cannot be
//  written, nothing more is taken (not acknowledged: the broker keeps it), and after
//  RH_INTAKE_RETRY_MS the broker is asked for everything again. Says why once.
static void
s_pause_declined (rh_agent_t *self)
{
    snprintf (self->paused_reason, sizeof self->paused_reason,
              "the case system did not take a delivery");
    self->paused_errno = 0;
    self->paused_dir = NULL;
    self->paused_need = 0;
    self->status_dirty = true;
    if (self->paused)
        return;
    self->paused = true;
    self->paused_ms = self->probe_ms = rh_time_now_ms ();
    s_error (self, "%s; receiving paused: deliveries stay with the broker, offered again in %d ms",
             self->paused_reason, RH_INTAKE_RETRY_MS);
}

//  What a pause is about, for the log.
static const char *
s_paused_what (rh_agent_t *self)
{
    return self->paused_dir == self->failed ? "failed/"
           : self->paused_dir               ? "inbox"
                                            : "the case system's receiver";
}

//  Writes size bytes of data (NULL: zeros) to a new file at path, without waiting for the disk:
//  a batch's files are flushed together (s_finish_arrivals), and writing back starts now so
//  that those flushes find little left to do. Returns 0, or -1 with errno set.
static int
s_write_new (const char *path, const void *data, size_t size)
{
    static const uint8_t zeros [4096];
    int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0)
        return -1;
    int rc = 0;
    for (size_t done = 0; rc == 0 && done < size;) {
        size_t chunk = data ? size - done : size - done < sizeof zeros ? size - done : sizeof zeros;
        ssize_t put = write (fd, data ? (const uint8_t *) data + done : zeros, chunk);
        if (put > 0)
            done += (size_t) put;
        else if (put == 0) {
            errno = ENOSPC;
            rc = -1;
        }
        else if (errno != EINTR)
            rc = -1;
    }
    if (rc == 0)
        sync_file_range (fd, 0, 0, SYNC_FILE_RANGE_WRITE);  //  a hint: the flush checks
    int error = errno;
    if (close (fd) != 0 && rc == 0) {
        rc = -1;
        error = errno;
    }
    errno = error;
    return rc;
}

//  Tries, where the last write failed, what a delivery needs: a file as large as that one,
//  flushed, and for the inbox renamed into inbox/ (under a hidden name); then removes it.
//  Recreates the folders if someone removed them. Returns 0, or -1 with errno set.
static int
s_probe_intake (rh_agent_t *self)
{
    if (!self->paused_dir)
        return 0;  //  a declined delivery: simply offer it again
    bool inbox = self->paused_dir == self->inbox_tmp;
    if ((inbox
         && (rh_file_mkdir (self->inbox, 0750) != 0 || rh_file_mkdir (self->inbox_tmp, 0750) != 0))
        || (!inbox && rh_file_mkdir (self->failed, 0750) != 0))
        return -1;
    char path [PATH_MAX], published [PATH_MAX];
    rh_file_path (path, sizeof path, "%s/%s", self->paused_dir, RH_PROBE_NAME);
    rh_file_path (published, sizeof published, "%s/%s", self->inbox, RH_PROBE_NAME);
    if (s_write_new (path, NULL, self->paused_need) != 0) {
        int error = errno;
        unlink (path);
        errno = error;
        return -1;
    }
    int rc = 0, error = 0;
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fsync (fd) != 0) {
        rc = -1;
        error = errno;
    }
    if (fd >= 0)
        close (fd);
    if (rc == 0 && inbox) {
        if (rename (path, published) == 0)
            snprintf (path, sizeof path, "%s", published);
        else {
            rc = -1;
            error = errno;
        }
    }
    unlink (path);
    errno = error;
    return rc;
}

//  While paused, tries again; resumes when the probe succeeds.
static void
s_retry_intake (rh_agent_t *self, int64_t now)
{
    if (!self->paused || now - self->probe_ms < RH_INTAKE_RETRY_MS)
        return;
    self->probe_ms = now;
    if (s_probe_intake (self) != 0) {
        s_pause_intake (self, s_paused_what (self), self->paused_dir, errno, self->paused_need);
        return;
    }
    rh_log_info (self->agency,
                 "%s can take deliveries again after %" PRId64 " s; receiving resumed (%" PRIu64
                 " deliveries were left with the broker meanwhile)",
                 s_paused_what (self), (now - self->paused_ms) / 1000, self->declined);
    self->paused = false;
    self->status_dirty = true;
}

//  A delivery that does not verify here (say, from an agency enrolled after our PKI was loaded):
//  nothing is written or run, and the broker is told so (it keeps the message, sends no receipt
//  and offers it again later). The log and status.json say so, with ids and codes only.
static void
s_unverified (rh_agent_t *self, uint64_t delivery_id, rh_rc_t rc, const char *what)
{
    char reason [200];
    snprintf (reason, sizeof reason, "%s does not verify here: %s", what, rh_rc_text (rc));
    rh_frame_t frame = { .type = RH_FRAME_UNVERIFIED,
                         .delivery_id = delivery_id,
                         .code = rh_rc_name (rc),
                         .reason = reason };
    s_send_frame (self, &frame);
    self->unverified++;
    snprintf (self->unverified_code, sizeof self->unverified_code, "%s", rh_rc_name (rc));
    self->unverified_ms = rh_time_now_ms ();
    s_error (self,
             "delivery %" PRIu64 " not taken in: %s (%s); the broker keeps it and offers it again",
             delivery_id, rh_rc_name (rc), what);
}

//  Records an arrival under key (i/<msg_id>) with the SHA-256 of its signed header: a reply
//  we send to it later carries that digest (in_reply_sha256), binding the reply to exactly
//  the message it answers. Dated, so that the pruner forgets it after data/retention_days.
static void
s_note_arrival (rh_agent_t *self, const char *key, rh_envelope_t *envelope)
{
    size_t size = 0;
    const uint8_t *header = rh_envelope_header_bytes (envelope, &size);
    uint8_t digest [RH_DIGEST_LEN], value [RH_PRUNER_VALUE_MAX];
    if (header)
        rh_sha256 (digest, header, size);
    size_t value_size = rh_pruner_value (value, header ? digest : NULL, s_retention_now (self));
    rh_db_put (self->db, key, strlen (key), value, value_size);
}

//  Binds a reply to the message it answers, from the digest recorded when it arrived. One that
//  names a message we never received (say, a case transferred to us) goes without: the broker
//  accepts a reply with no digest but refuses one whose digest is not the named message's.
static void
s_bind_reply (rh_agent_t *self, rh_envelope_t *envelope)
{
    const char *answers = rh_envelope_in_reply_to (envelope);
    if (!*answers || rh_envelope_has_in_reply_sha256 (envelope))
        return;
    char key [RH_MAX_ID + 8];
    snprintf (key, sizeof key, "i/%s", answers);
    uint8_t *digest = NULL;
    size_t size = 0;
    if (rh_db_get (self->db, key, strlen (key), &digest, &size) == 0
        && rh_pruner_digest (digest, size))
        rh_envelope_set_in_reply_sha256 (envelope, rh_pruner_digest (digest, size));
    else {
        //  Or a strategy meeting invitation of our own (kept under h/ when it was sealed).
        free (digest);
        digest = NULL;
        snprintf (key, sizeof key, "h/%s", answers);
        if (rh_db_get (self->db, key, strlen (key), &digest, &size) == 0
            && rh_pruner_digest (digest, size))
            rh_envelope_set_in_reply_sha256 (envelope, rh_pruner_digest (digest, size));
    }
    free (digest);
}

//  Loads the other regions' certificates our board passed on: every PKI folder under
//  pki_dir/peers (none: nothing from another region verifies here).
static void
s_load_peer_stores (rh_agent_t *self, const char *pki_dir)
{
    char path [PATH_MAX];
    rh_file_path (path, sizeof path, "%s/peers", pki_dir);
    DIR *dir = opendir (path);
    struct dirent *entry;
    while (dir && (entry = readdir (dir)) && self->peer_count < RH_MAX_FED_REGIONS) {
        if (entry->d_name [0] == '.')
            continue;
        char region [PATH_MAX];
        rh_file_path (region, sizeof region, "%s/%s", path, entry->d_name);
        rh_certstore_t *store = rh_certstore_load_dir (region);
        if (store)
            self->peer_stores [self->peer_count++] = store;
    }
    if (dir)
        closedir (dir);
}

//  Verifies a message from another region's agency against the certificates its board issued.
//  Only for a sender our own trust has never known, so that another region's CA can never
//  speak for an agency of ours. Returns RH_OK or why not.
static rh_rc_t
s_verify_foreign (rh_agent_t *self, rh_envelope_t *envelope)
{
    rh_certstore_t *own = rh_trust_store (self->trust);
    const char *sender = rh_envelope_sender (envelope);
    for (size_t i = 0; own && i < rh_certstore_size (own); i++)
        if (strcmp (rh_certstore_identity (own, i)->agency_id, sender) == 0)
            return RH_E_CERT_UNKNOWN;
    rh_rc_t rc = RH_E_CERT_UNKNOWN;
    for (size_t i = 0; i < self->peer_count && rc != RH_OK; i++)
        rc = rh_certstore_verify (self->peer_stores [i], envelope, rh_time_now_ms ());
    return rc;
}

//  Handles one delivery: verify, de-duplicate, write to .tmp/. The acknowledgement waits for
//  s_finish_arrivals.
static void
s_arrive (rh_agent_t *self, const rh_frame_t *frame)
{
    uint64_t delivery_id = frame->delivery_id;
    const uint8_t *sealed = frame->sealed;
    size_t size = frame->sealed_size;
    if (self->arrival_count >= RH_MAX_ACK_BATCH)
        return;  //  not acknowledged: the broker sends it again
    if (self->paused) {
        //  Not even looked at: without acknowledgement the broker keeps it for us.
        self->declined++;
        self->status_dirty = true;
        return;
    }
    rh_envelope_t *envelope = NULL;
    rh_rc_t rc = rh_certstore_receive (rh_trust_store (self->trust), sealed, size,
                                       rh_time_now_ms (), &envelope);
    if (rc == RH_E_CERT_UNKNOWN && self->peer_count
        && rh_envelope_decode (sealed, size, &envelope) == RH_OK)
        rc = s_verify_foreign (self, envelope);
    s_arrival_t *arrival = &self->arrivals [self->arrival_count];
    arrival->delivery_id = delivery_id;
    arrival->fresh = false;
    arrival->withdrawn = false;
    arrival->late = false;
    arrival->handed = false;
    if (rc != RH_OK) {
        //  Never hand the agency's system something that does not verify, and never say it was
        //  taken in: the broker keeps it and offers it again once our trust is refreshed.
        s_unverified (self, delivery_id, rc, "the sender's message");
        rh_envelope_destroy (&envelope);
        return;
    }
    const char *msg_id = rh_envelope_msg_id (envelope);
    snprintf (arrival->msg_id, sizeof arrival->msg_id, "%s", msg_id);
    char key [RH_MAX_ID + 8];
    snprintf (key, sizeof key, "i/%s", msg_id);
    bool seen = rh_db_has (self->db, key, strlen (key));
    for (size_t i = 0; i < self->arrival_count && !seen; i++)
        seen = self->arrivals [i].fresh && strcmp (self->arrivals [i].msg_id, msg_id) == 0;
    if (seen) {
        self->duplicates++;
        rh_envelope_destroy (&envelope);
        self->arrival_count++;
        return;
    }
    //  A broker notice carries the front door's own message: it must verify as well.
    rh_envelope_t *inner = NULL;
    if (rh_envelope_kind (envelope) == RH_KIND_NOTICE) {
        const Rhannu__V1__Notice *notice = (const Rhannu__V1__Notice *) rh_envelope_body (envelope);
        rh_rc_t inner_rc =
            notice && notice->original.len
                ? rh_envelope_decode (notice->original.data, notice->original.len, &inner)
                : RH_E_MALFORMED;
        if (inner_rc == RH_OK)
            inner_rc = rh_certstore_verify (rh_trust_store (self->trust), inner, rh_time_now_ms ());
        if (inner_rc == RH_E_CERT_UNKNOWN && self->peer_count)
            inner_rc = s_verify_foreign (self, inner);
        if (inner_rc != RH_OK) {
            s_unverified (self, delivery_id, inner_rc, "the message a broker notice carries");
            rh_envelope_destroy (&inner);
            rh_envelope_destroy (&envelope);
            return;
        }
    }
    rh_json_delivery_t delivery = { .agreement_id = frame->agreement_id,
                                    .agreement_version = frame->agreement_version,
                                    .rule_id = frame->rule_id,
                                    .inner = inner,
                                    .lang = rh_config_str (self->config, "agency/lang") };
    char *text = rh_json_from_delivery (envelope, &delivery);
    rh_envelope_destroy (&inner);
    if (text && self->receive) {
        //  The case system takes it by callback instead of from inbox/; acknowledged with the
        //  batch, after its i/ record is committed.
        int taken = self->receive (self->receive_arg, msg_id, text, strlen (text));
        free (text);
        if (taken != 0) {
            rh_envelope_destroy (&envelope);
            s_pause_declined (self);
            return;  //  not acknowledged: offered again
        }
        s_track_news (self, envelope);
        s_note_arrival (self, key, envelope);
        rh_envelope_destroy (&envelope);
        arrival->fresh = true;
        arrival->handed = true;
        self->arrival_count++;
        return;
    }
    char path [PATH_MAX];
    rh_file_path (path, sizeof path, "%s/%s.json", self->inbox_tmp, msg_id);
    if (!text) {
        s_error (self, "delivery %" PRIu64 " cannot be written as JSON", delivery_id);
        rh_envelope_destroy (&envelope);
        return;  //  not acknowledged: delivered again later
    }
    size_t length = strlen (text);
    if (s_write_new (path, text, length) != 0) {
        //  Nothing recorded yet: the broker keeps the message until we can write it.
        int error = errno;
        unlink (path);
        free (text);
        rh_envelope_destroy (&envelope);
        s_pause_intake (self, "inbox", self->inbox_tmp, error, length);
        return;
    }
    //  Flushed with the rest of the batch in s_finish_arrivals.
    free (text);
    s_track_news (self, envelope);  //  only for what we keep: a declined one comes back
    s_note_arrival (self, key, envelope);
    rh_envelope_destroy (&envelope);
    arrival->fresh = true;
    self->arrival_count++;
}

//  Undoes the records of arrivals that could not be published, so that the broker's next
//  delivery of each is written afresh rather than dropped as a duplicate. The undo is durable
//  before the written file goes: a crash in between publishes the file at start-up instead.
//  Returns -1 if storage failed.
static int
s_withdraw_arrivals (rh_agent_t *self)
{
    for (size_t i = 0; i < self->arrival_count; i++) {
        const s_arrival_t *arrival = &self->arrivals [i];
        if (!arrival->late)
            continue;
        char key [RH_MAX_ID + 32];
        snprintf (key, sizeof key, "i/%s", arrival->msg_id);
        rh_db_delete (self->db, key, strlen (key));
    }
    if (s_commit (self, true) != 0)
        return -1;
    for (size_t i = 0; i < self->arrival_count; i++)
        if (self->arrivals [i].late) {
            char path [PATH_MAX];
            rh_file_path (path, sizeof path, "%s/%s.json", self->inbox_tmp,
                          self->arrivals [i].msg_id);
            unlink (path);
        }
    return 0;
}

//  Flushes a file, or a folder's names, to disk. Returns 0, or -1 with errno set.
static int
s_fsync_path (const char *path, bool folder)
{
    int fd = open (path, O_RDONLY | O_CLOEXEC | (folder ? O_DIRECTORY : 0));
    if (fd < 0)
        return -1;
    int rc = fsync (fd);
    int error = errno;
    close (fd);
    errno = error;
    return rc;
}

//  Withdraws a fresh arrival before its batch is committed: its i/ record leaves the batch
//  and its file goes, so that the broker's next delivery of it is written afresh.
static void
s_withdraw_early (rh_agent_t *self, s_arrival_t *arrival)
{
    char key [RH_MAX_ID + 8], path [PATH_MAX];
    snprintf (key, sizeof key, "i/%s", arrival->msg_id);
    rh_db_delete (self->db, key, strlen (key));
    rh_file_path (path, sizeof path, "%s/%s.json", self->inbox_tmp, arrival->msg_id);
    unlink (path);
    arrival->withdrawn = true;
}

//  Makes the batch durable, publishes it in inbox/ and acknowledges what it published (and
//  the duplicates). In this order, so that nothing is acknowledged before it is on disk and
//  nothing is written twice: every file of the batch flushed in .tmp/, then .tmp/ itself (its
//  names), then one synchronous commit of the batch's i/ records, then the renames into
//  inbox/ and one flush of inbox/, then the acknowledgement. A crash before the commit
//  leaves files that start-up drops (the broker delivers them again); after it, files in
//  .tmp/ that start-up publishes. Returns -1 if storage failed.
static int
s_finish_arrivals (rh_agent_t *self)
{
    if (self->arrival_count == 0)
        return 0;
    size_t fresh = 0, files = 0, withdrawn = 0;
    for (size_t i = 0; i < self->arrival_count; i++) {
        fresh += self->arrivals [i].fresh;
        files += self->arrivals [i].fresh && !self->arrivals [i].handed;
    }
    if (fresh > 0) {
        //  In arrival order until a flush fails (an I/O error, or space that delayed
        //  allocation could not find): the rest are withdrawn, not acknowledged, and intake
        //  pauses.
        int error = 0;
        for (size_t i = 0; i < self->arrival_count; i++) {
            s_arrival_t *arrival = &self->arrivals [i];
            if (!arrival->fresh || arrival->handed)
                continue;
            char path [PATH_MAX];
            rh_file_path (path, sizeof path, "%s/%s.json", self->inbox_tmp, arrival->msg_id);
            if (!error && s_fsync_path (path, false) != 0)
                error = errno;
            if (error) {
                s_withdraw_early (self, arrival);
                withdrawn++;
            }
        }
        if (withdrawn < files && s_fsync_path (self->inbox_tmp, true) != 0) {
            error = errno;
            for (size_t i = 0; i < self->arrival_count; i++)
                if (self->arrivals [i].fresh && !self->arrivals [i].withdrawn
                    && !self->arrivals [i].handed) {
                    s_withdraw_early (self, &self->arrivals [i]);
                    withdrawn++;
                }
        }
        if (error)
            s_pause_intake (self, "inbox", self->inbox_tmp, error, 0);
        //  One synchronous commit for the whole batch.
        if (s_commit (self, true) != 0)
            return -1;
        //  In arrival order until a rename fails (a full directory, a folder made read-only):
        //  the rest are withdrawn, not acknowledged, and intake pauses.
        size_t published = 0, late = 0;
        error = 0;
        for (size_t i = 0; i < self->arrival_count; i++) {
            s_arrival_t *arrival = &self->arrivals [i];
            if (!arrival->fresh || arrival->withdrawn || arrival->handed)
                continue;
            char from [PATH_MAX], to [PATH_MAX];
            rh_file_path (from, sizeof from, "%s/%s.json", self->inbox_tmp, arrival->msg_id);
            rh_file_path (to, sizeof to, "%s/%s.json", self->inbox, arrival->msg_id);
            if (!error && rename (from, to) != 0)
                error = errno;
            if (error) {
                arrival->withdrawn = true;
                arrival->late = true;
                late++;
            }
            else
                published++;
        }
        withdrawn += late;
        if (late > 0) {
            if (s_withdraw_arrivals (self) != 0)
                return -1;
            s_pause_intake (self, "inbox", self->inbox_tmp, error, 0);
        }
        //  What was renamed is safe either way (a rename a power cut undoes leaves the file in
        //  .tmp/, which start-up publishes), but the agency's system should not see a file
        //  vanish: one flush of inbox/ before acknowledging.
        if (published > 0 && s_fsync_path (self->inbox, true) != 0) {
            rh_log_error (self->agency, "cannot flush inbox/: %s", strerror (errno));
            return -1;
        }
        for (size_t i = 0; i < self->arrival_count; i++)
            if (self->arrivals [i].fresh && !self->arrivals [i].withdrawn
                && !self->arrivals [i].handed) {
                char to [PATH_MAX];
                rh_file_path (to, sizeof to, "%s/%s.json", self->inbox, self->arrivals [i].msg_id);
                s_run_hook (self, to);
            }
        self->received += fresh - withdrawn;
        self->status_dirty = true;
    }
    uint64_t ids [RH_MAX_ACK_BATCH];
    size_t id_count = 0;
    for (size_t i = 0; i < self->arrival_count; i++)
        if (!self->arrivals [i].withdrawn)
            ids [id_count++] = self->arrivals [i].delivery_id;
    if (id_count > 0) {
        rh_frame_t frame = { .type = RH_FRAME_DELIVERED, .ids = ids, .id_count = id_count };
        s_send_frame (self, &frame);
    }
    self->arrival_count = 0;
    return 0;
}

static int
s_syncfs (const char *path)
{
    int fd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = fd >= 0 ? syncfs (fd) : -1;
    if (fd >= 0)
        close (fd);
    return rc;
}

//  Drops the c/ and u/ records of every settle epoch up to last.
static void
s_forget_settled (rh_agent_t *self, uint64_t last)
{
    rh_db_iter_t *iter = rh_db_iter_new (self->db, "u/", 2);
    for (; iter && rh_db_iter_valid (iter); rh_db_iter_next (iter)) {
        size_t size = 0;
        const uint8_t *key = rh_db_iter_key (iter, &size);
        char text [RH_MAX_ID + 32];
        if (size < 24 || size >= sizeof text)
            continue;
        memcpy (text, key, size);
        text [size] = 0;
        if (strtoull (text + 2, NULL, 10) > last)
            break;
        char content_key [RH_MAX_ID + 40];
        snprintf (content_key, sizeof content_key, "c/%s", text + 23);
        rh_db_delete (self->db, content_key, strlen (content_key));
        rh_db_delete (self->db, text, size);
    }
    rh_db_iter_destroy (&iter);
}

static void
s_boot_id (char *out, size_t size)
{
    uint8_t *text = NULL;
    size_t length = 0;
    snprintf (out, size, "unknown");
    if (rh_file_read ("/proc/sys/kernel/random/boot_id", 256, &text, &length) == 0)
        snprintf (out, size, "%.*s", (int) strcspn ((char *) text, "\n"), (char *) text);
    free (text);
}

//  Finishes what a crash interrupted. Files in inbox/.tmp/ recorded under i/ are published,
//  the others dropped (never acknowledged: the broker delivers them again). After a machine
//  crash, unsettled files missing from inbox/ are written again from their recorded content.
static int
s_recover_inbox (rh_agent_t *self)
{
    DIR *dir = opendir (self->inbox_tmp);
    struct dirent *entry;
    while (dir && (entry = readdir (dir))) {
        size_t length = strlen (entry->d_name);
        if (entry->d_name [0] == '.' || length < 6 || strcmp (entry->d_name + length - 5, ".json"))
            continue;
        char msg_id [RH_MAX_ID + 1], key [RH_MAX_ID + 8], from [PATH_MAX], to [PATH_MAX];
        snprintf (msg_id, sizeof msg_id, "%.*s", (int) (length - 5), entry->d_name);
        snprintf (key, sizeof key, "i/%s", msg_id);
        rh_file_path (from, sizeof from, "%s/%s", self->inbox_tmp, entry->d_name);
        rh_file_path (to, sizeof to, "%s/%s", self->inbox, entry->d_name);
        if (rh_db_has (self->db, key, strlen (key))) {
            rename (from, to);
            rh_log_info (self->agency, "recovered inbox file %s", entry->d_name);
        }
        else
            unlink (from);
    }
    if (dir)
        closedir (dir);
    char boot [64], *stored = NULL;
    size_t stored_size = 0;
    s_boot_id (boot, sizeof boot);
    bool same_boot = rh_db_get (self->db, "n/boot", 6, (uint8_t **) &stored, &stored_size) == 0
                     && stored_size == strlen (boot) && memcmp (stored, boot, stored_size) == 0;
    free (stored);
    if (!same_boot) {
        rh_db_iter_t *iter = rh_db_iter_new (self->db, "u/", 2);
        for (; iter && rh_db_iter_valid (iter); rh_db_iter_next (iter)) {
            size_t size = 0;
            const uint8_t *key = rh_db_iter_key (iter, &size);
            if (size < 24 || size > 23 + RH_MAX_ID)
                continue;
            char msg_id [RH_MAX_ID + 1], content_key [RH_MAX_ID + 8], path [PATH_MAX];
            snprintf (msg_id, sizeof msg_id, "%.*s", (int) (size - 23), (const char *) key + 23);
            rh_file_path (path, sizeof path, "%s/%s.json", self->inbox, msg_id);
            snprintf (content_key, sizeof content_key, "c/%s", msg_id);
            uint8_t *content = NULL;
            size_t content_size = 0;
            if (!rh_file_exists (path)
                && rh_db_get (self->db, content_key, strlen (content_key), &content, &content_size)
                       == 0) {
                rh_file_write_atomic (path, content, content_size, 0640);
                rh_log_warn (self->agency,
                             "machine restarted: wrote %s.json again from the outbox "
                             "database",
                             msg_id);
            }
            free (content);
        }
        rh_db_iter_destroy (&iter);
    }
    //  Everything recovered is flushed now; its records can go.
    if (s_syncfs (self->inbox) != 0)
        return -1;
    s_forget_settled (self, UINT64_MAX);
    rh_db_put (self->db, "n/boot", 6, boot, strlen (boot));
    return s_commit (self, true);
}

//  ---------------------------------------------------------------------------------------------
//  Transport

static void
s_on_connected (rh_agent_t *self)
{
    self->connected = true;
    self->status_dirty = true;
    //  Anything unanswered is sent again; the broker de-duplicates by message id. Everything
    //  below the outbox head has been answered: the broker may refuse those numbers for good.
    self->flight_count = 0;
    self->resend_wait_ms = self->resend_ms;
    self->cursor = s_outbox_head (self);
    //  A paused agent asks for nothing (see s_announce_credit).
    rh_frame_t hello = { .type = RH_FRAME_HELLO,
                         .credit = self->paused ? 0 : self->credit,
                         .low_sequence = self->cursor };
    s_send_frame (self, &hello);
    self->credit_announced = hello.credit;
    s_send_more (self);
    rh_log_info (self->agency, "connected to %s; %" PRIu64 " messages queued", s_broker (self),
                 self->queued);
}

//  The broker answered a submission: the first answer after an outage says how long the agency
//  went unanswered (from the last answer before the link was lost), the failover time.
static void
s_answer_seen (rh_agent_t *self, int64_t now)
{
    if (self->outage_since) {
        self->last_outage_ms = now - self->outage_since;
        rh_log_info (self->agency,
                     "the broker at %s answers: %" PRId64 " ms since the last answer (from %s)",
                     s_broker (self), self->last_outage_ms, self->outage_from);
        self->outage_since = 0;
        self->status_dirty = true;
    }
    self->last_answer_ms = now;
}

//  Reports a new link state once: the problems as the last error (and in the log), all of
//  them in status.json.
static void
s_link_changed (rh_agent_t *self)
{
    rh_link_state_t state = rh_link_state (self->link);
    if (state == RH_LINK_UNREACHABLE || state == RH_LINK_HANDSHAKE_TIMEOUT
        || state == RH_LINK_REFUSED)
        s_error (self, "%s", rh_link_text (self->link));
    self->status_dirty = true;
}

static void
s_handle_monitor (rh_agent_t *self)
{
    zmq_msg_t event, address;
    zmq_msg_init (&event);
    zmq_msg_init (&address);
    if (zmq_msg_recv (&event, self->monitor, 0) < 0 || !zmq_msg_more (&event)
        || zmq_msg_recv (&address, self->monitor, 0) < 0 || zmq_msg_size (&event) < 6) {
        zmq_msg_close (&event);
        zmq_msg_close (&address);
        return;
    }
    uint16_t type;
    uint32_t value;
    memcpy (&type, zmq_msg_data (&event), 2);
    memcpy (&value, (uint8_t *) zmq_msg_data (&event) + 2, 4);
    rh_log_debug (self->agency, "socket event 0x%x (%u)", type, value);
    if (rh_link_event (self->link, type, value, rh_time_now_ms ()))
        s_link_changed (self);
    switch (type) {
        case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
            s_on_connected (self);
            break;
        case ZMQ_EVENT_DISCONNECTED:
            if (self->connected) {
                rh_log_warn (self->agency, "disconnected from the broker at %s; queueing",
                             s_broker (self));
                self->link_lost = true;
                if (!self->outage_since && self->last_answer_ms) {
                    self->outage_since = self->last_answer_ms;
                    snprintf (self->outage_from, sizeof self->outage_from, "%s", s_broker (self));
                }
            }
            self->connected = false;
            self->status_dirty = true;
            break;
        default:
            break;
    }
    zmq_msg_close (&event);
    zmq_msg_close (&address);
}

//  ---------------------------------------------------------------------------------------------
//  Watching the broker's audit log: each signed checkpoint must extend the one before

//  The broker's history no longer contains what it signed before: say so everywhere IT looks
//  (error log, status.json, and an alert file in inbox/ for the case system), and keep saying it.
static void
s_history_rewritten (rh_agent_t *self, const char *detail)
{
    snprintf (self->alarm, sizeof self->alarm, "%s", detail);
    rh_db_put (self->db, "ck/alarm", 8, self->alarm, strlen (self->alarm));
    s_commit (self, true);
    rh_log_error (self->agency, "THE BROKER'S AUDIT LOG WAS REWRITTEN: %s", detail);
    s_error (self, "the broker's audit log was rewritten: %s", detail);
    char trusted [RH_DIGEST_LEN * 2 + 1], name [64], path [PATH_MAX], when [32];
    sodium_bin2hex (trusted, sizeof trusted, self->trusted.root, RH_DIGEST_LEN);
    int64_t now = rh_time_now_ms ();
    json_t *alert =
        json_pack ("{s:s, s:s, s:s, s:{s:s, s:s, s:I, s:s}}", "kind", "ALERT", "sender",
                   self->agency, "created", rh_time_format (now, when, sizeof when), "body",
                   "alert_kind", "HISTORY_REWRITTEN", "summary_en", detail, "trusted_size",
                   (json_int_t) self->trusted.size, "trusted_root", trusted);
    char *text = alert ? json_dumps (alert, JSON_INDENT (2)) : NULL;
    snprintf (name, sizeof name, "audit-alarm-%" PRId64 ".json", now);
    rh_file_path (path, sizeof path, "%s/%s", self->inbox, name);
    if (text)
        rh_file_write_atomic (path, text, strlen (text), 0640);
    free (text);
    json_decref (alert);
    self->status_dirty = true;
}

static void
s_trust (rh_agent_t *self, const rh_checkpoint_t *checkpoint)
{
    self->trusted = *checkpoint;
    if (self->awaiting_size <= checkpoint->size) {
        self->awaiting_size = 0;
        self->awaiting_cosigned = 0;
    }
    rh_db_put (self->db, "ck/trusted", 10, &self->trusted, sizeof self->trusted);
    s_commit (self, false);
    self->status_dirty = true;
}

//  True if checkpoint carries the quorum of cosignatures from our witnesses (or none is asked).
//  A checkpoint without it is not trusted: a broker could show us a history no witness saw.
static bool
s_witnessed (rh_agent_t *self, const rh_checkpoint_t *checkpoint)
{
    if (self->quorum == 0)
        return true;
    size_t cosigned = 0;
    rh_rc_t rc = rh_note_checkpoint_cosigned (checkpoint, self->witness_keys, self->witness_count,
                                              &cosigned);
    if (rc == RH_OK && cosigned >= self->quorum)
        return true;  //  awaiting_size clears when it is trusted (after its proof, if it needs one)
    if (rc != RH_OK)
        s_error (self,
                 "a checkpoint of size %" PRIu64 " carries a cosignature that does not verify",
                 checkpoint->size);
    else if (checkpoint->size > self->awaiting_size && checkpoint->size > self->trusted.size)
        rh_log_info (self->agency,
                     "checkpoint of size %" PRIu64
                     " has %zu of %zu cosignatures: awaiting witnesses",
                     checkpoint->size, cosigned, self->quorum);
    if (checkpoint->size >= self->awaiting_size) {
        self->awaiting_size = checkpoint->size;
        self->awaiting_cosigned = rc == RH_OK ? cosigned : 0;
    }
    self->status_dirty = true;
    return false;
}

static void
s_checkpoint_arrived (rh_agent_t *self, const rh_checkpoint_t *checkpoint)
{
    rh_certstore_t *store = rh_trust_store (self->trust);
    if (!store)
        return;  //  nothing to check it with until the broker's bundle comes (it comes first)
    if (rh_certstore_verify_checkpoint (store, checkpoint) != RH_OK) {
        s_error (self, "a checkpoint of size %" PRIu64 " is not signed by the broker; ignored",
                 checkpoint->size);
        return;
    }
    if (!s_witnessed (self, checkpoint))
        return;  //  not trusted (yet): routing goes on, status.json says what it waits for
    char detail [300];
    if (self->trusted.size == 0)
        s_trust (self, checkpoint);
    else if (checkpoint->size == self->trusted.size) {
        if (sodium_memcmp (checkpoint->root, self->trusted.root, RH_DIGEST_LEN) != 0) {
            snprintf (detail, sizeof detail,
                      "the broker signed two different logs of %" PRIu64 " records",
                      checkpoint->size);
            s_history_rewritten (self, detail);
        }
    }
    else if (checkpoint->size < self->trusted.size) {
        snprintf (detail, sizeof detail,
                  "the broker's log shrank from %" PRIu64 " records (signed before) to %" PRIu64,
                  self->trusted.size, checkpoint->size);
        s_history_rewritten (self, detail);
    }
    else {
        self->pending = *checkpoint;
        rh_frame_t request = { .type = RH_FRAME_PROOF_REQUEST,
                               .from_size = self->trusted.size,
                               .to_size = checkpoint->size };
        s_send_frame (self, &request);
    }
}

static void
s_proof_arrived (rh_agent_t *self, const rh_frame_t *frame)
{
    if (!self->pending.size || frame->from_size != self->trusted.size
        || frame->to_size != self->pending.size)
        return;  //  an answer to a question no longer asked
    if (rh_merkle_verify_consistency (
            self->trusted.size, self->pending.size, self->trusted.root, self->pending.root,
            (const uint8_t (*) [RH_DIGEST_LEN]) frame->hashes, frame->hash_count))
        s_trust (self, &self->pending);
    else {
        char detail [300];
        snprintf (detail, sizeof detail,
                  "the broker's log of %" PRIu64 " records does not extend the %" PRIu64
                  " it signed before",
                  self->pending.size, self->trusted.size);
        s_history_rewritten (self, detail);
    }
    self->pending.size = 0;
}

//  ---------------------------------------------------------------------------------------------
//  Trust: the board's bundle, pushed by the broker at Hello and whenever the board issues one.
//  It is checked against the board CA we were given at enrolment (the broker vouches for
//  nothing), taken only if newer, kept before it is used, and it ends: from pki/warn_days
//  before expiry we warn, and once expired we send and accept nothing until a new one comes.

//  The trust state for status.json and alerts: "pki-folder" (no bundle yet, the folder is
//  trusted), "none", "ok", "expiring" or "expired".
static const char *
s_trust_state (rh_agent_t *self, int64_t now)
{
    const rh_bundle_t *bundle = rh_trust_bundle (self->trust);
    if (!bundle)
        return rh_trust_store (self->trust) ? "pki-folder" : "none";
    int64_t warn_ms = rh_config_int (self->config, "pki/warn_days") * 24LL * 3600 * 1000;
    if (rh_bundle_expired (bundle, now))
        return "expired";
    return rh_bundle_expires_ms (bundle) - now <= warn_ms ? "expiring" : "ok";
}

//  Why deliveries cannot be verified now, or NULL if they can.
static const char *
s_untrusted (rh_agent_t *self, int64_t now)
{
    if (!rh_trust_store (self->trust))
        return "no trust bundle from the broker yet";
    if (rh_trust_expired (self->trust, now))
        return "our trust bundle has expired";
    return NULL;
}

//  A delivery we cannot verify now is not taken in: the broker keeps it and offers it again
//  when our trust is refreshed.
static void
s_decline_untrusted (rh_agent_t *self, const rh_frame_t *deliver)
{
    const char *why = s_untrusted (self, rh_time_now_ms ());
    rh_frame_t answer = { .type = RH_FRAME_UNVERIFIED,
                          .delivery_id = deliver->delivery_id,
                          .code = rh_rc_name (rh_trust_store (self->trust) ? RH_E_EXPIRED
                                                                           : RH_E_CERT_UNKNOWN),
                          .reason = why };
    s_send_frame (self, &answer);
    if (self->untrusted++ == 0)
        s_error (self, "deliveries left with the broker: %s", why);
    self->status_dirty = true;
}

//  Puts a local alert in the inbox (and runs the hook), once per bundle version and state: the
//  agency's system shows it where staff look, not only in a log nobody reads.
static void
s_trust_alert (rh_agent_t *self, const char *state, int64_t now)
{
    const rh_bundle_t *bundle = rh_trust_bundle (self->trust);
    if (!bundle
        || (self->trust_alerted_version == rh_bundle_version (bundle)
            && strcmp (self->trust_alerted, state) == 0))
        return;
    self->trust_alerted_version = rh_bundle_version (bundle);
    snprintf (self->trust_alerted, sizeof self->trust_alerted, "%s", state);
    char expires [32], name [PATH_MAX], path [PATH_MAX];
    rh_time_format (rh_bundle_expires_ms (bundle), expires, sizeof expires);
    bool expired = strcmp (state, "expired") == 0;
    s_error (self, "trust bundle version %" PRIu64 " %s %s%s", rh_bundle_version (bundle),
             expired ? "expired" : "expires", expires,
             expired ? ": sending and receiving stopped until the broker has a new one" : "");
    snprintf (name, sizeof name, "alert-trust-bundle-%" PRIu64 "-%s.json",
              rh_bundle_version (bundle), state);
    rh_file_path (path, sizeof path, "%s/%s", self->inbox, name);
    if (rh_file_exists (path))
        return;
    json_t *alert = json_pack (
        "{s:s, s:s, s:I, s:s, s:s, s:s}", "kind", "AGENT_ALERT", "alert",
        expired ? "TRUST_BUNDLE_EXPIRED" : "TRUST_BUNDLE_EXPIRING", "bundle_version",
        (json_int_t) rh_bundle_version (bundle), "expires", expires, "raised",
        rh_time_format (now, (char [32]){ 0 }, 32), "what_to_do",
        expired ? "Nothing is sent or received until the board issues a new trust bundle: "
                  "ask the regional rhannu operators to run rhannu-ca bundle and reload the broker."
                : "Ask the regional rhannu operators to issue a new trust bundle before then.");
    char *text = alert ? json_dumps (alert, JSON_INDENT (2) | JSON_PRESERVE_ORDER) : NULL;
    if (text && rh_file_write_atomic (path, text, strlen (text), 0640) == 0)
        s_run_hook (self, path);
    free (text);
    json_decref (alert);
}

//  Once a tick: alerts as the bundle nears and passes its expiry.
static void
s_trust_tick (rh_agent_t *self, int64_t now)
{
    const char *state = s_trust_state (self, now);
    if (strcmp (state, "expiring") == 0 || strcmp (state, "expired") == 0) {
        s_trust_alert (self, state, now);
        self->status_dirty = true;
    }
}

static void
s_bundle_arrived (rh_agent_t *self, const rh_frame_t *frame)
{
    uint64_t held = rh_trust_version (self->trust);
    bool adopted = false;
    rh_rc_t rc = rh_trust_offer (self->trust, frame->sealed, frame->sealed_size, &adopted);
    if (rc == RH_E_REPLAY)
        s_error (self,
                 "the broker sent a trust bundle older than version %" PRIu64
                 " we hold: refused (a rollback)",
                 held);
    else if (rc != RH_OK)
        s_error (self,
                 "the broker sent a trust bundle that does not verify against our board "
                 "CA: refused (%s)",
                 rh_rc_name (rc));
    if (!adopted)
        return;
    const rh_bundle_t *bundle = rh_trust_bundle (self->trust);
    char expires [32];
    rh_log_info (self->agency,
                 "trust bundle version %" PRIu64 " taken (was %" PRIu64 "): %zu certificates, "
                 "expires %s",
                 rh_bundle_version (bundle), held, rh_bundle_certificates (bundle),
                 rh_time_format (rh_bundle_expires_ms (bundle), expires, sizeof expires));
    self->untrusted = 0;
    self->trust_alerted [0] = 0;
    self->status_dirty = true;
}

static void
s_handle_dealer (rh_agent_t *self)
{
    for (int handled = 0; handled < RH_MAX_BATCH; handled++) {
        zmq_msg_t message;
        zmq_msg_init (&message);
        if (zmq_msg_recv (&message, self->dealer, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close (&message);
            break;
        }
        rh_frame_t frame;
        rh_rc_t rc = rh_frame_decode (zmq_msg_data (&message), zmq_msg_size (&message), &frame);
        if (rc != RH_OK)
            s_error (self, "unreadable frame from the broker: %s", rh_rc_name (rc));
        else if (frame.type == RH_FRAME_ACCEPTED) {
            s_answer_seen (self, rh_time_now_ms ());
            s_answered (self, frame.msg_id, NULL);
        }
        else if (frame.type == RH_FRAME_REJECTED) {
            if (*frame.msg_id) {
                s_answer_seen (self, rh_time_now_ms ());
                s_answered (self, frame.msg_id, &frame);
            }
            else
                s_error (self, "broker refused a frame: %s: %s", frame.code, frame.reason);
        }
        else if (frame.type == RH_FRAME_DELIVER && s_untrusted (self, rh_time_now_ms ()))
            s_decline_untrusted (self, &frame);
        else if (frame.type == RH_FRAME_DELIVER)
            s_arrive (self, &frame);
        else if (frame.type == RH_FRAME_BUNDLE)
            s_bundle_arrived (self, &frame);
        else if (frame.type == RH_FRAME_CHECKPOINT)
            s_checkpoint_arrived (self, &frame.checkpoint);
        else if (frame.type == RH_FRAME_PROOF)
            s_proof_arrived (self, &frame);
        rh_frame_release (&frame);
        zmq_msg_close (&message);
    }
}

//  The CURVE key of the index-th broker: from its folder (broker/dir for broker/identity, else
//  its folder in pki/dir), as agents enrolled before lists read it; else from the BROKER
//  certificate of that name in the trust bundle, which binds its transport key. Returns 0, or -1
//  (logged) if neither has it.
static int
s_broker_key (rh_agent_t *self, size_t index, uint8_t key [32])
{
    const char *identity = rh_brokers_identity (self->brokers, index);
    const char *pki_dir = rh_config_str (self->config, "pki/dir");
    char folder [PATH_MAX] = "", pub [PATH_MAX];
    if (*rh_config_str (self->config, "broker/dir")
        && strcmp (identity, rh_config_str (self->config, "broker/identity")) == 0)
        snprintf (folder, sizeof folder, "%s", rh_config_str (self->config, "broker/dir"));
    else if (*pki_dir)
        rh_file_path (folder, sizeof folder, "%s/%s", pki_dir, identity);
    if (*folder && rh_file_path (pub, sizeof pub, "%s/curve.pub", folder) == 0
        && rh_file_exists (pub))
        return rh_ca_load_curve (folder, key, NULL);
    const rh_identity_t *found =
        rh_certstore_enrolled (rh_trust_store (self->trust), identity, rh_time_now_ms ());
    if (found && found->has_curve_key && strcmp (found->type, "BROKER") == 0) {
        memcpy (key, found->curve_key, 32);
        return 0;
    }
    rh_log_error (self->agency,
                  "no CURVE key for broker %s (at %s): no curve.pub in its folder and no valid "
                  "BROKER certificate of that name in the trust bundle",
                  identity, rh_brokers_endpoint (self->brokers, index));
    return -1;
}

//  Closes the dealer to the current broker and its monitor. What was in flight is forgotten
//  here and sent again from the outbox once the next broker lets us in (s_on_connected).
static void
s_close_link (rh_agent_t *self)
{
    if (self->dealer) {
        zmq_socket_monitor (self->dealer, NULL, 0);
        zmq_close (self->dealer);
        self->dealer = NULL;
    }
    if (self->monitor) {
        zmq_close (self->monitor);
        self->monitor = NULL;
    }
    rh_link_destroy (&self->link);
    self->connected = false;
}

//  Opens a dealer to the current broker, with its monitor and link. Returns 0, or -1 (logged)
//  with nothing open.
static int
s_open_link (rh_agent_t *self)
{
    size_t index = rh_brokers_current (self->brokers);
    const char *broker = rh_brokers_endpoint (self->brokers, index);
    uint8_t public_key [32], secret_key [32], broker_key [32];
    if (!self->curve_loaded) {
        if (rh_ca_load_curve (self->agency_dir, self->curve_public, self->curve_secret) != 0)
            return -1;
        self->curve_loaded = true;
    }
    memcpy (public_key, self->curve_public, sizeof public_key);
    memcpy (secret_key, self->curve_secret, sizeof secret_key);
    if (s_broker_key (self, index, broker_key) != 0) {
        sodium_memzero (secret_key, sizeof secret_key);
        return -1;
    }
    self->dealer = zmq_socket (self->context, ZMQ_DEALER);
    if (!self->dealer) {
        sodium_memzero (secret_key, sizeof secret_key);
        return -1;
    }
    //  A secret, random routing id per socket: only we and the broker know it (it travels inside
    //  the CURVE handshake), so no other agency can take over our deliveries by naming it. A new
    //  one for each broker, so that one still holding our old connection lets the new one in.
    uint8_t routing_id [17];
    randombytes_buf (routing_id, sizeof routing_id);
    routing_id [0] = 'R';
    //  The heartbeat finds a silent broker within broker/dead_after_ms (ZeroMQ then closes the
    //  connection and the agent moves on); TTL has the broker drop us as soon, in turn.
    int dead_after = (int) rh_config_int (self->config, "broker/dead_after_ms");
    int heartbeat = dead_after / 3, linger = 0, hwm = 100000;
    int reconnect = 200, reconnect_max = 5000;
    if (rh_brokers_size (self->brokers) > 1)
        reconnect_max = dead_after / 2;  //  tried at least twice before we move on
    int rc =
        zmq_setsockopt (self->dealer, ZMQ_CURVE_SERVERKEY, broker_key, 32)
        | zmq_setsockopt (self->dealer, ZMQ_CURVE_PUBLICKEY, public_key, 32)
        | zmq_setsockopt (self->dealer, ZMQ_CURVE_SECRETKEY, secret_key, 32)
        | zmq_setsockopt (self->dealer, ZMQ_ROUTING_ID, routing_id, sizeof routing_id)
        | zmq_setsockopt (self->dealer, ZMQ_HEARTBEAT_IVL, &heartbeat, sizeof heartbeat)
        | zmq_setsockopt (self->dealer, ZMQ_HEARTBEAT_TIMEOUT, &dead_after, sizeof dead_after)
        | zmq_setsockopt (self->dealer, ZMQ_HEARTBEAT_TTL, &dead_after, sizeof dead_after)
        | zmq_setsockopt (self->dealer, ZMQ_RECONNECT_IVL, &reconnect, sizeof reconnect)
        | zmq_setsockopt (self->dealer, ZMQ_RECONNECT_IVL_MAX, &reconnect_max, sizeof reconnect_max)
        | zmq_setsockopt (self->dealer, ZMQ_SNDHWM, &hwm, sizeof hwm)
        | zmq_setsockopt (self->dealer, ZMQ_RCVHWM, &hwm, sizeof hwm)
        | zmq_setsockopt (self->dealer, ZMQ_LINGER, &linger, sizeof linger);
    sodium_memzero (secret_key, sizeof secret_key);
    char endpoint [80];
    snprintf (endpoint, sizeof endpoint, "inproc://rh-agent-monitor-%p-%u", (void *) self,
              self->monitor_serial++);
    if (rc != 0 || zmq_socket_monitor (self->dealer, endpoint, RH_LINK_EVENTS) != 0
        || !(self->link = rh_link_new (broker, RH_HANDSHAKE_LATE_MS))
        || !(self->monitor = zmq_socket (self->context, ZMQ_PAIR))
        || zmq_connect (self->monitor, endpoint) != 0)
        goto fail;
    if (zmq_connect (self->dealer, broker) != 0) {
        rh_log_error (self->agency, "cannot connect to %s: %s", broker, zmq_strerror (errno));
        goto fail;
    }
    self->status_dirty = true;
    return 0;
fail:
    s_close_link (self);
    return -1;
}

//  Leaves the current broker for the next in broker/endpoints (Binary Star's client): closes
//  the socket and opens one to the next. Everything unanswered goes again from the outbox once
//  that broker lets us in; the broker de-duplicates by message id, and what it delivers again
//  that is already in our inbox is dropped by its i/ record.
static void
s_fail_over (rh_agent_t *self, int64_t now)
{
    const char *from = rh_brokers_endpoint (self->brokers, rh_brokers_current (self->brokers));
    size_t next = rh_brokers_move (self->brokers, now);
    rh_log_warn (self->agency, "%s the broker at %s: moving to %s (%zu of %zu)",
                 self->link_lost ? "lost" : "no way in to", from,
                 rh_brokers_endpoint (self->brokers, next), next + 1,
                 rh_brokers_size (self->brokers));
    s_close_link (self);
    self->link_lost = false;
    self->status_dirty = true;
    if (s_open_link (self) != 0)
        rh_log_warn (self->agency,
                     "cannot open a socket to %s; trying the next broker in %" PRId64 " ms",
                     rh_brokers_endpoint (self->brokers, next),
                     rh_config_int (self->config, "broker/dead_after_ms"));
}

//  A lost link to the only broker: a new socket, so a new routing id. The broker may still hold
//  the old connection (it was stopped, or too busy to see it go); a ROUTER that still holds a
//  routing id takes the next frame of a second connection with that id as its routing id, so our
//  Hello would be eaten and the broker would never hear of us again while we thought we were
//  connected (seen after a broker was stopped for a few seconds and continued).
static void
s_reconnect (rh_agent_t *self)
{
    rh_log_info (self->agency, "connecting to the broker at %s again, on a new connection",
                 s_broker (self));
    s_close_link (self);
    self->status_dirty = true;
    //  Tried again at the next tick if the socket cannot be opened.
    self->link_lost = s_open_link (self) != 0;
    if (self->link_lost)
        rh_log_warn (self->agency, "cannot open a socket to %s; trying again", s_broker (self));
}

//  ---------------------------------------------------------------------------------------------

//  Reads witness/keys and witness/quorum. Returns 0, or -1 (logged) when a key does not parse,
//  is not a cosignature key, or the quorum asks for more witnesses than are named.
static int
s_load_witnesses (rh_agent_t *self)
{
    const char *text = rh_config_str (self->config, "witness/keys");
    self->quorum = (size_t) rh_config_int (self->config, "witness/quorum");
    while (*text) {
        text += strspn (text, " \t,");
        size_t length = strcspn (text, " \t,");
        if (length == 0)
            break;
        char vkey [RH_NOTE_MAX_VKEY];
        if (self->witness_count == RH_MAX_WITNESSES || length >= sizeof vkey) {
            rh_log_error (self->agency, "witness/keys: at most %d keys", RH_MAX_WITNESSES);
            return -1;
        }
        memcpy (vkey, text, length);
        vkey [length] = 0;
        rh_note_vkey_t *key = &self->witness_keys [self->witness_count];
        if (rh_note_vkey_parse (vkey, key) != RH_OK || key->type != RH_NOTE_TYPE_COSIGNATURE) {
            rh_log_error (self->agency, "witness/keys: key %zu is not a cosignature/v1 vkey",
                          self->witness_count + 1);
            return -1;
        }
        for (size_t i = 0; i < self->witness_count; i++)
            if (self->witness_keys [i].id == key->id
                && strcmp (self->witness_keys [i].name, key->name) == 0) {
                rh_log_error (self->agency, "witness/keys: a key is named twice");
                return -1;
            }
        self->witness_count++;
        text += length;
    }
    if (self->quorum > self->witness_count) {
        rh_log_error (self->agency, "witness/quorum is %zu but witness/keys names %zu witnesses",
                      self->quorum, self->witness_count);
        return -1;
    }
    return 0;
}

rh_agent_t *
rh_agent_new (rh_config_t *config)
{
    assert (config);
    rh_agent_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->config = config;
    self->inotify = -1;
    snprintf (self->agency, sizeof self->agency, "%s", rh_config_str (config, "agency/id"));
    rh_agent_paths (config, self->outbox, self->inbox, self->failed, self->status_path, PATH_MAX);
    rh_file_path (self->outbox_tmp, sizeof self->outbox_tmp, "%s/.tmp", self->outbox);
    rh_file_path (self->inbox_tmp, sizeof self->inbox_tmp, "%s/.tmp", self->inbox);
    self->hook = rh_config_str (config, "hook/command");
    self->window = (size_t) rh_config_int (config, "send/window");
    self->resend_ms = rh_config_int (config, "send/resend_ms");
    self->resend_wait_ms = self->resend_ms;
    self->credit = (uint32_t) rh_config_int (config, "receive/credit");
    self->scan_ms = rh_config_int (config, "spool/scan_ms");
    const char *spool = rh_config_str (config, "spool/dir");
    const char *data = rh_config_str (config, "data/dir");
    //  A second agent on the same data would meet LevelDB's lock with a raw error: say who.
    char lock [PATH_MAX];
    rh_file_path (lock, sizeof lock, "%s/outbox.db/LOCK", data);
    pid_t holder = rh_file_lock_holder (lock);
    if (holder > 0) {
        rh_log_error (self->agency, "another rhannu-agent is running on %s (pid %ld)", data,
                      (long) holder);
        goto fail;
    }
    //  The spool and data folders and their parents: a fresh install names folders not made yet.
    const char *folders [] = {
        spool, data, self->outbox, self->outbox_tmp, self->inbox, self->inbox_tmp, self->failed
    };
    for (size_t i = 0; i < sizeof folders / sizeof folders [0]; i++)
        if (rh_file_mkdirs (folders [i], 0750) != 0) {
            rh_log_error (self->agency, "cannot create %s: %s", folders [i], strerror (errno));
            goto fail;
        }
    if (s_load_witnesses (self) != 0)
        goto fail;
    const char *pki_dir = rh_config_str (config, "pki/dir");
    if (!*pki_dir
        && (!*rh_config_str (config, "pki/ca") || !*rh_config_str (config, "agency/dir")
            || !*rh_config_str (config, "broker/dir"))) {
        rh_log_error (self->agency, "set pki/ca, agency/dir and broker/dir (or pki/dir)");
        goto fail;
    }
    if (*rh_config_str (config, "agency/dir"))
        snprintf (self->agency_dir, sizeof self->agency_dir, "%s",
                  rh_config_str (config, "agency/dir"));
    else
        rh_file_path (self->agency_dir, sizeof self->agency_dir, "%s/%s", pki_dir, self->agency);
    if (!(self->signer = rh_signer_load (self->agency_dir)))
        goto fail;
    if (strcmp (rh_signer_agency (self->signer), self->agency) != 0) {
        rh_log_error (self->agency, "the certificate in %s names %s, not %s", self->agency_dir,
                      rh_signer_agency (self->signer), self->agency);
        goto fail;
    }
    const char *secret = rh_config_str (config, "subjects/secret_file");
    if (*secret) {
        if (rh_subject_load_secret (secret, self->subject_secret) != 0)
            goto fail;
        self->has_subject_secret = true;
    }
    char ca_path [PATH_MAX], bundle_path [PATH_MAX];
    if (*rh_config_str (config, "pki/ca"))
        snprintf (ca_path, sizeof ca_path, "%s", rh_config_str (config, "pki/ca"));
    else
        rh_file_path (ca_path, sizeof ca_path, "%s/ca.pem", pki_dir);
    rh_file_path (bundle_path, sizeof bundle_path, "%s/%s", data, RH_BUNDLE_FILE);
    if (!(self->trust = rh_trust_new (ca_path, bundle_path, *pki_dir ? pki_dir : NULL)))
        goto fail;
    if (*pki_dir)
        s_load_peer_stores (self, pki_dir);
    if (rh_trust_version (self->trust))
        rh_log_info (self->agency, "trust bundle version %" PRIu64 " (kept)",
                     rh_trust_version (self->trust));
    char db_path [PATH_MAX];
    rh_file_path (db_path, sizeof db_path, "%s/outbox.db", data);
    if (!(self->db = rh_db_open (db_path)))
        goto fail;
    uint8_t *value = NULL;
    size_t size = 0;
    if (rh_db_get (self->db, "n/seq", 5, &value, &size) == 0 && size == 8)
        memcpy (&self->sequence, value, 8);
    free (value);
    value = NULL;
    //  Kept before checkpoints carried cosignatures: the fields before them.
    if (rh_db_get (self->db, "ck/trusted", 10, &value, &size) == 0
        && (size == sizeof self->trusted || size == offsetof (rh_checkpoint_t, origin)))
        memcpy (&self->trusted, value, size);
    free (value);
    value = NULL;
    if (rh_db_get (self->db, "ck/alarm", 8, &value, &size) == 0 && size < sizeof self->alarm) {
        memcpy (self->alarm, value, size);
        self->alarm [size] = 0;
    }
    free (value);
    if (!(self->by_state = json_object ()) || s_referrals_load (self) != 0)
        goto fail;
    rh_db_iter_t *iter = rh_db_iter_new (self->db, "o/", 2);
    for (; iter && rh_db_iter_valid (iter); rh_db_iter_next (iter))
        self->queued++;
    rh_db_iter_destroy (&iter);
    if (!(self->pruner = rh_pruner_new (self->db, self->agency, self->outbox,
                                        rh_config_int (config, "data/retention_days") * RH_DAY_MS,
                                        RH_SPOOL_GUARD_MS)))
        goto fail;
    s_read_clock (self);
    self->next_sequence = self->sequence;
    self->flights = calloc (self->window, sizeof *self->flights);
    self->arrivals = calloc (RH_MAX_ACK_BATCH, sizeof *self->arrivals);
    self->spool = calloc (RH_SEAL_CREDIT, sizeof *self->spool);
    if (!self->flights || !self->arrivals || !self->spool)
        goto fail;
    if (s_recover_inbox (self) != 0) {
        rh_log_error (self->agency, "cannot recover the inbox");
        goto fail;
    }
    self->inotify = inotify_init1 (IN_NONBLOCK | IN_CLOEXEC);
    if (self->inotify >= 0)
        inotify_add_watch (self->inotify, self->outbox, IN_MOVED_TO | IN_CLOSE_WRITE);
    char error [300];
    if (!(self->brokers = rh_brokers_new (
              rh_config_str (config, "broker/endpoints"), rh_config_str (config, "broker/endpoint"),
              rh_config_str (config, "broker/identity"),
              rh_config_int (config, "broker/dead_after_ms"), error, sizeof error))) {
        rh_log_error (self->agency, "%s", error);
        goto fail;
    }
    if (!(self->context = zmq_ctx_new ()) || s_open_link (self) != 0
        || !(self->sealer = rh_sealer_new (self->context, &self->signer)))
        goto fail;
    if (!(self->service = rh_service_new ()))
        goto fail;
    const char *listen = rh_config_str (config, "metrics/listen");
    if (*listen) {
        self->metrics =
            rh_monitor_new (self->context, listen, rh_config_bool (config, "metrics/allow_remote"),
                            s_metrics_paths, error, sizeof error);
        if (!self->metrics) {
            rh_log_error (self->agency, "metrics/listen: %s", error);
            goto fail;
        }
    }
    self->started_ms = rh_time_now_ms ();
    s_write_status (self);
    return self;
fail:
    rh_log_error (self->agency, "cannot start the agent");
    rh_agent_destroy (&self);
    return NULL;
}

void
rh_agent_destroy (rh_agent_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        rh_agent_t *self = *self_p;
        sodium_memzero (self->curve_secret, sizeof self->curve_secret);
        //  Forgetting answered messages is all that can be pending here (what backs a return
        //  or an acknowledgement is committed at once); kept, to spare resends.
        if (self->db && rh_db_pending (self->db) > 0)
            s_commit (self, true);
        //  A case system's agent stops here, not in rh_agent_run: status.json says where it
        //  stopped (only for an agent that started: a failed start has no status to tell).
        if (self->sealer)
            s_write_status (self);
        sodium_memzero (self->subject_secret, sizeof self->subject_secret);
        rh_sealer_destroy (&self->sealer);
        s_listing_free (self);
        for (size_t i = 0; self->spool && i < self->spool_count; i++) {
            s_spool_t *spool = &self->spool [(self->spool_head + i) % RH_SEAL_CREDIT];
            free (spool->json);
            rh_sealed_release (&spool->result);
        }
        free (self->spool);
        s_close_link (self);
        rh_brokers_destroy (&self->brokers);
        rh_monitor_destroy (&self->metrics);  //  its thread, before the context ends
        rh_pruner_destroy (&self->pruner);
        rh_service_destroy (&self->service);
        if (self->context)
            zmq_ctx_term (self->context);
        if (self->inotify >= 0)
            close (self->inotify);
        free (self->flights);
        free (self->deferred);
        free (self->arrivals);
        free (self->touched);
        json_decref (self->by_state);
        rh_db_destroy (&self->db);
        rh_signer_destroy (&self->signer);
        rh_trust_destroy (&self->trust);
        for (size_t i = 0; i < self->peer_count; i++)
            rh_certstore_destroy (&self->peer_stores [i]);
        if (self->owns_config)
            rh_config_destroy (&self->config);
        free (self);
        *self_p = NULL;
    }
}

//  --- Figures: metrics and health ---------------------------------------------------------------

//  "connected, 3 in the outbox, 0 unanswered": what `systemctl status` shows.
static void
s_service_status (rh_agent_t *self, char *status, size_t size)
{
    snprintf (status, size, "%s, %" PRIu64 " in the outbox, %zu unanswered%s",
              self->connected ? "connected" : "not connected", self->queued, self->flight_count,
              self->paused ? ", intake paused" : "");
}

//  Files waiting in inbox/ for the case system to take (bounded count).
static uint64_t
s_inbox_backlog (rh_agent_t *self)
{
    DIR *dir = opendir (self->inbox);
    uint64_t count = 0;
    if (!dir)
        return 0;
    struct dirent *entry;
    while ((entry = readdir (dir)) && count < RH_MAX_FIGURES_SCAN) {
        size_t length = strlen (entry->d_name);
        if (entry->d_name [0] != '.' && length > 5
            && strcmp (entry->d_name + length - 5, ".json") == 0)
            count++;
    }
    closedir (dir);
    return count;
}

static char *
s_render_metrics (rh_agent_t *self, size_t *size)
{
    rh_prom_t *prom = rh_prom_new ();
    if (!prom)
        return NULL;
    int64_t now = rh_time_now_ms ();
    rh_prom_gauge (prom, "rhannu_agent_connected", "1 if the agent has a session with the broker.",
                   self->connected);
    rh_prom_gauge (prom, "rhannu_agent_outbox_depth",
                   "Messages in the durable outbox, not yet stored by the broker.",
                   (double) self->queued);
    rh_prom_gauge (prom, "rhannu_agent_unanswered", "Messages sent and not yet answered.",
                   (double) self->flight_count);
    rh_prom_gauge (prom, "rhannu_agent_oldest_unanswered_seconds",
                   "Age of the oldest message sent and not yet answered (0: none).",
                   self->flight_count ? (double) (now - self->flights [0].sent_ms) / 1000.0 : 0);
    rh_prom_gauge (prom, "rhannu_agent_inbox_backlog",
                   "Files in inbox/ not yet taken by the case system.",
                   (double) s_inbox_backlog (self));
    rh_prom_gauge (prom, "rhannu_agent_intake_paused",
                   "1 while inbox/ cannot be written and deliveries stay with the broker.",
                   self->paused);
    rh_prom_family (prom, "rhannu_agent_last_accepted_timestamp_seconds", "gauge",
                    "When the broker last accepted a message of ours (absent: not since start).");
    if (self->last_accepted_ms)
        rh_prom_sample (prom, "rhannu_agent_last_accepted_timestamp_seconds", NULL, NULL,
                        (double) self->last_accepted_ms / 1000.0);
    const rh_bundle_t *bundle = rh_trust_bundle (self->trust);
    rh_prom_family (prom, "rhannu_agent_trust_bundle_age_seconds", "gauge",
                    "Time since the trust bundle in force was issued (absent: none yet).");
    if (bundle)
        rh_prom_sample (prom, "rhannu_agent_trust_bundle_age_seconds", NULL, NULL,
                        (double) (now - rh_bundle_issued_ms (bundle)) / 1000.0);
    rh_prom_family (prom, "rhannu_agent_trust_bundle_expiry_seconds", "gauge",
                    "Seconds until the trust bundle in force expires (absent: none yet).");
    if (bundle)
        rh_prom_sample (prom, "rhannu_agent_trust_bundle_expiry_seconds", NULL, NULL,
                        (double) (rh_bundle_expires_ms (bundle) - now) / 1000.0);
    rh_prom_counter (prom, "rhannu_agent_accepted_total", "Messages the broker accepted.",
                     (double) self->accepted);
    rh_prom_counter (prom, "rhannu_agent_rejected_total", "Messages the broker refused.",
                     (double) self->rejected);
    rh_prom_counter (prom, "rhannu_agent_resent_total",
                     "Messages sent again because the broker did not answer in time.",
                     (double) self->resent);
    rh_prom_counter (prom, "rhannu_agent_received_total", "Deliveries taken in.",
                     (double) self->received);
    rh_prom_counter (prom, "rhannu_agent_duplicates_total",
                     "Deliveries dropped as duplicates of one taken in before.",
                     (double) self->duplicates);
    rh_prom_counter (prom, "rhannu_agent_unverified_total",
                     "Deliveries that could not be verified (left with the broker).",
                     (double) self->unverified);
    rh_prom_process (prom, self->started_ms);
    char *text = rh_prom_take (prom, size);
    rh_prom_destroy (&prom);
    return text;
}

//  Answers one HTTP request on the loop (rh_monitor asked).
static void
s_answer (void *arg, const char *path, rh_monitor_reply_t *reply)
{
    rh_agent_t *self = arg;
    if (strcmp (path, "/metrics") == 0) {
        reply->body = s_render_metrics (self, &reply->size);
        reply->status = reply->body ? 200 : 500;
        reply->type = RH_MONITOR_PROMETHEUS;
        return;
    }
    char line [240];
    if (strcmp (path, "/readyz") == 0) {
        //  Ready: in session with the broker and able to write what it delivers.
        if (!self->connected)
            snprintf (line, sizeof line, "not connected to the broker\n");
        else if (self->paused)
            snprintf (line, sizeof line, "intake paused: %s\n", self->paused_reason);
        else
            snprintf (line, sizeof line, "ready\n");
        reply->status = self->connected && !self->paused ? 200 : 503;
    }
    else {
        snprintf (line, sizeof line, "alive\n");
        reply->status = 200;
    }
    reply->body = strdup (line);
    reply->size = reply->body ? strlen (reply->body) : 0;
}

//  One pass of the loop: waits at most timeout_ms for the broker, the sealer or outbox/, then
//  does what is due. Returns 0, or -1 if storage failed.
static int
s_step (rh_agent_t *self, int timeout_ms)
{
    //  The sealer and outbox/ first; the broker's socket and its monitor when one is open (none
    //  while a failover could not open the next broker's); the metrics thread's questions.
    zmq_pollitem_t items [5];
    int count = 0;
    zmq_pollitem_t *inotify = NULL, *dealer = NULL, *monitor = NULL, *metrics = NULL;
    items [count++] = (zmq_pollitem_t){ rh_sealer_socket (self->sealer), 0, ZMQ_POLLIN, 0 };
    if (self->inotify >= 0) {
        inotify = &items [count];
        items [count++] = (zmq_pollitem_t){ NULL, self->inotify, ZMQ_POLLIN, 0 };
    }
    if (self->dealer) {
        dealer = &items [count];
        items [count++] = (zmq_pollitem_t){ self->dealer, 0, ZMQ_POLLIN, 0 };
        monitor = &items [count];
        items [count++] = (zmq_pollitem_t){ self->monitor, 0, ZMQ_POLLIN, 0 };
    }
    if (self->metrics) {
        metrics = &items [count];
        items [count++] = (zmq_pollitem_t){ rh_monitor_socket (self->metrics), 0, ZMQ_POLLIN, 0 };
    }
    //  While spool files wait for the sealer, go round again at once: a full outbox drains
    //  at the sealer's pace, not one listing per scan tick.
    if (zmq_poll (items, count, s_intake_busy (self) ? 0 : timeout_ms) < 0 && errno != EINTR)
        return 0;
    //  Reap finished hooks; only when there are hooks, so that a case system linking the agent
    //  keeps its own children.
    if (*self->hook)
        while (waitpid (-1, NULL, WNOHANG) > 0)
            ;
    if (self->dealer && monitor && (monitor->revents & ZMQ_POLLIN))
        s_handle_monitor (self);
    if (metrics && (metrics->revents & ZMQ_POLLIN))
        rh_monitor_answer (self->metrics, s_answer, self);
    if (self->dealer && dealer && (dealer->revents & ZMQ_POLLIN))
        s_handle_dealer (self);
    if (s_finish_arrivals (self) != 0) {
        rh_log_error (self->agency, "cannot make the inbox durable; stopping");
        return -1;
    }
    int64_t now = rh_time_now_ms ();
    s_retry_intake (self, now);
    s_announce_credit (self);
    if (self->link && rh_link_tick (self->link, now))
        s_link_changed (self);
    if (rh_brokers_should_move (self->brokers, self->connected, now))
        s_fail_over (self, now);
    if (inotify && (inotify->revents & ZMQ_POLLIN)) {
        //  Every event waiting, in one go: they only say "look again".
        char events [4096];
        while (read (self->inotify, events, sizeof events) > 0)
            ;
        self->relist = true;
    }
    if (s_intake_outbox (self, now) != 0) {
        rh_log_error (self->agency, "cannot store the outbox; stopping");
        return -1;
    }
    if (now - self->last_tick >= RH_TICK_MS) {
        self->last_tick = now;
        //  The watchdog is fed from the loop itself: a loop that stops turning is restarted.
        rh_service_tick (self->service, now);
        if (now - self->service_status_ms >= RH_SERVICE_STATUS_MS) {
            char status [160];
            s_service_status (self, status, sizeof status);
            rh_service_status (self->service, status);
            self->service_status_ms = now;
        }
        s_trust_tick (self, now);
        s_deferred_tick (self, now);
        //  Old records forgotten a bounded step at a time; committed with the rest below.
        s_read_clock (self);
        uint64_t passes = rh_pruner_passes (self->pruner);
        if (rh_pruner_step (self->pruner, s_retention_now (self), RH_PRUNE_BATCH) > 0
            || rh_pruner_passes (self->pruner) != passes)
            self->status_dirty = true;
        if (self->link_lost && !self->connected && rh_brokers_size (self->brokers) < 2)
            s_reconnect (self);
        if (self->flight_count > 0 && now - self->flights [0].sent_ms > self->resend_wait_ms) {
            //  No answer in time: send everything unanswered again. Said, and counted in
            //  status.json: a broker that keeps missing the deadline makes every resend a
            //  window of duplicates for it to answer, which looks like a stall from outside.
            //  Each resend in a row doubles the wait (to RH_MAX_RESEND_BACKOFF times it): a
            //  broker slowed by load is not buried under duplicates it must verify before it
            //  can tell they are duplicates, which would slow it further (congestion collapse).
            rh_log_warn (self->agency,
                         "no answer from the broker in %" PRId64 " ms: sending %zu messages again",
                         self->resend_wait_ms, self->flight_count);
            if (self->resend_wait_ms < self->resend_ms * RH_MAX_RESEND_BACKOFF)
                self->resend_wait_ms *= 2;
            self->resent += self->flight_count;
            self->status_dirty = true;
            self->cursor = self->flights [0].seq;
            self->flight_count = 0;
        }
    }
    //  Forgetting answered messages need not be synchronous: if it is lost, the broker
    //  acknowledges the resend as a duplicate.
    if (rh_db_pending (self->db) > 0 && s_commit (self, false) != 0)
        return -1;
    s_send_more (self);
    if (self->status_dirty && now - self->last_status >= RH_STATUS_MS) {
        self->last_status = now;
        s_write_status (self);
    }
    return 0;
}

int
rh_agent_step (rh_agent_t *self, int timeout_ms)
{
    assert (self);
    return s_step (self, timeout_ms < 0 ? 0 : timeout_ms);
}

int
rh_agent_run (rh_agent_t *self, volatile sig_atomic_t *stop)
{
    assert (self && stop);
    char status [160];
    s_service_status (self, status, sizeof status);
    rh_service_ready (self->service, status);
    self->service_status_ms = rh_time_now_ms ();
    while (!*stop)
        if (s_step (self, RH_TICK_MS) != 0) {
            rh_service_stopping (self->service, "storage failed: stopped");
            return -1;
        }
    rh_service_stopping (self->service, "stopping");
    if (rh_db_pending (self->db) > 0)
        s_commit (self, true);
    s_write_status (self);
    return 0;
}

rh_agent_t *
rh_agent_open (const char *config_path, char *error, size_t error_size)
{
    assert (config_path && error);
    rh_config_t *config = rh_config_load (rh_agent_config_spec, config_path, error, error_size);
    if (!config)
        return NULL;
    rh_log_set_format_name (rh_config_str (config, "log/format"));
    rh_agent_t *self = rh_agent_new (config);
    if (!self) {
        snprintf (error, error_size, "cannot start the agent of %s (its log says why)",
                  rh_config_str (config, "agency/id"));
        rh_config_destroy (&config);
        return NULL;
    }
    self->owns_config = true;
    return self;
}

void
rh_agent_on_receive (rh_agent_t *self, rh_agent_receive_fn *receive, void *arg)
{
    assert (self);
    self->receive = receive;
    self->receive_arg = arg;
}

void
rh_agent_on_outcome (rh_agent_t *self, rh_agent_outcome_fn *outcome, void *arg)
{
    assert (self);
    self->outcome = outcome;
    self->outcome_arg = arg;
}

//  Waits for the sealer and takes what it gives back (committing a batch when it is complete).
//  Nothing else is done meanwhile, so callbacks run only inside rh_agent_step (doing the
//  loop's work here too was tried: beside other work on 2 cores it gained nothing measurable).
//  Returns 0, or -1 if storage failed.
static int
s_await_sealer (rh_agent_t *self)
{
    zmq_pollitem_t item = { rh_sealer_socket (self->sealer), 0, ZMQ_POLLIN, 0 };
    if (zmq_poll (&item, 1, RH_TICK_MS) < 0 && errno != EINTR)
        return 0;
    return s_take_sealed (self);
}

int
rh_agent_submit_batch (rh_agent_t *self, size_t count, const char *const json [],
                       const size_t size [], char (*msg_ids) [RH_AGENT_ID_SIZE], char *error,
                       size_t error_size)
{
    assert (self && (json || count == 0) && (size || count == 0) && error);
    if (count == 0)
        return RH_AGENT_OK;
    //  Every message parsed (and copied, for failed/ should the broker refuse it) before any is
    //  handed over: an invalid one refuses the batch, and nothing is half taken.
    rh_envelope_t **envelopes = calloc (count, sizeof *envelopes);
    uint8_t **copies = calloc (count, sizeof *copies);
    int rc = RH_AGENT_OK;
    size_t handed = 0;
    if (!envelopes || !copies) {
        snprintf (error, error_size, "out of memory");
        rc = RH_AGENT_E_MEMORY;
        goto done;
    }
    for (size_t i = 0; i < count; i++) {
        char why [1024] = "";
        if (!json [i] || size [i] > RH_MAX_ENVELOPE)
            snprintf (why, sizeof why, "larger than %d bytes", RH_MAX_ENVELOPE);
        else
            envelopes [i] = rh_json_to_envelope_keyed (
                (const uint8_t *) json [i], size [i],
                self->has_subject_secret ? self->subject_secret : NULL, why, sizeof why);
        if (!envelopes [i]) {
            if (count == 1)
                snprintf (error, error_size, "%s", why);
            else
                snprintf (error, error_size, "message %zu: %s", i, why);
            rc = RH_AGENT_E_INVALID;
            goto done;
        }
        if (!(copies [i] = malloc (size [i] ? size [i] : 1))) {
            snprintf (error, error_size, "out of memory");
            rc = RH_AGENT_E_MEMORY;
            goto done;
        }
        memcpy (copies [i], json [i], size [i]);
        if (msg_ids)
            msg_ids [i][0] = 0;
    }
    //  Into the same ring as spool files, in order, as the sealer has room.
    s_submit_t submit = { .refused = 0 };
    for (; handed < count; handed++) {
        int sealed;
        while ((sealed =
                    s_seal (self, &envelopes [handed], copies [handed], size [handed], NULL, NULL))
               != RH_SEALER_QUEUED) {
            if (sealed == RH_SEALER_REFUSED && rh_sealer_in_flight (self->sealer) == 0) {
                snprintf (error, error_size,
                          "out of memory after %zu of %zu messages (those were taken)", handed,
                          count);
                rc = RH_AGENT_E_MEMORY;
                break;
            }
            if (s_await_sealer (self) != 0) {
                rc = RH_AGENT_E_STORAGE;
                break;
            }
        }
        if (rc != RH_AGENT_OK)
            break;
        s_spool_t *spool =
            &self->spool [(self->spool_head + self->spool_count - 1) % RH_SEAL_CREDIT];
        spool->submit = &submit;
        spool->id_out = msg_ids ? msg_ids [handed] : NULL;
        copies [handed] = NULL;  //  the ring owns it now
    }
    //  Returns only once everything handed over is committed (durably) with its batch.
    uint64_t last = self->next_sequence;
    while (rc != RH_AGENT_E_STORAGE && self->sequence < last)
        if (s_await_sealer (self) != 0)
            rc = RH_AGENT_E_STORAGE;
    if (rc == RH_AGENT_E_STORAGE)
        snprintf (error, error_size, "the outbox database cannot be written");
    else if (rc == RH_AGENT_OK && submit.refused > 0) {
        snprintf (error, error_size, "%zu of %zu messages not taken: %s", submit.refused, count,
                  submit.error);
        rc = RH_AGENT_E_INVALID;
    }
done:
    for (size_t i = 0; envelopes && i < count; i++)
        rh_envelope_destroy (&envelopes [i]);
    for (size_t i = 0; copies && i < count; i++)
        free (copies [i]);
    free (envelopes);
    free (copies);
    return rc;
}

int
rh_agent_submit (rh_agent_t *self, const char *json, size_t size, char *msg_id, char *error,
                 size_t error_size)
{
    char ids [1][RH_AGENT_ID_SIZE];
    int rc = rh_agent_submit_batch (self, 1, &json, &size, ids, error, error_size);
    if (msg_id)
        snprintf (msg_id, RH_AGENT_ID_SIZE, "%s", rc == RH_AGENT_OK ? ids [0] : "");
    return rc;
}

int
rh_agent_check_file (const char *path, char *error, size_t error_size)
{
    uint8_t *content = NULL;
    size_t size = 0;
    if (rh_file_read (path, RH_MAX_ENVELOPE, &content, &size) != 0) {
        snprintf (error, error_size, "%s: %s", path, strerror (errno));
        return -1;
    }
    rh_envelope_t *envelope = rh_json_to_envelope (content, size, error, error_size);
    free (content);
    int rc = envelope ? 0 : -1;
    rh_envelope_destroy (&envelope);
    return rc;
}
