/* fc_view_hub.h: where the broker's thread leaves the latest fleet view and counters for the
   HTTP thread to read, without either waiting on the other beyond a pointer swap. */
#ifndef FC_VIEW_HUB_H
#define FC_VIEW_HUB_H

#include "fc_view.h"
#include <stdbool.h>
#include <stdint.h>

typedef struct fc_view_hub_t fc_view_hub_t;

fc_view_hub_t *fc_view_hub_new(void);
/* Frees the hub and its current view; nulls *self_p; safe on NULL. No reader may still be
   inside a call (stop the HTTP server and the broker first). */
void fc_view_hub_destroy(fc_view_hub_t **self_p);

/* The broker's side. Takes ownership of *view_p (nulled): it becomes the current view,
   readers are woken and the previous view is freed once its last reader lets go. */
void fc_view_hub_publish(fc_view_hub_t *self, fc_view_t **view_p);
/* Copies counters in (they change with every request; views only with the fleet). */
void fc_view_hub_counters(fc_view_hub_t *self, const fc_view_counters_t *counters);

/* The readers' side. The current view (NULL before the first publish), held until
   fc_view_hub_release; *counters gets the latest counters and *generation (may be NULL) the
   view's number, which grows by one with every publish. */
const fc_view_t *fc_view_hub_acquire(fc_view_hub_t *self, fc_view_counters_t *counters,
                                     uint64_t *generation);
/* Lets go of a view from fc_view_hub_acquire; nulls *view_p; safe on NULL. */
void fc_view_hub_release(fc_view_hub_t *self, const fc_view_t **view_p);
/* Waits up to timeout_ms for a view newer than generation, or fc_view_hub_stop. true if
   there is one (false: timed out or stopping). */
bool fc_view_hub_wait(fc_view_hub_t *self, uint64_t generation, int timeout_ms);
/* Wakes every waiter for good: fc_view_hub_wait returns false from now on. */
void fc_view_hub_stop(fc_view_hub_t *self);
bool fc_view_hub_stopping(fc_view_hub_t *self);

#endif
