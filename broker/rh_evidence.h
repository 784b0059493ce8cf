/*  =========================================================================
    rh_evidence - an evidence bundle for one message, written and checked

    A bundle is a folder of plain files that a third party can inspect with
    stock tools (openssl, sha256sum, xxd, awk); README "Evidence for a third
    party" walks through it, and deploy/tools/rhannu-check-evidence.sh runs
    the same checks with nothing but those tools:

      manifest.txt       "key: value" lines (format, message, leaf index,
                         tree size, offsets, hashes in hex); a convenience:
                         every value a check relies on is bound by a hash
                         or a signature, or makes the check fail if wrong
      message.bin        the signed message as the broker stored it (absent
                         if it was erased: the leaf keeps its SHA-256)
      erasure.bin        (only if erased) the ERASURE record that erased it:
                         names the leaf's record and SHA-256, why and on
                         whose authority
      erasure-proof.txt  (only if erased) that record's audit path in the
                         same tree, one hex hash a line
      leaf.bin           the audit record of its arrival, as stored: the
                         Merkle leaf (leaf hash = SHA-256 (0x00 || leaf))
      proof.txt          the RFC 9162 audit path, one hex hash a line
      checkpoint.signed  the bytes the broker's checkpoint signature covers:
                         "rhannu.checkpoint.v1" 0x00 || size (u64 BE) ||
                         root || time_ms (i64 BE)
      checkpoint.sig     that Ed25519 signature (64 bytes)
      checkpoint.note    the checkpoint as a C2SP signed note: the broker's
                         signature line (Ed25519, key name the origin, key
                         broker.pem's) and the witnesses' cosignature lines
                         (only when cosigned; checkpoints witnessed before
                         the broker kept its line have only the latter)
      sender.pem         the sender's certificate (the one the message names)
      broker.pem         the broker certificate that signed the checkpoint
      ca.pem, crl.pem    the board CA and the CRL the broker held; the CA is
                         for reading only: checks take the root from the
                         person checking, never from the bundle

    Checking trusts nothing in the bundle as a root: the CA and the witness
    keys come from the caller. Every failure names the part that is wrong
    and why, in one line.
    =========================================================================
*/
#ifndef RH_EVIDENCE_H_INCLUDED
#define RH_EVIDENCE_H_INCLUDED

#define RH_EVIDENCE_FORMAT "rhannu-evidence-bundle/1"

//  Writes the evidence bundle of message msg_id into the folder dir, which must not exist (it
//  is created 0700: the message holds personal data). db is a committed broker log, pki the
//  broker's PKI folder. Prints what it wrote to out. Returns 0, or -1 with why (the message is
//  not in the log, no checkpoint covers it yet, a certificate is not in the PKI, ...).
int rh_evidence_write (rh_db_t *db, const char *pki, const char *msg_id, const char *dir, FILE *out,
                       char *why, size_t why_size);

//  A bundle read into memory, to check. Opaque.
typedef struct _rh_evidence_t rh_evidence_t;

rh_evidence_t *rh_evidence_new (void);
void rh_evidence_destroy (rh_evidence_t **self_p);

//  Adds one file of a bundle by its name (copied). Returns 0, or -1 if the name is not one of
//  a bundle's, was added already, the file is over RH_MAX_ENVELOPE bytes, or no memory.
int rh_evidence_add (rh_evidence_t *self, const char *name, const uint8_t *data, size_t size);

//  Reads the files of a bundle folder (those it has of the names above; anything else is
//  ignored). Returns 0, or -1 with why (no such folder, a file that cannot be read).
int rh_evidence_load (rh_evidence_t *self, const char *dir, char *why, size_t why_size);

//  What a check found wrong: the part of the bundle and a one-line reason.
typedef struct {
    const char *part;  //  "manifest", "leaf", "message", "erasure", "proof", "checkpoint", "crl",
                       //  "certificate", "signature", "cosignature"; "" when valid
    char reason [256];
} rh_evidence_fault_t;

//  Checks the bundle offline against the board CA in ca_pem and, if count > 0, the witnesses'
//  cosignature keys, of which quorum must have cosigned (0: cosignatures are shown, not
//  required). Prints one line per thing checked to out (may be NULL). Returns RH_OK, or the
//  first failure's code with fault filled in: RH_E_MALFORMED (a file missing or unreadable),
//  RH_E_COMMITMENT (a hash does not match), RH_E_SIG, RH_E_CERT_UNKNOWN, RH_E_CERT_MISMATCH,
//  RH_E_REVOKED, RH_E_EXPIRED, RH_E_NOT_YET_VALID, RH_E_CRL, RH_E_NOMEM.
rh_rc_t rh_evidence_check (rh_evidence_t *self, const uint8_t *ca_pem, size_t ca_size,
                           const rh_note_vkey_t *keys, size_t count, size_t quorum, FILE *out,
                           rh_evidence_fault_t *fault);

//  Reads a witness keys file (cosignature/v1 vkeys, one a line, each key once, at most max).
//  Returns 0 and sets *count, or -1.
int rh_evidence_read_keys (const char *path, rh_note_vkey_t *keys, size_t max, size_t *count);

#endif
