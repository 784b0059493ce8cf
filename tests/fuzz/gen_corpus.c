/*  =========================================================================
    gen_corpus - makes the public test PKI and the envelope seed corpus

    gen-corpus PKI-DIR CORPUS-DIR

    Creates a long-lived CA and agencies in PKI-DIR, signs one message of
    every kind (whole and redacted) into CORPUS-DIR, then deletes every
    private key: only public certificates and the CRL are kept, so the
    committed vectors hold no secrets. Run by `make corpus`; not by check.
    =========================================================================
*/
#include "rh_certs.h"
#include "rhannu.pb-c.h"

#define YEAR_MS ((int64_t) 365 * 24 * 3600 * 1000)

static void
s_write (const char *dir, const char *name, rh_envelope_t *envelope)
{
    uint8_t *bytes = NULL;
    size_t size = 0;
    char path [PATH_MAX];
    if (rh_envelope_encode (envelope, &bytes, &size) != 0
        || rh_file_path (path, sizeof path, "%s/%s", dir, name) != 0
        || rh_file_write_atomic (path, bytes, size, 0644) != 0)
        exit (1);
    free (bytes);
}

static void
s_forget_secrets (const char *dir)
{
    char path [PATH_MAX];
    const char *agencies [] = { "police-vector", "la-vector", NULL };
    for (int i = 0; agencies [i]; i++) {
        rh_file_path (path, sizeof path, "%s/%s/key.pem", dir, agencies [i]);
        unlink (path);
        rh_file_path (path, sizeof path, "%s/%s/curve.key", dir, agencies [i]);
        unlink (path);
    }
    rh_file_path (path, sizeof path, "%s/ca.key", dir);
    unlink (path);
}

//  gen-corpus frames DIR: one seed per frame type.
static int
s_frames (const char *dir)
{
    uint64_t ids [] = { 1, 2, 3 };
    const rh_frame_t frames [] = {
        { .type = RH_FRAME_HELLO, .credit = 1000 },
        { .type = RH_FRAME_SUBMIT,
          .msg_id = "m-1",
          .sealed = (const uint8_t *) "sealed",
          .sealed_size = 6 },
        { .type = RH_FRAME_ACCEPTED, .msg_id = "m-1", .duplicate = true },
        { .type = RH_FRAME_REJECTED,
          .msg_id = "m-1",
          .code = "RH_E_POLICY",
          .reason = "no agreement" },
        { .type = RH_FRAME_DELIVER,
          .delivery_id = 42,
          .sealed = (const uint8_t *) "s",
          .sealed_size = 1 },
        { .type = RH_FRAME_DELIVERED, .ids = ids, .id_count = 3 },
        { .type = RH_FRAME_BUNDLE, .sealed = (const uint8_t *) "bundle", .sealed_size = 6 },
        { .type = RH_FRAME_UNVERIFIED,
          .delivery_id = 42,
          .code = "RH_E_CERT_UNKNOWN",
          .reason = "sender not in our trust bundle" },
        //  A checkpoint with a witness's cosignature line (the bytes need not verify here).
        { .type = RH_FRAME_CHECKPOINT,
          .checkpoint = { .size = 7,
                          .time_ms = 1700000000000,
                          .origin = "example.com/log",
                          .cosignatures = "\xe2\x80\x94 witness.example/w1 "
                                          "519lMgAAAABkGFDLBuRDazBLVac2NE+Y+IjbjQOcXLfF9CSDZVUIoS83"
                                          "rE1nFZsVE8YiWV6Ngr7lV8H6bdoBQGP/l73euDMQ9k+bBQ==\n" } },
        //  A federated peer broker's witness request and an answer.
        { .type = RH_FRAME_WITNESS_REQUEST,
          .sealed = (const uint8_t *) "old 0\n\nexample.com/log\n7\n"
                                      "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n",
          .sealed_size = 71 },
        { .type = RH_FRAME_WITNESS_REPLY,
          .status = 409,
          .sealed = (const uint8_t *) "12\n",
          .sealed_size = 3 },
    };
    if (rh_file_mkdir (dir, 0755) != 0)
        return 1;
    for (size_t i = 0; i < sizeof frames / sizeof frames [0]; i++) {
        size_t size = 0;
        uint8_t *bytes = rh_frame_encode (&frames [i], &size);
        char path [PATH_MAX];
        rh_file_path (path, sizeof path, "%s/seed-frame-%zu", dir, i + 1);
        if (!bytes || rh_file_write_atomic (path, bytes, size, 0644) != 0)
            return 1;
        free (bytes);
    }
    return 0;
}

//  gen-corpus bundles DIR: a real bundle as it arrives (0 + signed bytes) and its content (1 +
//  content, which the harness signs), made with a throwaway board.
static int
s_bundles (const char *dir)
{
    char board [PATH_MAX] = "/tmp/rhannu-corpus-XXXXXX", pki [PATH_MAX], path [PATH_MAX];
    if (!mkdtemp (board) || rh_file_mkdir (dir, 0755) != 0)
        return 1;
    rh_file_path (pki, sizeof pki, "%s/pki", board);
    rh_ca_request_t door = { .agency_id = "la-newport", .type = "LA_FRONT_DOOR", .la = "newport" };
    rh_ca_request_t police = { .agency_id = "police-gwent", .type = "POLICE" };
    uint8_t *signed_bytes = NULL;
    size_t size = 0;
    rh_file_path (path, sizeof path, "%s/%s", pki, RH_BUNDLE_FILE);
    if (rh_ca_init (pki, NULL, 0) != 0 || rh_ca_issue (pki, &door) != 0
        || rh_ca_issue (pki, &police) != 0 || rh_ca_revoke (pki, "police-gwent", 5) != 0
        || rh_bundle_make (pki, NULL, 0, NULL) != 0
        || rh_file_read (path, RH_MAX_BUNDLE, &signed_bytes, &size) != 0)
        return 1;
    Rhannu__V1__SignedBundle *outer = rhannu__v1__signed_bundle__unpack (NULL, size, signed_bytes);
    if (!outer)
        return 1;
    uint8_t *seed = malloc (size + 1);
    if (!seed)
        return 1;
    seed [0] = 0;
    memcpy (seed + 1, signed_bytes, size);
    rh_file_path (path, sizeof path, "%s/seed-bundle-signed", dir);
    int rc = rh_file_write_atomic (path, seed, size + 1, 0644);
    seed [0] = 1;
    memcpy (seed + 1, outer->bundle.data, outer->bundle.len);
    rh_file_path (path, sizeof path, "%s/seed-bundle-content", dir);
    rc |= rh_file_write_atomic (path, seed, outer->bundle.len + 1, 0644);
    seed [0] = 2;
    rh_file_path (path, sizeof path, "%s/seed-bundle-content-own-crl", dir);
    rc |= rh_file_write_atomic (path, seed, outer->bundle.len + 1, 0644);
    rhannu__v1__signed_bundle__free_unpacked (outer, NULL);
    free (seed);
    free (signed_bytes);
    char command [PATH_MAX + 16];
    snprintf (command, sizeof command, "rm -rf '%s'", board);
    return rc != 0 || system (command) != 0;
}

//  Writes one seed: the mode byte, then size bytes.
static int
s_seed (const char *dir, const char *name, uint8_t mode, const void *data, size_t size)
{
    char path [PATH_MAX];
    uint8_t *bytes = malloc (size + 1);
    if (!bytes || rh_file_path (path, sizeof path, "%s/%s", dir, name) != 0)
        return -1;
    bytes [0] = mode;
    memcpy (bytes + 1, data, size);
    int rc = rh_file_write_atomic (path, bytes, size + 1, 0644);
    free (bytes);
    return rc;
}

//  gen-corpus notes DIR: seeds for fuzz_note, one per reader (see its header), signed by the
//  harness's keys (seeds 32..63 for the log, 0..31 for the witness).
static int
s_notes (const char *dir)
{
    uint8_t seed [32], public_key [32], log_secret [64], wit_secret [64];
    for (int i = 0; i < 32; i++)
        seed [i] = (uint8_t) (32 + i);
    crypto_sign_seed_keypair (public_key, log_secret, seed);
    for (int i = 0; i < 32; i++)
        seed [i] = (uint8_t) i;
    crypto_sign_seed_keypair (public_key, wit_secret, seed);
    uint8_t root [RH_DIGEST_LEN], proof [3][RH_DIGEST_LEN];
    rh_sha256 (root, "root", 4);
    for (int i = 0; i < 3; i++)
        rh_sha256 (proof [i], &i, sizeof i);
    char text [512];
    int n = rh_note_checkpoint_format ("example.com/log", 7, root, text, sizeof text);
    rh_note_t *note = n > 0 ? rh_note_new (text, (size_t) n) : NULL;
    if (!note || rh_note_sign (note, "example.com/log", log_secret) != 0
        || rh_file_mkdir (dir, 0755) != 0)
        return 1;
    char *encoded = NULL, *body = NULL;
    size_t encoded_size = 0, body_size = 0;
    if (rh_note_request_encode (4, (const uint8_t (*) [RH_DIGEST_LEN]) proof, 3, note, &body,
                                &body_size)
            != 0
        || s_seed (dir, "seed-request", 1, body, body_size) != 0)
        return 1;
    free (body);
    if (rh_note_cosign (note, "witness.example/w1", wit_secret, 1700000000) != 0
        || rh_note_encode (note, &encoded, &encoded_size) != 0
        || s_seed (dir, "seed-cosigned", 0, encoded, encoded_size) != 0)
        return 1;
    char line [512];
    n = rh_note_line (note, 1, line, sizeof line);
    if (n < 0 || s_seed (dir, "seed-lines", 4, line, (size_t) n) != 0)
        return 1;
    const char *spec = "This is an example message.\n\n\xe2\x80\x94 example.com/foo "
                       "Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXm"
                       "RKuwHjG1Yu72IneyaQM=\n";
    const char *vkey = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
    const char *extended = "example.com/log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"
                           "extension\n";
    if (s_seed (dir, "seed-spec-note", 0, spec, strlen (spec)) != 0
        || s_seed (dir, "seed-vkey", 2, vkey, strlen (vkey)) != 0
        || s_seed (dir, "seed-checkpoint", 3, text, strlen (text)) != 0
        || s_seed (dir, "seed-checkpoint-ext", 3, extended, strlen (extended)) != 0)
        return 1;
    free (encoded);
    rh_note_destroy (&note);
    return 0;
}

//  gen-corpus records DIR: seeds for fuzz_record: an ERASURE record, an accepted message's
//  record with a decision and a withheld field, a queue entry and an outgoing message.
static int
s_records (const char *dir)
{
    uint8_t sha [2][RH_DIGEST_LEN];
    rh_sha256 (sha [0], "first", 5);
    rh_sha256 (sha [1], "second", 6);
    rh_erased_t erased [2] = { { .seq = 2, .msg_id = "m-2", .payload_sha256 = sha [0] },
                               { .seq = 5, .msg_id = "m-5", .payload_sha256 = sha [1] } };
    rh_audit_record_t erasure = { .seq = 9,
                                  .at_ms = 1700000000000,
                                  .event = "ERASURE",
                                  .code = "RH_OK",
                                  .detail = "2 messages erased",
                                  .erasure_reason = RH_ERASURE_COURT_ORDER,
                                  .erasure_authority = "Cardiff Family Court",
                                  .erased = erased,
                                  .erased_count = 2 };
    uint32_t field = 7;
    const uint8_t *digests [1] = { sha [1] };
    rh_audit_decision_t decision = { .recipient = "la-newport",
                                     .allowed = true,
                                     .agreement_id = "TEST",
                                     .agreement_version = 1,
                                     .agreement_sha256 = sha [0],
                                     .rule_id = "R1",
                                     .withheld_count = 1,
                                     .withheld_fields = &field,
                                     .withheld_digests = digests };
    const char *recipients [1] = { "la-newport" };
    rh_audit_record_t accepted = { .seq = 2,
                                   .event = "ACCEPTED",
                                   .code = "RH_OK",
                                   .msg_id = "m-2",
                                   .agency = "police-gwent",
                                   .recipients = recipients,
                                   .recipient_count = 1,
                                   .payload_sha256 = sha [0],
                                   .case_id = "case-1",
                                   .decisions = &decision,
                                   .decision_count = 1 };
    rh_queued_t queued = { .msg_id = "m-2", .sender = "police-gwent", .payload_leaf = 3 };
    rh_outgoing_t outgoing = {
        .msg_id = "m-2", .sealed = sha [0], .sealed_size = RH_DIGEST_LEN, .file_name = "r.json"
    };
    if (rh_file_mkdir (dir, 0755) != 0)
        return 1;
    size_t size = 0;
    uint8_t *bytes = NULL;
    int rc = 0;
    bytes = rh_record_encode_audit (&erasure, &size);
    rc |= !bytes || s_seed (dir, "seed-erasure", 0, bytes, size) != 0;
    free (bytes);
    bytes = rh_record_encode_audit (&accepted, &size);
    rc |= !bytes || s_seed (dir, "seed-accepted", 0, bytes, size) != 0;
    free (bytes);
    bytes = rh_record_encode_queued (&queued, &size);
    rc |= !bytes || s_seed (dir, "seed-queued", 1, bytes, size) != 0;
    free (bytes);
    bytes = rh_record_encode_outgoing (&outgoing, &size);
    rc |= !bytes || s_seed (dir, "seed-outgoing", 2, bytes, size) != 0;
    free (bytes);
    return rc;
}

int
main (int argc, char **argv)
{
    if (argc == 3 && strcmp (argv [1], "records") == 0)
        return s_records (argv [2]);
    if (argc == 3 && strcmp (argv [1], "frames") == 0)
        return s_frames (argv [2]);
    if (argc == 3 && strcmp (argv [1], "bundles") == 0)
        return s_bundles (argv [2]);
    if (argc == 3 && strcmp (argv [1], "notes") == 0)
        return s_notes (argv [2]);
    if (argc != 3) {
        fprintf (stderr, "usage: gen-corpus PKI-DIR CORPUS-DIR\n");
        return 2;
    }
    const char *pki = argv [1], *corpus = argv [2];
    int64_t now = rh_time_now_ms ();
    rh_ca_request_t police = { .agency_id = "police-vector",
                               .type = "POLICE",
                               .la = "newport",
                               .region = "gwent",
                               .not_after_ms = now + 50 * YEAR_MS };
    rh_ca_request_t la = { .agency_id = "la-vector",
                           .type = "LA_FRONT_DOOR",
                           .la = "newport",
                           .region = "gwent",
                           .not_after_ms = now + 50 * YEAR_MS };
    if (rh_ca_init (pki, "rhannu test vectors CA (public parts only)", now + 50 * YEAR_MS)
        || rh_ca_issue (pki, &police) || rh_ca_issue (pki, &la)
        || rh_ca_crl (pki, now + 50 * YEAR_MS) || rh_file_mkdir (corpus, 0755))
        return 1;
    char path [PATH_MAX];
    rh_file_path (path, sizeof path, "%s/police-vector", pki);
    rh_signer_t *signer = rh_signer_load (path);
    if (!signer)
        return 1;

    Rhannu__V1__Subject child = RHANNU__V1__SUBJECT__INIT;
    child.kind = RHANNU__V1__SUBJECT_KIND__CHILD;
    child.home_la = "newport";
    child.name = "Child A";
    Rhannu__V1__Subject *subjects [] = { &child };
    Rhannu__V1__Category categories [] = { RHANNU__V1__CATEGORY__DOMESTIC_ABUSE };
    Rhannu__V1__Consent consent = RHANNU__V1__CONSENT__INIT;
    consent.state = RHANNU__V1__CONSENT_STATE__NOT_REQUIRED_SIGNIFICANT_HARM;
    Rhannu__V1__Referral referral = RHANNU__V1__REFERRAL__INIT;
    referral.referral_kind = RHANNU__V1__REFERRAL_KIND__PPN;
    referral.subjects = subjects;
    referral.n_subjects = 1;
    referral.categories = categories;
    referral.n_categories = 1;
    referral.narrative = "Domestic incident; child present.";
    referral.consent = &consent;
    Rhannu__V1__Outcome outcome = RHANNU__V1__OUTCOME__INIT;
    outcome.decision = RHANNU__V1__DECISION__STEP_DOWN_EARLY_HELP;
    outcome.rationale = "Early help better placed";
    Rhannu__V1__StatusUpdate update = RHANNU__V1__STATUS_UPDATE__INIT;
    update.update_kind = RHANNU__V1__UPDATE_KIND__ALLOCATED;
    update.detail = "Social worker allocated";
    Rhannu__V1__Error error = RHANNU__V1__ERROR__INIT;
    error.code = "RH_E_POLICY";
    error.reason = "no agreement allows this";
    Rhannu__V1__Alert alert = RHANNU__V1__ALERT__INIT;
    alert.alert_kind = RHANNU__V1__ALERT_KIND__REPEAT_REFERRALS;
    alert.count = 3;
    const struct {
        rh_kind_t kind;
        const ProtobufCMessage *body;
        const char *name;
    } seeds [] = {
        { RH_KIND_REFERRAL, &referral.base, "referral" },
        { RH_KIND_OUTCOME, &outcome.base, "outcome" },
        { RH_KIND_STATUS_UPDATE, &update.base, "update" },
        { RH_KIND_ERROR, &error.base, "error" },
        { RH_KIND_ALERT, &alert.base, "alert" },
    };
    for (size_t i = 0; i < sizeof seeds / sizeof seeds [0]; i++) {
        rh_envelope_t *envelope = rh_envelope_new (seeds [i].kind);
        rh_envelope_set_case_id (envelope, "case-1");
        rh_envelope_set_purpose (envelope, "SAFEGUARDING_CHILD");
        rh_envelope_set_author (envelope, "PC1", "PC", "CRU", "DS2", NULL);
        rh_envelope_add_to_front_door (envelope, "newport", "IAA");
        rh_envelope_set_sequence (envelope, i + 1);
        if (rh_envelope_set_body (envelope, seeds [i].body) || rh_envelope_sign (envelope, signer))
            return 1;
        char name [64];
        snprintf (name, sizeof name, "seed-%s", seeds [i].name);
        s_write (corpus, name, envelope);
        uint32_t keep [] = { 1, 2 };
        rh_envelope_redact (envelope, keep, 2);
        snprintf (name, sizeof name, "seed-%s-redacted", seeds [i].name);
        s_write (corpus, name, envelope);
        rh_envelope_destroy (&envelope);
    }
    rh_signer_destroy (&signer);
    s_forget_secrets (pki);
    printf ("gen-corpus: wrote %zu seeds to %s and the public PKI to %s\n",
            2 * sizeof seeds / sizeof seeds [0], corpus, pki);
    return 0;
}
