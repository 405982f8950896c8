/* fc_file.c: file-system helpers: atomic whole-file writes and reads, directory trees,
   full positioned reads and writes. */
#include "fc_file.h"
#include "fc_array.h"
#include "fc_test_check.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int fc_mkdirs(const char *path, mode_t mode)
{
    if (!path || !*path) {
        errno = EINVAL;
        return -1;
    }
    char *copy = strdup(path);
    if (!copy)
        return -1;
    int rc = 0;
    /* Create each prefix in turn; an existing directory is fine, anything else is not. */
    for (char *p = copy + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(copy, mode) != 0) {
            struct stat st;
            int err = errno;
            if (err != EEXIST || stat(copy, &st) != 0 || !S_ISDIR(st.st_mode)) {
                errno = err == EEXIST ? ENOTDIR : err;
                rc = -1;
                break;
            }
        }
        *p = saved;
        if (saved == '\0')
            break;
    }
    free(copy);
    return rc;
}

/* The directory part of path ("." if none); malloc'd. */
static char *s_dirname(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1) /* linux/fs.h; glibc declares renameat2 only for _GNU_SOURCE */
#endif

int fc_write_file_swap(const char *path, const void *buf, size_t len, mode_t mode)
{
    size_t plen = strlen(path);
    char *spare = malloc(plen + sizeof ".spare");
    char *dir = s_dirname(path);
    if (!spare || !dir) {
        free(spare);
        free(dir);
        errno = ENOMEM;
        return -1;
    }
    memcpy(spare, path, plen);
    memcpy(spare + plen, ".spare", sizeof ".spare");
    int rc = -1, err = 0;
    int fd = open(spare, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd >= 0) {
        rc = fchmod(fd, mode);
        if (rc == 0)
            rc = ftruncate(fd, 0);
        if (rc == 0)
            rc = fc_pwrite_all(fd, buf, len, 0);
        if (rc == 0)
            rc = fsync(fd);
        err = errno;
        if (close(fd) != 0 && rc == 0) {
            rc = -1;
            err = errno;
        }
    } else
        err = errno;
    /* Only a complete, synced spare is swapped in: a crash leaves the old or the new content.
       The exchange neither creates nor frees an inode; a rename over the file frees one
       each time, which file systems that delay inode reuse pay for on every later create. */
    if (rc == 0 && syscall(SYS_renameat2, AT_FDCWD, spare, AT_FDCWD, path, RENAME_EXCHANGE) != 0 &&
        rename(spare, path) != 0) { /* no target yet, or no exchange on this file system */
        rc = -1;
        err = errno;
    }
    if (rc == 0 && fc_fsync_dir(dir) != 0) {
        rc = -1;
        err = errno;
    }
    free(spare);
    free(dir);
    errno = err;
    return rc;
}

int fc_write_file_atomic(const char *path, const void *buf, size_t len, mode_t mode)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    char *dir = s_dirname(path);
    if (!tmp || !dir) {
        free(tmp);
        free(dir);
        errno = ENOMEM;
        return -1;
    }
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp.XXXXXX", 12);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int err = errno;
        free(tmp);
        free(dir);
        errno = err;
        return -1;
    }
    /* mkstemp creates 0600; fchmod is not subject to the umask, so the mode is exact. */
    int rc = fchmod(fd, mode);
    if (rc == 0)
        rc = fc_pwrite_all(fd, buf, len, 0); /* a new, empty file */
    if (rc == 0)
        rc = fsync(fd);
    int err = errno;
    if (close(fd) != 0 && rc == 0) {
        rc = -1;
        err = errno;
    }
    /* Rename only a complete, synced file: a crash leaves the old or the new content. */
    if (rc == 0 && rename(tmp, path) != 0) {
        rc = -1;
        err = errno;
    }
    if (rc != 0)
        unlink(tmp);
    else if (fc_fsync_dir(dir) != 0) {
        rc = -1;
        err = errno;
    }
    free(tmp);
    free(dir);
    errno = err;
    return rc;
}

uint8_t *fc_read_file(const char *path, size_t max, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int err = errno;
        close(fd);
        errno = err;
        return NULL;
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        errno = EISDIR;
        return NULL;
    }
    if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > max) {
        close(fd);
        errno = EFBIG;
        return NULL;
    }
    /* Read to EOF rather than trusting st_size: the file may grow, or not be regular. */
    size_t cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 4096;
    size_t used = 0;
    uint8_t *buf = malloc(cap);
    int err = 0;
    while (buf) {
        if (used == cap - 1) {
            /* Never more than max+1 bytes of content: that is enough to know it is too big. */
            size_t limit = max < SIZE_MAX - 2 ? max + 2 : SIZE_MAX;
            size_t ncap = cap + (cap / 2 > 4096 ? cap / 2 : 4096);
            if (ncap > limit || ncap < cap)
                ncap = limit;
            if (ncap <= cap) {
                err = EFBIG;
                break;
            }
            uint8_t *nbuf = realloc(buf, ncap);
            if (!nbuf) {
                err = ENOMEM;
                break;
            }
            buf = nbuf;
            cap = ncap;
        }
        ssize_t n = read(fd, buf + used, cap - 1 - used);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            err = errno;
            break;
        }
        if (n == 0)
            break;
        used += (size_t)n;
        if (used > max) {
            err = EFBIG;
            break;
        }
    }
    if (!buf)
        err = ENOMEM;
    close(fd);
    if (err) {
        free(buf);
        errno = err;
        return NULL;
    }
    buf[used] = '\0';
    if (len)
        *len = used;
    return buf;
}

/* Removes path, which lstat says is a directory. Names are collected and the directory closed
   before recursing, so the depth of the tree never costs open file descriptors. */
static int s_remove_dir(const char *path)
{
    DIR *d = opendir(path);
    if (!d && errno == EACCES) {
        /* A read-only tree (installed release) must still be removable by its owner. */
        if (chmod(path, 0700) == 0)
            d = opendir(path);
    }
    if (!d)
        return -1;
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char **nn = fc_grow(names, n, &cap, sizeof *names);
        if (!nn) {
            rc = -1;
            break;
        }
        names = nn;
        if (!(names[n] = strdup(e->d_name))) {
            rc = -1;
            break;
        }
        n++;
    }
    closedir(d);
    if (rc == 0) {
        struct stat st;
        if (stat(path, &st) == 0 && (st.st_mode & 0700) != 0700)
            chmod(path, st.st_mode | 0700);
    }
    for (size_t i = 0; i < n; i++) {
        if (rc == 0) {
            char *child = malloc(strlen(path) + strlen(names[i]) + 2);
            if (!child)
                rc = -1;
            else {
                sprintf(child, "%s/%s", path, names[i]);
                rc = fc_remove_tree(child);
                free(child);
            }
        }
        free(names[i]);
    }
    free(names);
    if (rc == 0)
        rc = rmdir(path);
    return rc;
}

int fc_remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : -1;
    /* lstat: a symlink is removed itself, never followed. */
    if (S_ISDIR(st.st_mode))
        return s_remove_dir(path);
    return unlink(path);
}

int fc_fsync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    int err = errno;
    close(fd);
    errno = err;
    return rc;
}

int fc_pwrite_all(int fd, const void *buf, size_t len, uint64_t offset)
{
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = pwrite(fd, p, len, (off_t)offset);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
        offset += (uint64_t)n;
    }
    return 0;
}

int fc_pread_all(int fd, void *buf, size_t len, uint64_t offset)
{
    uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = pread(fd, p, len, (off_t)offset);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (n == 0) {
            /* The file is shorter than the caller expected: treat as an I/O error. */
            errno = EIO;
            return -1;
        }
        p += n;
        len -= (size_t)n;
        offset += (uint64_t)n;
    }
    return 0;
}

void fc_file_test(bool verbose)
{
    printf(" * fc_file: ");
    char dir[] = "/tmp/fc_file_test.XXXXXX";
    FC_CHECK(mkdtemp(dir));
    char path[256], path2[256];

    /* mkdirs: nested, idempotent, refuses to go through a file. */
    snprintf(path, sizeof path, "%s/a/b/c", dir);
    FC_CHECK(fc_mkdirs(path, 0755) == 0);
    FC_CHECK(fc_mkdirs(path, 0755) == 0);
    struct stat st;
    FC_CHECK(stat(path, &st) == 0 && S_ISDIR(st.st_mode));

    /* Atomic write creates, then replaces content and mode; no temp file is left. */
    snprintf(path, sizeof path, "%s/a/file", dir);
    FC_CHECK(fc_write_file_atomic(path, "first version", 13, 0644) == 0);
    size_t len = 0;
    uint8_t *data = fc_read_file(path, 1024, &len);
    FC_CHECK(data && len == 13 && !strcmp((char *)data, "first version"));
    free(data);
    FC_CHECK(fc_write_file_atomic(path, "v2", 2, 0600) == 0);
    data = fc_read_file(path, 1024, &len);
    FC_CHECK(data && len == 2 && !strcmp((char *)data, "v2"));
    free(data);
    FC_CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    snprintf(path2, sizeof path2, "%s/a", dir);
    DIR *d = opendir(path2);
    FC_CHECK(d);
    int entries = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            entries++;
    closedir(d);
    FC_CHECK(entries == 2); /* "b" and "file" */
    /* Empty content is allowed; a missing directory is an error with errno set. */
    FC_CHECK(fc_write_file_atomic(path, "", 0, 0644) == 0);
    data = fc_read_file(path, 0, &len);
    FC_CHECK(data && len == 0 && data[0] == '\0');
    free(data);
    snprintf(path2, sizeof path2, "%s/nodir/file", dir);
    errno = 0;
    FC_CHECK(fc_write_file_atomic(path2, "x", 1, 0644) == -1 && errno == ENOENT);

    /* write_file_swap: a plain rename the first time, then the two inodes take turns. */
    char swapped[300], spare[320];
    snprintf(swapped, sizeof swapped, "%s/swapped", dir);
    snprintf(spare, sizeof spare, "%s.spare", swapped);
    FC_CHECK(fc_write_file_swap(swapped, "one", 3, 0600) == 0);
    FC_CHECK(stat(swapped, &st) == 0 && (st.st_mode & 0777) == 0600);
    ino_t first = st.st_ino;
    FC_CHECK(fc_write_file_swap(swapped, "second!", 7, 0600) == 0);
    data = fc_read_file(swapped, 1024, &len);
    FC_CHECK(data && len == 7 && !memcmp(data, "second!", 7));
    free(data);
    struct stat sp;
    if (stat(spare, &sp) == 0) { /* exchanged: the old file is the spare, content intact */
        FC_CHECK(sp.st_ino == first);
        data = fc_read_file(spare, 1024, &len);
        FC_CHECK(data && len == 3 && !memcmp(data, "one", 3));
        free(data);
        FC_CHECK(fc_write_file_swap(swapped, "3", 1, 0600) == 0);
        FC_CHECK(stat(swapped, &st) == 0 && st.st_ino == first);
    }
    data = fc_read_file(swapped, 1024, &len);
    FC_CHECK(data && len == (stat(spare, &sp) == 0 ? 1u : 7u));
    free(data);
    errno = 0;
    FC_CHECK(fc_write_file_swap(path2, "x", 1, 0644) == -1 && errno == ENOENT);

    /* read_file: max is inclusive, one byte over is EFBIG, missing is ENOENT. */
    FC_CHECK(fc_write_file_atomic(path, "0123456789", 10, 0644) == 0);
    data = fc_read_file(path, 10, &len);
    FC_CHECK(data && len == 10);
    free(data);
    errno = 0;
    FC_CHECK(fc_read_file(path, 9, &len) == NULL && errno == EFBIG);
    errno = 0;
    FC_CHECK(fc_read_file(path2, 9, &len) == NULL && errno == ENOENT);
    /* A non-regular file (no st_size) is still bounded by max. */
    errno = 0;
    FC_CHECK(fc_read_file("/dev/zero", 5000, &len) == NULL && errno == EFBIG);

    /* pwrite/pread at offsets; reading past the end fails. */
    int fd = open(path, O_RDWR);
    FC_CHECK(fd >= 0);
    FC_CHECK(fc_pwrite_all(fd, "AB", 2, 4) == 0);
    char rb[4];
    FC_CHECK(fc_pread_all(fd, rb, 4, 3) == 0 && !memcmp(rb, "3AB6", 4));
    FC_CHECK(fc_pread_all(fd, rb, 4, 8) == -1);
    close(fd);

    /* remove_tree removes a symlink, never what it points to, and read-only directories. */
    char outside[256];
    snprintf(outside, sizeof outside, "%s.outside", dir);
    FC_CHECK(fc_write_file_atomic(outside, "keep", 4, 0644) == 0);
    snprintf(path, sizeof path, "%s/a/b/link", dir);
    FC_CHECK(symlink(outside, path) == 0);
    snprintf(path, sizeof path, "%s/a/b/dirlink", dir);
    FC_CHECK(symlink("/tmp", path) == 0);
    snprintf(path, sizeof path, "%s/a/b/c/ro.txt", dir);
    FC_CHECK(fc_write_file_atomic(path, "ro", 2, 0444) == 0);
    snprintf(path, sizeof path, "%s/a/b/c", dir);
    FC_CHECK(chmod(path, 0555) == 0);
    FC_CHECK(fc_remove_tree(dir) == 0);
    FC_CHECK(lstat(dir, &st) == -1 && errno == ENOENT);
    FC_CHECK(stat(outside, &st) == 0);
    FC_CHECK(stat("/tmp", &st) == 0);
    FC_CHECK(fc_remove_tree(dir) == 0); /* already gone: like rm -rf */
    FC_CHECK(fc_remove_tree(outside) == 0);
    FC_CHECK(lstat(outside, &st) == -1);

    if (verbose)
        printf("(files, tree) ");
    printf("OK\n");
}
