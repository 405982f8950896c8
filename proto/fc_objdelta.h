/* fc_objdelta.h: a manifest object sent as a delta against an object the agent holds
   (GET_OBJECT_DELTA / OBJECT_DELTA, docs/PROTOCOL.md 3.15): its encoding and its strict
   application. */
#ifndef FC_OBJDELTA_H
#define FC_OBJDELTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The encoding: the result's length (an unsigned LEB128 varint), then ops to the end:
   FC_OBJDELTA_COPY, offset and length (varints: base bytes [offset, offset + length)), or
   FC_OBJDELTA_LITERAL, length (varint) and that many bytes. Every length is at least 1; the
   ops fill the result exactly. */
#define FC_OBJDELTA_COPY 1
#define FC_OBJDELTA_LITERAL 2
/* Bytes the matcher compares to anchor a copy: a chunk list's entries are 32-byte hashes,
   so an anchor this long found in the base is almost always the same entry. */
#define FC_OBJDELTA_WINDOW 16

/* The delta that turns base into target (both borrowed): a malloc'd buffer (caller frees)
   in *out / *out_len, found by a greedy matcher indexing base by FC_OBJDELTA_WINDOW-byte
   windows. Never larger than target plus a few bytes; the caller sends the object whole when
   the delta is not smaller. FC_OK, or FC_ENOMEM (nothing allocated). */
int fc_objdelta_encode(const uint8_t *base, size_t base_len, const uint8_t *target,
                       size_t target_len, uint8_t **out, size_t *out_len);

/* Applies delta (hostile input, borrowed) to base (borrowed): the result, malloc'd (caller
   frees), in *out / *out_len. FC_ETOOBIG if it declares more than max bytes (before any
   allocation); FC_EPROTO for anything else malformed: a truncated or overlong varint or op,
   an unknown op, a zero length, a copy outside base, ops that overrun or fall short of the
   declared length; FC_ENOMEM. Never asserts on delta. The result is not checked against any
   name: the caller hashes it. */
int fc_objdelta_apply(const uint8_t *base, size_t base_len, const uint8_t *delta, size_t delta_len,
                      size_t max, uint8_t **out, size_t *out_len);

void fc_objdelta_test(bool verbose);

#endif
