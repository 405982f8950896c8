/* fc_delta_cache.h: the object deltas the broker encoded last, so a fleet asking for one change
   costs one encode, not one per agent. */
#ifndef FC_DELTA_CACHE_H
#define FC_DELTA_CACHE_H

#include "fc_hash.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct fc_delta_cache_t fc_delta_cache_t;

/* A cache holding at most max_entries deltas and max_bytes of them in all; the least recently
   used goes first. */
fc_delta_cache_t *fc_delta_cache_new(size_t max_entries, size_t max_bytes);
void fc_delta_cache_destroy(fc_delta_cache_t **self_p);

/* The delta from object base to object target, if cached: true, with a malloc'd copy in *out /
   *out_len (caller frees), or *out NULL when the delta was not smaller than target (the object
   goes whole). False when not cached or on ENOMEM. */
bool fc_delta_cache_get(fc_delta_cache_t *self, const uint8_t target[FC_HASH_LEN],
                        const uint8_t base[FC_HASH_LEN], uint8_t **out, size_t *out_len);

/* Records the delta from base to target (copied; delta NULL: "send it whole"). A delta larger
   than the whole cache is not kept. */
void fc_delta_cache_put(fc_delta_cache_t *self, const uint8_t target[FC_HASH_LEN],
                        const uint8_t base[FC_HASH_LEN], const uint8_t *delta, size_t len);

/* Counters for the self-test and logs: lookups answered from the cache, and deltas held. */
size_t fc_delta_cache_hits(const fc_delta_cache_t *self);
size_t fc_delta_cache_size(const fc_delta_cache_t *self);

void fc_delta_cache_test(bool verbose);

#endif
