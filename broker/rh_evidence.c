/*  =========================================================================
    rh_evidence - an evidence bundle for one message, written and checked

    Writing reads the committed log (the message's arrival record and its
    stored payload, a checkpoint covering it and the audit path to it) and
    the broker's PKI folder (the certificates by fingerprint, the CA and the
    CRL). Checking reads only the bundle and what the caller trusts.
    =========================================================================
*/
#include "rh_broker_classes.h"

//  The files of a bundle, by name; the order is the check's.
enum {
    S_MANIFEST,
    S_MESSAGE,
    S_LEAF,
    S_PROOF,
    S_CK_SIGNED,
    S_CK_SIG,
    S_CK_NOTE,
    S_SENDER,
    S_BROKER,
    S_CA,
    S_CRL,
    S_ERASURE,
    S_ERASURE_PROOF,
    S_FILES
};
static const char *const s_names [S_FILES] = {
    "manifest.txt",   "message.bin",     "leaf.bin",         "proof.txt",  "checkpoint.signed",
    "checkpoint.sig", "checkpoint.note", "sender.pem",       "broker.pem", "ca.pem",
    "crl.pem",        "erasure.bin",     "erasure-proof.txt"
};

//  The bytes the broker's checkpoint signature covers: the domain with its zero byte, size,
//  root and time.
#define S_CHECKPOINT_SIGNED (sizeof RH_CHECKPOINT_DOMAIN + 8 + RH_DIGEST_LEN + 8)

//  protobuf tag of AuditRecord.payload_sha256 (field 13, length-delimited) and its length: the
//  manifest names where the message's hash sits in the leaf, for readers without protobuf.
#define S_PAYLOAD_TAG 0x6a

struct _rh_evidence_t {
    uint8_t *data [S_FILES];  //  each file's bytes, NUL-terminated; NULL if absent
    size_t size [S_FILES];    //  and its length
};

static void
s_hex (const uint8_t *bytes, size_t size, char *out)
{
    sodium_bin2hex (out, size * 2 + 1, bytes, size);
}

//  ---------------------------------------------------------------------------------------------
//  Writing

//  Looks for the certificate with a fingerprint among a PKI folder's files.
typedef struct {
    const uint8_t *want;  //  SHA-256 of the DER
    X509 *found;          //  owned once found
} s_cert_search_t;

static void
s_cert_found (const char *path, void *arg)
{
    s_cert_search_t *search = arg;
    if (search->found)
        return;
    BIO *bio = BIO_new_file (path, "r");
    X509 *cert = bio ? PEM_read_bio_X509 (bio, NULL, NULL, NULL) : NULL;
    BIO_free (bio);
    uint8_t digest [EVP_MAX_MD_SIZE];
    unsigned size = 0;
    if (cert && X509_digest (cert, EVP_sha256 (), digest, &size) == 1 && size == RH_DIGEST_LEN
        && CRYPTO_memcmp (digest, search->want, RH_DIGEST_LEN) == 0)
        search->found = cert;
    else
        X509_free (cert);
    ERR_clear_error ();
}

//  The PEM of the certificate in pki with this fingerprint, or NULL (caller frees).
static char *
s_cert_pem (const char *pki, const uint8_t fingerprint [RH_DIGEST_LEN], size_t *size)
{
    s_cert_search_t search = { .want = fingerprint };
    if (rh_certstore_each_file (pki, s_cert_found, &search) != 0 || !search.found)
        return NULL;
    BIO *bio = BIO_new (BIO_s_mem ());
    char *pem = NULL;
    if (bio && PEM_write_bio_X509 (bio, search.found) == 1) {
        char *bytes = NULL;
        long length = BIO_get_mem_data (bio, &bytes);
        pem = length > 0 ? malloc ((size_t) length) : NULL;
        if (pem) {
            memcpy (pem, bytes, (size_t) length);
            *size = (size_t) length;
        }
    }
    BIO_free (bio);
    X509_free (search.found);
    return pem;
}

//  Writes one file of the bundle (0600: a message holds personal data). Returns 0 or -1.
static int
s_put (const char *dir, const char *name, const void *data, size_t size)
{
    char path [PATH_MAX];
    return rh_file_path (path, sizeof path, "%s/%s", dir, name) == 0
                   && rh_file_write_atomic (path, data, size, 0600) == 0
               ? 0
               : -1;
}

//  Every file a bundle may hold: what a failed write removes again, so that a folder is either
//  a whole bundle or not there (a half-written one would be refused by check-bundle, but only
//  after somebody had taken it for evidence).
static const char *s_bundle_files [] = { "manifest.txt",
                                         "message.bin",
                                         "leaf.bin",
                                         "proof.txt",
                                         "erasure-proof.txt",
                                         "erasure.bin",
                                         "checkpoint.signed",
                                         "checkpoint.sig",
                                         "checkpoint.note",
                                         "sender.pem",
                                         "broker.pem",
                                         "ca.pem",
                                         "crl.pem" };

//  Removes what a failed write put into dir, and dir itself.
static void
s_discard (const char *dir)
{
    char path [PATH_MAX];
    for (size_t i = 0; i < sizeof s_bundle_files / sizeof s_bundle_files [0]; i++)
        if (rh_file_path (path, sizeof path, "%s/%s", dir, s_bundle_files [i]) == 0)
            unlink (path);
    rmdir (dir);
}

//  Copies a file of the PKI folder into the bundle. Returns 0 or -1.
static int
s_copy (const char *pki, const char *name, const char *dir)
{
    char path [PATH_MAX];
    uint8_t *data = NULL;
    size_t size = 0;
    int rc = rh_file_path (path, sizeof path, "%s/%s", pki, name) == 0
                     && rh_file_read (path, RH_MAX_PKI_FILE, &data, &size) == 0
                     && s_put (dir, name, data, size) == 0
                 ? 0
                 : -1;
    free (data);
    return rc;
}

//  The first record about msg_id that keeps the signed message (its arrival), with its leaf
//  bytes. Returns the record's number, or UINT64_MAX if there is none.
static uint64_t
s_arrival (rh_db_t *db, const char *msg_id, uint8_t **leaf, size_t *leaf_size)
{
    char prefix [RH_MAX_ID + 8];
    snprintf (prefix, sizeof prefix, "ai/%s/", msg_id);
    rh_db_iter_t *iter = rh_db_iter_new (db, prefix, strlen (prefix));
    uint64_t found = UINT64_MAX;
    for (; iter && rh_db_iter_valid (iter) && found == UINT64_MAX; rh_db_iter_next (iter)) {
        size_t size = 0;
        const uint8_t *key = rh_db_iter_key (iter, &size);
        uint64_t seq = rh_db_key_sequence (key, size, strlen (prefix));
        char leaf_key [48];
        snprintf (leaf_key, sizeof leaf_key, "a/%020" PRIu64, seq);
        rh_audit_record_t record;
        if (seq == UINT64_MAX || rh_db_get (db, leaf_key, strlen (leaf_key), leaf, leaf_size) != 0)
            continue;
        if (rh_record_decode_audit (*leaf, *leaf_size, &record) == RH_OK) {
            if (record.payload_sha256 && record.seq == seq && !strcmp (record.msg_id, msg_id))
                found = seq;
            rh_record_release (&record.owned);
        }
        if (found == UINT64_MAX) {
            free (*leaf);
            *leaf = NULL;
        }
    }
    rh_db_iter_destroy (&iter);
    return found;
}

//  The checkpoint to prove record seq under: the largest cosigned one that covers it, else the
//  largest that does. Returns false if none covers it yet.
static bool
s_covering_checkpoint (rh_db_t *db, uint64_t seq, rh_checkpoint_t *checkpoint)
{
    rh_db_iter_t *iter = rh_db_iter_new (db, "ck/", 3);
    rh_checkpoint_t one;
    bool any = false, cosigned = false;
    for (; iter && rh_db_iter_valid (iter); rh_db_iter_next (iter)) {
        size_t size = 0;
        const uint8_t *value = rh_db_iter_value (iter, &size);
        if (!rh_audit_checkpoint_decode (value, size, &one) || one.size <= seq)
            continue;
        bool witnessed = one.origin [0] && one.cosignatures [0];
        if (witnessed || !cosigned) {
            *checkpoint = one;
            any = true;
            cosigned |= witnessed;
        }
    }
    rh_db_iter_destroy (&iter);
    return any;
}

//  The ERASURE record that covers the message of record seq (it names seq with the same
//  commitment; it comes later in the log), with its leaf bytes. Returns its number, or
//  UINT64_MAX if none does: then the message is missing, not erased (damage).
static uint64_t
s_erasure (rh_db_t *db, uint64_t seq, const uint8_t sha256 [RH_DIGEST_LEN], uint8_t **leaf,
           size_t *leaf_size, bool *unreadable)
{
    rh_db_iter_t *iter = rh_db_iter_new (db, "a/", 2);
    char from [48];
    snprintf (from, sizeof from, "a/%020" PRIu64, seq + 1);
    if (iter)
        rh_db_iter_seek (iter, from, strlen (from));
    uint64_t found = UINT64_MAX;
    for (; iter && rh_db_iter_valid (iter) && found == UINT64_MAX; rh_db_iter_next (iter)) {
        size_t size = 0;
        const uint8_t *value = rh_db_iter_value (iter, &size);
        //  Most records are not erasures: decode only those that could be.
        if (!memmem (value, size, "ERASURE", 7))
            continue;
        rh_audit_record_t record;
        if (rh_record_decode_audit (value, size, &record) != RH_OK)
            continue;
        rh_erased_t erased;
        if (!strcmp (record.event, "ERASURE") && record.seq > seq)
            for (size_t i = 0; found == UINT64_MAX && rh_record_erased (&record, i, &erased); i++)
                if (erased.seq == seq
                    && sodium_memcmp (erased.payload_sha256, sha256, RH_DIGEST_LEN) == 0
                    && (*leaf = malloc (size))) {
                    memcpy (*leaf, value, size);
                    *leaf_size = size;
                    found = record.seq;
                }
        rh_record_release (&record.owned);
    }
    *unreadable = !iter || (found == UINT64_MAX && rh_db_iter_error (iter));
    rh_db_iter_destroy (&iter);
    return found;
}

//  Where needle first occurs in haystack, or SIZE_MAX.
static size_t
s_offset (const uint8_t *haystack, size_t size, const uint8_t *needle, size_t needle_size)
{
    const uint8_t *at = memmem (haystack, size, needle, needle_size);
    return at ? (size_t) (at - haystack) : SIZE_MAX;
}

int
rh_evidence_write (rh_db_t *db, const char *pki, const char *msg_id, const char *dir, FILE *out,
                   char *why, size_t why_size)
{
    assert (db && pki && msg_id && dir && out && why);
    uint8_t *leaf = NULL, *payload = NULL, *erasure_leaf = NULL;
    size_t leaf_size = 0, payload_size = 0, erasure_size = 0;
    rh_audit_record_t erasure_record = { .owned = NULL };
    char *manifest = NULL, *sender_pem = NULL, *broker_pem = NULL, *note_text = NULL;
    size_t manifest_size = 0, sender_size = 0, broker_size = 0;
    rh_envelope_t *envelope = NULL;
    rh_note_t *note = NULL;
    rh_audit_record_t record = { .owned = NULL };
    FILE *text = NULL;
    bool made = false;  //  dir was created here: removed again if the bundle is not whole
    int rc = -1;
    uint64_t seq = s_arrival (db, msg_id, &leaf, &leaf_size);
    if (seq == UINT64_MAX) {
        snprintf (why, why_size, "no record of message %s keeps the signed message", msg_id);
        goto out;
    }
    if (rh_record_decode_audit (leaf, leaf_size, &record) != RH_OK) {
        snprintf (why, why_size, "record %" PRIu64 " does not decode", seq);
        goto out;
    }
    //  The message as stored, or (erased) the ERASURE record that covers it: the leaf keeps its
    //  SHA-256, the commitment, and the erasure record is proved in the same tree.
    int stored = rh_audit_payload (db, seq, &payload, &payload_size);
    if (stored < 0) {
        snprintf (why, why_size, "cannot read the message of record %" PRIu64, seq);
        goto out;
    }
    uint64_t erasure = UINT64_MAX;
    if (stored != 0) {
        bool unreadable = false;
        erasure =
            s_erasure (db, seq, record.payload_sha256, &erasure_leaf, &erasure_size, &unreadable);
        if (erasure == UINT64_MAX) {
            snprintf (why, why_size,
                      unreadable ? "cannot read the log after record %" PRIu64
                                   " to find the erasure of its message"
                                 : "the message of record %" PRIu64
                                   " is missing: damaged (no erasure record covers it; run "
                                   "rhannu-audit verify)",
                      seq);
            goto out;
        }
        if (rh_record_decode_audit (erasure_leaf, erasure_size, &erasure_record) != RH_OK)
            goto nomem;  //  decoded when found
    }
    rh_checkpoint_t checkpoint;
    uint64_t last = erasure == UINT64_MAX ? seq : erasure;
    if (!s_covering_checkpoint (db, last, &checkpoint)) {
        snprintf (why, why_size, "no checkpoint covers record %" PRIu64 " yet", last);
        goto out;
    }
    uint8_t proof [RH_MERKLE_MAX_PROOF][RH_DIGEST_LEN], leaf_hash [RH_DIGEST_LEN];
    uint8_t erasure_proof [RH_MERKLE_MAX_PROOF][RH_DIGEST_LEN], erasure_hash [RH_DIGEST_LEN];
    int count = rh_audit_inclusion_proof (db, seq, checkpoint.size, proof);
    int erasure_count = 0;
    rh_merkle_leaf_hash (leaf, leaf_size, leaf_hash);
    if (erasure != UINT64_MAX) {
        erasure_count = rh_audit_inclusion_proof (db, erasure, checkpoint.size, erasure_proof);
        rh_merkle_leaf_hash (erasure_leaf, erasure_size, erasure_hash);
    }
    if (count < 0
        || !rh_merkle_verify_inclusion (leaf_hash, seq, checkpoint.size,
                                        (const uint8_t (*) [RH_DIGEST_LEN]) proof, (size_t) count,
                                        checkpoint.root)
        || (erasure != UINT64_MAX
            && (erasure_count < 0
                || !rh_merkle_verify_inclusion (erasure_hash, erasure, checkpoint.size,
                                                (const uint8_t (*) [RH_DIGEST_LEN]) erasure_proof,
                                                (size_t) erasure_count, checkpoint.root)))) {
        snprintf (why, why_size,
                  "the stored tree gives no inclusion proof of record %" PRIu64
                  " under the checkpoint of %" PRIu64 " records (run rhannu-audit verify)",
                  last, checkpoint.size);
        goto out;
    }
    if (stored == 0) {
        uint8_t digest [RH_DIGEST_LEN];
        rh_sha256 (digest, payload, payload_size);
        if (sodium_memcmp (digest, record.payload_sha256, RH_DIGEST_LEN) != 0
            || rh_envelope_decode_header (payload, payload_size, &envelope) != RH_OK) {
            snprintf (why, why_size,
                      "the message stored with record %" PRIu64
                      " is not the one it names, or does not decode",
                      seq);
            goto out;
        }
        sender_pem = s_cert_pem (pki, rh_envelope_signer_fingerprint (envelope), &sender_size);
        if (!sender_pem) {
            snprintf (why, why_size, "the certificate that signed message %s is not in %s", msg_id,
                      pki);
            goto out;
        }
    }
    broker_pem = s_cert_pem (pki, checkpoint.signer_sha256, &broker_size);
    if (!broker_pem) {
        snprintf (why, why_size, "the broker certificate that signed the checkpoint is not in %s",
                  pki);
        goto out;
    }
    if (mkdir (dir, 0700) != 0) {
        snprintf (why, why_size, "cannot create %s (%s): a bundle is never written over", dir,
                  strerror (errno));
        goto out;
    }
    made = true;
    //  The manifest: what the bundle says, in lines a shell script reads with awk.
    char hex [RH_DIGEST_LEN * 2 + 1], when [32];
    text = open_memstream (&manifest, &manifest_size);
    if (!text)
        goto nomem;
    fprintf (text, "format: %s\nmessage: %s\nsender: %s\n", RH_EVIDENCE_FORMAT, msg_id,
             record.agency);
    fprintf (text, "received: %s\nreceived_ms: %" PRId64 "\nevent: %s\n",
             rh_time_format (record.at_ms, when, sizeof when), record.at_ms, record.event);
    fprintf (text, "leaf_index: %" PRIu64 "\ntree_size: %" PRIu64 "\n", seq, checkpoint.size);
    s_hex (leaf_hash, RH_DIGEST_LEN, hex);
    fprintf (text, "leaf_hash: %s\n", hex);
    s_hex (record.payload_sha256, RH_DIGEST_LEN, hex);
    fprintf (text, "message_sha256: %s\n", hex);
    uint8_t tagged [2 + RH_DIGEST_LEN] = { S_PAYLOAD_TAG, RH_DIGEST_LEN };
    memcpy (tagged + 2, record.payload_sha256, RH_DIGEST_LEN);
    size_t at = s_offset (leaf, leaf_size, tagged, sizeof tagged);
    if (at == SIZE_MAX)
        goto nomem;  //  the record decoded with this field: it is there
    fprintf (text, "leaf_message_sha256_offset: %zu\n", at + 2);
    if (envelope) {
        size_t header_size = 0;
        const uint8_t *header = rh_envelope_header_bytes (envelope, &header_size);
        size_t header_at = s_offset (payload, payload_size, header, header_size);
        size_t signature_at =
            s_offset (payload, payload_size, rh_envelope_signature (envelope), RH_SIG_LEN);
        if (header_at == SIZE_MAX || signature_at == SIZE_MAX)
            goto nomem;  //  decoded from these bytes: they are there
        fprintf (text, "message_stored: yes\nheader_offset: %zu\nheader_size: %zu\n", header_at,
                 header_size);
        fprintf (text, "signature_offset: %zu\n", signature_at);
        s_hex (rh_envelope_signer_fingerprint (envelope), RH_DIGEST_LEN, hex);
        fprintf (text, "signer_cert_sha256: %s\n", hex);
    }
    else {
        //  The script shows these; check-bundle reads them from erasure.bin itself.
        fprintf (text,
                 "message_stored: no (erased by record %" PRIu64 ", reason %s, authority %s)\n",
                 erasure, erasure_record.erasure_reason, erasure_record.erasure_authority);
        fprintf (text, "erasure_index: %" PRIu64 "\nerasure_reason: %s\nerasure_authority: %s\n",
                 erasure, erasure_record.erasure_reason, erasure_record.erasure_authority);
        fprintf (text, "erased_at: %s\n", rh_time_format (erasure_record.at_ms, when, sizeof when));
        rh_merkle_leaf_hash (erasure_leaf, erasure_size, erasure_hash);
        s_hex (erasure_hash, RH_DIGEST_LEN, hex);
        fprintf (text, "erasure_leaf_hash: %s\n", hex);
    }
    s_hex (checkpoint.root, RH_DIGEST_LEN, hex);
    fprintf (text, "checkpoint_root: %s\ncheckpoint_time_ms: %" PRId64 "\ncheckpoint_time: %s\n",
             hex, checkpoint.time_ms, rh_time_format (checkpoint.time_ms, when, sizeof when));
    s_hex (checkpoint.signer_sha256, RH_DIGEST_LEN, hex);
    fprintf (text, "broker_cert_sha256: %s\n", hex);
    bool witnessed = checkpoint.origin [0] && checkpoint.cosignatures [0];
    fprintf (text, "origin: %s\nwitnessed: %s\n", witnessed ? checkpoint.origin : "-",
             witnessed ? "yes" : "no");
    fprintf (text, "made: %s\n", rh_time_format (rh_time_now_ms (), when, sizeof when));
    if (fclose (text) != 0) {
        text = NULL;
        goto nomem;
    }
    text = NULL;
    //  The audit path, one hash a line; the checkpoint as signed, and as a cosigned note.
    int most = count > erasure_count ? count : erasure_count;
    char *path_text = malloc ((size_t) most * (RH_DIGEST_LEN * 2 + 1) + 1);
    if (!path_text)
        goto nomem;
    path_text [0] = 0;
    for (int i = 0; i < count; i++) {
        s_hex (proof [i], RH_DIGEST_LEN, hex);
        strcat (path_text, hex);
        strcat (path_text, "\n");
    }
    uint8_t signed_bytes [128];
    size_t signed_size = rh_merkle_checkpoint_message (&checkpoint, signed_bytes);
    size_t note_size = 0;
    int written = s_put (dir, "proof.txt", path_text, strlen (path_text));
    if (erasure != UINT64_MAX) {
        path_text [0] = 0;
        for (int i = 0; i < erasure_count; i++) {
            s_hex (erasure_proof [i], RH_DIGEST_LEN, hex);
            strcat (path_text, hex);
            strcat (path_text, "\n");
        }
        written |= s_put (dir, "erasure-proof.txt", path_text, strlen (path_text));
        written |= s_put (dir, "erasure.bin", erasure_leaf, erasure_size);
    }
    free (path_text);
    if (witnessed) {
        //  The broker's own signature line first, when kept (checkpoints witnessed before it
        //  was kept have only the witnesses' lines).
        char log_line [RH_CHECKPOINT_MAX_COSIGNED];
        note = rh_note_from_checkpoint (checkpoint.origin, &checkpoint);
        int kept =
            note ? rh_audit_note_signature (db, checkpoint.size, log_line, sizeof log_line) : 0;
        if (kept < 0
            || (kept == 1
                && rh_note_add_lines (note, (const uint8_t *) log_line, strlen (log_line))
                       != RH_OK)) {
            snprintf (why, why_size,
                      "the broker's note signature of the checkpoint of %" PRIu64
                      " records cannot be read or does not parse (run rhannu-audit verify)",
                      checkpoint.size);
            goto out;
        }
        if (!note
            || rh_note_add_lines (note, (const uint8_t *) checkpoint.cosignatures,
                                  strlen (checkpoint.cosignatures))
                   != RH_OK
            || rh_note_encode (note, &note_text, &note_size) != 0) {
            snprintf (why, why_size, "the checkpoint's cosignature lines do not parse");
            goto out;
        }
        written |= s_put (dir, "checkpoint.note", note_text, note_size);
    }
    written |= s_put (dir, "manifest.txt", manifest, manifest_size);
    written |= s_put (dir, "leaf.bin", leaf, leaf_size);
    if (payload)
        written |= s_put (dir, "message.bin", payload, payload_size);
    written |= s_put (dir, "checkpoint.signed", signed_bytes, signed_size);
    written |= s_put (dir, "checkpoint.sig", checkpoint.signature, RH_SIG_LEN);
    if (sender_pem)
        written |= s_put (dir, "sender.pem", sender_pem, sender_size);
    written |= s_put (dir, "broker.pem", broker_pem, broker_size);
    written |= s_copy (pki, "ca.pem", dir);
    written |= s_copy (pki, "crl.pem", dir);
    if (written != 0) {
        snprintf (why, why_size, "cannot write the bundle's files into %s", dir);
        goto out;
    }
    fprintf (out,
             "evidence bundle of message %s written to %s\n"
             "  record %" PRIu64 " (%s, %s) in the tree of %" PRIu64 " records, %d proof hashes\n"
             "  message: %s\n  checkpoint: %s\n",
             msg_id, dir, seq, record.event, record.agency, checkpoint.size, count,
             payload ? "the signed bytes as stored"
                     : "ERASED: only its SHA-256 (in the leaf), and the erasure record",
             witnessed ? "signed by the broker and cosigned by witnesses"
                       : "signed by the broker (not cosigned by any witness)");
    if (erasure != UINT64_MAX)
        fprintf (out, "  erased by record %" PRIu64 ", reason %s, authority %s\n", erasure,
                 erasure_record.erasure_reason, erasure_record.erasure_authority);
    rc = 0;
    goto out;
nomem:
    snprintf (why, why_size, "out of memory");
out:
    if (text)
        fclose (text);
    if (rc != 0 && made)
        s_discard (dir);
    if (record.owned)
        rh_record_release (&record.owned);
    if (erasure_record.owned)
        rh_record_release (&erasure_record.owned);
    free (erasure_leaf);
    rh_envelope_destroy (&envelope);
    rh_note_destroy (&note);
    free (note_text);
    free (manifest);
    free (sender_pem);
    free (broker_pem);
    free (payload);
    free (leaf);
    ERR_clear_error ();
    return rc;
}

//  ---------------------------------------------------------------------------------------------
//  Reading

rh_evidence_t *
rh_evidence_new (void)
{
    return calloc (1, sizeof (rh_evidence_t));
}

void
rh_evidence_destroy (rh_evidence_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        for (int i = 0; i < S_FILES; i++)
            free ((*self_p)->data [i]);
        free (*self_p);
        *self_p = NULL;
    }
}

int
rh_evidence_add (rh_evidence_t *self, const char *name, const uint8_t *data, size_t size)
{
    assert (self && name && (data || size == 0));
    for (int i = 0; i < S_FILES; i++) {
        if (strcmp (name, s_names [i]) != 0)
            continue;
        if (self->data [i] || size > RH_MAX_ENVELOPE || !(self->data [i] = malloc (size + 1)))
            return -1;
        if (size)
            memcpy (self->data [i], data, size);
        self->data [i][size] = 0;
        self->size [i] = size;
        return 0;
    }
    return -1;
}

int
rh_evidence_load (rh_evidence_t *self, const char *dir, char *why, size_t why_size)
{
    assert (self && dir && why);
    struct stat info;
    if (stat (dir, &info) != 0 || !S_ISDIR (info.st_mode)) {
        snprintf (why, why_size, "%s is not a folder", dir);
        return -1;
    }
    for (int i = 0; i < S_FILES; i++) {
        char path [PATH_MAX];
        uint8_t *data = NULL;
        size_t size = 0;
        if (rh_file_path (path, sizeof path, "%s/%s", dir, s_names [i]) != 0) {
            snprintf (why, why_size, "the path of %s is too long", s_names [i]);
            return -1;
        }
        if (!rh_file_exists (path))
            continue;  //  what is missing is the check's to say
        int rc = rh_file_read (path, RH_MAX_ENVELOPE, &data, &size) == 0
                     ? rh_evidence_add (self, s_names [i], data, size)
                     : -1;
        free (data);
        if (rc != 0) {
            snprintf (why, why_size, "cannot read %s (larger than %d bytes, or unreadable)", path,
                      RH_MAX_ENVELOPE);
            return -1;
        }
    }
    return 0;
}

//  ---------------------------------------------------------------------------------------------
//  Checking

static rh_rc_t s_fault (rh_evidence_fault_t *fault, const char *part, rh_rc_t rc,
                        const char *format, ...) __attribute__ ((format (printf, 4, 5)));
static rh_rc_t
s_fault (rh_evidence_fault_t *fault, const char *part, rh_rc_t rc, const char *format, ...)
{
    fault->part = part;
    va_list args;
    va_start (args, format);
    vsnprintf (fault->reason, sizeof fault->reason, format, args);
    va_end (args);
    return rc;
}

static void s_ok (FILE *out, const char *format, ...) __attribute__ ((format (printf, 2, 3)));
static void
s_ok (FILE *out, const char *format, ...)
{
    if (!out)
        return;
    va_list args;
    va_start (args, format);
    fprintf (out, "  ok: ");
    vfprintf (out, format, args);
    fprintf (out, "\n");
    va_end (args);
}

//  Parses the audit path: lines of 64 hex digits, each ending in a newline. Returns the number
//  of hashes, or -1.
static int
s_parse_proof (const uint8_t *text, size_t size, uint8_t (*proof) [RH_DIGEST_LEN])
{
    const size_t line = RH_DIGEST_LEN * 2 + 1;
    if (size % line != 0 || size / line > RH_MERKLE_MAX_PROOF)
        return -1;
    for (size_t i = 0; i < size / line; i++) {
        const char *hex = (const char *) text + i * line;
        size_t bin_size = 0;
        const char *end = NULL;
        if (hex [line - 1] != '\n'
            || sodium_hex2bin (proof [i], RH_DIGEST_LEN, hex, line - 1, NULL, &bin_size, &end) != 0
            || bin_size != RH_DIGEST_LEN || end != hex + line - 1)
            return -1;
    }
    return (int) (size / line);
}

//  Reads checkpoint.signed and checkpoint.sig into checkpoint. Returns true if well formed.
static bool
s_parse_checkpoint (const rh_evidence_t *self, rh_checkpoint_t *checkpoint)
{
    const uint8_t *bytes = self->data [S_CK_SIGNED];
    if (!bytes || self->size [S_CK_SIGNED] != S_CHECKPOINT_SIGNED || !self->data [S_CK_SIG]
        || self->size [S_CK_SIG] != RH_SIG_LEN
        || memcmp (bytes, RH_CHECKPOINT_DOMAIN, sizeof RH_CHECKPOINT_DOMAIN) != 0)
        return false;
    memset (checkpoint, 0, sizeof *checkpoint);
    size_t at = sizeof RH_CHECKPOINT_DOMAIN;
    for (int i = 0; i < 8; i++)
        checkpoint->size = checkpoint->size << 8 | bytes [at++];
    memcpy (checkpoint->root, bytes + at, RH_DIGEST_LEN);
    at += RH_DIGEST_LEN;
    uint64_t time = 0;
    for (int i = 0; i < 8; i++)
        time = time << 8 | bytes [at++];
    checkpoint->time_ms = (int64_t) time;
    memcpy (checkpoint->signature, self->data [S_CK_SIG], RH_SIG_LEN);
    return true;
}

//  Reads a certificate file of the bundle; sets its fingerprint. Returns NULL if it does not.
static X509 *
s_read_cert (const rh_evidence_t *self, int file, uint8_t fingerprint [RH_DIGEST_LEN])
{
    if (!self->data [file] || self->size [file] > INT_MAX)
        return NULL;
    BIO *bio = BIO_new_mem_buf (self->data [file], (int) self->size [file]);
    X509 *cert = bio ? PEM_read_bio_X509 (bio, NULL, NULL, NULL) : NULL;
    BIO_free (bio);
    unsigned size = 0;
    if (cert && (X509_digest (cert, EVP_sha256 (), fingerprint, &size) != 1 || size != 32)) {
        X509_free (cert);
        cert = NULL;
    }
    return cert;
}

//  The certificates: the CRL and both certificates must chain to the CA the caller gave.
static rh_rc_t
s_check_pki (rh_evidence_t *self, rh_certstore_t *store, const uint8_t *ca_pem, size_t ca_size,
             uint8_t broker_sha256 [RH_DIGEST_LEN], FILE *out, rh_evidence_fault_t *fault)
{
    rh_rc_t rc = rh_certstore_add_ca_pem (store, ca_pem, ca_size);
    if (rc != RH_OK)
        return s_fault (fault, "certificate", RH_E_CERT_UNKNOWN,
                        "the CA given is not a CA certificate in PEM (%s)", rh_rc_name (rc));
    if (!self->data [S_CRL])
        return s_fault (fault, "crl", RH_E_CRL, "crl.pem is missing");
    rc = rh_certstore_add_crl_pem (store, self->data [S_CRL], self->size [S_CRL]);
    if (rc != RH_OK)
        return s_fault (fault, "crl", RH_E_CRL, "crl.pem is not a CRL signed by the CA given");
    s_ok (out, "crl.pem is signed by the CA given");
    X509 *broker = s_read_cert (self, S_BROKER, broker_sha256);
    X509_free (broker);
    if (!broker)
        return s_fault (fault, "certificate", RH_E_MALFORMED,
                        "broker.pem is missing or not a certificate");
    rc = rh_certstore_add_cert_pem (store, self->data [S_BROKER], self->size [S_BROKER]);
    if (rc != RH_OK)
        return s_fault (fault, "certificate", rc, "broker.pem does not chain to the CA given");
    s_ok (out, "broker.pem chains to the CA given");
    if (self->data [S_SENDER]) {
        rc = rh_certstore_add_cert_pem (store, self->data [S_SENDER], self->size [S_SENDER]);
        if (rc != RH_OK)
            return s_fault (fault, "certificate", rc, "sender.pem does not chain to the CA given");
        s_ok (out, "sender.pem chains to the CA given");
    }
    return RH_OK;
}

//  The message: the one the leaf names, signed by the sender with a certificate usable when it
//  arrived.
//  A message not in the bundle: erasure.bin must be an ERASURE record, later in the same tree
//  (its audit path leads to the root the broker signed), that names the message's record and
//  commitment. Otherwise the message is missing, which no bundle may pass off as erasure.
static rh_rc_t
s_check_erasure (rh_evidence_t *self, const rh_audit_record_t *record,
                 const rh_checkpoint_t *checkpoint, FILE *out, rh_evidence_fault_t *fault)
{
    rh_audit_record_t erasure = { .owned = NULL };
    if (!self->data [S_ERASURE]
        || rh_record_decode_audit (self->data [S_ERASURE], self->size [S_ERASURE], &erasure)
               != RH_OK)
        return s_fault (fault, "erasure", RH_E_MALFORMED,
                        "message.bin is missing and erasure.bin is missing or not an audit "
                        "record: the message is missing, not shown erased");
    rh_rc_t rc = RH_OK;
    rh_erased_t erased;
    bool names = false;
    for (size_t i = 0; !names && rh_record_erased (&erasure, i, &erased); i++)
        names =
            erased.seq == record->seq && !strcmp (erased.msg_id, record->msg_id)
            && sodium_memcmp (erased.payload_sha256, record->payload_sha256, RH_DIGEST_LEN) == 0;
    if (strcmp (erasure.event, "ERASURE") != 0 || erasure.seq <= record->seq
        || erasure.seq >= checkpoint->size || !names) {
        rc = s_fault (fault, "erasure", RH_E_COMMITMENT,
                      "erasure.bin (record %" PRIu64 ", %s) is not a later ERASURE record in the "
                      "tree naming record %" PRIu64 " and its SHA-256",
                      erasure.seq, erasure.event, record->seq);
        goto out;
    }
    uint8_t proof [RH_MERKLE_MAX_PROOF][RH_DIGEST_LEN], leaf_hash [RH_DIGEST_LEN];
    int hashes = self->data [S_ERASURE_PROOF] ? s_parse_proof (self->data [S_ERASURE_PROOF],
                                                               self->size [S_ERASURE_PROOF], proof)
                                              : -1;
    rh_merkle_leaf_hash (self->data [S_ERASURE], self->size [S_ERASURE], leaf_hash);
    if (hashes < 0
        || !rh_merkle_verify_inclusion (leaf_hash, erasure.seq, checkpoint->size,
                                        (const uint8_t (*) [RH_DIGEST_LEN]) proof, (size_t) hashes,
                                        checkpoint->root)) {
        rc = s_fault (fault, "erasure", RH_E_SIG,
                      "erasure-proof.txt is missing or does not lead from leaf %" PRIu64
                      " to the root of the checkpoint of %" PRIu64 " records",
                      erasure.seq, checkpoint->size);
        goto out;
    }
    char when [32];
    s_ok (out,
          "message %s was ERASED by record %" PRIu64 ", reason %s, authority %s, at %s; that "
          "record is in the log (audit path of %d hashes to the same root)",
          record->msg_id, erasure.seq, erasure.erasure_reason ? erasure.erasure_reason : "-",
          erasure.erasure_authority ? erasure.erasure_authority : "-",
          rh_time_format (erasure.at_ms, when, sizeof when), hashes);
    if (out) {
        char hex [RH_DIGEST_LEN * 2 + 1];
        s_hex (record->payload_sha256, RH_DIGEST_LEN, hex);
        fprintf (out,
                 "  note: the message is not in the bundle; the leaf commits to its SHA-256 %s, "
                 "and no signature can be checked\n",
                 hex);
    }
out:
    rh_record_release (&erasure.owned);
    return rc;
}

static rh_rc_t
s_check_message (rh_evidence_t *self, rh_certstore_t *store, const rh_audit_record_t *record,
                 const rh_checkpoint_t *checkpoint, FILE *out, rh_evidence_fault_t *fault)
{
    char hex [RH_DIGEST_LEN * 2 + 1];
    s_hex (record->payload_sha256, RH_DIGEST_LEN, hex);
    if (!self->data [S_MESSAGE])
        return s_check_erasure (self, record, checkpoint, out, fault);
    uint8_t digest [RH_DIGEST_LEN];
    rh_sha256 (digest, self->data [S_MESSAGE], self->size [S_MESSAGE]);
    if (sodium_memcmp (digest, record->payload_sha256, RH_DIGEST_LEN) != 0)
        return s_fault (fault, "message", RH_E_COMMITMENT,
                        "message.bin is not the message the leaf names (SHA-256 differs)");
    s_ok (out, "message.bin is the message the leaf names (SHA-256 %s)", hex);
    if (!self->data [S_SENDER])
        return s_fault (fault, "certificate", RH_E_CERT_UNKNOWN, "sender.pem is missing");
    rh_envelope_t *envelope = NULL;
    rh_rc_t rc = rh_certstore_receive (store, self->data [S_MESSAGE], self->size [S_MESSAGE],
                                       record->at_ms, &envelope);
    if (rc != RH_OK) {
        char when [32];
        return s_fault (fault,
                        rc == RH_E_SIG || rc == RH_E_COMMITMENT ? "signature" : "certificate", rc,
                        "the sender's signature on message.bin does not verify with sender.pem "
                        "as it stood at receipt (%s): %s",
                        rh_time_format (record->at_ms, when, sizeof when), rh_rc_text (rc));
    }
    bool same = !strcmp (rh_envelope_msg_id (envelope), record->msg_id)
                && !strcmp (rh_envelope_sender (envelope), record->agency);
    char who [RH_MAX_ID * 2 + 8];
    snprintf (who, sizeof who, "%s from %s", rh_envelope_msg_id (envelope),
              rh_envelope_sender (envelope));
    rh_envelope_destroy (&envelope);
    if (!same)
        return s_fault (fault, "message", RH_E_CERT_MISMATCH,
                        "message.bin is %s, not what the leaf names", who);
    s_ok (out, "the sender's signature on message %s verifies with sender.pem, usable at receipt",
          who);
    return RH_OK;
}

//  The checkpoint as witnesses cosigned it: the same tree, and the quorum of the keys given.
//  The broker's Ed25519 public key from broker.pem. Returns false if it has none.
static bool
s_broker_key (const rh_evidence_t *self, uint8_t public_key [RH_PUBKEY_LEN])
{
    uint8_t fingerprint [RH_DIGEST_LEN];
    X509 *cert = s_read_cert (self, S_BROKER, fingerprint);
    EVP_PKEY *key = cert ? X509_get0_pubkey (cert) : NULL;
    size_t size = RH_PUBKEY_LEN;
    bool good = key && EVP_PKEY_id (key) == EVP_PKEY_ED25519
                && EVP_PKEY_get_raw_public_key (key, public_key, &size) == 1
                && size == RH_PUBKEY_LEN;
    X509_free (cert);
    return good;
}

//  The broker's own signature of checkpoint.note, under the note's origin with broker.pem's key:
//  it must verify when present. Notes of checkpoints witnessed before the broker kept its line
//  have none; the note's tree is then bound by checkpoint.sig alone.
static rh_rc_t
s_check_note_signed (rh_evidence_t *self, const rh_note_t *note, const char *origin, FILE *out,
                     rh_evidence_fault_t *fault)
{
    uint8_t public_key [RH_PUBKEY_LEN];
    rh_note_vkey_t vkey;
    if (!s_broker_key (self, public_key)
        || rh_note_vkey_make (origin, RH_NOTE_TYPE_ED25519, public_key, &vkey) != RH_OK)
        return s_fault (fault, "certificate", RH_E_MALFORMED,
                        "broker.pem holds no Ed25519 key to check checkpoint.note with");
    size_t verified = 0;
    if (rh_note_verify (note, &vkey, 1, &verified, NULL) != RH_OK)
        return s_fault (fault, "checkpoint", RH_E_SIG,
                        "the broker's signature of checkpoint.note does not verify with "
                        "broker.pem");
    if (verified == 1)
        s_ok (out, "checkpoint.note is signed by broker.pem (key %s+%08x)", origin, vkey.id);
    else if (out)
        fprintf (out, "  note: checkpoint.note carries no signature of the broker's (kept only "
                      "since checkpoints carry it); checkpoint.sig binds the same tree\n");
    return RH_OK;
}

static rh_rc_t
s_check_cosigned (rh_evidence_t *self, const rh_checkpoint_t *checkpoint,
                  const rh_note_vkey_t *keys, size_t count, size_t quorum, FILE *out,
                  rh_evidence_fault_t *fault)
{
    if (!self->data [S_CK_NOTE]) {
        if (quorum > 0)
            return s_fault (fault, "cosignature", RH_E_SIG,
                            "checkpoint.note is missing: no witness cosigned the checkpoint");
        if (out)
            fprintf (out, "  note: the checkpoint is not cosigned by any witness\n");
        return RH_OK;
    }
    rh_note_t *note = NULL;
    rh_note_checkpoint_t text;
    size_t text_size = 0;
    rh_rc_t rc = rh_note_parse (self->data [S_CK_NOTE], self->size [S_CK_NOTE], &note);
    const char *body = rc == RH_OK ? rh_note_text (note, &text_size) : NULL;
    if (rc == RH_OK)
        rc = rh_note_checkpoint_parse (body, text_size, &text);
    if (rc != RH_OK) {
        rh_note_destroy (&note);
        return s_fault (fault, "checkpoint", RH_E_MALFORMED,
                        "checkpoint.note is not a signed checkpoint note (%s)", rh_rc_name (rc));
    }
    if (text.size != checkpoint->size
        || sodium_memcmp (text.root, checkpoint->root, RH_DIGEST_LEN) != 0) {
        rh_note_destroy (&note);
        return s_fault (fault, "checkpoint", RH_E_SIG,
                        "checkpoint.note names another tree than the broker signed");
    }
    s_ok (out, "checkpoint.note is the same tree (origin %s)", text.origin);
    rc = s_check_note_signed (self, note, text.origin, out, fault);
    if (rc != RH_OK) {
        rh_note_destroy (&note);
        return rc;
    }
    size_t verified = 0;
    rc = count > 0 ? rh_note_verify (note, keys, count, &verified, NULL) : RH_OK;
    size_t lines = rh_note_signatures (note);
    rh_note_destroy (&note);
    if (rc != RH_OK)
        return s_fault (fault, "cosignature", RH_E_SIG,
                        "a cosignature of a witness key given does not verify");
    if (verified < quorum)
        return s_fault (fault, "cosignature", RH_E_SIG,
                        "%zu of the %zu cosignatures required verify with the witness keys given",
                        verified, quorum);
    if (count > 0)
        s_ok (out, "%zu cosignature(s) of the %zu witness key(s) given verify (quorum %zu)",
              verified, count, quorum);
    else if (out)
        fprintf (out,
                 "  note: %zu cosignature line(s) not checked: give --witness-keys to check "
                 "them\n",
                 lines);
    return RH_OK;
}

rh_rc_t
rh_evidence_check (rh_evidence_t *self, const uint8_t *ca_pem, size_t ca_size,
                   const rh_note_vkey_t *keys, size_t count, size_t quorum, FILE *out,
                   rh_evidence_fault_t *fault)
{
    assert (self && ca_pem && (keys || count == 0) && fault);
    fault->part = "";
    fault->reason [0] = 0;
    rh_audit_record_t record = { .owned = NULL };
    rh_certstore_t *store = NULL;
    rh_rc_t rc = RH_OK;
    char line [sizeof "format: " + sizeof RH_EVIDENCE_FORMAT];
    snprintf (line, sizeof line, "format: %s\n", RH_EVIDENCE_FORMAT);
    if (!self->data [S_MANIFEST]
        || strncmp ((const char *) self->data [S_MANIFEST], line, strlen (line)) != 0) {
        rc = s_fault (fault, "manifest", RH_E_MALFORMED,
                      "manifest.txt is missing or does not begin \"format: %s\"",
                      RH_EVIDENCE_FORMAT);
        goto out;
    }
    //  The leaf: the broker's record of the message's arrival, as the tree holds it.
    if (!self->data [S_LEAF]
        || rh_record_decode_audit (self->data [S_LEAF], self->size [S_LEAF], &record) != RH_OK
        || !record.payload_sha256) {
        rc = s_fault (fault, "leaf", RH_E_MALFORMED,
                      "leaf.bin is missing or not an audit record naming a message");
        goto out;
    }
    char when [32];
    s_ok (out, "leaf.bin is audit record %" PRIu64 ": %s of message %s from %s at %s", record.seq,
          record.event, record.msg_id, record.agency,
          rh_time_format (record.at_ms, when, sizeof when));
    //  The tree: the audit path leads from the leaf to the root the broker signed.
    rh_checkpoint_t checkpoint;
    if (!s_parse_checkpoint (self, &checkpoint)) {
        rc = s_fault (fault, "checkpoint", RH_E_MALFORMED,
                      "checkpoint.signed (%zu bytes of \"%s\" 0, size, root, time) or "
                      "checkpoint.sig (%d bytes) is missing or malformed",
                      S_CHECKPOINT_SIGNED, RH_CHECKPOINT_DOMAIN, RH_SIG_LEN);
        goto out;
    }
    uint8_t proof [RH_MERKLE_MAX_PROOF][RH_DIGEST_LEN], leaf_hash [RH_DIGEST_LEN];
    int hashes = self->data [S_PROOF]
                     ? s_parse_proof (self->data [S_PROOF], self->size [S_PROOF], proof)
                     : -1;
    if (hashes < 0) {
        rc = s_fault (fault, "proof", RH_E_MALFORMED,
                      "proof.txt is missing or not lines of 64 hex digits");
        goto out;
    }
    rh_merkle_leaf_hash (self->data [S_LEAF], self->size [S_LEAF], leaf_hash);
    if (!rh_merkle_verify_inclusion (leaf_hash, record.seq, checkpoint.size,
                                     (const uint8_t (*) [RH_DIGEST_LEN]) proof, (size_t) hashes,
                                     checkpoint.root)) {
        rc = s_fault (fault, "proof", RH_E_SIG,
                      "the audit path does not lead from leaf %" PRIu64
                      " to the root of the checkpoint of %" PRIu64 " records",
                      record.seq, checkpoint.size);
        goto out;
    }
    char hex [RH_DIGEST_LEN * 2 + 1];
    s_hex (checkpoint.root, RH_DIGEST_LEN, hex);
    s_ok (out,
          "the audit path (%d hashes) leads from leaf %" PRIu64 " to root %s of %" PRIu64
          " records",
          hashes, record.seq, hex, checkpoint.size);
    //  Who vouches: the broker signed the checkpoint, the sender the message, the CA both.
    store = rh_certstore_new ();
    if (!store) {
        rc = s_fault (fault, "certificate", RH_E_NOMEM, "out of memory");
        goto out;
    }
    if ((rc = s_check_pki (self, store, ca_pem, ca_size, checkpoint.signer_sha256, out, fault))
        != RH_OK)
        goto out;
    rc = rh_certstore_verify_checkpoint (store, &checkpoint);
    if (rc != RH_OK) {
        rc = s_fault (fault, "checkpoint", rc,
                      "the checkpoint is not signed by broker.pem, a broker certificate usable "
                      "at %s",
                      rh_time_format (checkpoint.time_ms, when, sizeof when));
        goto out;
    }
    s_ok (out, "the checkpoint of %s is signed by broker.pem", when);
    if ((rc = s_check_message (self, store, &record, &checkpoint, out, fault)) != RH_OK)
        goto out;
    rc = s_check_cosigned (self, &checkpoint, keys, count, quorum, out, fault);
out:
    if (record.owned)
        rh_record_release (&record.owned);
    rh_certstore_destroy (&store);
    ERR_clear_error ();
    return rc;
}

int
rh_evidence_read_keys (const char *path, rh_note_vkey_t *keys, size_t max, size_t *count)
{
    assert (path && keys && count);
    *count = 0;
    FILE *file = fopen (path, "r");
    char line [RH_NOTE_MAX_VKEY + 2];
    bool good = file != NULL;
    while (good && fgets (line, sizeof line, file)) {
        line [strcspn (line, "\r\n")] = 0;
        if (!*line)
            continue;
        good = *count < max && rh_note_vkey_parse (line, &keys [*count]) == RH_OK
               && keys [*count].type == RH_NOTE_TYPE_COSIGNATURE;
        //  A key listed twice is one witness: counting it twice would make a quorum of one.
        for (size_t i = 0; good && i < *count; i++)
            good = memcmp (keys [i].public_key, keys [*count].public_key, RH_PUBKEY_LEN) != 0;
        *count += good;
    }
    if (file)
        fclose (file);
    return good ? 0 : -1;
}
