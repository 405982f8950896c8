/* fc_history.c: the publisher's copy of the config revision history: fetch, look up, fold
   into layers and effective configs. */
#include "fc_history.h"
#include "fc_array.h"
#include "fc_error.h"
#include "fc_hash.h"
#include "fc_test_check.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    fc_revision_t *rev;
    uint8_t *bytes; /* the signed envelope, kept to re-parse into fc_config_t */
    size_t len;
} s_entry_t;

struct fc_history_t {
    s_entry_t *entries;
    size_t n;
    size_t cap;
    uint64_t broker_latest;
    char group[FC_MAX_NAME + 1];
    uint64_t *halted; /* halted canary revisions (CONFIG_SNAPSHOT), ascending */
    size_t nhalted;
};

fc_history_t *fc_history_new(void)
{
    fc_history_t *self = calloc(1, sizeof *self);
    if (!self)
        abort();
    return self;
}

void fc_history_destroy(fc_history_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fc_history_t *self = *self_p;
    for (size_t i = 0; i < self->n; i++) {
        fc_revision_destroy(&self->entries[i].rev);
        free(self->entries[i].bytes);
    }
    free(self->entries);
    free(self->halted);
    free(self);
    *self_p = NULL;
}

int fc_history_add(fc_history_t *self, const uint8_t *buf, size_t len)
{
    int err = 0;
    fc_revision_t *rev = fc_revision_parse(buf, len, NULL, &err);
    if (!rev)
        return err ? err : FC_EPROTO;
    if (self->n > 0 && rev->rev <= self->entries[self->n - 1].rev->rev) {
        fc_revision_destroy(&rev); /* a duplicate from a re-sent request */
        return 0;
    }
    s_entry_t *ne = fc_grow(self->entries, self->n, &self->cap, sizeof *ne);
    if (!ne)
        abort();
    self->entries = ne;
    s_entry_t *e = &self->entries[self->n++];
    e->rev = rev;
    e->bytes = malloc(len ? len : 1);
    if (!e->bytes)
        abort();
    memcpy(e->bytes, buf, len);
    e->len = len;
    const char *group;
    if (!*self->group && fc_scope_kind(rev->scope, &group) == FC_SCOPE_GROUP)
        snprintf(self->group, sizeof self->group, "%s", group);
    return 0;
}

static int s_fail(char *msg, size_t msgsize, int code, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    vsnprintf(msg, msgsize, fmt, args);
    va_end(args);
    return code;
}

int fc_history_fetch(fc_history_t *self, fc_client_t *client, const char *agent_id,
                     const char *group, int timeout_ms, char *msg, size_t msgsize)
{
    uint64_t after = self->n ? self->entries[self->n - 1].rev->rev : 0;
    /* A broker sends a long history in parts; each part's last revision is the next start. */
    for (int part = 0; part < 100000; part++) {
        fc_msg_t *req = fc_msg_new(FC_MSG_CONFIG_SYNC);
        fc_msg_set_str(req->id, sizeof req->id, agent_id ? agent_id : "");
        fc_msg_set_str(req->group, sizeof req->group, group ? group : "");
        req->serial = after;
        fc_msg_t *reply = fc_client_call(client, &req, timeout_ms);
        char why[512];
        if (!reply && fc_client_why(client, why, sizeof why))
            return s_fail(msg, msgsize, FC_ETIMEOUT, "%s", why);
        if (!reply)
            return s_fail(msg, msgsize, FC_ETIMEOUT,
                          "no answer from the broker to CONFIG_SYNC within %d s",
                          timeout_ms / 1000);
        if (reply->type == FC_MSG_ERROR) {
            int code = reply->code > 0 && reply->code < FC_ERROR_MAX ? (int)reply->code : FC_EPROTO;
            s_fail(msg, msgsize, code, "broker refused CONFIG_SYNC: %s (%s)", reply->text,
                   fc_strerror(code));
            fc_msg_destroy(&reply);
            return code;
        }
        if (reply->type != FC_MSG_CONFIG_SNAPSHOT) {
            s_fail(msg, msgsize, FC_EPROTO, "unexpected %s reply to CONFIG_SYNC",
                   fc_msg_type_name(reply->type));
            fc_msg_destroy(&reply);
            return FC_EPROTO;
        }
        if (reply->serial > self->broker_latest)
            self->broker_latest = reply->serial;
        if (*reply->group && !*self->group)
            snprintf(self->group, sizeof self->group, "%s", reply->group);
        size_t nhalted = 0;
        uint64_t *halted = reply->bytes_len ? malloc(reply->bytes_len) : NULL;
        if (halted && fc_msg_halted(reply, halted, reply->bytes_len / 8, &nhalted) == FC_OK) {
            free(self->halted);
            self->halted = halted;
            self->nhalted = nhalted;
        } else
            free(halted);
        for (size_t i = 0; i < reply->nitems; i++) {
            int err = fc_history_add(self, reply->items[i].data, reply->items[i].len);
            if (err) {
                s_fail(msg, msgsize, err, "the broker sent a revision that does not verify: %s",
                       fc_strerror(err));
                fc_msg_destroy(&reply);
                return err;
            }
        }
        uint64_t last = self->n ? self->entries[self->n - 1].rev->rev : 0;
        bool more = reply->flag && last > after;
        fc_msg_destroy(&reply);
        if (!more)
            return 0;
        after = last;
    }
    return s_fail(msg, msgsize, FC_ETOOBIG, "the revision history does not end");
}

bool fc_history_halted(const fc_history_t *self, uint64_t rev)
{
    for (size_t i = 0; i < self->nhalted; i++)
        if (self->halted[i] == rev)
            return true;
    return false;
}

void fc_history_set_halted(fc_history_t *self, const uint64_t *revs, size_t n)
{
    free(self->halted);
    self->halted = n ? malloc(n * sizeof *revs) : NULL;
    self->nhalted = self->halted ? n : 0;
    if (self->halted)
        memcpy(self->halted, revs, n * sizeof *revs);
}

uint64_t fc_history_latest(const fc_history_t *self)
{
    uint64_t last = self->n ? self->entries[self->n - 1].rev->rev : 0;
    return last > self->broker_latest ? last : self->broker_latest;
}

size_t fc_history_size(const fc_history_t *self)
{
    return self->n;
}

const fc_revision_t *fc_history_at(const fc_history_t *self, size_t i)
{
    return i < self->n ? self->entries[i].rev : NULL;
}

const fc_revision_t *fc_history_find(const fc_history_t *self, uint64_t rev)
{
    size_t lo = 0, hi = self->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint64_t r = self->entries[mid].rev->rev;
        if (r == rev)
            return self->entries[mid].rev;
        if (r < rev)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const char *fc_history_group(const fc_history_t *self)
{
    return self->group;
}

bool fc_history_promoted(const fc_history_t *self, uint64_t rev, uint64_t upto)
{
    for (size_t i = 0; i < self->n; i++) {
        const fc_revision_t *r = self->entries[i].rev;
        if (upto && r->rev > upto)
            break;
        if (r->kind == FC_REV_PROMOTE && r->target == rev)
            return true;
    }
    return false;
}

fc_schema_t *fc_history_schema(const fc_history_t *self, uint64_t upto, char *msg, size_t msgsize,
                               int *err)
{
    *err = 0;
    for (size_t i = self->n; i-- > 0;) {
        const fc_revision_t *r = self->entries[i].rev;
        if ((upto && r->rev > upto) || r->kind != FC_REV_SCHEMA)
            continue;
        char why[256] = "";
        fc_schema_t *schema =
            fc_schema_parse(r->schema_json ? r->schema_json : "", why, sizeof why);
        if (!schema) {
            *err = FC_EINVAL;
            s_fail(msg, msgsize, FC_EINVAL, "the schema of revision %llu does not parse: %s",
                   (unsigned long long)r->rev, why);
        }
        return schema;
    }
    return NULL;
}

static int s_entry_cmp(const void *key, const void *entry)
{
    return strcmp(key, ((const fc_layer_entry_t *)entry)->key);
}

/* Index of key in the sorted layer, or where it would go (*found false). */
static size_t s_layer_find(const fc_layer_t *layer, const char *key, bool *found)
{
    return fc_bsearch(key, layer->entries, layer->n, sizeof *layer->entries, s_entry_cmp, found);
}

static void s_layer_apply(fc_layer_t *layer, const fc_change_t *c)
{
    bool found = false;
    size_t at = s_layer_find(layer, c->key, &found);
    if (c->unset) {
        if (found) {
            fc_value_free(&layer->entries[at].value);
            memmove(&layer->entries[at], &layer->entries[at + 1],
                    (layer->n - at - 1) * sizeof layer->entries[0]);
            layer->n--;
        }
        return;
    }
    if (found) {
        fc_value_free(&layer->entries[at].value);
    } else {
        fc_layer_entry_t *ne = realloc(layer->entries, (layer->n + 1) * sizeof *ne);
        if (!ne)
            abort();
        layer->entries = ne;
        memmove(&layer->entries[at + 1], &layer->entries[at],
                (layer->n - at) * sizeof layer->entries[0]);
        layer->n++;
        snprintf(layer->entries[at].key, sizeof layer->entries[at].key, "%s", c->key);
    }
    memset(&layer->entries[at].value, 0, sizeof layer->entries[at].value);
    if (fc_value_copy(&layer->entries[at].value, &c->value) != 0)
        abort(); /* a parsed value always copies; only memory can fail */
}

void fc_history_layer(const fc_history_t *self, const char *scope, uint64_t upto,
                      bool include_canary, fc_layer_t *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < self->n; i++) {
        const fc_revision_t *r = self->entries[i].rev;
        if (upto && r->rev > upto)
            break;
        if (r->kind != FC_REV_SET || strcmp(r->scope, scope) != 0)
            continue;
        if (r->canary > 0 && r->canary < 100 && !include_canary &&
            !fc_history_promoted(self, r->rev, upto))
            continue;
        if (fc_history_halted(self, r->rev))
            continue; /* a halted canary counts for no one */
        for (size_t k = 0; k < r->nchanges; k++)
            s_layer_apply(out, &r->changes[k]);
    }
}

const fc_value_t *fc_layer_get(const fc_layer_t *layer, const char *key)
{
    bool found = false;
    size_t at = s_layer_find(layer, key, &found);
    return found ? &layer->entries[at].value : NULL;
}

void fc_layer_free(fc_layer_t *layer)
{
    if (!layer)
        return;
    for (size_t i = 0; i < layer->n; i++)
        fc_value_free(&layer->entries[i].value);
    free(layer->entries);
    memset(layer, 0, sizeof *layer);
}

fc_config_t *fc_history_config(const fc_history_t *self, const char *agent_id, const char *group,
                               uint64_t upto, int *err)
{
    *err = 0;
    fc_config_t *config = fc_config_new(agent_id, group ? group : "");
    if (!config) {
        *err = FC_EINVAL;
        return NULL;
    }
    for (size_t i = 0; i < self->n; i++) {
        const s_entry_t *e = &self->entries[i];
        if (upto && e->rev->rev > upto)
            break;
        fc_revision_t *rev = fc_revision_parse(e->bytes, e->len, NULL, err);
        if (!rev || (*err = fc_config_add(config, &rev, e->bytes, e->len)) != 0) {
            fc_revision_destroy(&rev);
            if (!*err)
                *err = FC_EPROTO;
            fc_config_destroy(&config);
            return NULL;
        }
    }
    /* As the agent does: a halted canary's values count for no one. */
    for (size_t i = 0; i < self->nhalted; i++)
        fc_config_halt(config, self->halted[i]);
    return config;
}

/* --- self-test -------------------------------------------------------------------------- */

static void s_add_signed(fc_history_t *h, fc_revision_t *rev, const fc_signkey_t *key)
{
    size_t len = 0;
    uint8_t *buf = fc_revision_sign(rev, key, &len);
    FC_CHECK(buf);
    FC_CHECK(fc_history_add(h, buf, len) == 0);
    /* The same bytes again (a re-sent reply) are skipped, not an error. */
    FC_CHECK(fc_history_add(h, buf, len) == 0);
    free(buf);
}

static fc_revision_t *s_set(uint64_t n, const char *scope, const char *key, const char *text)
{
    fc_revision_t *rev = fc_revision_new(FC_REV_SET);
    rev->rev = n;
    snprintf(rev->scope, sizeof rev->scope, "%s", scope);
    fc_value_t v = {0};
    FC_CHECK(fc_value_from_text(&v, text) == 0);
    FC_CHECK(fc_revision_set(rev, key, &v) == 0);
    fc_value_free(&v);
    return rev;
}

static bool s_int_is(const fc_value_t *v, int64_t want)
{
    int64_t got = 0;
    return v && fc_value_get_int(v, &got) == 0 && got == want;
}

void fc_history_test(bool verbose)
{
    printf(" * fc_history: ");
    FC_CHECK(fc_crypto_init() == 0);
    fc_signkey_t key;
    fc_signkey_generate(&key);
    fc_history_t *h = fc_history_new();
    FC_CHECK(fc_history_latest(h) == 0 && fc_history_size(h) == 0);

    /* 1: global port=80; 2: group web port=8080; 3: global port=81, x=1;
       4: global unset x; 5: schema; 6: canary global port=99 (50%); 7: promote 6. */
    fc_revision_t *r = s_set(1, "global", "port", "80");
    s_add_signed(h, r, &key);
    fc_revision_destroy(&r);
    r = s_set(2, "group:web", "port", "8080");
    s_add_signed(h, r, &key);
    fc_revision_destroy(&r);
    r = s_set(3, "global", "port", "81");
    fc_value_t one = {0};
    FC_CHECK(fc_value_from_text(&one, "1") == 0);
    FC_CHECK(fc_revision_set(r, "x", &one) == 0);
    fc_value_free(&one);
    s_add_signed(h, r, &key);
    fc_revision_destroy(&r);
    r = fc_revision_new(FC_REV_SET);
    r->rev = 4;
    snprintf(r->scope, sizeof r->scope, "global");
    FC_CHECK(fc_revision_unset(r, "x") == 0);
    s_add_signed(h, r, &key);
    fc_revision_destroy(&r);
    r = fc_revision_new(FC_REV_SCHEMA);
    r->rev = 5;
    snprintf(r->scope, sizeof r->scope, "global");
    r->schema_json = strdup("{\"keys\": {\"port\": {\"type\": \"integer\", \"max\": 100}}}");
    s_add_signed(h, r, &key);
    fc_revision_destroy(&r);
    r = s_set(6, "global", "port", "99");
    r->canary = 50;
    r->halt_percent = 20;
    s_add_signed(h, r, &key);
    fc_revision_destroy(&r);

    FC_CHECK(fc_history_size(h) == 6 && fc_history_latest(h) == 6);
    FC_CHECK(fc_history_find(h, 3) && fc_history_find(h, 3)->rev == 3);
    FC_CHECK(fc_history_find(h, 7) == NULL);
    FC_CHECK(streq(fc_history_group(h), "web"));

    /* The global layer as of each revision. */
    fc_layer_t layer;
    fc_history_layer(h, "global", 1, false, &layer);
    FC_CHECK(layer.n == 1 && s_int_is(fc_layer_get(&layer, "port"), 80));
    fc_layer_free(&layer);
    fc_history_layer(h, "global", 3, false, &layer);
    FC_CHECK(layer.n == 2 && s_int_is(fc_layer_get(&layer, "x"), 1));
    FC_CHECK(s_int_is(fc_layer_get(&layer, "port"), 81));
    fc_layer_free(&layer);
    fc_history_layer(h, "global", 0, false, &layer);
    FC_CHECK(layer.n == 1 && !fc_layer_get(&layer, "x"));
    /* The unpromoted canary counts only for its members. */
    FC_CHECK(s_int_is(fc_layer_get(&layer, "port"), 81));
    fc_layer_free(&layer);
    fc_history_layer(h, "global", 0, true, &layer);
    FC_CHECK(s_int_is(fc_layer_get(&layer, "port"), 99));
    fc_layer_free(&layer);
    fc_history_layer(h, "group:web", 0, false, &layer);
    FC_CHECK(layer.n == 1 && s_int_is(fc_layer_get(&layer, "port"), 8080));
    fc_layer_free(&layer);

    /* The schema in force: none before 5, the parsed one after. */
    int err = 0;
    char msg[256];
    FC_CHECK(fc_history_schema(h, 4, msg, sizeof msg, &err) == NULL && err == 0);
    fc_schema_t *schema = fc_history_schema(h, 0, msg, sizeof msg, &err);
    FC_CHECK(schema && err == 0);
    fc_value_t big = {0};
    FC_CHECK(fc_value_from_text(&big, "1000") == 0);
    FC_CHECK(fc_schema_check(schema, "port", &big, msg, sizeof msg) == FC_EINVAL);
    FC_CHECK(strstr(msg, "port"));
    fc_value_free(&big);
    fc_schema_destroy(&schema);

    /* An agent of group web sees its group's value over the global one. */
    fc_config_t *config = fc_history_config(h, "a1", "web", 4, &err);
    FC_CHECK(config && err == 0);
    FC_CHECK(s_int_is(fc_config_get(config, "port"), 8080));
    fc_config_destroy(&config);
    config = fc_history_config(h, "a1", "", 3, &err);
    FC_CHECK(config && s_int_is(fc_config_get(config, "port"), 81));
    FC_CHECK(s_int_is(fc_config_get(config, "x"), 1));
    fc_config_destroy(&config);

    /* A halted canary counts for no one: not in its scope's layer with the canaries, not for
       a member. */
    char member[32] = "";
    for (int k = 0; !*member && k < 1000; k++) {
        snprintf(member, sizeof member, "m%d", k);
        if (!fc_canary_member(member, 50))
            *member = '\0';
    }
    config = fc_history_config(h, member, "", 0, &err);
    FC_CHECK(config && s_int_is(fc_config_get(config, "port"), 99));
    fc_config_destroy(&config);
    fc_history_set_halted(h, (const uint64_t[]){6}, 1);
    FC_CHECK(fc_history_halted(h, 6) && !fc_history_halted(h, 5));
    fc_history_layer(h, "global", 0, true, &layer);
    FC_CHECK(s_int_is(fc_layer_get(&layer, "port"), 81));
    fc_layer_free(&layer);
    config = fc_history_config(h, member, "", 0, &err);
    FC_CHECK(config && s_int_is(fc_config_get(config, "port"), 81));
    fc_config_destroy(&config);
    fc_history_set_halted(h, NULL, 0);
    FC_CHECK(!fc_history_halted(h, 6));

    /* Promotion makes the canary count for everyone. */
    FC_CHECK(!fc_history_promoted(h, 6, 0));
    r = fc_revision_new(FC_REV_PROMOTE);
    r->rev = 7;
    r->target = 6;
    snprintf(r->scope, sizeof r->scope, "global");
    s_add_signed(h, r, &key);
    fc_revision_destroy(&r);
    FC_CHECK(fc_history_promoted(h, 6, 0) && !fc_history_promoted(h, 6, 6));
    fc_history_layer(h, "global", 0, false, &layer);
    FC_CHECK(s_int_is(fc_layer_get(&layer, "port"), 99));
    fc_layer_free(&layer);

    /* A tampered revision is refused. */
    r = s_set(8, "global", "port", "1");
    size_t len = 0;
    uint8_t *buf = fc_revision_sign(r, &key, &len);
    FC_CHECK(buf && len > 10);
    buf[len - 1] ^= 1;
    FC_CHECK(fc_history_add(h, buf, len) != 0);
    FC_CHECK(fc_history_size(h) == 7);
    free(buf);
    fc_revision_destroy(&r);

    fc_history_destroy(&h);
    fc_history_destroy(&h);
    fc_signkey_wipe(&key);
    if (verbose)
        printf("(layers, canary, promote, schema, agent config) ");
    printf("OK\n");
}
