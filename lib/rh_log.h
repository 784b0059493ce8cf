/*  =========================================================================
    rh_log - operator log lines on stderr

    Operator logs name components, agencies and message ids; never payloads,
    keys or personal data (the audit log is a different thing).
    =========================================================================
*/
#ifndef RH_LOG_H_INCLUDED
#define RH_LOG_H_INCLUDED

typedef enum { RH_LOG_ERROR = 0, RH_LOG_WARN, RH_LOG_INFO, RH_LOG_DEBUG } rh_log_level_t;

//  Writes one line "TIME LEVEL component: message" to stderr if level is at or below the level
//  named by the environment variable RH_LOG_LEVEL (off, error, warn, info, debug; default info).
void rh_log (rh_log_level_t level, const char *component, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

#define rh_log_error(...) rh_log (RH_LOG_ERROR, __VA_ARGS__)
#define rh_log_warn(...)  rh_log (RH_LOG_WARN, __VA_ARGS__)
#define rh_log_info(...)  rh_log (RH_LOG_INFO, __VA_ARGS__)
#define rh_log_debug(...) rh_log (RH_LOG_DEBUG, __VA_ARGS__)

#endif
