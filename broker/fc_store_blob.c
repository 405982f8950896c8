/* fc_store_blob.c: the store's content-addressed blobs and resumable chunked uploads; a
   private part of fc_store (fc_store_priv.h). */
#define _GNU_SOURCE /* syncfs */
#include "fc_array.h"
#include "fc_cdc.h"
#include "fc_error.h"
#include "fc_file.h"
#include "fc_hash.h"
#include "fc_store_pieces.h"
#include "fc_store_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The path of blob under data dir dir (fc_store_blob_verify_file has no store). */
static void s_blob_path_in(const char *dir, const uint8_t blob[FC_HASH_LEN], char *out, size_t n)
{
    char hex[2 * FC_HASH_LEN + 1];
    fc_hash_hex(blob, hex);
    snprintf(out, n, "%s/blobs/%.2s/%s", dir, hex, hex);
}

static void s_blob_path(fc_store_t *self, const uint8_t blob[FC_HASH_LEN], char *out, size_t n)
{
    s_blob_path_in(self->dir, blob, out, n);
}

static void s_part_path(fc_store_t *self, const uint8_t blob[FC_HASH_LEN], char *out, size_t n)
{
    char hex[2 * FC_HASH_LEN + 1];
    snprintf(out, n, "%s/incoming/%s.part", self->dir, fc_hash_hex(blob, hex));
}

static int s_fill(fc_store_t *self, const uint8_t blob[FC_HASH_LEN]);

/* --- file descriptor cache -------------------------------------------------------------- */

static fc_store_fd_t *s_fd_find(fc_store_t *self, const uint8_t blob[FC_HASH_LEN], bool part)
{
    for (int i = 0; i < FC_STORE_FDS; i++) {
        fc_store_fd_t *e = &self->fds[i];
        if (e->fd >= 0 && e->part == part && memcmp(e->blob, blob, FC_HASH_LEN) == 0) {
            e->used = ++self->tick;
            return e;
        }
    }
    return NULL;
}

static void s_fd_evict(fc_store_t *self, const uint8_t blob[FC_HASH_LEN], bool part)
{
    fc_store_fd_t *e = s_fd_find(self, blob, part);
    if (e) {
        close(e->fd);
        e->fd = -1;
    }
}

/* Returns the cached entry, opening the file if needed; NULL with errno set. A partial
   upload is opened read-write and created if create is set; a blob read-only. */
static fc_store_fd_t *s_fd_get(fc_store_t *self, const uint8_t blob[FC_HASH_LEN], bool part,
                               bool create)
{
    fc_store_fd_t *e = s_fd_find(self, blob, part);
    if (e)
        return e;
    char path[PATH_MAX];
    int fd;
    if (part) {
        s_part_path(self, blob, path, sizeof path);
        fd = open(path, O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0644);
    } else {
        s_blob_path(self, blob, path, sizeof path);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT) {
            if (s_fill(self, blob) == FC_OK)
                fd = open(path, O_RDONLY | O_CLOEXEC);
            else
                errno = ENOENT;
        }
    }
    if (fd < 0)
        return NULL;
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return NULL;
    }
    fc_store_fd_t *slot = &self->fds[0];
    for (int i = 0; i < FC_STORE_FDS; i++) {
        if (self->fds[i].fd < 0) {
            slot = &self->fds[i];
            break;
        }
        if (self->fds[i].used < slot->used)
            slot = &self->fds[i];
    }
    if (slot->fd >= 0)
        close(slot->fd);
    memcpy(slot->blob, blob, FC_HASH_LEN);
    slot->part = part;
    slot->fd = fd;
    slot->size = (uint64_t)sb.st_size;
    slot->used = ++self->tick;
    return slot;
}

/* --- blobs ------------------------------------------------------------------------------ */

/* true if the blob is complete; *size its size. */
bool fc_store_blob_exists(fc_store_t *self, const uint8_t blob[FC_HASH_LEN], uint64_t *size)
{
    fc_store_fd_t *e = s_fd_find(self, blob, false);
    if (e) {
        *size = e->size;
        return true;
    }
    char path[PATH_MAX];
    s_blob_path(self, blob, path, sizeof path);
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        if (s_fill(self, blob) != FC_OK || stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
            return false;
    }
    *size = (uint64_t)sb.st_size;
    return true;
}

/* Declared size of the unfinished upload of blob: FC_OK, FC_ENOTFOUND or an error. */
static int s_upload_size(fc_store_t *self, const uint8_t blob[FC_HASH_LEN], uint64_t *size)
{
    fc_db_stmt_t *st = fc_store_prep(self, "SELECT size FROM uploads WHERE blob = ?");
    if (!st)
        return FC_EIO;
    fc_db_bind_blob(st, 1, blob, FC_HASH_LEN);
    int rc = fc_db_step(st);
    int err = rc == FC_DB_ROW ? FC_OK : rc == FC_DB_DONE ? FC_ENOTFOUND : fc_store_sqlite_error(rc);
    if (rc == FC_DB_ROW)
        *size = (uint64_t)fc_db_column_int64(st, 0);
    fc_db_finalize(st);
    return err;
}

static int s_forget_upload(fc_store_t *self, const uint8_t blob[FC_HASH_LEN])
{
    fc_store_sync(self, true);
    const char *const sqls[] = {"DELETE FROM upload_pieces WHERE blob = ?",
                                "DELETE FROM uploads WHERE blob = ?"};
    return fc_store_delete_blob_rows(self, sqls, 2, blob);
}

/* Drops a partial upload: the records first, so a crash in between leaves an orphan file
   rather than records claiming chunks that are gone. */
static int s_discard_upload(fc_store_t *self, const uint8_t blob[FC_HASH_LEN])
{
    int err = s_forget_upload(self, blob);
    s_fd_evict(self, blob, true);
    char path[PATH_MAX];
    s_part_path(self, blob, path, sizeof path);
    unlink(path);
    return err;
}

/* The held pieces of blob's upload, merged into ranges in offset order (overlaps too). */
static int s_held_ranges(fc_store_t *self, const uint8_t blob[FC_HASH_LEN], uint64_t size,
                         fc_range_t **ranges, size_t *nranges)
{
    fc_db_stmt_t *st = fc_store_prep(
        self, "SELECT start, length FROM upload_pieces WHERE blob = ? ORDER BY start");
    if (!st)
        return FC_EIO;
    fc_db_bind_blob(st, 1, blob, FC_HASH_LEN);
    size_t n = 0, cap = 0;
    fc_range_t *list = NULL;
    int rc;
    while ((rc = fc_db_step(st)) == FC_DB_ROW) {
        uint64_t off = (uint64_t)fc_db_column_int64(st, 0);
        uint64_t len = (uint64_t)fc_db_column_int64(st, 1);
        if (off >= size || len == 0 || len > size - off)
            continue; /* cannot happen: put_chunk checks bounds */
        if (n > 0 && list[n - 1].offset + list[n - 1].length >= off) {
            uint64_t end = off + len, last = list[n - 1].offset + list[n - 1].length;
            if (end > last)
                list[n - 1].length += end - last;
            continue;
        }
        if (n == FC_MAX_RANGES)
            break; /* the publisher resends the rest: harmless */
        fc_range_t *bigger = fc_grow(list, n, &cap, sizeof *list);
        if (!bigger) {
            free(list);
            fc_db_finalize(st);
            return FC_ENOMEM;
        }
        list = bigger;
        list[n].offset = off;
        list[n].length = len;
        n++;
    }
    fc_db_finalize(st);
    if (rc != FC_DB_ROW && rc != FC_DB_DONE) {
        free(list);
        return fc_store_sqlite_error(rc);
    }
    *ranges = list;
    *nranges = n;
    return FC_OK;
}

bool fc_store_blob_held(fc_store_t *self, const uint8_t blob[FC_HASH_LEN])
{
    uint64_t have;
    if (!fc_store_blob_exists(self, blob, &have))
        return false;
    /* A push is counting on it: garbage collection spares a blob no release names only
       while it is young (fc_store_gc), so it is young again from now. */
    char path[PATH_MAX];
    s_blob_path(self, blob, path, sizeof path);
    utimensat(AT_FDCWD, path, NULL, 0);
    uint64_t stale;
    if (s_upload_size(self, blob, &stale) == FC_OK)
        s_discard_upload(self, blob); /* a crash between rename and cleanup */
    return true;
}

int fc_store_blob_state(fc_store_t *self, const uint8_t blob[FC_HASH_LEN], uint64_t size,
                        bool *complete, fc_range_t **ranges, size_t *nranges)
{
    *complete = false;
    *ranges = NULL;
    *nranges = 0;
    if (size > FC_MAX_FILE_SIZE)
        return FC_ETOOBIG;
    if (fc_store_blob_held(self, blob)) {
        *complete = true;
        return FC_OK;
    }
    uint64_t declared;
    int err = s_upload_size(self, blob, &declared);
    if (err == FC_OK) {
        char path[PATH_MAX];
        s_part_path(self, blob, path, sizeof path);
        if (declared == size && access(path, F_OK) == 0)
            return s_held_ranges(self, blob, size, ranges, nranges);
        /* Another size for the same hash, or the partial file vanished: start over. */
        err = s_discard_upload(self, blob);
        if (err)
            return err;
    } else if (err != FC_ENOTFOUND)
        return err;
    fc_store_sync(self, true);
    fc_db_stmt_t *st =
        fc_store_prep(self, "INSERT INTO uploads (blob, size, started) VALUES (?, ?, ?)");
    if (st) {
        fc_db_bind_blob(st, 1, blob, FC_HASH_LEN);
        fc_db_bind_int64(st, 2, (int64_t)size);
        fc_db_bind_int64(st, 3, (int64_t)time(NULL));
    }
    return fc_store_step_done(st);
}

int fc_store_put_chunk(fc_store_t *self, const uint8_t blob[FC_HASH_LEN], uint64_t offset,
                       const void *data, size_t len, const uint8_t chunk_hash[FC_HASH_LEN])
{
    uint8_t actual[FC_HASH_LEN];
    fc_hash_buf(actual, data, len);
    if (!fc_hash_equal(actual, chunk_hash))
        return FC_EHASH;
    uint64_t size;
    bool complete = fc_store_blob_exists(self, blob, &size);
    if (!complete) {
        int err = s_upload_size(self, blob, &size);
        if (err)
            return err == FC_ENOTFOUND ? FC_EINVAL : err;
    }
    /* Any piece inside the blob: chunks cut by content have any offsets and lengths. */
    if (len == 0 || len > FC_MAX_CHUNK || offset >= size || len > size - offset)
        return FC_EINVAL;
    if (complete)
        return FC_OK;

    fc_store_fd_t *e = s_fd_get(self, blob, true, true);
    if (!e)
        return fc_errno_to_error(errno);
    /* Data on disk before the record that says it is there: now, or in a batch by the one
       syncfs of fc_store_blob_flush before the batch commits. */
    if (fc_pwrite_all(e->fd, data, len, offset) != 0 || (!self->batch && fdatasync(e->fd) != 0)) {
        int err = fc_errno_to_error(errno);
        s_fd_evict(self, blob, true);
        return err;
    }
    self->pending_data |= self->batch;
    fc_store_sync(self, true);
    /* The longer piece at an offset is kept: a shorter one re-sent there covers less. */
    fc_db_stmt_t *st = fc_store_prep(
        self, "INSERT INTO upload_pieces (blob, start, length) VALUES (?, ?, ?) ON CONFLICT "
              "(blob, start) DO UPDATE SET length = max(length, excluded.length)");
    if (st) {
        fc_db_bind_blob(st, 1, blob, FC_HASH_LEN);
        fc_db_bind_int64(st, 2, (int64_t)offset);
        fc_db_bind_int64(st, 3, (int64_t)len);
    }
    return fc_store_step_done(st);
}

/* A blob's chunks as cut by content: hashes and lengths, in order (owned). */
typedef struct {
    uint8_t (*hashes)[FC_HASH_LEN];
    uint32_t *lens;
    size_t n;
} s_cut_t;

static void s_cut_free(s_cut_t *cut)
{
    free(cut->hashes);
    free(cut->lens);
    *cut = (s_cut_t){0};
}

/* The hash of fd's chunk hashes, its size bytes cut by content (fc_cdc) if cdc is given,
   else in FC_CHUNK_SIZE pieces. stop, if given, is asked between chunks (FC_ETIMEOUT). If
   keep is given, the chunks go there on success (s_cut_free). */
static int s_hash_cut(int fd, uint64_t size, const fc_cdc_t *cdc, bool (*stop)(void *arg),
                      void *arg, uint8_t out[FC_HASH_LEN], s_cut_t *keep)
{
    /* Every chunk but the last is at least cdc->min (by content) or FC_CHUNK_SIZE long. */
    uint64_t cap = size / (cdc ? cdc->min : FC_CHUNK_SIZE) + 1;
    uint8_t(*hashes)[FC_HASH_LEN] = malloc(cap * FC_HASH_LEN);
    uint32_t *lens = keep ? malloc(cap * sizeof *lens) : NULL;
    fc_cdc_reader_t rd = {0};
    int err = hashes && (lens || !keep) ? fc_cdc_reader_init(&rd, cdc, fd) : FC_ENOMEM;
    uint64_t n = 0, done = 0;
    while (!err) {
        const uint8_t *data;
        size_t len;
        bool stopped = stop && stop(arg);
        int more = stopped ? 0 : fc_cdc_reader_next(&rd, &data, &len);
        if (stopped)
            err = FC_ETIMEOUT;
        else if (more < 0)
            err = FC_EIO;
        else if (more == 0)
            break;
        else if (n == cap || len > size - done)
            err = FC_EHASH; /* longer than its size: the file grew */
        else {
            if (lens)
                lens[n] = (uint32_t)len;
            fc_hash_buf(hashes[n++], data, len);
            done += len;
        }
    }
    if (!err && done != size)
        err = FC_EHASH; /* shorter than its size */
    if (!err)
        fc_hash_of_chunks(out, (const uint8_t(*)[FC_HASH_LEN])hashes, (size_t)n);
    fc_cdc_reader_free(&rd);
    if (!err && keep) {
        *keep = (s_cut_t){hashes, lens, (size_t)n};
        return FC_OK;
    }
    free(hashes);
    free(lens);
    return err;
}

/* Hashes fd's size bytes chunk by chunk and checks the whole against blob: a blob is named
   by the hash of its chunk hashes, cut by content (fc_cdc: since issue 13, the cut its size
   picks; before the small cut existed, FC_CDC_LARGE_* whatever the size) or in
   FC_CHUNK_SIZE pieces (before issue 13), so the cuts are tried in that order. Touches
   nothing of a store (any thread may call it); stop, if given, is asked between chunks and
   cuts the work short (FC_ETIMEOUT) when it says so. keep, if given, receives the content
   cut's chunks when a content cut names the blob (else it stays empty). */
static int s_verify_fd_cut(int fd, const uint8_t blob[FC_HASH_LEN], uint64_t size,
                           bool (*stop)(void *arg), void *arg, s_cut_t *keep)
{
    /* Every chunk was recorded after its data was synced, so a short file means someone
       else truncated it: the content is not what was uploaded. */
    struct stat sb;
    if (fstat(fd, &sb) != 0)
        return FC_EIO;
    if ((uint64_t)sb.st_size != size)
        return FC_EHASH;
    fc_cdc_t cdc;
    uint8_t whole[FC_HASH_LEN];
    int err = FC_OK;
    for (int k = 0; k < 2 && !err; k++) {
        if (k == 0)
            fc_cdc_init(&cdc, size);
        else
            fc_cdc_init_other(&cdc, size);
        /* A blob no longer than a cut's min is one chunk under it: tried already if so. */
        if (k == 1 && size <= FC_CDC_MIN)
            break;
        err = s_hash_cut(fd, size, &cdc, stop, arg, whole, keep);
        if (!err && fc_hash_equal(whole, blob))
            return FC_OK;
        if (keep)
            s_cut_free(keep);
    }
    /* One chunk (a blob up to FC_CDC_MIN long) is the same whichever the cut. */
    if (!err && size > FC_CDC_MIN)
        err = s_hash_cut(fd, size, NULL, stop, arg, whole, NULL);
    return err ? err : fc_hash_equal(whole, blob) ? FC_OK : FC_EHASH;
}

static int s_verify_fd(int fd, const uint8_t blob[FC_HASH_LEN], uint64_t size,
                       bool (*stop)(void *arg), void *arg)
{
    return s_verify_fd_cut(fd, blob, size, stop, arg, NULL);
}

/* Records where each chunk of a complete blob lies (chunk_index), a chunk already indexed
   in another blob kept there. Best effort: an index row missing only costs an upload. */
static void s_index_chunks(fc_store_t *self, const uint8_t blob[FC_HASH_LEN], const s_cut_t *cut)
{
    /* One transaction for every row, or a savepoint in the caller's: not a bare SAVEPOINT
       starting one, which only SQLite allows. */
    bool own = fc_db_autocommit(self->db);
    if (cut->n == 0 || fc_store_exec(self, own ? "BEGIN IMMEDIATE" : "SAVEPOINT chunk_index"))
        return;
    fc_db_stmt_t *st = fc_store_prep(
        self, "INSERT OR IGNORE INTO chunk_index (hash, blob, start, length) VALUES (?, ?, ?, ?)");
    uint64_t start = 0;
    for (size_t i = 0; st && i < cut->n; i++) {
        fc_db_bind_blob(st, 1, cut->hashes[i], FC_HASH_LEN);
        fc_db_bind_blob(st, 2, blob, FC_HASH_LEN);
        fc_db_bind_int64(st, 3, (int64_t)start);
        fc_db_bind_int64(st, 4, (int64_t)cut->lens[i]);
        fc_db_step(st);
        fc_db_reset(st);
        start += cut->lens[i];
    }
    fc_db_finalize(st);
    fc_store_exec(self, own ? "COMMIT" : "RELEASE chunk_index");
}

/* A complete blob opened for reading (*fd, caller closes) and its size. FC_ENOTFOUND if it is
   not stored complete. */
static int s_open_blob(fc_store_t *self, const uint8_t blob[FC_HASH_LEN], int *fd, uint64_t *size)
{
    char path[PATH_MAX];
    s_blob_path(self, blob, path, sizeof path);
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    if (*fd < 0)
        return errno == ENOENT ? FC_ENOTFOUND : FC_EIO;
    struct stat sb;
    if (fstat(*fd, &sb) != 0) {
        close(*fd);
        return FC_EIO;
    }
    *size = (uint64_t)sb.st_size;
    return FC_OK;
}

int fc_store_blob_index(fc_store_t *self, const uint8_t blob[FC_HASH_LEN], uint64_t *bytes)
{
    *bytes = 0;
    int fd;
    uint64_t size;
    int err = s_open_blob(self, blob, &fd, &size);
    if (err)
        return err;
    /* Its content cut is indexed whichever cut names it (a blob stored before issue 13 is
       named by its FC_CHUNK_SIZE pieces): UPLOAD_CHUNKS asks by content-defined chunks, and
       checks each copy against its hash as it reads it. */
    s_cut_t cut = {0};
    err = s_verify_fd_cut(fd, blob, size, NULL, NULL, &cut);
    *bytes = size;
    if (!err && !cut.hashes) { /* named by the fixed pieces: cut it by content to index it */
        fc_cdc_t cdc;
        fc_cdc_init(&cdc, size);
        uint8_t whole[FC_HASH_LEN];
        err = s_hash_cut(fd, size, &cdc, NULL, NULL, whole, &cut);
        *bytes += size;
    }
    close(fd);
    if (!err)
        s_index_chunks(self, blob, &cut);
    s_cut_free(&cut);
    return err;
}

/* Forgets the index rows of blob (removed, or moved aside). */
static void s_unindex_blob(fc_store_t *self, const uint8_t blob[FC_HASH_LEN])
{
    fc_db_stmt_t *st = fc_store_prep(self, "DELETE FROM chunk_index WHERE blob = ?");
    if (st) {
        fc_db_bind_blob(st, 1, blob, FC_HASH_LEN);
        fc_store_step_done(st);
    }
}

/* On a PostgreSQL store, a verified blob's pieces go into the database (committed, or in
   the open batch's transaction) before anything names the blob complete (fc_store_pieces). */
static int s_keep_pieces(fc_store_t *self, const uint8_t blob[FC_HASH_LEN], int fd)
{
    if (!fc_db_is_pg(self->db))
        return FC_OK;
    struct stat sb;
    if (fstat(fd, &sb) != 0)
        return fc_errno_to_error(errno);
    return fc_store_pieces_put(self, blob, fd, (uint64_t)sb.st_size);
}

/* Moves the verified file part (open as fd) into blobs/, durably. */
static int s_install_from(fc_store_t *self, const uint8_t blob[FC_HASH_LEN], int fd,
                          const char *part)
{
    char path[PATH_MAX], sub[PATH_MAX], blobs[PATH_MAX];
    s_blob_path(self, blob, path, sizeof path);
    snprintf(blobs, sizeof blobs, "%s/blobs", self->dir);
    snprintf(sub, sizeof sub, "%s", path);
    *strrchr(sub, '/') = '\0';
    if (fsync(fd) != 0)
        return fc_errno_to_error(errno);
    if (mkdir(sub, 0755) == 0) {
        if (fc_fsync_dir(blobs) != 0)
            return fc_errno_to_error(errno);
    } else if (errno != EEXIST)
        return fc_errno_to_error(errno);
    if (rename(part, path) != 0 || fc_fsync_dir(sub) != 0)
        return fc_errno_to_error(errno);
    return FC_OK;
}

/* A blob missing here but stored in the database (fc_store_pieces): copied into
   incoming/HEX.fill, verified and renamed into blobs/ as an upload is, so a file only ever
   appears complete. FC_ENOTFOUND if the database does not hold it (always on SQLite). Runs
   in the caller's thread (the broker's loop): about 1.3 s for 256 MiB at the 200 MB/s
   fleetcast-blobbench measured, once per blob and broker. */
static int s_fill(fc_store_t *self, const uint8_t blob[FC_HASH_LEN])
{
    uint64_t size;
    int err = fc_store_pieces_size(self, blob, &size);
    if (err)
        return err;
    /* Marked corrupt (fc_store_blob_suspect): not served until a re-push clears the mark,
       as on SQLite, even though the database's copy was verified at its commit. */
    if (fc_store_blob_marked(self, blob))
        return FC_ENOTFOUND;
    /* Its pieces in the open batch's own transaction: complete at the batch's commit only. */
    for (size_t i = 0; i < self->npending; i++)
        if (fc_hash_equal(self->pending[i].blob, blob))
            return FC_ENOTFOUND;
    char hex[2 * FC_HASH_LEN + 1], fill[PATH_MAX];
    snprintf(fill, sizeof fill, "%s/incoming/%s.fill", self->dir, fc_hash_hex(blob, hex));
    int fd = open(fill, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return fc_errno_to_error(errno);
    err = fc_store_pieces_copy(self, blob, size, fd);
    if (!err)
        err = s_verify_fd(fd, blob, size, NULL, NULL);
    if (!err)
        err = s_install_from(self, blob, fd, fill);
    close(fd);
    if (err)
        unlink(fill); /* the caller sees the blob as missing, as before */
    return err;
}

/* Moves a verified partial upload into blobs/, durably, its pieces kept first. */
static int s_install_blob(fc_store_t *self, const uint8_t blob[FC_HASH_LEN], int fd)
{
    int err = s_keep_pieces(self, blob, fd);
    if (err)
        return err;
    char part[PATH_MAX];
    s_part_path(self, blob, part, sizeof part);
    return s_install_from(self, blob, fd, part);
}

/* Inside a batch: the verified blob moves into blobs/ at the batch's flush, with the others
   (a copy of fd is kept until then). fc_error_t. */
static int s_defer_install(fc_store_t *self, const uint8_t blob[FC_HASH_LEN], int fd)
{
    int err = s_keep_pieces(self, blob, fd);
    if (err)
        return err;
    fc_store_pending_t *grown =
        fc_grow(self->pending, self->npending, &self->pending_cap, sizeof *grown);
    if (!grown)
        return FC_ENOMEM;
    self->pending = grown;
    int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (copy < 0)
        return fc_errno_to_error(errno);
    memcpy(self->pending[self->npending].blob, blob, FC_HASH_LEN);
    self->pending[self->npending++].fd = copy;
    return FC_OK;
}

/* syncfs on the data dir's file system. fc_error_t. */
static int s_syncfs(fc_store_t *self)
{
    int dfd = open(self->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return fc_errno_to_error(errno);
    int rc = syncfs(dfd) == 0 ? FC_OK : fc_errno_to_error(errno);
    close(dfd);
    return rc;
}

int fc_store_blob_flush(fc_store_t *self)
{
    if (!self->pending_data && self->npending == 0)
        return FC_OK;
    /* Every chunk written and every blob verified in the batch, on disk, before any rename
       names a blob complete. */
    int err = s_syncfs(self);
    bool moved = false;
    for (size_t i = 0; i < self->npending; i++) {
        fc_store_pending_t *p = &self->pending[i];
        char path[PATH_MAX], part[PATH_MAX], sub[PATH_MAX];
        s_blob_path(self, p->blob, path, sizeof path);
        s_part_path(self, p->blob, part, sizeof part);
        snprintf(sub, sizeof sub, "%s", path);
        *strrchr(sub, '/') = '\0';
        if (!err && mkdir(sub, 0755) != 0 && errno != EEXIST)
            err = fc_errno_to_error(errno);
        if (!err && rename(part, path) != 0)
            err = fc_errno_to_error(errno);
        moved |= !err;
        close(p->fd);
    }
    /* The renames (and new blobs/XX directories) on disk before the batch's OKs go out. */
    if (moved) {
        int serr = s_syncfs(self);
        if (!err)
            err = serr;
    }
    self->npending = 0;
    self->pending_data = false;
    return err;
}

/* A blob just became complete: its upload records go (leftovers are cleaned by the next
   blob_state), and a mark of corruption, which this upload repairs. */
static void s_blob_done(fc_store_t *self, const uint8_t blob[FC_HASH_LEN])
{
    s_forget_upload(self, blob);
    fc_db_stmt_t *st = fc_store_prep(self, "DELETE FROM corrupt_blobs WHERE blob = ?");
    if (st) {
        fc_db_bind_blob(st, 1, blob, FC_HASH_LEN);
        fc_store_step_done(st);
    }
}

/* True if blob waits in the open batch for its move into blobs/. */
static bool s_pending(const fc_store_t *self, const uint8_t blob[FC_HASH_LEN])
{
    for (size_t i = 0; i < self->npending; i++)
        if (fc_hash_equal(self->pending[i].blob, blob))
            return true;
    return false;
}

int fc_store_blob_commit(fc_store_t *self, const uint8_t blob[FC_HASH_LEN], uint64_t size)
{
    uint64_t have, declared;
    if (fc_store_blob_exists(self, blob, &have) || s_pending(self, blob))
        return FC_OK;
    int err = s_upload_size(self, blob, &declared);
    if (err)
        return err == FC_ENOTFOUND ? FC_EMISSING : err;
    if (declared != size)
        return FC_EINVAL;
    /* Every byte held: the pieces merge into one range from 0 to size. */
    fc_range_t *ranges = NULL;
    size_t nranges = 0;
    err = s_held_ranges(self, blob, size, &ranges, &nranges);
    bool whole = size == 0 || (nranges == 1 && ranges[0].offset == 0 && ranges[0].length == size);
    free(ranges);
    if (err)
        return err;
    if (!whole)
        return FC_EMISSING;

    /* An empty blob has no chunks, hence no partial file yet. */
    fc_store_fd_t *e = s_fd_get(self, blob, true, size == 0);
    if (!e) {
        if (errno != ENOENT)
            return fc_errno_to_error(errno);
        s_discard_upload(self, blob); /* records without their file */
        return FC_EMISSING;
    }
    int fd = e->fd;
    s_cut_t cut = {0};
    err = s_verify_fd_cut(fd, blob, size, NULL, NULL, &cut);
    if (err == FC_EHASH) {
        s_discard_upload(self, blob);
        return FC_EHASH;
    }
    if (!err && self->batch)
        err = s_defer_install(self, blob, fd);
    else if (!err)
        err = s_install_blob(self, blob, fd);
    s_fd_evict(self, blob, true);
    if (!err) {
        s_blob_done(self, blob);
        s_index_chunks(self, blob, &cut);
    }
    s_cut_free(&cut);
    return err;
}

/* Cuts data by cdc into cut (hashes and lengths) and names it: the hash of its chunk hashes.
   False out of memory. */
static bool s_buf_cut(const fc_cdc_t *cdc, const uint8_t *data, size_t len, s_cut_t *cut,
                      uint8_t whole[FC_HASH_LEN])
{
    /* every chunk but the last is at least cdc->min long */
    size_t cap = len / cdc->min + 1;
    *cut = (s_cut_t){malloc(cap * FC_HASH_LEN), malloc(cap * sizeof(uint32_t)), 0};
    if (!cut->hashes || !cut->lens) {
        s_cut_free(cut);
        return false;
    }
    for (size_t off = 0; off < len; cut->n++) {
        size_t c = fc_cdc_cut(cdc, data + off, len - off);
        fc_hash_buf(cut->hashes[cut->n], data + off, c);
        cut->lens[cut->n] = (uint32_t)c;
        off += c;
    }
    fc_hash_of_chunks(whole, (const uint8_t(*)[FC_HASH_LEN])cut->hashes, cut->n);
    return true;
}

/* Whether data (len at most FC_MAX_SMALL_BLOB) is blob's content, named as s_verify_fd
   names a file: the hash of its chunk hashes cut by content (the cut its size picks, or the
   other one), or (stored before issue 13) in FC_CHUNK_SIZE pieces, here one piece. */
static bool s_buf_is_blob(const uint8_t *data, size_t len, const uint8_t blob[FC_HASH_LEN],
                          s_cut_t *keep)
{
    fc_cdc_t cdc;
    s_cut_t cut;
    uint8_t whole[FC_HASH_LEN];
    for (int k = 0; k < 2; k++) {
        if (k == 0)
            fc_cdc_init(&cdc, len);
        else
            fc_cdc_init_other(&cdc, len);
        if (!s_buf_cut(&cdc, data, len, &cut, whole))
            return false;
        if (fc_hash_equal(whole, blob)) {
            *keep = cut;
            return true;
        }
        bool one = cut.n <= 1;
        s_cut_free(&cut);
        if (one) /* one chunk is the same whichever the cut */
            return false;
    }
    uint8_t h[1][FC_HASH_LEN];
    fc_hash_buf(h[0], data, len);
    fc_hash_of_chunks(whole, (const uint8_t(*)[FC_HASH_LEN])h, 1);
    return fc_hash_equal(whole, blob);
}

/* fc_store_put_blob once the content is known to be blob's. */
static int s_put_blob_checked(fc_store_t *self, const uint8_t blob[FC_HASH_LEN], const void *data,
                              size_t len)
{
    uint64_t have;
    if (fc_store_blob_exists(self, blob, &have) || s_pending(self, blob))
        return FC_OK;
    /* Written whole over any partial upload of the same blob (its chunks can only be this
       content), then moved into blobs/ as a committed upload is. */
    s_fd_evict(self, blob, true);
    char part[PATH_MAX];
    s_part_path(self, blob, part, sizeof part);
    int fd = open(part, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return fc_errno_to_error(errno);
    int err = fc_pwrite_all(fd, data, len, 0) == 0 ? FC_OK : fc_errno_to_error(errno);
    if (!err && self->batch)
        err = s_defer_install(self, blob, fd);
    else if (!err)
        err = s_install_blob(self, blob, fd);
    close(fd);
    if (err) {
        unlink(part);
        return err;
    }
    s_blob_done(self, blob);
    return FC_OK;
}

int fc_store_put_blob(fc_store_t *self, const uint8_t blob[FC_HASH_LEN], const void *data,
                      size_t len)
{
    if (len > FC_MAX_SMALL_BLOB)
        return FC_ETOOBIG;
    s_cut_t cut = {0};
    if (!s_buf_is_blob((const uint8_t *)data, len, blob, &cut))
        return FC_EHASH;
    int err = s_put_blob_checked(self, blob, data, len);
    if (!err)
        s_index_chunks(self, blob, &cut);
    s_cut_free(&cut);
    return err;
}

/* Where the chunk named by name (its first name_len bytes: FC_HASH_LEN, or a prefix of
   UPLOAD_PREFIXES) lies in a complete blob other than not: *src, *start, and its whole hash
   in full. false if the index has no such chunk of length len. */
static bool s_chunk_lookup(fc_store_t *self, const uint8_t *name, size_t name_len, uint32_t len,
                           const uint8_t not [FC_HASH_LEN], uint8_t src[FC_HASH_LEN],
                           uint64_t *start, uint8_t full[FC_HASH_LEN])
{
    /* A prefix is the range of hashes that begin with it: the primary key's order. */
    uint8_t lo[FC_HASH_LEN], hi[FC_HASH_LEN];
    memset(lo, 0, FC_HASH_LEN);
    memset(hi, 0xff, FC_HASH_LEN);
    memcpy(lo, name, name_len);
    memcpy(hi, name, name_len);
    fc_db_stmt_t *st = fc_store_prep(self, "SELECT blob, start, hash FROM chunk_index WHERE "
                                           "hash >= ? AND hash <= ? AND length = ? LIMIT 1");
    if (!st)
        return false;
    fc_db_bind_blob(st, 1, lo, FC_HASH_LEN);
    fc_db_bind_blob(st, 2, hi, FC_HASH_LEN);
    fc_db_bind_int64(st, 3, (int64_t)len);
    bool found = fc_db_step(st) == FC_DB_ROW && fc_db_column_bytes(st, 0) == FC_HASH_LEN &&
                 fc_db_column_bytes(st, 2) == FC_HASH_LEN;
    if (found) {
        memcpy(src, fc_db_column_blob(st, 0), FC_HASH_LEN);
        *start = (uint64_t)fc_db_column_int64(st, 1);
        memcpy(full, fc_db_column_blob(st, 2), FC_HASH_LEN);
        found = !fc_hash_equal(src, not );
    }
    fc_db_finalize(st);
    return found;
}

static bool s_range_covered(const fc_range_t *ranges, size_t n, uint64_t offset, uint64_t len)
{
    for (size_t i = 0; i < n; i++)
        if (ranges[i].offset <= offset && offset + len <= ranges[i].offset + ranges[i].length)
            return true;
    return false;
}

/* UPLOAD_CHUNKS and UPLOAD_PREFIXES: names holds n names of name_len bytes end to end. */
static int s_upload_named(fc_store_t *self, const uint8_t blob[FC_HASH_LEN], uint64_t size,
                          const uint32_t *lens, const uint8_t *names, size_t name_len, size_t n,
                          bool *complete, fc_range_t **ranges, size_t *nranges, uint64_t *copied)
{
    *copied = 0;
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += lens[i];
    if (total != size || n == 0)
        return FC_EINVAL;
    int err = fc_store_blob_state(self, blob, size, complete, ranges, nranges);
    if (err || *complete)
        return err;
    uint8_t *buf = NULL;
    uint64_t offset = 0;
    for (size_t i = 0; !err && i < n; offset += lens[i++]) {
        uint8_t src[FC_HASH_LEN], full[FC_HASH_LEN];
        uint64_t start;
        if (*copied >= FC_MAX_UPLOAD_COPY || s_range_covered(*ranges, *nranges, offset, lens[i]) ||
            !s_chunk_lookup(self, names + i * name_len, name_len, lens[i], blob, src, &start, full))
            continue;
        if (!buf && !(buf = malloc(FC_MAX_CHUNK))) {
            err = FC_ENOMEM;
            break;
        }
        /* Checked again as read: an index row outlives a blob moved aside or lost, and a
           blob's bytes may have rotted since it was verified. */
        uint8_t got[FC_HASH_LEN];
        if (fc_store_blob_read(self, src, start, buf, lens[i]) != FC_OK ||
            (fc_hash_buf(got, buf, lens[i]), !fc_hash_equal(got, full))) {
            if (!s_pending(self, src)) /* in this batch, it is in blobs/ at the flush */
                s_unindex_blob(self, src);
            continue;
        }
        err = fc_store_put_chunk(self, blob, offset, buf, lens[i], full);
        if (!err)
            *copied += lens[i];
    }
    free(buf);
    if (!err && *copied) {
        free(*ranges);
        *ranges = NULL;
        *nranges = 0;
        err = s_held_ranges(self, blob, size, ranges, nranges);
    }
    return err;
}

int fc_store_upload_chunks(fc_store_t *self, const uint8_t blob[FC_HASH_LEN], uint64_t size,
                           const uint32_t *lens, const uint8_t (*hashes)[FC_HASH_LEN], size_t n,
                           bool *complete, fc_range_t **ranges, size_t *nranges, uint64_t *copied)
{
    return s_upload_named(self, blob, size, lens, (const uint8_t *)hashes, FC_HASH_LEN, n, complete,
                          ranges, nranges, copied);
}

int fc_store_upload_prefixes(fc_store_t *self, const uint8_t blob[FC_HASH_LEN], uint64_t size,
                             const uint32_t *lens, const uint8_t *prefixes, size_t n,
                             bool *complete, fc_range_t **ranges, size_t *nranges, uint64_t *copied)
{
    return s_upload_named(self, blob, size, lens, prefixes, FC_CHUNK_PREFIX, n, complete, ranges,
                          nranges, copied);
}

int fc_store_blob_chunks(fc_store_t *self, const uint8_t blob[FC_HASH_LEN], uint64_t max,
                         fc_chunk_t **chunks, uint32_t *n)
{
    *chunks = NULL;
    *n = 0;
    int fd;
    uint64_t size;
    int err = s_open_blob(self, blob, &fd, &size);
    if (err)
        return err;
    s_cut_t cut = {0};
    if (max && size > max) {
        close(fd);
        return FC_ETOOBIG;
    }
    err = s_verify_fd_cut(fd, blob, size, NULL, NULL, &cut);
    uint8_t whole[FC_HASH_LEN];
    if (!err && !cut.hashes) /* named by the fixed pieces of before issue 13 */
        err = s_hash_cut(fd, size, NULL, NULL, NULL, whole, &cut);
    close(fd);
    if (!err && cut.n > UINT32_MAX)
        err = FC_ETOOBIG;
    fc_chunk_t *out = !err && cut.n ? calloc(cut.n, sizeof *out) : NULL;
    if (!err && cut.n && !out)
        err = FC_ENOMEM;
    uint64_t offset = 0;
    for (size_t i = 0; !err && i < cut.n; offset += cut.lens[i++]) {
        out[i].offset = offset;
        out[i].length = cut.lens[i];
        memcpy(out[i].hash, cut.hashes[i], FC_HASH_LEN);
    }
    uint32_t count = (uint32_t)cut.n;
    s_cut_free(&cut);
    if (err)
        free(out);
    else {
        *chunks = out;
        *n = count;
    }
    return err;
}

int fc_store_blob_size(fc_store_t *self, const uint8_t blob[FC_HASH_LEN], uint64_t *size)
{
    fc_store_fd_t *e = s_fd_get(self, blob, false, false);
    if (!e)
        return errno == ENOENT ? FC_ENOTFOUND : FC_EIO;
    *size = e->size;
    return FC_OK;
}

int fc_store_blob_read(fc_store_t *self, const uint8_t blob[FC_HASH_LEN], uint64_t offset,
                       void *buf, size_t len)
{
    fc_store_fd_t *e = s_fd_get(self, blob, false, false);
    if (!e)
        return errno == ENOENT ? FC_ENOTFOUND : FC_EIO;
    if (offset > e->size || len > e->size - offset)
        return FC_EINVAL;
    if (fc_pread_all(e->fd, buf, len, offset) != 0) {
        s_fd_evict(self, blob, false);
        return FC_EIO;
    }
    return FC_OK;
}

int fc_store_blob_verify(fc_store_t *self, const uint8_t blob[FC_HASH_LEN])
{
    fc_store_fd_t *e = s_fd_get(self, blob, false, false);
    if (!e)
        return errno == ENOENT ? FC_ENOTFOUND : FC_EIO;
    return s_verify_fd(e->fd, blob, e->size, NULL, NULL);
}

int fc_store_blob_verify_file(const char *dir, const uint8_t blob[FC_HASH_LEN],
                              bool (*stop)(void *arg), void *arg)
{
    char path[PATH_MAX];
    s_blob_path_in(dir, blob, path, sizeof path);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT ? FC_ENOTFOUND : FC_EIO;
    struct stat sb;
    int err = fstat(fd, &sb) != 0 ? FC_EIO : s_verify_fd(fd, blob, (uint64_t)sb.st_size, stop, arg);
    close(fd);
    return err;
}

int fc_store_blob_remove(fc_store_t *self, const uint8_t blob[FC_HASH_LEN], uint64_t *bytes)
{
    char path[PATH_MAX];
    s_blob_path(self, blob, path, sizeof path);
    s_fd_evict(self, blob, false);
    struct stat sb;
    *bytes = stat(path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
    if (unlink(path) != 0 && errno != ENOENT)
        return fc_errno_to_error(errno);
    s_unindex_blob(self, blob);
    return fc_store_pieces_remove(self, blob);
}

int fc_store_upload_discard(fc_store_t *self, const uint8_t blob[FC_HASH_LEN])
{
    return s_discard_upload(self, blob);
}

int fc_store_blob_quarantine(fc_store_t *self, const uint8_t blob[FC_HASH_LEN], const char *reason)
{
    char path[PATH_MAX], aside[PATH_MAX + 16];
    s_blob_path(self, blob, path, sizeof path);
    snprintf(aside, sizeof aside, "%s.corrupt", path);
    s_fd_evict(self, blob, false);
    if (rename(path, aside) != 0 && errno != ENOENT)
        return fc_errno_to_error(errno);
    s_unindex_blob(self, blob);
    fc_db_stmt_t *st = fc_store_prep(
        self, "INSERT OR REPLACE INTO corrupt_blobs (blob, reason, time) VALUES (?, ?, ?)");
    if (!st)
        return FC_EIO;
    fc_db_bind_blob(st, 1, blob, FC_HASH_LEN);
    fc_db_bind_text(st, 2, reason ? reason : "", -1);
    fc_db_bind_int64(st, 3, (int64_t)time(NULL));
    return fc_store_step_done(st);
}

size_t fc_store_corrupt_count(fc_store_t *self)
{
    fc_db_stmt_t *st = fc_store_prep(self, "SELECT count(*) FROM corrupt_blobs");
    size_t n = st && fc_db_step(st) == FC_DB_ROW ? (size_t)fc_db_column_int64(st, 0) : 0;
    fc_db_finalize(st);
    return n;
}

int fc_store_blob_suspect(fc_store_t *self, const uint8_t blob[FC_HASH_LEN], const char *who,
                          char *text, size_t textsize)
{
    int err = fc_store_blob_verify(self, blob);
    if (err != FC_EHASH)
        return err;
    char reason[FC_MAX_TEXT + 64];
    snprintf(reason, sizeof reason, "does not match its hash (reported by agent %s)", who);
    int qerr = fc_store_blob_quarantine(self, blob, reason);
    snprintf(text, textsize, "%s; %s", reason,
             qerr ? fc_strerror(qerr)
                  : "moved aside and no longer served: re-push a release holding it to repair it");
    return FC_EHASH;
}

bool fc_store_blob_marked(fc_store_t *self, const uint8_t blob[FC_HASH_LEN])
{
    return fc_store_has_row(self, "SELECT 1 FROM corrupt_blobs WHERE blob = ?", blob);
}
