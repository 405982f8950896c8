/* fc_manifest_load.c: one entry point for reading a stored or received manifest, whatever its
   format: formats 1 and 2 whole, format 3 from its top level and objects. */
#include "fc_manifest_load.h"
#include "fc_error.h"
#include "fc_file.h"
#include "fc_hash.h"

#include <stdio.h>
#include <stdlib.h>

fc_manifest_t *fc_manifest_load(const uint8_t *buf, size_t len, const fc_trust_t *trust,
                                fc_mobj_get_fn *get, void *arg, fc_mref_t *missing,
                                bool *have_missing, int *err)
{
    int dummy;
    if (!err)
        err = &dummy;
    if (have_missing)
        *have_missing = false;
    if (fc_manifest_format_of(buf, len) != FC_MANIFEST_FORMAT_PARTS)
        return fc_manifest_parse(buf, len, trust, err);
    fc_mref_t ref;
    size_t n = 0;
    fc_manifest_t *m = fc_manifest_assemble(buf, len, trust, get, arg, &ref, 1, &n, err);
    if (!m && n == 1) {
        if (missing)
            *missing = ref;
        if (have_missing)
            *have_missing = true;
    }
    return m;
}

const uint8_t *fc_mobj_dir_get(const uint8_t hash[FC_HASH_LEN], size_t *len, void *arg)
{
    fc_mobj_dir_t *d = (fc_mobj_dir_t *)arg;
    free(d->last);
    d->last = NULL;
    char hex[2 * FC_HASH_LEN + 1], path[4096];
    fc_hash_hex(hash, hex);
    if (d->used)
        zhashx_update(d->used, hex, (void *)1);
    snprintf(path, sizeof path, "%s/%s", d->dir, hex);
    d->last = fc_read_file(path, FC_MAX_OBJECT + 1, len);
    return d->last;
}

void fc_mobj_dir_done(fc_mobj_dir_t *d)
{
    free(d->last);
    d->last = NULL;
}
