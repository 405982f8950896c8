/* fc_value.h: a runtime config value and one entry of a config diff, as libfleetcast's
   Changing/Changed callbacks see them (public; proto/fc_config.h builds on it). */
#ifndef FC_VALUE_H
#define FC_VALUE_H

#include "fc_export.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A value is kept as its msgpack encoding (one object: nil, bool, int, float, str, or an
   array/map of those), so equality is byte equality and it travels unchanged. */
typedef enum {
    FC_VAL_NIL,
    FC_VAL_BOOL,
    FC_VAL_INT,
    FC_VAL_FLOAT,
    FC_VAL_STRING,
    FC_VAL_STRUCT /* array or map */
} fc_val_type_t;

typedef struct {
    uint8_t *mp; /* owned msgpack bytes */
    size_t len;
} fc_value_t;

FC_EXPORT fc_val_type_t fc_value_type(const fc_value_t *v);
FC_EXPORT const char *fc_val_type_name(fc_val_type_t t); /* "integer", "string", ... */
/* Typed reads: 0, or FC_EINVAL if the value is not of that type. get_str returns a malloc'd
   copy, the caller frees it. */
FC_EXPORT int fc_value_get_bool(const fc_value_t *v, bool *out);
FC_EXPORT int fc_value_get_int(const fc_value_t *v, int64_t *out);
FC_EXPORT int fc_value_get_double(const fc_value_t *v, double *out); /* ints convert */
FC_EXPORT int fc_value_get_str(const fc_value_t *v, char **out);

/* One key of a config change; its values are borrowed from the diff. */
typedef struct {
    const char *key;
    const fc_value_t *old_value; /* NULL if absent before */
    const fc_value_t *new_value; /* NULL if absent after */
    bool restart_only;           /* per the schema in force after the change */
} fc_diff_entry_t;

#endif
