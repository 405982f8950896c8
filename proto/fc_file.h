/* fc_file.h: file-system helpers: atomic whole-file writes and reads, directory trees, full
   positioned reads and writes. */
#ifndef FC_FILE_H
#define FC_FILE_H

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

void fc_file_test(bool verbose);

#endif
