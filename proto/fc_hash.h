/* fc_hash.h: BLAKE2b-256 hashing of buffers, chunks and files, and hex conversion. */
#ifndef FC_HASH_H
#define FC_HASH_H

#include "fc_limits.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Must be called once before any other fleetcast function (wraps sodium_init). 0 or -1. */
int fc_crypto_init(void);

/* out = BLAKE2b-256(buf). */
void fc_hash_buf(uint8_t out[FC_HASH_LEN], const void *buf, size_t len);

/* A file's hash is BLAKE2b-256 over the concatenation of its chunk hashes (in order), so it
   can be checked from verified chunks without reading the file again. */
void fc_hash_of_chunks(uint8_t out[FC_HASH_LEN], const uint8_t (*chunk_hashes)[FC_HASH_LEN],
                       size_t nchunks);

/* Hex of a hash: out must hold 2*FC_HASH_LEN+1. Returns out. */
char *fc_hash_hex(const uint8_t hash[FC_HASH_LEN], char out[2 * FC_HASH_LEN + 1]);
/* Parses hex of exactly 2*len chars into out; 0 or -1. */
int fc_hex_decode(uint8_t *out, size_t len, const char *hex);
/* Hex of any bytes into out (2*len+1). */
void fc_hex_encode(char *out, const uint8_t *buf, size_t len);

/* Constant-time compare of two hashes. */
bool fc_hash_equal(const uint8_t a[FC_HASH_LEN], const uint8_t b[FC_HASH_LEN]);

void fc_hash_test(bool verbose);

#endif
