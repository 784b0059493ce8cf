/*  =========================================================================
    rh_note - C2SP signed notes, checkpoints, cosignatures and the
    tlog-witness add-checkpoint request

    What any compatible witness or verifier reads (c2sp.org/signed-note,
    tlog-checkpoint, tlog-cosignature, tlog-witness): a note is UTF-8 text
    ending in a newline, a blank line, and signature lines "— name
    base64(key id || signature)". Key ids are the first 4 bytes of
    SHA-256 (name || 0x0A || type || public key); type 0x01 signs the note
    text with Ed25519, type 0x04 (cosignature/v1) signs "cosignature/v1\n
    time T\n" || note text and carries an 8-byte big-endian timestamp
    before the signature. A checkpoint's text is origin, tree size, base64
    root and optional extension lines.

    Parsing is strict and bounded (RH_NOTE_MAX_* in rh_limits.h): every
    refusal is an rh_rc_t, nothing asserts on the bytes. Signature lines of
    unknown keys are kept (a witness passes them through) and ignored by
    verification, as the spec requires.
    =========================================================================
*/
#ifndef RH_NOTE_H_INCLUDED
#define RH_NOTE_H_INCLUDED

#define RH_NOTE_TYPE_ED25519     0x01  //  signed-note Ed25519 signature over the note text
#define RH_NOTE_TYPE_COSIGNATURE 0x04  //  tlog-cosignature/v1: timestamped Ed25519
#define RH_NOTE_SECRET_LEN       RH_SECRET_LEN
#define RH_NOTE_COSIG_LEN        (8 + RH_SIG_LEN)  //  timestamp (u64 BE) then the signature

//  A verifier key: who may sign, with which algorithm. Plain value; no secret.
typedef struct {
    char name [RH_NOTE_MAX_NAME + 1];  //  key name (NUL-terminated)
    uint8_t type;                      //  RH_NOTE_TYPE_ED25519 or RH_NOTE_TYPE_COSIGNATURE
    uint32_t id;                       //  key id, big-endian first 4 bytes of the hash
    uint8_t public_key [RH_PUBKEY_LEN];
} rh_note_vkey_t;

//  A checkpoint's text, parsed. Extension lines stay text: they are opaque to us.
typedef struct {
    char origin [RH_NOTE_MAX_NAME + 1];  //  first line, without its newline
    uint64_t size;                       //  tree size
    uint8_t root [RH_DIGEST_LEN];        //  RFC 6962 root hash
    size_t extensions;                   //  number of extension lines
} rh_note_checkpoint_t;

//  A parsed signed note: its text and its signature lines. Opaque.
typedef struct _rh_note_t rh_note_t;

//  --- Keys ------------------------------------------------------------------------------------

//  SHA-256 (name || 0x0A || type || public_key) [:4], big-endian.
uint32_t rh_note_key_id (const char *name, uint8_t type, const uint8_t public_key [RH_PUBKEY_LEN]);

//  True if name is a valid key name: 1..RH_NOTE_MAX_NAME bytes of UTF-8 with no control
//  character, no Unicode space and no '+'.
bool rh_note_name_valid (const char *name);

//  Fills vkey for name, type and public key (computes the id). Returns RH_OK or RH_E_MALFORMED
//  (invalid name or unsupported type).
rh_rc_t rh_note_vkey_make (const char *name, uint8_t type, const uint8_t public_key [RH_PUBKEY_LEN],
                           rh_note_vkey_t *vkey);

//  Parses "name+hex(id)+base64(type || public key)" (types 0x01 and 0x04). The id must match the
//  key. Returns RH_OK, RH_E_TOO_LARGE or RH_E_MALFORMED.
rh_rc_t rh_note_vkey_parse (const char *text, rh_note_vkey_t *vkey);

//  Writes the vkey's text form into out (NUL-terminated). Returns 0, or -1 if it does not fit.
int rh_note_vkey_format (const rh_note_vkey_t *vkey, char *out, size_t out_size);

//  --- Signed notes ----------------------------------------------------------------------------

//  Parses a whole signed note (text, blank line, at least one signature line). The note keeps
//  copies of what it needs. Returns RH_OK and sets *note_p (caller destroys), or RH_E_TOO_LARGE
//  or RH_E_MALFORMED and leaves *note_p NULL, or RH_E_NOMEM.
rh_rc_t rh_note_parse (const uint8_t *data, size_t size, rh_note_t **note_p);

//  A note with text and no signatures yet, to be signed. The text must be valid note text (UTF-8,
//  no control characters but newlines, ends in a newline, at most RH_NOTE_MAX_SIZE). Returns NULL
//  if it is not, or on no memory.
rh_note_t *rh_note_new (const char *text, size_t size);

void rh_note_destroy (rh_note_t **self_p);

//  The note text, including its final newline (not NUL-terminated; size in *size).
const char *rh_note_text (const rh_note_t *self, size_t *size);

//  Number of signature lines, and the parts of line i (borrowed; signature bytes exclude the key
//  id). Returns 0, or -1 if i is out of range.
size_t rh_note_signatures (const rh_note_t *self);
int rh_note_signature (const rh_note_t *self, size_t i, const char **name, uint32_t *id,
                       const uint8_t **signature, size_t *signature_size);

//  Parses signature lines (as a witness returns them: one or more "— name base64\n") and appends
//  them to the note. Nothing is added unless all parse. Returns RH_OK, RH_E_MALFORMED,
//  RH_E_TOO_LARGE (too many signatures) or RH_E_NOMEM.
rh_rc_t rh_note_add_lines (rh_note_t *self, const uint8_t *data, size_t size);

//  Signs the note text with Ed25519 (type 0x01) as name and appends the line. secret is a
//  libsodium secret key. Returns 0 or -1 (invalid name, too many signatures, no memory).
int rh_note_sign (rh_note_t *self, const char *name, const uint8_t secret [RH_NOTE_SECRET_LEN]);

//  Cosigns the note (type 0x04, cosignature/v1) as name at timestamp (seconds since the epoch,
//  at most 2^63 - 1) and appends the line. Returns 0 or -1.
int rh_note_cosign (rh_note_t *self, const char *name, const uint8_t secret [RH_NOTE_SECRET_LEN],
                    uint64_t timestamp);

//  Writes signature line i as "— name base64\n" (NUL-terminated) into out. Returns the length
//  written (without the NUL), or -1 if it does not fit or i is out of range.
int rh_note_line (const rh_note_t *self, size_t i, char *out, size_t out_size);

//  The whole signed note: text, blank line, signature lines. Returns 0 and a malloc'd buffer in
//  *out (caller frees; NUL-terminated, length in *size), or -1.
int rh_note_encode (const rh_note_t *self, char **out, size_t *size);

//  Checks the note's signatures against keys: lines whose name and id match no key are ignored;
//  a line that matches a key must verify, or the whole note is refused (RH_E_SIG). Sets
//  *verified to the number of distinct keys with a verifying signature, and, if timestamps is
//  not NULL, timestamps [k] to the time of key k's cosignature (0 for none or type 0x01).
//  Returns RH_OK (even with *verified == 0: the caller sets the quorum) or RH_E_SIG.
rh_rc_t rh_note_verify (const rh_note_t *self, const rh_note_vkey_t *keys, size_t count,
                        size_t *verified, uint64_t *timestamps);

//  The message a cosignature/v1 signs: "cosignature/v1\ntime T\n" || text. Returns 0 and a
//  malloc'd buffer (caller frees), or -1.
int rh_note_cosignature_message (const char *text, size_t text_size, uint64_t timestamp,
                                 uint8_t **message, size_t *message_size);

//  --- Checkpoints -----------------------------------------------------------------------------

//  Parses checkpoint note text (origin, size with no leading zeroes, base64 root of 32 bytes,
//  non-empty extension lines). Returns RH_OK, RH_E_TOO_LARGE or RH_E_MALFORMED.
rh_rc_t rh_note_checkpoint_parse (const char *text, size_t size, rh_note_checkpoint_t *checkpoint);

//  Writes checkpoint text (without extension lines) into out, NUL-terminated. Returns the
//  length, or -1 (invalid origin, or does not fit).
int rh_note_checkpoint_format (const char *origin, uint64_t size,
                               const uint8_t root [RH_DIGEST_LEN], char *out, size_t out_size);

//  --- The broker's checkpoint as a C2SP checkpoint ---------------------------------------------

//  A note holding the checkpoint text of checkpoint (origin, size, root; the broker's time and
//  certificate fingerprint are not part of it). Returns NULL on an invalid origin or no memory.
rh_note_t *rh_note_from_checkpoint (const char *origin, const rh_checkpoint_t *checkpoint);

//  Signs the note text with signer's Ed25519 key as name (type 0x01, the key the broker's
//  certificate names) and appends the line. Returns 0 or -1.
int rh_note_sign_with (rh_note_t *self, const char *name, rh_signer_t *signer);

//  How many of keys (cosignature/v1 witness keys) validly cosigned the checkpoint text of
//  checkpoint (its origin, size and root) in its cosignature lines. Lines of other keys are
//  ignored. Returns RH_OK and sets *cosigned (0 with no origin or no lines), RH_E_SIG if a line
//  of one of keys does not verify, or RH_E_MALFORMED if the lines do not parse.
rh_rc_t rh_note_checkpoint_cosigned (const rh_checkpoint_t *checkpoint, const rh_note_vkey_t *keys,
                                     size_t count, size_t *cosigned);

//  --- tlog-witness add-checkpoint -------------------------------------------------------------

//  Parses an add-checkpoint body: "old N\n", up to RH_NOTE_MAX_PROOF base64 hash lines, "\n",
//  then a signed checkpoint (returned in *note_p, caller destroys, and parsed in *checkpoint).
//  proof must hold RH_NOTE_MAX_PROOF hashes. Returns RH_OK, RH_E_TOO_LARGE, RH_E_MALFORMED or
//  RH_E_NOMEM.
rh_rc_t rh_note_request_parse (const uint8_t *data, size_t size, uint64_t *old_size,
                               uint8_t (*proof) [RH_DIGEST_LEN], size_t *proof_count,
                               rh_note_t **note_p, rh_note_checkpoint_t *checkpoint);

//  Builds an add-checkpoint body. Returns 0 and a malloc'd buffer (caller frees), or -1.
int rh_note_request_encode (uint64_t old_size, const uint8_t (*proof) [RH_DIGEST_LEN],
                            size_t proof_count, const rh_note_t *note, char **out, size_t *size);

#endif
