/* fc_relayed.c: applies the reports, acks and slot requests a relay forwards from its agents
   (docs/PROTOCOL.md 3.16, "Reports up"; SECURITY.md, "Relays"). */
#include "fc_relayed.h"
#include "fc_error.h"
#include "fc_manifest.h"
#include "fc_store_config.h"
#include "fc_store_release_rollout.h"
#include "fc_store_via.h"
#include "fc_text.h"

#include <string.h>

static fc_msg_t *s_reply(int code, const char *text, uint64_t serial)
{
    fc_msg_t *r = fc_msg_new(code ? FC_MSG_ERROR : FC_MSG_OK);
    r->code = (uint32_t)code;
    r->serial = serial;
    if (text)
        fc_msg_set_str(r->text, sizeof r->text, text);
    return r;
}

/* One item; FC_OK or why it was skipped (text). */
static int s_item(const fc_relayed_t *ctx, const char *via, const fc_item_t *item, char *text,
                  size_t textsize)
{
    zmsg_t *msg = zmsg_new();
    zmsg_addmem(msg, item->data, item->len);
    int err = FC_OK;
    fc_msg_t *m = fc_msg_decode(&msg, &err);
    zmsg_destroy(&msg);
    if (!m) {
        fc_textf(text, textsize, "an item does not decode: %s", fc_strerror(err));
        return FC_EPROTO;
    }
    if ((m->type != FC_MSG_REPORT || m->nagents != 1) && m->type != FC_MSG_CONFIG_ACK) {
        fc_textf(text, textsize, "an item is a %s, not a REPORT or CONFIG_ACK",
                 fc_msg_type_name(m->type));
        fc_msg_destroy(&m);
        return FC_EPROTO;
    }
    const char *id = m->type == FC_MSG_REPORT ? m->agents[0].id : m->id;
    /* An agent that connects here with its own key speaks for itself only. */
    if (fc_store_agent_key(ctx->store, id)) {
        fc_textf(text, textsize, "agent %s is enrolled here with a key of its own", id);
        fc_msg_destroy(&m);
        return FC_EPERM;
    }
    if (m->type == FC_MSG_REPORT) {
        m->agents[0].via[0] = '\0';
        err = fc_store_agent_report(ctx->store, &m->agents[0]);
        if (!err) /* heard of, as HELLO would tell: restart slots and scopes count it */
            err = fc_store_agent_seen(ctx->store, id, m->agents[0].channel);
        if (!err) { /* served by its relay, not here: counts from its first busy report */
            fc_store_rollout_on_relayed(ctx->store, &m->agents[0]);
            fc_rollout_service_on_report(ctx->rollout, &m->agents[0]);
        }
        if (err)
            fc_textf(text, textsize, "report of agent %s: %s", id, fc_strerror(err));
    } else {
        /* The group the agent told its relay (CONFIG_SYNC there), as it would have told us. */
        fc_store_agent_group_set(ctx->store, id, m->group);
        fc_msg_t *ann = NULL;
        fc_msg_t *r = fc_config_service_handle(ctx->config, m, ctx->epoch, &ann);
        fc_msg_destroy(&ann); /* an ack announces nothing */
        err = r->type == FC_MSG_ERROR ? (int)r->code : FC_OK;
        if (err)
            fc_textf(text, textsize, "ack of agent %s: %s", id, r->text);
        fc_msg_destroy(&r);
    }
    if (!err) {
        fc_store_via_set(ctx->store, id, via);
        if (ctx->up)
            fc_relay_up_queue(ctx->up, via, m); /* the original relay's name goes up */
    }
    fc_msg_destroy(&m);
    return err;
}

fc_msg_t *fc_relayed_reports(const fc_relayed_t *ctx, const fc_msg_t *m)
{
    if (!fc_name_valid(m->text))
        return s_reply(FC_EINVAL, "RELAY_REPORTS: via is not a relay name", 0);
    uint64_t taken = 0;
    size_t skipped = 0;
    char first[FC_MAX_TEXT + 1] = "";
    for (size_t i = 0; i < m->nitems; i++) {
        char text[FC_MAX_TEXT + 1] = "";
        if (s_item(ctx, m->text, &m->items[i], text, sizeof text) == FC_OK)
            taken++;
        else if (skipped++ == 0)
            fc_textf(first, sizeof first, "%s", text);
    }
    if (skipped && !ctx->quiet)
        zsys_warning("fleetcast-broker: relay %s: %zu of %zu forwarded reports skipped (first: "
                     "%s)",
                     m->text, skipped, m->nitems, first);
    return s_reply(FC_OK, NULL, taken);
}

fc_msg_t *fc_relayed_slot(const fc_relayed_t *ctx, const fc_msg_t *m, fc_msg_t **announce)
{
    *announce = NULL;
    if (fc_store_agent_key(ctx->store, m->id)) {
        char text[FC_MAX_TEXT + 1];
        fc_textf(text, sizeof text, "RELAY_SLOT: agent %s is enrolled here with a key of its own",
                 m->id);
        fc_msg_t *r = s_reply(FC_EPERM, text, 0);
        r->req = m->req;
        return r;
    }
    fc_store_agent_group_set(ctx->store, m->id, m->group); /* as in an ack, above */
    fc_msg_t *slot = fc_msg_new(FC_MSG_RESTART_SLOT);
    memcpy(slot->id, m->id, sizeof slot->id);
    memcpy(slot->group, m->group, sizeof slot->group);
    slot->serial = m->serial;
    slot->req = m->req;
    fc_msg_t *reply = fc_config_service_handle(ctx->config, slot, ctx->epoch, announce);
    fc_msg_destroy(&slot);
    return reply;
}
