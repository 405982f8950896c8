/* fc_status_summary.h: a fleet summary per channel from the broker's counts, for `fleetcast status
   --summary` and
   `--watch` (fc_status_watch.c): how many agents run the channel's current release, how
   many are downloading and how far along, how many failed, how many are offline. */
#ifndef FC_STATUS_SUMMARY_H
#define FC_STATUS_SUMMARY_H

#include "fc_json.h"
#include "fc_msg.h"
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* One channel's summary. */
typedef struct {
    char channel[FC_MAX_NAME + 1];
    char current[FC_MAX_NAME + 1]; /* the channel's latest release ("" if none) */
    uint64_t agents;
    uint64_t on_current;
    uint64_t downloading;
    uint64_t done, total;         /* bytes, over the agents downloading */
    uint64_t failed;              /* failed, rejected or rolled back */
    uint64_t offline;             /* not heard from for the broker's offline threshold */
    const fc_fleet_count_t *rows; /* this channel's rows of the broker's summary (borrowed
                                     from the STATUS_SUMMARY_REPLY; NULL from agents) */
    size_t nrows;
} fc_status_summary_t;

/* Summarises the broker's own counts (summary, a STATUS_SUMMARY_REPLY, must outlive *out:
   each entry borrows its rows) by channel given the releases the broker lists (any order;
   each channel's highest serial is its current release), whatever the fleet size. *out
   malloc'd (caller frees), by channel name; *nout entries. 0, or -1 out of memory. */
int fc_status_summarise_counts(const fc_msg_t *summary, const fc_release_info_t *releases,
                               size_t nreleases, fc_status_summary_t **out, size_t *nout);
/* Whether an agent in this state has reached a final state (nothing to watch). */
bool fc_status_final(const char *state);
/* One summary as a line for people, eol written before its newline. */
void fc_status_summary_line(FILE *f, const fc_status_summary_t *s, const char *eol);
/* The summaries as a JSON array; from the broker's counts, each object also has online,
   versions and states (objects of counts) and reasons (the most common failure messages). */
void fc_status_summary_json(fc_json_t *j, const fc_status_summary_t *list, size_t n);

void fc_status_summary_test(bool verbose);

#endif
