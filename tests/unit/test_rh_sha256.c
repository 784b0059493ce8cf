/*  =========================================================================
    test_rh_sha256 - SHA-256 through OpenSSL gives the standard's digests,
    the same as libsodium's, whole or in parts
    =========================================================================
*/
#include "test_helpers.h"
#include "rh_proto.h"

static void
test_known_vectors_and_libsodium_agree_whole_and_in_parts (void)
{
    uint8_t digest [RH_DIGEST_LEN], expected [RH_DIGEST_LEN];
    //  FIPS 180-2 appendix B.1 and the empty message.
    rh_sha256 (digest, "abc", 3);
    sodium_hex2bin (expected, sizeof expected,
                    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", 64, NULL,
                    NULL, NULL);
    CU_ASSERT (memcmp (digest, expected, RH_DIGEST_LEN) == 0);
    rh_sha256 (digest, "", 0);
    sodium_hex2bin (expected, sizeof expected,
                    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", 64, NULL,
                    NULL, NULL);
    CU_ASSERT (memcmp (digest, expected, RH_DIGEST_LEN) == 0);
    //  Every size across block boundaries, whole and split in three, against libsodium.
    static uint8_t data [300];
    randombytes_buf (data, sizeof data);
    size_t differ = 0;
    for (size_t size = 0; size <= sizeof data; size++) {
        crypto_hash_sha256 (expected, data, size);
        rh_sha256 (digest, data, size);
        differ += memcmp (digest, expected, RH_DIGEST_LEN) != 0;
        const void *parts [] = { data, data + size / 3, data + size / 2 };
        size_t sizes [] = { size / 3, size / 2 - size / 3, size - size / 2 };
        rh_sha256_parts (digest, parts, sizes, 3);
        differ += memcmp (digest, expected, RH_DIGEST_LEN) != 0;
    }
    CU_ASSERT_EQUAL (differ, 0);
}

void
init_rh_sha256_tests (void)
{
    CU_pSuite suite = CU_add_suite ("rh_sha256", NULL, NULL);
    CU_add_test (suite, "known vectors; libsodium agrees, whole and in parts",
                 test_known_vectors_and_libsodium_agree_whole_and_in_parts);
}
