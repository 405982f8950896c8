/* fc_journal.c: the download journal: an append-only file of verified chunk indexes, so a
   restarted agent resumes a release instead of fetching it again. */
#include "fc_journal.h"
#include "fc_error.h"
#include "fc_file.h"
#include "fc_test_check.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* File format (little-endian):
     header: "FCJ1" | release id (32 bytes) | nchunks u64
     record: index u64 | check u32
   The check ties each record to its index, so a block of zeros or garbage left by a crash
   (or a disk that lies) is detected rather than read as "chunk 0 is verified". */
#define S_MAGIC "FCJ1"
#define S_HEADER_LEN (4 + FC_HASH_LEN + 8)
#define S_RECORD_LEN 12
#define S_CHECK_KEY 0x9e3779b9u
/* Bitmaps above this are refused: no real manifest (FC_MAX_MANIFEST) comes near it. */
#define S_MAX_CHUNKS (1ull << 32)

struct fc_journal_t {
    char *path;
    int fd;
    uint64_t nchunks;
    uint64_t count; /* bits set */
    uint64_t end;   /* file offset of the next record */
    uint8_t *bits;
    uint8_t id[FC_HASH_LEN];
};

static void s_put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t s_get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static uint32_t s_check(uint64_t index)
{
    return (uint32_t)index ^ (uint32_t)(index >> 32) ^ S_CHECK_KEY;
}

static void s_encode_record(uint8_t rec[S_RECORD_LEN], uint64_t index)
{
    s_put_u64(rec, index);
    uint32_t c = s_check(index);
    for (int i = 0; i < 4; i++)
        rec[8 + i] = (uint8_t)(c >> (8 * i));
}

/* Returns true and sets *index if rec is a well-formed record. */
static bool s_decode_record(const uint8_t rec[S_RECORD_LEN], uint64_t *index)
{
    *index = s_get_u64(rec);
    uint32_t c = 0;
    for (int i = 0; i < 4; i++)
        c |= (uint32_t)rec[8 + i] << (8 * i);
    return c == s_check(*index);
}

static void s_encode_header(uint8_t hdr[S_HEADER_LEN], const uint8_t id[FC_HASH_LEN],
                            uint64_t nchunks)
{
    memcpy(hdr, S_MAGIC, 4);
    memcpy(hdr + 4, id, FC_HASH_LEN);
    s_put_u64(hdr + 4 + FC_HASH_LEN, nchunks);
}

static void s_set(fc_journal_t *self, uint64_t index)
{
    if (!(self->bits[index / 8] & (1u << (index % 8)))) {
        self->bits[index / 8] |= (uint8_t)(1u << (index % 8));
        self->count++;
    }
}

/* Writes a fresh journal (header plus one record per bit set) to a temp file and renames
   it over the old one: used when the file holds a foreign header, garbage or duplicates,
   so that appends start from a clean, aligned file. */
static int s_rewrite(fc_journal_t *self)
{
    size_t tmplen = strlen(self->path) + 8;
    char *tmp = malloc(tmplen);
    if (!tmp)
        return FC_ENOMEM;
    snprintf(tmp, tmplen, "%s.tmp", self->path);
    int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        int rc = fc_errno_to_error(errno);
        free(tmp);
        return rc;
    }
    uint8_t buf[S_HEADER_LEN + 512 * S_RECORD_LEN];
    s_encode_header(buf, self->id, self->nchunks);
    size_t used = S_HEADER_LEN;
    uint64_t off = 0;
    int rc = 0;
    for (uint64_t i = 0; i <= self->nchunks && rc == 0; i++) {
        bool flush = i == self->nchunks || used + S_RECORD_LEN > sizeof buf;
        if (flush && used > 0) {
            if (fc_pwrite_all(fd, buf, used, off) != 0)
                rc = fc_errno_to_error(errno);
            off += used;
            used = 0;
        }
        if (i < self->nchunks && fc_journal_has(self, i)) {
            s_encode_record(buf + used, i);
            used += S_RECORD_LEN;
        }
    }
    if (rc == 0 && fdatasync(fd) != 0)
        rc = fc_errno_to_error(errno);
    if (rc == 0 && rename(tmp, self->path) != 0)
        rc = fc_errno_to_error(errno);
    if (rc != 0) {
        close(fd);
        unlink(tmp);
        free(tmp);
        return rc;
    }
    free(tmp);
    if (self->fd >= 0)
        close(self->fd);
    self->fd = fd;
    self->end = off;
    return 0;
}

/* Replays the records of an already opened file whose header matched. Returns true if the
   file is clean (no garbage, no torn tail, no duplicates) and can be appended to as is. */
static bool s_replay(fc_journal_t *self, uint64_t size)
{
    uint8_t buf[4096 * S_RECORD_LEN];
    uint64_t off = S_HEADER_LEN;
    uint64_t nrecords = 0;
    bool clean = true;
    /* Stop at the first bad record: what follows a torn or garbage record is not trusted. */
    while (off < size) {
        uint64_t want = size - off;
        if (want > sizeof buf)
            want = sizeof buf;
        ssize_t got = pread(self->fd, buf, (size_t)want, (off_t)off);
        if (got <= 0) {
            if (got < 0 && errno == EINTR)
                continue;
            return false;
        }
        size_t whole = (size_t)got / S_RECORD_LEN * S_RECORD_LEN;
        if (whole == 0)
            return false; /* a torn last record */
        for (size_t i = 0; i < whole; i += S_RECORD_LEN) {
            uint64_t index;
            if (!s_decode_record(buf + i, &index))
                return false;
            nrecords++;
            /* A record beyond the chunk count cannot be ours: skip it, rewrite later. */
            if (index < self->nchunks)
                s_set(self, index);
            else
                clean = false;
        }
        off += whole;
    }
    self->end = off;
    return clean && nrecords == self->count;
}

fc_journal_t *fc_journal_open(const char *path, const uint8_t id[FC_HASH_LEN], uint64_t nchunks,
                              int *err)
{
    int dummy;
    if (!err)
        err = &dummy;
    *err = 0;
    if (!path || !id || nchunks > S_MAX_CHUNKS) {
        *err = FC_EINVAL;
        return NULL;
    }
    fc_journal_t *self = calloc(1, sizeof *self);
    if (!self) {
        *err = FC_ENOMEM;
        return NULL;
    }
    self->fd = -1;
    self->nchunks = nchunks;
    memcpy(self->id, id, FC_HASH_LEN);
    self->path = strdup(path);
    self->bits = calloc(1, (size_t)(nchunks / 8 + 1));
    if (!self->path || !self->bits) {
        *err = FC_ENOMEM;
        fc_journal_destroy(&self);
        return NULL;
    }
    self->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (self->fd < 0) {
        *err = fc_errno_to_error(errno);
        fc_journal_destroy(&self);
        return NULL;
    }
    struct stat st;
    uint8_t want[S_HEADER_LEN], have[S_HEADER_LEN];
    s_encode_header(want, id, nchunks);
    bool clean = false;
    if (fstat(self->fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= S_HEADER_LEN &&
        fc_pread_all(self->fd, have, S_HEADER_LEN, 0) == 0 && memcmp(have, want, S_HEADER_LEN) == 0)
        clean = s_replay(self, (uint64_t)st.st_size);
    if (!clean) {
        /* Another release's journal, garbage or a torn tail: keep what was valid (it is
           re-verified by the stage anyway) and start an aligned file. */
        *err = s_rewrite(self);
        if (*err) {
            fc_journal_destroy(&self);
            return NULL;
        }
    }
    return self;
}

void fc_journal_destroy(fc_journal_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fc_journal_t *self = *self_p;
    if (self->fd >= 0)
        close(self->fd);
    free(self->bits);
    free(self->path);
    free(self);
    *self_p = NULL;
}

bool fc_journal_has(const fc_journal_t *self, uint64_t index)
{
    if (!self || index >= self->nchunks)
        return false;
    return (self->bits[index / 8] >> (index % 8)) & 1u;
}

void fc_journal_forget(fc_journal_t *self, uint64_t index)
{
    if (!self || !fc_journal_has(self, index))
        return;
    self->bits[index / 8] &= (uint8_t) ~(1u << (index % 8));
    self->count--;
}

int fc_journal_mark(fc_journal_t *self, uint64_t index)
{
    if (!self || index >= self->nchunks)
        return FC_EINVAL;
    if (fc_journal_has(self, index))
        return 0;
    uint8_t rec[S_RECORD_LEN];
    s_encode_record(rec, index);
    if (fc_pwrite_all(self->fd, rec, S_RECORD_LEN, self->end) != 0) {
        int rc = fc_errno_to_error(errno);
        /* Drop a partial record so later appends stay aligned. */
        if (ftruncate(self->fd, (off_t)self->end) != 0) {
            /* Nothing more to do: a torn tail is detected and cut at the next open. */
        }
        return rc;
    }
    self->end += S_RECORD_LEN;
    s_set(self, index);
    return 0;
}

uint64_t fc_journal_count(const fc_journal_t *self)
{
    return self ? self->count : 0;
}

int fc_journal_sync(fc_journal_t *self)
{
    if (!self)
        return FC_EINVAL;
    return fdatasync(self->fd) == 0 ? 0 : fc_errno_to_error(errno);
}

void fc_journal_test(bool verbose)
{
    if (verbose)
        printf(" * fc_journal: ");
    char dir[] = "/tmp/fc_journal_test.XXXXXX";
    FC_CHECK(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/j", dir);
    uint8_t id[FC_HASH_LEN], other[FC_HASH_LEN];
    memset(id, 0x11, sizeof id);
    memset(other, 0x22, sizeof other);
    int err = -1;

    /* Mark, reopen, has. */
    fc_journal_t *j = fc_journal_open(path, id, 100, &err);
    FC_CHECK(j && err == 0);
    FC_CHECK(fc_journal_count(j) == 0 && !fc_journal_has(j, 3));
    FC_CHECK(fc_journal_mark(j, 3) == 0);
    FC_CHECK(fc_journal_mark(j, 99) == 0);
    FC_CHECK(fc_journal_mark(j, 3) == 0); /* idempotent, no duplicate record */
    FC_CHECK(fc_journal_mark(j, 100) == FC_EINVAL);
    FC_CHECK(fc_journal_count(j) == 2 && fc_journal_has(j, 3) && fc_journal_has(j, 99));
    FC_CHECK(!fc_journal_has(j, 100) && !fc_journal_has(j, 4));
    FC_CHECK(fc_journal_sync(j) == 0);
    fc_journal_destroy(&j);
    FC_CHECK(j == NULL);
    fc_journal_destroy(&j);
    struct stat st;
    FC_CHECK(stat(path, &st) == 0 && st.st_size == S_HEADER_LEN + 2 * S_RECORD_LEN);

    j = fc_journal_open(path, id, 100, &err);
    FC_CHECK(j && fc_journal_count(j) == 2 && fc_journal_has(j, 3) && fc_journal_has(j, 99));
    /* Forget is in memory only; a re-mark appends again. */
    fc_journal_forget(j, 3);
    FC_CHECK(!fc_journal_has(j, 3) && fc_journal_count(j) == 1);
    FC_CHECK(fc_journal_mark(j, 3) == 0 && fc_journal_mark(j, 50) == 0);
    fc_journal_destroy(&j);

    /* Torn last record: the whole records before it survive. */
    FC_CHECK(stat(path, &st) == 0);
    FC_CHECK(truncate(path, st.st_size - 5) == 0);
    j = fc_journal_open(path, id, 100, &err);
    FC_CHECK(j && err == 0);
    FC_CHECK(fc_journal_has(j, 3) && fc_journal_has(j, 99) && !fc_journal_has(j, 50));
    FC_CHECK(fc_journal_count(j) == 2);
    /* The file was rewritten aligned: a new mark survives the next reopen. */
    FC_CHECK(fc_journal_mark(j, 7) == 0);
    fc_journal_destroy(&j);
    j = fc_journal_open(path, id, 100, &err);
    FC_CHECK(j && fc_journal_count(j) == 3 && fc_journal_has(j, 7));
    fc_journal_destroy(&j);

    /* Garbage record in the middle: records after it are not trusted. */
    {
        int fd = open(path, O_WRONLY);
        FC_CHECK(fd >= 0);
        uint8_t junk[S_RECORD_LEN];
        memset(junk, 0, sizeof junk); /* zeros: index 0 with a wrong check */
        FC_CHECK(pwrite(fd, junk, sizeof junk, S_HEADER_LEN + S_RECORD_LEN) == S_RECORD_LEN);
        close(fd);
        j = fc_journal_open(path, id, 100, &err);
        FC_CHECK(j && fc_journal_count(j) == 1 && !fc_journal_has(j, 0));
        fc_journal_destroy(&j);
    }

    /* A header for another release (or another chunk count): empty. */
    j = fc_journal_open(path, other, 100, &err);
    FC_CHECK(j && err == 0 && fc_journal_count(j) == 0);
    FC_CHECK(fc_journal_mark(j, 1) == 0);
    fc_journal_destroy(&j);
    j = fc_journal_open(path, other, 101, &err);
    FC_CHECK(j && fc_journal_count(j) == 0);
    fc_journal_destroy(&j);

    /* Records past nchunks (valid checks) are ignored. */
    {
        uint8_t buf[S_HEADER_LEN + 2 * S_RECORD_LEN];
        s_encode_header(buf, id, 10);
        s_encode_record(buf + S_HEADER_LEN, 5);
        s_encode_record(buf + S_HEADER_LEN + S_RECORD_LEN, 1000);
        FC_CHECK(fc_write_file_atomic(path, buf, sizeof buf, 0600) == 0);
        j = fc_journal_open(path, id, 10, &err);
        FC_CHECK(j && fc_journal_count(j) == 1 && fc_journal_has(j, 5));
        fc_journal_destroy(&j);
    }

    /* Garbage and huge files: no crash, empty journal. */
    {
        uint8_t junk[1000];
        for (size_t i = 0; i < sizeof junk; i++)
            junk[i] = (uint8_t)(i * 131 + 7);
        FC_CHECK(fc_write_file_atomic(path, junk, sizeof junk, 0600) == 0);
        j = fc_journal_open(path, id, 10, &err);
        FC_CHECK(j && fc_journal_count(j) == 0);
        fc_journal_destroy(&j);
        /* A valid header followed by 4 GiB of holes (zeros): stops at the first record. */
        uint8_t hdr[S_HEADER_LEN];
        s_encode_header(hdr, id, 10);
        FC_CHECK(fc_write_file_atomic(path, hdr, sizeof hdr, 0600) == 0);
        FC_CHECK(truncate(path, (off_t)(4ull << 30)) == 0);
        j = fc_journal_open(path, id, 10, &err);
        FC_CHECK(j && fc_journal_count(j) == 0);
        FC_CHECK(stat(path, &st) == 0 && st.st_size == S_HEADER_LEN);
        FC_CHECK(fc_journal_mark(j, 9) == 0);
        fc_journal_destroy(&j);
        j = fc_journal_open(path, id, 10, &err);
        FC_CHECK(j && fc_journal_count(j) == 1 && fc_journal_has(j, 9));
        fc_journal_destroy(&j);
        /* Empty file, and a chunk count of zero. */
        FC_CHECK(truncate(path, 0) == 0);
        j = fc_journal_open(path, id, 0, &err);
        FC_CHECK(j && fc_journal_count(j) == 0 && !fc_journal_has(j, 0));
        FC_CHECK(fc_journal_mark(j, 0) == FC_EINVAL);
        fc_journal_destroy(&j);
    }

    /* Unopenable path and absurd sizes fail cleanly. */
    snprintf(path, sizeof path, "%s/missing/j", dir);
    FC_CHECK(fc_journal_open(path, id, 10, &err) == NULL && err == FC_EIO);
    FC_CHECK(fc_journal_open(path, id, UINT64_MAX, &err) == NULL && err == FC_EINVAL);

    FC_CHECK(fc_remove_tree(dir) == 0);
    if (verbose)
        printf("OK\n");
}
