/*  =========================================================================
    rh_bundle - the board's trust bundle: everything an agent must trust
    besides its own key and the board CA

    After X-Road's global configuration: one object, signed by the board CA,
    versioned and expiring, holding every agency and broker certificate
    (earlier ones too, so old signatures still verify), the CRL, the front
    door of each local authority and the sharing agreements in force (ids,
    versions, hashes). The board makes it (rhannu-ca bundle), the broker
    pushes it to every agent at Hello and whenever it changes, and an agent
    keeps the newest it has verified: a newly enrolled agency is trusted
    everywhere as soon as the broker is told, without restarting anyone.

    The bytes on disk and on the wire are a SignedBundle: an encoded
    TrustBundle and an Ed25519 signature of the CA key over
    RH_BUNDLE_DOMAIN 0x00 || those bytes. Whoever opens a bundle checks the
    signature with the CA certificate it was given at enrolment; the broker
    that carries it vouches for nothing.
    =========================================================================
*/
#ifndef RH_BUNDLE_H_INCLUDED
#define RH_BUNDLE_H_INCLUDED

#define RH_BUNDLE_DOMAIN "rhannu.bundle.v1"
#define RH_BUNDLE_FILE   "bundle.rhb"     //  where rhannu-ca writes it in the CA folder
#define RH_BUNDLE_SERIAL "bundle.serial"  //  the last version the board gave out

typedef struct _rh_bundle_t rh_bundle_t;

//  Makes the next bundle from the CA folder dir: every DIR/AGENCY/cert.pem that chains (and
//  DIR/AGENCY/archive/*.pem), DIR/crl.pem, the front door of each local authority (its
//  LA_FRONT_DOOR certificate in force) and every agreement in agreements_dir (NULL: none)
//  whose CA signature verifies. Its version is one more than any the board gave out before
//  (DIR/RH_BUNDLE_SERIAL, DIR/RH_BUNDLE_FILE); it replaces DIR/RH_BUNDLE_FILE (atomically,
//  durably). expires_ms 0: the CRL's next update. Returns 0 or -1
//  (logged); on success *version (if not NULL) is the new version.
int rh_bundle_make (const char *dir, const char *agreements_dir, int64_t expires_ms,
                    uint64_t *version);

//  Opens untrusted signed bundle bytes against the board CA: checks size limits, the CA named
//  and its signature, and that every field is well formed. Expiry is not checked here (an
//  expired bundle is still the newest one held; see rh_bundle_expired). On RH_OK sets *bundle
//  (caller destroys). Returns RH_OK, RH_E_TOO_LARGE, RH_E_MALFORMED, RH_E_CERT_UNKNOWN (signed
//  for another CA, or the CA holds no Ed25519 key) or RH_E_SIG.
rh_rc_t rh_bundle_open (X509 *ca, const uint8_t *data, size_t size, rh_bundle_t **bundle);

//  As rh_bundle_open, reading a file; RH_E_IO if it cannot be read.
rh_rc_t rh_bundle_load (X509 *ca, const char *path, rh_bundle_t **bundle);

void rh_bundle_destroy (rh_bundle_t **self_p);

uint64_t rh_bundle_version (const rh_bundle_t *self);
int64_t rh_bundle_issued_ms (const rh_bundle_t *self);
int64_t rh_bundle_expires_ms (const rh_bundle_t *self);

//  True if the bundle has expired at now_ms: its holder must stop sending and accepting.
bool rh_bundle_expired (const rh_bundle_t *self, int64_t now_ms);

//  The signed bytes exactly as opened: what a broker sends on and an agent keeps.
const uint8_t *rh_bundle_signed (const rh_bundle_t *self, size_t *size);

//  Certificates the bundle holds.
size_t rh_bundle_certificates (const rh_bundle_t *self);

//  The agency of la's front door, or NULL.
const char *rh_bundle_front_door (const rh_bundle_t *self, const char *la);

//  Agreements in force: count, and the index-th id, version and SHA-256 (borrowed).
size_t rh_bundle_agreements (const rh_bundle_t *self);
const char *rh_bundle_agreement (const rh_bundle_t *self, size_t index, uint32_t *version,
                                 const uint8_t **sha256);

//  A certificate store holding the CA, the bundle's CRL and its certificates (a certificate
//  that does not chain is skipped with a warning, as rh_certstore_load_dir does). Returns NULL
//  (logged) if the CA or the CRL cannot be loaded.
rh_certstore_t *rh_bundle_certstore (const rh_bundle_t *self, X509 *ca);

#endif
