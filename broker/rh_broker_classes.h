/*  =========================================================================
    rh_broker_classes - the umbrella header of broker/

    broker builds on lib, proto and certs, never on agent: it compiles
    without agent/ on its include path. Every broker .c includes this
    (rhannu-audit too: it links the broker-core classes, never the router
    or the broker actor; make check-layers proves it with nm).
    =========================================================================
*/
#ifndef RH_BROKER_CLASSES_H_INCLUDED
#define RH_BROKER_CLASSES_H_INCLUDED

#include "rh_certs.h"

#include "rh_policy.h"
#include "rh_peers.h"
#include "rh_audit.h"
#include "rh_dedup.h"
#include "rh_cases.h"
#include "rh_strategy.h"
#include "rh_notice.h"
#include "rh_sessions.h"
#include "rh_tally.h"
#include "rh_verifier.h"
#include "rh_cosigner.h"
#include "rh_backlog.h"
#include "rh_queue.h"
#include "rh_tracker.h"
#include "rh_lateral.h"
#include "rh_challenge.h"
#include "rh_casebook.h"
#include "rh_logreader.h"
#include "rh_eraser.h"
#include "rh_rehearing.h"
#include "rh_chronicle.h"
#include "rh_report.h"
#include "rh_backup.h"
#include "rh_evidence.h"
#include "rh_report_text.h"
#include "rh_report_html.h"
#include "rh_report_csv.h"
#include "rh_router.h"
#include "rh_peerlink.h"
#include "rh_peerlogs.h"
#include "rh_intake.h"
#include "rh_broker.h"
#include "rh_status.h"
#include "rh_explain.h"

#endif
