/* fc_key.h: Ed25519 publisher signing keys, key files, and the list of keys an agent trusts. */
#ifndef FC_KEY_H
#define FC_KEY_H

#include "fc_limits.h"
#include <fleetcast/fc_trust.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* File formats (text, one line each):
     signing.key: "fleetcast-signing-secret-v1 <128 hex chars: libsodium secret key>"
     signing.pub: "fleetcast-signing-public-v1 <64 hex chars>"
   A trust file holds one or more public lines (blank lines and '#' comments allowed). */

typedef struct {
    uint8_t pk[FC_PUBKEY_LEN];
    uint8_t sk[FC_SECKEY_LEN];
} fc_signkey_t;

/* Fresh key pair. */
void fc_signkey_generate(fc_signkey_t *key);
/* The key pair derived from a 32-byte seed: the same seed gives the same key. For tests and
   fuzz targets that need a fixed key; never for real keys. */
void fc_signkey_from_seed(fc_signkey_t *key, const uint8_t seed[32]);
/* Writes DIR/signing.key (mode 0600) and DIR/signing.pub; creates DIR (0700) if missing.
   Refuses (FC_EINVAL) to overwrite an existing signing.key. Returns fc_error_t. */
int fc_signkey_save(const fc_signkey_t *key, const char *dir);
/* Loads a secret key file; returns fc_error_t (FC_EIO unreadable, FC_EPROTO bad format). */
int fc_signkey_load(fc_signkey_t *key, const char *path);
/* Zeroes the secret. */
void fc_signkey_wipe(fc_signkey_t *key);

/* sig = Ed25519 detached signature of msg. */
void fc_sign(uint8_t sig[FC_SIG_LEN], const void *msg, size_t len, const fc_signkey_t *key);
/* true if sig is pk's signature of msg. */
bool fc_sign_verify(const uint8_t sig[FC_SIG_LEN], const void *msg, size_t len,
                    const uint8_t pk[FC_PUBKEY_LEN]);

/* fc_trust_t, fc_trust_load/new/add/destroy and fc_pubkey_load are public:
   include/fleetcast/fc_trust.h. */
bool fc_trust_contains(const fc_trust_t *self, const uint8_t pk[FC_PUBKEY_LEN]);
size_t fc_trust_size(const fc_trust_t *self);
/* The i-th key (i < fc_trust_size), borrowed until the list changes. */
const uint8_t *fc_trust_key(const fc_trust_t *self, size_t i);
/* Replaces self's keys by a copy of src's: holders of self see the new keys at once (key
   rotation swaps an agent's list in place). */
void fc_trust_set(fc_trust_t *self, const fc_trust_t *src);

void fc_key_test(bool verbose);

#endif
