/* fc_store_via.h: which relay each agent reports through, as the root's status views show it
   (a private part of fc_store, fc_store_via.c). */
#ifndef FC_STORE_VIA_H
#define FC_STORE_VIA_H

#include "fc_msg.h"
#include "fc_store.h"
#include "fc_store_view.h"
#include <stdbool.h>

/* Creates the agent_via table inside the store's open transaction (fc_store.c's open). */
int fc_store_via_init(fc_store_t *self);
/* Records that agent id reports through relay via; via "" (it reported here directly)
   forgets it. FC_EINVAL on an id or via that is not a name. */
int fc_store_via_set(fc_store_t *self, const char *id, const char *via);
/* Fills the via field of n listed agents ("" for those reporting directly). */
void fc_store_via_fill(fc_store_t *self, fc_agent_status_t *agents, size_t n);
/* The same for the fleet view's rows (fc_store_view.h). */
void fc_store_via_fill_rows(fc_store_t *self, fc_store_agent_row_t *rows, size_t n);

void fc_store_via_test(bool verbose);

#endif
