/* fc_config_status.c: fleet convergence of a config revision (`config status`) and the
   broker's audit log (`fleetcast audit`); a private part of fc_config_cmd
   (fc_config_cmd_priv.h). */
#include "fc_ack.h"
#include "fc_config_cmd_priv.h"
#include "fc_error.h"
#include "fc_json.h"
#include "fc_text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The states of a revision's agents are fc_ack.h's, printed in its order; anything else a
   (newer) broker sends is counted as "other", at index FC_ACK_COUNT. */
#define S_NSTATES FC_ACK_COUNT

static size_t s_state_index(const char *state)
{
    fc_ack_t ack;
    return fc_ack_from_name(state, &ack) ? (size_t)ack : S_NSTATES;
}

static void s_status_json(const fc_msg_t *reply, const size_t *counts)
{
    fc_json_t *j = fc_json_new();
    fc_json_open(j);
    fc_json_key_uint(j, "rev", reply->serial);
    fc_json_key_bool(j, "halted", reply->flag);
    fc_json_key_str(j, "halt_reason", reply->flag ? reply->text : "");
    fc_json_key_uint(j, "total", reply->nagents);
    fc_json_key_uint(j, "offline", counts[S_NSTATES + 1]);
    for (size_t i = 0; i <= S_NSTATES; i++)
        fc_json_key_uint(j, i < S_NSTATES ? fc_ack_name((fc_ack_t)i) : "other", counts[i]);
    fc_json_key(j, "agents");
    fc_json_open_array(j);
    for (size_t i = 0; i < reply->nagents; i++) {
        const fc_agent_status_t *a = &reply->agents[i];
        fc_json_open(j);
        fc_json_key_str(j, "id", a->id);
        fc_json_key_str(j, "group", a->channel);
        fc_json_key_str(j, "state", a->state);
        fc_json_key_str(j, "message", a->message);
        fc_json_key_int(j, "last_seen", a->last_seen);
        fc_json_key_bool(j, "offline", fc_msg_agent_offline(reply, a));
        fc_json_key_str(j, "via", a->via); /* the relay it reports through; "" none */
        fc_json_close(j);
    }
    fc_json_close_array(j);
    fc_json_close(j);
    puts(fc_json_text(j));
    fc_json_destroy(&j);
}

static void s_status_text(const fc_msg_t *reply, const size_t *counts)
{
    printf("config revision %llu: %zu agents:", (unsigned long long)reply->serial, reply->nagents);
    for (size_t i = 0; i < S_NSTATES; i++)
        printf("%s %zu %s", i ? "," : "", counts[i], fc_ack_name((fc_ack_t)i));
    if (counts[S_NSTATES])
        printf(", %zu other", counts[S_NSTATES]);
    if (counts[S_NSTATES + 1])
        printf("; %zu offline", counts[S_NSTATES + 1]);
    printf("\n");
    if (reply->flag) {
        printf("HALTED: %s\n", fc_cmd_halt_reason(reply->text));
    }
    if (reply->nagents == 0)
        return;
    bool any_via = false; /* VIA only when some agent is behind a relay */
    for (size_t i = 0; i < reply->nagents; i++)
        any_via |= reply->agents[i].via[0] != '\0';
    printf("%-24s %-16s %-17s %-20s ", "ID", "GROUP", "STATE", "LAST-SEEN");
    if (any_via)
        printf("%-12s ", "VIA");
    printf("MESSAGE\n");
    /* Grouped by state, so "which agents failed" reads as one block. */
    for (size_t s = 0; s <= S_NSTATES; s++)
        for (size_t i = 0; i < reply->nagents; i++) {
            const fc_agent_status_t *a = &reply->agents[i];
            if (s_state_index(a->state) != s)
                continue;
            char seen[32];
            fc_format_time(seen, sizeof seen, a->last_seen);
            printf("%-24s %-16s %-17s %-20s ", a->id, *a->channel ? a->channel : "-", a->state,
                   seen);
            if (any_via)
                printf("%-12s ", *a->via ? a->via : "-");
            printf("%s%s\n", fc_msg_agent_offline(reply, a) ? "(offline) " : "", a->message);
        }
}

/* config status --summary: the broker's counts per ack state (CONFIG_SUMMARY), printed as
   the first line of the full status (text), or its object without the agents (--json). */
static int s_summary(const fc_config_cmd_options_t *o, fc_client_t *client, uint64_t rev)
{
    fc_msg_t *req = fc_msg_new(FC_MSG_CONFIG_SUMMARY);
    req->serial = rev;
    fc_msg_t *reply = fc_cmd_call(o, client, &req, FC_MSG_CONFIG_SUMMARY_REPLY);
    if (!reply)
        return 1;
    size_t counts[S_NSTATES + 2] = {0};
    size_t total = 0;
    for (size_t i = 0; i < reply->ncounts; i++) {
        counts[s_state_index(reply->counts[i].state)] += reply->counts[i].agents;
        counts[S_NSTATES + 1] += reply->counts[i].offline;
        total += reply->counts[i].agents;
    }
    if (o->json) {
        fc_json_t *j = fc_json_new();
        fc_json_open(j);
        fc_json_key_uint(j, "rev", reply->serial);
        fc_json_key_bool(j, "halted", reply->flag);
        fc_json_key_str(j, "halt_reason", reply->flag ? reply->text : "");
        fc_json_key_uint(j, "total", total);
        fc_json_key_uint(j, "offline", counts[S_NSTATES + 1]);
        for (size_t i = 0; i <= S_NSTATES; i++)
            fc_json_key_uint(j, i < S_NSTATES ? fc_ack_name((fc_ack_t)i) : "other", counts[i]);
        fc_json_close(j);
        puts(fc_json_text(j));
        fc_json_destroy(&j);
    } else {
        printf("config revision %llu: %zu agents:", (unsigned long long)reply->serial, total);
        for (size_t i = 0; i < S_NSTATES; i++)
            printf("%s %zu %s", i ? "," : "", counts[i], fc_ack_name((fc_ack_t)i));
        if (counts[S_NSTATES])
            printf(", %zu other", counts[S_NSTATES]);
        if (counts[S_NSTATES + 1])
            printf("; %zu offline", counts[S_NSTATES + 1]);
        printf("\n");
        if (reply->flag)
            printf("HALTED: %s\n", fc_cmd_halt_reason(reply->text));
    }
    fc_msg_destroy(&reply);
    return 0;
}

int fc_cmd_status(const fc_config_cmd_options_t *o, int argc, char **argv)
{
    uint64_t rev = 0;
    if (argc > 2)
        return fc_cmd_usage("config status takes at most one revision, not '%s'", argv[2]);
    if (argc == 2 && !(rev = fc_cmd_parse_rev(argv[1])))
        return fc_cmd_usage("not a revision number: '%s'", argv[1]);
    fc_client_t *client = fc_cmd_connect(o);
    if (!client)
        return 1;
    if (o->summary) {
        int rc = s_summary(o, client, rev);
        fc_client_destroy(&client);
        return rc;
    }
    fc_msg_t *req = fc_msg_new(FC_MSG_CONFIG_STATUS);
    req->serial = rev;
    fc_msg_t *reply = fc_cmd_call(o, client, &req, FC_MSG_CONFIG_STATUS_REPLY);
    fc_client_destroy(&client);
    if (!reply)
        return 1;
    /* Per state, then "other", then the agents offline (counted in their state too). */
    size_t counts[S_NSTATES + 2] = {0};
    for (size_t i = 0; i < reply->nagents; i++) {
        counts[s_state_index(reply->agents[i].state)]++;
        counts[S_NSTATES + 1] += fc_msg_agent_offline(reply, &reply->agents[i]);
    }
    if (o->json)
        s_status_json(reply, counts);
    else
        s_status_text(reply, counts);
    fc_msg_destroy(&reply);
    return 0;
}

int fc_audit_cmd_run(const fc_config_cmd_options_t *o, int argc, char **argv)
{
    if (argc > 1)
        return fc_cmd_usage("audit takes no operands, not '%s'", argv[1]);
    fc_client_t *client = fc_cmd_connect(o);
    if (!client)
        return 1;
    fc_msg_t *req = fc_msg_new(FC_MSG_AUDIT);
    req->serial = 0; /* the broker's default number of entries */
    if (o->all)
        req->limit = FC_MAX_LIST; /* paged: every entry, page by page */
    fc_msg_t *reply = fc_cmd_call(o, client, &req, FC_MSG_AUDIT_REPLY);
    fc_client_destroy(&client);
    if (!reply)
        return 1;
    if (o->json) {
        fc_json_t *j = fc_json_new();
        fc_json_open_array(j);
        for (size_t i = 0; i < reply->naudit; i++) {
            const fc_audit_entry_t *e = &reply->audit[i];
            fc_json_open(j);
            fc_json_key_int(j, "time", e->time);
            fc_json_key_str(j, "who", e->who);
            fc_json_key_str(j, "action", e->action);
            fc_json_key_str(j, "detail", e->detail);
            fc_json_key_str(j, "result", e->result);
            fc_json_close(j);
        }
        fc_json_close_array(j);
        puts(fc_json_text(j));
        fc_json_destroy(&j);
    } else {
        printf("%-20s %-18s %-16s %-10s %s\n", "TIME", "WHO", "ACTION", "RESULT", "DETAIL");
        for (size_t i = 0; i < reply->naudit; i++) {
            const fc_audit_entry_t *e = &reply->audit[i];
            char when[32];
            fc_format_time(when, sizeof when, e->time);
            printf("%-20s %-18s %-16s %-10s %s\n", when, e->who, e->action, e->result, e->detail);
        }
        if (reply->naudit == 0)
            printf("(no audit entries)\n");
    }
    fc_msg_destroy(&reply);
    return 0;
}
