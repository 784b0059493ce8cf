/*  =========================================================================
    rh_rc - named results of verification and policy paths
    =========================================================================
*/
#include "rh_lib.h"

static const struct {
    const char *name;
    const char *text;
} s_results [RH_RC_COUNT] = {
    [RH_OK] = { "RH_OK", "ok" },
    [RH_E_MALFORMED] = { "RH_E_MALFORMED", "message is malformed" },
    [RH_E_TOO_LARGE] = { "RH_E_TOO_LARGE", "message or one of its fields is over the size limit" },
    [RH_E_VERSION] = { "RH_E_VERSION", "unsupported schema version" },
    [RH_E_SIG] = { "RH_E_SIG", "signature does not verify" },
    [RH_E_COMMITMENT] = { "RH_E_COMMITMENT", "a field does not match its signed commitment" },
    [RH_E_CERT_UNKNOWN] = { "RH_E_CERT_UNKNOWN",
                            "signer certificate unknown or not issued by the board CA" },
    [RH_E_CERT_MISMATCH] = { "RH_E_CERT_MISMATCH", "signer certificate belongs to another agency" },
    [RH_E_REVOKED] = { "RH_E_REVOKED", "certificate has been revoked" },
    [RH_E_EXPIRED] = { "RH_E_EXPIRED", "certificate had expired" },
    [RH_E_NOT_YET_VALID] = { "RH_E_NOT_YET_VALID", "certificate was not yet valid" },
    [RH_E_CRL] = { "RH_E_CRL", "revocation list missing, invalid or out of date" },
    [RH_E_REPLAY] = { "RH_E_REPLAY", "message was seen before (replay)" },
    [RH_E_IMPERSONATION] = { "RH_E_IMPERSONATION", "signed sender is not the connected agency" },
    [RH_E_POLICY] = { "RH_E_POLICY", "no sharing agreement allows this" },
    [RH_E_IO] = { "RH_E_IO", "input/output error" },
    [RH_E_NOMEM] = { "RH_E_NOMEM", "out of memory" },
    [RH_E_CLOCK] = { "RH_E_CLOCK", "created time is too far from the broker's clock" },
    [RH_E_NOT_HOLDER] = { "RH_E_NOT_HOLDER", "the sender does not hold the case" },
    [RH_E_BUSY] = { "RH_E_BUSY", "the broker is busy; send again later" },
    [RH_E_REPLY_MISMATCH] = { "RH_E_REPLY_MISMATCH",
                              "the reply is not bound to the message it names" },
    [RH_E_FORK] = { "RH_E_FORK", "the log's checkpoint does not extend the one witnessed before" },
};

const char *
rh_rc_name (rh_rc_t rc)
{
    if ((int) rc < 0 || rc >= RH_RC_COUNT)
        return "RH_E_UNKNOWN";
    return s_results [rc].name;
}

const char *
rh_rc_text (rh_rc_t rc)
{
    if ((int) rc < 0 || rc >= RH_RC_COUNT)
        return "unknown result";
    return s_results [rc].text;
}
