/*  =========================================================================
    rh_yaml - walks one YAML document of an agreement file, reporting each
    problem with the line it stands on

    Every byte here comes from a file an operator was given, so nothing is
    assumed of the document's shape: a node may be of any type or missing,
    and each check says what it wanted. libyaml counts lines from 0; the
    errors count them from 1, as editors do.
    =========================================================================
*/
#include "rh_proto.h"

struct _rh_yaml_t {
    yaml_parser_t parser;      //  kept after loading: a second document is looked for at the end
    yaml_document_t document;  //  the document walked
    bool parser_ready;         //  parser initialised (to delete)
    bool document_ready;       //  document loaded (to delete)
    const char *name;          //  the file's name in errors (borrowed)
    char *errors;              //  caller's buffer for error lines (borrowed; may be NULL)
    size_t errors_size;        //  its size
    size_t error_count;        //  problems reported, listed or not
};

//  --------------------------------------------------------------------------
//  Appends text to the error lines, keeping one byte free for the line's newline.

static void s_append (rh_yaml_t *self, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));
static void s_vappend (rh_yaml_t *self, const char *format, va_list args)
    __attribute__ ((format (printf, 2, 0)));

static void
s_vappend (rh_yaml_t *self, const char *format, va_list args)
{
    size_t used = strlen (self->errors);
    if (used + 1 < self->errors_size)
        vsnprintf (self->errors + used, self->errors_size - used - 1, format, args);
}

static void
s_append (rh_yaml_t *self, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    s_vappend (self, format, args);
    va_end (args);
}

//  --------------------------------------------------------------------------
//  True if a new error line fits: at least one character, its newline and the NUL. A line
//  started with less room could not end in a newline.

static bool
s_line_fits (const rh_yaml_t *self)
{
    return self->errors && self->errors_size && strlen (self->errors) + 2 < self->errors_size;
}

//  --------------------------------------------------------------------------
//  Ends the error line that s_append wrote; the byte it kept free is there for the newline.

static void
s_end_line (rh_yaml_t *self)
{
    size_t used = strlen (self->errors);
    if (used + 1 < self->errors_size) {
        self->errors [used] = '\n';
        self->errors [used + 1] = 0;
    }
}

void
rh_yaml_verror (rh_yaml_t *self, const yaml_node_t *node, const char *format, va_list args)
{
    assert (self);
    self->error_count++;
    if (self->error_count > RH_MAX_AGREEMENT_ERRORS || !s_line_fits (self))
        return;
    s_append (self, "%s:%zu: ", self->name, node ? node->start_mark.line + 1 : (size_t) 0);
    s_vappend (self, format, args);
    s_end_line (self);
}

void
rh_yaml_error (rh_yaml_t *self, const yaml_node_t *node, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    rh_yaml_verror (self, node, format, args);
    va_end (args);
}

//  --------------------------------------------------------------------------
//  Loads text as a document. Returns NULL with the problem reported: too large, not YAML, or
//  out of memory. The caller's errors are emptied first.

rh_yaml_t *
rh_yaml_new (const char *text, size_t size, const char *name, char *errors, size_t errors_size)
{
    assert (name);
    if (errors && errors_size)
        *errors = 0;
    //  A walker on the stack reports what stops the real one from being made.
    rh_yaml_t early = { .name = name, .errors = errors, .errors_size = errors_size };
    if (size > RH_MAX_AGREEMENT_FILE) {
        rh_yaml_error (&early, NULL, "the file is larger than %d bytes", RH_MAX_AGREEMENT_FILE);
        return NULL;
    }
    rh_yaml_t *self = calloc (1, sizeof *self);
    if (!self || !yaml_parser_initialize (&self->parser)) {
        rh_yaml_error (&early, NULL, "out of memory");
        free (self);
        return NULL;
    }
    self->parser_ready = true;
    self->name = name;
    self->errors = errors;
    self->errors_size = errors_size;
    yaml_parser_set_input_string (&self->parser, (const unsigned char *) text, size);
    if (!yaml_parser_load (&self->parser, &self->document)) {
        const yaml_parser_t *parser = &self->parser;
        yaml_node_t where = { .start_mark = parser->problem_mark };
        rh_yaml_error (self, &where, "not valid YAML: %s%s%s",
                       parser->problem ? parser->problem : "?", parser->context ? " " : "",
                       parser->context ? parser->context : "");
        rh_yaml_destroy (&self);
        return NULL;
    }
    self->document_ready = true;
    return self;
}

void
rh_yaml_destroy (rh_yaml_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        rh_yaml_t *self = *self_p;
        if (self->document_ready)
            yaml_document_delete (&self->document);
        if (self->parser_ready)
            yaml_parser_delete (&self->parser);
        free (self);
        *self_p = NULL;
    }
}

yaml_node_t *
rh_yaml_root (rh_yaml_t *self)
{
    assert (self);
    yaml_node_t *root = yaml_document_get_root_node (&self->document);
    if (!root)
        rh_yaml_error (self, NULL, "the file is empty");
    return root;
}

bool
rh_yaml_finish (rh_yaml_t *self, bool walked)
{
    assert (self);
    bool good = walked && self->error_count == 0;
    //  A second document in the same file would be silently ignored: refuse it instead.
    if (good) {
        yaml_document_t extra;
        if (yaml_parser_load (&self->parser, &extra)) {
            if (yaml_document_get_root_node (&extra)) {
                rh_yaml_error (self, NULL, "the file holds more than one YAML document");
                good = false;
            }
            yaml_document_delete (&extra);
        }
    }
    if (self->error_count > RH_MAX_AGREEMENT_ERRORS && s_line_fits (self)) {
        s_append (self, "%s: %zu more problems not shown", self->name,
                  self->error_count - RH_MAX_AGREEMENT_ERRORS);
        s_end_line (self);
    }
    //  Every check reports what it refuses; a walk that failed silently ran out of memory.
    if (!good && self->error_count == 0)
        rh_yaml_error (self, NULL, "out of memory");
    return good;
}

size_t
rh_yaml_error_count (const rh_yaml_t *self)
{
    assert (self);
    return self->error_count;
}

yaml_node_t *
rh_yaml_node (rh_yaml_t *self, int index)
{
    assert (self);
    return yaml_document_get_node (&self->document, index);
}

const char *
rh_yaml_scalar (rh_yaml_t *self, yaml_node_t *node, const char *what)
{
    assert (self);
    if (!node || node->type != YAML_SCALAR_NODE) {
        rh_yaml_error (self, node, "%s must be a single value", what);
        return NULL;
    }
    return (const char *) node->data.scalar.value;
}

yaml_node_t *
rh_yaml_get (rh_yaml_t *self, yaml_node_t *map, const char *key)
{
    assert (self);
    if (!map || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top;
         pair++) {
        yaml_node_t *name = rh_yaml_node (self, pair->key);
        if (name && name->type == YAML_SCALAR_NODE
            && strcmp ((const char *) name->data.scalar.value, key) == 0)
            return rh_yaml_node (self, pair->value);
    }
    return NULL;
}

yaml_node_t *
rh_yaml_need (rh_yaml_t *self, yaml_node_t *map, const char *key, const char *what)
{
    yaml_node_t *value = rh_yaml_get (self, map, key);
    if (!value)
        rh_yaml_error (self, map, "%s needs '%s'", what, key);
    return value;
}

bool
rh_yaml_keys (rh_yaml_t *self, yaml_node_t *map, const char *what, const char *const *allowed)
{
    assert (self && allowed);
    if (!map || map->type != YAML_MAPPING_NODE) {
        rh_yaml_error (self, map, "%s must be a mapping of keys to values", what);
        return false;
    }
    for (yaml_node_pair_t *pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top;
         pair++) {
        yaml_node_t *name = rh_yaml_node (self, pair->key);
        if (!name || name->type != YAML_SCALAR_NODE) {
            rh_yaml_error (self, name, "%s: keys must be plain names", what);
            continue;
        }
        const char *key = (const char *) name->data.scalar.value;
        bool known = false;
        for (size_t i = 0; allowed [i] && !known; i++)
            known = strcmp (allowed [i], key) == 0;
        if (!known) {
            char list [512] = "";
            for (size_t i = 0; allowed [i]; i++) {
                size_t used = strlen (list);
                snprintf (list + used, sizeof list - used, "%s%s", i ? ", " : "", allowed [i]);
            }
            rh_yaml_error (self, name, "unknown key '%s' in %s (expected one of: %s)", key, what,
                           list);
        }
        for (yaml_node_pair_t *earlier = map->data.mapping.pairs.start; earlier < pair; earlier++) {
            yaml_node_t *other = rh_yaml_node (self, earlier->key);
            if (other && other->type == YAML_SCALAR_NODE
                && strcmp ((const char *) other->data.scalar.value, key) == 0)
                rh_yaml_error (self, name, "key '%s' appears twice in %s", key, what);
        }
    }
    return true;
}

bool
rh_yaml_each (rh_yaml_t *self, yaml_node_t *node, const char *what, rh_yaml_item_fn *each,
              void *arg)
{
    assert (self && each);
    if (!node)
        return true;
    if (node->type == YAML_SCALAR_NODE)
        return each (self, node, arg);
    if (node->type != YAML_SEQUENCE_NODE) {
        rh_yaml_error (self, node, "%s must be a value or a list of values", what);
        return false;
    }
    if (node->data.sequence.items.top - node->data.sequence.items.start > RH_MAX_LIST) {
        rh_yaml_error (self, node, "%s has more than %d entries", what, RH_MAX_LIST);
        return false;
    }
    bool good = true;
    for (yaml_node_item_t *item = node->data.sequence.items.start;
         item < node->data.sequence.items.top; item++) {
        yaml_node_t *value = rh_yaml_node (self, *item);
        if (!value || value->type != YAML_SCALAR_NODE) {
            rh_yaml_error (self, value, "%s: each entry must be a single value", what);
            good = false;
        }
        else
            good = each (self, value, arg) && good;
    }
    return good;
}

bool
rh_yaml_copy (rh_yaml_t *self, yaml_node_t *node, const char *what, char *to, size_t size)
{
    assert (to && size);
    const char *text = rh_yaml_scalar (self, node, what);
    if (!text)
        return false;
    if (strlen (text) >= size) {
        rh_yaml_error (self, node, "%s is longer than %zu characters", what, size - 1);
        return false;
    }
    strcpy (to, text);
    return true;
}

bool
rh_yaml_int (rh_yaml_t *self, yaml_node_t *node, const char *what, int64_t min, int64_t max,
             int64_t *value)
{
    assert (value);
    const char *text = rh_yaml_scalar (self, node, what);
    if (!text)
        return false;
    char *end = NULL;
    errno = 0;
    long long parsed = strtoll (text, &end, 10);
    if (errno || end == text || *end || parsed < min || parsed > max) {
        rh_yaml_error (self, node,
                       "%s must be a whole number from %" PRId64 " to %" PRId64 ", not '%s'", what,
                       min, max, text);
        return false;
    }
    *value = parsed;
    return true;
}

bool
rh_yaml_bool (rh_yaml_t *self, yaml_node_t *node, const char *what, bool *value)
{
    assert (value);
    const char *text = rh_yaml_scalar (self, node, what);
    if (!text)
        return false;
    if (!strcmp (text, "true") || !strcmp (text, "yes"))
        *value = true;
    else if (!strcmp (text, "false") || !strcmp (text, "no"))
        *value = false;
    else {
        rh_yaml_error (self, node, "%s must be true or false, not '%s'", what, text);
        return false;
    }
    return true;
}

bool
rh_yaml_date (rh_yaml_t *self, yaml_node_t *node, const char *what, int64_t *ms)
{
    assert (ms);
    const char *text = rh_yaml_scalar (self, node, what);
    if (!text)
        return false;
    struct tm tm = { 0 };
    const char *end = strptime (text, "%Y-%m-%d", &tm);
    if (!end || *end || strlen (text) != 10) {
        rh_yaml_error (self, node, "%s must be a date written YYYY-MM-DD, not '%s'", what, text);
        return false;
    }
    *ms = (int64_t) timegm (&tm) * 1000;
    return true;
}
