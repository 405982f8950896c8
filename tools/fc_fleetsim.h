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

#endif
