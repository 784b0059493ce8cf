/*  =========================================================================
    rh_agreement - one sharing agreement, read from YAML and made executable

    Names in the file (kinds, agency types, categories, routes, consent
    states) are the schema's own enum names, checked against the protobuf
    descriptors, so the agreement and the wire format cannot drift apart.
    Matching works on bit sets prepared at load time: a decision is a walk
    over the rules comparing integers, with string compares only for ids.
    =========================================================================
*/
#include "rh_proto.h"
#include "rhannu.pb-c.h"

#define RH_DAY_MS  (24LL * 3600 * 1000)
#define RH_HOUR_MS (3600LL * 1000)

//  consent.unless exceptions
#define S_UNLESS_CHILD_PROTECTION 1u
#define S_UNLESS_SIGNIFICANT_HARM 2u
#define S_UNLESS_LACKS_CAPACITY   4u

typedef enum { S_CROSS_ANY = 0, S_CROSS_REQUIRED, S_CROSS_FORBIDDEN } s_cross_t;

typedef struct {
    char (*items) [RH_MAX_ID + 1];
    size_t count;
} s_names_t;

typedef struct {
    char id [RH_MAX_ID + 1];
    uint32_t type;  //  0: not stated
    char la [RH_MAX_ID + 1];
    uint32_t roles;
    uint64_t purposes;
    s_names_t front_door_for;
    s_names_t aliases;
    char label [RH_MAX_TEXT];
} s_party_t;

typedef struct {
    s_names_t ids;
    uint32_t types;
    uint32_t roles;
    s_names_t las;
    s_names_t regions;
    s_names_t units;
    bool front_door_of_subject;
    bool holds_purpose;
    int case_role;  //  S_CASE_*: the recipient's part in the referral's case
} s_match_t;

#define S_CASE_NONE     0
#define S_CASE_REFERRER 1  //  the agency that made the referral
#define S_CASE_INVOLVED 2  //  the referrer or any agency involved in the case

typedef struct {
    char id [RH_MAX_ID + 1];
    char description [RH_MAX_TEXT];
    bool deny;
    uint32_t kinds;
    s_match_t from;
    s_match_t to;
    uint64_t purposes;
    uint32_t categories;
    uint32_t routes;
    uint32_t subject_kinds;
    s_cross_t cross_border;
    bool consent_required;
    uint32_t consent_unless;
    bool consent_scope;
    bool family_aware;
    //  Consent override ("break-glass"): the rule lets the message go without its consent
    //  condition when the sender records a justification and the authorising manager; the
    //  agreement's reviewer then has review_ms to review it.
    bool override_allowed;
    int64_t override_review_ms;
    //  Issue 17, lateral checks: a response to an information request goes only to the
    //  requester; a rule with onward: true lets a message it allows share one onward.
    bool onward;
    bool all_fields;
    uint64_t fields [RH_KIND_COUNT];
} s_rule_t;

struct _rh_agreement_t {
    char id [RH_MAX_ID + 1];
    uint32_t version;
    char title [RH_MAX_TEXT];
    char framework [RH_MAX_TEXT];
    char region [RH_MAX_ID + 1];
    int64_t valid_from;
    int64_t valid_to;
    char roles [RH_MAX_ROLES][RH_MAX_ID + 1];
    size_t role_count;
    char purposes [RH_MAX_PURPOSES][RH_MAX_ID + 1];
    size_t purpose_count;
    s_party_t *parties;
    size_t party_count;
    s_rule_t *rules;
    size_t rule_count;
    rh_obligations_t obligations;
    //  Professional challenge (issue 17): the escalation protocol's levels
    rh_challenge_level_t challenge_levels [RH_MAX_CHALLENGE_LEVELS];
    size_t challenge_level_count;
    int64_t referral_years;  //  retention: years a message is kept after receipt (-1: not said)
    bool legal_hold;         //  retention: nothing under this agreement may be erased
    uint8_t sha256 [RH_DIGEST_LEN];
};

//  ---------------------------------------------------------------------------------------------
//  Walking the YAML document

//  The walk itself is rh_yaml's. The per-key parsers below keep their (ctx, ...) calls through
//  these aliases, so that they read the same as before and keys can be added without touching
//  the walker.
typedef struct {
    rh_yaml_t *yaml;            //  the document and its error list
    rh_agreement_t *agreement;  //  what the walk fills in
} s_ctx_t;

#define s_error(ctx, ...)  rh_yaml_error ((ctx)->yaml, __VA_ARGS__)
#define s_node(ctx, index) rh_yaml_node ((ctx)->yaml, index)
#define s_scalar(ctx, ...) rh_yaml_scalar ((ctx)->yaml, __VA_ARGS__)
#define s_get(ctx, ...)    rh_yaml_get ((ctx)->yaml, __VA_ARGS__)
#define s_keys(ctx, ...)   rh_yaml_keys ((ctx)->yaml, __VA_ARGS__)
#define s_copy(ctx, ...)   rh_yaml_copy ((ctx)->yaml, __VA_ARGS__)
#define s_int(ctx, ...)    rh_yaml_int ((ctx)->yaml, __VA_ARGS__)
#define s_bool(ctx, ...)   rh_yaml_bool ((ctx)->yaml, __VA_ARGS__)
#define s_date(ctx, ...)   rh_yaml_date ((ctx)->yaml, __VA_ARGS__)

//  Calls each (ctx, item, arg) for a scalar or for every scalar of a sequence.
typedef bool (s_item_fn) (s_ctx_t *ctx, yaml_node_t *item, void *arg);

typedef struct {
    s_ctx_t *ctx;   //  the walk
    s_item_fn *fn;  //  the caller's check of one item
    void *arg;      //  and its argument
} s_each_t;

static bool
s_each_item (rh_yaml_t *yaml, yaml_node_t *item, void *arg)
{
    (void) yaml;
    s_each_t *each = arg;
    return each->fn (each->ctx, item, each->arg);
}

static bool
s_each (s_ctx_t *ctx, yaml_node_t *node, const char *what, s_item_fn *fn, void *arg)
{
    s_each_t each = { ctx, fn, arg };
    return rh_yaml_each (ctx->yaml, node, what, s_each_item, &each);
}

//  An enum value by its schema name, e.g. ("Category", "CSE").
static bool
s_enum (s_ctx_t *ctx, yaml_node_t *node, const ProtobufCEnumDescriptor *descriptor,
        const char *what, uint32_t *value)
{
    const char *text = (const char *) node->data.scalar.value;
    const ProtobufCEnumValue *found =
        protobuf_c_enum_descriptor_get_value_by_name (descriptor, text);
    if (!found || found->value <= 0 || found->value >= 32) {
        char list [1024] = "";
        for (unsigned i = 0; i < descriptor->n_values; i++) {
            if (descriptor->values [i].value <= 0)
                continue;
            size_t used = strlen (list);
            snprintf (list + used, sizeof list - used, "%s%s", used ? ", " : "",
                      descriptor->values [i].name);
        }
        s_error (ctx, node, "unknown %s '%s' (one of: %s)", what, text, list);
        return false;
    }
    *value = (uint32_t) found->value;
    return true;
}

typedef struct {
    const ProtobufCEnumDescriptor *descriptor;
    const char *what;
    uint32_t bits;
} s_enum_set_t;

static bool
s_enum_bit (s_ctx_t *ctx, yaml_node_t *item, void *arg)
{
    s_enum_set_t *set = arg;
    uint32_t value = 0;
    if (!s_enum (ctx, item, set->descriptor, set->what, &value))
        return false;
    set->bits |= 1u << value;
    return true;
}

static bool
s_enum_bits (s_ctx_t *ctx, yaml_node_t *node, const ProtobufCEnumDescriptor *descriptor,
             const char *what, uint32_t *bits)
{
    s_enum_set_t set = { descriptor, what, 0 };
    bool good = s_each (ctx, node, what, s_enum_bit, &set);
    *bits = set.bits;
    return good;
}

static bool
s_kind_bit (s_ctx_t *ctx, yaml_node_t *item, void *arg)
{
    const char *text = (const char *) item->data.scalar.value;
    rh_kind_t kind = rh_envelope_kind_from_name (text);
    if (kind == RH_KIND_UNSET) {
        s_error (ctx, item, "unknown message kind '%s' (REFERRAL, OUTCOME, STATUS_UPDATE, ...)",
                 text);
        return false;
    }
    *(uint32_t *) arg |= 1u << kind;
    return true;
}

static bool
s_name_ok (const char *text, bool upper)
{
    size_t size = strlen (text);
    if (size == 0 || size > RH_MAX_ID)
        return false;
    for (size_t i = 0; i < size; i++) {
        char c = text [i];
        bool ok = upper ? (isupper ((unsigned char) c) || isdigit ((unsigned char) c) || c == '_')
                        : (islower ((unsigned char) c) || isdigit ((unsigned char) c) || c == '_');
        if (!ok)
            return false;
    }
    return true;
}

//  Index of a role, adding it when add is true; -1 if unknown or full.
static int
s_role (rh_agreement_t *self, const char *role, bool add)
{
    for (size_t i = 0; i < self->role_count; i++)
        if (strcmp (self->roles [i], role) == 0)
            return (int) i;
    if (!add || self->role_count >= RH_MAX_ROLES)
        return -1;
    snprintf (self->roles [self->role_count], RH_MAX_ID + 1, "%s", role);
    return (int) self->role_count++;
}

static int
s_purpose (const rh_agreement_t *self, const char *purpose)
{
    for (size_t i = 0; i < self->purpose_count; i++)
        if (strcmp (self->purposes [i], purpose) == 0)
            return (int) i;
    return -1;
}

typedef struct {
    uint32_t bits;
    bool add;
} s_roles_arg_t;

static bool
s_role_bit (s_ctx_t *ctx, yaml_node_t *item, void *arg)
{
    s_roles_arg_t *roles = arg;
    const char *text = (const char *) item->data.scalar.value;
    if (!s_name_ok (text, false)) {
        s_error (ctx, item, "role '%s' must be lower-case letters, digits and '_'", text);
        return false;
    }
    int index = s_role (ctx->agreement, text, roles->add);
    if (index < 0) {
        if (roles->add)
            s_error (ctx, item, "more than %d distinct roles", RH_MAX_ROLES);
        else
            s_error (ctx, item, "no party has the role '%s'", text);
        return false;
    }
    roles->bits |= 1u << index;
    return true;
}

static bool
s_purpose_bit (s_ctx_t *ctx, yaml_node_t *item, void *arg)
{
    const char *text = (const char *) item->data.scalar.value;
    int index = s_purpose (ctx->agreement, text);
    if (index < 0) {
        s_error (ctx, item, "purpose '%s' is not among the agreement's purposes", text);
        return false;
    }
    *(uint64_t *) arg |= 1ull << index;
    return true;
}

static bool
s_purpose_add (s_ctx_t *ctx, yaml_node_t *item, void *arg)
{
    (void) arg;
    rh_agreement_t *self = ctx->agreement;
    const char *text = (const char *) item->data.scalar.value;
    if (!s_name_ok (text, true)) {
        s_error (ctx, item, "purpose '%s' must be upper-case letters, digits and '_'", text);
        return false;
    }
    if (s_purpose (self, text) >= 0) {
        s_error (ctx, item, "purpose '%s' is listed twice", text);
        return false;
    }
    if (self->purpose_count >= RH_MAX_PURPOSES) {
        s_error (ctx, item, "more than %d purposes", RH_MAX_PURPOSES);
        return false;
    }
    strcpy (self->purposes [self->purpose_count++], text);
    return true;
}

typedef struct {
    s_names_t *names;
    bool agency_id;  //  check as an agency id
} s_names_arg_t;

static bool
s_name_add (s_ctx_t *ctx, yaml_node_t *item, void *arg)
{
    s_names_arg_t *names = arg;
    const char *text = (const char *) item->data.scalar.value;
    if (!*text || strlen (text) > RH_MAX_ID || (names->agency_id && !rh_envelope_valid_id (text))) {
        s_error (ctx, item, "'%s' is not a valid %s", text,
                 names->agency_id ? "agency id (lower-case letters, digits, '.', '-')" : "name");
        return false;
    }
    void *grown =
        realloc (names->names->items, (names->names->count + 1) * sizeof *names->names->items);
    if (!grown) {
        s_error (ctx, item, "out of memory");
        return false;
    }
    names->names->items = grown;
    strcpy (names->names->items [names->names->count++], text);
    return true;
}

static bool
s_names (s_ctx_t *ctx, yaml_node_t *node, const char *what, bool agency_id, s_names_t *names)
{
    s_names_arg_t arg = { names, agency_id };
    return s_each (ctx, node, what, s_name_add, &arg);
}

static bool
s_names_has (const s_names_t *names, const char *text, bool fold_case)
{
    for (size_t i = 0; i < names->count; i++)
        if (fold_case ? strcasecmp (names->items [i], text) == 0
                      : strcmp (names->items [i], text) == 0)
            return true;
    return false;
}

static void
s_names_free (s_names_t *names)
{
    free (names->items);
    names->items = NULL;
    names->count = 0;
}

//  ---------------------------------------------------------------------------------------------
//  Sections

static bool
s_parse_party (s_ctx_t *ctx, yaml_node_t *node, s_party_t *party)
{
    static const char *const keys [] = { "id",      "type",     "la",
                                         "roles",   "purposes", "front_door_for",
                                         "aliases", "label",    NULL };
    if (!s_keys (ctx, node, "a party", keys))
        return false;
    bool good = true;
    yaml_node_t *id = s_get (ctx, node, "id");
    if (!id) {
        s_error (ctx, node, "a party needs an id (the agency id of its certificate)");
        return false;
    }
    const char *text = s_scalar (ctx, id, "party id");
    if (!text || !rh_envelope_valid_id (text)) {
        if (text)
            s_error (ctx, id, "'%s' is not a valid agency id", text);
        return false;
    }
    strcpy (party->id, text);
    yaml_node_t *value;
    if ((value = s_get (ctx, node, "type")))
        good = (s_scalar (ctx, value, "type")
                && s_enum (ctx, value, &rhannu__v1__agency_type__descriptor, "agency type",
                           &party->type))
               && good;
    if ((value = s_get (ctx, node, "la")))
        good = s_copy (ctx, value, "la", party->la, sizeof party->la) && good;
    if ((value = s_get (ctx, node, "label")))
        good = s_copy (ctx, value, "label", party->label, sizeof party->label) && good;
    s_roles_arg_t roles = { 0, true };
    value = s_get (ctx, node, "roles");
    if (!value) {
        s_error (ctx, node, "party '%s' needs roles (referrer, front_door, partner, ...)",
                 party->id);
        good = false;
    }
    else
        good = s_each (ctx, value, "roles", s_role_bit, &roles) && good;
    party->roles = roles.bits;
    if ((value = s_get (ctx, node, "purposes")))
        good = s_each (ctx, value, "purposes", s_purpose_bit, &party->purposes) && good;
    if ((value = s_get (ctx, node, "front_door_for")))
        good = s_names (ctx, value, "front_door_for", false, &party->front_door_for) && good;
    if ((value = s_get (ctx, node, "aliases")))
        good = s_names (ctx, value, "aliases", false, &party->aliases) && good;
    if (party->aliases.count && !party->front_door_for.count) {
        s_error (ctx, node, "party '%s' has aliases but is no front door (front_door_for)",
                 party->id);
        good = false;
    }
    return good;
}

static bool
s_parse_match (s_ctx_t *ctx, yaml_node_t *node, const char *what, bool recipient, s_match_t *match)
{
    static const char *const from_keys [] = { "id", "type", "role", "la", "region", "unit", NULL };
    static const char *const to_keys [] = { "id",     "type",          "role",          "la",
                                            "region", "front_door_of", "holds_purpose", "case",
                                            NULL };
    if (!s_keys (ctx, node, what, recipient ? to_keys : from_keys))
        return false;
    bool good = true;
    yaml_node_t *value;
    if ((value = s_get (ctx, node, "id")))
        good = s_names (ctx, value, "id", true, &match->ids) && good;
    if ((value = s_get (ctx, node, "type")))
        good = s_enum_bits (ctx, value, &rhannu__v1__agency_type__descriptor, "agency type",
                            &match->types)
               && good;
    if ((value = s_get (ctx, node, "role"))) {
        s_roles_arg_t roles = { 0, false };
        good = s_each (ctx, value, "role", s_role_bit, &roles) && good;
        match->roles = roles.bits;
    }
    if ((value = s_get (ctx, node, "la")))
        good = s_names (ctx, value, "la", false, &match->las) && good;
    if ((value = s_get (ctx, node, "region")))
        good = s_names (ctx, value, "region", false, &match->regions) && good;
    if ((value = s_get (ctx, node, "unit")))
        good = s_names (ctx, value, "unit", false, &match->units) && good;
    if ((value = s_get (ctx, node, "front_door_of"))) {
        const char *text = s_scalar (ctx, value, "front_door_of");
        if (text && strcmp (text, "subject") != 0) {
            s_error (ctx, value,
                     "front_door_of can only be 'subject' (the front door of the "
                     "local authority where the subject lives)");
            good = false;
        }
        match->front_door_of_subject = text != NULL;
    }
    if ((value = s_get (ctx, node, "holds_purpose")))
        good = s_bool (ctx, value, "holds_purpose", &match->holds_purpose) && good;
    if ((value = s_get (ctx, node, "case"))) {
        const char *text = s_scalar (ctx, value, "case");
        if (text && !strcmp (text, "referrer"))
            match->case_role = S_CASE_REFERRER;
        else if (text && !strcmp (text, "involved"))
            match->case_role = S_CASE_INVOLVED;
        else {
            s_error (ctx, value,
                     "case can be 'referrer' (the agency that made the referral) or "
                     "'involved' (the referrer or any agency involved in the case)");
            good = false;
        }
    }
    return good;
}

static bool
s_unless_bit (s_ctx_t *ctx, yaml_node_t *item, void *arg)
{
    const char *text = (const char *) item->data.scalar.value;
    uint32_t *bits = arg;
    if (!strcmp (text, "CHILD_PROTECTION"))
        *bits |= S_UNLESS_CHILD_PROTECTION;
    else if (!strcmp (text, "SIGNIFICANT_HARM"))
        *bits |= S_UNLESS_SIGNIFICANT_HARM;
    else if (!strcmp (text, "LACKS_CAPACITY"))
        *bits |= S_UNLESS_LACKS_CAPACITY;
    else {
        s_error (ctx, item,
                 "unknown consent exception '%s' (CHILD_PROTECTION, SIGNIFICANT_HARM, "
                 "LACKS_CAPACITY)",
                 text);
        return false;
    }
    return true;
}

static bool
s_parse_consent (s_ctx_t *ctx, yaml_node_t *node, s_rule_t *rule)
{
    static const char *const keys [] = { "required", "unless", "scope_covers_recipient",
                                         "family_aware", NULL };
    if (!s_keys (ctx, node, "consent", keys))
        return false;
    bool good = true;
    yaml_node_t *value;
    if ((value = s_get (ctx, node, "required")))
        good = s_bool (ctx, value, "consent.required", &rule->consent_required) && good;
    if ((value = s_get (ctx, node, "unless")))
        good = s_each (ctx, value, "consent.unless", s_unless_bit, &rule->consent_unless) && good;
    if ((value = s_get (ctx, node, "scope_covers_recipient")))
        good = s_bool (ctx, value, "consent.scope_covers_recipient", &rule->consent_scope) && good;
    if ((value = s_get (ctx, node, "family_aware")))
        good = s_bool (ctx, value, "consent.family_aware", &rule->family_aware) && good;
    if (rule->consent_unless && !rule->consent_required) {
        s_error (ctx, node, "consent.unless only means something with required: true");
        good = false;
    }
    return good;
}

//  override: {allowed: true, review_days: 5}. Only a rule with a consent condition can be
//  overridden, and an override that nobody reviews is not one: review_days is required.
static bool
s_parse_override (s_ctx_t *ctx, yaml_node_t *node, s_rule_t *rule)
{
    static const char *const keys [] = { "allowed", "review_days", NULL };
    if (!s_keys (ctx, node, "override", keys))
        return false;
    bool good = true;
    yaml_node_t *value;
    if ((value = s_get (ctx, node, "allowed")))
        good = s_bool (ctx, value, "override.allowed", &rule->override_allowed) && good;
    int64_t days = 0;
    if ((value = s_get (ctx, node, "review_days")))
        good = s_int (ctx, value, "override.review_days", 1, RH_MAX_OVERRIDE_REVIEW_DAYS, &days)
               && good;
    rule->override_review_ms = days * 24 * 3600 * 1000LL;
    if (good && rule->override_allowed && !days) {
        s_error (ctx, node, "override.allowed needs review_days: how long the reviewer has");
        good = false;
    }
    if (good && rule->override_allowed && !rule->consent_required && !rule->consent_scope) {
        s_error (ctx, node, "override only means something with a consent condition");
        good = false;
    }
    return good;
}

typedef struct {
    s_rule_t *rule;
} s_fields_arg_t;

//  A field name is looked up in every kind the rule covers; it must exist in at least one.
static bool
s_field_bit (s_ctx_t *ctx, yaml_node_t *item, void *arg)
{
    s_rule_t *rule = arg;
    const char *text = (const char *) item->data.scalar.value;
    bool found = false;
    for (int kind = 1; kind < RH_KIND_COUNT; kind++) {
        if (rule->kinds && !(rule->kinds & (1u << kind)))
            continue;
        uint32_t field = rh_envelope_field_number (kind, text);
        if (field > 0 && field < 64) {
            rule->fields [kind] |= 1ull << field;
            found = true;
        }
    }
    if (!found)
        s_error (ctx, item, "no message kind of rule '%s' has a field called '%s'", rule->id, text);
    return found;
}

static bool
s_parse_rule (s_ctx_t *ctx, yaml_node_t *node, s_rule_t *rule)
{
    static const char *const keys [] = { "id",           "description",
                                         "effect",       "kinds",
                                         "from",         "to",
                                         "purposes",     "categories",
                                         "routes",       "subject_kinds",
                                         "cross_border", "consent",
                                         "fields",       "override",
                                         "onward",       NULL };
    if (!s_keys (ctx, node, "a rule", keys))
        return false;
    bool good = true;
    yaml_node_t *value = s_get (ctx, node, "id");
    if (!value) {
        s_error (ctx, node, "a rule needs an id");
        return false;
    }
    if (!s_copy (ctx, value, "rule id", rule->id, sizeof rule->id))
        return false;
    if ((value = s_get (ctx, node, "description")))
        good =
            s_copy (ctx, value, "description", rule->description, sizeof rule->description) && good;
    if ((value = s_get (ctx, node, "effect"))) {
        const char *text = s_scalar (ctx, value, "effect");
        if (text && strcmp (text, "allow") && strcmp (text, "deny")) {
            s_error (ctx, value, "effect must be allow or deny, not '%s'", text);
            good = false;
        }
        rule->deny = text && !strcmp (text, "deny");
    }
    if ((value = s_get (ctx, node, "kinds")))
        good = s_each (ctx, value, "kinds", s_kind_bit, &rule->kinds) && good;
    if ((value = s_get (ctx, node, "from")))
        good = s_parse_match (ctx, value, "from", false, &rule->from) && good;
    if ((value = s_get (ctx, node, "to")))
        good = s_parse_match (ctx, value, "to", true, &rule->to) && good;
    if ((value = s_get (ctx, node, "purposes")))
        good = s_each (ctx, value, "purposes", s_purpose_bit, &rule->purposes) && good;
    if ((value = s_get (ctx, node, "categories")))
        good = s_enum_bits (ctx, value, &rhannu__v1__category__descriptor, "category",
                            &rule->categories)
               && good;
    if ((value = s_get (ctx, node, "routes")))
        good = s_enum_bits (ctx, value, &rhannu__v1__route__descriptor, "route", &rule->routes)
               && good;
    if ((value = s_get (ctx, node, "subject_kinds")))
        good = s_enum_bits (ctx, value, &rhannu__v1__subject_kind__descriptor, "subject kind",
                            &rule->subject_kinds)
               && good;
    if ((value = s_get (ctx, node, "cross_border"))) {
        const char *text = s_scalar (ctx, value, "cross_border");
        if (text && !strcmp (text, "required"))
            rule->cross_border = S_CROSS_REQUIRED;
        else if (text && !strcmp (text, "forbidden"))
            rule->cross_border = S_CROSS_FORBIDDEN;
        else if (text && strcmp (text, "any")) {
            s_error (ctx, value, "cross_border must be any, required or forbidden, not '%s'", text);
            good = false;
        }
    }
    if ((value = s_get (ctx, node, "consent")))
        good = s_parse_consent (ctx, value, rule) && good;
    if ((value = s_get (ctx, node, "override"))) {
        good = s_parse_override (ctx, value, rule) && good;
        if (rule->override_allowed && s_role (ctx->agreement, "reviewer", false) < 0) {
            s_error (ctx, value,
                     "rule '%s' allows a consent override but no party has the role reviewer",
                     rule->id);
            good = false;
        }
    }
    if ((value = s_get (ctx, node, "onward"))) {
        good = s_bool (ctx, value, "onward", &rule->onward) && good;
        if (rule->deny && rule->onward) {
            s_error (ctx, value, "deny rule '%s' cannot allow onward sharing", rule->id);
            good = false;
        }
    }
    value = s_get (ctx, node, "fields");
    if (rule->deny) {
        if (value || s_get (ctx, node, "consent")) {
            s_error (ctx, value ? value : node,
                     "deny rule '%s' cannot list fields or a consent condition", rule->id);
            good = false;
        }
    }
    else if (!value) {
        s_error (ctx, node,
                 "allow rule '%s' must say which fields the recipient receives (fields: all, or "
                 "a list)",
                 rule->id);
        good = false;
    }
    else if (value->type == YAML_SCALAR_NODE
             && !strcmp ((const char *) value->data.scalar.value, "all"))
        rule->all_fields = true;
    else
        good = s_each (ctx, value, "fields", s_field_bit, rule) && good;
    return good;
}

static bool
s_duration (s_ctx_t *ctx, yaml_node_t *node, const char *what, int64_t unit, int64_t *ms)
{
    int64_t value = 0;
    if (!s_int (ctx, node, what, 0, 3650 * 24, &value))
        return false;
    *ms = value * unit;
    return true;
}

static bool
s_feedback_bit (s_ctx_t *ctx, yaml_node_t *item, void *arg)
{
    rh_obligations_t *obligations = arg;
    const char *text = (const char *) item->data.scalar.value;
    if (!strcmp (text, "referrer"))
        obligations->feedback_referrer = true;
    else if (!strcmp (text, "supervisor"))
        obligations->feedback_supervisor = true;
    else if (!strcmp (text, "duty_inbox"))
        obligations->feedback_duty_inbox = true;
    else {
        s_error (ctx, item, "feedback_to takes referrer, supervisor and duty_inbox, not '%s'",
                 text);
        return false;
    }
    return true;
}

static bool
s_notify_add (s_ctx_t *ctx, yaml_node_t *item, void *arg)
{
    rh_obligations_t *obligations = arg;
    const char *text = (const char *) item->data.scalar.value;
    bool role = s_role (ctx->agreement, text, false) >= 0;
    bool type =
        protobuf_c_enum_descriptor_get_value_by_name (&rhannu__v1__agency_type__descriptor, text)
        != NULL;
    if (!role && !type) {
        s_error (ctx, item, "'%s' is neither a role of a party nor an agency type", text);
        return false;
    }
    if (obligations->repeat_notify_count >= RH_MAX_NOTIFY) {
        s_error (ctx, item, "at most %d notify targets", RH_MAX_NOTIFY);
        return false;
    }
    strcpy (obligations->repeat_notify [obligations->repeat_notify_count++], text);
    return true;
}

static bool
s_parse_obligations (s_ctx_t *ctx, yaml_node_t *node, rh_obligations_t *obligations)
{
    static const char *const keys [] = {
        "acknowledge_hours",   "outcome_days",        "reminder_hours_before",
        "escalate_after_days", "escalate_to",         "feedback_to",
        "repeat_referrals",    "meeting_record_days", NULL
    };
    if (!s_keys (ctx, node, "obligations", keys))
        return false;
    bool good = true;
    yaml_node_t *value;
    if ((value = s_get (ctx, node, "acknowledge_hours")))
        good =
            s_duration (ctx, value, "acknowledge_hours", RH_HOUR_MS, &obligations->acknowledge_ms)
            && good;
    if ((value = s_get (ctx, node, "reminder_hours_before")))
        good = s_duration (ctx, value, "reminder_hours_before", RH_HOUR_MS,
                           &obligations->reminder_before_ms)
               && good;
    if ((value = s_get (ctx, node, "escalate_after_days")))
        good = s_duration (ctx, value, "escalate_after_days", RH_DAY_MS,
                           &obligations->escalate_after_ms)
               && good;
    //  Strategy meetings: how long after the meeting its record is due.
    if ((value = s_get (ctx, node, "meeting_record_days")))
        good = s_duration (ctx, value, "meeting_record_days", RH_DAY_MS,
                           &obligations->meeting_record_ms)
               && good;
    if ((value = s_get (ctx, node, "escalate_to"))) {
        const char *text = s_scalar (ctx, value, "escalate_to");
        if (text && s_role (ctx->agreement, text, false) < 0) {
            s_error (ctx, value, "escalate_to: no party has the role '%s'", text);
            good = false;
        }
        else if (text)
            snprintf (obligations->escalate_to, sizeof obligations->escalate_to, "%s", text);
    }
    if ((value = s_get (ctx, node, "outcome_days"))) {
        if (value->type == YAML_SCALAR_NODE)
            good = s_duration (ctx, value, "outcome_days", RH_DAY_MS, &obligations->outcome_ms)
                   && good;
        else if (value->type == YAML_MAPPING_NODE) {
            for (yaml_node_pair_t *pair = value->data.mapping.pairs.start;
                 pair < value->data.mapping.pairs.top; pair++) {
                yaml_node_t *key = s_node (ctx, pair->key);
                const char *name = s_scalar (ctx, key, "outcome_days key");
                if (!name) {
                    good = false;
                    continue;
                }
                int64_t *slot = NULL;
                uint32_t kind = 0;
                if (!strcmp (name, "default"))
                    slot = &obligations->outcome_ms;
                else if (s_enum (ctx, key, &rhannu__v1__referral_kind__descriptor, "referral kind",
                                 &kind)
                         && kind < RH_MAX_REFERRAL_KINDS)
                    slot = &obligations->outcome_ms_by_kind [kind];
                if (!slot)
                    good = false;
                else
                    good =
                        s_duration (ctx, s_node (ctx, pair->value), "outcome_days", RH_DAY_MS, slot)
                        && good;
            }
        }
        else {
            s_error (ctx, value, "outcome_days is a number of days, or days by referral kind");
            good = false;
        }
    }
    if ((value = s_get (ctx, node, "feedback_to")))
        good = s_each (ctx, value, "feedback_to", s_feedback_bit, obligations) && good;
    if ((value = s_get (ctx, node, "repeat_referrals"))) {
        static const char *const repeat_keys [] = { "count", "window_days", "notify", NULL };
        if (!s_keys (ctx, value, "repeat_referrals", repeat_keys))
            good = false;
        else {
            yaml_node_t *item;
            int64_t count = 0;
            if ((item = s_get (ctx, value, "count"))) {
                good = s_int (ctx, item, "repeat_referrals.count", 2, 100, &count) && good;
                obligations->repeat_count = (uint32_t) count;
            }
            if ((item = s_get (ctx, value, "window_days")))
                good = s_duration (ctx, item, "repeat_referrals.window_days", RH_DAY_MS,
                                   &obligations->repeat_window_ms)
                       && good;
            if ((item = s_get (ctx, value, "notify")))
                good = s_each (ctx, item, "repeat_referrals.notify", s_notify_add, obligations)
                       && good;
        }
    }
    return good;
}

static bool
s_parse_threshold (s_ctx_t *ctx, yaml_node_t *node)
{
    static const char *const keys [] = { "id", "version", "sha256", NULL };
    if (!s_keys (ctx, node, "threshold_document", keys))
        return false;
    yaml_node_t *digest = s_get (ctx, node, "sha256");
    const char *text = digest ? s_scalar (ctx, digest, "threshold_document.sha256") : NULL;
    if (text) {
        bool hex = strlen (text) == 64;
        for (size_t i = 0; hex && i < 64; i++)
            hex = isxdigit ((unsigned char) text [i]);
        if (!hex) {
            s_error (ctx, digest, "threshold_document.sha256 must be 64 hexadecimal digits");
            return false;
        }
    }
    return true;
}

static bool
s_parse_retention (s_ctx_t *ctx, yaml_node_t *node)
{
    static const char *const keys [] = { "referral_years", "audit_years", "legal_hold", NULL };
    if (!s_keys (ctx, node, "retention", keys))
        return false;
    bool good = true, hold;
    int64_t years;
    yaml_node_t *value;
    if ((value = s_get (ctx, node, "referral_years"))
        && s_int (ctx, value, "referral_years", 0, 100, &years))
        ctx->agreement->referral_years = years;
    else if (value)
        good = false;
    //  The audit log itself is never shortened (its tree is the evidence): audit_years is
    //  checked, not acted on.
    if ((value = s_get (ctx, node, "audit_years")))
        good = s_int (ctx, value, "audit_years", 0, 100, &years) && good;
    if ((value = s_get (ctx, node, "legal_hold")) && s_bool (ctx, value, "legal_hold", &hold))
        ctx->agreement->legal_hold = hold;
    else if (value)
        good = false;
    return good;
}

//  Professional challenge (issue 17): the escalation protocol.
//    challenge:
//      levels:
//        - {role: holder, respond_days: 5}
//        - {role: safeguarding_lead, respond_days: 5}
//  Level n+1 takes over when level n has not responded in time. "holder" is the agency holding
//  the case; any other role must be some party's, or nobody could ever answer at that level.
static bool
s_parse_challenge (s_ctx_t *ctx, yaml_node_t *node)
{
    static const char *const keys [] = { "levels", NULL };
    static const char *const level_keys [] = { "role", "respond_days", NULL };
    rh_agreement_t *self = ctx->agreement;
    if (!s_keys (ctx, node, "challenge", keys))
        return false;
    yaml_node_t *levels = s_get (ctx, node, "levels");
    if (!levels || levels->type != YAML_SEQUENCE_NODE
        || levels->data.sequence.items.top == levels->data.sequence.items.start) {
        s_error (ctx, levels ? levels : node, "challenge needs a list of levels");
        return false;
    }
    size_t count = (size_t) (levels->data.sequence.items.top - levels->data.sequence.items.start);
    if (count > RH_MAX_CHALLENGE_LEVELS) {
        s_error (ctx, levels, "challenge: at most %d levels", RH_MAX_CHALLENGE_LEVELS);
        return false;
    }
    bool good = true;
    for (size_t i = 0; i < count; i++) {
        yaml_node_t *item = s_node (ctx, levels->data.sequence.items.start [i]);
        rh_challenge_level_t *level = &self->challenge_levels [i];
        if (!s_keys (ctx, item, "a challenge level", level_keys)) {
            good = false;
            continue;
        }
        yaml_node_t *role = s_get (ctx, item, "role"), *days = s_get (ctx, item, "respond_days");
        if (!role || !days) {
            s_error (ctx, item, "challenge level %zu needs a role and respond_days", i + 1);
            good = false;
            continue;
        }
        const char *text = s_scalar (ctx, role, "challenge level role");
        if (!text)
            good = false;
        else if (strcmp (text, "holder") != 0 && s_role (self, text, false) < 0) {
            s_error (ctx, role, "challenge level %zu: no party has the role '%s'", i + 1, text);
            good = false;
        }
        else
            snprintf (level->role, sizeof level->role, "%s", text);
        int64_t number = 0;
        if (s_int (ctx, days, "challenge level respond_days", 1, RH_MAX_CHALLENGE_RESPOND_DAYS,
                   &number))
            level->respond_ms = number * RH_DAY_MS;
        else
            good = false;
    }
    if (good)
        self->challenge_level_count = count;
    return good;
}

//  Parties first (they declare the roles), then purposes before parties use them: the order
//  in the file does not matter.
static bool
s_parse_root (s_ctx_t *ctx, yaml_node_t *root)
{
    static const char *const keys [] = { "id",
                                         "version",
                                         "title",
                                         "framework",
                                         "lawful_basis",
                                         "region",
                                         "local_authorities",
                                         "valid_from",
                                         "valid_to",
                                         "threshold_document",
                                         "purposes",
                                         "parties",
                                         "rules",
                                         "obligations",
                                         "retention",
                                         "challenge",
                                         NULL };
    rh_agreement_t *self = ctx->agreement;
    if (!s_keys (ctx, root, "the agreement", keys))
        return false;
    bool good = true;
    yaml_node_t *value = s_get (ctx, root, "id");
    if (!value || !s_copy (ctx, value, "id", self->id, sizeof self->id)) {
        if (!value)
            s_error (ctx, root, "the agreement needs an id");
        good = false;
    }
    int64_t number = 0;
    value = s_get (ctx, root, "version");
    if (!value) {
        s_error (ctx, root,
                 "the agreement needs a version (a whole number, raised on each change)");
        good = false;
    }
    else if (s_int (ctx, value, "version", 1, UINT32_MAX, &number))
        self->version = (uint32_t) number;
    else
        good = false;
    if ((value = s_get (ctx, root, "title")))
        good = s_copy (ctx, value, "title", self->title, sizeof self->title) && good;
    if ((value = s_get (ctx, root, "framework")))
        good = s_copy (ctx, value, "framework", self->framework, sizeof self->framework) && good;
    if ((value = s_get (ctx, root, "lawful_basis")))
        good = s_scalar (ctx, value, "lawful_basis") && good;
    if ((value = s_get (ctx, root, "region")))
        good = s_copy (ctx, value, "region", self->region, sizeof self->region) && good;
    if ((value = s_get (ctx, root, "local_authorities"))) {
        s_names_t las = { 0 };
        good = s_names (ctx, value, "local_authorities", false, &las) && good;
        s_names_free (&las);
    }
    if ((value = s_get (ctx, root, "threshold_document")))
        good = s_parse_threshold (ctx, value) && good;
    if ((value = s_get (ctx, root, "retention")))
        good = s_parse_retention (ctx, value) && good;
    yaml_node_t *from = s_get (ctx, root, "valid_from"), *to = s_get (ctx, root, "valid_to");
    if (!from || !to) {
        s_error (ctx, root, "the agreement needs valid_from and valid_to dates");
        good = false;
    }
    else if (s_date (ctx, from, "valid_from", &self->valid_from)
             && s_date (ctx, to, "valid_to", &self->valid_to)) {
        self->valid_to += RH_DAY_MS - 1;  //  the last day is a whole day
        if (self->valid_to < self->valid_from) {
            s_error (ctx, to, "valid_to is before valid_from");
            good = false;
        }
    }
    else
        good = false;

    value = s_get (ctx, root, "purposes");
    if (!value) {
        s_error (ctx, root, "the agreement needs purposes (e.g. SAFEGUARDING_CHILD)");
        good = false;
    }
    else
        good = s_each (ctx, value, "purposes", s_purpose_add, NULL) && good;

    value = s_get (ctx, root, "parties");
    if (!value || value->type != YAML_SEQUENCE_NODE
        || value->data.sequence.items.top == value->data.sequence.items.start) {
        s_error (ctx, value ? value : root, "the agreement needs a list of parties");
        return false;
    }
    size_t count = (size_t) (value->data.sequence.items.top - value->data.sequence.items.start);
    if (count > RH_MAX_PARTIES) {
        s_error (ctx, value, "more than %d parties", RH_MAX_PARTIES);
        return false;
    }
    self->parties = calloc (count, sizeof *self->parties);
    if (!self->parties)
        return false;
    for (size_t i = 0; i < count; i++) {
        yaml_node_t *item = s_node (ctx, value->data.sequence.items.start [i]);
        s_party_t *party = &self->parties [self->party_count++];
        if (!s_parse_party (ctx, item, party)) {
            good = false;
            continue;
        }
        for (size_t k = 0; k + 1 < self->party_count; k++)
            if (strcmp (self->parties [k].id, party->id) == 0) {
                s_error (ctx, item, "party '%s' is listed twice", party->id);
                good = false;
            }
    }
    //  Two front doors answering to the same alias in one local authority would make the
    //  directory ambiguous.
    for (size_t i = 0; i < self->party_count; i++)
        for (size_t k = i + 1; k < self->party_count; k++)
            for (size_t a = 0; a < self->parties [i].aliases.count; a++)
                for (size_t l = 0; l < self->parties [i].front_door_for.count; l++)
                    if (s_names_has (&self->parties [k].aliases,
                                     self->parties [i].aliases.items [a], true)
                        && s_names_has (&self->parties [k].front_door_for,
                                        self->parties [i].front_door_for.items [l], false)) {
                        s_error (ctx, root, "alias '%s' of '%s' names two front doors (%s, %s)",
                                 self->parties [i].aliases.items [a],
                                 self->parties [i].front_door_for.items [l], self->parties [i].id,
                                 self->parties [k].id);
                        good = false;
                    }

    value = s_get (ctx, root, "rules");
    if (!value || value->type != YAML_SEQUENCE_NODE
        || value->data.sequence.items.top == value->data.sequence.items.start) {
        s_error (ctx, value ? value : root, "the agreement needs a list of rules");
        return false;
    }
    count = (size_t) (value->data.sequence.items.top - value->data.sequence.items.start);
    if (count > RH_MAX_RULES) {
        s_error (ctx, value, "more than %d rules", RH_MAX_RULES);
        return false;
    }
    self->rules = calloc (count, sizeof *self->rules);
    if (!self->rules)
        return false;
    for (size_t i = 0; i < count; i++) {
        yaml_node_t *item = s_node (ctx, value->data.sequence.items.start [i]);
        s_rule_t *rule = &self->rules [self->rule_count++];
        if (!s_parse_rule (ctx, item, rule)) {
            good = false;
            continue;
        }
        for (size_t k = 0; k + 1 < self->rule_count; k++)
            if (strcmp (self->rules [k].id, rule->id) == 0) {
                s_error (ctx, item, "rule id '%s' is used twice", rule->id);
                good = false;
            }
    }
    if ((value = s_get (ctx, root, "obligations")))
        good = s_parse_obligations (ctx, value, &self->obligations) && good;
    if ((value = s_get (ctx, root, "challenge")))
        good = s_parse_challenge (ctx, value) && good;
    return good;
}

rh_agreement_t *
rh_agreement_parse (const char *text, size_t size, const char *name, char *errors,
                    size_t errors_size)
{
    s_ctx_t ctx = { .yaml =
                        rh_yaml_new (text, size, name ? name : "agreement", errors, errors_size) };
    if (!ctx.yaml)
        return NULL;
    rh_agreement_t *self = calloc (1, sizeof *self);
    if (self) {
        ctx.agreement = self;
        self->referral_years = -1;
        yaml_node_t *root = rh_yaml_root (ctx.yaml);
        if (!rh_yaml_finish (ctx.yaml, root && s_parse_root (&ctx, root)))
            rh_agreement_destroy (&self);
    }
    else
        rh_yaml_finish (ctx.yaml, false);
    rh_yaml_destroy (&ctx.yaml);
    return self;
}

static void
s_match_free (s_match_t *match)
{
    s_names_free (&match->ids);
    s_names_free (&match->las);
    s_names_free (&match->regions);
    s_names_free (&match->units);
}

void
rh_agreement_destroy (rh_agreement_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    rh_agreement_t *self = *self_p;
    for (size_t i = 0; i < self->party_count; i++) {
        s_names_free (&self->parties [i].front_door_for);
        s_names_free (&self->parties [i].aliases);
    }
    for (size_t i = 0; i < self->rule_count; i++) {
        s_match_free (&self->rules [i].from);
        s_match_free (&self->rules [i].to);
    }
    free (self->parties);
    free (self->rules);
    free (self);
    *self_p = NULL;
}

//  ---------------------------------------------------------------------------------------------
//  Deciding

//  The party entry for an agency, if it is one and its stated type agrees with its certificate.
static const s_party_t *
s_party (const rh_agreement_t *self, const rh_party_ref_t *who)
{
    for (size_t i = 0; i < self->party_count; i++) {
        const s_party_t *party = &self->parties [i];
        if (strcmp (party->id, who->id) == 0)
            return (party->type == 0 || party->type == who->type) ? party : NULL;
    }
    return NULL;
}

static bool
s_front_door_of (const s_party_t *party, const rh_facts_t *facts)
{
    for (size_t i = 0; i < facts->home_la_count; i++)
        if (s_names_has (&party->front_door_for, facts->home_las [i], false))
            return true;
    return false;
}

static bool
s_matches (const s_match_t *match, const rh_party_ref_t *who, const s_party_t *party,
           const rh_facts_t *facts, int purpose, const char *unit)
{
    if (match->ids.count && !s_names_has (&match->ids, who->id, false))
        return false;
    if (match->types && !(who->type < 32 && (match->types & (1u << who->type))))
        return false;
    if (match->roles && !(match->roles & party->roles))
        return false;
    if (match->las.count && !s_names_has (&match->las, who->la, false))
        return false;
    if (match->regions.count && !s_names_has (&match->regions, who->region, false))
        return false;
    if (match->units.count && !(unit && s_names_has (&match->units, unit, true)))
        return false;
    if (match->front_door_of_subject && !s_front_door_of (party, facts))
        return false;
    if (match->holds_purpose && !(purpose >= 0 && (party->purposes & (1ull << purpose))))
        return false;
    if (match->case_role != S_CASE_NONE) {
        bool referrer = facts->case_referrer && *facts->case_referrer
                        && !strcmp (facts->case_referrer, who->id);
        bool involved = referrer;
        for (size_t i = 0; !involved && i < facts->case_involved_count; i++)
            involved = !strcmp (facts->case_involved [i], who->id);
        if (!(match->case_role == S_CASE_REFERRER ? referrer : involved))
            return false;
    }
    return true;
}

static bool
s_cross_border (const rh_facts_t *facts, const rh_party_ref_t *recipient)
{
    if (facts->transfer_cross_border)
        return true;
    if (!*recipient->la || facts->home_la_count == 0)
        return false;
    for (size_t i = 0; i < facts->home_la_count; i++)
        if (strcmp (facts->home_las [i], recipient->la) == 0)
            return false;
    return true;
}

static bool
s_rule_matches (const s_rule_t *rule, const rh_facts_t *facts, const rh_party_ref_t *sender,
                const s_party_t *sender_party, const rh_party_ref_t *recipient,
                const s_party_t *recipient_party, int purpose)
{
    if (rule->kinds && !(rule->kinds & (1u << facts->kind)))
        return false;
    if (rule->purposes && !(purpose >= 0 && (rule->purposes & (1ull << purpose))))
        return false;
    if (rule->categories && !(rule->categories & facts->categories))
        return false;
    if (rule->routes && !(facts->route < 32 && (rule->routes & (1u << facts->route))))
        return false;
    if (rule->subject_kinds && !(rule->subject_kinds & facts->subject_kinds))
        return false;
    if (rule->cross_border != S_CROSS_ANY) {
        bool cross = s_cross_border (facts, recipient);
        if (cross != (rule->cross_border == S_CROSS_REQUIRED))
            return false;
    }
    return s_matches (&rule->from, sender, sender_party, facts, purpose, facts->sender_unit)
           && s_matches (&rule->to, recipient, recipient_party, facts, purpose, NULL);
}

//  Writes the decision's explanation; a very long one is cut, which is fine for a sentence.
static void s_reason (rh_decision_t *decision, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

static void
s_reason (rh_decision_t *decision, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    vsnprintf (decision->reason, sizeof decision->reason, format, args);
    va_end (args);
}

static const char *
s_enum_name (const ProtobufCEnumDescriptor *descriptor, uint32_t value)
{
    const ProtobufCEnumValue *found =
        protobuf_c_enum_descriptor_get_value (descriptor, (int) value);
    return found ? found->name : "?";
}

//  "CARE_AND_SUPPORT referral", "transfer"
static void
s_what (const rh_facts_t *facts, char *text, size_t size)
{
    char kind [64];
    snprintf (kind, sizeof kind, "%s", rh_envelope_kind_name (facts->kind));
    for (char *c = kind; *c; c++)
        *c = *c == '_' ? ' ' : (char) tolower ((unsigned char) *c);
    if (facts->route)
        snprintf (text, size, "%s %s", s_enum_name (&rhannu__v1__route__descriptor, facts->route),
                  kind);
    else
        snprintf (text, size, "%s", kind);
}

//  Checks a matched rule's consent condition. Returns true if met; otherwise fills the
//  decision's missing condition and reason.
static bool
s_consent_met (const s_rule_t *rule, const rh_facts_t *facts, const rh_party_ref_t *recipient,
               rh_decision_t *decision)
{
    if (!rule->consent_required && !rule->consent_scope && !rule->family_aware)
        return true;
    uint32_t state = facts->has_consent ? facts->consent_state : 0;
    char what [128];
    s_what (facts, what, sizeof what);
    bool exempt = false;
    if ((rule->consent_unless & S_UNLESS_CHILD_PROTECTION)
        && facts->route == RHANNU__V1__ROUTE__CHILD_PROTECTION)
        exempt = true;
    if ((rule->consent_unless & S_UNLESS_SIGNIFICANT_HARM)
        && state == RHANNU__V1__CONSENT_STATE__NOT_REQUIRED_SIGNIFICANT_HARM)
        exempt = true;
    if ((rule->consent_unless & S_UNLESS_LACKS_CAPACITY)
        && state == RHANNU__V1__CONSENT_STATE__NOT_REQUIRED_LACKS_CAPACITY) {
        if (facts->capacity != RHANNU__V1__CAPACITY__LACKS_CAPACITY || !facts->capacity_assessor) {
            snprintf (decision->missing, sizeof decision->missing, "capacity_assessment");
            s_reason (decision,
                      "consent is recorded as not required for lack of capacity, but %s (rule "
                      "%s)",
                      facts->capacity != RHANNU__V1__CAPACITY__LACKS_CAPACITY
                          ? "capacity is not recorded as lacking"
                          : "no capacity assessor is recorded",
                      rule->id);
            return false;
        }
        exempt = true;
    }
    if (rule->consent_required && !exempt && state != RHANNU__V1__CONSENT_STATE__GIVEN) {
        const char *why = "none recorded";
        if (state == RHANNU__V1__CONSENT_STATE__WITHHELD)
            why = "the person withheld consent";
        else if (state == RHANNU__V1__CONSENT_STATE__NOT_SOUGHT)
            why = "consent was not sought";
        else if (state == RHANNU__V1__CONSENT_STATE__NOT_REQUIRED_SIGNIFICANT_HARM)
            why = "significant harm does not lift the requirement under this rule";
        else if (state == RHANNU__V1__CONSENT_STATE__NOT_REQUIRED_LACKS_CAPACITY)
            why = "lack of capacity does not lift the requirement under this rule";
        snprintf (decision->missing, sizeof decision->missing, "consent");
        s_reason (decision, "consent required for %s to %s; %s (rule %s)", what, recipient->id, why,
                  rule->id);
        return false;
    }
    if (rule->consent_scope && state == RHANNU__V1__CONSENT_STATE__GIVEN && facts->consent_scope
        && !(recipient->type < 32 && (facts->consent_scope & (1u << recipient->type)))) {
        char scope [160] = "";
        for (uint32_t type = 1; type < 32; type++)
            if (facts->consent_scope & (1u << type)) {
                size_t used = strlen (scope);
                snprintf (scope + used, sizeof scope - used, "%s%s", used ? ", " : "",
                          s_enum_name (&rhannu__v1__agency_type__descriptor, type));
            }
        snprintf (decision->missing, sizeof decision->missing, "consent_scope");
        s_reason (decision, "the consent recorded for this %s covers %s, not %s (%s) (rule %s)",
                  what, scope, recipient->id,
                  s_enum_name (&rhannu__v1__agency_type__descriptor, recipient->type), rule->id);
        return false;
    }
    bool harm = state == RHANNU__V1__CONSENT_STATE__NOT_REQUIRED_SIGNIFICANT_HARM
                || facts->route == RHANNU__V1__ROUTE__CHILD_PROTECTION;
    if (rule->family_aware && !harm && !facts->family_aware && !facts->not_aware_reason) {
        snprintf (decision->missing, sizeof decision->missing, "family_aware");
        s_reason (decision,
                  "the family must be made aware of this %s, or the reason they are not recorded "
                  "(rule %s)",
                  what, rule->id);
        return false;
    }
    return true;
}

void
rh_decision_condition (rh_decision_t *decision, const char *missing, const char *format, ...)
{
    assert (decision && missing && format);
    memset (decision, 0, sizeof *decision);
    decision->result = RH_DECIDE_CONDITION;
    decision->rule_id = "";
    snprintf (decision->missing, sizeof decision->missing, "%s", missing);
    va_list args;
    va_start (args, format);
    vsnprintf (decision->reason, sizeof decision->reason, format, args);
    va_end (args);
}

void
rh_agreement_decide (const rh_agreement_t *self, const rh_facts_t *facts,
                     const rh_party_ref_t *sender, const rh_party_ref_t *recipient,
                     rh_decision_t *decision)
{
    memset (decision, 0, sizeof *decision);
    decision->agreement = self;
    decision->rule_id = "";
    const char *kind = rh_envelope_kind_name (facts->kind);
    if (!kind)
        kind = "?";
    const s_party_t *sender_party = s_party (self, sender);
    const s_party_t *recipient_party = s_party (self, recipient);
    if (!sender_party || !recipient_party) {
        decision->result = RH_DECIDE_NOT_PARTY;
        snprintf (decision->missing, sizeof decision->missing, "party");
        s_reason (decision, "%s is not a party to agreement %s",
                  sender_party ? recipient->id : sender->id, self->id);
        return;
    }
    int purpose = *facts->purpose ? s_purpose (self, facts->purpose) : -1;
    for (size_t i = 0; i < self->rule_count; i++) {
        const s_rule_t *rule = &self->rules [i];
        if (!s_rule_matches (rule, facts, sender, sender_party, recipient, recipient_party,
                             purpose))
            continue;
        decision->rule_id = rule->id;
        if (rule->deny) {
            decision->result = RH_DECIDE_DENY_RULE;
            s_reason (decision, "rule %s of agreement %s refuses %s from %s to %s%s%s", rule->id,
                      self->id, kind, sender->id, recipient->id, *rule->description ? ": " : "",
                      rule->description);
            return;
        }
        if (!s_consent_met (rule, facts, recipient, decision)) {
            decision->result = RH_DECIDE_CONDITION;
            bool consent = !strcmp (decision->missing, "consent")
                           || !strcmp (decision->missing, "consent_scope");
            if (!consent || !rule->override_allowed)
                return;
            if (!facts->override_justification || !facts->override_authoriser) {
                //  An override half recorded is no override: the refusal stands, and says what
                //  the sender left out.
                if (facts->override_justification || facts->override_authoriser) {
                    snprintf (decision->missing, sizeof decision->missing,
                              facts->override_justification ? "override_authoriser"
                                                            : "override_justification");
                    s_reason (decision,
                              "a consent override under rule %s needs both a justification and "
                              "the authorising manager; %s is missing",
                              rule->id,
                              facts->override_justification ? "the manager" : "the justification");
                }
                return;
            }
            //  Break-glass: allowed, recorded as an override for review (the reason keeps the
            //  condition it overrode).
            decision->overridden = true;
            decision->review_ms = rule->override_review_ms;
        }
        decision->result = RH_DECIDE_ALLOW;
        decision->fields = rule->all_fields ? ~0ull : rule->fields [facts->kind];
        decision->onward = rule->onward;
        return;
    }
    decision->result = RH_DECIDE_NO_RULE;
    s_reason (decision, "no rule of agreement %s allows %s from %s to %s for purpose %s", self->id,
              kind, sender->id, recipient->id, *facts->purpose ? facts->purpose : "(none given)");
}

const char *
rh_agreement_front_door (const rh_agreement_t *self, const char *la, const char *alias,
                         const char **label, bool *by_alias)
{
    const s_party_t *first = NULL;
    *by_alias = false;
    for (size_t i = 0; i < self->party_count; i++) {
        const s_party_t *party = &self->parties [i];
        if (!s_names_has (&party->front_door_for, la, false))
            continue;
        if (alias && *alias && s_names_has (&party->aliases, alias, true)) {
            first = party;
            *by_alias = true;
            break;
        }
        if (!first)
            first = party;
    }
    if (label)
        *label = first ? first->label : "";
    return first ? first->id : NULL;
}

const char *
rh_agreement_label (const rh_agreement_t *self, const char *agency)
{
    for (size_t i = 0; i < self->party_count; i++)
        if (strcmp (self->parties [i].id, agency) == 0)
            return self->parties [i].label;
    return "";
}

size_t
rh_agreement_parties_with_role (const rh_agreement_t *self, const char *role, const char **ids,
                                size_t max)
{
    int index = s_role ((rh_agreement_t *) self, role, false);
    size_t count = 0;
    for (size_t i = 0; index >= 0 && i < self->party_count && count < max; i++)
        if (self->parties [i].roles & (1u << index))
            ids [count++] = self->parties [i].id;
    return count;
}

bool
rh_agreement_has_role (const rh_agreement_t *self, const char *agency, const char *role)
{
    int index = s_role ((rh_agreement_t *) self, role, false);
    if (index < 0)
        return false;
    for (size_t i = 0; i < self->party_count; i++)
        if (strcmp (self->parties [i].id, agency) == 0)
            return (self->parties [i].roles & (1u << index)) != 0;
    return false;
}

const char *
rh_agreement_id (const rh_agreement_t *self)
{
    return self->id;
}

uint32_t
rh_agreement_version (const rh_agreement_t *self)
{
    return self->version;
}

const char *
rh_agreement_title (const rh_agreement_t *self)
{
    return self->title;
}

int64_t
rh_agreement_valid_from (const rh_agreement_t *self)
{
    return self->valid_from;
}

int64_t
rh_agreement_valid_to (const rh_agreement_t *self)
{
    return self->valid_to;
}

int64_t
rh_agreement_referral_years (const rh_agreement_t *self)
{
    return self->referral_years;
}

bool
rh_agreement_legal_hold (const rh_agreement_t *self)
{
    return self->legal_hold;
}

size_t
rh_agreement_rules (const rh_agreement_t *self)
{
    return self->rule_count;
}

size_t
rh_agreement_parties (const rh_agreement_t *self)
{
    return self->party_count;
}

size_t
rh_agreement_challenge_levels (const rh_agreement_t *self, const rh_challenge_level_t **levels)
{
    assert (self && levels);
    *levels = self->challenge_levels;
    return self->challenge_level_count;
}

const rh_obligations_t *
rh_agreement_obligations (const rh_agreement_t *self)
{
    return &self->obligations;
}

const uint8_t *
rh_agreement_sha256 (const rh_agreement_t *self)
{
    return self->sha256;
}

void
rh_agreement_set_sha256 (rh_agreement_t *self, const uint8_t digest [RH_DIGEST_LEN])
{
    memcpy (self->sha256, digest, RH_DIGEST_LEN);
}

void
rh_agreement_print (const rh_agreement_t *self, FILE *out)
{
    char from [32], to [32];
    time_t seconds = (time_t) (self->valid_from / 1000);
    struct tm tm;
    strftime (from, sizeof from, "%Y-%m-%d", gmtime_r (&seconds, &tm));
    seconds = (time_t) (self->valid_to / 1000);
    strftime (to, sizeof to, "%Y-%m-%d", gmtime_r (&seconds, &tm));
    fprintf (out, "agreement %s version %u%s%s\n", self->id, self->version,
             *self->title ? ": " : "", self->title);
    fprintf (out, "  valid %s to %s%s%s\n", from, to, *self->region ? ", region " : "",
             self->region);
    fprintf (out, "  %zu purposes, %zu parties, %zu rules\n", self->purpose_count,
             self->party_count, self->rule_count);
    for (size_t i = 0; i < self->party_count; i++) {
        const s_party_t *party = &self->parties [i];
        if (!party->front_door_for.count)
            continue;
        fprintf (out, "  front door %s%s%s%s for", party->id, *party->label ? " (" : "",
                 party->label, *party->label ? ")" : "");
        for (size_t k = 0; k < party->front_door_for.count; k++)
            fprintf (out, " %s", party->front_door_for.items [k]);
        if (party->aliases.count) {
            fprintf (out, ", aliases");
            for (size_t k = 0; k < party->aliases.count; k++)
                fprintf (out, "%s '%s'", k ? "," : "", party->aliases.items [k]);
        }
        fprintf (out, "\n");
    }
    for (size_t i = 0; i < self->rule_count; i++)
        fprintf (out, "  rule %-8s %-5s %s\n", self->rules [i].id,
                 self->rules [i].deny ? "deny" : "allow", self->rules [i].description);
    for (size_t i = 0; i < self->challenge_level_count; i++)
        fprintf (out, "  challenge level %zu: %s answers within %" PRId64 " days\n", i + 1,
                 self->challenge_levels [i].role,
                 (int64_t) (self->challenge_levels [i].respond_ms / RH_DAY_MS));
}
