/*  =========================================================================
    rh_cli - what every tool's command line shares
    =========================================================================
*/
#include "rh_lib.h"

#ifndef RH_VERSION
#    error "RH_VERSION comes from the VERSION file, by the Makefile"
#endif

const char *
rh_cli_version (void)
{
    return RH_VERSION;
}

int
rh_cli_print_version (const char *tool)
{
    assert (tool);
    printf ("%s %s\n", tool, RH_VERSION);
    return 0;
}

int
rh_cli_error (const char *tool, const char *format, ...)
{
    assert (tool && format);
    char text [256];
    va_list args;
    va_start (args, format);
    vsnprintf (text, sizeof text, format, args);
    va_end (args);
    fprintf (stderr, "%s: %s (try --help)\n", tool, text);
    return RH_CLI_USAGE;
}

int
rh_cli_bad_option (const char *tool, int c, char *const *argv)
{
    assert (tool && argv);
    //  The option as typed, without a value given to it with '=' (a value is never echoed).
    const char *typed = optind > 0 ? argv [optind - 1] : "";
    char name [64];
    if (strncmp (typed, "--", 2) == 0)
        snprintf (name, sizeof name, "%.*s", (int) strcspn (typed, "="), typed);
    else if (optopt > ' ' && optopt < 127)
        snprintf (name, sizeof name, "-%c", optopt);
    else
        snprintf (name, sizeof name, "%.*s", (int) strcspn (typed, "="), typed);
    if (c == ':')
        return rh_cli_error (tool, "option '%s' needs a value", name);
    if (strchr (typed, '=') && strncmp (typed, "--", 2) == 0 && optopt)
        return rh_cli_error (tool, "option '%s' takes no value", name);
    return rh_cli_error (tool, "unknown option '%s'", name);
}
