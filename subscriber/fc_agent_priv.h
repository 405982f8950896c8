/* fc_agent_priv.h: the agent engine's insides (the actor's dispatch: configuration, the
   requester, the SUB socket, the session state and the classes it owns), shared by the
   engine's files fc_agent.c (session, loop), fc_agent_new.c (build, free, the hosts lent to
   the classes), fc_agent_fresh.c and fc_agent_embed.c. Not public. The classes (release
   follower fc_follower.h, runtime config fc_reconf.h, trusted keys fc_agent_trust.h,
   freshness fc_freshness.h) never see this struct: each is handed a narrow host interface
   (a struct of callbacks and borrowed settings) and never calls into the engine's files. */
#ifndef FC_AGENT_PRIV_H
#define FC_AGENT_PRIV_H

#include "fc_agent.h"
#include "fc_agent_mode.h"
#include "fc_agent_trust.h"
#include "fc_curve.h"
#include "fc_follower.h"
#include "fc_freshness.h"
#include "fc_install.h"
#include "fc_manifest.h"
#include "fc_requester.h"
#include <czmq.h>
#include <pthread.h>
#include <signal.h>

#define FC_AGENT_RESEND 5.0 /* control requests unanswered this long are re-sent (s) */

struct fc_agent_t {
    /* Configuration, copied (the follower keeps its own: product, hooks, policy, window). */
    char *broker, *channel, *state_dir, *id;
    double hook_timeout; /* for the config hooks (fc_reconf_apply.c); 0: none */
    double timeout;
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
    double next_sync;
    double last_progress; /* last useful answer (WELCOME, SNAPSHOT, a written chunk) */
    double last_error_log;

    /* The release being fetched or installed (decide, fetch, stage, install). */
    fc_follower_t *follower;

    /* State, reporting, results. */
    bool report_due;
    /* The blob whose bad chunks made the current failure, named in REPORT's blob field
       until the state changes (all zero: none). */
    uint8_t corrupt_blob[FC_HASH_LEN];
    double last_report;
    fc_agent_mode_t mode;
    bool finished;
    double started;
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

/* fc_agent.c */
void fc_agent_log(fc_agent_t *self, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A kind of the engine's own control requests: the requester hands each reply back with the
   kind it was sent as (its user pointer), and the kind's handler takes it (msg borrowed).
   Reconf has kinds of its own (fc_reconf_on_reply). */
typedef struct fc_agent_kind_t {
    const char *name; /* the request, for logs */
    void (*on_reply)(fc_agent_t *self, const fc_msg_t *msg, double now);
} fc_agent_kind_t;
/* Sends *m_p (consumed) as a control request of this kind; opts: per-request re-send
   policy, NULL for the agent's default (re-sent after 5 s, flushed after a reconnect).
   Returns its id, 0 if it could not be encoded. */
uint64_t fc_agent_request(fc_agent_t *self, fc_msg_t **m_p, const fc_agent_kind_t *kind,
                          const fc_requester_sendopts_t *opts);
/* Whether a request of this kind is outstanding. */
bool fc_agent_asking(const fc_agent_t *self, const fc_agent_kind_t *kind);
/* True when requests can go out now (connected, nothing waiting for the flush). */
bool fc_agent_up(const fc_agent_t *self);
/* The service DEALER's libzmq handle (for the fetcher's chunk requests). */
void *fc_agent_service(fc_agent_t *self);
/* Sets state and message; a change makes a REPORT due (and is logged by a daemon). */
void fc_agent_set_state(fc_agent_t *self, const char *state, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Ends a one-shot run with this exit code and error; a daemon only records the error. */
void fc_agent_finish(fc_agent_t *self, int exit_code, int error);
/* Sends a REPORT now (best effort); 0 if it went out. */
int fc_agent_report(fc_agent_t *self, double now);

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

#endif
