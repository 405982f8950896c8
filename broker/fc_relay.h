/* fc_relay.h: a relay broker's upstream side: mirrors the upstream's signed releases and
   fetches their blobs on demand, each piece once, for the broker actor it runs inside. */
#ifndef FC_RELAY_H
#define FC_RELAY_H

#include "fc_curve.h"
#include "fc_hash.h"
#include "fc_limits.h"
#include "fc_store.h"
#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

/* Pieces of one blob requested upstream at once (each FC_CHUNK_SIZE): 2 MiB in flight. */
#define FC_RELAY_WINDOW 8
/* GET_CHUNK requests of agents held for one blob while it crosses the upstream link; past
   it, further ones are not held (their agents re-send them). */
#define FC_RELAY_MAX_PARKED 65536

typedef struct fc_relay_t fc_relay_t;

/* Serves a held GET_CHUNK once its blob is here, as the broker serves any (fc_chunks_get);
   peer and key are borrowed for the call. */
typedef void(fc_relay_serve_fn)(void *arg, zframe_t *peer, const char *key, uint64_t req,
                                const uint8_t blob[FC_HASH_LEN], uint64_t offset, uint64_t length);

/* Answers a held GET_CHUNK with ERROR code and text: its blob could not be fetched. */
typedef void(fc_relay_refuse_fn)(void *arg, zframe_t *peer, uint64_t req, int code,
                                 const char *text);

/* Stores an upstream config revision (signed, as pushed there) as CONFIG_PUSH would, and
   announces it to the relay's agents. bytes borrowed. fc_error_t; text gets the reason. */
typedef int(fc_relay_revision_fn)(void *arg, const uint8_t *bytes, size_t len, char *text,
                                  size_t textsize);

/* The root's signed timestamp (docs/PROTOCOL.md "Signed timestamps"), as the upstream's
   HEARTBEAT carried it: its own if the upstream is the root, else the root's it carries. */
typedef struct {
    uint64_t epoch, seq, time_ms;
    uint8_t sig[FC_SIG_LEN];
} fc_relay_stamp_t;

/* Publishes the relay's own HEARTBEAT carrying root (borrowed for the call), at once: each
   root stamp crosses to the agents once, as soon as it arrives. */
typedef void(fc_relay_beat_fn)(void *arg, const fc_relay_stamp_t *root);

typedef struct {
    const char *upstream;    /* the upstream broker's service endpoint, tcp://HOST:PORT */
    const fc_curve_t *curve; /* client keys for both upstream sockets (read here); NULL: plain */
    fc_store_t *store;       /* the relay's own store (borrowed; outlives the relay) */
    void *pub;               /* the relay's announce PUB (libzmq handle, borrowed) */
    uint64_t epoch;          /* the relay's epoch, which its own announcements carry */
    bool quiet;
    bool verbose;
    fc_relay_serve_fn *serve;
    fc_relay_refuse_fn *refuse;
    fc_relay_revision_fn *revision; /* NULL: config is not mirrored */
    /* Stores an upstream trusted-key list (sealed, as pushed there) as TRUST_PUSH would,
       and announces it; same contract. NULL: trust lists are not mirrored. */
    fc_relay_revision_fn *trust;
    fc_relay_beat_fn *beat; /* NULL: the root's stamps are not carried */
    /* The relay's data dir, to mirror the upstream's enrolled agent keys into its
       keys/agents/ (RELAY_KEYS, fc_relay_keys.h); NULL: not mirrored (--insecure). */
    const char *keys_data_dir;
    void *arg; /* handed to every callback */
    /* --cache-max: the fetched blobs are a cache of at most this many bytes, the least
       recently used evicted (fc_relay_cache.h); 0: every blob fetched is kept. */
    uint64_t cache_max;
    int64_t cache_pin_s; /* --cache-pin; 0: FC_RELAY_CACHE_PIN_S */
    /* The relay's ROUTER (libzmq handle, borrowed): held requests whose chunks are in
       already are answered on it before the blob is complete (fc_relay_stream.h). NULL:
       held requests are served once the blob is committed. */
    void *router;
} fc_relay_config_t;

/* Connects to the upstream (a DEALER through fc_requester; the SUB once WELCOME names the
   announce endpoint) and registers its sockets with poller (borrowed; must outlive the
   relay). Every blob the stored releases name becomes fetchable. NULL with *err set. */
fc_relay_t *fc_relay_new(const fc_relay_config_t *config, zpoller_t *poller, int *err);
/* Closes the upstream sockets, forgets held requests (their agents re-send); nulls *self_p.
   Safe on NULL. */
void fc_relay_destroy(fc_relay_t **self_p);

/* Handles input on which if it is one of the relay's sockets; returns whether it was. */
bool fc_relay_handle(fc_relay_t *self, void *which);
/* Time work: re-sends, the flush after a reconnect. Returns the most ms the caller's poll
   may wait before calling again, at most wait. */
int fc_relay_tick(fc_relay_t *self, int wait);

/* An agent's GET_CHUNK for a blob this relay does not hold yet but a mirrored release
   names: held (true) until the blob has crossed the upstream link, then handed to serve;
   with config->router, answered before that once its chunks are in and check against the
   manifest (fc_relay_stream.h).
   false: the blob is here, or no mirrored release names it; serve it as usual. peer and key
   are borrowed (copied when held). */
bool fc_relay_hold(fc_relay_t *self, zframe_t *peer, const char *key, uint64_t req,
                   const uint8_t blob[FC_HASH_LEN], uint64_t offset, uint64_t length);

/* Whether a relay refuses this request type: publisher operations go to the root. */
bool fc_relay_refuses(int type);
/* The upstream endpoint, for messages (borrowed). */
const char *fc_relay_upstream(const fc_relay_t *self);

typedef struct {
    uint64_t mirrored;     /* releases stored from upstream */
    uint64_t revisions;    /* config revisions stored from upstream */
    uint64_t trust_lists;  /* trusted-key lists stored from upstream */
    uint64_t root_stamps;  /* root timestamps carried to the relay's agents */
    uint64_t halts;        /* config revisions halted because the upstream halted them */
    uint64_t waves;        /* wider shares of a release offered, following the upstream */
    uint64_t objects;      /* manifest objects fetched */
    uint64_t pieces;       /* blob pieces fetched */
    uint64_t piece_bytes;  /* their bytes */
    uint64_t blobs;        /* blobs completed */
    uint64_t blobs_failed; /* blobs that did not verify or upstream refused */
    uint64_t held;         /* agent requests held for a blob in transfer */
    uint64_t served_held;  /* of those, handed to serve */
    uint64_t key_sets;     /* upstream agent-key sets applied (RELAY_KEYS walks completed) */
    uint64_t streamed;     /* of those, served from the pieces before the commit */
    uint64_t cache_bytes;  /* --cache-max: blob bytes held now */
    uint64_t evicted;      /* --cache-max: blobs evicted, and their bytes */
    uint64_t evicted_bytes;
} fc_relay_stats_t;
void fc_relay_stats(const fc_relay_t *self, fc_relay_stats_t *stats);

#endif
