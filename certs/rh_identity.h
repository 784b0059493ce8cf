/*  =========================================================================
    rh_identity - who a certificate says an agency is

    A small value type, read-only to callers: the certificate store owns
    each identity and hands out const pointers that live as long as the
    store. It is a plain struct (not opaque) because it is copied into
    audit records and logs field by field.
    =========================================================================
*/
#ifndef RH_IDENTITY_H_INCLUDED
#define RH_IDENTITY_H_INCLUDED

#define RH_TYPE_NAME_MAX 24  //  longest AgencyType name, e.g. "LA_EARLY_HELP"

typedef struct {
    char agency_id [RH_MAX_ID + 1];       //  certificate subject CN, e.g. "police-gwent"
    char type [RH_TYPE_NAME_MAX + 1];     //  subject OU: an AgencyType name, e.g. "POLICE"
    char la [RH_MAX_ID + 1];              //  subject L: local authority code, may be empty
    char region [RH_MAX_ID + 1];          //  subject ST: safeguarding region, may be empty
    uint8_t sign_key [RH_PUBKEY_LEN];     //  Ed25519 public key that signs envelopes
    uint8_t curve_key [RH_PUBKEY_LEN];    //  CURVE transport key bound in subjectAltName
    bool has_curve_key;                   //  false for a certificate without a transport key
    uint8_t cert_sha256 [RH_DIGEST_LEN];  //  SHA-256 of the certificate DER: its fingerprint
    int64_t not_before_ms;                //  validity of the whole chain, intersected
    int64_t not_after_ms;
} rh_identity_t;

//  How a certificate binds a CURVE transport key: the subjectAltName URI
//  RH_CURVE_URI_PREFIX followed by the key's 64 lowercase or uppercase hex digits.
#define RH_CURVE_URI_PREFIX "urn:rhannu:curve25519:"

//  True if text names an agency type known to the schema ("POLICE", "LA_CHILDREN", ...).
bool rh_identity_valid_type (const char *text);

//  Reads who a subject name (of a certificate or a certificate request) says an agency is: CN
//  (agency id), OU (type), L (local authority) and ST (region) into identity; other fields are
//  left as they are. Returns RH_OK, or RH_E_MALFORMED if an attribute is repeated, too long or
//  holds a NUL, the agency id is not valid or the type is unknown: a name that is ambiguous
//  about who it names must not name anyone. Certificates and requests are read by this one
//  function so that the board signs exactly what stores accept.
rh_rc_t rh_identity_from_name (const X509_NAME *name, rh_identity_t *identity);

//  Finds the CURVE transport key among subjectAltNames (names may be NULL: none). Sets
//  identity->curve_key and has_curve_key if one is bound. Returns RH_OK (bound or not), or
//  RH_E_MALFORMED if two keys are bound or the one bound is malformed.
rh_rc_t rh_identity_curve_from_names (const GENERAL_NAMES *names, rh_identity_t *identity);

#endif
