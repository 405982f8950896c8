/* fc_delta_cache_test.c: self-test of the delta cache: a delta put is got back byte for byte
   under its (target, base) and no other pair, "send whole" is remembered, the least recently
   used entry goes first when the entries or the bytes run out, and a delta larger than the
   cache is not kept. */
#include "fc_delta_cache.h"
#include "fc_test_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void s_name(uint8_t h[FC_HASH_LEN], int n)
{
    memset(h, 0, FC_HASH_LEN);
    h[0] = (uint8_t)n;
    h[1] = (uint8_t)(n >> 8);
}

static bool s_has(fc_delta_cache_t *c, int target, int base)
{
    uint8_t t[FC_HASH_LEN], b[FC_HASH_LEN], *out;
    size_t len;
    s_name(t, target);
    s_name(b, base);
    bool hit = fc_delta_cache_get(c, t, b, &out, &len);
    free(out);
    return hit;
}

static void s_put(fc_delta_cache_t *c, int target, int base, size_t len)
{
    uint8_t t[FC_HASH_LEN], b[FC_HASH_LEN];
    s_name(t, target);
    s_name(b, base);
    uint8_t *d = malloc(len);
    FC_CHECK(d);
    memset(d, target, len);
    fc_delta_cache_put(c, t, b, d, len);
    free(d);
}

void fc_delta_cache_test(bool verbose)
{
    if (verbose)
        printf(" * fc_delta_cache: ");
    uint8_t t[FC_HASH_LEN], b[FC_HASH_LEN], *out;
    size_t len;

    fc_delta_cache_t *c = fc_delta_cache_new(3, 100);
    FC_CHECK(c);
    FC_CHECK(!s_has(c, 1, 2));

    /* Got back byte for byte, under its pair only. */
    s_put(c, 1, 2, 10);
    s_name(t, 1);
    s_name(b, 2);
    FC_CHECK(fc_delta_cache_get(c, t, b, &out, &len));
    FC_CHECK(len == 10 && out[0] == 1 && out[9] == 1);
    free(out);
    FC_CHECK(!s_has(c, 2, 1));
    FC_CHECK(!s_has(c, 1, 3));
    FC_CHECK(fc_delta_cache_hits(c) == 1);

    /* "Send whole" is an answer too. */
    s_name(t, 4);
    fc_delta_cache_put(c, t, b, NULL, 0);
    FC_CHECK(fc_delta_cache_get(c, t, b, &out, &len));
    FC_CHECK(out == NULL && len == 0);

    /* Out of entries: the least recently used (5->2 put, never got) goes. */
    s_put(c, 5, 2, 10);
    FC_CHECK(s_has(c, 1, 2));
    FC_CHECK(s_has(c, 4, 2));
    s_put(c, 6, 2, 10);
    FC_CHECK(!s_has(c, 5, 2));
    FC_CHECK(s_has(c, 1, 2) && s_has(c, 4, 2) && s_has(c, 6, 2));
    FC_CHECK(fc_delta_cache_size(c) == 3);

    /* Out of bytes: 85 more bytes pass the 100 the cache may hold, so the least recently used
       entry holding bytes (1->2; "whole" holds none) goes, and its slot takes the new one. */
    FC_CHECK(s_has(c, 6, 2)); /* 6 now newer than 1 */
    s_put(c, 7, 2, 85);
    FC_CHECK(!s_has(c, 1, 2));
    FC_CHECK(s_has(c, 7, 2));

    /* Too large for the whole cache: not kept, and nothing else lost for it. */
    s_put(c, 8, 2, 101);
    FC_CHECK(!s_has(c, 8, 2));
    FC_CHECK(s_has(c, 7, 2));

    /* The same pair put again replaces its delta. */
    s_put(c, 7, 2, 5);
    s_name(t, 7);
    FC_CHECK(fc_delta_cache_get(c, t, b, &out, &len));
    FC_CHECK(len == 5 && out[0] == 7);
    free(out);

    fc_delta_cache_destroy(&c);
    FC_CHECK(c == NULL);
    fc_delta_cache_destroy(&c);
    if (verbose)
        printf("OK\n");
}
