/* fc_suspects.h: which agent reports of a corrupt blob the broker acts on. Re-reading a blob
   costs as much as the blob is large, and a REPORT is a few hundred bytes: each blob is
   re-read at most once per blob window whoever names it, and each key's reports cause at
   most key_max re-reads per key window, so no key (a stolen one included) can make the
   broker read more than key_max blobs per window. */
#ifndef FC_SUSPECTS_H
#define FC_SUSPECTS_H

#include "fc_hash.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The broker's limits: a blob once a minute; a key 4 re-reads a minute. */
#define FC_SUSPECT_BLOB_S 60
#define FC_SUSPECT_KEY_S 60
#define FC_SUSPECT_KEY_MAX 4
/* Blobs and keys remembered at most (each); a report that would need one more, once the
   expired ones are forgotten, is not acted on. */
#define FC_SUSPECT_MAX_ENTRIES 4096

typedef enum {
    FC_SUSPECT_VERIFY = 0,    /* re-read it now */
    FC_SUSPECT_RECENT = 1,    /* this blob was re-read (or queued) within the blob window */
    FC_SUSPECT_KEY_LIMIT = 2, /* this key's reports used their re-reads for this window */
    FC_SUSPECT_FULL = 3,      /* too many blobs or keys to remember */
} fc_suspect_verdict_t;

typedef struct fc_suspects_t fc_suspects_t;

/* Limits: a blob at most once per blob_s seconds; a key at most key_max re-reads per key_s
   seconds; at most max_entries blobs and as many keys remembered. */
fc_suspects_t *fc_suspects_new(int64_t blob_s, int64_t key_s, uint32_t key_max, size_t max_entries);
void fc_suspects_destroy(fc_suspects_t **self_p);
/* A report from key (its Z85 text; "" for every insecure peer) names blob as corrupt at time
   now (seconds, any clock that does not go back). FC_SUSPECT_VERIFY counts against both
   limits; any other verdict changes nothing. key is borrowed. */
fc_suspect_verdict_t fc_suspects_admit(fc_suspects_t *self, const uint8_t blob[FC_HASH_LEN],
                                       const char *key, int64_t now);
/* Reports admitted, and refused (any reason), since creation. */
uint64_t fc_suspects_admitted(const fc_suspects_t *self);
uint64_t fc_suspects_refused(const fc_suspects_t *self);
/* Name of a verdict ("recent", ...). */
const char *fc_suspect_verdict_name(fc_suspect_verdict_t verdict);

void fc_suspects_test(bool verbose);

#endif
