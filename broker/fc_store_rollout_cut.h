/* fc_store_rollout_cut.h: the rank cut a relay's upstream states for each rollout it follows
   (docs/PROTOCOL.md 3.16, "Rollouts"); a private part of fc_store, used by
   fc_store_release_rollout.c and the relay. */
#ifndef FC_STORE_ROLLOUT_CUT_H
#define FC_STORE_ROLLOUT_CUT_H

#include "fc_store.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Creates the rollout_cuts table inside the store's open transaction. */
int fc_store_rollout_cut_init(fc_store_t *self);
/* Records the upstream's cut for the rollout of channel/serial (planned or under way), in the
   caller's transaction if one is open. FC_EINVAL: not a cut. */
int fc_store_rollout_cut_set(fc_store_t *self, const char *channel, uint64_t serial,
                             const char *cut);
/* The upstream's cut for channel/serial into out (FC_MAX_NAME + 1 bytes): false if none was
   stated (the root's own rollout, or an older upstream: the share is drawn here). */
bool fc_store_rollout_cut_get(fc_store_t *self, const char *channel, uint64_t serial, char *out);

#endif
