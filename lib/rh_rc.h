/*  =========================================================================
    rh_rc - named results of verification and policy paths

    Each value is stored in audit records and sent back to a sender in an
    Error body by name, so names are stable: add new values at the end.
    =========================================================================
*/
#ifndef RH_RC_H_INCLUDED
#define RH_RC_H_INCLUDED

typedef enum {
    RH_OK = 0,
    RH_E_MALFORMED,      //  bytes that do not parse, or break a structural rule
    RH_E_TOO_LARGE,      //  over a limit in rh_limits.h
    RH_E_VERSION,        //  schema version this code does not speak
    RH_E_SIG,            //  signature does not verify
    RH_E_COMMITMENT,     //  a disclosed field does not match its signed commitment
    RH_E_CERT_UNKNOWN,   //  no certificate for the signer, or it does not chain to the CA
    RH_E_CERT_MISMATCH,  //  the certificate is not the named agency's
    RH_E_REVOKED,        //  the certificate (or one above it) is revoked
    RH_E_EXPIRED,        //  the certificate (or one above it) had expired at that time
    RH_E_NOT_YET_VALID,  //  the certificate (or one above it) was not yet valid at that time
    RH_E_CRL,            //  the CRL is missing, does not verify, or is out of date
    RH_E_REPLAY,         //  message id or sequence seen before
    RH_E_IMPERSONATION,  //  signed sender differs from the authenticated connection
    RH_E_POLICY,         //  no sharing agreement allows it
    RH_E_IO,             //  a read or write failed
    RH_E_NOMEM,          //  out of memory
    RH_E_CLOCK,          //  created time too far from the broker's clock
    RH_E_NOT_HOLDER,     //  an outcome or update about a case the sender does not hold
    RH_E_BUSY,           //  the broker is at its limit: send again later
    //  Issue 17, replies and withdrawal (new results below, in this block):
    RH_E_REPLY_MISMATCH,  //  a reply's in_reply_sha256 is not the named message's header digest
    //  Issue 16, cross-witnessing:
    RH_E_FORK,   //  a log's signed checkpoint does not extend the one witnessed before
    RH_RC_COUNT  //  not a result: the number of results
} rh_rc_t;

//  Stable upper-case name of a result, e.g. "RH_E_SIG"; "RH_E_UNKNOWN" for out-of-range values.
const char *rh_rc_name (rh_rc_t rc);

//  One-line explanation for a person, e.g. "signature does not verify".
const char *rh_rc_text (rh_rc_t rc);

#endif
