/* fc_install.c: the agent's install tree: its directories, the installed release and its
   state files, the `current` link. It calls neither the stage (fc_stage.c) nor the commit
   (fc_install_commit.c): both build on it. */
#define _GNU_SOURCE /* vasprintf */
#include "fc_error.h"
#include "fc_file.h"
#include "fc_hash.h"
#include "fc_install_priv.h"
#include "fc_text.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The failed-serials list keeps only the most recent entries. */
#define S_MAX_FAILED 1024

char *fc_install_strf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *out = NULL;
    if (vasprintf(&out, fmt, ap) < 0)
        out = NULL;
    va_end(ap);
    return out;
}

/* Opens directory name below at when its mode denies this process reading it (a release
   directory of mode 0000 or 0300, removed by a non-root agent): pinned with O_PATH, never
   following a link, it is given owner rwx through its /proc/self/fd entry (the inode
   pinned, not a name a local writer could swap) and opened again. An fd or -1 with errno. */
static int s_open_unreadable_dir(int at, const char *name)
{
    int pfd = openat(at, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (pfd < 0)
        return -1;
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", pfd);
    struct stat st;
    int fd = -1;
    if (fstat(pfd, &st) == 0 && chmod(proc, (st.st_mode & 07777) | 0700) == 0)
        fd = open(proc, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int err = errno;
    close(pfd);
    errno = err;
    return fd;
}

/* A release tree may be as deep as a path is long: deeper is not ours to remove. */
#define S_MAX_DEPTH (FC_MAX_PATH / 2 + 2)

static int s_remove_at(int at, const char *name, int depth)
{
    struct stat st;
    if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(st.st_mode))
        return unlinkat(at, name, 0) == 0 || errno == ENOENT ? 0 : -1;
    if (depth > S_MAX_DEPTH) {
        errno = ELOOP;
        return -1;
    }
    int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == EACCES)
        fd = s_open_unreadable_dir(at, name);
    /* A release may hold directories its owner cannot write (mode 0555): a non-root agent
       gives itself the owner bits on the directory it is about to empty. */
    if (fd >= 0 && (st.st_mode & 0700) != 0700)
        (void)fchmod(fd, (st.st_mode & 07777) | 0700);
    if (fd < 0) {
        /* Swapped for a symlink or a file since the fstatat: that entry goes, not its
           target. */
        if (errno == ELOOP || errno == ENOTDIR)
            return unlinkat(at, name, 0) == 0 || errno == ENOENT ? 0 : -1;
        return errno == ENOENT ? 0 : -1;
    }
    DIR *d = fdopendir(fd);
    if (!d) {
        int err = errno;
        close(fd);
        errno = err;
        return -1;
    }
    /* Entries go while the directory is read, which may hide others from this pass: read it
       again until a pass finds nothing. */
    int rc = 0;
    for (bool found = true; rc == 0 && found;) {
        found = false;
        rewinddir(d);
        struct dirent *e;
        while (rc == 0 && (e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            found = true;
            rc = s_remove_at(fd, e->d_name, depth + 1);
        }
    }
    int err = errno;
    closedir(d);
    if (rc == 0 && unlinkat(at, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
        return -1;
    errno = err;
    return rc;
}

int fc_install_remove_at(int at, const char *name)
{
    if (at < 0 || !name || !*name || strchr(name, '/') || !strcmp(name, ".") ||
        !strcmp(name, "..")) {
        errno = EINVAL;
        return -1;
    }
    return s_remove_at(at, name, 0);
}

char *fc_install_release_name(const fc_manifest_t *m)
{
    return fc_install_strf("%s@%" PRIu64, m->version, m->serial);
}

bool fc_install_is_staging(const char *name, uint64_t *serial)
{
    if (strncmp(name, ".staging-", 9) != 0 || !name[9] ||
        strspn(name + 9, "0123456789") != strlen(name + 9))
        return false;
    errno = 0;
    unsigned long long v = strtoull(name + 9, NULL, 10);
    if (errno)
        return false;
    if (serial)
        *serial = v;
    return true;
}

/* ---------------------------------------------------------------------------------------- */
/* The install */

/* The target of <install>/current ("releases/NAME"), or "" if missing; 0 or -1. */
int fc_install_read_current(const fc_install_t *self, char *out, size_t size)
{
    ssize_t n = readlinkat(self->dirfd, "current", out, size - 1);
    if (n < 0) {
        out[0] = '\0';
        return errno == ENOENT ? 0 : -1;
    }
    if ((size_t)n >= size - 1)
        return -1;
    out[n] = '\0';
    return 0;
}

/* The release directory name inside a target "releases/NAME", or NULL. */
const char *fc_install_target_name(const char *target)
{
    if (strncmp(target, "releases/", 9) != 0 || !target[9] || strchr(target + 9, '/'))
        return NULL;
    return target + 9;
}

/* Points <install>/current at target atomically (symlink beside it, rename over it, fsync
   the directory), or removes it if target is "". Returns fc_error_t. */
int fc_install_point_current(const fc_install_t *self, const char *target)
{
    char tmp[48];
    snprintf(tmp, sizeof tmp, "current.tmp-%ld", (long)getpid());
    int rc = 0;
    if (!*target) {
        if (unlinkat(self->dirfd, "current", 0) != 0 && errno != ENOENT)
            rc = fc_errno_to_error(errno);
    } else {
        unlinkat(self->dirfd, tmp, 0);
        if (symlinkat(target, self->dirfd, tmp) != 0 ||
            renameat(self->dirfd, tmp, self->dirfd, "current") != 0) {
            rc = fc_errno_to_error(errno);
            unlinkat(self->dirfd, tmp, 0);
        }
    }
    if (rc == 0 && fsync(self->dirfd) != 0)
        rc = fc_errno_to_error(errno);
    return rc;
}

/* True if releases/name is a directory (not a symlink to one). */
static bool s_is_release(const fc_install_t *self, const char *name)
{
    struct stat st;
    return name && *name && !strchr(name, '/') && strcmp(name, ".") && strcmp(name, "..") &&
           !fc_install_is_staging(name, NULL) &&
           fstatat(self->relfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

/* Records name as the installed tree of serial in the state dir (path is where: the file
   itself, or a .next beside it). 0 or fc_error_t. */
int fc_install_save_name(const fc_install_t *self, const char *path, uint64_t serial,
                         const char *name)
{
    char *text = fc_install_strf("%" PRIu64 " %s\n", serial, name);
    int rc = text ? 0 : FC_ENOMEM;
    if (rc == 0 && fc_write_file_atomic(path, text, strlen(text), 0600) != 0)
        rc = fc_errno_to_error(errno);
    free(text);
    return rc;
}

/* Which tree under releases/ holds the installed release: the one recorded for its serial;
   else "<version>@<serial>"; else, for a tree installed by an earlier agent (which named
   trees "<version>", or "<version>+<serial>" beside a live tree of that version), the one
   `current` names if it is one of those, else "<version>+<serial>", else "<version>". The
   guess is made once: what it finds is recorded. */
static void s_load_name(fc_install_t *self)
{
    if (!self->installed)
        return;
    const fc_manifest_t *m = self->installed;
    char *path = fc_install_strf("%s/installed.release", self->state);
    char *text = path ? (char *)fc_read_file(path, 256, NULL) : NULL;
    char *sp = text ? strchr(text, ' ') : NULL;
    char *nl = sp ? strchr(sp, '\n') : NULL;
    if (sp && nl && !nl[1]) {
        *sp = *nl = '\0';
        char *end;
        errno = 0;
        unsigned long long serial = strtoull(text, &end, 10);
        /* Another serial's record: a crash between its rename and the manifest's. */
        if (!errno && !*end && serial == m->serial && s_is_release(self, sp + 1))
            self->name = strdup(sp + 1);
    }
    free(text);
    if (!self->name) {
        char *made = fc_install_release_name(m);
        if (made && s_is_release(self, made))
            self->name = made;
        else
            free(made);
    }
    if (!self->name) {
        char target[PATH_MAX];
        char *plus = fc_install_strf("%s+%" PRIu64, m->version, m->serial);
        const char *cur = fc_install_read_current(self, target, sizeof target) == 0
                              ? fc_install_target_name(target)
                              : NULL;
        const char *found = NULL;
        if (plus && cur && (!strcmp(cur, plus) || !strcmp(cur, m->version)) &&
            s_is_release(self, cur))
            found = cur;
        else if (plus && s_is_release(self, plus))
            found = plus;
        else if (s_is_release(self, m->version))
            found = m->version;
        if (found && (self->name = strdup(found)) && path)
            fc_install_save_name(self, path, m->serial, self->name);
        free(plus);
    }
    free(path);
}

/* After a crash between the swap and the state commit, `current` names a release the state
   does not: point it back at the installed release, whose health was checked. */
static void s_recover_current(fc_install_t *self)
{
    if (!self->name)
        return;
    char target[PATH_MAX];
    if (fc_install_read_current(self, target, sizeof target) != 0)
        return;
    const char *cur = fc_install_target_name(target);
    if (!cur || strcmp(cur, self->name) != 0) {
        char *want = fc_install_strf("releases/%s", self->name);
        if (want)
            fc_install_point_current(self, want);
        free(want);
    }
}

/* Opens name below at as a directory this agent alone may change: not a symlink, owned by
   root or our euid, not writable by group or others. path names it in msg. Returns the fd, or
   -1 with *err and msg saying what to do. */
static int s_open_own_dir(int at, const char *name, const char *path, const char *what,
                          const char *opt, int *err, char *msg, size_t msgsize)
{
    int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0) {
        bool link = fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
        *err = link || errno == ELOOP || errno == ENOTDIR ? FC_EPATH : fc_errno_to_error(errno);
        if (link || errno == ELOOP)
            fc_textf(msg, msgsize,
                     "%s %s is a symlink: the agent installs only into a real directory, "
                     "never through a link; remove the link and use a directory (or give "
                     "%s the real path)",
                     what, path, opt);
        else
            fc_textf(msg, msgsize, "cannot open %s %s: %s", what, path, strerror(errno));
        return -1;
    }
    uid_t me = geteuid();
    if (fstat(fd, &st) != 0) {
        *err = fc_errno_to_error(errno);
        fc_textf(msg, msgsize, "cannot stat %s %s: %s", what, path, strerror(errno));
    } else if (st.st_uid != 0 && st.st_uid != me) {
        *err = FC_EPATH;
        fc_textf(msg, msgsize,
                 "%s %s is owned by uid %u, neither root nor this agent (uid %u): that user "
                 "could change what the agent installs; chown %u %s (or use another %s)",
                 what, path, (unsigned)st.st_uid, (unsigned)me, (unsigned)me, path, opt);
    } else if (st.st_mode & 022) {
        *err = FC_EPATH;
        fc_textf(msg, msgsize,
                 "%s %s is writable by group or others (mode %04o): another local user could "
                 "change what the agent installs; chmod go-w %s",
                 what, path, (unsigned)(st.st_mode & 07777), path);
    } else
        return fd;
    close(fd);
    return -1;
}

static void s_load_failed(fc_install_t *self)
{
    char *path = fc_install_strf("%s/failed", self->state);
    uint8_t *text = path ? fc_read_file(path, 1024 * 1024, NULL) : NULL;
    free(path);
    if (!text)
        return;
    for (char *line = (char *)text, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        char *end;
        errno = 0;
        unsigned long long v = strtoull(line, &end, 10);
        if (errno || end == line || *end)
            continue; /* a damaged line is skipped, not fatal */
        uint64_t *nf = realloc(self->failed, (self->nfailed + 1) * sizeof *nf);
        if (!nf)
            break;
        self->failed = nf;
        self->failed[self->nfailed++] = v;
    }
    free(text);
}

int fc_install_save_failed(fc_install_t *self, uint64_t serial)
{
    uint64_t *nf = realloc(self->failed, (self->nfailed + 1) * sizeof *nf);
    if (!nf)
        return FC_ENOMEM;
    self->failed = nf;
    self->failed[self->nfailed++] = serial;
    size_t from = self->nfailed > S_MAX_FAILED ? self->nfailed - S_MAX_FAILED : 0;
    char *text = malloc((self->nfailed - from) * 21 + 1);
    char *path = fc_install_strf("%s/failed", self->state);
    int rc = text && path ? 0 : FC_ENOMEM;
    if (rc == 0) {
        size_t used = 0;
        for (size_t i = from; i < self->nfailed; i++)
            used += (size_t)sprintf(text + used, "%" PRIu64 "\n", self->failed[i]);
        if (fc_write_file_atomic(path, text, used, 0600) != 0)
            rc = fc_errno_to_error(errno);
    }
    free(text);
    free(path);
    return rc;
}

/* A copy of PATH without its trailing slashes; "/" (or "//") stays "/". */
static char *s_strip_slashes(const char *path)
{
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/')
        len--;
    char *copy = malloc(len + 1);
    if (copy) {
        memcpy(copy, path, len);
        copy[len] = '\0';
    }
    return copy;
}

static fc_install_t *s_new(const char *install_dir, const char *state_dir, const fc_trust_t *trust,
                           int *err, char *msg, size_t msgsize)
{
    fc_install_t *self = calloc(1, sizeof *self);
    if (!self) {
        *err = FC_ENOMEM;
        return NULL;
    }
    self->trust = trust;
    self->dirfd = self->relfd = -1;
    struct stat st;
    /* A symlink where the install dir should be is refused below, not followed to make it. */
    if (lstat(install_dir, &st) != 0 && fc_mkdirs(install_dir, 0755) != 0) {
        *err = fc_errno_to_error(errno);
        fc_textf(msg, msgsize, "cannot create install dir %s: %s", install_dir, strerror(errno));
        fc_install_destroy(&self);
        return NULL;
    }
    self->dirfd = s_open_own_dir(AT_FDCWD, install_dir, install_dir, "install dir", "--install",
                                 err, msg, msgsize);
    if (self->dirfd < 0) {
        fc_install_destroy(&self);
        return NULL;
    }
    /* The state dir names the installed tree (installed.release) and the failed serials:
       whoever may write it could roll the agent back at its next start, so it is checked
       as the install dir is. */
    if (lstat(state_dir, &st) != 0 && fc_mkdirs(state_dir, 0700) != 0) {
        *err = fc_errno_to_error(errno);
        fc_textf(msg, msgsize, "cannot create state dir %s: %s", state_dir, strerror(errno));
        fc_install_destroy(&self);
        return NULL;
    }
    int statefd =
        s_open_own_dir(AT_FDCWD, state_dir, state_dir, "state dir", "--state", err, msg, msgsize);
    if (statefd < 0) {
        fc_install_destroy(&self);
        return NULL;
    }
    close(statefd);
    char *releases = fc_install_strf("%s/releases", install_dir);
    if (!releases || (mkdirat(self->dirfd, "releases", 0755) != 0 && errno != EEXIST)) {
        *err = releases ? fc_errno_to_error(errno) : FC_ENOMEM;
        fc_textf(msg, msgsize, "cannot create %s: %s", releases ? releases : "releases/",
                 fc_strerror(*err));
        free(releases);
        fc_install_destroy(&self);
        return NULL;
    }
    self->relfd = s_open_own_dir(self->dirfd, "releases", releases, "releases dir", "--install",
                                 err, msg, msgsize);
    free(releases);
    if (self->relfd < 0) {
        fc_install_destroy(&self);
        return NULL;
    }
    /* Absolute paths: hooks run in the install dir and are told these. */
    if (fc_mkdirs(state_dir, 0700) != 0 || !(self->dir = realpath(install_dir, NULL)) ||
        !(self->state = realpath(state_dir, NULL))) {
        *err = fc_errno_to_error(errno);
        fc_textf(msg, msgsize, "cannot open state dir %s: %s", state_dir, strerror(errno));
        fc_install_destroy(&self);
        return NULL;
    }
    char *mpath = fc_install_strf("%s/installed.manifest", self->state);
    if (!mpath) {
        *err = FC_ENOMEM;
        fc_install_destroy(&self);
        return NULL;
    }
    s_load_failed(self);
    int oerr = 0;
    self->objects = fc_objects_new(self->state, &oerr);
    if (!self->objects) {
        *err = oerr;
        fc_textf(msg, msgsize, "cannot open %s/objects: %s", self->state, fc_strerror(oerr));
        free(mpath);
        fc_install_destroy(&self);
        return NULL;
    }
    self->installed_bytes = fc_read_file(mpath, FC_MAX_MANIFEST, &self->installed_len);
    if (self->installed_bytes) {
        int perr;
        /* Re-verified: a manifest whose signer is no longer trusted counts as nothing. */
        fc_mref_t first;
        size_t nmissing = 0;
        self->installed = fc_objects_load(self->objects, self->installed_bytes, self->installed_len,
                                          trust, &first, 1, &nmissing, NULL, &perr);
        /* Signed and trusted, but an object of it is missing or damaged on disk: the release
           is still installed; its top level is kept for the session to fetch the objects
           again (fc_install_unread), not dropped to re-download the release. */
        bool unread = !self->installed && nmissing > 0 &&
                      (perr == FC_ENOTFOUND || perr == FC_EHASH || perr == FC_ETOOBIG);
        if (!self->installed && !unread) {
            free(self->installed_bytes);
            self->installed_bytes = NULL;
            self->installed_len = 0;
        }
    }
    free(mpath);
    s_load_name(self);
    s_recover_current(self);
    *err = 0;
    return self;
}

fc_install_t *fc_install_new(const char *install_dir, const char *state_dir,
                             const fc_trust_t *trust, int *err, char *msg, size_t msgsize)
{
    int dummy;
    if (!err)
        err = &dummy;
    fc_textf(msg, msgsize, "%s", "");
    if (!install_dir || !state_dir || !trust) {
        *err = FC_EINVAL;
        fc_textf(msg, msgsize, "invalid arguments");
        return NULL;
    }
    /* "LINK/" resolves the link, for open(O_NOFOLLOW) and lstat alike: the checks see the
       names without their trailing slashes. */
    char *install = s_strip_slashes(install_dir);
    char *state = s_strip_slashes(state_dir);
    fc_install_t *self = NULL;
    if (install && state)
        self = s_new(install, state, trust, err, msg, msgsize);
    else
        *err = FC_ENOMEM;
    free(install);
    free(state);
    return self;
}

void fc_install_destroy(fc_install_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fc_install_t *self = *self_p;
    fc_manifest_destroy(&self->installed);
    free(self->installed_bytes);
    fc_objects_destroy(&self->objects);
    free(self->failed);
    free(self->dir);
    free(self->state);
    free(self->name);
    if (self->dirfd >= 0)
        close(self->dirfd);
    if (self->relfd >= 0)
        close(self->relfd);
    free(self);
    *self_p = NULL;
}

fc_objects_t *fc_install_objects(fc_install_t *self)
{
    return self->objects;
}

const uint8_t *fc_install_unread(const fc_install_t *self, size_t *len)
{
    if (!self || self->installed || !self->installed_bytes)
        return NULL;
    *len = self->installed_len;
    return self->installed_bytes;
}

bool fc_install_reread(fc_install_t *self)
{
    if (!self || self->installed || !self->installed_bytes)
        return false;
    int err = 0;
    self->installed = fc_objects_load(self->objects, self->installed_bytes, self->installed_len,
                                      self->trust, NULL, 0, NULL, NULL, &err);
    if (!self->installed)
        return false;
    /* What fc_install_new could not do without the manifest: find its tree (for reuse). */
    s_load_name(self);
    s_recover_current(self);
    return true;
}

void fc_install_forget_unread(fc_install_t *self)
{
    if (!self || self->installed)
        return;
    free(self->installed_bytes);
    self->installed_bytes = NULL;
    self->installed_len = 0;
}

void fc_install_set_discard(fc_install_t *self, bool discard)
{
    if (self)
        self->discard = discard;
}

uint64_t fc_install_serial(const fc_install_t *self)
{
    return self && self->installed ? self->installed->serial : 0;
}

const char *fc_install_version(const fc_install_t *self)
{
    return self && self->installed ? self->installed->version : "";
}

const fc_manifest_t *fc_install_manifest(const fc_install_t *self)
{
    return self ? self->installed : NULL;
}

bool fc_install_failed(const fc_install_t *self, uint64_t serial)
{
    for (size_t i = 0; self && i < self->nfailed; i++)
        if (self->failed[i] == serial)
            return true;
    return false;
}

int fc_install_check(const fc_install_t *self, const fc_manifest_t *m)
{
    if (!self || !m)
        return FC_EINVAL;
    return m->serial > fc_install_serial(self) ? 0 : FC_ESERIAL;
}
