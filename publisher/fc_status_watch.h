/* fc_status_watch.h: `fleetcast status --summary` (a line per channel) and `status --watch`
   (the summary and the agents not in a final state, redrawn in place on a terminal). */
#ifndef FC_STATUS_WATCH_H
#define FC_STATUS_WATCH_H

#include "fc_config_cmd.h"
#include <stdbool.h>

/* Redraws this often (milliseconds). */
#define FC_STATUS_WATCH_MS 1000

/* Runs `fleetcast status --summary` and/or `--watch` for channel (NULL: every channel), with
   the connection options of o (broker, curve, timeout, json). --watch redraws until
   interrupted (SIGINT, SIGTERM: exit 0) when stdout is a terminal and is not --json;
   otherwise prints one snapshot. Exit status: 0, or 1 (a message on stderr). */
int fc_status_watch_run(const fc_config_cmd_options_t *o, const char *channel, bool watch,
                        bool summary);

#endif
