/* fuzz_manifest_env.c: fuzz target for the signed manifest as it arrives: raw envelope bytes
   into fc_manifest_parse, trusting the fixed key the corpus is signed with. */
#include "fc_error.h"
#include "fc_fuzz.h"
#include "fc_manifest.h"
#include "fc_test_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fc_trust_t *trust = fc_fuzz_trust();
    int err = 0;
    fc_manifest_t *m = fc_manifest_parse(data, size, trust, &err);
    FC_CHECK(m ? err == FC_OK : err != FC_OK);
    fc_manifest_destroy(&m);
    fc_trust_destroy(&trust);
    return 0;
}
