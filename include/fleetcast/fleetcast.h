/* fleetcast.h: libfleetcast's public API, the fleetcast agent engine: follows one channel on
   a broker, fetches each new release in verified chunks, installs it with hooks, reports;
   and applies runtime config revisions (Changing/Changed, restart path, acks). Everything an
   embedding program needs, and nothing else: the rest of the engine is not exported. */
#ifndef FLEETCAST_H
#define FLEETCAST_H

#include "fc_export.h"
#include "fc_trust.h"
#include "fc_value.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* As proto/fc_limits.h (a different value there is a redefinition error where both meet). */
#define FC_MAX_NAME 64  /* channel, agent id, version, product */
#define FC_MAX_TEXT 512 /* error and status text */

typedef enum {
    FC_AGENT_UPDATE_ALL = 0,       /* install every newer release */
    FC_AGENT_UPDATE_MANDATORY = 1, /* mandatory ones, min_version above ours, or a first install */
    FC_AGENT_UPDATE_NONE = 2       /* never install; report what is available */
} fc_agent_policy_t;

/* Exit codes of fc_agent_run_once (and of fleetcast-agent --once / --check). */
#define FC_AGENT_EXIT_OK 0        /* installed, or already up to date */
#define FC_AGENT_EXIT_ERROR 1     /* error, unreachable broker, rejected release */
#define FC_AGENT_EXIT_POSTPONED 2 /* the changing hook refused */
#define FC_AGENT_EXIT_UNHEALTHY 3 /* health check failed; rolled back */
#define FC_AGENT_EXIT_STALE                                                                        \
    4                               /* --once with a pinned timestamp key: the run otherwise       \
                                       succeeded, but no fresh signed timestamp came from          \
                                       the broker (it may be frozen or replayed) */
#define FC_AGENT_EXIT_AVAILABLE 100 /* --check: a newer release is available */

/* Receives one log line (no trailing newline) about connection losses, resumes, installs.
   The line is borrowed for the duration of the call. */
typedef void(fc_agent_log_fn)(const char *line, void *arg);

/* Every option of the agent. Strings are borrowed by fc_agent_new, which copies them. */
typedef struct {
    const char *broker;      /* service endpoint, "tcp://host:7400" (required), or a list
                                "tcp://a:7400,tcp://b:7400" of brokers serving the same data:
                                the agent moves to the next when its broker is lost */
    const char *channel;     /* channel to follow (required) */
    const char *product;     /* install only releases whose manifest names this product (a
                                release of another product on the channel is rejected);
                                NULL or "": any product */
    const char *install_dir; /* releases/ and the current symlink live here (required) */
    const char *state_dir;   /* manifests, journal, failed serials (required) */
    const char *trust_file;  /* trusted publisher keys (required unless trust is set) */
    const fc_trust_t *trust; /* embedders: a trust list instead of a file; borrowed, must
                                outlive the agent */
    const char *id;          /* agent id; NULL or "": the host name */
    fc_agent_policy_t policy;
    const char *exec_changing; /* hooks (/bin/sh -c), NULL for none; README "Agent" */
    const char *exec_changed;
    const char *exec_health;
    uint64_t window;       /* bytes of GET_CHUNK requests in flight; 0: 4 MiB */
    double timeout;        /* --once/--check: give up after this long without progress (no
                              WELCOME, SNAPSHOT or verified chunk) (seconds); 0: 30 */
    double retry_interval; /* daemon: retry a postponed or failed install after (s); 0: 30 */
    bool verbose;          /* log state changes too */
    fc_agent_log_fn *log;  /* NULL: lines go to stderr */
    void *log_arg;
    /* Runtime configuration. The config hooks get the diff as JSON on stdin. */
    const char *group;           /* the agent's group for "group:NAME" scopes; NULL: none */
    const char *config_changing; /* may veto a change (non-zero exit): restart path instead */
    const char *config_changed;  /* applies a change live; non-zero exit: failed, old kept */
    const char *exec_restart;    /* restarts the application on the restart path; NULL: the
                                    agent keeps the old values and reports restart-required
                                    (vetoed, if a handler vetoed) */
    /* Seconds any hook above (release or config) may run. One still running then is stopped
       with everything it started in its process group (SIGTERM; 5 s later, SIGKILL) and
       counts as a non-zero exit, "timed out after N s": a changing hook postpones or vetoes,
       a changed or health hook rolls back, a config changed or restart hook fails with the
       old config kept. fc_agent_config_defaults sets FC_AGENT_HOOK_TIMEOUT; 0: no limit. */
    double hook_timeout;
    /* Transport security: CURVE on both sockets, unless insecure. */
    const char *key_file;   /* own secret cert (NAME.cert_secret); NULL or "": STATE/
                               agent.cert_secret, made on first start (its public key is
                               logged, to enrol with `fleetcast keys add-agent`) */
    const char *broker_key; /* the broker's public cert (DATA/broker.cert) or its 40-char Z85
                               key; required unless insecure */
    bool insecure;          /* plain TCP, for a broker started with --insecure */
    /* Freeze defence. With a pinned timestamp key, only heartbeats carrying a timestamp
       signed by it, newer than the newest accepted and not older than freeze_after, count as
       fresh; the others are dropped (counted). No fresh one for freeze_after seconds: the
       agent says it is stale (log, REPORT text, result). NULL: heartbeats are not checked. */
    const uint8_t *timestamp_pk; /* FC_PUBKEY_LEN bytes, copied */
    double freeze_after;         /* seconds; 0: FC_AGENT_FREEZE_AFTER */
} fc_agent_config_t;

#define FC_AGENT_FREEZE_AFTER 300.0
#define FC_AGENT_HOOK_TIMEOUT 600.0

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
    uint64_t config_rev;       /* config revision in force (0: none) */
    /* Last config outcome, an ack name an agent sends (applied, restarted, vetoed,
       failed, restart-required, unchanged), or "" (none yet). */
    char config_state[FC_MAX_NAME + 1];
    /* Freshness (with a pinned timestamp key; otherwise all zero). */
    bool stale;               /* no fresh signed timestamp for freeze_after seconds */
    int64_t last_fresh;       /* broker time of the newest accepted timestamp, unix s (0: none) */
    uint64_t stamps_bad;      /* dropped: unsigned, bad signature, or future */
    uint64_t stamps_replayed; /* heartbeats dropped: not newer than the newest, or too old */
    uint64_t trust_serial;    /* trusted-key list in force (0: the --trust file) */
    uint64_t heartbeats;      /* heartbeats heard and accepted since fc_agent_new (with a
                                 pinned timestamp key, only fresh validly signed ones) */
    uint64_t broker_moves;    /* moves to the next broker of a --broker list, its own lost */
} fc_agent_result_t;

typedef struct fc_agent_t fc_agent_t;

/* Fills cfg with defaults (policy all, 4 MiB window, 30 s timeouts, hooks stopped after
   FC_AGENT_HOOK_TIMEOUT). */
FC_EXPORT void fc_agent_config_defaults(fc_agent_config_t *cfg);
/* Checks a configuration without starting anything: required fields, endpoint syntax, names,
   and that the trust file loads. Returns 0, or an fc_error_t with a one-line reason in msg. */
FC_EXPORT int fc_agent_config_check(const fc_agent_config_t *cfg, char *msg, size_t msgsize);
/* Parses "all", "mandatory", "none"; -1 if none of them. */
FC_EXPORT int fc_agent_policy_parse(const char *text);

/* Checks the config, loads the trust list, opens the install and state dirs and connects to
   the broker (ZeroMQ connects in the background: nothing blocks here). NULL with *err set
   (FC_EINVAL bad config, FC_EIO/FC_EPROTO trust file, FC_EIO/FC_ENOSPC install dirs). */
FC_EXPORT fc_agent_t *fc_agent_new(const fc_agent_config_t *config, int *err);
/* Stops and frees; a download in progress stays staged for the next start. Safe on NULL. */
FC_EXPORT void fc_agent_destroy(fc_agent_t **self_p);

/* One pass: HELLO, SYNC, then (unless check_only) install the latest release if the policy
   says so, and then sync the runtime config and apply it (Changing/Changed or the restart
   path), acking each revision. Returns the exit code (FC_AGENT_EXIT_*), also stored in *out
   with the details (out may be NULL); a config change that failed, a rejected revision, or
   no answer to the config sync turn FC_AGENT_EXIT_OK into FC_AGENT_EXIT_ERROR. Gives up
   after config->timeout seconds without an answer. */
FC_EXPORT int fc_agent_run_once(fc_agent_t *self, bool check_only, fc_agent_result_t *out);
/* Daemon: follows the channel and the config until fc_agent_stop or zsys_interrupted
   (SIGINT/SIGTERM with CZMQ's handler). Returns 0. */
FC_EXPORT int fc_agent_run(fc_agent_t *self);
/* Asks fc_agent_run / fc_agent_run_once to return soon. Async-signal-safe. */
FC_EXPORT void fc_agent_stop(fc_agent_t *self);
/* A snapshot of the current state and counters (e.g. from another place in the same thread,
   or after fc_agent_run returned). Not while the engine runs on another thread: the state it
   copies is the engine thread's own. */
FC_EXPORT void fc_agent_status(const fc_agent_t *self, fc_agent_result_t *out);
/* Heartbeats heard on the announce socket and accepted (as the result's heartbeats): any
   means the socket is connected and subscribed. Safe from any thread, while the engine runs
   (e.g. fc_agent_start): it waits for nothing. */
FC_EXPORT uint64_t fc_agent_heartbeats(const fc_agent_t *self);

/* ---- embedding: runtime configuration in-process (fc_agent_embed.c) -------------------
   Callbacks run on the engine's thread (the one in fc_agent_run / fc_agent_run_once /
   fc_agent_start), only when this agent's effective config changed. diff[0..n) is sorted by
   key and borrowed for the duration of the call. Register them before running the engine. */
/* Changing: return true to accept, false to veto (the change then takes the restart path). */
typedef bool(fc_agent_changing_fn)(const fc_diff_entry_t *diff, size_t n, void *arg);
/* Changed: apply the new values; return 0 if applied, non-zero if not (the change is reported
   failed and the previous values stay in force: the callback is called again with the
   reverse diff if a later step fails after it accepted). While it runs, the getters below
   already return the new values. */
typedef int(fc_agent_changed_fn)(const fc_diff_entry_t *diff, size_t n, void *arg);
FC_EXPORT void fc_agent_on_config_changing(fc_agent_t *self, fc_agent_changing_fn *fn, void *arg);
FC_EXPORT void fc_agent_on_config_changed(fc_agent_t *self, fc_agent_changed_fn *fn, void *arg);

/* Typed getters of the config in force (safe from any thread). A missing key, or a value of
   another type, gives the default. _str returns a malloc'd copy (of dflt if missing; NULL if
   dflt is NULL), the caller frees it. _double accepts integers. */
FC_EXPORT int64_t fc_agent_config_int(fc_agent_t *self, const char *key, int64_t dflt);
FC_EXPORT char *fc_agent_config_str(fc_agent_t *self, const char *key, const char *dflt);
FC_EXPORT bool fc_agent_config_bool(fc_agent_t *self, const char *key, bool dflt);
FC_EXPORT double fc_agent_config_double(fc_agent_t *self, const char *key, double dflt);
/* The revision in force (0: none yet), and the whole config as JSON (caller frees). */
FC_EXPORT uint64_t fc_agent_config_rev(fc_agent_t *self);
FC_EXPORT char *fc_agent_config_json(fc_agent_t *self);

/* Runs the daemon engine (as fc_agent_run) as a CZMQ actor on its own thread, for programs
   with their own main loop; returns once it has started. Returns 0, or -1 if it is already
   running or cannot be started. fc_agent_join stops it (also after fc_agent_stop, or if it
   ended on zsys_interrupted) and waits for its end; fc_agent_destroy joins too. */
FC_EXPORT int fc_agent_start(fc_agent_t *self);
FC_EXPORT void fc_agent_join(fc_agent_t *self);

/* "FC_EBADSIG" for FC_EBADSIG, etc. (for messages and JSON; fc_error_name); never NULL. */
FC_EXPORT const char *fc_agent_error_name(int code);

/* The result as one JSON object (no newline). Caller frees. */
FC_EXPORT char *fc_agent_result_json(const fc_agent_result_t *result);

#endif
