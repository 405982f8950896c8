/* fc_fleetsim.h: the parts of fleetcast-fleetsim, one file each: options, engines, config
   rounds, the release and idle benchmarks, the broker child, the report. Not a library. */
#ifndef FC_FLEETSIM_H
#define FC_FLEETSIM_H

#include "fc_agent.h"
#include "fc_client.h"
#include "fc_key.h"
#include "fc_limits.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define FC_SIM_KEY "fleetsim.round" /* the key each round sets; its value is the round number */
#define FC_SIM_MAX_ROUNDS 1000
#define FC_SIM_MAX_BROKERS 64 /* endpoints in one --broker list */

/* ---- fc_fleetsim_opts.c: the command line -------------------------------------------- */

typedef struct {
    const char *broker, *broker_bin, *cli_bin, *key_file, *trust_file, *group, *prefix;
    const char *cert, *agent_key, *broker_key; /* CURVE; made in the temp dir if not given */
    const char *agents_dir; /* the engines' dirs go in a new dir here; NULL: the temp dir */
    /* --broker EP,EP,...: engine i connects to brokers[i % nbrokers] (relays of one root);
       --publish EP: where the pushes and config revisions go (default brokers[0]);
       --broker-pid: the process whose CPU and RSS are measured when not started here. */
    const char *brokers[FC_SIM_MAX_BROKERS], *publish;
    int nbrokers;
    pid_t broker_pid;
    /* Several processes, one fleet: --follow runs engines that publish nothing and wait for
       what a leader process publishes (--release-version names its release); --times FILE
       writes the monotonic times that let a script merge them (fc_fleetsim_follow.c). */
    bool follow;
    const char *release_version, *times;
    int agents, rounds, io_threads, release_mib, window_kib;
    int tick_ms; /* --tick-ms; 0: the agent's */
    double round_timeout, sync_timeout, idle, release_timeout;
    size_t stack_kib;
    size_t max_sockets; /* --max-sockets; 0: as many as libzmq allows */
    bool start_broker, json, verbose, keep, discard, rounds_given, insecure;
    bool revoke; /* --bench-revoke */
} fc_simopts_t;

/* Parses the options into o (strings borrowed from argv). 0, or 2 on bad usage (said on
   stderr); --help prints the usage and exits 0. */
int fc_simopts_parse(int argc, char **argv, fc_simopts_t *o);

/* ---- fc_fleetsim_engines.c: the engines ------------------------------------------------ */

/* One simulated agent. t[r]: when its changed callback saw round r (monotonic ns, 0: not). */
typedef struct {
    fc_agent_t *agent;
    char id[FC_MAX_NAME + 1];
    uint64_t *t;
    int rounds;
} fc_simagent_t;

/* Creates and starts up to o->agents engines (sims[i].id, .t and .rounds set by the caller),
   their state and install dirs in agents/ID/; returns how many run (msg says why not all).
   fds_per and threads_per: what the first engine added to the process. */
/* Before anything starts (after zsys_init and the fd limit is raised): 0 if o->agents engines
   fit in RLIMIT_NOFILE and the ZeroMQ context's socket limit, else -1 with msg naming the
   limit, what was asked and what to do instead. */
int fc_simengines_check(const fc_simopts_t *o, char *msg, size_t msgsize);
int fc_simengines_start(const fc_simopts_t *o, fc_simagent_t *sims, const char agents[1024],
                        const char *broker, const fc_trust_t *trust, char *msg, size_t msgsize,
                        int *fds_per, int *threads_per);
/* Waits (up to timeout seconds) until every engine has synced config revision rev and heard
   a heartbeat on its announce socket. Only then is a round's time propagation: an engine
   that synced over its DEALER before its SUB had connected (1000 CURVE handshakes take a
   while) learns of the next revision from the heartbeat after it, up to a second later: the
   late-joiner path. Sets how many engines *synced and *heard, and *synced_seconds (after
   start, fc_now() time) when all had synced (-1: not all). Returns how many did both. */
int fc_simengines_wait_ready(fc_simagent_t *sims, int n, uint64_t rev, double start, double timeout,
                             int *synced, int *heard, double *synced_seconds);

/* ---- fc_fleetsim_report.c: measurements and the summary -------------------------------- */

typedef struct {
    int round;
    uint64_t rev;
    int converged;
    double p50, p99, max, ack_ms;
    int acked;       /* engines whose CONFIG_ACK the broker had recorded (config status);
                        -1: not counted (--publish: the acks stay at the relays) */
    double acked_ms; /* when config status first showed them all (to about 50 ms) */
    uint64_t t0_ns;  /* when the revision was sent (monotonic ns; 0 for the overall) */
} fc_simround_t;

/* Monotonic clock, ns (the engines' callbacks and the publisher share it). */
uint64_t fc_sim_now_ns(void);
/* Sorts v[0..n) and sets r's converged (n), p50, p99 (nearest rank) and max. */
void fc_simstats(double *v, int n, fc_simround_t *r);

/* ---- fc_fleetsim_config.c: the config rounds ------------------------------------------- */

/* Publishes FC_SIM_KEY=value as the broker's latest revision + 1 (retrying on FC_ESERIAL like
   `fleetcast config set`). t0: just before the signed revision is sent; ack: when the
   broker's OK arrived (monotonic ns). 0, or -1 with a reason in msg. */
int fc_simconfig_publish(fc_client_t *client, const fc_signkey_t *key, int value, uint64_t *rev_out,
                         uint64_t *t0, uint64_t *ack, char *msg, size_t msgsize);
/* One round: publishes, waits for the callbacks, fills r with the latencies (ms) and appends
   each to all[*nall...]; then waits for the broker to have every ack. 0, or -1 if the
   revision could not be published. */
int fc_simconfig_round(const fc_simopts_t *o, fc_client_t *client, const fc_signkey_t *key,
                       fc_simagent_t *sims, int n, int round, fc_simround_t *r, double *all,
                       int *nall);

/* ---- fc_fleetsim_proc.c: the broker child and /proc readings --------------------------- */

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

/* Starts argv[0] with argv (NULL-terminated) as a child that dies with this process, its
   stdout and stderr to file log (truncated). The child's pid, or -1 with a reason in msg. */
pid_t fc_sim_spawn(const char *const argv[], const char *log, char *msg, size_t msgsize);
/* Finds a program of the build tree beside this one: rel relative to the folder of
   /proc/self/exe ("../broker/fleetcast-broker"), into path. 0, or -1 if it is not there. */
int fc_sim_find(const char *rel, char *path, size_t size);
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
/* The type of path's file system ("ext4", "tmpfs", ..., or its magic number in hex). */
void fc_simfs_type(const char *path, char *out, size_t size);

/* ---- fc_fleetsim_load.c: the release benchmark and the idle cost ---------------------- */

/* Bytes available to an unprivileged user on dir's file system (0 if unknown). */
uint64_t fc_simload_free_bytes(const char *dir);
/* Before the engines start: checks that N real installs of o->release_mib MiB fit in agents
   (unless o->discard) and the payload and the broker's copy in dir, and writes the random
   payload to dir/payload/file.bin. 0, or -1 with a reason in msg. */
int fc_simload_prepare(const fc_simopts_t *o, const char *dir, const char *agents, char *msg,
                       size_t msgsize);
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

/* ---- fc_fleetsim_revoke.c: the revocation benchmark ------------------------------------ */

typedef struct {
    double rebind_seconds;     /* from the revocation (cert removed) to the broker's re-bind */
    double back_seconds;       /* from the re-bind until every engine heard a heartbeat again */
    int back;                  /* engines that did */
    double wall_seconds;       /* revocation to all back */
    double broker_cpu_seconds; /* the broker's CPU time in that */
} fc_simrevoke_t;
/* Enrols a fresh agent key in the started broker's DIR/broker/keys/agents, lets it settle,
   revokes it (removes the cert), waits for the broker's re-bind (its log, DIR/broker.log) and
   then until every engine has heard a heartbeat again (its SUB reconnected through ZAP). 0 if
   all came back, 1 if not within 60 s, -1 on error. */
int fc_simrevoke_run(const char *dir, pid_t broker, fc_simagent_t *sims, int n,
                     const volatile int *interrupted, fc_simrevoke_t *out);

/* ---- fc_fleetsim_report.c (continued): everything measured -------------------------------- */

typedef struct {
    int requested, started, synced, heard, fds_per, threads_per, rounds_run;
    double sync_seconds;             /* from the first engine's start until all had synced */
    double ready_seconds;            /* ... until all had synced and heard a heartbeat */
    char agents_fs[32], data_fs[32]; /* file systems of the engines' dirs, the broker's data */
    fc_simround_t rounds[FC_SIM_MAX_ROUNDS + 1], overall;
    bool broker_stats;
    fc_procstat_t broker_total, broker_bench0, sim, broker_end;
    int fds_total, threads_total;
    bool idle_run;
    fc_simidle_t idle;
    bool revoke_run;
    fc_simrevoke_t revoke;
    bool release_run;
    fc_simround_t release; /* p50/p99/max in seconds after the push ended; converged: installed */
    double push_seconds, release_seconds, release_broker_cpu, release_sim_cpu;
    uint64_t release_broker_hwm_kib;
    uint64_t push_end_ns, release_last_ns; /* monotonic ns: push ended; last engine installed */
    /* Requests the engines re-sent and connections they lost, all runs (read once they
       stopped). */
    uint64_t retried, disconnects;
} fc_simreport_t;

/* fc_fleetsim_load.c: the release benchmark: pushes dir/payload as a new version and waits
   for every engine's current link (agents/ID/install/current) to point at it. 0 if it ran
   (rp says how many installed), -1 on error. */
int fc_simload_release(const fc_simopts_t *o, const char *dir, const char *agents,
                       const char *endpoint, pid_t broker, fc_simagent_t *sims, int n,
                       fc_simreport_t *rp);

/* One round's line (n: engines expected). */
void fc_simreport_round(FILE *out, const char *name, const fc_simround_t *r, int n);
/* The summary on stdout: text, or one JSON object with --json. */
void fc_simreport_print(const fc_simopts_t *o, const fc_simreport_t *rp);

/* ---- fc_fleetsim_follow.c: one fleet over several processes ------------------------- */

/* A follower's part (--follow): waits until its engines installed o->release_version (with
   --bench-release) and saw every one of o->rounds config rounds a leader publishes, or the
   timeouts passed; fills rp->release (seconds after this wait began) and
   rp->release_last_ns. 0 if all got there, 1 if not. */
int fc_simfollow_run(const fc_simopts_t *o, const char *agents, fc_simagent_t *sims, int n,
                     fc_simreport_t *rp);
/* Writes o->times: "push NS" and "t0 ROUND NS" (the leader's), "last NS" (when its last
   engine installed), "installed COUNT", and "t ROUND NS" for every engine's changed callback
   per round; NS monotonic (CLOCK_MONOTONIC: one clock for every process of the machine).
   0, or -1 (said on stderr). */
int fc_simfollow_write_times(const fc_simopts_t *o, const fc_simagent_t *sims, int n,
                             const fc_simreport_t *rp);

#endif
