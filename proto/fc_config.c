/* fc_config.c: one agent's effective config: keeps its revisions, folds them into layers
   (global < group < agent), diffs two configs, renders JSON, saves and reloads. */
#include "fc_config.h"
#include "fc_array.h"
#include "fc_error.h"
#include "fc_file.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A saved config file holds at most this much: many revisions, each bounded on its own. */
#define S_MAX_FILE (256u * 1024u * 1024u)
#define S_LEN_PREFIX 4

/* One added revision and the signed bytes it came in (for saving). */
typedef struct {
    fc_revision_t *rev;
    uint8_t *bytes; /* NULL if the caller gave none */
    size_t len;
    bool halted; /* a canary the broker halted: its values count for no one */
} s_entry_t;

/* One key of a layer or of the effective config; both point into a kept revision. */
typedef struct {
    const char *key;
    const fc_value_t *value;
} s_slot_t;

/* A map from key to value as an array sorted by key. */
typedef struct {
    s_slot_t *slots;
    size_t n, cap;
} s_map_t;

struct fc_config_t {
    char agent_id[FC_MAX_NAME + 1];
    char group[FC_MAX_NAME + 1];
    s_entry_t *entries; /* revisions whose scope matches, in rev order */
    size_t nentries, cap;
    /* The newest revision if it does not match: kept only so the last revision number
       survives a save and load (a replay of it must still be refused). */
    s_entry_t last_seen;
    uint64_t last_rev;
    s_map_t effective;
    fc_schema_t *schema; /* parsed from the latest matching SCHEMA revision */
};

/* ---------------------------------------------------------------------------------------- */
/* Sorted maps */

static int s_slot_cmp(const void *key, const void *slot)
{
    return strcmp(key, ((const s_slot_t *)slot)->key);
}

static size_t s_map_find(const s_map_t *m, const char *key, bool *found)
{
    return fc_bsearch(key, m->slots, m->n, sizeof *m->slots, s_slot_cmp, found);
}

static void s_map_set(s_map_t *m, const char *key, const fc_value_t *value)
{
    bool found;
    size_t at = s_map_find(m, key, &found);
    if (found) {
        m->slots[at].value = value;
        return;
    }
    s_slot_t *ns = fc_grow(m->slots, m->n, &m->cap, sizeof *ns);
    if (!ns)
        abort(); /* like CZMQ: out of memory is not recoverable here */
    m->slots = ns;
    memmove(&m->slots[at + 1], &m->slots[at], (m->n - at) * sizeof *m->slots);
    m->slots[at] = (s_slot_t){key, value};
    m->n++;
}

static void s_map_remove(s_map_t *m, const char *key)
{
    bool found;
    size_t at = s_map_find(m, key, &found);
    if (!found)
        return;
    memmove(&m->slots[at], &m->slots[at + 1], (m->n - at - 1) * sizeof *m->slots);
    m->n--;
}

static const fc_value_t *s_map_get(const s_map_t *m, const char *key)
{
    bool found;
    size_t at = s_map_find(m, key, &found);
    return found ? m->slots[at].value : NULL;
}

static void s_map_free(s_map_t *m)
{
    free(m->slots);
    *m = (s_map_t){NULL, 0, 0};
}

/* ---------------------------------------------------------------------------------------- */
/* Life cycle */

static bool s_id_ok(const char *s)
{
    return !s || strlen(s) <= FC_MAX_NAME;
}

fc_config_t *fc_config_new(const char *agent_id, const char *group)
{
    if (!s_id_ok(agent_id) || !s_id_ok(group))
        return NULL;
    fc_config_t *self = calloc(1, sizeof *self);
    if (!self)
        abort(); /* like CZMQ: out of memory is not recoverable here */
    strcpy(self->agent_id, agent_id ? agent_id : "");
    strcpy(self->group, group ? group : "");
    return self;
}

static void s_entry_free(s_entry_t *e)
{
    fc_revision_destroy(&e->rev);
    free(e->bytes);
    e->bytes = NULL;
    e->len = 0;
}

void fc_config_destroy(fc_config_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fc_config_t *self = *self_p;
    for (size_t i = 0; i < self->nentries; i++)
        s_entry_free(&self->entries[i]);
    free(self->entries);
    s_entry_free(&self->last_seen);
    s_map_free(&self->effective);
    fc_schema_destroy(&self->schema);
    free(self);
    *self_p = NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* Folding revisions into the effective config */

static bool s_promoted(const fc_config_t *self, uint64_t rev)
{
    for (size_t i = 0; i < self->nentries; i++) {
        const fc_revision_t *r = self->entries[i].rev;
        if (r->kind == FC_REV_PROMOTE && r->target == rev)
            return true;
    }
    return false;
}

/* Recomputes the layers, the effective values and the schema in force from the kept
   revisions. Folding from scratch keeps promotion simple: a promoted canary revision
   counts at its own place in rev order, so a later revision still overrides it. */
static void s_fold(fc_config_t *self)
{
    s_map_t layer[3] = {{NULL, 0, 0}, {NULL, 0, 0}, {NULL, 0, 0}}; /* global, group, agent */
    const fc_revision_t *schema_rev = NULL;
    for (size_t i = 0; i < self->nentries; i++) {
        const fc_revision_t *r = self->entries[i].rev;
        if (r->kind == FC_REV_SCHEMA)
            schema_rev = r;
        if (r->kind != FC_REV_SET || self->entries[i].halted)
            continue;
        if (r->canary != 0 && !fc_canary_member(self->agent_id, r->canary) &&
            !s_promoted(self, r->rev))
            continue;
        fc_scope_kind_t kind = fc_scope_kind(r->scope, NULL);
        s_map_t *m = kind == FC_SCOPE_AGENT   ? &layer[2]
                     : kind == FC_SCOPE_GROUP ? &layer[1]
                                              : &layer[0];
        for (size_t c = 0; c < r->nchanges; c++) {
            if (r->changes[c].unset)
                s_map_remove(m, r->changes[c].key);
            else
                s_map_set(m, r->changes[c].key, &r->changes[c].value);
        }
    }
    /* The most specific layer wins. */
    self->effective.n = 0;
    for (int l = 0; l < 3; l++)
        for (size_t k = 0; k < layer[l].n; k++)
            s_map_set(&self->effective, layer[l].slots[k].key, layer[l].slots[k].value);
    for (int l = 0; l < 3; l++)
        s_map_free(&layer[l]);

    fc_schema_destroy(&self->schema);
    if (schema_rev) /* it parsed when the revision was verified, so this cannot fail */
        self->schema = fc_schema_parse(schema_rev->schema_json, NULL, 0);
}

/* ---------------------------------------------------------------------------------------- */
/* Adding revisions */

int fc_config_add(fc_config_t *self, fc_revision_t **rev_p, const uint8_t *signed_bytes, size_t len)
{
    if (!rev_p || !*rev_p)
        return FC_EINVAL;
    fc_revision_t *rev = *rev_p;
    *rev_p = NULL; /* ownership is taken whatever happens */
    if (!self || (signed_bytes && (len == 0 || len > FC_MAX_REVISION))) {
        fc_revision_destroy(&rev);
        return self ? FC_ETOOBIG : FC_EINVAL;
    }
    if (rev->rev <= self->last_rev) {
        fc_revision_destroy(&rev);
        return FC_ESERIAL;
    }
    s_entry_t e = {rev, NULL, 0, false};
    if (signed_bytes) {
        e.bytes = malloc(len);
        if (!e.bytes) {
            fc_revision_destroy(&rev);
            return FC_ENOMEM;
        }
        memcpy(e.bytes, signed_bytes, len);
        e.len = len;
    }
    self->last_rev = rev->rev;
    s_entry_free(&self->last_seen);
    if (!fc_scope_matches(rev->scope, self->agent_id, self->group)) {
        self->last_seen = e; /* seen, changes nothing */
        return FC_OK;
    }
    s_entry_t *ne = fc_grow(self->entries, self->nentries, &self->cap, sizeof *ne);
    if (!ne)
        abort();
    self->entries = ne;
    self->entries[self->nentries++] = e;
    s_fold(self);
    return FC_OK;
}

/* A deep copy of a revision (fc_config_dup: the two configs own theirs apart). */
static fc_revision_t *s_revision_copy(const fc_revision_t *src)
{
    fc_revision_t *r = fc_revision_new(src->kind);
    *r = *src;
    r->changes = NULL;
    r->nchanges = 0;
    r->schema_json = NULL;
    if (src->schema_json && !(r->schema_json = strdup(src->schema_json)))
        abort();
    if (src->nchanges > 0) {
        r->changes = calloc(src->nchanges, sizeof *r->changes);
        if (!r->changes)
            abort();
        for (size_t i = 0; i < src->nchanges; i++) {
            r->changes[i] = src->changes[i];
            if (fc_value_copy(&r->changes[i].value, &src->changes[i].value) != 0)
                abort();
        }
        r->nchanges = src->nchanges;
    }
    return r;
}

static s_entry_t s_entry_copy(const s_entry_t *src)
{
    s_entry_t e = {NULL, NULL, 0, false};
    if (!src->rev)
        return e;
    e.rev = s_revision_copy(src->rev);
    e.halted = src->halted;
    if (src->bytes) {
        e.bytes = malloc(src->len);
        if (!e.bytes)
            abort();
        memcpy(e.bytes, src->bytes, src->len);
        e.len = src->len;
    }
    return e;
}

fc_config_t *fc_config_dup(const fc_config_t *self)
{
    if (!self)
        return NULL;
    fc_config_t *copy = fc_config_new(self->agent_id, self->group);
    if (self->nentries > 0) {
        copy->entries = calloc(self->nentries, sizeof *copy->entries);
        if (!copy->entries)
            abort();
        for (size_t i = 0; i < self->nentries; i++)
            copy->entries[i] = s_entry_copy(&self->entries[i]);
        copy->nentries = copy->cap = self->nentries;
    }
    copy->last_seen = s_entry_copy(&self->last_seen);
    copy->last_rev = self->last_rev;
    s_fold(copy);
    return copy;
}

bool fc_config_halt(fc_config_t *self, uint64_t rev)
{
    for (size_t i = 0; self && i < self->nentries; i++) {
        s_entry_t *e = &self->entries[i];
        const fc_revision_t *r = e->rev;
        if (r->rev != rev)
            continue;
        /* Only a canary not promoted halts: the broker cannot take back a revision that
           was for everyone. */
        if (e->halted || r->kind != FC_REV_SET || r->canary == 0 || r->canary >= 100 ||
            s_promoted(self, rev))
            return false;
        e->halted = true;
        s_fold(self);
        return true;
    }
    return false;
}

/* ---------------------------------------------------------------------------------------- */
/* Reading */

uint64_t fc_config_last_rev(const fc_config_t *self)
{
    return self ? self->last_rev : 0;
}

const fc_value_t *fc_config_get(const fc_config_t *self, const char *key)
{
    return self && key ? s_map_get(&self->effective, key) : NULL;
}

size_t fc_config_size(const fc_config_t *self)
{
    return self ? self->effective.n : 0;
}

const char *fc_config_key_at(const fc_config_t *self, size_t i)
{
    return self && i < self->effective.n ? self->effective.slots[i].key : NULL;
}

const fc_schema_t *fc_config_schema(const fc_config_t *self)
{
    return self ? self->schema : NULL;
}

fc_diff_entry_t *fc_config_diff(const fc_config_t *before, const fc_config_t *after, size_t *n)
{
    size_t dummy;
    if (!n)
        n = &dummy;
    *n = 0;
    static const s_map_t empty = {NULL, 0, 0};
    const s_map_t *a = before ? &before->effective : &empty;
    const s_map_t *b = after ? &after->effective : &empty;
    const fc_schema_t *schema = after ? after->schema : NULL;
    fc_diff_entry_t *d = NULL;
    size_t i = 0, j = 0, count = 0;
    /* Both maps are sorted: one merge pass, in key order. */
    while (i < a->n || j < b->n) {
        int c = i == a->n ? 1 : j == b->n ? -1 : strcmp(a->slots[i].key, b->slots[j].key);
        fc_diff_entry_t e = {NULL, NULL, NULL, false};
        if (c < 0) {
            e.key = a->slots[i].key;
            e.old_value = a->slots[i++].value;
        } else if (c > 0) {
            e.key = b->slots[j].key;
            e.new_value = b->slots[j++].value;
        } else {
            e.key = b->slots[j].key;
            e.old_value = a->slots[i++].value;
            e.new_value = b->slots[j++].value;
            if (fc_value_equal(e.old_value, e.new_value))
                continue;
        }
        e.restart_only = fc_schema_restart_only(schema, e.key);
        if (!d) {
            /* At most every key of both: allocate once. */
            d = calloc(a->n + b->n, sizeof *d);
            if (!d)
                abort();
        }
        d[count++] = e;
    }
    *n = count;
    return d;
}

void fc_config_diff_json(const fc_diff_entry_t *d, size_t n, uint64_t rev, fc_json_t *j)
{
    if (!j)
        return;
    fc_json_open(j);
    fc_json_key_uint(j, "rev", rev);
    fc_json_key(j, "changes");
    fc_json_open_array(j);
    for (size_t i = 0; d && i < n; i++) {
        fc_json_open(j);
        fc_json_key_str(j, "key", d[i].key);
        fc_json_key(j, "old");
        fc_value_to_json(d[i].old_value, j);
        fc_json_key(j, "new");
        fc_value_to_json(d[i].new_value, j);
        fc_json_key_bool(j, "restart", d[i].restart_only);
        fc_json_close(j);
    }
    fc_json_close_array(j);
    fc_json_close(j);
}

void fc_config_to_json(const fc_config_t *self, fc_json_t *j)
{
    if (!j)
        return;
    fc_json_open(j);
    fc_json_key_uint(j, "_rev", fc_config_last_rev(self));
    for (size_t i = 0; self && i < self->effective.n; i++) {
        fc_json_key(j, self->effective.slots[i].key);
        fc_value_to_json(self->effective.slots[i].value, j);
    }
    fc_json_close(j);
}

/* ---------------------------------------------------------------------------------------- */
/* Saving and loading: [u32 big-endian length, signed revision bytes] repeated, rev order. */

static void s_append(uint8_t *buf, size_t *used, const s_entry_t *e)
{
    uint32_t n = (uint32_t)e->len;
    buf[(*used)++] = (uint8_t)(n >> 24);
    buf[(*used)++] = (uint8_t)(n >> 16);
    buf[(*used)++] = (uint8_t)(n >> 8);
    buf[(*used)++] = (uint8_t)n;
    memcpy(buf + *used, e->bytes, e->len);
    *used += e->len;
}

int fc_config_save(const fc_config_t *self, const char *path)
{
    if (!self || !path)
        return FC_EINVAL;
    size_t total = 0;
    for (size_t i = 0; i < self->nentries; i++) {
        if (!self->entries[i].bytes)
            return FC_EINVAL; /* added without its signed bytes: cannot be saved */
        total += S_LEN_PREFIX + self->entries[i].len;
    }
    if (self->last_seen.rev) {
        if (!self->last_seen.bytes)
            return FC_EINVAL;
        total += S_LEN_PREFIX + self->last_seen.len;
    }
    if (total > S_MAX_FILE)
        return FC_ETOOBIG;
    uint8_t *buf = malloc(total ? total : 1);
    if (!buf)
        return FC_ENOMEM;
    size_t used = 0;
    for (size_t i = 0; i < self->nentries; i++)
        s_append(buf, &used, &self->entries[i]);
    if (self->last_seen.rev) /* newer than every entry */
        s_append(buf, &used, &self->last_seen);
    /* Only the agent reads it back (at start): swapped in, not renamed over, so saving it
       after every revision neither creates nor frees an inode. */
    int rc = fc_write_file_swap(path, buf, used, 0600) == 0 ? FC_OK : fc_errno_to_error(errno);
    free(buf);
    return rc;
}

fc_config_t *fc_config_load(const char *path, const char *agent_id, const char *group,
                            const fc_trust_t *trust, int *err)
{
    int dummy;
    if (!err)
        err = &dummy;
    fc_config_t *self = path ? fc_config_new(agent_id, group) : NULL;
    if (!self) {
        *err = FC_EINVAL;
        return NULL;
    }
    size_t len = 0;
    uint8_t *buf = fc_read_file(path, S_MAX_FILE, &len);
    if (!buf) {
        *err = errno == ENOENT  ? FC_ENOTFOUND
               : errno == EFBIG ? FC_ETOOBIG
                                : fc_errno_to_error(errno);
        fc_config_destroy(&self);
        return NULL;
    }
    int rc = FC_OK;
    size_t at = 0;
    /* The file is ours, but a disk or an editor can damage it: every revision is verified
       again, and anything wrong refuses the whole file (the agent then syncs afresh). */
    while (rc == FC_OK && at < len) {
        if (len - at < S_LEN_PREFIX) {
            rc = FC_EPROTO;
            break;
        }
        size_t n = (size_t)buf[at] << 24 | (size_t)buf[at + 1] << 16 | (size_t)buf[at + 2] << 8 |
                   buf[at + 3];
        at += S_LEN_PREFIX;
        if (n == 0 || n > len - at) {
            rc = FC_EPROTO;
            break;
        }
        fc_revision_t *rev = fc_revision_parse(buf + at, n, trust, &rc);
        if (rev)
            rc = fc_config_add(self, &rev, buf + at, n);
        at += n;
    }
    free(buf);
    if (rc)
        fc_config_destroy(&self);
    *err = rc;
    return self;
}
