/*  =========================================================================
    test_rh_cli - the command line every tool shares: options, then the
    command word found in the tool's table
    =========================================================================
*/
#include "test_helpers.h"

enum { S_ZERO = 0, S_VERSION = 256, S_DAYS };  //  an option's value may be 0 (rhannu-ca's are)

static const struct option s_options [] = {
    { "config", required_argument, NULL, 'f' },
    { "verbose", no_argument, NULL, 'v' },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, S_VERSION },
    { "days", required_argument, NULL, S_DAYS },
    { "zero", no_argument, NULL, S_ZERO },
    { NULL, 0, NULL, 0 },
};

//  A tool's table: a row per command, the name first or not.
static const struct {
    int arguments;
    const char *name;
} s_commands [] = {
    { 0, NULL },  //  no command word: run
    { 1, "send" },
    { 0, "status" },
};

static int s_usage_calls;

static void
s_usage (FILE *out)
{
    (void) out;
    s_usage_calls++;
}

//  Parses a command line given as words; argv [0] is the tool.
static int
s_parse (const rh_cli_t *cli, int argc, char **argv, const char **command, int *exit_code)
{
    optind = 0;  //  glibc: start getopt_long afresh
    return RH_CLI_PARSE (cli, argc, argv, s_commands, command, exit_code);
}

//  A server's command line: -f CONFIG, -v, -h, --version and options of its own.
static rh_cli_t
s_server (const char **config)
{
    return (rh_cli_t){ .tool = "rhannu-test",
                       .short_options = ":f:vh",
                       .options = s_options,
                       .version = S_VERSION,
                       .usage = s_usage,
                       .config = config };
}

static void
test_a_command_line_is_read_options_then_command (void)
{
    const char *config = NULL;
    const rh_cli_t cli = s_server (&config);
    char *argv [] = { "rhannu-test", "send", "--config", "c.yaml", "a.json", NULL };
    const char *command = NULL;
    int exit_code = -1;
    CU_ASSERT_EQUAL (s_parse (&cli, 5, argv, &command, &exit_code), 1);
    CU_ASSERT_STRING_EQUAL (command, "send");
    CU_ASSERT_STRING_EQUAL (config, "c.yaml");
    CU_ASSERT_EQUAL (optind, 4);
    CU_ASSERT_STRING_EQUAL (argv [optind], "a.json");  //  the command's arguments follow it

    //  no command word: the first row, which has no name
    char *run [] = { "rhannu-test", "-f", "c.yaml", NULL };
    CU_ASSERT_EQUAL (s_parse (&cli, 3, run, &command, &exit_code), 0);
    CU_ASSERT_PTR_NULL (command);
    CU_ASSERT_EQUAL (optind, 3);
    char *status [] = { "rhannu-test", "status", NULL };
    CU_ASSERT_EQUAL (s_parse (&cli, 2, status, &command, &exit_code), 2);
}

static void
test_help_version_and_bad_lines_end_the_program (void)
{
    const rh_cli_t cli = { .tool = "rhannu-test",
                           .short_options = ":h",
                           .options = s_options,
                           .version = S_VERSION,
                           .usage = s_usage,
                           .which = "send or status" };
    const char *command = NULL;
    int exit_code = -1;
    s_usage_calls = 0;
    char *help [] = { "rhannu-test", "send", "--help", NULL };
    CU_ASSERT_EQUAL (s_parse (&cli, 3, help, &command, &exit_code), -1);
    CU_ASSERT_EQUAL (exit_code, 0);
    CU_ASSERT_EQUAL (s_usage_calls, 1);
    exit_code = -1;
    char *version [] = { "rhannu-test", "--version", NULL };
    CU_ASSERT_EQUAL (s_parse (&cli, 2, version, &command, &exit_code), -1);
    CU_ASSERT_EQUAL (exit_code, 0);
    //  Each of these is told in one line on stderr and exits 2.
    char *unknown_option [] = { "rhannu-test", "--frobnicate", NULL };
    char *no_value [] = { "rhannu-test", "status", "--days", NULL };
    char *unknown_command [] = { "rhannu-test", "frobnicate", NULL };
    char *no_command [] = { "rhannu-test", NULL };
    char *taken_by_the_tool [] = { "rhannu-test", "--days", "3", "status", NULL };
    char **lines [] = { unknown_option, no_value, unknown_command, no_command, taken_by_the_tool };
    int counts [] = { 2, 3, 2, 1, 4 };
    for (size_t i = 0; i < sizeof lines / sizeof lines [0]; i++) {
        exit_code = -1;
        CU_ASSERT_EQUAL (s_parse (&cli, counts [i], lines [i], &command, &exit_code), -1);
        CU_ASSERT_EQUAL (exit_code, RH_CLI_USAGE);
    }
    CU_ASSERT_EQUAL (s_usage_calls, 1);
    //  -f and -v are options like any other when the tool has no config
    char *f [] = { "rhannu-test", "-f", "x", NULL };
    CU_ASSERT_EQUAL (s_parse (&cli, 3, f, &command, &exit_code), -1);
    CU_ASSERT_EQUAL (exit_code, RH_CLI_USAGE);
}

//  A tool with options of its own reads them one by one; the rest is rh_cli's.
static void
test_a_tool_takes_its_own_options (void)
{
    const char *config = NULL;
    const rh_cli_t cli = s_server (&config);
    char *argv [] = { "rhannu-test", "-v", "--zero", "--days", "7", "-f", "c", "status", NULL };
    const char *old_level = getenv ("RH_LOG_LEVEL");
    char saved [32] = "";
    snprintf (saved, sizeof saved, "%s", old_level ? old_level : "");
    optind = 0;
    int exit_code = -1, c;
    const char *days = NULL;
    bool zero = false;
    while ((c = rh_cli_next (&cli, 8, argv, &exit_code)) >= 0) {
        if (c == S_DAYS)
            days = optarg;
        zero |= c == S_ZERO;
    }
    CU_ASSERT_EQUAL (c, RH_CLI_DONE);
    CU_ASSERT (zero);
    CU_ASSERT_STRING_EQUAL (days, "7");
    CU_ASSERT_STRING_EQUAL (config, "c");
    CU_ASSERT_STRING_EQUAL (getenv ("RH_LOG_LEVEL"), "debug");
    const char *command = NULL;
    CU_ASSERT_EQUAL (RH_CLI_COMMAND (&cli, 8, argv, s_commands, &command), 2);
    CU_ASSERT_STRING_EQUAL (command, "status");
    //  a bad option is told here, not handed to the tool
    char *bad [] = { "rhannu-test", "--days", "7", "--frobnicate", NULL };
    optind = 0;
    exit_code = -1;
    CU_ASSERT_EQUAL (rh_cli_next (&cli, 4, bad, &exit_code), S_DAYS);
    CU_ASSERT_EQUAL (rh_cli_next (&cli, 4, bad, &exit_code), RH_CLI_EXIT);
    CU_ASSERT_EQUAL (exit_code, RH_CLI_USAGE);
    if (old_level)
        setenv ("RH_LOG_LEVEL", saved, 1);
    else
        unsetenv ("RH_LOG_LEVEL");
}

void init_rh_cli_tests (void);

void
init_rh_cli_tests (void)
{
    CU_pSuite suite = CU_add_suite ("rh_cli", NULL, NULL);
    CU_add_test (suite, "a command line is read: options, then the command",
                 test_a_command_line_is_read_options_then_command);
    CU_add_test (suite, "help, version and bad lines end the program",
                 test_help_version_and_bad_lines_end_the_program);
    CU_add_test (suite, "a tool takes its own options", test_a_tool_takes_its_own_options);
}
