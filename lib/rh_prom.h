/*  =========================================================================
    rh_prom - Prometheus text exposition (format 0.0.4), built in memory

    A scrape is one text: for each metric family a # HELP and a # TYPE
    line, then its samples. Help text escapes backslash and newline; label
    values escape backslash, double quote and newline, so an agency id can
    never break a line or forge a label. A failed allocation poisons the
    builder: rh_prom_text then returns NULL rather than a truncated page.
    =========================================================================
*/
#ifndef RH_PROM_H_INCLUDED
#define RH_PROM_H_INCLUDED

typedef struct _rh_prom_t rh_prom_t;

//  An empty exposition. NULL on failure.
rh_prom_t *rh_prom_new (void);

void rh_prom_destroy (rh_prom_t **self_p);

//  Starts a metric family: its # HELP and # TYPE lines. type is "gauge", "counter" or
//  "histogram"; name must be a valid metric name (the caller's constant).
void rh_prom_family (rh_prom_t *self, const char *name, const char *type, const char *help);

//  One sample of the family just started: name{label="value"} number. label may be NULL (no
//  labels); value is escaped.
void rh_prom_sample (rh_prom_t *self, const char *name, const char *label, const char *value,
                     double number);

//  A family with one unlabelled sample: family and sample in one call.
void rh_prom_gauge (rh_prom_t *self, const char *name, const char *help, double number);
void rh_prom_counter (rh_prom_t *self, const char *name, const char *help, double number);

//  A whole histogram family: counts [i] observations fell at or below bounds [i] and above
//  bounds [i - 1] (not cumulative), counts [bucket_count] above the last bound; sum is the sum of
//  the observations. Written as cumulative _bucket{le=...}, _sum and _count.
void rh_prom_histogram (rh_prom_t *self, const char *name, const char *help, const double *bounds,
                        const uint64_t *counts, size_t bucket_count, double sum);

//  The process figures every exporter gives: resident memory, open descriptors, CPU seconds
//  and start time (start_ms: when the process started, in Unix milliseconds).
void rh_prom_process (rh_prom_t *self, int64_t start_ms);

//  The text so far (borrowed, NUL-terminated), its size in size if not NULL; NULL if an
//  allocation failed on the way.
const char *rh_prom_text (rh_prom_t *self, size_t *size);

//  Takes the text out of the builder (the caller frees it); NULL if an allocation failed. The
//  builder is empty afterwards.
char *rh_prom_take (rh_prom_t *self, size_t *size);

#endif
