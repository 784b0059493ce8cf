/*  =========================================================================
    rh-bench-policy - the cost of the broker's agreement decisions

    rh-bench-policy write DIR AGENCY:TYPE:LA...
        writes five agreements (40 rules each, 200 in all; 40 parties) into
        DIR, with the given agencies as referrers and the LA_FRONT_DOOR as the
        front door; the rule that allows a referral to the front door is the
        39th rule of the last agreement, so a decision walks past 194 rules
        that almost match (same kind, other category or purpose).
    rh-bench-policy time DIR PKI SENDER FRONT-DOOR [N]
        loads DIR (signed: rhannu-ca sign-agreement), then times what the
        broker does per message: facts from the envelope, then a decision
        for the recipient; and separately the per-recipient redacted copy.
    =========================================================================
*/
#include "rh_broker_classes.h"
#include "rhannu.pb-c.h"

#define AGREEMENTS 5
#define RULES      40
#define PARTIES    40

static const char *const s_kinds [] = { "OUTCOME",       "STATUS_UPDATE", "INFO_REQUEST",
                                        "INFO_RESPONSE", "TRANSFER",      "STRATEGY_MEETING",
                                        "CHALLENGE",     "USER_FEEDBACK" };
static const char *const s_categories [] = { "CSE",      "CCE",         "COUNTY_LINES",
                                             "MISSING",  "NEGLECT",     "SELF_NEGLECT",
                                             "HOARDING", "SEXUAL_ABUSE" };
static const char *const s_types [] = { "POLICE",        "HEALTH",  "EDUCATION", "VCS",
                                        "LA_EARLY_HELP", "HOUSING", "PROBATION", "YOUTH_JUSTICE" };

static int
s_write (const char *dir, int argc, char **argv)
{
    rh_file_mkdir (dir, 0755);
    for (int a = 0; a < AGREEMENTS; a++) {
        char path [PATH_MAX];
        rh_file_path (path, sizeof path, "%s/bench-%d.yaml", dir, a);
        FILE *out = fopen (path, "w");
        if (!out)
            return 1;
        fprintf (out,
                 "id: BENCH-%d\nversion: 1\nvalid_from: 2024-01-01\nvalid_to: 2099-12-31\n"
                 "purposes: [SAFEGUARDING_CHILD, SAFEGUARDING_ADULT, EARLY_HELP, "
                 "REFERRER_FEEDBACK, AUDIT]\nparties:\n",
                 a);
        int written = 0;
        for (int i = 0; i < argc; i++) {
            char id [RH_MAX_ID + 1] = "", type [32] = "", la [RH_MAX_ID + 1] = "";
            sscanf (argv [i], "%64[^:]:%31[^:]:%64s", id, type, la);
            if (!strcmp (type, "LA_FRONT_DOOR"))
                fprintf (out,
                         "  - {id: %s, roles: [front_door], front_door_for: [%s], aliases: "
                         "[IAA, MASH]}\n",
                         id, la);
            else
                fprintf (out, "  - {id: %s, roles: [referrer, partner]}\n", id);
            written++;
        }
        //  Other agencies of the region, so that party lookups are not trivially short.
        for (int i = written; i < PARTIES; i++)
            fprintf (out, "  - {id: agency-%02d, type: %s, roles: [%s]}\n", i, s_types [i % 8],
                     i % 3 ? "partner" : "referrer");
        fprintf (out, "rules:\n");
        for (int r = 0; r < RULES - 2; r++) {
            if (r % 2) {
                //  A referral rule for another category: same kind, fails late.
                fprintf (out,
                         "  - id: A%d-R%d\n    kinds: [REFERRAL]\n    from: {role: referrer}\n"
                         "    to: {front_door_of: subject}\n    purposes: [SAFEGUARDING_CHILD]\n"
                         "    categories: [%s]\n    consent: {required: true, unless: "
                         "[SIGNIFICANT_HARM]}\n    fields: all\n",
                         a, r, s_categories [r % 8]);
            }
            else {
                fprintf (out,
                         "  - id: A%d-R%d\n    kinds: [%s]\n    from: {role: front_door}\n"
                         "    to: {role: [partner, referrer]}\n    fields: all\n",
                         a, r, s_kinds [r % 8]);
            }
        }
        if (a == AGREEMENTS - 1)
            fprintf (out,
                     "  - id: DA-REFERRAL\n    kinds: [REFERRAL]\n    from: {role: referrer}\n"
                     "    to: {front_door_of: subject}\n    purposes: [SAFEGUARDING_CHILD]\n"
                     "    categories: [DOMESTIC_ABUSE]\n    consent: {required: true, unless: "
                     "[CHILD_PROTECTION, SIGNIFICANT_HARM, LACKS_CAPACITY], family_aware: true}\n"
                     "    fields: all\n");
        else
            fprintf (out, "  - id: A%d-R%d\n    kinds: [CHALLENGE]\n    fields: [grounds]\n", a,
                     RULES - 2);
        fprintf (out, "  - {id: A%d-R99, effect: deny}\n", a);
        //  Deadlines as a region would set them: every referral opens a case with timers.
        fprintf (out, "obligations:\n  acknowledge_hours: 24\n  outcome_days: {default: 5, "
                      "DUTY_TO_REPORT: 7}\n  reminder_hours_before: 24\n  escalate_after_days: 2\n"
                      "  escalate_to: front_door\n  feedback_to: [referrer, supervisor]\n"
                      "  repeat_referrals: {count: 3, window_days: 90, notify: [front_door]}\n");
        fclose (out);
    }
    return 0;
}

static double
s_seconds (void)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return (double) now.tv_sec + (double) now.tv_nsec / 1e9;
}

static int
s_time (const char *dir, const char *pki, const char *sender_id, const char *front_door, long n)
{
    char ca [PATH_MAX], errors [8192] = "", agency_dir [PATH_MAX];
    rh_file_path (ca, sizeof ca, "%s/ca.pem", pki);
    rh_policy_t *policy = rh_policy_load (dir, ca, rh_time_now_ms (), errors, sizeof errors);
    if (!policy) {
        fprintf (stderr, "%s", errors);
        return 1;
    }
    size_t rules = 0, parties = 0;
    for (size_t i = 0; i < rh_policy_size (policy); i++) {
        rules += rh_agreement_rules (rh_policy_agreement (policy, i));
        parties += rh_agreement_parties (rh_policy_agreement (policy, i));
    }
    rh_file_path (agency_dir, sizeof agency_dir, "%s/%s", pki, sender_id);
    rh_signer_t *signer = rh_signer_load (agency_dir);
    rh_certstore_t *store = rh_certstore_load_dir (pki);
    if (!signer || !store)
        return 1;
    //  The benchmark's referral, as bench_e2e sends it.
    Rhannu__V1__Referral referral = RHANNU__V1__REFERRAL__INIT;
    Rhannu__V1__Subject child = RHANNU__V1__SUBJECT__INIT;
    Rhannu__V1__Consent consent = RHANNU__V1__CONSENT__INIT;
    child.kind = RHANNU__V1__SUBJECT_KIND__CHILD;
    child.home_la = "newport";
    Rhannu__V1__Subject *subjects [] = { &child };
    Rhannu__V1__Category categories [] = { RHANNU__V1__CATEGORY__DOMESTIC_ABUSE };
    consent.state = RHANNU__V1__CONSENT_STATE__NOT_REQUIRED_SIGNIFICANT_HARM;
    consent.family_aware = true;
    char narrative [701];
    memset (narrative, 'x', 700);
    narrative [700] = 0;
    referral.referral_kind = RHANNU__V1__REFERRAL_KIND__PPN;
    referral.subjects = subjects;
    referral.n_subjects = 1;
    referral.categories = categories;
    referral.n_categories = 1;
    referral.narrative = narrative;
    referral.consent = &consent;
    rh_envelope_t *envelope = rh_envelope_new (RH_KIND_REFERRAL);
    rh_envelope_add_to_front_door (envelope, "newport", NULL);
    rh_envelope_set_purpose (envelope, "SAFEGUARDING_CHILD");
    if (rh_envelope_set_body (envelope, &referral.base) || rh_envelope_sign (envelope, signer))
        return 1;
    uint8_t *sealed = NULL;
    size_t size = 0;
    rh_envelope_encode (envelope, &sealed, &size);
    rh_envelope_t *received = NULL;
    if (rh_envelope_decode (sealed, size, &received) != RH_OK)
        return 1;
    const rh_identity_t *sender_identity = NULL, *recipient_identity = NULL;
    for (size_t i = 0; i < rh_certstore_size (store); i++) {
        const rh_identity_t *id = rh_certstore_identity (store, i);
        if (!strcmp (id->agency_id, sender_id))
            sender_identity = id;
        if (!strcmp (id->agency_id, front_door))
            recipient_identity = id;
    }
    if (!sender_identity || !recipient_identity)
        return 1;
    int64_t now = rh_time_now_ms ();
    rh_decision_t decision;
    long allowed = 0;
    double start = s_seconds ();
    for (long i = 0; i < n; i++) {
        rh_facts_t facts;
        rh_party_ref_t sender, recipient;
        rh_policy_facts (received, &facts);
        rh_policy_party (sender_identity, &sender);
        rh_policy_party (recipient_identity, &recipient);
        rh_policy_decide (policy, &facts, "", &sender, &recipient, now, &decision);
        allowed += decision.result == RH_DECIDE_ALLOW;
    }
    double decide_us = (s_seconds () - start) * 1e6 / (double) n;
    if (allowed != n) {
        fprintf (stderr, "bench policy: the referral was not allowed: %s\n", decision.reason);
        return 1;
    }
    //  A recipient whose rule withholds fields gets its own copy: decode, redact, encode.
    uint32_t keep [] = { 1, 2, 3 };
    long copies = n / 10 > 0 ? n / 10 : 1;
    start = s_seconds ();
    for (long i = 0; i < copies; i++) {
        rh_envelope_t *copy = NULL;
        uint8_t *redacted = NULL;
        size_t redacted_size = 0;
        if (rh_envelope_decode (sealed, size, &copy) == RH_OK
            && rh_envelope_redact (copy, keep, 3) == 0)
            rh_envelope_encode (copy, &redacted, &redacted_size);
        free (redacted);
        rh_envelope_destroy (&copy);
    }
    double redact_us = (s_seconds () - start) * 1e6 / (double) copies;
    printf ("bench policy: %zu agreements, %zu rules, %zu party entries; allowed by %s rule %s\n",
            rh_policy_size (policy), rules, parties, rh_agreement_id (decision.agreement),
            decision.rule_id);
    printf ("bench policy: decision (facts + decide, one recipient) %.2f us; redacted copy per "
            "recipient %.2f us\n",
            decide_us, redact_us);
    printf ("decision_us=%.3f redact_us=%.3f\n", decide_us, redact_us);
    free (sealed);
    rh_envelope_destroy (&received);
    rh_envelope_destroy (&envelope);
    rh_certstore_destroy (&store);
    rh_signer_destroy (&signer);
    rh_policy_destroy (&policy);
    return 0;
}

int
main (int argc, char **argv)
{
    setenv ("RH_LOG_LEVEL", "error", 0);
    if (argc >= 3 && !strcmp (argv [1], "write"))
        return s_write (argv [2], argc - 3, argv + 3);
    if (argc >= 6 && !strcmp (argv [1], "time"))
        return s_time (argv [2], argv [3], argv [4], argv [5],
                       argc > 6 ? strtol (argv [6], NULL, 10) : 200000);
    fprintf (stderr, "usage: rh-bench-policy write DIR AGENCY:TYPE:LA...\n"
                     "       rh-bench-policy time DIR PKI SENDER FRONT-DOOR [N]\n");
    return 2;
}
