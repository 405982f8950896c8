/* fc_fleetsim.c: fleetcast-fleetsim's main: runs N agent engines (libfleetcast) in one process
   against a broker and measures the broker's idle cost, how fast a release and how fast a
   config revision reach all of them. */
#define _GNU_SOURCE
#include "fc_fleetsim.h"
#include "fc_agent.h"
#include "fc_client.h"
#include "fc_clock.h"
#include "fc_error.h"
#include "fc_hash.h"
#include "fc_key.h"
#include "fc_msg.h"

#include <czmq.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* Makes or loads the publisher key and the engines' trust list. */
static int s_keys(const fc_simopts_t *o, const char dir[1024], fc_signkey_t *key,
                  fc_trust_t **trust)
{
    int rc;
    if (o->key_file) {
        if ((rc = fc_signkey_load(key, o->key_file)) != 0) {
            fprintf(stderr, "fleetcast-fleetsim: cannot load key %s: %s\n", o->key_file,
                    fc_strerror(rc));
            return -1;
        }
    } else {
        char kdir[PATH_MAX];
        snprintf(kdir, sizeof kdir, "%s/keys", dir);
        fc_signkey_generate(key);
        if ((rc = fc_signkey_save(key, kdir)) != 0) {
            fprintf(stderr, "fleetcast-fleetsim: cannot save a key pair in %s: %s\n", kdir,
                    fc_strerror(rc));
            return -1;
        }
    }
    if (o->trust_file) {
        *trust = fc_trust_load(o->trust_file, &rc);
        if (!*trust) {
            fprintf(stderr, "fleetcast-fleetsim: cannot load trust file %s: %s\n", o->trust_file,
                    fc_strerror(rc));
            return -1;
        }
    } else {
        *trust = fc_trust_new();
        fc_trust_add(*trust, key->pk);
    }
    return 0;
}

/* The engines' dirs: dir/agents, or a new dir under --agents-dir. 0, or -1 (said; agents
   "" then). */
static int s_agents_dir(const fc_simopts_t *o, const char *dir, char agents[1024])
{
    int len = o->agents_dir ? snprintf(agents, 1024, "%s/fleetsim-agents.XXXXXX", o->agents_dir)
                            : snprintf(agents, 1024, "%s/agents", dir);
    if (len < 0 || len >= 1024) {
        fprintf(stderr, "fleetcast-fleetsim: --agents-dir too long\n");
    } else if (o->agents_dir && !mkdtemp(agents)) {
        fprintf(stderr, "fleetcast-fleetsim: cannot create a dir in %s: %s\n", o->agents_dir,
                strerror(errno));
    } else
        return 0;
    agents[0] = '\0';
    return -1;
}

int main(int argc, char **argv)
{
    fc_simopts_t o;
    int rc = fc_simopts_parse(argc, argv, &o);
    if (rc)
        return rc;
    /* Before any socket exists: raise the fd limit (the broker child inherits it too) and
       size the shared ZeroMQ context for N engines of about five sockets each. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (o.stack_kib) {
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, o.stack_kib * 1024);
        pthread_setattr_default_np(&attr);
        pthread_attr_destroy(&attr);
    }
    if (fc_crypto_init() != 0) {
        fprintf(stderr, "fleetcast-fleetsim: cannot initialise libsodium\n");
        return 1;
    }
    zsys_set_io_threads((size_t)o.io_threads);
    zsys_set_max_sockets(o.max_sockets); /* 0: as many as libzmq allows */
    zsys_init();
    fprintf(stderr, "fleetsim: fd limit %ld, zmq max sockets %zu, io threads %d\n",
            (long)rl.rlim_cur, (size_t)zmq_ctx_get(zsys_init(), ZMQ_MAX_SOCKETS), o.io_threads);
    /* Before the temp dir, the broker or any engine: a fleet that cannot fit is said now,
       not found out engine by engine (or by an abort inside CZMQ). */
    char limits[1024];
    if (fc_simengines_check(&o, limits, sizeof limits) != 0) {
        fprintf(stderr, "fleetcast-fleetsim: %s\n", limits);
        return 1;
    }

    /* Short enough that every path under it fits a PATH_MAX buffer. */
    char dir[1024];
    const char *tmp = getenv("TMPDIR");
    int len = snprintf(dir, sizeof dir, "%s/fleetsim.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (len < 0 || (size_t)len >= sizeof dir || !mkdtemp(dir)) {
        fprintf(stderr, "fleetcast-fleetsim: cannot create a temp dir: %s\n", strerror(errno));
        return 1;
    }
    fc_simreport_t *rp = calloc(1, sizeof *rp);
    fc_simagent_t *sims = calloc((size_t)o.agents, sizeof *sims);
    uint64_t *times = calloc((size_t)o.agents * (size_t)(o.rounds + 1), sizeof *times);
    double *all = malloc(sizeof *all * (size_t)o.agents * (size_t)o.rounds);
    fc_signkey_t key;
    fc_trust_t *trust = NULL;
    fc_simbroker_t broker = {0};
    fc_client_t *client = NULL;
    fc_curve_t *curve = NULL;
    char broker_key[PATH_MAX], cert[PATH_MAX], agent_key[PATH_MAX];
    int status = 1, n = 0;
    char msg[FC_MAX_TEXT + 256] = "";
    char agents[1024] = "";
    if (!rp || !sims || !times || !all || s_keys(&o, dir, &key, &trust) != 0 ||
        s_agents_dir(&o, dir, agents) != 0)
        goto done;
    fc_simfs_type(o.agents_dir ? agents : dir, rp->agents_fs, sizeof rp->agents_fs);
    fc_simfs_type(dir, rp->data_fs, sizeof rp->data_fs);
    fprintf(stderr, "fleetsim: engines' dirs in %s (%s), broker data in %s (%s)\n", agents,
            rp->agents_fs, dir, rp->data_fs);
    rp->requested = o.agents;
    for (int i = 0; i < o.agents; i++) {
        snprintf(sims[i].id, sizeof sims[i].id, "%s-%04d", o.prefix, i + 1);
        sims[i].t = times + (size_t)i * (size_t)(o.rounds + 1);
        sims[i].rounds = o.rounds;
    }
    const char *endpoint = o.nbrokers ? o.brokers[0] : NULL;
    if (o.start_broker) {
        char bin[PATH_MAX];
        if (o.broker_bin)
            snprintf(bin, sizeof bin, "%s", o.broker_bin);
        else if (fc_sim_find("../broker/fleetcast-broker", bin, sizeof bin) != 0) {
            fprintf(stderr,
                    "fleetcast-fleetsim: no fleetcast-broker at %s (give --broker-bin PATH)\n",
                    bin);
            goto done;
        }
        if (!o.insecure &&
            fc_simbroker_keys(dir, broker_key, cert, agent_key, msg, sizeof msg) == 0) {
            o.broker_key = broker_key;
            o.cert = cert;
            o.agent_key = agent_key;
        } else if (!o.insecure) {
            fprintf(stderr, "fleetcast-fleetsim: %s\n", msg);
            goto done;
        }
        if (fc_simbroker_start(&broker, bin, dir, o.insecure, msg, sizeof msg) != 0) {
            fprintf(stderr, "fleetcast-fleetsim: %s\n", msg);
            goto done;
        }
        endpoint = broker.service;
        fprintf(stderr, "fleetsim: broker pid %d on %s\n", (int)broker.pid, broker.service);
    }
    /* Made before the engines start, so it costs nothing in the measured part. */
    if (o.release_mib && fc_simload_prepare(&o, dir, agents, msg, sizeof msg) != 0) {
        fprintf(stderr, "fleetcast-fleetsim: %s\n", msg);
        goto done;
    }
    pid_t watched = broker.pid ? broker.pid : o.broker_pid; /* whose CPU and RSS are read */
    int err = 0;
    if (!o.insecure &&
        !(curve = fc_curve_new_client(o.cert, o.broker_key, &err, msg, sizeof msg))) {
        fprintf(stderr, "fleetcast-fleetsim: %s\n", msg);
        goto done;
    }
    /* Publishing goes to the root when the engines are behind relays. */
    const char *publish = o.publish ? o.publish : endpoint;
    client = fc_client_new(publish, 2000, curve, &err);
    if (!client) {
        fprintf(stderr, "fleetcast-fleetsim: bad broker endpoint '%s'\n", publish);
        goto done;
    }
    /* A revision to sync to before the rounds, so every engine starts from the same one. */
    uint64_t base = 0, t0, ack;
    if (!o.follow &&
        fc_simconfig_publish(&*client, &key, 0, &base, &t0, &ack, msg, sizeof msg) != 0) {
        fprintf(stderr, "fleetcast-fleetsim: initial revision: %s\n", msg);
        goto done;
    }
    double start = fc_now();
    n = fc_simengines_start(&o, sims, agents, endpoint, trust, msg, sizeof msg, &rp->fds_per,
                            &rp->threads_per);
    rp->started = n;
    if (n < o.agents) {
        fprintf(stderr, "fleetcast-fleetsim: could create only %d of %d engines: %s\n", n, o.agents,
                msg);
        goto done;
    }
    fprintf(stderr, "fleetsim: %d engines started in %.1f s; waiting for rev %llu\n", n,
            fc_now() - start, (unsigned long long)base);
    int ready = fc_simengines_wait_ready(sims, n, base, start, o.sync_timeout, &rp->synced,
                                         &rp->heard, &rp->sync_seconds);
    rp->ready_seconds = fc_now() - start;
    fc_procstat_t ps;
    fc_procstat_read(0, &ps);
    rp->threads_total = ps.threads;
    rp->fds_total = fc_procstat_fds();
    if (ready < n) {
        fprintf(stderr,
                "fleetcast-fleetsim: in %.0f s, only %d of %d engines synced rev %llu and "
                "heard a heartbeat (%d synced, %d heard one)\n",
                o.sync_timeout, ready, n, (unsigned long long)base, rp->synced, rp->heard);
        goto done;
    }
    fprintf(stderr, "fleetsim: all %d synced in %.1f s, and heard a heartbeat by %.1f s\n", n,
            rp->sync_seconds, rp->ready_seconds);
    status = 0;
    if (o.follow) {
        status = fc_simfollow_run(&o, agents, sims, n, rp);
        goto report;
    }
    if (o.idle) {
        fprintf(stderr, "fleetsim: measuring the idle cost over %.0f s\n", o.idle);
        if (fc_simload_idle(watched, 3, o.idle, &zsys_interrupted, &rp->idle) == 0)
            rp->idle_run = true;
        else
            status = 1;
    }
    if (o.revoke && !zsys_interrupted) {
        fprintf(stderr, "fleetsim: revoking a key: the broker re-binds its announce socket\n");
        int rc = fc_simrevoke_run(dir, broker.pid, sims, n, &zsys_interrupted, &rp->revoke);
        rp->revoke_run = rc >= 0;
        if (rc != 0)
            status = 1;
    }
    if (o.release_mib && !zsys_interrupted) {
        if (fc_simload_release(&o, dir, agents, publish, watched, sims, n, rp) != 0 ||
            rp->release.converged < n)
            status = 1;
    }
    if (watched) {
        fc_procstat_read(watched, &rp->broker_bench0);
        rp->broker_stats = true;
    }
    int nall = 0;
    for (int r = 1; r <= o.rounds && !zsys_interrupted; r++) {
        if (fc_simconfig_round(&o, client, &key, sims, n, r, &rp->rounds[r], all, &nall) != 0) {
            status = 1;
            break;
        }
        rp->rounds_run = r;
        if (rp->rounds[r].converged < n)
            status = 1;
        char name[24];
        snprintf(name, sizeof name, "round %d", r);
        fc_simreport_round(stderr, name, &rp->rounds[r], n);
        if (rp->rounds[r].acked < n && !o.publish)
            status = 1;
    }
    fc_simstats(all, nall, &rp->overall);
report:
    if (o.times && fc_simfollow_write_times(&o, sims, n, rp) != 0)
        status = 1;
    if (watched)
        fc_procstat_read(watched, &rp->broker_end);
    fc_procstat_read(0, &rp->sim);
    /* Stopped before the report, so their counters can be read. */
    for (int i = 0; i < n; i++)
        fc_agent_stop(sims[i].agent);
    for (int i = 0; i < n; i++) {
        fc_agent_join(sims[i].agent);
        fc_agent_result_t res;
        fc_agent_status(sims[i].agent, &res);
        rp->retried += res.requests_retried;
        rp->disconnects += res.disconnects;
    }
    fc_simreport_print(&o, rp);
done:
    /* Stop every engine first, so they wind down together, then free them. */
    for (int i = 0; i < n; i++)
        fc_agent_stop(sims[i].agent);
    for (int i = 0; i < n; i++)
        fc_agent_destroy(&sims[i].agent);
    fc_client_destroy(&client);
    fc_curve_destroy(&curve);
    fc_simbroker_stop(&broker);
    fc_trust_destroy(&trust);
    fc_signkey_wipe(&key);
    if (o.keep)
        fprintf(stderr, "fleetsim: kept %s%s%s\n", dir, o.agents_dir && *agents ? " and " : "",
                o.agents_dir ? agents : "");
    else {
        fc_rmtree(dir);
        if (o.agents_dir && *agents)
            fc_rmtree(agents);
    }
    free(all);
    free(times);
    free(sims);
    free(rp);
    return status;
}
