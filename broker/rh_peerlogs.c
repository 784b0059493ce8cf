/*  =========================================================================
    rh_peerlogs - the other regions' audit logs, as this broker sees them

    One slot per other region, found by name. The witness of a region is
    rebuilt whenever the key or origin it trusts changes (a reloaded
    agreement, a renewed BROKER certificate); its state stays in the store
    under the origin, so a rebuilt witness goes on from where it was.
    =========================================================================
*/
#include "rh_broker_classes.h"

#define S_STATE_MAX (RH_NOTE_MAX_NAME + 128)  //  a witness state: a checkpoint's text

typedef struct {
    char region [RH_MAX_ID + 1];
    bool size_loaded;          //  size read from pc/REGION yet
    uint64_t size;             //  the last checkpoint seen (PEER_CHECKPOINT) or cosigned
    int64_t recorded_ms;       //  when a PEER_CHECKPOINT or PEER_COSIGNED was last written
    bool refusal_recorded;     //  a PEER_COSIGN_REFUSED was written for the state...
    uint64_t refused_was;      //  ...of this size
    rh_witness_t *witness;     //  NULL: this broker does not witness the region's log
    rh_note_vkey_t log_key;    //  what witness trusts: the region's BROKER key, its log_origin
    bool holding;              //  an answer waits for the commit
    rh_witness_reply_t reply;  //  the answer held
    uint8_t routing_id [256];
    size_t routing_id_size;
} s_log_t;

struct _rh_peerlogs_t {
    rh_db_t *db;
    rh_audit_t *audit;
    uint8_t secret [RH_SECRET_LEN];  //  the broker's key (wiped on destroy)
    uint8_t public_key [RH_PUBKEY_LEN];
    rh_note_vkey_t vkey;            //  our cosignature key (name: our region's log_origin)
    char stored [S_STATE_MAX + 1];  //  the state a witness stored in this step ("" none)
    uint64_t appended;              //  audit records written here since start
    bool witnessing;                //  vkey is set: our region names a log_origin
    s_log_t logs [RH_MAX_FED_REGIONS];
};

rh_peerlogs_t *
rh_peerlogs_new (rh_db_t *db, rh_audit_t *audit, rh_signer_t *signer)
{
    assert (db && audit && signer);
    rh_peerlogs_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->db = db;
    self->audit = audit;
    rh_signer_copy_secret (signer, self->secret);
    memcpy (self->public_key, rh_signer_public_key (signer), RH_PUBKEY_LEN);
    return self;
}

static void
s_drop_answer (s_log_t *log)
{
    free (log->reply.body);
    memset (&log->reply, 0, sizeof log->reply);
    log->holding = false;
}

void
rh_peerlogs_destroy (rh_peerlogs_t **self_p)
{
    assert (self_p);
    rh_peerlogs_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < RH_MAX_FED_REGIONS; i++) {
        rh_witness_destroy (&self->logs [i].witness);
        s_drop_answer (&self->logs [i]);
    }
    sodium_memzero (self->secret, sizeof self->secret);
    free (self);
    *self_p = NULL;
}

//  region's slot (a free one if it has none yet), or NULL when all are taken.
static s_log_t *
s_log (rh_peerlogs_t *self, const char *region)
{
    for (size_t i = 0; i < RH_MAX_FED_REGIONS; i++)
        if (strcmp (self->logs [i].region, region) == 0)
            return &self->logs [i];
    if (strlen (region) >= sizeof self->logs [0].region)
        return NULL;
    for (size_t i = 0; i < RH_MAX_FED_REGIONS; i++)
        if (!*self->logs [i].region) {
            snprintf (self->logs [i].region, sizeof self->logs [i].region, "%s", region);
            return &self->logs [i];
        }
    return NULL;
}

//  The witness state of an origin, in the store (committed: see rh_peerlogs_witness for why a
//  pending one is never needed).
static int
s_state_load (void *arg, const char *origin, char *text, size_t size)
{
    rh_peerlogs_t *self = arg;
    char key [RH_NOTE_MAX_NAME + 8];
    int key_size = snprintf (key, sizeof key, "pw/%s", origin);
    uint8_t *value = NULL;
    size_t value_size = 0;
    int rc = rh_db_get (self->db, key, (size_t) key_size, &value, &value_size);
    if (rc == 1)
        return 0;
    if (rc != 0 || value_size == 0 || value_size > size) {
        free (value);
        return -1;
    }
    memcpy (text, value, value_size);
    free (value);
    return (int) value_size;
}

//  Written in the step's batch: durable at the commit, before the answer leaves.
static int
s_state_store (void *arg, const char *origin, const char *text, size_t size)
{
    rh_peerlogs_t *self = arg;
    char key [RH_NOTE_MAX_NAME + 8];
    int key_size = snprintf (key, sizeof key, "pw/%s", origin);
    if (size > S_STATE_MAX)
        return -1;
    rh_db_put (self->db, key, (size_t) key_size, text, size);
    memcpy (self->stored, text, size);
    self->stored [size] = 0;
    return 0;
}

void
rh_peerlogs_sync (rh_peerlogs_t *self, const rh_peers_t *peers, int64_t now_ms)
{
    assert (self);
    const rh_federation_t *federation = peers ? rh_peers_federation (peers) : NULL;
    const rh_fed_region_t *own = peers ? rh_peers_own (peers) : NULL;
    self->witnessing = own && own->log_origin
                       && rh_note_vkey_make (own->log_origin, RH_NOTE_TYPE_COSIGNATURE,
                                             self->public_key, &self->vkey)
                              == RH_OK;
    for (size_t i = 0; federation && i < rh_federation_regions (federation); i++)
        if (rh_federation_region (federation, i) != own)
            s_log (self, rh_federation_region (federation, i)->name);  //  a slot for each
    for (size_t i = 0; i < RH_MAX_FED_REGIONS; i++) {
        s_log_t *log = &self->logs [i];
        const rh_fed_region_t *region = *log->region && federation
                                            ? rh_federation_region_named (federation, log->region)
                                            : NULL;
        const rh_identity_t *broker =
            region ? rh_peers_broker_identity (peers, region, now_ms) : NULL;
        rh_note_vkey_t key;
        bool witnessed =
            self->witnessing && region && region != own && region->log_origin && broker
            && rh_note_vkey_make (region->log_origin, RH_NOTE_TYPE_ED25519, broker->sign_key, &key)
                   == RH_OK;
        if (log->witness && witnessed && key.id == log->log_key.id
            && strcmp (key.name, log->log_key.name) == 0)
            continue;  //  the same key under the same origin: nothing changes
        rh_witness_destroy (&log->witness);
        s_drop_answer (log);
        if (!witnessed)
            continue;
        rh_witness_store_t store = { s_state_load, s_state_store, self };
        log->log_key = key;
        log->witness =
            rh_witness_new_with (self->vkey.name, self->secret, &store, &log->log_key, 1);
        if (log->witness)
            rh_log_info ("peerlogs", "witnessing region %s's log %s", log->region, key.name);
    }
}

const rh_note_vkey_t *
rh_peerlogs_vkey (rh_peerlogs_t *self)
{
    assert (self);
    return self->witnessing ? &self->vkey : NULL;
}

uint64_t
rh_peerlogs_size (rh_peerlogs_t *self, const char *region)
{
    assert (self && region);
    s_log_t *log = s_log (self, region);
    if (!log)
        return 0;
    if (!log->size_loaded) {
        char key [RH_MAX_ID + 8], value [32];
        snprintf (key, sizeof key, "pc/%s", log->region);
        if (rh_db_get_text (self->db, key, value, sizeof value - 1))
            log->size = strtoull (value, NULL, 10);
        log->size_loaded = true;
    }
    return log->size;
}

//  Keeps where region's log stood (pc/REGION, with the step's batch).
static void
s_keep_size (rh_peerlogs_t *self, s_log_t *log, uint64_t size)
{
    log->size = size;
    char key [RH_MAX_ID + 8], value [32];
    int key_size = snprintf (key, sizeof key, "pc/%s", log->region);
    int value_size = snprintf (value, sizeof value, "%" PRIu64, size);
    rh_db_put (self->db, key, (size_t) key_size, value, (size_t) value_size);
}

//  True (and noted) if a record of where region's log stands may be written now: at most one
//  per RH_PEER_RECORD_MS, so a region that checkpoints fast, or a hostile one, cannot fill our
//  log. The size itself is kept every time.
static bool
s_record_due (s_log_t *log, int64_t now_ms)
{
    if (log->recorded_ms && now_ms - log->recorded_ms < RH_PEER_RECORD_MS)
        return false;
    log->recorded_ms = now_ms;
    return true;
}

void
rh_peerlogs_checkpoint (rh_peerlogs_t *self, const rh_fed_region_t *region, rh_certstore_t *store,
                        const rh_checkpoint_t *checkpoint, int64_t now_ms)
{
    assert (self && region && store && checkpoint);
    s_log_t *log = s_log (self, region->name);
    //  A witnessed log is recorded when it is cosigned (PEER_COSIGNED), once it is known to
    //  extend what came before; a Checkpoint alone says less.
    if (!log || log->witness || checkpoint->size <= rh_peerlogs_size (self, region->name)
        || rh_certstore_verify_checkpoint (store, checkpoint) != RH_OK)
        return;
    s_keep_size (self, log, checkpoint->size);
    if (!s_record_due (log, now_ms))
        return;
    char root [2 * RH_DIGEST_LEN + 1], detail [RH_MAX_REASON];
    sodium_bin2hex (root, sizeof root, checkpoint->root, RH_DIGEST_LEN);
    snprintf (detail, sizeof detail, "region %s's broker %s: its log at size %" PRIu64 ", root %s",
              region->name, region->broker_cn, checkpoint->size, root);
    rh_audit_event (self->audit, "PEER_CHECKPOINT", RH_OK, NULL, NULL, NULL, 0, NULL, 0, NULL,
                    detail);
    self->appended++;
}

uint64_t
rh_peerlogs_appended (rh_peerlogs_t *self)
{
    assert (self);
    return self->appended;
}

//  Holds a one-line answer (status and text) for the commit.
static void
s_hold_text (s_log_t *log, int status, const char *text)
{
    log->reply.status = status;
    log->reply.body = strdup (text);
    log->reply.size = log->reply.body ? strlen (log->reply.body) : 0;
    log->holding = true;
}

//  Audits what the witness decided that an auditor must see: a cosignature given, and a
//  checkpoint that does not extend the cosigned one (evidence of a fork or a rollback). A 409
//  (the other broker asked from another size and will ask again) and refusals of requests
//  that do not verify are left to the operator log, so a bad peer cannot fill the audit log.
static void
s_audit_answer (rh_peerlogs_t *self, s_log_t *log, uint64_t was, const rh_witness_reply_t *reply,
                int64_t now_ms)
{
    char detail [RH_MAX_ID + 2 * RH_NOTE_MAX_NAME + 256];  //  names, sizes, a root
    rh_note_checkpoint_t cosigned;
    if (reply->status == 200
        && rh_note_checkpoint_parse (self->stored, strlen (self->stored), &cosigned) == RH_OK) {
        log->refusal_recorded = false;
        if (cosigned.size > rh_peerlogs_size (self, log->region))
            s_keep_size (self, log, cosigned.size);
        if (!s_record_due (log, now_ms))
            return;
        char root [2 * RH_DIGEST_LEN + 1];
        sodium_bin2hex (root, sizeof root, cosigned.root, RH_DIGEST_LEN);
        snprintf (detail, sizeof detail,
                  "region %s's log %s: cosigned size %" PRIu64 ", root %s, extending size %" PRIu64
                  " (consistency proof verified)",
                  log->region, log->log_key.name, cosigned.size, root, was);
        rh_audit_event (self->audit, "PEER_COSIGNED", RH_OK, NULL, NULL, NULL, 0, NULL, 0, NULL,
                        detail);
        self->appended++;
    }
    else if (reply->status == 422 && !(log->refusal_recorded && log->refused_was == was)) {
        //  Once per state: the other broker asks again with backoff, and each refusal of the
        //  same fork says nothing new (its operator log has each).
        log->refusal_recorded = true;
        log->refused_was = was;
        snprintf (detail, sizeof detail,
                  "region %s's log %s: a checkpoint its broker signed does not extend size "
                  "%" PRIu64 " that this broker cosigned: refused (the log forked or was rolled "
                  "back)",
                  log->region, log->log_key.name, was);
        rh_log_error ("peerlogs", "%s", detail);
        rh_audit_event (self->audit, "PEER_COSIGN_REFUSED", RH_E_FORK, NULL, NULL, NULL, 0, NULL, 0,
                        NULL, detail);
        self->appended++;
    }
}

void
rh_peerlogs_witness (rh_peerlogs_t *self, const char *region, const uint8_t *routing_id,
                     size_t routing_id_size, const uint8_t *body, size_t size, int64_t now_ms)
{
    assert (self && region && routing_id && (body || size == 0));
    s_log_t *log = s_log (self, region);
    if (!log || routing_id_size > sizeof log->routing_id || log->holding)
        return;  //  one answer at a time per region: the other broker waits for it
    memcpy (log->routing_id, routing_id, routing_id_size);
    log->routing_id_size = routing_id_size;
    if (!log->witness) {
        s_hold_text (log, 404,
                     "this broker does not witness your log (the federation agreement names "
                     "no log_origin for your region or ours)\n");
        return;
    }
    //  Read before: the witness's state as committed. No other request of this region's log
    //  is decided before this answer is flushed after the commit, so it is the current state.
    uint64_t was = 0;
    uint8_t root [RH_DIGEST_LEN];
    if (rh_witness_state (log->witness, log->log_key.name, &was, root) != 0)
        was = 0;
    self->stored [0] = 0;
    if (rh_witness_add_checkpoint (log->witness, body, size, (uint64_t) (now_ms / 1000),
                                   &log->reply)
        != 0) {
        s_drop_answer (log);
        s_hold_text (log, 500, "no memory for an answer\n");
        return;
    }
    log->holding = true;
    s_audit_answer (self, log, was, &log->reply, now_ms);
}

size_t
rh_peerlogs_held (rh_peerlogs_t *self)
{
    assert (self);
    size_t held = 0;
    for (size_t i = 0; i < RH_MAX_FED_REGIONS; i++)
        held += self->logs [i].holding;
    return held;
}

void
rh_peerlogs_flush (rh_peerlogs_t *self, rh_router_t *router)
{
    assert (self && router);
    for (size_t i = 0; i < RH_MAX_FED_REGIONS; i++) {
        s_log_t *log = &self->logs [i];
        if (!log->holding)
            continue;
        rh_frame_t frame = { .type = RH_FRAME_WITNESS_REPLY,
                             .status = (uint32_t) log->reply.status,
                             .sealed = (const uint8_t *) log->reply.body,
                             .sealed_size = log->reply.size };
        rh_router_send (router, log->routing_id, log->routing_id_size,
                        &frame);  //  lost: asked again
        s_drop_answer (log);
    }
}
