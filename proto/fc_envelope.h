/* fc_envelope.h: the signed envelope [body bin, signer bin32, sig bin64] around manifests and
   config revisions: seal (sign and wrap) and open (check the shape, verify and trust). */
#ifndef FC_ENVELOPE_H
#define FC_ENVELOPE_H

#include "fc_key.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Signs body_len bytes of body with key and wraps them as [body, key->pk, signature].
   Returns a malloc'd envelope (the caller's to free) and its size in *len, or NULL if it
   cannot be encoded or would be over max bytes (every receiver would refuse it). */
uint8_t *fc_envelope_seal(const void *body, size_t body_len, const fc_signkey_t *key, size_t max,
                          size_t *len);

/* Opens an envelope of at most max bytes. Nothing in the body is looked at here: the
   signature is checked over its bytes, and the signer against trust (any signer if trust is
   NULL). On success returns FC_OK, points *body at the body's bytes inside buf (borrowed:
   valid as long as buf) with its size in *body_len, and copies the signer's key to signer.
   Otherwise returns FC_EPROTO (empty or malformed), FC_ETOOBIG (len over max),
   FC_EBADSIG (the signature does not verify) or FC_EUNTRUSTED (a signer not in trust). */
int fc_envelope_open(const uint8_t *buf, size_t len, size_t max, const fc_trust_t *trust,
                     const uint8_t **body, size_t *body_len, uint8_t signer[FC_PUBKEY_LEN]);

void fc_envelope_test(bool verbose);

#endif
