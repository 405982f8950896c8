/* fc_agent.h: the agent engine inside the tree: the public API (include/fleetcast/
   fleetcast.h) and what only fleetcast-agent, fleetcast-fleetsim and the self-tests use. Not
   installed. */
#ifndef FC_AGENT_H
#define FC_AGENT_H

#include "fc_config.h"
#include "fc_key.h"
#include "fc_limits.h"
#include <fleetcast/fleetcast.h>
#include <stdbool.h>

/* Bytes of chunk requests in flight when the config says 0. */
#define FC_AGENT_DEFAULT_WINDOW (4u * 1024u * 1024u)

/* Fleet simulators only (fleetcast-fleetsim: many engines sharing one disk): fetch and verify
   every chunk but write none, so "installed" trees are sparse files of the right size that
   read as zeros. Never in a real agent; off unless called (before the engine runs). */
void fc_agent_sim_discard(fc_agent_t *self, bool on);
/* Fleet simulators only: the engine's loop wakes at least every ms milliseconds when
   nothing happens (0: the agent's 100). Replies and announcements wake it at once either
   way; a longer tick makes its timers (re-sends, reports) fire up to that much later and
   lets more idle engines share a core. Before the engine runs. */
void fc_agent_sim_tick(fc_agent_t *self, int ms);

/* fleetcast-agent --status-file: from now on the engine keeps its status (state, version,
   progress, last error) in the JSON file path, rewritten atomically (fc_status_file.h).
   Writes it once now: 0, or -1 with errno if that fails (then no file is kept). */
int fc_agent_status_file(fc_agent_t *self, const char *path);

/* Asks the running engine to reload what it read from files at start (the --trust keys);
   async-signal-safe: fleetcast-agent calls it from its SIGHUP handler. The engine's loop
   does the work, between two events, without dropping a transfer. */
void fc_agent_reload(fc_agent_t *self);

/* fleetcast-agent under systemd's watchdog (WatchdogSec=): from now on the engine's own loop
   calls fn(arg) on its thread every every_ms (late by a poll tick, 100 ms, at most, unless
   work in the loop holds it) while it turns, so a wedged engine stops answering and systemd
   restarts it. A hook runs on the engine's thread and holds the loop up to --hook-timeout:
   the watchdog's interval must be longer. fn NULL: none. Call before the engine runs. */
typedef void(fc_agent_alive_fn)(void *arg);
void fc_agent_on_alive(fc_agent_t *self, fc_agent_alive_fn *fn, void *arg, uint64_t every_ms);

void fc_agent_test(bool verbose);

#endif
