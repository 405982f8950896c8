/* fc_state_lock_test.c: fc_state_lock's self-test: held, refused to another process with the
   holder's PID, released on close. */
#include "fc_file.h"
#include "fc_state_lock.h"
#include "fc_test_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

void fc_state_lock_test(bool verbose)
{
    printf(" * fc_state_lock: ");
    char dir[] = "/tmp/fc_state_lock_test.XXXXXX";
    FC_CHECK(mkdtemp(dir));
    char state[128], why[512];
    snprintf(state, sizeof state, "%s/a/state", dir);
    pid_t holder = -1;
    int fd = fc_state_lock(state, &holder, why, sizeof why);
    FC_CHECK(fd >= 0 && holder == 0);
    /* Another process is refused, and told our PID (flock is per open file: a child that
       opens the file again competes like another agent). */
    int pipefd[2];
    FC_CHECK(pipe(pipefd) == 0);
    pid_t child = fork();
    FC_CHECK(child >= 0);
    if (child == 0) {
        pid_t h = 0;
        char w[512];
        int cfd = fc_state_lock(state, &h, w, sizeof w);
        long got[2] = {cfd, (long)h};
        ssize_t wr = write(pipefd[1], got, sizeof got);
        _exit(wr == (ssize_t)sizeof got && strstr(w, "is in use by the agent with PID") ? 0 : 1);
    }
    long got[2] = {0, 0};
    FC_CHECK(read(pipefd[0], got, sizeof got) == (ssize_t)sizeof got);
    int status = 0;
    FC_CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    FC_CHECK(got[0] == -1 && got[1] == (long)getpid());
    close(pipefd[0]);
    close(pipefd[1]);
    /* A state dir that is a link is refused, with or without a trailing slash. */
    char link[160];
    snprintf(link, sizeof link, "%s/link", dir);
    FC_CHECK(symlink(state, link) == 0);
    FC_CHECK(fc_state_lock(link, &holder, why, sizeof why) == -1 && strstr(why, "is a symlink"));
    strcat(link, "/");
    FC_CHECK(fc_state_lock(link, &holder, why, sizeof why) == -1 && strstr(why, "is a symlink"));
    /* Released on close: the next one takes it. */
    close(fd);
    fd = fc_state_lock(state, &holder, why, sizeof why);
    FC_CHECK(fd >= 0);
    close(fd);
    FC_CHECK(fc_remove_tree(dir) == 0);
    if (verbose)
        printf("(held, refused naming the PID, released) ");
    printf("OK\n");
}
