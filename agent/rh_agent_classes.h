/*  =========================================================================
    rh_agent_classes - the umbrella header of agent/

    agent builds on lib, proto and certs, never on broker: it compiles
    without broker/ on its include path. Every agent .c includes this.
    =========================================================================
*/
#ifndef RH_AGENT_CLASSES_H_INCLUDED
#define RH_AGENT_CLASSES_H_INCLUDED

#include "rh_certs.h"

#include "rh_brokers.h"
#include "rh_link.h"
#include "rh_pruner.h"
#include "rh_sealer.h"
#include "rhannu_agent.h"
#include "rh_agent.h"

#endif
