/*  =========================================================================
    fuzz_agreement - libFuzzer harness: agreement files as people edit them.
    Whatever parses is then asked to decide a handful of messages, to find a
    front door and to print itself, so that every structure the parser built
    is also read.
    =========================================================================
*/
#include "rh_proto.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    char errors [4096];
    rh_agreement_t *agreement =
        rh_agreement_parse ((const char *) data, size, "fuzz", errors, sizeof errors);
    if (!agreement)
        return 0;
    static const char *const ids [] = { "police-gwent", "la-newport", "health-abb", "vcs-da" };
    const char *home [] = { "newport", "cardiff" };
    for (int kind = 1; kind < RH_KIND_COUNT; kind++)
        for (size_t from = 0; from < 4; from++)
            for (size_t to = 0; to < 4; to++) {
                rh_facts_t facts = { .kind = (rh_kind_t) kind,
                                     .sender = ids [from],
                                     .sender_unit = "MASH",
                                     .purpose = (kind & 1) ? "SAFEGUARDING_CHILD" : "",
                                     .categories = 1u << (kind % 20),
                                     .route = (uint32_t) (kind % 9),
                                     .subject_kinds = 1u << (kind % 6),
                                     .home_las = { home [0], home [1] },
                                     .home_la_count = (size_t) (kind % 3),
                                     .has_consent = kind & 2,
                                     .consent_state = (uint32_t) (kind % 6),
                                     .capacity = (uint32_t) (kind % 3),
                                     .consent_scope = (uint32_t) kind << 1,
                                     .transfer_to_la = "" };
                rh_party_ref_t sender = { ids [from], (uint32_t) (from + 1), "newport", "gwent" };
                rh_party_ref_t recipient = { ids [to], (uint32_t) (to + 4), home [to & 1], "" };
                rh_decision_t decision;
                rh_agreement_decide (agreement, &facts, &sender, &recipient, &decision);
            }
    const char *label = NULL;
    bool by_alias = false;
    rh_agreement_front_door (agreement, "newport", "MASH", &label, &by_alias);
    rh_agreement_has_role (agreement, "la-newport", "front_door");
    FILE *sink = fopen ("/dev/null", "w");
    if (sink) {
        rh_agreement_print (agreement, sink);
        fclose (sink);
    }
    rh_agreement_destroy (&agreement);
    return 0;
}
