/* fc_journal.h: the download journal: which chunks of a release are verified on disk, so a
   restarted agent resumes instead of starting over. */
#ifndef FC_JOURNAL_H
#define FC_JOURNAL_H

#include "fc_limits.h"
#include <stdbool.h>
#include <stdint.h>

/* A journal is an append-only file: a header naming the release (the hash of its signed
   manifest) and the chunk count, then one fixed-size record per verified chunk (its global
   index: chunks numbered across all files in manifest order). A torn last record, or a
   header for another release, is ignored (the journal starts empty): the journal is a
   hint that the stage re-verifies, never trusted blindly. */
typedef struct fc_journal_t fc_journal_t;

/* Opens or creates the journal at path for the release `id` with nchunks chunks. Returns
   NULL with *err (fc_error_t) if the file cannot be created. */
fc_journal_t *fc_journal_open(const char *path, const uint8_t id[FC_HASH_LEN], uint64_t nchunks,
                              int *err);
/* Closes (keeps the file). Safe on NULL. */
void fc_journal_destroy(fc_journal_t **self_p);
bool fc_journal_has(const fc_journal_t *self, uint64_t index);
/* Forgets a chunk (in memory; it will be re-marked when verified again). */
void fc_journal_forget(fc_journal_t *self, uint64_t index);
/* Records a verified chunk (appends a record; no fsync). 0 or fc_error_t (FC_ENOSPC...). */
int fc_journal_mark(fc_journal_t *self, uint64_t index);
uint64_t fc_journal_count(const fc_journal_t *self);
/* fdatasync the journal. */
int fc_journal_sync(fc_journal_t *self);

void fc_journal_test(bool verbose);

#endif
