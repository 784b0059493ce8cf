/*  =========================================================================
    test_rh_db - the read-only open the auditor's tools use, and checked reads
    =========================================================================
*/
#include "test_helpers.h"

//  The names and bytes of every file in dir, in one text (names sorted by readdir order is not
//  stable, so each file is hashed into a sum over names): what "unchanged" means here.
static uint64_t
s_fingerprint (const char *dir, size_t *files)
{
    uint64_t sum = 0;
    *files = 0;
    DIR *handle = opendir (dir);
    struct dirent *entry;
    while (handle && (entry = readdir (handle))) {
        if (!strcmp (entry->d_name, ".") || !strcmp (entry->d_name, ".."))
            continue;
        char path [PATH_MAX];
        rh_file_path (path, sizeof path, "%s/%s", dir, entry->d_name);
        uint8_t *data = NULL;
        size_t size = 0;
        uint64_t hash = 1469598103934665603ull;
        for (const char *c = entry->d_name; *c; c++)
            hash = (hash ^ (uint8_t) *c) * 1099511628211ull;
        if (rh_file_read (path, 1 << 26, &data, &size) == 0)
            for (size_t i = 0; i < size; i++)
                hash = (hash ^ data [i]) * 1099511628211ull;
        free (data);
        sum += hash;
        (*files)++;
    }
    if (handle)
        closedir (handle);
    return sum;
}

//  A store of count keys "k/<n>" with 100-byte values, its log turned into a table (a second
//  open recovers the write-ahead log into one).
static void
s_make_store (const char *dir, int count)
{
    rh_db_t *db = rh_db_open (dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL (db);
    char value [100];
    memset (value, 'v', sizeof value);
    for (int i = 0; i < count; i++) {
        char key [32];
        snprintf (key, sizeof key, "k/%08d", i);
        rh_db_put (db, key, strlen (key), value, sizeof value);
    }
    CU_ASSERT_EQUAL (rh_db_commit (db, true), 0);
    rh_db_destroy (&db);
    db = rh_db_open (dir);
    rh_db_destroy (&db);
}

static void
test_a_missing_empty_or_foreign_folder_is_refused_and_left_alone (void)
{
    char dir [PATH_MAX], missing [PATH_MAX];
    test_tempdir (dir, sizeof dir);
    rh_file_path (missing, sizeof missing, "%s/no-such-store", dir);
    CU_ASSERT_PTR_NULL (rh_db_open_readonly (missing));
    CU_ASSERT_FALSE (rh_file_exists (missing));
    size_t files = 0;
    uint64_t before = s_fingerprint (dir, &files);
    CU_ASSERT_PTR_NULL (rh_db_open_readonly (dir));  //  empty
    size_t after_files = 0;
    CU_ASSERT_EQUAL (s_fingerprint (dir, &after_files), before);
    CU_ASSERT_EQUAL (after_files, 0);
    char file [PATH_MAX];
    rh_file_path (file, sizeof file, "%s/notes.txt", dir);
    CU_ASSERT_EQUAL (rh_file_write_atomic (file, "not a store", 11, 0600), 0);
    before = s_fingerprint (dir, &files);
    CU_ASSERT_PTR_NULL (rh_db_open_readonly (dir));
    CU_ASSERT_PTR_NULL (rh_db_open_readonly (file));  //  not a folder
    CU_ASSERT_EQUAL (s_fingerprint (dir, &after_files), before);
    CU_ASSERT_EQUAL (after_files, files);
}

static void
test_a_store_is_read_without_a_byte_of_it_changing (void)
{
    char dir [PATH_MAX];
    test_tempdir (dir, sizeof dir);
    s_make_store (dir, 500);
    //  Writes left in the write-ahead log, which an ordinary open would turn into a table.
    rh_db_t *db = rh_db_open (dir);
    rh_db_put (db, "k/late", 6, "in the log", 10);
    CU_ASSERT_EQUAL (rh_db_commit (db, true), 0);
    rh_db_destroy (&db);
    //  Tables a crashed writer left unfinished, under numbers LevelDB will give its own new files
    //  (the write-ahead log it recovers, the manifest it writes): they must stay as they were.
    for (int number = 1; number < 40; number++) {
        char table [PATH_MAX];
        rh_file_path (table, sizeof table, "%s/%06d.ldb", dir, number);
        if (!rh_file_exists (table))
            CU_ASSERT_EQUAL (rh_file_write_atomic (table, "unfinished", 10, 0644), 0);
    }
    size_t files = 0, after_files = 0;
    uint64_t before = s_fingerprint (dir, &files);
    db = rh_db_open_readonly (dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL (db);
    CU_ASSERT_TRUE (rh_db_readonly (db));
    char text [16];
    CU_ASSERT_TRUE (rh_db_get_text (db, "k/late", text, sizeof text - 1));
    CU_ASSERT_STRING_EQUAL (text, "in the log");
    rh_db_iter_t *iter = rh_db_iter_new (db, "k/", 2);
    int count = 0;
    for (; rh_db_iter_valid (iter); rh_db_iter_next (iter))
        count++;
    CU_ASSERT_EQUAL (count, 501);
    CU_ASSERT_PTR_NULL (rh_db_iter_error (iter));
    rh_db_iter_destroy (&iter);
    rh_db_destroy (&db);
    CU_ASSERT_EQUAL (s_fingerprint (dir, &after_files), before);
    CU_ASSERT_EQUAL (after_files, files);
}

//  What a standby broker waits on: the lock is seen while another process holds the store, and
//  is gone the moment that process is killed with -9 (the kernel drops fcntl locks).
static void
test_a_store_is_locked_while_another_process_holds_it_even_until_kill_9 (void)
{
    char dir [PATH_MAX];
    test_tempdir (dir, sizeof dir);
    CU_ASSERT_EQUAL (rh_db_lock_holder (dir), 0);  //  no store yet
    s_make_store (dir, 3);
    CU_ASSERT_EQUAL (rh_db_lock_holder (dir), 0);  //  closed
    int ready [2];
    CU_ASSERT_FATAL (pipe (ready) == 0);
    pid_t child = fork ();
    CU_ASSERT_FATAL (child >= 0);
    if (child == 0) {
        rh_db_t *db = rh_db_open (dir);
        char byte = db ? 'y' : 'n';
        if (write (ready [1], &byte, 1) != 1)
            _exit (1);
        pause ();  //  until killed
        _exit (0);
    }
    char byte = 0;
    CU_ASSERT (read (ready [0], &byte, 1) == 1 && byte == 'y');
    CU_ASSERT_EQUAL (rh_db_lock_holder (dir), child);
    CU_ASSERT_EQUAL (rh_db_lock_holder (dir), child);  //  asking twice takes nothing
    kill (child, SIGKILL);
    int status = 0;
    waitpid (child, &status, 0);
    CU_ASSERT_EQUAL (rh_db_lock_holder (dir), 0);
    rh_db_t *db = rh_db_open (dir);  //  and this process can take it over
    CU_ASSERT_PTR_NOT_NULL (db);
    rh_db_destroy (&db);
    close (ready [0]);
    close (ready [1]);
}

static void
test_a_store_in_use_by_another_process_is_refused (void)
{
    char dir [PATH_MAX];
    test_tempdir (dir, sizeof dir);
    s_make_store (dir, 10);
    int ready [2], release [2];
    CU_ASSERT_FATAL (pipe (ready) == 0 && pipe (release) == 0);
    pid_t child = fork ();
    CU_ASSERT_FATAL (child >= 0);
    if (child == 0) {
        rh_db_t *db = rh_db_open (dir);  //  holds the LOCK, as a running broker does
        char byte = db ? 'y' : 'n';
        if (write (ready [1], &byte, 1) != 1 || read (release [0], &byte, 1) < 0)
            _exit (1);
        rh_db_destroy (&db);
        _exit (0);
    }
    char byte = 0;
    CU_ASSERT (read (ready [0], &byte, 1) == 1 && byte == 'y');
    CU_ASSERT_PTR_NULL (rh_db_open_readonly (dir));
    CU_ASSERT (write (release [1], "x", 1) == 1);
    int status = 0;
    waitpid (child, &status, 0);
    rh_db_t *db = rh_db_open_readonly (dir);  //  stopped: readable
    CU_ASSERT_PTR_NOT_NULL (db);
    rh_db_destroy (&db);
    close (ready [0]);
    close (ready [1]);
    close (release [0]);
    close (release [1]);
}

static void
test_an_unreadable_block_stops_the_walk_and_says_so (void)
{
    char dir [PATH_MAX];
    test_tempdir (dir, sizeof dir);
    s_make_store (dir, 2000);
    //  One byte flipped in the middle of the table.
    DIR *handle = opendir (dir);
    struct dirent *entry;
    char table [PATH_MAX] = "";
    while ((entry = readdir (handle)))
        if (strstr (entry->d_name, ".ldb"))
            rh_file_path (table, sizeof table, "%s/%s", dir, entry->d_name);
    closedir (handle);
    CU_ASSERT_FATAL (*table);
    int fd = open (table, O_RDWR);
    off_t middle = lseek (fd, 0, SEEK_END) / 2;
    uint8_t byte = 0;
    CU_ASSERT_FATAL (pread (fd, &byte, 1, middle) == 1);
    byte ^= 0xff;
    CU_ASSERT_FATAL (pwrite (fd, &byte, 1, middle) == 1);
    close (fd);
    rh_db_t *db = rh_db_open_readonly (dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL (db);
    rh_db_iter_t *iter = rh_db_iter_new (db, "k/", 2);
    int count = 0;
    for (; rh_db_iter_valid (iter); rh_db_iter_next (iter))
        count++;
    //  The walk stops at the bad block instead of passing over it, and says why.
    CU_ASSERT (count > 0 && count < 2000);
    CU_ASSERT_PTR_NOT_NULL (rh_db_iter_error (iter));
    CU_ASSERT_FALSE (rh_db_iter_valid (iter));
    rh_db_iter_destroy (&iter);
    //  A scan (which leaves the block cache alone) checks every block just the same.
    iter = rh_db_scan_new (db, "k/", 2);
    int scanned = 0;
    for (; rh_db_iter_valid (iter); rh_db_iter_next (iter))
        scanned++;
    CU_ASSERT_EQUAL (scanned, count);
    CU_ASSERT_PTR_NOT_NULL (rh_db_iter_error (iter));
    rh_db_iter_destroy (&iter);
    //  A read of a key in that block fails rather than finding nothing.
    char key [32];
    snprintf (key, sizeof key, "k/%08d", count);
    uint8_t *value = NULL;
    size_t size = 0;
    CU_ASSERT_EQUAL (rh_db_get (db, key, strlen (key), &value, &size), -1);
    free (value);
    rh_db_destroy (&db);
}

//  The offset of the last record of a LevelDB log file (its format: 32 KiB blocks of records
//  with 7-byte headers; a block's last bytes too few for a header are padding).
static size_t
s_last_record (const uint8_t *data, size_t size)
{
    size_t at = 0, last = 0;
    while (at + 7 <= size) {
        size_t left = 32768 - at % 32768;
        if (left < 7) {
            at += left;
            continue;
        }
        last = at;
        at += 7 + ((size_t) data [at + 4] | (size_t) data [at + 5] << 8);
    }
    return last;
}

static void
test_a_log_cut_short_or_retyped_at_its_end_is_damage (void)
{
    //  Three commits left in the write-ahead log (the store is closed, not reopened). LevelDB
    //  itself drops a last record that runs past the end or is left unfinished, silently.
    char dir [PATH_MAX], log [PATH_MAX] = "";
    test_tempdir (dir, sizeof dir);
    rh_db_t *db = rh_db_open (dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL (db);
    for (int i = 0; i < 3; i++) {
        char key [16];
        snprintf (key, sizeof key, "k/%d", i);
        rh_db_put (db, key, strlen (key), "value", 5);
        CU_ASSERT_EQUAL_FATAL (rh_db_commit (db, true), 0);
    }
    rh_db_destroy (&db);
    DIR *handle = opendir (dir);
    struct dirent *entry;
    while (handle && (entry = readdir (handle)))
        if (strlen (entry->d_name) > 4
            && !strcmp (entry->d_name + strlen (entry->d_name) - 4, ".log"))
            rh_file_path (log, sizeof log, "%s/%s", dir, entry->d_name);
    if (handle)
        closedir (handle);
    CU_ASSERT_FATAL (*log != 0);
    uint8_t *data = NULL;
    size_t size = 0;
    CU_ASSERT_EQUAL_FATAL (rh_file_read (log, 1 << 20, &data, &size), 0);
    size_t last = s_last_record (data, size);
    CU_ASSERT_FATAL (last > 0 && last + 7 < size);

    //  Its length made to run past the end of the file.
    data [last + 5] ^= 0x40;
    CU_ASSERT_EQUAL_FATAL (rh_file_write_atomic (log, data, size, 0644), 0);
    CU_ASSERT_PTR_NULL (rh_db_open_readonly (dir));
    data [last + 5] ^= 0x40;
    //  Its type made FIRST, as if the rest had never been written.
    uint8_t type = data [last + 6];
    data [last + 6] = 2;
    CU_ASSERT_EQUAL_FATAL (rh_file_write_atomic (log, data, size, 0644), 0);
    CU_ASSERT_PTR_NULL (rh_db_open_readonly (dir));
    data [last + 6] = type;
    //  Whole again: read, with every commit there.
    CU_ASSERT_EQUAL_FATAL (rh_file_write_atomic (log, data, size, 0644), 0);
    db = rh_db_open_readonly (dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL (db);
    uint8_t *value = NULL;
    size_t value_size = 0;
    CU_ASSERT_EQUAL (rh_db_get (db, "k/2", 3, &value, &value_size), 0);
    free (value);
    rh_db_destroy (&db);
    free (data);
}

//  A writer that commits one batch after another, each two keys "c/<n>" and "d/<n>" with 16 KiB
//  values (LevelDB flushes its 16 MiB memory table to a new table every ~500 batches, and
//  compacts) until it is stopped, while copies are taken; at most S_WRITER_COMMITS.
#define S_WRITER_COMMITS 20000
#define S_COPIES         4
typedef struct {
    rh_db_t *db;
    _Atomic int commits;  //  read by the copying thread
    _Atomic int stop;
} s_writer_t;

static void *
s_writer (void *arg)
{
    s_writer_t *writer = arg;
    static char value [16384];
    memset (value, 'w', sizeof value);
    while (!writer->stop && writer->commits < S_WRITER_COMMITS) {
        char key [32];
        snprintf (key, sizeof key, "c/%020d", writer->commits);
        rh_db_put (writer->db, key, strlen (key), value, sizeof value);
        key [0] = 'd';
        rh_db_put (writer->db, key, strlen (key), value, sizeof value);
        if (rh_db_commit (writer->db, false) != 0)
            break;
        writer->commits++;
    }
    return NULL;
}

//  The batches in the copy in dir: every "c/<n>" for n from 0 with no gap, each with its "d/<n>"
//  (a batch is whole or absent). Returns their count, or -1 if the copy is not such a prefix.
static int
s_prefix_in (const char *dir)
{
    rh_db_t *db = rh_db_open (dir);
    if (!db)
        return -1;
    int count = 0;
    rh_db_iter_t *iter = rh_db_iter_new (db, "c/", 2);
    for (; iter && rh_db_iter_valid (iter); rh_db_iter_next (iter), count++) {
        size_t size = 0;
        const uint8_t *key = rh_db_iter_key (iter, &size);
        char other [32];
        snprintf (other, sizeof other, "d/%020d", count);
        if (rh_db_key_sequence (key, size, 2) != (uint64_t) count
            || !rh_db_has (db, other, strlen (other))) {
            count = -1;
            break;
        }
    }
    if (!iter || rh_db_iter_error (iter))
        count = -1;
    rh_db_iter_destroy (&iter);
    rh_db_destroy (&db);
    return count;
}

//  Removes a copy (LevelDB makes no sub-folders).
static void
s_remove (const char *dir)
{
    DIR *handle = opendir (dir);
    struct dirent *entry;
    while (handle && (entry = readdir (handle))) {
        char path [PATH_MAX];
        if (rh_file_path (path, sizeof path, "%s/%s", dir, entry->d_name) == 0)
            unlink (path);
    }
    if (handle)
        closedir (handle);
    rmdir (dir);
}

static void
test_a_store_being_written_is_copied_as_it_was_at_one_moment (void)
{
    char dir [PATH_MAX], copies [PATH_MAX];
    test_tempdir (dir, sizeof dir);
    test_tempdir (copies, sizeof copies);
    s_writer_t writer = { .db = rh_db_open (dir) };
    CU_ASSERT_PTR_NOT_NULL_FATAL (writer.db);
    pthread_t thread;
    CU_ASSERT_EQUAL_FATAL (pthread_create (&thread, NULL, s_writer, &writer), 0);
    //  Each copy starts after at least one more flush; each must be a whole prefix of the
    //  batches, whatever flush or compaction ran while it was taken.
    int whole = 0;
    char copy [PATH_MAX];
    rh_file_path (copy, sizeof copy, "%s/copy", copies);
    for (int i = 0; i < S_COPIES; i++) {
        int from = writer.commits;
        while (writer.commits < from + 600 && writer.commits < S_WRITER_COMMITS) {
            struct timespec pause = { 0, 1000000L };
            nanosleep (&pause, NULL);
        }
        whole += rh_db_copy_live (dir, copy) == 0 && s_prefix_in (copy) >= 0;
        s_remove (copy);
    }
    writer.stop = 1;
    pthread_join (thread, NULL);
    rh_db_destroy (&writer.db);
    CU_ASSERT_EQUAL (whole, S_COPIES);
    //  When the writer is done the copy holds everything.
    CU_ASSERT_EQUAL (rh_db_copy_live (dir, copy), 0);
    CU_ASSERT_EQUAL (s_prefix_in (copy), writer.commits);
    //  A folder that holds a store already is not written over; a folder with no store is
    //  not copied.
    CU_ASSERT_EQUAL (rh_db_copy_live (dir, copy), -1);
    rh_file_path (copy, sizeof copy, "%s/none", copies);
    CU_ASSERT_EQUAL (rh_db_copy_live (copies, copy), -1);
}

void
init_rh_db_tests (void)
{
    CU_pSuite suite = CU_add_suite ("rh_db", NULL, NULL);
    CU_add_test (suite, "a missing, empty or foreign folder is refused and left alone",
                 test_a_missing_empty_or_foreign_folder_is_refused_and_left_alone);
    CU_add_test (suite, "a store is read without a byte of it changing",
                 test_a_store_is_read_without_a_byte_of_it_changing);
    CU_add_test (suite, "a store in use by another process is refused",
                 test_a_store_in_use_by_another_process_is_refused);
    CU_add_test (suite, "a store is locked while another process holds it, even until kill -9",
                 test_a_store_is_locked_while_another_process_holds_it_even_until_kill_9);
    CU_add_test (suite, "an unreadable block stops the walk and says so",
                 test_an_unreadable_block_stops_the_walk_and_says_so);
    CU_add_test (suite, "a log cut short or retyped at its end is damage",
                 test_a_log_cut_short_or_retyped_at_its_end_is_damage);
    CU_add_test (suite, "a store being written is copied as it was at one moment",
                 test_a_store_being_written_is_copied_as_it_was_at_one_moment);
}
