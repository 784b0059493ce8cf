/*  =========================================================================
    rhannu_agent - the agent as a library, for case systems that would
    rather link than write spool files (librhannu-agent.a)

    The same agent as rhannu-agent, with the same configuration file,
    durable outbox, signing thread and de-duplication; a case system hands
    it messages by call instead of through outbox/, and takes deliveries by
    callback instead of from inbox/. Spool folders still work beside it.

        char error [256], msg_id [RH_AGENT_ID_SIZE];
        rh_agent_t *agent = rh_agent_open ("agent.yaml", error, sizeof error);
        rh_agent_on_receive (agent, my_receive, my_state);
        rh_agent_on_outcome (agent, my_outcome, my_state);
        if (rh_agent_submit (agent, json, strlen (json), msg_id, error, sizeof error) == 0)
            ...  //  durable: it will be delivered even if this process dies now
        while (running)
            rh_agent_step (agent, 100);
        rh_agent_destroy (&agent);

    One agent is driven by one thread at a time: submit, step and destroy
    are not to be called concurrently on the same agent. Callbacks run on
    the thread that calls rh_agent_step (or rh_agent_run), and may submit.

    This header is self-contained: it needs only the C standard headers.
    =========================================================================
*/
#ifndef RHANNU_AGENT_H_INCLUDED
#define RHANNU_AGENT_H_INCLUDED

#include <signal.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _rh_agent_t rh_agent_t;

//  Room for a message id and its terminating zero.
#define RH_AGENT_ID_SIZE 65

//  What rh_agent_submit and rh_agent_submit_batch return.
#define RH_AGENT_OK        0   //  taken, durably: it will be delivered even if the process dies now
#define RH_AGENT_E_INVALID -1  //  not a valid message (the reason is in error): nothing taken
#define RH_AGENT_E_STORAGE -2  //  the outbox could not be made durable: nothing taken; stop
#define RH_AGENT_E_MEMORY  -3  //  out of memory: error says how many (if any) of a batch were taken

//  What rh_agent_outcome_fn is told about a message this agency sent.
#define RH_AGENT_ACCEPTED 1  //  the broker stored it and will deliver it
#define RH_AGENT_REFUSED  2  //  the broker refused it (detail: code and reason); it is dropped
#define RH_AGENT_RECEIPT  3  //  the recipient's agency acknowledged a referral (detail: holder)
#define RH_AGENT_DECISION 4  //  an outcome was decided on a referral (detail: the decision)
#define RH_AGENT_UPDATE   5  //  an update on a referral (detail: e.g. CLOSED, REOPENED)

//  Called with each verified delivery as JSON (the document rhannu-agent writes to inbox/;
//  json[size] is a zero) and its message id. Return 0 once the case system has kept it: the
//  broker is told only then. Any other value leaves it with the broker, which offers it again
//  (after about a second, with everything else not yet taken). After a crash between the
//  return and the agent's commit, the same msg_id can be offered twice: keep by msg_id.
typedef int (rh_agent_receive_fn) (void *arg, const char *msg_id, const char *json, size_t size);

//  Called with news about a message this agency sent: kind is an RH_AGENT_ACCEPTED... value,
//  msg_id the message's id as rh_agent_submit gave it, detail a short text (never NULL).
typedef void (rh_agent_outcome_fn) (void *arg, int kind, const char *msg_id, const char *detail);

//  Opens an agent from a configuration file (the YAML that rhannu-agent -f reads): loads keys
//  and PKI, opens the durable outbox, connects (in the background). Returns NULL with the
//  reason in error on failure.
rh_agent_t *rh_agent_open (const char *config_path, char *error, size_t error_size);

//  Stops the agent, commits what is pending and frees it; nulls *self_p. Safe on NULL.
void rh_agent_destroy (rh_agent_t **self_p);

//  Takes deliveries by callback instead of writing them into inbox/ (NULL: inbox/ again).
void rh_agent_on_receive (rh_agent_t *self, rh_agent_receive_fn *receive, void *arg);

//  Tells the case system what became of what it sent (NULL: nothing is told).
void rh_agent_on_outcome (rh_agent_t *self, rh_agent_outcome_fn *outcome, void *arg);

//  Checks, signs and stores one JSON message (the format of a spool file) in the durable
//  outbox, and returns once it is on disk. On RH_AGENT_OK msg_id (RH_AGENT_ID_SIZE bytes, may
//  be NULL) holds its message id; otherwise error says why. A message that carries the msg_id
//  of one sent before is delivered once.
int rh_agent_submit (rh_agent_t *self, const char *json, size_t size, char *msg_id, char *error,
                     size_t error_size);

//  The same for count messages with one durable commit for the lot (one per 256 when larger:
//  the signing thread goes on meanwhile). If any is invalid none is taken, and error names the
//  first by its index; the one exception is a value that breaks a signing limit, found only
//  when signing: that message alone is dropped (its msg_ids entry left empty) and the call
//  returns RH_AGENT_E_INVALID although the others were taken. msg_ids may be NULL, else it has
//  room for count ids.
int rh_agent_submit_batch (rh_agent_t *self, size_t count, const char *const json [],
                           const size_t size [], char (*msg_ids) [RH_AGENT_ID_SIZE], char *error,
                           size_t error_size);

//  Does what is due (sends, takes deliveries and calls back, commits, reconnects), waiting at
//  most timeout_ms for something to happen. Returns 0, or -1 if storage failed (the agent
//  cannot go on: destroy it).
int rh_agent_step (rh_agent_t *self, int timeout_ms);

//  Steps until *stop becomes true (for a thread given to the agent, or rhannu-agent itself).
//  Returns 0 on a clean stop, -1 if storage failed.
int rh_agent_run (rh_agent_t *self, volatile sig_atomic_t *stop);

#ifdef __cplusplus
}
#endif

#endif
