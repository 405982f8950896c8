/* fc_push.h: pushes a release: hash and sign a directory, upload only what the broker lacks,
   commit. */
#ifndef FC_PUSH_H
#define FC_PUSH_H

#include "fc_client.h"
#include "fc_key.h"
#include "fc_manifest.h"
#include "fc_msg.h"
#include <stdbool.h>
#include <stdint.h>

/* A rollout in waves (docs/PROTOCOL.md, "Release rollouts"): registered just before the
   commit, so the release starts with it. */
typedef struct {
    uint32_t waves[FC_MAX_WAVES]; /* cumulative percentages, rising, the last 100 */
    size_t nwaves;
    uint32_t halt_percent; /* halt when more of a wave fail */
    uint64_t wave_wait_ms; /* a wave gives way after this long (0: when all reported) */
    bool hold;             /* --canary: held after wave 1 until release promote */
} fc_push_plan_t;

typedef struct {
    const char *dir;
    const char *product; /* default "default" */
    const char *channel;
    const char *version;
    const char *min_version; /* NULL or "" for none */
    bool mandatory;
    uint64_t serial;            /* 0: the channel's latest + 1 */
    uint64_t window;            /* bytes of PUT_CHUNK in flight */
    int timeout_ms;             /* give up after this long without progress */
    bool progress;              /* draw progress bars on stderr when it is a terminal */
    bool allow_empty;           /* publish a directory holding no file (else FC_EINVAL) */
    bool force;                 /* publish even when the channel has this version already */
    const fc_push_plan_t *plan; /* NULL: offered to every agent at once */
    fc_scan_opts_t scan;        /* symlinks leaving the tree, fixed times */
} fc_push_options_t;

typedef struct {
    uint64_t serial;        /* the release committed, or the one already published */
    bool already_published; /* the channel has this version with this content: nothing
                               was committed (a re-run push) */
    uint64_t latest_serial; /* the channel's latest serial before this push (0: none) */
    uint64_t files;
    uint64_t bytes_total;     /* sum of file sizes */
    uint64_t bytes_uploaded;  /* chunk bytes sent this run */
    uint64_t bytes_present;   /* already on the broker (whole blobs or earlier partial upload) */
    uint32_t objects;         /* format-3 manifest objects (pages and chunk lists) */
    uint32_t objects_sent;    /* those the broker lacked or held damaged, stored this run */
    uint32_t objects_derived; /* of those, chunk lists the broker derived from their blobs */
    uint64_t requests_retried;
    double seconds;
    char message[FC_MAX_PATH + 512]; /* what went wrong, if anything */
    bool rolling;                    /* committed with a plan: rollout below is its first wave */
    fc_rollout_info_t rollout;
} fc_push_result_t;

/* Runs the whole push over client (already connected, HELLO done by the caller or not:
   fc_push does its own HELLO). Returns fc_error_t; result->message explains a failure.
   A directory with no file is refused (FC_EINVAL) unless opt->allow_empty. When the channel
   has a release of the same version (its newest of it) with the same content (entries,
   modes, hashes, link targets, times, product, mandatory flag, minimum version), the blobs
   are still checked (and any the broker lacks uploaded) but nothing is committed:
   result->already_published is set with that release's serial, and 0 is returned. The
   same version with other content is refused (FC_EINVAL): a version names one content.
   opt->force publishes a new serial in both cases. */
int fc_push_release(fc_client_t *client, const fc_push_options_t *opt, const fc_signkey_t *key,
                    fc_push_result_t *result);
/* fc_push_release in two steps, for a caller that checks the tree between them (release
   watch). fc_push_scan: opt's names checked and opt->dir hashed into a manifest (the
   caller's), NULL with *err and msg on failure (an empty tree without opt->allow_empty
   too). fc_push_manifest: the rest of the push for that manifest (serial set here); the
   files are read again by path, each chunk checked against its hash (FC_EHASH if a file
   changed since the scan). */
fc_manifest_t *fc_push_scan(const fc_push_options_t *opt, int *err, char *msg, size_t msgsize);
int fc_push_manifest(fc_client_t *client, const fc_push_options_t *opt, fc_manifest_t *m,
                     const fc_signkey_t *key, fc_push_result_t *result);

#endif
