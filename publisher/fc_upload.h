/* fc_upload.h: uploads a release's blobs to the broker, many at a time (a push's middle step). */
#ifndef FC_UPLOAD_H
#define FC_UPLOAD_H

#include "fc_client.h"
#include "fc_manifest.h"
#include "fc_progress.h"
#include "fc_sockopt.h"
#include <stddef.h>
#include <stdint.h>

/* Requests in flight at once: fewer replies than fit in this connection's receive queue
   (FC_SOCK_RCVHWM) and the broker's send queue to it (FC_BROKER_SNDHWM, 64 messages,
   some of them possibly not yet counted as drained): the broker never blocks on one peer,
   so it drops a reply with no room, and that request comes back only when re-sent, seconds
   later. */
#define FC_UPLOAD_MAX_REQUESTS (FC_SOCK_RCVHWM / 2)

/* What an upload did, and what went wrong (message names the file). */
typedef struct {
    uint64_t bytes_uploaded; /* chunk bytes the broker acknowledged this run */
    uint64_t bytes_present;  /* already held (whole blobs or ranges of earlier uploads) */
    uint64_t done;           /* bytes accounted for, for the progress bar */
    bool no_prefixes;        /* in: the broker predates UPLOAD_PREFIXES (its DERIVE_OBJECT
                                said so): UPLOAD_CHUNKS without asking; out: it does */
    char message[FC_MAX_PATH + 512];
} fc_upload_result_t;

/* Makes sure the broker holds the content of every file in files (borrowed, each content
   once: the caller leaves out duplicates), read from dir. The broker is asked which files
   it holds, many to a request (fc_upload_small.h); small files (at most FC_MAX_SMALL_BLOB)
   it lacks go many to a request too; the others by UPLOAD_PREFIXES (or UPLOAD_CHUNKS, or
   UPLOAD_QUERY to an older broker), the
   PUT_CHUNKs the broker lacks, BLOB_COMMIT, for many files at once: up to
   FC_UPLOAD_MAX_REQUESTS requests and window bytes of chunk data in flight, so no file
   costs a round trip of its own (the broker commits them in groups). bar (may be NULL) is advanced.
   Returns fc_error_t; on failure result->message says which file and why. */
/* For fc_upload.c and fc_upload_small.c: a request in flight, and its bytes of content. */
typedef struct {
    uint64_t req;
    size_t job;   /* fc_upload.c: the file's slot; fc_upload_small.c: its first file */
    size_t count; /* fc_upload_small.c: how many files */
    int kind;     /* fc_upload_small.c: query or put */
    uint64_t bytes;
} fc_upload_req_t;

/* Finds the request reply_req answers among reqs (n of them), moves it into *out and out
   of reqs (the last takes its place; *n and *inflight_bytes go down). false if none: a
   reply to a re-sent request already answered. */
bool fc_upload_take(fc_upload_req_t *reqs, size_t *n, uint64_t *inflight_bytes, uint64_t reply_req,
                    fc_upload_req_t *out);

/* For fc_upload.c and fc_upload_small.c: writes the failure into result->message and
   returns code; counts bytes as done and moves the bar (may be NULL). */
int fc_upload_fail(fc_upload_result_t *result, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void fc_upload_advance(fc_upload_result_t *result, fc_progress_t *bar, uint64_t bytes);

int fc_upload_blobs(fc_client_t *client, const char *dir, const fc_file_t *const *files,
                    size_t nfiles, uint64_t window, int timeout_ms, fc_progress_t *bar,
                    fc_upload_result_t *result);

#endif
