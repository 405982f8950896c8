/* fc_status_summary.c: a fleet summary per channel from the broker's STATUS_SUMMARY and LIST
   replies, as lines for people or JSON. */
#include "fc_status_summary.h"
#include "fc_test_check.h"
#include "fc_text.h"

#include <czmq.h>
#include <string.h>

bool fc_status_final(const char *state)
{
    return streq(state, "up-to-date") || streq(state, "installed") || streq(state, "idle");
}

static fc_status_summary_t *s_find(fc_status_summary_t *list, size_t n, const char *channel)
{
    for (size_t i = 0; i < n; i++)
        if (streq(list[i].channel, channel))
            return &list[i];
    return NULL;
}

static int s_by_channel(const void *a, const void *b)
{
    return strcmp(((const fc_status_summary_t *)a)->channel,
                  ((const fc_status_summary_t *)b)->channel);
}

/* The channel's entry, added with its name if new (list has room for one more). */
static fc_status_summary_t *s_entry(fc_status_summary_t *list, size_t *count, const char *channel)
{
    fc_status_summary_t *s = s_find(list, *count, channel);
    if (!s) {
        s = &list[(*count)++];
        snprintf(s->channel, sizeof s->channel, "%s", channel);
    }
    return s;
}

static bool s_failure(const char *state)
{
    return streq(state, "failed") || streq(state, "rejected") || streq(state, "rolled-back");
}

int fc_status_summarise_counts(const fc_msg_t *summary, const fc_release_info_t *releases,
                               size_t nreleases, fc_status_summary_t **out, size_t *nout)
{
    size_t n = summary->ncounts;
    fc_status_summary_t *list = calloc(n + nreleases + 1, sizeof *list);
    uint64_t *serials = calloc(n + nreleases + 1, sizeof *serials);
    if (!list || !serials) {
        free(list);
        free(serials);
        return -1;
    }
    size_t count = 0;
    for (size_t i = 0; i < nreleases; i++) {
        fc_status_summary_t *s = s_entry(list, &count, releases[i].channel);
        if (releases[i].serial > serials[s - list]) {
            serials[s - list] = releases[i].serial;
            snprintf(s->current, sizeof s->current, "%s", releases[i].version);
        }
    }
    free(serials);
    for (size_t i = 0; i < n; i++) {
        const fc_fleet_count_t *c = &summary->counts[i];
        fc_status_summary_t *s = s_entry(list, &count, c->channel);
        if (*c->reason)
            continue; /* a reason row: its agents are counted in their group's row */
        s->agents += c->agents;
        s->offline += c->offline;
        if (*s->current && streq(c->version, s->current))
            s->on_current += c->agents;
        if (streq(c->state, "downloading")) {
            s->downloading += c->agents;
            s->done += c->done;
            s->total += c->total;
        }
        if (s_failure(c->state))
            s->failed += c->agents;
    }
    for (size_t i = 0; i < count; i++) { /* every entry borrows all rows, reads its own */
        list[i].rows = summary->counts;
        list[i].nrows = n;
    }
    qsort(list, count, sizeof *list, s_by_channel);
    *out = list;
    *nout = count;
    return 0;
}

/* Whether row is one of s's channel and, reason or not, of the kind asked. */
static bool s_mine(const fc_status_summary_t *s, const fc_fleet_count_t *row, bool reason)
{
    return streq(row->channel, s->channel) && (*row->reason != '\0') == reason;
}

/* "stable: 5 agents, 3 on 2.0 (current), 1 downloading 45% (1.2 MiB of 2.7 MiB), 1 failed,
   0 offline" */
void fc_status_summary_line(FILE *f, const fc_status_summary_t *s, const char *eol)
{
    fprintf(f, "%s: %llu agent%s, %llu on %s", s->channel, (unsigned long long)s->agents,
            s->agents == 1 ? "" : "s", (unsigned long long)s->on_current,
            *s->current ? s->current : "(no release)");
    if (*s->current)
        fputs(" (current)", f);
    fprintf(f, ", %llu downloading", (unsigned long long)s->downloading);
    if (s->downloading && s->total) {
        char done[32], total[32];
        fprintf(f, " %.0f%% (%s of %s)", 100.0 * (double)s->done / (double)s->total,
                fc_format_bytes(done, sizeof done, s->done),
                fc_format_bytes(total, sizeof total, s->total));
    }
    fprintf(f, ", %llu failed, %llu offline%s\n", (unsigned long long)s->failed,
            (unsigned long long)s->offline, eol);
    for (size_t i = 0; i < s->nrows; i++)
        if (s_mine(s, &s->rows[i], true))
            fprintf(f, "  %llu %s: %s%s\n", (unsigned long long)s->rows[i].agents, s->rows[i].state,
                    s->rows[i].reason, eol);
}

/* The channel's agents by version or state as a JSON object under key (reason rows aside). */
static void s_json_by(fc_json_t *j, const char *key, const fc_status_summary_t *s, bool version)
{
    fc_json_key(j, key);
    fc_json_open(j);
    for (size_t i = 0; i < s->nrows; i++) {
        const fc_fleet_count_t *c = &s->rows[i];
        const char *name = version ? c->version : c->state;
        if (!s_mine(s, c, false))
            continue;
        bool seen = false;
        for (size_t k = 0; k < i && !seen; k++)
            seen = s_mine(s, &s->rows[k], false) &&
                   streq(version ? s->rows[k].version : s->rows[k].state, name);
        if (seen)
            continue;
        uint64_t sum = 0;
        for (size_t k = i; k < s->nrows; k++)
            if (s_mine(s, &s->rows[k], false) &&
                streq(version ? s->rows[k].version : s->rows[k].state, name))
                sum += s->rows[k].agents;
        fc_json_key_uint(j, *name ? name : "(none)", sum);
    }
    fc_json_close(j);
}

void fc_status_summary_json(fc_json_t *j, const fc_status_summary_t *list, size_t n)
{
    fc_json_open_array(j);
    for (size_t i = 0; i < n; i++) {
        const fc_status_summary_t *s = &list[i];
        fc_json_open(j);
        fc_json_key_str(j, "channel", s->channel);
        fc_json_key_str(j, "current", s->current);
        fc_json_key_uint(j, "agents", s->agents);
        fc_json_key_uint(j, "on_current", s->on_current);
        fc_json_key_uint(j, "downloading", s->downloading);
        fc_json_key_uint(j, "done", s->done);
        fc_json_key_uint(j, "total", s->total);
        fc_json_key_uint(j, "failed", s->failed);
        fc_json_key_uint(j, "offline", s->offline);
        if (s->rows) {
            fc_json_key_uint(j, "online", s->agents - s->offline);
            s_json_by(j, "versions", s, true);
            s_json_by(j, "states", s, false);
            fc_json_key(j, "reasons");
            fc_json_open_array(j);
            for (size_t k = 0; k < s->nrows; k++)
                if (s_mine(s, &s->rows[k], true)) {
                    fc_json_open(j);
                    fc_json_key_str(j, "state", s->rows[k].state);
                    fc_json_key_str(j, "reason", s->rows[k].reason);
                    fc_json_key_uint(j, "agents", s->rows[k].agents);
                    fc_json_close(j);
                }
            fc_json_close_array(j);
        }
        fc_json_close(j);
    }
    fc_json_close_array(j);
}

/* --- self-test --------------------------------------------------------------------------- */

void fc_status_summary_test(bool verbose)
{
    (void)verbose;
    printf(" * fc_status_summary: ");
    /* The broker's rows: as fc_store_view_summary sends them, groups then reasons. */
    fc_fleet_count_t rows[] = {
        {.channel = "beta", .version = "", .state = "unknown", .agents = 1},
        {.channel = "stable",
         .version = "1",
         .state = "downloading",
         .agents = 2,
         .done = 100,
         .total = 200},
        {.channel = "stable", .version = "1", .state = "failed", .agents = 1, .offline = 1},
        {.channel = "stable", .version = "2", .state = "up-to-date", .agents = 1},
        {.channel = "stable", .state = "failed", .reason = "disk full", .agents = 1}};
    fc_msg_t *summary = fc_msg_new(FC_MSG_STATUS_SUMMARY_REPLY);
    summary->counts = malloc(sizeof rows);
    memcpy(summary->counts, rows, sizeof rows);
    summary->ncounts = sizeof rows / sizeof rows[0];
    fc_release_info_t releases[] = {{.channel = "stable", .version = "1", .serial = 1},
                                    {.channel = "stable", .version = "2", .serial = 2},
                                    {.channel = "edge", .version = "9", .serial = 4}};
    fc_status_summary_t *s = NULL;
    size_t n = 0;
    FC_CHECK(fc_status_summarise_counts(summary, releases, 3, &s, &n) == 0);
    FC_CHECK(n == 3);
    /* By name: beta (agents, no release), edge (a release, no agents), stable. */
    FC_CHECK(streq(s[0].channel, "beta") && s[0].agents == 1 && !*s[0].current);
    FC_CHECK(streq(s[1].channel, "edge") && s[1].agents == 0 && streq(s[1].current, "9"));
    FC_CHECK(streq(s[2].channel, "stable") && streq(s[2].current, "2")); /* highest serial */
    FC_CHECK(s[2].agents == 4 && s[2].on_current == 1 && s[2].downloading == 2);
    FC_CHECK(s[2].done == 100 && s[2].total == 200 && s[2].failed == 1 && s[2].offline == 1);
    char *line = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&line, &len);
    fc_status_summary_line(f, &s[2], "");
    fclose(f);
    FC_CHECK(streq(line, "stable: 4 agents, 1 on 2 (current), 2 downloading 50% (100 B of 200 B),"
                         " 1 failed, 1 offline\n  1 failed: disk full\n"));
    free(line);
    /* JSON: versions and states summed over the channel's rows, reasons listed. */
    fc_json_t *j = fc_json_new();
    fc_status_summary_json(j, &s[2], 1);
    FC_CHECK(strstr(fc_json_text(j), "\"versions\":{\"1\":3,\"2\":1}") &&
             strstr(fc_json_text(j), "\"states\":{\"downloading\":2,\"failed\":1,"
                                     "\"up-to-date\":1}") &&
             strstr(fc_json_text(j), "\"reasons\":[{\"state\":\"failed\",\"reason\":"
                                     "\"disk full\",\"agents\":1}]") &&
             strstr(fc_json_text(j), "\"online\":3"));
    fc_json_destroy(&j);
    free(s);
    fc_msg_destroy(&summary);
    FC_CHECK(fc_status_final("up-to-date") && fc_status_final("installed"));
    FC_CHECK(!fc_status_final("downloading") && !fc_status_final("failed"));
    printf("OK\n");
}
