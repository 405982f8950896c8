/* main.c: fleetcast-broker: parse options, start the broker actor, run until a signal. */
#include "fc_broker.h"
#include "fc_error.h"
#include "fc_file.h"
#include "fc_hash.h"
#include "fc_key.h"
#include "fc_optval.h"
#include "fc_suggest.h"
#include "fc_version.h"

#include <czmq.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
            "  -s, --service EP      bind the request (ROUTER) socket to EP: tcp://HOST:PORT\n"
            "                        (HOST or PORT may be *) or ipc://PATH\n"
            "                        (default " S_DEFAULT_SERVICE ")\n"
            "  -a, --announce EP     bind the announcement (PUB) socket to EP\n"
            "                        (default " S_DEFAULT_ANNOUNCE ")\n"
            "      --insecure        no CURVE: plain TCP, anyone who can connect may push\n"
            "                        releases and config (local development only; said\n"
            "                        loudly on stderr at every start)\n"
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
            "  -v, --verbose         log every request to stderr\n"
            "  -h, --help            show this help and exit\n"
            "      --version         print the version and exit\n"
            "\n"
            "Security (the default): CURVE on both sockets. The broker's own certificate is\n"
            "DIR/broker.cert_secret (make it once with 'fleetcast keygen --role broker --out\n"
            "DIR'; give DIR/broker.cert to agents and publishers as --broker-key). A ZAP\n"
            "handler admits only the keys enrolled under DIR/keys/agents (may fetch and\n"
            "report) and DIR/keys/publishers (may also push, commit, change config and read\n"
            "status and audit): 'fleetcast keys add-agent|add-publisher|revoke KEY --data\n"
            "DIR', or copy a public .cert file there; changes count within a second, no\n"
            "restart. Without DIR/broker.cert_secret the broker refuses to start.\n"
            "\n"
            "Runs until SIGINT or SIGTERM. Exit status: 0 after a clean stop, 1 if the broker\n"
            "cannot start (data directory, database, endpoint, or no broker key), 2 on bad\n"
            "usage.\n");
}

/* Set by the SIGHUP handler (a handler can reach nothing else), taken by main's loop. */
static volatile sig_atomic_t s_hangups;

static void s_on_hup(int sig)
{
    (void)sig;
    s_hangups = 1;
}

int main(int argc, char *argv[])
{
    const char *data = NULL, *service = S_DEFAULT_SERVICE, *announce = S_DEFAULT_ANNOUNCE;
    bool verbose = false, insecure = false;
    uint32_t restart_share = 25;
    const char *stamp_file = NULL;
    static const struct option options[] = {{"data", required_argument, NULL, 'd'},
                                            {"service", required_argument, NULL, 's'},
                                            {"announce", required_argument, NULL, 'a'},
                                            {"insecure", no_argument, NULL, 'i'},
                                            {"restart-share", required_argument, NULL, 'r'},
                                            {"timestamp-key", required_argument, NULL, 't'},
                                            {"verbose", no_argument, NULL, 'v'},
                                            {"help", no_argument, NULL, 'h'},
                                            {"version", no_argument, NULL, 'V'},
                                            {NULL, 0, NULL, 0}};
    int c;
    char msg[256];
    opterr = 0; /* one short line with the closest option instead of getopt's */
    while ((c = getopt_long(argc, argv, "d:s:a:vh", options, NULL)) != -1) {
        switch (c) {
        case 'd':
            data = optarg;
            break;
        case 's':
        case 'a':
            /* ipc:// too: an agent on the same machine reaches it; inproc:// never could. */
            if (fc_optval_endpoint(c == 's' ? "--service" : "--announce", optarg,
                                   FC_OPTVAL_BIND | FC_OPTVAL_IPC, msg, sizeof msg)) {
                fprintf(stderr, "fleetcast-broker: %s\n", msg);
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
                fprintf(stderr, "fleetcast-broker: %s\n", msg);
                return 2;
            }
            break;
        case 't':
            stamp_file = optarg;
            break;
        case 'v':
            verbose = true;
            break;
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
    zsys_set_logstream(stderr);
    zsys_catch_interrupts();
    /* SIGHUP (systemctl reload) must not kill the broker. */
    struct sigaction hup = {.sa_handler = s_on_hup, .sa_flags = SA_RESTART};
    sigemptyset(&hup.sa_mask);
    sigaction(SIGHUP, &hup, NULL);

    fc_broker_config_t config = {.data_dir = data,
                                 .service = service,
                                 .announce = announce,
                                 .verbose = verbose,
                                 .restart_share = restart_share,
                                 .secure = !insecure,
                                 .timestamp_key = stamp_file ? &stamp_key : NULL};
    if (insecure)
        fprintf(stderr,
                "fleetcast-broker: WARNING: INSECURE MODE (--insecure): no CURVE, no\n"
                "fleetcast-broker: WARNING: authentication; anyone who can reach %s\n"
                "fleetcast-broker: WARNING: may push releases and config to the fleet\n",
                service);
    int err = FC_OK;
    char text[FC_MAX_TEXT + 1] = "";
    fc_broker_t *broker = fc_broker_new(&config, &err, text, sizeof text);
    if (stamp_file)
        fc_signkey_wipe(&stamp_key); /* the broker keeps its own copy */
    if (!broker) {
        fprintf(stderr, "fleetcast-broker: %s\n", *text ? text : fc_strerror(err));
        return 1;
    }
    fprintf(stderr, "fleetcast-broker: serving %s, announcing %s, data %s, %s\n",
            fc_broker_service_endpoint(broker), fc_broker_announce_endpoint(broker), data,
            insecure ? "INSECURE" : "CURVE (keys in DATA/keys)");
    while (!zsys_interrupted) {
        zclock_sleep(200);
        if (s_hangups) {
            s_hangups = 0;
            /* Enrolled keys are read again every second anyway (fc_keyring). */
            fprintf(stderr, "fleetcast-broker: SIGHUP: enrolled keys are re-read within a "
                            "second; nothing else to reload\n");
        }
    }
    fc_broker_destroy(&broker);
    fprintf(stderr, "fleetcast-broker: stopped\n");
    return 0;
}
