/* fc_fuzz.h: what the fuzz targets share: the libFuzzer entry point, the fixed test key and
   the trust list of it. */
#ifndef FC_FUZZ_H
#define FC_FUZZ_H

#include "fc_key.h"
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Every target defines this; libFuzzer calls it, and so does fc_fuzz_replay.c without it. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The fixed key the corpora are signed with, so a target that signs its input as a body
   (or replays a signed envelope) gets past the signature to the parser. */
static inline void fc_fuzz_key(fc_signkey_t *key)
{
    uint8_t seed[32];
    memset(seed, 0x5a, sizeof seed);
    fc_signkey_from_seed(key, seed);
}

/* A trust list of the fixed key alone (the caller's, fc_trust_destroy): the signer every
   target's parser must accept. */
static inline fc_trust_t *fc_fuzz_trust(void)
{
    fc_signkey_t key;
    fc_fuzz_key(&key);
    fc_trust_t *trust = fc_trust_new();
    fc_trust_add(trust, key.pk);
    return trust;
}

#endif
