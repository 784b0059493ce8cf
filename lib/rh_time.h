/*  =========================================================================
    rh_time - wall-clock milliseconds and ASN.1 time conversion
    =========================================================================
*/
#ifndef RH_TIME_H_INCLUDED
#define RH_TIME_H_INCLUDED

//  Milliseconds since the Unix epoch, UTC, from the real-time clock.
int64_t rh_time_now_ms (void);

//  Tests only (a tool's clock/offset_file): the milliseconds written in the file at path, to
//  add to the clock; -1 if path is empty, or the file does not read as a non-negative number.
int64_t rh_time_offset_file (const char *path);

//  Converts an ASN.1 time to milliseconds since the epoch. Returns 0 on success, -1 if the time
//  does not parse.
int rh_time_from_asn1 (const ASN1_TIME *asn1, int64_t *ms);

//  Formats milliseconds since the epoch as "YYYY-MM-DDTHH:MM:SSZ" into buffer (at least 21 bytes).
const char *rh_time_format (int64_t ms, char *buffer, size_t size);

#endif
