/* fc_schema.c: config schemas: parse the JSON rules, check values against them; and the rule
   every config key follows, schema or not. */
#include "fc_schema.h"
#include "fc_config_value.h"
#include "fc_error.h"
#include "fc_json.h"
#include "fc_json_parse.h"
#include "fc_mpack.h"
#include "fc_revision.h"
#include "fc_text.h"

#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The schema document nests: {keys: {name: {enum: [value...]}}} and a value may nest too. */
#define S_SCHEMA_DEPTH 32
/* How much of a value a violation message quotes. */
#define S_BRIEF 80

bool fc_key_valid(const char *key)
{
    if (!key)
        return false;
    size_t len = strnlen(key, FC_MAX_KEY + 1);
    if (len == 0 || len > FC_MAX_KEY)
        return false;
    /* "_rev" is where the effective config's JSON says which revision it is. */
    if (!strcmp(key, "_rev"))
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = key[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

typedef enum { S_ANY, S_STRING, S_INTEGER, S_FLOAT, S_BOOLEAN, S_STRUCT } s_type_t;

static const char *s_type_names[] = {"any", "string", "integer", "float", "boolean", "struct"};

typedef struct {
    char key[FC_MAX_KEY + 1];
    s_type_t type;
    bool has_min, has_max;
    long double min, max;    /* long double holds every int64 and uint64 exactly */
    fc_value_t min_v, max_v; /* as written, for messages */
    fc_value_t *enums;
    size_t nenums;
    bool restart;
} s_rule_t;

struct fc_schema_t {
    s_rule_t *rules; /* sorted by key, unique */
    size_t nrules;
    bool strict;
};

static void s_rule_free(s_rule_t *r)
{
    fc_value_free(&r->min_v);
    fc_value_free(&r->max_v);
    for (size_t i = 0; i < r->nenums; i++)
        fc_value_free(&r->enums[i]);
    free(r->enums);
}

void fc_schema_destroy(fc_schema_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fc_schema_t *self = *self_p;
    for (size_t i = 0; i < self->nrules; i++)
        s_rule_free(&self->rules[i]);
    free(self->rules);
    free(self);
    *self_p = NULL;
}

static bool s_str_eq(const msgpack_object *o, const char *s)
{
    size_t n = strlen(s);
    return o->type == MSGPACK_OBJECT_STR && o->via.str.size == n &&
           memcmp(o->via.str.ptr, s, n) == 0;
}

/* Copies a msgpack string into out (NUL-terminated, cut to fit) for messages. */
static void s_str_copy(const msgpack_object *o, char *out, size_t size)
{
    size_t n = o->type == MSGPACK_OBJECT_STR ? o->via.str.size : 0;
    if (n >= size)
        n = size - 1;
    if (n)
        memcpy(out, o->via.str.ptr, n);
    out[n] = '\0';
}

static bool s_number(const msgpack_object *o, long double *out)
{
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        *out = (long double)o->via.u64;
    else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        *out = (long double)o->via.i64;
    else if (o->type == MSGPACK_OBJECT_FLOAT32 || o->type == MSGPACK_OBJECT_FLOAT64)
        *out = (long double)o->via.f64;
    else
        return false;
    return true;
}

static int s_value_of(const msgpack_object *o, fc_value_t *out)
{
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);
    int rc = msgpack_pack_object(&pk, *o) != 0
                 ? FC_ENOMEM
                 : fc_value_from_msgpack(out, (const uint8_t *)sbuf.data, sbuf.size);
    msgpack_sbuffer_destroy(&sbuf);
    return rc;
}

static bool s_type_ok(s_type_t type, fc_val_type_t vt)
{
    switch (type) {
    case S_ANY:
        return true;
    case S_STRING:
        return vt == FC_VAL_STRING;
    case S_INTEGER:
        return vt == FC_VAL_INT;
    case S_FLOAT:
        return vt == FC_VAL_FLOAT || vt == FC_VAL_INT; /* "ratio": 1 is a float too */
    case S_BOOLEAN:
        return vt == FC_VAL_BOOL;
    case S_STRUCT:
        return vt == FC_VAL_STRUCT;
    }
    return false;
}

/* Reads one key's rules from {"type": ..., "min": ..., ...}. 0 or FC_EINVAL with errmsg. */
static int s_parse_rule(const msgpack_object *o, s_rule_t *r, char *errmsg, size_t errsize)
{
    if (o->type != MSGPACK_OBJECT_MAP) {
        fc_textf(errmsg, errsize, "schema: %s: rules must be an object", r->key);
        return FC_EINVAL;
    }
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object *k = &o->via.map.ptr[i].key, *v = &o->via.map.ptr[i].val;
        if (s_str_eq(k, "type")) {
            bool known = false;
            for (size_t t = 0; t < sizeof s_type_names / sizeof *s_type_names; t++)
                if (s_str_eq(v, s_type_names[t])) {
                    r->type = (s_type_t)t;
                    known = true;
                }
            if (!known) {
                fc_textf(errmsg, errsize,
                         "schema: %s: type must be string, integer, float, boolean, struct or any",
                         r->key);
                return FC_EINVAL;
            }
        } else if (s_str_eq(k, "min") || s_str_eq(k, "max")) {
            bool is_min = s_str_eq(k, "min");
            long double n;
            if (!s_number(v, &n)) {
                fc_textf(errmsg, errsize, "schema: %s: %s must be a number", r->key,
                         is_min ? "min" : "max");
                return FC_EINVAL;
            }
            int rc = s_value_of(v, is_min ? &r->min_v : &r->max_v);
            if (rc)
                return rc;
            *(is_min ? &r->min : &r->max) = n;
            *(is_min ? &r->has_min : &r->has_max) = true;
        } else if (s_str_eq(k, "enum")) {
            if (v->type != MSGPACK_OBJECT_ARRAY || v->via.array.size == 0) {
                fc_textf(errmsg, errsize, "schema: %s: enum must be a non-empty array", r->key);
                return FC_EINVAL;
            }
            r->enums = calloc(v->via.array.size, sizeof *r->enums);
            if (!r->enums)
                return FC_ENOMEM;
            for (uint32_t e = 0; e < v->via.array.size; e++) {
                int rc = s_value_of(&v->via.array.ptr[e], &r->enums[e]);
                if (rc) {
                    fc_textf(errmsg, errsize, "schema: %s: enum entry %u is not a value", r->key,
                             e + 1);
                    return FC_EINVAL;
                }
                r->nenums = e + 1;
            }
        } else if (s_str_eq(k, "reload")) {
            if (s_str_eq(v, "hot"))
                r->restart = false;
            else if (s_str_eq(v, "restart"))
                r->restart = true;
            else {
                fc_textf(errmsg, errsize, "schema: %s: reload must be hot or restart", r->key);
                return FC_EINVAL;
            }
        } else if (s_str_eq(k, "description")) {
            if (v->type != MSGPACK_OBJECT_STR) {
                fc_textf(errmsg, errsize, "schema: %s: description must be a string", r->key);
                return FC_EINVAL;
            }
        } else {
            /* A misspelt rule ("maximum") would otherwise silently never be enforced. */
            char name[FC_MAX_KEY + 1];
            s_str_copy(k, name, sizeof name);
            fc_textf(errmsg, errsize, "schema: %s: unknown rule '%s'", r->key, name);
            return FC_EINVAL;
        }
    }
    if ((r->has_min || r->has_max) && r->type != S_INTEGER && r->type != S_FLOAT &&
        r->type != S_ANY) {
        fc_textf(errmsg, errsize, "schema: %s: min and max apply to integer and float only",
                 r->key);
        return FC_EINVAL;
    }
    if (r->has_min && r->has_max && r->min > r->max) {
        fc_textf(errmsg, errsize, "schema: %s: min is above max", r->key);
        return FC_EINVAL;
    }
    for (size_t e = 0; e < r->nenums; e++)
        if (!s_type_ok(r->type, fc_value_type(&r->enums[e]))) {
            fc_textf(errmsg, errsize, "schema: %s: enum entry %zu is not of type %s", r->key, e + 1,
                     s_type_names[r->type]);
            return FC_EINVAL;
        }
    return FC_OK;
}

static int s_rule_cmp(const void *a, const void *b)
{
    return strcmp(((const s_rule_t *)a)->key, ((const s_rule_t *)b)->key);
}

static int s_parse_keys(fc_schema_t *self, const msgpack_object *o, char *errmsg, size_t errsize)
{
    if (o->type != MSGPACK_OBJECT_MAP) {
        fc_textf(errmsg, errsize, "schema: keys must be an object");
        return FC_EINVAL;
    }
    if (o->via.map.size == 0)
        return FC_OK;
    self->rules = calloc(o->via.map.size, sizeof *self->rules);
    if (!self->rules)
        return FC_ENOMEM;
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        s_rule_t *r = &self->rules[i];
        self->nrules = i + 1; /* so destroy frees what was parsed */
        const msgpack_object *k = &o->via.map.ptr[i].key;
        if (fc_mpack_str(k, r->key, sizeof r->key) != 0 || !fc_key_valid(r->key)) {
            char name[FC_MAX_KEY + 1];
            s_str_copy(k, name, sizeof name);
            fc_textf(errmsg, errsize, "schema: '%s' is not a valid key name", name);
            return FC_EINVAL;
        }
        int rc = s_parse_rule(&o->via.map.ptr[i].val, r, errmsg, errsize);
        if (rc)
            return rc;
    }
    qsort(self->rules, self->nrules, sizeof *self->rules, s_rule_cmp);
    for (size_t i = 1; i < self->nrules; i++)
        if (!strcmp(self->rules[i - 1].key, self->rules[i].key)) {
            fc_textf(errmsg, errsize, "schema: %s is listed twice", self->rules[i].key);
            return FC_EINVAL;
        }
    return FC_OK;
}

fc_schema_t *fc_schema_parse(const char *json, char *errmsg, size_t errsize)
{
    fc_textf(errmsg, errsize, "%s", "");
    if (!json) {
        fc_textf(errmsg, errsize, "schema: no text");
        return NULL;
    }
    uint8_t *mp = NULL;
    size_t mplen = 0;
    char jerr[160] = "";
    int rc =
        fc_json_to_msgpack(json, strlen(json), FC_MAX_REVISION, &mp, &mplen, jerr, sizeof jerr);
    if (rc) {
        fc_textf(errmsg, errsize, "schema: %s", jerr[0] ? jerr : fc_strerror(rc));
        return NULL;
    }
    msgpack_zone zone;
    msgpack_zone_init(&zone, 4096);
    msgpack_object top;
    fc_schema_t *self = calloc(1, sizeof *self);
    if (!self)
        abort(); /* like CZMQ: out of memory is not recoverable here */
    rc = fc_mpack_unpack(mp, mplen, S_SCHEMA_DEPTH, &zone, &top);
    if (rc)
        fc_textf(errmsg, errsize, "schema: nested too deeply");
    else if (top.type != MSGPACK_OBJECT_MAP) {
        fc_textf(errmsg, errsize, "schema: must be a JSON object");
        rc = FC_EINVAL;
    }
    bool seen_keys = false;
    for (uint32_t i = 0; !rc && i < top.via.map.size; i++) {
        const msgpack_object *k = &top.via.map.ptr[i].key, *v = &top.via.map.ptr[i].val;
        if (s_str_eq(k, "keys")) {
            if (seen_keys) {
                fc_textf(errmsg, errsize, "schema: keys is given twice");
                rc = FC_EINVAL;
            } else
                rc = s_parse_keys(self, v, errmsg, errsize);
            seen_keys = true;
        } else if (s_str_eq(k, "strict")) {
            if (fc_mpack_bool(v, &self->strict) != 0) {
                fc_textf(errmsg, errsize, "schema: strict must be true or false");
                rc = FC_EINVAL;
            }
        } else {
            char name[FC_MAX_KEY + 1];
            s_str_copy(k, name, sizeof name);
            fc_textf(errmsg, errsize, "schema: unknown field '%s' (expected keys, strict)", name);
            rc = FC_EINVAL;
        }
    }
    msgpack_zone_destroy(&zone);
    free(mp);
    if (rc)
        fc_schema_destroy(&self);
    return self;
}

static const s_rule_t *s_find(const fc_schema_t *self, const char *key)
{
    if (!self || !key || self->nrules == 0)
        return NULL;
    s_rule_t probe;
    strncpy(probe.key, key, FC_MAX_KEY);
    probe.key[FC_MAX_KEY] = '\0';
    return bsearch(&probe, self->rules, self->nrules, sizeof *self->rules, s_rule_cmp);
}

/* A short, readable form of a value for messages: strings in single quotes ('loud'),
   numbers as written, other values as JSON; cut at S_BRIEF bytes. quote false leaves
   strings bare (for the list of allowed values). */
static void s_brief(const fc_value_t *v, bool quote, char *out, size_t size)
{
    char *s = NULL;
    double d;
    int64_t i;
    if (fc_value_get_str(v, &s) == 0) {
        snprintf(out, size, quote ? "'%.*s%s'" : "%.*s%s", S_BRIEF, s,
                 strlen(s) > S_BRIEF ? "..." : "");
        free(s);
    } else if (fc_value_type(v) == FC_VAL_INT && fc_value_get_int(v, &i) == 0)
        snprintf(out, size, "%lld", (long long)i);
    else if (fc_value_type(v) == FC_VAL_FLOAT && fc_value_get_double(v, &d) == 0)
        snprintf(out, size, "%.15g", d); /* 0.1, not 0.10000000000000001 */
    else {
        fc_json_t *j = fc_json_new();
        fc_value_to_json(v, j);
        const char *t = fc_json_text(j);
        snprintf(out, size, "%.*s%s", S_BRIEF, t, strlen(t) > S_BRIEF ? "..." : "");
        fc_json_destroy(&j);
    }
}

static bool s_value_number(const fc_value_t *v, long double *out)
{
    if (fc_value_type(v) != FC_VAL_INT && fc_value_type(v) != FC_VAL_FLOAT)
        return false;
    msgpack_zone zone;
    msgpack_zone_init(&zone, 256);
    msgpack_object obj;
    bool ok = fc_mpack_unpack(v->mp, v->len, 1, &zone, &obj) == 0 && s_number(&obj, out);
    msgpack_zone_destroy(&zone);
    return ok;
}

int fc_schema_check(const fc_schema_t *self, const char *key, const fc_value_t *value, char *msg,
                    size_t msgsize)
{
    fc_textf(msg, msgsize, "%s", "");
    if (!self)
        return FC_OK;
    const s_rule_t *r = s_find(self, key);
    if (!r) {
        if (!self->strict)
            return FC_OK;
        fc_textf(msg, msgsize, "%s: not in the schema (strict)", key ? key : "");
        return FC_EINVAL;
    }
    char shown[S_BRIEF + 8], bound[S_BRIEF + 8];
    if (!s_type_ok(r->type, fc_value_type(value))) {
        s_brief(value, true, shown, sizeof shown);
        fc_textf(msg, msgsize, "%s: %s is not of type %s (got %s)", key, shown,
                 s_type_names[r->type], fc_val_type_name(fc_value_type(value)));
        return FC_EINVAL;
    }
    long double n;
    if ((r->has_min || r->has_max) && s_value_number(value, &n)) {
        if (r->has_min && n < r->min) {
            s_brief(value, true, shown, sizeof shown);
            s_brief(&r->min_v, true, bound, sizeof bound);
            fc_textf(msg, msgsize, "%s: %s is below the minimum %s", key, shown, bound);
            return FC_EINVAL;
        }
        if (r->has_max && n > r->max) {
            s_brief(value, true, shown, sizeof shown);
            s_brief(&r->max_v, true, bound, sizeof bound);
            fc_textf(msg, msgsize, "%s: %s is above the maximum %s", key, shown, bound);
            return FC_EINVAL;
        }
    }
    if (r->nenums > 0) {
        for (size_t e = 0; e < r->nenums; e++)
            if (fc_value_equal(&r->enums[e], value))
                return FC_OK;
        char list[512] = "";
        size_t used = 0;
        for (size_t e = 0; e < r->nenums && used + 1 < sizeof list; e++) {
            s_brief(&r->enums[e], false, bound, sizeof bound);
            int w = snprintf(list + used, sizeof list - used, "%s%s", e ? ", " : "", bound);
            if (w < 0)
                break;
            used += (size_t)w;
        }
        s_brief(value, true, shown, sizeof shown);
        fc_textf(msg, msgsize, "%s: %s is not one of %s", key, shown, list);
        return FC_EINVAL;
    }
    return FC_OK;
}

int fc_schema_check_revision(const fc_schema_t *self, const fc_revision_t *rev, char *msg,
                             size_t msgsize)
{
    fc_textf(msg, msgsize, "%s", "");
    if (!self || !rev || rev->kind != FC_REV_SET)
        return FC_OK;
    /* Unsetting is always allowed, even of a key a strict schema does not list: it is how
       an operator cleans up after tightening the schema. */
    for (size_t i = 0; i < rev->nchanges; i++)
        if (!rev->changes[i].unset) {
            int rc =
                fc_schema_check(self, rev->changes[i].key, &rev->changes[i].value, msg, msgsize);
            if (rc)
                return rc;
        }
    return FC_OK;
}

bool fc_schema_restart_only(const fc_schema_t *self, const char *key)
{
    const s_rule_t *r = s_find(self, key);
    return r && r->restart;
}
