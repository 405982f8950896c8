/* fc_release_watch.c: `fleetcast release watch DIR`: publishes consistent snapshots of a
   directory as it changes (inotify), the server that "detects changed files" of the
   auto-update system fleetcast descends from. It waits until the tree has been quiet for the
   debounce and no file is still open for writing, scans it, and publishes only when nothing
   moved during the scan and the content differs from the channel's latest release; a failed
   push is retried with backoff, never fatal. */
#include "fc_clock.h"
#include "fc_error.h"
#include "fc_file.h"
#include "fc_json.h"
#include "fc_release_cmd.h"
#include "fc_release_ops.h"
#include "fc_text.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define S_EVENTS                                                                                   \
    (IN_CREATE | IN_DELETE | IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO |            \
     IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF)
#define S_BACKOFF_MAX 60.0

typedef struct {
    const fc_release_cmd_options_t *o;
    const char *dir;
    int ifd;
    zhashx_t *dirs;    /* watch descriptor (as text) -> directory path (owned) */
    zhashx_t *writing; /* path -> 1: modified and not yet closed by its writer */
    bool dirty;        /* something changed since the last snapshot */
    double last_event; /* when (the start counts as one: the first snapshot waits too) */
    double retry_at;   /* after a failed push: not before this */
    double backoff;
    uint64_t published;
} s_watch_t;

/* One line for people on stdout, or one JSON object for scripts. */
static void s_say(s_watch_t *w, const char *event, const char *version, uint64_t serial,
                  const fc_push_result_t *res, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
static void s_say(s_watch_t *w, const char *event, const char *version, uint64_t serial,
                  const fc_push_result_t *res, const char *fmt, ...)
{
    char text[1024];
    va_list args;
    va_start(args, fmt);
    vsnprintf(text, sizeof text, fmt, args);
    va_end(args);
    if (w->o->json) {
        fc_json_t *j = fc_json_new();
        fc_json_open(j);
        fc_json_key_str(j, "event", event);
        fc_json_key_double(j, "time", (double)zclock_time() / 1000.0); /* unix seconds */
        fc_json_key_str(j, "channel", w->o->push.channel);
        if (version)
            fc_json_key_str(j, "version", version);
        if (serial)
            fc_json_key_uint(j, "serial", serial);
        if (res) {
            fc_json_key_uint(j, "files", res->files);
            fc_json_key_uint(j, "bytes_total", res->bytes_total);
            fc_json_key_uint(j, "bytes_uploaded", res->bytes_uploaded);
        }
        fc_json_key_str(j, "message", text);
        fc_json_close(j);
        puts(fc_json_text(j));
        fc_json_destroy(&j);
    } else {
        char when[32];
        fc_format_time(when, sizeof when, (int64_t)time(NULL));
        printf("%s watch: %s\n", when, text);
    }
    fflush(stdout);
}

static void s_add_tree(s_watch_t *w, const char *path);

static void s_add_dir(s_watch_t *w, const char *path)
{
    int wd = inotify_add_watch(w->ifd, path, S_EVENTS | IN_ONLYDIR | IN_DONT_FOLLOW);
    if (wd < 0) {
        if (errno != ENOENT && errno != ENOTDIR)
            s_say(w, "warning", NULL, 0, NULL, "cannot watch %s: %s", path, strerror(errno));
        return;
    }
    char key[16];
    snprintf(key, sizeof key, "%d", wd);
    zhashx_update(w->dirs, key, strdup(path));
}

/* Watches path and every directory below it; a directory made while this runs is seen by
   its parent's watch (IN_CREATE) and added then. */
static void s_add_tree(s_watch_t *w, const char *path)
{
    s_add_dir(w, path);
    DIR *d = opendir(path);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (streq(e->d_name, ".") || streq(e->d_name, ".."))
            continue;
        char sub[PATH_MAX];
        if (snprintf(sub, sizeof sub, "%s/%s", path, e->d_name) >= (int)sizeof sub)
            continue;
        struct stat st;
        if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
            s_add_tree(w, sub);
    }
    closedir(d);
}

/* Reads every pending event: marks the tree dirty, follows new directories, keeps the set
   of files still being written. Returns how many events were read. */
static size_t s_drain(s_watch_t *w)
{
    size_t count = 0;
    char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
    for (;;) {
        ssize_t n = read(w->ifd, buf, sizeof buf);
        if (n <= 0)
            break;
        for (char *p = buf; p < buf + n;) {
            struct inotify_event *ev = (struct inotify_event *)p;
            p += sizeof *ev + ev->len;
            count++;
            if (ev->mask & IN_Q_OVERFLOW) {
                /* Events were lost: watch every directory again (adding is idempotent). */
                s_add_tree(w, w->dir);
                continue;
            }
            char key[16];
            snprintf(key, sizeof key, "%d", ev->wd);
            const char *parent = zhashx_lookup(w->dirs, key);
            if (ev->mask & IN_IGNORED) {
                zhashx_delete(w->dirs, key);
                continue;
            }
            if (!parent)
                continue;
            char path[PATH_MAX];
            snprintf(path, sizeof path, "%s/%s", parent, ev->len ? ev->name : "");
            if ((ev->mask & (IN_CREATE | IN_MOVED_TO)) && (ev->mask & IN_ISDIR))
                s_add_tree(w, path);
            if ((ev->mask & IN_MODIFY) && !(ev->mask & IN_ISDIR))
                zhashx_update(w->writing, path, (void *)1);
            if (ev->mask & (IN_CLOSE_WRITE | IN_DELETE | IN_MOVED_FROM))
                zhashx_delete(w->writing, path);
        }
    }
    if (count) {
        w->dirty = true;
        w->last_event = fc_now();
    }
    return count;
}

/* Size, modification time and name of every entry of the tree, folded into one digest:
   two equal digests taken around a scan mean no file moved while it was read. */
static uint64_t s_stamp(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return 0;
    uint64_t v = (uint64_t)st.st_size * 1000003u ^ (uint64_t)st.st_mtim.tv_sec * 7919u ^
                 (uint64_t)st.st_mtim.tv_nsec ^ (uint64_t)st.st_ino * 31u;
    for (const char *c = path; *c; c++)
        v = v * 131 + (unsigned char)*c;
    DIR *d = S_ISDIR(st.st_mode) ? opendir(path) : NULL;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char sub[PATH_MAX];
        if (streq(e->d_name, ".") || streq(e->d_name, "..") ||
            snprintf(sub, sizeof sub, "%s/%s", path, e->d_name) >= (int)sizeof sub)
            continue;
        uint64_t h = s_stamp(sub);
        v += h * 2654435761u + (h >> 17); /* order-free: readdir's order may change */
    }
    if (d)
        closedir(d);
    return v;
}

/* The version for a snapshot: the template in UTC, or the first line of --version-from. */
static int s_version(s_watch_t *w, char *out, size_t size)
{
    if (w->o->version_from) {
        size_t len = 0;
        char *text = (char *)fc_read_file(w->o->version_from, 4096, &len);
        if (!text) {
            s_say(w, "failed", NULL, 0, NULL, "cannot read --version-from %s: %s",
                  w->o->version_from, strerror(errno));
            return -1;
        }
        size_t n = strcspn(text, "\r\n");
        snprintf(out, size, "%.*s", (int)n, text);
        free(text);
    } else {
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        const char *tpl = w->o->version_template ? w->o->version_template : "%Y%m%d.%H%M%S";
        if (strftime(out, size, tpl, &tm) == 0)
            out[0] = '\0';
    }
    if (!fc_name_valid(out)) {
        s_say(w, "failed", NULL, 0, NULL,
              "version '%s' is not a valid name (1-64 of A-Z a-z 0-9 . _ + -)", out);
        return -1;
    }
    return 0;
}

static void s_failed(s_watch_t *w)
{
    w->backoff =
        w->backoff ? (w->backoff * 2 > S_BACKOFF_MAX ? S_BACKOFF_MAX : w->backoff * 2) : 1.0;
    w->retry_at = fc_now() + w->backoff;
}

/* One snapshot and, if the tree changed, one push. */
static void s_snapshot(s_watch_t *w, fc_client_t *client, const fc_signkey_t *key)
{
    char version[FC_MAX_NAME + 2];
    if (s_version(w, version, sizeof version) != 0) {
        s_failed(w);
        return;
    }
    fc_push_options_t opt = w->o->push;
    opt.dir = w->dir;
    opt.version = version;
    opt.progress = false;
    uint64_t before = s_stamp(w->dir);
    w->dirty = false;
    int err = 0;
    char msg[512] = "";
    fc_manifest_t *m = fc_push_scan(&opt, &err, msg, sizeof msg);
    /* Anything that moved during the scan (an event, or a size or mtime that changed)
       makes the snapshot inconsistent: wait for quiet again. */
    if (s_drain(w) > 0 || s_stamp(w->dir) != before) {
        fc_manifest_destroy(&m);
        w->dirty = true;
        s_say(w, "changed", NULL, 0, NULL, "%s changed while it was read: waiting again", w->dir);
        return;
    }
    if (!m) {
        s_say(w, "failed", version, 0, NULL, "%s", msg);
        s_failed(w);
        return;
    }
    /* Only what changed is published: the same content as the channel's latest is not. */
    fc_manifest_t *latest = NULL;
    char why[FC_MAX_PATH + 64];
    err = fc_release_find(client, opt.channel, NULL, NULL, opt.timeout_ms, &latest, NULL, NULL, msg,
                          sizeof msg);
    if (err && err != FC_ENOTFOUND) {
        fc_manifest_destroy(&m);
        w->dirty = true;
        s_say(w, "failed", version, 0, NULL, "%s; retrying", msg);
        s_failed(w);
        return;
    }
    if (latest && fc_release_same_content(m, latest, why, sizeof why)) {
        s_say(w, "unchanged", latest->version, latest->serial, NULL,
              "%s is the content of %s %s (serial %llu): nothing to publish", w->dir, opt.channel,
              latest->version, (unsigned long long)latest->serial);
        fc_manifest_destroy(&latest);
        fc_manifest_destroy(&m);
        w->backoff = 0;
        return;
    }
    fc_manifest_destroy(&latest);
    fc_push_result_t res;
    err = fc_push_manifest(client, &opt, m, key, &res);
    fc_manifest_destroy(&m);
    if (err) {
        w->dirty = true;
        s_say(w, "failed", version, 0, NULL, "push of %s failed: %s; retrying", version,
              res.message);
        s_failed(w);
        return;
    }
    w->backoff = 0;
    w->published++;
    char total[32], sent[32];
    s_say(w, res.already_published ? "unchanged" : "published", version, res.serial, &res,
          "%s %s %s as serial %llu: %llu files, %s; uploaded %s",
          res.already_published ? "already had" : "published", opt.channel, version,
          (unsigned long long)res.serial, (unsigned long long)res.files,
          fc_format_bytes(total, sizeof total, res.bytes_total),
          fc_format_bytes(sent, sizeof sent, res.bytes_uploaded));
}

int fc_release_watch_run(const fc_release_cmd_options_t *o, const char *dir)
{
    if (!o->push.channel || !o->key) {
        fprintf(stderr, "fleetcast: release watch needs --channel and --key\n"
                        "(see fleetcast --help)\n");
        return 2;
    }
    if (o->push.version || o->push.serial) {
        fprintf(stderr, "fleetcast: release watch makes its own versions and serials: use "
                        "--version-template or --version-from, not --version or --serial\n");
        return 2;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "fleetcast: release watch: %s is not a directory\n", dir);
        return 1;
    }
    fc_signkey_t key;
    int err = fc_signkey_load(&key, o->key);
    if (err) {
        fprintf(stderr, "fleetcast: cannot load signing key %s: %s\n", o->key, fc_strerror(err));
        return 1;
    }
    /* SIGTERM and SIGINT arrive on a descriptor, polled with the events: a clean stop. */
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    s_watch_t w = {.o = o,
                   .dir = dir,
                   .ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC),
                   .dirs = zhashx_new(),
                   .writing = zhashx_new(),
                   .dirty = true,
                   .last_event = fc_now()};
    zhashx_set_destructor(w.dirs, (zhashx_destructor_fn *)zstr_free);
    fc_client_t *client = fc_client_new(o->broker, 2000, o->curve, &err);
    if (sfd < 0 || w.ifd < 0 || !client) {
        fprintf(stderr, "fleetcast: release watch cannot start: %s\n",
                client ? strerror(errno) : "bad broker endpoint");
        fc_client_destroy(&client);
        zhashx_destroy(&w.dirs);
        zhashx_destroy(&w.writing);
        fc_signkey_wipe(&key);
        return 1;
    }
    s_add_tree(&w, dir);
    double debounce = (o->debounce_ms ? o->debounce_ms : 2000) / 1000.0;
    s_say(&w, "watching", NULL, 0, NULL, "watching %s for channel %s (debounce %.1f s)", dir,
          o->push.channel, debounce);
    bool waiting_said = false;
    for (;;) {
        double now = fc_now();
        int timeout = -1;
        if (w.dirty) {
            double due = w.last_event + debounce;
            if (w.retry_at > due)
                due = w.retry_at;
            timeout = due <= now ? 0 : (int)((due - now) * 1000) + 1;
            if (zhashx_size(w.writing) > 0 && timeout == 0)
                timeout = 1000; /* a writer holds a file open: look again in a second */
        }
        struct pollfd fds[2] = {{sfd, POLLIN, 0}, {w.ifd, POLLIN, 0}};
        int n = poll(fds, 2, timeout);
        if (n < 0 && errno != EINTR)
            break;
        if (n > 0 && (fds[0].revents & POLLIN))
            break;
        if (n > 0 && (fds[1].revents & POLLIN)) {
            s_drain(&w);
            continue;
        }
        now = fc_now();
        if (!w.dirty || now < w.last_event + debounce || now < w.retry_at)
            continue;
        if (zhashx_size(w.writing) > 0) {
            zhashx_first(w.writing);
            if (!waiting_said)
                s_say(&w, "waiting", NULL, 0, NULL, "waiting for %s to be closed by its writer",
                      (const char *)zhashx_cursor(w.writing));
            waiting_said = true;
            continue;
        }
        waiting_said = false;
        s_snapshot(&w, client, &key);
    }
    s_say(&w, "stopped", NULL, 0, NULL, "stopped after publishing %llu release%s",
          (unsigned long long)w.published, w.published == 1 ? "" : "s");
    fc_client_destroy(&client);
    zhashx_destroy(&w.dirs);
    zhashx_destroy(&w.writing);
    close(w.ifd);
    close(sfd);
    fc_signkey_wipe(&key);
    return 0;
}
