/*  =========================================================================
    rh_sha256 - SHA-256 for every digest rhannu makes
    =========================================================================
*/
#include "rh_proto.h"

static EVP_MD *s_md;  //  fetched once: an implicit fetch per call is slow and scales badly
static pthread_once_t s_once = PTHREAD_ONCE_INIT;

static void
s_fetch (void)
{
    s_md = EVP_MD_fetch (NULL, "SHA256", NULL);
}

//  The sodium path, for when OpenSSL cannot.
static void
s_sodium (uint8_t out [RH_DIGEST_LEN], const void *const *parts, const size_t *sizes, size_t count)
{
    crypto_hash_sha256_state state;
    crypto_hash_sha256_init (&state);
    for (size_t i = 0; i < count; i++)
        crypto_hash_sha256_update (&state, parts [i], sizes [i]);
    crypto_hash_sha256_final (&state, out);
}

void
rh_sha256_parts (uint8_t out [RH_DIGEST_LEN], const void *const *parts, const size_t *sizes,
                 size_t count)
{
    assert (out && (parts || count == 0));
    pthread_once (&s_once, s_fetch);
    EVP_MD_CTX *context = s_md ? EVP_MD_CTX_new () : NULL;
    bool done = context && EVP_DigestInit_ex2 (context, s_md, NULL) == 1;
    for (size_t i = 0; done && i < count; i++)
        done = EVP_DigestUpdate (context, parts [i], sizes [i]) == 1;
    unsigned int length = 0;
    done = done && EVP_DigestFinal_ex (context, out, &length) == 1 && length == RH_DIGEST_LEN;
    EVP_MD_CTX_free (context);
    if (!done)
        s_sodium (out, parts, sizes, count);
}

void
rh_sha256 (uint8_t out [RH_DIGEST_LEN], const void *data, size_t size)
{
    const void *parts [] = { data };
    rh_sha256_parts (out, parts, &size, 1);
}
