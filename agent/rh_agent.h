/*  =========================================================================
    rh_agent - an agency's connection to rhannu

    Runs beside the agency's own case system. Picks up JSON files from the
    spool folder outbox/, signs them and keeps them in a durable outbox
    (LevelDB) until the broker has stored them; writes what the broker
    delivers into inbox/ (atomically and durably, then acknowledges);
    moves what cannot be sent to failed/ with a .error file saying why.
    Survives broker outages of any length: the outbox just grows. When
    inbox/ cannot be written (full, over quota, read-only, I/O errors) it
    acknowledges nothing it did not write, stops taking deliveries, says why
    in status.json, and resumes by itself when the inbox can be written.
    =========================================================================
*/
#ifndef RH_AGENT_H_INCLUDED
#define RH_AGENT_H_INCLUDED

//  rh_agent_t, rh_agent_open, _destroy, _run and the calls a case system makes are declared in
//  rhannu_agent.h, the library's public header; these are what the agent's own parts use.

//  The agent's configuration table.
extern const rh_cfg_spec_t rh_agent_config_spec [];

//  Creates an agent from a loaded configuration: loads keys and PKI, opens the outbox database,
//  creates the spool folders and finishes any inbox writes a crash interrupted. Returns NULL
//  (and logs why) on failure.
rh_agent_t *rh_agent_new (rh_config_t *config);

//  Checks that a JSON file would make a valid message (without signing or sending it).
//  Returns 0, or -1 with the reason in error.
int rh_agent_check_file (const char *path, char *error, size_t error_size);

//  The spool and data folders a configuration names (outbox/, inbox/, failed/, status.json).
void rh_agent_paths (rh_config_t *config, char *outbox, char *inbox, char *failed, char *status,
                     size_t size);

#endif
