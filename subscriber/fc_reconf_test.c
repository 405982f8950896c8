/* fc_reconf_test.c: the agent's runtime configuration against an in-process fake config
   broker: late joiner, paging, unchanged, veto and restart-only restarts with slots,
   restart-required, vetoed, failed changes, config.json, saved state without a broker,
   replays and forged revisions, canary and promotion, hung hooks stopped at the time limit,
   and (fc_reconf_test_daemon.c) an embedded daemon with callbacks and a lost announcement. */
#include "fc_reconf_test.h"
#include "fc_error.h"
#include "fc_file.h"
#include "fc_hook.h"

#include <errno.h>
#include <signal.h>

/* ---------------------------------------------------------------- scenarios */

/* A late joiner gets the matching revisions (paged), applies them with one diff, acks each. */
static void s_test_late_joiner(fc_reconf_env_t *env)
{
    fc_reconf_env_push(env, "global", "log.level=\"info\"");      /* 1 */
    fc_reconf_env_push(env, "global", "listen.port=80");          /* 2 */
    fc_reconf_env_push(env, "group:web", "cache.size=64");        /* 3 */
    fc_reconf_env_push(env, "group:db", "db.pool=9");             /* 4: not ours */
    fc_reconf_env_push(env, "agent:a1", "log.level=\"verbose\""); /* 5: most specific wins */
    fc_reconf_env_cmd(env, "PAGE", "2");
    char *changed = fc_reconf_env_hook(env, "changed", 0);
    fc_agent_t *agent = fc_reconf_env_agent(env, NULL, NULL, changed, NULL);
    FC_CHECK(fc_agent_config_rev(agent) == 0);
    fc_reconf_env_once(agent, FC_AGENT_EXIT_OK, 5);
    char *json = fc_reconf_env_file(env->state, "config.json");
    FC_CHECK(strstr(json, "\"log.level\":\"verbose\""));
    FC_CHECK(strstr(json, "\"listen.port\":80"));
    FC_CHECK(strstr(json, "\"cache.size\":64"));
    FC_CHECK(!strstr(json, "db.pool"));
    FC_CHECK(strstr(json, "\"_rev\":5"));
    FC_CHECK(json[strlen(json) - 1] == '\n');
    free(json);
    /* One Changed run with the whole diff on stdin. */
    FC_CHECK(fc_reconf_env_lines(env->dir, "changed.count") == 1);
    char *diff = fc_reconf_env_file(env->dir, "changed.json");
    FC_CHECK(strstr(diff, "\"rev\":5") && strstr(diff, "\"key\":\"cache.size\""));
    free(diff);
    char *acks = fc_reconf_env_acks(env);
    FC_CHECK(strstr(acks, "1 applied") && strstr(acks, "3 applied") && strstr(acks, "5 applied"));
    FC_CHECK(!strstr(acks, "4 "));
    free(acks);
    FC_CHECK(fc_agent_config_int(agent, "listen.port", 0) == 80);
    char *level = fc_agent_config_str(agent, "log.level", NULL);
    FC_CHECK(level && streq(level, "verbose"));
    free(level);
    FC_CHECK(fc_agent_config_int(agent, "log.level", -1) == -1); /* wrong type: default */
    FC_CHECK(fc_agent_config_bool(agent, "missing", true));
    FC_CHECK(fc_agent_config_double(agent, "listen.port", 0) == 80.0);
    fc_agent_destroy(&agent);
    free(changed);
    fc_reconf_env_cmd(env, "PAGE", "1000");
}

/* Same effective value: acked unchanged, no handler runs; a replayed old revision and a
   revision for another group change nothing either. */
static void s_test_unchanged(fc_reconf_env_t *env)
{
    char *changing = fc_reconf_env_hook(env, "changing", 0);
    char *changed = fc_reconf_env_hook(env, "changed", 0);
    fc_agent_t *agent = fc_reconf_env_agent(env, NULL, changing, changed, NULL);
    FC_CHECK(fc_agent_config_rev(agent) == 5); /* from the saved revisions */
    ino_t before = fc_reconf_env_inode(env->state, "config.json");
    fc_reconf_env_push(env, "global", "log.level=\"debug\""); /* 6: overridden by agent:a1 */
    fc_reconf_env_cmd(env, "REPLAY", NULL);
    fc_reconf_env_once(agent, FC_AGENT_EXIT_OK, 6);
    char *acks = fc_reconf_env_acks(env);
    FC_CHECK(strstr(acks, "6 unchanged"));
    free(acks);
    FC_CHECK(fc_reconf_env_lines(env->dir, "changing.count") == 0);
    FC_CHECK(fc_reconf_env_lines(env->dir, "changed.count") == 1);
    FC_CHECK(fc_reconf_env_inode(env->state, "config.json") == before); /* untouched */
    fc_agent_destroy(&agent);
    free(changing);
    free(changed);
}

/* The changing hook vetoes: restart path; the broker refuses the slot twice first. */
static void s_test_veto_restart(fc_reconf_env_t *env)
{
    char *changing = fc_reconf_env_hook(env, "changing", 1);
    char *changed = fc_reconf_env_hook(env, "changed", 0);
    /* While it runs, the new config is in config.json and a note says a restart is on. */
    char *restart = zsys_sprintf("cat > %s/restart.json; grep -q '\"cache.size\":128' "
                                 "\"$FLEETCAST_CONFIG_FILE\" && test -f %s/config.restart && "
                                 "echo run >> %s/restart.count",
                                 env->dir, env->state, env->dir);
    fc_agent_t *agent = fc_reconf_env_agent(env, NULL, changing, changed, restart);
    ino_t before = fc_reconf_env_inode(env->state, "config.json");
    fc_reconf_env_cmd(env, "DENY", "2");
    int slots = fc_reconf_env_slots(env);
    fc_reconf_env_push(env, "group:web", "cache.size=128"); /* 7 */
    fc_reconf_env_once(agent, FC_AGENT_EXIT_OK, 7);
    FC_CHECK(fc_reconf_env_slots(env) - slots == 3);
    FC_CHECK(fc_reconf_env_lines(env->dir, "changing.count") == 1);
    FC_CHECK(fc_reconf_env_lines(env->dir, "restart.count") == 1);
    FC_CHECK(fc_reconf_env_lines(env->dir, "changed.count") == 1); /* not run on the restart path */
    char *diff = fc_reconf_env_file(env->dir, "restart.json");
    FC_CHECK(strstr(diff, "\"old\":64") && strstr(diff, "\"new\":128"));
    free(diff);
    char *acks = fc_reconf_env_acks(env);
    FC_CHECK(strstr(acks, "7 restarted vetoed by changing handler (exit 1): restarted"));
    free(acks);
    char *json = fc_reconf_env_file(env->state, "config.json");
    FC_CHECK(strstr(json, "\"cache.size\":128"));
    free(json);
    /* Written by rename: a reader sees the old file or the new one, never half of one. */
    FC_CHECK(fc_reconf_env_inode(env->state, "config.json") != before);
    char *note = fc_reconf_env_file(env->state, "config.restart");
    FC_CHECK(streq(note, "")); /* gone once acked */
    free(note);
    fc_agent_destroy(&agent);
    free(changing);
    free(changed);
    free(restart);
}

/* A key the schema marks restart-only takes the restart path though nobody vetoed. */
static void s_test_restart_only(fc_reconf_env_t *env)
{
    char *changing = fc_reconf_env_hook(env, "changing", 0);
    char *restart = fc_reconf_env_hook(env, "restart", 0);
    fc_agent_t *agent = fc_reconf_env_agent(env, NULL, changing, NULL, restart);
    fc_reconf_env_push_schema(env,
                              "{\"keys\": {\"listen.port\": {\"type\": \"integer\", \"reload\": "
                              "\"restart\"}}}",
                              &env->key);                /* 8 */
    fc_reconf_env_push(env, "global", "listen.port=81"); /* 9 */
    fc_reconf_env_once(agent, FC_AGENT_EXIT_OK, 9);
    FC_CHECK(fc_reconf_env_lines(env->dir, "changing.count") == 2);
    FC_CHECK(fc_reconf_env_lines(env->dir, "restart.count") == 2);
    char *diff = fc_reconf_env_file(env->dir, "changing.json");
    FC_CHECK(strstr(diff, "\"restart\":true"));
    free(diff);
    char *acks = fc_reconf_env_acks(env);
    FC_CHECK(strstr(acks, "9 restarted key listen.port needs a restart: restarted"));
    free(acks);
    FC_CHECK(fc_agent_config_int(agent, "listen.port", 0) == 81);
    fc_agent_destroy(&agent);
    free(changing);
    free(restart);
}

/* Without --exec-restart: restart-required, the old values stay (file and getters). */
static void s_test_restart_required(fc_reconf_env_t *env)
{
    /* First: a restart note left by a process that the restart command restarted is acked
       at the next start (for revisions in force only), then removed. */
    char path[256];
    snprintf(path, sizeof path, "%s/config.restart", env->state);
    const char *note = "8 9 999\nkey listen.port needs a restart: restarted\n";
    FC_CHECK(fc_write_file_atomic(path, note, strlen(note), 0644) == 0);
    fc_agent_t *agent = fc_reconf_env_agent(env, NULL, NULL, NULL, NULL);
    FC_CHECK(access(path, F_OK) != 0);
    char *json_before = fc_reconf_env_file(env->state, "config.json");
    fc_reconf_env_push(env, "global", "listen.port=82"); /* 10 */
    fc_agent_result_t r;
    FC_CHECK(fc_agent_run_once(agent, false, &r) == FC_AGENT_EXIT_OK);
    FC_CHECK(streq(r.config_state, "restart-required"));
    FC_CHECK(r.config_rev == 9);
    char *acks = fc_reconf_env_acks(env);
    FC_CHECK(
        strstr(acks, "10 restart-required key listen.port needs a restart; no --exec-restart"));
    FC_CHECK(strstr(acks, "9 restarted key listen.port needs a restart: restarted|a1"));
    FC_CHECK(!strstr(acks, "999 "));
    free(acks);
    char *json = fc_reconf_env_file(env->state, "config.json");
    FC_CHECK(streq(json, json_before));
    free(json);
    free(json_before);
    FC_CHECK(fc_agent_config_int(agent, "listen.port", 0) == 81);
    /* Held back, not judged again without something newer. */
    FC_CHECK(fc_agent_run_once(agent, false, &r) == FC_AGENT_EXIT_OK);
    acks = fc_reconf_env_acks(env);
    FC_CHECK(!strstr(acks, "10 "));
    free(acks);
    fc_agent_destroy(&agent);
}

/* The changed hook fails: failed with the reason, previous config in force; the in-process
   changed callback that had accepted gets the reverse diff. */
static int s_changed_cb(const fc_diff_entry_t *d, size_t n, void *arg)
{
    int *calls = (int *)arg;
    (*calls)++;
    for (size_t i = 0; i < n; i++) {
        char *s = NULL;
        if (streq(d[i].key, "log.level") && d[i].new_value &&
            fc_value_get_str(d[i].new_value, &s) == 0) {
            calls[1] = streq(s, "warn") ? 1 : streq(s, "verbose") ? 2 : 3;
            free(s);
        }
    }
    return 0;
}

static void s_test_changed_fails(fc_reconf_env_t *env)
{
    char *changed = fc_reconf_env_hook(env, "changed", 3);
    fc_agent_t *agent = fc_reconf_env_agent(env, NULL, NULL, changed, NULL);
    int calls[2] = {0, 0};
    fc_agent_on_config_changed(agent, s_changed_cb, calls);
    char *json_before = fc_reconf_env_file(env->state, "config.json");
    fc_reconf_env_push(env, "global", "listen.port=81");       /* 11: undoes 10 */
    fc_reconf_env_push(env, "agent:a1", "log.level=\"warn\""); /* 12 */
    fc_agent_result_t r;
    /* A failed change turns --once's 0 into 1. */
    FC_CHECK(fc_agent_run_once(agent, false, &r) == FC_AGENT_EXIT_ERROR);
    FC_CHECK(strstr(r.message, "changed handler failed (exit 3)"));
    FC_CHECK(streq(r.config_state, "failed"));
    char *acks = fc_reconf_env_acks(env);
    FC_CHECK(strstr(acks, "12 failed changed handler failed (exit 3); previous config (rev 9)"));
    free(acks);
    /* Applied by the callback, then undone with the reverse diff. */
    FC_CHECK(calls[0] == 2 && calls[1] == 2);
    char *json = fc_reconf_env_file(env->state, "config.json");
    FC_CHECK(streq(json, json_before));
    free(json);
    free(json_before);
    char *level = fc_agent_config_str(agent, "log.level", NULL);
    FC_CHECK(level && streq(level, "verbose"));
    free(level);
    fc_agent_destroy(&agent);
    free(changed);
}

/* Saved state, no broker: the config is served at once and config.json stays. */
static void s_test_no_broker(fc_reconf_env_t *env)
{
    char *json_before = fc_reconf_env_file(env->state, "config.json");
    fc_agent_t *agent = fc_reconf_env_agent(env, "tcp://127.0.0.1:1", NULL, NULL, NULL);
    FC_CHECK(fc_agent_config_rev(agent) >= 9);
    char *level = fc_agent_config_str(agent, "log.level", NULL);
    FC_CHECK(level && streq(level, "verbose"));
    free(level);
    char *whole = fc_agent_config_json(agent);
    FC_CHECK(strstr(whole, "\"cache.size\":128"));
    free(whole);
    fc_agent_result_t r;
    FC_CHECK(fc_agent_run_once(agent, false, &r) == FC_AGENT_EXIT_ERROR);
    char *json = fc_reconf_env_file(env->state, "config.json");
    FC_CHECK(streq(json, json_before));
    free(json);
    free(json_before);
    fc_agent_destroy(&agent);
}

/* A revision signed by a key the agent does not trust is refused (acked failed), without a
   crash, and the trusted revisions after it still apply. */
static void s_test_forged(fc_reconf_env_t *env)
{
    fc_signkey_t other;
    fc_signkey_generate(&other);
    fc_agent_t *agent = fc_reconf_env_agent(env, NULL, NULL, NULL, NULL);
    fc_reconf_env_push_schema(env, "{\"keys\": {}}", &other); /* untrusted */
    uint64_t forged = env->rev;
    const char *pairs[] = {"listen.port=81", "cache.size=256"};
    fc_reconf_env_push_ex(env, "group:web", false, pairs, 2);
    fc_agent_result_t r;
    FC_CHECK(fc_agent_run_once(agent, false, &r) == FC_AGENT_EXIT_ERROR);
    FC_CHECK(strstr(r.message, "rejected") && strstr(r.message, "untrusted"));
    FC_CHECK(r.config_rev == env->rev);
    FC_CHECK(fc_agent_config_int(agent, "cache.size", 0) == 256);
    char *acks = fc_reconf_env_acks(env);
    char want[64];
    snprintf(want, sizeof want, "%llu failed rejected by the agent", (unsigned long long)forged);
    FC_CHECK(strstr(acks, want));
    snprintf(want, sizeof want, "%llu applied cache.size|", (unsigned long long)env->rev);
    FC_CHECK(strstr(acks, want));
    free(acks);
    char *json = fc_reconf_env_file(env->state, "config.json");
    FC_CHECK(strstr(json, "\"cache.size\":256") && !strstr(json, "keys"));
    free(json);
    fc_agent_destroy(&agent);
    fc_signkey_wipe(&other);
}

/* A canary revision this agent is not a member of neither applies nor is acked here; its
   promotion applies it, and the agent acks both the promotion and the revision. */
static void s_test_canary(fc_reconf_env_t *env)
{
    uint32_t percent = 1;
    while (percent < 99 && fc_canary_member("a1", percent))
        percent++;
    FC_CHECK(!fc_canary_member("a1", percent));
    fc_revision_t *r = fc_revision_new(FC_REV_SET);
    r->rev = ++env->rev;
    r->created = 1700000000;
    r->canary = percent;
    fc_value_t v;
    FC_CHECK(fc_value_from_text(&v, "32") == 0);
    FC_CHECK(fc_revision_set(r, "cache.size", &v) == 0);
    fc_value_free(&v);
    snprintf(r->scope, sizeof r->scope, "agent:a1");
    fc_reconf_env_push_rev(env, &r, &env->key, false);
    uint64_t canary = env->rev;

    fc_agent_t *agent = fc_reconf_env_agent(env, NULL, NULL, NULL, NULL);
    int64_t before = fc_agent_config_int(agent, "cache.size", 0);
    FC_CHECK(before != 32);
    fc_reconf_env_once(agent, FC_AGENT_EXIT_OK, canary); /* seen, changes nothing */
    FC_CHECK(fc_agent_config_int(agent, "cache.size", 0) == before);
    char *acks = fc_reconf_env_acks(env);
    char want[64];
    snprintf(want, sizeof want, "%llu ", (unsigned long long)canary);
    FC_CHECK(!strstr(acks, want)); /* not a canary: not counted among them */
    free(acks);

    fc_reconf_env_push_other(env, NULL, canary, &env->key);
    fc_reconf_env_once(agent, FC_AGENT_EXIT_OK, env->rev);
    FC_CHECK(fc_agent_config_int(agent, "cache.size", 0) == 32);
    acks = fc_reconf_env_acks(env);
    snprintf(want, sizeof want, "%llu applied cache.size|", (unsigned long long)canary);
    FC_CHECK(strstr(acks, want));
    snprintf(want, sizeof want, "%llu applied cache.size|", (unsigned long long)env->rev);
    FC_CHECK(strstr(acks, want));
    free(acks);
    fc_agent_destroy(&agent);
}

/* Hooks that hang are stopped at --hook-timeout: a changed handler that never returns fails
   the change ("timed out"), the previous config stays in force (file and getters) and the
   handler is gone; a changing handler that never returns counts as a veto. */
static void s_test_hook_timeout(fc_reconf_env_t *env)
{
    char *hung = zsys_sprintf("echo $$ > %s/hung.pid; exec sleep 60", env->dir);
    fc_agent_t *agent = fc_reconf_env_agent_ex(env, NULL, NULL, hung, NULL, 1);
    uint64_t before_rev = fc_agent_config_rev(agent);
    char *json_before = fc_reconf_env_file(env->state, "config.json");
    fc_reconf_env_push(env, "agent:a1", "worker.count=4");
    fc_agent_result_t r;
    double t0 = zclock_mono();
    FC_CHECK(fc_agent_run_once(agent, false, &r) == FC_AGENT_EXIT_ERROR);
    FC_CHECK(zclock_mono() - t0 < 1000 * (1 + FC_HOOK_KILL_AFTER));
    FC_CHECK(strstr(r.message, "changed handler failed (timed out after 1 s)"));
    FC_CHECK(streq(r.config_state, "failed") && r.config_rev == before_rev);
    char *acks = fc_reconf_env_acks(env);
    char want[128];
    snprintf(want, sizeof want,
             "%llu failed changed handler failed (timed out after 1 s); previous config (rev "
             "%llu) stays in force",
             (unsigned long long)env->rev, (unsigned long long)before_rev);
    FC_CHECK(strstr(acks, want));
    free(acks);
    char *json = fc_reconf_env_file(env->state, "config.json");
    FC_CHECK(streq(json, json_before));
    free(json);
    free(json_before);
    FC_CHECK(fc_agent_config_int(agent, "worker.count", -1) == -1);
    char *pid = fc_reconf_env_file(env->dir, "hung.pid");
    FC_CHECK(atoi(pid) > 1 && kill(atoi(pid), 0) != 0 && errno == ESRCH);
    free(pid);
    fc_agent_destroy(&agent);

    /* The same hook in the Changing phase: vetoed (no --exec-restart: old values kept). */
    agent = fc_reconf_env_agent_ex(env, NULL, hung, NULL, NULL, 1);
    fc_reconf_env_push(env, "agent:a1", "worker.count=5");
    FC_CHECK(fc_agent_run_once(agent, false, &r) == FC_AGENT_EXIT_OK);
    FC_CHECK(streq(r.config_state, "vetoed"));
    acks = fc_reconf_env_acks(env);
    snprintf(want, sizeof want, "%llu vetoed vetoed by changing handler (timed out after 1 s);",
             (unsigned long long)env->rev);
    FC_CHECK(strstr(acks, want));
    free(acks);
    FC_CHECK(fc_agent_config_int(agent, "worker.count", -1) == -1);
    fc_agent_destroy(&agent);
    free(hung);
}

void fc_reconf_test(bool verbose)
{
    printf(" * fc_reconf: ");
    fflush(stdout);
    fc_reconf_env_t env;
    memset(&env, 0, sizeof env);
    env.verbose = verbose;
    snprintf(env.dir, sizeof env.dir, "/tmp/fc_reconf_test.XXXXXX");
    FC_CHECK(mkdtemp(env.dir));
    snprintf(env.state, sizeof env.state, "%s/state", env.dir);
    snprintf(env.install, sizeof env.install, "%s/install", env.dir);
    fc_signkey_generate(&env.key);
    env.trust = fc_trust_new();
    fc_trust_add(env.trust, env.key.pk);
    env.broker = zactor_new(fc_reconf_test_fake, NULL);
    int port = 0, pub_port = 0;
    zsock_recv(env.broker, "ii", &port, &pub_port);
    snprintf(env.endpoint, sizeof env.endpoint, "tcp://127.0.0.1:%d", port);

    s_test_late_joiner(&env);
    s_test_unchanged(&env);
    s_test_veto_restart(&env);
    s_test_restart_only(&env);
    s_test_restart_required(&env);
    s_test_changed_fails(&env);
    s_test_no_broker(&env);
    fc_reconf_test_daemon(&env);
    s_test_forged(&env);
    s_test_canary(&env);
    s_test_hook_timeout(&env);

    /* Nothing half-written left behind by the atomic writes. */
    zdir_t *dir = zdir_new(env.state, NULL);
    zfile_t **files = dir ? zdir_flatten(dir) : NULL;
    for (size_t i = 0; files && files[i]; i++) {
        const char *name = zfile_filename(files[i], env.state);
        FC_CHECK(!strstr(name, ".tmp"));
    }
    zdir_flatten_free(&files);
    zdir_destroy(&dir);

    zactor_destroy(&env.broker);
    fc_trust_destroy(&env.trust);
    fc_signkey_wipe(&env.key);
    fc_remove_tree(env.dir);
    printf("OK\n");
}
