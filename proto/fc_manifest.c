/* fc_manifest.c: the signed release manifest: validate, encode and sign, parse and verify. */
#define _GNU_SOURCE /* strverscmp */
#include "fc_manifest.h"
#include "fc_envelope.h"
#include "fc_error.h"
#include "fc_hash.h"
#include "fc_mpack.h"
#include "fc_test_check.h"

#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_FORMAT 1
#define S_BODY_FIELDS 10
#define S_FILE_FIELDS 5
/* body -> files -> file -> chunks -> chunk: five levels (the envelope is fc_envelope's). */
#define S_BODY_DEPTH 5

fc_manifest_t *fc_manifest_new(void)
{
    fc_manifest_t *self = calloc(1, sizeof *self);
    if (!self)
        abort(); /* like CZMQ: out of memory is not recoverable here */
    self->chunk_size = FC_CHUNK_SIZE;
    return self;
}

static void s_free_files(fc_manifest_t *self)
{
    for (uint32_t i = 0; self->files && i < self->nfiles; i++) {
        free(self->files[i].path);
        free(self->files[i].chunks);
    }
    free(self->files);
    self->files = NULL;
    self->nfiles = 0;
}

void fc_manifest_destroy(fc_manifest_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    s_free_files(*self_p);
    free(*self_p);
    *self_p = NULL;
}

uint64_t fc_manifest_total_size(const fc_manifest_t *self)
{
    uint64_t total = 0;
    for (uint32_t i = 0; i < self->nfiles; i++)
        total += self->files[i].size;
    return total;
}

static int s_file_cmp(const void *key, const void *elem)
{
    return strcmp((const char *)key, ((const fc_file_t *)elem)->path);
}

const fc_file_t *fc_manifest_find(const fc_manifest_t *self, const char *path)
{
    if (!self || !path || self->nfiles == 0)
        return NULL;
    return bsearch(path, self->files, self->nfiles, sizeof(fc_file_t), s_file_cmp);
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

/* True if some file's path is a directory prefix of another's ("a" and "a/b"): such a
   release cannot be installed, and would let a file be written where a directory is. */
static bool s_file_dir_clash(const fc_manifest_t *self)
{
    char prefix[FC_MAX_PATH + 1];
    for (uint32_t i = 0; i < self->nfiles; i++) {
        const char *path = self->files[i].path;
        for (const char *s = strchr(path, '/'); s; s = strchr(s + 1, '/')) {
            size_t n = (size_t)(s - path);
            memcpy(prefix, path, n);
            prefix[n] = '\0';
            if (fc_manifest_find(self, prefix))
                return true;
        }
    }
    return false;
}

/* Every semantic rule of section 5 of PROTOCOL.md, on a decoded or hand-filled manifest.
   Shared by parse and sign, so a signed manifest always parses. Returns fc_error_t. */
static int s_validate(const fc_manifest_t *self)
{
    if (!fc_name_valid(self->product) || !fc_name_valid(self->channel) ||
        !fc_name_valid(self->version) ||
        (self->min_version[0] && !fc_name_valid(self->min_version)))
        return FC_EPROTO;
    if (self->chunk_size != FC_CHUNK_SIZE)
        return FC_EPROTO;
    if (self->nfiles > FC_MAX_FILES)
        return FC_ETOOBIG;
    if (self->nfiles > 0 && !self->files)
        return FC_EINVAL;
    uint8_t(*hashes)[FC_HASH_LEN] = NULL;
    uint32_t hashes_cap = 0;
    int rc = FC_OK;
    for (uint32_t i = 0; rc == FC_OK && i < self->nfiles; i++) {
        const fc_file_t *f = &self->files[i];
        if (!fc_path_valid(f->path)) {
            rc = FC_EPATH;
            break;
        }
        /* Strictly increasing: sorted for binary search, and no path listed twice. */
        if (i > 0 && strcmp(self->files[i - 1].path, f->path) >= 0) {
            rc = FC_EPROTO;
            break;
        }
        if (f->mode & ~0777u) {
            rc = FC_EPROTO; /* no setuid, setgid or sticky bits from the network */
            break;
        }
        if (f->size > FC_MAX_FILE_SIZE) {
            rc = FC_ETOOBIG;
            break;
        }
        uint64_t want = f->size / self->chunk_size + (f->size % self->chunk_size != 0);
        if (f->nchunks != want || (f->nchunks > 0 && !f->chunks)) {
            rc = FC_EPROTO;
            break;
        }
        if (f->nchunks > hashes_cap) {
            void *nh = realloc(hashes, (size_t)f->nchunks * FC_HASH_LEN);
            if (!nh) {
                rc = FC_ENOMEM;
                break;
            }
            hashes = nh;
            hashes_cap = f->nchunks;
        }
        for (uint32_t j = 0; j < f->nchunks; j++) {
            const fc_chunk_t *c = &f->chunks[j];
            uint64_t offset = (uint64_t)j * self->chunk_size;
            uint64_t left = f->size - offset;
            if (c->offset != offset ||
                c->length != (left < self->chunk_size ? left : self->chunk_size)) {
                rc = FC_EPROTO;
                break;
            }
            memcpy(hashes[j], c->hash, FC_HASH_LEN);
        }
        if (rc != FC_OK)
            break;
        uint8_t h[FC_HASH_LEN];
        fc_hash_of_chunks(h, (const uint8_t(*)[FC_HASH_LEN])hashes, f->nchunks);
        if (!fc_hash_equal(h, f->hash))
            rc = FC_EHASH;
    }
    free(hashes);
    if (rc == FC_OK && s_file_dir_clash(self))
        rc = FC_EPATH;
    return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* Encoding and signing */

/* Packs the body exactly as the fields say, without judging them (the self-test uses this
   to build hostile manifests). 0 or -1. */
/* fc_envelope_pack_fn of a manifest. */
static int s_encode_body(const void *obj, msgpack_sbuffer *sbuf)
{
    const fc_manifest_t *self = (const fc_manifest_t *)obj;
    msgpack_packer pk;
    msgpack_packer_init(&pk, sbuf, msgpack_sbuffer_write);
    int rc = msgpack_pack_array(&pk, S_BODY_FIELDS);
    rc |= msgpack_pack_uint32(&pk, S_FORMAT);
    rc |= fc_mpack_pack_str(&pk, self->product);
    rc |= fc_mpack_pack_str(&pk, self->channel);
    rc |= fc_mpack_pack_str(&pk, self->version);
    rc |= fc_mpack_pack_str(&pk, self->min_version);
    rc |= msgpack_pack_uint64(&pk, self->serial);
    rc |= self->mandatory ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk);
    rc |= msgpack_pack_int64(&pk, self->created);
    rc |= msgpack_pack_uint32(&pk, self->chunk_size);
    rc |= msgpack_pack_array(&pk, self->nfiles);
    for (uint32_t i = 0; rc == 0 && i < self->nfiles; i++) {
        const fc_file_t *f = &self->files[i];
        rc |= msgpack_pack_array(&pk, S_FILE_FIELDS);
        rc |= fc_mpack_pack_str(&pk, f->path ? f->path : "");
        rc |= msgpack_pack_uint32(&pk, f->mode);
        rc |= msgpack_pack_uint64(&pk, f->size);
        rc |= fc_mpack_pack_bin(&pk, f->hash, FC_HASH_LEN);
        rc |= msgpack_pack_array(&pk, f->nchunks);
        for (uint32_t j = 0; rc == 0 && j < f->nchunks; j++) {
            rc |= msgpack_pack_array(&pk, 3);
            rc |= msgpack_pack_uint64(&pk, f->chunks[j].offset);
            rc |= msgpack_pack_uint32(&pk, f->chunks[j].length);
            rc |= fc_mpack_pack_bin(&pk, f->chunks[j].hash, FC_HASH_LEN);
        }
    }
    return rc ? -1 : 0;
}

uint8_t *fc_manifest_sign(const fc_manifest_t *self, const fc_signkey_t *key, size_t *len)
{
    if (!self || !key || !len || s_validate(self) != FC_OK)
        return NULL;
    /* Over FC_MAX_MANIFEST, NULL: refuse what every receiver would refuse. */
    return fc_envelope_seal_body(s_encode_body, self, key, FC_MAX_MANIFEST, len);
}

/* ---------------------------------------------------------------------------------------- */
/* Parsing */

static int s_decode_file(const msgpack_object *o, fc_file_t *f)
{
    const msgpack_object *fld, *chunks;
    size_t n, nchunks;
    int rc = fc_mpack_array(o, S_FILE_FIELDS, S_FILE_FIELDS, &fld, &n);
    char path[FC_MAX_PATH + 1];
    if (!rc)
        rc = fc_mpack_str(&fld[0], path, sizeof path);
    if (!rc && !(f->path = strdup(path)))
        rc = FC_ENOMEM;
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
    return rc;
}

/* Decodes a body's fields with their types and counts checked; semantics are s_validate's. */
static int s_decode_body(const msgpack_object *o, fc_manifest_t *m)
{
    const msgpack_object *fld, *files;
    size_t n, nfiles;
    uint32_t format = 0;
    int rc = fc_mpack_array(o, S_BODY_FIELDS, S_BODY_FIELDS, &fld, &n);
    if (!rc)
        rc = fc_mpack_u32(&fld[0], &format);
    if (!rc && format != S_FORMAT)
        rc = FC_EPROTO;
    if (!rc)
        rc = fc_mpack_str(&fld[1], m->product, sizeof m->product);
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
    if (!rc)
        rc = fc_mpack_u32(&fld[8], &m->chunk_size);
    if (!rc)
        rc = fc_mpack_array(&fld[9], FC_MAX_FILES, -1, &files, &nfiles);
    if (!rc && nfiles > 0 && !(m->files = calloc(nfiles, sizeof(fc_file_t))))
        rc = FC_ENOMEM;
    for (size_t i = 0; !rc && i < nfiles; i++) {
        m->nfiles++;
        rc = s_decode_file(&files[i], &m->files[i]);
    }
    return rc;
}

/* fc_envelope_decode_fn: a new manifest (into *(fc_manifest_t **)out) from a body, valid,
   or none. */
static int s_decode_new(const msgpack_object *o, void *out)
{
    fc_manifest_t *self = fc_manifest_new();
    int rc = s_decode_body(o, self);
    if (!rc)
        rc = s_validate(self);
    if (rc)
        fc_manifest_destroy(&self);
    *(fc_manifest_t **)out = self;
    return rc;
}

fc_manifest_t *fc_manifest_parse(const uint8_t *buf, size_t len, const fc_trust_t *trust, int *err)
{
    int dummy;
    if (!err)
        err = &dummy;
    fc_manifest_t *self = NULL;
    uint8_t signer[FC_PUBKEY_LEN];
    /* A legal body spends at least 6 bytes per msgpack object, so a budget of one object per
       4 bytes only stops a body built to make msgpack-c allocate far more than its size. */
    *err = fc_envelope_open_body(buf, len, FC_MAX_MANIFEST, trust, S_BODY_DEPTH, 4, s_decode_new,
                                 &self, signer);
    if (self)
        memcpy(self->signer, signer, FC_PUBKEY_LEN);
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
    return m;
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
    FC_CHECK(a->created == b->created && a->chunk_size == b->chunk_size);
    FC_CHECK(a->nfiles == b->nfiles);
    for (uint32_t i = 0; i < a->nfiles; i++) {
        const fc_file_t *x = &a->files[i], *y = &b->files[i];
        FC_CHECK(!strcmp(x->path, y->path) && x->mode == y->mode && x->size == y->size);
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
    m->files[1].chunks[1].offset += 1; /* gap */
    FC_CHECK(s_parse_hostile(&m, key) == FC_EPROTO);
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
    m->chunk_size = 4096;
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

    /* Wrong msgpack shapes and types; format 2; trailing bytes in the body. */
    for (int variant = 0; variant <= 4; variant++)
        FC_CHECK(s_parse_wrong_type(variant, key) == FC_EPROTO);
    m = s_sample();
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    FC_CHECK(s_encode_body(m, &sbuf) == 0);
    FC_CHECK((uint8_t)sbuf.data[0] == 0x9a && sbuf.data[1] == S_FORMAT);
    sbuf.data[1] = 2;
    FC_CHECK(s_parse_body_bytes(sbuf.data, sbuf.size, key) == FC_EPROTO);
    sbuf.data[1] = S_FORMAT;
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

    fc_trust_destroy(&trust);
    fc_signkey_wipe(&key);
    fc_signkey_wipe(&other);
    if (verbose)
        printf("(names, round trip, hostile bodies, truncations) ");
    printf("OK\n");
    /* Scanning lives in its own file; its test runs as part of this one. */
    fc_manifest_scan_test(verbose);
}
