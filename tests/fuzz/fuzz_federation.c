/*  =========================================================================
    fuzz_federation - libFuzzer harness: federation agreements between
    regions. Whatever parses is asked to decide crossings both ways, to
    resolve front doors and to print itself, so every structure it built
    is read.
    =========================================================================
*/
#include "rh_proto.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    char errors [4096];
    (void) rh_federation_is_federation ((const char *) data, size);
    rh_federation_t *federation =
        rh_federation_parse ((const char *) data, size, "fuzz", errors, sizeof errors);
    if (!federation)
        return 0;
    static const char *const regions [] = { "east", "west", "north" };
    static const char *const agencies [] = { "la1-fd", "la2-fd", "police-east" };
    static const char *const las [] = { "la1", "la2", "" };
    for (int kind = 1; kind < RH_KIND_COUNT; kind++)
        for (size_t from = 0; from < 3; from++)
            for (size_t to = 0; to < 3; to++) {
                char reason [RH_MAX_REASON];
                rh_federation_decide (federation, regions [from], regions [to], agencies [to],
                                      las [from], (rh_kind_t) kind, "SAFEGUARDING_CHILD",
                                      1u << (kind % 20), rh_federation_valid_from (federation),
                                      reason, sizeof reason);
            }
    for (size_t i = 0; i < 3; i++) {
        const char *agency = NULL;
        rh_federation_front_door (federation, las [i], &agency);
        rh_federation_region_named (federation, regions [i]);
    }
    for (size_t i = 0; i <= rh_federation_regions (federation); i++)
        rh_federation_region (federation, i);
    FILE *sink = fopen ("/dev/null", "w");
    if (sink) {
        rh_federation_print (federation, sink);
        fclose (sink);
    }
    rh_federation_destroy (&federation);
    return 0;
}
