/* fc_reconf_test.h: what fc_reconf's self-test files share: the fake config broker, the test
   environment and its helpers. Not public; only the self-test uses it. */
#ifndef FC_RECONF_TEST_H
#define FC_RECONF_TEST_H

#include "fc_reconf.h"
#include "fc_test_check.h"

#include <sys/types.h>

/* The fake config broker actor (fc_reconf_test_fake.c). Serves HELLO, SYNC (no release),
   CONFIG_SYNC (matching revisions after serial, page revisions at a time), CONFIG_ACK
   (recorded), RESTART_SLOT (refused deny times, then granted), REPORT. Pipe commands:
   "PUSH" bytes [quiet] (store, announce unless quiet), "BEAT" (heartbeat with the latest
   seq), "PAGE" n, "DENY" n, "REPLAY" (next snapshot starts with an old revision), "ACKS"
   (-> "rev state text" lines, cleared), "SLOTS" (-> requests seen), "CARRY" 0|1
   (announcements carry the signed revision), "SYNCS" (-> CONFIG_SYNCs served), "$TERM".
   Sends the service and announce ports at start (fc_fake_broker_run). */
void fc_reconf_test_fake(zsock_t *pipe, void *args);

/* One test run: the fake broker, a temporary dir with the agent's state and install dirs,
   the publisher key the agent trusts, and the last revision number pushed. */
typedef struct {
    zactor_t *broker;
    char endpoint[64];
    char dir[64];
    char state[128];
    char install[128];
    fc_signkey_t key;
    fc_trust_t *trust;
    uint64_t rev;
    bool verbose;
} fc_reconf_env_t;

/* fc_reconf_test_env.c */
/* Signs *r_p with key, pushes it to the fake broker (announced unless quiet) and destroys
   it. */
void fc_reconf_env_push_rev(fc_reconf_env_t *env, fc_revision_t **r_p, const fc_signkey_t *key,
                            bool quiet);
/* Signs and pushes a SET revision: "key=value" pairs (JSON literals or text). */
void fc_reconf_env_push_ex(fc_reconf_env_t *env, const char *scope, bool quiet,
                           const char *const *pairs, size_t n);
void fc_reconf_env_push(fc_reconf_env_t *env, const char *scope, const char *pair);
/* Signs and pushes a SCHEMA revision (json). */
void fc_reconf_env_push_schema(fc_reconf_env_t *env, const char *json, const fc_signkey_t *key);
/* Signs and pushes a SCHEMA revision (json), or a PROMOTE of target if json is NULL. */
void fc_reconf_env_push_other(fc_reconf_env_t *env, const char *json, uint64_t target,
                              const fc_signkey_t *key);
/* Sends a pipe command to the fake broker (with arg unless NULL) and waits for its signal. */
void fc_reconf_env_cmd(fc_reconf_env_t *env, const char *name, const char *arg);
/* The acks received since the last call, one "rev state text|id" line each. */
char *fc_reconf_env_acks(fc_reconf_env_t *env);
/* CONFIG_SYNCs served and RESTART_SLOT requests seen so far. */
int fc_reconf_env_syncs(fc_reconf_env_t *env);
int fc_reconf_env_slots(fc_reconf_env_t *env);
/* Whole file as a string ("" if missing); caller frees. */
char *fc_reconf_env_file(const char *dir, const char *name);
int fc_reconf_env_lines(const char *dir, const char *name);
ino_t fc_reconf_env_inode(const char *dir, const char *name);
/* An agent "a1" in group web on the fake broker (or on endpoint), with these hooks. */
fc_agent_t *fc_reconf_env_agent(fc_reconf_env_t *env, const char *endpoint, const char *changing,
                                const char *changed, const char *restart);
/* The same, with this --hook-timeout. */
fc_agent_t *fc_reconf_env_agent_ex(fc_reconf_env_t *env, const char *endpoint, const char *changing,
                                   const char *changed, const char *restart, double hook_timeout);
/* Hook commands that count their runs and keep their stdin in DIR/<name>.json; caller
   frees. */
char *fc_reconf_env_hook(fc_reconf_env_t *env, const char *name, int exit_code);
/* fc_agent_run_once, asserting its exit code and the config revision in force after it. */
void fc_reconf_env_once(fc_agent_t *agent, int want_exit, uint64_t want_rev);

/* fc_reconf_test_daemon.c: the embedded daemon with callbacks (after the one-shot runs). */
void fc_reconf_test_daemon(fc_reconf_env_t *env);

#endif
