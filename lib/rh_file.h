/*  =========================================================================
    rh_file - whole-file reads with limits, durable atomic writes

    Every file rhannu writes that must survive a crash goes through
    rh_file_write_atomic: temp file, fsync, rename, fsync of the folder.
    =========================================================================
*/
#ifndef RH_FILE_H_INCLUDED
#define RH_FILE_H_INCLUDED

//  Reads the whole file into a new buffer (NUL-terminated, the NUL not counted in size). Fails
//  with errno EFBIG if the file is larger than max_size. Returns 0 or -1; caller frees *data.
int rh_file_read (const char *path, size_t max_size, uint8_t **data, size_t *size);

//  As rh_file_read, for a file holding a secret: fails with errno EPERM if anyone but the owner
//  may read or write it (mode wider than 0600).
int rh_file_read_secret (const char *path, size_t max_size, uint8_t **data, size_t *size);

//  Writes data to path atomically and durably with the given mode: writes "path.tmp", fsyncs it,
//  renames it over path and fsyncs the folder. Returns 0 or -1.
int rh_file_write_atomic (const char *path, const void *data, size_t size, mode_t mode);

//  Creates a folder (not its parents) with mode; an existing folder is fine. Returns 0 or -1.
int rh_file_mkdir (const char *path, mode_t mode);

//  Creates a folder and any missing parents, each with mode (as mkdir -p); existing folders are
//  fine. Returns 0 or -1 (errno set; the path that failed is the caller's to name).
int rh_file_mkdirs (const char *path, mode_t mode);

//  The process that holds a write lock (fcntl) on path, as LevelDB holds its LOCK while a store
//  is open; 0 when none does, or when path cannot be read. Asks without taking the lock, so it
//  never releases one of the caller's own; the caller's own locks are not reported.
pid_t rh_file_lock_holder (const char *path);

//  Formats a path into out. If it does not fit, out becomes "" (which no open() finds) and the
//  call returns -1, so a truncated path can never name some other file. Returns 0 or -1.
int rh_file_path (char *out, size_t size, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

//  True if path exists.
bool rh_file_exists (const char *path);

#endif
