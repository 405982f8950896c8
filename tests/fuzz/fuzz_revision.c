/* fuzz_revision.c: fuzz target for the config revision body parser: the input is signed
   with the fixed key as a body; an accepted revision is folded into an agent's config and
   a schema revision's JSON is parsed. */
#include "fc_config.h"
#include "fc_envelope.h"
#include "fc_error.h"
#include "fc_fuzz.h"
#include "fc_json.h"
#include "fc_test_check.h"
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fc_signkey_t key;
    fc_fuzz_key(&key);
    size_t len = 0;
    uint8_t *env = fc_envelope_seal(data, size, &key, FC_MAX_REVISION, &len);
    if (!env)
        return 0;
    fc_trust_t *trust = fc_fuzz_trust();
    int err = 0;
    fc_revision_t *rev = fc_revision_parse(env, len, trust, &err);
    if (rev) {
        if (rev->kind == FC_REV_SCHEMA) {
            char msg[256];
            fc_schema_t *schema = fc_schema_parse(rev->schema_json, msg, sizeof msg);
            fc_schema_destroy(&schema);
        }
        /* Re-signing what was accepted gives a revision that parses again. */
        size_t relen = 0;
        uint8_t *again = fc_revision_sign(rev, &key, &relen);
        FC_CHECK(again);
        fc_revision_t *back = fc_revision_parse(again, relen, trust, &err);
        FC_CHECK(back && back->rev == rev->rev && back->nchanges == rev->nchanges);
        fc_revision_destroy(&back);
        free(again);

        fc_config_t *config = fc_config_new("agent-1", "edge");
        if (fc_config_add(config, &rev, env, len) == FC_OK) {
            fc_json_t *j = fc_json_new();
            fc_config_to_json(config, j);
            fc_json_destroy(&j);
        }
        fc_revision_destroy(&rev);
        fc_config_destroy(&config);
    } else
        FC_CHECK(err != FC_OK && err != FC_EBADSIG && err != FC_EUNTRUSTED);
    fc_trust_destroy(&trust);
    free(env);
    return 0;
}
