/* fc_fleetsim_proc.c: fleetcast-fleetsim's broker child (free ports, start, stop) and the
   system readings it reports (/proc: CPU time, peak RSS, threads, fds; file system types). */
#define _GNU_SOURCE
#include "fc_curve.h"
#include "fc_error.h"
#include "fc_file.h"
#include "fc_fleetsim.h"
#include "fc_role.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int fc_sim_find(const char *rel, char *path, size_t size)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return -1;
    self[n] = '\0';
    snprintf(path, size, "%s/%s", dirname(self), rel);
    return access(path, X_OK) == 0 ? 0 : -1;
}

/* Two distinct free loopback ports: both stay bound until both are chosen. */
static int s_free_ports(int ports[2])
{
    int fds[2] = {-1, -1}, rc = 0;
    for (int i = 0; i < 2 && rc == 0; i++) {
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
        socklen_t len = sizeof sa;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        if (fds[i] < 0 || bind(fds[i], (struct sockaddr *)&sa, sizeof sa) != 0 ||
            getsockname(fds[i], (struct sockaddr *)&sa, &len) != 0)
            rc = -1;
        else
            ports[i] = ntohs(sa.sin_port);
    }
    for (int i = 0; i < 2; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    return rc;
}

static bool s_port_open(int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return false;
    bool ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    close(fd);
    return ok;
}

int fc_simbroker_keys(const char *dir, char *broker_cert, char *publisher_secret,
                      char *agent_secret, char *msg, size_t msgsize)
{
    char data[1100], pub[FC_CURVE_Z85_LEN + 1], hex[65], path[1300]; /* dir: < 1024 */
    snprintf(data, sizeof data, "%s/broker", dir);
    snprintf(broker_cert, PATH_MAX, "%s/broker.cert", data);
    int err = fc_mkdirs(data, 0700) == 0 ? fc_curve_generate(broker_cert, true, NULL) : FC_EIO;
    /* Certificates named after the HELLO roles, enrolled in the broker's keys/ROLEs. */
    const char *roles[2] = {fc_role_name(FC_ROLE_PUBLISHER), fc_role_name(FC_ROLE_AGENT)};
    char *secrets[2] = {publisher_secret, agent_secret};
    for (int i = 0; i < 2 && !err; i++) {
        snprintf(path, sizeof path, "%s/%s.cert", dir, roles[i]);
        snprintf(secrets[i], PATH_MAX, "%s_secret", path);
        err = fc_curve_generate(path, false, pub);
        snprintf(path, sizeof path, "%s/keys/%ss", data, roles[i]);
        if (!err && fc_mkdirs(path, 0700) != 0)
            err = FC_EIO;
        fc_curve_key_hex(pub, hex);
        snprintf(path, sizeof path, "%s/keys/%ss/%s.cert", data, roles[i], hex);
        if (!err)
            err = fc_curve_save_public(pub, path);
    }
    if (err)
        snprintf(msg, msgsize, "cannot make CURVE keys in %s: %s", dir, fc_strerror(err));
    return err ? -1 : 0;
}

pid_t fc_sim_spawn(const char *const argv[], const char *log, char *msg, size_t msgsize)
{
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(msg, msgsize, "cannot fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        /* A child must not outlive a simulator that was killed. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execv(argv[0], (char *const *)argv); /* execv does not write them */
        _exit(127);
    }
    return pid;
}

int fc_simbroker_start(fc_simbroker_t *self, const char *bin, const char *dir, bool insecure,
                       char *msg, size_t msgsize)
{
    int ports[2];
    memset(self, 0, sizeof *self);
    if (s_free_ports(ports) != 0) {
        snprintf(msg, msgsize, "cannot find free ports: %s", strerror(errno));
        return -1;
    }
    snprintf(self->service, sizeof self->service, "tcp://127.0.0.1:%d", ports[0]);
    snprintf(self->announce, sizeof self->announce, "tcp://127.0.0.1:%d", ports[1]);
    char data[PATH_MAX], log[PATH_MAX];
    snprintf(data, sizeof data, "%s/broker", dir);
    snprintf(log, sizeof log, "%s/broker.log", dir);
    /* Secure unless asked: the keys were made and enrolled in data beforehand. */
    const char *argv[] = {
        bin,           "--data",     data,           "--service",
        self->service, "--announce", self->announce, insecure ? "--insecure" : NULL,
        NULL};
    pid_t pid = fc_sim_spawn(argv, log, msg, msgsize);
    if (pid < 0)
        return -1;
    self->pid = pid;
    for (int i = 0; i < 1000; i++) { /* 10 s */
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            self->pid = 0;
            snprintf(msg, msgsize, "the broker %s exited at start (status %d); see %s", bin,
                     WIFEXITED(status) ? WEXITSTATUS(status) : -1, log);
            return -1;
        }
        if (s_port_open(ports[0]))
            return 0;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    snprintf(msg, msgsize, "the broker did not open %s within 10 s; see %s", self->service, log);
    fc_simbroker_stop(self);
    return -1;
}

void fc_simbroker_stop(fc_simbroker_t *self)
{
    if (!self || self->pid <= 0)
        return;
    kill(self->pid, SIGTERM);
    for (int i = 0; i < 500; i++) {
        if (waitpid(self->pid, NULL, WNOHANG) == self->pid) {
            self->pid = 0;
            return;
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    kill(self->pid, SIGKILL);
    waitpid(self->pid, NULL, 0);
    self->pid = 0;
}

int fc_procstat_read(pid_t pid, fc_procstat_t *out)
{
    memset(out, 0, sizeof *out);
    char path[64], buf[4096];
    snprintf(path, sizeof path, pid ? "/proc/%d/stat" : "/proc/self/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* The command name may hold spaces: fields count from after its closing ')'. */
    char *p = strrchr(buf, ')');
    unsigned long utime = 0, stime = 0;
    if (!p ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2)
        return -1;
    out->cpu_seconds = (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
    snprintf(path, sizeof path, pid ? "/proc/%d/status" : "/proc/self/status", (int)pid);
    f = fopen(path, "r");
    if (!f)
        return -1;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        unsigned long long v;
        if (sscanf(line, "VmHWM: %llu", &v) == 1)
            out->peak_rss_kib = v;
        else if (sscanf(line, "VmRSS: %llu", &v) == 1)
            out->rss_kib = v;
        else if (sscanf(line, "Threads: %llu", &v) == 1)
            out->threads = (int)v;
    }
    fclose(f);
    return 0;
}

int fc_procstat_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    int n = 0;
    while (readdir(d))
        n++;
    closedir(d);
    return n - 3; /* ".", ".." and the directory's own fd */
}

static int s_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

void fc_rmtree(const char *path)
{
    nftw(path, s_rm, 64, FTW_DEPTH | FTW_PHYS);
}

void fc_simfs_type(const char *path, char *out, size_t size)
{
    /* The few a benchmark here meets; the rest by number (statfs(2) lists them). */
    static const struct {
        unsigned long magic;
        const char *name;
    } known[] = {{0xEF53, "ext4"},      {0x01021994, "tmpfs"},     {0x58465342, "xfs"},
                 {0x9123683E, "btrfs"}, {0x794C7630, "overlayfs"}, {0x6969, "nfs"},
                 {0x2FC12FC1, "zfs"},   {0x858458F6, "ramfs"}};
    struct statfs st;
    if (statfs(path, &st) != 0) {
        snprintf(out, size, "unknown");
        return;
    }
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if ((unsigned long)st.f_type == known[i].magic) {
            snprintf(out, size, "%s", known[i].name);
            return;
        }
    snprintf(out, size, "0x%lx", (unsigned long)st.f_type);
}
