/*  =========================================================================
    rh_limits - every limit rhannu enforces, in one place

    Untrusted bytes are checked against these before and after parsing.
    Change a limit here and the tests that probe its edge follow it.
    =========================================================================
*/
#ifndef RH_LIMITS_H_INCLUDED
#define RH_LIMITS_H_INCLUDED

//  Wire format
#define RH_SCHEMA_VERSION 1           //  Header.schema_version this code writes and accepts
#define RH_MAX_ENVELOPE   (1 << 20)   //  a whole sealed message, bytes
#define RH_MAX_HEADER     (32 << 10)  //  the signed header, bytes
#define RH_MAX_STRING     (64 << 10)  //  any one string or bytes field in a body, bytes
#define RH_MAX_ID         64          //  msg ids, agency ids, case ids, LA codes, purposes
#define RH_MAX_REPEATED   256         //  any one repeated field
#define RH_MAX_RECIPIENTS 32          //  Header.to
#define RH_MAX_DEPTH      8           //  message nesting (the schema itself needs 3)
#define RH_MAX_FIELDS     64          //  commitments / disclosures in one message

//  Transport and delivery
#define RH_MAX_ACK_BATCH    4096       //  delivery ids in one Delivered frame
#define RH_MAX_CREDIT       10000      //  unacknowledged deliveries an agent may ask for
#define RH_MAX_BATCH        512        //  messages in one group commit
#define RH_MAX_QUEUE_KEY    128        //  bytes of a LevelDB key
#define RH_MAX_BUNDLE       (1 << 20)  //  a signed trust bundle, bytes (one frame carries it)
#define RH_MAX_BUNDLE_CERTS 4096       //  certificates in one trust bundle

//  High availability: an agent's list of brokers (broker/endpoints), and a standby broker asking
//  for its store (whose LevelDB lock the active one holds)
#define RH_MAX_BROKERS     8    //  brokers one agent may fail over between
#define RH_MAX_ENDPOINT    255  //  bytes of one ZeroMQ endpoint
#define RH_STANDBY_POLL_MS 150  //  how often a standby broker looks at the store's lock

//  Redelivery to a connected agent that does not acknowledge backs off, doubling up to this
#define RH_MAX_REDELIVER_MS (10LL * 60 * 1000)  //  longest wait between resends, ms
//  A delivery its recipient could not verify (Unverified) stays queued and is offered again when
//  the agent's trust is refreshed or it says Hello again, and otherwise after this long
#define RH_UNVERIFIED_RETRY_MS (5LL * 60 * 1000)
#define RH_UNVERIFIED_ALERT_MS (60LL * 60 * 1000)  //  default: then its sender is told it waits
//  An agent's submission the broker refused as not yet valid (clocks apart) is sent again after
//  this long, doubling up to the longest wait
#define RH_NOT_YET_VALID_RETRY_MS     (30LL * 1000)
#define RH_NOT_YET_VALID_MAX_RETRY_MS (10LL * 60 * 1000)
#define RH_QUEUE_FRESH_ENTRIES        1024  //  newest queue entries kept in memory per agency...
#define RH_QUEUE_FRESH_BYTES          (4 << 20)  //  ...and their bytes: delivered without a read

//  Hostile traffic: what a peer can make the broker hold or write
#define RH_MAX_PROTO_ERRORS    32     //  malformed frames before a session is closed
#define RH_MAX_AGENCY_SESSIONS 8      //  connections one certificate may hold at once
#define RH_FIRST_FRAME_MS      10000  //  silence allowed after a handshake before closing
#define RH_MAX_SESSION_FD      65536  //  descriptors the session table tracks
#define RH_MAX_TALLY_PEERS     16     //  peers summarised apart in one audit interval
#define RH_MAX_PEER            80     //  bytes of a peer's name in a summary (key hex, agency)
#define RH_TALLY_INTERVAL_MS   60000  //  how often refusal summaries are audited
#define RH_CREATED_WINDOW_MS   (24LL * 3600 * 1000)  //  default allowed skew of created times

//  Signature-verify workers beside the broker's main loop
#define RH_MAX_VERIFY_WORKERS 16     //  worker threads, whatever the core count
#define RH_VERIFY_CREDIT      64     //  submissions per worker from submit until the result is read
#define RH_VERIFY_SLACK       8      //  pipe room beyond the credit, for control messages
#define RH_VERIFY_START_MS    10000  //  workers load their certificates and connect within
#define RH_VERIFY_STOP_MS     1500   //  rh_verifier_destroy waits at most this for workers
#define RH_SEAL_CREDIT        512    //  agent: spool messages with its signer until read back
#define RH_SEAL_SLACK         8      //  agent: signer pipe room beyond the credit, for control
#define RH_SEAL_START_MS      10000  //  agent: the signer thread connects within
#define RH_SEAL_STOP_MS       1500   //  agent: rh_sealer_destroy waits at most this for it
#define RH_MAX_ROUTING_ID     256    //  bytes of a ZeroMQ routing id (libzmq allows 255)
#define RH_MAX_BACKLOG_BYTES  (64 << 20)  //  submissions parked for a worker's credit, bytes
#define RH_MAX_BACKLOG_AGENCY (16 << 20)  //  of which one agency may hold, bytes

//  Cryptography
#define RH_SALT_LEN        16  //  per-field commitment salt
#define RH_DIGEST_LEN      32  //  SHA-256
#define RH_SIG_LEN         64  //  Ed25519 signature
#define RH_SECRET_LEN      64  //  libsodium Ed25519 secret key: seed then public key
#define RH_PUBKEY_LEN      32  //  Ed25519 or Curve25519 public key
#define RH_SUBJECT_KEY_LEN 32  //  HMAC-SHA256 subject key

//  PKI
#define RH_MAX_PKI_FILE      (1 << 20)  //  a PEM file (certificate, CRL, key)
#define RH_MAX_AGENCIES      4096       //  certificates one store holds
#define RH_MAX_FIGURES_SCAN  10000      //  queue entries counted one by one per agency (metrics)
#define RH_SERVICE_STATUS_MS 5000       //  systemd's STATUS= line is brought up to date this often
#define RH_CA_DAYS           3650       //  default life of a board CA
#define RH_CERT_DAYS         730        //  default life of an agency certificate
#define RH_CRL_DAYS          30         //  a CRL must be re-issued within this many days

//  Sharing agreements
#define RH_MAX_AGREEMENT_FILE       (1 << 20)  //  one agreement file, bytes
#define RH_MAX_AGREEMENTS           64         //  agreements in force at once
#define RH_MAX_AGREEMENT_ERRORS     20         //  problems reported for one file before stopping
#define RH_MAX_PARTIES              1024       //  parties of one agreement
#define RH_MAX_RULES                1024       //  rules of one agreement
#define RH_MAX_ROLES                32         //  distinct role names in one agreement
#define RH_MAX_OVERRIDE_REVIEW_DAYS 90         //  longest review period a consent override may have
#define RH_MAX_PURPOSES             64         //  purposes of one agreement
#define RH_MAX_LIST                 256        //  entries of any list in an agreement
#define RH_MAX_TEXT                 512        //  titles, descriptions, labels
#define RH_MAX_FACT_LAS             8          //  distinct subject home LAs a decision considers
#define RH_MAX_REFERRAL_KINDS       16         //  ReferralKind values (outcome deadlines by kind)
#define RH_MAX_NOTIFY               8          //  targets of a repeat-referral alert
#define RH_MAX_REASON               256        //  a decision's explanation, bytes
//  Professional challenge (issue 17): levels of the escalation protocol, and a level's longest
//  response period
#define RH_MAX_CHALLENGE_LEVELS       5
#define RH_MAX_CHALLENGE_RESPOND_DAYS 90

//  Federation agreements between regions
#define RH_MAX_FED_REGIONS   8      //  regions of one federation agreement
#define RH_MAX_FED_CROSSINGS 64     //  crossings (direction and what may cross)
#define RH_MAX_FED_DOORS     64     //  front doors of one region in the federated directory
#define RH_PEER_CREDIT       32     //  crossings in flight on a link to another region's broker
#define RH_PEER_RECORD_MS    60000  //  at most one audit record of a region's checkpoints per this
#define RH_PEER_STOP_WAIT_MS 2000   //  a clean stop waits this long for the regions' cosignatures

//  Referral lifecycles
#define RH_MAX_INVOLVED       16    //  agencies that hear one case's updates
#define RH_MAX_CASE_SUBJECTS  8     //  subject keys one case is indexed under
#define RH_MAX_OPEN_ALERTS    8     //  repeat alerts one case waits on
#define RH_MAX_DUE_PER_TICK   1024  //  timers fired per tick (a broker that was down catches up)
#define RH_MAX_REPEAT_HISTORY 64    //  referrals about one subject read for the repeat rule
#define RH_CASE_CACHE         256   //  recently written cases served before they are committed
//  Strategy meetings (issue 17)
#define RH_MAX_INVITEES 16  //  agencies invited to one strategy meeting (at most 32: a bit each)

//  Lateral checks (issue 17): information requests to partners, each with a reply-by time
#define RH_LATERAL_REMIND_PERCENT 75  //  the partner is reminded this far from request to reply-by
#define RH_MAX_LATERAL_REPLY_DAYS 90  //  a reply-by time further away is held to this
#define RH_MAX_LATERAL_PARTNERS   16  //  partners one request is tracked for
#define RH_LATERAL_CACHE          64  //  recently written checks served before they are committed

//  C2SP signed notes, checkpoints and the tlog-witness add-checkpoint request (proto/rh_note).
#define RH_NOTE_MAX_SIZE       (64 << 10)  //  a whole signed note or add-checkpoint body, bytes
#define RH_NOTE_MAX_SIGNATURES 64          //  signature lines in one note (the spec asks >= 16)
#define RH_NOTE_MAX_NAME       255         //  a key name or checkpoint origin, bytes
#define RH_NOTE_MAX_SIG_BYTES  4096        //  one decoded signature (key id and signature)
#define RH_NOTE_MAX_PROOF      63   //  consistency proof lines in one request (the spec's cap)
#define RH_NOTE_MAX_EXTENSIONS 16   //  checkpoint extension lines
#define RH_NOTE_MAX_VKEY       512  //  a verifier key in text form, bytes
//  Cosignature lines kept with one checkpoint, bytes in all: a line is at most about 370 bytes
//  (name of RH_NOTE_MAX_NAME, base64 of 76 bytes), so this holds eight witnesses at least.
#define RH_CHECKPOINT_MAX_COSIGNED 4096
#define RH_MAX_WITNESSES           8      //  witnesses a broker submits to, or a quorum counts
#define RH_WITNESS_TIMEOUT_MS      5000   //  one add-checkpoint request, connect to reply
#define RH_MAX_WITNESS_REPLY       8192   //  an add-checkpoint reply kept, bytes (more is refused)
#define RH_WITNESS_BACKOFF_MIN_MS  500    //  first retry after a failed submission...
#define RH_WITNESS_BACKOFF_MAX_MS  30000  //  ...doubling up to this

//  Erasure
#define RH_MAX_ERASED           256  //  payloads one ERASURE record names (more: more records)
#define RH_MAX_AUTHORITY        256  //  the authority an erasure names, bytes
#define RH_MAX_ERASE_CANDIDATES (1 << 20)           //  payloads one erase run considers
#define RH_RETENTION_YEAR_MS    (36525LL * 864000)  //  a retention year: 365.25 days, ms
//  The board report (broker/rh_report).
#define RH_REPORT_MAX_MONTHS 120  //  months a report's trend lists one by one (ten years)
#define RH_REPORT_BAR_PX     260  //  the full length of a bar: 100 % of its scale

//  An agent that resends for want of an answer doubles its wait each time, to this many times
//  send/resend_ms, until the broker answers again.
#define RH_MAX_RESEND_BACKOFF 16

#endif
