/* fc_role.h: the roles a peer names in HELLO, as one table (name <-> value) that the codec,
   the broker and every program read. */
#ifndef FC_ROLE_H
#define FC_ROLE_H

#include <stdbool.h>

/* X(value, bit, name, meaning): the only list of HELLO roles. docs/PROTOCOL.md (section
   3.1) lists the same names and meanings; doc.protocol checks it. Append only: names travel
   on the wire. Each value is a bit of its own, so that a set of roles, such as those of an
   enrolled key (broker/fc_keyring.h), is an OR of them; fc_role.c checks it. */
#define FC_ROLE_TABLE(X)                                                                           \
    X(FC_ROLE_AGENT, 1, "agent", "a fleet machine's agent: follows releases and config, reports")  \
    X(FC_ROLE_PUBLISHER, 2, "publisher",                                                           \
      "an operator's program: pushes releases, config and trust lists, reads status")              \
    X(FC_ROLE_RELAY, 4, "relay",                                                                   \
      "a relay broker: follows releases for the agents behind it (section 3.16)")

/* FC_ROLE_NONE (0) is no role: never on the wire, so a HELLO whose role was never set
   cannot be encoded. FC_ROLE_END is one past the largest value: values below it that the
   table does not name (3) are not roles. */
#define FC_ROLE_ENUM(value, bit, name, meaning) value = bit,
typedef enum { FC_ROLE_NONE = 0, FC_ROLE_TABLE(FC_ROLE_ENUM) FC_ROLE_END } fc_role_t;
#undef FC_ROLE_ENUM

/* The role's wire name (static); "?" for FC_ROLE_NONE and values outside the table. */
const char *fc_role_name(fc_role_t role);
/* One line saying what the role is (static); "" outside the table. */
const char *fc_role_meaning(fc_role_t role);
/* true if role is one of the table's (FC_ROLE_NONE is not). */
bool fc_role_valid(fc_role_t role);
/* The role named name (exact, case-sensitive): true and *role set, or false (name not in
   the table, or NULL) with *role left alone. */
bool fc_role_from_name(const char *name, fc_role_t *role);
/* The directory under a broker's DATA/keys that enrols keys with role ("agents",
   "publishers", "relays": the broker's keyring, `fleetcast keys` and the database's mirror
   all name them here); NULL for a role that has none. */
const char *fc_role_keys_dir(fc_role_t role);

void fc_role_test(bool verbose);

#endif
