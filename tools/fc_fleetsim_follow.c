/* fc_fleetsim_follow.c: one simulated fleet over several fleetsim processes: a follower's
   wait for what the leader publishes, and the times file a script merges them with. */
#define _GNU_SOURCE
#include "fc_clock.h"
#include "fc_fleetsim.h"

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* True once every engine's changed callback saw the last round. */
static bool s_rounds_seen(const fc_simagent_t *sims, int n, int rounds)
{
    for (int i = 0; i < n; i++)
        if (__atomic_load_n(&sims[i].t[rounds], __ATOMIC_ACQUIRE) == 0)
            return false;
    return true;
}

int fc_simfollow_run(const fc_simopts_t *o, const char *agents, fc_simagent_t *sims, int n,
                     fc_simreport_t *rp)
{
    int status = 0;
    if (o->release_mib) {
        char **current = calloc((size_t)n, sizeof *current);
        double *at = calloc((size_t)n, sizeof *at);
        double *v = malloc(sizeof *v * (size_t)(n ? n : 1));
        int done = 0, k = 0;
        bool ok = current && at && v;
        for (int i = 0; ok && i < n; i++)
            if (asprintf(&current[i], "%s/%s/install/current", agents, sims[i].id) < 0) {
                current[i] = NULL;
                ok = false;
            }
        /* The leader pushes when it is ready: the time counted here starts before that, so
           only the absolute time of the last install (release_last_ns) is compared. */
        uint64_t t0 = fc_sim_now_ns();
        if (ok)
            done = fc_simload_wait_installed(current, n, o->release_version, (double)t0 / 1e9,
                                             o->release_timeout, &zsys_interrupted, at);
        for (int i = 0; ok && i < n; i++)
            if (at[i] >= 0)
                v[k++] = at[i];
        fc_simstats(v, k, &rp->release);
        rp->release_run = ok;
        if (k > 0)
            rp->release_last_ns = t0 + (uint64_t)(rp->release.max * 1e9);
        fprintf(stderr, "fleetsim: follower: %d/%d installed %s\n", done, n, o->release_version);
        if (!ok || done < n)
            status = 1;
        for (int i = 0; current && i < n; i++)
            free(current[i]);
        free(current);
        free(at);
        free(v);
    }
    if (o->rounds > 0) {
        double deadline = fc_now() + o->round_timeout * (o->rounds + 1);
        while (!zsys_interrupted && fc_now() < deadline && !s_rounds_seen(sims, n, o->rounds))
            zclock_sleep(20);
        bool all = s_rounds_seen(sims, n, o->rounds);
        fprintf(stderr, "fleetsim: follower: %s engines saw round %d\n", all ? "all" : "not all",
                o->rounds);
        if (!all)
            status = 1;
    }
    return status;
}

int fc_simfollow_write_times(const fc_simopts_t *o, const fc_simagent_t *sims, int n,
                             const fc_simreport_t *rp)
{
    FILE *f = fopen(o->times, "w");
    if (!f) {
        fprintf(stderr, "fleetcast-fleetsim: cannot write %s\n", o->times);
        return -1;
    }
    if (rp->push_end_ns)
        fprintf(f, "push %llu\n", (unsigned long long)rp->push_end_ns);
    if (rp->release_last_ns)
        fprintf(f, "last %llu\n", (unsigned long long)rp->release_last_ns);
    if (rp->release_run)
        fprintf(f, "installed %d\n", rp->release.converged);
    for (int r = 1; r <= rp->rounds_run; r++)
        fprintf(f, "t0 %d %llu\n", r, (unsigned long long)rp->rounds[r].t0_ns);
    for (int i = 0; i < n; i++)
        for (int r = 1; r <= o->rounds; r++) {
            uint64_t t = __atomic_load_n(&sims[i].t[r], __ATOMIC_ACQUIRE);
            if (t)
                fprintf(f, "t %d %llu\n", r, (unsigned long long)t);
        }
    int rc = fclose(f) == 0 ? 0 : -1;
    if (rc)
        fprintf(stderr, "fleetcast-fleetsim: cannot write %s\n", o->times);
    return rc;
}
