/* fc_delta_cache.c: a small least-recently-used table of object deltas keyed by (target, base).
   Objects are named by their content, so a cached delta never goes stale; the bound is only
   memory. A linear scan is enough: the table holds tens of entries, and one lookup replaces an
   encode that costs up to 180 ms for an 8 MiB chunk list (docs/BENCHMARKS.md). */
#include "fc_delta_cache.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    uint8_t target[FC_HASH_LEN];
    uint8_t base[FC_HASH_LEN];
    uint8_t *delta; /* NULL: the delta was not smaller; send the object whole */
    size_t len;
    uint64_t used; /* tick of the last get or put */
    bool busy;
} s_entry_t;

struct fc_delta_cache_t {
    s_entry_t *entries;
    size_t max_entries;
    size_t max_bytes;
    size_t bytes;
    uint64_t tick;
    size_t hits;
};

fc_delta_cache_t *fc_delta_cache_new(size_t max_entries, size_t max_bytes)
{
    fc_delta_cache_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->entries = calloc(max_entries ? max_entries : 1, sizeof *self->entries);
    if (!self->entries) {
        free(self);
        return NULL;
    }
    self->max_entries = max_entries ? max_entries : 1;
    self->max_bytes = max_bytes;
    return self;
}

static void s_drop(fc_delta_cache_t *self, s_entry_t *e)
{
    self->bytes -= e->len;
    free(e->delta);
    memset(e, 0, sizeof *e);
}

void fc_delta_cache_destroy(fc_delta_cache_t **self_p)
{
    fc_delta_cache_t *self = self_p ? *self_p : NULL;
    if (!self)
        return;
    for (size_t i = 0; i < self->max_entries; i++)
        free(self->entries[i].delta);
    free(self->entries);
    free(self);
    *self_p = NULL;
}

static s_entry_t *s_find(fc_delta_cache_t *self, const uint8_t *target, const uint8_t *base)
{
    for (size_t i = 0; i < self->max_entries; i++) {
        s_entry_t *e = &self->entries[i];
        if (e->busy && fc_hash_equal(e->target, target) && fc_hash_equal(e->base, base))
            return e;
    }
    return NULL;
}

bool fc_delta_cache_get(fc_delta_cache_t *self, const uint8_t target[FC_HASH_LEN],
                        const uint8_t base[FC_HASH_LEN], uint8_t **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    s_entry_t *e = self ? s_find(self, target, base) : NULL;
    if (!e)
        return false;
    if (e->delta) {
        *out = malloc(e->len);
        if (!*out)
            return false;
        memcpy(*out, e->delta, e->len);
        *out_len = e->len;
    }
    e->used = ++self->tick;
    self->hits++;
    return true;
}

/* The least recently used entry, or a free one. */
static s_entry_t *s_victim(fc_delta_cache_t *self)
{
    s_entry_t *victim = NULL;
    for (size_t i = 0; i < self->max_entries; i++) {
        s_entry_t *e = &self->entries[i];
        if (!e->busy)
            return e;
        if (!victim || e->used < victim->used)
            victim = e;
    }
    return victim;
}

void fc_delta_cache_put(fc_delta_cache_t *self, const uint8_t target[FC_HASH_LEN],
                        const uint8_t base[FC_HASH_LEN], const uint8_t *delta, size_t len)
{
    if (!self || (delta && len > self->max_bytes))
        return;
    s_entry_t *e = s_find(self, target, base);
    if (e)
        s_drop(self, e);
    uint8_t *copy = NULL;
    if (delta) {
        copy = malloc(len ? len : 1);
        if (!copy)
            return;
        memcpy(copy, delta, len);
    } else
        len = 0;
    /* Make room: by bytes first, then a slot. */
    while (self->bytes + len > self->max_bytes) {
        s_entry_t *v = NULL;
        for (size_t i = 0; i < self->max_entries; i++) {
            s_entry_t *c = &self->entries[i];
            if (c->busy && c->len && (!v || c->used < v->used))
                v = c;
        }
        s_drop(self, v); /* bytes > 0 means some entry holds them */
    }
    e = s_victim(self);
    if (e->busy)
        s_drop(self, e);
    memcpy(e->target, target, FC_HASH_LEN);
    memcpy(e->base, base, FC_HASH_LEN);
    e->delta = copy;
    e->len = len;
    e->used = ++self->tick;
    e->busy = true;
    self->bytes += len;
}

size_t fc_delta_cache_hits(const fc_delta_cache_t *self)
{
    return self ? self->hits : 0;
}

size_t fc_delta_cache_size(const fc_delta_cache_t *self)
{
    size_t n = 0;
    for (size_t i = 0; self && i < self->max_entries; i++)
        n += self->entries[i].busy;
    return n;
}
