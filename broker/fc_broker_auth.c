/* fc_broker_auth.c: the broker's CURVE cert, its zauth ZAP handler, the key roles and the
   agent ids each agent key holds. */
#include "fc_broker_auth.h"
#include "fc_broker.h"
#include "fc_curve.h"
#include "fc_error.h"
#include "fc_keyring.h"
#include "fc_msg.h"
#include "fc_store_config.h"
#include "fc_text.h"

#include <czmq.h>
#include <unistd.h>

/* The endpoint every ZAP handler binds (RFC 27); only one per libzmq context can. */
#define S_ZAP_ENDPOINT "inproc://zeromq.zap.01"

/* Keys whose refusals are counted at once; past this the counts are flushed and forgotten. */
#define S_MAX_DENY_KEYS 10000

/* One key's refusals in the current second: written one by one up to the limit, the rest
   only counted, for a summary entry once the second is over. */
typedef struct {
    int64_t second;
    uint32_t audited;
    uint32_t suppressed;
} s_denials_t;

struct fc_broker_auth_t {
    fc_curve_t *curve;
    fc_keyring_t *keyring;
    uint64_t revocations; /* fc_keyring_revocations as of the last fc_broker_auth_revoked */
    zactor_t *zauth;
    zhashx_t *denials; /* key (Z85, or "(no key)") -> s_denials_t */
};

void fc_broker_auth_destroy(fc_broker_auth_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fc_broker_auth_t *self = *self_p;
    zactor_destroy(&self->zauth);
    zhashx_destroy(&self->denials);
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
    self->denials = zhashx_new();
    zhashx_set_destructor(self->denials, (zhashx_destructor_fn *)zstr_free);
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
    /* Always verbose: its lines are how a refused key reaches the broker's log (main's
       fc_refusals keeps only the refusals unless --verbose). */
    zstr_sendx(self->zauth, "VERBOSE", NULL);
    zsock_wait(self->zauth);
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

/* Writes the summary of a key's refusals that were counted but not written one by one. */
static void s_audit_suppressed(fc_store_t *store, const char *who, s_denials_t *d)
{
    if (d->suppressed == 0)
        return;
    char detail[FC_MAX_TEXT];
    snprintf(detail, sizeof detail,
             "%u more refusals of this key in one second, not recorded one by one (at most %d"
             " a second per key)",
             d->suppressed, FC_BROKER_AUTH_MAX_DENY_AUDITS);
    fc_store_audit_add(store, who, "denied", detail, fc_error_name(FC_EPERM));
    d->suppressed = 0;
}

/* Records a refusal in the audit log, at most FC_BROKER_AUTH_MAX_DENY_AUDITS a second per
   key: a stolen key repeating a refused request must not turn each one into a durable
   write, and must not be able to hide another key's refusals (nor, beyond a count, its own:
   the rest are summed up once the second is over). */
static void s_audit_denial(fc_broker_auth_t *self, fc_store_t *store, const char *key,
                           const char *detail)
{
    const char *who = *key ? key : "(no key)";
    s_denials_t *d = zhashx_lookup(self->denials, who);
    if (!d) {
        if (zhashx_size(self->denials) >= S_MAX_DENY_KEYS) {
            fc_broker_auth_flush(self, store);
            zhashx_purge(self->denials);
        }
        d = zmalloc(sizeof *d);
        zhashx_insert(self->denials, who, d);
    }
    int64_t second = zclock_mono() / 1000;
    if (second != d->second) {
        s_audit_suppressed(store, who, d);
        d->second = second;
        d->audited = 0;
    }
    if (d->audited < FC_BROKER_AUTH_MAX_DENY_AUDITS) {
        d->audited++;
        fc_store_audit_add(store, who, "denied", detail, fc_error_name(FC_EPERM));
    } else
        d->suppressed++;
}

bool fc_broker_auth_revoked(fc_broker_auth_t *self)
{
    fc_keyring_refresh(self->keyring, false);
    uint64_t revocations = fc_keyring_revocations(self->keyring);
    bool revoked = revocations != self->revocations;
    self->revocations = revocations;
    return revoked;
}

fc_keyring_t *fc_broker_auth_keyring(fc_broker_auth_t *self)
{
    return self->keyring;
}

void fc_broker_auth_flush(fc_broker_auth_t *self, fc_store_t *store)
{
    int64_t second = zclock_mono() / 1000;
    for (s_denials_t *d = zhashx_first(self->denials); d; d = zhashx_next(self->denials))
        if (d->suppressed && d->second != second)
            s_audit_suppressed(store, (const char *)zhashx_cursor(self->denials), d);
}

static int s_deny_role(fc_broker_auth_t *self, fc_store_t *store, const char *key, int roles,
                       int msg_type, bool quiet, char *text, size_t textsize)
{
    const char *type = fc_msg_type_name(msg_type);
    const char *role = fc_keyring_role_name(roles);
    if (!quiet)
        zsys_warning("fleetcast-broker: denied %s from key %s (role %s)", type,
                     *key ? key : "(none)", role);
    char detail[FC_MAX_TEXT];
    snprintf(detail, sizeof detail, "%s refused: key role %s", type, role);
    s_audit_denial(self, store, key, detail);
    if (roles)
        fc_textf(text, textsize, "%s needs a %s key; this key is %s %s key", type,
                 msg_type == FC_MSG_RELAY_KEYS ? "relay" : "publisher",
                 strchr("aeiou", role[0]) ? "an" : "a", role);
    else
        fc_textf(text, textsize, "%s refused: this key is not enrolled", type);
    return FC_EPERM;
}

/* The agent id a request speaks for ("" if none): each of these writes something under it
   (last seen, status, group, ack, restart slot). CONFIG_SYNC without an id is the
   publisher view and names nobody; HELLO names an agent only in the agent role. */
static const char *s_agent_id(const fc_msg_t *m)
{
    switch (m->type) {
    case FC_MSG_HELLO:
        return m->role == FC_ROLE_AGENT ? m->id : "";
    case FC_MSG_REPORT:
        return m->nagents == 1 ? m->agents[0].id : "";
    case FC_MSG_SYNC: /* with an id: the agent asks what its rollout wave offers it */
    case FC_MSG_CONFIG_SYNC:
    case FC_MSG_CONFIG_ACK:
    case FC_MSG_RESTART_SLOT:
        return m->id;
    default:
        return "";
    }
}

/* fc_store_enrolled_fn: a key holds its agent ids until it leaves the key directories. */
static bool s_enrolled(const char *key, void *arg)
{
    fc_broker_auth_t *self = arg;
    return fc_keyring_roles(self->keyring, key) != FC_ROLE_NONE;
}

int fc_broker_auth_check(fc_broker_auth_t *self, fc_store_t *store, const char *key,
                         const fc_msg_t *m, bool quiet, char *text, size_t textsize)
{
    int roles = fc_keyring_roles(self->keyring, key);
    if (!fc_keyring_allows(roles, m->type))
        return s_deny_role(self, store, key, roles, m->type, quiet, text, textsize);
    const char *id = s_agent_id(m);
    /* Publishers act for any agent (config get --agent ID reads as that agent). */
    if (!*id || (roles & FC_ROLE_PUBLISHER))
        return FC_OK;
    char holder[FC_CURVE_Z85_LEN + 1];
    int err = fc_store_agent_claim(store, id, key, s_enrolled, self, holder, sizeof holder);
    if (err == FC_EINVAL)
        return FC_OK; /* not a valid id: the request's handler refuses it, and binds nothing */
    const char *type = fc_msg_type_name(m->type);
    if (err == FC_EPERM) {
        if (!quiet)
            zsys_warning("fleetcast-broker: denied %s as agent %s from key %s: the id belongs to"
                         " key %s",
                         type, id, key, holder);
        char detail[FC_MAX_TEXT];
        snprintf(detail, sizeof detail, "%s as agent %s refused: the id belongs to key %s", type,
                 id, holder);
        s_audit_denial(self, store, key, detail);
        fc_textf(text, textsize, "%s refused: agent id %s belongs to another agent key", type, id);
    } else if (err)
        fc_textf(text, textsize, "%s: cannot record which key agent %s belongs to: %s", type, id,
                 fc_strerror(err));
    return err;
}
