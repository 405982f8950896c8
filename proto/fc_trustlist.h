/* fc_trustlist.h: the signed trusted-key list that rotates publisher keys: a numbered list
   of Ed25519 public keys, sealed in an fc_envelope by a key the previous list trusts. */
#ifndef FC_TRUSTLIST_H
#define FC_TRUSTLIST_H

#include "fc_key.h"
#include "fc_limits.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Body: ["fleetcast-trust-v1", serial, created, [pk bin32, ...]] with 1..FC_MAX_TRUST_KEYS
   distinct keys and serial >= 1. The tag keeps a manifest or revision signed by the same key
   from ever passing for a trust list. */
typedef struct {
    uint64_t serial; /* strictly increasing */
    int64_t created; /* unix seconds, informative */
    size_t nkeys;
    uint8_t keys[FC_MAX_TRUST_KEYS][FC_PUBKEY_LEN];
    uint8_t signer[FC_PUBKEY_LEN]; /* filled in by fc_trustlist_open */
} fc_trustlist_t;

/* Fills list from trust (at most FC_MAX_TRUST_KEYS keys: FC_ETOOBIG past that; FC_EINVAL if
   empty), with this serial and created = now. */
int fc_trustlist_from_trust(fc_trustlist_t *list, const fc_trust_t *trust, uint64_t serial);
/* Signs and seals list with key. Returns a malloc'd envelope (the caller's) and its size in
 *len, or NULL if the list is invalid (no keys, too many, serial 0). */
uint8_t *fc_trustlist_seal(const fc_trustlist_t *list, const fc_signkey_t *key, size_t *len);
/* Opens a sealed list of at most FC_MAX_TRUSTLIST bytes: the signature must verify and the
   signer be in trust (any signer if trust is NULL), the body be well formed. Fills *list.
   Returns FC_OK, FC_EPROTO, FC_ETOOBIG, FC_EBADSIG or FC_EUNTRUSTED. */
int fc_trustlist_open(const uint8_t *buf, size_t len, const fc_trust_t *trust,
                      fc_trustlist_t *list);
/* The list as an fc_trust_t (caller destroys). */
fc_trust_t *fc_trustlist_trust(const fc_trustlist_t *list);

void fc_trustlist_test(bool verbose);

#endif
