/* fc_config_cmd.c: `fleetcast config` dispatch, the shared helpers, and the commands that
   publish a signed revision: set, unset, rollback, schema set, promote. */
#include "fc_config_cmd_priv.h"
#include "fc_error.h"
#include "fc_file.h"
#include "fc_json.h"
#include "fc_key.h"
#include "fc_optval.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* A publish loses the race for latest + 1 when another publisher got there first; the
   revision is rebuilt on a fresh history and signed again until the command's --timeout
   runs out: of N publishers racing (through one broker or several on one database), one wins
   each round, so the last needs up to N attempts (6, as before, lost it_pg_peers' 100 sets
   under ThreadSanitizer). The pause between attempts grows to this cap. */
#define S_MAX_PAUSE_MS 200

/* --- shared helpers --------------------------------------------------------------------- */

int fc_cmd_usage(const char *fmt, const char *arg)
{
    fprintf(stderr, "fleetcast: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(see fleetcast --help)\n");
    return 2;
}

int fc_cmd_fail(const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    fprintf(stderr, "fleetcast: ");
    vfprintf(stderr, fmt, args);
    fprintf(stderr, "\n");
    va_end(args);
    return 1;
}

fc_client_t *fc_cmd_connect(const fc_config_cmd_options_t *o)
{
    int err = 0;
    fc_client_t *client = fc_client_new(o->broker, 2000, o->curve, &err);
    if (!client)
        fc_cmd_fail("bad broker endpoint '%s'", o->broker);
    return client;
}

fc_history_t *fc_cmd_history(const fc_config_cmd_options_t *o, fc_client_t *client,
                             const char *agent, const char *group)
{
    fc_history_t *hist = fc_history_new();
    char msg[FC_MAX_TEXT + 128] = "";
    if (fc_history_fetch(hist, client, agent ? agent : "", group ? group : "", o->timeout_ms, msg,
                         sizeof msg) != 0) {
        fc_cmd_fail("%s", msg);
        fc_history_destroy(&hist);
    }
    return hist;
}

fc_msg_t *fc_cmd_call(const fc_config_cmd_options_t *o, fc_client_t *client, fc_msg_t **req_p,
                      fc_msg_type_t want)
{
    fc_msg_type_t type = (*req_p)->type;
    fc_msg_t *reply = fc_client_call_pages(client, req_p, o->timeout_ms);
    return fc_cmd_reply(o, client, type, reply, want);
}

fc_msg_t *fc_cmd_reply(const fc_config_cmd_options_t *o, fc_client_t *client, fc_msg_type_t type,
                       fc_msg_t *reply, fc_msg_type_t want)
{
    const char *name = fc_msg_type_name(type);
    char why[512];
    if (!reply && fc_client_why(client, why, sizeof why)) {
        fc_cmd_fail("%s", why);
        return NULL;
    }
    if (!reply) {
        fc_cmd_fail("no answer from the broker at %s to %s within %d s", o->broker, name,
                    o->timeout_ms / 1000);
        return NULL;
    }
    if (reply->type == FC_MSG_ERROR) {
        fc_cmd_fail("broker refused %s: %s (%s)", name, reply->text, fc_strerror((int)reply->code));
        fc_msg_destroy(&reply);
    } else if (reply->more) { /* never a cut list without saying so */
        fc_cmd_fail("the broker said more agents follow but sent none: the list would be cut");
        fc_msg_destroy(&reply);
    } else if (reply->type != want) {
        fc_cmd_fail("unexpected %s reply to %s", fc_msg_type_name(reply->type), name);
        fc_msg_destroy(&reply);
    }
    return reply;
}

char *fc_cmd_value_json(const fc_value_t *v)
{
    fc_json_t *j = fc_json_new();
    fc_value_to_json(v, j);
    char *text = strdup(fc_json_text(j));
    fc_json_destroy(&j);
    if (!text)
        abort();
    return text;
}

char *fc_cmd_value_text(const fc_value_t *v)
{
    char *s = NULL;
    if (fc_value_type(v) == FC_VAL_STRING && fc_value_get_str(v, &s) == 0)
        return s;
    return fc_cmd_value_json(v);
}

uint64_t fc_cmd_parse_rev(const char *text)
{
    uint64_t rev = 0;
    if (fc_optval_uint("REV", text, 1, INT64_MAX, &rev, NULL, 0) != FC_OK)
        return 0;
    return rev;
}

const char *fc_cmd_halt_reason(const char *text)
{
    /* The broker's reason may itself start with "halted:"; say it once. */
    if (!text || !*text)
        return "too many canary failures";
    if (strncasecmp(text, "halted:", 7) == 0)
        text += 7 + strspn(text + 7, " ");
    return text;
}

const char *fc_cmd_kind_name(fc_rev_kind_t kind)
{
    switch (kind) {
    case FC_REV_SET:
        return "set";
    case FC_REV_SCHEMA:
        return "schema";
    case FC_REV_PROMOTE:
        return "promote";
    }
    return "?";
}

/* --- publishing ------------------------------------------------------------------------- */

/* Builds the revision to publish from the current history (rev number and time are filled
   in by s_publish). NULL with *status set when there is nothing to publish (0) or it must
   not be published (1, message printed). */
typedef fc_revision_t *(s_build_fn)(const fc_config_cmd_options_t *o, fc_client_t *client,
                                    const fc_history_t *hist, void *arg, int *status);

/* The agents scope matches now (CONFIG_AGENTS), or NULL with a message printed. */
static fc_msg_t *s_scope_agents(const fc_config_cmd_options_t *o, fc_client_t *client,
                                const char *scope)
{
    fc_msg_t *req = fc_msg_new(FC_MSG_CONFIG_AGENTS);
    fc_msg_set_str(req->text, sizeof req->text, scope);
    /* Every page: a scope may match more agents than one reply holds. */
    fc_msg_t *reply = fc_client_call_pages(client, &req, o->timeout_ms);
    if (reply && reply->type == FC_MSG_CONFIG_STATUS_REPLY && !reply->more)
        return reply;
    if (reply && reply->type == FC_MSG_CONFIG_STATUS_REPLY) {
        fc_cmd_fail("the broker said more agents of scope %s follow, yet listed none", scope);
        fc_msg_destroy(&reply);
        return NULL;
    }
    if (!reply)
        fc_cmd_fail("no answer from the broker at %s within %d s", o->broker, o->timeout_ms / 1000);
    else /* an older broker's refusal says so (fc_client_call): --canary is what needs it */
        fc_cmd_fail("--canary needs the agents scope %s matches (CONFIG_AGENTS), and %s%s", scope,
                    reply->type == FC_MSG_ERROR ? "" : "the broker sent ",
                    reply->type == FC_MSG_ERROR ? reply->text : "an unexpected reply");
    fc_msg_destroy(&reply);
    return NULL;
}

static void s_print_published(const fc_config_cmd_options_t *o, fc_client_t *client,
                              const fc_revision_t *rev)
{
    /* A canary: how many of the agents its scope matches it chose, and which. */
    bool canary = rev->kind == FC_REV_SET && rev->canary > 0 && rev->canary < 100;
    fc_msg_t *fleet = canary ? s_scope_agents(o, client, rev->scope) : NULL;
    size_t chosen = 0;
    char names[256] = "";
    for (size_t i = 0; fleet && i < fleet->nagents; i++)
        if (fc_canary_member(fleet->agents[i].id, rev->canary)) {
            size_t len = strlen(names);
            if (chosen < 8)
                snprintf(names + len, sizeof names - len, "%s%s", chosen ? ", " : "",
                         fleet->agents[i].id);
            else if (chosen == 8)
                snprintf(names + len, sizeof names - len, ", ...");
            chosen++;
        }
    if (o->json) {
        fc_json_t *j = fc_json_new();
        fc_json_open(j);
        fc_json_key_bool(j, "ok", true);
        fc_json_key_uint(j, "rev", rev->rev);
        fc_json_key_str(j, "kind", fc_cmd_kind_name(rev->kind));
        fc_json_key_str(j, "scope", rev->scope);
        fc_json_key_uint(j, "canary", rev->canary);
        if (fleet) {
            fc_json_key_uint(j, "canary_chosen", chosen);
            fc_json_key_uint(j, "canary_matching", fleet->nagents);
        }
        if (rev->kind == FC_REV_PROMOTE)
            fc_json_key_uint(j, "target", rev->target);
        fc_json_key(j, "set");
        fc_json_open_array(j);
        for (size_t i = 0; i < rev->nchanges; i++)
            if (!rev->changes[i].unset)
                fc_json_str(j, rev->changes[i].key);
        fc_json_close_array(j);
        fc_json_key(j, "unset");
        fc_json_open_array(j);
        for (size_t i = 0; i < rev->nchanges; i++)
            if (rev->changes[i].unset)
                fc_json_str(j, rev->changes[i].key);
        fc_json_close_array(j);
        fc_json_close(j);
        puts(fc_json_text(j));
        fc_json_destroy(&j);
        fc_msg_destroy(&fleet);
        return;
    }
    if (rev->kind == FC_REV_SCHEMA)
        printf("published config revision %llu: new schema\n", (unsigned long long)rev->rev);
    else if (rev->kind == FC_REV_PROMOTE)
        printf("published config revision %llu: revision %llu promoted to every matching "
               "agent (%s)\n",
               (unsigned long long)rev->rev, (unsigned long long)rev->target, rev->scope);
    else {
        printf("published config revision %llu (%s):", (unsigned long long)rev->rev, rev->scope);
        for (size_t i = 0; i < rev->nchanges; i++)
            printf(" %s%s", rev->changes[i].unset ? "-" : "", rev->changes[i].key);
        printf("\n");
        if (canary && fleet)
            printf("canary: %u%% chose %zu of the %zu agents the scope matches first (%s; "
                   "halts at %u%% failures); widen it with: fleetcast config promote %llu\n",
                   rev->canary, chosen, fleet->nagents, chosen ? names : "none known yet",
                   rev->halt_percent, (unsigned long long)rev->rev);
        else if (canary)
            printf("canary: %u%% of the matching agents first (halts at %u%% failures); "
                   "widen it with: fleetcast config promote %llu\n",
                   rev->canary, rev->halt_percent, (unsigned long long)rev->rev);
    }
    fc_msg_destroy(&fleet);
}

/* Refuses a SET revision the schema in force forbids, before anything is published. */
static int s_check_schema(const fc_history_t *hist, const fc_revision_t *rev)
{
    if (rev->kind != FC_REV_SET)
        return 0;
    char msg[FC_MAX_TEXT + 128] = "";
    int err = 0;
    fc_schema_t *schema = fc_history_schema(hist, 0, msg, sizeof msg, &err);
    if (err)
        return fc_cmd_fail("%s", msg);
    if (!schema)
        return 0;
    int rc = fc_schema_check_revision(schema, rev, msg, sizeof msg);
    fc_schema_destroy(&schema);
    if (rc)
        return fc_cmd_fail("refused by the schema: %s (nothing was published)", msg);
    return 0;
}

static int s_publish(const fc_config_cmd_options_t *o, s_build_fn *build, void *arg)
{
    if (!o->key)
        return fc_cmd_usage("this command publishes a signed revision: it needs --key FILE%s", "");
    fc_signkey_t key;
    int rc = fc_signkey_load(&key, o->key);
    if (rc)
        return fc_cmd_fail("cannot load signing key %s: %s", o->key, fc_strerror(rc));
    fc_client_t *client = fc_cmd_connect(o);
    int status = 1;
    int64_t deadline = zclock_mono() + o->timeout_ms;
    for (int attempt = 1; client; attempt++) {
        fc_history_t *hist = fc_cmd_history(o, client, NULL, NULL);
        if (!hist)
            break;
        status = 1;
        fc_revision_t *rev = build(o, client, hist, arg, &status);
        if (!rev || s_check_schema(hist, rev) != 0) {
            fc_revision_destroy(&rev);
            fc_history_destroy(&hist);
            break;
        }
        rev->rev = fc_history_latest(hist) + 1;
        rev->created = (int64_t)time(NULL);
        fc_history_destroy(&hist);
        size_t len = 0;
        uint8_t *signed_rev = fc_revision_sign(rev, &key, &len);
        if (!signed_rev) {
            status =
                fc_cmd_fail("the revision is too large to sign (limit %u bytes)", FC_MAX_REVISION);
            fc_revision_destroy(&rev);
            break;
        }
        fc_msg_t *push = fc_msg_new(FC_MSG_CONFIG_PUSH);
        fc_msg_set_bytes(push, signed_rev, len);
        free(signed_rev);
        fc_msg_t *reply = fc_client_call(client, &push, o->timeout_ms);
        char why[512];
        if (!reply && fc_client_why(client, why, sizeof why))
            status = fc_cmd_fail("%s", why);
        else if (!reply)
            status = fc_cmd_fail("no answer from the broker at %s within %d s (the revision "
                                 "may or may not have been published: see config history)",
                                 o->broker, o->timeout_ms / 1000);
        else if (reply->type == FC_MSG_OK) {
            if (reply->serial)
                rev->rev = reply->serial;
            s_print_published(o, client, rev);
            status = 0;
        } else if (reply->type == FC_MSG_ERROR && reply->code == FC_ESERIAL &&
                   zclock_mono() < deadline) {
            /* Another publisher took this number: rebuild on the new history, after a short
               random pause so racing publishers spread out. */
            fc_msg_destroy(&reply);
            fc_revision_destroy(&rev);
            int pause = attempt * (10 + (int)randof(40));
            zclock_sleep(pause < S_MAX_PAUSE_MS ? pause : S_MAX_PAUSE_MS - (int)randof(100));
            continue;
        } else if (reply->type == FC_MSG_ERROR)
            status =
                fc_cmd_fail("broker refused revision %llu: %s (%s)", (unsigned long long)rev->rev,
                            reply->text, fc_strerror((int)reply->code));
        else
            status =
                fc_cmd_fail("unexpected %s reply to CONFIG_PUSH", fc_msg_type_name(reply->type));
        fc_msg_destroy(&reply);
        fc_revision_destroy(&rev);
        break;
    }
    fc_client_destroy(&client);
    fc_signkey_wipe(&key);
    return status;
}

static const char *s_scope(const fc_config_cmd_options_t *o)
{
    return o->scope ? o->scope : "global";
}

static fc_revision_t *s_new_set(const fc_config_cmd_options_t *o, const char *default_message)
{
    fc_revision_t *rev = fc_revision_new(FC_REV_SET);
    snprintf(rev->scope, sizeof rev->scope, "%s", s_scope(o));
    snprintf(rev->message, sizeof rev->message, "%s", o->message ? o->message : default_message);
    return rev;
}

/* --- set / unset ------------------------------------------------------------------------ */

typedef struct {
    int argc;
    char **argv; /* KEY=VALUE or KEY operands */
    bool unset;
} s_change_args_t;

/* Builds the SET revision from the operands; NULL with a usage message (status 2). */
static fc_revision_t *s_build_changes(const fc_config_cmd_options_t *o, const s_change_args_t *a,
                                      int *status)
{
    fc_revision_t *rev = s_new_set(o, "");
    rev->canary = a->unset ? 0 : o->canary;
    if (rev->canary)
        rev->halt_percent = o->halt_percent ? o->halt_percent : 20;
    for (int i = 0; i < a->argc; i++) {
        char key[FC_MAX_KEY + 2];
        const char *arg = a->argv[i];
        const char *eq = strchr(arg, '=');
        if (a->unset ? eq != NULL : eq == NULL) {
            *status = fc_cmd_usage(a->unset ? "config unset takes KEY operands, not '%s'"
                                            : "config set takes KEY=VALUE operands, not '%s'",
                                   arg);
            fc_revision_destroy(&rev);
            return NULL;
        }
        size_t klen = eq ? (size_t)(eq - arg) : strlen(arg);
        if (klen == 0 || klen > FC_MAX_KEY) {
            *status = fc_cmd_usage("bad key in '%s': 1 to 128 of A-Z a-z 0-9 . _ -", arg);
            fc_revision_destroy(&rev);
            return NULL;
        }
        memcpy(key, arg, klen);
        key[klen] = '\0';
        int rc;
        if (a->unset)
            rc = fc_revision_unset(rev, key);
        else {
            fc_value_t v = {0};
            rc = fc_value_from_text(&v, eq + 1);
            if (rc == 0)
                rc = fc_revision_set(rev, key, &v);
            fc_value_free(&v);
        }
        if (rc) {
            *status = rc == FC_ETOOBIG
                          ? fc_cmd_usage("value of '%s' is too large (limit 64 KiB)", key)
                          : fc_cmd_usage("bad key '%s': 1 to 128 of A-Z a-z 0-9 . _ -", key);
            fc_revision_destroy(&rev);
            return NULL;
        }
    }
    return rev;
}

static fc_revision_t *s_build_set(const fc_config_cmd_options_t *o, fc_client_t *client,
                                  const fc_history_t *hist, void *arg, int *status)
{
    const s_change_args_t *a = arg;
    fc_revision_t *rev = s_build_changes(o, a, status);
    /* Stable choice by id means a small fleet may have no agent under the percentage: it
       is widened to the least that chooses one, or the revision would wait for ever. */
    if (rev && rev->canary > 0 && rev->canary < 100) {
        fc_msg_t *fleet = s_scope_agents(o, client, rev->scope);
        if (!fleet) {
            fc_revision_destroy(&rev);
            return NULL;
        }
        const char **ids = malloc((fleet->nagents ? fleet->nagents : 1) * sizeof *ids);
        for (size_t i = 0; ids && i < fleet->nagents; i++)
            ids[i] = fleet->agents[i].id;
        uint32_t wide = ids ? fc_canary_widen(ids, fleet->nagents, rev->canary) : rev->canary;
        if (wide != rev->canary)
            fprintf(stderr,
                    "fleetcast: note: --canary %u%% chooses none of the %zu agents scope %s "
                    "matches; widened to %u%%, the least that chooses one\n",
                    rev->canary, fleet->nagents, rev->scope, wide);
        rev->canary = wide;
        free(ids);
        fc_msg_destroy(&fleet);
    }
    if (rev && a->unset) {
        fc_layer_t layer;
        fc_history_layer(hist, rev->scope, 0, true, &layer);
        for (size_t i = 0; i < rev->nchanges; i++)
            if (!fc_layer_get(&layer, rev->changes[i].key))
                fprintf(stderr, "fleetcast: note: %s is not set in scope %s\n", rev->changes[i].key,
                        rev->scope);
        fc_layer_free(&layer);
    }
    return rev;
}

static int s_cmd_change(const fc_config_cmd_options_t *o, int argc, char **argv, bool unset)
{
    s_change_args_t a = {argc - 1, argv + 1, unset};
    if (a.argc < 1)
        return fc_cmd_usage(unset ? "config unset needs at least one KEY%s"
                                  : "config set needs at least one KEY=VALUE%s",
                            "");
    if (o->canary > 100)
        return fc_cmd_usage("--canary takes a percentage 1..100%s", "");
    if (unset && o->canary)
        return fc_cmd_usage("--canary applies to config set only%s", "");
    if (o->halt_percent && !o->canary)
        return fc_cmd_usage("--halt-percent goes with --canary%s", "");
    /* Operands are checked before connecting, so a typo costs no round trip. */
    int status = 0;
    fc_revision_t *probe = s_build_changes(o, &a, &status);
    if (!probe)
        return status;
    fc_revision_destroy(&probe);
    return s_publish(o, s_build_set, &a);
}

/* --- rollback --------------------------------------------------------------------------- */

static fc_revision_t *s_build_rollback(const fc_config_cmd_options_t *o, fc_client_t *client,
                                       const fc_history_t *hist, void *arg, int *status)
{
    (void)client;
    uint64_t target = *(uint64_t *)arg;
    if (target > fc_history_latest(hist) || !fc_history_find(hist, target)) {
        fc_cmd_fail("no config revision %llu (latest is %llu)", (unsigned long long)target,
                    (unsigned long long)fc_history_latest(hist));
        return NULL;
    }
    char message[64];
    snprintf(message, sizeof message, "rollback to revision %llu", (unsigned long long)target);
    fc_revision_t *rev = s_new_set(o, message);
    fc_layer_t then, now_all, now_done;
    fc_history_layer(hist, rev->scope, target, true, &then);
    fc_history_layer(hist, rev->scope, 0, true, &now_all);
    fc_history_layer(hist, rev->scope, 0, false, &now_done);
    /* Every key whose value differs now (for canary members or for everyone) goes back. */
    fc_layer_t *views[2] = {&now_all, &now_done};
    for (int v = 0; v < 2; v++) {
        for (size_t i = 0; i < views[v]->n; i++) {
            const char *key = views[v]->entries[i].key;
            const fc_value_t *old = fc_layer_get(&then, key);
            if (old && fc_value_equal(old, &views[v]->entries[i].value))
                continue;
            if (old)
                fc_revision_set(rev, key, old);
            else
                fc_revision_unset(rev, key);
        }
    }
    /* Keys that existed then and have been unset since. */
    for (size_t i = 0; i < then.n; i++) {
        const char *key = then.entries[i].key;
        if (!fc_layer_get(&now_all, key) || !fc_layer_get(&now_done, key))
            fc_revision_set(rev, key, &then.entries[i].value);
    }
    fc_layer_free(&then);
    fc_layer_free(&now_all);
    fc_layer_free(&now_done);
    /* Other scopes are separate layers: say so rather than silently leave them. */
    for (size_t i = 0; i < fc_history_size(hist); i++) {
        const fc_revision_t *r = fc_history_at(hist, i);
        if (r->rev > target && r->kind == FC_REV_SET && strcmp(r->scope, rev->scope) != 0)
            fprintf(stderr,
                    "fleetcast: note: scope %s changed in revision %llu too; roll it "
                    "back with --scope %s\n",
                    r->scope, (unsigned long long)r->rev, r->scope);
    }
    if (rev->nchanges == 0) {
        printf("nothing to roll back: scope %s has the values of revision %llu\n", rev->scope,
               (unsigned long long)target);
        fc_revision_destroy(&rev);
        *status = 0;
    }
    return rev;
}

static int s_cmd_rollback(const fc_config_cmd_options_t *o, int argc, char **argv)
{
    if (argc != 2)
        return fc_cmd_usage("config rollback needs one revision number%s", "");
    uint64_t target = fc_cmd_parse_rev(argv[1]);
    if (!target)
        return fc_cmd_usage("not a revision number: '%s'", argv[1]);
    return s_publish(o, s_build_rollback, &target);
}

/* --- schema set ------------------------------------------------------------------------- */

static fc_revision_t *s_build_schema(const fc_config_cmd_options_t *o, fc_client_t *client,
                                     const fc_history_t *hist, void *arg, int *status)
{
    (void)client;
    (void)status;
    const char *text = arg;
    fc_revision_t *rev = fc_revision_new(FC_REV_SCHEMA);
    snprintf(rev->scope, sizeof rev->scope, "global");
    snprintf(rev->message, sizeof rev->message, "%s", o->message ? o->message : "");
    rev->schema_json = strdup(text);
    if (!rev->schema_json)
        abort();
    /* Values already in force that the new schema forbids: warn, the operator decides. */
    char why[FC_MAX_TEXT + 128];
    fc_schema_t *schema = fc_schema_parse(text, why, sizeof why);
    fc_layer_t layer;
    fc_history_layer(hist, "global", 0, true, &layer);
    for (size_t i = 0; schema && i < layer.n; i++)
        if (fc_schema_check(schema, layer.entries[i].key, &layer.entries[i].value, why,
                            sizeof why) != 0)
            fprintf(stderr, "fleetcast: warning: the global value breaks the new schema: %s\n",
                    why);
    fc_layer_free(&layer);
    fc_schema_destroy(&schema);
    return rev;
}

static int s_cmd_schema(const fc_config_cmd_options_t *o, int argc, char **argv)
{
    if (argc != 3 || strcmp(argv[1], "set") != 0)
        return fc_cmd_usage("usage: config schema set FILE%s", "");
    size_t len = 0;
    char *text = (char *)fc_read_file(argv[2], FC_MAX_REVISION / 2, &len);
    if (!text)
        return fc_cmd_fail("cannot read schema %s: %s", argv[2],
                           errno == EFBIG ? "too large" : strerror(errno));
    char why[FC_MAX_TEXT + 128] = "";
    fc_schema_t *schema = fc_schema_parse(text, why, sizeof why);
    if (!schema) {
        free(text);
        return fc_cmd_fail("schema %s is not valid: %s (nothing was published)", argv[2], why);
    }
    fc_schema_destroy(&schema);
    int status = s_publish(o, s_build_schema, text);
    free(text);
    return status;
}

/* --- promote ---------------------------------------------------------------------------- */

static fc_revision_t *s_build_promote(const fc_config_cmd_options_t *o, fc_client_t *client,
                                      const fc_history_t *hist, void *arg, int *status)
{
    (void)status;
    uint64_t target = *(uint64_t *)arg;
    const fc_revision_t *t = fc_history_find(hist, target);
    if (!t) {
        fc_cmd_fail("no config revision %llu", (unsigned long long)target);
        return NULL;
    }
    if (t->kind != FC_REV_SET || t->canary == 0 || t->canary >= 100) {
        fc_cmd_fail("revision %llu is not a canary revision: it already applies to every "
                    "matching agent",
                    (unsigned long long)target);
        return NULL;
    }
    if (fc_history_promoted(hist, target, 0)) {
        fc_cmd_fail("revision %llu is already promoted", (unsigned long long)target);
        return NULL;
    }
    /* A halted canary is refused here with its reason (the broker refuses it too). */
    fc_msg_t *req = fc_msg_new(FC_MSG_CONFIG_STATUS);
    req->serial = target;
    fc_msg_t *reply = fc_cmd_call(o, client, &req, FC_MSG_CONFIG_STATUS_REPLY);
    if (!reply)
        return NULL;
    if (reply->flag) {
        fc_cmd_fail("revision %llu is HALTED: %s; promote refused (roll it back, or publish a "
                    "fixed revision)",
                    (unsigned long long)target, fc_cmd_halt_reason(reply->text));
        fc_msg_destroy(&reply);
        return NULL;
    }
    fc_msg_destroy(&reply);
    fc_revision_t *rev = fc_revision_new(FC_REV_PROMOTE);
    snprintf(rev->scope, sizeof rev->scope, "%s", t->scope);
    rev->target = target;
    if (o->message)
        snprintf(rev->message, sizeof rev->message, "%s", o->message);
    else
        snprintf(rev->message, sizeof rev->message, "promote revision %llu",
                 (unsigned long long)target);
    return rev;
}

static int s_cmd_promote(const fc_config_cmd_options_t *o, int argc, char **argv)
{
    if (argc != 2)
        return fc_cmd_usage("config promote needs one revision number%s", "");
    uint64_t target = fc_cmd_parse_rev(argv[1]);
    if (!target)
        return fc_cmd_usage("not a revision number: '%s'", argv[1]);
    return s_publish(o, s_build_promote, &target);
}

/* --- dispatch --------------------------------------------------------------------------- */

int fc_config_cmd_run(const fc_config_cmd_options_t *o, int argc, char **argv)
{
    if (argc < 1)
        return fc_cmd_usage("config needs a subcommand: set, unset, get, history, diff, "
                            "rollback, schema, status, promote%s",
                            "");
    if (o->scope && !fc_scope_valid(o->scope))
        return fc_cmd_usage("bad --scope '%s': global, group:NAME or agent:ID", o->scope);
    const char *sub = argv[0];
    if (streq(sub, "set"))
        return s_cmd_change(o, argc, argv, false);
    if (streq(sub, "unset"))
        return s_cmd_change(o, argc, argv, true);
    if (streq(sub, "rollback"))
        return s_cmd_rollback(o, argc, argv);
    if (streq(sub, "schema"))
        return s_cmd_schema(o, argc, argv);
    if (streq(sub, "promote"))
        return s_cmd_promote(o, argc, argv);
    if (streq(sub, "get"))
        return fc_cmd_get(o, argc, argv);
    if (streq(sub, "history"))
        return fc_cmd_history_show(o, argc, argv);
    if (streq(sub, "diff"))
        return fc_cmd_diff(o, argc, argv);
    if (streq(sub, "status"))
        return fc_cmd_status(o, argc, argv);
    return fc_cmd_usage("unknown config subcommand '%s'", sub);
}
