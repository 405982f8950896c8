/* fc_hostile_agent.c: fleetcast-hostile's as-agent mode: one agent request naming any agent
   id, sent with whatever key this peer was given (a stolen agent key speaking for another
   agent), and the broker's answer printed; a private part of fc_hostile. */
#include <czmq.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fc_ack.h"
#include "fc_error.h"
#include "fc_hash.h"
#include "fc_hostile.h"
#include "fc_msg.h"
#include "fc_optval.h"

/* A REPORT of one agent, id, on channel stable, in state, saying text; NULL if out of
   memory. */
static fc_msg_t *s_report(const char *id, const char *state, const char *text)
{
    fc_msg_t *m = fc_msg_new(FC_MSG_REPORT);
    m->agents = calloc(1, sizeof *m->agents);
    if (!m->agents) {
        fc_msg_destroy(&m);
        return NULL;
    }
    m->nagents = 1;
    fc_agent_status_t *st = &m->agents[0];
    fc_msg_set_str(st->id, sizeof st->id, id);
    fc_msg_set_str(st->channel, sizeof st->channel, "stable");
    fc_msg_set_str(st->state, sizeof st->state, state);
    fc_msg_set_str(st->message, sizeof st->message, text);
    return m;
}

/* The request TYPE names, with what the forged request says: a failure, which is what would
   halt a canary or put an agent in the wrong light. NULL for an unknown TYPE or a missing
   ARG (a revision number for ack and slot). */
static fc_msg_t *s_request(const char *type, const char *id, const char *arg)
{
    fc_msg_t *m = NULL;
    if (streq(type, "hello")) {
        m = fc_msg_new(FC_MSG_HELLO);
        m->role = FC_ROLE_AGENT;
        fc_msg_set_str(m->channel, sizeof m->channel, arg ? arg : "stable");
    } else if (streq(type, "report")) {
        m = s_report(id, arg ? arg : "failed", "forged by fleetcast-hostile");
    } else if (streq(type, "report-blob") && arg) {
        /* A failure naming a blob as corrupt: the broker re-reads that blob, so a stream of
           these is what its rate limits are for. */
        char text[FC_MAX_TEXT + 1];
        snprintf(text, sizeof text,
                 "release ? refused: blob %s corrupt at the broker (forged by fleetcast-hostile)",
                 arg);
        m = s_report(id, "failed", text);
        if (m && fc_hex_decode(m->blob, FC_HASH_LEN, arg) != 0)
            fc_msg_destroy(&m);
    } else if (streq(type, "sync")) {
        m = fc_msg_new(FC_MSG_CONFIG_SYNC);
    } else if ((streq(type, "ack") || streq(type, "slot")) && arg) {
        /* Any revision a peer could name, 0 too: the broker must refuse the wrong ones. */
        uint64_t rev = 0;
        char msg[256];
        if (fc_optval_uint("REV", arg, 0, UINT64_MAX, &rev, msg, sizeof msg)) {
            fprintf(stderr, "fleetcast-hostile: %s\n", msg);
            return NULL;
        }
        m = fc_msg_new(streq(type, "ack") ? FC_MSG_CONFIG_ACK : FC_MSG_RESTART_SLOT);
        m->serial = rev;
        if (m->type == FC_MSG_CONFIG_ACK) {
            fc_msg_set_str(m->state, sizeof m->state, fc_ack_name(FC_ACK_FAILED));
            fc_msg_set_str(m->text, sizeof m->text, "forged by fleetcast-hostile");
        }
    }
    if (m)
        fc_msg_set_str(m->id, sizeof m->id, id);
    return m;
}

int fc_hostile_as_agent(const fc_hostile_target_t *target, const char *type, const char *id,
                        const char *arg)
{
    fc_msg_t *m = s_request(type, id, arg);
    if (!m)
        return -1; /* usage */
    m->req = FC_HOSTILE_REQ;
    char why[64];
    fc_msg_t *reply = fc_hostile_ask(target, &m, 5000, why, sizeof why);
    if (!reply)
        printf("%s\n", why);
    else if (reply->type == FC_MSG_ERROR)
        printf("error %u (%s): %s\n", reply->code, fc_strerror((int)reply->code), reply->text);
    else if (reply->type == FC_MSG_OK)
        printf("ok%s\n", reply->flag ? " granted" : "");
    else
        printf("%s\n", fc_msg_type_name(reply->type));
    int rc = reply ? 0 : 1;
    fc_msg_destroy(&reply);
    return rc;
}
