/* fc_manifest_priv.h: fc_manifest.c's entry codec and rules, shared with its private part
 * fc_manifest_parts.c (format 3). */
#ifndef FC_MANIFEST_PRIV_H
#define FC_MANIFEST_PRIV_H

#include "fc_manifest.h"
#include <msgpack.h>

/* Every semantic rule of section 5 of PROTOCOL.md on a decoded or hand-filled manifest
   (chunk lists included). Returns fc_error_t. */
int fc_manifest_check(const fc_manifest_t *self);

/* Packers of the entry encodings formats 2 and 3 share. 0, or nonzero if the packer failed. */
int fc_manifest_pack_mtime(msgpack_packer *pk, fc_mtime_t t);
int fc_manifest_pack_dir(msgpack_packer *pk, const fc_dir_t *d);
int fc_manifest_pack_link(msgpack_packer *pk, const fc_link_t *l);

/* Decodes one entry of format 2 or 3 (format 3: a file names its chunk list by hash, and its
   chunks stay empty) and appends it to m's array of its kind. *prev is the previous entry's
   path, strictly below this one's (borrowed from m); updated. Returns fc_error_t. */
int fc_manifest_decode_entry(const msgpack_object *o, fc_manifest_t *m, const char **prev,
                             uint32_t format);

/* Decodes fields 1 to 7 (product through created), which formats 1 to 3 share, of a body
   or top level whose array fld has at least 8 fields. Returns fc_error_t. */
int fc_manifest_decode_head(const msgpack_object *fld, fc_manifest_t *m);

/* Decodes a chunk list [[length, hash], ...] of at most max chunks into f->chunks (offsets
   follow from the order). Consistency with f->size and f->hash is fc_manifest_check's. */
int fc_manifest_decode_chunks(const msgpack_object *o, size_t max, fc_file_t *f);

#endif
