/* fc_push.h: pushes a release: hash and sign a directory, upload only what the broker lacks,
   commit. */
#ifndef FC_PUSH_H
#define FC_PUSH_H

#include "fc_client.h"
#include "fc_key.h"
#include "fc_manifest.h"
#include <stdbool.h>
#include <stdint.h>

typedef struct {
    const char *dir;
    const char *product; /* default "default" */
    const char *channel;
    const char *version;
    const char *min_version; /* NULL or "" for none */
    bool mandatory;
    uint64_t serial;     /* 0: the channel's latest + 1 */
    uint64_t window;     /* bytes of PUT_CHUNK in flight */
    int timeout_ms;      /* give up after this long without progress */
    bool progress;       /* draw progress bars on stderr when it is a terminal */
    fc_scan_opts_t scan; /* symlinks leaving the tree, fixed times */
} fc_push_options_t;

typedef struct {
    uint64_t serial;        /* the release committed, or the one already published */
    bool already_published; /* the channel's latest release is this version with this
                               content: nothing was committed (a re-run push) */
    uint64_t files;
    uint64_t bytes_total;    /* sum of file sizes */
    uint64_t bytes_uploaded; /* chunk bytes sent this run */
    uint64_t bytes_present;  /* already on the broker (whole blobs or earlier partial upload) */
    uint64_t requests_retried;
    double seconds;
    char message[FC_MAX_PATH + 512]; /* what went wrong, if anything */
} fc_push_result_t;

/* Runs the whole push over client (already connected, HELLO done by the caller or not:
   fc_push does its own HELLO). Returns fc_error_t; result->message explains a failure.
   When the channel's latest release has the same version and the same content (entries,
   modes, hashes, link targets, times, product, mandatory flag, minimum version), the blobs are
   still checked (and any the broker lacks uploaded) but nothing is committed:
   result->already_published is set with that release's serial, and 0 is returned. The same version
   with other content is refused (FC_EINVAL): a version names one content. */
int fc_push_release(fc_client_t *client, const fc_push_options_t *opt, const fc_signkey_t *key,
                    fc_push_result_t *result);

#endif
