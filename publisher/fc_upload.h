/* fc_upload.h: uploads a release's blobs to the broker, many at a time (a push's middle step). */
#ifndef FC_UPLOAD_H
#define FC_UPLOAD_H

#include "fc_client.h"
#include "fc_manifest.h"
#include "fc_progress.h"
#include <stddef.h>
#include <stdint.h>

/* What an upload did, and what went wrong (message names the file). */
typedef struct {
    uint64_t bytes_uploaded; /* chunk bytes the broker acknowledged this run */
    uint64_t bytes_present;  /* already held (whole blobs or ranges of earlier uploads) */
    uint64_t done;           /* bytes accounted for, for the progress bar */
    char message[FC_MAX_PATH + 512];
} fc_upload_result_t;

/* Makes sure the broker holds the content of every file in files (borrowed, each content
   once: the caller leaves out duplicates), read from dir: UPLOAD_QUERY, the PUT_CHUNKs the
   broker lacks, BLOB_COMMIT, for many files at once: up to 32 requests and window bytes of
   chunk data in flight, so many small files cost no round trip each (the broker commits
   them in groups). bar (may be NULL) is advanced. Returns fc_error_t; on failure
   result->message says which file and why. */
int fc_upload_blobs(fc_client_t *client, const char *dir, const fc_file_t *const *files,
                    size_t nfiles, uint64_t window, int timeout_ms, fc_progress_t *bar,
                    fc_upload_result_t *result);

#endif
