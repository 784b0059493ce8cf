/*  =========================================================================
    rhannu-broker - the broker process

    rhannu-broker -f CONFIG     run (SIGHUP reloads the CRL; SIGTERM stops)
    rhannu-broker -h            help, including every configuration key
    =========================================================================
*/
#include "rh_classes.h"
#include <malloc.h>
#include "rh_audit.h"
#include "rh_broker.h"

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
    uint64_t count = 0, bad = 0;
    rh_rc_t rc = rh_audit_verify (db, &count, &bad);
    rh_audit_print (db, stdout);
    if (rc == RH_OK)
        printf ("audit log: %" PRIu64 " records, hash chain intact\n", count);
    else
        printf ("audit log: BROKEN at record %" PRIu64 " (of %" PRIu64 " read)\n", bad, count);
    rh_db_destroy (&db);
    return rc == RH_OK ? 0 : 1;
}

int
main (int argc, char **argv)
{
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
