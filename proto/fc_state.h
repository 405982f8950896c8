/* fc_state.h: the states an agent reports in REPORT, as one table (name <-> value) that the
   codec, the broker, the agent and the CLI all read. */
#ifndef FC_STATE_H
#define FC_STATE_H

#include <stdbool.h>

/* X(value, name, meaning): the only list of agent states. docs/PROTOCOL.md (section 3.7)
   lists the same names; append only, since names travel on the wire and sit in brokers'
   databases. */
#define FC_STATE_TABLE(X)                                                                          \
    X(FC_STATE_UNKNOWN, "unknown", "seen (HELLO) but no REPORT yet")                               \
    X(FC_STATE_IDLE, "idle", "nothing to do, or an optional update waits for the operator")        \
    X(FC_STATE_CHECKING, "checking", "asking the broker for the latest release")                   \
    X(FC_STATE_DOWNLOADING, "downloading", "fetching the chunks of a release")                     \
    X(FC_STATE_INSTALLING, "installing", "verified; swapping the release in")                      \
    X(FC_STATE_INSTALLED, "installed", "the release just installed and passed its health check")   \
    X(FC_STATE_UP_TO_DATE, "up-to-date", "the latest release is installed")                        \
    X(FC_STATE_POSTPONED, "postponed", "the changing hook refused the install for now")            \
    X(FC_STATE_REJECTED, "rejected", "the release is refused (signature, trust, serial, ...)")     \
    X(FC_STATE_FAILED, "failed", "a fetch or install failed; retried later")                       \
    X(FC_STATE_STALE, "stale", "no fresh signed heartbeat from the broker in time")                \
    X(FC_STATE_ROLLED_BACK, "rolled-back",                                                         \
      "the release failed its changed hook or health check; the previous one is back")

#define FC_STATE_ENUM(value, name, meaning) value,
typedef enum { FC_STATE_TABLE(FC_STATE_ENUM) FC_STATE_COUNT } fc_state_t;
#undef FC_STATE_ENUM

/* The state's wire name (static); "?" for a value outside the table. */
const char *fc_state_name(fc_state_t state);
/* One line saying what the state means (static); "" outside the table. */
const char *fc_state_meaning(fc_state_t state);
/* The state named name (exact, case-sensitive): true and *state set, or false (name not in
   the table, or NULL) with *state left alone. */
bool fc_state_from_name(const char *name, fc_state_t *state);

void fc_state_test(bool verbose);

#endif
