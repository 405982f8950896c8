/* fc_agent_fresh.c: the engine's side of its heartbeats' freshness (fc_freshness.h): what a
   change of staleness means for reports, and a --once run's wait for a fresh timestamp. */
#include "fc_agent_priv.h"
#include "fc_clock.h"
#include "fc_msg.h"

bool fc_agent_fresh_on_heartbeat(fc_agent_t *self, const fc_msg_t *msg, double now)
{
    bool changed = false;
    bool ok = fc_freshness_on_heartbeat(self->fresh, msg, now, &changed);
    if (changed)
        self->report_due = true;
    return ok;
}

uint64_t fc_agent_heartbeats(const fc_agent_t *self)
{
    return self->fresh ? fc_freshness_heartbeats(self->fresh) : 0;
}

void fc_agent_fresh_timers(fc_agent_t *self, double now)
{
    if (fc_freshness_timers(self->fresh, now))
        self->report_due = true;
}

void fc_agent_fresh_note(const fc_agent_t *self, char *message, size_t size)
{
    fc_freshness_note(self->fresh, message, size);
}

void fc_agent_fresh_await(fc_agent_t *self)
{
    if (!fc_freshness_pinned(self->fresh))
        return;
    double deadline = fc_now() + self->timeout;
    while (!fc_freshness_heard_since(self->fresh, self->started) && self->sub &&
           fc_now() < deadline && !zsys_interrupted &&
           !__atomic_load_n(&self->stop, __ATOMIC_RELAXED)) {
        zmq_pollitem_t item = {zsock_resolve(self->sub), 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 100) <= 0)
            continue;
        int err = 0;
        fc_msg_t *msg = fc_msg_recv_announce(zsock_resolve(self->sub), &err);
        if (msg && msg->type == FC_MSG_HEARTBEAT)
            fc_agent_fresh_on_heartbeat(self, msg, fc_now());
        fc_msg_destroy(&msg);
    }
    if (fc_freshness_heard_since(self->fresh, self->started))
        return;
    fc_freshness_set_stale(self->fresh);
    if (self->res.exit_code != FC_AGENT_EXIT_OK)
        return; /* the run failed anyway; that is what its exit code says */
    fc_agent_result_t r;
    fc_freshness_status(self->fresh, &r);
    self->res.exit_code = FC_AGENT_EXIT_STALE;
    fc_agent_set_state(self, "stale",
                       "%s; but no fresh signed timestamp from broker %s in %g s (%llu bad,"
                       " %llu replayed): it may be frozen or replaying old data",
                       self->res.message, self->broker, self->timeout,
                       (unsigned long long)r.stamps_bad, (unsigned long long)r.stamps_replayed);
}
