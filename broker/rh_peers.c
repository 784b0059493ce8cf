/*  =========================================================================
    rh_peers - the federation agreement in force, and the peer regions it
    names
    =========================================================================
*/
#include "rh_broker_classes.h"

struct _rh_peers_t {
    rh_federation_t *federation;
    const rh_fed_region_t *own;
    //  Per region (by index; the own region's stays NULL): the other board's CA, its CRL and
    //  the certificates it issued that its board gave ours (pki/peers/REGION), or NULL when
    //  they do not load: nothing from that region verifies and no link to it starts.
    rh_certstore_t *stores [RH_MAX_FED_REGIONS];
};

//  Loads the certificates the other boards gave ours: pki_dir/peers/REGION as rhannu-ca
//  writes a PKI folder (ca.pem, crl.pem, AGENCY/cert.pem). Its CA is the one the federation
//  agreement names (rh_fedtrust checked its fingerprint).
static void
s_load_stores (rh_peers_t *self, const char *pki_dir)
{
    size_t count = rh_federation_regions (self->federation);
    for (size_t i = 0; i < count && i < RH_MAX_FED_REGIONS; i++) {
        const rh_fed_region_t *region = rh_federation_region (self->federation, i);
        if (region == self->own)
            continue;
        char dir [PATH_MAX];
        rh_file_path (dir, sizeof dir, "%s/peers/%s", pki_dir, region->name);
        self->stores [i] = rh_certstore_load_dir (dir);
        if (!self->stores [i])
            rh_log_warn ("broker",
                         "federation: the certificates of region %s (%s) do not load: nothing "
                         "from it verifies and no link to it starts",
                         region->name, dir);
    }
}

rh_peers_t *
rh_peers_load (const char *path, const char *region, const char *pki_dir, int64_t now_ms,
               char *errors, size_t errors_size)
{
    *errors = 0;
    uint8_t *data = NULL;
    size_t size = 0;
    if (rh_file_read (path, RH_MAX_AGREEMENT_FILE, &data, &size) != 0) {
        snprintf (errors, errors_size, "%s: cannot read: %s\n", path, strerror (errno));
        return NULL;
    }
    rh_peers_t *self = calloc (1, sizeof *self);
    if (!self
        || !(self->federation =
                 rh_federation_parse ((const char *) data, size, path, errors, errors_size))) {
        free (data);
        free (self);
        return NULL;
    }
    char report [4096];
    size_t signed_by =
        rh_fedtrust_verify (self->federation, path, data, size, pki_dir, report, sizeof report);
    free (data);
    char own_ca [PATH_MAX];
    rh_file_path (own_ca, sizeof own_ca, "%s/ca.pem", pki_dir);
    X509 *ca = rh_ca_read_cert (own_ca);
    const rh_fed_region_t *mine = ca ? rh_fedtrust_region_of_ca (self->federation, ca) : NULL;
    X509_free (ca);
    self->own = rh_federation_region_named (self->federation, region);
    if (signed_by != rh_federation_regions (self->federation))
        snprintf (errors, errors_size, "%s: signed by %zu of %zu boards\n%s", path, signed_by,
                  rh_federation_regions (self->federation), report);
    else if (!self->own)
        snprintf (errors, errors_size, "%s: names no region '%s' (federation/region)\n", path,
                  region);
    else if (mine != self->own)
        snprintf (errors, errors_size, "%s: region %s's CA is not this broker's CA (%s)\n", path,
                  region, own_ca);
    else if (now_ms < rh_federation_valid_from (self->federation)
             || now_ms > rh_federation_valid_to (self->federation))
        snprintf (errors, errors_size, "%s: not in force now\n", path);
    if (*errors)
        rh_peers_destroy (&self);
    else
        s_load_stores (self, pki_dir);
    return self;
}

void
rh_peers_destroy (rh_peers_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    for (size_t i = 0; i < RH_MAX_FED_REGIONS; i++)
        rh_certstore_destroy (&(*self_p)->stores [i]);
    rh_federation_destroy (&(*self_p)->federation);
    free (*self_p);
    *self_p = NULL;
}

const rh_federation_t *
rh_peers_federation (const rh_peers_t *self)
{
    return self->federation;
}

const rh_fed_region_t *
rh_peers_own (const rh_peers_t *self)
{
    return self->own;
}

const rh_fed_region_t *
rh_peers_route (const rh_peers_t *self, const char *la, const char **agency)
{
    const rh_fed_region_t *region = rh_federation_front_door (self->federation, la, agency);
    return region && region != self->own ? region : NULL;
}

rh_fed_decide_t
rh_peers_border (const rh_peers_t *self, const char *from, const char *to, const rh_facts_t *facts,
                 const rh_party_ref_t *sender, int64_t now_ms, char *reason, size_t reason_size)
{
    return rh_federation_decide (self->federation, from, to, sender->id, sender->la, facts->kind,
                                 facts->purpose, facts->categories, now_ms, reason, reason_size);
}

//  The index of region in the agreement, or -1.
static int
s_index (const rh_peers_t *self, const rh_fed_region_t *region)
{
    size_t count = rh_federation_regions (self->federation);
    for (size_t i = 0; i < count && i < RH_MAX_FED_REGIONS; i++)
        if (rh_federation_region (self->federation, i) == region)
            return (int) i;
    return -1;
}

rh_certstore_t *
rh_peers_store (const rh_peers_t *self, const rh_fed_region_t *region)
{
    int index = region ? s_index (self, region) : -1;
    return index >= 0 ? self->stores [index] : NULL;
}

const rh_fed_region_t *
rh_peers_broker_of (const rh_peers_t *self, const uint8_t curve_key [RH_PUBKEY_LEN], int64_t now_ms)
{
    size_t count = rh_federation_regions (self->federation);
    for (size_t i = 0; i < count && i < RH_MAX_FED_REGIONS; i++) {
        const rh_identity_t *identity = NULL;
        const rh_fed_region_t *region = rh_federation_region (self->federation, i);
        if (self->stores [i]
            && rh_certstore_by_curve (self->stores [i], curve_key, now_ms, &identity) == RH_OK
            && strcmp (identity->type, "BROKER") == 0
            && strcmp (identity->agency_id, region->broker_cn) == 0)
            return region;
    }
    return NULL;
}

const rh_identity_t *
rh_peers_broker_identity (const rh_peers_t *self, const rh_fed_region_t *region, int64_t now_ms)
{
    rh_certstore_t *store = rh_peers_store (self, region);
    const rh_identity_t *identity =
        store ? rh_certstore_enrolled (store, region->broker_cn, now_ms) : NULL;
    return identity && strcmp (identity->type, "BROKER") == 0 && identity->has_curve_key ? identity
                                                                                         : NULL;
}

const rh_fed_region_t *
rh_peers_home (const rh_peers_t *self, const char *agency, int64_t now_ms)
{
    size_t count = rh_federation_regions (self->federation);
    for (size_t i = 0; i < count && i < RH_MAX_FED_REGIONS; i++) {
        const rh_identity_t *identity =
            self->stores [i] ? rh_certstore_enrolled (self->stores [i], agency, now_ms) : NULL;
        if (identity && strcmp (identity->type, "BROKER") != 0)
            return rh_federation_region (self->federation, i);
    }
    return NULL;
}

const rh_fed_region_t *
rh_peers_region_of_queue (const rh_peers_t *self, const char *queue)
{
    if (strncmp (queue, RH_PEER_QUEUE_PREFIX, strlen (RH_PEER_QUEUE_PREFIX)) != 0)
        return NULL;
    const rh_fed_region_t *region =
        rh_federation_region_named (self->federation, queue + strlen (RH_PEER_QUEUE_PREFIX));
    return region != self->own ? region : NULL;
}
