/*  =========================================================================
    rh_monitor - metrics and health over HTTP, served beside an event loop

    The HTTP server (libmicrohttpd) runs in its own thread and shares nothing
    with the loop that owns the figures: for each request it asks the owner
    over an inproc socket and waits at most RH_MONITOR_ANSWER_MS for the
    answer; a loop that does not answer in time is reported as 503 (which
    is exactly what /healthz is for). The owner polls rh_monitor_socket and
    calls rh_monitor_answer, which never blocks.

    Hostile traffic costs a bounded amount: at most
    RH_MONITOR_MAX_CONNECTIONS connections, each closed after
    RH_MONITOR_TIMEOUT_S idle, a small per-connection memory pool, only GET
    and HEAD of the paths the owner named (anything else is answered by the
    HTTP thread without asking the loop), and an answer is reused for
    RH_MONITOR_CACHE_MS, so the loop renders each path at most once a
    second however fast it is asked.
    =========================================================================
*/
#ifndef RH_MONITOR_H_INCLUDED
#define RH_MONITOR_H_INCLUDED

#define RH_MONITOR_MAX_CONNECTIONS 16     //  HTTP connections served at once
#define RH_MONITOR_TIMEOUT_S       10     //  an idle connection is closed after this
#define RH_MONITOR_MEMORY_LIMIT    32768  //  bytes of buffer per connection
#define RH_MONITOR_ANSWER_MS       2000   //  the owner's loop must answer within this
#define RH_MONITOR_CACHE_MS        1000   //  an answer is reused for this long
#define RH_MONITOR_MAX_PATHS       8      //  paths one monitor serves

typedef struct _rh_monitor_t rh_monitor_t;

//  The owner's answer to one request. body is malloc'd by the owner's function and freed by
//  rh_monitor_answer (NULL: an empty body).
typedef struct {
    int status;        //  HTTP status, e.g. 200 or 503
    const char *type;  //  content type, a static string
    char *body;
    size_t size;
} rh_monitor_reply_t;

//  Fills reply for path (one of the paths the monitor was made with).
typedef void (rh_monitor_fn) (void *arg, const char *path, rh_monitor_reply_t *reply);

#define RH_MONITOR_PROMETHEUS "text/plain; version=0.0.4; charset=utf-8"
#define RH_MONITOR_TEXT       "text/plain; charset=utf-8"
#define RH_MONITOR_JSON       "application/json"

//  Checks a listen address, "HOST:PORT" with HOST an IPv4 address, [IPv6] or localhost: a host
//  that is not loopback is refused unless allow_remote. Fills address (may be NULL). Returns 0,
//  or -1 with the reason in error.
int rh_monitor_parse_listen (const char *listen, bool allow_remote,
                             struct sockaddr_storage *address, char *error, size_t error_size);

//  Starts serving GET of paths (NULL-terminated, at most RH_MONITOR_MAX_PATHS) on listen, asking
//  the owner (this thread, through rh_monitor_socket) for each answer. context is the owner's
//  ZeroMQ context. Returns NULL with the reason in error on failure.
rh_monitor_t *rh_monitor_new (void *context, const char *listen, bool allow_remote,
                              const char *const *paths, char *error, size_t error_size);

//  Stops the HTTP thread (waiting for it) and frees everything.
void rh_monitor_destroy (rh_monitor_t **self_p);

//  The owner's socket: readable when a request waits for rh_monitor_answer.
void *rh_monitor_socket (rh_monitor_t *self);

//  Answers every request waiting, calling fn for each. Never blocks. Returns how many.
int rh_monitor_answer (rh_monitor_t *self, rh_monitor_fn *fn, void *arg);

#endif
