/*  =========================================================================
    fuzz_status - libFuzzer harness: what rhannu-broker status reads from
    the network (the broker's /status JSON) and the metrics/listen address
    a configuration gives. The first byte picks the reader: 0 the listen
    address (with and without allow_remote), anything else the status
    document, printed to /dev/null.
    =========================================================================
*/
#include "rh_broker_classes.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (data [0] == 0) {
        char *text = malloc (size);
        if (!text)
            return 0;
        memcpy (text, data + 1, size - 1);
        text [size - 1] = 0;
        char error [256];
        struct sockaddr_storage address;
        int strict = rh_monitor_parse_listen (text, false, &address, error, sizeof error);
        int loose = rh_monitor_parse_listen (text, true, NULL, error, sizeof error);
        //  Allowing remote addresses may only accept more, never less.
        if (strict == 0 && loose != 0)
            abort ();
        free (text);
        return 0;
    }
    FILE *out = fopen ("/dev/null", "w");
    if (!out)
        return 0;
    rh_status_print ((const char *) data + 1, size - 1, data [0] == 1 ? 0 : 1000000, out);
    fclose (out);
    return 0;
}
