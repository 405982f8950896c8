/* fc_swarm.c: fleetcast-swarm, thousands of protocol-level agents in one thread: plain
   DEALER sockets speaking HELLO, SYNC, REPORT (and optionally CONFIG_ACK) through proto/,
   driven by one poller, for fleet-size tests and benchmarks. */
#include <czmq.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "fc_ack.h"
#include "fc_curve.h"
#include "fc_error.h"
#include "fc_msg.h"
#include "fc_optval.h"
#include "fc_state.h"

/* What each agent waits for: its steps run in this order, one request in flight. */
typedef enum { S_HELLO, S_SYNC, S_REPORT, S_ACK, S_DONE } s_step_t;

typedef struct {
    void *sock; /* libzmq DEALER handle, NULL until the agent starts */
    s_step_t step;
    uint64_t req;
} s_agent_t;

typedef struct {
    const char *endpoint;
    uint64_t count;
    uint64_t first;      /* number of the first agent: ids are PREFIX-%07u */
    const char *prefix;  /* agent id prefix */
    const char *channel; /* channel every agent reports on */
    const char *version; /* version every agent reports installed */
    uint64_t versions;   /* 0: that version; N: agent number k reports VERSION.(k % N) */
    const char *state;   /* state every agent reports (fc_state.h) */
    const char *message; /* and its message */
    uint64_t ack;        /* revision every agent acknowledges applied; 0 = none */
    uint64_t rate;       /* agents started per second; 0 = all at once */
    uint64_t timeout_s;
    uint64_t report_every_s;
    bool hold; /* stay connected after all are done, until SIGTERM */
    bool insecure;
    const char *broker_key; /* CURVE: the broker's public cert or key */
    const char *key;        /* CURVE: the agents' secret cert (one key for all of them) */
} s_opts_t;

static void s_usage(FILE *f)
{
    fprintf(f,
            "usage: fleetcast-swarm ENDPOINT COUNT [--first N] [--prefix P] [--channel C]\n"
            "         [--version V] [--versions N] [--state S] [--message TEXT] [--ack REV]\n"
            "         [--rate N] [--timeout S] [--hold] [--report-every S]\n"
            "         (--insecure | --broker-key CERT --key SECRET_CERT)\n"
            "COUNT protocol-level agents (ids P-0000000 on, from --first) connect to the\n"
            "broker's service ENDPOINT, each on its own DEALER socket, all in one thread:\n"
            "HELLO, SYNC, REPORT (--state, default up-to-date, --message, --version, default\n"
            "1.0; --versions N: agent number K reports V.(K mod N), N versions in all) and,\n"
            "with --ack, CONFIG_ACK applied of revision REV. --rate starts N agents a second "
            "(default all\n"
            "at once). Prints one line of timings; exit 0 when every agent got an answer\n"
            "to every step, 1 otherwise. --hold keeps them connected until SIGTERM, each\n"
            "reporting again every --report-every seconds (default 10; 0 never), as agents do.\n");
}

static int s_parse(int argc, char **argv, s_opts_t *o)
{
    *o = (s_opts_t){.prefix = "sim",
                    .channel = "stable",
                    .version = "1.0",
                    .state = "up-to-date",
                    .message = "",
                    .timeout_s = 120,
                    .report_every_s = 10};
    char msg[256];
    int pos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t *num = streq(a, "--first")          ? &o->first
                        : streq(a, "--ack")          ? &o->ack
                        : streq(a, "--rate")         ? &o->rate
                        : streq(a, "--timeout")      ? &o->timeout_s
                        : streq(a, "--report-every") ? &o->report_every_s
                        : streq(a, "--versions")     ? &o->versions
                                                     : NULL;
        const char **str = streq(a, "--prefix")       ? &o->prefix
                           : streq(a, "--channel")    ? &o->channel
                           : streq(a, "--version")    ? &o->version
                           : streq(a, "--state")      ? &o->state
                           : streq(a, "--message")    ? &o->message
                           : streq(a, "--broker-key") ? &o->broker_key
                           : streq(a, "--key")        ? &o->key
                                                      : NULL;
        if (streq(a, "--help") || streq(a, "-h")) {
            s_usage(stdout);
            exit(0);
        } else if (streq(a, "--hold"))
            o->hold = true;
        else if (streq(a, "--insecure"))
            o->insecure = true;
        else if (num || str) {
            if (!v) {
                fprintf(stderr, "fleetcast-swarm: %s needs a value\n", a);
                return 2;
            }
            if (str)
                *str = v;
            else if (fc_optval_uint(a, v, 0, UINT32_MAX, num, msg, sizeof msg)) {
                fprintf(stderr, "fleetcast-swarm: %s\n", msg);
                return 2;
            }
            i++;
        } else if (*a == '-') {
            fprintf(stderr, "fleetcast-swarm: unknown option %s\n", a);
            return 2;
        } else if (pos == 0) {
            o->endpoint = a;
            pos++;
        } else if (pos == 1) {
            if (fc_optval_uint("COUNT", a, 1, 1000000, &o->count, msg, sizeof msg)) {
                fprintf(stderr, "fleetcast-swarm: %s\n", msg);
                return 2;
            }
            pos++;
        } else {
            s_usage(stderr);
            return 2;
        }
    }
    if (pos != 2 || (!o->insecure && (!o->broker_key || !o->key))) {
        s_usage(stderr);
        return 2;
    }
    return 0;
}

/* File descriptors and ZeroMQ sockets for count agents, raised explicitly: each agent holds
   a socket (its mailbox is an eventfd) and a TCP connection. A clear error naming the limit
   instead of libzmq or CZMQ failing half way. */
static int s_limits(uint64_t count)
{
    uint64_t fds = 2 * count + 64;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return -1;
    if (rl.rlim_cur < fds) {
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > fds ? fds : rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur < fds) {
        fprintf(stderr,
                "fleetcast-swarm: %" PRIu64 " agents need %" PRIu64
                " file descriptors; RLIMIT_NOFILE allows %llu (hard limit %llu): run several "
                "processes with fewer agents each (--first), or raise ulimit -n\n",
                count, fds, (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max);
        return -1;
    }
    zsys_set_max_sockets((size_t)count + 64);
    zsys_init();
    if (zsys_socket_limit() < count + 64) {
        fprintf(stderr,
                "fleetcast-swarm: %" PRIu64 " agents need %" PRIu64
                " ZeroMQ sockets; this libzmq allows %zu (ZMQ_SOCKET_LIMIT): run several "
                "processes with fewer agents each (--first)\n",
                count, count + 64, zsys_socket_limit());
        return -1;
    }
    return 0;
}

/* The request for agent i's current step; NULL when it has none left. */
static fc_msg_t *s_request(const s_opts_t *o, uint64_t i, s_agent_t *a)
{
    char id[FC_MAX_NAME + 1];
    snprintf(id, sizeof id, "%s-%07" PRIu64, o->prefix, o->first + i);
    fc_msg_t *m = NULL;
    switch (a->step) {
    case S_HELLO:
        m = fc_msg_new(FC_MSG_HELLO);
        m->role = FC_ROLE_AGENT;
        fc_msg_set_str(m->id, sizeof m->id, id);
        fc_msg_set_str(m->channel, sizeof m->channel, o->channel);
        break;
    case S_SYNC:
        m = fc_msg_new(FC_MSG_SYNC);
        fc_msg_set_str(m->channel, sizeof m->channel, o->channel);
        fc_msg_set_str(m->id, sizeof m->id, id);
        break;
    case S_REPORT:
        m = fc_msg_new(FC_MSG_REPORT);
        m->agents = calloc(1, sizeof *m->agents);
        if (!m->agents) {
            fc_msg_destroy(&m);
            return NULL;
        }
        m->nagents = 1;
        fc_agent_status_t *st = &m->agents[0];
        fc_msg_set_str(st->id, sizeof st->id, id);
        fc_msg_set_str(st->channel, sizeof st->channel, o->channel);
        if (o->versions)
            snprintf(st->version, sizeof st->version, "%s.%" PRIu64, o->version,
                     (o->first + i) % o->versions);
        else
            fc_msg_set_str(st->version, sizeof st->version, o->version);
        fc_msg_set_str(st->state, sizeof st->state, o->state);
        fc_msg_set_str(st->message, sizeof st->message, o->message);
        break;
    case S_ACK:
        m = fc_msg_new(FC_MSG_CONFIG_ACK);
        fc_msg_set_str(m->id, sizeof m->id, id);
        m->serial = o->ack;
        fc_msg_set_str(m->state, sizeof m->state, fc_ack_name(FC_ACK_APPLIED));
        break;
    case S_DONE:
        break;
    }
    if (m)
        m->req = a->req = i * 8 + a->step + 1;
    return m;
}

int main(int argc, char **argv)
{
    s_opts_t o;
    int rc = s_parse(argc, argv, &o);
    if (rc)
        return rc;
    if (s_limits(o.count) != 0)
        return 1;
    fc_curve_t *curve = NULL;
    if (!o.insecure) {
        int err;
        char text[256];
        curve = fc_curve_new_client(o.key, o.broker_key, &err, text, sizeof text);
        if (!curve) {
            fprintf(stderr, "fleetcast-swarm: %s\n", text);
            return 1;
        }
    }
    void *ctx = zsys_init();
    s_agent_t *agents = calloc(o.count, sizeof *agents);
    zmq_pollitem_t *items = calloc(o.count, sizeof *items);
    uint64_t *where = calloc(o.count, sizeof *where); /* items[k] is agent where[k] */
    if (!agents || !items || !where) {
        fprintf(stderr, "fleetcast-swarm: out of memory\n");
        return 1;
    }
    int64_t t0 = zclock_mono();
    int64_t deadline = t0 + (int64_t)o.timeout_s * 1000;
    int64_t t_step[S_DONE + 1] = {0};
    uint64_t started = 0, done[S_DONE + 1] = {0}, errors = 0;
    s_step_t last = o.ack ? S_ACK : S_REPORT;
    while (!zsys_interrupted && done[last] < o.count && zclock_mono() < deadline) {
        /* Start the agents whose time has come. */
        uint64_t due =
            o.rate ? (uint64_t)((zclock_mono() - t0) * (int64_t)o.rate / 1000) + 1 : o.count;
        while (started < o.count && started < due) {
            uint64_t i = started;
            void *s = zmq_socket(ctx, ZMQ_DEALER);
            if (!s) {
                fprintf(stderr, "fleetcast-swarm: socket %" PRIu64 ": %s\n", i,
                        zmq_strerror(zmq_errno()));
                return 1;
            }
            int linger = 0, hwm = 16;
            zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
            zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm);
            fc_curve_apply(curve, s);
            if (zmq_connect(s, o.endpoint) != 0) {
                fprintf(stderr, "fleetcast-swarm: connect %s: %s\n", o.endpoint,
                        zmq_strerror(zmq_errno()));
                return 1;
            }
            agents[i].sock = s;
            items[i] = (zmq_pollitem_t){.socket = s, .events = ZMQ_POLLIN};
            where[i] = i;
            fc_msg_t *m = s_request(&o, i, &agents[i]);
            if (!m || fc_msg_send(&m, s) != 0) {
                fprintf(stderr, "fleetcast-swarm: cannot send HELLO of agent %" PRIu64 "\n", i);
                return 1;
            }
            started++;
        }
        if (zmq_poll(items, (int)started, 50) < 0)
            break;
        for (uint64_t k = 0; k < started; k++) {
            if (!(items[k].revents & ZMQ_POLLIN))
                continue;
            s_agent_t *a = &agents[where[k]];
            int err = 0;
            fc_msg_t *m = fc_msg_recv(a->sock, NULL, &err);
            if (!m)
                continue;
            bool mine = m->req == a->req;
            if (mine && m->type == FC_MSG_ERROR) {
                if (errors++ < 3)
                    fprintf(stderr, "fleetcast-swarm: agent %" PRIu64 " step %d: ERROR %s: %s\n",
                            where[k], (int)a->step, fc_strerror((int)m->code), m->text);
            } else if (mine) {
                done[a->step]++;
                if (done[a->step] == o.count)
                    t_step[a->step] = zclock_mono() - t0;
                a->step = a->step == last ? S_DONE : a->step + 1;
                fc_msg_t *next = s_request(&o, where[k], a);
                if (next)
                    fc_msg_send(&next, a->sock);
            }
            fc_msg_destroy(&m);
        }
    }
    bool ok = done[last] == o.count;
    printf("swarm: %" PRIu64 " agents (%s): hello %" PRIu64 " in %" PRId64 " ms, sync %" PRIu64
           " in %" PRId64 " ms, report %" PRIu64 " in %" PRId64 " ms",
           o.count, curve ? "curve" : "plain", done[S_HELLO], t_step[S_HELLO], done[S_SYNC],
           t_step[S_SYNC], done[S_REPORT], t_step[S_REPORT]);
    if (o.ack)
        printf(", ack %" PRIu64 " in %" PRId64 " ms", done[S_ACK], t_step[S_ACK]);
    printf(", %" PRIu64 " errors\n", errors);
    fflush(stdout);
    int64_t period = (int64_t)o.report_every_s * 1000, t_hold = zclock_mono();
    uint64_t reported = 0; /* REPORTs sent this period, spread evenly over it */
    while (ok && o.hold && !zsys_interrupted) {
        /* Connected and idle, as a real fleet between releases: each agent reports again
           once a period; replies are drained. */
        if (zmq_poll(items, (int)started, 100) < 0)
            break;
        int64_t into = zclock_mono() - t_hold;
        if (period && into >= period) {
            t_hold += period;
            into -= period;
            reported = 0;
        }
        uint64_t due = period ? (uint64_t)(into * (int64_t)o.count / period) : 0;
        for (; reported < due && reported < o.count; reported++) {
            agents[reported].step = S_REPORT;
            fc_msg_t *m = s_request(&o, reported, &agents[reported]);
            if (m)
                fc_msg_send(&m, agents[reported].sock);
        }
        for (uint64_t k = 0; k < started; k++)
            if (items[k].revents & ZMQ_POLLIN) {
                zmsg_t *msg = zmsg_recv(agents[where[k]].sock);
                zmsg_destroy(&msg);
            }
    }
    for (uint64_t i = 0; i < started; i++)
        zmq_close(agents[i].sock);
    free(agents);
    free(items);
    free(where);
    fc_curve_destroy(&curve);
    return ok ? 0 : 1;
}
