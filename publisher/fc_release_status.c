/* fc_release_status.c: release status and the rollout controls (fc_release_status.h). */
#include "fc_release_status.h"
#include "fc_cli_call.h"
#include "fc_error.h"
#include "fc_rollout_info.h"
#include "fc_text.h"

#include <string.h>

/* One request: fc_cli_call with this command's broker, security and timeout. */
static fc_msg_t *s_call(const fc_release_status_options_t *o, fc_msg_t **req_p, fc_msg_type_t want)
{
    return fc_cli_call(o->broker, o->curve, o->timeout_ms, req_p, want);
}

void fc_release_rollout_print(FILE *out, const fc_rollout_info_t *r)
{
    char done[32], total[32], wait[48] = "until every agent of a wave reported";
    if (!r->state[0])
        fprintf(out, "%s: %s (serial %llu), offered to every agent\n", r->channel, r->version,
                (unsigned long long)r->serial);
    else {
        fprintf(out, "%s: %s (serial %llu), rollout %s%s%s\n", r->channel, r->version,
                (unsigned long long)r->serial, r->state, r->reason[0] ? ": " : "", r->reason);
        if (r->wave_wait_ms)
            snprintf(wait, sizeof wait, "at most %.1f s", (double)r->wave_wait_ms / 1000.0);
        fprintf(out, "  wave %u of %u (%u%% of the agents), halts past %u%%, a wave waits %s\n",
                r->wave, r->waves, r->percent, r->halt_percent, wait);
        if (r->prev_serial)
            fprintf(out, "  agents not offered it follow %s (serial %llu)\n", r->prev_version,
                    (unsigned long long)r->prev_serial);
        else
            fprintf(out, "  agents not offered it have no release\n");
    }
    fprintf(out,
            "  agents %llu: offered %llu, installed %llu, healthy %llu, failed %llu, rolled back"
            " %llu, downloading %llu (%s of %s), pending %llu, not offered %llu, offline %llu\n",
            (unsigned long long)r->agents, (unsigned long long)r->offered,
            (unsigned long long)r->installed, (unsigned long long)r->healthy,
            (unsigned long long)r->failed, (unsigned long long)r->rolled_back,
            (unsigned long long)r->downloading, fc_format_bytes(done, sizeof done, r->bytes_done),
            fc_format_bytes(total, sizeof total, r->bytes_total), (unsigned long long)r->pending,
            (unsigned long long)r->not_offered, (unsigned long long)r->offline);
}

int fc_release_status_run(const fc_release_status_options_t *o, const char *channel)
{
    fc_msg_t *req = fc_msg_new(FC_MSG_ROLLOUT_STATUS);
    fc_msg_set_str(req->channel, sizeof req->channel, channel ? channel : "");
    fc_msg_t *reply = s_call(o, &req, FC_MSG_ROLLOUT_STATUS_REPLY);
    if (!reply)
        return 1;
    bool halted = false;
    fc_json_t *j = o->json ? fc_json_new() : NULL;
    if (j)
        fc_json_open_array(j);
    for (size_t i = 0; i < reply->nrollouts; i++) {
        const fc_rollout_info_t *r = &reply->rollouts[i];
        halted |= !strcmp(r->state, "HALTED");
        if (j) {
            fc_json_open(j);
            fc_rollout_info_json(j, r);
            fc_json_close(j);
        } else
            fc_release_rollout_print(stdout, r);
    }
    if (j) {
        fc_json_close_array(j);
        puts(fc_json_text(j));
        fc_json_destroy(&j);
    } else if (reply->nrollouts == 0)
        printf(channel ? "(no release on channel %s)\n" : "(no releases)\n", channel);
    fc_msg_destroy(&reply);
    return halted ? FC_RELEASE_EXIT_HALTED : 0;
}

int fc_release_control_run(const fc_release_status_options_t *o, const char *action,
                           const char *channel)
{
    fc_msg_type_t type = !strcmp(action, "promote") ? FC_MSG_ROLLOUT_PROMOTE
                         : !strcmp(action, "pause") ? FC_MSG_ROLLOUT_PAUSE
                                                    : FC_MSG_ROLLOUT_RESUME;
    if (!channel) {
        fprintf(stderr, "fleetcast: release %s needs --channel\n(see fleetcast --help)\n", action);
        return 2;
    }
    fc_msg_t *req = fc_msg_new(type);
    fc_msg_set_str(req->channel, sizeof req->channel, channel);
    fc_msg_t *reply = s_call(o, &req, FC_MSG_OK);
    if (!reply)
        return 1;
    if (o->json) {
        fc_json_t *j = fc_json_new();
        fc_json_open(j);
        fc_json_key_bool(j, "ok", true);
        fc_json_key_str(j, "channel", channel);
        fc_json_key_uint(j, "serial", reply->serial);
        fc_json_close(j);
        puts(fc_json_text(j));
        fc_json_destroy(&j);
    } else
        printf("%s: rollout of serial %llu %s\n", channel, (unsigned long long)reply->serial,
               type == FC_MSG_ROLLOUT_PROMOTE ? "promoted: the next wave is offered"
               : type == FC_MSG_ROLLOUT_PAUSE ? "paused: no wave starts until release resume"
                                              : "resumed");
    fc_msg_destroy(&reply);
    return 0;
}
