/*  =========================================================================
    rh_certs - the umbrella header of certs/: who may speak for which
    agency, and when

    certs builds on lib and proto: it finds a signer's key in the board's
    PKI and asks proto to check the bytes. It compiles without broker/ or
    agent/ on its include path. Every certs .c includes this.
    =========================================================================
*/
#ifndef RH_CERTS_H_INCLUDED
#define RH_CERTS_H_INCLUDED

#include "rh_proto.h"

#include "rh_identity.h"
#include "rh_certstore.h"
#include "rh_ca.h"
#include "rh_bundle.h"
#include "rh_trust.h"
#include "rh_fedtrust.h"

#endif
