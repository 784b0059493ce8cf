/*  =========================================================================
    test_rh_config - typed configuration from YAML
    =========================================================================
*/
#include "test_helpers.h"

static const rh_cfg_spec_t s_spec [] = {
    { "bind/endpoint", RH_CFG_STR, 0, 0, "tcp://127.0.0.1:5670", false, "where" },
    { "data/dir", RH_CFG_STR, 0, 0, NULL, true, "data" },
    { "delivery/max_attempts", RH_CFG_INT, 1, 100, "10", false, "attempts" },
    { "log/verbose", RH_CFG_BOOL, 0, 0, "false", false, "verbose" },
    { "log/format", RH_CFG_ENUM, 0, 0, "text", false, "how lines are written {text|json}" },
    { NULL }
};

static rh_config_t *
s_load (const char *text, char *error, size_t size)
{
    char dir [PATH_MAX], path [PATH_MAX];
    test_tempdir (dir, sizeof dir);
    rh_file_path (path, sizeof path, "%s/test.yaml", dir);
    rh_file_write_atomic (path, text, strlen (text), 0644);
    return rh_config_load (s_spec, path, error, size);
}

static void
test_a_config_file_gives_typed_values_and_defaults (void)
{
    char error [256] = "";
    rh_config_t *config =
        s_load ("# broker\ndata:\n  dir: /var/lib/x\ndelivery:\n  max_attempts: 7\n"
                "log:\n  verbose: yes\n",
                error, sizeof error);
    CU_ASSERT_PTR_NOT_NULL_FATAL (config);
    CU_ASSERT_STRING_EQUAL (rh_config_str (config, "data/dir"), "/var/lib/x");
    CU_ASSERT_STRING_EQUAL (rh_config_str (config, "bind/endpoint"), "tcp://127.0.0.1:5670");
    CU_ASSERT_EQUAL (rh_config_int (config, "delivery/max_attempts"), 7);
    CU_ASSERT_TRUE (rh_config_bool (config, "log/verbose"));
    rh_config_destroy (&config);
    CU_ASSERT_PTR_NULL (config);
}

static void
test_mistakes_fail_at_start_with_the_line (void)
{
    static const struct {
        const char *text;
        const char *expected;
    } cases [] = {
        { "data:\n  dir: x\n  dri: y\n", ":3: unknown key 'data/dri'" },
        { "data:\n  dir: x\ndelivery:\n  max_attempts: 0\n",
          ":4: delivery/max_attempts must be from 1 to 100" },
        { "data:\n  dir: x\ndelivery:\n  max_attempts: ten\n", "must be a whole number" },
        { "data:\n  dir: x\nlog:\n  verbose: maybe\n", "must be true or false" },
        { "bind:\n  endpoint: x\n", "required key 'data/dir' is missing" },
        { "data:\n  dir: [a, b]\n", "needs a single value" },
        { "data: x\n", "must be a section of keys" },
        { "data:\n  dir: x\n  dir: y\n", "given twice" },
        { "data:\n  dir: 'unterminated\n", ":3: found unexpected end of stream" },
        { "- a\n- b\n", "expected sections" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        char error [256] = "";
        rh_config_t *config = s_load (cases [i].text, error, sizeof error);
        CU_ASSERT_PTR_NULL (config);
        if (!strstr (error, cases [i].expected))
            fprintf (stderr, "\n  case %zu: got '%s'\n", i, error);
        CU_ASSERT_PTR_NOT_NULL (strstr (error, cases [i].expected));
        rh_config_destroy (&config);
    }
    char error [256] = "";
    CU_ASSERT_PTR_NULL (rh_config_load (s_spec, "/nonexistent/x.yaml", error, sizeof error));
    CU_ASSERT_PTR_NOT_NULL (strstr (error, "No such file"));
}

//  A value typed into the wrong key may be anything, and the error goes to the operator log:
//  it names the key and the allowed values, never the value.
static void
test_an_enum_lists_what_is_allowed_and_not_the_value (void)
{
    char error [512] = "";
    rh_config_t *config = s_load ("data:\n  dir: x\nlog:\n  format: json\n", error, sizeof error);
    CU_ASSERT_PTR_NOT_NULL_FATAL (config);
    CU_ASSERT_STRING_EQUAL (rh_config_str (config, "log/format"), "json");
    rh_config_destroy (&config);
    config = s_load ("data:\n  dir: x\n", error, sizeof error);
    CU_ASSERT_PTR_NOT_NULL_FATAL (config);
    CU_ASSERT_STRING_EQUAL (rh_config_str (config, "log/format"), "text");
    rh_config_destroy (&config);
    static const char *const refused [] = { "Mary Smith 12/03/2016", "jso", "json|text", "",
                                            "text json" };
    for (size_t i = 0; i < sizeof refused / sizeof refused [0]; i++) {
        char text [256];
        snprintf (text, sizeof text, "data:\n  dir: x\nlog:\n  format: '%s'\n", refused [i]);
        *error = 0;
        config = s_load (text, error, sizeof error);
        CU_ASSERT_PTR_NULL (config);
        CU_ASSERT_PTR_NOT_NULL (
            strstr (error, ":4: value not allowed for log/format; allowed: text, json"));
        CU_ASSERT_PTR_NULL (strstr (error, "Mary"));
        rh_config_destroy (&config);
    }
    char allowed [64];
    rh_config_choices (&s_spec [4], allowed, sizeof allowed);
    CU_ASSERT_STRING_EQUAL (allowed, "text, json");
    rh_config_choices (&s_spec [0], allowed, sizeof allowed);
    CU_ASSERT_STRING_EQUAL (allowed, "");
}

static void
test_the_spec_prints_as_help (void)
{
    char text [2048] = "";
    FILE *out = fmemopen (text, sizeof text - 1, "w");
    rh_config_print_spec (s_spec, out);
    fclose (out);
    CU_ASSERT_PTR_NOT_NULL (strstr (text, "delivery/max_attempts"));
    CU_ASSERT_PTR_NOT_NULL (strstr (text, "[1..100]"));
    CU_ASSERT_PTR_NOT_NULL (strstr (text, "(required)"));
}

void
init_rh_config_tests (void)
{
    CU_pSuite suite = CU_add_suite ("rh_config", NULL, NULL);
    CU_add_test (suite, "a config file gives typed values and defaults",
                 test_a_config_file_gives_typed_values_and_defaults);
    CU_add_test (suite, "mistakes fail at start with the line",
                 test_mistakes_fail_at_start_with_the_line);
    CU_add_test (suite, "an enum lists what is allowed and not the value",
                 test_an_enum_lists_what_is_allowed_and_not_the_value);
    CU_add_test (suite, "the spec prints as help", test_the_spec_prints_as_help);
}
