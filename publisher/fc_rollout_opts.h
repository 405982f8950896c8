/* fc_rollout_opts.h: the rollout options of `release push` (--waves, --canary, --halt-percent,
   --wave-wait) made into one plan, refused with the option named when they do not fit. */
#ifndef FC_ROLLOUT_OPTS_H
#define FC_ROLLOUT_OPTS_H

#include "fc_push.h"

/* What the command line gave (NULL / 0: not given). */
typedef struct {
    const char *waves;     /* --waves "5,25,100" */
    uint32_t canary;       /* --canary PERCENT */
    uint32_t halt_percent; /* --halt-percent N, 0: default 20 */
    bool halt_given;
    uint64_t wave_wait_ms; /* --wave-wait SECS */
    bool wave_wait_given;
} fc_rollout_opts_t;

/* Default share of a wave's agents that may fail before the rollout halts. */
#define FC_ROLLOUT_HALT_DEFAULT 20

/* Fills *plan from o. Returns 1 when o asks for a rollout (plan filled), 0 when it does not
   (no --waves nor --canary; then --halt-percent and --wave-wait are refused too), or -1 with
   msg saying which option is wrong: --waves not 1..16 rising percentages ending at 100,
   --canary with --waves, or --canary 100. */
int fc_rollout_opts_plan(const fc_rollout_opts_t *o, fc_push_plan_t *plan, char *msg,
                         size_t msgsize);

#endif
