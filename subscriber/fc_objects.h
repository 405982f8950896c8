/* fc_objects.h: the agent's copies of format-3 manifest objects (pages and chunk lists), one
   file each under <state>/objects named by its hash, kept for the releases the agent keeps. */
#ifndef FC_OBJECTS_H
#define FC_OBJECTS_H

#include "fc_manifest_parts.h"
#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct fc_objects_t fc_objects_t;

/* Opens (making it) <state_dir>/objects. NULL with *err set on failure. */
fc_objects_t *fc_objects_new(const char *state_dir, int *err);
void fc_objects_destroy(fc_objects_t **self_p);

/* Reads a signed manifest (bytes borrowed) of any format, a format-3 one from the objects held
   (each checked against its name by fc_manifest_assemble). The objects still needed, or held
   damaged, are named in missing (at most max, *nmissing set) with *err FC_ENOTFOUND, or
   FC_EHASH / FC_ETOOBIG for a damaged copy (missing[0]). used (may be NULL) gets the hex name
   of every object looked at. Returns an owned manifest or NULL with *err set. The last
   format-3 manifest read whole is kept, by the hash of its top level, and read again from
   there (its signature checked against trust each time) until an object is dropped or
   removed here: a SYNC poll finding the same release costs a copy, not every object read
   and hashed again (fleetcast-pollbench). */
fc_manifest_t *fc_objects_load(fc_objects_t *self, const uint8_t *bytes, size_t len,
                               const fc_trust_t *trust, fc_mref_t *missing, size_t max,
                               size_t *nmissing, zhashx_t *used, int *err);
/* Stores an object (data borrowed) fetched from the broker under hash: FC_ETOOBIG past
   FC_MAX_OBJECT, FC_EHASH if data does not hash to hash (nothing stored). */
int fc_objects_put(fc_objects_t *self, const uint8_t hash[FC_HASH_LEN], const uint8_t *data,
                   size_t len);
/* A malloc'd copy of the object named hash (caller frees), *len set, if it is held intact
   (its bytes hash to its name, at most FC_MAX_OBJECT); NULL otherwise. The base of a delta. */
uint8_t *fc_objects_read(fc_objects_t *self, const uint8_t hash[FC_HASH_LEN], size_t *len);
/* Removes the copy of hash (a damaged one, to fetch again). */
void fc_objects_drop(fc_objects_t *self, const uint8_t hash[FC_HASH_LEN]);
/* Removes every object a format-3 manifest of keep (each signed bytes, borrowed, NULL
   skipped) does not name; returns how many. */
size_t fc_objects_keep_only(fc_objects_t *self, const uint8_t *const *keep, const size_t *lens,
                            size_t nkeep);

void fc_objects_test(bool verbose);

#endif
