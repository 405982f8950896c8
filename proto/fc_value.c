/* fc_value.c: typed config values kept as canonical msgpack: parse, compare, read, render. */
#include "fc_config_value.h"
#include "fc_error.h"
#include "fc_json_parse.h"
#include "fc_limits.h"
#include "fc_mpack.h"

#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

/* Containers nest at most this deep inside one value: a value travels inside a revision
   body (three levels of its own) and msgpack-c refuses more than 32 in all. */
#define S_VALUE_DEPTH 16

/* Operator text may be longer than its msgpack encoding ("[1, 2, 3]" is 9 bytes of text
   and 4 of msgpack); the encoded size is what FC_MAX_VALUE bounds. */
#define S_MAX_TEXT (4u * FC_MAX_VALUE)

/* True if o holds only what a value may hold: nil, bool, int, float, str without NUL, and
   arrays or string-keyed maps of those. Bin and ext have no JSON form. */
static bool s_object_valid(const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
    case MSGPACK_OBJECT_BOOLEAN:
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return true;
    case MSGPACK_OBJECT_STR:
        /* An embedded NUL would silently shorten the string wherever it is C text. */
        return o->via.str.size == 0 || !memchr(o->via.str.ptr, '\0', o->via.str.size);
    case MSGPACK_OBJECT_ARRAY:
        for (uint32_t i = 0; i < o->via.array.size; i++)
            if (!s_object_valid(&o->via.array.ptr[i]))
                return false;
        return true;
    case MSGPACK_OBJECT_MAP:
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            const msgpack_object_kv *kv = &o->via.map.ptr[i];
            if (kv->key.type != MSGPACK_OBJECT_STR || !s_object_valid(&kv->key) ||
                !s_object_valid(&kv->val))
                return false;
        }
        return true;
    default:
        return false;
    }
}

int fc_value_from_msgpack(fc_value_t *out, const uint8_t *mp, size_t len)
{
    if (!out)
        return FC_EINVAL;
    out->mp = NULL;
    out->len = 0;
    if (!mp || len == 0)
        return FC_EPROTO;
    if (len > FC_MAX_VALUE)
        return FC_ETOOBIG;
    msgpack_zone zone;
    msgpack_zone_init(&zone, 1024);
    msgpack_object obj;
    int rc = fc_mpack_unpack(mp, len, S_VALUE_DEPTH, &zone, &obj);
    if (!rc && !s_object_valid(&obj))
        rc = FC_EPROTO;
    /* Re-encode: msgpack-c packs every number, string and container header in its shortest
       form, so one value has one encoding and equality can be byte equality even when a
       peer sent 1 as a uint64. */
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    if (!rc) {
        msgpack_packer pk;
        msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);
        if (msgpack_pack_object(&pk, obj) != 0)
            rc = FC_ENOMEM;
        else if (sbuf.size > FC_MAX_VALUE)
            rc = FC_ETOOBIG;
    }
    if (!rc) {
        out->mp = malloc(sbuf.size);
        if (!out->mp)
            rc = FC_ENOMEM;
        else {
            memcpy(out->mp, sbuf.data, sbuf.size);
            out->len = sbuf.size;
        }
    }
    msgpack_sbuffer_destroy(&sbuf);
    msgpack_zone_destroy(&zone);
    return rc;
}

/* The value is the text itself, as a msgpack string. */
static int s_from_string(fc_value_t *out, const char *text, size_t len)
{
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);
    int rc = FC_OK;
    if (msgpack_pack_str(&pk, len) != 0 || msgpack_pack_str_body(&pk, text, len) != 0)
        rc = FC_ENOMEM;
    else
        rc = fc_value_from_msgpack(out, (const uint8_t *)sbuf.data, sbuf.size);
    msgpack_sbuffer_destroy(&sbuf);
    return rc;
}

int fc_value_from_text(fc_value_t *out, const char *text)
{
    if (!out || !text)
        return FC_EINVAL;
    out->mp = NULL;
    out->len = 0;
    size_t len = strlen(text);
    if (len > S_MAX_TEXT)
        return FC_ETOOBIG;
    uint8_t *mp = NULL;
    size_t mplen = 0;
    char errmsg[128];
    int rc = fc_json_to_msgpack(text, len, S_MAX_TEXT, &mp, &mplen, errmsg, sizeof errmsg);
    if (rc == FC_EPROTO)
        return s_from_string(out, text, len); /* not JSON: "info", "a b", "[x" */
    if (rc)
        return rc;
    rc = fc_value_from_msgpack(out, mp, mplen);
    free(mp);
    /* Valid JSON that is no value (too deep, a NUL inside a string) is the operator's
       mistake, not a malformed message. */
    return rc == FC_EPROTO ? FC_EINVAL : rc;
}

void fc_value_free(fc_value_t *v)
{
    if (!v)
        return;
    free(v->mp);
    v->mp = NULL;
    v->len = 0;
}

int fc_value_copy(fc_value_t *dst, const fc_value_t *src)
{
    if (!dst || !src)
        return FC_EINVAL;
    dst->mp = NULL;
    dst->len = 0;
    if (!src->mp || src->len == 0)
        return FC_OK;
    dst->mp = malloc(src->len);
    if (!dst->mp)
        return FC_ENOMEM;
    memcpy(dst->mp, src->mp, src->len);
    dst->len = src->len;
    return FC_OK;
}

bool fc_value_equal(const fc_value_t *a, const fc_value_t *b)
{
    size_t alen = a && a->mp ? a->len : 0;
    size_t blen = b && b->mp ? b->len : 0;
    if (alen != blen)
        return false;
    return alen == 0 || memcmp(a->mp, b->mp, alen) == 0;
}

/* Unpacks a value (already validated when it was made) into zone. 0 or FC_EPROTO. */
static int s_unpack(const fc_value_t *v, msgpack_zone *zone, msgpack_object *obj)
{
    if (!v || !v->mp || v->len == 0)
        return FC_EPROTO;
    return fc_mpack_unpack(v->mp, v->len, S_VALUE_DEPTH, zone, obj);
}

fc_val_type_t fc_value_type(const fc_value_t *v)
{
    /* The type is in the first byte; no need to unpack. */
    if (!v || !v->mp || v->len == 0)
        return FC_VAL_NIL;
    uint8_t b = v->mp[0];
    if (b <= 0x7f || b >= 0xe0 || (b >= 0xcc && b <= 0xd3))
        return FC_VAL_INT;
    if (b == 0xc2 || b == 0xc3)
        return FC_VAL_BOOL;
    if (b == 0xca || b == 0xcb)
        return FC_VAL_FLOAT;
    if ((b >= 0xa0 && b <= 0xbf) || (b >= 0xd9 && b <= 0xdb))
        return FC_VAL_STRING;
    if ((b >= 0x80 && b <= 0x9f) || (b >= 0xdc && b <= 0xdf))
        return FC_VAL_STRUCT;
    return FC_VAL_NIL;
}

const char *fc_val_type_name(fc_val_type_t t)
{
    /* The same words the schema uses for its "type" rule. */
    switch (t) {
    case FC_VAL_NIL:
        return "null";
    case FC_VAL_BOOL:
        return "boolean";
    case FC_VAL_INT:
        return "integer";
    case FC_VAL_FLOAT:
        return "float";
    case FC_VAL_STRING:
        return "string";
    case FC_VAL_STRUCT:
        return "struct";
    }
    return "unknown";
}

int fc_value_get_bool(const fc_value_t *v, bool *out)
{
    if (!out || fc_value_type(v) != FC_VAL_BOOL)
        return FC_EINVAL;
    *out = v->mp[0] == 0xc3;
    return FC_OK;
}

int fc_value_get_int(const fc_value_t *v, int64_t *out)
{
    if (!out || fc_value_type(v) != FC_VAL_INT)
        return FC_EINVAL;
    msgpack_zone zone;
    msgpack_zone_init(&zone, 256);
    msgpack_object obj;
    int rc = s_unpack(v, &zone, &obj);
    if (!rc && obj.type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        *out = obj.via.i64;
    else if (!rc && obj.type == MSGPACK_OBJECT_POSITIVE_INTEGER && obj.via.u64 <= INT64_MAX)
        *out = (int64_t)obj.via.u64;
    else
        rc = FC_EINVAL; /* includes integers above INT64_MAX */
    msgpack_zone_destroy(&zone);
    return rc;
}

int fc_value_get_double(const fc_value_t *v, double *out)
{
    fc_val_type_t t = fc_value_type(v);
    if (!out || (t != FC_VAL_INT && t != FC_VAL_FLOAT))
        return FC_EINVAL;
    msgpack_zone zone;
    msgpack_zone_init(&zone, 256);
    msgpack_object obj;
    int rc = s_unpack(v, &zone, &obj);
    if (!rc) {
        if (obj.type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
            *out = (double)obj.via.i64;
        else if (obj.type == MSGPACK_OBJECT_POSITIVE_INTEGER)
            *out = (double)obj.via.u64;
        else if (obj.type == MSGPACK_OBJECT_FLOAT32 || obj.type == MSGPACK_OBJECT_FLOAT64)
            *out = obj.via.f64;
        else
            rc = FC_EINVAL;
    }
    msgpack_zone_destroy(&zone);
    return rc;
}

/* A NUL-terminated copy of a msgpack string (whose pointer may be NULL when empty). */
static char *s_strdup(const msgpack_object_str *s)
{
    char *copy = malloc(s->size + 1);
    if (!copy)
        return NULL;
    if (s->size)
        memcpy(copy, s->ptr, s->size);
    copy[s->size] = '\0';
    return copy;
}

int fc_value_get_str(const fc_value_t *v, char **out)
{
    if (!out || fc_value_type(v) != FC_VAL_STRING)
        return FC_EINVAL;
    *out = NULL;
    msgpack_zone zone;
    msgpack_zone_init(&zone, 256);
    msgpack_object obj;
    int rc = s_unpack(v, &zone, &obj);
    if (!rc && obj.type == MSGPACK_OBJECT_STR) {
        *out = s_strdup(&obj.via.str);
        if (!*out)
            rc = FC_ENOMEM;
    } else if (!rc)
        rc = FC_EINVAL;
    msgpack_zone_destroy(&zone);
    return rc;
}

/* Writes a msgpack string as JSON: as a key, or as a value. */
static void s_json_str(fc_json_t *j, const msgpack_object_str *s, bool as_key)
{
    char *copy = s_strdup(s);
    if (!copy)
        abort(); /* like CZMQ: out of memory is not recoverable here */
    if (as_key)
        fc_json_key(j, copy);
    else
        fc_json_str(j, copy);
    free(copy);
}

static void s_json_object(const msgpack_object *o, fc_json_t *j)
{
    switch (o->type) {
    case MSGPACK_OBJECT_BOOLEAN:
        fc_json_bool(j, o->via.boolean);
        break;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        fc_json_uint(j, o->via.u64);
        break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        fc_json_int(j, o->via.i64);
        break;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        fc_json_double(j, o->via.f64);
        break;
    case MSGPACK_OBJECT_STR:
        s_json_str(j, &o->via.str, false);
        break;
    case MSGPACK_OBJECT_ARRAY:
        fc_json_open_array(j);
        for (uint32_t i = 0; i < o->via.array.size; i++)
            s_json_object(&o->via.array.ptr[i], j);
        fc_json_close_array(j);
        break;
    case MSGPACK_OBJECT_MAP:
        fc_json_open(j);
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            const msgpack_object_kv *kv = &o->via.map.ptr[i];
            if (kv->key.type == MSGPACK_OBJECT_STR)
                s_json_str(j, &kv->key.via.str, true);
            else
                fc_json_key(j, ""); /* never in a validated value */
            s_json_object(&kv->val, j);
        }
        fc_json_close(j);
        break;
    default:
        fc_json_null(j);
        break;
    }
}

void fc_value_to_json(const fc_value_t *v, fc_json_t *j)
{
    if (!j)
        return;
    msgpack_zone zone;
    msgpack_zone_init(&zone, 1024);
    msgpack_object obj;
    if (s_unpack(v, &zone, &obj) == 0)
        s_json_object(&obj, j);
    else
        fc_json_null(j);
    msgpack_zone_destroy(&zone);
}
