/*  =========================================================================
    rhannu-witness - a C2SP tlog-witness a regional board can run

    rhannu-witness -f CONFIG [-v]         serve POST /add-checkpoint
    rhannu-witness keygen NAME KEYFILE    make the witness key (0600), print its vkey
    rhannu-witness vkey -f CONFIG         print the witness's vkey
    rhannu-witness -h | --version         help, including every configuration key

    HTTP is libmicrohttpd's, with one polling thread (requests are handled
    one at a time, which is also what keeps check-then-store atomic),
    bounded connections, a connection timeout and a bounded body.
    =========================================================================
*/
#include "rh_witness_classes.h"
//  Only this binary speaks HTTP, so its server's header is here rather than in lib's prelude.
#include <microhttpd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#define S_TOOL       "rhannu-witness"
#define S_KEY_PREFIX "PRIVATE+KEY+"  //  the key file: PRIVATE+KEY+name+hex id+base64(0x04||seed)

static const rh_cfg_spec_t s_spec [] = {
    //  key                     type         min  max     default      required
    { "witness/name", RH_CFG_STR, 0, 0, NULL, true,
      "the witness's key name, e.g. witness.gwent.example/w1" },
    { "witness/key", RH_CFG_STR, 0, 0, NULL, true,
      "key file made by rhannu-witness keygen (mode 0600)" },
    { "witness/state", RH_CFG_STR, 0, 0, NULL, true,
      "folder of the latest cosigned checkpoint per log (created 0700)" },
    { "logs/vkeys", RH_CFG_STR, 0, 0, NULL, true,
      "the logs' Ed25519 vkeys, separated by spaces; a key's name is its log's origin" },
    { "log/format", RH_CFG_ENUM, 0, 0, "text", false,
      "how operator log lines are written: text, or one JSON object per line {text|json}" },
    { "http/address", RH_CFG_STR, 0, 0, "127.0.0.1", false, "IPv4 address to listen on" },
    { "http/port", RH_CFG_INT, 1, 65535, "7380", false, "TCP port to listen on" },
    { "http/max_connections", RH_CFG_INT, 1, 1024, "32", false, "connections served at once" },
    { "http/timeout_s", RH_CFG_INT, 1, 600, "10", false, "idle connections are closed after" },
    { NULL }
};

//  One request being read: its body so far, bounded by RH_NOTE_MAX_SIZE.
typedef struct {
    uint8_t *body;   //  bytes received
    size_t size;     //  how many
    bool too_large;  //  more than RH_NOTE_MAX_SIZE arrived: answered 413
} s_request_t;

static void
s_usage (FILE *out)
{
    fprintf (out, "usage: rhannu-witness -f CONFIG [-v]        serve POST /add-checkpoint\n"
                  "       rhannu-witness keygen NAME KEYFILE   make the key, print its vkey\n"
                  "       rhannu-witness vkey -f CONFIG        print the witness's vkey\n"
                  "       rhannu-witness -h | --help | --version\n"
                  "\nOptions: -f, --config FILE   -v, --verbose (debug log)\n"
                  "\nConfiguration keys (YAML, section/key):\n");
    rh_config_print_spec (s_spec, out);
}

//  Writes a new key for name into path (0600, refusing to overwrite) and prints its vkey.
static int
s_keygen (const char *name, const char *path)
{
    if (!rh_note_name_valid (name)) {
        fprintf (stderr, "rhannu-witness: %s is not a valid key name\n", name);
        return 1;
    }
    if (rh_file_exists (path)) {
        fprintf (stderr, "rhannu-witness: %s exists: not overwriting a key\n", path);
        return 1;
    }
    uint8_t seed [32], public_key [RH_PUBKEY_LEN], secret [RH_NOTE_SECRET_LEN];
    randombytes_buf (seed, sizeof seed);
    crypto_sign_seed_keypair (public_key, secret, seed);
    rh_note_vkey_t vkey;
    rh_note_vkey_make (name, RH_NOTE_TYPE_COSIGNATURE, public_key, &vkey);
    uint8_t raw [33];
    raw [0] = RH_NOTE_TYPE_COSIGNATURE;
    memcpy (raw + 1, seed, 32);
    char b64 [64], text [RH_NOTE_MAX_NAME + 128], vkey_text [RH_NOTE_MAX_VKEY + 1];
    sodium_bin2base64 (b64, sizeof b64, raw, sizeof raw, sodium_base64_VARIANT_ORIGINAL);
    int n = snprintf (text, sizeof text, S_KEY_PREFIX "%s+%08" PRIx32 "+%s\n", name, vkey.id, b64);
    mode_t old = umask (077);
    int rc = rh_file_write_atomic (path, text, (size_t) n, 0600);
    umask (old);
    sodium_memzero (seed, sizeof seed);
    sodium_memzero (secret, sizeof secret);
    sodium_memzero (raw, sizeof raw);
    sodium_memzero (text, sizeof text);
    if (rc != 0 || rh_note_vkey_format (&vkey, vkey_text, sizeof vkey_text) != 0) {
        fprintf (stderr, "rhannu-witness: cannot write %s\n", path);
        return 1;
    }
    printf ("%s\n", vkey_text);
    return 0;
}

//  Reads the key file (0600 or narrower) for name into secret. Returns 0 or -1.
static int
s_load_key (const char *path, const char *name, uint8_t secret [RH_NOTE_SECRET_LEN])
{
    uint8_t *data = NULL;
    size_t size = 0;
    if (rh_file_read_secret (path, 1024, &data, &size) != 0) {
        rh_log_error ("witness", "cannot read key %s (missing, or mode wider than 0600)", path);
        return -1;
    }
    int rc = -1;
    char *text = (char *) data;
    while (size > 0 && text [size - 1] == '\n')
        text [--size] = 0;
    size_t prefix = strlen (S_KEY_PREFIX);
    uint8_t raw [33 + 2], public_key [RH_PUBKEY_LEN];
    size_t got = 0;
    rh_note_vkey_t vkey;
    const char *plus = NULL;
    if (size > prefix && memcmp (text, S_KEY_PREFIX, prefix) == 0
        && (plus = strchr (text + prefix, '+')) != NULL && strlen (plus) > 10 && plus [9] == '+'
        && (plus += 9) != NULL
        && sodium_base642bin (raw, sizeof raw, plus + 1, strlen (plus + 1), NULL, &got, NULL,
                              sodium_base64_VARIANT_ORIGINAL)
               == 0
        && got == 33 && raw [0] == RH_NOTE_TYPE_COSIGNATURE) {
        crypto_sign_seed_keypair (public_key, secret, raw + 1);
        char expected [RH_NOTE_MAX_NAME + 32];
        rh_note_vkey_make (name, RH_NOTE_TYPE_COSIGNATURE, public_key, &vkey);
        snprintf (expected, sizeof expected, S_KEY_PREFIX "%s+%08" PRIx32 "+", name, vkey.id);
        if (strncmp (text, expected, strlen (expected)) == 0
            && (size_t) (plus + 1 - text) == strlen (expected))
            rc = 0;
        else
            rh_log_error ("witness", "key %s is not the key of %s", path, name);
    }
    else
        rh_log_error ("witness", "key %s is not a witness key", path);
    sodium_memzero (raw, sizeof raw);
    sodium_memzero (data, size);
    free (data);
    return rc;
}

//  Parses the space-separated log vkeys. Returns the count, or -1 (and logs which is bad).
static int
s_load_logs (const char *text, rh_note_vkey_t **logs)
{
    char *copy = strdup (text), *save = NULL;
    int count = 0;
    *logs = NULL;
    if (!copy)
        return -1;
    for (char *word = strtok_r (copy, " \t\n", &save); word;
         word = strtok_r (NULL, " \t\n", &save)) {
        rh_note_vkey_t *grown = realloc (*logs, (size_t) (count + 1) * sizeof **logs);
        if (!grown)
            goto fail;
        *logs = grown;
        if (rh_note_vkey_parse (word, &(*logs) [count]) != RH_OK
            || (*logs) [count].type != RH_NOTE_TYPE_ED25519) {
            rh_log_error ("witness", "logs/vkeys: entry %d is not an Ed25519 vkey", count + 1);
            goto fail;
        }
        count++;
    }
    free (copy);
    if (count == 0)
        rh_log_error ("witness", "logs/vkeys: no log keys");
    return count == 0 ? -1 : count;
fail:
    free (copy);
    free (*logs);
    *logs = NULL;
    return -1;
}

static enum MHD_Result
s_respond (struct MHD_Connection *connection, int status, const char *type, const char *body,
           size_t size)
{
    struct MHD_Response *response =
        MHD_create_response_from_buffer (size, (void *) body, MHD_RESPMEM_MUST_COPY);
    if (!response)
        return MHD_NO;
    MHD_add_response_header (response, "Content-Type", type);
    enum MHD_Result rc = MHD_queue_response (connection, (unsigned) status, response);
    MHD_destroy_response (response);
    return rc;
}

static enum MHD_Result
s_handle (void *cls, struct MHD_Connection *connection, const char *url, const char *method,
          const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    (void) version;
    rh_witness_t *witness = cls;
    const char *text = "text/plain; charset=utf-8";
    if (strcmp (url, "/add-checkpoint") != 0)
        return s_respond (connection, 404, text, "not found\n", 10);
    if (strcmp (method, "POST") != 0)
        return s_respond (connection, 405, text, "POST only\n", 10);
    s_request_t *request = *con_cls;
    if (!request) {
        request = calloc (1, sizeof *request);
        if (!request)
            return MHD_NO;
        *con_cls = request;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        //  Bounded: past the limit the rest is read and dropped, and the answer is 413.
        if (!request->too_large && request->size + *upload_data_size <= RH_NOTE_MAX_SIZE) {
            uint8_t *grown = realloc (request->body, request->size + *upload_data_size);
            if (!grown)
                return MHD_NO;
            request->body = grown;
            memcpy (request->body + request->size, upload_data, *upload_data_size);
            request->size += *upload_data_size;
        }
        else
            request->too_large = true;
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (request->too_large)
        return s_respond (connection, 413, text, "request too large\n", 18);
    rh_witness_reply_t reply;
    if (rh_witness_add_checkpoint (witness, request->body, request->size,
                                   (uint64_t) (rh_time_now_ms () / 1000), &reply)
        != 0)
        return MHD_NO;
    enum MHD_Result rc =
        s_respond (connection, reply.status, reply.content_type, reply.body, reply.size);
    free (reply.body);
    return rc;
}

static void
s_completed (void *cls, struct MHD_Connection *connection, void **con_cls,
             enum MHD_RequestTerminationCode code)
{
    (void) cls, (void) connection, (void) code;
    s_request_t *request = *con_cls;
    if (request) {
        free (request->body);
        free (request);
        *con_cls = NULL;
    }
}

static int
s_serve (rh_config_t *config)
{
    int rc = 1;
    uint8_t secret [RH_NOTE_SECRET_LEN];
    rh_note_vkey_t *logs = NULL;
    rh_witness_t *witness = NULL;
    struct MHD_Daemon *daemon = NULL;
    const char *name = rh_config_str (config, "witness/name");
    int count = s_load_logs (rh_config_str (config, "logs/vkeys"), &logs);
    if (count < 0 || s_load_key (rh_config_str (config, "witness/key"), name, secret) != 0)
        goto out;
    witness = rh_witness_new (name, secret, rh_config_str (config, "witness/state"), logs,
                              (size_t) count);
    sodium_memzero (secret, sizeof secret);
    if (!witness)
        goto out;
    struct sockaddr_in address = { .sin_family = AF_INET };
    address.sin_port = htons ((uint16_t) rh_config_int (config, "http/port"));
    if (inet_pton (AF_INET, rh_config_str (config, "http/address"), &address.sin_addr) != 1) {
        rh_log_error ("witness", "http/address is not an IPv4 address");
        goto out;
    }
    //  Signals are taken by sigwait below: block them before the server's thread starts.
    sigset_t signals;
    sigemptyset (&signals);
    sigaddset (&signals, SIGINT);
    sigaddset (&signals, SIGTERM);
    pthread_sigmask (SIG_BLOCK, &signals, NULL);
    daemon = MHD_start_daemon (
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL, s_handle, witness,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &address, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned) rh_config_int (config, "http/max_connections"), MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned) rh_config_int (config, "http/timeout_s"), MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t) 64 * 1024, MHD_OPTION_NOTIFY_COMPLETED, s_completed, NULL, MHD_OPTION_END);
    if (!daemon) {
        rh_log_error ("witness", "cannot listen on %s:%" PRId64,
                      rh_config_str (config, "http/address"), rh_config_int (config, "http/port"));
        goto out;
    }
    char vkey [RH_NOTE_MAX_VKEY + 1];
    rh_note_vkey_format (rh_witness_vkey (witness), vkey, sizeof vkey);
    rh_log_info ("witness", "witness %s listening on %s:%" PRId64 " for %d log(s); vkey %s", name,
                 rh_config_str (config, "http/address"), rh_config_int (config, "http/port"), count,
                 vkey);
    int signal_number = 0;
    sigwait (&signals, &signal_number);
    rh_log_info ("witness", "stopping");
    rc = 0;
out:
    if (daemon)
        MHD_stop_daemon (daemon);
    rh_witness_destroy (&witness);
    free (logs);
    return rc;
}

enum { S_VERSION = 256 };

static const struct option s_options [] = {
    { "config", required_argument, NULL, 'f' },
    { "verbose", no_argument, NULL, 'v' },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, S_VERSION },
    { NULL, 0, NULL, 0 },
};

//  The commands and the positional arguments each takes (the first row: serve).
static const struct {
    const char *name;
    int arguments;
    const char *shape;
} s_commands [] = {
    { NULL, 0, "" },
    { "keygen", 2, "NAME KEYFILE" },
    { "vkey", 0, "" },
};

int
main (int argc, char **argv)
{
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
    if (argc - optind != s_commands [k].arguments)
        return rh_cli_error (S_TOOL, "%s takes %s", command ? command : "serving",
                             *s_commands [k].shape ? s_commands [k].shape : "no arguments");
    if (command && !strcmp (command, "keygen"))
        return s_keygen (argv [optind], argv [optind + 1]);
    bool print_vkey = command && !strcmp (command, "vkey");
    if (!config_path)
        return rh_cli_error (S_TOOL, "%s needs -f CONFIG", command ? command : "serving");
    char error [512];
    rh_config_t *config = rh_config_load (s_spec, config_path, error, sizeof error);
    if (!config) {
        fprintf (stderr, "rhannu-witness: %s\n", error);
        return 1;
    }
    rh_log_set_format_name (rh_config_str (config, "log/format"));
    int rc;
    if (print_vkey) {
        uint8_t secret [RH_NOTE_SECRET_LEN];
        rh_note_vkey_t vkey;
        char text [RH_NOTE_MAX_VKEY + 1];
        const char *name = rh_config_str (config, "witness/name");
        rc = s_load_key (rh_config_str (config, "witness/key"), name, secret) == 0
                     && rh_note_vkey_make (name, RH_NOTE_TYPE_COSIGNATURE, secret + 32, &vkey)
                            == RH_OK
                     && rh_note_vkey_format (&vkey, text, sizeof text) == 0
                 ? 0
                 : 1;
        sodium_memzero (secret, sizeof secret);
        if (rc == 0)
            printf ("%s\n", text);
    }
    else {
        rh_config_log (config, "witness");
        rc = s_serve (config);
    }
    rh_config_destroy (&config);
    return rc;
}
