/*  =========================================================================
    rh_monitor - metrics and health over HTTP, served beside an event loop

    Requests go to the owner as one frame: an 8-byte request number then the
    path. Answers come back as three frames: the request number, "STATUS
    content-type", the body. libmicrohttpd runs one polling thread, so the
    HTTP side's socket is only ever used by that thread (after the owner
    made it, before the thread started); a late answer to a request that
    already timed out carries an old number and is dropped.
    =========================================================================
*/
#include "rh_lib.h"
//  Only the binaries that serve HTTP link libmicrohttpd: its header stays out of the prelude.
#include <microhttpd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

//  One path's last answer, reused for RH_MONITOR_CACHE_MS (HTTP thread only).
typedef struct {
    char path [64];  //  the URL path served
    int64_t at_ms;   //  when the answer came (0: never)
    int status;      //  its status
    char type [64];  //  its content type
    char *body;      //  its body (owned)
    size_t size;
} s_path_t;

struct _rh_monitor_t {
    void *owner;                //  PAIR the owner's loop polls and answers on
    void *asker;                //  PAIR used by the HTTP thread only
    struct MHD_Daemon *daemon;  //  the HTTP server and its thread
    s_path_t paths [RH_MONITOR_MAX_PATHS];
    size_t path_count;
    uint64_t next_request;  //  HTTP thread: number of the next request to the owner
};

int
rh_monitor_parse_listen (const char *listen, bool allow_remote, struct sockaddr_storage *address,
                         char *error, size_t error_size)
{
    assert (listen && error);
    struct sockaddr_storage local;
    if (!address)
        address = &local;
    memset (address, 0, sizeof *address);
    const char *colon = strrchr (listen, ':');
    char host [64] = "";
    if (!colon || colon == listen || (size_t) (colon - listen) >= sizeof host) {
        snprintf (error, error_size, "'%.64s' is not HOST:PORT", listen);
        return -1;
    }
    memcpy (host, listen, (size_t) (colon - listen));
    char *end = NULL;
    long port = strtol (colon + 1, &end, 10);
    if (!*(colon + 1) || *end || port < 1 || port > 65535) {
        snprintf (error, error_size, "'%.64s': the port must be 1 to 65535", listen);
        return -1;
    }
    bool loopback = false;
    size_t length = strlen (host);
    if (host [0] == '[' && length > 2 && host [length - 1] == ']') {
        host [length - 1] = 0;
        struct sockaddr_in6 *v6 = (struct sockaddr_in6 *) address;
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons ((uint16_t) port);
        if (inet_pton (AF_INET6, host + 1, &v6->sin6_addr) != 1) {
            snprintf (error, error_size, "'%.64s' is not an IPv6 address", host + 1);
            return -1;
        }
        loopback = IN6_IS_ADDR_LOOPBACK (&v6->sin6_addr);
    }
    else {
        struct sockaddr_in *v4 = (struct sockaddr_in *) address;
        v4->sin_family = AF_INET;
        v4->sin_port = htons ((uint16_t) port);
        if (strcmp (host, "localhost") == 0)
            snprintf (host, sizeof host, "127.0.0.1");
        if (inet_pton (AF_INET, host, &v4->sin_addr) != 1) {
            snprintf (error, error_size, "'%.64s' is not an IPv4 address, [IPv6] or localhost",
                      host);
            return -1;
        }
        loopback = (ntohl (v4->sin_addr.s_addr) >> 24) == 127;
    }
    if (!loopback && !allow_remote) {
        snprintf (error, error_size,
                  "'%.64s' is not a loopback address: metrics and status would be open to the "
                  "network; set metrics/allow_remote: true if that is meant",
                  listen);
        return -1;
    }
    return 0;
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
    MHD_add_response_header (response, "Cache-Control", "no-store");
    enum MHD_Result rc = MHD_queue_response (connection, (unsigned) status, response);
    MHD_destroy_response (response);
    return rc;
}

//  Asks the owner for path's answer and waits for it at most RH_MONITOR_ANSWER_MS. Returns 0
//  with the answer stored in slot, or -1 (the owner did not answer in time).
static int
s_ask_owner (rh_monitor_t *self, s_path_t *slot)
{
    uint64_t number = ++self->next_request;
    uint8_t request [8 + sizeof slot->path];
    size_t length = strlen (slot->path);
    memcpy (request, &number, 8);
    memcpy (request + 8, slot->path, length);
    if (zmq_send (self->asker, request, 8 + length, ZMQ_DONTWAIT) < 0)
        return -1;
    int64_t deadline = rh_time_now_ms () + RH_MONITOR_ANSWER_MS;
    while (true) {
        int64_t left = deadline - rh_time_now_ms ();
        if (left <= 0)
            return -1;
        zmq_pollitem_t item = { self->asker, 0, ZMQ_POLLIN, 0 };
        if (zmq_poll (&item, 1, (long) left) <= 0)
            continue;  //  time is checked again (and EINTR retried)
        zmq_msg_t frames [3];
        int count = 0;
        int more = 1;
        while (more && count < 3) {
            zmq_msg_init (&frames [count]);
            if (zmq_msg_recv (&frames [count], self->asker, 0) < 0) {
                zmq_msg_close (&frames [count]);
                break;
            }
            more = zmq_msg_more (&frames [count]);
            count++;
        }
        while (more) {  //  more frames than an answer has: not ours, drain them
            zmq_msg_t extra;
            zmq_msg_init (&extra);
            if (zmq_msg_recv (&extra, self->asker, 0) < 0)
                more = 0;
            else
                more = zmq_msg_more (&extra);
            zmq_msg_close (&extra);
        }
        uint64_t got = 0;
        bool valid = count == 3 && zmq_msg_size (&frames [0]) == 8;
        if (valid)
            memcpy (&got, zmq_msg_data (&frames [0]), 8);
        int status = 0;
        char head [96] = "";
        if (valid && got == number && zmq_msg_size (&frames [1]) < sizeof head) {
            memcpy (head, zmq_msg_data (&frames [1]), zmq_msg_size (&frames [1]));
            char *space = strchr (head, ' ');
            status = atoi (head);
            char *body = malloc (zmq_msg_size (&frames [2]) + 1);
            if (space && status >= 100 && status < 600 && body) {
                memcpy (body, zmq_msg_data (&frames [2]), zmq_msg_size (&frames [2]));
                free (slot->body);
                slot->body = body;
                slot->size = zmq_msg_size (&frames [2]);
                slot->status = status;
                snprintf (slot->type, sizeof slot->type, "%s", space + 1);
                slot->at_ms = rh_time_now_ms ();
            }
            else {
                free (body);
                status = 0;
            }
        }
        for (int i = 0; i < count; i++)
            zmq_msg_close (&frames [i]);
        if (status)
            return 0;
        if (valid && got == number)
            return -1;  //  our answer, but not one we can use
    }
}

static enum MHD_Result
s_handle (void *cls, struct MHD_Connection *connection, const char *url, const char *method,
          const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    (void) version, (void) upload_data;
    rh_monitor_t *self = cls;
    //  The first call only announces the request (headers read): answer on the second, so that
    //  a body, which nothing here takes, has been refused by then.
    if (!*con_cls) {
        *con_cls = self;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        *upload_data_size = 0;  //  dropped: no path takes a body
        return MHD_YES;
    }
    const char *text = RH_MONITOR_TEXT;
    if (strcmp (method, "GET") != 0 && strcmp (method, "HEAD") != 0)
        return s_respond (connection, 405, text, "GET only\n", 9);
    s_path_t *slot = NULL;
    for (size_t i = 0; i < self->path_count && !slot; i++)
        if (strcmp (url, self->paths [i].path) == 0)
            slot = &self->paths [i];
    if (!slot)
        return s_respond (connection, 404, text, "not found\n", 10);
    int64_t now = rh_time_now_ms ();
    if (!slot->at_ms || now - slot->at_ms >= RH_MONITOR_CACHE_MS || now < slot->at_ms) {
        if (s_ask_owner (self, slot) != 0) {
            char line [128];
            int size = snprintf (line, sizeof line, "the main loop did not answer within %d ms\n",
                                 RH_MONITOR_ANSWER_MS);
            slot->at_ms = 0;  //  ask again next time
            return s_respond (connection, 503, text, line, (size_t) size);
        }
    }
    return s_respond (connection, slot->status, slot->type, slot->body ? slot->body : "",
                      slot->size);
}

rh_monitor_t *
rh_monitor_new (void *context, const char *listen, bool allow_remote, const char *const *paths,
                char *error, size_t error_size)
{
    assert (context && listen && paths && error);
    struct sockaddr_storage address;
    if (rh_monitor_parse_listen (listen, allow_remote, &address, error, error_size) != 0)
        return NULL;
    rh_monitor_t *self = calloc (1, sizeof *self);
    if (!self) {
        snprintf (error, error_size, "out of memory");
        return NULL;
    }
    for (; paths [self->path_count]; self->path_count++) {
        assert (self->path_count < RH_MONITOR_MAX_PATHS);
        snprintf (self->paths [self->path_count].path, sizeof self->paths [0].path, "%s",
                  paths [self->path_count]);
    }
    char endpoint [64];
    snprintf (endpoint, sizeof endpoint, "inproc://rh-monitor-%p", (void *) self);
    int linger = 0;
    self->owner = zmq_socket (context, ZMQ_PAIR);
    self->asker = zmq_socket (context, ZMQ_PAIR);
    if (!self->owner || !self->asker
        || zmq_setsockopt (self->owner, ZMQ_LINGER, &linger, sizeof linger) != 0
        || zmq_setsockopt (self->asker, ZMQ_LINGER, &linger, sizeof linger) != 0
        || zmq_bind (self->owner, endpoint) != 0 || zmq_connect (self->asker, endpoint) != 0) {
        snprintf (error, error_size, "cannot make the monitor's socket: %s", zmq_strerror (errno));
        rh_monitor_destroy (&self);
        return NULL;
    }
    //  Signals belong to the owner's thread: the server's thread starts with them blocked.
    sigset_t all, previous;
    sigfillset (&all);
    pthread_sigmask (SIG_BLOCK, &all, &previous);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    if (address.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    self->daemon = MHD_start_daemon (
        flags, 0, NULL, NULL, s_handle, self, MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &address,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned) RH_MONITOR_MAX_CONNECTIONS,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) RH_MONITOR_TIMEOUT_S,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) RH_MONITOR_MEMORY_LIMIT, MHD_OPTION_END);
    int saved = errno;
    pthread_sigmask (SIG_SETMASK, &previous, NULL);
    if (!self->daemon) {
        snprintf (error, error_size, "cannot listen on %s: %s", listen, strerror (saved));
        rh_monitor_destroy (&self);
        return NULL;
    }
    return self;
}

void
rh_monitor_destroy (rh_monitor_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        rh_monitor_t *self = *self_p;
        //  The thread first: after this nothing uses asker.
        if (self->daemon)
            MHD_stop_daemon (self->daemon);
        if (self->asker)
            zmq_close (self->asker);
        if (self->owner)
            zmq_close (self->owner);
        for (size_t i = 0; i < self->path_count; i++)
            free (self->paths [i].body);
        free (self);
        *self_p = NULL;
    }
}

void *
rh_monitor_socket (rh_monitor_t *self)
{
    assert (self);
    return self->owner;
}

int
rh_monitor_answer (rh_monitor_t *self, rh_monitor_fn *fn, void *arg)
{
    assert (self && fn);
    int answered = 0;
    //  The HTTP thread has at most one request outstanding; a few are taken in case old ones
    //  wait (their answers are dropped there by number).
    for (int round = 0; round < 4; round++) {
        zmq_msg_t request;
        zmq_msg_init (&request);
        if (zmq_msg_recv (&request, self->owner, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close (&request);
            break;
        }
        size_t size = zmq_msg_size (&request);
        char path [64] = "";
        uint8_t number [8];
        bool valid = size > 8 && size - 8 < sizeof path;
        if (valid) {
            memcpy (number, zmq_msg_data (&request), 8);
            memcpy (path, (uint8_t *) zmq_msg_data (&request) + 8, size - 8);
        }
        zmq_msg_close (&request);
        if (!valid)
            continue;
        rh_monitor_reply_t reply = { .status = 500, .type = RH_MONITOR_TEXT };
        fn (arg, path, &reply);
        char head [96];
        int head_size = snprintf (head, sizeof head, "%d %s", reply.status, reply.type);
        //  Never waits: an answer the HTTP side cannot take now is one it no longer waits for.
        if (zmq_send (self->owner, number, 8, ZMQ_DONTWAIT | ZMQ_SNDMORE) == 8
            && zmq_send (self->owner, head, (size_t) head_size, ZMQ_DONTWAIT | ZMQ_SNDMORE) >= 0)
            zmq_send (self->owner, reply.body ? reply.body : "", reply.body ? reply.size : 0,
                      ZMQ_DONTWAIT);
        free (reply.body);
        answered++;
    }
    return answered;
}
