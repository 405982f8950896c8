/* fc_objects.c: the agent's store of format-3 manifest objects: written after checking each
   against its name, read back to rebuild installed and fetched manifests, kept only while a
   release the agent keeps names them. */
#include "fc_objects.h"
#include "fc_envelope.h"
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
    /* The last format-3 manifest read whole, by the hash of its top level: every SYNC poll
       reads the same top, which need not be rebuilt from its objects each time. */
    fc_manifest_t *cached;
    uint8_t cached_id[FC_HASH_LEN];
    zlistx_t *cached_used; /* the hex names of its objects, for keep_only */
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
    fc_manifest_destroy(&(*self_p)->cached);
    zlistx_destroy(&(*self_p)->cached_used);
    free(*self_p);
    *self_p = NULL;
}

static void s_path(const fc_objects_t *self, const uint8_t hash[FC_HASH_LEN], char *out,
                   size_t size)
{
    char hex[2 * FC_HASH_LEN + 1];
    snprintf(out, size, "%s/%s", self->dir, fc_hash_hex(hash, hex));
}

static void s_uncache(fc_objects_t *self)
{
    fc_manifest_destroy(&self->cached);
    zlistx_destroy(&self->cached_used);
}

/* The cached manifest if id names it: its signature checked against trust again (the cache
   was filled under any trust), a copy returned. NULL with *err FC_OK if not cached. */
static fc_manifest_t *s_cache_get(fc_objects_t *self, const uint8_t id[FC_HASH_LEN],
                                  const uint8_t *bytes, size_t len, const fc_trust_t *trust,
                                  zhashx_t *used, int *err)
{
    *err = FC_OK;
    if (!self->cached || !fc_hash_equal(id, self->cached_id))
        return NULL;
    const uint8_t *body;
    size_t body_len;
    uint8_t signer[FC_PUBKEY_LEN];
    if (trust) {
        *err = fc_envelope_open(bytes, len, FC_MAX_MANIFEST, trust, &body, &body_len, signer);
        if (*err)
            return NULL;
    }
    for (const char *hex = (const char *)zlistx_first(self->cached_used); used && hex;
         hex = (const char *)zlistx_next(self->cached_used))
        zhashx_update(used, hex, (void *)1);
    return fc_manifest_dup(self->cached);
}

/* Keeps a copy of m, read whole from the objects named in names (hex keys). */
static void s_cache_put(fc_objects_t *self, const uint8_t id[FC_HASH_LEN], const fc_manifest_t *m,
                        zhashx_t *names)
{
    s_uncache(self);
    self->cached_used = zhashx_keys(names);
    if (!self->cached_used)
        return;
    self->cached = fc_manifest_dup(m);
    memcpy(self->cached_id, id, FC_HASH_LEN);
}

uint8_t *fc_objects_read(fc_objects_t *self, const uint8_t hash[FC_HASH_LEN], size_t *len)
{
    char path[4096];
    s_path(self, hash, path, sizeof path);
    uint8_t *data = fc_read_file(path, FC_MAX_OBJECT + 1, len);
    uint8_t got[FC_HASH_LEN];
    if (data && *len <= FC_MAX_OBJECT) {
        fc_hash_buf(got, data, *len);
        if (fc_hash_equal(got, hash))
            return data;
    }
    free(data);
    return NULL;
}

fc_manifest_t *fc_objects_load(fc_objects_t *self, const uint8_t *bytes, size_t len,
                               const fc_trust_t *trust, fc_mref_t *missing, size_t max,
                               size_t *nmissing, zhashx_t *used, int *err)
{
    if (nmissing)
        *nmissing = 0;
    if (fc_manifest_format_of(bytes, len) != FC_MANIFEST_FORMAT_PARTS)
        return fc_manifest_parse(bytes, len, trust, err);
    uint8_t id[FC_HASH_LEN];
    fc_hash_buf(id, bytes, len);
    fc_manifest_t *m = s_cache_get(self, id, bytes, len, trust, used, err);
    if (m || *err)
        return m;
    size_t n = 0;
    zhashx_t *names = zhashx_new();
    fc_mobj_dir_t d = {self->dir, names, NULL};
    m = fc_manifest_assemble(bytes, len, trust, fc_mobj_dir_get, &d, missing, max, &n, err);
    fc_mobj_dir_done(&d);
    if (m && names)
        s_cache_put(self, id, m, names);
    for (void *it = used && names ? zhashx_first(names) : NULL; it; it = zhashx_next(names))
        zhashx_update(used, zhashx_cursor(names), (void *)1);
    zhashx_destroy(&names);
    if (nmissing)
        *nmissing = n;
    return m;
}

int fc_objects_put(fc_objects_t *self, const uint8_t hash[FC_HASH_LEN], const uint8_t *data,
                   size_t len)
{
    int err = fc_mobj_check(hash, data, len);
    if (err)
        return err;
    char path[4096];
    s_path(self, hash, path, sizeof path);
    return fc_write_file_atomic(path, data, len, 0600);
}

void fc_objects_drop(fc_objects_t *self, const uint8_t hash[FC_HASH_LEN])
{
    char path[4096];
    s_path(self, hash, path, sizeof path);
    unlink(path);
    s_uncache(self); /* the manifest it was part of no longer reads whole from here */
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
    if (removed)
        s_uncache(self);
    if (d)
        closedir(d);
    zhashx_destroy(&used);
    return removed;
}
