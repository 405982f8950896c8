/* fc_rollout_info.c: a channel's rollout as JSON members (fc_rollout_info.h). */
#include "fc_rollout_info.h"

#include <string.h>

void fc_rollout_info_json(fc_json_t *j, const fc_rollout_info_t *r)
{
    fc_json_key_str(j, "channel", r->channel);
    fc_json_key_str(j, "version", r->version);
    fc_json_key_uint(j, "serial", r->serial);
    fc_json_key_str(j, "state", r->state[0] ? r->state : "NONE");
    fc_json_key_bool(j, "halted", !strcmp(r->state, "HALTED"));
    fc_json_key_str(j, "reason", r->reason);
    fc_json_key_uint(j, "wave", r->wave);
    fc_json_key_uint(j, "waves", r->waves);
    fc_json_key_uint(j, "percent", r->percent);
    fc_json_key_uint(j, "halt_percent", r->halt_percent);
    fc_json_key_uint(j, "wave_wait_ms", r->wave_wait_ms);
    fc_json_key_int(j, "wave_started", r->wave_started);
    fc_json_key_str(j, "prev_version", r->prev_version);
    fc_json_key_uint(j, "prev_serial", r->prev_serial);
    fc_json_key_uint(j, "agents", r->agents);
    fc_json_key_uint(j, "offered", r->offered);
    fc_json_key_uint(j, "installed", r->installed);
    fc_json_key_uint(j, "healthy", r->healthy);
    fc_json_key_uint(j, "failed", r->failed);
    fc_json_key_uint(j, "rolled_back", r->rolled_back);
    fc_json_key_uint(j, "downloading", r->downloading);
    fc_json_key_uint(j, "bytes_done", r->bytes_done);
    fc_json_key_uint(j, "bytes_total", r->bytes_total);
    fc_json_key_uint(j, "pending", r->pending);
    fc_json_key_uint(j, "not_offered", r->not_offered);
    fc_json_key_uint(j, "offline", r->offline);
}
