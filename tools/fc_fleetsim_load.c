/* fc_fleetsim_load.c: fleetcast-fleetsim's release benchmark (a random payload, a push through
   the fleetcast CLI, watching every engine's `current` link) and its idle-cost reading. */
#define _GNU_SOURCE
#include "fc_file.h"
#include "fc_fleetsim.h"

#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void s_sleep(double seconds)
{
    struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

uint64_t fc_simload_free_bytes(const char *dir)
{
    struct statvfs st;
    if (statvfs(dir, &st) != 0)
        return 0;
    return (uint64_t)st.f_bavail * (uint64_t)st.f_frsize;
}

/* Whether path's file system has need bytes free, with a 1/16 margin; msg says what if not. */
static bool s_room(const char *path, uint64_t need, const char *what, char *msg, size_t msgsize)
{
    uint64_t free_bytes = fc_simload_free_bytes(path);
    if (free_bytes >= need + (need >> 4))
        return true;
    snprintf(msg, msgsize,
             "%s need about %llu MiB in %s, which has %llu MiB free: use --discard (verify, do "
             "not keep)",
             what, (unsigned long long)(need >> 20), path, (unsigned long long)(free_bytes >> 20));
    return false;
}

int fc_simload_prepare(const fc_simopts_t *o, const char *dir, const char *agents, char *msg,
                       size_t msgsize)
{
    uint64_t mib = (uint64_t)o->release_mib << 20;
    if (!o->discard) {
        /* Every engine's tree where the engines' dirs are; the payload and the broker's
           store in dir. */
        char what[96];
        snprintf(what, sizeof what, "%d engines x %d MiB", o->agents, o->release_mib);
        const char *where = o->agents_dir ? agents : dir; /* dir/agents does not exist yet */
        uint64_t trees = mib * (uint64_t)o->agents, data = mib * 2;
        struct stat sa, sd;
        bool shared = stat(where, &sa) != 0 || stat(dir, &sd) != 0 || sa.st_dev == sd.st_dev;
        if (!s_room(where, shared ? trees + data : trees, what, msg, msgsize))
            return -1;
        if (!shared && !s_room(dir, data, "the payload and the broker's copy", msg, msgsize))
            return -1;
    }
    char payload[PATH_MAX];
    snprintf(payload, sizeof payload, "%s/payload", dir);
    if (fc_mkdirs(payload, 0755) != 0) {
        snprintf(msg, msgsize, "cannot create %s: %s", payload, strerror(errno));
        return -1;
    }
    snprintf(payload, sizeof payload, "%s/payload/file.bin", dir);
    return fc_simload_make_payload(payload, o->release_mib, msg, msgsize);
}

int fc_simload_make_payload(const char *path, int mib, char *msg, size_t msgsize)
{
    int in = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    int out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    char *buf = malloc(1 << 20);
    int rc = in < 0 || out < 0 || !buf ? -1 : 0;
    for (int i = 0; i < mib && rc == 0; i++) {
        size_t have = 0;
        while (have < (1u << 20) && rc == 0) {
            ssize_t r = read(in, buf + have, (1u << 20) - have);
            rc = r > 0 ? 0 : -1;
            have += r > 0 ? (size_t)r : 0;
        }
        if (rc == 0 && write(out, buf, 1u << 20) != (ssize_t)(1u << 20))
            rc = -1;
    }
    if (rc != 0)
        snprintf(msg, msgsize, "cannot write %d MiB of random bytes to %s: %s", mib, path,
                 strerror(errno));
    free(buf);
    if (in >= 0)
        close(in);
    if (out >= 0 && close(out) != 0 && rc == 0) {
        snprintf(msg, msgsize, "cannot write %s: %s", path, strerror(errno));
        rc = -1;
    }
    return rc;
}

int fc_simload_push(const char *cli, const char *endpoint, const char *broker_key, const char *cert,
                    const char *src, const char *channel, const char *version, const char *key_file,
                    const char *log, double *seconds, char *msg, size_t msgsize)
{
    double t0 = s_now();
    const char *argv[20];
    size_t n = 0;
    argv[n++] = cli;
    argv[n++] = "--broker";
    argv[n++] = endpoint;
    if (broker_key && cert) {
        argv[n++] = "--broker-key";
        argv[n++] = broker_key;
        argv[n++] = "--cert";
        argv[n++] = cert;
    } else
        argv[n++] = "--insecure";
    const char *push[] = {"--quiet",   "release", "push",  src,      "--channel", channel,
                          "--version", version,   "--key", key_file, NULL};
    memcpy(&argv[n], push, sizeof push);
    pid_t pid = fc_sim_spawn(argv, log, msg, msgsize);
    if (pid < 0)
        return -1;
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    *seconds = s_now() - t0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        snprintf(msg, msgsize, "%s release push failed (status %d); see %s", cli,
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1, log);
        return -1;
    }
    return 0;
}

/* True if the link at path points at a tree of VERSION: releases/VERSION@SERIAL (a version
   never holds '@'). */
static bool s_points_at(const char *path, const char *version)
{
    char target[PATH_MAX];
    ssize_t n = readlink(path, target, sizeof target - 1);
    if (n <= 0)
        return false;
    target[n] = '\0';
    size_t vlen = strlen(version);
    return strncmp(target, "releases/", 9) == 0 && strncmp(target + 9, version, vlen) == 0 &&
           target[9 + vlen] == '@';
}

int fc_simload_wait_installed(char **current, int n, const char *version, double t0, double timeout,
                              const volatile int *interrupted, double *at)
{
    int done = 0;
    for (int i = 0; i < n; i++)
        at[i] = -1;
    double deadline = t0 + timeout;
    while (done < n && !*interrupted) {
        double now = s_now();
        for (int i = 0; i < n; i++)
            if (at[i] < 0 && s_points_at(current[i], version)) {
                at[i] = now - t0 > 0 ? now - t0 : 0;
                done++;
            }
        if (done == n || now >= deadline)
            break;
        s_sleep(0.05);
    }
    return done;
}

int fc_simload_idle(pid_t broker, double settle, double seconds, const volatile int *interrupted,
                    fc_simidle_t *out)
{
    memset(out, 0, sizeof *out);
    for (double end = s_now() + settle; s_now() < end && !*interrupted;)
        s_sleep(0.1);
    fc_procstat_t b0, b1, s0, s1;
    if (fc_procstat_read(broker, &b0) != 0 || fc_procstat_read(0, &s0) != 0)
        return -1;
    double t0 = s_now();
    for (double end = t0 + seconds; s_now() < end && !*interrupted;)
        s_sleep(0.1);
    double wall = s_now() - t0;
    if (fc_procstat_read(broker, &b1) != 0 || fc_procstat_read(0, &s1) != 0 || wall <= 0)
        return -1;
    out->seconds = wall;
    out->broker_cpu_seconds = b1.cpu_seconds - b0.cpu_seconds;
    out->broker_percent = 100.0 * out->broker_cpu_seconds / wall;
    out->sim_cpu_seconds = s1.cpu_seconds - s0.cpu_seconds;
    out->sim_percent = 100.0 * out->sim_cpu_seconds / wall;
    out->broker_rss_kib = b1.rss_kib;
    return 0;
}

/* The release benchmark: pushes dir/payload as a new version and waits for every engine's
   current link to point at it. 0 if it ran (rp says how many installed), -1 on error. */
int fc_simload_release(const fc_simopts_t *o, const char *dir, const char *agents,
                       const char *endpoint, pid_t broker, fc_simagent_t *sims, int n,
                       fc_simreport_t *rp)
{
    char cli[PATH_MAX], src[PATH_MAX], key[PATH_MAX], log[PATH_MAX], version[64];
    char msg[PATH_MAX + 256];
    if (o->cli_bin)
        snprintf(cli, sizeof cli, "%s", o->cli_bin);
    else if (fc_sim_find("../publisher/fleetcast", cli, sizeof cli) != 0) {
        fprintf(stderr, "fleetcast-fleetsim: no fleetcast CLI at %s (give --cli-bin PATH)\n", cli);
        return -1;
    }
    snprintf(src, sizeof src, "%s/payload", dir);
    snprintf(key, sizeof key, "%s", o->key_file ? o->key_file : "");
    if (!o->key_file)
        snprintf(key, sizeof key, "%s/keys/signing.key", dir);
    snprintf(log, sizeof log, "%s/push.log", dir);
    /* Fresh on every run, so an external broker's channel takes it as newer. */
    snprintf(version, sizeof version, "sim-%lld", (long long)time(NULL));
    if (o->release_version)
        snprintf(version, sizeof version, "%s", o->release_version);
    char **current = calloc((size_t)n, sizeof *current);
    double *at = calloc((size_t)n, sizeof *at);
    int rc = current && at ? 0 : -1;
    for (int i = 0; i < n && rc == 0; i++)
        if (asprintf(&current[i], "%s/%s/install/current", agents, sims[i].id) < 0) {
            current[i] = NULL;
            rc = -1;
        }
    fc_procstat_t b0 = {0}, b1 = {0}, s0 = {0}, s1 = {0};
    if (rc == 0 && broker)
        fc_procstat_read(broker, &b0);
    fc_procstat_read(0, &s0);
    fprintf(stderr, "fleetsim: pushing a %d MiB release (version %s)\n", o->release_mib, version);
    if (rc == 0 && fc_simload_push(cli, endpoint, o->insecure ? NULL : o->broker_key,
                                   o->insecure ? NULL : o->cert, src, "fleetsim", version, key, log,
                                   &rp->push_seconds, msg, sizeof msg) != 0) {
        fprintf(stderr, "fleetcast-fleetsim: %s\n", msg);
        rc = -1;
    }
    if (rc == 0) {
        rp->push_end_ns = fc_sim_now_ns();
        double t0 = (double)rp->push_end_ns / 1e9;
        int done = fc_simload_wait_installed(current, n, version, t0, o->release_timeout,
                                             &zsys_interrupted, at);
        double *v = malloc(sizeof *v * (size_t)(n ? n : 1));
        int k = 0;
        for (int i = 0; v && i < n; i++)
            if (at[i] >= 0)
                v[k++] = at[i];
        fc_simstats(v, k, &rp->release);
        free(v);
        rp->release_seconds = rp->release.max;
        if (done > 0)
            rp->release_last_ns = rp->push_end_ns + (uint64_t)(rp->release.max * 1e9);
        rp->release_run = true;
        fc_procstat_read(0, &s1);
        rp->release_sim_cpu = s1.cpu_seconds - s0.cpu_seconds;
        if (broker) {
            fc_procstat_read(broker, &b1);
            rp->release_broker_cpu = b1.cpu_seconds - b0.cpu_seconds;
            rp->release_broker_hwm_kib = b1.peak_rss_kib;
        }
        fprintf(stderr, "fleetsim: %d/%d installed %s, the last %.2f s after the push\n", done, n,
                version, rp->release.max);
    }
    for (int i = 0; current && i < n; i++)
        free(current[i]);
    free(current);
    free(at);
    return rc;
}
