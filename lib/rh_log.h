/*  =========================================================================
    rh_log - operator log lines on stderr

    Operator logs name components, agencies and message ids; never payloads,
    keys or personal data (the audit log is a different thing).
    =========================================================================
*/
#ifndef RH_LOG_H_INCLUDED
#define RH_LOG_H_INCLUDED

//  A longer message is cut (lib/ cannot see proto/rh_limits.h, so the limit lives here).
#define RH_LOG_MAX_LINE 1024

typedef enum { RH_LOG_ERROR = 0, RH_LOG_WARN, RH_LOG_INFO, RH_LOG_DEBUG } rh_log_level_t;

//  How lines are written: text ("TIME LEVEL component: message") or json (one object per line
//  with time, level, component and message).
typedef enum { RH_LOG_TEXT = 0, RH_LOG_JSON } rh_log_format_t;

//  Writes one line to stderr if level is at or below the level named by the environment variable
//  RH_LOG_LEVEL (off, error, warn, info, debug; default info). When stderr is the systemd journal
//  (JOURNAL_STREAM names the device and inode of fd 2) the line starts with its syslog priority,
//  "<3>" to "<7>", and text lines leave out the time, which the journal keeps itself.
void rh_log (rh_log_level_t level, const char *component, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

//  Sets the format of the lines that follow, for every thread (the configuration's log/format).
void rh_log_set_format (rh_log_format_t format);

//  Sets the format from its name, "text" or "json"; returns -1 and leaves it for any other name.
int rh_log_set_format_name (const char *name);

//  True if stderr is the systemd journal.
bool rh_log_to_journal (void);

#define rh_log_error(...) rh_log (RH_LOG_ERROR, __VA_ARGS__)
#define rh_log_warn(...)  rh_log (RH_LOG_WARN, __VA_ARGS__)
#define rh_log_info(...)  rh_log (RH_LOG_INFO, __VA_ARGS__)
#define rh_log_debug(...) rh_log (RH_LOG_DEBUG, __VA_ARGS__)

#endif
