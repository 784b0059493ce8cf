/*  =========================================================================
    rhannu-broker - the broker process

    rhannu-broker -f CONFIG     run (SIGHUP reloads the CRL and agreements; SIGTERM stops)
    rhannu-broker log -f CONFIG verify and print the audit log
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

static void
s_usage (FILE *out)
{
    fprintf (out, "usage: rhannu-broker -f CONFIG [-v]      run the broker\n"
                  "       rhannu-broker log -f CONFIG       verify and print the audit log\n"
                  "                                         (of a stopped broker or a copy)\n"
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

int
main (int argc, char **argv)
{
    if (argc >= 2 && strcmp (argv [1], "check-agreement") == 0)
        return s_check_agreement (argc, argv);
    //  One malloc arena per thread lets freed memory pile up across the verify workers and
    //  ZeroMQ's I/O thread; two arenas keep the resident set near what is actually in use.
    mallopt (M_ARENA_MAX, 2);
    const char *config_path = NULL;
    bool print_log = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp (argv [i], "log") == 0 && i == 1)
            print_log = true;
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
    if (!config_path) {
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
    if (print_log) {
        int rc = s_print_log (config);
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
