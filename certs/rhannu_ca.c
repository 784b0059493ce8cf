/*  =========================================================================
    rhannu-ca - the board's certificate authority tool

    rhannu-ca init DIR [--name NAME] [--days N]
    rhannu-ca issue DIR AGENCY-ID --type TYPE [--la LA] [--region REGION] [--days N]
    rhannu-ca revoke DIR AGENCY-ID [--reason REASON]
    rhannu-ca crl DIR [--days N]
    rhannu-ca list DIR
    rhannu-ca sign-agreement DIR FILE
    rhannu-ca bundle DIR [--agreements DIR] [--hours N]
    =========================================================================
*/
#include "rh_certs.h"

#define DAY_MS ((int64_t) 24 * 3600 * 1000)

static void
s_usage (FILE *out)
{
    fprintf (out,
             "usage:\n"
             "  rhannu-ca init DIR [--name NAME] [--days N]\n"
             "      create a board CA in DIR: ca.pem, ca.key (0600), crl.pem\n"
             "  rhannu-ca issue DIR AGENCY-ID --type TYPE [--la LA] [--region REGION] [--days N]\n"
             "      enrol an agency: DIR/AGENCY-ID/{cert.pem,key.pem,curve.key,curve.pub}\n"
             "      TYPE is POLICE, HEALTH, EDUCATION, VCS, LA_CHILDREN, LA_ADULTS,\n"
             "      LA_EARLY_HELP, LA_FRONT_DOOR, YOUTH_JUSTICE, PROBATION, HOUSING, FIRE,\n"
             "      IDVA, GOVERNANCE or BROKER\n"
             "  rhannu-ca revoke DIR AGENCY-ID [--reason REASON]\n"
             "      revoke the agency's certificate (and so its transport key); REASON is\n"
             "      unspecified, key-compromise, affiliation-changed, superseded or cessation\n"
             "  rhannu-ca crl DIR [--days N]\n"
             "      re-issue the CRL (do this before its next update; default %d days)\n"
             "  rhannu-ca list DIR\n"
             "      list enrolled agencies and their status\n"
             "  rhannu-ca sign-agreement DIR FILE\n"
             "      check a sharing agreement and sign it: writes FILE.sig (Ed25519 over\n"
             "      \"" RH_AGREEMENT_DOMAIN "\" 0x00 || FILE, detached)\n"
             "  rhannu-ca bundle DIR [--agreements DIR] [--hours N]\n"
             "      make the next trust bundle, DIR/" RH_BUNDLE_FILE
             ": every certificate, the CRL,\n"
             "      the front doors and the signed agreements in --agreements (the broker's\n"
             "      policy/dir); it expires after N hours (default: when the CRL does). Then\n"
             "      reload the broker (SIGHUP): it pushes the bundle to every agent\n",
             RH_CRL_DAYS);
}

//  Reads "--name value" options after the positional arguments. Returns 0 or -1.
static int
s_option (int argc, char **argv, int from, const char *name, const char **value)
{
    for (int i = from; i < argc; i++) {
        if (strcmp (argv [i], name) != 0)
            continue;
        if (i + 1 >= argc) {
            fprintf (stderr, "rhannu-ca: %s needs a value\n", name);
            return -1;
        }
        *value = argv [i + 1];
    }
    return 0;
}

//  Every argument from `from` on must be a known option followed by its value.
static int
s_only_options (int argc, char **argv, int from, const char *const *known)
{
    for (int i = from; i < argc; i += 2) {
        bool found = false;
        for (int k = 0; known [k] && !found; k++)
            found = strcmp (argv [i], known [k]) == 0;
        if (!found) {
            fprintf (stderr, "rhannu-ca: unexpected argument '%s'\n", argv [i]);
            return -1;
        }
        if (i + 1 >= argc) {
            fprintf (stderr, "rhannu-ca: %s needs a value\n", argv [i]);
            return -1;
        }
    }
    return 0;
}

static int
s_days (const char *text, int64_t *ms)
{
    *ms = 0;
    if (!text)
        return 0;
    char *end = NULL;
    long days = strtol (text, &end, 10);
    if (!end || *end || days < 1 || days > 36500) {
        fprintf (stderr, "rhannu-ca: --days must be a whole number from 1 to 36500\n");
        return -1;
    }
    *ms = rh_time_now_ms () + days * DAY_MS;
    return 0;
}

int
main (int argc, char **argv)
{
    umask (077);  //  nothing we write is for others unless we say so
    if (argc < 3 || strcmp (argv [1], "-h") == 0 || strcmp (argv [1], "--help") == 0) {
        s_usage (
            argc < 3 && !(argc == 2 && (!strcmp (argv [1], "-h") || !strcmp (argv [1], "--help")))
                ? stderr
                : stdout);
        return argc < 3 ? 2 : 0;
    }
    const char *command = argv [1], *dir = argv [2];
    const char *days_text = NULL;
    int64_t until = 0;

    if (strcmp (command, "init") == 0) {
        static const char *const known [] = { "--name", "--days", NULL };
        const char *name = NULL;
        if (s_only_options (argc, argv, 3, known) || s_option (argc, argv, 3, "--name", &name)
            || s_option (argc, argv, 3, "--days", &days_text) || s_days (days_text, &until))
            return 2;
        if (rh_ca_init (dir, name, until) != 0)
            return 1;
        printf ("created board CA in %s (ca.pem, ca.key, crl.pem)\n", dir);
        return 0;
    }
    if (strcmp (command, "issue") == 0) {
        static const char *const known [] = { "--type", "--la", "--region", "--days", NULL };
        rh_ca_request_t request = { 0 };
        if (argc < 4) {
            s_usage (stderr);
            return 2;
        }
        request.agency_id = argv [3];
        if (s_only_options (argc, argv, 4, known)
            || s_option (argc, argv, 4, "--type", &request.type)
            || s_option (argc, argv, 4, "--la", &request.la)
            || s_option (argc, argv, 4, "--region", &request.region)
            || s_option (argc, argv, 4, "--days", &days_text) || s_days (days_text, &until))
            return 2;
        if (!request.type) {
            fprintf (stderr, "rhannu-ca: issue needs --type\n");
            return 2;
        }
        request.not_after_ms = until;
        if (rh_ca_issue (dir, &request) != 0)
            return 1;
        printf ("issued %s (%s) in %s/%s\n", request.agency_id, request.type, dir,
                request.agency_id);
        return 0;
    }
    if (strcmp (command, "revoke") == 0) {
        static const char *const known [] = { "--reason", NULL };
        const char *reason_name = NULL;
        if (argc < 4) {
            s_usage (stderr);
            return 2;
        }
        if (s_only_options (argc, argv, 4, known)
            || s_option (argc, argv, 4, "--reason", &reason_name))
            return 2;
        int reason = reason_name ? rh_ca_reason_code (reason_name) : CRL_REASON_UNSPECIFIED;
        if (reason < 0) {
            fprintf (stderr, "rhannu-ca: unknown reason '%s'\n", reason_name);
            return 2;
        }
        if (rh_ca_revoke (dir, argv [3], reason) != 0)
            return 1;
        printf ("revoked %s; %s/crl.pem re-issued\n", argv [3], dir);
        return 0;
    }
    if (strcmp (command, "crl") == 0) {
        static const char *const known [] = { "--days", NULL };
        if (s_only_options (argc, argv, 3, known) || s_option (argc, argv, 3, "--days", &days_text)
            || s_days (days_text, &until))
            return 2;
        if (rh_ca_crl (dir, until) != 0)
            return 1;
        printf ("re-issued %s/crl.pem\n", dir);
        return 0;
    }
    if (strcmp (command, "list") == 0) {
        if (argc != 3) {
            s_usage (stderr);
            return 2;
        }
        return rh_ca_list (dir, stdout) == 0 ? 0 : 1;
    }
    if (strcmp (command, "sign-agreement") == 0) {
        if (argc != 4) {
            s_usage (stderr);
            return 2;
        }
        //  The board signs only what the broker would load: a broken file is refused here.
        uint8_t *data = NULL;
        size_t size = 0;
        if (rh_file_read (argv [3], RH_MAX_AGREEMENT_FILE, &data, &size) != 0) {
            fprintf (stderr, "rhannu-ca: cannot read %s: %s\n", argv [3], strerror (errno));
            return 1;
        }
        char errors [8192] = "";
        rh_agreement_t *agreement =
            rh_agreement_parse ((const char *) data, size, argv [3], errors, sizeof errors);
        free (data);
        if (!agreement) {
            fputs (errors, stderr);
            fprintf (stderr, "rhannu-ca: %s is not valid; not signed\n", argv [3]);
            return 1;
        }
        printf ("signing agreement %s version %u\n", rh_agreement_id (agreement),
                rh_agreement_version (agreement));
        rh_agreement_destroy (&agreement);
        if (rh_ca_sign_file (dir, argv [3]) != 0)
            return 1;
        printf ("wrote %s.sig\n", argv [3]);
        return 0;
    }
    if (strcmp (command, "bundle") == 0) {
        static const char *const known [] = { "--agreements", "--hours", NULL };
        const char *agreements = NULL, *hours_text = NULL;
        if (s_only_options (argc, argv, 3, known)
            || s_option (argc, argv, 3, "--agreements", &agreements)
            || s_option (argc, argv, 3, "--hours", &hours_text))
            return 2;
        int64_t expires = 0;
        if (hours_text) {
            char *end = NULL;
            double hours = strtod (hours_text, &end);
            if (!end || *end || !(hours > 0) || hours > 24.0 * 36500) {
                fprintf (stderr, "rhannu-ca: --hours must be a number above 0\n");
                return 2;
            }
            expires = rh_time_now_ms () + (int64_t) (hours * 3600 * 1000);
        }
        uint64_t version = 0;
        if (rh_bundle_make (dir, agreements, expires, &version) != 0)
            return 1;
        printf ("wrote %s/%s, version %" PRIu64 "\n", dir, RH_BUNDLE_FILE, version);
        return 0;
    }
    fprintf (stderr, "rhannu-ca: unknown command '%s'\n", command);
    s_usage (stderr);
    return 2;
}
