/* fc_manifest_scan.c: builds a manifest's file list by walking a directory and hashing chunks;
   a private part of fc_manifest (whose self-test runs this file's). */
#include "fc_error.h"
#include "fc_file.h"
#include "fc_hash.h"
#include "fc_manifest.h"
#include "fc_test_check.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    char *path; /* relative to the root */
    uint64_t size;
} s_entry_t;

typedef struct {
    int rootfd;
    s_entry_t *entries;
    size_t n, cap;
    const char *dir; /* the root as the caller named it */
    char *why;       /* the caller's line for the failure, NULL: none wanted */
    size_t whysize;
} s_scan_t;

/* Says what failed (the first failure only), after "DIR/" when it is about a file in the
   tree (fmt then starts with its relative path); returns rc. */
static int s_why(s_scan_t *sc, int rc, bool in_tree, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int s_why(s_scan_t *sc, int rc, bool in_tree, const char *fmt, ...)
{
    if (sc->why && sc->whysize && !sc->why[0]) {
        size_t len = 0;
        if (in_tree) {
            int n = snprintf(sc->why, sc->whysize, "%s%s", sc->dir,
                             sc->dir[0] && sc->dir[strlen(sc->dir) - 1] == '/' ? "" : "/");
            len = n > 0 && (size_t)n < sc->whysize ? (size_t)n : 0;
        }
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(sc->why + len, sc->whysize - len, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* What a file that is neither regular nor a directory is, for the message refusing it. */
static const char *s_kind(mode_t mode)
{
    if (S_ISLNK(mode))
        return "a symbolic link";
    if (S_ISFIFO(mode))
        return "a fifo";
    if (S_ISSOCK(mode))
        return "a socket";
    if (S_ISCHR(mode) || S_ISBLK(mode))
        return "a device";
    return "not a regular file";
}

static int s_entry_cmp(const void *a, const void *b)
{
    return strcmp(((const s_entry_t *)a)->path, ((const s_entry_t *)b)->path);
}

/* Joins rel and name into a malloc'd relative path; NULL if invalid or out of memory (*rc). */
static char *s_join(const char *rel, const char *name, int *rc)
{
    size_t rlen = strlen(rel), nlen = strlen(name);
    if (rlen + 1 + nlen > FC_MAX_PATH) {
        *rc = FC_EPATH;
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
        *rc = FC_EPATH; /* a file name with a backslash or control character */
        return NULL;
    }
    return path;
}

/* Walks directory rel (relative to the root; "" for the root). Names are collected and the
   directory closed before descending, so depth never costs open descriptors. */
static int s_scan_dir(s_scan_t *sc, const char *rel)
{
    int fd =
        openat(sc->rootfd, rel[0] ? rel : ".", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return s_why(sc, errno == ELOOP || errno == ENOTDIR ? FC_EPATH : fc_errno_to_error(errno),
                     true, "%s: cannot open the directory: %s", rel, strerror(errno));
    DIR *d = fdopendir(fd);
    if (!d) {
        int e = errno;
        close(fd);
        return s_why(sc, fc_errno_to_error(e), true, "%s: cannot list: %s", rel, strerror(e));
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
            rc = s_why(sc, fc_errno_to_error(errno), true, "%s%s%s: cannot stat: %s", rel,
                       rel[0] ? "/" : "", e->d_name, strerror(errno));
            break;
        }
        /* Only plain files and directories: a symlink could point outside the tree, and a
           device or fifo has no content to release. */
        if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
            rc = s_why(sc, FC_EPATH, true,
                       "%s%s%s: %s: a release holds only regular files and directories", rel,
                       rel[0] ? "/" : "", e->d_name, s_kind(st.st_mode));
            break;
        }
        char *path = s_join(rel, e->d_name, &rc);
        if (!path) {
            s_why(sc, rc, true, "%s%s%s: %s", rel, rel[0] ? "/" : "", e->d_name,
                  rc == FC_ENOMEM ? "out of memory"
                                  : "a path too long, or a name with a backslash or control "
                                    "character");
            break;
        }
        if (S_ISDIR(st.st_mode)) {
            if (nsub == subcap) {
                subcap = subcap ? subcap * 2 : 8;
                char **ns = realloc(subdirs, subcap * sizeof *ns);
                if (!ns) {
                    free(path);
                    rc = FC_ENOMEM;
                    break;
                }
                subdirs = ns;
            }
            subdirs[nsub++] = path;
            continue;
        }
        if (sc->n >= FC_MAX_FILES) {
            free(path);
            rc = s_why(sc, FC_ETOOBIG, false, "more than %u files", FC_MAX_FILES);
            break;
        }
        if (sc->n == sc->cap) {
            size_t ncap = sc->cap ? sc->cap * 2 : 64;
            s_entry_t *ne = realloc(sc->entries, ncap * sizeof *ne);
            if (!ne) {
                free(path);
                rc = FC_ENOMEM;
                break;
            }
            sc->entries = ne;
            sc->cap = ncap;
        }
        sc->entries[sc->n++] = (s_entry_t){path, (uint64_t)st.st_size};
    }
    closedir(d);
    for (size_t i = 0; i < nsub; i++) {
        if (rc == FC_OK)
            rc = s_scan_dir(sc, subdirs[i]);
        free(subdirs[i]);
    }
    free(subdirs);
    return rc;
}

/* Reads up to len bytes, retrying short reads; returns bytes read (< len only at EOF). */
static ssize_t s_read_full(int fd, uint8_t *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, buf + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

/* Hashes one file into f, chunk by chunk. *done counts bytes for progress. */
static int s_hash_file(s_scan_t *sc, const char *path, fc_file_t *f, uint8_t *buf, uint64_t *done,
                       uint64_t *total, fc_progress_fn *progress, void *arg)
{
    /* O_NOFOLLOW and O_NONBLOCK: if the file was swapped for a symlink or a fifo since the
       walk, fail rather than follow or hang. */
    int fd = openat(sc->rootfd, path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return s_why(sc, errno == ELOOP ? FC_EPATH : fc_errno_to_error(errno), true,
                     "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return s_why(sc, FC_EPATH, true, "%s: changed into something else than a file while read",
                     path);
    }
    f->mode = st.st_mode & 0777;
    uint32_t cap = (uint32_t)((uint64_t)st.st_size / FC_CHUNK_SIZE + 1);
    int rc = FC_OK;
    if ((uint64_t)st.st_size > FC_MAX_FILE_SIZE)
        rc = FC_ETOOBIG;
    else if (!(f->chunks = malloc((size_t)cap * sizeof(fc_chunk_t))))
        rc = FC_ENOMEM;
    /* Read to EOF and describe what was read, so the entry is self-consistent even if the
       file changed size since the walk. */
    while (rc == FC_OK) {
        ssize_t n = s_read_full(fd, buf, FC_CHUNK_SIZE);
        if (n < 0) {
            rc = s_why(sc, fc_errno_to_error(errno), true, "%s: read error: %s", path,
                       strerror(errno));
            break;
        }
        if (n == 0)
            break;
        if (f->size + (uint64_t)n > FC_MAX_FILE_SIZE) {
            rc = FC_ETOOBIG;
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
        fc_hash_buf(c->hash, buf, (size_t)n);
        f->size += (uint64_t)n;
        *done += (uint64_t)n;
        if (*done > *total)
            *total = *done;
        if (progress)
            progress(*done, *total, arg);
        if ((size_t)n < FC_CHUNK_SIZE)
            break;
    }
    close(fd);
    if (rc == FC_ETOOBIG)
        return s_why(sc, rc, true, "%s: bigger than the limit of %llu bytes per file", path,
                     (unsigned long long)FC_MAX_FILE_SIZE);
    if (rc != FC_OK)
        return s_why(sc, rc, true, "%s: %s", path, fc_strerror(rc));
    uint8_t(*hashes)[FC_HASH_LEN] = malloc((size_t)(f->nchunks ? f->nchunks : 1) * FC_HASH_LEN);
    if (!hashes)
        return FC_ENOMEM;
    for (uint32_t j = 0; j < f->nchunks; j++)
        memcpy(hashes[j], f->chunks[j].hash, FC_HASH_LEN);
    fc_hash_of_chunks(f->hash, (const uint8_t(*)[FC_HASH_LEN])hashes, f->nchunks);
    free(hashes);
    return FC_OK;
}

/* Frees self's file list (fc_manifest_destroy knows how to free files, so lend it them). */
static void s_clear_files(fc_manifest_t *self)
{
    fc_manifest_t *old = fc_manifest_new();
    old->files = self->files;
    old->nfiles = self->nfiles;
    self->files = NULL;
    self->nfiles = 0;
    fc_manifest_destroy(&old);
}

/* Replaces self's file list with the files under dir; on failure the list is left empty. */
int fc_manifest_scan_dir(fc_manifest_t *self, const char *dir, fc_progress_fn *progress, void *arg)
{
    return fc_manifest_scan_dir_why(self, dir, progress, arg, NULL, 0);
}

int fc_manifest_scan_dir_why(fc_manifest_t *self, const char *dir, fc_progress_fn *progress,
                             void *arg, char *why, size_t whysize)
{
    if (why && whysize)
        why[0] = '\0';
    if (!self || !dir)
        return FC_EINVAL;
    s_clear_files(self);
    self->chunk_size = FC_CHUNK_SIZE;
    s_scan_t sc = {.rootfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC),
                   .dir = dir,
                   .why = why,
                   .whysize = whysize};
    if (sc.rootfd < 0)
        return s_why(&sc, errno == ENOTDIR ? FC_EPATH : fc_errno_to_error(errno), false,
                     "cannot open the release directory %s: %s", dir, strerror(errno));
    int rc = s_scan_dir(&sc, "");
    uint8_t *buf = NULL;
    if (rc == FC_OK && sc.n > 0) {
        qsort(sc.entries, sc.n, sizeof *sc.entries, s_entry_cmp);
        self->files = calloc(sc.n, sizeof(fc_file_t));
        buf = malloc(FC_CHUNK_SIZE);
        if (!self->files || !buf)
            rc = FC_ENOMEM;
    }
    uint64_t done = 0, total = 0;
    for (size_t i = 0; i < sc.n; i++)
        total += sc.entries[i].size;
    for (size_t i = 0; rc == FC_OK && i < sc.n; i++) {
        fc_file_t *f = &self->files[i];
        f->path = sc.entries[i].path;
        sc.entries[i].path = NULL;
        self->nfiles++;
        rc = s_hash_file(&sc, f->path, f, buf, &done, &total, progress, arg);
    }
    if (rc == FC_OK && progress && done == 0)
        progress(0, 0, arg); /* an empty release still reports completion */
    for (size_t i = 0; i < sc.n; i++)
        free(sc.entries[i].path);
    free(sc.entries);
    free(buf);
    close(sc.rootfd);
    if (rc != FC_OK)
        s_clear_files(self);
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
    /* strcmp order; empty directories are not listed. */
    FC_CHECK(m->nfiles == 4);
    FC_CHECK(!strcmp(m->files[0].path, "B.txt") && !strcmp(m->files[1].path, "a-b"));
    FC_CHECK(!strcmp(m->files[2].path, "a/b/c/big.bin") && !strcmp(m->files[3].path, "a/empty"));
    FC_CHECK(m->files[0].mode == 0640 && m->files[2].mode == 0755 && m->files[3].mode == 0600);
    FC_CHECK(fc_manifest_total_size(m) == 5 + 4 + big_len);
    FC_CHECK(prog.done == prog.total && prog.done == fc_manifest_total_size(m) && prog.calls >= 6);

    const fc_file_t *f = fc_manifest_find(m, "a/b/c/big.bin");
    FC_CHECK(f == &m->files[2] && f->size == big_len && f->nchunks == 4);
    uint8_t hashes[4][FC_HASH_LEN], h[FC_HASH_LEN];
    for (uint32_t j = 0; j < 4; j++) {
        uint32_t want_len = j < 3 ? FC_CHUNK_SIZE : 5;
        FC_CHECK(f->chunks[j].offset == (uint64_t)j * FC_CHUNK_SIZE);
        FC_CHECK(f->chunks[j].length == want_len);
        fc_hash_buf(hashes[j], big + (size_t)j * FC_CHUNK_SIZE, want_len);
        FC_CHECK(fc_hash_equal(hashes[j], f->chunks[j].hash));
    }
    fc_hash_of_chunks(h, (const uint8_t(*)[FC_HASH_LEN])hashes, 4);
    FC_CHECK(fc_hash_equal(h, f->hash));
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

    /* Symlinks, fifos and odd names are refused, leaving no files behind. */
    m = fc_manifest_new();
    snprintf(path, sizeof path, "%s/a/link", root);
    FC_CHECK(symlink("../B.txt", path) == 0);
    /* Each refusal names the file and why. */
    char why[512];
    FC_CHECK(fc_manifest_scan_dir_why(m, root, NULL, NULL, why, sizeof why) == FC_EPATH &&
             m->nfiles == 0);
    FC_CHECK(strstr(why, "a/link: a symbolic link: a release holds only regular files"));
    FC_CHECK(unlink(path) == 0);
    snprintf(path, sizeof path, "%s/a/b/fifo", root);
    FC_CHECK(mkfifo(path, 0644) == 0);
    FC_CHECK(fc_manifest_scan_dir_why(m, root, NULL, NULL, why, sizeof why) == FC_EPATH &&
             m->nfiles == 0);
    FC_CHECK(strstr(why, "a/b/fifo: a fifo"));
    FC_CHECK(unlink(path) == 0);
    /* An unreadable file is told apart from a missing directory (root reads anything). */
    if (geteuid() != 0) {
        snprintf(path, sizeof path, "%s/a/empty", root);
        FC_CHECK(chmod(path, 0) == 0);
        FC_CHECK(fc_manifest_scan_dir_why(m, root, NULL, NULL, why, sizeof why) != FC_OK);
        FC_CHECK(strstr(why, "a/empty: cannot open: Permission denied"));
        FC_CHECK(chmod(path, 0600) == 0);
    }
    s_put_file(root, "a/back\\slash", "x", 1, 0644);
    FC_CHECK(fc_manifest_scan_dir(m, root, NULL, NULL) == FC_EPATH && m->files == NULL);
    snprintf(path, sizeof path, "%s/a/back\\slash", root);
    FC_CHECK(unlink(path) == 0);
    FC_CHECK(fc_manifest_scan_dir(m, root, NULL, NULL) == FC_OK && m->nfiles == 4);
    snprintf(path, sizeof path, "%s/B.txt", root);
    FC_CHECK(fc_manifest_scan_dir(m, path, NULL, NULL) == FC_EPATH && m->nfiles == 0);
    snprintf(path, sizeof path, "%s/missing", root);
    FC_CHECK(fc_manifest_scan_dir_why(m, path, NULL, NULL, why, sizeof why) == FC_EIO);
    FC_CHECK(strstr(why, "cannot open the release directory ") &&
             strstr(why, "/missing: No such file or directory"));
    fc_manifest_destroy(&m);
    free(big);
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
        printf("(tree, chunks, progress, refusals) ");
    printf("OK\n");
}
