/* fc_manifest_parts.h: manifest format 3: a signed top level naming pages of entries, each file
 * naming its chunk list; pages and lists are objects named by their hash. */
#ifndef FC_MANIFEST_PARTS_H
#define FC_MANIFEST_PARTS_H

#include "fc_key.h"
#include "fc_limits.h"
#include "fc_manifest.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What an object of a format-3 manifest holds. */
typedef enum { FC_MOBJ_PAGE = 1, FC_MOBJ_CHUNKS = 2 } fc_mobj_kind_t;

/* An object of a format-3 manifest, named by the BLAKE2b-256 of its exact bytes. */
typedef struct {
    fc_mobj_kind_t kind;
    uint8_t hash[FC_HASH_LEN];
    uint8_t *data; /* owned by the fc_mparts_t that holds it */
    size_t len;
    uint8_t blob[FC_HASH_LEN]; /* a chunk list's: the content it cuts (its files' hash) */
} fc_mobj_t;

/* A release cut into its format-3 parts: the signed top level and every object it names,
   each once (files of equal content share one chunk list). */
typedef struct {
    uint8_t *top; /* owned: the signed envelope [body, signer, signature] */
    size_t top_len;
    fc_mobj_t *objs; /* owned: the pages in order, then the chunk lists */
    uint32_t nobjs;
    uint32_t npages;
} fc_mparts_t;

/* Validates m (every rule fc_manifest_parse applies), cuts it into pages and chunk lists and
   signs the top level. Pages end after an entry whose path hashes to a first byte with
   (byte & FC_PAGE_CUT_MASK) == 0, or at FC_PAGE_MAX_ENTRIES: a file added or removed changes
   one page, not all that follow. Returns an owned fc_mparts_t, or NULL with *err set. */
fc_mparts_t *fc_mparts_sign(const fc_manifest_t *m, const fc_signkey_t *key, int *err);
void fc_mparts_destroy(fc_mparts_t **self_p);
/* The object named hash, or NULL; borrowed from self. */
const fc_mobj_t *fc_mparts_find(const fc_mparts_t *self, const uint8_t hash[FC_HASH_LEN]);

/* Whether data may be stored as the object named hash: FC_OK; FC_EPROTO if empty (no
   object is), FC_ETOOBIG past FC_MAX_OBJECT, FC_EHASH if it does not hash to its name. What
   every store of objects (the broker's, an agent's) checks before keeping one. */
int fc_mobj_check(const uint8_t hash[FC_HASH_LEN], const uint8_t *data, size_t len);

/* The bytes of the chunk-list object of n chunks (each's length and hash; offsets unused),
   exactly as fc_mparts_sign writes one: an owned buffer in *out, *len bytes. FC_ETOOBIG
   past FC_MAX_CHUNKLIST. */
int fc_mchunks_encode(const fc_chunk_t *chunks, uint32_t n, uint8_t **out, size_t *len);
/* Looks up an object the caller holds (its cache, a store): its bytes (borrowed until the
   next call or the end of fc_manifest_assemble) and *len, or NULL if it has none. The bytes
   need not be trusted: assemble checks each against its name. */
typedef const uint8_t *(fc_mobj_get_fn)(const uint8_t hash[FC_HASH_LEN], size_t *len, void *arg);

/* An object assemble needs: fetch it, then call assemble again. */
typedef struct {
    fc_mobj_kind_t kind;
    uint8_t hash[FC_HASH_LEN];
    /* A chunk list's: fc_mref_path_key of the path of the (first) file naming it, so an agent
       can ask for it as a delta against the list it holds for that path; 0 for a page. */
    uint64_t path_key;
} fc_mref_t;

/* A 64-bit key of a path (FNV-1a), never 0. Two paths may share one: it only picks a delta's
   base, whose result is checked against the object's name. */
uint64_t fc_mref_path_key(const char *path);

/* Rebuilds the whole manifest of a signed format-3 top level from its objects. Checks, in
   order: the envelope (size, shape, signature, signer in trust), the top body (a format above
   3: FC_EFORMAT; fields, counts; FC_EPROTO, FC_ETOOBIG), then each page and each chunk list:
   larger than its bound FC_ETOOBIG, bytes not hashing to its name FC_EHASH, then decoded with
   every bound (entry count equal to the top's); finally every rule of fc_manifest_parse.
   A damaged or oversize object is returned in missing[0] (*nmissing 1) with its error, so the
   caller drops its copy and fetches it again. Objects get lacks: FC_ENOTFOUND, with up to
   max_missing of them in missing (the pages first: a page names the chunk lists). Returns
   an owned manifest (format 3, chunks filled in) or NULL with *err set. */
fc_manifest_t *fc_manifest_assemble(const uint8_t *top, size_t len, const fc_trust_t *trust,
                                    fc_mobj_get_fn *get, void *arg, fc_mref_t *missing,
                                    size_t max_missing, size_t *nmissing, int *err);

/* Decoders of one object each, with every bound, for tests and fuzzing: a page of format-3
   entries appended to m (prev as in fc_manifest_assemble's order check), a chunk list into f.
   Neither checks the object's hash. Return fc_error_t. */
int fc_mpage_decode(const uint8_t *buf, size_t len, fc_manifest_t *m, const char **prev,
                    uint32_t *nentries);
int fc_mchunks_decode(const uint8_t *buf, size_t len, fc_file_t *f);

void fc_manifest_parts_test(bool verbose);

#endif
