/* fc_keyring.c: roles of enrolled CURVE keys, re-read when the key directories change. */
#include "fc_keyring.h"
#include "fc_curve.h"
#include "fc_file.h"
#include "fc_msg.h"
#include "fc_test_check.h"

#include <czmq.h>
#include <dirent.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* A directory whose mtime is this close to now may change again within the same timestamp
   tick, unseen by the next stat: such a scan is repeated at the next check. */
#define S_SETTLE_NS 2000000000LL

/* keys/agents, keys/publishers, keys/relays. */
#define S_NDIRS 3

typedef struct {
    const char *name;
    int role;
    struct timespec mtime;
    bool present;
} s_dir_t;

struct fc_keyring_t {
    char *keys_dir;
    s_dir_t dirs[S_NDIRS];
    zhashx_t *roles; /* Z85 key -> role bits (as uintptr_t) */
    int64_t next_check_ms;
    bool unsettled;       /* the last scan saw a directory modified just before it */
    uint64_t revocations; /* scans that found a key gone, or with a role fewer */
    uint64_t scans;
};

static void s_path(const fc_keyring_t *self, const s_dir_t *dir, char *out, size_t size)
{
    snprintf(out, size, "%s/%s", self->keys_dir, dir->name);
}

static bool s_ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && streq(s + n - m, suffix);
}

static void s_scan_dir(fc_keyring_t *self, const s_dir_t *dir)
{
    char path[PATH_MAX];
    s_path(self, dir, path, sizeof path);
    DIR *d = opendir(path);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || s_ends_with(e->d_name, "_secret"))
            continue;
        char file[PATH_MAX], key[FC_CURVE_Z85_LEN + 1];
        if (snprintf(file, sizeof file, "%s/%s", path, e->d_name) >= (int)sizeof file)
            continue;
        struct stat st;
        /* Only a cert file enrols: a name alone (even a Z85 one) does not. */
        if (stat(file, &st) != 0 || !S_ISREG(st.st_mode) || fc_curve_read_public(file, key))
            continue;
        uintptr_t roles = (uintptr_t)zhashx_lookup(self->roles, key) | (uintptr_t)dir->role;
        zhashx_update(self->roles, key, (void *)roles);
    }
    closedir(d);
}

static bool s_changed(fc_keyring_t *self)
{
    bool changed = self->unsettled;
    for (int i = 0; i < S_NDIRS; i++) {
        s_dir_t *dir = &self->dirs[i];
        char path[PATH_MAX];
        s_path(self, dir, path, sizeof path);
        struct stat st;
        bool present = stat(path, &st) == 0;
        if (present != dir->present || (present && (st.st_mtim.tv_sec != dir->mtime.tv_sec ||
                                                    st.st_mtim.tv_nsec != dir->mtime.tv_nsec)))
            changed = true;
        dir->present = present;
        if (present)
            dir->mtime = st.st_mtim;
    }
    return changed;
}

static void s_scan(fc_keyring_t *self)
{
    zhashx_t *before = self->roles;
    self->roles = zhashx_new();
    self->scans++;
    s_changed(self); /* records the mtimes this scan reflects */
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    self->unsettled = false;
    for (int i = 0; i < S_NDIRS; i++) {
        const s_dir_t *dir = &self->dirs[i];
        long long age = (long long)(now.tv_sec - dir->mtime.tv_sec) * 1000000000LL +
                        (now.tv_nsec - dir->mtime.tv_nsec);
        if (dir->present && age < S_SETTLE_NS)
            self->unsettled = true;
        s_scan_dir(self, dir);
    }
    for (void *roles = zhashx_first(before); roles; roles = zhashx_next(before)) {
        uintptr_t now = (uintptr_t)zhashx_lookup(self->roles, zhashx_cursor(before));
        if ((uintptr_t)roles & ~now) {
            self->revocations++;
            break;
        }
    }
    zhashx_destroy(&before);
}

fc_keyring_t *fc_keyring_new(const char *keys_dir)
{
    fc_keyring_t *self = zmalloc(sizeof *self);
    self->keys_dir = strdup(keys_dir);
    const fc_role_t roles[S_NDIRS] = {FC_ROLE_AGENT, FC_ROLE_PUBLISHER, FC_ROLE_RELAY};
    for (int i = 0; i < S_NDIRS; i++)
        self->dirs[i] = (s_dir_t){.name = fc_role_keys_dir(roles[i]), .role = roles[i]};
    self->roles = zhashx_new();
    for (int i = 0; i < S_NDIRS; i++) {
        char path[PATH_MAX];
        s_path(self, &self->dirs[i], path, sizeof path);
        if (fc_mkdirs(path, 0750) != 0) {
            fc_keyring_destroy(&self);
            return NULL;
        }
    }
    s_scan(self);
    self->next_check_ms = zclock_mono() + FC_KEYRING_CHECK_MS;
    return self;
}

void fc_keyring_destroy(fc_keyring_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fc_keyring_t *self = *self_p;
    zhashx_destroy(&self->roles);
    free(self->keys_dir);
    free(self);
    *self_p = NULL;
}

void fc_keyring_refresh(fc_keyring_t *self, bool force)
{
    if (force || s_changed(self))
        s_scan(self);
    self->next_check_ms = zclock_mono() + FC_KEYRING_CHECK_MS;
}

int fc_keyring_roles(fc_keyring_t *self, const char *z85)
{
    if (zclock_mono() >= self->next_check_ms)
        fc_keyring_refresh(self, false);
    if (!z85 || !*z85)
        return FC_ROLE_NONE;
    return (int)(uintptr_t)zhashx_lookup(self->roles, z85);
}

uint64_t fc_keyring_revocations(const fc_keyring_t *self)
{
    return self->revocations;
}

size_t fc_keyring_size(const fc_keyring_t *self)
{
    return zhashx_size(self->roles);
}

uint64_t fc_keyring_scans(const fc_keyring_t *self)
{
    return self->scans;
}

static int s_strcmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char **fc_keyring_keys(const fc_keyring_t *self, int role, size_t *n)
{
    *n = 0;
    char **keys = NULL;
    size_t size = zhashx_size(self->roles);
    if (size)
        keys = zmalloc(size * sizeof *keys);
    zlistx_t *names = zhashx_keys(self->roles);
    for (const char *key = zlistx_first(names); key; key = zlistx_next(names))
        if ((uintptr_t)zhashx_lookup(self->roles, key) & (uintptr_t)role)
            keys[(*n)++] = strdup(key);
    zlistx_destroy(&names);
    if (*n > 1)
        qsort(keys, *n, sizeof *keys, s_strcmp);
    if (!*n) {
        free(keys);
        keys = NULL;
    }
    return keys;
}

bool fc_keyring_allows(int roles, int msg_type)
{
    /* The enrolled agent keys go to relays only, which mirror them (docs/PROTOCOL.md 3.16). */
    if (msg_type == FC_MSG_RELAY_KEYS)
        return (roles & FC_ROLE_RELAY) != 0;
    if (roles & FC_ROLE_PUBLISHER)
        return true;
    /* A relay follows releases for the agents behind it: today exactly what an agent reads
       (docs/PROTOCOL.md 3.16); nothing here writes what another peer receives. */
    if (!(roles & (FC_ROLE_AGENT | FC_ROLE_RELAY)))
        return false;
    /* A relay follows the root's release rollouts for its agents (read only). */
    if ((roles & FC_ROLE_RELAY) && msg_type == FC_MSG_ROLLOUT_STATUS)
        return true;
    /* What an agent sends to follow releases and config and to report: nothing here can
       change what another peer receives. A new type needs a publisher until added here. */
    switch (msg_type) {
    case FC_MSG_HELLO:
    case FC_MSG_SYNC:
    case FC_MSG_GET_CHUNK:
    case FC_MSG_GET_OBJECT:
    case FC_MSG_GET_OBJECT_DELTA:
    case FC_MSG_REPORT:
    case FC_MSG_CONFIG_SYNC:
    case FC_MSG_CONFIG_ACK:
    case FC_MSG_RESTART_SLOT:
    case FC_MSG_GET_TRUST:
        return true;
    case FC_MSG_RELAY_REPORTS: /* what its agents said: a relay key only (SECURITY.md) */
    case FC_MSG_RELAY_SLOT:
        return (roles & FC_ROLE_RELAY) != 0;
    default:
        return false;
    }
}

const char *fc_keyring_role_name(int roles)
{
    if (roles & FC_ROLE_PUBLISHER)
        return fc_role_name(FC_ROLE_PUBLISHER);
    if (roles & FC_ROLE_RELAY)
        return fc_role_name(FC_ROLE_RELAY);
    return (roles & FC_ROLE_AGENT) ? fc_role_name(FC_ROLE_AGENT) : "none";
}

void fc_keyring_test(bool verbose)
{
    printf(" * fc_keyring: ");
    char dir[] = "/tmp/fc_keyring_test.XXXXXX";
    FC_CHECK(mkdtemp(dir));
    char keys[256], path[PATH_MAX], agent[FC_CURVE_Z85_LEN + 1], publ[FC_CURVE_Z85_LEN + 1];
    snprintf(keys, sizeof keys, "%s/keys", dir);
    fc_keyring_t *ring = fc_keyring_new(keys);
    FC_CHECK(ring && fc_keyring_size(ring) == 0);

    /* Own certs live outside: generate them there, enrol public copies. */
    snprintf(path, sizeof path, "%s/agent.cert", dir);
    FC_CHECK(fc_curve_generate(path, false, agent) == 0);
    snprintf(path, sizeof path, "%s/publisher.cert", dir);
    FC_CHECK(fc_curve_generate(path, false, publ) == 0);
    FC_CHECK(fc_keyring_roles(ring, agent) == FC_ROLE_NONE);
    FC_CHECK(fc_keyring_roles(ring, "") == FC_ROLE_NONE);
    FC_CHECK(fc_keyring_roles(ring, NULL) == FC_ROLE_NONE);

    char agent_file[PATH_MAX], publ_file[PATH_MAX], hex[65];
    fc_curve_key_hex(agent, hex);
    snprintf(agent_file, sizeof agent_file, "%s/agents/%s.cert", keys, hex);
    FC_CHECK(fc_curve_save_public(agent, agent_file) == 0);
    /* Any file name works, a plain copy included; secrets and junk are skipped. */
    snprintf(path, sizeof path, "%s/publisher.cert", dir);
    snprintf(publ_file, sizeof publ_file, "%s/publishers/copied-by-hand.cert", keys);
    uint8_t *text;
    size_t len;
    FC_CHECK((text = fc_read_file(path, FC_CURVE_MAX_CERT, &len)));
    FC_CHECK(fc_write_file_atomic(publ_file, text, len, 0644) == 0);
    free(text);
    snprintf(path, sizeof path, "%s/agents/junk", keys);
    FC_CHECK(fc_write_file_atomic(path, "not a cert", 10, 0644) == 0);

    /* Not re-read before the check interval; a forced refresh sees both. */
    fc_keyring_refresh(ring, true);
    FC_CHECK(fc_keyring_size(ring) == 2);
    FC_CHECK(fc_keyring_roles(ring, agent) == FC_ROLE_AGENT);
    FC_CHECK(fc_keyring_roles(ring, publ) == FC_ROLE_PUBLISHER);
    size_t nkeys = 0;
    char **listed = fc_keyring_keys(ring, FC_ROLE_AGENT, &nkeys);
    FC_CHECK(nkeys == 1 && streq(listed[0], agent));
    free(listed[0]);
    free(listed);
    FC_CHECK(!fc_keyring_keys(ring, FC_ROLE_RELAY, &nkeys) && nkeys == 0);
    listed = fc_keyring_keys(ring, FC_ROLE_ALL, &nkeys);
    FC_CHECK(nkeys == 2 && strcmp(listed[0], listed[1]) < 0);
    for (size_t i = 0; i < nkeys; i++)
        free(listed[i]);
    free(listed);

    /* Revocation: the file goes, the key goes within the check interval, and the re-read
       counts as one that revoked something (the broker then re-binds its announce socket). */
    FC_CHECK(fc_keyring_revocations(ring) == 0);
    FC_CHECK(unlink(agent_file) == 0);
    FC_CHECK(fc_keyring_roles(ring, agent) == FC_ROLE_AGENT); /* cached */
    zclock_sleep(FC_KEYRING_CHECK_MS + 50);
    FC_CHECK(fc_keyring_roles(ring, agent) == FC_ROLE_NONE);
    FC_CHECK(fc_keyring_roles(ring, publ) == FC_ROLE_PUBLISHER);
    FC_CHECK(fc_keyring_revocations(ring) == 1);
    /* And added again, noticed without a forced refresh; an enrolment revokes nothing. */
    FC_CHECK(fc_curve_save_public(agent, agent_file) == 0);
    zclock_sleep(FC_KEYRING_CHECK_MS + 50);
    FC_CHECK(fc_keyring_roles(ring, agent) == FC_ROLE_AGENT);
    fc_keyring_refresh(ring, true);
    FC_CHECK(fc_keyring_revocations(ring) == 1);

    /* The role policy: deny by default. */
    FC_CHECK(fc_keyring_allows(FC_ROLE_AGENT, FC_MSG_HELLO));
    FC_CHECK(fc_keyring_allows(FC_ROLE_AGENT, FC_MSG_GET_CHUNK));
    FC_CHECK(fc_keyring_allows(FC_ROLE_AGENT, FC_MSG_CONFIG_ACK));
    FC_CHECK(!fc_keyring_allows(FC_ROLE_AGENT, FC_MSG_PUT_CHUNK));
    FC_CHECK(fc_keyring_allows(FC_ROLE_AGENT, FC_MSG_GET_OBJECT));
    FC_CHECK(fc_keyring_allows(FC_ROLE_AGENT, FC_MSG_GET_OBJECT_DELTA));
    FC_CHECK(!fc_keyring_allows(FC_ROLE_AGENT, FC_MSG_OBJECT_DELTA));
    FC_CHECK(!fc_keyring_allows(FC_ROLE_AGENT, FC_MSG_PUT_OBJECT));
    FC_CHECK(!fc_keyring_allows(FC_ROLE_AGENT, FC_MSG_RELEASE_COMMIT));
    FC_CHECK(!fc_keyring_allows(FC_ROLE_AGENT, FC_MSG_CONFIG_PUSH));
    FC_CHECK(!fc_keyring_allows(FC_ROLE_AGENT, FC_MSG_STATUS));
    FC_CHECK(!fc_keyring_allows(FC_ROLE_AGENT, FC_MSG_AUDIT));
    /* Agents follow key rotation (GET_TRUST) but cannot publish a trusted-key list. */
    FC_CHECK(fc_keyring_allows(FC_ROLE_AGENT, FC_MSG_GET_TRUST));
    /* Only a relay forwards its agents' reports and slot requests. */
    FC_CHECK(!fc_keyring_allows(FC_ROLE_AGENT, FC_MSG_RELAY_REPORTS));
    FC_CHECK(!fc_keyring_allows(FC_ROLE_AGENT, FC_MSG_RELAY_SLOT));
    FC_CHECK(fc_keyring_allows(FC_ROLE_RELAY, FC_MSG_RELAY_REPORTS));
    FC_CHECK(fc_keyring_allows(FC_ROLE_RELAY, FC_MSG_RELAY_SLOT));
    FC_CHECK(!fc_keyring_allows(FC_ROLE_AGENT, FC_MSG_TRUST_PUSH));
    /* Rollouts are the operator's: an agent may sync as itself, not plan, promote or pause. */
    for (int t = FC_MSG_ROLLOUT_PLAN; t <= FC_MSG_ROLLOUT_RESUME; t++) {
        FC_CHECK(!fc_keyring_allows(FC_ROLE_AGENT, t));
        FC_CHECK(fc_keyring_allows(FC_ROLE_PUBLISHER, t));
    }
    FC_CHECK(!fc_keyring_allows(FC_ROLE_AGENT, 999));
    FC_CHECK(!fc_keyring_allows(FC_ROLE_NONE, FC_MSG_HELLO));
    FC_CHECK(fc_keyring_allows(FC_ROLE_PUBLISHER, FC_MSG_RELEASE_COMMIT));
    FC_CHECK(fc_keyring_allows(FC_ROLE_PUBLISHER, FC_MSG_GET_CHUNK));
    FC_CHECK(fc_keyring_allows(FC_ROLE_ALL, 999));
    /* A relay key reads what an agent reads, and the root's rollouts (which an agent may
       not), and writes nothing a publisher would; it adds only reading the enrolled agent
       keys and the forwarding of its agents' reports and slot requests. */
    for (int t = 1; t < FC_MSG_TYPE_MAX; t++)
        FC_CHECK(fc_keyring_allows(FC_ROLE_RELAY, t) ==
                 (fc_keyring_allows(FC_ROLE_AGENT, t) || t == FC_MSG_ROLLOUT_STATUS ||
                  t == FC_MSG_RELAY_KEYS || t == FC_MSG_RELAY_REPORTS || t == FC_MSG_RELAY_SLOT));
    FC_CHECK(!fc_keyring_allows(FC_ROLE_AGENT, FC_MSG_ROLLOUT_STATUS));
    FC_CHECK(!fc_keyring_allows(FC_ROLE_RELAY, FC_MSG_ROLLOUT_PROMOTE));
    /* And only a relay key reads the enrolled agent keys: not an agent, not a publisher. */
    FC_CHECK(fc_keyring_allows(FC_ROLE_RELAY, FC_MSG_RELAY_KEYS));
    FC_CHECK(!fc_keyring_allows(FC_ROLE_AGENT, FC_MSG_RELAY_KEYS));
    FC_CHECK(!fc_keyring_allows(FC_ROLE_PUBLISHER, FC_MSG_RELAY_KEYS));
    FC_CHECK(!fc_keyring_allows(FC_ROLE_NONE, FC_MSG_RELAY_KEYS));
    FC_CHECK(fc_keyring_allows(FC_ROLE_ALL, FC_MSG_RELAY_KEYS));
    FC_CHECK(!fc_keyring_allows(FC_ROLE_RELAY, FC_MSG_RELEASE_COMMIT));
    FC_CHECK(fc_keyring_allows(FC_ROLE_RELAY, FC_MSG_GET_OBJECT));
    FC_CHECK(streq(fc_keyring_role_name(FC_ROLE_RELAY), "relay"));
    FC_CHECK(streq(fc_keyring_role_name(FC_ROLE_ALL), "publisher"));
    FC_CHECK(streq(fc_keyring_role_name(FC_ROLE_NONE), "none"));

    fc_keyring_destroy(&ring);
    fc_keyring_destroy(&ring);
    fc_remove_tree(dir);
    if (verbose)
        printf("(keys under %s) ", keys);
    printf("OK\n");
}
