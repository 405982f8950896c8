/* fc_json_parse.c: reads config values and schema files (JSON) into msgpack: jansson parses,
   this file adds fleetcast's limits and walks the result into msgpack. */
#include "fc_json_parse.h"
#include "fc_error.h"

#include <assert.h>
#include <jansson.h>
#include <msgpack.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define S_MAX_DEPTH 32

/* Writes "line L, column C: " and the message into errmsg (when there is one). */
static void s_message(char *errmsg, size_t errsize, int line, int column, const char *fmt, ...)
{
    if (!errmsg || !errsize)
        return;
    int n = snprintf(errmsg, errsize, "line %d, column %d: ", line, column < 1 ? 1 : column);
    if (n < 0 || (size_t)n >= errsize)
        return;
    va_list args;
    va_start(args, fmt);
    vsnprintf(errmsg + n, errsize - (size_t)n, fmt, args);
    va_end(args);
}

/* Line and column (1-based; columns count characters, not bytes, as an editor shows them,
   and as jansson counts) of the byte at offset. */
static void s_position(const char *text, size_t offset, int *line, int *column)
{
    *line = 1;
    *column = 1;
    for (size_t i = 0; i < offset; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '\n') {
            ++*line;
            *column = 1;
        } else if ((c & 0xc0) != 0x80)
            ++*column;
    }
}

/* Where the document must stop before jansson reads it, or len: at a NUL byte, which
   jansson takes for the end of the input (it accepts "1\0garbage"), or at the bracket that
   opens level 33, because jansson's own limit is 2048 levels, compiled in. Brackets count
   only outside strings, where the scan is exact for valid JSON; invalid JSON fails in
   jansson before the scan's answer matters. */
static size_t s_stop(const char *text, size_t len, bool *deep)
{
    int depth = 0;
    bool in_string = false;
    *deep = false;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (c == '\0')
            return i;
        if (in_string) {
            if (c == '\\' && i + 1 < len && text[i + 1] != '\0')
                i++;
            else if (c == '"')
                in_string = false;
        } else if (c == '"')
            in_string = true;
        else if (c == '[' || c == '{') {
            if (++depth > S_MAX_DEPTH) {
                *deep = true;
                return i;
            }
        } else if (c == ']' || c == '}')
            depth--;
    }
    return len;
}

/* jansson's error as ours: its line and column (the last character it read) and its text,
   with control bytes shown as \xNN because it quotes the token it stopped at; plainer words
   where jansson's name its own API (\u0000) or give a byte without saying it is bad UTF-8. */
static int s_jansson_error(const json_error_t *err, const char *text, size_t len, char *errmsg,
                           size_t errsize)
{
    enum json_error_code code = json_error_code(err);
    if (code == json_error_out_of_memory) {
        s_message(errmsg, errsize, err->line, err->column, "out of memory");
        return FC_ENOMEM;
    }
    if (code == json_error_null_character || code == json_error_null_byte_in_key) {
        /* Legal JSON, but config values become C strings, where a NUL would cut them short. */
        s_message(errmsg, errsize, err->line, err->column, "\\u0000 is not allowed in strings");
        return FC_EPROTO;
    }
    if (code == json_error_invalid_utf8 && err->position >= 0 && (size_t)err->position < len) {
        /* jansson stops before the bad sequence and names its first byte's offset. */
        int line, column;
        s_position(text, (size_t)err->position, &line, &column);
        s_message(errmsg, errsize, line, column, "invalid UTF-8 (byte 0x%02x)",
                  (unsigned char)text[err->position]);
        return FC_EPROTO;
    }
    char shown[4 * JSON_ERROR_TEXT_LENGTH + 1]; /* every byte as \xNN, and the NUL */
    size_t n = 0;
    for (size_t i = 0; err->text[i] && i < JSON_ERROR_TEXT_LENGTH; i++) {
        unsigned char c = (unsigned char)err->text[i];
        if (c < 0x20 || c == 0x7f)
            n += (size_t)snprintf(shown + n, sizeof shown - n, "\\x%02x", c);
        else
            shown[n++] = (char)c;
    }
    shown[n] = '\0';
    s_message(errmsg, errsize, err->line, err->column, "%s", shown);
    return code == json_error_stack_overflow ? FC_ETOOBIG : FC_EPROTO;
}

/* Packs value; depth is bounded by s_stop (32 levels) before jansson builds anything. */
static int s_pack(msgpack_packer *pk, json_t *value)
{
    int rc = 0;
    switch (json_typeof(value)) {
    case JSON_OBJECT: {
        /* jansson keeps an object's keys in insertion order, which is document order here
           (duplicates are refused, so none is replaced). */
        const char *key;
        size_t key_len;
        json_t *member;
        rc = msgpack_pack_map(pk, json_object_size(value));
        json_object_keylen_foreach(value, key, key_len, member)
        {
            if (rc == 0)
                rc = msgpack_pack_str_with_body(pk, key, key_len);
            if (rc == 0)
                rc = s_pack(pk, member);
        }
        break;
    }
    case JSON_ARRAY: {
        size_t i;
        json_t *item;
        rc = msgpack_pack_array(pk, json_array_size(value));
        json_array_foreach(value, i, item)
        {
            if (rc == 0)
                rc = s_pack(pk, item);
        }
        break;
    }
    case JSON_STRING:
        rc = msgpack_pack_str_with_body(pk, json_string_value(value), json_string_length(value));
        break;
    case JSON_INTEGER:
        rc = msgpack_pack_int64(pk, (int64_t)json_integer_value(value));
        break;
    case JSON_REAL:
        rc = msgpack_pack_double(pk, json_real_value(value));
        break;
    case JSON_TRUE:
        rc = msgpack_pack_true(pk);
        break;
    case JSON_FALSE:
        rc = msgpack_pack_false(pk);
        break;
    case JSON_NULL:
        rc = msgpack_pack_nil(pk);
        break;
    }
    /* The only failure of a packer into an sbuffer is a failed allocation. */
    return rc == 0 ? 0 : FC_ENOMEM;
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
    if (!text)
        text = "";
    bool deep = false;
    size_t stop = s_stop(text, len, &deep);
    /* JSON_DECODE_ANY: a config value may be a bare scalar. Integers beyond int64 are
       refused (jansson has no wider type), as are floats beyond float64's range. */
    json_error_t err;
    json_t *root = json_loadb(text, stop, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);
    if (stop < len) {
        /* What comes before the stop is jansson's to judge first: a document that is wrong
           earlier gets that error, as a reader going front to back would report. */
        if (!root && json_error_code(&err) != json_error_premature_end_of_input)
            return s_jansson_error(&err, text, stop, errmsg, errsize);
        json_decref(root);
        int line, column;
        s_position(text, stop, &line, &column);
        if (deep) {
            s_message(errmsg, errsize, line, column, "nested deeper than %d levels", S_MAX_DEPTH);
            return FC_ETOOBIG;
        }
        s_message(errmsg, errsize, line, column, "unexpected byte 0x00");
        return FC_EPROTO;
    }
    if (!root)
        return s_jansson_error(&err, text, stop, errmsg, errsize);

    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);
    int rc = s_pack(&pk, root);
    json_decref(root);
    if (rc == 0) {
        *outlen = sbuf.size;
        *out = (uint8_t *)msgpack_sbuffer_release(&sbuf);
    } else if (errmsg && errsize)
        snprintf(errmsg, errsize, "out of memory");
    msgpack_sbuffer_destroy(&sbuf);
    return rc;
}
