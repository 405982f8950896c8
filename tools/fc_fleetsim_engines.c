/* fc_fleetsim_engines.c: fleetcast-fleetsim's agent engines: starting N of them within the
   process's fd and socket limits, their changed callback (the round timestamps), and waiting
   for them to sync. */
#define _GNU_SOURCE
#include "fc_agent.h"
#include "fc_clock.h"
#include "fc_fleetsim.h"

#include <czmq.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#define S_FDS_PER_ENGINE 12 /* a conservative guess, checked before each batch of engines */
#define S_BATCH 50
/* Measured with --max-sockets (issue 19): 12 engines need 97 to 104 sockets, 24 need 185 to
   200: 8 an engine (the dealer, its monitor actor's pipe pair and socket, the SUB, the
   engine's actor pipe pair and its fetch socket), plus about 8 for the process. */
#define S_SOCKETS_PER_ENGINE 8
#define S_FDS_RESERVE 64     /* the publisher client, logs, the broker's pipes, /proc scans */
#define S_SOCKETS_RESERVE 16 /* the publisher client and CZMQ's own */
/* What to do instead, said with every limit: CZMQ asserts (aborts) when a socket cannot be
   made inside zactor_new, so the limits are checked before an engine is made, never hit. */
#define S_ADVICE                                                                                   \
    "run fewer engines per process (-n), split the fleet over several processes "                  \
    "(each with its own -n and --prefix), or use fleetcast-swarm for protocol-level runs "         \
    "(thousands of agents on one thread)"

/* The shared context's socket limit: what zsys_set_max_sockets set (zsys_socket_limit() is
   libzmq's ceiling, not the context's). */
static size_t s_max_sockets(void)
{
    int max = zmq_ctx_get(zsys_init(), ZMQ_MAX_SOCKETS);
    return max > 0 ? (size_t)max : zsys_socket_limit();
}

int fc_simengines_check(const fc_simopts_t *o, char *msg, size_t msgsize)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        long need = (long)o->agents * S_FDS_PER_ENGINE + S_FDS_RESERVE;
        if (need > (long)rl.rlim_cur) {
            long fit = ((long)rl.rlim_cur - S_FDS_RESERVE) / S_FDS_PER_ENGINE;
            snprintf(msg, msgsize,
                     "%d engines need about %ld file descriptors (%d each) but RLIMIT_NOFILE "
                     "is %ld (hard limit %ld): at most %ld engines fit in this process: " S_ADVICE,
                     o->agents, need, S_FDS_PER_ENGINE, (long)rl.rlim_cur, (long)rl.rlim_max,
                     fit > 0 ? fit : 0);
            return -1;
        }
    }
    size_t limit = s_max_sockets();
    size_t sockets = (size_t)o->agents * S_SOCKETS_PER_ENGINE + S_SOCKETS_RESERVE;
    if (sockets > limit) {
        size_t fit =
            limit > S_SOCKETS_RESERVE ? (limit - S_SOCKETS_RESERVE) / S_SOCKETS_PER_ENGINE : 0;
        snprintf(msg, msgsize,
                 "%d engines need about %zu ZeroMQ sockets (%d each) but the ZeroMQ socket "
                 "limit is %zu (--max-sockets, or libzmq's own): at most %zu engines fit in "
                 "this process: " S_ADVICE,
                 o->agents, sockets, S_SOCKETS_PER_ENGINE, limit, fit);
        return -1;
    }
    return 0;
}

static int s_changed(const fc_diff_entry_t *diff, size_t n, void *arg)
{
    uint64_t now = fc_sim_now_ns();
    fc_simagent_t *a = (fc_simagent_t *)arg;
    for (size_t i = 0; i < n; i++) {
        int64_t r = 0;
        if (strcmp(diff[i].key, FC_SIM_KEY) == 0 && diff[i].new_value &&
            fc_value_get_int(diff[i].new_value, &r) == 0 && r >= 1 && r <= a->rounds)
            __atomic_store_n(&a->t[r], now, __ATOMIC_RELEASE);
    }
    return 0;
}

static void s_log(const char *line, void *arg)
{
    fc_simagent_t *a = (fc_simagent_t *)arg;
    fprintf(stderr, "%s: %s\n", a->id, line);
}

/* Engine logs go to stderr only with --verbose: 1000 engines saying "connected" is noise. */
static void s_quiet(const char *line, void *arg)
{
    (void)line;
    (void)arg;
}

/* Creates and starts up to o->agents engines; returns how many run (msg says why not all). */
int fc_simengines_start(const fc_simopts_t *o, fc_simagent_t *sims, const char agents[1024],
                        const char *broker, const fc_trust_t *trust, char *msg, size_t msgsize,
                        int *fds_per, int *threads_per)
{
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    fc_procstat_t ps0, ps1;
    fc_procstat_read(0, &ps0);
    int fds0 = fc_procstat_fds();
    int n = 0, room = 0;
    for (; n < o->agents; n++) {
        fc_simagent_t *a = &sims[n];
        /* Room for more engines? Checked against the open fds every S_BATCH engines (a
           /proc scan each time would cost O(N^2)). Running out inside fc_agent_new would
           leave an engine half made, so stop cleanly before that. */
        if (room == 0) {
            int fds = fc_procstat_fds();
            /* Measured on the first engine (+1 for a late SUB reconnect), else a guess. */
            int per = n > 0 && *fds_per >= 4 ? *fds_per + 1 : S_FDS_PER_ENGINE;
            long left =
                rl.rlim_cur == RLIM_INFINITY ? (long)S_BATCH * per : (long)rl.rlim_cur - fds - 16;
            room = (int)(left / per < S_BATCH ? left / per : S_BATCH);
            if (room <= 0) {
                snprintf(msg, msgsize,
                         "out of file descriptors: %d open, about %d more per engine, "
                         "RLIMIT_NOFILE %ld (hard limit %ld): " S_ADVICE,
                         fds, per, (long)rl.rlim_cur, (long)rl.rlim_max);
                break;
            }
        }
        if ((size_t)(n + 1) * S_SOCKETS_PER_ENGINE + S_SOCKETS_RESERVE > s_max_sockets()) {
            snprintf(msg, msgsize, "ZeroMQ socket limit %zu reached (%d per engine): " S_ADVICE,
                     s_max_sockets(), S_SOCKETS_PER_ENGINE);
            break;
        }
        room--;
        char state[PATH_MAX], install[PATH_MAX];
        snprintf(state, sizeof state, "%s/%s/state", agents, a->id);
        snprintf(install, sizeof install, "%s/%s/install", agents, a->id);
        fc_agent_config_t cfg;
        fc_agent_config_defaults(&cfg);
        cfg.broker = o->nbrokers > 1 ? o->brokers[n % o->nbrokers] : broker;
        cfg.channel = "fleetsim";
        cfg.install_dir = install;
        cfg.state_dir = state;
        cfg.trust = trust;
        cfg.insecure = o->insecure;
        cfg.key_file = o->agent_key;
        cfg.broker_key = o->broker_key;
        cfg.id = a->id;
        cfg.group = o->group;
        /* Config only, unless the release is measured too. */
        cfg.policy = o->release_mib ? FC_AGENT_UPDATE_ALL : FC_AGENT_UPDATE_NONE;
        cfg.window = (uint64_t)o->window_kib * 1024;
        cfg.verbose = o->verbose;
        cfg.log = o->verbose ? s_log : s_quiet;
        cfg.log_arg = a;
        int err = 0;
        a->agent = fc_agent_new(&cfg, &err);
        if (!a->agent) {
            snprintf(msg, msgsize, "fc_agent_new failed for engine %d (%s): %s (%s)", n + 1, a->id,
                     fc_agent_error_name(err), strerror(errno));
            break;
        }
        fc_agent_sim_discard(a->agent, o->discard);
        fc_agent_sim_tick(a->agent, o->tick_ms);
        fc_agent_on_config_changed(a->agent, s_changed, a);
        if (fc_agent_start(a->agent) != 0) {
            snprintf(msg, msgsize, "cannot start the thread of engine %d (%s): %s", n + 1, a->id,
                     strerror(errno));
            fc_agent_destroy(&a->agent);
            break;
        }
        if (n == 0) {
            zclock_sleep(300); /* its monitor thread and connections come up */
            fc_procstat_read(0, &ps1);
            *fds_per = fc_procstat_fds() - fds0;
            *threads_per = ps1.threads - ps0.threads;
        }
        if ((n + 1) % 100 == 0)
            fprintf(stderr, "fleetsim: %d engines started\n", n + 1);
    }
    return n;
}

int fc_simengines_wait_ready(fc_simagent_t *sims, int n, uint64_t rev, double start, double timeout,
                             int *synced, int *heard, double *synced_seconds)
{
    double deadline = fc_now() + timeout;
    int ready = 0;
    *synced_seconds = -1;
    while (!zsys_interrupted) {
        ready = *synced = *heard = 0;
        /* Both getters are safe while the engines run; fc_agent_status is not. */
        for (int i = 0; i < n; i++) {
            bool s = fc_agent_config_rev(sims[i].agent) >= rev;
            bool h = fc_agent_heartbeats(sims[i].agent) > 0;
            *synced += s;
            *heard += h;
            ready += s && h;
        }
        if (*synced == n && *synced_seconds < 0)
            *synced_seconds = fc_now() - start;
        if (ready == n || fc_now() >= deadline)
            break;
        zclock_sleep(50);
    }
    return ready;
}
