/* fc_array.h: growing arrays and binary search in sorted ones. */
#ifndef FC_ARRAY_H
#define FC_ARRAY_H

#include <stdbool.h>
#include <stddef.h>

/* Room for element n of a growing array of size-byte elements whose capacity is *cap: when n
   has reached *cap, reallocs items to twice *cap (16 at first) and updates *cap. Returns the
   array, moved or not, or NULL if out of memory (items and *cap untouched, still the
   caller's). */
void *fc_grow(void *items, size_t n, size_t *cap, size_t size);
/* Binary search for key in base, n elements of size bytes each, in the order cmp sets
   (cmp(key, element) returns <0, 0 or >0, as for bsearch(3)). Returns the index of the
   element equal to key with *found true, or else the index where key would be inserted to
   keep the order, with *found false. */
size_t fc_bsearch(const void *key, const void *base, size_t n, size_t size,
                  int (*cmp)(const void *key, const void *element), bool *found);

void fc_array_test(bool verbose);

#endif
