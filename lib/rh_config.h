/*  =========================================================================
    rh_config - typed configuration from a YAML file

    Each binary declares one table of keys (type, range, default, whether
    required, what it means). A file is a YAML mapping of sections holding
    scalars; its keys are "section/key". Unknown keys, values out of range
    and missing required keys are errors naming the line, so a broken
    config fails at start-up instead of half working. An error names the
    key and what is allowed, never the value that was given (a value typed
    into the wrong key may be anything, and the error goes to the operator
    log).
    =========================================================================
*/
#ifndef RH_CONFIG_H_INCLUDED
#define RH_CONFIG_H_INCLUDED

//  RH_CFG_ENUM is text that must be one of the values its help ends with, in braces and
//  separated by '|': "language of the summaries {en|cy}". rh_config_str reads it.
typedef enum { RH_CFG_STR, RH_CFG_INT, RH_CFG_BOOL, RH_CFG_ENUM } rh_cfg_type_t;

typedef struct {
    const char *key;  //  "section/key"
    rh_cfg_type_t type;
    int64_t min;  //  for RH_CFG_INT
    int64_t max;
    const char *value;  //  default, as text; NULL for none
    bool required;
    const char *help;  //  one line for the documentation and --help
} rh_cfg_spec_t;

typedef struct _rh_config_t rh_config_t;

//  Loads path against spec (terminated by an entry with key NULL). Returns NULL and writes a
//  one-line reason into error on failure.
rh_config_t *rh_config_load (const rh_cfg_spec_t *spec, const char *path, char *error,
                             size_t error_size);

void rh_config_destroy (rh_config_t **self_p);

//  Value of a key; the key must be in the spec (a programmer error otherwise). Strings are ""
//  when unset and without default.
const char *rh_config_str (rh_config_t *self, const char *key);
int64_t rh_config_int (rh_config_t *self, const char *key);
bool rh_config_bool (rh_config_t *self, const char *key);

//  Logs every key with its effective value.
void rh_config_log (rh_config_t *self, const char *component);

//  The allowed values of an RH_CFG_ENUM entry, as "a, b, c", into out ("" for other types).
void rh_config_choices (const rh_cfg_spec_t *entry, char *out, size_t size);

//  Prints the table (key, type, range, default, help) for --help.
void rh_config_print_spec (const rh_cfg_spec_t *spec, FILE *out);

#endif
