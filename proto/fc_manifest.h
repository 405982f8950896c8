/* fc_manifest.h: the signed release manifest: build from a directory, sign, parse and verify. */
#ifndef FC_MANIFEST_H
#define FC_MANIFEST_H

#include "fc_key.h"
#include "fc_limits.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t offset;
    uint32_t length;
    uint8_t hash[FC_HASH_LEN];
} fc_chunk_t;

typedef struct {
    char *path;    /* relative, normalised, '/'-separated; owned */
    uint32_t mode; /* permission bits only (0777 mask) */
    uint64_t size;
    uint8_t hash[FC_HASH_LEN]; /* fc_hash_of_chunks over chunks; also the blob id */
    fc_chunk_t *chunks; /* owned; offsets contiguous from 0, FC_CHUNK_SIZE each but the last */
    uint32_t nchunks;
} fc_file_t;

typedef struct {
    char product[FC_MAX_NAME + 1];
    char channel[FC_MAX_NAME + 1];
    char version[FC_MAX_NAME + 1];
    char min_version[FC_MAX_NAME + 1]; /* "" if none */
    uint64_t serial;                   /* strictly increasing per channel */
    bool mandatory;
    int64_t created;     /* unix seconds */
    uint32_t chunk_size; /* FC_CHUNK_SIZE in protocol version 1 */
    fc_file_t *files;    /* owned, sorted by path, no duplicates */
    uint32_t nfiles;
    uint8_t signer[FC_PUBKEY_LEN]; /* set by fc_manifest_parse */
} fc_manifest_t;

/* Progress callback for long scans: bytes hashed so far of total. */
typedef void(fc_progress_fn)(uint64_t done, uint64_t total, void *arg);

fc_manifest_t *fc_manifest_new(void);
void fc_manifest_destroy(fc_manifest_t **self_p);

/* Walks dir recursively, adding every regular file (sorted by path) with its chunk hashes.
   Symlinks, devices and sockets are refused (FC_EPATH) rather than followed. Returns
   fc_error_t. progress may be NULL. */
int fc_manifest_scan_dir(fc_manifest_t *self, const char *dir, fc_progress_fn *progress, void *arg);
/* The same; on failure why (if not NULL) gets one line naming the file and the real cause
   ("lib/x.so: a symbolic link: ...", "bin/app: cannot open: Permission denied", "cannot
   open the release directory /x: No such file or directory"). */
int fc_manifest_scan_dir_why(fc_manifest_t *self, const char *dir, fc_progress_fn *progress,
                             void *arg, char *why, size_t whysize);

/* Encodes and signs: returns malloc'd signed envelope bytes (*len set), NULL on failure
   (invalid fields). The envelope is msgpack [body_bin, signer_pk_bin, signature_bin]. */
uint8_t *fc_manifest_sign(const fc_manifest_t *self, const fc_signkey_t *key, size_t *len);

/* Parses a signed envelope. Checks, in order: size, envelope shape, signature against the
   embedded signer, signer in trust (if trust is non-NULL: FC_EUNTRUSTED otherwise), then
   decodes the body with every count bounded, every path valid (fc_path_valid), chunk lists
   contiguous and consistent with size, each file hash equal to the hash of its chunks.
   Returns NULL with *err set on any failure. */
fc_manifest_t *fc_manifest_parse(const uint8_t *buf, size_t len, const fc_trust_t *trust, int *err);

/* Sum of file sizes. */
uint64_t fc_manifest_total_size(const fc_manifest_t *self);
/* The file with this path, or NULL. */
const fc_file_t *fc_manifest_find(const fc_manifest_t *self, const char *path);

/* A relative path is valid if non-empty, at most FC_MAX_PATH bytes, not absolute, has no
   empty, "." or ".." component, no backslash and no control characters. */
bool fc_path_valid(const char *path);
/* A name (channel, version, product, agent id) is 1..FC_MAX_NAME of [A-Za-z0-9._+-]. */
bool fc_name_valid(const char *name);
/* Compares versions like "1.10.2" vs "1.9": numeric runs as numbers (strverscmp). */
int fc_version_cmp(const char *a, const char *b);

void fc_manifest_test(bool verbose);

/* Self-test of fc_manifest_scan_dir (proto/fc_manifest_scan.c); fc_manifest_test runs it. */
void fc_manifest_scan_test(bool verbose);

#endif
