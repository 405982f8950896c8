/* fc_array.c: growing arrays and binary search in sorted ones. */
#include "fc_array.h"
#include "fc_test_check.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

void *fc_grow(void *items, size_t n, size_t *cap, size_t size)
{
    if (n < *cap)
        return items;
    size_t ncap = *cap ? *cap * 2 : 16;
    if (size == 0 || ncap > SIZE_MAX / size)
        return NULL;
    void *bigger = realloc(items, ncap * size);
    if (bigger)
        *cap = ncap;
    return bigger;
}

size_t fc_bsearch(const void *key, const void *base, size_t n, size_t size,
                  int (*cmp)(const void *key, const void *element), bool *found)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp(key, (const char *)base + mid * size);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c > 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

static int s_int_cmp(const void *key, const void *element)
{
    int a = *(const int *)key, b = *(const int *)element;
    return (a > b) - (a < b);
}

void fc_array_test(bool verbose)
{
    (void)verbose;
    printf(" * fc_array: ");
    /* grow: doubles from 16 only when full; a failure leaves the array and capacity alone. */
    size_t cap = 0;
    int *grown = fc_grow(NULL, 0, &cap, sizeof(int));
    FC_CHECK(grown && cap == 16);
    grown[15] = 7;
    FC_CHECK(fc_grow(grown, 15, &cap, sizeof(int)) == grown && cap == 16);
    grown = fc_grow(grown, 16, &cap, sizeof(int));
    FC_CHECK(grown && cap == 32 && grown[15] == 7);
    FC_CHECK(fc_grow(grown, 32, &cap, SIZE_MAX / 32) == NULL && cap == 32);
    free(grown);

    /* bsearch: hits, and where misses would go (front, between, end, empty array). */
    const int sorted[] = {10, 20, 30, 40, 50};
    bool found = false;
    for (size_t i = 0; i < 5; i++) {
        FC_CHECK(fc_bsearch(&sorted[i], sorted, 5, sizeof(int), s_int_cmp, &found) == i && found);
        int between = sorted[i] + 5;
        FC_CHECK(fc_bsearch(&between, sorted, 5, sizeof(int), s_int_cmp, &found) == i + 1);
        FC_CHECK(!found);
    }
    int small = 1;
    FC_CHECK(fc_bsearch(&small, sorted, 5, sizeof(int), s_int_cmp, &found) == 0 && !found);
    found = true;
    FC_CHECK(fc_bsearch(&small, NULL, 0, sizeof(int), s_int_cmp, &found) == 0 && !found);
    printf("OK\n");
}
