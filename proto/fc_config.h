/* fc_config.h: runtime configuration: typed values, signed revisions, the layered effective
   config an agent sees, diffs, and schemas. */
#ifndef FC_CONFIG_H
#define FC_CONFIG_H

#include "fc_json.h"
#include "fc_key.h"
#include "fc_limits.h"
#include <fleetcast/fc_value.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- values --------------------------------------------------------------------------- */
/* fc_val_type_t, fc_value_t (a value as its msgpack encoding), the typed reads and
   fc_diff_entry_t are public: include/fleetcast/fc_value.h. */
/* Parses operator text: a JSON literal (42, -1, 1.5, true, false, null, "quoted",
   {"a":1}, [1,2]) becomes that value; anything that is not valid JSON becomes a string.
   0 or fc_error_t (FC_ETOOBIG over FC_MAX_VALUE). */
int fc_value_from_text(fc_value_t *out, const char *text);
/* From msgpack bytes (validated with fc_mpack, copied). */
int fc_value_from_msgpack(fc_value_t *out, const uint8_t *mp, size_t len);
void fc_value_free(fc_value_t *v);
int fc_value_copy(fc_value_t *dst, const fc_value_t *src);
bool fc_value_equal(const fc_value_t *a, const fc_value_t *b);
/* Writes the value as JSON into j (as the next value). */
void fc_value_to_json(const fc_value_t *v, fc_json_t *j);

/* ---- revisions ------------------------------------------------------------------------ */
typedef enum {
    FC_REV_SET = 1,    /* set/unset keys in one scope */
    FC_REV_SCHEMA = 2, /* replace the schema (schema_json) */
    FC_REV_PROMOTE = 3 /* widen canary revision `target` to every matching agent */
} fc_rev_kind_t;

typedef struct {
    char key[FC_MAX_KEY + 1];
    bool unset;       /* true: remove the key from this scope's layer */
    fc_value_t value; /* when !unset */
} fc_change_t;

/* A config revision. Revision numbers are global (all scopes), strictly increasing: the
   broker accepts only latest + 1, agents refuse a number not above the last applied. */
typedef struct {
    uint64_t rev;
    fc_rev_kind_t kind;
    char scope[FC_MAX_SCOPE + 1]; /* "global", "group:NAME" or "agent:ID" */
    char message[FC_MAX_TEXT + 1];
    int64_t created;       /* unix seconds */
    uint32_t canary;       /* SET: percent of matching agents first; 0 = all */
    uint32_t halt_percent; /* SET with canary: failures among canaries that halt it (default 20) */
    uint64_t target;       /* PROMOTE: the revision promoted */
    fc_change_t *changes;  /* SET: sorted by key, unique; owned */
    size_t nchanges;
    char *schema_json;             /* SCHEMA: owned JSON text */
    uint8_t signer[FC_PUBKEY_LEN]; /* set by fc_revision_parse */
} fc_revision_t;

fc_revision_t *fc_revision_new(fc_rev_kind_t kind);
void fc_revision_destroy(fc_revision_t **self_p);
/* Adds a change (copying value); replaces an earlier change of the same key. 0 or FC_EINVAL
   (bad key: 1..FC_MAX_KEY of [A-Za-z0-9._-]) / FC_ETOOBIG. */
int fc_revision_set(fc_revision_t *self, const char *key, const fc_value_t *value);
int fc_revision_unset(fc_revision_t *self, const char *key);
/* Signed envelope [body, signer, signature] like a release manifest; NULL if invalid. */
uint8_t *fc_revision_sign(const fc_revision_t *self, const fc_signkey_t *key, size_t *len);
/* Verifies signature (against trust if non-NULL), bounds, key names, scope syntax, sorted
   changes. NULL with *err. */
fc_revision_t *fc_revision_parse(const uint8_t *buf, size_t len, const fc_trust_t *trust, int *err);
bool fc_key_valid(const char *key);
bool fc_scope_valid(const char *scope);
/* The kinds of scope, by their spelling: "global", "group:NAME", "agent:ID". */
typedef enum {
    FC_SCOPE_NONE = 0, /* none of these spellings */
    FC_SCOPE_GLOBAL,
    FC_SCOPE_GROUP,
    FC_SCOPE_AGENT
} fc_scope_kind_t;
/* The kind of scope by its spelling alone (fc_scope_valid also checks the name), and *name
   (may be NULL) set to the NAME or ID in scope ("" for global and none). The one place
   that knows how a scope is spelled. */
fc_scope_kind_t fc_scope_kind(const char *scope, const char **name);
/* true if scope applies to an agent with this id and group (group may be "" = none). */
bool fc_scope_matches(const char *scope, const char *agent_id, const char *group);
/* Stable canary membership: BLAKE2b(agent id) mod 100 < percent (percent 0 or >= 100: all). */
bool fc_canary_member(const char *agent_id, uint32_t percent);
/* An agent id's bucket, 0..99: the first 8 bytes of BLAKE2b-256(id), big-endian, mod 100. */
uint32_t fc_canary_bucket(const char *agent_id);
/* The smallest canary percentage >= percent that makes at least one of the n agents ids a
   member: percent itself when one already is (or percent is 0 or >= 100, or n is 0), else
   the lowest bucket + 1. Any percentage above 0 chooses at least one agent. */
uint32_t fc_canary_widen(const char *const *ids, size_t n, uint32_t percent);

/* ---- schema --------------------------------------------------------------------------- */
/* Schema JSON:
   {"keys": {"log.level": {"type": "string", "enum": ["debug","info","warn"], "reload": "hot"},
             "port":      {"type": "integer", "min": 1, "max": 65535, "reload": "restart"},
             "ratio":     {"type": "float", "min": 0, "max": 1}},
    "strict": false}
   type: string | integer | float | boolean | struct | any; reload: hot (default) | restart;
   strict: keys not listed are refused. */
typedef struct fc_schema_t fc_schema_t;
fc_schema_t *fc_schema_parse(const char *json, char *errmsg, size_t errsize);
void fc_schema_destroy(fc_schema_t **self_p);
/* 0, or FC_EINVAL with msg naming the key and the rule
   ("port: 70000 is above the maximum 65535", "log.level: 'loud' is not one of debug, info, warn").
 */
int fc_schema_check(const fc_schema_t *self, const char *key, const fc_value_t *value, char *msg,
                    size_t msgsize);
/* Checks every change of a SET revision; first violation wins. */
int fc_schema_check_revision(const fc_schema_t *self, const fc_revision_t *rev, char *msg,
                             size_t msgsize);
bool fc_schema_restart_only(const fc_schema_t *self, const char *key);

/* ---- the effective config of one agent ------------------------------------------------ */
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
