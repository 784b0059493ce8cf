/*  =========================================================================
    test_rh_prom - Prometheus text exposition, and the monitor's listen check
    =========================================================================
*/
#include "test_helpers.h"
#include "rh_broker_classes.h"

static void
test_a_gauge_has_help_type_and_sample_lines (void)
{
    rh_prom_t *prom = rh_prom_new ();
    CU_ASSERT_PTR_NOT_NULL_FATAL (prom);
    rh_prom_gauge (prom, "rhannu_x", "Things now.", 3);
    rh_prom_counter (prom, "rhannu_y_total", "Things ever.", 2.5);
    size_t size = 0;
    const char *text = rh_prom_text (prom, &size);
    CU_ASSERT_STRING_EQUAL (text, "# HELP rhannu_x Things now.\n# TYPE rhannu_x gauge\n"
                                  "rhannu_x 3\n"
                                  "# HELP rhannu_y_total Things ever.\n"
                                  "# TYPE rhannu_y_total counter\nrhannu_y_total 2.5\n");
    CU_ASSERT_EQUAL (size, strlen (text));
    rh_prom_destroy (&prom);
    CU_ASSERT_PTR_NULL (prom);
}

static void
test_label_values_and_help_are_escaped (void)
{
    rh_prom_t *prom = rh_prom_new ();
    CU_ASSERT_PTR_NOT_NULL_FATAL (prom);
    rh_prom_family (prom, "rhannu_q", "gauge", "a \\ b\nc \"d\"");
    rh_prom_sample (prom, "rhannu_q", "agency", "a\"b\\c\nd", 1);
    CU_ASSERT_STRING_EQUAL (rh_prom_text (prom, NULL),
                            "# HELP rhannu_q a \\\\ b\\nc \"d\"\n# TYPE rhannu_q gauge\n"
                            "rhannu_q{agency=\"a\\\"b\\\\c\\nd\"} 1\n");
    rh_prom_destroy (&prom);
}

static void
test_a_histogram_is_cumulative_with_sum_and_count (void)
{
    rh_prom_t *prom = rh_prom_new ();
    CU_ASSERT_PTR_NOT_NULL_FATAL (prom);
    const double bounds [] = { 1, 10 };
    const uint64_t counts [] = { 2, 3, 1 };
    rh_prom_histogram (prom, "rhannu_h", "Sizes.", bounds, counts, 2, 40);
    CU_ASSERT_STRING_EQUAL (rh_prom_text (prom, NULL),
                            "# HELP rhannu_h Sizes.\n# TYPE rhannu_h histogram\n"
                            "rhannu_h_bucket{le=\"1\"} 2\nrhannu_h_bucket{le=\"10\"} 5\n"
                            "rhannu_h_bucket{le=\"+Inf\"} 6\nrhannu_h_sum 40\n"
                            "rhannu_h_count 6\n");
    size_t size = 0;
    char *taken = rh_prom_take (prom, &size);
    CU_ASSERT_PTR_NOT_NULL_FATAL (taken);
    CU_ASSERT_EQUAL (size, strlen (taken));
    CU_ASSERT_STRING_EQUAL (rh_prom_text (prom, NULL), "");
    free (taken);
    rh_prom_destroy (&prom);
}

static void
test_process_figures_are_plausible (void)
{
    rh_prom_t *prom = rh_prom_new ();
    CU_ASSERT_PTR_NOT_NULL_FATAL (prom);
    rh_prom_process (prom, 1700000000000);
    const char *text = rh_prom_text (prom, NULL);
    CU_ASSERT_PTR_NOT_NULL (strstr (text, "\nprocess_start_time_seconds 1700000000\n"));
    const char *rss = strstr (text, "\nprocess_resident_memory_bytes ");
    CU_ASSERT_PTR_NOT_NULL_FATAL (rss);
    CU_ASSERT (atof (rss + 31) > 1e5);
    const char *fds = strstr (text, "\nprocess_open_fds ");
    CU_ASSERT_PTR_NOT_NULL_FATAL (fds);
    CU_ASSERT (atoi (fds + 18) >= 3);
    rh_prom_destroy (&prom);
}

static void
test_the_monitor_listens_on_loopback_unless_told_otherwise (void)
{
    char error [256];
    struct sockaddr_storage address;
    CU_ASSERT_EQUAL (
        rh_monitor_parse_listen ("127.0.0.1:9464", false, &address, error, sizeof error), 0);
    CU_ASSERT_EQUAL (address.ss_family, AF_INET);
    CU_ASSERT_EQUAL (rh_monitor_parse_listen ("localhost:9464", false, NULL, error, sizeof error),
                     0);
    CU_ASSERT_EQUAL (rh_monitor_parse_listen ("[::1]:9464", false, &address, error, sizeof error),
                     0);
    CU_ASSERT_EQUAL (address.ss_family, AF_INET6);
    CU_ASSERT_EQUAL (rh_monitor_parse_listen ("0.0.0.0:9464", false, NULL, error, sizeof error),
                     -1);
    CU_ASSERT_PTR_NOT_NULL (strstr (error, "metrics/allow_remote"));
    CU_ASSERT_EQUAL (rh_monitor_parse_listen ("10.1.2.3:9464", false, NULL, error, sizeof error),
                     -1);
    CU_ASSERT_EQUAL (rh_monitor_parse_listen ("[::]:9464", false, NULL, error, sizeof error), -1);
    CU_ASSERT_EQUAL (rh_monitor_parse_listen ("0.0.0.0:9464", true, NULL, error, sizeof error), 0);
    CU_ASSERT_EQUAL (rh_monitor_parse_listen ("127.0.0.1", false, NULL, error, sizeof error), -1);
    CU_ASSERT_EQUAL (rh_monitor_parse_listen ("127.0.0.1:0", false, NULL, error, sizeof error), -1);
    CU_ASSERT_EQUAL (rh_monitor_parse_listen ("127.0.0.1:70000", false, NULL, error, sizeof error),
                     -1);
    CU_ASSERT_EQUAL (rh_monitor_parse_listen ("127.0.0.1:9x", false, NULL, error, sizeof error),
                     -1);
    CU_ASSERT_EQUAL (rh_monitor_parse_listen ("example.org:80", true, NULL, error, sizeof error),
                     -1);
}

static void
test_the_status_table_shows_each_agency (void)
{
    const char *json = "{\"broker\": \"broker\", \"now_ms\": 1000000, \"not_ready\": \"no CRL\","
                       " \"agencies\": [{\"agency\": \"la-newport\", \"connected\": false,"
                       " \"queued\": 12, \"oldest_ms\": 1000000, \"dead_letters\": 1},"
                       " {\"agency\": \"police\", \"connected\": true, \"queued\": 0,"
                       " \"oldest_ms\": 0, \"dead_letters\": 0}]}";
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&text, &size);
    CU_ASSERT_PTR_NOT_NULL_FATAL (out);
    CU_ASSERT_EQUAL (rh_status_print (json, strlen (json), 1000000 + 200 * 1000, out), 0);
    fclose (out);
    CU_ASSERT_PTR_NOT_NULL (strstr (text, "NOT READY: no CRL"));
    CU_ASSERT_PTR_NOT_NULL (strstr (text, "la-newport                       no              12 "
                                          "3m 20s                1\n"));
    CU_ASSERT_PTR_NOT_NULL (strstr (text, "police                           yes              0 -"));
    free (text);
    out = open_memstream (&text, &size);
    CU_ASSERT_EQUAL (rh_status_print ("{\"agencies\": 3}", 15, 0, out), -1);
    CU_ASSERT_EQUAL (rh_status_print ("not json", 8, 0, out), -1);
    fclose (out);
    free (text);
}

void
init_rh_prom_tests (void)
{
    CU_pSuite suite = CU_add_suite ("rh_prom", NULL, NULL);
    CU_add_test (suite, "a gauge has help, type and sample lines",
                 test_a_gauge_has_help_type_and_sample_lines);
    CU_add_test (suite, "label values and help are escaped",
                 test_label_values_and_help_are_escaped);
    CU_add_test (suite, "a histogram is cumulative, with sum and count",
                 test_a_histogram_is_cumulative_with_sum_and_count);
    CU_add_test (suite, "process figures are plausible", test_process_figures_are_plausible);
    CU_add_test (suite, "the monitor listens on loopback unless told otherwise",
                 test_the_monitor_listens_on_loopback_unless_told_otherwise);
    CU_add_test (suite, "the status table shows each agency",
                 test_the_status_table_shows_each_agency);
}
