/* fc_agent_priv.h: the agent engine's insides, shared by fc_agent.c (session, sockets, loop)
   and fc_agent_release.c (what to do with a release: judge, fetch, install). Not public.
   The trusted keys and the heartbeats' freshness are classes of their own (fc_agent_trust.h,
   fc_freshness.h) that the engine owns; the runtime-config follower (fc_reconf*.c) sees
   only the narrow fc_agent_host.h, never this struct. */
#ifndef FC_AGENT_PRIV_H
#define FC_AGENT_PRIV_H

#include "fc_agent.h"
#include "fc_agent_host.h"
#include "fc_agent_trust.h"
#include "fc_curve.h"
#include "fc_fetch.h"
#include "fc_freshness.h"
#include "fc_install.h"
#include "fc_manifest.h"
#include "fc_requester.h"
#include <czmq.h>
#include <pthread.h>
#include <signal.h>

#define FC_AGENT_NOSPC_RETRY 5.0 /* disk full: try writing again after (s) */
#define FC_AGENT_RESEND 5.0      /* control requests unanswered this long are re-sent (s) */
/* Chunks of one fetch that may fail their hash before the broker's copy is called corrupt
   (a chunk is asked for again after each: a transient fault heals, a damaged blob does not) */
#define FC_AGENT_MAX_HASH_ERRORS 3
#define FC_AGENT_DEFAULT_WINDOW (4u * 1024u * 1024u)

struct fc_agent_t {
    /* Configuration, copied. */
    char *broker, *channel, *install_dir, *state_dir, *id;
    char *product; /* NULL: any */
    char *changing, *changed, *health;
    double hook_timeout; /* for these and the config hooks (fc_reconf_apply.c); 0: none */
    fc_agent_policy_t policy;
    uint64_t window;
    double timeout, retry_interval;
    bool verbose;
    fc_agent_log_fn *log;
    void *log_arg;
    fc_agent_trust_t *trusted; /* the keys in force: --trust, or the rotated list */
    const fc_trust_t *trust;   /* fc_agent_trust_keys(trusted): rotation changes it in place */

    fc_freshness_t *fresh; /* heartbeats and the broker's signed timestamps (fc_agent_fresh.c) */
    fc_install_t *inst;

    /* Sockets: the service requester (its DEALER, watched by its monitor; every control
       request goes through it, ids with FC_FETCH_CTL_BIT; the fetcher sends its chunk
       requests on the same DEALER, ids without) and the announce SUB. */
    fc_requester_t *req;
    fc_curve_t *curve; /* CURVE client settings for both sockets; NULL: insecure */
    zsock_t *sub;
    char sub_endpoint[FC_MAX_ENDPOINT + 1];
    bool live;                 /* a reply came over the current connection */
    bool lost_logged;          /* a loss was logged; the resume will be too */
    uint64_t req_retried_base; /* the requester's re-sends when this run began */

    /* Session. */
    double hello_retry_at, sync_retry_at; /* refused: asked again then (0: not waiting) */
    bool welcomed;
    uint64_t epoch, seq, want_seq;
    double next_sync, last_expire;
    double last_progress; /* last useful answer (WELCOME, SNAPSHOT, a written chunk) */
    double last_error_log;

    /* The release being fetched or installed. */
    uint8_t *target_bytes;
    size_t target_len;
    uint8_t target_id[FC_HASH_LEN];
    fc_manifest_t *target;
    fc_stage_t *stage;
    fc_fetch_t *fetch;
    double retry_at;      /* daemon: re-open the stage then (postponed, failed, disk full) */
    int install_attempts; /* commits of this target that found a damaged chunk */
    bool write_blocked;   /* disk full while writing chunks */
    uint8_t decided_id[FC_HASH_LEN]; /* daemon: last manifest judged not worth acting on */
    bool have_decided;

    /* State, reporting, results. */
    bool report_due;
    /* The blob whose bad chunks made the current failure, named in REPORT's blob field
       until the state changes (all zero: none). */
    uint8_t corrupt_blob[FC_HASH_LEN];
    double last_report;
    fc_agent_mode_t mode;
    bool finished;
    double started;
    uint64_t retried_base, hash_base; /* counters of fetchers already gone */
    fc_agent_result_t res;
    volatile sig_atomic_t stop;
    struct fc_reconf_t *reconf; /* runtime configuration (fc_reconf.h) */

    /* The embedder's engine actor (fc_agent_start), NULL when not started. actor_done is
       set (under actor_lock, with actor_ended signalled) as fc_agent_actor returns: the
       join waits for it, as zactor_destroy's own wait ends early on a signal. */
    zactor_t *actor;
    pthread_mutex_t actor_lock;
    pthread_cond_t actor_ended;
    bool actor_done;
};

/* fc_agent.c (and what reconf may use of the engine: fc_agent_host.h) */
/* Sets state and message; a change makes a REPORT due (and is logged by a daemon). */
void fc_agent_set_state(fc_agent_t *self, const char *state, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Ends a one-shot run with this exit code and error; a daemon only records the error. */
void fc_agent_finish(fc_agent_t *self, int exit_code, int error);
/* Sends a REPORT now (best effort); 0 if it went out. */
int fc_agent_report(fc_agent_t *self, double now);

/* Bytes staged and total of the stage, as sizes. */
void fc_agent_progress(fc_agent_t *self, char *have, char *total, size_t size);
/* The daemon engine as a CZMQ actor (zactor_new(fc_agent_actor, agent): args is the
   agent, borrowed, which must outlive the actor). Signals 0 on the pipe once started (the
   stop flag cleared and the first HELLO out), then runs as fc_agent_run until "$TERM" on
   the pipe, fc_agent_stop or zsys_interrupted. fc_agent_start / fc_agent_join use it. */
void fc_agent_actor(zsock_t *pipe, void *args);

/* fc_agent_fresh.c */
/* A HEARTBEAT arrived: with a pinned key, checks its signed timestamp. false: drop it;
   true: counted in fc_agent_heartbeats. */
bool fc_agent_fresh_on_heartbeat(fc_agent_t *self, const fc_msg_t *msg, double now);
/* Notices a broker gone quiet: marks the agent stale (logged, reported) when due. */
void fc_agent_fresh_timers(fc_agent_t *self, double now);
/* --once: waits (up to the timeout) for a fresh timestamp if none came in this run. */
void fc_agent_fresh_await(fc_agent_t *self);
/* Appends the staleness to a REPORT message. */
void fc_agent_fresh_note(const fc_agent_t *self, char *message, size_t size);

/* fc_agent_release.c */
/* Judges the channel's latest signed manifest (len 0: none) and starts fetching it if it is
   to be installed. */
void fc_agent_consider(fc_agent_t *self, const uint8_t *bytes, size_t len, double now);
/* Opens or resumes the target's stage, reuses local chunks, starts the fetcher. */
void fc_agent_start_stage(fc_agent_t *self, double now);
/* Handles a CHUNK reply (written, handed to a worker, stale, bad hash, disk full); installs
   when complete. */
void fc_agent_on_chunk(fc_agent_t *self, fc_msg_t *msg, double now);
/* Takes the chunks the fetcher's workers have finished; installs when complete. */
void fc_agent_on_written(fc_agent_t *self, double now);
/* Forgets the target (its stage stays on disk). */
void fc_agent_drop_target(fc_agent_t *self);

#endif
