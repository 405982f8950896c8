/* fc_upload_small.h: uploads small files many to a request (a private part of fc_upload). */
#ifndef FC_UPLOAD_SMALL_H
#define FC_UPLOAD_SMALL_H

#include "fc_upload.h"

/* Makes sure the broker holds the content of every file in files (borrowed; each at most
   FC_MAX_SMALL_BLOB bytes in at most one chunk, each content once), read from dir:
   BLOBS_QUERY for up to 256 files a request, then PUT_BLOBS of up to 256 files or 1 MiB
   for those it lacks, up to FC_UPLOAD_MAX_REQUESTS requests and window bytes in flight.
   result and bar as for fc_upload_blobs. The first query goes alone: a broker that predates
   these messages answers it FC_EPROTO (and counts it malformed), which sets *unsupported
   and returns 0 having uploaded nothing: the caller then uploads the files by chunks. Returns
   fc_error_t; result->message names the file. */
int fc_upload_small(fc_client_t *client, const char *dir, const fc_file_t *const *files,
                    size_t nfiles, uint64_t window, int timeout_ms, fc_progress_t *bar,
                    fc_upload_result_t *result, bool *unsupported);

#endif
