/* fc_rollout_info.h: a channel's rollout (fc_rollout_info_t, as ROLLOUT_STATUS_REPLY lists it)
   as a JSON object's members: the one shape `fleetcast release status --json` prints and the
   broker's fleet page draws, so the two can be compared key by key. */
#ifndef FC_ROLLOUT_INFO_H
#define FC_ROLLOUT_INFO_H

#include "fc_json.h"
#include "fc_msg.h"
#include <stdbool.h>

/* Writes r's members into the object open in j (the caller opens and closes it): channel,
   version, serial, state ("NONE" without a rollout), halted, reason, wave, waves, percent,
   halt_percent, wave_wait_ms, wave_started, prev_version, prev_serial, and the agent counts
   agents, offered, installed, healthy, failed, rolled_back, downloading, bytes_done,
   bytes_total, pending, not_offered, offline. r is borrowed. */
void fc_rollout_info_json(fc_json_t *j, const fc_rollout_info_t *r);

void fc_rollout_info_test(bool verbose);

#endif
