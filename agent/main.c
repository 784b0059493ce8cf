/*  =========================================================================
    rhannu-agent - an agency's agent, and its command line

    rhannu-agent -f CONFIG                 run the agent
    rhannu-agent send -f CONFIG FILE...    check and queue JSON files (into outbox/)
    rhannu-agent inbox -f CONFIG           list received messages
    rhannu-agent status -f CONFIG          connected?, queued counts, last error
    rhannu-agent -h                        help, including every configuration key
    =========================================================================
*/
#include "rh_agent_classes.h"

static volatile sig_atomic_t s_stop;

static void
s_on_signal (int signal_number)
{
    (void) signal_number;
    s_stop = 1;
}

static void
s_usage (FILE *out)
{
    fprintf (out,
             "usage: rhannu-agent -f CONFIG [-v]               run the agent\n"
             "       rhannu-agent send -f CONFIG FILE.json...  check and queue messages\n"
             "       rhannu-agent inbox -f CONFIG              list received messages\n"
             "       rhannu-agent status -f CONFIG             connection, queues, last error\n"
             "\nConfiguration keys (YAML, section/key):\n");
    rh_config_print_spec (rh_agent_config_spec, out);
}

//  Copies a checked file into outbox/ atomically: written under outbox/.tmp, then renamed, so
//  the agent never sees half a file.
static int
s_send (rh_config_t *config, const char *file)
{
    char error [512] = "";
    if (rh_agent_check_file (file, error, sizeof error) != 0) {
        fprintf (stderr, "%s: not sent: %s\n", file, error);
        return -1;
    }
    char outbox [PATH_MAX], inbox [PATH_MAX], failed [PATH_MAX], status [PATH_MAX];
    rh_agent_paths (config, outbox, inbox, failed, status, PATH_MAX);
    char tmp_dir [PATH_MAX], tmp [PATH_MAX], target [PATH_MAX];
    rh_file_path (tmp_dir, sizeof tmp_dir, "%s/.tmp", outbox);
    if (rh_file_mkdir (outbox, 0750) != 0 || rh_file_mkdir (tmp_dir, 0750) != 0) {
        fprintf (stderr, "%s: cannot create %s\n", file, tmp_dir);
        return -1;
    }
    const char *base = strrchr (file, '/') ? strrchr (file, '/') + 1 : file;
    uint8_t *content = NULL;
    size_t size = 0;
    if (rh_file_read (file, RH_MAX_ENVELOPE, &content, &size) != 0)
        return -1;
    //  A unique name: the same file may be sent twice on purpose.
    uint8_t random [6];
    randombytes_buf (random, sizeof random);
    char suffix [13];
    sodium_bin2hex (suffix, sizeof suffix, random, sizeof random);
    size_t base_len = strlen (base);
    if (base_len > 5 && strcmp (base + base_len - 5, ".json") == 0)
        base_len -= 5;
    rh_file_path (tmp, sizeof tmp, "%s/%.*s-%s.json", tmp_dir, (int) base_len, base, suffix);
    rh_file_path (target, sizeof target, "%s/%.*s-%s.json", outbox, (int) base_len, base, suffix);
    int rc =
        rh_file_write_atomic (tmp, content, size, 0640) == 0 && rename (tmp, target) == 0 ? 0 : -1;
    free (content);
    if (rc == 0)
        printf ("queued %s as %s\n", file, target);
    else
        fprintf (stderr, "%s: cannot queue: %s\n", file, strerror (errno));
    return rc;
}

static int
s_inbox (rh_config_t *config)
{
    char outbox [PATH_MAX], inbox [PATH_MAX], failed [PATH_MAX], status [PATH_MAX];
    rh_agent_paths (config, outbox, inbox, failed, status, PATH_MAX);
    DIR *dir = opendir (inbox);
    if (!dir) {
        fprintf (stderr, "cannot open %s: %s\n", inbox, strerror (errno));
        return 1;
    }
    printf ("%-20s %-14s %-16s %-22s %s\n", "RECEIVED (created)", "KIND", "FROM", "CASE", "FILE");
    struct dirent *entry;
    int count = 0;
    while ((entry = readdir (dir))) {
        size_t length = strlen (entry->d_name);
        if (entry->d_name [0] == '.' || length < 6 || strcmp (entry->d_name + length - 5, ".json"))
            continue;
        char path [PATH_MAX];
        rh_file_path (path, sizeof path, "%s/%s", inbox, entry->d_name);
        json_t *root = json_load_file (path, 0, NULL);
        const char *kind = json_string_value (json_object_get (root, "kind"));
        const char *sender = json_string_value (json_object_get (root, "sender"));
        const char *case_id = json_string_value (json_object_get (root, "case_id"));
        const char *created = json_string_value (json_object_get (root, "created"));
        printf ("%-20s %-14s %-16s %-22s %s\n", created ? created : "?", kind ? kind : "?",
                sender ? sender : "?", case_id ? case_id : "-", entry->d_name);
        json_decref (root);
        count++;
    }
    closedir (dir);
    printf ("%d message%s in %s\n", count, count == 1 ? "" : "s", inbox);
    return 0;
}

static int
s_status (rh_config_t *config)
{
    char outbox [PATH_MAX], inbox [PATH_MAX], failed [PATH_MAX], status [PATH_MAX];
    rh_agent_paths (config, outbox, inbox, failed, status, PATH_MAX);
    json_t *root = json_load_file (status, 0, NULL);
    if (!root) {
        fprintf (stderr, "no status at %s: has the agent run?\n", status);
        return 1;
    }
    const char *key;
    json_t *value;
    json_object_foreach (root, key, value)
    {
        if (!strcmp (key, "referrals"))
            continue;
        char *text = json_dumps (value, JSON_ENCODE_ANY);
        printf ("%-20s %s\n", key, text ? text : "?");
        free (text);
    }
    //  The referrals this agency made and what it has heard about them.
    json_t *referrals = json_object_get (root, "referrals");
    if (referrals) {
        printf ("\nopen referrals: %" JSON_INTEGER_FORMAT ", overdue: %" JSON_INTEGER_FORMAT "\n",
                json_integer_value (json_object_get (referrals, "open")),
                json_integer_value (json_object_get (referrals, "overdue")));
        json_t *lists [] = { json_object_get (referrals, "overdue_list"),
                             json_object_get (referrals, "latest") };
        const char *titles [] = { "overdue", "latest open" };
        for (int l = 0; l < 2; l++) {
            if (!json_array_size (lists [l]))
                continue;
            printf ("%s:\n  %-22s %-13s %-30s %-22s %s\n", titles [l], "CASE", "STATE", "HELD BY",
                    "DECISION / UPDATE", "OVERDUE");
            size_t index;
            json_t *entry;
            json_array_foreach (lists [l], index, entry)
            {
                const char *decision = json_string_value (json_object_get (entry, "decision"));
                const char *update = json_string_value (json_object_get (entry, "update"));
                const char *holder = json_string_value (json_object_get (entry, "holder"));
                const char *late = json_string_value (json_object_get (entry, "overdue"));
                const char *case_id = json_string_value (json_object_get (entry, "case_id"));
                printf ("  %-22s %-13s %-30s %-22s %s\n",
                        case_id && *case_id ? case_id
                                            : json_string_value (json_object_get (entry, "msg_id")),
                        json_string_value (json_object_get (entry, "state")), holder ? holder : "-",
                        update     ? update
                        : decision ? decision
                                   : "-",
                        late ? late : "");
            }
        }
    }
    json_decref (root);
    return 0;
}

int
main (int argc, char **argv)
{
    //  One malloc arena per thread lets freed memory pile up across the verify workers and
    //  ZeroMQ's I/O thread; two arenas keep the resident set near what is actually in use.
    mallopt (M_ARENA_MAX, 2);
    const char *command = NULL, *config_path = NULL;
    const char *files [256];
    int file_count = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp (argv [i], "-f") == 0 && i + 1 < argc)
            config_path = argv [++i];
        else if (strcmp (argv [i], "-v") == 0)
            setenv ("RH_LOG_LEVEL", "debug", 1);
        else if (strcmp (argv [i], "-h") == 0 || strcmp (argv [i], "--help") == 0) {
            s_usage (stdout);
            return 0;
        }
        else if (!command
                 && (!strcmp (argv [i], "send") || !strcmp (argv [i], "inbox")
                     || !strcmp (argv [i], "status")))
            command = argv [i];
        else if (command && !strcmp (command, "send") && file_count < 256)
            files [file_count++] = argv [i];
        else {
            s_usage (stderr);
            return 2;
        }
    }
    if (!config_path) {
        s_usage (stderr);
        return 2;
    }
    char error [512] = "";
    rh_config_t *config = rh_config_load (rh_agent_config_spec, config_path, error, sizeof error);
    if (!config) {
        fprintf (stderr, "rhannu-agent: configuration: %s\n", error);
        return 2;
    }
    int rc = 0;
    if (command && !strcmp (command, "send")) {
        if (file_count == 0) {
            s_usage (stderr);
            rc = 2;
        }
        for (int i = 0; i < file_count; i++)
            if (s_send (config, files [i]) != 0)
                rc = 1;
    }
    else if (command && !strcmp (command, "inbox"))
        rc = s_inbox (config);
    else if (command && !strcmp (command, "status"))
        rc = s_status (config);
    else {
        umask (027);
        rh_config_log (config, rh_config_str (config, "agency/id"));
        struct sigaction action = { 0 };
        action.sa_handler = s_on_signal;
        sigemptyset (&action.sa_mask);
        sigaction (SIGINT, &action, NULL);
        sigaction (SIGTERM, &action, NULL);
        signal (SIGPIPE, SIG_IGN);
        rh_agent_t *agent = rh_agent_new (config);
        rc = 1;
        if (agent) {
            rc = rh_agent_run (agent, &s_stop) == 0 ? 0 : 3;
            rh_agent_destroy (&agent);
        }
    }
    rh_config_destroy (&config);
    return rc;
}
