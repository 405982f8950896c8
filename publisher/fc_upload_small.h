/* fc_upload_small.h: uploads small files many to a request (a private part of fc_upload). */
#ifndef FC_UPLOAD_SMALL_H
#define FC_UPLOAD_SMALL_H

#include "fc_upload.h"

/* Asks the broker which of files (borrowed; each content once) it holds and makes sure it
   holds those of at most FC_MAX_SMALL_BLOB bytes, read from dir: BLOBS_QUERY for up to 256
   files a request, then PUT_BLOBS of up to 256 files or 1 MiB for the small ones it lacks,
   up to FC_UPLOAD_MAX_REQUESTS requests and window bytes in flight. The larger files it
   lacks go into large (the caller's array of nfiles entries, *nlarge set) for the caller
   to upload by chunks: asking costs 32 bytes a file, where naming a held file's chunks
   (UPLOAD_CHUNKS) would cost about 38 bytes a chunk. result and bar as for
   fc_upload_blobs. The first query goes alone: a broker that predates these messages
   answers it FC_EPROTO (and counts it malformed), which sets *unsupported and returns 0
   having uploaded nothing: the caller then uploads every file by chunks. Returns
   fc_error_t; result->message names the file. */
int fc_upload_small(fc_client_t *client, const char *dir, const fc_file_t *const *files,
                    size_t nfiles, uint64_t window, int timeout_ms, fc_progress_t *bar,
                    fc_upload_result_t *result, const fc_file_t **large, size_t *nlarge,
                    bool *unsupported);

#endif
