/*  =========================================================================
    rh_yaml - walks one YAML document of an agreement file, reporting each
    problem with the line it stands on

    Sharing agreements and federation agreements are both read with
    libyaml's document API and checked key by key; this class is the walk
    they share: loading the document, the checks of values (a mapping's
    keys, a single value, a list, a number, a date) and the error list.
    Each problem is one line "NAME:LINE: what" appended to the caller's
    buffer, and the walk goes on after a problem so that one run lists
    every problem (up to RH_MAX_AGREEMENT_ERRORS). What a key means stays
    with the class that owns the file.
    =========================================================================
*/
#ifndef RH_YAML_H_INCLUDED
#define RH_YAML_H_INCLUDED

typedef struct _rh_yaml_t rh_yaml_t;

//  Called for one scalar of a value or a list (rh_yaml_each); returns true if it was good,
//  false after reporting why not.
typedef bool (rh_yaml_item_fn) (rh_yaml_t *self, yaml_node_t *item, void *arg);

//  Loads text (size bytes, at most RH_MAX_AGREEMENT_FILE) as a YAML document. Problems are
//  appended to errors (borrowed, errors_size bytes, emptied first; may be NULL) as lines
//  "NAME:LINE: what", NAME being name (borrowed; must outlive the walker). Returns NULL, with
//  the problem reported, if the text is too large, is not YAML or memory ran out. Destroy with
//  rh_yaml_destroy.
rh_yaml_t *rh_yaml_new (const char *text, size_t size, const char *name, char *errors,
                        size_t errors_size);

//  Frees the walker and its document; NULL-safe, sets *self_p to NULL.
void rh_yaml_destroy (rh_yaml_t **self_p);

//  The document's top node, or NULL after reporting that the file is empty.
yaml_node_t *rh_yaml_root (rh_yaml_t *self);

//  Ends the walk: walked says whether the caller's walk found the document good. Refuses a
//  second document in the file (it would be silently ignored), says how many problems were
//  over the limit and not listed, and names memory as the cause of a failed walk that reported
//  nothing. Returns true if the file is good: walked and no problem reported.
bool rh_yaml_finish (rh_yaml_t *self, bool walked);

//  Reports a problem at node's line (line 0 when node is NULL: the whole file). Counts every
//  problem; lists the first RH_MAX_AGREEMENT_ERRORS. A line too long for what is left of the
//  buffer is cut short but still ends in a newline.
void rh_yaml_error (rh_yaml_t *self, const yaml_node_t *node, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));
void rh_yaml_verror (rh_yaml_t *self, const yaml_node_t *node, const char *format, va_list args)
    __attribute__ ((format (printf, 3, 0)));

//  Problems reported so far, listed or not.
size_t rh_yaml_error_count (const rh_yaml_t *self);

//  The document's node with this index (a pair's key or value, a list's item), or NULL.
yaml_node_t *rh_yaml_node (rh_yaml_t *self, int index);

//  The node's text if it is a single value, else NULL after reporting that what must be one.
const char *rh_yaml_scalar (rh_yaml_t *self, yaml_node_t *node, const char *what);

//  The value of key in map, or NULL (absent, or map is no mapping). Reports nothing.
yaml_node_t *rh_yaml_get (rh_yaml_t *self, yaml_node_t *map, const char *key);

//  The value of key in map, or NULL after reporting that what needs it.
yaml_node_t *rh_yaml_need (rh_yaml_t *self, yaml_node_t *map, const char *key, const char *what);

//  Checks that map is a mapping whose keys are names from allowed (NULL-terminated), each once.
//  Returns false only if map is no mapping: an unknown or repeated key is reported (the
//  unknown one with the keys allowed) and the walk goes on, so one run lists every problem.
bool rh_yaml_keys (rh_yaml_t *self, yaml_node_t *map, const char *what, const char *const *allowed);

//  Calls each (self, item, arg) for a single value, or for every entry of a list of at most
//  RH_MAX_LIST single values. True if node is NULL or every call was good.
bool rh_yaml_each (rh_yaml_t *self, yaml_node_t *node, const char *what, rh_yaml_item_fn *each,
                   void *arg);

//  Copies a single value of at most size - 1 characters (it may be empty) into to.
bool rh_yaml_copy (rh_yaml_t *self, yaml_node_t *node, const char *what, char *to, size_t size);

//  A whole number from min to max.
bool rh_yaml_int (rh_yaml_t *self, yaml_node_t *node, const char *what, int64_t min, int64_t max,
                  int64_t *value);

//  true/yes or false/no.
bool rh_yaml_bool (rh_yaml_t *self, yaml_node_t *node, const char *what, bool *value);

//  A date written YYYY-MM-DD, as the ms since the epoch of the UTC midnight that starts it.
bool rh_yaml_date (rh_yaml_t *self, yaml_node_t *node, const char *what, int64_t *ms);

#endif
