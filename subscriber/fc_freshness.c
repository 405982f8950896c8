/* fc_freshness.c: the agent's heartbeats: counts those it accepts and, the freeze defence,
   checks the broker's signed timestamps and says so when no fresh one has come for
   freeze_after seconds. */
#include "fc_freshness.h"
#include "fc_agent_log.h"
#include "fc_stamp.h"
#include "fc_test_check.h"
#include "fc_text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_LOG_EVERY 60.0 /* at most one line per this about dropped heartbeats */

struct fc_freshness_t {
    bool pinned;
    uint8_t pk[FC_PUBKEY_LEN];
    double freeze_after;
    uint64_t newest_ms;  /* newest accepted timestamp (broker clock) */
    double fresh_at;     /* local time it was accepted */
    double base;         /* local time freshness is measured from before any arrived */
    double bad_log;      /* last log line about a dropped heartbeat */
    uint64_t heartbeats; /* accepted; atomic: fc_freshness_heartbeats reads it from other
                            threads while the engine runs */
    bool stale;
    int64_t last_fresh; /* unix s of newest_ms, 0: none */
    uint64_t bad, replayed;
    bool verbose;
    fc_agent_log_fn *log;
    void *log_arg;
};

/* The class's log lines, through the engine's callback. */
#define s_log(self, ...) fc_agent_logf((self)->log, (self)->log_arg, __VA_ARGS__)

fc_freshness_t *fc_freshness_new(const uint8_t *pk, double freeze_after, bool verbose,
                                 fc_agent_log_fn *log, void *log_arg)
{
    fc_freshness_t *self = (fc_freshness_t *)calloc(1, sizeof *self);
    if (!self)
        return NULL;
    if (pk) {
        self->pinned = true;
        memcpy(self->pk, pk, FC_PUBKEY_LEN);
    }
    self->freeze_after = freeze_after;
    self->verbose = verbose;
    self->log = log;
    self->log_arg = log_arg;
    return self;
}

void fc_freshness_destroy(fc_freshness_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free(*self_p);
    *self_p = NULL;
}

bool fc_freshness_pinned(const fc_freshness_t *self)
{
    return self->pinned;
}

void fc_freshness_begin(fc_freshness_t *self, double now)
{
    self->base = now;
}

static void s_dropped(fc_freshness_t *self, const char *why, double now)
{
    if (now - self->bad_log < S_LOG_EVERY && !self->verbose)
        return;
    self->bad_log = now;
    s_log(self, "dropped a heartbeat: %s (%llu bad, %llu replayed so far)", why,
          (unsigned long long)self->bad, (unsigned long long)self->replayed);
}

/* Whether a heartbeat may count: always without a pinned key, else only a fresh signed
   timestamp. */
static bool s_accept(fc_freshness_t *self, const fc_msg_t *msg, double now, bool *changed)
{
    if (!self->pinned)
        return true;
    /* The broker's own stamp, or (behind a relay) the root's carried in it: whichever the
       pinned key signed. The key pins one broker, so only one of them can verify. */
    uint64_t time_ms = 0;
    if (msg->time_ms && fc_stamp_verify(msg->sig, msg->epoch, msg->seq, msg->time_ms, self->pk))
        time_ms = msg->time_ms;
    else if (msg->root_epoch && msg->root_time_ms &&
             fc_stamp_verify(msg->root_sig, msg->root_epoch, msg->root_seq, msg->root_time_ms,
                             self->pk))
        time_ms = msg->root_time_ms;
    if (!time_ms) {
        self->bad++;
        s_dropped(self, msg->time_ms || msg->root_time_ms ? "bad timestamp signature" : "unsigned",
                  now);
        return false;
    }
    /* Signed by the broker, but maybe long ago: a recording played back must not pass for a
       live broker, so the timestamp must move forward and be recent by our clock. */
    uint64_t wall = fc_stamp_now_ms();
    uint64_t window = (uint64_t)(self->freeze_after * 1000);
    /* One far ahead of our clock would make every honest timestamp after it look old. */
    if (time_ms > wall + window) {
        self->bad++;
        s_dropped(self, "timestamp ahead of our clock by more than --freeze-after", now);
        return false;
    }
    if (time_ms <= self->newest_ms || (wall > window && time_ms < wall - window)) {
        self->replayed++;
        s_dropped(self,
                  time_ms <= self->newest_ms ? "timestamp not newer than the last"
                                             : "timestamp too old",
                  now);
        return false;
    }
    self->newest_ms = time_ms;
    self->fresh_at = now;
    self->last_fresh = (int64_t)(time_ms / 1000);
    if (self->stale) {
        self->stale = false;
        *changed = true;
        s_log(self, "fresh signed timestamps from the broker again");
    }
    return true;
}

bool fc_freshness_on_heartbeat(fc_freshness_t *self, const fc_msg_t *msg, double now, bool *changed)
{
    bool ignored = false;
    if (!s_accept(self, msg, now, changed ? changed : &ignored))
        return false;
    /* Atomic: a simulator (or an embedding program) polls it from its own thread to learn
       that the announce socket is connected and hearing the broker. */
    __atomic_add_fetch(&self->heartbeats, 1, __ATOMIC_RELAXED);
    return true;
}

uint64_t fc_freshness_heartbeats(const fc_freshness_t *self)
{
    return __atomic_load_n(&self->heartbeats, __ATOMIC_RELAXED);
}

bool fc_freshness_timers(fc_freshness_t *self, double now)
{
    if (!self->pinned || self->stale)
        return false;
    double since = self->newest_ms ? ((double)fc_stamp_now_ms() - (double)self->newest_ms) / 1000
                                   : now - self->base;
    if (since <= self->freeze_after)
        return false;
    self->stale = true;
    char when[64] = "never";
    if (self->last_fresh)
        fc_format_time(when, sizeof when, self->last_fresh);
    s_log(self,
          "stale: no fresh signed timestamp from the broker for %.0f s (last: %s); it"
          " may be frozen or replaying old data",
          since, when);
    return true;
}

bool fc_freshness_heard_since(const fc_freshness_t *self, double t)
{
    return self->fresh_at >= t && self->fresh_at > 0;
}

void fc_freshness_set_stale(fc_freshness_t *self)
{
    self->stale = true;
}

void fc_freshness_status(const fc_freshness_t *self, fc_agent_result_t *out)
{
    out->stale = self->stale;
    out->last_fresh = self->last_fresh;
    out->stamps_bad = self->bad;
    out->stamps_replayed = self->replayed;
    out->heartbeats = fc_freshness_heartbeats(self);
}

void fc_freshness_note(const fc_freshness_t *self, char *message, size_t size)
{
    if (!self->stale)
        return;
    char when[64] = "never";
    if (self->last_fresh)
        fc_format_time(when, sizeof when, self->last_fresh);
    size_t n = strlen(message);
    if (n < size)
        snprintf(message + n, size - n, "%sSTALE: no fresh signed timestamp since %s",
                 n ? "; " : "", when);
}

/* ---------------------------------------------------------------- self-test */

static void s_test_log(const char *line, void *arg)
{
    (*(int *)arg)++;
    (void)line;
}

/* A heartbeat with the timestamp time_ms, signed by key (NULL: unsigned). */
static fc_msg_t *s_test_beat(const fc_signkey_t *key, uint64_t time_ms)
{
    fc_msg_t *m = fc_msg_new(FC_MSG_HEARTBEAT);
    m->epoch = 7;
    m->seq = 3;
    m->time_ms = key ? time_ms : 0;
    if (key)
        fc_stamp_sign(m->sig, m->epoch, m->seq, m->time_ms, key);
    return m;
}

void fc_freshness_test(bool verbose)
{
    printf(" * fc_freshness: ");
    fc_signkey_t key, forger;
    fc_signkey_generate(&key);
    fc_signkey_generate(&forger);
    int lines = 0;
    bool changed = false;

    /* Not pinned: every heartbeat counts, nothing is ever stale. */
    fc_freshness_t *fresh = fc_freshness_new(NULL, 10, verbose, s_test_log, &lines);
    FC_CHECK(fresh && !fc_freshness_pinned(fresh));
    fc_freshness_begin(fresh, 1000);
    fc_msg_t *m = s_test_beat(NULL, 0);
    FC_CHECK(fc_freshness_on_heartbeat(fresh, m, 1000, &changed) && !changed);
    fc_msg_destroy(&m);
    FC_CHECK(fc_freshness_heartbeats(fresh) == 1);
    FC_CHECK(!fc_freshness_timers(fresh, 1000000));
    fc_freshness_destroy(&fresh);
    FC_CHECK(fresh == NULL);
    fc_freshness_destroy(&fresh);

    /* Pinned: unsigned, forged, future, replayed and old heartbeats are dropped, counted. */
    fresh = fc_freshness_new(key.pk, 10, verbose, s_test_log, &lines);
    FC_CHECK(fresh && fc_freshness_pinned(fresh));
    double t0 = 1000;
    fc_freshness_begin(fresh, t0);
    uint64_t wall = fc_stamp_now_ms();
    m = s_test_beat(NULL, 0);
    FC_CHECK(!fc_freshness_on_heartbeat(fresh, m, t0, NULL));
    fc_msg_destroy(&m);
    m = s_test_beat(&forger, wall);
    FC_CHECK(!fc_freshness_on_heartbeat(fresh, m, t0, NULL));
    fc_msg_destroy(&m);
    m = s_test_beat(&key, wall + 60000); /* ahead of our clock by more than 10 s */
    FC_CHECK(!fc_freshness_on_heartbeat(fresh, m, t0, NULL));
    fc_msg_destroy(&m);
    m = s_test_beat(&key, wall - 60000); /* older than 10 s */
    FC_CHECK(!fc_freshness_on_heartbeat(fresh, m, t0, NULL));
    fc_msg_destroy(&m);
    fc_agent_result_t r;
    memset(&r, 0, sizeof r);
    fc_freshness_status(fresh, &r);
    FC_CHECK(r.stamps_bad == 3 && r.stamps_replayed == 1 && r.heartbeats == 0 && !r.stale);
    FC_CHECK(!fc_freshness_heard_since(fresh, t0));

    /* Nothing fresh for freeze_after: stale, once, and noted in a report's message. */
    FC_CHECK(!fc_freshness_timers(fresh, t0 + 5));
    lines = 0;
    FC_CHECK(fc_freshness_timers(fresh, t0 + 11));
    FC_CHECK(lines == 1 && !fc_freshness_timers(fresh, t0 + 12));
    char note[200] = "idle";
    fc_freshness_note(fresh, note, sizeof note);
    FC_CHECK(strstr(note, "idle; STALE: no fresh signed timestamp since never"));

    /* A fresh one: counted, fresh again (a change), then the same one replayed is dropped. */
    m = s_test_beat(&key, wall);
    changed = false;
    FC_CHECK(fc_freshness_on_heartbeat(fresh, m, t0 + 13, &changed) && changed);
    FC_CHECK(fc_freshness_heard_since(fresh, t0) && !fc_freshness_heard_since(fresh, t0 + 14));
    FC_CHECK(!fc_freshness_on_heartbeat(fresh, m, t0 + 14, NULL));
    fc_msg_destroy(&m);
    fc_freshness_status(fresh, &r);
    FC_CHECK(!r.stale && r.heartbeats == 1 && r.stamps_replayed == 2);
    FC_CHECK(r.last_fresh == (int64_t)(wall / 1000));
    char quiet[64] = "idle";
    fc_freshness_note(fresh, quiet, sizeof quiet);
    FC_CHECK(streq(quiet, "idle"));
    fc_freshness_set_stale(fresh);
    fc_freshness_status(fresh, &r);
    FC_CHECK(r.stale);
    fc_freshness_destroy(&fresh);

    /* Behind a relay (issue 16): the relay's beat, signed by the relay's own key or by none,
       carries the root's stamp; an agent pinning the root's key checks that one. */
    fresh = fc_freshness_new(key.pk, 10, verbose, s_test_log, &lines);
    fc_freshness_begin(fresh, t0);
    m = s_test_beat(&forger, wall); /* the relay's own stamp, by its own key */
    m->root_epoch = 21;
    m->root_seq = 22;
    m->root_time_ms = wall + 1;
    fc_stamp_sign(m->root_sig, m->root_epoch, m->root_seq, m->root_time_ms, &key);
    FC_CHECK(fc_freshness_on_heartbeat(fresh, m, t0, NULL));
    /* The same root stamp carried again (a frozen root behind a live relay): not fresh. */
    FC_CHECK(!fc_freshness_on_heartbeat(fresh, m, t0 + 1, NULL));
    /* A root stamp the relay made up (signed by another key) does not verify. */
    m->root_time_ms = wall + 2;
    fc_stamp_sign(m->root_sig, m->root_epoch, m->root_seq, m->root_time_ms, &forger);
    FC_CHECK(!fc_freshness_on_heartbeat(fresh, m, t0 + 2, NULL));
    fc_msg_destroy(&m);
    fc_freshness_status(fresh, &r);
    FC_CHECK(r.heartbeats == 1 && r.stamps_replayed == 1 && r.stamps_bad == 1);
    FC_CHECK(r.last_fresh == (int64_t)((wall + 1) / 1000));
    fc_freshness_destroy(&fresh);
    fc_signkey_wipe(&key);
    fc_signkey_wipe(&forger);
    printf("OK\n");
}
