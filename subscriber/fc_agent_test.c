/* fc_agent_test.c: the agent engine's self-test: configuration, result JSON, and whole runs
   against a small in-process fake broker (install, reuse, bad chunk, rejection, hooks). */
#include "fc_agent.h"
#include "fc_dead_port.h"
#include "fc_error.h"
#include "fc_fake_broker.h"
#include "fc_file.h"
#include "fc_hash.h"
#include "fc_install.h"
#include "fc_manifest.h"
#include "fc_msg.h"
#include "fc_test_check.h"

#include <czmq.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------------- fake broker */

/* Serves one channel from a manifest and a source dir, as the real broker would: HELLO,
   SYNC, GET_CHUNK (by positioned reads), REPORT. Pipe commands: "MANIFEST" bytes srcdir,
   "CORRUPT" n (damage the next n chunk replies), "DROP" n (ignore the next n chunk
   requests), "NOTFOUND" n (answer the next n with ERROR), "BEAT" (publish a heartbeat),
   "$TERM". Replies to the pipe with the service port, then the announce port, at start. */
typedef struct {
    uint8_t *bytes;
    size_t len;
    fc_manifest_t *m; /* parsed without trust: the fake broker serves whatever it is given */
    char src[256];
    int corrupt;
    int drop;
    int notfound;
} s_fake_t;

/* fc_fake_serve_fn: SYNC with the release, GET_CHUNK by positioned reads from src. */
static fc_msg_t *s_fake_serve(fc_fake_broker_t *broker, const fc_msg_t *req, bool *drop)
{
    s_fake_t *fake = broker->state;
    fc_msg_t *rep = NULL;
    if (req->type == FC_MSG_SYNC) {
        rep = fc_msg_new(FC_MSG_SNAPSHOT);
        rep->epoch = broker->epoch;
        rep->seq = broker->seq;
        if (fake->bytes)
            fc_msg_set_bytes(rep, fake->bytes, fake->len);
    } else if (req->type == FC_MSG_GET_CHUNK && fake->drop > 0) {
        fake->drop--; /* lost on the way: the agent must ask again */
        *drop = true;
    } else if (req->type == FC_MSG_GET_CHUNK && fake->notfound > 0) {
        fake->notfound--; /* a broker still restoring its store */
        rep = fc_msg_new(FC_MSG_ERROR);
        rep->code = FC_ENOTFOUND;
        fc_msg_set_str(rep->text, sizeof rep->text, "blob not found (yet)");
    } else if (req->type == FC_MSG_GET_CHUNK) {
        bool corrupt = fake->corrupt > 0 && req->length > 0;
        rep = fc_fake_chunk_reply(fake->m, fake->src, req, corrupt);
        if (corrupt && rep->type == FC_MSG_CHUNK)
            fake->corrupt--;
    }
    return rep;
}

/* fc_fake_command_fn: MANIFEST, CORRUPT, DROP, NOTFOUND. */
static bool s_fake_command(fc_fake_broker_t *broker, const char *name, zmsg_t *cmd, zsock_t *pipe)
{
    s_fake_t *fake = broker->state;
    if (streq(name, "MANIFEST")) {
        zframe_t *bytes = zmsg_pop(cmd);
        char *src = zmsg_popstr(cmd);
        free(fake->bytes);
        fc_manifest_destroy(&fake->m);
        fake->len = zframe_size(bytes);
        fake->bytes = (uint8_t *)malloc(fake->len);
        memcpy(fake->bytes, zframe_data(bytes), fake->len);
        int err = 0;
        fake->m = fc_manifest_parse(fake->bytes, fake->len, NULL, &err);
        snprintf(fake->src, sizeof fake->src, "%s", src);
        broker->seq++;
        zframe_destroy(&bytes);
        free(src);
    } else if (streq(name, "CORRUPT") || streq(name, "DROP") || streq(name, "NOTFOUND")) {
        char *n = zmsg_popstr(cmd);
        int *counter = streq(name, "CORRUPT") ? &fake->corrupt
                       : streq(name, "DROP")  ? &fake->drop
                                              : &fake->notfound;
        *counter = atoi(n);
        free(n);
    } else
        return false;
    zsock_signal(pipe, 0);
    return true;
}

static void s_fake_broker(zsock_t *pipe, void *args)
{
    s_fake_t fake = {0};
    fc_fake_broker_run(pipe, 42, s_fake_serve, s_fake_command, &fake);
    free(fake.bytes);
    fc_manifest_destroy(&fake.m);
}

/* Publishes dir as channel "stable" at version/serial, signed by key; tamper flips a bit of
   the signature, as a hostile broker or a bad disk might. */
static void s_publish_ex(zactor_t *broker, const char *dir, const char *version, uint64_t serial,
                         const fc_signkey_t *key, bool tamper)
{
    fc_manifest_t *m = fc_manifest_new();
    /* Cut in FC_CHUNK_SIZE chunks (as publishers did before issue 13, and agents still take):
       the chunk arithmetic of this test relies on it. */
    const fc_scan_opts_t fixed = {.fixed_chunks = true};
    FC_CHECK(fc_manifest_scan_tree(m, dir, &fixed, NULL, NULL, NULL, 0) == 0);
    strcpy(m->product, "app");
    strcpy(m->channel, "stable");
    snprintf(m->version, sizeof m->version, "%s", version);
    m->serial = serial;
    m->created = 1700000000;
    size_t len = 0;
    uint8_t *bytes = fc_manifest_sign(m, key, &len);
    FC_CHECK(bytes);
    if (tamper)
        bytes[len - 1] ^= 0x01;
    zmsg_t *cmd = zmsg_new();
    zmsg_addstr(cmd, "MANIFEST");
    zmsg_addmem(cmd, bytes, len);
    zmsg_addstr(cmd, dir);
    zmsg_send(&cmd, broker);
    zsock_wait(broker);
    free(bytes);
    fc_manifest_destroy(&m);
}

static void s_publish(zactor_t *broker, const char *dir, const char *version, uint64_t serial,
                      const fc_signkey_t *key)
{
    s_publish_ex(broker, dir, version, serial, key, false);
}

/* ---------------------------------------------------------------- helpers */

static void s_write(const char *dir, const char *name, const void *buf, size_t len)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *slash = strrchr(path, '/');
    *slash = '\0';
    FC_CHECK(fc_mkdirs(path, 0755) == 0);
    *slash = '/';
    FC_CHECK(fc_write_file_atomic(path, buf, len, 0644) == 0);
}

static bool s_same(const char *path, const void *buf, size_t len)
{
    size_t got = 0;
    uint8_t *data = fc_read_file(path, len + 1, &got);
    bool same = data && got == len && memcmp(data, buf, len) == 0;
    free(data);
    return same;
}

static void s_quiet_log(const char *line, void *arg)
{
    if (*(bool *)arg)
        fprintf(stderr, "\n    %s", line);
}

static void s_test_config(void)
{
    fc_agent_config_t cfg;
    char msg[256];
    fc_agent_config_defaults(&cfg);
    FC_CHECK(cfg.policy == FC_AGENT_UPDATE_ALL && cfg.window == 4u * 1024 * 1024);
    FC_CHECK(cfg.hook_timeout == 600 && FC_AGENT_HOOK_TIMEOUT == 600);
    FC_CHECK(fc_agent_config_check(&cfg, msg, sizeof msg) == FC_EINVAL);
    FC_CHECK(strstr(msg, "--broker"));
    cfg.broker = "http://x:1";
    FC_CHECK(fc_agent_config_check(&cfg, msg, sizeof msg) == FC_EINVAL && strstr(msg, "tcp://"));
    cfg.broker = "tcp://127.0.0.1:7400";
    cfg.channel = "bad/channel";
    FC_CHECK(fc_agent_config_check(&cfg, msg, sizeof msg) == FC_EINVAL && strstr(msg, "channel"));
    cfg.channel = "stable";
    cfg.install_dir = "/tmp/x";
    cfg.state_dir = "/tmp/y";
    cfg.hook_timeout = -1; /* 0 is "no limit"; below that means nothing */
    FC_CHECK(fc_agent_config_check(&cfg, msg, sizeof msg) == FC_EINVAL && strstr(msg, "negative"));
    cfg.hook_timeout = 0;
    /* Secure by default: no broker key, no start. */
    FC_CHECK(fc_agent_config_check(&cfg, msg, sizeof msg) == FC_EINVAL &&
             strstr(msg, "--broker-key") && strstr(msg, "--insecure"));
    cfg.broker_key = "/nonexistent/broker.cert";
    FC_CHECK(fc_agent_config_check(&cfg, msg, sizeof msg) == FC_EINVAL &&
             strstr(msg, "broker.cert"));
    cfg.broker_key = NULL;
    cfg.insecure = true;
    FC_CHECK(fc_agent_config_check(&cfg, msg, sizeof msg) == FC_EINVAL && strstr(msg, "--trust"));
    cfg.trust_file = "/nonexistent/fleetcast/trust.pub";
    FC_CHECK(fc_agent_config_check(&cfg, msg, sizeof msg) != 0 && strstr(msg, "trust file"));
    cfg.id = "no spaces";
    FC_CHECK(fc_agent_config_check(&cfg, msg, sizeof msg) == FC_EINVAL && strstr(msg, "--id"));
    int err = 0;
    FC_CHECK(fc_agent_new(&cfg, &err) == NULL && err == FC_EINVAL);
    FC_CHECK(fc_agent_policy_parse("all") == FC_AGENT_UPDATE_ALL);
    FC_CHECK(fc_agent_policy_parse("mandatory") == FC_AGENT_UPDATE_MANDATORY);
    FC_CHECK(fc_agent_policy_parse("none") == FC_AGENT_UPDATE_NONE);
    FC_CHECK(fc_agent_policy_parse("some") == -1);

    fc_agent_result_t r = {0};
    strcpy(r.version, "1.2");
    strcpy(r.state, "installed");
    strcpy(r.message, "said \"hi\"");
    r.bytes_fetched = 12345;
    r.error = FC_EBADSIG;
    r.exit_code = 1;
    char *json = fc_agent_result_json(&r);
    FC_CHECK(json[0] == '{' && json[strlen(json) - 1] == '}');
    FC_CHECK(strstr(json, "\"version\":\"1.2\""));
    FC_CHECK(strstr(json, "\"state\":\"installed\""));
    FC_CHECK(strstr(json, "\"message\":\"said \\\"hi\\\"\""));
    FC_CHECK(strstr(json, "\"bytes_fetched\":12345"));
    FC_CHECK(strstr(json, "\"error\":\"FC_EBADSIG\""));
    FC_CHECK(strstr(json, "\"previous_version\":\"\""));
    FC_CHECK(strstr(json, "\"requests_retried\":0"));
    free(json);
}

/* Runs once and checks the exit code, saying what happened when it is not the expected one. */
static void s_expect(fc_agent_t *agent, bool check, int want, fc_agent_result_t *r)
{
    int rc = fc_agent_run_once(agent, check, r);
    if (rc != want)
        fprintf(stderr, "\n    expected exit %d, got %d: %s: %s\n", want, rc, r->state, r->message);
    FC_CHECK(rc == want);
}

/* Starts a fake broker (its endpoint into ep) and fills cfg for an agent of it: without
   CURVE (the in-process broker has none), channel "stable", these dirs, trust and id, its
   log quiet unless *verbose. */
static zactor_t *s_fake_setup(char *ep, size_t epsize, fc_agent_config_t *cfg, const char *inst,
                              const char *state, fc_trust_t *trust, const char *id, bool *verbose)
{
    zactor_t *broker = zactor_new(s_fake_broker, NULL);
    int port = 0, pub_port = 0;
    zsock_recv(broker, "ii", &port, &pub_port);
    snprintf(ep, epsize, "tcp://127.0.0.1:%d", port);
    fc_agent_config_defaults(cfg);
    cfg->insecure = true;
    cfg->broker = ep;
    cfg->channel = "stable";
    cfg->install_dir = inst;
    cfg->state_dir = state;
    cfg->trust = trust;
    cfg->id = id;
    cfg->log = s_quiet_log;
    cfg->log_arg = verbose;
    cfg->verbose = *verbose;
    return broker;
}

/* ---------------------------------------------------------------- whole runs */

static void s_test_runs(bool verbose)
{
    char root[] = "/tmp/fc_agent_test.XXXXXX";
    FC_CHECK(mkdtemp(root));
    char src1[300], src2[300], inst[300], state[300], path[400];
    snprintf(src1, sizeof src1, "%s/src1", root);
    snprintf(src2, sizeof src2, "%s/src2", root);
    snprintf(inst, sizeof inst, "%s/install", root);
    snprintf(state, sizeof state, "%s/state", root);

    /* Release 1.0: a 5-chunk binary and a small config file. */
    size_t size = 4 * FC_CHUNK_SIZE + 1000;
    uint8_t *app = (uint8_t *)malloc(size);
    for (size_t i = 0; i < size; i++)
        app[i] = (uint8_t)(i * 2654435761u >> 13);
    s_write(src1, "bin/app", app, size);
    s_write(src1, "etc/app.conf", "port=80\n", 8);

    fc_signkey_t key, stranger;
    fc_signkey_generate(&key);
    fc_signkey_generate(&stranger);
    fc_trust_t *trust = fc_trust_new();
    fc_trust_add(trust, key.pk);

    char ep[64];
    fc_agent_config_t cfg;
    zactor_t *broker =
        s_fake_setup(ep, sizeof ep, &cfg, inst, state, trust, "test-agent", &verbose);
    s_publish(broker, src1, "1.0", 1, &key);
    cfg.timeout = 10;
    int err = 0;
    fc_agent_t *agent = fc_agent_new(&cfg, &err);
    FC_CHECK(agent);
    fc_agent_result_t r;

    /* Nothing installed: --check says 100, --once installs. */
    s_expect(agent, true, FC_AGENT_EXIT_AVAILABLE, &r);
    FC_CHECK(r.update_available && streq(r.available_version, "1.0") && r.bytes_fetched == 0);
    s_expect(agent, false, FC_AGENT_EXIT_OK, &r);
    FC_CHECK(streq(r.state, "installed") && streq(r.version, "1.0"));
    FC_CHECK(streq(r.previous_version, ""));
    FC_CHECK(r.bytes_fetched == size + 8 && r.bytes_reused == 0 && r.bytes_total == size + 8);
    snprintf(path, sizeof path, "%s/current/bin/app", inst);
    FC_CHECK(s_same(path, app, size));

    /* Again: up to date, nothing fetched. */
    s_expect(agent, false, FC_AGENT_EXIT_OK, &r);
    FC_CHECK(streq(r.state, "up-to-date") && r.bytes_fetched == 0 && !r.update_available);
    s_expect(agent, true, FC_AGENT_EXIT_OK, &r);

    /* 2.0 changes one chunk of the binary: only that chunk travels (and once more, since the
       first copy arrives damaged); the rest is copied from 1.0. */
    app[2 * FC_CHUNK_SIZE + 7] ^= 0xff;
    s_write(src2, "bin/app", app, size);
    s_write(src2, "etc/app.conf", "port=80\n", 8);
    s_publish(broker, src2, "2.0", 2, &key);
    zstr_sendx(broker, "CORRUPT", "1", NULL);
    zsock_wait(broker);
    s_expect(agent, false, FC_AGENT_EXIT_OK, &r);
    FC_CHECK(streq(r.version, "2.0") && streq(r.previous_version, "1.0"));
    FC_CHECK(r.bytes_fetched == 2 * FC_CHUNK_SIZE);
    FC_CHECK(r.bytes_reused == size + 8 - FC_CHUNK_SIZE);
    FC_CHECK(r.hash_errors == 1 && r.requests_retried >= 1);
    FC_CHECK(s_same(path, app, size));

    /* 2.5 changes two chunks; the broker loses the first request and cannot serve the
       second at first: one is re-sent once the link stays quiet, the other after a pause. */
    char src3[300];
    snprintf(src3, sizeof src3, "%s/src3", root);
    app[7] ^= 0xff;
    app[3 * FC_CHUNK_SIZE] ^= 0xff;
    s_write(src3, "bin/app", app, size);
    s_write(src3, "etc/app.conf", "port=80\n", 8);
    s_publish(broker, src3, "2.5", 3, &key);
    zstr_sendx(broker, "DROP", "1", NULL);
    zsock_wait(broker);
    zstr_sendx(broker, "NOTFOUND", "1", NULL);
    zsock_wait(broker);
    s_expect(agent, false, FC_AGENT_EXIT_OK, &r);
    FC_CHECK(streq(r.version, "2.5") && r.bytes_fetched == 2 * FC_CHUNK_SIZE);
    FC_CHECK(r.requests_retried >= 2 && r.seconds >= 4.5);
    FC_CHECK(s_same(path, app, size));

    /* Signed by a key nobody trusts: rejected, nothing changes. */
    s_publish(broker, src1, "3.0", 4, &stranger);
    s_expect(agent, false, FC_AGENT_EXIT_ERROR, &r);
    FC_CHECK(streq(r.state, "rejected") && strstr(r.message, "FC_EUNTRUSTED"));
    FC_CHECK(streq(r.version, "2.5") && s_same(path, app, size));

    /* A signature that does not verify: rejected, nothing written, nothing changes. */
    s_publish_ex(broker, src1, "3.1", 4, &key, true);
    s_expect(agent, false, FC_AGENT_EXIT_ERROR, &r);
    FC_CHECK(streq(r.state, "rejected") && strstr(r.message, "FC_EBADSIG"));
    FC_CHECK(strstr(r.message, "signature does not verify"));
    FC_CHECK(streq(r.version, "2.5") && r.bytes_fetched == 0 && s_same(path, app, size));
    snprintf(path, sizeof path, "%s/releases/3.1", inst);
    FC_CHECK(access(path, F_OK) != 0);
    snprintf(path, sizeof path, "%s/current/bin/app", inst);

    /* An older serial than the installed one: rejected too. */
    s_publish(broker, src1, "1.0", 1, &key);
    s_expect(agent, false, FC_AGENT_EXIT_ERROR, &r);
    FC_CHECK(streq(r.state, "rejected") && strstr(r.message, "FC_ESERIAL"));
    fc_agent_destroy(&agent);

    /* Hooks: a refusing changing hook postpones; a failing health check rolls back, and the
       same serial is not tried again. */
    s_publish(broker, src1, "4.0", 4, &key);
    cfg.exec_changing = "exit 1";
    agent = fc_agent_new(&cfg, &err);
    FC_CHECK(agent);
    s_expect(agent, false, FC_AGENT_EXIT_POSTPONED, &r);
    FC_CHECK(streq(r.state, "postponed") && streq(r.version, "2.5"));
    fc_agent_destroy(&agent);
    cfg.exec_changing = NULL;
    cfg.exec_health = "exit 1";
    agent = fc_agent_new(&cfg, &err);
    FC_CHECK(agent);
    s_expect(agent, false, FC_AGENT_EXIT_UNHEALTHY, &r);
    FC_CHECK(streq(r.version, "2.5") && s_same(path, app, size));
    s_expect(agent, false, FC_AGENT_EXIT_UNHEALTHY, &r);
    FC_CHECK(strstr(r.message, "before") && r.bytes_fetched == 0);
    fc_agent_destroy(&agent);

    /* Policy none: reports the release, installs nothing. */
    s_publish(broker, src1, "5.0", 5, &key);
    cfg.exec_health = NULL;
    cfg.policy = FC_AGENT_UPDATE_NONE;
    agent = fc_agent_new(&cfg, &err);
    s_expect(agent, false, FC_AGENT_EXIT_OK, &r);
    FC_CHECK(r.update_available && streq(r.version, "2.5") && strstr(r.message, "5.0"));
    fc_agent_destroy(&agent);

    /* No broker: a clear error after the timeout. */
    zactor_destroy(&broker);
    char dead[64];
    int dead_fd = fc_dead_endpoint(dead, sizeof dead);
    FC_CHECK(dead_fd >= 0);
    cfg.broker = dead;
    cfg.policy = FC_AGENT_UPDATE_ALL;
    cfg.timeout = 0.5;
    agent = fc_agent_new(&cfg, &err);
    s_expect(agent, false, FC_AGENT_EXIT_ERROR, &r);
    FC_CHECK(strstr(r.message, "unreachable") && r.error == FC_ETIMEOUT && r.seconds < 5);
    fc_agent_destroy(&agent);
    close(dead_fd);

    fc_trust_destroy(&trust);
    free(app);
    fc_remove_tree(root);
}

/* fc_agent_heartbeats is read from another thread while the engine runs (fleetcast-fleetsim
   waits on it): 0 before the announce socket hears anything, then counting. */
static void s_test_heartbeats(bool verbose)
{
    char root[] = "/tmp/fc_agent_beat.XXXXXX";
    FC_CHECK(mkdtemp(root));
    char inst[300], state[300];
    snprintf(inst, sizeof inst, "%s/install", root);
    snprintf(state, sizeof state, "%s/state", root);
    fc_signkey_t key;
    fc_signkey_generate(&key);
    fc_trust_t *trust = fc_trust_new();
    fc_trust_add(trust, key.pk);
    char ep[64];
    fc_agent_config_t cfg;
    zactor_t *broker =
        s_fake_setup(ep, sizeof ep, &cfg, inst, state, trust, "beat-agent", &verbose);
    cfg.policy = FC_AGENT_UPDATE_NONE;
    int err = 0;
    fc_agent_t *agent = fc_agent_new(&cfg, &err);
    FC_CHECK(agent && fc_agent_heartbeats(agent) == 0);
    FC_CHECK(fc_agent_start(agent) == 0);
    /* The SUB socket connects after the WELCOME and misses what was published before it
       subscribed: beat until one is heard. */
    int64_t deadline = zclock_mono() + 10000;
    while (fc_agent_heartbeats(agent) == 0 && zclock_mono() < deadline) {
        zstr_send(broker, "BEAT");
        zsock_wait(broker);
        zclock_sleep(50);
    }
    uint64_t heard = fc_agent_heartbeats(agent);
    FC_CHECK(heard > 0);
    fc_agent_join(agent);
    fc_agent_result_t r;
    fc_agent_status(agent, &r);
    FC_CHECK(r.heartbeats >= heard);
    char *json = fc_agent_result_json(&r);
    char want[64];
    snprintf(want, sizeof want, "\"heartbeats\":%llu", (unsigned long long)r.heartbeats);
    FC_CHECK(strstr(json, want));
    free(json);
    fc_agent_destroy(&agent);
    zactor_destroy(&broker);
    fc_trust_destroy(&trust);
    fc_remove_tree(root);
}

/* A log that notes the engine's last line ("stopping (...)"), for s_test_actor. */
static void s_stopping_log(const char *line, void *arg)
{
    if (strstr(line, ": stopping ("))
        __atomic_store_n((int *)arg, 1, __ATOMIC_RELEASE);
}

static void s_on_usr1(int sig)
{
    (void)sig;
}

typedef struct {
    pthread_t target;
    int done;
} s_pester_t;

/* Interrupts the target thread's blocking calls with SIGUSR1 every millisecond. */
static void *s_pester(void *arg)
{
    s_pester_t *p = (s_pester_t *)arg;
    while (!__atomic_load_n(&p->done, __ATOMIC_ACQUIRE)) {
        pthread_kill(p->target, SIGUSR1);
        usleep(1000);
    }
    return NULL;
}

/* The engine actor (fc_agent_start): a join right after the start ends it (the stop is not
   lost to the start-up), it starts again after a join, a second start while it runs is
   refused, and an engine stopped by fc_agent_stop alone ends by itself and is joined. */
static void s_test_actor(bool verbose)
{
    char root[] = "/tmp/fc_agent_actor.XXXXXX";
    FC_CHECK(mkdtemp(root));
    char inst[300], state[300];
    snprintf(inst, sizeof inst, "%s/install", root);
    snprintf(state, sizeof state, "%s/state", root);
    fc_signkey_t key;
    fc_signkey_generate(&key);
    fc_trust_t *trust = fc_trust_new();
    fc_trust_add(trust, key.pk);
    char ep[64];
    fc_agent_config_t cfg;
    zactor_t *broker =
        s_fake_setup(ep, sizeof ep, &cfg, inst, state, trust, "actor-agent", &verbose);
    cfg.policy = FC_AGENT_UPDATE_NONE;
    int err = 0;
    fc_agent_t *agent = fc_agent_new(&cfg, &err);
    FC_CHECK(agent);
    fc_agent_join(agent); /* never started: nothing to wait for */
    for (int round = 0; round < 3; round++) {
        int64_t t0 = zclock_mono();
        FC_CHECK(fc_agent_start(agent) == 0);
        FC_CHECK(fc_agent_start(agent) == -1);
        fc_agent_join(agent);
        FC_CHECK(zclock_mono() - t0 < 5000);
    }
    /* Stopped by the flag alone: the loop ends within a tick, and the join collects it. */
    FC_CHECK(fc_agent_start(agent) == 0);
    fc_agent_stop(agent);
    int64_t t0 = zclock_mono();
    fc_agent_join(agent);
    FC_CHECK(zclock_mono() - t0 < 5000);
    fc_agent_result_t r;
    fc_agent_status(agent, &r);
    FC_CHECK(streq(r.id, "actor-agent"));
    /* A join cut short by signals (a second Ctrl-C while a program stops) still waits for
       the engine's end: the engine must not be freed under its own thread. */
    int stopped = 0;
    fc_agent_destroy(&agent);
    cfg.log = s_stopping_log;
    cfg.log_arg = &stopped;
    agent = fc_agent_new(&cfg, &err);
    FC_CHECK(agent);
    struct sigaction sa, old_sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_usr1; /* no SA_RESTART: blocking calls return EINTR */
    sigemptyset(&sa.sa_mask);
    FC_CHECK(sigaction(SIGUSR1, &sa, &old_sa) == 0);
    for (int round = 0; round < 10; round++) {
        __atomic_store_n(&stopped, 0, __ATOMIC_RELEASE);
        FC_CHECK(fc_agent_start(agent) == 0);
        s_pester_t pester = {pthread_self(), 0};
        pthread_t thread;
        FC_CHECK(pthread_create(&thread, NULL, s_pester, &pester) == 0);
        fc_agent_join(agent);
        FC_CHECK(__atomic_load_n(&stopped, __ATOMIC_ACQUIRE) == 1);
        __atomic_store_n(&pester.done, 1, __ATOMIC_RELEASE);
        pthread_join(thread, NULL);
    }
    FC_CHECK(sigaction(SIGUSR1, &old_sa, NULL) == 0);
    cfg.log = s_quiet_log;
    cfg.log_arg = &verbose;

    /* Started and left running: fc_agent_destroy joins it. */
    FC_CHECK(fc_agent_start(agent) == 0);
    fc_agent_destroy(&agent);
    FC_CHECK(agent == NULL);
    zactor_destroy(&broker);
    fc_trust_destroy(&trust);
    fc_remove_tree(root);
}

void fc_agent_test(bool verbose)
{
    printf(" * fc_agent: ");
    s_test_config();
    s_test_runs(verbose);
    s_test_heartbeats(verbose);
    s_test_actor(verbose);
    printf("OK\n");
}
