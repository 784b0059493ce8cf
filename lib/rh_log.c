/*  =========================================================================
    rh_log - operator log lines on stderr
    =========================================================================
*/
#include "rh_lib.h"

//  Set once from the configuration, read by every thread that logs.
static _Atomic int s_format = RH_LOG_TEXT;

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
rh_log_set_format (rh_log_format_t format)
{
    s_format = format == RH_LOG_JSON ? RH_LOG_JSON : RH_LOG_TEXT;
}

int
rh_log_set_format_name (const char *name)
{
    if (name && strcmp (name, "text") == 0)
        rh_log_set_format (RH_LOG_TEXT);
    else if (name && strcmp (name, "json") == 0)
        rh_log_set_format (RH_LOG_JSON);
    else
        return -1;
    return 0;
}

//  systemd sets JOURNAL_STREAM=DEVICE:INODE for a service whose stderr is the journal; a child
//  whose stderr was redirected inherits the variable, so fd 2 must still be that stream.
bool
rh_log_to_journal (void)
{
    const char *env = getenv ("JOURNAL_STREAM");
    if (!env)
        return false;
    unsigned long long device, inode;
    char rest;
    if (sscanf (env, "%llu:%llu%c", &device, &inode, &rest) != 2)
        return false;
    struct stat st;
    if (fstat (STDERR_FILENO, &st) != 0)
        return false;
    return (unsigned long long) st.st_dev == device && (unsigned long long) st.st_ino == inode;
}

//  jansson refuses text that is not UTF-8; a line is never lost for that, the odd bytes become '?'.
static json_t *
s_json_text (const char *text)
{
    json_t *string = json_string (text);
    if (string)
        return string;
    char copy [RH_LOG_MAX_LINE];
    snprintf (copy, sizeof copy, "%s", text);
    for (char *c = copy; *c; c++)
        if ((unsigned char) *c >= 0x80)
            *c = '?';
    return json_string (copy);
}

void
rh_log (rh_log_level_t level, const char *component, const char *format, ...)
{
    static const char *names [] = { "ERROR", "WARN", "INFO", "DEBUG" };
    static const char *json_names [] = { "error", "warn", "info", "debug" };
    //  sd-daemon.h's SD_ERR, SD_WARNING, SD_INFO, SD_DEBUG
    static const char *priorities [] = { "<3>", "<4>", "<6>", "<7>" };
    if ((int) level > s_threshold () || (int) level < RH_LOG_ERROR)
        return;
    char line [RH_LOG_MAX_LINE];
    va_list args;
    va_start (args, format);
    vsnprintf (line, sizeof line, format, args);
    va_end (args);
    if (!component)
        component = "rhannu";

    struct timespec now;
    clock_gettime (CLOCK_REALTIME, &now);
    struct tm tm;
    gmtime_r (&now.tv_sec, &tm);
    char stamp [48], seconds [32];
    strftime (seconds, sizeof seconds, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf (stamp, sizeof stamp, "%s.%03ldZ", seconds, now.tv_nsec / 1000000L);
    const char *priority = rh_log_to_journal () ? priorities [level] : NULL;

    //  One fprintf per line so that lines from several threads do not interleave.
    if (s_format == RH_LOG_JSON) {
        json_t *object = json_object ();
        char *text = NULL;
        if (object && json_object_set_new (object, "time", json_string (stamp)) == 0
            && json_object_set_new (object, "level", json_string (json_names [level])) == 0
            && json_object_set_new (object, "component", s_json_text (component)) == 0
            && json_object_set_new (object, "message", s_json_text (line)) == 0)
            text = json_dumps (object, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref (object);
        if (text) {
            fprintf (stderr, "%s%s\n", priority ? priority : "", text);
            free (text);
            return;
        }
        //  Out of memory: the plain line below still says what happened.
    }
    if (priority)
        fprintf (stderr, "%s%s: %s\n", priority, component, line);
    else
        fprintf (stderr, "%s %-5s %s: %s\n", stamp, names [level], component, line);
}
