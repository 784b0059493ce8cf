/*  =========================================================================
    rh-bench-broker - the broker alone, measured the way the peer brokers are

    rh-bench-broker [options] ENDPOINT PKI FRONT-DOOR SENDER...

    A client of a real broker that plays every agency itself, so that the
    broker is the only thing measured (no agents, no spool files). Over CURVE
    with each agency's transport key from PKI:
      - each SENDER has its own connection and thread; it says Hello with
        credit, submits pre-signed referrals with at most -w unanswered
        (a sliding window over Accepted), and acknowledges the receipts the
        broker sends it when the front door has taken a referral in;
      - FRONT-DOOR has its own connection and thread; it says Hello with
        credit -c and acknowledges Deliver frames in batches as they arrive.
    The referrals (~1 KiB: the JSON of make bench's end-to-end run, to the
    front door of LA -l, with a 700-byte narrative) are all signed before
    the clock starts, each SENDER signing its share as itself.

    Options:
      -n N      referrals in all (default 10000), shared among the senders
      -r R      offered rate, referrals/s, on a fixed schedule (default 0:
                as fast as the windows allow)
      -W N      the first N of the schedule are warm-up, left out of the
                latency figures (with -r: -n 11000 -W 1000 is 1,000 warm-up
                then 10,000 measured)
      -w N      unanswered submissions per sender (default 100)
      -c N      the front door's credit (default 100)
      -T S      deadline of the run, seconds (default 60)
      -S PID    the broker's process id, for its CPU figures
      -l LA     the LA whose front door is addressed (default newport)
      -M MODE   the mode label (default broker-pub<senders> or broker-rate<R>)
      -L PEER   the peer label (default rhannu)

    Figures, as ../shared/peers defines them (one line, key=value):
      msgs_per_s   unique referrals delivered to the front door / (first
                   submit .. last delivery)
      p50/p99/max  per referral, from its send time (-r: its INTENDED send
                   time, so a stalled sender does not hide its delay: no
                   coordinated omission) to its Deliver at the front door,
                   nearest rank; matched through the msg_id of the delivered
                   sealed header, which names the sender and the index
      lost, dup    expected minus unique deliveries; deliveries seen twice
      *_cpu_pct    % of one core over first submit .. last delivery
      broker_us_per_msg  broker CPU per referral from the first submit until
                   every receipt arrived (so its case and its receipt count)
      receipts     receipts the senders received (and acknowledged)
    Exits 0 when every referral was delivered before the deadline and none
    was refused; 2 otherwise (lost=, rejected= say what). Part of make bench,
    never of make check.
    =========================================================================
*/
#include "rh_certs.h"

#define BENCH_MAX_SENDERS   16     //  sending agencies in one run
#define BENCH_MAX_TASKS     256    //  threads of this process the CPU figures follow
#define BENCH_NARRATIVE     700    //  bytes of narrative: a ~1 KiB sealed referral
#define BENCH_JSON_MAX      2048   //  the referral's JSON text
#define BENCH_HANDSHAKE_MS  10000  //  a connection's CURVE handshake and Hello, at most
#define BENCH_POLL_MS       10     //  longest sleep of a thread that has nothing to do
#define BENCH_RECEIPT_GRACE 10000  //  wait for the last receipts after the last delivery, ms
#define BENCH_NS            1000000000ULL
#define BENCH_MS            1000000ULL

//  The run as the command line set it.
typedef struct {
    const char *endpoint;                     //  the broker
    const char *pki;                          //  folder of every agency's keys
    const char *front_door;                   //  the receiving agency
    const char *la;                           //  the LA the referrals address
    const char *senders [BENCH_MAX_SENDERS];  //  the sending agencies
    int sender_count;                         //  how many
    uint64_t total;                           //  referrals in all
    uint64_t warmup;                          //  first of the schedule left out of latency
    double rate;                              //  offered referrals/s, 0 = max
    uint32_t window;                          //  unanswered submissions per sender
    uint32_t credit;                          //  the front door's credit
    double timeout_s;                         //  deadline of the run
    int broker_pid;                           //  0: no broker CPU figures
    const char *peer;                         //  label
    char mode [64];                           //  label
    char tag [32];                            //  this run's msg_id prefix
    uint64_t first_sequence;                  //  every sender's first sequence number
} s_config_t;

typedef struct _s_run_t s_run_t;

//  One sending agency: its connection, its pre-signed referrals, its counts.
typedef struct {
    s_run_t *run;         //  the run it belongs to
    int index;            //  position among the senders
    const char *agency;   //  its agency id
    pthread_t thread;     //  its thread
    uint64_t count;       //  referrals it submits
    uint8_t **sealed;     //  count sealed referrals, signed before the clock starts
    size_t *sealed_size;  //  their sizes
    uint64_t *sent_ns;    //  when each went (written here, read by the front door)
    uint64_t accepted;    //  Accepted frames
    uint64_t rejected;    //  Rejected frames: a failed run
    uint64_t receipts;    //  receipts delivered to it (atomic: main waits on it)
    uint64_t other;       //  other deliveries
    bool failed;          //  setup or transport failure
    char why [256];       //  what failed
} s_sender_t;

//  What the front door received: the only writer is its thread, read after it stopped.
typedef struct {
    uint8_t *seen [BENCH_MAX_SENDERS];  //  one byte per (sender, index)
    uint64_t *latency;                  //  ns, of the measured referrals
    uint64_t latency_count;             //  how many
    uint64_t unique;                    //  distinct referrals delivered (atomic: main polls)
    uint64_t dups;                      //  the same referral again
    uint64_t foreign;                   //  deliveries of no referral of this run
    uint64_t first_ns, last_ns;         //  first and last delivery
    bool failed;                        //  setup or transport failure
    char why [256];                     //  what failed
} s_book_t;

//  Everything the threads share.
struct _s_run_t {
    s_config_t config;                       //  the run
    void *context;                           //  one ZeroMQ context
    s_sender_t senders [BENCH_MAX_SENDERS];  //  the sending agencies
    s_book_t book;                           //  what the front door saw
    pthread_t receiver;                      //  the front door's thread
    pthread_barrier_t ready;                 //  every connection up, every referral signed
    pthread_barrier_t go;                    //  t_start set
    uint64_t t_start;                        //  first submit (scheduled)
    uint64_t deadline;                       //  nothing goes on after this
    int stop;                                //  atomic: threads leave their loops
};

//  CPU ticks of this process, each of its threads, the broker and the host at one moment.
typedef struct {
    int tasks;                          //  threads listed
    int tid [BENCH_MAX_TASKS];          //  their ids
    long long ticks [BENCH_MAX_TASKS];  //  their utime + stime
    long long self;                     //  this process
    long long broker;                   //  the broker, -1 if unknown
    long long host_busy, host_total;    //  /proc/stat, all cores
    uint64_t at;                        //  monotonic ns
} s_cpu_t;

//  CLOCK_MONOTONIC in ns: senders and the front door share it, so latency needs no sync.
static uint64_t
s_now_ns (void)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return (uint64_t) now.tv_sec * BENCH_NS + (uint64_t) now.tv_nsec;
}

//  Sleeps until a monotonic time (a slot of the fixed schedule).
static void
s_sleep_until (uint64_t at_ns)
{
    struct timespec at = { .tv_sec = (time_t) (at_ns / BENCH_NS),
                           .tv_nsec = (long) (at_ns % BENCH_NS) };
    while (clock_nanosleep (CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL) == EINTR)
        ;
}

//  True once main said stop or the run's deadline passed.
static bool
s_stopping (s_run_t *run)
{
    return __atomic_load_n (&run->stop, __ATOMIC_ACQUIRE) || s_now_ns () >= run->deadline;
}

//  --- Schedule: message index of sender p is global position index * senders + p ----------

static uint64_t
s_position (const s_config_t *config, int sender, uint64_t index)
{
    return index * (uint64_t) config->sender_count + (uint64_t) sender;
}

//  The intended send time of a position on the fixed schedule (-r), or 0 without one.
static uint64_t
s_intended (const s_run_t *run, uint64_t position)
{
    if (run->config.rate <= 0)
        return 0;
    return run->t_start + (uint64_t) ((double) position * 1e9 / run->config.rate);
}

//  --- CPU accounting from /proc ------------------------------------------------------------

//  utime + stime of a /proc/.../stat file, in clock ticks, or -1.
static long long
s_stat_ticks (const char *path)
{
    char text [2048];
    FILE *file = fopen (path, "r");
    if (!file)
        return -1;
    size_t size = fread (text, 1, sizeof text - 1, file);
    fclose (file);
    text [size] = 0;
    //  The command name may hold spaces and parentheses: the fields start after the last ')'.
    char *after = strrchr (text, ')');
    unsigned long long user = 0, system = 0;
    if (!after
        || sscanf (after + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &user,
                   &system)
               != 2)
        return -1;
    return (long long) (user + system);
}

//  Takes a snapshot of this process, its threads, the broker (if known) and the host.
static void
s_cpu_take (s_cpu_t *cpu, int broker_pid)
{
    char path [PATH_MAX];
    cpu->tasks = 0;
    DIR *dir = opendir ("/proc/self/task");
    struct dirent *entry;
    while (dir && (entry = readdir (dir)) && cpu->tasks < BENCH_MAX_TASKS) {
        if (entry->d_name [0] == '.')
            continue;
        rh_file_path (path, sizeof path, "/proc/self/task/%s/stat", entry->d_name);
        cpu->tid [cpu->tasks] = atoi (entry->d_name);
        cpu->ticks [cpu->tasks++] = s_stat_ticks (path);
    }
    if (dir)
        closedir (dir);
    cpu->self = s_stat_ticks ("/proc/self/stat");
    cpu->broker = -1;
    if (broker_pid > 0) {
        rh_file_path (path, sizeof path, "/proc/%d/stat", broker_pid);
        cpu->broker = s_stat_ticks (path);
    }
    cpu->host_busy = cpu->host_total = -1;
    unsigned long long v [8] = { 0 };
    FILE *file = fopen ("/proc/stat", "r");
    if (file) {
        //  user nice system idle iowait irq softirq steal: busy is all but idle and iowait.
        if (fscanf (file, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v [0], &v [1], &v [2],
                    &v [3], &v [4], &v [5], &v [6], &v [7])
            == 8) {
            cpu->host_total = 0;
            for (int i = 0; i < 8; i++)
                cpu->host_total += (long long) v [i];
            cpu->host_busy = cpu->host_total - (long long) (v [3] + v [4]);
        }
        fclose (file);
    }
    cpu->at = s_now_ns ();
}

//  % of one core between two snapshots.
static double
s_pct (long long from, long long to, const s_cpu_t *a, const s_cpu_t *b)
{
    double seconds = (double) (b->at - a->at) / 1e9;
    if (from < 0 || to < 0 || seconds <= 0)
        return -1;
    return 100.0 * (double) (to - from) / (double) sysconf (_SC_CLK_TCK) / seconds;
}

//  The busiest thread of this process between two snapshots, % of one core.
static double
s_busiest_thread (const s_cpu_t *a, const s_cpu_t *b)
{
    double busiest = 0;
    for (int i = 0; i < b->tasks; i++)
        for (int j = 0; j < a->tasks; j++)
            if (a->tid [j] == b->tid [i]) {
                double pct = s_pct (a->ticks [j], b->ticks [i], a, b);
                if (pct > busiest)
                    busiest = pct;
            }
    return busiest;
}

//  --- Connections --------------------------------------------------------------------------

//  Encodes and sends one frame.
static void
s_send_frame (void *socket, const rh_frame_t *frame)
{
    size_t size = 0;
    uint8_t *bytes = rh_frame_encode (frame, &size);
    if (bytes)
        zmq_send (socket, bytes, size, 0);
    free (bytes);
}

//  Acknowledges the deliveries that arrived together in one frame, as an agent batches.
static void
s_acknowledge (void *socket, const uint64_t *ids, size_t id_count)
{
    if (id_count == 0)
        return;
    rh_frame_t delivered = { .type = RH_FRAME_DELIVERED, .ids = ids, .id_count = id_count };
    s_send_frame (socket, &delivered);
}

//  A DEALER authenticated as agency (its CURVE keys from the PKI), connected, its handshake
//  done, Hello said with credit and floor. Returns NULL (why says) on failure.
static void *
s_connect (s_run_t *run, const char *agency, uint32_t credit, uint64_t floor, char *why,
           size_t why_size)
{
    uint8_t public_key [32], secret_key [32], broker_key [32];
    char dir [PATH_MAX], address [128];
    rh_file_path (dir, sizeof dir, "%s/broker", run->config.pki);
    if (rh_ca_load_curve (dir, broker_key, NULL) != 0) {
        snprintf (why, why_size, "no broker key in %s", run->config.pki);
        return NULL;
    }
    rh_file_path (dir, sizeof dir, "%s/%s", run->config.pki, agency);
    if (rh_ca_load_curve (dir, public_key, secret_key) != 0) {
        snprintf (why, why_size, "no transport keys for %s", agency);
        return NULL;
    }
    void *socket = zmq_socket (run->context, ZMQ_DEALER);
    void *monitor = zmq_socket (run->context, ZMQ_PAIR);
    int linger = 0;
    zmq_setsockopt (socket, ZMQ_CURVE_SERVERKEY, broker_key, 32);
    zmq_setsockopt (socket, ZMQ_CURVE_PUBLICKEY, public_key, 32);
    zmq_setsockopt (socket, ZMQ_CURVE_SECRETKEY, secret_key, 32);
    zmq_setsockopt (socket, ZMQ_LINGER, &linger, sizeof linger);
    sodium_memzero (secret_key, sizeof secret_key);
    snprintf (address, sizeof address, "inproc://bench-monitor-%s", agency);
    zmq_socket_monitor (socket, address,
                        ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH
                            | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
                            | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL);
    zmq_connect (monitor, address);
    zmq_connect (socket, run->config.endpoint);
    uint16_t event = 0;
    zmq_pollitem_t item = { monitor, 0, ZMQ_POLLIN, 0 };
    if (zmq_poll (&item, 1, BENCH_HANDSHAKE_MS) > 0) {
        zmq_msg_t first, second;
        zmq_msg_init (&first);
        zmq_msg_init (&second);
        zmq_msg_recv (&first, monitor, 0);
        zmq_msg_recv (&second, monitor, 0);
        if (zmq_msg_size (&first) >= 2)
            memcpy (&event, zmq_msg_data (&first), 2);
        zmq_msg_close (&first);
        zmq_msg_close (&second);
    }
    zmq_socket_monitor (socket, NULL, 0);
    zmq_close (monitor);
    if (event != ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
        snprintf (why, why_size, "%s: %s", agency,
                  event ? "the broker refused the handshake" : "no handshake in time");
        zmq_close (socket);
        return NULL;
    }
    rh_frame_t hello = { .type = RH_FRAME_HELLO, .credit = credit, .low_sequence = floor };
    s_send_frame (socket, &hello);
    return socket;
}

//  --- Senders ------------------------------------------------------------------------------

//  Signs every referral this sender will submit, as itself. Returns 0 or -1.
static int
s_sign_all (s_run_t *run, s_sender_t *sender)
{
    const s_config_t *config = &run->config;
    char dir [PATH_MAX], error [300] = "";
    rh_file_path (dir, sizeof dir, "%s/%s", config->pki, sender->agency);
    rh_signer_t *signer = rh_signer_load (dir);
    if (!signer) {
        snprintf (sender->why, sizeof sender->why, "no signing key for %s", sender->agency);
        return -1;
    }
    char narrative [BENCH_NARRATIVE + 1];
    memset (narrative, 'x', BENCH_NARRATIVE);
    narrative [BENCH_NARRATIVE] = 0;
    int rc = 0;
    for (uint64_t k = 0; k < sender->count && rc == 0; k++) {
        char id [RH_MAX_ID + 1], text [BENCH_JSON_MAX];
        //  The msg_id names the run, the sender and the index: the front door's thread finds
        //  the send time from the delivered header alone. It doubles as the case id.
        snprintf (id, sizeof id, "%s-%d-%" PRIu64, config->tag, sender->index, k);
        int length = snprintf (
            text, sizeof text,
            "{\"kind\":\"REFERRAL\",\"to\":[{\"front_door_la\":\"%s\"}],\"case_id\":\"%s\","
            "\"purpose\":\"SAFEGUARDING_CHILD\",\"body\":{\"referral_kind\":\"PPN\","
            "\"categories\":[\"DOMESTIC_ABUSE\"],\"subjects\":[{\"kind\":\"CHILD\","
            "\"home_la\":\"%s\"}],\"consent\":{\"state\":\"NOT_REQUIRED_SIGNIFICANT_HARM\","
            "\"family_aware\":true},\"narrative\":\"%s\"}}",
            config->la, id, config->la, narrative);
        rh_envelope_t *envelope =
            rh_json_to_envelope ((const uint8_t *) text, (size_t) length, error, sizeof error);
        if (!envelope || rh_envelope_set_msg_id (envelope, id) != 0
            || rh_envelope_set_sequence (envelope, config->first_sequence + k) != 0
            || rh_envelope_sign (envelope, signer) != 0
            || rh_envelope_encode (envelope, &sender->sealed [k], &sender->sealed_size [k]) != 0) {
            snprintf (sender->why, sizeof sender->why, "cannot build referral %" PRIu64 ": %.200s",
                      k, error);
            rc = -1;
        }
        rh_envelope_destroy (&envelope);
    }
    rh_signer_destroy (&signer);
    return rc;
}

//  Reads every frame waiting on a sender's connection: answers open the window, receipts are
//  counted and acknowledged in one Delivered.
static void
s_sender_drain (s_sender_t *sender, void *socket, uint64_t *outstanding)
{
    uint64_t ids [RH_MAX_ACK_BATCH];
    size_t id_count = 0;
    zmq_msg_t message;
    zmq_msg_init (&message);
    while (id_count < RH_MAX_ACK_BATCH && zmq_msg_recv (&message, socket, ZMQ_DONTWAIT) >= 0) {
        rh_frame_t frame;
        if (rh_frame_decode (zmq_msg_data (&message), zmq_msg_size (&message), &frame) != RH_OK)
            continue;
        if (frame.type == RH_FRAME_ACCEPTED) {
            sender->accepted++;
            if (*outstanding > 0)
                (*outstanding)--;
        }
        else if (frame.type == RH_FRAME_REJECTED) {
            if (sender->rejected++ == 0)
                snprintf (sender->why, sizeof sender->why, "%s: refused %s: %s %s", sender->agency,
                          frame.msg_id, frame.code, frame.reason);
            if (*outstanding > 0)
                (*outstanding)--;
        }
        else if (frame.type == RH_FRAME_DELIVER) {
            rh_envelope_t *header = NULL;
            bool receipt =
                rh_envelope_decode_header (frame.sealed, frame.sealed_size, &header) == RH_OK
                && rh_envelope_kind (header) == RH_KIND_RECEIPT;
            rh_envelope_destroy (&header);
            if (receipt)
                __atomic_add_fetch (&sender->receipts, 1, __ATOMIC_RELEASE);
            else
                sender->other++;
            ids [id_count++] = frame.delivery_id;
        }
        rh_frame_release (&frame);
    }
    zmq_msg_close (&message);
    s_acknowledge (socket, ids, id_count);
}

//  Waits up to timeout_ns for the connection to have something to read.
static void
s_wait_input (void *socket, uint64_t timeout_ns)
{
    zmq_pollitem_t item = { socket, 0, ZMQ_POLLIN, 0 };
    zmq_poll (&item, 1, (long) (timeout_ns / BENCH_MS));
}

//  A sender's thread: connect, sign, then submit within the window (and schedule), reading
//  answers and acknowledging receipts, until main says stop.
static void *
s_sender_run (void *argument)
{
    s_sender_t *sender = argument;
    s_run_t *run = sender->run;
    const s_config_t *config = &run->config;
    void *socket = s_connect (run, sender->agency, config->credit, config->first_sequence,
                              sender->why, sizeof sender->why);
    __atomic_store_n (&sender->failed, !socket || s_sign_all (run, sender) != 0, __ATOMIC_RELEASE);
    pthread_barrier_wait (&run->ready);
    pthread_barrier_wait (&run->go);
    uint64_t next = 0, outstanding = 0;
    while (!sender->failed && !s_stopping (run)) {
        //  Submit what the window (and, with -r, the schedule) allows now.
        uint64_t now = s_now_ns (), due = 0;
        while (next < sender->count && outstanding < config->window) {
            due = s_intended (run, s_position (config, sender->index, next));
            if (due > now) {
                //  Not due yet: take the answers that came meanwhile, then wait for the slot
                //  here if it is close, or in the poll below if it is not.
                s_sender_drain (sender, socket, &outstanding);
                now = s_now_ns ();
                if (due > now && due - now >= BENCH_MS)
                    break;
                if (due > now)
                    s_sleep_until (due);
            }
            char id [RH_MAX_ID + 1];
            snprintf (id, sizeof id, "%s-%d-%" PRIu64, config->tag, sender->index, next);
            rh_frame_t submit = { .type = RH_FRAME_SUBMIT,
                                  .msg_id = id,
                                  .sealed = sender->sealed [next],
                                  .sealed_size = sender->sealed_size [next] };
            __atomic_store_n (&sender->sent_ns [next], s_now_ns (), __ATOMIC_RELEASE);
            s_send_frame (socket, &submit);
            next++;
            outstanding++;
            now = s_now_ns ();
            //  Answers waiting already come off the socket without blocking.
            if (outstanding > config->window / 2)
                s_sender_drain (sender, socket, &outstanding);
        }
        //  Then wait for answers or receipts, no longer than the next scheduled submit.
        uint64_t wait = BENCH_POLL_MS * BENCH_MS;
        if (next < sender->count && outstanding < config->window && due > now && due - now < wait)
            wait = due - now;
        s_wait_input (socket, wait);
        s_sender_drain (sender, socket, &outstanding);
        if (sender->rejected > 0)
            __atomic_store_n (&sender->failed, true, __ATOMIC_RELEASE);
    }
    //  Stay until main has taken its closing CPU snapshot, acknowledging receipts meanwhile.
    while (!__atomic_load_n (&run->stop, __ATOMIC_ACQUIRE)) {
        uint64_t ignored = 0;
        if (socket) {
            s_wait_input (socket, BENCH_POLL_MS * BENCH_MS);
            s_sender_drain (sender, socket, &ignored);
        }
        else
            usleep (BENCH_POLL_MS * 1000);
    }
    if (socket)
        zmq_close (socket);
    return NULL;
}

//  --- The front door -----------------------------------------------------------------------

//  Books one delivered referral by the msg_id of its sealed header.
static void
s_book_delivery (s_run_t *run, const uint8_t *sealed, size_t sealed_size, uint64_t now)
{
    s_book_t *book = &run->book;
    const s_config_t *config = &run->config;
    rh_envelope_t *header = NULL;
    int sender = -1;
    uint64_t index = 0;
    size_t tag_length = strlen (config->tag);
    if (rh_envelope_decode_header (sealed, sealed_size, &header) == RH_OK) {
        const char *id = rh_envelope_msg_id (header);
        if (strncmp (id, config->tag, tag_length) != 0 || id [tag_length] != '-'
            || sscanf (id + tag_length + 1, "%d-%" SCNu64, &sender, &index) != 2)
            sender = -1;
    }
    rh_envelope_destroy (&header);
    if (sender < 0 || sender >= config->sender_count || index >= run->senders [sender].count) {
        book->foreign++;
        return;
    }
    if (book->seen [sender][index]) {
        book->dups++;
        return;
    }
    book->seen [sender][index] = 1;
    if (!book->first_ns)
        book->first_ns = now;
    book->last_ns = now;
    uint64_t position = s_position (config, sender, index);
    uint64_t sent = config->rate > 0 ? s_intended (run, position)
                                     : __atomic_load_n (&run->senders [sender].sent_ns [index],
                                                        __ATOMIC_ACQUIRE);
    if (position >= config->warmup)
        book->latency [book->latency_count++] = now > sent ? now - sent : 0;
    __atomic_store_n (&book->unique, book->unique + 1, __ATOMIC_RELEASE);
}

//  The front door's thread: take deliveries, book them, acknowledge each batch as it came.
static void *
s_receiver_run (void *argument)
{
    s_run_t *run = argument;
    s_book_t *book = &run->book;
    void *socket =
        s_connect (run, run->config.front_door, run->config.credit, 0, book->why, sizeof book->why);
    book->failed = !socket;
    pthread_barrier_wait (&run->ready);
    pthread_barrier_wait (&run->go);
    uint64_t ids [RH_MAX_ACK_BATCH];
    while (socket && !__atomic_load_n (&run->stop, __ATOMIC_ACQUIRE)) {
        s_wait_input (socket, BENCH_POLL_MS * BENCH_MS);
        size_t id_count = 0;
        zmq_msg_t message;
        zmq_msg_init (&message);
        while (id_count < RH_MAX_ACK_BATCH && zmq_msg_recv (&message, socket, ZMQ_DONTWAIT) >= 0) {
            uint64_t now = s_now_ns ();
            rh_frame_t frame;
            if (rh_frame_decode (zmq_msg_data (&message), zmq_msg_size (&message), &frame) != RH_OK)
                continue;
            if (frame.type == RH_FRAME_DELIVER) {
                s_book_delivery (run, frame.sealed, frame.sealed_size, now);
                ids [id_count++] = frame.delivery_id;
            }
            rh_frame_release (&frame);
        }
        zmq_msg_close (&message);
        s_acknowledge (socket, ids, id_count);
    }
    if (socket)
        zmq_close (socket);
    return NULL;
}

//  --- Report -------------------------------------------------------------------------------

//  qsort order of ns values.
static int
s_compare (const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y ? -1 : x > y;
}

//  Nearest-rank percentile (q in (0, 1]) of sorted ns values, in ms; -1 with no values.
static double
s_percentile_ms (const uint64_t *sorted, uint64_t count, double q)
{
    if (count == 0)
        return -1;
    uint64_t rank = (uint64_t) (q * (double) count);
    if ((double) rank < q * (double) count)
        rank++;  //  rounded up
    if (rank < 1)
        rank = 1;
    if (rank > count)
        rank = count;
    return (double) sorted [rank - 1] / 1e6;
}

//  Receipts all senders have had so far.
static uint64_t
s_receipts (s_run_t *run)
{
    uint64_t receipts = 0;
    for (int i = 0; i < run->config.sender_count; i++)
        receipts += __atomic_load_n (&run->senders [i].receipts, __ATOMIC_ACQUIRE);
    return receipts;
}

//  Says how to call us and exits 64 (EX_USAGE).
static void
s_usage (void)
{
    fprintf (stderr, "usage: rh-bench-broker [-n N] [-r RATE] [-W WARMUP] [-w WINDOW] [-c CREDIT]\n"
                     "         [-T SECONDS] [-S BROKER-PID] [-l LA] [-M MODE] [-L PEER]\n"
                     "         ENDPOINT PKI FRONT-DOOR SENDER...\n");
    exit (64);
}

//  Reads the command line into config; exits through s_usage when it makes no sense.
static void
s_parse (s_config_t *config, int argc, char **argv)
{
    *config = (s_config_t){ .la = "newport",
                            .total = 10000,
                            .window = 100,
                            .credit = 100,
                            .timeout_s = 60,
                            .peer = "rhannu" };
    const char *mode = NULL;
    int option;
    while ((option = getopt (argc, argv, "n:r:W:w:c:T:S:l:M:L:")) != -1) {
        switch (option) {
            case 'n':
                config->total = strtoull (optarg, NULL, 10);
                break;
            case 'r':
                config->rate = atof (optarg);
                break;
            case 'W':
                config->warmup = strtoull (optarg, NULL, 10);
                break;
            case 'w':
                config->window = (uint32_t) atoi (optarg);
                break;
            case 'c':
                config->credit = (uint32_t) atoi (optarg);
                break;
            case 'T':
                config->timeout_s = atof (optarg);
                break;
            case 'S':
                config->broker_pid = atoi (optarg);
                break;
            case 'l':
                config->la = optarg;
                break;
            case 'M':
                mode = optarg;
                break;
            case 'L':
                config->peer = optarg;
                break;
            default:
                s_usage ();
        }
    }
    if (argc - optind < 4 || argc - optind - 3 > BENCH_MAX_SENDERS)
        s_usage ();
    config->endpoint = argv [optind];
    config->pki = argv [optind + 1];
    config->front_door = argv [optind + 2];
    for (int i = optind + 3; i < argc; i++)
        config->senders [config->sender_count++] = argv [i];
    if (config->total < (uint64_t) config->sender_count || config->window < 1 || config->credit < 1
        || config->credit > RH_MAX_CREDIT || config->timeout_s <= 0 || config->rate < 0
        || config->warmup >= config->total)
        s_usage ();
    //  One connection per agency: each has its own sequence numbers and its own queue.
    for (int i = 0; i < config->sender_count; i++) {
        bool clash = strcmp (config->senders [i], config->front_door) == 0;
        for (int j = 0; j < i; j++)
            clash |= strcmp (config->senders [i], config->senders [j]) == 0;
        if (clash) {
            fprintf (stderr, "rh-bench-broker: %s plays two parts\n", config->senders [i]);
            s_usage ();
        }
    }
    if (mode)
        snprintf (config->mode, sizeof config->mode, "%s", mode);
    else if (config->rate > 0)
        snprintf (config->mode, sizeof config->mode, "broker-rate%.0f", config->rate);
    else
        snprintf (config->mode, sizeof config->mode, "broker-pub%d", config->sender_count);
    //  Sequence numbers and msg ids of this run follow every earlier run's against the same
    //  broker (the fill of bench_history.sh runs many): the wall clock in microseconds grows
    //  faster than any run submits.
    struct timespec now;
    clock_gettime (CLOCK_REALTIME, &now);
    config->first_sequence = (uint64_t) now.tv_sec * 1000000 + (uint64_t) now.tv_nsec / 1000;
    snprintf (config->tag, sizeof config->tag, "b%" PRIu64, config->first_sequence);
}

int
main (int argc, char **argv)
{
    setenv ("RH_LOG_LEVEL", "error", 0);
    s_run_t *run = calloc (1, sizeof *run);
    if (!run)
        return 1;
    s_config_t *config = &run->config;
    s_parse (config, argc, argv);
    s_book_t *book = &run->book;
    book->latency = calloc (config->total, sizeof *book->latency);
    bool ready = book->latency != NULL;
    for (int i = 0; i < config->sender_count; i++) {
        s_sender_t *sender = &run->senders [i];
        sender->run = run;
        sender->index = i;
        sender->agency = config->senders [i];
        sender->count = config->total / (uint64_t) config->sender_count
                        + ((uint64_t) i < config->total % (uint64_t) config->sender_count);
        sender->sealed = calloc (sender->count, sizeof *sender->sealed);
        sender->sealed_size = calloc (sender->count, sizeof *sender->sealed_size);
        sender->sent_ns = calloc (sender->count, sizeof *sender->sent_ns);
        book->seen [i] = calloc (sender->count, 1);
        ready = ready && sender->sealed && sender->sealed_size && sender->sent_ns && book->seen [i];
    }
    if (!ready) {
        fprintf (stderr, "rh-bench-broker: out of memory\n");
        return 1;
    }
    run->context = zmq_ctx_new ();
    //  Set up far in the future, so nothing stops before the clock starts.
    run->deadline = UINT64_MAX;
    unsigned parties = (unsigned) config->sender_count + 2;
    pthread_barrier_init (&run->ready, NULL, parties);
    pthread_barrier_init (&run->go, NULL, parties);
    pthread_create (&run->receiver, NULL, s_receiver_run, run);
    for (int i = 0; i < config->sender_count; i++)
        pthread_create (&run->senders [i].thread, NULL, s_sender_run, &run->senders [i]);
    pthread_barrier_wait (&run->ready);  //  connected, Hello said, everything signed

    bool failed = book->failed;
    for (int i = 0; i < config->sender_count; i++)
        failed |= run->senders [i].failed;
    s_cpu_t c0, c1, c2;
    s_cpu_take (&c0, config->broker_pid);
    //  1 ms ahead, so that the fixed schedule starts cleanly.
    run->t_start = s_now_ns () + BENCH_MS;
    run->deadline = failed ? 0 : run->t_start + (uint64_t) (config->timeout_s * 1e9);
    pthread_barrier_wait (&run->go);

    while (!failed && __atomic_load_n (&book->unique, __ATOMIC_ACQUIRE) < config->total
           && s_now_ns () < run->deadline) {
        usleep (1000);
        for (int i = 0; i < config->sender_count; i++)
            failed |= __atomic_load_n (&run->senders [i].failed, __ATOMIC_RELAXED);
    }
    s_cpu_take (&c1, config->broker_pid);
    //  The broker's work for a referral ends with its receipt: wait for those (bounded) before
    //  the broker's CPU per referral is taken.
    uint64_t grace = s_now_ns () + BENCH_RECEIPT_GRACE * BENCH_MS;
    while (!failed && s_receipts (run) < config->total && s_now_ns () < grace
           && s_now_ns () < run->deadline)
        usleep (1000);
    s_cpu_take (&c2, config->broker_pid);
    __atomic_store_n (&run->stop, 1, __ATOMIC_RELEASE);
    pthread_join (run->receiver, NULL);
    uint64_t rejected = 0, receipts = 0;
    size_t sealed_bytes = 0;
    for (int i = 0; i < config->sender_count; i++) {
        s_sender_t *sender = &run->senders [i];
        pthread_join (sender->thread, NULL);
        rejected += sender->rejected;
        receipts += sender->receipts;
        if (sender->failed || sender->rejected)
            fprintf (stderr, "rh-bench-broker: %s\n", sender->why);
        for (uint64_t k = 0; k < sender->count; k++)
            sealed_bytes += sender->sealed_size [k];
    }
    if (book->failed)
        fprintf (stderr, "rh-bench-broker: %s\n", book->why);

    double seconds =
        (double) ((book->last_ns ? book->last_ns : c1.at) - run->t_start) / (double) BENCH_NS;
    double rate = seconds > 0 ? (double) book->unique / seconds : 0;
    double client = s_pct (c0.self, c1.self, &c0, &c1);
    double broker = s_pct (c0.broker, c1.broker, &c0, &c1);
    double host = c1.host_total > c0.host_total ? 100.0 * (double) sysconf (_SC_NPROCESSORS_ONLN)
                                                      * (double) (c1.host_busy - c0.host_busy)
                                                      / (double) (c1.host_total - c0.host_total)
                                                : -1;
    double other = host - client - (broker > 0 ? broker : 0);
    double broker_us = c0.broker >= 0 && c2.broker >= 0 && book->unique > 0
                           ? (double) (c2.broker - c0.broker) * 1e6 / (double) sysconf (_SC_CLK_TCK)
                                 / (double) book->unique
                           : -1;
    qsort (book->latency, book->latency_count, sizeof *book->latency, s_compare);
    char offered [32];
    if (config->rate > 0)
        snprintf (offered, sizeof offered, "%.0f", config->rate);
    else
        snprintf (offered, sizeof offered, "max");
    printf ("peer=%s mode=%s msgs=%" PRIu64 " msgs_per_s=%.0f p50_ms=%.3f p99_ms=%.3f"
            " max_ms=%.3f lost=%" PRIu64 " dup=%" PRIu64 " client_cpu_pct=%.0f"
            " client_max_thread_pct=%.0f broker_cpu_pct=%.0f host_cpu_pct=%.0f"
            " other_cpu_pct=%.0f pubs=%d window=%u size=%zu offered=%s receipts=%" PRIu64
            " broker_us_per_msg=%.1f rejected=%" PRIu64 " foreign=%" PRIu64 "\n",
            config->peer, config->mode, book->latency_count, rate,
            s_percentile_ms (book->latency, book->latency_count, 0.50),
            s_percentile_ms (book->latency, book->latency_count, 0.99),
            s_percentile_ms (book->latency, book->latency_count, 1.0), config->total - book->unique,
            book->dups, client, s_busiest_thread (&c0, &c1), broker, host, other > 0 ? other : 0,
            config->sender_count, config->window, sealed_bytes / config->total, offered, receipts,
            broker_us, rejected, book->foreign);
    fflush (stdout);
    bool complete = !failed && !book->failed && rejected == 0 && book->unique == config->total;
    if (book->unique < config->total)
        fprintf (stderr,
                 "rh-bench-broker: incomplete: %" PRIu64 " of %" PRIu64
                 " referrals delivered within %.0f s\n",
                 book->unique, config->total, config->timeout_s);

    for (int i = 0; i < config->sender_count; i++) {
        s_sender_t *sender = &run->senders [i];
        for (uint64_t k = 0; k < sender->count; k++)
            free (sender->sealed [k]);
        free (sender->sealed);
        free (sender->sealed_size);
        free (sender->sent_ns);
        free (book->seen [i]);
    }
    free (book->latency);
    pthread_barrier_destroy (&run->ready);
    pthread_barrier_destroy (&run->go);
    zmq_ctx_term (run->context);
    free (run);
    return complete ? 0 : 2;
}
