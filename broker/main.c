/*  =========================================================================
    rhannu-broker - the broker process

    rhannu-broker -f CONFIG     run (SIGHUP reloads the CRL and agreements; SIGTERM stops)
    rhannu-broker log -f CONFIG verify and print the audit log (read only: a
                                missing store is an error, never created)
    rhannu-broker dead-letters -f CONFIG [--requeue MSG_ID | --requeue-all]
                                list dead letters, or put them back in their
                                queues (the broker must be stopped)
    rhannu-broker erase -f CONFIG (--msg ID | --subject KEY | --retention)
                         --reason R --authority TEXT
                                erase message payloads after a committed, signed
                                ERASURE record (the broker must be stopped)
    rhannu-broker backup -f CONFIG DEST   copy the store while the broker runs
    rhannu-broker restore -f CONFIG BACKUP  into an empty data/dir
    rhannu-broker status -f CONFIG [--metrics URL]
                                the running broker's queues, per agency
    rhannu-broker check-agreement FILE [--pki DIR]
                                validate a sharing agreement (and its signature)
    rhannu-broker vkey -f CONFIG [--cosignature]
                                print the vkey of our checkpoint notes, or of
                                our cosignatures of other regions' logs
    rhannu-broker explain -f CONFIG MESSAGE.json --from AGENCY
                         [--agreements DIR-or-FILE] [--json]
                                what the broker would decide for a message,
                                without sending it
    rhannu-broker -h | --version
                                help, including every configuration key

    The commands are one table (s_commands) and the options one getopt_long
    table (s_options): a new command is a row and a function.
    =========================================================================
*/
#include "rh_broker_classes.h"

#define S_TOOL "rhannu-broker"

//  Process globals live here only (style: no mutable statics in library code).
static volatile sig_atomic_t s_stop;
static volatile sig_atomic_t s_reload;

static void
s_on_signal (int signal_number)
{
    if (signal_number == SIGHUP)
        s_reload = 1;
    else
        s_stop = 1;
}

//  The dead-letter tool's transport: there is none.
static int
s_send_nothing (void *arg, const uint8_t *routing_id, size_t routing_id_size,
                const rh_frame_t *frame)
{
    (void) arg, (void) routing_id, (void) routing_id_size, (void) frame;
    errno = EHOSTUNREACH;
    return -1;
}

static void
s_usage (FILE *out)
{
    fprintf (out,
             "usage: rhannu-broker -f CONFIG [-v]      run the broker\n"
             "       rhannu-broker log -f CONFIG       verify and print the audit log\n"
             "                                         (of a stopped broker or a copy)\n"
             "       rhannu-broker dead-letters -f CONFIG [--requeue MSG_ID | --requeue-all]\n"
             "                                         list the messages given up on, or\n"
             "                                         put them back in their recipients'\n"
             "                                         queues (the broker must be stopped)\n"
             "       rhannu-broker status -f CONFIG [--metrics URL]\n"
             "                                         the running broker's queues per\n"
             "                                         agency (asks its metrics/listen)\n"
             "       rhannu-broker vkey -f CONFIG [--cosignature]\n"
             "                                         print the vkey our checkpoint notes\n"
             "                                         are signed with (witness/origin and\n"
             "                                         the broker's key): what a witness's\n"
             "                                         logs/vkeys lists; --cosignature: the\n"
             "                                         vkey of our cosignatures of federated\n"
             "                                         regions' checkpoints (what their\n"
             "                                         auditors' --witness-keys lists)\n"
             "       rhannu-broker erase -f CONFIG (--msg MSG_ID | --subject KEY | --retention)\n"
             "                --reason retention|right-to-erasure|court-order --authority TEXT\n"
             "                                         erase message payloads: an ERASURE\n"
             "                                         record naming each (record, SHA-256),\n"
             "                                         why and on whose authority is signed\n"
             "                                         and committed first (the broker must\n"
             "                                         be stopped; it erases by retention\n"
             "                                         itself: retention/check_ms)\n"
             "       rhannu-broker backup -f CONFIG DEST\n"
             "                                         copy the store, running or not, into\n"
             "                                         the new folder DEST\n"
             "       rhannu-broker restore -f CONFIG BACKUP\n"
             "                                         copy a backup into data/dir (empty;\n"
             "                                         the broker stopped)\n"
             "       rhannu-broker check-agreement FILE [--pki DIR]\n"
             "                                         validate a sharing agreement; with\n"
             "                                         --pki also its signature FILE.sig\n"
             "       rhannu-broker explain -f CONFIG MESSAGE.json --from AGENCY\n"
             "                [--agreements DIR-or-FILE] [--json]\n"
             "                                         a dry run: for each recipient, the\n"
             "                                         agreement and rule that decide it,\n"
             "                                         the fields it would receive, or the\n"
             "                                         missing condition; against policy/dir\n"
             "                                         or the given agreements (a file: a\n"
             "                                         draft). Nothing is sent; exit 0 if it\n"
             "                                         would be accepted, 1 if refused\n"
             "       rhannu-broker -h | --help | --version\n\n"
             "Options: -f, --config FILE   -v, --verbose (debug log)\n\n"
             "Configuration keys (YAML, section/key):\n");
    rh_config_print_spec (rh_broker_config_spec, out);
}

//  The log is evidence: it is read, never created or changed, so a missing or mistyped
//  data/dir is refused (exit 2) instead of verifying as an empty log, and a store in use is
//  left alone (rh_db_open_readonly reads a private copy; it says why it refuses). A LevelDB
//  without a single audit record (an agent's store, or another program's) is not a broker's.
static int
s_print_log (rh_config_t *config)
{
    const char *dir = rh_config_str (config, "data/dir");
    rh_db_t *db = rh_db_open_readonly (dir);
    rh_db_iter_t *first = db ? rh_db_iter_new (db, "a/", 2) : NULL;
    const char *why = !db      ? "cannot be read as the broker's data folder (see above)"
                      : !first ? "cannot be read (out of memory)"
                      : rh_db_iter_valid (first) ? NULL
                      : rh_db_iter_error (first)
                          ? "cannot be read: its first audit record is damaged"
                          : "holds no audit log: not a broker's data folder";
    rh_db_iter_destroy (&first);
    if (why) {
        fprintf (stderr, "%s %s\n", dir, why);
        rh_db_destroy (&db);
        return 2;
    }
    rh_certstore_t *store = rh_certstore_load_dir (rh_config_str (config, "pki/dir"));
    rh_audit_check_t check;
    rh_rc_t rc = rh_audit_verify (db, store, &check);
    rh_audit_print (db, stdout);
    char root [RH_DIGEST_LEN * 2 + 1];
    sodium_bin2hex (root, sizeof root, check.root, RH_DIGEST_LEN);
    if (rc == RH_OK)
        printf ("audit log: %" PRIu64 " records, Merkle tree intact, root %.16s…, %" PRIu64
                " signed checkpoints verified%s, %" PRIu64 " messages erased\n",
                check.count, root, check.checkpoints, store ? "" : " (roots only: no PKI)",
                check.erased);
    else
        printf ("audit log: BROKEN at record %" PRIu64 ": %s\n", check.bad, check.reason);
    rh_certstore_destroy (&store);
    rh_db_destroy (&db);
    return rc == RH_OK ? 0 : 1;
}

static void
s_print_dead_letter (void *arg, const rh_dead_letter_t *letter)
{
    (void) arg;
    char when [32] = "-";
    if (letter->dead_ms)
        rh_time_format (letter->dead_ms, when, sizeof when);
    printf ("%s  %s  %s  %s  %s\n", letter->recipient, letter->msg_id, letter->sender, when,
            *letter->reason ? letter->reason : "(reason not recorded)");
}

static void
s_print_requeued (void *arg, const rh_dead_letter_t *letter)
{
    (void) arg;
    printf ("re-queued %s for %s\n", letter->msg_id, letter->recipient);
}

//  0 if dir holds a broker store no process has open; else says why in one line and returns
//  the exit code: 1 no store there (opening would create an empty one), 2 the broker runs.
static int
s_stopped_store (const char *dir)
{
    char current [PATH_MAX];
    struct stat info;
    rh_file_path (current, sizeof current, "%s/CURRENT", dir);
    if (stat (current, &info) != 0) {
        fprintf (stderr, "%s holds no broker data\n", dir);
        return 1;
    }
    pid_t holder = rh_db_lock_holder (dir);
    if (holder > 0) {
        fprintf (stderr, "%s is in use: the broker is running (pid %ld): stop it first\n", dir,
                 (long) holder);
        return 2;
    }
    return 0;
}

//  Lists the dead letters of a stopped broker, or re-queues one message id (requeue), or all
//  (requeue_all), with a REQUEUED audit record committed before it reports success.
static int
s_dead_letters (rh_config_t *config, const char *requeue, bool requeue_all)
{
    const char *dir = rh_config_str (config, "data/dir");
    int rc_store = s_stopped_store (dir);
    if (rc_store != 0)
        return rc_store;
    rh_db_t *db = rh_db_open (dir);
    rh_audit_t *audit = db ? rh_audit_new (db) : NULL;
    rh_queue_limits_t limits = {
        .expiry_ms = rh_config_int (config, "delivery/expiry_days") * 24 * 3600 * 1000,
        .redeliver_ms = rh_config_int (config, "delivery/redeliver_ms"),
    };
    //  Nothing is sent from here: no agent is bound.
    rh_queue_t *queue =
        audit ? rh_queue_new (db, audit, NULL, &limits, s_send_nothing, NULL) : NULL;
    int rc = 1;
    if (!queue)
        fprintf (stderr, "cannot open the broker's data in %s\n", dir);
    else if (!requeue && !requeue_all) {
        int count = rh_queue_dead_letters (queue, s_print_dead_letter, NULL);
        if (count == 0)
            printf ("no dead letters\n");
        rc = count < 0 ? 1 : 0;
    }
    else {
        //  The operator as the shell knows them (sudo keeps who asked), and the account used.
        const char *name = getenv ("SUDO_USER");
        if (!name || !*name)
            name = getenv ("USER");
        char who [160];
        snprintf (who, sizeof who, "%.64s (uid %u) with rhannu-broker dead-letters",
                  name && *name ? name : "unknown", (unsigned) geteuid ());
        int count =
            rh_queue_requeue (queue, requeue, who, rh_time_now_ms (), s_print_requeued, NULL);
        if (count > 0 && rh_db_commit (db, true) != 0) {
            fprintf (stderr, "cannot write the store: nothing was re-queued\n");
            count = -1;
        }
        if (count == 0)
            fprintf (stderr, requeue ? "no dead letter has id %s\n" : "no dead letters%s\n",
                     requeue ? requeue : "");
        rc = count > 0 ? 0 : 1;
    }
    rh_queue_destroy (&queue);
    rh_audit_destroy (&audit);
    rh_db_destroy (&db);
    return rc;
}

//  What erase was asked to do.
typedef struct {
    const char *msg_id;     //  --msg
    const char *subject;    //  --subject
    bool retention;         //  --retention
    const char *reason;     //  --reason, as typed
    const char *authority;  //  --authority
} s_erase_args_t;

//  Prints what became of one payload: one line each, no personal data (ids and agencies only).
static void
s_print_erased (void *arg, uint64_t seq, const char *msg_id, rh_erase_outcome_t outcome,
                const char *why)
{
    int *refused = arg;
    if (outcome == RH_ERASE_ERASED)
        printf ("erased %s (record %" PRIu64 ")\n", msg_id, seq);
    else if (outcome == RH_ERASE_GONE)
        printf ("already erased %s (record %" PRIu64 ")\n", msg_id, seq);
    else {
        (*refused)++;
        if (outcome == RH_ERASE_OWED)
            printf ("refused %s (record %" PRIu64 "): owed: still queued for %s, undelivered\n",
                    msg_id, seq, why);
        else
            printf ("refused %s (record %" PRIu64 "): held: agreement %s is under legal hold\n",
                    msg_id, seq, why);
    }
}

//  Erases payloads of a stopped broker's store. Exit 0 when everything asked for was erased
//  (or had been), 1 when something was refused or not found, 2 on misuse or a running broker.
static int
s_erase (rh_config_t *config, const s_erase_args_t *args)
{
    static const char *const reasons [][2] = { { "retention", RH_ERASURE_RETENTION },
                                               { "right-to-erasure", RH_ERASURE_RIGHT_TO_ERASURE },
                                               { "court-order", RH_ERASURE_COURT_ORDER } };
    const char *reason = NULL;
    for (size_t i = 0; i < 3; i++)
        if (args->reason && !strcmp (args->reason, reasons [i][0]))
            reason = reasons [i][1];
    int chosen = !!args->msg_id + !!args->subject + !!args->retention;
    if (chosen != 1 || !reason || !rh_record_erasure_authority_valid (args->authority)) {
        fprintf (stderr,
                 "erase: give one of --msg, --subject, --retention; --reason retention, "
                 "right-to-erasure or court-order; and --authority (one line of at most %d "
                 "bytes)\n",
                 RH_MAX_AUTHORITY);
        return 2;
    }
    const char *dir = rh_config_str (config, "data/dir");
    char identity [PATH_MAX], ca [PATH_MAX];
    int rc_store = s_stopped_store (dir);
    if (rc_store != 0)
        return rc_store;
    const char *pki = rh_config_str (config, "pki/dir");
    rh_file_path (identity, sizeof identity, "%s/%s", pki, rh_config_str (config, "pki/identity"));
    rh_file_path (ca, sizeof ca, "%s/ca.pem", pki);
    char errors [8192] = "";
    //  The agreements as the broker's clock sees them (legal holds, retention).
    int64_t offset = rh_broker_clock_offset (config);
    int64_t now = rh_time_now_ms () + (offset > 0 ? offset : 0);
    rh_policy_t *policy =
        rh_policy_load (rh_config_str (config, "policy/dir"), ca, now, errors, sizeof errors);
    rh_signer_t *signer = rh_signer_load (identity);
    rh_db_t *db = policy && signer ? rh_db_open (dir) : NULL;
    rh_audit_t *audit = db ? rh_audit_new (db) : NULL;
    rh_eraser_t *eraser = audit ? rh_eraser_new (db, audit, policy) : NULL;
    int rc = 1, refused = 0;
    if (!policy)
        fprintf (stderr, "erase: cannot load the agreements (legal holds): %s", errors);
    else if (!signer)
        fprintf (stderr, "erase: cannot load the broker's key %s\n", identity);
    else if (!eraser)
        fprintf (stderr, "erase: cannot open the broker's data in %s\n", dir);
    else {
        int found = args->msg_id    ? rh_eraser_add_message (eraser, args->msg_id)
                    : args->subject ? rh_eraser_add_subject (eraser, args->subject)
                                    : rh_eraser_add_due (eraser, now);
        int erased = found > 0 ? rh_eraser_run (eraser, reason, args->authority, signer,
                                                s_print_erased, &refused)
                               : found;
        if (found < 0 && args->subject)
            fprintf (stderr, "erase: %s is not a subject key (64 hex digits)\n", args->subject);
        else if (found == 0 && !args->retention)
            fprintf (stderr, "erase: no stored message matches\n");
        else if (erased < 0)
            fprintf (stderr, "erase: cannot write the store: nothing was erased\n");
        else {
            printf ("%d message%s erased, %d refused\n", erased, erased == 1 ? "" : "s", refused);
            rc = refused ? 1 : 0;
        }
    }
    rh_eraser_destroy (&eraser);
    rh_audit_destroy (&audit);
    rh_db_destroy (&db);
    rh_signer_destroy (&signer);
    rh_policy_destroy (&policy);
    return rc;
}

//  Validates one agreement file for the person editing it: every problem with its line, or a
//  summary of what the broker would enforce. Exit 0 only when valid (and signed, with --pki).
//  A federation agreement: what it says, and with --pki whether both boards signed it (each
//  region's CA at PKI/ca.pem or PKI/peers/REGION/ca.pem). Takes data.
static int
s_check_federation (const char *path, const char *pki, uint8_t *data, size_t size)
{
    char errors [8192] = "";
    rh_federation_t *federation =
        rh_federation_parse ((const char *) data, size, path, errors, sizeof errors);
    int rc = 0;
    if (!federation) {
        fputs (errors, stderr);
        fprintf (stderr, "%s: not valid\n", path);
        rc = 1;
    }
    else {
        rh_federation_print (federation, stdout);
        if (rh_federation_valid_to (federation) < rh_time_now_ms ()) {
            fprintf (stderr, "%s: expired: a broker will not load it\n", path);
            rc = 1;
        }
    }
    if (federation && pki) {
        char report [4096];
        size_t signed_by =
            rh_fedtrust_verify (federation, path, data, size, pki, report, sizeof report);
        fputs (report, signed_by == rh_federation_regions (federation) ? stdout : stderr);
        if (signed_by != rh_federation_regions (federation)) {
            fprintf (stderr, "%s: signed by %zu of %zu boards: a broker will not load it\n", path,
                     signed_by, rh_federation_regions (federation));
            rc = 1;
        }
    }
    if (rc == 0)
        printf ("%s: valid federation agreement\n", path);
    rh_federation_destroy (&federation);
    free (data);
    return rc;
}

static int
s_check_agreement (const char *path, const char *pki)
{
    uint8_t *data = NULL;
    size_t size = 0;
    if (rh_file_read (path, RH_MAX_AGREEMENT_FILE, &data, &size) != 0) {
        fprintf (stderr, "%s: cannot read: %s\n", path,
                 errno == EFBIG ? "larger than the limit" : strerror (errno));
        return 1;
    }
    if (rh_federation_is_federation ((const char *) data, size))
        return s_check_federation (path, pki, data, size);
    char errors [8192] = "";
    rh_agreement_t *agreement =
        rh_agreement_parse ((const char *) data, size, path, errors, sizeof errors);
    int rc = 0;
    if (!agreement) {
        fputs (errors, stderr);
        fprintf (stderr, "%s: not valid\n", path);
        rc = 1;
    }
    else {
        rh_agreement_print (agreement, stdout);
        if (rh_agreement_valid_to (agreement) < rh_time_now_ms ()) {
            fprintf (stderr, "%s: expired: a broker will not load it\n", path);
            rc = 1;
        }
    }
    if (agreement && pki) {
        char ca_path [PATH_MAX], sig_path [PATH_MAX];
        uint8_t *signature = NULL;
        size_t signature_size = 0;
        rh_file_path (ca_path, sizeof ca_path, "%s/ca.pem", pki);
        rh_file_path (sig_path, sizeof sig_path, "%s.sig", path);
        X509 *ca = rh_ca_read_cert (ca_path);
        if (!ca) {
            fprintf (stderr, "%s: cannot read the board CA certificate\n", ca_path);
            rc = 1;
        }
        else if (rh_file_read (sig_path, 1024, &signature, &signature_size) != 0) {
            fprintf (stderr, "%s: not signed (%s is missing)\n", path, sig_path);
            rc = 1;
        }
        else if (rh_ca_verify_file (ca, data, size, signature, signature_size) != RH_OK) {
            fprintf (stderr, "%s: the signature does not verify against %s\n", path, ca_path);
            rc = 1;
        }
        else
            printf ("  signature: valid, board CA %s\n", ca_path);
        X509_free (ca);
        free (signature);
    }
    if (rc == 0)
        printf ("%s: valid\n", path);
    rh_agreement_destroy (&agreement);
    free (data);
    return rc;
}

//  The vkey of the broker's checkpoint notes: witness/origin as the name, the Ed25519 key of
//  the broker's certificate; or, with cosignature, the cosignature/v1 vkey of the same key and
//  name, with which it witnesses federated regions' logs. Returns the exit code.
static int
s_print_vkey (rh_config_t *config, bool cosignature)
{
    char identity [PATH_MAX], vkey_text [RH_NOTE_MAX_VKEY];
    rh_file_path (identity, sizeof identity, "%s/%s", rh_config_str (config, "pki/dir"),
                  rh_config_str (config, "pki/identity"));
    rh_signer_t *signer = rh_signer_load (identity);
    rh_note_vkey_t vkey;
    int rc =
        signer
                && rh_note_vkey_make (rh_config_str (config, "witness/origin"),
                                      cosignature ? RH_NOTE_TYPE_COSIGNATURE : RH_NOTE_TYPE_ED25519,
                                      rh_signer_public_key (signer), &vkey)
                       == RH_OK
                && rh_note_vkey_format (&vkey, vkey_text, sizeof vkey_text) == 0
            ? 0
            : 1;
    if (rc == 0)
        printf ("%s\n", vkey_text);
    else
        fprintf (stderr, "rhannu-broker: no vkey: set witness/origin to a valid origin, and "
                         "check pki/dir and pki/identity\n");
    rh_signer_destroy (&signer);
    return rc;
}

//  The command line, parsed.
typedef struct {
    const char *command;   //  NULL: run the broker
    const char *config;    //  -f
    const char *requeue;   //  dead-letters --requeue
    bool requeue_all;      //  dead-letters --requeue-all
    const char *pki;       //  check-agreement --pki
    const char *argument;  //  the command's one argument (check-agreement FILE), if it takes one
    const char *metrics;   //  status --metrics URL
    s_erase_args_t erase;  //  erase --msg, --subject, --retention, --reason, --authority
    rh_explain_args_t explain;  //  explain --from, --agreements, --json
    bool explain_option;        //  any of those was given
    bool cosignature;           //  vkey --cosignature
    bool erase_option;          //  any of those was given
} s_args_t;

static int
s_run (rh_config_t *config, const s_args_t *args)
{
    (void) args;
    rh_config_log (config, "broker");
    struct sigaction action = { 0 };
    action.sa_handler = s_on_signal;
    sigemptyset (&action.sa_mask);
    sigaction (SIGINT, &action, NULL);
    sigaction (SIGTERM, &action, NULL);
    sigaction (SIGHUP, &action, NULL);
    signal (SIGPIPE, SIG_IGN);
    //  A second broker on the same store (the standby of a pair) waits here for the lock.
    rh_broker_t *broker = rh_broker_new_standby (config, &s_stop);
    int rc = s_stop ? 0 : 1;
    if (broker) {
        rh_log_info ("broker", "ready");
        rc = rh_broker_run (broker, &s_stop, &s_reload) == 0 ? 0 : 3;
        rh_broker_destroy (&broker);
        rh_log_info ("broker", "stopped");
    }
    return rc;
}

static int
s_log_command (rh_config_t *config, const s_args_t *args)
{
    (void) args;
    return s_print_log (config);
}

static int
s_vkey_command (rh_config_t *config, const s_args_t *args)
{
    return s_print_vkey (config, args->cosignature);
}

static int
s_dead_letters_command (rh_config_t *config, const s_args_t *args)
{
    return s_dead_letters (config, args->requeue, args->requeue_all);
}

static int
s_status_command (rh_config_t *config, const s_args_t *args)
{
    return rh_status_query (config, args->metrics, stdout, stderr);
}

static int
s_erase_command (rh_config_t *config, const s_args_t *args)
{
    return s_erase (config, &args->erase);
}

//  backup DEST: the store, running or not, into a new folder; restore BACKUP: into data/dir.
static int
s_backup_command (rh_config_t *config, const s_args_t *args)
{
    bool take = strcmp (args->command, "backup") == 0;
    const char *data_dir = rh_config_str (config, "data/dir");
    rh_backup_info_t info;
    int rc = take ? rh_backup_take (data_dir, args->argument, &info)
                  : rh_backup_restore (args->argument, data_dir, &info);
    if (rc == 0)
        printf ("%s: %s -> %s\naudit log: %" PRIu64 " records, root %s\n",
                take ? "backup taken" : "restored", take ? data_dir : args->argument,
                take ? args->argument : data_dir, info.audit_size,
                info.audit_size ? info.audit_root : "(empty)");
    return rc == 0 ? 0 : 1;
}

static int
s_explain_command (rh_config_t *config, const s_args_t *args)
{
    if (!args->explain.from)
        return rh_cli_error (S_TOOL, "explain needs --from AGENCY (the sending agency)");
    rh_explain_args_t explain = args->explain;
    explain.message = args->argument;
    return rh_explain_run (config, &explain, stdout, stderr);
}

static int
s_check_agreement_command (rh_config_t *config, const s_args_t *args)
{
    (void) config;
    return s_check_agreement (args->argument, args->pki);
}

//  The commands: a new one is a row here and a function above. The first row is the broker
//  itself (no command word).
static const struct {
    const char *name;
    int (*run) (rh_config_t *config, const s_args_t *args);
    bool config;           //  needs -f CONFIG (loaded before run is called)
    const char *argument;  //  the one argument it takes (its name, for errors), or NULL
} s_commands [] = {
    { NULL, s_run, true, NULL },
    { "log", s_log_command, true, NULL },
    { "dead-letters", s_dead_letters_command, true, NULL },
    { "vkey", s_vkey_command, true, NULL },
    { "status", s_status_command, true, NULL },
    { "erase", s_erase_command, true, NULL },
    { "backup", s_backup_command, true, "DEST (a new folder)" },
    { "restore", s_backup_command, true, "BACKUP (into data/dir, which must be empty)" },
    { "check-agreement", s_check_agreement_command, false, "FILE" },
    { "explain", s_explain_command, true, "MESSAGE.json" },
};

enum {
    S_VERSION = 256,
    S_REQUEUE,
    S_REQUEUE_ALL,
    S_PKI,
    S_MSG,
    S_SUBJECT,
    S_RETENTION,
    S_REASON,
    S_AUTHORITY,
    S_METRICS,
    S_FROM,
    S_AGREEMENTS,
    S_JSON,
    S_COSIGNATURE
};

static const struct option s_options [] = {
    { "config", required_argument, NULL, 'f' },
    { "verbose", no_argument, NULL, 'v' },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, S_VERSION },
    { "requeue", required_argument, NULL, S_REQUEUE },
    { "requeue-all", no_argument, NULL, S_REQUEUE_ALL },
    { "pki", required_argument, NULL, S_PKI },
    { "msg", required_argument, NULL, S_MSG },
    { "subject", required_argument, NULL, S_SUBJECT },
    { "retention", no_argument, NULL, S_RETENTION },
    { "reason", required_argument, NULL, S_REASON },
    { "authority", required_argument, NULL, S_AUTHORITY },
    { "metrics", required_argument, NULL, S_METRICS },
    { "from", required_argument, NULL, S_FROM },
    { "agreements", required_argument, NULL, S_AGREEMENTS },
    { "json", no_argument, NULL, S_JSON },
    { "cosignature", no_argument, NULL, S_COSIGNATURE },
    { NULL, 0, NULL, 0 },
};

int
main (int argc, char **argv)
{
    //  One malloc arena per thread lets freed memory pile up across the verify workers and
    //  ZeroMQ's I/O thread; two arenas keep the resident set near what is actually in use.
    mallopt (M_ARENA_MAX, 2);
    s_args_t args = { 0 };
    const rh_cli_t cli = { .tool = S_TOOL,
                           .short_options = ":f:vh",
                           .options = s_options,
                           .version = S_VERSION,
                           .usage = s_usage,
                           .config = &args.config };
    int c, exit_code = 0;
    while ((c = rh_cli_next (&cli, argc, argv, &exit_code)) >= 0) {
        switch (c) {
            case S_REQUEUE:
                args.requeue = optarg;
                break;
            case S_REQUEUE_ALL:
                args.requeue_all = true;
                break;
            case S_PKI:
                args.pki = optarg;
                break;
            case S_MSG:
                args.erase.msg_id = optarg;
                args.erase_option = true;
                break;
            case S_SUBJECT:
                args.erase.subject = optarg;
                args.erase_option = true;
                break;
            case S_RETENTION:
                args.erase.retention = true;
                args.erase_option = true;
                break;
            case S_REASON:
                args.erase.reason = optarg;
                args.erase_option = true;
                break;
            case S_METRICS:
                args.metrics = optarg;
                break;
            case S_FROM:
                args.explain.from = optarg;
                args.explain_option = true;
                break;
            case S_AGREEMENTS:
                args.explain.agreements = optarg;
                args.explain_option = true;
                break;
            case S_JSON:
                args.explain.json = true;
                args.explain_option = true;
                break;
            case S_COSIGNATURE:
                args.cosignature = true;
                break;
            case S_AUTHORITY:
                args.erase.authority = optarg;
                args.erase_option = true;
                break;
            default:
                return rh_cli_bad_option (S_TOOL, c, argv);
        }
    }
    if (c == RH_CLI_EXIT)
        return exit_code;
    int k = RH_CLI_COMMAND (&cli, argc, argv, s_commands, &args.command);
    if (k < 0)
        return RH_CLI_USAGE;
    int arg = optind;
    const char *shown = args.command ? args.command : "running the broker";
    if (s_commands [k].argument && arg < argc)
        args.argument = argv [arg++];
    if (arg < argc)
        return rh_cli_error (S_TOOL, "%s takes no argument '%.40s'", shown, argv [arg]);
    if (s_commands [k].argument && !args.argument)
        return rh_cli_error (S_TOOL, "%s needs %s", shown, s_commands [k].argument);
    if ((args.requeue || args.requeue_all) && s_commands [k].run != s_dead_letters_command)
        return rh_cli_error (S_TOOL, "--requeue and --requeue-all are for dead-letters");
    if (args.requeue && args.requeue_all)
        return rh_cli_error (S_TOOL, "--requeue or --requeue-all, not both");
    if (args.pki && s_commands [k].run != s_check_agreement_command)
        return rh_cli_error (S_TOOL, "--pki is for check-agreement");
    if (args.cosignature && s_commands [k].run != s_vkey_command)
        return rh_cli_error (S_TOOL, "--cosignature is for vkey");
    if (args.metrics && s_commands [k].run != s_status_command)
        return rh_cli_error (S_TOOL, "--metrics is for status");
    if (args.erase_option && s_commands [k].run != s_erase_command)
        return rh_cli_error (
            S_TOOL, "--msg, --subject, --retention, --reason and --authority are for erase");
    if (args.explain_option && s_commands [k].run != s_explain_command)
        return rh_cli_error (S_TOOL, "--from, --agreements and --json are for explain");
    if (!s_commands [k].config)
        return s_commands [k].run (NULL, &args);
    if (!args.config)
        return rh_cli_error (S_TOOL, "%s needs -f CONFIG", shown);
    umask (077);
    char error [512] = "";
    rh_config_t *config = rh_config_load (rh_broker_config_spec, args.config, error, sizeof error);
    if (!config) {
        rh_log_error ("broker", "configuration: %s", error);
        return 2;
    }
    rh_log_set_format_name (rh_config_str (config, "log/format"));
    int rc = s_commands [k].run (config, &args);
    rh_config_destroy (&config);
    return rc;
}
