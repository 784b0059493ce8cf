/*  =========================================================================
    rh_verifier - signature-verify workers beside the broker's main loop
    =========================================================================
*/
#include "rh_broker_classes.h"

#define RH_MAX_WORKERS      16
#define RH_RESULTS_ENDPOINT "inproc://rh-verified"

typedef struct {
    pthread_t thread;
    void *context;
    char endpoint [64];  //  where this worker's PAIR connects
    char pki_dir [PATH_MAX];
    int index;
} s_worker_t;

typedef struct {
    char agency [RH_MAX_ID + 1];
    int worker;  //  worker holding this sender's messages
    size_t in_flight;
} s_affinity_t;

struct _rh_verifier_t {
    void *context;
    void *pipes [RH_MAX_WORKERS];  //  main -> worker (PAIR)
    void *results;                 //  workers -> main (PULL)
    s_worker_t workers [RH_MAX_WORKERS];
    int count;
    size_t load [RH_MAX_WORKERS];  //  in flight per worker
    s_affinity_t *senders;         //  in flight per sender
    size_t sender_count;
};

//  Worker thread: decode, check sender, verify; send back the result with the envelope.
static void *
s_worker (void *arg)
{
    s_worker_t *worker = arg;
    void *pipe = zmq_socket (worker->context, ZMQ_PAIR);
    void *out = zmq_socket (worker->context, ZMQ_PUSH);
    rh_certstore_t *store = rh_certstore_load_dir (worker->pki_dir);
    if (!pipe || !out || zmq_connect (pipe, worker->endpoint)
        || zmq_connect (out, RH_RESULTS_ENDPOINT))
        goto out;
    while (true) {
        zmq_msg_t parts [4];
        int count = 0;
        bool more = true;
        while (more && count < 4) {
            zmq_msg_init (&parts [count]);
            if (zmq_msg_recv (&parts [count], pipe, 0) < 0) {
                zmq_msg_close (&parts [count]);
                goto out;
            }
            more = zmq_msg_more (&parts [count]);
            count++;
        }
        if (count == 1 && zmq_msg_size (&parts [0]) == 5
            && memcmp (zmq_msg_data (&parts [0]), "$TERM", 5) == 0) {
            zmq_msg_close (&parts [0]);
            break;
        }
        if (count == 1 && zmq_msg_size (&parts [0]) == 7
            && memcmp (zmq_msg_data (&parts [0]), "$RELOAD", 7) == 0) {
            rh_certstore_t *fresh = rh_certstore_load_dir (worker->pki_dir);
            if (fresh) {
                rh_certstore_destroy (&store);
                store = fresh;
            }
            zmq_msg_close (&parts [0]);
            continue;
        }
        if (count != 4 || more) {
            for (int i = 0; i < count; i++)
                zmq_msg_close (&parts [i]);
            continue;  //  cannot happen: only the main loop writes here
        }
        //  parts: routing id, agency, msg id, sealed
        rh_verified_t result;
        memset (&result, 0, sizeof result);
        result.routing_id_size = zmq_msg_size (&parts [0]);
        if (result.routing_id_size > sizeof result.routing_id)
            result.routing_id_size = sizeof result.routing_id;
        memcpy (result.routing_id, zmq_msg_data (&parts [0]), result.routing_id_size);
        snprintf (result.agency, sizeof result.agency, "%.*s", (int) zmq_msg_size (&parts [1]),
                  (char *) zmq_msg_data (&parts [1]));
        snprintf (result.msg_id, sizeof result.msg_id, "%.*s", (int) zmq_msg_size (&parts [2]),
                  (char *) zmq_msg_data (&parts [2]));
        const uint8_t *sealed = zmq_msg_data (&parts [3]);
        size_t size = zmq_msg_size (&parts [3]);
        crypto_hash_sha256 (result.sealed_sha256, sealed, size);
        result.rc = rh_envelope_decode (sealed, size, &result.envelope);
        if (result.rc == RH_OK && strcmp (rh_envelope_msg_id (result.envelope), result.msg_id) != 0)
            result.rc = RH_E_MALFORMED;  //  the frame and the signed header disagree
        if (result.rc == RH_OK)
            result.rc = rh_envelope_check_sender (result.envelope, result.agency);
        if (result.rc == RH_OK)
            result.rc =
                store ? rh_certstore_verify (store, result.envelope, rh_time_now_ms ()) : RH_E_CRL;
        if (result.rc != RH_OK)
            rh_envelope_destroy (&result.envelope);
        for (int i = 0; i < count; i++)
            zmq_msg_close (&parts [i]);
        if (zmq_send (out, &result, sizeof result, 0) < 0) {
            rh_envelope_destroy (&result.envelope);
            break;
        }
    }
out:
    rh_certstore_destroy (&store);
    if (pipe)
        zmq_close (pipe);
    if (out) {
        int linger = 0;
        zmq_setsockopt (out, ZMQ_LINGER, &linger, sizeof linger);
        zmq_close (out);
    }
    return NULL;
}

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
    if (workers > RH_MAX_WORKERS)
        workers = RH_MAX_WORKERS;
    self->senders = calloc (RH_MAX_AGENCIES, sizeof *self->senders);
    self->results = zmq_socket (context, ZMQ_PULL);
    if (!self->senders || !self->results || zmq_bind (self->results, RH_RESULTS_ENDPOINT) != 0)
        goto fail;
    for (int i = 0; i < workers; i++) {
        s_worker_t *worker = &self->workers [i];
        worker->context = context;
        worker->index = i;
        snprintf (worker->endpoint, sizeof worker->endpoint, "inproc://rh-verify-%d", i);
        snprintf (worker->pki_dir, sizeof worker->pki_dir, "%s", pki_dir);
        self->pipes [i] = zmq_socket (context, ZMQ_PAIR);
        if (!self->pipes [i] || zmq_bind (self->pipes [i], worker->endpoint) != 0)
            goto fail;
        if (pthread_create (&worker->thread, NULL, s_worker, worker) != 0)
            goto fail;
        self->count++;
    }
    return self;
fail:
    rh_log_error ("verifier", "cannot start verify workers");
    rh_verifier_destroy (&self);
    return NULL;
}

void
rh_verifier_destroy (rh_verifier_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        rh_verifier_t *self = *self_p;
        for (int i = 0; i < self->count; i++)
            zmq_send (self->pipes [i], "$TERM", 5, 0);
        for (int i = 0; i < self->count; i++)
            pthread_join (self->workers [i].thread, NULL);
        //  Results nobody will read still own envelopes.
        rh_verified_t result;
        while (self->results
               && zmq_recv (self->results, &result, sizeof result, ZMQ_DONTWAIT) == sizeof result)
            rh_envelope_destroy (&result.envelope);
        int linger = 0;
        for (int i = 0; i < RH_MAX_WORKERS; i++)
            if (self->pipes [i]) {
                zmq_setsockopt (self->pipes [i], ZMQ_LINGER, &linger, sizeof linger);
                zmq_close (self->pipes [i]);
            }
        if (self->results) {
            zmq_setsockopt (self->results, ZMQ_LINGER, &linger, sizeof linger);
            zmq_close (self->results);
        }
        free (self->senders);
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

static s_affinity_t *
s_affinity (rh_verifier_t *self, const char *agency)
{
    for (size_t i = 0; i < self->sender_count; i++)
        if (strcmp (self->senders [i].agency, agency) == 0)
            return &self->senders [i];
    if (self->sender_count >= RH_MAX_AGENCIES)
        return NULL;
    s_affinity_t *entry = &self->senders [self->sender_count++];
    snprintf (entry->agency, sizeof entry->agency, "%s", agency);
    return entry;
}

int
rh_verifier_submit (rh_verifier_t *self, const uint8_t *routing_id, size_t routing_id_size,
                    const char *agency, const char *msg_id, const uint8_t *sealed, size_t size)
{
    assert (self && routing_id && agency && msg_id && sealed);
    s_affinity_t *sender = s_affinity (self, agency);
    if (!sender)
        return -1;
    if (sender->in_flight == 0) {
        //  Free to move: pick the least-loaded worker.
        int best = 0;
        for (int i = 1; i < self->count; i++)
            if (self->load [i] < self->load [best])
                best = i;
        sender->worker = best;
    }
    void *pipe = self->pipes [sender->worker];
    if (zmq_send (pipe, routing_id, routing_id_size, ZMQ_SNDMORE) < 0
        || zmq_send (pipe, agency, strlen (agency), ZMQ_SNDMORE) < 0
        || zmq_send (pipe, msg_id, strlen (msg_id), ZMQ_SNDMORE) < 0
        || zmq_send (pipe, sealed, size, 0) < 0)
        return -1;
    sender->in_flight++;
    self->load [sender->worker]++;
    return 0;
}

int
rh_verifier_result (rh_verifier_t *self, rh_verified_t *result)
{
    assert (self && result);
    if (zmq_recv (self->results, result, sizeof *result, ZMQ_DONTWAIT) != sizeof *result)
        return -1;
    s_affinity_t *sender = s_affinity (self, result->agency);
    if (sender && sender->in_flight > 0) {
        sender->in_flight--;
        if (self->load [sender->worker] > 0)
            self->load [sender->worker]--;
    }
    return 0;
}

void
rh_verifier_reload (rh_verifier_t *self)
{
    assert (self);
    for (int i = 0; i < self->count; i++)
        zmq_send (self->pipes [i], "$RELOAD", 7, 0);
}

size_t
rh_verifier_in_flight (rh_verifier_t *self)
{
    assert (self);
    size_t total = 0;
    for (int i = 0; i < self->count; i++)
        total += self->load [i];
    return total;
}
