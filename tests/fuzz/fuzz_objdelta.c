/* fuzz_objdelta.c: fuzz target for applying an object delta (proto/fc_objdelta.h), hostile
 * input the agent reads from OBJECT_DELTA: [base length:u16 be][base][delta]. */
#include "fc_error.h"
#include "fc_fuzz.h"
#include "fc_limits.h"
#include "fc_objdelta.h"
#include "fc_test_check.h"
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t blen = ((size_t)data[0] << 8) | data[1];
    if (blen > size - 2)
        blen = size - 2;
    const uint8_t *base = data + 2, *delta = base + blen;
    size_t dlen = size - 2 - blen;
    uint8_t *out = NULL;
    size_t len = 0;
    int rc = fc_objdelta_apply(base, blen, delta, dlen, FC_MAX_OBJECT, &out, &len);
    FC_CHECK(rc == FC_OK || rc == FC_EPROTO || rc == FC_ETOOBIG || rc == FC_ENOMEM);
    if (rc == FC_OK) {
        FC_CHECK(len <= FC_MAX_OBJECT);
        free(out);
    }
    return 0;
}
