/*  =========================================================================
    rh_policy - the sharing agreements in force, and the broker's decisions
    =========================================================================
*/
#include "rh_broker_classes.h"
#include "rhannu.pb-c.h"

typedef struct {
    uint8_t *data;  //  the file as signed
    size_t size;
    uint8_t signature [RH_SIG_LEN];
} s_source_t;

struct _rh_policy_t {
    rh_agreement_t *agreements [RH_MAX_AGREEMENTS];  //  sorted by id
    s_source_t sources [RH_MAX_AGREEMENTS];          //  same order
    size_t count;
};

static void s_append (char *errors, size_t size, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

static void
s_append (char *errors, size_t size, const char *format, ...)
{
    if (!errors || !size)
        return;
    size_t used = strlen (errors);
    if (used + 2 >= size)
        return;
    va_list args;
    va_start (args, format);
    vsnprintf (errors + used, size - used - 1, format, args);
    va_end (args);
    used = strlen (errors);
    errors [used] = '\n';
    errors [used + 1] = 0;
}

static int
s_yaml_file (const struct dirent *entry)
{
    size_t size = strlen (entry->d_name);
    return entry->d_name [0] != '.' && size > 5 && strcmp (entry->d_name + size - 5, ".yaml") == 0;
}

static int
s_by_id (const void *a, const void *b)
{
    return strcmp (rh_agreement_id (*(rh_agreement_t *const *) a),
                   rh_agreement_id (*(rh_agreement_t *const *) b));
}

//  Reads, checks the signature of, and parses one file. Returns NULL with errors appended.
static rh_agreement_t *
s_load_one (const char *dir, const char *name, X509 *ca, int64_t now_ms, s_source_t *source,
            char *errors, size_t errors_size)
{
    char path [PATH_MAX], sig_path [PATH_MAX];
    uint8_t *data = NULL, *signature = NULL;
    size_t size = 0, signature_size = 0;
    rh_agreement_t *agreement = NULL;
    if (rh_file_path (path, sizeof path, "%s/%s", dir, name) != 0
        || rh_file_path (sig_path, sizeof sig_path, "%s.sig", path) != 0) {
        s_append (errors, errors_size, "%s: path too long", name);
        return NULL;
    }
    if (rh_file_read (path, RH_MAX_AGREEMENT_FILE, &data, &size) != 0) {
        s_append (errors, errors_size, "%s: cannot read: %s", path,
                  errno == EFBIG ? "larger than the limit" : strerror (errno));
        return NULL;
    }
    if (rh_file_read (sig_path, 1024, &signature, &signature_size) != 0)
        s_append (errors, errors_size,
                  "%s: not signed (%s is missing; sign it with rhannu-ca sign-agreement)", path,
                  sig_path);
    else if (rh_ca_verify_file (ca, data, size, signature, signature_size) != RH_OK)
        s_append (errors, errors_size,
                  "%s: the signature in %s does not verify against the board CA (the file was "
                  "changed after signing, or another CA signed it)",
                  path, sig_path);
    else if ((agreement =
                  rh_agreement_parse ((const char *) data, size, path, errors, errors_size))) {
        uint8_t digest [RH_DIGEST_LEN];
        rh_sha256 (digest, data, size);
        rh_agreement_set_sha256 (agreement, digest);
        if (rh_agreement_valid_to (agreement) < now_ms) {
            char until [64];
            s_append (errors, errors_size, "%s: agreement %s version %u expired on %s", path,
                      rh_agreement_id (agreement), rh_agreement_version (agreement),
                      rh_time_format (rh_agreement_valid_to (agreement), until, sizeof until));
            rh_agreement_destroy (&agreement);
        }
    }
    if (agreement) {
        source->data = data;
        source->size = size;
        memcpy (source->signature, signature, RH_SIG_LEN);
        data = NULL;
    }
    free (data);
    free (signature);
    return agreement;
}

rh_policy_t *
rh_policy_load (const char *dir, const char *ca_pem, int64_t now_ms, char *errors,
                size_t errors_size)
{
    if (errors && errors_size)
        *errors = 0;
    X509 *ca = rh_ca_read_cert (ca_pem);
    if (!ca) {
        s_append (errors, errors_size, "%s: cannot read the board CA certificate", ca_pem);
        return NULL;
    }
    rh_policy_t *self = calloc (1, sizeof *self);
    struct dirent **entries = NULL;
    int found = scandir (dir, &entries, s_yaml_file, alphasort);
    bool good = self != NULL;
    if (found < 0) {
        s_append (errors, errors_size, "%s: cannot read the agreements folder: %s", dir,
                  strerror (errno));
        good = false;
    }
    else if (found == 0) {
        s_append (errors, errors_size, "%s: no agreements (*.yaml): every message would be refused",
                  dir);
        good = false;
    }
    else if (found > RH_MAX_AGREEMENTS) {
        s_append (errors, errors_size, "%s: more than %d agreements", dir, RH_MAX_AGREEMENTS);
        good = false;
    }
    for (int i = 0; good && i < found; i++) {
        rh_agreement_t *agreement = s_load_one (dir, entries [i]->d_name, ca, now_ms,
                                                &self->sources [self->count], errors, errors_size);
        if (!agreement) {
            good = false;
            break;
        }
        for (size_t k = 0; k < self->count; k++)
            if (strcmp (rh_agreement_id (self->agreements [k]), rh_agreement_id (agreement)) == 0) {
                s_append (errors, errors_size,
                          "%s/%s: agreement %s is already loaded from "
                          "another file; keep one version in force",
                          dir, entries [i]->d_name, rh_agreement_id (agreement));
                good = false;
            }
        self->agreements [self->count++] = agreement;
    }
    for (int i = 0; i < found; i++)
        free (entries [i]);
    free (entries);
    X509_free (ca);
    if (!good) {
        rh_policy_destroy (&self);
        return NULL;
    }
    //  Sort agreements and their sources together: pair them up, sort, split again.
    for (size_t i = 1; i < self->count; i++)
        for (size_t k = i; k > 0 && s_by_id (&self->agreements [k - 1], &self->agreements [k]) > 0;
             k--) {
            rh_agreement_t *agreement = self->agreements [k];
            self->agreements [k] = self->agreements [k - 1];
            self->agreements [k - 1] = agreement;
            s_source_t source = self->sources [k];
            self->sources [k] = self->sources [k - 1];
            self->sources [k - 1] = source;
        }
    return self;
}

void
rh_policy_destroy (rh_policy_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    rh_policy_t *self = *self_p;
    for (size_t i = 0; i < self->count; i++) {
        rh_agreement_destroy (&self->agreements [i]);
        free (self->sources [i].data);
    }
    free (self);
    *self_p = NULL;
}

size_t
rh_policy_size (const rh_policy_t *self)
{
    return self->count;
}

const rh_agreement_t *
rh_policy_agreement (const rh_policy_t *self, size_t index)
{
    return index < self->count ? self->agreements [index] : NULL;
}

const uint8_t *
rh_policy_source (const rh_policy_t *self, size_t index, size_t *size, const uint8_t **signature)
{
    if (index >= self->count)
        return NULL;
    *size = self->sources [index].size;
    if (signature)
        *signature = self->sources [index].signature;
    return self->sources [index].data;
}

const rh_agreement_t *
rh_policy_find (const rh_policy_t *self, const char *agreement_id)
{
    for (size_t i = 0; i < self->count; i++)
        if (strcmp (rh_agreement_id (self->agreements [i]), agreement_id) == 0)
            return self->agreements [i];
    return NULL;
}

static bool
s_in_force (const rh_agreement_t *agreement, int64_t now_ms)
{
    return rh_agreement_valid_from (agreement) <= now_ms
           && now_ms <= rh_agreement_valid_to (agreement);
}

//  ---------------------------------------------------------------------------------------------
//  Facts

static void
s_subjects (rh_facts_t *facts, Rhannu__V1__Subject *const *subjects, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        const Rhannu__V1__Subject *subject = subjects [i];
        if (subject->kind > 0 && subject->kind < 32)
            facts->subject_kinds |= 1u << subject->kind;
        if (!*subject->home_la || facts->home_la_count >= RH_MAX_FACT_LAS)
            continue;
        bool seen = false;
        for (size_t k = 0; k < facts->home_la_count && !seen; k++)
            seen = strcmp (facts->home_las [k], subject->home_la) == 0;
        if (!seen)
            facts->home_las [facts->home_la_count++] = subject->home_la;
    }
}

static void
s_consent (rh_facts_t *facts, const Rhannu__V1__Consent *consent)
{
    if (!consent)
        return;
    facts->has_consent = true;
    facts->consent_state = consent->state > 0 ? (uint32_t) consent->state : 0;
    facts->capacity = consent->capacity > 0 ? (uint32_t) consent->capacity : 0;
    facts->capacity_assessor = *consent->capacity_assessor != 0;
    facts->family_aware = consent->family_aware;
    facts->not_aware_reason = *consent->not_aware_reason != 0;
    facts->override_justification = *consent->override_justification != 0;
    facts->override_authoriser = *consent->override_authorised_by != 0;
    for (size_t i = 0; i < consent->n_scope; i++)
        if (consent->scope [i] > 0 && consent->scope [i] < 32)
            facts->consent_scope |= 1u << consent->scope [i];
}

void
rh_policy_facts (rh_envelope_t *envelope, rh_facts_t *facts)
{
    memset (facts, 0, sizeof *facts);
    facts->kind = rh_envelope_kind (envelope);
    facts->sender = rh_envelope_sender (envelope);
    facts->sender_unit = rh_envelope_author_unit (envelope);
    facts->purpose = rh_envelope_purpose (envelope);
    facts->transfer_to_la = "";
    facts->case_referrer = "";
    facts->new_owner = "";
    const ProtobufCMessage *body = rh_envelope_body (envelope);
    if (!body)
        return;
    if (facts->kind == RH_KIND_REFERRAL) {
        const Rhannu__V1__Referral *referral = (const Rhannu__V1__Referral *) body;
        for (size_t i = 0; i < referral->n_categories; i++)
            if (referral->categories [i] > 0 && referral->categories [i] < 32)
                facts->categories |= 1u << referral->categories [i];
        facts->route = referral->requested_route > 0 ? (uint32_t) referral->requested_route : 0;
        s_subjects (facts, referral->subjects, referral->n_subjects);
        s_consent (facts, referral->consent);
        facts->referral_kind = referral->referral_kind > 0 ? (uint32_t) referral->referral_kind : 0;
        for (size_t i = 0; i < referral->n_subjects; i++) {
            const ProtobufCBinaryData *key = &referral->subjects [i]->subject_key;
            if (key->len == RH_SUBJECT_KEY_LEN && facts->subject_key_count < RH_MAX_CASE_SUBJECTS)
                facts->subject_keys [facts->subject_key_count++] = key->data;
        }
    }
    else if (facts->kind == RH_KIND_OUTCOME) {
        const Rhannu__V1__Outcome *outcome = (const Rhannu__V1__Outcome *) body;
        facts->decision = outcome->decision > 0 ? (uint32_t) outcome->decision : 0;
    }
    else if (facts->kind == RH_KIND_STATUS_UPDATE) {
        const Rhannu__V1__StatusUpdate *update = (const Rhannu__V1__StatusUpdate *) body;
        facts->update_kind = update->update_kind > 0 ? (uint32_t) update->update_kind : 0;
        facts->review_outcome = update->review_outcome > 0 ? (uint32_t) update->review_outcome : 0;
        facts->challenge_outcome =
            update->challenge_outcome > 0 ? (uint32_t) update->challenge_outcome : 0;
        if (update->new_owner && update->new_owner->agency_id)
            facts->new_owner = update->new_owner->agency_id;
    }
    else if (facts->kind == RH_KIND_TRANSFER) {
        const Rhannu__V1__Transfer *transfer = (const Rhannu__V1__Transfer *) body;
        facts->transfer_cross_border = transfer->cross_border;
        facts->transfer_to_la = transfer->to_la;
        s_consent (facts, transfer->consent);
    }
    else if (facts->kind == RH_KIND_INFO_REQUEST) {
        const Rhannu__V1__InfoRequest *request = (const Rhannu__V1__InfoRequest *) body;
        s_subjects (facts, request->subjects, request->n_subjects);
    }
}

//  ---------------------------------------------------------------------------------------------
//  Decisions

void
rh_policy_party (const rh_identity_t *identity, rh_party_ref_t *ref)
{
    const ProtobufCEnumValue *type = protobuf_c_enum_descriptor_get_value_by_name (
        &rhannu__v1__agency_type__descriptor, identity->type);
    ref->id = identity->agency_id;
    ref->type = type && type->value > 0 ? (uint32_t) type->value : 0;
    ref->la = identity->la;
    ref->region = identity->region;
}

//  How useful a refusal is to the sender: a higher rank explains more.
static int
s_rank (rh_decide_t result)
{
    switch (result) {
        case RH_DECIDE_CONDITION:
            return 4;
        case RH_DECIDE_DENY_RULE:
            return 3;
        case RH_DECIDE_NO_RULE:
            return 2;
        case RH_DECIDE_NOT_PARTY:
            return 1;
        default:
            return 0;
    }
}

void
rh_policy_decide (const rh_policy_t *self, const rh_facts_t *facts, const char *agreement_id,
                  const rh_party_ref_t *sender, const rh_party_ref_t *recipient, int64_t now_ms,
                  rh_decision_t *decision)
{
    memset (decision, 0, sizeof *decision);
    decision->result = RH_DECIDE_NO_RULE;
    decision->rule_id = "";
    if (agreement_id && *agreement_id) {
        const rh_agreement_t *named = rh_policy_find (self, agreement_id);
        if (!named || !s_in_force (named, now_ms)) {
            snprintf (decision->missing, sizeof decision->missing, "agreement");
            snprintf (decision->reason, sizeof decision->reason,
                      "the message relies on agreement %s, which is %s at this broker",
                      agreement_id, named ? "not in force" : "not known");
            return;
        }
        rh_agreement_decide (named, facts, sender, recipient, decision);
        return;
    }
    rh_decision_t candidate;
    bool any = false;
    for (size_t i = 0; i < self->count; i++) {
        if (!s_in_force (self->agreements [i], now_ms))
            continue;
        rh_agreement_decide (self->agreements [i], facts, sender, recipient, &candidate);
        if (candidate.result == RH_DECIDE_ALLOW) {
            *decision = candidate;
            return;
        }
        if (!any || s_rank (candidate.result) > s_rank (decision->result))
            *decision = candidate;
        any = true;
    }
    if (!any) {
        snprintf (decision->missing, sizeof decision->missing, "agreement");
        snprintf (decision->reason, sizeof decision->reason,
                  "no sharing agreement is in force at this broker");
    }
}

const char *
rh_policy_front_door (const rh_policy_t *self, const char *la, const char *alias, int64_t now_ms,
                      const char **label)
{
    const char *found = NULL, *found_label = "";
    for (size_t i = 0; i < self->count; i++) {
        if (!s_in_force (self->agreements [i], now_ms))
            continue;
        const char *this_label = "";
        bool by_alias = false;
        const char *agency =
            rh_agreement_front_door (self->agreements [i], la, alias, &this_label, &by_alias);
        if (!agency)
            continue;
        //  An agreement that knows the alias beats one that only knows the local authority.
        if (by_alias) {
            found = agency;
            found_label = this_label;
            break;
        }
        if (!found) {
            found = agency;
            found_label = this_label;
        }
    }
    if (label)
        *label = found_label;
    return found;
}
