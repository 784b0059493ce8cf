/*  =========================================================================
    rh_tally - counts of refusals that are audited as summaries

    Refused handshakes and malformed frames cost the sender nothing; one
    append-only audit leaf each would let anyone grow the broker's log
    without bound. They are counted here instead, per event, result and
    peer (a CURVE key, an agency), and the broker writes one audit record
    per entry per interval. The table holds at most max_keys entries; more
    peers than that in one interval share one "(other peers)" entry, so a
    flood from many keys costs a bounded number of records too.
    =========================================================================
*/
#ifndef RH_TALLY_H_INCLUDED
#define RH_TALLY_H_INCLUDED

typedef struct _rh_tally_t rh_tally_t;

//  One summary: count events of one kind, result and peer between first_ms and last_ms.
typedef struct {
    const char *event;  //  e.g. "HANDSHAKE_REFUSED"
    rh_rc_t rc;
    const char *peer;  //  "(other peers)" for the overflow entry
    uint64_t count;
    int64_t first_ms;
    int64_t last_ms;
} rh_tally_entry_t;

typedef void (rh_tally_fn) (void *arg, const rh_tally_entry_t *entry);

#define RH_TALLY_OTHERS "(other peers)"

//  New, empty tally of at most max_keys entries (and the overflow entry). NULL on failure.
rh_tally_t *rh_tally_new (size_t max_keys);

void rh_tally_destroy (rh_tally_t **self_p);

//  Counts one event. event is a static string (kept by pointer); peer is copied (truncated to
//  RH_MAX_PEER bytes).
void rh_tally_add (rh_tally_t *self, const char *event, rh_rc_t rc, const char *peer,
                   int64_t now_ms);

//  Hands every entry to fn, oldest first, and empties the table. Returns how many there were.
size_t rh_tally_drain (rh_tally_t *self, rh_tally_fn *fn, void *arg);

//  Events counted since the last drain.
uint64_t rh_tally_pending (rh_tally_t *self);

#endif
