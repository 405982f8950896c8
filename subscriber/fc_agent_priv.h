/* fc_agent_priv.h: the agent engine's insides: the actor's dispatch (configuration, the
   requester, the result, and the classes it owns), shared by the engine's files fc_agent.c
   (the loop and dispatch), fc_agent_new.c (build, free, and the host interfaces lent to the
   classes) and fc_agent_embed.c (the embedder's side). Not public. The classes (session
   fc_session.h, release follower fc_follower.h, runtime config fc_reconf.h, trusted keys
   fc_agent_trust.h, freshness fc_freshness.h inside the session) never see this struct:
   each is handed a narrow host interface (callbacks and borrowed settings) and calls no
   function of the engine's files; the engine depends on them, never the reverse. */
#ifndef FC_AGENT_PRIV_H
#define FC_AGENT_PRIV_H

#include "fc_agent.h"
#include "fc_agent_mode.h"
#include "fc_agent_trust.h"
#include "fc_curve.h"
#include "fc_follower.h"
#include "fc_install.h"
#include "fc_manifest.h"
#include "fc_requester.h"
#include "fc_session.h"
#include <czmq.h>
#include <pthread.h>
#include <signal.h>

#define FC_AGENT_RESEND 5.0 /* control requests unanswered this long are re-sent (s) */

struct fc_agent_t {
    /* Configuration, copied (the follower keeps its own: product, hooks, policy, window). */
    char *broker, *channel, *state_dir, *id;
    double hook_timeout; /* for the config hooks (fc_reconf_apply.c); 0: none */
    double timeout;
    int tick_ms; /* fc_agent_sim_tick; 0: S_TICK_MS */
    bool verbose;
    fc_agent_log_fn *log;
    void *log_arg;
    fc_agent_trust_t *trusted; /* the keys in force: --trust, or the rotated list */
    const fc_trust_t *trust;   /* fc_agent_trust_keys(trusted): rotation changes it in place */

    fc_install_t *inst;

    /* The service requester: its DEALER (watched by its monitor) carries every request,
       control ids with FC_FETCH_CTL_BIT, the follower's chunk requests without. */
    fc_requester_t *req;
    fc_curve_t *curve;         /* CURVE client settings for both sockets; NULL: insecure */
    uint64_t req_retried_base; /* the requester's re-sends when this run began */

    /* The classes, each fed by the dispatch in fc_agent.c. */
    fc_session_t *session;      /* HELLO, SYNC, announcements, heartbeats, REPORT */
    fc_follower_t *follower;    /* the release: decide, fetch, stage, install */
    struct fc_reconf_t *reconf; /* runtime configuration (fc_reconf.h) */

    /* State, reporting, results. */
    /* The blob whose bad chunks made the current failure, named in REPORT's blob field
       until the state changes (all zero: none). */
    uint8_t corrupt_blob[FC_HASH_LEN];
    fc_agent_mode_t mode;
    bool finished;
    /* A one-shot run's end put off while a newer release's manifest objects are fetched (a
       SNAPSHOT that came before the end is judged before it): its exit code and error. */
    bool finish_deferred;
    int deferred_exit, deferred_error;
    double started;
    fc_agent_result_t res;
    struct fc_status_file_t *status_file; /* --status-file (fc_status_file.h); NULL: none */
    fc_agent_alive_fn *alive;             /* fc_agent_on_alive's; NULL: none */
    void *alive_arg;
    double alive_every; /* seconds */
    double alive_next;  /* fc_now() of the next call */
    volatile sig_atomic_t stop;
    volatile sig_atomic_t reload; /* fc_agent_reload asked (SIGHUP) */

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
/* Sets state and message; a change makes a REPORT due (and is logged by a daemon). */
void fc_agent_set_state(fc_agent_t *self, const char *state, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Ends a one-shot run with this exit code and error; a daemon only records the error. */
void fc_agent_finish(fc_agent_t *self, int exit_code, int error);
/* The daemon engine as a CZMQ actor (zactor_new(fc_agent_actor, agent): args is the
   agent, borrowed, which must outlive the actor). Signals 0 on the pipe once started (the
   stop flag cleared and the first HELLO out), then runs as fc_agent_run until "$TERM" on
   the pipe, fc_agent_stop or zsys_interrupted. fc_agent_start / fc_agent_join use it. */
void fc_agent_actor(zsock_t *pipe, void *args);

#endif
