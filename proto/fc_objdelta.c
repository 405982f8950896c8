/* fc_objdelta.c: encoding a manifest object as copies from a base object and literal bytes,
   and applying such a delta with every offset and length checked. */
#include "fc_objdelta.h"
#include "fc_error.h"

#include <stdlib.h>
#include <string.h>

/* Output buffer that grows; ok false once an allocation failed. */
typedef struct {
    uint8_t *buf;
    size_t len, cap;
    bool ok;
} s_out_t;

static void s_put(s_out_t *o, const void *p, size_t n)
{
    if (!o->ok)
        return;
    if (o->len + n > o->cap) {
        size_t cap = o->cap ? o->cap : 256;
        while (cap < o->len + n)
            cap *= 2;
        uint8_t *b = (uint8_t *)realloc(o->buf, cap);
        if (!b) {
            o->ok = false;
            return;
        }
        o->buf = b;
        o->cap = cap;
    }
    memcpy(o->buf + o->len, p, n);
    o->len += n;
}

static void s_varint(s_out_t *o, uint64_t v)
{
    uint8_t b[10];
    size_t n = 0;
    do {
        b[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v)
            b[n] |= 0x80;
        n++;
    } while (v);
    s_put(o, b, n);
}

static void s_literal(s_out_t *o, const uint8_t *p, size_t n)
{
    if (n == 0)
        return;
    uint8_t op = FC_OBJDELTA_LITERAL;
    s_put(o, &op, 1);
    s_varint(o, n);
    s_put(o, p, n);
}

static void s_copy(s_out_t *o, size_t offset, size_t n)
{
    uint8_t op = FC_OBJDELTA_COPY;
    s_put(o, &op, 1);
    s_varint(o, offset);
    s_varint(o, n);
}

/* The index's hash of the window at p (FC_OBJDELTA_WINDOW bytes). */
static uint32_t s_window_hash(const uint8_t *p, unsigned bits)
{
    uint64_t a, b;
    memcpy(&a, p, 8);
    memcpy(&b, p + 8, 8);
    uint64_t h = (a * 0x9e3779b97f4a7c15ULL) ^ (b * 0xc2b2ae3d27d4eb4fULL);
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ULL;
    return (uint32_t)(h >> (64 - bits));
}

int fc_objdelta_encode(const uint8_t *base, size_t base_len, const uint8_t *target,
                       size_t target_len, uint8_t **out, size_t *out_len)
{
    const size_t w = FC_OBJDELTA_WINDOW;
    s_out_t o = {NULL, 0, 0, true};
    s_varint(&o, target_len);
    /* Each slot holds 1 + the last base offset whose window hashes there (0: empty): a
       collision costs a missed match, never a wrong one (every match is compared). Only the
       windows at multiples of w are indexed, while every target offset is looked up: any run
       of 2w - 1 common bytes still holds an indexed window, the match is then extended both
       ways, and indexing a w-th of the offsets keeps the table in cache (an 8 MiB list
       encoded 250 ms indexing every offset; tools/fc_objdeltabench.c). */
    unsigned bits = 8;
    while (bits < 24 && ((size_t)1 << bits) < 2 * (base_len / w))
        bits++;
    uint32_t *slots = NULL;
    if (base_len >= w) {
        slots = (uint32_t *)calloc((size_t)1 << bits, sizeof *slots);
        if (!slots) {
            free(o.buf);
            return FC_ENOMEM;
        }
        for (size_t p = 0; p + w <= base_len && p < UINT32_MAX - 1; p += w)
            slots[s_window_hash(base + p, bits)] = (uint32_t)(p + 1);
    }
    size_t i = 0, lit = 0;
    while (slots && i + w <= target_len) {
        uint32_t s = slots[s_window_hash(target + i, bits)];
        size_t p = (size_t)s - 1;
        if (!s || memcmp(base + p, target + i, w) != 0) {
            i++;
            continue;
        }
        while (i > lit && p > 0 && base[p - 1] == target[i - 1]) {
            i--;
            p--;
        }
        size_t n = 0;
        while (i + n < target_len && p + n < base_len && base[p + n] == target[i + n])
            n++;
        s_literal(&o, target + lit, i - lit);
        s_copy(&o, p, n);
        i += n;
        lit = i;
    }
    s_literal(&o, target + lit, target_len - lit);
    free(slots);
    if (!o.ok) {
        free(o.buf);
        return FC_ENOMEM;
    }
    *out = o.buf;
    *out_len = o.len;
    return FC_OK;
}

/* Reads a varint at *pos: false if truncated or longer than 64 bits. */
static bool s_read_varint(const uint8_t *d, size_t len, size_t *pos, uint64_t *v)
{
    *v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (*pos >= len)
            return false;
        uint8_t b = d[(*pos)++];
        if (shift == 63 && (b & 0x7e))
            return false; /* bits past 64 */
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return true;
    }
    return false;
}

int fc_objdelta_apply(const uint8_t *base, size_t base_len, const uint8_t *delta, size_t delta_len,
                      size_t max, uint8_t **out, size_t *out_len)
{
    size_t pos = 0;
    uint64_t total;
    if (!delta || !s_read_varint(delta, delta_len, &pos, &total))
        return FC_EPROTO;
    if (total > max)
        return FC_ETOOBIG;
    uint8_t *buf = (uint8_t *)malloc(total ? (size_t)total : 1);
    if (!buf)
        return FC_ENOMEM;
    size_t have = 0;
    int rc = FC_OK;
    while (pos < delta_len) {
        uint8_t op = delta[pos++];
        uint64_t off = 0, n = 0;
        if (op == FC_OBJDELTA_COPY) {
            if (!s_read_varint(delta, delta_len, &pos, &off) ||
                !s_read_varint(delta, delta_len, &pos, &n) || n == 0 || off > base_len ||
                n > base_len - off || n > total - have) {
                rc = FC_EPROTO;
                break;
            }
            memcpy(buf + have, base + off, (size_t)n);
        } else if (op == FC_OBJDELTA_LITERAL) {
            if (!s_read_varint(delta, delta_len, &pos, &n) || n == 0 || n > delta_len - pos ||
                n > total - have) {
                rc = FC_EPROTO;
                break;
            }
            memcpy(buf + have, delta + pos, (size_t)n);
            pos += (size_t)n;
        } else {
            rc = FC_EPROTO;
            break;
        }
        have += (size_t)n;
    }
    if (!rc && have != total)
        rc = FC_EPROTO;
    if (rc) {
        free(buf);
        return rc;
    }
    *out = buf;
    *out_len = have;
    return FC_OK;
}
