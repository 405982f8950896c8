/* fc_conffile.c: config files as options before the command line's (fc_conffile.h). */
#include "fc_conffile.h"
#include "fc_file.h"
#include "fc_log.h"
#include "fc_suggest.h"
#include "fc_test_check.h"

#include <czmq.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_FILE (256u * 1024u) /* a config file is a few lines */
#define S_MAX_SETTINGS 256

typedef struct {
    char *arg; /* "--name=value" */
    char *name;
    int line;
} s_setting_t;

struct fc_conffile_t {
    char *path;
    s_setting_t settings[S_MAX_SETTINGS];
    int n;
    char **argv; /* from fc_conffile_argv */
};

const char *fc_conffile_arg(int argc, char *const *argv)
{
    for (int i = 1; i < argc; i++) {
        if (streq(argv[i], "--"))
            break;
        if (streq(argv[i], "--config"))
            return i + 1 < argc ? argv[i + 1] : NULL;
        if (strncmp(argv[i], "--config=", 9) == 0)
            return argv[i] + 9;
    }
    return NULL;
}

/* The line (1-based) where name is set in text: the first line whose first word is name
   followed by '=' (zconfig keeps no line numbers). 0 if not found. */
static int s_line_of(const char *text, const char *name)
{
    size_t nlen = strlen(name);
    int line = 1;
    for (const char *p = text; *p; line++) {
        const char *q = p;
        while (*q == ' ' || *q == '\t')
            q++;
        if (strncmp(q, name, nlen) == 0) {
            const char *r = q + nlen;
            while (*r == ' ' || *r == '\t')
                r++;
            if (*r == '=')
                return line;
        }
        const char *nl = strchr(p, '\n');
        if (!nl)
            break;
        p = nl + 1;
    }
    return 0;
}

static const struct option *s_find(const struct option *opts, const char *name)
{
    for (const struct option *o = opts; o->name; o++)
        if (streq(o->name, name))
            return o;
    return NULL;
}

static bool s_reserved(const char *name)
{
    return streq(name, "config") || streq(name, "help") || streq(name, "version");
}

fc_conffile_t *fc_conffile_load(const char *path, const struct option *opts, char *msg,
                                size_t msgsize)
{
    size_t len = 0;
    uint8_t *text = fc_read_file(path, S_MAX_FILE, &len);
    if (!text) {
        snprintf(msg, msgsize, "cannot read config file %s: %s", path, strerror(errno));
        return NULL;
    }
    char *str = (char *)malloc(len + 1);
    if (!str) {
        free(text);
        snprintf(msg, msgsize, "%s: out of memory", path);
        return NULL;
    }
    memcpy(str, text, len);
    str[len] = '\0';
    free(text);
    zconfig_t *root = zconfig_str_load(str);
    fc_conffile_t *self = (fc_conffile_t *)calloc(1, sizeof *self);
    if (!root || !self || !(self->path = strdup(path))) {
        snprintf(msg, msgsize, "%s: not a config file (ZPL: one 'name = value' a line)", path);
        goto fail;
    }
    for (zconfig_t *c = zconfig_child(root); c; c = zconfig_next(c)) {
        const char *name = zconfig_name(c);
        const char *value = zconfig_value(c);
        int line = s_line_of(str, name);
        const struct option *o = s_find(opts, name);
        if (zconfig_child(c)) {
            snprintf(msg, msgsize,
                     "%s line %d, key %s: a section; settings are 'name = value' "
                     "lines at the top",
                     path, line, name);
            goto fail;
        }
        if (!o || s_reserved(name)) {
            const char *names[256];
            size_t n = 0;
            for (const struct option *p = opts; p->name && n < 256; p++)
                if (!s_reserved(p->name))
                    names[n++] = p->name;
            const char *like = fc_suggest(name, names, n);
            snprintf(msg, msgsize, "%s line %d: unknown key '%s'%s%s%s", path, line, name,
                     like ? " (did you mean '" : "", like ? like : "", like ? "'?)" : "");
            goto fail;
        }
        if (fc_conffile_value(self, name)) {
            snprintf(msg, msgsize, "%s line %d, key %s: set twice", path, line, name);
            goto fail;
        }
        if (self->n == S_MAX_SETTINGS) {
            snprintf(msg, msgsize, "%s: more than %d settings", path, S_MAX_SETTINGS);
            goto fail;
        }
        if (!value)
            value = "";
        char *arg = NULL;
        if (o->has_arg == no_argument) {
            bool on = streq(value, "true") || streq(value, "yes") || streq(value, "1");
            bool off = streq(value, "false") || streq(value, "no") || streq(value, "0");
            if (!on && !off) {
                snprintf(msg, msgsize, "%s line %d, key %s: want true or false, not '%s'", path,
                         line, name, value);
                goto fail;
            }
            if (off)
                continue;
            arg = zsys_sprintf("--%s", name);
        } else
            arg = zsys_sprintf("--%s=%s", name, value);
        self->settings[self->n++] = (s_setting_t){arg, strdup(name), line};
        if (!arg || !self->settings[self->n - 1].name) {
            snprintf(msg, msgsize, "%s: out of memory", path);
            goto fail;
        }
    }
    zconfig_destroy(&root);
    free(str);
    return self;
fail:
    zconfig_destroy(&root);
    free(str);
    fc_conffile_destroy(&self);
    return NULL;
}

void fc_conffile_destroy(fc_conffile_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fc_conffile_t *self = *self_p;
    for (int i = 0; i < self->n; i++) {
        zstr_free(&self->settings[i].arg);
        free(self->settings[i].name);
    }
    free(self->argv);
    free(self->path);
    free(self);
    *self_p = NULL;
}

char **fc_conffile_argv(fc_conffile_t *self, int argc, char **argv, int *argc_out)
{
    if (!self) {
        *argc_out = argc;
        return argv;
    }
    free(self->argv);
    self->argv = (char **)calloc((size_t)(argc + self->n + 1), sizeof(char *));
    if (!self->argv)
        return NULL;
    int k = 0;
    self->argv[k++] = argv[0];
    for (int i = 0; i < self->n; i++)
        self->argv[k++] = self->settings[i].arg;
    for (int i = 1; i < argc; i++)
        self->argv[k++] = argv[i];
    *argc_out = k;
    return self->argv;
}

const char *fc_conffile_where(const fc_conffile_t *self, int argi, char *buf, size_t size)
{
    if (size)
        buf[0] = '\0';
    if (self && argi >= 1 && argi <= self->n) {
        const s_setting_t *s = &self->settings[argi - 1];
        snprintf(buf, size, "%s line %d, key %s: ", self->path, s->line, s->name);
    }
    return buf;
}

const char *fc_conffile_value(const fc_conffile_t *self, const char *name)
{
    for (int i = 0; self && i < self->n; i++)
        if (streq(self->settings[i].name, name)) {
            const char *eq = strchr(self->settings[i].arg, '=');
            return eq ? eq + 1 : "true";
        }
    return NULL;
}

const char *fc_conffile_path(const fc_conffile_t *self)
{
    return self->path;
}

/* Adds the names of a's settings that b lacks or sets otherwise. */
static int s_changed_one(const fc_conffile_t *a, const fc_conffile_t *b, bool skip_in_b, char *buf,
                         size_t size)
{
    int n = 0;
    for (int i = 0; a && i < a->n; i++) {
        const char *name = a->settings[i].name;
        const char *other = fc_conffile_value(b, name);
        const char *mine = fc_conffile_value(a, name);
        if (other && (skip_in_b || streq(other, mine)))
            continue;
        size_t len = strlen(buf);
        snprintf(buf + len, size - len, "%s%s", len ? ", " : "", name);
        n++;
    }
    return n;
}

int fc_conffile_changed(const fc_conffile_t *old, const fc_conffile_t *new_conf, char *buf,
                        size_t size)
{
    if (size)
        buf[0] = '\0';
    /* Changed or dropped (from old), then added (in new only). */
    return s_changed_one(old, new_conf, false, buf, size) +
           s_changed_one(new_conf, old, true, buf, size);
}

/* Whether the command line part of self's argv (after the file's settings) sets name. */
static bool s_on_command_line(const fc_conffile_t *self, const char *name)
{
    size_t len = strlen(name);
    for (int i = self->n + 1; self->argv && self->argv[i]; i++) {
        const char *a = self->argv[i];
        if (strncmp(a, "--", 2) == 0 && strncmp(a + 2, name, len) == 0 &&
            (a[2 + len] == '\0' || a[2 + len] == '='))
            return true;
    }
    return false;
}

void fc_conffile_reread(const fc_conffile_t *self, const struct option *opts, int *level,
                        int *format)
{
    if (!self)
        return;
    char msg[1024];
    fc_conffile_t *now = fc_conffile_load(self->path, opts, msg, sizeof msg);
    if (!now) {
        fc_log(FC_LOG_WARNING, "SIGHUP: %s; the running settings stay", msg);
        return;
    }
    char changed[512];
    int n = fc_conffile_changed(self, now, changed, sizeof changed);
    fc_log_level_t l;
    fc_log_format_t f;
    const char *v = fc_conffile_value(now, "log-level");
    if (v && !s_on_command_line(self, "log-level") && fc_log_level_parse(v, &l) == 0)
        *level = (int)l;
    v = fc_conffile_value(now, "log-format");
    if (v && !s_on_command_line(self, "log-format") && fc_log_format_parse(v, &f) == 0)
        *format = (int)f;
    if (n)
        fc_log(FC_LOG_NOTICE,
               "SIGHUP: %s read again; changed: %s (log-level and log-format apply now, the "
               "rest at the next restart)",
               self->path, changed);
    else
        fc_log(FC_LOG_NOTICE, "SIGHUP: %s read again: unchanged", self->path);
    fc_conffile_destroy(&now);
}

void fc_conffile_test(bool verbose)
{
    printf(" * fc_conffile: ");
    static const struct option opts[] = {
        {"broker", required_argument, NULL, 1}, {"channel", required_argument, NULL, 2},
        {"once", no_argument, NULL, 3},         {"verbose", no_argument, NULL, 4},
        {"config", required_argument, NULL, 5}, {NULL, 0, NULL, 0}};
    char dir[] = "/tmp/fc_conffile_test.XXXXXX";
    FC_CHECK(mkdtemp(dir));
    char path[128], msg[512];
    snprintf(path, sizeof path, "%s/agent.conf", dir);
    const char *good = "# an agent\n"
                       "broker = tcp://b:7400\n"
                       "\n"
                       "channel = \"stable\"\n"
                       "once = true\n"
                       "verbose = false\n";
    FC_CHECK(fc_write_file_atomic(path, good, strlen(good), 0644) == 0);
    fc_conffile_t *c = fc_conffile_load(path, opts, msg, sizeof msg);
    FC_CHECK(c);
    char *argv[] = {"prog", "--channel", "beta", NULL};
    int n = 0;
    char **all = fc_conffile_argv(c, 3, argv, &n);
    FC_CHECK(all && n == 6 && streq(all[0], "prog") && streq(all[1], "--broker=tcp://b:7400") &&
             streq(all[2], "--channel=stable") && streq(all[3], "--once") &&
             streq(all[4], "--channel") && streq(all[5], "beta") && all[6] == NULL);
    FC_CHECK(streq(fc_conffile_value(c, "broker"), "tcp://b:7400") &&
             streq(fc_conffile_value(c, "once"), "true") && !fc_conffile_value(c, "verbose"));
    /* What changed between two readings (SIGHUP). */
    const char *second = "broker = tcp://b:7400\nchannel = beta\nverbose = true\n";
    char path2[160];
    snprintf(path2, sizeof path2, "%s/agent2.conf", dir);
    FC_CHECK(fc_write_file_atomic(path2, second, strlen(second), 0644) == 0);
    fc_conffile_t *c2 = fc_conffile_load(path2, opts, msg, sizeof msg);
    FC_CHECK(c2);
    char changed[256];
    FC_CHECK(fc_conffile_changed(c, c2, changed, sizeof changed) == 3 &&
             streq(changed, "channel, once, verbose"));
    FC_CHECK(fc_conffile_changed(c, c, changed, sizeof changed) == 0 && streq(changed, ""));
    FC_CHECK(fc_conffile_changed(NULL, c2, changed, sizeof changed) == 3);
    fc_conffile_destroy(&c2);
    char where[256];
    FC_CHECK(
        strstr(fc_conffile_where(c, 2, where, sizeof where), "agent.conf line 4, key channel: "));
    FC_CHECK(streq(fc_conffile_where(c, 4, where, sizeof where), ""));
    fc_conffile_destroy(&c);
    FC_CHECK(c == NULL);

    /* Each mistake names the file, the line and the key. */
    const char *bad[][2] = {
        {"broker = x\nchanel = stable\n", "line 2: unknown key 'chanel' (did you mean 'channel'?)"},
        {"once = maybe\n", "line 1, key once: want true or false, not 'maybe'"},
        {"config = /etc/x\n", "line 1: unknown key 'config'"},
        {"broker = a\nbroker = b\n", "key broker: set twice"},
        {"broker\n    inner = 1\n", "line 0, key broker: a section"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        FC_CHECK(fc_write_file_atomic(path, bad[i][0], strlen(bad[i][0]), 0644) == 0);
        FC_CHECK(fc_conffile_load(path, opts, msg, sizeof msg) == NULL);
        FC_CHECK(strstr(msg, path) && strstr(msg, bad[i][1]));
    }
    snprintf(path, sizeof path, "%s/missing.conf", dir);
    FC_CHECK(fc_conffile_load(path, opts, msg, sizeof msg) == NULL &&
             strstr(msg, "No such file or directory"));

    char *a1[] = {"p", "--config", "/x.conf", NULL};
    char *a2[] = {"p", "--config=/y.conf", NULL};
    char *a3[] = {"p", "--", "--config=/z", NULL};
    FC_CHECK(streq(fc_conffile_arg(3, a1), "/x.conf") && streq(fc_conffile_arg(2, a2), "/y.conf"));
    FC_CHECK(fc_conffile_arg(3, a3) == NULL && fc_conffile_arg(1, a1) == NULL);
    FC_CHECK(fc_remove_tree(dir) == 0);
    if (verbose)
        printf("(settings before flags, file/line/key errors, --config) ");
    printf("OK\n");
}
