/*  =========================================================================
    rh_lib - the umbrella header of lib/, the layer that depends on no part

    lib/ holds what is neither protocol nor PKI: named results (rh_rc),
    operator logging, files, time, LevelDB with group commit, and typed
    configuration. It compiles with -Ilib alone, so it cannot include a
    header of proto/, certs/, broker/ or agent/. Every lib .c includes this.
    =========================================================================
*/
#ifndef RH_LIB_H_INCLUDED
#define RH_LIB_H_INCLUDED

#include "rh_prelude.h"

#include "rh_rc.h"
#include "rh_log.h"
#include "rh_file.h"
#include "rh_time.h"
#include "rh_db.h"
#include "rh_config.h"
#include "rh_cli.h"
#include "rh_prom.h"
#include "rh_pipe.h"
#include "rh_monitor.h"
#include "rh_service.h"

#endif
