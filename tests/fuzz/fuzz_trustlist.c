/* fuzz_trustlist.c: fuzz target for the trusted-key list body parser (key rotation): the
   input is signed with the fixed key as a body; an accepted list must seal and open again
   to the same keys. */
#include "fc_envelope.h"
#include "fc_error.h"
#include "fc_fuzz.h"
#include "fc_test_check.h"
#include "fc_trustlist.h"
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fc_signkey_t key;
    fc_fuzz_key(&key);
    size_t len = 0;
    uint8_t *env = fc_envelope_seal(data, size, &key, FC_MAX_TRUSTLIST, &len);
    if (!env)
        return 0;
    fc_trust_t *trust = fc_fuzz_trust();
    fc_trustlist_t list;
    int err = fc_trustlist_open(env, len, trust, &list);
    if (err == FC_OK) {
        FC_CHECK(list.nkeys >= 1 && list.nkeys <= FC_MAX_TRUST_KEYS && list.serial >= 1);
        FC_CHECK(memcmp(list.signer, key.pk, FC_PUBKEY_LEN) == 0);
        /* What was accepted re-seals, and opens again to the same list. */
        size_t len2 = 0;
        uint8_t *again = fc_trustlist_seal(&list, &key, &len2);
        FC_CHECK(again);
        fc_trustlist_t list2;
        FC_CHECK(fc_trustlist_open(again, len2, trust, &list2) == FC_OK);
        FC_CHECK(list2.serial == list.serial && list2.nkeys == list.nkeys);
        FC_CHECK(memcmp(list2.keys, list.keys, list.nkeys * FC_PUBKEY_LEN) == 0);
        fc_trust_t *as_trust = fc_trustlist_trust(&list);
        FC_CHECK(as_trust && fc_trust_size(as_trust) == list.nkeys);
        fc_trust_destroy(&as_trust);
        free(again);
    }
    free(env);
    fc_trust_destroy(&trust);
    return 0;
}
