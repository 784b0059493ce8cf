/*  =========================================================================
    rh_envelope - signed, redactable rhannu messages

    A message is a signed header plus its body split into disclosures, one
    per top-level body field:

        commitment(field) = SHA-256 ("rhannu.field.v1" 0 || kind || field
                                      || salt || value)
        signature        = Ed25519 ("rhannu.envelope.v1" 0 || header bytes)

    The header carries routing metadata and the commitment of every body
    field the sender wrote. The broker may drop disclosures a recipient is
    not allowed to see (rh_envelope_redact); the recipient still verifies the
    sender's own signature over the unchanged header bytes and each field it
    received against its commitment. Signatures cover the exact bytes
    received, never a re-encoding, so they verify years later from the
    stored bytes alone.

    Building:  new -> set_* / add_to_* -> set_body -> sign -> encode.
    Receiving: decode (structure, limits, commitments) -> verify the
               signature (rh_certstore_verify finds the signer's key and
               calls rh_envelope_verify_key) -> accessors, body.
    Untrusted bytes never trip an assert: every failure is an rh_rc_t.
    =========================================================================
*/
#ifndef RH_ENVELOPE_H_INCLUDED
#define RH_ENVELOPE_H_INCLUDED

//  The body types are protobuf-c messages generated from proto/rhannu.proto; callers that build
//  or read bodies include "rhannu.pb-c.h" themselves. This header only names the base type.
struct ProtobufCMessage;
struct ProtobufCMessageDescriptor;

//  Message kinds: the values of enum MessageKind in proto/rhannu.proto (checked at compile time).
typedef enum {
    RH_KIND_UNSET = 0,
    RH_KIND_REFERRAL = 1,
    RH_KIND_RECEIPT = 2,
    RH_KIND_OUTCOME = 3,
    RH_KIND_STATUS_UPDATE = 4,
    RH_KIND_INFO_REQUEST = 5,
    RH_KIND_INFO_RESPONSE = 6,
    RH_KIND_ALERT = 7,
    RH_KIND_ERROR = 8,
    RH_KIND_TRANSFER = 9,
    RH_KIND_STRATEGY_MEETING = 10,
    RH_KIND_CHALLENGE = 11,
    RH_KIND_USER_FEEDBACK = 12,
    RH_KIND_NOTICE = 13,
    RH_KIND_COUNT  //  not a kind: one past the last
} rh_kind_t;

typedef struct _rh_envelope_t rh_envelope_t;

//  Creates an envelope to build, of the given kind, with a fresh random message id, schema
//  version RH_SCHEMA_VERSION and no body. Returns NULL if kind is not a real kind or on
//  allocation failure.
rh_envelope_t *rh_envelope_new (rh_kind_t kind);

//  Frees the envelope and everything it holds.
void rh_envelope_destroy (rh_envelope_t **self_p);

//  --- Building (before rh_envelope_sign; each returns 0, or -1 if the value breaks a limit or
//  the envelope is already signed) -------------------------------------------------------------

int rh_envelope_set_msg_id (rh_envelope_t *self, const char *msg_id);
int rh_envelope_set_case_id (rh_envelope_t *self, const char *case_id);
int rh_envelope_set_in_reply_to (rh_envelope_t *self, const char *msg_id);
int rh_envelope_set_thread_id (rh_envelope_t *self, const char *thread_id);
//  Binds a reply to the message it answers: the SHA-256 of that message's signed header bytes
//  (rh_envelope_header_bytes). Returns 0, or -1 once signed.
int rh_envelope_set_in_reply_sha256 (rh_envelope_t *self, const uint8_t digest [RH_DIGEST_LEN]);
int rh_envelope_set_agreement_id (rh_envelope_t *self, const char *agreement_id);
int rh_envelope_set_purpose (rh_envelope_t *self, const char *purpose);
//  lang is "en" or "cy".
int rh_envelope_set_lang (rh_envelope_t *self, const char *lang);
int rh_envelope_set_sequence (rh_envelope_t *self, uint64_t sequence);
//  0 means "now" at signing time.
int rh_envelope_set_created (rh_envelope_t *self, int64_t created_ms);
int rh_envelope_set_expires (rh_envelope_t *self, int64_t expires_ms);
//  Any argument may be NULL.
int rh_envelope_set_author (rh_envelope_t *self, const char *practitioner_id, const char *role,
                            const char *unit, const char *supervisor_id, const char *duty_inbox);
//  Addresses a known agency; unit may be NULL.
int rh_envelope_add_to_agency (rh_envelope_t *self, const char *agency_id, const char *unit);
//  Addresses "the front door of local authority la"; alias (IAA, SPOC, MASH...) may be NULL.
int rh_envelope_add_to_front_door (rh_envelope_t *self, const char *la, const char *alias);
//  Sets the body: a message of the type the kind names (Referral for RH_KIND_REFERRAL, ...).
//  The body is encoded at once; the caller keeps ownership of body.
int rh_envelope_set_body (rh_envelope_t *self, const struct ProtobufCMessage *body);

//  Splits the body into salted commitments, signs the header as signer's agency and turns the
//  envelope into exactly what a receiver would decode. Returns 0 or -1.
int rh_envelope_sign (rh_envelope_t *self, rh_signer_t *signer);

//  --- Wire ----------------------------------------------------------------------------------

//  Encodes a signed or decoded envelope (with only the disclosures it still holds). Returns 0
//  and a new buffer the caller frees, or -1.
int rh_envelope_encode (rh_envelope_t *self, uint8_t **data, size_t *size);

//  Parses untrusted bytes: size and field limits, schema version, header rules, each disclosed
//  field against its commitment, and the body. Does not check the signature. On RH_OK sets
//  *envelope (caller destroys). Returns RH_E_MALFORMED, RH_E_TOO_LARGE, RH_E_VERSION, RH_E_SIG
//  (signature of the wrong length), RH_E_COMMITMENT or RH_E_NOMEM otherwise.
rh_rc_t rh_envelope_decode (const uint8_t *data, size_t size, rh_envelope_t **envelope);

//  Parses only what a signature check needs: the limits, the signature and the signed header
//  (its rules included), not the disclosures or the body. The envelope it gives (caller
//  destroys) answers header questions and rh_envelope_verify_key, nothing about the body. A
//  receiver uses it to tell a tampered header (RH_E_SIG) from a tampered field
//  (RH_E_COMMITMENT) when rh_envelope_decode refused the message. Same results as decode.
rh_rc_t rh_envelope_decode_header (const uint8_t *data, size_t size, rh_envelope_t **envelope);

//  Checks the signature over the exact header bytes against public_key (RH_PUBKEY_LEN bytes of
//  Ed25519 key). proto knows no PKI: finding the signer's key, and whether its certificate was
//  usable when the message arrived, is rh_certstore_verify's job. Returns RH_OK, RH_E_SIG,
//  RH_E_MALFORMED (not signed or decoded) or RH_E_NOMEM.
rh_rc_t rh_envelope_verify_key (rh_envelope_t *self, const uint8_t public_key [RH_PUBKEY_LEN]);

//  Checks that the signed sender is the agency the transport authenticated. Returns RH_OK or
//  RH_E_IMPERSONATION.
rh_rc_t rh_envelope_check_sender (rh_envelope_t *self, const char *authenticated_agency);

//  Keeps only the disclosures whose field numbers are listed; the others are withheld (their
//  commitments stay in the signed header). Returns 0 or -1.
int rh_envelope_redact (rh_envelope_t *self, const uint32_t *keep, size_t count);

//  --- Accessors (of a signed or decoded envelope; strings are "" when not set) --------------

const char *rh_envelope_msg_id (rh_envelope_t *self);
const char *rh_envelope_sender (rh_envelope_t *self);
rh_kind_t rh_envelope_kind (rh_envelope_t *self);
const char *rh_envelope_case_id (rh_envelope_t *self);
//  The msg_id this answers; also readable on a draft, before signing.
const char *rh_envelope_in_reply_to (rh_envelope_t *self);
const char *rh_envelope_thread_id (rh_envelope_t *self);
//  The digest of the header this reply answers (RH_DIGEST_LEN bytes), or NULL if not given.
const uint8_t *rh_envelope_in_reply_sha256 (rh_envelope_t *self);
bool rh_envelope_has_in_reply_sha256 (rh_envelope_t *self);
const char *rh_envelope_agreement_id (rh_envelope_t *self);
const char *rh_envelope_purpose (rh_envelope_t *self);
const char *rh_envelope_lang (rh_envelope_t *self);
uint64_t rh_envelope_sequence (rh_envelope_t *self);
int64_t rh_envelope_created (rh_envelope_t *self);
int64_t rh_envelope_expires (rh_envelope_t *self);
//  The author's practitioner id, "" if none.
const char *rh_envelope_author (rh_envelope_t *self);
const uint8_t *rh_envelope_signer_fingerprint (rh_envelope_t *self);
size_t rh_envelope_recipients (rh_envelope_t *self);
//  Agency id of the index-th address, "" if it names a front door instead.
const char *rh_envelope_recipient_agency (rh_envelope_t *self, size_t index);
//  Local authority of the index-th front-door address, "" if it names an agency.
const char *rh_envelope_recipient_front_door (rh_envelope_t *self, size_t index);
//  Local label the sender used for the index-th front-door address (IAA, SPOC...), or "".
const char *rh_envelope_recipient_alias (rh_envelope_t *self, size_t index);

//  The author's supervisor and team inbox (copied on feedback where an agreement says so).
const char *rh_envelope_author_supervisor (rh_envelope_t *self);
const char *rh_envelope_author_duty_inbox (rh_envelope_t *self);

//  The author's unit (e.g. "MASH"), "" if none.
const char *rh_envelope_author_unit (rh_envelope_t *self);

//  The exact signed header bytes and the signature, for audit records.
const uint8_t *rh_envelope_header_bytes (rh_envelope_t *self, size_t *size);
const uint8_t *rh_envelope_signature (rh_envelope_t *self);

//  The body as disclosed, or NULL before signing. Fields that were withheld are at their
//  defaults. Borrowed: valid until the envelope changes or is destroyed.
const struct ProtobufCMessage *rh_envelope_body (rh_envelope_t *self);

//  Number of fields the sender committed to, and the index-th one's field number and digest.
size_t rh_envelope_commitments (rh_envelope_t *self);
uint32_t rh_envelope_commitment (rh_envelope_t *self, size_t index, const uint8_t **digest);
//  True if the envelope still holds the disclosure of field.
bool rh_envelope_discloses (rh_envelope_t *self, uint32_t field);

//  --- Schema names ----------------------------------------------------------------------------

//  The body message type of a kind (Referral for RH_KIND_REFERRAL, ...), or NULL.
const struct ProtobufCMessageDescriptor *rh_envelope_body_descriptor (rh_kind_t kind);

//  Kind name as in the schema ("REFERRAL"), or NULL for an unknown kind.
const char *rh_envelope_kind_name (rh_kind_t kind);
//  Kind for a schema name, or RH_KIND_UNSET.
rh_kind_t rh_envelope_kind_from_name (const char *name);
//  Number of the body field called name in messages of kind, or 0 if there is none.
uint32_t rh_envelope_field_number (rh_kind_t kind, const char *name);
//  Name of body field number in messages of kind, or NULL.
const char *rh_envelope_field_name (rh_kind_t kind, uint32_t field);
//  True if enum_name (e.g. "AgencyType") is a schema enum that has a value called value_name.
bool rh_envelope_enum_known (const char *enum_name, const char *value_name);
//  The value names of a schema enum but its unset value (0), as "A, B, C", into out: what an
//  error says is allowed. "" for an enum the schema does not have.
void rh_envelope_enum_names (const char *enum_name, char *out, size_t size);

//  True if text is a well-formed agency or local authority id, as the header carries them:
//  1..RH_MAX_ID characters of [a-z0-9.-], starting with a letter or digit.
bool rh_envelope_valid_id (const char *text);

#endif
