/*  =========================================================================
    rh_sealer - signs the agent's outgoing messages on a thread of its own

    Three inproc pipes, as in the broker's rh_verifier: jobs (main ->
    worker, PAIR) and results (worker -> main, PAIR) carry one s_job_t
    pointer per message, owned by whoever last received it; control (main
    -> worker, PAIR) carries $TERM, on a pipe of its own so that the
    worker sees it between any two jobs. One worker and PAIR pipes keep
    results in the order submitted.

    Credit keeps every send from meeting a full pipe: the worker's jobs
    plus its unread results never exceed RH_SEAL_CREDIT, and each pipe's
    high-water mark is above that. Every send is still ZMQ_DONTWAIT: the
    main thread reports "busy" and the worker holds its result and polls.
    =========================================================================
*/
#include "rh_agent_classes.h"

typedef struct {
    rh_sealed_t result;  //  handed to the caller of rh_sealer_result
} s_job_t;

//  The worker's own state. Allocated on its own: a worker that does not stop in time keeps
//  using it after rh_sealer_destroy has freed the rest.
typedef struct {
    pthread_t thread;
    void *context;
    rh_signer_t *signer;         //  owned by the worker
    char jobs_endpoint [64];     //  where the worker's jobs PAIR connects
    char control_endpoint [64];  //  where its control PAIR connects
    char results_endpoint [64];  //  where its results PAIR connects
} s_worker_t;

struct _rh_sealer_t {
    void *jobs;          //  main -> worker (PAIR), s_job_t pointers
    void *control;       //  main -> worker (PAIR), $TERM
    void *results;       //  worker -> main (PAIR), s_job_t pointers
    s_worker_t *worker;  //  NULL once freed or left to finish on its own
    bool started;        //  the worker thread runs
    size_t load;         //  credit used: submitted, result not yet read
};

//  ---------------------------------------------------------------------------------------------
//  Shared by both sides

//  Frees a job and everything it owns.
static void
s_job_destroy (s_job_t **job_p)
{
    if (*job_p) {
        rh_sealed_release (&(*job_p)->result);
        free (*job_p);
        *job_p = NULL;
    }
}

//  ---------------------------------------------------------------------------------------------
//  Worker thread

//  Signs and encodes; fills in the job's rc and sealed bytes.
static void
s_seal (s_job_t *job, rh_signer_t *signer)
{
    rh_sealed_t *result = &job->result;
    result->rc = -1;
    if (result->envelope && rh_envelope_sign (result->envelope, signer) == 0
        && rh_envelope_encode (result->envelope, &result->sealed, &result->sealed_size) == 0)
        result->rc = 0;
}

//  True once $TERM arrived or the control pipe broke.
static bool
s_worker_stopping (void *control)
{
    char command [16];
    int size = zmq_recv (control, command, sizeof command, ZMQ_DONTWAIT);
    if (size < 0)
        return errno != EAGAIN && errno != EINTR;
    return size == 5 && memcmp (command, "$TERM", 5) == 0;
}

//  Seals jobs one at a time. Control is read before every job, and a result that cannot be
//  sent at once is held while polling for room or for $TERM: the worker never blocks on a send.
static void *
s_worker (void *arg)
{
    s_worker_t *self = arg;
    void *jobs = zmq_socket (self->context, ZMQ_PAIR);
    void *control = zmq_socket (self->context, ZMQ_PAIR);
    void *out = zmq_socket (self->context, ZMQ_PAIR);
    s_job_t *held = NULL;  //  a sealed job whose result did not fit yet
    if (!jobs || !control || !out || rh_pipe_limits (jobs, RH_SEAL_CREDIT + RH_SEAL_SLACK)
        || rh_pipe_limits (control, RH_SEAL_SLACK)
        || rh_pipe_limits (out, RH_SEAL_CREDIT + RH_SEAL_SLACK)
        || zmq_connect (jobs, self->jobs_endpoint) || zmq_connect (control, self->control_endpoint)
        || zmq_connect (out, self->results_endpoint))
        goto out;
    //  Ready: the main loop may send jobs now that this end is connected.
    if (zmq_send (out, "", 0, ZMQ_DONTWAIT) != 0)
        goto out;
    while (!s_worker_stopping (control)) {
        if (held) {
            if (zmq_send (out, &held, sizeof held, ZMQ_DONTWAIT) == (int) sizeof held)
                held = NULL;
            else if (errno != EAGAIN && errno != EINTR)
                break;
        }
        if (!held && (held = rh_pipe_recv (jobs, NULL)) != NULL) {
            s_seal (held, self->signer);
            continue;  //  control first, then send
        }
        zmq_pollitem_t items [] = { { control, 0, ZMQ_POLLIN, 0 },
                                    { held ? out : jobs, 0, held ? ZMQ_POLLOUT : ZMQ_POLLIN, 0 } };
        if (zmq_poll (items, 2, -1) < 0 && errno != EINTR)
            break;
    }
out:
    //  Jobs never started and a result never sent are the worker's to free.
    s_job_destroy (&held);
    s_job_t *job;
    while (jobs && (job = rh_pipe_recv (jobs, NULL)) != NULL)
        s_job_destroy (&job);
    rh_pipe_close (&jobs);
    rh_pipe_close (&control);
    rh_pipe_close (&out);
    return NULL;
}

//  ---------------------------------------------------------------------------------------------
//  Main thread

rh_sealer_t *
rh_sealer_new (void *context, rh_signer_t **signer_p)
{
    assert (context && signer_p && *signer_p);
    rh_sealer_t *self = calloc (1, sizeof *self);
    s_worker_t *worker = calloc (1, sizeof *worker);
    if (!self || !worker) {
        rh_signer_destroy (signer_p);
        free (self);
        free (worker);
        return NULL;
    }
    worker->context = context;
    worker->signer = *signer_p;
    *signer_p = NULL;
    self->worker = worker;
    //  inproc names are per context and are released only when the socket is reaped: a random
    //  prefix lets a new sealer start while an old one is still going away.
    uint64_t nonce = 0;
    randombytes_buf (&nonce, sizeof nonce);
    snprintf (worker->jobs_endpoint, sizeof worker->jobs_endpoint,
              "inproc://rh-seal-%016" PRIx64 "-jobs", nonce);
    snprintf (worker->control_endpoint, sizeof worker->control_endpoint,
              "inproc://rh-seal-%016" PRIx64 "-control", nonce);
    snprintf (worker->results_endpoint, sizeof worker->results_endpoint,
              "inproc://rh-seal-%016" PRIx64 "-results", nonce);
    self->jobs = zmq_socket (context, ZMQ_PAIR);
    self->control = zmq_socket (context, ZMQ_PAIR);
    self->results = zmq_socket (context, ZMQ_PAIR);
    if (!self->jobs || !self->control || !self->results
        || rh_pipe_limits (self->jobs, RH_SEAL_CREDIT + RH_SEAL_SLACK)
        || rh_pipe_limits (self->control, RH_SEAL_SLACK)
        || rh_pipe_limits (self->results, RH_SEAL_CREDIT + RH_SEAL_SLACK)
        || zmq_bind (self->jobs, worker->jobs_endpoint) != 0
        || zmq_bind (self->control, worker->control_endpoint) != 0
        || zmq_bind (self->results, worker->results_endpoint) != 0
        || pthread_create (&worker->thread, NULL, s_worker, worker) != 0)
        goto fail;
    self->started = true;
    //  A PAIR refuses to send before its peer connects: wait for the worker to say it is ready,
    //  within a bound.
    int64_t deadline = rh_time_now_ms () + RH_SEAL_START_MS;
    while (true) {
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
            break;
    }
    return self;
fail:
    rh_log_error ("sealer", "cannot start the signing worker");
    rh_sealer_destroy (&self);
    return NULL;
}

void
rh_sealer_destroy (rh_sealer_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        rh_sealer_t *self = *self_p;
        s_worker_t *worker = self->worker;
        if (self->started) {
            //  The control pipe holds nothing else, so $TERM always fits.
            if (zmq_send (self->control, "$TERM", 5, ZMQ_DONTWAIT) != 5)
                rh_log_error ("sealer", "cannot ask the signing worker to stop");
            struct timespec until;
            clock_gettime (CLOCK_REALTIME, &until);
            until.tv_sec += RH_SEAL_STOP_MS / 1000;
            until.tv_nsec += (long) (RH_SEAL_STOP_MS % 1000) * 1000000L;
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            if (pthread_timedjoin_np (worker->thread, NULL, &until) == 0) {
                rh_signer_destroy (&worker->signer);
                free (worker);
            }
            else {
                //  Still signing: it keeps its own state. Waiting longer would hold up the stop.
                rh_log_error ("sealer", "the signing worker did not stop in time; leaving it");
                pthread_detach (worker->thread);
            }
        }
        else if (worker) {
            rh_signer_destroy (&worker->signer);
            free (worker);
        }
        self->worker = NULL;
        //  Results nobody will read own their envelopes and bytes.
        s_job_t *job;
        while (self->results && (job = rh_pipe_recv (self->results, NULL)) != NULL)
            s_job_destroy (&job);
        rh_pipe_close (&self->jobs);
        rh_pipe_close (&self->control);
        rh_pipe_close (&self->results);
        free (self);
        *self_p = NULL;
    }
}

void *
rh_sealer_socket (rh_sealer_t *self)
{
    assert (self);
    return self->results;
}

int
rh_sealer_submit (rh_sealer_t *self, rh_envelope_t **envelope_p, uint64_t tag)
{
    assert (self && envelope_p);
    if (self->load >= RH_SEAL_CREDIT)
        return RH_SEALER_BUSY;
    s_job_t *job = calloc (1, sizeof *job);
    if (!job)
        return RH_SEALER_REFUSED;
    job->result.tag = tag;
    job->result.envelope = *envelope_p;
    if (rh_pipe_send (self->jobs, job) != 0) {
        //  Cannot happen within credit; if it does, it is a full pipe: busy, never wait.
        bool full = errno == EAGAIN;
        free (job);  //  the envelope stays the caller's
        return full ? RH_SEALER_BUSY : RH_SEALER_REFUSED;
    }
    *envelope_p = NULL;
    self->load++;
    return RH_SEALER_QUEUED;
}

bool
rh_sealer_has_room (rh_sealer_t *self)
{
    assert (self);
    return self->load < RH_SEAL_CREDIT;
}

int
rh_sealer_result (rh_sealer_t *self, rh_sealed_t *result)
{
    assert (self && result);
    memset (result, 0, sizeof *result);
    s_job_t *job = rh_pipe_recv (self->results, NULL);
    if (!job)
        return -1;
    //  The credit comes back when the caller takes the result, not when the worker sends it:
    //  so the worker's unread results never outgrow its pipe.
    if (ALWAYS (self->load > 0))
        self->load--;
    *result = job->result;
    free (job);
    return 0;
}

void
rh_sealed_release (rh_sealed_t *result)
{
    assert (result);
    rh_envelope_destroy (&result->envelope);
    free (result->sealed);
    result->sealed = NULL;
    result->sealed_size = 0;
}

size_t
rh_sealer_in_flight (rh_sealer_t *self)
{
    assert (self);
    return self->load;
}
