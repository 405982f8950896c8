/* fc_fleetsim_report.c: fleetcast-fleetsim's measurements: the clock, percentiles, and the
   summary printed at the end (text or JSON). */
#define _GNU_SOURCE
#include "fc_fleetsim.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

uint64_t fc_sim_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int s_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted v[0..n). */
static double s_pct(const double *v, int n, double p)
{
    if (n == 0)
        return 0;
    int k = (int)((p / 100.0) * n + 0.999999);
    if (k < 1)
        k = 1;
    return v[(k > n ? n : k) - 1];
}

void fc_simstats(double *v, int n, fc_simround_t *r)
{
    qsort(v, (size_t)n, sizeof *v, s_cmp);
    r->converged = n;
    r->p50 = s_pct(v, n, 50);
    r->p99 = s_pct(v, n, 99);
    r->max = n ? v[n - 1] : 0;
}

void fc_simreport_round(FILE *out, const char *name, const fc_simround_t *r, int n)
{
    fprintf(out, "%-8s converged %5d/%-5d  p50 %8.1f ms  p99 %8.1f ms  max %8.1f ms", name,
            r->converged, n, r->p50, r->p99, r->max);
    if (r->rev && r->acked < 0)
        fprintf(out, "  (rev %llu, push ack %.1f ms, acks not counted: they stay at relays)",
                (unsigned long long)r->rev, r->ack_ms);
    else if (r->rev)
        fprintf(out, "  (rev %llu, push ack %.1f ms, broker has %d acks at %.0f ms)",
                (unsigned long long)r->rev, r->ack_ms, r->acked, r->acked_ms);
    fprintf(out, "\n");
}

static void s_json_round(FILE *out, const fc_simround_t *r)
{
    fprintf(out,
            "{\"round\":%d,\"rev\":%llu,\"converged\":%d,\"p50_ms\":%.3f,\"p99_ms\":%.3f,"
            "\"max_ms\":%.3f,\"push_ack_ms\":%.3f,\"acked\":%d,\"all_acked_ms\":%.1f}",
            r->round, (unsigned long long)r->rev, r->converged, r->p50, r->p99, r->max, r->ack_ms,
            r->acked, r->acked_ms);
}

static void s_json_load(const fc_simopts_t *o, const fc_simreport_t *rp)
{
    if (rp->idle_run)
        printf(
            ",\"idle\":{\"seconds\":%.1f,\"broker_cpu_seconds\":%.3f,\"broker_cpu_percent\":%.2f,"
            "\"sim_cpu_percent\":%.1f,\"broker_rss_kib\":%llu}",
            rp->idle.seconds, rp->idle.broker_cpu_seconds, rp->idle.broker_percent,
            rp->idle.sim_percent, (unsigned long long)rp->idle.broker_rss_kib);
    if (rp->revoke_run)
        printf(",\"revoke\":{\"rebind_seconds\":%.3f,\"back\":%d,\"back_seconds\":%.3f,"
               "\"wall_seconds\":%.3f,\"broker_cpu_seconds\":%.3f}",
               rp->revoke.rebind_seconds, rp->revoke.back, rp->revoke.back_seconds,
               rp->revoke.wall_seconds, rp->revoke.broker_cpu_seconds);
    if (rp->release_run)
        printf(",\"release\":{\"mib\":%d,\"discard\":%s,\"push_seconds\":%.3f,\"installed\":%d,"
               "\"converged_seconds\":%.3f,\"p50_s\":%.3f,\"p99_s\":%.3f,\"max_s\":%.3f,"
               "\"broker_cpu_seconds\":%.2f,\"broker_peak_rss_kib\":%llu,"
               "\"sim_cpu_seconds\":%.2f,\"requests_retried\":%llu,\"disconnects\":%llu}",
               o->release_mib, o->discard ? "true" : "false", rp->push_seconds,
               rp->release.converged, rp->release_seconds, rp->release.p50, rp->release.p99,
               rp->release.max, rp->release_broker_cpu,
               (unsigned long long)rp->release_broker_hwm_kib, rp->release_sim_cpu,
               (unsigned long long)rp->retried, (unsigned long long)rp->disconnects);
}

static void s_print_load(FILE *out, const fc_simopts_t *o, const fc_simreport_t *rp)
{
    if (rp->idle_run)
        fprintf(out,
                "idle:    %d engines connected, %.1f s: broker cpu %.3f s = %.2f %% of one core "
                "(rss %llu KiB); engines %.1f %%\n",
                rp->started, rp->idle.seconds, rp->idle.broker_cpu_seconds, rp->idle.broker_percent,
                (unsigned long long)rp->idle.broker_rss_kib, rp->idle.sim_percent);
    if (rp->revoke_run)
        fprintf(out,
                "revoke:  re-bind %.2f s after the revocation; %d/%d engines heard a heartbeat "
                "again %.2f s after the re-bind; broker cpu %.3f s over those %.2f s\n",
                rp->revoke.rebind_seconds, rp->revoke.back, rp->started, rp->revoke.back_seconds,
                rp->revoke.broker_cpu_seconds, rp->revoke.wall_seconds);
    if (rp->release_run)
        fprintf(out,
                "release: %d MiB%s, push %.2f s; installed %d/%d, all %.2f s after the push "
                "(p50 %.2f s, p99 %.2f s, max %.2f s); broker cpu %.2f s, peak rss %llu KiB; "
                "engines cpu %.2f s, %llu requests re-sent, %llu disconnects\n",
                o->release_mib, o->discard ? " (--discard: verified, not written)" : "",
                rp->push_seconds, rp->release.converged, rp->started, rp->release_seconds,
                rp->release.p50, rp->release.p99, rp->release.max, rp->release_broker_cpu,
                (unsigned long long)rp->release_broker_hwm_kib, rp->release_sim_cpu,
                (unsigned long long)rp->retried, (unsigned long long)rp->disconnects);
}

void fc_simreport_print(const fc_simopts_t *o, const fc_simreport_t *rp)
{
    if (o->json) {
        printf("{\"agents\":%d,\"started\":%d,\"synced\":%d,\"sync_seconds\":%.3f,"
               "\"heard\":%d,\"ready_seconds\":%.3f,\"agents_fs\":\"%s\",\"data_fs\":\"%s\","
               "\"threads_per_engine\":%d,\"fds_per_engine\":%d,\"threads_total\":%d,"
               "\"fds_total\":%d,\"rounds\":[",
               rp->requested, rp->started, rp->synced, rp->sync_seconds, rp->heard,
               rp->ready_seconds, rp->agents_fs, rp->data_fs, rp->threads_per, rp->fds_per,
               rp->threads_total, rp->fds_total);
        for (int i = 1; i <= rp->rounds_run; i++) {
            s_json_round(stdout, &rp->rounds[i]);
            printf(i < rp->rounds_run ? "," : "");
        }
        printf("],\"overall\":");
        s_json_round(stdout, &rp->overall);
        s_json_load(o, rp);
        printf(",\"sim\":{\"cpu_seconds\":%.2f,\"peak_rss_kib\":%llu}", rp->sim.cpu_seconds,
               (unsigned long long)rp->sim.peak_rss_kib);
        if (rp->broker_stats)
            printf(",\"broker\":{\"cpu_seconds\":%.2f,\"cpu_seconds_rounds\":%.2f,"
                   "\"peak_rss_kib\":%llu,\"threads\":%d}",
                   rp->broker_end.cpu_seconds,
                   rp->broker_end.cpu_seconds - rp->broker_bench0.cpu_seconds,
                   (unsigned long long)rp->broker_end.peak_rss_kib, rp->broker_end.threads);
        printf("}\n");
        return;
    }
    printf("fleetsim: %d/%d engines started, %d synced in %.1f s, %d heard a heartbeat by %.1f "
           "s; per engine %d threads, %d fds (process: %d threads, %d fds)\n",
           rp->started, rp->requested, rp->synced, rp->sync_seconds, rp->heard, rp->ready_seconds,
           rp->threads_per, rp->fds_per, rp->threads_total, rp->fds_total);
    for (int i = 1; i <= rp->rounds_run; i++) {
        char name[24];
        snprintf(name, sizeof name, "round %d", i);
        fc_simreport_round(stdout, name, &rp->rounds[i], rp->started);
    }
    if (rp->rounds_run)
        fc_simreport_round(stdout, "overall", &rp->overall, rp->started * rp->rounds_run);
    s_print_load(stdout, o, rp);
    printf("simulator: cpu %.2f s, peak rss %llu KiB\n", rp->sim.cpu_seconds,
           (unsigned long long)rp->sim.peak_rss_kib);
    if (rp->broker_stats)
        printf("broker: cpu %.2f s total (%.2f s during the rounds), peak rss %llu KiB, %d "
               "threads\n",
               rp->broker_end.cpu_seconds,
               rp->broker_end.cpu_seconds - rp->broker_bench0.cpu_seconds,
               (unsigned long long)rp->broker_end.peak_rss_kib, rp->broker_end.threads);
}
