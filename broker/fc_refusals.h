/* fc_refusals.h: the broker's log of refused connections: zauth's verbose lines (every ZAP
   request) are cut down to the refusals, each naming the key and the address, at most one
   line a minute per key (with the count of those not logged); connections refused before
   any key is seen (a plain client on a CURVE socket, fc_peers.h) go through the same
   limit, one line a minute per address and kind. Not public. */
#ifndef FC_REFUSALS_H
#define FC_REFUSALS_H

#include "fc_log.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct fc_refusals_t fc_refusals_t;

/* verbose: zauth's lines pass untouched as well (refusals are still rate-limited). */
fc_refusals_t *fc_refusals_new(bool verbose);
void fc_refusals_destroy(fc_refusals_t **self_p);
/* An fc_log_zsys_filter_fn; arg: the fc_refusals_t (which must outlive the filter's
   installation: uninstall before destroying). */
bool fc_refusals_filter(fc_log_level_t *level, char *text, size_t size, void *arg);
/* A connection that failed before any key was seen (fc_peers.h), keyed by kind and address
   ("plain 10.0.0.7"): true when it is due for a line, at most once a minute per key, and
   *quiet gets how many of that key were not logged since the last line; false while they
   are only counted. */
bool fc_refusals_due(fc_refusals_t *self, const char *key, uint64_t *quiet);

void fc_refusals_test(bool verbose);

#endif
