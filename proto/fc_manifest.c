/* fc_manifest.c: the signed release manifest: validate, encode and sign, parse and verify. */
#define _GNU_SOURCE /* strverscmp */
#include "fc_manifest.h"
#include "fc_envelope.h"
#include "fc_error.h"
#include "fc_hash.h"
#include "fc_manifest_priv.h"
#include "fc_mpack.h"
#include "fc_test_check.h"

#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Format 1: [format, product, channel, version, min_version, serial, mandatory, created,
   chunk_size, files]; format 2: the same without chunk_size, with entries for files. */
#define S_BODY_FIELDS_1 10
#define S_BODY_FIELDS_2 9
#define S_FILE_FIELDS_1 5
/* body -> entries -> entry -> chunks -> chunk: five levels (the envelope is fc_envelope's). */
#define S_BODY_DEPTH 5
/* Entry kinds of format 2: a kind a reader does not know is malformed, so a new kind comes
   with a new format number (and old readers say "upgrade", FC_EFORMAT, never misread). */
enum { S_KIND_FILE = 0, S_KIND_DIR = 1, S_KIND_LINK = 2 };
/* [kind, path, mtime_sec, mtime_nsec, ...]: file mode size hash chunks; dir mode; link
   target external. */
#define S_FILE_FIELDS_2 8
#define S_DIR_FIELDS_2 5
#define S_LINK_FIELDS_2 6
/* Smallest encoding of a chunk entry [length, bin(32)]: a bound for the chunk count. */
#define S_MIN_CHUNK_BYTES 36

fc_manifest_t *fc_manifest_new(void)
{
    fc_manifest_t *self = calloc(1, sizeof *self);
    if (!self)
        abort(); /* like CZMQ: out of memory is not recoverable here */
    self->format = FC_MANIFEST_FORMAT;
    return self;
}

static void s_free_entries(fc_manifest_t *self)
{
    for (uint32_t i = 0; self->files && i < self->nfiles; i++) {
        free(self->files[i].path);
        free(self->files[i].chunks);
    }
    free(self->files);
    self->files = NULL;
    self->nfiles = 0;
    for (uint32_t i = 0; self->dirs && i < self->ndirs; i++)
        free(self->dirs[i].path);
    free(self->dirs);
    self->dirs = NULL;
    self->ndirs = 0;
    for (uint32_t i = 0; self->links && i < self->nlinks; i++) {
        free(self->links[i].path);
        free(self->links[i].target);
    }
    free(self->links);
    self->links = NULL;
    self->nlinks = 0;
}

void fc_manifest_destroy(fc_manifest_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    s_free_entries(*self_p);
    free(*self_p);
    *self_p = NULL;
}

/* n elements of size bytes from src, or NULL for none; aborts without memory. */
static void *s_copy(const void *src, size_t n, size_t size)
{
    if (n == 0 || !src)
        return NULL;
    void *p = malloc(n * size);
    if (!p)
        abort();
    return memcpy(p, src, n * size);
}

static char *s_strdup(const char *s)
{
    return s ? (char *)s_copy(s, strlen(s) + 1, 1) : NULL;
}

fc_manifest_t *fc_manifest_dup(const fc_manifest_t *self)
{
    fc_manifest_t *m = fc_manifest_new();
    *m = *self;
    m->files = (fc_file_t *)s_copy(self->files, self->nfiles, sizeof *self->files);
    for (uint32_t i = 0; i < m->nfiles; i++) {
        m->files[i].path = s_strdup(self->files[i].path);
        m->files[i].chunks =
            (fc_chunk_t *)s_copy(self->files[i].chunks, self->files[i].nchunks, sizeof(fc_chunk_t));
    }
    m->dirs = (fc_dir_t *)s_copy(self->dirs, self->ndirs, sizeof *self->dirs);
    for (uint32_t i = 0; i < m->ndirs; i++)
        m->dirs[i].path = s_strdup(self->dirs[i].path);
    m->links = (fc_link_t *)s_copy(self->links, self->nlinks, sizeof *self->links);
    for (uint32_t i = 0; i < m->nlinks; i++) {
        m->links[i].path = s_strdup(self->links[i].path);
        m->links[i].target = s_strdup(self->links[i].target);
    }
    return m;
}

uint64_t fc_manifest_total_size(const fc_manifest_t *self)
{
    uint64_t total = 0;
    for (uint32_t i = 0; i < self->nfiles; i++)
        total += self->files[i].size;
    return total;
}

/* Every entry struct starts with its path, so one comparison serves all three arrays. */
static int s_path_cmp(const void *key, const void *elem)
{
    return strcmp((const char *)key, *(char *const *)elem);
}

const fc_file_t *fc_manifest_find(const fc_manifest_t *self, const char *path)
{
    if (!self || !path || self->nfiles == 0)
        return NULL;
    return bsearch(path, self->files, self->nfiles, sizeof(fc_file_t), s_path_cmp);
}

const fc_dir_t *fc_manifest_find_dir(const fc_manifest_t *self, const char *path)
{
    if (!self || !path || self->ndirs == 0)
        return NULL;
    return bsearch(path, self->dirs, self->ndirs, sizeof(fc_dir_t), s_path_cmp);
}

const fc_link_t *fc_manifest_find_link(const fc_manifest_t *self, const char *path)
{
    if (!self || !path || self->nlinks == 0)
        return NULL;
    return bsearch(path, self->links, self->nlinks, sizeof(fc_link_t), s_path_cmp);
}

static char *s_strdup_or_die(const char *s)
{
    char *copy = strdup(s ? s : "");
    if (!copy)
        abort();
    return copy;
}

fc_dir_t *fc_manifest_add_dir(fc_manifest_t *self, const char *path, uint32_t mode,
                              fc_mtime_t mtime)
{
    fc_dir_t *nd = realloc(self->dirs, (self->ndirs + 1) * sizeof *nd);
    if (!nd)
        abort();
    self->dirs = nd;
    fc_dir_t *d = &self->dirs[self->ndirs++];
    *d = (fc_dir_t){s_strdup_or_die(path), mode, mtime};
    return d;
}

fc_link_t *fc_manifest_add_link(fc_manifest_t *self, const char *path, const char *target,
                                fc_mtime_t mtime, bool external)
{
    fc_link_t *nl = realloc(self->links, (self->nlinks + 1) * sizeof *nl);
    if (!nl)
        abort();
    self->links = nl;
    fc_link_t *l = &self->links[self->nlinks++];
    *l = (fc_link_t){s_strdup_or_die(path), s_strdup_or_die(target), mtime, external};
    return l;
}

bool fc_path_valid(const char *path)
{
    if (!path)
        return false;
    size_t len = strnlen(path, FC_MAX_PATH + 1);
    if (len == 0 || len > FC_MAX_PATH || path[0] == '/')
        return false;
    const char *comp = path;
    for (size_t i = 0; i <= len; i++) {
        unsigned char c = (unsigned char)path[i];
        if (c == '/' || c == '\0') {
            size_t clen = (size_t)(path + i - comp);
            /* Empty ("a//b", "a/"), "." and ".." components would let two paths name one
               file, or a path escape the release directory. */
            if (clen == 0 || (clen == 1 && comp[0] == '.') ||
                (clen == 2 && comp[0] == '.' && comp[1] == '.'))
                return false;
            comp = path + i + 1;
        } else if (c == '\\' || c < 0x20 || c == 0x7f)
            return false;
    }
    return true;
}

/* A link target is text the kernel resolves, so only its size and characters are bounded
   here; whether it stays inside is fc_link_target_inside's question. */
static bool s_target_valid(const char *target)
{
    if (!target)
        return false;
    size_t len = strnlen(target, FC_MAX_PATH + 1);
    if (len == 0 || len > FC_MAX_PATH)
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)target[i] < 0x20 || (unsigned char)target[i] == 0x7f)
            return false;
    return true;
}

bool fc_link_target_inside(const char *path, const char *target)
{
    if (!path || !target || target[0] == '\0' || target[0] == '/')
        return false;
    size_t depth = 0;
    for (const char *s = path; *s; s++)
        depth += *s == '/';
    size_t ups = 0;
    bool descending = false;
    const char *comp = target;
    for (const char *p = target;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        size_t clen = (size_t)(p - comp);
        bool dotdot = clen == 2 && comp[0] == '.' && comp[1] == '.';
        if (clen == 0 || (clen == 1 && comp[0] == '.'))
            return false; /* "a//b", "a/", "./a": not canonical */
        if (dotdot) {
            /* ".." after a plain component could climb out of a directory reached through
               another link ("s/../.." with s -> .): only leading ones, over real dirs. */
            if (descending || ++ups > depth)
                return false;
        } else
            descending = true;
        if (*p == '\0')
            break;
        comp = p + 1;
    }
    return true;
}

bool fc_name_valid(const char *name)
{
    if (!name)
        return false;
    size_t len = strnlen(name, FC_MAX_NAME + 1);
    if (len == 0 || len > FC_MAX_NAME)
        return false;
    /* A version names a directory under releases/: "." and ".." must never be one. */
    if (!strcmp(name, ".") || !strcmp(name, ".."))
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '+' || c == '-'))
            return false;
    }
    return true;
}

int fc_version_cmp(const char *a, const char *b)
{
    int rc = strverscmp(a, b);
    return rc < 0 ? -1 : rc > 0 ? 1 : 0;
}

/* True if some entry lies below a file or a link ("a" a file or link and "a/b" any entry):
   such a release cannot be installed, and an entry below a link would be written wherever
   the link points. */
static bool s_below_non_dir(const fc_manifest_t *self, const char *path)
{
    char prefix[FC_MAX_PATH + 1];
    for (const char *s = strchr(path, '/'); s; s = strchr(s + 1, '/')) {
        size_t n = (size_t)(s - path);
        memcpy(prefix, path, n);
        prefix[n] = '\0';
        if (fc_manifest_find(self, prefix) || fc_manifest_find_link(self, prefix))
            return true;
    }
    return false;
}

static bool s_mtime_valid(fc_mtime_t t)
{
    return t.nsec < 1000000000u;
}

/* Path rules shared by every kind: valid, strictly after the previous entry of the same
   array (sorted, unique). Returns fc_error_t. */
static int s_check_path(const char *path, const char *prev)
{
    if (!fc_path_valid(path))
        return FC_EPATH;
    if (prev && strcmp(prev, path) >= 0)
        return FC_EPROTO;
    return FC_OK;
}

/* A file's chunk list: contiguous from 0, each 1..FC_MAX_CHUNK long, covering size exactly;
   the file hash that of the chunk hashes. hashes is scratch space (grown as needed). */
static int s_check_chunks(const fc_file_t *f, uint8_t (**hashes)[FC_HASH_LEN], uint32_t *cap)
{
    if (f->size > FC_MAX_FILE_SIZE)
        return FC_ETOOBIG;
    if (f->nchunks > 0 && !f->chunks)
        return FC_EPROTO;
    if (f->nchunks > *cap) {
        void *nh = realloc(*hashes, (size_t)f->nchunks * FC_HASH_LEN);
        if (!nh)
            return FC_ENOMEM;
        *hashes = nh;
        *cap = f->nchunks;
    }
    uint64_t offset = 0;
    for (uint32_t j = 0; j < f->nchunks; j++) {
        const fc_chunk_t *c = &f->chunks[j];
        if (c->offset != offset || c->length == 0 || c->length > FC_MAX_CHUNK ||
            c->length > f->size - offset)
            return FC_EPROTO;
        offset += c->length;
        memcpy((*hashes)[j], c->hash, FC_HASH_LEN);
    }
    if (offset != f->size)
        return FC_EPROTO;
    uint8_t h[FC_HASH_LEN];
    fc_hash_of_chunks(h, (const uint8_t(*)[FC_HASH_LEN]) * hashes, f->nchunks);
    return fc_hash_equal(h, f->hash) ? FC_OK : FC_EHASH;
}

/* Every semantic rule of section 5 of PROTOCOL.md, on a decoded or hand-filled manifest.
   Shared by parse and sign, so a signed manifest always parses. Returns fc_error_t. */
int fc_manifest_check(const fc_manifest_t *self)
{
    if (!fc_name_valid(self->product) || !fc_name_valid(self->channel) ||
        !fc_name_valid(self->version) ||
        (self->min_version[0] && !fc_name_valid(self->min_version)))
        return FC_EPROTO;
    if ((uint64_t)self->nfiles + self->ndirs + self->nlinks > FC_MAX_FILES)
        return FC_ETOOBIG;
    if ((self->nfiles > 0 && !self->files) || (self->ndirs > 0 && !self->dirs) ||
        (self->nlinks > 0 && !self->links))
        return FC_EINVAL;
    uint8_t(*hashes)[FC_HASH_LEN] = NULL;
    uint32_t hashes_cap = 0;
    int rc = FC_OK;
    for (uint32_t i = 0; rc == FC_OK && i < self->nfiles; i++) {
        const fc_file_t *f = &self->files[i];
        rc = s_check_path(f->path, i > 0 ? self->files[i - 1].path : NULL);
        if (rc == FC_OK && ((f->mode & ~0777u) || !s_mtime_valid(f->mtime)))
            rc = FC_EPROTO; /* no setuid, setgid or sticky bits from the network */
        if (rc == FC_OK)
            rc = s_check_chunks(f, &hashes, &hashes_cap);
    }
    free(hashes);
    for (uint32_t i = 0; rc == FC_OK && i < self->ndirs; i++) {
        const fc_dir_t *d = &self->dirs[i];
        rc = s_check_path(d->path, i > 0 ? self->dirs[i - 1].path : NULL);
        if (rc == FC_OK && ((d->mode & ~0777u) || !s_mtime_valid(d->mtime)))
            rc = FC_EPROTO;
        if (rc == FC_OK && fc_manifest_find(self, d->path))
            rc = FC_EPROTO; /* one path, two entries */
    }
    for (uint32_t i = 0; rc == FC_OK && i < self->nlinks; i++) {
        const fc_link_t *l = &self->links[i];
        rc = s_check_path(l->path, i > 0 ? self->links[i - 1].path : NULL);
        if (rc == FC_OK && (!s_target_valid(l->target) || !s_mtime_valid(l->mtime)))
            rc = FC_EPROTO;
        if (rc == FC_OK && (fc_manifest_find(self, l->path) || fc_manifest_find_dir(self, l->path)))
            rc = FC_EPROTO;
        /* An escaping link is the publisher operator's explicit choice, marked as such. */
        if (rc == FC_OK && !l->external && !fc_link_target_inside(l->path, l->target))
            rc = FC_EPATH;
    }
    for (uint32_t i = 0; rc == FC_OK && i < self->nfiles; i++)
        if (s_below_non_dir(self, self->files[i].path))
            rc = FC_EPATH;
    for (uint32_t i = 0; rc == FC_OK && i < self->ndirs; i++)
        if (s_below_non_dir(self, self->dirs[i].path))
            rc = FC_EPATH;
    for (uint32_t i = 0; rc == FC_OK && i < self->nlinks; i++)
        if (s_below_non_dir(self, self->links[i].path))
            rc = FC_EPATH;
    return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* Encoding and signing */

int fc_manifest_pack_mtime(msgpack_packer *pk, fc_mtime_t t)
{
    return msgpack_pack_int64(pk, t.sec) | msgpack_pack_uint32(pk, t.nsec);
}

static int s_pack_file(msgpack_packer *pk, const fc_file_t *f)
{
    int rc = msgpack_pack_array(pk, S_FILE_FIELDS_2);
    rc |= msgpack_pack_uint32(pk, S_KIND_FILE);
    rc |= fc_mpack_pack_str(pk, f->path ? f->path : "");
    rc |= fc_manifest_pack_mtime(pk, f->mtime);
    rc |= msgpack_pack_uint32(pk, f->mode);
    rc |= msgpack_pack_uint64(pk, f->size);
    rc |= fc_mpack_pack_bin(pk, f->hash, FC_HASH_LEN);
    rc |= msgpack_pack_array(pk, f->nchunks);
    /* Offsets are implied by the order: only what a variable-length chunk needs travels. */
    for (uint32_t j = 0; rc == 0 && j < f->nchunks; j++) {
        rc |= msgpack_pack_array(pk, 2);
        rc |= msgpack_pack_uint32(pk, f->chunks[j].length);
        rc |= fc_mpack_pack_bin(pk, f->chunks[j].hash, FC_HASH_LEN);
    }
    return rc;
}

int fc_manifest_pack_dir(msgpack_packer *pk, const fc_dir_t *d)
{
    int rc = msgpack_pack_array(pk, S_DIR_FIELDS_2);
    rc |= msgpack_pack_uint32(pk, S_KIND_DIR);
    rc |= fc_mpack_pack_str(pk, d->path ? d->path : "");
    rc |= fc_manifest_pack_mtime(pk, d->mtime);
    rc |= msgpack_pack_uint32(pk, d->mode);
    return rc;
}

int fc_manifest_pack_link(msgpack_packer *pk, const fc_link_t *l)
{
    int rc = msgpack_pack_array(pk, S_LINK_FIELDS_2);
    rc |= msgpack_pack_uint32(pk, S_KIND_LINK);
    rc |= fc_mpack_pack_str(pk, l->path ? l->path : "");
    rc |= fc_manifest_pack_mtime(pk, l->mtime);
    rc |= fc_mpack_pack_str(pk, l->target ? l->target : "");
    rc |= l->external ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
    return rc;
}

/* Packs a format-2 body exactly as the fields say, without judging them (the self-test uses
   this to build hostile manifests): the three arrays merged into one list by path. 0 or -1.
   An fc_envelope_pack_fn. */
static int s_encode_body(const void *obj, msgpack_sbuffer *sbuf)
{
    const fc_manifest_t *self = (const fc_manifest_t *)obj;
    msgpack_packer pk;
    msgpack_packer_init(&pk, sbuf, msgpack_sbuffer_write);
    int rc = msgpack_pack_array(&pk, S_BODY_FIELDS_2);
    rc |= msgpack_pack_uint32(&pk, FC_MANIFEST_FORMAT);
    rc |= fc_mpack_pack_str(&pk, self->product);
    rc |= fc_mpack_pack_str(&pk, self->channel);
    rc |= fc_mpack_pack_str(&pk, self->version);
    rc |= fc_mpack_pack_str(&pk, self->min_version);
    rc |= msgpack_pack_uint64(&pk, self->serial);
    rc |= self->mandatory ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk);
    rc |= msgpack_pack_int64(&pk, self->created);
    rc |= msgpack_pack_array(&pk, self->nfiles + self->ndirs + self->nlinks);
    uint32_t i = 0, j = 0, k = 0;
    while (rc == 0 && (i < self->nfiles || j < self->ndirs || k < self->nlinks)) {
        const char *fp = i < self->nfiles ? self->files[i].path : NULL;
        const char *dp = j < self->ndirs ? self->dirs[j].path : NULL;
        const char *lp = k < self->nlinks ? self->links[k].path : NULL;
        /* The smallest path next; a NULL path (hostile tests) sorts as "". */
        const char *best = fp ? fp : dp ? dp : lp;
        if (dp && (!best || strcmp(dp, best ? best : "") < 0))
            best = dp;
        if (lp && strcmp(lp, best ? best : "") < 0)
            best = lp;
        if (fp && best == fp)
            rc |= s_pack_file(&pk, &self->files[i++]);
        else if (dp && best == dp)
            rc |= fc_manifest_pack_dir(&pk, &self->dirs[j++]);
        else if (lp && best == lp)
            rc |= fc_manifest_pack_link(&pk, &self->links[k++]);
        else /* entries with NULL paths: pack them in array order */
            rc |= i < self->nfiles  ? s_pack_file(&pk, &self->files[i++])
                  : j < self->ndirs ? fc_manifest_pack_dir(&pk, &self->dirs[j++])
                                    : fc_manifest_pack_link(&pk, &self->links[k++]);
    }
    return rc ? -1 : 0;
}

uint8_t *fc_manifest_sign(const fc_manifest_t *self, const fc_signkey_t *key, size_t *len)
{
    if (!self || !key || !len || fc_manifest_check(self) != FC_OK)
        return NULL;
    /* Over FC_MAX_MANIFEST, NULL: refuse what every receiver would refuse. */
    return fc_envelope_seal_body(s_encode_body, self, key, FC_MAX_MANIFEST, len);
}

/* ---------------------------------------------------------------------------------------- */
/* Parsing */

static int s_decode_path(const msgpack_object *o, char **out)
{
    char path[FC_MAX_PATH + 1];
    int rc = fc_mpack_str(o, path, sizeof path);
    if (!rc && !(*out = strdup(path)))
        rc = FC_ENOMEM;
    return rc;
}

static int s_decode_mtime(const msgpack_object *fld, fc_mtime_t *t)
{
    int rc = fc_mpack_i64(&fld[0], &t->sec);
    if (!rc)
        rc = fc_mpack_u32(&fld[1], &t->nsec);
    return rc;
}

/* A format-1 file: [path, mode, size, hash, chunks: [[offset, length, hash], ...]]. */
static int s_decode_file_1(const msgpack_object *o, fc_file_t *f)
{
    const msgpack_object *fld, *chunks;
    size_t n, nchunks;
    int rc = fc_mpack_array(o, S_FILE_FIELDS_1, S_FILE_FIELDS_1, &fld, &n);
    if (!rc)
        rc = s_decode_path(&fld[0], &f->path);
    if (!rc)
        rc = fc_mpack_u32(&fld[1], &f->mode);
    if (!rc)
        rc = fc_mpack_u64(&fld[2], &f->size);
    if (!rc)
        rc = fc_mpack_hash(&fld[3], f->hash);
    /* Largest legal count; the real check against size comes in s_validate. */
    if (!rc)
        rc = fc_mpack_array(&fld[4], FC_MAX_FILE_SIZE / FC_CHUNK_SIZE, -1, &chunks, &nchunks);
    if (!rc && nchunks > 0 && !(f->chunks = calloc(nchunks, sizeof(fc_chunk_t))))
        rc = FC_ENOMEM;
    for (size_t j = 0; !rc && j < nchunks; j++) {
        const msgpack_object *c;
        size_t cn;
        rc = fc_mpack_array(&chunks[j], 3, 3, &c, &cn);
        if (!rc)
            rc = fc_mpack_u64(&c[0], &f->chunks[j].offset);
        if (!rc)
            rc = fc_mpack_u32(&c[1], &f->chunks[j].length);
        if (!rc)
            rc = fc_mpack_hash(&c[2], f->chunks[j].hash);
        if (!rc)
            f->nchunks++;
    }
    /* Format 1 promised fixed chunks: every one but the last FC_CHUNK_SIZE long. */
    for (uint32_t j = 0; !rc && j + 1 < f->nchunks; j++)
        if (f->chunks[j].length != FC_CHUNK_SIZE)
            rc = FC_EPROTO;
    return rc;
}

/* A format-2 file's fields after kind, path and mtime: mode, size, hash, chunks. */
static int s_decode_file_2(const msgpack_object *fld, fc_file_t *f)
{
    int rc = fc_mpack_u32(&fld[0], &f->mode);
    if (!rc)
        rc = fc_mpack_u64(&fld[1], &f->size);
    if (!rc)
        rc = fc_mpack_hash(&fld[2], f->hash);
    if (!rc)
        rc = fc_manifest_decode_chunks(&fld[3], FC_MAX_MANIFEST / S_MIN_CHUNK_BYTES, f);
    return rc;
}

int fc_manifest_decode_chunks(const msgpack_object *o, size_t max, fc_file_t *f)
{
    const msgpack_object *chunks;
    size_t nchunks;
    int rc = fc_mpack_array(o, max, -1, &chunks, &nchunks);
    if (!rc && nchunks > 0 && !(f->chunks = calloc(nchunks, sizeof(fc_chunk_t))))
        rc = FC_ENOMEM;
    uint64_t offset = 0;
    for (size_t j = 0; !rc && j < nchunks; j++) {
        const msgpack_object *c;
        size_t cn;
        rc = fc_mpack_array(&chunks[j], 2, 2, &c, &cn);
        if (!rc)
            rc = fc_mpack_u32(&c[0], &f->chunks[j].length);
        if (!rc)
            rc = fc_mpack_hash(&c[1], f->chunks[j].hash);
        if (!rc) {
            f->chunks[j].offset = offset;
            offset += f->chunks[j].length; /* u32 each, a bounded count: no overflow */
            f->nchunks++;
        }
    }
    return rc;
}

/* A format-3 file's fields after kind, path and mtime: mode, size, hash, and the hash of its
   chunk list (a separate object: the chunks themselves are filled in from it). */
static int s_decode_file_3(const msgpack_object *fld, fc_file_t *f)
{
    int rc = fc_mpack_u32(&fld[0], &f->mode);
    if (!rc)
        rc = fc_mpack_u64(&fld[1], &f->size);
    if (!rc)
        rc = fc_mpack_hash(&fld[2], f->hash);
    if (!rc)
        rc = fc_mpack_hash(&fld[3], f->list_hash);
    return rc;
}

/* Grows an entry array by one zeroed element (count bounded by the caller). */
static void *s_grow(void *array, uint32_t *n, size_t elem)
{
    char *na = realloc(array, (*n + 1) * elem);
    if (na) {
        memset(na + *n * elem, 0, elem);
        (*n)++;
    }
    return na;
}

/* A format-2 entry, appended to the array of its kind. prev is the previous entry's path
   (order across kinds is checked here: s_validate sees each kind alone). */
int fc_manifest_decode_entry(const msgpack_object *o, fc_manifest_t *m, const char **prev,
                             uint32_t format)
{
    const msgpack_object *fld;
    size_t n;
    uint32_t kind;
    int rc = fc_mpack_array(o, S_FILE_FIELDS_2, -1, &fld, &n);
    if (rc == FC_ETOOBIG || (rc == 0 && n < S_DIR_FIELDS_2))
        rc = FC_EPROTO;
    if (!rc)
        rc = fc_mpack_u32(&fld[0], &kind);
    if (rc)
        return rc;
    size_t want = kind == S_KIND_FILE   ? S_FILE_FIELDS_2
                  : kind == S_KIND_DIR  ? S_DIR_FIELDS_2
                  : kind == S_KIND_LINK ? S_LINK_FIELDS_2
                                        : 0;
    if (n != want)
        return FC_EPROTO; /* an unknown kind, or a known one of the wrong shape */
    char **path;
    fc_mtime_t *mtime;
    void *grown;
    if (kind == S_KIND_FILE) {
        grown = s_grow(m->files, &m->nfiles, sizeof *m->files);
        if (!grown)
            return FC_ENOMEM;
        m->files = grown;
        path = &m->files[m->nfiles - 1].path;
        mtime = &m->files[m->nfiles - 1].mtime;
    } else if (kind == S_KIND_DIR) {
        grown = s_grow(m->dirs, &m->ndirs, sizeof *m->dirs);
        if (!grown)
            return FC_ENOMEM;
        m->dirs = grown;
        path = &m->dirs[m->ndirs - 1].path;
        mtime = &m->dirs[m->ndirs - 1].mtime;
    } else {
        grown = s_grow(m->links, &m->nlinks, sizeof *m->links);
        if (!grown)
            return FC_ENOMEM;
        m->links = grown;
        path = &m->links[m->nlinks - 1].path;
        mtime = &m->links[m->nlinks - 1].mtime;
    }
    rc = s_decode_path(&fld[1], path);
    /* One list in strictly increasing path order: one encoding per release, no path twice
       whatever the kinds. */
    if (!rc && *prev && strcmp(*prev, *path) >= 0)
        rc = FC_EPROTO;
    if (!rc)
        rc = s_decode_mtime(&fld[2], mtime);
    if (!rc && kind == S_KIND_FILE && format >= 3)
        rc = s_decode_file_3(&fld[4], &m->files[m->nfiles - 1]);
    else if (!rc && kind == S_KIND_FILE)
        rc = s_decode_file_2(&fld[4], &m->files[m->nfiles - 1]);
    else if (!rc && kind == S_KIND_DIR)
        rc = fc_mpack_u32(&fld[4], &m->dirs[m->ndirs - 1].mode);
    else if (!rc) {
        fc_link_t *l = &m->links[m->nlinks - 1];
        rc = s_decode_path(&fld[4], &l->target); /* same bound, FC_MAX_PATH; checked later */
        if (!rc)
            rc = fc_mpack_bool(&fld[5], &l->external);
    }
    if (!rc)
        *prev = *path;
    return rc;
}

/* Fields 1 to 7 of every format's body or top level: product, channel, version,
   min_version, serial, mandatory, created. */
int fc_manifest_decode_head(const msgpack_object *fld, fc_manifest_t *m)
{
    int rc = fc_mpack_str(&fld[1], m->product, sizeof m->product);
    if (!rc)
        rc = fc_mpack_str(&fld[2], m->channel, sizeof m->channel);
    if (!rc)
        rc = fc_mpack_str(&fld[3], m->version, sizeof m->version);
    if (!rc)
        rc = fc_mpack_str(&fld[4], m->min_version, sizeof m->min_version);
    if (!rc)
        rc = fc_mpack_u64(&fld[5], &m->serial);
    if (!rc)
        rc = fc_mpack_bool(&fld[6], &m->mandatory);
    if (!rc)
        rc = fc_mpack_i64(&fld[7], &m->created);
    return rc;
}

/* Decodes a body's fields with their types and counts checked; semantics are s_validate's. */
static int s_decode_body(const msgpack_object *o, fc_manifest_t *m)
{
    const msgpack_object *fld, *entries;
    size_t n, nentries;
    /* Every format's body is an array whose first field is the format: the one promise a
       reader can rely on to say "too new" rather than "malformed". */
    int rc = fc_mpack_array(o, 64, -1, &fld, &n);
    if (rc == FC_ETOOBIG || (rc == 0 && n == 0))
        rc = FC_EPROTO;
    if (!rc)
        rc = fc_mpack_u32(&fld[0], &m->format);
    if (!rc && m->format > FC_MANIFEST_FORMAT)
        return FC_EFORMAT;
    if (!rc && (m->format == 0 || n != (m->format == 1 ? S_BODY_FIELDS_1 : S_BODY_FIELDS_2)))
        rc = FC_EPROTO;
    if (!rc)
        rc = fc_manifest_decode_head(fld, m);
    if (!rc && m->format == 1) {
        uint32_t chunk_size = 0;
        rc = fc_mpack_u32(&fld[8], &chunk_size);
        if (!rc && chunk_size != FC_CHUNK_SIZE)
            rc = FC_EPROTO;
        if (!rc)
            rc = fc_mpack_array(&fld[9], FC_MAX_FILES, -1, &entries, &nentries);
        if (!rc && nentries > 0 && !(m->files = calloc(nentries, sizeof(fc_file_t))))
            rc = FC_ENOMEM;
        for (size_t i = 0; !rc && i < nentries; i++) {
            m->nfiles++;
            rc = s_decode_file_1(&entries[i], &m->files[i]);
        }
        return rc;
    }
    if (!rc)
        rc = fc_mpack_array(&fld[8], FC_MAX_FILES, -1, &entries, &nentries);
    const char *prev = NULL;
    for (size_t i = 0; !rc && i < nentries; i++)
        rc = fc_manifest_decode_entry(&entries[i], m, &prev, m->format);
    return rc;
}

/* Opens the envelope (signature checked against its own signer only, trust NULL) and
   unpacks the body with the manifest's bounds. 0 or fc_error_t; *obj lives in zone. */
static int s_unpack(const uint8_t *buf, size_t len, const fc_trust_t *trust,
                    uint8_t signer[FC_PUBKEY_LEN], msgpack_zone *zone, msgpack_object *obj)
{
    const uint8_t *body = NULL;
    size_t body_len = 0;
    int rc = fc_envelope_open(buf, len, FC_MAX_MANIFEST, trust, &body, &body_len, signer);
    /* Even a trusted signer's body is decoded with every bound: a signing key can leak. A
       legal body spends at least 6 bytes per msgpack object, so this budget only stops a
       body built to make msgpack-c allocate far more than its size. */
    if (!rc)
        rc = fc_mpack_unpack_max(body, body_len, S_BODY_DEPTH, body_len / 4 + 64, zone, obj);
    return rc;
}

uint32_t fc_manifest_format_of(const uint8_t *buf, size_t len)
{
    msgpack_zone zone;
    msgpack_zone_init(&zone, 4096);
    msgpack_object obj;
    uint8_t signer[FC_PUBKEY_LEN];
    uint32_t format = 0;
    const msgpack_object *fld;
    size_t n;
    if (s_unpack(buf, len, NULL, signer, &zone, &obj) == 0 &&
        fc_mpack_array(&obj, SIZE_MAX, -1, &fld, &n) == 0 && n > 0 &&
        fc_mpack_u32(&fld[0], &format) != 0)
        format = 0;
    msgpack_zone_destroy(&zone);
    return format;
}

fc_manifest_t *fc_manifest_parse(const uint8_t *buf, size_t len, const fc_trust_t *trust, int *err)
{
    int dummy;
    if (!err)
        err = &dummy;
    msgpack_zone bzone;
    msgpack_zone_init(&bzone, 4096);
    msgpack_object obj;
    uint8_t signer[FC_PUBKEY_LEN];
    fc_manifest_t *self = NULL;
    int rc = s_unpack(buf, len, trust, signer, &bzone, &obj);
    if (!rc) {
        self = fc_manifest_new();
        memcpy(self->signer, signer, FC_PUBKEY_LEN);
        rc = s_decode_body(&obj, self);
        if (!rc)
            rc = fc_manifest_check(self);
        if (rc)
            fc_manifest_destroy(&self);
    }
    msgpack_zone_destroy(&bzone);
    *err = rc;
    return self;
}

/* ---------------------------------------------------------------------------------------- */
/* Self-test */

static fc_file_t *s_add_file(fc_manifest_t *m, const char *path, uint64_t size)
{
    m->files = realloc(m->files, (m->nfiles + 1) * sizeof(fc_file_t));
    FC_CHECK(m->files);
    fc_file_t *f = &m->files[m->nfiles++];
    memset(f, 0, sizeof *f);
    f->path = strdup(path);
    f->mode = 0644;
    f->size = size;
    f->nchunks = (uint32_t)((size + FC_CHUNK_SIZE - 1) / FC_CHUNK_SIZE);
    f->chunks = calloc(f->nchunks + 1, sizeof(fc_chunk_t));
    uint8_t(*hashes)[FC_HASH_LEN] = calloc(f->nchunks + 1, FC_HASH_LEN);
    FC_CHECK(f->path && f->chunks && hashes);
    for (uint32_t j = 0; j < f->nchunks; j++) {
        f->chunks[j].offset = (uint64_t)j * FC_CHUNK_SIZE;
        f->chunks[j].length =
            (uint32_t)(size - f->chunks[j].offset < FC_CHUNK_SIZE ? size - f->chunks[j].offset
                                                                  : FC_CHUNK_SIZE);
        char seed[FC_MAX_PATH + 16];
        int n = snprintf(seed, sizeof seed, "%s#%u", path, j);
        fc_hash_buf(f->chunks[j].hash, seed, (size_t)n);
        memcpy(hashes[j], f->chunks[j].hash, FC_HASH_LEN);
    }
    fc_hash_of_chunks(f->hash, (const uint8_t(*)[FC_HASH_LEN])hashes, f->nchunks);
    free(hashes);
    return f;
}

static fc_manifest_t *s_sample(void)
{
    fc_manifest_t *m = fc_manifest_new();
    strcpy(m->product, "app");
    strcpy(m->channel, "stable");
    strcpy(m->version, "1.2.3");
    m->serial = 7;
    m->created = 1700000000;
    s_add_file(m, "a", 5);
    s_add_file(m, "b/c", 2 * FC_CHUNK_SIZE + 1);
    s_add_file(m, "b/d", 0);
    m->files[1].mtime = (fc_mtime_t){1600000000, 123456789};
    fc_manifest_add_dir(m, "b", 0750, (fc_mtime_t){-86400, 0});
    fc_manifest_add_dir(m, "empty", 0700, (fc_mtime_t){1, 2});
    fc_manifest_add_link(m, "b/l", "c", (fc_mtime_t){1600000001, 0}, false);
    fc_manifest_add_link(m, "up", "b/../b", (fc_mtime_t){0, 0}, true);
    return m;
}

/* Packs a format-1 body (what publishers wrote before format 2) from m's files: readers
   still take it, since agents and brokers hold manifests signed then. */
static int s_encode_body_1(const fc_manifest_t *m, msgpack_sbuffer *sbuf, uint32_t chunk_size)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sbuf, msgpack_sbuffer_write);
    int rc = msgpack_pack_array(&pk, 10);
    rc |= msgpack_pack_uint32(&pk, 1);
    rc |= fc_mpack_pack_str(&pk, m->product);
    rc |= fc_mpack_pack_str(&pk, m->channel);
    rc |= fc_mpack_pack_str(&pk, m->version);
    rc |= fc_mpack_pack_str(&pk, m->min_version);
    rc |= msgpack_pack_uint64(&pk, m->serial);
    rc |= m->mandatory ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk);
    rc |= msgpack_pack_int64(&pk, m->created);
    rc |= msgpack_pack_uint32(&pk, chunk_size);
    rc |= msgpack_pack_array(&pk, m->nfiles);
    for (uint32_t i = 0; i < m->nfiles; i++) {
        const fc_file_t *f = &m->files[i];
        rc |= msgpack_pack_array(&pk, 5);
        rc |= fc_mpack_pack_str(&pk, f->path);
        rc |= msgpack_pack_uint32(&pk, f->mode);
        rc |= msgpack_pack_uint64(&pk, f->size);
        rc |= fc_mpack_pack_bin(&pk, f->hash, FC_HASH_LEN);
        rc |= msgpack_pack_array(&pk, f->nchunks);
        for (uint32_t j = 0; j < f->nchunks; j++) {
            rc |= msgpack_pack_array(&pk, 3);
            rc |= msgpack_pack_uint64(&pk, f->chunks[j].offset);
            rc |= msgpack_pack_uint32(&pk, f->chunks[j].length);
            rc |= fc_mpack_pack_bin(&pk, f->chunks[j].hash, FC_HASH_LEN);
        }
    }
    return rc ? -1 : 0;
}

/* Replaces file fi's chunks by ones of the given lengths (content-defined chunks look like
   this), with a consistent file hash. */
static void s_set_chunks(fc_file_t *f, const uint32_t *lengths, uint32_t n)
{
    free(f->chunks);
    f->chunks = calloc(n + 1, sizeof *f->chunks);
    uint8_t(*hashes)[FC_HASH_LEN] = calloc(n + 1, FC_HASH_LEN);
    FC_CHECK(f->chunks && hashes);
    f->nchunks = n;
    f->size = 0;
    for (uint32_t j = 0; j < n; j++) {
        f->chunks[j].offset = f->size;
        f->chunks[j].length = lengths[j];
        f->size += lengths[j];
        fc_hash_buf(f->chunks[j].hash, &j, sizeof j);
        memcpy(hashes[j], f->chunks[j].hash, FC_HASH_LEN);
    }
    fc_hash_of_chunks(f->hash, (const uint8_t(*)[FC_HASH_LEN])hashes, n);
    free(hashes);
}

/* Signs body bytes as they are and parses the envelope; returns the error code. */
static int s_parse_body_bytes(const void *body, size_t len, const fc_signkey_t *key)
{
    size_t env_len;
    uint8_t *env = fc_envelope_seal(body, len, key, FC_MAX_MANIFEST, &env_len);
    FC_CHECK(env);
    int err = -1;
    fc_manifest_t *m = fc_manifest_parse(env, env_len, NULL, &err);
    free(env);
    FC_CHECK(m == NULL || err == FC_OK);
    fc_manifest_destroy(&m);
    return err;
}

/* Encodes m without validation (a hostile publisher's tool), signs it validly, parses. */
static int s_parse_hostile(fc_manifest_t **m_p, const fc_signkey_t *key)
{
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    FC_CHECK(s_encode_body(*m_p, &sbuf) == 0);
    int err = s_parse_body_bytes(sbuf.data, sbuf.size, key);
    msgpack_sbuffer_destroy(&sbuf);
    fc_manifest_destroy(m_p);
    return err;
}

/* A body with one field of the wrong msgpack type, chosen by variant. */
static int s_parse_wrong_type(int variant, const fc_signkey_t *key)
{
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, variant == 0 ? 9 : 10);
    msgpack_pack_uint32(&pk, 1);
    fc_mpack_pack_str(&pk, "app");
    fc_mpack_pack_str(&pk, "stable");
    fc_mpack_pack_str(&pk, "1.0");
    fc_mpack_pack_str(&pk, "");
    if (variant == 1)
        fc_mpack_pack_str(&pk, "7"); /* serial as a string */
    else
        msgpack_pack_uint64(&pk, 7);
    msgpack_pack_false(&pk);
    if (variant == 2)
        msgpack_pack_double(&pk, 1.5); /* created as a float */
    else
        msgpack_pack_int64(&pk, -1);
    msgpack_pack_uint32(&pk, FC_CHUNK_SIZE);
    if (variant == 3)
        msgpack_pack_nil(&pk); /* files as nil */
    else if (variant == 4) {
        uint8_t h[FC_HASH_LEN] = {0};
        msgpack_pack_array(&pk, 1);
        msgpack_pack_array(&pk, 5);
        fc_mpack_pack_str(&pk, "f");
        msgpack_pack_uint32(&pk, 0644);
        msgpack_pack_uint64(&pk, 0);
        fc_mpack_pack_bin(&pk, h, FC_HASH_LEN - 1); /* a 31-byte hash */
        msgpack_pack_array(&pk, 0);
    } else if (variant != 0)
        msgpack_pack_array(&pk, 0);
    int err = s_parse_body_bytes(sbuf.data, sbuf.size, key);
    msgpack_sbuffer_destroy(&sbuf);
    return err;
}

static void s_assert_equal(const fc_manifest_t *a, const fc_manifest_t *b)
{
    FC_CHECK(!strcmp(a->product, b->product) && !strcmp(a->channel, b->channel));
    FC_CHECK(!strcmp(a->version, b->version) && !strcmp(a->min_version, b->min_version));
    FC_CHECK(a->serial == b->serial && a->mandatory == b->mandatory);
    FC_CHECK(a->created == b->created);
    FC_CHECK(a->nfiles == b->nfiles && a->ndirs == b->ndirs && a->nlinks == b->nlinks);
    for (uint32_t i = 0; i < a->ndirs; i++) {
        const fc_dir_t *x = &a->dirs[i], *y = &b->dirs[i];
        FC_CHECK(!strcmp(x->path, y->path) && x->mode == y->mode);
        FC_CHECK(x->mtime.sec == y->mtime.sec && x->mtime.nsec == y->mtime.nsec);
    }
    for (uint32_t i = 0; i < a->nlinks; i++) {
        const fc_link_t *x = &a->links[i], *y = &b->links[i];
        FC_CHECK(!strcmp(x->path, y->path) && !strcmp(x->target, y->target));
        FC_CHECK(x->mtime.sec == y->mtime.sec && x->mtime.nsec == y->mtime.nsec);
        FC_CHECK(x->external == y->external);
    }
    for (uint32_t i = 0; i < a->nfiles; i++) {
        const fc_file_t *x = &a->files[i], *y = &b->files[i];
        FC_CHECK(!strcmp(x->path, y->path) && x->mode == y->mode && x->size == y->size);
        FC_CHECK(x->mtime.sec == y->mtime.sec && x->mtime.nsec == y->mtime.nsec);
        FC_CHECK(fc_hash_equal(x->hash, y->hash) && x->nchunks == y->nchunks);
        for (uint32_t j = 0; j < x->nchunks; j++) /* field by field: structs have padding */
            FC_CHECK(x->chunks[j].offset == y->chunks[j].offset &&
                     x->chunks[j].length == y->chunks[j].length &&
                     fc_hash_equal(x->chunks[j].hash, y->chunks[j].hash));
    }
}

static void s_test_names(void)
{
    const char *good[] = {"a", "a/b", "a.b/c", ".hidden", "..a", "a..", "a/...", "caf\xc3\xa9"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        FC_CHECK(fc_path_valid(good[i]));
    const char *bad[] = {"",     "/etc/x", "a/../b",    "..",      ".",
                         "./a",  "a/.",    "a/..",      "a//b",    "a/",
                         "a\\b", "x\n",    "tab\there", "del\x7f", "../etc/passwd"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        FC_CHECK(!fc_path_valid(bad[i]));
    FC_CHECK(!fc_path_valid(NULL));
    char long_path[FC_MAX_PATH + 2];
    memset(long_path, 'x', sizeof long_path);
    long_path[FC_MAX_PATH] = '\0';
    FC_CHECK(fc_path_valid(long_path));
    long_path[FC_MAX_PATH] = 'x';
    long_path[FC_MAX_PATH + 1] = '\0';
    FC_CHECK(!fc_path_valid(long_path));

    FC_CHECK(fc_name_valid("stable") && fc_name_valid("1.2.3") && fc_name_valid("v1.0+b-7_x"));
    const char *badname[] = {"", ".", "..", "a/b", "a b", "caf\xc3\xa9", "x\n", "a\\b"};
    for (size_t i = 0; i < sizeof badname / sizeof *badname; i++)
        FC_CHECK(!fc_name_valid(badname[i]));
    FC_CHECK(!fc_name_valid(NULL));
    char name[FC_MAX_NAME + 2];
    memset(name, 'n', sizeof name);
    name[FC_MAX_NAME] = '\0';
    FC_CHECK(fc_name_valid(name));
    name[FC_MAX_NAME] = 'n';
    name[FC_MAX_NAME + 1] = '\0';
    FC_CHECK(!fc_name_valid(name));

    FC_CHECK(fc_version_cmp("1.10.2", "1.9") > 0);
    FC_CHECK(fc_version_cmp("1.9", "1.10.2") < 0);
    FC_CHECK(fc_version_cmp("2.0", "10.0") < 0);
    FC_CHECK(fc_version_cmp("1.2.3", "1.2.3") == 0);
}

static void s_test_hostile(const fc_signkey_t *key, const fc_signkey_t *other,
                           const fc_trust_t *trust)
{
    /* The sample itself is fine. */
    fc_manifest_t *m = s_sample();
    size_t len;
    uint8_t *env = fc_manifest_sign(m, key, &len);
    FC_CHECK(env);
    int err = -1;
    fc_manifest_t *back = fc_manifest_parse(env, len, trust, &err);
    FC_CHECK(back && err == FC_OK);
    s_assert_equal(m, back);
    fc_manifest_destroy(&back);
    FC_CHECK(s_parse_hostile(&m, key) == FC_OK);

    /* Tampering anywhere (body, signer, signature) fails; a stranger's key is refused. */
    for (size_t i = 0; i < len; i++) {
        env[i] ^= 0x01;
        back = fc_manifest_parse(env, len, NULL, &err);
        FC_CHECK(!back && err != FC_OK);
        env[i] ^= 0x01;
    }
    env[len / 2] ^= 0x80; /* inside the body */
    FC_CHECK(!fc_manifest_parse(env, len, NULL, &err) && err == FC_EBADSIG);
    env[len / 2] ^= 0x80;
    env[len - 1] ^= 0x01; /* the signature */
    FC_CHECK(!fc_manifest_parse(env, len, NULL, &err) && err == FC_EBADSIG);
    env[len - 1] ^= 0x01;
    fc_trust_t *strangers = fc_trust_new();
    fc_trust_add(strangers, other->pk);
    FC_CHECK(!fc_manifest_parse(env, len, strangers, &err) && err == FC_EUNTRUSTED);
    fc_trust_destroy(&strangers);

    /* Every truncation fails cleanly; so do trailing bytes and silly sizes. */
    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1); /* exact size, so ASan sees any overread */
        FC_CHECK(copy);
        memcpy(copy, env, cut);
        err = FC_OK;
        FC_CHECK(!fc_manifest_parse(copy, cut, trust, &err) && err != FC_OK);
        free(copy);
    }
    uint8_t *longer = malloc(len + 1);
    FC_CHECK(longer);
    memcpy(longer, env, len);
    longer[len] = 0xc0;
    FC_CHECK(!fc_manifest_parse(longer, len + 1, trust, &err) && err == FC_EPROTO);
    free(longer);
    FC_CHECK(!fc_manifest_parse(NULL, 0, trust, &err) && err == FC_EPROTO);
    FC_CHECK(!fc_manifest_parse(env, FC_MAX_MANIFEST + 1, trust, &err) && err == FC_ETOOBIG);
    free(env);
    const uint8_t huge_array[] = {0xdd, 0xff, 0xff, 0xff, 0xff}; /* claims 4G elements */
    FC_CHECK(!fc_manifest_parse(huge_array, sizeof huge_array, NULL, &err) && err == FC_EPROTO);
    FC_CHECK(s_parse_body_bytes(huge_array, sizeof huge_array, key) == FC_EPROTO);

    /* Hand-built bodies, validly signed, that break one rule each. */
    m = s_sample();
    free(m->files[0].path);
    m->files[0].path = strdup("../etc/passwd");
    FC_CHECK(s_parse_hostile(&m, key) == FC_EPATH);
    m = s_sample();
    free(m->files[0].path);
    m->files[0].path = strdup("/etc/passwd");
    FC_CHECK(s_parse_hostile(&m, key) == FC_EPATH);
    m = s_sample();
    s_add_file(m, "b/d/inside-a-file", 1); /* "b/d" is a file, not a directory */
    FC_CHECK(s_parse_hostile(&m, key) == FC_EPATH);
    m = s_sample();
    s_add_file(m, "0-before-a", 1); /* out of order */
    FC_CHECK(s_parse_hostile(&m, key) == FC_EPROTO);
    m = s_sample();
    s_add_file(m, "b/d", 0); /* duplicate */
    FC_CHECK(s_parse_hostile(&m, key) == FC_EPROTO);
    m = s_sample();
    m->files[1].chunks[1].offset += 1; /* a gap: offsets are implied on the wire, so only a */
    FC_CHECK(fc_manifest_sign(m, key, &len) == NULL); /* hand-filled struct can have one */
    fc_manifest_destroy(&m);
    m = s_sample();
    m->files[1].chunks[2].length = 2; /* last chunk longer than the file */
    FC_CHECK(s_parse_hostile(&m, key) == FC_EPROTO);
    m = s_sample();
    m->files[1].nchunks = 2; /* chunk missing */
    FC_CHECK(s_parse_hostile(&m, key) == FC_EPROTO);
    m = s_sample();
    m->files[1].nchunks = 4; /* chunk beyond the end (the spare zeroed slot) */
    FC_CHECK(s_parse_hostile(&m, key) == FC_EPROTO);
    m = s_sample();
    m->files[1].hash[0] ^= 1;
    FC_CHECK(s_parse_hostile(&m, key) == FC_EHASH);
    m = s_sample();
    m->files[1].chunks[0].hash[0] ^= 1; /* chunk list no longer matches the file hash */
    FC_CHECK(s_parse_hostile(&m, key) == FC_EHASH);
    m = s_sample();
    m->files[0].chunks[0].length = 0; /* an empty chunk */
    m->files[0].chunks[0].offset = 0;
    FC_CHECK(s_parse_hostile(&m, key) == FC_EPROTO);
    m = s_sample();
    uint32_t too_long[] = {FC_MAX_CHUNK + 1};
    s_set_chunks(&m->files[0], too_long, 1);
    FC_CHECK(s_parse_hostile(&m, key) == FC_EPROTO);
    m = s_sample();
    m->files[0].mode = 04755;
    FC_CHECK(s_parse_hostile(&m, key) == FC_EPROTO);
    m = s_sample();
    strcpy(m->version, "..");
    FC_CHECK(s_parse_hostile(&m, key) == FC_EPROTO);
    m = s_sample();
    strcpy(m->channel, "a/b");
    FC_CHECK(s_parse_hostile(&m, key) == FC_EPROTO);
    m = s_sample();
    strcpy(m->min_version, "not valid");
    FC_CHECK(s_parse_hostile(&m, key) == FC_EPROTO);
    m = s_sample();
    m->files[2].size = FC_MAX_FILE_SIZE + 1;
    FC_CHECK(s_parse_hostile(&m, key) == FC_ETOOBIG);

    /* Wrong msgpack shapes and types (format-1 bodies); a newer format; trailing bytes. */
    for (int variant = 0; variant <= 4; variant++)
        FC_CHECK(s_parse_wrong_type(variant, key) == FC_EPROTO);
    m = s_sample();
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    FC_CHECK(s_encode_body(m, &sbuf) == 0);
    FC_CHECK((uint8_t)sbuf.data[0] == 0x99 && sbuf.data[1] == FC_MANIFEST_FORMAT);
    /* Format 3 (issue 13's compact manifests, say): "upgrade", and which format it is. */
    sbuf.data[1] = 3;
    FC_CHECK(s_parse_body_bytes(sbuf.data, sbuf.size, key) == FC_EFORMAT);
    uint8_t *env3 = fc_envelope_seal(sbuf.data, sbuf.size, key, FC_MAX_MANIFEST, &len);
    FC_CHECK(env3 && fc_manifest_format_of(env3, len) == 3);
    FC_CHECK(fc_manifest_format_of(env3, len / 2) == 0);
    free(env3);
    sbuf.data[1] = 0;
    FC_CHECK(s_parse_body_bytes(sbuf.data, sbuf.size, key) == FC_EPROTO);
    sbuf.data[1] = FC_MANIFEST_FORMAT;
    msgpack_sbuffer_write(&sbuf, "\xc0", 1);
    FC_CHECK(s_parse_body_bytes(sbuf.data, sbuf.size, key) == FC_EPROTO);
    msgpack_sbuffer_destroy(&sbuf);

    /* Sign refuses what parse would refuse. */
    strcpy(m->product, "");
    FC_CHECK(fc_manifest_sign(m, key, &len) == NULL);
    strcpy(m->product, "app");
    char *tmp = m->files[0].path;
    m->files[0].path = m->files[1].path;
    m->files[1].path = tmp;
    FC_CHECK(fc_manifest_sign(m, key, &len) == NULL);
    fc_manifest_destroy(&m);
}

static void s_test_targets(void)
{
    struct {
        const char *path, *target;
        bool inside;
    } cases[] = {
        {"lib/libfoo.so", "libfoo.so.1", true},
        {"bin/postmaster", "postgres", true},
        {"a/b/l", "../../x", true},
        {"a/b/l", "../../../x", false},
        {"l", "..", false},
        {"a/l", "..", true}, /* the release root */
        {"a/l", "../a/x", true},
        {"a/l", "x/../../y", false}, /* ".." after a plain component */
        {"a/l", "s/..", false},
        {"l", "/etc/passwd", false},
        {"l", "./x", false},
        {"l", "x/", false},
        {"l", "x//y", false},
        {"l", "", false},
        {"current", "releases/1.0", true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        FC_CHECK(fc_link_target_inside(cases[i].path, cases[i].target) == cases[i].inside);
}

/* Directories, links and times: round trip, the format-2 rules, format 1 still read. */
static void s_test_entries(const fc_signkey_t *key)
{
    /* Variable chunk lengths are legal: nothing assumes FC_CHUNK_SIZE but the chunker. */
    fc_manifest_t *m = s_sample();
    uint32_t lengths[] = {70000, 1, FC_MAX_CHUNK, 4096};
    s_set_chunks(&m->files[1], lengths, 4);
    size_t len;
    uint8_t *env = fc_manifest_sign(m, key, &len);
    int err = -1;
    fc_manifest_t *back = fc_manifest_parse(env, len, NULL, &err);
    FC_CHECK(env && back && err == FC_OK && back->format == FC_MANIFEST_FORMAT);
    s_assert_equal(m, back);
    FC_CHECK(back->files[1].chunks[3].offset == 70001 + FC_MAX_CHUNK);
    FC_CHECK(fc_manifest_find_dir(back, "empty") && fc_manifest_find_link(back, "b/l"));
    FC_CHECK(!fc_manifest_find_dir(back, "b/l") && !fc_manifest_find_link(back, "b"));
    FC_CHECK(fc_manifest_format_of(env, len) == FC_MANIFEST_FORMAT);
    free(env);
    fc_manifest_destroy(&back);
    fc_manifest_destroy(&m);

    /* Each breaks one rule; signed validly, as a leaked key could. */
    m = s_sample();
    free(m->links[0].target);
    m->links[0].target = strdup("../../etc/passwd"); /* escapes, not marked external */
    FC_CHECK(s_parse_hostile(&m, key) == FC_EPATH);
    m = s_sample();
    fc_manifest_add_link(m, "z", "/etc", (fc_mtime_t){0, 0}, false);
    FC_CHECK(s_parse_hostile(&m, key) == FC_EPATH);
    m = s_sample();
    s_add_file(m, "up/passwd", 1); /* a file below a link: written wherever it points */
    FC_CHECK(s_parse_hostile(&m, key) == FC_EPATH);
    m = s_sample();
    fc_manifest_add_dir(m, "up/d", 0755, (fc_mtime_t){0, 0}); /* a directory below a link */
    FC_CHECK(s_parse_hostile(&m, key) == FC_EPATH);
    m = s_sample();
    s_add_file(m, "zz", 1);
    fc_manifest_add_dir(m, "zz/d", 0755, (fc_mtime_t){0, 0}); /* below a file */
    FC_CHECK(s_parse_hostile(&m, key) == FC_EPATH);
    m = s_sample();
    s_add_file(m, "zzz", 1);
    fc_manifest_add_link(m, "zzz", "a", (fc_mtime_t){0, 0}, false); /* path of a file too */
    FC_CHECK(s_parse_hostile(&m, key) == FC_EPROTO);
    m = s_sample();
    s_add_file(m, "zzz", 1);
    fc_manifest_add_dir(m, "zzz", 0755, (fc_mtime_t){0, 0});
    FC_CHECK(s_parse_hostile(&m, key) == FC_EPROTO);
    m = s_sample();
    m->dirs[0].mode = 01777;
    FC_CHECK(s_parse_hostile(&m, key) == FC_EPROTO);
    m = s_sample();
    m->files[0].mtime.nsec = 1000000000u;
    FC_CHECK(s_parse_hostile(&m, key) == FC_EPROTO);
    m = s_sample();
    free(m->links[1].target);
    m->links[1].target = strdup("new\nline");
    FC_CHECK(s_parse_hostile(&m, key) == FC_EPROTO);
    m = s_sample();
    fc_manifest_add_dir(m, "~/../x", 0755, (fc_mtime_t){0, 0});
    FC_CHECK(s_parse_hostile(&m, key) == FC_EPATH);

    /* An entry of an unknown kind, and entries out of order across kinds. */
    const char *shapes[] = {"unknown kind", "out of order", "dir with a file's fields"};
    for (int v = 0; v < 3; v++) {
        msgpack_sbuffer sbuf;
        msgpack_sbuffer_init(&sbuf);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);
        msgpack_pack_array(&pk, 9);
        msgpack_pack_uint32(&pk, 2);
        fc_mpack_pack_str(&pk, "app");
        fc_mpack_pack_str(&pk, "stable");
        fc_mpack_pack_str(&pk, "1.0");
        fc_mpack_pack_str(&pk, "");
        msgpack_pack_uint64(&pk, 1);
        msgpack_pack_false(&pk);
        msgpack_pack_int64(&pk, 0);
        msgpack_pack_array(&pk, 2);
        msgpack_pack_array(&pk, 5);
        msgpack_pack_uint32(&pk, v == 0 ? 3 : 1);
        fc_mpack_pack_str(&pk, v == 1 ? "b" : "a");
        msgpack_pack_int64(&pk, 0);
        msgpack_pack_uint32(&pk, 0);
        msgpack_pack_uint32(&pk, 0755);
        msgpack_pack_array(&pk, v == 2 ? 8 : 5);
        msgpack_pack_uint32(&pk, 1);
        fc_mpack_pack_str(&pk, v == 1 ? "a" : "b");
        msgpack_pack_int64(&pk, 0);
        msgpack_pack_uint32(&pk, 0);
        msgpack_pack_uint32(&pk, 0755);
        for (int extra = 0; v == 2 && extra < 3; extra++)
            msgpack_pack_uint32(&pk, 0);
        err = s_parse_body_bytes(sbuf.data, sbuf.size, key);
        if (err != FC_EPROTO)
            fprintf(stderr, "%s: %d\n", shapes[v], err);
        FC_CHECK(err == FC_EPROTO);
        msgpack_sbuffer_destroy(&sbuf);
    }

    /* Format 1 is still read: fixed chunks, no directories, links or times. */
    m = s_sample();
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    FC_CHECK(s_encode_body_1(m, &sbuf, FC_CHUNK_SIZE) == 0);
    env = fc_envelope_seal(sbuf.data, sbuf.size, key, FC_MAX_MANIFEST, &len);
    back = fc_manifest_parse(env, len, NULL, &err);
    FC_CHECK(back && err == FC_OK && back->format == 1 && back->nfiles == 3);
    FC_CHECK(back->ndirs == 0 && back->nlinks == 0 && back->files[1].mtime.sec == 0);
    FC_CHECK(back->files[1].nchunks == 3 && back->files[1].chunks[2].length == 1);
    FC_CHECK(fc_manifest_format_of(env, len) == 1);
    free(env);
    fc_manifest_destroy(&back);
    msgpack_sbuffer_destroy(&sbuf);
    /* ... and its promise of fixed chunks is kept: a short chunk inside a file is not. */
    uint32_t uneven[] = {1000, FC_CHUNK_SIZE};
    s_set_chunks(&m->files[1], uneven, 2);
    msgpack_sbuffer_init(&sbuf);
    FC_CHECK(s_encode_body_1(m, &sbuf, FC_CHUNK_SIZE) == 0);
    FC_CHECK(s_parse_body_bytes(sbuf.data, sbuf.size, key) == FC_EPROTO);
    msgpack_sbuffer_destroy(&sbuf);
    msgpack_sbuffer_init(&sbuf);
    FC_CHECK(s_encode_body_1(m, &sbuf, 4096) == 0);
    FC_CHECK(s_parse_body_bytes(sbuf.data, sbuf.size, key) == FC_EPROTO);
    msgpack_sbuffer_destroy(&sbuf);
    fc_manifest_destroy(&m);
}

void fc_manifest_test(bool verbose)
{
    printf(" * fc_manifest: ");
    FC_CHECK(fc_crypto_init() == 0);
    s_test_names();

    fc_signkey_t key, other;
    fc_signkey_generate(&key);
    fc_signkey_generate(&other);
    fc_trust_t *trust = fc_trust_new();
    fc_trust_add(trust, key.pk);
    s_test_hostile(&key, &other, trust);
    s_test_targets();
    s_test_entries(&key);

    fc_trust_destroy(&trust);
    fc_signkey_wipe(&key);
    fc_signkey_wipe(&other);
    if (verbose)
        printf("(names, round trip, hostile bodies, truncations, entries, format 1) ");
    printf("OK\n");
    /* Scanning and comparing live in their own files; their tests run as part of this one. */
    fc_manifest_scan_test(verbose);
    fc_manifest_diff_test(verbose);
}
