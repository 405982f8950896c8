/* fc_agent.c: the agent engine's dispatch: its state and result, the event loop over the
   requester's DEALER and monitor, the SUB, the fetcher's workers and the actor's pipe, each
   message handed to the class that owns it (session, release follower, reconf), the timers
   in order, and running it (once, as a daemon, as an actor). fc_agent_new.c builds it. */
#include "fc_agent_priv.h"
#include "fc_clock.h"
#include "fc_curve.h"
#include "fc_endpoint.h"
#include "fc_error.h"
#include "fc_msg.h"
#include "fc_reconf.h"
#include "fc_sockopt.h"
#include "fc_state.h"
#include "fc_status_file.h"
#include "fc_text.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#define S_ERROR_RETRY 2.0 /* a chunk the broker could not serve: ask again after */
#define S_TICK_MS 100
#define S_MAX_PIPES 8 /* fetcher worker pipes polled */

void fc_agent_log(fc_agent_t *self, const char *fmt, ...)
{
    char line[FC_MAX_TEXT + 128];
    int n = snprintf(line, sizeof line, "agent %s: ", self->id);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    if (self->log)
        self->log(line, self->log_arg);
    else
        fprintf(stderr, "%s\n", line);
}

/* Sets state and message; a change makes a REPORT due. In --once the final message is the
   program's to print, so events are logged only by a daemon (or when verbose). */
void fc_agent_set_state(fc_agent_t *self, const char *state, const char *fmt, ...)
{
    char msg[FC_MAX_TEXT + 1];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fc_state_t known;
    bool known_ok = fc_state_from_name(state, &known); /* what the broker accepts: fc_state.h */
    assert(known_ok);
    (void)known_ok;
    if (streq(state, self->res.state) && streq(msg, self->res.message))
        return;
    fc_msg_set_str(self->res.state, sizeof self->res.state, state);
    fc_msg_set_str(self->res.message, sizeof self->res.message, msg);
    memset(self->corrupt_blob, 0, FC_HASH_LEN); /* a new state names no blob unless set */
    if (self->session)
        fc_session_report_due(self->session);
    if (self->mode == FC_AGENT_DAEMON || self->verbose)
        fc_agent_log(self, "%s: %s", state, msg);
}

void fc_agent_finish(fc_agent_t *self, int exit_code, int error)
{
    self->res.error = error;
    if (self->mode == FC_AGENT_DAEMON)
        return;
    /* A format-3 SNAPSHOT is judged once its objects are here: a success waits for that
       judgement (s_session_consider ends the run if it starts nothing new). */
    if (exit_code == FC_AGENT_EXIT_OK && self->session &&
        fc_session_fetching_objects(self->session)) {
        self->finish_deferred = true;
        self->deferred_exit = exit_code;
        self->deferred_error = error;
        return;
    }
    self->finish_deferred = false;
    self->res.exit_code = exit_code;
    self->finished = true;
}

static void *s_raw(zsock_t *sock)
{
    return zsock_resolve(sock);
}

/* ---------------------------------------------------------------- dispatch */

/* A service message: a reply to a request goes to the class that sent it (its kind, the
   requester's user pointer, says which); anything else on the DEALER answers the
   follower's chunk requests. */
static void s_on_service(fc_agent_t *self, fc_requester_got_t got, fc_msg_t *msg, void *user,
                         double now)
{
    if (got == FC_REQUESTER_REPLY) {
        if (!fc_session_on_reply(self->session, user, msg, now))
            fc_reconf_on_reply(self->reconf, user, msg, now);
    } else if (msg->type == FC_MSG_CHUNK)
        fc_follower_on_chunk(self->follower, msg, now);
    else if (msg->type == FC_MSG_ERROR &&
             fc_follower_on_error(self->follower, msg, S_ERROR_RETRY, now))
        fc_session_on_error(self->session, msg, "GET_CHUNK", now);
    /* anything unexpected: dropped */
}

static void s_drain_service(fc_agent_t *self)
{
    for (int i = 0; i < 1000 && !self->finished; i++) {
        fc_msg_t *msg = NULL;
        void *user = NULL;
        /* Duplicates, late replies and malformed frames are dropped in there. */
        fc_requester_got_t got = fc_requester_recv(self->req, &msg, &user);
        if (got == FC_REQUESTER_NONE)
            return;
        double now = fc_now();
        fc_session_set_live(self->session);
        s_on_service(self, got, msg, user, now);
        /* Keep the workers fed: what they finished frees window for new requests. */
        fc_follower_on_written(self->follower, now);
        fc_msg_destroy(&msg);
    }
}

/* ---------------------------------------------------------------- timers and loop */

static void s_timers(fc_agent_t *self, double now)
{
    /* Offline, nothing is re-sent: the flush after reconnecting sends everything once (the
       requester re-sends control requests; the fetcher's chunks are timed here). */
    bool up = fc_requester_connected(self->req) && !fc_requester_flush_pending(self->req);
    fc_reconf_timers(self->reconf, now);
    fc_session_fresh_timers(self->session, now);
    if (up)
        fc_follower_expire(self->follower, now);
    if (!fc_session_timers(self->session, now))
        return; /* a one-shot run without progress: ended */
    if (self->mode == FC_AGENT_DAEMON)
        fc_follower_retry(self->follower, now);
    fc_session_report_timers(self->session, now);
}

/* --status-file: the status as node-level tools read it; the file judges what changed. */
static void s_status_file(fc_agent_t *self, double now)
{
    if (!self->status_file)
        return;
    fc_agent_result_t r;
    fc_agent_status(self, &r);
    uint64_t done = 0, total = 0;
    fc_follower_bytes(self->follower, &done, &total);
    fc_status_file_update(self->status_file, &r, done, total, now); /* retried next time */
}

/* A command on the actor's pipe; true for "$TERM" (the actor then ends). Anything else is
   a caller's mistake, dropped. */
static bool s_on_pipe(fc_agent_t *self, zsock_t *pipe)
{
    zmsg_t *cmd = zmsg_recv(pipe);
    if (!cmd)
        return true; /* interrupted: the pipe's owner is going away */
    char *name = zmsg_popstr(cmd);
    bool term = name && streq(name, "$TERM");
    if (!term && self->verbose)
        fc_agent_log(self, "engine actor: unknown command '%s' dropped", name ? name : "");
    zstr_free(&name);
    zmsg_destroy(&cmd);
    return term;
}

/* SIGHUP: the trust keys read again from their file (a signed list in force supersedes
   them), the broker asked for a newer trusted-key list. Transfers go on untouched. */
static void s_reload(fc_agent_t *self)
{
    fc_agent_log(self, "SIGHUP: reloading");
    if (fc_agent_trust_reload(self->trusted) == FC_OK)
        fc_follower_forget_decided(self->follower); /* judged again under these keys */
    fc_session_resync(self->session, fc_now());
}

/* The event loop, until finished, stopped, interrupted, or (an actor: pipe not NULL) told
   "$TERM" on its pipe. */
/* fc_agent_on_alive's call, when due. */
static void s_alive(fc_agent_t *self, double now)
{
    if (!self->alive || now < self->alive_next)
        return;
    self->alive(self->alive_arg);
    self->alive_next = now + self->alive_every;
}

void fc_agent_on_alive(fc_agent_t *self, fc_agent_alive_fn *fn, void *arg, uint64_t every_ms)
{
    self->alive = fn;
    self->alive_arg = arg;
    self->alive_every = (double)every_ms / 1000.0;
    self->alive_next = 0;
}

static void s_loop(fc_agent_t *self, zsock_t *pipe)
{
    while (!self->finished && !__atomic_load_n(&self->stop, __ATOMIC_RELAXED) &&
           !zsys_interrupted) {
        double now = fc_now();
        if (__atomic_exchange_n(&self->reload, 0, __ATOMIC_RELAXED))
            s_reload(self);
        if (fc_requester_tick(self->req))
            fc_session_on_flushed(self->session, fc_follower_resend_all(self->follower, now), now);
        while (fc_requester_expired(self->req, NULL, NULL))
            ; /* only REPORTs expire: best effort */
        s_timers(self, now);
        if (self->finished)
            break;
        fc_follower_pump(self->follower, now);
        /* Service, monitor, the actor's pipe (if one), the fetcher's workers, then announce
           (if subscribed). */
        zmq_pollitem_t items[4 + S_MAX_PIPES] = {
            {s_raw(fc_requester_sock(self->req)), 0, ZMQ_POLLIN, 0},
            {s_raw(fc_requester_monitor(self->req)), 0, ZMQ_POLLIN, 0}};
        void *pipes[S_MAX_PIPES];
        size_t npipes = fc_follower_pipes(self->follower, pipes, S_MAX_PIPES);
        size_t n = 2;
        size_t cmd = n;
        if (pipe)
            items[n++] = (zmq_pollitem_t){s_raw(pipe), 0, ZMQ_POLLIN, 0};
        for (size_t i = 0; i < npipes; i++)
            items[n++] = (zmq_pollitem_t){pipes[i], 0, ZMQ_POLLIN, 0};
        void *sub = fc_session_sub(self->session);
        if (sub)
            items[n++] = (zmq_pollitem_t){sub, 0, ZMQ_POLLIN, 0};
        /* The requester's next deadline (10 ms while a new connection finishes its
           handshake), at most a tick. */
        int64_t next = fc_requester_next_ms(self->req);
        long tick = self->tick_ms > 0 ? self->tick_ms : S_TICK_MS;
        int rc = zmq_poll(items, (int)n, next >= 0 && next < tick ? (long)next : tick);
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        /* Replies first: those that came before a drop count for the connection lost. */
        if (items[0].revents & ZMQ_POLLIN)
            s_drain_service(self);
        if (pipe && (items[cmd].revents & ZMQ_POLLIN) && s_on_pipe(self, pipe))
            break;
        if (items[1].revents & ZMQ_POLLIN)
            fc_session_on_monitor(self->session, fc_now());
        if (npipes > 0 && !self->finished)
            fc_follower_on_written(self->follower, fc_now());
        if (sub && !self->finished)
            fc_session_drain_sub(self->session);
        s_status_file(self, fc_now());
        s_alive(self, fc_now());
    }
    s_status_file(self, fc_now());
}

/* --------------------------------------------------------------- public API */

static void s_begin(fc_agent_t *self, fc_agent_mode_t mode)
{
    fc_agent_result_t *r = &self->res;
    self->mode = mode;
    self->finished = false;
    __atomic_store_n(&self->stop, 0, __ATOMIC_RELAXED);
    self->started = fc_now();
    self->req_retried_base = fc_requester_retries(self->req);
    r->bytes_fetched = r->bytes_reused = r->bytes_total = 0;
    r->disconnects = r->broker_moves = 0;
    r->error = 0;
    r->exit_code = FC_AGENT_EXIT_ERROR;
    r->update_available = false;
    r->available_version[0] = '\0';
    r->available_serial = r->available_size = 0;
    fc_msg_set_str(r->previous_version, sizeof r->previous_version, fc_install_version(self->inst));
    fc_msg_set_str(r->version, sizeof r->version, fc_install_version(self->inst));
    fc_follower_begin(self->follower, mode);
    if (mode == FC_AGENT_DAEMON)
        fc_agent_log(self, "following channel %s on %s (installed: %s)", self->channel,
                     self->broker, r->version[0] ? r->version : "nothing");
    fc_agent_set_state(self, "checking", "asking %s for the latest release of %s", self->broker,
                       self->channel);
    fc_session_begin(self->session, mode, self->started);
}

void fc_agent_status(const fc_agent_t *self, fc_agent_result_t *out)
{
    *out = self->res;
    out->requests_retried = (fc_requester_retries(self->req) - self->req_retried_base) +
                            fc_follower_retried(self->follower);
    out->hash_errors = fc_follower_hash_errors(self->follower);
    out->seconds = fc_now() - self->started;
    fc_msg_set_str(out->version, sizeof out->version, fc_install_version(self->inst));
    fc_session_fresh_status(self->session, out);
}

int fc_agent_run_once(fc_agent_t *self, bool check_only, fc_agent_result_t *out)
{
    s_begin(self, check_only ? FC_AGENT_CHECK : FC_AGENT_ONCE);
    s_loop(self, NULL);
    if (!self->finished) {
        fc_agent_set_state(self, "failed", "interrupted");
        self->res.exit_code = FC_AGENT_EXIT_ERROR;
    }
    if (self->mode == FC_AGENT_ONCE && self->finished && fc_session_welcomed(self->session))
        fc_reconf_run_once(self->reconf); /* the config too, before the final report */
    if (self->mode == FC_AGENT_ONCE && self->finished)
        fc_session_await_fresh(self->session);
    fc_session_final_report(self->session);
    /* A one-shot run leaves nothing half-open in memory; the stage stays on disk. */
    fc_follower_drop(self->follower);
    fc_agent_result_t r;
    fc_agent_status(self, &r);
    if (out)
        *out = r;
    return r.exit_code;
}

int fc_agent_run(fc_agent_t *self)
{
    s_begin(self, FC_AGENT_DAEMON);
    s_loop(self, NULL);
    fc_agent_log(self, "stopping (%s: %s)", self->res.state, self->res.message);
    return 0;
}

void fc_agent_actor(zsock_t *pipe, void *args)
{
    fc_agent_t *self = (fc_agent_t *)args;
    s_begin(self, FC_AGENT_DAEMON);
    /* Started: zactor_new returns now, and a stop from then on is not lost to s_begin's
       clearing of the flag. */
    zsock_signal(pipe, 0);
    s_loop(self, pipe);
    fc_agent_log(self, "stopping (%s: %s)", self->res.state, self->res.message);
    /* The last touch of self on this thread: fc_agent_join may free it from now on. */
    pthread_mutex_lock(&self->actor_lock);
    self->actor_done = true;
    pthread_cond_broadcast(&self->actor_ended);
    pthread_mutex_unlock(&self->actor_lock);
}

void fc_agent_reload(fc_agent_t *self)
{
    if (self)
        __atomic_store_n(&self->reload, 1, __ATOMIC_RELAXED); /* from a signal */
}

void fc_agent_stop(fc_agent_t *self)
{
    if (self)
        __atomic_store_n(&self->stop, 1, __ATOMIC_RELAXED); /* from a signal or another thread */
}

uint64_t fc_agent_heartbeats(const fc_agent_t *self)
{
    return self->session ? fc_session_heartbeats(self->session) : 0;
}
