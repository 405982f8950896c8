/* fc_objdelta_test.c: self-test of the object delta: round trips on chunk-list-like data
   (an overwrite, an insertion, nothing in common, empty sides), its size, and hostile deltas
   (copies outside the base, oversize results, truncated and unknown ops), never a crash. */
#include "fc_error.h"
#include "fc_objdelta.h"
#include "fc_test_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_ENTRY 37 /* a chunk list's entry: a msgpack length and a 32-byte hash, about */

static uint64_t s_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void s_fill(uint8_t *p, size_t n, uint64_t *seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)s_rand(seed);
}

/* Encodes target against base, applies it back, checks the result; returns the delta size. */
static size_t s_round_trip(const uint8_t *base, size_t blen, const uint8_t *target, size_t tlen)
{
    uint8_t *d = NULL, *r = NULL;
    size_t dlen = 0, rlen = 0;
    FC_CHECK(fc_objdelta_encode(base, blen, target, tlen, &d, &dlen) == FC_OK);
    FC_CHECK(dlen <= tlen + 16);
    FC_CHECK(fc_objdelta_apply(base, blen, d, dlen, tlen, &r, &rlen) == FC_OK);
    FC_CHECK(rlen == tlen && (tlen == 0 || memcmp(r, target, tlen) == 0));
    /* one byte fewer allowed than it declares: refused before it is built */
    if (tlen)
        FC_CHECK(fc_objdelta_apply(base, blen, d, dlen, tlen - 1, &r, &rlen) == FC_ETOOBIG);
    free(d);
    free(r);
    return dlen;
}

static int s_apply(const uint8_t *base, size_t blen, const void *d, size_t dlen, size_t max)
{
    uint8_t *r = NULL;
    size_t rlen = 0;
    int rc = fc_objdelta_apply(base, blen, (const uint8_t *)d, dlen, max, &r, &rlen);
    if (rc == FC_OK)
        FC_CHECK(rlen <= max);
    free(r);
    return rc;
}

static void s_test_round_trips(bool verbose)
{
    uint64_t seed = 0x1234567887654321ULL;
    size_t n = 256 * S_ENTRY; /* a 1 MiB file's chunk list, near enough */
    uint8_t *base = malloc(n), *t = malloc(n + 4 * S_ENTRY);
    FC_CHECK(base && t);
    s_fill(base, n, &seed);

    /* one entry overwritten (a 4 KiB change, one chunk): the delta is a few dozen bytes */
    memcpy(t, base, n);
    s_fill(t + 100 * S_ENTRY + 5, 32, &seed);
    size_t d1 = s_round_trip(base, n, t, n);
    FC_CHECK(d1 < 64);
    /* two entries in place of one, near the start (an insertion moved one cut) */
    memcpy(t, base, 3 * S_ENTRY);
    s_fill(t + 3 * S_ENTRY, 2 * S_ENTRY, &seed);
    memcpy(t + 5 * S_ENTRY, base + 4 * S_ENTRY, n - 4 * S_ENTRY);
    size_t d2 = s_round_trip(base, n, t, n + S_ENTRY);
    FC_CHECK(d2 < 2 * S_ENTRY + 32);
    /* nothing in common: about the target's size, never much more */
    s_fill(t, n, &seed);
    size_t d3 = s_round_trip(base, n, t, n);
    FC_CHECK(d3 >= n && d3 <= n + 8);
    /* empty sides, short ones, identical */
    s_round_trip(NULL, 0, t, 100);
    s_round_trip(base, n, NULL, 0);
    s_round_trip(base, 5, t, 5);
    FC_CHECK(s_round_trip(base, n, base, n) < 16);
    if (verbose)
        printf("  objdelta: overwrite %zu B, insertion %zu B, unrelated %zu B of %zu\n", d1, d2, d3,
               n);
    free(base);
    free(t);
}

/* One hand-made delta and what applying it to the 64-byte base 0, 1, ... 63 must give. */
typedef struct {
    const char *why;
    const char *delta; /* NULL: no buffer at all */
    size_t len;
    size_t max;
    int want;
} s_case_t;

static const s_case_t s_cases[] = {
    {"well formed: copy 0..10, literal xy", "\x0c\x01\x00\x0a\x02\x02xy", 8, 100, FC_OK},
    {"an empty result: no ops", "\x00", 1, 100, FC_OK},
    {"copy past the base's end", "\x0a\x01\x3c\x0a", 4, 100, FC_EPROTO},
    {"copy from past the base", "\x0a\x01\x41\x01", 4, 100, FC_EPROTO},
    {"copy length 2^64 - 1", "\x0a\x01\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 13, 100,
     FC_EPROTO},
    {"declared past max", "\xe5\x00\x01\x00\x0a", 5, 100, FC_ETOOBIG},
    {"declared 2^64 - 1", "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 10, 1 << 20, FC_ETOOBIG},
    {"a copy past the declared length", "\x04\x01\x00\x0a", 4, 100, FC_EPROTO},
    {"a literal past the declared length", "\x01\x02\x02xy", 5, 100, FC_EPROTO},
    {"short of the declared length", "\x0b\x01\x00\x0a", 4, 100, FC_EPROTO},
    {"empty", "", 0, 100, FC_EPROTO},
    {"no buffer", NULL, 0, 100, FC_EPROTO},
    {"a copy without its fields", "\x0a\x01", 2, 100, FC_EPROTO},
    {"a copy without its length", "\x0a\x01\x00", 3, 100, FC_EPROTO},
    {"a literal without its bytes", "\x0a\x02\x0axyz", 6, 100, FC_EPROTO},
    {"the length's varint cut", "\x80", 1, 100, FC_EPROTO},
    {"an offset's varint cut", "\x0a\x01\x80", 3, 100, FC_EPROTO},
    {"an 11-byte varint", "\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01", 11, 100, FC_EPROTO},
    {"a copy of length 0", "\x01\x01\x00\x00\x01\x00\x01", 7, 100, FC_EPROTO},
    {"a literal of length 0", "\x01\x02\x00\x01\x00\x01", 6, 100, FC_EPROTO},
    {"op 3", "\x01\x03\x00", 3, 100, FC_EPROTO},
    {"op 0", "\x01\x00", 2, 100, FC_EPROTO},
};

static void s_test_hostile(void)
{
    uint8_t base[64];
    for (size_t i = 0; i < sizeof base; i++)
        base[i] = (uint8_t)i;
    for (size_t c = 0; c < sizeof s_cases / sizeof s_cases[0]; c++) {
        const s_case_t *k = &s_cases[c];
        int rc = s_apply(base, sizeof base, k->delta, k->len, k->max);
        if (rc != k->want)
            fprintf(stderr, "objdelta case \"%s\": %d, not %d\n", k->why, rc, k->want);
        FC_CHECK(rc == k->want);
    }
    /* a copy from an empty base */
    FC_CHECK(s_apply(NULL, 0, "\x01\x01\x00\x01", 4, 100) == FC_EPROTO);

    /* every truncation and many random corruptions of a real delta: a clear answer, no crash
       (run under the sanitizers in CI) */
    uint64_t seed = 99;
    uint8_t b2[4096], t2[4096];
    s_fill(b2, sizeof b2, &seed);
    memcpy(t2, b2, sizeof t2);
    s_fill(t2 + 1000, 40, &seed);
    uint8_t *d = NULL;
    size_t dlen = 0;
    FC_CHECK(fc_objdelta_encode(b2, sizeof b2, t2, sizeof t2, &d, &dlen) == FC_OK);
    for (size_t cut = 0; cut < dlen; cut++)
        FC_CHECK(s_apply(b2, sizeof b2, d, cut, sizeof t2) != FC_OK);
    uint8_t *m = malloc(dlen);
    FC_CHECK(m);
    for (int round = 0; round < 20000; round++) {
        memcpy(m, d, dlen);
        int flips = 1 + (int)(s_rand(&seed) % 4);
        for (int k = 0; k < flips; k++)
            m[s_rand(&seed) % dlen] = (uint8_t)s_rand(&seed);
        (void)s_apply(b2, sizeof b2, m, dlen, sizeof t2);
        (void)s_apply(b2, (size_t)(s_rand(&seed) % sizeof b2), m, dlen, sizeof t2);
    }
    free(m);
    free(d);
}

void fc_objdelta_test(bool verbose)
{
    printf(" * fc_objdelta: ");
    s_test_round_trips(verbose);
    s_test_hostile();
    printf("OK\n");
}
