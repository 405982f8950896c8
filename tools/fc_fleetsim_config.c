/* fc_fleetsim_config.c: fleetcast-fleetsim's config rounds: publishing a signed revision,
   timing every engine's changed callback, and waiting for the broker to record the acks. */
#define _GNU_SOURCE
#include "fc_ack.h"
#include "fc_client.h"
#include "fc_config_value.h"
#include "fc_error.h"
#include "fc_fleetsim.h"
#include "fc_msg.h"
#include "fc_revision.h"

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The latest revision number on the broker (CONFIG_SYNC, publisher view, nothing after). */
static int s_latest(fc_client_t *client, uint64_t *latest, char *msg, size_t msgsize)
{
    fc_msg_t *req = fc_msg_new(FC_MSG_CONFIG_SYNC);
    req->serial = UINT64_MAX;
    fc_msg_t *reply = fc_client_call(client, &req, 10000);
    int rc = -1;
    if (!reply)
        snprintf(msg, msgsize, "no answer from the broker to CONFIG_SYNC within 10 s");
    else if (reply->type != FC_MSG_CONFIG_SNAPSHOT)
        snprintf(msg, msgsize, "broker answered CONFIG_SYNC with %s: %s",
                 fc_msg_type_name(reply->type), reply->text);
    else {
        *latest = reply->serial;
        rc = 0;
    }
    fc_msg_destroy(&reply);
    return rc;
}

/* Publishes FC_SIM_KEY=value as latest + 1 (retrying on FC_ESERIAL like `fleetcast config set`).
   t0: just before the signed revision is sent; ack: when the broker's OK arrived. */
int fc_simconfig_publish(fc_client_t *client, const fc_signkey_t *key, int value, uint64_t *rev_out,
                         uint64_t *t0, uint64_t *ack, char *msg, size_t msgsize)
{
    for (int attempt = 1; attempt <= 6; attempt++) {
        uint64_t latest = 0;
        if (s_latest(client, &latest, msg, msgsize) != 0)
            return -1;
        fc_revision_t *rev = fc_revision_new(FC_REV_SET);
        char text[32];
        snprintf(text, sizeof text, "%d", value);
        fc_value_t v;
        if (!rev || fc_value_from_text(&v, text) != 0) {
            fc_revision_destroy(&rev);
            snprintf(msg, msgsize, "cannot build a revision");
            return -1;
        }
        fc_revision_set(rev, FC_SIM_KEY, &v);
        fc_value_free(&v);
        snprintf(rev->scope, sizeof rev->scope, "global");
        snprintf(rev->message, sizeof rev->message, "fleetsim round %d", value);
        rev->rev = latest + 1;
        rev->created = (int64_t)time(NULL);
        size_t len = 0;
        uint8_t *signed_rev = fc_revision_sign(rev, key, &len);
        fc_revision_destroy(&rev);
        if (!signed_rev) {
            snprintf(msg, msgsize, "cannot sign the revision");
            return -1;
        }
        fc_msg_t *push = fc_msg_new(FC_MSG_CONFIG_PUSH);
        fc_msg_set_bytes(push, signed_rev, len);
        free(signed_rev);
        *t0 = fc_sim_now_ns();
        fc_msg_t *reply = fc_client_call(client, &push, 10000);
        *ack = fc_sim_now_ns();
        if (reply && reply->type == FC_MSG_OK) {
            *rev_out = reply->serial ? reply->serial : latest + 1;
            fc_msg_destroy(&reply);
            return 0;
        }
        bool retry = reply && reply->type == FC_MSG_ERROR && reply->code == FC_ESERIAL;
        if (!reply)
            snprintf(msg, msgsize, "no answer from the broker to CONFIG_PUSH within 10 s");
        else
            snprintf(msg, msgsize, "broker refused the revision: %s (%s)", reply->text,
                     fc_strerror((int)reply->code));
        fc_msg_destroy(&reply);
        if (!retry)
            return -1;
        zclock_sleep(attempt * 20);
    }
    return -1;
}

/* Polls CONFIG_STATUS for rev until the broker has an ack from every simulated engine, so
   the next round does not queue behind this round's acks. Fills r->acked, r->acked_ms. */
static void s_wait_acked(fc_client_t *client, const char *prefix, int n, uint64_t t0,
                         double timeout, fc_simround_t *r)
{
    size_t plen = strlen(prefix);
    uint64_t deadline = fc_sim_now_ns() + (uint64_t)(timeout * 1e9);
    while (!zsys_interrupted) {
        fc_msg_t *req = fc_msg_new(FC_MSG_CONFIG_STATUS);
        req->serial = r->rev;
        fc_msg_t *reply = fc_client_call_pages(client, &req, 10000);
        uint64_t now = fc_sim_now_ns();
        int acked = 0;
        if (reply && reply->type == FC_MSG_CONFIG_STATUS_REPLY)
            for (size_t i = 0; i < reply->nagents; i++) {
                const fc_agent_status_t *a = &reply->agents[i];
                acked += strncmp(a->id, prefix, plen) == 0 && a->id[plen] == '-' &&
                         strcmp(a->state, fc_ack_name(FC_ACK_PENDING)) != 0;
            }
        fc_msg_destroy(&reply);
        r->acked = acked;
        if (acked >= n) {
            r->acked_ms = (double)(now - t0) / 1e6;
            return;
        }
        if (now >= deadline)
            return;
        zclock_sleep(50);
    }
}

/* One round: publish, wait for the callbacks, compute the latencies (ms) into r. */
int fc_simconfig_round(const fc_simopts_t *o, fc_client_t *client, const fc_signkey_t *key,
                       fc_simagent_t *sims, int n, int round, fc_simround_t *r, double *all,
                       int *nall)
{
    char msg[FC_MAX_TEXT + 128] = "";
    uint64_t t0 = 0, ack = 0;
    memset(r, 0, sizeof *r);
    r->round = round;
    if (fc_simconfig_publish(client, key, round, &r->rev, &t0, &ack, msg, sizeof msg) != 0) {
        fprintf(stderr, "fleetcast-fleetsim: round %d: %s\n", round, msg);
        return -1;
    }
    r->ack_ms = (double)(ack - t0) / 1e6;
    r->t0_ns = t0;
    uint64_t deadline = t0 + (uint64_t)(o->round_timeout * 1e9);
    int done = 0;
    while (!zsys_interrupted && fc_sim_now_ns() < deadline) {
        done = 0;
        for (int i = 0; i < n; i++)
            done += __atomic_load_n(&sims[i].t[round], __ATOMIC_ACQUIRE) != 0;
        if (done == n)
            break;
        zclock_sleep(2);
    }
    double *lat = malloc(sizeof *lat * (size_t)(n ? n : 1));
    int k = 0;
    for (int i = 0; i < n; i++) {
        uint64_t t = __atomic_load_n(&sims[i].t[round], __ATOMIC_ACQUIRE);
        if (t) {
            /* A callback may run before the push call returns, never before t0 (the
               revision did not exist): clamp anyway, clocks are the same. */
            lat[k] = t > t0 ? (double)(t - t0) / 1e6 : 0;
            all[(*nall)++] = lat[k++];
        }
    }
    fc_simstats(lat, k, r);
    free(lat);
    /* Behind relays (--publish) the acks stay at the relays: the root never has them. */
    if (!o->publish)
        s_wait_acked(client, o->prefix, n, t0, o->round_timeout, r);
    else
        r->acked = -1; /* not counted (JSON "acked":-1) */
    return 0;
}
