/* fc_test_blob.h: the id a publisher gives content, for self-tests that store or serve blobs. */
#ifndef FC_TEST_BLOB_H
#define FC_TEST_BLOB_H

#include "fc_hash.h"
#include <stddef.h>
#include <stdint.h>

/* Writes into blob the id of buf's len bytes: the hash of its chunk hashes, cut by content
   (fc_cdc) as a scanned manifest names it. buf is borrowed; aborts without memory. */
void fc_test_blob_id(uint8_t blob[FC_HASH_LEN], const uint8_t *buf, size_t len);

#endif
