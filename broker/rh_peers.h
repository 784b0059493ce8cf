/*  =========================================================================
    rh_peers - the federation agreement in force, and the peer regions it
    names

    A broker of a federated region loads its federation agreement (config
    federation/file, its own region federation/region) at start and on
    reload: only a file both boards signed (rh_fedtrust), in force now, that
    names this broker's region with this broker's CA. A bad new file leaves
    the one in force, as with sharing agreements.

    Each other region's board gives ours its CA certificate, CRL and the
    certificates it issued (public), kept under pki/peers/REGION as a PKI
    folder: the broker verifies a message from that region against them, and
    admits that region's broker (its BROKER certificate, CN broker_cn) as the
    link's client. A crossing waits in the per-peer queue RH_PEER_QUEUE_PREFIX
    REGION of rh_queue until the peer's broker has stored it (rh_peerlink).
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

//  The queue a crossing to a region waits in: RH_PEER_QUEUE_PREFIX then the region's name; also
//  the name a peer's broker is known by on its connection (ZAP User-Id).
#define RH_PEER_QUEUE_PREFIX "region:"

//  The certificates of another region (pki/peers/REGION), or NULL when they did not load (or
//  region is this broker's own).
rh_certstore_t *rh_peers_store (const rh_peers_t *self, const rh_fed_region_t *region);

//  The region whose broker (a BROKER certificate of that region's CA, CN broker_cn, valid at
//  now_ms) binds this CURVE key, or NULL.
const rh_fed_region_t *rh_peers_broker_of (const rh_peers_t *self,
                                           const uint8_t curve_key [RH_PUBKEY_LEN], int64_t now_ms);

//  The BROKER certificate of region's broker, valid at now_ms and binding a CURVE key (what a
//  link connects to), or NULL.
const rh_identity_t *rh_peers_broker_identity (const rh_peers_t *self,
                                               const rh_fed_region_t *region, int64_t now_ms);

//  The other region whose board enrolled agency (valid at now_ms), or NULL.
const rh_fed_region_t *rh_peers_home (const rh_peers_t *self, const char *agency, int64_t now_ms);

//  The region a per-peer queue name stands for, or NULL if queue is no other region's.
const rh_fed_region_t *rh_peers_region_of_queue (const rh_peers_t *self, const char *queue);

#endif
