/* fc_fleetsim.h: helpers of fleetcast-fleetsim: a broker child process and what it costs. */
#ifndef FC_FLEETSIM_H
#define FC_FLEETSIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct {
    pid_t pid;
    char service[64]; /* tcp://127.0.0.1:PORT */
    char announce[64];
} fc_simbroker_t;

/* CPU time (user + system) and peak RSS of a process, from /proc. */
typedef struct {
    double cpu_seconds;
    uint64_t peak_rss_kib; /* VmHWM */
    uint64_t rss_kib;      /* VmRSS */
    int threads;
} fc_procstat_t;

/* Finds the broker binary next to this one in the build tree (../broker/fleetcast-broker
   relative to /proc/self/exe). 0, or -1 if it is not there. */
int fc_simbroker_find(char *path, size_t size);
/* Starts bin with --data DIR/broker on two free loopback ports (with --insecure if asked) and
   waits (up to 10 s) until its service port accepts connections. 0, or -1 with a reason in
   msg. */
int fc_simbroker_start(fc_simbroker_t *self, const char *bin, const char *dir, bool insecure,
                       char *msg, size_t msgsize);
/* CURVE keys for a broker started in DIR/broker: its cert there, and DIR/publisher.cert and
   DIR/agent.cert (+_secret) enrolled in its keys/. Writes the paths of the broker's public
   cert and of the two secret certs (each PATH_MAX). 0, or -1 with a reason in msg. */
int fc_simbroker_keys(const char *dir, char *broker_cert, char *publisher_secret,
                      char *agent_secret, char *msg, size_t msgsize);
/* SIGTERM, wait up to 5 s, then SIGKILL. Safe if it never started. */
void fc_simbroker_stop(fc_simbroker_t *self);

/* Reads /proc/PID/stat and status (pid 0: this process). 0 or -1. */
int fc_procstat_read(pid_t pid, fc_procstat_t *out);
/* Open file descriptors of this process (entries of /proc/self/fd). */
int fc_procstat_fds(void);
/* Removes a directory tree (best effort). */
void fc_rmtree(const char *path);

/* ---- fc_fleetsim_load.c: the release benchmark and the idle cost ---------------------- */

/* Finds the fleetcast CLI next to this program (../publisher/fleetcast). 0 or -1. */
int fc_simcli_find(char *path, size_t size);
/* Bytes available to an unprivileged user on dir's file system (0 if unknown). */
uint64_t fc_simload_free_bytes(const char *dir);
/* Writes mib MiB from /dev/urandom to path. 0, or -1 with a reason in msg. */
int fc_simload_make_payload(const char *path, int mib, char *msg, size_t msgsize);
/* Runs `cli --broker EP --broker-key BK --cert CERT --quiet release push SRC --channel C
   --version V --key KEY` (--insecure instead when broker_key or cert is NULL) with its
   output in log; *seconds is its wall time. 0, or -1 with a reason in msg. */
int fc_simload_push(const char *cli, const char *endpoint, const char *broker_key, const char *cert,
                    const char *src, const char *channel, const char *version, const char *key_file,
                    const char *log, double *seconds, char *msg, size_t msgsize);
/* Polls the links current[0..n) (every 50 ms) until each points at releases/VERSION, or
   until t0 + timeout (monotonic seconds, as CLOCK_MONOTONIC). at[i]: seconds after t0 when
   link i was first seen there, -1 if never. Returns how many got there. */
int fc_simload_wait_installed(char **current, int n, const char *version, double t0, double timeout,
                              const volatile int *interrupted, double *at);

typedef struct {
    double seconds;                      /* wall time measured */
    double broker_cpu_seconds;           /* the broker's CPU time in it */
    double broker_percent;               /* ... as % of one core */
    double sim_cpu_seconds, sim_percent; /* the same for this process (the engines) */
    uint64_t broker_rss_kib;             /* VmRSS at the end */
} fc_simidle_t;
/* Waits settle seconds, then measures the broker's (and this process's) CPU over seconds. */
int fc_simload_idle(pid_t broker, double settle, double seconds, const volatile int *interrupted,
                    fc_simidle_t *out);

#endif
