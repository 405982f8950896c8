/* fc_broker.h: the broker actor: service ROUTER, announce PUB, request handling, heartbeats. */
#ifndef FC_BROKER_H
#define FC_BROKER_H

#include "fc_curve.h"
#include "fc_key.h"
#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

#define FC_BROKER_HEARTBEAT_MS 1000
/* Replies queued per connection before further ones are dropped (the peer re-sends): bounds
   the number of replies a peer that stops reading can hold; chunk replies are bounded
   further by its share (fc_chunks.h: bytes, and FC_CHUNKS_SHARE_MSGS replies), which this
   leaves room above. Room too for an agent's whole object window (FC_OBJFETCH_WINDOW, 64
   GET_OBJECTs sent at once) beside its other requests: since the ROUTER reads without a
   receive HWM (fc_sock_tune_bound), all of them are answered in one turn, and at 64 the
   last replies were dropped and such an install made no progress in 30 s (it_push_small,
   it_manifest_delta, it_push_kill_broker). */
#define FC_BROKER_SNDHWM 256
/* Malformed messages after which a peer's messages are ignored: per CURVE key (secure),
   so reconnecting does not start afresh, until the broker restarts; per connection
   (routing id) with --insecure, where there is no key. */
#define FC_BROKER_MAX_BAD 100

typedef struct fc_view_hub_t fc_view_hub_t; /* fc_view_hub.h */

typedef struct {
    const char *data_dir; /* must exist; see fc_store.h for its layout */
    const char *store;    /* the database (fc_store_new_db); NULL: data_dir/fleetcast.db */
    /* Bind endpoints, e.g. "tcp://0.0.0.0:7400"; a host of "*" binds every interface and a
       port of "*" takes any free one (see fc_broker_service_endpoint). */
    const char *service;  /* the request ROUTER */
    const char *announce; /* the announcement PUB */
    bool verbose;         /* log one line per request (stderr, zsys) */
    bool quiet;           /* log nothing, not even commits (self-tests) */
    int heartbeat_ms;     /* 0 means FC_BROKER_HEARTBEAT_MS */
    /* Config restarts: percent of a revision's matching agents granted a restart slot at
       once (at least one agent); 0 means FC_CONFIG_RESTART_SHARE (25). */
    uint32_t restart_share;
    /* CURVE on both sockets with the broker's own cert data_dir/FC_BROKER_CERT_SECRET, a
       zauth ZAP handler admitting the keys under data_dir/keys (started before binding), and
       every request checked against its key's role (fc_keyring.h) and, from an agent key,
       against the agent ids that key holds (fc_store_agent_claim). One secure broker per
       process: ZAP handlers are per libzmq context. false (--insecure): plain TCP, every peer
       has every role, and agent ids are bound to nothing. */
    bool secure;
    /* Freeze defence: signs every HEARTBEAT's (epoch, seq, time) with this key (copied by
       fc_broker_new), so agents pinning its public half can tell a live broker from a
       frozen or replayed feed. NULL: heartbeats go unsigned. */
    const fc_signkey_t *timestamp_key;
    /* Chunk bytes read for GET_CHUNK and not yet sent, across all agents; requests beyond it
       wait their turn. 0 means FC_CHUNKS_BUDGET (24 MiB). Each connection may hold at
       most FC_CHUNKS_SHARE of it (fc_chunks.h). */
    uint64_t chunk_budget;
    /* An agent not heard for this many seconds is offline (status, rollout waves); 0 means
       30, three of an agent's 10-second status reports. */
    int64_t offline_after_s;
    /* Where the fleet view and counters for the HTTP endpoint go (fc_view_feed.h); borrowed,
       must outlive the broker. NULL: none built. */
    fc_view_hub_t *view_hub;
    /* A relay (fc_relay.h): the upstream broker's service endpoint, whose releases this
       broker mirrors and whose blobs it fetches when its agents ask; publisher operations
       are refused naming it. NULL: a root broker. */
    const char *upstream;
    /* The upstream link's CURVE client keys (read here; NULL: plain, --insecure). */
    const fc_curve_t *upstream_curve;
    /* A relay's name, the `via` the root lists its agents with (fc_relay_up.h); NULL or "":
       the host name. */
    const char *relay_name;
    /* A relay's --cache-max (bytes; 0: no bound) and --cache-pin (s; 0: the default). */
    uint64_t cache_max;
    int64_t cache_pin_s;
} fc_broker_config_t;

/* The broker's own certificate, in the data dir but outside keys/: zauth admits every cert
   under keys/, which must never include the broker's own. */
#define FC_BROKER_CERT "broker.cert"
#define FC_BROKER_CERT_SECRET "broker.cert_secret"
#define FC_BROKER_KEYS_DIR "keys"

typedef struct {
    uint64_t requests;    /* well-formed requests handled */
    uint64_t errors;      /* ERROR replies sent, malformed requests included */
    uint64_t malformed;   /* messages dropped or answered FC_EPROTO */
    uint64_t ignored;     /* messages from keys (or connections) past FC_BROKER_MAX_BAD */
    uint64_t send_failed; /* replies dropped: peer gone or its queue full */
    uint64_t announced;   /* ANNOUNCE messages published */
    uint64_t denied;      /* requests refused FC_EPERM: the key's role may not send them, or
                             they name an agent id that belongs to another key */
} fc_broker_stats_t;

typedef struct fc_broker_t fc_broker_t;

/* Starts a broker in a background thread: opens the store, binds both sockets, and serves
   until destroyed. config is read before this returns (the caller keeps ownership).
   Returns NULL with *err (fc_error_t) and a one-line reason in text (may be NULL) if the
   store cannot be opened, an endpoint cannot be bound, or (secure) the broker's cert is
   missing or unreadable (FC_ENOTFOUND: no DATA/broker.cert_secret). */
fc_broker_t *fc_broker_new(const fc_broker_config_t *config, int *err, char *text, size_t textsize);
/* Stops the actor (closing sockets and store); nulls *self_p; safe on NULL. */
void fc_broker_destroy(fc_broker_t **self_p);

/* The bound endpoints: the configured ones, or with the chosen port when the configured
   port was a wildcard. Borrowed, valid while the broker lives. */
const char *fc_broker_service_endpoint(fc_broker_t *self);
const char *fc_broker_announce_endpoint(fc_broker_t *self);
/* Copies the actor's counters. 0 or -1. */
int fc_broker_stats(fc_broker_t *self, fc_broker_stats_t *stats);

/* The actor itself, for zactor_new(fc_broker_actor, (void *)config). It signals the pipe
   once started, then sends "isss": status (fc_error_t), error text, service endpoint,
   announce endpoint. On a nonzero status it only waits for $TERM. Commands: "$TERM";
   "STATS" answered with "8888888" in fc_broker_stats_t order. */
void fc_broker_actor(zsock_t *pipe, void *args);

void fc_broker_test(bool verbose);

#endif
