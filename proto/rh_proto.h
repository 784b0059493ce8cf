/*  =========================================================================
    rh_proto - the umbrella header of proto/: the wire and what is signed

    proto builds on lib only and knows no PKI, no broker and no agent: it
    checks signatures against keys it is given (certs/ finds the keys). It
    compiles with -Ilib -Iproto and the generated code's folder, so an
    include of a certs/, broker/ or agent/ header fails to build. Every
    proto .c includes this.
    =========================================================================
*/
#ifndef RH_PROTO_H_INCLUDED
#define RH_PROTO_H_INCLUDED

#include "rh_lib.h"

#include "rh_limits.h"
#include "rh_sha256.h"
#include "rh_signer.h"
#include "rh_envelope.h"
#include "rh_merkle.h"
#include "rh_frame.h"
#include "rh_record.h"
#include "rh_json.h"
#include "rh_subject.h"
#include "rh_yaml.h"
#include "rh_agreement.h"
#include "rh_federation.h"
#include "rh_note.h"
#include "rh_witness.h"

#endif
