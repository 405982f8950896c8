/* fc_broker.c: the broker actor: service ROUTER, announce PUB, request handling, heartbeats. */
#include "fc_broker.h"
#include "fc_broker_auth.h"
#include "fc_broker_log.h"
#include "fc_chunks.h"
#include "fc_config_service.h"
#include "fc_curve.h"
#include "fc_delta_cache.h"
#include "fc_error.h"
#include "fc_hash.h"
#include "fc_keyset.h"
#include "fc_limits.h"
#include "fc_manifest.h"
#include "fc_manifest_parts.h"
#include "fc_msg.h"
#include "fc_objdelta.h"
#include "fc_peers.h"
#include "fc_relay.h"
#include "fc_relay_up.h"
#include "fc_relayed.h"
#include "fc_rollout_service.h"
#include "fc_sockopt.h"
#include "fc_stamp.h"
#include "fc_state.h"
#include "fc_store.h"
#include "fc_store_config.h"
#include "fc_store_keys.h"
#include "fc_store_listen.h"
#include "fc_store_release_rollout.h"
#include "fc_store_via.h"
#include "fc_store_view.h"
#include "fc_suspects.h"
#include "fc_text.h"
#include "fc_trust_service.h"
#include "fc_tsan.h"
#include "fc_verifier.h"
#include "fc_view_feed.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* A blob asked for within this long is in transfer (seconds): a slow agent's download. */
#define S_TRANSFER_S 600
/* Garbage collection runs this often (ms), and once at start. */
#define S_GC_MS (3600 * 1000)
/* Bytes of older blobs cut for the chunk index each heartbeat (about 30 ms of hashing here):
   the loop keeps answering while a store of any size is backfilled. */
#define S_BACKFILL_BYTES (16u << 20)
/* Requests handled per wakeup before heartbeats and the pipe get a turn. */
#define S_BATCH 256
/* Peers remembered for malformed-message counting; forgotten all at once past this. */
#define S_MAX_BAD_PEERS 10000
/* Pending connections the service socket's listen queue holds. */
#define S_LISTEN_BACKLOG 4096
/* Failure reasons per channel in a STATUS_SUMMARY_REPLY: the most common ones. */
#define S_SUMMARY_REASONS 5
/* Object deltas kept encoded: a few releases' changed lists, at most 16 MiB in all. */
#define S_DELTA_CACHE_ENTRIES 256
#define S_DELTA_CACHE_BYTES (16u << 20)

/* A reply waiting for its batch's commit. */
typedef struct {
    zframe_t *peer;
    fc_msg_t *reply;
} s_held_t;

typedef struct {
    zsock_t *pipe;
    zsock_t *router;
    zsock_t *pub;
    zpoller_t *poller;
    fc_store_t *store;
    fc_config_service_t *config;   /* config requests: fc_config_service.c */
    fc_rollout_service_t *rollout; /* release rollouts: fc_rollout_service.c */
    fc_broker_auth_t *auth;        /* CURVE, zauth and key roles (secure); NULL: insecure */
    fc_chunks_t *chunks;           /* GET_CHUNK within a memory budget: fc_chunks.c */
    fc_delta_cache_t *deltas;      /* OBJECT_DELTAs encoded last: fc_delta_cache.c */
    uint64_t epoch;
    char service[FC_MAX_ENDPOINT + 1];
    char announce[FC_MAX_ENDPOINT + 1];
    char pub_bound[FC_MAX_ENDPOINT + 1]; /* what the PUB is bound to, for a re-bind */
    bool pub_unbound;                    /* a re-bind failed: try again */
    bool verbose;
    bool quiet;
    int heartbeat_ms;
    bool stamped; /* heartbeats carry a signed timestamp (stamp_key) */
    fc_signkey_t stamp_key;
    zhashx_t *bad_peers; /* CURVE key (or routing id hex) -> count of malformed messages */
    fc_broker_stats_t stats;
    bool terminated;
    /* Replies held back until the batch's transaction is on disk (see s_batch_flush). */
    s_held_t held[S_BATCH];
    size_t nheld;
    /* Blobs agents report corrupt: which reports to act on (per blob, per key), and the
       thread that re-reads them off this loop. */
    fc_suspects_t *suspects;
    fc_verifier_t *verifier;
    /* A shared store's LISTEN thread: other brokers' commits, heard at once (NULL: none). */
    fc_store_listen_t *listen;
    /* A shared store's enrolled keys mirrored into keys/ (fc_store_keys.h); NULL: none. */
    fc_store_keys_t *store_keys;
    /* Blob hex -> when (unix seconds) a chunk of it was last asked for: a blob asked for
       within S_TRANSFER_S is in transfer, and neither pruning nor collection removes it. */
    zhashx_t *served;
    int64_t next_gc;              /* zclock_mono() of the next periodic collection */
    bool backfilled;              /* every blob stored before the chunk index is indexed */
    fc_store_backfill_t backfill; /* the counts so far, logged when it ends */
    fc_view_feed_t *feed;         /* the HTTP endpoint's view (fc_view_feed.h); NULL: none */
    /* The connections of the service and announce sockets (fc_peers.h): counted, and those
       refused in the handshake logged. NULL if a monitor could not be set up. */
    fc_peers_t *service_peers;
    fc_peers_t *announce_peers;
    fc_relay_t *relay;   /* this broker relays an upstream's releases (fc_relay.h); NULL: root */
    int64_t carried_at;  /* a relay: when it last sent a heartbeat carrying the root's stamp */
    fc_keyset_t *keyset; /* the agent keys relays read (RELAY_KEYS, topic K); NULL: insecure */
    fc_relay_up_t *up;   /* and forwards its agents' reports up (fc_relay_up.h) */
} s_broker_t;

struct fc_broker_t {
    zactor_t *actor;
    char service[FC_MAX_ENDPOINT + 1];
    char announce[FC_MAX_ENDPOINT + 1];
};

/* --- setup ------------------------------------------------------------------------------ */

/* The endpoint peers should use: the configured one unless its port was chosen by the
   system ("*", "!", a range), in which case the one libzmq reports. */
static void s_bound_endpoint(zsock_t *sock, const char *configured, char *out, size_t outsize)
{
    const char *colon = strrchr(configured, ':');
    bool fixed_port =
        colon && colon[1] != '\0' && strspn(colon + 1, "0123456789") == strlen(colon + 1);
    char *last = fixed_port ? NULL : zsock_last_endpoint(sock);
    snprintf(out, outsize, "%s", last ? last : configured);
    zstr_free(&last);
}

static int s_bind(zsock_t *sock, const char *what, const char *endpoint, char *out, size_t outsize,
                  char *text, size_t textsize)
{
    if (zsock_bind(sock, "%s", endpoint) < 0) {
        snprintf(text, textsize, "cannot bind %s endpoint %s: %s", what, endpoint,
                 zmq_strerror(zmq_errno()));
        return FC_EIO;
    }
    s_bound_endpoint(sock, endpoint, out, outsize);
    return FC_OK;
}

/* A fresh epoch at every start tells subscribers that sequence numbers may have jumped. */
static uint64_t s_new_epoch(void)
{
    uint64_t epoch = 0;
    if (getrandom(&epoch, sizeof epoch, 0) != (ssize_t)sizeof epoch)
        epoch = (uint64_t)time(NULL) ^ ((uint64_t)zclock_usecs() << 20) ^ (uint64_t)getpid();
    epoch &= INT64_MAX; /* stays positive wherever someone stores it signed */
    return epoch ? epoch : 1;
}

static void s_broker_destroy(s_broker_t **self_p)
{
    s_broker_t *self = *self_p;
    if (!self)
        return;
    fc_relay_destroy(&self->relay); /* before the poller it is registered with */
    fc_relay_up_destroy(&self->up);
    zpoller_destroy(&self->poller);
    fc_store_listen_destroy(&self->listen);
    fc_store_keys_destroy(&self->store_keys);
    fc_view_feed_destroy(&self->feed);
    fc_peers_destroy(&self->service_peers);
    fc_peers_destroy(&self->announce_peers);
    fc_verifier_destroy(&self->verifier);
    fc_suspects_destroy(&self->suspects);
    fc_chunks_destroy(&self->chunks);
    fc_delta_cache_destroy(&self->deltas);
    zsock_destroy(&self->router);
    zsock_destroy(&self->pub);
    fc_broker_auth_destroy(&self->auth);
    fc_keyset_destroy(&self->keyset);
    fc_config_service_destroy(&self->config);
    fc_rollout_service_destroy(&self->rollout);
    fc_store_destroy(&self->store);
    zhashx_destroy(&self->bad_peers);
    zhashx_destroy(&self->served);
    fc_signkey_wipe(&self->stamp_key);
    free(self);
    *self_p = NULL;
}

static fc_relay_serve_fn s_serve_held;
static fc_relay_refuse_fn s_refuse_held;
static fc_relay_revision_fn s_store_revision;
static fc_relay_revision_fn s_store_trust;
static fc_relay_beat_fn s_carry_beat;
static void s_on_relay_keys(s_broker_t *self, zframe_t *peer, const fc_msg_t *m);
static fc_relay_up_answer_fn s_answer_slot;

static s_broker_t *s_broker_new(zsock_t *pipe, const fc_broker_config_t *config, int *err,
                                char *text, size_t textsize)
{
    s_broker_t *self = zmalloc(sizeof *self);
    self->pipe = pipe;
    self->verbose = config->verbose;
    self->quiet = config->quiet;
    self->heartbeat_ms = config->heartbeat_ms > 0 ? config->heartbeat_ms : FC_BROKER_HEARTBEAT_MS;
    self->epoch = s_new_epoch();
    if (config->timestamp_key) {
        self->stamped = true;
        self->stamp_key = *config->timestamp_key;
    }
    self->bad_peers = zhashx_new();
    self->served = zhashx_new();
    self->store = fc_store_new_db(config->data_dir, config->store, err, text, textsize);
    if (!self->store) {
        s_broker_destroy(&self);
        return NULL;
    }
    self->config = fc_config_service_new(self->store, config->restart_share, config->quiet);
    self->rollout = fc_rollout_service_new(self->store, config->quiet);
    if (config->offline_after_s > 0)
        fc_store_rollout_set_offline_after(self->store, config->offline_after_s);
    self->router = zsock_new(ZMQ_ROUTER);
    self->pub = zsock_new(ZMQ_PUB);
    if (!self->router || !self->pub) {
        snprintf(text, textsize, "cannot create sockets: %s", zmq_strerror(zmq_errno()));
        *err = FC_EIO;
        s_broker_destroy(&self);
        return NULL;
    }
    fc_sock_tune_bound(zsock_resolve(self->router));
    fc_sock_tune_bound(zsock_resolve(self->pub));
    /* Keys enrolled in a shared database (`fleetcast keys ... --store`): in keys/ before the
       keyring's first read. */
    if (fc_store_shared(self->store) && config->secure) {
        self->store_keys = fc_store_keys_new(config->data_dir, config->quiet);
        if (self->store_keys)
            fc_store_keys_sync(self->store_keys, self->store, false, NULL);
    }
    if (config->secure) {
        /* Before any bind: with libzmq 4.3.4 a CURVE server without a ZAP handler admits
           any key. */
        self->auth = fc_broker_auth_new(config->data_dir, config->verbose, err, text, textsize);
        if (!self->auth) {
            s_broker_destroy(&self);
            return NULL;
        }
        fc_broker_auth_apply(self->auth, self->router);
        fc_broker_auth_apply(self->auth, self->pub);
        self->keyset = fc_keyset_new();
        fc_keyset_update(self->keyset, fc_broker_auth_keyring(self->auth));
        /* Secure by default includes freshness: heartbeats signed with the key agents find
           in the broker's public cert, unless the caller gave one. */
        if (!self->stamped && fc_broker_auth_timestamp_key(self->auth, &self->stamp_key) == 0)
            self->stamped = true;
    }
    /* Mandatory routing makes a send to a vanished peer fail at once instead of silently
       queueing nowhere; with the HWM it keeps every send non-blocking and bounded. */
    zsock_set_router_mandatory(self->router, 1);
    zsock_set_sndhwm(self->router, FC_BROKER_SNDHWM);
    /* A fleet reconnecting at once (a broker restart, a network back) is thousands of SYNs
       in a burst: libzmq's default listen backlog (100) drops the rest, and each dropped
       one waits out TCP's retry backoff (1, 2, 4, 8, 16 s): 10,000 agents took 31 s to be
       answered. The kernel caps this at net.core.somaxconn. */
    zsock_set_backlog(self->router, S_LISTEN_BACKLOG);
    *err = s_bind(self->router, "service", config->service, self->service, sizeof self->service,
                  text, textsize);
    if (!*err)
        *err = s_bind(self->pub, "announce", config->announce, self->announce,
                      sizeof self->announce, text, textsize);
    if (!*err) {
        char *last = zsock_last_endpoint(self->pub);
        snprintf(self->pub_bound, sizeof self->pub_bound, "%s", last ? last : config->announce);
        zstr_free(&last);
    }
    if (*err) {
        s_broker_destroy(&self);
        return NULL;
    }
    self->chunks = fc_chunks_new(self->store, zsock_resolve(self->router), config->chunk_budget);
    self->deltas = fc_delta_cache_new(S_DELTA_CACHE_ENTRIES, S_DELTA_CACHE_BYTES);
    if (!self->chunks || !self->deltas) {
        snprintf(text, textsize, "out of memory");
        *err = FC_ENOMEM;
        s_broker_destroy(&self);
        return NULL;
    }
    self->suspects = fc_suspects_new(FC_SUSPECT_BLOB_S, FC_SUSPECT_KEY_S, FC_SUSPECT_KEY_MAX,
                                     FC_SUSPECT_MAX_ENTRIES);
    self->verifier = fc_verifier_new(config->data_dir);
    if (!self->verifier) {
        snprintf(text, textsize, "cannot start the blob verifier thread");
        *err = FC_EIO;
        s_broker_destroy(&self);
        return NULL;
    }
    self->poller = zpoller_new(pipe, self->router, fc_verifier_sock(self->verifier), NULL);
    /* Only $TERM stops the actor: the owner decides what a signal means. */
    zpoller_set_nonstop(self->poller, true);
    self->service_peers = fc_peers_new(self->router, "service");
    self->announce_peers = fc_peers_new(self->pub, "announce");
    if (self->service_peers)
        zpoller_add(self->poller, fc_peers_sock(self->service_peers));
    if (self->announce_peers)
        zpoller_add(self->poller, fc_peers_sock(self->announce_peers));
    if (config->view_hub)
        self->feed =
            fc_view_feed_new(config->view_hub, self->store, self->chunks, self->service_peers);
    if (fc_store_shared(self->store) && !config->upstream) {
        self->listen = fc_store_listen_new(config->store, config->quiet);
        if (self->listen)
            zpoller_add(self->poller, fc_store_listen_sock(self->listen));
    }
    if (config->upstream) {
        fc_relay_config_t rc = {.upstream = config->upstream,
                                .curve = config->upstream_curve,
                                .store = self->store,
                                .pub = zsock_resolve(self->pub),
                                .epoch = self->epoch,
                                .quiet = config->quiet,
                                .verbose = config->verbose,
                                .serve = s_serve_held,
                                .refuse = s_refuse_held,
                                .revision = s_store_revision,
                                .trust = s_store_trust,
                                .beat = s_carry_beat,
                                /* Agent keys come from upstream when both links use keys. */
                                .keys_data_dir =
                                    self->auth && config->upstream_curve ? config->data_dir : NULL,
                                .arg = self,
                                .cache_max = config->cache_max,
                                .cache_pin_s = config->cache_pin_s,
                                .router = zsock_resolve(self->router)};
        self->relay = fc_relay_new(&rc, self->poller, err);
        if (!self->relay) {
            snprintf(text, textsize, "cannot connect to the upstream broker %s: %s",
                     config->upstream, fc_strerror(*err));
            s_broker_destroy(&self);
            return NULL;
        }
        char host[FC_MAX_NAME + 1] = "relay";
        if (config->relay_name && *config->relay_name)
            snprintf(host, sizeof host, "%s", config->relay_name);
        else if (gethostname(host, sizeof host) != 0 || !fc_name_valid(host))
            snprintf(host, sizeof host, "relay");
        fc_relay_up_config_t uc = {.upstream = config->upstream,
                                   .curve = config->upstream_curve,
                                   .name = host,
                                   .quiet = config->quiet,
                                   .verbose = config->verbose,
                                   .answer = s_answer_slot,
                                   .arg = self};
        self->up = fc_relay_up_new(&uc, self->poller, err);
        if (!self->up) {
            snprintf(text, textsize, "cannot connect to the upstream broker %s: %s",
                     config->upstream, fc_strerror(*err));
            s_broker_destroy(&self);
            return NULL;
        }
    }
    return self;
}

/* --- replies ---------------------------------------------------------------------------- */

static void s_batch_flush(s_broker_t *self);

static void s_send(s_broker_t *self, zframe_t *peer, uint64_t req, fc_msg_t **reply_p)
{
    (*reply_p)->req = req;
    if (fc_store_batch_open(self->store) && self->nheld == S_BATCH)
        s_batch_flush(self); /* never an OK before its write is on disk */
    if (fc_store_batch_open(self->store)) {
        s_held_t *h = &self->held[self->nheld++];
        h->peer = zframe_dup(peer);
        h->reply = *reply_p;
        *reply_p = NULL;
        return;
    }
    if (fc_msg_send_to(reply_p, peer, zsock_resolve(self->router)) != 0)
        self->stats.send_failed++;
    fc_msg_destroy(reply_p); /* in case the codec refused it */
}

static void s_error(s_broker_t *self, zframe_t *peer, uint64_t req, int code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void s_error(s_broker_t *self, zframe_t *peer, uint64_t req, int code, const char *fmt, ...)
{
    fc_msg_t *reply = fc_msg_new(FC_MSG_ERROR);
    reply->code = (uint32_t)code;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(reply->text, sizeof reply->text, fmt, ap);
        va_end(ap);
    } else
        fc_msg_set_str(reply->text, sizeof reply->text, fc_strerror(code));
    if (self->verbose)
        zsys_info("fleetcast-broker: req=%llu -> ERROR %s: %s", (unsigned long long)req,
                  fc_strerror(code), reply->text);
    self->stats.errors++;
    s_send(self, peer, req, &reply);
}

/* A request of another protocol version: ERROR FC_EPROTO naming the version this broker
   speaks, framed in the request's version when that is older (ERROR's layout never changes),
   so an older agent reads "upgrade" rather than timing out or misreading. */
static void s_error_version(s_broker_t *self, zframe_t *peer, uint64_t req, uint64_t version)
{
    fc_msg_t *reply = fc_msg_new(FC_MSG_ERROR);
    reply->code = FC_EPROTO;
    reply->proto_version = version < FC_PROTO_VERSION ? (uint32_t)version : 0;
    if (version == UINT64_MAX)
        snprintf(reply->text, sizeof reply->text,
                 "malformed request: no protocol version; this broker speaks fleetcast "
                 "protocol version %d",
                 FC_PROTO_VERSION);
    else
        snprintf(reply->text, sizeof reply->text,
                 "fleetcast protocol version %llu is not spoken here: this broker speaks "
                 "version %d; upgrade the %s",
                 (unsigned long long)version, FC_PROTO_VERSION,
                 version < FC_PROTO_VERSION ? "requesting program" : "broker");
    if (self->verbose)
        zsys_info("fleetcast-broker: req=%llu -> ERROR %s: %s", (unsigned long long)req,
                  fc_strerror(FC_EPROTO), reply->text);
    self->stats.errors++;
    s_send(self, peer, req, &reply);
}

static void s_ok(s_broker_t *self, zframe_t *peer, uint64_t req, uint64_t serial)
{
    fc_msg_t *reply = fc_msg_new(FC_MSG_OK);
    reply->serial = serial;
    s_send(self, peer, req, &reply);
}

/* --- malformed input -------------------------------------------------------------------- */

/* Who a malformed message counts against: its CURVE key, so that a peer cannot start
   afresh by reconnecting; with --insecure there is none, and its connection stands in. */
static char *s_sender(zframe_t *peer, const char *key)
{
    return *key ? strdup(key) : zframe_strhex(peer);
}

/* Counts a malformed message against its sender. */
static void s_bad_peer(s_broker_t *self, zframe_t *peer, const char *key)
{
    self->stats.malformed++;
    char *who = s_sender(peer, key);
    if (!who)
        return;
    if (zhashx_size(self->bad_peers) >= S_MAX_BAD_PEERS)
        zhashx_purge(self->bad_peers);
    uintptr_t count = (uintptr_t)zhashx_lookup(self->bad_peers, who) + 1;
    zhashx_update(self->bad_peers, who, (void *)count);
    if (count == FC_BROKER_MAX_BAD) {
        if (!self->quiet)
            zsys_warning("fleetcast-broker: ignoring %s %s after %d malformed messages",
                         *key ? "key" : "peer", who, FC_BROKER_MAX_BAD);
        char detail[FC_MAX_TEXT];
        snprintf(detail, sizeof detail, "%d malformed messages: every further message ignored",
                 FC_BROKER_MAX_BAD);
        fc_store_audit_add(self->store, who, "peer.ignore", detail, "ignored");
    }
    free(who);
}

static bool s_peer_ignored(s_broker_t *self, zframe_t *peer, const char *key)
{
    if (zhashx_size(self->bad_peers) == 0)
        return false;
    char *who = s_sender(peer, key);
    uintptr_t count = who ? (uintptr_t)zhashx_lookup(self->bad_peers, who) : 0;
    free(who);
    return count >= FC_BROKER_MAX_BAD;
}

/* --- request handlers ------------------------------------------------------------------- */

static void s_on_hello(s_broker_t *self, zframe_t *peer, fc_msg_t *m)
{
    /* The codec let in only a role of fc_role.h: a publisher's or relay's HELLO records
       nothing. */
    if (m->role == FC_ROLE_AGENT &&
        (fc_store_agent_seen(self->store, m->id, m->channel) != FC_OK ||
         (*m->group && fc_store_agent_group_set(self->store, m->id, m->group) != FC_OK))) {
        s_error(self, peer, m->req, FC_EINVAL, "invalid agent id, channel or group");
        return;
    }
    fc_msg_t *reply = fc_msg_new(FC_MSG_WELCOME);
    reply->epoch = self->epoch;
    reply->seq = fc_store_seq(self->store);
    fc_msg_set_str(reply->endpoint, sizeof reply->endpoint, self->announce);
    reply->heartbeat_ms = (uint64_t)self->heartbeat_ms;
    s_send(self, peer, m->req, &reply);
}

static void s_on_sync(s_broker_t *self, zframe_t *peer, fc_msg_t *m)
{
    if (*m->id && !fc_name_valid(m->id)) {
        s_error(self, peer, m->req, FC_EINVAL, "invalid agent id");
        return;
    }
    fc_msg_t *reply = fc_msg_new(FC_MSG_SNAPSHOT);
    reply->epoch = self->epoch;
    reply->seq = fc_store_seq(self->store);
    int err =
        fc_store_latest_all(self->store, FC_MAX_SNAPSHOT, &reply->releases, &reply->nreleases);
    if (!err && *m->channel) {
        /* An agent naming itself gets what its rollout wave offers it. */
        err = *m->id ? fc_store_release_for_agent(self->store, m->channel, m->id, &reply->bytes,
                                                  &reply->bytes_len)
                     : fc_store_latest(self->store, m->channel, NULL, &reply->bytes,
                                       &reply->bytes_len);
        if (err == FC_ENOTFOUND)
            err = FC_OK; /* no release yet: an empty manifest says so */
    }
    if (err) {
        fc_msg_destroy(&reply);
        s_error(self, peer, m->req, err, "cannot read the release history");
        return;
    }
    s_send(self, peer, m->req, &reply);
}

/* RELEASE_GET: one stored release's signed manifest, for a rollback or a copy to re-sign. */
static void s_on_release_get(s_broker_t *self, zframe_t *peer, fc_msg_t *m)
{
    fc_msg_t *reply = fc_msg_new(FC_MSG_SNAPSHOT);
    reply->epoch = self->epoch;
    reply->seq = fc_store_seq(self->store);
    fc_release_info_t info;
    int err = fc_store_release_get(self->store, m->channel, m->serial, &info, &reply->bytes,
                                   &reply->bytes_len);
    if (!err) {
        reply->releases = malloc(sizeof info);
        err = reply->releases ? FC_OK : FC_ENOMEM;
    }
    if (err) {
        fc_msg_destroy(&reply);
        if (err == FC_ENOTFOUND)
            s_error(self, peer, m->req, err, "channel %s has no release with serial %llu",
                    m->channel, (unsigned long long)m->serial);
        else
            s_error(self, peer, m->req, err, "cannot read the release history");
        return;
    }
    reply->releases[0] = info;
    reply->nreleases = 1;
    s_send(self, peer, m->req, &reply);
}

static void s_serve_chunk(s_broker_t *self, zframe_t *peer, const char *key, uint64_t req,
                          const uint8_t blob[FC_HASH_LEN], uint64_t offset, uint64_t length)
{
    char text[FC_MAX_TEXT];
    int err = fc_chunks_get(self->chunks, peer, key, req, blob, offset, length, text, sizeof text);
    if (err)
        s_error(self, peer, req, err, "%s", text);
}

/* fc_relay_serve_fn: a GET_CHUNK the relay held until its blob crossed the upstream link. */
static void s_serve_held(void *arg, zframe_t *peer, const char *key, uint64_t req,
                         const uint8_t blob[FC_HASH_LEN], uint64_t offset, uint64_t length)
{
    s_serve_chunk((s_broker_t *)arg, peer, key, req, blob, offset, length);
}

/* fc_relay_refuse_fn: a held GET_CHUNK whose blob the relay could not fetch. */
static void s_refuse_held(void *arg, zframe_t *peer, uint64_t req, int code, const char *text)
{
    s_error((s_broker_t *)arg, peer, req, code, "%s", text);
}

static void s_on_get_chunk(s_broker_t *self, zframe_t *peer, const char *key, fc_msg_t *m)
{
    char hex[2 * FC_HASH_LEN + 1];
    zhashx_update(self->served, fc_hash_hex(m->blob, hex), (void *)(uintptr_t)time(NULL));
    /* A relay holds a request for a blob it has yet to fetch, and serves it once fetched. */
    if (self->relay && fc_relay_hold(self->relay, peer, key, m->req, m->blob, m->offset, m->length))
        return;
    s_serve_chunk(self, peer, key, m->req, m->blob, m->offset, m->length);
}

static void s_on_upload_query(s_broker_t *self, zframe_t *peer, fc_msg_t *m)
{
    fc_msg_t *reply = fc_msg_new(FC_MSG_UPLOAD_STATE);
    int err = fc_store_blob_state(self->store, m->blob, m->size, &reply->flag, &reply->ranges,
                                  &reply->nranges);
    if (err) {
        fc_msg_destroy(&reply);
        s_error(self, peer, m->req, err, NULL);
        return;
    }
    memcpy(reply->blob, m->blob, FC_HASH_LEN);
    s_send(self, peer, m->req, &reply);
}

/* UPLOAD_QUERY that also names the blob's chunks (UPLOAD_CHUNKS by hash, UPLOAD_PREFIXES by
   their first bytes): those the broker holds in other blobs are copied into the upload here,
   so the publisher sends only the chunks new to the broker. */
static void s_on_upload_chunks(s_broker_t *self, zframe_t *peer, fc_msg_t *m)
{
    bool by_prefix = m->type == FC_MSG_UPLOAD_PREFIXES;
    size_t name_len = by_prefix ? FC_CHUNK_PREFIX : FC_HASH_LEN;
    size_t n = by_prefix ? fc_msg_chunk_prefix_count(m) : fc_msg_chunk_ref_count(m);
    uint32_t *lens = (uint32_t *)malloc(n * sizeof *lens);
    uint8_t *names = malloc(n * name_len);
    fc_msg_t *reply = fc_msg_new(FC_MSG_UPLOAD_STATE);
    int err = lens && names ? FC_OK : FC_ENOMEM;
    for (size_t i = 0; !err && i < n; i++) {
        const uint8_t *name;
        lens[i] =
            by_prefix ? fc_msg_chunk_prefix_get(m, i, &name) : fc_msg_chunk_ref_get(m, i, &name);
        memcpy(names + i * name_len, name, name_len);
    }
    uint64_t copied = 0;
    if (!err && by_prefix)
        err = fc_store_upload_prefixes(self->store, m->blob, m->size, lens, names, n, &reply->flag,
                                       &reply->ranges, &reply->nranges, &copied);
    else if (!err)
        err = fc_store_upload_chunks(self->store, m->blob, m->size, lens,
                                     (const uint8_t(*)[FC_HASH_LEN])names, n, &reply->flag,
                                     &reply->ranges, &reply->nranges, &copied);
    free(lens);
    free(names);
    if (err) {
        fc_msg_destroy(&reply);
        s_error(self, peer, m->req, err, NULL);
        return;
    }
    if (copied && self->verbose)
        zsys_info("fleetcast-broker: %s req=%llu: %llu bytes copied from chunks held",
                  fc_msg_type_name(m->type), (unsigned long long)m->req,
                  (unsigned long long)copied);
    memcpy(reply->blob, m->blob, FC_HASH_LEN);
    s_send(self, peer, m->req, &reply);
}

/* A chunk list the broker builds from the blob it names rather than receives whole: the
   publisher of a changed file then sends its list's name, not its 38 bytes a chunk. */
static void s_on_derive_object(s_broker_t *self, zframe_t *peer, fc_msg_t *m)
{
    int err = fc_store_object_derive(self->store, m->hash, m->blob);
    char hex[2 * FC_HASH_LEN + 1], bhex[2 * FC_HASH_LEN + 1];
    fc_hash_hex(m->hash, hex);
    fc_hash_hex(m->blob, bhex);
    if (err == FC_ENOTFOUND)
        s_error(self, peer, m->req, err, "blob %s is not stored complete: upload it first", bhex);
    else if (err == FC_EHASH)
        s_error(self, peer, m->req, err,
                "manifest object %s is not the chunk list of blob %s here: PUT_OBJECT it", hex,
                bhex);
    else if (err == FC_ETOOBIG)
        s_error(self, peer, m->req, err,
                "blob %s is larger than %u MiB, too large to read on the broker's loop: "
                "PUT_OBJECT its chunk list",
                bhex, FC_MAX_DERIVE_BLOB >> 20);
    else if (err)
        s_error(self, peer, m->req, err, "manifest object %s: %s", hex, fc_strerror(err));
    else
        s_ok(self, peer, m->req, 0);
}

static void s_on_put_chunk(s_broker_t *self, zframe_t *peer, fc_msg_t *m)
{
    if (!m->data) {
        s_error(self, peer, m->req, FC_EPROTO, "PUT_CHUNK without data");
        return;
    }
    int err = fc_store_put_chunk(self->store, m->blob, m->offset, zframe_data(m->data),
                                 zframe_size(m->data), m->hash);
    if (err) {
        s_error(self, peer, m->req, err,
                err == FC_EINVAL ? "chunk at %llu is misplaced, of the wrong length, or its"
                                   " blob has no upload in progress (send UPLOAD_QUERY)"
                                 : "chunk at %llu refused",
                (unsigned long long)m->offset);
        return;
    }
    fc_msg_t *reply = fc_msg_new(FC_MSG_PUT_ACK);
    memcpy(reply->blob, m->blob, FC_HASH_LEN);
    reply->offset = m->offset;
    s_send(self, peer, m->req, &reply);
}

static void s_on_blob_commit(s_broker_t *self, zframe_t *peer, fc_msg_t *m)
{
    int err = fc_store_blob_commit(self->store, m->blob, m->size);
    char hex[2 * FC_HASH_LEN + 1];
    fc_hash_hex(m->blob, hex);
    if (err == FC_EHASH)
        s_error(self, peer, m->req, err,
                "blob %s: content does not match its hash; upload"
                " discarded",
                hex);
    else if (err == FC_EMISSING)
        s_error(self, peer, m->req, err, "blob %s: chunks are missing", hex);
    else if (err)
        s_error(self, peer, m->req, err, "blob %s: %s", hex, fc_strerror(err));
    else
        s_ok(self, peer, m->req, 0);
}

/* Which of many small blobs (BLOBS_QUERY) or manifest objects (OBJECTS_QUERY) the broker
   holds: one byte each in a BLOBS_STATE, so a re-run push of a tree already stored costs
   one request per FC_MAX_BLOB_BATCH files or objects and sends none of them. */
static void s_on_held_query(s_broker_t *self, zframe_t *peer, fc_msg_t *m)
{
    bool (*held)(fc_store_t *, const uint8_t *) =
        m->type == FC_MSG_OBJECTS_QUERY ? fc_store_object_held : fc_store_blob_held;
    size_t n = fc_msg_blobs_count(m);
    fc_msg_t *reply = fc_msg_new(FC_MSG_BLOBS_STATE);
    reply->bytes = (uint8_t *)zmalloc(n);
    reply->bytes_len = n;
    for (size_t i = 0; i < n; i++)
        reply->bytes[i] = held(self->store, fc_msg_blobs_hash(m, i));
    s_send(self, peer, m->req, &reply);
}

/* A page or chunk list of a format-3 manifest, by its name. */
static void s_on_get_object(s_broker_t *self, zframe_t *peer, fc_msg_t *m)
{
    fc_msg_t *reply = fc_msg_new(FC_MSG_OBJECT);
    memcpy(reply->hash, m->hash, FC_HASH_LEN);
    int err = fc_store_object_get(self->store, m->hash, &reply->bytes, &reply->bytes_len);
    if (err) {
        fc_msg_destroy(&reply);
        char hex[2 * FC_HASH_LEN + 1];
        s_error(self, peer, m->req, err, "manifest object %s: %s", fc_hash_hex(m->hash, hex),
                err == FC_ENOTFOUND ? "not stored here" : fc_strerror(err));
        return;
    }
    s_send(self, peer, m->req, &reply);
}

/* A chunk list as a delta against one the agent holds (fc_objdelta.h). The whole object when
   the base is not stored here or the delta would not be smaller: the agent reads either. */
static void s_on_get_object_delta(s_broker_t *self, zframe_t *peer, fc_msg_t *m)
{
    uint8_t *obj = NULL, *base = NULL, *delta = NULL;
    size_t len = 0, base_len = 0, delta_len = 0;
    /* A fleet asks for the same change: encode it once (up to 180 ms for an 8 MiB list). */
    bool cached = fc_delta_cache_get(self->deltas, m->hash, m->blob, &delta, &delta_len);
    if (!cached || !delta) {
        int err = fc_store_object_get(self->store, m->hash, &obj, &len);
        if (err) {
            char hex[2 * FC_HASH_LEN + 1];
            s_error(self, peer, m->req, err, "manifest object %s: %s", fc_hash_hex(m->hash, hex),
                    err == FC_ENOTFOUND ? "not stored here" : fc_strerror(err));
            return;
        }
    }
    if (!cached) {
        /* A damaged or missing base makes no delta (and is not remembered: a repaired store
           may hold it later); one not smaller than the object sends it whole. */
        if (fc_store_object_get(self->store, m->blob, &base, &base_len) == FC_OK &&
            fc_mobj_check(m->blob, base, base_len) == FC_OK) {
            if (fc_objdelta_encode(base, base_len, obj, len, &delta, &delta_len) == FC_OK) {
                if (delta_len >= len) {
                    free(delta);
                    delta = NULL;
                }
                fc_delta_cache_put(self->deltas, m->hash, m->blob, delta, delta_len);
            }
        }
        free(base);
    }
    fc_msg_t *reply;
    if (delta) {
        reply = fc_msg_new(FC_MSG_OBJECT_DELTA);
        memcpy(reply->blob, m->blob, FC_HASH_LEN);
        reply->bytes = delta;
        reply->bytes_len = delta_len;
        free(obj);
    } else {
        reply = fc_msg_new(FC_MSG_OBJECT);
        reply->bytes = obj;
        reply->bytes_len = len;
    }
    memcpy(reply->hash, m->hash, FC_HASH_LEN);
    s_send(self, peer, m->req, &reply);
}

/* An object a push stores before the top level naming it: checked against its name. The OK
   waits for the batch's commit. */
static void s_on_put_object(s_broker_t *self, zframe_t *peer, fc_msg_t *m)
{
    int err = fc_store_object_put(self->store, m->hash, m->bytes, m->bytes_len);
    if (err) {
        char hex[2 * FC_HASH_LEN + 1];
        s_error(self, peer, m->req, err, "manifest object %s: %s", fc_hash_hex(m->hash, hex),
                err == FC_EHASH ? "content does not match its name; not stored" : fc_strerror(err));
        return;
    }
    s_ok(self, peer, m->req, 0);
}

/* Many small blobs whole: each checked against its hash and stored, in order; the first that
   fails ends the request with an ERROR naming it (those before it are stored: verified
   content, found by the next BLOBS_QUERY). The OK waits for the batch's commit. */
static void s_on_put_blobs(s_broker_t *self, zframe_t *peer, fc_msg_t *m)
{
    for (size_t i = 0; i < m->nitems; i++) {
        const uint8_t *blob, *data;
        size_t len;
        fc_msg_put_blob_get(m, i, &blob, &data, &len);
        int err = fc_store_put_blob(self->store, blob, data, len);
        if (err) {
            char hex[2 * FC_HASH_LEN + 1];
            s_error(self, peer, m->req, err, "blob %s (item %zu of %zu): %s",
                    fc_hash_hex(blob, hex), i + 1, m->nitems,
                    err == FC_EHASH ? "content does not match its hash; not stored"
                                    : fc_strerror(err));
            return;
        }
    }
    s_ok(self, peer, m->req, 0);
}

static void s_on_release_commit(s_broker_t *self, zframe_t *peer, fc_msg_t *m)
{
    fc_release_info_t info;
    uint64_t seq = 0;
    char text[FC_MAX_TEXT + 1] = "";
    int err = fc_store_release_commit(self->store, m->bytes, m->bytes_len, &info, &seq, text,
                                      sizeof text);
    fc_config_service_audit_release(self->config, m->bytes, m->bytes_len, err, text, &info);
    if (err) {
        s_error(self, peer, m->req, err, "%s", *text ? text : fc_strerror(err));
        return;
    }
    if (seq > 0) {
        if (!self->quiet)
            zsys_info("fleetcast-broker: release %s %s (serial %llu) committed, seq %llu",
                      info.channel, info.version, (unsigned long long)info.serial,
                      (unsigned long long)seq);
        fc_msg_t *ann = fc_msg_new(FC_MSG_ANNOUNCE);
        ann->epoch = self->epoch;
        ann->seq = seq;
        fc_msg_set_str(ann->channel, sizeof ann->channel, info.channel);
        fc_msg_set_str(ann->version, sizeof ann->version, info.version);
        ann->serial = info.serial;
        /* Subscribers that miss this see the gap, or the heartbeat's seq, and SYNC. */
        if (fc_msg_publish(&ann, zsock_resolve(self->pub)) == 0)
            self->stats.announced++;
        fc_msg_destroy(&ann);
    }
    s_ok(self, peer, m->req, info.serial);
}

/* fc_store_busy_fn: a blob an agent asked for lately may be asked for again. */
static bool s_in_transfer(const uint8_t blob[FC_HASH_LEN], void *arg)
{
    s_broker_t *self = (s_broker_t *)arg;
    char hex[2 * FC_HASH_LEN + 1];
    uintptr_t when = (uintptr_t)zhashx_lookup(self->served, fc_hash_hex(blob, hex));
    return when && (int64_t)when > (int64_t)time(NULL) - S_TRANSFER_S;
}

static void s_log_gc(s_broker_t *self, const char *what, const fc_store_gc_result_t *r)
{
    if (self->quiet || (!r->releases && !r->blobs && !r->parts && !r->kept_busy))
        return;
    char bytes[32];
    zsys_info("fleetcast-broker: %s: %llu releases removed (%llu kept: in transfer), %llu "
              "blobs removed (%s), %llu partial uploads removed, %llu unneeded blobs kept: in "
              "transfer",
              what, (unsigned long long)r->releases, (unsigned long long)r->kept_busy,
              (unsigned long long)r->blobs, fc_format_bytes(bytes, sizeof bytes, r->bytes),
              (unsigned long long)r->parts, (unsigned long long)r->blobs_busy);
}

/* RELEASE_PRUNE: OK's serial is the number of releases removed. */
static void s_on_release_prune(s_broker_t *self, zframe_t *peer, fc_msg_t *m, const char *key)
{
    fc_store_gc_result_t res;
    char text[FC_MAX_TEXT + 1];
    int err = fc_store_release_prune(self->store, m->channel, m->serial, s_in_transfer, self,
                                     key && *key ? key : "(no key)", &res, text, sizeof text);
    if (err) {
        s_error(self, peer, m->req, err, "%s", text);
        return;
    }
    char what[FC_MAX_NAME + 32];
    snprintf(what, sizeof what, "prune of %s", m->channel);
    s_log_gc(self, what, &res);
    s_ok(self, peer, m->req, res.releases);
}

/* One step of indexing the chunks of blobs stored before the chunk index (each heartbeat
   until done), so a push dedupes against them too. */
static void s_backfill(s_broker_t *self)
{
    s_batch_flush(self);
    fc_store_backfill_t step;
    if (fc_store_backfill_step(self->store, S_BACKFILL_BYTES, &step) != FC_OK) {
        zsys_warning("fleetcast-broker: chunk index backfill failed; retried at the next beat");
        return;
    }
    self->backfill.blobs += step.blobs;
    self->backfill.indexed += step.indexed;
    self->backfill.bytes += step.bytes;
    self->backfilled = step.done;
    if (step.done && self->backfill.blobs)
        zsys_info("fleetcast-broker: chunk index backfilled: %llu blobs looked at, %llu indexed, "
                  "%llu bytes read",
                  (unsigned long long)self->backfill.blobs,
                  (unsigned long long)self->backfill.indexed,
                  (unsigned long long)self->backfill.bytes);
}

/* Hourly, and at start: partial uploads and blobs no release names, a day old. */
static void s_gc(s_broker_t *self)
{
    fc_store_gc_result_t res = {0};
    int64_t now = (int64_t)time(NULL);
    /* Forget transfers long over, so the table holds what is being fetched, not history. */
    zlistx_t *keys = zhashx_keys(self->served);
    for (char *k = zlistx_first(keys); k; k = zlistx_next(keys))
        if ((int64_t)(uintptr_t)zhashx_lookup(self->served, k) <= now - S_TRANSFER_S)
            zhashx_delete(self->served, k);
    zlistx_destroy(&keys);
    if (fc_store_gc(self->store, NULL, s_in_transfer, self, now, &res) != FC_OK)
        zsys_warning("fleetcast-broker: garbage collection failed; retried in an hour");
    s_log_gc(self, "garbage collection", &res);
}

/* One positive decimal number, all of text, into *v; false if text is not one. */
static bool s_decimal(const char *text, size_t len, uint64_t *v)
{
    *v = 0;
    if (len == 0 || len > 19)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)text[i]))
            return false;
        *v = *v * 10 + (uint64_t)(text[i] - '0');
    }
    return *v > 0;
}

/* A LIST cursor as LIST_REPLY names it: "SEQ.ID", the position of the last release listed
   (sequence numbers need not be unique, row ids are); or "SEQ" as brokers before ids were
   in it named it (every release of that number then counts as listed). */
static bool s_list_cursor(const char *cursor, uint64_t *seq, uint64_t *id)
{
    const char *dot = strchr(cursor, '.');
    *id = 0;
    if (!dot)
        return s_decimal(cursor, strlen(cursor), seq);
    return s_decimal(cursor, (size_t)(dot - cursor), seq) &&
           s_decimal(dot + 1, strlen(dot + 1), id);
}

static void s_on_list(s_broker_t *self, zframe_t *peer, fc_msg_t *m)
{
    size_t limit;
    const char *why = fc_msg_page_check(m, &limit);
    uint64_t before = 0, before_id = 0;
    if (!why && *m->cursor && !s_list_cursor(m->cursor, &before, &before_id))
        why = "invalid cursor: not one a LIST_REPLY named";
    if (!why && *m->state)
        why = "LIST takes no state filter";
    if (why) {
        s_error(self, peer, m->req, FC_EINVAL, why);
        return;
    }
    fc_msg_t *reply = fc_msg_new(FC_MSG_LIST_REPLY);
    bool more = false;
    uint64_t last = 0, last_id = 0;
    int err = fc_store_list_page(self->store, m->channel, before, before_id, limit,
                                 &reply->releases, &reply->nreleases, &more, &last, &last_id);
    if (!err && more && !m->limit)
        err = FC_ETOOBIG;
    if (err) {
        fc_msg_destroy(&reply);
        s_error(self, peer, m->req, err,
                err == FC_ETOOBIG ? "more releases than one reply holds, and this client does "
                                    "not page: a newer fleetcast lists them all"
                                  : NULL);
        return;
    }
    reply->limit = m->limit ? limit : 0;
    reply->more = more;
    if (more)
        snprintf(reply->cursor, sizeof reply->cursor, "%llu.%llu", (unsigned long long)last,
                 (unsigned long long)last_id);
    s_send(self, peer, m->req, &reply);
}

/* An agent that refused a release by hash names the blob in REPORT's blob field: re-read our
   copy on the verifier's thread (s_on_verified acts on the answer). A REPORT is small and a
   blob may be large: fc_suspects decides which reports are worth a re-read (each blob once a
   minute, each key a few a minute), so a stolen key cannot keep the broker reading. */
static void s_check_reported_blob(s_broker_t *self, const char *key, const fc_msg_t *m)
{
    static const uint8_t none[FC_HASH_LEN];
    const fc_agent_status_t *st = &m->agents[0];
    uint64_t size;
    if (!memcmp(m->blob, none, FC_HASH_LEN) ||
        fc_store_blob_size(self->store, m->blob, &size) != FC_OK)
        return; /* none named, or not ours (never stored, or already moved aside) */
    char hex[2 * FC_HASH_LEN + 1];
    fc_hash_hex(m->blob, hex);
    fc_suspect_verdict_t verdict =
        fc_suspects_admit(self->suspects, m->blob, key, zclock_mono() / 1000);
    int err =
        verdict == FC_SUSPECT_VERIFY ? fc_verifier_request(self->verifier, m->blob, st->id) : FC_OK;
    if (verdict != FC_SUSPECT_VERIFY || err) {
        if (self->verbose)
            zsys_info("fleetcast-broker: agent %s reports blob %s corrupt; not re-read: %s", st->id,
                      hex, err ? "too many re-reads queued" : fc_suspect_verdict_name(verdict));
        return;
    }
    if (!self->quiet)
        zsys_info("fleetcast-broker: agent %s reports blob %s corrupt; re-reading it", st->id, hex);
}

/* A re-read is done: a damaged blob is marked here, on the loop that owns the store. */
static void s_on_verified(s_broker_t *self)
{
    fc_verifier_result_t r;
    if (fc_verifier_result(self->verifier, &r) != FC_OK)
        return;
    char hex[2 * FC_HASH_LEN + 1], text[FC_MAX_TEXT + 256];
    fc_hash_hex(r.blob, hex);
    if (r.err == FC_EHASH) {
        char reason[FC_MAX_TEXT + 64];
        snprintf(reason, sizeof reason, "does not match its hash (reported by agent %s)", r.who);
        int qerr = fc_store_blob_quarantine(self->store, r.blob, reason);
        snprintf(text, sizeof text, "%s; %s", reason,
                 qerr ? fc_strerror(qerr)
                      : "moved aside and no longer served: re-push a release holding it to "
                        "repair it");
        zsys_error("fleetcast-broker: blob %s corrupt: %s", hex, text);
    } else if (r.err != FC_ENOTFOUND) /* not found: already moved aside */
        zsys_info("fleetcast-broker: agent %s reports blob %s corrupt; our copy %s (re-read in "
                  "%lld ms)",
                  r.who, hex, r.err ? fc_strerror(r.err) : "verifies", (long long)r.msecs);
}

static void s_on_report(s_broker_t *self, zframe_t *peer, fc_msg_t *m, const char *key)
{
    if (m->nagents != 1) {
        s_error(self, peer, m->req, FC_EINVAL, "REPORT carries exactly one agent status");
        return;
    }
    int err = fc_store_agent_report(self->store, &m->agents[0]);
    if (!err) {
        s_check_reported_blob(self, key, m);
        fc_rollout_service_on_report(self->rollout, &m->agents[0]);
        fc_store_via_set(self->store, m->agents[0].id, ""); /* it reports here directly now */
        if (self->up)
            fc_relay_up_queue(self->up, "", m);
    }
    if (err)
        s_error(self, peer, m->req, err, err == FC_EINVAL ? "invalid agent id or channel" : NULL);
    else
        s_ok(self, peer, m->req, 0);
}

/* So the CLI can say who is offline, and since when, by the broker's clock. */
static void s_offline_threshold(s_broker_t *self, fc_msg_t *reply)
{
    reply->offline_ms = (uint64_t)fc_store_rollout_offline_after(self->store) * 1000;
    reply->time_ms = fc_stamp_now_ms();
}

static void s_on_status(s_broker_t *self, zframe_t *peer, fc_msg_t *m)
{
    size_t limit;
    const char *why = fc_msg_page_check(m, &limit);
    fc_state_t known;
    if (!why && *m->state && !streq(m->state, "offline") && !fc_state_from_name(m->state, &known))
        why = "unknown state filter: an agent state (docs/PROTOCOL.md 3.7) or offline";
    if (why) {
        s_error(self, peer, m->req, FC_EINVAL, why);
        return;
    }
    fc_msg_t *reply = fc_msg_new(FC_MSG_STATUS_REPLY);
    s_offline_threshold(self, reply);
    int64_t online_since = (int64_t)((reply->time_ms - reply->offline_ms + 999) / 1000);
    bool more = false;
    int err = fc_store_agents_page(self->store, m->channel, m->cursor, m->state, online_since,
                                   limit, &reply->agents, &reply->nagents, &more);
    if (!err)
        fc_store_via_fill(self->store, reply->agents, reply->nagents);
    if (!err && more && !m->limit)
        err = FC_ETOOBIG;
    if (err) {
        fc_msg_destroy(&reply);
        s_error(self, peer, m->req, err,
                err == FC_ETOOBIG ? "more agents than one reply holds, and this client does "
                                    "not page: a newer fleetcast lists them all"
                                  : NULL);
        return;
    }
    reply->limit = m->limit ? limit : 0;
    reply->more = more;
    s_send(self, peer, m->req, &reply);
}

/* STATUS_SUMMARY: counted in the store, one small reply whatever the fleet size. A request
   with a limit may be told what was left out; one without (a client from before) is
   refused rather than sent a summary cut without a word. */
static void s_on_status_summary(s_broker_t *self, zframe_t *peer, fc_msg_t *m)
{
    size_t max = m->limit == 0 || m->limit > FC_MAX_LIST ? FC_MAX_LIST : (size_t)m->limit;
    fc_msg_t *reply = fc_msg_new(FC_MSG_STATUS_SUMMARY_REPLY);
    s_offline_threshold(self, reply);
    int64_t online_since = (int64_t)((reply->time_ms - reply->offline_ms + 999) / 1000);
    fc_store_left_out_t left;
    int err = fc_store_view_summary(self->store, m->channel, online_since, S_SUMMARY_REASONS, max,
                                    m->limit != 0, &reply->counts, &reply->ncounts, &left);
    if (err) {
        fc_msg_destroy(&reply);
        s_error(self, peer, m->req, err,
                err == FC_ETOOBIG ? "more (channel, version, state) groups or failure reasons "
                                    "than one summary holds, and this client cannot be told "
                                    "which were left out: a newer fleetcast says so"
                                  : NULL);
        return;
    }
    reply->left_out = left.rows;
    reply->groups_left_out = left.groups;
    reply->agents_left_out = left.agents;
    s_send(self, peer, m->req, &reply);
}

/* A service's answer to m: publishes its announcement (*ann_p, may be NULL), counts an ERROR,
   sends the reply. Takes both. */
static void s_service_reply(s_broker_t *self, zframe_t *peer, const fc_msg_t *m, fc_msg_t **ann_p,
                            fc_msg_t **reply_p)
{
    /* Subscribers that miss this see the gap, or the heartbeat's seq, and re-sync. */
    if (*ann_p && fc_msg_publish(ann_p, zsock_resolve(self->pub)) == 0)
        self->stats.announced++;
    fc_msg_destroy(ann_p);
    fc_msg_t *reply = *reply_p;
    if (reply->type == FC_MSG_ERROR) {
        self->stats.errors++;
        if (self->verbose)
            zsys_info("fleetcast-broker: req=%llu -> ERROR %s: %s", (unsigned long long)m->req,
                      fc_strerror((int)reply->code), reply->text);
    }
    s_send(self, peer, m->req, reply_p);
}

/* What a relay mirrors from upstream (a config revision: CONFIG_PUSH; a trusted-key list:
   TRUST_PUSH), stored and announced as if pushed here by the service that takes that push
   (the relay refuses both from its peers; this is their only way in). */
static int s_store_pushed(s_broker_t *self, fc_msg_type_t type, const uint8_t *bytes, size_t len,
                          char *text, size_t textsize)
{
    fc_msg_t *push = fc_msg_new(type);
    fc_msg_set_bytes(push, bytes, len);
    fc_msg_t *ann = NULL;
    fc_msg_t *reply =
        type == FC_MSG_CONFIG_PUSH
            ? fc_config_service_handle(self->config, push, self->epoch, &ann)
            : fc_trust_service_handle(self->store, push, self->epoch, self->quiet, &ann);
    int err = reply->type == FC_MSG_ERROR ? (int)reply->code : FC_OK;
    if (err)
        snprintf(text, textsize, "%s", reply->text);
    if (ann && fc_msg_publish(&ann, zsock_resolve(self->pub)) == 0)
        self->stats.announced++;
    fc_msg_destroy(&ann);
    fc_msg_destroy(&reply);
    fc_msg_destroy(&push);
    return err;
}

static void s_heartbeat(s_broker_t *self, const fc_relay_stamp_t *root);

/* fc_relay_beat_fn: the root's signed timestamp, carried in our heartbeat at once; at most
   one every S_CARRY_MIN_MS, so an upstream beating too fast cannot make us flood our agents. */
#define S_CARRY_MIN_MS 50
static void s_carry_beat(void *arg, const fc_relay_stamp_t *root)
{
    s_broker_t *self = arg;
    if (self->carried_at && zclock_mono() - self->carried_at < S_CARRY_MIN_MS)
        return;
    s_heartbeat(self, root);
}

/* fc_relay_revision_fn: an upstream config revision. */
static int s_store_revision(void *arg, const uint8_t *bytes, size_t len, char *text,
                            size_t textsize)
{
    return s_store_pushed((s_broker_t *)arg, FC_MSG_CONFIG_PUSH, bytes, len, text, textsize);
}

/* fc_relay_revision_fn: an upstream trusted-key list. */
static int s_store_trust(void *arg, const uint8_t *bytes, size_t len, char *text, size_t textsize)
{
    return s_store_pushed((s_broker_t *)arg, FC_MSG_TRUST_PUSH, bytes, len, text, textsize);
}

/* CONFIG_PUSH, CONFIG_SYNC, CONFIG_ACK, CONFIG_STATUS, RESTART_SLOT, AUDIT; and TRUST_PUSH,
   GET_TRUST (fc_trust_service.c). */
static void s_on_config(s_broker_t *self, zframe_t *peer, fc_msg_t *m)
{
    fc_msg_t *ann = NULL;
    bool trust = m->type == FC_MSG_TRUST_PUSH || m->type == FC_MSG_GET_TRUST;
    fc_msg_t *reply = trust
                          ? fc_trust_service_handle(self->store, m, self->epoch, self->quiet, &ann)
                          : fc_config_service_handle(self->config, m, self->epoch, &ann);
    if (reply->type == FC_MSG_CONFIG_STATUS_REPLY) {
        s_offline_threshold(self, reply);
        fc_store_via_fill(self->store, reply->agents, reply->nagents);
    }
    if (self->up && m->type == FC_MSG_CONFIG_ACK && reply->type == FC_MSG_OK)
        fc_relay_up_queue(self->up, "", m); /* the root counts it too */
    s_service_reply(self, peer, m, &ann, &reply);
}

/* RELAY_REPORTS: a relay's batch, each item applied as if its agent had sent it here. */
static void s_relayed_ctx(s_broker_t *self, fc_relayed_t *ctx)
{
    *ctx = (fc_relayed_t){self->store, self->config, self->rollout,
                          self->up,    self->epoch,  self->quiet};
}

static void s_on_relay_reports(s_broker_t *self, zframe_t *peer, fc_msg_t *m)
{
    fc_relayed_t ctx;
    s_relayed_ctx(self, &ctx);
    fc_msg_t *reply = fc_relayed_reports(&ctx, m);
    s_send(self, peer, m->req, &reply);
}

/* RELAY_SLOT: decided here at the root, or forwarded further up by a relay of relays. */
static void s_on_relay_slot(s_broker_t *self, zframe_t *peer, fc_msg_t *m)
{
    if (self->up) {
        fc_relay_up_slot(self->up, m, peer, m->req);
        return;
    }
    fc_relayed_t ctx;
    s_relayed_ctx(self, &ctx);
    fc_msg_t *ann = NULL;
    fc_msg_t *reply = fc_relayed_slot(&ctx, m, &ann);
    s_service_reply(self, peer, m, &ann, &reply);
}

/* fc_relay_up_answer_fn: the upstream's answer to a slot request, to the agent that asked. */
static void s_answer_slot(void *arg, zframe_t *peer, fc_msg_t **reply_p)
{
    s_broker_t *self = arg;
    if (fc_msg_send_to(reply_p, peer, zsock_resolve(self->router)) != 0)
        self->stats.send_failed++;
    fc_msg_destroy(reply_p);
}

/* ROLLOUT_PLAN, ROLLOUT_STATUS, ROLLOUT_PROMOTE, ROLLOUT_PAUSE, ROLLOUT_RESUME. */
static void s_on_rollout(s_broker_t *self, zframe_t *peer, const char *key, fc_msg_t *m)
{
    fc_msg_t *ann = NULL;
    fc_msg_t *reply = fc_rollout_service_handle(self->rollout, m, key, self->epoch, &ann);
    /* A promoted wave: its agents sync; the others find their release unchanged. */
    s_service_reply(self, peer, m, &ann, &reply);
}

/* --- batched writes --------------------------------------------------------------------- */

/* Acks and reports arrive from a whole fleet at once, and a publisher's uploads many at a
   time (many small files), each wanting a durable write: the ones read in one wakeup share
   a transaction and a few syncs (fc_store_blob_flush), and their replies wait for its
   commit (an OK, PUT_ACK or UPLOAD_STATE still means on disk). Anything else ends the batch
   first, so replies keep their order. */
static bool s_batchable(fc_msg_type_t type)
{
    return type == FC_MSG_CONFIG_ACK || type == FC_MSG_REPORT || type == FC_MSG_RELAY_REPORTS ||
           type == FC_MSG_UPLOAD_QUERY || type == FC_MSG_PUT_CHUNK || type == FC_MSG_BLOB_COMMIT ||
           type == FC_MSG_BLOBS_QUERY || type == FC_MSG_PUT_BLOBS || type == FC_MSG_UPLOAD_CHUNKS ||
           type == FC_MSG_PUT_OBJECT || type == FC_MSG_OBJECTS_QUERY ||
           type == FC_MSG_UPLOAD_PREFIXES || type == FC_MSG_DERIVE_OBJECT;
}

static void s_batch_flush(s_broker_t *self)
{
    if (!fc_store_batch_open(self->store))
        return;
    int err = fc_store_batch_commit(self->store);
    for (size_t i = 0; i < self->nheld; i++) {
        s_held_t *h = &self->held[i];
        if (err && h->reply->type != FC_MSG_ERROR) {
            /* Not on disk after all: the sender re-sends on an error. */
            uint64_t req = h->reply->req;
            fc_msg_destroy(&h->reply);
            h->reply = fc_msg_new(FC_MSG_ERROR);
            h->reply->req = req;
            h->reply->code = (uint32_t)err;
            fc_msg_set_str(h->reply->text, sizeof h->reply->text, fc_strerror(err));
            self->stats.errors++;
        }
        if (fc_msg_send_to(&h->reply, h->peer, zsock_resolve(self->router)) != 0)
            self->stats.send_failed++;
        fc_msg_destroy(&h->reply);
        zframe_destroy(&h->peer);
    }
    self->nheld = 0;
}

/* Takes ownership of msg (routing id frame first). */
static void s_handle_request(s_broker_t *self, zmsg_t *msg)
{
    zframe_t *peer = zmsg_pop(msg);
    if (!peer || zmsg_size(msg) == 0) {
        self->stats.malformed++;
        zframe_destroy(&peer);
        zmsg_destroy(&msg);
        return;
    }
    /* zauth set User-Id to the Z85 key the connection authenticated with; libzmq attaches
       it to the payload frames, not to the routing id ROUTER adds. */
    char key[FC_CURVE_Z85_LEN + 1] = "";
    const char *user = zframe_meta(zmsg_first(msg), "User-Id");
    if (user)
        snprintf(key, sizeof key, "%s", user);
    if (s_peer_ignored(self, peer, key)) {
        self->stats.ignored++;
        zframe_destroy(&peer);
        zmsg_destroy(&msg);
        return;
    }
    uint64_t req = 0;
    bool have_req = fc_msg_peek_req(zmsg_first(msg), &req);
    uint64_t version = FC_PROTO_VERSION;
    (void)fc_msg_peek_version(zmsg_first(msg), &version);
    /* Read before decoding takes the frame: a request of a newer program (a type or fields
       added after this broker) is told to upgrade the broker, not merely "malformed". */
    char newer[FC_MAX_TEXT - 32];
    bool is_newer = have_req && fc_msg_peek_newer(zmsg_first(msg), newer, sizeof newer);
    int err = FC_OK;
    fc_msg_t *m = fc_msg_decode(&msg, &err);
    zmsg_destroy(&msg);
    if (!m) {
        s_bad_peer(self, peer, key);
        if (have_req && version != FC_PROTO_VERSION)
            s_error_version(self, peer, req, version);
        else if (is_newer)
            s_error(self, peer, req, FC_EPROTO, "malformed request: %s", newer);
        else if (have_req)
            s_error(self, peer, req, FC_EPROTO, "malformed request: %s", fc_strerror(err));
        zframe_destroy(&peer);
        return;
    }
    if (self->verbose)
        fc_broker_log_request(peer, m);
    self->stats.requests++;
    /* Secure: the key's role, and the agent id the request names (fc_broker_auth.c). */
    char text[FC_MAX_TEXT];
    int refused = self->auth ? fc_broker_auth_check(self->auth, self->store, key, m, self->quiet,
                                                    text, sizeof text)
                             : FC_OK;
    if (refused) {
        self->stats.denied += refused == FC_EPERM;
        s_error(self, peer, m->req, refused, "%s", text);
        fc_msg_destroy(&m);
        zframe_destroy(&peer);
        return;
    }
    if (self->relay && fc_relay_refuses(m->type)) {
        /* Everything a relay holds is the root's, signed there: writes go to the root. */
        s_error(self, peer, m->req, FC_EPERM,
                "%s refused: this broker is a relay of %s; publisher operations go to the root "
                "broker (fleetcast --broker %s)",
                fc_msg_type_name(m->type), fc_relay_upstream(self->relay),
                fc_relay_upstream(self->relay));
        fc_msg_destroy(&m);
        zframe_destroy(&peer);
        return;
    }
    if (!s_batchable(m->type) || self->nheld == S_BATCH)
        s_batch_flush(self);
    if (s_batchable(m->type))
        fc_store_batch_begin(self->store); /* on failure the write stands alone */
    switch (m->type) {
    case FC_MSG_HELLO:
        s_on_hello(self, peer, m);
        break;
    case FC_MSG_SYNC:
        s_on_sync(self, peer, m);
        break;
    case FC_MSG_GET_CHUNK:
        s_on_get_chunk(self, peer, key, m);
        break;
    case FC_MSG_UPLOAD_QUERY:
        s_on_upload_query(self, peer, m);
        break;
    case FC_MSG_PUT_CHUNK:
        s_on_put_chunk(self, peer, m);
        break;
    case FC_MSG_BLOB_COMMIT:
        s_on_blob_commit(self, peer, m);
        break;
    case FC_MSG_BLOBS_QUERY:
    case FC_MSG_OBJECTS_QUERY:
        s_on_held_query(self, peer, m);
        break;
    case FC_MSG_PUT_BLOBS:
        s_on_put_blobs(self, peer, m);
        break;
    case FC_MSG_UPLOAD_CHUNKS:
    case FC_MSG_UPLOAD_PREFIXES:
        s_on_upload_chunks(self, peer, m);
        break;
    case FC_MSG_DERIVE_OBJECT:
        s_on_derive_object(self, peer, m);
        break;
    case FC_MSG_GET_OBJECT:
        s_on_get_object(self, peer, m);
        break;
    case FC_MSG_GET_OBJECT_DELTA:
        s_on_get_object_delta(self, peer, m);
        break;
    case FC_MSG_PUT_OBJECT:
        s_on_put_object(self, peer, m);
        break;
    case FC_MSG_RELEASE_COMMIT:
        s_on_release_commit(self, peer, m);
        break;
    case FC_MSG_LIST:
        s_on_list(self, peer, m);
        break;
    case FC_MSG_RELEASE_GET:
        s_on_release_get(self, peer, m);
        break;
    case FC_MSG_RELEASE_PRUNE:
        s_on_release_prune(self, peer, m, key);
        break;
    case FC_MSG_REPORT:
        s_on_report(self, peer, m, key);
        break;
    case FC_MSG_STATUS:
        s_on_status(self, peer, m);
        break;
    case FC_MSG_STATUS_SUMMARY:
        s_on_status_summary(self, peer, m);
        break;
    case FC_MSG_RELAY_KEYS:
        s_on_relay_keys(self, peer, m);
        break;
    case FC_MSG_RELAY_REPORTS:
        s_on_relay_reports(self, peer, m);
        break;
    case FC_MSG_RELAY_SLOT:
        s_on_relay_slot(self, peer, m);
        break;
    default:
        if (m->type == FC_MSG_RESTART_SLOT && self->up) {
            fc_relay_up_slot(self->up, m, peer, m->req); /* the root decides */
            break;
        }
        if (fc_msg_type_is_config_request(m->type)) {
            s_on_config(self, peer, m);
            break;
        }
        if (fc_msg_type_is_rollout_request(m->type)) {
            s_on_rollout(self, peer, key, m);
            break;
        }
        /* A reply or announcement type sent as a request. */
        self->stats.requests--;
        s_bad_peer(self, peer, key);
        s_error(self, peer, m->req, FC_EPROTO, "%s is not a request", fc_msg_type_name(m->type));
        break;
    }
    if (self->feed)
        fc_view_feed_note(self->feed, m->type);
    fc_msg_destroy(&m);
    zframe_destroy(&peer);
}

/* A relay mirrors the agent keys enrolled here (docs/PROTOCOL.md 3.16); the keyring's role
   check let only a relay key this far. */
static void s_on_relay_keys(s_broker_t *self, zframe_t *peer, const fc_msg_t *m)
{
    if (!self->keyset) {
        s_error(self, peer, m->req, FC_ENOTFOUND,
                "RELAY_KEYS: this broker runs with --insecure and has no agent keys");
        return;
    }
    fc_keyset_update(self->keyset, fc_broker_auth_keyring(self->auth));
    fc_msg_t *reply = fc_keyset_page(self->keyset, m->cursor, FC_MAX_LIST);
    s_send(self, peer, m->req, &reply);
}

/* Topic K, every heartbeat: relays compare the serial with theirs and ask when it differs.
   Sent every beat, not only on a change, because the change that matters most (a revocation)
   also re-binds this socket, and what is published then reaches nobody. */
static void s_announce_keys(s_broker_t *self)
{
    if (fc_keyset_update(self->keyset, fc_broker_auth_keyring(self->auth)) && self->verbose)
        zsys_info("fleetcast-broker: enrolled agent keys: %zu (serial %016llx)",
                  fc_keyset_size(self->keyset), (unsigned long long)fc_keyset_serial(self->keyset));
    fc_msg_t *k = fc_keyset_announce(self->keyset);
    fc_msg_publish(&k, zsock_resolve(self->pub));
}

/* --- loop ------------------------------------------------------------------------------- */

/* zmq_unbind closes the listener on libzmq's I/O thread, after it returns: a bind at once to
   the same port often finds it still in use (EADDRINUSE). So that a re-bind does not leave
   the announce socket unbound until the next heartbeat, EADDRINUSE is retried for up to
   S_REBIND_TRIES * S_REBIND_WAIT_MS (a revocation is rare; the loop waits only then). */
#define S_REBIND_TRIES 20
#define S_REBIND_WAIT_MS 10

static void s_announce_bind(s_broker_t *self)
{
    self->pub_unbound = zsock_bind(self->pub, "%s", self->pub_bound) < 0;
    for (int tries = 1; self->pub_unbound && zmq_errno() == EADDRINUSE && tries < S_REBIND_TRIES;
         tries++) {
        zclock_sleep(S_REBIND_WAIT_MS);
        self->pub_unbound = zsock_bind(self->pub, "%s", self->pub_bound) < 0;
    }
    if (self->pub_unbound)
        zsys_error("fleetcast-broker: cannot bind the announce endpoint %s again: %s; trying"
                   " again at the next heartbeat",
                   self->pub_bound, zmq_strerror(zmq_errno()));
}

/* A revoked key keeps what libzmq already admitted: its subscription goes on hearing every
   announcement. Unbinding closes every connection accepted on the endpoint, and binding it
   again (same port) makes each subscriber reconnect and pass ZAP anew; agents notice the
   announcements they missed by the sequence (heartbeat) and sync. The port still closing is
   waited for (s_announce_bind); should the bind still fail, it is tried again every
   heartbeat. */
static void s_rebind_announce(s_broker_t *self)
{
    if (!self->quiet)
        zsys_warning("fleetcast-broker: a key was revoked: re-binding the announce socket %s so"
                     " every subscriber authenticates again",
                     self->pub_bound);
    zsock_unbind(self->pub, "%s", self->pub_bound);
    s_announce_bind(self);
}

/* root: a relay's, the root's stamp it carries (NULL: none). */
static void s_heartbeat(s_broker_t *self, const fc_relay_stamp_t *root)
{
    fc_msg_t *hb = fc_msg_new(FC_MSG_HEARTBEAT);
    hb->epoch = self->epoch;
    hb->seq = fc_store_seq(self->store);
    if (self->stamped) {
        hb->time_ms = fc_stamp_now_ms();
        fc_stamp_sign(hb->sig, hb->epoch, hb->seq, hb->time_ms, &self->stamp_key);
    }
    if (root) {
        hb->root_epoch = root->epoch;
        hb->root_seq = root->seq;
        hb->root_time_ms = root->time_ms;
        memcpy(hb->root_sig, root->sig, FC_SIG_LEN);
        self->carried_at = zclock_mono();
    }
    fc_msg_publish(&hb, zsock_resolve(self->pub));
    fc_msg_destroy(&hb);
}

static void s_handle_pipe(s_broker_t *self)
{
    char *command = zstr_recv(self->pipe);
    if (!command)
        return; /* a signal interrupted the read; the owner still sends $TERM */
    if (streq(command, "$TERM"))
        self->terminated = true;
    else if (streq(command, "STATS")) {
        fc_broker_stats_t *s = &self->stats;
        zsock_send(self->pipe, "8888888", s->requests, s->errors, s->malformed, s->ignored,
                   s->send_failed, s->announced, s->denied);
    }
    zstr_free(&command);
}

static void s_handle_router(s_broker_t *self)
{
    for (int i = 0; i < S_BATCH && (zsock_events(self->router) & ZMQ_POLLIN); i++) {
        /* The routing id and three frames at most: a fourth is already one too many for any
           request, so the codec still refuses the message. */
        zmsg_t *msg = fc_msg_recv_frames(zsock_resolve(self->router), 4);
        if (!msg)
            break;
        s_handle_request(self, msg);
    }
    s_batch_flush(self);
    /* Reports are on disk: a wave they complete (or halt) moves on now. A relay's rollouts
       move only as its upstream's do (fc_relay.c). */
    size_t changed = 0;
    if (!self->relay)
        self->stats.announced += fc_rollout_service_step(self->rollout, self->epoch,
                                                         zsock_resolve(self->pub), false, &changed);
    if (changed && self->feed)
        fc_view_feed_changed(self->feed);
}

/* Another broker on the shared store committed (its NOTIFY): a moved sequence goes out in a
   heartbeat now, which sends agents to SYNC; the heartbeat's own reload is the catch-up for a
   notification lost. */
static void s_on_store_news(s_broker_t *self)
{
    bool moved = false;
    if (fc_store_seq_reload(self->store, &moved) == FC_OK && moved)
        s_heartbeat(self, NULL);
    if (self->store_keys)
        fc_store_keys_sync(self->store_keys, self->store, false, NULL);
}

void fc_broker_actor(zsock_t *pipe, void *args)
{
    const fc_broker_config_t *config = args;
    zsock_signal(pipe, 0);
    int err = FC_OK;
    char text[FC_MAX_TEXT + 1] = "";
    s_broker_t *self = s_broker_new(pipe, config, &err, text, sizeof text);
    /* Done with the owner's config: fc_broker_new may change or free it once it has this
       reply (an ordering made by libzmq's pipe, shown to ThreadSanitizer here). */
    fc_tsan_release(config);
    zsock_send(pipe, "isss", err, text, self ? self->service : "", self ? self->announce : "");
    if (!self) {
        /* Stay until told to go, so the owner's zactor_destroy finds us. */
        char *command;
        while ((command = zstr_recv(pipe)) && !streq(command, "$TERM"))
            zstr_free(&command);
        zstr_free(&command);
        return;
    }
    int64_t next_beat = zclock_mono();
    while (!self->terminated) {
        int64_t now = zclock_mono();
        if (now >= next_beat) {
            if (self->auth && fc_broker_auth_revoked(self->auth))
                s_rebind_announce(self);
            else if (self->pub_unbound)
                s_announce_bind(self);
            /* A relay whose upstream beats sends its heartbeats as the root's stamps come
               (s_carry_beat); its own only when they stop (frozen or gone upstream). */
            /* Brokers sharing one database: what another committed is announced here by the
               heartbeat's sequence, which sends agents to SYNC. */
            if (fc_store_shared(self->store))
                fc_store_seq_reload(self->store, NULL);
            if (self->store_keys) {
                fc_store_keys_sync(self->store_keys, self->store, false, NULL);
                fc_store_keys_enforce(self->store_keys);
            }
            if (!self->relay || now - self->carried_at > 2 * (int64_t)self->heartbeat_ms)
                s_heartbeat(self, NULL);
            if (self->keyset)
                s_announce_keys(self);
            /* Waves that time out (--wave-wait) move on without a report. */
            size_t changed = 0;
            if (!self->relay)
                self->stats.announced += fc_rollout_service_step(
                    self->rollout, self->epoch, zsock_resolve(self->pub), true, &changed);
            if (changed && self->feed)
                fc_view_feed_changed(self->feed);
            if (self->auth)
                fc_broker_auth_flush(self->auth, self->store);
            if (!self->backfilled)
                s_backfill(self);
            if (now >= self->next_gc) {
                s_batch_flush(self);
                s_gc(self);
                self->next_gc = now + S_GC_MS;
            }
            next_beat = now + self->heartbeat_ms;
        }
        /* Chunk requests waiting for the budget: ZeroMQ's I/O thread frees it as it writes,
           without a wakeup for us, so look again soon. */
        int wait = (int)(next_beat - now);
        if (fc_chunks_waiting(self->chunks) && wait > 1)
            wait = 1;
        if (self->feed)
            wait = fc_view_feed_wait(self->feed, now, wait);
        if (self->relay)
            wait = fc_relay_tick(self->relay, wait);
        if (self->up)
            wait = fc_relay_up_tick(self->up, wait);
        void *which = zpoller_wait(self->poller, wait);
        if (self->relay && fc_relay_handle(self->relay, which))
            fc_chunks_pump(self->chunks); /* held requests it served */
        else if (self->up && fc_relay_up_handle(self->up, which))
            ;
        else if (self->listen && fc_store_listen_handle(self->listen, which))
            s_on_store_news(self);
        else if (which == self->pipe)
            s_handle_pipe(self);
        else if (which == self->router)
            s_handle_router(self);
        else if (which == fc_verifier_sock(self->verifier))
            s_on_verified(self);
        else if (which && self->service_peers && which == fc_peers_sock(self->service_peers))
            fc_peers_handle(self->service_peers);
        else if (which && self->announce_peers && which == fc_peers_sock(self->announce_peers))
            fc_peers_handle(self->announce_peers);
        fc_chunks_pump(self->chunks);
        if (self->feed)
            fc_view_feed_run(self->feed, &self->stats, zclock_mono());
    }
    /* For the operator (and the benchmarks): how much of the chunk traffic was load. */
    uint64_t dup = fc_chunks_duplicates(self->chunks), drop = fc_chunks_dropped(self->chunks);
    if (fc_chunks_served(self->chunks))
        zsys_info("fleetcast-broker: chunk requests re-sent on a live connection and not "
                  "answered twice: %llu; dropped past the queue cap: %llu; chunks sent: %llu",
                  (unsigned long long)dup, (unsigned long long)drop,
                  (unsigned long long)fc_chunks_served(self->chunks));
    if (fc_chunks_dropped_links(self->chunks))
        zsys_info("fleetcast-broker: connections dropped for holding chunk bytes past the "
                  "deadline: %llu; their requests refused since: %llu",
                  (unsigned long long)fc_chunks_dropped_links(self->chunks),
                  (unsigned long long)fc_chunks_ignored(self->chunks));
    s_batch_flush(self);
    s_broker_destroy(&self);
}

/* --- the owner's handle ----------------------------------------------------------------- */

fc_broker_t *fc_broker_new(const fc_broker_config_t *config, int *err, char *text, size_t textsize)
{
    int dummy;
    if (!err)
        err = &dummy;
    fc_broker_t *self = zmalloc(sizeof *self);
    self->actor = zactor_new(fc_broker_actor, (void *)config);
    int status = FC_EIO;
    char *why = NULL, *service = NULL, *announce = NULL;
    if (!self->actor || zsock_recv(self->actor, "isss", &status, &why, &service, &announce) != 0)
        status = FC_EIO;
    fc_tsan_acquire(config); /* the actor's reads of config came before its reply */
    if (status == FC_OK) {
        snprintf(self->service, sizeof self->service, "%s", service);
        snprintf(self->announce, sizeof self->announce, "%s", announce);
    } else if (text && textsize)
        snprintf(text, textsize, "%s", why && *why ? why : fc_strerror(status));
    zstr_free(&why);
    zstr_free(&service);
    zstr_free(&announce);
    *err = status;
    if (status != FC_OK)
        fc_broker_destroy(&self);
    return self;
}

void fc_broker_destroy(fc_broker_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zactor_destroy(&(*self_p)->actor);
    free(*self_p);
    *self_p = NULL;
}

const char *fc_broker_service_endpoint(fc_broker_t *self)
{
    return self->service;
}

const char *fc_broker_announce_endpoint(fc_broker_t *self)
{
    return self->announce;
}

int fc_broker_stats(fc_broker_t *self, fc_broker_stats_t *stats)
{
    memset(stats, 0, sizeof *stats);
    if (zstr_send(self->actor, "STATS") != 0)
        return -1;
    return zsock_recv(self->actor, "8888888", &stats->requests, &stats->errors, &stats->malformed,
                      &stats->ignored, &stats->send_failed, &stats->announced, &stats->denied);
}
