/*  =========================================================================
    rhannu-audit - the auditor's tools, on a copy of the broker's data

    rhannu-audit verify --data DIR --pki DIR [--json]
    rhannu-audit proof --message ID --data DIR --pki DIR [--json]
    rhannu-audit chronology --case ID --data DIR --pki DIR [--json]
    rhannu-audit disclosures --subject KEY --data DIR --pki DIR [--json]
    rhannu-audit replay --data DIR --pki DIR [--json]
    rhannu-audit report --data DIR --pki DIR [--from DAY --to DAY] [--board NAME]
                        [--lang en|cy] [--json] [--csv DIR] [--html FILE] [--pdf FILE]

    DIR for --data is the broker's data/dir (or a copy of it, taken while the
    broker is stopped); --pki is the PKI folder with the board CA, the CRL and
    the certificates, the broker's included.
    =========================================================================
*/
#include "rh_broker_classes.h"

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
        "DIR for --data is the broker's data folder or a copy taken while it was stopped.\n");
}

static int
s_parse (int argc, char **argv, s_args_t *args)
{
    memset (args, 0, sizeof *args);
    if (argc < 2)
        return -1;
    args->command = argv [1];
    for (int i = 2; i < argc; i++) {
        const char **slot = NULL;
        if (!strcmp (argv [i], "--data"))
            slot = &args->data;
        else if (!strcmp (argv [i], "--pki"))
            slot = &args->pki;
        else if (!strcmp (argv [i], "--message"))
            slot = &args->message;
        else if (!strcmp (argv [i], "--case"))
            slot = &args->case_id;
        else if (!strcmp (argv [i], "--subject"))
            slot = &args->subject;
        else if (!strcmp (argv [i], "--csv"))
            slot = &args->csv;
        else if (!strcmp (argv [i], "--html"))
            slot = &args->html;
        else if (!strcmp (argv [i], "--pdf"))
            slot = &args->pdf;
        else if (!strcmp (argv [i], "--from"))
            slot = &args->from;
        else if (!strcmp (argv [i], "--to"))
            slot = &args->to;
        else if (!strcmp (argv [i], "--board"))
            slot = &args->board;
        else if (!strcmp (argv [i], "--lang"))
            slot = &args->lang;
        else if (!strcmp (argv [i], "--witness-keys"))
            slot = &args->witness_keys;
        else if (!strcmp (argv [i], "--quorum"))
            slot = &args->quorum;
        else if (!strcmp (argv [i], "--json")) {
            args->json = true;
            continue;
        }
        if (!slot || i + 1 >= argc)
            return -1;
        *slot = argv [++i];
    }
    return args->data && args->pki && !args->witness_keys == !args->quorum ? 0 : -1;
}

//  ---------------------------------------------------------------------------------------------
//  verify

//  Progress of a long run, on a terminal only: records walked, rate and time left, at most a
//  few times a second, on one line of stderr that is cleared at the end.
#define S_PROGRESS_EVERY_MS 250

typedef struct {
    bool on;                     //  stderr is a terminal
    struct timespec start;       //  when the run began
    struct timespec shown;       //  when the line was last written
    uint64_t total;              //  records in the log
    const uint64_t *signatures;  //  message signatures checked so far (atomic reads)
    bool written;                //  a line is on the terminal
} s_progress_t;

static double
s_seconds_since (const struct timespec *then)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return (double) (now.tv_sec - then->tv_sec) + (double) (now.tv_nsec - then->tv_nsec) / 1e9;
}

//  Shows how far the run is (rh_audit_progress_fn): records walked and signatures checked, the
//  signatures still to come extrapolated from the share of records with a stored message so far.
static void
s_progress (void *arg, const rh_audit_check_t *check)
{
    s_progress_t *self = arg;
    if (!self->on || s_seconds_since (&self->shown) * 1000 < S_PROGRESS_EVERY_MS)
        return;
    clock_gettime (CLOCK_MONOTONIC, &self->shown);
    uint64_t done = check->count, total = self->total > done ? self->total : done;
    uint64_t signatures = __atomic_load_n (self->signatures, __ATOMIC_RELAXED);
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

//  One signature-checking worker: every stored message whose record number falls to it
//  (seq % workers == index), checked with its own certificate store.
typedef struct {
    rh_db_t *db;
    const char *pki;
    unsigned index;
    unsigned workers;
    uint64_t *checked;  //  shared count of signatures checked (atomic adds), for progress
    uint64_t mine;      //  signatures this worker checked
    uint64_t bad;       //  UINT64_MAX: none
    char reason [256];
    bool started;  //  runs on its own thread (to be joined)
    bool done;     //  finished (atomic)
} s_checker_t;

static void *
s_check_messages (void *arg)
{
    s_checker_t *self = arg;
    self->bad = UINT64_MAX;
    rh_certstore_t *store = rh_certstore_load_dir (self->pki);
    rh_db_iter_t *iter = store ? rh_db_iter_new (self->db, "ap/", 3) : NULL;
    if (!iter) {
        self->bad = 0;
        snprintf (self->reason, sizeof self->reason, "cannot read the PKI or the log");
    }
    uint64_t seq = 0;
    for (; iter && rh_db_iter_valid (iter); rh_db_iter_next (iter)) {
        size_t key_size = 0, size = 0;
        const uint8_t *key = rh_db_iter_key (iter, &key_size);
        seq = rh_db_key_sequence (key, key_size, 3);
        if (seq == UINT64_MAX) {
            snprintf (self->reason, sizeof self->reason, "a stored message has a malformed key");
            self->bad = 0;
            break;
        }
        if (seq % self->workers != self->index)
            continue;
        const uint8_t *payload = rh_db_iter_value (iter, &size);
        char leaf_key [48];
        snprintf (leaf_key, sizeof leaf_key, "a/%020" PRIu64, seq);
        uint8_t *leaf = NULL;
        size_t leaf_size = 0;
        rh_audit_record_t record = { 0 };
        rh_rc_t rc = RH_E_MALFORMED;
        int found = rh_db_get (self->db, leaf_key, strlen (leaf_key), &leaf, &leaf_size);
        if (found == 0 && rh_record_decode_audit (leaf, leaf_size, &record) == RH_OK) {
            rh_envelope_t *envelope = NULL;
            rc = rh_envelope_decode (payload, size, &envelope);
            if (rc == RH_OK)
                rc = rh_certstore_verify (store, envelope, record.at_ms);
            rh_envelope_destroy (&envelope);
            if (rc != RH_OK)
                snprintf (self->reason, sizeof self->reason,
                          "the message of record %" PRIu64 " from %s: %s", seq, record.agency,
                          rh_rc_text (rc));
            rh_record_release (&record.owned);
        }
        else if (found < 0)
            snprintf (self->reason, sizeof self->reason, "cannot read record %" PRIu64 " (key %s)",
                      seq, leaf_key);
        else
            snprintf (self->reason, sizeof self->reason,
                      "the message stored as %" PRIu64 " has no record", seq);
        free (leaf);
        if (rc != RH_OK) {
            self->bad = seq;
            break;
        }
        self->mine++;
        __atomic_fetch_add (self->checked, 1, __ATOMIC_RELAXED);
    }
    //  A walk that stopped at a block LevelDB could not read fails: the messages past it were
    //  not checked.
    if (iter && self->bad == UINT64_MAX && rh_db_iter_error (iter)) {
        self->bad = seq;
        snprintf (self->reason, sizeof self->reason,
                  "cannot read the stored messages after record %" PRIu64 ": %s", seq,
                  rh_db_iter_error (iter));
    }
    rh_db_iter_destroy (&iter);
    rh_certstore_destroy (&store);
    __atomic_store_n (&self->done, true, __ATOMIC_RELEASE);
    return NULL;
}

//  Checks the signature of every message still stored with its record, at the time the broker
//  received it, on one worker per core, while the calling thread walks the tree (rh_audit_verify
//  in check). Returns RH_OK or the earliest failure, with check->bad and reason set.
static rh_rc_t
s_verify_all (rh_db_t *db, rh_certstore_t *store, const char *pki, s_progress_t *progress,
              rh_audit_check_t *check, uint64_t *messages, char *reason, size_t reason_size)
{
    long cores = sysconf (_SC_NPROCESSORS_ONLN);
    unsigned workers = cores > 0 && cores < 16 ? (unsigned) cores : 2;
    s_checker_t checkers [16];
    pthread_t threads [16];
    uint64_t checked = 0;
    progress->signatures = &checked;
    for (unsigned i = 0; i < workers; i++) {
        checkers [i] = (s_checker_t){
            .db = db, .pki = pki, .index = i, .workers = workers, .checked = &checked
        };
        checkers [i].started =
            pthread_create (&threads [i], NULL, s_check_messages, &checkers [i]) == 0;
    }
    rh_rc_t rc = rh_audit_verify_progress (db, store, check, s_progress, progress);
    snprintf (reason, reason_size, "%s", check->reason);
    uint64_t bad = rc == RH_OK ? UINT64_MAX : check->bad;
    for (unsigned i = 0; i < workers; i++) {
        if (!checkers [i].started)
            s_check_messages (&checkers [i]);  //  no thread: do its share here
        while (!__atomic_load_n (&checkers [i].done, __ATOMIC_ACQUIRE)) {
            nanosleep (&(struct timespec){ .tv_nsec = 50 * 1000 * 1000 }, NULL);
            s_progress (progress, check);
        }
        if (checkers [i].started)
            pthread_join (threads [i], NULL);
        *messages += checkers [i].mine;
        if (checkers [i].bad != UINT64_MAX && checkers [i].bad < bad) {
            bad = checkers [i].bad;
            snprintf (reason, reason_size, "%s", checkers [i].reason);
            rc = RH_E_MALFORMED;
        }
    }
    if (progress->written)
        fprintf (stderr, "\r\033[K");
    //  Every stored message the walk saw was checked: a worker that saw fewer missed some.
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
    FILE *file = fopen (args->witness_keys, "r");
    char line [RH_NOTE_MAX_VKEY + 2];
    bool good = file != NULL;
    while (good && fgets (line, sizeof line, file)) {
        line [strcspn (line, "\r\n")] = 0;
        if (!*line)
            continue;
        good = count < RH_MAX_WITNESSES && rh_note_vkey_parse (line, &keys [count]) == RH_OK
               && keys [count].type == RH_NOTE_TYPE_COSIGNATURE;
        //  A key listed twice is one witness: counting it twice would make a quorum of one.
        for (size_t i = 0; good && i < count; i++)
            good = memcmp (keys [i].public_key, keys [count].public_key, sizeof keys [i].public_key)
                   != 0;
        count += good;
    }
    if (file)
        fclose (file);
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
    s_progress_t progress = { .on = isatty (STDERR_FILENO) == 1, .total = total };
    clock_gettime (CLOCK_MONOTONIC, &progress.start);
    rh_audit_check_t check;
    uint64_t messages = 0;
    char reason [256];
    rh_rc_t rc =
        s_verify_all (db, store, args->pki, &progress, &check, &messages, reason, sizeof reason);
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
        json_dumpf (out, stdout, JSON_INDENT (2) | JSON_PRESERVE_ORDER);
        printf ("\n");
        json_decref (out);
    }
    else if (rc == RH_OK)
        printf ("audit log verified: %" PRIu64 " records, %" PRIu64 " signed checkpoints, %" PRIu64
                " message signatures, %" PRIu64
                " messages erased\nroot %s\n(%.2f s, %.0f records/s)\n",
                check.count, check.checkpoints, messages, check.erased, root, seconds,
                seconds > 0 ? (double) check.count / seconds : 0.0);
    else
        printf ("audit log NOT valid: first bad record %" PRIu64 ": %s\n", bad, reason);
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
s_proof (rh_db_t *db, const s_args_t *args)
{
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
s_chronology (rh_db_t *db, const s_args_t *args)
{
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
s_disclosures (rh_db_t *db, const s_args_t *args)
{
    rh_chronicle_t *chronicle = rh_chronicle_new (db);
    if (!chronicle)
        return 2;
    int referrals = rh_chronicle_add_subject (chronicle, args->subject);
    int rc = 0;
    if (referrals < 0) {
        fprintf (stderr, "rhannu-audit: --subject takes the 64 hex digits of a subject key\n");
        rc = 2;
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
s_replay (rh_db_t *db, rh_certstore_t *store, const s_args_t *args)
{
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
s_report (rh_db_t *db, rh_certstore_t *store, const s_args_t *args)
{
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

int
main (int argc, char **argv)
{
    s_args_t args;
    if (argc >= 2 && (!strcmp (argv [1], "-h") || !strcmp (argv [1], "--help"))) {
        s_usage (stdout);
        return 0;
    }
    if (s_parse (argc, argv, &args) != 0) {
        s_usage (stderr);
        return 2;
    }
    setenv ("RH_LOG_LEVEL", "error", 0);
    bool known = !strcmp (args.command, "verify")
                 || (!strcmp (args.command, "proof") && args.message)
                 || (!strcmp (args.command, "chronology") && args.case_id)
                 || (!strcmp (args.command, "disclosures") && args.subject)
                 || !strcmp (args.command, "replay") || !strcmp (args.command, "report");
    if (!known) {
        s_usage (stderr);
        return 2;
    }
    rh_certstore_t *store = rh_certstore_load_dir (args.pki);
    if (!store) {
        fprintf (stderr, "rhannu-audit: cannot load the PKI in %s\n", args.pki);
        return 2;
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
    int rc = !strcmp (args.command, "verify")  ? s_verify (db, store, &args, (uint64_t) records)
             : !strcmp (args.command, "proof") ? s_proof (db, &args)
             : !strcmp (args.command, "chronology") ? s_chronology (db, &args)
             : !strcmp (args.command, "replay")     ? s_replay (db, store, &args)
             : !strcmp (args.command, "report")     ? s_report (db, store, &args)
                                                    : s_disclosures (db, &args);
    rh_db_destroy (&db);
    rh_certstore_destroy (&store);
    return rc;
}
