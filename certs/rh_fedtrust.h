/*  =========================================================================
    rh_fedtrust - the two boards' signatures on a federation agreement

    Each board signs the same bytes with its own CA key; the signature of
    region R is the detached file FILE.sig.R (Ed25519 over
    RH_FEDERATION_DOMAIN 0x00 || FILE). A board signs only as the region
    whose ca_sha256 is its own CA certificate's fingerprint, and a
    signature is checked only against a CA certificate whose fingerprint the
    agreement names for that region, so neither board can sign for the other
    and a swapped CA certificate is caught.

    The other region's CA certificate (and its CRL, for the link) is kept at
    PKI/peers/REGION/ca.pem; the own region's is PKI/ca.pem.
    =========================================================================
*/
#ifndef RH_FEDTRUST_H_INCLUDED
#define RH_FEDTRUST_H_INCLUDED

//  Keeps a federation signature from ever passing for an agreement, certificate or bundle one.
#define RH_FEDERATION_DOMAIN "rhannu.federation.v1"

//  SHA-256 of the certificate's DER encoding (its fingerprint). Returns 0 or -1.
int rh_fedtrust_cert_sha256 (X509 *cert, uint8_t digest [RH_DIGEST_LEN]);

//  The region of federation whose CA is the certificate ca, or NULL.
const rh_fed_region_t *rh_fedtrust_region_of_ca (const rh_federation_t *federation, X509 *ca);

//  Signs the federation agreement at path (parsed as federation) with the CA in dir, writing
//  path.sig.REGION for the region of that CA. Returns 0 or -1 (logged), with the region name in
//  region (at least RH_MAX_ID + 1 bytes).
int rh_fedtrust_sign (const char *dir, const char *path, const rh_federation_t *federation,
                      char *region);

//  Checks every region's signature of the file at path (data, size: its bytes), with the CA
//  certificates found in pki_dir (see above). Writes one line per region into report (for
//  people) and returns how many regions' signatures verified; the agreement is in force only
//  when that equals rh_federation_regions.
size_t rh_fedtrust_verify (const rh_federation_t *federation, const char *path, const uint8_t *data,
                           size_t size, const char *pki_dir, char *report, size_t report_size);

//  The path of region's CA certificate under pki_dir: pki_dir/ca.pem when its fingerprint is
//  the region's, else pki_dir/peers/REGION/ca.pem. Returns 0, or -1 if neither matches.
int rh_fedtrust_ca_path (const rh_federation_t *federation, const rh_fed_region_t *region,
                         const char *pki_dir, char *path, size_t size);

#endif
