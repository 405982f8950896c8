/* fc_mpack.h: bounded msgpack decoding: pre-check a buffer, then read typed fields safely. */
#ifndef FC_MPACK_H
#define FC_MPACK_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* msgpack_unpack allocates for a container header before reading its elements, so a
   5-byte frame could ask for gigabytes. fc_mpack_unpack first walks the raw bytes and
   checks that buf holds exactly one complete object, nested at most max_depth deep, whose
   every container count fits in the bytes that remain (each element needs at least one);
   only then does it unpack into zone. Trailing bytes are an error.
   Returns 0 and sets *out (pointing into zone and buf: copy out what you keep), or an
   fc_error_t (FC_EPROTO). */
int fc_mpack_unpack(const uint8_t *buf, size_t len, int max_depth, msgpack_zone *zone,
                    msgpack_object *out);

/* Typed readers. Each returns 0, or FC_EPROTO on a wrong type / out of range, or
   FC_ETOOBIG on a string/bin/array over its limit. */
int fc_mpack_str(const msgpack_object *o, char *out,
                 size_t outsize); /* copies, NUL-terminates; len < outsize */
int fc_mpack_u64(const msgpack_object *o, uint64_t *out);
int fc_mpack_u32(const msgpack_object *o, uint32_t *out);
int fc_mpack_i64(const msgpack_object *o, int64_t *out);
int fc_mpack_bool(const msgpack_object *o, bool *out);
int fc_mpack_hash(const msgpack_object *o, uint8_t out[32]);            /* bin of exactly 32 */
int fc_mpack_fixbin(const msgpack_object *o, uint8_t *out, size_t len); /* bin of exactly len */
/* Borrowed view of a bin (points into the unpacked buffer), at most max bytes. */
int fc_mpack_bin(const msgpack_object *o, const uint8_t **ptr, size_t *len, size_t max);
/* An array of at most max elements (or exactly want if want >= 0). */
int fc_mpack_array(const msgpack_object *o, size_t max, long want, const msgpack_object **items,
                   size_t *n);

/* Like fc_mpack_unpack, and also refuses (FC_ETOOBIG) a buffer holding more than max_objects
   objects in all (every element, key and value counts one): msgpack-c allocates a
   msgpack_object (24 bytes) per element, so this bounds memory by what the caller expects
   rather than by the buffer size. */
int fc_mpack_unpack_max(const uint8_t *buf, size_t len, int max_depth, size_t max_objects,
                        msgpack_zone *zone, msgpack_object *out);

/* Encoding: a str of strlen(s) bytes, a bin of len bytes. 0, or -1 if the packer failed. */
int fc_mpack_pack_str(msgpack_packer *pk, const char *s);
int fc_mpack_pack_bin(msgpack_packer *pk, const void *p, size_t len);

void fc_mpack_test(bool verbose);

#endif
