/* fc_json_parse.c: a strict JSON (RFC 8259) parser that turns config values and schema files
   into msgpack. */
#include "fc_error.h"
#include "fc_json.h"

#include <assert.h>
#include <locale.h>
#include <math.h>
#include <msgpack.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_DEPTH 32
/* Longest number token: far beyond any real value, and it keeps strtod's input on the stack. */
#define S_MAX_NUMBER 1024

/* A decoded key of an object still open: its bytes in the key arena. */
typedef struct {
    size_t off;
    size_t len;
} s_key_t;

/* Keys seen so far in one object, as a hash set of indexes into the key list, so that
   duplicate detection stays linear however many keys an object has. */
typedef struct {
    size_t *slots; /* key index + 1; 0 = empty */
    size_t cap;
    size_t used;
} s_keyset_t;

/* The document is read twice: the first pass validates it, counts every container's
   members (msgpack wants the count before the members) and checks keys; the second emits,
   taking each count in the order the containers opened. */
typedef struct {
    const char *text;
    size_t len;
    size_t pos;
    bool emit;
    msgpack_packer pk;
    size_t *counts;
    size_t ncounts;
    size_t counts_cap;
    size_t next_count;
    char *str; /* the string being decoded */
    size_t str_len;
    size_t str_cap;
    char *arena; /* keys of the open objects, back to back */
    size_t arena_len;
    size_t arena_cap;
    s_key_t *keys;
    size_t nkeys;
    size_t keys_cap;
    int err;
    char *errmsg;
    size_t errsize;
} s_parser_t;

/* Grows *buf (of elements of elsize) to hold at least need; -1 when out of memory. */
static int s_reserve(void **buf, size_t *cap, size_t need, size_t elsize)
{
    if (need <= *cap)
        return 0;
    size_t cap2 = *cap ? *cap : 16;
    while (cap2 < need)
        cap2 *= 2;
    void *grown = realloc(*buf, cap2 * elsize);
    if (!grown)
        return -1;
    *buf = grown;
    *cap = cap2;
    return 0;
}

/* Records the first error with its line and column (1-based; columns count characters, not
   bytes, so they match what an editor shows). Returns -1 for the caller to pass up. */
static int s_fail(s_parser_t *self, size_t pos, int code, const char *fmt, ...)
{
    if (self->err)
        return -1;
    self->err = code;
    if (!self->errmsg || !self->errsize)
        return -1;
    size_t line = 1, column = 1;
    for (size_t i = 0; i < pos && i < self->len; i++) {
        unsigned char c = (unsigned char)self->text[i];
        if (c == '\n') {
            line++;
            column = 1;
        } else if ((c & 0xc0) != 0x80)
            column++;
    }
    int n = snprintf(self->errmsg, self->errsize, "line %zu, column %zu: ", line, column);
    if (n >= 0 && (size_t)n < self->errsize) {
        va_list args;
        va_start(args, fmt);
        vsnprintf(self->errmsg + n, self->errsize - (size_t)n, fmt, args);
        va_end(args);
    }
    return -1;
}

static int s_nomem(s_parser_t *self)
{
    return s_fail(self, self->pos, FC_ENOMEM, "out of memory");
}

/* "unexpected end of input" at the end, else names the byte found and what was wanted. */
static int s_unexpected(s_parser_t *self, const char *wanted)
{
    if (self->pos >= self->len)
        return s_fail(self, self->pos, FC_EPROTO, "unexpected end of input, expected %s", wanted);
    unsigned char c = (unsigned char)self->text[self->pos];
    if (c >= 0x20 && c < 0x7f)
        return s_fail(self, self->pos, FC_EPROTO, "unexpected '%c', expected %s", c, wanted);
    return s_fail(self, self->pos, FC_EPROTO, "unexpected byte 0x%02x, expected %s", c, wanted);
}

static int s_peek(const s_parser_t *self)
{
    return self->pos < self->len ? (unsigned char)self->text[self->pos] : -1;
}

static void s_skip_ws(s_parser_t *self)
{
    while (self->pos < self->len) {
        char c = self->text[self->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        self->pos++;
    }
}

static int s_pack_rc(s_parser_t *self, int rc)
{
    return rc == 0 ? 0 : s_nomem(self);
}

/* ---------------------------------------------------------------------------------------- */
/* Strings */

static int s_str_put(s_parser_t *self, const char *bytes, size_t n)
{
    if (s_reserve((void **)&self->str, &self->str_cap, self->str_len + n, 1))
        return s_nomem(self);
    memcpy(self->str + self->str_len, bytes, n);
    self->str_len += n;
    return 0;
}

/* Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlong forms, no
   surrogates, nothing above U+10FFFF); 0 if ill-formed, -1 if cut short by the end. */
static int s_utf8_len(const unsigned char *p, size_t avail)
{
    unsigned char c = p[0];
    int n;
    unsigned char lo = 0x80, hi = 0xbf; /* range of the second byte */
    if (c < 0x80)
        return 1;
    else if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else
        return 0;
    for (int i = 1; i < n; i++) {
        if ((size_t)i >= avail)
            return -1;
        unsigned char lo_i = i == 1 ? lo : 0x80, hi_i = i == 1 ? hi : 0xbf;
        if (p[i] < lo_i || p[i] > hi_i)
            return 0;
    }
    return n;
}

/* Four hex digits at pos; -1 if cut short (-2 if not hex). */
static long s_hex4(const s_parser_t *self, size_t pos)
{
    long v = 0;
    for (size_t i = 0; i < 4; i++) {
        if (pos + i >= self->len)
            return -1;
        char c = self->text[pos + i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0)
            return -2;
        v = v * 16 + d;
    }
    return v;
}

static int s_put_code_point(s_parser_t *self, unsigned long cp)
{
    char b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xc0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xe0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        b[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        b[0] = (char)(0xf0 | (cp >> 18));
        b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        b[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    return s_str_put(self, b, n);
}

/* A \uXXXX escape at pos (the backslash), with its low half when it is a high surrogate;
   advances past it. */
static int s_unicode_escape(s_parser_t *self)
{
    size_t at = self->pos;
    long hi = s_hex4(self, at + 2);
    if (hi == -1) {
        self->pos = self->len;
        return s_unexpected(self, "4 hex digits");
    }
    if (hi < 0)
        return s_fail(self, at, FC_EPROTO, "bad \\u escape: expected 4 hex digits");
    self->pos = at + 6;
    unsigned long cp = (unsigned long)hi;
    if (hi >= 0xdc00 && hi <= 0xdfff)
        return s_fail(self, at, FC_EPROTO, "\\u%04lX is a low surrogate without a high one", cp);
    if (hi >= 0xd800 && hi <= 0xdbff) {
        size_t p = self->pos;
        if (p >= self->len || (self->text[p] == '\\' && p + 1 >= self->len)) {
            self->pos = self->len;
            return s_unexpected(self, "a low surrogate");
        }
        long lo = -2;
        if (self->text[p] == '\\' && self->text[p + 1] == 'u') {
            lo = s_hex4(self, self->pos + 2);
            if (lo == -1) {
                self->pos = self->len;
                return s_unexpected(self, "4 hex digits");
            }
        }
        if (lo < 0xdc00 || lo > 0xdfff)
            return s_fail(self, at, FC_EPROTO,
                          "\\u%04lX is a high surrogate not followed by a low one", cp);
        cp = 0x10000 + (((unsigned long)hi - 0xd800) << 10) + ((unsigned long)lo - 0xdc00);
        self->pos += 6;
    }
    /* Legal JSON, but config values become C strings, where a NUL would cut them short. */
    if (cp == 0)
        return s_fail(self, at, FC_EPROTO, "\\u0000 is not allowed in strings");
    return s_put_code_point(self, cp);
}

/* The string at pos (on its opening quote), decoded into self->str; emitted in pass two. */
static int s_string(s_parser_t *self)
{
    self->pos++;
    self->str_len = 0;
    for (;;) {
        if (self->pos >= self->len)
            return s_unexpected(self, "'\"'");
        const unsigned char *p = (const unsigned char *)self->text + self->pos;
        if (*p == '"') {
            self->pos++;
            break;
        }
        if (*p < 0x20)
            return s_fail(self, self->pos, FC_EPROTO,
                          "control character 0x%02x in a string (escape it)", *p);
        if (*p == '\\') {
            if (self->pos + 1 >= self->len) {
                self->pos = self->len;
                return s_unexpected(self, "an escape");
            }
            static const char from[] = "\"\\/bfnrt";
            static const char to[] = "\"\\/\b\f\n\r\t";
            const char *hit = p[1] ? strchr(from, p[1]) : NULL;
            if (p[1] == 'u') {
                if (s_unicode_escape(self))
                    return -1;
                continue;
            }
            if (!hit) {
                if (p[1] >= 0x20 && p[1] < 0x7f)
                    return s_fail(self, self->pos, FC_EPROTO, "bad escape '\\%c'", p[1]);
                return s_fail(self, self->pos, FC_EPROTO, "bad escape");
            }
            if (s_str_put(self, &to[hit - from], 1))
                return -1;
            self->pos += 2;
            continue;
        }
        int n = s_utf8_len(p, self->len - self->pos);
        if (n < 0) {
            self->pos = self->len;
            return s_unexpected(self, "the rest of a UTF-8 sequence");
        }
        if (n == 0)
            return s_fail(self, self->pos, FC_EPROTO, "invalid UTF-8 in a string");
        if (s_str_put(self, (const char *)p, (size_t)n))
            return -1;
        self->pos += (size_t)n;
    }
    if (self->emit)
        return s_pack_rc(self, msgpack_pack_str_with_body(&self->pk, self->str, self->str_len));
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Numbers and literals */

static bool s_digit(int c)
{
    return c >= '0' && c <= '9';
}

/* Digits at pos (at least one), advancing past them. */
static int s_digits(s_parser_t *self, const char *after)
{
    if (!s_digit(s_peek(self)))
        return s_unexpected(self, after);
    while (s_digit(s_peek(self)))
        self->pos++;
    return 0;
}

/* A number: an integer that fits int64 becomes a msgpack int, anything else a float64.
   Numbers beyond float64's range are refused rather than turned into infinity, which JSON
   cannot express and a config consumer would not expect. */
static int s_number(s_parser_t *self)
{
    size_t start = self->pos;
    bool negative = s_peek(self) == '-';
    bool integer = true;
    if (negative)
        self->pos++;
    if (s_peek(self) == '0') {
        self->pos++;
        if (s_digit(s_peek(self)))
            return s_fail(self, start, FC_EPROTO, "leading zeros are not allowed in numbers");
    } else if (s_digits(self, "a digit"))
        return -1;
    if (s_peek(self) == '.') {
        integer = false;
        self->pos++;
        if (s_digits(self, "a digit after '.'"))
            return -1;
    }
    if (s_peek(self) == 'e' || s_peek(self) == 'E') {
        integer = false;
        self->pos++;
        if (s_peek(self) == '+' || s_peek(self) == '-')
            self->pos++;
        if (s_digits(self, "a digit in the exponent"))
            return -1;
    }
    size_t n = self->pos - start;
    if (n > S_MAX_NUMBER)
        return s_fail(self, start, FC_EPROTO, "number longer than %d characters", S_MAX_NUMBER);
    const char *t = self->text + start;
    if (integer) {
        /* Magnitude in uint64: -2^63 fits, 2^63 does not. */
        uint64_t mag = 0, limit = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
        bool fits = true;
        for (size_t i = negative; i < n && fits; i++) {
            unsigned d = (unsigned)(t[i] - '0');
            if (mag > (limit - d) / 10)
                fits = false;
            else
                mag = mag * 10 + d;
        }
        if (fits) {
            if (!self->emit)
                return 0;
            int64_t v = negative ? (int64_t)(0 - mag) : (int64_t)mag;
            return s_pack_rc(self, msgpack_pack_int64(&self->pk, v));
        }
    }
    /* strtod follows LC_NUMERIC, which an embedding program may have changed. */
    char buf[S_MAX_NUMBER + 8];
    const char *point = localeconv()->decimal_point;
    if (!point || !*point || strlen(point) > 4)
        point = ".";
    size_t plen = strlen(point);
    size_t b = 0;
    for (size_t i = 0; i < n; i++) { /* at most one '.' */
        if (t[i] == '.') {
            memcpy(buf + b, point, plen);
            b += plen;
        } else
            buf[b++] = t[i];
    }
    buf[b] = '\0';
    double v = strtod(buf, NULL);
    if (isinf(v))
        return s_fail(self, start, FC_EPROTO, "number out of range");
    if (!self->emit)
        return 0;
    return s_pack_rc(self, msgpack_pack_double(&self->pk, v));
}

static int s_literal(s_parser_t *self, const char *word)
{
    size_t start = self->pos;
    size_t n = strlen(word);
    for (size_t i = 0; i < n; i++, self->pos++) {
        if (self->pos >= self->len)
            return s_unexpected(self, word);
        if (self->text[self->pos] != word[i])
            return s_fail(self, start, FC_EPROTO, "invalid literal, expected %s", word);
    }
    if (!self->emit)
        return 0;
    if (word[0] == 'n')
        return s_pack_rc(self, msgpack_pack_nil(&self->pk));
    return s_pack_rc(self,
                     word[0] == 't' ? msgpack_pack_true(&self->pk) : msgpack_pack_false(&self->pk));
}

/* ---------------------------------------------------------------------------------------- */
/* Containers */

static int s_value(s_parser_t *self, int depth);

/* Pass one reserves the container's count slot; pass two packs its header from it. */
static int s_open(s_parser_t *self, bool map, size_t *slot)
{
    if (self->emit) {
        if (self->next_count >= self->ncounts)
            return s_fail(self, self->pos, FC_EPROTO, "internal: container count missing");
        size_t n = self->counts[self->next_count++];
        return s_pack_rc(self,
                         map ? msgpack_pack_map(&self->pk, n) : msgpack_pack_array(&self->pk, n));
    }
    if (s_reserve((void **)&self->counts, &self->counts_cap, self->ncounts + 1, sizeof(size_t)))
        return s_nomem(self);
    *slot = self->ncounts;
    self->counts[self->ncounts++] = 0;
    return 0;
}

static size_t s_hash(const char *s, size_t n)
{
    size_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

/* The slot holding a key equal to s, or else the empty slot where s belongs. */
static size_t *s_keyset_find(s_parser_t *self, s_keyset_t *set, const char *s, size_t n)
{
    size_t i = s_hash(s, n) & (set->cap - 1);
    for (;; i = (i + 1) & (set->cap - 1)) {
        size_t *slot = &set->slots[i];
        if (*slot == 0)
            return slot;
        const s_key_t *k = &self->keys[*slot - 1];
        if (k->len == n && (n == 0 || !memcmp(self->arena + k->off, s, n)))
            return slot;
    }
}

/* Adds the key just decoded (self->str, which began at pos) to the object's set; a
   duplicate is an error, because which one wins differs between JSON readers. */
static int s_key_add(s_parser_t *self, s_keyset_t *set, size_t pos)
{
    if (set->used * 2 >= set->cap) {
        s_keyset_t grown = {NULL, set->cap ? set->cap * 2 : 16, 0};
        grown.slots = (size_t *)calloc(grown.cap, sizeof(size_t));
        if (!grown.slots)
            return s_nomem(self);
        for (size_t i = 0; i < set->cap; i++) {
            if (!set->slots[i])
                continue;
            const s_key_t *k = &self->keys[set->slots[i] - 1];
            *s_keyset_find(self, &grown, self->arena + k->off, k->len) = set->slots[i];
            grown.used++;
        }
        free(set->slots);
        *set = grown;
    }
    size_t *slot = s_keyset_find(self, set, self->str, self->str_len);
    if (*slot) {
        char shown[48];
        size_t n = 0;
        for (size_t i = 0; i < self->str_len && n < sizeof shown - 4; i++) {
            unsigned char c = (unsigned char)self->str[i];
            shown[n++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
        }
        if (n < self->str_len)
            n += (size_t)snprintf(shown + n, sizeof shown - n, "...");
        shown[n] = '\0';
        return s_fail(self, pos, FC_EPROTO, "duplicate key \"%s\"", shown);
    }
    if (s_reserve((void **)&self->arena, &self->arena_cap, self->arena_len + self->str_len, 1) ||
        s_reserve((void **)&self->keys, &self->keys_cap, self->nkeys + 1, sizeof(s_key_t)))
        return s_nomem(self);
    if (self->str_len)
        memcpy(self->arena + self->arena_len, self->str, self->str_len);
    self->keys[self->nkeys] = (s_key_t){self->arena_len, self->str_len};
    self->arena_len += self->str_len;
    *slot = ++self->nkeys;
    set->used++;
    return 0;
}

/* An object or array at pos (on its bracket), depth counting this one. */
static int s_container(s_parser_t *self, int depth)
{
    bool map = s_peek(self) == '{';
    char close = map ? '}' : ']';
    if (depth > S_MAX_DEPTH)
        return s_fail(self, self->pos, FC_ETOOBIG, "nested deeper than %d levels", S_MAX_DEPTH);
    size_t slot = 0;
    if (s_open(self, map, &slot))
        return -1;
    self->pos++;
    /* The keys of this object are popped when it closes: siblings never clash. */
    size_t key_base = self->nkeys, arena_base = self->arena_len;
    s_keyset_t set = {NULL, 0, 0};
    size_t n = 0;
    int rc = 0;
    s_skip_ws(self);
    if (s_peek(self) == close)
        self->pos++;
    else {
        for (;;) {
            s_skip_ws(self);
            if (map) {
                size_t key_pos = self->pos;
                if (s_peek(self) != '"') {
                    rc = s_unexpected(self, "a string key");
                    break;
                }
                if ((rc = s_string(self)) != 0)
                    break;
                if (!self->emit && (rc = s_key_add(self, &set, key_pos)) != 0)
                    break;
                s_skip_ws(self);
                if (s_peek(self) != ':') {
                    rc = s_unexpected(self, "':'");
                    break;
                }
                self->pos++;
                s_skip_ws(self);
            }
            if ((rc = s_value(self, depth)) != 0)
                break;
            n++;
            s_skip_ws(self);
            if (s_peek(self) == ',') {
                self->pos++;
                continue;
            }
            if (s_peek(self) == close) {
                self->pos++;
                break;
            }
            rc = s_unexpected(self, map ? "',' or '}'" : "',' or ']'");
            break;
        }
    }
    free(set.slots);
    self->nkeys = key_base;
    self->arena_len = arena_base;
    if (rc == 0 && !self->emit)
        self->counts[slot] = n;
    return rc;
}

static int s_value(s_parser_t *self, int depth)
{
    int c = s_peek(self);
    if (c == '{' || c == '[')
        return s_container(self, depth + 1);
    if (c == '"')
        return s_string(self);
    if (c == '-' || s_digit(c))
        return s_number(self);
    if (c == 't')
        return s_literal(self, "true");
    if (c == 'f')
        return s_literal(self, "false");
    if (c == 'n')
        return s_literal(self, "null");
    return s_unexpected(self, "a value");
}

static int s_document(s_parser_t *self)
{
    self->pos = 0;
    s_skip_ws(self);
    if (s_value(self, 0))
        return -1;
    s_skip_ws(self);
    if (self->pos < self->len)
        return s_unexpected(self, "the end of the document");
    return 0;
}

int fc_json_to_msgpack(const char *text, size_t len, size_t max, uint8_t **out, size_t *outlen,
                       char *errmsg, size_t errsize)
{
    assert(out && outlen);
    assert(text || len == 0);
    *out = NULL;
    *outlen = 0;
    if (errmsg && errsize)
        errmsg[0] = '\0';
    if (len > max) {
        if (errmsg && errsize)
            snprintf(errmsg, errsize, "document is %zu bytes, over the limit of %zu", len, max);
        return FC_ETOOBIG;
    }
    s_parser_t self;
    memset(&self, 0, sizeof self);
    self.text = text ? text : "";
    self.len = len;
    self.errmsg = errmsg;
    self.errsize = errsize;
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    msgpack_packer_init(&self.pk, &sbuf, msgpack_sbuffer_write);

    if (s_document(&self) == 0) {
        self.emit = true;
        s_document(&self);
    }
    int rc = self.err;
    if (rc == 0) {
        *outlen = sbuf.size;
        *out = (uint8_t *)msgpack_sbuffer_release(&sbuf);
    }
    msgpack_sbuffer_destroy(&sbuf);
    free(self.counts);
    free(self.str);
    free(self.arena);
    free(self.keys);
    return rc;
}
