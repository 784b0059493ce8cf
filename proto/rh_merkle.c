/*  =========================================================================
    rh_merkle - RFC 6962 / RFC 9162 Merkle trees: hashes, proofs, checks
    =========================================================================
*/
#include "rh_proto.h"

void
rh_merkle_leaf_hash (const uint8_t *data, size_t size, uint8_t out [RH_DIGEST_LEN])
{
    const uint8_t prefix = 0x00;
    const void *parts [] = { &prefix, data };
    size_t sizes [] = { 1, size };
    rh_sha256_parts (out, parts, sizes, 2);
}

void
rh_merkle_node_hash (const uint8_t left [RH_DIGEST_LEN], const uint8_t right [RH_DIGEST_LEN],
                     uint8_t out [RH_DIGEST_LEN])
{
    uint8_t buffer [1 + 2 * RH_DIGEST_LEN];
    buffer [0] = 0x01;
    memcpy (buffer + 1, left, RH_DIGEST_LEN);
    memcpy (buffer + 1 + RH_DIGEST_LEN, right, RH_DIGEST_LEN);
    rh_sha256 (out, buffer, sizeof buffer);
}

//  The largest power of two strictly below n (n >= 2).
static uint64_t
s_split (uint64_t n)
{
    uint64_t k = 1;
    while (k << 1 < n)
        k <<= 1;
    return k;
}

int
rh_merkle_range_hash (rh_merkle_node_fn *node, void *arg, uint64_t begin, uint64_t end,
                      uint8_t out [RH_DIGEST_LEN])
{
    if (end <= begin)
        return -1;
    uint64_t n = end - begin;
    //  A complete, aligned subtree is stored as it is.
    if ((n & (n - 1)) == 0 && begin % n == 0) {
        unsigned level = 0;
        while ((1ull << level) < n)
            level++;
        return node (arg, level, begin >> level, out);
    }
    uint64_t k = s_split (n);
    uint8_t left [RH_DIGEST_LEN], right [RH_DIGEST_LEN];
    if (rh_merkle_range_hash (node, arg, begin, begin + k, left) != 0
        || rh_merkle_range_hash (node, arg, begin + k, end, right) != 0)
        return -1;
    rh_merkle_node_hash (left, right, out);
    return 0;
}

//  PATH (m, D[begin:end]) of RFC 6962 2.1.1, appended to proof at *count.
static int
s_path (rh_merkle_node_fn *node, void *arg, uint64_t m, uint64_t begin, uint64_t end,
        uint8_t (*proof) [RH_DIGEST_LEN], size_t *count, size_t max)
{
    uint64_t n = end - begin;
    if (n <= 1)
        return 0;
    uint64_t k = s_split (n);
    int rc = m < k ? s_path (node, arg, m, begin, begin + k, proof, count, max)
                   : s_path (node, arg, m - k, begin + k, end, proof, count, max);
    if (rc != 0 || *count >= max)
        return -1;
    rc = m < k ? rh_merkle_range_hash (node, arg, begin + k, end, proof [*count])
               : rh_merkle_range_hash (node, arg, begin, begin + k, proof [*count]);
    (*count)++;
    return rc;
}

int
rh_merkle_inclusion_proof (rh_merkle_node_fn *node, void *arg, uint64_t index, uint64_t size,
                           uint8_t (*proof) [RH_DIGEST_LEN], size_t max)
{
    if (index >= size)
        return -1;
    size_t count = 0;
    return s_path (node, arg, index, 0, size, proof, &count, max) == 0 ? (int) count : -1;
}

//  SUBPROOF (m, D[begin:end], whole) of RFC 6962 2.1.2.
static int
s_subproof (rh_merkle_node_fn *node, void *arg, uint64_t m, uint64_t begin, uint64_t end,
            bool whole, uint8_t (*proof) [RH_DIGEST_LEN], size_t *count, size_t max)
{
    uint64_t n = end - begin;
    if (m == n) {
        if (whole)
            return 0;
        if (*count >= max)
            return -1;
        return rh_merkle_range_hash (node, arg, begin, end, proof [(*count)++]);
    }
    uint64_t k = s_split (n);
    int rc = m <= k ? s_subproof (node, arg, m, begin, begin + k, whole, proof, count, max)
                    : s_subproof (node, arg, m - k, begin + k, end, false, proof, count, max);
    if (rc != 0 || *count >= max)
        return -1;
    rc = m <= k ? rh_merkle_range_hash (node, arg, begin + k, end, proof [*count])
                : rh_merkle_range_hash (node, arg, begin, begin + k, proof [*count]);
    (*count)++;
    return rc;
}

int
rh_merkle_consistency_proof (rh_merkle_node_fn *node, void *arg, uint64_t old_size, uint64_t size,
                             uint8_t (*proof) [RH_DIGEST_LEN], size_t max)
{
    if (old_size == 0 || old_size > size)
        return -1;
    size_t count = 0;
    if (old_size == size)
        return 0;
    return s_subproof (node, arg, old_size, 0, size, true, proof, &count, max) == 0 ? (int) count
                                                                                    : -1;
}

bool
rh_merkle_verify_inclusion (const uint8_t leaf_hash [RH_DIGEST_LEN], uint64_t index, uint64_t size,
                            const uint8_t (*proof) [RH_DIGEST_LEN], size_t count,
                            const uint8_t root [RH_DIGEST_LEN])
{
    if (index >= size)
        return false;
    uint64_t fn = index, sn = size - 1;
    uint8_t r [RH_DIGEST_LEN];
    memcpy (r, leaf_hash, RH_DIGEST_LEN);
    for (size_t i = 0; i < count; i++) {
        if (sn == 0)
            return false;
        if ((fn & 1) || fn == sn) {
            rh_merkle_node_hash (proof [i], r, r);
            while (!(fn & 1) && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        }
        else
            rh_merkle_node_hash (r, proof [i], r);
        fn >>= 1;
        sn >>= 1;
    }
    return sn == 0 && sodium_memcmp (r, root, RH_DIGEST_LEN) == 0;
}

bool
rh_merkle_verify_consistency (uint64_t size1, uint64_t size2, const uint8_t root1 [RH_DIGEST_LEN],
                              const uint8_t root2 [RH_DIGEST_LEN],
                              const uint8_t (*proof) [RH_DIGEST_LEN], size_t count)
{
    if (size1 == 0 || size1 > size2)
        return false;
    if (size1 == size2)
        return count == 0 && sodium_memcmp (root1, root2, RH_DIGEST_LEN) == 0;
    if (count == 0)
        return false;
    //  When size1 is a power of two, the old root is the first node of the path.
    size_t next = 0;
    uint8_t fr [RH_DIGEST_LEN], sr [RH_DIGEST_LEN];
    if ((size1 & (size1 - 1)) == 0)
        memcpy (fr, root1, RH_DIGEST_LEN);
    else
        memcpy (fr, proof [next++], RH_DIGEST_LEN);
    memcpy (sr, fr, RH_DIGEST_LEN);
    uint64_t fn = size1 - 1, sn = size2 - 1;
    while (fn & 1) {
        fn >>= 1;
        sn >>= 1;
    }
    for (; next < count; next++) {
        if (sn == 0)
            return false;
        if ((fn & 1) || fn == sn) {
            rh_merkle_node_hash (proof [next], fr, fr);
            rh_merkle_node_hash (proof [next], sr, sr);
            while (!(fn & 1) && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        }
        else
            rh_merkle_node_hash (sr, proof [next], sr);
        fn >>= 1;
        sn >>= 1;
    }
    return sn == 0 && sodium_memcmp (fr, root1, RH_DIGEST_LEN) == 0
           && sodium_memcmp (sr, root2, RH_DIGEST_LEN) == 0;
}

void
rh_merkle_builder_add (rh_merkle_builder_t *builder, const uint8_t leaf_hash [RH_DIGEST_LEN])
{
    uint8_t carry [RH_DIGEST_LEN];
    memcpy (carry, leaf_hash, RH_DIGEST_LEN);
    unsigned level = 0;
    while (builder->size & (1ull << level)) {
        rh_merkle_node_hash (builder->subtrees [level], carry, carry);
        level++;
    }
    memcpy (builder->subtrees [level], carry, RH_DIGEST_LEN);
    builder->size++;
}

unsigned
rh_merkle_builder_extend (rh_merkle_builder_t *builder, const uint8_t leaf_hash [RH_DIGEST_LEN],
                          uint8_t completed [64][RH_DIGEST_LEN])
{
    memcpy (completed [0], leaf_hash, RH_DIGEST_LEN);
    unsigned level = 0;
    while (builder->size & (1ull << level)) {
        rh_merkle_node_hash (builder->subtrees [level], completed [level], completed [level + 1]);
        level++;
    }
    memcpy (builder->subtrees [level], completed [level], RH_DIGEST_LEN);
    builder->size++;
    return level + 1;
}

int
rh_merkle_builder_root (const rh_merkle_builder_t *builder, uint8_t out [RH_DIGEST_LEN])
{
    memset (out, 0, RH_DIGEST_LEN);
    if (builder->size == 0)
        return -1;
    bool started = false;
    for (unsigned level = 0; level < 64; level++) {
        if (!(builder->size & (1ull << level)))
            continue;
        if (!started) {
            memcpy (out, builder->subtrees [level], RH_DIGEST_LEN);
            started = true;
        }
        else
            rh_merkle_node_hash (builder->subtrees [level], out, out);
    }
    return 0;
}

size_t
rh_merkle_checkpoint_message (const rh_checkpoint_t *checkpoint, uint8_t message [128])
{
    size_t used = sizeof RH_CHECKPOINT_DOMAIN;  //  with its zero byte
    memcpy (message, RH_CHECKPOINT_DOMAIN, used);
    for (int i = 7; i >= 0; i--)
        message [used++] = (uint8_t) (checkpoint->size >> (i * 8));
    memcpy (message + used, checkpoint->root, RH_DIGEST_LEN);
    used += RH_DIGEST_LEN;
    for (int i = 7; i >= 0; i--)
        message [used++] = (uint8_t) ((uint64_t) checkpoint->time_ms >> (i * 8));
    return used;
}

rh_rc_t
rh_merkle_checkpoint_verify_key (const rh_checkpoint_t *checkpoint,
                                 const uint8_t public_key [RH_PUBKEY_LEN])
{
    assert (checkpoint && public_key);
    uint8_t message [128];
    size_t size = rh_merkle_checkpoint_message (checkpoint, message);
    return crypto_sign_verify_detached (checkpoint->signature, message, size, public_key) == 0
               ? RH_OK
               : RH_E_SIG;
}

rh_rc_t
rh_checkpoint_witnessing_set (rh_checkpoint_t *checkpoint, const char *origin,
                              const char *cosignatures)
{
    assert (checkpoint);
    checkpoint->origin [0] = 0;
    checkpoint->cosignatures [0] = 0;
    origin = origin ? origin : "";
    cosignatures = cosignatures ? cosignatures : "";
    if (strlen (origin) >= sizeof checkpoint->origin
        || strlen (cosignatures) >= sizeof checkpoint->cosignatures)
        return RH_E_TOO_LARGE;
    strcpy (checkpoint->origin, origin);
    strcpy (checkpoint->cosignatures, cosignatures);
    return RH_OK;
}
