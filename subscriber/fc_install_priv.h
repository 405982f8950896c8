/* fc_install_priv.h: the install layer's insides; not a public API. Dependencies go one way:
   fc_install.c (the install tree, owns fc_install_t) <- fc_stage.c (staging, owns fc_stage_t;
   fc_fetch.c runs its chunk jobs) <- fc_install_commit.c (the commit, a private part of
   fc_install.c that works on both structs). */
#ifndef FC_INSTALL_PRIV_H
#define FC_INSTALL_PRIV_H

#include "fc_install.h"
#include "fc_journal.h"
#include "fc_objects.h"

/* A release may hold FC_MAX_FILES files: the stage keeps only this many open at once. */
#define FC_STAGE_MAX_FDS 64
/* A release of more files and directories than this is made durable by one syncfs before
   the swap, a smaller one by an fsync of each (fc_stage_finish_tree). */
#define FC_STAGE_SYNCFS_FROM 64
/* Bytes written to a staged file between two starts of its writeback (fc_stage.c). */
#define FC_STAGE_WRITEBACK (8u * 1024u * 1024u)

struct fc_install_t {
    char *dir;   /* absolute; for hooks and messages only: files are reached through dirfd */
    char *state; /* absolute */
    int dirfd;   /* the install dir, opened O_NOFOLLOW and checked (owner, mode) */
    int relfd;   /* its releases/, likewise: every release tree is reached below it */
    char *name;  /* the installed tree's directory under releases/ (state file
                    installed.release), NULL if none */
    const fc_trust_t *trust;
    fc_manifest_t *installed; /* NULL if nothing installed */
    uint8_t *installed_bytes; /* its signed envelope; also while installed is NULL if its
                                 objects are to be fetched again (fc_install_unread) */
    size_t installed_len;
    uint64_t *failed;
    size_t nfailed;
    bool discard; /* fleet simulators: chunks verified, never written (fc_install_set_discard) */
    fc_objects_t *objects; /* format-3 manifest objects under state/objects */
};

/* A chunk by content, for finding every chunk of a release with a given hash. */
typedef struct {
    const uint8_t *hash;
    uint64_t index;
} fc_chunk_ref_t;

struct fc_stage_t {
    fc_install_t *inst;
    const fc_manifest_t *m;
    uint8_t *bytes; /* the signed manifest */
    size_t len;
    char *dir;  /* <install>/releases/.staging-<serial>, for hooks and messages */
    char *name; /* .staging-<serial>, below inst->relfd */
    int rootfd;
    fc_journal_t *journal;
    uint64_t nchunks;
    uint64_t *first;         /* first global chunk index of each file; [nfiles] = nchunks */
    fc_chunk_ref_t *by_hash; /* every chunk, sorted by hash */
    int *fds;                /* per file; -1 when closed */
    uint64_t *unflushed;     /* per file: bytes written since its writeback was last started */
    uint32_t lru[FC_STAGE_MAX_FDS];
    uint64_t lru_tick[FC_STAGE_MAX_FDS];
    size_t nopen;
    uint64_t tick;
    uint8_t *buf; /* one chunk */
    uint64_t bytes_have, bytes_total;
};

/* malloc'd printf (NULL if out of memory). */
char *fc_install_strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Removes the entry name below the directory fd at and, if it is a directory, everything in
   it, by descriptor: each level is opened O_NOFOLLOW, a symlink is removed itself and never
   followed, so a local writer swapping a directory for a symlink mid-way cannot make it
   delete anything outside. Like rm -rf: a missing entry is fine. 0, or -1 with errno. */
int fc_install_remove_at(int at, const char *name);
/* The directory under releases/ a release is installed in: "<version>@<serial>" (malloc'd,
   NULL if out of memory). A version never holds '@' (fc_name_valid) and serials only go up,
   so no two releases share one, and no name is that of a staging dir. */
char *fc_install_release_name(const fc_manifest_t *m);
/* True if name is a staging dir, ".staging-<serial>" with only digits after the dash; its
   serial in *serial. */
bool fc_install_is_staging(const char *name, uint64_t *serial);
/* The target of <install>/current ("releases/NAME"), or "" if missing; 0 or -1. */
int fc_install_read_current(const fc_install_t *self, char *out, size_t size);
/* The release directory name inside a target "releases/NAME" (pointing into it), or NULL. */
const char *fc_install_target_name(const char *target);
/* Points <install>/current at target atomically (symlink beside it, rename over it, fsync
   the directory), or removes it if target is "". fc_error_t. */
int fc_install_point_current(const fc_install_t *self, const char *target);
/* Records name as the installed tree of serial in the state dir (path is where: the file
   itself, or a .next beside it). 0 or fc_error_t. */
int fc_install_save_name(const fc_install_t *self, const char *path, uint64_t serial,
                         const char *name);
/* Adds serial to the failed list (not retried) and saves it (the last 1024). fc_error_t. */
int fc_install_save_failed(fc_install_t *self, uint64_t serial);
/* Commit steps that need the stage's files: check it is complete, every staged file has its
   size and every file hash is that of its chunks (nothing is read back: each chunk was hashed
   when written, or when the stage was re-opened; a file of the wrong size has its chunks
   forgotten: FC_EHASH), then set modes and times and make files and directories durable
   (an fsync each, or one syncfs past FC_STAGE_SYNCFS_FROM entries). fc_error_t. */
int fc_stage_check_all(fc_stage_t *self, char *msg, size_t msgsize);
int fc_stage_finish_tree(fc_stage_t *self);

/* Most chunks one job carries: a run of chunks back to back in one file, fetched by one
   GET_CHUNK, so small content-defined chunks do not each cost a request, a reply and a
   handoff. */
#define FC_STAGE_RUN_MAX 32

/* Received chunks checked and written on another thread (the fetcher's workers): the job
   holds everything that takes, so the worker never touches the stage. */
typedef struct {
    uint64_t index;  /* global index of its first chunk */
    uint64_t offset; /* of its first chunk, in its file */
    uint32_t length; /* bytes of all its chunks */
    uint32_t count;  /* chunks, indexes index..index+count-1 */
    uint32_t bad;    /* after a run that gave FC_EHASH: the first chunk (0-based) that failed */
    int fd;          /* a duplicate of the staged file's fd, owned by the job */
    int rc;          /* outcome of fc_stage_job_run */
    bool discard;    /* verify only, write nothing (fc_install_set_discard) */
    bool writeback;  /* start the file's writeback after this write (FC_STAGE_WRITEBACK) */
    uint32_t lengths[FC_STAGE_RUN_MAX];
    uint8_t hashes[FC_STAGE_RUN_MAX][FC_HASH_LEN];
} fc_stage_job_t;

/* Stage's thread: fills job for chunk index alone (duplicating the file's fd). 0 or
   fc_error_t. */
int fc_stage_job_prepare(fc_stage_t *self, uint64_t index, fc_stage_job_t *job);
/* Stage's thread: adds chunk index to a prepared job if it is the next chunk of the same
   file, right after the job's bytes, and the job has room. True if added. */
bool fc_stage_job_add(fc_stage_t *self, fc_stage_job_t *job, uint64_t index);
/* Any thread, touching only the job: checks each chunk of data (len must be job->length)
   against its hash (FC_EHASH, job->bad naming the first that failed: then nothing is
   written), writes them at their offset, starts the file's writeback if the job says so,
   and closes job->fd. Sets and returns job->rc. */
int fc_stage_job_run(fc_stage_job_t *job, const void *data, size_t len);
/* Stage's thread, after a run that returned 0 (so the data is on its way to disk): journals
   the job's chunks, and fills any other missing chunk with the same content from data. 0 or
   the journal's error (chunks journaled before it stay so). */
int fc_stage_job_done(fc_stage_t *self, const fc_stage_job_t *job, const void *data);

#endif
