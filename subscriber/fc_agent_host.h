/* fc_agent_host.h: what the agent engine lends the runtime-config follower (fc_reconf*.c):
   a narrow interface of functions instead of the engine's struct (fc_agent_priv.h), which
   reconf does not see. Implemented in fc_agent.c. Not public. */
#ifndef FC_AGENT_HOST_H
#define FC_AGENT_HOST_H

#include "fc_agent.h"
#include "fc_key.h"
#include "fc_msg.h"
#include "fc_requester.h"

#include <stdbool.h>
#include <stdint.h>

struct fc_reconf_t;

typedef enum { FC_AGENT_DAEMON, FC_AGENT_ONCE, FC_AGENT_CHECK } fc_agent_mode_t;

void fc_agent_log(fc_agent_t *self, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A kind of control request: the requester hands each reply back with the kind it was sent
   as (its user pointer), and the kind's handler takes it (msg borrowed). */
typedef struct fc_agent_kind_t {
    const char *name; /* the request, for logs */
    void (*on_reply)(fc_agent_t *self, const fc_msg_t *msg, double now);
} fc_agent_kind_t;
/* Sends *m_p (consumed) as a control request of this kind; opts: per-request re-send
   policy, NULL for the agent's default (re-sent after 5 s, flushed after a reconnect).
   Returns its id, 0 if it could not be encoded. */
uint64_t fc_agent_request(fc_agent_t *self, fc_msg_t **m_p, const fc_agent_kind_t *kind,
                          const fc_requester_sendopts_t *opts);
/* Whether a request of this kind is outstanding. */
bool fc_agent_asking(const fc_agent_t *self, const fc_agent_kind_t *kind);
/* True when requests can go out now (connected, nothing waiting for the flush). */
bool fc_agent_up(const fc_agent_t *self);
/* The service DEALER's libzmq handle (for the fetcher's chunk requests). */
void *fc_agent_service(fc_agent_t *self);
/* The engine's requester (borrowed; the engine owns it), for a loop of one's own
   (fc_reconf_run_once). */
fc_requester_t *fc_agent_requester(fc_agent_t *self);
/* A reply came over the current connection. */
void fc_agent_set_live(fc_agent_t *self);

/* The engine's runtime-config state (fc_reconf.h), owned by the engine; set by
   fc_reconf_new (NULL again if it fails). */
struct fc_reconf_t *fc_agent_reconf(const fc_agent_t *self);
void fc_agent_set_reconf(fc_agent_t *self, struct fc_reconf_t *reconf);
/* The result the engine reports (config_rev, config_state, bytes_fetched are reconf's to
   update); borrowed, the engine's own. */
fc_agent_result_t *fc_agent_result(fc_agent_t *self);
/* Settings, borrowed for the engine's life. */
const char *fc_agent_id(const fc_agent_t *self);
const char *fc_agent_state_dir(const fc_agent_t *self);
const fc_trust_t *fc_agent_keys(const fc_agent_t *self); /* the keys in force, rotated in place */
bool fc_agent_verbose(const fc_agent_t *self);
double fc_agent_timeout(const fc_agent_t *self);      /* --once: without progress (s) */
double fc_agent_hook_timeout(const fc_agent_t *self); /* 0: none */
/* The run's mode, whether the broker welcomed this run, and whether it is asked to stop. */
fc_agent_mode_t fc_agent_mode(const fc_agent_t *self);
bool fc_agent_welcomed(const fc_agent_t *self);
bool fc_agent_stopping(const fc_agent_t *self);

#endif
