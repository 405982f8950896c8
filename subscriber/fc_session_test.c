/* fc_session_test.c: the session's self-test, without the engine: a stub host, the engine's
   kind of requester and the one fake broker. HELLO/WELCOME and the SUB, SYNC/SNAPSHOT, a
   heartbeat telling of a lost announcement (SYNC again), a new epoch (HELLO again), REPORT,
   a refused HELLO and a broker that never answers ending a one-shot run. */
#include "fc_clock.h"
#include "fc_dead_port.h"
#include "fc_error.h"
#include "fc_fake_broker.h"
#include "fc_fetch.h"
#include "fc_file.h"
#include "fc_session.h"
#include "fc_test_check.h"

#include <czmq.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------------- fake broker */

/* The fake's own state (its thread only): HELLO refused while refuse_hello. */
typedef struct {
    bool refuse_hello;
} s_fake_t;

static fc_msg_t *s_serve(fc_fake_broker_t *broker, const fc_msg_t *req, bool *drop)
{
    (void)drop;
    s_fake_t *fake = (s_fake_t *)broker->state;
    if (req->type != FC_MSG_HELLO || !fake->refuse_hello)
        return NULL;
    fc_msg_t *rep = fc_msg_new(FC_MSG_ERROR);
    rep->code = FC_EDENIED;
    fc_msg_set_str(rep->text, sizeof rep->text, "not enrolled");
    return rep;
}

/* "SEQ" n, "EPOCH" n: the broker's announcement sequence or epoch moves on (then BEAT tells
   of it); "REFUSE" 0|1. */
static bool s_command(fc_fake_broker_t *broker, const char *name, zmsg_t *cmd, zsock_t *pipe)
{
    char *arg = zmsg_popstr(cmd);
    uint64_t n = arg ? strtoull(arg, NULL, 10) : 0;
    free(arg);
    if (streq(name, "SEQ"))
        broker->seq = n;
    else if (streq(name, "EPOCH"))
        broker->epoch = n;
    else if (streq(name, "REFUSE"))
        ((s_fake_t *)broker->state)->refuse_hello = n != 0;
    else
        return false;
    zsock_signal(pipe, 0);
    return true;
}

static void s_fake_actor(zsock_t *pipe, void *args)
{
    s_fake_t fake = {0};
    (void)args;
    fc_fake_broker_run(pipe, 5, s_serve, s_command, &fake);
}

static void s_cmd(zactor_t *broker, const char *name, const char *arg)
{
    zstr_sendx(broker, name, arg, NULL);
    zsock_wait(broker);
}

/* ---------------------------------------------------------------- stub host */

typedef struct {
    fc_agent_mode_t mode;
    char state[32];
    char message[FC_MAX_TEXT + 1];
    int exit_code, error;
    bool finished;
    int considered, config_syncs, reports_filled;
    bool verbose;
    bool restarted; /* "new epoch" was logged */
} s_host_t;

static void s_set_state(void *ctx, const char *state, const char *message)
{
    s_host_t *h = (s_host_t *)ctx;
    snprintf(h->state, sizeof h->state, "%s", state);
    snprintf(h->message, sizeof h->message, "%s", message);
}

static void s_finish(void *ctx, int exit_code, int error)
{
    s_host_t *h = (s_host_t *)ctx;
    h->error = error;
    if (h->mode == FC_AGENT_DAEMON)
        return;
    h->exit_code = exit_code;
    h->finished = true;
}

static bool s_finished(void *ctx)
{
    return ((s_host_t *)ctx)->finished;
}

static bool s_stopping(void *ctx)
{
    (void)ctx;
    return false;
}

static void s_consider(void *ctx, const uint8_t *bytes, size_t len, double now)
{
    (void)bytes, (void)len, (void)now;
    ((s_host_t *)ctx)->considered++;
}

static uint64_t s_newest(void *ctx)
{
    (void)ctx;
    return 0;
}

static bool s_staged(void *ctx, char *have, char *total, size_t size, size_t *inflight)
{
    (void)ctx;
    snprintf(have, size, "0 B");
    snprintf(total, size, "0 B");
    *inflight = 0;
    return false;
}

static size_t s_resend_before(void *ctx, double before, double now)
{
    (void)ctx, (void)before, (void)now;
    return 0;
}

static void s_config_sync(void *ctx, double now)
{
    (void)now;
    ((s_host_t *)ctx)->config_syncs++;
}

static void s_config_announce(void *ctx, const fc_msg_t *msg, bool in_order, double now)
{
    (void)ctx, (void)msg, (void)in_order, (void)now;
}

static void s_trust_rotated(void *ctx)
{
    (void)ctx;
}

static void s_fill_report(void *ctx, fc_agent_status_t *st, uint8_t blob[FC_HASH_LEN])
{
    s_host_t *h = (s_host_t *)ctx;
    h->reports_filled++;
    fc_msg_set_str(st->state, sizeof st->state, "idle");
    memset(blob, 0, FC_HASH_LEN);
}

static void s_log(const char *line, void *arg)
{
    s_host_t *h = (s_host_t *)arg;
    if (strstr(line, "new epoch"))
        h->restarted = true;
    if (h->verbose)
        fprintf(stderr, "\n    log: %s", line);
}

/* ---------------------------------------------------------------- driving */

typedef struct {
    s_host_t h;
    fc_requester_t *req;
    fc_agent_trust_t *trusted;
    fc_agent_result_t res;
    fc_session_t *session;
} s_env_t;

/* A session (in env) of the broker at ep, as the engine makes one. */
static void s_env_open(s_env_t *env, const char *ep, const char *dir, double timeout, bool verbose)
{
    memset(env, 0, sizeof *env);
    env->h.verbose = verbose;
    fc_requester_opts_t ropts = {.resend_ms = 5000, .immediate = true, .tag = FC_FETCH_CTL_BIT};
    int err = 0;
    env->req = fc_requester_new(ep, &ropts, &err);
    FC_CHECK(env->req);
    fc_trust_t *keys = fc_trust_new();
    uint8_t pk[FC_PUBKEY_LEN] = {1};
    fc_trust_add(keys, pk);
    env->trusted = fc_agent_trust_new(keys, NULL, dir, verbose, NULL, NULL, &err);
    fc_trust_destroy(&keys);
    FC_CHECK(env->trusted);
    fc_session_config_t cfg = {.broker = ep,
                               .channel = "stable",
                               .id = "s1",
                               .req = env->req,
                               .trusted = env->trusted,
                               .res = &env->res,
                               .verbose = verbose,
                               .timeout = timeout,
                               .freeze_after = 60};
    fc_session_host_t host = {.ctx = &env->h,
                              .log = s_log,
                              .set_state = s_set_state,
                              .finish = s_finish,
                              .finished = s_finished,
                              .stopping = s_stopping,
                              .consider = s_consider,
                              .newest_serial = s_newest,
                              .staged = s_staged,
                              .resend_before = s_resend_before,
                              .config_sync = s_config_sync,
                              .config_announce = s_config_announce,
                              .trust_rotated = s_trust_rotated,
                              .fill_report = s_fill_report};
    env->session = fc_session_new(&cfg, &host);
    FC_CHECK(env->session);
}

static void s_env_close(s_env_t *env)
{
    fc_session_destroy(&env->session);
    fc_session_destroy(&env->session); /* safe on NULL */
    fc_requester_destroy(&env->req);
    fc_agent_trust_destroy(&env->trusted);
}

static void s_begin(s_env_t *env, fc_agent_mode_t mode)
{
    env->h.mode = mode;
    env->h.finished = false;
    env->h.state[0] = '\0';
    fc_session_begin(env->session, mode, fc_now());
}

/* Runs the engine's loop for the session until done(env) or secs pass; returns done(env). */
static bool s_run(s_env_t *env, bool (*done)(s_env_t *env), double secs)
{
    double deadline = fc_now() + secs;
    while (!done(env) && !env->h.finished && fc_now() < deadline) {
        double now = fc_now();
        if (fc_requester_tick(env->req))
            fc_session_on_flushed(env->session, 0, now);
        while (fc_requester_expired(env->req, NULL, NULL))
            ;
        fc_session_fresh_timers(env->session, now);
        if (!fc_session_timers(env->session, now))
            break;
        fc_session_report_timers(env->session, now);
        zmq_pollitem_t items[3] = {
            {zsock_resolve(fc_requester_sock(env->req)), 0, ZMQ_POLLIN, 0},
            {zsock_resolve(fc_requester_monitor(env->req)), 0, ZMQ_POLLIN, 0}};
        int n = 2;
        void *sub = fc_session_sub(env->session);
        if (sub)
            items[n++] = (zmq_pollitem_t){sub, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(items, n, 20) < 0)
            continue;
        fc_msg_t *msg = NULL;
        void *user = NULL;
        fc_requester_got_t got;
        while ((got = fc_requester_recv(env->req, &msg, &user)) != FC_REQUESTER_NONE) {
            fc_session_set_live(env->session);
            if (got == FC_REQUESTER_REPLY)
                FC_CHECK(fc_session_on_reply(env->session, user, msg, fc_now()));
            fc_msg_destroy(&msg);
        }
        if (items[1].revents & ZMQ_POLLIN)
            fc_session_on_monitor(env->session, fc_now());
        if (sub)
            fc_session_drain_sub(env->session);
    }
    return done(env);
}

static int s_want_considered, s_want_syncs;

static bool s_synced(s_env_t *env)
{
    return env->h.considered >= s_want_considered && env->h.config_syncs >= s_want_syncs;
}

static bool s_heard_beat(s_env_t *env)
{
    return fc_session_heartbeats(env->session) > 0;
}

static bool s_never(s_env_t *env)
{
    (void)env;
    return false;
}

/* ---------------------------------------------------------------- test */

void fc_session_test(bool verbose)
{
    printf(" * fc_session: ");
    char root[] = "/tmp/fc_session_test.XXXXXX";
    FC_CHECK(mkdtemp(root));
    zactor_t *broker = zactor_new(s_fake_actor, NULL);
    int port = 0, pub_port = 0;
    zsock_recv(broker, "ii", &port, &pub_port);
    FC_CHECK(port > 0 && pub_port > 0);
    char ep[64];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", port);

    /* A daemon: HELLO, WELCOME (the SUB connected, the config asked for), SYNC, SNAPSHOT
       (its manifest handed to the follower). */
    s_env_t env;
    s_env_open(&env, ep, root, 10, verbose);
    FC_CHECK(!fc_session_welcomed(env.session) && fc_session_report(env.session, fc_now()) != 0);
    FC_CHECK(env.h.reports_filled == 0); /* nothing reported before a WELCOME */
    s_begin(&env, FC_AGENT_DAEMON);
    s_want_considered = 1, s_want_syncs = 1;
    FC_CHECK(s_run(&env, s_synced, 10));
    FC_CHECK(fc_session_welcomed(env.session) && fc_session_sub(env.session));
    FC_CHECK(env.h.considered == 1 && env.h.config_syncs == 1);

    /* Heartbeats are heard on the SUB (the subscription takes a moment to be in place). */
    double until = fc_now() + 10;
    while (!s_heard_beat(&env) && fc_now() < until) {
        s_cmd(broker, "BEAT", NULL);
        s_run(&env, s_heard_beat, 0.2);
    }
    FC_CHECK(s_heard_beat(&env));

    /* A heartbeat whose sequence is ahead: an announcement was lost, SYNC again (the config
       too). */
    s_cmd(broker, "SEQ", "9");
    s_cmd(broker, "BEAT", NULL);
    s_want_considered = 2, s_want_syncs = 2;
    FC_CHECK(s_run(&env, s_synced, 10));

    /* A new epoch (the broker restarted): HELLO again, then SYNC and the config. */
    s_cmd(broker, "EPOCH", "6");
    s_cmd(broker, "BEAT", NULL);
    s_want_considered = 3, s_want_syncs = 3;
    FC_CHECK(s_run(&env, s_synced, 10));
    FC_CHECK(env.h.restarted);

    /* REPORT: sent with the host's status. */
    int filled = env.h.reports_filled;
    FC_CHECK(fc_session_report(env.session, fc_now()) == 0);
    FC_CHECK(env.h.reports_filled == filled + 1);
    s_env_close(&env);

    /* A one-shot run whose HELLO is refused: failed with the broker's reason. */
    s_cmd(broker, "REFUSE", "1");
    s_env_open(&env, ep, root, 10, verbose);
    s_begin(&env, FC_AGENT_ONCE);
    s_run(&env, s_never, 10);
    FC_CHECK(env.h.finished && env.h.error == FC_EDENIED);
    FC_CHECK(streq(env.h.state, "failed") && strstr(env.h.message, "broker refused HELLO"));
    FC_CHECK(!fc_session_welcomed(env.session));
    s_env_close(&env);
    s_cmd(broker, "REFUSE", "0");

    /* A one-shot run with no broker: failed once the timeout passes without progress, and
       says that nothing listens there. */
    char dead[64];
    int fd = fc_dead_endpoint(dead, sizeof dead);
    FC_CHECK(fd >= 0);
    s_env_open(&env, dead, root, 0.3, verbose);
    s_begin(&env, FC_AGENT_ONCE);
    s_run(&env, s_never, 10);
    FC_CHECK(env.h.finished && env.h.error == FC_ETIMEOUT);
    FC_CHECK(strstr(env.h.message, "broker unreachable for 0.3 s: nothing listens at tcp://"));
    s_env_close(&env);
    close(fd);

    zactor_destroy(&broker);
    fc_remove_tree(root);
    printf("OK\n");
}
