/*  =========================================================================
    rh_prom - Prometheus text exposition (format 0.0.4), built in memory
    =========================================================================
*/
#include "rh_lib.h"

struct _rh_prom_t {
    char *text;       //  the exposition so far, NUL-terminated
    size_t size;      //  bytes in text
    size_t capacity;  //  bytes allocated
    bool failed;      //  an allocation failed: the text is incomplete and never handed out
};

rh_prom_t *
rh_prom_new (void)
{
    return calloc (1, sizeof (rh_prom_t));
}

void
rh_prom_destroy (rh_prom_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        free ((*self_p)->text);
        free (*self_p);
        *self_p = NULL;
    }
}

static void
s_append (rh_prom_t *self, const char *bytes, size_t size)
{
    if (self->failed)
        return;
    if (self->size + size + 1 > self->capacity) {
        size_t capacity = self->capacity ? self->capacity : 4096;
        while (self->size + size + 1 > capacity)
            capacity *= 2;
        char *grown = realloc (self->text, capacity);
        if (!grown) {
            self->failed = true;
            return;
        }
        self->text = grown;
        self->capacity = capacity;
    }
    memcpy (self->text + self->size, bytes, size);
    self->size += size;
    self->text [self->size] = 0;
}

static void
s_puts (rh_prom_t *self, const char *text)
{
    s_append (self, text, strlen (text));
}

//  Appends text with backslash and newline escaped, and the double quote too when quoted (a
//  label value): the two escapings the format defines.
static void
s_escaped (rh_prom_t *self, const char *text, bool quoted)
{
    for (const char *c = text; *c; c++) {
        if (*c == '\\')
            s_puts (self, "\\\\");
        else if (*c == '\n')
            s_puts (self, "\\n");
        else if (*c == '"' && quoted)
            s_puts (self, "\\\"");
        else
            s_append (self, c, 1);
    }
}

//  A sample value: integers without a fraction, the rest to full precision; the format's own
//  spellings for the infinities and NaN.
static void
s_number (rh_prom_t *self, double number)
{
    char text [64];
    if (isnan (number))
        snprintf (text, sizeof text, "NaN");
    else if (isinf (number))
        snprintf (text, sizeof text, number > 0 ? "+Inf" : "-Inf");
    else if (number > -9e15 && number < 9e15 && number == (double) (int64_t) number)
        snprintf (text, sizeof text, "%" PRId64, (int64_t) number);
    else
        snprintf (text, sizeof text, "%.10g", number);
    s_puts (self, text);
}

void
rh_prom_family (rh_prom_t *self, const char *name, const char *type, const char *help)
{
    assert (self && name && type && help);
    s_puts (self, "# HELP ");
    s_puts (self, name);
    s_puts (self, " ");
    s_escaped (self, help, false);
    s_puts (self, "\n# TYPE ");
    s_puts (self, name);
    s_puts (self, " ");
    s_puts (self, type);
    s_puts (self, "\n");
}

void
rh_prom_sample (rh_prom_t *self, const char *name, const char *label, const char *value,
                double number)
{
    assert (self && name);
    s_puts (self, name);
    if (label && value) {
        s_puts (self, "{");
        s_puts (self, label);
        s_puts (self, "=\"");
        s_escaped (self, value, true);
        s_puts (self, "\"}");
    }
    s_puts (self, " ");
    s_number (self, number);
    s_puts (self, "\n");
}

void
rh_prom_gauge (rh_prom_t *self, const char *name, const char *help, double number)
{
    rh_prom_family (self, name, "gauge", help);
    rh_prom_sample (self, name, NULL, NULL, number);
}

void
rh_prom_counter (rh_prom_t *self, const char *name, const char *help, double number)
{
    rh_prom_family (self, name, "counter", help);
    rh_prom_sample (self, name, NULL, NULL, number);
}

void
rh_prom_histogram (rh_prom_t *self, const char *name, const char *help, const double *bounds,
                   const uint64_t *counts, size_t bucket_count, double sum)
{
    assert (self && name && help && bounds && counts);
    rh_prom_family (self, name, "histogram", help);
    char metric [128], le [64];
    snprintf (metric, sizeof metric, "%s_bucket", name);
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= bucket_count; i++) {
        cumulative += counts [i];
        if (i < bucket_count)
            snprintf (le, sizeof le, "%g", bounds [i]);
        else
            snprintf (le, sizeof le, "+Inf");
        rh_prom_sample (self, metric, "le", le, (double) cumulative);
    }
    snprintf (metric, sizeof metric, "%s_sum", name);
    rh_prom_sample (self, metric, NULL, NULL, sum);
    snprintf (metric, sizeof metric, "%s_count", name);
    rh_prom_sample (self, metric, NULL, NULL, (double) cumulative);
}

//  Resident pages from /proc/self/statm (its second figure); 0 if unreadable.
static double
s_resident_bytes (void)
{
    FILE *file = fopen ("/proc/self/statm", "r");
    unsigned long long size = 0, resident = 0;
    if (!file)
        return 0;
    if (fscanf (file, "%llu %llu", &size, &resident) != 2)
        resident = 0;
    fclose (file);
    return (double) resident * (double) sysconf (_SC_PAGESIZE);
}

static double
s_open_fds (void)
{
    DIR *dir = opendir ("/proc/self/fd");
    double count = 0;
    if (!dir)
        return 0;
    struct dirent *entry;
    while ((entry = readdir (dir)))
        if (entry->d_name [0] != '.')
            count++;
    closedir (dir);
    return count - 1;  //  the descriptor of this very listing
}

void
rh_prom_process (rh_prom_t *self, int64_t start_ms)
{
    assert (self);
    struct timespec cpu = { 0 };
    clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &cpu);
    rh_prom_gauge (self, "process_resident_memory_bytes", "Resident memory size in bytes.",
                   s_resident_bytes ());
    rh_prom_gauge (self, "process_open_fds", "Number of open file descriptors.", s_open_fds ());
    rh_prom_counter (self, "process_cpu_seconds_total", "Total user and system CPU time spent.",
                     (double) cpu.tv_sec + (double) cpu.tv_nsec / 1e9);
    rh_prom_gauge (self, "process_start_time_seconds",
                   "Start time of the process since unix epoch in seconds.",
                   (double) start_ms / 1000.0);
}

const char *
rh_prom_text (rh_prom_t *self, size_t *size)
{
    assert (self);
    if (self->failed)
        return NULL;
    if (size)
        *size = self->size;
    return self->text ? self->text : "";
}

char *
rh_prom_take (rh_prom_t *self, size_t *size)
{
    assert (self);
    char *text = self->failed ? NULL : self->text ? self->text : strdup ("");
    if (self->failed)
        free (self->text);
    if (size)
        *size = text ? self->size : 0;
    self->text = NULL;
    self->size = self->capacity = 0;
    self->failed = false;
    return text;
}
