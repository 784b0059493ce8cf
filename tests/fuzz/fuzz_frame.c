/*  =========================================================================
    fuzz_frame - libFuzzer harness: transport frames as the broker and agents
    receive them. A frame that decodes re-encodes to one that decodes again.
    =========================================================================
*/
#include "rh_proto.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    rh_frame_t frame;
    if (rh_frame_decode (data, size, &frame) != RH_OK)
        return 0;
    size_t again_size = 0;
    uint8_t *again = rh_frame_encode (&frame, &again_size);
    rh_frame_t copy;
    if (!again || rh_frame_decode (again, again_size, &copy) != RH_OK || copy.type != frame.type)
        abort ();
    rh_frame_release (&copy);
    rh_frame_release (&frame);
    free (again);
    return 0;
}
