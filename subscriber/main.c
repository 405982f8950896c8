/* main.c: fleetcast-agent, the program: parses options and runs the agent engine (releases
   and runtime config) once or as a daemon until SIGINT/SIGTERM. */
#include "fc_agent.h"
#include "fc_brokers.h"
#include "fc_conffile.h"
#include "fc_error.h"
#include "fc_hash.h"
#include "fc_log.h"
#include "fc_notify.h"
#include "fc_optval.h"
#include "fc_state_lock.h"
#include "fc_suggest.h"
#include "fc_version.h"

#include <czmq.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void s_usage(FILE *out)
{
    fprintf(out,
            "usage: fleetcast-agent --broker tcp://HOST:7400 --channel NAME --install DIR\n"
            "                       --state DIR --trust PUBKEYFILE\n"
            "                       (--broker-key BROKER.cert | --insecure) [options]\n"
            "\n"
            "Follows a release channel on a fleetcast broker: fetches each new signed release\n"
            "in verified chunks (resuming after any disconnect or restart), installs it\n"
            "atomically under DIR/releases/<version>@<serial> with DIR/current pointing at\n"
            "it, runs the hooks, and reports its state to the broker. Also follows the runtime\n"
            "config revisions that concern it (global, its --group, its --id): writes the\n"
            "effective config to STATE/config.json (kept: with the broker unreachable the\n"
            "last good config stays there), runs the config hooks, and acknowledges each\n"
            "revision.\n"
            "\n"
            "  --broker EP          broker service endpoint, tcp://HOST:PORT or ipc://PATH\n"
            "                       or a list EP,EP,... of brokers serving the same data\n"
            "                       (relays of one root): the agent uses one and moves to\n"
            "                       the next when it is lost, a download continuing\n"
            "                       from its journal (required)\n"
            "  --channel NAME       channel to follow (required)\n"
            "  --product NAME       install only releases of this product (a release of\n"
            "                       another product on the channel is rejected); default:\n"
            "                       any product\n"
            "  --install DIR        install tree (required). DIR and DIR/releases must be\n"
            "                       real directories (no symlink), owned by root or this\n"
            "                       user, not writable by group or others: else the agent\n"
            "                       refuses to start and says what to fix\n"
            "  --state DIR          agent state: manifests, download journal, config.json\n"
            "                       (required); checked as --install DIR is (no symlink,\n"
            "                       not another user's, not group- or other-writable)\n"
            "  --trust FILE         trusted publisher public keys (required); a trusted-key\n"
            "                       list from the broker signed by one of them (fleetcast\n"
            "                       keys rotate) supersedes it, kept in STATE/trust.list\n"
            "  --broker-key KEY     the broker's public CURVE certificate (the broker's\n"
            "                       DATA/broker.cert) or its 40-char Z85 key; required\n"
            "                       unless --insecure. Both sockets use CURVE\n"
            "  --key FILE           this agent's secret certificate (default\n"
            "                       STATE/agent.cert_secret, made on the first start: the\n"
            "                       agent prints its public key, which the operator enrols\n"
            "                       with 'fleetcast keys add-agent KEY --data BROKERDATA')\n"
            "  --insecure           no CURVE, for a broker started with --insecure\n"
            "  --id NAME            agent id (default: the host name)\n"
            "  --auto-update POLICY all | mandatory | none (default all)\n"
            "  --exec-changing CMD  before the swap; a non-zero exit postpones the install\n"
            "  --exec-changed CMD   after the swap (e.g. restart the application)\n"
            "  --exec-health CMD    after changed; a non-zero exit rolls back\n"
            "  --group NAME         config group of this agent (scope group:NAME)\n"
            "  --config-changing CMD  a config change is coming: the diff as JSON on stdin\n"
            "                       ({\"rev\":N,\"changes\":[{\"key\":K,\"old\":V,\"new\":V,\n"
            "                       \"restart\":BOOL}]}); a non-zero exit vetoes it (the\n"
            "                       restart path follows)\n"
            "  --config-changed CMD apply the change live (diff on stdin); exit 0: applied and\n"
            "                       config.json written; non-zero: failed, old config kept\n"
            "  --exec-restart CMD   restart path (a veto, or a key the schema marks restart):\n"
            "                       when the broker grants a restart slot, config.json is\n"
            "                       written and CMD restarts the application; without it the\n"
            "                       agent keeps the old values and reports restart-required\n"
            "                       (vetoed, for a veto)\n"
            "                       (config hooks get FLEETCAST_CONFIG_PHASE, _REV, _FILE)\n"
            "  --hook-timeout SECS  longest any hook above may run (default 600; 0: no\n"
            "                       limit). A hook still running then is stopped with what\n"
            "                       it started in its process group (SIGTERM; 5 s later,\n"
            "                       SIGKILL) and fails, \"timed out after SECS s\", as a\n"
            "                       non-zero exit would: a changing hook postpones the\n"
            "                       install or vetoes the config change, a changed or\n"
            "                       health hook rolls back, a --config-changed or\n"
            "                       --exec-restart hook fails with the old config kept\n"
            "  --timestamp-key FILE the broker's timestamp public key (signing.pub format);\n"
            "                       by default the one named in the --broker-key cert file\n"
            "                       (none with a bare Z85 key or --insecure): only heartbeats\n"
            "                       whose time it signed, newer than the last and not older\n"
            "                       than --freeze-after, count as fresh; behind relays, the\n"
            "                       root's key checks the root's timestamps they carry\n"
            "  --freeze-after SECS  with a timestamp key: no fresh timestamp for this long\n"
            "                       and the agent reports itself stale (default 300)\n"
            "  --window BYTES       bytes of chunk requests in flight (default 4 MiB;\n"
            "                       at most 1G; K, M, G suffixes, K = 1024)\n"
            "  --timeout SECS       --once/--check: give up after this long without an\n"
            "                       answer from the broker (default 30)\n"
            "  --retry SECS         daemon: retry a postponed or failed install (default 30)\n"
            "  --once               install the latest release if newer, apply the latest\n"
            "                       config, then exit\n"
            "  --check              only report whether a newer release is available\n"
            "  --json               --once/--check: print one JSON object on stdout\n"
            "  --status-file FILE   keep this agent's status in FILE for node-level tools,\n"
            "                       rewritten atomically (write to a temp file, rename) on\n"
            "                       every state change and at most once a second while a\n"
            "                       download moves: one JSON object with id, channel,\n"
            "                       state, message, version, available_version, progress\n"
            "                       {done, total, fraction}, last_error (null, or {state,\n"
            "                       error, message, time} of the last failure, kept after\n"
            "                       it), config_rev, config_state, stale, updated (unix s)\n"
            "  --verbose            log every state change\n"
            "  --help               this text\n"
            "  --version            print the version and exit\n"
            "  --config FILE        settings as 'name = value' lines, any long option without\n"
            "                       its dashes (default /etc/fleetcast/agent.conf if it\n"
            "                       exists); the command line wins\n"
            "  --log-level LEVEL    error, warning, notice, info (default) or debug\n"
            "  --log-format FMT     text (default: RFC 3339 time, level, program, message; the\n"
            "                       journal's <N> priority instead of the time when stderr is\n"
            "                       the journal) or json (one object a line)\n"
            "\n"
            "SIGHUP reads the --trust file again and asks the broker for a newer key list;\n"
            "transfers go on. SIGINT or SIGTERM stops the agent.\n"
            "\n"
            "Exit codes (--once, --check): 0 installed or up to date; 1 error, release\n"
            "rejected, or a channel the broker never had a release on; 2 postponed by the changing "
            "hook; 3 health check failed and rolled\n"
            "back; 4 (--once with a timestamp key) otherwise fine, but no fresh signed\n"
            "timestamp came from the broker within --timeout (frozen or replayed); 100\n"
            "(--check) a newer release is available. With --once, a config change that\n"
            "failed, a rejected config revision, or no answer about config turns 0 into 1.\n"
            "--check does not touch the config.\n"
            "\n"
            "Values: SECS is a number of seconds (0.5 too) or has a unit: 500ms, 30s, 5m, 1h;\n"
            "at most 1000000 s. A bad value (or unknown option) is refused before anything\n"
            "starts, naming the option and the value: exit 1.\n");
}

/* Seconds for a duration option: above 0 (or 0 too if zero_ok), at most 1e6 s. */
static bool s_parse_secs(const char *name, const char *text, bool zero_ok, double *out, char *msg,
                         size_t msgsize)
{
    uint64_t ms = 0;
    if (fc_optval_duration(name, text, 1000, zero_ok ? 0 : 1, 1000000000, &ms, msg, msgsize))
        return false;
    *out = (double)ms / 1000;
    return true;
}

enum {
    O_BROKER = 1000,
    O_CHANNEL,
    O_INSTALL,
    O_STATE,
    O_TRUST,
    O_ID,
    O_AUTO,
    O_CHANGING,
    O_CHANGED,
    O_HEALTH,
    O_WINDOW,
    O_TIMEOUT,
    O_RETRY,
    O_ONCE,
    O_CHECK,
    O_JSON,
    O_STATUS_FILE,
    O_VERBOSE,
    O_HELP,
    O_PRINT_VERSION,
    O_CONFIG,
    O_LOG_LEVEL,
    O_LOG_FORMAT,
    O_GROUP,
    O_CFG_ING,
    O_CFG_ED,
    O_RESTART,
    O_KEY,
    O_BROKER_KEY,
    O_INSECURE,
    O_STAMP_KEY,
    O_FREEZE,
    O_HOOK_TIMEOUT,
    O_PRODUCT
};

/* The SIGHUP handler's only way to the engine: a handler gets no argument. NULL until the
   engine exists (a SIGHUP before then is ignored, not fatal). */
static fc_agent_t *s_hup_agent;

/* The config file's settings (kept for the life of the process: argv points into them). */
static fc_conffile_t *s_conf;
#define S_DEFAULT_CONF "/etc/fleetcast/agent.conf"

/* "FILE line N, key K: " when the option being parsed came from the config file. */
static const char *s_where(void)
{
    static char buf[FC_MAX_TEXT];
    return fc_conffile_where(s_conf, optind - 1, buf, sizeof buf);
}

/* SIGHUP also reads the config file again (fc_conffile_reread), on the engine's thread:
   the handler only sets this, and the engine's "SIGHUP: reloading" line, the first it logs
   after the signal, finds it set. opts and the log settings are main's, kept here. */
static volatile sig_atomic_t s_hup_conf;
static const struct option *s_opts;
static int s_log_level = FC_LOG_INFO, s_log_format = FC_LOG_TEXT;
static bool s_verbose;

/* The engine's log lines, in the daemons' one format. */
static void s_log_line(const char *line, void *arg)
{
    (void)arg;
    fc_log(FC_LOG_INFO, "%s", line);
    if (__atomic_exchange_n(&s_hup_conf, 0, __ATOMIC_RELAXED)) {
        fc_conffile_reread(s_conf, s_opts, &s_log_level, &s_log_format);
        fc_log_setup("fleetcast-agent", s_verbose ? FC_LOG_DEBUG : (fc_log_level_t)s_log_level,
                     (fc_log_format_t)s_log_format, NULL);
    }
}

/* fc_agent_on_alive's callback: WATCHDOG=1. */
static void s_watchdog(void *arg)
{
    (void)arg;
    fc_notify_watchdog();
}

static void s_on_hup(int sig)
{
    (void)sig;
    if (s_hup_agent)
        s_hup_conf = 1;
    fc_agent_reload(s_hup_agent);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"broker", required_argument, NULL, O_BROKER},
                                         {"channel", required_argument, NULL, O_CHANNEL},
                                         {"product", required_argument, NULL, O_PRODUCT},
                                         {"install", required_argument, NULL, O_INSTALL},
                                         {"state", required_argument, NULL, O_STATE},
                                         {"trust", required_argument, NULL, O_TRUST},
                                         {"id", required_argument, NULL, O_ID},
                                         {"auto-update", required_argument, NULL, O_AUTO},
                                         {"exec-changing", required_argument, NULL, O_CHANGING},
                                         {"exec-changed", required_argument, NULL, O_CHANGED},
                                         {"exec-health", required_argument, NULL, O_HEALTH},
                                         {"window", required_argument, NULL, O_WINDOW},
                                         {"timeout", required_argument, NULL, O_TIMEOUT},
                                         {"retry", required_argument, NULL, O_RETRY},
                                         {"once", no_argument, NULL, O_ONCE},
                                         {"check", no_argument, NULL, O_CHECK},
                                         {"json", no_argument, NULL, O_JSON},
                                         {"status-file", required_argument, NULL, O_STATUS_FILE},
                                         {"verbose", no_argument, NULL, O_VERBOSE},
                                         {"help", no_argument, NULL, O_HELP},
                                         {"version", no_argument, NULL, O_PRINT_VERSION},
                                         {"config", required_argument, NULL, O_CONFIG},
                                         {"log-level", required_argument, NULL, O_LOG_LEVEL},
                                         {"log-format", required_argument, NULL, O_LOG_FORMAT},
                                         {"group", required_argument, NULL, O_GROUP},
                                         {"config-changing", required_argument, NULL, O_CFG_ING},
                                         {"config-changed", required_argument, NULL, O_CFG_ED},
                                         {"exec-restart", required_argument, NULL, O_RESTART},
                                         {"key", required_argument, NULL, O_KEY},
                                         {"broker-key", required_argument, NULL, O_BROKER_KEY},
                                         {"insecure", no_argument, NULL, O_INSECURE},
                                         {"timestamp-key", required_argument, NULL, O_STAMP_KEY},
                                         {"freeze-after", required_argument, NULL, O_FREEZE},
                                         {"hook-timeout", required_argument, NULL, O_HOOK_TIMEOUT},
                                         {NULL, 0, NULL, 0}};
    fc_agent_config_t cfg;
    fc_agent_config_defaults(&cfg);
    bool once = false, check = false, json = false;
    fc_log_level_t log_level = FC_LOG_INFO;
    fc_log_format_t log_format = FC_LOG_TEXT;
    const char *stamp_file = NULL, *status_file = NULL;
    uint8_t stamp_pk[FC_PUBKEY_LEN];
    int c, policy;
    char msg[FC_MAX_TEXT];
    /* The config file's settings first, the command line's after them (it wins). */
    const char *conf_path = fc_conffile_arg(argc, argv);
    if (!conf_path && access(S_DEFAULT_CONF, F_OK) == 0)
        conf_path = S_DEFAULT_CONF;
    if (conf_path && !(s_conf = fc_conffile_load(conf_path, opts, msg, sizeof msg))) {
        fprintf(stderr, "fleetcast-agent: %s\n", msg);
        return 1;
    }
    argv = fc_conffile_argv(s_conf, argc, argv, &argc);
    if (!argv)
        return 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_BROKER:
            if (fc_brokers_check("--broker", optarg, FC_OPTVAL_IPC, msg, sizeof msg)) {
                fprintf(stderr, "fleetcast-agent: %s%s\n", s_where(), msg);
                return 1;
            }
            cfg.broker = optarg;
            break;
        case O_CHANNEL:
            cfg.channel = optarg;
            break;
        case O_PRODUCT:
            cfg.product = optarg;
            break;
        case O_INSTALL:
            cfg.install_dir = optarg;
            break;
        case O_STATE:
            cfg.state_dir = optarg;
            break;
        case O_TRUST:
            cfg.trust_file = optarg;
            break;
        case O_ID:
            cfg.id = optarg;
            break;
        case O_CHANGING:
            cfg.exec_changing = optarg;
            break;
        case O_CHANGED:
            cfg.exec_changed = optarg;
            break;
        case O_HEALTH:
            cfg.exec_health = optarg;
            break;
        case O_GROUP:
            cfg.group = optarg;
            break;
        case O_CFG_ING:
            cfg.config_changing = optarg;
            break;
        case O_CFG_ED:
            cfg.config_changed = optarg;
            break;
        case O_RESTART:
            cfg.exec_restart = optarg;
            break;
        case O_KEY:
            cfg.key_file = optarg;
            break;
        case O_BROKER_KEY:
            cfg.broker_key = optarg;
            break;
        case O_INSECURE:
            cfg.insecure = true;
            break;
        case O_STAMP_KEY:
            stamp_file = optarg;
            break;
        case O_ONCE:
            once = true;
            break;
        case O_CHECK:
            check = true;
            break;
        case O_JSON:
            json = true;
            break;
        case O_STATUS_FILE:
            status_file = optarg;
            break;
        case O_VERBOSE:
            cfg.verbose = true;
            break;
        case O_LOG_LEVEL:
        case O_LOG_FORMAT:
            if (c == O_LOG_LEVEL ? fc_log_optval_level(optarg, &log_level, msg, sizeof msg)
                                 : fc_log_optval_format(optarg, &log_format, msg, sizeof msg)) {
                fprintf(stderr, "fleetcast-agent: %s%s\n", s_where(), msg);
                return 1;
            }
            break;
        case O_CONFIG:
            break; /* read before the loop */
        case O_PRINT_VERSION:
            printf("fleetcast-agent %s\n", fc_version());
            return 0;
        case O_HELP:
            s_usage(stdout);
            return 0;
        case O_AUTO:
            policy = fc_agent_policy_parse(optarg);
            if (policy < 0) {
                fprintf(stderr,
                        "fleetcast-agent: %s--auto-update must be all, mandatory or "
                        "none, not '%s'\n",
                        s_where(), optarg);
                return 1;
            }
            cfg.policy = (fc_agent_policy_t)policy;
            break;
        case O_WINDOW:
            if (fc_optval_size("--window", optarg, 1, 1 << 30, &cfg.window, msg, sizeof msg)) {
                fprintf(stderr, "fleetcast-agent: %s%s\n", s_where(), msg);
                return 1;
            }
            break;
        case O_TIMEOUT:
        case O_RETRY:
        case O_FREEZE:
        case O_HOOK_TIMEOUT:
            if (!s_parse_secs(c == O_TIMEOUT  ? "--timeout"
                              : c == O_RETRY  ? "--retry"
                              : c == O_FREEZE ? "--freeze-after"
                                              : "--hook-timeout",
                              optarg, c == O_HOOK_TIMEOUT,
                              c == O_TIMEOUT  ? &cfg.timeout
                              : c == O_RETRY  ? &cfg.retry_interval
                              : c == O_FREEZE ? &cfg.freeze_after
                                              : &cfg.hook_timeout,
                              msg, sizeof msg)) {
                fprintf(stderr, "fleetcast-agent: %s%s%s\n", s_where(), msg,
                        c == O_HOOK_TIMEOUT ? "; 0 means no limit" : "");
                return 1;
            }
            break;
        default:
            fprintf(stderr, "fleetcast-agent: %s\ntry 'fleetcast-agent --help'\n",
                    fc_suggest_option(opts, argc, argv, msg, sizeof msg));
            return 1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "fleetcast-agent: unexpected argument '%s' (try --help)\n", argv[optind]);
        return 1;
    }
    if (once && check) {
        fprintf(stderr, "fleetcast-agent: --once and --check exclude each other\n");
        return 1;
    }
    if (json && !once && !check) {
        fprintf(stderr, "fleetcast-agent: --json goes with --once or --check\n");
        return 1;
    }
    if (stamp_file) {
        int kerr = fc_pubkey_load(stamp_pk, stamp_file);
        if (kerr) {
            fprintf(stderr, "fleetcast-agent: --timestamp-key %s: %s (want one signing.pub line)\n",
                    stamp_file, fc_strerror(kerr));
            return 1;
        }
        cfg.timestamp_pk = stamp_pk;
    }
    if (fc_agent_config_check(&cfg, msg, sizeof msg) != 0) {
        fprintf(stderr, "fleetcast-agent: %s\n", msg);
        return 1;
    }
    if (fc_crypto_init() != 0) {
        fprintf(stderr, "fleetcast-agent: libsodium failed to initialise\n");
        return 1;
    }
    /* CZMQ's handler turns SIGINT/SIGTERM into zsys_interrupted, which the engine polls. */
    zsys_init();
    fc_log_setup("fleetcast-agent", cfg.verbose ? FC_LOG_DEBUG : log_level, log_format, NULL);
    cfg.log = s_log_line;
    s_opts = opts;
    s_log_level = (int)log_level;
    s_log_format = (int)log_format;
    s_verbose = cfg.verbose;
    FILE *zlog = fc_log_zsys_stream();
    zsys_set_logstream(cfg.verbose ? (zlog ? zlog : stderr) : NULL);
    /* SIGHUP reloads (systemctl reload), never kills: caught from here on. */
    struct sigaction hup = {.sa_handler = s_on_hup, .sa_flags = SA_RESTART};
    sigemptyset(&hup.sa_mask);
    sigaction(SIGHUP, &hup, NULL);
    /* One agent per state directory: a second one would corrupt the journal. */
    pid_t holder = 0;
    int lock = fc_state_lock(cfg.state_dir, &holder, msg, sizeof msg);
    if (lock < 0) {
        fprintf(stderr, "fleetcast-agent: %s\n", msg);
        return 1;
    }
    int err = 0;
    fc_agent_t *agent = fc_agent_new(&cfg, &err);
    if (!agent) {
        fprintf(stderr, "fleetcast-agent: cannot start (install dir %s, state dir %s, keys): %s\n",
                cfg.install_dir, cfg.state_dir, fc_strerror(err));
        return 1;
    }
    if (status_file && fc_agent_status_file(agent, status_file) != 0) {
        fprintf(stderr, "fleetcast-agent: cannot write --status-file %s: %s\n", status_file,
                strerror(errno));
        fc_agent_destroy(&agent);
        return 1;
    }
    s_hup_agent = agent;
    int rc = 0;
    if (once || check) {
        fc_agent_result_t r;
        rc = fc_agent_run_once(agent, check, &r);
        if (json) {
            char *text = fc_agent_result_json(&r);
            printf("%s\n", text);
            free(text);
        } else if (check && rc != FC_AGENT_EXIT_ERROR)
            printf("%s\n", r.message);
        /* One line on stderr says how it ended (a check that worked says it on stdout). */
        if (!check || rc == FC_AGENT_EXIT_ERROR)
            fprintf(stderr, "fleetcast-agent: %s\n", r.message);
    } else {
        /* systemd's watchdog (WatchdogSec=): answered from the engine's loop, at a third of
           its interval, so only an engine that turns answers it. */
        uint64_t watchdog_ms = fc_notify_watchdog_ms();
        if (watchdog_ms)
            fc_agent_on_alive(agent, s_watchdog, NULL, watchdog_ms / 3);
        /* Ready once the engine exists: it connects (and keeps retrying) on its own. */
        fc_notify_ready("following the channel");
        fc_agent_run(agent);
        fc_notify_stopping();
    }
    s_hup_agent = NULL;
    fc_agent_destroy(&agent);
    close(lock);
    return rc;
}
