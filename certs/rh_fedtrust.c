/*  =========================================================================
    rh_fedtrust - the two boards' signatures on a federation agreement
    =========================================================================
*/
#include "rh_certs.h"

int
rh_fedtrust_cert_sha256 (X509 *cert, uint8_t digest [RH_DIGEST_LEN])
{
    unsigned char *der = NULL;
    int size = cert ? i2d_X509 (cert, &der) : -1;
    if (size <= 0)
        return -1;
    rh_sha256 (digest, der, (size_t) size);
    OPENSSL_free (der);
    return 0;
}

const rh_fed_region_t *
rh_fedtrust_region_of_ca (const rh_federation_t *federation, X509 *ca)
{
    uint8_t digest [RH_DIGEST_LEN];
    if (rh_fedtrust_cert_sha256 (ca, digest) != 0)
        return NULL;
    for (size_t i = 0; i < rh_federation_regions (federation); i++) {
        const rh_fed_region_t *region = rh_federation_region (federation, i);
        if (sodium_memcmp (region->ca_sha256, digest, RH_DIGEST_LEN) == 0)
            return region;
    }
    return NULL;
}

static bool
s_cert_is (const char *path, const rh_fed_region_t *region)
{
    X509 *cert = rh_ca_read_cert (path);
    uint8_t digest [RH_DIGEST_LEN];
    bool same = cert && rh_fedtrust_cert_sha256 (cert, digest) == 0
                && sodium_memcmp (digest, region->ca_sha256, RH_DIGEST_LEN) == 0;
    X509_free (cert);
    return same;
}

int
rh_fedtrust_ca_path (const rh_federation_t *federation, const rh_fed_region_t *region,
                     const char *pki_dir, char *path, size_t size)
{
    (void) federation;
    if (rh_file_path (path, size, "%s/ca.pem", pki_dir) == 0 && s_cert_is (path, region))
        return 0;
    if (rh_file_path (path, size, "%s/peers/%s/ca.pem", pki_dir, region->name) == 0
        && s_cert_is (path, region))
        return 0;
    return -1;
}

int
rh_fedtrust_sign (const char *dir, const char *path, const rh_federation_t *federation,
                  char *region_name)
{
    char ca_path [PATH_MAX], sig_path [PATH_MAX];
    rh_file_path (ca_path, sizeof ca_path, "%s/ca.pem", dir);
    X509 *ca = rh_ca_read_cert (ca_path);
    const rh_fed_region_t *region = ca ? rh_fedtrust_region_of_ca (federation, ca) : NULL;
    X509_free (ca);
    if (!region) {
        rh_log_error ("federation", "the CA in %s is no region's CA in %s (check ca_sha256)", dir,
                      path);
        return -1;
    }
    snprintf (region_name, RH_MAX_ID + 1, "%s", region->name);
    if (rh_file_path (sig_path, sizeof sig_path, "%s.sig.%s", path, region->name) != 0)
        return -1;
    uint8_t *data = NULL;
    size_t size = 0;
    if (rh_file_read (path, RH_MAX_AGREEMENT_FILE, &data, &size) != 0) {
        rh_log_error ("federation", "cannot read %s: %s", path, strerror (errno));
        return -1;
    }
    uint8_t signature [RH_SIG_LEN];
    int rc = rh_ca_sign_bytes (dir, RH_FEDERATION_DOMAIN, data, size, signature);
    free (data);
    if (rc == 0 && rh_file_write_atomic (sig_path, signature, sizeof signature, 0644) != 0) {
        rh_log_error ("federation", "cannot write %s: %s", sig_path, strerror (errno));
        rc = -1;
    }
    return rc;
}

static void s_line (char *report, size_t size, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

static void
s_line (char *report, size_t size, const char *format, ...)
{
    size_t used = strlen (report);
    if (used + 1 >= size)
        return;
    va_list args;
    va_start (args, format);
    vsnprintf (report + used, size - used, format, args);
    va_end (args);
}

size_t
rh_fedtrust_verify (const rh_federation_t *federation, const char *path, const uint8_t *data,
                    size_t size, const char *pki_dir, char *report, size_t report_size)
{
    *report = 0;
    size_t verified = 0;
    for (size_t i = 0; i < rh_federation_regions (federation); i++) {
        const rh_fed_region_t *region = rh_federation_region (federation, i);
        char ca_path [PATH_MAX], sig_path [PATH_MAX];
        uint8_t *signature = NULL;
        size_t signature_size = 0;
        rh_file_path (sig_path, sizeof sig_path, "%s.sig.%s", path, region->name);
        if (rh_fedtrust_ca_path (federation, region, pki_dir, ca_path, sizeof ca_path) != 0) {
            s_line (report, report_size,
                    "  region %s: no CA certificate with its ca_sha256 in %s/ca.pem or "
                    "%s/peers/%s/ca.pem\n",
                    region->name, pki_dir, pki_dir, region->name);
            continue;
        }
        if (rh_file_read (sig_path, 1024, &signature, &signature_size) != 0) {
            s_line (report, report_size, "  region %s: not signed (%s is missing)\n", region->name,
                    sig_path);
            continue;
        }
        X509 *ca = rh_ca_read_cert (ca_path);
        if (rh_ca_verify_bytes (ca, RH_FEDERATION_DOMAIN, data, size, signature, signature_size)
            == RH_OK) {
            s_line (report, report_size, "  region %s: signed by its board CA (%s)\n", region->name,
                    ca_path);
            verified++;
        }
        else
            s_line (report, report_size,
                    "  region %s: the signature %s does not verify against %s\n", region->name,
                    sig_path, ca_path);
        X509_free (ca);
        free (signature);
    }
    return verified;
}
