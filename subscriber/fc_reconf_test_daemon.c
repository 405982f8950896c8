/* fc_reconf_test_daemon.c: part of fc_reconf's self-test: an embedded daemon with in-process
   callbacks, live changes over PUB, a lost announcement, carried revisions and a veto. */
#include "fc_reconf_test.h"

typedef struct {
    int changed;
    char level[64];
    bool vetoed_port;
    fc_agent_t *agent;
    pthread_mutex_t lock; /* level is written on the engine thread */
} s_app_t;

static bool s_level_is(s_app_t *app, const char *want)
{
    pthread_mutex_lock(&app->lock);
    bool same = streq(app->level, want);
    pthread_mutex_unlock(&app->lock);
    return same;
}

static bool s_app_changing(const fc_diff_entry_t *d, size_t n, void *arg)
{
    s_app_t *app = (s_app_t *)arg;
    for (size_t i = 0; i < n; i++)
        if (streq(d[i].key, "listen.port")) {
            __atomic_store_n(&app->vetoed_port, true, __ATOMIC_SEQ_CST);
            return false;
        }
    return true;
}

static int s_app_changed(const fc_diff_entry_t *d, size_t n, void *arg)
{
    s_app_t *app = (s_app_t *)arg;
    char *level = fc_agent_config_str(app->agent, "log.level", "none");
    pthread_mutex_lock(&app->lock);
    snprintf(app->level, sizeof app->level, "%s", level);
    pthread_mutex_unlock(&app->lock);
    free(level);
    __atomic_add_fetch(&app->changed, 1, __ATOMIC_SEQ_CST);
    return 0;
}

/* The application's other thread: reads the config in force through every getter while
   the engine thread swaps it, until told to stop. Under ThreadSanitizer (build-tsan/) a
   getter that stops taking the engine's lock fails this test. */
typedef struct {
    fc_agent_t *agent;
    int stop;
    uint64_t reads;
} s_reader_t;

static void *s_reader(void *arg)
{
    s_reader_t *r = (s_reader_t *)arg;
    while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
        char *level = fc_agent_config_str(r->agent, "log.level", "none");
        char *json = fc_agent_config_json(r->agent);
        FC_CHECK(level && json && json[0] == '{');
        (void)fc_agent_config_int(r->agent, "listen.port", 0);
        (void)fc_agent_config_bool(r->agent, "feature.on", false);
        (void)fc_agent_config_double(r->agent, "ratio", 0.0);
        (void)fc_agent_config_rev(r->agent);
        free(level);
        free(json);
        r->reads++;
        zclock_sleep(1);
    }
    return NULL;
}

static bool s_wait_for(fc_reconf_env_t *env, const char *needle, char **all)
{
    for (int i = 0; i < 100; i++) {
        char *acks = fc_reconf_env_acks(env);
        size_t len = strlen(*all) + strlen(acks) + 1;
        char *joined = (char *)malloc(len);
        snprintf(joined, len, "%s%s", *all, acks);
        free(*all);
        free(acks);
        *all = joined;
        if (strstr(*all, needle))
            return true;
        zclock_sleep(50);
    }
    return false;
}

/* Announcements that carry their revision: applied without a CONFIG_SYNC when each follows
   the last; a lost announcement (seq gap) still means a sync. The agent has applied 3. */
static void s_test_carried(fc_reconf_env_t *env, s_app_t *app, char **all)
{
    char want[128];
    fc_reconf_env_cmd(env, "CARRY", "1");
    int syncs = fc_reconf_env_syncs(env);
    fc_reconf_env_push(env, "agent:a1", "log.level=\"debug\"");
    snprintf(want, sizeof want, "%llu applied log.level|a1", (unsigned long long)env->rev);
    FC_CHECK(s_wait_for(env, want, all));
    FC_CHECK(s_level_is(app, "debug") && __atomic_load_n(&app->changed, __ATOMIC_SEQ_CST) == 4);
    FC_CHECK(fc_reconf_env_syncs(env) == syncs);
    /* Not ours: still moves the agent's number on, so the next one carried follows it. */
    fc_reconf_env_push(env, "agent:zz", "log.level=\"never\"");
    fc_reconf_env_push(env, "agent:a1", "log.level=\"notice\"");
    snprintf(want, sizeof want, "%llu applied log.level|a1", (unsigned long long)env->rev);
    FC_CHECK(s_wait_for(env, want, all));
    FC_CHECK(s_level_is(app, "notice") && __atomic_load_n(&app->changed, __ATOMIC_SEQ_CST) == 5);
    FC_CHECK(fc_reconf_env_syncs(env) == syncs);
    /* A gap: the quiet push is never announced, so the next announcement is not the one
       after the last seen: the agent syncs and gets both. */
    const char *pair = "log.level=\"trace\"";
    fc_reconf_env_push_ex(env, "agent:a1", true, &pair, 1);
    fc_reconf_env_push(env, "agent:a1", "log.level=\"info\"");
    snprintf(want, sizeof want, "%llu applied log.level|a1", (unsigned long long)env->rev);
    FC_CHECK(s_wait_for(env, want, all));
    FC_CHECK(s_level_is(app, "info") && __atomic_load_n(&app->changed, __ATOMIC_SEQ_CST) == 6);
    FC_CHECK(fc_reconf_env_syncs(env) > syncs);
    fc_reconf_env_cmd(env, "CARRY", "0");
}

void fc_reconf_test_daemon(fc_reconf_env_t *env)
{
    s_app_t app = {0};
    fc_agent_t *agent = fc_reconf_env_agent(env, NULL, NULL, NULL, NULL);
    app.agent = agent;
    pthread_mutex_init(&app.lock, NULL);
    fc_agent_on_config_changing(agent, s_app_changing, &app);
    fc_agent_on_config_changed(agent, s_app_changed, &app);
    FC_CHECK(fc_agent_start(agent) == 0);
    FC_CHECK(fc_agent_start(agent) == -1);
    s_reader_t reader = {.agent = agent};
    pthread_t reader_thread;
    FC_CHECK(pthread_create(&reader_thread, NULL, s_reader, &reader) == 0);
    char *all = strdup(""), want[128];
    /* Startup: revisions 10-12 (held back or failed by earlier runs) come again. */
    FC_CHECK(s_wait_for(env, "12 applied log.level|a1", &all));
    FC_CHECK(__atomic_load_n(&app.changed, __ATOMIC_SEQ_CST) == 1 && s_level_is(&app, "warn"));
    /* A live change announced over PUB, without the revision (an older broker): synced. */
    int syncs = fc_reconf_env_syncs(env);
    fc_reconf_env_push(env, "agent:a1", "log.level=\"error\"");
    snprintf(want, sizeof want, "%llu applied log.level|a1", (unsigned long long)env->rev);
    FC_CHECK(s_wait_for(env, want, &all));
    FC_CHECK(s_level_is(&app, "error"));
    FC_CHECK(fc_reconf_env_syncs(env) == syncs + 1);
    /* A lost announcement: the heartbeat shows the gap, the agent syncs. */
    const char *pair = "log.level=\"info\"";
    fc_reconf_env_push_ex(env, "agent:a1", true, &pair, 1);
    fc_reconf_env_cmd(env, "BEAT", NULL);
    snprintf(want, sizeof want, "%llu applied log.level|a1", (unsigned long long)env->rev);
    FC_CHECK(s_wait_for(env, want, &all));
    FC_CHECK(__atomic_load_n(&app.changed, __ATOMIC_SEQ_CST) == 3);
    FC_CHECK(s_level_is(&app, "info"));
    s_test_carried(env, &app, &all);
    /* Vetoed in-process, no --exec-restart: vetoed, old port kept. */
    fc_reconf_env_push(env, "group:web", "listen.port=99");
    snprintf(want, sizeof want, "%llu vetoed vetoed by the in-process changing handler;",
             (unsigned long long)env->rev);
    FC_CHECK(s_wait_for(env, want, &all));
    FC_CHECK(__atomic_load_n(&app.vetoed_port, __ATOMIC_SEQ_CST) &&
             fc_agent_config_int(agent, "listen.port", 0) == 81);
    FC_CHECK(__atomic_load_n(&app.changed, __ATOMIC_SEQ_CST) == 6);
    __atomic_store_n(&reader.stop, 1, __ATOMIC_RELEASE);
    FC_CHECK(pthread_join(reader_thread, NULL) == 0 && reader.reads > 0);
    fc_agent_join(agent);
    free(all);
    fc_agent_destroy(&agent);
    pthread_mutex_destroy(&app.lock);
}
