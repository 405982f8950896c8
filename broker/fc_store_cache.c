/* fc_store_cache.c: the store's blobs as a relay sees them (its bounded cache, the pieces of
   a fetch read before its commit); a private part of fc_store (fc_store_priv.h). Its walk of
   the blobs is also fc_store_gc.c's. */
#include "fc_store_cache.h"
#include "fc_error.h"
#include "fc_file.h"
#include "fc_hash.h"
#include "fc_store_priv.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int fc_store_blob_scan(fc_store_t *self, fc_store_blob_seen_fn *seen, void *arg)
{
    char top[PATH_MAX];
    snprintf(top, sizeof top, "%s/blobs", self->dir);
    DIR *d = opendir(top);
    if (!d)
        return errno == ENOENT ? FC_OK : FC_EIO;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strlen(e->d_name) != 2)
            continue;
        char sub[PATH_MAX + 8];
        snprintf(sub, sizeof sub, "%s/%.2s", top, e->d_name);
        DIR *s = opendir(sub);
        struct dirent *f;
        while (s && (f = readdir(s))) {
            uint8_t blob[FC_HASH_LEN];
            /* Only names that are a hash: a quarantined blob's ".corrupt" file is not one. */
            if (strlen(f->d_name) != 2 * FC_HASH_LEN ||
                fc_hex_decode(blob, FC_HASH_LEN, f->d_name) != 0)
                continue;
            char path[PATH_MAX + 80];
            snprintf(path, sizeof path, "%s/%.64s", sub, f->d_name);
            struct stat sb;
            if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode))
                seen(arg, blob, (uint64_t)sb.st_size, (int64_t)sb.st_mtime);
        }
        if (s)
            closedir(s);
    }
    closedir(d);
    return FC_OK;
}

int fc_store_blob_touch(fc_store_t *self, const uint8_t blob[FC_HASH_LEN], int64_t when)
{
    char hex[2 * FC_HASH_LEN + 1], path[PATH_MAX];
    fc_hash_hex(blob, hex);
    snprintf(path, sizeof path, "%s/blobs/%.2s/%s", self->dir, hex, hex);
    struct timespec times[2] = {{.tv_nsec = UTIME_OMIT}, {.tv_sec = (time_t)when}};
    if (utimensat(AT_FDCWD, path, times, 0) != 0)
        return errno == ENOENT ? FC_ENOTFOUND : FC_EIO;
    return FC_OK;
}

int fc_store_blob_evict(fc_store_t *self, const uint8_t blob[FC_HASH_LEN], uint64_t *bytes)
{
    return fc_store_blob_remove(self, blob, bytes);
}

int fc_store_upload_read(fc_store_t *self, const uint8_t blob[FC_HASH_LEN], uint64_t offset,
                         void *buf, size_t len)
{
    char hex[2 * FC_HASH_LEN + 1], path[PATH_MAX];
    snprintf(path, sizeof path, "%s/incoming/%s.part", self->dir, fc_hash_hex(blob, hex));
    /* Its own descriptor: the store's cached one is read-write and may be evicted by the
       write path; a read per request costs one open. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT ? FC_ENOTFOUND : FC_EIO;
    int err = fc_pread_all(fd, buf, len, offset) == 0 ? FC_OK : FC_EIO;
    close(fd);
    return err;
}
