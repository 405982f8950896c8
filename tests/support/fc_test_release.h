/* fc_test_release.h: made-up releases of many files, for self-tests and benchmarks of manifests. */
#ifndef FC_TEST_RELEASE_H
#define FC_TEST_RELEASE_H

#include "fc_manifest.h"
#include <stdint.h>

/* A release (owned; product "demo", channel "stable", version and serial serial) of nfiles
   files "f-NNNNN", mode 0644, each of nchunks chunks of chunk_len bytes whose hashes are made
   up (nothing to fetch): file i's from (i, c), file 0's from (seed, c) instead, so two
   releases of other seeds differ in their first file alone. Aborts without memory. */
fc_manifest_t *fc_test_release(uint32_t nfiles, uint32_t nchunks, uint32_t chunk_len, uint32_t seed,
                               uint64_t serial);

#endif
