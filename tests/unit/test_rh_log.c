/*  =========================================================================
    test_rh_log - operator log lines: text, json, and the journal's priorities
    =========================================================================
*/
#include "test_helpers.h"

//  Runs one rh_log call with stderr sent to a file and returns what was written (caller frees).
//  journal: set JOURNAL_STREAM to that file's device and inode, as systemd does for a unit.
static char *
s_capture (bool journal, rh_log_level_t level, const char *component, const char *message)
{
    char dir [PATH_MAX], path [PATH_MAX];
    test_tempdir (dir, sizeof dir);
    rh_file_path (path, sizeof path, "%s/stderr", dir);
    fflush (stderr);
    int saved = dup (STDERR_FILENO);
    int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CU_ASSERT_FATAL (saved >= 0 && fd >= 0);
    dup2 (fd, STDERR_FILENO);
    close (fd);
    char *level_before = getenv ("RH_LOG_LEVEL") ? strdup (getenv ("RH_LOG_LEVEL")) : NULL;
    setenv ("RH_LOG_LEVEL", "debug", 1);
    if (journal) {
        struct stat st;
        fstat (STDERR_FILENO, &st);
        char stream [64];
        snprintf (stream, sizeof stream, "%llu:%llu", (unsigned long long) st.st_dev,
                  (unsigned long long) st.st_ino);
        setenv ("JOURNAL_STREAM", stream, 1);
    }
    else
        setenv ("JOURNAL_STREAM", "1:1", 1);  //  inherited from a parent: not this stderr
    rh_log (level, component, "%s", message);
    fflush (stderr);
    unsetenv ("JOURNAL_STREAM");
    if (level_before) {
        setenv ("RH_LOG_LEVEL", level_before, 1);
        free (level_before);
    }
    else
        unsetenv ("RH_LOG_LEVEL");
    dup2 (saved, STDERR_FILENO);
    close (saved);
    uint8_t *data = NULL;
    size_t size = 0;
    CU_ASSERT_EQUAL_FATAL (rh_file_read (path, 1 << 16, &data, &size), 0);
    char *text = calloc (1, size + 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL (text);
    memcpy (text, data, size);
    free (data);
    return text;
}

static void
test_a_text_line_has_time_level_and_component (void)
{
    rh_log_set_format (RH_LOG_TEXT);
    char *text = s_capture (false, RH_LOG_WARN, "broker", "queue of gwent-cs is full");
    //  2026-12-01T14:10:15.123Z WARN  broker: ...
    CU_ASSERT_EQUAL (strlen (text) > 25 && text [4] == '-' && text [10] == 'T' && text [23] == 'Z',
                     true);
    CU_ASSERT_PTR_NOT_NULL (strstr (text, " WARN  broker: queue of gwent-cs is full\n"));
    CU_ASSERT_NOT_EQUAL (text [0], '<');
    free (text);
}

static void
test_the_journal_gets_priorities_and_no_time (void)
{
    rh_log_set_format (RH_LOG_TEXT);
    const rh_log_level_t levels [] = { RH_LOG_ERROR, RH_LOG_WARN, RH_LOG_INFO, RH_LOG_DEBUG };
    const char *expected [] = { "<3>agent: up\n", "<4>agent: up\n", "<6>agent: up\n",
                                "<7>agent: up\n" };
    for (size_t k = 0; k < 4; k++) {
        char *text = s_capture (true, levels [k], "agent", "up");
        CU_ASSERT_STRING_EQUAL (text, expected [k]);
        free (text);
    }
}

static void
test_a_json_line_is_one_escaped_object (void)
{
    rh_log_set_format (RH_LOG_JSON);
    const char *message = "said \"no\"\n\tthen \\ left";
    char *text = s_capture (false, RH_LOG_ERROR, "wit\"ness", message);
    //  One line: the newline in the message is escaped, the only one ends the object.
    CU_ASSERT_PTR_EQUAL (strchr (text, '\n'), text + strlen (text) - 1);
    json_error_t error;
    json_t *object = json_loads (text, 0, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL (object);
    CU_ASSERT_EQUAL (json_object_size (object), 4);
    CU_ASSERT_STRING_EQUAL (json_string_value (json_object_get (object, "level")), "error");
    CU_ASSERT_STRING_EQUAL (json_string_value (json_object_get (object, "component")), "wit\"ness");
    CU_ASSERT_STRING_EQUAL (json_string_value (json_object_get (object, "message")), message);
    const char *time = json_string_value (json_object_get (object, "time"));
    CU_ASSERT_EQUAL (time && strlen (time) == 24 && time [23] == 'Z', true);
    json_decref (object);
    free (text);

    //  Bytes that are not UTF-8 do not lose the line.
    text = s_capture (true, RH_LOG_INFO, "broker", "bad \xff byte");
    CU_ASSERT_EQUAL (strncmp (text, "<6>{", 4), 0);
    object = json_loads (text + 3, 0, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL (object);
    CU_ASSERT_STRING_EQUAL (json_string_value (json_object_get (object, "message")), "bad ? byte");
    json_decref (object);
    free (text);
    rh_log_set_format (RH_LOG_TEXT);
}

static void
test_format_names_are_text_and_json (void)
{
    CU_ASSERT_EQUAL (rh_log_set_format_name ("json"), 0);
    CU_ASSERT_EQUAL (rh_log_set_format_name ("JSON"), -1);
    CU_ASSERT_EQUAL (rh_log_set_format_name (NULL), -1);
    char *text = s_capture (false, RH_LOG_INFO, "broker", "still json");
    CU_ASSERT_EQUAL (text [0], '{');
    free (text);
    CU_ASSERT_EQUAL (rh_log_set_format_name ("text"), 0);
}

void
init_rh_log_tests (void)
{
    CU_pSuite suite = CU_add_suite ("rh_log", NULL, NULL);
    CU_add_test (suite, "a text line has time, level and component",
                 test_a_text_line_has_time_level_and_component);
    CU_add_test (suite, "the journal gets priorities and no time",
                 test_the_journal_gets_priorities_and_no_time);
    CU_add_test (suite, "a json line is one escaped object",
                 test_a_json_line_is_one_escaped_object);
    CU_add_test (suite, "format names are text and json", test_format_names_are_text_and_json);
}
