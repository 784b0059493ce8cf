/*  =========================================================================
    rh_time - wall-clock milliseconds and ASN.1 time conversion
    =========================================================================
*/
#include "rh_lib.h"

int64_t
rh_time_now_ms (void)
{
    struct timespec now;
    clock_gettime (CLOCK_REALTIME, &now);
    return (int64_t) now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

int
rh_time_from_asn1 (const ASN1_TIME *asn1, int64_t *ms)
{
    assert (ms);
    struct tm tm;
    if (!asn1 || ASN1_TIME_to_tm (asn1, &tm) != 1)
        return -1;
    *ms = (int64_t) timegm (&tm) * 1000;
    return 0;
}

const char *
rh_time_format (int64_t ms, char *buffer, size_t size)
{
    assert (buffer);
    time_t seconds = (time_t) (ms / 1000);
    struct tm tm;
    if (!gmtime_r (&seconds, &tm) || strftime (buffer, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf (buffer, size, "?");
    return buffer;
}

int64_t
rh_time_offset_file (const char *path)
{
    assert (path);
    uint8_t *text = NULL;
    size_t size = 0;
    if (!*path || rh_file_read (path, 64, &text, &size) != 0)
        return -1;
    char buffer [65];
    memcpy (buffer, text, size);
    buffer [size] = 0;
    free (text);
    char *end = NULL;
    long long offset = strtoll (buffer, &end, 10);
    return end != buffer && offset >= 0 ? offset : -1;
}
