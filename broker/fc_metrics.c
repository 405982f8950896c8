/* fc_metrics.c: the broker's metrics in the Prometheus text exposition format. Names follow
   Prometheus' conventions: a fleetcast_ prefix, base units (bytes, seconds), _total on
   counters; the process_* families are the ones every Prometheus client library exports. */
#include "fc_metrics.h"
#include "fc_rollout_state.h"
#include "fc_test_check.h"

#include <czmq.h>
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* A label value as the format wants it: backslash, double quote and newline escaped (agent
   ids, versions and scopes come from the network). */
static void s_label(FILE *f, const char *value)
{
    for (const char *p = value; *p; p++) {
        if (*p == '\\')
            fputs("\\\\", f);
        else if (*p == '"')
            fputs("\\\"", f);
        else if (*p == '\n')
            fputs("\\n", f);
        else
            fputc(*p, f);
    }
}

static void s_family(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A family with one sample and no labels. */
static void s_one(FILE *f, const char *name, const char *type, const char *help, uint64_t value)
{
    s_family(f, name, type, help);
    fprintf(f, "%s %llu\n", name, (unsigned long long)value);
}

static void s_agents(FILE *f, const fc_view_t *v)
{
    s_family(f, "fleetcast_agents", "gauge",
             "Agents the broker knows, by channel, installed version and reported state.");
    for (size_t i = 0; v && i < v->ncounts; i++) {
        const fc_store_agent_count_t *c = &v->counts[i];
        fputs("fleetcast_agents{channel=\"", f);
        s_label(f, c->channel);
        fputs("\",version=\"", f);
        s_label(f, c->version);
        fputs("\",state=\"", f);
        s_label(f, c->state);
        fprintf(f, "\"} %llu\n", (unsigned long long)c->count);
    }
    s_one(f, "fleetcast_agents_groups_left_out", "gauge",
          "(channel, version, state) groups fleetcast_agents leaves out: past 4096 of them.",
          v ? v->groups_left_out : 0);
    s_one(f, "fleetcast_agents_online", "gauge",
          "Agents heard from (hello or report) within the last 30 seconds.", v ? v->online : 0);
    s_one(f, "fleetcast_agents_offline", "gauge",
          "Agents not heard from within the last 30 seconds.", v ? v->agents - v->online : 0);
    s_family(f, "fleetcast_channel_release_serial", "gauge",
             "Serial of each channel's current release, labelled with its version.");
    for (size_t i = 0; v && i < v->nchannels; i++) {
        fputs("fleetcast_channel_release_serial{channel=\"", f);
        s_label(f, v->channels[i].channel);
        fputs("\",version=\"", f);
        s_label(f, v->channels[i].version);
        fprintf(f, "\"} %llu\n", (unsigned long long)v->channels[i].serial);
    }
}

/* A rollout family of one sample a channel, "NAME{channel="C"} VALUE", VALUE a field of its
   fc_rollout_info_t (an integer of 4 or 8 bytes, where S_FIELD finds it). */
typedef struct {
    const char *name, *help;
    size_t offset, size;
    bool waves_only; /* only channels whose rollout has waves */
} s_rollout_family_t;

#define S_FIELD(f) offsetof(fc_rollout_info_t, f), sizeof(((fc_rollout_info_t *)0)->f)

static const s_rollout_family_t s_waves[] = {
    {"fleetcast_rollout_wave",
     "Wave of the channel's current release being offered, from 1; 0 without waves.", S_FIELD(wave),
     false},
    {"fleetcast_rollout_waves",
     "Waves of the channel's current release; 0 without waves (offered to every agent).",
     S_FIELD(waves), false},
};

static const s_rollout_family_t s_progress[] = {
    {"fleetcast_rollout_agents_healthy",
     "Agents running the channel's current release whose health check passed.", S_FIELD(healthy),
     false},
    {"fleetcast_rollout_download_done_bytes",
     "Bytes the agents downloading the channel's current release have.", S_FIELD(bytes_done),
     false},
    {"fleetcast_rollout_download_size_bytes",
     "Bytes the agents downloading the channel's current release fetch in all.",
     S_FIELD(bytes_total), false},
    {"fleetcast_rollout_wave_start_timestamp_seconds",
     "When the current wave of the channel's rollout started; channels with waves only.",
     S_FIELD(wave_started), true},
};

/* Each family of fams, its samples one a rollout of v. */
static void s_rollout_families(FILE *f, const fc_view_t *v, const s_rollout_family_t *fams,
                               size_t nfams)
{
    for (size_t k = 0; k < nfams; k++) {
        s_family(f, fams[k].name, "gauge", fams[k].help);
        for (size_t i = 0; v && i < v->nrollouts; i++) {
            const fc_rollout_info_t *r = &v->rollouts[i];
            if (fams[k].waves_only && !r->waves)
                continue;
            const char *at = (const char *)r + fams[k].offset;
            uint64_t value = 0;
            if (fams[k].size == sizeof(uint32_t)) {
                uint32_t v32;
                memcpy(&v32, at, sizeof v32);
                value = v32;
            } else
                memcpy(&value, at, sizeof value);
            fprintf(f, "%s{channel=\"", fams[k].name);
            s_label(f, r->channel);
            fprintf(f, "\"} %llu\n", (unsigned long long)value);
        }
    }
}

/* Each channel's current release and its rollout, as `fleetcast release status` counts
   them (fc_store_rollout_status): every agent of the channel in exactly one status, so the
   statuses add up to the channel's agents. */
static void s_rollouts(FILE *f, const fc_view_t *v)
{
    size_t n = v ? v->nrollouts : 0;
    s_rollout_families(f, v, s_waves, sizeof s_waves / sizeof s_waves[0]);
    s_family(f, "fleetcast_rollout_state", "gauge",
             "1 for the state the channel's rollout is in, 0 for the others; all 0 without "
             "waves.");
    for (size_t i = 0; i < n; i++)
        for (int st = 0; st < FC_ROLLOUT_STATE_COUNT; st++) {
            const char *name = fc_rollout_state_name((fc_rollout_state_t)st);
            fputs("fleetcast_rollout_state{channel=\"", f);
            s_label(f, v->rollouts[i].channel);
            fprintf(f, "\",state=\"%s\"} %d\n", name, streq(v->rollouts[i].state, name) ? 1 : 0);
        }
    s_family(f, "fleetcast_rollout_offered_ratio", "gauge",
             "Share of the channel's agents the current wave offers the release to (1 without "
             "waves).");
    for (size_t i = 0; i < n; i++) {
        const fc_rollout_info_t *r = &v->rollouts[i];
        fputs("fleetcast_rollout_offered_ratio{channel=\"", f);
        s_label(f, r->channel);
        fprintf(f, "\"} %.2f\n", r->waves ? (double)r->percent / 100.0 : 1.0);
    }
    s_family(f, "fleetcast_rollout_agents", "gauge",
             "The channel's agents by where they are in the rollout of its current release: "
             "installed, failed, rolled_back, downloading, pending (offered, nothing reported), "
             "not_offered (following the previous release), offline.");
    for (size_t i = 0; i < n; i++) {
        const fc_rollout_info_t *r = &v->rollouts[i];
        const struct {
            const char *status;
            uint64_t count;
        } by[] = {{"installed", r->installed},     {"failed", r->failed},
                  {"rolled_back", r->rolled_back}, {"downloading", r->downloading},
                  {"pending", r->pending},         {"not_offered", r->not_offered},
                  {"offline", r->offline}};
        for (size_t k = 0; k < sizeof by / sizeof by[0]; k++) {
            fputs("fleetcast_rollout_agents{channel=\"", f);
            s_label(f, r->channel);
            fprintf(f, "\",status=\"%s\"} %llu\n", by[k].status, (unsigned long long)by[k].count);
        }
    }
    s_rollout_families(f, v, s_progress, sizeof s_progress / sizeof s_progress[0]);
}

static void s_config(FILE *f, const fc_view_t *v)
{
    s_family(f, "fleetcast_config_revision_agents", "gauge",
             "Agents a config revision applies to, by their ack (pending: none yet); the "
             "newest revisions only.");
    for (size_t i = 0; v && i < v->nrevs; i++)
        for (int a = 0; a < FC_ACK_COUNT; a++) {
            fprintf(f, "fleetcast_config_revision_agents{revision=\"%llu\",scope=\"",
                    (unsigned long long)v->revs[i].rev);
            s_label(f, v->revs[i].scope);
            fprintf(f, "\",result=\"%s\"} %llu\n", fc_ack_name((fc_ack_t)a),
                    (unsigned long long)v->revs[i].acks[a]);
        }
    s_family(f, "fleetcast_config_revision_halted", "gauge",
             "1 if a canary config revision halted on failures.");
    for (size_t i = 0; v && i < v->nrevs; i++)
        fprintf(f, "fleetcast_config_revision_halted{revision=\"%llu\"} %d\n",
                (unsigned long long)v->revs[i].rev, v->revs[i].halted ? 1 : 0);
}

static void s_refused(FILE *f, const char *reason, uint64_t value)
{
    fprintf(f, "fleetcast_requests_refused_total{reason=\"%s\"} %llu\n", reason,
            (unsigned long long)value);
}

static void s_counters(FILE *f, const fc_view_counters_t *c)
{
    s_one(f, "fleetcast_requests_total", "counter", "Well-formed requests handled.",
          c->broker.requests);
    s_one(f, "fleetcast_request_errors_total", "counter", "Error replies sent, refusals included.",
          c->broker.errors);
    s_family(f, "fleetcast_requests_refused_total", "counter",
             "Requests refused or dropped, by reason.");
    s_refused(f, "permission", c->broker.denied);
    s_refused(f, "malformed", c->broker.malformed);
    s_refused(f, "ignored_peer", c->broker.ignored);
    s_refused(f, "chunk_queue_full", c->chunks_dropped);
    s_refused(f, "stalled_connection", c->chunk_requests_stalled);
    s_one(f, "fleetcast_replies_failed_total", "counter",
          "Replies that could not be sent (peer gone or its queue full).",
          c->broker.send_failed + c->chunk_send_failed);
    s_one(f, "fleetcast_announcements_total", "counter", "Announcements published.",
          c->broker.announced);
    s_one(f, "fleetcast_chunks_served_total", "counter", "Chunks sent to agents.",
          c->chunks_served);
    s_one(f, "fleetcast_chunk_served_bytes_total", "counter", "Bytes of the chunks sent.",
          c->chunk_bytes_served);
    s_one(f, "fleetcast_chunk_requests_duplicate_total", "counter",
          "Re-sent chunk requests not answered twice.", c->chunks_duplicate);
    s_one(f, "fleetcast_chunk_connections_dropped_total", "counter",
          "Connections dropped for holding chunk bytes past the deadline.", c->chunk_links_dropped);
    s_one(f, "fleetcast_chunk_budget_bytes", "gauge",
          "Chunk bytes the broker may hold read and unsent.", c->chunk_budget_bytes);
    s_one(f, "fleetcast_chunk_budget_used_bytes", "gauge",
          "Chunk bytes read and not yet taken by the kernel.", c->chunk_held_bytes);
    s_one(f, "fleetcast_chunk_requests_waiting", "gauge", "Chunk requests queued for the budget.",
          c->chunks_waiting);
    s_one(f, "fleetcast_uploads_in_progress", "gauge", "Blob uploads started and not committed.",
          c->uploads);
    s_one(f, "fleetcast_peers", "gauge", "Connections to the service socket.", c->peers);
    s_one(f, "fleetcast_corrupt_blobs", "gauge", "Stored blobs found damaged and moved aside.",
          c->corrupt_blobs);
}

static void s_process(FILE *f, const fc_metrics_process_t *p)
{
    s_family(f, "process_cpu_seconds_total", "counter", "User and system CPU time spent.");
    fprintf(f, "process_cpu_seconds_total %.2f\n", p->cpu_seconds);
    s_one(f, "process_resident_memory_bytes", "gauge", "Resident memory size.", p->resident_bytes);
    s_one(f, "process_virtual_memory_bytes", "gauge", "Virtual memory size.", p->virtual_bytes);
    s_family(f, "process_start_time_seconds", "gauge", "Start time since the epoch.");
    fprintf(f, "process_start_time_seconds %.2f\n", p->start_time_seconds);
    s_one(f, "process_open_fds", "gauge", "Open file descriptors.", p->open_fds);
}

char *fc_metrics_render(const fc_view_t *view, const fc_view_counters_t *counters,
                        const fc_metrics_process_t *process, size_t *len)
{
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    if (!f)
        return NULL;
    s_agents(f, view);
    s_rollouts(f, view);
    s_config(f, view);
    s_counters(f, counters);
    if (process)
        s_process(f, process);
    if (view) {
        s_family(f, "fleetcast_view_timestamp_seconds", "gauge",
                 "When the fleet figures above were taken from the store.");
        fprintf(f, "fleetcast_view_timestamp_seconds %lld\n", (long long)view->time);
    }
    bool failed = ferror(f) != 0;
    if (fclose(f) != 0 || failed) {
        free(text);
        return NULL;
    }
    *len = size;
    return text;
}

/* --- the process ------------------------------------------------------------------------- */

/* System boot time (unix seconds), from /proc/stat's btime. */
static double s_boot_time(void)
{
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return 0;
    char line[256];
    double btime = 0;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "btime ", 6) == 0) {
            btime = strtod(line + 6, NULL);
            break;
        }
    fclose(f);
    return btime;
}

bool fc_metrics_process(fc_metrics_process_t *out)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen("/proc/self/stat", "r");
    if (!f)
        return false;
    char buf[1024];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* The command name may hold spaces and parentheses: fields count from the last ')'. */
    char *p = strrchr(buf, ')');
    unsigned long long utime, stime, start, vsize;
    long long rss;
    if (!p || sscanf(p + 2,
                     "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d "
                     "%*d %*d %llu %llu %lld",
                     &utime, &stime, &start, &vsize, &rss) != 5)
        return false;
    double hz = (double)sysconf(_SC_CLK_TCK);
    long page = sysconf(_SC_PAGESIZE);
    out->cpu_seconds = (double)(utime + stime) / hz;
    out->virtual_bytes = vsize;
    out->resident_bytes = rss > 0 ? (uint64_t)rss * (uint64_t)page : 0;
    out->start_time_seconds = s_boot_time() + (double)start / hz;
    DIR *d = opendir("/proc/self/fd");
    if (d) {
        while (readdir(d))
            out->open_fds++;
        closedir(d);
        out->open_fds = out->open_fds > 3 ? out->open_fds - 3 : 0; /* ., .. and our own */
    }
    return true;
}

/* --- self-test --------------------------------------------------------------------------- */

void fc_metrics_test(bool verbose)
{
    printf(" * fc_metrics: ");
    fc_view_t view = {0};
    fc_store_agent_count_t counts[2] = {
        {.channel = "stable", .version = "1.0", .state = "up-to-date", .count = 3, .online = 2},
        {.channel = "stable", .version = "a\"b\\c\nd", .state = "failed", .count = 1}};
    view.counts = counts;
    view.ncounts = 2;
    view.agents = 4;
    view.online = 2;
    fc_view_rev_t rev = {.rev = 7, .scope = "group:web"};
    rev.acks[FC_ACK_APPLIED] = 2;
    rev.acks[FC_ACK_PENDING] = 1;
    view.revs = &rev;
    view.nrevs = 1;
    fc_rollout_info_t rollout = {.channel = "stable",
                                 .version = "2.0",
                                 .state = "ROLLING",
                                 .wave = 1,
                                 .waves = 2,
                                 .percent = 30,
                                 .installed = 1,
                                 .healthy = 1,
                                 .failed = 1,
                                 .pending = 1,
                                 .not_offered = 2,
                                 .wave_started = 1700000000};
    view.rollouts = &rollout;
    view.nrollouts = 1;
    fc_view_counters_t c = {.broker = {.requests = 10, .denied = 2}, .chunk_bytes_served = 4096};
    fc_metrics_process_t proc;
    FC_CHECK(fc_metrics_process(&proc));
    FC_CHECK(proc.resident_bytes > 0 && proc.start_time_seconds > 1e9);
    size_t len = 0;
    char *text = fc_metrics_render(&view, &c, &proc, &len);
    FC_CHECK(text && len == strlen(text));
    if (verbose)
        fputs(text, stdout);
    FC_CHECK(strstr(text, "fleetcast_agents{channel=\"stable\",version=\"1.0\","
                          "state=\"up-to-date\"} 3\n"));
    /* Label values from the network are escaped, so one cannot end the line early. */
    FC_CHECK(strstr(text, "version=\"a\\\"b\\\\c\\nd\",state=\"failed\"} 1\n"));
    FC_CHECK(strstr(text, "fleetcast_agents_online 2\n"));
    FC_CHECK(strstr(text, "fleetcast_agents_offline 2\n"));
    FC_CHECK(strstr(text, "fleetcast_config_revision_agents{revision=\"7\",scope=\"group:web\","
                          "result=\"applied\"} 2\n"));
    FC_CHECK(strstr(text, "result=\"pending\"} 1\n"));
    FC_CHECK(strstr(text, "fleetcast_requests_refused_total{reason=\"permission\"} 2\n"));
    /* The rollout: its wave, one state set, every agent in one status. */
    FC_CHECK(strstr(text, "fleetcast_rollout_wave{channel=\"stable\"} 1\n"));
    FC_CHECK(strstr(text, "fleetcast_rollout_waves{channel=\"stable\"} 2\n"));
    FC_CHECK(strstr(text, "fleetcast_rollout_state{channel=\"stable\",state=\"ROLLING\"} 1\n"));
    FC_CHECK(strstr(text, "fleetcast_rollout_state{channel=\"stable\",state=\"HALTED\"} 0\n"));
    FC_CHECK(strstr(text, "fleetcast_rollout_offered_ratio{channel=\"stable\"} 0.30\n"));
    FC_CHECK(strstr(text, "fleetcast_rollout_agents{channel=\"stable\",status=\"failed\"} 1\n"));
    FC_CHECK(strstr(text, "fleetcast_rollout_agents{channel=\"stable\",status=\"not_offered\"} "
                          "2\n"));
    FC_CHECK(strstr(text, "fleetcast_rollout_agents_healthy{channel=\"stable\"} 1\n"));
    FC_CHECK(strstr(text, "fleetcast_rollout_wave_start_timestamp_seconds{channel=\"stable\"} "
                          "1700000000\n"));
    FC_CHECK(strstr(text, "fleetcast_chunk_served_bytes_total 4096\n"));
    FC_CHECK(strstr(text, "# TYPE process_cpu_seconds_total counter\n"));
    /* Every family is announced once, before its samples; every line ends. */
    FC_CHECK(text[len - 1] == '\n');
    FC_CHECK(strstr(strstr(text, "# TYPE fleetcast_agents gauge"), "fleetcast_agents{") != NULL);
    free(text);
    /* No view yet: the counters alone, still well formed. */
    text = fc_metrics_render(NULL, &c, NULL, &len);
    FC_CHECK(text && strstr(text, "fleetcast_agents_online 0\n") &&
             !strstr(text, "process_cpu_seconds_total"));
    free(text);
    printf("OK\n");
}
