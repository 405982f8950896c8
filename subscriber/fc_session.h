/* fc_session.h: the agent's session with the broker (class fc_session): HELLO/WELCOME,
   SYNC/SNAPSHOT and the trusted-key requests, the broker's epoch and announcement sequence
   (a gap or a new epoch: ask again), the announce SUB socket, heartbeats and their freshness
   (it owns the fc_freshness_t), the connection's loss and resume, the --once timeout, and
   REPORT: when it is due, sending it. It reaches the engine and the other classes only
   through the fc_session_host_t it is given. Not public. */
#ifndef FC_SESSION_H
#define FC_SESSION_H

#include "fc_agent.h"
#include "fc_agent_mode.h"
#include "fc_agent_trust.h"
#include "fc_curve.h"
#include "fc_msg.h"
#include "fc_objects.h"
#include "fc_requester.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct fc_session_t fc_session_t;

/* What the engine lends the session; every call gets ctx back. Called on the engine's
   thread only, from within the session's methods. */
typedef struct {
    void *ctx;
    fc_agent_log_fn *log; /* a log line (arg: ctx); NULL: none */
    /* The run's state and message; the end of a one-shot run (a daemon records the error). */
    void (*set_state)(void *ctx, const char *state, const char *message);
    void (*finish)(void *ctx, int exit_code, int error);
    bool (*finished)(void *ctx);
    /* The run is asked to stop (from another thread or a signal). */
    bool (*stopping)(void *ctx);
    /* The channel's latest signed manifest (borrowed; len 0: none) from a SNAPSHOT. */
    void (*consider)(void *ctx, const uint8_t *bytes, size_t len, double now);
    /* The installed release's signed top level (borrowed, *len set) while its format-3
       objects are to be fetched again (damaged or missing on disk); NULL: none. */
    const uint8_t *(*unread)(void *ctx, size_t *len);
    /* Those objects are here (read it again), or cannot be had (fetched false: forget it). */
    void (*unread_done)(void *ctx, bool fetched);
    /* The newest release serial known here (installed or being fetched). */
    uint64_t (*newest_serial)(void *ctx);
    /* Whether a release is being staged; then its bytes staged and total as sizes, and its
       chunk requests in flight (for the connection's log lines). */
    bool (*staged)(void *ctx, char *have, char *total, size_t size, size_t *inflight);
    /* Chunk requests last sent before `before` (a zclock_mono time in s) and unanswered are
       lost: sends them again, returns how many. */
    size_t (*resend_before)(void *ctx, double before, double now);
    /* The config's follower: asks for newer revisions; a CONFIG_ANNOUNCE (msg borrowed)
       not after a gap, in_order if its seq is the one after the last seen. */
    void (*config_sync)(void *ctx, double now);
    void (*config_announce)(void *ctx, const fc_msg_t *msg, bool in_order, double now);
    /* The trusted keys rotated (a release refused under the old ones deserves a look). */
    void (*trust_rotated)(void *ctx);
    /* Fills a REPORT's status (id and channel are filled already) and its blob field. */
    void (*fill_report)(void *ctx, fc_agent_status_t *st, uint8_t blob[FC_HASH_LEN]);
    /* The installed release's manifest (borrowed; NULL: none), whose chunk lists are the
       bases of object deltas (fc_objfetch.h). NULL: no deltas. */
    const fc_manifest_t *(*installed)(void *ctx);
} fc_session_host_t;

/* The session's settings; borrowed (req, curve, trusted, res must outlive it; strings and
   the key are copied). */
typedef struct {
    const char *broker, *channel, *id;
    fc_requester_t *req;       /* the service requester: every request of the session */
    const fc_curve_t *curve;   /* CURVE client settings for the SUB too; NULL: insecure */
    fc_agent_trust_t *trusted; /* the trusted-key list, refreshed by GET_TRUST */
    fc_agent_result_t *res;    /* the engine's result: disconnects, trust_serial, freshness */
    bool verbose;
    double timeout;          /* --once: ends without progress for this long (s) */
    const uint8_t *stamp_pk; /* the pinned timestamp key (FC_PUBKEY_LEN); NULL: none */
    double freeze_after;     /* stale without a fresh timestamp for this long (s) */
    fc_objects_t *objects;   /* format-3 manifest objects held (borrowed); NULL: none fetched */
} fc_session_config_t;

/* NULL without memory. */
fc_session_t *fc_session_new(const fc_session_config_t *cfg, const fc_session_host_t *host);
/* Closes the SUB socket. Safe on NULL. */
void fc_session_destroy(fc_session_t **self_p);

/* A run begins in mode at now: freshness measured from now, earlier runs' HELLO and SYNC
   forgotten, a HELLO sent. */
void fc_session_begin(fc_session_t *self, fc_agent_mode_t mode, double now);
/* Whether a format-3 manifest's objects are being fetched (its SNAPSHOT not judged yet). */
bool fc_session_fetching_objects(const fc_session_t *self);
/* A reply (msg borrowed) to the request sent with kind: true if the kind was the session's
   (HELLO, SYNC, GET_TRUST, REPORT), then handled. */
bool fc_session_on_reply(fc_session_t *self, const void *kind, const fc_msg_t *msg, double now);
/* After a reload (SIGHUP): asks the broker for a newer trusted-key list and for the
   channel's state again (unless those requests are out already), so the release in force
   is judged again under the keys now trusted. */
void fc_session_resync(fc_session_t *self, double now);
/* Logs an ERROR answering what (here, a chunk request: rate-limited). */
void fc_session_on_error(fc_session_t *self, const fc_msg_t *msg, const char *what, double now);
/* Something came on the service DEALER: the connection carries replies. */
void fc_session_set_live(fc_session_t *self);
/* A useful answer (a chunk written, a stage opened): the --once timeout restarts. */
void fc_session_progress(fc_session_t *self, double now);
/* The requester's monitor is readable: a lost connection is logged and a HELLO queued. */
void fc_session_on_monitor(fc_session_t *self, double now);
/* The requester's flush after a reconnect went out; n chunk requests followed it. */
void fc_session_on_flushed(fc_session_t *self, size_t n, double now);
/* The announce SUB (raw libzmq handle, NULL if none): poll it, then fc_session_drain_sub. */
void *fc_session_sub(fc_session_t *self);
/* Takes what is waiting on the SUB (announcements, heartbeats), up to a batch. */
void fc_session_drain_sub(fc_session_t *self);
/* Heartbeats' freshness: a broker gone quiet makes the agent stale. */
void fc_session_fresh_timers(fc_session_t *self, double now);
/* HELLO and SYNC asked again when due (daemon); a one-shot run without progress for the
   timeout fails (false: the run has ended). */
bool fc_session_timers(fc_session_t *self, double now);
/* Sends a REPORT when one is due (a change of state, or the time since the last). */
void fc_session_report_timers(fc_session_t *self, double now);
/* A change worth reporting happened. */
void fc_session_report_due(fc_session_t *self);
/* Sends a REPORT now, best effort (no re-send); 0 if it went out. */
int fc_session_report(fc_session_t *self, double now);
/* A one-shot run: reports how it ended, waiting briefly for the OK. */
void fc_session_final_report(fc_session_t *self);
/* --once: waits (up to the timeout) for a fresh timestamp if none came in this run; none:
   the run's state becomes stale. */
void fc_session_await_fresh(fc_session_t *self);

bool fc_session_welcomed(const fc_session_t *self);
/* Heartbeats accepted since new; safe from any thread. */
uint64_t fc_session_heartbeats(const fc_session_t *self);
/* Fills the result's freshness fields (stale, last_fresh, stamps_*, heartbeats). */
void fc_session_fresh_status(const fc_session_t *self, fc_agent_result_t *out);

void fc_session_test(bool verbose);

#endif
