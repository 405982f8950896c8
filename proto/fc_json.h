/* fc_json.h: a small JSON writer for --json output and state files (the reader is
   fc_json_parse.h). */
#ifndef FC_JSON_H
#define FC_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Builds one JSON document into a growing buffer. Commas are inserted automatically.
   Usage: fc_json_t *j = fc_json_new(); fc_json_open(j); fc_json_key_str(j, "a", "x");
   fc_json_key(j, "list"); fc_json_open_array(j); fc_json_int(j, 3); fc_json_close_array(j);
   fc_json_close(j); puts(fc_json_text(j)); fc_json_destroy(&j); */
typedef struct fc_json_t fc_json_t;

fc_json_t *fc_json_new(void);
void fc_json_destroy(fc_json_t **self_p);
void fc_json_open(fc_json_t *self);                   /* { */
void fc_json_close(fc_json_t *self);                  /* } */
void fc_json_open_array(fc_json_t *self);             /* [ */
void fc_json_close_array(fc_json_t *self);            /* ] */
void fc_json_key(fc_json_t *self, const char *key);   /* "key": (next value follows) */
void fc_json_str(fc_json_t *self, const char *value); /* escaped; NULL writes null */
void fc_json_int(fc_json_t *self, int64_t value);
void fc_json_uint(fc_json_t *self, uint64_t value);
void fc_json_double(fc_json_t *self, double value);
void fc_json_bool(fc_json_t *self, bool value);
void fc_json_null(fc_json_t *self);
/* Shorthands for a key followed by a value. */
void fc_json_key_str(fc_json_t *self, const char *key, const char *value);
void fc_json_key_int(fc_json_t *self, const char *key, int64_t value);
void fc_json_key_uint(fc_json_t *self, const char *key, uint64_t value);
void fc_json_key_double(fc_json_t *self, const char *key, double value);
void fc_json_key_bool(fc_json_t *self, const char *key, bool value);
/* The text so far (borrowed; valid until the next call). */
const char *fc_json_text(const fc_json_t *self);

void fc_json_test(bool verbose);

#endif
