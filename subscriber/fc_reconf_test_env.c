/* fc_reconf_test_env.c: helpers of fc_reconf's self-test: signed revisions pushed to the fake
   broker, its acks and counters, files of the state dir, agents with hooks. */
#include "fc_file.h"
#include "fc_reconf_test.h"

#include <sys/stat.h>

static void s_log(const char *line, void *arg)
{
    if (*(bool *)arg)
        fprintf(stderr, "\n    %s", line);
}

void fc_reconf_env_push_rev(fc_reconf_env_t *env, fc_revision_t **r_p, const fc_signkey_t *key,
                            bool quiet)
{
    size_t len = 0;
    uint8_t *bytes = fc_revision_sign(*r_p, key, &len);
    FC_CHECK(bytes);
    zmsg_t *cmd = zmsg_new();
    zmsg_addstr(cmd, "PUSH");
    zmsg_addmem(cmd, bytes, len);
    zmsg_addstr(cmd, quiet ? "quiet" : "");
    zmsg_send(&cmd, env->broker);
    zsock_wait(env->broker);
    free(bytes);
    fc_revision_destroy(r_p);
}

void fc_reconf_env_push_ex(fc_reconf_env_t *env, const char *scope, bool quiet,
                           const char *const *pairs, size_t n)
{
    fc_revision_t *r = fc_revision_new(FC_REV_SET);
    r->rev = ++env->rev;
    r->created = 1700000000 + (int64_t)r->rev;
    snprintf(r->scope, sizeof r->scope, "%s", scope);
    for (size_t i = 0; i < n; i++) {
        char key[FC_MAX_KEY + 1];
        const char *eq = strchr(pairs[i], '=');
        snprintf(key, sizeof key, "%.*s", (int)(eq - pairs[i]), pairs[i]);
        fc_value_t v;
        FC_CHECK(fc_value_from_text(&v, eq + 1) == 0);
        FC_CHECK(fc_revision_set(r, key, &v) == 0);
        fc_value_free(&v);
    }
    fc_reconf_env_push_rev(env, &r, &env->key, quiet);
}

void fc_reconf_env_push(fc_reconf_env_t *env, const char *scope, const char *pair)
{
    fc_reconf_env_push_ex(env, scope, false, &pair, 1);
}

void fc_reconf_env_push_schema(fc_reconf_env_t *env, const char *json, const fc_signkey_t *key)
{
    fc_reconf_env_push_other(env, json, 0, key);
}

void fc_reconf_env_push_other(fc_reconf_env_t *env, const char *json, uint64_t target,
                              const fc_signkey_t *key)
{
    fc_revision_t *r = fc_revision_new(json ? FC_REV_SCHEMA : FC_REV_PROMOTE);
    r->rev = ++env->rev;
    r->created = 1700000000;
    r->schema_json = json ? strdup(json) : NULL;
    r->target = target;
    fc_reconf_env_push_rev(env, &r, key, false);
}

void fc_reconf_env_cmd(fc_reconf_env_t *env, const char *name, const char *arg)
{
    if (arg)
        zstr_sendx(env->broker, name, arg, NULL);
    else
        zstr_send(env->broker, name);
    zsock_wait(env->broker);
}

char *fc_reconf_env_acks(fc_reconf_env_t *env)
{
    zstr_send(env->broker, "ACKS");
    return zstr_recv(env->broker);
}

int fc_reconf_env_syncs(fc_reconf_env_t *env)
{
    int n = -1;
    zstr_send(env->broker, "SYNCS");
    zsock_recv(env->broker, "i", &n);
    return n;
}

int fc_reconf_env_slots(fc_reconf_env_t *env)
{
    zstr_send(env->broker, "SLOTS");
    int n = 0;
    zsock_recv(env->broker, "i", &n);
    return n;
}

char *fc_reconf_env_file(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    size_t len = 0;
    char *text = (char *)fc_read_file(path, 1 << 20, &len);
    return text ? text : strdup("");
}

int fc_reconf_env_lines(const char *dir, const char *name)
{
    char *text = fc_reconf_env_file(dir, name);
    int n = 0;
    for (char *p = text; *p; p++)
        n += *p == '\n';
    free(text);
    return n;
}

ino_t fc_reconf_env_inode(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    struct stat st;
    return stat(path, &st) == 0 ? st.st_ino : 0;
}

fc_agent_t *fc_reconf_env_agent(fc_reconf_env_t *env, const char *endpoint, const char *changing,
                                const char *changed, const char *restart)
{
    return fc_reconf_env_agent_ex(env, endpoint, changing, changed, restart, FC_AGENT_HOOK_TIMEOUT);
}

fc_agent_t *fc_reconf_env_agent_ex(fc_reconf_env_t *env, const char *endpoint, const char *changing,
                                   const char *changed, const char *restart, double hook_timeout)
{
    fc_agent_config_t cfg;
    fc_agent_config_defaults(&cfg);
    cfg.insecure = true; /* in-process brokers run without CURVE */
    cfg.broker = endpoint ? endpoint : env->endpoint;
    cfg.channel = "stable";
    cfg.install_dir = env->install;
    cfg.state_dir = env->state;
    cfg.trust = env->trust;
    cfg.id = "a1";
    cfg.group = "web";
    cfg.config_changing = changing;
    cfg.config_changed = changed;
    cfg.exec_restart = restart;
    cfg.hook_timeout = hook_timeout;
    cfg.timeout = endpoint ? 1 : 10;
    cfg.log = s_log;
    cfg.log_arg = &env->verbose;
    int err = 0;
    fc_agent_t *agent = fc_agent_new(&cfg, &err);
    FC_CHECK(agent);
    return agent;
}

char *fc_reconf_env_hook(fc_reconf_env_t *env, const char *name, int exit_code)
{
    char *cmd = zsys_sprintf("cat > %s/%s.json; echo run >> %s/%s.count; exit %d", env->dir, name,
                             env->dir, name, exit_code);
    FC_CHECK(cmd);
    return cmd;
}

void fc_reconf_env_once(fc_agent_t *agent, int want_exit, uint64_t want_rev)
{
    fc_agent_result_t r;
    int rc = fc_agent_run_once(agent, false, &r);
    if (rc != want_exit || r.config_rev != want_rev)
        fprintf(stderr, "\nrun_once: exit %d rev %llu (%s: %s)\n", rc,
                (unsigned long long)r.config_rev, r.state, r.message);
    FC_CHECK(rc == want_exit);
    FC_CHECK(r.config_rev == want_rev);
}
