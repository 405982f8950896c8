/* fuzz_schema.c: fuzz target for the JSON reader and the schema parser; an accepted schema
   then checks a few values against itself. */
#include "fc_config_value.h"
#include "fc_error.h"
#include "fc_fuzz.h"
#include "fc_json_parse.h"
#include "fc_schema.h"
#include "fc_test_check.h"
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char msg[256];
    uint8_t *mp = NULL;
    size_t mplen = 0;
    /* The JSON reader takes a length: no terminator needed, and none is read past. */
    if (fc_json_to_msgpack((const char *)data, size, FC_MAX_VALUE, &mp, &mplen, msg, sizeof msg) ==
        FC_OK) {
        fc_value_t v;
        if (fc_value_from_msgpack(&v, mp, mplen) == FC_OK)
            fc_value_free(&v);
        free(mp);
    }
    /* The schema parser takes a C string. */
    char *text = malloc(size + 1);
    FC_CHECK(text);
    memcpy(text, data, size);
    text[size] = 0;
    fc_schema_t *schema = fc_schema_parse(text, msg, sizeof msg);
    if (schema) {
        fc_value_t v;
        const char *samples[] = {"42", "\"info\"", "1.5", "true", "{\"a\":[1]}"};
        for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
            if (fc_value_from_text(&v, samples[i]) != FC_OK)
                continue;
            (void)fc_schema_check(schema, "port", &v, msg, sizeof msg);
            (void)fc_schema_check(schema, "log.level", &v, msg, sizeof msg);
            fc_value_free(&v);
        }
        (void)fc_schema_restart_only(schema, "port");
        fc_schema_destroy(&schema);
    }
    free(text);
    return 0;
}
