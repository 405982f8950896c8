/* fc_manifest_load.h: reads a signed manifest of any format a reader takes, a format-3 top
   level together with the objects it names. */
#ifndef FC_MANIFEST_LOAD_H
#define FC_MANIFEST_LOAD_H

#include "fc_manifest_parts.h"
#include <czmq.h>

/* Formats 1 and 2: fc_manifest_parse (get is not called). Format 3: fc_manifest_assemble with
   get and arg, naming in *missing the first object still needed or to fetch again (*err
   FC_ENOTFOUND, or FC_EHASH / FC_ETOOBIG for a damaged copy; *have_missing true). Any other
   format: FC_EFORMAT as fc_manifest_parse says. trust NULL accepts any signer (a broker, which
   checks signers elsewhere). Returns an owned manifest or NULL with *err set. */
fc_manifest_t *fc_manifest_load(const uint8_t *buf, size_t len, const fc_trust_t *trust,
                                fc_mobj_get_fn *get, void *arg, fc_mref_t *missing,
                                bool *have_missing, int *err);

/* fc_mobj_get_fn over a directory holding objects as files named by their hex hash (an
   agent's state/objects): arg is an fc_mobj_dir_t, whose last read stays alive until the next
   read or fc_mobj_dir_done. One byte past FC_MAX_OBJECT is read, so an oversize copy is seen
   as one. used (may be NULL) gets the hex name of every object asked for. */
typedef struct {
    const char *dir; /* borrowed */
    zhashx_t *used;  /* borrowed, may be NULL */
    uint8_t *last;   /* owned */
} fc_mobj_dir_t;
const uint8_t *fc_mobj_dir_get(const uint8_t hash[FC_HASH_LEN], size_t *len, void *arg);
void fc_mobj_dir_done(fc_mobj_dir_t *d);

#endif
