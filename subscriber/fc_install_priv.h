/* fc_install_priv.h: internals shared by fc_install.c (install, commit) and fc_stage.c
   (staging); not a public API. */
#ifndef FC_INSTALL_PRIV_H
#define FC_INSTALL_PRIV_H

#include "fc_install.h"
#include "fc_journal.h"

/* A release may hold FC_MAX_FILES files: the stage keeps only this many open at once. */
#define FC_STAGE_MAX_FDS 64

struct fc_install_t {
    char *dir;   /* absolute */
    char *state; /* absolute */
    const fc_trust_t *trust;
    fc_manifest_t *installed; /* NULL if nothing installed */
    uint8_t *installed_bytes; /* its signed envelope */
    size_t installed_len;
    uint64_t *failed;
    size_t nfailed;
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
    char *dir; /* <install>/releases/.staging-<serial> */
    int rootfd;
    fc_journal_t *journal;
    uint64_t nchunks;
    uint64_t *first;         /* first global chunk index of each file; [nfiles] = nchunks */
    fc_chunk_ref_t *by_hash; /* every chunk, sorted by hash */
    int *fds;                /* per file; -1 when closed */
    uint32_t lru[FC_STAGE_MAX_FDS];
    uint64_t lru_tick[FC_STAGE_MAX_FDS];
    size_t nopen;
    uint64_t tick;
    uint8_t *buf; /* one chunk */
    uint64_t bytes_have, bytes_total;
};

/* malloc'd printf (NULL if out of memory). */
char *fc_install_strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* snprintf into an optional message buffer. */
void fc_install_msg(char *msg, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Commit steps that need the stage's files: read back and hash everything (bad chunks are
   forgotten: FC_EHASH), then set modes and fsync files and directories. fc_error_t. */
int fc_stage_verify_all(fc_stage_t *self, char *msg, size_t msgsize);
int fc_stage_finish_tree(fc_stage_t *self);

#endif
