/* fc_pollbench.c: the CPU an agent spends per SYNC poll reading a format-3 manifest it already
 * holds from its objects (fc_objects_load, as the session's object check and the follower do). */
#include "fc_error.h"
#include "fc_file.h"
#include "fc_hash.h"
#include "fc_key.h"
#include "fc_manifest_parts.h"
#include "fc_objects.h"
#include "fc_test_release.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double s_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--help") == 0) {
        printf("usage: fleetcast-pollbench [FILES [CHUNKS [POLLS]]]\n"
               "  stores a format-3 release of FILES files (default 1000) of CHUNKS chunks\n"
               "  (default 16) as an agent's objects, then prints the CPU per SYNC poll that\n"
               "  finds it held: the session's check that its objects are whole, then the\n"
               "  follower's trusted reading (POLLS polls, default 50)\n");
        return 0;
    }
    uint32_t nfiles = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 1000;
    uint32_t nchunks = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 16;
    int polls = argc > 3 ? atoi(argv[3]) : 50;
    if (nfiles == 0 || nchunks == 0 || polls <= 0 || fc_crypto_init() != 0) {
        fprintf(stderr, "fleetcast-pollbench: FILES, CHUNKS and POLLS must be above 0\n");
        return 2;
    }
    char dir[] = "/tmp/fleetcast-pollbench.XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    fc_signkey_t key;
    fc_signkey_generate(&key);
    fc_trust_t *trust = fc_trust_new();
    fc_trust_add(trust, key.pk);
    fc_manifest_t *m = fc_test_release(nfiles, nchunks, 65536, 0, 1);
    int err = 0;
    fc_mparts_t *p = fc_mparts_sign(m, &key, &err);
    fc_objects_t *objs = p ? fc_objects_new(dir, &err) : NULL;
    if (!objs) {
        fprintf(stderr, "fleetcast-pollbench: %s\n", fc_strerror(err));
        return 1;
    }
    size_t bytes = 0;
    for (uint32_t i = 0; i < p->nobjs; i++) {
        fc_objects_put(objs, p->objs[i].hash, p->objs[i].data, p->objs[i].len);
        bytes += p->objs[i].len;
    }
    double t0 = s_cpu();
    for (int i = 0; i < polls; i++) {
        fc_mref_t miss;
        size_t n = 0;
        fc_manifest_t *a =
            fc_objects_load(objs, p->top, p->top_len, NULL, &miss, 1, &n, NULL, &err);
        fc_manifest_t *b =
            fc_objects_load(objs, p->top, p->top_len, trust, NULL, 0, NULL, NULL, &err);
        if (!a || !b) {
            fprintf(stderr, "fleetcast-pollbench: the release does not read: %s\n",
                    fc_strerror(err));
            return 1;
        }
        fc_manifest_destroy(&a);
        fc_manifest_destroy(&b);
    }
    double per = (s_cpu() - t0) / polls;
    printf(
        "%u files, %u chunks each: %u objects, %zu bytes; %.3f ms CPU per SYNC poll (%d polls)\n",
        nfiles, nchunks, p->nobjs, bytes, per * 1e3, polls);
    fc_objects_destroy(&objs);
    fc_mparts_destroy(&p);
    fc_manifest_destroy(&m);
    fc_trust_destroy(&trust);
    fc_signkey_wipe(&key);
    if (fc_remove_tree(dir) != 0)
        fprintf(stderr, "fleetcast-pollbench: could not remove %s\n", dir);
    return 0;
}
