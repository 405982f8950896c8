/* fc_agent_trust.c: the agent's trusted publisher keys: the --trust file, superseded by a
   signed trusted-key list from the broker (key rotation), kept in STATE/trust.list. */
#include "fc_agent_priv.h"
#include "fc_error.h"
#include "fc_msg.h"
#include "fc_trustlist.h"
#include "fc_util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define S_FILE "trust.list"

static char *s_path(const fc_agent_t *self)
{
    size_t n = strlen(self->state_dir) + sizeof S_FILE + 2;
    char *path = malloc(n);
    if (path)
        snprintf(path, n, "%s/%s", self->state_dir, S_FILE);
    return path;
}

int fc_agent_trust_open(fc_agent_t *self, const fc_agent_config_t *cfg)
{
    int err = FC_OK;
    if (cfg->trust) {
        self->own_trust = fc_trust_new();
        fc_trust_set(self->own_trust, cfg->trust);
    } else
        self->own_trust = fc_trust_load(cfg->trust_file, &err);
    if (!self->own_trust)
        return err ? err : FC_EIO;
    self->trust = self->own_trust;
    if (fc_mkdirs(self->state_dir, 0700) != 0)
        return FC_OK; /* fc_install_new reports the state dir */
    /* A list accepted earlier was verified against the keys trusted then (which may since
       have been rotated away): its own signature is what is checked again here. */
    char *path = s_path(self);
    size_t len = 0;
    uint8_t *buf = path ? fc_read_file(path, FC_MAX_TRUSTLIST, &len) : NULL;
    if (!buf && errno != ENOENT)
        fc_agent_log(self, "cannot read %s; using the --trust keys", path ? path : S_FILE);
    fc_trustlist_t list;
    if (buf) {
        int rc = fc_trustlist_open(buf, len, NULL, &list);
        if (rc)
            fc_agent_log(self, "ignoring %s: %s; using the --trust keys", path, fc_strerror(rc));
        else {
            fc_trust_t *keys = fc_trustlist_trust(&list);
            fc_trust_set(self->own_trust, keys);
            fc_trust_destroy(&keys);
            self->trust_serial = list.serial;
        }
    }
    self->res.trust_serial = self->trust_serial;
    free(buf);
    free(path);
    return FC_OK;
}

static void s_on_reply(fc_agent_t *self, const fc_msg_t *msg, double now);

/* GET_TRUST: re-sent (after 5 s, and after a reconnect) until answered. */
static const fc_agent_kind_t s_kind = {"GET_TRUST", s_on_reply};

void fc_agent_trust_ask(fc_agent_t *self, double now)
{
    (void)now;
    if (fc_agent_asking(self, &s_kind) || self->trust_unsupported)
        return;
    fc_msg_t *m = fc_msg_new(FC_MSG_GET_TRUST);
    m->serial = self->trust_serial;
    fc_agent_request(self, &m, &s_kind, NULL);
}

void fc_agent_trust_reset(fc_agent_t *self)
{
    self->trust_unsupported = false;
}

/* Accepts a list signed by a key trusted now, with a higher serial: stored first (so a
   restart keeps it), then put in force. */
static void s_accept(fc_agent_t *self, const fc_msg_t *msg)
{
    fc_trustlist_t list;
    int rc = fc_trustlist_open(msg->bytes, msg->bytes_len, self->trust, &list);
    if (!rc && list.serial <= self->trust_serial)
        rc = FC_ESERIAL;
    if (rc) {
        fc_agent_log(self, "refused trusted-key list serial %llu: %s (%s)",
                     (unsigned long long)(rc == FC_ESERIAL ? list.serial : msg->serial),
                     rc == FC_EUNTRUSTED ? "not signed by a key trusted here"
                     : rc == FC_ESERIAL  ? "not newer than the list in force"
                                         : fc_strerror(rc),
                     fc_agent_error_name(rc));
        return;
    }
    char *path = s_path(self);
    if (!path || fc_write_file_atomic(path, msg->bytes, msg->bytes_len, 0644) != 0) {
        fc_agent_log(self, "cannot store %s (%s); keeping the trusted keys in force",
                     path ? path : S_FILE, strerror(errno));
        free(path);
        return;
    }
    free(path);
    fc_trust_t *keys = fc_trustlist_trust(&list);
    fc_trust_set(self->own_trust, keys);
    fc_trust_destroy(&keys);
    self->trust_serial = self->res.trust_serial = list.serial;
    /* A release refused under the old keys deserves another look under the new ones. */
    self->have_decided = false;
    fc_agent_log(self, "trusted keys rotated: list serial %llu, %zu key(s)",
                 (unsigned long long)list.serial, list.nkeys);
}

/* TRUST (or an ERROR) answering our GET_TRUST. */
static void s_on_reply(fc_agent_t *self, const fc_msg_t *msg, double now)
{
    (void)now;
    if (msg->type == FC_MSG_ERROR) {
        /* A broker that predates key rotation: asking again would only count against us. */
        if (msg->code == FC_EPROTO)
            self->trust_unsupported = true;
        if (self->verbose)
            fc_agent_log(self, "broker answered GET_TRUST with %s",
                         fc_agent_error_name((int)msg->code));
        return;
    }
    if (msg->type == FC_MSG_TRUST && msg->bytes_len > 0 && msg->serial > self->trust_serial)
        s_accept(self, msg);
}
