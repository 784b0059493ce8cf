/*  =========================================================================
    rh_status - rhannu-broker status: the running broker's queues, per agency

    Asks the running broker (its /status, served on metrics/listen) and
    prints one line per agency: connected, queued, the oldest message's age
    and dead letters. A broker that is not running is told apart from one
    that does not answer by its store's lock.
    =========================================================================
*/
#ifndef RH_STATUS_H_INCLUDED
#define RH_STATUS_H_INCLUDED

//  Prints the status document json (what /status serves) as a table on out. now_ms is the time
//  ages are measured to (the broker's own clock, from the document, when 0). Returns 0, or -1
//  if json is not a status document.
int rh_status_print (const char *json, size_t size, int64_t now_ms, FILE *out);

//  The status of the broker config names, asked at url (a base URL such as
//  http://127.0.0.1:9464; NULL: from metrics/listen). Prints the table on out, or one line
//  saying why not on err. Returns the exit code: 0 printed, 1 not running or not answering,
//  2 metrics/listen is not set and no url was given.
int rh_status_query (rh_config_t *config, const char *url, FILE *out, FILE *err);

#endif
