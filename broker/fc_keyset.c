/* fc_keyset.c: the enrolled agent keys as relays read them: sorted, with a serial, paged. */
#include "fc_keyset.h"
#include "fc_curve.h"
#include "fc_file.h"
#include "fc_hash.h"
#include "fc_test_check.h"

#include <czmq.h>
#include <string.h>

struct fc_keyset_t {
    char **keys; /* sorted Z85, FC_MSG_KEY_Z85_LEN each */
    size_t n;
    uint64_t serial;
    uint64_t scans; /* fc_keyring_scans when taken */
    bool taken;
};

static void s_free_keys(fc_keyset_t *self)
{
    for (size_t i = 0; i < self->n; i++)
        free(self->keys[i]);
    free(self->keys);
    self->keys = NULL;
    self->n = 0;
}

uint64_t fc_keyset_serial_of(char *const *keys, size_t n)
{
    /* Keys are fixed-length, so their concatenation names the set unambiguously. */
    char *all = zmalloc(n * FC_MSG_KEY_Z85_LEN + 1);
    for (size_t i = 0; i < n; i++)
        memcpy(all + i * FC_MSG_KEY_Z85_LEN, keys[i], FC_MSG_KEY_Z85_LEN);
    uint8_t h[FC_HASH_LEN];
    fc_hash_buf(h, all, n * FC_MSG_KEY_Z85_LEN);
    free(all);
    uint64_t serial = 0;
    for (int i = 0; i < 8; i++)
        serial = serial << 8 | h[i];
    return serial ? serial : 1;
}

fc_keyset_t *fc_keyset_new(void)
{
    fc_keyset_t *self = zmalloc(sizeof *self);
    self->serial = fc_keyset_serial_of(NULL, 0);
    return self;
}

void fc_keyset_destroy(fc_keyset_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    s_free_keys(*self_p);
    free(*self_p);
    *self_p = NULL;
}

bool fc_keyset_update(fc_keyset_t *self, fc_keyring_t *keyring)
{
    uint64_t scans = fc_keyring_scans(keyring);
    if (self->taken && scans == self->scans)
        return false;
    self->taken = true;
    self->scans = scans;
    s_free_keys(self);
    size_t n = 0;
    char **keys = fc_keyring_keys(keyring, FC_ROLE_AGENT, &n);
    /* Only what a relay can take: a Z85 key is 40 characters (zauth's User-Id). */
    self->keys = keys;
    for (size_t i = 0; i < n; i++)
        if (strlen(keys[i]) == FC_MSG_KEY_Z85_LEN)
            keys[self->n++] = keys[i];
        else
            free(keys[i]);
    uint64_t before = self->serial;
    self->serial = fc_keyset_serial_of(self->keys, self->n);
    return self->serial != before;
}

uint64_t fc_keyset_serial(const fc_keyset_t *self)
{
    return self->serial;
}

size_t fc_keyset_size(const fc_keyset_t *self)
{
    return self->n;
}

fc_msg_t *fc_keyset_page(const fc_keyset_t *self, const char *cursor, size_t max)
{
    if (max == 0 || max > FC_MAX_LIST)
        max = FC_MAX_LIST;
    fc_msg_t *reply = fc_msg_new(FC_MSG_RELAY_KEYS_REPLY);
    reply->serial = self->serial;
    /* The first key after the cursor: binary search over the sorted keys. */
    size_t lo = 0, hi = self->n;
    while (cursor && *cursor && lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(self->keys[mid], cursor) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t i = lo;
    for (; i < self->n && fc_msg_relay_key_count(reply) < max; i++)
        fc_msg_relay_key_add(reply, self->keys[i]);
    reply->more = i < self->n;
    return reply;
}

fc_msg_t *fc_keyset_announce(const fc_keyset_t *self)
{
    fc_msg_t *k = fc_msg_new(FC_MSG_RELAY_KEYS_REPLY);
    k->serial = self->serial;
    return k;
}

void fc_keyset_test(bool verbose)
{
    printf(" * fc_keyset: ");
    char dir[] = "/tmp/fc_keyset_test.XXXXXX";
    FC_CHECK(mkdtemp(dir));
    char keys[256], path[PATH_MAX];
    snprintf(keys, sizeof keys, "%s/keys", dir);
    fc_keyring_t *ring = fc_keyring_new(keys);
    fc_keyset_t *set = fc_keyset_new();
    uint64_t empty = fc_keyset_serial(set);
    FC_CHECK(empty != 0);
    FC_CHECK(!fc_keyset_update(set, ring) && fc_keyset_size(set) == 0);

    /* Five agent keys and a publisher key: only the agents are listed, sorted. */
    char z85[5][FC_CURVE_Z85_LEN + 1], hex[65];
    for (int i = 0; i < 5; i++) {
        snprintf(path, sizeof path, "%s/a%d.cert", dir, i);
        FC_CHECK(fc_curve_generate(path, false, z85[i]) == 0);
        fc_curve_key_hex(z85[i], hex);
        snprintf(path, sizeof path, "%s/agents/%s.cert", keys, hex);
        FC_CHECK(fc_curve_save_public(z85[i], path) == 0);
    }
    char publ[FC_CURVE_Z85_LEN + 1];
    snprintf(path, sizeof path, "%s/p.cert", dir);
    FC_CHECK(fc_curve_generate(path, false, publ) == 0);
    snprintf(path, sizeof path, "%s/publishers/p.cert", keys);
    FC_CHECK(fc_curve_save_public(publ, path) == 0);
    fc_keyring_refresh(ring, true);
    FC_CHECK(fc_keyset_update(set, ring) && fc_keyset_size(set) == 5);
    uint64_t five = fc_keyset_serial(set);
    FC_CHECK(five != empty && five != 0);
    FC_CHECK(!fc_keyset_update(set, ring)); /* nothing re-read */

    /* Pages of two: 2 + 2 + 1, each after the last key of the one before, all in order. */
    char cursor[FC_MSG_KEY_Z85_LEN + 1] = "", prev[FC_MSG_KEY_Z85_LEN + 1] = "";
    size_t seen = 0;
    bool more = true;
    while (more) {
        fc_msg_t *page = fc_keyset_page(set, cursor, 2);
        FC_CHECK(page->type == FC_MSG_RELAY_KEYS_REPLY && page->serial == five);
        size_t n = fc_msg_relay_key_count(page);
        FC_CHECK(n >= 1 && n <= 2);
        for (size_t i = 0; i < n; i++) {
            char k[FC_MSG_KEY_Z85_LEN + 1];
            fc_msg_relay_key_get(page, i, k);
            FC_CHECK(strcmp(prev, k) < 0 && !streq(k, publ));
            snprintf(prev, sizeof prev, "%s", k);
            seen++;
        }
        snprintf(cursor, sizeof cursor, "%s", prev);
        more = page->more;
        /* It encodes: the codec's own rules hold for what the broker sends. */
        zmsg_t *wire = fc_msg_encode(page);
        FC_CHECK(wire);
        zmsg_destroy(&wire);
        fc_msg_destroy(&page);
    }
    FC_CHECK(seen == 5);
    fc_msg_t *k = fc_keyset_announce(set);
    FC_CHECK(k->serial == five && fc_msg_relay_key_count(k) == 0);
    fc_msg_destroy(&k);

    /* A revocation changes the serial; enrolling the key again brings the old one back. */
    fc_curve_key_hex(z85[2], hex);
    snprintf(path, sizeof path, "%s/agents/%s.cert", keys, hex);
    FC_CHECK(unlink(path) == 0);
    fc_keyring_refresh(ring, true);
    FC_CHECK(fc_keyset_update(set, ring) && fc_keyset_size(set) == 4);
    FC_CHECK(fc_keyset_serial(set) != five);
    FC_CHECK(fc_curve_save_public(z85[2], path) == 0);
    fc_keyring_refresh(ring, true);
    FC_CHECK(fc_keyset_update(set, ring) && fc_keyset_serial(set) == five);

    fc_keyset_destroy(&set);
    fc_keyset_destroy(&set);
    fc_keyring_destroy(&ring);
    fc_remove_tree(dir);
    if (verbose)
        printf("(serial %016llx) ", (unsigned long long)five);
    printf("OK\n");
}
