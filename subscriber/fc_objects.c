/* fc_objects.c: the agent's store of format-3 manifest objects: written after checking each
   against its name, read back to rebuild installed and fetched manifests, kept only while a
   release the agent keeps names them. */
#include "fc_objects.h"
#include "fc_error.h"
#include "fc_file.h"
#include "fc_hash.h"
#include "fc_manifest_load.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct fc_objects_t {
    char *dir;
};

fc_objects_t *fc_objects_new(const char *state_dir, int *err)
{
    fc_objects_t *self = (fc_objects_t *)calloc(1, sizeof *self);
    if (self)
        self->dir = zsys_sprintf("%s/objects", state_dir);
    if (!self || !self->dir) {
        free(self);
        *err = FC_ENOMEM;
        return NULL;
    }
    if (fc_mkdirs(self->dir, 0700) != 0) {
        *err = fc_errno_to_error(errno);
        fc_objects_destroy(&self);
        return NULL;
    }
    *err = FC_OK;
    return self;
}

void fc_objects_destroy(fc_objects_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zstr_free(&(*self_p)->dir);
    free(*self_p);
    *self_p = NULL;
}

static void s_path(const fc_objects_t *self, const uint8_t hash[FC_HASH_LEN], char *out,
                   size_t size)
{
    char hex[2 * FC_HASH_LEN + 1];
    snprintf(out, size, "%s/%s", self->dir, fc_hash_hex(hash, hex));
}

fc_manifest_t *fc_objects_load(fc_objects_t *self, const uint8_t *bytes, size_t len,
                               const fc_trust_t *trust, fc_mref_t *missing, size_t max,
                               size_t *nmissing, zhashx_t *used, int *err)
{
    size_t n = 0;
    fc_manifest_t *m;
    fc_mobj_dir_t d = {self->dir, used, NULL};
    if (fc_manifest_format_of(bytes, len) != FC_MANIFEST_FORMAT_PARTS)
        m = fc_manifest_parse(bytes, len, trust, err);
    else
        m = fc_manifest_assemble(bytes, len, trust, fc_mobj_dir_get, &d, missing, max, &n, err);
    fc_mobj_dir_done(&d);
    if (nmissing)
        *nmissing = n;
    return m;
}

int fc_objects_put(fc_objects_t *self, const uint8_t hash[FC_HASH_LEN], const uint8_t *data,
                   size_t len)
{
    if (len == 0)
        return FC_EPROTO;
    if (len > FC_MAX_OBJECT)
        return FC_ETOOBIG;
    uint8_t got[FC_HASH_LEN];
    fc_hash_buf(got, data, len);
    if (!fc_hash_equal(got, hash))
        return FC_EHASH;
    char path[4096];
    s_path(self, hash, path, sizeof path);
    return fc_write_file_atomic(path, data, len, 0600);
}

void fc_objects_drop(fc_objects_t *self, const uint8_t hash[FC_HASH_LEN])
{
    char path[4096];
    s_path(self, hash, path, sizeof path);
    unlink(path);
}

size_t fc_objects_keep_only(fc_objects_t *self, const uint8_t *const *keep, const size_t *lens,
                            size_t nkeep)
{
    zhashx_t *used = zhashx_new();
    for (size_t i = 0; i < nkeep; i++) {
        if (!keep[i] || fc_manifest_format_of(keep[i], lens[i]) != FC_MANIFEST_FORMAT_PARTS)
            continue;
        int err = 0;
        fc_manifest_t *m = fc_objects_load(self, keep[i], lens[i], NULL, NULL, 0, NULL, used, &err);
        bool whole = m != NULL;
        fc_manifest_destroy(&m);
        if (!whole) { /* a release kept but not whole: remove nothing rather than guess */
            zhashx_destroy(&used);
            return 0;
        }
    }
    size_t removed = 0;
    DIR *d = opendir(self->dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || zhashx_lookup(used, e->d_name))
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", self->dir, e->d_name);
        removed += unlink(path) == 0;
    }
    if (d)
        closedir(d);
    zhashx_destroy(&used);
    return removed;
}
