/* fc_view_feed.h: the broker's side of its HTTP view: notes the requests that change what
   the fleet looks like, builds a new view from the store when one did (at most every
   FC_VIEW_MIN_INTERVAL_MS), and hands it and the counters to the view hub. Runs on the
   broker's thread. */
#ifndef FC_VIEW_FEED_H
#define FC_VIEW_FEED_H

#include "fc_chunks.h"
#include "fc_peers.h"
#include "fc_view_hub.h"

/* Counters are handed over this often (a scrape sees them at most this old). */
#define FC_VIEW_COUNTERS_MS 1000

typedef struct fc_view_feed_t fc_view_feed_t;

/* hub, store, chunks and peers (the service socket's connections, fc_peers.h; NULL: 0 shown)
   are borrowed and must outlive the feed. NULL if out of memory. */
fc_view_feed_t *fc_view_feed_new(fc_view_hub_t *hub, fc_store_t *store, fc_chunks_t *chunks,
                                 const fc_peers_t *peers);
void fc_view_feed_destroy(fc_view_feed_t **self_p);
/* A request of this type was handled. */
void fc_view_feed_note(fc_view_feed_t *self, fc_msg_type_t type);
/* The fleet changed without a request: a rollout moved on by itself (a wave done or timed
   out, a halt). */
void fc_view_feed_changed(fc_view_feed_t *self);
/* The poll wait (ms) shortened to when the feed has work due. */
int fc_view_feed_wait(fc_view_feed_t *self, int64_t now_ms, int wait);
/* Publishes what is due at now_ms (zclock_mono): a view if the fleet changed, counters. */
void fc_view_feed_run(fc_view_feed_t *self, const fc_broker_stats_t *stats, int64_t now_ms);

#endif
