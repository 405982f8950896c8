/* fc_agent.h: the fleetcast agent engine (libfleetcast's public API): follows one channel on
   a broker, fetches each new release in verified chunks, installs it with hooks, reports. */
#ifndef FC_AGENT_H
#define FC_AGENT_H

#include "fc_key.h"
#include "fc_limits.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    FC_AGENT_UPDATE_ALL = 0,       /* install every newer release */
    FC_AGENT_UPDATE_MANDATORY = 1, /* mandatory ones, min_version above ours, or a first install */
    FC_AGENT_UPDATE_NONE = 2       /* never install; report what is available */
} fc_agent_policy_t;

/* Exit codes of fc_agent_run_once (and of fleetcast-agent --once / --check). */
#define FC_AGENT_EXIT_OK 0          /* installed, or already up to date */
#define FC_AGENT_EXIT_ERROR 1       /* error, unreachable broker, rejected release */
#define FC_AGENT_EXIT_POSTPONED 2   /* the changing hook refused */
#define FC_AGENT_EXIT_UNHEALTHY 3   /* health check failed; rolled back */
#define FC_AGENT_EXIT_AVAILABLE 100 /* --check: a newer release is available */

/* Receives one log line (no trailing newline) about connection losses, resumes, installs.
   The line is borrowed for the duration of the call. */
typedef void(fc_agent_log_fn)(const char *line, void *arg);

/* Every option of the agent. Strings are borrowed by fc_agent_new, which copies them. */
typedef struct {
    const char *broker;      /* service endpoint, "tcp://host:7400" (required) */
    const char *channel;     /* channel to follow (required) */
    const char *install_dir; /* releases/ and the current symlink live here (required) */
    const char *state_dir;   /* manifests, journal, failed serials (required) */
    const char *trust_file;  /* trusted publisher keys (required unless trust is set) */
    const fc_trust_t *trust; /* embedders: a trust list instead of a file; borrowed, must
                                outlive the agent */
    const char *id;          /* agent id; NULL or "": the host name */
    fc_agent_policy_t policy;
    const char *exec_changing; /* hooks (/bin/sh -c), NULL for none; see fc_install.h */
    const char *exec_changed;
    const char *exec_health;
    uint64_t window;       /* bytes of GET_CHUNK requests in flight; 0: 4 MiB */
    double timeout;        /* --once/--check: give up after this long without progress (no
                              WELCOME, SNAPSHOT or verified chunk) (seconds); 0: 30 */
    double retry_interval; /* daemon: retry a postponed or failed install after (s); 0: 30 */
    bool verbose;          /* log state changes too */
    fc_agent_log_fn *log;  /* NULL: lines go to stderr */
    void *log_arg;
} fc_agent_config_t;

/* What one run did (fc_agent_run_once), or where a daemon stands (fc_agent_status). */
typedef struct {
    char id[FC_MAX_NAME + 1];
    char channel[FC_MAX_NAME + 1];
    char version[FC_MAX_NAME + 1];           /* installed at the end ("" if none) */
    char previous_version[FC_MAX_NAME + 1];  /* installed at the start */
    char available_version[FC_MAX_NAME + 1]; /* latest on the channel ("" if none seen) */
    uint64_t available_serial;
    uint64_t available_size;
    bool mandatory;              /* the latest release is mandatory */
    bool update_available;       /* a newer release exists that is not installed */
    char state[FC_MAX_NAME + 1]; /* idle, checking, downloading, installing, installed,
                                    up-to-date, postponed, failed, rejected */
    char message[FC_MAX_TEXT + 1];
    int error;                 /* fc_error_t of the failure, 0 if none */
    uint64_t bytes_fetched;    /* chunk payload bytes received, duplicates included */
    uint64_t bytes_reused;     /* bytes copied from the installed release instead */
    uint64_t bytes_total;      /* size of the release being installed */
    uint64_t requests_retried; /* requests re-sent (timeouts, reconnects, bad hashes) */
    uint64_t hash_errors;      /* chunks that did not match their hash */
    uint64_t disconnects;      /* connection losses seen */
    double seconds;            /* wall time of the run */
    int exit_code;             /* FC_AGENT_EXIT_* */
} fc_agent_result_t;

typedef struct fc_agent_t fc_agent_t;

/* Fills cfg with defaults (policy all, 4 MiB window, 30 s timeouts). */
void fc_agent_config_defaults(fc_agent_config_t *cfg);
/* Checks a configuration without starting anything: required fields, endpoint syntax, names,
   and that the trust file loads. Returns 0, or an fc_error_t with a one-line reason in msg. */
int fc_agent_config_check(const fc_agent_config_t *cfg, char *msg, size_t msgsize);
/* Parses "all", "mandatory", "none"; -1 if none of them. */
int fc_agent_policy_parse(const char *text);

/* Checks the config, loads the trust list, opens the install and state dirs and connects to
   the broker (ZeroMQ connects in the background: nothing blocks here). NULL with *err set
   (FC_EINVAL bad config, FC_EIO/FC_EPROTO trust file, FC_EIO/FC_ENOSPC install dirs). */
fc_agent_t *fc_agent_new(const fc_agent_config_t *config, int *err);
/* Stops and frees; a download in progress stays staged for the next start. Safe on NULL. */
void fc_agent_destroy(fc_agent_t **self_p);

/* One pass: HELLO, SYNC, then (unless check_only) install the latest release if the policy
   says so. Returns the exit code (FC_AGENT_EXIT_*), also stored in *out with the details
   (out may be NULL). Gives up after config->timeout seconds without an answer. */
int fc_agent_run_once(fc_agent_t *self, bool check_only, fc_agent_result_t *out);
/* Daemon: follows the channel until fc_agent_stop or zsys_interrupted (SIGINT/SIGTERM with
   CZMQ's handler). Returns 0. */
int fc_agent_run(fc_agent_t *self);
/* Asks fc_agent_run / fc_agent_run_once to return soon. Async-signal-safe. */
void fc_agent_stop(fc_agent_t *self);
/* A snapshot of the current state and counters (e.g. from another place in the same thread,
   or after fc_agent_run returned). */
void fc_agent_status(const fc_agent_t *self, fc_agent_result_t *out);

/* "FC_EBADSIG" for FC_EBADSIG, etc. (for messages and JSON); never NULL. */
const char *fc_agent_error_name(int code);

/* The result as one JSON object (no newline). Caller frees. */
char *fc_agent_result_json(const fc_agent_result_t *result);

void fc_agent_test(bool verbose);

#endif
