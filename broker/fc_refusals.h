/* fc_refusals.h: the broker's log of refused connections: zauth's verbose lines (every ZAP
   request) are cut down to the refusals, each naming the key and the address, at most one
   line a minute per key (with the count of those not logged). Not public. */
#ifndef FC_REFUSALS_H
#define FC_REFUSALS_H

#include "fc_log.h"
#include <stdbool.h>
#include <stddef.h>

typedef struct fc_refusals_t fc_refusals_t;

/* verbose: zauth's lines pass untouched as well (refusals are still rate-limited). */
fc_refusals_t *fc_refusals_new(bool verbose);
void fc_refusals_destroy(fc_refusals_t **self_p);
/* An fc_log_zsys_filter_fn; arg: the fc_refusals_t (which must outlive the filter's
   installation: uninstall before destroying). */
bool fc_refusals_filter(fc_log_level_t *level, char *text, size_t size, void *arg);

void fc_refusals_test(bool verbose);

#endif
