/* fc_status_watch.c: `fleetcast status --summary` and `status --watch`: the per-channel
   summary (fc_status_summary.c), and for --watch the agents not in a final state, redrawn
   in place on a terminal once a second. Asks with the config commands' requester helpers
   (fc_config_cmd_priv.h). */
#include "fc_status_watch.h"
#include "fc_config_cmd_priv.h"
#include "fc_error.h"
#include "fc_status_summary.h"
#include "fc_text.h"

#include <czmq.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The agents not in a final state: the ones to watch. */
static void s_busy_agents(FILE *f, const fc_agent_status_t *agents, size_t n, const char *eol)
{
    size_t shown = 0;
    for (size_t i = 0; i < n; i++) {
        const fc_agent_status_t *a = &agents[i];
        if (fc_status_final(a->state))
            continue;
        if (shown++ == 0)
            fprintf(f, "%s\n%-20s %-12s %-12s %-12s %9s %s%s\n", eol, "ID", "CHANNEL", "VERSION",
                    "STATE", "PROGRESS", "MESSAGE", eol);
        char progress[16] = "-";
        if (a->total)
            snprintf(progress, sizeof progress, "%.1f%%", 100.0 * (double)a->done / a->total);
        fprintf(f, "%-20s %-12s %-12s %-12s %9s %s%s\n", a->id, a->channel,
                *a->version ? a->version : "-", a->state, progress, a->message, eol);
    }
    if (!shown)
        fprintf(f, "%s\nevery agent is in a final state (installed, up-to-date or idle)%s\n", eol,
                eol);
}

/* Says what a summary too large for one reply left out (never a summary cut silently), on
   stderr: --json's document stays the array it always was. */
static void s_left_out(const fc_msg_t *summary, const char *eol)
{
    const char *last = summary->ncounts ? summary->counts[summary->ncounts - 1].channel : "";
    fprintf(stderr,
            "fleetcast: this summary is cut: more than one reply holds; left out: %llu "
            "(channel, version, state) groups holding %llu agents, and %llu failure "
            "reasons%s%s%s; ask for one channel: fleetcast status --summary --channel NAME%s\n",
            (unsigned long long)summary->groups_left_out,
            (unsigned long long)summary->agents_left_out,
            (unsigned long long)(summary->left_out - summary->groups_left_out),
            summary->groups_left_out && *last ? " (channel " : "",
            summary->groups_left_out && *last ? last : "",
            summary->groups_left_out && *last ? " and those after it are incomplete)" : "", eol);
}

/* The broker's summary and one LIST (each channel's releases); with busy also the agents,
   every page of them. 0, or 1 (printed). */
static int s_fetch(const fc_config_cmd_options_t *o, fc_client_t *client, const char *channel,
                   bool busy, fc_msg_t **summary, fc_msg_t **list, fc_msg_t **status)
{
    fc_msg_t *req = fc_msg_new(FC_MSG_STATUS_SUMMARY);
    fc_msg_set_str(req->channel, sizeof req->channel, channel ? channel : "");
    fc_msg_t *reply = fc_client_call(client, &req, o->timeout_ms);
    /* Asked without a limit first, as before: a broker from before the limit refuses a
       request carrying it. FC_ETOOBIG means the summary does not fit one reply: ask again
       with the limit, which lets the broker list what fits and count what it left out. */
    if (reply && reply->type == FC_MSG_ERROR && reply->code == FC_ETOOBIG) {
        fc_msg_destroy(&reply);
        req = fc_msg_new(FC_MSG_STATUS_SUMMARY);
        fc_msg_set_str(req->channel, sizeof req->channel, channel ? channel : "");
        req->limit = FC_MAX_LIST;
        reply = fc_client_call(client, &req, o->timeout_ms);
    }
    *summary = fc_cmd_reply(o, client, FC_MSG_STATUS_SUMMARY, reply, FC_MSG_STATUS_SUMMARY_REPLY);
    if (!*summary)
        return 1;
    req = fc_msg_new(FC_MSG_LIST);
    fc_msg_set_str(req->channel, sizeof req->channel, channel ? channel : "");
    *list = fc_cmd_call(o, client, &req, FC_MSG_LIST_REPLY);
    if (*list && busy) {
        req = fc_msg_new(FC_MSG_STATUS);
        fc_msg_set_str(req->channel, sizeof req->channel, channel ? channel : "");
        *status = fc_cmd_call(o, client, &req, FC_MSG_STATUS_REPLY);
    }
    if (!*list || (busy && !*status)) {
        fc_msg_destroy(summary);
        fc_msg_destroy(list);
        return 1;
    }
    return 0;
}

/* One frame: the summary lines, and with busy the agents to watch. eol ends every line
   (on a terminal, clear-to-end-of-line so a shorter redraw leaves nothing behind). */
static int s_frame(const fc_config_cmd_options_t *o, fc_client_t *client, const char *channel,
                   bool busy, const char *eol)
{
    fc_msg_t *summary = NULL, *list = NULL, *status = NULL;
    if (s_fetch(o, client, channel, busy, &summary, &list, &status) != 0)
        return 1;
    fc_status_summary_t *sums = NULL;
    size_t nsums = 0;
    int rc = fc_status_summarise_counts(summary, list->releases, list->nreleases, &sums, &nsums);
    if (rc != 0)
        fprintf(stderr, "fleetcast: out of memory\n");
    else if (o->json) {
        fc_json_t *j = fc_json_new();
        fc_status_summary_json(j, sums, nsums);
        puts(fc_json_text(j));
        fc_json_destroy(&j);
    } else {
        for (size_t i = 0; i < nsums; i++)
            fc_status_summary_line(stdout, &sums[i], eol);
        if (nsums == 0)
            printf("(no agents seen, no releases)%s\n", eol);
        if (busy)
            s_busy_agents(stdout, status->agents, status->nagents, eol);
    }
    if (!rc && summary->left_out)
        s_left_out(summary, eol);
    free(sums);
    fc_msg_destroy(&summary);
    fc_msg_destroy(&status);
    fc_msg_destroy(&list);
    return rc ? 1 : 0;
}

static volatile sig_atomic_t s_stop;

static void s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

int fc_status_watch_run(const fc_config_cmd_options_t *o, const char *channel, bool watch,
                        bool summary)
{
    fc_client_t *client = fc_cmd_connect(o);
    if (!client)
        return 1;
    bool busy = watch && !summary; /* --watch --summary: the summary lines alone */
    int rc;
    if (!watch || o->json || !isatty(STDOUT_FILENO))
        rc = s_frame(o, client, channel, busy, ""); /* one snapshot, as `status` always was */
    else {
        s_stop = 0;
        signal(SIGINT, s_on_signal);
        signal(SIGTERM, s_on_signal);
        rc = 0;
        while (!s_stop && rc == 0) {
            char when[32];
            fc_format_time(when, sizeof when, (int64_t)time(NULL));
            /* Home, not clear: the frame overwrites the last one line by line (each line
               clears its own rest), then everything below it goes; no flicker. */
            printf("\033[H%s, every %d s (Ctrl-C to stop)\033[K\n\033[K\n", when,
                   FC_STATUS_WATCH_MS / 1000);
            rc = s_frame(o, client, channel, busy, "\033[K");
            fputs("\033[J", stdout);
            fflush(stdout);
            for (int waited = 0; !s_stop && waited < FC_STATUS_WATCH_MS; waited += 50)
                zclock_sleep(50);
        }
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
    }
    fc_client_destroy(&client);
    return rc;
}
