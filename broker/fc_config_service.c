/* fc_config_service.c: the broker's config requests: push, sync, acks, status, restart slots,
   audit. */
#include "fc_config_service.h"
#include "fc_ack.h"
#include "fc_config.h"
#include "fc_error.h"
#include "fc_manifest.h"
#include "fc_store_config.h"
#include "fc_store_release_rollout.h"
#include "fc_store_slots.h"

#include <ctype.h>
#include <czmq.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Largest signed revision carried inside its CONFIG_ANNOUNCE; bigger ones are fetched with
   CONFIG_SYNC (a PUB message goes to every subscriber, wanted or not). */
#define S_CARRY_MAX (64u * 1024u)

struct fc_config_service_t {
    fc_store_t *store; /* borrowed */
    uint32_t share;    /* percent */
    bool quiet;
    int64_t slot_ttl_ms;
};

fc_config_service_t *fc_config_service_new(fc_store_t *store, uint32_t restart_share, bool quiet)
{
    fc_config_service_t *self = zmalloc(sizeof *self);
    self->store = store;
    self->share = restart_share == 0    ? FC_CONFIG_RESTART_SHARE
                  : restart_share > 100 ? 100
                                        : restart_share;
    self->quiet = quiet;
    self->slot_ttl_ms = FC_CONFIG_SLOT_TTL_MS;
    return self;
}

void fc_config_service_destroy(fc_config_service_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free(*self_p);
    *self_p = NULL;
}

void fc_config_service_set_slot_ttl(fc_config_service_t *self, int64_t ttl_ms)
{
    self->slot_ttl_ms = ttl_ms;
}

bool fc_config_service_handles(int type)
{
    return type == FC_MSG_CONFIG_PUSH || type == FC_MSG_CONFIG_SYNC || type == FC_MSG_CONFIG_ACK ||
           type == FC_MSG_CONFIG_STATUS || type == FC_MSG_RESTART_SLOT || type == FC_MSG_AUDIT ||
           type == FC_MSG_CONFIG_AGENTS || type == FC_MSG_CONFIG_SUMMARY;
}

static fc_msg_t *s_error(int code, const char *text)
{
    fc_msg_t *reply = fc_msg_new(FC_MSG_ERROR);
    reply->code = (uint32_t)code;
    fc_msg_set_str(reply->text, sizeof reply->text, text && *text ? text : fc_strerror(code));
    return reply;
}

static fc_msg_t *s_ok(uint64_t serial, bool flag)
{
    fc_msg_t *reply = fc_msg_new(FC_MSG_OK);
    reply->serial = serial;
    reply->flag = flag;
    return reply;
}

/* Validates an agent id (required unless optional) and a group ("" or a name). */
static bool s_ids_valid(const char *id, const char *group, bool optional)
{
    return ((optional && !*id) || fc_name_valid(id)) && (!*group || fc_name_valid(group));
}

/* --- restart slots ---------------------------------------------------------------------- */

static fc_msg_t *s_restart_slot(fc_config_service_t *self, const fc_msg_t *m)
{
    if (!*m->id || !s_ids_valid(m->id, m->group, false))
        return s_error(FC_EINVAL, "invalid agent id or group");
    fc_store_rev_t info;
    char scope[FC_MAX_SCOPE + 1], text[FC_MAX_TEXT + 1];
    int err = fc_store_config_rev(self->store, m->serial, &info);
    if (!err)
        err = fc_store_config_rev_scope(self->store, &info, scope, sizeof scope);
    size_t matching = 0;
    if (!err)
        err = fc_store_config_matching(self->store, scope, &matching);
    if (err) {
        snprintf(text, sizeof text, "revision %llu: %s", (unsigned long long)m->serial,
                 err == FC_ENOTFOUND ? "no such revision" : fc_strerror(err));
        return s_error(err, text);
    }
    /* Slots go to the agents the revision is for, as the broker knows them (their id, the
       group they told before this request, heard of at all): a made-up id, or one outside
       the scope, cannot take the slot of the agent a small scope names. */
    uint64_t since = 0;
    if (fc_store_agent_known_since(self->store, m->id, &since) != FC_OK ||
        !fc_store_config_in_scope(self->store, &info, m->id)) {
        snprintf(text, sizeof text, "agent %s is not in the scope of revision %llu", m->id,
                 (unsigned long long)m->serial);
        return s_error(FC_EPERM, text);
    }
    fc_store_agent_group_set(self->store, m->id, m->group);
    size_t limit = (self->share * matching + 99) / 100;
    if (limit < 1)
        limit = 1;
    /* Decided in the database, in one transaction: brokers sharing it grant one share of
       the fleet between them (fc_store_slots.c), and a broker restarted finds its slots. */
    const char *key = fc_store_agent_key(self->store, m->id);
    bool granted = false;
    err = fc_store_slot_take(self->store, m->serial, m->id, key, limit, FC_CONFIG_SLOTS_PER_KEY,
                             self->slot_ttl_ms, zclock_time(), &granted);
    if (err)
        return s_error(err, "cannot record the restart slot");
    return s_ok(m->serial, granted);
}

/* --- requests --------------------------------------------------------------------------- */

static fc_msg_t *s_push(fc_config_service_t *self, const fc_msg_t *m, uint64_t epoch,
                        fc_msg_t **announce)
{
    fc_store_rev_t info;
    uint64_t seq = 0;
    char text[FC_MAX_TEXT + 1] = "";
    int err =
        fc_store_config_push(self->store, m->bytes, m->bytes_len, &info, &seq, text, sizeof text);
    if (err)
        return s_error(err, text);
    if (seq > 0) {
        if (!self->quiet)
            zsys_info("fleetcast-broker: config revision %llu (%s) by %s committed, seq %llu",
                      (unsigned long long)info.rev, info.scope, info.signer,
                      (unsigned long long)seq);
        fc_msg_t *ann = fc_msg_new(FC_MSG_CONFIG_ANNOUNCE);
        ann->epoch = epoch;
        ann->seq = seq;
        ann->serial = info.rev;
        fc_msg_set_str(ann->text, sizeof ann->text, info.scope);
        /* A small revision travels with its announcement: agents apply it without each
           asking for it (a CONFIG_SYNC per agent per revision, all at once). */
        if (m->bytes_len <= S_CARRY_MAX)
            fc_msg_set_bytes(ann, m->bytes, m->bytes_len);
        *announce = ann;
    }
    return s_ok(info.rev, false);
}

static fc_msg_t *s_sync(fc_config_service_t *self, const fc_msg_t *m, uint64_t epoch)
{
    if (!s_ids_valid(m->id, m->group, true))
        return s_error(FC_EINVAL, "invalid agent id or group");
    char group[FC_MAX_NAME + 1];
    fc_msg_set_str(group, sizeof group, m->group);
    if (*m->id && !*group)
        fc_store_agent_group(self->store, m->id, group, sizeof group);
    else if (*m->id)
        fc_store_agent_group_set(self->store, m->id, group);
    fc_msg_t *reply = fc_msg_new(FC_MSG_CONFIG_SNAPSHOT);
    reply->epoch = epoch;
    reply->seq = fc_store_seq(self->store);
    reply->serial = fc_store_config_latest(self->store);
    int err =
        fc_store_config_sync(self->store, m->id, group, m->serial, FC_MAX_SNAPSHOT,
                             FC_CONFIG_SYNC_BYTES, &reply->items, &reply->nitems, &reply->flag);
    uint64_t *halted = NULL;
    size_t nhalted = 0;
    if (!err)
        err = fc_store_config_halted(self->store, &halted, &nhalted);
    fc_msg_set_halted(reply, halted, nhalted);
    free(halted);
    if (err) {
        fc_msg_destroy(&reply);
        return s_error(err, "cannot read the config history");
    }
    return reply;
}

static fc_msg_t *s_ack(fc_config_service_t *self, const fc_msg_t *m)
{
    bool halted = false;
    char reason[FC_MAX_TEXT + 1] = "";
    int err = fc_store_config_ack(self->store, m->serial, m->id, m->group, m->state, m->text,
                                  &halted, reason, sizeof reason);
    if (err == FC_EINVAL)
        return s_error(err, "invalid agent id, group or state");
    if (err == FC_EPERM) {
        char text[FC_MAX_TEXT + 1];
        snprintf(text, sizeof text, "agent %s is not in the scope of revision %llu", m->id,
                 (unsigned long long)m->serial);
        return s_error(err, text);
    }
    if (err == FC_ENOTFOUND) {
        char text[FC_MAX_TEXT + 1];
        snprintf(text, sizeof text, "revision %llu does not exist", (unsigned long long)m->serial);
        return s_error(err, text);
    }
    if (err)
        return s_error(err, "cannot record the ack");
    fc_ack_t ack;
    if (fc_ack_from_agent(m->state, &ack) && fc_ack_is(ack, FC_ACK_F_ENDS))
        fc_store_slot_release(self->store, m->serial, m->id); /* else it expires */
    if (halted && !self->quiet)
        zsys_warning("fleetcast-broker: config revision %llu %s", (unsigned long long)m->serial,
                     reason);
    return s_ok(m->serial, false);
}

static fc_msg_t *s_status(fc_config_service_t *self, const fc_msg_t *m)
{
    uint64_t rev = m->serial;
    if (rev == 0 && fc_store_config_latest_set(self->store, &rev) != FC_OK)
        return s_error(FC_ENOTFOUND, "no config revision has been pushed yet");
    size_t limit;
    const char *why = fc_msg_page_check(m, &limit);
    fc_ack_t known;
    if (!why && *m->state && !fc_ack_from_name(m->state, &known))
        why = "unknown state filter: an ack state (docs/PROTOCOL.md CONFIG_ACK) or pending";
    if (why)
        return s_error(FC_EINVAL, why);
    fc_msg_t *reply = fc_msg_new(FC_MSG_CONFIG_STATUS_REPLY);
    fc_store_rev_t info;
    bool more = false;
    int err = fc_store_config_status_page(self->store, rev, m->cursor, m->state, limit, &info,
                                          &reply->agents, &reply->nagents, &more);
    if (!err && more && !m->limit) {
        fc_msg_destroy(&reply);
        return s_error(FC_ETOOBIG, "more agents than one reply holds, and this client does not "
                                   "page: a newer fleetcast lists them all");
    }
    reply->limit = m->limit ? limit : 0;
    reply->more = more;
    if (err) {
        fc_msg_destroy(&reply);
        char text[FC_MAX_TEXT + 1];
        snprintf(text, sizeof text, "revision %llu: %s", (unsigned long long)rev,
                 err == FC_ENOTFOUND ? "no such revision" : fc_strerror(err));
        return s_error(err, text);
    }
    reply->serial = rev;
    reply->flag = info.halted;
    fc_msg_set_str(reply->text, sizeof reply->text, info.halted ? info.reason : "");
    return reply;
}

/* CONFIG_SUMMARY: counts per ack state, one small reply whatever the fleet size. */
static fc_msg_t *s_summary(fc_config_service_t *self, const fc_msg_t *m)
{
    uint64_t rev = m->serial;
    if (rev == 0 && fc_store_config_latest_set(self->store, &rev) != FC_OK)
        return s_error(FC_ENOTFOUND, "no config revision has been pushed yet");
    fc_msg_t *reply = fc_msg_new(FC_MSG_CONFIG_SUMMARY_REPLY);
    reply->counts = calloc(FC_ACK_COUNT, sizeof *reply->counts);
    fc_store_rev_t info;
    int64_t online_since = (int64_t)time(NULL) - fc_store_rollout_offline_after(self->store);
    int err = reply->counts
                  ? fc_store_config_summary(self->store, rev, online_since, &info, reply->counts)
                  : FC_ENOMEM;
    if (err) {
        fc_msg_destroy(&reply);
        char text[FC_MAX_TEXT + 1];
        snprintf(text, sizeof text, "revision %llu: %s", (unsigned long long)rev,
                 err == FC_ENOTFOUND ? "no such revision" : fc_strerror(err));
        return s_error(err, text);
    }
    reply->ncounts = FC_ACK_COUNT;
    reply->serial = rev;
    reply->flag = info.halted;
    fc_msg_set_str(reply->text, sizeof reply->text, info.halted ? info.reason : "");
    return reply;
}

/* CONFIG_AGENTS: who a scope matches now, for a publisher choosing a canary. */
static fc_msg_t *s_agents(fc_config_service_t *self, const fc_msg_t *m)
{
    if (!fc_scope_valid(m->text))
        return s_error(FC_EINVAL, "invalid scope (global, group:NAME or agent:ID)");
    size_t limit;
    const char *why = fc_msg_page_check(m, &limit);
    if (why)
        return s_error(FC_EINVAL, why);
    fc_msg_t *reply = fc_msg_new(FC_MSG_CONFIG_STATUS_REPLY);
    bool more = false;
    int err = fc_store_config_agents(self->store, m->text, m->cursor, limit, &reply->agents,
                                     &reply->nagents, &more);
    if (err) {
        fc_msg_destroy(&reply);
        return s_error(err, "cannot read the fleet");
    }
    /* Never a list silently cut: a client that does not page gets an error instead. */
    if (more && !m->limit) {
        fc_msg_destroy(&reply);
        return s_error(FC_ETOOBIG, "more agents than one reply holds, and this client does not "
                                   "page: a newer fleetcast lists them all");
    }
    reply->limit = m->limit ? limit : 0;
    reply->more = more;
    return reply;
}

static fc_msg_t *s_audit(fc_config_service_t *self, const fc_msg_t *m)
{
    if (m->limit) { /* paged: the whole log, page by page */
        size_t limit;
        const char *why = fc_msg_page_check(m, &limit);
        char *end = NULL;
        errno = 0;
        uint64_t before = *m->cursor ? strtoull(m->cursor, &end, 10) : 0;
        if (!why && *m->cursor && (errno || *end || !isdigit((unsigned char)*m->cursor) || !before))
            why = "invalid cursor: not one an AUDIT_REPLY named";
        if (!why && (*m->state || m->serial))
            why = "a paged AUDIT takes no state and no max";
        if (why)
            return s_error(FC_EINVAL, why);
        fc_msg_t *reply = fc_msg_new(FC_MSG_AUDIT_REPLY);
        uint64_t last = 0;
        int err = fc_store_audit_page(self->store, before, limit, &reply->audit, &reply->naudit,
                                      &reply->more, &last);
        if (err) {
            fc_msg_destroy(&reply);
            return s_error(err, "cannot read the audit log");
        }
        reply->limit = limit;
        if (reply->more)
            snprintf(reply->cursor, sizeof reply->cursor, "%llu", (unsigned long long)last);
        return reply;
    }
    /* Unpaged: the newest max, what was asked for (at most FC_MAX_LIST). */
    size_t max = m->serial == 0 ? 100 : m->serial > FC_MAX_LIST ? FC_MAX_LIST : (size_t)m->serial;
    fc_msg_t *reply = fc_msg_new(FC_MSG_AUDIT_REPLY);
    int err = fc_store_audit_list(self->store, max, &reply->audit, &reply->naudit);
    if (err) {
        fc_msg_destroy(&reply);
        return s_error(err, "cannot read the audit log");
    }
    return reply;
}

fc_msg_t *fc_config_service_handle(fc_config_service_t *self, const fc_msg_t *m, uint64_t epoch,
                                   fc_msg_t **announce)
{
    *announce = NULL;
    fc_msg_t *reply;
    switch (m->type) {
    case FC_MSG_CONFIG_PUSH:
        reply = s_push(self, m, epoch, announce);
        break;
    case FC_MSG_CONFIG_SYNC:
        reply = s_sync(self, m, epoch);
        break;
    case FC_MSG_CONFIG_ACK:
        reply = s_ack(self, m);
        break;
    case FC_MSG_CONFIG_STATUS:
        reply = s_status(self, m);
        break;
    case FC_MSG_CONFIG_SUMMARY:
        reply = s_summary(self, m);
        break;
    case FC_MSG_CONFIG_AGENTS:
        reply = s_agents(self, m);
        break;
    case FC_MSG_RESTART_SLOT:
        reply = s_restart_slot(self, m);
        break;
    case FC_MSG_AUDIT:
        reply = s_audit(self, m);
        break;
    default:
        reply = s_error(FC_EPROTO, "not a config request");
        break;
    }
    reply->req = m->req;
    return reply;
}

void fc_config_service_audit_release(fc_config_service_t *self, const uint8_t *manifest, size_t len,
                                     int err, const char *text, const fc_release_info_t *info)
{
    char who[FC_MAX_NAME + 1], detail[FC_MAX_TEXT + 1], result[FC_MAX_TEXT + 1];
    fc_store_audit_who(manifest, len, who, sizeof who);
    if (!err && info)
        snprintf(detail, sizeof detail, "%s %s serial %llu (%llu files, %llu bytes)", info->channel,
                 info->version, (unsigned long long)info->serial, (unsigned long long)info->files,
                 (unsigned long long)info->size);
    else
        snprintf(detail, sizeof detail, "manifest of %zu bytes", len);
    if (err)
        snprintf(result, sizeof result, "%s: %s", fc_strerror(err),
                 text && *text ? text : fc_strerror(err));
    else
        snprintf(result, sizeof result, "ok");
    fc_store_audit_add(self->store, who, "release.commit", detail, result);
}
