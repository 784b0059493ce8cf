/*  =========================================================================
    rh_verifier - signature-verify workers beside the broker's main loop

    Each worker has three inproc pipes, all carrying one pointer per
    message: jobs (main -> worker, PAIR) and results (worker -> main, one
    PUSH per worker into the main loop's PULL) pass an s_job_t, whose
    owner is whoever last received it; control (main -> worker, PAIR)
    carries $RELOAD and $TERM. Control has its own pipe so that a worker
    sees $TERM between any two jobs, not behind every job it was given.

    Credit keeps every send from meeting a full pipe: a worker's jobs plus
    its unread results never exceed RH_VERIFY_CREDIT, and each pipe's
    high-water mark is above that. Every send is still ZMQ_DONTWAIT: the
    main thread reports "busy" and a worker holds its result and polls.

    Order: each job goes to the least-loaded worker and carries a sequence
    number; results wait in a ring (one slot per credit) until every
    earlier one is back, so all results, and hence each sender's, come back
    in the order submitted. Pinning a sender to one worker instead left the
    other workers idle whenever that worker was full and the main loop had
    stopped reading input.
    =========================================================================
*/
#include "rh_broker_classes.h"

//  What one submission carries through a worker and back.
typedef struct {
    rh_verified_t result;  //  handed to the caller of rh_verifier_result
    int worker;            //  the worker whose credit it uses
    uint64_t sequence;     //  order of submission: results are handed over in this order
    bool stored;           //  a stored message: verified at at_ms, no sender to match
    int64_t at_ms;         //  when a stored message was received
} s_job_t;

//  One worker thread's own state. Allocated on its own: a worker that does not stop in time
//  keeps using it after rh_verifier_destroy has freed the rest.
typedef struct {
    pthread_t thread;
    void *context;
    char jobs_endpoint [64];     //  where this worker's jobs PAIR connects
    char control_endpoint [64];  //  where this worker's control PAIR connects
    char results_endpoint [64];  //  the main loop's PULL, shared by every worker
    char pki_dir [PATH_MAX];     //  read at start and on each $RELOAD
} s_worker_t;

struct _rh_verifier_t {
    void *context;
    void *results;                          //  workers -> main (PULL), s_job_t pointers
    void *jobs [RH_MAX_VERIFY_WORKERS];     //  main -> worker (PAIR), s_job_t pointers
    void *control [RH_MAX_VERIFY_WORKERS];  //  main -> worker (PAIR), $RELOAD and $TERM
    s_worker_t *workers [RH_MAX_VERIFY_WORKERS];
    int count;                            //  worker threads started
    size_t load [RH_MAX_VERIFY_WORKERS];  //  credit used: submitted, result not yet read
    s_job_t **ring;      //  results back early, at sequence % capacity, waiting for their turn
    size_t capacity;     //  count * RH_VERIFY_CREDIT: every credit has a slot
    uint64_t submitted;  //  sequence of the next submission
    uint64_t returned;   //  sequence of the next result to hand over
};

//  ---------------------------------------------------------------------------------------------
//  Shared by both sides

//  Frees a job and everything it owns.
static void
s_job_destroy (s_job_t **job_p)
{
    if (*job_p) {
        rh_verified_release (&(*job_p)->result);
        free (*job_p);
        *job_p = NULL;
    }
}

//  ---------------------------------------------------------------------------------------------
//  Worker thread

//  A worker's certificates of the other regions (pki_dir/peers/REGION), its own like its store.
typedef struct {
    rh_certstore_t *stores [RH_MAX_FED_REGIONS];
    char names [RH_MAX_FED_REGIONS][RH_MAX_ID + 1];
    size_t count;
} s_peer_stores_t;

static void
s_peers_free (s_peer_stores_t *peers)
{
    for (size_t i = 0; i < peers->count; i++)
        rh_certstore_destroy (&peers->stores [i]);
    peers->count = 0;
}

//  Loads every PKI folder under pki_dir/peers (none: nothing from another region verifies).
static void
s_peers_load (s_peer_stores_t *peers, const char *pki_dir)
{
    s_peers_free (peers);
    char path [PATH_MAX];
    rh_file_path (path, sizeof path, "%s/peers", pki_dir);
    DIR *dir = opendir (path);
    struct dirent *entry;
    while (dir && (entry = readdir (dir)) && peers->count < RH_MAX_FED_REGIONS) {
        size_t length = strlen (entry->d_name);
        if (entry->d_name [0] == '.' || length > RH_MAX_ID)
            continue;
        char region [PATH_MAX];
        rh_file_path (region, sizeof region, "%s/%s", path, entry->d_name);
        rh_certstore_t *store = rh_certstore_load_dir (region);
        if (!store)
            continue;
        peers->stores [peers->count] = store;
        memcpy (peers->names [peers->count], entry->d_name, length + 1);
        peers->count++;
    }
    if (dir)
        closedir (dir);
}

//  A message another region's broker forwarded: verified against that region's certificates,
//  from one of its agencies (not its broker). Sets the result's region and sender.
static void
s_verify_peer (s_job_t *job, const s_peer_stores_t *peers)
{
    rh_verified_t *result = &job->result;
    const char *region = result->agency + strlen (RH_PEER_QUEUE_PREFIX);
    rh_certstore_t *store = NULL;
    for (size_t i = 0; i < peers->count && !store; i++)
        if (strcmp (peers->names [i], region) == 0)
            store = peers->stores [i];
    snprintf (result->region, sizeof result->region, "%s", region);
    int64_t now = rh_time_now_ms ();
    if (result->rc == RH_OK)
        result->rc = store ? rh_certstore_receive (store, result->sealed, result->sealed_size, now,
                                                   &result->envelope)
                           : RH_E_CERT_UNKNOWN;
    if (result->rc == RH_OK && strcmp (rh_envelope_msg_id (result->envelope), result->msg_id) != 0)
        result->rc = RH_E_MALFORMED;
    const rh_identity_t *sender =
        result->rc == RH_OK
            ? rh_certstore_enrolled (store, rh_envelope_sender (result->envelope), now)
            : NULL;
    if (result->rc == RH_OK && (!sender || strcmp (sender->type, "BROKER") == 0))
        result->rc = RH_E_CERT_UNKNOWN;  //  a broker's own messages do not cross
    if (result->rc == RH_OK)
        snprintf (result->agency, sizeof result->agency, "%s", sender->agency_id);
    else
        rh_envelope_destroy (&result->envelope);
}

//  Decodes, checks the sender and verifies; fills in the job's rc, envelope and digest.
static void
s_verify (s_job_t *job, rh_certstore_t *store, const s_peer_stores_t *peers)
{
    rh_verified_t *result = &job->result;
    //  A stored message's digest was checked against its record by whoever read it.
    if (!job->stored)
        rh_sha256 (result->sealed_sha256, result->sealed, result->sealed_size);
    if (!job->stored
        && strncmp (result->agency, RH_PEER_QUEUE_PREFIX, strlen (RH_PEER_QUEUE_PREFIX)) == 0) {
        s_verify_peer (job, peers);
        return;
    }
    //  No store (the PKI did not load) fails closed, as the broker's own store would.
    if (result->rc == RH_OK)
        result->rc = store ? rh_certstore_receive (store, result->sealed, result->sealed_size,
                                                   job->stored ? job->at_ms : rh_time_now_ms (),
                                                   &result->envelope)
                           : RH_E_CRL;
    //  A stored message that came from another region (an auditor re-checking a federated
    //  broker's log) verifies against the certificates that region's board issued, and only
    //  for a sender this region's board never enrolled.
    bool ours = false;
    for (size_t i = 0; job->stored && store && i < rh_certstore_size (store) && !ours; i++)
        ours = strcmp (rh_certstore_identity (store, i)->agency_id, result->agency) == 0;
    for (size_t i = 0; job->stored && result->rc == RH_E_CERT_UNKNOWN && !ours && *result->agency
                       && i < peers->count;
         i++)
        if (rh_certstore_receive (peers->stores [i], result->sealed, result->sealed_size,
                                  job->at_ms, &result->envelope)
            == RH_OK)
            result->rc = RH_OK;
    if (job->stored) {
        //  Only the verdict is wanted; an envelope freed on the thread that made it also keeps
        //  the caller's thread out of this one's malloc arena.
        rh_envelope_destroy (&result->envelope);
        return;
    }
    if (result->rc == RH_OK && strcmp (rh_envelope_msg_id (result->envelope), result->msg_id) != 0)
        result->rc = RH_E_MALFORMED;  //  the frame and the signed header disagree
    if (result->rc == RH_OK)
        result->rc = rh_envelope_check_sender (result->envelope, result->agency);
    if (result->rc != RH_OK)
        rh_envelope_destroy (&result->envelope);
}

//  Reads every waiting control message. Returns true once $TERM arrives (or the pipe breaks).
static bool
s_worker_control (s_worker_t *self, void *control, rh_certstore_t **store, s_peer_stores_t *peers)
{
    while (true) {
        char command [16];
        int size = zmq_recv (control, command, sizeof command, ZMQ_DONTWAIT);
        if (size < 0)
            return errno != EAGAIN && errno != EINTR;  //  ETERM and the like: stop
        if (size == 5 && memcmp (command, "$TERM", 5) == 0)
            return true;
        if (size == 7 && memcmp (command, "$RELOAD", 7) == 0) {
            rh_certstore_t *fresh = rh_certstore_load_dir (self->pki_dir);
            if (fresh) {
                rh_certstore_destroy (store);
                *store = fresh;
            }
            else
                rh_log_error ("verifier", "reload failed; keeping the certificates in force");
            s_peers_load (peers, self->pki_dir);
        }
    }
}

//  Sends a result without waiting. Returns 0 when sent (ownership passed), 1 when the pipe is
//  full (the caller still owns it), -1 when the pipe is broken.
static int
s_worker_send (void *out, s_job_t *job)
{
    if (rh_pipe_send (out, job) == 0)
        return 0;
    return errno == EAGAIN || errno == EINTR ? 1 : -1;
}

//  Verifies jobs one at a time. Control is read before every job, and a result that cannot be
//  sent at once is held while polling for room or for $TERM: the worker never blocks on a send.
static void *
s_worker (void *arg)
{
    s_worker_t *self = arg;
    rh_certstore_t *store = rh_certstore_load_dir (self->pki_dir);
    s_peer_stores_t peers = { .count = 0 };
    s_peers_load (&peers, self->pki_dir);
    void *jobs = zmq_socket (self->context, ZMQ_PAIR);
    void *control = zmq_socket (self->context, ZMQ_PAIR);
    void *out = zmq_socket (self->context, ZMQ_PUSH);
    s_job_t *held = NULL;  //  a verified job whose result did not fit yet
    if (!jobs || !control || !out || rh_pipe_limits (jobs, RH_VERIFY_CREDIT + RH_VERIFY_SLACK)
        || rh_pipe_limits (control, RH_VERIFY_SLACK)
        || rh_pipe_limits (out, RH_VERIFY_CREDIT + RH_VERIFY_SLACK)
        || zmq_connect (jobs, self->jobs_endpoint) || zmq_connect (control, self->control_endpoint)
        || zmq_connect (out, self->results_endpoint))
        goto out;
    //  Ready: the main loop may send jobs now that this end is connected.
    if (zmq_send (out, "", 0, ZMQ_DONTWAIT) != 0)
        goto out;
    while (!s_worker_control (self, control, &store, &peers)) {
        if (held) {
            int rc = s_worker_send (out, held);
            if (rc < 0)
                break;
            if (rc == 0)
                held = NULL;
        }
        if (!held && (held = rh_pipe_recv (jobs, NULL)) != NULL) {
            s_verify (held, store, &peers);
            continue;  //  control first, then send
        }
        zmq_pollitem_t items [] = { { control, 0, ZMQ_POLLIN, 0 },
                                    { held ? out : jobs, 0, held ? ZMQ_POLLOUT : ZMQ_POLLIN, 0 } };
        if (zmq_poll (items, 2, -1) < 0 && errno != EINTR)
            break;
    }
out:
    //  Jobs never started and a result never sent are this worker's to free.
    s_job_destroy (&held);
    s_job_t *job;
    while (jobs && (job = rh_pipe_recv (jobs, NULL)) != NULL)
        s_job_destroy (&job);
    rh_pipe_close (&jobs);
    rh_pipe_close (&control);
    rh_pipe_close (&out);
    rh_certstore_destroy (&store);
    s_peers_free (&peers);
    return NULL;
}

//  ---------------------------------------------------------------------------------------------
//  Main thread

rh_verifier_t *
rh_verifier_new (void *context, const char *pki_dir, int workers)
{
    assert (context && pki_dir);
    rh_verifier_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->context = context;
    if (workers <= 0)
        workers = (int) sysconf (_SC_NPROCESSORS_ONLN);
    if (workers < 1)
        workers = 1;
    if (workers > RH_MAX_VERIFY_WORKERS)
        workers = RH_MAX_VERIFY_WORKERS;
    //  inproc names are per context and are released only when the socket is reaped: a random
    //  prefix lets a new verifier start while an old one is still going away.
    uint64_t nonce = 0;
    char prefix [40];  //  "inproc://rh-verify-" and 16 hex digits
    if (RAND_bytes ((unsigned char *) &nonce, sizeof nonce) != 1)
        goto fail;
    snprintf (prefix, sizeof prefix, "inproc://rh-verify-%016" PRIx64, nonce);
    char results_endpoint [64];
    snprintf (results_endpoint, sizeof results_endpoint, "%s-results", prefix);
    self->capacity = (size_t) workers * RH_VERIFY_CREDIT;
    self->ring = calloc (self->capacity, sizeof *self->ring);
    self->results = zmq_socket (context, ZMQ_PULL);
    if (!self->ring || !self->results
        || rh_pipe_limits (self->results, RH_VERIFY_CREDIT + RH_VERIFY_SLACK)
        || zmq_bind (self->results, results_endpoint) != 0)
        goto fail;
    for (int i = 0; i < workers; i++) {
        s_worker_t *worker = calloc (1, sizeof *worker);
        if (!worker)
            goto fail;
        worker->context = context;
        snprintf (worker->jobs_endpoint, sizeof worker->jobs_endpoint, "%s-jobs-%d", prefix, i);
        snprintf (worker->control_endpoint, sizeof worker->control_endpoint, "%s-control-%d",
                  prefix, i);
        snprintf (worker->results_endpoint, sizeof worker->results_endpoint, "%s",
                  results_endpoint);
        snprintf (worker->pki_dir, sizeof worker->pki_dir, "%s", pki_dir);
        self->jobs [i] = zmq_socket (context, ZMQ_PAIR);
        self->control [i] = zmq_socket (context, ZMQ_PAIR);
        if (!self->jobs [i] || !self->control [i]
            || rh_pipe_limits (self->jobs [i], RH_VERIFY_CREDIT + RH_VERIFY_SLACK)
            || rh_pipe_limits (self->control [i], RH_VERIFY_SLACK)
            || zmq_bind (self->jobs [i], worker->jobs_endpoint) != 0
            || zmq_bind (self->control [i], worker->control_endpoint) != 0
            || pthread_create (&worker->thread, NULL, s_worker, worker) != 0) {
            free (worker);
            goto fail;
        }
        self->workers [i] = worker;
        self->count++;
    }
    //  A PAIR drops nothing but refuses to send before its peer connects: wait for each worker
    //  to say it is ready, within a bound.
    int64_t deadline = rh_time_now_ms () + RH_VERIFY_START_MS;
    int ready = 0;
    while (ready < self->count) {
        int64_t left = deadline - rh_time_now_ms ();
        if (left <= 0)
            goto fail;
        zmq_pollitem_t item = { self->results, 0, ZMQ_POLLIN, 0 };
        if (zmq_poll (&item, 1, (long) left) < 0 && errno != EINTR)
            goto fail;
        bool empty = false;
        s_job_t *job = rh_pipe_recv (self->results, &empty);
        if (NEVER (job))
            s_job_destroy (&job);  //  no job was submitted yet
        else if (empty)
            ready++;
    }
    return self;
fail:
    rh_log_error ("verifier", "cannot start verify workers");
    rh_verifier_destroy (&self);
    return NULL;
}

//  Sends $TERM without blocking; if the control pipe is full of $RELOADs, waits for room until
//  the deadline. Returns 0 or -1.
static int
s_send_term (void *control, int64_t deadline)
{
    while (zmq_send (control, "$TERM", 5, ZMQ_DONTWAIT) != 5) {
        int64_t left = deadline - rh_time_now_ms ();
        if ((errno != EAGAIN && errno != EINTR) || left <= 0)
            return -1;
        zmq_pollitem_t item = { control, 0, ZMQ_POLLOUT, 0 };
        if (zmq_poll (&item, 1, (long) left) < 0 && errno != EINTR)
            return -1;
    }
    return 0;
}

void
rh_verifier_destroy (rh_verifier_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        rh_verifier_t *self = *self_p;
        int64_t deadline = rh_time_now_ms () + RH_VERIFY_STOP_MS;
        for (int i = 0; i < self->count; i++)
            if (s_send_term (self->control [i], deadline) != 0)
                rh_log_error ("verifier", "cannot ask verify worker %d to stop", i);
        struct timespec until;
        clock_gettime (CLOCK_REALTIME, &until);
        int64_t left = deadline - rh_time_now_ms ();
        if (left > 0) {
            until.tv_sec += left / 1000;
            until.tv_nsec += (long) (left % 1000) * 1000000L;
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
        }
        for (int i = 0; i < self->count; i++) {
            if (pthread_timedjoin_np (self->workers [i]->thread, NULL, &until) == 0)
                free (self->workers [i]);
            else {
                //  Still verifying, or never told to stop: it keeps its own state and frees
                //  its sockets when it ends. Waiting longer would hold up the whole broker.
                rh_log_error ("verifier", "verify worker %d did not stop in time; leaving it", i);
                pthread_detach (self->workers [i]->thread);
            }
            self->workers [i] = NULL;
        }
        //  Results nobody will read own their bytes and envelopes.
        s_job_t *job;
        while (self->results && (job = rh_pipe_recv (self->results, NULL)) != NULL)
            s_job_destroy (&job);
        for (size_t i = 0; self->ring && i < self->capacity; i++)
            s_job_destroy (&self->ring [i]);
        for (int i = 0; i < RH_MAX_VERIFY_WORKERS; i++) {
            rh_pipe_close (&self->jobs [i]);
            rh_pipe_close (&self->control [i]);
        }
        rh_pipe_close (&self->results);
        free (self->ring);
        free (self);
        *self_p = NULL;
    }
}

void *
rh_verifier_socket (rh_verifier_t *self)
{
    assert (self);
    return self->results;
}

//  Copies at most RH_MAX_ID bytes of text (NULL as ""). Returns false if it was missing or had
//  to be cut short.
static bool
s_copy_id (char *to, const char *from)
{
    if (!from) {
        *to = 0;
        return false;
    }
    size_t length = strnlen (from, RH_MAX_ID + 1);
    bool fits = length <= RH_MAX_ID;
    if (!fits)
        length = RH_MAX_ID;
    memcpy (to, from, length);
    to [length] = 0;
    return fits;
}

//  A job for the least-loaded worker, with a copy of sealed (size bytes, or none), in the next
//  place in the order. Returns RH_VERIFIER_QUEUED with *job_p set, RH_VERIFIER_BUSY when every
//  worker holds its credit, or RH_VERIFIER_REFUSED when memory ran out.
static int
s_job_new (rh_verifier_t *self, const uint8_t *sealed, size_t size, s_job_t **job_p)
{
    if (!sealed)
        size = 0;  //  protobuf-c gives empty bytes as NULL
    int worker = 0;
    for (int i = 1; i < self->count; i++)
        if (self->load [i] < self->load [worker])
            worker = i;
    if (self->load [worker] >= RH_VERIFY_CREDIT)
        return RH_VERIFIER_BUSY;
    s_job_t *job = calloc (1, sizeof *job);
    if (!job || !(job->result.sealed = malloc (size ? size : 1))) {
        free (job);
        return RH_VERIFIER_REFUSED;
    }
    job->worker = worker;
    job->sequence = self->submitted;
    if (size)
        memcpy (job->result.sealed, sealed, size);
    job->result.sealed_size = size;
    *job_p = job;
    return RH_VERIFIER_QUEUED;
}

//  Sends a job from s_job_new to its worker (taking ownership). Returns as rh_verifier_submit.
static int
s_job_send (rh_verifier_t *self, s_job_t **job_p)
{
    s_job_t *job = *job_p;
    *job_p = NULL;
    int worker = job->worker;
    if (rh_pipe_send (self->jobs [worker], job) != 0) {
        //  Cannot happen within credit; if it does, it is a full pipe: busy, never wait.
        bool full = errno == EAGAIN;
        s_job_destroy (&job);
        return full ? RH_VERIFIER_BUSY : RH_VERIFIER_REFUSED;
    }
    self->submitted++;
    self->load [worker]++;
    return RH_VERIFIER_QUEUED;
}

int
rh_verifier_submit (rh_verifier_t *self, const uint8_t *routing_id, size_t routing_id_size,
                    const char *agency, const char *msg_id, const uint8_t *sealed, size_t size)
{
    assert (self);
    if (!routing_id || routing_id_size == 0 || routing_id_size > RH_MAX_ROUTING_ID)
        return RH_VERIFIER_REFUSED;
    s_job_t *job = NULL;
    int rc = s_job_new (self, sealed, size, &job);
    if (rc != RH_VERIFIER_QUEUED)
        return rc;
    rh_verified_t *result = &job->result;
    memcpy (result->routing_id, routing_id, routing_id_size);
    result->routing_id_size = routing_id_size;
    bool agency_fits = s_copy_id (result->agency, agency);
    bool msg_id_fits = s_copy_id (result->msg_id, msg_id);
    //  Refused by the worker, not here, so the result keeps its place in the order.
    result->rc = agency_fits && msg_id_fits ? RH_OK : RH_E_MALFORMED;
    return s_job_send (self, &job);
}

int
rh_verifier_submit_stored (rh_verifier_t *self, uint64_t tag, int64_t at_ms, const char *agency,
                           const uint8_t *sealed, size_t size)
{
    assert (self);
    s_job_t *job = NULL;
    int rc = s_job_new (self, sealed, size, &job);
    if (rc != RH_VERIFIER_QUEUED)
        return rc;
    job->stored = true;
    job->at_ms = at_ms;
    job->result.tag = tag;
    s_copy_id (job->result.agency, agency);  //  cut short if need be: it only names the sender
    job->result.rc = RH_OK;
    return s_job_send (self, &job);
}

bool
rh_verifier_has_room (rh_verifier_t *self)
{
    assert (self);
    for (int i = 0; i < self->count; i++)
        if (self->load [i] < RH_VERIFY_CREDIT)
            return true;
    return false;
}

bool
rh_verifier_ready (rh_verifier_t *self)
{
    assert (self);
    return self->ring [self->returned % self->capacity] != NULL;
}

int
rh_verifier_result (rh_verifier_t *self, rh_verified_t *result)
{
    assert (self && result);
    memset (result, 0, sizeof *result);
    //  Take results until the next in order is here; later ones wait in the ring. Taking no
    //  more than that leaves the rest in the socket, where polling sees them.
    s_job_t **head = &self->ring [self->returned % self->capacity];
    while (!*head) {
        s_job_t *job = rh_pipe_recv (self->results, NULL);
        if (!job)
            return -1;
        s_job_t **slot = &self->ring [job->sequence % self->capacity];
        if (NEVER (*slot || job->sequence - self->returned >= self->capacity)) {
            s_job_destroy (&job);  //  cannot happen: at most capacity are submitted, not read
            continue;
        }
        *slot = job;
    }
    s_job_t *job = *head;
    *head = NULL;
    self->returned++;
    //  The credit comes back when the caller takes the result, not when the worker sends it:
    //  so a worker's unread results never outgrow its pipe.
    if (ALWAYS (self->load [job->worker] > 0))
        self->load [job->worker]--;
    *result = job->result;
    free (job);
    return 0;
}

void
rh_verified_release (rh_verified_t *result)
{
    assert (result);
    rh_envelope_destroy (&result->envelope);
    free (result->sealed);
    result->sealed = NULL;
    result->sealed_size = 0;
}

void
rh_verifier_reload (rh_verifier_t *self)
{
    assert (self);
    for (int i = 0; i < self->count; i++)
        //  A full control pipe holds $RELOADs not yet read; they read the files after now, so
        //  this one would add nothing.
        if (zmq_send (self->control [i], "$RELOAD", 7, ZMQ_DONTWAIT) != 7 && errno != EAGAIN)
            rh_log_error ("verifier", "cannot ask verify worker %d to reload", i);
}

size_t
rh_verifier_in_flight (rh_verifier_t *self)
{
    assert (self);
    return (size_t) (self->submitted - self->returned);
}
