/* fc_follower.h: the agent's release follower (class fc_follower): the release being fetched
   or installed, from the channel's latest signed manifest through the decision (fc_policy.h),
   the stage and the fetch (fc_fetch.h), to the install (fc_install.h). It owns the target and
   reaches the engine only through the fc_follower_host_t it is given. Not public. */
#ifndef FC_FOLLOWER_H
#define FC_FOLLOWER_H

#include "fc_agent.h"
#include "fc_agent_mode.h"
#include "fc_install.h"
#include "fc_msg.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Disk full while staging or writing: tried again after (s). */
#define FC_FOLLOWER_NOSPC_RETRY 5.0
/* Chunks of one fetch that may fail their hash before the broker's copy is called corrupt
   (a chunk is asked for again after each: a transient fault heals, a damaged blob does not) */
#define FC_FOLLOWER_MAX_HASH_ERRORS 3

typedef struct fc_follower_t fc_follower_t;

/* What the engine lends the follower; every call gets ctx back. Called on the engine's
   thread only, from within the follower's methods. */
typedef struct {
    void *ctx;
    /* Sets the run's state and message (a change makes a REPORT due). blob (NULL: none) is
       the blob REPORT names as the cause (a corrupt copy at the broker) until the state
       changes again. */
    void (*set_state)(void *ctx, const char *state, const char *message, const uint8_t *blob);
    /* Ends a one-shot run with this exit code and error; a daemon only records the error. */
    void (*finish)(void *ctx, int exit_code, int error);
    /* Whether the run has ended (no more written chunks are taken then). */
    bool (*finished)(void *ctx);
    /* Sends a REPORT now, best effort (the install may take a while). */
    void (*report)(void *ctx, double now);
    /* A useful step (a stage opened, a chunk written): a one-shot run's timeout restarts. */
    void (*progress)(void *ctx, double now);
    /* The service DEALER (raw libzmq handle) GET_CHUNK requests go out on. */
    void *(*service)(void *ctx);
    /* A log line (fc_agent_log_fn; its arg is ctx); NULL: none. */
    fc_agent_log_fn *log;
} fc_follower_host_t;

/* The follower's settings: strings are copied; inst, trust and res are borrowed and must
   outlive it. */
typedef struct {
    const char *channel;
    const char *product; /* NULL: any */
    fc_agent_policy_t policy;
    uint64_t window;       /* bytes of chunk requests in flight */
    double retry_interval; /* a daemon tries a failed or postponed install again after (s) */
    fc_hooks_t hooks;      /* install hooks (fc_install_commit) */
    bool verbose;
    fc_install_t *inst;
    const fc_trust_t *trust; /* the keys in force (a rotation changes them in place) */
    /* The engine's result: the follower keeps its release fields (version, update_available,
       available_*, mandatory, bytes_fetched, bytes_reused, bytes_total) up to date. */
    fc_agent_result_t *res;
} fc_follower_config_t;

/* NULL without memory. host is copied. */
fc_follower_t *fc_follower_new(const fc_follower_config_t *cfg, const fc_follower_host_t *host);
/* Forgets the target (its stage stays on disk). Safe on NULL. */
void fc_follower_destroy(fc_follower_t **self_p);

/* A run begins in this mode: counters of earlier runs' fetchers are cleared, and a daemon
   judges again a manifest it had judged not worth acting on. */
void fc_follower_begin(fc_follower_t *self, fc_agent_mode_t mode);
/* The trusted keys changed: a manifest refused before deserves another look. */
void fc_follower_forget_decided(fc_follower_t *self);
/* Judges the channel's latest signed manifest (bytes borrowed; len 0: the channel has none)
   and carries the decision out: the state, the result, the end of a one-shot run, or the
   target staged and fetched (and installed when complete). */
void fc_follower_consider(fc_follower_t *self, const uint8_t *bytes, size_t len, double now);
/* Forgets the target, stopping its fetch (its stage stays on disk for a later run). */
void fc_follower_drop(fc_follower_t *self);

/* A CHUNK reply on the service DEALER (msg borrowed; its data may be taken): counted,
   written or handed to a worker; installs when the stage is complete. */
void fc_follower_on_chunk(fc_follower_t *self, fc_msg_t *msg, double now);
/* Takes the chunks the fetcher's workers have finished; installs when complete. */
void fc_follower_on_written(fc_follower_t *self, double now);
/* An ERROR on the service DEALER: true if it answered one of the fetch's requests (asked
   again after retry_s). */
bool fc_follower_on_error(fc_follower_t *self, const fc_msg_t *msg, double retry_s, double now);
/* Sends chunk requests until the window is full. */
void fc_follower_pump(fc_follower_t *self, double now);
/* While connected: re-sends chunk requests gone unanswered (looked at every 0.1 s at most). */
void fc_follower_expire(fc_follower_t *self, double now);
/* Daemon: opens the target's stage again when its retry time (after a failure, a postponed
   install, a full disk) has come. */
void fc_follower_retry(fc_follower_t *self, double now);
/* After a reconnect: every chunk request outstanding again. Returns how many. */
size_t fc_follower_resend_all(fc_follower_t *self, double now);
/* The broker answers in order: chunk requests last sent before `before` and unanswered were
   lost with a connection. Returns how many were sent again. */
size_t fc_follower_resend_before(fc_follower_t *self, double before, double now);
/* The fetcher's worker pipes (raw libzmq handles, up to max): when one is readable, call
   fc_follower_on_written. Returns how many. */
size_t fc_follower_pipes(const fc_follower_t *self, void **socks, size_t max);

/* Whether a stage is open (a release being fetched), and its chunk requests in flight. */
bool fc_follower_staging(const fc_follower_t *self);
size_t fc_follower_inflight(const fc_follower_t *self);
/* Bytes staged and total of the stage (0 without one), formatted as sizes. */
void fc_follower_progress(const fc_follower_t *self, char *have, char *total, size_t size);
/* For REPORT: bytes staged and total of the stage, or 0 and the target's size. */
void fc_follower_bytes(const fc_follower_t *self, uint64_t *done, uint64_t *total);
/* The newest serial known here: the installed one or the target's. */
uint64_t fc_follower_newest_serial(const fc_follower_t *self);
/* Chunk requests re-sent and chunks that failed their hash this run. */
uint64_t fc_follower_retried(const fc_follower_t *self);
uint64_t fc_follower_hash_errors(const fc_follower_t *self);

void fc_follower_test(bool verbose);

#endif
