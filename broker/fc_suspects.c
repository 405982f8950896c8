/* fc_suspects.c: per-blob and per-key limits on re-reading blobs agents report corrupt. */
#include "fc_suspects.h"
#include "fc_test_check.h"

#include <czmq.h>
#include <string.h>

typedef struct {
    int64_t start;  /* the key's window began then */
    uint32_t count; /* re-reads admitted in it */
} s_key_t;

struct fc_suspects_t {
    int64_t blob_s, key_s;
    uint32_t key_max;
    size_t max_entries;
    zhashx_t *blobs; /* hex -> int64_t * (when last admitted) */
    zhashx_t *keys;  /* key -> s_key_t * */
    uint64_t admitted, refused;
};

static void s_free(void **item)
{
    free(*item);
    *item = NULL;
}

fc_suspects_t *fc_suspects_new(int64_t blob_s, int64_t key_s, uint32_t key_max, size_t max_entries)
{
    fc_suspects_t *self = zmalloc(sizeof *self);
    self->blob_s = blob_s;
    self->key_s = key_s;
    self->key_max = key_max;
    self->max_entries = max_entries;
    self->blobs = zhashx_new();
    self->keys = zhashx_new();
    zhashx_set_destructor(self->blobs, s_free);
    zhashx_set_destructor(self->keys, s_free);
    return self;
}

void fc_suspects_destroy(fc_suspects_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fc_suspects_t *self = *self_p;
    zhashx_destroy(&self->blobs);
    zhashx_destroy(&self->keys);
    free(self);
    *self_p = NULL;
}

/* Forgets the blobs and keys whose windows are over: they limit nothing any more. */
static void s_expire(fc_suspects_t *self, int64_t now)
{
    zlistx_t *gone = zlistx_new();
    for (int64_t *at = zhashx_first(self->blobs); at; at = zhashx_next(self->blobs))
        if (now - *at >= self->blob_s)
            zlistx_add_end(gone, (void *)zhashx_cursor(self->blobs));
    for (const char *k = zlistx_first(gone); k; k = zlistx_next(gone))
        zhashx_delete(self->blobs, k);
    zlistx_purge(gone);
    for (s_key_t *e = zhashx_first(self->keys); e; e = zhashx_next(self->keys))
        if (now - e->start >= self->key_s)
            zlistx_add_end(gone, (void *)zhashx_cursor(self->keys));
    for (const char *k = zlistx_first(gone); k; k = zlistx_next(gone))
        zhashx_delete(self->keys, k);
    zlistx_destroy(&gone);
}

static bool s_room(fc_suspects_t *self, zhashx_t *table, int64_t now)
{
    if (zhashx_size(table) < self->max_entries)
        return true;
    s_expire(self, now);
    return zhashx_size(table) < self->max_entries;
}

fc_suspect_verdict_t fc_suspects_admit(fc_suspects_t *self, const uint8_t blob[FC_HASH_LEN],
                                       const char *key, int64_t now)
{
    char hex[2 * FC_HASH_LEN + 1];
    fc_hash_hex(blob, hex);
    key = key ? key : "";
    fc_suspect_verdict_t verdict = FC_SUSPECT_VERIFY;
    int64_t *at = zhashx_lookup(self->blobs, hex);
    s_key_t *k = zhashx_lookup(self->keys, key);
    if (k && now - k->start >= self->key_s) {
        k->start = now; /* a new window for this key */
        k->count = 0;
    }
    /* The blob limit first: a report naming a blob being re-read anyway costs its key
       nothing. */
    if (at && now - *at < self->blob_s)
        verdict = FC_SUSPECT_RECENT;
    else if (k && k->count >= self->key_max)
        verdict = FC_SUSPECT_KEY_LIMIT;
    else if ((!at && !s_room(self, self->blobs, now)) || (!k && !s_room(self, self->keys, now)))
        verdict = FC_SUSPECT_FULL;
    if (verdict != FC_SUSPECT_VERIFY) {
        self->refused++;
        return verdict;
    }
    /* s_room may have expired (freed) either entry: look again. */
    at = zhashx_lookup(self->blobs, hex);
    if (!at) {
        at = zmalloc(sizeof *at);
        zhashx_insert(self->blobs, hex, at);
    }
    *at = now;
    k = zhashx_lookup(self->keys, key);
    if (!k) {
        k = zmalloc(sizeof *k);
        k->start = now;
        zhashx_insert(self->keys, key, k);
    }
    k->count++;
    self->admitted++;
    return FC_SUSPECT_VERIFY;
}

uint64_t fc_suspects_admitted(const fc_suspects_t *self)
{
    return self->admitted;
}

uint64_t fc_suspects_refused(const fc_suspects_t *self)
{
    return self->refused;
}

const char *fc_suspect_verdict_name(fc_suspect_verdict_t verdict)
{
    switch (verdict) {
    case FC_SUSPECT_VERIFY:
        return "verify";
    case FC_SUSPECT_RECENT:
        return "re-read within the last minute";
    case FC_SUSPECT_KEY_LIMIT:
        return "this key's re-reads for this minute are used";
    case FC_SUSPECT_FULL:
        return "too many blobs or keys reported";
    }
    return "?";
}

/* --- self-test -------------------------------------------------------------------------- */

static void s_blob(uint8_t blob[FC_HASH_LEN], int n)
{
    memset(blob, 0, FC_HASH_LEN);
    blob[0] = (uint8_t)n;
    blob[1] = (uint8_t)(n >> 8);
}

/* Re-reads a burst of reports causes: n reports from key naming blobs first, first+1, ...
   in turn (span of them) at time now. */
static uint64_t s_burst(fc_suspects_t *s, const char *key, int first, int span, int n, int64_t now)
{
    uint64_t before = fc_suspects_admitted(s);
    uint8_t blob[FC_HASH_LEN];
    for (int i = 0; i < n; i++) {
        s_blob(blob, first + i % span);
        fc_suspects_admit(s, blob, key, now);
    }
    return fc_suspects_admitted(s) - before;
}

void fc_suspects_test(bool verbose)
{
    printf(" * fc_suspects: ");
    fc_suspects_t *s = fc_suspects_new(FC_SUSPECT_BLOB_S, FC_SUSPECT_KEY_S, FC_SUSPECT_KEY_MAX, 64);
    uint8_t blob[FC_HASH_LEN];

    /* Per blob: 20 reports naming two blobs in turn re-read each once. */
    FC_CHECK(s_burst(s, "thief", 1, 2, 20, 1000) == 2);
    FC_CHECK(fc_suspects_refused(s) == 18);
    s_blob(blob, 1);
    FC_CHECK(fc_suspects_admit(s, blob, "thief", 1000 + FC_SUSPECT_BLOB_S - 1) ==
             FC_SUSPECT_RECENT);
    /* Another key naming the same blob within the window: still not re-read. */
    FC_CHECK(fc_suspects_admit(s, blob, "honest", 1010) == FC_SUSPECT_RECENT);
    /* Once the blob window is over, it may be re-read again. */
    FC_CHECK(fc_suspects_admit(s, blob, "honest", 1000 + FC_SUSPECT_BLOB_S) == FC_SUSPECT_VERIFY);

    /* Per key: 100 reports naming 100 different blobs re-read key_max of them; the key's
       refusals cost other keys nothing. */
    FC_CHECK(s_burst(s, "spray", 100, 100, 100, 2000) == FC_SUSPECT_KEY_MAX);
    s_blob(blob, 150);
    FC_CHECK(fc_suspects_admit(s, blob, "spray", 2001) == FC_SUSPECT_KEY_LIMIT);
    FC_CHECK(fc_suspects_admit(s, blob, "other", 2001) == FC_SUSPECT_VERIFY);
    /* A new key window gives the key its re-reads back. */
    FC_CHECK(s_burst(s, "spray", 200, 100, 100, 2000 + FC_SUSPECT_KEY_S) == FC_SUSPECT_KEY_MAX);
    /* Insecure peers (no key) share one budget. */
    FC_CHECK(s_burst(s, "", 400, 50, 50, 3000) == FC_SUSPECT_KEY_MAX);
    FC_CHECK(s_burst(s, NULL, 500, 50, 50, 3000) == 0);

    /* Bounded memory: past 64 blobs remembered, new ones wait for old ones to expire. */
    char key[16];
    uint64_t got = 0;
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof key, "k%d", i);
        got += s_burst(s, key, 1000 + i, 1, 1, 4000);
    }
    FC_CHECK(got <= 64);
    s_blob(blob, 5000);
    FC_CHECK(fc_suspects_admit(s, blob, "late", 4001) == FC_SUSPECT_FULL);
    FC_CHECK(fc_suspects_admit(s, blob, "late", 4000 + FC_SUSPECT_BLOB_S + FC_SUSPECT_KEY_S) ==
             FC_SUSPECT_VERIFY);
    FC_CHECK(streq(fc_suspect_verdict_name(FC_SUSPECT_VERIFY), "verify"));
    if (verbose)
        printf("admitted %llu refused %llu ", (unsigned long long)fc_suspects_admitted(s),
               (unsigned long long)fc_suspects_refused(s));
    fc_suspects_destroy(&s);
    fc_suspects_destroy(&s);
    printf("OK\n");
}
