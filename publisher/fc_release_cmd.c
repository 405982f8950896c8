/* fc_release_cmd.c: `fleetcast release rollback | copy | prune` (and the door to `release
   watch`): options
 * checked, the operation run, its result printed for people or as JSON. */
#include "fc_release_cmd.h"
#include "fc_error.h"
#include "fc_json.h"
#include "fc_release_ops.h"

#include <stdio.h>
#include <string.h>

static int s_usage(const char *what)
{
    fprintf(stderr, "fleetcast: %s\n(see fleetcast --help)\n", what);
    return 2;
}

static void s_print(const fc_release_cmd_options_t *o, const char *op, int rc,
                    const fc_release_ops_result_t *res, const char *channel)
{
    if (o->json) {
        fc_json_t *j = fc_json_new();
        fc_json_open(j);
        fc_json_key_bool(j, "ok", rc == 0);
        fc_json_key_str(j, "operation", op);
        fc_json_key_str(j, "channel", channel);
        if (streq(op, "prune"))
            fc_json_key_uint(j, "removed", res->removed);
        else {
            fc_json_key_str(j, "version", res->version);
            fc_json_key_uint(j, "serial", res->serial);
            fc_json_key_uint(j, "from_serial", res->from_serial);
            fc_json_key_bool(j, "already_current", res->already_current);
        }
        if (rc)
            fc_json_key_str(j, "error", res->message);
        fc_json_close(j);
        puts(fc_json_text(j));
        fc_json_destroy(&j);
    }
    if (rc) {
        fprintf(stderr, "fleetcast: release %s failed: %s\n", op, res->message);
        return;
    }
    if (o->json)
        return;
    if (streq(op, "prune"))
        printf("pruned %s: %llu release%s removed (the broker's log and audit say more)\n", channel,
               (unsigned long long)res->removed, res->removed == 1 ? "" : "s");
    else if (res->already_current)
        printf("%s already has %s %s as its current release (serial %llu): nothing published\n",
               channel, channel, res->version, (unsigned long long)res->serial);
    else
        printf("published %s %s as serial %llu: the content of serial %llu, signed anew; "
               "nothing uploaded\n",
               channel, res->version, (unsigned long long)res->serial,
               (unsigned long long)res->from_serial);
}

/* The signers a release re-signed may come from: the key's own, and --trust's. */
static fc_trust_t *s_trust(const fc_release_cmd_options_t *o, const fc_signkey_t *key)
{
    int err = 0;
    fc_trust_t *trust = o->trust ? fc_trust_load(o->trust, &err) : fc_trust_new();
    if (!trust) {
        fprintf(stderr, "fleetcast: cannot load --trust %s: %s\n", o->trust, fc_strerror(err));
        return NULL;
    }
    fc_trust_add(trust, key->pk);
    return trust;
}

static int s_prune(const fc_release_cmd_options_t *o, const char *arg)
{
    if (arg)
        return s_usage("release prune takes no directory");
    if (!o->push.channel || !o->keep)
        return s_usage("release prune needs --channel and --keep N");
    int err = 0;
    fc_client_t *client = fc_client_new(o->broker, 2000, o->curve, &err);
    if (!client) {
        fprintf(stderr, "fleetcast: bad broker endpoint '%s'\n", o->broker);
        return 1;
    }
    fc_release_ops_options_t opt = {o->push.channel,   NULL, NULL, o->keep, false, NULL,
                                    o->push.timeout_ms};
    fc_release_ops_result_t res;
    int rc = fc_release_prune(client, &opt, &res);
    fc_client_destroy(&client);
    s_print(o, "prune", rc, &res, opt.channel);
    return rc ? 1 : 0;
}

int fc_release_cmd_run(const fc_release_cmd_options_t *o, const char *sub, const char *arg)
{
    bool rollback = streq(sub, "rollback"), copy = streq(sub, "copy");
    if (streq(sub, "prune"))
        return s_prune(o, arg);
    if (streq(sub, "watch")) {
        if (!arg)
            return s_usage("release watch needs a directory");
        return fc_release_watch_run(o, arg);
    }
    if (arg)
        return s_usage("release rollback and copy take no directory");
    if (rollback && !o->push.channel)
        return s_usage("release rollback needs --channel");
    if (copy && (!o->from || !o->to))
        return s_usage("release copy needs --from CHANNEL and --to CHANNEL");
    if (!rollback && !copy)
        return s_usage("unknown release command");
    if (!o->key)
        return s_usage(copy ? "release copy needs --key" : "release rollback needs --key");
    fc_signkey_t key;
    int err = fc_signkey_load(&key, o->key);
    if (err) {
        fprintf(stderr, "fleetcast: cannot load signing key %s: %s\n", o->key, fc_strerror(err));
        return 1;
    }
    fc_trust_t *trust = s_trust(o, &key);
    if (!trust) {
        fc_signkey_wipe(&key);
        return 1;
    }
    fc_client_t *client = fc_client_new(o->broker, 2000, o->curve, &err);
    if (!client) {
        fprintf(stderr, "fleetcast: bad broker endpoint '%s'\n", o->broker);
        fc_trust_destroy(&trust);
        fc_signkey_wipe(&key);
        return 1;
    }
    fc_release_ops_options_t opt = {copy ? o->to : o->push.channel,
                                    o->from,
                                    rollback ? o->to : o->push.version,
                                    0,
                                    o->push.force,
                                    trust,
                                    o->push.timeout_ms};
    fc_release_ops_result_t res;
    int rc = rollback ? fc_release_rollback(client, &opt, &key, &res)
                      : fc_release_copy(client, &opt, &key, &res);
    fc_client_destroy(&client);
    fc_trust_destroy(&trust);
    fc_signkey_wipe(&key);
    s_print(o, sub, rc, &res, opt.channel);
    return rc ? 1 : 0;
}
