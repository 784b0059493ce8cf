/*  =========================================================================
    replay_main - runs a fuzz harness over corpus files without libFuzzer

    make check uses it to replay every committed seed and every crash ever
    found (each crash becomes a corpus file) under the normal and the
    sanitizer builds.
    =========================================================================
*/
#include "rh_lib.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static int
s_run_file (const char *path, int *count)
{
    uint8_t *data = NULL;
    size_t size = 0;
    if (rh_file_read (path, 16 << 20, &data, &size) != 0) {
        fprintf (stderr, "replay: cannot read %s: %s\n", path, strerror (errno));
        return -1;
    }
    LLVMFuzzerTestOneInput (data, size);
    free (data);
    (*count)++;
    return 0;
}

int
main (int argc, char **argv)
{
    int count = 0;
    for (int i = 1; i < argc; i++) {
        DIR *dir = opendir (argv [i]);
        if (!dir) {
            if (s_run_file (argv [i], &count) != 0)
                return 1;
            continue;
        }
        struct dirent *entry;
        while ((entry = readdir (dir))) {
            if (entry->d_name [0] == '.')
                continue;
            char path [PATH_MAX];
            if (rh_file_path (path, sizeof path, "%s/%s", argv [i], entry->d_name) != 0
                || s_run_file (path, &count) != 0) {
                closedir (dir);
                return 1;
            }
        }
        closedir (dir);
    }
    if (count == 0) {
        fprintf (stderr, "replay: no corpus files found\n");
        return 1;
    }
    printf ("replay: %d passed, 0 failed\n", count);
    return 0;
}
