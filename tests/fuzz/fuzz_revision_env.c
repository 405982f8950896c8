/* fuzz_revision_env.c: fuzz target for the signed config revision as it arrives: raw
   envelope bytes into fc_revision_parse, trusting the fixed key the corpus is signed with. */
#include "fc_error.h"
#include "fc_fuzz.h"
#include "fc_revision.h"
#include "fc_test_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fc_trust_t *trust = fc_fuzz_trust();
    int err = 0;
    fc_revision_t *rev = fc_revision_parse(data, size, trust, &err);
    FC_CHECK(rev ? err == FC_OK : err != FC_OK);
    fc_revision_destroy(&rev);
    fc_trust_destroy(&trust);
    return 0;
}
