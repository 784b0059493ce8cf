/*  =========================================================================
    rh_sha256 - SHA-256 for every digest rhannu makes

    Through OpenSSL, which uses the CPU's SHA extensions where it has them:
    on our machines about five times libsodium's portable code, and hashing
    was a tenth of the broker's CPU (payloads, commitments, Merkle leaves).
    Same digests either way; if OpenSSL cannot (no memory), libsodium's is
    used instead.
    =========================================================================
*/
#ifndef RH_SHA256_H_INCLUDED
#define RH_SHA256_H_INCLUDED

//  SHA-256 of size bytes at data.
void rh_sha256 (uint8_t out [RH_DIGEST_LEN], const void *data, size_t size);

//  SHA-256 of count parts in order, as one message.
void rh_sha256_parts (uint8_t out [RH_DIGEST_LEN], const void *const *parts, const size_t *sizes,
                      size_t count);

#endif
