/* fc_config_show.c: the read-only config commands that fold the revision history
   client-side: config get, config history, config diff; a private part of fc_config_cmd
   (fc_config_cmd_priv.h). */
#include "fc_config_cmd_priv.h"
#include "fc_error.h"
#include "fc_json.h"
#include "fc_text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What a get or diff looks at: one agent's effective config, or one scope's own layer. */
typedef struct {
    fc_client_t *client;
    fc_history_t *hist;
    const char *agent; /* NULL: a scope layer */
    const char *group; /* the agent's group (given or inferred) */
    const char *scope; /* the layer shown when agent is NULL */
} s_view_t;

static int s_view_open(const fc_config_cmd_options_t *o, s_view_t *v)
{
    memset(v, 0, sizeof *v);
    if (o->agent && o->scope)
        return fc_cmd_usage("--agent and --scope exclude each other%s", "");
    if (o->group && !o->agent)
        return fc_cmd_usage("--group goes with --agent%s", "");
    v->client = fc_cmd_connect(o);
    if (!v->client)
        return 1;
    v->agent = o->agent;
    v->scope = o->scope ? o->scope : "global";
    v->hist = fc_cmd_history(o, v->client, o->agent, o->group);
    if (!v->hist) {
        fc_client_destroy(&v->client);
        return 1;
    }
    v->group = o->group ? o->group : fc_history_group(v->hist);
    return 0;
}

static void s_view_close(s_view_t *v)
{
    fc_history_destroy(&v->hist);
    fc_client_destroy(&v->client);
}

/* The agent's effective config as of rev (0: before any revision). NULL (message printed). */
static fc_config_t *s_agent_config(const s_view_t *v, uint64_t rev)
{
    int err = 0;
    fc_config_t *config = rev ? fc_history_config(v->hist, v->agent, v->group, rev, &err)
                              : fc_config_new(v->agent, v->group);
    if (!config)
        fc_cmd_fail("cannot fold the revisions of agent %s: %s", v->agent,
                    fc_strerror(err ? err : FC_EINVAL));
    return config;
}

static void s_layer_at(const s_view_t *v, uint64_t rev, fc_layer_t *out)
{
    if (rev == 0)
        memset(out, 0, sizeof *out);
    else
        fc_history_layer(v->hist, v->scope, rev, false, out);
}

/* --- get -------------------------------------------------------------------------------- */

/* Prints key's value (NULL: says it is not set, and returns the failure status). */
static int s_print_value(const fc_config_cmd_options_t *o, const s_view_t *v, const char *key,
                         const fc_value_t *value)
{
    if (!value)
        return fc_cmd_fail("%s is not set %s %s", key, v->agent ? "for agent" : "in scope",
                           v->agent ? v->agent : v->scope);
    if (o->json) {
        fc_json_t *j = fc_json_new();
        fc_json_open(j);
        fc_json_key_str(j, "key", key);
        fc_json_key(j, "value");
        fc_value_to_json(value, j);
        if (v->agent)
            fc_json_key_str(j, "agent", v->agent);
        else
            fc_json_key_str(j, "scope", v->scope);
        fc_json_key_uint(j, "rev", fc_history_latest(v->hist));
        fc_json_close(j);
        puts(fc_json_text(j));
        fc_json_destroy(&j);
    } else {
        char *text = fc_cmd_value_text(value);
        puts(text);
        free(text);
    }
    return 0;
}

static void s_print_line(const char *key, const fc_value_t *value)
{
    char *text = fc_cmd_value_json(value);
    printf("%s = %s\n", key, text);
    free(text);
}

int fc_cmd_get(const fc_config_cmd_options_t *o, int argc, char **argv)
{
    if (argc > 2)
        return fc_cmd_usage("config get takes at most one KEY, not '%s'", argv[2]);
    const char *key = argc == 2 ? argv[1] : NULL;
    s_view_t v;
    int status = s_view_open(o, &v);
    if (status)
        return status;
    if (v.agent) {
        fc_config_t *config = s_agent_config(&v, fc_history_latest(v.hist));
        if (!config)
            status = 1;
        else if (key)
            status = s_print_value(o, &v, key, fc_config_get(config, key));
        else if (o->json) {
            fc_json_t *j = fc_json_new();
            fc_config_to_json(config, j);
            puts(fc_json_text(j));
            fc_json_destroy(&j);
        } else
            for (size_t i = 0; i < fc_config_size(config); i++)
                s_print_line(fc_config_key_at(config, i),
                             fc_config_get(config, fc_config_key_at(config, i)));
        fc_config_destroy(&config);
    } else {
        fc_layer_t layer;
        fc_history_layer(v.hist, v.scope, 0, false, &layer);
        if (key)
            status = s_print_value(o, &v, key, fc_layer_get(&layer, key));
        else if (o->json) {
            fc_json_t *j = fc_json_new();
            fc_json_open(j);
            for (size_t i = 0; i < layer.n; i++) {
                fc_json_key(j, layer.entries[i].key);
                fc_value_to_json(&layer.entries[i].value, j);
            }
            fc_json_key_uint(j, "_rev", fc_history_latest(v.hist));
            fc_json_close(j);
            puts(fc_json_text(j));
            fc_json_destroy(&j);
        } else
            for (size_t i = 0; i < layer.n; i++)
                s_print_line(layer.entries[i].key, &layer.entries[i].value);
        fc_layer_free(&layer);
    }
    s_view_close(&v);
    return status;
}

/* --- history ---------------------------------------------------------------------------- */

static void s_signer_hex(char *out, const uint8_t *pk)
{
    for (int i = 0; i < 8; i++)
        sprintf(out + 2 * i, "%02x", pk[i]);
}

static void s_history_json(const fc_history_t *hist)
{
    fc_json_t *j = fc_json_new();
    fc_json_open_array(j);
    for (size_t i = 0; i < fc_history_size(hist); i++) {
        const fc_revision_t *r = fc_history_at(hist, i);
        char signer[17];
        s_signer_hex(signer, r->signer);
        fc_json_open(j);
        fc_json_key_uint(j, "rev", r->rev);
        fc_json_key_str(j, "kind", fc_cmd_kind_name(r->kind));
        fc_json_key_str(j, "scope", r->scope);
        fc_json_key_int(j, "created", r->created);
        fc_json_key_str(j, "signer", signer);
        fc_json_key_str(j, "message", r->message);
        if (r->kind == FC_REV_SET) {
            fc_json_key_uint(j, "canary", r->canary);
            if (r->canary)
                fc_json_key_uint(j, "halt_percent", r->halt_percent);
            fc_json_key_bool(j, "promoted", fc_history_promoted(hist, r->rev, 0));
            fc_json_key(j, "changes");
            fc_json_open_array(j);
            for (size_t k = 0; k < r->nchanges; k++) {
                fc_json_open(j);
                fc_json_key_str(j, "key", r->changes[k].key);
                fc_json_key_bool(j, "unset", r->changes[k].unset);
                if (!r->changes[k].unset) {
                    fc_json_key(j, "value");
                    fc_value_to_json(&r->changes[k].value, j);
                }
                fc_json_close(j);
            }
            fc_json_close_array(j);
        } else if (r->kind == FC_REV_PROMOTE)
            fc_json_key_uint(j, "target", r->target);
        else
            fc_json_key_str(j, "schema", r->schema_json);
        fc_json_close(j);
    }
    fc_json_close_array(j);
    puts(fc_json_text(j));
    fc_json_destroy(&j);
}

int fc_cmd_history_show(const fc_config_cmd_options_t *o, int argc, char **argv)
{
    if (argc > 1)
        return fc_cmd_usage("config history takes no operands, not '%s'", argv[1]);
    fc_client_t *client = fc_cmd_connect(o);
    if (!client)
        return 1;
    fc_history_t *hist = fc_cmd_history(o, client, o->agent, o->group);
    fc_client_destroy(&client);
    if (!hist)
        return 1;
    if (o->json) {
        s_history_json(hist);
        fc_history_destroy(&hist);
        return 0;
    }
    printf("%-6s %-20s %-20s %-16s %s\n", "REV", "CREATED", "SCOPE", "SIGNER", "CHANGE");
    for (size_t i = 0; i < fc_history_size(hist); i++) {
        const fc_revision_t *r = fc_history_at(hist, i);
        char created[32], signer[17];
        fc_format_time(created, sizeof created, r->created);
        s_signer_hex(signer, r->signer);
        printf("%-6llu %-20s %-20s %-16s ", (unsigned long long)r->rev, created, r->scope, signer);
        if (r->kind == FC_REV_SCHEMA)
            printf("schema");
        else if (r->kind == FC_REV_PROMOTE)
            printf("promote %llu", (unsigned long long)r->target);
        else {
            if (r->canary)
                printf("[canary %u%%%s] ", r->canary,
                       fc_history_promoted(hist, r->rev, 0) ? ", promoted" : "");
            for (size_t k = 0; k < r->nchanges; k++) {
                if (r->changes[k].unset)
                    printf("%s-%s", k ? " " : "", r->changes[k].key);
                else {
                    char *text = fc_cmd_value_json(&r->changes[k].value);
                    printf("%s%s=%s", k ? " " : "", r->changes[k].key, text);
                    free(text);
                }
            }
        }
        if (*r->message)
            printf("  \"%s\"", r->message);
        printf("\n");
    }
    if (fc_history_size(hist) == 0)
        printf("(no config revisions)\n");
    fc_history_destroy(&hist);
    return 0;
}

/* --- diff ------------------------------------------------------------------------------- */

/* The differences between two layers, sorted by key (merge of two sorted lists). */
static fc_diff_entry_t *s_layer_diff(const fc_layer_t *a, const fc_layer_t *b, size_t *n)
{
    fc_diff_entry_t *d = calloc(a->n + b->n + 1, sizeof *d);
    if (!d)
        abort();
    size_t i = 0, k = 0;
    *n = 0;
    while (i < a->n || k < b->n) {
        int c = i == a->n ? 1 : k == b->n ? -1 : strcmp(a->entries[i].key, b->entries[k].key);
        if (c < 0) {
            d[(*n)++] = (fc_diff_entry_t){a->entries[i].key, &a->entries[i].value, NULL, false};
            i++;
        } else if (c > 0) {
            d[(*n)++] = (fc_diff_entry_t){b->entries[k].key, NULL, &b->entries[k].value, false};
            k++;
        } else {
            if (!fc_value_equal(&a->entries[i].value, &b->entries[k].value))
                d[(*n)++] = (fc_diff_entry_t){a->entries[i].key, &a->entries[i].value,
                                              &b->entries[k].value, false};
            i++, k++;
        }
    }
    return d;
}

static void s_print_diff(const fc_config_cmd_options_t *o, const fc_diff_entry_t *d, size_t n,
                         uint64_t from, uint64_t to)
{
    if (o->json) {
        fc_json_t *j = fc_json_new();
        fc_json_open(j);
        fc_json_key_uint(j, "from", from);
        fc_json_key_uint(j, "to", to);
        fc_json_key(j, "changes");
        fc_json_open_array(j);
        for (size_t i = 0; i < n; i++) {
            fc_json_open(j);
            fc_json_key_str(j, "key", d[i].key);
            fc_json_key(j, "old");
            if (d[i].old_value)
                fc_value_to_json(d[i].old_value, j);
            else
                fc_json_null(j);
            fc_json_key(j, "new");
            if (d[i].new_value)
                fc_value_to_json(d[i].new_value, j);
            else
                fc_json_null(j);
            fc_json_close(j);
        }
        fc_json_close_array(j);
        fc_json_close(j);
        puts(fc_json_text(j));
        fc_json_destroy(&j);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        char *old = d[i].old_value ? fc_cmd_value_json(d[i].old_value) : NULL;
        char *new = d[i].new_value ? fc_cmd_value_json(d[i].new_value) : NULL;
        if (old && new)
            printf("~ %s: %s -> %s\n", d[i].key, old, new);
        else if (new)
            printf("+ %s = %s\n", d[i].key, new);
        else
            printf("- %s (was %s)\n", d[i].key, old);
        free(old);
        free(new);
    }
    if (n == 0)
        printf("no differences between revisions %llu and %llu\n", (unsigned long long)from,
               (unsigned long long)to);
}

static bool s_parse_rev0(const char *text, uint64_t *out)
{
    if (text && streq(text, "0")) {
        *out = 0;
        return true;
    }
    *out = fc_cmd_parse_rev(text);
    return *out != 0;
}

int fc_cmd_diff(const fc_config_cmd_options_t *o, int argc, char **argv)
{
    uint64_t from = 0, to = 0;
    if (argc != 3)
        return fc_cmd_usage("config diff needs two revision numbers%s", "");
    if (!s_parse_rev0(argv[1], &from))
        return fc_cmd_usage("not a revision number: '%s'", argv[1]);
    if (!s_parse_rev0(argv[2], &to))
        return fc_cmd_usage("not a revision number: '%s'", argv[2]);
    s_view_t v;
    int status = s_view_open(o, &v);
    if (status)
        return status;
    uint64_t latest = fc_history_latest(v.hist);
    if (from > latest || to > latest) {
        status = fc_cmd_fail("no config revision %llu (latest is %llu)",
                             (unsigned long long)(from > latest ? from : to),
                             (unsigned long long)latest);
        s_view_close(&v);
        return status;
    }
    size_t n = 0;
    if (v.agent) {
        fc_config_t *a = s_agent_config(&v, from);
        fc_config_t *b = a ? s_agent_config(&v, to) : NULL;
        if (b) {
            fc_diff_entry_t *d = fc_config_diff(a, b, &n);
            s_print_diff(o, d, d ? n : 0, from, to);
            free(d);
        } else
            status = 1;
        fc_config_destroy(&a);
        fc_config_destroy(&b);
    } else {
        fc_layer_t a, b;
        s_layer_at(&v, from, &a);
        s_layer_at(&v, to, &b);
        fc_diff_entry_t *d = s_layer_diff(&a, &b, &n);
        s_print_diff(o, d, n, from, to);
        free(d);
        fc_layer_free(&a);
        fc_layer_free(&b);
    }
    s_view_close(&v);
    return status;
}
