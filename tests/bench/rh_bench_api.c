/*  =========================================================================
    rh-bench-api - throughput through the C API (librhannu-agent), one side

    rh-bench-api send CONFIG N BATCH      submits N referrals of ~1 KiB to newport's front door,
                                          BATCH per rh_agent_submit_batch, stepping in between,
                                          and steps on until every receipt has come back
    rh-bench-api receive CONFIG N         takes deliveries by callback until N referrals came

    Each prints one line of key=value fields when done (times are CLOCK_REALTIME ms, so the
    two processes' lines compare; cpu_us is the process's user+system CPU, every thread):
        send:    start_ms= submitted_ms= accepted_ms= receipts_ms= n= cpu_us= submit_us=
                 submit_wall_ms= (the time spent inside rh_agent_submit_batch)
        receive: first_ms= last_ms= n= cpu_us=
    and gives up (exit 1, with what it had) after RH_BENCH_API_TIMEOUT seconds (default 300),
    saying which counts stopped moving. Links only librhannu-agent.a and its public header.
    =========================================================================
*/
#include "rhannu_agent.h"

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

typedef struct {
    long target;
    long accepted, refused, receipts, received;
    int64_t first_ms, last_ms, accepted_ms, receipts_ms;
} s_state_t;

static int64_t
s_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long
s_cpu_us (void)
{
    struct rusage usage;
    getrusage (RUSAGE_SELF, &usage);
    return (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000000L + usage.ru_utime.tv_usec
           + usage.ru_stime.tv_usec;
}

static int
s_receive (void *arg, const char *msg_id, const char *json, size_t size)
{
    s_state_t *state = arg;
    (void) msg_id;
    (void) size;
    if (strstr (json, "\"kind\": \"REFERRAL\"")) {
        int64_t now = s_now_ms ();
        if (state->received++ == 0)
            state->first_ms = now;
        state->last_ms = now;
    }
    return 0;
}

static void
s_outcome (void *arg, int kind, const char *msg_id, const char *detail)
{
    s_state_t *state = arg;
    (void) msg_id;
    if (kind == RH_AGENT_ACCEPTED && ++state->accepted == state->target)
        state->accepted_ms = s_now_ms ();
    else if (kind == RH_AGENT_REFUSED && state->refused++ == 0)
        fprintf (stderr, "rh-bench-api: refused: %s\n", detail);
    else if (kind == RH_AGENT_RECEIPT && ++state->receipts == state->target)
        state->receipts_ms = s_now_ms ();
}

int
main (int argc, char **argv)
{
    if (argc < 4 || (strcmp (argv [1], "send") && strcmp (argv [1], "receive"))
        || (!strcmp (argv [1], "send") && argc < 5)) {
        fprintf (stderr, "usage: rh-bench-api send CONFIG N BATCH | receive CONFIG N\n");
        return 2;
    }
    bool sending = strcmp (argv [1], "send") == 0;
    s_state_t state = { .target = atol (argv [3]) };
    long batch = sending ? atol (argv [4]) : 0;
    const char *limit = getenv ("RH_BENCH_API_TIMEOUT");
    int64_t deadline = s_now_ms () + (limit ? atol (limit) : 300) * 1000;
    char error [512];
    rh_agent_t *agent = rh_agent_open (argv [2], error, sizeof error);
    if (!agent || state.target <= 0 || (sending && batch <= 0)) {
        fprintf (stderr, "rh-bench-api: %s\n", agent ? "N and BATCH must be positive" : error);
        rh_agent_destroy (&agent);
        return 2;
    }
    rh_agent_on_receive (agent, s_receive, &state);
    rh_agent_on_outcome (agent, s_outcome, &state);
    int rc = 0;
    if (sending) {
        //  ~1 KiB referrals, as the other benches send, each its own case.
        char pad [701];
        memset (pad, 'x', 700);
        pad [700] = 0;
        char (*texts) [1400] = calloc ((size_t) batch, sizeof *texts);
        const char **json = calloc ((size_t) batch, sizeof *json);
        size_t *sizes = calloc ((size_t) batch, sizeof *sizes);
        if (!texts || !json || !sizes)
            return 2;
        //  Let the agent connect first: the figure is the pipeline's, not the handshake's.
        for (int i = 0; i < 20; i++)
            rh_agent_step (agent, 50);
        int64_t start = s_now_ms ();
        long cpu_start = s_cpu_us (), submit_us = 0;
        int64_t submit_wall_ms = 0;
        long sent = 0;
        while (sent < state.target && rc == 0) {
            long count = state.target - sent < batch ? state.target - sent : batch;
            for (long i = 0; i < count; i++) {
                int length = snprintf (
                    texts [i], sizeof texts [i],
                    "{\"kind\":\"REFERRAL\",\"to\":[{\"front_door_la\":\"newport\"}],"
                    "\"case_id\":\"api-%lld-%ld\",\"purpose\":\"SAFEGUARDING_CHILD\","
                    "\"body\":{\"referral_kind\":\"PPN\",\"categories\":[\"DOMESTIC_ABUSE\"],"
                    "\"subjects\":[{\"kind\":\"CHILD\",\"home_la\":\"newport\"}],"
                    "\"consent\":{\"state\":\"NOT_REQUIRED_SIGNIFICANT_HARM\",\"family_aware\":"
                    "true},\"narrative\":\"%s\"}}",
                    (long long) start, sent + i, pad);
                json [i] = texts [i];
                sizes [i] = (size_t) length;
            }
            long before = s_cpu_us ();
            int64_t wall_before = s_now_ms ();
            if (rh_agent_submit_batch (agent, (size_t) count, json, sizes, NULL, error,
                                       sizeof error)
                != RH_AGENT_OK) {
                fprintf (stderr, "rh-bench-api: submit: %s\n", error);
                rc = 1;
            }
            submit_us += s_cpu_us () - before;
            submit_wall_ms += s_now_ms () - wall_before;
            sent += count;
            //  Between batches the agent sends, takes acknowledgements and receipts.
            if (rh_agent_step (agent, 0) != 0)
                rc = 1;
        }
        int64_t submitted = s_now_ms ();
        while (rc == 0 && state.receipts + state.refused < state.target) {
            if (rh_agent_step (agent, 100) != 0 || s_now_ms () > deadline) {
                fprintf (stderr,
                         "rh-bench-api: gave up with %ld accepted, %ld refused, %ld receipts of "
                         "%ld\n",
                         state.accepted, state.refused, state.receipts, state.target);
                rc = 1;
            }
        }
        printf ("start_ms=%lld submitted_ms=%lld accepted_ms=%lld receipts_ms=%lld n=%ld "
                "refused=%ld cpu_us=%ld submit_us=%ld submit_wall_ms=%lld\n",
                (long long) start, (long long) submitted, (long long) state.accepted_ms,
                (long long) state.receipts_ms, state.target, state.refused, s_cpu_us () - cpu_start,
                submit_us, (long long) submit_wall_ms);
        free (texts);
        free (json);
        free (sizes);
    }
    else {
        long cpu_start = s_cpu_us ();
        while (state.received < state.target) {
            if (rh_agent_step (agent, 100) != 0 || s_now_ms () > deadline) {
                fprintf (stderr, "rh-bench-api: gave up with %ld of %ld received\n", state.received,
                         state.target);
                rc = 1;
                break;
            }
        }
        //  A little longer, so that the last acknowledgements leave before the agent stops.
        for (int i = 0; i < 5; i++)
            rh_agent_step (agent, 20);
        printf ("first_ms=%lld last_ms=%lld n=%ld cpu_us=%ld\n", (long long) state.first_ms,
                (long long) state.last_ms, state.received, s_cpu_us () - cpu_start);
    }
    fflush (stdout);
    rh_agent_destroy (&agent);
    return rc;
}
