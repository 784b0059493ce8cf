/*  =========================================================================
    rh_trust - the newest trust bundle a party has verified, and the
    certificate store made from it

    Agents and the broker hold one. Only a bundle the board CA signed is
    taken, only if it is newer than the one held (an older one is a
    rollback: refused, so a stale CRL cannot quietly un-revoke anyone), and
    it is kept on disk (write, fsync, rename) before it is used, so a
    restart never falls back to an older trust.

    A party enrolled before bundles existed may start from a PKI folder
    (rh_certstore_load_dir) until the first bundle arrives.
    =========================================================================
*/
#ifndef RH_TRUST_H_INCLUDED
#define RH_TRUST_H_INCLUDED

typedef struct _rh_trust_t rh_trust_t;

//  Creates the trust of a party: ca_path is the board CA certificate given at enrolment;
//  keep_path (NULL: nothing kept) is where adopted bundles are kept and, if a valid one is
//  there, the bundle to start from; fallback_dir (NULL: none) is a PKI folder to trust until a
//  bundle arrives. Returns NULL (logged) if the CA cannot be read, or if keep_path holds a
//  bundle that does not open (it is not silently replaced by older trust).
rh_trust_t *rh_trust_new (const char *ca_path, const char *keep_path, const char *fallback_dir);

void rh_trust_destroy (rh_trust_t **self_p);

//  Offers signed bundle bytes (from the broker, or a file the board made). Returns RH_OK with
//  *adopted true if the bundle is newer than the one held and is now kept and in force, RH_OK
//  with *adopted false if it is the one held; otherwise nothing changes and the result says
//  why: RH_E_REPLAY (older than the one held: a rollback), RH_E_IO (it could not be kept),
//  RH_E_CRL (its CRL or CA does not load), or rh_bundle_open's refusal.
rh_rc_t rh_trust_offer (rh_trust_t *self, const uint8_t *data, size_t size, bool *adopted);

//  As rh_trust_offer, reading a file (RH_E_IO if it cannot be read).
rh_rc_t rh_trust_offer_file (rh_trust_t *self, const char *path, bool *adopted);

//  The bundle in force (borrowed, valid until the next adoption), or NULL if none yet.
const rh_bundle_t *rh_trust_bundle (const rh_trust_t *self);

//  The version in force, 0 if none.
uint64_t rh_trust_version (const rh_trust_t *self);

//  The certificate store in force (borrowed; replaced by an adoption, so fetch it again after
//  each offer), or NULL if there is neither a bundle nor a fallback folder.
rh_certstore_t *rh_trust_store (rh_trust_t *self);

//  True if a bundle is in force and has expired at now_ms.
bool rh_trust_expired (const rh_trust_t *self, int64_t now_ms);

#endif
