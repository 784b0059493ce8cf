/*  =========================================================================
    rh_pruner - forgets the agent's small per-message records once they are
    no longer needed (see rh_pruner.h)
    =========================================================================
*/
#include "rh_agent_classes.h"

#define RH_PRUNER_STAMP_LEN 8
#define RH_PRUNER_CURSOR    (NAME_MAX + RH_MAX_ID + 8)  //  longer than any key the agent writes

//  The kinds of record a pass walks, in this order (one iterator each). f/ comes first: its
//  records are the only ones that need a look at the file system.
static const char *const s_prefixes [] = { "f/", "h/", "i/" };
#define RH_PRUNER_PREFIXES (sizeof s_prefixes / sizeof s_prefixes [0])

struct _rh_pruner_t {
    rh_db_t *db;                  //  borrowed: the agent's store
    char agency [RH_MAX_ID + 1];  //  names the log lines
    char outbox [PATH_MAX];       //  where spool files wait: an f/ record stays while its file does
    int64_t keep_ms;              //  i/ and h/ records live this long
    int64_t guard_ms;             //  f/ records live at least this long
    bool in_pass;                 //  a pass is under way
    int64_t next_pass_ms;         //  when the next pass may begin
    size_t stage;                 //  the prefix the pass is at (index into s_prefixes)
    uint8_t cursor [RH_PRUNER_CURSOR];  //  the last key looked at in that prefix
    size_t cursor_size;                 //  0: none yet (the prefix starts from its first key)
    uint64_t pass_kept;                 //  records this pass kept so far
    uint64_t pass_pruned [RH_PRUNER_PREFIXES];  //  and deleted, by prefix
    uint64_t pass_dated;                        //  undated records it dated
    uint64_t kept;                              //  what the last complete pass kept
    uint64_t pruned;                            //  deleted since start
    uint64_t passes;                            //  passes completed since start
};

size_t
rh_pruner_value (uint8_t out [RH_PRUNER_VALUE_MAX], const uint8_t *digest, int64_t now_ms)
{
    assert (out);
    size_t size = 0;
    if (digest) {
        memcpy (out, digest, RH_DIGEST_LEN);
        size = RH_DIGEST_LEN;
    }
    uint64_t stamp = now_ms > 0 ? (uint64_t) now_ms : 0;
    for (int i = RH_PRUNER_STAMP_LEN - 1; i >= 0; i--, stamp >>= 8)
        out [size + (size_t) i] = (uint8_t) stamp;
    return size + RH_PRUNER_STAMP_LEN;
}

const uint8_t *
rh_pruner_digest (const uint8_t *value, size_t size)
{
    //  32 bytes: written before records were dated; 40: dated.
    if (value && (size == RH_DIGEST_LEN || size == RH_DIGEST_LEN + RH_PRUNER_STAMP_LEN))
        return value;
    return NULL;
}

bool
rh_pruner_stamp (const uint8_t *value, size_t size, int64_t *ms)
{
    assert (ms);
    if (!value || (size != RH_PRUNER_STAMP_LEN && size != RH_DIGEST_LEN + RH_PRUNER_STAMP_LEN))
        return false;
    uint64_t stamp = 0;
    for (size_t i = size - RH_PRUNER_STAMP_LEN; i < size; i++)
        stamp = stamp << 8 | value [i];
    if (stamp > INT64_MAX)
        return false;
    *ms = (int64_t) stamp;
    return true;
}

rh_pruner_t *
rh_pruner_new (rh_db_t *db, const char *agency, const char *outbox, int64_t keep_ms,
               int64_t guard_ms)
{
    assert (db && agency && outbox);
    rh_pruner_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->db = db;
    snprintf (self->agency, sizeof self->agency, "%s", agency);
    snprintf (self->outbox, sizeof self->outbox, "%s", outbox);
    self->keep_ms = keep_ms;
    self->guard_ms = guard_ms;
    return self;
}

void
rh_pruner_destroy (rh_pruner_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}

//  True unless the spool file named by an f/ key is certainly gone from outbox/: a record stays
//  while its file may still be taken (or come back after a power cut).
static bool
s_file_present (rh_pruner_t *self, const uint8_t *key, size_t key_size)
{
    char name [NAME_MAX + 1], path [PATH_MAX];
    size_t length = key_size - 2;
    if (length == 0 || length > NAME_MAX)
        return false;  //  names no file we could take
    memcpy (name, key + 2, length);
    name [length] = 0;
    if (memchr (name, 0, length) || strchr (name, '/'))
        return false;
    if (rh_file_path (path, sizeof path, "%s/%s", self->outbox, name) != 0)
        return true;
    struct stat st;
    return lstat (path, &st) == 0 || errno != ENOENT;
}

//  Flushes outbox/'s names, so that a file's removal seen now survives a power cut before the
//  record that would recognise it is deleted. Returns 0 or -1.
static int
s_flush_outbox (rh_pruner_t *self)
{
    int fd = open (self->outbox, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync (fd);
    close (fd);
    return rc;
}

//  Decides one record: dates it if undated, deletes it if its time is up, else keeps it.
static void
s_look (rh_pruner_t *self, const uint8_t *key, size_t key_size, const uint8_t *value, size_t size,
        int64_t now_ms, bool *flushed)
{
    int64_t stamp = 0;
    if (!rh_pruner_stamp (value, size, &stamp)) {
        //  Written before records were dated: it counts from now (never forgotten early).
        uint8_t dated [RH_PRUNER_VALUE_MAX];
        size_t dated_size = rh_pruner_value (dated, rh_pruner_digest (value, size), now_ms);
        rh_db_put (self->db, key, key_size, dated, dated_size);
        self->pass_dated++;
        self->pass_kept++;
        return;
    }
    bool spool = self->stage == 0;
    int64_t life = spool ? self->guard_ms : self->keep_ms;
    if (stamp > now_ms - life) {
        self->pass_kept++;  //  recent (or dated ahead of a clock that went back)
        return;
    }
    if (spool) {
        if (s_file_present (self, key, key_size) || (!*flushed && s_flush_outbox (self) != 0)) {
            self->pass_kept++;
            return;
        }
        *flushed = true;
    }
    rh_db_delete (self->db, key, key_size);
    self->pass_pruned [self->stage]++;
    self->pruned++;
}

//  Ends a pass: what it kept becomes the figure reported, and what it forgot is logged (counts
//  only: keys name messages and spool files).
static void
s_end_pass (rh_pruner_t *self)
{
    self->in_pass = false;
    self->kept = self->pass_kept;
    self->passes++;
    uint64_t pruned = 0;
    for (size_t i = 0; i < RH_PRUNER_PREFIXES; i++)
        pruned += self->pass_pruned [i];
    if (pruned || self->pass_dated)
        rh_log_info (self->agency,
                     "retention: forgot %" PRIu64 " records (spool files %" PRIu64
                     ", invitations %" PRIu64 ", arrivals %" PRIu64 "), dated %" PRIu64
                     " older ones, kept %" PRIu64,
                     pruned, self->pass_pruned [0], self->pass_pruned [1], self->pass_pruned [2],
                     self->pass_dated, self->pass_kept);
}

size_t
rh_pruner_step (rh_pruner_t *self, int64_t now_ms, size_t budget)
{
    assert (self);
    if (!self->in_pass) {
        if (now_ms < self->next_pass_ms)
            return 0;
        self->in_pass = true;
        self->next_pass_ms = now_ms + RH_PRUNER_PASS_MS;
        self->stage = 0;
        self->cursor_size = 0;
        self->pass_kept = self->pass_dated = 0;
        memset (self->pass_pruned, 0, sizeof self->pass_pruned);
    }
    size_t looked = 0;
    bool flushed = false;
    while (looked < budget && self->stage < RH_PRUNER_PREFIXES) {
        const char *prefix = s_prefixes [self->stage];
        rh_db_iter_t *iter = rh_db_iter_new (self->db, prefix, strlen (prefix));
        if (!iter)
            return looked;  //  tried again next step
        if (self->cursor_size) {
            rh_db_iter_seek (iter, self->cursor, self->cursor_size);
            size_t size = 0;
            const uint8_t *key = rh_db_iter_valid (iter) ? rh_db_iter_key (iter, &size) : NULL;
            if (key && size == self->cursor_size && memcmp (key, self->cursor, size) == 0)
                rh_db_iter_next (iter);
        }
        bool too_long = false;
        for (; looked < budget && rh_db_iter_valid (iter); rh_db_iter_next (iter), looked++) {
            size_t key_size = 0, size = 0;
            const uint8_t *key = rh_db_iter_key (iter, &key_size);
            const uint8_t *value = rh_db_iter_value (iter, &size);
            if (NEVER (key_size > sizeof self->cursor)) {
                too_long = true;  //  no key of ours: the rest of this prefix waits a pass
                break;
            }
            memcpy (self->cursor, key, key_size);
            self->cursor_size = key_size;
            s_look (self, key, key_size, value, size, now_ms, &flushed);
        }
        const char *error = rh_db_iter_error (iter);
        bool done = too_long || error || !rh_db_iter_valid (iter);
        if (error)
            rh_log_warn (self->agency, "retention: cannot read the store (%s); tried next pass",
                         error);
        rh_db_iter_destroy (&iter);
        if (!done)
            break;
        self->stage++;
        self->cursor_size = 0;
    }
    if (self->stage >= RH_PRUNER_PREFIXES)
        s_end_pass (self);
    return looked;
}

uint64_t
rh_pruner_kept (rh_pruner_t *self)
{
    assert (self);
    return self->kept;
}

uint64_t
rh_pruner_pruned (rh_pruner_t *self)
{
    assert (self);
    return self->pruned;
}

uint64_t
rh_pruner_passes (rh_pruner_t *self)
{
    assert (self);
    return self->passes;
}
