/*  =========================================================================
    rh_cosigner - submits the broker's checkpoints to its witnesses

    The request thread owns only its curl handle and the witnesses' URLs;
    a job is a heap block whose pointer crosses the pair and comes back
    with the answers filled in. A stop flag aborts a request in progress
    (curl's progress callback), so destroy returns within about a second.
    =========================================================================
*/
#include "rh_broker_classes.h"
#include <curl/curl.h>
#include <stdatomic.h>

#define RH_COSIGNER_MAX_URL   1024  //  a witness's base URL, bytes
#define RH_COSIGNER_BAD_REPLY 1     //  a witness state: it answered 200 with no valid cosignature

//  One request of a job: built by the main loop, answered by the thread.
typedef struct {
    size_t witness;  //  index into the witnesses
    uint64_t old;    //  the size the request says the witness cosigned
    char *body;      //  the add-checkpoint body (owned)
    size_t body_size;
    long status;  //  HTTP status, 0 if no answer came
    char reply [RH_MAX_WITNESS_REPLY + 1];
    size_t reply_size;
    bool overflow;  //  the reply was longer than RH_MAX_WITNESS_REPLY
} s_request_t;

typedef struct {
    rh_checkpoint_t checkpoint;
    size_t count;
    s_request_t requests [RH_MAX_WITNESSES];
} s_job_t;

typedef struct {
    char url [RH_COSIGNER_MAX_URL];  //  an HTTP witness's base URL, or "" for...
    char region [RH_MAX_ID + 1];     //  ...another region's broker, asked over its link
    rh_note_vkey_t vkey;
    uint64_t size;       //  last size this witness cosigned (or said it had, in a 409)
    int64_t next_ms;     //  not before then
    int64_t backoff_ms;  //  0 while the witness answers
    long state;          //  last outcome logged: 200, 0 (unreachable) or a refusal's status
    //  A peer broker's request out (one at a time): what it asked, and when.
    bool asked;
    int64_t asked_ms;
    uint64_t asked_old;
    rh_checkpoint_t asked_checkpoint;
} s_witness_t;

struct _rh_cosigner_t {
    rh_db_t *db;
    rh_audit_t *audit;
    rh_signer_t *signer;
    char origin [RH_NOTE_MAX_NAME + 1];
    char log_vkey [RH_NOTE_MAX_VKEY];
    s_witness_t witnesses [RH_MAX_WITNESSES + RH_MAX_FED_REGIONS];
    size_t count;       //  witnesses [0, count): HTTP witnesses first, then peer brokers
    void *pipe;         //  main end of the pair
    void *worker_pipe;  //  the thread's end
    pthread_t thread;
    bool started;
    bool busy;  //  a job is out
    atomic_bool stop;
};

//  --------------------------------------------------------------------------
//  The request thread

static size_t
s_write (char *data, size_t size, size_t count, void *arg)
{
    s_request_t *request = arg;
    size_t length = size * count;
    if (request->reply_size + length > RH_MAX_WITNESS_REPLY) {
        request->overflow = true;
        return 0;  //  curl stops the transfer
    }
    memcpy (request->reply + request->reply_size, data, length);
    request->reply_size += length;
    request->reply [request->reply_size] = 0;
    return length;
}

static int
s_progress (void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    (void) a, (void) b, (void) c, (void) d;
    rh_cosigner_t *self = arg;
    return atomic_load (&self->stop) ? 1 : 0;
}

static void
s_post (rh_cosigner_t *self, CURL *curl, s_request_t *request)
{
    char url [RH_COSIGNER_MAX_URL + 32];
    snprintf (url, sizeof url, "%s/add-checkpoint", self->witnesses [request->witness].url);
    struct curl_slist *headers = curl_slist_append (NULL, "Content-Type: text/plain");
    curl_easy_reset (curl);
    curl_easy_setopt (curl, CURLOPT_URL, url);
    curl_easy_setopt (curl, CURLOPT_POST, 1L);
    curl_easy_setopt (curl, CURLOPT_POSTFIELDS, request->body);
    curl_easy_setopt (curl, CURLOPT_POSTFIELDSIZE, (long) request->body_size);
    curl_easy_setopt (curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt (curl, CURLOPT_TIMEOUT_MS, (long) RH_WITNESS_TIMEOUT_MS);
    curl_easy_setopt (curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt (curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt (curl, CURLOPT_WRITEFUNCTION, s_write);
    curl_easy_setopt (curl, CURLOPT_WRITEDATA, request);
    curl_easy_setopt (curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt (curl, CURLOPT_XFERINFOFUNCTION, s_progress);
    curl_easy_setopt (curl, CURLOPT_XFERINFODATA, self);
    request->status = 0;
    request->reply_size = 0;
    request->reply [0] = 0;
    if (curl_easy_perform (curl) == CURLE_OK)
        curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &request->status);
    curl_slist_free_all (headers);
}

static void *
s_worker (void *arg)
{
    rh_cosigner_t *self = arg;
    CURL *curl = curl_easy_init ();
    while (true) {
        s_job_t *job = NULL;
        if (zmq_recv (self->worker_pipe, &job, sizeof job, 0) != (int) sizeof job) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (!job)
            break;  //  asked to stop
        for (size_t i = 0; i < job->count && !atomic_load (&self->stop); i++) {
            if (curl)
                s_post (self, curl, &job->requests [i]);
        }
        //  One job out at a time: the pair holds it, so this never blocks.
        rh_pipe_send (self->worker_pipe, job);
    }
    if (curl)
        curl_easy_cleanup (curl);
    return NULL;
}

//  --------------------------------------------------------------------------
//  The main loop's side

static void
s_job_free (s_job_t **job_p)
{
    if (*job_p) {
        for (size_t i = 0; i < (*job_p)->count; i++)
            free ((*job_p)->requests [i].body);
        free (*job_p);
        *job_p = NULL;
    }
}

static void
s_store_size (rh_cosigner_t *self, s_witness_t *witness)
{
    char key [RH_NOTE_MAX_NAME + 8], value [32];
    snprintf (key, sizeof key, "wc/%s", witness->vkey.name);
    snprintf (value, sizeof value, "%" PRIu64, witness->size);
    rh_db_put (self->db, key, strlen (key), value, strlen (value));
}

//  Starts a witness's record: its last cosigned size, as kept.
static void
s_load_size (rh_cosigner_t *self, s_witness_t *witness)
{
    witness->state = 200;
    witness->size = 0;
    char key [RH_NOTE_MAX_NAME + 8], value [32];
    snprintf (key, sizeof key, "wc/%s", witness->vkey.name);
    if (rh_db_get_text (self->db, key, value, sizeof value - 1))
        witness->size = strtoull (value, NULL, 10);
}

//  Splits a space-separated configuration value into words; returns the count or -1.
static int
s_words (const char *text, char (*words) [RH_COSIGNER_MAX_URL], size_t max)
{
    size_t count = 0;
    while (*text) {
        text += strspn (text, " \t,");
        size_t length = strcspn (text, " \t,");
        if (length == 0)
            break;
        if (count == max || length >= RH_COSIGNER_MAX_URL)
            return -1;
        memcpy (words [count], text, length);
        words [count][length] = 0;
        count++;
        text += length;
    }
    return (int) count;
}

rh_cosigner_t *
rh_cosigner_new (void *context, rh_config_t *config, rh_db_t *db, rh_audit_t *audit,
                 rh_signer_t *signer)
{
    assert (context && config && db && audit && signer);
    rh_cosigner_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->db = db;
    self->audit = audit;
    self->signer = signer;
    atomic_init (&self->stop, false);
    char urls [RH_MAX_WITNESSES][RH_COSIGNER_MAX_URL];
    char keys [RH_MAX_WITNESSES][RH_COSIGNER_MAX_URL];
    int url_count = s_words (rh_config_str (config, "witness/urls"), urls, RH_MAX_WITNESSES);
    int key_count = s_words (rh_config_str (config, "witness/keys"), keys, RH_MAX_WITNESSES);
    const char *origin = rh_config_str (config, "witness/origin");
    rh_note_vkey_t log_key;
    if (url_count < 0 || url_count != key_count || strlen (origin) >= sizeof self->origin
        || rh_note_vkey_make (origin, RH_NOTE_TYPE_ED25519, rh_signer_public_key (signer), &log_key)
               != RH_OK
        || rh_note_vkey_format (&log_key, self->log_vkey, sizeof self->log_vkey) != 0) {
        rh_log_error ("cosigner",
                      "witness/urls and witness/keys must name the same number of "
                      "witnesses (0 to %d), and witness/origin a valid origin",
                      RH_MAX_WITNESSES);
        free (self);
        return NULL;
    }
    strcpy (self->origin, origin);
    self->count = (size_t) url_count;
    for (size_t i = 0; i < self->count; i++) {
        s_witness_t *witness = &self->witnesses [i];
        strcpy (witness->url, urls [i]);
        if (rh_note_vkey_parse (keys [i], &witness->vkey) != RH_OK
            || witness->vkey.type != RH_NOTE_TYPE_COSIGNATURE) {
            rh_log_error ("cosigner", "witness/keys: key %zu is not a cosignature/v1 vkey", i + 1);
            free (self);
            return NULL;
        }
        s_load_size (self, witness);
    }
    char endpoint [64];
    snprintf (endpoint, sizeof endpoint, "inproc://rh-cosigner-%p", (void *) self);
    int linger = 0;
    curl_global_init (CURL_GLOBAL_DEFAULT);
    self->pipe = zmq_socket (context, ZMQ_PAIR);
    self->worker_pipe = zmq_socket (context, ZMQ_PAIR);
    if (!self->pipe || !self->worker_pipe
        || zmq_setsockopt (self->pipe, ZMQ_LINGER, &linger, sizeof linger) != 0
        || zmq_setsockopt (self->worker_pipe, ZMQ_LINGER, &linger, sizeof linger) != 0
        || zmq_bind (self->pipe, endpoint) != 0 || zmq_connect (self->worker_pipe, endpoint) != 0
        || pthread_create (&self->thread, NULL, s_worker, self) != 0) {
        rh_log_error ("cosigner", "cannot start the witness thread");
        rh_cosigner_destroy (&self);
        return NULL;
    }
    self->started = true;
    rh_log_info ("cosigner", "checkpoints go to %zu witness(es) as %s%s", self->count,
                 self->log_vkey, self->count ? "" : " (federated brokers only)");
    return self;
}

void
rh_cosigner_destroy (rh_cosigner_t **self_p)
{
    assert (self_p);
    rh_cosigner_t *self = *self_p;
    if (!self)
        return;
    if (self->started) {
        atomic_store (&self->stop, true);
        //  At most one job is out, so the pair has room for this (NULL: stop).
        rh_pipe_send (self->pipe, NULL);
        pthread_join (self->thread, NULL);
        s_job_t *job = NULL;
        while ((job = rh_pipe_recv (self->pipe, NULL)) != NULL)
            s_job_free (&job);
    }
    if (self->pipe)
        zmq_close (self->pipe);
    if (self->worker_pipe)
        zmq_close (self->worker_pipe);
    curl_global_cleanup ();
    free (self);
    *self_p = NULL;
}

void *
rh_cosigner_socket (rh_cosigner_t *self)
{
    assert (self);
    return self->pipe;
}

const char *
rh_cosigner_log_vkey (rh_cosigner_t *self)
{
    assert (self);
    return self->log_vkey;
}

//  Builds the add-checkpoint body for witness from its last size. Returns 0 or -1.
static int
s_request (rh_cosigner_t *self, const rh_checkpoint_t *checkpoint, s_witness_t *witness,
           s_request_t *request)
{
    uint8_t proof [RH_MERKLE_MAX_PROOF][RH_DIGEST_LEN];
    int count = 0;
    if (witness->size > 0) {
        count = rh_audit_consistency_proof (self->db, witness->size, checkpoint->size, proof);
        if (count < 0 || count > RH_NOTE_MAX_PROOF)
            return -1;
    }
    rh_note_t *note = rh_note_from_checkpoint (self->origin, checkpoint);
    int rc = note && rh_note_sign_with (note, self->origin, self->signer) == 0
                     && rh_note_request_encode (
                            witness->size, (const uint8_t (*) [RH_DIGEST_LEN]) proof,
                            (size_t) count, note, &request->body, &request->body_size)
                            == 0
                 ? 0
                 : -1;
    rh_note_destroy (&note);
    request->old = witness->size;
    return rc;
}

void
rh_cosigner_tick (rh_cosigner_t *self, const rh_checkpoint_t *checkpoint, int64_t now_ms)
{
    assert (self && checkpoint);
    if (self->busy || checkpoint->size == 0)
        return;
    s_job_t *job = calloc (1, sizeof *job);
    if (!job)
        return;
    job->checkpoint = *checkpoint;
    for (size_t i = 0; i < self->count; i++) {
        s_witness_t *witness = &self->witnesses [i];
        if (*witness->region || witness->size >= checkpoint->size || now_ms < witness->next_ms)
            continue;
        s_request_t *request = &job->requests [job->count];
        request->witness = i;
        if (s_request (self, checkpoint, witness, request) != 0) {
            rh_log_error ("cosigner", "cannot build a request for checkpoint %" PRIu64,
                          checkpoint->size);
            free (request->body);
            request->body = NULL;
            witness->next_ms = now_ms + RH_WITNESS_BACKOFF_MAX_MS;
            continue;
        }
        job->count++;
    }
    if (job->count == 0 || rh_pipe_send (self->pipe, job) != 0) {
        s_job_free (&job);
        return;
    }
    self->busy = true;
}

//  Logs and audits a change of a witness's state, once.
static void
s_state (rh_cosigner_t *self, s_witness_t *witness, long state, int64_t now_ms)
{
    if (state == 200) {
        witness->backoff_ms = 0;
        witness->next_ms = 0;
    }
    else {
        witness->backoff_ms =
            witness->backoff_ms == 0 ? RH_WITNESS_BACKOFF_MIN_MS : witness->backoff_ms * 2;
        if (witness->backoff_ms > RH_WITNESS_BACKOFF_MAX_MS)
            witness->backoff_ms = RH_WITNESS_BACKOFF_MAX_MS;
        witness->next_ms = now_ms + witness->backoff_ms;
    }
    if (state == witness->state)
        return;
    char detail [RH_NOTE_MAX_NAME + 96];
    if (state == 200) {
        rh_log_info ("cosigner", "witness %s cosigns again", witness->vkey.name);
        snprintf (detail, sizeof detail, "witness %s cosigns again", witness->vkey.name);
        rh_audit_event (self->audit, "WITNESS_BACK", RH_OK, NULL, NULL, NULL, 0, NULL, 0, NULL,
                        detail);
    }
    else if (state == 0) {
        rh_log_warn ("cosigner",
                     "witness %s is unreachable; checkpoints wait for it (routing goes on)",
                     witness->vkey.name);
        snprintf (detail, sizeof detail, "witness %s is unreachable", witness->vkey.name);
        rh_audit_event (self->audit, "WITNESS_UNREACHABLE", RH_E_IO, NULL, NULL, NULL, 0, NULL, 0,
                        NULL, detail);
    }
    else {
        //  RH_COSIGNER_BAD_REPLY: a 200 without a cosignature of the witness's key.
        rh_log_error ("cosigner", "witness %s refuses our checkpoints (%s %ld)", witness->vkey.name,
                      state == RH_COSIGNER_BAD_REPLY ? "no valid cosignature in its reply, code"
                                                     : "HTTP",
                      state);
        snprintf (detail, sizeof detail, "witness %s refuses checkpoints (%s %ld)",
                  witness->vkey.name,
                  state == RH_COSIGNER_BAD_REPLY ? "no valid cosignature, code" : "HTTP", state);
        rh_audit_event (self->audit, "WITNESS_REFUSED", RH_E_SIG, NULL, NULL, NULL, 0, NULL, 0,
                        NULL, detail);
    }
    witness->state = state;
}

//  Keeps the broker's own signature line of the note the witnesses cosigned beside the
//  checkpoint: with it the cosignature lines make the complete signed note that an evidence
//  bundle carries. Ed25519 is deterministic, so this is the line the requests carried.
static void
s_keep_log_line (rh_cosigner_t *self, const rh_checkpoint_t *checkpoint)
{
    rh_note_t *note = rh_note_from_checkpoint (self->origin, checkpoint);
    char line [RH_CHECKPOINT_MAX_COSIGNED];
    if (!note || rh_note_sign_with (note, self->origin, self->signer) != 0
        || rh_note_line (note, 0, line, sizeof line) <= 0
        || rh_audit_note_signed (self->audit, checkpoint->size, line) != 0)
        rh_log_error ("cosigner", "cannot keep the broker's note signature of checkpoint %" PRIu64,
                      checkpoint->size);
    rh_note_destroy (&note);
}

//  Checks a 200 reply (the witness's cosignature lines) and keeps the line of its key. Returns
//  1 if kept, 0 if not (logged).
static int
s_cosigned (rh_cosigner_t *self, s_witness_t *witness, const rh_checkpoint_t *checkpoint,
            const char *reply, size_t reply_size)
{
    rh_note_t *note = rh_note_from_checkpoint (self->origin, checkpoint);
    size_t verified = 0;
    int kept = 0;
    if (note && rh_note_add_lines (note, (const uint8_t *) reply, reply_size) == RH_OK
        && rh_note_verify (note, &witness->vkey, 1, &verified, NULL) == RH_OK && verified == 1) {
        for (size_t i = 0; i < rh_note_signatures (note) && !kept; i++) {
            const char *name;
            uint32_t id;
            const uint8_t *signature;
            size_t size;
            char line [RH_CHECKPOINT_MAX_COSIGNED];
            if (rh_note_signature (note, i, &name, &id, &signature, &size) == 0
                && id == witness->vkey.id && strcmp (name, witness->vkey.name) == 0
                && rh_note_line (note, i, line, sizeof line) > 0
                && rh_audit_cosigned (self->audit, checkpoint->size, self->origin, line) == 0)
                kept = 1;
        }
    }
    rh_note_destroy (&note);
    if (kept)
        s_keep_log_line (self, checkpoint);
    return kept;  //  if not, s_state says so (once)
}

//  Acts on a witness's answer to a request for checkpoint from size old: keeps a cosignature,
//  learns the size a 409 names, or notes a refusal. Returns 1 if a cosignature was kept.
static int
s_answer (rh_cosigner_t *self, s_witness_t *witness, const rh_checkpoint_t *checkpoint,
          uint64_t old, long status, const char *reply, size_t reply_size, bool overflow,
          int64_t now_ms)
{
    if (status == 200) {
        if (!overflow && s_cosigned (self, witness, checkpoint, reply, reply_size)) {
            witness->size = checkpoint->size;
            s_store_size (self, witness);
            s_state (self, witness, 200, now_ms);
            return 1;
        }
        s_state (self, witness, RH_COSIGNER_BAD_REPLY, now_ms);
    }
    else if (status == 409) {
        //  The witness holds another size: the body says which; send again from there.
        char *end = NULL;
        unsigned long long size = strtoull (reply, &end, 10);
        if (end != reply && (*end == '\n' || *end == 0) && size <= checkpoint->size
            && size != old) {
            witness->size = size;
            witness->next_ms = 0;
        }
        else
            s_state (self, witness, 409, now_ms);
    }
    else
        s_state (self, witness, status, now_ms);
    return 0;
}

int
rh_cosigner_receive (rh_cosigner_t *self, int64_t now_ms)
{
    assert (self);
    s_job_t *job = rh_pipe_recv (self->pipe, NULL);
    if (!job)
        return -1;
    self->busy = false;
    int kept = 0;
    for (size_t i = 0; i < job->count; i++) {
        const s_request_t *request = &job->requests [i];
        kept |= s_answer (self, &self->witnesses [request->witness], &job->checkpoint, request->old,
                          request->status, request->reply, request->reply_size, request->overflow,
                          now_ms);
    }
    s_job_free (&job);
    return kept;
}

//  --------------------------------------------------------------------------
//  Other regions' brokers as witnesses, asked over the federation links

static s_witness_t *
s_peer (rh_cosigner_t *self, const char *region)
{
    for (size_t i = 0; i < self->count; i++)
        if (strcmp (self->witnesses [i].region, region) == 0)
            return &self->witnesses [i];
    return NULL;
}

int
rh_cosigner_peer_add (rh_cosigner_t *self, const char *region, const rh_note_vkey_t *vkey)
{
    assert (self && region && *region && vkey);
    s_witness_t *witness = s_peer (self, region);
    if (witness && witness->vkey.id == vkey->id && strcmp (witness->vkey.name, vkey->name) == 0)
        return 0;
    if (!witness) {
        if (self->count == sizeof self->witnesses / sizeof self->witnesses [0]
            || strlen (region) >= sizeof witness->region)
            return -1;
        witness = &self->witnesses [self->count++];
    }
    memset (witness, 0, sizeof *witness);
    snprintf (witness->region, sizeof witness->region, "%s", region);
    witness->vkey = *vkey;
    s_load_size (self, witness);
    rh_log_info ("cosigner", "region %s's broker witnesses our checkpoints as %s", region,
                 vkey->name);
    return 0;
}

void
rh_cosigner_peer_remove (rh_cosigner_t *self, const char *region)
{
    assert (self && region);
    s_witness_t *witness = s_peer (self, region);
    if (!witness)
        return;
    //  Peers come after the HTTP witnesses: the last takes its place, and a job out names
    //  HTTP witnesses only, so no index it holds moves.
    *witness = self->witnesses [--self->count];
}

int
rh_cosigner_peer_request (rh_cosigner_t *self, const char *region,
                          const rh_checkpoint_t *checkpoint, int64_t now_ms, char **body,
                          size_t *body_size)
{
    assert (self && region && checkpoint && body && body_size);
    s_witness_t *witness = s_peer (self, region);
    if (!witness || checkpoint->size == 0)
        return 0;
    if (witness->asked) {
        if (now_ms - witness->asked_ms < RH_WITNESS_TIMEOUT_MS)
            return 0;
        witness->asked = false;  //  no answer came: as an HTTP witness that cannot be reached
        s_state (self, witness, 0, now_ms);
    }
    if (witness->size >= checkpoint->size || now_ms < witness->next_ms)
        return 0;
    s_request_t request = { 0 };
    if (s_request (self, checkpoint, witness, &request) != 0) {
        rh_log_error ("cosigner", "cannot build a request for checkpoint %" PRIu64,
                      checkpoint->size);
        free (request.body);
        witness->next_ms = now_ms + RH_WITNESS_BACKOFF_MAX_MS;
        return -1;
    }
    witness->asked = true;
    witness->asked_ms = now_ms;
    witness->asked_old = request.old;
    witness->asked_checkpoint = *checkpoint;
    *body = request.body;
    *body_size = request.body_size;
    return 1;
}

bool
rh_cosigner_peer_pending (rh_cosigner_t *self, const char *region,
                          const rh_checkpoint_t *checkpoint, int64_t now_ms)
{
    assert (self && region && checkpoint);
    s_witness_t *witness = s_peer (self, region);
    if (!witness || checkpoint->size == 0)
        return false;
    if (witness->asked)
        return now_ms - witness->asked_ms < RH_WITNESS_TIMEOUT_MS;
    return witness->size < checkpoint->size && now_ms >= witness->next_ms;
}

void
rh_cosigner_peer_lost (rh_cosigner_t *self, const char *region)
{
    assert (self && region);
    s_witness_t *witness = s_peer (self, region);
    if (witness)
        witness->asked = false;
}

int
rh_cosigner_peer_answer (rh_cosigner_t *self, const char *region, long status, const char *body,
                         size_t body_size, int64_t now_ms)
{
    assert (self && region && body);
    s_witness_t *witness = s_peer (self, region);
    if (!witness || !witness->asked)
        return 0;  //  asked nothing (or timed out): nothing to match it with
    witness->asked = false;
    return s_answer (self, witness, &witness->asked_checkpoint, witness->asked_old, status, body,
                     body_size, false, now_ms);
}

void
rh_cosigner_flush (rh_cosigner_t *self, const rh_checkpoint_t *checkpoint, int64_t wait_ms)
{
    assert (self && checkpoint);
    int64_t deadline = rh_time_now_ms () + wait_ms;
    for (size_t i = 0; i < self->count; i++)
        if (!*self->witnesses [i].region)
            self->witnesses [i].next_ms = 0;  //  one more try each, whatever the backoff
    while (true) {
        int64_t now = rh_time_now_ms ();
        rh_cosigner_tick (self, checkpoint, now);
        if (!self->busy || now >= deadline)
            return;
        zmq_pollitem_t item = { self->pipe, 0, ZMQ_POLLIN, 0 };
        if (zmq_poll (&item, 1, (long) (deadline - now)) < 0 && errno != EINTR)
            return;
        if (rh_cosigner_receive (self, rh_time_now_ms ()) >= 0) {
            //  Only a 409 is worth another round before stopping: no waiting out backoffs.
            bool resend = false;
            for (size_t i = 0; i < self->count; i++)
                resend |= !*self->witnesses [i].region
                          && self->witnesses [i].size < checkpoint->size
                          && self->witnesses [i].next_ms == 0 && self->witnesses [i].state == 200;
            if (!resend)
                return;
        }
    }
}
