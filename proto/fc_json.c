/* fc_json.c: a small streaming JSON writer (escaping, automatic commas) for --json output. */
#include "fc_json.h"
#include "fc_test_check.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One open container: whether it is an object, and how many members it has so far. */
typedef struct {
    bool object;
    size_t count;
} s_level_t;

struct fc_json_t {
    char *buf;
    size_t len;
    size_t cap;
    s_level_t *stack;
    size_t depth;
    size_t stack_cap;
    bool after_key; /* a key was written; the next value belongs to it (no comma) */
};

fc_json_t *fc_json_new(void)
{
    fc_json_t *self = calloc(1, sizeof *self);
    if (!self)
        abort(); /* like CZMQ: out of memory is not recoverable here */
    self->cap = 256;
    self->buf = malloc(self->cap);
    if (!self->buf)
        abort();
    self->buf[0] = '\0';
    return self;
}

void fc_json_destroy(fc_json_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fc_json_t *self = *self_p;
    free(self->buf);
    free(self->stack);
    free(self);
    *self_p = NULL;
}

static void s_put(fc_json_t *self, const char *s, size_t n)
{
    if (self->len + n + 1 > self->cap) {
        size_t ncap = self->cap;
        while (self->len + n + 1 > ncap)
            ncap *= 2;
        char *nb = realloc(self->buf, ncap);
        if (!nb)
            abort();
        self->buf = nb;
        self->cap = ncap;
    }
    memcpy(self->buf + self->len, s, n);
    self->len += n;
    self->buf[self->len] = '\0';
}

static void s_puts(fc_json_t *self, const char *s)
{
    s_put(self, s, strlen(s));
}

/* Called before every value: writes the comma that separates it from the previous one. */
static void s_before_value(fc_json_t *self)
{
    if (self->after_key) {
        self->after_key = false;
        return;
    }
    if (self->depth > 0) {
        s_level_t *top = &self->stack[self->depth - 1];
        if (top->count++ > 0)
            s_put(self, ",", 1);
    }
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0 if invalid. */
static size_t s_utf8_len(const unsigned char *s, size_t n)
{
    size_t need;
    uint32_t cp;
    if (s[0] < 0x80)
        return 1;
    else if ((s[0] & 0xe0) == 0xc0) {
        need = 2;
        cp = s[0] & 0x1f;
    } else if ((s[0] & 0xf0) == 0xe0) {
        need = 3;
        cp = s[0] & 0x0f;
    } else if ((s[0] & 0xf8) == 0xf0) {
        need = 4;
        cp = s[0] & 0x07;
    } else
        return 0;
    if (n < need)
        return 0;
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    /* Overlong forms, surrogates and values past U+10FFFF are not valid UTF-8. */
    static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[need] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return need;
}

static void s_escaped(fc_json_t *self, const char *value)
{
    const unsigned char *s = (const unsigned char *)value;
    size_t n = strlen(value);
    s_put(self, "\"", 1);
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c == '"')
            s_put(self, "\\\"", 2);
        else if (c == '\\')
            s_put(self, "\\\\", 2);
        else if (c < 0x20 || c == 0x7f) {
            char esc[8];
            static const char digits[] = "0123456789abcdef";
            memcpy(esc, "\\u00", 4);
            esc[4] = digits[c >> 4];
            esc[5] = digits[c & 0xf];
            s_put(self, esc, 6);
        } else {
            /* UTF-8 passes through; an invalid byte (a non-UTF-8 file name) becomes U+FFFD
               so the document stays valid JSON for any consumer. */
            size_t u = s_utf8_len(s + i, n - i);
            if (u == 0) {
                s_put(self, "\\ufffd", 6);
                i++;
                continue;
            }
            s_put(self, (const char *)s + i, u);
            i += u;
            continue;
        }
        i++;
    }
    s_put(self, "\"", 1);
}

static void s_push(fc_json_t *self, bool object)
{
    s_before_value(self);
    if (self->depth == self->stack_cap) {
        size_t ncap = self->stack_cap ? self->stack_cap * 2 : 8;
        s_level_t *ns = realloc(self->stack, ncap * sizeof *ns);
        if (!ns)
            abort();
        self->stack = ns;
        self->stack_cap = ncap;
    }
    self->stack[self->depth++] = (s_level_t){object, 0};
    s_put(self, object ? "{" : "[", 1);
}

static void s_pop(fc_json_t *self, bool object)
{
    /* A mismatched close is a caller bug; ignoring it keeps the buffer sane. */
    if (self->depth == 0 || self->stack[self->depth - 1].object != object)
        return;
    if (self->after_key) {
        /* A key without a value: complete it so the text still parses. */
        s_puts(self, "null");
        self->after_key = false;
    }
    self->depth--;
    s_put(self, object ? "}" : "]", 1);
}

void fc_json_open(fc_json_t *self)
{
    s_push(self, true);
}

void fc_json_close(fc_json_t *self)
{
    s_pop(self, true);
}

void fc_json_open_array(fc_json_t *self)
{
    s_push(self, false);
}

void fc_json_close_array(fc_json_t *self)
{
    s_pop(self, false);
}

void fc_json_key(fc_json_t *self, const char *key)
{
    if (self->after_key)
        s_puts(self, "null"); /* previous key never got its value */
    self->after_key = false;
    s_before_value(self);
    s_escaped(self, key ? key : "");
    s_put(self, ":", 1);
    self->after_key = true;
}

void fc_json_str(fc_json_t *self, const char *value)
{
    s_before_value(self);
    if (value)
        s_escaped(self, value);
    else
        s_puts(self, "null");
}

void fc_json_int(fc_json_t *self, int64_t value)
{
    char num[32];
    snprintf(num, sizeof num, "%" PRId64, value);
    s_before_value(self);
    s_puts(self, num);
}

void fc_json_uint(fc_json_t *self, uint64_t value)
{
    char num[32];
    snprintf(num, sizeof num, "%" PRIu64, value);
    s_before_value(self);
    s_puts(self, num);
}

void fc_json_double(fc_json_t *self, double value)
{
    s_before_value(self);
    if (!isfinite(value)) {
        s_puts(self, "null"); /* JSON has no NaN or infinity */
        return;
    }
    char num[40];
    snprintf(num, sizeof num, "%.17g", value);
    /* A locale with a decimal comma would otherwise break the document. */
    for (char *p = num; *p; p++)
        if (*p == ',')
            *p = '.';
    s_puts(self, num);
}

void fc_json_bool(fc_json_t *self, bool value)
{
    s_before_value(self);
    s_puts(self, value ? "true" : "false");
}

void fc_json_null(fc_json_t *self)
{
    s_before_value(self);
    s_puts(self, "null");
}

void fc_json_key_str(fc_json_t *self, const char *key, const char *value)
{
    fc_json_key(self, key);
    fc_json_str(self, value);
}

void fc_json_key_int(fc_json_t *self, const char *key, int64_t value)
{
    fc_json_key(self, key);
    fc_json_int(self, value);
}

void fc_json_key_uint(fc_json_t *self, const char *key, uint64_t value)
{
    fc_json_key(self, key);
    fc_json_uint(self, value);
}

void fc_json_key_double(fc_json_t *self, const char *key, double value)
{
    fc_json_key(self, key);
    fc_json_double(self, value);
}

void fc_json_key_bool(fc_json_t *self, const char *key, bool value)
{
    fc_json_key(self, key);
    fc_json_bool(self, value);
}

const char *fc_json_text(const fc_json_t *self)
{
    return self->buf;
}

static void s_expect(fc_json_t **j_p, const char *want, bool verbose)
{
    if (verbose && strcmp(fc_json_text(*j_p), want) != 0)
        printf("\n   got  %s\n   want %s\n", fc_json_text(*j_p), want);
    FC_CHECK(!strcmp(fc_json_text(*j_p), want));
    fc_json_destroy(j_p);
    FC_CHECK(*j_p == NULL);
}

void fc_json_test(bool verbose)
{
    printf(" * fc_json: ");

    /* The usage example from the header. */
    fc_json_t *j = fc_json_new();
    FC_CHECK(!strcmp(fc_json_text(j), ""));
    fc_json_open(j);
    fc_json_key_str(j, "a", "x");
    fc_json_key(j, "list");
    fc_json_open_array(j);
    fc_json_int(j, 3);
    fc_json_close_array(j);
    fc_json_close(j);
    s_expect(&j, "{\"a\":\"x\",\"list\":[3]}", verbose);
    fc_json_destroy(&j); /* safe on NULL */

    /* Every value type, nesting, empty containers, commas at each level. */
    j = fc_json_new();
    fc_json_open(j);
    fc_json_key_int(j, "neg", -42);
    fc_json_key_int(j, "min", INT64_MIN);
    fc_json_key_uint(j, "max", UINT64_MAX);
    fc_json_key_double(j, "half", 0.5);
    fc_json_key_double(j, "nan", NAN);
    fc_json_key_bool(j, "t", true);
    fc_json_key_bool(j, "f", false);
    fc_json_key_str(j, "nil", NULL);
    fc_json_key(j, "n");
    fc_json_null(j);
    fc_json_key(j, "empty_obj");
    fc_json_open(j);
    fc_json_close(j);
    fc_json_key(j, "empty_arr");
    fc_json_open_array(j);
    fc_json_close_array(j);
    fc_json_key(j, "rows");
    fc_json_open_array(j);
    for (int i = 0; i < 2; i++) {
        fc_json_open(j);
        fc_json_key_int(j, "i", i);
        fc_json_key(j, "tags");
        fc_json_open_array(j);
        fc_json_str(j, "a");
        fc_json_str(j, "b");
        fc_json_close_array(j);
        fc_json_close(j);
    }
    fc_json_close_array(j);
    fc_json_close(j);
    s_expect(&j,
             "{\"neg\":-42,\"min\":-9223372036854775808,\"max\":18446744073709551615,"
             "\"half\":0.5,\"nan\":null,\"t\":true,\"f\":false,\"nil\":null,\"n\":null,"
             "\"empty_obj\":{},\"empty_arr\":[],\"rows\":[{\"i\":0,\"tags\":[\"a\",\"b\"]},"
             "{\"i\":1,\"tags\":[\"a\",\"b\"]}]}",
             verbose);

    /* Escaping: quotes, backslash, control characters; UTF-8 kept; invalid bytes replaced. */
    j = fc_json_new();
    fc_json_open_array(j);
    fc_json_str(j, "say \"hi\"\\ now");
    fc_json_str(j, "tab\there\nnl\x01\x1f\x7f");
    fc_json_str(j, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x9a\x80");
    fc_json_str(j, "bad\xff\xc3(\xed\xa0\x80");
    fc_json_close_array(j);
    s_expect(&j,
             "[\"say \\\"hi\\\"\\\\ now\",\"tab\\u0009here\\u000anl\\u0001\\u001f\\u007f\","
             "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x9a\x80\","
             "\"bad\\ufffd\\ufffd(\\ufffd\\ufffd\\ufffd\"]",
             verbose);

    /* Keys are escaped too; a dangling key gets null; a stray close is ignored. */
    j = fc_json_new();
    fc_json_open(j);
    fc_json_key_str(j, "we\"ird", "v");
    fc_json_key(j, "dangling");
    fc_json_close_array(j);
    fc_json_close(j);
    fc_json_close(j);
    s_expect(&j, "{\"we\\\"ird\":\"v\",\"dangling\":null}", verbose);

    /* Deep nesting and a large document grow the buffers. */
    j = fc_json_new();
    for (int i = 0; i < 100; i++)
        fc_json_open_array(j);
    for (int i = 0; i < 100; i++)
        fc_json_close_array(j);
    const char *t = fc_json_text(j);
    FC_CHECK(strlen(t) == 200 && t[99] == '[' && t[100] == ']');
    fc_json_destroy(&j);
    j = fc_json_new();
    fc_json_open_array(j);
    for (int i = 0; i < 10000; i++)
        fc_json_uint(j, 7);
    fc_json_close_array(j);
    FC_CHECK(strlen(fc_json_text(j)) == 2 + 10000 + 9999);
    fc_json_destroy(&j);

    if (verbose)
        printf("(values, nesting, escaping) ");
    printf("OK\n");
}
