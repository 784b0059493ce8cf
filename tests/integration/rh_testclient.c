/*  =========================================================================
    rh-testclient - a deliberately misbehaving agent for integration tests

    rh-testclient ENDPOINT PKI CURVE-AGENCY COMMAND [options]

    Connects to a real broker with CURVE-AGENCY's transport key (or a fresh
    random key with "random") and:
      submit JSON SIGN-AGENCY SEQ [MSG-ID]  signs JSON as SIGN-AGENCY with
                                            sequence SEQ, submits it, prints
                                            the broker's answer
      resend FILE                           submits the sealed bytes in FILE
      seal JSON SIGN-AGENCY SEQ FILE        writes sealed bytes to FILE only
      raw SIZE                              submits SIZE bytes of garbage as
                                            a message (and as a frame if
                                            SIZE is negative)
      flood COUNT TO-AGENCY FIRST-SEQ       signs and submits COUNT ~1 KiB
                                            messages to TO-AGENCY, 1000 in
                                            flight, and waits for every answer
                                            (make bench fills a queue with it)
      hold SECONDS                          says Hello and reports transport
                                            events until SECONDS pass
      frame HEX                             sends HEX (bytes written as hex) as one
                                            frame and prints the answer
      garbage COUNT                         says Hello, then sends COUNT random
                                            frames without waiting; prints
                                            "garbage: sent N answered M
                                            disconnected yes|no"
      randomkeys COUNT                      COUNT handshakes, each with a fresh
                                            random key; prints how many failed
      idle COUNT SECONDS                    opens COUNT connections with the key,
                                            each says Hello; prints how many
                                            completed the handshake, holds them
    RH_TC_CREATED_MS sets the created time of what "submit" signs. A reply
    whose text is not valid UTF-8 prints "BAD_UTF8" before the reply.
    Prints one line per outcome, e.g. "ACCEPTED id", "REJECTED id CODE
    reason", "AUTH_FAILED", "DISCONNECTED", "TIMEOUT". Exit status 0 when
    it got any answer, 1 otherwise.
    =========================================================================
*/
#include "rh_certs.h"
#include "rhannu.pb-c.h"

static void *s_dealer;
static int64_t s_created_ms;  //  RH_TC_CREATED_MS: created time of what submit signs
static void *s_monitor;
static bool s_show_events;  //  hold prints transport events; the other commands only answers

static int
s_connect (void *context, const char *endpoint, const char *pki, const char *agency)
{
    uint8_t public_key [32], secret_key [32], broker_key [32];
    char dir [PATH_MAX];
    rh_file_path (dir, sizeof dir, "%s/broker", pki);
    if (rh_ca_load_curve (dir, broker_key, NULL) != 0)
        return -1;
    if (strcmp (agency, "random") == 0)
        crypto_box_keypair (public_key, secret_key);
    else {
        rh_file_path (dir, sizeof dir, "%s/%s", pki, agency);
        if (rh_ca_load_curve (dir, public_key, secret_key) != 0)
            return -1;
    }
    s_dealer = zmq_socket (context, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt (s_dealer, ZMQ_CURVE_SERVERKEY, broker_key, 32);
    zmq_setsockopt (s_dealer, ZMQ_CURVE_PUBLICKEY, public_key, 32);
    zmq_setsockopt (s_dealer, ZMQ_CURVE_SECRETKEY, secret_key, 32);
    zmq_setsockopt (s_dealer, ZMQ_LINGER, &linger, sizeof linger);
    zmq_socket_monitor (s_dealer, "inproc://testclient-monitor",
                        ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED
                            | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    s_monitor = zmq_socket (context, ZMQ_PAIR);
    zmq_connect (s_monitor, "inproc://testclient-monitor");
    return zmq_connect (s_dealer, endpoint);
}

static void
s_send (const rh_frame_t *frame)
{
    size_t size = 0;
    uint8_t *bytes = rh_frame_encode (frame, &size);
    zmq_send (s_dealer, bytes, size, 0);
    free (bytes);
}

//  True if text is valid UTF-8 (what a protobuf client in another language insists on).
static bool
s_utf8 (const char *text)
{
    const unsigned char *p = (const unsigned char *) (text ? text : "");
    while (*p) {
        int extra = *p < 0x80         ? 0
                    : (*p >> 5) == 6  ? 1
                    : (*p >> 4) == 14 ? 2
                    : (*p >> 3) == 30 ? 3
                                      : -1;
        if (extra < 0)
            return false;
        p++;
        for (int i = 0; i < extra; i++, p++)
            if ((*p >> 6) != 2)
                return false;
    }
    return true;
}

//  A DEALER with a fresh random CURVE key (or the agency's), monitored for handshake events.
static void *
s_extra_dealer (void *context, const char *endpoint, const char *pki, const char *agency,
                void **monitor, int index)
{
    uint8_t public_key [32], secret_key [32], broker_key [32];
    char dir [PATH_MAX], address [64];
    rh_file_path (dir, sizeof dir, "%s/broker", pki);
    if (rh_ca_load_curve (dir, broker_key, NULL) != 0)
        return NULL;
    if (!agency)
        crypto_box_keypair (public_key, secret_key);
    else {
        rh_file_path (dir, sizeof dir, "%s/%s", pki, agency);
        if (rh_ca_load_curve (dir, public_key, secret_key) != 0)
            return NULL;
    }
    void *dealer = zmq_socket (context, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt (dealer, ZMQ_CURVE_SERVERKEY, broker_key, 32);
    zmq_setsockopt (dealer, ZMQ_CURVE_PUBLICKEY, public_key, 32);
    zmq_setsockopt (dealer, ZMQ_CURVE_SECRETKEY, secret_key, 32);
    zmq_setsockopt (dealer, ZMQ_LINGER, &linger, sizeof linger);
    snprintf (address, sizeof address, "inproc://testclient-extra-%d", index);
    zmq_socket_monitor (dealer, address,
                        ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH
                            | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
                            | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL);
    *monitor = zmq_socket (context, ZMQ_PAIR);
    zmq_connect (*monitor, address);
    zmq_connect (dealer, endpoint);
    return dealer;
}

//  Next handshake event of a monitor, or 0 on timeout.
static uint16_t
s_event (void *monitor, int timeout_ms)
{
    zmq_pollitem_t item = { monitor, 0, ZMQ_POLLIN, 0 };
    if (zmq_poll (&item, 1, timeout_ms) <= 0)
        return 0;
    zmq_msg_t event, address;
    zmq_msg_init (&event);
    zmq_msg_init (&address);
    zmq_msg_recv (&event, monitor, 0);
    zmq_msg_recv (&address, monitor, 0);
    uint16_t type = 0;
    if (zmq_msg_size (&event) >= 2)
        memcpy (&type, zmq_msg_data (&event), 2);
    zmq_msg_close (&event);
    zmq_msg_close (&address);
    return type;
}

static void
s_close_extra (void *dealer, void *monitor)
{
    zmq_socket_monitor (dealer, NULL, 0);
    zmq_close (dealer);
    zmq_close (monitor);
}

//  Waits for a transport event or a broker frame; prints what it was. Returns 1 for a frame
//  that answers, 0 for a transport event, -1 on timeout.
static int
s_wait (int timeout_ms)
{
    zmq_pollitem_t items [] = { { s_dealer, 0, ZMQ_POLLIN, 0 }, { s_monitor, 0, ZMQ_POLLIN, 0 } };
    if (zmq_poll (items, 2, timeout_ms) <= 0) {
        printf ("TIMEOUT\n");
        return -1;
    }
    if (items [1].revents & ZMQ_POLLIN) {
        zmq_msg_t event, address;
        zmq_msg_init (&event);
        zmq_msg_init (&address);
        zmq_msg_recv (&event, s_monitor, 0);
        zmq_msg_recv (&address, s_monitor, 0);
        uint16_t type;
        memcpy (&type, zmq_msg_data (&event), 2);
        if (s_show_events || type == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
            printf ("%s\n", type == ZMQ_EVENT_HANDSHAKE_SUCCEEDED ? "CONNECTED"
                            : type == ZMQ_EVENT_DISCONNECTED      ? "DISCONNECTED"
                                                                  : "AUTH_FAILED");
        zmq_msg_close (&event);
        zmq_msg_close (&address);
        fflush (stdout);
        return 0;
    }
    zmq_msg_t message;
    zmq_msg_init (&message);
    zmq_msg_recv (&message, s_dealer, 0);
    rh_frame_t frame;
    int rc = 0;
    if (rh_frame_decode (zmq_msg_data (&message), zmq_msg_size (&message), &frame) == RH_OK) {
        if (frame.type == RH_FRAME_ACCEPTED) {
            printf ("ACCEPTED %s%s\n", frame.msg_id, frame.duplicate ? " duplicate" : "");
            rc = 1;
        }
        else if (frame.type == RH_FRAME_REJECTED) {
            if (!s_utf8 (frame.msg_id) || !s_utf8 (frame.reason) || !s_utf8 (frame.code))
                printf ("BAD_UTF8\n");
            printf ("REJECTED %s %s %s\n", *frame.msg_id ? frame.msg_id : "-", frame.code,
                    frame.reason);
            rc = 1;
        }
        else if (frame.type == RH_FRAME_DELIVER)
            printf ("DELIVER %" PRIu64 "\n", frame.delivery_id);
        rh_frame_release (&frame);
    }
    zmq_msg_close (&message);
    fflush (stdout);
    return rc;
}

//  Waits for an answer, skipping transport events and deliveries. Returns 0 if one came.
static int
s_answer (int timeout_ms)
{
    int64_t deadline = rh_time_now_ms () + timeout_ms;
    while (rh_time_now_ms () < deadline) {
        int rc = s_wait ((int) (deadline - rh_time_now_ms ()));
        if (rc == 1)
            return 0;
        if (rc < 0)
            return 1;
    }
    printf ("TIMEOUT\n");
    return 1;
}

static uint8_t *
s_seal (const char *pki, const char *json, const char *signer_agency, uint64_t seq,
        const char *msg_id, size_t *size, char *id_out)
{
    char dir [PATH_MAX], error [300];
    rh_file_path (dir, sizeof dir, "%s/%s", pki, signer_agency);
    rh_signer_t *signer = rh_signer_load (dir);
    uint8_t *text = NULL;
    size_t text_size = 0;
    if (!signer || rh_file_read (json, 1 << 20, &text, &text_size) != 0)
        return NULL;
    rh_envelope_t *envelope = rh_json_to_envelope (text, text_size, error, sizeof error);
    free (text);
    uint8_t *sealed = NULL;
    if (!envelope) {
        fprintf (stderr, "testclient: %s\n", error);
        rh_signer_destroy (&signer);
        return NULL;
    }
    if (msg_id)
        rh_envelope_set_msg_id (envelope, msg_id);
    rh_envelope_set_sequence (envelope, seq);
    if (s_created_ms)
        rh_envelope_set_created (envelope, s_created_ms);
    if (rh_envelope_sign (envelope, signer) == 0
        && rh_envelope_encode (envelope, &sealed, size) == 0)
        snprintf (id_out, RH_MAX_ID + 1, "%s", rh_envelope_msg_id (envelope));
    rh_envelope_destroy (&envelope);
    rh_signer_destroy (&signer);
    return sealed;
}

int
main (int argc, char **argv)
{
    setenv ("RH_LOG_LEVEL", "error", 0);
    if (argc < 5) {
        fprintf (stderr, "usage: see tests/integration/rh_testclient.c\n");
        return 2;
    }
    const char *endpoint = argv [1], *pki = argv [2], *agency = argv [3], *command = argv [4];
    char msg_id [RH_MAX_ID + 1] = "";
    size_t size = 0;
    uint8_t *sealed = NULL;
    if (strcmp (command, "seal") == 0 && argc == 9) {
        sealed =
            s_seal (pki, argv [5], argv [6], strtoull (argv [7], NULL, 10), NULL, &size, msg_id);
        int rc = sealed && rh_file_write_atomic (argv [8], sealed, size, 0644) == 0 ? 0 : 1;
        printf ("%s\n", msg_id);
        free (sealed);
        return rc;
    }
    if (getenv ("RH_TC_CREATED_MS"))
        s_created_ms = strtoll (getenv ("RH_TC_CREATED_MS"), NULL, 10);
    void *context = zmq_ctx_new ();
    zmq_ctx_set (context, ZMQ_MAX_SOCKETS, 8192);
    if (strcmp (command, "randomkeys") == 0 && argc == 6) {
        //  In waves, so that many handshakes are in progress at once.
        int count = atoi (argv [5]), failed = 0, wave = 50;
        for (int first = 0; first < count; first += wave) {
            void *dealers [50], *monitors [50];
            int n = count - first < wave ? count - first : wave;
            for (int i = 0; i < n; i++)
                dealers [i] =
                    s_extra_dealer (context, endpoint, pki, NULL, &monitors [i], first + i);
            for (int i = 0; i < n; i++) {
                uint16_t type = dealers [i] ? s_event (monitors [i], 5000) : 0;
                failed += type && type != ZMQ_EVENT_HANDSHAKE_SUCCEEDED;
                if (dealers [i])
                    s_close_extra (dealers [i], monitors [i]);
            }
        }
        printf ("randomkeys: %d of %d refused\n", failed, count);
        zmq_ctx_term (context);
        return 0;
    }
    if (strcmp (command, "idle") == 0 && argc == 7) {
        int count = atoi (argv [5]), connected = 0;
        void **dealers = calloc ((size_t) count, sizeof *dealers);
        void **monitors = calloc ((size_t) count, sizeof *monitors);
        rh_frame_t hello = { .type = RH_FRAME_HELLO, .credit = 1 };
        size_t hello_size = 0;
        uint8_t *hello_bytes = rh_frame_encode (&hello, &hello_size);
        for (int i = 0; dealers && monitors && i < count; i++) {
            dealers [i] = s_extra_dealer (context, endpoint, pki, agency, &monitors [i], i);
            if (!dealers [i])
                break;
            if (s_event (monitors [i], 3000) == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
                connected++;
                zmq_send (dealers [i], hello_bytes, hello_size, ZMQ_DONTWAIT);
            }
        }
        printf ("idle: %d of %d connected\n", connected, count);
        fflush (stdout);
        sleep ((unsigned) atoi (argv [6]));
        for (int i = 0; dealers && monitors && i < count; i++)
            if (dealers [i])
                s_close_extra (dealers [i], monitors [i]);
        free (hello_bytes);
        free (dealers);
        free (monitors);
        zmq_ctx_term (context);
        return 0;
    }
    if (s_connect (context, endpoint, pki, agency) != 0) {
        fprintf (stderr, "testclient: cannot set up the connection\n");
        return 2;
    }
    int rc = 1;
    rh_frame_t hello = { .type = RH_FRAME_HELLO, .credit = 10 };
    if (strcmp (command, "hold") == 0 && argc == 6) {
        s_show_events = true;
        s_send (&hello);
        int64_t deadline = rh_time_now_ms () + atoi (argv [5]) * 1000;
        while (rh_time_now_ms () < deadline)
            if (s_wait ((int) (deadline - rh_time_now_ms ())) >= 0)
                rc = 0;
    }
    else if (strcmp (command, "submit") == 0 && (argc == 8 || argc == 9)) {
        //  RH_TC_FLOOR: say Hello first, declaring every sequence below it answered.
        if (getenv ("RH_TC_FLOOR")) {
            hello.low_sequence = strtoull (getenv ("RH_TC_FLOOR"), NULL, 10);
            s_send (&hello);
        }
        sealed = s_seal (pki, argv [5], argv [6], strtoull (argv [7], NULL, 10),
                         argc == 9 ? argv [8] : NULL, &size, msg_id);
        if (sealed) {
            rh_frame_t frame = {
                .type = RH_FRAME_SUBMIT, .msg_id = msg_id, .sealed = sealed, .sealed_size = size
            };
            s_send (&frame);
            rc = s_answer (5000);
        }
    }
    else if (strcmp (command, "resend") == 0 && argc == 6) {
        if (rh_file_read (argv [5], 4 << 20, &sealed, &size) == 0) {
            rh_envelope_t *envelope = NULL;
            if (rh_envelope_decode (sealed, size, &envelope) == RH_OK)
                snprintf (msg_id, sizeof msg_id, "%s", rh_envelope_msg_id (envelope));
            rh_envelope_destroy (&envelope);
            rh_frame_t frame = {
                .type = RH_FRAME_SUBMIT, .msg_id = msg_id, .sealed = sealed, .sealed_size = size
            };
            s_send (&frame);
            rc = s_answer (5000);
        }
    }
    else if (strcmp (command, "flood") == 0 && argc == 8) {
        long count = atol (argv [5]);
        uint64_t seq = strtoull (argv [7], NULL, 10);
        char dir [PATH_MAX];
        rh_file_path (dir, sizeof dir, "%s/%s", pki, agency);
        rh_signer_t *signer = rh_signer_load (dir);
        char pad [701];
        memset (pad, 'x', 700);
        pad [700] = 0;
        long sent = 0, answered = 0, accepted = 0;
        int64_t started = rh_time_now_ms ();
        while (signer && answered < count) {
            while (sent < count && sent - answered < 1000) {
                Rhannu__V1__Referral referral = RHANNU__V1__REFERRAL__INIT;
                referral.narrative = pad;
                rh_envelope_t *envelope = rh_envelope_new (RH_KIND_REFERRAL);
                rh_envelope_add_to_agency (envelope, argv [6], NULL);
                rh_envelope_set_sequence (envelope, seq++);
                rh_envelope_set_body (envelope, &referral.base);
                rh_envelope_sign (envelope, signer);
                rh_envelope_encode (envelope, &sealed, &size);
                rh_frame_t frame = { .type = RH_FRAME_SUBMIT,
                                     .msg_id = rh_envelope_msg_id (envelope),
                                     .sealed = sealed,
                                     .sealed_size = size };
                s_send (&frame);
                free (sealed);
                sealed = NULL;
                rh_envelope_destroy (&envelope);
                sent++;
            }
            zmq_msg_t message;
            zmq_msg_init (&message);
            if (zmq_msg_recv (&message, s_dealer, 0) < 0)
                break;
            rh_frame_t frame;
            if (rh_frame_decode (zmq_msg_data (&message), zmq_msg_size (&message), &frame)
                == RH_OK) {
                answered += frame.type == RH_FRAME_ACCEPTED || frame.type == RH_FRAME_REJECTED;
                accepted += frame.type == RH_FRAME_ACCEPTED;
                rh_frame_release (&frame);
            }
            zmq_msg_close (&message);
        }
        double seconds = (rh_time_now_ms () - started) / 1000.0;
        printf ("flood: %ld accepted of %ld in %.1f s (%.0f/s)\n", accepted, count, seconds,
                accepted / (seconds > 0 ? seconds : 1));
        rh_signer_destroy (&signer);
        rc = accepted == count ? 0 : 1;
    }
    else if (strcmp (command, "frame") == 0 && argc == 6) {
        size_t length = strlen (argv [5]) / 2;
        sealed = malloc (length + 1);
        if (sealed
            && sodium_hex2bin (sealed, length + 1, argv [5], strlen (argv [5]), " ", &size, NULL)
                   == 0) {
            zmq_send (s_dealer, sealed, size, 0);
            rc = s_answer (5000);
        }
    }
    else if (strcmp (command, "garbage") == 0 && argc == 6) {
        //  Keeps sending across reconnections (DEALER reconnects by itself) until COUNT frames
        //  are out, or nothing has moved for 10 s.
        long count = atol (argv [5]), answered = 0, sent = 0;
        int disconnections = 0, reconnect_ms = 10;
        //  A flooder comes straight back when the broker drops it.
        zmq_setsockopt (s_dealer, ZMQ_RECONNECT_IVL, &reconnect_ms, sizeof reconnect_ms);
        s_send (&hello);
        uint8_t junk [64];
        int64_t last_progress = rh_time_now_ms ();
        while (sent < count && rh_time_now_ms () - last_progress < 10000) {
            randombytes_buf (junk, sizeof junk);
            junk [0] = 0xff;  //  never a valid first tag
            if (zmq_send (s_dealer, junk, sizeof junk, ZMQ_DONTWAIT) >= 0) {
                sent++;
                last_progress = rh_time_now_ms ();
            }
            zmq_pollitem_t items [] = { { s_dealer, 0, ZMQ_POLLIN, 0 },
                                        { s_monitor, 0, ZMQ_POLLIN, 0 } };
            int ready = zmq_poll (items, 2, errno == EAGAIN ? 10 : 0);
            if (ready > 0 && (items [1].revents & ZMQ_POLLIN)) {
                uint16_t type = s_event (s_monitor, 0);
                if (type == ZMQ_EVENT_DISCONNECTED)
                    disconnections++;
                else if (type == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
                    s_send (&hello);  //  a new session, as an agent would start it
            }
            zmq_msg_t message;
            zmq_msg_init (&message);
            while (zmq_msg_recv (&message, s_dealer, ZMQ_DONTWAIT) >= 0)
                answered++;
            zmq_msg_close (&message);
        }
        printf ("garbage: sent %ld answered %ld disconnections %d\n", sent, answered,
                disconnections);
        rc = 0;
    }
    else if (strcmp (command, "raw") == 0 && argc == 6) {
        long length = atol (argv [5]);
        size = (size_t) (length < 0 ? -length : length);
        sealed = malloc (size);
        randombytes_buf (sealed, size);
        if (length < 0)
            zmq_send (s_dealer, sealed, size, 0);  //  not even a frame
        else {
            rh_frame_t frame = { .type = RH_FRAME_SUBMIT,
                                 .msg_id = "garbage-1",
                                 .sealed = sealed,
                                 .sealed_size = size };
            s_send (&frame);
        }
        rc = s_answer (5000);
    }
    else
        fprintf (stderr, "testclient: unknown command or wrong arguments\n");
    free (sealed);
    zmq_socket_monitor (s_dealer, NULL, 0);
    zmq_close (s_dealer);
    zmq_close (s_monitor);
    zmq_ctx_term (context);
    return rc;
}
