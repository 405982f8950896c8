/* fc_manifest.h: the signed release manifest: build from a directory, sign, parse and verify. */
#ifndef FC_MANIFEST_H
#define FC_MANIFEST_H

#include "fc_key.h"
#include "fc_limits.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A chunk of a file: its bytes are [offset, offset + length) of the file. On the wire only
   length and hash travel (format 2); offset is implied by the order and filled in by the
   decoder. Lengths vary (1..FC_MAX_CHUNK): nothing may assume every chunk but the last is
   FC_CHUNK_SIZE long, so content-defined chunks need no other format. */
typedef struct {
    uint64_t offset;
    uint32_t length;
    uint8_t hash[FC_HASH_LEN];
} fc_chunk_t;

/* A modification time: seconds since the Unix epoch (may be negative) and nanoseconds. */
typedef struct {
    int64_t sec;
    uint32_t nsec; /* 0..999999999 */
} fc_mtime_t;

typedef struct {
    char *path;    /* relative, normalised, '/'-separated; owned */
    uint32_t mode; /* permission bits only (0777 mask) */
    uint64_t size;
    uint8_t hash[FC_HASH_LEN]; /* fc_hash_of_chunks over chunks; also the blob id */
    fc_chunk_t *chunks;        /* owned; contiguous from offset 0, each 1..FC_MAX_CHUNK long */
    uint32_t nchunks;
    fc_mtime_t mtime; /* format 1 carries none: 0 */
    /* Format 3 (fc_manifest_parts.h): the hash of this file's chunk list object, whose bytes
       the page names; zero in formats 1 and 2. */
    uint8_t list_hash[FC_HASH_LEN];
} fc_file_t;

/* A directory: listed so empty directories and directory modes are part of a release. A
   directory holding files need not be listed (it is then made 0755). */
typedef struct {
    char *path; /* owned */
    uint32_t mode;
    fc_mtime_t mtime;
} fc_dir_t;

/* A symbolic link. Unless external, target is relative and stays inside the release
   (fc_link_target_inside); external links are kept as written, at the publisher's word. */
typedef struct {
    char *path;   /* owned */
    char *target; /* owned; 1..FC_MAX_PATH bytes, no control character */
    fc_mtime_t mtime;
    bool external;
} fc_link_t;

typedef struct {
    uint32_t format; /* set by parse (1 or 2) or assemble (3); sign writes FC_MANIFEST_FORMAT */
    char product[FC_MAX_NAME + 1];
    char channel[FC_MAX_NAME + 1];
    char version[FC_MAX_NAME + 1];
    char min_version[FC_MAX_NAME + 1]; /* "" if none */
    uint64_t serial;                   /* strictly increasing per channel */
    bool mandatory;
    int64_t created;  /* unix seconds */
    fc_file_t *files; /* owned, sorted by path, no duplicates */
    uint32_t nfiles;
    fc_dir_t *dirs; /* owned, sorted by path */
    uint32_t ndirs;
    fc_link_t *links; /* owned, sorted by path */
    uint32_t nlinks;
    uint8_t signer[FC_PUBKEY_LEN]; /* set by fc_manifest_parse */
} fc_manifest_t;

/* Progress callback for long scans: bytes hashed so far of total. */
typedef void(fc_progress_fn)(uint64_t done, uint64_t total, void *arg);

fc_manifest_t *fc_manifest_new(void);
void fc_manifest_destroy(fc_manifest_t **self_p);
/* A deep copy of self (owned by the caller); aborts without memory, like fc_manifest_new. */
fc_manifest_t *fc_manifest_dup(const fc_manifest_t *self);

/* How fc_manifest_scan_dir treats what it finds. */
typedef struct {
    bool allow_external_symlinks; /* keep absolute or escaping links as written */
    bool no_times;                /* every mtime is 0 (the epoch): reproducible trees */
    bool fixed_chunks;            /* FC_CHUNK_SIZE chunks (before issue 13), not by content */
} fc_scan_opts_t;

/* Walks dir recursively, adding every regular file, directory (below the root) and symlink,
   sorted by path, with chunk hashes (cut by content, fc_cdc), modes and times. Never follows a
   symlink. Refuses (FC_EPATH) a symlink whose target is absolute or leaves the tree (unless
   opts->allow_external_symlinks), a device, FIFO or socket, and a name that is not a valid
   path; an unreadable file fails with its errno's code. On failure, if bad is non-NULL, it
   gets the relative path at fault and why ("symlink target escapes the release"), so every
   error can name the file. opts and progress may be NULL. Returns fc_error_t. */
int fc_manifest_scan_dir(fc_manifest_t *self, const char *dir, fc_progress_fn *progress, void *arg);
int fc_manifest_scan_tree(fc_manifest_t *self, const char *dir, const fc_scan_opts_t *opts,
                          fc_progress_fn *progress, void *arg, char *bad, size_t badsize);

/* Encodes and signs: returns malloc'd signed envelope bytes (*len set), NULL on failure
   (invalid fields). The envelope is msgpack [body_bin, signer_pk_bin, signature_bin]. */
uint8_t *fc_manifest_sign(const fc_manifest_t *self, const fc_signkey_t *key, size_t *len);

/* Parses a signed envelope. Checks, in order: size, envelope shape, signature against the
   embedded signer, signer in trust (if trust is non-NULL: FC_EUNTRUSTED otherwise), then
   decodes the body with every count bounded, every path valid (fc_path_valid), no entry
   below a file or a link, link targets inside the release unless marked external, chunk
   lists contiguous and consistent with size, each file hash equal to the hash of its chunks.
   Reads formats 1 and 2; a newer format gives FC_EFORMAT (fc_manifest_format_of says which).
   Returns NULL with *err set on any failure. */
fc_manifest_t *fc_manifest_parse(const uint8_t *buf, size_t len, const fc_trust_t *trust, int *err);

/* The format number a signed manifest's body declares (its first field), or 0 if the
   envelope or body cannot be read that far. Checks nothing else: for messages only. */
uint32_t fc_manifest_format_of(const uint8_t *buf, size_t len);

/* True if a relative link target, read from the link at path, names something inside the
   release: zero or more leading ".." components, no more than path's depth, then plain
   components (no ".", "..", or empty one). Since no entry may sit below a link, the leading
   ".." walk only real directories, and every later component descends: a tree whose links
   all pass stays inside, however they chain. */
bool fc_link_target_inside(const char *path, const char *target);

/* Sum of file sizes. */
uint64_t fc_manifest_total_size(const fc_manifest_t *self);
/* The file, directory or link with this path, or NULL. */
const fc_file_t *fc_manifest_find(const fc_manifest_t *self, const char *path);
const fc_dir_t *fc_manifest_find_dir(const fc_manifest_t *self, const char *path);
const fc_link_t *fc_manifest_find_link(const fc_manifest_t *self, const char *path);
/* Appends an entry (copying path and target); the caller keeps each array sorted. Abort on
   out of memory, like fc_manifest_new. Returns the new entry. */
fc_dir_t *fc_manifest_add_dir(fc_manifest_t *self, const char *path, uint32_t mode,
                              fc_mtime_t mtime);
fc_link_t *fc_manifest_add_link(fc_manifest_t *self, const char *path, const char *target,
                                fc_mtime_t mtime, bool external);

/* A relative path is valid if non-empty, at most FC_MAX_PATH bytes, not absolute, has no
   empty, "." or ".." component, no backslash and no control characters. */
bool fc_path_valid(const char *path);
/* A name (channel, version, product, agent id) is 1..FC_MAX_NAME of [A-Za-z0-9._+-]. */
bool fc_name_valid(const char *name);
/* Compares versions like "1.10.2" vs "1.9": numeric runs as numbers (strverscmp). */
int fc_version_cmp(const char *a, const char *b);

/* True if a and b install the same tree: the same files (path, size, hash, mode), and,
   when both are format 2, the same times, directories (mode, time) and links (target,
   external, time). Otherwise false, with the first difference in why ("bin/run.sh has other
   content"). Names, serials and signers are not compared (fc_manifest_diff.c). */
bool fc_manifest_same_entries(const fc_manifest_t *a, const fc_manifest_t *b, char *why,
                              size_t size);

void fc_manifest_test(bool verbose);
/* Self-test of fc_manifest_same_entries; fc_manifest_test runs it. */
void fc_manifest_diff_test(bool verbose);

/* Self-test of fc_manifest_scan_dir (proto/fc_manifest_scan.c); fc_manifest_test runs it. */
void fc_manifest_scan_test(bool verbose);

#endif
