/* fc_util.h: file-system and socket helpers shared by the three programs. */
#ifndef FC_UTIL_H
#define FC_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* mkdir -p with mode for created directories. 0 or -1 (errno set). */
int fc_mkdirs(const char *path, mode_t mode);
/* Writes len bytes to path atomically: temp file in the same dir, fsync, rename, fsync dir.
   0 or -1 (errno set; ENOSPC passes through, the old file is untouched). */
int fc_write_file_atomic(const char *path, const void *buf, size_t len, mode_t mode);
/* Reads a whole file of at most max bytes; malloc'd, NUL-terminated; NULL (errno) on error,
   EFBIG if over max. */
uint8_t *fc_read_file(const char *path, size_t max, size_t *len);
/* Removes a tree (rm -rf), not following symlinks. 0 or -1. */
int fc_remove_tree(const char *path);
/* fsync a directory. */
int fc_fsync_dir(const char *path);
/* Full pwrite/pread loops; 0 or -1 (errno). */
int fc_pwrite_all(int fd, const void *buf, size_t len, uint64_t offset);
int fc_pread_all(int fd, void *buf, size_t len, uint64_t offset);
/* Seconds since an arbitrary point, monotonic, as double. */
double fc_now(void);
/* Maps an errno to fc_error_t (ENOSPC/EDQUOT -> FC_ENOSPC, else FC_EIO). */
int fc_errno_to_error(int err);

/* Sets the options every fleetcast socket gets: ZMQ_MAXMSGSIZE (FC_MAX_FRAME), linger 0,
   fast reconnect (100 ms, backing off to 2 s), and ZMTP heartbeats so a dead peer is
   noticed in seconds. sock is a libzmq socket handle (zsock_resolve'd). */
void fc_sock_tune(void *sock);
/* Replaces the wildcard host ("*" or "0.0.0.0") of a tcp bind endpoint, such as
   tcp:// *:7401 (without the space), with the host of the connect endpoint used to reach
   the broker; any other endpoint is copied as is. Writes into out; 0 or -1. */
int fc_endpoint_for_peer(char *out, size_t outsize, const char *bound, const char *via);

void fc_util_test(bool verbose);

#endif
