/*  =========================================================================
    rh_cli - what every tool's command line shares

    One version string for every tool, from the VERSION file at the top of
    the tree (the Makefile passes it to rh_cli.c alone, so a tarball or a
    package build that has no git history says the same as a checkout).
    A bad command line is told in one line on stderr, naming the option
    but never an option's value, and exits 2:
        rhannu-ca: unknown option '--foo' (try --help)
    Every tool reads its options and finds its command word in its command
    table the same way (rh_cli_next, rh_cli_command): -h, --version, a bad
    option and an unknown or missing command are told alike everywhere.
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

//  A tool's command line: what rh_cli_next and rh_cli_command need to know of it.
typedef struct {
    const char *tool;              //  its name in messages, e.g. "rhannu-agent"
    const char *short_options;     //  getopt_long's, starting with ':' (h: --help)
    const struct option *options;  //  getopt_long's long options
    int version;                   //  the value of --version in options
    void (*usage) (FILE *out);     //  prints the usage (on stdout, for --help)
    const char **config;           //  where -f CONFIG goes, -v meaning debug logs; or NULL
    const char *which;             //  the commands, when one must be given; NULL when the
                                   //  table's first row (no name) runs without one
} rh_cli_t;

//  Reads the next option of argv with getopt_long (opterr off). Returns the option for the tool
//  to take (optarg set; any value but the two below, 0 included); RH_CLI_DONE when the options
//  are over (optind: the first other argument, and getopt_long moved all of those to the end,
//  in order); or RH_CLI_EXIT when the program is to exit with *exit_code: after --help (usage
//  on stdout, 0), --version (0) or a bad option (told in one line, RH_CLI_USAGE). Takes -h,
//  --version and, with cli->config, -f and -v itself.
#define RH_CLI_DONE (-1)
#define RH_CLI_EXIT (-2)
int rh_cli_next (const rh_cli_t *cli, int argc, char **argv, int *exit_code);

//  Finds the command word at argv [optind] (taken: optind moves past it) in a command table
//  whose rows' names are at names, names + stride bytes, ... (count rows; RH_CLI_COMMAND fills
//  these in). No command word: row 0 when cli->which is NULL (row 0's name is NULL), else
//  "which command? WHICH" is told. Sets *command to the word (NULL: none). Returns the row, or
//  -1 after telling what is wrong in one line (exit RH_CLI_USAGE).
int rh_cli_command (const rh_cli_t *cli, int argc, char **argv, const char *const *names,
                    size_t count, size_t stride, const char **command);
#define RH_CLI_COMMAND(cli, argc, argv, table, command)                                            \
    rh_cli_command ((cli), (argc), (argv), &(table) [0].name, sizeof (table) / sizeof (table) [0], \
                    sizeof (table) [0], (command))

//  Both, for a tool that takes no options but rh_cli_next's own: reads the options, then the
//  command word. Returns the command's row, or -1 when the program is to exit with *exit_code.
int rh_cli_parse (const rh_cli_t *cli, int argc, char **argv, const char *const *names,
                  size_t count, size_t stride, const char **command, int *exit_code);
#define RH_CLI_PARSE(cli, argc, argv, table, command, exit_code)                                   \
    rh_cli_parse ((cli), (argc), (argv), &(table) [0].name, sizeof (table) / sizeof (table) [0],   \
                  sizeof (table) [0], (command), (exit_code))

//  Prints "TOOL: <format ...> (try --help)" on stderr. Returns RH_CLI_USAGE.
int rh_cli_error (const char *tool, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

#endif
