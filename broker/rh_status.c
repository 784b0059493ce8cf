/*  =========================================================================
    rh_status - rhannu-broker status: the running broker's queues, per agency

    A client of the broker's own HTTP endpoint (libcurl, as rh_cosigner),
    bounded in time and size: the broker answers in milliseconds or not at
    all, and a status document is small.
    =========================================================================
*/
#include "rh_broker_classes.h"
#include <curl/curl.h>

#define S_STATUS_TIMEOUT_MS 5000       //  the broker's monitor answers in 2 s or says 503
#define S_STATUS_MAX        (4 << 20)  //  bytes of status document read at most

typedef struct {
    char *data;  //  what arrived, NUL-terminated
    size_t size;
    bool too_large;
} s_body_t;

static size_t
s_collect (char *bytes, size_t one, size_t count, void *arg)
{
    s_body_t *body = arg;
    size_t size = one * count;
    if (body->size + size > S_STATUS_MAX) {
        body->too_large = true;
        return 0;  //  curl stops with an error
    }
    char *grown = realloc (body->data, body->size + size + 1);
    if (!grown)
        return 0;
    memcpy (grown + body->size, bytes, size);
    body->data = grown;
    body->size += size;
    body->data [body->size] = 0;
    return size;
}

//  "-", "45s", "12m 3s", "5h 2m", "3d 4h": an age a person reads at a glance.
static void
s_age (int64_t ms, char *text, size_t size)
{
    int64_t s = ms / 1000;
    if (ms <= 0)
        snprintf (text, size, "-");
    else if (s < 60)
        snprintf (text, size, "%" PRId64 "s", s);
    else if (s < 3600)
        snprintf (text, size, "%" PRId64 "m %" PRId64 "s", s / 60, s % 60);
    else if (s < 86400)
        snprintf (text, size, "%" PRId64 "h %" PRId64 "m", s / 3600, s % 3600 / 60);
    else
        snprintf (text, size, "%" PRId64 "d %" PRId64 "h", s / 86400, s % 86400 / 3600);
}

int
rh_status_print (const char *json, size_t size, int64_t now_ms, FILE *out)
{
    assert (json && out);
    json_t *root = json_loadb (json, size, 0, NULL);
    json_t *agencies = json_object_get (root, "agencies");
    const char *broker = json_string_value (json_object_get (root, "broker"));
    if (!root || !json_is_array (agencies) || !broker) {
        json_decref (root);
        return -1;
    }
    if (now_ms == 0)
        now_ms = (int64_t) json_integer_value (json_object_get (root, "now_ms"));
    const char *not_ready = json_string_value (json_object_get (root, "not_ready"));
    if (not_ready)
        fprintf (out, "broker %s: running, NOT READY: %s\n", broker, not_ready);
    else
        fprintf (out, "broker %s: running, ready\n", broker);
    fprintf (out, "%-32s %-9s %8s %-10s %12s\n", "AGENCY", "CONNECTED", "QUEUED", "OLDEST",
             "DEAD LETTERS");
    size_t index;
    json_t *entry;
    json_array_foreach (agencies, index, entry)
    {
        const char *agency = json_string_value (json_object_get (entry, "agency"));
        if (!agency)
            continue;
        int64_t oldest = (int64_t) json_integer_value (json_object_get (entry, "oldest_ms"));
        char age [32], queued [32];
        //  Bytes from the network: only a time in the past is an age (no overflow either).
        s_age (oldest > 0 && oldest <= now_ms ? now_ms - oldest : 0, age, sizeof age);
        snprintf (queued, sizeof queued, "%s%" JSON_INTEGER_FORMAT,
                  json_is_true (json_object_get (entry, "queued_capped")) ? "~" : "",
                  json_integer_value (json_object_get (entry, "queued")));
        fprintf (out, "%-32s %-9s %8s %-10s %12" JSON_INTEGER_FORMAT "\n", agency,
                 json_is_true (json_object_get (entry, "connected")) ? "yes" : "no", queued, age,
                 json_integer_value (json_object_get (entry, "dead_letters")));
    }
    if (json_array_size (agencies) == 0)
        fprintf (out, "(no agency has connected or been sent anything yet)\n");
    json_decref (root);
    return 0;
}

//  True if a process holds the LevelDB lock in dir: a broker runs on it. Asks without taking
//  the lock (F_GETLK), as the dead-letter tool does.
static bool
s_store_in_use (const char *dir)
{
    char path [PATH_MAX];
    rh_file_path (path, sizeof path, "%s/LOCK", dir);
    int fd = open (path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return false;
    struct flock lock = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
    bool locked = fcntl (fd, F_GETLK, &lock) == 0 && lock.l_type != F_UNLCK;
    close (fd);
    return locked;
}

int
rh_status_query (rh_config_t *config, const char *url, FILE *out, FILE *err)
{
    assert (config && out && err);
    const char *dir = rh_config_str (config, "data/dir");
    const char *listen = rh_config_str (config, "metrics/listen");
    char address [512];
    if (url)
        snprintf (address, sizeof address, "%s/status", url);
    else if (*listen)
        snprintf (address, sizeof address, "http://%s/status", listen);
    else {
        fprintf (err, "rhannu-broker status: metrics/listen is not set, so the broker serves no "
                      "status (set it, e.g. 127.0.0.1:9464, and restart; or give --metrics URL)\n");
        return 2;
    }
    CURL *curl = curl_easy_init ();
    s_body_t body = { 0 };
    long code = 0;
    CURLcode rc = CURLE_FAILED_INIT;
    if (curl) {
        curl_easy_setopt (curl, CURLOPT_URL, address);
        curl_easy_setopt (curl, CURLOPT_TIMEOUT_MS, (long) S_STATUS_TIMEOUT_MS);
        curl_easy_setopt (curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt (curl, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt (curl, CURLOPT_WRITEFUNCTION, s_collect);
        curl_easy_setopt (curl, CURLOPT_WRITEDATA, &body);
        rc = curl_easy_perform (curl);
        curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &code);
        curl_easy_cleanup (curl);
    }
    int status = 1;
    if (rc == CURLE_OK && code == 200 && body.data
        && rh_status_print (body.data, body.size, 0, out) == 0)
        status = 0;
    else if (rc == CURLE_COULDNT_CONNECT && !s_store_in_use (dir))
        fprintf (err, "rhannu-broker status: the broker is not running (%s is not in use)\n", dir);
    else if (rc != CURLE_OK)
        fprintf (err, "rhannu-broker status: no answer from %s: %s\n", address,
                 body.too_large ? "the answer is too large" : curl_easy_strerror (rc));
    else if (code != 200)
        fprintf (err, "rhannu-broker status: %s answered %ld: %.200s", address, code,
                 body.data && *body.data ? body.data : "(no reason given)\n");
    else
        fprintf (err, "rhannu-broker status: %s did not answer with a broker status\n", address);
    free (body.data);
    return status;
}
