/* fc_config_value.h: config values, the internal half: parse operator text, copy, compare,
   render as JSON (the public half, the type and its typed reads, is
   include/fleetcast/fc_value.h). */
#ifndef FC_CONFIG_VALUE_H
#define FC_CONFIG_VALUE_H

#include "fc_json.h"
#include <fleetcast/fc_value.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

#endif
