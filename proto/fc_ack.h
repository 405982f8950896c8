/* fc_ack.h: the outcomes an agent acknowledges a config revision with (CONFIG_ACK), as one
   table (name <-> value, and what each outcome means to the broker) that the codec, the
   broker, the agent and the CLI all read. */
#ifndef FC_ACK_H
#define FC_ACK_H

#include <stdbool.h>

/* What an outcome means beyond its name. */
#define FC_ACK_F_SENT 1u    /* an agent may send it in CONFIG_ACK (else the broker's own) */
#define FC_ACK_F_FAILURE 2u /* a canary ack that counts towards halting the revision */
#define FC_ACK_F_ENDS 4u    /* the agent is done restarting for the revision: frees its slot */

/* X(value, name, flags, meaning): the only list of ack outcomes, in the order the CLI
   prints them. docs/PROTOCOL.md (CONFIG_ACK) lists the FC_ACK_F_SENT ones with the same
   meanings, and doc.protocol checks it; names travel on the wire and sit in brokers'
   databases, so never rename one (values do not travel: order is free). */
#define FC_ACK_TABLE(X)                                                                            \
    X(FC_ACK_APPLIED, "applied", FC_ACK_F_SENT,                                                    \
      "the Changed handler accepted the new values; they are in force")                            \
    X(FC_ACK_RESTARTED, "restarted", FC_ACK_F_SENT | FC_ACK_F_ENDS,                                \
      "a handler vetoed, or a restart-only key (per schema) changed: the new config was "          \
      "written and the restart command ran")                                                       \
    X(FC_ACK_VETOED, "vetoed", FC_ACK_F_SENT | FC_ACK_F_FAILURE | FC_ACK_F_ENDS,                   \
      "a Changing handler refused and the change was not applied")                                 \
    X(FC_ACK_FAILED, "failed", FC_ACK_F_SENT | FC_ACK_F_FAILURE | FC_ACK_F_ENDS,                   \
      "the Changed handler (or the restart) failed: the previous config stays in force")           \
    X(FC_ACK_RESTART_REQUIRED, "restart-required", FC_ACK_F_SENT,                                  \
      "a restart is needed but the agent has no restart command: the previous values stay in "     \
      "force")                                                                                     \
    X(FC_ACK_UNCHANGED, "unchanged", FC_ACK_F_SENT,                                                \
      "the revision does not change this agent's effective config; nothing ran")                   \
    X(FC_ACK_PENDING, "pending", 0u, "no ack from the agent yet (CONFIG_STATUS_REPLY only)")

#define FC_ACK_ENUM(value, name, flags, meaning) value,
typedef enum { FC_ACK_TABLE(FC_ACK_ENUM) FC_ACK_COUNT } fc_ack_t;
#undef FC_ACK_ENUM

/* The outcome's wire name (static); "?" for a value outside the table. */
const char *fc_ack_name(fc_ack_t ack);
/* One line saying what the outcome means (static); "" outside the table. */
const char *fc_ack_meaning(fc_ack_t ack);
/* Whether the outcome has every FC_ACK_F_* bit of flags; false outside the table. */
bool fc_ack_is(fc_ack_t ack, unsigned flags);
/* The outcome named name (exact, case-sensitive): true and *ack set, or false (name not in
   the table, or NULL) with *ack left alone. */
bool fc_ack_from_name(const char *name, fc_ack_t *ack);
/* As fc_ack_from_name, for a name an agent may send (FC_ACK_F_SENT): what CONFIG_ACK
   carries. "pending" is refused: it is the broker's word for no ack. */
bool fc_ack_from_agent(const char *name, fc_ack_t *ack);

void fc_ack_test(bool verbose);

#endif
