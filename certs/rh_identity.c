/*  =========================================================================
    rh_identity - who a certificate says an agency is
    =========================================================================
*/
#include "rh_certs.h"

bool
rh_identity_valid_type (const char *text)
{
    //  The schema's AgencyType enum is the one list of agency types.
    return text && strcmp (text, "AGENCY_TYPE_UNSET") != 0
           && rh_envelope_enum_known ("AgencyType", text);
}

//  Copies one subject attribute into out; empty if absent. Fails if the attribute is repeated,
//  too long or holds a NUL.
static int
s_name_field (const X509_NAME *name, int nid, char *out, size_t out_size)
{
    out [0] = 0;
    int index = X509_NAME_get_index_by_NID (name, nid, -1);
    if (index < 0)
        return 0;
    if (X509_NAME_get_index_by_NID (name, nid, index) >= 0)
        return -1;
    const ASN1_STRING *data = X509_NAME_ENTRY_get_data (X509_NAME_get_entry (name, index));
    int length = ASN1_STRING_length (data);
    const unsigned char *bytes = ASN1_STRING_get0_data (data);
    if (length < 0 || (size_t) length >= out_size || memchr (bytes, 0, (size_t) length))
        return -1;
    memcpy (out, bytes, (size_t) length);
    out [length] = 0;
    return 0;
}

rh_rc_t
rh_identity_from_name (const X509_NAME *name, rh_identity_t *identity)
{
    assert (name && identity);
    if (s_name_field (name, NID_commonName, identity->agency_id, sizeof identity->agency_id)
        || s_name_field (name, NID_organizationalUnitName, identity->type, sizeof identity->type)
        || s_name_field (name, NID_localityName, identity->la, sizeof identity->la)
        || s_name_field (name, NID_stateOrProvinceName, identity->region, sizeof identity->region))
        return RH_E_MALFORMED;
    if (!rh_envelope_valid_id (identity->agency_id) || !rh_identity_valid_type (identity->type))
        return RH_E_MALFORMED;
    return RH_OK;
}

rh_rc_t
rh_identity_curve_from_names (const GENERAL_NAMES *names, rh_identity_t *identity)
{
    assert (identity);
    size_t prefix = strlen (RH_CURVE_URI_PREFIX);
    for (int i = 0; names && i < sk_GENERAL_NAME_num (names); i++) {
        const GENERAL_NAME *name = sk_GENERAL_NAME_value (names, i);
        if (name->type != GEN_URI)
            continue;
        int length = ASN1_STRING_length (name->d.uniformResourceIdentifier);
        const char *uri = (const char *) ASN1_STRING_get0_data (name->d.uniformResourceIdentifier);
        if (length < 0 || (size_t) length <= prefix || strncmp (uri, RH_CURVE_URI_PREFIX, prefix))
            continue;
        //  Two transport keys, or a malformed one: refuse the certificate.
        if (identity->has_curve_key || (size_t) length - prefix != 2 * RH_PUBKEY_LEN)
            return RH_E_MALFORMED;
        char hex [2 * RH_PUBKEY_LEN + 1];
        memcpy (hex, uri + prefix, 2 * RH_PUBKEY_LEN);
        hex [2 * RH_PUBKEY_LEN] = 0;
        size_t bin_len = 0;
        if (sodium_hex2bin (identity->curve_key, RH_PUBKEY_LEN, hex, 2 * RH_PUBKEY_LEN, NULL,
                            &bin_len, NULL)
                != 0
            || bin_len != RH_PUBKEY_LEN)
            return RH_E_MALFORMED;
        identity->has_curve_key = true;
    }
    return RH_OK;
}
