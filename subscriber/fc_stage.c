/* fc_stage.c: staging a release chunk by chunk: the staging tree, resumable through the
   journal (re-verified when re-opened), with chunks reused from the installed release. Built
   on the install tree (fc_install.c, through fc_install_priv.h), which never calls into it;
   a complete stage is consumed by the commit (fc_install_commit.c). */
#define _GNU_SOURCE /* sync_file_range, syncfs */
#include "fc_error.h"
#include "fc_file.h"
#include "fc_hash.h"
#include "fc_install_priv.h"
#include "fc_text.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Opens the directory holding rel's last component below rootfd, one component at a time,
   never following a symlink and never leaving the tree: a planted symlink (or a file where a
   directory should be) gives FC_EPATH. With mkparents, missing directories are created 0755.
   *name points at the last component in rel. Returns an fd the caller closes (a duplicate of
   rootfd for a top-level name) or -fc_error_t. */
static int s_parent_below(int rootfd, const char *rel, bool mkparents, const char **name)
{
    char comp[FC_MAX_PATH + 1];
    if (strlen(rel) > FC_MAX_PATH)
        return -FC_EPATH;
    int dfd = fcntl(rootfd, F_DUPFD_CLOEXEC, 0);
    if (dfd < 0)
        return -fc_errno_to_error(errno);
    const char *p = rel;
    for (const char *slash; (slash = strchr(p, '/')) != NULL; p = slash + 1) {
        size_t n = (size_t)(slash - p);
        memcpy(comp, p, n);
        comp[n] = '\0';
        int fd;
        if (mkparents && mkdirat(dfd, comp, 0755) != 0 && errno != EEXIST)
            fd = -1;
        else
            fd = openat(dfd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int err = errno;
        close(dfd);
        if (fd < 0)
            return err == ELOOP || err == ENOTDIR ? -FC_EPATH : -fc_errno_to_error(err);
        dfd = fd;
    }
    *name = p;
    return dfd;
}

/* Opens rel below rootfd (s_parent_below, then the last component with flags, O_NOFOLLOW),
   a regular file only. Returns an fd or -fc_error_t. */
static int s_open_below(int rootfd, const char *rel, int flags, mode_t mode, bool mkparents)
{
    const char *name;
    int dfd = s_parent_below(rootfd, rel, mkparents, &name);
    if (dfd < 0)
        return dfd;
    int fd = openat(dfd, name, flags | O_NOFOLLOW | O_CLOEXEC, mode);
    int err = errno;
    close(dfd);
    if (fd < 0)
        return err == ELOOP || err == ENOTDIR || err == EISDIR || err == EEXIST
                   ? -FC_EPATH
                   : -fc_errno_to_error(err);
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return -FC_EPATH; /* a FIFO or device planted in the tree */
    }
    return fd;
}

/* The file holding global chunk index (the last file whose first chunk is <= index, which
   skips empty files), and the chunk within it. */
static const fc_chunk_t *s_locate(const fc_stage_t *self, uint64_t index, uint32_t *fi)
{
    if (index >= self->nchunks)
        return NULL;
    uint32_t lo = 0, hi = self->m->nfiles; /* first[lo] <= index < first[hi] */
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (self->first[mid] <= index)
            lo = mid;
        else
            hi = mid;
    }
    *fi = lo;
    return &self->m->files[lo].chunks[index - self->first[lo]];
}

/* The stage's fd for file fi, opened on demand; the least recently used is closed when
   FC_STAGE_MAX_FDS are open. Returns an fd or -fc_error_t. */
static int s_file_fd(fc_stage_t *self, uint32_t fi)
{
    self->tick++;
    if (self->fds[fi] >= 0) {
        for (size_t i = 0; i < self->nopen; i++)
            if (self->lru[i] == fi)
                self->lru_tick[i] = self->tick;
        return self->fds[fi];
    }
    int fd = s_open_below(self->rootfd, self->m->files[fi].path, O_RDWR, 0, false);
    if (fd < 0)
        return fd;
    size_t slot = self->nopen;
    if (self->nopen == FC_STAGE_MAX_FDS) {
        slot = 0;
        for (size_t i = 1; i < self->nopen; i++)
            if (self->lru_tick[i] < self->lru_tick[slot])
                slot = i;
        close(self->fds[self->lru[slot]]);
        self->fds[self->lru[slot]] = -1;
    } else
        self->nopen++;
    self->lru[slot] = fi;
    self->lru_tick[slot] = self->tick;
    self->fds[fi] = fd;
    return fd;
}

static void s_close_files(fc_stage_t *self)
{
    for (size_t i = 0; i < self->nopen; i++) {
        close(self->fds[self->lru[i]]);
        self->fds[self->lru[i]] = -1;
    }
    self->nopen = 0;
}

/* Reads chunk index into self->buf and checks it against its hash. 0, FC_EHASH or FC_EIO. */
static int s_read_chunk(fc_stage_t *self, uint64_t index, uint8_t out[FC_HASH_LEN])
{
    uint32_t fi;
    const fc_chunk_t *c = s_locate(self, index, &fi);
    int fd = s_file_fd(self, fi);
    if (fd < 0)
        return -fd;
    if (fc_pread_all(fd, self->buf, c->length, c->offset) != 0)
        return FC_EIO; /* short read: the file was truncated under us */
    uint8_t h[FC_HASH_LEN];
    fc_hash_buf(h, self->buf, c->length);
    if (out)
        memcpy(out, h, FC_HASH_LEN);
    return fc_hash_equal(h, c->hash) ? 0 : FC_EHASH;
}

/* Starts the writeback of what was written to file fi once FC_STAGE_WRITEBACK bytes have
   piled up since the last start: the disk works while the rest is downloaded, so the fsync
   before the swap finds little left to do. One call per batch, not per chunk: each call
   submits its own I/O (a device kick per chunk cost more CPU than the hashing of small
   chunks). Returns true when this write should start it (the caller does, on its fd). */
static bool s_writeback_due(fc_stage_t *self, uint32_t fi, uint32_t len)
{
    self->unflushed[fi] += len;
    if (self->unflushed[fi] < FC_STAGE_WRITEBACK)
        return false;
    self->unflushed[fi] = 0;
    return true;
}

/* Only a hint: a file system without it still gets the fsync at commit. The whole file, as
   chunks land out of order: pages already under writeback or clean are skipped. */
static void s_writeback(int fd)
{
    sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
}

/* Writes already-verified data as chunk index and journals it. */
static int s_write_one(fc_stage_t *self, uint64_t index, const void *data)
{
    uint32_t fi;
    const fc_chunk_t *c = s_locate(self, index, &fi);
    if (!self->inst->discard) {
        int fd = s_file_fd(self, fi);
        if (fd < 0)
            return -fd;
        if (fc_pwrite_all(fd, data, c->length, c->offset) != 0)
            return fc_errno_to_error(errno);
        if (s_writeback_due(self, fi, c->length))
            s_writeback(fd);
    }
    int rc = fc_journal_mark(self->journal, index);
    if (rc == 0)
        self->bytes_have += c->length;
    return rc;
}

static int s_ref_cmp(const void *a, const void *b)
{
    const fc_chunk_ref_t *x = a, *y = b;
    int rc = memcmp(x->hash, y->hash, FC_HASH_LEN);
    if (rc == 0)
        rc = x->index < y->index ? -1 : x->index > y->index;
    return rc;
}

/* The range [*lo, return) of by_hash entries with this hash. */
static size_t s_find_hash(const fc_stage_t *self, const uint8_t hash[FC_HASH_LEN], size_t *lo)
{
    size_t l = 0, h = (size_t)self->nchunks;
    while (l < h) {
        size_t mid = l + (h - l) / 2;
        if (memcmp(self->by_hash[mid].hash, hash, FC_HASH_LEN) < 0)
            l = mid + 1;
        else
            h = mid;
    }
    *lo = l;
    size_t end = l;
    while (end < self->nchunks && memcmp(self->by_hash[end].hash, hash, FC_HASH_LEN) == 0)
        end++;
    return end;
}

/* Writes verified data as every missing chunk with this hash; adds the bytes to *written.
   The first failure stops it. */
static int s_put_all(fc_stage_t *self, const uint8_t hash[FC_HASH_LEN], const void *data,
                     uint64_t *written)
{
    size_t lo, end = s_find_hash(self, hash, &lo);
    for (size_t i = lo; i < end; i++) {
        uint64_t index = self->by_hash[i].index;
        if (fc_journal_has(self->journal, index))
            continue;
        int rc = s_write_one(self, index, data);
        if (rc != 0)
            return rc;
        uint32_t fi;
        *written += s_locate(self, index, &fi)->length;
    }
    return 0;
}

/* Creates the staging tree: every file created (0600 until commit) and sized sparse. */
static int s_create_files(fc_stage_t *self)
{
    for (uint32_t i = 0; i < self->m->nfiles; i++) {
        const fc_file_t *f = &self->m->files[i];
        int fd = s_open_below(self->rootfd, f->path, O_RDWR | O_CREAT, 0600, true);
        if (fd < 0)
            return -fd;
        struct stat st;
        int rc = fstat(fd, &st) == 0 ? 0 : FC_EIO;
        /* Sparse: space is taken chunk by chunk, so a full disk fails a write, not this. */
        if (rc == 0 && (uint64_t)st.st_size != f->size && ftruncate(fd, (off_t)f->size) != 0)
            rc = fc_errno_to_error(errno);
        close(fd);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Creates the release's directories (0700 until the commit sets their modes) and symlinks,
   below the staging root without following any link. On a resumed stage they exist already:
   a link with another target (from an interrupted run) is made again. fc_error_t. */
static int s_create_dirs_links(fc_stage_t *self)
{
    const fc_manifest_t *m = self->m;
    for (uint32_t i = 0; i < m->ndirs; i++) {
        const char *name;
        int pfd = s_parent_below(self->rootfd, m->dirs[i].path, true, &name);
        if (pfd < 0)
            return -pfd;
        struct stat st;
        int rc = mkdirat(pfd, name, 0700) == 0 || errno == EEXIST ? 0 : fc_errno_to_error(errno);
        if (rc == 0 && (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode)))
            rc = FC_EPATH;
        close(pfd);
        if (rc)
            return rc;
    }
    for (uint32_t i = 0; i < m->nlinks; i++) {
        const fc_link_t *l = &m->links[i];
        /* Parse refused these already; the stage does not rely on its caller for it. */
        if (!l->external && !fc_link_target_inside(l->path, l->target))
            return FC_EPATH;
        const char *name;
        int pfd = s_parent_below(self->rootfd, l->path, true, &name);
        if (pfd < 0)
            return -pfd;
        int rc = 0;
        while (rc == 0 && symlinkat(l->target, pfd, name) != 0) {
            char have[FC_MAX_PATH + 2];
            ssize_t n;
            struct stat st;
            if (errno != EEXIST)
                rc = fc_errno_to_error(errno);
            else if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISLNK(st.st_mode))
                rc = FC_EPATH;
            else if ((n = readlinkat(pfd, name, have, sizeof have - 1)) >= 0 &&
                     ((have[n] = '\0'), strcmp(have, l->target) == 0))
                break; /* made by an earlier run */
            else if (unlinkat(pfd, name, 0) != 0)
                rc = fc_errno_to_error(errno);
        }
        close(pfd);
        if (rc)
            return rc;
    }
    return 0;
}

/* True if the file holds exactly these bytes. */
static bool s_file_equals(const char *path, const uint8_t *bytes, size_t len)
{
    size_t have_len;
    uint8_t *have = fc_read_file(path, FC_MAX_MANIFEST, &have_len);
    bool same = have && have_len == len && memcmp(have, bytes, len) == 0;
    free(have);
    return same;
}

fc_stage_t *fc_stage_open(fc_install_t *inst, const uint8_t *signed_manifest, size_t len,
                          const fc_manifest_t *m, int *err)
{
    int dummy;
    if (!err)
        err = &dummy;
    if (!inst || !signed_manifest || !m || len == 0 || len > FC_MAX_MANIFEST) {
        *err = FC_EINVAL;
        return NULL;
    }
    /* The version names a directory: never trust it further than the manifest rules. */
    if (!fc_name_valid(m->version) || m->nfiles > FC_MAX_FILES) {
        *err = FC_EPROTO;
        return NULL;
    }
    fc_stage_t *self = calloc(1, sizeof *self);
    if (!self) {
        *err = FC_ENOMEM;
        return NULL;
    }
    self->inst = inst;
    self->m = m;
    self->rootfd = -1;
    self->len = len;
    self->bytes = malloc(len);
    self->first = calloc((size_t)m->nfiles + 1, sizeof *self->first);
    self->fds = malloc(((size_t)m->nfiles + 1) * sizeof *self->fds);
    self->unflushed = calloc((size_t)m->nfiles + 1, sizeof *self->unflushed);
    self->buf = malloc(FC_MAX_CHUNK);
    char *mpath = fc_install_strf("%s/download-%" PRIu64 ".manifest", inst->state, m->serial);
    char *jpath = fc_install_strf("%s/download-%" PRIu64 ".journal", inst->state, m->serial);
    self->name = fc_install_strf(".staging-%" PRIu64, m->serial);
    self->dir = fc_install_strf("%s/releases/%s", inst->dir, self->name ? self->name : "");
    *err = FC_ENOMEM;
    if (!self->bytes || !self->first || !self->fds || !self->unflushed || !self->buf || !mpath ||
        !jpath || !self->name || !self->dir)
        goto fail;
    memcpy(self->bytes, signed_manifest, len);
    for (uint32_t i = 0; i < m->nfiles; i++) {
        self->fds[i] = -1;
        self->first[i + 1] = self->first[i] + m->files[i].nchunks;
        self->bytes_total += m->files[i].size;
        for (uint32_t j = 0; j < m->files[i].nchunks; j++)
            if (m->files[i].chunks[j].length > FC_MAX_CHUNK) {
                *err = FC_EPROTO;
                goto fail;
            }
    }
    self->nchunks = self->first[m->nfiles];
    self->by_hash = malloc(((size_t)self->nchunks + 1) * sizeof *self->by_hash);
    if (!self->by_hash)
        goto fail;
    for (uint64_t i = 0; i < self->nchunks; i++) {
        uint32_t fi;
        self->by_hash[i].hash = s_locate(self, i, &fi)->hash;
        self->by_hash[i].index = i;
    }
    qsort(self->by_hash, (size_t)self->nchunks, sizeof *self->by_hash, s_ref_cmp);

    /* A staging tree or journal left by a different manifest with this serial is not ours
       to resume: start over rather than ship stray files. */
    if (!s_file_equals(mpath, signed_manifest, len)) {
        unlink(jpath);
        if (fc_install_remove_at(inst->relfd, self->name) != 0) {
            *err = FC_EIO;
            goto fail;
        }
        if (fc_write_file_atomic(mpath, signed_manifest, len, 0600) != 0) {
            *err = fc_errno_to_error(errno);
            goto fail;
        }
    }
    /* Below the releases/ descriptor, never through a symlink planted at .staging-N. */
    if (mkdirat(inst->relfd, self->name, 0755) != 0 && errno != EEXIST) {
        *err = fc_errno_to_error(errno);
        goto fail;
    }
    self->rootfd = openat(inst->relfd, self->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (self->rootfd < 0) {
        *err = errno == ELOOP || errno == ENOTDIR ? FC_EPATH : fc_errno_to_error(errno);
        goto fail;
    }
    *err = s_create_dirs_links(self);
    if (*err == 0)
        *err = s_create_files(self);
    if (*err)
        goto fail;
    uint8_t id[FC_HASH_LEN];
    fc_hash_buf(id, signed_manifest, len);
    self->journal = fc_journal_open(jpath, id, self->nchunks, err);
    if (!self->journal)
        goto fail;
    /* The journal is a hint: each chunk it names is read back and hashed, and fetched again
       if the disk no longer holds it. */
    for (uint64_t i = 0; i < self->nchunks; i++) {
        if (!fc_journal_has(self->journal, i))
            continue;
        if (s_read_chunk(self, i, NULL) == 0) {
            uint32_t fi;
            self->bytes_have += s_locate(self, i, &fi)->length;
        } else
            fc_journal_forget(self->journal, i);
    }
    *err = 0;
    free(mpath);
    free(jpath);
    return self;
fail:
    free(mpath);
    free(jpath);
    fc_stage_destroy(&self);
    return NULL;
}

void fc_stage_destroy(fc_stage_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fc_stage_t *self = *self_p;
    if (self->fds)
        s_close_files(self);
    if (self->journal)
        fc_journal_sync(self->journal);
    fc_journal_destroy(&self->journal);
    if (self->rootfd >= 0)
        close(self->rootfd);
    free(self->bytes);
    free(self->dir);
    free(self->name);
    free(self->first);
    free(self->by_hash);
    free(self->fds);
    free(self->unflushed);
    free(self->buf);
    free(self);
    *self_p = NULL;
}

uint64_t fc_stage_nchunks(const fc_stage_t *self)
{
    return self ? self->nchunks : 0;
}

bool fc_stage_have(const fc_stage_t *self, uint64_t index)
{
    return self && fc_journal_has(self->journal, index);
}

bool fc_stage_dup_pending(const fc_stage_t *self, uint64_t index)
{
    uint32_t fi;
    const fc_chunk_t *c = self ? s_locate(self, index, &fi) : NULL;
    if (!c)
        return false;
    size_t lo, end = s_find_hash(self, c->hash, &lo);
    /* by_hash is sorted by (hash, index): the first of the range is the earliest copy. */
    uint64_t first = lo < end ? self->by_hash[lo].index : index;
    return first < index && !fc_journal_has(self->journal, first);
}

const fc_chunk_t *fc_stage_chunk(const fc_stage_t *self, uint64_t index, const fc_file_t **file)
{
    uint32_t fi;
    const fc_chunk_t *c = self ? s_locate(self, index, &fi) : NULL;
    if (c && file)
        *file = &self->m->files[fi];
    return c;
}

/* Copies into the stage every wanted chunk that the tree releases/<name>, holding release
   old, still has intact (each re-hashed before it is trusted). */
static int s_reuse_tree(fc_stage_t *self, const fc_manifest_t *old, const char *name, uint8_t *data,
                        uint64_t *reused)
{
    /* Below the releases/ descriptor, never through a symlink. */
    int curfd = openat(self->inst->relfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (curfd < 0)
        return 0; /* nothing on disk to reuse: everything is fetched */
    int rc = 0;
    /* In the old release's order, so each installed file is opened once and read forward. */
    for (uint32_t fi = 0; fi < old->nfiles && rc == 0; fi++) {
        const fc_file_t *f = &old->files[fi];
        int fd = -1;
        bool unusable = false;
        for (uint32_t j = 0; j < f->nchunks && rc == 0 && !unusable; j++) {
            const fc_chunk_t *c = &f->chunks[j];
            size_t lo, end = s_find_hash(self, c->hash, &lo);
            bool wanted = false;
            for (size_t i = lo; i < end && !wanted; i++)
                wanted = !fc_journal_has(self->journal, self->by_hash[i].index);
            if (!wanted || c->length > FC_MAX_CHUNK)
                continue;
            if (fd < 0) {
                fd = s_open_below(curfd, f->path, O_RDONLY | O_NONBLOCK, 0, false);
                unusable = fd < 0;
                if (unusable)
                    break;
            }
            /* The installed copy may have been edited locally: re-hash before trusting it. */
            uint8_t h[FC_HASH_LEN];
            if (fc_pread_all(fd, data, c->length, c->offset) != 0)
                continue;
            fc_hash_buf(h, data, c->length);
            if (!fc_hash_equal(h, c->hash))
                continue;
            uint32_t sfi;
            if (s_locate(self, self->by_hash[lo].index, &sfi)->length != c->length)
                continue;
            rc = s_put_all(self, c->hash, data, reused);
        }
        if (fd >= 0)
            close(fd);
    }
    close(curfd);
    return rc;
}

int fc_stage_reuse_local(fc_stage_t *self, uint64_t *reused)
{
    if (!self)
        return FC_EINVAL;
    uint64_t dummy = 0;
    if (!reused)
        reused = &dummy;
    const fc_manifest_t *old = self->inst->installed;
    if (!old || fc_stage_complete(self))
        return 0;
    uint8_t *data = malloc(FC_MAX_CHUNK);
    if (!data)
        return FC_ENOMEM;
    int rc = self->inst->name ? s_reuse_tree(self, old, self->inst->name, data, reused) : 0;
    /* The previous release is kept too (for a health-check swap back): a rollback to it, a
       new serial with its content, finds everything here and fetches nothing. */
    char *ppath = fc_install_strf("%s/previous.manifest", self->inst->state);
    size_t plen = 0;
    uint8_t *pbytes = ppath && rc == 0 && !fc_stage_complete(self)
                          ? fc_read_file(ppath, FC_MAX_MANIFEST, &plen)
                          : NULL;
    int perr = 0;
    fc_manifest_t *prev = pbytes ? fc_objects_load(self->inst->objects, pbytes, plen,
                                                   self->inst->trust, NULL, 0, NULL, NULL, &perr)
                                 : NULL;
    char *pname = prev ? fc_install_release_name(prev) : NULL;
    if (pname && (!self->inst->name || strcmp(pname, self->inst->name) != 0))
        rc = s_reuse_tree(self, prev, pname, data, reused);
    free(pname);
    fc_manifest_destroy(&prev);
    free(pbytes);
    free(ppath);
    free(data);
    return rc;
}

int fc_stage_write(fc_stage_t *self, uint64_t index, const void *data, size_t len)
{
    uint32_t fi;
    const fc_chunk_t *c = self ? s_locate(self, index, &fi) : NULL;
    if (!c || (!data && len > 0))
        return FC_EINVAL;
    if (len != c->length)
        return FC_EHASH;
    uint8_t h[FC_HASH_LEN];
    fc_hash_buf(h, data, len);
    if (!fc_hash_equal(h, c->hash))
        return FC_EHASH;
    if (fc_journal_has(self->journal, index))
        return 0; /* a duplicate reply */
    int rc = s_write_one(self, index, data);
    if (rc != 0)
        return rc;
    /* Other chunks with the same content are written now; a failure there only leaves
       them missing, to be fetched like any other. */
    uint64_t more = 0;
    s_put_all(self, c->hash, data, &more);
    return 0;
}

int fc_stage_job_prepare(fc_stage_t *self, uint64_t index, fc_stage_job_t *job)
{
    uint32_t fi;
    const fc_chunk_t *c = self && job ? s_locate(self, index, &fi) : NULL;
    if (!c)
        return FC_EINVAL;
    job->discard = self->inst->discard;
    job->fd = -1;
    if (!job->discard) {
        int fd = s_file_fd(self, fi);
        if (fd < 0)
            return -fd;
        /* The worker's own fd: the stage may close its copy (LRU) while the job waits. */
        job->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
        if (job->fd < 0)
            return fc_errno_to_error(errno);
    }
    job->writeback = !job->discard && s_writeback_due(self, fi, c->length);
    job->index = index;
    job->offset = c->offset;
    job->length = c->length;
    job->count = 1;
    job->bad = 0;
    job->rc = 0;
    job->lengths[0] = c->length;
    memcpy(job->hashes[0], c->hash, FC_HASH_LEN);
    return 0;
}

bool fc_stage_job_add(fc_stage_t *self, fc_stage_job_t *job, uint64_t index)
{
    uint32_t fi, first_fi;
    const fc_chunk_t *c = self && job && job->count > 0 && job->count < FC_STAGE_RUN_MAX &&
                                  index == job->index + job->count
                              ? s_locate(self, index, &fi)
                              : NULL;
    if (!c || !s_locate(self, job->index, &first_fi) || fi != first_fi ||
        c->offset != job->offset + job->length || c->length > UINT32_MAX - job->length)
        return false;
    if (!job->discard && s_writeback_due(self, fi, c->length))
        job->writeback = true;
    job->lengths[job->count] = c->length;
    memcpy(job->hashes[job->count], c->hash, FC_HASH_LEN);
    job->count++;
    job->length += c->length;
    return true;
}

int fc_stage_job_run(fc_stage_job_t *job, const void *data, size_t len)
{
    job->rc = data && len == job->length ? 0 : FC_EHASH;
    job->bad = 0;
    /* Every chunk verified before any is written: a reply counts whole or not at all. */
    size_t off = 0;
    for (uint32_t i = 0; job->rc == 0 && i < job->count; i++) {
        uint8_t h[FC_HASH_LEN];
        fc_hash_buf(h, (const uint8_t *)data + off, job->lengths[i]);
        if (!fc_hash_equal(h, job->hashes[i])) {
            job->rc = FC_EHASH;
            job->bad = i;
        }
        off += job->lengths[i];
    }
    if (job->rc == 0 && !job->discard) {
        if (fc_pwrite_all(job->fd, data, len, job->offset) != 0)
            job->rc = fc_errno_to_error(errno);
        else if (job->writeback)
            s_writeback(job->fd);
    }
    if (job->fd >= 0)
        close(job->fd);
    job->fd = -1;
    return job->rc;
}

int fc_stage_job_done(fc_stage_t *self, const fc_stage_job_t *job, const void *data)
{
    if (!self || !job || job->rc != 0 || job->count == 0 || job->count > FC_STAGE_RUN_MAX)
        return FC_EINVAL;
    /* Checked against the manifest, not the job's own copy, before anything counts. */
    for (uint32_t i = 0; i < job->count; i++) {
        uint32_t fi;
        const fc_chunk_t *c = s_locate(self, job->index + i, &fi);
        if (!c || job->lengths[i] != c->length)
            return FC_EINVAL;
    }
    size_t off = 0;
    for (uint32_t i = 0; i < job->count; off += job->lengths[i], i++) {
        uint64_t index = job->index + i;
        /* Filled meanwhile by another chunk with the same content: same bytes, marked. */
        if (fc_journal_has(self->journal, index))
            continue;
        int rc = fc_journal_mark(self->journal, index);
        if (rc != 0)
            return rc;
        uint32_t fi;
        const fc_chunk_t *c = s_locate(self, index, &fi);
        self->bytes_have += c->length;
        uint64_t more = 0;
        s_put_all(self, c->hash, (const uint8_t *)data + off, &more);
    }
    return 0;
}

uint64_t fc_stage_bytes_have(const fc_stage_t *self)
{
    return self ? self->bytes_have : 0;
}

uint64_t fc_stage_bytes_total(const fc_stage_t *self)
{
    return self ? self->bytes_total : 0;
}

bool fc_stage_complete(const fc_stage_t *self)
{
    return self && fc_journal_count(self->journal) == self->nchunks;
}

/* ---------------------------------------------------------------------------------------- */
/* Commit steps */

/* Every chunk was hashed when it was written (or when the stage was re-opened from its
   journal), so the commit does not read the release back: it checks the structure only. A
   staged file of the wrong size (truncated under us) has its chunks forgotten: FC_EHASH,
   and a re-opened stage fetches them again. */
int fc_stage_check_all(fc_stage_t *self, char *msg, size_t msgsize)
{
    if (!fc_stage_complete(self)) {
        fc_textf(msg, msgsize, "release %s incomplete: %" PRIu64 " of %" PRIu64 " chunks",
                 self->m->version, fc_journal_count(self->journal), self->nchunks);
        return FC_EMISSING;
    }
    uint8_t(*hashes)[FC_HASH_LEN] = NULL;
    size_t cap = 0;
    for (uint32_t fi = 0; fi < self->m->nfiles; fi++) {
        const fc_file_t *f = &self->m->files[fi];
        struct stat st;
        int fd = s_file_fd(self, fi);
        if (fd < 0) {
            free(hashes);
            fc_textf(msg, msgsize, "staged file %s is unusable", f->path);
            return -fd;
        }
        if (fstat(fd, &st) != 0 || (uint64_t)st.st_size != f->size) {
            for (uint32_t j = 0; j < f->nchunks; j++)
                if (fc_journal_has(self->journal, self->first[fi] + j)) {
                    fc_journal_forget(self->journal, self->first[fi] + j);
                    self->bytes_have -= f->chunks[j].length;
                }
            free(hashes);
            fc_textf(msg, msgsize, "staged file %s changed size: re-fetching", f->path);
            return FC_EHASH;
        }
        if (f->nchunks > cap) {
            void *nh = realloc(hashes, (size_t)f->nchunks * FC_HASH_LEN);
            if (!nh) {
                free(hashes);
                return FC_ENOMEM;
            }
            hashes = nh;
            cap = f->nchunks;
        }
        for (uint32_t j = 0; j < f->nchunks; j++)
            memcpy(hashes[j], f->chunks[j].hash, FC_HASH_LEN);
        uint8_t h[FC_HASH_LEN];
        fc_hash_of_chunks(h, (const uint8_t(*)[FC_HASH_LEN])hashes, f->nchunks);
        if (!fc_hash_equal(h, f->hash)) {
            free(hashes);
            fc_textf(msg, msgsize, "file %s: its hash is not that of its chunks", f->path);
            return FC_EPROTO;
        }
    }
    free(hashes);
    return 0;
}

/* fsyncs the directory made of the first len bytes of rel below rootfd ("" is rootfd),
   walking down without following a symlink. 0 or fc_error_t. */
static int s_fsync_below(int rootfd, const char *rel, size_t len)
{
    char comp[FC_MAX_PATH + 1];
    if (len > FC_MAX_PATH)
        return FC_EPATH;
    int dfd = rootfd;
    for (size_t at = 0; at < len;) {
        size_t n = strcspn(rel + at, "/");
        if (at + n > len)
            n = len - at;
        memcpy(comp, rel + at, n);
        comp[n] = '\0';
        int fd = openat(dfd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int err = errno;
        if (dfd != rootfd)
            close(dfd);
        if (fd < 0)
            return err == ELOOP || err == ENOTDIR ? FC_EPATH : fc_errno_to_error(err);
        dfd = fd;
        at += n + 1;
    }
    int rc = fsync(dfd) == 0 ? 0 : FC_EIO;
    if (dfd != rootfd)
        close(dfd);
    return rc;
}

/* The times to give an entry: atime left alone, mtime the manifest's. */
static void s_times(struct timespec ts[2], fc_mtime_t t)
{
    ts[0] = (struct timespec){.tv_sec = 0, .tv_nsec = UTIME_OMIT};
    ts[1] = (struct timespec){.tv_sec = (time_t)t.sec, .tv_nsec = (long)t.nsec};
}

/* Links' times, then directories' modes and times, children before parents (reverse path
   order), each directory fsynced: after the content, since writing in a directory changes its
   time. Format 1 has no times: modes only. fc_error_t. */
static int s_finish_dirs_links(fc_stage_t *self, bool fsync_each)
{
    const fc_manifest_t *m = self->m;
    bool times = m->format >= 2;
    struct timespec ts[2];
    for (uint32_t i = 0; times && i < m->nlinks; i++) {
        const char *name;
        int pfd = s_parent_below(self->rootfd, m->links[i].path, false, &name);
        if (pfd < 0)
            return -pfd;
        s_times(ts, m->links[i].mtime);
        int rc = utimensat(pfd, name, ts, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : fc_errno_to_error(errno);
        close(pfd);
        if (rc)
            return rc;
    }
    for (uint32_t i = m->ndirs; i-- > 0;) {
        const char *name;
        int pfd = s_parent_below(self->rootfd, m->dirs[i].path, false, &name);
        if (pfd < 0)
            return -pfd;
        int fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int err = errno;
        close(pfd);
        if (fd < 0)
            return err == ELOOP || err == ENOTDIR ? FC_EPATH : fc_errno_to_error(err);
        s_times(ts, m->dirs[i].mtime);
        int rc = fchmod(fd, m->dirs[i].mode & 0777) != 0 || (times && futimens(fd, ts) != 0) ||
                         (fsync_each && fsync(fd) != 0)
                     ? fc_errno_to_error(errno)
                     : 0;
        close(fd);
        if (rc)
            return rc;
    }
    return 0;
}

/* Sets the final modes and times and makes files and directories durable before the swap.
   A release of many entries (a software tree of thousands of small files) is made durable
   by one syncfs of the staging tree's file system instead of an fsync per file and per
   directory (thousands of journal commits); a small one fsyncs its own files only, so many
   agents sharing a disk (fleet simulators) do not each flush all of it. */
int fc_stage_finish_tree(fc_stage_t *self)
{
    bool whole_fs = (uint64_t)self->m->nfiles + self->m->ndirs > FC_STAGE_SYNCFS_FROM;
    struct timespec ts[2];
    for (uint32_t fi = 0; fi < self->m->nfiles; fi++) {
        int fd = s_file_fd(self, fi);
        if (fd < 0)
            return -fd;
        s_times(ts, self->m->files[fi].mtime);
        if (fchmod(fd, self->m->files[fi].mode & 0777) != 0 ||
            (self->m->format >= 2 && futimens(fd, ts) != 0) || (!whole_fs && fsync(fd) != 0))
            return fc_errno_to_error(errno);
    }
    s_close_files(self);
    /* Directories: each parent of a file (sorted paths keep siblings together). */
    char last[FC_MAX_PATH + 1] = "";
    for (uint32_t fi = 0; !whole_fs && fi < self->m->nfiles; fi++) {
        const char *path = self->m->files[fi].path;
        const char *slash = strrchr(path, '/');
        size_t n = slash ? (size_t)(slash - path) : 0;
        if (fi > 0 && strlen(last) == n && strncmp(last, path, n) == 0)
            continue;
        memcpy(last, path, n);
        last[n] = '\0';
        /* Every ancestor of this directory, since any of them may be new. */
        for (size_t k = 0; k <= n; k++) {
            if (k < n && path[k] != '/')
                continue;
            int rc = s_fsync_below(self->rootfd, path, k);
            if (rc)
                return rc;
        }
    }
    int rc = s_finish_dirs_links(self, !whole_fs);
    if (rc)
        return rc;
    if (whole_fs)
        return syncfs(self->rootfd) == 0 ? 0 : FC_EIO;
    return fsync(self->rootfd) == 0 ? 0 : FC_EIO;
}
