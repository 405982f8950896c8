/* fc_test_blob.c: the id a publisher gives content, for self-tests that store or serve blobs. */
#include "fc_test_blob.h"
#include "fc_cdc.h"
#include "fc_test_check.h"

#include <stdlib.h>

void fc_test_blob_id(uint8_t blob[FC_HASH_LEN], const uint8_t *buf, size_t len)
{
    fc_cdc_t cdc;
    fc_cdc_init(&cdc, len);
    uint8_t(*hashes)[FC_HASH_LEN] = calloc(len / FC_CDC_MIN + 1, FC_HASH_LEN);
    FC_CHECK(hashes);
    size_t n = 0;
    for (size_t off = 0, c; off < len; off += c)
        fc_hash_buf(hashes[n++], buf + off, c = fc_cdc_cut(&cdc, buf + off, len - off));
    fc_hash_of_chunks(blob, (const uint8_t(*)[FC_HASH_LEN])hashes, n);
    free(hashes);
}
