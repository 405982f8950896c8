/* fc_store_cache.h: the store's blobs as a relay sees them: complete ones for its bounded
   cache (listed with size and last use, marked used, evicted), and the pieces of one being
   fetched read before its commit; a private part of fc_store (fc_store_cache.c). */
#ifndef FC_STORE_CACHE_H
#define FC_STORE_CACHE_H

#include "fc_store.h"

/* One complete blob under blobs/: its size and its file's mtime (seconds), which a relay's
   cache keeps as the blob's last use so it survives a restart. */
typedef void(fc_store_blob_seen_fn)(void *arg, const uint8_t blob[FC_HASH_LEN], uint64_t size,
                                    int64_t mtime);
/* Calls seen for every complete blob. Partial uploads (incoming/) and quarantined blobs are
   not blobs here. fc_error_t (a data dir with no blobs/ yet is FC_OK). */
int fc_store_blob_scan(fc_store_t *self, fc_store_blob_seen_fn *seen, void *arg);
/* Sets the blob file's mtime to when: the blob's last use, kept on disk. A blob not there is
   FC_ENOTFOUND. */
int fc_store_blob_touch(fc_store_t *self, const uint8_t blob[FC_HASH_LEN], int64_t when);
/* Removes a complete blob (its file, its open descriptor, its chunk index); *bytes its size.
   A blob not there is FC_OK with *bytes 0. */
int fc_store_blob_evict(fc_store_t *self, const uint8_t blob[FC_HASH_LEN], uint64_t *bytes);
/* Reads len bytes at offset of blob's partial upload (incoming/), as written by
   fc_store_put_chunk: unchecked bytes, which the caller checks. FC_ENOTFOUND if there is no
   such upload, FC_EIO if the bytes are not there (a short file). */
int fc_store_upload_read(fc_store_t *self, const uint8_t blob[FC_HASH_LEN], uint64_t offset,
                         void *buf, size_t len);

#endif
