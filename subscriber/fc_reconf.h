/* fc_reconf.h: the agent engine's runtime configuration (class fc_reconf, in fc_reconf.c and
   its private part fc_reconf_apply.c): follows config revisions (CONFIG_SYNC pages,
   CONFIG_ANNOUNCE), runs Changing/Changed or the restart path, persists and acks. Internal
   to libfleetcast: the engine (fc_agent.c) calls it from its session and loop; it reaches
   the engine only through the fc_reconf_host_t it is given, never the engine's struct. */
#ifndef FC_RECONF_H
#define FC_RECONF_H

#include "fc_ack.h"
#include "fc_agent.h"
#include "fc_agent_log.h"
#include "fc_agent_mode.h"
#include "fc_config.h"
#include "fc_msg.h"
#include "fc_requester.h"

#include <pthread.h>

#define FC_RECONF_JSON "config.json" /* effective config for the application, in the state dir */
#define FC_RECONF_REVS "config.revs" /* the signed revisions in force (fc_config_save) */
#define FC_RECONF_WHO "config.agent" /* "id group" the saved revisions were folded for */
#define FC_RECONF_PENDING "config.restart" /* a restart ran (revs, why): acked at next start */
#define FC_RECONF_HALTED "config.halted"   /* halted canary revisions, one number a line */
#define FC_RECONF_MAX_ACKS 64              /* acks waiting for their OK; the oldest go first */
#define FC_RECONF_MAX_BATCH                                                                        \
    32                          /* acks for one batch: its newest revisions (a late                \
                                   joiner does not ack the whole history) */
#define FC_RECONF_MAX_CANARY 64 /* canary revisions skipped, remembered for a promote */

/* What the engine lends reconf: callbacks that get ctx back (called on the engine's thread,
   from within reconf's methods), and settings borrowed for reconf's life. */
typedef struct {
    void *ctx;
    fc_agent_log_fn *log;               /* a log line (arg: ctx); NULL: none */
    fc_agent_mode_t (*mode)(void *ctx); /* the run's mode */
    bool (*welcomed)(void *ctx);        /* the broker welcomed this run */
    bool (*stopping)(void *ctx);        /* the run is asked to stop */
    void (*set_live)(void *ctx);        /* a reply came over the connection (--once's loop) */
    /* The engine's requester: config requests go through it with reconf's kinds as user
       pointers (the engine hands their replies to fc_reconf_on_reply). */
    fc_requester_t *req;
    /* The result the engine reports: config_rev, config_state and bytes_fetched are
       reconf's to update. */
    fc_agent_result_t *res;
    const char *id, *state_dir;
    const fc_trust_t *keys; /* the keys in force, rotated in place */
    bool verbose;
    double timeout;      /* --once: without progress (s) */
    double hook_timeout; /* 0: none */
} fc_reconf_host_t;

typedef struct fc_reconf_t {
    fc_reconf_host_t host;
    char *group, *changing, *changed, *restart;
    char *json_path, *revs_path, *who_path, *pending_path, *halted_path;
    bool who_saved; /* the who-file is known to match this run's id and group */
    fc_agent_changing_fn *changing_fn;
    void *changing_arg;
    fc_agent_changed_fn *changed_fn;
    void *changed_arg;

    /* cur is the config in force; only the engine thread replaces it, under lock, so getters
       on other threads see one or the other. held: verified revisions beyond cur that were
       not applied (failed, vetoed, restart-required): the base the next batch builds on, so they
       are not fetched and judged again until something newer comes. next: the batch being
       received, or waiting for a restart slot. */
    pthread_mutex_t lock;
    fc_config_t *cur, *held, *next;
    uint64_t batch[FC_RECONF_MAX_BATCH]; /* revisions of next that concern this agent */
    size_t nbatch;
    /* Canary revisions of our scope this agent is not a member of: acked when promoted. */
    uint64_t canary[FC_RECONF_MAX_CANARY];
    size_t ncanary;

    /* Sync: one CONFIG_SYNC at a time, one request per page (outstanding: the agent's
       requester knows). */
    bool sync_again; /* an announce came while a sync ran or a restart waited */
    bool sync_failed;
    double next_poll;
    uint64_t bad_rev; /* the last revision refused (complained about once) */

    /* Restart path: waiting for the broker to grant a slot for slot_rev. */
    bool slot_wait;
    uint64_t slot_rev;
    double slot_retry; /* RESTART_SLOT asked (again) then, unless one is outstanding */
    char restart_why[FC_MAX_TEXT + 1];

    double last_progress; /* --once: last useful answer */
    bool synced;          /* --once: a whole snapshot came and was judged (or refused) */
    bool once_error;      /* --once: the config part failed; once_msg says why */
    int once_err;         /* and its fc_error_t */
    char once_msg[FC_MAX_TEXT + 1];
    double last_log;    /* rate limit for repeated complaints */
    bool warned_behind; /* said that the broker's history is behind ours */
    bool halts_changed; /* this batch learnt of a halted canary whose values counted here */
} fc_reconf_t;

/* fc_reconf.c: lifecycle and session. */
/* Loads <state>/config.revs (if any) for this id and group (cfg borrowed for the call, host
   copied); may ack at once a restart an earlier run began. NULL only without memory. */
fc_reconf_t *fc_reconf_new(const fc_agent_config_t *cfg, const fc_reconf_host_t *host);
void fc_reconf_destroy(fc_reconf_t **self_p);
/* Asks for revisions newer than those judged (now, or after the running sync or restart). */
void fc_reconf_sync(fc_reconf_t *self, double now);
/* A CONFIG_ANNOUNCE from the SUB socket, not after a gap. in_order: its seq is the one
   after the last seen, so a revision it carries may be applied without a CONFIG_SYNC. */
void fc_reconf_on_announce(fc_reconf_t *self, const fc_msg_t *msg, bool in_order, double now);
/* Restart slot retries, periodic polls (re-sends are the requester's). */
void fc_reconf_timers(fc_reconf_t *self, double now);
/* --once: syncs, judges and applies the config, and waits briefly for the acks' OKs. */
void fc_reconf_run_once(fc_reconf_t *self);
/* Sends an ack (queued, re-sent until OK, at most a few times); ack is one an agent may
   send (FC_ACK_F_SENT). */
void fc_reconf_ack(fc_reconf_t *self, uint64_t rev, fc_ack_t ack, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Whether kind (a requester user pointer) is one of the config part's requests. */
bool fc_reconf_kind(const void *kind);
/* A reply (msg borrowed) to the request sent with kind: true if that was one of reconf's,
   then handled. */
bool fc_reconf_on_reply(fc_reconf_t *self, const void *kind, const fc_msg_t *msg, double now);
/* Forgets an outstanding RESTART_SLOT (a new wait for a slot begins). */
void fc_reconf_slot_forget(fc_reconf_t *self);

/* fc_reconf_apply.c: judging a complete batch. */
/* Diff cur against next: unchanged, Changing (veto?), restart path or Changed. */
void fc_reconf_judge(fc_reconf_t *self, double now);
/* At start: acks the restart a previous run began (its process was restarted with it). */
void fc_reconf_pending_load(fc_reconf_t *self);
/* The broker granted the restart slot: write the config, run --exec-restart, ack. */
void fc_reconf_restart(fc_reconf_t *self);
/* Replaces cur (under lock) with *cfg_p (taken), saves the revisions if save, and keeps the
   result's config_rev in step. */
void fc_reconf_set_cur(fc_reconf_t *self, fc_config_t **cfg_p, bool save);
/* Saves cfg's revisions (and the who-file) in the state dir: 0 or an fc_error_t (logged). */
int fc_reconf_save(fc_reconf_t *self, const fc_config_t *cfg);
/* Writes cfg to <state>/config.json atomically: 0 or an fc_error_t. */
int fc_reconf_write_json(fc_reconf_t *self, const fc_config_t *cfg);

/* For reconf's own files: the run's mode, whether events are logged (a daemon, or verbose),
   and a formatted log line. */
static inline fc_agent_mode_t fc_reconf_mode(const fc_reconf_t *self)
{
    return self->host.mode(self->host.ctx);
}
static inline bool fc_reconf_loud(const fc_reconf_t *self)
{
    return fc_reconf_mode(self) == FC_AGENT_DAEMON || self->host.verbose;
}
#define fc_reconf_log(self, ...) fc_agent_logf((self)->host.log, (self)->host.ctx, __VA_ARGS__)

void fc_reconf_test(bool verbose);

#endif
