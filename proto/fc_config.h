/* fc_config.h: the layered effective config one agent sees (its revisions folded into
   global < group < agent layers), diffs, and its file on disk; with the revisions, schemas
   and values it is made of. */
#ifndef FC_CONFIG_H
#define FC_CONFIG_H

#include "fc_config_value.h"
#include "fc_json.h"
#include "fc_key.h"
#include "fc_limits.h"
#include "fc_revision.h"
#include "fc_schema.h"
#include <fleetcast/fc_value.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Holds the revisions that match one agent (in rev order) and folds them into layers
   (global < group < agent: the most specific scope wins). A canary SET revision counts
   for this agent only if it is a member or the revision has been promoted. */
typedef struct fc_config_t fc_config_t;

fc_config_t *fc_config_new(const char *agent_id, const char *group);
void fc_config_destroy(fc_config_t **self_p);
fc_config_t *fc_config_dup(const fc_config_t *self);
/* Adds a verified revision (ownership of *rev_p taken; its signed bytes kept for saving).
   FC_ESERIAL if rev is not above the last one added; revisions whose scope does not match
   are recorded as seen (last_rev advances) but change nothing. */
int fc_config_add(fc_config_t *self, fc_revision_t **rev_p, const uint8_t *signed_bytes,
                  size_t len);
uint64_t fc_config_last_rev(const fc_config_t *self);
/* The broker halted canary revision rev: its values count for no one from now on (also in
   copies made after). true if that marked a held, unpromoted canary SET revision not yet
   marked (the effective config may have changed); false otherwise. Marks are not saved:
   the broker names its halted revisions in every CONFIG_SNAPSHOT. */
bool fc_config_halt(fc_config_t *self, uint64_t rev);
/* Effective value of key, or NULL. Borrowed until the next add. */
const fc_value_t *fc_config_get(const fc_config_t *self, const char *key);
size_t fc_config_size(const fc_config_t *self);
/* i-th key in sorted order (for iteration). */
const char *fc_config_key_at(const fc_config_t *self, size_t i);
const fc_schema_t *fc_config_schema(const fc_config_t *self); /* NULL if none */
/* Differences between two configs' effective values, sorted by key; *n set. The entries
   borrow from both configs. Returns malloc'd array (free()), NULL if no difference. */
fc_diff_entry_t *fc_config_diff(const fc_config_t *before, const fc_config_t *after, size_t *n);
/* Diff as JSON: {"rev": N, "changes": [{"key":..., "old":..., "new":..., "restart": bool}]}. */
void fc_config_diff_json(const fc_diff_entry_t *d, size_t n, uint64_t rev, fc_json_t *j);
/* Effective config as one JSON object {"key": value, ...} with "_rev" = last rev. */
void fc_config_to_json(const fc_config_t *self, fc_json_t *j);
/* Persists every kept signed revision to path (atomically) / loads and re-verifies them. */
int fc_config_save(const fc_config_t *self, const char *path);
fc_config_t *fc_config_load(const char *path, const char *agent_id, const char *group,
                            const fc_trust_t *trust, int *err);

void fc_config_test(bool verbose);
/* Self-test of schemas (proto/fc_schema_test.c); fc_config_test runs it. */
void fc_config_schema_test(bool verbose);

#endif
