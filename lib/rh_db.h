/*  =========================================================================
    rh_db - LevelDB with one pending write batch (group commit)

    Writes go into a batch; rh_db_commit writes the batch at once, with
    sync=true when what it holds backs an acknowledgement. Reads see only
    committed data: callers that must see their own pending writes keep
    track of them. One rh_db per process and per database; not shared
    between threads.
    =========================================================================
*/
#ifndef RH_DB_H_INCLUDED
#define RH_DB_H_INCLUDED

typedef struct _rh_db_t rh_db_t;
typedef struct _rh_db_iter_t rh_db_iter_t;

//  Opens (creating if needed) the database in folder path. Returns NULL and logs why on failure.
rh_db_t *rh_db_open (const char *path);

//  Opens an existing store in folder path for reading only, for the auditor's tools: a store
//  that is evidence must not be created, changed or recovered by reading it. LevelDB (Debian's
//  C API) has no read-only mode: an open takes a LOCK file, writes an info LOG and turns its
//  write-ahead log into new tables. So this refuses a folder that is missing, holds no LevelDB
//  store (no CURRENT), or whose LOCK another process holds (a running broker: stop it, or copy
//  the store while it is stopped), and opens a private copy in a new folder under $TMPDIR (or
//  /tmp), removed by rh_db_destroy: tables linked (symbolically: the originals' inodes are not
//  touched, and any file system will do) under names LevelDB reads but never writes, the other
//  files copied. The open checks the manifest and every
//  table it names (paranoid checks); reads check block checksums. Returns NULL and logs why.
rh_db_t *rh_db_open_readonly (const char *path);

//  True if another process holds the LOCK of the store in folder path (LevelDB locks it with
//  fcntl while open, and the kernel releases it when that process ends, kill -9 included).
//  Asking (F_GETLK) does not take the lock, and the file is opened for reading only. Call it
//  only for a store this process has not opened: closing any descriptor of LOCK drops every
//  fcntl lock the process holds on it.
pid_t rh_db_lock_holder (const char *path);

//  Copies the store in folder path into folder dest (made 0700; new or empty) while
//  another process may be writing it: the copy is the store as it was at one moment, as a
//  crash there would have left it. LevelDB has no backup call and its LOCK keeps us from opening
//  the store, so this reads its files: tables never change once written, the manifest and the
//  write-ahead logs only grow. A copy is taken between two looks at CURRENT, the manifest's
//  size and the set of logs; if none changed, no flush or compaction ran in between and the copy
//  is whole (a log's last record may be cut: opening the copy drops it, as after a crash). If
//  one did, the changed files are copied again (tables already copied are kept), up to
//  RH_DB_COPY_ATTEMPTS times. Every file and the folder are fsynced. Returns 0, or -1 (logged).
#define RH_DB_COPY_ATTEMPTS 200
int rh_db_copy_live (const char *path, const char *dest);

//  True if the handle was opened by rh_db_open_readonly (its writes would go to the copy).
bool rh_db_readonly (rh_db_t *self);

//  Closes the database; uncommitted writes are dropped.
void rh_db_destroy (rh_db_t **self_p);

//  Reads a committed value. Returns 0 and a new buffer (free with free()), 1 if absent, or -1.
int rh_db_get (rh_db_t *self, const void *key, size_t key_size, uint8_t **value, size_t *size);

//  Reads a committed text value of 1 to max bytes into text (max + 1 bytes, NUL-terminated).
//  Returns true, or false if the key is absent or its value is empty or longer than max.
bool rh_db_get_text (rh_db_t *self, const char *key, char *text, size_t max);

//  True if key is present (committed).
bool rh_db_has (rh_db_t *self, const void *key, size_t key_size);

//  Adds a put or a delete to the pending batch.
void rh_db_put (rh_db_t *self, const void *key, size_t key_size, const void *value, size_t size);
void rh_db_delete (rh_db_t *self, const void *key, size_t key_size);

//  What this handle has written since it was opened: the write budget benchmarks report
//  (bytes are keys plus values as handed to LevelDB, before its own log and compactions;
//  commits are those that succeeded).
#define RH_DB_STATS_PREFIXES 24
//  Commits are also counted by batch size (writes) and by latency (seconds, as Prometheus
//  reports it): counts [i] fell at or below bounds [i], the last count above every bound.
#define RH_DB_BATCH_BUCKETS   7
#define RH_DB_LATENCY_BUCKETS 10
extern const double rh_db_batch_bounds [RH_DB_BATCH_BUCKETS];
extern const double rh_db_latency_bounds [RH_DB_LATENCY_BUCKETS];
typedef struct {
    uint64_t puts, deletes, put_bytes, commits, sync_commits;
    uint64_t batch_counts [RH_DB_BATCH_BUCKETS + 1];      //  commits by writes in the batch
    uint64_t batch_sum;                                   //  writes committed
    uint64_t latency_counts [RH_DB_LATENCY_BUCKETS + 1];  //  commits by time taken
    double latency_sum;                                   //  seconds spent committing
    uint64_t failed_commits;                              //  commits LevelDB refused
    size_t prefix_count;  //  rows below in use, by key prefix up to and including the first '/'
    struct {
        char prefix [8];
        uint64_t puts, deletes, bytes;
    } by_prefix [RH_DB_STATS_PREFIXES];
} rh_db_stats_t;
const rh_db_stats_t *rh_db_stats (rh_db_t *self);

//  Writes the statistics to the operator log: a total line, then one line per key prefix.
void rh_db_log_stats (rh_db_t *self, const char *who);

//  Number of writes in the pending batch.
size_t rh_db_pending (rh_db_t *self);

//  Writes the pending batch (durably when sync). Returns 0, or -1 (logged); on failure the
//  batch is dropped and nothing it held may be acknowledged.
int rh_db_commit (rh_db_t *self, bool sync);

//  Iterates keys starting with prefix, in order. Returns NULL on failure. An iterator that
//  meets a block it cannot read (checksum, missing table) stops there: rh_db_iter_valid turns
//  false, as at the end, and rh_db_iter_error says which it was. Every loop checks it.
rh_db_iter_t *rh_db_iter_new (rh_db_t *self, const void *prefix, size_t prefix_size);
//  As rh_db_iter_new, for one pass over many keys (a verifier's walk): checksums are verified as
//  for any read, but the blocks read are not kept in the block cache, where they would only
//  push out what lookups need again.
rh_db_iter_t *rh_db_scan_new (rh_db_t *self, const void *prefix, size_t prefix_size);
void rh_db_iter_destroy (rh_db_iter_t **self_p);
//  Positions at the first key >= key (within the prefix).
void rh_db_iter_seek (rh_db_iter_t *self, const void *key, size_t key_size);
//  Positions at the last key of the prefix.
void rh_db_iter_seek_last (rh_db_iter_t *self);
bool rh_db_iter_valid (rh_db_iter_t *self);
//  NULL if the iterator read everything it passed, else LevelDB's reason (borrowed, valid until
//  the iterator is destroyed). A failed iterator stays failed.
const char *rh_db_iter_error (rh_db_iter_t *self);
void rh_db_iter_next (rh_db_iter_t *self);
const uint8_t *rh_db_iter_key (rh_db_iter_t *self, size_t *size);
const uint8_t *rh_db_iter_value (rh_db_iter_t *self, size_t *size);

//  The sequence number at the end of a key "PREFIX<20 digits>" (queues and outboxes are kept in
//  such keys so that they sort in order), or UINT64_MAX if the key is not of that form.
uint64_t rh_db_key_sequence (const uint8_t *key, size_t size, size_t prefix_size);

#endif
