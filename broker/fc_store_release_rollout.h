/* fc_store_release_rollout.h: release rollouts in the broker's database: the plan a push
   registers, the waves offered, each offered agent's outcome, halts, and what a SYNC from an
   agent is answered with. */
#ifndef FC_STORE_RELEASE_ROLLOUT_H
#define FC_STORE_RELEASE_ROLLOUT_H

#include "fc_rollout.h"
#include "fc_store.h"

/* Tables rollout_plans, rollouts and rollout_agents, inside the store's open transaction. */
int fc_store_release_rollout_init(fc_store_t *self);

/* Agents heard within the last secs count as online: waves are drawn from them, and status
   counts the others offline. Default 30 s (three of an agent's 10-second reports). */
void fc_store_rollout_set_offline_after(fc_store_t *self, int64_t secs);
int64_t fc_store_rollout_offline_after(const fc_store_t *self);

/* ROLLOUT_PLAN: the rollout the release channel/serial starts with once committed (waves
   valid per fc_msg_waves_valid, FC_EINVAL otherwise). Replaces an earlier plan for the same
   release; FC_ESERIAL if that serial is committed already. */
int fc_store_rollout_plan(fc_store_t *self, const char *channel, uint64_t serial,
                          const uint32_t *waves, size_t nwaves, uint32_t halt_percent,
                          uint64_t wave_wait_ms, bool hold);

/* Inside RELEASE_COMMIT's transaction (fc_store.c), right after the release is stored:
   starts its planned rollout, if any, offering wave 1. prev is the channel's latest serial
   before it (0 if none). */
int fc_store_rollout_on_commit(fc_store_t *self, const char *channel, uint64_t serial,
                               const char *version, uint64_t prev);

/* SYNC from agent id: the signed manifest offered to it on channel (malloc'd, caller frees):
   the latest release if no rollout of it is under way or the agent is in a wave (a new agent
   joins the current wave if its rank falls within it), else the newest release it was offered
   before. FC_ENOTFOUND: nothing to offer (empty manifest). */
int fc_store_release_for_agent(fc_store_t *self, const char *channel, const char *id,
                               uint8_t **manifest, size_t *len);

/* REPORT from an agent: records what it says about the rollout it was offered. */
int fc_store_rollout_on_report(fc_store_t *self, const fc_agent_status_t *status);

/* REPORT of a member agent forwarded by a relay (it never syncs here): counts as served
   from its first report busy with or running the release, so its reports count then. */
int fc_store_rollout_on_relayed(fc_store_t *self, const fc_agent_status_t *status);

/* One step of the channel's rollout (fc_rollout_decide). *step says what was done; for
   FC_ROLLOUT_NEXT *info and *seq are the release to announce (a new wave is offered). text
   gets the halt reason. Audited ("release.halt", "release.wave", "release.done"). */
int fc_store_rollout_step(fc_store_t *self, const char *channel, fc_rollout_step_t *step,
                          fc_release_info_t *info, uint64_t *seq, char *text, size_t textsize);
/* Channels whose latest release has a rollout not HALTED or DONE: *channels is malloc'd
   (caller frees), n names of FC_MAX_NAME + 1 bytes each. */
int fc_store_rollout_active(fc_store_t *self, char (**channels)[FC_MAX_NAME + 1], size_t *n);

typedef enum { FC_ROLLOUT_PROMOTE, FC_ROLLOUT_PAUSE, FC_ROLLOUT_RESUME } fc_rollout_action_t;
/* promote (WAITING-PROMOTE: offers the next wave; *seq, *info to announce), pause, resume the
   rollout of channel's latest release. FC_ENOTFOUND: none; FC_EREFUSED: halted (text gives the
   reason); FC_EINVAL: not in a state the action applies to (text says). *serial: the
   rollout's. */
int fc_store_rollout_control(fc_store_t *self, const char *channel, fc_rollout_action_t action,
                             uint64_t *serial, fc_release_info_t *info, uint64_t *seq, char *text,
                             size_t textsize);

/* ROLLOUT_STATUS: each channel's latest release and its rollout (channel "" = every channel),
   at most max. *list malloc'd (caller frees). */
int fc_store_rollout_status(fc_store_t *self, const char *channel, size_t max,
                            fc_rollout_info_t **list, size_t *n);

/* A relay (docs/PROTOCOL.md 3.16, "Rollouts"): makes the rollout of the mirrored release
   up->channel/up->serial follow the upstream's (its ROLLOUT_STATUS_REPLY entry up): the
   upstream's cumulative percent is the relay's current wave (the relay's agents within the
   upstream's cut, up->cut, kept for this rollout; without one, an older upstream, drawn from
   the relay's own agents by rank), the rest a further wave only the upstream moves it to;
   its state, pause and halt are the upstream's (a halt's reason names upstream). A wider
   share is offered and takes an announcement number: *seq and *info are then the release
   to announce (else *seq 0). FC_ENOTFOUND: the relay holds no rollout of that release;
   FC_EPROTO: up is not a rollout (state "", a percent out of 1..100). */
int fc_store_rollout_follow(fc_store_t *self, const fc_rollout_info_t *up, const char *upstream,
                            fc_release_info_t *info, uint64_t *seq);

void fc_store_release_rollout_test(bool verbose);

#endif
