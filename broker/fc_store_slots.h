/* fc_store_slots.h: restart slots kept in the store's database, so every broker sharing it
   counts the same slots (a private part of fc_store, fc_store_slots.c). */
#ifndef FC_STORE_SLOTS_H
#define FC_STORE_SLOTS_H

#include "fc_store.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Creates the restart_slots table inside the store's open transaction (fc_store.c's open):
   (rev, id) -> the agent key id belongs to ("" if none) and when the slot was granted (wall
   clock ms: brokers on one database compare times taken on different machines, which a
   monotonic clock cannot give; their clocks are expected to agree well within a TTL). */
int fc_store_slots_init(fc_store_t *self);

/* Asks for a restart slot of revision rev for agent id (whose scope the caller has checked),
   in one write transaction, so two brokers on one database never both grant the last slot:
   slots granted ttl_ms or more before now_ms are taken back first; a slot id already holds
   of rev is granted again (keeping its grant time); otherwise it is granted (*granted true)
   only while fewer than limit slots of rev are held and, when key is a key (not NULL nor
   ""), the ids of that key hold no slot of rev and fewer than per_key_max in all. key is the
   agent key id belongs to, borrowed. *granted false on any error. FC_EINVAL for an id that
   is not a name; a database error otherwise. */
int fc_store_slot_take(fc_store_t *self, uint64_t rev, const char *id, const char *key,
                       size_t limit, size_t per_key_max, int64_t ttl_ms, int64_t now_ms,
                       bool *granted);
/* Frees agent id's slot of revision rev (its restart ended); FC_OK when it held none. */
int fc_store_slot_release(fc_store_t *self, uint64_t rev, const char *id);

void fc_store_slots_test(bool verbose);

#endif
