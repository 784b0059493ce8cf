/*  =========================================================================
    rh-bench-audit - writes a large audit log the way the broker does

    rh-bench-audit DATA-DIR N PKI-DIR
        appends N records through rh_audit (the broker's own code): per
        referral an ACCEPTED record with the signed message (by police-gwent
        of PKI-DIR), a DELIVERED and an ACKED record, one case per referral;
        a checkpoint signed by PKI-DIR/broker every 1,000 records.
    =========================================================================
*/
#include "rh_broker_classes.h"
#include "rhannu.pb-c.h"

int
main (int argc, char **argv)
{
    if (argc != 4) {
        fprintf (stderr, "usage: rh-bench-audit DATA-DIR N PKI-DIR\n");
        return 2;
    }
    setenv ("RH_LOG_LEVEL", "error", 0);
    long count = strtol (argv [2], NULL, 10);
    char path [PATH_MAX];
    rh_file_path (path, sizeof path, "%s/police-gwent", argv [3]);
    rh_signer_t *police = rh_signer_load (path);
    rh_file_path (path, sizeof path, "%s/broker", argv [3]);
    rh_signer_t *broker = rh_signer_load (path);
    rh_db_t *db = rh_db_open (argv [1]);
    rh_audit_t *audit = db ? rh_audit_new (db) : NULL;
    if (!police || !broker || !audit)
        return 1;
    char narrative [601];
    memset (narrative, 'n', 600);
    narrative [600] = 0;
    const char *to [] = { "la-newport" };
    struct timespec start, end;
    clock_gettime (CLOCK_MONOTONIC, &start);
    for (long i = 0; i < count;) {
        char case_id [32];
        snprintf (case_id, sizeof case_id, "BENCH-%ld", i / 3);
        Rhannu__V1__Referral referral = RHANNU__V1__REFERRAL__INIT;
        Rhannu__V1__Subject child = RHANNU__V1__SUBJECT__INIT;
        child.kind = RHANNU__V1__SUBJECT_KIND__CHILD;
        child.home_la = "newport";
        Rhannu__V1__Subject *subjects [] = { &child };
        Rhannu__V1__Category categories [] = { RHANNU__V1__CATEGORY__DOMESTIC_ABUSE };
        referral.referral_kind = RHANNU__V1__REFERRAL_KIND__PPN;
        referral.subjects = subjects;
        referral.n_subjects = 1;
        referral.categories = categories;
        referral.n_categories = 1;
        referral.narrative = narrative;
        rh_envelope_t *envelope = rh_envelope_new (RH_KIND_REFERRAL);
        uint8_t *sealed = NULL;
        size_t size = 0;
        rh_envelope_add_to_front_door (envelope, "newport", NULL);
        rh_envelope_set_case_id (envelope, case_id);
        rh_envelope_set_purpose (envelope, "SAFEGUARDING_CHILD");
        rh_envelope_set_sequence (envelope, (uint64_t) i + 1);
        if (rh_envelope_set_body (envelope, &referral.base) != 0
            || rh_envelope_sign (envelope, police) != 0
            || rh_envelope_encode (envelope, &sealed, &size) != 0)
            return 1;
        const char *msg_id = rh_envelope_msg_id (envelope);
        rh_audit_record_t accepted = { .event = "ACCEPTED",
                                       .code = "RH_OK",
                                       .msg_id = msg_id,
                                       .agency = "police-gwent",
                                       .recipients = to,
                                       .recipient_count = 1,
                                       .sealed = sealed,
                                       .sealed_size = size,
                                       .detail = "REFERRAL",
                                       .case_id = case_id };
        rh_audit_record_t delivered = { .event = "DELIVERED",
                                        .code = "RH_OK",
                                        .msg_id = msg_id,
                                        .agency = "police-gwent",
                                        .recipients = to,
                                        .recipient_count = 1 };
        rh_audit_record_t acked = { .event = "ACKED",
                                    .code = "RH_OK",
                                    .msg_id = msg_id,
                                    .agency = "la-newport",
                                    .recipients = to,
                                    .recipient_count = 1,
                                    .detail = "delivery" };
        rh_audit_record_t *records [] = { &accepted, &delivered, &acked };
        for (int r = 0; r < 3 && i < count; r++, i++) {
            rh_audit_append (audit, records [r]);
            if (i % 1000 == 999)
                rh_audit_checkpoint (audit, broker, rh_time_now_ms ());
        }
        free (sealed);
        rh_envelope_destroy (&envelope);
        if (i % 9999 < 3 && rh_db_commit (db, false) != 0)
            return 1;
    }
    rh_audit_checkpoint (audit, broker, rh_time_now_ms ());
    if (rh_db_commit (db, true) != 0)
        return 1;
    clock_gettime (CLOCK_MONOTONIC, &end);
    double seconds = (double) (end.tv_sec - start.tv_sec) + (end.tv_nsec - start.tv_nsec) / 1e9;
    printf ("bench audit: wrote %ld records (a third with signed messages) in %.1f s\n", count,
            seconds);
    rh_audit_destroy (&audit);
    rh_db_destroy (&db);
    rh_signer_destroy (&police);
    rh_signer_destroy (&broker);
    return 0;
}
