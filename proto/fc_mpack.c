/* fc_mpack.c: bounded msgpack decoding: pre-check raw bytes, then unpack and read typed fields. */
#include <assert.h>

#include "fc_error.h"
#include "fc_mpack.h"
#include "fc_test_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* msgpack-c's unpacker keeps open containers on a fixed stack of this many entries and fails
   beyond it; walking deeper would only waste work (and our own stack). */
#define S_DEPTH_CAP 32

typedef struct {
    const uint8_t *p;   /* next unread byte */
    size_t left;        /* bytes remaining after p */
    size_t objects;     /* objects seen so far */
    size_t max_objects; /* budget: msgpack-c allocates one msgpack_object per element */
    int max_depth;
} s_walker_t;

static uint64_t s_be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

/* Consumes n bytes if present. */
static int s_skip(s_walker_t *w, uint64_t n)
{
    if (n > w->left)
        return FC_EPROTO;
    w->p += n;
    w->left -= (size_t)n;
    return 0;
}

/* Reads an n-byte big-endian length or count that follows the type byte. */
static int s_read_len(s_walker_t *w, size_t n, uint64_t *out)
{
    if (n > w->left)
        return FC_EPROTO;
    *out = s_be(w->p, n);
    return s_skip(w, n);
}

static int s_walk(s_walker_t *w, int depth);

/* Walks a container of count elements (per = 1 for arrays, 2 for maps) at nesting depth. */
static int s_walk_container(s_walker_t *w, uint64_t count, uint64_t per, int depth)
{
    if (depth + 1 > w->max_depth)
        return FC_EPROTO;
    /* Every element takes at least one byte, so a count larger than what remains is a lie;
       rejecting it here is what keeps msgpack_unpack from allocating for it. */
    if (count > w->left / per)
        return FC_EPROTO;
    uint64_t elements = count * per;
    for (uint64_t i = 0; i < elements; i++) {
        int rc = s_walk(w, depth + 1);
        if (rc)
            return rc;
    }
    return 0;
}

/* Walks one object; depth is the number of containers enclosing it. */
static int s_walk(s_walker_t *w, int depth)
{
    if (w->left < 1)
        return FC_EPROTO;
    if (++w->objects > w->max_objects)
        return FC_ETOOBIG;
    uint8_t b = *w->p;
    s_skip(w, 1);
    uint64_t n = 0;
    int rc = 0;

    if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
        return 0; /* fixints, nil, bool: the type byte is the whole object */
    if (b >= 0x80 && b <= 0x8f)
        return s_walk_container(w, b & 0x0f, 2, depth);
    if (b >= 0x90 && b <= 0x9f)
        return s_walk_container(w, b & 0x0f, 1, depth);
    if (b >= 0xa0 && b <= 0xbf)
        return s_skip(w, b & 0x1f);

    switch (b) {
    case 0xc4: /* bin 8/16/32 */
    case 0xd9: /* str 8/16/32 */
        rc = s_read_len(w, 1, &n);
        return rc ? rc : s_skip(w, n);
    case 0xc5:
    case 0xda:
        rc = s_read_len(w, 2, &n);
        return rc ? rc : s_skip(w, n);
    case 0xc6:
    case 0xdb:
        rc = s_read_len(w, 4, &n);
        return rc ? rc : s_skip(w, n);
    case 0xca: /* float32 */
        return s_skip(w, 4);
    case 0xcb: /* float64 */
        return s_skip(w, 8);
    case 0xcc: /* uint 8/16/32/64, int 8/16/32/64 */
    case 0xd0:
        return s_skip(w, 1);
    case 0xcd:
    case 0xd1:
        return s_skip(w, 2);
    case 0xce:
    case 0xd2:
        return s_skip(w, 4);
    case 0xcf:
    case 0xd3:
        return s_skip(w, 8);
    case 0xdc: /* array 16/32 */
        rc = s_read_len(w, 2, &n);
        return rc ? rc : s_walk_container(w, n, 1, depth);
    case 0xdd:
        rc = s_read_len(w, 4, &n);
        return rc ? rc : s_walk_container(w, n, 1, depth);
    case 0xde: /* map 16/32 */
        rc = s_read_len(w, 2, &n);
        return rc ? rc : s_walk_container(w, n, 2, depth);
    case 0xdf:
        rc = s_read_len(w, 4, &n);
        return rc ? rc : s_walk_container(w, n, 2, depth);
    default:
        /* 0xc1 (never used) and every ext type (0xc7-0xc9, 0xd4-0xd8): no fleetcast message
           uses ext, so they can only be hostile or garbage. */
        return FC_EPROTO;
    }
}

int fc_mpack_unpack_max(const uint8_t *buf, size_t len, int max_depth, size_t max_objects,
                        msgpack_zone *zone, msgpack_object *out)
{
    assert(zone);
    assert(out);
    if (!buf || len == 0)
        return FC_EPROTO;
    s_walker_t w = {.p = buf,
                    .left = len,
                    .objects = 0,
                    .max_objects = max_objects,
                    .max_depth = max_depth > S_DEPTH_CAP ? S_DEPTH_CAP : max_depth};
    int rc = s_walk(&w, 0);
    if (rc)
        return rc;
    if (w.left != 0)
        return FC_EPROTO; /* trailing bytes */

    size_t off = 0;
    msgpack_unpack_return ret = msgpack_unpack((const char *)buf, len, &off, zone, out);
    if (ret != MSGPACK_UNPACK_SUCCESS || off != len)
        return FC_EPROTO;
    return 0;
}

int fc_mpack_pack_str(msgpack_packer *pk, const char *s)
{
    size_t len = strlen(s);
    return msgpack_pack_str(pk, len) | msgpack_pack_str_body(pk, s, len);
}

int fc_mpack_pack_bin(msgpack_packer *pk, const void *p, size_t len)
{
    return msgpack_pack_bin(pk, len) | msgpack_pack_bin_body(pk, p, len);
}

int fc_mpack_unpack(const uint8_t *buf, size_t len, int max_depth, msgpack_zone *zone,
                    msgpack_object *out)
{
    /* Each object takes at least one byte, so len is never a binding budget here. */
    return fc_mpack_unpack_max(buf, len, max_depth, len, zone, out);
}

int fc_mpack_str(const msgpack_object *o, char *out, size_t outsize)
{
    assert(out && outsize > 0);
    out[0] = '\0';
    if (!o || o->type != MSGPACK_OBJECT_STR)
        return FC_EPROTO;
    size_t len = o->via.str.size;
    if (len >= outsize)
        return FC_ETOOBIG;
    /* An embedded NUL would silently shorten the string everywhere it is used as C text. */
    if (len > 0 && memchr(o->via.str.ptr, '\0', len))
        return FC_EPROTO;
    if (len > 0)
        memcpy(out, o->via.str.ptr, len);
    out[len] = '\0';
    return 0;
}

int fc_mpack_u64(const msgpack_object *o, uint64_t *out)
{
    assert(out);
    if (!o || o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return FC_EPROTO;
    *out = o->via.u64;
    return 0;
}

int fc_mpack_u32(const msgpack_object *o, uint32_t *out)
{
    assert(out);
    if (!o || o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 > UINT32_MAX)
        return FC_EPROTO;
    *out = (uint32_t)o->via.u64;
    return 0;
}

int fc_mpack_i64(const msgpack_object *o, int64_t *out)
{
    assert(out);
    if (!o)
        return FC_EPROTO;
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        if (o->via.u64 > INT64_MAX)
            return FC_EPROTO;
        *out = (int64_t)o->via.u64;
        return 0;
    }
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        *out = o->via.i64;
        return 0;
    }
    return FC_EPROTO;
}

int fc_mpack_bool(const msgpack_object *o, bool *out)
{
    assert(out);
    if (!o || o->type != MSGPACK_OBJECT_BOOLEAN)
        return FC_EPROTO;
    *out = o->via.boolean;
    return 0;
}

int fc_mpack_fixbin(const msgpack_object *o, uint8_t *out, size_t len)
{
    assert(out || len == 0);
    if (!o || o->type != MSGPACK_OBJECT_BIN || o->via.bin.size != len)
        return FC_EPROTO;
    if (len > 0)
        memcpy(out, o->via.bin.ptr, len);
    return 0;
}

int fc_mpack_hash(const msgpack_object *o, uint8_t out[32])
{
    return fc_mpack_fixbin(o, out, 32);
}

int fc_mpack_bin(const msgpack_object *o, const uint8_t **ptr, size_t *len, size_t max)
{
    assert(ptr && len);
    *ptr = NULL;
    *len = 0;
    if (!o || o->type != MSGPACK_OBJECT_BIN)
        return FC_EPROTO;
    if (o->via.bin.size > max)
        return FC_ETOOBIG;
    *ptr = (const uint8_t *)o->via.bin.ptr;
    *len = o->via.bin.size;
    return 0;
}

int fc_mpack_array(const msgpack_object *o, size_t max, long want, const msgpack_object **items,
                   size_t *n)
{
    assert(items && n);
    *items = NULL;
    *n = 0;
    if (!o || o->type != MSGPACK_OBJECT_ARRAY)
        return FC_EPROTO;
    size_t size = o->via.array.size;
    if (want >= 0 && size != (size_t)want)
        return FC_EPROTO;
    if (size > max)
        return FC_ETOOBIG;
    *items = o->via.array.ptr;
    *n = size;
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Self-test */

/* Unpacks raw bytes into a fresh zone; returns the fc_mpack_unpack result. */
static int s_try(const uint8_t *buf, size_t len, int max_depth)
{
    msgpack_zone zone;
    msgpack_zone_init(&zone, 1024);
    msgpack_object obj;
    int rc = fc_mpack_unpack(buf, len, max_depth, &zone, &obj);
    msgpack_zone_destroy(&zone);
    return rc;
}

/* Packs a sample holding every msgpack type fleetcast may meet, in every width. */
static void s_pack_sample(msgpack_sbuffer *sbuf, char *big, size_t bigsize)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sbuf, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 25);
    msgpack_pack_nil(&pk);
    msgpack_pack_true(&pk);
    msgpack_pack_false(&pk);
    msgpack_pack_uint64(&pk, 5);           /* pos fixint */
    msgpack_pack_int64(&pk, -5);           /* neg fixint */
    msgpack_pack_uint64(&pk, 200);         /* uint8 */
    msgpack_pack_uint64(&pk, 60000);       /* uint16 */
    msgpack_pack_uint64(&pk, 4000000000u); /* uint32 */
    msgpack_pack_uint64(&pk, 1ull << 40);  /* uint64 */
    msgpack_pack_int64(&pk, -100);         /* int8 */
    msgpack_pack_int64(&pk, -30000);       /* int16 */
    msgpack_pack_int64(&pk, -2000000000);  /* int32 */
    msgpack_pack_int64(&pk, -(1ll << 40)); /* int64 */
    msgpack_pack_float(&pk, 1.5f);
    msgpack_pack_double(&pk, 2.25);
    msgpack_pack_str_with_body(&pk, "abc", 3);     /* fixstr */
    msgpack_pack_str_with_body(&pk, big, 40);      /* str8 */
    msgpack_pack_str_with_body(&pk, big, 300);     /* str16 */
    msgpack_pack_str_with_body(&pk, big, bigsize); /* str32 */
    msgpack_pack_bin_with_body(&pk, big, 32);      /* bin8 */
    msgpack_pack_bin_with_body(&pk, big, 300);     /* bin16 */
    msgpack_pack_bin_with_body(&pk, big, bigsize); /* bin32 */
    msgpack_pack_array(&pk, 20);                   /* array16 */
    for (int i = 0; i < 20; i++)
        msgpack_pack_uint64(&pk, (uint64_t)i);
    msgpack_pack_map(&pk, 17); /* map16 */
    for (int i = 0; i < 17; i++) {
        msgpack_pack_uint64(&pk, (uint64_t)i);
        msgpack_pack_str_with_body(&pk, "v", 1);
    }
    msgpack_pack_map(&pk, 1); /* fixmap */
    msgpack_pack_str_with_body(&pk, "k", 1);
    msgpack_pack_array(&pk, 0); /* empty fixarray */
}

void fc_mpack_test(bool verbose)
{
    printf(" * fc_mpack: ");
    if (verbose)
        printf("\n");

    /* The packing helpers: header and body together. */
    msgpack_sbuffer small;
    msgpack_sbuffer_init(&small);
    msgpack_packer spk;
    msgpack_packer_init(&spk, &small, msgpack_sbuffer_write);
    FC_CHECK(fc_mpack_pack_str(&spk, "ab") == 0 && fc_mpack_pack_bin(&spk, "\x01\x02", 2) == 0);
    FC_CHECK(small.size == 7 && !memcmp(small.data, "\xa2\x61\x62\xc4\x02\x01\x02", 7));
    msgpack_sbuffer_destroy(&small);

    /* Valid: every type the walker knows, packed by msgpack-c. */
    size_t bigsize = 70000; /* over 65535: forces str32 / bin32 */
    char *big = malloc(bigsize);
    FC_CHECK(big);
    memset(big, 'x', bigsize);
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    s_pack_sample(&sbuf, big, bigsize);
    const uint8_t *sample = (const uint8_t *)sbuf.data;
    {
        msgpack_zone zone;
        msgpack_zone_init(&zone, 4096);
        msgpack_object obj;
        FC_CHECK(fc_mpack_unpack(sample, sbuf.size, 3, &zone, &obj) == 0);
        const msgpack_object *it;
        size_t n;
        FC_CHECK(fc_mpack_array(&obj, 100, 25, &it, &n) == 0 && n == 25);
        FC_CHECK(it[0].type == MSGPACK_OBJECT_NIL);
        bool bv;
        FC_CHECK(fc_mpack_bool(&it[1], &bv) == 0 && bv);
        FC_CHECK(fc_mpack_bool(&it[2], &bv) == 0 && !bv);
        uint64_t u;
        int64_t i;
        uint32_t u32;
        FC_CHECK(fc_mpack_u64(&it[3], &u) == 0 && u == 5);
        FC_CHECK(fc_mpack_i64(&it[4], &i) == 0 && i == -5);
        FC_CHECK(fc_mpack_u32(&it[7], &u32) == 0 && u32 == 4000000000u);
        FC_CHECK(fc_mpack_u64(&it[8], &u) == 0 && u == 1ull << 40);
        FC_CHECK(fc_mpack_i64(&it[8], &i) == 0 && i == 1ll << 40);
        FC_CHECK(fc_mpack_i64(&it[12], &i) == 0 && i == -(1ll << 40));
        char s[8];
        FC_CHECK(fc_mpack_str(&it[15], s, sizeof s) == 0 && strcmp(s, "abc") == 0);
        const uint8_t *bp;
        size_t bl;
        FC_CHECK(fc_mpack_bin(&it[21], &bp, &bl, bigsize) == 0 && bl == bigsize);
        FC_CHECK(bp >= sample && bp + bl <= sample + sbuf.size); /* borrowed from buf */
        uint8_t h[32];
        FC_CHECK(fc_mpack_hash(&it[19], h) == 0 && h[0] == 'x');

        /* Typed reader errors */
        FC_CHECK(fc_mpack_str(&it[15], s, 3) == FC_ETOOBIG); /* needs 4 with NUL */
        FC_CHECK(fc_mpack_str(&it[3], s, sizeof s) == FC_EPROTO);
        FC_CHECK(fc_mpack_str(&it[19], s, sizeof s) == FC_EPROTO); /* bin is not str */
        FC_CHECK(fc_mpack_u64(&it[4], &u) == FC_EPROTO);           /* negative */
        FC_CHECK(fc_mpack_u64(&it[13], &u) == FC_EPROTO);          /* float */
        FC_CHECK(fc_mpack_u64(&it[0], &u) == FC_EPROTO);           /* nil */
        FC_CHECK(fc_mpack_u32(&it[8], &u32) == FC_EPROTO);         /* 2^40 */
        FC_CHECK(fc_mpack_bool(&it[3], &bv) == FC_EPROTO);
        FC_CHECK(fc_mpack_hash(&it[20], h) == FC_EPROTO); /* 300 bytes */
        FC_CHECK(fc_mpack_hash(&it[15], h) == FC_EPROTO); /* str */
        FC_CHECK(fc_mpack_fixbin(&it[19], h, 31) == FC_EPROTO);
        FC_CHECK(fc_mpack_bin(&it[20], &bp, &bl, 299) == FC_ETOOBIG);
        FC_CHECK(fc_mpack_bin(&it[15], &bp, &bl, 1000) == FC_EPROTO);
        FC_CHECK(fc_mpack_array(&it[22], 100, 19, &it, &n) == FC_EPROTO && n == 0);
        FC_CHECK(fc_mpack_array(&obj, 24, -1, &it, &n) == FC_ETOOBIG);
        FC_CHECK(fc_mpack_array(&obj, 100, -1, &it, &n) == 0 && n == 25);
        FC_CHECK(fc_mpack_array(&it[23], 100, -1, &it, &n) == FC_EPROTO); /* map */
        FC_CHECK(fc_mpack_array(NULL, 100, -1, &it, &n) == FC_EPROTO);
        msgpack_zone_destroy(&zone);
    }
    /* Depth: the sample nests an array in a map in the top array (depth 3). */
    FC_CHECK(s_try(sample, sbuf.size, 2) == FC_EPROTO);

    /* Truncated at every length: rejected, never read past the end (ASan checks the
       latter: each prefix is copied to an exact-size heap buffer). A compact sample keeps
       this quadratic loop cheap: every type again, with str/bin at 300 bytes, then
       hand-made 32-bit headers (bin32, str32, array32, map32) after it. */
    {
        msgpack_sbuffer small;
        msgpack_sbuffer_init(&small);
        msgpack_sbuffer_write(&small, "\x92", 1);
        s_pack_sample(&small, big, 300);
        const uint8_t tail[] = {0xdd, 0, 0, 0, 3,   0xc6, 0, 0, 0, 1, 0xff, 0xdb,
                                0,    0, 0, 1, 'z', 0xdf, 0, 0, 0, 1, 0xc3, 0xc2};
        msgpack_sbuffer_write(&small, (const char *)tail, sizeof tail);
        FC_CHECK(s_try((const uint8_t *)small.data, small.size, 8) == 0);
        for (size_t cut = 0; cut < small.size; cut++) {
            uint8_t *prefix = malloc(cut ? cut : 1);
            FC_CHECK(prefix);
            memcpy(prefix, small.data, cut);
            FC_CHECK(s_try(prefix, cut, 8) == FC_EPROTO);
            free(prefix);
        }
        msgpack_sbuffer_destroy(&small);
    }
    /* The big sample cut inside its str32 and bin32 bodies */
    for (size_t cut = sbuf.size - bigsize - 2; cut > 0; cut /= 2)
        FC_CHECK(s_try(sample, cut, 8) == FC_EPROTO);
    /* Trailing bytes */
    {
        uint8_t *more = malloc(sbuf.size + 1);
        FC_CHECK(more);
        memcpy(more, sample, sbuf.size);
        more[sbuf.size] = 0xc0;
        FC_CHECK(s_try(more, sbuf.size + 1, 8) == FC_EPROTO);
        FC_CHECK(s_try(more, sbuf.size, 8) == 0);
        free(more);
    }
    msgpack_sbuffer_destroy(&sbuf);
    free(big);

    /* Hand-made encodings msgpack-c never emits but must accept: non-minimal widths. */
    {
        const uint8_t wide[] = {0xdd, 0, 0, 0, 4,                  /* array32 of 4 */
                                0xcf, 0, 0, 0, 0, 0,    0,   0, 7, /* uint64 7 */
                                0xdb, 0, 0, 0, 2, 'h',  'i',       /* str32 "hi" */
                                0xc6, 0, 0, 0, 0,                  /* empty bin32 */
                                0xdf, 0, 0, 0, 1, 0xc0, 0xc0};     /* map32 {nil: nil} */
        msgpack_zone zone;
        msgpack_zone_init(&zone, 1024);
        msgpack_object obj;
        FC_CHECK(fc_mpack_unpack(wide, sizeof wide, 2, &zone, &obj) == 0);
        const msgpack_object *it;
        size_t n;
        uint64_t u;
        char s[4];
        FC_CHECK(fc_mpack_array(&obj, 4, 4, &it, &n) == 0);
        FC_CHECK(fc_mpack_u64(&it[0], &u) == 0 && u == 7);
        FC_CHECK(fc_mpack_str(&it[1], s, sizeof s) == 0 && strcmp(s, "hi") == 0);
        msgpack_zone_destroy(&zone);
    }

    /* A 5-byte array32 header claiming 2^31 elements: rejected before msgpack-c allocates
       anything (the zone's first chunk stays untouched). Same for map32 and array16. */
    {
        const uint8_t huge_array[] = {0xdd, 0x80, 0, 0, 0};
        const uint8_t huge_map[] = {0xdf, 0xff, 0xff, 0xff, 0xff};
        const uint8_t lying_array[] = {0xdc, 0x00, 0x04, 1, 2, 3}; /* claims 4, holds 3 */
        const uint8_t lying_map[] = {0x82, 1, 2, 3};               /* 2 pairs need 4 */
        msgpack_zone zone;
        msgpack_zone_init(&zone, 1024);
        size_t free_before = zone.chunk_list.free;
        msgpack_object obj;
        FC_CHECK(fc_mpack_unpack(huge_array, sizeof huge_array, 8, &zone, &obj) == FC_EPROTO);
        FC_CHECK(fc_mpack_unpack(huge_map, sizeof huge_map, 8, &zone, &obj) == FC_EPROTO);
        FC_CHECK(fc_mpack_unpack(lying_array, sizeof lying_array, 8, &zone, &obj) == FC_EPROTO);
        FC_CHECK(fc_mpack_unpack(lying_map, sizeof lying_map, 8, &zone, &obj) == FC_EPROTO);
        FC_CHECK(zone.chunk_list.free == free_before);
        msgpack_zone_destroy(&zone);
    }

    /* Lengths over what remains */
    {
        const uint8_t str_lie[] = {0xa5, 'a', 'b'};
        const uint8_t bin_lie[] = {0xc6, 0xff, 0xff, 0xff, 0xff, 0};
        const uint8_t str32_lie[] = {0xdb, 0x7f, 0xff, 0xff, 0xff};
        FC_CHECK(s_try(str_lie, sizeof str_lie, 8) == FC_EPROTO);
        FC_CHECK(s_try(bin_lie, sizeof bin_lie, 8) == FC_EPROTO);
        FC_CHECK(s_try(str32_lie, sizeof str32_lie, 8) == FC_EPROTO);
        FC_CHECK(s_try(NULL, 0, 8) == FC_EPROTO);
    }

    /* Ext types and the never-used 0xc1 are rejected. */
    {
        const uint8_t fixext1[] = {0xd4, 0x01, 0x00};
        const uint8_t ext8[] = {0xc7, 0x01, 0x05, 0x00};
        const uint8_t inarray[] = {0x91, 0xd5, 0x01, 0x00, 0x00};
        const uint8_t never[] = {0xc1};
        FC_CHECK(s_try(fixext1, sizeof fixext1, 8) == FC_EPROTO);
        FC_CHECK(s_try(ext8, sizeof ext8, 8) == FC_EPROTO);
        FC_CHECK(s_try(inarray, sizeof inarray, 8) == FC_EPROTO);
        FC_CHECK(s_try(never, sizeof never, 8) == FC_EPROTO);
    }

    /* Depth: 5 nested arrays pass with a limit of 5 and fail with 4; a scalar needs none. */
    {
        const uint8_t nest5[] = {0x91, 0x91, 0x91, 0x91, 0x90};
        const uint8_t scalar[] = {0x07};
        FC_CHECK(s_try(nest5, sizeof nest5, 5) == 0);
        FC_CHECK(s_try(nest5, sizeof nest5, 4) == FC_EPROTO);
        FC_CHECK(s_try(scalar, sizeof scalar, 0) == 0);
        /* Deeper than msgpack-c can go: the cap rejects it even with a silly limit. */
        uint8_t deep[100];
        memset(deep, 0x91, sizeof deep);
        deep[sizeof deep - 1] = 0xc0;
        FC_CHECK(s_try(deep, sizeof deep, 1000) == FC_EPROTO);
    }

    /* Object budget */
    {
        const uint8_t four[] = {0x93, 1, 2, 3}; /* 4 objects */
        msgpack_zone zone;
        msgpack_zone_init(&zone, 1024);
        msgpack_object obj;
        FC_CHECK(fc_mpack_unpack_max(four, sizeof four, 1, 4, &zone, &obj) == 0);
        FC_CHECK(fc_mpack_unpack_max(four, sizeof four, 1, 3, &zone, &obj) == FC_ETOOBIG);
        msgpack_zone_destroy(&zone);
    }

    /* A string with an embedded NUL is refused rather than silently shortened. */
    {
        const uint8_t nul[] = {0xa3, 'a', 0, 'b'};
        msgpack_zone zone;
        msgpack_zone_init(&zone, 1024);
        msgpack_object obj;
        char s[8];
        FC_CHECK(fc_mpack_unpack(nul, sizeof nul, 0, &zone, &obj) == 0);
        FC_CHECK(fc_mpack_str(&obj, s, sizeof s) == FC_EPROTO);
        msgpack_zone_destroy(&zone);
    }

    /* Integer edges: int64 readers refuse uint64 above INT64_MAX; u32 takes UINT32_MAX. */
    {
        const uint8_t big_u[] = {0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0};
        const uint8_t max_u32[] = {0xce, 0xff, 0xff, 0xff, 0xff};
        msgpack_zone zone;
        msgpack_zone_init(&zone, 1024);
        msgpack_object obj;
        int64_t i;
        uint32_t u32;
        FC_CHECK(fc_mpack_unpack(big_u, sizeof big_u, 0, &zone, &obj) == 0);
        FC_CHECK(fc_mpack_i64(&obj, &i) == FC_EPROTO);
        FC_CHECK(fc_mpack_unpack(max_u32, sizeof max_u32, 0, &zone, &obj) == 0);
        FC_CHECK(fc_mpack_u32(&obj, &u32) == 0 && u32 == UINT32_MAX);
        msgpack_zone_destroy(&zone);
    }

    printf("OK\n");
}
