/* fc_store_pieces.h: on a PostgreSQL store, every complete blob also kept in the database as
   rows of 1 MiB pieces, the copy that survives the loss of any broker's disk; each broker's
   files under DIR/blobs are its cache, filled from these rows on a miss (a private part of
   fc_store, fc_store_pieces.c; the measurements behind it: docs/BENCHMARKS.md, "Blobs for
   brokers on one PostgreSQL"). On a SQLite store every call does nothing. */
#ifndef FC_STORE_PIECES_H
#define FC_STORE_PIECES_H

#include "fc_hash.h"
#include "fc_store.h"
#include <stdbool.h>
#include <stdint.h>

/* Creates the tables inside the store's open transaction (fc_store.c's open): blob_pieces
   (blob, piece) -> up to 1 MiB of the blob's bytes; blob_stored blob -> size, written after
   its last piece in the same transaction, so a row there means every piece is in. */
int fc_store_pieces_init(fc_store_t *self);

/* Stores the size bytes of fd (a verified blob, read with pread; the caller keeps fd) as
   blob's pieces, in a transaction of its own or a savepoint of the caller's (a batch), which
   commits before the caller names the blob complete. Nothing if already stored. fc_error_t. */
int fc_store_pieces_put(fc_store_t *self, const uint8_t blob[FC_HASH_LEN], int fd, uint64_t size);

/* FC_OK with *size if every piece of blob is in the database, else FC_ENOTFOUND (or an
   error). Always FC_ENOTFOUND on SQLite. */
int fc_store_pieces_size(fc_store_t *self, const uint8_t blob[FC_HASH_LEN], uint64_t *size);

/* Writes blob's size bytes from the database into fd from offset 0 (the caller verifies the
   content before it names the file complete). FC_EHASH if the rows do not add up to size. */
int fc_store_pieces_copy(fc_store_t *self, const uint8_t blob[FC_HASH_LEN], uint64_t size, int fd);

/* Forgets blob's pieces (garbage collection: no release names it), the size row first so
   no reader takes a half-deleted blob for complete. Nothing on SQLite. fc_error_t. */
int fc_store_pieces_remove(fc_store_t *self, const uint8_t blob[FC_HASH_LEN]);

/* Self-test: a blob committed through one store is read through another on the same
   PostgreSQL database with another data dir; on SQLite, nothing of this. */
void fc_store_pieces_test(bool verbose);

#endif
