/* fc_history.h: the publisher's copy of the config revision history: fetched from the broker
   with CONFIG_SYNC, then folded into one scope's layer or one agent's effective config as of
   any revision (get, diff, rollback and schema checks all work on it client-side). */
#ifndef FC_HISTORY_H
#define FC_HISTORY_H

#include "fc_client.h"
#include "fc_config.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct fc_history_t fc_history_t;

/* One key of a layer. */
typedef struct {
    char key[FC_MAX_KEY + 1];
    fc_value_t value; /* owned */
} fc_layer_entry_t;

/* The values one scope sets itself (not inherited), sorted by key. Owned by the caller:
   fc_layer_free releases it. */
typedef struct {
    fc_layer_entry_t *entries;
    size_t n;
} fc_layer_t;

fc_history_t *fc_history_new(void);
void fc_history_destroy(fc_history_t **self_p);

/* Adds one signed revision (its signature is verified; the publisher holds no trust list,
   the agents do). Revisions must come in increasing order: one not above the last is
   skipped (0). 0, or the fc_error_t of fc_revision_parse. */
int fc_history_add(fc_history_t *self, const uint8_t *buf, size_t len);

/* Fetches the revisions with CONFIG_SYNC, following "more to come" replies. agent_id "":
   every revision (the publisher's view); else the revisions that agent sees, with group ""
   letting the broker fill in the group the agent last reported. 0, or fc_error_t with a
   one-line reason in msg. */
int fc_history_fetch(fc_history_t *self, fc_client_t *client, const char *agent_id,
                     const char *group, int timeout_ms, char *msg, size_t msgsize);

/* The latest revision number: the broker's (CONFIG_SNAPSHOT.serial) or the last one held. */
uint64_t fc_history_latest(const fc_history_t *self);
size_t fc_history_size(const fc_history_t *self);
/* i-th revision in rev order, borrowed; NULL past the end. */
const fc_revision_t *fc_history_at(const fc_history_t *self, size_t i);
/* The revision numbered rev, borrowed; NULL if not held. */
const fc_revision_t *fc_history_find(const fc_history_t *self, uint64_t rev);
/* The group named by any "group:NAME" scope among the revisions ("" if none): for an
   agent's history, the group the broker matched it with. Borrowed. */
const char *fc_history_group(const fc_history_t *self);
/* true if a PROMOTE revision at or below upto (0: any) widens revision rev. */
bool fc_history_promoted(const fc_history_t *self, uint64_t rev, uint64_t upto);
/* true if the broker named canary revision rev halted (in the last CONFIG_SNAPSHOT fetched):
   its values count for no one, in layers and agent configs alike. set: replaces the list
   (n numbers from revs). */
bool fc_history_halted(const fc_history_t *self, uint64_t rev);
void fc_history_set_halted(fc_history_t *self, const uint64_t *revs, size_t n);

/* The schema in force at upto (0: the latest): the last SCHEMA revision at or below it,
   parsed. NULL if there is none (*err 0) or it does not parse (*err FC_EINVAL, msg says why). */
fc_schema_t *fc_history_schema(const fc_history_t *self, uint64_t upto, char *msg, size_t msgsize,
                               int *err);

/* Folds the SET revisions of exactly this scope up to upto (0: all) into out. A canary
   revision counts once promoted, or always with include_canary (what its members see); a
   halted one never. */
void fc_history_layer(const fc_history_t *self, const char *scope, uint64_t upto,
                      bool include_canary, fc_layer_t *out);
const fc_value_t *fc_layer_get(const fc_layer_t *layer, const char *key);
void fc_layer_free(fc_layer_t *layer);

/* The effective config of an agent (id, group) from the revisions up to upto (0: all),
   folded by fc_config_t, halted canaries left out. NULL with *err. Caller destroys. */
fc_config_t *fc_history_config(const fc_history_t *self, const char *agent_id, const char *group,
                               uint64_t upto, int *err);

void fc_history_test(bool verbose);

#endif
