/* fc_util.c: file-system, socket and small generic helpers shared by the three programs. */
#include "fc_util.h"
#include "fc_error.h"
#include "fc_limits.h"
#include "fc_test_check.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

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

double fc_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int fc_errno_to_error(int err)
{
    if (err == ENOSPC || err == EDQUOT)
        return FC_ENOSPC;
    if (err == ENOMEM)
        return FC_ENOMEM;
    return FC_EIO;
}

void *fc_grow(void *items, size_t n, size_t *cap, size_t size)
{
    if (n < *cap)
        return items;
    size_t ncap = *cap ? *cap * 2 : 16;
    if (size == 0 || ncap > SIZE_MAX / size)
        return NULL;
    void *bigger = realloc(items, ncap * size);
    if (bigger)
        *cap = ncap;
    return bigger;
}

void fc_textf(char *text, size_t size, const char *fmt, ...)
{
    if (!text || size == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, size, fmt, ap);
    va_end(ap);
}

char *fc_format_bytes(char *buf, size_t size, uint64_t bytes)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)bytes;
    size_t u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, size, "%llu B", (unsigned long long)bytes);
    else
        snprintf(buf, size, "%.1f %s", v, units[u]);
    return buf;
}

void fc_format_time(char *buf, size_t size, int64_t t)
{
    if (t <= 0) {
        snprintf(buf, size, "-");
        return;
    }
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

size_t fc_bsearch(const void *key, const void *base, size_t n, size_t size,
                  int (*cmp)(const void *key, const void *element), bool *found)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp(key, (const char *)base + mid * size);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c > 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

void fc_sock_tune(void *sock)
{
    int64_t maxmsg = FC_MAX_FRAME;
    int linger = 0, ivl = 100, ivl_max = 2000;
    /* No TTL: a TTL makes the broker arm a timer per connection and cancel it on every
       message it receives, and libzmq's cancel walks all of its I/O thread's timers, so
       1000 agents cost the broker a quarter of a core doing nothing. The broker finds dead
       peers with TCP keepalive instead (fc_sock_tune_bound). */
    /* A ping every 5 s; no traffic for 15 s after one: the link is dead, and reconnected.
       Each ping and pong crosses the broker (1000 agents, a socket each for requests and
       announcements: 400 pings a second), encrypted under CURVE: at 2 s they were most of
       an idle broker's CPU (5.1-6.1 % of a core with 1000 agents). A broker that dies
       outright closes its sockets and is noticed at once; a frozen one shows in the signed
       heartbeats on the announce socket within a second. */
    int hb_ivl = 5000, hb_timeout = 15000, hb_ttl = 0;
    /* libzmq's default of 1000 received messages queued per connection, each up to
       FC_MAX_FRAME, would let a peer that sends faster than we read make us hold 16 GiB.
       Past the HWM libzmq stops reading that connection and TCP pushes back. */
    int rcvhwm = FC_SOCK_RCVHWM;
    /* Errors ignored: not every socket type supports every option, and none is essential. */
    zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(sock, ZMQ_RCVHWM, &rcvhwm, sizeof rcvhwm);
    zmq_setsockopt(sock, ZMQ_RECONNECT_IVL, &ivl, sizeof ivl);
    zmq_setsockopt(sock, ZMQ_RECONNECT_IVL_MAX, &ivl_max, sizeof ivl_max);
    zmq_setsockopt(sock, ZMQ_HEARTBEAT_IVL, &hb_ivl, sizeof hb_ivl);
    zmq_setsockopt(sock, ZMQ_HEARTBEAT_TIMEOUT, &hb_timeout, sizeof hb_timeout);
    zmq_setsockopt(sock, ZMQ_HEARTBEAT_TTL, &hb_ttl, sizeof hb_ttl);
}

void fc_sock_tune_bound(void *sock)
{
    fc_sock_tune(sock);
    /* The peers ping; answering costs no timer. Pinging them ourselves would arm a timeout
       timer per connection per ping, cancelled (a walk of every timer) by each PONG. */
    int zero = 0, on = 1, idle = 30, intvl = 10, cnt = 3;
    zmq_setsockopt(sock, ZMQ_HEARTBEAT_IVL, &zero, sizeof zero);
    /* A peer that vanished without a FIN (power cut, cable) is dropped after about a
       minute by the kernel's keepalive: no timer in libzmq. */
    zmq_setsockopt(sock, ZMQ_TCP_KEEPALIVE, &on, sizeof on);
    zmq_setsockopt(sock, ZMQ_TCP_KEEPALIVE_IDLE, &idle, sizeof idle);
    zmq_setsockopt(sock, ZMQ_TCP_KEEPALIVE_INTVL, &intvl, sizeof intvl);
    zmq_setsockopt(sock, ZMQ_TCP_KEEPALIVE_CNT, &cnt, sizeof cnt);
}

/* Splits "tcp://HOST:PORT" into host and port spans (host may be "[v6]"). 0 or -1. */
static int s_tcp_split(const char *ep, const char **host, size_t *hostlen, const char **port)
{
    if (strncmp(ep, "tcp://", 6) != 0)
        return -1;
    const char *h = ep + 6;
    /* A connect endpoint may name a source address first: "tcp://src;dst:port". */
    const char *semi = strchr(h, ';');
    if (semi)
        h = semi + 1;
    const char *colon = strrchr(h, ':');
    if (!colon || colon == h || colon[1] == '\0')
        return -1;
    *host = h;
    *hostlen = (size_t)(colon - h);
    *port = colon + 1;
    return 0;
}

static bool s_span_is(const char *s, size_t len, const char *lit)
{
    return strlen(lit) == len && !memcmp(s, lit, len);
}

int fc_endpoint_for_peer(char *out, size_t outsize, const char *bound, const char *via)
{
    if (!out || outsize == 0 || !bound)
        return -1;
    const char *bhost, *bport;
    size_t bhostlen;
    bool wildcard = false;
    if (s_tcp_split(bound, &bhost, &bhostlen, &bport) == 0)
        wildcard = s_span_is(bhost, bhostlen, "*") || s_span_is(bhost, bhostlen, "0.0.0.0") ||
                   s_span_is(bhost, bhostlen, "[::]") || s_span_is(bhost, bhostlen, "[*]");
    else if (strncmp(bound, "tcp://", 6) == 0)
        return -1; /* tcp without a usable host:port */

    int n;
    if (!wildcard)
        n = snprintf(out, outsize, "%s", bound); /* a named host, ipc://, inproc:// */
    else {
        if (!strcmp(bport, "*") || !strcmp(bport, "!") || bport[0] == '!')
            return -1; /* ephemeral port: the caller must pass the resolved endpoint */
        const char *vhost = "127.0.0.1", *vport;
        size_t vhostlen = strlen(vhost);
        /* A peer that came over ipc:// or inproc:// is on this machine. */
        if (via && strncmp(via, "tcp://", 6) == 0 &&
            s_tcp_split(via, &vhost, &vhostlen, &vport) != 0)
            return -1;
        n = snprintf(out, outsize, "tcp://%.*s:%s", (int)vhostlen, vhost, bport);
    }
    if (n < 0 || (size_t)n >= outsize)
        return -1;
    return 0;
}

static int s_int_cmp(const void *key, const void *element)
{
    int a = *(const int *)key, b = *(const int *)element;
    return (a > b) - (a < b);
}

static void s_endpoint_case(const char *bound, const char *via, const char *expect)
{
    char out[FC_MAX_ENDPOINT + 1];
    int rc = fc_endpoint_for_peer(out, sizeof out, bound, via);
    if (expect) {
        FC_CHECK(rc == 0);
        FC_CHECK(!strcmp(out, expect));
    } else
        FC_CHECK(rc == -1);
}

void fc_util_test(bool verbose)
{
    printf(" * fc_util: ");
    char dir[] = "/tmp/fc_util_test.XXXXXX";
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

    /* errno mapping. */
    FC_CHECK(fc_errno_to_error(ENOSPC) == FC_ENOSPC);
    FC_CHECK(fc_errno_to_error(EDQUOT) == FC_ENOSPC);
    FC_CHECK(fc_errno_to_error(EACCES) == FC_EIO);

    /* Monotonic clock moves forward. */
    double t0 = fc_now();
    usleep(2000);
    FC_CHECK(fc_now() > t0);

    /* Announce endpoint as seen by a peer. */
    s_endpoint_case("tcp://*:7401", "tcp://10.1.2.3:7400", "tcp://10.1.2.3:7401");
    s_endpoint_case("tcp://0.0.0.0:7401", "tcp://10.1.2.3:7400", "tcp://10.1.2.3:7401");
    s_endpoint_case("tcp://[::]:7401", "tcp://[fe80::1]:7400", "tcp://[fe80::1]:7401");
    s_endpoint_case("tcp://*:7401", "tcp://broker.example.com:7400",
                    "tcp://broker.example.com:7401");
    s_endpoint_case("tcp://*:7401", "tcp://192.168.0.9;10.1.2.3:7400", "tcp://10.1.2.3:7401");
    s_endpoint_case("tcp://192.168.1.5:7401", "tcp://10.1.2.3:7400", "tcp://192.168.1.5:7401");
    s_endpoint_case("ipc:///run/fleetcast/pub", "tcp://10.1.2.3:7400", "ipc:///run/fleetcast/pub");
    s_endpoint_case("tcp://*:7401", "ipc:///run/fleetcast/svc", "tcp://127.0.0.1:7401");
    s_endpoint_case("tcp://*:*", "tcp://10.1.2.3:7400", NULL);
    s_endpoint_case("tcp://*:7401", "tcp://nohostport", NULL);
    s_endpoint_case("tcp://nonsense", "tcp://10.1.2.3:7400", NULL);
    char tiny[10];
    FC_CHECK(fc_endpoint_for_peer(tiny, sizeof tiny, "tcp://*:7401", "tcp://10.1.2.3:7400") == -1);

    /* Sizes for people: bytes exact, then one decimal in the largest unit that fits. */
    char size_text[32];
    FC_CHECK(!strcmp(fc_format_bytes(size_text, sizeof size_text, 0), "0 B"));
    FC_CHECK(!strcmp(fc_format_bytes(size_text, sizeof size_text, 1023), "1023 B"));
    FC_CHECK(!strcmp(fc_format_bytes(size_text, sizeof size_text, 1024), "1.0 KiB"));
    FC_CHECK(!strcmp(fc_format_bytes(size_text, sizeof size_text, 39321600), "37.5 MiB"));
    FC_CHECK(!strcmp(fc_format_bytes(size_text, sizeof size_text, 3ull << 40), "3.0 TiB"));
    FC_CHECK(!strcmp(fc_format_bytes(size_text, sizeof size_text, 2048ull << 40), "2048.0 TiB"));
    FC_CHECK(!strcmp(fc_format_bytes(size_text, 4, 39321600), "37."));

    char when[32];
    fc_format_time(when, sizeof when, 1795315551);
    FC_CHECK(!strcmp(when, "2026-11-22T02:45:51Z"));
    fc_format_time(when, sizeof when, 0);
    FC_CHECK(!strcmp(when, "-"));
    fc_format_time(when, sizeof when, -5);
    FC_CHECK(!strcmp(when, "-"));

    char text[8] = "old";
    fc_textf(text, sizeof text, "%s %d", "abc", 12345);
    FC_CHECK(!strcmp(text, "abc 123"));
    fc_textf(NULL, 10, "%s", "no buffer: nothing happens");
    fc_textf(text, 0, "%s", "no room: nothing happens");
    FC_CHECK(!strcmp(text, "abc 123"));

    /* grow: doubles from 16 only when full; a failure leaves the array and capacity alone. */
    size_t cap = 0;
    int *grown = fc_grow(NULL, 0, &cap, sizeof(int));
    FC_CHECK(grown && cap == 16);
    grown[15] = 7;
    FC_CHECK(fc_grow(grown, 15, &cap, sizeof(int)) == grown && cap == 16);
    grown = fc_grow(grown, 16, &cap, sizeof(int));
    FC_CHECK(grown && cap == 32 && grown[15] == 7);
    FC_CHECK(fc_grow(grown, 32, &cap, SIZE_MAX / 32) == NULL && cap == 32);
    free(grown);

    /* bsearch: hits, and where misses would go (front, between, end, empty array). */
    const int sorted[] = {10, 20, 30, 40, 50};
    bool found = false;
    for (size_t i = 0; i < 5; i++) {
        FC_CHECK(fc_bsearch(&sorted[i], sorted, 5, sizeof(int), s_int_cmp, &found) == i && found);
        int between = sorted[i] + 5;
        FC_CHECK(fc_bsearch(&between, sorted, 5, sizeof(int), s_int_cmp, &found) == i + 1);
        FC_CHECK(!found);
    }
    int small = 1;
    FC_CHECK(fc_bsearch(&small, sorted, 5, sizeof(int), s_int_cmp, &found) == 0 && !found);
    found = true;
    FC_CHECK(fc_bsearch(&small, NULL, 0, sizeof(int), s_int_cmp, &found) == 0 && !found);

    /* Socket options apply to every socket type without complaint; check the important one. */
    void *ctx = zmq_ctx_new();
    FC_CHECK(ctx);
    int types[] = {ZMQ_ROUTER, ZMQ_DEALER, ZMQ_PUB, ZMQ_SUB};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        void *s = zmq_socket(ctx, types[i]);
        FC_CHECK(s);
        fc_sock_tune(s);
        int64_t maxmsg = 0;
        size_t sz = sizeof maxmsg;
        FC_CHECK(zmq_getsockopt(s, ZMQ_MAXMSGSIZE, &maxmsg, &sz) == 0);
        FC_CHECK(maxmsg == FC_MAX_FRAME);
        int linger = -1;
        sz = sizeof linger;
        FC_CHECK(zmq_getsockopt(s, ZMQ_LINGER, &linger, &sz) == 0 && linger == 0);
        int rcvhwm = 0;
        sz = sizeof rcvhwm;
        FC_CHECK(zmq_getsockopt(s, ZMQ_RCVHWM, &rcvhwm, &sz) == 0 && rcvhwm == FC_SOCK_RCVHWM);
        zmq_close(s);
    }
    zmq_ctx_term(ctx);

    if (verbose)
        printf("(files, tree, endpoints, sockets) ");
    printf("OK\n");
}
