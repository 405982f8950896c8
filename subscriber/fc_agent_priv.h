/* fc_agent_priv.h: the agent engine's insides, shared by fc_agent.c (session, sockets, loop)
   and fc_agent_release.c (what to do with a release: judge, fetch, install). Not public. */
#ifndef FC_AGENT_PRIV_H
#define FC_AGENT_PRIV_H

#include "fc_agent.h"
#include "fc_fetch.h"
#include "fc_install.h"
#include "fc_manifest.h"
#include <czmq.h>
#include <signal.h>

#define FC_AGENT_NOSPC_RETRY 5.0 /* disk full: try writing again after (s) */
/* Chunks of one fetch that may fail their hash before the broker's copy is called corrupt
   (a chunk is asked for again after each: a transient fault heals, a damaged blob does not) */
#define FC_AGENT_MAX_HASH_ERRORS 3
#define FC_AGENT_DEFAULT_WINDOW (4u * 1024u * 1024u)

typedef enum { FC_AGENT_DAEMON, FC_AGENT_ONCE, FC_AGENT_CHECK } fc_agent_mode_t;

struct fc_agent_t {
    /* Configuration, copied. */
    char *broker, *channel, *install_dir, *state_dir, *id;
    char *changing, *changed, *health;
    fc_agent_policy_t policy;
    uint64_t window;
    double timeout, retry_interval;
    bool verbose;
    fc_agent_log_fn *log;
    void *log_arg;
    fc_trust_t *own_trust;
    const fc_trust_t *trust;
    fc_install_t *inst;

    /* Sockets: service DEALER (watched by a monitor) and announce SUB. */
    zsock_t *dealer;
    zactor_t *monitor;
    zsock_t *sub;
    char sub_endpoint[FC_MAX_ENDPOINT + 1];
    bool connected;     /* the monitor's last word, or a send went through */
    bool live;          /* a reply came over the current connection */
    bool flush_pending; /* outstanding requests wait for a connection to take them */
    bool lost_logged;   /* a loss was logged; the resume will be too */

    /* Session. Control request ids have FC_FETCH_CTL_BIT set; chunk requests do not. */
    uint64_t ctl_next;
    uint64_t hello_req, sync_req, report_req;
    double hello_sent, sync_sent;
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
    double last_report;
    fc_agent_mode_t mode;
    bool finished;
    double started;
    uint64_t retried_base, hash_base; /* counters of fetchers already gone */
    fc_agent_result_t res;
    volatile sig_atomic_t stop;
    struct fc_reconf_t *reconf; /* runtime configuration (fc_reconf.h) */
};

/* fc_agent.c */
void fc_agent_log(fc_agent_t *self, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Sets state and message; a change makes a REPORT due (and is logged by a daemon). */
void fc_agent_set_state(fc_agent_t *self, const char *state, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Ends a one-shot run with this exit code and error; a daemon only records the error. */
void fc_agent_finish(fc_agent_t *self, int exit_code, int error);
/* Sends a REPORT now (best effort); 0 if it went out. */
int fc_agent_report(fc_agent_t *self, double now);
/* Bytes staged and total of the stage, as sizes. */
void fc_agent_progress(fc_agent_t *self, char *have, char *total, size_t size);

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
