/* fc_relay_keys.c: a mirror of a key list kept elsewhere in one keys/<role>/ directory: a
   relay's of its upstream's agent keys, a shared store's broker's of the database's. */
#include "fc_relay_keys.h"
#include "fc_curve.h"
#include "fc_error.h"
#include "fc_file.h"
#include "fc_test_check.h"

#include <czmq.h>
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The state file lists every key once: 64 MiB is about 1.5 million keys. */
#define S_STATE_MAX (64u * 1024u * 1024u)
#define S_ENFORCE_MS 1000

struct fc_relay_keys_t {
    char *state_path;
    char *agents_dir; /* keys/<role>/ (keys/agents/ for a relay) */
    bool quiet;
    const char *label;    /* in log lines: "relay" or "store" */
    const char *role;     /* "agent", "publisher" or "relay" */
    const char *source;   /* where the list comes from: "upstream", "in the database" */
    uint64_t serial;      /* of the set applied last */
    zhashx_t *mirrored;   /* Z85 -> 1: written by us, as the upstream listed them */
    zhashx_t *withdrawn;  /* Z85 -> 1: mirrored once, then gone upstream */
    zlistx_t *walk;       /* the keys of the pages so far (strings) */
    uint64_t walk_serial; /* the serial of the walk's first page */
    struct timespec agents_mtime;
    int64_t next_enforce;
};

static void s_set_mtime(fc_relay_keys_t *self, struct timespec *out)
{
    struct stat st;
    if (stat(self->agents_dir, &st) == 0)
        *out = st.st_mtim;
    else
        *out = (struct timespec){0, 0};
}

static void s_load(fc_relay_keys_t *self)
{
    size_t len = 0;
    char *text = (char *)fc_read_file(self->state_path, S_STATE_MAX, &len);
    if (!text)
        return; /* none yet */
    bool ok = true;
    for (char *line = strtok(text, "\n"); line && ok; line = strtok(NULL, "\n")) {
        unsigned long long serial;
        if (sscanf(line, "serial %llx", &serial) == 1)
            self->serial = serial;
        else if ((line[0] == 'm' || line[0] == 'r') && line[1] == ' ' &&
                 strlen(line + 2) == FC_MSG_KEY_Z85_LEN)
            zhashx_update(line[0] == 'm' ? self->mirrored : self->withdrawn, line + 2, (void *)1);
        else
            ok = false;
    }
    free(text);
    if (!ok) {
        zsys_warning("fleetcast-broker: %s: %s is damaged; read as empty, rebuilt from the "
                     "next list of %s keys",
                     self->label, self->state_path, self->role);
        zhashx_purge(self->mirrored);
        zhashx_purge(self->withdrawn);
        self->serial = 0;
    }
}

static int s_save(fc_relay_keys_t *self)
{
    size_t n = zhashx_size(self->mirrored) + zhashx_size(self->withdrawn);
    size_t cap = 32 + n * (FC_MSG_KEY_Z85_LEN + 3), len = 0;
    char *text = zmalloc(cap);
    len += (size_t)snprintf(text, cap, "serial %016llx\n", (unsigned long long)self->serial);
    zhashx_t *sets[2] = {self->mirrored, self->withdrawn};
    for (int s = 0; s < 2; s++)
        for (void *v = zhashx_first(sets[s]); v; v = zhashx_next(sets[s]))
            len += (size_t)snprintf(text + len, cap - len, "%c %s\n", s ? 'r' : 'm',
                                    (const char *)zhashx_cursor(sets[s]));
    int rc = fc_write_file_atomic(self->state_path, text, len, 0640);
    free(text);
    if (rc)
        zsys_error("fleetcast-broker: %s: cannot write %s: %s", self->label, self->state_path,
                   strerror(errno));
    return rc;
}

fc_relay_keys_t *fc_relay_keys_new(const char *data_dir, bool quiet)
{
    return fc_relay_keys_new_mirror(data_dir, "agents", FC_RELAY_KEYS_STATE, "relay", "agent",
                                    "upstream", quiet);
}

fc_relay_keys_t *fc_relay_keys_new_mirror(const char *data_dir, const char *role_dir,
                                          const char *state_name, const char *label,
                                          const char *role, const char *source, bool quiet)
{
    fc_relay_keys_t *self = zmalloc(sizeof *self);
    self->state_path = zsys_sprintf("%s/%s", data_dir, state_name);
    self->agents_dir = zsys_sprintf("%s/keys/%s", data_dir, role_dir);
    self->quiet = quiet;
    self->label = label;
    self->role = role;
    self->source = source;
    self->mirrored = zhashx_new();
    self->withdrawn = zhashx_new();
    self->walk = zlistx_new();
    zlistx_set_destructor(self->walk, (zlistx_destructor_fn *)zstr_free);
    if (fc_mkdirs(self->agents_dir, 0750) != 0) {
        fc_relay_keys_destroy(&self);
        return NULL;
    }
    s_load(self);
    return self;
}

void fc_relay_keys_destroy(fc_relay_keys_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fc_relay_keys_t *self = *self_p;
    zhashx_destroy(&self->mirrored);
    zhashx_destroy(&self->withdrawn);
    zlistx_destroy(&self->walk);
    zstr_free(&self->state_path);
    zstr_free(&self->agents_dir);
    free(self);
    *self_p = NULL;
}

uint64_t fc_relay_keys_serial(const fc_relay_keys_t *self)
{
    return self->serial;
}

/* Every cert file of keys/agents/ holding a key of set (NULL: any) is removed, or (keys not
   NULL) its key recorded there. Returns how many files were removed. */
static size_t s_visit(fc_relay_keys_t *self, zhashx_t *remove, zhashx_t *present)
{
    DIR *d = opendir(self->agents_dir);
    if (!d)
        return 0;
    size_t removed = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (e->d_name[0] == '.' || (n >= 7 && streq(e->d_name + n - 7, "_secret")))
            continue;
        char file[PATH_MAX], key[FC_CURVE_Z85_LEN + 1];
        if (snprintf(file, sizeof file, "%s/%s", self->agents_dir, e->d_name) >= (int)sizeof file)
            continue;
        struct stat st;
        if (stat(file, &st) != 0 || !S_ISREG(st.st_mode) || fc_curve_read_public(file, key))
            continue;
        if (present)
            zhashx_update(present, key, (void *)1);
        if (remove && zhashx_lookup(remove, key)) {
            if (unlink(file) == 0) {
                removed++;
                if (!self->quiet)
                    zsys_warning("fleetcast-broker: %s: %s key %s was revoked %s: removed %s",
                                 self->label, self->role, key, self->source, file);
            } else
                zsys_error("fleetcast-broker: %s: cannot remove %s (%s key %s, revoked %s): %s",
                           self->label, file, self->role, key, self->source, strerror(errno));
        }
    }
    closedir(d);
    return removed;
}

/* The walk is complete: make keys/agents/ say what the upstream said. */
static void s_apply(fc_relay_keys_t *self)
{
    zhashx_t *now = zhashx_new();
    for (const char *k = zlistx_first(self->walk); k; k = zlistx_next(self->walk))
        zhashx_update(now, k, (void *)1);
    size_t added = 0, revoked = 0;
    /* Withdrawn: mirrored before, listed no more. Enrolled upstream again: not withdrawn. */
    for (void *v = zhashx_first(self->mirrored); v; v = zhashx_next(self->mirrored)) {
        const char *k = zhashx_cursor(self->mirrored);
        if (!zhashx_lookup(now, k)) {
            zhashx_update(self->withdrawn, k, (void *)1);
            revoked++;
        }
    }
    for (void *v = zhashx_first(now); v; v = zhashx_next(now))
        zhashx_delete(self->withdrawn, zhashx_cursor(now));
    /* Removed before anything is added, so that a full disk cannot keep a revoked key in. */
    zhashx_t *present = zhashx_new();
    size_t removed = s_visit(self, zhashx_size(self->withdrawn) ? self->withdrawn : NULL, present);
    for (const char *k = zlistx_first(self->walk); k; k = zlistx_next(self->walk)) {
        if (zhashx_lookup(present, k))
            continue;
        char hex[65], file[PATH_MAX];
        if (fc_curve_key_hex(k, hex) != 0)
            continue;
        snprintf(file, sizeof file, "%s/%s.cert", self->agents_dir, hex);
        int err = fc_curve_save_public(k, file);
        if (err)
            zsys_error("fleetcast-broker: %s: cannot write %s (%s key %s): %s", self->label, file,
                       self->role, k, fc_strerror(err));
        else
            added++;
    }
    zhashx_destroy(&present);
    zhashx_destroy(&self->mirrored);
    self->mirrored = now;
    self->serial = self->walk_serial;
    s_save(self);
    s_set_mtime(self, &self->agents_mtime);
    if (!self->quiet && (added || removed || revoked))
        zsys_info("fleetcast-broker: %s: %s keys %s (serial %016llx): %zu enrolled, %zu written "
                  "here, %zu revoked, %zu files removed",
                  self->label, self->role, self->source, (unsigned long long)self->serial,
                  zhashx_size(self->mirrored), added, revoked, removed);
}

fc_relay_keys_step_t fc_relay_keys_page(fc_relay_keys_t *self, const char *first,
                                        const fc_msg_t *reply, char cursor[FC_MSG_KEY_Z85_LEN + 1])
{
    if (!first || !*first) {
        zlistx_purge(self->walk);
        self->walk_serial = reply->serial;
    } else if (reply->serial != self->walk_serial) {
        zlistx_purge(self->walk);
        cursor[0] = '\0';
        return FC_RELAY_KEYS_AGAIN;
    }
    size_t n = fc_msg_relay_key_count(reply);
    if ((reply->more && n == 0) || zlistx_size(self->walk) + n > FC_RELAY_KEYS_MAX) {
        zsys_warning("fleetcast-broker: relay: the upstream's list of agent keys %s; the keys "
                     "here are left as they are",
                     n ? "is longer than this relay takes" : "says more follow but lists none");
        zlistx_purge(self->walk);
        cursor[0] = '\0';
        return FC_RELAY_KEYS_BAD;
    }
    for (size_t i = 0; i < n; i++) {
        char k[FC_MSG_KEY_Z85_LEN + 1];
        fc_msg_relay_key_get(reply, i, k);
        /* The codec saw them ascending within the page; across pages, after the cursor. */
        if (i == 0 && first && *first && strcmp(k, first) <= 0) {
            zlistx_purge(self->walk);
            cursor[0] = '\0';
            return FC_RELAY_KEYS_AGAIN;
        }
        zlistx_add_end(self->walk, strdup(k));
    }
    if (reply->more && n) {
        fc_msg_relay_key_get(reply, n - 1, cursor);
        return FC_RELAY_KEYS_NEXT;
    }
    s_apply(self);
    zlistx_purge(self->walk);
    cursor[0] = '\0';
    return FC_RELAY_KEYS_DONE;
}

void fc_relay_keys_set(fc_relay_keys_t *self, uint64_t serial, zlistx_t *keys)
{
    zlistx_purge(self->walk);
    for (const char *k = zlistx_first(keys); k; k = zlistx_next(keys))
        if (strlen(k) == FC_CURVE_Z85_LEN)
            zlistx_add_end(self->walk, strdup(k));
    self->walk_serial = serial;
    s_apply(self);
    zlistx_purge(self->walk);
}

size_t fc_relay_keys_enforce(fc_relay_keys_t *self)
{
    int64_t now = zclock_mono();
    if (now < self->next_enforce || zhashx_size(self->withdrawn) == 0)
        return 0;
    self->next_enforce = now + S_ENFORCE_MS;
    struct timespec mtime;
    s_set_mtime(self, &mtime);
    if (mtime.tv_sec == self->agents_mtime.tv_sec && mtime.tv_nsec == self->agents_mtime.tv_nsec)
        return 0;
    size_t removed = s_visit(self, self->withdrawn, NULL);
    s_set_mtime(self, &self->agents_mtime);
    return removed;
}

/* One page of keys (sorted) with serial and more. */
static fc_msg_t *s_page(uint64_t serial, bool more, char keys[][FC_CURVE_Z85_LEN + 1], size_t n)
{
    fc_msg_t *m = fc_msg_new(FC_MSG_RELAY_KEYS_REPLY);
    m->serial = serial;
    m->more = more;
    for (size_t i = 0; i < n; i++)
        FC_CHECK(fc_msg_relay_key_add(m, keys[i]) == 0);
    return m;
}

static int s_cmp(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

static bool s_file_holds(const char *dir, const char *z85)
{
    char hex[65], path[PATH_MAX];
    fc_curve_key_hex(z85, hex);
    snprintf(path, sizeof path, "%s/%s.cert", dir, hex);
    return access(path, F_OK) == 0;
}

void fc_relay_keys_test(bool verbose)
{
    printf(" * fc_relay_keys: ");
    char dir[] = "/tmp/fc_relay_keys_test.XXXXXX";
    FC_CHECK(mkdtemp(dir));
    char agents[256], path[PATH_MAX], keys[4][FC_CURVE_Z85_LEN + 1];
    snprintf(agents, sizeof agents, "%s/keys/agents", dir);
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/k%d.cert", dir, i);
        FC_CHECK(fc_curve_generate(path, false, keys[i]) == 0);
    }
    qsort(keys, 4, sizeof keys[0], s_cmp);
    fc_relay_keys_t *rk = fc_relay_keys_new(dir, true);
    FC_CHECK(rk && fc_relay_keys_serial(rk) == 0);

    /* Two pages: keys 0, 1 then 2; all written. */
    char cursor[FC_MSG_KEY_Z85_LEN + 1];
    fc_msg_t *p = s_page(11, true, keys, 2);
    FC_CHECK(fc_relay_keys_page(rk, "", p, cursor) == FC_RELAY_KEYS_NEXT);
    FC_CHECK(streq(cursor, keys[1]));
    fc_msg_destroy(&p);
    p = s_page(11, false, keys + 2, 1);
    FC_CHECK(fc_relay_keys_page(rk, keys[1], p, cursor) == FC_RELAY_KEYS_DONE);
    fc_msg_destroy(&p);
    FC_CHECK(fc_relay_keys_serial(rk) == 11);
    for (int i = 0; i < 3; i++)
        FC_CHECK(s_file_holds(agents, keys[i]));
    FC_CHECK(!s_file_holds(agents, keys[3]));

    /* "More" with no keys: refused, nothing applied. */
    p = s_page(12, true, keys, 0);
    FC_CHECK(fc_relay_keys_page(rk, "", p, cursor) == FC_RELAY_KEYS_BAD);
    fc_msg_destroy(&p);
    FC_CHECK(fc_relay_keys_serial(rk) == 11 && s_file_holds(agents, keys[0]));

    /* A set changed between pages: start again; nothing applied. */
    p = s_page(12, true, keys, 1);
    FC_CHECK(fc_relay_keys_page(rk, "", p, cursor) == FC_RELAY_KEYS_NEXT);
    fc_msg_destroy(&p);
    p = s_page(13, false, keys + 1, 1);
    FC_CHECK(fc_relay_keys_page(rk, keys[0], p, cursor) == FC_RELAY_KEYS_AGAIN && !*cursor);
    fc_msg_destroy(&p);
    FC_CHECK(fc_relay_keys_serial(rk) == 11);

    /* Key 1 revoked upstream, key 3 enrolled by hand here (kept: a local agent). */
    snprintf(path, sizeof path, "%s/by-hand.cert", agents);
    FC_CHECK(fc_curve_save_public(keys[3], path) == 0);
    char two[2][FC_CURVE_Z85_LEN + 1];
    memcpy(two[0], keys[0], sizeof two[0]);
    memcpy(two[1], keys[2], sizeof two[1]);
    p = s_page(14, false, two, 2);
    FC_CHECK(fc_relay_keys_page(rk, "", p, cursor) == FC_RELAY_KEYS_DONE);
    fc_msg_destroy(&p);
    FC_CHECK(!s_file_holds(agents, keys[1]) && s_file_holds(agents, keys[0]));
    FC_CHECK(access(path, F_OK) == 0);

    /* The revoked key copied back by hand is removed again (the state survives a restart). */
    fc_relay_keys_destroy(&rk);
    rk = fc_relay_keys_new(dir, true);
    FC_CHECK(fc_relay_keys_serial(rk) == 14);
    zclock_sleep(20); /* a new directory mtime */
    char copy[PATH_MAX];
    snprintf(copy, sizeof copy, "%s/copied-back.cert", agents);
    FC_CHECK(fc_curve_save_public(keys[1], copy) == 0);
    FC_CHECK(fc_relay_keys_enforce(rk) == 1 && access(copy, F_OK) != 0);
    FC_CHECK(access(path, F_OK) == 0); /* the local key stays */

    /* Enrolled upstream again: written again, no longer withdrawn. */
    p = s_page(11, false, keys, 3);
    FC_CHECK(fc_relay_keys_page(rk, "", p, cursor) == FC_RELAY_KEYS_DONE);
    fc_msg_destroy(&p);
    FC_CHECK(s_file_holds(agents, keys[1]));

    /* A damaged state file reads as empty. */
    fc_relay_keys_destroy(&rk);
    snprintf(path, sizeof path, "%s/" FC_RELAY_KEYS_STATE, dir);
    FC_CHECK(fc_write_file_atomic(path, "garbage\n", 8, 0640) == 0);
    rk = fc_relay_keys_new(dir, true);
    FC_CHECK(rk && fc_relay_keys_serial(rk) == 0);
    fc_relay_keys_destroy(&rk);
    fc_relay_keys_destroy(&rk);
    fc_remove_tree(dir);
    if (verbose)
        printf("(in %s) ", dir);
    printf("OK\n");
}
