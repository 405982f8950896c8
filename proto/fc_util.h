/* fc_util.h: file-system, socket and small generic helpers shared by the three programs. */
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
/* Like fc_write_file_atomic, for files only their writer reads back (an open reader may see
   the write after next rewrite its copy): writes <path>.spare (kept for the next write),
   fsyncs it, exchanges it with path (renameat2 RENAME_EXCHANGE; a rename when path does not
   exist yet or the file system cannot exchange), fsyncs the dir. No inode is created or
   freed per write. 0 or -1 (errno set; the old content of path is untouched on error). */
int fc_write_file_swap(const char *path, const void *buf, size_t len, mode_t mode);
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
/* A size for people, "512 B" or "37.5 MiB" (binary units up to TiB), into buf of size
   bytes (truncated to fit); returns buf. */
char *fc_format_bytes(char *buf, size_t size, uint64_t bytes);
/* Room for element n of a growing array of size-byte elements whose capacity is *cap: when n
   has reached *cap, reallocs items to twice *cap (16 at first) and updates *cap. Returns the
   array, moved or not, or NULL if out of memory (items and *cap untouched, still the
   caller's). */
void *fc_grow(void *items, size_t n, size_t *cap, size_t size);
/* snprintf into text (size bytes); does nothing if text is NULL or size 0, for functions
   whose callers may pass no buffer for the one-line reason of a failure. */
void fc_textf(char *text, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Unix seconds t as UTC, "2026-11-22T02:45:51Z" ("-" for 0 or less), into buf of size bytes. */
void fc_format_time(char *buf, size_t size, int64_t t);
/* Binary search for key in base, n elements of size bytes each, in the order cmp sets
   (cmp(key, element) returns <0, 0 or >0, as for bsearch(3)). Returns the index of the
   element equal to key with *found true, or else the index where key would be inserted to
   keep the order, with *found false. */
size_t fc_bsearch(const void *key, const void *base, size_t n, size_t size,
                  int (*cmp)(const void *key, const void *element), bool *found);

/* Messages received and not yet read that libzmq queues per connection (ZMQ_RCVHWM): a
   chunk window's worth of replies and some. The broker's ROUTER has less (fc_broker.h). */
#define FC_SOCK_RCVHWM 64
/* Sets the options every fleetcast socket gets: ZMQ_MAXMSGSIZE (FC_MAX_FRAME), ZMQ_RCVHWM
   (FC_SOCK_RCVHWM), linger 0,
   fast reconnect (100 ms, backing off to 2 s), and ZMTP heartbeats (a ping every 5 s, 15 s
   without traffic after one: dead) so a silently dead peer is noticed within seconds. sock
   is a libzmq socket handle (zsock_resolve'd). */
void fc_sock_tune(void *sock);
/* For the broker's bound sockets (many peers on one I/O thread): fc_sock_tune without
   ZMTP pings of its own (its peers ping it), and TCP keepalive to drop vanished peers. */
void fc_sock_tune_bound(void *sock);
/* Replaces the wildcard host ("*" or "0.0.0.0") of a tcp bind endpoint, such as
   tcp:// *:7401 (without the space), with the host of the connect endpoint used to reach
   the broker; any other endpoint is copied as is. Writes into out; 0 or -1. */
int fc_endpoint_for_peer(char *out, size_t outsize, const char *bound, const char *via);

void fc_util_test(bool verbose);

#endif
