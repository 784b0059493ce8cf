/*  =========================================================================
    rh_explain - rhannu-broker explain: a dry run of the broker's decision
    =========================================================================
*/
#include "rh_broker_classes.h"

//  Where the agreements came from, for the reader to know what the answer rests on.
typedef struct {
    rh_policy_t *policy;     //  a signed set (policy/dir or --agreements DIR), or NULL
    rh_agreement_t *draft;   //  --agreements FILE, or NULL
    char source [PATH_MAX];  //  its folder or file
    const char *signature;   //  what is known of the draft's signature
} s_agreements_t;

//  One recipient's answer.
typedef struct {
    const char *agency;      //  "" when no agency could be found for the address
    const char *front_door;  //  the local authority whose front door was addressed, or ""
    const char *alias;       //  the label used with it, or ""
    const char *unrouted;    //  why no decision was made (not enrolled, no front door), or NULL
    rh_decision_t decision;
} s_answer_t;

static const char *
s_result_name (rh_decide_t result)
{
    switch (result) {
        case RH_DECIDE_ALLOW:
            return "allowed";
        case RH_DECIDE_NOT_PARTY:
            return "not_party";
        case RH_DECIDE_NO_RULE:
            return "no_rule";
        case RH_DECIDE_CONDITION:
            return "condition_missing";
        case RH_DECIDE_DENY_RULE:
            return "deny_rule";
    }
    return "refused";
}

//  A line on err naming what failed and its result code; never a value from the message (the
//  JSON parser's errors name paths and allowed values only).
static int
s_fail (FILE *err, const char *what, rh_rc_t rc, const char *why)
{
    fprintf (err, "rhannu-broker explain: %s: %s: %s\n", what, rh_rc_name (rc), why);
    return 2;
}

//  Loads the agreements to decide against. Returns 0, or -1 having written why on err.
static int
s_load_agreements (rh_config_t *config, const char *given, int64_t now, s_agreements_t *set,
                   FILE *err)
{
    char ca [PATH_MAX], errors [8192] = "";
    rh_file_path (ca, sizeof ca, "%s/ca.pem", rh_config_str (config, "pki/dir"));
    const char *path = given ? given : rh_config_str (config, "policy/dir");
    snprintf (set->source, sizeof set->source, "%s", path);
    struct stat st;
    if (stat (path, &st) != 0) {
        s_fail (err, path, RH_E_IO, strerror (errno));
        return -1;
    }
    if (S_ISDIR (st.st_mode)) {
        set->policy = rh_policy_load (path, ca, now, errors, sizeof errors);
        if (!set->policy) {
            char *newline = strchr (errors, '\n');
            if (newline)
                *newline = 0;  //  one line: the first problem
            s_fail (err, path, RH_E_POLICY, *errors ? errors : "the agreements do not load");
            return -1;
        }
        return 0;
    }
    uint8_t *data = NULL, *signature = NULL;
    size_t size = 0, signature_size = 0;
    if (rh_file_read (path, RH_MAX_AGREEMENT_FILE, &data, &size) != 0) {
        s_fail (err, path, RH_E_IO, errno == EFBIG ? "larger than the limit" : strerror (errno));
        return -1;
    }
    set->draft = rh_agreement_parse ((const char *) data, size, path, errors, sizeof errors);
    if (!set->draft) {
        char *newline = strchr (errors, '\n');
        if (newline)
            *newline = 0;
        s_fail (err, path, RH_E_POLICY, *errors ? errors : "not a valid agreement");
        free (data);
        return -1;
    }
    //  A draft is what is being written, so it need not be signed; but a signature that is
    //  there and does not verify means the file changed after signing, which is worth a stop.
    char sig_path [PATH_MAX];
    rh_file_path (sig_path, sizeof sig_path, "%s.sig", path);
    int rc = 0;
    if (rh_file_read (sig_path, 1024, &signature, &signature_size) != 0)
        set->signature = "not checked (a draft: no .sig file)";
    else {
        X509 *ca_cert = rh_ca_read_cert (ca);
        if (ca_cert && rh_ca_verify_file (ca_cert, data, size, signature, signature_size) == RH_OK)
            set->signature = "verified against the board CA";
        else {
            s_fail (err, path, RH_E_SIG,
                    ca_cert ? "its .sig does not verify against the board CA (changed since "
                              "signing? remove the .sig to try it as a draft)"
                            : "cannot read the board CA certificate to check its .sig");
            rc = -1;
        }
        X509_free (ca_cert);
    }
    free (signature);
    free (data);
    return rc;
}

//  The agency a front-door address reaches: the agreements' directory first, then an enrolled
//  LA_FRONT_DOOR (or LA_CHILDREN) certificate of that local authority, as the broker does.
static const char *
s_front_door (const s_agreements_t *set, rh_certstore_t *store, const char *la, const char *alias,
              int64_t now)
{
    const char *label = NULL, *agency = NULL;
    bool by_alias = false;
    if (set->policy)
        agency = rh_policy_front_door (set->policy, la, alias, now, &label);
    else
        agency = rh_agreement_front_door (set->draft, la, alias, &label, &by_alias);
    if (agency && rh_certstore_enrolled (store, agency, now))
        return agency;
    const char *fallback = NULL;
    for (size_t i = 0; i < rh_certstore_size (store); i++) {
        const rh_identity_t *id = rh_certstore_identity (store, i);
        if (strcmp (id->la, la) != 0 || rh_certstore_status (store, i, now) != RH_OK)
            continue;
        if (strcmp (id->type, "LA_FRONT_DOOR") == 0)
            return id->agency_id;
        if (strcmp (id->type, "LA_CHILDREN") == 0 && !fallback)
            fallback = id->agency_id;
    }
    return fallback;
}

//  Decides every recipient as the broker's intake would. Returns how many answers.
static size_t
s_decide (const s_agreements_t *set, rh_certstore_t *store, rh_envelope_t *envelope,
          const rh_identity_t *sender_id, int64_t now, s_answer_t *answers)
{
    rh_facts_t facts;
    rh_policy_facts (envelope, &facts);
    rh_party_ref_t sender, recipient;
    rh_policy_party (sender_id, &sender);
    const char *named = rh_envelope_agreement_id (envelope);
    size_t count = 0;
    for (size_t i = 0; i < rh_envelope_recipients (envelope) && i < RH_MAX_RECIPIENTS; i++) {
        s_answer_t *answer = &answers [count];
        memset (answer, 0, sizeof *answer);
        answer->agency = rh_envelope_recipient_agency (envelope, i);
        answer->front_door = "";
        answer->alias = rh_envelope_recipient_alias (envelope, i);
        if (!*answer->agency) {
            answer->front_door = rh_envelope_recipient_front_door (envelope, i);
            answer->agency = s_front_door (set, store, answer->front_door, answer->alias, now);
            if (!answer->agency) {
                answer->agency = "";
                answer->unrouted = "no front door is enrolled for this local authority";
            }
        }
        bool seen = false;
        for (size_t k = 0; k < count && *answer->agency && !seen; k++)
            seen = strcmp (answers [k].agency, answer->agency) == 0;
        if (seen)
            continue;  //  the broker delivers once to an agency addressed twice
        count++;
        const rh_identity_t *id =
            *answer->agency ? rh_certstore_enrolled (store, answer->agency, now) : NULL;
        if (!answer->unrouted && !id)
            answer->unrouted = "not an enrolled agency (no current certificate in pki/dir)";
        if (answer->unrouted)
            continue;
        rh_policy_party (id, &recipient);
        if (set->policy)
            rh_policy_decide (set->policy, &facts, named, &sender, &recipient, now,
                              &answer->decision);
        else if (*named && strcmp (named, rh_agreement_id (set->draft)) != 0) {
            answer->decision.result = RH_DECIDE_NOT_PARTY;
            answer->decision.rule_id = "";
            snprintf (answer->decision.reason, sizeof answer->decision.reason,
                      "the message names agreement %s, not the draft %s", named,
                      rh_agreement_id (set->draft));
        }
        else
            rh_agreement_decide (set->draft, &facts, &sender, &recipient, &answer->decision);
    }
    return count;
}

//  The names of the fields a recipient receives (allowed) or not, into a JSON array.
static json_t *
s_field_names (rh_envelope_t *envelope, const rh_decision_t *decision, bool received)
{
    json_t *names = json_array ();
    rh_kind_t kind = rh_envelope_kind (envelope);
    size_t committed = rh_envelope_commitments (envelope);
    for (size_t k = 0; names && k < committed && k < RH_MAX_FIELDS; k++) {
        uint32_t field = rh_envelope_commitment (envelope, k, NULL);
        bool kept = decision->result == RH_DECIDE_ALLOW && field < 64
                    && (decision->fields & (1ull << field));
        if (kept != received)
            continue;
        const char *name = rh_envelope_field_name (kind, field);
        char number [32];
        snprintf (number, sizeof number, "field %u", field);
        json_array_append_new (names, json_string (name ? name : number));
    }
    return names;
}

static json_t *
s_answer_json (rh_envelope_t *envelope, const s_answer_t *answer)
{
    const rh_decision_t *decision = &answer->decision;
    json_t *object = json_object ();
    json_object_set_new (object, "agency", json_string (answer->agency));
    if (*answer->front_door) {
        json_object_set_new (object, "front_door_la", json_string (answer->front_door));
        if (*answer->alias)
            json_object_set_new (object, "alias", json_string (answer->alias));
    }
    bool allowed = !answer->unrouted && decision->result == RH_DECIDE_ALLOW;
    json_object_set_new (object, "allowed", json_boolean (allowed));
    json_object_set_new (
        object, "result",
        json_string (answer->unrouted ? "not_routed" : s_result_name (decision->result)));
    if (!answer->unrouted && decision->agreement) {
        json_object_set_new (object, "agreement",
                             json_string (rh_agreement_id (decision->agreement)));
        json_object_set_new (object, "version",
                             json_integer (rh_agreement_version (decision->agreement)));
    }
    if (!answer->unrouted && decision->rule_id && *decision->rule_id)
        json_object_set_new (object, "rule", json_string (decision->rule_id));
    if (!answer->unrouted && *decision->missing)
        json_object_set_new (object, "missing", json_string (decision->missing));
    const char *reason = answer->unrouted ? answer->unrouted : decision->reason;
    if (*reason)
        json_object_set_new (object, "reason", json_string (reason));
    json_object_set_new (object, "receives", s_field_names (envelope, decision, true));
    json_object_set_new (object, "withheld", s_field_names (envelope, decision, false));
    return object;
}

//  A JSON array of names as "a, b, c" (or "none").
static void
s_print_names (FILE *out, const char *label, json_t *names)
{
    fprintf (out, "    %s: ", label);
    if (json_array_size (names) == 0)
        fprintf (out, "none");
    for (size_t i = 0; i < json_array_size (names); i++)
        fprintf (out, "%s%s", i ? ", " : "", json_string_value (json_array_get (names, i)));
    fprintf (out, "\n");
}

static void
s_print_text (FILE *out, json_t *report)
{
    json_t *message = json_object_get (report, "message");
    json_t *agreements = json_object_get (report, "agreements");
    json_t *recipients = json_object_get (report, "recipients");
    const char *named = json_string_value (json_object_get (message, "agreement_id"));
    fprintf (out, "Message: %s from %s, purpose %s%s%s, %zu recipient%s.\n",
             json_string_value (json_object_get (message, "kind")),
             json_string_value (json_object_get (message, "sender")),
             json_string_value (json_object_get (message, "purpose")),
             named ? ", naming agreement " : "", named ? named : "", json_array_size (recipients),
             json_array_size (recipients) == 1 ? "" : "s");
    const char *source = json_string_value (json_object_get (agreements, "source"));
    if (!strcmp (json_string_value (json_object_get (agreements, "kind")), "draft"))
        fprintf (out, "Agreements: the draft %s only (signature %s).\n", source,
                 json_string_value (json_object_get (agreements, "signature")));
    else
        fprintf (out, "Agreements: the %zu in force in %s (signatures verified).\n",
                 json_array_size (json_object_get (agreements, "ids")), source);
    fprintf (out, "\n");
    for (size_t i = 0; i < json_array_size (recipients); i++) {
        json_t *r = json_array_get (recipients, i);
        const char *agency = json_string_value (json_object_get (r, "agency"));
        const char *la = json_string_value (json_object_get (r, "front_door_la"));
        const char *alias = json_string_value (json_object_get (r, "alias"));
        const char *agreement = json_string_value (json_object_get (r, "agreement"));
        const char *rule = json_string_value (json_object_get (r, "rule"));
        const char *missing = json_string_value (json_object_get (r, "missing"));
        const char *reason = json_string_value (json_object_get (r, "reason"));
        bool allowed = json_is_true (json_object_get (r, "allowed"));
        fprintf (out, "%s", *agency ? agency : "(nobody)");
        if (la)
            fprintf (out, " (the front door of %s%s%s%s)", la, alias ? ", as \"" : "",
                     alias ? alias : "", alias ? "\"" : "");
        fprintf (out, ": %s", allowed ? "would receive it" : "REFUSED");
        if (agreement)
            fprintf (out, ", decided by agreement %s version %" JSON_INTEGER_FORMAT, agreement,
                     json_integer_value (json_object_get (r, "version")));
        if (rule)
            fprintf (out, ", rule %s", rule);
        else if (agreement && !allowed)
            fprintf (out, ", no rule");
        fprintf (out, ".\n");
        if (missing)
            fprintf (out, "    missing condition: %s\n", missing);
        if (reason && !allowed)
            fprintf (out, "    why: %s\n", reason);
        if (allowed) {
            s_print_names (out, "receives", json_object_get (r, "receives"));
            s_print_names (out, "withheld", json_object_get (r, "withheld"));
        }
    }
    if (json_array_size (recipients) == 0)
        fprintf (out, "No recipient: %s.\n",
                 json_string_value (json_object_get (report, "reason")));
    fprintf (out, "\n");
    if (json_is_true (json_object_get (report, "accepted")))
        fprintf (out, "The broker would accept this message and deliver it to %zu recipient%s.\n",
                 json_array_size (recipients), json_array_size (recipients) == 1 ? "" : "s");
    else
        fprintf (out,
                 "The broker would refuse this message (%s): one refused recipient refuses "
                 "it for all.\n",
                 rh_rc_name (RH_E_POLICY));
}

int
rh_explain_run (rh_config_t *config, const rh_explain_args_t *args, FILE *out, FILE *err)
{
    assert (config && args && args->message && args->from && out && err);
    int64_t now = rh_time_now_ms ();
    uint8_t *text = NULL;
    size_t size = 0;
    if (rh_file_read (args->message, RH_MAX_ENVELOPE, &text, &size) != 0)
        return s_fail (err, args->message, RH_E_IO,
                       errno == EFBIG ? "larger than the limit" : strerror (errno));
    char error [512] = "";
    rh_envelope_t *envelope = rh_json_to_envelope (text, size, error, sizeof error);
    free (text);
    if (!envelope)
        return s_fail (err, args->message, RH_E_MALFORMED, error);

    int rc = 2;
    rh_signer_t *signer = NULL;
    s_agreements_t set = { 0 };
    json_t *report = NULL;
    rh_certstore_t *store = rh_certstore_load_dir (rh_config_str (config, "pki/dir"));
    const rh_identity_t *sender_id = store ? rh_certstore_enrolled (store, args->from, now) : NULL;
    if (!store) {
        s_fail (err, rh_config_str (config, "pki/dir"), RH_E_IO, "cannot read the PKI folder");
        goto out;
    }
    if (!sender_id) {
        s_fail (err, "--from", RH_E_CERT_UNKNOWN,
                "the sender is not an enrolled agency (no current certificate in pki/dir)");
        goto out;
    }
    //  Sealed and decoded as the broker would receive it, so that the facts and the fields are
    //  exactly those of the real message; the signature is a throwaway's and nothing is sent.
    if (!(signer = rh_signer_new_unsent (args->from)) || rh_envelope_sign (envelope, signer) != 0) {
        s_fail (err, args->message, RH_E_MALFORMED, "the message does not seal within the limits");
        goto out;
    }
    if (s_load_agreements (config, args->agreements, now, &set, err) != 0)
        goto out;

    s_answer_t answers [RH_MAX_RECIPIENTS];
    size_t count = s_decide (&set, store, envelope, sender_id, now, answers);
    report = json_object ();
    json_t *message = json_object (), *agreements = json_object (), *recipients = json_array ();
    json_object_set_new (report, "message", message);
    json_object_set_new (report, "agreements", agreements);
    json_object_set_new (report, "recipients", recipients);
    const char *kind = rh_envelope_kind_name (rh_envelope_kind (envelope));
    json_object_set_new (message, "kind", json_string (kind ? kind : "UNKNOWN"));
    json_object_set_new (message, "sender", json_string (args->from));
    json_object_set_new (message, "purpose", json_string (rh_envelope_purpose (envelope)));
    if (*rh_envelope_agreement_id (envelope))
        json_object_set_new (message, "agreement_id",
                             json_string (rh_envelope_agreement_id (envelope)));
    json_object_set_new (agreements, "kind", json_string (set.draft ? "draft" : "in_force"));
    json_object_set_new (agreements, "source", json_string (set.source));
    json_object_set_new (agreements, "signature",
                         json_string (set.draft ? set.signature : "verified"));
    json_t *ids = json_array ();
    json_object_set_new (agreements, "ids", ids);
    for (size_t i = 0; set.policy && i < rh_policy_size (set.policy); i++)
        json_array_append_new (ids,
                               json_string (rh_agreement_id (rh_policy_agreement (set.policy, i))));
    if (set.draft)
        json_array_append_new (ids, json_string (rh_agreement_id (set.draft)));
    bool accepted = count > 0;
    for (size_t i = 0; i < count; i++) {
        json_array_append_new (recipients, s_answer_json (envelope, &answers [i]));
        accepted =
            accepted && !answers [i].unrouted && answers [i].decision.result == RH_DECIDE_ALLOW;
    }
    json_object_set_new (report, "accepted", json_boolean (accepted));
    if (count == 0)
        json_object_set_new (report, "reason",
                             json_string (*rh_envelope_in_reply_to (envelope)
                                              ? "a reply with no address goes to the sender of "
                                                "the original, which only the running broker knows"
                                              : "the message names no recipient"));
    if (args->json) {
        char *dump = json_dumps (report, JSON_INDENT (2) | JSON_PRESERVE_ORDER);
        if (dump)
            fprintf (out, "%s\n", dump);
        free (dump);
    }
    else
        s_print_text (out, report);
    rc = accepted ? 0 : 1;
out:
    json_decref (report);
    rh_policy_destroy (&set.policy);
    rh_agreement_destroy (&set.draft);
    rh_signer_destroy (&signer);
    rh_certstore_destroy (&store);
    rh_envelope_destroy (&envelope);
    return rc;
}
