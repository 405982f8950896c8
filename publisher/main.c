/* main.c: the operator CLI `fleetcast`: keys, release push and list, fleet status, runtime
   configuration (fc_config_cmd.c). */
#include <czmq.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fc_client.h"
#include "fc_conffile.h"
#include "fc_config_cmd.h"
#include "fc_error.h"
#include "fc_hash.h"
#include "fc_json.h"
#include "fc_key.h"
#include "fc_keys_cmd.h"
#include "fc_optval.h"
#include "fc_progress.h"
#include "fc_push.h"
#include "fc_state.h"
#include "fc_suggest.h"
#include "fc_text.h"
#include "fc_trust_cmd.h"
#include "fc_version.h"

static const char *s_usage =
    "usage: fleetcast [--broker ENDPOINT] [--broker-key KEY] [--cert FILE | --insecure]\n"
    "                 [--timeout SECS] [--json] COMMAND ...\n"
    "\n"
    "Keys (local files, no broker needed):\n"
    "  keygen --out DIR [--role publisher|agent|broker]\n"
    "                                   publisher (default): signing key pair (Ed25519)\n"
    "                                   DIR/signing.key (secret, 0600) and signing.pub, and\n"
    "                                   the CURVE certificate DIR/publisher.cert_secret\n"
    "                                   (0600) and publisher.cert; agent: DIR/agent.cert\n"
    "                                   (+_secret); broker: DIR/broker.cert (+_secret) --\n"
    "                                   use the broker's data dir as DIR. Secrets are never\n"
    "                                   overwritten\n"
    "  keys add-agent KEY --data DIR    enrol an agent's CURVE key (Z85 or .cert file) on\n"
    "                                   the broker with data dir DIR (DIR/keys/agents/)\n"
    "  keys add-publisher KEY --data DIR\n"
    "                                   enrol a publisher key (DIR/keys/publishers/)\n"
    "  keys revoke KEY --data DIR       remove a key from both; the broker refuses its new\n"
    "                                   connections and requests within a second\n"
    "  keys list --data DIR             enrolled keys: role, key, file\n"
    "                                   (quote Z85 keys for the shell; one starting with '-'\n"
    "                                   goes last, after --)\n"
    "\n"
    "Broker commands:\n"
    "  keys rotate --key FILE --trust NEWKEYS [--serial N]\n"
    "                                   publish a trusted-key list (NEWKEYS: signing.pub\n"
    "                                   lines, at most 64) signed by --key, a key agents\n"
    "                                   trust now; agents switch to it at once and keep it\n"
    "                                   across restarts: releases and config signed only by\n"
    "                                   keys left out are refused from then on\n"
    "  keys trusted                     the broker's current trusted-key list\n"
    "  release push DIR --channel NAME --version VER --key FILE\n"
    "               [--mandatory] [--min-version VER] [--serial N] [--product NAME]\n"
    "                                   hash, sign and upload DIR as a release; only what the\n"
    "                                   broker lacks is sent, so a re-run resumes a failed push;\n"
    "                                   when the channel's latest release is VER with the same\n"
    "                                   content, nothing is committed (exit 0, its serial is\n"
    "                                   shown); VER with other content is refused: use a new\n"
    "                                   version\n"
    "  release list [--channel NAME]    releases on the broker, newest first\n"
    "  status [--channel NAME]          every agent seen: id, channel, installed version,\n"
    "                                   state, progress, last seen\n"
    "\n"
    "Runtime configuration (commands that publish sign a revision with --key FILE):\n"
    "  config set KEY=VALUE... --key FILE [--scope SCOPE] [--message TEXT]\n"
    "             [--canary PERCENT] [--halt-percent N]\n"
    "                                   one atomic revision; VALUE is JSON if it parses\n"
    "                                   (42, 1.5, true, \"text\", {\"a\":1}), else a string;\n"
    "                                   SCOPE is global (default), group:NAME or agent:ID;\n"
    "                                   --canary applies it to that share of the agents\n"
    "                                   first and halts it when more than N% of those\n"
    "                                   fail (default 20)\n"
    "  config unset KEY... --key FILE [--scope SCOPE]\n"
    "  config get [KEY] [--scope SCOPE | --agent ID [--group NAME]]\n"
    "                                   a scope's own values, or what agent ID sees\n"
    "  config history                   every revision: when, scope, signer, changes\n"
    "  config diff REV1 REV2 [--scope SCOPE | --agent ID [--group NAME]]\n"
    "  config rollback REV --key FILE [--scope SCOPE]\n"
    "                                   a new revision restoring REV's values of the keys\n"
    "                                   changed since\n"
    "  config schema set FILE --key FILE\n"
    "                                   types, bounds, enums, hot or restart per key; later\n"
    "                                   changes that break it are refused before publishing\n"
    "  config status [REV]              how many agents applied, restarted, vetoed, failed,\n"
    "                                   need a restart, were unchanged or have not answered\n"
    "                                   (pending), and which; HALTED with the reason when a\n"
    "                                   canary failed\n"
    "  config promote REV --key FILE    widen a canary revision to every matching agent\n"
    "                                   (refused when it is halted)\n"
    "  audit                            the broker's audit log: time, who, action, result\n"
    "\n"
    "Options:\n"
    "  --broker ENDPOINT   broker service endpoint, tcp://HOST:PORT or ipc://PATH (default\n"
    "                      $FLEETCAST_BROKER or tcp://127.0.0.1:7400)\n"
    "  --timeout SECS      give up when the broker does not answer for this long (default 30;\n"
    "                      1s..1000000s, a unit may follow: 90s, 5m, 1h); at once when it\n"
    "                      refuses this key, and after 3 s when nothing listens there\n"
    "  --json              print the result as one JSON document on stdout\n"
    "  --quiet             no progress bars\n"
    "  --window BYTES      bytes of upload in flight (default 8M; 64K..1G, K, M, G = 1024)\n"
    "  --key FILE          publisher signing key (release push, config changes)\n"
    "  --broker-key KEY    the broker's public CURVE certificate (its DATA/broker.cert) or\n"
    "                      Z85 key (default $FLEETCAST_BROKER_KEY); required unless\n"
    "                      --insecure\n"
    "  --cert FILE         this publisher's secret CURVE certificate (default:\n"
    "                      $FLEETCAST_CERT, or publisher.cert_secret next to --key)\n"
    "  --insecure          no CURVE, for a broker started with --insecure\n"
    "  --help              this text\n"
    "  --version           (alone) print the version of fleetcast and exit\n"
    "  --config FILE       settings as 'name = value' lines, any long option without its\n"
    "                      dashes: broker, broker-key, cert, key, ... (default\n"
    "                      $FLEETCAST_CONFIG, or ~/.config/fleetcast/cli.conf if it exists);\n"
    "                      the command line wins\n"
    "\n"
    "Values: numbers are whole and decimal (no sign, no 0x, no 1e3); --serial N and REV are\n"
    "1..9223372036854775807; PERCENT is 1..100 (a trailing % is fine). A bad value is\n"
    "refused, naming the option and the value, before anything is sent.\n"
    "\n"
    "Exit status: 0 success, 1 failure (the message says why), 2 usage error.\n";

typedef struct {
    const char *broker;
    int timeout_ms;
    bool json;
    bool quiet;
    const char *out;
    const char *channel;
    const char *version;
    const char *key;
    const char *min_version;
    const char *product;
    bool mandatory;
    uint64_t serial;
    uint64_t window;
    const char *broker_key;
    const char *cert;
    const char *role;
    const char *data;
    bool insecure;
    fc_curve_t *curve; /* built once the command is known to need the broker */
    fc_config_cmd_options_t config;
    const char *trust;
} s_options_t;

static int s_usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "fleetcast: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(see fleetcast --help)\n");
    return 2;
}

/* The config file's settings (kept for the life of the process: argv points into them). */
static fc_conffile_t *s_conf;

/* A bad option value, said with where it came from when that was the config file. */
static int s_option_error(const char *msg)
{
    char where[FC_MAX_TEXT];
    fc_conffile_where(s_conf, optind - 1, where, sizeof where);
    fprintf(stderr, "fleetcast: %s%s\n(see fleetcast --help)\n", where, msg);
    return 2;
}

/* The CLI's config file: --config, $FLEETCAST_CONFIG, or ~/.config/fleetcast/cli.conf if it
   exists. NULL: none. */
static const char *s_config_path(int argc, char **argv, char *buf, size_t size)
{
    const char *path = fc_conffile_arg(argc, argv);
    if (path)
        return path;
    if (getenv("FLEETCAST_CONFIG") && *getenv("FLEETCAST_CONFIG"))
        return getenv("FLEETCAST_CONFIG");
    const char *home = getenv("HOME");
    if (!home)
        return NULL;
    snprintf(buf, size, "%s/.config/fleetcast/cli.conf", home);
    return access(buf, F_OK) == 0 ? buf : NULL;
}

/* The CURVE client settings for commands that talk to the broker. 0, or 1 with a message. */
static int s_security(s_options_t *o)
{
    if (o->insecure)
        return 0;
    char cert[PATH_MAX] = "";
    if (o->cert)
        snprintf(cert, sizeof cert, "%s", o->cert);
    else if (o->key) {
        /* keygen puts publisher.cert_secret next to signing.key */
        const char *slash = strrchr(o->key, '/');
        int dirlen = slash ? (int)(slash - o->key) : 1;
        snprintf(cert, sizeof cert, "%.*s/publisher.cert_secret", dirlen, slash ? o->key : ".");
        if (access(cert, F_OK) != 0)
            cert[0] = '\0';
    }
    if (!o->broker_key) {
        fprintf(stderr, "fleetcast: --broker-key is required: the broker's public certificate"
                        " (its DATA/broker.cert) or key; or --insecure for a broker started"
                        " with --insecure\n");
        return 1;
    }
    if (!cert[0]) {
        fprintf(stderr, "fleetcast: --cert FILE is required: this publisher's secret CURVE"
                        " certificate (fleetcast keygen makes DIR/publisher.cert_secret); or"
                        " --insecure\n");
        return 1;
    }
    int err = 0;
    char text[FC_MAX_TEXT] = "";
    o->curve = fc_curve_new_client(cert, o->broker_key, &err, text, sizeof text);
    if (!o->curve) {
        fprintf(stderr, "fleetcast: %s\n", text);
        return 1;
    }
    o->config.curve = o->curve;
    return 0;
}

static fc_client_t *s_connect(const s_options_t *o)
{
    int err = 0;
    fc_client_t *client = fc_client_new(o->broker, 2000, o->curve, &err);
    if (!client)
        fprintf(stderr, "fleetcast: bad broker endpoint '%s'\n", o->broker);
    return client;
}

static int s_push(const s_options_t *o, const char *dir)
{
    if (!dir)
        return s_usage_error("release push needs a directory%s", "");
    if (!o->channel || !o->version || !o->key)
        return s_usage_error("release push needs --channel, --version and --key%s", "");
    fc_signkey_t key;
    int rc = fc_signkey_load(&key, o->key);
    if (rc) {
        fprintf(stderr, "fleetcast: cannot load signing key %s: %s\n", o->key, fc_strerror(rc));
        return 1;
    }
    fc_client_t *client = s_connect(o);
    if (!client) {
        fc_signkey_wipe(&key);
        return 1;
    }
    fc_push_options_t popt = {dir,          o->product, o->channel, o->version,    o->min_version,
                              o->mandatory, o->serial,  o->window,  o->timeout_ms, !o->quiet};
    fc_push_result_t res;
    rc = fc_push_release(client, &popt, &key, &res);
    fc_signkey_wipe(&key);
    fc_client_destroy(&client);
    if (o->json) {
        fc_json_t *j = fc_json_new();
        fc_json_open(j);
        fc_json_key_bool(j, "ok", rc == 0);
        fc_json_key_str(j, "channel", o->channel);
        fc_json_key_str(j, "version", o->version);
        fc_json_key_uint(j, "serial", res.serial);
        fc_json_key_bool(j, "already_published", res.already_published);
        fc_json_key_uint(j, "files", res.files);
        fc_json_key_uint(j, "bytes_total", res.bytes_total);
        fc_json_key_uint(j, "bytes_uploaded", res.bytes_uploaded);
        fc_json_key_uint(j, "bytes_present", res.bytes_present);
        fc_json_key_uint(j, "requests_retried", res.requests_retried);
        fc_json_key_double(j, "seconds", res.seconds);
        if (rc)
            fc_json_key_str(j, "error", res.message);
        fc_json_close(j);
        puts(fc_json_text(j));
        fc_json_destroy(&j);
    }
    if (rc) {
        fprintf(stderr, "fleetcast: push failed: %s\n", res.message);
        return 1;
    }
    if (!o->json && res.already_published) {
        char sent[32];
        printf("%s %s is already published as serial %llu with this content: nothing committed "
               "(uploaded %s the broker lacked; %.2f s)\n",
               o->channel, o->version, (unsigned long long)res.serial,
               fc_format_bytes(sent, sizeof sent, res.bytes_uploaded), res.seconds);
    } else if (!o->json) {
        char total[32], sent[32], present[32];
        printf("pushed %s %s as serial %llu: %llu files, %s; uploaded %s, %s already on the "
               "broker (%.2f s)\n",
               o->channel, o->version, (unsigned long long)res.serial,
               (unsigned long long)res.files, fc_format_bytes(total, sizeof total, res.bytes_total),
               fc_format_bytes(sent, sizeof sent, res.bytes_uploaded),
               fc_format_bytes(present, sizeof present, res.bytes_present), res.seconds);
    }
    return 0;
}

/* Sends one query and returns its reply, or NULL with a message printed. */
static fc_msg_t *s_query(const s_options_t *o, fc_msg_t **req_p, fc_msg_type_t want)
{
    fc_client_t *client = s_connect(o);
    if (!client) {
        fc_msg_destroy(req_p);
        return NULL;
    }
    fc_msg_t *reply = fc_client_call(client, req_p, o->timeout_ms);
    char why[512];
    if (!reply && fc_client_why(client, why, sizeof why))
        fprintf(stderr, "fleetcast: %s\n", why);
    else if (!reply)
        fprintf(stderr, "fleetcast: no answer from the broker at %s within %d s\n", o->broker,
                o->timeout_ms / 1000);
    fc_client_destroy(&client);
    if (!reply)
        return NULL;
    if (reply->type != want) {
        fprintf(stderr, "fleetcast: broker answered %s: %s\n", fc_msg_type_name(reply->type),
                reply->type == FC_MSG_ERROR ? reply->text : "unexpected reply");
        fc_msg_destroy(&reply);
    }
    return reply;
}

static int s_list(const s_options_t *o)
{
    fc_msg_t *req = fc_msg_new(FC_MSG_LIST);
    fc_msg_set_str(req->channel, sizeof req->channel, o->channel ? o->channel : "");
    fc_msg_t *reply = s_query(o, &req, FC_MSG_LIST_REPLY);
    if (!reply)
        return 1;
    if (o->json) {
        fc_json_t *j = fc_json_new();
        fc_json_open_array(j);
        for (size_t i = 0; i < reply->nreleases; i++) {
            const fc_release_info_t *r = &reply->releases[i];
            fc_json_open(j);
            fc_json_key_str(j, "channel", r->channel);
            fc_json_key_str(j, "version", r->version);
            fc_json_key_uint(j, "serial", r->serial);
            fc_json_key_uint(j, "files", r->files);
            fc_json_key_uint(j, "size", r->size);
            fc_json_key_int(j, "created", r->created);
            fc_json_key_bool(j, "mandatory", r->mandatory);
            fc_json_close(j);
        }
        fc_json_close_array(j);
        puts(fc_json_text(j));
        fc_json_destroy(&j);
    } else {
        printf("%-16s %-16s %8s %7s %10s %-20s %s\n", "CHANNEL", "VERSION", "SERIAL", "FILES",
               "SIZE", "CREATED", "MANDATORY");
        for (size_t i = 0; i < reply->nreleases; i++) {
            const fc_release_info_t *r = &reply->releases[i];
            char size[32], created[32];
            fc_format_time(created, sizeof created, r->created);
            printf("%-16s %-16s %8llu %7llu %10s %-20s %s\n", r->channel, r->version,
                   (unsigned long long)r->serial, (unsigned long long)r->files,
                   fc_format_bytes(size, sizeof size, r->size), created,
                   r->mandatory ? "yes" : "no");
        }
        if (reply->nreleases == 0)
            printf("(no releases)\n");
    }
    fc_msg_destroy(&reply);
    return 0;
}

/* The agent's state as the table names it: a broker only stores states from fc_state.h,
   and a database from before that check may hold anything, shown as "unknown". */
static const char *s_state_shown(const char *state)
{
    fc_state_t s = FC_STATE_UNKNOWN;
    fc_state_from_name(state, &s);
    return fc_state_name(s);
}

static int s_status(const s_options_t *o)
{
    fc_msg_t *req = fc_msg_new(FC_MSG_STATUS);
    fc_msg_set_str(req->channel, sizeof req->channel, o->channel ? o->channel : "");
    fc_msg_t *reply = s_query(o, &req, FC_MSG_STATUS_REPLY);
    if (!reply)
        return 1;
    if (o->json) {
        fc_json_t *j = fc_json_new();
        fc_json_open_array(j);
        for (size_t i = 0; i < reply->nagents; i++) {
            const fc_agent_status_t *a = &reply->agents[i];
            fc_json_open(j);
            fc_json_key_str(j, "id", a->id);
            fc_json_key_str(j, "channel", a->channel);
            fc_json_key_str(j, "version", a->version);
            fc_json_key_str(j, "state", s_state_shown(a->state));
            fc_json_key_uint(j, "done", a->done);
            fc_json_key_uint(j, "total", a->total);
            fc_json_key_int(j, "last_seen", a->last_seen);
            fc_json_key_str(j, "message", a->message);
            fc_json_close(j);
        }
        fc_json_close_array(j);
        puts(fc_json_text(j));
        fc_json_destroy(&j);
    } else {
        printf("%-20s %-12s %-12s %-12s %9s %-20s %s\n", "ID", "CHANNEL", "VERSION", "STATE",
               "PROGRESS", "LAST-SEEN", "MESSAGE");
        for (size_t i = 0; i < reply->nagents; i++) {
            const fc_agent_status_t *a = &reply->agents[i];
            char seen[32], progress[16];
            fc_format_time(seen, sizeof seen, a->last_seen);
            if (a->total)
                snprintf(progress, sizeof progress, "%.1f%%", 100.0 * a->done / a->total);
            else
                snprintf(progress, sizeof progress, "-");
            printf("%-20s %-12s %-12s %-12s %9s %-20s %s\n", a->id, a->channel,
                   *a->version ? a->version : "-", s_state_shown(a->state), progress, seen,
                   a->message);
        }
        if (reply->nagents == 0)
            printf("(no agents seen)\n");
    }
    fc_msg_destroy(&reply);
    return 0;
}

static int s_dispatch(s_options_t *o, const char *cmd, const char *sub, int argc, char **argv);

/* An unknown command (or release subcommand), with the closest known one. */
static int s_unknown_command(const char *cmd, const char *sub)
{
    static const char *const cmds[] = {"keygen", "keys", "release", "config", "audit", "status"};
    static const char *const release_subs[] = {"push", "list"};
    bool release = streq(cmd, "release");
    if (release && !sub)
        return s_usage_error("release needs a command: push or list%s", "");
    const char *word = release ? (sub ? sub : "") : cmd;
    const char *like = release ? fc_suggest(word, release_subs, 2) : fc_suggest(word, cmds, 6);
    char text[256];
    snprintf(text, sizeof text, "unknown %scommand '%s'%s%s%s", release ? "release " : "", word,
             like ? " (did you mean '" : "", like ? like : "", like ? "'?)" : "");
    return s_usage_error("%s", text);
}

int main(int argc, char **argv)
{
    s_options_t o = {0};
    /* --version alone: the program's version (with a command, --version VER is a release's). */
    if (argc == 2 && streq(argv[1], "--version")) {
        printf("fleetcast %s\n", fc_version());
        return 0;
    }
    o.broker = getenv("FLEETCAST_BROKER") ? getenv("FLEETCAST_BROKER") : "tcp://127.0.0.1:7400";
    o.timeout_ms = 30000;
    o.window = 8u << 20;
    o.cert =
        getenv("FLEETCAST_CERT") && *getenv("FLEETCAST_CERT") ? getenv("FLEETCAST_CERT") : NULL;
    o.broker_key = getenv("FLEETCAST_BROKER_KEY") && *getenv("FLEETCAST_BROKER_KEY")
                       ? getenv("FLEETCAST_BROKER_KEY")
                       : NULL;
    enum {
        O_BROKER = 256,
        O_TIMEOUT,
        O_JSON,
        O_QUIET,
        O_OUT,
        O_CHANNEL,
        O_VERSION,
        O_KEY,
        O_MANDATORY,
        O_MINVER,
        O_SERIAL,
        O_PRODUCT,
        O_WINDOW,
        O_HELP,
        O_CONFIG,
        O_SCOPE,
        O_MESSAGE,
        O_CANARY,
        O_HALT,
        O_AGENT,
        O_GROUP,
        O_BROKER_KEY,
        O_CERT,
        O_INSECURE,
        O_ROLE,
        O_DATA,
        O_TRUST
    };
    static const struct option longopts[] = {{"broker", required_argument, 0, O_BROKER},
                                             {"timeout", required_argument, 0, O_TIMEOUT},
                                             {"json", no_argument, 0, O_JSON},
                                             {"quiet", no_argument, 0, O_QUIET},
                                             {"out", required_argument, 0, O_OUT},
                                             {"channel", required_argument, 0, O_CHANNEL},
                                             {"version", required_argument, 0, O_VERSION},
                                             {"key", required_argument, 0, O_KEY},
                                             {"mandatory", no_argument, 0, O_MANDATORY},
                                             {"min-version", required_argument, 0, O_MINVER},
                                             {"serial", required_argument, 0, O_SERIAL},
                                             {"product", required_argument, 0, O_PRODUCT},
                                             {"window", required_argument, 0, O_WINDOW},
                                             {"help", no_argument, 0, O_HELP},
                                             {"config", required_argument, 0, O_CONFIG},
                                             {"scope", required_argument, 0, O_SCOPE},
                                             {"message", required_argument, 0, O_MESSAGE},
                                             {"canary", required_argument, 0, O_CANARY},
                                             {"halt-percent", required_argument, 0, O_HALT},
                                             {"agent", required_argument, 0, O_AGENT},
                                             {"group", required_argument, 0, O_GROUP},
                                             {"broker-key", required_argument, 0, O_BROKER_KEY},
                                             {"cert", required_argument, 0, O_CERT},
                                             {"insecure", no_argument, 0, O_INSECURE},
                                             {"role", required_argument, 0, O_ROLE},
                                             {"data", required_argument, 0, O_DATA},
                                             {"trust", required_argument, 0, O_TRUST},
                                             {0, 0, 0, 0}};
    int c;
    char msg[1024];
    uint64_t n = 0;
    bool broker_given = false;
    /* The config file's settings first, the command line's after them (it wins). */
    char conf_buf[PATH_MAX];
    const char *conf_path = s_config_path(argc, argv, conf_buf, sizeof conf_buf);
    if (conf_path && !(s_conf = fc_conffile_load(conf_path, longopts, msg, sizeof msg))) {
        fprintf(stderr, "fleetcast: %s\n", msg);
        return 2;
    }
    argv = fc_conffile_argv(s_conf, argc, argv, &argc);
    if (!argv)
        return 1;
    opterr = 0; /* its errors are told with the closest option instead */
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case O_BROKER:
            if (fc_optval_endpoint("--broker", optarg, FC_OPTVAL_IPC, msg, sizeof msg))
                return s_option_error(msg);
            o.broker = optarg;
            broker_given = true;
            break;
        case O_TIMEOUT:
            if (fc_optval_duration("--timeout", optarg, 1000, 1000, 1000000000, &n, msg,
                                   sizeof msg))
                return s_option_error(msg);
            o.timeout_ms = (int)n;
            break;
        case O_JSON:
            o.json = true;
            break;
        case O_QUIET:
            o.quiet = true;
            break;
        case O_OUT:
            o.out = optarg;
            break;
        case O_CHANNEL:
            o.channel = optarg;
            break;
        case O_VERSION:
            o.version = optarg;
            break;
        case O_KEY:
            o.key = optarg;
            break;
        case O_MANDATORY:
            o.mandatory = true;
            break;
        case O_MINVER:
            o.min_version = optarg;
            break;
        case O_SERIAL:
            if (fc_optval_uint("--serial", optarg, 1, INT64_MAX, &o.serial, msg, sizeof msg))
                return s_option_error(msg);
            break;
        case O_PRODUCT:
            o.product = optarg;
            break;
        case O_WINDOW:
            if (fc_optval_size("--window", optarg, 64 << 10, 1 << 30, &o.window, msg, sizeof msg))
                return s_option_error(msg);
            break;
        case O_SCOPE:
            o.config.scope = optarg;
            break;
        case O_MESSAGE:
            o.config.message = optarg;
            break;
        case O_CANARY:
        case O_HALT:
            if (fc_optval_percent(c == O_CANARY ? "--canary" : "--halt-percent", optarg, 1, 100,
                                  c == O_CANARY ? &o.config.canary : &o.config.halt_percent, msg,
                                  sizeof msg))
                return s_option_error(msg);
            break;
        case O_AGENT:
            o.config.agent = optarg;
            break;
        case O_GROUP:
            o.config.group = optarg;
            break;
        case O_BROKER_KEY:
            o.broker_key = optarg;
            break;
        case O_CERT:
            o.cert = optarg;
            break;
        case O_INSECURE:
            o.insecure = true;
            break;
        case O_ROLE:
            o.role = optarg;
            break;
        case O_DATA:
            o.data = optarg;
            break;
        case O_TRUST:
            o.trust = optarg;
            break;
        case O_CONFIG:
            break; /* read before the loop */
        case 'h':
        case O_HELP:
            fputs(s_usage, stdout);
            return 0;
        default:
            return s_usage_error("%s", fc_suggest_option(longopts, argc, argv, msg, sizeof msg));
        }
    }
    if (optind >= argc) {
        fputs(s_usage, stderr);
        return 2;
    }
    if (fc_crypto_init() != 0) {
        fprintf(stderr, "fleetcast: libsodium failed to initialise\n");
        return 1;
    }
    /* CZMQ's own signal handling would swallow Ctrl-C during a long push; keep the default. */
    zsys_handler_set(NULL);
    zsys_set_logstream(NULL);
    const char *cmd = argv[optind];
    const char *sub = optind + 1 < argc ? argv[optind + 1] : NULL;
    o.config.broker = o.broker;
    o.config.timeout_ms = o.timeout_ms;
    o.config.json = o.json;
    o.config.key = o.key;
    if (streq(cmd, "keygen"))
        return fc_keygen_cmd(o.out, o.role, o.json);
    bool trust_cmd = streq(cmd, "keys") && sub && (streq(sub, "rotate") || streq(sub, "trusted"));
    if (streq(cmd, "keys") && !trust_cmd)
        return fc_keys_cmd_run(o.data, o.json, argc - optind, argv + optind);
    bool known = trust_cmd || streq(cmd, "config") || streq(cmd, "audit") || streq(cmd, "status") ||
                 (streq(cmd, "release") && sub && (streq(sub, "push") || streq(sub, "list")));
    if (!known)
        return s_unknown_command(cmd, sub);
    if (streq(cmd, "release") && streq(sub, "push") && !o.key)
        return s_usage_error("release push needs --key FILE: the publisher's signing key "
                             "(fleetcast keygen --out DIR makes DIR/signing.key)%s",
                             "");
    if (!broker_given &&
        fc_optval_endpoint("FLEETCAST_BROKER", o.broker, FC_OPTVAL_IPC, msg, sizeof msg))
        return s_usage_error("%s", msg);
    int rc = s_security(&o);
    if (rc == 0)
        rc = s_dispatch(&o, cmd, sub, argc, argv);
    fc_curve_destroy(&o.curve);
    return rc;
}

static int s_dispatch(s_options_t *o, const char *cmd, const char *sub, int argc, char **argv)
{
    if (streq(cmd, "config"))
        return fc_config_cmd_run(&o->config, argc - optind - 1, argv + optind + 1);
    if (streq(cmd, "audit"))
        return fc_audit_cmd_run(&o->config, argc - optind, argv + optind);
    if (streq(cmd, "keys")) {
        fc_trust_cmd_options_t ko = {o->broker, o->timeout_ms, o->json, o->key,
                                     o->trust,  o->serial,     o->curve};
        return fc_trust_cmd_run(&ko, argc - optind - 1, argv + optind + 1);
    }
    if (streq(cmd, "status"))
        return s_status(o);
    if (streq(cmd, "release") && sub && streq(sub, "push"))
        return s_push(o, optind + 2 < argc ? argv[optind + 2] : NULL);
    return s_list(o);
}
