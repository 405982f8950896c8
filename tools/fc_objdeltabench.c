/* fc_objdeltabench.c: what encoding and applying an object delta costs for chunk lists of a
   given number of chunks with one chunk changed: the CPU an OBJECT_DELTA costs the broker's
   loop (why the broker caches encoded deltas, broker/fc_delta_cache.c). */
#include "fc_error.h"
#include "fc_limits.h"
#include "fc_objdelta.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* One entry of a chunk list as format 3 writes it: fixarray, u32 length, bin8 hash. */
#define S_ENTRY 40

static double s_ms(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) * 1e3 + (double)(b->tv_nsec - a->tv_nsec) / 1e6;
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        printf("usage: fleetcast-objdeltabench CHUNKS...\n"
               "For each number of chunks, a chunk list of that many entries (random hashes)\n"
               "and the same list with the middle entry changed: prints the delta's size and\n"
               "the milliseconds one encode and one apply take (median of 9).\n");
        return argc < 2 ? 2 : 0;
    }
    if (sodium_init() < 0)
        return 1;
    printf("%10s %12s %10s %12s %12s\n", "chunks", "list bytes", "delta", "encode ms", "apply ms");
    for (int a = 1; a < argc; a++) {
        size_t n = strtoul(argv[a], NULL, 10);
        size_t len = n * S_ENTRY;
        if (n == 0 || len > FC_MAX_OBJECT) {
            fprintf(stderr, "fleetcast-objdeltabench: %s: 1 to %u chunks\n", argv[a],
                    FC_MAX_OBJECT / S_ENTRY);
            return 2;
        }
        uint8_t *base = malloc(len), *target = malloc(len);
        if (!base || !target)
            return 1;
        randombytes_buf(base, len);
        memcpy(target, base, len);
        randombytes_buf(target + (n / 2) * S_ENTRY + 8, 32);
        double enc[9], app[9];
        size_t dlen = 0;
        for (int i = 0; i < 9; i++) {
            uint8_t *delta = NULL, *out = NULL;
            size_t out_len = 0;
            struct timespec t0, t1, t2;
            clock_gettime(CLOCK_MONOTONIC, &t0);
            if (fc_objdelta_encode(base, len, target, len, &delta, &dlen) != FC_OK)
                return 1;
            clock_gettime(CLOCK_MONOTONIC, &t1);
            if (fc_objdelta_apply(base, len, delta, dlen, FC_MAX_OBJECT, &out, &out_len) != FC_OK ||
                out_len != len || memcmp(out, target, len))
                return 1;
            clock_gettime(CLOCK_MONOTONIC, &t2);
            enc[i] = s_ms(&t0, &t1);
            app[i] = s_ms(&t1, &t2);
            free(delta);
            free(out);
        }
        /* Median: sort the nine. */
        for (int i = 0; i < 9; i++)
            for (int j = i + 1; j < 9; j++) {
                if (enc[j] < enc[i]) {
                    double t = enc[i];
                    enc[i] = enc[j];
                    enc[j] = t;
                }
                if (app[j] < app[i]) {
                    double t = app[i];
                    app[i] = app[j];
                    app[j] = t;
                }
            }
        printf("%10zu %12zu %10zu %12.3f %12.3f\n", n, len, dlen, enc[4], app[4]);
        free(base);
        free(target);
    }
    return 0;
}
