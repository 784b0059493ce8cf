/*  =========================================================================
    rh_signer - an agency's Ed25519 signing key and the certificate naming it

    Signatures are made with libsodium (the same Ed25519 as OpenSSL, and
    faster); keys and certificates are read with OpenSSL from the PEM files
    rhannu-ca writes. The secret is wiped when the signer is destroyed.
    =========================================================================
*/
#ifndef RH_SIGNER_H_INCLUDED
#define RH_SIGNER_H_INCLUDED

typedef struct _rh_signer_t rh_signer_t;

//  Loads a signer from a PEM private key (mode 0600 or narrower) and the PEM certificate for its
//  public key. Returns NULL (and logs why) if either does not load or they do not match.
rh_signer_t *rh_signer_new (const char *key_path, const char *cert_path);

//  Loads DIR/key.pem and DIR/cert.pem, as rhannu-ca lays out an agency folder.
rh_signer_t *rh_signer_load (const char *agency_dir);

//  A signer with a fresh random key and no certificate (its fingerprint is all zeros), naming
//  agency_id: for dry runs that build a message exactly as a receiver would decode it and never
//  send it (rhannu-broker explain). Nothing it signs verifies. Returns NULL if agency_id is not
//  a valid id or on failure.
rh_signer_t *rh_signer_new_unsent (const char *agency_id);

//  Wipes the secret and frees the signer.
void rh_signer_destroy (rh_signer_t **self_p);

//  Signs data; writes RH_SIG_LEN bytes. Returns 0 or -1.
int rh_signer_sign (rh_signer_t *self, const uint8_t *data, size_t size,
                    uint8_t signature [RH_SIG_LEN]);

//  Copies the secret (libsodium form, RH_SECRET_LEN bytes) for a class
//  that signs with the same key under another, domain-separated scheme: a federated broker
//  cosigning the other region's checkpoints (c2sp.org/tlog-cosignature) with its BROKER key.
//  The caller wipes its copy.
void rh_signer_copy_secret (rh_signer_t *self, uint8_t secret [RH_SECRET_LEN]);

//  The agency id the certificate names (its subject CN).
const char *rh_signer_agency (rh_signer_t *self);

//  The Ed25519 public key (RH_PUBKEY_LEN bytes): what a C2SP vkey of this signer carries.
const uint8_t *rh_signer_public_key (rh_signer_t *self);

//  SHA-256 of the certificate DER: goes into every header this signer signs.
const uint8_t *rh_signer_fingerprint (rh_signer_t *self);

#endif
