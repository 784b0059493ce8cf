/*  =========================================================================
    test_rh_evidence - a message's evidence bundle, written and checked
    =========================================================================
*/
#include "test_helpers.h"
#include "rh_broker_classes.h"

//  A broker's world in a temporary folder: a board CA with a broker and police-gwent, and a log
//  whose record 1 is the arrival of police-gwent's message "pol-1", under a signed checkpoint.
typedef struct {
    char root [PATH_MAX];
    char pki [PATH_MAX];
    char other [PATH_MAX];  //  another board's CA
    char data [PATH_MAX];
    rh_db_t *db;
} s_world_t;

static void
s_issue (const char *pki, const char *id, const char *type)
{
    rh_ca_request_t request = { .agency_id = id, .type = type, .la = "newport" };
    CU_ASSERT_EQUAL_FATAL (rh_ca_issue (pki, &request), 0);
}

static void
s_world (s_world_t *world, bool checkpoint)
{
    memset (world, 0, sizeof *world);
    test_tempdir (world->root, sizeof world->root);
    rh_file_path (world->pki, sizeof world->pki, "%s/pki", world->root);
    rh_file_path (world->other, sizeof world->other, "%s/other", world->root);
    rh_file_path (world->data, sizeof world->data, "%s/data", world->root);
    CU_ASSERT_EQUAL_FATAL (rh_ca_init (world->pki, "test board CA", 0), 0);
    CU_ASSERT_EQUAL_FATAL (rh_ca_init (world->other, "another board CA", 0), 0);
    s_issue (world->pki, "broker", "BROKER");
    s_issue (world->pki, "police-gwent", "POLICE");
    world->db = rh_db_open (world->data);
    rh_audit_t *audit = world->db ? rh_audit_new (world->db) : NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL (audit);
    const char *json = "{\"kind\": \"STATUS_UPDATE\", \"msg_id\": \"pol-1\", \"in_reply_to\": "
                       "\"la-2\", \"purpose\": \"REFERRER_FEEDBACK\", \"body\": "
                       "{\"update_kind\": \"CLOSED\"}}";
    char error [256] = "";
    rh_envelope_t *envelope =
        rh_json_to_envelope ((const uint8_t *) json, strlen (json), error, sizeof error);
    rh_signer_t *police = test_signer (world->pki, "police-gwent");
    rh_signer_t *broker = test_signer (world->pki, "broker");
    uint8_t *sealed = NULL;
    size_t sealed_size = 0;
    CU_ASSERT_FATAL (envelope && police && broker && rh_envelope_sign (envelope, police) == 0
                     && rh_envelope_encode (envelope, &sealed, &sealed_size) == 0);
    rh_audit_event (audit, "POLICY_LOADED", RH_OK, NULL, NULL, NULL, 0, NULL, 0, NULL, "");
    rh_audit_event (audit, "ACCEPTED", RH_OK, "pol-1", "police-gwent", NULL, 0, sealed, sealed_size,
                    NULL, "STATUS_UPDATE");
    rh_audit_event (audit, "DELIVERED", RH_OK, "pol-1", "police-gwent", NULL, 0, NULL, 0, NULL, "");
    if (checkpoint)
        CU_ASSERT_EQUAL (rh_audit_checkpoint (audit, broker, rh_time_now_ms ()), 0);
    CU_ASSERT_EQUAL_FATAL (rh_db_commit (world->db, true), 0);
    free (sealed);
    rh_signer_destroy (&police);
    rh_signer_destroy (&broker);
    rh_envelope_destroy (&envelope);
    rh_audit_destroy (&audit);
}

//  Reads a CA's certificate.
static uint8_t *
s_ca (const char *pki, size_t *size)
{
    char path [PATH_MAX];
    uint8_t *pem = NULL;
    rh_file_path (path, sizeof path, "%s/ca.pem", pki);
    CU_ASSERT_EQUAL (rh_file_read (path, RH_MAX_PKI_FILE, &pem, size), 0);
    return pem;
}

//  Loads a bundle folder with one file changed: byte at of name xor 1, or another hex digit in
//  place of a hex digit of proof.txt (at SIZE_MAX: the file left out).
static rh_evidence_t *
s_load_changed (const char *dir, const char *name, size_t at)
{
    rh_evidence_t *evidence = rh_evidence_new ();
    CU_ASSERT_PTR_NOT_NULL_FATAL (evidence);
    const char *names [] = { "manifest.txt",      "message.bin",    "leaf.bin",
                             "proof.txt",         "checkpoint.sig", "sender.pem",
                             "broker.pem",        "ca.pem",         "crl.pem",
                             "checkpoint.signed", "erasure.bin",    "erasure-proof.txt" };
    for (size_t i = 0; i < sizeof names / sizeof names [0]; i++) {
        char path [PATH_MAX];
        uint8_t *data = NULL;
        size_t size = 0;
        rh_file_path (path, sizeof path, "%s/%s", dir, names [i]);
        if (!rh_file_exists (path))
            continue;  //  a bundle of an erased message has no message; others no erasure
        CU_ASSERT_EQUAL_FATAL (rh_file_read (path, RH_MAX_ENVELOPE, &data, &size), 0);
        bool changed = name && !strcmp (name, names [i]);
        //  A hex digit stays one (a different one): the proof still parses.
        if (changed && at < size && !strcmp (name, "proof.txt") && isxdigit (data [at]))
            data [at] = data [at] == '0' ? '1' : '0';
        else if (changed && at < size)
            data [at] ^= 1;
        if (!changed || at != SIZE_MAX)
            CU_ASSERT_EQUAL (rh_evidence_add (evidence, names [i], data, size), 0);
        free (data);
    }
    return evidence;
}

//  Checks a bundle changed as s_load_changed does against ca; returns the result and the part.
static rh_rc_t
s_check_changed (const char *dir, const char *name, size_t at, const char *ca_pki,
                 const char **part)
{
    rh_evidence_t *evidence = s_load_changed (dir, name, at);
    size_t ca_size = 0;
    uint8_t *ca = s_ca (ca_pki, &ca_size);
    rh_evidence_fault_t fault;
    rh_rc_t rc = rh_evidence_check (evidence, ca, ca_size, NULL, 0, 0, NULL, &fault);
    *part = fault.part;
    CU_ASSERT (rc == RH_OK || strlen (fault.reason) > 0);
    free (ca);
    rh_evidence_destroy (&evidence);
    return rc;
}

static void
test_a_bundle_written_from_the_log_checks_against_the_board_ca (void)
{
    s_world_t world;
    s_world (&world, true);
    char dir [PATH_MAX], why [256] = "";
    rh_file_path (dir, sizeof dir, "%s/bundle", world.root);
    FILE *out = fopen ("/dev/null", "w");
    CU_ASSERT_EQUAL (rh_evidence_write (world.db, world.pki, "pol-1", dir, out, why, sizeof why),
                     0);
    rh_evidence_t *evidence = rh_evidence_new ();
    CU_ASSERT_PTR_NOT_NULL_FATAL (evidence);
    CU_ASSERT_EQUAL (rh_evidence_load (evidence, dir, why, sizeof why), 0);
    size_t ca_size = 0;
    uint8_t *ca = s_ca (world.pki, &ca_size);
    rh_evidence_fault_t fault;
    CU_ASSERT_EQUAL (rh_evidence_check (evidence, ca, ca_size, NULL, 0, 0, out, &fault), RH_OK);
    CU_ASSERT_STRING_EQUAL (fault.part, "");
    //  Never written over; an unknown message has no bundle.
    CU_ASSERT_EQUAL (rh_evidence_write (world.db, world.pki, "pol-1", dir, out, why, sizeof why),
                     -1);
    CU_ASSERT_PTR_NOT_NULL (strstr (why, "never written over"));
    rh_file_path (dir, sizeof dir, "%s/none", world.root);
    CU_ASSERT_EQUAL (rh_evidence_write (world.db, world.pki, "pol-9", dir, out, why, sizeof why),
                     -1);
    CU_ASSERT_FALSE (rh_file_exists (dir));
    fclose (out);
    free (ca);
    rh_evidence_destroy (&evidence);
    rh_db_destroy (&world.db);
}

static void
test_a_message_no_checkpoint_covers_yet_has_no_bundle (void)
{
    s_world_t world;
    s_world (&world, false);
    char dir [PATH_MAX], why [256] = "";
    rh_file_path (dir, sizeof dir, "%s/bundle", world.root);
    CU_ASSERT_EQUAL (rh_evidence_write (world.db, world.pki, "pol-1", dir, stdout, why, sizeof why),
                     -1);
    CU_ASSERT_PTR_NOT_NULL (strstr (why, "no checkpoint covers record 1"));
    CU_ASSERT_FALSE (rh_file_exists (dir));
    rh_db_destroy (&world.db);
}

//  Erases pol-1 as rhannu-broker erase does: an ERASURE record (record 4, after the checkpoint's own), a checkpoint, then
//  the payload deleted.
static void
s_erase (s_world_t *world)
{
    rh_audit_t *audit = rh_audit_new (world->db);
    rh_eraser_t *eraser = audit ? rh_eraser_new (world->db, audit, NULL) : NULL;
    rh_signer_t *broker = test_signer (world->pki, "broker");
    CU_ASSERT_FATAL (eraser && broker);
    CU_ASSERT_EQUAL (rh_eraser_add_message (eraser, "pol-1"), 1);
    CU_ASSERT_EQUAL (
        rh_eraser_run (eraser, RH_ERASURE_COURT_ORDER, "Family Court ref 7", broker, NULL, NULL),
        1);
    rh_signer_destroy (&broker);
    rh_eraser_destroy (&eraser);
    rh_audit_destroy (&audit);
}

static void
test_an_erased_message_brings_its_erasure_record_into_the_bundle (void)
{
    s_world_t world;
    s_world (&world, true);
    s_erase (&world);
    char dir [PATH_MAX], why [256] = "", path [PATH_MAX];
    rh_file_path (dir, sizeof dir, "%s/bundle", world.root);
    FILE *out = fopen ("/dev/null", "w");
    CU_ASSERT_EQUAL_FATAL (
        rh_evidence_write (world.db, world.pki, "pol-1", dir, out, why, sizeof why), 0);
    fclose (out);
    rh_file_path (path, sizeof path, "%s/message.bin", dir);
    CU_ASSERT_FALSE (rh_file_exists (path));
    rh_file_path (path, sizeof path, "%s/erasure.bin", dir);
    CU_ASSERT_TRUE (rh_file_exists (path));
    rh_file_path (path, sizeof path, "%s/manifest.txt", dir);
    uint8_t *manifest = NULL;
    size_t size = 0;
    CU_ASSERT_EQUAL_FATAL (rh_file_read (path, 4096, &manifest, &size), 0);
    CU_ASSERT_PTR_NOT_NULL (strstr ((char *) manifest,
                                    "message_stored: no (erased by record 4, reason COURT_ORDER, "
                                    "authority Family Court ref 7)"));
    CU_ASSERT_PTR_NOT_NULL (strstr ((char *) manifest, "message_sha256: "));
    free (manifest);
    rh_evidence_t *evidence = rh_evidence_new ();
    CU_ASSERT_EQUAL (rh_evidence_load (evidence, dir, why, sizeof why), 0);
    size_t ca_size = 0;
    uint8_t *ca = s_ca (world.pki, &ca_size);
    rh_evidence_fault_t fault;
    char *text = NULL;
    size_t text_size = 0;
    FILE *said = open_memstream (&text, &text_size);
    CU_ASSERT_EQUAL (rh_evidence_check (evidence, ca, ca_size, NULL, 0, 0, said, &fault), RH_OK);
    fclose (said);
    CU_ASSERT_PTR_NOT_NULL (strstr (text, "ERASED by record 4, reason COURT_ORDER"));
    free (text);
    rh_evidence_destroy (&evidence);
    //  Without its erasure record, or with its proof changed, the message is missing.
    const char *part = NULL;
    CU_ASSERT_EQUAL (s_check_changed (dir, NULL, 0, world.pki, &part), RH_OK);
    CU_ASSERT_EQUAL (s_check_changed (dir, "erasure.bin", SIZE_MAX, world.pki, &part),
                     RH_E_MALFORMED);
    CU_ASSERT_STRING_EQUAL (part, "erasure");
    CU_ASSERT_EQUAL (s_check_changed (dir, "erasure-proof.txt", 3, world.pki, &part), RH_E_SIG);
    CU_ASSERT_STRING_EQUAL (part, "erasure");
    free (ca);
    rh_db_destroy (&world.db);
}

static void
test_a_payload_gone_without_erasure_has_no_bundle (void)
{
    s_world_t world;
    s_world (&world, true);
    rh_db_delete (world.db, "ap/00000000000000000001", 23);
    CU_ASSERT_EQUAL_FATAL (rh_db_commit (world.db, true), 0);
    char dir [PATH_MAX], why [256] = "";
    rh_file_path (dir, sizeof dir, "%s/bundle", world.root);
    FILE *out = fopen ("/dev/null", "w");
    CU_ASSERT_EQUAL (rh_evidence_write (world.db, world.pki, "pol-1", dir, out, why, sizeof why),
                     -1);
    fclose (out);
    CU_ASSERT_PTR_NOT_NULL (strstr (why, "record 1 is missing: damaged"));
    CU_ASSERT_FALSE (rh_file_exists (dir));
    rh_db_destroy (&world.db);
}

static void
test_each_part_changed_is_refused_naming_the_part (void)
{
    s_world_t world;
    s_world (&world, true);
    char dir [PATH_MAX], why [256] = "";
    rh_file_path (dir, sizeof dir, "%s/bundle", world.root);
    FILE *out = fopen ("/dev/null", "w");
    CU_ASSERT_EQUAL_FATAL (
        rh_evidence_write (world.db, world.pki, "pol-1", dir, out, why, sizeof why), 0);
    fclose (out);
    const char *part = NULL;
    CU_ASSERT_EQUAL (s_check_changed (dir, NULL, 0, world.pki, &part), RH_OK);
    CU_ASSERT_EQUAL (s_check_changed (dir, "message.bin", 40, world.pki, &part), RH_E_COMMITMENT);
    CU_ASSERT_STRING_EQUAL (part, "message");
    CU_ASSERT_EQUAL (s_check_changed (dir, "proof.txt", 3, world.pki, &part), RH_E_SIG);
    CU_ASSERT_STRING_EQUAL (part, "proof");
    CU_ASSERT_EQUAL (s_check_changed (dir, "proof.txt", 64, world.pki, &part), RH_E_MALFORMED);
    CU_ASSERT_STRING_EQUAL (part, "proof");
    CU_ASSERT_EQUAL (s_check_changed (dir, "leaf.bin", 30, world.pki, &part), RH_E_SIG);
    CU_ASSERT_STRING_EQUAL (part, "proof");
    CU_ASSERT_EQUAL (s_check_changed (dir, "checkpoint.sig", 5, world.pki, &part), RH_E_SIG);
    CU_ASSERT_STRING_EQUAL (part, "checkpoint");
    CU_ASSERT_EQUAL (s_check_changed (dir, "checkpoint.signed", 0, world.pki, &part),
                     RH_E_MALFORMED);
    CU_ASSERT_STRING_EQUAL (part, "checkpoint");
    CU_ASSERT_EQUAL (s_check_changed (dir, "crl.pem", SIZE_MAX, world.pki, &part), RH_E_CRL);
    CU_ASSERT_STRING_EQUAL (part, "crl");
    CU_ASSERT_EQUAL (s_check_changed (dir, "manifest.txt", 0, world.pki, &part), RH_E_MALFORMED);
    CU_ASSERT_STRING_EQUAL (part, "manifest");
    CU_ASSERT_EQUAL (s_check_changed (dir, "sender.pem", SIZE_MAX, world.pki, &part),
                     RH_E_CERT_UNKNOWN);
    CU_ASSERT_STRING_EQUAL (part, "certificate");
    CU_ASSERT_EQUAL (s_check_changed (dir, NULL, 0, world.other, &part), RH_E_CRL);
    CU_ASSERT_STRING_EQUAL (part, "crl");
    //  A message left out with no erasure record is missing, not erased.
    CU_ASSERT_EQUAL (s_check_changed (dir, "message.bin", SIZE_MAX, world.pki, &part),
                     RH_E_MALFORMED);
    CU_ASSERT_STRING_EQUAL (part, "erasure");
    rh_db_destroy (&world.db);
}

static void
test_a_quorum_needs_cosignatures_and_keys_are_read_each_once (void)
{
    s_world_t world;
    s_world (&world, true);
    char dir [PATH_MAX], why [256] = "", keys_path [PATH_MAX];
    rh_file_path (dir, sizeof dir, "%s/bundle", world.root);
    FILE *out = fopen ("/dev/null", "w");
    CU_ASSERT_EQUAL_FATAL (
        rh_evidence_write (world.db, world.pki, "pol-1", dir, out, why, sizeof why), 0);
    fclose (out);
    uint8_t public_key [32], secret [64];
    crypto_sign_keypair (public_key, secret);
    rh_note_vkey_t key, keys [2];
    char text [RH_NOTE_MAX_VKEY];
    CU_ASSERT_FATAL (
        rh_note_vkey_make ("witness.test/w1", RH_NOTE_TYPE_COSIGNATURE, public_key, &key) == RH_OK
        && rh_note_vkey_format (&key, text, sizeof text) == 0);
    rh_file_path (keys_path, sizeof keys_path, "%s/keys", world.root);
    FILE *file = fopen (keys_path, "w");
    fprintf (file, "%s\n\n", text);
    fclose (file);
    size_t count = 0;
    CU_ASSERT_EQUAL (rh_evidence_read_keys (keys_path, keys, 2, &count), 0);
    CU_ASSERT_EQUAL (count, 1);
    file = fopen (keys_path, "a");
    fprintf (file, "%s\n", text);
    fclose (file);
    CU_ASSERT_EQUAL (rh_evidence_read_keys (keys_path, keys, 2, &count), -1);
    rh_evidence_t *evidence = s_load_changed (dir, NULL, 0);
    size_t ca_size = 0;
    uint8_t *ca = s_ca (world.pki, &ca_size);
    rh_evidence_fault_t fault;
    CU_ASSERT_EQUAL (rh_evidence_check (evidence, ca, ca_size, &key, 1, 1, NULL, &fault), RH_E_SIG);
    CU_ASSERT_STRING_EQUAL (fault.part, "cosignature");
    CU_ASSERT_PTR_NOT_NULL (strstr (fault.reason, "no witness cosigned"));
    //  Only a bundle's files, each once.
    CU_ASSERT_EQUAL (rh_evidence_add (evidence, "ca.pem", ca, ca_size), -1);
    CU_ASSERT_EQUAL (rh_evidence_add (evidence, "../etc/passwd", ca, ca_size), -1);
    free (ca);
    rh_evidence_destroy (&evidence);
    CU_ASSERT_PTR_NULL (evidence);
    rh_db_destroy (&world.db);
}

void
init_rh_evidence_tests (void)
{
    CU_pSuite suite = CU_add_suite ("rh_evidence", NULL, NULL);
    CU_add_test (suite, "a bundle written from the log checks against the board CA",
                 test_a_bundle_written_from_the_log_checks_against_the_board_ca);
    CU_add_test (suite, "a message no checkpoint covers yet has no bundle",
                 test_a_message_no_checkpoint_covers_yet_has_no_bundle);
    CU_add_test (suite, "an erased message brings its erasure record into the bundle",
                 test_an_erased_message_brings_its_erasure_record_into_the_bundle);
    CU_add_test (suite, "a payload gone without erasure has no bundle",
                 test_a_payload_gone_without_erasure_has_no_bundle);
    CU_add_test (suite, "each part changed is refused, naming the part",
                 test_each_part_changed_is_refused_naming_the_part);
    CU_add_test (suite, "a quorum needs cosignatures, and keys are read each once",
                 test_a_quorum_needs_cosignatures_and_keys_are_read_each_once);
}
