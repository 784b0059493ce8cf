/*  =========================================================================
    rhannu-broker - the broker process

    rhannu-broker -f CONFIG     run (SIGHUP reloads the CRL and agreements; SIGTERM stops)
    rhannu-broker log -f CONFIG verify and print the audit log
    rhannu-broker dead-letters -f CONFIG [--requeue MSG_ID | --requeue-all]
                                list dead letters, or put them back in their
                                queues (the broker must be stopped)
    rhannu-broker status -f CONFIG [--metrics URL]
                                the running broker's queues, per agency
    rhannu-broker check-agreement FILE [--pki DIR]
                                validate a sharing agreement (and its signature)
    rhannu-broker -h            help, including every configuration key
    =========================================================================
*/
#include "rh_broker_classes.h"

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
    fprintf (out, "usage: rhannu-broker -f CONFIG [-v]      run the broker\n"
                  "       rhannu-broker log -f CONFIG       verify and print the audit log\n"
                  "                                         (of a stopped broker or a copy)\n"
                  "       rhannu-broker dead-letters -f CONFIG [--requeue MSG_ID | --requeue-all]\n"
                  "                                         list the messages given up on, or\n"
                  "                                         put them back in their recipients'\n"
                  "                                         queues (the broker must be stopped)\n"
                  "       rhannu-broker status -f CONFIG [--metrics URL]\n"
                  "                                         the running broker's queues per\n"
                  "                                         agency (asks its metrics/listen)\n"
                  "       rhannu-broker vkey -f CONFIG      print the vkey our checkpoint notes\n"
                  "                                         are signed with (witness/origin and\n"
                  "                                         the broker's key): what a witness's\n"
                  "                                         logs/vkeys lists\n"
                  "       rhannu-broker check-agreement FILE [--pki DIR]\n"
                  "                                         validate a sharing agreement; with\n"
                  "                                         --pki also its signature FILE.sig\n"
                  "       rhannu-broker -h\n\n"
                  "Configuration keys (YAML, section/key):\n");
    rh_config_print_spec (rh_broker_config_spec, out);
}

static int
s_print_log (rh_config_t *config)
{
    rh_db_t *db = rh_db_open (rh_config_str (config, "data/dir"));
    if (!db)
        return 1;
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

//  True if another process holds the lock of the LevelDB in dir (a running broker). Asks
//  without taking the lock (F_GETLK), so that nothing of ours can release LevelDB's own later.
static bool
s_store_locked (const char *dir)
{
    char path [PATH_MAX];
    rh_file_path (path, sizeof path, "%s/LOCK", dir);
    int fd = open (path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return false;  //  no store yet, or not ours to read: rh_db_open says why
    struct flock lock = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
    bool locked = fcntl (fd, F_GETLK, &lock) == 0 && lock.l_type != F_UNLCK;
    close (fd);
    return locked;
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

//  Lists the dead letters of a stopped broker, or re-queues one message id (requeue), or all
//  (requeue_all), with a REQUEUED audit record committed before it reports success.
static int
s_dead_letters (rh_config_t *config, const char *requeue, bool requeue_all)
{
    const char *dir = rh_config_str (config, "data/dir");
    char current [PATH_MAX];
    struct stat info;
    rh_file_path (current, sizeof current, "%s/CURRENT", dir);
    if (stat (current, &info) != 0) {
        //  Opening would create an empty store there.
        fprintf (stderr, "%s holds no broker data\n", dir);
        return 1;
    }
    if (s_store_locked (dir)) {
        fprintf (stderr, "%s is in use: the broker is running: stop it first\n", dir);
        return 2;
    }
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

//  Validates one agreement file for the person editing it: every problem with its line, or a
//  summary of what the broker would enforce. Exit 0 only when valid (and signed, with --pki).
static int
s_check_agreement (int argc, char **argv)
{
    const char *path = NULL, *pki = NULL;
    for (int i = 2; i < argc; i++) {
        if (strcmp (argv [i], "--pki") == 0 && i + 1 < argc)
            pki = argv [++i];
        else if (!path && argv [i][0] != '-')
            path = argv [i];
        else {
            s_usage (stderr);
            return 2;
        }
    }
    if (!path) {
        s_usage (stderr);
        return 2;
    }
    uint8_t *data = NULL;
    size_t size = 0;
    if (rh_file_read (path, RH_MAX_AGREEMENT_FILE, &data, &size) != 0) {
        fprintf (stderr, "%s: cannot read: %s\n", path,
                 errno == EFBIG ? "larger than the limit" : strerror (errno));
        return 1;
    }
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
//  the broker's certificate. Returns the exit code.
static int
s_print_vkey (rh_config_t *config)
{
    char identity [PATH_MAX], vkey_text [RH_NOTE_MAX_VKEY];
    rh_file_path (identity, sizeof identity, "%s/%s", rh_config_str (config, "pki/dir"),
                  rh_config_str (config, "pki/identity"));
    rh_signer_t *signer = rh_signer_load (identity);
    rh_note_vkey_t vkey;
    int rc =
        signer
                && rh_note_vkey_make (rh_config_str (config, "witness/origin"),
                                      RH_NOTE_TYPE_ED25519, rh_signer_public_key (signer), &vkey)
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

int
main (int argc, char **argv)
{
    if (argc >= 2 && strcmp (argv [1], "check-agreement") == 0)
        return s_check_agreement (argc, argv);
    //  One malloc arena per thread lets freed memory pile up across the verify workers and
    //  ZeroMQ's I/O thread; two arenas keep the resident set near what is actually in use.
    mallopt (M_ARENA_MAX, 2);
    const char *config_path = NULL, *requeue = NULL, *metrics_url = NULL;
    bool print_log = false, dead_letters = false, requeue_all = false, print_vkey = false;
    bool status = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp (argv [i], "log") == 0 && i == 1)
            print_log = true;
        else if (strcmp (argv [i], "vkey") == 0 && i == 1)
            print_vkey = true;
        else if (strcmp (argv [i], "dead-letters") == 0 && i == 1)
            dead_letters = true;
        else if (strcmp (argv [i], "status") == 0 && i == 1)
            status = true;
        else if (status && strcmp (argv [i], "--metrics") == 0 && i + 1 < argc)
            metrics_url = argv [++i];
        else if (dead_letters && strcmp (argv [i], "--requeue") == 0 && i + 1 < argc && !requeue)
            requeue = argv [++i];
        else if (dead_letters && strcmp (argv [i], "--requeue-all") == 0)
            requeue_all = true;
        else if (strcmp (argv [i], "-f") == 0 && i + 1 < argc)
            config_path = argv [++i];
        else if (strcmp (argv [i], "-v") == 0)
            setenv ("RH_LOG_LEVEL", "debug", 1);
        else if (strcmp (argv [i], "-h") == 0 || strcmp (argv [i], "--help") == 0) {
            s_usage (stdout);
            return 0;
        }
        else {
            s_usage (stderr);
            return 2;
        }
    }
    if (!config_path || (requeue && requeue_all)) {
        s_usage (stderr);
        return 2;
    }
    umask (077);
    char error [512] = "";
    rh_config_t *config = rh_config_load (rh_broker_config_spec, config_path, error, sizeof error);
    if (!config) {
        rh_log_error ("broker", "configuration: %s", error);
        return 2;
    }
    if (status) {
        int rc = rh_status_query (config, metrics_url, stdout, stderr);
        rh_config_destroy (&config);
        return rc;
    }
    if (print_vkey) {
        int rc = s_print_vkey (config);
        rh_config_destroy (&config);
        return rc;
    }
    if (print_log || dead_letters) {
        int rc = print_log ? s_print_log (config) : s_dead_letters (config, requeue, requeue_all);
        rh_config_destroy (&config);
        return rc;
    }
    rh_config_log (config, "broker");
    struct sigaction action = { 0 };
    action.sa_handler = s_on_signal;
    sigemptyset (&action.sa_mask);
    sigaction (SIGINT, &action, NULL);
    sigaction (SIGTERM, &action, NULL);
    sigaction (SIGHUP, &action, NULL);
    signal (SIGPIPE, SIG_IGN);
    rh_broker_t *broker = rh_broker_new (config);
    int rc = 1;
    if (broker) {
        rh_log_info ("broker", "ready");
        rc = rh_broker_run (broker, &s_stop, &s_reload) == 0 ? 0 : 3;
        rh_broker_destroy (&broker);
        rh_log_info ("broker", "stopped");
    }
    rh_config_destroy (&config);
    return rc;
}
