/* fc_schema.h: config schemas (each key's type, bounds and reload kind) and the rule every
   config key follows. */
#ifndef FC_SCHEMA_H
#define FC_SCHEMA_H

#include "fc_revision.h"
#include <fleetcast/fc_value.h>
#include <stdbool.h>
#include <stddef.h>

/* Schema JSON:
   {"keys": {"log.level": {"type": "string", "enum": ["debug","info","warn"], "reload": "hot"},
             "port":      {"type": "integer", "min": 1, "max": 65535, "reload": "restart"},
             "ratio":     {"type": "float", "min": 0, "max": 1}},
    "strict": false}
   type: string | integer | float | boolean | struct | any; reload: hot (default) | restart;
   strict: keys not listed are refused. */
typedef struct fc_schema_t fc_schema_t;
/* A config key: 1..FC_MAX_KEY of [A-Za-z0-9._-], and not "_rev" (fc_schema.c: revisions and
   schemas both name keys). */
bool fc_key_valid(const char *key);
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

#endif
