/* fc_reconf.h: the agent engine's runtime configuration: follows config revisions (CONFIG_SYNC
   pages, CONFIG_ANNOUNCE), runs Changing/Changed or the restart path, persists and acks.
   Internal to libfleetcast: fc_agent.c calls these hooks from its session and loop, and
   reconf reaches the engine only through fc_agent_host.h (not its struct). */
#ifndef FC_RECONF_H
#define FC_RECONF_H

#include "fc_ack.h"
#include "fc_agent_host.h"
#include "fc_config.h"
#include "fc_msg.h"

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

typedef struct fc_reconf_t {
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
/* Loads <state>/config.revs (if any) for this id and group; NULL only without memory. */
fc_reconf_t *fc_reconf_new(fc_agent_t *agent, const fc_agent_config_t *cfg);
void fc_reconf_destroy(fc_reconf_t **self_p);
/* Asks for revisions newer than those judged (now, or after the running sync or restart). */
void fc_reconf_sync(fc_agent_t *agent, double now);
/* A CONFIG_ANNOUNCE from the SUB socket, not after a gap. in_order: its seq is the one
   after the last seen, so a revision it carries may be applied without a CONFIG_SYNC. */
void fc_reconf_on_announce(fc_agent_t *agent, const fc_msg_t *msg, bool in_order, double now);
/* Restart slot retries, periodic polls (re-sends are the requester's). */
void fc_reconf_timers(fc_agent_t *agent, double now);
/* --once: syncs, judges and applies the config, and waits briefly for the acks' OKs. */
void fc_reconf_run_once(fc_agent_t *agent);
/* Sends an ack (queued, re-sent until OK, at most a few times); ack is one an agent may
   send (FC_ACK_F_SENT). */
void fc_reconf_ack(fc_agent_t *agent, uint64_t rev, fc_ack_t ack, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Whether kind (a requester user pointer) is one of the config part's requests. */
bool fc_reconf_kind(const void *kind);
/* Forgets an outstanding RESTART_SLOT (a new wait for a slot begins). */
void fc_reconf_slot_forget(fc_agent_t *agent);

/* fc_reconf_apply.c: judging a complete batch. */
/* Diff cur against next: unchanged, Changing (veto?), restart path or Changed. */
void fc_reconf_judge(fc_agent_t *agent, double now);
/* At start: acks the restart a previous run began (its process was restarted with it). */
void fc_reconf_pending_load(fc_agent_t *agent);
/* The broker granted the restart slot: write the config, run --exec-restart, ack. */
void fc_reconf_restart(fc_agent_t *agent);
/* Replaces cur (under lock) with *cfg_p (taken), saves the revisions if save, and keeps the
   result's config_rev in step. */
void fc_reconf_set_cur(fc_agent_t *agent, fc_config_t **cfg_p, bool save);
/* Saves cfg's revisions (and the who-file) in the state dir: 0 or an fc_error_t (logged). */
int fc_reconf_save(fc_agent_t *agent, const fc_config_t *cfg);
/* Writes cfg to <state>/config.json atomically: 0 or an fc_error_t. */
int fc_reconf_write_json(fc_agent_t *agent, const fc_config_t *cfg);

void fc_reconf_test(bool verbose);

#endif
