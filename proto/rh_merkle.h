/*  =========================================================================
    rh_merkle - RFC 6962 / RFC 9162 Merkle trees: hashes, proofs, checks

    leaf hash = SHA-256 (0x00 || leaf), node hash = SHA-256 (0x01 || left
    || right); the tree of n leaves splits at the largest power of two
    below n. Storage is the caller's: proofs are built from a function that
    returns the hash of a complete subtree (level, index), which is what the
    broker keeps in LevelDB; an auditor or agent checks proofs with nothing
    but hashes. The builder folds a stream of leaves into the root using
    64 hashes of memory, for verifying a whole log in one pass.
    =========================================================================
*/
#ifndef RH_MERKLE_H_INCLUDED
#define RH_MERKLE_H_INCLUDED

#define RH_MERKLE_MAX_PROOF 128  //  hashes in one proof (two per level of a 2^64 tree)

void rh_merkle_leaf_hash (const uint8_t *data, size_t size, uint8_t out [RH_DIGEST_LEN]);
void rh_merkle_node_hash (const uint8_t left [RH_DIGEST_LEN], const uint8_t right [RH_DIGEST_LEN],
                          uint8_t out [RH_DIGEST_LEN]);

//  Returns the hash of the complete subtree of 2^level leaves starting at leaf index << level.
//  Returns 0, or -1 if it is not stored.
typedef int (rh_merkle_node_fn) (void *arg, unsigned level, uint64_t index,
                                 uint8_t out [RH_DIGEST_LEN]);

//  MTH of leaves [begin, end). Returns 0 or -1.
int rh_merkle_range_hash (rh_merkle_node_fn *node, void *arg, uint64_t begin, uint64_t end,
                          uint8_t out [RH_DIGEST_LEN]);

//  The audit path of leaf index in the tree of size leaves. Returns the number of hashes
//  written to proof (at most max), or -1.
int rh_merkle_inclusion_proof (rh_merkle_node_fn *node, void *arg, uint64_t index, uint64_t size,
                               uint8_t (*proof) [RH_DIGEST_LEN], size_t max);

//  The consistency proof between the trees of old_size and size leaves (0 < old_size <= size).
//  Returns the number of hashes written, or -1.
int rh_merkle_consistency_proof (rh_merkle_node_fn *node, void *arg, uint64_t old_size,
                                 uint64_t size, uint8_t (*proof) [RH_DIGEST_LEN], size_t max);

//  RFC 9162 2.1.3.2: true if proof places leaf_hash at index of the tree with root.
bool rh_merkle_verify_inclusion (const uint8_t leaf_hash [RH_DIGEST_LEN], uint64_t index,
                                 uint64_t size, const uint8_t (*proof) [RH_DIGEST_LEN],
                                 size_t count, const uint8_t root [RH_DIGEST_LEN]);

//  RFC 9162 2.1.4.2: true if the tree of size2 with root2 extends the tree of size1 with root1.
bool rh_merkle_verify_consistency (uint64_t size1, uint64_t size2,
                                   const uint8_t root1 [RH_DIGEST_LEN],
                                   const uint8_t root2 [RH_DIGEST_LEN],
                                   const uint8_t (*proof) [RH_DIGEST_LEN], size_t count);

//  A signed statement of a tree: the broker signs RH_CHECKPOINT_DOMAIN 0x00 || size (u64 BE) ||
//  root || time_ms (i64 BE) with its certificate's Ed25519 key.
#define RH_CHECKPOINT_DOMAIN "rhannu.checkpoint.v1"
typedef struct {
    uint64_t size;
    uint8_t root [RH_DIGEST_LEN];
    int64_t time_ms;
    uint8_t signature [RH_SIG_LEN];
    uint8_t signer_sha256 [RH_DIGEST_LEN];  //  fingerprint of the signing certificate
    //  Witnessing: not covered by the broker's signature (each cosignature signs the checkpoint
    //  text origin, size and root itself). Both "" until a witness has cosigned.
    char origin [RH_NOTE_MAX_NAME + 1];              //  the origin the witnesses know it by
    char cosignatures [RH_CHECKPOINT_MAX_COSIGNED];  //  cosignature lines, NUL-terminated
} rh_checkpoint_t;

//  The bytes a checkpoint signature covers; message must hold 128 bytes. Returns the length.
size_t rh_merkle_checkpoint_message (const rh_checkpoint_t *checkpoint, uint8_t message [128]);

//  Copies the witnessing fields (origin, cosignature lines) into checkpoint; NULL is "". Only
//  the sizes are checked here (what the lines say is rh_note_checkpoint_cosigned's question).
//  Returns RH_OK, or RH_E_TOO_LARGE and leaves both "".
rh_rc_t rh_checkpoint_witnessing_set (rh_checkpoint_t *checkpoint, const char *origin,
                                      const char *cosignatures);

//  Checks a checkpoint's signature against public_key (Ed25519, RH_PUBKEY_LEN bytes). Which
//  broker certificate's key that must be is the certificate store's question
//  (rh_certstore_verify_checkpoint). Returns RH_OK or RH_E_SIG.
rh_rc_t rh_merkle_checkpoint_verify_key (const rh_checkpoint_t *checkpoint,
                                         const uint8_t public_key [RH_PUBKEY_LEN]);

//  Folds leaves in order into the tree's root.
typedef struct {
    uint8_t subtrees [64][RH_DIGEST_LEN];  //  subtrees [l] is valid when bit l of size is set
    uint64_t size;
} rh_merkle_builder_t;

void rh_merkle_builder_add (rh_merkle_builder_t *builder, const uint8_t leaf_hash [RH_DIGEST_LEN]);

//  As rh_merkle_builder_add, and fills completed [l] with every complete subtree the leaf
//  finishes, from level 0 (the leaf itself) up; the one at level l has index
//  (size after the add >> l) - 1. Returns how many levels it filled (at least 1).
unsigned rh_merkle_builder_extend (rh_merkle_builder_t *builder,
                                   const uint8_t leaf_hash [RH_DIGEST_LEN],
                                   uint8_t completed [64][RH_DIGEST_LEN]);

//  The root of the leaves added so far (all zero bytes for none). Returns 0, or -1 if empty.
int rh_merkle_builder_root (const rh_merkle_builder_t *builder, uint8_t out [RH_DIGEST_LEN]);

#endif
