/* fc_objects_test.c: self-test of fc_objects: objects stored only under their own name and
   bound, a manifest rebuilt from them and read again from the cache, a damaged copy named to
   fetch again, and only the objects of kept releases left after fc_objects_keep_only. */
#include "fc_error.h"
#include "fc_file.h"
#include "fc_hash.h"
#include "fc_key.h"
#include "fc_objects.h"
#include "fc_test_check.h"
#include "fc_test_release.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A signed format-3 release of n one-chunk files; the first file's content depends on seed. */
static fc_mparts_t *s_release(const fc_signkey_t *key, uint32_t n, uint8_t seed, uint64_t serial)
{
    fc_manifest_t *m = fc_test_release(n, 1, 64, seed, serial);
    int err = -1;
    fc_mparts_t *p = fc_mparts_sign(m, key, &err);
    FC_CHECK(p && err == FC_OK);
    fc_manifest_destroy(&m);
    return p;
}

static size_t s_count(const char *dir)
{
    size_t n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

void fc_objects_test(bool verbose)
{
    printf(" * fc_objects: ");
    (void)verbose;
    FC_CHECK(fc_crypto_init() == 0);
    char base[] = "/tmp/fc_objects_test.XXXXXX";
    FC_CHECK(mkdtemp(base));
    int err = -1;
    fc_objects_t *objs = fc_objects_new(base, &err);
    FC_CHECK(objs && err == FC_OK);
    char dir[300];
    snprintf(dir, sizeof dir, "%s/objects", base);
    fc_signkey_t key;
    fc_signkey_generate(&key);
    fc_mparts_t *r1 = s_release(&key, 300, 1, 1), *r2 = s_release(&key, 300, 2, 2),
                *r3 = s_release(&key, 300, 3, 3);

    /* Nothing held: the pages are named first. */
    fc_mref_t miss[512];
    size_t n = 0;
    FC_CHECK(!fc_objects_load(objs, r1->top, r1->top_len, NULL, miss, 512, &n, NULL, &err));
    FC_CHECK(err == FC_ENOTFOUND && n == r1->npages && miss[0].kind == FC_MOBJ_PAGE);
    /* Stored only under its own name, within the bound. */
    const fc_mobj_t *o = &r1->objs[0];
    FC_CHECK(fc_objects_put(objs, r1->objs[1].hash, o->data, o->len) == FC_EHASH);
    FC_CHECK(fc_objects_put(objs, o->hash, o->data, 0) == FC_EPROTO);
    FC_CHECK(fc_objects_put(objs, o->hash, o->data, FC_MAX_OBJECT + 1) == FC_ETOOBIG);
    FC_CHECK(s_count(dir) == 0);
    for (int r = 0; r < 3; r++) {
        fc_mparts_t *p = r == 0 ? r1 : r == 1 ? r2 : r3;
        for (uint32_t i = 0; i < p->nobjs; i++)
            FC_CHECK(fc_objects_put(objs, p->objs[i].hash, p->objs[i].data, p->objs[i].len) ==
                     FC_OK);
    }
    fc_manifest_t *m = fc_objects_load(objs, r1->top, r1->top_len, NULL, miss, 512, &n, NULL, &err);
    FC_CHECK(m && err == FC_OK && n == 0 && m->nfiles == 300 && m->serial == 1);
    fc_manifest_destroy(&m);

    /* Read again (a SYNC poll): from the cache, the same manifest, the same objects named as
       used, the signature still checked against trust. */
    zhashx_t *used1 = zhashx_new(), *used2 = zhashx_new();
    fc_trust_t *trusted = fc_trust_new(), *other = fc_trust_new();
    fc_signkey_t stranger;
    fc_signkey_generate(&stranger);
    fc_trust_add(trusted, key.pk);
    fc_trust_add(other, stranger.pk);
    m = fc_objects_load(objs, r1->top, r1->top_len, NULL, NULL, 0, NULL, used1, &err);
    fc_manifest_t *again =
        fc_objects_load(objs, r1->top, r1->top_len, trusted, NULL, 0, NULL, used2, &err);
    char why[256];
    FC_CHECK(m && again && again != m && fc_manifest_same_entries(m, again, why, sizeof why));
    FC_CHECK(again->serial == 1 && !memcmp(again->signer, key.pk, FC_PUBKEY_LEN));
    FC_CHECK(zhashx_size(used1) == r1->nobjs && zhashx_size(used2) == r1->nobjs);
    fc_manifest_destroy(&again);
    FC_CHECK(!fc_objects_load(objs, r1->top, r1->top_len, other, NULL, 0, NULL, NULL, &err));
    FC_CHECK(err == FC_EUNTRUSTED);
    fc_manifest_destroy(&m);
    zhashx_destroy(&used1);
    zhashx_destroy(&used2);
    fc_trust_destroy(&trusted);
    fc_trust_destroy(&other);

    /* A copy damaged on disk: named to fetch again (FC_EHASH) when read from the objects (an
       agent starting; the manifest cached here was checked whole when read), and fine once
       dropped, which also ends the cache, and put. */
    char path[400], hex[2 * FC_HASH_LEN + 1];
    snprintf(path, sizeof path, "%s/%s", dir, fc_hash_hex(o->hash, hex));
    FC_CHECK(fc_write_file_atomic(path, "\x90", 1, 0600) == 0);
    fc_objects_t *fresh = fc_objects_new(base, &err);
    FC_CHECK(fresh);
    FC_CHECK(!fc_objects_load(fresh, r1->top, r1->top_len, NULL, miss, 512, &n, NULL, &err));
    FC_CHECK(err == FC_EHASH && n == 1 && fc_hash_equal(miss[0].hash, o->hash));
    fc_objects_destroy(&fresh);
    fc_objects_drop(objs, o->hash);
    FC_CHECK(!fc_objects_load(objs, r1->top, r1->top_len, NULL, miss, 512, &n, NULL, &err));
    FC_CHECK(err == FC_ENOTFOUND && n == 1 && fc_hash_equal(miss[0].hash, o->hash));
    FC_CHECK(fc_objects_put(objs, o->hash, o->data, o->len) == FC_OK);

    /* Releases 2 and 3 kept: what only release 1 names goes, what they name stays. */
    size_t before = s_count(dir);
    const uint8_t *keep[3] = {r2->top, r3->top, NULL};
    const size_t lens[3] = {r2->top_len, r3->top_len, 0};
    size_t removed = fc_objects_keep_only(objs, keep, lens, 3);
    FC_CHECK(removed > 0 && s_count(dir) == before - removed);
    /* Release 1 no longer reads whole, though it was the last read (the cache ended too). */
    FC_CHECK(!fc_objects_load(objs, r1->top, r1->top_len, NULL, miss, 512, &n, NULL, &err));
    for (int r = 1; r < 3; r++) {
        fc_mparts_t *p = r == 1 ? r2 : r3;
        m = fc_objects_load(objs, p->top, p->top_len, NULL, miss, 512, &n, NULL, &err);
        FC_CHECK(m && err == FC_OK);
        fc_manifest_destroy(&m);
    }
    /* A kept release not whole: nothing is removed rather than guessed. */
    const uint8_t *all[1] = {r1->top};
    const size_t alen[1] = {r1->top_len};
    FC_CHECK(fc_objects_keep_only(objs, all, alen, 1) == 0);

    fc_signkey_wipe(&stranger);
    fc_mparts_destroy(&r1);
    fc_mparts_destroy(&r2);
    fc_mparts_destroy(&r3);
    fc_objects_destroy(&objs);
    fc_objects_destroy(&objs); /* safe on NULL */
    FC_CHECK(!objs);
    FC_CHECK(fc_remove_tree(base) == 0);
    printf("OK\n");
}
