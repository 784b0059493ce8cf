/*  =========================================================================
    fuzz_broker - libFuzzer harness: a frame as an enrolled agency sent it

    Drives the broker's own frame handling in-process: rh_broker_handle
    decodes the body exactly as the router does (counting and answering
    malformed frames, session rules) and dispatches it, then the loop is
    stepped until the verifier workers' results have gone through intake,
    policy, deduplication, the commit and delivery. One broker, over a real
    LevelDB and a PKI made with the real CA code in a private temporary
    folder, serves every input; the folder is removed at exit.

    Input: byte 0 selects, the rest is the payload.
      bits 0-1  the authenticated agency: police-gwent, la-newport, an
                agency the PKI does not know, police-gwent
      bits 2-3  which of four connections (descriptor and routing id)
      bits 4-5  mode: 0 and 3 the payload is the frame body; 1 it is the
                sealed bytes of a Submit, signed again now by the selecting
                agency (police-gwent for the unknown one) if its header
                decodes; 2 a message signed now by the
                selecting agency (police-gwent for the unknown one) to the
                other, whose payload byte 0 chooses sequence and recipient
                flags and the rest is the referral's narrative
    RH_FUZZ_SEEDS=DIR makes the harness write Submit seeds of a really
    signed message into DIR at start. Each run has its own PKI, so only
    mode 1 (signed again) keeps such a seed past the signature check.
    =========================================================================
*/
#include "rh_broker_classes.h"
#include "rhannu.pb-c.h"
#include <ftw.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

//  Steps the loop at most this many times per input, waiting at most this long each time for
//  a verifier result: the harness must stay fast even if a worker is slow.
#define S_MAX_STEPS    50
#define S_STEP_WAIT_MS 20

static char s_root [PATH_MAX];
static char s_pki [PATH_MAX];
static rh_config_t *s_config;
static rh_broker_t *s_broker;
static rh_signer_t *s_police;
static rh_signer_t *s_la;
static uint64_t s_sequence = 1;

static const char *s_agencies [] = { "police-gwent", "la-newport", "stranger-x", "police-gwent" };

static int
s_remove (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st, (void) flag, (void) ftw;
    return remove (path);
}

//  Destroys the broker (so LeakSanitizer sees nothing held) and removes the folder.
static void
s_cleanup (void)
{
    rh_broker_destroy (&s_broker);
    rh_config_destroy (&s_config);
    rh_signer_destroy (&s_police);
    rh_signer_destroy (&s_la);
    if (*s_root)
        nftw (s_root, s_remove, 16, FTW_DEPTH | FTW_PHYS);
    *s_root = 0;
}

static void
s_write (const char *path, const char *text)
{
    if (rh_file_write_atomic (path, text, strlen (text), 0600) != 0)
        abort ();  //  the harness itself is broken, not the input
}

static void
s_issue (const char *id, const char *type, const char *la)
{
    rh_ca_request_t request = { .agency_id = id, .type = type, .la = la, .region = "gwent" };
    if (rh_ca_issue (s_pki, &request) != 0)
        abort ();
}

//  A message signed now by signer to the other enrolled agency (or to Newport's front door).
//  Returns the sealed bytes (caller frees) and the message id in msg_id, or NULL if the library
//  will not sign such a message.
static uint8_t *
s_seal (rh_signer_t *signer, const uint8_t *payload, size_t size, size_t *sealed_size, char *msg_id)
{
    uint8_t flags = size > 0 ? payload [0] : 0;
    char narrative [RH_MAX_ID * 8];
    size_t length = 0;
    for (size_t i = 1; i < size && length + 1 < sizeof narrative && payload [i]; i++)
        narrative [length++] = (char) payload [i];
    narrative [length] = 0;
    Rhannu__V1__Referral referral = RHANNU__V1__REFERRAL__INIT;
    referral.narrative = narrative;
    rh_envelope_t *envelope = rh_envelope_new (RH_KIND_REFERRAL);
    if (!envelope)
        abort ();
    if (flags & 1)
        rh_envelope_add_to_front_door (envelope, "newport", "MASH");
    else
        rh_envelope_add_to_agency (envelope, signer == s_police ? "la-newport" : "police-gwent",
                                   NULL);
    //  A repeated sequence number is a replay the broker must refuse.
    rh_envelope_set_sequence (envelope, (flags & 2) ? s_sequence : ++s_sequence);
    if (flags & 4)
        rh_envelope_set_purpose (envelope, "SAFEGUARDING_CHILD");
    rh_envelope_set_body (envelope, &referral.base);
    uint8_t *sealed = NULL;
    //  The library refuses to sign what it would not accept (a narrative that is not UTF-8).
    if (rh_envelope_sign (envelope, signer) == 0
        && rh_envelope_encode (envelope, &sealed, sealed_size) == 0)
        snprintf (msg_id, RH_MAX_ID + 1, "%s", rh_envelope_msg_id (envelope));
    rh_envelope_destroy (&envelope);
    return sealed;
}

//  Signs a mutated message again: if payload is a Sealed whose header decodes, the header
//  names signer's certificate, is dated now (else the created-time window refuses it first)
//  and gets a valid signature, so that mutations of the header and the disclosures reach
//  intake, policy and deduplication; msg_id gets the header's id. Returns new sealed bytes (caller frees) or NULL if the
//  payload does not decode (it is then submitted as it is).
static uint8_t *
s_reseal (rh_signer_t *signer, const uint8_t *payload, size_t size, size_t *sealed_size,
          char *msg_id)
{
    Rhannu__V1__Sealed *sealed = rhannu__v1__sealed__unpack (NULL, size, payload);
    if (!sealed)
        return NULL;
    Rhannu__V1__Header *header =
        rhannu__v1__header__unpack (NULL, sealed->header.len, sealed->header.data);
    if (!header) {
        rhannu__v1__sealed__free_unpacked (sealed, NULL);
        return NULL;
    }
    //  The unpacked header owns its bytes: lend ours for packing and give them back.
    ProtobufCBinaryData fingerprint = header->signer_cert_sha256;
    header->signer_cert_sha256.data = (uint8_t *) rh_signer_fingerprint (signer);
    header->signer_cert_sha256.len = RH_DIGEST_LEN;
    header->created_ms = rh_time_now_ms ();
    //  The Submit repeats the header's id (else the broker refuses the mismatch first).
    snprintf (msg_id, RH_MAX_ID + 1, "%s", header->msg_id ? header->msg_id : "");
    size_t domain = strlen ("rhannu.envelope.v1") + 1;
    size_t header_size = rhannu__v1__header__get_packed_size (header);
    uint8_t *signed_bytes = malloc (domain + header_size);
    if (!signed_bytes)
        abort ();
    memcpy (signed_bytes, "rhannu.envelope.v1", domain);
    rhannu__v1__header__pack (header, signed_bytes + domain);
    header->signer_cert_sha256 = fingerprint;
    rhannu__v1__header__free_unpacked (header, NULL);
    uint8_t signature [64];
    if (rh_signer_sign (signer, signed_bytes, domain + header_size, signature) != 0)
        abort ();
    Rhannu__V1__Sealed again = RHANNU__V1__SEALED__INIT;
    again.header.data = signed_bytes + domain;
    again.header.len = header_size;
    again.signature.data = signature;
    again.signature.len = sizeof signature;
    again.disclosures = sealed->disclosures;
    again.n_disclosures = sealed->n_disclosures;
    *sealed_size = rhannu__v1__sealed__get_packed_size (&again);
    uint8_t *bytes = malloc (*sealed_size ? *sealed_size : 1);
    if (!bytes)
        abort ();
    rhannu__v1__sealed__pack (&again, bytes);
    free (signed_bytes);
    rhannu__v1__sealed__free_unpacked (sealed, NULL);
    return bytes;
}

//  Wraps sealed bytes into a Submit frame body (caller frees).
static uint8_t *
s_submit (const char *msg_id, const uint8_t *sealed, size_t sealed_size, size_t *size)
{
    rh_frame_t frame = {
        .type = RH_FRAME_SUBMIT, .msg_id = msg_id, .sealed = sealed, .sealed_size = sealed_size
    };
    uint8_t *body = rh_frame_encode (&frame, size);
    if (!body)
        abort ();
    return body;
}

static void
s_write_seeds (const char *dir)
{
    char msg_id [RH_MAX_ID + 1], path [PATH_MAX];
    const uint8_t payload [] = "\0a concern about a child";
    size_t sealed_size;
    uint8_t *sealed = s_seal (s_police, payload, sizeof payload - 1, &sealed_size, msg_id);
    if (!sealed)
        abort ();
    //  Mode 1 from police-gwent: the sealed bytes alone, so mutations reach intake.
    uint8_t *seed = malloc (sealed_size + 1);
    seed [0] = 0x10;
    memcpy (seed + 1, sealed, sealed_size);
    rh_file_path (path, sizeof path, "%s/submit-signed-sealed", dir);
    if (rh_file_write_atomic (path, seed, sealed_size + 1, 0644) != 0)
        abort ();
    free (seed);
    //  Mode 0: the whole Submit frame.
    size_t size;
    uint8_t *body = s_submit (msg_id, sealed, sealed_size, &size);
    seed = malloc (size + 1);
    seed [0] = 0x00;
    memcpy (seed + 1, body, size);
    rh_file_path (path, sizeof path, "%s/submit-signed-frame", dir);
    if (rh_file_write_atomic (path, seed, size + 1, 0644) != 0)
        abort ();
    free (seed);
    free (body);
    free (sealed);
}

static void
s_setup (void)
{
    setenv ("RH_LOG_LEVEL", "off", 0);
    //  fsync on a memory file system costs nothing: the broker commits with sync on.
    const char *base = access ("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    rh_file_path (s_root, sizeof s_root, "%s/rhannu-fuzz-broker-XXXXXX", base);
    if (!mkdtemp (s_root))
        abort ();
    char path [PATH_MAX], agreements [PATH_MAX], data [PATH_MAX], text [4 * PATH_MAX];
    rh_file_path (s_pki, sizeof s_pki, "%s/pki", s_root);
    rh_file_path (agreements, sizeof agreements, "%s/agreements", s_root);
    rh_file_path (data, sizeof data, "%s/data", s_root);
    if (rh_ca_init (s_pki, "fuzz board CA", 0) != 0 || rh_file_mkdir (agreements, 0700) != 0)
        abort ();
    //  Registered after OpenSSL's own exit handler (its first use was just now), so that it
    //  runs first: the verifier threads must end before OpenSSL frees its thread state.
    atexit (s_cleanup);
    s_issue ("broker", "BROKER", NULL);
    s_issue ("police-gwent", "POLICE", "newport");
    s_issue ("la-newport", "LA_FRONT_DOOR", "newport");
    //  The open agreement tests/integration/lib.sh writes for transport tests.
    rh_file_path (path, sizeof path, "%s/open.yaml", agreements);
    s_write (path, "id: FUZZ-OPEN\n"
                   "version: 1\n"
                   "valid_from: 2020-01-01\n"
                   "valid_to: 2099-12-31\n"
                   "purposes: [SAFEGUARDING_CHILD, SAFEGUARDING_ADULT, REFERRER_FEEDBACK]\n"
                   "parties:\n"
                   "  - {id: police-gwent, roles: [member]}\n"
                   "  - {id: la-newport, roles: [member], front_door_for: [newport], "
                   "aliases: [IAA, SPOC, MASH]}\n"
                   "rules:\n"
                   "  - {id: OPEN, description: \"everything between members\", fields: all}\n");
    if (rh_ca_sign_file (s_pki, path) != 0)
        abort ();
    //  Port 0 ("*"): the system picks a free one, so parallel runs never collide.
    snprintf (text, sizeof text,
              "bind:\n  endpoint: tcp://127.0.0.1:*\n"
              "pki:\n  dir: %s\n"
              "data:\n  dir: %s\n"
              "policy:\n  dir: %s\n"
              "verify:\n  workers: 1\n",
              s_pki, data, agreements);
    rh_file_path (path, sizeof path, "%s/broker.yaml", s_root);
    s_write (path, text);
    char error [300];
    if (!(s_config = rh_config_load (rh_broker_config_spec, path, error, sizeof error))) {
        fprintf (stderr, "fuzz_broker: %s\n", error);
        abort ();
    }
    if (!(s_broker = rh_broker_new (s_config)))
        abort ();
    rh_file_path (path, sizeof path, "%s/police-gwent", s_pki);
    s_police = rh_signer_load (path);
    rh_file_path (path, sizeof path, "%s/la-newport", s_pki);
    s_la = rh_signer_load (path);
    if (!s_police || !s_la)
        abort ();
    const char *seeds = getenv ("RH_FUZZ_SEEDS");
    if (seeds)
        s_write_seeds (seeds);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (!s_broker)
        s_setup ();
    if (size == 0)
        return 0;
    uint8_t select = data [0];
    const char *agency = s_agencies [select & 3];
    int slot = (select >> 2) & 3;
    int mode = (select >> 4) & 3;
    //  Descriptors the process does not use: sessions are bookkeeping keyed by them.
    int connection = 1000 + slot;
    const uint8_t routing_id [] = { 0, 'f', 'u', 'z', (uint8_t) slot };
    const uint8_t *payload = data + 1;
    size_t payload_size = size - 1;
    uint8_t *owned = NULL;
    const uint8_t *body = payload;
    size_t body_size = payload_size;
    rh_signer_t *signer = (select & 3) == 1 ? s_la : s_police;
    if (mode == 1) {
        size_t sealed_size;
        char msg_id [RH_MAX_ID + 1];
        uint8_t *sealed = s_reseal (signer, payload, payload_size, &sealed_size, msg_id);
        if (sealed)
            body = owned = s_submit (msg_id, sealed, sealed_size, &body_size);
        else
            body = owned = s_submit ("fuzz-msg", payload, payload_size, &body_size);
        free (sealed);
    }
    else if (mode == 2) {
        char msg_id [RH_MAX_ID + 1];
        size_t sealed_size;
        uint8_t *sealed = s_seal (signer, payload, payload_size, &sealed_size, msg_id);
        if (!sealed)
            return 0;
        body = owned = s_submit (msg_id, sealed, sealed_size, &body_size);
        free (sealed);
    }
    rh_broker_handle (s_broker, agency, connection, routing_id, sizeof routing_id, body, body_size);
    free (owned);
    for (int i = 0; i < S_MAX_STEPS && rh_broker_verifying (s_broker) > 0; i++)
        if (rh_broker_step (s_broker, S_STEP_WAIT_MS) != 0)
            abort ();  //  storage failed on a memory file system: a broker bug
    if (rh_broker_step (s_broker, 0) != 0)
        abort ();
    return 0;
}
