/* fc_json_parse.h: the JSON reader: one JSON document (config values, schemas) into msgpack,
   over jansson with fleetcast's limits. */
#ifndef FC_JSON_PARSE_H
#define FC_JSON_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* JSON input (config values, schemas): parses one JSON document (RFC 8259, read by jansson;
   at most max bytes, depth at most 32, no NUL byte or \u0000, no duplicate keys, integers
   within int64 and floats within float64) into msgpack bytes (*out, malloc'd, the caller's
   to free). Objects become maps with keys in document order. 0, or FC_EPROTO / FC_ETOOBIG /
   FC_ENOMEM with *out NULL and, when errmsg is given, a message (naming line and column,
   unless the document is over max). */
int fc_json_to_msgpack(const char *text, size_t len, size_t max, uint8_t **out, size_t *outlen,
                       char *errmsg, size_t errsize);

/* Self-test of fc_json_to_msgpack (proto/fc_json_parse_test.c). */
void fc_json_parse_test(bool verbose);

#endif
