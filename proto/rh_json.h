/*  =========================================================================
    rh_json - the JSON form of messages in agents' spool folders

    Outbox files become envelopes ready to sign; received envelopes become
    inbox files. Body fields use the schema's field names and enum value
    names (proto/rhannu.proto); bytes are lower-case hex. Parsing uses
    jansson and is strict: an unknown key or a value of the wrong type is an
    error that names the path and what is allowed, e.g. "value not allowed
    for field body.subjects[0].kind; allowed: CHILD, ADULT", and never the
    value that was given: errors go to the .error files of failed/ and the operator log,
    and a value may be personal data typed into the wrong field.
    =========================================================================
*/
#ifndef RH_JSON_H_INCLUDED
#define RH_JSON_H_INCLUDED

//  Builds an unsigned envelope from an outbox JSON document. Returns NULL and writes the reason
//  into error on failure.
rh_envelope_t *rh_json_to_envelope (const uint8_t *text, size_t size, char *error,
                                    size_t error_size);

//  The same, and every person subject without a subject_key gets the pseudonymous key of its
//  identifiers under the regional secret (rh_subject), when subject_secret is not NULL.
rh_envelope_t *rh_json_to_envelope_keyed (const uint8_t *text, size_t size,
                                          const uint8_t *subject_secret, char *error,
                                          size_t error_size);

//  Renders a decoded envelope as an inbox JSON document: header fields, the names of withheld
//  body fields, and the body. Returns a new string (free()) or NULL.
char *rh_json_from_envelope (rh_envelope_t *envelope);

//  What the agent adds when it renders a delivery.
typedef struct {
    const char *agreement_id;  //  "delivered_under": the agreement, version and rule, if set
    uint32_t agreement_version;
    const char *rule_id;
    rh_envelope_t *inner;  //  a NOTICE's embedded message, verified: rendered as body.original
    const char *lang;      //  "en" or "cy": "summary" from the body's summary_en / summary_cy
} rh_json_delivery_t;

//  The same, with what delivery adds (delivery may be NULL).
char *rh_json_from_delivery (rh_envelope_t *envelope, const rh_json_delivery_t *delivery);

#endif
