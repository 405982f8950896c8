/* fc_revision.h: signed config revisions (atomic multi-key change sets, schema replacements,
   canary promotions) and the scopes they apply to. */
#ifndef FC_REVISION_H
#define FC_REVISION_H

#include "fc_key.h"
#include "fc_limits.h"
#include <fleetcast/fc_value.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

#endif
