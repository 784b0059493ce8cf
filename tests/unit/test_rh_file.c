/*  =========================================================================
    test_rh_file - whole-file reads with limits, durable atomic writes
    =========================================================================
*/
#include "test_helpers.h"

static void
test_atomic_write_then_read_returns_the_same_bytes (void)
{
    char dir [PATH_MAX], path [PATH_MAX];
    test_tempdir (dir, sizeof dir);
    rh_file_path (path, sizeof path, "%s/note.txt", dir);
    CU_ASSERT_EQUAL (rh_file_write_atomic (path, "hello", 5, 0644), 0);
    uint8_t *data = NULL;
    size_t size = 0;
    CU_ASSERT_EQUAL_FATAL (rh_file_read (path, 100, &data, &size), 0);
    CU_ASSERT_EQUAL (size, 5);
    CU_ASSERT_STRING_EQUAL ((char *) data, "hello");
    free (data);
    //  No temporary file is left behind.
    rh_file_path (path, sizeof path, "%s/note.txt.tmp", dir);
    CU_ASSERT_FALSE (rh_file_exists (path));
}

static void
test_a_file_over_the_limit_is_refused_with_efbig (void)
{
    char dir [PATH_MAX], path [PATH_MAX];
    test_tempdir (dir, sizeof dir);
    rh_file_path (path, sizeof path, "%s/big", dir);
    CU_ASSERT_EQUAL (rh_file_write_atomic (path, "0123456789", 10, 0644), 0);
    uint8_t *data = NULL;
    size_t size = 0;
    CU_ASSERT_EQUAL (rh_file_read (path, 9, &data, &size), -1);
    CU_ASSERT_EQUAL (errno, EFBIG);
    CU_ASSERT_PTR_NULL (data);
    CU_ASSERT_EQUAL (rh_file_read (path, 10, &data, &size), 0);
    free (data);
}

static void
test_a_secret_readable_by_others_is_refused (void)
{
    char dir [PATH_MAX], path [PATH_MAX];
    test_tempdir (dir, sizeof dir);
    rh_file_path (path, sizeof path, "%s/secret", dir);
    CU_ASSERT_EQUAL (rh_file_write_atomic (path, "k", 1, 0600), 0);
    struct stat st;
    CU_ASSERT_EQUAL (stat (path, &st), 0);
    CU_ASSERT_EQUAL (st.st_mode & 0777, 0600);
    uint8_t *data = NULL;
    size_t size = 0;
    CU_ASSERT_EQUAL (rh_file_read_secret (path, 10, &data, &size), 0);
    free (data);
    data = NULL;
    CU_ASSERT_EQUAL (chmod (path, 0640), 0);
    CU_ASSERT_EQUAL (rh_file_read_secret (path, 10, &data, &size), -1);
    CU_ASSERT_EQUAL (errno, EPERM);
    CU_ASSERT_PTR_NULL (data);
}

static void
test_a_path_that_does_not_fit_becomes_empty (void)
{
    char small [8];
    CU_ASSERT_EQUAL (rh_file_path (small, sizeof small, "%s/%s", "abc", "def"), 0);
    CU_ASSERT_STRING_EQUAL (small, "abc/def");
    CU_ASSERT_EQUAL (rh_file_path (small, sizeof small, "%s/%s", "abcd", "efgh"), -1);
    CU_ASSERT_STRING_EQUAL (small, "");
}

void
init_rh_file_tests (void)
{
    CU_pSuite suite = CU_add_suite ("rh_file", NULL, NULL);
    CU_add_test (suite, "atomic write then read returns the same bytes",
                 test_atomic_write_then_read_returns_the_same_bytes);
    CU_add_test (suite, "a file over the limit is refused with EFBIG",
                 test_a_file_over_the_limit_is_refused_with_efbig);
    CU_add_test (suite, "a secret readable by others is refused",
                 test_a_secret_readable_by_others_is_refused);
    CU_add_test (suite, "a path that does not fit becomes empty",
                 test_a_path_that_does_not_fit_becomes_empty);
}
