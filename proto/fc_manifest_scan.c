/* fc_manifest_scan.c: builds a manifest's file list by walking a directory and hashing chunks;
   a private part of fc_manifest (whose self-test runs this file's). */
#include "fc_array.h"
#include "fc_cdc.h"
#include "fc_error.h"
#include "fc_file.h"
#include "fc_hash.h"
#include "fc_manifest.h"
#include "fc_test_check.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef enum { S_FILE, S_DIR, S_LINK } s_kind_t;

typedef struct {
    char *path; /* relative to the root */
    s_kind_t kind;
    uint64_t size;
    uint32_t mode;
    fc_mtime_t mtime;
    char *target; /* links */
    bool external;
} s_entry_t;

typedef struct {
    int rootfd;
    const fc_scan_opts_t *opts;
    s_entry_t *entries;
    size_t n, cap;
    char *bad; /* where the path at fault and why go (may be NULL) */
    size_t badsize;
    fc_cdc_t small, large; /* the cuts a file gets by its size (fc_cdc_init) */
} s_scan_t;

static int s_entry_cmp(const void *a, const void *b)
{
    return strcmp(((const s_entry_t *)a)->path, ((const s_entry_t *)b)->path);
}

/* Records which path failed and why, and returns rc: a push error always names the file. */
static int s_fail(s_scan_t *sc, const char *rel, const char *rel2, const char *why, int rc)
{
    if (sc->bad && sc->badsize > 0)
        snprintf(sc->bad, sc->badsize, "%s%s%s: %s", rel, rel[0] && rel2[0] ? "/" : "", rel2, why);
    return rc;
}

/* Joins rel and name into a malloc'd relative path; NULL if invalid or out of memory (*rc). */
static char *s_join(s_scan_t *sc, const char *rel, const char *name, int *rc)
{
    size_t rlen = strlen(rel), nlen = strlen(name);
    if (rlen + 1 + nlen > FC_MAX_PATH) {
        *rc = s_fail(sc, rel, name, "path longer than the protocol's limit", FC_EPATH);
        return NULL;
    }
    char *path = malloc(rlen + nlen + 2);
    if (!path) {
        *rc = FC_ENOMEM;
        return NULL;
    }
    memcpy(path, rel, rlen);
    if (rlen)
        path[rlen++] = '/';
    memcpy(path + rlen, name, nlen + 1);
    if (!fc_path_valid(path)) {
        free(path);
        *rc = s_fail(sc, rel, name, "name holds a backslash or control character", FC_EPATH);
        return NULL;
    }
    return path;
}

static fc_mtime_t s_mtime(const s_scan_t *sc, const struct stat *st)
{
    if (sc->opts && sc->opts->no_times)
        return (fc_mtime_t){0, 0};
    return (fc_mtime_t){(int64_t)st->st_mtim.tv_sec, (uint32_t)st->st_mtim.tv_nsec};
}

/* Why a file of this type cannot be released. */
static const char *s_type_refusal(mode_t mode)
{
    return S_ISFIFO(mode)                   ? "a FIFO cannot be released"
           : S_ISSOCK(mode)                 ? "a socket cannot be released"
           : S_ISCHR(mode) || S_ISBLK(mode) ? "a device cannot be released"
                                            : "not a regular file, directory or symlink";
}

/* Reads the link name below dfd into *target, deciding whether it stays inside the tree;
   refuses one that does not unless the operator allowed it. fc_error_t. */
static int s_read_link(s_scan_t *sc, int dfd, const char *name, const char *path, s_entry_t *e)
{
    char buf[FC_MAX_PATH + 2];
    ssize_t n = readlinkat(dfd, name, buf, sizeof buf);
    if (n < 0)
        return s_fail(sc, path, "", strerror(errno), fc_errno_to_error(errno));
    if ((size_t)n > FC_MAX_PATH || n == 0)
        return s_fail(sc, path, "", "symlink target longer than the protocol's limit", FC_EPATH);
    buf[n] = '\0';
    for (ssize_t i = 0; i < n; i++)
        if ((unsigned char)buf[i] < 0x20 || (unsigned char)buf[i] == 0x7f)
            return s_fail(sc, path, "", "symlink target holds a control character", FC_EPATH);
    e->external = !fc_link_target_inside(path, buf);
    if (e->external && !(sc->opts && sc->opts->allow_external_symlinks))
        return s_fail(sc, path, "",
                      buf[0] == '/' ? "symlink target is absolute (--allow-external-symlinks "
                                      "keeps it as written)"
                                    : "symlink target leaves the release or is not a plain "
                                      "relative path (--allow-external-symlinks keeps it as "
                                      "written)",
                      FC_EPATH);
    if (!(e->target = strdup(buf)))
        return FC_ENOMEM;
    return FC_OK;
}

static int s_push_entry(s_scan_t *sc, const s_entry_t *e)
{
    if (sc->n >= FC_MAX_FILES)
        return s_fail(sc, e->path, "", "more entries than a release may hold", FC_ETOOBIG);
    if (sc->n == sc->cap) {
        size_t ncap = sc->cap ? sc->cap * 2 : 64;
        s_entry_t *ne = realloc(sc->entries, ncap * sizeof *ne);
        if (!ne)
            return FC_ENOMEM;
        sc->entries = ne;
        sc->cap = ncap;
    }
    sc->entries[sc->n++] = *e;
    return FC_OK;
}

/* Walks directory rel (relative to the root; "" for the root). Names are collected and the
   directory closed before descending, so depth never costs open descriptors. */
static int s_scan_dir(s_scan_t *sc, const char *rel)
{
    int fd =
        openat(sc->rootfd, rel[0] ? rel : ".", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return s_fail(sc, rel[0] ? rel : ".", "", strerror(errno),
                      errno == ELOOP || errno == ENOTDIR ? FC_EPATH : fc_errno_to_error(errno));
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return fc_errno_to_error(errno);
    }
    char **subdirs = NULL;
    size_t nsub = 0, subcap = 0;
    int rc = FC_OK;
    struct dirent *e;
    while (rc == FC_OK && (e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        struct stat st;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            rc = s_fail(sc, rel, e->d_name, strerror(errno), fc_errno_to_error(errno));
            break;
        }
        /* A device or fifo has no content to release, and a socket is a live endpoint. */
        if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode) && !S_ISLNK(st.st_mode)) {
            rc = s_fail(sc, rel, e->d_name, s_type_refusal(st.st_mode), FC_EPATH);
            break;
        }
        s_entry_t ent = {.path = s_join(sc, rel, e->d_name, &rc),
                         .size = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0,
                         .mode = st.st_mode & 0777,
                         .mtime = s_mtime(sc, &st)};
        if (!ent.path)
            break;
        ent.kind = S_ISDIR(st.st_mode) ? S_DIR : S_ISLNK(st.st_mode) ? S_LINK : S_FILE;
        if (ent.kind == S_LINK)
            rc = s_read_link(sc, dirfd(d), e->d_name, ent.path, &ent);
        if (rc == FC_OK)
            rc = s_push_entry(sc, &ent);
        if (rc != FC_OK) {
            free(ent.target);
            free(ent.path);
            break;
        }
        /* Borrowed from the entry, which frees it. */
        if (ent.kind == S_DIR) {
            char **ns = fc_grow(subdirs, nsub, &subcap, sizeof *subdirs);
            if (!ns)
                rc = FC_ENOMEM;
            else {
                subdirs = ns;
                subdirs[nsub++] = ent.path;
            }
        }
    }
    closedir(d);
    /* The paths are the entries' (freed with them): only the array is ours. */
    for (size_t i = 0; i < nsub && rc == FC_OK; i++)
        rc = s_scan_dir(sc, subdirs[i]);
    free(subdirs);
    return rc;
}

/* Hashes one file into f, cut into content-defined chunks (fc_cdc) unless the options ask
   for fixed ones. *done counts bytes for progress. */
static int s_hash_file(s_scan_t *sc, const char *path, fc_file_t *f, uint64_t *done,
                       uint64_t *total, fc_progress_fn *progress, void *arg)
{
    /* O_NOFOLLOW and O_NONBLOCK: if the file was swapped for a symlink or a fifo since the
       walk, fail rather than follow or hang. */
    int fd = openat(sc->rootfd, path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return s_fail(sc, path, "", errno == ELOOP ? "replaced by a symlink" : strerror(errno),
                      errno == ELOOP ? FC_EPATH : fc_errno_to_error(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return s_fail(sc, path, "", "no longer a regular file", FC_EPATH);
    }
    f->mode = st.st_mode & 0777;
    /* The size at open picks the cut: if the file changes size while it is read, the broker
       still finds its name under the other cut (fc_cdc_init_other). */
    const fc_cdc_t *cdc = (uint64_t)st.st_size >= FC_CDC_LARGE_FILE ? &sc->large : &sc->small;
    uint32_t cap = (uint32_t)((uint64_t)st.st_size / cdc->avg + 1);
    fc_cdc_reader_t rd;
    int rc = fc_cdc_reader_init(&rd, sc->opts && sc->opts->fixed_chunks ? NULL : cdc, fd);
    if (rc == FC_OK && (uint64_t)st.st_size > FC_MAX_FILE_SIZE)
        rc = s_fail(sc, path, "", "larger than the protocol's limit", FC_ETOOBIG);
    else if (rc == FC_OK && !(f->chunks = malloc((size_t)cap * sizeof(fc_chunk_t))))
        rc = FC_ENOMEM;
    /* Read to EOF and describe what was read, so the entry is self-consistent even if the
       file changed size since the walk. */
    while (rc == FC_OK) {
        const uint8_t *data;
        size_t n;
        int more = fc_cdc_reader_next(&rd, &data, &n);
        if (more < 0) {
            rc = s_fail(sc, path, "", strerror(errno), fc_errno_to_error(errno));
            break;
        }
        if (more == 0)
            break;
        if (f->size + (uint64_t)n > FC_MAX_FILE_SIZE) {
            rc = s_fail(sc, path, "", "larger than the protocol's limit", FC_ETOOBIG);
            break;
        }
        if (f->nchunks == cap) {
            void *nc = realloc(f->chunks, (size_t)cap * 2 * sizeof(fc_chunk_t));
            if (!nc) {
                rc = FC_ENOMEM;
                break;
            }
            f->chunks = nc;
            cap *= 2;
        }
        fc_chunk_t *c = &f->chunks[f->nchunks++];
        c->offset = f->size;
        c->length = (uint32_t)n;
        fc_hash_buf(c->hash, data, n);
        f->size += (uint64_t)n;
        *done += (uint64_t)n;
        if (*done > *total)
            *total = *done;
        if (progress)
            progress(*done, *total, arg);
    }
    fc_cdc_reader_free(&rd);
    /* The time after the read: what the file says now (an unchanged file: its own). */
    if (rc == FC_OK && fstat(fd, &st) == 0)
        f->mtime = s_mtime(sc, &st);
    close(fd);
    if (rc != FC_OK)
        return rc;
    uint8_t(*hashes)[FC_HASH_LEN] = malloc((size_t)(f->nchunks ? f->nchunks : 1) * FC_HASH_LEN);
    if (!hashes)
        return FC_ENOMEM;
    for (uint32_t j = 0; j < f->nchunks; j++)
        memcpy(hashes[j], f->chunks[j].hash, FC_HASH_LEN);
    fc_hash_of_chunks(f->hash, (const uint8_t(*)[FC_HASH_LEN])hashes, f->nchunks);
    free(hashes);
    return FC_OK;
}

/* Frees self's entries (fc_manifest_destroy knows how to free them, so lend it them). */
static void s_clear_entries(fc_manifest_t *self)
{
    fc_manifest_t *old = fc_manifest_new();
    old->files = self->files;
    old->nfiles = self->nfiles;
    old->dirs = self->dirs;
    old->ndirs = self->ndirs;
    old->links = self->links;
    old->nlinks = self->nlinks;
    self->files = NULL;
    self->nfiles = 0;
    self->dirs = NULL;
    self->ndirs = 0;
    self->links = NULL;
    self->nlinks = 0;
    fc_manifest_destroy(&old);
}

int fc_manifest_scan_dir(fc_manifest_t *self, const char *dir, fc_progress_fn *progress, void *arg)
{
    return fc_manifest_scan_tree(self, dir, NULL, progress, arg, NULL, 0);
}

/* Replaces self's entries with those under dir; on failure they are left empty. */
int fc_manifest_scan_tree(fc_manifest_t *self, const char *dir, const fc_scan_opts_t *opts,
                          fc_progress_fn *progress, void *arg, char *bad, size_t badsize)
{
    if (bad && badsize)
        bad[0] = '\0';
    if (!self || !dir)
        return FC_EINVAL;
    s_clear_entries(self);
    s_scan_t sc = {.rootfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC),
                   .opts = opts,
                   .bad = bad,
                   .badsize = badsize};
    fc_cdc_init(&sc.small, 0);
    fc_cdc_init(&sc.large, FC_CDC_LARGE_FILE);
    if (sc.rootfd < 0) {
        /* The caller names the directory; say only what went wrong with it. */
        int e = errno;
        if (bad && badsize > 0)
            snprintf(bad, badsize, "cannot open: %s", strerror(e));
        return e == ENOTDIR ? FC_EPATH : fc_errno_to_error(e);
    }
    int rc = s_scan_dir(&sc, "");
    size_t nfiles = 0;
    for (size_t i = 0; i < sc.n; i++)
        nfiles += sc.entries[i].kind == S_FILE;
    if (rc == FC_OK && sc.n > 0) {
        qsort(sc.entries, sc.n, sizeof *sc.entries, s_entry_cmp);
        self->files = calloc(nfiles + 1, sizeof(fc_file_t));
        if (!self->files)
            rc = FC_ENOMEM;
    }
    uint64_t done = 0, total = 0;
    for (size_t i = 0; i < sc.n; i++)
        total += sc.entries[i].size;
    /* Entries move into the manifest (their strings with them), in path order. */
    for (size_t i = 0; rc == FC_OK && i < sc.n; i++) {
        s_entry_t *e = &sc.entries[i];
        if (e->kind == S_DIR)
            fc_manifest_add_dir(self, e->path, e->mode, e->mtime);
        else if (e->kind == S_LINK)
            fc_manifest_add_link(self, e->path, e->target, e->mtime, e->external);
        else {
            fc_file_t *f = &self->files[self->nfiles++];
            f->path = e->path;
            e->path = NULL;
            rc = s_hash_file(&sc, f->path, f, &done, &total, progress, arg);
        }
    }
    if (rc == FC_OK && progress && done == 0)
        progress(0, 0, arg); /* an empty release still reports completion */
    for (size_t i = 0; i < sc.n; i++) {
        free(sc.entries[i].path);
        free(sc.entries[i].target);
    }
    free(sc.entries);
    close(sc.rootfd);
    if (rc != FC_OK)
        s_clear_entries(self);
    return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* Self-test */

typedef struct {
    uint64_t done, total;
    int calls;
} s_progress_t;

static void s_on_progress(uint64_t done, uint64_t total, void *arg)
{
    s_progress_t *p = arg;
    FC_CHECK(done >= p->done && done <= total);
    p->done = done;
    p->total = total;
    p->calls++;
}

static void s_put_file(const char *root, const char *rel, const void *data, size_t len, mode_t mode)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    char *slash = strrchr(path, '/');
    *slash = '\0';
    FC_CHECK(fc_mkdirs(path, 0755) == 0);
    *slash = '/';
    FC_CHECK(fc_write_file_atomic(path, data, len, mode) == 0);
}

/* Appends a file of the given size with made-up chunk hashes and a consistent file hash:
   validation never sees content, only the chunk list. */
/* Field-by-field equality of two manifests' file lists. */
static void s_assert_same_files(const fc_manifest_t *a, const fc_manifest_t *b)
{
    FC_CHECK(a->nfiles == b->nfiles);
    for (uint32_t i = 0; i < a->nfiles; i++) {
        const fc_file_t *x = &a->files[i], *y = &b->files[i];
        FC_CHECK(!strcmp(x->path, y->path) && x->mode == y->mode && x->size == y->size);
        FC_CHECK(fc_hash_equal(x->hash, y->hash) && x->nchunks == y->nchunks);
        for (uint32_t j = 0; j < x->nchunks; j++) /* field by field: structs have padding */
            FC_CHECK(x->chunks[j].offset == y->chunks[j].offset &&
                     x->chunks[j].length == y->chunks[j].length &&
                     fc_hash_equal(x->chunks[j].hash, y->chunks[j].hash));
    }
}

static void s_test_scan(const char *root, const fc_signkey_t *key, const fc_trust_t *trust)
{
    size_t big_len = 3 * FC_CHUNK_SIZE + 5;
    uint8_t *big = malloc(big_len);
    FC_CHECK(big);
    for (size_t i = 0; i < big_len; i++)
        big[i] = (uint8_t)(i * 7 + i / 1000);
    s_put_file(root, "B.txt", "upper", 5, 0640);
    s_put_file(root, "a-b", "dash", 4, 0644);
    s_put_file(root, "a/b/c/big.bin", big, big_len, 0755);
    s_put_file(root, "a/empty", "", 0, 0600);
    char path[512];
    snprintf(path, sizeof path, "%s/emptydir/inner", root);
    FC_CHECK(fc_mkdirs(path, 0755) == 0);

    fc_manifest_t *m = fc_manifest_new();
    s_progress_t prog = {0, 0, 0};
    FC_CHECK(fc_manifest_scan_dir(m, root, s_on_progress, &prog) == FC_OK);
    /* strcmp order; directories (empty ones too) are listed with their modes. */
    FC_CHECK(m->nfiles == 4 && m->ndirs == 5 && m->nlinks == 0);
    FC_CHECK(!strcmp(m->dirs[0].path, "a") && !strcmp(m->dirs[3].path, "emptydir"));
    FC_CHECK(!strcmp(m->dirs[4].path, "emptydir/inner") && m->dirs[4].mode == 0755);
    FC_CHECK(!strcmp(m->files[0].path, "B.txt") && !strcmp(m->files[1].path, "a-b"));
    FC_CHECK(!strcmp(m->files[2].path, "a/b/c/big.bin") && !strcmp(m->files[3].path, "a/empty"));
    FC_CHECK(m->files[0].mode == 0640 && m->files[2].mode == 0755 && m->files[3].mode == 0600);
    FC_CHECK(fc_manifest_total_size(m) == 5 + 4 + big_len);
    FC_CHECK(prog.done == prog.total && prog.done == fc_manifest_total_size(m) && prog.calls >= 6);

    const fc_file_t *f = fc_manifest_find(m, "a/b/c/big.bin");
    /* Cut by content (fc_cdc): the chunks the cut gives over the whole buffer, in order. */
    FC_CHECK(f == &m->files[2] && f->size == big_len && f->nchunks >= 4);
    fc_cdc_t cdc;
    fc_cdc_init(&cdc, big_len);
    uint8_t(*hashes)[FC_HASH_LEN] = malloc(f->nchunks * FC_HASH_LEN), h[FC_HASH_LEN];
    FC_CHECK(hashes);
    size_t off = 0;
    for (uint32_t j = 0; j < f->nchunks; j++) {
        size_t want_len = fc_cdc_cut(&cdc, big + off, big_len - off);
        FC_CHECK(f->chunks[j].offset == off && f->chunks[j].length == want_len);
        FC_CHECK(want_len <= FC_CDC_MAX && (j + 1 == f->nchunks || want_len >= FC_CDC_MIN));
        fc_hash_buf(hashes[j], big + off, want_len);
        FC_CHECK(fc_hash_equal(hashes[j], f->chunks[j].hash));
        off += want_len;
    }
    FC_CHECK(off == big_len);
    fc_hash_of_chunks(h, (const uint8_t(*)[FC_HASH_LEN])hashes, f->nchunks);
    FC_CHECK(fc_hash_equal(h, f->hash));
    free(hashes);
    f = fc_manifest_find(m, "a/empty");
    fc_hash_buf(h, "", 0);
    FC_CHECK(f && f->nchunks == 0 && fc_hash_equal(h, f->hash));
    FC_CHECK(!fc_manifest_find(m, "a") && !fc_manifest_find(m, "zzz") && !fc_manifest_find(m, ""));

    /* Sign and parse back equal; signing is deterministic, so re-signing gives equal bytes. */
    strcpy(m->product, "app");
    strcpy(m->channel, "stable");
    strcpy(m->version, "2.0.1");
    strcpy(m->min_version, "1.9");
    m->serial = 42;
    m->mandatory = true;
    m->created = -5;
    size_t len, len2;
    uint8_t *env = fc_manifest_sign(m, key, &len);
    FC_CHECK(env);
    int err = -1;
    fc_manifest_t *back = fc_manifest_parse(env, len, trust, &err);
    FC_CHECK(back && err == FC_OK);
    s_assert_same_files(m, back);
    FC_CHECK(!strcmp(back->version, "2.0.1") && !strcmp(back->min_version, "1.9"));
    FC_CHECK(back->serial == 42 && back->mandatory && back->created == -5);
    FC_CHECK(!memcmp(back->signer, key->pk, FC_PUBKEY_LEN));
    uint8_t *env2 = fc_manifest_sign(back, key, &len2);
    FC_CHECK(env2 && len2 == len && !memcmp(env, env2, len));
    free(env2);
    fc_manifest_destroy(&back);
    free(env);
    fc_manifest_destroy(&m);
    FC_CHECK(m == NULL);

    /* Links staying inside are kept as links; times are recorded, or one fixed time. */
    m = fc_manifest_new();
    snprintf(path, sizeof path, "%s/a/link", root);
    FC_CHECK(symlink("../B.txt", path) == 0);
    snprintf(path, sizeof path, "%s/a/dirlink", root);
    FC_CHECK(symlink("b/c", path) == 0);
    struct timespec old[2] = {{1600000000, 5}, {1600000000, 123}};
    snprintf(path, sizeof path, "%s/B.txt", root);
    FC_CHECK(utimensat(AT_FDCWD, path, old, 0) == 0);
    char bad[600];
    FC_CHECK(fc_manifest_scan_tree(m, root, NULL, NULL, NULL, bad, sizeof bad) == FC_OK);
    FC_CHECK(m->nlinks == 2 && !strcmp(m->links[0].path, "a/dirlink"));
    FC_CHECK(!strcmp(m->links[1].target, "../B.txt") && !m->links[1].external);
    f = fc_manifest_find(m, "B.txt");
    FC_CHECK(f && f->mtime.sec == 1600000000 && f->mtime.nsec == 123);
    fc_scan_opts_t opts = {.no_times = true};
    FC_CHECK(fc_manifest_scan_tree(m, root, &opts, NULL, NULL, bad, sizeof bad) == FC_OK);
    f = fc_manifest_find(m, "B.txt");
    FC_CHECK(f && f->mtime.sec == 0 && m->links[0].mtime.sec == 0 && m->dirs[0].mtime.sec == 0);

    /* Escaping links, fifos and odd names are refused, naming the path; nothing is left. */
    snprintf(path, sizeof path, "%s/a/b/out", root);
    FC_CHECK(symlink("../../../elsewhere", path) == 0);
    FC_CHECK(fc_manifest_scan_tree(m, root, NULL, NULL, NULL, bad, sizeof bad) == FC_EPATH);
    FC_CHECK(m->nfiles == 0 && m->nlinks == 0 && m->ndirs == 0);
    FC_CHECK(!strncmp(bad, "a/b/out: symlink target leaves the release", 42));
    opts = (fc_scan_opts_t){.allow_external_symlinks = true};
    FC_CHECK(fc_manifest_scan_tree(m, root, &opts, NULL, NULL, bad, sizeof bad) == FC_OK);
    const fc_link_t *l = fc_manifest_find_link(m, "a/b/out");
    FC_CHECK(l && l->external && !strcmp(l->target, "../../../elsewhere"));
    FC_CHECK(unlink(path) == 0);
    snprintf(path, sizeof path, "%s/abs", root);
    FC_CHECK(symlink("/etc/passwd", path) == 0);
    FC_CHECK(fc_manifest_scan_tree(m, root, NULL, NULL, NULL, bad, sizeof bad) == FC_EPATH);
    FC_CHECK(!strncmp(bad, "abs: symlink target is absolute", 31));
    FC_CHECK(unlink(path) == 0);
    snprintf(path, sizeof path, "%s/a/link", root);
    FC_CHECK(unlink(path) == 0);
    snprintf(path, sizeof path, "%s/a/dirlink", root);
    FC_CHECK(unlink(path) == 0);
    snprintf(path, sizeof path, "%s/a/b/fifo", root);
    FC_CHECK(mkfifo(path, 0644) == 0);
    FC_CHECK(fc_manifest_scan_tree(m, root, NULL, NULL, NULL, bad, sizeof bad) == FC_EPATH);
    FC_CHECK(m->nfiles == 0 && !strcmp(bad, "a/b/fifo: a FIFO cannot be released"));
    FC_CHECK(unlink(path) == 0);
    s_put_file(root, "a/back\\slash", "x", 1, 0644);
    FC_CHECK(fc_manifest_scan_dir(m, root, NULL, NULL) == FC_EPATH && m->files == NULL);
    snprintf(path, sizeof path, "%s/a/back\\slash", root);
    FC_CHECK(unlink(path) == 0);
    FC_CHECK(fc_manifest_scan_dir(m, root, NULL, NULL) == FC_OK && m->nfiles == 4);
    snprintf(path, sizeof path, "%s/B.txt", root);
    FC_CHECK(fc_manifest_scan_dir(m, path, NULL, NULL) == FC_EPATH && m->nfiles == 0);
    snprintf(path, sizeof path, "%s/missing", root);
    FC_CHECK(fc_manifest_scan_dir(m, path, NULL, NULL) == FC_EIO);
    fc_manifest_destroy(&m);
    free(big);
}

/* The file's size picks the cut: just below FC_CDC_LARGE_FILE small chunks, from it on the
   large ones, each chunk list matching the cut fc_cdc_init gives for that size. */
static void s_test_scan_sizes(const char *root)
{
    size_t sizes[2] = {FC_CDC_LARGE_FILE - 1, FC_CDC_LARGE_FILE};
    uint8_t *buf = malloc(FC_CDC_LARGE_FILE);
    FC_CHECK(buf);
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < FC_CDC_LARGE_FILE; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift: cuts where content says */
        buf[i] = (uint8_t)x;
    }
    char dir[600];
    snprintf(dir, sizeof dir, "%s/sizes", root);
    FC_CHECK(mkdir(dir, 0755) == 0);
    for (int k = 0; k < 2; k++) {
        s_put_file(dir, "f", buf, sizes[k], 0644);
        fc_manifest_t *m = fc_manifest_new();
        FC_CHECK(fc_manifest_scan_dir(m, dir, NULL, NULL) == FC_OK && m->nfiles == 1);
        const fc_file_t *f = &m->files[0];
        fc_cdc_t cdc;
        fc_cdc_init(&cdc, sizes[k]);
        FC_CHECK(cdc.max == (k ? FC_CDC_LARGE_MAX : FC_CDC_MAX));
        size_t off = 0;
        for (uint32_t j = 0; j < f->nchunks; j++) {
            size_t want = fc_cdc_cut(&cdc, buf + off, sizes[k] - off);
            FC_CHECK(f->chunks[j].offset == off && f->chunks[j].length == want);
            off += want;
        }
        FC_CHECK(off == sizes[k] && f->nchunks > sizes[k] / cdc.max);
        fc_manifest_destroy(&m);
    }
    free(buf);
}

void fc_manifest_scan_test(bool verbose)
{
    printf(" * fc_manifest_scan: ");
    FC_CHECK(fc_crypto_init() == 0);
    fc_signkey_t key;
    fc_signkey_generate(&key);
    fc_trust_t *trust = fc_trust_new();
    fc_trust_add(trust, key.pk);
    char root[] = "/tmp/fc_manifest_scan_test.XXXXXX";
    FC_CHECK(mkdtemp(root));

    s_test_scan(root, &key, trust);
    s_test_scan_sizes(root);

    /* An empty tree is a valid, empty release. */
    fc_manifest_t *m = fc_manifest_new();
    char empty[600];
    snprintf(empty, sizeof empty, "%s/emptydir", root);
    s_progress_t prog = {0, 0, 0};
    FC_CHECK(fc_manifest_scan_dir(m, empty, s_on_progress, &prog) == FC_OK && m->nfiles == 0);
    FC_CHECK(prog.calls == 1 && prog.total == 0);
    strcpy(m->product, "app");
    strcpy(m->channel, "dev");
    strcpy(m->version, "0.1");
    size_t len;
    uint8_t *env = fc_manifest_sign(m, &key, &len);
    int err = -1;
    fc_manifest_t *back = fc_manifest_parse(env, len, trust, &err);
    FC_CHECK(env && back && err == FC_OK && back->nfiles == 0 && fc_manifest_total_size(back) == 0);
    FC_CHECK(!fc_manifest_find(back, "x"));
    free(env);
    fc_manifest_destroy(&back);
    fc_manifest_destroy(&m);

    fc_trust_destroy(&trust);
    fc_signkey_wipe(&key);
    FC_CHECK(fc_remove_tree(root) == 0);
    if (verbose)
        printf("(tree, chunks, cut by size, progress, refusals) ");
    printf("OK\n");
}
