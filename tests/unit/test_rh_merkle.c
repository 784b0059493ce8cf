/*  =========================================================================
    test_rh_merkle - RFC 6962 vectors, every proof of small trees, and
    mutated proofs, which must all be refused
    =========================================================================
*/
#include "test_helpers.h"

//  The eight leaves of the RFC 6962 test data used by Certificate Transparency, and the roots
//  of their prefixes (computed independently with Python's hashlib while writing this test).
static const uint8_t *s_leaves [] = {
    (const uint8_t *) "",
    (const uint8_t *) "\x00",
    (const uint8_t *) "\x10",
    (const uint8_t *) "\x20\x21",
    (const uint8_t *) "\x30\x31",
    (const uint8_t *) "\x40\x41\x42\x43",
    (const uint8_t *) "\x50\x51\x52\x53\x54\x55\x56\x57",
    (const uint8_t *) "\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
};
static const size_t s_sizes [] = { 0, 1, 1, 2, 2, 4, 8, 16 };
static const char *s_roots [] = {
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

//  A tree in memory: leaf hashes, subtrees computed on demand (what the broker reads from disk).
typedef struct {
    uint8_t (*leaves) [RH_DIGEST_LEN];
    uint64_t size;
} s_tree_t;

static int
s_node (void *arg, unsigned level, uint64_t index, uint8_t out [RH_DIGEST_LEN])
{
    s_tree_t *tree = arg;
    uint64_t first = index << level, count = 1ull << level;
    if (first + count > tree->size)
        return -1;  //  only complete subtrees exist
    if (level == 0) {
        memcpy (out, tree->leaves [first], RH_DIGEST_LEN);
        return 0;
    }
    uint8_t left [RH_DIGEST_LEN], right [RH_DIGEST_LEN];
    s_node (arg, level - 1, index * 2, left);
    s_node (arg, level - 1, index * 2 + 1, right);
    rh_merkle_node_hash (left, right, out);
    return 0;
}

static void
s_tree (s_tree_t *tree, uint64_t size)
{
    tree->size = size;
    tree->leaves = calloc (size, RH_DIGEST_LEN);
    for (uint64_t i = 0; i < size; i++) {
        if (i < 8)
            rh_merkle_leaf_hash (s_leaves [i], s_sizes [i], tree->leaves [i]);
        else {
            uint8_t data [8];
            memcpy (data, &i, 8);
            rh_merkle_leaf_hash (data, 8, tree->leaves [i]);
        }
    }
}

static void
test_vectors (void)
{
    s_tree_t tree;
    s_tree (&tree, 8);
    rh_merkle_builder_t builder = { 0 };
    uint8_t root [RH_DIGEST_LEN], stored [RH_DIGEST_LEN];
    CU_ASSERT (rh_merkle_builder_root (&builder, root) == -1);
    for (uint64_t n = 1; n <= 8; n++) {
        rh_merkle_builder_add (&builder, tree.leaves [n - 1]);
        rh_merkle_builder_root (&builder, root);
        char hex [RH_DIGEST_LEN * 2 + 1];
        sodium_bin2hex (hex, sizeof hex, root, RH_DIGEST_LEN);
        CU_ASSERT_STRING_EQUAL (hex, s_roots [n - 1]);
        //  The same root from stored complete subtrees.
        CU_ASSERT (rh_merkle_range_hash (s_node, &tree, 0, n, stored) == 0);
        CU_ASSERT (memcmp (stored, root, RH_DIGEST_LEN) == 0);
    }
    free (tree.leaves);
}

//  Mutations of a proof, one per kind: each must be refused.
static int
s_mutations (const uint8_t (*proof) [RH_DIGEST_LEN], size_t count,
             bool (*check) (const uint8_t (*) [RH_DIGEST_LEN], size_t, void *), void *arg)
{
    uint8_t copy [RH_MERKLE_MAX_PROOF + 1][RH_DIGEST_LEN];
    int accepted = 0;
    for (size_t i = 0; i < count; i++) {
        //  a flipped bit in each element
        memcpy (copy, proof, count * RH_DIGEST_LEN);
        copy [i][i % RH_DIGEST_LEN] ^= 0x01;
        accepted += check ((const uint8_t (*) [RH_DIGEST_LEN]) copy, count, arg);
    }
    if (count > 0) {
        //  truncated, and with its last element dropped from the front instead
        accepted += check (proof, count - 1, arg);
        accepted += count > 1 && check (proof + 1, count - 1, arg);
    }
    //  extended with an extra hash
    memcpy (copy, proof, count * RH_DIGEST_LEN);
    memset (copy [count], 0x5a, RH_DIGEST_LEN);
    accepted += check ((const uint8_t (*) [RH_DIGEST_LEN]) copy, count + 1, arg);
    if (count > 1) {
        //  two elements swapped
        memcpy (copy, proof, count * RH_DIGEST_LEN);
        memcpy (copy [0], proof [1], RH_DIGEST_LEN);
        memcpy (copy [1], proof [0], RH_DIGEST_LEN);
        if (memcmp (proof [0], proof [1], RH_DIGEST_LEN) != 0)
            accepted += check ((const uint8_t (*) [RH_DIGEST_LEN]) copy, count, arg);
    }
    return accepted;
}

typedef struct {
    const uint8_t *leaf;
    uint64_t index;
    uint64_t size;
    const uint8_t *root;
} s_inclusion_t;

static bool
s_check_inclusion (const uint8_t (*proof) [RH_DIGEST_LEN], size_t count, void *arg)
{
    s_inclusion_t *c = arg;
    return rh_merkle_verify_inclusion (c->leaf, c->index, c->size, proof, count, c->root);
}

typedef struct {
    uint64_t size1;
    uint64_t size2;
    const uint8_t *root1;
    const uint8_t *root2;
} s_consistency_t;

static bool
s_check_consistency (const uint8_t (*proof) [RH_DIGEST_LEN], size_t count, void *arg)
{
    s_consistency_t *c = arg;
    return rh_merkle_verify_consistency (c->size1, c->size2, c->root1, c->root2, proof, count);
}

static void
test_inclusion_proofs (void)
{
    s_tree_t tree;
    s_tree (&tree, 70);
    uint8_t proof [RH_MERKLE_MAX_PROOF][RH_DIGEST_LEN];
    int verified = 0, failed = 0, mutants = 0;
    for (uint64_t size = 1; size <= 70; size++) {
        uint8_t root [RH_DIGEST_LEN], other [RH_DIGEST_LEN];
        rh_merkle_range_hash (s_node, &tree, 0, size, root);
        memcpy (other, root, RH_DIGEST_LEN);
        other [5] ^= 0x80;
        for (uint64_t index = 0; index < size; index++) {
            int count =
                rh_merkle_inclusion_proof (s_node, &tree, index, size, proof, RH_MERKLE_MAX_PROOF);
            if (count < 0) {
                failed++;
                continue;
            }
            bool good = rh_merkle_verify_inclusion (tree.leaves [index], index, size,
                                                    (const uint8_t (*) [RH_DIGEST_LEN]) proof,
                                                    (size_t) count, root);
            verified += good;
            failed += !good;
            //  The wrong leaf, index, size or root is refused.
            s_inclusion_t c = { tree.leaves [index], index, size, root };
            mutants += s_mutations ((const uint8_t (*) [RH_DIGEST_LEN]) proof, (size_t) count,
                                    s_check_inclusion, &c);
            const uint8_t (*p) [RH_DIGEST_LEN] = (const uint8_t (*) [RH_DIGEST_LEN]) proof;
            mutants += rh_merkle_verify_inclusion (tree.leaves [(index + 1) % 70], index, size, p,
                                                   (size_t) count, root)
                       && (index + 1) % 70 != index;
            mutants += index + 1 < size
                       && rh_merkle_verify_inclusion (tree.leaves [index], index + 1, size, p,
                                                      (size_t) count, root);
            //  (The same proof with size + 1 and the *same* root can pass when both trees have
            //  the same shape around the leaf: the signed checkpoint binds size and root
            //  together, so the next tree's own root is the meaningful check.)
            uint8_t next_root [RH_DIGEST_LEN];
            if (size < 70 && rh_merkle_range_hash (s_node, &tree, 0, size + 1, next_root) == 0)
                mutants += rh_merkle_verify_inclusion (tree.leaves [index], index, size + 1, p,
                                                       (size_t) count, next_root);
            mutants += rh_merkle_verify_inclusion (tree.leaves [index], index, size, p,
                                                   (size_t) count, other);
            mutants += rh_merkle_verify_inclusion (tree.leaves [index], size, size, p,
                                                   (size_t) count, root);
        }
    }
    CU_ASSERT (verified == 70 * 71 / 2);
    CU_ASSERT (failed == 0);
    CU_ASSERT (mutants == 0);
    free (tree.leaves);
}

static void
test_consistency_proofs (void)
{
    s_tree_t tree;
    s_tree (&tree, 40);
    uint8_t proof [RH_MERKLE_MAX_PROOF][RH_DIGEST_LEN], roots [41][RH_DIGEST_LEN];
    for (uint64_t size = 1; size <= 40; size++)
        rh_merkle_range_hash (s_node, &tree, 0, size, roots [size]);
    int verified = 0, failed = 0, mutants = 0;
    for (uint64_t size2 = 1; size2 <= 40; size2++)
        for (uint64_t size1 = 1; size1 <= size2; size1++) {
            int count = rh_merkle_consistency_proof (s_node, &tree, size1, size2, proof,
                                                     RH_MERKLE_MAX_PROOF);
            const uint8_t (*p) [RH_DIGEST_LEN] = (const uint8_t (*) [RH_DIGEST_LEN]) proof;
            bool good = count >= 0
                        && rh_merkle_verify_consistency (size1, size2, roots [size1], roots [size2],
                                                         p, (size_t) count);
            verified += good;
            failed += !good;
            if (count < 0)
                continue;
            s_consistency_t c = { size1, size2, roots [size1], roots [size2] };
            mutants += s_mutations (p, (size_t) count, s_check_consistency, &c);
            //  A history rewritten at any point does not extend the old root.
            if (size1 < size2) {
                mutants += rh_merkle_verify_consistency (size1, size2, roots [size1],
                                                         roots [size2 - 1], p, (size_t) count);
                mutants += size1 > 1
                           && rh_merkle_verify_consistency (size1, size2, roots [size1 - 1],
                                                            roots [size2], p, (size_t) count);
                mutants += rh_merkle_verify_consistency (size2, size1, roots [size2], roots [size1],
                                                         p, (size_t) count);
            }
        }
    CU_ASSERT (verified == 40 * 41 / 2);
    CU_ASSERT (failed == 0);
    CU_ASSERT (mutants == 0);
    CU_ASSERT (rh_merkle_consistency_proof (s_node, &tree, 0, 5, proof, RH_MERKLE_MAX_PROOF) == -1);
    CU_ASSERT (rh_merkle_consistency_proof (s_node, &tree, 6, 5, proof, RH_MERKLE_MAX_PROOF) == -1);
    //  A proof needs room: too small a buffer is an error, never an overflow.
    CU_ASSERT (rh_merkle_consistency_proof (s_node, &tree, 3, 40, proof, 2) == -1);
    CU_ASSERT (rh_merkle_inclusion_proof (s_node, &tree, 3, 40, proof, 2) == -1);
    free (tree.leaves);
}

static void
test_a_checkpoint_verifies_against_its_key_only (void)
{
    uint8_t public_key [RH_PUBKEY_LEN], secret [crypto_sign_SECRETKEYBYTES];
    uint8_t other_public [RH_PUBKEY_LEN], other_secret [crypto_sign_SECRETKEYBYTES];
    crypto_sign_keypair (public_key, secret);
    crypto_sign_keypair (other_public, other_secret);
    rh_checkpoint_t checkpoint = { .size = 7, .time_ms = 1700000000000 };
    memset (checkpoint.root, 0x42, RH_DIGEST_LEN);
    uint8_t message [128];
    size_t size = rh_merkle_checkpoint_message (&checkpoint, message);
    crypto_sign_detached (checkpoint.signature, NULL, message, size, secret);
    CU_ASSERT_EQUAL (rh_merkle_checkpoint_verify_key (&checkpoint, public_key), RH_OK);
    CU_ASSERT_EQUAL (rh_merkle_checkpoint_verify_key (&checkpoint, other_public), RH_E_SIG);
    //  Every signed part counts: size, root and time.
    rh_checkpoint_t changed = checkpoint;
    changed.size++;
    CU_ASSERT_EQUAL (rh_merkle_checkpoint_verify_key (&changed, public_key), RH_E_SIG);
    changed = checkpoint;
    changed.root [31] ^= 1;
    CU_ASSERT_EQUAL (rh_merkle_checkpoint_verify_key (&changed, public_key), RH_E_SIG);
    changed = checkpoint;
    changed.time_ms++;
    CU_ASSERT_EQUAL (rh_merkle_checkpoint_verify_key (&changed, public_key), RH_E_SIG);
    sodium_memzero (secret, sizeof secret);
    sodium_memzero (other_secret, sizeof other_secret);
}

void
init_rh_merkle_tests (void)
{
    CU_pSuite suite = CU_add_suite ("rh_merkle", NULL, NULL);
    CU_add_test (suite, "RFC 6962 test vectors", test_vectors);
    CU_add_test (suite, "every inclusion proof of trees up to 70, and its mutations",
                 test_inclusion_proofs);
    CU_add_test (suite, "every consistency proof of trees up to 40, and its mutations",
                 test_consistency_proofs);
    CU_add_test (suite, "a checkpoint verifies against its key only",
                 test_a_checkpoint_verifies_against_its_key_only);
}
