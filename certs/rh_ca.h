/*  =========================================================================
    rh_ca - the board certificate authority: enrol and revoke agencies

    Writes standard PEM files that stock openssl reads:
      DIR/ca.pem, DIR/ca.key (0600), DIR/crl.pem,
      DIR/AGENCY/cert.pem, DIR/AGENCY/key.pem (0600: Ed25519 signing key),
      DIR/AGENCY/curve.key (0600) and DIR/AGENCY/curve.pub (CURVE transport
      keys, Z85 text), DIR/AGENCY/archive/SERIAL.pem (replaced certificates).
    The key files are there only if the board generated the keys (issue); an
    agency that enrols by certificate request (make_request, then the board's
    sign_request) keeps its private keys and the board holds only cert.pem.
    An agency's CURVE public key is written into its certificate as the
    subjectAltName URI urn:rhannu:curve25519:<hex>, so revoking the
    certificate revokes the transport key with it.
    Failures are logged (component "rhannu-ca") with the reason.
    =========================================================================
*/
#ifndef RH_CA_H_INCLUDED
#define RH_CA_H_INCLUDED

//  Defaults of the rhannu-ca tool. A certificate starts RH_CA_BACKDATE_MINUTES before it is
//  issued, so that a broker or agent whose clock is behind the CA's does not refuse a newly
//  enrolled agency as not yet valid. A rotated certificate stays valid RH_CA_OVERLAP_HOURS
//  after its successor is issued, long enough to install the new one. `rhannu-ca list` warns
//  RH_CA_WARN_DAYS before the CRL's next update: past it, every signer is refused.
#define RH_CA_BACKDATE_MINUTES 60
#define RH_CA_OVERLAP_HOURS    24
#define RH_CA_WARN_DAYS        7

typedef struct {
    const char *agency_id;  //  e.g. "police-gwent"
    const char *type;       //  an AgencyType name, e.g. "POLICE"
    const char *la;         //  local authority code, or NULL
    const char *region;     //  safeguarding region, or NULL
    int64_t not_before_ms;  //  0: RH_CA_BACKDATE_MINUTES before issue
    int64_t not_after_ms;   //  0: RH_CERT_DAYS from now
} rh_ca_request_t;

//  Creates a new board CA in dir (created if missing): key, self-signed certificate valid until
//  not_after_ms (0: RH_CA_DAYS from now) and an empty CRL. Refuses to overwrite an existing CA.
//  Returns 0 or -1.
int rh_ca_init (const char *dir, const char *name, int64_t not_after_ms);

//  Issues an agency (or broker) certificate with signing and transport keys the board
//  generates (DIR/AGENCY/key.pem, curve.key, curve.pub). An agency whose current certificate
//  is revoked or expired may be issued again; a valid one is refused (rotate it instead). The
//  old certificate moves to the archive. Returns 0 or -1.
int rh_ca_issue (const char *dir, const rh_ca_request_t *request);

//  The agency's side of enrolment: generates its keys in out_dir (created 0700 if missing):
//  key.pem (Ed25519, 0600), curve.key (0600), curve.pub, and request.csr, a PEM PKCS#10
//  request signed by key.pem whose subject and subjectAltName are what the certificate will
//  carry. The private keys never leave out_dir. Refuses a folder that already holds keys.
//  request's validity times are not used. Returns 0 or -1.
int rh_ca_make_request (const char *out_dir, const rh_ca_request_t *request);

//  Checks a certificate request from outside (PEM bytes): PKCS#10 version 1, an Ed25519 key
//  whose signature over the request verifies, subject attributes only among O, OU, ST, L and
//  CN with a valid agency id, known type and valid LA and region codes, and exactly one CURVE
//  key bound as subjectAltName URI. Fills identity (names, sign_key, curve_key). Returns
//  RH_OK, RH_E_SIG (the signature does not verify) or RH_E_MALFORMED.
rh_rc_t rh_ca_check_request (const uint8_t *pem, size_t size, rh_identity_t *identity);

//  The board's side: signs the request at csr_path (see rh_ca_check_request) into
//  DIR/AGENCY/cert.pem, valid from not_before_ms (0: RH_CA_BACKDATE_MINUTES ago) to
//  not_after_ms (0: RH_CERT_DAYS from now). Refuses an agency whose current certificate is
//  valid, and keys already in any certificate of the board. Writes the agency id into
//  agency_id. Never sees a private key. Returns 0 or -1.
int rh_ca_sign_request (const char *dir, const char *csr_path, int64_t not_before_ms,
                        int64_t not_after_ms, char agency_id [RH_MAX_ID + 1]);

//  Replaces an agency's valid certificate with one for new keys: from the request at csr_path
//  (same agency id and type), or with keys the board generates if csr_path is NULL. The old
//  certificate stays valid for overlap_ms, then is revoked (reason superseded): its CRL entry
//  is dated the next whole second plus overlap_ms, so no timer is needed and stores accept it
//  until then and refuse it after. It moves to the archive (with any keys the board held for
//  it). Validity as rh_ca_sign_request. Returns 0 or -1.
int rh_ca_rotate (const char *dir, const char *agency_id, const char *csr_path, int64_t overlap_ms,
                  int64_t not_before_ms, int64_t not_after_ms);

//  Revokes the agency's current certificate with a CRL reason code (CRL_REASON_*, e.g.
//  CRL_REASON_CESSATION_OF_OPERATION) and re-issues the CRL. The revocation is dated the next
//  whole second and the CRL written once that second has come (up to a second's wait), so
//  that everything accepted before the call is before the revocation. Revoking twice is not
//  an error; revoking again for key compromise, or a certificate whose rotation overlap has
//  not ended, updates the entry. Returns 0 or -1.
int rh_ca_revoke (const char *dir, const char *agency_id, int reason);

//  Re-issues the CRL with the same entries and a nextUpdate of next_update_ms (0: RH_CRL_DAYS
//  from now). Returns 0 or -1.
int rh_ca_crl (const char *dir, int64_t next_update_ms);

//  Prints one line per certificate: agency, type, LA, region, expiry, status, fingerprint;
//  then the CRL's next update, with a warning line if it is less than warn_days away or past.
//  Returns 0 or -1.
int rh_ca_list (const char *dir, int warn_days, FILE *out);

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
