/* fc_store_view.h: the store's read-only queries behind the fleet view (fc_view.h): agents
   with their group, agent counts by channel, version and state, recent config revisions,
   uploads in progress. */
#ifndef FC_STORE_VIEW_H
#define FC_STORE_VIEW_H

#include "fc_msg.h"
#include "fc_store.h"

/* An agent as the fleet page lists it: its last status and the group it last told. */
typedef struct {
    fc_agent_status_t status;
    char group[FC_MAX_NAME + 1]; /* "" if none */
} fc_store_agent_row_t;

/* Agents by id, at most max. *list malloc'd (caller frees; NULL when none). */
int fc_store_view_agents(fc_store_t *self, size_t max, fc_store_agent_row_t **list, size_t *n);

/* How many agents are on one (channel, version, state), and how many of them were heard
   from at or after online_since (unix seconds). */
typedef struct {
    char channel[FC_MAX_NAME + 1];
    char version[FC_MAX_NAME + 1];
    char state[FC_MAX_NAME + 1];
    uint64_t count;
    uint64_t online;
} fc_store_agent_count_t;

/* Every (channel, version, state) with agents, by channel, version and state, at most max;
 *left_out: how many more there are (0: none left out). *list malloc'd (caller frees). */
int fc_store_view_agent_counts(fc_store_t *self, int64_t online_since, size_t max,
                               fc_store_agent_count_t **list, size_t *n, uint64_t *left_out);
/* Every agent, and those heard from at or after online_since: exact whatever the groups. */
int fc_store_view_agent_totals(fc_store_t *self, int64_t online_since, uint64_t *agents,
                               uint64_t *online);
/* The agents on channel, and those of them on version. */
int fc_store_view_channel_agents(fc_store_t *self, const char *channel, const char *version,
                                 uint64_t *agents, uint64_t *on_version);

/* What a fleet summary left out for want of room: rows (groups and reasons), the groups
   among them and the agents those groups hold. */
typedef struct {
    uint64_t rows;
    uint64_t groups;
    uint64_t agents;
} fc_store_left_out_t;

/* A fleet summary (STATUS_SUMMARY_REPLY rows, fc_fleet_count_t) of channel ("" = all): one
   row per (channel, version, state) with its agents, those not heard since online_since
   (unix seconds) and the bytes of those downloading; then, per channel, its reasons most
   common failure messages (states failed, rejected, rolled-back) with their counts. At most
   max rows, groups first (by channel, version, state), reasons in the room left. What does
   not fit: with cut_ok, left out and counted in *left (zero when nothing is); without it,
   FC_ETOOBIG (a client that cannot be told: never a summary cut silently). *list malloc'd
   (caller frees). */
int fc_store_view_summary(fc_store_t *self, const char *channel, int64_t online_since,
                          size_t reasons, size_t max, bool cut_ok, fc_fleet_count_t **list,
                          size_t *n, fc_store_left_out_t *left);

/* The newest config SET revisions (numbers, newest first), at most max. *revs malloc'd. */
int fc_store_view_revisions(fc_store_t *self, size_t max, uint64_t **revs, size_t *n);

/* Blob uploads started and not yet committed. */
int fc_store_view_uploads(fc_store_t *self, uint64_t *count);

#endif
