/*  =========================================================================
    fuzz_csr - libFuzzer harness: certificate requests as agencies send them
    to the board (rhannu-ca sign-request). Input that starts with '-' is
    read as PEM, as the board reads it; anything else is taken as DER and
    wrapped in PEM first, so that mutations reach the ASN.1 parser rather
    than break the base64.
    =========================================================================
*/
#include "rh_certs.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    rh_identity_t identity;
    if (size > 0 && data [0] == '-') {
        rh_ca_check_request (data, size, &identity);
        return 0;
    }
    BIO *bio = BIO_new (BIO_s_mem ());
    char *pem = NULL;
    if (bio && PEM_write_bio (bio, "CERTIFICATE REQUEST", "", data, (long) size) > 0) {
        long length = BIO_get_mem_data (bio, &pem);
        if (length > 0
            && rh_ca_check_request ((const uint8_t *) pem, (size_t) length, &identity) == RH_OK) {
            //  What passed must name a valid agency with a transport key.
            if (!rh_envelope_valid_id (identity.agency_id) || !identity.has_curve_key)
                abort ();
        }
    }
    BIO_free (bio);
    return 0;
}
