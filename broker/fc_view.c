/* fc_view.c: the fleet view the broker's thread builds from its store for the HTTP thread:
   per-channel releases, agent counts, config convergence, and the page's JSON document. */
#include "fc_view.h"
#include "fc_error.h"
#include "fc_file.h"
#include "fc_json.h"
#include "fc_rollout_info.h"
#include "fc_state.h"
#include "fc_store_config.h"
#include "fc_store_release_rollout.h"
#include "fc_store_testdb.h"
#include "fc_store_via.h"
#include "fc_test_check.h"

#include <czmq.h>
#include <string.h>

void fc_view_destroy(fc_view_t **self_p)
{
    fc_view_t *self = *self_p;
    if (!self)
        return;
    free(self->channels);
    free(self->counts);
    free(self->revs);
    free(self->rollouts);
    free(self->json);
    free(self);
    *self_p = NULL;
}

bool fc_view_changes(fc_msg_type_t type)
{
    switch (type) {
    case FC_MSG_HELLO:           /* an agent appears, or its channel or group changes */
    case FC_MSG_REPORT:          /* version, state, progress, message */
    case FC_MSG_RELEASE_COMMIT:  /* a channel's current release */
    case FC_MSG_CONFIG_PUSH:     /* a revision, and an audit entry */
    case FC_MSG_CONFIG_ACK:      /* convergence */
    case FC_MSG_TRUST_PUSH:      /* an audit entry */
    case FC_MSG_ROLLOUT_PLAN:    /* an audit entry */
    case FC_MSG_ROLLOUT_PROMOTE: /* a rollout's state and wave */
    case FC_MSG_ROLLOUT_PAUSE:
    case FC_MSG_ROLLOUT_RESUME:
        return true;
    default:
        return false;
    }
}

/* One revision's convergence, counted by the store over every agent it applies to
   (fc_store_config_summary: the same agents CONFIG_STATUS lists, however many; a list of
   the first FC_MAX_LIST would undercount a larger fleet). */
static int s_rev(fc_store_t *store, uint64_t rev, fc_view_rev_t *out)
{
    fc_store_rev_t info;
    fc_fleet_count_t *counts = calloc(FC_ACK_COUNT, sizeof *counts);
    if (!counts)
        return FC_ENOMEM;
    int err = fc_store_config_summary(store, rev, 0, &info, counts);
    if (!err) {
        memset(out, 0, sizeof *out);
        out->rev = rev;
        snprintf(out->scope, sizeof out->scope, "%s", info.scope);
        out->committed = info.committed;
        out->halted = info.halted;
        for (int a = 0; a < FC_ACK_COUNT; a++)
            out->acks[a] = counts[a].agents;
    }
    free(counts);
    return err;
}

static int s_json_releases(fc_json_t *j, const fc_view_t *v, fc_store_t *store)
{
    fc_json_key(j, "channels");
    fc_json_open_array(j);
    for (size_t i = 0; i < v->nchannels; i++) {
        const fc_release_info_t *r = &v->channels[i];
        uint64_t on = 0, agents = 0;
        for (size_t k = 0; k < v->ncounts; k++)
            if (streq(v->counts[k].channel, r->channel)) {
                agents += v->counts[k].count;
                if (streq(v->counts[k].version, r->version))
                    on += v->counts[k].count;
            }
        /* Groups left out may hold this channel's agents: ask the store, never undercount. */
        if (v->groups_left_out) {
            int err = fc_store_view_channel_agents(store, r->channel, r->version, &agents, &on);
            if (err)
                return err;
        }
        fc_json_open(j);
        fc_json_key_str(j, "channel", r->channel);
        fc_json_key_str(j, "version", r->version);
        fc_json_key_uint(j, "serial", r->serial);
        fc_json_key_uint(j, "size", r->size);
        fc_json_key_int(j, "created", r->created);
        fc_json_key_bool(j, "mandatory", r->mandatory);
        fc_json_key_uint(j, "agents", agents);
        fc_json_key_uint(j, "on_version", on);
        fc_json_close(j);
    }
    fc_json_close_array(j);
    /* Each channel's rollout, with the members release status --json has. */
    fc_json_key(j, "rollouts");
    fc_json_open_array(j);
    for (size_t i = 0; i < v->nrollouts; i++) {
        fc_json_open(j);
        fc_rollout_info_json(j, &v->rollouts[i]);
        fc_json_close(j);
    }
    fc_json_close_array(j);
    return FC_OK;
}

/* online_since: the oldest last_seen of an agent still online. */
static void s_json_agents(fc_json_t *j, const fc_store_agent_row_t *agents, size_t n,
                          int64_t online_since)
{
    fc_json_key(j, "agents");
    fc_json_open_array(j);
    for (size_t i = 0; i < n; i++) {
        const fc_agent_status_t *a = &agents[i].status;
        fc_state_t state = FC_STATE_UNKNOWN;
        fc_state_from_name(a->state, &state);
        fc_json_open(j);
        fc_json_key_str(j, "id", a->id);
        fc_json_key_str(j, "group", agents[i].group);
        fc_json_key_str(j, "channel", a->channel);
        fc_json_key_str(j, "version", a->version);
        fc_json_key_str(j, "state", fc_state_name(state));
        fc_json_key_uint(j, "done", a->done);
        fc_json_key_uint(j, "total", a->total);
        fc_json_key_int(j, "last_seen", a->last_seen);
        fc_json_key_bool(j, "online", a->last_seen >= online_since);
        fc_json_key_str(j, "message", a->message);
        fc_json_key_str(j, "via", a->via); /* its relay; "" reports here directly */
        fc_json_close(j);
    }
    fc_json_close_array(j);
}

static void s_json_revs(fc_json_t *j, const fc_view_t *v)
{
    fc_json_key(j, "revisions");
    fc_json_open_array(j);
    for (size_t i = 0; i < v->nrevs; i++) {
        const fc_view_rev_t *r = &v->revs[i];
        fc_json_open(j);
        fc_json_key_uint(j, "rev", r->rev);
        fc_json_key_str(j, "scope", r->scope);
        fc_json_key_int(j, "committed", r->committed);
        fc_json_key_bool(j, "halted", r->halted);
        fc_json_key(j, "acks");
        fc_json_open(j);
        for (int a = 0; a < FC_ACK_COUNT; a++)
            fc_json_key_uint(j, fc_ack_name((fc_ack_t)a), r->acks[a]);
        fc_json_close(j);
        fc_json_close(j);
    }
    fc_json_close_array(j);
}

static void s_json_audit(fc_json_t *j, const fc_audit_entry_t *audit, size_t n)
{
    fc_json_key(j, "audit");
    fc_json_open_array(j);
    for (size_t i = 0; i < n; i++) {
        fc_json_open(j);
        fc_json_key_int(j, "time", audit[i].time);
        fc_json_key_str(j, "who", audit[i].who);
        fc_json_key_str(j, "action", audit[i].action);
        fc_json_key_str(j, "detail", audit[i].detail);
        fc_json_key_str(j, "result", audit[i].result);
        fc_json_close(j);
    }
    fc_json_close_array(j);
}

static int s_json(fc_view_t *v, fc_store_t *store)
{
    fc_store_agent_row_t *agents = NULL;
    size_t nagents = 0, naudit = 0;
    fc_audit_entry_t *audit = NULL;
    int err = fc_store_view_agents(store, FC_VIEW_MAX_AGENTS, &agents, &nagents);
    if (!err)
        fc_store_via_fill_rows(store, agents, nagents); /* the relay each is behind */
    if (!err)
        err = fc_store_audit_list(store, FC_VIEW_AUDIT, &audit, &naudit);
    if (!err) {
        fc_json_t *j = fc_json_new();
        fc_json_open(j);
        fc_json_key_int(j, "time", v->time);
        fc_json_key_uint(j, "seq", v->seq);
        fc_json_key_uint(j, "agents_total", v->agents);
        fc_json_key_uint(j, "agents_online", v->online);
        err = s_json_releases(j, v, store);
        /* The (channel, version, state) groups behind /metrics stop at FC_MAX_LIST: say how
           many were left out (the counts above stay exact). */
        fc_json_key_uint(j, "groups_listed", v->ncounts);
        fc_json_key_uint(j, "groups_cut", v->groups_left_out);
        /* The list stops at FC_VIEW_MAX_AGENTS; say so, the counts above stay exact. */
        fc_json_key_uint(j, "agents_listed", nagents);
        fc_json_key_bool(j, "agents_cut", nagents < v->agents);
        s_json_agents(j, agents, nagents, v->time - v->online_s);
        s_json_revs(j, v);
        s_json_audit(j, audit, naudit);
        fc_json_close(j);
        v->json = err ? NULL : strdup(fc_json_text(j));
        fc_json_destroy(&j);
        if (!err && !v->json)
            err = FC_ENOMEM;
        else
            v->json_len = strlen(v->json);
    }
    free(agents);
    free(audit);
    return err;
}

fc_view_t *fc_view_build(fc_store_t *store, int64_t now, int *err)
{
    fc_view_t *v = zmalloc(sizeof *v);
    v->time = now;
    /* The broker's --offline-after: the page and metrics call offline who status does. */
    v->online_s = fc_store_rollout_offline_after(store);
    v->seq = fc_store_seq(store);
    uint64_t *revs = NULL;
    size_t nrevs = 0;
    *err = fc_store_latest_all(store, FC_MAX_SNAPSHOT, &v->channels, &v->nchannels);
    if (!*err)
        *err = fc_store_view_agent_counts(store, now - v->online_s, FC_MAX_LIST, &v->counts,
                                          &v->ncounts, &v->groups_left_out);
    /* Counted apart from the groups, which stop at FC_MAX_LIST: exact however many. */
    if (!*err)
        *err = fc_store_view_agent_totals(store, now - v->online_s, &v->agents, &v->online);
    if (!*err)
        *err = fc_store_rollout_status(store, "", FC_MAX_SNAPSHOT, &v->rollouts, &v->nrollouts);
    if (!*err)
        *err = fc_store_view_revisions(store, FC_VIEW_REVISIONS, &revs, &nrevs);
    if (!*err && nrevs) {
        v->revs = calloc(nrevs, sizeof *v->revs);
        if (!v->revs)
            *err = FC_ENOMEM;
    }
    for (size_t i = 0; !*err && i < nrevs; i++) {
        *err = s_rev(store, revs[i], &v->revs[v->nrevs]);
        if (*err == FC_ENOTFOUND)
            *err = FC_OK; /* not a revision after all: leave it out */
        else if (!*err)
            v->nrevs++;
    }
    free(revs);
    if (!*err)
        *err = s_json(v, store);
    if (*err)
        fc_view_destroy(&v);
    return v;
}

/* --- self-test --------------------------------------------------------------------------- */

static void s_report(fc_store_t *store, const char *id, const char *version, const char *state)
{
    fc_agent_status_t a = {.done = 5, .total = 10};
    snprintf(a.id, sizeof a.id, "%s", id);
    snprintf(a.channel, sizeof a.channel, "stable");
    snprintf(a.version, sizeof a.version, "%s", version);
    snprintf(a.state, sizeof a.state, "%s", state);
    FC_CHECK(fc_store_agent_report(store, &a) == FC_OK);
}

void fc_view_test(bool verbose)
{
    (void)verbose;
    printf(" * fc_view: ");
    char base[] = "/tmp/fc_view_test.XXXXXX";
    FC_CHECK(mkdtemp(base));
    int err = 0;
    char text[256];
    fc_store_t *store = fc_store_testdb_new(base, &err, text, sizeof text);
    FC_CHECK(store);
    /* An empty store: a view with nothing in it, still a document. */
    fc_view_t *v = fc_view_build(store, time(NULL), &err);
    FC_CHECK(v && v->agents == 0 && v->ncounts == 0 && v->nchannels == 0);
    FC_CHECK(v->json && strstr(v->json, "\"agents\":[]") && !strchr(v->json, '\n'));
    FC_CHECK(v->nrollouts == 0 && strstr(v->json, "\"rollouts\":[]"));
    fc_view_destroy(&v);
    FC_CHECK(!v);

    s_report(store, "a1", "1.0", "up-to-date");
    s_report(store, "a2", "1.0", "up-to-date");
    s_report(store, "a3", "0.9", "downloading");
    FC_CHECK(fc_store_agent_group_set(store, "a3", "web") == FC_OK);
    /* Seen now: online; viewed 31 s later, offline. */
    v = fc_view_build(store, time(NULL), &err);
    FC_CHECK(v && v->agents == 3 && v->online == 3 && v->ncounts == 2);
    FC_CHECK(streq(v->counts[0].version, "0.9") && v->counts[0].count == 1);
    FC_CHECK(streq(v->counts[1].version, "1.0") && v->counts[1].count == 2);
    FC_CHECK(strstr(v->json, "\"id\":\"a3\",\"group\":\"web\""));
    FC_CHECK(strstr(v->json, "\"state\":\"downloading\",\"done\":5,\"total\":10"));
    FC_CHECK(v->json_len == strlen(v->json));
    fc_view_destroy(&v);
    v = fc_view_build(store, time(NULL) + FC_VIEW_ONLINE_S + 1, &err);
    FC_CHECK(v && v->agents == 3 && v->online == 0 && strstr(v->json, "\"online\":false"));
    fc_view_destroy(&v);

    /* Past FC_MAX_LIST (channel, version, state) groups (issue 19): the groups stop there
       and the view says how many more there are; the totals and each channel's counts
       still cover every agent. a1..a3 are 2 groups; FC_MAX_LIST + 1 more, each its own
       version on "zz" (sorting last, so the cut falls in it). */
    FC_CHECK(fc_store_batch_begin(store) == FC_OK);
    for (int i = 0; i <= FC_MAX_LIST; i++) {
        fc_agent_status_t a = {.done = 0};
        snprintf(a.id, sizeof a.id, "z%05d", i);
        snprintf(a.channel, sizeof a.channel, "zz");
        snprintf(a.version, sizeof a.version, "v%05d", i);
        snprintf(a.state, sizeof a.state, "idle");
        FC_CHECK(fc_store_agent_report(store, &a) == FC_OK);
    }
    FC_CHECK(fc_store_batch_commit(store) == FC_OK);
    uint64_t in_zz = 0, on = 0;
    FC_CHECK(fc_store_view_channel_agents(store, "zz", "v04096", &in_zz, &on) == FC_OK);
    FC_CHECK(in_zz == FC_MAX_LIST + 1 && on == 1);
    v = fc_view_build(store, time(NULL), &err);
    FC_CHECK(v && v->ncounts == FC_MAX_LIST && v->groups_left_out == 3);
    FC_CHECK(v->agents == 3 + FC_MAX_LIST + 1 && v->online == v->agents);
    FC_CHECK(strstr(v->json, "\"groups_listed\":4096,\"groups_cut\":3"));
    fc_view_destroy(&v);

    FC_CHECK(fc_view_changes(FC_MSG_REPORT) && fc_view_changes(FC_MSG_CONFIG_ACK));
    FC_CHECK(!fc_view_changes(FC_MSG_GET_CHUNK) && !fc_view_changes(FC_MSG_STATUS));
    /* A rollout's controls change what the page shows; asking for its status does not. */
    FC_CHECK(fc_view_changes(FC_MSG_ROLLOUT_PROMOTE) && fc_view_changes(FC_MSG_ROLLOUT_PAUSE) &&
             fc_view_changes(FC_MSG_ROLLOUT_RESUME) && !fc_view_changes(FC_MSG_ROLLOUT_STATUS));
    fc_store_destroy(&store);
    FC_CHECK(fc_remove_tree(base) == 0);
    printf("OK\n");
}
