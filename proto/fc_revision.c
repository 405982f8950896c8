/* fc_revision.c: signed config revisions: build, validate, encode and sign, parse and verify. */
#include "fc_revision.h"
#include "fc_array.h"
#include "fc_config_value.h"
#include "fc_envelope.h"
#include "fc_error.h"
#include "fc_hash.h"
#include "fc_mpack.h"
#include "fc_schema.h"

#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#define S_FORMAT 1
#define S_BODY_FIELDS 11
#define S_CHANGE_FIELDS 3
/* body -> changes -> change -> value: three levels of our own (the envelope is fc_envelope's),
   and a value nests at most 16 more (fc_value.c); msgpack-c's cap is 32. */
#define S_BODY_DEPTH 32
#define S_DEFAULT_HALT 20

fc_revision_t *fc_revision_new(fc_rev_kind_t kind)
{
    fc_revision_t *self = calloc(1, sizeof *self);
    if (!self)
        abort(); /* like CZMQ: out of memory is not recoverable here */
    self->kind = kind;
    strcpy(self->scope, "global");
    self->halt_percent = S_DEFAULT_HALT;
    return self;
}

static void s_free_changes(fc_revision_t *self)
{
    for (size_t i = 0; self->changes && i < self->nchanges; i++)
        fc_value_free(&self->changes[i].value);
    free(self->changes);
    self->changes = NULL;
    self->nchanges = 0;
}

void fc_revision_destroy(fc_revision_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fc_revision_t *self = *self_p;
    s_free_changes(self);
    free(self->schema_json);
    free(self);
    *self_p = NULL;
}

/* A group or agent name inside a scope: the same rule as agent ids (fc_name_valid), which
   lives with the manifest; repeated here so values do not depend on manifests. */
static bool s_scope_name_valid(const char *name)
{
    size_t len = strnlen(name, FC_MAX_NAME + 1);
    if (len == 0 || len > FC_MAX_NAME || !strcmp(name, ".") || !strcmp(name, ".."))
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '+' || c == '-'))
            return false;
    }
    return true;
}

fc_scope_kind_t fc_scope_kind(const char *scope, const char **name)
{
    fc_scope_kind_t kind = FC_SCOPE_NONE;
    const char *rest = "";
    if (scope && !strcmp(scope, "global"))
        kind = FC_SCOPE_GLOBAL;
    else if (scope && !strncmp(scope, "group:", 6))
        kind = FC_SCOPE_GROUP, rest = scope + 6;
    else if (scope && !strncmp(scope, "agent:", 6))
        kind = FC_SCOPE_AGENT, rest = scope + 6;
    if (name)
        *name = rest;
    return kind;
}

bool fc_scope_valid(const char *scope)
{
    const char *name;
    switch (fc_scope_kind(scope, &name)) {
    case FC_SCOPE_GLOBAL:
        return true;
    case FC_SCOPE_GROUP:
    case FC_SCOPE_AGENT:
        return s_scope_name_valid(name);
    default:
        return false;
    }
}

bool fc_scope_matches(const char *scope, const char *agent_id, const char *group)
{
    const char *name;
    switch (fc_scope_kind(scope, &name)) {
    case FC_SCOPE_GLOBAL:
        return true;
    case FC_SCOPE_GROUP:
        return group && group[0] && !strcmp(name, group);
    case FC_SCOPE_AGENT:
        return agent_id && agent_id[0] && !strcmp(name, agent_id);
    default:
        return false;
    }
}

uint32_t fc_canary_bucket(const char *agent_id)
{
    /* A hash, not a random draw: the broker and every agent reach the same answer, and an
       agent stays in (or out of) the canary across restarts. */
    uint8_t h[FC_HASH_LEN];
    fc_hash_buf(h, agent_id, strlen(agent_id));
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | h[i];
    return (uint32_t)(v % 100);
}

bool fc_canary_member(const char *agent_id, uint32_t percent)
{
    if (percent == 0 || percent >= 100)
        return true;
    return agent_id && fc_canary_bucket(agent_id) < percent;
}

uint32_t fc_canary_widen(const char *const *ids, size_t n, uint32_t percent)
{
    if (percent == 0 || percent >= 100 || n == 0)
        return percent;
    uint32_t lowest = 100;
    for (size_t i = 0; i < n; i++) {
        uint32_t b = fc_canary_bucket(ids[i]);
        if (b < lowest)
            lowest = b;
    }
    return lowest < percent ? percent : lowest + 1;
}

static int s_change_cmp(const void *key, const void *change)
{
    return strcmp(key, ((const fc_change_t *)change)->key);
}

/* Index of key in the sorted changes, or where it would go (*found false). */
static size_t s_find(const fc_revision_t *self, const char *key, bool *found)
{
    return fc_bsearch(key, self->changes, self->nchanges, sizeof *self->changes, s_change_cmp,
                      found);
}

/* Records a change in key order; value NULL means unset. Takes a copy of value. */
static int s_put(fc_revision_t *self, const char *key, const fc_value_t *value)
{
    if (!self || self->kind != FC_REV_SET || !fc_key_valid(key))
        return FC_EINVAL;
    fc_value_t copy = {NULL, 0};
    if (value) {
        if (!value->mp || value->len == 0)
            return FC_EINVAL;
        if (value->len > FC_MAX_VALUE)
            return FC_ETOOBIG;
        int rc = fc_value_copy(&copy, value);
        if (rc)
            return rc;
    }
    bool found;
    size_t at = s_find(self, key, &found);
    if (!found) {
        if (self->nchanges >= FC_MAX_CHANGES) {
            fc_value_free(&copy);
            return FC_ETOOBIG;
        }
        fc_change_t *nc = realloc(self->changes, (self->nchanges + 1) * sizeof *nc);
        if (!nc) {
            fc_value_free(&copy);
            return FC_ENOMEM;
        }
        self->changes = nc;
        memmove(&nc[at + 1], &nc[at], (self->nchanges - at) * sizeof *nc);
        self->nchanges++;
        memset(&nc[at], 0, sizeof *nc);
        strcpy(nc[at].key, key);
    } else
        fc_value_free(&self->changes[at].value);
    self->changes[at].unset = value == NULL;
    self->changes[at].value = copy;
    return FC_OK;
}

int fc_revision_set(fc_revision_t *self, const char *key, const fc_value_t *value)
{
    if (!value)
        return FC_EINVAL;
    return s_put(self, key, value);
}

int fc_revision_unset(fc_revision_t *self, const char *key)
{
    return s_put(self, key, NULL);
}

/* Every rule of the revision format, on a decoded or hand-filled revision. Shared by parse
   and sign, so a signed revision always parses. Returns 0 or FC_EINVAL / FC_ETOOBIG. */
static int s_validate(const fc_revision_t *self)
{
    if (self->kind != FC_REV_SET && self->kind != FC_REV_SCHEMA && self->kind != FC_REV_PROMOTE)
        return FC_EINVAL;
    if (self->rev == 0 || !fc_scope_valid(self->scope))
        return FC_EINVAL;
    if (memchr(self->message, '\0', sizeof self->message) == NULL)
        return FC_EINVAL;
    if (self->canary > 100 || self->halt_percent > 100)
        return FC_EINVAL;
    if (self->nchanges > FC_MAX_CHANGES)
        return FC_ETOOBIG;
    if (self->nchanges > 0 && !self->changes)
        return FC_EINVAL;
    /* Each kind carries only its own fields, so no field is silently ignored. */
    bool set = self->kind == FC_REV_SET, schema = self->kind == FC_REV_SCHEMA,
         promote = self->kind == FC_REV_PROMOTE;
    if (!set && (self->nchanges > 0 || self->canary != 0))
        return FC_EINVAL;
    if (promote != (self->target != 0) || (promote && self->target >= self->rev))
        return FC_EINVAL;
    if (schema != (self->schema_json != NULL))
        return FC_EINVAL;
    if (schema) {
        fc_schema_t *s = fc_schema_parse(self->schema_json, NULL, 0);
        if (!s)
            return FC_EINVAL;
        fc_schema_destroy(&s);
    }
    for (size_t i = 0; i < self->nchanges; i++) {
        const fc_change_t *c = &self->changes[i];
        if (!memchr(c->key, '\0', sizeof c->key) || !fc_key_valid(c->key))
            return FC_EINVAL;
        /* Strictly increasing: sorted for lookup, and no key changed twice. */
        if (i > 0 && strcmp(self->changes[i - 1].key, c->key) >= 0)
            return FC_EINVAL;
        if (c->unset != (c->value.mp == NULL))
            return FC_EINVAL;
        if (!c->unset && (c->value.len == 0 || c->value.len > FC_MAX_VALUE))
            return c->value.len ? FC_ETOOBIG : FC_EINVAL;
    }
    return FC_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* Encoding and signing */

/* Packs the body exactly as the fields say, without judging them. 0 or -1. */
/* fc_envelope_pack_fn of a revision. */
static int s_encode_body(const void *obj, msgpack_sbuffer *sbuf)
{
    const fc_revision_t *self = (const fc_revision_t *)obj;
    msgpack_packer pk;
    msgpack_packer_init(&pk, sbuf, msgpack_sbuffer_write);
    int rc = msgpack_pack_array(&pk, S_BODY_FIELDS);
    rc |= msgpack_pack_uint32(&pk, S_FORMAT);
    rc |= msgpack_pack_uint32(&pk, (uint32_t)self->kind);
    rc |= msgpack_pack_uint64(&pk, self->rev);
    rc |= fc_mpack_pack_str(&pk, self->scope);
    rc |= fc_mpack_pack_str(&pk, self->message);
    rc |= msgpack_pack_int64(&pk, self->created);
    rc |= msgpack_pack_uint32(&pk, self->canary);
    rc |= msgpack_pack_uint32(&pk, self->halt_percent);
    rc |= msgpack_pack_uint64(&pk, self->target);
    rc |= msgpack_pack_array(&pk, self->nchanges);
    for (size_t i = 0; rc == 0 && i < self->nchanges; i++) {
        const fc_change_t *c = &self->changes[i];
        rc |= msgpack_pack_array(&pk, S_CHANGE_FIELDS);
        rc |= fc_mpack_pack_str(&pk, c->key);
        rc |= c->unset ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk);
        /* The value is one complete msgpack object already: its bytes go in as they are. */
        if (c->unset || !c->value.mp)
            rc |= msgpack_pack_nil(&pk);
        else
            rc |= msgpack_sbuffer_write(sbuf, (const char *)c->value.mp, c->value.len);
    }
    rc |= fc_mpack_pack_str(&pk, self->schema_json ? self->schema_json : "");
    return rc ? -1 : 0;
}

uint8_t *fc_revision_sign(const fc_revision_t *self, const fc_signkey_t *key, size_t *len)
{
    if (!self || !key || !len || s_validate(self) != FC_OK)
        return NULL;
    /* Values made by hand rather than by fc_value_from_*: only what a receiver would take
       back byte for byte is signed. */
    for (size_t i = 0; i < self->nchanges; i++) {
        const fc_value_t *v = &self->changes[i].value;
        fc_value_t check;
        if (self->changes[i].unset)
            continue;
        if (fc_value_from_msgpack(&check, v->mp, v->len) != FC_OK)
            return NULL;
        bool same = fc_value_equal(&check, v);
        fc_value_free(&check);
        if (!same)
            return NULL;
    }
    return fc_envelope_seal_body(s_encode_body, self, key, FC_MAX_REVISION, len);
}

/* ---------------------------------------------------------------------------------------- */
/* Parsing and verification */

static int s_decode_change(const msgpack_object *o, fc_change_t *c)
{
    const msgpack_object *f;
    size_t n;
    int rc = fc_mpack_array(o, S_CHANGE_FIELDS, S_CHANGE_FIELDS, &f, &n);
    if (!rc)
        rc = fc_mpack_str(&f[0], c->key, sizeof c->key);
    if (!rc)
        rc = fc_mpack_bool(&f[1], &c->unset);
    if (rc)
        return rc;
    if (c->unset)
        return f[2].type == MSGPACK_OBJECT_NIL ? FC_OK : FC_EPROTO;
    /* The value's own bytes are not kept apart by msgpack-c: re-encode the object, which
       fc_value_from_msgpack then checks and brings to its canonical form. */
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);
    if (msgpack_pack_object(&pk, f[2]) != 0)
        rc = FC_ENOMEM;
    else
        rc = fc_value_from_msgpack(&c->value, (const uint8_t *)sbuf.data, sbuf.size);
    msgpack_sbuffer_destroy(&sbuf);
    return rc;
}

static int s_decode_body(const msgpack_object *o, fc_revision_t *self)
{
    const msgpack_object *f, *items;
    size_t n, nitems;
    uint32_t format = 0, kind = 0;
    int rc = fc_mpack_array(o, S_BODY_FIELDS, S_BODY_FIELDS, &f, &n);
    if (!rc)
        rc = fc_mpack_u32(&f[0], &format);
    if (!rc && format != S_FORMAT)
        rc = FC_EPROTO;
    if (!rc)
        rc = fc_mpack_u32(&f[1], &kind);
    if (!rc)
        self->kind = (fc_rev_kind_t)kind;
    if (!rc)
        rc = fc_mpack_u64(&f[2], &self->rev);
    if (!rc)
        rc = fc_mpack_str(&f[3], self->scope, sizeof self->scope);
    if (!rc)
        rc = fc_mpack_str(&f[4], self->message, sizeof self->message);
    if (!rc)
        rc = fc_mpack_i64(&f[5], &self->created);
    if (!rc)
        rc = fc_mpack_u32(&f[6], &self->canary);
    if (!rc)
        rc = fc_mpack_u32(&f[7], &self->halt_percent);
    if (!rc)
        rc = fc_mpack_u64(&f[8], &self->target);
    if (!rc)
        rc = fc_mpack_array(&f[9], FC_MAX_CHANGES, -1, &items, &nitems);
    if (!rc && nitems > 0) {
        self->changes = calloc(nitems, sizeof *self->changes);
        if (!self->changes)
            rc = FC_ENOMEM;
    }
    for (size_t i = 0; !rc && i < nitems; i++) {
        rc = s_decode_change(&items[i], &self->changes[i]);
        self->nchanges = i + 1; /* so destroy frees what was decoded */
    }
    if (!rc && f[10].type != MSGPACK_OBJECT_STR)
        rc = FC_EPROTO;
    if (!rc && f[10].via.str.size > 0) {
        const msgpack_object_str *s = &f[10].via.str;
        if (memchr(s->ptr, '\0', s->size))
            rc = FC_EPROTO;
        else if (!(self->schema_json = strndup(s->ptr, s->size)))
            rc = FC_ENOMEM;
    }
    return rc;
}

/* fc_envelope_decode_fn: a new revision (into *(fc_revision_t **)out) from a body, valid,
   or none. */
static int s_decode_new(const msgpack_object *o, void *out)
{
    fc_revision_t *self = fc_revision_new(FC_REV_SET);
    int rc = s_decode_body(o, self);
    if (!rc) {
        /* Schema text is a string on the wire: "" means none. */
        rc = s_validate(self);
        if (rc == FC_EINVAL)
            rc = FC_EPROTO; /* a bad field from the wire is a malformed message */
    }
    if (rc)
        fc_revision_destroy(&self);
    *(fc_revision_t **)out = self;
    return rc;
}

fc_revision_t *fc_revision_parse(const uint8_t *buf, size_t len, const fc_trust_t *trust, int *err)
{
    int dummy;
    if (!err)
        err = &dummy;
    fc_revision_t *self = NULL;
    uint8_t signer[FC_PUBKEY_LEN];
    *err = fc_envelope_open_body(buf, len, FC_MAX_REVISION, trust, S_BODY_DEPTH, 0, s_decode_new,
                                 &self, signer);
    if (self)
        memcpy(self->signer, signer, FC_PUBKEY_LEN);
    return self;
}
