/* fc_fleetsim_opts.c: fleetcast-fleetsim's command line: its help text and option parsing. */
#define _GNU_SOURCE
#include "fc_fleetsim.h"
#include "fc_optval.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void s_usage(FILE *out)
{
    fprintf(out,
            "Usage: fleetcast-fleetsim (--broker EP | --start-broker) [options]\n"
            "\n"
            "Runs N fleetcast agent engines (libfleetcast) in this one process, each with its\n"
            "own sockets and state dir, waits until every one has synced and heard a heartbeat\n"
            "on its announce socket, then measures, in this order:\n"
            " - with --idle S: the broker's CPU over S seconds with every engine connected\n"
            "   and nothing to do (heartbeats, reports), as %% of one core;\n"
            " - with --bench-revoke: enrols a fresh agent key, revokes it, and times the\n"
            "   broker's re-bind of its announce socket and the reconnect of every engine\n"
            "   (until each heard a heartbeat again), with the broker's CPU;\n"
            " - with --bench-release MIB: a fresh release of one random MIB MiB file, pushed\n"
            "   (fleetcast release push) once every engine is connected, and the time from the\n"
            "   end of the push until every engine's install/current points at it, with the\n"
            "   broker's CPU and peak RSS;\n"
            " - config propagation: per round it publishes a signed SET revision\n"
            "   (" FC_SIM_KEY
            "=ROUND, scope global) and times, in each engine's changed callback,\n"
            "   how long after the push it ran.\n"
            "\n"
            "  -n, --agents N          engines to run (default 1000); ids PREFIX-0001...\n"
            "      --id-prefix NAME    agent id prefix (default sim)\n"
            "  -g, --group NAME        the engines' group\n"
            "  -b, --broker EP         broker service endpoint (tcp://HOST:PORT); a comma-\n"
            "                          separated list spreads the engines over them in turn\n"
            "                          (relays of one root: give the root as --publish)\n"
            "      --publish EP        push the release and publish the config revisions\n"
            "                          here (default: the first --broker); the rounds then\n"
            "                          do not wait for the engines' acks there (relays keep\n"
            "                          them)\n"
            "      --broker-pid PID    with --broker: the process whose CPU (--idle, the\n"
            "                          release) and RSS are measured (e.g. the root)\n"
            "      --follow            one fleet over several processes: publish nothing;\n"
            "                          the engines wait for --release-version (with\n"
            "                          --bench-release) and for --bench-config rounds that\n"
            "                          the one process without --follow publishes\n"
            "      --release-version V the release's version (default sim-TIME)\n"
            "      --times FILE        write the monotonic times of the push, of each round's\n"
            "                          revision and of every engine's install and changed\n"
            "                          callback, to merge the processes' figures\n"
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
            "      --bench-config ROUNDS  config rounds (default 5; 0 with --bench-release,\n"
            "                          --idle or --bench-revoke: none)\n"
            "      --bench-release MIB release benchmark with a MIB MiB payload (e.g. 64)\n"
            "      --discard           the engines fetch and verify every chunk but write none:\n"
            "                          their installed trees are sparse files that read as\n"
            "                          zeros (N x MIB would not fit on one disk). NOT a real\n"
            "                          install: no write, no fsync of data. Without it every\n"
            "                          engine writes, fsyncs and swaps the real tree (the\n"
            "                          default; refused if N x MIB does not fit where the\n"
            "                          engines' dirs are: the temp dir or --agents-dir)\n"
            "      --window KIB        the engines' GET_CHUNK window (default: the agent's,\n"
            "                          4096)\n"
            "      --tick-ms MS        each engine's loop wakes at least every MS ms when idle\n"
            "                          (default: the agent's 100); replies and announcements\n"
            "                          wake it at once, its timers fire up to MS late: a\n"
            "                          larger value fits more idle engines on a core\n"
            "      --release-timeout S give up waiting for the installs after S (default 900)\n"
            "      --cli-bin PATH      fleetcast CLI for the push (default:\n"
            "                          ../publisher/fleetcast next to this program)\n"
            "      --idle S            measure the broker's idle CPU over S seconds (after\n"
            "                          a 3 s settle)\n"
            "      --bench-revoke      revocation benchmark (with --start-broker, secure):\n"
            "                          the cost of the announce socket's re-bind\n"
            "      --round-timeout S   give up on a round after S seconds (default 60)\n"
            "      --sync-timeout S    wait this long for all engines to sync and hear a\n"
            "                          heartbeat (default 180)\n"
            "      --io-threads N      ZeroMQ I/O threads of the shared context (default 1)\n"
            "      --max-sockets N     ZeroMQ socket limit of the shared context (default: as\n"
            "                          many as libzmq allows); checked before any engine starts\n"
            "      --thread-stack KIB  default stack size of new threads (default: system)\n"
            "      --json              print a JSON summary on stdout (progress on stderr)\n"
            "      --agents-dir DIR    put the engines' state and install dirs in a new dir\n"
            "                          under DIR (e.g. a tmpfs such as /dev/shm) instead of\n"
            "                          the temp dir; the broker's data stays in the temp dir\n"
            "                          ($TMPDIR or /tmp). Each engine writes config.json and\n"
            "                          config.revs after its changed handler; 1000 engines\n"
            "                          doing so at once on one disk slow the whole process,\n"
            "                          a cost a real agent (one per machine) does not pay\n"
            "      --keep              keep the temp dir (broker data, agent states) and the\n"
            "                          --agents-dir one\n"
            "  -v, --verbose           print the engines' log lines\n"
            "  -h, --help\n"
            "\n"
            "A duration S is a number of seconds (0.5 too) or has a unit: 500ms, 30s, 5m, 1h.\n"
            "A bad value is refused, naming the option and the value.\n"
            "\n"
            "Exit status: 0 if every engine installed the release and converged in every\n"
            "round, 1 if not or on error, 2 on bad usage.\n");
}

int fc_simopts_parse(int argc, char **argv, fc_simopts_t *o)
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
                                         {"tick-ms", required_argument, NULL, 'H'},
                                         {"release-timeout", required_argument, NULL, 'X'},
                                         {"cli-bin", required_argument, NULL, 'C'},
                                         {"idle", required_argument, NULL, 'i'},
                                         {"bench-revoke", no_argument, NULL, 'V'},
                                         {"round-timeout", required_argument, NULL, 'T'},
                                         {"sync-timeout", required_argument, NULL, 'Y'},
                                         {"io-threads", required_argument, NULL, 'I'},
                                         {"max-sockets", required_argument, NULL, 'M'},
                                         {"thread-stack", required_argument, NULL, 'K'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"keep", no_argument, NULL, 'E'},
                                         {"agents-dir", required_argument, NULL, 'A'},
                                         {"verbose", no_argument, NULL, 'v'},
                                         {"help", no_argument, NULL, 'h'},
                                         {"broker-key", required_argument, NULL, 'x'},
                                         {"cert", required_argument, NULL, 'c'},
                                         {"agent-key", required_argument, NULL, 'a'},
                                         {"insecure", no_argument, NULL, 'U'},
                                         {"publish", required_argument, NULL, 'p'},
                                         {"broker-pid", required_argument, NULL, 'q'},
                                         {"follow", no_argument, NULL, 'F'},
                                         {"release-version", required_argument, NULL, 'Q'},
                                         {"times", required_argument, NULL, 'O'},
                                         {NULL, 0, NULL, 0}};
    *o = (fc_simopts_t){.prefix = "sim",
                        .agents = 1000,
                        .rounds = 5,
                        .io_threads = 1,
                        .round_timeout = 60,
                        .sync_timeout = 180,
                        .release_timeout = 900};
    int c;
    char msg[256];
    while ((c = getopt_long(argc, argv, "n:g:b:vh", opts, NULL)) != -1) {
        switch (c) {
        case 'n':
        case 'r':
        case 'I':
        case 'M':
        case 'K':
        case 'R':
        case 'H':
        case 'W': {
            uint64_t v = 0;
            uint64_t max = c == 'n'   ? 100000
                           : c == 'r' ? FC_SIM_MAX_ROUNDS
                           : c == 'I' ? 64
                           : c == 'H' ? 10000
                                      : 1 << 20;
            uint64_t min = c == 'K' || c == 'r' ? 0 : c == 'W' ? 64 : c == 'M' ? 16 : 1;
            const char *name = c == 'n'   ? "--agents"
                               : c == 'r' ? "--bench-config"
                               : c == 'I' ? "--io-threads"
                               : c == 'M' ? "--max-sockets"
                               : c == 'K' ? "--thread-stack"
                               : c == 'R' ? "--bench-release"
                               : c == 'H' ? "--tick-ms"
                                          : "--window";
            if (fc_optval_uint(name, optarg, min, max, &v, msg, sizeof msg)) {
                fprintf(stderr, "fleetcast-fleetsim: %s\n", msg);
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
            else if (c == 'H')
                o->tick_ms = (int)v;
            else if (c == 'I')
                o->io_threads = (int)v;
            else if (c == 'M')
                o->max_sockets = (size_t)v;
            else
                o->stack_kib = (size_t)v;
            break;
        }
        case 'T':
        case 'Y':
        case 'X':
        case 'i': {
            uint64_t ms = 0;
            const char *name = c == 'T'   ? "--round-timeout"
                               : c == 'Y' ? "--sync-timeout"
                               : c == 'X' ? "--release-timeout"
                                          : "--idle";
            if (fc_optval_duration(name, optarg, 1000, 1, 1000000000, &ms, msg, sizeof msg)) {
                fprintf(stderr, "fleetcast-fleetsim: %s\n", msg);
                return 2;
            }
            *(c == 'T'   ? &o->round_timeout
              : c == 'Y' ? &o->sync_timeout
              : c == 'X' ? &o->release_timeout
                         : &o->idle) = (double)ms / 1000;
            break;
        }
        case 'D':
            o->discard = true;
            break;
        case 'V':
            o->revoke = true;
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
            /* Split in place (argv is ours): each endpoint checked on its own. */
            o->broker = optarg;
            o->nbrokers = 0;
            for (char *save = NULL, *ep = strtok_r(optarg, ",", &save); ep;
                 ep = strtok_r(NULL, ",", &save)) {
                if (fc_optval_endpoint("--broker", ep, FC_OPTVAL_IPC, msg, sizeof msg)) {
                    fprintf(stderr, "fleetcast-fleetsim: %s\n", msg);
                    return 2;
                }
                if (o->nbrokers == FC_SIM_MAX_BROKERS) {
                    fprintf(stderr, "fleetcast-fleetsim: --broker: at most %d endpoints\n",
                            FC_SIM_MAX_BROKERS);
                    return 2;
                }
                o->brokers[o->nbrokers++] = ep;
            }
            if (o->nbrokers == 0) {
                fprintf(stderr, "fleetcast-fleetsim: --broker: no endpoint in '%s'\n", optarg);
                return 2;
            }
            break;
        case 'p':
            if (fc_optval_endpoint("--publish", optarg, FC_OPTVAL_IPC, msg, sizeof msg)) {
                fprintf(stderr, "fleetcast-fleetsim: %s\n", msg);
                return 2;
            }
            o->publish = optarg;
            break;
        case 'q': {
            uint64_t v = 0;
            if (fc_optval_uint("--broker-pid", optarg, 1, 1u << 22, &v, msg, sizeof msg)) {
                fprintf(stderr, "fleetcast-fleetsim: %s\n", msg);
                return 2;
            }
            o->broker_pid = (pid_t)v;
            break;
        }
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
        case 'F':
            o->follow = true;
            break;
        case 'Q':
            o->release_version = optarg;
            break;
        case 'O':
            o->times = optarg;
            break;
        case 'A':
            o->agents_dir = optarg;
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
    if (o->revoke && (!o->start_broker || o->insecure)) {
        fprintf(stderr, "fleetcast-fleetsim: --bench-revoke revokes a key of the broker it starts"
                        " (--start-broker, not --insecure)\n");
        return 2;
    }
    if (o->rounds == 0 && !o->release_mib && !o->idle && !o->revoke) {
        fprintf(stderr, "fleetcast-fleetsim: nothing to measure (--bench-config 0 alone)\n");
        return 2;
    }
    if (o->idle && !o->start_broker && !o->broker_pid) {
        fprintf(stderr, "fleetcast-fleetsim: --idle measures the broker it starts "
                        "(--start-broker), or the one --broker-pid names\n");
        return 2;
    }
    if (o->follow &&
        (!o->broker || o->idle || o->revoke || (o->release_mib && !o->release_version))) {
        fprintf(stderr, "fleetcast-fleetsim: --follow goes with --broker, not --idle or "
                        "--bench-revoke, and --bench-release needs --release-version\n");
        return 2;
    }
    if ((o->publish || o->broker_pid) && !o->broker) {
        fprintf(stderr, "fleetcast-fleetsim: --publish and --broker-pid go with --broker\n");
        return 2;
    }
    if (!o->rounds_given && (o->release_mib || o->idle || o->revoke))
        o->rounds = 0; /* only what was asked for */
    return 0;
}
