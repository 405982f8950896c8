/* fc_agent_trust.c: the agent's trusted publisher keys: the --trust file, superseded by a
   signed trusted-key list from the broker (key rotation), kept in STATE/trust.list. */
#include "fc_agent_trust.h"
#include "fc_agent_log.h"
#include "fc_error.h"
#include "fc_file.h"
#include "fc_test_check.h"
#include "fc_trustlist.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_FILE "trust.list"

struct fc_agent_trust_t {
    fc_trust_t *keys; /* in force; rotation changes it in place */
    uint64_t serial;  /* trusted-key list in force, 0: none yet */
    bool unsupported; /* the broker refused GET_TRUST: not asked again this epoch */
    char *path;       /* STATE/trust.list */
    char *trust_file; /* the --trust file, NULL: the embedder's keys */
    bool verbose;
    fc_agent_log_fn *log;
    void *log_arg;
};

/* The class's log lines, through the engine's callback. */
#define s_log(self, ...) fc_agent_logf((self)->log, (self)->log_arg, __VA_ARGS__)

fc_agent_trust_t *fc_agent_trust_new(const fc_trust_t *keys, const char *trust_file,
                                     const char *state_dir, bool verbose, fc_agent_log_fn *log,
                                     void *log_arg, int *err)
{
    int e = FC_OK;
    fc_agent_trust_t *self = (fc_agent_trust_t *)calloc(1, sizeof *self);
    size_t n = strlen(state_dir) + sizeof S_FILE + 2;
    if (self)
        self->path = (char *)malloc(n);
    if (!self || !self->path) {
        fc_agent_trust_destroy(&self);
        if (err)
            *err = FC_ENOMEM;
        return NULL;
    }
    snprintf(self->path, n, "%s/%s", state_dir, S_FILE);
    self->verbose = verbose;
    self->log = log;
    self->log_arg = log_arg;
    if (keys) {
        self->keys = fc_trust_new();
        fc_trust_set(self->keys, keys);
    } else {
        self->keys = fc_trust_load(trust_file, &e);
        self->trust_file = trust_file ? strdup(trust_file) : NULL;
    }
    if (!self->keys) {
        fc_agent_trust_destroy(&self);
        if (err)
            *err = e ? e : FC_EIO;
        return NULL;
    }
    if (fc_mkdirs(state_dir, 0700) != 0)
        return self; /* fc_install_new reports the state dir */
    /* A list accepted earlier was verified against the keys trusted then (which may since
       have been rotated away): its own signature is what is checked again here. */
    size_t len = 0;
    uint8_t *buf = fc_read_file(self->path, FC_MAX_TRUSTLIST, &len);
    if (!buf && errno != ENOENT)
        s_log(self, "cannot read %s; using the --trust keys", self->path);
    fc_trustlist_t list;
    if (buf) {
        int rc = fc_trustlist_open(buf, len, NULL, &list);
        if (rc)
            s_log(self, "ignoring %s: %s; using the --trust keys", self->path, fc_strerror(rc));
        else {
            fc_trust_t *got = fc_trustlist_trust(&list);
            fc_trust_set(self->keys, got);
            fc_trust_destroy(&got);
            self->serial = list.serial;
        }
    }
    free(buf);
    return self;
}

void fc_agent_trust_destroy(fc_agent_trust_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fc_agent_trust_t *self = *self_p;
    fc_trust_destroy(&self->keys);
    free(self->path);
    free(self->trust_file);
    free(self);
    *self_p = NULL;
}

int fc_agent_trust_reload(fc_agent_trust_t *self)
{
    if (!self->trust_file)
        return FC_OK;
    if (self->serial > 0) {
        s_log(self, "%s not read again: the signed trusted-key list %llu in force supersedes it",
              self->trust_file, (unsigned long long)self->serial);
        return FC_OK;
    }
    int e = FC_OK;
    fc_trust_t *keys = fc_trust_load(self->trust_file, &e);
    if (!keys) {
        s_log(self, "cannot read %s again: %s; the keys in force stay", self->trust_file,
              fc_strerror(e ? e : FC_EIO));
        return e ? e : FC_EIO;
    }
    fc_trust_set(self->keys, keys);
    fc_trust_destroy(&keys);
    s_log(self, "trusted keys read again from %s", self->trust_file);
    return FC_OK;
}

const fc_trust_t *fc_agent_trust_keys(const fc_agent_trust_t *self)
{
    return self->keys;
}

uint64_t fc_agent_trust_serial(const fc_agent_trust_t *self)
{
    return self->serial;
}

fc_msg_t *fc_agent_trust_request(const fc_agent_trust_t *self)
{
    if (self->unsupported)
        return NULL;
    fc_msg_t *m = fc_msg_new(FC_MSG_GET_TRUST);
    if (m)
        m->serial = self->serial;
    return m;
}

void fc_agent_trust_reset(fc_agent_trust_t *self)
{
    self->unsupported = false;
}

/* Accepts a list signed by a key trusted now, with a higher serial: stored first (so a
   restart keeps it), then put in force. */
static bool s_accept(fc_agent_trust_t *self, const fc_msg_t *msg)
{
    fc_trustlist_t list;
    int rc = fc_trustlist_open(msg->bytes, msg->bytes_len, self->keys, &list);
    if (!rc && list.serial <= self->serial)
        rc = FC_ESERIAL;
    if (rc) {
        s_log(self, "refused trusted-key list serial %llu: %s (%s)",
              (unsigned long long)(rc == FC_ESERIAL ? list.serial : msg->serial),
              rc == FC_EUNTRUSTED ? "not signed by a key trusted here"
              : rc == FC_ESERIAL  ? "not newer than the list in force"
                                  : fc_strerror(rc),
              fc_agent_error_name(rc));
        return false;
    }
    if (fc_write_file_atomic(self->path, msg->bytes, msg->bytes_len, 0644) != 0) {
        s_log(self, "cannot store %s (%s); keeping the trusted keys in force", self->path,
              strerror(errno));
        return false;
    }
    fc_trust_t *got = fc_trustlist_trust(&list);
    fc_trust_set(self->keys, got);
    fc_trust_destroy(&got);
    self->serial = list.serial;
    s_log(self, "trusted keys rotated: list serial %llu, %zu key(s)",
          (unsigned long long)list.serial, list.nkeys);
    return true;
}

bool fc_agent_trust_on_reply(fc_agent_trust_t *self, const fc_msg_t *msg)
{
    if (msg->type == FC_MSG_ERROR) {
        /* A broker that predates key rotation: asking again would only count against us. */
        if (msg->code == FC_EPROTO)
            self->unsupported = true;
        if (self->verbose)
            s_log(self, "broker answered GET_TRUST with %s", fc_agent_error_name((int)msg->code));
        return false;
    }
    if (msg->type == FC_MSG_TRUST && msg->bytes_len > 0 && msg->serial > self->serial)
        return s_accept(self, msg);
    return false;
}

/* ---------------------------------------------------------------- self-test */

static void s_test_log(const char *line, void *arg)
{
    int *lines = (int *)arg;
    (*lines)++;
    (void)line;
}

/* A TRUST reply carrying list (serial, keys) sealed by signer. */
static fc_msg_t *s_test_reply(const fc_signkey_t *signer, uint64_t serial, const fc_trust_t *keys)
{
    fc_trustlist_t list;
    FC_CHECK(fc_trustlist_from_trust(&list, keys, serial) == FC_OK);
    fc_msg_t *m = fc_msg_new(FC_MSG_TRUST);
    size_t len = 0;
    uint8_t *sealed = fc_trustlist_seal(&list, signer, &len);
    FC_CHECK(sealed);
    m->bytes = sealed;
    m->bytes_len = len;
    m->serial = serial;
    return m;
}

void fc_agent_trust_test(bool verbose)
{
    printf(" * fc_agent_trust: ");
    char root[] = "/tmp/fc_agent_trust.XXXXXX";
    FC_CHECK(mkdtemp(root));
    char state[300];
    snprintf(state, sizeof state, "%s/state", root);
    fc_signkey_t old_key, new_key, stranger;
    fc_signkey_generate(&old_key);
    fc_signkey_generate(&new_key);
    fc_signkey_generate(&stranger);
    fc_trust_t *old_keys = fc_trust_new();
    fc_trust_add(old_keys, old_key.pk);
    fc_trust_t *new_keys = fc_trust_new();
    fc_trust_add(new_keys, new_key.pk);
    int lines = 0;
    int err = 0;

    /* Neither keys nor a loadable file: refused with the file's error. */
    char missing[320];
    snprintf(missing, sizeof missing, "%s/no-such.pub", root);
    FC_CHECK(!fc_agent_trust_new(NULL, missing, state, verbose, s_test_log, &lines, &err));
    FC_CHECK(err != 0);

    /* The embedder's keys, copied; no list yet. */
    fc_agent_trust_t *trust =
        fc_agent_trust_new(old_keys, NULL, state, verbose, s_test_log, &lines, &err);
    FC_CHECK(trust && fc_agent_trust_serial(trust) == 0);
    const fc_trust_t *in_force = fc_agent_trust_keys(trust);
    FC_CHECK(in_force != old_keys && fc_trust_contains(in_force, old_key.pk));
    fc_msg_t *ask = fc_agent_trust_request(trust);
    FC_CHECK(ask && ask->type == FC_MSG_GET_TRUST && ask->serial == 0);
    fc_msg_destroy(&ask);

    /* A list signed by a key not trusted here: refused, logged, nothing stored. */
    fc_msg_t *m = s_test_reply(&stranger, 1, new_keys);
    lines = 0;
    FC_CHECK(!fc_agent_trust_on_reply(trust, m));
    FC_CHECK(lines == 1 && fc_agent_trust_serial(trust) == 0);
    fc_msg_destroy(&m);

    /* Signed by the key in force: rotated in place (the same object borrowers hold). */
    m = s_test_reply(&old_key, 2, new_keys);
    FC_CHECK(fc_agent_trust_on_reply(trust, m));
    FC_CHECK(fc_agent_trust_serial(trust) == 2 && fc_agent_trust_keys(trust) == in_force);
    FC_CHECK(fc_trust_contains(in_force, new_key.pk) && !fc_trust_contains(in_force, old_key.pk));
    fc_msg_destroy(&m);
    ask = fc_agent_trust_request(trust);
    FC_CHECK(ask && ask->serial == 2);
    fc_msg_destroy(&ask);

    /* A replay, or an older list, signed by a key trusted now: refused. */
    m = s_test_reply(&new_key, 2, old_keys);
    FC_CHECK(!fc_agent_trust_on_reply(trust, m));
    m->serial = 3; /* the envelope's serial counts, not the message's */
    FC_CHECK(!fc_agent_trust_on_reply(trust, m));
    FC_CHECK(fc_agent_trust_serial(trust) == 2 && fc_trust_contains(in_force, new_key.pk));
    fc_msg_destroy(&m);

    /* A broker that predates rotation: not asked again until a new epoch. */
    m = fc_msg_new(FC_MSG_ERROR);
    m->code = FC_EPROTO;
    FC_CHECK(!fc_agent_trust_on_reply(trust, m));
    FC_CHECK(fc_agent_trust_request(trust) == NULL);
    fc_agent_trust_reset(trust);
    ask = fc_agent_trust_request(trust);
    FC_CHECK(ask);
    fc_msg_destroy(&ask);
    fc_msg_destroy(&m);
    fc_agent_trust_destroy(&trust);
    FC_CHECK(trust == NULL);
    fc_agent_trust_destroy(&trust);

    /* A restart keeps the rotated list, over the keys it was started with. */
    trust = fc_agent_trust_new(old_keys, NULL, state, verbose, s_test_log, &lines, &err);
    FC_CHECK(trust && fc_agent_trust_serial(trust) == 2);
    FC_CHECK(fc_trust_contains(fc_agent_trust_keys(trust), new_key.pk));
    FC_CHECK(!fc_trust_contains(fc_agent_trust_keys(trust), old_key.pk));
    fc_agent_trust_destroy(&trust);

    /* A damaged stored list is ignored (logged): the keys given are in force. */
    char path[320];
    snprintf(path, sizeof path, "%s/%s", state, S_FILE);
    FC_CHECK(fc_write_file_atomic(path, (const uint8_t *)"garbage", 7, 0644) == 0);
    lines = 0;
    trust = fc_agent_trust_new(old_keys, NULL, state, verbose, s_test_log, &lines, &err);
    FC_CHECK(trust && fc_agent_trust_serial(trust) == 0 && lines == 1);
    FC_CHECK(fc_trust_contains(fc_agent_trust_keys(trust), old_key.pk));
    fc_agent_trust_destroy(&trust);

    fc_trust_destroy(&old_keys);
    fc_trust_destroy(&new_keys);
    fc_signkey_wipe(&old_key);
    fc_signkey_wipe(&new_key);
    fc_signkey_wipe(&stranger);
    fc_remove_tree(root);
    printf("OK\n");
}
