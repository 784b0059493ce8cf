/*  =========================================================================
    rh_config - typed configuration from a YAML file
    =========================================================================
*/
#include "rh_lib.h"

#define RH_CFG_MAX_KEYS  64
#define RH_CFG_MAX_VALUE 1024

struct _rh_config_t {
    const rh_cfg_spec_t *spec;       //  the table, static in the caller
    size_t count;                    //  entries in spec
    char *values [RH_CFG_MAX_KEYS];  //  effective value per spec entry, owned
};

static int
s_find (const rh_cfg_spec_t *spec, size_t count, const char *key)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp (spec [i].key, key) == 0)
            return (int) i;
    return -1;
}

static bool
s_parse_int (const char *text, int64_t *value)
{
    char *end = NULL;
    errno = 0;
    long long parsed = strtoll (text, &end, 10);
    if (errno || !end || end == text || *end)
        return false;
    *value = parsed;
    return true;
}

static bool
s_parse_bool (const char *text, bool *value)
{
    if (!strcmp (text, "true") || !strcmp (text, "yes") || !strcmp (text, "on")) {
        *value = true;
        return true;
    }
    if (!strcmp (text, "false") || !strcmp (text, "no") || !strcmp (text, "off")) {
        *value = false;
        return true;
    }
    return false;
}

//  The allowed values of an enum entry: the text in the last braces of its help, "a|b|c".
static const char *
s_choices (const rh_cfg_spec_t *entry, size_t *length)
{
    const char *open = entry->help ? strrchr (entry->help, '{') : NULL;
    *length = open ? strcspn (open + 1, "}") : 0;
    return open ? open + 1 : "";
}

//  True if value is one of the entry's allowed values.
static bool
s_chosen (const rh_cfg_spec_t *entry, const char *value)
{
    size_t length = 0, value_length = strlen (value);
    const char *choices = s_choices (entry, &length);
    for (const char *word = choices; word < choices + length;) {
        size_t word_length = strcspn (word, "|}");
        if (word_length == value_length && value_length && strncmp (word, value, word_length) == 0)
            return true;
        word += word_length + 1;
    }
    return false;
}

void
rh_config_choices (const rh_cfg_spec_t *entry, char *out, size_t size)
{
    assert (entry && out && size);
    *out = 0;
    if (entry->type != RH_CFG_ENUM)
        return;
    size_t length = 0, used = 0;
    const char *choices = s_choices (entry, &length);
    for (const char *word = choices; word < choices + length && used + 1 < size;) {
        size_t word_length = strcspn (word, "|}");
        int n =
            snprintf (out + used, size - used, "%s%.*s", used ? ", " : "", (int) word_length, word);
        used = n < 0 ? size : used + (size_t) n;
        word += word_length + 1;
    }
}

//  Checks one value against its spec; writes the reason on failure, naming the key and what is
//  allowed but never the value itself.
static bool
s_check (const rh_cfg_spec_t *entry, const char *value, char *why, size_t why_size)
{
    int64_t number;
    bool flag;
    switch (entry->type) {
        case RH_CFG_INT:
            if (!s_parse_int (value, &number)) {
                snprintf (why, why_size, "%s must be a whole number", entry->key);
                return false;
            }
            if (number < entry->min || number > entry->max) {
                snprintf (why, why_size, "%s must be from %" PRId64 " to %" PRId64, entry->key,
                          entry->min, entry->max);
                return false;
            }
            return true;
        case RH_CFG_BOOL:
            if (!s_parse_bool (value, &flag)) {
                snprintf (why, why_size, "%s must be true or false", entry->key);
                return false;
            }
            return true;
        case RH_CFG_ENUM: {
            if (s_chosen (entry, value))
                return true;
            char allowed [256];
            rh_config_choices (entry, allowed, sizeof allowed);
            snprintf (why, why_size, "value not allowed for %s; allowed: %s", entry->key, allowed);
            return false;
        }
        default:
            if (strlen (value) >= RH_CFG_MAX_VALUE) {
                snprintf (why, why_size, "%s is too long", entry->key);
                return false;
            }
            return true;
    }
}

static const char *
s_scalar (yaml_document_t *document, yaml_node_t *node)
{
    (void) document;
    return node && node->type == YAML_SCALAR_NODE ? (const char *) node->data.scalar.value : NULL;
}

rh_config_t *
rh_config_load (const rh_cfg_spec_t *spec, const char *path, char *error, size_t error_size)
{
    assert (spec && path && error);
    rh_config_t *self = calloc (1, sizeof *self);
    yaml_parser_t parser;
    yaml_document_t document;
    bool parser_ready = false, document_ready = false;
    uint8_t *text = NULL;
    size_t size = 0;
    char why [384] = "";
    if (!self) {
        snprintf (error, error_size, "out of memory");
        return NULL;
    }
    self->spec = spec;
    while (spec [self->count].key && self->count < RH_CFG_MAX_KEYS)
        self->count++;
    if (rh_file_read (path, 1 << 20, &text, &size) != 0) {
        snprintf (error, error_size, "%s: %s", path, strerror (errno));
        goto fail;
    }
    if (!yaml_parser_initialize (&parser))
        goto fail;
    parser_ready = true;
    yaml_parser_set_input_string (&parser, text, size);
    if (!yaml_parser_load (&parser, &document)) {
        snprintf (error, error_size, "%s:%zu: %s", path, parser.problem_mark.line + 1,
                  parser.problem ? parser.problem : "YAML does not parse");
        goto fail;
    }
    document_ready = true;
    yaml_node_t *root = yaml_document_get_root_node (&document);
    if (root && root->type != YAML_MAPPING_NODE) {
        snprintf (error, error_size, "%s:%zu: expected sections (a mapping)", path,
                  root->start_mark.line + 1);
        goto fail;
    }
    for (yaml_node_pair_t *section = root ? root->data.mapping.pairs.start : NULL;
         root && section < root->data.mapping.pairs.top; section++) {
        yaml_node_t *name_node = yaml_document_get_node (&document, section->key);
        yaml_node_t *body = yaml_document_get_node (&document, section->value);
        const char *name = s_scalar (&document, name_node);
        if (!name || !body || body->type != YAML_MAPPING_NODE) {
            snprintf (error, error_size, "%s:%zu: '%s' must be a section of keys", path,
                      (name_node ? name_node->start_mark.line : 0) + 1, name ? name : "?");
            goto fail;
        }
        for (yaml_node_pair_t *pair = body->data.mapping.pairs.start;
             pair < body->data.mapping.pairs.top; pair++) {
            yaml_node_t *key_node = yaml_document_get_node (&document, pair->key);
            yaml_node_t *value_node = yaml_document_get_node (&document, pair->value);
            const char *key = s_scalar (&document, key_node);
            const char *value = s_scalar (&document, value_node);
            size_t line = (key_node ? key_node->start_mark.line : 0) + 1;
            char full [128];
            snprintf (full, sizeof full, "%s/%s", name, key ? key : "?");
            int index = key ? s_find (spec, self->count, full) : -1;
            if (index < 0) {
                snprintf (error, error_size, "%s:%zu: unknown key '%s'", path, line, full);
                goto fail;
            }
            if (!value) {
                snprintf (error, error_size, "%s:%zu: '%s' needs a single value", path, line, full);
                goto fail;
            }
            if (self->values [index]) {
                snprintf (error, error_size, "%s:%zu: '%s' given twice", path, line, full);
                goto fail;
            }
            if (!s_check (&spec [index], value, why, sizeof why)) {
                snprintf (error, error_size, "%s:%zu: %s", path, line, why);
                goto fail;
            }
            if (!(self->values [index] = strdup (value)))
                goto fail;
        }
    }
    for (size_t i = 0; i < self->count; i++) {
        if (self->values [i])
            continue;
        if (spec [i].required) {
            snprintf (error, error_size, "%s: required key '%s' is missing", path, spec [i].key);
            goto fail;
        }
        if (!(self->values [i] = strdup (spec [i].value ? spec [i].value : "")))
            goto fail;
    }
    yaml_document_delete (&document);
    yaml_parser_delete (&parser);
    free (text);
    return self;
fail:
    if (!*error)
        snprintf (error, error_size, "%s: cannot load", path);
    if (document_ready)
        yaml_document_delete (&document);
    if (parser_ready)
        yaml_parser_delete (&parser);
    free (text);
    rh_config_destroy (&self);
    return NULL;
}

void
rh_config_destroy (rh_config_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        rh_config_t *self = *self_p;
        for (size_t i = 0; i < self->count; i++)
            free (self->values [i]);
        free (self);
        *self_p = NULL;
    }
}

static const char *
s_value (rh_config_t *self, const char *key, rh_cfg_type_t type)
{
    int index = s_find (self->spec, self->count, key);
    assert (index >= 0);
    assert (self->spec [index].type == type
            || (type == RH_CFG_STR && self->spec [index].type == RH_CFG_ENUM));
    return self->values [index];
}

const char *
rh_config_str (rh_config_t *self, const char *key)
{
    assert (self && key);
    return s_value (self, key, RH_CFG_STR);
}

int64_t
rh_config_int (rh_config_t *self, const char *key)
{
    assert (self && key);
    int64_t value = 0;
    s_parse_int (s_value (self, key, RH_CFG_INT), &value);
    return value;
}

bool
rh_config_bool (rh_config_t *self, const char *key)
{
    assert (self && key);
    bool value = false;
    s_parse_bool (s_value (self, key, RH_CFG_BOOL), &value);
    return value;
}

void
rh_config_log (rh_config_t *self, const char *component)
{
    assert (self);
    //  Config holds paths to secrets, never secrets, so every value may be logged.
    for (size_t i = 0; i < self->count; i++)
        rh_log_info (component, "config %s = %s", self->spec [i].key, self->values [i]);
}

void
rh_config_print_spec (const rh_cfg_spec_t *spec, FILE *out)
{
    for (size_t i = 0; spec [i].key; i++) {
        fprintf (out, "  %-28s %s", spec [i].key, spec [i].help ? spec [i].help : "");
        if (spec [i].type == RH_CFG_INT)
            fprintf (out, " [%" PRId64 "..%" PRId64 "]", spec [i].min, spec [i].max);

        if (spec [i].required)
            fprintf (out, " (required)");
        else if (spec [i].value && *spec [i].value)
            fprintf (out, " (default %s)", spec [i].value);
        fprintf (out, "\n");
    }
}
