/*  =========================================================================
    rh_cli - what every tool's command line shares

    One version string for every tool, from the VERSION file at the top of
    the tree (the Makefile passes it to rh_cli.c alone, so a tarball or a
    package build that has no git history says the same as a checkout).
    A bad command line is told in one line on stderr, naming the option
    but never an option's value, and exits 2:
        rhannu-ca: unknown option '--foo' (try --help)
    =========================================================================
*/
#ifndef RH_CLI_H_INCLUDED
#define RH_CLI_H_INCLUDED

#define RH_CLI_USAGE 2  //  exit code of a bad command line

//  The version of rhannu, e.g. "0.1.0".
const char *rh_cli_version (void);

//  Prints "TOOL VERSION" on stdout. Returns 0 (the exit code).
int rh_cli_print_version (const char *tool);

//  Tells, in one line, why getopt_long returned c ('?': unknown option or a value given to an
//  option that takes none; ':': an option without its value; the option string must start
//  with ':'). Reads optind and optopt. Returns RH_CLI_USAGE.
int rh_cli_bad_option (const char *tool, int c, char *const *argv);

//  Prints "TOOL: <format ...> (try --help)" on stderr. Returns RH_CLI_USAGE.
int rh_cli_error (const char *tool, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

#endif
