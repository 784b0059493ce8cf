/*  =========================================================================
    rh_ca - the board certificate authority: enrol and revoke agencies

    Writes standard PEM files that stock openssl reads:
      DIR/ca.pem, DIR/ca.key (0600), DIR/crl.pem,
      DIR/AGENCY/cert.pem, DIR/AGENCY/key.pem (0600: Ed25519 signing key),
      DIR/AGENCY/curve.key (0600) and DIR/AGENCY/curve.pub (CURVE transport
      keys, Z85 text), DIR/AGENCY/archive/SERIAL.pem (replaced certificates).
    An agency's CURVE public key is written into its certificate as the
    subjectAltName URI urn:rhannu:curve25519:<hex>, so revoking the
    certificate revokes the transport key with it.
    Failures are logged (component "rhannu-ca") with the reason.
    =========================================================================
*/
#ifndef RH_CA_H_INCLUDED
#define RH_CA_H_INCLUDED

typedef struct {
    const char *agency_id;  //  e.g. "police-gwent"
    const char *type;       //  an AgencyType name, e.g. "POLICE"
    const char *la;         //  local authority code, or NULL
    const char *region;     //  safeguarding region, or NULL
    int64_t not_before_ms;  //  0: five minutes ago (tolerates clock skew)
    int64_t not_after_ms;   //  0: RH_CERT_DAYS from now
} rh_ca_request_t;

//  Creates a new board CA in dir (created if missing): key, self-signed certificate valid until
//  not_after_ms (0: RH_CA_DAYS from now) and an empty CRL. Refuses to overwrite an existing CA.
//  Returns 0 or -1.
int rh_ca_init (const char *dir, const char *name, int64_t not_after_ms);

//  Issues an agency (or broker) certificate with fresh signing and transport keys. An agency
//  whose current certificate is revoked may be issued again; the old certificate moves to the
//  archive. Returns 0 or -1.
int rh_ca_issue (const char *dir, const rh_ca_request_t *request);

//  Revokes the agency's current certificate with a CRL reason code (CRL_REASON_*, e.g.
//  CRL_REASON_CESSATION_OF_OPERATION) and re-issues the CRL. Revoking twice is not an error.
//  Returns 0 or -1.
int rh_ca_revoke (const char *dir, const char *agency_id, int reason);

//  Re-issues the CRL with the same entries and a nextUpdate of next_update_ms (0: RH_CRL_DAYS
//  from now). Returns 0 or -1.
int rh_ca_crl (const char *dir, int64_t next_update_ms);

//  Prints one line per certificate: agency, type, LA, region, expiry, status, fingerprint.
//  Returns 0 or -1.
int rh_ca_list (const char *dir, FILE *out);

//  Reads an agency's CURVE keys as rh_ca_issue wrote them: the public key from
//  agency_dir/curve.pub and, if secret_key is not NULL, the secret from agency_dir/curve.key
//  (which must be 0600). Returns 0 or -1 (logged).
int rh_ca_load_curve (const char *agency_dir, uint8_t public_key [32], uint8_t secret_key [32]);

//  Reads the first certificate of a PEM file (e.g. DIR/ca.pem, the board CA). Returns it (the
//  caller frees it with X509_free) or NULL.
X509 *rh_ca_read_cert (const char *path);

//  Detached signatures of sharing agreements: FILE.sig holds the 64-byte Ed25519 signature of
//  the CA key over RH_AGREEMENT_DOMAIN 0x00 || the exact bytes of FILE. The domain prefix keeps
//  an agreement signature from ever being mistaken for a certificate or CRL signature.
#define RH_AGREEMENT_DOMAIN "rhannu.agreement.v1"

//  Signs the file at path with the CA in dir, writing path.sig. Returns 0 or -1 (logged).
int rh_ca_sign_file (const char *dir, const char *path);

//  Checks a detached agreement signature against the CA certificate. Returns RH_OK, RH_E_SIG
//  (wrong length or does not verify) or RH_E_CERT_UNKNOWN (the certificate holds no Ed25519 key).
rh_rc_t rh_ca_verify_file (X509 *ca, const uint8_t *data, size_t size, const uint8_t *signature,
                           size_t signature_size);

//  Signs data with the CA key in dir: signature = Ed25519 over domain 0x00 || data (the scheme
//  of agreement signatures, for any object; each kind has its own domain). Returns 0 or -1
//  (logged).
int rh_ca_sign_bytes (const char *dir, const char *domain, const uint8_t *data, size_t size,
                      uint8_t signature [RH_SIG_LEN]);

//  Checks a signature made by rh_ca_sign_bytes against the CA certificate. Returns RH_OK,
//  RH_E_SIG or RH_E_CERT_UNKNOWN (the certificate holds no Ed25519 key).
rh_rc_t rh_ca_verify_bytes (X509 *ca, const char *domain, const uint8_t *data, size_t size,
                            const uint8_t *signature, size_t signature_size);

//  Parses a CRL reason name ("unspecified", "key-compromise", "superseded", "cessation",
//  "affiliation-changed"); returns the CRL_REASON_* code or -1.
int rh_ca_reason_code (const char *name);

#endif
