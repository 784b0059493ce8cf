/*  =========================================================================
    rh_peers - the federation agreement in force, and the peer regions it
    names

    A broker of a federated region loads its federation agreement (config
    federation/file, its own region federation/region) at start and on
    reload: only a file both boards signed (rh_fedtrust), in force now, that
    names this broker's region with this broker's CA. A bad new file leaves
    the one in force, as with sharing agreements.

    Not yet here (issue 16, to come): the broker-to-broker links that forward
    the sender's original sealed bytes to the peer from a per-peer durable
    queue, and the border decision in intake. rh_peers_route and
    rh_peers_border are the pieces those will call.
    =========================================================================
*/
#ifndef RH_PEERS_H_INCLUDED
#define RH_PEERS_H_INCLUDED

typedef struct _rh_peers_t rh_peers_t;

//  Loads the federation agreement at path for region, with the CA certificates in pki_dir
//  (own: pki_dir/ca.pem; the peer's: pki_dir/peers/REGION/ca.pem), at now_ms. Returns NULL and
//  writes one line per problem into errors on failure.
rh_peers_t *rh_peers_load (const char *path, const char *region, const char *pki_dir,
                           int64_t now_ms, char *errors, size_t errors_size);

void rh_peers_destroy (rh_peers_t **self_p);

const rh_federation_t *rh_peers_federation (const rh_peers_t *self);
const rh_fed_region_t *rh_peers_own (const rh_peers_t *self);

//  Routing: the front door of local authority la when it lies in another region. Returns that
//  region and sets *agency, or NULL when la is local or unknown to the federation.
const rh_fed_region_t *rh_peers_route (const rh_peers_t *self, const char *la, const char **agency);

//  The border: may this message cross from region from to region to? A typed refusal and a
//  sentence for the sender, as rh_federation_decide.
rh_fed_decide_t rh_peers_border (const rh_peers_t *self, const char *from, const char *to,
                                 const rh_facts_t *facts, const rh_party_ref_t *sender,
                                 int64_t now_ms, char *reason, size_t reason_size);

#endif
