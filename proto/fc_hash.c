/* fc_hash.c: BLAKE2b-256 hashing (libsodium crypto_generichash) and hex conversion. */
#include "fc_hash.h"
#include "fc_test_check.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

int fc_crypto_init(void)
{
    /* sodium_init returns 1 when already initialised: that is success for us. */
    return sodium_init() < 0 ? -1 : 0;
}

void fc_hash_buf(uint8_t out[FC_HASH_LEN], const void *buf, size_t len)
{
    crypto_generichash(out, FC_HASH_LEN, (const unsigned char *)buf, len, NULL, 0);
}

void fc_hash_of_chunks(uint8_t out[FC_HASH_LEN], const uint8_t (*chunk_hashes)[FC_HASH_LEN],
                       size_t nchunks)
{
    /* Streaming, so a file with a million chunks needs no concatenated copy. */
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, FC_HASH_LEN);
    for (size_t i = 0; i < nchunks; i++)
        crypto_generichash_update(&st, chunk_hashes[i], FC_HASH_LEN);
    crypto_generichash_final(&st, out, FC_HASH_LEN);
}

void fc_hex_encode(char *out, const uint8_t *buf, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[buf[i] >> 4];
        out[2 * i + 1] = digits[buf[i] & 0xf];
    }
    out[2 * len] = '\0';
}

char *fc_hash_hex(const uint8_t hash[FC_HASH_LEN], char out[2 * FC_HASH_LEN + 1])
{
    fc_hex_encode(out, hash, FC_HASH_LEN);
    return out;
}

static int s_nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int fc_hex_decode(uint8_t *out, size_t len, const char *hex)
{
    if (!hex)
        return -1;
    /* Exactly 2*len digits: a short or long string is a corrupt key or hash, not a prefix. */
    for (size_t i = 0; i < 2 * len; i++)
        if (s_nibble(hex[i]) < 0)
            return -1;
    if (hex[2 * len] != '\0')
        return -1;
    for (size_t i = 0; i < len; i++)
        out[i] = (uint8_t)(s_nibble(hex[2 * i]) << 4 | s_nibble(hex[2 * i + 1]));
    return 0;
}

bool fc_hash_equal(const uint8_t a[FC_HASH_LEN], const uint8_t b[FC_HASH_LEN])
{
    return sodium_memcmp(a, b, FC_HASH_LEN) == 0;
}

void fc_hash_test(bool verbose)
{
    printf(" * fc_hash: ");
    FC_CHECK(fc_crypto_init() == 0);
    FC_CHECK(fc_crypto_init() == 0); /* idempotent */

    uint8_t h[FC_HASH_LEN];
    char hex[2 * FC_HASH_LEN + 1];
    fc_hash_buf(h, "", 0);
    FC_CHECK(!strcmp(fc_hash_hex(h, hex),
                     "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8"));
    fc_hash_buf(h, "abc", 3);
    FC_CHECK(!strcmp(fc_hash_hex(h, hex),
                     "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319"));

    /* Hex round trip, upper case accepted. */
    uint8_t back[FC_HASH_LEN];
    FC_CHECK(fc_hex_decode(back, FC_HASH_LEN, hex) == 0);
    FC_CHECK(fc_hash_equal(back, h));
    char upper[sizeof hex];
    for (size_t i = 0; i < sizeof hex; i++)
        upper[i] = (hex[i] >= 'a' && hex[i] <= 'f') ? (char)(hex[i] - 32) : hex[i];
    memset(back, 0, sizeof back);
    FC_CHECK(fc_hex_decode(back, FC_HASH_LEN, upper) == 0);
    FC_CHECK(fc_hash_equal(back, h));

    /* Bad hex: wrong digit, too short, too long, NULL. */
    char bad[sizeof hex + 1];
    memcpy(bad, hex, sizeof hex);
    bad[10] = 'g';
    FC_CHECK(fc_hex_decode(back, FC_HASH_LEN, bad) == -1);
    memcpy(bad, hex, sizeof hex);
    bad[2 * FC_HASH_LEN - 1] = '\0';
    FC_CHECK(fc_hex_decode(back, FC_HASH_LEN, bad) == -1);
    memcpy(bad, hex, sizeof hex);
    bad[2 * FC_HASH_LEN] = '0';
    bad[2 * FC_HASH_LEN + 1] = '\0';
    FC_CHECK(fc_hex_decode(back, FC_HASH_LEN, bad) == -1);
    FC_CHECK(fc_hex_decode(back, FC_HASH_LEN, " 0") == -1);
    FC_CHECK(fc_hex_decode(back, FC_HASH_LEN, NULL) == -1);
    FC_CHECK(fc_hex_decode(back, 0, "") == 0);

    /* Equality is by content. */
    uint8_t h2[FC_HASH_LEN];
    memcpy(h2, h, sizeof h2);
    FC_CHECK(fc_hash_equal(h, h2));
    h2[31] ^= 1;
    FC_CHECK(!fc_hash_equal(h, h2));

    /* Hash of chunks equals the hash of the concatenated chunk hashes. */
    uint8_t chunks[3][FC_HASH_LEN];
    fc_hash_buf(chunks[0], "a", 1);
    fc_hash_buf(chunks[1], "b", 1);
    fc_hash_buf(chunks[2], "c", 1);
    uint8_t viaconcat[FC_HASH_LEN], viastream[FC_HASH_LEN];
    fc_hash_buf(viaconcat, chunks, sizeof chunks);
    fc_hash_of_chunks(viastream, (const uint8_t(*)[FC_HASH_LEN])chunks, 3);
    FC_CHECK(fc_hash_equal(viaconcat, viastream));
    /* An empty file's hash is the hash of the empty string. */
    fc_hash_of_chunks(viastream, NULL, 0);
    fc_hash_buf(viaconcat, "", 0);
    FC_CHECK(fc_hash_equal(viaconcat, viastream));
    /* Order matters. */
    uint8_t swapped[2][FC_HASH_LEN];
    memcpy(swapped[0], chunks[1], FC_HASH_LEN);
    memcpy(swapped[1], chunks[0], FC_HASH_LEN);
    uint8_t ab[FC_HASH_LEN], ba[FC_HASH_LEN];
    fc_hash_of_chunks(ab, (const uint8_t(*)[FC_HASH_LEN])chunks, 2);
    fc_hash_of_chunks(ba, (const uint8_t(*)[FC_HASH_LEN])swapped, 2);
    FC_CHECK(!fc_hash_equal(ab, ba));

    if (verbose)
        printf("(vectors, hex, chunks) ");
    printf("OK\n");
}
