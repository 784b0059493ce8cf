/*  =========================================================================
    rh_certstore - the board CA, its CRLs and the enrolled agencies

    Loads CA certificates, CRLs and agency certificates into an OpenSSL
    store and answers "may this key speak for this agency at this time?".
    Each certificate's chain (signature, CA constraints, revocation of every
    certificate in the chain) is verified once, when it is added or when a
    CRL is loaded; per-message checks then compare times only, which keeps
    the broker's hot path free of X.509 work.

    Revocation honours the revocation date: a signature made before an
    agency was revoked still verifies years later (auditors need that),
    unless the reason was key compromise, which taints every use of the key.
    =========================================================================
*/
#ifndef RH_CERTSTORE_H_INCLUDED
#define RH_CERTSTORE_H_INCLUDED

typedef struct _rh_certstore_t rh_certstore_t;

//  Creates an empty store. Returns NULL on failure.
rh_certstore_t *rh_certstore_new (void);

//  Destroys the store and every identity it handed out.
void rh_certstore_destroy (rh_certstore_t **self_p);

//  Creates a store from a PKI folder as written by rhannu-ca: DIR/ca.pem, DIR/crl.pem and every
//  DIR/AGENCY/cert.pem (plus DIR/AGENCY/archive/*.pem, earlier certificates kept so that old
//  signatures still verify). A certificate that does not chain is skipped with a warning.
//  Returns NULL (and logs why) if the CA or the CRL cannot be loaded.
rh_certstore_t *rh_certstore_load_dir (const char *dir);

//  Calls found for every certificate file of a PKI folder as written by rhannu-ca: each
//  DIR/AGENCY/cert.pem and DIR/AGENCY/archive/*.pem. Returns 0, or -1 if dir cannot be read.
int rh_certstore_each_file (const char *dir, void (*found) (const char *path, void *arg),
                            void *arg);

//  Adds trusted CA certificates from a PEM file (a self-signed root, or intermediates that chain
//  to a root already loaded). Returns RH_OK, RH_E_IO, RH_E_MALFORMED or RH_E_CERT_UNKNOWN.
rh_rc_t rh_certstore_add_ca (rh_certstore_t *self, const char *path);

//  As rh_certstore_add_ca, from PEM bytes (RH_E_TOO_LARGE past RH_MAX_PKI_FILE).
rh_rc_t rh_certstore_add_ca_pem (rh_certstore_t *self, const uint8_t *pem, size_t size);

//  Loads a CRL from a PEM file: it must be signed by a loaded CA, and replaces that CA's earlier
//  CRL; every certificate's status is then computed again. Returns RH_OK, RH_E_IO or RH_E_CRL.
//  On failure the previous CRLs stay in force.
rh_rc_t rh_certstore_add_crl (rh_certstore_t *self, const char *path);

//  As rh_certstore_add_crl, from PEM bytes.
rh_rc_t rh_certstore_add_crl_pem (rh_certstore_t *self, const uint8_t *pem, size_t size);

//  Adds an agency certificate from PEM bytes. Returns RH_OK, or the reason its chain fails
//  (RH_E_CERT_UNKNOWN, RH_E_MALFORMED, RH_E_CRL, ...). Revoked, expired and not-yet-valid
//  certificates are added: whether they may be used depends on the time asked about.
rh_rc_t rh_certstore_add_cert_pem (rh_certstore_t *self, const uint8_t *pem, size_t size);

//  As rh_certstore_add_cert_pem, reading a file.
rh_rc_t rh_certstore_add_cert (rh_certstore_t *self, const char *path);

//  Finds the certificate with this fingerprint and checks that it belongs to agency_id and was
//  usable at at_ms. On RH_OK sets *identity (borrowed, valid while the store lives). Returns
//  RH_E_CERT_UNKNOWN, RH_E_CERT_MISMATCH, RH_E_REVOKED, RH_E_EXPIRED, RH_E_NOT_YET_VALID or
//  RH_E_CRL otherwise.
rh_rc_t rh_certstore_signer (rh_certstore_t *self, const char *agency_id,
                             const uint8_t fingerprint [RH_DIGEST_LEN], int64_t at_ms,
                             const rh_identity_t **identity);

//  Finds the agency whose certificate binds this CURVE transport key and checks it was usable
//  at at_ms; results as rh_certstore_signer.
rh_rc_t rh_certstore_by_curve (rh_certstore_t *self, const uint8_t curve_key [RH_PUBKEY_LEN],
                               int64_t at_ms, const rh_identity_t **identity);

//  Verifies a signed or decoded envelope as received at at_ms (the time the broker received it;
//  for an auditor, the recorded time of receipt): finds the certificate the signer names, checks
//  it is the sender's and was usable at at_ms, then checks the signature over the exact header
//  bytes with its key (rh_envelope_verify_key). Returns RH_OK, RH_E_SIG, RH_E_MALFORMED, or
//  the store's reason (RH_E_CERT_UNKNOWN, RH_E_CERT_MISMATCH, RH_E_REVOKED, RH_E_EXPIRED,
//  RH_E_NOT_YET_VALID, RH_E_CRL).
rh_rc_t rh_certstore_verify (rh_certstore_t *self, rh_envelope_t *envelope, int64_t at_ms);

//  The identity of agency if its certificate is enrolled and valid at at_ms (borrowed), or NULL.
const rh_identity_t *rh_certstore_enrolled (rh_certstore_t *self, const char *agency,
                                            int64_t at_ms);

//  Receives untrusted sealed bytes: decodes and verifies them at at_ms, reporting the most
//  specific cause (a message whose header was altered is RH_E_SIG even though its fields no
//  longer match their commitments). On RH_OK sets *envelope (caller destroys); otherwise leaves
//  it NULL.
rh_rc_t rh_certstore_receive (rh_certstore_t *self, const uint8_t *data, size_t size, int64_t at_ms,
                              rh_envelope_t **envelope);

//  Checks a checkpoint's signature against the key of the BROKER certificate it names, which
//  must have been usable at the checkpoint's time. Returns RH_OK, RH_E_CERT_UNKNOWN or RH_E_SIG.
rh_rc_t rh_certstore_verify_checkpoint (rh_certstore_t *self, const rh_checkpoint_t *checkpoint);

//  Number of agency certificates held (including revoked and expired ones).
size_t rh_certstore_size (rh_certstore_t *self);

//  The index-th identity, or NULL past the end.
const rh_identity_t *rh_certstore_identity (rh_certstore_t *self, size_t index);

//  Status of the index-th certificate at at_ms (RH_OK, RH_E_REVOKED, ...).
rh_rc_t rh_certstore_status (rh_certstore_t *self, size_t index, int64_t at_ms);

//  Earliest nextUpdate among loaded CRLs (ms), or 0 if no CRL is loaded.
int64_t rh_certstore_crl_next_update (rh_certstore_t *self);

//  The earliest time after at_ms at which some certificate's status changes by the clock alone:
//  a revocation dated ahead (the end of a rotation's overlap), a certificate starting or
//  expiring, or the CRL's next update passing. INT64_MAX if none. A broker re-checks its live
//  sessions then, so that a superseded key is cut off when its overlap ends, not at the next
//  reload.
int64_t rh_certstore_next_change (rh_certstore_t *self, int64_t at_ms);

#endif
