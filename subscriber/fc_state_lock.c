/* fc_state_lock.c: the state directory's lock, so two agents never share one (fc_state_lock.h). */
#include "fc_state_lock.h"
#include "fc_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

int fc_state_lock(const char *state_dir, pid_t *holder, char *why, size_t whysize)
{
    *holder = 0;
    char path[4096];
    snprintf(path, sizeof path, "%s/agent.lock", state_dir);
    if (fc_mkdirs(state_dir, 0700) != 0) {
        snprintf(why, whysize, "cannot create state directory %s: %s", state_dir, strerror(errno));
        return -1;
    }
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        snprintf(why, whysize, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        char text[32] = "";
        ssize_t n = pread(fd, text, sizeof text - 1, 0);
        close(fd);
        if (e != EWOULDBLOCK) {
            snprintf(why, whysize, "cannot lock %s: %s", path, strerror(e));
            return -1;
        }
        long pid = n > 0 ? strtol(text, NULL, 10) : 0;
        *holder = pid > 0 ? (pid_t)pid : 0;
        if (*holder)
            snprintf(why, whysize,
                     "state directory %s is in use by the agent with PID %ld (%s): one agent per "
                     "state directory",
                     state_dir, pid, path);
        else
            snprintf(why, whysize, "state directory %s is in use by another agent (%s)", state_dir,
                     path);
        return -1;
    }
    /* Ours: say who holds it. A stale PID from a crashed agent is overwritten here. */
    char text[32];
    int len = snprintf(text, sizeof text, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, text, (size_t)len, 0) != len) {
        snprintf(why, whysize, "cannot write %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}
