/* fc_relay_cache.h: a relay's fetched blobs as a cache bounded in bytes (--cache-max): the
   least recently used go first, never one an agent asked for within the pin time. */
#ifndef FC_RELAY_CACHE_H
#define FC_RELAY_CACHE_H

#include "fc_hash.h"
#include "fc_store.h"
#include <stdbool.h>
#include <stdint.h>

/* A blob asked for (GET_CHUNK) or fetched within this many seconds is in transfer and stays
   (--cache-pin): an agent downloading it asks for its next chunks well within it. */
#define FC_RELAY_CACHE_PIN_S 60

typedef struct {
    uint8_t blob[FC_HASH_LEN];
    uint64_t size;
    int64_t used;    /* seconds (wall clock): last fetched or asked for */
    int64_t touched; /* when used was last written to the blob file's mtime */
} fc_relay_cache_entry_t;

/* The LRU choice, on its own so it can be tested: moves to the front of entries (n of them)
   the blobs to evict so that the total size is at most max, least recently used first, never
   one used after now - pin_s. Returns how many were moved there; *left gets the total size
   of those not chosen (above max when what is pinned is too much). */
size_t fc_relay_cache_pick(fc_relay_cache_entry_t *entries, size_t n, uint64_t max, int64_t now,
                           int64_t pin_s, uint64_t *left);

typedef struct fc_relay_cache_t fc_relay_cache_t;

/* The cache of store's blobs (borrowed; outlives the cache), bounded by max bytes, pinning
   for pin_s seconds; each blob's last use is rebuilt from its file's mtime. NULL if the
   blobs cannot be listed (*err set). */
fc_relay_cache_t *fc_relay_cache_new(fc_store_t *store, uint64_t max, int64_t pin_s, int *err);
void fc_relay_cache_destroy(fc_relay_cache_t **self_p);
/* Blob (size bytes, complete in the store) was fetched or asked for at now: it becomes the
   most recently used, and the use reaches its file's mtime at most every 30 s. */
void fc_relay_cache_use(fc_relay_cache_t *self, const uint8_t blob[FC_HASH_LEN], uint64_t size,
                        int64_t now);
/* Evicts the least recently used blobs not pinned until the cache is within its bound. When
   what is pinned alone is above it, says so once (until it is within again) and keeps
   serving. quiet: no info lines. Returns how many blobs were evicted. */
size_t fc_relay_cache_trim(fc_relay_cache_t *self, int64_t now, bool quiet);
/* Bytes of the blobs held now; blobs and bytes evicted since start. */
uint64_t fc_relay_cache_bytes(const fc_relay_cache_t *self);
uint64_t fc_relay_cache_evicted(const fc_relay_cache_t *self, uint64_t *bytes);

void fc_relay_cache_test(bool verbose);

#endif
