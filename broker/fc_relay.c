/* fc_relay.c: a relay broker's upstream side: mirrors signed releases, fetches blobs once. */
#include "fc_relay.h"
#include "fc_endpoint.h"
#include "fc_error.h"
#include "fc_limits.h"
#include "fc_link.h"
#include "fc_manifest.h"
#include "fc_msg.h"
#include "fc_relay_cache.h"
#include "fc_relay_keys.h"
#include "fc_relay_stream.h"
#include "fc_requester.h"
#include "fc_sockopt.h"
#include "fc_store_cache.h"
#include "fc_store_config.h"
#include "fc_store_release_rollout.h"
#include "fc_store_rollout_cut.h"

#include <string.h>
#include <time.h>

/* libzmq does not connect again after the upstream refused our key in the handshake (not
   enrolled yet, or revoked): the relay starts over with a new socket this often, so
   enrolling its key upstream is all it takes. */
#define S_REFUSED_RETRY_MS 2000

/* What an upstream request was for; the requester hands it back with the reply. */
typedef enum {
    S_HELLO,
    S_SYNC_ALL,
    S_SYNC_CHANNEL,
    S_OBJECT,
    S_CONFIG,
    S_TRUST,
    S_PIECE,
    S_ROLLOUTS,      /* ROLLOUT_STATUS with a sync: counts as busy */
    S_ROLLOUTS_POLL, /* ROLLOUT_STATUS on a heartbeat while a rollout is under way */
    S_KEYS
} s_kind_t;

typedef struct s_xfer_t s_xfer_t;

typedef struct {
    s_kind_t kind;
    uint64_t req;      /* the requester's id, to forget it with a failed transfer */
    uint8_t *manifest; /* S_SYNC_CHANNEL, S_OBJECT: the signed manifest being mirrored */
    size_t manifest_len;
    s_xfer_t *xfer; /* S_PIECE */
    uint64_t piece;
    char cursor[FC_MSG_KEY_Z85_LEN + 1]; /* S_KEYS: the page asked for */
} s_job_t;

/* An agent's GET_CHUNK waiting for its blob. */
typedef struct {
    zframe_t *peer;
    char key[FC_CURVE_Z85_LEN + 1];
    uint64_t req, offset, length;
    bool whole; /* not servable from pieces (not a run of whole chunks, or they did not
                   check): waits for the commit */
} s_held_t;

/* One blob crossing the upstream link, in FC_CHUNK_SIZE pieces: whatever number of agents
   ask for it, each piece is requested upstream once. */
struct s_xfer_t {
    uint8_t blob[FC_HASH_LEN];
    char hex[2 * FC_HASH_LEN + 1];
    uint64_t size, npieces, have;
    uint8_t *state; /* per piece: 0 needed, 1 asked for, 2 stored */
    size_t inflight;
    uint64_t streamed;  /* held requests served from its pieces before the commit */
    zlistx_t *held;     /* s_held_t */
    zhashx_t *held_ids; /* "peer-hex/req" of each held request: a re-send is held once */
};

struct fc_relay_t {
    fc_relay_config_t cfg;
    char upstream[FC_MAX_ENDPOINT + 1];
    fc_curve_t *curve;
    fc_requester_t *req;
    zsock_t *sub;
    zpoller_t *poller;
    zlistx_t *jobs;  /* s_job_t, every one pending upstream */
    zhashx_t *sizes; /* blob hex -> size, of every blob a mirrored release names */
    zhashx_t *xfers; /* blob hex -> s_xfer_t */
    size_t busy;     /* mirror requests (sync, objects) pending */
    bool again;      /* something was announced while busy: sync once more after */
    uint64_t synced_epoch, synced_seq;
    bool refused_logged; /* the upstream's refusal of our key was said once */
    /* The upstream's rollouts (docs/PROTOCOL.md 3.16, "Rollouts"): channel -> its entry of
       the last ROLLOUT_STATUS_REPLY (fc_rollout_info_t, owned). */
    zhashx_t *rollouts;
    bool rollouts_off;         /* the upstream refused ROLLOUT_STATUS: releases go to all at once */
    bool no_cut_told;          /* logged once: the upstream states no cut (older) */
    bool rollouts_poll;        /* a poll is pending */
    fc_relay_keys_t *keys;     /* the upstream's agent keys mirrored here; NULL: not mirrored */
    bool keys_busy;            /* a RELAY_KEYS walk is under way */
    bool keys_again;           /* asked for while busy: walk once more after */
    bool keys_refused;         /* the upstream's refusal was logged */
    int64_t hello_again;       /* when to say HELLO again after the upstream refused it; 0: not */
    fc_relay_cache_t *cache;   /* --cache-max: blobs bounded, LRU out; NULL: kept for good */
    int64_t next_trim;         /* monotonic ms of the next eviction pass */
    fc_relay_stream_t *stream; /* held requests served from pieces; NULL: at commit only */
    bool stream_waiting;       /* a servable request waits for the stream's budget */
    fc_relay_stats_t stats;
};

static const int s_refused[] = {
    FC_MSG_UPLOAD_QUERY,    FC_MSG_PUT_CHUNK,     FC_MSG_BLOB_COMMIT,    FC_MSG_BLOBS_QUERY,
    FC_MSG_PUT_BLOBS,       FC_MSG_UPLOAD_CHUNKS, FC_MSG_PUT_OBJECT,     FC_MSG_RELEASE_COMMIT,
    FC_MSG_RELEASE_PRUNE,   FC_MSG_CONFIG_PUSH,   FC_MSG_TRUST_PUSH,     FC_MSG_ROLLOUT_PLAN,
    FC_MSG_ROLLOUT_PROMOTE, FC_MSG_ROLLOUT_PAUSE, FC_MSG_ROLLOUT_RESUME, FC_MSG_DERIVE_OBJECT,
    FC_MSG_UPLOAD_PREFIXES};

bool fc_relay_refuses(int type)
{
    for (size_t i = 0; i < sizeof s_refused / sizeof s_refused[0]; i++)
        if (s_refused[i] == type)
            return true;
    return false;
}

const char *fc_relay_upstream(const fc_relay_t *self)
{
    return self->upstream;
}

void fc_relay_stats(const fc_relay_t *self, fc_relay_stats_t *stats)
{
    *stats = self->stats;
    if (self->cache) {
        stats->cache_bytes = fc_relay_cache_bytes(self->cache);
        stats->evicted = fc_relay_cache_evicted(self->cache, &stats->evicted_bytes);
    }
}

/* --- upstream requests ------------------------------------------------------------------ */

static s_job_t *s_send(fc_relay_t *self, fc_msg_t **msg_p, s_kind_t kind)
{
    if (!self->req) { /* between a refused connection and the next one */
        fc_msg_destroy(msg_p);
        return NULL;
    }
    s_job_t *job = zmalloc(sizeof *job);
    job->kind = kind;
    job->req = fc_requester_send(self->req, msg_p, job, NULL);
    if (!job->req) {
        free(job);
        return NULL;
    }
    zlistx_add_end(self->jobs, job);
    return job;
}

static void s_job_free(fc_relay_t *self, s_job_t *job)
{
    void *handle = zlistx_find(self->jobs, job);
    if (handle)
        zlistx_detach(self->jobs, handle);
    free(job->manifest);
    free(job);
}

/* --- agent keys ------------------------------------------------------------------------- */

/* One page of the upstream's enrolled agent keys, after cursor ("" = a new walk). */
static void s_keys_ask(fc_relay_t *self, const char *cursor)
{
    fc_msg_t *get = fc_msg_new(FC_MSG_RELAY_KEYS);
    fc_msg_set_str(get->cursor, sizeof get->cursor, cursor);
    s_job_t *job = s_send(self, &get, S_KEYS);
    self->keys_busy = job != NULL;
    if (job)
        snprintf(job->cursor, sizeof job->cursor, "%s", cursor);
}

/* On every connect and every change announced on topic K: one walk at a time. */
static void s_keys_sync(fc_relay_t *self)
{
    if (!self->keys)
        return;
    if (self->keys_busy)
        self->keys_again = true;
    else
        s_keys_ask(self, "");
}

static void s_on_keys(fc_relay_t *self, s_job_t *job, const fc_msg_t *reply)
{
    self->keys_busy = false;
    if (reply->type != FC_MSG_RELAY_KEYS_REPLY) {
        if (!self->keys_refused)
            zsys_warning(
                "fleetcast-broker: relay: upstream %s did not list its agent keys (%s%s%s);"
                " agents are admitted here by the keys in this relay's keys/agents/ only",
                self->upstream, fc_msg_type_name(reply->type),
                reply->type == FC_MSG_ERROR ? ": " : "",
                reply->type == FC_MSG_ERROR ? reply->text : "");
        self->keys_refused = true;
        self->keys_again = false;
        return;
    }
    self->keys_refused = false;
    char cursor[FC_MSG_KEY_Z85_LEN + 1] = "";
    fc_relay_keys_step_t step = fc_relay_keys_page(self->keys, job->cursor, reply, cursor);
    if (step == FC_RELAY_KEYS_NEXT || step == FC_RELAY_KEYS_AGAIN) {
        s_keys_ask(self, cursor);
        return;
    }
    if (step == FC_RELAY_KEYS_DONE)
        self->stats.key_sets++;
    if (self->keys_again) {
        self->keys_again = false;
        s_keys_ask(self, "");
    }
}

/* --- mirroring releases ----------------------------------------------------------------- */

/* Config revisions after the relay's latest: every scope (id ""), as a publisher reads
   them, since the relay serves agents of every scope. */
static void s_config_sync(fc_relay_t *self)
{
    fc_msg_t *sync = fc_msg_new(FC_MSG_CONFIG_SYNC);
    sync->serial = fc_store_config_latest(self->cfg.store);
    if (s_send(self, &sync, S_CONFIG))
        self->busy++;
}

static void s_sync_all(fc_relay_t *self)
{
    if (self->busy) {
        self->again = true; /* the running sync may have read the state before this */
        return;
    }
    /* The rollouts first: a release is mirrored only once its rollout is known, so no
       agent here gets it before the wave it belongs to. */
    if (!self->rollouts_off) {
        fc_msg_t *ro = fc_msg_new(FC_MSG_ROLLOUT_STATUS);
        if (s_send(self, &ro, S_ROLLOUTS))
            self->busy++;
    }
    fc_msg_t *sync = fc_msg_new(FC_MSG_SYNC);
    if (s_send(self, &sync, S_SYNC_ALL))
        self->busy++;
    if (self->cfg.revision)
        s_config_sync(self);
    if (self->cfg.trust) {
        /* The list after ours, as an agent asks for it (GET_TRUST). */
        uint64_t serial = 0;
        uint8_t *bytes = NULL;
        size_t len = 0;
        fc_store_trust_latest(self->cfg.store, &serial, &bytes, &len);
        free(bytes);
        fc_msg_t *get = fc_msg_new(FC_MSG_GET_TRUST);
        get->serial = serial;
        if (s_send(self, &get, S_TRUST))
            self->busy++;
    }
}

static void s_on_trust(fc_relay_t *self, const fc_msg_t *reply)
{
    if (!reply->bytes_len)
        return; /* none newer than ours */
    char text[FC_MAX_TEXT + 1] = "";
    int err = self->cfg.trust(self->cfg.arg, reply->bytes, reply->bytes_len, text, sizeof text);
    if (err)
        zsys_warning("fleetcast-broker: relay: upstream's trusted-key list %llu not stored: %s",
                     (unsigned long long)reply->serial, *text ? text : fc_strerror(err));
    else
        self->stats.trust_lists++;
}

/* The upstream's halted canaries are halted here too (after the revisions they name are
   stored), so its agents fold their config without them as the root's agents do. */
static void s_mirror_halts(fc_relay_t *self, const fc_msg_t *reply)
{
    uint64_t revs[FC_MAX_LIST];
    size_t n = 0, halted = 0;
    if (fc_msg_halted(reply, revs, FC_MAX_LIST, &n) != FC_OK) {
        zsys_warning("fleetcast-broker: relay: upstream's list of halted revisions is malformed;"
                     " ignored");
        return;
    }
    int err = fc_store_config_halt_upstream(self->cfg.store, revs, n, self->upstream, &halted);
    if (err)
        zsys_warning("fleetcast-broker: relay: upstream's halts not stored: %s", fc_strerror(err));
    else if (halted) {
        self->stats.halts += halted;
        if (!self->cfg.quiet)
            zsys_info("fleetcast-broker: relay: %zu config revision(s) halted at %s, halted here",
                      halted, self->upstream);
    }
}

/* Revisions in order, each stored as CONFIG_PUSH stores it (signature, number, schema); the
   first refused stops the rest, which could only be refused after it. */
static void s_on_config_snapshot(fc_relay_t *self, const fc_msg_t *reply)
{
    for (size_t i = 0; i < reply->nitems; i++) {
        char text[FC_MAX_TEXT + 1] = "";
        int err = self->cfg.revision(self->cfg.arg, reply->items[i].data, reply->items[i].len, text,
                                     sizeof text);
        if (err) {
            zsys_warning("fleetcast-broker: relay: upstream's config revision not stored: %s",
                         *text ? text : fc_strerror(err));
            s_mirror_halts(self, reply);
            return;
        }
        self->stats.revisions++;
    }
    s_mirror_halts(self, reply);
    if (reply->flag && reply->nitems)
        s_config_sync(self); /* the snapshot was cut to fit: the rest after what we hold */
}

static void s_mirror_done(fc_relay_t *self)
{
    self->busy--;
    if (!self->busy && self->again) {
        self->again = false;
        s_sync_all(self);
    }
}

static void s_note_sizes(fc_relay_t *self, const fc_manifest_t *m)
{
    char hex[2 * FC_HASH_LEN + 1];
    for (uint32_t i = 0; i < m->nfiles; i++)
        if (m->files[i].size > 0) {
            zhashx_update(self->sizes, fc_hash_hex(m->files[i].hash, hex),
                          (void *)(uintptr_t)m->files[i].size);
            if (self->stream)
                fc_relay_stream_note(self->stream, &m->files[i]);
        }
}

/* Tells the relay's agents that release info was committed or offered to more of them. */
static void s_announce(fc_relay_t *self, const fc_release_info_t *info, uint64_t seq)
{
    fc_msg_t *ann = fc_msg_new(FC_MSG_ANNOUNCE);
    ann->epoch = self->cfg.epoch;
    ann->seq = seq;
    fc_msg_set_str(ann->channel, sizeof ann->channel, info->channel);
    fc_msg_set_str(ann->version, sizeof ann->version, info->version);
    ann->serial = info->serial;
    /* Agents that miss it see the gap in the relay's next heartbeat and sync. */
    fc_msg_publish(&ann, self->cfg.pub);
    fc_msg_destroy(&ann);
}

/* The relay's rollout of channel's latest release follows the upstream's entry for it. */
static void s_follow(fc_relay_t *self, const char *channel)
{
    const fc_rollout_info_t *ro = zhashx_lookup(self->rollouts, channel);
    if (!ro || !*ro->state)
        return; /* no rollout upstream: offered to every agent at once */
    fc_release_info_t info;
    uint64_t seq = 0;
    int err = fc_store_rollout_follow(self->cfg.store, ro, self->upstream, &info, &seq);
    if (err == FC_ENOTFOUND)
        return; /* not mirrored yet (its plan waits for it), or mirrored before it had one */
    if (err) {
        zsys_warning("fleetcast-broker: relay: rollout of %s %s not followed: %s", ro->channel,
                     ro->version, fc_strerror(err));
        return;
    }
    if (!seq)
        return;
    self->stats.waves++;
    if (!self->cfg.quiet)
        zsys_info("fleetcast-broker: relay: rollout of %s %s (serial %llu) at %s: %s, %u%% of"
                  " the agents here offered it",
                  ro->channel, ro->version, (unsigned long long)ro->serial, self->upstream,
                  ro->state, ro->percent);
    s_announce(self, &info, seq);
}

/* ROLLOUT_STATUS_REPLY: every channel's rollout as the upstream runs it. A release not
   mirrored yet gets a plan first, so its commit here starts it at the upstream's share. */
static void s_on_rollouts(fc_relay_t *self, const fc_msg_t *reply)
{
    zhashx_purge(self->rollouts);
    for (size_t i = 0; i < reply->nrollouts; i++) {
        const fc_rollout_info_t *ro = &reply->rollouts[i];
        fc_rollout_info_t *copy = malloc(sizeof *copy);
        if (!copy)
            break;
        *copy = *ro;
        zhashx_update(self->rollouts, ro->channel, copy);
        if (!*ro->state || ro->percent < 1 || ro->percent > 100)
            continue;
        if (!ro->cut[0] && strcmp(ro->state, "DONE") && !self->no_cut_told) {
            self->no_cut_told = true;
            zsys_warning("fleetcast-broker: relay: %s states no rollout cut (an older broker):"
                         " waves here are drawn over this relay's own agents, not the root's",
                         self->upstream);
        }
        fc_release_info_t ours;
        int err = fc_store_latest(self->cfg.store, ro->channel, &ours, NULL, NULL);
        if (err == FC_ENOTFOUND || (!err && ours.serial < ro->serial)) {
            /* The cut first: the commit here offers the first wave within it. */
            if (ro->cut[0])
                fc_store_rollout_cut_set(self->cfg.store, ro->channel, ro->serial, ro->cut);
            uint32_t waves[2] = {ro->percent, 100};
            size_t n = ro->percent < 100 ? 2 : 1;
            err = fc_store_rollout_plan(self->cfg.store, ro->channel, ro->serial, waves, n,
                                        ro->halt_percent, 0, n > 1);
            if (err)
                zsys_warning("fleetcast-broker: relay: rollout of %s %s not planned here: %s",
                             ro->channel, ro->version, fc_strerror(err));
        } else if (!err && ours.serial == ro->serial)
            s_follow(self, ro->channel);
    }
}

/* While an upstream rollout is under way, its state is read again with every upstream
   heartbeat: a promote is announced, but a pause or a halt need not be. */
static void s_poll_rollouts(fc_relay_t *self)
{
    if (self->rollouts_off || self->rollouts_poll || self->busy)
        return;
    bool active = false;
    for (fc_rollout_info_t *ro = zhashx_first(self->rollouts); ro && !active;
         ro = zhashx_next(self->rollouts))
        active = *ro->state && strcmp(ro->state, "DONE") != 0 && strcmp(ro->state, "HALTED") != 0;
    if (!active)
        return;
    fc_msg_t *msg = fc_msg_new(FC_MSG_ROLLOUT_STATUS);
    if (s_send(self, &msg, S_ROLLOUTS_POLL))
        self->rollouts_poll = true;
}

/* Stores the manifest once every object it names is here; else asks upstream for the first
   one missing. Takes the manifest. */
static void s_mirror(fc_relay_t *self, uint8_t *bytes, size_t len)
{
    int err = FC_OK;
    uint8_t missing[FC_HASH_LEN];
    fc_manifest_t *m = fc_store_manifest_load(self->cfg.store, bytes, len, NULL, missing, &err);
    if (!m && err == FC_ENOTFOUND) {
        fc_msg_t *get = fc_msg_new(FC_MSG_GET_OBJECT);
        memcpy(get->hash, missing, FC_HASH_LEN);
        s_job_t *job = s_send(self, &get, S_OBJECT);
        if (job) {
            job->manifest = bytes;
            job->manifest_len = len;
            self->busy++;
            return;
        }
    }
    if (!m) {
        zsys_warning("fleetcast-broker: relay: upstream's manifest not stored: %s",
                     fc_strerror(err));
        free(bytes);
        return;
    }
    s_note_sizes(self, m);
    fc_manifest_destroy(&m);
    fc_release_info_t info;
    uint64_t seq = 0;
    char text[FC_MAX_TEXT + 1];
    err = fc_store_release_mirror(self->cfg.store, bytes, len, &info, &seq, text, sizeof text);
    free(bytes);
    if (err) {
        zsys_warning("fleetcast-broker: relay: upstream's release not stored: %s", text);
        return;
    }
    if (!seq)
        return; /* had it already */
    self->stats.mirrored++;
    s_follow(self, info.channel);
    if (!self->cfg.quiet)
        zsys_info("fleetcast-broker: relay: release %s %s (serial %llu) mirrored from %s, seq %llu",
                  info.channel, info.version, (unsigned long long)info.serial, self->upstream,
                  (unsigned long long)seq);
    s_announce(self, &info, seq);
}

/* The upstream's latest release of every channel: ask for those newer than ours. */
static void s_on_snapshot_all(fc_relay_t *self, const fc_msg_t *reply)
{
    self->synced_epoch = reply->epoch;
    self->synced_seq = reply->seq;
    for (size_t i = 0; i < reply->nreleases; i++) {
        const fc_release_info_t *r = &reply->releases[i];
        fc_release_info_t ours;
        int err = fc_store_latest(self->cfg.store, r->channel, &ours, NULL, NULL);
        if (!err && ours.serial >= r->serial)
            continue;
        const fc_rollout_info_t *ro =
            self->rollouts_off ? NULL : zhashx_lookup(self->rollouts, r->channel);
        if (!self->rollouts_off && (!ro || ro->serial < r->serial)) {
            self->again = true; /* committed after the rollouts were read: read them again */
            continue;
        }
        fc_msg_t *sync = fc_msg_new(FC_MSG_SYNC);
        fc_msg_set_str(sync->channel, sizeof sync->channel, r->channel);
        if (s_send(self, &sync, S_SYNC_CHANNEL))
            self->busy++;
    }
}

static void s_on_announce(fc_relay_t *self, const fc_msg_t *m)
{
    if (m->epoch == self->synced_epoch && m->seq <= self->synced_seq)
        return; /* nothing since our last sync */
    s_sync_all(self);
}

static void s_on_welcome(fc_relay_t *self, const fc_msg_t *reply)
{
    if (!self->sub) {
        self->sub = zsock_new(ZMQ_SUB);
        if (!self->sub) {
            zsys_error("fleetcast-broker: relay: cannot create the upstream SUB socket");
            return;
        }
        fc_sock_tune(zsock_resolve(self->sub));
        fc_curve_apply(self->curve, self->sub);
        zsock_set_subscribe(self->sub, FC_TOPIC_RELEASE);
        zsock_set_subscribe(self->sub, FC_TOPIC_HEARTBEAT);
        if (self->cfg.revision)
            zsock_set_subscribe(self->sub, FC_TOPIC_CONFIG);
        if (self->cfg.trust)
            zsock_set_subscribe(self->sub, FC_TOPIC_TRUST);
        if (self->keys)
            zsock_set_subscribe(self->sub, FC_TOPIC_KEYS);
        /* An upstream bound to a wildcard host names it so: connect to its host, as agents do. */
        char ep[FC_MAX_ENDPOINT + 1];
        if (fc_endpoint_for_peer(ep, sizeof ep, reply->endpoint, self->upstream) != 0 ||
            zsock_connect(self->sub, "%s", ep) < 0) {
            zsys_error("fleetcast-broker: relay: cannot connect to upstream announcements %s",
                       reply->endpoint);
            zsock_destroy(&self->sub);
            return;
        }
        zpoller_add(self->poller, self->sub);
        if (!self->cfg.quiet)
            zsys_info("fleetcast-broker: relay: following %s (announcements %s)", self->upstream,
                      ep);
    }
    s_sync_all(self); /* after subscribing: nothing announced in between is lost */
    s_keys_sync(self);
}

/* --- blobs on demand -------------------------------------------------------------------- */

static uint64_t s_piece_len(const s_xfer_t *x, uint64_t piece)
{
    uint64_t off = piece * FC_CHUNK_SIZE;
    return x->size - off < FC_CHUNK_SIZE ? x->size - off : FC_CHUNK_SIZE;
}

static void s_held_free(s_held_t **h_p)
{
    if (*h_p) {
        zframe_destroy(&(*h_p)->peer);
        free(*h_p);
        *h_p = NULL;
    }
}

/* Ends a transfer: its held requests are dropped (their agents re-send, which starts it
   again) and its pieces still asked for are forgotten. */
static void s_xfer_end(fc_relay_t *self, s_xfer_t *x)
{
    bool found = true;
    while (found) { /* from the start each time: freeing a job moves the list's cursor */
        found = false;
        for (s_job_t *job = zlistx_first(self->jobs); job; job = zlistx_next(self->jobs))
            if (job->kind == S_PIECE && job->xfer == x) {
                fc_requester_forget(self->req, job->req);
                s_job_free(self, job);
                found = true;
                break;
            }
    }
    for (s_held_t *h = zlistx_first(x->held); h; h = zlistx_next(x->held))
        s_held_free(&h);
    zlistx_destroy(&x->held);
    zhashx_destroy(&x->held_ids);
    free(x->state);
    zhashx_delete(self->xfers, x->hex);
    free(x);
}

/* The held requests get an ERROR (code: the upstream's, or the local one), so their agents
   retry after their error delay rather than wait; the next request starts it again. */
static void s_xfer_fail(fc_relay_t *self, s_xfer_t *x, int code, const char *why)
{
    zsys_warning("fleetcast-broker: relay: blob %s from %s: %s; fetched again when an agent asks",
                 x->hex, self->upstream, why);
    self->stats.blobs_failed++;
    char text[FC_MAX_TEXT + 1];
    snprintf(text, sizeof text, "blob %.16s...: this relay could not fetch it from %s: %s", x->hex,
             self->upstream, why);
    for (s_held_t *h = zlistx_first(x->held); h && self->cfg.refuse; h = zlistx_next(x->held))
        self->cfg.refuse(self->cfg.arg, h->peer, h->req, code, text);
    s_xfer_end(self, x);
}

/* "peer-hex/req": a held request's id, so that a re-send is held once. */
static void s_held_id(zframe_t *peer, uint64_t req, char *id, size_t size)
{
    char *peer_hex = zframe_strhex(peer);
    snprintf(id, size, "%.512s/%llu", peer_hex ? peer_hex : "", (unsigned long long)req);
    free(peer_hex);
}

/* fc_relay_stream_read_fn: the pieces stored so far. */
static int s_read_pieces(void *arg, const uint8_t blob[FC_HASH_LEN], uint64_t offset, void *buf,
                         size_t len)
{
    return fc_store_upload_read(((fc_relay_t *)arg)->cfg.store, blob, offset, buf, len);
}

/* What s_stream_one did with a held request. */
typedef enum { S_KEEP, S_GONE, S_FULL } s_streamed_t;

/* Serves held request h of x if its range lies in pieces already stored, each chunk checked
   against the manifest's hash first (fc_relay_stream.c). S_GONE: answered (or its send
   failed), for the caller to drop from the held list; S_KEEP: it waits for more pieces or
   the commit; S_FULL: the stream's budget is spent for now. */
static s_streamed_t s_stream_one(fc_relay_t *self, s_xfer_t *x, s_held_t *h)
{
    /* The range as the agent sent it, unchecked so far (fc_chunks checks it at the commit):
       one outside the blob waits for that check. */
    if (h->whole || h->length == 0 || h->offset >= x->size || h->length > x->size - h->offset)
        return S_KEEP;
    uint64_t p0 = h->offset / FC_CHUNK_SIZE, p1 = (h->offset + h->length - 1) / FC_CHUNK_SIZE;
    for (uint64_t p = p0; p <= p1; p++)
        if (x->state[p] != 2)
            return S_KEEP;
    if (!fc_relay_stream_room(self->stream, h->length)) {
        self->stream_waiting = true; /* fc_relay_tick tries again shortly */
        return S_FULL;
    }
    int err = fc_relay_stream_serve(self->stream, h->peer, h->req, x->blob, h->offset, h->length,
                                    s_read_pieces, self);
    if (err && err != FC_EIO) {
        h->whole = true; /* FC_EHASH: the commit's check will find it too */
        return S_KEEP;
    }
    if (err) { /* not sent (peer gone, or its queue full): a re-send is held again */
        char id[2 * 256 + 32];
        s_held_id(h->peer, h->req, id, sizeof id);
        zhashx_delete(x->held_ids, id);
    } else {
        x->streamed++;
        self->stats.streamed++;
    }
    return S_GONE; /* its id stays: a re-send of it is not answered twice */
}

/* Serves the held requests of x whose chunks are in (s_stream_one), so the first agents of a
   big blob stream it rather than wait for all of it; after each piece stored. */
static void s_xfer_stream(fc_relay_t *self, s_xfer_t *x)
{
    if (!self->stream)
        return;
    for (s_held_t *h = zlistx_first(x->held); h; h = zlistx_next(x->held)) {
        s_streamed_t what = s_stream_one(self, x, h);
        if (what == S_FULL)
            return;
        if (what == S_GONE) {
            zlistx_detach_cur(x->held);
            s_held_free(&h);
        }
    }
}

/* fc_relay_tick: requests that waited for the stream's budget. */
static void s_stream_retry(fc_relay_t *self)
{
    self->stream_waiting = false;
    for (s_xfer_t *x = zhashx_first(self->xfers); x; x = zhashx_next(self->xfers))
        s_xfer_stream(self, x);
}

/* All pieces are here: the store checks the whole blob against its name; then every held
   request is served. */
static void s_xfer_finish(fc_relay_t *self, s_xfer_t *x)
{
    int err = fc_store_blob_commit(self->cfg.store, x->blob, x->size);
    if (err) {
        s_xfer_fail(self, x, err,
                    err == FC_EHASH ? "content does not match its hash; discarded"
                                    : fc_strerror(err));
        return;
    }
    self->stats.blobs++;
    if (x->streamed && !self->cfg.quiet)
        zsys_info("fleetcast-broker: relay: blob %s (%llu bytes) complete; %llu held requests "
                  "were served from its pieces before",
                  x->hex, (unsigned long long)x->size, (unsigned long long)x->streamed);
    if (self->cache) { /* the blob just fetched is the most recent: older ones make room */
        fc_relay_cache_use(self->cache, x->blob, x->size, (int64_t)time(NULL));
        fc_relay_cache_trim(self->cache, (int64_t)time(NULL), self->cfg.quiet);
    }
    if (self->cfg.verbose)
        zsys_info("fleetcast-broker: relay: blob %s (%llu bytes) here; serving %zu held requests",
                  x->hex, (unsigned long long)x->size, zlistx_size(x->held));
    for (s_held_t *h = zlistx_first(x->held); h; h = zlistx_next(x->held)) {
        self->cfg.serve(self->cfg.arg, h->peer, h->key, h->req, x->blob, h->offset, h->length);
        self->stats.served_held++;
    }
    s_xfer_end(self, x);
}

static void s_xfer_pump(fc_relay_t *self, s_xfer_t *x)
{
    for (uint64_t i = 0; i < x->npieces && x->inflight < FC_RELAY_WINDOW; i++) {
        if (x->state[i] != 0)
            continue;
        fc_msg_t *get = fc_msg_new(FC_MSG_GET_CHUNK);
        memcpy(get->blob, x->blob, FC_HASH_LEN);
        get->offset = i * FC_CHUNK_SIZE;
        get->length = s_piece_len(x, i);
        s_job_t *job = s_send(self, &get, S_PIECE);
        if (!job)
            return;
        job->xfer = x;
        job->piece = i;
        x->state[i] = 1;
        x->inflight++;
    }
}

/* Starts fetching blob (size bytes), resuming from the pieces already stored (a relay
   restarted mid-transfer). NULL if the blob turned out complete, or on a store error. */
static s_xfer_t *s_xfer_new(fc_relay_t *self, const uint8_t blob[FC_HASH_LEN], uint64_t size)
{
    bool complete = false;
    fc_range_t *ranges = NULL;
    size_t nranges = 0;
    int err = fc_store_blob_state(self->cfg.store, blob, size, &complete, &ranges, &nranges);
    if (err || complete) {
        free(ranges);
        return NULL;
    }
    s_xfer_t *x = zmalloc(sizeof *x);
    memcpy(x->blob, blob, FC_HASH_LEN);
    fc_hash_hex(blob, x->hex);
    x->size = size;
    x->npieces = (size + FC_CHUNK_SIZE - 1) / FC_CHUNK_SIZE;
    x->state = zmalloc(x->npieces);
    x->held = zlistx_new();
    x->held_ids = zhashx_new();
    for (uint64_t i = 0; i < x->npieces; i++) {
        uint64_t off = i * FC_CHUNK_SIZE, end = off + s_piece_len(x, i);
        for (size_t r = 0; r < nranges; r++)
            if (ranges[r].offset <= off && ranges[r].offset + ranges[r].length >= end) {
                x->state[i] = 2;
                x->have++;
                break;
            }
    }
    free(ranges);
    zhashx_insert(self->xfers, x->hex, x);
    return x;
}

static void s_on_piece(fc_relay_t *self, s_job_t *job, const fc_msg_t *reply)
{
    s_xfer_t *x = job->xfer;
    uint64_t off = job->piece * FC_CHUNK_SIZE, len = s_piece_len(x, job->piece);
    x->inflight--;
    if (reply->type != FC_MSG_CHUNK || !reply->data || reply->offset != off ||
        memcmp(reply->blob, x->blob, FC_HASH_LEN) != 0 || zframe_size(reply->data) != len) {
        char why[FC_MAX_TEXT + 64];
        snprintf(why, sizeof why, "upstream answered %s%s%s", fc_msg_type_name(reply->type),
                 reply->type == FC_MSG_ERROR ? ": " : " not matching the request",
                 reply->type == FC_MSG_ERROR ? reply->text : "");
        s_xfer_fail(self, x, reply->type == FC_MSG_ERROR ? (int)reply->code : FC_EPROTO, why);
        return;
    }
    uint8_t hash[FC_HASH_LEN];
    fc_hash_buf(hash, zframe_data(reply->data), len);
    int err =
        fc_store_put_chunk(self->cfg.store, x->blob, off, zframe_data(reply->data), len, hash);
    if (err) {
        s_xfer_fail(self, x, err, fc_strerror(err));
        return;
    }
    self->stats.pieces++;
    self->stats.piece_bytes += len;
    x->state[job->piece] = 2;
    x->have++;
    if (x->have == x->npieces)
        s_xfer_finish(self, x);
    else {
        s_xfer_stream(self, x);
        s_xfer_pump(self, x);
    }
}

bool fc_relay_hold(fc_relay_t *self, zframe_t *peer, const char *key, uint64_t req,
                   const uint8_t blob[FC_HASH_LEN], uint64_t offset, uint64_t length)
{
    uint64_t size;
    if (fc_store_blob_size(self->cfg.store, blob, &size) == FC_OK) {
        /* An agent asking for it is downloading it: most recent, and pinned a while. */
        if (self->cache)
            fc_relay_cache_use(self->cache, blob, size, (int64_t)time(NULL));
        return false;
    }
    char hex[2 * FC_HASH_LEN + 1];
    uint64_t want = (uint64_t)(uintptr_t)zhashx_lookup(self->sizes, fc_hash_hex(blob, hex));
    if (!want)
        return false; /* no mirrored release names it: not found, as at any broker */
    s_xfer_t *x = zhashx_lookup(self->xfers, hex);
    if (!x) {
        x = s_xfer_new(self, blob, want);
        if (!x) { /* every piece here already: commit it and serve as usual */
            if (fc_store_blob_commit(self->cfg.store, blob, want) == FC_OK && self->cache)
                fc_relay_cache_use(self->cache, blob, want, (int64_t)time(NULL));
            return false;
        }
    }
    /* A re-sent request already held is not held twice. */
    char id[2 * 256 + 32];
    s_held_id(peer, req, id, sizeof id);
    if (zhashx_lookup(x->held_ids, id))
        return true;
    if (zlistx_size(x->held) < FC_RELAY_MAX_PARKED) {
        /* Ids of requests served from pieces stay (so a re-send is not answered twice) and
           would pile up over a big blob's transfer: past the cap, a re-send may be answered
           twice, which its agent drops. */
        if (zhashx_size(x->held_ids) < 4 * FC_RELAY_MAX_PARKED)
            zhashx_insert(x->held_ids, id, (void *)1);
        s_held_t *h = zmalloc(sizeof *h);
        h->peer = zframe_dup(peer);
        snprintf(h->key, sizeof h->key, "%s", key ? key : "");
        h->req = req;
        h->offset = offset;
        h->length = length;
        void *handle = zlistx_add_end(x->held, h);
        self->stats.held++;
        /* Its range may be in already; only this one is looked at (not the whole list for
           every request held). */
        if (x->have < x->npieces && self->stream && s_stream_one(self, x, h) == S_GONE) {
            zlistx_detach(x->held, handle);
            s_held_free(&h);
        }
    }
    if (x->have == x->npieces)
        s_xfer_finish(self, x); /* every piece was here from before a restart */
    else
        s_xfer_pump(self, x);
    return true;
}

/* --- replies and announcements ---------------------------------------------------------- */

static void s_on_reply(fc_relay_t *self, s_job_t *job, fc_msg_t *reply)
{
    if (job->kind == S_PIECE) {
        s_on_piece(self, job, reply);
        return;
    }
    if (job->kind == S_KEYS) {
        s_on_keys(self, job, reply);
        return;
    }
    if (job->kind == S_ROLLOUTS_POLL)
        self->rollouts_poll = false;
    if ((job->kind == S_ROLLOUTS || job->kind == S_ROLLOUTS_POLL) && reply->type == FC_MSG_ERROR) {
        /* An upstream predating relays' rollouts, or not letting this key read them. */
        zsys_warning("fleetcast-broker: relay: upstream %s refused ROLLOUT_STATUS (%s): its "
                     "release waves are not applied here; its releases go to every agent here "
                     "at once",
                     self->upstream, reply->text);
        self->rollouts_off = true;
        zhashx_purge(self->rollouts);
        if (job->kind == S_ROLLOUTS)
            s_mirror_done(self);
        return;
    }
    if (reply->type == FC_MSG_ERROR) {
        zsys_warning("fleetcast-broker: relay: upstream %s refused a request: %s", self->upstream,
                     reply->text);
        if (job->kind != S_HELLO)
            s_mirror_done(self);
        else /* e.g. our key admitted by ZAP a moment before the upstream's keyring saw it */
            self->hello_again = zclock_mono() + S_REFUSED_RETRY_MS;
        return;
    }
    switch (job->kind) {
    case S_HELLO:
        if (reply->type == FC_MSG_WELCOME)
            s_on_welcome(self, reply);
        break;
    case S_SYNC_ALL:
        if (reply->type == FC_MSG_SNAPSHOT)
            s_on_snapshot_all(self, reply);
        s_mirror_done(self);
        break;
    case S_SYNC_CHANNEL:
        if (reply->type == FC_MSG_SNAPSHOT && reply->bytes_len) {
            s_mirror(self, reply->bytes, reply->bytes_len);
            reply->bytes = NULL; /* s_mirror took it */
            reply->bytes_len = 0;
        }
        s_mirror_done(self);
        break;
    case S_ROLLOUTS:
    case S_ROLLOUTS_POLL:
        if (reply->type == FC_MSG_ROLLOUT_STATUS_REPLY)
            s_on_rollouts(self, reply);
        if (job->kind == S_ROLLOUTS)
            s_mirror_done(self);
        break;
    case S_TRUST:
        if (reply->type == FC_MSG_TRUST)
            s_on_trust(self, reply);
        s_mirror_done(self);
        break;
    case S_CONFIG:
        if (reply->type == FC_MSG_CONFIG_SNAPSHOT)
            s_on_config_snapshot(self, reply);
        s_mirror_done(self);
        break;
    case S_OBJECT:
        if (reply->type == FC_MSG_OBJECT) {
            int err =
                fc_store_object_put(self->cfg.store, reply->hash, reply->bytes, reply->bytes_len);
            self->stats.objects += err == FC_OK;
            if (!err) {
                s_mirror(self, job->manifest, job->manifest_len);
                job->manifest = NULL;
            } else
                zsys_warning("fleetcast-broker: relay: manifest object from upstream refused: %s",
                             fc_strerror(err));
        }
        s_mirror_done(self);
        break;
    default:
        break;
    }
}

static void s_handle_service(fc_relay_t *self)
{
    fc_msg_t *reply = NULL;
    void *user = NULL;
    fc_requester_got_t got;
    while ((got = fc_requester_recv(self->req, &reply, &user)) != FC_REQUESTER_NONE) {
        if (got == FC_REQUESTER_REPLY && user) {
            s_job_t *job = user;
            /* Off the list first: a piece's reply may end its transfer, which frees its
               other jobs. */
            void *handle = zlistx_find(self->jobs, job);
            if (handle)
                zlistx_detach(self->jobs, handle);
            s_on_reply(self, job, reply);
            free(job->manifest);
            free(job);
        }
        fc_msg_destroy(&reply);
    }
}

/* The root's stamp goes on to the relay's agents in the relay's own HEARTBEAT: the one the
   upstream carries if it is a relay too (chains), else the upstream's own. Judged by the
   agents (end to end), not here: a relay cannot make a frozen root look alive. */
static void s_carry_stamp(fc_relay_t *self, const fc_msg_t *m)
{
    if (!self->cfg.beat)
        return;
    fc_relay_stamp_t root;
    if (m->root_epoch && m->root_time_ms) {
        root.epoch = m->root_epoch;
        root.seq = m->root_seq;
        root.time_ms = m->root_time_ms;
        memcpy(root.sig, m->root_sig, FC_SIG_LEN);
    } else if (m->time_ms && m->epoch) {
        root.epoch = m->epoch;
        root.seq = m->seq;
        root.time_ms = m->time_ms;
        memcpy(root.sig, m->sig, FC_SIG_LEN);
    } else
        return; /* an unsigned upstream: nothing to carry */
    self->cfg.beat(self->cfg.arg, &root);
    self->stats.root_stamps++;
}

static void s_handle_sub(fc_relay_t *self)
{
    while (self->sub && (zsock_events(self->sub) & ZMQ_POLLIN)) {
        int err = FC_OK;
        fc_msg_t *m = fc_msg_recv_announce(zsock_resolve(self->sub), &err);
        if (!m)
            break;
        if (m->type == FC_MSG_HEARTBEAT) {
            s_carry_stamp(self, m);
            s_poll_rollouts(self);
        }
        if (m->type == FC_MSG_ANNOUNCE || m->type == FC_MSG_HEARTBEAT ||
            m->type == FC_MSG_CONFIG_ANNOUNCE || m->type == FC_MSG_TRUST_ANNOUNCE)
            s_on_announce(self, m);
        else if (m->type == FC_MSG_RELAY_KEYS_REPLY && self->keys && !self->keys_busy &&
                 m->serial != fc_relay_keys_serial(self->keys))
            s_keys_ask(self, ""); /* K: the upstream's set is not the one applied here */
        fc_msg_destroy(&m);
    }
}

bool fc_relay_handle(fc_relay_t *self, void *which)
{
    if (!which || !self->req)
        return false;
    if (which == fc_requester_sock(self->req))
        s_handle_service(self);
    else if (which == fc_requester_monitor(self->req)) {
        /* Said once per loss: a root gone behind a proxy (or a dying root's backlog) lets
           every reconnection in and closes it, each one a DISCONNECTED (198 lines in the
           3,000-agent benchmark). */
        bool was_up = fc_requester_link(self->req, NULL) == FC_LINK_UP;
        fc_requester_event_t ev = fc_requester_on_monitor(self->req);
        if (ev == FC_REQUESTER_EV_DISCONNECTED && was_up && !self->cfg.quiet)
            zsys_warning("fleetcast-broker: relay: upstream %s went away; serving what is here "
                         "and asking again when it is back",
                         self->upstream);
        else if (ev == FC_REQUESTER_EV_CONNECTED && self->cfg.verbose)
            zsys_info("fleetcast-broker: relay: connected to upstream %s", self->upstream);
    } else if (self->sub && which == self->sub)
        s_handle_sub(self);
    else
        return false;
    return true;
}

static int s_connect(fc_relay_t *self, int *err);

/* Forgets everything asked upstream (held agent requests too: their agents re-send) and
   connects again with a new socket. */
static void s_restart(fc_relay_t *self)
{
    fc_link_state_t link = fc_requester_link(self->req, NULL);
    if (!self->refused_logged) {
        char advice[FC_MAX_TEXT * 2];
        /* --insecure: no key of ours to name (fc_curve_public_txt needs one). */
        const char *key = self->curve ? fc_curve_public_txt(self->curve) : NULL;
        fc_link_advice(link, self->upstream, FC_ROLE_RELAY, key, self->curve != NULL, advice,
                       sizeof advice);
        zsys_error("fleetcast-broker: relay: %s; trying again every %d s", advice,
                   S_REFUSED_RETRY_MS / 1000);
        self->refused_logged = true;
    }
    s_xfer_t *x;
    while ((x = zhashx_first(self->xfers)))
        s_xfer_end(self, x);
    s_job_t *job;
    while ((job = zlistx_first(self->jobs)))
        s_job_free(self, job);
    self->busy = 0;
    self->again = false;
    self->rollouts_poll = false;
    self->keys_busy = false;
    self->keys_again = false;
    self->hello_again = 0;
    fc_requester_poll(self->req, self->poller, false);
    fc_requester_destroy(&self->req);
    int err = FC_OK;
    if (s_connect(self, &err) != FC_OK)
        zsys_error("fleetcast-broker: relay: cannot connect to %s again: %s", self->upstream,
                   fc_strerror(err));
}

int fc_relay_tick(fc_relay_t *self, int wait)
{
    if (self->keys)
        fc_relay_keys_enforce(self->keys); /* a revoked key copied back by hand */
    /* Pins run out with time, not with a request: look once a second. */
    if (self->cache && zclock_mono() >= self->next_trim) {
        fc_relay_cache_trim(self->cache, (int64_t)time(NULL), self->cfg.quiet);
        self->next_trim = zclock_mono() + 1000;
    }
    if (self->stream_waiting) {
        s_stream_retry(self);
        if (self->stream_waiting && wait > 2)
            wait = 2; /* ZeroMQ frees the budget as it sends, without waking us */
    }
    if (!self->req) {
        int err = FC_OK;
        if (s_connect(self, &err) != FC_OK)
            return wait < S_REFUSED_RETRY_MS ? wait : S_REFUSED_RETRY_MS;
    }
    int64_t since = 0;
    fc_link_state_t link = fc_requester_link(self->req, &since);
    if (fc_link_misconfigured(link)) {
        int64_t left = since + S_REFUSED_RETRY_MS - zclock_mono();
        if (left <= 0) {
            s_restart(self);
            return wait < S_REFUSED_RETRY_MS ? wait : S_REFUSED_RETRY_MS;
        }
        if (left < wait)
            wait = (int)left;
    } else if (link == FC_LINK_UP)
        self->refused_logged = false;
    if (self->hello_again) {
        int64_t left = self->hello_again - zclock_mono();
        if (left <= 0) {
            self->hello_again = 0;
            fc_msg_t *hello = fc_msg_new(FC_MSG_HELLO);
            hello->role = FC_ROLE_RELAY;
            s_send(self, &hello, S_HELLO);
        } else if (left < wait)
            wait = (int)left;
    }
    fc_requester_tick(self->req);
    int64_t next = fc_requester_next_ms(self->req);
    if (next >= 0 && next < wait)
        wait = (int)next;
    return wait;
}

/* --- lifetime --------------------------------------------------------------------------- */

static void s_rollout_free(void **item)
{
    free(*item);
    *item = NULL;
}

/* Blobs of the releases mirrored before a restart stay fetchable. */
static void s_load_sizes(fc_relay_t *self)
{
    fc_release_info_t *list = NULL;
    size_t n = 0;
    if (fc_store_list(self->cfg.store, NULL, FC_MAX_LIST, &list, &n) != FC_OK)
        return;
    for (size_t i = 0; i < n; i++) {
        uint8_t *bytes = NULL;
        size_t len = 0;
        if (fc_store_release_get(self->cfg.store, list[i].channel, list[i].serial, NULL, &bytes,
                                 &len) != FC_OK)
            continue;
        int err;
        fc_manifest_t *m = fc_store_manifest_load(self->cfg.store, bytes, len, NULL, NULL, &err);
        if (m)
            s_note_sizes(self, m);
        fc_manifest_destroy(&m);
        free(bytes);
    }
    free(list);
}

fc_relay_t *fc_relay_new(const fc_relay_config_t *config, zpoller_t *poller, int *err)
{
    fc_relay_t *self = zmalloc(sizeof *self);
    self->cfg = *config;
    snprintf(self->upstream, sizeof self->upstream, "%s", config->upstream);
    self->cfg.upstream = self->upstream;
    self->curve = config->curve ? fc_curve_dup(config->curve) : NULL;
    self->cfg.curve = NULL;
    self->poller = poller;
    self->jobs = zlistx_new();
    self->sizes = zhashx_new();
    self->xfers = zhashx_new();
    self->rollouts = zhashx_new();
    zhashx_set_destructor(self->rollouts, s_rollout_free);
    if (config->keys_data_dir &&
        !(self->keys = fc_relay_keys_new(config->keys_data_dir, config->quiet))) {
        *err = FC_EIO;
        fc_relay_destroy(&self);
        return NULL;
    }
    self->cfg.keys_data_dir = NULL; /* borrowed: not kept */
    if (config->router)
        self->stream = fc_relay_stream_new(config->router, FC_RELAY_STREAM_BUDGET);
    if (config->cache_max) {
        self->cache = fc_relay_cache_new(
            config->store, config->cache_max,
            config->cache_pin_s > 0 ? config->cache_pin_s : FC_RELAY_CACHE_PIN_S, err);
        if (!self->cache) {
            fc_relay_destroy(&self);
            return NULL;
        }
    }
    if (s_connect(self, err) != FC_OK) {
        fc_relay_destroy(&self);
        return NULL;
    }
    s_load_sizes(self);
    return self;
}

static int s_connect(fc_relay_t *self, int *err)
{
    fc_requester_opts_t opts = {.curve = self->curve};
    self->req = fc_requester_new(self->upstream, &opts, err);
    if (!self->req)
        return *err ? *err : FC_EIO;
    fc_requester_poll(self->req, self->poller, true);
    /* The upstream records nothing for a relay's HELLO; WELCOME names its announce
       endpoint. */
    fc_msg_t *hello = fc_msg_new(FC_MSG_HELLO);
    hello->role = FC_ROLE_RELAY;
    s_send(self, &hello, S_HELLO);
    return FC_OK;
}

void fc_relay_destroy(fc_relay_t **self_p)
{
    fc_relay_t *self = *self_p;
    if (!self)
        return;
    if (self->xfers) {
        s_xfer_t *x;
        while ((x = zhashx_first(self->xfers)))
            s_xfer_end(self, x);
    }
    if (self->jobs) {
        s_job_t *job;
        while ((job = zlistx_first(self->jobs)))
            s_job_free(self, job);
    }
    if (self->poller) {
        if (self->sub)
            zpoller_remove(self->poller, self->sub);
        if (self->req) {
            fc_requester_poll(self->req, self->poller, false);
        }
    }
    zsock_destroy(&self->sub);
    fc_requester_destroy(&self->req);
    fc_curve_destroy(&self->curve);
    fc_relay_keys_destroy(&self->keys);
    fc_relay_cache_destroy(&self->cache);
    fc_relay_stream_destroy(&self->stream);
    zlistx_destroy(&self->jobs);
    zhashx_destroy(&self->sizes);
    zhashx_destroy(&self->xfers);
    zhashx_destroy(&self->rollouts);
    free(self);
    *self_p = NULL;
}
