/*  =========================================================================
    rhannu-audit - the auditor's tools, on a copy of the broker's data

    rhannu-audit verify --data DIR --pki DIR [--json]
    rhannu-audit proof --message ID --data DIR --pki DIR [--json]
    rhannu-audit chronology --case ID --data DIR --pki DIR [--json]
    rhannu-audit disclosures --subject KEY --data DIR --pki DIR [--json]
    rhannu-audit replay --data DIR --pki DIR [--json]
    rhannu-audit report --data DIR --pki DIR [--json] [--csv DIR] [--html FILE]

    DIR for --data is the broker's data/dir (or a copy of it, taken while the
    broker is stopped); --pki is the PKI folder with the board CA, the CRL and
    the certificates, the broker's included.
    =========================================================================
*/
#include "rh_broker_classes.h"
#include "rhannu.pb-c.h"

typedef struct {
    const char *command;
    const char *data;
    const char *pki;
    const char *message;
    const char *case_id;
    const char *subject;
    const char *csv;   //  report: folder for CSV files
    const char *html;  //  report: file for the HTML page
    bool json;
} s_args_t;

static void
s_usage (FILE *out)
{
    fprintf (
        out,
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
        "  rhannu-audit replay --data DIR --pki DIR [--json]\n"
        "      rebuild the referral lifecycles from the log alone and re-decide every policy\n"
        "      decision against the agreement version it names; exit 1 if one differs\n"
        "  rhannu-audit report --data DIR --pki DIR [--json] [--csv DIR] [--html FILE]\n"
        "      volumes, time to outcome, deadlines, NFA rates, refusals, alerts, and the\n"
        "      boards' Alerts, Assurance and Achievements summary\n"
        "  rhannu-audit disclosures --subject KEY --data DIR --pki DIR [--json]\n"
        "      every disclosure about one subject (KEY: its 64-hex pseudonymous key), to whom\n"
        "      and under which rule, and every refusal\n"
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
        else if (!strcmp (argv [i], "--subject"))
            slot = &args->subject;
        else if (!strcmp (argv [i], "--csv"))
            slot = &args->csv;
        else if (!strcmp (argv [i], "--html"))
            slot = &args->html;
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

//  One signature-checking worker: every stored message whose record number falls to it
//  (seq % workers == index), checked with its own certificate store.
typedef struct {
    rh_db_t *db;
    const char *pki;
    unsigned index;
    unsigned workers;
    uint64_t checked;
    uint64_t bad;  //  UINT64_MAX: none
    char reason [256];
    bool started;  //  runs on its own thread (to be joined)
} s_checker_t;

static void *
s_check_messages (void *arg)
{
    s_checker_t *self = arg;
    self->bad = UINT64_MAX;
    rh_certstore_t *store = rh_certstore_load_dir (self->pki);
    rh_db_iter_t *iter = store ? rh_db_iter_new (self->db, "ap/", 3) : NULL;
    if (!iter) {
        self->bad = 0;
        snprintf (self->reason, sizeof self->reason, "cannot read the PKI or the log");
    }
    for (; iter && rh_db_iter_valid (iter); rh_db_iter_next (iter)) {
        size_t key_size = 0, size = 0;
        const uint8_t *key = rh_db_iter_key (iter, &key_size);
        uint64_t seq = rh_db_key_sequence (key, key_size, 3);
        if (seq % self->workers != self->index)
            continue;
        const uint8_t *payload = rh_db_iter_value (iter, &size);
        char leaf_key [48];
        snprintf (leaf_key, sizeof leaf_key, "a/%020" PRIu64, seq);
        uint8_t *leaf = NULL;
        size_t leaf_size = 0;
        rh_audit_record_t record = { 0 };
        rh_rc_t rc = RH_E_MALFORMED;
        if (rh_db_get (self->db, leaf_key, strlen (leaf_key), &leaf, &leaf_size) == 0
            && rh_record_decode_audit (leaf, leaf_size, &record) == RH_OK) {
            rh_envelope_t *envelope = NULL;
            rc = rh_envelope_decode (payload, size, &envelope);
            if (rc == RH_OK)
                rc = rh_certstore_verify (store, envelope, record.at_ms);
            rh_envelope_destroy (&envelope);
            if (rc != RH_OK)
                snprintf (self->reason, sizeof self->reason,
                          "the message of record %" PRIu64 " from %s: %s", seq, record.agency,
                          rh_rc_text (rc));
            rh_record_release (&record.owned);
        }
        else
            snprintf (self->reason, sizeof self->reason, "a stored message has no record");
        free (leaf);
        if (rc != RH_OK) {
            self->bad = seq;
            break;
        }
        self->checked++;
    }
    rh_db_iter_destroy (&iter);
    rh_certstore_destroy (&store);
    return NULL;
}

//  Checks the signature of every message still stored with its record, at the time the broker
//  received it, on one worker per core. Returns RH_OK or the earliest failure, with *bad set.
static rh_rc_t
s_verify_messages (rh_db_t *db, const char *pki, uint64_t *checked, uint64_t *bad, char *reason,
                   size_t reason_size)
{
    long cores = sysconf (_SC_NPROCESSORS_ONLN);
    unsigned workers = cores > 0 && cores < 16 ? (unsigned) cores : 2;
    s_checker_t checkers [16];
    pthread_t threads [16];
    for (unsigned i = 0; i < workers; i++) {
        checkers [i] = (s_checker_t){ .db = db, .pki = pki, .index = i, .workers = workers };
        checkers [i].started =
            pthread_create (&threads [i], NULL, s_check_messages, &checkers [i]) == 0;
        if (!checkers [i].started)
            s_check_messages (&checkers [i]);  //  no thread: do its share here
    }
    rh_rc_t rc = RH_OK;
    *bad = UINT64_MAX;
    for (unsigned i = 0; i < workers; i++) {
        if (checkers [i].started)
            pthread_join (threads [i], NULL);
        *checked += checkers [i].checked;
        if (checkers [i].bad != UINT64_MAX && checkers [i].bad < *bad) {
            *bad = checkers [i].bad;
            snprintf (reason, reason_size, "%s", checkers [i].reason);
            rc = RH_E_MALFORMED;
        }
    }
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
        rc = s_verify_messages (db, args->pki, &messages, &bad, reason, sizeof reason);
    clock_gettime (CLOCK_MONOTONIC, &end);
    double seconds = (double) (end.tv_sec - start.tv_sec) + (end.tv_nsec - start.tv_nsec) / 1e9;
    char root [RH_DIGEST_LEN * 2 + 1];
    sodium_bin2hex (root, sizeof root, check.root, RH_DIGEST_LEN);
    if (args->json) {
        json_t *out =
            json_pack ("{s:b, s:I, s:I, s:I, s:I, s:s, s:f}", "valid", rc == RH_OK, "records",
                       (json_int_t) check.count, "checkpoints", (json_int_t) check.checkpoints,
                       "messages_verified", (json_int_t) messages, "messages_erased",
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
        printf ("audit log verified: %" PRIu64 " records, %" PRIu64 " signed checkpoints, %" PRIu64
                " message signatures, %" PRIu64
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
    rh_checkpoint_t checkpoint;
    if (!rh_audit_latest_checkpoint (db, &checkpoint) || checkpoint.size <= seq) {
        fprintf (stderr, "rhannu-audit: no checkpoint covers record %" PRIu64 " yet\n", seq);
        return 1;
    }
    char key [48];
    snprintf (key, sizeof key, "a/%020" PRIu64, seq);
    uint8_t *leaf = NULL, leaf_hash [RH_DIGEST_LEN], proof [RH_MERKLE_MAX_PROOF][RH_DIGEST_LEN];
    size_t leaf_size = 0;
    int count = -1;
    if (rh_db_get (db, key, strlen (key), &leaf, &leaf_size) == 0) {
        rh_merkle_leaf_hash (leaf, leaf_size, leaf_hash);
        count = rh_audit_inclusion_proof (db, seq, checkpoint.size, proof);
    }
    free (leaf);
    bool valid = count >= 0
                 && rh_merkle_verify_inclusion (leaf_hash, seq, checkpoint.size,
                                                (const uint8_t (*) [RH_DIGEST_LEN]) proof,
                                                (size_t) count, checkpoint.root);
    char root [RH_DIGEST_LEN * 2 + 1], hex [RH_DIGEST_LEN * 2 + 1], when [32];
    sodium_bin2hex (root, sizeof root, checkpoint.root, RH_DIGEST_LEN);
    sodium_bin2hex (hex, sizeof hex, leaf_hash, RH_DIGEST_LEN);
    json_t *path = json_array ();
    for (int i = 0; i < count; i++) {
        char node [RH_DIGEST_LEN * 2 + 1];
        sodium_bin2hex (node, sizeof node, proof [i], RH_DIGEST_LEN);
        json_array_append_new (path, json_string (node));
    }
    if (args->json) {
        json_t *out = json_pack (
            "{s:s, s:I, s:s, s:I, s:s, s:s, s:o, s:b}", "message", args->message, "leaf_index",
            (json_int_t) seq, "leaf_hash", hex, "tree_size", (json_int_t) checkpoint.size, "root",
            root, "checkpoint_time", rh_time_format (checkpoint.time_ms, when, sizeof when),
            "audit_path", path, "verified", valid);
        json_dumpf (out, stdout, JSON_INDENT (2) | JSON_PRESERVE_ORDER);
        printf ("\n");
        json_decref (out);
    }
    else {
        printf ("message %s arrived as record %" PRIu64 " (leaf hash %s)\n", args->message, seq,
                hex);
        printf ("included in the tree of %" PRIu64 " records signed %s, root %s\n", checkpoint.size,
                rh_time_format (checkpoint.time_ms, when, sizeof when), root);
        printf ("audit path (%d hashes, RFC 6962):\n", count);
        size_t index;
        json_t *node;
        json_array_foreach (path, index, node) printf ("  %s\n", json_string_value (node));
        printf ("%s\n", valid ? "the proof verifies" : "THE PROOF DOES NOT VERIFY");
        json_decref (path);
    }
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

//  Adds every message of a case and each of those messages' events (deliveries, acks).
static void
s_collect_case (rh_db_t *db, const char *case_id, uint64_t **seqs, size_t *count, size_t *capacity)
{
    char prefix [RH_MAX_ID * 2 + 8];
    snprintf (prefix, sizeof prefix, "ac/%s/", case_id);
    size_t before = *count;
    s_collect (db, prefix, seqs, count, capacity);
    size_t messages = *count;
    for (size_t i = before; i < messages; i++) {
        char key [48];
        snprintf (key, sizeof key, "a/%020" PRIu64, (*seqs) [i]);
        uint8_t *value = NULL;
        size_t size = 0;
        rh_audit_record_t record;
        if (rh_db_get (db, key, strlen (key), &value, &size) == 0
            && rh_record_decode_audit (value, size, &record) == RH_OK) {
            snprintf (prefix, sizeof prefix, "ai/%s/", record.msg_id);
            if (*record.msg_id)
                s_collect (db, prefix, seqs, count, capacity);
            rh_record_release (&record.owned);
        }
        free (value);
    }
}

//  Prints (or renders as JSON) the records seqs, in order. With only_decided, only records that
//  carry policy decisions or are broker notices: the disclosures.
static void
s_events (rh_db_t *db, uint64_t *seqs, size_t count, const s_args_t *args, bool only_decided,
          const char *title_key, const char *title)
{
    qsort (seqs, count, sizeof *seqs, s_compare_seq);
    json_t *events = json_array ();
    if (!args->json)
        printf ("%s %s: %zu events\n", title_key, title, count);
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
        if (only_decided && record.decision_count == 0 && strcmp (record.event, "NOTICE") != 0) {
            rh_record_release (&record.owned);
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
                    const char *name =
                        envelope ? rh_envelope_field_name (rh_envelope_kind (envelope), field)
                                 : NULL;
                    json_array_append_new (withheld,
                                           name ? json_string (name) : json_integer (field));
                }
            }
            json_array_append_new (decisions,
                                   json_pack ("{s:s, s:b, s:s, s:I, s:s, s:s, s:o}", "recipient",
                                              decision.recipient, "allowed", decision.allowed,
                                              "agreement", decision.agreement_id, "version",
                                              (json_int_t) decision.agreement_version, "rule",
                                              decision.rule_id, "missing",
                                              decision.missing_condition, "withheld", withheld));
        }
        rh_time_format (record.at_ms, when, sizeof when);
        if (args->json)
            json_array_append_new (
                events,
                json_pack ("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "record",
                           (json_int_t) record.seq, "at", when, "event", record.event, "message",
                           record.msg_id, "kind", kind, "purpose", purpose, "from", record.agency,
                           "to", recipients, "detail", record.detail, "decisions", decisions));
        else {
            printf ("%s  %-10s %-15s %-22s -> %-22s %s%s%s\n", when, record.event,
                    *kind ? kind : "-", record.agency, *recipients ? recipients : "-",
                    *purpose ? "purpose " : "", purpose,
                    *record.detail && !*kind ? record.detail : "");
            size_t d;
            json_t *entry;
            json_array_foreach (decisions, d, entry)
            {
                json_t *withheld = json_object_get (entry, "withheld");
                char *list =
                    json_array_size (withheld) ? json_dumps (withheld, JSON_COMPACT) : NULL;
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
        json_t *out = json_pack ("{s:s, s:o}", title_key, title, "events", events);
        json_dumpf (out, stdout, JSON_INDENT (2) | JSON_PRESERVE_ORDER);
        printf ("\n");
        json_decref (out);
    }
    else
        json_decref (events);
}

static int
s_chronology (rh_db_t *db, const s_args_t *args)
{
    uint64_t *seqs = NULL;
    size_t count = 0, capacity = 0;
    s_collect_case (db, args->case_id, &seqs, &count, &capacity);
    if (count == 0) {
        fprintf (stderr, "rhannu-audit: no record names case %s\n", args->case_id);
        free (seqs);
        return 1;
    }
    s_events (db, seqs, count, args, false, "case", args->case_id);
    free (seqs);
    return 0;
}

//  Every disclosure about one subject: the referrals indexed under its pseudonymous key (the
//  broker's repeat-referral index), each referral's case, and of those every decided delivery,
//  refusal and notice.
static int
s_disclosures (rh_db_t *db, const s_args_t *args)
{
    uint8_t key [RH_SUBJECT_KEY_LEN];
    size_t got = 0;
    if (strlen (args->subject) != RH_SUBJECT_KEY_LEN * 2
        || sodium_hex2bin (key, sizeof key, args->subject, strlen (args->subject), NULL, &got, NULL)
               != 0
        || got != RH_SUBJECT_KEY_LEN) {
        fprintf (stderr, "rhannu-audit: --subject takes the 64 hex digits of a subject key\n");
        return 2;
    }
    char prefix [RH_SUBJECT_KEY_LEN * 2 + 8];
    snprintf (prefix, sizeof prefix, "s/%s/", args->subject);
    uint64_t *seqs = NULL;
    size_t count = 0, capacity = 0, referrals = 0;
    rh_db_iter_t *iter = rh_db_iter_new (db, prefix, strlen (prefix));
    for (; iter && rh_db_iter_valid (iter); rh_db_iter_next (iter)) {
        size_t size = 0;
        const uint8_t *found = rh_db_iter_key (iter, &size);
        //  s/<key>/<16 hex>/<referral msg id>
        if (size <= strlen (prefix) + 17 || size - strlen (prefix) - 17 > RH_MAX_ID)
            continue;
        char referral [RH_MAX_ID + 1], case_key [RH_MAX_ID + 8];
        memcpy (referral, found + strlen (prefix) + 17, size - strlen (prefix) - 17);
        referral [size - strlen (prefix) - 17] = 0;
        referrals++;
        char message_prefix [RH_MAX_ID + 8];
        snprintf (message_prefix, sizeof message_prefix, "ai/%s/", referral);
        s_collect (db, message_prefix, &seqs, &count, &capacity);
        //  The referral's case brings what followed it.
        snprintf (case_key, sizeof case_key, "k/%s", referral);
        uint8_t *value = NULL;
        size_t value_size = 0;
        if (rh_db_get (db, case_key, strlen (case_key), &value, &value_size) == 0) {
            Rhannu__V1__Case *record = rhannu__v1__case__unpack (NULL, value_size, value);
            if (record && *record->case_id)
                s_collect_case (db, record->case_id, &seqs, &count, &capacity);
            if (record)
                rhannu__v1__case__free_unpacked (record, NULL);
        }
        free (value);
    }
    rh_db_iter_destroy (&iter);
    if (referrals == 0) {
        fprintf (stderr, "rhannu-audit: no referral is indexed under that subject key\n");
        free (seqs);
        return 1;
    }
    s_events (db, seqs, count, args, true, "subject", args->subject);
    free (seqs);
    return 0;
}

//  ---------------------------------------------------------------------------------------------
//  replay: rebuild the lifecycles and re-decide every recorded policy decision

//  One agreement version as the broker kept it (g/<id>/<version>: signature, then the file).
typedef struct {
    char key [RH_MAX_ID + 16];
    rh_agreement_t *agreement;  //  NULL: missing, unsigned or tampered
} s_version_t;

typedef struct {
    char referral [RH_MAX_ID + 1];
    char case_id [RH_MAX_ID + 1];
    char referrer [RH_MAX_ID + 1];
    char holder [RH_MAX_ID + 1];
    char involved [RH_MAX_INVOLVED][RH_MAX_ID + 1];
    size_t involved_count;
    int64_t received_ms;
    int64_t decided_ms;
    bool acknowledged;
    bool closed;
} s_case_t;

typedef struct {
    rh_db_t *db;
    rh_certstore_t *store;
    X509 *ca;
    s_version_t *versions;
    size_t version_count;
    s_case_t *cases;
    size_t case_count;
    size_t case_capacity;
} s_replay_t;

static const rh_agreement_t *
s_version (s_replay_t *self, const char *id, uint32_t version, const uint8_t *sha256)
{
    char key [RH_MAX_ID + 16];
    snprintf (key, sizeof key, "%s/%010u", id, version);
    for (size_t i = 0; i < self->version_count; i++)
        if (!strcmp (self->versions [i].key, key))
            return self->versions [i].agreement;
    s_version_t *grown = realloc (self->versions, (self->version_count + 1) * sizeof *grown);
    if (!grown)
        return NULL;
    self->versions = grown;
    s_version_t *entry = &self->versions [self->version_count++];
    snprintf (entry->key, sizeof entry->key, "%s", key);
    entry->agreement = NULL;
    char db_key [RH_MAX_ID + 24];
    snprintf (db_key, sizeof db_key, "g/%s", key);
    uint8_t *value = NULL;
    size_t size = 0;
    if (rh_db_get (self->db, db_key, strlen (db_key), &value, &size) == 0 && size > RH_SIG_LEN) {
        uint8_t digest [RH_DIGEST_LEN];
        crypto_hash_sha256 (digest, value + RH_SIG_LEN, size - RH_SIG_LEN);
        //  Only the file the board signed, and the one the decision names.
        if (rh_ca_verify_file (self->ca, value + RH_SIG_LEN, size - RH_SIG_LEN, value, RH_SIG_LEN)
                == RH_OK
            && (!sha256 || memcmp (digest, sha256, RH_DIGEST_LEN) == 0)) {
            char errors [256];
            entry->agreement = rh_agreement_parse ((const char *) value + RH_SIG_LEN,
                                                   size - RH_SIG_LEN, key, errors, sizeof errors);
        }
    }
    free (value);
    return entry->agreement;
}

static s_case_t *
s_case_find (s_replay_t *self, const char *referral, const char *holder, const char *case_id)
{
    for (size_t i = 0; i < self->case_count; i++) {
        s_case_t *c = &self->cases [i];
        if ((*referral && !strcmp (c->referral, referral))
            || (holder && *case_id && !strcmp (c->holder, holder) && !strcmp (c->case_id, case_id)))
            return c;
    }
    return NULL;
}

//  Opens the case a referral record starts. Returns it, or NULL if there is no room.
static s_case_t *
s_case_open (s_replay_t *self, const rh_audit_record_t *record, const char *case_id,
             const char *holder)
{
    if (self->case_count == self->case_capacity) {
        size_t capacity = self->case_capacity ? self->case_capacity * 2 : 256;
        s_case_t *grown = realloc (self->cases, capacity * sizeof *grown);
        if (!grown)
            return NULL;
        self->cases = grown;
        self->case_capacity = capacity;
    }
    s_case_t *opened = &self->cases [self->case_count++];
    memset (opened, 0, sizeof *opened);
    snprintf (opened->referral, sizeof opened->referral, "%s", record->msg_id);
    snprintf (opened->case_id, sizeof opened->case_id, "%s", case_id);
    snprintf (opened->referrer, sizeof opened->referrer, "%s", record->agency);
    snprintf (opened->holder, sizeof opened->holder, "%s", holder);
    opened->received_ms = record->at_ms;
    return opened;
}

static void
s_involve (s_case_t *c, const char *agency)
{
    for (size_t i = 0; i < c->involved_count; i++)
        if (!strcmp (c->involved [i], agency))
            return;
    if (c->involved_count < RH_MAX_INVOLVED && *agency)
        snprintf (c->involved [c->involved_count++], RH_MAX_ID + 1, "%s", agency);
}

static bool
s_party (s_replay_t *self, const char *agency, int64_t at_ms, rh_party_ref_t *ref)
{
    for (size_t i = 0; i < rh_certstore_size (self->store); i++) {
        const rh_identity_t *id = rh_certstore_identity (self->store, i);
        if (!strcmp (id->agency_id, agency)
            && rh_certstore_status (self->store, i, at_ms) == RH_OK) {
            rh_policy_party (id, ref);
            return true;
        }
    }
    return false;
}

static int
s_replay (rh_db_t *db, rh_certstore_t *store, const s_args_t *args)
{
    char ca_path [PATH_MAX];
    rh_file_path (ca_path, sizeof ca_path, "%s/ca.pem", args->pki);
    s_replay_t self = { .db = db, .store = store, .ca = rh_ca_read_cert (ca_path) };
    uint64_t decisions = 0, reproduced = 0, refusals_unkept = 0, referrals = 0;
    json_t *mismatches = json_array ();
    rh_db_iter_t *iter = rh_db_iter_new (db, "a/", 2);
    for (; iter && rh_db_iter_valid (iter); rh_db_iter_next (iter)) {
        size_t size = 0;
        const uint8_t *value = rh_db_iter_value (iter, &size);
        rh_audit_record_t record;
        if (rh_record_decode_audit (value, size, &record) != RH_OK)
            continue;
        bool accepted = !strcmp (record.event, "ACCEPTED");
        if (!strcmp (record.event, "REJECTED") && record.decision_count)
            refusals_unkept++;  //  a refused message is not kept: its decision stands as logged
        if (!strcmp (record.event, "ACKED")) {
            s_case_t *c = s_case_find (&self, record.msg_id, NULL, "");
            if (c && !strcmp (c->holder, record.agency))
                c->acknowledged = true;
        }
        rh_envelope_t *envelope = NULL;
        uint8_t *payload = NULL;
        size_t payload_size = 0;
        char key [48];
        snprintf (key, sizeof key, "ap/%020" PRIu64, record.seq);
        if (!accepted || rh_db_get (db, key, strlen (key), &payload, &payload_size) != 0
            || rh_envelope_decode (payload, payload_size, &envelope) != RH_OK) {
            free (payload);
            rh_record_release (&record.owned);
            continue;
        }
        rh_facts_t facts;
        rh_policy_facts (envelope, &facts);
        //  The case the message belongs to, rebuilt from the log so far.
        s_case_t *c = NULL;
        const char *involved [RH_MAX_INVOLVED];
        if (facts.kind == RH_KIND_OUTCOME || facts.kind == RH_KIND_STATUS_UPDATE) {
            c = s_case_find (&self, rh_envelope_in_reply_to (envelope), record.agency,
                             rh_envelope_case_id (envelope));
            if (c && strcmp (c->holder, record.agency) != 0)
                c = NULL;
        }
        if (c) {
            for (size_t i = 0; i < c->involved_count; i++)
                involved [i] = c->involved [i];
            facts.case_referrer = c->referrer;
            facts.case_involved = involved;
            facts.case_involved_count = c->involved_count;
        }
        rh_party_ref_t sender, recipient;
        bool have_sender = s_party (&self, record.agency, record.at_ms, &sender);
        const char *holder = NULL;
        rh_audit_decision_t decision;
        for (size_t d = 0; rh_record_decision (&record, d, &decision); d++) {
            if (!*decision.agreement_id)
                continue;
            decisions++;
            const rh_agreement_t *agreement =
                s_version (&self, decision.agreement_id, decision.agreement_version,
                           decision.agreement_sha256);
            rh_decision_t again;
            bool same = false;
            if (agreement && have_sender
                && s_party (&self, decision.recipient, record.at_ms, &recipient)) {
                rh_agreement_decide (agreement, &facts, &sender, &recipient, &again);
                same = (again.result == RH_DECIDE_ALLOW) == decision.allowed
                       && !strcmp (again.rule_id, decision.rule_id);
                //  And the same fields withheld.
                for (size_t w = 0; same && w < decision.withheld_count; w++) {
                    uint32_t field = 0;
                    const uint8_t *digest = NULL;
                    rh_record_withheld (&record, d, w, &field, &digest);
                    same = field >= 64 || !(again.fields & (1ull << field));
                }
                if (!holder && decision.allowed
                    && rh_agreement_has_role (agreement, decision.recipient, "front_door"))
                    holder = decision.recipient;
            }
            if (same)
                reproduced++;
            else
                json_array_append_new (
                    mismatches,
                    json_pack ("{s:I, s:s, s:s, s:s, s:s}", "record", (json_int_t) record.seq,
                               "message", record.msg_id, "recipient", decision.recipient,
                               "recorded_rule", decision.rule_id, "replayed_rule",
                               agreement ? again.rule_id : "(agreement not available)"));
        }
        //  Lifecycle: a referral opens a case; the holder's messages move it on.
        if (facts.kind == RH_KIND_REFERRAL && record.recipient_count) {
            s_case_t *opened = s_case_open (&self, &record, rh_envelope_case_id (envelope),
                                            holder ? holder : record.recipients [0]);
            if (opened) {
                s_involve (opened, record.agency);
                referrals++;
            }
        }
        else if (c) {
            for (size_t r = 0; r < record.recipient_count; r++)
                s_involve (c, record.recipients [r]);
            if (*facts.new_owner)
                s_involve (c, facts.new_owner);
            if (facts.kind == RH_KIND_OUTCOME && !c->decided_ms)
                c->decided_ms = record.at_ms;
            if (facts.update_kind == RHANNU__V1__UPDATE_KIND__CLOSED)
                c->closed = true;
        }
        rh_envelope_destroy (&envelope);
        free (payload);
        rh_record_release (&record.owned);
    }
    rh_db_iter_destroy (&iter);
    size_t acknowledged = 0, decided = 0, closed = 0;
    for (size_t i = 0; i < self.case_count; i++) {
        acknowledged += self.cases [i].acknowledged;
        decided += self.cases [i].decided_ms > 0;
        closed += self.cases [i].closed;
    }
    size_t mismatch_count = json_array_size (mismatches);
    if (args->json) {
        json_t *out = json_pack ("{s:I, s:I, s:I, s:o, s:{s:I, s:I, s:I, s:I}}", "decisions",
                                 (json_int_t) decisions, "reproduced", (json_int_t) reproduced,
                                 "refusals_not_kept", (json_int_t) refusals_unkept, "mismatches",
                                 mismatches, "referrals", "received", (json_int_t) referrals,
                                 "acknowledged", (json_int_t) acknowledged, "decided",
                                 (json_int_t) decided, "closed", (json_int_t) closed);
        json_dumpf (out, stdout, JSON_INDENT (2) | JSON_PRESERVE_ORDER);
        printf ("\n");
        json_decref (out);
    }
    else {
        printf ("replayed %" PRIu64 " referrals from the log: %zu taken in by their front door, "
                "%zu decided, %zu closed\n",
                referrals, acknowledged, decided, closed);
        printf ("re-decided %" PRIu64 " policy decisions against the agreement versions they name: "
                "%" PRIu64 " reproduce, %zu do not\n",
                decisions, reproduced, mismatch_count);
        printf ("(%" PRIu64 " refusals stand as logged: a refused message is not kept)\n",
                refusals_unkept);
        size_t index;
        json_t *entry;
        json_array_foreach (mismatches, index, entry)
            printf ("  record %" JSON_INTEGER_FORMAT " %s to %s: recorded rule %s, now %s\n",
                    json_integer_value (json_object_get (entry, "record")),
                    json_string_value (json_object_get (entry, "message")),
                    json_string_value (json_object_get (entry, "recipient")),
                    json_string_value (json_object_get (entry, "recorded_rule")),
                    json_string_value (json_object_get (entry, "replayed_rule")));
        json_decref (mismatches);
    }
    for (size_t i = 0; i < self.version_count; i++)
        rh_agreement_destroy (&self.versions [i].agreement);
    free (self.versions);
    free (self.cases);
    X509_free (self.ca);
    return mismatch_count == 0 ? 0 : 1;
}

//  ---------------------------------------------------------------------------------------------
//  report: the figures boards ask for, as JSON, CSV or a self-contained HTML page

//  Adds one to counts[name] (a JSON object of integers).
static void
s_count (json_t *counts, const char *name)
{
    if (!name || !*name)
        name = "(none)";
    json_int_t seen = json_integer_value (json_object_get (counts, name));
    json_object_set_new (counts, name, json_integer (seen + 1));
}

typedef struct {
    json_t *by_agency, *by_kind, *by_category, *by_la, *by_month;
    json_t *outcomes_by_referrer, *nfa_by_referrer, *refusals_by_rule, *decisions;
    json_t *days_to_outcome;  //  histogram: "0-1", "1-2", "2-5", "5-10", "10+"
    size_t referrals, decided, within_deadline, with_deadline, overdue_alerts, repeat_alerts;
    size_t closed, refusals, erased;
} s_figures_t;

static const char *
s_days_bucket (double days)
{
    return days < 1    ? "0-1 days"
           : days < 2  ? "1-2 days"
           : days < 5  ? "2-5 days"
           : days < 10 ? "5-10 days"
                       : "10+ days";
}

//  One pass over the log, like replay's, gathering the figures.
static void
s_gather (rh_db_t *db, s_figures_t *f, json_t *las_known)
{
    s_replay_t cases = { .db = db };
    //  Outcome deadlines from the broker's receipts: referral msg id -> due ms.
    json_t *due = json_object ();
    rh_db_iter_t *iter = rh_db_iter_new (db, "a/", 2);
    for (; iter && rh_db_iter_valid (iter); rh_db_iter_next (iter)) {
        size_t size = 0;
        const uint8_t *value = rh_db_iter_value (iter, &size);
        rh_audit_record_t record;
        if (rh_record_decode_audit (value, size, &record) != RH_OK)
            continue;
        if (!strcmp (record.event, "REJECTED")) {
            f->refusals++;
            rh_audit_decision_t decision;
            if (rh_record_decision (&record, 0, &decision))
                s_count (f->refusals_by_rule,
                         *decision.rule_id ? decision.rule_id : "(no rule: default deny)");
            else
                s_count (f->refusals_by_rule, record.code);
        }
        bool accepted = !strcmp (record.event, "ACCEPTED"),
             notice = !strcmp (record.event, "NOTICE");
        uint8_t *payload = NULL;
        size_t payload_size = 0;
        rh_envelope_t *envelope = NULL;
        char key [48];
        snprintf (key, sizeof key, "ap/%020" PRIu64, record.seq);
        if ((accepted || notice) && record.payload_sha256
            && rh_db_get (db, key, strlen (key), &payload, &payload_size) != 0)
            f->erased++;
        if ((accepted || notice) && payload
            && rh_envelope_decode (payload, payload_size, &envelope) == RH_OK) {
            const ProtobufCMessage *body = rh_envelope_body (envelope);
            rh_kind_t kind = rh_envelope_kind (envelope);
            if (notice && kind == RH_KIND_RECEIPT && body) {
                const Rhannu__V1__Receipt *receipt = (const Rhannu__V1__Receipt *) body;
                if (receipt->outcome_due_ms)
                    json_object_set_new (due, receipt->original_msg_id,
                                         json_integer (receipt->outcome_due_ms));
            }
            if (notice && kind == RH_KIND_ALERT && body) {
                const Rhannu__V1__Alert *alert = (const Rhannu__V1__Alert *) body;
                f->overdue_alerts += alert->alert_kind == RHANNU__V1__ALERT_KIND__OUTCOME_OVERDUE;
                f->repeat_alerts += alert->alert_kind == RHANNU__V1__ALERT_KIND__REPEAT_REFERRALS;
            }
            if (accepted) {
                char month [8];
                time_t seconds = (time_t) (record.at_ms / 1000);
                struct tm tm;
                strftime (month, sizeof month, "%Y-%m", gmtime_r (&seconds, &tm));
                s_count (f->by_kind, rh_envelope_kind_name (kind));
                s_count (f->by_agency, record.agency);
                s_count (f->by_month, month);
                rh_facts_t facts;
                rh_policy_facts (envelope, &facts);
                if (kind == RH_KIND_REFERRAL) {
                    f->referrals++;
                    const Rhannu__V1__Referral *referral = (const Rhannu__V1__Referral *) body;
                    for (size_t c = 0; referral && c < referral->n_categories; c++) {
                        const ProtobufCEnumValue *name = protobuf_c_enum_descriptor_get_value (
                            &rhannu__v1__category__descriptor, referral->categories [c]);
                        s_count (f->by_category, name ? name->name : "?");
                    }
                    for (size_t l = 0; l < facts.home_la_count; l++)
                        s_count (f->by_la, facts.home_las [l]);
                    if (!facts.home_la_count)
                        s_count (f->by_la, "(not given)");
                    if (record.recipient_count)
                        s_case_open (&cases, &record, rh_envelope_case_id (envelope),
                                     record.recipients [0]);
                }
                if (kind == RH_KIND_OUTCOME || kind == RH_KIND_STATUS_UPDATE) {
                    s_case_t *c = s_case_find (&cases, rh_envelope_in_reply_to (envelope),
                                               record.agency, rh_envelope_case_id (envelope));
                    if (c && kind == RH_KIND_OUTCOME && !c->decided_ms) {
                        c->decided_ms = record.at_ms;
                        f->decided++;
                        s_count (f->outcomes_by_referrer, c->referrer);
                        const ProtobufCEnumValue *name = protobuf_c_enum_descriptor_get_value (
                            &rhannu__v1__decision__descriptor, (int) facts.decision);
                        s_count (f->decisions, name ? name->name : "?");
                        if (facts.decision == RHANNU__V1__DECISION__NO_FURTHER_ACTION)
                            s_count (f->nfa_by_referrer, c->referrer);
                        double days = (double) (c->decided_ms - c->received_ms) / 86400000.0;
                        s_count (f->days_to_outcome, s_days_bucket (days));
                        json_int_t deadline =
                            json_integer_value (json_object_get (due, c->referral));
                        if (deadline) {
                            f->with_deadline++;
                            f->within_deadline += c->decided_ms <= deadline;
                        }
                    }
                    if (c && facts.update_kind == RHANNU__V1__UPDATE_KIND__CLOSED && !c->closed) {
                        c->closed = true;
                        f->closed++;
                    }
                }
            }
        }
        rh_envelope_destroy (&envelope);
        free (payload);
        rh_record_release (&record.owned);
    }
    rh_db_iter_destroy (&iter);
    //  Areas with no referrals are shown too: an absence of demand is information.
    size_t index;
    json_t *la;
    json_array_foreach (las_known, index,
                        la) if (!json_object_get (f->by_la, json_string_value (la)))
        json_object_set_new (f->by_la, json_string_value (la), json_integer (0));
    json_decref (due);
    free (cases.cases);
}

//  Local authorities the agreements cover, from the versions the broker kept (g/).
static json_t *
s_known_las (rh_db_t *db)
{
    json_t *las = json_array ();
    rh_db_iter_t *iter = rh_db_iter_new (db, "g/", 2);
    for (; iter && rh_db_iter_valid (iter); rh_db_iter_next (iter)) {
        size_t size = 0;
        const uint8_t *value = rh_db_iter_value (iter, &size);
        if (size <= RH_SIG_LEN)
            continue;
        yaml_parser_t parser;
        yaml_document_t document;
        if (!yaml_parser_initialize (&parser))
            continue;
        yaml_parser_set_input_string (&parser, value + RH_SIG_LEN, size - RH_SIG_LEN);
        if (yaml_parser_load (&parser, &document)) {
            yaml_node_t *root = yaml_document_get_root_node (&document);
            for (yaml_node_pair_t *pair = root && root->type == YAML_MAPPING_NODE
                                              ? root->data.mapping.pairs.start
                                              : NULL;
                 pair && pair < root->data.mapping.pairs.top; pair++) {
                yaml_node_t *k = yaml_document_get_node (&document, pair->key);
                yaml_node_t *v = yaml_document_get_node (&document, pair->value);
                if (!k || k->type != YAML_SCALAR_NODE || !v || v->type != YAML_SEQUENCE_NODE
                    || strcmp ((const char *) k->data.scalar.value, "local_authorities") != 0)
                    continue;
                for (yaml_node_item_t *item = v->data.sequence.items.start;
                     item < v->data.sequence.items.top; item++) {
                    yaml_node_t *name = yaml_document_get_node (&document, *item);
                    if (!name || name->type != YAML_SCALAR_NODE)
                        continue;
                    bool seen = false;
                    size_t i;
                    json_t *known;
                    json_array_foreach (las, i, known) seen =
                        seen
                        || !strcmp (json_string_value (known),
                                    (const char *) name->data.scalar.value);
                    if (!seen)
                        json_array_append_new (
                            las, json_string ((const char *) name->data.scalar.value));
                }
            }
            yaml_document_delete (&document);
        }
        yaml_parser_delete (&parser);
    }
    rh_db_iter_destroy (&iter);
    return las;
}

static json_t *
s_figures_json (s_figures_t *f, const rh_audit_check_t *check)
{
    double within =
        f->with_deadline ? 100.0 * (double) f->within_deadline / (double) f->with_deadline : 0.0;
    json_t *nfa_rate = json_object ();
    const char *agency;
    json_t *outcomes;
    json_object_foreach (f->outcomes_by_referrer, agency, outcomes)
    {
        double nfa = (double) json_integer_value (json_object_get (f->nfa_by_referrer, agency));
        json_object_set_new (nfa_rate, agency,
                             json_real (100.0 * nfa / (double) json_integer_value (outcomes)));
    }
    char root [RH_DIGEST_LEN * 2 + 1];
    sodium_bin2hex (root, sizeof root, check->root, RH_DIGEST_LEN);
    return json_pack (
        "{s:{s:b, s:I, s:s}, s:I, s:I, s:I, s:f, s:I, s:I, s:I, s:I, s:O, s:O, s:O, s:O, s:O, "
        "s:O, s:o, s:O, s:O, s:{s:[s,s,s], s:[s,s], s:[s,s,s]}}",
        "log", "verified", check->count > 0, "records", (json_int_t) check->count, "root", root,
        "referrals", (json_int_t) f->referrals, "decided", (json_int_t) f->decided, "closed",
        (json_int_t) f->closed, "outcomes_within_deadline_percent", within, "overdue_alerts",
        (json_int_t) f->overdue_alerts, "repeat_referral_alerts", (json_int_t) f->repeat_alerts,
        "refusals", (json_int_t) f->refusals, "messages_erased", (json_int_t) f->erased,
        "by_agency", f->by_agency, "by_kind", f->by_kind, "by_category", f->by_category,
        "by_local_authority", f->by_la, "by_month", f->by_month, "days_to_outcome",
        f->days_to_outcome, "nfa_rate_by_referrer_percent", nfa_rate, "refusals_by_rule",
        f->refusals_by_rule, "decisions", f->decisions, "aaa", "alerts", "overdue outcomes",
        "repeat referrals", "refusals", "assurance", "audit log verified",
        "outcomes within deadline", "achievements", "referrals decided", "cases closed",
        "feedback sent to referrers");
}

static void
s_csv (const char *dir, const char *name, json_t *counts, const char *column)
{
    char path [PATH_MAX];
    rh_file_path (path, sizeof path, "%s/%s.csv", dir, name);
    FILE *out = fopen (path, "w");
    if (!out)
        return;
    fprintf (out, "%s,count\n", column);
    const char *key;
    json_t *value;
    json_object_foreach (counts, key, value)
    {
        //  Quote every name: ids are plain, but a CSV reader should never have to guess.
        fprintf (out, "\"%s\",", key);
        if (json_is_real (value))
            fprintf (out, "%.1f\n", json_real_value (value));
        else
            fprintf (out, "%" JSON_INTEGER_FORMAT "\n", json_integer_value (value));
    }
    fclose (out);
}

//  A horizontal bar chart as inline SVG: no scripts, no network.
static void
s_html_chart (FILE *out, const char *title, json_t *counts, const char *unit)
{
    double top = 0;
    const char *key;
    json_t *value;
    json_object_foreach (counts, key, value)
    {
        double v = json_number_value (value);
        top = v > top ? v : top;
    }
    size_t rows = json_object_size (counts);
    fprintf (out,
             "<section><h2>%s</h2>\n<svg class=\"chart\" width=\"640\" height=\"%zu\" "
             "role=\"img\" aria-label=\"%s\">\n",
             title, rows * 26 + 10, title);
    size_t row = 0;
    json_object_foreach (counts, key, value)
    {
        double v = json_number_value (value);
        double width = top > 0 ? 380.0 * v / top : 0;
        fprintf (out,
                 "<text x=\"0\" y=\"%zu\" class=\"label\">%s</text>"
                 "<rect x=\"200\" y=\"%zu\" width=\"%.1f\" height=\"18\" class=\"%s\"/>"
                 "<text x=\"%.1f\" y=\"%zu\" class=\"value\">%g%s</text>\n",
                 row * 26 + 19, key, row * 26 + 5, width > 0 ? width : 1,
                 v > 0 ? "bar" : "bar empty", 206 + width, row * 26 + 19, v, unit);
        row++;
    }
    if (rows == 0)
        fprintf (out, "<text x=\"0\" y=\"19\" class=\"label\">nothing recorded</text>\n");
    fprintf (out, "</svg></section>\n");
}

static int
s_report_html (const char *path, json_t *figures)
{
    FILE *out = fopen (path, "w");
    if (!out)
        return -1;
    json_t *log = json_object_get (figures, "log");
    fprintf (out,
             "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
             "<title>rhannu report</title>\n<style>\n"
             "body{font-family:sans-serif;max-width:720px;margin:2em auto;color:#222}\n"
             "h1{font-size:1.5em}h2{font-size:1.1em;margin-top:1.5em}\n"
             ".aaa{display:flex;gap:1em}.aaa div{flex:1;border:1px solid #ccc;padding:.5em}\n"
             ".label{font-size:13px}.value{font-size:12px;fill:#444}\n"
             ".bar{fill:#2a6f97}.empty{fill:#ccc}\n</style></head><body>\n"
             "<h1>Safeguarding information sharing: report</h1>\n"
             "<p>From the broker's audit log: %" JSON_INTEGER_FORMAT
             " records, root <code>%.16s…</code>.</p>\n",
             json_integer_value (json_object_get (log, "records")),
             json_string_value (json_object_get (log, "root")));
    fprintf (out,
             "<h2>Alerts, Assurance and Achievements</h2>\n<div class=\"aaa\">\n"
             "<div><h3>Alerts</h3><p>%" JSON_INTEGER_FORMAT
             " outcomes overdue<br>%" JSON_INTEGER_FORMAT
             " repeat-referral alerts<br>%" JSON_INTEGER_FORMAT " messages refused</p></div>\n"
             "<div><h3>Assurance</h3><p>audit log verified<br>%.0f %% of outcomes within their "
             "deadline</p></div>\n"
             "<div><h3>Achievements</h3><p>%" JSON_INTEGER_FORMAT " of %" JSON_INTEGER_FORMAT
             " referrals decided, the referrer told each time<br>%" JSON_INTEGER_FORMAT
             " cases closed</p></div>\n</div>\n",
             json_integer_value (json_object_get (figures, "overdue_alerts")),
             json_integer_value (json_object_get (figures, "repeat_referral_alerts")),
             json_integer_value (json_object_get (figures, "refusals")),
             json_real_value (json_object_get (figures, "outcomes_within_deadline_percent")),
             json_integer_value (json_object_get (figures, "decided")),
             json_integer_value (json_object_get (figures, "referrals")),
             json_integer_value (json_object_get (figures, "closed")));
    s_html_chart (out, "Messages by agency", json_object_get (figures, "by_agency"), "");
    s_html_chart (out, "Messages by kind", json_object_get (figures, "by_kind"), "");
    s_html_chart (out, "Referrals by category", json_object_get (figures, "by_category"), "");
    s_html_chart (out, "Referrals by local authority (areas with none shown too)",
                  json_object_get (figures, "by_local_authority"), "");
    s_html_chart (out, "Messages by month", json_object_get (figures, "by_month"), "");
    s_html_chart (out, "Time to outcome", json_object_get (figures, "days_to_outcome"), "");
    s_html_chart (out, "Outcomes", json_object_get (figures, "decisions"), "");
    s_html_chart (out, "No-further-action rate by referring agency",
                  json_object_get (figures, "nfa_rate_by_referrer_percent"), " %");
    s_html_chart (out, "Refusals by rule", json_object_get (figures, "refusals_by_rule"), "");
    fprintf (out, "</body></html>\n");
    fclose (out);
    return 0;
}

static int
s_report (rh_db_t *db, rh_certstore_t *store, const s_args_t *args)
{
    rh_audit_check_t check;
    rh_rc_t rc = rh_audit_verify (db, store, &check);
    if (rc != RH_OK) {
        fprintf (stderr,
                 "rhannu-audit: the log does not verify (record %" PRIu64 ": %s); no report\n",
                 check.bad, check.reason);
        return 1;
    }
    s_figures_t f = { .by_agency = json_object (),
                      .by_kind = json_object (),
                      .by_category = json_object (),
                      .by_la = json_object (),
                      .by_month = json_object (),
                      .outcomes_by_referrer = json_object (),
                      .nfa_by_referrer = json_object (),
                      .refusals_by_rule = json_object (),
                      .decisions = json_object (),
                      .days_to_outcome = json_object () };
    json_t *las = s_known_las (db);
    s_gather (db, &f, las);
    json_decref (las);
    json_t *figures = s_figures_json (&f, &check);
    int result = 0;
    if (args->csv) {
        rh_file_mkdir (args->csv, 0755);
        s_csv (args->csv, "by_agency", f.by_agency, "agency");
        s_csv (args->csv, "by_kind", f.by_kind, "kind");
        s_csv (args->csv, "by_category", f.by_category, "category");
        s_csv (args->csv, "by_local_authority", f.by_la, "local_authority");
        s_csv (args->csv, "by_month", f.by_month, "month");
        s_csv (args->csv, "days_to_outcome", f.days_to_outcome, "days");
        s_csv (args->csv, "decisions", f.decisions, "decision");
        s_csv (args->csv, "nfa_rate_by_referrer",
               json_object_get (figures, "nfa_rate_by_referrer_percent"), "referrer");
        s_csv (args->csv, "refusals_by_rule", f.refusals_by_rule, "rule");
    }
    if (args->html && s_report_html (args->html, figures) != 0) {
        fprintf (stderr, "rhannu-audit: cannot write %s\n", args->html);
        result = 1;
    }
    if (args->json || (!args->csv && !args->html)) {
        json_dumpf (figures, stdout, JSON_INDENT (2) | JSON_PRESERVE_ORDER);
        printf ("\n");
    }
    json_decref (figures);
    json_decref (f.by_agency);
    json_decref (f.by_kind);
    json_decref (f.by_category);
    json_decref (f.by_la);
    json_decref (f.by_month);
    json_decref (f.outcomes_by_referrer);
    json_decref (f.nfa_by_referrer);
    json_decref (f.refusals_by_rule);
    json_decref (f.decisions);
    json_decref (f.days_to_outcome);
    return result;
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
    bool known = !strcmp (args.command, "verify")
                 || (!strcmp (args.command, "proof") && args.message)
                 || (!strcmp (args.command, "chronology") && args.case_id)
                 || (!strcmp (args.command, "disclosures") && args.subject)
                 || !strcmp (args.command, "replay") || !strcmp (args.command, "report");
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
    int rc = !strcmp (args.command, "verify")       ? s_verify (db, store, &args)
             : !strcmp (args.command, "proof")      ? s_proof (db, &args)
             : !strcmp (args.command, "chronology") ? s_chronology (db, &args)
             : !strcmp (args.command, "replay")     ? s_replay (db, store, &args)
             : !strcmp (args.command, "report")     ? s_report (db, store, &args)
                                                    : s_disclosures (db, &args);
    rh_db_destroy (&db);
    rh_certstore_destroy (&store);
    return rc;
}
