/*  =========================================================================
    rh_federation - a federation agreement between two regions' boards

    Each region runs its own broker and its own board CA. A federation
    agreement, signed by BOTH boards' CAs (detached signatures FILE.sig.<region>,
    one per region, each checked against the CA whose fingerprint the file
    names), says for each region: the SHA-256 of its board CA certificate,
    where its broker listens and the CN of the broker's certificate, and the
    front doors of its local authorities (the federated directory). Its
    crossings say which agencies of one region may send to the other, and
    which kinds, purposes and categories may cross in that direction.
    Anything no crossing allows stays at the border. A region that names
    its broker's log_origin has its checkpoints witnessed by the other
    regions' brokers over their links: each cosigns only a checkpoint that
    extends the last one it cosigned.

        federation: { id, version, title, valid_from, valid_to }
        regions:
          - region: gwent
            ca_sha256: 64 hex digits
            broker_endpoint: tcp://10.0.0.1:5555
            broker_cn: broker-gwent
            log_origin: rhannu.example/gwent   # optional: the other regions' brokers
                                               # witness (cosign) this broker's checkpoints
            front_doors: [ { la: newport, agency: la-newport } ]
        crossings:
          - from: gwent
            to: cardiff
            agencies: [police-gwent]   # trusted senders by agency id, and/or
            las: [newport]             # every agency of these LAs
            kinds: [REFERRAL, TRANSFER]
            purposes: [SAFEGUARDING_CHILD]
            categories: [CCE]          # optional: any category
    =========================================================================
*/
#ifndef RH_FEDERATION_H_INCLUDED
#define RH_FEDERATION_H_INCLUDED

typedef struct _rh_federation_t rh_federation_t;

//  One region as the federation agreement describes it. Strings are borrowed from the agreement.
typedef struct {
    const char *name;
    uint8_t ca_sha256 [RH_DIGEST_LEN];
    const char *broker_endpoint;
    const char *broker_cn;
    const char *log_origin;  //  its broker's witness/origin, or NULL: not cross-witnessed
} rh_fed_region_t;

typedef enum {
    RH_FED_ALLOW = 0,
    RH_FED_NO_REGION,    //  a region the agreement does not name
    RH_FED_NOT_COVERED,  //  the sender is no agency the agreement trusts to cross
    RH_FED_NOT_ALLOWED,  //  kind, purpose or category may not cross in this direction
    RH_FED_NOT_IN_FORCE  //  outside the agreement's validity
} rh_fed_decide_t;

//  Parses and validates text (name prefixes messages). On failure returns NULL and appends one
//  line per problem, "name:line: what", to errors.
rh_federation_t *rh_federation_parse (const char *text, size_t size, const char *name, char *errors,
                                      size_t errors_size);

void rh_federation_destroy (rh_federation_t **self_p);

//  True if text looks like a federation agreement (its first key is "federation"), so that
//  check-agreement can tell the two kinds of file apart before parsing.
bool rh_federation_is_federation (const char *text, size_t size);

const char *rh_federation_id (const rh_federation_t *self);
uint32_t rh_federation_version (const rh_federation_t *self);
int64_t rh_federation_valid_from (const rh_federation_t *self);
int64_t rh_federation_valid_to (const rh_federation_t *self);  //  end of the last valid day

size_t rh_federation_regions (const rh_federation_t *self);
//  The index-th region (index < rh_federation_regions), or NULL.
const rh_fed_region_t *rh_federation_region (const rh_federation_t *self, size_t index);
const rh_fed_region_t *rh_federation_region_named (const rh_federation_t *self, const char *name);

//  The federated directory: the region and front door agency of local authority la, or NULL.
const rh_fed_region_t *rh_federation_front_door (const rh_federation_t *self, const char *la,
                                                 const char **agency);

//  May sender (of region from, in local authority sender_la) send a message of this kind,
//  purpose and categories (bit per Category value) to region to, at now_ms? Writes a sentence
//  for the sender into reason (may be NULL).
rh_fed_decide_t rh_federation_decide (const rh_federation_t *self, const char *from, const char *to,
                                      const char *sender, const char *sender_la, rh_kind_t kind,
                                      const char *purpose, uint32_t categories, int64_t now_ms,
                                      char *reason, size_t reason_size);

//  A short name of a decision, e.g. "not_covered", for audit records and typed refusals.
const char *rh_federation_decide_name (rh_fed_decide_t decide);

//  Prints a summary for people: regions, directory, and what may cross in which direction.
void rh_federation_print (const rh_federation_t *self, FILE *out);

#endif
