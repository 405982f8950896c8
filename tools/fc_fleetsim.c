/* fc_fleetsim.c: fleetcast-fleetsim, runs N agent engines (libfleetcast) in one process
   against a broker and measures the broker's idle cost, how fast a release and how fast a
   config revision reach all of them. */
#define _GNU_SOURCE
#include "fc_fleetsim.h"
#include "fc_agent.h"
#include "fc_client.h"
#include "fc_config.h"
#include "fc_error.h"
#include "fc_hash.h"
#include "fc_key.h"
#include "fc_msg.h"
#include "fc_util.h"

#include <czmq.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define S_KEY "fleetsim.round" /* the key each round sets; its value is the round number */
#define S_MAX_ROUNDS 1000
#define S_FDS_PER_ENGINE 12 /* a conservative guess, checked before each batch of engines */
#define S_BATCH 50
#define S_SOCKETS_PER_ENGINE 6 /* dealer, sub, the monitor's pipe pair and its own socket */

typedef struct {
    const char *broker, *broker_bin, *cli_bin, *key_file, *trust_file, *group, *prefix;
    const char *cert, *agent_key, *broker_key; /* CURVE; made in the temp dir if not given */
    int agents, rounds, io_threads, release_mib, window_kib;
    double round_timeout, sync_timeout, idle, release_timeout;
    size_t stack_kib;
    bool start_broker, json, verbose, keep, discard, rounds_given, insecure;
} s_opts_t;

/* One simulated agent. t[r]: when its changed callback saw round r (monotonic ns, 0: not). */
typedef struct {
    fc_agent_t *agent;
    char id[FC_MAX_NAME + 1];
    uint64_t *t;
    int rounds;
} s_sim_agent_t;

typedef struct {
    int round;
    uint64_t rev;
    int converged;
    double p50, p99, max, ack_ms;
    int acked;       /* engines whose CONFIG_ACK the broker had recorded (config status) */
    double acked_ms; /* when config status first showed them all (to about 50 ms) */
} s_round_t;

static uint64_t s_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void s_usage(FILE *out)
{
    fprintf(out,
            "Usage: fleetcast-fleetsim (--broker EP | --start-broker) [options]\n"
            "\n"
            "Runs N fleetcast agent engines (libfleetcast) in this one process, each with its\n"
            "own sockets and state dir, and measures, in this order:\n"
            " - with --idle S: the broker's CPU over S seconds with every engine connected\n"
            "   and nothing to do (heartbeats, reports), as %% of one core;\n"
            " - with --bench-release MIB: a fresh release of one random MIB MiB file, pushed\n"
            "   (fleetcast release push) once every engine is connected, and the time from the\n"
            "   end of the push until every engine's install/current points at it, with the\n"
            "   broker's CPU and peak RSS;\n"
            " - config propagation: per round it publishes a signed SET revision\n"
            "   (" S_KEY "=ROUND, scope global) and times, in each engine's changed callback,\n"
            "   how long after the push it ran.\n"
            "\n"
            "  -n, --agents N          engines to run (default 1000); ids PREFIX-0001...\n"
            "      --id-prefix NAME    agent id prefix (default sim)\n"
            "  -g, --group NAME        the engines' group\n"
            "  -b, --broker EP         broker service endpoint (tcp://HOST:PORT)\n"
            "      --start-broker      start a broker child on free loopback ports with a temp\n"
            "                          data dir, and report its CPU time and peak RSS; it is\n"
            "                          secure: CURVE keys made and enrolled in that dir\n"
            "                          (--insecure: started with --insecure)\n"
            "      --broker-bin PATH   broker binary (default: ../broker/fleetcast-broker next\n"
            "                          to this program)\n"
            "      --key FILE          publisher signing key (default: a fresh key pair)\n"
            "      --trust FILE        trust file for the engines (default: the key's public\n"
            "                          half)\n"
            "      --broker-key KEY    the broker's public CURVE cert or Z85 key, and\n"
            "      --cert FILE         the publisher's secret cert, and\n"
            "      --agent-key FILE    the engines' secret cert (enrolled as an agent): needed\n"
            "                          with --broker; --start-broker makes and enrols them\n"
            "      --insecure          no CURVE (a broker started with --insecure; with\n"
            "                          --start-broker, starts it so)\n"
            "      --bench-config ROUNDS  config rounds (default 5; 0 with --bench-release or\n"
            "                          --idle: none)\n"
            "      --bench-release MIB release benchmark with a MIB MiB payload (e.g. 64)\n"
            "      --discard           the engines fetch and verify every chunk but write none:\n"
            "                          their installed trees are sparse files that read as\n"
            "                          zeros (N x MIB would not fit on one disk). NOT a real\n"
            "                          install: no write, no fsync of data. Without it every\n"
            "                          engine writes, fsyncs and swaps the real tree (the\n"
            "                          default; refused if N x MIB does not fit the temp dir)\n"
            "      --window KIB        the engines' GET_CHUNK window (default: the agent's,\n"
            "                          4096)\n"
            "      --release-timeout S give up waiting for the installs after S (default 900)\n"
            "      --cli-bin PATH      fleetcast CLI for the push (default:\n"
            "                          ../publisher/fleetcast next to this program)\n"
            "      --idle S            measure the broker's idle CPU over S seconds (after\n"
            "                          a 3 s settle)\n"
            "      --round-timeout S   give up on a round after S seconds (default 60)\n"
            "      --sync-timeout S    wait this long for all engines to sync (default 180)\n"
            "      --io-threads N      ZeroMQ I/O threads of the shared context (default 1)\n"
            "      --thread-stack KIB  default stack size of new threads (default: system)\n"
            "      --json              print a JSON summary on stdout (progress on stderr)\n"
            "      --keep              keep the temp dir (broker data, agent states)\n"
            "  -v, --verbose           print the engines' log lines\n"
            "  -h, --help\n"
            "\n"
            "Exit status: 0 if every engine installed the release and converged in every\n"
            "round, 1 if not or on error, 2 on bad usage.\n");
}

static int s_parse(int argc, char **argv, s_opts_t *o)
{
    static const struct option opts[] = {{"agents", required_argument, NULL, 'n'},
                                         {"id-prefix", required_argument, NULL, 'P'},
                                         {"group", required_argument, NULL, 'g'},
                                         {"broker", required_argument, NULL, 'b'},
                                         {"start-broker", no_argument, NULL, 'S'},
                                         {"broker-bin", required_argument, NULL, 'B'},
                                         {"key", required_argument, NULL, 'k'},
                                         {"trust", required_argument, NULL, 't'},
                                         {"bench-config", required_argument, NULL, 'r'},
                                         {"bench-release", required_argument, NULL, 'R'},
                                         {"discard", no_argument, NULL, 'D'},
                                         {"window", required_argument, NULL, 'W'},
                                         {"release-timeout", required_argument, NULL, 'X'},
                                         {"cli-bin", required_argument, NULL, 'C'},
                                         {"idle", required_argument, NULL, 'i'},
                                         {"round-timeout", required_argument, NULL, 'T'},
                                         {"sync-timeout", required_argument, NULL, 'Y'},
                                         {"io-threads", required_argument, NULL, 'I'},
                                         {"thread-stack", required_argument, NULL, 'K'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"keep", no_argument, NULL, 'E'},
                                         {"verbose", no_argument, NULL, 'v'},
                                         {"help", no_argument, NULL, 'h'},
                                         {"broker-key", required_argument, NULL, 'x'},
                                         {"cert", required_argument, NULL, 'c'},
                                         {"agent-key", required_argument, NULL, 'a'},
                                         {"insecure", no_argument, NULL, 'U'},
                                         {NULL, 0, NULL, 0}};
    *o = (s_opts_t){.prefix = "sim",
                    .agents = 1000,
                    .rounds = 5,
                    .io_threads = 1,
                    .round_timeout = 60,
                    .sync_timeout = 180,
                    .release_timeout = 900};
    int c;
    while ((c = getopt_long(argc, argv, "n:g:b:vh", opts, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
        case 'n':
        case 'r':
        case 'I':
        case 'K':
        case 'R':
        case 'W': {
            long v = strtol(optarg, &end, 10);
            long max = c == 'n' ? 100000 : c == 'r' ? S_MAX_ROUNDS : c == 'I' ? 64 : 1 << 20;
            long min = c == 'K' || c == 'r' ? 0 : c == 'W' ? 64 : 1;
            if (end == optarg || *end || v < min || v > max) {
                fprintf(stderr, "fleetcast-fleetsim: bad number '%s' (%ld..%ld)\n", optarg, min,
                        max);
                return 2;
            }
            if (c == 'n')
                o->agents = (int)v;
            else if (c == 'r') {
                o->rounds = (int)v;
                o->rounds_given = true;
            } else if (c == 'R')
                o->release_mib = (int)v;
            else if (c == 'W')
                o->window_kib = (int)v;
            else if (c == 'I')
                o->io_threads = (int)v;
            else
                o->stack_kib = (size_t)v;
            break;
        }
        case 'T':
        case 'Y':
        case 'X':
        case 'i': {
            double v = strtod(optarg, &end);
            if (end == optarg || *end || v <= 0) {
                fprintf(stderr, "fleetcast-fleetsim: bad number of seconds '%s'\n", optarg);
                return 2;
            }
            *(c == 'T'   ? &o->round_timeout
              : c == 'Y' ? &o->sync_timeout
              : c == 'X' ? &o->release_timeout
                         : &o->idle) = v;
            break;
        }
        case 'D':
            o->discard = true;
            break;
        case 'C':
            o->cli_bin = optarg;
            break;
        case 'P':
            o->prefix = optarg;
            break;
        case 'g':
            o->group = optarg;
            break;
        case 'b':
            o->broker = optarg;
            break;
        case 'S':
            o->start_broker = true;
            break;
        case 'B':
            o->broker_bin = optarg;
            break;
        case 'k':
            o->key_file = optarg;
            break;
        case 't':
            o->trust_file = optarg;
            break;
        case 'j':
            o->json = true;
            break;
        case 'x':
            o->broker_key = optarg;
            break;
        case 'c':
            o->cert = optarg;
            break;
        case 'a':
            o->agent_key = optarg;
            break;
        case 'U':
            o->insecure = true;
            break;
        case 'E':
            o->keep = true;
            break;
        case 'v':
            o->verbose = true;
            break;
        case 'h':
            s_usage(stdout);
            exit(0);
        default:
            s_usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "fleetcast-fleetsim: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (!o->broker == !o->start_broker) {
        fprintf(stderr, "fleetcast-fleetsim: give exactly one of --broker EP, --start-broker\n");
        return 2;
    }
    if (o->broker && !o->insecure && (!o->broker_key || !o->cert || !o->agent_key)) {
        fprintf(stderr, "fleetcast-fleetsim: --broker needs --broker-key, --cert and --agent-key,"
                        " or --insecure\n");
        return 2;
    }
    if (o->rounds == 0 && !o->release_mib && !o->idle) {
        fprintf(stderr, "fleetcast-fleetsim: nothing to measure (--bench-config 0 alone)\n");
        return 2;
    }
    if (o->idle && !o->start_broker) {
        fprintf(stderr, "fleetcast-fleetsim: --idle measures the broker it starts "
                        "(--start-broker)\n");
        return 2;
    }
    if (!o->rounds_given && (o->release_mib || o->idle))
        o->rounds = 0; /* only what was asked for */
    return 0;
}

/* ---------------------------------------------------------------- engine callbacks */

static int s_changed(const fc_diff_entry_t *diff, size_t n, void *arg)
{
    uint64_t now = s_mono_ns();
    s_sim_agent_t *a = (s_sim_agent_t *)arg;
    for (size_t i = 0; i < n; i++) {
        int64_t r = 0;
        if (strcmp(diff[i].key, S_KEY) == 0 && diff[i].new_value &&
            fc_value_get_int(diff[i].new_value, &r) == 0 && r >= 1 && r <= a->rounds)
            __atomic_store_n(&a->t[r], now, __ATOMIC_RELEASE);
    }
    return 0;
}

static void s_log(const char *line, void *arg)
{
    s_sim_agent_t *a = (s_sim_agent_t *)arg;
    fprintf(stderr, "%s: %s\n", a->id, line);
}

/* Engine logs go to stderr only with --verbose: 1000 engines saying "connected" is noise. */
static void s_quiet(const char *line, void *arg)
{
    (void)line;
    (void)arg;
}

/* ---------------------------------------------------------------- publishing */

/* The latest revision number on the broker (CONFIG_SYNC, publisher view, nothing after). */
static int s_latest(fc_client_t *client, uint64_t *latest, char *msg, size_t msgsize)
{
    fc_msg_t *req = fc_msg_new(FC_MSG_CONFIG_SYNC);
    req->serial = UINT64_MAX;
    fc_msg_t *reply = fc_client_call(client, &req, 10000);
    int rc = -1;
    if (!reply)
        snprintf(msg, msgsize, "no answer from the broker to CONFIG_SYNC within 10 s");
    else if (reply->type != FC_MSG_CONFIG_SNAPSHOT)
        snprintf(msg, msgsize, "broker answered CONFIG_SYNC with %s: %s",
                 fc_msg_type_name(reply->type), reply->text);
    else {
        *latest = reply->serial;
        rc = 0;
    }
    fc_msg_destroy(&reply);
    return rc;
}

/* Publishes S_KEY=value as latest + 1 (retrying on FC_ESERIAL like `fleetcast config set`).
   t0: just before the signed revision is sent; ack: when the broker's OK arrived. */
static int s_publish(fc_client_t *client, const fc_signkey_t *key, int value, uint64_t *rev_out,
                     uint64_t *t0, uint64_t *ack, char *msg, size_t msgsize)
{
    for (int attempt = 1; attempt <= 6; attempt++) {
        uint64_t latest = 0;
        if (s_latest(client, &latest, msg, msgsize) != 0)
            return -1;
        fc_revision_t *rev = fc_revision_new(FC_REV_SET);
        char text[32];
        snprintf(text, sizeof text, "%d", value);
        fc_value_t v;
        if (!rev || fc_value_from_text(&v, text) != 0) {
            fc_revision_destroy(&rev);
            snprintf(msg, msgsize, "cannot build a revision");
            return -1;
        }
        fc_revision_set(rev, S_KEY, &v);
        fc_value_free(&v);
        snprintf(rev->scope, sizeof rev->scope, "global");
        snprintf(rev->message, sizeof rev->message, "fleetsim round %d", value);
        rev->rev = latest + 1;
        rev->created = (int64_t)time(NULL);
        size_t len = 0;
        uint8_t *signed_rev = fc_revision_sign(rev, key, &len);
        fc_revision_destroy(&rev);
        if (!signed_rev) {
            snprintf(msg, msgsize, "cannot sign the revision");
            return -1;
        }
        fc_msg_t *push = fc_msg_new(FC_MSG_CONFIG_PUSH);
        fc_msg_set_bytes(push, signed_rev, len);
        free(signed_rev);
        *t0 = s_mono_ns();
        fc_msg_t *reply = fc_client_call(client, &push, 10000);
        *ack = s_mono_ns();
        if (reply && reply->type == FC_MSG_OK) {
            *rev_out = reply->serial ? reply->serial : latest + 1;
            fc_msg_destroy(&reply);
            return 0;
        }
        bool retry = reply && reply->type == FC_MSG_ERROR && reply->code == FC_ESERIAL;
        if (!reply)
            snprintf(msg, msgsize, "no answer from the broker to CONFIG_PUSH within 10 s");
        else
            snprintf(msg, msgsize, "broker refused the revision: %s (%s)", reply->text,
                     fc_strerror((int)reply->code));
        fc_msg_destroy(&reply);
        if (!retry)
            return -1;
        zclock_sleep(attempt * 20);
    }
    return -1;
}

/* ---------------------------------------------------------------- statistics */

static int s_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted v[0..n). */
static double s_pct(const double *v, int n, double p)
{
    if (n == 0)
        return 0;
    int k = (int)((p / 100.0) * n + 0.999999);
    if (k < 1)
        k = 1;
    return v[(k > n ? n : k) - 1];
}

static void s_stats(double *v, int n, s_round_t *r)
{
    qsort(v, (size_t)n, sizeof *v, s_cmp);
    r->converged = n;
    r->p50 = s_pct(v, n, 50);
    r->p99 = s_pct(v, n, 99);
    r->max = n ? v[n - 1] : 0;
}

/* ---------------------------------------------------------------- engines */

/* Creates and starts up to o->agents engines; returns how many run (msg says why not all). */
static int s_start_engines(const s_opts_t *o, s_sim_agent_t *sims, const char dir[1024],
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
        s_sim_agent_t *a = &sims[n];
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
                         "out of file descriptors: %d open, about %d more per engine, limit "
                         "%ld (hard limit %ld)",
                         fds, per, (long)rl.rlim_cur, (long)rl.rlim_max);
                break;
            }
        }
        if ((size_t)(n + 1) * S_SOCKETS_PER_ENGINE + 16 > zsys_socket_limit()) {
            snprintf(msg, msgsize, "ZeroMQ socket limit %zu reached (%d per engine)",
                     zsys_socket_limit(), S_SOCKETS_PER_ENGINE);
            break;
        }
        room--;
        char state[PATH_MAX], install[PATH_MAX];
        snprintf(state, sizeof state, "%s/agents/%s/state", dir, a->id);
        snprintf(install, sizeof install, "%s/agents/%s/install", dir, a->id);
        fc_agent_config_t cfg;
        fc_agent_config_defaults(&cfg);
        cfg.broker = broker;
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
        cfg.sim_discard = o->discard;
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

/* Waits until every engine's config revision is at least rev. Returns how many are. */
static int s_wait_synced(s_sim_agent_t *sims, int n, uint64_t rev, double timeout)
{
    double deadline = fc_now() + timeout;
    int synced = 0;
    while (!zsys_interrupted) {
        synced = 0;
        for (int i = 0; i < n; i++)
            synced += fc_agent_config_rev(sims[i].agent) >= rev;
        if (synced == n || fc_now() >= deadline)
            break;
        zclock_sleep(50);
    }
    return synced;
}

/* Polls CONFIG_STATUS for rev until the broker has an ack from every simulated engine, so
   the next round does not queue behind this round's acks. Fills r->acked, r->acked_ms. */
static void s_wait_acked(fc_client_t *client, const char *prefix, int n, uint64_t t0,
                         double timeout, s_round_t *r)
{
    size_t plen = strlen(prefix);
    uint64_t deadline = s_mono_ns() + (uint64_t)(timeout * 1e9);
    while (!zsys_interrupted) {
        fc_msg_t *req = fc_msg_new(FC_MSG_CONFIG_STATUS);
        req->serial = r->rev;
        fc_msg_t *reply = fc_client_call(client, &req, 10000);
        uint64_t now = s_mono_ns();
        int acked = 0;
        if (reply && reply->type == FC_MSG_CONFIG_STATUS_REPLY)
            for (size_t i = 0; i < reply->nagents; i++) {
                const fc_agent_status_t *a = &reply->agents[i];
                acked += strncmp(a->id, prefix, plen) == 0 && a->id[plen] == '-' &&
                         strcmp(a->state, "pending") != 0;
            }
        fc_msg_destroy(&reply);
        r->acked = acked;
        if (acked >= n) {
            r->acked_ms = (double)(now - t0) / 1e6;
            return;
        }
        if (now >= deadline)
            return;
        zclock_sleep(50);
    }
}

/* One round: publish, wait for the callbacks, compute the latencies (ms) into r. */
static int s_round(const s_opts_t *o, fc_client_t *client, const fc_signkey_t *key,
                   s_sim_agent_t *sims, int n, int round, s_round_t *r, double *all, int *nall)
{
    char msg[FC_MAX_TEXT + 128] = "";
    uint64_t t0 = 0, ack = 0;
    memset(r, 0, sizeof *r);
    r->round = round;
    if (s_publish(client, key, round, &r->rev, &t0, &ack, msg, sizeof msg) != 0) {
        fprintf(stderr, "fleetcast-fleetsim: round %d: %s\n", round, msg);
        return -1;
    }
    r->ack_ms = (double)(ack - t0) / 1e6;
    uint64_t deadline = t0 + (uint64_t)(o->round_timeout * 1e9);
    int done = 0;
    while (!zsys_interrupted && s_mono_ns() < deadline) {
        done = 0;
        for (int i = 0; i < n; i++)
            done += __atomic_load_n(&sims[i].t[round], __ATOMIC_ACQUIRE) != 0;
        if (done == n)
            break;
        zclock_sleep(2);
    }
    double *lat = malloc(sizeof *lat * (size_t)(n ? n : 1));
    int k = 0;
    for (int i = 0; i < n; i++) {
        uint64_t t = __atomic_load_n(&sims[i].t[round], __ATOMIC_ACQUIRE);
        if (t) {
            /* A callback may run before the push call returns, never before t0 (the
               revision did not exist): clamp anyway, clocks are the same. */
            lat[k] = t > t0 ? (double)(t - t0) / 1e6 : 0;
            all[(*nall)++] = lat[k++];
        }
    }
    s_stats(lat, k, r);
    free(lat);
    s_wait_acked(client, o->prefix, n, t0, o->round_timeout, r);
    return 0;
}

/* Makes or loads the publisher key and the engines' trust list. */
static int s_keys(const s_opts_t *o, const char dir[1024], fc_signkey_t *key, fc_trust_t **trust)
{
    int rc;
    if (o->key_file) {
        if ((rc = fc_signkey_load(key, o->key_file)) != 0) {
            fprintf(stderr, "fleetcast-fleetsim: cannot load key %s: %s\n", o->key_file,
                    fc_strerror(rc));
            return -1;
        }
    } else {
        char kdir[PATH_MAX];
        snprintf(kdir, sizeof kdir, "%s/keys", dir);
        fc_signkey_generate(key);
        if ((rc = fc_signkey_save(key, kdir)) != 0) {
            fprintf(stderr, "fleetcast-fleetsim: cannot save a key pair in %s: %s\n", kdir,
                    fc_strerror(rc));
            return -1;
        }
    }
    if (o->trust_file) {
        *trust = fc_trust_load(o->trust_file, &rc);
        if (!*trust) {
            fprintf(stderr, "fleetcast-fleetsim: cannot load trust file %s: %s\n", o->trust_file,
                    fc_strerror(rc));
            return -1;
        }
    } else {
        *trust = fc_trust_new();
        fc_trust_add(*trust, key->pk);
    }
    return 0;
}

static void s_print_round(FILE *out, const char *name, const s_round_t *r, int n)
{
    fprintf(out, "%-8s converged %5d/%-5d  p50 %8.1f ms  p99 %8.1f ms  max %8.1f ms", name,
            r->converged, n, r->p50, r->p99, r->max);
    if (r->rev)
        fprintf(out, "  (rev %llu, push ack %.1f ms, broker has %d acks at %.0f ms)",
                (unsigned long long)r->rev, r->ack_ms, r->acked, r->acked_ms);
    fprintf(out, "\n");
}

static void s_json_round(FILE *out, const s_round_t *r)
{
    fprintf(out,
            "{\"round\":%d,\"rev\":%llu,\"converged\":%d,\"p50_ms\":%.3f,\"p99_ms\":%.3f,"
            "\"max_ms\":%.3f,\"push_ack_ms\":%.3f,\"acked\":%d,\"all_acked_ms\":%.1f}",
            r->round, (unsigned long long)r->rev, r->converged, r->p50, r->p99, r->max, r->ack_ms,
            r->acked, r->acked_ms);
}

typedef struct {
    int requested, started, synced, fds_per, threads_per, rounds_run;
    double sync_seconds;
    s_round_t rounds[S_MAX_ROUNDS + 1], overall;
    bool broker_stats;
    fc_procstat_t broker_total, broker_bench0, sim, broker_end;
    int fds_total, threads_total;
    bool idle_run;
    fc_simidle_t idle;
    bool release_run;
    s_round_t release; /* p50/p99/max in seconds after the push ended; converged: installed */
    double push_seconds, release_seconds, release_broker_cpu, release_sim_cpu;
    uint64_t release_broker_hwm_kib;
    /* Requests the engines re-sent and connections they lost, all runs (read once they
       stopped). */
    uint64_t retried, disconnects;
} s_report_t;

static void s_json_load(const s_opts_t *o, const s_report_t *rp)
{
    if (rp->idle_run)
        printf(
            ",\"idle\":{\"seconds\":%.1f,\"broker_cpu_seconds\":%.3f,\"broker_cpu_percent\":%.2f,"
            "\"sim_cpu_percent\":%.1f,\"broker_rss_kib\":%llu}",
            rp->idle.seconds, rp->idle.broker_cpu_seconds, rp->idle.broker_percent,
            rp->idle.sim_percent, (unsigned long long)rp->idle.broker_rss_kib);
    if (rp->release_run)
        printf(",\"release\":{\"mib\":%d,\"discard\":%s,\"push_seconds\":%.3f,\"installed\":%d,"
               "\"converged_seconds\":%.3f,\"p50_s\":%.3f,\"p99_s\":%.3f,\"max_s\":%.3f,"
               "\"broker_cpu_seconds\":%.2f,\"broker_peak_rss_kib\":%llu,"
               "\"sim_cpu_seconds\":%.2f,\"requests_retried\":%llu,\"disconnects\":%llu}",
               o->release_mib, o->discard ? "true" : "false", rp->push_seconds,
               rp->release.converged, rp->release_seconds, rp->release.p50, rp->release.p99,
               rp->release.max, rp->release_broker_cpu,
               (unsigned long long)rp->release_broker_hwm_kib, rp->release_sim_cpu,
               (unsigned long long)rp->retried, (unsigned long long)rp->disconnects);
}

static void s_print_load(FILE *out, const s_opts_t *o, const s_report_t *rp)
{
    if (rp->idle_run)
        fprintf(out,
                "idle:    %d engines connected, %.1f s: broker cpu %.3f s = %.2f %% of one core "
                "(rss %llu KiB); engines %.1f %%\n",
                rp->started, rp->idle.seconds, rp->idle.broker_cpu_seconds, rp->idle.broker_percent,
                (unsigned long long)rp->idle.broker_rss_kib, rp->idle.sim_percent);
    if (rp->release_run)
        fprintf(out,
                "release: %d MiB%s, push %.2f s; installed %d/%d, all %.2f s after the push "
                "(p50 %.2f s, p99 %.2f s, max %.2f s); broker cpu %.2f s, peak rss %llu KiB; "
                "engines cpu %.2f s, %llu requests re-sent, %llu disconnects\n",
                o->release_mib, o->discard ? " (--discard: verified, not written)" : "",
                rp->push_seconds, rp->release.converged, rp->started, rp->release_seconds,
                rp->release.p50, rp->release.p99, rp->release.max, rp->release_broker_cpu,
                (unsigned long long)rp->release_broker_hwm_kib, rp->release_sim_cpu,
                (unsigned long long)rp->retried, (unsigned long long)rp->disconnects);
}

/* The release benchmark: pushes dir/payload as a new version and waits for every engine's
   current link to point at it. 0 if it ran (rp says how many installed), -1 on error. */
static int s_release(const s_opts_t *o, const char *dir, const char *endpoint, pid_t broker,
                     s_sim_agent_t *sims, int n, s_report_t *rp)
{
    char cli[PATH_MAX], src[PATH_MAX], key[PATH_MAX], log[PATH_MAX], version[64];
    char msg[PATH_MAX + 256];
    if (o->cli_bin)
        snprintf(cli, sizeof cli, "%s", o->cli_bin);
    else if (fc_simcli_find(cli, sizeof cli) != 0) {
        fprintf(stderr, "fleetcast-fleetsim: no fleetcast CLI at %s (give --cli-bin PATH)\n", cli);
        return -1;
    }
    snprintf(src, sizeof src, "%s/payload", dir);
    snprintf(key, sizeof key, "%s", o->key_file ? o->key_file : "");
    if (!o->key_file)
        snprintf(key, sizeof key, "%s/keys/signing.key", dir);
    snprintf(log, sizeof log, "%s/push.log", dir);
    /* Fresh on every run, so an external broker's channel takes it as newer. */
    snprintf(version, sizeof version, "sim-%lld", (long long)time(NULL));
    char **current = calloc((size_t)n, sizeof *current);
    double *at = calloc((size_t)n, sizeof *at);
    int rc = current && at ? 0 : -1;
    for (int i = 0; i < n && rc == 0; i++)
        if (asprintf(&current[i], "%s/agents/%s/install/current", dir, sims[i].id) < 0) {
            current[i] = NULL;
            rc = -1;
        }
    fc_procstat_t b0 = {0}, b1 = {0}, s0 = {0}, s1 = {0};
    if (rc == 0 && broker)
        fc_procstat_read(broker, &b0);
    fc_procstat_read(0, &s0);
    fprintf(stderr, "fleetsim: pushing a %d MiB release (version %s)\n", o->release_mib, version);
    if (rc == 0 && fc_simload_push(cli, endpoint, o->insecure ? NULL : o->broker_key,
                                   o->insecure ? NULL : o->cert, src, "fleetsim", version, key, log,
                                   &rp->push_seconds, msg, sizeof msg) != 0) {
        fprintf(stderr, "fleetcast-fleetsim: %s\n", msg);
        rc = -1;
    }
    if (rc == 0) {
        double t0 = (double)s_mono_ns() / 1e9;
        int done = fc_simload_wait_installed(current, n, version, t0, o->release_timeout,
                                             &zsys_interrupted, at);
        double *v = malloc(sizeof *v * (size_t)(n ? n : 1));
        int k = 0;
        for (int i = 0; v && i < n; i++)
            if (at[i] >= 0)
                v[k++] = at[i];
        s_stats(v, k, &rp->release);
        free(v);
        rp->release_seconds = rp->release.max;
        rp->release_run = true;
        fc_procstat_read(0, &s1);
        rp->release_sim_cpu = s1.cpu_seconds - s0.cpu_seconds;
        if (broker) {
            fc_procstat_read(broker, &b1);
            rp->release_broker_cpu = b1.cpu_seconds - b0.cpu_seconds;
            rp->release_broker_hwm_kib = b1.peak_rss_kib;
        }
        fprintf(stderr, "fleetsim: %d/%d installed %s, the last %.2f s after the push\n", done, n,
                version, rp->release.max);
    }
    for (int i = 0; current && i < n; i++)
        free(current[i]);
    free(current);
    free(at);
    return rc;
}

static void s_report(const s_opts_t *o, const s_report_t *rp)
{
    if (o->json) {
        printf("{\"agents\":%d,\"started\":%d,\"synced\":%d,\"sync_seconds\":%.3f,"
               "\"threads_per_engine\":%d,\"fds_per_engine\":%d,\"threads_total\":%d,"
               "\"fds_total\":%d,\"rounds\":[",
               rp->requested, rp->started, rp->synced, rp->sync_seconds, rp->threads_per,
               rp->fds_per, rp->threads_total, rp->fds_total);
        for (int i = 1; i <= rp->rounds_run; i++) {
            s_json_round(stdout, &rp->rounds[i]);
            printf(i < rp->rounds_run ? "," : "");
        }
        printf("],\"overall\":");
        s_json_round(stdout, &rp->overall);
        s_json_load(o, rp);
        printf(",\"sim\":{\"cpu_seconds\":%.2f,\"peak_rss_kib\":%llu}", rp->sim.cpu_seconds,
               (unsigned long long)rp->sim.peak_rss_kib);
        if (rp->broker_stats)
            printf(",\"broker\":{\"cpu_seconds\":%.2f,\"cpu_seconds_rounds\":%.2f,"
                   "\"peak_rss_kib\":%llu,\"threads\":%d}",
                   rp->broker_end.cpu_seconds,
                   rp->broker_end.cpu_seconds - rp->broker_bench0.cpu_seconds,
                   (unsigned long long)rp->broker_end.peak_rss_kib, rp->broker_end.threads);
        printf("}\n");
        return;
    }
    printf("fleetsim: %d/%d engines started, %d synced in %.1f s; per engine %d threads, %d "
           "fds (process: %d threads, %d fds)\n",
           rp->started, rp->requested, rp->synced, rp->sync_seconds, rp->threads_per, rp->fds_per,
           rp->threads_total, rp->fds_total);
    for (int i = 1; i <= rp->rounds_run; i++) {
        char name[24];
        snprintf(name, sizeof name, "round %d", i);
        s_print_round(stdout, name, &rp->rounds[i], rp->started);
    }
    if (rp->rounds_run)
        s_print_round(stdout, "overall", &rp->overall, rp->started * rp->rounds_run);
    s_print_load(stdout, o, rp);
    printf("simulator: cpu %.2f s, peak rss %llu KiB\n", rp->sim.cpu_seconds,
           (unsigned long long)rp->sim.peak_rss_kib);
    if (rp->broker_stats)
        printf("broker: cpu %.2f s total (%.2f s during the rounds), peak rss %llu KiB, %d "
               "threads\n",
               rp->broker_end.cpu_seconds,
               rp->broker_end.cpu_seconds - rp->broker_bench0.cpu_seconds,
               (unsigned long long)rp->broker_end.peak_rss_kib, rp->broker_end.threads);
}

int main(int argc, char **argv)
{
    s_opts_t o;
    int rc = s_parse(argc, argv, &o);
    if (rc)
        return rc;
    /* Before any socket exists: raise the fd limit (the broker child inherits it too) and
       size the shared ZeroMQ context for N engines of about five sockets each. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (o.stack_kib) {
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, o.stack_kib * 1024);
        pthread_setattr_default_np(&attr);
        pthread_attr_destroy(&attr);
    }
    if (fc_crypto_init() != 0) {
        fprintf(stderr, "fleetcast-fleetsim: cannot initialise libsodium\n");
        return 1;
    }
    zsys_set_io_threads((size_t)o.io_threads);
    zsys_set_max_sockets(0); /* 0: as many as libzmq allows */
    zsys_init();
    fprintf(stderr, "fleetsim: fd limit %ld, zmq max sockets %zu, io threads %d\n",
            (long)rl.rlim_cur, zsys_socket_limit(), o.io_threads);

    /* Short enough that every path under it fits a PATH_MAX buffer. */
    char dir[1024];
    const char *tmp = getenv("TMPDIR");
    int len = snprintf(dir, sizeof dir, "%s/fleetsim.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (len < 0 || (size_t)len >= sizeof dir || !mkdtemp(dir)) {
        fprintf(stderr, "fleetcast-fleetsim: cannot create a temp dir: %s\n", strerror(errno));
        return 1;
    }
    s_report_t *rp = calloc(1, sizeof *rp);
    s_sim_agent_t *sims = calloc((size_t)o.agents, sizeof *sims);
    uint64_t *times = calloc((size_t)o.agents * (size_t)(o.rounds + 1), sizeof *times);
    double *all = malloc(sizeof *all * (size_t)o.agents * (size_t)o.rounds);
    fc_signkey_t key;
    fc_trust_t *trust = NULL;
    fc_simbroker_t broker = {0};
    fc_client_t *client = NULL;
    fc_curve_t *curve = NULL;
    char broker_key[PATH_MAX], cert[PATH_MAX], agent_key[PATH_MAX];
    int status = 1, n = 0;
    char msg[FC_MAX_TEXT + 256] = "";
    if (!rp || !sims || !times || !all || s_keys(&o, dir, &key, &trust) != 0)
        goto done;
    rp->requested = o.agents;
    for (int i = 0; i < o.agents; i++) {
        snprintf(sims[i].id, sizeof sims[i].id, "%s-%04d", o.prefix, i + 1);
        sims[i].t = times + (size_t)i * (size_t)(o.rounds + 1);
        sims[i].rounds = o.rounds;
    }
    const char *endpoint = o.broker;
    if (o.start_broker) {
        char bin[PATH_MAX];
        if (o.broker_bin)
            snprintf(bin, sizeof bin, "%s", o.broker_bin);
        else if (fc_simbroker_find(bin, sizeof bin) != 0) {
            fprintf(stderr,
                    "fleetcast-fleetsim: no fleetcast-broker at %s (give --broker-bin PATH)\n",
                    bin);
            goto done;
        }
        if (!o.insecure &&
            fc_simbroker_keys(dir, broker_key, cert, agent_key, msg, sizeof msg) == 0) {
            o.broker_key = broker_key;
            o.cert = cert;
            o.agent_key = agent_key;
        } else if (!o.insecure) {
            fprintf(stderr, "fleetcast-fleetsim: %s\n", msg);
            goto done;
        }
        if (fc_simbroker_start(&broker, bin, dir, o.insecure, msg, sizeof msg) != 0) {
            fprintf(stderr, "fleetcast-fleetsim: %s\n", msg);
            goto done;
        }
        endpoint = broker.service;
        fprintf(stderr, "fleetsim: broker pid %d on %s\n", (int)broker.pid, broker.service);
    }
    if (o.release_mib) {
        /* Made before the engines start, so it costs nothing in the measured part. */
        uint64_t need = (uint64_t)o.release_mib << 20;
        if (!o.discard) {
            need *= (uint64_t)o.agents + 2; /* every engine's tree, the payload, the store */
            if (fc_simload_free_bytes(dir) < need + (need >> 4)) {
                fprintf(stderr,
                        "fleetcast-fleetsim: %d engines x %d MiB need about %llu MiB in %s, "
                        "which has %llu MiB free: use --discard (verify, do not keep)\n",
                        o.agents, o.release_mib, (unsigned long long)(need >> 20), dir,
                        (unsigned long long)(fc_simload_free_bytes(dir) >> 20));
                goto done;
            }
        }
        char payload[PATH_MAX];
        snprintf(payload, sizeof payload, "%s/payload", dir);
        if (fc_mkdirs(payload, 0755) != 0) {
            fprintf(stderr, "fleetcast-fleetsim: cannot create %s\n", payload);
            goto done;
        }
        snprintf(payload, sizeof payload, "%s/payload/file.bin", dir);
        if (fc_simload_make_payload(payload, o.release_mib, msg, sizeof msg) != 0) {
            fprintf(stderr, "fleetcast-fleetsim: %s\n", msg);
            goto done;
        }
    }
    int err = 0;
    if (!o.insecure &&
        !(curve = fc_curve_new_client(o.cert, o.broker_key, &err, msg, sizeof msg))) {
        fprintf(stderr, "fleetcast-fleetsim: %s\n", msg);
        goto done;
    }
    client = fc_client_new(endpoint, 2000, curve, &err);
    if (!client) {
        fprintf(stderr, "fleetcast-fleetsim: bad broker endpoint '%s'\n", endpoint);
        goto done;
    }
    /* A revision to sync to before the rounds, so every engine starts from the same one. */
    uint64_t base = 0, t0, ack;
    if (s_publish(&*client, &key, 0, &base, &t0, &ack, msg, sizeof msg) != 0) {
        fprintf(stderr, "fleetcast-fleetsim: initial revision: %s\n", msg);
        goto done;
    }
    double start = fc_now();
    n = s_start_engines(&o, sims, dir, endpoint, trust, msg, sizeof msg, &rp->fds_per,
                        &rp->threads_per);
    rp->started = n;
    if (n < o.agents) {
        fprintf(stderr, "fleetcast-fleetsim: could create only %d of %d engines: %s\n", n, o.agents,
                msg);
        goto done;
    }
    fprintf(stderr, "fleetsim: %d engines started in %.1f s; waiting for rev %llu\n", n,
            fc_now() - start, (unsigned long long)base);
    rp->synced = s_wait_synced(sims, n, base, o.sync_timeout);
    rp->sync_seconds = fc_now() - start;
    fc_procstat_t ps;
    fc_procstat_read(0, &ps);
    rp->threads_total = ps.threads;
    rp->fds_total = fc_procstat_fds();
    if (rp->synced < n) {
        fprintf(stderr, "fleetcast-fleetsim: only %d of %d engines synced rev %llu in %.0f s\n",
                rp->synced, n, (unsigned long long)base, o.sync_timeout);
        goto done;
    }
    fprintf(stderr, "fleetsim: all %d synced in %.1f s\n", n, rp->sync_seconds);
    status = 0;
    if (o.idle) {
        fprintf(stderr, "fleetsim: measuring the idle cost over %.0f s\n", o.idle);
        if (fc_simload_idle(broker.pid, 3, o.idle, &zsys_interrupted, &rp->idle) == 0)
            rp->idle_run = true;
        else
            status = 1;
    }
    if (o.release_mib && !zsys_interrupted) {
        if (s_release(&o, dir, endpoint, broker.pid, sims, n, rp) != 0 || rp->release.converged < n)
            status = 1;
    }
    if (broker.pid) {
        fc_procstat_read(broker.pid, &rp->broker_bench0);
        rp->broker_stats = true;
    }
    int nall = 0;
    for (int r = 1; r <= o.rounds && !zsys_interrupted; r++) {
        if (s_round(&o, client, &key, sims, n, r, &rp->rounds[r], all, &nall) != 0) {
            status = 1;
            break;
        }
        rp->rounds_run = r;
        if (rp->rounds[r].converged < n)
            status = 1;
        char name[24];
        snprintf(name, sizeof name, "round %d", r);
        s_print_round(stderr, name, &rp->rounds[r], n);
        if (rp->rounds[r].acked < n)
            status = 1;
    }
    s_stats(all, nall, &rp->overall);
    if (broker.pid)
        fc_procstat_read(broker.pid, &rp->broker_end);
    fc_procstat_read(0, &rp->sim);
    /* Stopped before the report, so their counters can be read. */
    for (int i = 0; i < n; i++)
        fc_agent_stop(sims[i].agent);
    for (int i = 0; i < n; i++) {
        fc_agent_join(sims[i].agent);
        fc_agent_result_t res;
        fc_agent_status(sims[i].agent, &res);
        rp->retried += res.requests_retried;
        rp->disconnects += res.disconnects;
    }
    s_report(&o, rp);
done:
    /* Stop every engine first, so they wind down together, then free them. */
    for (int i = 0; i < n; i++)
        fc_agent_stop(sims[i].agent);
    for (int i = 0; i < n; i++)
        fc_agent_destroy(&sims[i].agent);
    fc_client_destroy(&client);
    fc_curve_destroy(&curve);
    fc_simbroker_stop(&broker);
    fc_trust_destroy(&trust);
    fc_signkey_wipe(&key);
    if (o.keep)
        fprintf(stderr, "fleetsim: kept %s\n", dir);
    else
        fc_rmtree(dir);
    free(all);
    free(times);
    free(sims);
    free(rp);
    return status;
}
