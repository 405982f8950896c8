/* fc_reconf_test.c: the agent's runtime configuration against an in-process fake config
   broker: late joiner, paging, unchanged, veto and restart-only restarts with slots,
   restart-required, vetoed, failed changes, config.json, saved state without a broker,
   replays and forged revisions, canary and promotion, and an embedded daemon with callbacks
   and a lost announcement. */
#include "fc_error.h"
#include "fc_reconf.h"
#include "fc_util.h"

#include <sys/stat.h>

/* ---------------------------------------------------------------- fake broker */

/* Serves HELLO, SYNC (no release), CONFIG_SYNC (matching revisions after serial, page
   revisions at a time), CONFIG_ACK (recorded), RESTART_SLOT (refused deny times, then
   granted), REPORT. Pipe commands: "PUSH" bytes [quiet] (store, announce unless quiet),
   "BEAT" (heartbeat with the latest seq), "PAGE" n, "DENY" n, "REPLAY" (next snapshot starts
   with an old revision), "ACKS" (-> "rev state text" lines, cleared), "SLOTS" (-> requests
   seen), "CARRY" 0|1 (announcements carry the signed revision), "SYNCS" (-> CONFIG_SYNCs
   served), "$TERM". Sends the service port at start. */
typedef struct {
    uint8_t *bytes;
    size_t len;
    uint64_t rev;
    char scope[FC_MAX_SCOPE + 1];
} s_stored_t;

typedef struct {
    s_stored_t revs[64];
    size_t nrevs;
    size_t page;
    int deny;
    int slots;
    bool replay;
    bool carry;
    int syncs;
    uint64_t seq;
    char acks[8192];
} s_fake_t;

static void s_item(fc_msg_t *m, const s_stored_t *s)
{
    fc_item_t *item = &m->items[m->nitems++];
    item->data = (uint8_t *)malloc(s->len);
    memcpy(item->data, s->bytes, s->len);
    item->len = s->len;
}

static fc_msg_t *s_config_snapshot(s_fake_t *fake, const fc_msg_t *req)
{
    fc_msg_t *rep = fc_msg_new(FC_MSG_CONFIG_SNAPSHOT);
    rep->epoch = 7;
    rep->seq = fake->seq;
    rep->serial = fake->nrevs ? fake->revs[fake->nrevs - 1].rev : 0;
    rep->items = (fc_item_t *)calloc(fake->nrevs + 1, sizeof(fc_item_t));
    if (fake->replay && fake->nrevs) {
        fake->replay = false;
        s_item(rep, &fake->revs[0]); /* an old one first: must be refused, not applied */
    }
    for (size_t i = 0; i < fake->nrevs; i++) {
        const s_stored_t *s = &fake->revs[i];
        if (s->rev <= req->serial || !fc_scope_matches(s->scope, req->id, req->group))
            continue;
        if (rep->nitems >= fake->page) {
            rep->flag = true;
            break;
        }
        s_item(rep, s);
    }
    return rep;
}

static void s_fake_serve(s_fake_t *fake, zsock_t *router, int pub_port)
{
    zframe_t *who = NULL;
    int err = 0;
    fc_msg_t *req = fc_msg_recv(zsock_resolve(router), &who, &err);
    if (!req) {
        zframe_destroy(&who);
        return;
    }
    fc_msg_t *rep = NULL;
    if (req->type == FC_MSG_HELLO) {
        rep = fc_msg_new(FC_MSG_WELCOME);
        rep->epoch = 7;
        rep->seq = fake->seq;
        snprintf(rep->endpoint, sizeof rep->endpoint, "tcp://*:%d", pub_port);
        rep->heartbeat_ms = 1000;
    } else if (req->type == FC_MSG_SYNC) {
        rep = fc_msg_new(FC_MSG_SNAPSHOT);
        rep->epoch = 7;
        rep->seq = fake->seq;
    } else if (req->type == FC_MSG_CONFIG_SYNC) {
        fake->syncs++;
        rep = s_config_snapshot(fake, req);
    } else if (req->type == FC_MSG_CONFIG_ACK) {
        size_t used = strlen(fake->acks);
        snprintf(fake->acks + used, sizeof fake->acks - used, "%llu %s %s|%s\n",
                 (unsigned long long)req->serial, req->state, req->text, req->id);
        rep = fc_msg_new(FC_MSG_OK);
    } else if (req->type == FC_MSG_RESTART_SLOT) {
        fake->slots++;
        rep = fc_msg_new(FC_MSG_OK);
        rep->serial = req->serial;
        rep->flag = fake->deny <= 0;
        fake->deny--;
    } else
        rep = fc_msg_new(FC_MSG_OK);
    rep->req = req->req;
    fc_msg_send_to(&rep, who, zsock_resolve(router));
    fc_msg_destroy(&req);
    zframe_destroy(&who);
}

static void s_fake_push(s_fake_t *fake, zmsg_t *cmd, zsock_t *pub)
{
    zframe_t *bytes = zmsg_pop(cmd);
    char *quiet = zmsg_popstr(cmd);
    int err = 0;
    fc_revision_t *r = fc_revision_parse(zframe_data(bytes), zframe_size(bytes), NULL, &err);
    assert(r && fake->nrevs < 64);
    s_stored_t *s = &fake->revs[fake->nrevs++];
    s->len = zframe_size(bytes);
    s->bytes = (uint8_t *)malloc(s->len);
    memcpy(s->bytes, zframe_data(bytes), s->len);
    s->rev = r->rev;
    snprintf(s->scope, sizeof s->scope, "%s", r->scope);
    fake->seq++;
    if (!quiet || !streq(quiet, "quiet")) {
        fc_msg_t *a = fc_msg_new(FC_MSG_CONFIG_ANNOUNCE);
        a->epoch = 7;
        a->seq = fake->seq;
        a->serial = r->rev;
        fc_msg_set_str(a->text, sizeof a->text, r->scope);
        if (fake->carry)
            fc_msg_set_bytes(a, s->bytes, s->len);
        fc_msg_publish(&a, zsock_resolve(pub));
    }
    fc_revision_destroy(&r);
    free(quiet);
    zframe_destroy(&bytes);
}

static void s_fake_broker(zsock_t *pipe, void *args)
{
    s_fake_t *fake = (s_fake_t *)zmalloc(sizeof(s_fake_t));
    fake->page = 1000;
    zsock_t *router = zsock_new(ZMQ_ROUTER);
    zsock_t *pub = zsock_new(ZMQ_PUB);
    int port = zsock_bind(router, "tcp://127.0.0.1:*");
    int pub_port = zsock_bind(pub, "tcp://127.0.0.1:*");
    assert(port > 0 && pub_port > 0);
    zsock_signal(pipe, 0);
    zsock_send(pipe, "i", port);
    zpoller_t *poller = zpoller_new(pipe, router, NULL);
    while (true) {
        void *which = zpoller_wait(poller, -1);
        if (which == router) {
            s_fake_serve(fake, router, pub_port);
            continue;
        }
        if (which != pipe)
            break;
        zmsg_t *cmd = zmsg_recv(pipe);
        char *name = cmd ? zmsg_popstr(cmd) : NULL;
        bool term = !name || streq(name, "$TERM");
        if (name && streq(name, "PUSH")) {
            s_fake_push(fake, cmd, pub);
            zsock_signal(pipe, 0);
        } else if (name && streq(name, "BEAT")) {
            fc_msg_t *b = fc_msg_new(FC_MSG_HEARTBEAT);
            b->epoch = 7;
            b->seq = fake->seq;
            fc_msg_publish(&b, zsock_resolve(pub));
            zsock_signal(pipe, 0);
        } else if (name && (streq(name, "PAGE") || streq(name, "DENY") || streq(name, "CARRY"))) {
            char *n = zmsg_popstr(cmd);
            if (streq(name, "PAGE"))
                fake->page = (size_t)atoi(n);
            else if (streq(name, "CARRY"))
                fake->carry = atoi(n) != 0;
            else
                fake->deny = atoi(n);
            free(n);
            zsock_signal(pipe, 0);
        } else if (name && streq(name, "REPLAY")) {
            fake->replay = true;
            zsock_signal(pipe, 0);
        } else if (name && streq(name, "ACKS")) {
            zstr_send(pipe, fake->acks);
            fake->acks[0] = '\0';
        } else if (name && streq(name, "SLOTS"))
            zsock_send(pipe, "i", fake->slots);
        else if (name && streq(name, "SYNCS"))
            zsock_send(pipe, "i", fake->syncs);
        free(name);
        zmsg_destroy(&cmd);
        if (term)
            break;
    }
    zpoller_destroy(&poller);
    for (size_t i = 0; i < fake->nrevs; i++)
        free(fake->revs[i].bytes);
    free(fake);
    zsock_destroy(&pub);
    zsock_destroy(&router);
}

/* ---------------------------------------------------------------- helpers */

typedef struct {
    zactor_t *broker;
    char endpoint[64];
    char dir[64];
    char state[128];
    char install[128];
    fc_signkey_t key;
    fc_trust_t *trust;
    uint64_t rev;
    bool verbose;
} s_env_t;

static void s_log(const char *line, void *arg)
{
    if (*(bool *)arg)
        fprintf(stderr, "\n    %s", line);
}

/* Signs and pushes a SET revision: "key=value" pairs (JSON literals or text). */
static void s_push_ex(s_env_t *env, const char *scope, bool quiet, const char *const *pairs,
                      size_t n)
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
        assert(fc_value_from_text(&v, eq + 1) == 0);
        assert(fc_revision_set(r, key, &v) == 0);
        fc_value_free(&v);
    }
    size_t len = 0;
    uint8_t *bytes = fc_revision_sign(r, &env->key, &len);
    assert(bytes);
    zmsg_t *cmd = zmsg_new();
    zmsg_addstr(cmd, "PUSH");
    zmsg_addmem(cmd, bytes, len);
    zmsg_addstr(cmd, quiet ? "quiet" : "");
    zmsg_send(&cmd, env->broker);
    zsock_wait(env->broker);
    free(bytes);
    fc_revision_destroy(&r);
}

static void s_push(s_env_t *env, const char *scope, const char *pair)
{
    s_push_ex(env, scope, false, &pair, 1);
}

static void s_push_other(s_env_t *env, const char *json, uint64_t target, const fc_signkey_t *key);

/* Signs and pushes a SCHEMA revision (json), or a PROMOTE of target if json is NULL. */
static void s_push_schema(s_env_t *env, const char *json, const fc_signkey_t *key)
{
    s_push_other(env, json, 0, key);
}

static void s_push_other(s_env_t *env, const char *json, uint64_t target, const fc_signkey_t *key)
{
    fc_revision_t *r = fc_revision_new(json ? FC_REV_SCHEMA : FC_REV_PROMOTE);
    r->rev = ++env->rev;
    r->created = 1700000000;
    r->schema_json = json ? strdup(json) : NULL;
    r->target = target;
    size_t len = 0;
    uint8_t *bytes = fc_revision_sign(r, key, &len);
    assert(bytes);
    zmsg_t *cmd = zmsg_new();
    zmsg_addstr(cmd, "PUSH");
    zmsg_addmem(cmd, bytes, len);
    zmsg_addstr(cmd, "");
    zmsg_send(&cmd, env->broker);
    zsock_wait(env->broker);
    free(bytes);
    fc_revision_destroy(&r);
}

static void s_cmd(s_env_t *env, const char *name, const char *arg)
{
    if (arg)
        zstr_sendx(env->broker, name, arg, NULL);
    else
        zstr_send(env->broker, name);
    zsock_wait(env->broker);
}

/* The acks received since the last call, one "rev state text|id" line each. */
static char *s_acks(s_env_t *env)
{
    zstr_send(env->broker, "ACKS");
    return zstr_recv(env->broker);
}

static int s_syncs(s_env_t *env)
{
    int n = -1;
    zstr_send(env->broker, "SYNCS");
    zsock_recv(env->broker, "i", &n);
    return n;
}

static int s_slots(s_env_t *env)
{
    zstr_send(env->broker, "SLOTS");
    int n = 0;
    zsock_recv(env->broker, "i", &n);
    return n;
}

/* Whole file as a string ("" if missing); caller frees. */
static char *s_file(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    size_t len = 0;
    char *text = (char *)fc_read_file(path, 1 << 20, &len);
    return text ? text : strdup("");
}

static int s_lines(const char *dir, const char *name)
{
    char *text = s_file(dir, name);
    int n = 0;
    for (char *p = text; *p; p++)
        n += *p == '\n';
    free(text);
    return n;
}

static ino_t s_inode(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    struct stat st;
    return stat(path, &st) == 0 ? st.st_ino : 0;
}

/* An agent "a1" in group web on the fake broker (or on endpoint), with these hooks. */
static fc_agent_t *s_agent(s_env_t *env, const char *endpoint, const char *changing,
                           const char *changed, const char *restart)
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
    cfg.timeout = endpoint ? 1 : 10;
    cfg.log = s_log;
    cfg.log_arg = &env->verbose;
    int err = 0;
    fc_agent_t *agent = fc_agent_new(&cfg, &err);
    assert(agent);
    return agent;
}

/* Hook commands that count their runs and keep their stdin in DIR/<name>.json. */
static char *s_hook(s_env_t *env, const char *name, int exit_code)
{
    char *cmd = zsys_sprintf("cat > %s/%s.json; echo run >> %s/%s.count; exit %d", env->dir, name,
                             env->dir, name, exit_code);
    assert(cmd);
    return cmd;
}

static void s_once(fc_agent_t *agent, int want_exit, uint64_t want_rev)
{
    fc_agent_result_t r;
    int rc = fc_agent_run_once(agent, false, &r);
    if (rc != want_exit || r.config_rev != want_rev)
        fprintf(stderr, "\nrun_once: exit %d rev %llu (%s: %s)\n", rc,
                (unsigned long long)r.config_rev, r.state, r.message);
    assert(rc == want_exit);
    assert(r.config_rev == want_rev);
}

/* ---------------------------------------------------------------- scenarios */

/* A late joiner gets the matching revisions (paged), applies them with one diff, acks each. */
static void s_test_late_joiner(s_env_t *env)
{
    s_push(env, "global", "log.level=\"info\"");      /* 1 */
    s_push(env, "global", "listen.port=80");          /* 2 */
    s_push(env, "group:web", "cache.size=64");        /* 3 */
    s_push(env, "group:db", "db.pool=9");             /* 4: not ours */
    s_push(env, "agent:a1", "log.level=\"verbose\""); /* 5: most specific wins */
    s_cmd(env, "PAGE", "2");
    char *changed = s_hook(env, "changed", 0);
    fc_agent_t *agent = s_agent(env, NULL, NULL, changed, NULL);
    assert(fc_agent_config_rev(agent) == 0);
    s_once(agent, FC_AGENT_EXIT_OK, 5);
    char *json = s_file(env->state, "config.json");
    assert(strstr(json, "\"log.level\":\"verbose\""));
    assert(strstr(json, "\"listen.port\":80"));
    assert(strstr(json, "\"cache.size\":64"));
    assert(!strstr(json, "db.pool"));
    assert(strstr(json, "\"_rev\":5"));
    assert(json[strlen(json) - 1] == '\n');
    free(json);
    /* One Changed run with the whole diff on stdin. */
    assert(s_lines(env->dir, "changed.count") == 1);
    char *diff = s_file(env->dir, "changed.json");
    assert(strstr(diff, "\"rev\":5") && strstr(diff, "\"key\":\"cache.size\""));
    free(diff);
    char *acks = s_acks(env);
    assert(strstr(acks, "1 applied") && strstr(acks, "3 applied") && strstr(acks, "5 applied"));
    assert(!strstr(acks, "4 "));
    free(acks);
    assert(fc_agent_config_int(agent, "listen.port", 0) == 80);
    char *level = fc_agent_config_str(agent, "log.level", NULL);
    assert(level && streq(level, "verbose"));
    free(level);
    assert(fc_agent_config_int(agent, "log.level", -1) == -1); /* wrong type: default */
    assert(fc_agent_config_bool(agent, "missing", true));
    assert(fc_agent_config_double(agent, "listen.port", 0) == 80.0);
    fc_agent_destroy(&agent);
    free(changed);
    s_cmd(env, "PAGE", "1000");
}

/* Same effective value: acked unchanged, no handler runs; a replayed old revision and a
   revision for another group change nothing either. */
static void s_test_unchanged(s_env_t *env)
{
    char *changing = s_hook(env, "changing", 0);
    char *changed = s_hook(env, "changed", 0);
    fc_agent_t *agent = s_agent(env, NULL, changing, changed, NULL);
    assert(fc_agent_config_rev(agent) == 5); /* from the saved revisions */
    ino_t before = s_inode(env->state, "config.json");
    s_push(env, "global", "log.level=\"debug\""); /* 6: overridden by agent:a1 */
    s_cmd(env, "REPLAY", NULL);
    s_once(agent, FC_AGENT_EXIT_OK, 6);
    char *acks = s_acks(env);
    assert(strstr(acks, "6 unchanged"));
    free(acks);
    assert(s_lines(env->dir, "changing.count") == 0);
    assert(s_lines(env->dir, "changed.count") == 1);
    assert(s_inode(env->state, "config.json") == before); /* untouched */
    fc_agent_destroy(&agent);
    free(changing);
    free(changed);
}

/* The changing hook vetoes: restart path; the broker refuses the slot twice first. */
static void s_test_veto_restart(s_env_t *env)
{
    char *changing = s_hook(env, "changing", 1);
    char *changed = s_hook(env, "changed", 0);
    /* While it runs, the new config is in config.json and a note says a restart is on. */
    char *restart = zsys_sprintf("cat > %s/restart.json; grep -q '\"cache.size\":128' "
                                 "\"$FLEETCAST_CONFIG_FILE\" && test -f %s/config.restart && "
                                 "echo run >> %s/restart.count",
                                 env->dir, env->state, env->dir);
    fc_agent_t *agent = s_agent(env, NULL, changing, changed, restart);
    ino_t before = s_inode(env->state, "config.json");
    s_cmd(env, "DENY", "2");
    int slots = s_slots(env);
    s_push(env, "group:web", "cache.size=128"); /* 7 */
    s_once(agent, FC_AGENT_EXIT_OK, 7);
    assert(s_slots(env) - slots == 3);
    assert(s_lines(env->dir, "changing.count") == 1);
    assert(s_lines(env->dir, "restart.count") == 1);
    assert(s_lines(env->dir, "changed.count") == 1); /* not run on the restart path */
    char *diff = s_file(env->dir, "restart.json");
    assert(strstr(diff, "\"old\":64") && strstr(diff, "\"new\":128"));
    free(diff);
    char *acks = s_acks(env);
    assert(strstr(acks, "7 restarted vetoed by changing handler (exit 1): restarted"));
    free(acks);
    char *json = s_file(env->state, "config.json");
    assert(strstr(json, "\"cache.size\":128"));
    free(json);
    /* Written by rename: a reader sees the old file or the new one, never half of one. */
    assert(s_inode(env->state, "config.json") != before);
    char *note = s_file(env->state, "config.restart");
    assert(streq(note, "")); /* gone once acked */
    free(note);
    fc_agent_destroy(&agent);
    free(changing);
    free(changed);
    free(restart);
}

/* A key the schema marks restart-only takes the restart path though nobody vetoed. */
static void s_test_restart_only(s_env_t *env)
{
    char *changing = s_hook(env, "changing", 0);
    char *restart = s_hook(env, "restart", 0);
    fc_agent_t *agent = s_agent(env, NULL, changing, NULL, restart);
    s_push_schema(env,
                  "{\"keys\": {\"listen.port\": {\"type\": \"integer\", \"reload\": "
                  "\"restart\"}}}",
                  &env->key);                /* 8 */
    s_push(env, "global", "listen.port=81"); /* 9 */
    s_once(agent, FC_AGENT_EXIT_OK, 9);
    assert(s_lines(env->dir, "changing.count") == 2);
    assert(s_lines(env->dir, "restart.count") == 2);
    char *diff = s_file(env->dir, "changing.json");
    assert(strstr(diff, "\"restart\":true"));
    free(diff);
    char *acks = s_acks(env);
    assert(strstr(acks, "9 restarted key listen.port needs a restart: restarted"));
    free(acks);
    assert(fc_agent_config_int(agent, "listen.port", 0) == 81);
    fc_agent_destroy(&agent);
    free(changing);
    free(restart);
}

/* Without --exec-restart: restart-required, the old values stay (file and getters). */
static void s_test_restart_required(s_env_t *env)
{
    /* First: a restart note left by a process that the restart command restarted is acked
       at the next start (for revisions in force only), then removed. */
    char path[256];
    snprintf(path, sizeof path, "%s/config.restart", env->state);
    const char *note = "8 9 999\nkey listen.port needs a restart: restarted\n";
    assert(fc_write_file_atomic(path, note, strlen(note), 0644) == 0);
    fc_agent_t *agent = s_agent(env, NULL, NULL, NULL, NULL);
    assert(access(path, F_OK) != 0);
    char *json_before = s_file(env->state, "config.json");
    s_push(env, "global", "listen.port=82"); /* 10 */
    fc_agent_result_t r;
    assert(fc_agent_run_once(agent, false, &r) == FC_AGENT_EXIT_OK);
    assert(streq(r.config_state, "restart-required"));
    assert(r.config_rev == 9);
    char *acks = s_acks(env);
    assert(strstr(acks, "10 restart-required key listen.port needs a restart; no --exec-restart"));
    assert(strstr(acks, "9 restarted key listen.port needs a restart: restarted|a1"));
    assert(!strstr(acks, "999 "));
    free(acks);
    char *json = s_file(env->state, "config.json");
    assert(streq(json, json_before));
    free(json);
    free(json_before);
    assert(fc_agent_config_int(agent, "listen.port", 0) == 81);
    /* Held back, not judged again without something newer. */
    assert(fc_agent_run_once(agent, false, &r) == FC_AGENT_EXIT_OK);
    acks = s_acks(env);
    assert(!strstr(acks, "10 "));
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

static void s_test_changed_fails(s_env_t *env)
{
    char *changed = s_hook(env, "changed", 3);
    fc_agent_t *agent = s_agent(env, NULL, NULL, changed, NULL);
    int calls[2] = {0, 0};
    fc_agent_on_config_changed(agent, s_changed_cb, calls);
    char *json_before = s_file(env->state, "config.json");
    s_push(env, "global", "listen.port=81");       /* 11: undoes 10 */
    s_push(env, "agent:a1", "log.level=\"warn\""); /* 12 */
    fc_agent_result_t r;
    /* A failed change turns --once's 0 into 1. */
    assert(fc_agent_run_once(agent, false, &r) == FC_AGENT_EXIT_ERROR);
    assert(strstr(r.message, "changed handler failed (exit 3)"));
    assert(streq(r.config_state, "failed"));
    char *acks = s_acks(env);
    assert(strstr(acks, "12 failed changed handler failed (exit 3); previous config (rev 9)"));
    free(acks);
    /* Applied by the callback, then undone with the reverse diff. */
    assert(calls[0] == 2 && calls[1] == 2);
    char *json = s_file(env->state, "config.json");
    assert(streq(json, json_before));
    free(json);
    free(json_before);
    char *level = fc_agent_config_str(agent, "log.level", NULL);
    assert(level && streq(level, "verbose"));
    free(level);
    fc_agent_destroy(&agent);
    free(changed);
}

/* Saved state, no broker: the config is served at once and config.json stays. */
static void s_test_no_broker(s_env_t *env)
{
    char *json_before = s_file(env->state, "config.json");
    fc_agent_t *agent = s_agent(env, "tcp://127.0.0.1:1", NULL, NULL, NULL);
    assert(fc_agent_config_rev(agent) >= 9);
    char *level = fc_agent_config_str(agent, "log.level", NULL);
    assert(level && streq(level, "verbose"));
    free(level);
    char *whole = fc_agent_config_json(agent);
    assert(strstr(whole, "\"cache.size\":128"));
    free(whole);
    fc_agent_result_t r;
    assert(fc_agent_run_once(agent, false, &r) == FC_AGENT_EXIT_ERROR);
    char *json = s_file(env->state, "config.json");
    assert(streq(json, json_before));
    free(json);
    free(json_before);
    fc_agent_destroy(&agent);
}

/* A revision signed by a key the agent does not trust is refused (acked failed), without a
   crash, and the trusted revisions after it still apply. */
static void s_test_forged(s_env_t *env)
{
    fc_signkey_t other;
    fc_signkey_generate(&other);
    fc_agent_t *agent = s_agent(env, NULL, NULL, NULL, NULL);
    s_push_schema(env, "{\"keys\": {}}", &other); /* untrusted */
    uint64_t forged = env->rev;
    const char *pairs[] = {"listen.port=81", "cache.size=256"};
    s_push_ex(env, "group:web", false, pairs, 2);
    fc_agent_result_t r;
    assert(fc_agent_run_once(agent, false, &r) == FC_AGENT_EXIT_ERROR);
    assert(strstr(r.message, "rejected") && strstr(r.message, "untrusted"));
    assert(r.config_rev == env->rev);
    assert(fc_agent_config_int(agent, "cache.size", 0) == 256);
    char *acks = s_acks(env);
    char want[64];
    snprintf(want, sizeof want, "%llu failed rejected by the agent", (unsigned long long)forged);
    assert(strstr(acks, want));
    snprintf(want, sizeof want, "%llu applied cache.size|", (unsigned long long)env->rev);
    assert(strstr(acks, want));
    free(acks);
    char *json = s_file(env->state, "config.json");
    assert(strstr(json, "\"cache.size\":256") && !strstr(json, "keys"));
    free(json);
    fc_agent_destroy(&agent);
    fc_signkey_wipe(&other);
}

/* A canary revision this agent is not a member of neither applies nor is acked here; its
   promotion applies it, and the agent acks both the promotion and the revision. */
static void s_test_canary(s_env_t *env)
{
    uint32_t percent = 1;
    while (percent < 99 && fc_canary_member("a1", percent))
        percent++;
    assert(!fc_canary_member("a1", percent));
    fc_revision_t *r = fc_revision_new(FC_REV_SET);
    r->rev = ++env->rev;
    r->created = 1700000000;
    r->canary = percent;
    fc_value_t v;
    assert(fc_value_from_text(&v, "32") == 0);
    assert(fc_revision_set(r, "cache.size", &v) == 0);
    fc_value_free(&v);
    snprintf(r->scope, sizeof r->scope, "agent:a1");
    size_t len = 0;
    uint8_t *bytes = fc_revision_sign(r, &env->key, &len);
    assert(bytes);
    zmsg_t *cmd = zmsg_new();
    zmsg_addstr(cmd, "PUSH");
    zmsg_addmem(cmd, bytes, len);
    zmsg_addstr(cmd, "");
    zmsg_send(&cmd, env->broker);
    zsock_wait(env->broker);
    free(bytes);
    fc_revision_destroy(&r);
    uint64_t canary = env->rev;

    fc_agent_t *agent = s_agent(env, NULL, NULL, NULL, NULL);
    int64_t before = fc_agent_config_int(agent, "cache.size", 0);
    assert(before != 32);
    s_once(agent, FC_AGENT_EXIT_OK, canary); /* seen, changes nothing */
    assert(fc_agent_config_int(agent, "cache.size", 0) == before);
    char *acks = s_acks(env);
    char want[64];
    snprintf(want, sizeof want, "%llu ", (unsigned long long)canary);
    assert(!strstr(acks, want)); /* not a canary: not counted among them */
    free(acks);

    s_push_other(env, NULL, canary, &env->key);
    s_once(agent, FC_AGENT_EXIT_OK, env->rev);
    assert(fc_agent_config_int(agent, "cache.size", 0) == 32);
    acks = s_acks(env);
    snprintf(want, sizeof want, "%llu applied cache.size|", (unsigned long long)canary);
    assert(strstr(acks, want));
    snprintf(want, sizeof want, "%llu applied cache.size|", (unsigned long long)env->rev);
    assert(strstr(acks, want));
    free(acks);
    fc_agent_destroy(&agent);
}

/* ---------------------------------------------------------------- embedded daemon */

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

static bool s_wait_for(s_env_t *env, const char *needle, char **all)
{
    for (int i = 0; i < 100; i++) {
        char *acks = s_acks(env);
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
static void s_test_carried(s_env_t *env, s_app_t *app, char **all)
{
    char want[128];
    s_cmd(env, "CARRY", "1");
    int syncs = s_syncs(env);
    s_push(env, "agent:a1", "log.level=\"debug\"");
    snprintf(want, sizeof want, "%llu applied log.level|a1", (unsigned long long)env->rev);
    assert(s_wait_for(env, want, all));
    assert(s_level_is(app, "debug") && __atomic_load_n(&app->changed, __ATOMIC_SEQ_CST) == 4);
    assert(s_syncs(env) == syncs);
    /* Not ours: still moves the agent's number on, so the next one carried follows it. */
    s_push(env, "agent:zz", "log.level=\"never\"");
    s_push(env, "agent:a1", "log.level=\"notice\"");
    snprintf(want, sizeof want, "%llu applied log.level|a1", (unsigned long long)env->rev);
    assert(s_wait_for(env, want, all));
    assert(s_level_is(app, "notice") && __atomic_load_n(&app->changed, __ATOMIC_SEQ_CST) == 5);
    assert(s_syncs(env) == syncs);
    /* A gap: the quiet push is never announced, so the next announcement is not the one
       after the last seen: the agent syncs and gets both. */
    const char *pair = "log.level=\"trace\"";
    s_push_ex(env, "agent:a1", true, &pair, 1);
    s_push(env, "agent:a1", "log.level=\"info\"");
    snprintf(want, sizeof want, "%llu applied log.level|a1", (unsigned long long)env->rev);
    assert(s_wait_for(env, want, all));
    assert(s_level_is(app, "info") && __atomic_load_n(&app->changed, __ATOMIC_SEQ_CST) == 6);
    assert(s_syncs(env) > syncs);
    s_cmd(env, "CARRY", "0");
}

static void s_test_daemon(s_env_t *env)
{
    s_app_t app = {0};
    fc_agent_t *agent = s_agent(env, NULL, NULL, NULL, NULL);
    app.agent = agent;
    pthread_mutex_init(&app.lock, NULL);
    fc_agent_on_config_changing(agent, s_app_changing, &app);
    fc_agent_on_config_changed(agent, s_app_changed, &app);
    assert(fc_agent_start(agent) == 0);
    assert(fc_agent_start(agent) == -1);
    char *all = strdup(""), want[128];
    /* Startup: revisions 10-12 (held back or failed by earlier runs) come again. */
    assert(s_wait_for(env, "12 applied log.level|a1", &all));
    assert(__atomic_load_n(&app.changed, __ATOMIC_SEQ_CST) == 1 && s_level_is(&app, "warn"));
    /* A live change announced over PUB, without the revision (an older broker): synced. */
    int syncs = s_syncs(env);
    s_push(env, "agent:a1", "log.level=\"error\"");
    snprintf(want, sizeof want, "%llu applied log.level|a1", (unsigned long long)env->rev);
    assert(s_wait_for(env, want, &all));
    assert(s_level_is(&app, "error"));
    assert(s_syncs(env) == syncs + 1);
    /* A lost announcement: the heartbeat shows the gap, the agent syncs. */
    const char *pair = "log.level=\"info\"";
    s_push_ex(env, "agent:a1", true, &pair, 1);
    s_cmd(env, "BEAT", NULL);
    snprintf(want, sizeof want, "%llu applied log.level|a1", (unsigned long long)env->rev);
    assert(s_wait_for(env, want, &all));
    assert(__atomic_load_n(&app.changed, __ATOMIC_SEQ_CST) == 3);
    assert(s_level_is(&app, "info"));
    s_test_carried(env, &app, &all);
    /* Vetoed in-process, no --exec-restart: vetoed, old port kept. */
    s_push(env, "group:web", "listen.port=99");
    snprintf(want, sizeof want, "%llu vetoed vetoed by the in-process changing handler;",
             (unsigned long long)env->rev);
    assert(s_wait_for(env, want, &all));
    assert(__atomic_load_n(&app.vetoed_port, __ATOMIC_SEQ_CST) &&
           fc_agent_config_int(agent, "listen.port", 0) == 81);
    assert(__atomic_load_n(&app.changed, __ATOMIC_SEQ_CST) == 6);
    fc_agent_join(agent);
    free(all);
    fc_agent_destroy(&agent);
    pthread_mutex_destroy(&app.lock);
}

void fc_reconf_test(bool verbose)
{
    printf(" * fc_reconf: ");
    fflush(stdout);
    s_env_t env;
    memset(&env, 0, sizeof env);
    env.verbose = verbose;
    snprintf(env.dir, sizeof env.dir, "/tmp/fc_reconf_test.XXXXXX");
    assert(mkdtemp(env.dir));
    snprintf(env.state, sizeof env.state, "%s/state", env.dir);
    snprintf(env.install, sizeof env.install, "%s/install", env.dir);
    fc_signkey_generate(&env.key);
    env.trust = fc_trust_new();
    fc_trust_add(env.trust, env.key.pk);
    env.broker = zactor_new(s_fake_broker, NULL);
    int port = 0;
    zsock_recv(env.broker, "i", &port);
    snprintf(env.endpoint, sizeof env.endpoint, "tcp://127.0.0.1:%d", port);

    s_test_late_joiner(&env);
    s_test_unchanged(&env);
    s_test_veto_restart(&env);
    s_test_restart_only(&env);
    s_test_restart_required(&env);
    s_test_changed_fails(&env);
    s_test_no_broker(&env);
    s_test_daemon(&env);
    s_test_forged(&env);
    s_test_canary(&env);

    /* Nothing half-written left behind by the atomic writes. */
    zdir_t *dir = zdir_new(env.state, NULL);
    zfile_t **files = dir ? zdir_flatten(dir) : NULL;
    for (size_t i = 0; files && files[i]; i++) {
        const char *name = zfile_filename(files[i], env.state);
        assert(!strstr(name, ".tmp"));
    }
    zdir_flatten_free(&files);
    zdir_destroy(&dir);

    zactor_destroy(&env.broker);
    fc_trust_destroy(&env.trust);
    fc_signkey_wipe(&env.key);
    fc_remove_tree(env.dir);
    printf("OK\n");
}
