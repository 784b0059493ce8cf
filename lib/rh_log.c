/*  =========================================================================
    rh_log - operator log lines on stderr
    =========================================================================
*/
#include "rh_lib.h"

static int
s_threshold (void)
{
    const char *env = getenv ("RH_LOG_LEVEL");
    if (!env)
        return RH_LOG_INFO;
    if (strcmp (env, "off") == 0)
        return -1;
    if (strcmp (env, "error") == 0)
        return RH_LOG_ERROR;
    if (strcmp (env, "warn") == 0)
        return RH_LOG_WARN;
    if (strcmp (env, "debug") == 0)
        return RH_LOG_DEBUG;
    return RH_LOG_INFO;
}

void
rh_log (rh_log_level_t level, const char *component, const char *format, ...)
{
    static const char *names [] = { "ERROR", "WARN", "INFO", "DEBUG" };
    if ((int) level > s_threshold ())
        return;
    char line [1024];
    va_list args;
    va_start (args, format);
    vsnprintf (line, sizeof line, format, args);
    va_end (args);

    struct timespec now;
    clock_gettime (CLOCK_REALTIME, &now);
    struct tm tm;
    gmtime_r (&now.tv_sec, &tm);
    char stamp [32];
    strftime (stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    //  One fprintf per line so that lines from several threads do not interleave.
    fprintf (stderr, "%s.%03ldZ %-5s %s: %s\n", stamp, now.tv_nsec / 1000000L, names [level],
             component ? component : "rhannu", line);
}
