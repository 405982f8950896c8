/* fc_view.h: the fleet as the broker shows it over HTTP (fc_http.h): an immutable view built
   by the broker's thread from its store, the counters beside it, and the feed that decides
   when the broker builds a new view (on its own state changes, at most so often). */
#ifndef FC_VIEW_H
#define FC_VIEW_H

#include "fc_ack.h"
#include "fc_broker.h"
#include "fc_msg.h"
#include "fc_presence.h"
#include "fc_store.h"
#include "fc_store_view.h"

#include <stdbool.h>
#include <stdint.h>

/* An agent heard from within this many seconds counts as online (fc_presence.h). */
#define FC_VIEW_ONLINE_S FC_PRESENCE_ONLINE_S
/* A new view at most this often while the fleet changes: 1000 idle agents report 100 times
   a second, each a change. */
#define FC_VIEW_MIN_INTERVAL_MS 500
/* Agents listed on the page (the counts behind /metrics cover every agent). */
#define FC_VIEW_MAX_AGENTS 10000
/* Newest config SET revisions whose convergence is shown, and audit entries. */
#define FC_VIEW_REVISIONS 5
#define FC_VIEW_AUDIT 20

/* What the broker counts as it goes; copied into the hub at every heartbeat and view. */
typedef struct {
    fc_broker_stats_t broker;
    uint64_t chunks_served;          /* chunks handed to ZeroMQ */
    uint64_t chunk_bytes_served;     /* their bytes */
    uint64_t chunks_dropped;         /* requests dropped past a waiting cap */
    uint64_t chunks_duplicate;       /* re-sent requests not answered twice */
    uint64_t chunk_links_dropped;    /* connections dropped for stalling past the deadline */
    uint64_t chunk_requests_stalled; /* requests refused since, from such connections */
    uint64_t chunk_send_failed;      /* chunk replies that could not be sent */
    uint64_t chunk_budget_bytes;     /* the budget */
    uint64_t chunk_held_bytes;       /* of it in use: read, not yet taken by the kernel */
    uint64_t chunks_waiting;         /* requests queued for the budget */
    uint64_t uploads;                /* blob uploads in progress */
    uint64_t peers;                  /* connections to the service socket */
    uint64_t corrupt_blobs;          /* blobs found damaged and moved aside */
} fc_view_counters_t;

/* One config revision's convergence: how many of the agents it applies to acked what. */
typedef struct {
    uint64_t rev;
    char scope[FC_MAX_SCOPE + 1];
    int64_t committed;
    bool halted;
    uint64_t acks[FC_ACK_COUNT]; /* by fc_ack_t; FC_ACK_PENDING: no ack yet */
} fc_view_rev_t;

typedef struct {
    size_t refs;                 /* the hub's count (fc_view_hub.c, under its lock) */
    int64_t time;                /* built at, unix seconds */
    int64_t online_s;            /* heard within this many seconds: online (--offline-after) */
    uint64_t seq;                /* the store's announcement sequence then */
    fc_release_info_t *channels; /* each channel's current release */
    size_t nchannels;
    fc_store_agent_count_t *counts; /* agents by (channel, version, state), the first
                                       FC_MAX_LIST groups */
    size_t ncounts;
    uint64_t groups_left_out; /* the groups past those (0: counts holds every one) */
    uint64_t agents, online;  /* every agent, whatever the groups */
    fc_view_rev_t *revs;      /* newest first */
    size_t nrevs;
    fc_rollout_info_t *rollouts; /* each channel's current release and its rollout, as
                                    release status shows them */
    size_t nrollouts;
    /* The page's document (JSON, one line): everything above plus the agents table and the
       audit tail. */
    char *json;
    size_t json_len;
} fc_view_t;

/* Builds the view of store at time now (unix seconds). NULL with *err on a store error. */
fc_view_t *fc_view_build(fc_store_t *store, int64_t now, int *err);
/* Frees; nulls *self_p; safe on NULL. */
void fc_view_destroy(fc_view_t **self_p);

/* Whether a request of this type may change what a view shows. */
bool fc_view_changes(fc_msg_type_t type);

void fc_view_test(bool verbose);

#endif
