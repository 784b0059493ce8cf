/*  =========================================================================
    rh-bench-latency - end-to-end latency at a steady offered rate

    rh-bench-latency RATE COUNT INBOX OUTBOX...

    Drops COUNT referrals (~1 KiB) into the outboxes, round robin, at RATE
    per second (write to .tmp, rename: as an agency system would), then
    waits for every one of them in INBOX. Latency is from the rename into
    the outbox to the inbox file's modification time (written by the
    receiving agent's durable commit, when the file appears in INBOX
    (inotify IN_MOVED_TO). Prints median, p90, p99 and max. Part of make
    bench, never of make check.
    =========================================================================
*/
#include "rh_lib.h"

static int
s_compare (const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return x < y ? -1 : x > y;
}

static int64_t
s_now_us (void)
{
    struct timespec now;
    clock_gettime (CLOCK_REALTIME, &now);
    return (int64_t) now.tv_sec * 1000000 + now.tv_nsec / 1000;
}

int
main (int argc, char **argv)
{
    if (argc < 5) {
        fprintf (stderr, "usage: rh-bench-latency RATE COUNT INBOX OUTBOX...\n");
        return 2;
    }
    int rate = atoi (argv [1]), count = atoi (argv [2]);
    const char *inbox = argv [3];
    int outboxes = argc - 4;
    int64_t *dropped = calloc ((size_t) count, sizeof *dropped);
    int64_t *latency = calloc ((size_t) count, sizeof *latency);
    char pad [701];
    memset (pad, 'x', 700);
    pad [700] = 0;
    //  Arrivals: file names as they are renamed into the inbox, with the time.
    int watch = inotify_init1 (IN_NONBLOCK | IN_CLOEXEC);
    if (watch < 0 || inotify_add_watch (watch, inbox, IN_MOVED_TO) < 0)
        return 1;
    char (*names) [NAME_MAX + 1] = calloc ((size_t) count * 2, sizeof *names);
    int64_t *arrived = calloc ((size_t) count * 2, sizeof *arrived);
    int seen = 0;
    char events [65536];
#define S_DRAIN()                                                                                  \
    for (ssize_t got; (got = read (watch, events, sizeof events)) > 0;) {                          \
        int64_t when = s_now_us ();                                                                \
        for (char *at = events; at < events + got;) {                                              \
            struct inotify_event *event = (struct inotify_event *) at;                             \
            if (event->len && event->name [0] != '.' && seen < count * 2) {                        \
                snprintf (names [seen], NAME_MAX + 1, "%s", event->name);                          \
                arrived [seen++] = when;                                                           \
            }                                                                                      \
            at += sizeof *event + event->len;                                                      \
        }                                                                                          \
    }
    int64_t start = s_now_us ();
    for (int i = 0; i < count; i++) {
        int64_t due = start + (int64_t) i * 1000000 / rate;
        while (s_now_us () < due) {
            S_DRAIN ();
            usleep (50);
        }
        const char *outbox = argv [4 + i % outboxes];
        char tmp [PATH_MAX], path [PATH_MAX], text [2048];
        //  The referral every benchmark sends: one the agreements must decide, not a stub.
        int length = snprintf (
            text, sizeof text,
            "{\"kind\":\"REFERRAL\",\"to\":[{\"front_door_la\":\"newport\"}],"
            "\"case_id\":\"lat-%d\",\"purpose\":\"SAFEGUARDING_CHILD\",\"body\":{"
            "\"referral_kind\":\"PPN\",\"categories\":[\"DOMESTIC_ABUSE\"],"
            "\"subjects\":[{\"kind\":\"CHILD\",\"home_la\":\"newport\"}],"
            "\"consent\":{\"state\":\"NOT_REQUIRED_SIGNIFICANT_HARM\",\"family_aware\":true},"
            "\"narrative\":\"%s\"}}",
            i, pad);
        rh_file_path (tmp, sizeof tmp, "%s/.tmp/lat-%d.json", outbox, i);
        rh_file_path (path, sizeof path, "%s/lat-%d.json", outbox, i);
        FILE *out = fopen (tmp, "w");
        if (!out)
            return 1;
        fwrite (text, 1, (size_t) length, out);
        fclose (out);
        dropped [i] = s_now_us ();
        rename (tmp, path);
    }
    int64_t deadline = s_now_us () + 120 * 1000000LL;
    while (seen < count && s_now_us () < deadline) {
        S_DRAIN ();
        usleep (200);
    }
    int matched = 0;
    for (int k = 0; k < seen; k++) {
        char path [PATH_MAX];
        rh_file_path (path, sizeof path, "%s/%s", inbox, names [k]);
        json_t *root = json_load_file (path, 0, NULL);
        const char *case_id = json_string_value (json_object_get (root, "case_id"));
        int index = -1;
        if (case_id && sscanf (case_id, "lat-%d", &index) == 1 && index >= 0 && index < count
            && latency [index] == 0) {
            latency [index] = arrived [k] - dropped [index];
            matched++;
        }
        json_decref (root);
    }
    if (matched < count) {
        printf ("latency: only %d of %d arrived\n", matched, count);
        return 1;
    }
    qsort (latency, (size_t) count, sizeof *latency, s_compare);
    printf ("bench latency: %d messages at %d/s offered: median %.2f ms, p90 %.2f ms, p99 %.2f ms, "
            "max %.2f ms\n",
            count, rate, latency [count / 2] / 1000.0, latency [count * 9 / 10] / 1000.0,
            latency [count * 99 / 100] / 1000.0, latency [count - 1] / 1000.0);
    free (dropped);
    free (latency);
    free (names);
    free (arrived);
    close (watch);
    return 0;
}
