/* main.c: the operator CLI `fleetcast`: keys, release push and list, fleet status, runtime
   configuration (fc_config_cmd.c). */
#include <czmq.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fc_brokers.h"
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
#include "fc_release_cmd.h"
#include "fc_release_status.h"
#include "fc_rollout_info.h"
#include "fc_rollout_opts.h"
#include "fc_state.h"
#include "fc_status_watch.h"
#include "fc_suggest.h"
#include "fc_text.h"
#include "fc_trust_cmd.h"
#include "fc_version.h"

static const char *s_usage =
    "usage: fleetcast [--broker ENDPOINT] [--broker-key KEY] [--cert FILE | --insecure]\n"
    "                 [--timeout SECS] [--json] COMMAND ...\n"
    "\n"
    "Keys (local files, no broker needed):\n"
    "  keygen --out DIR [--role publisher|agent|relay|broker]\n"
    "                                   publisher (default): signing key pair (Ed25519)\n"
    "                                   DIR/signing.key (secret, 0600) and signing.pub, and\n"
    "                                   the CURVE certificate DIR/publisher.cert_secret\n"
    "                                   (0600) and publisher.cert; agent: DIR/agent.cert\n"
    "                                   (+_secret); relay: DIR/relay.cert (+_secret), a\n"
    "                                   relay's --cert (by default a relay uses its\n"
    "                                   broker.cert); broker: DIR/broker.cert (+_secret) --\n"
    "                                   use the broker's data dir as DIR. Secrets are never\n"
    "                                   overwritten\n"
    "  keys add-agent KEY --data DIR    enrol an agent's CURVE key (Z85 or .cert file) on\n"
    "                                   the broker with data dir DIR (DIR/keys/agents/);\n"
    "                                   relays below it take it from there by themselves\n"
    "  keys add-publisher KEY --data DIR\n"
    "                                   enrol a publisher key (DIR/keys/publishers/)\n"
    "  keys add-relay KEY --data DIR    enrol a relay broker's key (its broker.cert):\n"
    "                                   reads what agents read (DIR/keys/relays/)\n"
    "  keys revoke KEY --data DIR       remove a key from all; the broker refuses its new\n"
    "                                   connections and requests within a second, relays\n"
    "                                   below it an agent key within seconds\n"
    "  keys list --data DIR             enrolled keys: role, key, file\n"
    "                                   (quote Z85 keys for the shell; one starting with '-'\n"
    "                                   goes last, after --)\n"
    "  keys add-agent|add-publisher|add-relay|revoke|list KEY --store DB\n"
    "                                   the same in the database of brokers sharing a\n"
    "                                   PostgreSQL store (DB: their --store, postgresql://...)\n"
    "                                   instead of one broker's DIR/keys: every broker on it\n"
    "                                   writes the key into (or removes it from) its own\n"
    "                                   keys/ within a second (list shows role, key, name)\n"
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
    "               [--allow-empty] [--force] [--waves 5,25,100 | --canary PERCENT]\n"
    "               [--halt-percent N] [--wave-wait SECS]\n"
    "               [--allow-external-symlinks] [--no-times]\n"
    "                                   hash, sign and upload DIR as a release; only what the\n"
    "                                   broker lacks is sent, so a re-run resumes a failed push;\n"
    "                                   when the channel has VER with the same content,\n"
    "                                   nothing is committed (exit 0, its serial is shown);\n"
    "                                   VER with other content is refused: use a new version\n"
    "                                   (--force publishes anyway); a DIR with no file is\n"
    "                                   refused unless --allow-empty\n"
    "                                   --waves offers it to growing shares of the\n"
    "                                   channel's agents (chosen stably by agent id, at least\n"
    "                                   one), each wave once the previous one reported (or\n"
    "                                   after --wave-wait); --canary offers PERCENT and waits\n"
    "                                   for release promote; the rollout halts when more than\n"
    "                                   N% (default 20) of a wave fail or roll back. Agents\n"
    "                                   not offered it keep the previous release\n"
    "                                   Files, directories (empty ones too) and\n"
    "                                   symlinks are released with their modes and mtimes;\n"
    "                                   a symlink that is absolute or leaves DIR, a device,\n"
    "                                   FIFO, socket or unreadable file is refused, naming it.\n"
    "                                   --allow-external-symlinks keeps such links as written\n"
    "                                   (yours to vouch for); --no-times gives every entry\n"
    "                                   the time 0 (1970-01-01), for reproducible manifests\n"
    "  release list [--channel NAME]    releases on the broker, newest first\n"
    "  release rollback --channel NAME [--to VER] --key FILE [--trust FILE]\n"
    "                                   publish, as a new serial signed with --key, the content\n"
    "                                   of an older release the broker keeps (default: the\n"
    "                                   newest of another version than the current one); no\n"
    "                                   tree needed, nothing uploaded; agents keeping that\n"
    "                                   release fetch nothing. --trust: signers accepted for\n"
    "                                   the old release besides --key's own\n"
    "  release copy --from NAME --to NAME [--version VER] --key FILE [--force] [--trust FILE]\n"
    "                                   publish --from's latest release (or its VER) on --to\n"
    "                                   as a new serial; nothing uploaded; nothing published\n"
    "                                   when --to's latest already is it\n"
    "  release prune --channel NAME --keep N\n"
    "                                   drop the channel's releases beyond its newest N (the\n"
    "                                   current one and the one before it always stay, and\n"
    "                                   any an agent is fetching) and the blobs no kept\n"
    "                                   release names; audited\n"
    "  release watch DIR --channel NAME --key FILE [--version-template TPL |\n"
    "               --version-from FILE] [--debounce SECS] [push options]\n"
    "                                   publish DIR whenever it changed: after SECS (default\n"
    "                                   2) of quiet with no file open for writing, a snapshot\n"
    "                                   that nothing changed during; same content as the\n"
    "                                   latest release: nothing published. Versions: strftime\n"
    "                                   TPL in UTC (default %Y%m%d.%H%M%S) or FILE's first\n"
    "                                   line. A failed push is logged and retried (backoff\n"
    "                                   1 s..60 s). Runs until SIGTERM/SIGINT (exit 0); one\n"
    "                                   line per event, one JSON object a line with --json\n"
    "  release status [--channel NAME]  each channel's release and rollout: state (ROLLING,\n"
    "                                   WAITING-PROMOTE, PAUSED, HALTED with the reason,\n"
    "                                   DONE), wave, and agents installed, healthy, failed,\n"
    "                                   rolled back, downloading, pending, not offered,\n"
    "                                   offline; exit status 3 when a rollout is HALTED\n"
    "  release promote --channel NAME   offer the rest after a --canary wave\n"
    "  release pause --channel NAME     start no further wave (a halt still happens)\n"
    "  release resume --channel NAME\n"
    "  status [--channel NAME] [--version VER] [--state STATE]\n"
    "                                   every agent seen: id, channel, installed version,\n"
    "                                   state, progress, last seen; an agent the broker has\n"
    "                                   not heard for its offline threshold (three of an\n"
    "                                   agent's reports, 30 s) is 'offline' since then;\n"
    "                                   --version and --state (a state or offline) filter;\n"
    "                                   VIA: the relay an agent reports through (only when\n"
    "                                   some agent does; \"via\" in --json)\n"
    "  status --summary [--channel NAME]\n"
    "                                   a line per channel: agents, how many on its current\n"
    "                                   release, downloading (overall progress), failed,\n"
    "                                   offline (not heard from for 30 s), then the most\n"
    "                                   common failure reasons; counted by the broker, one\n"
    "                                   small reply whatever the fleet size; --json: an\n"
    "                                   array (with versions, states and reasons); past\n"
    "                                   4096 (channel, version, state) groups and reasons,\n"
    "                                   what fits, and stderr says what was left out\n"
    "  status --watch [--summary] [--channel NAME]\n"
    "                                   on a terminal, the summary and the agents not in a\n"
    "                                   final state (installed, up-to-date, idle), redrawn\n"
    "                                   in place every second until Ctrl-C; elsewhere (a\n"
    "                                   pipe, a file, --json) one snapshot\n"
    "\n"
    "Runtime configuration (commands that publish sign a revision with --key FILE):\n"
    "  config set KEY=VALUE... --key FILE [--scope SCOPE] [--message TEXT]\n"
    "             [--canary PERCENT] [--halt-percent N]\n"
    "                                   one atomic revision; VALUE is JSON if it parses\n"
    "                                   (42, 1.5, true, \"text\", {\"a\":1}), else a string;\n"
    "                                   SCOPE is global (default), group:NAME or agent:ID;\n"
    "                                   --canary applies it to that share of the agents\n"
    "                                   first (at least one: widened if it chooses none)\n"
    "                                   and halts it when more than N% of those fail\n"
    "                                   (default 20): the members go back to the last good\n"
    "                                   values\n"
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
    "  config status [REV] [--summary]\n"
    "                                   how many agents applied, restarted, vetoed, failed,\n"
    "                                   need a restart, were unchanged or have not answered\n"
    "                                   (pending), and which (VIA: an agent's relay, as in\n"
    "                                   status); HALTED with the reason when a\n"
    "                                   canary failed; --summary: the counts alone,\n"
    "                                   counted by the broker (one small reply)\n"
    "  config promote REV --key FILE    widen a canary revision to every matching agent\n"
    "                                   (refused when it is halted)\n"
    "  audit [--all]                    the broker's audit log: time, who, action, result\n"
    "                                   (the newest 100 entries; --all: every one, newest\n"
    "                                   first, fetched page by page)\n"
    "\n"
    "Options:\n"
    "  --broker ENDPOINT   broker service endpoint, tcp://HOST:PORT or ipc://PATH (default\n"
    "                      $FLEETCAST_BROKER or tcp://127.0.0.1:7400), or a list EP,EP,...\n"
    "                      of brokers serving the same data: one not up for 2 s is left\n"
    "                      for the next (publishing needs the root: a relay refuses it)\n"
    "  --timeout SECS      give up when the broker does not answer for this long (default 30;\n"
    "                      1s..1000000s, a unit may follow: 90s, 5m, 1h); at once when it\n"
    "                      refuses this key, and after 3 s when nothing listens there (at\n"
    "                      the last broker of a list); a config change whose revision\n"
    "                      number another publisher took first is rebuilt and sent again\n"
    "                      until then\n"
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
    "Exit status: 0 success, 1 failure (the message says why), 2 usage error, 3 release\n"
    "status found a HALTED rollout.\n";

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
    bool allow_external_symlinks;
    bool no_times;
    uint64_t serial;
    uint64_t window;
    const char *broker_key;
    const char *cert;
    const char *role;
    const char *data;
    const char *store; /* keys: the shared database (postgresql://...) instead of --data */
    bool insecure;
    fc_curve_t *curve; /* built once the command is known to need the broker */
    fc_config_cmd_options_t config;
    const char *trust;
    fc_release_cmd_options_t rel; /* release rollback, copy, prune, watch; push's guards */
    const char *waves;            /* release push --waves */
    uint64_t wave_wait_ms;        /* release push --wave-wait */
    bool wave_wait_given;
    const char *state; /* status --state */
    bool watch;        /* status --watch (fc_status_watch.c) */
    bool summary;      /* status --summary */
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

/* The options of a push of dir, for release push and the pushes of release watch. */
static fc_push_options_t s_push_options(const s_options_t *o, const char *dir)
{
    fc_push_options_t popt = {.dir = dir,
                              .product = o->product,
                              .channel = o->channel,
                              .version = o->version,
                              .min_version = o->min_version,
                              .mandatory = o->mandatory,
                              .serial = o->serial,
                              .window = o->window,
                              .timeout_ms = o->timeout_ms,
                              .progress = !o->quiet,
                              .allow_empty = o->rel.push.allow_empty,
                              .force = o->rel.push.force,
                              .scan = {o->allow_external_symlinks, o->no_times}};
    return popt;
}

/* The rollout plan the push options ask for: 1 (set in *plan), 0 (none: every agent at
   once) or -1 (msg says what is wrong). */
static int s_rollout_plan(const s_options_t *o, fc_push_plan_t *plan, char *msg, size_t size)
{
    fc_rollout_opts_t ro = {
        o->waves,        o->config.canary,  o->config.halt_percent, o->config.halt_percent != 0,
        o->wave_wait_ms, o->wave_wait_given};
    return fc_rollout_opts_plan(&ro, plan, msg, size);
}

static int s_push(const s_options_t *o, const char *dir)
{
    if (!dir)
        return s_usage_error("release push needs a directory%s", "");
    if (!o->channel || !o->version || !o->key)
        return s_usage_error("release push needs --channel, --version and --key%s", "");
    /* The rollout options are checked before anything is read or sent. */
    fc_push_plan_t plan;
    char msg[256];
    int rolling = s_rollout_plan(o, &plan, msg, sizeof msg);
    if (rolling < 0)
        return s_usage_error("%s", msg);
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
    fc_push_options_t popt = s_push_options(o, dir);
    popt.plan = rolling ? &plan : NULL;
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
        fc_json_key_uint(j, "latest_serial", res.latest_serial);
        fc_json_key_uint(j, "files", res.files);
        fc_json_key_uint(j, "bytes_total", res.bytes_total);
        fc_json_key_uint(j, "bytes_uploaded", res.bytes_uploaded);
        fc_json_key_uint(j, "bytes_present", res.bytes_present);
        fc_json_key_uint(j, "objects", res.objects);
        fc_json_key_uint(j, "objects_sent", res.objects_sent);
        fc_json_key_uint(j, "objects_derived", res.objects_derived);
        fc_json_key_uint(j, "requests_retried", res.requests_retried);
        fc_json_key_double(j, "seconds", res.seconds);
        if (res.rolling) {
            fc_json_key(j, "rollout");
            fc_json_open(j);
            fc_rollout_info_json(j, &res.rollout);
            fc_json_close(j);
        }
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
        if (res.serial != res.latest_serial)
            printf("it is not the channel's current release (serial %llu): `fleetcast release "
                   "rollback --channel %s --to %s` makes it current again\n",
                   (unsigned long long)res.latest_serial, o->channel, o->version);
    } else if (!o->json) {
        char total[32], sent[32], present[32];
        printf("pushed %s %s as serial %llu: %llu files, %s; uploaded %s, %s already on the "
               "broker (%.2f s)\n",
               o->channel, o->version, (unsigned long long)res.serial,
               (unsigned long long)res.files, fc_format_bytes(total, sizeof total, res.bytes_total),
               fc_format_bytes(sent, sizeof sent, res.bytes_uploaded),
               fc_format_bytes(present, sizeof present, res.bytes_present), res.seconds);
        if (res.rolling)
            printf("rollout: wave 1 of %u offers it to %llu of the channel's %llu agents (%u%%)\n",
                   res.rollout.waves, (unsigned long long)res.rollout.offered,
                   (unsigned long long)(res.rollout.agents - res.rollout.offline),
                   res.rollout.percent);
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
    fc_msg_t *reply = fc_client_call_pages(client, req_p, o->timeout_ms);
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
    } else if (reply->more) { /* never a cut list without saying so */
        fprintf(stderr, "fleetcast: the broker said more follow but sent none: the list "
                        "would be cut\n");
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

/* --version and --state: the agents shown. */
static bool s_shown(const s_options_t *o, const fc_msg_t *reply, const fc_agent_status_t *a)
{
    const char *state = fc_msg_agent_offline(reply, a) ? "offline" : s_state_shown(a->state);
    return (!o->version || streq(a->version, o->version)) && (!o->state || streq(state, o->state));
}

static int s_status(const s_options_t *o)
{
    fc_state_t known;
    if (o->state && !streq(o->state, "offline") && !fc_state_from_name(o->state, &known))
        return s_usage_error("--state needs an agent state (see docs/PROTOCOL.md 3.7) or "
                             "offline, not '%s'",
                             o->state);
    fc_msg_t *req = fc_msg_new(FC_MSG_STATUS);
    fc_msg_set_str(req->channel, sizeof req->channel, o->channel ? o->channel : "");
    /* The broker filters by state (offline included) and sends the list page by page. */
    fc_msg_set_str(req->state, sizeof req->state, o->state ? o->state : "");
    req->limit = FC_MAX_LIST;
    fc_msg_t *reply = s_query(o, &req, FC_MSG_STATUS_REPLY);
    if (!reply)
        return 1;
    size_t shown = 0;
    if (o->json) {
        fc_json_t *j = fc_json_new();
        fc_json_open_array(j);
        for (size_t i = 0; i < reply->nagents; i++) {
            const fc_agent_status_t *a = &reply->agents[i];
            if (!s_shown(o, reply, a))
                continue;
            bool offline = fc_msg_agent_offline(reply, a);
            fc_json_open(j);
            fc_json_key_str(j, "id", a->id);
            fc_json_key_str(j, "channel", a->channel);
            fc_json_key_str(j, "version", a->version);
            fc_json_key_str(j, "state", offline ? "offline" : s_state_shown(a->state));
            fc_json_key_bool(j, "offline", offline);
            if (offline)
                fc_json_key_int(j, "offline_since", a->last_seen);
            fc_json_key_str(j, "reported_state", s_state_shown(a->state));
            fc_json_key_uint(j, "done", a->done);
            fc_json_key_uint(j, "total", a->total);
            fc_json_key_int(j, "last_seen", a->last_seen);
            fc_json_key_str(j, "message", a->message);
            fc_json_key_str(j, "via", a->via); /* the relay it reports through; "" none */
            fc_json_close(j);
        }
        fc_json_close_array(j);
        puts(fc_json_text(j));
        fc_json_destroy(&j);
    } else {
        /* VIA only when some agent is behind a relay: a fleet without relays reads as before. */
        bool any_via = false;
        for (size_t i = 0; i < reply->nagents; i++)
            any_via |= reply->agents[i].via[0] != '\0';
        printf("%-20s %-12s %-12s %-12s %9s %-20s ", "ID", "CHANNEL", "VERSION", "STATE",
               "PROGRESS", "LAST-SEEN");
        if (any_via)
            printf("%-12s ", "VIA");
        printf("MESSAGE\n");
        for (size_t i = 0; i < reply->nagents; i++) {
            const fc_agent_status_t *a = &reply->agents[i];
            if (!s_shown(o, reply, a))
                continue;
            shown++;
            char seen[32], progress[16], message[FC_MAX_TEXT + 64];
            fc_format_time(seen, sizeof seen, a->last_seen);
            bool offline = fc_msg_agent_offline(reply, a);
            if (offline)
                snprintf(message, sizeof message, "offline since %s (last said: %s %s)", seen,
                         s_state_shown(a->state), a->message);
            else
                snprintf(message, sizeof message, "%s", a->message);
            if (a->total)
                snprintf(progress, sizeof progress, "%.1f%%", 100.0 * a->done / a->total);
            else
                snprintf(progress, sizeof progress, "-");
            printf("%-20s %-12s %-12s %-12s %9s %-20s ", a->id, a->channel,
                   *a->version ? a->version : "-", offline ? "offline" : s_state_shown(a->state),
                   progress, seen);
            if (any_via)
                printf("%-12s ", *a->via ? a->via : "-");
            printf("%s\n", message);
        }
        if (reply->nagents == 0)
            printf("(no agents seen)\n");
        else if (shown == 0)
            printf("(no agent matches)\n");
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
        O_STORE,
        O_TRUST,
        O_ALLOW_EMPTY,
        O_FORCE,
        O_TO,
        O_FROM,
        O_KEEP,
        O_VERSION_TEMPLATE,
        O_VERSION_FROM,
        O_DEBOUNCE,
        O_WAVES,
        O_WAVE_WAIT,
        O_STATE,
        O_EXTERNAL_LINKS,
        O_NO_TIMES,
        O_WATCH,
        O_SUMMARY,
        O_ALL
    };
    static const struct option longopts[] = {
        {"broker", required_argument, 0, O_BROKER},
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
        {"store", required_argument, 0, O_STORE},
        {"trust", required_argument, 0, O_TRUST},
        {"allow-empty", no_argument, 0, O_ALLOW_EMPTY},
        {"force", no_argument, 0, O_FORCE},
        {"to", required_argument, 0, O_TO},
        {"from", required_argument, 0, O_FROM},
        {"keep", required_argument, 0, O_KEEP},
        {"version-template", required_argument, 0, O_VERSION_TEMPLATE},
        {"version-from", required_argument, 0, O_VERSION_FROM},
        {"debounce", required_argument, 0, O_DEBOUNCE},
        {"waves", required_argument, 0, O_WAVES},
        {"wave-wait", required_argument, 0, O_WAVE_WAIT},
        {"state", required_argument, 0, O_STATE},
        {"allow-external-symlinks", no_argument, 0, O_EXTERNAL_LINKS},
        {"no-times", no_argument, 0, O_NO_TIMES},
        {"watch", no_argument, 0, O_WATCH},
        {"summary", no_argument, 0, O_SUMMARY},
        {"all", no_argument, 0, O_ALL},
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
            if (fc_brokers_check("--broker", optarg, FC_OPTVAL_IPC, msg, sizeof msg))
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
        case O_EXTERNAL_LINKS:
            o.allow_external_symlinks = true;
            break;
        case O_NO_TIMES:
            o.no_times = true;
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
        case O_STORE:
            o.store = optarg;
            break;
        case O_TRUST:
            o.trust = optarg;
            break;
        case O_ALLOW_EMPTY:
            o.rel.push.allow_empty = true;
            break;
        case O_FORCE:
            o.rel.push.force = true;
            break;
        case O_TO:
            o.rel.to = optarg;
            break;
        case O_FROM:
            o.rel.from = optarg;
            break;
        case O_KEEP:
            if (fc_optval_uint("--keep", optarg, 1, 1000000, &o.rel.keep, msg, sizeof msg))
                return s_usage_error("%s", msg);
            break;
        case O_VERSION_TEMPLATE:
            o.rel.version_template = optarg;
            break;
        case O_VERSION_FROM:
            o.rel.version_from = optarg;
            break;
        case O_DEBOUNCE:
            if (fc_optval_duration("--debounce", optarg, 1000, 10, 3600000, &o.rel.debounce_ms, msg,
                                   sizeof msg))
                return s_usage_error("%s", msg);
            break;
        case O_WAVES:
            o.waves = optarg;
            break;
        case O_WAVE_WAIT:
            if (fc_optval_duration("--wave-wait", optarg, 1000, 1000, (uint64_t)86400000 * 365,
                                   &o.wave_wait_ms, msg, sizeof msg))
                return s_usage_error("%s", msg);
            o.wave_wait_given = true;
            break;
        case O_STATE:
            o.state = optarg;
            break;
        case O_WATCH:
            o.watch = true;
            break;
        case O_SUMMARY:
            o.summary = true;
            break;
        case O_ALL:
            o.config.all = true;
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
    o.config.summary = o.summary;
    o.config.key = o.key;
    if (streq(cmd, "keygen"))
        return fc_keygen_cmd(o.out, o.role, o.json);
    bool trust_cmd = streq(cmd, "keys") && sub && (streq(sub, "rotate") || streq(sub, "trusted"));
    if (streq(cmd, "keys") && !trust_cmd)
        return fc_keys_cmd_run(o.data, o.store, o.json, argc - optind, argv + optind);
    bool known = trust_cmd || streq(cmd, "config") || streq(cmd, "audit") || streq(cmd, "status") ||
                 (streq(cmd, "release") && sub &&
                  (streq(sub, "push") || streq(sub, "list") || streq(sub, "rollback") ||
                   streq(sub, "copy") || streq(sub, "prune") || streq(sub, "watch") ||
                   streq(sub, "status") || streq(sub, "promote") || streq(sub, "pause") ||
                   streq(sub, "resume")));
    if (!known)
        return s_unknown_command(cmd, sub);
    if (streq(cmd, "release") && streq(sub, "push") && !o.key)
        return s_usage_error("release push needs --key FILE: the publisher's signing key "
                             "(fleetcast keygen --out DIR makes DIR/signing.key)%s",
                             "");
    if (!broker_given &&
        fc_brokers_check("FLEETCAST_BROKER", o.broker, FC_OPTVAL_IPC, msg, sizeof msg))
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
    if (streq(cmd, "status") && (o->watch || o->summary))
        return fc_status_watch_run(&o->config, o->channel, o->watch, o->summary);
    if (streq(cmd, "status"))
        return s_status(o);
    if (streq(cmd, "release") && sub && streq(sub, "push"))
        return s_push(o, optind + 2 < argc ? argv[optind + 2] : NULL);
    if (streq(cmd, "release") && sub &&
        (streq(sub, "status") || streq(sub, "promote") || streq(sub, "pause") ||
         streq(sub, "resume"))) {
        fc_release_status_options_t ro = {o->broker, o->timeout_ms, o->json, o->curve};
        if (streq(sub, "status"))
            return fc_release_status_run(&ro, o->channel);
        return fc_release_control_run(&ro, sub, o->channel);
    }
    if (streq(cmd, "release") && sub && !streq(sub, "list")) {
        fc_release_cmd_options_t *r = &o->rel;
        r->push = s_push_options(o, NULL); /* watch passes every push option through */
        fc_push_plan_t plan;
        char msg[256];
        int rolling = streq(sub, "watch") ? s_rollout_plan(o, &plan, msg, sizeof msg) : 0;
        if (rolling < 0)
            return s_usage_error("%s", msg);
        r->push.plan = rolling ? &plan : NULL;
        r->broker = o->broker;
        r->curve = o->curve;
        r->json = o->json;
        r->key = o->key;
        r->trust = o->trust;
        return fc_release_cmd_run(r, sub, optind + 2 < argc ? argv[optind + 2] : NULL);
    }
    return s_list(o);
}
