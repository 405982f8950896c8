/* fc_test_release.c: made-up releases of many files, for self-tests and benchmarks of manifests. */
#include "fc_test_release.h"
#include "fc_hash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

fc_manifest_t *fc_test_release(uint32_t nfiles, uint32_t nchunks, uint32_t chunk_len, uint32_t seed,
                               uint64_t serial)
{
    fc_manifest_t *m = fc_manifest_new();
    snprintf(m->product, sizeof m->product, "demo");
    snprintf(m->channel, sizeof m->channel, "stable");
    snprintf(m->version, sizeof m->version, "%llu", (unsigned long long)serial);
    m->serial = serial;
    m->files = (fc_file_t *)calloc(nfiles ? nfiles : 1, sizeof *m->files);
    uint8_t(*hashes)[FC_HASH_LEN] = calloc(nchunks ? nchunks : 1, FC_HASH_LEN);
    if (!m->files || !hashes)
        abort();
    for (uint32_t i = 0; i < nfiles; i++) {
        fc_file_t *f = &m->files[m->nfiles++];
        char path[32];
        snprintf(path, sizeof path, "f-%05u", i);
        f->path = strdup(path);
        f->mode = 0644;
        f->nchunks = nchunks;
        f->size = (uint64_t)nchunks * chunk_len;
        f->chunks = (fc_chunk_t *)calloc(nchunks ? nchunks : 1, sizeof *f->chunks);
        if (!f->path || !f->chunks)
            abort();
        for (uint32_t c = 0; c < nchunks; c++) {
            uint32_t from[2] = {i == 0 ? seed : i + 0x10000u, c};
            fc_hash_buf(hashes[c], from, sizeof from);
            f->chunks[c] = (fc_chunk_t){(uint64_t)c * chunk_len, chunk_len, {0}};
            memcpy(f->chunks[c].hash, hashes[c], FC_HASH_LEN);
        }
        fc_hash_of_chunks(f->hash, (const uint8_t(*)[FC_HASH_LEN])hashes, nchunks);
    }
    free(hashes);
    return m;
}
