/* main.c: fleetcast-broker: parse options, start the broker actor, run until a signal. */
#include "fc_broker.h"
#include "fc_conffile.h"
#include "fc_curve.h"
#include "fc_error.h"
#include "fc_file.h"
#include "fc_hash.h"
#include "fc_http.h"
#include "fc_key.h"
#include "fc_log.h"
#include "fc_manifest.h"
#include "fc_notify.h"
#include "fc_optval.h"
#include "fc_refusals.h"
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

#define S_DEFAULT_SERVICE "tcp://*:7400"
#define S_DEFAULT_ANNOUNCE "tcp://*:7401"
#define S_SEE_HELP "(see fleetcast-broker --help)\n"

static void s_usage(FILE *out)
{
    fprintf(out,
            "Usage: fleetcast-broker --data DIR [options]\n"
            "\n"
            "Stores releases and config revisions and serves them to fleetcast publishers and\n"
            "agents over ZeroMQ; keeps fleet status and an audit log.\n"
            "\n"
            "  -d, --data DIR        data directory (created if missing): fleetcast.db,\n"
            "                        blobs/ and incoming/ live here\n"
            "      --store DB        the database: a SQLite file (default DIR/fleetcast.db)\n"
            "                        or a PostgreSQL server, postgresql://USER@HOST:PORT/DB\n"
            "                        or 'host=... dbname=...' (libpq; keep a password in\n"
            "                        ~/.pgpass or PGPASSFILE, not on the command line).\n"
            "                        Blobs stay under DIR. A lost connection is opened\n"
            "                        again (at once, then every 500 ms while it fails);\n"
            "                        list a primary and its standbys with\n"
            "                        target_session_attrs=read-write (postgresql://H1:P1,\n"
            "                        H2:P2/DB?target_session_attrs=read-write) to follow a\n"
            "                        promoted standby. An operation that met the loss fails:\n"
            "                        run it again\n"
            "  -s, --service EP      bind the request (ROUTER) socket to EP: tcp://HOST:PORT\n"
            "                        (HOST or PORT may be *) or ipc://PATH\n"
            "                        (default " S_DEFAULT_SERVICE ")\n"
            "  -a, --announce EP     bind the announcement (PUB) socket to EP\n"
            "                        (default " S_DEFAULT_ANNOUNCE ")\n"
            "      --insecure        no CURVE: plain TCP, anyone who can connect may push\n"
            "                        releases and config (local development only; said\n"
            "                        loudly on stderr at every start); a relay's upstream\n"
            "                        link is plain too\n"
            "      --restart-share PERCENT\n"
            "                        config changes that need a restart: at most PERCENT of\n"
            "                        the agents a revision applies to restart at once (at\n"
            "                        least one; the next wave starts as they report back or\n"
            "                        after 60 s), 1..100, a trailing %% is fine (default\n"
            "                        25); the agents of one agent key hold at most 8 slots\n"
            "                        at once\n"
            "      --timestamp-key FILE\n"
            "                        sign every heartbeat's time with this signing.key\n"
            "                        (fleetcast keygen); agents pinning its signing.pub\n"
            "                        (fleetcast-agent --timestamp-key) notice a broker that\n"
            "                        is frozen or replayed. Without it heartbeats are unsigned\n"
            "      --offline-after SECS\n"
            "                        an agent not heard for this long is offline (fleetcast\n"
            "                        status, release status), and release rollout waves are\n"
            "                        drawn from the agents online (default 30: three of an\n"
            "                        agent's 10-second status reports; 1s..1d)\n"
            "      --heartbeat DURATION\n"
            "                        announce a heartbeat this often (500ms, 2s, 1m; a bare\n"
            "                        number is seconds; default 1s; 100ms..10m). Agents are\n"
            "                        told it and judge the broker's silence by it; longer\n"
            "                        beats send fewer messages but a lost last announcement\n"
            "                        is noticed later\n"
            "      --http EP         serve metrics and the fleet page over HTTP on EP,\n"
            "                        tcp://HOST:PORT with HOST an IPv4 address, localhost\n"
            "                        or * (e.g. " FC_HTTP_DEFAULT "): /metrics\n"
            "                        (Prometheus), / (live fleet page), /events (its\n"
            "                        server-sent events), /fleet.json; read-only\n"
            "      --http-token FILE every HTTP request must carry the token in FILE (its\n"
            "                        first line, at least 16 bytes) as 'Authorization:\n"
            "                        Bearer TOKEN' or as a Basic password; required unless\n"
            "                        HOST is loopback (127.0.0.0/8)\n"
            "      --upstream EP     run as a relay of the broker whose service endpoint is\n"
            "                        EP (tcp://HOST:PORT): mirror its signed releases, fetch\n"
            "                        their blobs from it when an agent first asks (each piece\n"
            "                        once, whatever number of agents want it), serve agents\n"
            "                        as any broker does, refuse publisher operations (they go\n"
            "                        to EP); config revisions and trusted-key lists are\n"
            "                        mirrored too, with the root's config canary halts, its\n"
            "                        release rollout waves (the agents of the root's share,\n"
            "                        by its rank cut; promote, pause and halts at the root\n"
            "                        hold here), its signed heartbeat timestamps and (with\n"
            "                        keys on both links) the agent keys enrolled at EP:\n"
            "                        written into DIR/keys/agents, removed there when\n"
            "                        revoked at EP (DIR/relay-agent-keys records them). Its\n"
            "                        agents' reports and config acks go up in batches and\n"
            "                        their restart slots are decided by EP, so status at the\n"
            "                        root lists them (README, Relays)\n"
            "      --relay-name NAME this relay's name, the 'via' the root lists its agents\n"
            "                        with (default: the host name)\n"
            "      --upstream-key FILE\n"
            "                        the upstream broker's public cert (its broker.cert);\n"
            "                        required with --upstream unless --insecure\n"
            "      --cert FILE       this relay's own key on the upstream link (a secret\n"
            "                        cert; default DIR/broker.cert_secret), enrolled at the\n"
            "                        upstream with 'fleetcast keys add-relay' (reads what\n"
            "                        agents read, and the enrolled agent keys)\n"
            "      --cache-max SIZE  a relay's fetched blobs are a cache of at most SIZE\n"
            "                        bytes (K, M, G: KiB, MiB, GiB): the least recently\n"
            "                        fetched or asked for are evicted, and fetched again\n"
            "                        when an agent asks; never one in transfer (see\n"
            "                        --cache-pin): over SIZE with every blob in transfer it\n"
            "                        serves on and says so once. Manifests and objects\n"
            "                        always stay. Default: no bound\n"
            "      --cache-pin SECS  a blob an agent asked for (or the relay fetched) within\n"
            "                        SECS is in transfer and not evicted (default 60;\n"
            "                        1s..1d)\n"
            "  -v, --verbose         log every request to stderr\n"
            "  -h, --help            show this help and exit\n"
            "      --version         print the version and exit\n"
            "      --config FILE     settings as 'name = value' lines, any long option\n"
            "                        without its dashes (default /etc/fleetcast/broker.conf\n"
            "                        if it exists); the command line wins\n"
            "      --log-level LEVEL error, warning, notice, info (default) or debug\n"
            "      --log-format FMT  text (default: RFC 3339 time, level, program, message;\n"
            "                        the journal's <N> priority instead of the time when\n"
            "                        stderr is the journal) or json (one object a line)\n"
            "\n"
            "Security (the default): CURVE on both sockets. The broker's own certificate is\n"
            "DIR/broker.cert_secret (make it once with 'fleetcast keygen --role broker --out\n"
            "DIR'; give DIR/broker.cert to agents and publishers as --broker-key). A ZAP\n"
            "handler admits only the keys enrolled under DIR/keys/agents (may fetch and\n"
            "report), DIR/keys/relays (relay brokers: read what agents read, and the\n"
            "agent keys enrolled here, which relays mirror) and\n"
            "DIR/keys/publishers (may also push, commit, change config and read status and\n"
            "audit): 'fleetcast keys add-agent|add-relay|add-publisher|revoke KEY --data\n"
            "DIR', or copy a public .cert file there; changes count within a second, no\n"
            "restart. Without DIR/broker.cert_secret the broker refuses to start.\n"
            "\n"
            "Runs until SIGINT or SIGTERM. Exit status: 0 after a clean stop, 1 if the broker\n"
            "cannot start (data directory, database, endpoint, no broker key, an --http\n"
            "endpoint that cannot be bound, is not loopback and has no --http-token, or an\n"
            "unreadable token file), 2 on bad usage.\n");
}

/* Set by the SIGHUP handler (a handler can reach nothing else), taken by main's loop. */
static volatile sig_atomic_t s_hangups;

static void s_on_hup(int sig)
{
    (void)sig;
    s_hangups = 1;
}

/* The config file's settings (kept for the life of the process: argv points into them). */
static fc_conffile_t *s_conf;
#define S_DEFAULT_CONF "/etc/fleetcast/broker.conf"

/* "FILE line N, key K: " when the option being parsed came from the config file. */
static const char *s_where(void)
{
    static char buf[FC_MAX_TEXT];
    return fc_conffile_where(s_conf, optind - 1, buf, sizeof buf);
}

int main(int argc, char *argv[])
{
    const char *data = NULL, *service = S_DEFAULT_SERVICE, *announce = S_DEFAULT_ANNOUNCE;
    bool verbose = false, insecure = false;
    uint32_t restart_share = 25;
    const char *stamp_file = NULL;
    uint64_t offline_ms = 0, heartbeat_ms = 0;
    const char *http = NULL, *http_token_file = NULL;
    const char *upstream = NULL, *upstream_key = NULL, *cert = NULL, *relay_name = NULL;
    const char *store = NULL;
    uint64_t cache_max = 0, cache_pin_ms = 0;
    fc_log_level_t log_level = FC_LOG_INFO;
    fc_log_format_t log_format = FC_LOG_TEXT;
    static const struct option options[] = {{"data", required_argument, NULL, 'd'},
                                            {"store", required_argument, NULL, 'D'},
                                            {"service", required_argument, NULL, 's'},
                                            {"announce", required_argument, NULL, 'a'},
                                            {"insecure", no_argument, NULL, 'i'},
                                            {"restart-share", required_argument, NULL, 'r'},
                                            {"timestamp-key", required_argument, NULL, 't'},
                                            {"offline-after", required_argument, NULL, 'o'},
                                            {"heartbeat", required_argument, NULL, 'B'},
                                            {"http", required_argument, NULL, 'H'},
                                            {"http-token", required_argument, NULL, 'T'},
                                            {"upstream", required_argument, NULL, 'U'},
                                            {"upstream-key", required_argument, NULL, 'K'},
                                            {"relay-name", required_argument, NULL, 'N'},
                                            {"cert", required_argument, NULL, 'c'},
                                            {"cache-max", required_argument, NULL, 'M'},
                                            {"cache-pin", required_argument, NULL, 'P'},
                                            {"verbose", no_argument, NULL, 'v'},
                                            {"help", no_argument, NULL, 'h'},
                                            {"version", no_argument, NULL, 'V'},
                                            {"log-level", required_argument, NULL, 'L'},
                                            {"log-format", required_argument, NULL, 'F'},
                                            {"config", required_argument, NULL, 'C'},
                                            {NULL, 0, NULL, 0}};
    int c;
    char msg[1024];
    /* The config file's settings first, the command line's after them (it wins). */
    const char *conf_path = fc_conffile_arg(argc, argv);
    if (!conf_path && access(S_DEFAULT_CONF, F_OK) == 0)
        conf_path = S_DEFAULT_CONF;
    if (conf_path && !(s_conf = fc_conffile_load(conf_path, options, msg, sizeof msg))) {
        fprintf(stderr, "fleetcast-broker: %s\n", msg);
        return 2;
    }
    argv = fc_conffile_argv(s_conf, argc, argv, &argc);
    if (!argv)
        return 1;
    opterr = 0; /* one short line with the closest option instead of getopt's */
    while ((c = getopt_long(argc, argv, "d:s:a:vh", options, NULL)) != -1) {
        switch (c) {
        case 'd':
            data = optarg;
            break;
        case 'D':
            store = optarg;
            break;
        case 's':
        case 'a':
            /* ipc:// too: an agent on the same machine reaches it; inproc:// never could. */
            if (fc_optval_endpoint(c == 's' ? "--service" : "--announce", optarg,
                                   FC_OPTVAL_BIND | FC_OPTVAL_IPC, msg, sizeof msg)) {
                fprintf(stderr, "fleetcast-broker: %s%s\n", s_where(), msg);
                return 2;
            }
            *(c == 's' ? &service : &announce) = optarg;
            break;
        case 'i':
            insecure = true;
            break;
        case 'r':
            if (fc_optval_percent("--restart-share", optarg, 1, 100, &restart_share, msg,
                                  sizeof msg)) {
                fprintf(stderr, "fleetcast-broker: %s%s\n", s_where(), msg);
                return 2;
            }
            break;
        case 't':
            stamp_file = optarg;
            break;
        case 'o':
            if (fc_optval_duration("--offline-after", optarg, 1000, 1000, 86400000, &offline_ms,
                                   msg, sizeof msg)) {
                fprintf(stderr, "fleetcast-broker: %s\n", msg);
                return 2;
            }
            break;
        case 'B':
            if (fc_optval_duration("--heartbeat", optarg, 1000, 100, 600000, &heartbeat_ms, msg,
                                   sizeof msg)) {
                fprintf(stderr, "fleetcast-broker: %s%s\n", s_where(), msg);
                return 2;
            }
            break;
        case 'H':
            http = optarg;
            break;
        case 'T':
            http_token_file = optarg;
            break;
        case 'U':
            if (fc_optval_endpoint("--upstream", optarg, 0, msg, sizeof msg)) {
                fprintf(stderr, "fleetcast-broker: %s%s\n", s_where(), msg);
                return 2;
            }
            upstream = optarg;
            break;
        case 'K':
            upstream_key = optarg;
            break;
        case 'N':
            if (!fc_name_valid(optarg)) {
                fprintf(stderr,
                        "fleetcast-broker: %s--relay-name: '%s' is not a name (1 to 64 "
                        "of A-Z a-z 0-9 . _ + -)\n",
                        s_where(), optarg);
                return 2;
            }
            relay_name = optarg;
            break;
        case 'c':
            cert = optarg;
            break;
        case 'M':
        case 'P':
            if (c == 'M' ? fc_optval_size("--cache-max", optarg, 1, UINT64_MAX, &cache_max, msg,
                                          sizeof msg)
                         : fc_optval_duration("--cache-pin", optarg, 1000, 1000, 86400000,
                                              &cache_pin_ms, msg, sizeof msg)) {
                fprintf(stderr, "fleetcast-broker: %s%s\n", s_where(), msg);
                return 2;
            }
            break;
        case 'v':
            verbose = true;
            break;
        case 'L':
        case 'F':
            if (c == 'L' ? fc_log_optval_level(optarg, &log_level, msg, sizeof msg)
                         : fc_log_optval_format(optarg, &log_format, msg, sizeof msg)) {
                fprintf(stderr, "fleetcast-broker: %s%s\n", s_where(), msg);
                return 2;
            }
            break;
        case 'C':
            break; /* read before the loop */
        case 'V':
            printf("fleetcast-broker %s\n", fc_version());
            return 0;
        case 'h':
            s_usage(stdout);
            return 0;
        default:
            fprintf(stderr, "fleetcast-broker: %s\n" S_SEE_HELP,
                    fc_suggest_option(options, argc, argv, msg, sizeof msg));
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "fleetcast-broker: unexpected argument '%s'\n" S_SEE_HELP, argv[optind]);
        return 2;
    }
    if (!data || !*data) {
        fprintf(stderr, "fleetcast-broker: --data DIR is required\n" S_SEE_HELP);
        return 2;
    }
    if ((upstream_key || cert || cache_max || cache_pin_ms) && !upstream) {
        fprintf(stderr, "fleetcast-broker: --%s needs --upstream\n",
                upstream_key ? "upstream-key"
                : cert       ? "cert"
                : cache_max  ? "cache-max"
                             : "cache-pin");
        return 2;
    }
    if (upstream && !insecure && !upstream_key) {
        fprintf(stderr, "fleetcast-broker: --upstream needs --upstream-key FILE (the upstream "
                        "broker's broker.cert), or --insecure\n");
        return 2;
    }
    if (http_token_file && !http) {
        fprintf(stderr, "fleetcast-broker: --http-token needs --http\n");
        return 2;
    }
    bool http_loopback = true;
    if (http && !fc_http_endpoint_check(http, &http_loopback, msg, sizeof msg)) {
        fprintf(stderr, "fleetcast-broker: --http: %s\n", msg);
        return 2;
    }
    if (fc_crypto_init() != 0) {
        fprintf(stderr, "fleetcast-broker: cannot initialise libsodium\n");
        return 1;
    }
    if (fc_mkdirs(data, 0750) != 0) {
        fprintf(stderr, "fleetcast-broker: cannot create data directory %s: %s\n", data,
                strerror(errno));
        return 1;
    }
    fc_signkey_t stamp_key;
    if (stamp_file) {
        int kerr = fc_signkey_load(&stamp_key, stamp_file);
        if (kerr) {
            fprintf(stderr, "fleetcast-broker: cannot load --timestamp-key %s: %s\n", stamp_file,
                    fc_strerror(kerr));
            return 1;
        }
    }
    zsys_init();
    /* One format for our lines and CZMQ's (zauth's too). */
    fc_log_setup("fleetcast-broker", verbose ? FC_LOG_DEBUG : log_level, log_format, NULL);
    FILE *zlog = fc_log_zsys_stream();
    zsys_set_logstream(zlog ? zlog : stderr);
    fc_refusals_t *refusals = fc_refusals_new(verbose);
    if (refusals)
        fc_log_zsys_filter(fc_refusals_filter, refusals);
    zsys_catch_interrupts();
    /* HTTP first: a broker that cannot serve what it was asked to does not start at all. */
    fc_view_hub_t *hub = NULL;
    fc_http_t *httpd = NULL;
    if (http) {
        char *token = http_token_file ? fc_http_token_load(http_token_file, msg, sizeof msg) : NULL;
        if (http_token_file && !token) {
            fc_log(FC_LOG_ERROR, "--http-token: %s", msg);
            fc_log_zsys_filter(NULL, NULL);
            fc_refusals_destroy(&refusals);
            return 1;
        }
        hub = fc_view_hub_new();
        httpd = fc_http_new(http, token, hub, msg, sizeof msg);
        if (token)
            explicit_bzero(token, strlen(token));
        free(token);
        if (!httpd) {
            fc_log(FC_LOG_ERROR, "%s", msg);
            fc_view_hub_destroy(&hub);
            fc_log_zsys_filter(NULL, NULL);
            fc_refusals_destroy(&refusals);
            return 1;
        }
    }
    /* SIGHUP (systemctl reload) must not kill the broker. */
    struct sigaction hup = {.sa_handler = s_on_hup, .sa_flags = SA_RESTART};
    sigemptyset(&hup.sa_mask);
    sigaction(SIGHUP, &hup, NULL);

    /* A relay's key on the upstream link: its own broker key unless told otherwise. */
    fc_curve_t *upstream_curve = NULL;
    if (upstream && !insecure) {
        char path[4096];
        snprintf(path, sizeof path, "%s/" FC_BROKER_CERT_SECRET, data);
        int cerr = FC_OK;
        upstream_curve =
            fc_curve_new_client(cert ? cert : path, upstream_key, &cerr, msg, sizeof msg);
        if (!upstream_curve) {
            fc_log(FC_LOG_ERROR, "relay's upstream link: %s", msg);
            fc_log_zsys_filter(NULL, NULL);
            fc_refusals_destroy(&refusals);
            fc_http_destroy(&httpd);
            fc_view_hub_destroy(&hub);
            return 1;
        }
    }
    fc_broker_config_t config = {.data_dir = data,
                                 .store = store,
                                 .upstream = upstream,
                                 .upstream_curve = upstream_curve,
                                 .relay_name = relay_name,
                                 .cache_max = cache_max,
                                 .cache_pin_s = (int64_t)(cache_pin_ms / 1000),
                                 .service = service,
                                 .announce = announce,
                                 .verbose = verbose,
                                 .restart_share = restart_share,
                                 .heartbeat_ms = (int)heartbeat_ms,
                                 .offline_after_s = (int64_t)((offline_ms + 999) / 1000),
                                 .secure = !insecure,
                                 .timestamp_key = stamp_file ? &stamp_key : NULL,
                                 .view_hub = hub};
    if (insecure)
        fc_log(FC_LOG_WARNING,
               "WARNING: INSECURE MODE (--insecure): no CURVE, no authentication; anyone who "
               "can reach %s may push releases and config to the fleet",
               service);
    int err = FC_OK;
    char text[FC_MAX_TEXT + 1] = "";
    fc_broker_t *broker = fc_broker_new(&config, &err, text, sizeof text);
    if (stamp_file)
        fc_signkey_wipe(&stamp_key);   /* the broker keeps its own copy */
    fc_curve_destroy(&upstream_curve); /* likewise */
    if (!broker) {
        fc_log(FC_LOG_ERROR, "%s", *text ? text : fc_strerror(err));
        fc_log_zsys_filter(NULL, NULL);
        fc_refusals_destroy(&refusals);
        fc_http_destroy(&httpd);
        fc_view_hub_destroy(&hub);
        return 1;
    }
    fc_log(FC_LOG_NOTICE, "version %s serving %s, announcing %s, data %s, %s%s%s", fc_version(),
           fc_broker_service_endpoint(broker), fc_broker_announce_endpoint(broker), data,
           insecure ? "INSECURE" : "CURVE (keys in DATA/keys)", upstream ? ", relay of " : "",
           upstream ? upstream : "");
    if (httpd)
        fc_log(FC_LOG_NOTICE, "HTTP on port %d (%s)", fc_http_port(httpd),
               http_token_file ? "token required" : "loopback, no token");
    fc_notify_ready("serving");
    /* systemd's watchdog (WatchdogSec=): petted from this loop at a third of its interval. */
    uint64_t watchdog_ms = fc_notify_watchdog_ms();
    int64_t next_pet = 0;
    while (!zsys_interrupted) {
        zclock_sleep(200);
        if (watchdog_ms && zclock_mono() >= next_pet) {
            fc_notify_watchdog();
            next_pet = zclock_mono() + (int64_t)(watchdog_ms / 3);
        }
        if (s_hangups) {
            s_hangups = 0;
            fc_notify_reloading();
            /* Enrolled keys are read again every second anyway (fc_keyring); the config
               file is read again (its log settings apply now), and the log's journal mode
               decided again (stderr may have been handed over). */
            fc_log(FC_LOG_NOTICE, "SIGHUP: enrolled keys are re-read within a second");
            int lvl = (int)log_level, fmt = (int)log_format;
            fc_conffile_reread(s_conf, options, &lvl, &fmt);
            log_level = (fc_log_level_t)lvl;
            log_format = (fc_log_format_t)fmt;
            fc_log_setup("fleetcast-broker", verbose ? FC_LOG_DEBUG : log_level, log_format, NULL);
            fc_notify_ready("serving");
        }
    }
    fc_notify_stopping();
    fc_broker_destroy(&broker);
    fc_http_destroy(&httpd);
    fc_view_hub_destroy(&hub);
    fc_log_zsys_filter(NULL, NULL);
    fc_refusals_destroy(&refusals);
    fc_log(FC_LOG_NOTICE, "stopped");
    return 0;
}
