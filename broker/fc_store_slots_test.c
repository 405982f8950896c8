/* fc_store_slots_test.c: self-test of restart slots in the database: two stores opened on one
   database (two brokers sharing it) count the same slots. With slots in one broker's memory
   (fc_config_service.c before this file) each broker granted its own share: the checks
   marked "through the other store" failed. */
#include "fc_error.h"
#include "fc_file.h"
#include "fc_store_slots.h"
#include "fc_store_testdb.h"
#include "fc_test_check.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define S_TTL 1000
#define S_RACE_IDS 40
#define S_RACE_LIMIT 5

static bool s_take(fc_store_t *store, uint64_t rev, const char *id, const char *key, size_t limit,
                   int64_t now)
{
    bool granted = true;
    FC_CHECK(fc_store_slot_take(store, rev, id, key, limit, 2, S_TTL, now, &granted) == FC_OK);
    return granted;
}

typedef struct {
    fc_store_t *store;
    char prefix;
    size_t granted;
} s_racer_t;

/* Asks for a slot of revision 9 for S_RACE_IDS ids of its own. */
static void *s_race(void *arg)
{
    s_racer_t *r = arg;
    for (int i = 0; i < S_RACE_IDS; i++) {
        char id[16];
        snprintf(id, sizeof id, "%c%d", r->prefix, i);
        bool granted = false;
        if (fc_store_slot_take(r->store, 9, id, NULL, S_RACE_LIMIT, 2, 60000, 5000, &granted) ==
                FC_OK &&
            granted)
            r->granted++;
    }
    return NULL;
}

void fc_store_slots_test(bool verbose)
{
    if (verbose)
        printf(" * fc_store_slots: ");
    char dir[] = "/tmp/fc_store_slots_test_XXXXXX";
    FC_CHECK(mkdtemp(dir) != NULL);
    int err = FC_OK;
    /* Two brokers on one database: for SQLite two connections to one file. */
    fc_store_t *a = fc_store_testdb_new(dir, &err, NULL, 0);
    fc_store_t *b = fc_store_testdb_new(dir, &err, NULL, 0);
    FC_CHECK(a && b);

    /* The share: limit 2 of revision 1, whichever store asks. */
    FC_CHECK(s_take(a, 1, "a1", NULL, 2, 1000));
    FC_CHECK(s_take(b, 1, "a2", NULL, 2, 1000));
    FC_CHECK(!s_take(b, 1, "a3", NULL, 2, 1000)); /* through the other store */
    FC_CHECK(!s_take(a, 1, "a3", NULL, 2, 1000));
    FC_CHECK(s_take(b, 1, "a1", NULL, 2, 1100)); /* re-sent elsewhere: keeps its slot */
    FC_CHECK(s_take(a, 2, "a3", NULL, 1, 1000)); /* another revision has a share of its own */
    /* Released through one store, free through the other. */
    FC_CHECK(fc_store_slot_release(b, 1, "a1") == FC_OK);
    FC_CHECK(fc_store_slot_release(b, 1, "a1") == FC_OK); /* twice: nothing held, fine */
    FC_CHECK(s_take(a, 1, "a3", NULL, 2, 1200));
    FC_CHECK(!s_take(b, 1, "a1", NULL, 2, 1200));
    /* Expiry after the TTL from the first grant (a2 at 1000; a re-sent request would not
       have moved it): at 1999 it holds, at 2000 it is gone. a3's grant at 1200 holds. */
    FC_CHECK(!s_take(b, 1, "a4", NULL, 2, 1999));
    FC_CHECK(s_take(b, 1, "a4", NULL, 2, 2000));
    FC_CHECK(!s_take(a, 1, "a5", NULL, 2, 2100));

    /* One key: one slot of a revision, at most per_key_max (2) in all, across stores. */
    const char *k = "0123456789012345678901234567890123456789";
    FC_CHECK(s_take(a, 5, "k1", k, 100, 5000));
    FC_CHECK(!s_take(b, 5, "k2", k, 100, 5000)); /* through the other store */
    FC_CHECK(s_take(b, 5, "k1", k, 100, 5000));  /* its own slot, again */
    FC_CHECK(s_take(b, 5, "other", "another-key", 100, 5000));
    FC_CHECK(s_take(b, 6, "k2", k, 100, 5000));
    FC_CHECK(!s_take(a, 7, "k3", k, 100, 5000)); /* the key holds 2 */
    FC_CHECK(s_take(a, 7, "n1", "", 100, 5000)); /* no key: the share alone holds it back */
    FC_CHECK(s_take(a, 7, "n2", NULL, 100, 5000));
    FC_CHECK(fc_store_slot_release(a, 6, "k2") == FC_OK);
    FC_CHECK(s_take(b, 7, "k3", k, 100, 5000));

    /* Bad ids are refused, nothing granted. */
    bool granted = true;
    FC_CHECK(fc_store_slot_take(a, 5, "../x", NULL, 100, 2, S_TTL, 5000, &granted) == FC_EINVAL);
    FC_CHECK(!granted);
    FC_CHECK(fc_store_slot_release(a, 5, "") == FC_EINVAL);
    FC_CHECK(s_take(a, UINT64_MAX, "big", NULL, 1, 5000)); /* past INT64_MAX: clamped, held */
    FC_CHECK(!s_take(b, UINT64_MAX, "big2", NULL, 1, 5000));

    /* Racing: two stores, each on its own thread, asking at once for ids of their own; the
       transaction makes count and grant one step, so exactly the limit is granted. */
    s_racer_t ra = {a, 'x', 0}, rb = {b, 'y', 0};
    pthread_t ta, tb;
    FC_CHECK(pthread_create(&ta, NULL, s_race, &ra) == 0);
    FC_CHECK(pthread_create(&tb, NULL, s_race, &rb) == 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    FC_CHECK(ra.granted + rb.granted == S_RACE_LIMIT);

    /* Slots outlive a store: a broker restarted finds them held. */
    fc_store_destroy(&a);
    a = fc_store_testdb_new(dir, &err, NULL, 0);
    FC_CHECK(a);
    FC_CHECK(!s_take(a, 5, "a6", NULL, 2, 5000)); /* k1 and other hold revision 5 */
    fc_store_destroy(&a);
    fc_store_destroy(&b);
    FC_CHECK(fc_remove_tree(dir) == 0);
    if (verbose)
        printf("OK\n");
}
