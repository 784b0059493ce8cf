/*  =========================================================================
    test_world - a broker's world for the unit suites that drive its case
    classes: a real LevelDB, the audit log, the certificate store, a signer
    standing in for the broker, a queue that sends nothing, and, given an
    agreement, the signed policy, the cases and the tracker

    The tracker, challenge and lateral suites each built this by hand, line
    for line; one copy keeps them opening the same world, so that a change
    to how a broker wires its classes is made (and reviewed) once.
    =========================================================================
*/
#ifndef TEST_WORLD_H_INCLUDED
#define TEST_WORLD_H_INCLUDED

#include "test_helpers.h"
#include "rh_broker_classes.h"

typedef struct {
    rh_db_t *db;
    rh_audit_t *audit;
    rh_signer_t *signer;  //  health-abb's key, standing in for the broker's
    rh_certstore_t *store;
    rh_policy_t *policy;  //  NULL when opened without an agreement
    rh_cases_t *cases;    //  likewise
    rh_queue_t *queue;
    rh_tracker_t *tracker;  //  likewise
} test_world_t;

//  Opens a world in fresh temporary folders. agreement, if not NULL, is the YAML of one
//  agreement, signed by the board CA as name in the policy folder and loaded with the cases
//  and the tracker; without it the world has no policy, cases or tracker (the lateral checks
//  need none). Fails the test (fatally) if any part cannot be made.
void test_world_open (test_world_t *world, const char *agreement, const char *name);

//  Destroys what test_world_open made, newest first, and checks the tracker went.
void test_world_close (test_world_t *world);

//  A message as its sender's agent would have signed it (signing fixes its header and id).
//  The caller destroys it.
rh_envelope_t *test_world_message (const char *sender, const char *json);

//  Messages queued for agency so far (its queue's tail), after committing what is pending.
uint64_t test_world_queued (test_world_t *world, const char *agency);

//  The referral police-gwent sends la-newport as msg_id in case case_id, fields being the
//  rest of its JSON object (at least its body), opened on the tracker at now under decision,
//  as the broker does when the agreement lets it through. The caller destroys it.
rh_envelope_t *test_world_refer (test_world_t *world, const char *msg_id, const char *case_id,
                                 const char *fields, const rh_decision_t *decision, int64_t now);

#endif
