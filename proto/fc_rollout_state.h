/* fc_rollout_state.h: the states of a release rollout, as one table (name <-> value) that the
   codec, the broker and the CLI all read. */
#ifndef FC_ROLLOUT_STATE_H
#define FC_ROLLOUT_STATE_H

#include <stdbool.h>

/* X(value, name, meaning): the only list of rollout states. docs/PROTOCOL.md (ROLLOUT_STATUS)
   lists the same names; append only, since names travel on the wire and sit in brokers'
   databases. */
#define FC_ROLLOUT_STATE_TABLE(X)                                                                  \
    X(FC_ROLLOUT_ROLLING, "ROLLING", "waves are being offered; the next starts by itself")         \
    X(FC_ROLLOUT_WAITING_PROMOTE, "WAITING-PROMOTE",                                               \
      "a canary wave is offered; the rest waits for release promote")                              \
    X(FC_ROLLOUT_PAUSED, "PAUSED", "no wave starts until release resume")                          \
    X(FC_ROLLOUT_HALTED, "HALTED",                                                                 \
      "too many agents of a wave failed: no further agent is offered")                             \
    X(FC_ROLLOUT_DONE, "DONE", "every wave was offered and completed")

#define FC_ROLLOUT_STATE_ENUM(value, name, meaning) value,
typedef enum {
    FC_ROLLOUT_STATE_TABLE(FC_ROLLOUT_STATE_ENUM) FC_ROLLOUT_STATE_COUNT
} fc_rollout_state_t;
#undef FC_ROLLOUT_STATE_ENUM

/* The state's wire name (static); "?" for a value outside the table. */
const char *fc_rollout_state_name(fc_rollout_state_t state);
/* One line saying what the state means (static); "" outside the table. */
const char *fc_rollout_state_meaning(fc_rollout_state_t state);
/* The state named name (exact): true and *state set, or false with *state left alone. */
bool fc_rollout_state_from_name(const char *name, fc_rollout_state_t *state);

void fc_rollout_state_test(bool verbose);

#endif
