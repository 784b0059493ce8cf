/*  =========================================================================
    test_helpers - fixtures shared by the unit suites

    A throwaway PKI in a private temporary folder, made with the real CA
    code: the board CA, agencies in every certificate state, and a second,
    unrelated CA. Built once per run.
    =========================================================================
*/
#ifndef TEST_HELPERS_H_INCLUDED
#define TEST_HELPERS_H_INCLUDED

#include "rh_certs.h"
#include <CUnit/CUnit.h>

#define TEST_DAY_MS ((int64_t) 24 * 3600 * 1000)

typedef struct {
    char root [PATH_MAX];   //  temporary folder holding everything below
    char pki [PATH_MAX];    //  board CA: police-gwent, la-newport, health-abb valid;
                            //  edu-old expired a minute ago; vcs-future not yet valid;
                            //  vcs-gone revoked (cessation); pol-leak revoked (key compromise)
    char other [PATH_MAX];  //  an unrelated CA with one agency, stranger
    int64_t revoked_at_ms;  //  roughly when vcs-gone and pol-leak were revoked
} test_pki_t;

//  The run's PKI, created on first use. Aborts the run if it cannot be made.
const test_pki_t *test_pki (void);

//  Removes the run's temporary folders.
void test_pki_cleanup (void);

//  Makes a fresh empty temporary folder under the run's root; returns its path (static buffer
//  per call site is not needed: the caller passes out).
void test_tempdir (char *out, size_t size);

//  Loads the signer for an agency of the board PKI.
rh_signer_t *test_signer (const char *pki_dir, const char *agency_id);

//  Seals a message by hand, the way the envelope documentation defines it, so that tests can
//  make messages the library would refuse to build. header is a packed Header (taken as is);
//  each disclosure gives a field number and value; commit_fields, if not NULL, overrides the
//  committed field numbers. Returns a new buffer the caller frees.
//  The salt test_seal gives every disclosure.
static const uint8_t test_salt [16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };

typedef struct {
    uint32_t field;
    const uint8_t *value;
    size_t size;
} test_disclosure_t;

uint8_t *test_seal (rh_signer_t *signer, const uint8_t *header, size_t header_size,
                    const uint8_t *signature_override, size_t signature_size,
                    const test_disclosure_t *disclosures, size_t count, size_t *size);

//  Computes a field commitment as documented in rh_envelope.h.
void test_commit (uint32_t kind, uint32_t field, const uint8_t *salt, const uint8_t *value,
                  size_t size, uint8_t digest [32]);

#endif
