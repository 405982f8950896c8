/* fc_agent_fresh.c: the agent's heartbeats: counts those it accepts and, the freeze defence,
   checks the broker's signed timestamps and says so when no fresh one has come for
   freeze_after seconds. */
#include "fc_agent_priv.h"
#include "fc_error.h"
#include "fc_msg.h"
#include "fc_stamp.h"
#include "fc_util.h"

#include <errno.h>
#include <string.h>

#define S_LOG_EVERY 60.0 /* at most one line per this about dropped heartbeats */

static void s_dropped(fc_agent_t *self, const char *why, double now)
{
    if (now - self->stamp_bad_log < S_LOG_EVERY && !self->verbose)
        return;
    self->stamp_bad_log = now;
    fc_agent_log(self, "dropped a heartbeat: %s (%llu bad, %llu replayed so far)", why,
                 (unsigned long long)self->res.stamps_bad,
                 (unsigned long long)self->res.stamps_replayed);
}

/* Whether a heartbeat may count: always without a pinned key, else only a fresh signed
   timestamp. */
static bool s_accept(fc_agent_t *self, const fc_msg_t *msg, double now)
{
    if (!self->stamp_pinned)
        return true;
    if (msg->time_ms == 0 ||
        !fc_stamp_verify(msg->sig, msg->epoch, msg->seq, msg->time_ms, self->stamp_pk)) {
        self->res.stamps_bad++;
        s_dropped(self, msg->time_ms ? "bad timestamp signature" : "unsigned", now);
        return false;
    }
    /* Signed by the broker, but maybe long ago: a recording played back must not pass for a
       live broker, so the timestamp must move forward and be recent by our clock. */
    uint64_t wall = fc_stamp_now_ms();
    uint64_t window = (uint64_t)(self->freeze_after * 1000);
    /* One far ahead of our clock would make every honest timestamp after it look old. */
    if (msg->time_ms > wall + window) {
        self->res.stamps_bad++;
        s_dropped(self, "timestamp ahead of our clock by more than --freeze-after", now);
        return false;
    }
    if (msg->time_ms <= self->stamp_newest_ms || (wall > window && msg->time_ms < wall - window)) {
        self->res.stamps_replayed++;
        s_dropped(self,
                  msg->time_ms <= self->stamp_newest_ms ? "timestamp not newer than the last"
                                                        : "timestamp too old",
                  now);
        return false;
    }
    self->stamp_newest_ms = msg->time_ms;
    self->stamp_fresh_at = now;
    self->res.last_fresh = (int64_t)(msg->time_ms / 1000);
    if (self->res.stale) {
        self->res.stale = false;
        self->report_due = true;
        fc_agent_log(self, "fresh signed timestamps from the broker again");
    }
    return true;
}

bool fc_agent_fresh_on_heartbeat(fc_agent_t *self, const fc_msg_t *msg, double now)
{
    if (!s_accept(self, msg, now))
        return false;
    /* Atomic: a simulator (or an embedding program) polls it from its own thread to learn
       that the announce socket is connected and hearing the broker. */
    __atomic_add_fetch(&self->heartbeats, 1, __ATOMIC_RELAXED);
    return true;
}

uint64_t fc_agent_heartbeats(const fc_agent_t *self)
{
    return __atomic_load_n(&self->heartbeats, __ATOMIC_RELAXED);
}

void fc_agent_fresh_timers(fc_agent_t *self, double now)
{
    if (!self->stamp_pinned || self->res.stale)
        return;
    double since = self->stamp_newest_ms
                       ? ((double)fc_stamp_now_ms() - (double)self->stamp_newest_ms) / 1000
                       : now - self->stamp_base;
    if (since <= self->freeze_after)
        return;
    self->res.stale = true;
    self->report_due = true;
    char when[64] = "never";
    if (self->res.last_fresh)
        fc_format_time(when, sizeof when, self->res.last_fresh);
    fc_agent_log(self,
                 "stale: no fresh signed timestamp from the broker for %.0f s (last: %s); it"
                 " may be frozen or replaying old data",
                 since, when);
}

void fc_agent_fresh_note(const fc_agent_t *self, char *message, size_t size)
{
    if (!self->res.stale)
        return;
    char when[64] = "never";
    if (self->res.last_fresh)
        fc_format_time(when, sizeof when, self->res.last_fresh);
    size_t n = strlen(message);
    if (n < size)
        snprintf(message + n, size - n, "%sSTALE: no fresh signed timestamp since %s",
                 n ? "; " : "", when);
}

void fc_agent_fresh_await(fc_agent_t *self)
{
    if (!self->stamp_pinned)
        return;
    double deadline = fc_now() + self->timeout;
    while (self->stamp_fresh_at < self->started && self->sub && fc_now() < deadline &&
           !zsys_interrupted && !__atomic_load_n(&self->stop, __ATOMIC_RELAXED)) {
        zmq_pollitem_t item = {zsock_resolve(self->sub), 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 100) <= 0)
            continue;
        int err = 0;
        fc_msg_t *msg = fc_msg_recv_announce(zsock_resolve(self->sub), &err);
        if (msg && msg->type == FC_MSG_HEARTBEAT)
            fc_agent_fresh_on_heartbeat(self, msg, fc_now());
        fc_msg_destroy(&msg);
    }
    if (self->stamp_fresh_at >= self->started)
        return;
    self->res.stale = true;
    if (self->res.exit_code != FC_AGENT_EXIT_OK)
        return; /* the run failed anyway; that is what its exit code says */
    self->res.exit_code = FC_AGENT_EXIT_STALE;
    fc_agent_set_state(self, "stale",
                       "%s; but no fresh signed timestamp from broker %s in %g s (%llu bad,"
                       " %llu replayed): it may be frozen or replaying old data",
                       self->res.message, self->broker, self->timeout,
                       (unsigned long long)self->res.stamps_bad,
                       (unsigned long long)self->res.stamps_replayed);
}
