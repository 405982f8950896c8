/* fc_state_lock.c: the state directory's lock, so two agents never share one (fc_state_lock.h). */
#include "fc_state_lock.h"
#include "fc_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* The PID holding an flock on the file with st's device and inode, from /proc/locks
   ("1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF", the device in hex); 0 if not found. */
static pid_t s_holder(const struct stat *st)
{
    FILE *f = fopen("/proc/locks", "re");
    if (!f)
        return 0;
    char want[64], line[256];
    snprintf(want, sizeof want, "%02x:%02x:%llu", major(st->st_dev), minor(st->st_dev),
             (unsigned long long)st->st_ino);
    pid_t pid = 0;
    while (!pid && fgets(line, sizeof line, f)) {
        char kind[16], dev[64];
        long p = 0;
        if (sscanf(line, "%*s %15s %*s %*s %ld %63s", kind, &p, dev) == 3 &&
            strcmp(kind, "FLOCK") == 0 && strcmp(dev, want) == 0 && p > 0)
            pid = (pid_t)p;
    }
    fclose(f);
    return pid;
}

int fc_state_lock(const char *state_dir, pid_t *holder, char *why, size_t whysize)
{
    *holder = 0;
    /* The lock is taken before the agent's own checks of the directory, so it writes
       nothing (an flock on the directory itself) and never goes through a link. "LINK/" is
       LINK. */
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", state_dir);
    for (size_t n = strlen(dir); n > 1 && dir[n - 1] == '/'; n--)
        dir[n - 1] = '\0';
    struct stat st;
    if (lstat(dir, &st) == 0 && S_ISLNK(st.st_mode)) {
        snprintf(why, whysize,
                 "state dir %s is a symlink: the agent keeps its state only in a real "
                 "directory, never through a link; remove the link and use a directory (or "
                 "give --state the real path)",
                 dir);
        return -1;
    }
    if (fc_mkdirs(dir, 0700) != 0) {
        snprintf(why, whysize, "cannot create state dir %s: %s", dir, strerror(errno));
        return -1;
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, whysize, "cannot open state dir %s: %s", dir, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) == 0)
        return fd;
    int e = errno;
    if (e == EWOULDBLOCK && fstat(fd, &st) == 0)
        *holder = s_holder(&st);
    close(fd);
    if (e != EWOULDBLOCK)
        snprintf(why, whysize, "cannot lock state dir %s: %s", dir, strerror(e));
    else if (*holder)
        snprintf(why, whysize,
                 "state dir %s is in use by the agent with PID %ld: one agent per state "
                 "directory",
                 dir, (long)*holder);
    else
        snprintf(why, whysize, "state dir %s is in use by another agent", dir);
    return -1;
}
