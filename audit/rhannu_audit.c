/*  =========================================================================
    rhannu-audit - the auditor's tools, on a copy of the broker's data

    rhannu-audit verify --data DIR --pki DIR [--json]
    rhannu-audit proof --message ID --data DIR --pki DIR [--json]
    rhannu-audit chronology --case ID --data DIR --pki DIR [--json]

    DIR for --data is the broker's data/dir (or a copy of it, taken while the
    broker is stopped); --pki is the PKI folder with the board CA, the CRL and
    the certificates, the broker's included.
    =========================================================================
*/
#include "rh_classes.h"
#include "rhannu.pb-c.h"
#include "rh_audit.h"

typedef struct {
    const char *command;
    const char *data;
    const char *pki;
    const char *message;
    const char *case_id;
    bool json;
} s_args_t;

static void
s_usage (FILE *out)
{
    fprintf (out,
             "usage:\n"
             "  rhannu-audit verify --data DIR --pki DIR [--json]\n"
             "      recompute the Merkle tree, check every signed checkpoint and every message\n"
             "      signature against the certificates valid when it arrived; exit 1 and name\n"
             "      the first bad record\n"
             "  rhannu-audit proof --message ID --data DIR --pki DIR [--json]\n"
             "      an inclusion proof that the message is in the log under the latest checkpoint\n"
             "  rhannu-audit chronology --case ID --data DIR --pki DIR [--json]\n"
             "      the case from beginning to end: who sent what, when, under which agreement\n"
             "      and rule, what was withheld, who was told\n"
             "DIR for --data is the broker's data folder or a copy taken while it was stopped.\n");
}

static int
s_parse (int argc, char **argv, s_args_t *args)
{
    memset (args, 0, sizeof *args);
    if (argc < 2)
        return -1;
    args->command = argv [1];
    for (int i = 2; i < argc; i++) {
        const char **slot = NULL;
        if (!strcmp (argv [i], "--data"))
            slot = &args->data;
        else if (!strcmp (argv [i], "--pki"))
            slot = &args->pki;
        else if (!strcmp (argv [i], "--message"))
            slot = &args->message;
        else if (!strcmp (argv [i], "--case"))
            slot = &args->case_id;
        else if (!strcmp (argv [i], "--json")) {
            args->json = true;
            continue;
        }
        if (!slot || i + 1 >= argc)
            return -1;
        *slot = argv [++i];
    }
    return args->data && args->pki ? 0 : -1;
}

//  ---------------------------------------------------------------------------------------------
//  verify

//  Checks the signature of every message still stored with its record, at the time the broker
//  received it. Returns RH_OK or the first failure, with *bad set.
static rh_rc_t
s_verify_messages (rh_db_t *db, rh_certstore_t *store, uint64_t *checked, uint64_t *bad,
                   char *reason, size_t reason_size)
{
    rh_db_iter_t *iter = rh_db_iter_new (db, "ap/", 3);
    if (!iter)
        return RH_E_NOMEM;
    rh_rc_t rc = RH_OK;
    for (; rh_db_iter_valid (iter); rh_db_iter_next (iter)) {
        size_t key_size = 0, size = 0;
        const uint8_t *key = rh_db_iter_key (iter, &key_size);
        const uint8_t *payload = rh_db_iter_value (iter, &size);
        uint64_t seq = rh_db_key_sequence (key, key_size, 3);
        char leaf_key [48];
        snprintf (leaf_key, sizeof leaf_key, "a/%020" PRIu64, seq);
        uint8_t *leaf = NULL;
        size_t leaf_size = 0;
        rh_audit_record_t record = { 0 };
        if (rh_db_get (db, leaf_key, strlen (leaf_key), &leaf, &leaf_size) != 0
            || rh_record_decode_audit (leaf, leaf_size, &record) != RH_OK) {
            free (leaf);
            *bad = seq;
            snprintf (reason, reason_size, "a stored message has no record");
            rc = RH_E_MALFORMED;
            break;
        }
        rh_envelope_t *envelope = NULL;
        rc = rh_envelope_decode (payload, size, &envelope);
        if (rc == RH_OK)
            rc = rh_envelope_verify (envelope, store, record.at_ms);
        if (rc != RH_OK) {
            *bad = seq;
            snprintf (reason, reason_size, "the message of record %" PRIu64 " from %s: %s", seq,
                      record.agency, rh_rc_text (rc));
        }
        rh_envelope_destroy (&envelope);
        rh_record_release (&record.owned);
        free (leaf);
        if (rc != RH_OK)
            break;
        (*checked)++;
    }
    rh_db_iter_destroy (&iter);
    return rc;
}

static int
s_verify (rh_db_t *db, rh_certstore_t *store, const s_args_t *args)
{
    struct timespec start, end;
    clock_gettime (CLOCK_MONOTONIC, &start);
    rh_audit_check_t check;
    rh_rc_t rc = rh_audit_verify (db, store, &check);
    uint64_t messages = 0, bad = check.bad;
    char reason [256];
    snprintf (reason, sizeof reason, "%s", check.reason);
    if (rc == RH_OK)
        rc = s_verify_messages (db, store, &messages, &bad, reason, sizeof reason);
    clock_gettime (CLOCK_MONOTONIC, &end);
    double seconds = (double) (end.tv_sec - start.tv_sec) + (end.tv_nsec - start.tv_nsec) / 1e9;
    char root [RH_DIGEST_LEN * 2 + 1];
    sodium_bin2hex (root, sizeof root, check.root, RH_DIGEST_LEN);
    if (args->json) {
        json_t *out = json_pack ("{s:b, s:I, s:I, s:I, s:I, s:s, s:f}", "valid", rc == RH_OK,
                                 "records", (json_int_t) check.count, "checkpoints",
                                 (json_int_t) check.checkpoints, "messages_verified",
                                 (json_int_t) messages, "messages_erased",
                                 (json_int_t) check.erased, "root", root, "seconds", seconds);
        if (rc != RH_OK) {
            json_object_set_new (out, "first_bad_record", json_integer ((json_int_t) bad));
            json_object_set_new (out, "reason", json_string (reason));
        }
        json_dumpf (out, stdout, JSON_INDENT (2) | JSON_PRESERVE_ORDER);
        printf ("\n");
        json_decref (out);
    }
    else if (rc == RH_OK)
        printf ("audit log verified: %" PRIu64 " records, %" PRIu64
                " signed checkpoints, %" PRIu64 " message signatures, %" PRIu64
                " messages erased\nroot %s\n(%.2f s, %.0f records/s)\n",
                check.count, check.checkpoints, messages, check.erased, root, seconds,
                seconds > 0 ? (double) check.count / seconds : 0.0);
    else
        printf ("audit log NOT valid: first bad record %" PRIu64 ": %s\n", bad, reason);
    return rc == RH_OK ? 0 : 1;
}

//  ---------------------------------------------------------------------------------------------
//  proof

//  The first record about a message (its arrival), or UINT64_MAX.
static uint64_t
s_first_record (rh_db_t *db, const char *msg_id)
{
    char prefix [RH_MAX_ID + 8];
    snprintf (prefix, sizeof prefix, "ai/%s/", msg_id);
    rh_db_iter_t *iter = rh_db_iter_new (db, prefix, strlen (prefix));
    uint64_t seq = UINT64_MAX;
    if (iter && rh_db_iter_valid (iter)) {
        size_t size = 0;
        const uint8_t *key = rh_db_iter_key (iter, &size);
        seq = rh_db_key_sequence (key, size, strlen (prefix));
    }
    rh_db_iter_destroy (&iter);
    return seq;
}

static int
s_proof (rh_db_t *db, const s_args_t *args)
{
    uint64_t seq = s_first_record (db, args->message);
    if (seq == UINT64_MAX) {
        fprintf (stderr, "rhannu-audit: message %s is not in the log\n", args->message);
        return 1;
    }
    rh_db_iter_t *iter = rh_db_iter_new (db, "ck/", 3);
    Rhannu__V1__Checkpoint *checkpoint = NULL;
    if (iter) {
        rh_db_iter_seek_last (iter);
        if (rh_db_iter_valid (iter)) {
            size_t size = 0;
            const uint8_t *value = rh_db_iter_value (iter, &size);
            checkpoint = rhannu__v1__checkpoint__unpack (NULL, size, value);
        }
        rh_db_iter_destroy (&iter);
    }
    if (!checkpoint || checkpoint->size <= seq || checkpoint->root.len != RH_DIGEST_LEN) {
        fprintf (stderr, "rhannu-audit: no checkpoint covers record %" PRIu64 " yet\n", seq);
        if (checkpoint)
            rhannu__v1__checkpoint__free_unpacked (checkpoint, NULL);
        return 1;
    }
    char key [48];
    snprintf (key, sizeof key, "a/%020" PRIu64, seq);
    uint8_t *leaf = NULL, leaf_hash [RH_DIGEST_LEN], proof [RH_MERKLE_MAX_PROOF][RH_DIGEST_LEN];
    size_t leaf_size = 0;
    int count = -1;
    if (rh_db_get (db, key, strlen (key), &leaf, &leaf_size) == 0) {
        rh_merkle_leaf_hash (leaf, leaf_size, leaf_hash);
        count = rh_audit_inclusion_proof (db, seq, checkpoint->size, proof);
    }
    free (leaf);
    bool valid = count >= 0
                 && rh_merkle_verify_inclusion (leaf_hash, seq, checkpoint->size,
                                                (const uint8_t (*) [RH_DIGEST_LEN]) proof,
                                                (size_t) count, checkpoint->root.data);
    char root [RH_DIGEST_LEN * 2 + 1], hex [RH_DIGEST_LEN * 2 + 1], when [32];
    sodium_bin2hex (root, sizeof root, checkpoint->root.data, RH_DIGEST_LEN);
    sodium_bin2hex (hex, sizeof hex, leaf_hash, RH_DIGEST_LEN);
    json_t *path = json_array ();
    for (int i = 0; i < count; i++) {
        char node [RH_DIGEST_LEN * 2 + 1];
        sodium_bin2hex (node, sizeof node, proof [i], RH_DIGEST_LEN);
        json_array_append_new (path, json_string (node));
    }
    if (args->json) {
        json_t *out = json_pack ("{s:s, s:I, s:s, s:I, s:s, s:s, s:o, s:b}", "message",
                                 args->message, "leaf_index", (json_int_t) seq, "leaf_hash", hex,
                                 "tree_size", (json_int_t) checkpoint->size, "root", root,
                                 "checkpoint_time",
                                 rh_time_format (checkpoint->time_ms, when, sizeof when),
                                 "audit_path", path, "verified", valid);
        json_dumpf (out, stdout, JSON_INDENT (2) | JSON_PRESERVE_ORDER);
        printf ("\n");
        json_decref (out);
    }
    else {
        printf ("message %s arrived as record %" PRIu64 " (leaf hash %s)\n", args->message, seq,
                hex);
        printf ("included in the tree of %" PRIu64 " records signed %s, root %s\n",
                checkpoint->size, rh_time_format (checkpoint->time_ms, when, sizeof when), root);
        printf ("audit path (%d hashes, RFC 6962):\n", count);
        size_t index;
        json_t *node;
        json_array_foreach (path, index, node)
            printf ("  %s\n", json_string_value (node));
        printf ("%s\n", valid ? "the proof verifies" : "THE PROOF DOES NOT VERIFY");
        json_decref (path);
    }
    rhannu__v1__checkpoint__free_unpacked (checkpoint, NULL);
    return valid ? 0 : 1;
}

//  ---------------------------------------------------------------------------------------------
//  chronology

//  Adds the records of one index prefix (ac/<case>/ or ai/<msg>/) to the set, in order.
static void
s_collect (rh_db_t *db, const char *prefix, uint64_t **seqs, size_t *count, size_t *capacity)
{
    rh_db_iter_t *iter = rh_db_iter_new (db, prefix, strlen (prefix));
    for (; iter && rh_db_iter_valid (iter); rh_db_iter_next (iter)) {
        size_t size = 0;
        const uint8_t *key = rh_db_iter_key (iter, &size);
        uint64_t seq = rh_db_key_sequence (key, size, strlen (prefix));
        if (seq == UINT64_MAX)
            continue;
        bool seen = false;
        for (size_t i = 0; i < *count && !seen; i++)
            seen = (*seqs) [i] == seq;
        if (seen)
            continue;
        if (*count == *capacity) {
            *capacity = *capacity ? *capacity * 2 : 64;
            uint64_t *grown = realloc (*seqs, *capacity * sizeof **seqs);
            if (!grown)
                break;
            *seqs = grown;
        }
        (*seqs) [(*count)++] = seq;
    }
    rh_db_iter_destroy (&iter);
}

static int
s_compare_seq (const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y ? -1 : x > y;
}

static int
s_chronology (rh_db_t *db, const s_args_t *args)
{
    uint64_t *seqs = NULL;
    size_t count = 0, capacity = 0;
    char prefix [RH_MAX_ID * 2 + 8];
    snprintf (prefix, sizeof prefix, "ac/%s/", args->case_id);
    s_collect (db, prefix, &seqs, &count, &capacity);
    //  Each message of the case brings its deliveries and acknowledgements.
    size_t messages = count;
    for (size_t i = 0; i < messages; i++) {
        char key [48];
        snprintf (key, sizeof key, "a/%020" PRIu64, seqs [i]);
        uint8_t *value = NULL;
        size_t size = 0;
        rh_audit_record_t record;
        if (rh_db_get (db, key, strlen (key), &value, &size) == 0
            && rh_record_decode_audit (value, size, &record) == RH_OK) {
            snprintf (prefix, sizeof prefix, "ai/%s/", record.msg_id);
            if (*record.msg_id)
                s_collect (db, prefix, &seqs, &count, &capacity);
            rh_record_release (&record.owned);
        }
        free (value);
    }
    if (count == 0) {
        fprintf (stderr, "rhannu-audit: no record names case %s\n", args->case_id);
        free (seqs);
        return 1;
    }
    qsort (seqs, count, sizeof *seqs, s_compare_seq);
    json_t *events = json_array ();
    if (!args->json)
        printf ("case %s: %zu events\n", args->case_id, count);
    for (size_t i = 0; i < count; i++) {
        char key [48], when [32];
        snprintf (key, sizeof key, "a/%020" PRIu64, seqs [i]);
        uint8_t *value = NULL;
        size_t size = 0;
        rh_audit_record_t record;
        if (rh_db_get (db, key, strlen (key), &value, &size) != 0
            || rh_record_decode_audit (value, size, &record) != RH_OK) {
            free (value);
            continue;
        }
        //  The message itself, if not erased: its kind and purpose.
        const char *kind = "", *purpose = "";
        rh_envelope_t *envelope = NULL;
        uint8_t *payload = NULL;
        size_t payload_size = 0;
        snprintf (key, sizeof key, "ap/%020" PRIu64, seqs [i]);
        if (rh_db_get (db, key, strlen (key), &payload, &payload_size) == 0
            && rh_envelope_decode (payload, payload_size, &envelope) == RH_OK) {
            kind = rh_envelope_kind_name (rh_envelope_kind (envelope));
            purpose = rh_envelope_purpose (envelope);
        }
        char recipients [256] = "";
        for (size_t r = 0; r < record.recipient_count; r++) {
            size_t used = strlen (recipients);
            snprintf (recipients + used, sizeof recipients - used, "%s%s", r ? "," : "",
                      record.recipients [r]);
        }
        json_t *decisions = json_array ();
        rh_audit_decision_t decision;
        for (size_t d = 0; rh_record_decision (&record, d, &decision); d++) {
            json_t *withheld = json_array ();
            for (size_t w = 0; w < decision.withheld_count; w++) {
                uint32_t field = 0;
                const uint8_t *digest = NULL;
                if (rh_record_withheld (&record, d, w, &field, &digest)) {
                    const char *name = envelope ? rh_envelope_field_name (
                                                      rh_envelope_kind (envelope), field)
                                                : NULL;
                    json_array_append_new (withheld, name ? json_string (name)
                                                          : json_integer (field));
                }
            }
            json_array_append_new (
                decisions,
                json_pack ("{s:s, s:b, s:s, s:I, s:s, s:s, s:o}", "recipient",
                           decision.recipient, "allowed", decision.allowed, "agreement",
                           decision.agreement_id, "version",
                           (json_int_t) decision.agreement_version, "rule", decision.rule_id,
                           "missing", decision.missing_condition, "withheld", withheld));
        }
        rh_time_format (record.at_ms, when, sizeof when);
        if (args->json)
            json_array_append_new (
                events, json_pack ("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "record",
                                   (json_int_t) record.seq, "at", when, "event", record.event,
                                   "message", record.msg_id, "kind", kind, "purpose", purpose,
                                   "from", record.agency, "to", recipients, "detail",
                                   record.detail, "decisions", decisions));
        else {
            printf ("%s  %-10s %-15s %-22s -> %-22s %s%s%s\n", when, record.event,
                    *kind ? kind : "-", record.agency, *recipients ? recipients : "-",
                    *purpose ? "purpose " : "", purpose, *record.detail && !*kind ? record.detail : "");
            size_t d;
            json_t *entry;
            json_array_foreach (decisions, d, entry)
            {
                json_t *withheld = json_object_get (entry, "withheld");
                char *list = json_array_size (withheld) ? json_dumps (withheld, JSON_COMPACT)
                                                        : NULL;
                printf ("      %s %s under %s v%" JSON_INTEGER_FORMAT " rule %s%s%s%s%s\n",
                        json_is_true (json_object_get (entry, "allowed")) ? "to" : "REFUSED for",
                        json_string_value (json_object_get (entry, "recipient")),
                        json_string_value (json_object_get (entry, "agreement")),
                        json_integer_value (json_object_get (entry, "version")),
                        json_string_value (json_object_get (entry, "rule")),
                        list ? ", withheld " : "", list ? list : "",
                        *json_string_value (json_object_get (entry, "missing")) ? ", missing " : "",
                        json_string_value (json_object_get (entry, "missing")));
                free (list);
            }
            json_decref (decisions);
        }
        rh_envelope_destroy (&envelope);
        free (payload);
        rh_record_release (&record.owned);
        free (value);
    }
    if (args->json) {
        json_t *out = json_pack ("{s:s, s:o}", "case", args->case_id, "events", events);
        json_dumpf (out, stdout, JSON_INDENT (2) | JSON_PRESERVE_ORDER);
        printf ("\n");
        json_decref (out);
    }
    else
        json_decref (events);
    free (seqs);
    return 0;
}

int
main (int argc, char **argv)
{
    s_args_t args;
    if (argc >= 2 && (!strcmp (argv [1], "-h") || !strcmp (argv [1], "--help"))) {
        s_usage (stdout);
        return 0;
    }
    if (s_parse (argc, argv, &args) != 0) {
        s_usage (stderr);
        return 2;
    }
    setenv ("RH_LOG_LEVEL", "error", 0);
    bool known = !strcmp (args.command, "verify") || (!strcmp (args.command, "proof") && args.message)
                 || (!strcmp (args.command, "chronology") && args.case_id);
    if (!known) {
        s_usage (stderr);
        return 2;
    }
    rh_certstore_t *store = rh_certstore_load_dir (args.pki);
    if (!store) {
        fprintf (stderr, "rhannu-audit: cannot load the PKI in %s\n", args.pki);
        return 2;
    }
    rh_db_t *db = rh_db_open (args.data);
    if (!db) {
        fprintf (stderr, "rhannu-audit: cannot open %s (is the broker still running? use a copy)\n",
                 args.data);
        rh_certstore_destroy (&store);
        return 2;
    }
    int rc = !strcmp (args.command, "verify")  ? s_verify (db, store, &args)
             : !strcmp (args.command, "proof") ? s_proof (db, &args)
                                               : s_chronology (db, &args);
    rh_db_destroy (&db);
    rh_certstore_destroy (&store);
    return rc;
}
