/*  =========================================================================
    rh_backlog - submissions waiting for a verify worker's credit
    =========================================================================
*/
#include "rh_broker_classes.h"

typedef struct _s_node_t {
    rh_parked_t parked;
    struct _s_node_t *next;
} s_node_t;

//  Bytes parked per agency: a small table, since few agencies are ever parked at once.
typedef struct {
    char agency [RH_MAX_ID + 1];
    size_t bytes;
} s_share_t;

struct _rh_backlog_t {
    s_node_t *head;           //  oldest
    s_node_t *tail;           //  newest
    size_t size;              //  submissions parked
    size_t bytes;             //  their sealed bytes
    size_t max_bytes;         //  overall bound
    size_t max_agency_bytes;  //  bound for one agency
    s_share_t *shares;        //  bytes parked per agency (entries with bytes > 0)
    size_t share_count;
    size_t share_capacity;
};

rh_backlog_t *
rh_backlog_new (size_t max_bytes, size_t max_agency_bytes)
{
    rh_backlog_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->max_bytes = max_bytes;
    self->max_agency_bytes = max_agency_bytes;
    return self;
}

void
rh_backlog_destroy (rh_backlog_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        rh_backlog_t *self = *self_p;
        while (self->head)
            rh_backlog_pop (self);
        free (self->shares);
        free (self);
        *self_p = NULL;
    }
}

static s_share_t *
s_share (rh_backlog_t *self, const char *agency, bool create)
{
    for (size_t i = 0; i < self->share_count; i++)
        if (strcmp (self->shares [i].agency, agency) == 0)
            return &self->shares [i];
    if (!create)
        return NULL;
    if (self->share_count == self->share_capacity) {
        size_t capacity = self->share_capacity ? self->share_capacity * 2 : 16;
        s_share_t *grown = realloc (self->shares, capacity * sizeof *grown);
        if (!grown)
            return NULL;
        self->shares = grown;
        self->share_capacity = capacity;
    }
    s_share_t *share = &self->shares [self->share_count++];
    snprintf (share->agency, sizeof share->agency, "%s", agency);
    share->bytes = 0;
    return share;
}

int
rh_backlog_park (rh_backlog_t *self, const uint8_t *routing_id, size_t routing_id_size,
                 const char *agency, const char *msg_id, const uint8_t *sealed, size_t size)
{
    assert (self && routing_id && agency && msg_id);
    if (routing_id_size == 0 || routing_id_size > RH_MAX_ROUTING_ID || strlen (agency) > RH_MAX_ID
        || strlen (msg_id) > RH_MAX_ID || self->bytes + size > self->max_bytes)
        return -1;
    s_share_t *share = s_share (self, agency, true);
    if (!share || share->bytes + size > self->max_agency_bytes)
        return -1;
    s_node_t *node = calloc (1, sizeof *node);
    uint8_t *copy = malloc (size ? size : 1);
    if (!node || !copy) {
        free (node);
        free (copy);
        return -1;
    }
    if (size)
        memcpy (copy, sealed, size);
    memcpy (node->parked.routing_id, routing_id, routing_id_size);
    node->parked.routing_id_size = routing_id_size;
    snprintf (node->parked.agency, sizeof node->parked.agency, "%s", agency);
    snprintf (node->parked.msg_id, sizeof node->parked.msg_id, "%s", msg_id);
    node->parked.sealed = copy;
    node->parked.sealed_size = size;
    if (self->tail)
        self->tail->next = node;
    else
        self->head = node;
    self->tail = node;
    self->size++;
    self->bytes += size;
    share->bytes += size;
    return 0;
}

const rh_parked_t *
rh_backlog_peek (rh_backlog_t *self)
{
    assert (self);
    return self->head ? &self->head->parked : NULL;
}

void
rh_backlog_pop (rh_backlog_t *self)
{
    assert (self);
    s_node_t *node = self->head;
    if (!node)
        return;
    self->head = node->next;
    if (!self->head)
        self->tail = NULL;
    self->size--;
    self->bytes -= node->parked.sealed_size;
    s_share_t *share = s_share (self, node->parked.agency, false);
    if (share) {
        share->bytes -= node->parked.sealed_size;
        if (share->bytes == 0)  //  keep the table to the agencies parked now
            *share = self->shares [--self->share_count];
    }
    free (node->parked.sealed);
    free (node);
}

size_t
rh_backlog_size (rh_backlog_t *self)
{
    assert (self);
    return self->size;
}

size_t
rh_backlog_bytes (rh_backlog_t *self)
{
    assert (self);
    return self->bytes;
}
