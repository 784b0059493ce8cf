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
