/* fc_freshness.h: the freeze defence of the agent's session (class fc_freshness): counts
   the heartbeats it accepts and, with a pinned timestamp key, accepts only fresh signed
   timestamps and says when none has come for freeze_after seconds. No sockets: the session
   (fc_session.c) hands it each heartbeat and the time. Not public. */
#ifndef FC_FRESHNESS_H
#define FC_FRESHNESS_H

#include "fc_agent.h"
#include "fc_msg.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct fc_freshness_t fc_freshness_t;

/* pk: the pinned timestamp key (FC_PUBKEY_LEN bytes, copied), NULL: every heartbeat counts.
   freeze_after: seconds without a fresh timestamp before the agent is stale (> 0). log (may
   be NULL) gets the lines about dropped heartbeats (at most one a minute unless verbose) and
   staleness; log_arg is passed back. NULL without memory. */
fc_freshness_t *fc_freshness_new(const uint8_t *pk, double freeze_after, bool verbose,
                                 fc_agent_log_fn *log, void *log_arg);
/* Safe on NULL. */
void fc_freshness_destroy(fc_freshness_t **self_p);

/* Whether a timestamp key is pinned (else nothing here is ever stale). */
bool fc_freshness_pinned(const fc_freshness_t *self);
/* A run begins: before any timestamp arrives, freshness is measured from now. */
void fc_freshness_begin(fc_freshness_t *self, double now);
/* A heartbeat (msg borrowed): true if it counts (then counted), false: drop it (counted as
   bad or replayed). *changed: set true if it made a stale agent fresh again. */
bool fc_freshness_on_heartbeat(fc_freshness_t *self, const fc_msg_t *msg, double now,
                               bool *changed);
/* Notices a broker gone quiet: true if the agent has just become stale (logged). */
bool fc_freshness_timers(fc_freshness_t *self, double now);
/* Whether a fresh timestamp was accepted at or after local time t. */
bool fc_freshness_heard_since(const fc_freshness_t *self, double t);
/* Marks the agent stale (a --once run that heard no fresh timestamp). */
void fc_freshness_set_stale(fc_freshness_t *self);
/* Heartbeats accepted since new. Safe from any thread while the engine runs. */
uint64_t fc_freshness_heartbeats(const fc_freshness_t *self);
/* Fills the result's stale, last_fresh, stamps_bad, stamps_replayed and heartbeats. */
void fc_freshness_status(const fc_freshness_t *self, fc_agent_result_t *out);
/* Appends the staleness (if stale) to a REPORT message of size bytes. */
void fc_freshness_note(const fc_freshness_t *self, char *message, size_t size);

void fc_freshness_test(bool verbose);

#endif
