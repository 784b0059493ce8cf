/*  =========================================================================
    rh-bench-cases - fills a stopped broker's database with open cases

    rh-bench-cases DATA-DIR N AGREEMENT HOLDER REFERRER
        writes N open referral cases through rh_cases, the code the broker
        uses: each with an acknowledgement, reminder, outcome and escalation
        deadline (outcome due between 5 and 10 days from now) and a subject
        index entry; then the benchmark starts the broker on it.
    =========================================================================
*/
#include "rh_broker_classes.h"
#include "rhannu.pb-c.h"

#define DAY_MS (24LL * 3600 * 1000)

int
main (int argc, char **argv)
{
    if (argc != 6) {
        fprintf (stderr, "usage: rh-bench-cases DATA-DIR N AGREEMENT HOLDER REFERRER\n");
        return 2;
    }
    setenv ("RH_LOG_LEVEL", "error", 0);
    long count = strtol (argv [2], NULL, 10);
    rh_db_t *db = rh_db_open (argv [1]);
    rh_cases_t *cases = db ? rh_cases_new (db) : NULL;
    if (!cases)
        return 1;
    int64_t now = rh_time_now_ms ();
    struct timespec start, end;
    clock_gettime (CLOCK_MONOTONIC, &start);
    for (long i = 0; i < count; i++) {
        rh_case_t record;
        memset (&record, 0, sizeof record);
        snprintf (record.referral_msg_id, sizeof record.referral_msg_id,
                  "bench-case-%08ld-0000-4000-8000-000000000000", i);
        snprintf (record.case_id, sizeof record.case_id, "BENCH-%ld", i);
        snprintf (record.referrer, sizeof record.referrer, "%s", argv [5]);
        snprintf (record.referrer_author, sizeof record.referrer_author, "PC-%ld", i % 997);
        snprintf (record.holder, sizeof record.holder, "%s", argv [4]);
        snprintf (record.agreement_id, sizeof record.agreement_id, "%s", argv [3]);
        record.state = RHANNU__V1__CASE_STATE__CASE_ACKNOWLEDGED;
        record.received_ms = now;
        record.acknowledged_ms = now;
        rh_cases_involve (&record, argv [5]);
        int64_t due = now + 5 * DAY_MS + (int64_t) ((i * 7919) % count) * (5 * DAY_MS) / count;
        rh_cases_set_timer (cases, &record, RH_TIMER_REMINDER, due - DAY_MS);
        rh_cases_set_timer (cases, &record, RH_TIMER_OUTCOME, due);
        rh_cases_set_timer (cases, &record, RH_TIMER_ESCALATE, due + 2 * DAY_MS);
        crypto_generichash (record.subject_keys [0], RH_SUBJECT_KEY_LEN,
                            (const uint8_t *) record.referral_msg_id,
                            strlen (record.referral_msg_id), NULL, 0);
        record.subject_count = 1;
        rh_cases_note_subject (cases, record.subject_keys [0], now, record.referral_msg_id,
                               RH_SUBJECT_PENDING);
        rh_cases_put (cases, &record);
        if (i % 10000 == 9999 && rh_db_commit (db, false) != 0)
            return 1;
    }
    if (rh_db_commit (db, true) != 0)
        return 1;
    clock_gettime (CLOCK_MONOTONIC, &end);
    double seconds = (double) (end.tv_sec - start.tv_sec) + (end.tv_nsec - start.tv_nsec) / 1e9;
    printf ("bench cases: wrote %ld open cases with 3 deadlines each in %.1f s\n", count, seconds);
    rh_cases_destroy (&cases);
    rh_db_destroy (&db);
    return 0;
}
