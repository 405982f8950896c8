/* fc_rollout_service.c: release rollout requests and stepping (fc_rollout_service.h), over
   the store's rollouts (fc_store_release_rollout.c). */
#include "fc_rollout_service.h"
#include "fc_error.h"
#include "fc_store_config.h"
#include "fc_store_release_rollout.h"

#include <stdio.h>
#include <string.h>

struct fc_rollout_service_t {
    fc_store_t *store;
    bool quiet;
    bool reported; /* a report since the last step */
};

fc_rollout_service_t *fc_rollout_service_new(fc_store_t *store, bool quiet)
{
    fc_rollout_service_t *self = zmalloc(sizeof *self);
    self->store = store;
    self->quiet = quiet;
    return self;
}

void fc_rollout_service_destroy(fc_rollout_service_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free(*self_p);
    *self_p = NULL;
}

static fc_msg_t *s_error(int code, const char *text)
{
    fc_msg_t *reply = fc_msg_new(FC_MSG_ERROR);
    reply->code = (uint32_t)code;
    fc_msg_set_str(reply->text, sizeof reply->text, text && *text ? text : fc_strerror(code));
    return reply;
}

static fc_msg_t *s_ok(uint64_t serial)
{
    fc_msg_t *reply = fc_msg_new(FC_MSG_OK);
    reply->serial = serial;
    return reply;
}

static fc_msg_t *s_announce(uint64_t epoch, uint64_t seq, const fc_release_info_t *info)
{
    fc_msg_t *ann = fc_msg_new(FC_MSG_ANNOUNCE);
    ann->epoch = epoch;
    ann->seq = seq;
    fc_msg_set_str(ann->channel, sizeof ann->channel, info->channel);
    fc_msg_set_str(ann->version, sizeof ann->version, info->version);
    ann->serial = info->serial;
    return ann;
}

static fc_msg_t *s_plan(fc_rollout_service_t *self, const fc_msg_t *m, const char *who)
{
    int err = fc_store_rollout_plan(self->store, m->channel, m->serial, m->waves, m->nwaves,
                                    m->halt_percent, m->wave_wait_ms, m->flag);
    char detail[FC_MAX_TEXT + 1], text[FC_MAX_TEXT + 1] = "";
    int used = snprintf(detail, sizeof detail, "%s serial %llu: waves", m->channel,
                        (unsigned long long)m->serial);
    for (size_t i = 0; i < m->nwaves && used > 0 && (size_t)used < sizeof detail; i++)
        used += snprintf(detail + used, sizeof detail - (size_t)used, "%s%u", i ? "," : " ",
                         m->waves[i]);
    if (used > 0 && (size_t)used < sizeof detail)
        snprintf(detail + used, sizeof detail - (size_t)used, ", halt at %u%%%s", m->halt_percent,
                 m->flag ? ", held for promote after wave 1" : "");
    if (err == FC_EINVAL)
        snprintf(text, sizeof text,
                 "invalid rollout: channel name, serial, waves (rising"
                 " percentages ending at 100), halt percent 0..100");
    else if (err == FC_ESERIAL)
        snprintf(text, sizeof text, "serial %llu of %s is committed already",
                 (unsigned long long)m->serial, m->channel);
    fc_store_audit_add(self->store, who, "release.plan", detail, err ? text : "ok");
    return err ? s_error(err, text) : s_ok(m->serial);
}

static fc_msg_t *s_status(fc_rollout_service_t *self, const fc_msg_t *m)
{
    fc_msg_t *reply = fc_msg_new(FC_MSG_ROLLOUT_STATUS_REPLY);
    int err = fc_store_rollout_status(self->store, m->channel, FC_MAX_LIST, &reply->rollouts,
                                      &reply->nrollouts);
    if (err) {
        fc_msg_destroy(&reply);
        return s_error(err, "cannot read the rollouts");
    }
    return reply;
}

static fc_msg_t *s_control(fc_rollout_service_t *self, const fc_msg_t *m, const char *who,
                           uint64_t epoch, fc_msg_t **announce)
{
    fc_rollout_action_t action = m->type == FC_MSG_ROLLOUT_PROMOTE ? FC_ROLLOUT_PROMOTE
                                 : m->type == FC_MSG_ROLLOUT_PAUSE ? FC_ROLLOUT_PAUSE
                                                                   : FC_ROLLOUT_RESUME;
    const char *name = action == FC_ROLLOUT_PROMOTE ? "release.promote"
                       : action == FC_ROLLOUT_PAUSE ? "release.pause"
                                                    : "release.resume";
    uint64_t serial = 0, seq = 0;
    fc_release_info_t info;
    char text[FC_MAX_TEXT + 1] = "", detail[FC_MAX_TEXT + 1];
    int err = fc_store_rollout_control(self->store, m->channel, action, &serial, &info, &seq, text,
                                       sizeof text);
    snprintf(detail, sizeof detail, "%s serial %llu", m->channel, (unsigned long long)serial);
    fc_store_audit_add(self->store, who, name, detail,
                       err ? (*text ? text : fc_strerror(err)) : "ok");
    if (err)
        return s_error(err, text);
    if (seq)
        *announce = s_announce(epoch, seq, &info);
    if (!self->quiet)
        zsys_info("fleetcast-broker: %s %s (serial %llu)", name, m->channel,
                  (unsigned long long)serial);
    return s_ok(serial);
}

fc_msg_t *fc_rollout_service_handle(fc_rollout_service_t *self, const fc_msg_t *m, const char *key,
                                    uint64_t epoch, fc_msg_t **announce)
{
    *announce = NULL;
    const char *who = key && *key ? key : "(no key)";
    switch (m->type) {
    case FC_MSG_ROLLOUT_PLAN:
        return s_plan(self, m, who);
    case FC_MSG_ROLLOUT_STATUS:
        return s_status(self, m);
    default:
        return s_control(self, m, who, epoch, announce);
    }
}

void fc_rollout_service_on_report(fc_rollout_service_t *self, const fc_agent_status_t *status)
{
    if (fc_store_rollout_on_report(self->store, status) == FC_OK)
        self->reported = true;
}

size_t fc_rollout_service_step(fc_rollout_service_t *self, uint64_t epoch, void *pub,
                               bool every_beat, size_t *changed)
{
    *changed = 0;
    if (!every_beat && !self->reported)
        return 0;
    self->reported = false;
    char(*channels)[FC_MAX_NAME + 1] = NULL;
    size_t n = 0, announced = 0;
    if (fc_store_rollout_active(self->store, &channels, &n))
        return 0;
    for (size_t i = 0; i < n; i++) {
        /* A wave may end at once (nobody online in it): step until it stays. */
        for (int round = 0; round < FC_MAX_WAVES + 1; round++) {
            fc_rollout_step_t step;
            fc_release_info_t info;
            uint64_t seq = 0;
            char text[FC_MAX_TEXT + 1];
            if (fc_store_rollout_step(self->store, channels[i], &step, &info, &seq, text,
                                      sizeof text) ||
                step == FC_ROLLOUT_STAY)
                break;
            (*changed)++;
            if (!self->quiet)
                zsys_info("fleetcast-broker: rollout of %s %s: %s%s%s", info.channel, info.version,
                          fc_rollout_step_name(step), *text ? ": " : "", text);
            if (seq) {
                fc_msg_t *ann = s_announce(epoch, seq, &info);
                /* Subscribers that miss it see the gap, or the heartbeat's seq, and SYNC. */
                if (fc_msg_publish(&ann, pub) == 0)
                    announced++;
                fc_msg_destroy(&ann);
            }
            if (step != FC_ROLLOUT_NEXT)
                break;
        }
    }
    free(channels);
    return announced;
}
