/* fuzz_manifest_parts.c: fuzz target for manifest format 3's decoders: the first byte picks a page,
 * a chunk list, or a top level (signed with the fixed key) reassembled from no objects. */
#include "fc_envelope.h"
#include "fc_error.h"
#include "fc_fuzz.h"
#include "fc_manifest.h"
#include "fc_manifest_parts.h"
#include "fc_test_check.h"
#include <stdlib.h>

static const uint8_t *s_none(const uint8_t hash[FC_HASH_LEN], size_t *len, void *arg)
{
    (void)hash;
    (void)len;
    (void)arg;
    return NULL;
}

/* Every object is "held", as the input's rest: names never match, so each is refused. */
static const uint8_t *s_rest(const uint8_t hash[FC_HASH_LEN], size_t *len, void *arg)
{
    (void)hash;
    const uint8_t **rest = (const uint8_t **)arg;
    *len = (size_t)(rest[1] - rest[0]);
    return rest[0];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data[0] % 4;
    data++;
    size--;
    if (mode == 0) {
        fc_manifest_t *m = fc_manifest_new();
        const char *prev = NULL;
        uint32_t n = 0;
        int rc = fc_mpage_decode(data, size, m, &prev, &n);
        /* Accepted entries are in strictly increasing path order and at most a page. */
        FC_CHECK(rc != FC_OK ||
                 (n >= 1 && n <= FC_PAGE_MAX_ENTRIES && m->nfiles + m->ndirs + m->nlinks == n));
        fc_manifest_destroy(&m);
        return 0;
    }
    if (mode == 1) {
        fc_file_t f = {0};
        int rc = fc_mchunks_decode(data, size, &f);
        uint64_t off = 0;
        for (uint32_t j = 0; rc == FC_OK && j < f.nchunks; j++) {
            FC_CHECK(f.chunks[j].offset == off);
            off += f.chunks[j].length;
        }
        free(f.chunks);
        return 0;
    }
    fc_signkey_t key;
    fc_fuzz_key(&key);
    size_t len = 0;
    uint8_t *env = fc_envelope_seal(data, size, &key, FC_MAX_MANIFEST, &len);
    if (!env)
        return 0;
    fc_trust_t *trust = fc_fuzz_trust();
    fc_mref_t miss[8];
    size_t nm = 0;
    int err = 0;
    const uint8_t *rest[2] = {data + size / 2, data + size};
    fc_manifest_t *m = fc_manifest_assemble(env, len, trust, mode == 2 ? s_none : s_rest, rest,
                                            miss, 8, &nm, &err);
    if (m) {
        /* Only a release with no pages can be whole without any object. */
        FC_CHECK(err == FC_OK && m->nfiles + m->ndirs + m->nlinks == 0);
        fc_manifest_destroy(&m);
    } else
        FC_CHECK(err != FC_OK && err != FC_EBADSIG && err != FC_EUNTRUSTED && nm <= 8);
    fc_trust_destroy(&trust);
    free(env);
    return 0;
}
