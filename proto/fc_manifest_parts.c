/* fc_manifest_parts.c: manifest format 3 (issue 13's compact manifest): cut, sign, fetch-list and
 * reassemble; fc_manifest.c's private part for the entry codec. */
#include "fc_manifest_parts.h"
#include "fc_envelope.h"
#include "fc_error.h"
#include "fc_hash.h"
#include "fc_manifest_priv.h"
#include "fc_mpack.h"
#include "fc_test_check.h"

#include <czmq.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* [format, product, channel, version, min_version, serial, mandatory, created, pages] */
#define S_TOP_FIELDS 9
/* top body -> pages -> page ref: three levels; page -> entry and list -> chunk: two. */
#define S_TOP_DEPTH 3
#define S_OBJ_DEPTH 2
/* Smallest encoding of a chunk [length, bin(32)]: bounds a list's count by its bytes. */
#define S_MIN_CHUNK_BYTES 36
/* The format-3 file entry: [0, path, sec, nsec, mode, size, hash, list_hash]. */
#define S_FILE_FIELDS 8

/* One entry of the merged, path-ordered list. */
typedef struct {
    int kind; /* 0 file, 1 dir, 2 link: the wire's kinds */
    uint32_t index;
    const char *path;
} s_entry_t;

typedef struct {
    const fc_manifest_t *m;
    const fc_mobj_t *pages;
    const uint32_t *counts;
    uint32_t npages;
} s_top_t;

/* ---------------------------------------------------------------------------------------- */
/* Cutting and signing */

static void s_obj_add(fc_mparts_t *self, fc_mobj_kind_t kind, msgpack_sbuffer *sbuf)
{
    fc_mobj_t *grown = realloc(self->objs, (self->nobjs + 1) * sizeof *self->objs);
    if (!grown)
        abort(); /* like fc_manifest_new: out of memory is not recoverable here */
    self->objs = grown;
    fc_mobj_t *o = &self->objs[self->nobjs++];
    o->kind = kind;
    o->len = sbuf->size;
    o->data = (uint8_t *)msgpack_sbuffer_release(sbuf);
    memset(o->blob, 0, FC_HASH_LEN);
    fc_hash_buf(o->hash, o->data, o->len);
}

/* A chunk list object's bytes: [[length, hash], ...]. The one encoder of them: the broker
   derives a list from a blob with it (fc_mchunks_encode), so both name it alike. */
static int s_pack_chunk_array(msgpack_sbuffer *sbuf, const fc_chunk_t *chunks, uint32_t n)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sbuf, msgpack_sbuffer_write);
    int rc = msgpack_pack_array(&pk, n);
    for (uint32_t j = 0; rc == 0 && j < n; j++) {
        rc |= msgpack_pack_array(&pk, 2);
        rc |= msgpack_pack_uint32(&pk, chunks[j].length);
        rc |= fc_mpack_pack_bin(&pk, chunks[j].hash, FC_HASH_LEN);
    }
    return rc;
}

static int s_pack_chunks(msgpack_sbuffer *sbuf, const fc_file_t *f)
{
    return s_pack_chunk_array(sbuf, f->chunks, f->nchunks);
}

int fc_mchunks_encode(const fc_chunk_t *chunks, uint32_t n, uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    if (s_pack_chunk_array(&sbuf, chunks, n) != 0 || sbuf.size > FC_MAX_CHUNKLIST) {
        msgpack_sbuffer_destroy(&sbuf);
        return FC_ETOOBIG;
    }
    *len = sbuf.size;
    *out = (uint8_t *)msgpack_sbuffer_release(&sbuf);
    return FC_OK;
}

static int s_pack_file(msgpack_packer *pk, const fc_file_t *f, const uint8_t *list_hash)
{
    int rc = msgpack_pack_array(pk, S_FILE_FIELDS);
    rc |= msgpack_pack_uint32(pk, 0);
    rc |= fc_mpack_pack_str(pk, f->path);
    rc |= fc_manifest_pack_mtime(pk, f->mtime);
    rc |= msgpack_pack_uint32(pk, f->mode);
    rc |= msgpack_pack_uint64(pk, f->size);
    rc |= fc_mpack_pack_bin(pk, f->hash, FC_HASH_LEN);
    rc |= fc_mpack_pack_bin(pk, list_hash, FC_HASH_LEN);
    return rc;
}

/* Files, directories and links merged into one list by path (each array sorted, and no path
   twice across them: fc_manifest_check has passed). */
static s_entry_t *s_merge(const fc_manifest_t *m, uint32_t *n)
{
    *n = m->nfiles + m->ndirs + m->nlinks;
    s_entry_t *e = calloc(*n ? *n : 1, sizeof *e);
    if (!e)
        abort();
    uint32_t i = 0, j = 0, k = 0;
    for (uint32_t x = 0; x < *n; x++) {
        const char *fp = i < m->nfiles ? m->files[i].path : NULL;
        const char *dp = j < m->ndirs ? m->dirs[j].path : NULL;
        const char *lp = k < m->nlinks ? m->links[k].path : NULL;
        if (fp && (!dp || strcmp(fp, dp) < 0) && (!lp || strcmp(fp, lp) < 0))
            e[x] = (s_entry_t){0, i++, fp};
        else if (dp && (!lp || strcmp(dp, lp) < 0))
            e[x] = (s_entry_t){1, j++, dp};
        else
            e[x] = (s_entry_t){2, k++, lp};
    }
    return e;
}

static bool s_page_ends_after(const char *path)
{
    uint8_t h[FC_HASH_LEN];
    fc_hash_buf(h, path, strlen(path));
    return (h[0] & FC_PAGE_CUT_MASK) == 0;
}

/* Packs the top body; an fc_envelope_pack_fn. */
static int s_pack_top(const void *obj, msgpack_sbuffer *sbuf)
{
    const s_top_t *t = (const s_top_t *)obj;
    msgpack_packer pk;
    msgpack_packer_init(&pk, sbuf, msgpack_sbuffer_write);
    int rc = msgpack_pack_array(&pk, S_TOP_FIELDS);
    rc |= msgpack_pack_uint32(&pk, FC_MANIFEST_FORMAT_PARTS);
    rc |= fc_mpack_pack_str(&pk, t->m->product);
    rc |= fc_mpack_pack_str(&pk, t->m->channel);
    rc |= fc_mpack_pack_str(&pk, t->m->version);
    rc |= fc_mpack_pack_str(&pk, t->m->min_version);
    rc |= msgpack_pack_uint64(&pk, t->m->serial);
    rc |= t->m->mandatory ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk);
    rc |= msgpack_pack_int64(&pk, t->m->created);
    rc |= msgpack_pack_array(&pk, t->npages);
    for (uint32_t i = 0; rc == 0 && i < t->npages; i++) {
        rc |= msgpack_pack_array(&pk, 2);
        rc |= msgpack_pack_uint32(&pk, t->counts[i]);
        rc |= fc_mpack_pack_bin(&pk, t->pages[i].hash, FC_HASH_LEN);
    }
    return rc ? -1 : 0;
}

fc_mparts_t *fc_mparts_sign(const fc_manifest_t *m, const fc_signkey_t *key, int *err)
{
    int dummy;
    if (!err)
        err = &dummy;
    *err = m && key ? fc_manifest_check(m) : FC_EINVAL;
    if (*err)
        return NULL;
    fc_mparts_t *self = calloc(1, sizeof *self);
    fc_mparts_t lists = {0};
    uint8_t(*list_hash)[FC_HASH_LEN] = calloc(m->nfiles ? m->nfiles : 1, FC_HASH_LEN);
    if (!self || !list_hash)
        abort();
    /* Chunk lists first: a page names each by hash. Equal files share one object. */
    zhashx_t *seen = zhashx_new();
    for (uint32_t i = 0; i < m->nfiles; i++) {
        msgpack_sbuffer sbuf;
        msgpack_sbuffer_init(&sbuf);
        if (s_pack_chunks(&sbuf, &m->files[i]) != 0 || sbuf.size > FC_MAX_CHUNKLIST) {
            msgpack_sbuffer_destroy(&sbuf);
            *err = FC_ETOOBIG; /* a packer fails only out of memory, or a list over its bound */
            break;
        }
        s_obj_add(&lists, FC_MOBJ_CHUNKS, &sbuf);
        fc_mobj_t *o = &lists.objs[lists.nobjs - 1];
        memcpy(o->blob, m->files[i].hash, FC_HASH_LEN);
        memcpy(list_hash[i], o->hash, FC_HASH_LEN);
        char hex[2 * FC_HASH_LEN + 1];
        fc_hash_hex(o->hash, hex);
        if (zhashx_lookup(seen, hex)) {
            free(o->data);
            lists.nobjs--;
        } else
            zhashx_insert(seen, hex, o);
    }
    zhashx_destroy(&seen);
    uint32_t n = 0;
    s_entry_t *e = s_merge(m, &n);
    uint32_t *counts = calloc(n ? n : 1, sizeof *counts);
    if (!counts)
        abort();
    for (uint32_t start = 0; *err == 0 && start < n;) {
        uint32_t end = start + 1;
        while (end < n && end - start < FC_PAGE_MAX_ENTRIES && !s_page_ends_after(e[end - 1].path))
            end++;
        msgpack_sbuffer sbuf;
        msgpack_sbuffer_init(&sbuf);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);
        int rc = msgpack_pack_array(&pk, end - start);
        for (uint32_t x = start; rc == 0 && x < end; x++)
            rc = e[x].kind == 0   ? s_pack_file(&pk, &m->files[e[x].index], list_hash[e[x].index])
                 : e[x].kind == 1 ? fc_manifest_pack_dir(&pk, &m->dirs[e[x].index])
                                  : fc_manifest_pack_link(&pk, &m->links[e[x].index]);
        if (rc != 0 || sbuf.size > FC_MAX_PAGE) {
            msgpack_sbuffer_destroy(&sbuf);
            *err = FC_ETOOBIG;
            break;
        }
        counts[self->npages++] = end - start;
        s_obj_add(self, FC_MOBJ_PAGE, &sbuf);
        start = end;
    }
    if (*err == 0) {
        s_top_t t = {m, self->objs, counts, self->npages};
        self->top = fc_envelope_seal_body(s_pack_top, &t, key, FC_MAX_MANIFEST, &self->top_len);
        if (!self->top)
            *err = FC_ETOOBIG;
    }
    /* The pages, then the lists. */
    for (uint32_t i = 0; i < lists.nobjs; i++) {
        fc_mobj_t *grown = realloc(self->objs, (self->nobjs + 1) * sizeof *self->objs);
        if (!grown)
            abort();
        self->objs = grown;
        self->objs[self->nobjs++] = lists.objs[i];
    }
    free(lists.objs);
    free(counts);
    free(e);
    free(list_hash);
    if (*err)
        fc_mparts_destroy(&self);
    return self;
}

void fc_mparts_destroy(fc_mparts_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fc_mparts_t *self = *self_p;
    for (uint32_t i = 0; i < self->nobjs; i++)
        free(self->objs[i].data);
    free(self->objs);
    free(self->top);
    free(self);
    *self_p = NULL;
}

const fc_mobj_t *fc_mparts_find(const fc_mparts_t *self, const uint8_t hash[FC_HASH_LEN])
{
    for (uint32_t i = 0; self && i < self->nobjs; i++)
        if (fc_hash_equal(self->objs[i].hash, hash))
            return &self->objs[i];
    return NULL;
}

int fc_mobj_check(const uint8_t hash[FC_HASH_LEN], const uint8_t *data, size_t len)
{
    if (len == 0 || !data)
        return FC_EPROTO;
    if (len > FC_MAX_OBJECT)
        return FC_ETOOBIG;
    uint8_t got[FC_HASH_LEN];
    fc_hash_buf(got, data, len);
    return fc_hash_equal(got, hash) ? FC_OK : FC_EHASH;
}

/* ---------------------------------------------------------------------------------------- */
/* Decoding and reassembly */

int fc_mpage_decode(const uint8_t *buf, size_t len, fc_manifest_t *m, const char **prev,
                    uint32_t *nentries)
{
    if (len > FC_MAX_PAGE)
        return FC_ETOOBIG;
    msgpack_zone zone;
    msgpack_zone_init(&zone, 4096);
    msgpack_object obj;
    const msgpack_object *entries;
    size_t n = 0;
    int rc = fc_mpack_unpack_max(buf, len, S_OBJ_DEPTH, len / 4 + 64, &zone, &obj);
    if (!rc)
        rc = fc_mpack_array(&obj, FC_PAGE_MAX_ENTRIES, -1, &entries, &n);
    if (!rc && n == 0)
        rc = FC_EPROTO; /* a page holds at least one entry */
    if (!rc && (uint64_t)m->nfiles + m->ndirs + m->nlinks + n > FC_MAX_FILES)
        rc = FC_ETOOBIG;
    for (size_t i = 0; !rc && i < n; i++)
        rc = fc_manifest_decode_entry(&entries[i], m, prev, FC_MANIFEST_FORMAT_PARTS);
    msgpack_zone_destroy(&zone);
    *nentries = (uint32_t)n;
    return rc;
}

int fc_mchunks_decode(const uint8_t *buf, size_t len, fc_file_t *f)
{
    if (len > FC_MAX_CHUNKLIST)
        return FC_ETOOBIG;
    if (f->chunks)
        return FC_EINVAL;
    msgpack_zone zone;
    msgpack_zone_init(&zone, 4096);
    msgpack_object obj;
    int rc = fc_mpack_unpack_max(buf, len, S_OBJ_DEPTH, len / 4 + 64, &zone, &obj);
    if (!rc)
        rc = fc_manifest_decode_chunks(&obj, FC_MAX_CHUNKLIST / S_MIN_CHUNK_BYTES, f);
    msgpack_zone_destroy(&zone);
    return rc;
}

/* Decodes the top body's fields into m; the page references into *refs (owned). */
static int s_decode_top(const msgpack_object *o, fc_manifest_t *m, fc_mref_t **refs,
                        uint32_t **counts, uint32_t *npages)
{
    const msgpack_object *fld, *pages;
    size_t n, np = 0;
    int rc = fc_mpack_array(o, 64, -1, &fld, &n);
    if (rc == FC_ETOOBIG || (rc == 0 && n == 0))
        rc = FC_EPROTO;
    if (!rc)
        rc = fc_mpack_u32(&fld[0], &m->format);
    if (!rc && m->format > FC_MANIFEST_FORMAT_PARTS)
        return FC_EFORMAT;
    if (!rc && (m->format != FC_MANIFEST_FORMAT_PARTS || n != S_TOP_FIELDS))
        rc = FC_EPROTO;
    if (!rc)
        rc = fc_manifest_decode_head(fld, m);
    if (!rc)
        rc = fc_mpack_array(&fld[8], FC_MAX_FILES, -1, &pages, &np);
    if (!rc && !(*refs = calloc(np ? np : 1, sizeof **refs)))
        rc = FC_ENOMEM;
    if (!rc && !(*counts = calloc(np ? np : 1, sizeof **counts)))
        rc = FC_ENOMEM;
    uint64_t total = 0;
    for (size_t i = 0; !rc && i < np; i++) {
        const msgpack_object *r;
        size_t rn;
        rc = fc_mpack_array(&pages[i], 2, 2, &r, &rn);
        if (!rc)
            rc = fc_mpack_u32(&r[0], &(*counts)[i]);
        if (!rc && ((*counts)[i] == 0 || (*counts)[i] > FC_PAGE_MAX_ENTRIES))
            rc = FC_EPROTO;
        if (!rc && (total += (*counts)[i]) > FC_MAX_FILES)
            rc = FC_ETOOBIG;
        if (!rc)
            rc = fc_mpack_hash(&r[1], (*refs)[i].hash);
        (*refs)[i].kind = FC_MOBJ_PAGE;
    }
    *npages = (uint32_t)np;
    return rc;
}

/* Fetches an object through get and checks its size and name; damage names it in missing. */
static const uint8_t *s_get(fc_mobj_get_fn *get, void *arg, fc_mobj_kind_t kind,
                            const uint8_t hash[FC_HASH_LEN], size_t *len, int *rc)
{
    const uint8_t *data = get(hash, len, arg);
    if (!data)
        return NULL;
    uint8_t h[FC_HASH_LEN];
    if (*len > (kind == FC_MOBJ_PAGE ? FC_MAX_PAGE : FC_MAX_CHUNKLIST))
        *rc = FC_ETOOBIG;
    else {
        fc_hash_buf(h, data, *len);
        if (!fc_hash_equal(h, hash))
            *rc = FC_EHASH;
    }
    return data;
}

uint64_t fc_mref_path_key(const char *path)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const unsigned char *p = (const unsigned char *)path; *p; p++)
        h = (h ^ *p) * 0x100000001b3ULL;
    return h ? h : 1;
}

static void s_miss(fc_mref_t *missing, size_t max, size_t *n, fc_mobj_kind_t kind,
                   const uint8_t hash[FC_HASH_LEN], const char *path)
{
    for (size_t i = 0; i < *n; i++)
        if (fc_hash_equal(missing[i].hash, hash))
            return; /* a list shared by two files is asked for once */
    if (*n < max) {
        missing[*n].kind = kind;
        memcpy(missing[*n].hash, hash, FC_HASH_LEN);
        missing[*n].path_key = path ? fc_mref_path_key(path) : 0;
        (*n)++;
    }
}

fc_manifest_t *fc_manifest_assemble(const uint8_t *top, size_t len, const fc_trust_t *trust,
                                    fc_mobj_get_fn *get, void *arg, fc_mref_t *missing,
                                    size_t max_missing, size_t *nmissing, int *err)
{
    int dummy;
    if (!err)
        err = &dummy;
    size_t nm_dummy;
    if (!nmissing)
        nmissing = &nm_dummy;
    if (!missing)
        max_missing = 0;
    *nmissing = 0;
    const uint8_t *body = NULL;
    size_t body_len = 0;
    uint8_t signer[FC_PUBKEY_LEN];
    msgpack_zone zone;
    msgpack_zone_init(&zone, 4096);
    msgpack_object obj;
    fc_mref_t *refs = NULL;
    uint32_t *counts = NULL, npages = 0;
    bool lacking = false;
    fc_manifest_t *m = fc_manifest_new();
    int rc = get ? fc_envelope_open(top, len, FC_MAX_MANIFEST, trust, &body, &body_len, signer)
                 : FC_EINVAL;
    if (!rc)
        rc = fc_mpack_unpack_max(body, body_len, S_TOP_DEPTH, body_len / 4 + 64, &zone, &obj);
    if (!rc)
        rc = s_decode_top(&obj, m, &refs, &counts, &npages);
    /* Every page present first: what they name is known only once they are read. */
    for (uint32_t i = 0; !rc && i < npages; i++) {
        size_t plen;
        if (!get(refs[i].hash, &plen, arg)) {
            s_miss(missing, max_missing, nmissing, FC_MOBJ_PAGE, refs[i].hash, NULL);
            lacking = true;
        }
    }
    const char *prev = NULL;
    for (uint32_t i = 0; !rc && !lacking && i < npages; i++) {
        size_t plen = 0;
        uint32_t got = 0;
        const uint8_t *page = s_get(get, arg, FC_MOBJ_PAGE, refs[i].hash, &plen, &rc);
        if (!page)
            rc = FC_ENOTFOUND; /* it was there a moment ago: the caller's store changed */
        if (rc == FC_EHASH || rc == FC_ETOOBIG) {
            *nmissing = 0;
            s_miss(missing, max_missing, nmissing, FC_MOBJ_PAGE, refs[i].hash, NULL);
        }
        if (!rc)
            rc = fc_mpage_decode(page, plen, m, &prev, &got);
        if (!rc && got != counts[i])
            rc = FC_EPROTO;
    }
    for (uint32_t i = 0; !rc && i < m->nfiles; i++) {
        fc_file_t *f = &m->files[i];
        size_t llen = 0;
        const uint8_t *list = s_get(get, arg, FC_MOBJ_CHUNKS, f->list_hash, &llen, &rc);
        if (!list && !rc) {
            s_miss(missing, max_missing, nmissing, FC_MOBJ_CHUNKS, f->list_hash, f->path);
            lacking = true;
            continue;
        }
        if (rc == FC_EHASH || rc == FC_ETOOBIG) {
            *nmissing = 0;
            s_miss(missing, max_missing, nmissing, FC_MOBJ_CHUNKS, f->list_hash, f->path);
        }
        if (!rc && !lacking)
            rc = fc_mchunks_decode(list, llen, f);
    }
    if (!rc && lacking)
        rc = FC_ENOTFOUND;
    if (!rc) {
        memcpy(m->signer, signer, FC_PUBKEY_LEN);
        rc = fc_manifest_check(m);
    }
    if (rc && rc != FC_ENOTFOUND && rc != FC_EHASH && rc != FC_ETOOBIG)
        *nmissing = 0;
    if (rc)
        fc_manifest_destroy(&m);
    free(refs);
    free(counts);
    msgpack_zone_destroy(&zone);
    *err = rc;
    return m;
}

/* ---------------------------------------------------------------------------------------- */
/* Self-test */

/* The objects an agent holds: copies, looked up by name. */
typedef struct {
    fc_mobj_t objs[4096];
    uint32_t n;
} s_cache_t;

static const uint8_t *s_cache_get(const uint8_t hash[FC_HASH_LEN], size_t *len, void *arg)
{
    s_cache_t *c = (s_cache_t *)arg;
    for (uint32_t i = 0; i < c->n; i++)
        if (fc_hash_equal(c->objs[i].hash, hash)) {
            *len = c->objs[i].len;
            return c->objs[i].data;
        }
    return NULL;
}

static void s_cache_put(s_cache_t *c, const fc_mobj_t *o)
{
    FC_CHECK(c->n < 4096);
    c->objs[c->n] = *o;
    c->objs[c->n].data = malloc(o->len ? o->len : 1);
    FC_CHECK(c->objs[c->n].data);
    memcpy(c->objs[c->n].data, o->data, o->len);
    c->n++;
}

static void s_cache_clear(s_cache_t *c)
{
    for (uint32_t i = 0; i < c->n; i++)
        free(c->objs[i].data);
    c->n = 0;
}

/* A file of n chunks of the given length, with hashes made from seed. */
static void s_file(fc_manifest_t *m, const char *path, uint32_t n, uint32_t length,
                   const char *seed)
{
    m->files = realloc(m->files, (m->nfiles + 1) * sizeof *m->files);
    FC_CHECK(m->files);
    fc_file_t *f = &m->files[m->nfiles++];
    memset(f, 0, sizeof *f);
    f->path = strdup(path);
    f->mode = 0644;
    f->mtime = (fc_mtime_t){1700000000, 5};
    f->nchunks = n;
    f->chunks = calloc(n + 1, sizeof *f->chunks);
    uint8_t(*hashes)[FC_HASH_LEN] = calloc(n + 1, FC_HASH_LEN);
    FC_CHECK(f->path && f->chunks && hashes);
    for (uint32_t j = 0; j < n; j++) {
        char s[300];
        int len = snprintf(s, sizeof s, "%s#%u", seed, j);
        f->chunks[j] = (fc_chunk_t){f->size, length, {0}};
        fc_hash_buf(f->chunks[j].hash, s, (size_t)len);
        memcpy(hashes[j], f->chunks[j].hash, FC_HASH_LEN);
        f->size += length;
    }
    fc_hash_of_chunks(f->hash, (const uint8_t(*)[FC_HASH_LEN])hashes, n);
    free(hashes);
}

static fc_manifest_t *s_sample(uint32_t nfiles, uint32_t chunks_per_file)
{
    fc_manifest_t *m = fc_manifest_new();
    strcpy(m->product, "app");
    strcpy(m->channel, "stable");
    strcpy(m->version, "2.0");
    m->serial = 9;
    m->created = 1700000000;
    fc_manifest_add_dir(m, "d", 0755, (fc_mtime_t){1, 2});
    for (uint32_t i = 0; i < nfiles; i++) {
        char path[64];
        snprintf(path, sizeof path, "d/f-%05u.bin", i);
        s_file(m, path, chunks_per_file, 65536, path);
    }
    fc_manifest_add_link(m, "d/link", "f-00000.bin", (fc_mtime_t){3, 4}, false);
    fc_manifest_add_link(m, "e", "d/f-00001.bin", (fc_mtime_t){0, 0}, false);
    return m;
}

/* Assembles with every object of parts in the cache; checks it equals m. */
static void s_round_trip(const fc_manifest_t *m, const fc_mparts_t *p, const fc_trust_t *trust)
{
    s_cache_t *c = calloc(1, sizeof *c);
    FC_CHECK(c);
    for (uint32_t i = 0; i < p->nobjs; i++)
        s_cache_put(c, &p->objs[i]);
    int err = -1;
    size_t nm = 9;
    fc_manifest_t *back =
        fc_manifest_assemble(p->top, p->top_len, trust, s_cache_get, c, NULL, 0, &nm, &err);
    FC_CHECK(back && err == FC_OK && nm == 0 && back->format == FC_MANIFEST_FORMAT_PARTS);
    char why[256];
    FC_CHECK(fc_manifest_same_entries(m, back, why, sizeof why));
    FC_CHECK(back->serial == m->serial && strcmp(back->version, m->version) == 0);
    for (uint32_t i = 0; i < m->nfiles; i++) {
        FC_CHECK(back->files[i].nchunks == m->files[i].nchunks);
        for (uint32_t j = 0; j < m->files[i].nchunks; j++)
            FC_CHECK(
                memcmp(&back->files[i].chunks[j], &m->files[i].chunks[j], sizeof(fc_chunk_t)) == 0);
    }
    fc_manifest_destroy(&back);
    s_cache_clear(c);
    free(c);
}

/* Fetching what is missing, in two rounds (pages, then the lists they name); a damaged or
   oversize object is named to fetch again. */
static void s_test_fetch(const fc_mparts_t *p, const fc_trust_t *trust)
{
    s_cache_t *c = calloc(1, sizeof *c);
    fc_mref_t miss[4096];
    size_t nm = 0;
    int err = 0;
    FC_CHECK(c);
    FC_CHECK(
        !fc_manifest_assemble(p->top, p->top_len, trust, s_cache_get, c, miss, 4096, &nm, &err));
    FC_CHECK(err == FC_ENOTFOUND && nm == p->npages);
    for (size_t i = 0; i < nm; i++)
        FC_CHECK(miss[i].kind == FC_MOBJ_PAGE && fc_mparts_find(p, miss[i].hash) == &p->objs[i]);
    /* A page damaged in the cache (or by the broker): EHASH, named to fetch again. */
    s_cache_put(c, &p->objs[0]);
    c->objs[0].data[c->objs[0].len / 2] ^= 1;
    for (uint32_t i = 1; i < p->npages; i++)
        s_cache_put(c, &p->objs[i]);
    FC_CHECK(
        !fc_manifest_assemble(p->top, p->top_len, trust, s_cache_get, c, miss, 4096, &nm, &err));
    FC_CHECK(err == FC_EHASH && nm == 1 && miss[0].kind == FC_MOBJ_PAGE &&
             fc_hash_equal(miss[0].hash, p->objs[0].hash));
    c->objs[0].data[c->objs[0].len / 2] ^= 1;
    /* Pages present: the lists are what is missing, each once. */
    FC_CHECK(
        !fc_manifest_assemble(p->top, p->top_len, trust, s_cache_get, c, miss, 4096, &nm, &err));
    FC_CHECK(err == FC_ENOTFOUND && nm == p->nobjs - p->npages);
    for (size_t i = 0; i < nm; i++)
        FC_CHECK(miss[i].kind == FC_MOBJ_CHUNKS && fc_mparts_find(p, miss[i].hash));
    /* At most max_missing are named; still FC_ENOTFOUND. */
    FC_CHECK(!fc_manifest_assemble(p->top, p->top_len, trust, s_cache_get, c, miss, 1, &nm, &err));
    FC_CHECK(err == FC_ENOTFOUND && nm == 1);
    /* An oversize list under the right name is refused before it is hashed. */
    const fc_mobj_t *list = &p->objs[p->npages];
    fc_mobj_t big = *list;
    big.len = FC_MAX_CHUNKLIST + 1;
    big.data = calloc(1, big.len);
    FC_CHECK(big.data);
    s_cache_put(c, &big);
    free(big.data);
    FC_CHECK(
        !fc_manifest_assemble(p->top, p->top_len, trust, s_cache_get, c, miss, 4096, &nm, &err));
    FC_CHECK(err == FC_ETOOBIG && nm == 1 && fc_hash_equal(miss[0].hash, list->hash));
    /* Replaced by the real one, and the rest fetched: the whole manifest. */
    free(c->objs[c->n - 1].data);
    c->n--;
    for (uint32_t i = p->npages; i < p->nobjs; i++)
        s_cache_put(c, &p->objs[i]);
    fc_manifest_t *m =
        fc_manifest_assemble(p->top, p->top_len, trust, s_cache_get, c, miss, 4096, &nm, &err);
    FC_CHECK(m && err == FC_OK && nm == 0);
    fc_manifest_destroy(&m);
    /* A reader of formats 1 and 2 refuses the top level as too new, never misreads it. */
    FC_CHECK(fc_manifest_format_of(p->top, p->top_len) == FC_MANIFEST_FORMAT_PARTS);
    FC_CHECK(!fc_manifest_parse(p->top, p->top_len, trust, &err) && err == FC_EFORMAT);
    /* An untrusted signer: refused before any object is looked at. */
    fc_trust_t *none = fc_trust_new();
    FC_CHECK(
        !fc_manifest_assemble(p->top, p->top_len, none, s_cache_get, c, miss, 4096, &nm, &err));
    FC_CHECK(err == FC_EUNTRUSTED && nm == 0);
    fc_trust_destroy(&none);
    s_cache_clear(c);
    free(c);
}

/* Hostile objects, each under its right name (a leaked key signs anything). */
static void s_test_hostile(const fc_signkey_t *key, const fc_trust_t *trust)
{
    fc_manifest_t *m = fc_manifest_new();
    const char *prev = NULL;
    uint32_t n = 0;
    /* An empty page; trailing bytes; a format-2 file entry (chunks inline); not an array. */
    const uint8_t empty[] = {0x90}, trailing[] = {0x90, 0x00}, scalar[] = {0x01};
    FC_CHECK(fc_mpage_decode(empty, sizeof empty, m, &prev, &n) == FC_EPROTO);
    FC_CHECK(fc_mpage_decode(trailing, sizeof trailing, m, &prev, &n) == FC_EPROTO);
    FC_CHECK(fc_mpage_decode(scalar, sizeof scalar, m, &prev, &n) == FC_EPROTO);
    /* 257 entries: over FC_PAGE_MAX_ENTRIES. */
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, FC_PAGE_MAX_ENTRIES + 1);
    for (uint32_t i = 0; i <= FC_PAGE_MAX_ENTRIES; i++) {
        char path[32];
        snprintf(path, sizeof path, "d%05u", i);
        fc_dir_t d = {path, 0755, {0, 0}};
        fc_manifest_pack_dir(&pk, &d);
    }
    FC_CHECK(fc_mpage_decode((uint8_t *)sbuf.data, sbuf.size, m, &prev, &n) == FC_ETOOBIG);
    msgpack_sbuffer_destroy(&sbuf);
    fc_manifest_destroy(&m);
    /* A page of a format-2 file: the chunk array where the list's hash belongs. */
    m = fc_manifest_new();
    strcpy(m->product, "app");
    strcpy(m->channel, "stable");
    strcpy(m->version, "1");
    s_file(m, "x", 1, 100, "x");
    msgpack_sbuffer_init(&sbuf);
    msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 1);
    msgpack_pack_array(&pk, S_FILE_FIELDS);
    msgpack_pack_uint32(&pk, 0);
    fc_mpack_pack_str(&pk, "x");
    fc_manifest_pack_mtime(&pk, (fc_mtime_t){0, 0});
    msgpack_pack_uint32(&pk, 0644);
    msgpack_pack_uint64(&pk, 1);
    fc_mpack_pack_bin(&pk, m->files[0].hash, FC_HASH_LEN);
    msgpack_pack_array(&pk, 0);
    fc_manifest_t *into = fc_manifest_new();
    prev = NULL;
    FC_CHECK(fc_mpage_decode((uint8_t *)sbuf.data, sbuf.size, into, &prev, &n) == FC_EPROTO);
    fc_manifest_destroy(&into);
    msgpack_sbuffer_destroy(&sbuf);
    /* Chunk lists: a chunk of length 0 decodes, and the whole manifest is refused. */
    fc_file_t f = {0};
    const uint8_t three[] = {0x91, 0x92, 0x00}; /* [[0, ...truncated */
    FC_CHECK(fc_mchunks_decode(three, sizeof three, &f) == FC_EPROTO);
    free(f.chunks);
    /* A top whose page count disagrees with its page: refused, not fetched again. */
    int err = 0;
    fc_mparts_t *p = fc_mparts_sign(m, key, &err);
    FC_CHECK(p && err == 0 && p->npages == 1);
    uint32_t wrong = 2;
    s_top_t t = {m, p->objs, &wrong, 1};
    size_t len = 0;
    uint8_t *top = fc_envelope_seal_body(s_pack_top, &t, key, FC_MAX_MANIFEST, &len);
    s_cache_t *c = calloc(1, sizeof *c);
    FC_CHECK(top && c);
    for (uint32_t i = 0; i < p->nobjs; i++)
        s_cache_put(c, &p->objs[i]);
    fc_mref_t miss[4];
    size_t nm = 7;
    FC_CHECK(!fc_manifest_assemble(top, len, trust, s_cache_get, c, miss, 4, &nm, &err));
    FC_CHECK(err == FC_EPROTO && nm == 0);
    free(top);
    /* A chunk list that does not add up to its file's size: the file's rules refuse it. */
    m->files[0].size++;
    FC_CHECK(!fc_mparts_sign(m, key, &err) && err == FC_EPROTO);
    m->files[0].size--;
    s_cache_clear(c);
    free(c);
    fc_mparts_destroy(&p);
    fc_manifest_destroy(&m);
}

/* Issue 13's target: a 1 GiB release of 1000 files of 16 chunks; one chunk changes. What an
   agent holding the old release's objects fetches: the new top, and the new objects. */
static void s_test_cost(const fc_signkey_t *key, bool verbose)
{
    fc_manifest_t *m = s_sample(1000, 16);
    int err = 0;
    size_t v2 = 0;
    uint8_t *whole = fc_manifest_sign(m, key, &v2);
    fc_mparts_t *a = fc_mparts_sign(m, key, &err);
    FC_CHECK(whole && a);
    /* One chunk of one file replaced (a 4 KiB overwrite inside it), its time changed. */
    fc_file_t *f = &m->files[500];
    fc_hash_buf(f->chunks[3].hash, "changed", 7);
    uint8_t hashes[16][FC_HASH_LEN];
    for (uint32_t j = 0; j < 16; j++)
        memcpy(hashes[j], f->chunks[j].hash, FC_HASH_LEN);
    fc_hash_of_chunks(f->hash, (const uint8_t(*)[FC_HASH_LEN])hashes, 16);
    f->mtime.sec++;
    m->serial++;
    fc_mparts_t *b = fc_mparts_sign(m, key, &err);
    FC_CHECK(b);
    size_t cost = b->top_len, objs = 0;
    for (uint32_t i = 0; i < b->nobjs; i++)
        if (!fc_mparts_find(a, b->objs[i].hash)) {
            cost += b->objs[i].len;
            objs++;
        }
    FC_CHECK(objs == 2);         /* the page holding the file, and its list */
    FC_CHECK(cost <= 64 * 1024); /* issue 13's bound */
    FC_CHECK(cost * 20 < v2);    /* against the whole format-2 manifest */
    if (verbose)
        printf("(1000 files x 16 chunks: format 2 %zu B; format 3 top %zu B, %u pages, a "
               "one-chunk change costs %zu B in %zu objects) ",
               v2, b->top_len, b->npages, cost, objs);
    free(whole);
    fc_mparts_destroy(&a);
    fc_mparts_destroy(&b);
    fc_manifest_destroy(&m);
}

void fc_manifest_parts_test(bool verbose)
{
    printf(" * fc_manifest_parts: ");
    FC_CHECK(fc_crypto_init() == 0);
    fc_signkey_t key;
    fc_signkey_generate(&key);
    fc_trust_t *trust = fc_trust_new();
    fc_trust_add(trust, key.pk);

    /* Round trips: an empty release, one file, many pages, files sharing a list. */
    fc_manifest_t *m = fc_manifest_new();
    strcpy(m->product, "app");
    strcpy(m->channel, "stable");
    strcpy(m->version, "1");
    int err = 0;
    fc_mparts_t *p = fc_mparts_sign(m, &key, &err);
    FC_CHECK(p && p->npages == 0 && p->nobjs == 0);
    s_round_trip(m, p, trust);
    fc_mparts_destroy(&p);
    fc_manifest_destroy(&m);
    m = s_sample(2000, 3);
    p = fc_mparts_sign(m, &key, &err);
    FC_CHECK(p && p->npages > 2000 / FC_PAGE_MAX_ENTRIES && p->nobjs == p->npages + 2000);
    for (uint32_t i = 0; i < p->npages; i++)
        FC_CHECK(p->objs[i].kind == FC_MOBJ_PAGE && p->objs[i].len <= FC_MAX_PAGE);
    s_round_trip(m, p, trust);
    s_test_fetch(p, trust);
    fc_mparts_destroy(&p);
    fc_manifest_destroy(&m);
    m = s_sample(0, 0);
    s_file(m, "same-1", 2, 100, "same");
    s_file(m, "same-2", 2, 100, "same");
    s_file(m, "zero", 0, 0, "");
    p = fc_mparts_sign(m, &key, &err);
    FC_CHECK(p && p->nobjs == p->npages + 2); /* the shared list once, the empty one */
    s_round_trip(m, p, trust);
    s_test_fetch(p, trust);
    fc_mparts_destroy(&p);
    fc_manifest_destroy(&m);

    s_test_hostile(&key, trust);
    s_test_cost(&key, verbose);
    fc_trust_destroy(&trust);
    fc_signkey_wipe(&key);
    printf("OK\n");
}
