/*  =========================================================================
    rh_json - the JSON form of messages in agents' spool folders

    Outbox files become envelopes ready to sign; received envelopes become
    inbox files. Body fields use the schema's field names and enum value
    names (proto/rhannu.proto); bytes are lower-case hex. Parsing uses
    jansson and is strict: an unknown key or a value of the wrong type is an
    error that names the path, e.g. "body.subjects[0].kind: unknown value
    'KID'".
    =========================================================================
*/
#ifndef RH_JSON_H_INCLUDED
#define RH_JSON_H_INCLUDED

//  Builds an unsigned envelope from an outbox JSON document. Returns NULL and writes the reason
//  into error on failure.
rh_envelope_t *rh_json_to_envelope (const uint8_t *text, size_t size, char *error,
                                    size_t error_size);

//  Renders a decoded envelope as an inbox JSON document: header fields, the names of withheld
//  body fields, and the body. Returns a new string (free()) or NULL.
char *rh_json_from_envelope (rh_envelope_t *envelope);

//  The same, plus "delivered_under": the agreement (id, version) and rule the broker delivered
//  it under, when agreement_id is not NULL or "".
char *rh_json_from_delivery (rh_envelope_t *envelope, const char *agreement_id,
                             uint32_t agreement_version, const char *rule_id);

#endif
