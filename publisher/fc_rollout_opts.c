/* fc_rollout_opts.c: release push's rollout options into a plan (fc_rollout_opts.h). */
#include "fc_rollout_opts.h"
#include "fc_error.h"
#include "fc_optval.h"

#include <stdio.h>
#include <string.h>

/* "5,25,100": each a percentage (fc_optval_percent), rising, the last 100. */
static int s_waves(const char *text, fc_push_plan_t *plan, char *msg, size_t msgsize)
{
    static const char what[] = "rising percentages ending at 100, e.g. 5,25,100";
    plan->nwaves = 0;
    const char *p = text;
    while (true) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char part[16];
        if (len >= sizeof part || plan->nwaves == FC_MAX_WAVES)
            return fc_optval_refuse("--waves", what, text, msg, msgsize);
        memcpy(part, p, len);
        part[len] = '\0';
        uint32_t v;
        if (fc_optval_percent("--waves", part, 1, 100, &v, msg, msgsize))
            return FC_EINVAL;
        if (plan->nwaves && v <= plan->waves[plan->nwaves - 1])
            return fc_optval_refuse("--waves", what, text, msg, msgsize);
        plan->waves[plan->nwaves++] = v;
        if (!comma)
            break;
        p = comma + 1;
    }
    if (plan->waves[plan->nwaves - 1] != 100)
        return fc_optval_refuse("--waves", what, text, msg, msgsize);
    return FC_OK;
}

int fc_rollout_opts_plan(const fc_rollout_opts_t *o, fc_push_plan_t *plan, char *msg,
                         size_t msgsize)
{
    memset(plan, 0, sizeof *plan);
    if (!o->waves && !o->canary) {
        if (o->halt_given || o->wave_wait_given) {
            snprintf(msg, msgsize, "%s applies to a rollout: give --waves or --canary too",
                     o->halt_given ? "--halt-percent" : "--wave-wait");
            return -1;
        }
        return 0;
    }
    if (o->waves && o->canary) {
        snprintf(msg, msgsize, "--waves and --canary are two kinds of rollout: give one");
        return -1;
    }
    if (o->waves && s_waves(o->waves, plan, msg, msgsize))
        return -1;
    if (o->canary) {
        if (o->canary >= 100) {
            snprintf(msg, msgsize,
                     "--canary needs a share below 100%%, not %u: the rest waits"
                     " for release promote",
                     o->canary);
            return -1;
        }
        plan->waves[0] = o->canary;
        plan->waves[1] = 100;
        plan->nwaves = 2;
        plan->hold = true;
    }
    plan->halt_percent = o->halt_given ? o->halt_percent : FC_ROLLOUT_HALT_DEFAULT;
    plan->wave_wait_ms = o->wave_wait_ms;
    return 1;
}
