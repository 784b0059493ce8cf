/*  =========================================================================
    test_rh_monitor - HTTP answers come from the owner's loop, or 503 in time
    =========================================================================
*/
#include "test_helpers.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>

//  A loopback port free just now (bound and let go: the kernel does not hand it out again
//  at once).
static int
s_free_port (void)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = { .sin_family = AF_INET };
    address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    socklen_t size = sizeof address;
    if (fd < 0 || bind (fd, (struct sockaddr *) &address, sizeof address) != 0
        || getsockname (fd, (struct sockaddr *) &address, &size) != 0) {
        if (fd >= 0)
            close (fd);
        return -1;
    }
    close (fd);
    return ntohs (address.sin_port);
}

typedef struct {
    int port;
    char request [128];
    char answer [4096];  //  the whole HTTP answer, NUL-terminated
    atomic_bool done;    //  the answer is complete
} s_client_t;

//  Sends one request and reads the answer to the end (the server closes: HTTP/1.0).
static void *
s_client (void *arg)
{
    s_client_t *client = arg;
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = htons (client->port) };
    address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    size_t used = 0;
    if (fd >= 0 && connect (fd, (struct sockaddr *) &address, sizeof address) == 0
        && write (fd, client->request, strlen (client->request)) > 0) {
        ssize_t got;
        while (used < sizeof client->answer - 1
               && (got = read (fd, client->answer + used, sizeof client->answer - 1 - used)) > 0)
            used += (size_t) got;
    }
    client->answer [used] = 0;
    if (fd >= 0)
        close (fd);
    atomic_store (&client->done, true);
    return NULL;
}

static void
s_answer (void *arg, const char *path, rh_monitor_reply_t *reply)
{
    int *asked = arg;
    (*asked)++;
    reply->status = strcmp (path, "/readyz") == 0 ? 503 : 200;
    reply->type = RH_MONITOR_TEXT;
    reply->body = strdup (strcmp (path, "/readyz") == 0 ? "not ready: testing\n" : "alive\n");
    reply->size = strlen (reply->body);
}

//  Runs one request on a thread while this thread is the owner's loop, answering until the
//  answer is complete or for at most loop_ms (0: never answers). Returns the answer in client.
static void
s_exchange (rh_monitor_t *monitor, s_client_t *client, int loop_ms, int *asked)
{
    pthread_t thread;
    atomic_store (&client->done, false);
    CU_ASSERT_EQUAL_FATAL (pthread_create (&thread, NULL, s_client, client), 0);
    int64_t until = rh_time_now_ms () + loop_ms;
    while (rh_time_now_ms () < until && !atomic_load (&client->done)) {
        zmq_pollitem_t item = { rh_monitor_socket (monitor), 0, ZMQ_POLLIN, 0 };
        if (zmq_poll (&item, 1, 50) > 0)
            rh_monitor_answer (monitor, s_answer, asked);
    }
    pthread_join (thread, NULL);
}

static void
test_a_request_is_answered_by_the_owners_loop (void)
{
    void *context = zmq_ctx_new ();
    CU_ASSERT_PTR_NOT_NULL_FATAL (context);
    int port = s_free_port ();
    CU_ASSERT_FATAL (port > 0);
    char listen [64], error [256];
    snprintf (listen, sizeof listen, "127.0.0.1:%d", port);
    const char *const paths [] = { "/healthz", "/readyz", NULL };
    rh_monitor_t *monitor = rh_monitor_new (context, listen, false, paths, error, sizeof error);
    CU_ASSERT_PTR_NOT_NULL_FATAL (monitor);
    int asked = 0;
    s_client_t client = { .port = port, .request = "GET /healthz HTTP/1.0\r\n\r\n" };
    s_exchange (monitor, &client, 1000, &asked);
    CU_ASSERT_PTR_NOT_NULL (strstr (client.answer, "HTTP/1.1 200"));
    CU_ASSERT_PTR_NOT_NULL (strstr (client.answer, "\r\n\r\nalive\n"));
    CU_ASSERT_EQUAL (asked, 1);
    //  Within a second the same answer is reused: the loop is not asked again.
    s_exchange (monitor, &client, 300, &asked);
    CU_ASSERT_PTR_NOT_NULL (strstr (client.answer, "\r\n\r\nalive\n"));
    CU_ASSERT_EQUAL (asked, 1);
    snprintf (client.request, sizeof client.request, "GET /readyz HTTP/1.0\r\n\r\n");
    s_exchange (monitor, &client, 1000, &asked);
    CU_ASSERT_PTR_NOT_NULL (strstr (client.answer, "HTTP/1.1 503"));
    CU_ASSERT_PTR_NOT_NULL (strstr (client.answer, "not ready: testing"));
    CU_ASSERT_EQUAL (asked, 2);
    //  Unknown paths and other methods never reach the loop.
    snprintf (client.request, sizeof client.request, "GET /secret HTTP/1.0\r\n\r\n");
    s_exchange (monitor, &client, 300, &asked);
    CU_ASSERT_PTR_NOT_NULL (strstr (client.answer, "HTTP/1.1 404"));
    snprintf (client.request, sizeof client.request,
              "POST /healthz HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc");
    s_exchange (monitor, &client, 300, &asked);
    CU_ASSERT_PTR_NOT_NULL (strstr (client.answer, "HTTP/1.1 405"));
    CU_ASSERT_EQUAL (asked, 2);
    rh_monitor_destroy (&monitor);
    CU_ASSERT_PTR_NULL (monitor);
    zmq_ctx_term (context);
}

static void
test_a_loop_that_does_not_answer_is_reported_as_503 (void)
{
    void *context = zmq_ctx_new ();
    CU_ASSERT_PTR_NOT_NULL_FATAL (context);
    int port = s_free_port ();
    CU_ASSERT_FATAL (port > 0);
    char listen [64], error [256];
    snprintf (listen, sizeof listen, "127.0.0.1:%d", port);
    const char *const paths [] = { "/healthz", NULL };
    rh_monitor_t *monitor = rh_monitor_new (context, listen, false, paths, error, sizeof error);
    CU_ASSERT_PTR_NOT_NULL_FATAL (monitor);
    int asked = 0;
    s_client_t client = { .port = port, .request = "GET /healthz HTTP/1.0\r\n\r\n" };
    int64_t start = rh_time_now_ms ();
    s_exchange (monitor, &client, 0, &asked);  //  the loop is stuck
    int64_t took = rh_time_now_ms () - start;
    CU_ASSERT_PTR_NOT_NULL (strstr (client.answer, "HTTP/1.1 503"));
    CU_ASSERT_PTR_NOT_NULL (strstr (client.answer, "did not answer"));
    CU_ASSERT (took >= RH_MONITOR_ANSWER_MS - 50);
    //  The loop wakes up: the stale request is answered and dropped, the next one is served.
    s_exchange (monitor, &client, 1000, &asked);
    CU_ASSERT_PTR_NOT_NULL (strstr (client.answer, "HTTP/1.1 200"));
    CU_ASSERT_PTR_NOT_NULL (strstr (client.answer, "alive"));
    rh_monitor_destroy (&monitor);
    zmq_ctx_term (context);
}

static void
test_a_port_in_use_is_a_clear_error (void)
{
    void *context = zmq_ctx_new ();
    CU_ASSERT_PTR_NOT_NULL_FATAL (context);
    int port = s_free_port ();
    char listen [64], error [256];
    snprintf (listen, sizeof listen, "127.0.0.1:%d", port);
    const char *const paths [] = { "/healthz", NULL };
    rh_monitor_t *first = rh_monitor_new (context, listen, false, paths, error, sizeof error);
    CU_ASSERT_PTR_NOT_NULL_FATAL (first);
    rh_monitor_t *second = rh_monitor_new (context, listen, false, paths, error, sizeof error);
    CU_ASSERT_PTR_NULL (second);
    CU_ASSERT_PTR_NOT_NULL (strstr (error, "cannot listen on"));
    rh_monitor_destroy (&first);
    zmq_ctx_term (context);
}

void
init_rh_monitor_tests (void)
{
    CU_pSuite suite = CU_add_suite ("rh_monitor", NULL, NULL);
    CU_add_test (suite, "a request is answered by the owner's loop",
                 test_a_request_is_answered_by_the_owners_loop);
    CU_add_test (suite, "a loop that does not answer is reported as 503",
                 test_a_loop_that_does_not_answer_is_reported_as_503);
    CU_add_test (suite, "a port in use is a clear error", test_a_port_in_use_is_a_clear_error);
}
