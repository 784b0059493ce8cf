/*  =========================================================================
    rh_witness_classes - the umbrella header of witness/: rhannu-witness

    The witness builds on lib and proto only: it checks a log's signed
    checkpoints against verifier keys from its configuration and knows no
    PKI, broker or agent. It compiles with -Ilib -Iproto -Iwitness, so an
    include of a certs/, broker/ or agent/ header fails to build. The
    witnessing itself (rh_witness) is in proto/: a federated broker
    witnesses the other region's log with the same class.
    =========================================================================
*/
#ifndef RH_WITNESS_CLASSES_H_INCLUDED
#define RH_WITNESS_CLASSES_H_INCLUDED

#include "rh_proto.h"

#endif
