/* fc_db_keys.h: the enrolled CURVE keys kept in the database (table enrolled_keys), written by
   `fleetcast keys ... --store DB` and mirrored by every broker on that database into its own
   keys/<role>/ (broker/fc_store_keys.c), so one enrolment reaches every broker of a fleet. */
#ifndef FC_DB_KEYS_H
#define FC_DB_KEYS_H

#include "fc_db.h"
#include <stdbool.h>
#include <stdint.h>

/* Every change to the table notifies this channel (PostgreSQL) in its own transaction: the
   brokers' LISTEN threads (fc_store_listen.h, the same channel) wake and mirror at once. */
#define FC_DB_KEYS_CHANNEL "fleetcast"

/* The tables, made if missing (both statements are idempotent): enrolled_keys(pubkey Z85,
   role "agent"|"publisher"|"relay", name, added unix seconds), and enrolled_keys_serial's
   one row, moved on by every change so a broker reads the whole table only when it moved.
   An FC_DB_ code. Inside or outside a transaction. */
int fc_db_keys_init(fc_db_t *db);

/* Enrols key (Z85, checked by the caller) for role (a fc_role_name) under name (a label:
   the file or key it came from), replacing its row if there; moves the serial on and
   notifies, in one transaction of its own. An FC_DB_ code. */
int fc_db_keys_add(fc_db_t *db, const char *key, const char *role, const char *name);
/* Removes key whatever its role; *removed gets how many rows (0: it was not enrolled, and
   nothing moves). One transaction of its own. An FC_DB_ code. */
int fc_db_keys_revoke(fc_db_t *db, const char *key, int *removed);
/* The table's serial (0 when nothing was ever enrolled). An FC_DB_ code. */
int fc_db_keys_serial(fc_db_t *db, uint64_t *serial);

/* Calls fn for every row, by role then key; the strings are borrowed for the call only.
   fn returns false to stop. An FC_DB_ code. */
typedef bool(fc_db_keys_fn)(const char *key, const char *role, const char *name, int64_t added,
                            void *arg);
int fc_db_keys_each(fc_db_t *db, fc_db_keys_fn *fn, void *arg);

#endif
