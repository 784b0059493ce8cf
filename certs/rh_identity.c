/*  =========================================================================
    rh_identity - who a certificate says an agency is
    =========================================================================
*/
#include "rh_classes.h"

bool
rh_identity_valid_id (const char *text)
{
    if (!text || !*text || strlen (text) > RH_MAX_ID)
        return false;
    if (!islower ((unsigned char) text [0]) && !isdigit ((unsigned char) text [0]))
        return false;
    for (const char *c = text; *c; c++)
        if (!islower ((unsigned char) *c) && !isdigit ((unsigned char) *c) && *c != '-'
            && *c != '.')
            return false;
    return true;
}

bool
rh_identity_valid_type (const char *text)
{
    //  The schema's AgencyType enum is the one list of agency types.
    return text && strcmp (text, "AGENCY_TYPE_UNSET") != 0
           && rh_envelope_enum_known ("AgencyType", text);
}
