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

int
rh_cli_next (const rh_cli_t *cli, int argc, char **argv, int *exit_code)
{
    assert (cli && argv && exit_code);
    opterr = 0;
    for (;;) {
        int c = getopt_long (argc, argv, cli->short_options, cli->options, NULL);
        if (c == -1)
            return RH_CLI_DONE;
        if (cli->config && c == 'f')
            *cli->config = optarg;
        else if (cli->config && c == 'v')
            setenv ("RH_LOG_LEVEL", "debug", 1);
        else if (c == 'h') {
            cli->usage (stdout);
            *exit_code = 0;
            return RH_CLI_EXIT;
        }
        else if (c == cli->version) {
            *exit_code = rh_cli_print_version (cli->tool);
            return RH_CLI_EXIT;
        }
        else if (c == '?' || c == ':') {
            *exit_code = rh_cli_bad_option (cli->tool, c, argv);
            return RH_CLI_EXIT;
        }
        else
            return c;
    }
}

int
rh_cli_command (const rh_cli_t *cli, int argc, char **argv, const char *const *names, size_t count,
                size_t stride, const char **command)
{
    assert (cli && argv && names && command);
    *command = optind < argc ? argv [optind++] : NULL;
    for (size_t k = 0; k < count; k++) {
        const char *name = *(const char *const *) ((const char *) names + k * stride);
        if (*command ? name && strcmp (name, *command) == 0 : !name && !cli->which)
            return (int) k;
    }
    if (*command)
        rh_cli_error (cli->tool, "unknown command '%.40s'", *command);
    else
        rh_cli_error (cli->tool, "which command? %s", cli->which ? cli->which : "");
    return -1;
}

int
rh_cli_parse (const rh_cli_t *cli, int argc, char **argv, const char *const *names, size_t count,
              size_t stride, const char **command, int *exit_code)
{
    int c = rh_cli_next (cli, argc, argv, exit_code);
    if (c != RH_CLI_DONE) {
        if (c != RH_CLI_EXIT)  //  an option in the tool's table that it does not take itself
            *exit_code = rh_cli_bad_option (cli->tool, c, argv);
        return -1;
    }
    int row = rh_cli_command (cli, argc, argv, names, count, stride, command);
    if (row < 0)
        *exit_code = RH_CLI_USAGE;
    return row;
}
