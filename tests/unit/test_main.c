/*  =========================================================================
    test_main - runs every unit suite; exit status is the failure count
    =========================================================================
*/
#include "test_helpers.h"
#include <CUnit/Basic.h>

void init_rh_rc_tests (void);
void init_rh_cli_tests (void);
void init_rh_file_tests (void);
void init_rh_pipe_tests (void);
void init_rh_ca_tests (void);
void init_rh_bundle_tests (void);
void init_rh_certstore_tests (void);
void init_rh_signer_tests (void);
void init_rh_envelope_tests (void);
void init_rh_config_tests (void);
void init_rh_frame_tests (void);
void init_rh_json_tests (void);
void init_rh_audit_tests (void);
void init_rh_dedup_tests (void);
void init_rh_agreement_tests (void);
void init_rh_federation_tests (void);
void init_rh_yaml_tests (void);
void init_rh_cases_tests (void);
void init_rh_merkle_tests (void);
void init_rh_sha256_tests (void);
void init_rh_sessions_tests (void);
void init_rh_backlog_tests (void);
void init_rh_tally_tests (void);
void init_rh_prom_tests (void);
void init_rh_monitor_tests (void);
void init_rh_link_tests (void);
void init_rh_brokers_tests (void);
void init_rh_pruner_tests (void);
void init_rh_sealer_tests (void);
void init_rh_queue_tests (void);
void init_rh_tracker_tests (void);
void init_rh_lateral_tests (void);
void init_rh_challenge_tests (void);
void init_rh_strategy_tests (void);
void init_rh_verifier_tests (void);
void init_rh_report_tests (void);
void init_rh_casebook_tests (void);
void init_rh_logreader_tests (void);
void init_rh_evidence_tests (void);
void init_rh_note_tests (void);
void init_rh_witness_tests (void);
void init_rh_db_tests (void);
void init_rh_eraser_tests (void);
void init_rh_log_tests (void);

int
main (void)
{
    if (CU_initialize_registry () != CUE_SUCCESS)
        return 1;
    //  Library code logs every refusal; tests provoke hundreds on purpose. RH_LOG_LEVEL=error
    //  shows them when debugging a test.
    setenv ("RH_LOG_LEVEL", "off", 0);
    init_rh_rc_tests ();
    init_rh_cli_tests ();
    init_rh_file_tests ();
    init_rh_pipe_tests ();
    init_rh_ca_tests ();
    init_rh_bundle_tests ();
    init_rh_certstore_tests ();
    init_rh_signer_tests ();
    init_rh_envelope_tests ();
    init_rh_config_tests ();
    init_rh_frame_tests ();
    init_rh_json_tests ();
    init_rh_audit_tests ();
    init_rh_dedup_tests ();
    init_rh_agreement_tests ();
    init_rh_federation_tests ();
    init_rh_yaml_tests ();
    init_rh_cases_tests ();
    init_rh_merkle_tests ();
    init_rh_sha256_tests ();
    init_rh_sessions_tests ();
    init_rh_backlog_tests ();
    init_rh_tally_tests ();
    init_rh_prom_tests ();
    init_rh_monitor_tests ();
    init_rh_link_tests ();
    init_rh_brokers_tests ();
    init_rh_pruner_tests ();
    init_rh_sealer_tests ();
    init_rh_queue_tests ();
    init_rh_tracker_tests ();
    init_rh_lateral_tests ();
    init_rh_challenge_tests ();
    init_rh_strategy_tests ();
    init_rh_verifier_tests ();
    init_rh_report_tests ();
    init_rh_casebook_tests ();
    init_rh_logreader_tests ();
    init_rh_evidence_tests ();
    init_rh_note_tests ();
    init_rh_witness_tests ();
    init_rh_db_tests ();
    init_rh_eraser_tests ();
    init_rh_log_tests ();
    CU_basic_set_mode (CU_BRM_VERBOSE);
    CU_basic_run_tests ();
    unsigned failures = CU_get_number_of_failures () + CU_get_number_of_tests_failed ();
    unsigned run = CU_get_number_of_tests_run ();
    unsigned failed = CU_get_number_of_tests_failed ();
    CU_cleanup_registry ();
    test_pki_cleanup ();
    printf ("\nunit: %u passed, %u failed\n", run - failed, failed);
    return failures > 255 ? 255 : (int) failures;
}
