/* fc_install_test.c: self-test of staging and installing releases (fc_stage.c,
   fc_install.c): resume, local reuse, corruption, hooks, health rollback, hook timeouts,
   serials. */
#include "fc_clock.h"
#include "fc_error.h"
#include "fc_file.h"
#include "fc_hash.h"
#include "fc_hook.h"
#include "fc_install_priv.h"
#include "fc_test_check.h"

#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void s_test_write(const char *root, const char *rel, const void *data, size_t len,
                         mode_t mode)
{
    char *path = fc_install_strf("%s/%s", root, rel);
    char *dir = strdup(path);
    *strrchr(dir, '/') = '\0';
    FC_CHECK(fc_mkdirs(dir, 0755) == 0);
    FC_CHECK(fc_write_file_atomic(path, data, len, mode) == 0);
    free(dir);
    free(path);
}

static uint8_t *s_test_random(size_t len, uint64_t seed)
{
    uint8_t *buf = malloc(len);
    FC_CHECK(buf);
    uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        buf[i] = (uint8_t)x;
    }
    return buf;
}

static fc_manifest_t *s_test_release(const char *src, const fc_signkey_t *key,
                                     const fc_trust_t *trust, const char *version, uint64_t serial,
                                     uint8_t **bytes, size_t *len)
{
    fc_manifest_t *m = fc_manifest_new();
    /* Cut in FC_CHUNK_SIZE chunks (as publishers did before issue 13, and agents still take):
       the chunk arithmetic of this test relies on it. */
    const fc_scan_opts_t fixed = {.fixed_chunks = true};
    FC_CHECK(m && fc_manifest_scan_tree(m, src, &fixed, NULL, NULL, NULL, 0) == 0);
    snprintf(m->product, sizeof m->product, "app");
    snprintf(m->channel, sizeof m->channel, "stable");
    snprintf(m->version, sizeof m->version, "%s", version);
    m->serial = serial;
    m->created = 1700000000;
    *bytes = fc_manifest_sign(m, key, len);
    FC_CHECK(*bytes);
    fc_manifest_destroy(&m);
    int err = -1;
    m = fc_manifest_parse(*bytes, *len, trust, &err);
    FC_CHECK(m && err == 0);
    return m;
}

/* Writes every missing chunk below limit from the source tree; returns the bytes written. */
static uint64_t s_test_fill(fc_stage_t *st, const char *src, uint64_t limit)
{
    uint8_t *buf = malloc(FC_CHUNK_SIZE);
    uint64_t bytes = 0;
    for (uint64_t i = 0; i < fc_stage_nchunks(st) && i < limit; i++) {
        if (fc_stage_have(st, i))
            continue;
        const fc_file_t *f = NULL;
        const fc_chunk_t *c = fc_stage_chunk(st, i, &f);
        FC_CHECK(c && f);
        char *path = fc_install_strf("%s/%s", src, f->path);
        int fd = open(path, O_RDONLY);
        FC_CHECK(fd >= 0 && fc_pread_all(fd, buf, c->length, c->offset) == 0);
        close(fd);
        free(path);
        FC_CHECK(fc_stage_write(st, i, buf, c->length) == 0 && fc_stage_have(st, i));
        bytes += c->length;
    }
    free(buf);
    return bytes;
}

/* True if dir holds exactly m's files (content by chunk hashes, and modes). */
static bool s_test_tree_matches(const char *dir, const fc_manifest_t *m)
{
    uint8_t *buf = malloc(FC_CHUNK_SIZE);
    bool ok = true;
    for (uint32_t i = 0; i < m->nfiles && ok; i++) {
        const fc_file_t *f = &m->files[i];
        char *path = fc_install_strf("%s/%s", dir, f->path);
        struct stat st;
        int fd = open(path, O_RDONLY);
        ok = fd >= 0 && fstat(fd, &st) == 0 && (uint64_t)st.st_size == f->size &&
             (st.st_mode & 0777) == f->mode;
        for (uint32_t j = 0; ok && j < f->nchunks; j++) {
            uint8_t h[FC_HASH_LEN];
            ok = fc_pread_all(fd, buf, f->chunks[j].length, f->chunks[j].offset) == 0;
            fc_hash_buf(h, buf, f->chunks[j].length);
            ok = ok && fc_hash_equal(h, f->chunks[j].hash);
        }
        if (fd >= 0)
            close(fd);
        free(path);
    }
    free(buf);
    return ok;
}

typedef struct {
    fc_stage_job_t *job;
    const void *data;
} s_test_job_t;

static void *s_test_run_job(void *arg)
{
    s_test_job_t *t = arg;
    fc_stage_job_run(t->job, t->data, t->job->length);
    return NULL;
}

static bool s_test_same_file(const char *a, const char *b)
{
    size_t alen, blen;
    uint8_t *x = fc_read_file(a, 64u << 20, &alen), *y = fc_read_file(b, 64u << 20, &blen);
    struct stat sa, sb;
    bool same = x && y && alen == blen && memcmp(x, y, alen) == 0 && stat(a, &sa) == 0 &&
                stat(b, &sb) == 0 && (sa.st_mode & 0777) == (sb.st_mode & 0777);
    free(x);
    free(y);
    return same;
}

static void s_test_current_is(const char *inst, const char *want)
{
    char *cur = fc_install_strf("%s/current", inst);
    char target[PATH_MAX];
    ssize_t n = readlink(cur, target, sizeof target - 1);
    FC_CHECK(n > 0);
    target[n] = '\0';
    FC_CHECK(strcmp(target, want) == 0);
    free(cur);
}

static bool s_test_exists(const char *root, const char *rel)
{
    char *path = fc_install_strf("%s/%s", root, rel);
    struct stat st;
    bool yes = lstat(path, &st) == 0;
    free(path);
    return yes;
}

static uint64_t s_test_count(const fc_stage_t *st)
{
    uint64_t n = 0;
    for (uint64_t i = 0; i < fc_stage_nchunks(st); i++)
        n += fc_stage_have(st, i);
    return n;
}

/* Global chunk index of chunk j of the file at path. */
static uint64_t s_test_index(const fc_stage_t *st, const char *path, uint32_t j)
{
    for (uint64_t i = 0; i < fc_stage_nchunks(st); i++) {
        const fc_file_t *f = NULL;
        const fc_chunk_t *c = fc_stage_chunk(st, i, &f);
        if (strcmp(f->path, path) == 0 && c == &f->chunks[j])
            return i;
    }
    FC_CHECK(false);
    return 0;
}

/* The pid a hook wrote into root/name. */
static pid_t s_test_pid(const char *root, const char *name)
{
    char *path = fc_install_strf("%s/%s", root, name);
    size_t len = 0;
    char *text = (char *)fc_read_file(path, 64, &len);
    FC_CHECK(text);
    pid_t pid = (pid_t)atoi(text);
    FC_CHECK(pid > 1);
    free(text);
    free(path);
    return pid;
}

/* True if pid no longer runs. A process that outlived its parent is reaped by init once it
   dies, but some inits (a sandbox's, a container's) never reap: such a zombie runs nothing,
   so it counts as gone. */
static bool s_test_gone(pid_t pid)
{
    if (kill(pid, 0) != 0)
        return errno == ESRCH;
    char *path = fc_install_strf("/proc/%d/stat", (int)pid);
    size_t len = 0;
    char *text = (char *)fc_read_file(path, 4096, &len);
    char *paren = text ? strrchr(text, ')') : NULL; /* after the command name */
    bool zombie = paren && paren[1] == ' ' && paren[2] == 'Z';
    free(text);
    free(path);
    return zombie;
}

/* An agent told to stop (SIGINT/SIGTERM) passes SIGTERM on to a running hook's process
   group: the hook ends at once, not at its limit, and its status says how. */
static void s_test_hook_interrupted(const char *root)
{
    char *cmd = fc_install_strf("echo $$ > %s/stop.pid; exec sleep 30", root);
    zsys_interrupted = 1;
    double t0 = fc_now();
    int rc = fc_hook_run_timed(cmd, NULL, NULL, 0, NULL, 0, 20);
    double took = fc_now() - t0;
    zsys_interrupted = 0;
    FC_CHECK(rc == 128 + SIGTERM && took < 5);
    free(cmd);
}

/* Hooks that hang, with a 1 s limit, on top of release 4: a changing hook is stopped and
   postpones the install (its stage kept); a health hook is stopped with the child it left in
   the background (which ignores SIGTERM: SIGKILL follows), and the install is rolled back
   and reported failed. Nothing of either hook is left running. */
static void s_test_hook_timeout(fc_install_t *in, const char *root, const char *src,
                                const char *inst, const fc_signkey_t *key, const fc_trust_t *trust,
                                const char *changed)
{
    s_test_write(src, "a.txt", "hello fleet, five\n", 18, 0600);
    uint8_t *b5;
    size_t l5;
    int err = 0;
    char msg[256] = "";
    fc_manifest_t *m5 = s_test_release(src, key, trust, "5.0", 5, &b5, &l5);
    fc_stage_t *st = fc_stage_open(in, b5, l5, m5, &err);
    FC_CHECK(st && fc_stage_reuse_local(st, NULL) == 0);
    s_test_fill(st, src, UINT64_MAX);
    FC_CHECK(fc_stage_complete(st));

    char *hang = fc_install_strf("echo $$ > %s/changing.pid; exec sleep 60", root);
    fc_hooks_t slow_changing = {hang, changed, NULL, 1};
    double t0 = fc_now();
    FC_CHECK(fc_install_commit(in, &st, &slow_changing, msg, sizeof msg) == FC_EREFUSED);
    double took = fc_now() - t0;
    FC_CHECK(strstr(msg, "changing hook refused 5.0 (timed out after 1 s): postponed"));
    /* SIGTERM ended it: no wait for a SIGKILL. */
    FC_CHECK(took >= 1 && took < FC_HOOK_KILL_AFTER);
    FC_CHECK(s_test_gone(s_test_pid(root, "changing.pid")));
    s_test_current_is(inst, "releases/2.0@4");
    FC_CHECK(fc_install_serial(in) == 4 && s_test_exists(inst, "releases/.staging-5"));
    free(hang);

    st = fc_stage_open(in, b5, l5, m5, &err);
    FC_CHECK(st && fc_stage_complete(st));
    hang = fc_install_strf("echo $$ > %s/health.pid; (trap '' TERM; exec sleep 60) & "
                           "echo $! > %s/child.pid; sleep 60",
                           root, root);
    fc_hooks_t slow_health = {NULL, changed, hang, 1};
    t0 = fc_now();
    FC_CHECK(fc_install_commit(in, &st, &slow_health, msg, sizeof msg) == FC_EUNHEALTHY);
    took = fc_now() - t0;
    FC_CHECK(strstr(msg, "health hook failed for 5.0 (timed out after 1 s): rolled back to 2.0"));
    FC_CHECK(took >= 1 && took < 1 + FC_HOOK_KILL_AFTER + 3);
    FC_CHECK(s_test_gone(s_test_pid(root, "health.pid")));
    FC_CHECK(s_test_gone(s_test_pid(root, "child.pid")));
    s_test_current_is(inst, "releases/2.0@4");
    FC_CHECK(fc_install_serial(in) == 4 && fc_install_failed(in, 5));
    FC_CHECK(!s_test_exists(inst, "releases/5.0@5"));
    free(hang);
    fc_manifest_destroy(&m5);
    free(b5);
}

/* Installs src as (version, serial) with no hooks. */
static void s_test_install(fc_install_t *in, const char *src, const fc_signkey_t *key,
                           const fc_trust_t *trust, const char *version, uint64_t serial)
{
    uint8_t *b;
    size_t l;
    int err = 0;
    char msg[256] = "";
    fc_manifest_t *m = s_test_release(src, key, trust, version, serial, &b, &l);
    fc_stage_t *st = fc_stage_open(in, b, l, m, &err);
    FC_CHECK(st && fc_stage_reuse_local(st, NULL) == 0);
    s_test_fill(st, src, UINT64_MAX);
    FC_CHECK(fc_install_commit(in, &st, NULL, msg, sizeof msg) == 0);
    FC_CHECK(fc_install_serial(in) == serial && !strcmp(fc_install_version(in), version));
    fc_manifest_destroy(&m);
    free(b);
}

/* The text of root/rel ("" if unreadable), up to 63 bytes. */
static void s_test_text(const char *root, const char *rel, char *out)
{
    char *path = fc_install_strf("%s/%s", root, rel);
    size_t len = 0;
    uint8_t *text = fc_read_file(path, 63, &len);
    memcpy(out, text ? (char *)text : "", text ? len : 0);
    out[text ? len : 0] = '\0';
    free(text);
    free(path);
}

/* The install dir and releases/ are the agent's alone: a symlink at either, a directory
   writable by group or others, or one owned by another user is refused with a message saying
   what to do, and nothing is written or removed through a planted symlink. The recursive
   removal never follows a symlink inside a tree. */
static void s_test_install_dir(const char *root, const fc_trust_t *trust)
{
    char msg[512];
    int err = 0;
    char *base = fc_install_strf("%s/dirs", root);
    char *elsewhere = fc_install_strf("%s/elsewhere", base);
    char *inst = fc_install_strf("%s/inst", base), *state = fc_install_strf("%s/state", base);
    char *rel = fc_install_strf("%s/releases", inst);
    FC_CHECK(fc_mkdirs(elsewhere, 0755) == 0 && fc_mkdirs(inst, 0755) == 0);
    s_test_write(elsewhere, "keep", "precious\n", 9, 0644);

    /* releases/ is a symlink. */
    FC_CHECK(symlink(elsewhere, rel) == 0);
    FC_CHECK(!fc_install_new(inst, state, trust, &err, msg, sizeof msg) && err == FC_EPATH);
    FC_CHECK(strstr(msg, "releases dir") && strstr(msg, "is a symlink") && strstr(msg, "remove"));
    FC_CHECK(s_test_exists(elsewhere, "keep") && !s_test_exists(elsewhere, ".staging-1"));
    FC_CHECK(unlink(rel) == 0);

    /* The install dir is a symlink (to a good directory). */
    char *link = fc_install_strf("%s/link", base);
    FC_CHECK(symlink(inst, link) == 0);
    FC_CHECK(!fc_install_new(link, state, trust, &err, msg, sizeof msg) && err == FC_EPATH);
    FC_CHECK(strstr(msg, "install dir") && strstr(msg, "is a symlink"));
    FC_CHECK(!s_test_exists(inst, "releases"));
    /* ... also given as "LINK/": a trailing slash resolves the link for open and lstat. */
    char *slash = fc_install_strf("%s//", link);
    FC_CHECK(!fc_install_new(slash, state, trust, &err, msg, sizeof msg) && err == FC_EPATH);
    FC_CHECK(strstr(msg, "install dir") && strstr(msg, "is a symlink"));
    FC_CHECK(!s_test_exists(inst, "releases"));
    free(slash);

    /* The state dir gets the same checks: a symlink (also as "LINK/"), group-writable. */
    char *slink = fc_install_strf("%s/statelink", base);
    char *sslash = fc_install_strf("%s/", slink);
    FC_CHECK(symlink(elsewhere, slink) == 0);
    FC_CHECK(!fc_install_new(inst, slink, trust, &err, msg, sizeof msg) && err == FC_EPATH);
    FC_CHECK(strstr(msg, "state dir") && strstr(msg, "is a symlink") && strstr(msg, "--state"));
    FC_CHECK(!fc_install_new(inst, sslash, trust, &err, msg, sizeof msg) && err == FC_EPATH);
    FC_CHECK(strstr(msg, "state dir") && strstr(msg, "is a symlink"));
    FC_CHECK(fc_mkdirs(state, 0700) == 0 && chmod(state, 0770) == 0);
    FC_CHECK(!fc_install_new(inst, state, trust, &err, msg, sizeof msg) && err == FC_EPATH);
    FC_CHECK(strstr(msg, "state dir") && strstr(msg, "writable by group or others (mode 0770)"));
    FC_CHECK(chmod(state, 0700) == 0);
    FC_CHECK(s_test_exists(elsewhere, "keep") && !s_test_exists(elsewhere, "failed"));
    free(sslash);
    free(slink);

    /* Group- or other-writable: the install dir, then releases/. */
    FC_CHECK(chmod(inst, 0775) == 0);
    FC_CHECK(!fc_install_new(inst, state, trust, &err, msg, sizeof msg) && err == FC_EPATH);
    FC_CHECK(strstr(msg, "writable by group or others (mode 0775)") && strstr(msg, "chmod go-w"));
    FC_CHECK(chmod(inst, 0755) == 0 && mkdir(rel, 0757) == 0 && chmod(rel, 0757) == 0);
    FC_CHECK(!fc_install_new(inst, state, trust, &err, msg, sizeof msg) && err == FC_EPATH);
    FC_CHECK(strstr(msg, "releases dir") && strstr(msg, "writable by group or others"));
    FC_CHECK(chmod(rel, 0755) == 0);

    /* Owned by another user: only root can make one. */
    if (geteuid() == 0) {
        FC_CHECK(chown(inst, 12345, (gid_t)-1) == 0);
        FC_CHECK(!fc_install_new(inst, state, trust, &err, msg, sizeof msg) && err == FC_EPATH);
        FC_CHECK(strstr(msg, "owned by uid 12345") && strstr(msg, "chown"));
        FC_CHECK(chown(inst, 0, (gid_t)-1) == 0);
    }
    fc_install_t *in = fc_install_new(inst, state, trust, &err, msg, sizeof msg);
    FC_CHECK(in && err == 0 && msg[0] == '\0');

    /* Removal by descriptor: a symlink inside the tree goes, its target stays. */
    s_test_write(rel, "old/a/b/file", "x", 1, 0644);
    char *inner = fc_install_strf("%s/old/a/out", rel);
    FC_CHECK(symlink(elsewhere, inner) == 0);
    FC_CHECK(fc_install_remove_at(in->relfd, "old") == 0 && !s_test_exists(rel, "old"));
    FC_CHECK(fc_install_remove_at(in->relfd, "old") == 0); /* already gone: like rm -rf */
    FC_CHECK(fc_install_remove_at(in->relfd, "..") == -1 && errno == EINVAL);
    FC_CHECK(fc_install_remove_at(in->relfd, "a/b") == -1 && errno == EINVAL);
    /* A symlink at the top goes itself. */
    char *top = fc_install_strf("%s/top", rel);
    FC_CHECK(symlink(elsewhere, top) == 0);
    FC_CHECK(fc_install_remove_at(in->relfd, "top") == 0 && !s_test_exists(rel, "top"));
    FC_CHECK(s_test_exists(elsewhere, "keep"));
    fc_install_destroy(&in);

    uint64_t serial = 0;
    FC_CHECK(fc_install_is_staging(".staging-12", &serial) && serial == 12);
    FC_CHECK(!fc_install_is_staging(".staging-", NULL) &&
             !fc_install_is_staging(".staging-3@3", NULL));
    FC_CHECK(!fc_install_is_staging(".staging-1x", NULL) && !fc_install_is_staging("1.0@1", NULL));
    free(top);
    free(inner);
    free(link);
    free(rel);
    free(inst);
    free(state);
    free(elsewhere);
    free(base);
}

/* Release directory names cannot collide, and the installed one survives a restart: "2.0+2"
   (serial 1) then "2.0" (serial 2) stays on serial 2's tree (a restart once guessed
   "<version>+<serial>" = "2.0+2"), a version named like its own staging dir (".staging-3",
   serial 3) installs, and a tree named by an earlier agent is found once and recorded. */
static void s_test_names(const char *root, const fc_signkey_t *key, const fc_trust_t *trust)
{
    char *src = fc_install_strf("%s/nsrc", root), *inst = fc_install_strf("%s/ninst", root);
    char *state = fc_install_strf("%s/nstate", root);
    char text[64];
    int err = 0;
    fc_install_t *in = fc_install_new(inst, state, trust, &err, NULL, 0);
    FC_CHECK(in);
    s_test_write(src, "app", "first\n", 6, 0644);
    s_test_install(in, src, key, trust, "2.0+2", 1);
    s_test_write(src, "app", "second\n", 7, 0644);
    s_test_install(in, src, key, trust, "2.0", 2);
    fc_install_destroy(&in);
    in = fc_install_new(inst, state, trust, &err, NULL, 0);
    FC_CHECK(in && fc_install_serial(in) == 2 && !strcmp(fc_install_version(in), "2.0"));
    s_test_text(inst, "current/app", text);
    FC_CHECK(!strcmp(text, "second\n"));
    s_test_current_is(inst, "releases/2.0@2");
    s_test_text(state, "installed.release", text);
    FC_CHECK(!strcmp(text, "2 2.0@2\n"));

    s_test_write(src, "app", "third\n", 6, 0644);
    s_test_install(in, src, key, trust, ".staging-3", 3);
    s_test_text(inst, "current/app", text);
    FC_CHECK(!strcmp(text, "third\n"));
    s_test_current_is(inst, "releases/.staging-3@3");
    fc_install_destroy(&in);
    in = fc_install_new(inst, state, trust, &err, NULL, 0);
    FC_CHECK(in && fc_install_serial(in) == 3);
    s_test_current_is(inst, "releases/.staging-3@3");
    s_test_write(src, "app", "fourth\n", 7, 0644);
    s_test_install(in, src, key, trust, "4.0", 4);
    FC_CHECK(s_test_exists(inst, "releases/.staging-3@3") &&
             !s_test_exists(inst, "releases/2.0@2"));
    s_test_install(in, src, key, trust, "5.0", 5);
    FC_CHECK(!s_test_exists(inst, "releases/.staging-3@3") &&
             s_test_exists(inst, "releases/4.0@4"));
    fc_install_destroy(&in);

    /* An earlier agent's layout: 5.0 in releases/5.0, nothing recorded. Found through
       current, recorded, and the next install keeps it as the previous tree. */
    char *from = fc_install_strf("%s/releases/5.0@5", inst),
         *to = fc_install_strf("%s/releases/5.0", inst);
    char *cur = fc_install_strf("%s/current", inst),
         *rec = fc_install_strf("%s/installed.release", state);
    FC_CHECK(rename(from, to) == 0 && unlink(cur) == 0 && symlink("releases/5.0", cur) == 0);
    FC_CHECK(unlink(rec) == 0);
    in = fc_install_new(inst, state, trust, &err, NULL, 0);
    FC_CHECK(in && fc_install_serial(in) == 5);
    s_test_current_is(inst, "releases/5.0");
    s_test_text(state, "installed.release", text);
    FC_CHECK(!strcmp(text, "5 5.0\n"));
    s_test_write(src, "app", "sixth\n", 6, 0644);
    s_test_install(in, src, key, trust, "6.0", 6);
    FC_CHECK(s_test_exists(inst, "releases/5.0") && s_test_exists(inst, "releases/6.0@6"));
    s_test_text(inst, "current/app", text);
    FC_CHECK(!strcmp(text, "sixth\n"));
    fc_install_destroy(&in);
    free(from);
    free(to);
    free(cur);
    free(rec);
    free(src);
    free(inst);
    free(state);
}

void fc_install_test(bool verbose)
{
    if (verbose)
        printf(" * fc_install: ");
    FC_CHECK(fc_crypto_init() == 0);
    char root[] = "/tmp/fc_install_test.XXXXXX";
    FC_CHECK(mkdtemp(root));
    char *src = fc_install_strf("%s/src", root), *inst = fc_install_strf("%s/inst", root);
    char *state = fc_install_strf("%s/state", root), *log = fc_install_strf("%s/hook.log", root);
    fc_signkey_t key;
    fc_signkey_generate(&key);
    fc_trust_t *trust = fc_trust_new();
    fc_trust_add(trust, key.pk);
    const uint32_t C = FC_CHUNK_SIZE;

    /* Release 1: unique chunks, a duplicated file, an empty file, 80 small files (more than
       the stage keeps open). */
    uint8_t *app = s_test_random(3 * C + 1000, 1), *data = s_test_random(2 * C, 2);
    s_test_write(src, "a.txt", "hello fleet\n", 12, 0644);
    s_test_write(src, "bin/app", app, 3 * C + 1000, 0755);
    s_test_write(src, "lib/data.bin", data, 2 * C, 0640);
    s_test_write(src, "lib/dup.bin", data, 2 * C, 0600);
    s_test_write(src, "empty", "", 0, 0644);
    for (int i = 0; i < 80; i++) {
        char name[32], text[32];
        snprintf(name, sizeof name, "many/f%03d", i);
        snprintf(text, sizeof text, "file %d\n", i);
        s_test_write(src, name, text, strlen(text), 0644);
    }
    uint8_t *b1;
    size_t l1;
    fc_manifest_t *m1 = s_test_release(src, &key, trust, "1.0", 1, &b1, &l1);

    int err = -1;
    fc_install_t *in = fc_install_new(inst, state, trust, &err, NULL, 0);
    FC_CHECK(in && err == 0);
    FC_CHECK(fc_install_serial(in) == 0 && strcmp(fc_install_version(in), "") == 0);
    FC_CHECK(fc_install_manifest(in) == NULL && !fc_install_failed(in, 1));
    FC_CHECK(fc_install_check(in, m1) == 0);

    fc_stage_t *st = fc_stage_open(in, b1, l1, m1, &err);
    FC_CHECK(st && err == 0);
    uint64_t n1 = fc_stage_nchunks(st);
    FC_CHECK(n1 == 1 + 4 + 2 + 2 + 80);
    FC_CHECK(fc_stage_bytes_total(st) == fc_manifest_total_size(m1));
    FC_CHECK(fc_stage_bytes_have(st) == 0 && !fc_stage_complete(st));
    FC_CHECK(fc_stage_chunk(st, n1, NULL) == NULL);
    uint64_t reused = 0;
    FC_CHECK(fc_stage_reuse_local(st, &reused) == 0 && reused == 0);

    /* Wrong content, wrong length, wrong index: refused, nothing marked. */
    uint64_t app1 = s_test_index(st, "bin/app", 1);
    uint8_t *junk = s_test_random(C, 99);
    FC_CHECK(fc_stage_write(st, app1, junk, C) == FC_EHASH);
    FC_CHECK(fc_stage_write(st, app1, app + C, C - 1) == FC_EHASH);
    FC_CHECK(fc_stage_write(st, n1, app + C, C) == FC_EINVAL);
    FC_CHECK(!fc_stage_have(st, app1) && fc_stage_bytes_have(st) == 0);
    /* A chunk of lib/data.bin also fills the same chunk of lib/dup.bin. */
    uint64_t data0 = s_test_index(st, "lib/data.bin", 0);
    FC_CHECK(fc_stage_write(st, data0, data, C) == 0);
    FC_CHECK(fc_stage_have(st, s_test_index(st, "lib/dup.bin", 0)));
    FC_CHECK(fc_stage_bytes_have(st) == 2ull * C && s_test_count(st) == 2);
    FC_CHECK(fc_stage_write(st, data0, data, C) == 0); /* a duplicate reply is harmless */

    /* A chunk checked and written off the stage's thread (the fetcher's workers): bad data
       is refused and closes the job's fd; good data counts only once done journals it. */
    fc_stage_job_t job;
    FC_CHECK(fc_stage_job_prepare(st, n1, &job) == FC_EINVAL);
    FC_CHECK(fc_stage_job_prepare(st, app1, &job) == 0 && job.fd >= 0 && job.length == C);
    /* Writeback is started once per FC_STAGE_WRITEBACK bytes of a file, not per chunk. */
    FC_CHECK(C < FC_STAGE_WRITEBACK && !job.writeback);
    FC_CHECK(fc_stage_job_run(&job, junk, C) == FC_EHASH && job.fd == -1);
    FC_CHECK(fc_stage_job_done(st, &job, junk) == FC_EINVAL && !fc_stage_have(st, app1));
    FC_CHECK(fc_stage_job_prepare(st, app1, &job) == 0);
    pthread_t worker;
    s_test_job_t run = {&job, app + C};
    FC_CHECK(pthread_create(&worker, NULL, s_test_run_job, &run) == 0);
    FC_CHECK(pthread_join(worker, NULL) == 0);
    FC_CHECK(job.rc == 0 && job.fd == -1 && !fc_stage_have(st, app1));
    FC_CHECK(fc_stage_job_done(st, &job, app + C) == 0 && fc_stage_have(st, app1));
    FC_CHECK(fc_stage_bytes_have(st) == 3ull * C && s_test_count(st) == 3);
    FC_CHECK(fc_stage_job_done(st, &job, app + C) == 0 && s_test_count(st) == 3);
    /* A run: bin/app's last two chunks in one job (one GET_CHUNK reply). Only the next chunk
       of the same file joins it. A bad second chunk fails the whole run, names it and
       journals nothing; a good run journals both. */
    uint64_t app2 = s_test_index(st, "bin/app", 2);
    FC_CHECK(fc_stage_job_prepare(st, app2, &job) == 0 && job.count == 1);
    FC_CHECK(!fc_stage_job_add(st, &job, app2 + 2) && !fc_stage_job_add(st, &job, app2));
    FC_CHECK(fc_stage_job_add(st, &job, app2 + 1) && job.count == 2 && job.length == C + 1000);
    FC_CHECK(!fc_stage_job_add(st, &job, app2 + 2)); /* lib/data.bin's first chunk */
    uint8_t *two = malloc(C + 1000);
    FC_CHECK(two);
    memcpy(two, app + 2 * C, C + 1000);
    two[C + 10] ^= 1;
    FC_CHECK(fc_stage_job_run(&job, two, C + 1000) == FC_EHASH && job.bad == 1 && job.fd == -1);
    FC_CHECK(fc_stage_job_done(st, &job, two) == FC_EINVAL);
    FC_CHECK(!fc_stage_have(st, app2) && !fc_stage_have(st, app2 + 1) && s_test_count(st) == 3);
    two[C + 10] ^= 1;
    FC_CHECK(fc_stage_job_prepare(st, app2, &job) == 0 && fc_stage_job_add(st, &job, app2 + 1));
    FC_CHECK(fc_stage_job_run(&job, two, C) == FC_EHASH); /* short: not the run's length */
    FC_CHECK(fc_stage_job_prepare(st, app2, &job) == 0 && fc_stage_job_add(st, &job, app2 + 1));
    FC_CHECK(fc_stage_job_run(&job, two, C + 1000) == 0 && job.fd == -1);
    FC_CHECK(fc_stage_job_done(st, &job, two) == 0 && s_test_count(st) == 5);
    FC_CHECK(fc_stage_have(st, app2) && fc_stage_have(st, app2 + 1));
    FC_CHECK(fc_stage_bytes_have(st) == 4ull * C + 1000);
    free(two);

    /* Half-way, closed and reopened: resumes with what it had. */
    s_test_fill(st, src, n1 / 2);
    uint64_t half = s_test_count(st), half_bytes = fc_stage_bytes_have(st);
    FC_CHECK(half >= n1 / 2 && half < n1 && fc_stage_have(st, app1));
    fc_stage_destroy(&st);
    FC_CHECK(st == NULL);
    st = fc_stage_open(in, b1, l1, m1, &err);
    FC_CHECK(st && s_test_count(st) == half && fc_stage_bytes_have(st) == half_bytes);
    fc_stage_destroy(&st);

    /* A journaled chunk damaged on disk is fetched again. */
    char *staged_app = fc_install_strf("%s/releases/.staging-1/bin/app", inst);
    int fd = open(staged_app, O_WRONLY);
    FC_CHECK(fd >= 0 && pwrite(fd, "X", 1, C + 10) == 1);
    close(fd);
    st = fc_stage_open(in, b1, l1, m1, &err);
    FC_CHECK(st && !fc_stage_have(st, app1) && s_test_count(st) == half - 1);
    FC_CHECK(fc_stage_bytes_have(st) == half_bytes - C);
    fc_stage_destroy(&st);

    /* A symlink planted in the staging tree is refused, not followed. */
    char *many = fc_install_strf("%s/releases/.staging-1/many", inst);
    char *outside = fc_install_strf("%s/outside", root);
    FC_CHECK(mkdir(outside, 0755) == 0);
    FC_CHECK(fc_remove_tree(many) == 0 && symlink(outside, many) == 0);
    st = fc_stage_open(in, b1, l1, m1, &err);
    FC_CHECK(st == NULL && err == FC_EPATH);
    FC_CHECK(!s_test_exists(outside, "f000"));
    FC_CHECK(unlink(many) == 0);

    /* Complete it and install. */
    st = fc_stage_open(in, b1, l1, m1, &err);
    FC_CHECK(st && s_test_count(st) < half); /* the many/ chunks were forgotten */
    s_test_fill(st, src, UINT64_MAX);
    FC_CHECK(fc_stage_complete(st) && fc_stage_bytes_have(st) == fc_stage_bytes_total(st));
    char *changing =
        fc_install_strf("test \"$FLEETCAST_VERSION\" = 1.0 && test \"$(pwd -P)\" = "
                        "\"$FLEETCAST_INSTALL_DIR\" && test -f \"$FLEETCAST_RELEASE_DIR/a.txt\"");
    char *changed = fc_install_strf("echo \"$FLEETCAST_VERSION<$FLEETCAST_PREVIOUS_VERSION "
                                    "$FLEETCAST_CHANNEL $FLEETCAST_SERIAL\" >> %s",
                                    log);
    fc_hooks_t hooks = {changing, changed, "test -f \"$FLEETCAST_RELEASE_DIR/bin/app\"", 0};
    char msg[256] = "";
    FC_CHECK(fc_install_commit(in, &st, &hooks, msg, sizeof msg) == 0);
    FC_CHECK(st == NULL && strstr(msg, "1.0"));
    s_test_current_is(inst, "releases/1.0@1");
    FC_CHECK(fc_install_serial(in) == 1 && strcmp(fc_install_version(in), "1.0") == 0);
    FC_CHECK(fc_install_manifest(in) && fc_install_manifest(in)->nfiles == m1->nfiles);
    for (uint32_t i = 0; i < m1->nfiles; i++) {
        char *a = fc_install_strf("%s/%s", src, m1->files[i].path);
        char *b = fc_install_strf("%s/current/%s", inst, m1->files[i].path);
        FC_CHECK(s_test_same_file(a, b));
        free(a);
        free(b);
    }
    FC_CHECK(s_test_exists(state, "installed.manifest") &&
             !s_test_exists(state, "previous.manifest"));
    FC_CHECK(!s_test_exists(state, "download-1.manifest") &&
             !s_test_exists(state, "download-1.journal"));
    FC_CHECK(!s_test_exists(inst, "releases/.staging-1"));
    FC_CHECK(!s_test_exists(state, "installed.manifest.next"));
    size_t loglen;
    char *text = (char *)fc_read_file(log, 4096, &loglen);
    FC_CHECK(text && strcmp(text, "1.0< stable 1\n") == 0);
    free(text);

    /* Release 2 changes one chunk of bin/app; a.txt was edited locally in the installed tree,
       so its chunk cannot be reused either. */
    app[C + 100] ^= 0xff;
    s_test_write(src, "bin/app", app, 3 * C + 1000, 0755);
    s_test_write(inst, "current/a.txt", "edited here\n", 12, 0644);
    uint8_t *b2;
    size_t l2;
    fc_manifest_t *m2 = s_test_release(src, &key, trust, "2.0", 2, &b2, &l2);
    FC_CHECK(fc_install_check(in, m2) == 0);
    st = fc_stage_open(in, b2, l2, m2, &err);
    FC_CHECK(st && s_test_count(st) == 0);
    reused = 0;
    FC_CHECK(fc_stage_reuse_local(st, &reused) == 0);
    FC_CHECK(reused == fc_stage_bytes_total(st) - C - 12);
    FC_CHECK(fc_stage_bytes_have(st) == reused && s_test_count(st) == fc_stage_nchunks(st) - 2);
    FC_CHECK(!fc_stage_have(st, app1) && !fc_stage_have(st, s_test_index(st, "a.txt", 0)));
    FC_CHECK(s_test_fill(st, src, UINT64_MAX) == C + 12 && fc_stage_complete(st));
    s_test_write(inst, "current/a.txt", "hello fleet\n", 12, 0644);

    /* The changing hook refuses (or cannot run): postponed, nothing swapped, stage kept. */
    fc_hooks_t norun = {"/nonexistent/fleetcast-hook", changed, NULL, 0};
    FC_CHECK(fc_install_commit(in, &st, &norun, msg, sizeof msg) == FC_EREFUSED && st == NULL);
    st = fc_stage_open(in, b2, l2, m2, &err);
    FC_CHECK(st && fc_stage_complete(st));
    fc_hooks_t refuse = {"exit 1", changed, NULL, 0};
    FC_CHECK(fc_install_commit(in, &st, &refuse, msg, sizeof msg) == FC_EREFUSED && st == NULL);
    s_test_current_is(inst, "releases/1.0@1");
    FC_CHECK(fc_install_serial(in) == 1 && s_test_exists(inst, "releases/.staging-2"));

    /* The health check fails: swapped back, the serial is remembered as failed, the app is
       restarted on the old release. */
    st = fc_stage_open(in, b2, l2, m2, &err);
    FC_CHECK(st && fc_stage_complete(st));
    fc_hooks_t sick = {NULL, changed, "exit 1", 0};
    FC_CHECK(fc_install_commit(in, &st, &sick, msg, sizeof msg) == FC_EUNHEALTHY && st == NULL);
    s_test_current_is(inst, "releases/1.0@1");
    FC_CHECK(fc_install_serial(in) == 1 && strcmp(fc_install_version(in), "1.0") == 0);
    FC_CHECK(fc_install_failed(in, 2) && !fc_install_failed(in, 1));
    FC_CHECK(!s_test_exists(inst, "releases/2.0@2") && !s_test_exists(state, "download-2.journal"));
    char *current = fc_install_strf("%s/current", inst);
    FC_CHECK(s_test_tree_matches(current, m1));
    text = (char *)fc_read_file(log, 4096, &loglen);
    FC_CHECK(text && strcmp(text, "1.0< stable 1\n2.0<1.0 stable 2\n1.0<2.0 stable 1\n") == 0);
    free(text);
    fc_install_t *again = fc_install_new(inst, state, trust, &err, NULL, 0);
    FC_CHECK(again && fc_install_failed(again, 2) && fc_install_serial(again) == 1);
    fc_install_destroy(&again);
    FC_CHECK(again == NULL);

    /* Release 3 (same content as 2) installs; release 1 becomes the previous. */
    uint8_t *b3;
    size_t l3;
    fc_manifest_t *m3 = s_test_release(src, &key, trust, "2.0", 3, &b3, &l3);
    st = fc_stage_open(in, b3, l3, m3, &err);
    reused = 0;
    FC_CHECK(st && fc_stage_reuse_local(st, &reused) == 0);
    FC_CHECK(reused == fc_stage_bytes_total(st) - C);
    FC_CHECK(s_test_fill(st, src, UINT64_MAX) == C);
    fc_hooks_t healthy = {NULL, NULL, "true", 0};
    FC_CHECK(fc_install_commit(in, &st, &healthy, msg, sizeof msg) == 0);
    s_test_current_is(inst, "releases/2.0@3");
    FC_CHECK(fc_install_serial(in) == 3 && s_test_tree_matches(current, m3));
    FC_CHECK(s_test_exists(inst, "releases/1.0@1") && s_test_exists(state, "previous.manifest"));
    char *ppath = fc_install_strf("%s/previous.manifest", state);
    char *ipath = fc_install_strf("%s/installed.manifest", state);
    size_t plen, ilen;
    uint8_t *pbytes = fc_read_file(ppath, FC_MAX_MANIFEST, &plen);
    uint8_t *ibytes = fc_read_file(ipath, FC_MAX_MANIFEST, &ilen);
    FC_CHECK(pbytes && plen == l1 && memcmp(pbytes, b1, l1) == 0);
    FC_CHECK(ibytes && ilen == l3 && memcmp(ibytes, b3, l3) == 0);
    free(pbytes);
    free(ibytes);
    /* A rollback to 1.0 (its content under a new serial) finds every chunk in the previous
       release's tree, kept beside the installed one: nothing to fetch. */
    fc_manifest_t *mr = fc_manifest_parse(b1, l1, trust, &err);
    FC_CHECK(mr);
    mr->serial = 99;
    size_t lr = 0;
    uint8_t *br = fc_manifest_sign(mr, &key, &lr);
    FC_CHECK(br);
    st = fc_stage_open(in, br, lr, mr, &err);
    reused = 0;
    FC_CHECK(st && fc_stage_reuse_local(st, &reused) == 0);
    FC_CHECK(reused == fc_stage_bytes_total(st) && fc_stage_complete(st));
    fc_stage_destroy(&st);
    char *rstage = fc_install_strf("%s/releases/.staging-99", inst);
    char *rjournal = fc_install_strf("%s/download-99.journal", state);
    FC_CHECK(fc_remove_tree(rstage) == 0);
    unlink(rjournal);
    free(rstage);
    free(rjournal);
    free(br);
    fc_manifest_destroy(&mr);
    /* Older and equal serials are refused, by check and by commit. */
    FC_CHECK(fc_install_check(in, m2) == FC_ESERIAL && fc_install_check(in, m3) == FC_ESERIAL);
    st = fc_stage_open(in, b2, l2, m2, &err);
    FC_CHECK(st && fc_install_commit(in, &st, NULL, msg, sizeof msg) == FC_ESERIAL && !st);
    FC_CHECK(fc_install_serial(in) == 3);

    /* Release 4 re-releases version 2.0: it goes beside the live 2.0, and 1.0 is dropped. */
    s_test_write(src, "a.txt", "hello fleet, again\n", 19, 0600);
    uint8_t *b4;
    size_t l4;
    fc_manifest_t *m4 = s_test_release(src, &key, trust, "2.0", 4, &b4, &l4);
    st = fc_stage_open(in, b4, l4, m4, &err);
    FC_CHECK(st && fc_stage_reuse_local(st, NULL) == 0);
    FC_CHECK(s_test_fill(st, src, UINT64_MAX) == 19);
    /* A chunk damaged after it was verified is caught by the commit and fetched again. */
    uint64_t f0 = s_test_index(st, "many/f000", 0);
    fc_stage_destroy(&st);
    char *staged_f0 = fc_install_strf("%s/releases/.staging-4/many/f000", inst);
    s_test_write(inst, "releases/.staging-4/many/f000", "file X\n", 7, 0600);
    st = fc_stage_open(in, b4, l4, m4, &err);
    FC_CHECK(st && !fc_stage_have(st, f0));
    FC_CHECK(s_test_fill(st, src, UINT64_MAX) == 7 && fc_stage_complete(st));
    /* The commit does not read chunks back (each was hashed when written, or when its stage
       was re-opened), but a staged file cut short since is caught and fetched again. */
    FC_CHECK(truncate(staged_f0, 5) == 0);
    FC_CHECK(fc_install_commit(in, &st, NULL, msg, sizeof msg) == FC_EHASH && st == NULL);
    s_test_current_is(inst, "releases/2.0@3");
    st = fc_stage_open(in, b4, l4, m4, &err);
    FC_CHECK(st && !fc_stage_have(st, f0) && s_test_count(st) == fc_stage_nchunks(st) - 1);
    FC_CHECK(s_test_fill(st, src, UINT64_MAX) == 7);
    FC_CHECK(fc_install_commit(in, &st, NULL, msg, sizeof msg) == 0);
    s_test_current_is(inst, "releases/2.0@4");
    FC_CHECK(s_test_tree_matches(current, m4) && s_test_exists(inst, "releases/2.0@3"));
    FC_CHECK(!s_test_exists(inst, "releases/1.0@1") && !s_test_exists(inst, "releases/.staging-2"));
    FC_CHECK(!s_test_exists(state, "download-2.manifest"));

    /* A crash after a swap but before the state commit: the next start points current back
       at the installed release. */
    char *cur_tmp = fc_install_strf("%s/current.tmp", inst);
    FC_CHECK(symlink("releases/2.0@3", cur_tmp) == 0 && rename(cur_tmp, current) == 0);
    free(cur_tmp);
    again = fc_install_new(inst, state, trust, &err, NULL, 0);
    FC_CHECK(again && fc_install_serial(again) == 4);
    s_test_current_is(inst, "releases/2.0@4");
    fc_install_destroy(&again);
    /* A signer no longer trusted: nothing counts as installed, and the tree is left alone. */
    fc_trust_t *empty = fc_trust_new();
    again = fc_install_new(inst, state, empty, &err, NULL, 0);
    FC_CHECK(again && fc_install_serial(again) == 0 && fc_install_manifest(again) == NULL);
    s_test_current_is(inst, "releases/2.0@4");
    fc_install_destroy(&again);
    fc_trust_destroy(&empty);
    s_test_hook_timeout(in, root, src, inst, &key, trust, changed);
    s_test_hook_interrupted(root);
    s_test_install_dir(root, trust);
    s_test_names(root, &key, trust);

    fc_install_destroy(&in);
    fc_install_destroy(&in);
    fc_stage_destroy(&st);
    fc_manifest_destroy(&m1);
    fc_manifest_destroy(&m2);
    fc_manifest_destroy(&m3);
    fc_manifest_destroy(&m4);
    free(b1);
    free(b2);
    free(b3);
    free(b4);
    free(app);
    free(data);
    free(junk);
    free(staged_app);
    free(staged_f0);
    free(many);
    free(outside);
    free(changing);
    free(changed);
    free(current);
    free(ppath);
    free(ipath);
    fc_trust_destroy(&trust);
    fc_signkey_wipe(&key);
    FC_CHECK(fc_remove_tree(root) == 0);
    free(src);
    free(inst);
    free(state);
    free(log);
    if (verbose)
        printf("OK\n");
}
