/*  =========================================================================
    rhannu-agent - an agency's agent, and its command line

    rhannu-agent -f CONFIG                 run the agent
    rhannu-agent send -f CONFIG FILE...    check and queue JSON files (into outbox/)
    rhannu-agent inbox -f CONFIG           list received messages
    rhannu-agent status -f CONFIG          running?, connected?, queued counts, last error
    rhannu-agent -h | --version            help, including every configuration key

    The commands are one table (s_commands) and the options one getopt_long
    table (s_options): a new command is a row and a function.
    =========================================================================
*/
#include "rh_agent_classes.h"

#define S_TOOL "rhannu-agent"

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
    fprintf (out, "usage: rhannu-agent -f CONFIG [-v]               run the agent\n"
                  "       rhannu-agent send -f CONFIG FILE.json...  check and queue messages\n"
                  "       rhannu-agent inbox -f CONFIG              list received messages\n"
                  "       rhannu-agent status -f CONFIG             running?, connection, queues, "
                  "last error\n"
                  "       rhannu-agent -h | --help | --version\n"
                  "\nOptions: -f, --config FILE   -v, --verbose (debug log)\n"
                  "\nConfiguration keys (YAML, section/key):\n");
    rh_config_print_spec (rh_agent_config_spec, out);
}

//  Copies a checked file into outbox/ atomically: written under outbox/.tmp, then renamed, so
//  the agent never sees half a file.
static int
s_send (rh_config_t *config, const char *file)
{
    char error [1024] = "";
    if (rh_agent_check_file (file, error, sizeof error) != 0) {
        fprintf (stderr, "%s: not sent: %s\n", file, error);
        return -1;
    }
    char outbox [PATH_MAX], inbox [PATH_MAX], failed [PATH_MAX], status [PATH_MAX];
    rh_agent_paths (config, outbox, inbox, failed, status, PATH_MAX);
    char tmp_dir [PATH_MAX], tmp [PATH_MAX], target [PATH_MAX];
    rh_file_path (tmp_dir, sizeof tmp_dir, "%s/.tmp", outbox);
    if (rh_file_mkdirs (tmp_dir, 0750) != 0) {
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
    //  status.json is what the agent last wrote: whether it still runs is its store's lock.
    const char *data = rh_config_str (config, "data/dir");
    char lock [PATH_MAX];
    rh_file_path (lock, sizeof lock, "%s/outbox.db/LOCK", data);
    pid_t running_pid = rh_file_lock_holder (lock);
    bool readable = access (lock, R_OK) == 0;
    const char *updated = json_string_value (json_object_get (root, "updated"));
    if (running_pid > 0)
        printf ("%-20s running (pid %ld)\n", "agent", (long) running_pid);
    else if (readable)
        printf ("%-20s not running (last seen %s)\n", "agent", updated ? updated : "never");
    else
        printf ("%-20s unknown: cannot read %s (last status %s)\n", "agent", lock,
                updated ? updated : "never");
    //  What a stopped agent last knew of its connection is history, not state: left out.
    static const char *const live [] = { "connected", "connection", "connection_detail",
                                         "in_flight", "receiving",  NULL };
    const char *key;
    json_t *value;
    json_object_foreach (root, key, value)
    {
        bool stale = false;
        for (int i = 0; live [i] && running_pid <= 0; i++)
            stale = stale || !strcmp (key, live [i]);
        if (!strcmp (key, "referrals") || stale)
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
    //  As an init script's status (LSB), for scripts and checks: 3 not running, 4 unknown.
    return running_pid > 0 ? 0 : readable ? 3 : 4;
}

static int
s_run (rh_config_t *config, const char *const *files, int file_count)
{
    (void) files, (void) file_count;
    //  Said before anything else, in one line (rh_agent_new refuses too, for library callers).
    const char *data = rh_config_str (config, "data/dir");
    char lock [PATH_MAX];
    rh_file_path (lock, sizeof lock, "%s/outbox.db/LOCK", data);
    pid_t holder = rh_file_lock_holder (lock);
    if (holder > 0) {
        fprintf (stderr, S_TOOL ": another rhannu-agent is running on %s (pid %ld)\n", data,
                 (long) holder);
        return 1;
    }
    umask (027);
    rh_config_log (config, rh_config_str (config, "agency/id"));
    struct sigaction action = { 0 };
    action.sa_handler = s_on_signal;
    sigemptyset (&action.sa_mask);
    sigaction (SIGINT, &action, NULL);
    sigaction (SIGTERM, &action, NULL);
    signal (SIGPIPE, SIG_IGN);
    rh_agent_t *agent = rh_agent_new (config);
    int rc = 1;
    if (agent) {
        rc = rh_agent_run (agent, &s_stop) == 0 ? 0 : 3;
        rh_agent_destroy (&agent);
    }
    return rc;
}

static int
s_send_command (rh_config_t *config, const char *const *files, int file_count)
{
    int rc = 0;
    for (int i = 0; i < file_count; i++)
        if (s_send (config, files [i]) != 0)
            rc = 1;
    return rc;
}

static int
s_inbox_command (rh_config_t *config, const char *const *files, int file_count)
{
    (void) files, (void) file_count;
    return s_inbox (config);
}

static int
s_status_command (rh_config_t *config, const char *const *files, int file_count)
{
    (void) files, (void) file_count;
    return s_status (config);
}

//  The commands: a new one is a row here and a function above. The first row is the agent
//  itself (no command word).
static const struct {
    const char *name;
    int (*run) (rh_config_t *config, const char *const *files, int file_count);
    bool files;  //  takes FILE arguments (at least one)
} s_commands [] = {
    { NULL, s_run, false },
    { "send", s_send_command, true },
    { "inbox", s_inbox_command, false },
    { "status", s_status_command, false },
};

enum { S_VERSION = 256 };

static const struct option s_options [] = {
    { "config", required_argument, NULL, 'f' },
    { "verbose", no_argument, NULL, 'v' },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, S_VERSION },
    { NULL, 0, NULL, 0 },
};

int
main (int argc, char **argv)
{
    //  One malloc arena per thread lets freed memory pile up across the verify workers and
    //  ZeroMQ's I/O thread; two arenas keep the resident set near what is actually in use.
    mallopt (M_ARENA_MAX, 2);
    const char *config_path = NULL, *command = NULL;
    const rh_cli_t cli = { .tool = S_TOOL,
                           .short_options = ":f:vh",
                           .options = s_options,
                           .version = S_VERSION,
                           .usage = s_usage,
                           .config = &config_path };
    int exit_code = 0;
    int k = RH_CLI_PARSE (&cli, argc, argv, s_commands, &command, &exit_code);
    if (k < 0)
        return exit_code;
    const char *shown = command ? command : "running the agent";
    int file_count = argc - optind;
    if (s_commands [k].files && file_count == 0)
        return rh_cli_error (S_TOOL, "%s needs FILE.json", shown);
    if (!s_commands [k].files && file_count > 0)
        return rh_cli_error (S_TOOL, "%s takes no argument '%.40s'", shown, argv [optind]);
    if (!config_path)
        return rh_cli_error (S_TOOL, "%s needs -f CONFIG", shown);
    char error [512] = "";
    rh_config_t *config = rh_config_load (rh_agent_config_spec, config_path, error, sizeof error);
    if (!config) {
        fprintf (stderr, S_TOOL ": configuration: %s\n", error);
        return 2;
    }
    rh_log_set_format_name (rh_config_str (config, "log/format"));
    int rc = s_commands [k].run (config, (const char *const *) argv + optind, file_count);
    rh_config_destroy (&config);
    return rc;
}
