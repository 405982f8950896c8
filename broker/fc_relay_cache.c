/* fc_relay_cache.c: a relay's fetched blobs as a cache bounded in bytes (--cache-max): the
   least recently used go first, never one in transfer. Only blobs are cache: manifests,
   objects and partial fetches (incoming/) are never evicted here. */
#include "fc_relay_cache.h"
#include "fc_error.h"
#include "fc_file.h"
#include "fc_store_cache.h"
#include "fc_store_testdb.h"
#include "fc_test_blob.h"
#include "fc_test_check.h"
#include "fc_text.h"

#include <stdlib.h>
#include <string.h>

/* A blob's last use reaches its file's mtime at most this often: a use per GET_CHUNK would
   cost a syscall per chunk, and a restart losing under this much of the order is harmless. */
#define S_TOUCH_S 30

struct fc_relay_cache_t {
    fc_store_t *store;
    uint64_t max;
    int64_t pin_s;
    zhashx_t *entries; /* blob hex -> fc_relay_cache_entry_t */
    uint64_t bytes;
    uint64_t evicted, evicted_bytes;
    bool over_said; /* "over the bound, all in transfer" was logged; reset once within */
};

static int s_by_use(const void *a, const void *b)
{
    const fc_relay_cache_entry_t *x = a, *y = b;
    if (x->used != y->used)
        return x->used < y->used ? -1 : 1;
    return memcmp(x->blob, y->blob, FC_HASH_LEN); /* one order whatever the input's */
}

size_t fc_relay_cache_pick(fc_relay_cache_entry_t *entries, size_t n, uint64_t max, int64_t now,
                           int64_t pin_s, uint64_t *left)
{
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += entries[i].size;
    if (n)
        qsort(entries, n, sizeof *entries, s_by_use);
    size_t chosen = 0;
    for (size_t i = 0; i < n && total > max; i++) {
        if (entries[i].used > now - pin_s)
            break; /* sorted: every one after it is more recent, pinned too */
        total -= entries[i].size;
        chosen++;
    }
    *left = total;
    return chosen;
}

static void s_entry_put(fc_relay_cache_t *self, const uint8_t blob[FC_HASH_LEN], uint64_t size,
                        int64_t used, int64_t touched)
{
    char hex[2 * FC_HASH_LEN + 1];
    fc_hash_hex(blob, hex);
    fc_relay_cache_entry_t *e = zhashx_lookup(self->entries, hex);
    if (!e) {
        e = zmalloc(sizeof *e);
        memcpy(e->blob, blob, FC_HASH_LEN);
        zhashx_insert(self->entries, hex, e);
    } else
        self->bytes -= e->size;
    e->size = size;
    e->used = used;
    e->touched = touched;
    self->bytes += size;
}

/* fc_store_blob_seen_fn: the blobs found at start, last used when their file was written or
   last touched. */
static void s_seen(void *arg, const uint8_t blob[FC_HASH_LEN], uint64_t size, int64_t mtime)
{
    s_entry_put((fc_relay_cache_t *)arg, blob, size, mtime, mtime);
}

static void s_entry_free(void **item)
{
    free(*item);
    *item = NULL;
}

fc_relay_cache_t *fc_relay_cache_new(fc_store_t *store, uint64_t max, int64_t pin_s, int *err)
{
    fc_relay_cache_t *self = zmalloc(sizeof *self);
    self->store = store;
    self->max = max;
    self->pin_s = pin_s;
    self->entries = zhashx_new();
    zhashx_set_destructor(self->entries, s_entry_free);
    *err = fc_store_blob_scan(store, s_seen, self);
    if (*err)
        fc_relay_cache_destroy(&self);
    return self;
}

void fc_relay_cache_destroy(fc_relay_cache_t **self_p)
{
    if (!*self_p)
        return;
    zhashx_destroy(&(*self_p)->entries);
    free(*self_p);
    *self_p = NULL;
}

void fc_relay_cache_use(fc_relay_cache_t *self, const uint8_t blob[FC_HASH_LEN], uint64_t size,
                        int64_t now)
{
    char hex[2 * FC_HASH_LEN + 1];
    fc_relay_cache_entry_t *e = zhashx_lookup(self->entries, fc_hash_hex(blob, hex));
    int64_t touched = e ? e->touched : 0;
    if (now - touched >= S_TOUCH_S && fc_store_blob_touch(self->store, blob, now) == FC_OK)
        touched = now;
    s_entry_put(self, blob, size, now, touched);
}

size_t fc_relay_cache_trim(fc_relay_cache_t *self, int64_t now, bool quiet)
{
    if (self->bytes <= self->max) {
        self->over_said = false;
        return 0;
    }
    size_t n = zhashx_size(self->entries), i = 0;
    fc_relay_cache_entry_t *list = malloc(n * sizeof *list);
    if (!list)
        return 0; /* tried again at the next tick */
    for (fc_relay_cache_entry_t *e = zhashx_first(self->entries); e && i < n;
         e = zhashx_next(self->entries))
        list[i++] = *e;
    uint64_t left = 0;
    size_t chosen = fc_relay_cache_pick(list, i, self->max, now, self->pin_s, &left);
    size_t evicted = 0;
    for (size_t k = 0; k < chosen; k++) {
        char hex[2 * FC_HASH_LEN + 1], size[32];
        fc_hash_hex(list[k].blob, hex);
        uint64_t bytes = 0;
        int err = fc_store_blob_evict(self->store, list[k].blob, &bytes);
        if (err) {
            zsys_warning("fleetcast-broker: relay cache: cannot evict blob %s: %s", hex,
                         fc_strerror(err));
            continue;
        }
        fc_relay_cache_entry_t *e = zhashx_lookup(self->entries, hex);
        if (e) {
            self->bytes -= e->size;
            zhashx_delete(self->entries, hex);
        }
        self->evicted++;
        self->evicted_bytes += bytes;
        evicted++;
        if (!quiet)
            zsys_info("fleetcast-broker: relay cache: blob %s (%s) evicted, last used %llds ago; "
                      "fetched again when an agent asks",
                      hex, fc_format_bytes(size, sizeof size, list[k].size),
                      (long long)(now - list[k].used));
    }
    free(list);
    if (self->bytes > self->max && !self->over_said) {
        char have[32], max[32];
        zsys_warning("fleetcast-broker: relay cache: %s held, above --cache-max %s, and every "
                     "blob left was asked for within %llds (in transfer): serving on, evicting "
                     "as transfers end",
                     fc_format_bytes(have, sizeof have, self->bytes),
                     fc_format_bytes(max, sizeof max, self->max), (long long)self->pin_s);
        self->over_said = true;
    } else if (self->bytes <= self->max)
        self->over_said = false;
    return evicted;
}

uint64_t fc_relay_cache_bytes(const fc_relay_cache_t *self)
{
    return self->bytes;
}

uint64_t fc_relay_cache_evicted(const fc_relay_cache_t *self, uint64_t *bytes)
{
    if (bytes)
        *bytes = self->evicted_bytes;
    return self->evicted;
}

/* --- self-test -------------------------------------------------------------------------- */

static void s_entry(fc_relay_cache_entry_t *e, uint8_t id, uint64_t size, int64_t used)
{
    memset(e, 0, sizeof *e);
    e->blob[0] = id;
    e->size = size;
    e->used = used;
}

void fc_relay_cache_test(bool verbose)
{
    if (verbose)
        printf(" * fc_relay_cache: ");
    fc_relay_cache_entry_t e[5];
    uint64_t left = 0;
    /* Within the bound: nothing. */
    s_entry(&e[0], 1, 100, 10);
    s_entry(&e[1], 2, 100, 20);
    FC_CHECK(fc_relay_cache_pick(e, 2, 200, 1000, 60, &left) == 0 && left == 200);
    /* Least recently used first, only as many as needed. */
    s_entry(&e[0], 1, 100, 30);
    s_entry(&e[1], 2, 100, 10);
    s_entry(&e[2], 3, 100, 20);
    s_entry(&e[3], 4, 100, 40);
    FC_CHECK(fc_relay_cache_pick(e, 4, 250, 1000, 60, &left) == 2 && left == 200);
    FC_CHECK(e[0].blob[0] == 2 && e[1].blob[0] == 3);
    /* A big recent blob over the bound pushes out older small ones, not itself. */
    s_entry(&e[0], 1, 50, 10);
    s_entry(&e[1], 2, 50, 20);
    s_entry(&e[2], 3, 300, 990);
    FC_CHECK(fc_relay_cache_pick(e, 3, 300, 1000, 60, &left) == 2 && left == 300);
    FC_CHECK(e[2].blob[0] == 3);
    /* Pinned (used within pin_s of now): kept even over the bound; the rest still go. */
    s_entry(&e[0], 1, 100, 950);
    s_entry(&e[1], 2, 100, 960);
    s_entry(&e[2], 3, 100, 100);
    FC_CHECK(fc_relay_cache_pick(e, 3, 50, 1000, 60, &left) == 1 && left == 200);
    FC_CHECK(e[0].blob[0] == 3);
    /* At the pin's edge: used exactly pin_s ago is no longer pinned. */
    s_entry(&e[0], 1, 100, 940);
    FC_CHECK(fc_relay_cache_pick(e, 1, 0, 1000, 60, &left) == 1 && left == 0);
    /* Same time: an order that does not depend on the input's. */
    s_entry(&e[0], 9, 100, 5);
    s_entry(&e[1], 7, 100, 5);
    FC_CHECK(fc_relay_cache_pick(e, 2, 100, 1000, 60, &left) == 1 && e[0].blob[0] == 7);
    /* Empty. */
    FC_CHECK(fc_relay_cache_pick(e, 0, 0, 1000, 60, &left) == 0 && left == 0);

    /* Over a store: rebuilt from the files at start, evicted from disk, a use keeps one. */
    char dir[] = "/tmp/fc_relay_cache_test.XXXXXX";
    FC_CHECK(mkdtemp(dir));
    int err = 0;
    fc_store_t *store = fc_store_testdb_new(dir, &err, NULL, 0);
    FC_CHECK(store);
    uint8_t data[3][1000], blobs[3][FC_HASH_LEN];
    for (int i = 0; i < 3; i++) {
        memset(data[i], 'a' + i, sizeof data[i]);
        fc_test_blob_id(blobs[i], data[i], sizeof data[i]);
        FC_CHECK(fc_store_put_blob(store, blobs[i], data[i], sizeof data[i]) == FC_OK);
        FC_CHECK(fc_store_blob_touch(store, blobs[i], 1000 + i) == FC_OK);
    }
    fc_relay_cache_t *cache = fc_relay_cache_new(store, 2000, 60, &err);
    FC_CHECK(cache && fc_relay_cache_bytes(cache) == 3000);
    /* Blob 0 is the oldest on disk; a use now pins it, so 1 goes. */
    fc_relay_cache_use(cache, blobs[0], 1000, 5000);
    FC_CHECK(fc_relay_cache_trim(cache, 5000, true) == 1);
    uint64_t size = 0, bytes = 0;
    FC_CHECK(fc_store_blob_size(store, blobs[1], &size) == FC_ENOTFOUND);
    FC_CHECK(fc_store_blob_size(store, blobs[0], &size) == FC_OK);
    FC_CHECK(fc_relay_cache_bytes(cache) == 2000 && fc_relay_cache_evicted(cache, &bytes) == 1);
    FC_CHECK(bytes == 1000);
    /* Everything pinned and over: nothing goes, and it keeps serving. */
    fc_relay_cache_use(cache, blobs[2], 1000, 5001);
    fc_relay_cache_destroy(&cache);
    cache = fc_relay_cache_new(store, 500, 60, &err);
    FC_CHECK(cache && fc_relay_cache_bytes(cache) == 2000);
    /* The use of blob 0 reached its mtime: rebuilt, it is still the recent one. */
    FC_CHECK(fc_relay_cache_trim(cache, 5030, true) == 0);
    FC_CHECK(fc_relay_cache_trim(cache, 6000, true) == 2 && fc_relay_cache_bytes(cache) == 0);
    fc_relay_cache_destroy(&cache);
    fc_relay_cache_destroy(&cache); /* safe on NULL */
    fc_store_destroy(&store);
    fc_remove_tree(dir);
    if (verbose)
        printf("OK\n");
}
