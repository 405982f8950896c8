/* fc_manifestbench.c: manifest bytes an update from tree OLD to tree NEW costs, format 2 (the whole
 * manifest) against format 3 (the new top and the objects OLD's release lacks). */
#include "fc_error.h"
#include "fc_hash.h"
#include "fc_key.h"
#include "fc_manifest.h"
#include "fc_manifest_parts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static fc_manifest_t *s_scan(const char *dir, uint64_t serial)
{
    fc_manifest_t *m = fc_manifest_new();
    strcpy(m->product, "bench");
    strcpy(m->channel, "bench");
    snprintf(m->version, sizeof m->version, "%llu", (unsigned long long)serial);
    m->serial = serial;
    char bad[1200] = "";
    int rc = fc_manifest_scan_tree(m, dir, NULL, NULL, NULL, bad, sizeof bad);
    if (rc != FC_OK) {
        fprintf(stderr, "fleetcast-manifestbench: %s: %s: %s\n", dir, bad, fc_strerror(rc));
        exit(1);
    }
    return m;
}

static uint64_t s_chunks(const fc_manifest_t *m)
{
    uint64_t n = 0;
    for (uint32_t i = 0; i < m->nfiles; i++)
        n += m->files[i].nchunks;
    return n;
}

int main(int argc, char **argv)
{
    if (argc != 3 || strcmp(argv[1], "--help") == 0) {
        fprintf(stderr, "usage: fleetcast-manifestbench OLD_DIR NEW_DIR\n"
                        "  scans both trees (content-defined chunks) and prints the manifest\n"
                        "  bytes an agent holding OLD's release needs for NEW's: format 2\n"
                        "  (the whole signed manifest) and format 3 (the signed top and the\n"
                        "  pages and chunk lists OLD's release lacks)\n");
        return argc == 2 ? 0 : 2;
    }
    if (fc_crypto_init() != 0)
        return 1;
    fc_signkey_t key;
    fc_signkey_generate(&key);
    fc_manifest_t *a = s_scan(argv[1], 1), *b = s_scan(argv[2], 2);
    size_t v2 = 0;
    uint8_t *whole = fc_manifest_sign(b, &key, &v2);
    int err = 0;
    fc_mparts_t *pa = fc_mparts_sign(a, &key, &err);
    fc_mparts_t *pb = pa ? fc_mparts_sign(b, &key, &err) : NULL;
    if (!whole || !pb) {
        fprintf(stderr, "fleetcast-manifestbench: cannot sign: %s\n", fc_strerror(err));
        return 1;
    }
    size_t all = pb->top_len, cost = pb->top_len, pages = 0, lists = 0;
    for (uint32_t i = 0; i < pb->nobjs; i++) {
        all += pb->objs[i].len;
        if (fc_mparts_find(pa, pb->objs[i].hash))
            continue;
        cost += pb->objs[i].len;
        if (pb->objs[i].kind == FC_MOBJ_PAGE)
            pages++;
        else
            lists++;
    }
    printf("new release: %u entries, %llu chunks, %llu bytes of files\n",
           b->nfiles + b->ndirs + b->nlinks, (unsigned long long)s_chunks(b),
           (unsigned long long)fc_manifest_total_size(b));
    printf("format 2: %zu bytes of manifest per update\n", v2);
    printf("format 3: %zu bytes in all (top %zu, %u pages, %u objects); an update from the old "
           "release: %zu bytes (top, %zu pages, %zu chunk lists)\n",
           all, pb->top_len, pb->npages, pb->nobjs, cost, pages, lists);
    free(whole);
    fc_mparts_destroy(&pa);
    fc_mparts_destroy(&pb);
    fc_manifest_destroy(&a);
    fc_manifest_destroy(&b);
    fc_signkey_wipe(&key);
    return 0;
}
