/*  =========================================================================
    rh_db - LevelDB with one pending write batch (group commit)
    =========================================================================
*/
#include "rh_lib.h"

//  Group commits batch 1 to RH_MAX_BATCH writes (a message is several); a synchronous commit
//  costs about 0.2 ms on an idle disk and much more on a busy one.
const double rh_db_batch_bounds [RH_DB_BATCH_BUCKETS] = { 1, 4, 16, 64, 256, 1024, 4096 };
const double rh_db_latency_bounds [RH_DB_LATENCY_BUCKETS] = { 0.0001, 0.00025, 0.0005, 0.001,
                                                              0.0025, 0.005,   0.01,   0.025,
                                                              0.1,    1 };

struct _rh_db_t {
    leveldb_t *db;  //  the database
    leveldb_options_t *options;
    leveldb_cache_t *cache;         //  block cache, bounded
    leveldb_filterpolicy_t *bloom;  //  makes "not seen before" lookups cheap
    leveldb_readoptions_t *read;
    leveldb_readoptions_t *scan;  //  as read, leaving the block cache alone (rh_db_scan_new)
    leveldb_writeoptions_t *sync_write;
    leveldb_writeoptions_t *async_write;
    leveldb_writebatch_t *batch;  //  pending writes
    size_t pending;               //  writes in batch
    rh_db_stats_t stats;          //  writes since open
    char *scratch;                //  read-only: the private copy LevelDB opened (removed on close)
};

//  The prefix is the caller's, of any length: lib keeps no product limit (those live in proto's
//  rh_limits.h, above lib), so the iterator holds a copy of its own size, followed by the 0xff
//  that rh_db_iter_seek_last seeks to.
struct _rh_db_iter_t {
    leveldb_iterator_t *iter;
    char *error;         //  LevelDB's reason once a block could not be read, else NULL
    size_t prefix_size;  //  bytes of prefix in use
    uint8_t prefix [];   //  the prefix, then 0xff
};

//  The handle and its options, LevelDB not yet opened. NULL on failure.
static rh_db_t *
s_new (void)
{
    rh_db_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->options = leveldb_options_create ();
    self->cache = leveldb_cache_create_lru (32 << 20);
    self->bloom = leveldb_filterpolicy_create_bloom (10);
    self->read = leveldb_readoptions_create ();
    self->scan = leveldb_readoptions_create ();
    self->sync_write = leveldb_writeoptions_create ();
    self->async_write = leveldb_writeoptions_create ();
    self->batch = leveldb_writebatch_create ();
    if (!self->options || !self->cache || !self->bloom || !self->read || !self->scan
        || !self->sync_write || !self->async_write || !self->batch)
        goto fail;
    leveldb_options_set_paranoid_checks (self->options, 1);
    leveldb_options_set_cache (self->options, self->cache);
    leveldb_options_set_filter_policy (self->options, self->bloom);
    leveldb_options_set_write_buffer_size (self->options, 16 << 20);
    leveldb_options_set_max_file_size (self->options, 8 << 20);
    //  Tables held open: a broker's store of a million referrals has ~500 tables of 8 MiB, and a
    //  table reopened per lookup reads its index and filter again (throughput fell with history).
    //  The broker's unit allows 8,192 descriptors and agents' 1,024; an agent's store is small.
    leveldb_options_set_max_open_files (self->options, 512);
    //  Records are mostly signatures, salts and digests, which do not compress: Snappy only
    //  cost CPU (6 % of the broker under load, measured with perf).
    leveldb_options_set_compression (self->options, leveldb_no_compression);
    leveldb_readoptions_set_verify_checksums (self->read, 1);
    leveldb_readoptions_set_verify_checksums (self->scan, 1);
    leveldb_readoptions_set_fill_cache (self->scan, 0);
    leveldb_writeoptions_set_sync (self->sync_write, 1);
    leveldb_writeoptions_set_sync (self->async_write, 0);
    return self;
fail:
    rh_db_destroy (&self);
    return NULL;
}

//  Opens LevelDB in folder path on a handle from s_new. Returns self, or NULL (self destroyed).
static rh_db_t *
s_open (rh_db_t *self, const char *path, const char *shown)
{
    char *error = NULL;
    self->db = leveldb_open (self->options, path, &error);
    if (!self->db) {
        rh_log_error ("db", "cannot open %s: %s", shown, error ? error : "unknown error");
        leveldb_free (error);
        rh_db_destroy (&self);
    }
    return self;
}

//  The process that holds the store's LOCK (LevelDB locks it with fcntl while open), or 0.
static pid_t
s_lock_holder (const char *path)
{
    char lock [PATH_MAX];
    if (rh_file_path (lock, sizeof lock, "%s/LOCK", path) != 0)
        return 0;
    return rh_file_lock_holder (lock);
}

rh_db_t *
rh_db_open (const char *path)
{
    assert (path);
    rh_db_t *self = s_new ();
    if (!self)
        return NULL;
    leveldb_options_set_create_if_missing (self->options, 1);
    //  LevelDB's own word for this is a raw lock error: name the process instead.
    pid_t holder = s_lock_holder (path);
    if (holder > 0) {
        rh_log_error ("db", "cannot open %s: process %ld holds it", path, (long) holder);
        rh_db_destroy (&self);
        return NULL;
    }
    return s_open (self, path, path);
}

//  Copies file from to to (a new file), in the kernel where it can (copy_file_range), else by
//  reading and writing. Returns 0 or -1.
static int
s_copy_file (const char *from, const char *to)
{
    int in = open (from, O_RDONLY | O_CLOEXEC);
    int out = in < 0 ? -1 : open (to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    int rc = in < 0 || out < 0 ? -1 : 0;
    bool kernel = true;
    char buffer [1 << 16];
    while (rc == 0) {
        ssize_t got = kernel ? copy_file_range (in, NULL, out, NULL, 1 << 30, 0) : -1;
        if (kernel && got < 0 && errno != EINTR) {
            kernel = false;  //  not on this file system: copy through user space
            if (lseek (in, 0, SEEK_SET) != 0 || lseek (out, 0, SEEK_SET) != 0
                || ftruncate (out, 0) != 0)
                rc = -1;
            continue;
        }
        if (!kernel)
            got = read (in, buffer, sizeof buffer);
        if (got == 0)
            break;
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            rc = -1;
        for (ssize_t done = 0; !kernel && got > 0 && done < got;) {
            ssize_t put = write (out, buffer + done, (size_t) (got - done));
            if (put < 0 && errno == EINTR)
                continue;
            if (put <= 0) {
                rc = -1;
                break;
            }
            done += put;
        }
    }
    if (in >= 0)
        close (in);
    if (out >= 0 && close (out) != 0)
        rc = -1;
    return rc;
}

//  The files of a LevelDB store a reader needs: CURRENT, manifests, write-ahead logs, tables
//  (table is set for those). Its LOCK and info LOG (LOG, LOG.old) are the writer's, and
//  anything else is not LevelDB's.
static bool
s_store_file (const char *name, bool *table)
{
    size_t length = strlen (name);
    const char *end = length > 4 ? name + length - 4 : "";
    *table = !strcmp (end, ".ldb") || !strcmp (end, ".sst");
    return *table || !strcmp (end, ".log") || !strcmp (name, "CURRENT")
           || !strncmp (name, "MANIFEST-", 9);
}

//  Removes the private copy: its files (LevelDB makes no sub-folders), then the folder.
static void
s_remove_scratch (const char *scratch)
{
    DIR *dir = opendir (scratch);
    struct dirent *entry;
    while (dir && (entry = readdir (dir))) {
        if (!strcmp (entry->d_name, ".") || !strcmp (entry->d_name, ".."))
            continue;
        char file [PATH_MAX];
        if (rh_file_path (file, sizeof file, "%s/%s", scratch, entry->d_name) == 0)
            unlink (file);
    }
    if (dir)
        closedir (dir);
    rmdir (scratch);
}

//  LevelDB's log format (doc/log_format.md), used by its write-ahead logs and its MANIFEST:
//  32 KiB blocks of records, each a 7-byte header (CRC, length, type) and its data; a record
//  never crosses a block, a block's last bytes too few for a header are zeros, and a logical
//  record is FULL, or FIRST, MIDDLE..., LAST.
#define S_LOG_BLOCK  32768
#define S_LOG_HEADER 7

//  Walks a log file's structure. LevelDB checks each record's CRC (paranoid checks make a bad
//  one fail the open) but, being built to survive a writer that died mid-write, it drops
//  without a word a record that runs past the end of the file, a header cut short there and a
//  fragmented record left unfinished: one flipped length or type byte near the end makes the
//  last records vanish. The broker syncs every commit that backs an acknowledgement, so a log
//  it wrote ends on a whole record; one that does not was damaged, or cut by a crash, and an
//  auditor cannot tell which records it held. Returns 0, or -1 with what is wrong in why.
static int
s_check_log (const char *path, char *why, size_t why_size)
{
    uint8_t *data = NULL;
    size_t size = 0;
    if (rh_file_read (path, SIZE_MAX / 2, &data, &size) != 0) {
        snprintf (why, why_size, "cannot be read: %s", strerror (errno));
        return -1;
    }
    size_t at = 0;
    bool fragment = false;
    int rc = 0;
    while (at < size && rc == 0) {
        size_t left = S_LOG_BLOCK - at % S_LOG_BLOCK;
        if (left < S_LOG_HEADER) {
            for (size_t i = at; i < at + left && i < size && rc == 0; i++)
                if (data [i]) {
                    snprintf (why, why_size, "a block's trailer is not zeros at byte %zu", i);
                    rc = -1;
                }
            at += left;
            continue;
        }
        if (size - at < S_LOG_HEADER) {
            snprintf (why, why_size, "ends inside a record header at byte %zu", at);
            rc = -1;
            break;
        }
        size_t length = (size_t) data [at + 4] | (size_t) data [at + 5] << 8;
        uint8_t type = data [at + 6];
        if (S_LOG_HEADER + length > left)
            snprintf (why, why_size, "a record at byte %zu runs past its block", at);
        else if (at + S_LOG_HEADER + length > size)
            snprintf (why, why_size, "a record at byte %zu runs past the end of the file", at);
        else if (type < 1 || type > 4)
            snprintf (why, why_size, "a record at byte %zu has no known type (%u)", at, type);
        else if ((type == 1 || type == 2) == fragment)
            snprintf (why, why_size, "a record at byte %zu breaks the order of fragments", at);
        else {
            fragment = type == 2 || type == 3;
            at += S_LOG_HEADER + length;
            continue;
        }
        rc = -1;
    }
    if (rc == 0 && fragment) {
        snprintf (why, why_size, "ends inside a record (its last fragment is missing)");
        rc = -1;
    }
    free (data);
    return rc;
}

//  Fills the private copy in scratch from the store in path (whose absolute name is real, for
//  the tables' links). Returns 0 or -1 (logged).
static int
s_copy_store (const char *path, const char *real, const char *scratch)
{
    DIR *dir = opendir (path);
    if (!dir) {
        rh_log_error ("db", "cannot read the folder %s: %s", path, strerror (errno));
        return -1;
    }
    int rc = 0;
    struct dirent *entry;
    while (rc == 0 && (entry = readdir (dir))) {
        char from [PATH_MAX], to [PATH_MAX], linked [PATH_MAX], target [PATH_MAX];
        struct stat info;
        bool table = false;
        if (!s_store_file (entry->d_name, &table))
            continue;
        //  A table is linked, not copied (a store can be gigabytes), under its old-style name
        //  NNNNNN.sst, which LevelDB falls back to when NNNNNN.ldb is absent but never creates:
        //  it makes its own tables as .ldb with O_TRUNC, and a number it reuses (a table a
        //  crashed writer had not finished) would otherwise truncate the original through the
        //  link. LevelDB only ever reads a table, and removing a link leaves the original.
        //  The link is symbolic: it leaves the original's inode as it was (a hard link changes
        //  its link count and ctime) and works from any file system, a read-only one included,
        //  where a hard link fails and the table would have been copied.
        size_t stem = strlen (entry->d_name) - 4;
        if (rh_file_path (from, sizeof from, "%s/%s", path, entry->d_name) != 0
            || rh_file_path (to, sizeof to, "%s/%s", scratch, entry->d_name) != 0
            || rh_file_path (linked, sizeof linked, "%s/%.*s.sst", scratch, (int) stem,
                             entry->d_name)
                   != 0
            || rh_file_path (target, sizeof target, "%s/%s", real, entry->d_name) != 0
            || lstat (from, &info) != 0 || !S_ISREG (info.st_mode)) {
            rh_log_error ("db", "%s/%s is not a plain file", path, entry->d_name);
            rc = -1;
            continue;
        }
        if (table && symlink (target, linked) == 0)
            continue;
        char why [160] = "";
        if (!table && strcmp (entry->d_name, "CURRENT") != 0
            && s_check_log (from, why, sizeof why) != 0) {
            rh_log_error ("db", "%s/%s is damaged: %s", path, entry->d_name, why);
            rc = -1;
        }
        else if (s_copy_file (from, to) != 0) {
            rh_log_error ("db", "cannot copy %s/%s for reading: %s", path, entry->d_name,
                          strerror (errno));
            rc = -1;
        }
    }
    closedir (dir);
    return rc;
}

pid_t
rh_db_lock_holder (const char *path)
{
    assert (path);
    return s_lock_holder (path);
}

rh_db_t *
rh_db_open_readonly (const char *path)
{
    assert (path);
    struct stat info;
    char current [PATH_MAX];
    if (stat (path, &info) != 0 || !S_ISDIR (info.st_mode)) {
        rh_log_error ("db", "%s: no such folder", path);
        return NULL;
    }
    if (rh_file_path (current, sizeof current, "%s/CURRENT", path) != 0
        || stat (current, &info) != 0 || !S_ISREG (info.st_mode)) {
        rh_log_error ("db", "%s holds no LevelDB store (no CURRENT file)", path);
        return NULL;
    }
    if (s_lock_holder (path)) {
        rh_log_error ("db",
                      "%s is in use by another process (its LOCK is held): stop the broker, "
                      "or read a copy taken while it was stopped",
                      path);
        return NULL;
    }
    rh_db_t *self = s_new ();
    if (!self)
        return NULL;
    const char *tmp = getenv ("TMPDIR");
    char scratch [PATH_MAX];
    if (rh_file_path (scratch, sizeof scratch, "%s/rhannu-db-XXXXXX", tmp && *tmp ? tmp : "/tmp")
            != 0
        || !mkdtemp (scratch) || !(self->scratch = strdup (scratch))) {
        rh_log_error ("db", "cannot make a folder for a private copy of %s: %s", path,
                      strerror (errno));
        rh_db_destroy (&self);
        return NULL;
    }
    char *real = realpath (path, NULL);
    if (!real)
        rh_log_error ("db", "cannot resolve %s: %s", path, strerror (errno));
    if (!real || s_copy_store (path, real, self->scratch) != 0) {
        free (real);
        rh_db_destroy (&self);
        return NULL;
    }
    free (real);
    leveldb_options_set_create_if_missing (self->options, 0);
    return s_open (self, self->scratch, path);
}

//  What changes in a store when LevelDB flushes, compacts or starts a new log: CURRENT (the
//  manifest's name), the manifest's size, and the names of the logs. Two equal looks at it
//  bracket a time when no table was added or removed.
typedef struct {
    char current [64];
    off_t manifest_size;
    char logs [512];  //  the logs' names, sorted; a store has one or two
} s_look_t;

static int
s_name_compare (const void *a, const void *b)
{
    return strcmp (*(char *const *) a, *(char *const *) b);
}

//  Looks at the store in path. Returns 0, or -1 if it holds no readable store.
static int
s_look (const char *path, s_look_t *look)
{
    memset (look, 0, sizeof *look);
    char file [PATH_MAX];
    uint8_t *current = NULL;
    size_t size = 0;
    if (rh_file_path (file, sizeof file, "%s/CURRENT", path) != 0
        || rh_file_read (file, sizeof look->current - 1, &current, &size) != 0)
        return -1;
    memcpy (look->current, current, size);
    free (current);
    look->current [strcspn (look->current, "\n")] = 0;
    struct stat info;
    if (strncmp (look->current, "MANIFEST-", 9) != 0
        || rh_file_path (file, sizeof file, "%s/%s", path, look->current) != 0
        || stat (file, &info) != 0)
        return -1;
    look->manifest_size = info.st_size;
    DIR *dir = opendir (path);
    if (!dir)
        return -1;
    char *names [16];
    size_t count = 0;
    struct dirent *entry;
    while ((entry = readdir (dir))) {
        size_t length = strlen (entry->d_name);
        if (length > 4 && !strcmp (entry->d_name + length - 4, ".log") && count < 16)
            names [count++] = strdup (entry->d_name);
    }
    closedir (dir);
    qsort (names, count, sizeof names [0], s_name_compare);
    int rc = 0;
    for (size_t i = 0; i < count; i++) {
        if (!names [i] || strlen (look->logs) + strlen (names [i]) + 2 > sizeof look->logs)
            rc = -1;
        else {
            strcat (look->logs, names [i]);
            strcat (look->logs, " ");
        }
        free (names [i]);
    }
    return rc;
}

//  fsyncs a file or folder. Returns 0 or -1.
static int
s_sync (const char *path)
{
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    int rc = fd >= 0 && fsync (fd) == 0 ? 0 : -1;
    if (fd >= 0)
        close (fd);
    return rc;
}

//  One pass over the store: copies every store file into dest but the tables dest already has
//  whole (same size: a table is never rewritten). Returns 0, 1 if a file went away while it was
//  copied (a compaction removed it: try again), or -1 (logged).
static int
s_copy_pass (const char *path, const char *dest)
{
    DIR *dir = opendir (path);
    if (!dir) {
        rh_log_error ("db", "cannot read the folder %s: %s", path, strerror (errno));
        return -1;
    }
    int rc = 0;
    struct dirent *entry;
    while (rc == 0 && (entry = readdir (dir))) {
        char from [PATH_MAX], to [PATH_MAX];
        struct stat source, copy;
        bool table = false;
        if (!s_store_file (entry->d_name, &table))
            continue;
        if (rh_file_path (from, sizeof from, "%s/%s", path, entry->d_name) != 0
            || rh_file_path (to, sizeof to, "%s/%s", dest, entry->d_name) != 0) {
            rc = -1;
            break;
        }
        if (lstat (from, &source) != 0) {
            rc = errno == ENOENT ? 1 : -1;
            continue;
        }
        if (table && lstat (to, &copy) == 0 && copy.st_size == source.st_size)
            continue;
        unlink (to);
        if (s_copy_file (from, to) != 0)
            rc = errno == ENOENT ? 1 : -1;
    }
    closedir (dir);
    if (rc < 0)
        rh_log_error ("db", "cannot copy %s into %s: %s", path, dest, strerror (errno));
    return rc;
}

//  fsyncs every store file in dest and the folder. Files an earlier pass left that the copied
//  manifest does not name (an older log or manifest, a table a compaction later removed) stay:
//  LevelDB removes them when the copy is first opened. Returns 0 or -1 (logged).
static int
s_settle_copy (const char *dest)
{
    DIR *dir = opendir (dest);
    if (!dir)
        return -1;
    int rc = 0;
    struct dirent *entry;
    while ((entry = readdir (dir))) {
        char to [PATH_MAX];
        bool table = false;
        if (!s_store_file (entry->d_name, &table)
            || rh_file_path (to, sizeof to, "%s/%s", dest, entry->d_name) != 0)
            continue;
        if (s_sync (to) != 0)
            rc = -1;
    }
    closedir (dir);
    if (rc == 0)
        rc = s_sync (dest);
    if (rc != 0)
        rh_log_error ("db", "cannot make the copy in %s durable: %s", dest, strerror (errno));
    return rc;
}

int
rh_db_copy_live (const char *path, const char *dest)
{
    assert (path && dest);
    s_look_t before, after;
    if (s_look (path, &before) != 0) {
        rh_log_error ("db", "%s holds no LevelDB store (no readable CURRENT and manifest)", path);
        return -1;
    }
    //  Only a new or empty folder: a table left there by something else could carry the name
    //  and size of one of ours, and would be kept as if copied.
    DIR *existing = opendir (dest);
    struct dirent *entry;
    bool empty = true;
    while (existing && (entry = readdir (existing)))
        empty = empty && (!strcmp (entry->d_name, ".") || !strcmp (entry->d_name, ".."));
    if (existing)
        closedir (existing);
    if (!empty) {
        rh_log_error ("db", "%s is not empty: give a new folder for the copy", dest);
        return -1;
    }
    if (rh_file_mkdir (dest, 0700) != 0) {
        rh_log_error ("db", "cannot make the folder %s: %s", dest, strerror (errno));
        return -1;
    }
    for (int attempt = 0; attempt < RH_DB_COPY_ATTEMPTS; attempt++) {
        if (attempt > 0) {
            //  A flush or compaction ran: let it finish before looking again.
            struct timespec pause = { 0, (attempt < 10 ? attempt : 10) * 10 * 1000000L };
            nanosleep (&pause, NULL);
            if (s_look (path, &before) != 0)
                continue;
        }
        int rc = s_copy_pass (path, dest);
        if (rc < 0)
            return -1;
        if (rc == 0 && s_look (path, &after) == 0 && !strcmp (before.current, after.current)
            && before.manifest_size == after.manifest_size && !strcmp (before.logs, after.logs))
            return s_settle_copy (dest);
    }
    rh_log_error ("db", "%s kept changing: no steady copy in %d attempts", path,
                  RH_DB_COPY_ATTEMPTS);
    return -1;
}

bool
rh_db_readonly (rh_db_t *self)
{
    assert (self);
    return self->scratch != NULL;
}

void
rh_db_destroy (rh_db_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        rh_db_t *self = *self_p;
        if (self->db)
            leveldb_close (self->db);
        if (self->scratch)
            s_remove_scratch (self->scratch);
        free (self->scratch);
        if (self->batch)
            leveldb_writebatch_destroy (self->batch);
        if (self->read)
            leveldb_readoptions_destroy (self->read);
        if (self->scan)
            leveldb_readoptions_destroy (self->scan);
        if (self->sync_write)
            leveldb_writeoptions_destroy (self->sync_write);
        if (self->async_write)
            leveldb_writeoptions_destroy (self->async_write);
        if (self->options)
            leveldb_options_destroy (self->options);
        if (self->bloom)
            leveldb_filterpolicy_destroy (self->bloom);
        if (self->cache)
            leveldb_cache_destroy (self->cache);
        free (self);
        *self_p = NULL;
    }
}

int
rh_db_get (rh_db_t *self, const void *key, size_t key_size, uint8_t **value, size_t *size)
{
    assert (self && key && value && size);
    char *error = NULL;
    size_t length = 0;
    char *found = leveldb_get (self->db, self->read, key, key_size, &length, &error);
    if (error) {
        rh_log_error ("db", "read failed: %s", error);
        leveldb_free (error);
        return -1;
    }
    if (!found)
        return 1;
    *value = malloc (length ? length : 1);
    if (!*value) {
        leveldb_free (found);
        return -1;
    }
    memcpy (*value, found, length);
    *size = length;
    leveldb_free (found);
    return 0;
}

bool
rh_db_has (rh_db_t *self, const void *key, size_t key_size)
{
    uint8_t *value = NULL;
    size_t size = 0;
    int rc = rh_db_get (self, key, key_size, &value, &size);
    free (value);
    return rc == 0;
}

bool
rh_db_get_text (rh_db_t *self, const char *key, char *text, size_t max)
{
    assert (self && key && text);
    uint8_t *value = NULL;
    size_t size = 0;
    if (rh_db_get (self, key, strlen (key), &value, &size) != 0)
        return false;
    bool found = size > 0 && size <= max;  //  stored data is checked like any other input
    if (found) {
        memcpy (text, value, size);
        text [size] = 0;
    }
    free (value);
    return found;
}

//  Counts a write in the totals and in the row of its key prefix (up to and including the first
//  '/'); prefixes past the table's size count in the totals only.
static void
s_count (rh_db_t *self, const void *key, size_t key_size, bool put, size_t bytes)
{
    rh_db_stats_t *stats = &self->stats;
    if (put) {
        stats->puts++;
        stats->put_bytes += bytes;
    }
    else
        stats->deletes++;
    char prefix [8] = "";
    size_t length = 0;
    const char *text = key;
    while (length < key_size && length < sizeof prefix - 1) {
        prefix [length] = text [length];
        if (text [length++] == '/')
            break;
    }
    prefix [length] = 0;
    size_t row = 0;
    while (row < stats->prefix_count && strcmp (stats->by_prefix [row].prefix, prefix) != 0)
        row++;
    if (row == stats->prefix_count) {
        if (row == RH_DB_STATS_PREFIXES)
            return;
        memcpy (stats->by_prefix [row].prefix, prefix, sizeof prefix);
        stats->prefix_count++;
    }
    if (put) {
        stats->by_prefix [row].puts++;
        stats->by_prefix [row].bytes += bytes;
    }
    else
        stats->by_prefix [row].deletes++;
}

void
rh_db_put (rh_db_t *self, const void *key, size_t key_size, const void *value, size_t size)
{
    assert (self && key && (value || size == 0));
    leveldb_writebatch_put (self->batch, key, key_size, value ? value : "", size);
    self->pending++;
    s_count (self, key, key_size, true, key_size + size);
}

void
rh_db_delete (rh_db_t *self, const void *key, size_t key_size)
{
    assert (self && key);
    leveldb_writebatch_delete (self->batch, key, key_size);
    self->pending++;
    s_count (self, key, key_size, false, 0);
}

const rh_db_stats_t *
rh_db_stats (rh_db_t *self)
{
    assert (self);
    return &self->stats;
}

void
rh_db_log_stats (rh_db_t *self, const char *who)
{
    assert (self && who);
    const rh_db_stats_t *stats = &self->stats;
    rh_log_info (who,
                 "db writes: total %" PRIu64 " puts %" PRIu64 " deletes %" PRIu64 " bytes; %" PRIu64
                 " commits, %" PRIu64 " synchronous",
                 stats->puts, stats->deletes, stats->put_bytes, stats->commits,
                 stats->sync_commits);
    for (size_t i = 0; i < stats->prefix_count; i++)
        rh_log_info (who, "db writes: %s %" PRIu64 " puts %" PRIu64 " deletes %" PRIu64 " bytes",
                     stats->by_prefix [i].prefix, stats->by_prefix [i].puts,
                     stats->by_prefix [i].deletes, stats->by_prefix [i].bytes);
}

size_t
rh_db_pending (rh_db_t *self)
{
    assert (self);
    return self->pending;
}

int
rh_db_commit (rh_db_t *self, bool sync)
{
    assert (self);
    if (self->pending == 0)
        return 0;
    char *error = NULL;
    size_t batch = self->pending;
    struct timespec start, end;
    clock_gettime (CLOCK_MONOTONIC, &start);
    leveldb_write (self->db, sync ? self->sync_write : self->async_write, self->batch, &error);
    clock_gettime (CLOCK_MONOTONIC, &end);
    leveldb_writebatch_clear (self->batch);
    self->pending = 0;
    if (error) {
        rh_log_error ("db", "write failed: %s", error);
        leveldb_free (error);
        self->stats.failed_commits++;
        return -1;
    }
    double seconds =
        (double) (end.tv_sec - start.tv_sec) + (double) (end.tv_nsec - start.tv_nsec) / 1e9;
    size_t bucket = 0;
    while (bucket < RH_DB_BATCH_BUCKETS && (double) batch > rh_db_batch_bounds [bucket])
        bucket++;
    self->stats.batch_counts [bucket]++;
    self->stats.batch_sum += batch;
    bucket = 0;
    while (bucket < RH_DB_LATENCY_BUCKETS && seconds > rh_db_latency_bounds [bucket])
        bucket++;
    self->stats.latency_counts [bucket]++;
    self->stats.latency_sum += seconds;
    self->stats.commits++;  //  only what is in the database: callers watch this count
    self->stats.sync_commits += sync;
    return 0;
}

//  An iterator over prefix with read options.
static rh_db_iter_t *
s_iter_new (rh_db_t *self, leveldb_readoptions_t *options, const void *prefix, size_t prefix_size)
{
    assert (self && prefix);
    rh_db_iter_t *iter = calloc (1, sizeof *iter + prefix_size + 1);
    if (!iter)
        return NULL;
    iter->iter = leveldb_create_iterator (self->db, options);
    if (!iter->iter) {
        free (iter);
        return NULL;
    }
    memcpy (iter->prefix, prefix, prefix_size);
    iter->prefix [prefix_size] = 0xff;
    iter->prefix_size = prefix_size;
    leveldb_iter_seek (iter->iter, prefix, prefix_size);
    return iter;
}

rh_db_iter_t *
rh_db_iter_new (rh_db_t *self, const void *prefix, size_t prefix_size)
{
    return s_iter_new (self, self->read, prefix, prefix_size);
}

rh_db_iter_t *
rh_db_scan_new (rh_db_t *self, const void *prefix, size_t prefix_size)
{
    return s_iter_new (self, self->scan, prefix, prefix_size);
}

void
rh_db_iter_destroy (rh_db_iter_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        leveldb_iter_destroy ((*self_p)->iter);
        leveldb_free ((*self_p)->error);
        free (*self_p);
        *self_p = NULL;
    }
}

void
rh_db_iter_seek (rh_db_iter_t *self, const void *key, size_t key_size)
{
    leveldb_iter_seek (self->iter, key, key_size);
}

void
rh_db_iter_seek_last (rh_db_iter_t *self)
{
    //  Seek just past the prefix (prefix + 0xff...) and step back.
    leveldb_iter_seek (self->iter, (const char *) self->prefix, self->prefix_size + 1);
    if (leveldb_iter_valid (self->iter))
        leveldb_iter_prev (self->iter);
    else
        leveldb_iter_seek_to_last (self->iter);
}

//  LevelDB's iterator passes over a block it cannot read and only its status says so: the
//  status is asked at every step, so that no walk goes on past a gap as if it were not there.
bool
rh_db_iter_valid (rh_db_iter_t *self)
{
    if (self->error)
        return false;
    leveldb_iter_get_error (self->iter, &self->error);
    if (self->error || !leveldb_iter_valid (self->iter))
        return false;
    size_t size = 0;
    const char *key = leveldb_iter_key (self->iter, &size);
    return size >= self->prefix_size && memcmp (key, self->prefix, self->prefix_size) == 0;
}

const char *
rh_db_iter_error (rh_db_iter_t *self)
{
    assert (self);
    if (!self->error)
        leveldb_iter_get_error (self->iter, &self->error);
    return self->error;
}

void
rh_db_iter_next (rh_db_iter_t *self)
{
    leveldb_iter_next (self->iter);
}

const uint8_t *
rh_db_iter_key (rh_db_iter_t *self, size_t *size)
{
    return (const uint8_t *) leveldb_iter_key (self->iter, size);
}

const uint8_t *
rh_db_iter_value (rh_db_iter_t *self, size_t *size)
{
    return (const uint8_t *) leveldb_iter_value (self->iter, size);
}

uint64_t
rh_db_key_sequence (const uint8_t *key, size_t size, size_t prefix_size)
{
    if (!key || size != prefix_size + 20)
        return UINT64_MAX;
    uint64_t value = 0;
    for (size_t i = prefix_size; i < size; i++) {
        if (key [i] < '0' || key [i] > '9')
            return UINT64_MAX;
        value = value * 10 + (uint64_t) (key [i] - '0');
    }
    return value;
}
