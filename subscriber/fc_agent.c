/* fc_agent.c: the agent engine's session with the broker: connection events, HELLO and
   SYNC and their replies, announcements, reports, the event loop and running it (requests
   go through the engine's fc_requester; fc_agent_new.c builds and frees the engine). */
#include "fc_agent_priv.h"
#include "fc_curve.h"
#include "fc_error.h"
#include "fc_hash.h"
#include "fc_msg.h"
#include "fc_reconf.h"
#include "fc_state.h"
#include "fc_util.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#define S_RESEND FC_AGENT_RESEND /* a refused HELLO or SYNC: asked again after (daemon) */
#define S_REPORT_BUSY 1.0        /* REPORT at most this often while downloading */
#define S_REPORT_IDLE 10.0       /* and at least this often otherwise */
#define S_POLL_SYNC 60.0         /* daemon: SYNC this often even if the announce feed is silent */
#define S_ERROR_RETRY 2.0        /* a chunk the broker could not serve: ask again after */
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
    self->report_due = true;
    if (self->mode == FC_AGENT_DAEMON || self->verbose)
        fc_agent_log(self, "%s: %s", state, msg);
}

void fc_agent_finish(fc_agent_t *self, int exit_code, int error)
{
    self->res.error = error;
    if (self->mode == FC_AGENT_DAEMON)
        return;
    self->res.exit_code = exit_code;
    self->finished = true;
}

static void *s_raw(zsock_t *sock)
{
    return zsock_resolve(sock);
}

void *fc_agent_service(fc_agent_t *self)
{
    return s_raw(fc_requester_sock(self->req));
}

uint64_t fc_agent_request(fc_agent_t *self, fc_msg_t **m_p, const fc_agent_kind_t *kind,
                          const fc_requester_sendopts_t *opts)
{
    return fc_requester_send(self->req, m_p, (void *)kind, opts);
}

bool fc_agent_asking(const fc_agent_t *self, const fc_agent_kind_t *kind)
{
    return fc_requester_count(self->req, kind) > 0;
}

bool fc_agent_up(const fc_agent_t *self)
{
    return fc_requester_connected(self->req) && !fc_requester_flush_pending(self->req);
}

/* ---------------------------------------------------------------- host (fc_agent_host.h) */

fc_requester_t *fc_agent_requester(fc_agent_t *self)
{
    return self->req;
}

void fc_agent_set_live(fc_agent_t *self)
{
    self->live = true;
}

struct fc_reconf_t *fc_agent_reconf(const fc_agent_t *self)
{
    return self->reconf;
}

void fc_agent_set_reconf(fc_agent_t *self, struct fc_reconf_t *reconf)
{
    self->reconf = reconf;
}

fc_agent_result_t *fc_agent_result(fc_agent_t *self)
{
    return &self->res;
}

const char *fc_agent_id(const fc_agent_t *self)
{
    return self->id;
}

const char *fc_agent_state_dir(const fc_agent_t *self)
{
    return self->state_dir;
}

const fc_trust_t *fc_agent_keys(const fc_agent_t *self)
{
    return self->trust;
}

bool fc_agent_verbose(const fc_agent_t *self)
{
    return self->verbose;
}

double fc_agent_timeout(const fc_agent_t *self)
{
    return self->timeout;
}

double fc_agent_hook_timeout(const fc_agent_t *self)
{
    return self->hook_timeout;
}

fc_agent_mode_t fc_agent_mode(const fc_agent_t *self)
{
    return self->mode;
}

bool fc_agent_welcomed(const fc_agent_t *self)
{
    return self->welcomed;
}

bool fc_agent_stopping(const fc_agent_t *self)
{
    return __atomic_load_n(&self->stop, __ATOMIC_RELAXED) != 0;
}

/* ---------------------------------------------------------------- requests */

static void s_on_hello_reply(fc_agent_t *self, const fc_msg_t *msg, double now);
static void s_on_sync_reply(fc_agent_t *self, const fc_msg_t *msg, double now);
static void s_on_report_reply(fc_agent_t *self, const fc_msg_t *msg, double now);

/* A GET_TRUST reply: the keys rotated; a release refused under the old keys deserves
   another look under the new ones. */
static void s_on_trust_reply(fc_agent_t *self, const fc_msg_t *msg, double now)
{
    (void)now;
    if (fc_agent_trust_on_reply(self->trusted, msg)) {
        self->res.trust_serial = fc_agent_trust_serial(self->trusted);
        self->have_decided = false;
    }
}

/* GET_TRUST: re-sent (after 5 s, and after a reconnect) until answered. */
static const fc_agent_kind_t s_kind_trust = {"GET_TRUST", s_on_trust_reply};

/* Asks the broker for a newer trusted-key list, unless one is asked already (or the broker
   refused them this epoch). */
static void s_trust_ask(fc_agent_t *self)
{
    if (fc_agent_asking(self, &s_kind_trust))
        return;
    fc_msg_t *m = fc_agent_trust_request(self->trusted);
    if (m)
        fc_agent_request(self, &m, &s_kind_trust, NULL);
}

/* HELLO is the probe after a reconnect: flushed before anything else, and nothing else is
   tried until it goes through (the broker may have restarted: its WELCOME tells the epoch).
   HELLO and SYNC are re-sent after 5 s (the requester's default); a REPORT never is (the
   next one carries newer news anyway), and is forgotten if unanswered. */
static const fc_agent_kind_t s_kind_hello = {"HELLO", s_on_hello_reply};
static const fc_agent_kind_t s_kind_sync = {"SYNC", s_on_sync_reply};
static const fc_agent_kind_t s_kind_report = {"REPORT", s_on_report_reply};
static const fc_requester_sendopts_t s_hello_opts = {.first = true};
static const fc_requester_sendopts_t s_report_opts = {.resend_ms = -1, .expire_ms = 30000};

/* A HELLO unless one is outstanding. Sent when a connection takes it (ZMQ_IMMEDIATE:
   nothing is queued for a connection that is not up; the flush after reconnecting sends it). */
static void s_hello(fc_agent_t *self, double now)
{
    (void)now;
    self->hello_retry_at = 0;
    if (fc_agent_asking(self, &s_kind_hello))
        return;
    fc_msg_t *m = fc_msg_new(FC_MSG_HELLO);
    fc_msg_set_str(m->role, sizeof m->role, "agent");
    fc_msg_set_str(m->id, sizeof m->id, self->id);
    fc_msg_set_str(m->channel, sizeof m->channel, self->channel);
    fc_agent_request(self, &m, &s_kind_hello, &s_hello_opts);
}

/* Asks for a snapshot at least as new as want. One SYNC at a time: the reply is compared with
   want_seq, and asked again if older. */
static void s_sync(fc_agent_t *self, uint64_t want, double now)
{
    /* First the trusted keys: the broker answers in order, so a rotation is in force before
       the snapshot's manifest is judged. */
    s_trust_ask(self);
    if (want > self->want_seq)
        self->want_seq = want;
    if (fc_agent_asking(self, &s_kind_sync) || self->sync_retry_at > now)
        return;
    self->sync_retry_at = 0;
    fc_msg_t *m = fc_msg_new(FC_MSG_SYNC);
    fc_msg_set_str(m->channel, sizeof m->channel, self->channel);
    fc_msg_set_str(m->id, sizeof m->id, self->id); /* what our rollout wave offers us */
    fc_agent_request(self, &m, &s_kind_sync, NULL);
}

/* Best effort: no re-send (the next report carries newer news anyway). Returns 0 if sent. */
int fc_agent_report(fc_agent_t *self, double now)
{
    self->last_report = now;
    self->report_due = false;
    if (self->mode == FC_AGENT_CHECK || !self->welcomed)
        return -1;
    fc_msg_t *m = fc_msg_new(FC_MSG_REPORT);
    m->agents = (fc_agent_status_t *)calloc(1, sizeof(fc_agent_status_t));
    if (!m->agents) {
        fc_msg_destroy(&m);
        return -1;
    }
    m->nagents = 1;
    fc_agent_status_t *st = &m->agents[0];
    fc_msg_set_str(st->id, sizeof st->id, self->id);
    fc_msg_set_str(st->channel, sizeof st->channel, self->channel);
    fc_msg_set_str(st->version, sizeof st->version, fc_install_version(self->inst));
    fc_msg_set_str(st->state, sizeof st->state, self->res.state);
    fc_msg_set_str(st->message, sizeof st->message, self->res.message);
    memcpy(m->blob, self->corrupt_blob, FC_HASH_LEN);
    fc_agent_fresh_note(self, st->message, sizeof st->message);
    if (self->stage) {
        st->done = fc_stage_bytes_have(self->stage);
        st->total = fc_stage_bytes_total(self->stage);
    } else if (self->target)
        st->total = fc_manifest_total_size(self->target);
    uint64_t id = fc_agent_request(self, &m, &s_kind_report, &s_report_opts);
    /* Best effort: a REPORT that found no connection is not kept. */
    return id && fc_requester_pending(self->req, id) ? 0 : -1;
}

/* ---------------------------------------------------------------- sockets */

static void s_sub_connect(fc_agent_t *self, const char *endpoint)
{
    zsock_destroy(&self->sub);
    self->sub_endpoint[0] = '\0';
    self->sub = zsock_new(ZMQ_SUB);
    if (!self->sub)
        return;
    fc_sock_tune(s_raw(self->sub));
    fc_curve_apply(self->curve, self->sub);
    zsock_set_subscribe(self->sub, FC_TOPIC_RELEASE);
    zsock_set_subscribe(self->sub, FC_TOPIC_HEARTBEAT);
    zsock_set_subscribe(self->sub, FC_TOPIC_CONFIG);
    zsock_set_subscribe(self->sub, FC_TOPIC_TRUST);
    if (zsock_connect(self->sub, "%s", endpoint) != 0) {
        fc_agent_log(self, "cannot connect to announce endpoint %s; relying on polling", endpoint);
        zsock_destroy(&self->sub);
        return;
    }
    fc_msg_set_str(self->sub_endpoint, sizeof self->sub_endpoint, endpoint);
}

void fc_agent_progress(fc_agent_t *self, char *have, char *total, size_t size)
{
    uint64_t h = self->stage ? fc_stage_bytes_have(self->stage) : 0;
    uint64_t t = self->stage ? fc_stage_bytes_total(self->stage) : 0;
    fc_format_bytes(have, size, h);
    fc_format_bytes(total, size, t);
}

/* Connection events. The DEALER has ZMQ_IMMEDIATE set: nothing waits in a queue for a
   connection that is not up, and what was queued for a connection that drops is dropped
   with it. So after any drop the requester sends everything outstanding again, once, as
   soon as a new connection takes it, a HELLO first; and a connection that keeps failing
   before its handshake (a proxy up with the broker down) piles nothing up. Only a
   connection that carried a reply is worth a log line when lost. */
static void s_on_monitor(fc_agent_t *self, double now)
{
    if (fc_requester_on_monitor(self->req) != FC_REQUESTER_EV_DISCONNECTED)
        return;
    s_hello(self, now); /* the probe the flush waits for */
    if (self->live) {
        char have[32], total[32];
        fc_agent_progress(self, have, total, sizeof have);
        self->live = false;
        self->lost_logged = true;
        self->res.disconnects++;
        if (self->stage)
            fc_agent_log(self, "connection lost (have %s of %s, %zu requests in flight)", have,
                         total, self->fetch ? fc_fetch_inflight(self->fetch) : 0);
        else
            fc_agent_log(self, "connection to %s lost", self->broker);
    } else if (self->verbose)
        fc_agent_log(self, "connection to %s dropped before any reply", self->broker);
}

/* The requester's flush went out (a HELLO first, then every control request): the chunks
   outstanding follow. */
static void s_on_flushed(fc_agent_t *self, double now)
{
    size_t n = self->fetch ? fc_fetch_resend_all(self->fetch, fc_agent_service(self), now) : 0;
    if (self->lost_logged) {
        self->lost_logged = false;
        char have[32], total[32];
        fc_agent_progress(self, have, total, sizeof have);
        if (self->stage)
            fc_agent_log(self, "reconnected, resuming from %s of %s, re-sending %zu requests", have,
                         total, n);
        else
            fc_agent_log(self, "reconnected to %s", self->broker);
    }
}

/* ---------------------------------------------------------------- replies */

static void s_on_error(fc_agent_t *self, const fc_msg_t *msg, const char *what, double now);

static void s_on_welcome(fc_agent_t *self, const fc_msg_t *msg, double now)
{
    /* The broker answers in order: chunk requests sent before this HELLO and still
       unanswered were lost with a connection. */
    if (self->fetch) {
        double hello_sent = (double)fc_requester_reply_sent(self->req) / 1000.0;
        size_t n = fc_fetch_resend_before(self->fetch, fc_agent_service(self), hello_sent, now);
        if (n && self->verbose)
            fc_agent_log(self, "re-sent %zu requests lost with an earlier connection", n);
    }
    self->last_progress = now;
    if (self->welcomed && msg->epoch != self->epoch) {
        fc_agent_log(self, "broker restarted (new epoch), synchronising again");
        fc_agent_trust_reset(self->trusted);
    }
    self->welcomed = true;
    self->epoch = msg->epoch;
    self->seq = msg->seq;
    char ep[FC_MAX_ENDPOINT + 1];
    if (fc_endpoint_for_peer(ep, sizeof ep, msg->endpoint, self->broker) != 0)
        fc_agent_log(self, "broker named an unusable announce endpoint '%s'; relying on polling",
                     msg->endpoint);
    else if (!self->sub || !streq(ep, self->sub_endpoint))
        s_sub_connect(self, ep);
    /* Subscribed first, then SYNC: nothing announced in between is lost. */
    s_sync(self, 0, now);
    fc_reconf_sync(self, now);
    self->report_due = true;
}

static void s_on_snapshot(fc_agent_t *self, const fc_msg_t *msg, double now)
{
    self->last_progress = now;
    if (msg->epoch != self->epoch) {
        s_hello(self, now); /* the broker changed between WELCOME and SNAPSHOT */
        return;
    }
    if (msg->seq > self->seq)
        self->seq = msg->seq;
    self->next_sync = now + S_POLL_SYNC;
    fc_agent_consider(self, msg->bytes, msg->bytes_len, now);
    if (!self->finished && self->want_seq > msg->seq)
        s_sync(self, 0, now);
}

/* An ERROR answering what (GET_CHUNK, HELLO, SYNC or REPORT). */
static void s_on_error(fc_agent_t *self, const fc_msg_t *msg, const char *what, double now)
{
    bool chunk = streq(what, "GET_CHUNK");
    /* The broker may be restoring its store: log (not for every chunk), retry later. */
    if (now - self->last_error_log >= 5 || self->verbose) {
        fc_agent_log(
            self, "broker answered %s with %s: %s%s", what, fc_agent_error_name((int)msg->code),
            msg->text[0] ? msg->text : fc_strerror((int)msg->code), chunk ? "; retrying" : "");
        self->last_error_log = now;
    }
    if (streq(what, "HELLO") || streq(what, "SYNC")) {
        /* Not recoverable by waiting in a one-shot run; a daemon asks again later. */
        if (self->mode == FC_AGENT_DAEMON) {
            if (streq(what, "HELLO"))
                self->hello_retry_at = now + S_RESEND;
            else
                self->sync_retry_at = now + S_RESEND;
        } else {
            fc_agent_set_state(self, "failed", "broker refused %s: %s (%s)", what,
                               msg->text[0] ? msg->text : fc_strerror((int)msg->code),
                               fc_agent_error_name((int)msg->code));
            fc_agent_finish(self, FC_AGENT_EXIT_ERROR, (int)msg->code);
        }
    }
}

static void s_on_hello_reply(fc_agent_t *self, const fc_msg_t *msg, double now)
{
    if (msg->type == FC_MSG_WELCOME)
        s_on_welcome(self, msg, now);
    else if (msg->type == FC_MSG_ERROR)
        s_on_error(self, msg, "HELLO", now);
    else if (self->mode == FC_AGENT_DAEMON)
        self->hello_retry_at = now + S_RESEND; /* anything else: asked again later */
}

static void s_on_sync_reply(fc_agent_t *self, const fc_msg_t *msg, double now)
{
    if (msg->type == FC_MSG_SNAPSHOT)
        s_on_snapshot(self, msg, now);
    else if (msg->type == FC_MSG_ERROR)
        s_on_error(self, msg, "SYNC", now);
    else
        self->sync_retry_at = now + S_RESEND;
}

static void s_on_report_reply(fc_agent_t *self, const fc_msg_t *msg, double now)
{
    if (msg->type == FC_MSG_ERROR)
        s_on_error(self, msg, "REPORT", now); /* OK: nothing to do */
}

/* A service message: a reply to a control request goes to its kind's handler; anything
   else on the DEALER answers the fetcher's chunk requests. */
static void s_on_service(fc_agent_t *self, fc_requester_got_t got, fc_msg_t *msg, void *user,
                         double now)
{
    if (got == FC_REQUESTER_REPLY) {
        const fc_agent_kind_t *kind = (const fc_agent_kind_t *)user;
        kind->on_reply(self, msg, now);
    } else if (msg->type == FC_MSG_CHUNK)
        fc_agent_on_chunk(self, msg, now);
    else if (msg->type == FC_MSG_ERROR && self->fetch &&
             fc_fetch_on_error(self->fetch, msg, S_ERROR_RETRY, now))
        s_on_error(self, msg, "GET_CHUNK", now);
    /* anything unexpected: dropped */
}

static void s_on_announce(fc_agent_t *self, fc_msg_t *msg, double now)
{
    /* Before anything else: a forged or replayed heartbeat must not move us either. */
    if (msg->type == FC_MSG_HEARTBEAT && !fc_agent_fresh_on_heartbeat(self, msg, now))
        return;
    if (!self->welcomed)
        return; /* a SYNC follows the WELCOME anyway */
    if (msg->epoch != self->epoch) {
        s_hello(self, now);
        return;
    }
    if (msg->type == FC_MSG_HEARTBEAT) {
        if (msg->seq > self->seq) {
            s_sync(self, msg->seq, now); /* the last announcement was lost */
            fc_reconf_sync(self, now);   /* it may have been a config one */
        }
        return;
    }
    if (msg->type == FC_MSG_CONFIG_ANNOUNCE) {
        bool lost = msg->seq > self->seq + 1;
        bool in_order = msg->seq == self->seq + 1;
        if (msg->seq > self->seq)
            self->seq = msg->seq;
        if (lost) {
            s_sync(self, msg->seq, now);
            fc_reconf_sync(self, now);
        } else
            fc_reconf_on_announce(self, msg, in_order, now);
        return;
    }
    if (msg->type == FC_MSG_TRUST_ANNOUNCE) {
        bool lost = msg->seq > self->seq + 1;
        if (msg->seq > self->seq)
            self->seq = msg->seq;
        if (lost) {
            s_sync(self, msg->seq, now); /* asks for the trust list too */
            fc_reconf_sync(self, now);
        } else if (msg->serial > fc_agent_trust_serial(self->trusted))
            s_trust_ask(self);
        return;
    }
    if (msg->type != FC_MSG_ANNOUNCE)
        return;
    bool gap = msg->seq > self->seq + 1;
    uint64_t newest = fc_install_serial(self->inst);
    if (self->target && self->target->serial > newest)
        newest = self->target->serial;
    bool ours = streq(msg->channel, self->channel) && msg->serial > newest;
    if (msg->seq > self->seq)
        self->seq = msg->seq;
    if (gap || ours)
        s_sync(self, msg->seq, now);
    if (gap)
        fc_reconf_sync(self, now);
}

static bool s_readable(void *sock)
{
    int events = 0;
    size_t size = sizeof events;
    return zmq_getsockopt(sock, ZMQ_EVENTS, &events, &size) == 0 && (events & ZMQ_POLLIN);
}

static void s_drain(fc_agent_t *self, bool service)
{
    for (int i = 0; i < 1000 && !self->finished; i++) {
        fc_msg_t *msg = NULL;
        void *user = NULL;
        fc_requester_got_t got = FC_REQUESTER_NONE;
        if (service) {
            /* Duplicates, late replies and malformed frames are dropped in there. */
            got = fc_requester_recv(self->req, &msg, &user);
            if (got == FC_REQUESTER_NONE)
                return;
        } else {
            void *sock = self->sub ? s_raw(self->sub) : NULL;
            if (!sock || !s_readable(sock))
                return;
            int err = 0;
            msg = fc_msg_recv_announce(sock, &err);
            if (!msg) {
                if (zsys_interrupted)
                    return;
                continue; /* malformed: dropped */
            }
        }
        double now = fc_now();
        if (service) {
            self->live = true;
            s_on_service(self, got, msg, user, now);
            /* Keep the workers fed: what they finished frees window for new requests. */
            if (self->fetch)
                fc_agent_on_written(self, now);
        } else
            s_on_announce(self, msg, now);
        fc_msg_destroy(&msg);
    }
}

/* ---------------------------------------------------------------- timers and loop */

static void s_timers(fc_agent_t *self, double now)
{
    /* Offline, nothing is re-sent: the flush after reconnecting sends everything once (the
       requester re-sends control requests; the fetcher's chunks are timed here). */
    bool up = fc_agent_up(self);
    fc_reconf_timers(self, now);
    fc_agent_fresh_timers(self, now);
    if (up && self->fetch && now - self->last_expire >= 0.1) {
        self->last_expire = now;
        fc_fetch_expire(self->fetch, fc_agent_service(self), now);
    }
    if (self->mode == FC_AGENT_DAEMON) {
        bool asking_hello = fc_agent_asking(self, &s_kind_hello);
        if (!self->welcomed && !asking_hello && !fc_requester_flush_pending(self->req) &&
            now >= self->hello_retry_at)
            s_hello(self, now);
        if (self->welcomed && self->hello_retry_at > 0 && now >= self->hello_retry_at)
            s_hello(self, now);
        if (self->welcomed && !fc_agent_asking(self, &s_kind_sync) &&
            (self->sync_retry_at > 0 ? now >= self->sync_retry_at : now >= self->next_sync)) {
            self->sync_retry_at = 0;
            s_sync(self, 0, now);
        }
        if (self->target && !self->stage && self->retry_at > 0 && now >= self->retry_at)
            fc_agent_start_stage(self, now);
    } else if (now - self->last_progress >= self->timeout) {
        char have[32], total[32];
        fc_agent_progress(self, have, total, sizeof have);
        if (!self->welcomed)
            fc_agent_set_state(self, "failed",
                               "broker unreachable: no reply to HELLO from %s in %g s (%s)",
                               self->broker, self->timeout, fc_agent_error_name(FC_ETIMEOUT));
        else
            fc_agent_set_state(self, "failed", "no progress from broker %s in %g s%s%s%s%s (%s)",
                               self->broker, self->timeout, self->stage ? "; have " : "",
                               self->stage ? have : "", self->stage ? " of " : "",
                               self->stage ? total : "", fc_agent_error_name(FC_ETIMEOUT));
        fc_agent_finish(self, FC_AGENT_EXIT_ERROR, FC_ETIMEOUT);
        return;
    }
    bool busy = streq(self->res.state, "downloading");
    if ((self->report_due && (!busy || now - self->last_report >= S_REPORT_BUSY)) ||
        now - self->last_report >= (busy ? S_REPORT_BUSY : S_REPORT_IDLE))
        fc_agent_report(self, now);
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

/* The event loop, until finished, stopped, interrupted, or (an actor: pipe not NULL) told
   "$TERM" on its pipe. */
static void s_loop(fc_agent_t *self, zsock_t *pipe)
{
    while (!self->finished && !__atomic_load_n(&self->stop, __ATOMIC_RELAXED) &&
           !zsys_interrupted) {
        double now = fc_now();
        if (fc_requester_tick(self->req))
            s_on_flushed(self, now);
        while (fc_requester_expired(self->req, NULL, NULL))
            ; /* only REPORTs expire: best effort */
        s_timers(self, now);
        if (self->finished)
            break;
        if (self->fetch)
            fc_fetch_pump(self->fetch, fc_agent_service(self), now);
        /* Service, monitor, the actor's pipe (if one), the fetcher's workers, then announce
           (if subscribed). */
        zmq_pollitem_t items[4 + S_MAX_PIPES] = {
            {fc_agent_service(self), 0, ZMQ_POLLIN, 0},
            {s_raw(fc_requester_monitor(self->req)), 0, ZMQ_POLLIN, 0}};
        void *pipes[S_MAX_PIPES];
        size_t npipes = self->fetch ? fc_fetch_pipes(self->fetch, pipes, S_MAX_PIPES) : 0;
        size_t n = 2;
        size_t cmd = n;
        if (pipe)
            items[n++] = (zmq_pollitem_t){s_raw(pipe), 0, ZMQ_POLLIN, 0};
        for (size_t i = 0; i < npipes; i++)
            items[n++] = (zmq_pollitem_t){pipes[i], 0, ZMQ_POLLIN, 0};
        if (self->sub)
            items[n++] = (zmq_pollitem_t){s_raw(self->sub), 0, ZMQ_POLLIN, 0};
        /* The requester's next deadline (10 ms while a new connection finishes its
           handshake), at most a tick. */
        int64_t next = fc_requester_next_ms(self->req);
        int rc = zmq_poll(items, (int)n, next >= 0 && next < S_TICK_MS ? (long)next : S_TICK_MS);
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        /* Replies first: those that came before a drop count for the connection lost. */
        if (items[0].revents & ZMQ_POLLIN)
            s_drain(self, true);
        if (pipe && (items[cmd].revents & ZMQ_POLLIN) && s_on_pipe(self, pipe))
            break;
        if (items[1].revents & ZMQ_POLLIN)
            s_on_monitor(self, fc_now());
        if (npipes > 0 && !self->finished)
            fc_agent_on_written(self, fc_now());
        if (self->sub && !self->finished)
            s_drain(self, false);
    }
}

/* --------------------------------------------------------------- public API */

static void s_begin(fc_agent_t *self, fc_agent_mode_t mode)
{
    fc_agent_result_t *r = &self->res;
    self->mode = mode;
    self->finished = false;
    __atomic_store_n(&self->stop, 0, __ATOMIC_RELAXED);
    self->started = self->last_progress = fc_now();
    fc_freshness_begin(self->fresh, self->started);
    self->retried_base = self->hash_base = 0;
    self->req_retried_base = fc_requester_retries(self->req);
    r->bytes_fetched = r->bytes_reused = r->bytes_total = 0;
    r->disconnects = 0;
    r->error = 0;
    r->exit_code = FC_AGENT_EXIT_ERROR;
    r->update_available = false;
    r->available_version[0] = '\0';
    r->available_serial = r->available_size = 0;
    fc_msg_set_str(r->previous_version, sizeof r->previous_version, fc_install_version(self->inst));
    fc_msg_set_str(r->version, sizeof r->version, fc_install_version(self->inst));
    self->have_decided = false;
    if (mode == FC_AGENT_DAEMON)
        fc_agent_log(self, "following channel %s on %s (installed: %s)", self->channel,
                     self->broker, r->version[0] ? r->version : "nothing");
    fc_agent_set_state(self, "checking", "asking %s for the latest release of %s", self->broker,
                       self->channel);
    /* A fresh HELLO and SYNC: replies to an earlier run's requests are dropped. */
    fc_requester_forget_user(self->req, &s_kind_hello);
    fc_requester_forget_user(self->req, &s_kind_sync);
    self->hello_retry_at = self->sync_retry_at = 0;
    self->want_seq = 0;
    s_hello(self, self->started);
}

/* A one-shot run tells the broker how it ended, waiting briefly for the OK. */
static void s_final_report(fc_agent_t *self)
{
    if (self->mode == FC_AGENT_CHECK || !self->welcomed)
        return;
    if (fc_agent_report(self, fc_now()) != 0)
        return; /* no connection: nothing to wait for */
    double deadline = fc_now() + 0.5;
    bool done = false;
    while (!done && fc_now() < deadline && !zsys_interrupted) {
        zmq_pollitem_t item = {fc_agent_service(self), 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 50) <= 0)
            continue;
        fc_msg_t *msg = NULL;
        void *user = NULL;
        fc_requester_got_t got;
        while (!done && (got = fc_requester_recv(self->req, &msg, &user)) != FC_REQUESTER_NONE) {
            if (got == FC_REQUESTER_OTHER && msg->type == FC_MSG_CHUNK && msg->data)
                self->res.bytes_fetched += zframe_size(msg->data);
            done = got == FC_REQUESTER_REPLY && user == &s_kind_report &&
                   !fc_agent_asking(self, &s_kind_report);
            fc_msg_destroy(&msg);
        }
    }
}

void fc_agent_status(const fc_agent_t *self, fc_agent_result_t *out)
{
    *out = self->res;
    out->requests_retried = self->retried_base +
                            (fc_requester_retries(self->req) - self->req_retried_base) +
                            (self->fetch ? fc_fetch_retried(self->fetch) : 0);
    out->hash_errors = self->hash_base + (self->fetch ? fc_fetch_hash_errors(self->fetch) : 0);
    out->seconds = fc_now() - self->started;
    fc_msg_set_str(out->version, sizeof out->version, fc_install_version(self->inst));
    fc_freshness_status(self->fresh, out);
}

int fc_agent_run_once(fc_agent_t *self, bool check_only, fc_agent_result_t *out)
{
    s_begin(self, check_only ? FC_AGENT_CHECK : FC_AGENT_ONCE);
    s_loop(self, NULL);
    if (!self->finished) {
        fc_agent_set_state(self, "failed", "interrupted");
        self->res.exit_code = FC_AGENT_EXIT_ERROR;
    }
    if (self->mode == FC_AGENT_ONCE && self->finished && self->welcomed)
        fc_reconf_run_once(self); /* the config too, before the final report */
    if (self->mode == FC_AGENT_ONCE && self->finished)
        fc_agent_fresh_await(self);
    s_final_report(self);
    /* A one-shot run leaves nothing half-open in memory; the stage stays on disk. */
    if (self->fetch || self->stage) {
        self->retried_base += self->fetch ? fc_fetch_retried(self->fetch) : 0;
        self->hash_base += self->fetch ? fc_fetch_hash_errors(self->fetch) : 0;
        fc_fetch_destroy(&self->fetch);
        fc_stage_destroy(&self->stage);
    }
    fc_agent_drop_target(self);
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

void fc_agent_stop(fc_agent_t *self)
{
    if (self)
        __atomic_store_n(&self->stop, 1, __ATOMIC_RELAXED); /* from a signal or another thread */
}
