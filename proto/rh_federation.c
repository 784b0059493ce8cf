/*  =========================================================================
    rh_federation - a federation agreement between two regions' boards

    Parsed with libyaml's document API like sharing agreements, so every
    error names its line; names of kinds and categories are the schema's own.
    The file holds no secrets: it is the public contract of which broker
    speaks for which region, and what may cross the border.
    =========================================================================
*/
#include "rh_proto.h"
#include "rhannu.pb-c.h"

#define S_DAY_MS (24LL * 3600 * 1000)

typedef struct {
    char (*items) [RH_MAX_ID + 1];
    size_t count;
} s_names_t;

typedef struct {
    char la [RH_MAX_ID + 1];
    char agency [RH_MAX_ID + 1];
} s_door_t;

typedef struct {
    rh_fed_region_t public;  //  strings point into the fields below
    char name [RH_MAX_ID + 1];
    char endpoint [RH_MAX_TEXT];
    char cn [RH_MAX_ID + 1];
    char origin [RH_NOTE_MAX_NAME + 1];  //  log_origin, "" if none
    s_door_t doors [RH_MAX_FED_DOORS];
    size_t door_count;
} s_region_t;

typedef struct {
    char from [RH_MAX_ID + 1];
    char to [RH_MAX_ID + 1];
    s_names_t agencies;
    s_names_t las;
    uint32_t kinds;
    s_names_t purposes;
    uint32_t categories;  //  0: any category
} s_crossing_t;

struct _rh_federation_t {
    char id [RH_MAX_ID + 1];
    uint32_t version;
    char title [RH_MAX_TEXT];
    int64_t valid_from;
    int64_t valid_to;
    s_region_t regions [RH_MAX_FED_REGIONS];
    size_t region_count;
    s_crossing_t crossings [RH_MAX_FED_CROSSINGS];
    size_t crossing_count;
};

//  Every text of a federation agreement names something: an empty one is refused.
static bool
s_copy (rh_yaml_t *yaml, yaml_node_t *node, const char *what, char *to, size_t size)
{
    if (!rh_yaml_copy (yaml, node, what, to, size))
        return false;
    if (!*to) {
        rh_yaml_error (yaml, node, "%s must be 1 to %zu characters", what, size - 1);
        return false;
    }
    return true;
}

static bool
s_name_add (rh_yaml_t *yaml, yaml_node_t *item, void *arg)
{
    const char *text = (const char *) item->data.scalar.value;
    s_names_t *names = arg;
    if (!*text || strlen (text) > RH_MAX_ID) {
        rh_yaml_error (yaml, item, "'%s' must be 1 to %d characters", text, RH_MAX_ID);
        return false;
    }
    void *grown = realloc (names->items, (names->count + 1) * sizeof *names->items);
    if (!grown) {
        rh_yaml_error (yaml, item, "out of memory");
        return false;
    }
    names->items = grown;
    snprintf (names->items [names->count++], RH_MAX_ID + 1, "%s", text);
    return true;
}

static bool
s_names_has (const s_names_t *names, const char *text)
{
    for (size_t i = 0; i < names->count; i++)
        if (strcmp (names->items [i], text) == 0)
            return true;
    return false;
}

static bool
s_kind_bit (rh_yaml_t *yaml, yaml_node_t *item, void *arg)
{
    const char *text = (const char *) item->data.scalar.value;
    rh_kind_t kind = rh_envelope_kind_from_name (text);
    if (kind == RH_KIND_UNSET) {
        rh_yaml_error (yaml, item, "unknown message kind '%s' (REFERRAL, OUTCOME, TRANSFER, ...)",
                       text);
        return false;
    }
    *(uint32_t *) arg |= 1u << kind;
    return true;
}

static bool
s_category_bit (rh_yaml_t *yaml, yaml_node_t *item, void *arg)
{
    const char *text = (const char *) item->data.scalar.value;
    const ProtobufCEnumValue *found =
        protobuf_c_enum_descriptor_get_value_by_name (&rhannu__v1__category__descriptor, text);
    if (!found || found->value <= 0 || found->value >= 32) {
        rh_yaml_error (yaml, item, "unknown category '%s'", text);
        return false;
    }
    *(uint32_t *) arg |= 1u << found->value;
    return true;
}

static bool
s_parse_door (rh_yaml_t *yaml, yaml_node_t *node, s_region_t *region)
{
    static const char *const keys [] = { "la", "agency", NULL };
    if (!rh_yaml_keys (yaml, node, "a front door", keys))
        return false;
    if (region->door_count >= RH_MAX_FED_DOORS) {
        rh_yaml_error (yaml, node, "a region lists more than %d front doors", RH_MAX_FED_DOORS);
        return false;
    }
    s_door_t *door = &region->doors [region->door_count];
    yaml_node_t *la = rh_yaml_need (yaml, node, "la", "a front door");
    yaml_node_t *agency = rh_yaml_need (yaml, node, "agency", "a front door");
    if (!la || !agency || !s_copy (yaml, la, "la", door->la, sizeof door->la)
        || !s_copy (yaml, agency, "agency", door->agency, sizeof door->agency))
        return false;
    region->door_count++;
    return true;
}

static bool
s_parse_region (rh_yaml_t *yaml, yaml_node_t *node, s_region_t *region)
{
    static const char *const keys [] = { "region",    "ca_sha256",  "broker_endpoint",
                                         "broker_cn", "log_origin", "front_doors",
                                         NULL };
    if (!rh_yaml_keys (yaml, node, "a region", keys))
        return false;
    bool good = true;
    yaml_node_t *value = rh_yaml_need (yaml, node, "region", "a region");
    good = value && s_copy (yaml, value, "region", region->name, sizeof region->name) && good;
    value = rh_yaml_need (yaml, node, "ca_sha256", "a region");
    const char *hex = value ? rh_yaml_scalar (yaml, value, "ca_sha256") : NULL;
    size_t got = 0;
    if (hex
        && (strlen (hex) != 2 * RH_DIGEST_LEN
            || sodium_hex2bin (region->public.ca_sha256, RH_DIGEST_LEN, hex, strlen (hex), NULL,
                               &got, NULL)
                   != 0
            || got != RH_DIGEST_LEN)) {
        rh_yaml_error (yaml, value, "ca_sha256 must be %d hex digits (rhannu-ca fingerprint)",
                       2 * RH_DIGEST_LEN);
        hex = NULL;
    }
    good = hex && good;
    value = rh_yaml_need (yaml, node, "broker_endpoint", "a region");
    good = value
           && s_copy (yaml, value, "broker_endpoint", region->endpoint, sizeof region->endpoint)
           && good;
    if (value && *region->endpoint && strncmp (region->endpoint, "tcp://", 6) != 0) {
        rh_yaml_error (yaml, value, "broker_endpoint must be tcp://HOST:PORT");
        good = false;
    }
    value = rh_yaml_need (yaml, node, "broker_cn", "a region");
    good = value && s_copy (yaml, value, "broker_cn", region->cn, sizeof region->cn) && good;
    value = rh_yaml_get (yaml, node, "log_origin");
    if (value) {
        bool copied = s_copy (yaml, value, "log_origin", region->origin, sizeof region->origin);
        if (copied && !rh_note_name_valid (region->origin)) {
            rh_yaml_error (yaml, value,
                           "log_origin must be a checkpoint origin (no spaces, '+' or control "
                           "characters), as the region's broker has in witness/origin");
            copied = false;
        }
        good = copied && good;
    }
    value = rh_yaml_get (yaml, node, "front_doors");
    if (value) {
        if (value->type != YAML_SEQUENCE_NODE) {
            rh_yaml_error (yaml, value, "front_doors must be a list of {la, agency}");
            good = false;
        }
        else
            for (yaml_node_item_t *item = value->data.sequence.items.start;
                 item < value->data.sequence.items.top; item++)
                good = s_parse_door (yaml, rh_yaml_node (yaml, *item), region) && good;
    }
    region->public.name = region->name;
    region->public.broker_endpoint = region->endpoint;
    region->public.broker_cn = region->cn;
    region->public.log_origin = *region->origin ? region->origin : NULL;
    return good;
}

static const s_region_t *
s_region (const rh_federation_t *self, const char *name)
{
    for (size_t i = 0; i < self->region_count; i++)
        if (strcmp (self->regions [i].name, name) == 0)
            return &self->regions [i];
    return NULL;
}

static bool
s_parse_crossing (rh_yaml_t *yaml, rh_federation_t *self, yaml_node_t *node, s_crossing_t *crossing)
{
    static const char *const keys [] = { "from",  "to",       "agencies",   "las",
                                         "kinds", "purposes", "categories", NULL };
    if (!rh_yaml_keys (yaml, node, "a crossing", keys))
        return false;
    bool good = true;
    yaml_node_t *value = rh_yaml_need (yaml, node, "from", "a crossing");
    good = value && s_copy (yaml, value, "from", crossing->from, sizeof crossing->from) && good;
    if (value && *crossing->from && !s_region (self, crossing->from)) {
        rh_yaml_error (yaml, value, "from: '%s' is no region of this agreement", crossing->from);
        good = false;
    }
    value = rh_yaml_need (yaml, node, "to", "a crossing");
    good = value && s_copy (yaml, value, "to", crossing->to, sizeof crossing->to) && good;
    if (value && *crossing->to && !s_region (self, crossing->to)) {
        rh_yaml_error (yaml, value, "to: '%s' is no region of this agreement", crossing->to);
        good = false;
    }
    if (*crossing->from && strcmp (crossing->from, crossing->to) == 0) {
        rh_yaml_error (yaml, node, "a crossing goes from one region to another, not to itself");
        good = false;
    }
    if ((value = rh_yaml_get (yaml, node, "agencies")))
        good = rh_yaml_each (yaml, value, "agencies", s_name_add, &crossing->agencies) && good;
    if ((value = rh_yaml_get (yaml, node, "las")))
        good = rh_yaml_each (yaml, value, "las", s_name_add, &crossing->las) && good;
    if (crossing->agencies.count + crossing->las.count == 0) {
        rh_yaml_error (yaml, node, "a crossing names the agencies it trusts (agencies, las)");
        good = false;
    }
    if ((value = rh_yaml_need (yaml, node, "kinds", "a crossing")))
        good = rh_yaml_each (yaml, value, "kinds", s_kind_bit, &crossing->kinds) && good;
    else
        good = false;
    if ((value = rh_yaml_need (yaml, node, "purposes", "a crossing")))
        good = rh_yaml_each (yaml, value, "purposes", s_name_add, &crossing->purposes) && good;
    else
        good = false;
    if ((value = rh_yaml_get (yaml, node, "categories")))
        good =
            rh_yaml_each (yaml, value, "categories", s_category_bit, &crossing->categories) && good;
    return good;
}

static bool
s_parse_root (rh_yaml_t *yaml, rh_federation_t *self, yaml_node_t *root)
{
    static const char *const keys [] = { "federation", "regions", "crossings", NULL };
    static const char *const head_keys [] = { "id",         "version",  "title",
                                              "valid_from", "valid_to", NULL };
    if (!rh_yaml_keys (yaml, root, "the federation agreement", keys))
        return false;
    bool good = true;
    yaml_node_t *head = rh_yaml_need (yaml, root, "federation", "the federation agreement");
    if (!head || !rh_yaml_keys (yaml, head, "federation", head_keys))
        return false;
    yaml_node_t *value = rh_yaml_need (yaml, head, "id", "federation");
    good = value && s_copy (yaml, value, "id", self->id, sizeof self->id) && good;
    value = rh_yaml_need (yaml, head, "version", "federation");
    int64_t version = 0;
    good = value && rh_yaml_int (yaml, value, "version", 1, 1000000, &version) && good;
    self->version = (uint32_t) version;
    if ((value = rh_yaml_get (yaml, head, "title")))
        good = s_copy (yaml, value, "title", self->title, sizeof self->title) && good;
    value = rh_yaml_need (yaml, head, "valid_from", "federation");
    good = value && rh_yaml_date (yaml, value, "valid_from", &self->valid_from) && good;
    value = rh_yaml_need (yaml, head, "valid_to", "federation");
    good = value && rh_yaml_date (yaml, value, "valid_to", &self->valid_to) && good;
    self->valid_to += S_DAY_MS - 1;
    if (good && self->valid_to < self->valid_from) {
        rh_yaml_error (yaml, head, "valid_to is before valid_from");
        good = false;
    }
    yaml_node_t *regions = rh_yaml_need (yaml, root, "regions", "the federation agreement");
    if (!regions || regions->type != YAML_SEQUENCE_NODE) {
        if (regions)
            rh_yaml_error (yaml, regions, "regions must be a list");
        return false;
    }
    for (yaml_node_item_t *item = regions->data.sequence.items.start;
         item < regions->data.sequence.items.top; item++) {
        if (self->region_count >= RH_MAX_FED_REGIONS) {
            rh_yaml_error (yaml, regions, "more than %d regions", RH_MAX_FED_REGIONS);
            return false;
        }
        s_region_t *region = &self->regions [self->region_count];
        if (!s_parse_region (yaml, rh_yaml_node (yaml, *item), region)) {
            good = false;
            continue;
        }
        if (s_region (self, region->name)) {
            rh_yaml_error (yaml, rh_yaml_node (yaml, *item), "region '%s' appears twice",
                           region->name);
            good = false;
            continue;
        }
        //  One name, one log: a witness keeps its state per origin.
        for (size_t r = 0; *region->origin && r < self->region_count; r++)
            if (strcmp (self->regions [r].origin, region->origin) == 0) {
                rh_yaml_error (yaml, rh_yaml_node (yaml, *item),
                               "log_origin '%s' is also region '%s''s", region->origin,
                               self->regions [r].name);
                good = false;
            }
        self->region_count++;
    }
    if (self->region_count < 2) {
        rh_yaml_error (yaml, regions, "a federation agreement names at least two regions");
        good = false;
    }
    //  One LA has one front door across the federation, or "the front door of LA x" is ambiguous.
    for (size_t r = 0; r < self->region_count; r++)
        for (size_t d = 0; d < self->regions [r].door_count; d++) {
            const char *la = self->regions [r].doors [d].la;
            for (size_t r2 = 0; r2 < self->region_count; r2++)
                for (size_t d2 = 0; d2 < self->regions [r2].door_count; d2++)
                    if ((r2 < r || (r2 == r && d2 < d))
                        && strcmp (self->regions [r2].doors [d2].la, la) == 0) {
                        rh_yaml_error (yaml, regions, "local authority '%s' has two front doors",
                                       la);
                        good = false;
                    }
        }
    yaml_node_t *crossings = rh_yaml_need (yaml, root, "crossings", "the federation agreement");
    if (!crossings || crossings->type != YAML_SEQUENCE_NODE) {
        if (crossings)
            rh_yaml_error (yaml, crossings, "crossings must be a list");
        return false;
    }
    for (yaml_node_item_t *item = crossings->data.sequence.items.start;
         item < crossings->data.sequence.items.top; item++) {
        if (self->crossing_count >= RH_MAX_FED_CROSSINGS) {
            rh_yaml_error (yaml, crossings, "more than %d crossings", RH_MAX_FED_CROSSINGS);
            return false;
        }
        //  Counted even when invalid, so that destroy frees its lists.
        s_crossing_t *crossing = &self->crossings [self->crossing_count++];
        good = s_parse_crossing (yaml, self, rh_yaml_node (yaml, *item), crossing) && good;
    }
    return good;
}

rh_federation_t *
rh_federation_parse (const char *text, size_t size, const char *name, char *errors,
                     size_t errors_size)
{
    rh_yaml_t *yaml = rh_yaml_new (text, size, name ? name : "federation", errors, errors_size);
    if (!yaml)
        return NULL;
    rh_federation_t *self = calloc (1, sizeof *self);
    if (self) {
        yaml_node_t *root = rh_yaml_root (yaml);
        if (!rh_yaml_finish (yaml, root && s_parse_root (yaml, self, root)))
            rh_federation_destroy (&self);
    }
    else
        rh_yaml_finish (yaml, false);
    rh_yaml_destroy (&yaml);
    return self;
}

void
rh_federation_destroy (rh_federation_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    rh_federation_t *self = *self_p;
    for (size_t i = 0; i < self->crossing_count; i++) {
        free (self->crossings [i].agencies.items);
        free (self->crossings [i].las.items);
        free (self->crossings [i].purposes.items);
    }
    free (self);
    *self_p = NULL;
}

bool
rh_federation_is_federation (const char *text, size_t size)
{
    //  The first non-comment, non-blank line starts with "federation:".
    size_t at = 0;
    while (at < size) {
        size_t end = at;
        while (end < size && text [end] != '\n')
            end++;
        size_t first = at;
        while (first < end && (text [first] == ' ' || text [first] == '\t' || text [first] == '\r'))
            first++;
        if (first < end && text [first] != '#'
            && !(end - first == 3 && !memcmp (text + first, "---", 3)))
            return end - first >= 11 && memcmp (text + first, "federation:", 11) == 0;
        at = end + 1;
    }
    return false;
}

const char *
rh_federation_id (const rh_federation_t *self)
{
    return self->id;
}

uint32_t
rh_federation_version (const rh_federation_t *self)
{
    return self->version;
}

int64_t
rh_federation_valid_from (const rh_federation_t *self)
{
    return self->valid_from;
}

int64_t
rh_federation_valid_to (const rh_federation_t *self)
{
    return self->valid_to;
}

size_t
rh_federation_regions (const rh_federation_t *self)
{
    return self->region_count;
}

const rh_fed_region_t *
rh_federation_region (const rh_federation_t *self, size_t index)
{
    return index < self->region_count ? &self->regions [index].public : NULL;
}

const rh_fed_region_t *
rh_federation_region_named (const rh_federation_t *self, const char *name)
{
    const s_region_t *region = name ? s_region (self, name) : NULL;
    return region ? &region->public : NULL;
}

const rh_fed_region_t *
rh_federation_front_door (const rh_federation_t *self, const char *la, const char **agency)
{
    for (size_t r = 0; la && r < self->region_count; r++)
        for (size_t d = 0; d < self->regions [r].door_count; d++)
            if (strcmp (self->regions [r].doors [d].la, la) == 0) {
                if (agency)
                    *agency = self->regions [r].doors [d].agency;
                return &self->regions [r].public;
            }
    return NULL;
}

rh_fed_decide_t
rh_federation_decide (const rh_federation_t *self, const char *from, const char *to,
                      const char *sender, const char *sender_la, rh_kind_t kind,
                      const char *purpose, uint32_t categories, int64_t now_ms, char *reason,
                      size_t reason_size)
{
    char ignored [8];
    if (!reason || !reason_size) {
        reason = ignored;
        reason_size = sizeof ignored;
    }
    *reason = 0;
    if (now_ms < self->valid_from || now_ms > self->valid_to) {
        snprintf (reason, reason_size, "federation agreement %s is not in force", self->id);
        return RH_FED_NOT_IN_FORCE;
    }
    if (!from || !to || !s_region (self, from) || !s_region (self, to) || !strcmp (from, to)) {
        snprintf (reason, reason_size, "federation agreement %s does not join these regions",
                  self->id);
        return RH_FED_NO_REGION;
    }
    bool covered = false;
    for (size_t i = 0; i < self->crossing_count; i++) {
        const s_crossing_t *crossing = &self->crossings [i];
        if (strcmp (crossing->from, from) != 0 || strcmp (crossing->to, to) != 0)
            continue;
        if (!s_names_has (&crossing->agencies, sender ? sender : "")
            && !(sender_la && *sender_la && s_names_has (&crossing->las, sender_la)))
            continue;
        covered = true;
        if (kind <= RH_KIND_UNSET || kind >= RH_KIND_COUNT || (crossing->kinds & (1u << kind)) == 0)
            continue;
        if (!s_names_has (&crossing->purposes, purpose ? purpose : ""))
            continue;
        //  Every category of the message must be allowed, not just one of them.
        if (crossing->categories && (categories & ~crossing->categories) != 0)
            continue;
        return RH_FED_ALLOW;
    }
    if (!covered) {
        snprintf (reason, reason_size,
                  "federation agreement %s does not trust this agency to send from %s to %s",
                  self->id, from, to);
        return RH_FED_NOT_COVERED;
    }
    snprintf (reason, reason_size,
              "federation agreement %s does not let a %s with this purpose and these "
              "categories cross from %s to %s",
              self->id, rh_envelope_kind_name (kind), from, to);
    return RH_FED_NOT_ALLOWED;
}

const char *
rh_federation_decide_name (rh_fed_decide_t decide)
{
    switch (decide) {
        case RH_FED_ALLOW:
            return "allow";
        case RH_FED_NO_REGION:
            return "no_region";
        case RH_FED_NOT_COVERED:
            return "not_covered";
        case RH_FED_NOT_ALLOWED:
            return "not_allowed";
        case RH_FED_NOT_IN_FORCE:
            return "not_in_force";
    }
    return "unknown";
}

static void
s_print_names (FILE *out, const char *label, const s_names_t *names)
{
    if (!names->count)
        return;
    fprintf (out, "      %s:", label);
    for (size_t i = 0; i < names->count; i++)
        fprintf (out, "%s%s", i ? ", " : " ", names->items [i]);
    fputc ('\n', out);
}

void
rh_federation_print (const rh_federation_t *self, FILE *out)
{
    char from [32], to [32];
    rh_time_format (self->valid_from, from, sizeof from);
    rh_time_format (self->valid_to, to, sizeof to);
    from [10] = to [10] = 0;  //  the dates alone
    fprintf (out, "federation agreement %s version %u%s%s\n", self->id, self->version,
             *self->title ? ": " : "", self->title);
    fprintf (out, "  valid: %s to %s\n", from, to);
    for (size_t r = 0; r < self->region_count; r++) {
        const s_region_t *region = &self->regions [r];
        char hex [2 * RH_DIGEST_LEN + 1];
        sodium_bin2hex (hex, sizeof hex, region->public.ca_sha256, RH_DIGEST_LEN);
        fprintf (out, "  region %s: board CA sha256 %s\n", region->name, hex);
        fprintf (out, "    broker %s at %s\n", region->cn, region->endpoint);
        if (*region->origin)
            fprintf (out,
                     "    its log: origin %s, witnessed (cosigned) by the other regions' brokers\n",
                     region->origin);
        else
            fprintf (out, "    its log: not witnessed by the other regions (no log_origin)\n");
        for (size_t d = 0; d < region->door_count; d++)
            fprintf (out, "    front door of %s: %s\n", region->doors [d].la,
                     region->doors [d].agency);
    }
    for (size_t i = 0; i < self->crossing_count; i++) {
        const s_crossing_t *crossing = &self->crossings [i];
        fprintf (out, "  may cross from %s to %s:\n", crossing->from, crossing->to);
        s_print_names (out, "from agencies", &crossing->agencies);
        s_print_names (out, "from agencies of", &crossing->las);
        fprintf (out, "      kinds:");
        for (int kind = 1; kind < RH_KIND_COUNT; kind++)
            if (crossing->kinds & (1u << kind))
                fprintf (out, " %s", rh_envelope_kind_name ((rh_kind_t) kind));
        fputc ('\n', out);
        s_print_names (out, "purposes", &crossing->purposes);
        fprintf (out, "      categories:");
        if (!crossing->categories)
            fprintf (out, " any");
        for (unsigned c = 1; c < 32; c++)
            if (crossing->categories & (1u << c)) {
                const ProtobufCEnumValue *value = protobuf_c_enum_descriptor_get_value (
                    &rhannu__v1__category__descriptor, (int) c);
                fprintf (out, " %s", value ? value->name : "?");
            }
        fputc ('\n', out);
    }
    fprintf (out, "  anything else stays at the border\n");
}
