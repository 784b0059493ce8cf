/*  =========================================================================
    rh-api-example - a small case system that links the agent instead of
    writing spool files (the documentation example of rhannu_agent.h)

    rh-api-example send CONFIG FILE...     submit the files as one batch and exit
    rh-api-example crash CONFIG FILE...    the same, then die by SIGKILL as soon as it returns
    rh-api-example run CONFIG [-d N] [FILE...]
                                           submit the files, then take deliveries until
                                           SIGTERM (declining the first N)

    It prints one line per event, for the tests to read:
        submitted MSG_ID              the message is in the durable outbox
        invalid REASON                refused before anything was taken
        received MSG_ID KIND          a delivery, kept (the case system's own store would go here)
        declined MSG_ID               a delivery refused by our callback: the broker keeps it
        outcome WHAT MSG_ID DETAIL    news about what we sent (ACCEPTED, REFUSED, RECEIPT, ...)

    It includes nothing of rhannu but rhannu_agent.h.
    =========================================================================
*/
#include "rhannu_agent.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile sig_atomic_t s_stop;

static void
s_on_signal (int signal_number)
{
    (void) signal_number;
    s_stop = 1;
}

//  What the case system remembers: here only how many deliveries it should still decline.
typedef struct {
    int decline;
} s_case_system_t;

//  The message's kind, read from the JSON (a real case system would parse it).
static void
s_kind (const char *json, char *kind, size_t size)
{
    const char *found = strstr (json, "\"kind\": \"");
    snprintf (kind, size, "?");
    if (found)
        snprintf (kind, size, "%.*s", (int) strcspn (found + 9, "\""), found + 9);
}

//  Keeps a delivery. Returning 0 tells the agent it is safe with us: only then is the broker
//  told. Anything else leaves it with the broker, which offers it again.
static int
s_receive (void *arg, const char *msg_id, const char *json, size_t size)
{
    s_case_system_t *system = arg;
    (void) size;
    if (system->decline > 0) {
        system->decline--;
        printf ("declined %s\n", msg_id);
        return -1;
    }
    char kind [32];
    s_kind (json, kind, sizeof kind);
    printf ("received %s %s\n", msg_id, kind);
    return 0;
}

static void
s_outcome (void *arg, int what, const char *msg_id, const char *detail)
{
    (void) arg;
    static const char *names [] = { "?", "ACCEPTED", "REFUSED", "RECEIPT", "DECISION", "UPDATE" };
    printf ("outcome %s %s %s\n", what >= 1 && what <= 5 ? names [what] : "?", msg_id, detail);
}

//  Reads a whole file into memory. Returns a string (free()) or NULL.
static char *
s_read (const char *path, size_t *size)
{
    FILE *file = fopen (path, "rb");
    char *text = NULL;
    if (file && fseek (file, 0, SEEK_END) == 0) {
        long length = ftell (file);
        rewind (file);
        text = length >= 0 ? malloc ((size_t) length + 1) : NULL;
        if (text && fread (text, 1, (size_t) length, file) != (size_t) length) {
            free (text);
            text = NULL;
        }
        if (text) {
            text [length] = 0;
            *size = (size_t) length;
        }
    }
    if (file)
        fclose (file);
    return text;
}

//  Submits the files as one batch: durable when it returns 0. Returns 0, or the submit's error.
static int
s_submit_files (rh_agent_t *agent, int count, char **paths)
{
    if (count == 0)
        return 0;
    const char **json = calloc ((size_t) count, sizeof *json);
    size_t *sizes = calloc ((size_t) count, sizeof *sizes);
    char (*ids) [RH_AGENT_ID_SIZE] = calloc ((size_t) count, sizeof *ids);
    int rc = json && sizes && ids ? 0 : RH_AGENT_E_MEMORY;
    for (int i = 0; rc == 0 && i < count; i++)
        if (!(json [i] = s_read (paths [i], &sizes [i]))) {
            fprintf (stderr, "cannot read %s\n", paths [i]);
            rc = RH_AGENT_E_INVALID;
        }
    char error [512] = "";
    if (rc == 0)
        rc = rh_agent_submit_batch (agent, (size_t) count, json, sizes, ids, error, sizeof error);
    if (rc == 0)
        for (int i = 0; i < count; i++)
            printf ("submitted %s\n", ids [i]);
    else if (rc == RH_AGENT_E_INVALID && *error)
        printf ("invalid %s\n", error);
    else if (*error)
        printf ("error %d %s\n", rc, error);
    fflush (stdout);
    for (int i = 0; json && i < count; i++)
        free ((char *) json [i]);
    free (json);
    free (sizes);
    free (ids);
    return rc;
}

int
main (int argc, char **argv)
{
    if (argc < 3) {
        fprintf (stderr, "usage: rh-api-example send|crash|run CONFIG [-d N] [FILE...]\n");
        return 2;
    }
    setvbuf (stdout, NULL, _IOLBF, 0);
    const char *command = argv [1];
    s_case_system_t system = { 0 };
    int first_file = 3;
    if (argc > 4 && strcmp (argv [3], "-d") == 0) {
        system.decline = atoi (argv [4]);
        first_file = 5;
    }
    char error [512];
    rh_agent_t *agent = rh_agent_open (argv [2], error, sizeof error);
    if (!agent) {
        fprintf (stderr, "rh-api-example: %s\n", error);
        return 1;
    }
    rh_agent_on_receive (agent, s_receive, &system);
    rh_agent_on_outcome (agent, s_outcome, &system);
    int rc = s_submit_files (agent, argc - first_file, argv + first_file);
    if (strcmp (command, "crash") == 0 && rc == 0)
        raise (SIGKILL);  //  nothing more: what submit returned must survive this
    if (strcmp (command, "run") == 0) {
        signal (SIGTERM, s_on_signal);
        signal (SIGINT, s_on_signal);
        //  The case system's own loop: here it does nothing but let the agent work.
        while (!s_stop && rh_agent_step (agent, 100) == 0)
            ;
    }
    rh_agent_destroy (&agent);
    return rc == 0 ? 0 : 1;
}
