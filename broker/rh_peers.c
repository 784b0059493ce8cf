/*  =========================================================================
    rh_peers - the federation agreement in force, and the peer regions it
    names
    =========================================================================
*/
#include "rh_broker_classes.h"

struct _rh_peers_t {
    rh_federation_t *federation;
    const rh_fed_region_t *own;
};

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
    return self;
}

void
rh_peers_destroy (rh_peers_t **self_p)
{
    if (!self_p || !*self_p)
        return;
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
