/*  =========================================================================
    test_rh_yaml - the walk shared by agreement files: values, keys, lists,
    and errors that name their line and always end it
    =========================================================================
*/
#include "test_helpers.h"

static bool
s_count (rh_yaml_t *yaml, yaml_node_t *item, void *arg)
{
    const char *text = rh_yaml_scalar (yaml, item, "an entry");
    if (text && strcmp (text, "bad") == 0) {
        rh_yaml_error (yaml, item, "entry '%s' is refused", text);
        return false;
    }
    (*(int *) arg)++;
    return true;
}

static void
test_a_file_is_walked_key_by_key (void)
{
    const char *text = "id: fed-1\n"
                       "version: 3\n"
                       "strict: yes\n"
                       "from: 2030-01-02\n"
                       "kinds: [REFERRAL, OUTCOME]\n";
    char errors [1024] = "junk from before";
    rh_yaml_t *yaml = rh_yaml_new (text, strlen (text), "t.yaml", errors, sizeof errors);
    CU_ASSERT_PTR_NOT_NULL_FATAL (yaml);
    CU_ASSERT_STRING_EQUAL (errors, "");
    yaml_node_t *root = rh_yaml_root (yaml);
    CU_ASSERT_PTR_NOT_NULL_FATAL (root);
    static const char *const keys [] = { "id", "version", "strict", "from", "kinds", NULL };
    CU_ASSERT (rh_yaml_keys (yaml, root, "the file", keys));
    char id [6] = "";  //  fed-1 and its NUL: no byte to spare
    CU_ASSERT (
        rh_yaml_copy (yaml, rh_yaml_need (yaml, root, "id", "the file"), "id", id, sizeof id));
    CU_ASSERT_STRING_EQUAL (id, "fed-1");
    int64_t version = 0;
    CU_ASSERT (rh_yaml_int (yaml, rh_yaml_get (yaml, root, "version"), "version", 1, 10, &version));
    CU_ASSERT_EQUAL (version, 3);
    bool strict = false;
    CU_ASSERT (rh_yaml_bool (yaml, rh_yaml_get (yaml, root, "strict"), "strict", &strict));
    CU_ASSERT (strict);
    int64_t from = 0;
    CU_ASSERT (rh_yaml_date (yaml, rh_yaml_get (yaml, root, "from"), "from", &from));
    CU_ASSERT_EQUAL (from, 1893542400000LL);  //  2030-01-02T00:00:00Z
    int count = 0;
    CU_ASSERT (rh_yaml_each (yaml, rh_yaml_get (yaml, root, "kinds"), "kinds", s_count, &count));
    CU_ASSERT_EQUAL (count, 2);
    CU_ASSERT_PTR_NULL (rh_yaml_get (yaml, root, "absent"));
    CU_ASSERT_EQUAL (rh_yaml_error_count (yaml), 0);
    CU_ASSERT (rh_yaml_finish (yaml, true));
    CU_ASSERT_STRING_EQUAL (errors, "");
    rh_yaml_destroy (&yaml);
    CU_ASSERT_PTR_NULL (yaml);
    rh_yaml_destroy (&yaml);
}

//  A walker on text, which must load.
static rh_yaml_t *
s_load (const char *text, const char *name, char *errors, size_t size)
{
    rh_yaml_t *yaml = rh_yaml_new (text, strlen (text), name, errors, size);
    CU_ASSERT_PTR_NOT_NULL_FATAL (yaml);
    return yaml;
}

//  libyaml counts lines from 0; an operator's editor counts from 1.
static void
test_an_error_names_the_line_it_stands_on (void)
{
    const char *text = "id: a\n"
                       "version: x\n"
                       "\n"
                       "  # a comment\n"
                       "colour: red\n";
    char errors [1024];
    rh_yaml_t *yaml = s_load (text, "t.yaml", errors, sizeof errors);
    yaml_node_t *root = rh_yaml_root (yaml);
    static const char *const keys [] = { "id", "version", NULL };
    CU_ASSERT (rh_yaml_keys (yaml, root, "the file", keys));
    int64_t version = 0;
    CU_ASSERT (
        !rh_yaml_int (yaml, rh_yaml_get (yaml, root, "version"), "version", 1, 10, &version));
    rh_yaml_error (yaml, NULL, "the whole file");
    CU_ASSERT_STRING_EQUAL (errors,
                            "t.yaml:5: unknown key 'colour' in the file (expected one of: id, "
                            "version)\n"
                            "t.yaml:2: version must be a whole number from 1 to 10, not 'x'\n"
                            "t.yaml:0: the whole file\n");
    CU_ASSERT (!rh_yaml_finish (yaml, true));
    rh_yaml_destroy (&yaml);

    //  Bytes libyaml refuses: the line is where it stopped reading.
    const char *broken = "id: a\nkinds: [REFERRAL\n";
    yaml = rh_yaml_new (broken, strlen (broken), "b.yaml", errors, sizeof errors);
    CU_ASSERT_PTR_NULL (yaml);
    CU_ASSERT_NSTRING_EQUAL (errors, "b.yaml:3: not valid YAML: ", 26);
    CU_ASSERT_EQUAL (errors [strlen (errors) - 1], '\n');
}

//  One run lists every problem: an unknown or repeated key is no reason to stop.
static void
test_unknown_and_repeated_keys_are_all_reported (void)
{
    const char *text = "a: 1\nb: 2\na: 3\n? [x]\n: 4\nz: 5\n";
    char errors [1024];
    rh_yaml_t *yaml = s_load (text, "k", errors, sizeof errors);
    yaml_node_t *root = rh_yaml_root (yaml);
    static const char *const keys [] = { "a", "b", NULL };
    CU_ASSERT (rh_yaml_keys (yaml, root, "m", keys));
    CU_ASSERT_EQUAL (rh_yaml_error_count (yaml), 3);
    CU_ASSERT (strstr (errors, "k:3: key 'a' appears twice in m\n") != NULL);
    CU_ASSERT (strstr (errors, "k:4: m: keys must be plain names\n") != NULL);
    CU_ASSERT (strstr (errors, "k:6: unknown key 'z' in m (expected one of: a, b)\n") != NULL);
    //  the first of a repeated key is the one read
    int64_t a = 0;
    CU_ASSERT (rh_yaml_int (yaml, rh_yaml_get (yaml, root, "a"), "a", 0, 9, &a));
    CU_ASSERT_EQUAL (a, 1);
    //  what is no mapping cannot be walked further
    CU_ASSERT (!rh_yaml_keys (yaml, rh_yaml_get (yaml, root, "b"), "b", keys));
    CU_ASSERT (strstr (errors, "k:2: b must be a mapping of keys to values\n") != NULL);
    CU_ASSERT (!rh_yaml_keys (yaml, NULL, "nothing", keys));
    CU_ASSERT_PTR_NULL (rh_yaml_need (yaml, root, "c", "m"));
    CU_ASSERT (strstr (errors, "k:1: m needs 'c'\n") != NULL);
    CU_ASSERT (!rh_yaml_finish (yaml, true));
    rh_yaml_destroy (&yaml);
}

static void
test_values_of_the_wrong_shape_are_refused (void)
{
    const char *text = "n: 11\n"
                       "b: maybe\n"
                       "d: 2030-02-30x\n"
                       "s: [a]\n"
                       "long: abcdef\n"
                       "list: [one, [two], bad, three]\n"
                       "map: {k: v}\n";
    char errors [2048];
    rh_yaml_t *yaml = s_load (text, "v", errors, sizeof errors);
    yaml_node_t *root = rh_yaml_root (yaml);
    int64_t n = 7;
    CU_ASSERT (!rh_yaml_int (yaml, rh_yaml_get (yaml, root, "n"), "n", 1, 10, &n));
    CU_ASSERT_EQUAL (n, 7);
    bool b = true;
    CU_ASSERT (!rh_yaml_bool (yaml, rh_yaml_get (yaml, root, "b"), "b", &b));
    int64_t d = 0;
    CU_ASSERT (!rh_yaml_date (yaml, rh_yaml_get (yaml, root, "d"), "d", &d));
    CU_ASSERT_PTR_NULL (rh_yaml_scalar (yaml, rh_yaml_get (yaml, root, "s"), "s"));
    char small [6] = "";
    CU_ASSERT (!rh_yaml_copy (yaml, rh_yaml_get (yaml, root, "long"), "long", small, sizeof small));
    CU_ASSERT_STRING_EQUAL (small, "");
    int count = 0;
    CU_ASSERT (!rh_yaml_each (yaml, rh_yaml_get (yaml, root, "list"), "list", s_count, &count));
    CU_ASSERT_EQUAL (count, 2);  //  one and three: the walk goes past the bad entries
    CU_ASSERT (!rh_yaml_each (yaml, rh_yaml_get (yaml, root, "map"), "map", s_count, &count));
    CU_ASSERT (rh_yaml_each (yaml, NULL, "absent", s_count, &count));
    CU_ASSERT_STRING_EQUAL (errors, "v:1: n must be a whole number from 1 to 10, not '11'\n"
                                    "v:2: b must be true or false, not 'maybe'\n"
                                    "v:3: d must be a date written YYYY-MM-DD, not '2030-02-30x'\n"
                                    "v:4: s must be a single value\n"
                                    "v:5: long is longer than 5 characters\n"
                                    "v:6: list: each entry must be a single value\n"
                                    "v:6: entry 'bad' is refused\n"
                                    "v:7: map must be a value or a list of values\n");
    rh_yaml_destroy (&yaml);
}

static void
test_a_list_longer_than_the_limit_is_refused (void)
{
    char text [8 * (RH_MAX_LIST + 2)] = "l: [";
    for (int i = 0; i <= RH_MAX_LIST; i++)
        strcat (text, i ? ", x" : "x");
    strcat (text, "]\n");
    char errors [256];
    rh_yaml_t *yaml = s_load (text, "l", errors, sizeof errors);
    int count = 0;
    CU_ASSERT (
        !rh_yaml_each (yaml, rh_yaml_get (yaml, rh_yaml_root (yaml), "l"), "l", s_count, &count));
    CU_ASSERT_EQUAL (count, 0);
    CU_ASSERT (strstr (errors, "l has more than") != NULL);
    rh_yaml_destroy (&yaml);
}

//  The caller's buffer may be small: every line it holds ends in a newline, and nothing is
//  written past its end.
static void
test_a_full_error_buffer_keeps_whole_lines (void)
{
    const char *text = "a: 1\n";
    for (size_t size = 1; size < 80; size++) {
        char errors [96];
        memset (errors, 'Z', sizeof errors);
        rh_yaml_t *yaml = s_load (text, "file.yaml", errors, size);
        yaml_node_t *root = rh_yaml_root (yaml);
        for (int i = 0; i < 3; i++)
            rh_yaml_error (yaml, root, "problem number %d is rather long to tell", i);
        size_t length = strlen (errors);
        CU_ASSERT (length < size);
        CU_ASSERT (length == 0 || errors [length - 1] == '\n');
        CU_ASSERT (errors [0] != '\n' && strstr (errors, "\n\n") == NULL);  //  no empty line
        CU_ASSERT (errors [size] == 'Z');
        rh_yaml_destroy (&yaml);
    }
    //  Without a buffer, problems are still counted.
    rh_yaml_t *yaml = rh_yaml_new (text, strlen (text), "f", NULL, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL (yaml);
    rh_yaml_error (yaml, NULL, "x");
    CU_ASSERT_EQUAL (rh_yaml_error_count (yaml), 1);
    rh_yaml_destroy (&yaml);
}

static void
test_problems_past_the_limit_are_counted_not_listed (void)
{
    const char *text = "a: 1\n";
    char errors [4096];
    rh_yaml_t *yaml = s_load (text, "f", errors, sizeof errors);
    for (int i = 0; i < RH_MAX_AGREEMENT_ERRORS + 5; i++)
        rh_yaml_error (yaml, NULL, "problem %d", i);
    CU_ASSERT (!rh_yaml_finish (yaml, true));
    size_t lines = 0;
    for (const char *c = errors; *c; c++)
        lines += *c == '\n';
    CU_ASSERT_EQUAL (lines, RH_MAX_AGREEMENT_ERRORS + 1);
    CU_ASSERT (strstr (errors, "\nf: 5 more problems not shown\n") != NULL);
    rh_yaml_destroy (&yaml);
}

static void
test_a_file_is_one_document_of_bounded_size (void)
{
    char errors [256];
    const char *two = "a: 1\n---\nb: 2\n";
    rh_yaml_t *yaml = s_load (two, "f", errors, sizeof errors);
    CU_ASSERT_PTR_NOT_NULL (rh_yaml_root (yaml));
    CU_ASSERT (!rh_yaml_finish (yaml, true));
    CU_ASSERT_STRING_EQUAL (errors, "f:0: the file holds more than one YAML document\n");
    rh_yaml_destroy (&yaml);

    yaml = rh_yaml_new ("", 0, "f", errors, sizeof errors);
    CU_ASSERT_PTR_NOT_NULL_FATAL (yaml);
    CU_ASSERT_PTR_NULL (rh_yaml_root (yaml));
    CU_ASSERT_STRING_EQUAL (errors, "f:0: the file is empty\n");
    rh_yaml_destroy (&yaml);

    //  A walk that failed and said nothing ran out of memory.
    yaml = s_load ("a: 1\n", "f", errors, sizeof errors);
    CU_ASSERT (!rh_yaml_finish (yaml, false));
    CU_ASSERT_STRING_EQUAL (errors, "f:0: out of memory\n");
    rh_yaml_destroy (&yaml);

    CU_ASSERT_PTR_NULL (
        rh_yaml_new ("a: 1\n", RH_MAX_AGREEMENT_FILE + 1, "f", errors, sizeof errors));
    CU_ASSERT (strstr (errors, "f:0: the file is larger than") == errors);
}

void init_rh_yaml_tests (void);

void
init_rh_yaml_tests (void)
{
    CU_pSuite suite = CU_add_suite ("rh_yaml", NULL, NULL);
    CU_add_test (suite, "a file is walked key by key", test_a_file_is_walked_key_by_key);
    CU_add_test (suite, "an error names the line it stands on",
                 test_an_error_names_the_line_it_stands_on);
    CU_add_test (suite, "unknown and repeated keys are all reported",
                 test_unknown_and_repeated_keys_are_all_reported);
    CU_add_test (suite, "values of the wrong shape are refused",
                 test_values_of_the_wrong_shape_are_refused);
    CU_add_test (suite, "a list longer than the limit is refused",
                 test_a_list_longer_than_the_limit_is_refused);
    CU_add_test (suite, "a full error buffer keeps whole lines",
                 test_a_full_error_buffer_keeps_whole_lines);
    CU_add_test (suite, "problems past the limit are counted, not listed",
                 test_problems_past_the_limit_are_counted_not_listed);
    CU_add_test (suite, "a file is one document of bounded size",
                 test_a_file_is_one_document_of_bounded_size);
}
