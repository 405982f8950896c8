/* fc_broker_auth.c: the broker's CURVE cert, its zauth ZAP handler and the key roles. */
#include "fc_broker_auth.h"
#include "fc_broker.h"
#include "fc_curve.h"
#include "fc_error.h"
#include "fc_keyring.h"
#include "fc_msg.h"
#include "fc_store_config.h"
#include "fc_util.h"

#include <czmq.h>
#include <unistd.h>

/* The endpoint every ZAP handler binds (RFC 27); only one per libzmq context can. */
#define S_ZAP_ENDPOINT "inproc://zeromq.zap.01"

struct fc_broker_auth_t {
    fc_curve_t *curve;
    fc_keyring_t *keyring;
    zactor_t *zauth;
    int64_t deny_second; /* rate limit of denial audits: current second, count */
    int deny_audits;
};

void fc_broker_auth_destroy(fc_broker_auth_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fc_broker_auth_t *self = *self_p;
    zactor_destroy(&self->zauth);
    fc_keyring_destroy(&self->keyring);
    fc_curve_destroy(&self->curve);
    free(self);
    *self_p = NULL;
}

int fc_broker_auth_timestamp_key(const fc_broker_auth_t *self, fc_signkey_t *out)
{
    return fc_curve_timestamp_key(fc_curve_cert(self->curve), out);
}

/* zauth cannot report a failed bind (it crashes): see first whether the endpoint is free. */
static bool s_zap_slot_free(void)
{
    zsock_t *probe = zsock_new(ZMQ_REP);
    bool free_slot = probe && zsock_bind(probe, S_ZAP_ENDPOINT) == 0;
    if (free_slot)
        zsock_unbind(probe, S_ZAP_ENDPOINT);
    zsock_destroy(&probe);
    return free_slot;
}

fc_broker_auth_t *fc_broker_auth_new(const char *data_dir, bool verbose, int *err, char *text,
                                     size_t textsize)
{
    char path[PATH_MAX], keys[PATH_MAX];
    snprintf(path, sizeof path, "%s/" FC_BROKER_CERT_SECRET, data_dir);
    snprintf(keys, sizeof keys, "%s/" FC_BROKER_KEYS_DIR, data_dir);
    if (access(path, F_OK) != 0) {
        fc_textf(text, textsize,
                 "no broker key %s: make one with 'fleetcast keygen --role broker --out %s'"
                 " (or run with --insecure, for local development only)",
                 path, data_dir);
        *err = FC_ENOTFOUND;
        return NULL;
    }
    fc_broker_auth_t *self = zmalloc(sizeof *self);
    self->curve = fc_curve_new_server(path, err, text, textsize);
    if (!self->curve) {
        fc_broker_auth_destroy(&self);
        return NULL;
    }
    *err = FC_OK;
    if (!s_zap_slot_free()) {
        fc_textf(text, textsize, "another ZAP handler runs in this process");
        *err = FC_EINVAL;
    } else if (!(self->keyring = fc_keyring_new(keys))) {
        fc_textf(text, textsize, "cannot create %s/agents and %s/publishers", keys, keys);
        *err = FC_EIO;
    } else if (!(self->zauth = zactor_new(zauth, NULL))) {
        fc_textf(text, textsize, "cannot start the ZAP handler");
        *err = FC_EIO;
    }
    if (*err) {
        fc_broker_auth_destroy(&self);
        return NULL;
    }
    if (verbose) {
        zstr_sendx(self->zauth, "VERBOSE", NULL);
        zsock_wait(self->zauth);
    }
    /* zcertstore re-reads the tree when its file count, sizes or times change, so an
       enrolment or a revocation counts for the next connection without a restart. */
    zstr_sendx(self->zauth, "CURVE", keys, NULL);
    zsock_wait(self->zauth);
    return self;
}

void fc_broker_auth_apply(fc_broker_auth_t *self, void *sock)
{
    fc_curve_apply(self->curve, sock);
}

int fc_broker_auth_roles(fc_broker_auth_t *self, const char *z85)
{
    return fc_keyring_roles(self->keyring, z85);
}

void fc_broker_auth_deny(fc_broker_auth_t *self, fc_store_t *store, const char *key, int roles,
                         int msg_type, bool quiet, char *text, size_t textsize)
{
    const char *type = fc_msg_type_name(msg_type);
    const char *role = fc_keyring_role_name(roles);
    if (!quiet)
        zsys_warning("fleetcast-broker: denied %s from key %s (role %s)", type,
                     *key ? key : "(none)", role);
    int64_t second = zclock_mono() / 1000;
    if (second != self->deny_second) {
        self->deny_second = second;
        self->deny_audits = 0;
    }
    if (self->deny_audits++ < FC_BROKER_AUTH_MAX_DENY_AUDITS) {
        char detail[FC_MAX_TEXT];
        snprintf(detail, sizeof detail, "%s refused: key role %s", type, role);
        fc_store_audit_add(store, *key ? key : "(no key)", "denied", detail, "FC_EPERM");
    }
    if (roles)
        fc_textf(text, textsize, "%s needs a publisher key; this key is an %s key", type, role);
    else
        fc_textf(text, textsize, "%s refused: this key is not enrolled", type);
}
