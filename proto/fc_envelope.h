/* fc_envelope.h: the signed envelope [body bin, signer bin32, sig bin64] around manifests,
   config revisions and trust lists: seal (sign and wrap) and open (check the shape, verify
   and trust), and the same with the body packed and decoded by its owner's functions. */
#ifndef FC_ENVELOPE_H
#define FC_ENVELOPE_H

#include "fc_key.h"

#include <msgpack.h>

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

/* Packs the body of obj (borrowed) into sbuf; 0, or nonzero if it cannot be encoded. */
typedef int(fc_envelope_pack_fn)(const void *obj, msgpack_sbuffer *sbuf);
/* Decodes the unpacked body into out (the caller's, from fc_envelope_open_body): FC_OK or an
   fc_error_t. Strings in body point into the envelope's buffer: copy out what is kept. */
typedef int(fc_envelope_decode_fn)(const msgpack_object *body, void *out);

/* The body of obj packed by pack, then sealed as fc_envelope_seal does (same result). */
uint8_t *fc_envelope_seal_body(fc_envelope_pack_fn *pack, const void *obj, const fc_signkey_t *key,
                               size_t max, size_t *len);
/* Opens an envelope (fc_envelope_open, same errors) and decodes its body into out with
   decode, after the body's msgpack passed the bounds of fc_mpack_unpack: nesting at most
   depth, and, if min_object_bytes, at most body_len / min_object_bytes + 64 objects. Even a
   trusted signer's body gets every bound: a signing key can leak. signer as for
   fc_envelope_open, set only on success. */
int fc_envelope_open_body(const uint8_t *buf, size_t len, size_t max, const fc_trust_t *trust,
                          int depth, size_t min_object_bytes, fc_envelope_decode_fn *decode,
                          void *out, uint8_t signer[FC_PUBKEY_LEN]);

void fc_envelope_test(bool verbose);

#endif
