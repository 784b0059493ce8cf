/*  =========================================================================
    rh_file - whole-file reads with limits, durable atomic writes
    =========================================================================
*/
#include "rh_lib.h"

static int
s_read_fd (int fd, size_t max_size, uint8_t **data, size_t *size)
{
    struct stat st;
    if (fstat (fd, &st) != 0)
        return -1;
    if (!S_ISREG (st.st_mode)) {
        errno = EINVAL;
        return -1;
    }
    if ((uint64_t) st.st_size > max_size) {
        errno = EFBIG;
        return -1;
    }
    size_t length = (size_t) st.st_size;
    uint8_t *buffer = malloc (length + 1);
    if (!buffer)
        return -1;
    size_t done = 0;
    while (done < length) {
        ssize_t got = read (fd, buffer + done, length - done);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            //  The file shrank under us, or the read failed: either way, not what we stat'ed.
            free (buffer);
            if (got == 0)
                errno = EIO;
            return -1;
        }
        done += (size_t) got;
    }
    buffer [length] = 0;
    *data = buffer;
    *size = length;
    return 0;
}

static int
s_read (const char *path, size_t max_size, bool secret, uint8_t **data, size_t *size)
{
    assert (path && data && size);
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = -1;
    struct stat st;
    if (secret && (fstat (fd, &st) != 0 || (st.st_mode & 0177) != 0)) {
        errno = EPERM;
        goto out;
    }
    rc = s_read_fd (fd, max_size, data, size);
out:;
    int saved = errno;
    close (fd);
    errno = saved;
    return rc;
}

int
rh_file_read (const char *path, size_t max_size, uint8_t **data, size_t *size)
{
    return s_read (path, max_size, false, data, size);
}

int
rh_file_read_secret (const char *path, size_t max_size, uint8_t **data, size_t *size)
{
    return s_read (path, max_size, true, data, size);
}

static int
s_fsync_parent (const char *path)
{
    char *copy = strdup (path);
    if (!copy)
        return -1;
    char *slash = strrchr (copy, '/');
    const char *folder = ".";
    if (slash == copy)
        folder = "/";
    else if (slash) {
        *slash = 0;
        folder = copy;
    }
    int fd = open (folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = -1;
    if (fd >= 0) {
        rc = fsync (fd);
        close (fd);
    }
    free (copy);
    return rc;
}

int
rh_file_write_atomic (const char *path, const void *data, size_t size, mode_t mode)
{
    assert (path && (data || size == 0));
    char temp [PATH_MAX];
    if (snprintf (temp, sizeof temp, "%s.tmp", path) >= (int) sizeof temp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = open (temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return -1;
    //  open() honours umask; a secret must end up exactly at mode whatever the umask was.
    if (fchmod (fd, mode) != 0)
        goto fail;
    const uint8_t *bytes = data;
    size_t done = 0;
    while (done < size) {
        ssize_t put = write (fd, bytes + done, size - done);
        if (put < 0 && errno == EINTR)
            continue;
        if (put <= 0)
            goto fail;
        done += (size_t) put;
    }
    if (fsync (fd) != 0)
        goto fail;
    if (close (fd) != 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    if (rename (temp, path) != 0)
        goto fail;
    return s_fsync_parent (path);
fail:;
    int saved = errno;
    if (fd >= 0)
        close (fd);
    unlink (temp);
    errno = saved;
    return -1;
}

int
rh_file_mkdir (const char *path, mode_t mode)
{
    assert (path);
    if (mkdir (path, mode) == 0)
        return 0;
    struct stat st;
    if (errno == EEXIST && stat (path, &st) == 0 && S_ISDIR (st.st_mode))
        return 0;
    return -1;
}

int
rh_file_mkdirs (const char *path, mode_t mode)
{
    assert (path);
    char partial [PATH_MAX];
    size_t length = strlen (path);
    if (length == 0 || length >= sizeof partial) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy (partial, path, length + 1);
    //  Each parent in turn: cut the path at every '/' after the first character.
    for (char *slash = strchr (partial + 1, '/'); slash; slash = strchr (slash + 1, '/')) {
        *slash = 0;
        int rc = rh_file_mkdir (partial, mode);
        *slash = '/';
        if (rc != 0)
            return -1;
    }
    return rh_file_mkdir (partial, mode);
}

pid_t
rh_file_lock_holder (const char *path)
{
    assert (path);
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    struct flock probe = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
    pid_t holder = fcntl (fd, F_GETLK, &probe) == 0 && probe.l_type != F_UNLCK ? probe.l_pid : 0;
    close (fd);
    return holder;
}

bool
rh_file_exists (const char *path)
{
    struct stat st;
    return path && stat (path, &st) == 0;
}

int
rh_file_path (char *out, size_t size, const char *format, ...)
{
    assert (out && size > 0);
    va_list args;
    va_start (args, format);
    int length = vsnprintf (out, size, format, args);
    va_end (args);
    if (length < 0 || (size_t) length >= size) {
        out [0] = 0;
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}
