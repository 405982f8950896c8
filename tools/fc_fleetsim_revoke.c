/* fc_fleetsim_revoke.c: the revocation benchmark: what one revoked key costs a connected
   fleet, now that the broker re-binds its announce socket to cut the key's subscription. */
#include "fc_curve.h"
#include "fc_fleetsim.h"

#include <czmq.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The broker's log line for a re-bind (fc_broker.c). */
#define S_REBIND_LINE "re-binding the announce socket"

/* Whether the broker's log, from offset on, has the re-bind line. */
static bool s_logged_rebind(const char *log, long offset)
{
    FILE *f = fopen(log, "r");
    if (!f)
        return false;
    bool found = false;
    char line[1024];
    if (fseek(f, offset, SEEK_SET) == 0)
        while (!found && fgets(line, sizeof line, f))
            found = strstr(line, S_REBIND_LINE) != NULL;
    fclose(f);
    return found;
}

static long s_size(const char *path)
{
    FILE *f = fopen(path, "r");
    long size = 0;
    if (f && fseek(f, 0, SEEK_END) == 0)
        size = ftell(f);
    if (f)
        fclose(f);
    return size < 0 ? 0 : size;
}

int fc_simrevoke_run(const char *dir, pid_t broker, fc_simagent_t *sims, int n,
                     const volatile int *interrupted, fc_simrevoke_t *out)
{
    memset(out, 0, sizeof *out);
    char cert[PATH_MAX], enrolled[PATH_MAX], log[PATH_MAX], z85[FC_CURVE_Z85_LEN + 1];
    snprintf(cert, sizeof cert, "%s/revoked.cert", dir);
    snprintf(enrolled, sizeof enrolled, "%s/broker/keys/agents/fleetsim-revoked.cert", dir);
    snprintf(log, sizeof log, "%s/broker.log", dir);
    uint64_t *before = calloc((size_t)n, sizeof *before);
    if (!before || fc_curve_generate(cert, false, z85) != 0 ||
        fc_curve_save_public(z85, enrolled) != 0) {
        fprintf(stderr, "fleetcast-fleetsim: cannot make and enrol a key to revoke in %s\n", dir);
        free(before);
        return -1;
    }
    /* The broker's keyring looks once a second and re-reads a directory changed in the last
       two seconds again: let the enrolment settle, so the revocation is the only change. */
    zclock_sleep(3500);
    long offset = s_size(log);
    fc_procstat_t p0, p1;
    fc_procstat_read(broker, &p0);
    uint64_t t0 = fc_sim_now_ns();
    if (unlink(enrolled) != 0) {
        free(before);
        return -1;
    }
    /* The re-bind: the broker logs it (within about two seconds: one keyring look, one
       heartbeat). */
    while (!*interrupted && !s_logged_rebind(log, offset) && fc_sim_now_ns() - t0 < 10000000000ULL)
        zclock_sleep(5);
    uint64_t t_rebind = fc_sim_now_ns();
    if (!s_logged_rebind(log, offset)) {
        fprintf(stderr,
                "fleetcast-fleetsim: the broker did not re-bind within 10 s of the"
                " revocation (see %s)\n",
                log);
        free(before);
        return -1;
    }
    out->rebind_seconds = (double)(t_rebind - t0) / 1e9;
    /* Back: each engine has heard a heartbeat sent after the re-bind, so its SUB connected
       again through ZAP. The heartbeat sent right after the re-bind finds no subscriber, so
       this moves in steps of the heartbeat interval. */
    for (int i = 0; i < n; i++)
        before[i] = fc_agent_heartbeats(sims[i].agent);
    int back = 0;
    while (!*interrupted && back < n && fc_sim_now_ns() - t_rebind < 60000000000ULL) {
        zclock_sleep(10);
        back = 0;
        for (int i = 0; i < n; i++)
            back += fc_agent_heartbeats(sims[i].agent) > before[i];
    }
    uint64_t t_back = fc_sim_now_ns();
    fc_procstat_read(broker, &p1);
    out->back = back;
    out->back_seconds = (double)(t_back - t_rebind) / 1e9;
    out->broker_cpu_seconds = p1.cpu_seconds - p0.cpu_seconds;
    out->wall_seconds = (double)(t_back - t0) / 1e9;
    free(before);
    return back == n ? 0 : 1;
}
