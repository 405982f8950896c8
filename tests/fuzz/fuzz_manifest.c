/* fuzz_manifest.c: fuzz target for the manifest body parser: the input is signed with the
   fixed key as a body, so every input reaches the parser past the signature. */
#include "fc_envelope.h"
#include "fc_error.h"
#include "fc_fuzz.h"
#include "fc_manifest.h"
#include "fc_test_check.h"
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fc_signkey_t key;
    fc_fuzz_key(&key);
    size_t len = 0;
    uint8_t *env = fc_envelope_seal(data, size, &key, FC_MAX_MANIFEST, &len);
    if (!env)
        return 0;
    fc_trust_t *trust = fc_fuzz_trust();
    int err = 0;
    fc_manifest_t *m = fc_manifest_parse(env, len, trust, &err);
    if (m) {
        /* An accepted manifest is usable: sums, lookups and re-signing work on it. */
        (void)fc_manifest_total_size(m);
        for (uint32_t i = 0; i < m->nfiles; i++)
            FC_CHECK(fc_manifest_find(m, m->files[i].path) == &m->files[i]);
        for (uint32_t i = 0; i < m->ndirs; i++)
            FC_CHECK(fc_manifest_find_dir(m, m->dirs[i].path) == &m->dirs[i]);
        for (uint32_t i = 0; i < m->nlinks; i++)
            FC_CHECK(fc_manifest_find_link(m, m->links[i].path) == &m->links[i] &&
                     (m->links[i].external ||
                      fc_link_target_inside(m->links[i].path, m->links[i].target)));
        size_t relen = 0;
        uint8_t *again = fc_manifest_sign(m, &key, &relen);
        FC_CHECK(again);
        fc_manifest_t *back = fc_manifest_parse(again, relen, trust, &err);
        FC_CHECK(back && back->nfiles == m->nfiles && back->serial == m->serial);
        FC_CHECK(back->ndirs == m->ndirs && back->nlinks == m->nlinks);
        fc_manifest_destroy(&back);
        free(again);
        fc_manifest_destroy(&m);
    } else
        FC_CHECK(err != FC_OK && err != FC_EBADSIG && err != FC_EUNTRUSTED);
    fc_trust_destroy(&trust);
    free(env);
    return 0;
}
