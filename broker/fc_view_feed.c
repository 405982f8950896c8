/* fc_view_feed.c: the broker's side of its HTTP view: a new view when its own state changed
   (never on a timer alone), counters every second, both handed to the hub by a pointer swap
   so the broker never waits for an HTTP client. */
#include "fc_view_feed.h"
#include "fc_error.h"
#include "fc_store_view.h"

struct fc_view_feed_t {
    fc_view_hub_t *hub;
    fc_store_t *store;
    fc_chunks_t *chunks;
    const fc_peers_t *peers; /* NULL if the monitor could not be set up: 0 peers shown */
    bool dirty;              /* the fleet changed since the last view */
    int64_t next_view;       /* not before (zclock_mono) */
    int64_t next_counters;
};

fc_view_feed_t *fc_view_feed_new(fc_view_hub_t *hub, fc_store_t *store, fc_chunks_t *chunks,
                                 const fc_peers_t *peers)
{
    fc_view_feed_t *self = zmalloc(sizeof *self);
    self->hub = hub;
    self->store = store;
    self->chunks = chunks;
    self->peers = peers;
    self->dirty = true; /* the first view: what the store holds at start */
    return self;
}

void fc_view_feed_destroy(fc_view_feed_t **self_p)
{
    fc_view_feed_t *self = *self_p;
    if (!self)
        return;
    free(self);
    *self_p = NULL;
}

void fc_view_feed_note(fc_view_feed_t *self, fc_msg_type_t type)
{
    if (fc_view_changes(type))
        self->dirty = true;
}

void fc_view_feed_changed(fc_view_feed_t *self)
{
    self->dirty = true;
}

int fc_view_feed_wait(fc_view_feed_t *self, int64_t now_ms, int wait)
{
    int64_t due = self->next_counters;
    if (self->dirty && self->next_view < due)
        due = self->next_view;
    int64_t until = due > now_ms ? due - now_ms : 0;
    return until < wait ? (int)until : wait;
}

static void s_counters(fc_view_feed_t *self, const fc_broker_stats_t *stats)
{
    fc_view_counters_t c = {.broker = *stats};
    c.chunks_served = fc_chunks_served(self->chunks);
    c.chunk_bytes_served = fc_chunks_bytes_served(self->chunks);
    c.chunks_dropped = fc_chunks_dropped(self->chunks);
    c.chunks_duplicate = fc_chunks_duplicates(self->chunks);
    c.chunk_links_dropped = fc_chunks_dropped_links(self->chunks);
    c.chunk_requests_stalled = fc_chunks_ignored(self->chunks);
    c.chunk_send_failed = fc_chunks_send_failed(self->chunks);
    c.chunk_budget_bytes = fc_chunks_budget(self->chunks);
    c.chunk_held_bytes = fc_chunks_held(self->chunks);
    c.chunks_waiting = fc_chunks_waiting(self->chunks);
    fc_store_view_uploads(self->store, &c.uploads);
    c.peers = self->peers ? fc_peers_count(self->peers) : 0;
    c.corrupt_blobs = fc_store_corrupt_count(self->store);
    fc_view_hub_counters(self->hub, &c);
}

void fc_view_feed_run(fc_view_feed_t *self, const fc_broker_stats_t *stats, int64_t now_ms)
{
    bool view_due = self->dirty && now_ms >= self->next_view;
    if (view_due) {
        int err = 0;
        fc_view_t *view = fc_view_build(self->store, (int64_t)time(NULL), &err);
        self->next_view = now_ms + FC_VIEW_MIN_INTERVAL_MS;
        if (view) {
            self->dirty = false;
            /* Counters first: a client woken by the view reads both as of now. */
            s_counters(self, stats);
            self->next_counters = now_ms + FC_VIEW_COUNTERS_MS;
            fc_view_hub_publish(self->hub, &view);
        } else
            zsys_warning("fleetcast-broker: cannot build the fleet view: %s", fc_strerror(err));
    }
    if (now_ms >= self->next_counters) {
        s_counters(self, stats);
        self->next_counters = now_ms + FC_VIEW_COUNTERS_MS;
    }
}
