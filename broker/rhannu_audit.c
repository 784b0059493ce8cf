/*  =========================================================================
    rhannu-audit - the auditor's tools, on a copy of the broker's data

    rhannu-audit verify --data DIR --pki DIR [--json]
    rhannu-audit proof --message ID --data DIR --pki DIR [--json]
    rhannu-audit proof --bundle ID --data DIR --pki DIR -o DIR
    rhannu-audit check-bundle DIR --ca CA.pem [--witness-keys FILE --quorum N]
    rhannu-audit chronology --case ID --data DIR --pki DIR [--json]
    rhannu-audit disclosures --subject KEY --data DIR --pki DIR [--json]
    rhannu-audit replay --data DIR --pki DIR [--json]
    rhannu-audit report --data DIR --pki DIR [--from DAY --to DAY] [--board NAME]
                        [--lang en|cy] [--json] [--csv DIR] [--html FILE] [--pdf FILE]
    rhannu-audit --help | --version

    DIR for --data is the broker's data/dir (or a copy of it, taken while the
    broker is stopped); --pki is the PKI folder with the board CA, the CRL and
    the certificates, the broker's included.
    =========================================================================
*/
#include "rh_broker_classes.h"

#define S_TOOL "rhannu-audit"

typedef struct {
    const char *command;
    const char *data;
    const char *pki;
    const char *message;
    const char *case_id;
    const char *subject;
    const char *csv;    //  report: folder for CSV files
    const char *html;   //  report: file for the HTML page
    const char *pdf;    //  report: file for the page printed by headless Chromium
    const char *from;   //  report: first day of the period, YYYY-MM-DD
    const char *to;     //  report: last day of the period
    const char *board;  //  report: the board's name
    const char *lang;   //  report: "en" or "cy"
    bool json;
    const char *witness_keys;  //  verify: file of witness vkeys, one a line
    const char *quorum;        //  verify: cosignatures the latest checkpoint needs
    const char *argument;      //  the command's one argument, for a command that takes one
    const char *bundle;        //  proof: the message whose evidence bundle to write
    const char *output;        //  proof --bundle: the folder to write it to
    const char *ca;            //  check-bundle: the board CA to check it against
} s_args_t;

static void
s_usage (FILE *out)
{
    fprintf (
        out,
        "usage:\n"
        "  rhannu-audit verify --data DIR --pki DIR [--json] [--witness-keys FILE --quorum N]\n"
        "      recompute the Merkle tree, check every signed checkpoint and every message\n"
        "      signature against the certificates valid when it arrived; exit 1 and name\n"
        "      the first bad record. With --quorum, the latest checkpoint must also carry\n"
        "      cosignatures of N of the witnesses in FILE (cosignature vkeys, one a line)\n"
        "  rhannu-audit proof --message ID --data DIR --pki DIR [--json]\n"
        "      an inclusion proof that the message is in the log under the latest checkpoint\n"
        "  rhannu-audit proof --bundle ID --data DIR --pki DIR -o DIR\n"
        "      write the message's evidence bundle into the new folder DIR: the signed message,\n"
        "      the certificates and CRL, the inclusion proof and the (cosigned) checkpoint\n"
        "  rhannu-audit check-bundle DIR --ca CA.pem [--witness-keys FILE --quorum N]\n"
        "      check an evidence bundle offline against the board CA and witness keys given\n"
        "      (nothing in the bundle is trusted as a root); exit 1 naming what is wrong\n"
        "  rhannu-audit chronology --case ID --data DIR --pki DIR [--json]\n"
        "      the case from beginning to end: who sent what, when, under which agreement\n"
        "      and rule, what was withheld, who was told\n"
        "  rhannu-audit replay --data DIR --pki DIR [--json]\n"
        "      rebuild the referral lifecycles from the log alone and re-decide every policy\n"
        "      decision against the agreement version it names; exit 1 if one differs\n"
        "  rhannu-audit report --data DIR --pki DIR [--from DAY --to DAY] [--board NAME]\n"
        "                     [--lang en|cy] [--json] [--csv DIR] [--html FILE] [--pdf FILE]\n"
        "      the board report for the period (days YYYY-MM-DD, both included; the whole\n"
        "      log if not given): referrals by month, area and agency, time to outcome against\n"
        "      the deadline, NFA rates, repeat referrals, breaches, refusals by rule, and the\n"
        "      boards' Alerts, Assurance and Achievements; --pdf needs chromium installed\n"
        "  rhannu-audit disclosures --subject KEY --data DIR --pki DIR [--json]\n"
        "      every disclosure about one subject (KEY: its 64-hex pseudonymous key), to whom\n"
        "      and under which rule, and every refusal\n"
        "  rhannu-audit --help | --version\n"
        "DIR for --data is the broker's data folder or a copy taken while it was stopped.\n");
}

//  ---------------------------------------------------------------------------------------------
//  verify

//  Progress of a long run, on a terminal only: records walked, rate and time left, at most a
//  few times a second, on one line of stderr that is cleared at the end.
#define S_PROGRESS_EVERY_MS 250

typedef struct {
    bool on;                //  stderr is a terminal
    struct timespec start;  //  when the run began
    struct timespec shown;  //  when the line was last written
    uint64_t total;         //  records in the log
    uint64_t signatures;    //  message signatures checked so far
    bool written;           //  a line is on the terminal
    json_t *erasures;       //  [record, erased by record] of each erased message
} s_progress_t;

static double
s_seconds_since (const struct timespec *then)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return (double) (now.tv_sec - then->tv_sec) + (double) (now.tv_nsec - then->tv_nsec) / 1e9;
}

//  Shows how far the run is: records walked and signatures checked, the signatures still to
//  come extrapolated from the share of records with a stored message so far.
static void
s_progress_show (s_progress_t *self, const rh_audit_check_t *check)
{
    if (!self->on || s_seconds_since (&self->shown) * 1000 < S_PROGRESS_EVERY_MS)
        return;
    clock_gettime (CLOCK_MONOTONIC, &self->shown);
    uint64_t done = check->count, total = self->total > done ? self->total : done;
    uint64_t signatures = self->signatures;
    double expected = done ? (double) check->messages * (double) total / (double) done : 0;
    if (expected < (double) signatures)
        expected = (double) signatures;
    //  The walk and the signatures run side by side: the run ends when the slower ends.
    double elapsed = s_seconds_since (&self->start);
    double walk_left = done ? elapsed * (double) (total - done) / (double) done : 0;
    double signatures_left =
        signatures ? elapsed * (expected - (double) signatures) / (double) signatures : 0;
    fprintf (stderr,
             "\r\033[Kverify: %" PRIu64 " of %" PRIu64 " records, %" PRIu64
             " of ~%.0f signatures, %.0f records/s",
             done, total, signatures, expected, elapsed > 0 ? (double) done / elapsed : 0);
    if (done && signatures)
        fprintf (stderr, ", about %.0f s left",
                 walk_left > signatures_left ? walk_left : signatures_left);
    self->written = true;
}

//  The message signatures, checked on the verifier's workers (one per core) while this thread
//  walks the log: the walk hands each stored message over as it meets it, with the time its
//  record says it arrived, and reads the results back in order between records. The log is
//  read once, by the walk.
typedef struct {
    rh_verifier_t *verifier;
    s_progress_t *progress;
    uint64_t bad;  //  first message whose signature failed (UINT64_MAX: none)
    char reason [256];
} s_signatures_t;

//  Keeps one lawful erasure the walk found (rh_audit_erased_fn) for the report.
static void
s_erased (void *arg, uint64_t seq, uint64_t by)
{
    s_signatures_t *self = arg;
    json_array_append_new (
        self->progress->erasures,
        json_pack ("{s:I, s:I}", "record", (json_int_t) seq, "erased_by", (json_int_t) by));
}

//  Takes every result that is back, waiting up to wait_ms for one if none is.
static void
s_signatures_read (s_signatures_t *self, int wait_ms)
{
    if (wait_ms > 0 && !rh_verifier_ready (self->verifier)) {
        zmq_pollitem_t item = { rh_verifier_socket (self->verifier), 0, ZMQ_POLLIN, 0 };
        zmq_poll (&item, 1, wait_ms);
    }
    rh_verified_t result;
    while (rh_verifier_result (self->verifier, &result) == 0) {
        if (result.rc == RH_OK)
            self->progress->signatures++;
        else if (self->bad == UINT64_MAX) {
            //  Results come back in the order handed over: the first failure is the earliest.
            self->bad = result.tag;
            snprintf (self->reason, sizeof self->reason,
                      "the message of record %" PRIu64 " from %s: %s", result.tag,
                      *result.agency ? result.agency : "-", rh_rc_text (result.rc));
        }
        rh_verified_release (&result);
    }
}

//  rh_audit_progress_fn: shows progress.
static void
s_signatures_progress (void *arg, const rh_audit_check_t *check)
{
    s_signatures_t *self = arg;
    s_signatures_read (self, 0);
    s_progress_show (self->progress, check);
}

//  rh_audit_message_fn: hands a stored message to the workers. Results are read when the
//  workers hold their credit (the walk then waits: it has nothing else to do) and with
//  progress, not after every message; a signature that failed stops the walk.
static rh_rc_t
s_signatures_submit (void *arg, const rh_audit_record_t *record, const uint8_t *message,
                     size_t size)
{
    s_signatures_t *self = arg;
    int rc;
    while ((rc = rh_verifier_submit_stored (self->verifier, record->seq, record->at_ms,
                                            record->agency, message, size))
           == RH_VERIFIER_BUSY)
        s_signatures_read (self, S_PROGRESS_EVERY_MS);
    if (rc != RH_VERIFIER_QUEUED && self->bad == UINT64_MAX) {
        self->bad = record->seq;
        snprintf (self->reason, sizeof self->reason,
                  "the message of record %" PRIu64 " could not be checked (out of memory)",
                  record->seq);
    }
    return self->bad == UINT64_MAX ? RH_OK : RH_E_SIG;
}

//  Checks the signature of every message still stored with its record, at the time the broker
//  received it, on one worker per core, while the calling thread walks the tree (rh_audit_verify
//  in check). Returns RH_OK or the earliest failure, with check->bad and reason set.
static rh_rc_t
s_verify_all (rh_db_t *db, rh_certstore_t *store, const char *pki, s_progress_t *progress,
              rh_audit_check_t *check, uint64_t *messages, char *reason, size_t reason_size)
{
    void *context = zmq_ctx_new ();
    s_signatures_t signatures = {
        .verifier = context ? rh_verifier_new (context, pki, 0) : NULL,
        .progress = progress,
        .bad = UINT64_MAX,
    };
    if (!signatures.verifier) {
        snprintf (reason, reason_size, "cannot start the signature workers");
        memset (check, 0, sizeof *check);
        if (context)
            zmq_ctx_term (context);
        return RH_E_NOMEM;
    }
    rh_audit_hooks_t hooks = { .progress = s_signatures_progress,
                               .message = s_signatures_submit,
                               .erased = s_erased,
                               .arg = &signatures };
    rh_rc_t rc = rh_audit_verify_hooked (db, store, check, &hooks);
    snprintf (reason, reason_size, "%s", rc == RH_E_NOMEM ? "out of memory" : check->reason);
    uint64_t bad = rc == RH_OK ? UINT64_MAX : check->bad;
    while (rh_verifier_in_flight (signatures.verifier) > 0) {
        s_signatures_read (&signatures, S_PROGRESS_EVERY_MS);
        s_progress_show (progress, check);
    }
    rh_verifier_destroy (&signatures.verifier);
    zmq_ctx_term (context);
    *messages = progress->signatures;
    if (signatures.bad != UINT64_MAX && signatures.bad <= bad) {
        bad = signatures.bad;
        snprintf (reason, reason_size, "%s", signatures.reason);
        rc = RH_E_MALFORMED;
    }
    if (progress->written)
        fprintf (stderr, "\r\033[K");
    //  Every stored message the walk met was checked.
    if (rc == RH_OK && *messages != check->messages) {
        bad = check->count;
        snprintf (reason, reason_size,
                  "%" PRIu64 " messages are stored with their records but %" PRIu64
                  " signatures were checked",
                  check->messages, *messages);
        rc = RH_E_MALFORMED;
    }
    check->bad = bad;
    return rc;
}

//  The latest checkpoint must carry cosignatures of the quorum of the witnesses in the keys
//  file. Returns RH_OK, or RH_E_SIG with the reason (a key file that does not read, a quorum out
//  of range, no checkpoint, or too few cosignatures: how many of how many).
static rh_rc_t
s_verify_witnessed (rh_db_t *db, const s_args_t *args, char *reason, size_t reason_size)
{
    rh_note_vkey_t keys [RH_MAX_WITNESSES];
    size_t count = 0;
    char *end = NULL;
    unsigned long quorum = strtoul (args->quorum, &end, 10);
    bool good = rh_evidence_read_keys (args->witness_keys, keys, RH_MAX_WITNESSES, &count) == 0;
    if (!good || *end || end == args->quorum || quorum == 0 || quorum > count) {
        snprintf (reason, reason_size,
                  "the witness keys do not read (cosignature vkeys, one a line, each once, at "
                  "most %d) or the quorum is not 1 to their number",
                  RH_MAX_WITNESSES);
        return RH_E_SIG;
    }
    rh_checkpoint_t latest;
    if (!rh_audit_latest_checkpoint (db, &latest)) {
        snprintf (reason, reason_size, "no checkpoint to carry the witnesses' cosignatures");
        return RH_E_SIG;
    }
    size_t cosigned = 0;
    rh_rc_t rc = rh_note_checkpoint_cosigned (&latest, keys, count, &cosigned);
    if (rc != RH_OK)
        snprintf (reason, reason_size,
                  "the checkpoint of size %" PRIu64 " carries a cosignature that does not verify",
                  latest.size);
    else if (cosigned < quorum)
        snprintf (reason, reason_size,
                  "the latest checkpoint (size %" PRIu64 ") has %zu of the %lu cosignatures "
                  "required",
                  latest.size, cosigned, quorum);
    return rc == RH_OK && cosigned >= quorum ? RH_OK : RH_E_SIG;
}

//  Records in the log (the last record's number plus one), 0 if it holds none, or -1 if the
//  end of the log cannot be read (why says what LevelDB could not read).
static int64_t
s_log_size (rh_db_t *db, char *why, size_t why_size)
{
    rh_db_iter_t *iter = rh_db_iter_new (db, "a/", 2);
    if (!iter) {
        snprintf (why, why_size, "out of memory");
        return -1;
    }
    rh_db_iter_seek_last (iter);
    int64_t size = 0;
    if (rh_db_iter_valid (iter)) {
        size_t key_size = 0;
        const uint8_t *key = rh_db_iter_key (iter, &key_size);
        uint64_t seq = rh_db_key_sequence (key, key_size, 2);
        size = seq < INT64_MAX ? (int64_t) seq + 1 : -1;
        if (size < 0)
            snprintf (why, why_size, "its last audit record has a malformed key");
    }
    else if (rh_db_iter_error (iter)) {
        snprintf (why, why_size, "cannot read the last record of its audit log (keys a/): %s",
                  rh_db_iter_error (iter));
        size = -1;
    }
    rh_db_iter_destroy (&iter);
    return size;
}

static int
s_verify (rh_db_t *db, rh_certstore_t *store, const s_args_t *args, uint64_t total)
{
    s_progress_t progress = { .on = isatty (STDERR_FILENO) == 1,
                              .total = total,
                              .erasures = json_array () };
    clock_gettime (CLOCK_MONOTONIC, &progress.start);
    rh_audit_check_t check;
    uint64_t messages = 0;
    char reason [256];
    rh_rc_t rc =
        s_verify_all (db, store, args->pki, &progress, &check, &messages, reason, sizeof reason);
    if (rc == RH_E_NOMEM) {
        //  Nothing was found wrong with the log: it could not be checked.
        fprintf (stderr, "rhannu-audit: %s\n", reason);
        return 2;
    }
    uint64_t bad = check.bad;
    if (rc == RH_OK && args->quorum) {
        rc = s_verify_witnessed (db, args, reason, sizeof reason);
        bad = check.count;
    }
    double seconds = s_seconds_since (&progress.start);
    char root [RH_DIGEST_LEN * 2 + 1];
    sodium_bin2hex (root, sizeof root, check.root, RH_DIGEST_LEN);
    if (args->json) {
        json_t *out =
            json_pack ("{s:b, s:I, s:I, s:I, s:I, s:s, s:f}", "valid", rc == RH_OK, "records",
                       (json_int_t) check.count, "checkpoints", (json_int_t) check.checkpoints,
                       "messages_verified", (json_int_t) messages, "messages_erased",
                       (json_int_t) check.erased, "root", root, "seconds", seconds);
        if (rc != RH_OK) {
            json_object_set_new (out, "first_bad_record", json_integer ((json_int_t) bad));
            json_object_set_new (out, "reason", json_string (reason));
        }
        else
            json_object_set (out, "erasures", progress.erasures);
        json_dumpf (out, stdout, JSON_INDENT (2) | JSON_PRESERVE_ORDER);
        printf ("\n");
        json_decref (out);
    }
    else if (rc == RH_OK) {
        printf ("audit log verified: %" PRIu64 " records, %" PRIu64 " signed checkpoints, %" PRIu64
                " message signatures, %" PRIu64
                " messages erased\nroot %s\n(%.2f s, %.0f records/s)\n",
                check.count, check.checkpoints, messages, check.erased, root, seconds,
                seconds > 0 ? (double) check.count / seconds : 0.0);
        size_t i;
        json_t *erasure;
        json_array_foreach (progress.erasures, i, erasure)
        {
            printf ("message of record %" JSON_INTEGER_FORMAT
                    ": erased by record %" JSON_INTEGER_FORMAT "\n",
                    json_integer_value (json_object_get (erasure, "record")),
                    json_integer_value (json_object_get (erasure, "erased_by")));
        }
    }
    else
        printf ("audit log NOT valid: first bad record %" PRIu64 ": %s\n", bad, reason);
    json_decref (progress.erasures);
    return rc == RH_OK ? 0 : 1;
}

//  ---------------------------------------------------------------------------------------------
//  proof

//  The first record about a message (its arrival), or UINT64_MAX.
static uint64_t
s_first_record (rh_db_t *db, const char *msg_id)
{
    char prefix [RH_MAX_ID + 8];
    snprintf (prefix, sizeof prefix, "ai/%s/", msg_id);
    rh_db_iter_t *iter = rh_db_iter_new (db, prefix, strlen (prefix));
    uint64_t seq = UINT64_MAX;
    if (iter && rh_db_iter_valid (iter)) {
        size_t size = 0;
        const uint8_t *key = rh_db_iter_key (iter, &size);
        seq = rh_db_key_sequence (key, size, strlen (prefix));
    }
    rh_db_iter_destroy (&iter);
    return seq;
}

static int
s_proof (rh_db_t *db, rh_certstore_t *store, const s_args_t *args, uint64_t total)
{
    (void) store, (void) total;
    uint64_t seq = s_first_record (db, args->message);
    if (seq == UINT64_MAX) {
        fprintf (stderr, "rhannu-audit: message %s is not in the log\n", args->message);
        return 1;
    }
    rh_checkpoint_t checkpoint;
    if (!rh_audit_latest_checkpoint (db, &checkpoint) || checkpoint.size <= seq) {
        fprintf (stderr, "rhannu-audit: no checkpoint covers record %" PRIu64 " yet\n", seq);
        return 1;
    }
    char key [48];
    snprintf (key, sizeof key, "a/%020" PRIu64, seq);
    uint8_t *leaf = NULL, leaf_hash [RH_DIGEST_LEN], proof [RH_MERKLE_MAX_PROOF][RH_DIGEST_LEN];
    size_t leaf_size = 0;
    int count = -1;
    if (rh_db_get (db, key, strlen (key), &leaf, &leaf_size) == 0) {
        rh_merkle_leaf_hash (leaf, leaf_size, leaf_hash);
        count = rh_audit_inclusion_proof (db, seq, checkpoint.size, proof);
    }
    free (leaf);
    bool valid = count >= 0
                 && rh_merkle_verify_inclusion (leaf_hash, seq, checkpoint.size,
                                                (const uint8_t (*) [RH_DIGEST_LEN]) proof,
                                                (size_t) count, checkpoint.root);
    char root [RH_DIGEST_LEN * 2 + 1], hex [RH_DIGEST_LEN * 2 + 1], when [32];
    sodium_bin2hex (root, sizeof root, checkpoint.root, RH_DIGEST_LEN);
    sodium_bin2hex (hex, sizeof hex, leaf_hash, RH_DIGEST_LEN);
    json_t *path = json_array ();
    for (int i = 0; i < count; i++) {
        char node [RH_DIGEST_LEN * 2 + 1];
        sodium_bin2hex (node, sizeof node, proof [i], RH_DIGEST_LEN);
        json_array_append_new (path, json_string (node));
    }
    if (args->json) {
        json_t *out = json_pack (
            "{s:s, s:I, s:s, s:I, s:s, s:s, s:o, s:b}", "message", args->message, "leaf_index",
            (json_int_t) seq, "leaf_hash", hex, "tree_size", (json_int_t) checkpoint.size, "root",
            root, "checkpoint_time", rh_time_format (checkpoint.time_ms, when, sizeof when),
            "audit_path", path, "verified", valid);
        json_dumpf (out, stdout, JSON_INDENT (2) | JSON_PRESERVE_ORDER);
        printf ("\n");
        json_decref (out);
    }
    else {
        printf ("message %s arrived as record %" PRIu64 " (leaf hash %s)\n", args->message, seq,
                hex);
        printf ("included in the tree of %" PRIu64 " records signed %s, root %s\n", checkpoint.size,
                rh_time_format (checkpoint.time_ms, when, sizeof when), root);
        printf ("audit path (%d hashes, RFC 6962):\n", count);
        size_t index;
        json_t *node;
        json_array_foreach (path, index, node) printf ("  %s\n", json_string_value (node));
        printf ("%s\n", valid ? "the proof verifies" : "THE PROOF DOES NOT VERIFY");
        json_decref (path);
    }
    return valid ? 0 : 1;
}

//  ---------------------------------------------------------------------------------------------
//  evidence bundles (rh_evidence)

static int
s_bundle (rh_db_t *db, const s_args_t *args)
{
    char why [512];
    if (rh_evidence_write (db, args->pki, args->bundle, args->output, stdout, why, sizeof why)
        != 0) {
        fprintf (stderr, "rhannu-audit: no bundle: %s\n", why);
        return 1;
    }
    return 0;
}

//  check-bundle DIR --ca CA.pem [--witness-keys FILE --quorum N]: needs no broker data.
//  proof: an inclusion proof (--message), or a message's evidence bundle (--bundle, -o).
static int
s_proof_or_bundle (rh_db_t *db, rh_certstore_t *store, const s_args_t *args, uint64_t records)
{
    return args->bundle ? s_bundle (db, args) : s_proof (db, store, args, records);
}

static int
s_check_bundle (rh_db_t *db, rh_certstore_t *store, const s_args_t *args, uint64_t records)
{
    (void) db, (void) store, (void) records;
    const char *dir = args->argument, *ca = args->ca, *keys_path = args->witness_keys;
    const char *quorum = args->quorum;
    rh_note_vkey_t keys [RH_MAX_WITNESSES];
    size_t count = 0;
    char *end = NULL;
    unsigned long needed = quorum ? strtoul (quorum, &end, 10) : 0;
    if (keys_path
        && (rh_evidence_read_keys (keys_path, keys, RH_MAX_WITNESSES, &count) != 0 || *end
            || end == quorum || needed == 0 || needed > count)) {
        fprintf (stderr,
                 "rhannu-audit: the witness keys do not read (cosignature vkeys, one a line, "
                 "each once, at most %d) or the quorum is not 1 to their number\n",
                 RH_MAX_WITNESSES);
        return 2;
    }
    uint8_t *ca_pem = NULL;
    size_t ca_size = 0;
    if (rh_file_read (ca, RH_MAX_PKI_FILE, &ca_pem, &ca_size) != 0) {
        fprintf (stderr, "rhannu-audit: cannot read the CA %s\n", ca);
        return 2;
    }
    rh_evidence_t *evidence = rh_evidence_new ();
    char why [512];
    if (!evidence || rh_evidence_load (evidence, dir, why, sizeof why) != 0) {
        fprintf (stderr, "rhannu-audit: %s\n", evidence ? why : "out of memory");
        rh_evidence_destroy (&evidence);
        free (ca_pem);
        return 2;
    }
    printf ("checking the evidence bundle in %s against the CA %s\n", dir, ca);
    rh_evidence_fault_t fault;
    rh_rc_t rc = rh_evidence_check (evidence, ca_pem, ca_size, keys, count, needed, stdout, &fault);
    if (rc == RH_OK)
        printf ("evidence bundle verified\n");
    else
        printf ("evidence bundle NOT valid: [%s] %s (%s)\n", fault.part, fault.reason,
                rh_rc_name (rc));
    rh_evidence_destroy (&evidence);
    free (ca_pem);
    return rc == RH_OK ? 0 : 1;
}

//  ---------------------------------------------------------------------------------------------
//  chronology and disclosures (rh_chronicle), replay (rh_rehearing), report (rh_report)

//  A chronology with a record it could not read is incomplete: it says so and fails (exit 1).
static int
s_chronicle_read (rh_chronicle_t *chronicle, int rc)
{
    if (!rh_chronicle_error (chronicle))
        return rc;
    fprintf (stderr, "rhannu-audit: INCOMPLETE: %s\n", rh_chronicle_error (chronicle));
    return 1;
}

static int
s_chronology (rh_db_t *db, rh_certstore_t *store, const s_args_t *args, uint64_t total)
{
    (void) store, (void) total;
    rh_chronicle_t *chronicle = rh_chronicle_new (db);
    if (!chronicle)
        return 2;
    rh_chronicle_add_case (chronicle, args->case_id);
    int rc = 0;
    if (rh_chronicle_size (chronicle) == 0) {
        fprintf (stderr, "rhannu-audit: no record names case %s\n", args->case_id);
        rc = 1;
    }
    else
        rh_chronicle_print (chronicle, stdout, args->json, false, "case", args->case_id);
    rc = s_chronicle_read (chronicle, rc);
    rh_chronicle_destroy (&chronicle);
    return rc;
}

//  Every disclosure about one subject, and every refusal.
static int
s_disclosures (rh_db_t *db, rh_certstore_t *store, const s_args_t *args, uint64_t total)
{
    (void) store, (void) total;
    rh_chronicle_t *chronicle = rh_chronicle_new (db);
    if (!chronicle)
        return 2;
    int referrals = rh_chronicle_add_subject (chronicle, args->subject);
    int rc = 0;
    if (referrals == -1) {
        fprintf (stderr, "rhannu-audit: --subject takes the 64 hex digits of a subject key\n");
        rc = 2;
    }
    else if (referrals < 0) {
        fprintf (stderr, "rhannu-audit: INCOMPLETE: the subject index cannot be read\n");
        rc = 1;
    }
    else if (referrals == 0) {
        fprintf (stderr, "rhannu-audit: no referral is indexed under that subject key\n");
        rc = 1;
    }
    else
        rh_chronicle_print (chronicle, stdout, args->json, true, "subject", args->subject);
    rc = s_chronicle_read (chronicle, rc);
    rh_chronicle_destroy (&chronicle);
    return rc;
}

static int
s_replay (rh_db_t *db, rh_certstore_t *store, const s_args_t *args, uint64_t total)
{
    (void) total;
    rh_rehearing_t *rehearing = rh_rehearing_new (db, store, args->pki);
    if (!rehearing || rh_rehearing_run (rehearing) != 0) {
        fprintf (stderr, "rhannu-audit: cannot replay the log (out of memory, or see above)\n");
        rh_rehearing_destroy (&rehearing);
        return 2;
    }
    rh_rehearing_print (rehearing, stdout, args->json);
    int rc = rh_rehearing_mismatches (rehearing) == 0 ? 0 : 1;
    rh_rehearing_destroy (&rehearing);
    return rc;
}

//  The period of --from and --to (days, both included) in scope. Returns 0, or -1 with a line on
//  stderr if a day does not read or the period ends before it starts.
static int
s_report_scope (const s_args_t *args, rh_report_scope_t *scope)
{
    *scope = (rh_report_scope_t){ .board = args->board, .now_ms = rh_time_now_ms () };
    if (args->from && rh_report_parse_day (args->from, &scope->from_ms) != 0) {
        fprintf (stderr, "rhannu-audit: --from takes a day, YYYY-MM-DD\n");
        return -1;
    }
    if (args->to && rh_report_parse_day (args->to, &scope->to_ms) != 0) {
        fprintf (stderr, "rhannu-audit: --to takes a day, YYYY-MM-DD\n");
        return -1;
    }
    if (args->to)
        scope->to_ms += 86400000;  //  the last day is in the period
    if (args->from && args->to && scope->to_ms <= scope->from_ms) {
        fprintf (stderr, "rhannu-audit: the period ends (--to) before it starts (--from)\n");
        return -1;
    }
    if (args->lang && !rh_report_text_has (args->lang)) {
        fprintf (stderr, "rhannu-audit: --lang takes en or cy\n");
        return -1;
    }
    return 0;
}

//  Prints the page at html to pdf with headless Chromium, if it is installed. Returns 0, or 1
//  with one line on stderr.
static int
s_report_pdf (const char *html, const char *pdf)
{
    const char *names [] = { "chromium", "chromium-browser", "google-chrome" };
    char browser [PATH_MAX] = "";
    const char *path = getenv ("PATH");
    for (size_t n = 0; !*browser && n < sizeof names / sizeof names [0]; n++) {
        char dirs [4096];
        snprintf (dirs, sizeof dirs, "%s", path ? path : "/usr/bin:/bin");
        char *save = NULL;
        for (char *dir = strtok_r (dirs, ":", &save); dir; dir = strtok_r (NULL, ":", &save)) {
            char candidate [PATH_MAX];
            snprintf (candidate, sizeof candidate, "%s/%s", dir, names [n]);
            if (access (candidate, X_OK) == 0) {
                snprintf (browser, sizeof browser, "%s", candidate);
                break;
            }
        }
    }
    if (!*browser) {
        fprintf (stderr, "rhannu-audit: --pdf needs headless Chromium (chromium) installed; "
                         "the HTML page can be printed from any browser instead\n");
        return 1;
    }
    char absolute [PATH_MAX], url [PATH_MAX + 16], target [PATH_MAX + 32];
    if (!realpath (html, absolute)) {
        fprintf (stderr, "rhannu-audit: cannot find %s to print\n", html);
        return 1;
    }
    snprintf (url, sizeof url, "file://%s", absolute);
    snprintf (target, sizeof target, "--print-to-pdf=%s", pdf);
    pid_t pid = fork ();
    if (pid == 0) {
        int null = open ("/dev/null", O_WRONLY);
        if (null >= 0) {
            dup2 (null, STDOUT_FILENO);
            dup2 (null, STDERR_FILENO);
        }
        execl (browser, browser, "--headless", "--no-sandbox", "--disable-gpu",
               "--no-pdf-header-footer", target, url, (char *) NULL);
        _exit (127);
    }
    int status = 0;
    if (pid < 0 || waitpid (pid, &status, 0) != pid || !WIFEXITED (status)
        || WEXITSTATUS (status) != 0 || access (pdf, R_OK) != 0) {
        fprintf (stderr, "rhannu-audit: %s could not print %s to %s\n", browser, html, pdf);
        return 1;
    }
    return 0;
}

//  The report only from a log that verifies: its figures must be ones an auditor can prove.
static int
s_report (rh_db_t *db, rh_certstore_t *store, const s_args_t *args, uint64_t total)
{
    (void) total;
    rh_report_scope_t scope;
    if (s_report_scope (args, &scope) != 0)
        return 2;
    rh_audit_check_t check;
    rh_rc_t rc = rh_audit_verify (db, store, &check);
    if (rc != RH_OK) {
        fprintf (stderr,
                 "rhannu-audit: the log does not verify (record %" PRIu64 ": %s); no report\n",
                 check.bad, check.reason);
        return 1;
    }
    rh_report_t *report = rh_report_new (db, &check, &scope);
    if (!report) {
        fprintf (stderr, "rhannu-audit: no report (out of memory, or see above)\n");
        return 2;
    }
    int result = 0;
    const json_t *figures = rh_report_figures (report);
    if (args->csv && rh_report_csv_write (figures, args->csv) != 0) {
        fprintf (stderr, "rhannu-audit: cannot write every CSV file in %s\n", args->csv);
        result = 1;
    }
    //  The PDF is printed from the HTML page: next to the PDF when no --html is asked for.
    char html [PATH_MAX];
    if (args->html)
        snprintf (html, sizeof html, "%s", args->html);
    else if (args->pdf)
        snprintf (html, sizeof html, "%s.html", args->pdf);
    if ((args->html || args->pdf) && rh_report_html_write (figures, args->lang, html) != 0) {
        fprintf (stderr, "rhannu-audit: cannot write %s\n", html);
        result = 1;
    }
    else if (args->pdf && s_report_pdf (html, args->pdf) != 0)
        result = 1;
    if (args->pdf && !args->html)
        unlink (html);
    if (args->json || (!args->csv && !args->html && !args->pdf))
        rh_report_print (report, stdout);
    rh_report_destroy (&report);
    return result;
}

//  The commands: a new one is a row here and a function above.
static const struct {
    const char *name;
    int (*run) (rh_db_t *db, rh_certstore_t *store, const s_args_t *args, uint64_t records);
    size_t needs;            //  offsetof the option it cannot do without in s_args_t, or SIZE_MAX
    const char *needs_name;  //  that option, for the error
    bool data;               //  reads a broker's data (--data, opened read-only before run)
    bool pki;                //  needs the board's PKI (--pki, loaded before run)
    const char *argument;    //  the one argument it takes (its name, for errors), or NULL
} s_commands [] = {
    { "verify", s_verify, SIZE_MAX, NULL, true, true, NULL },
    { "proof", s_proof_or_bundle, SIZE_MAX, NULL, true, true, NULL },
    { "check-bundle", s_check_bundle, offsetof (s_args_t, ca), "--ca", false, false, "DIR" },
    { "chronology", s_chronology, offsetof (s_args_t, case_id), "--case", true, true, NULL },
    { "disclosures", s_disclosures, offsetof (s_args_t, subject), "--subject", true, true, NULL },
    { "replay", s_replay, SIZE_MAX, NULL, true, true, NULL },
    { "report", s_report, SIZE_MAX, NULL, true, true, NULL },
};

enum { S_JSON = 256, S_VERSION, S_VALUE };  //  S_VALUE + n: the n-th option with a value

static const struct option s_options [] = {
    { "data", required_argument, NULL, S_VALUE + 0 },
    { "pki", required_argument, NULL, S_VALUE + 1 },
    { "message", required_argument, NULL, S_VALUE + 2 },
    { "case", required_argument, NULL, S_VALUE + 3 },
    { "subject", required_argument, NULL, S_VALUE + 4 },
    { "csv", required_argument, NULL, S_VALUE + 5 },
    { "html", required_argument, NULL, S_VALUE + 6 },
    { "witness-keys", required_argument, NULL, S_VALUE + 7 },
    { "quorum", required_argument, NULL, S_VALUE + 8 },
    { "bundle", required_argument, NULL, S_VALUE + 9 },
    { "output", required_argument, NULL, S_VALUE + 10 },
    { "ca", required_argument, NULL, S_VALUE + 11 },
    { "pdf", required_argument, NULL, S_VALUE + 12 },
    { "from", required_argument, NULL, S_VALUE + 13 },
    { "to", required_argument, NULL, S_VALUE + 14 },
    { "board", required_argument, NULL, S_VALUE + 15 },
    { "lang", required_argument, NULL, S_VALUE + 16 },
    { "json", no_argument, NULL, S_JSON },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, S_VERSION },
    { NULL, 0, NULL, 0 },
};

//  Parses the command line into args. Returns -1 to go on, or the exit code.
static int
s_parse (int argc, char **argv, s_args_t *args, int *command)
{
    //  Where each option with a value goes, in the order of s_options.
    const char **slots [] = { &args->data,    &args->pki,    &args->message, &args->case_id,
                              &args->subject, &args->csv,    &args->html,    &args->witness_keys,
                              &args->quorum,  &args->bundle, &args->output,  &args->ca,
                              &args->pdf,     &args->from,   &args->to,      &args->board,
                              &args->lang };
    memset (args, 0, sizeof *args);
    const rh_cli_t cli = {
        .tool = S_TOOL,
        .short_options = ":ho:",
        .options = s_options,
        .version = S_VERSION,
        .usage = s_usage,
        .which = "verify, proof, check-bundle, chronology, disclosures, replay or report",
    };
    int c, exit_code = 0;
    while ((c = rh_cli_next (&cli, argc, argv, &exit_code)) >= 0) {
        if (c == 'o')
            c = S_VALUE + 10;  //  -o is --output
        if (c == S_JSON)
            args->json = true;
        else if (c >= S_VALUE && c < S_VALUE + (int) (sizeof slots / sizeof slots [0]))
            *slots [c - S_VALUE] = optarg;
        else
            return rh_cli_bad_option (S_TOOL, c, argv);
    }
    if (c == RH_CLI_EXIT)
        return exit_code;
    *command = RH_CLI_COMMAND (&cli, argc, argv, s_commands, &args->command);
    if (*command < 0)
        return RH_CLI_USAGE;
    const char *argument = s_commands [*command].argument;
    if (argument && optind < argc)
        args->argument = argv [optind++];
    if (argument && !args->argument)
        return rh_cli_error (S_TOOL, "%s needs %s", args->command, argument);
    if (optind < argc)
        return rh_cli_error (S_TOOL, "%s takes no argument '%.40s'", args->command, argv [optind]);
    size_t needs = s_commands [*command].needs;
    if (needs != SIZE_MAX && !*(const char **) ((char *) args + needs))
        return rh_cli_error (S_TOOL, "%s needs %s", args->command,
                             s_commands [*command].needs_name);
    if ((s_commands [*command].pki && !args->pki) || (s_commands [*command].data && !args->data))
        return rh_cli_error (S_TOOL, "%s needs %s", args->command,
                             s_commands [*command].data ? "--data and --pki" : "--pki");
    if ((args->pdf || args->from || args->to || args->board || args->lang || args->csv
         || args->html)
        && s_commands [*command].run != s_report)
        return rh_cli_error (S_TOOL, "--csv, --html, --pdf, --from, --to, --board and --lang "
                                     "are for report");
    if (args->ca && s_commands [*command].run != s_check_bundle)
        return rh_cli_error (S_TOOL, "--ca is for check-bundle");
    if ((args->bundle || args->output) && s_commands [*command].run != s_proof_or_bundle)
        return rh_cli_error (S_TOOL, "--bundle and -o are for proof");
    if (s_commands [*command].run == s_proof_or_bundle && !args->message == !args->bundle)
        return rh_cli_error (S_TOOL, "proof needs --message, or --bundle with -o DIR");
    if (!args->bundle != !args->output)
        return rh_cli_error (S_TOOL, "--bundle and -o DIR go together");
    if (!args->witness_keys != !args->quorum)
        return rh_cli_error (S_TOOL, "--witness-keys and --quorum go together");
    return -1;
}

int
main (int argc, char **argv)
{
    s_args_t args;
    int command = -1;
    int exit_code = s_parse (argc, argv, &args, &command);
    if (exit_code >= 0)
        return exit_code;
    setenv ("RH_LOG_LEVEL", "error", 0);
    if (!s_commands [command].pki)
        return s_commands [command].run (NULL, NULL, &args, 0);
    rh_certstore_t *store = rh_certstore_load_dir (args.pki);
    if (!store) {
        fprintf (stderr, "rhannu-audit: cannot load the PKI in %s\n", args.pki);
        return 2;
    }
    if (!s_commands [command].data) {
        int rc = s_commands [command].run (NULL, store, &args, 0);
        rh_certstore_destroy (&store);
        return rc;
    }
    //  Evidence is read, never created or changed: a missing, empty or wrong folder is an error,
    //  and LevelDB opens a private copy (rh_db_open_readonly says why).
    rh_db_t *db = rh_db_open_readonly (args.data);
    char why [512] = "cannot be read as a broker's data folder (see above)";
    int64_t records = db ? s_log_size (db, why, sizeof why) : -1;
    if (records == 0)
        snprintf (why, sizeof why, "holds no audit log: not a broker's data folder");
    if (records <= 0) {
        fprintf (stderr, "rhannu-audit: %s %s\n", args.data, why);
        rh_db_destroy (&db);
        rh_certstore_destroy (&store);
        return 2;
    }
    int rc = s_commands [command].run (db, store, &args, (uint64_t) records);
    rh_db_destroy (&db);
    rh_certstore_destroy (&store);
    return rc;
}
