/*  =========================================================================
    test_rh_federation - federation agreements: parsing, errors with lines,
    the federated directory, and what may cross in which direction
    =========================================================================
*/
#include "test_helpers.h"
#include "rhannu.pb-c.h"

#define VECTOR RH_SOURCE_DIR "/tests/vectors/federation/two-regions.yaml"

static rh_federation_t *
s_load (char **text, size_t *size)
{
    uint8_t *data = NULL;
    CU_ASSERT_FATAL (rh_file_read (VECTOR, RH_MAX_AGREEMENT_FILE, &data, size) == 0);
    *text = (char *) data;
    char errors [4096] = "";
    rh_federation_t *federation =
        rh_federation_parse (*text, *size, "two-regions", errors, sizeof errors);
    if (!federation)
        fprintf (stderr, "%s", errors);
    return federation;
}

static void
test_parse_and_directory (void)
{
    char *text = NULL;
    size_t size = 0;
    rh_federation_t *federation = s_load (&text, &size);
    CU_ASSERT_FATAL (federation != NULL);
    CU_ASSERT (rh_federation_is_federation (text, size));
    CU_ASSERT_STRING_EQUAL (rh_federation_id (federation), "fed-east-west");
    CU_ASSERT_EQUAL (rh_federation_version (federation), 1);
    CU_ASSERT_EQUAL (rh_federation_regions (federation), 2);
    const rh_fed_region_t *west = rh_federation_region_named (federation, "west");
    CU_ASSERT_FATAL (west != NULL);
    CU_ASSERT_STRING_EQUAL (west->broker_cn, "broker-west");
    CU_ASSERT_STRING_EQUAL (west->log_origin, "rhannu.example/west");
    CU_ASSERT_PTR_NULL (rh_federation_region_named (federation, "east")->log_origin);
    CU_ASSERT_STRING_EQUAL (west->broker_endpoint, "tcp://127.0.0.1:6555");
    CU_ASSERT_EQUAL (west->ca_sha256 [0], 0x22);
    const char *agency = NULL;
    CU_ASSERT_PTR_EQUAL (rh_federation_front_door (federation, "la2", &agency), west);
    CU_ASSERT_STRING_EQUAL (agency, "la2-fd");
    CU_ASSERT_PTR_NULL (rh_federation_front_door (federation, "la9", &agency));
    CU_ASSERT_PTR_NULL (rh_federation_region_named (federation, "north"));
    CU_ASSERT_PTR_NULL (rh_federation_region (federation, 2));
    rh_federation_destroy (&federation);
    CU_ASSERT_PTR_NULL (federation);
    free (text);
}

static void
test_decide (void)
{
    char *text = NULL;
    size_t size = 0;
    rh_federation_t *federation = s_load (&text, &size);
    CU_ASSERT_FATAL (federation != NULL);
    int64_t now = rh_federation_valid_from (federation) + 1000;
    uint32_t cce = 1u << RHANNU__V1__CATEGORY__CCE;
    char reason [RH_MAX_REASON];
    //  la1's front door may transfer a CCE case east to west
    CU_ASSERT_EQUAL (rh_federation_decide (federation, "east", "west", "la1-fd", "la1",
                                           RH_KIND_TRANSFER, "SAFEGUARDING_CHILD", cce, now, reason,
                                           sizeof reason),
                     RH_FED_ALLOW);
    //  ... but no other agency of east is trusted to cross
    CU_ASSERT_EQUAL (rh_federation_decide (federation, "east", "west", "police-east", "la1",
                                           RH_KIND_TRANSFER, "SAFEGUARDING_CHILD", cce, now, reason,
                                           sizeof reason),
                     RH_FED_NOT_COVERED);
    CU_ASSERT (strstr (reason, "does not trust") != NULL);
    //  a kind or purpose the crossing does not name stays
    CU_ASSERT_EQUAL (rh_federation_decide (federation, "east", "west", "la1-fd", "la1",
                                           RH_KIND_ALERT, "SAFEGUARDING_CHILD", cce, now, reason,
                                           sizeof reason),
                     RH_FED_NOT_ALLOWED);
    CU_ASSERT_EQUAL (rh_federation_decide (federation, "east", "west", "la1-fd", "la1",
                                           RH_KIND_TRANSFER, "CRIME_PREVENTION", cce, now, reason,
                                           sizeof reason),
                     RH_FED_NOT_ALLOWED);
    //  every category must be allowed: CCE and DOMESTIC_ABUSE is refused
    uint32_t other = 1u << 1;
    CU_ASSERT ((other
                & ((1u << RHANNU__V1__CATEGORY__CCE) | (1u << RHANNU__V1__CATEGORY__CSE)
                   | (1u << RHANNU__V1__CATEGORY__MISSING)))
               == 0);
    CU_ASSERT_EQUAL (rh_federation_decide (federation, "east", "west", "la1-fd", "la1",
                                           RH_KIND_TRANSFER, "SAFEGUARDING_CHILD", cce | other, now,
                                           reason, sizeof reason),
                     RH_FED_NOT_ALLOWED);
    //  the way back: any agency of la2 may send receipts and outcomes, any category
    CU_ASSERT_EQUAL (rh_federation_decide (federation, "west", "east", "la2-fd", "la2",
                                           RH_KIND_OUTCOME, "SAFEGUARDING_CHILD", other, now,
                                           reason, sizeof reason),
                     RH_FED_ALLOW);
    //  directions are not symmetric
    CU_ASSERT_EQUAL (rh_federation_decide (federation, "west", "east", "la2-fd", "la2",
                                           RH_KIND_TRANSFER, "SAFEGUARDING_CHILD", cce, now, reason,
                                           sizeof reason),
                     RH_FED_NOT_ALLOWED);
    CU_ASSERT_EQUAL (rh_federation_decide (federation, "west", "north", "la2-fd", "la2",
                                           RH_KIND_OUTCOME, "SAFEGUARDING_CHILD", 0, now, reason,
                                           sizeof reason),
                     RH_FED_NO_REGION);
    CU_ASSERT_EQUAL (rh_federation_decide (federation, "east", "west", "la1-fd", "la1",
                                           RH_KIND_TRANSFER, "SAFEGUARDING_CHILD", cce,
                                           rh_federation_valid_to (federation) + 1, reason,
                                           sizeof reason),
                     RH_FED_NOT_IN_FORCE);
    CU_ASSERT_STRING_EQUAL (rh_federation_decide_name (RH_FED_NOT_COVERED), "not_covered");
    rh_federation_destroy (&federation);
    free (text);
}

//  Each broken variant is refused and the error names the line of the problem.
static void
test_errors (void)
{
    static const struct {
        const char *from, *to, *expect;
    } cases [] = {
        { "    broker_cn: broker-west\n", "    broker_cn: broker-west\n    colour: red\n",
          ":21: unknown key 'colour'" },
        { "  - from: west\n    to: east\n", "  - from: west\n    to: south\n",
          "'south' is no region" },
        { "ca_sha256: 2222", "ca_sha256: zz22", "hex digits" },
        { "kinds: [TRANSFER, REFERRAL]", "kinds: [TRANSFER, TELEGRAM]", "unknown message kind" },
        { "    las: [la2]\n", "", "names the agencies it trusts" },
        { "{ la: la2, agency: la2-fd }", "{ la: la1, agency: la2-fd }", "has two front doors" },
        { "valid_to: 2030-12-31", "valid_to: 2020-12-31", "before valid_from" },
        { "log_origin: rhannu.example/west", "log_origin: rhannu example", "checkpoint origin" },
        { "    broker_cn: broker-east\n",
          "    broker_cn: broker-east\n    log_origin: rhannu.example/west\n",
          "log_origin 'rhannu.example/west' is also region 'east''s" },
    };
    char *text = NULL;
    size_t size = 0;
    rh_federation_t *good = s_load (&text, &size);
    CU_ASSERT_FATAL (good != NULL);
    rh_federation_destroy (&good);
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        const char *at = strstr (text, cases [i].from);
        CU_ASSERT_FATAL (at != NULL);
        char broken [8192];
        snprintf (broken, sizeof broken, "%.*s%s%s", (int) (at - text), text, cases [i].to,
                  at + strlen (cases [i].from));
        char errors [4096] = "";
        rh_federation_t *federation =
            rh_federation_parse (broken, strlen (broken), "f", errors, sizeof errors);
        CU_ASSERT_PTR_NULL (federation);
        if (!strstr (errors, cases [i].expect))
            fprintf (stderr, "case %zu: expected '%s' in:\n%s", i, cases [i].expect, errors);
        CU_ASSERT (strstr (errors, cases [i].expect) != NULL);
        rh_federation_destroy (&federation);
    }
    //  One run lists every problem: a region's unknown key does not hide its bad endpoint.
    const char *at = strstr (text, "broker_endpoint: tcp://127.0.0.1:6555");
    CU_ASSERT_FATAL (at != NULL);
    char broken [8192];
    snprintf (broken, sizeof broken, "%.*scolour: red\n    broker_endpoint: udp://x%s",
              (int) (at - text), text, at + strlen ("broker_endpoint: tcp://127.0.0.1:6555"));
    char errors [4096] = "";
    CU_ASSERT_PTR_NULL (rh_federation_parse (broken, strlen (broken), "f", errors, sizeof errors));
    CU_ASSERT (strstr (errors, "f:19: unknown key 'colour' in a region (expected one of: ")
               != NULL);
    CU_ASSERT (strstr (errors, "f:20: broker_endpoint must be tcp://HOST:PORT") != NULL);
    //  An ordinary sharing agreement is not taken for a federation agreement.
    CU_ASSERT (!rh_federation_is_federation ("# x\nid: a\nfederation: b\n", 24));
    CU_ASSERT (rh_federation_is_federation ("# x\n---\nfederation:\n", 20));
    free (text);
}

void init_rh_federation_tests (void);

void
init_rh_federation_tests (void)
{
    CU_pSuite suite = CU_add_suite ("rh_federation", NULL, NULL);
    CU_add_test (suite, "parse and the federated directory", test_parse_and_directory);
    CU_add_test (suite, "what may cross, in which direction", test_decide);
    CU_add_test (suite, "errors name their line", test_errors);
}
