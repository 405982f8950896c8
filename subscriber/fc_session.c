/* fc_session.c: the agent's session with the broker (fc_session.h): HELLO, SYNC, GET_TRUST
   and REPORT and their replies, announcements and heartbeats, connection events, timers. */
#include "fc_session.h"
#include "fc_agent_log.h"
#include "fc_clock.h"
#include "fc_endpoint.h"
#include "fc_error.h"
#include "fc_freshness.h"
#include "fc_objfetch.h"
#include "fc_sockopt.h"
#include "fc_suggest.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define S_RESEND 5.0       /* a refused HELLO or SYNC: asked again after (daemon) */
#define S_REPORT_BUSY 1.0  /* REPORT at most this often while downloading */
#define S_REPORT_IDLE 10.0 /* and at least this often otherwise */
#define S_POLL_SYNC 60.0   /* daemon: SYNC this often even if the announce feed is silent */
#define S_DIAG_FIRST 5.0   /* a failing link is told at once, again after this, then ... */
#define S_DIAG_MAX 300.0   /* ... twice as late each time, up to this */

struct fc_session_t {
    fc_session_host_t host;
    char *broker, *channel, *id;
    fc_requester_t *req;
    const fc_curve_t *curve;
    fc_agent_trust_t *trusted;
    fc_agent_result_t *res;
    bool verbose;
    double timeout;
    fc_freshness_t *fresh;   /* heartbeats and the broker's signed timestamps */
    fc_objfetch_t *objfetch; /* a format-3 manifest's objects, fetched before it is considered */
    bool unread_first;       /* the fetch under way is the installed release's own (host.unread) */

    fc_agent_mode_t mode;
    double started;
    zsock_t *sub; /* the announce SUB, once a WELCOME named it */
    char sub_endpoint[FC_MAX_ENDPOINT + 1];
    bool live;                            /* a reply came over the current connection */
    bool lost_logged;                     /* a loss was logged; the resume will be too */
    double hello_retry_at, sync_retry_at; /* refused: asked again then (0: not waiting) */
    bool welcomed;
    uint64_t epoch, seq, want_seq;
    double next_sync;
    double last_progress; /* last useful answer (WELCOME, SNAPSHOT, a written chunk) */
    double last_error_log;
    bool report_due;
    double last_report;
    fc_link_state_t diag_link; /* the link failure last told, FC_LINK_UNKNOWN: none */
    bool unknown_told;         /* the daemon said its channel is unknown to the broker */
    double diag_next, diag_every;
    uint64_t moves;               /* the requester's moves to another broker, logged */
    bool moved;                   /* a move since the last WELCOME */
    char at[FC_MAX_ENDPOINT + 1]; /* the broker before the last move */
};

#define s_log(self, ...) fc_agent_logf((self)->host.log, (self)->host.ctx, __VA_ARGS__)

/* The broker talked to now: one of the --broker list (fc_requester moves along it). */
static const char *s_broker(const fc_session_t *self)
{
    return fc_requester_endpoint(self->req);
}

static void s_state(fc_session_t *self, const char *state, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void s_state(fc_session_t *self, const char *state, const char *fmt, ...)
{
    char msg[FC_MAX_TEXT + 1];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    self->host.set_state(self->host.ctx, state, msg);
}

static bool s_finished(fc_session_t *self)
{
    return self->host.finished(self->host.ctx);
}

/* ---------------------------------------------------------------- lifecycle */

static void s_sync(fc_session_t *self, uint64_t want, double now);

/* fc_objfetch_host_t: a format-3 manifest whole at last, or not to be had. */
static void s_objects_ready(void *ctx, const uint8_t *bytes, size_t len, double now)
{
    fc_session_t *self = (fc_session_t *)ctx;
    self->last_progress = now;
    if (self->unread_first) {
        /* The installed release is read again; the snapshot put aside for it is asked
           for again, to be judged against what is installed. */
        self->unread_first = false;
        self->host.unread_done(self->host.ctx, true);
        s_sync(self, 0, now);
        return;
    }
    self->host.consider(self->host.ctx, bytes, len, now);
}

static void s_objects_failed(void *ctx, int error, const char *text, double now)
{
    fc_session_t *self = (fc_session_t *)ctx;
    if (self->unread_first) {
        /* An installed release's objects the broker no longer has (pruned) or serves
           damaged: it counts as nothing installed, and the channel's release is judged. */
        self->unread_first = false;
        s_log(self, "the installed release's manifest objects cannot be fetched again: %s", text);
        self->host.unread_done(self->host.ctx, false);
        s_sync(self, 0, now);
        return;
    }
    s_state(self, "failed", "release rejected: %s", text);
    self->host.finish(self->host.ctx, FC_AGENT_EXIT_ERROR, error);
}

static const fc_manifest_t *s_objects_installed(void *ctx)
{
    fc_session_t *self = (fc_session_t *)ctx;
    return self->host.installed ? self->host.installed(self->host.ctx) : NULL;
}

fc_session_t *fc_session_new(const fc_session_config_t *cfg, const fc_session_host_t *host)
{
    fc_session_t *self = (fc_session_t *)calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->host = *host;
    self->broker = strdup(cfg->broker);
    self->channel = strdup(cfg->channel);
    self->id = strdup(cfg->id);
    self->req = cfg->req;
    self->curve = cfg->curve;
    self->trusted = cfg->trusted;
    self->res = cfg->res;
    self->verbose = cfg->verbose;
    self->timeout = cfg->timeout;
    self->mode = FC_AGENT_DAEMON;
    self->fresh =
        fc_freshness_new(cfg->stamp_pk, cfg->freeze_after, cfg->verbose, host->log, host->ctx);
    fc_objfetch_host_t ohost = {self, s_objects_ready, s_objects_failed, s_objects_installed};
    if (cfg->objects)
        self->objfetch = fc_objfetch_new(cfg->req, cfg->objects, &ohost);
    if (!self->broker || !self->channel || !self->id || !self->fresh ||
        (cfg->objects && !self->objfetch))
        fc_session_destroy(&self);
    return self;
}

void fc_session_destroy(fc_session_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fc_session_t *self = *self_p;
    zsock_destroy(&self->sub);
    fc_freshness_destroy(&self->fresh);
    fc_objfetch_destroy(&self->objfetch);
    free(self->broker);
    free(self->channel);
    free(self->id);
    free(self);
    *self_p = NULL;
}

/* ---------------------------------------------------------------- requests */

static void s_on_hello_reply(fc_session_t *self, const fc_msg_t *msg, double now);
static void s_on_sync_reply(fc_session_t *self, const fc_msg_t *msg, double now);
static void s_on_trust_reply(fc_session_t *self, const fc_msg_t *msg, double now);
static void s_on_report_reply(fc_session_t *self, const fc_msg_t *msg, double now);

/* A kind of the session's requests: the requester hands each reply back with the kind it was
   sent as (its user pointer), and the kind's handler takes it. */
typedef struct {
    const char *name; /* the request, for logs */
    void (*on_reply)(fc_session_t *self, const fc_msg_t *msg, double now);
} s_kind_t;

/* HELLO is the probe after a reconnect: flushed before anything else, and nothing else is
   tried until it goes through (the broker may have restarted: its WELCOME tells the epoch).
   HELLO, SYNC and GET_TRUST are re-sent after 5 s (the requester's default) until answered;
   a REPORT never is (the next one carries newer news anyway), and is forgotten if
   unanswered. */
static const s_kind_t s_kind_hello = {"HELLO", s_on_hello_reply};
static const s_kind_t s_kind_sync = {"SYNC", s_on_sync_reply};
static const s_kind_t s_kind_trust = {"GET_TRUST", s_on_trust_reply};
static const s_kind_t s_kind_report = {"REPORT", s_on_report_reply};
static const fc_requester_sendopts_t s_hello_opts = {.first = true};
static const fc_requester_sendopts_t s_report_opts = {.resend_ms = -1, .expire_ms = 30000};

static uint64_t s_request(fc_session_t *self, fc_msg_t **m_p, const s_kind_t *kind,
                          const fc_requester_sendopts_t *opts)
{
    return fc_requester_send(self->req, m_p, (void *)kind, opts);
}

static bool s_asking(const fc_session_t *self, const s_kind_t *kind)
{
    return fc_requester_count(self->req, kind) > 0;
}

bool fc_session_fetching_objects(const fc_session_t *self)
{
    return self->objfetch && fc_objfetch_busy(self->objfetch);
}

bool fc_session_on_reply(fc_session_t *self, const void *kind, const fc_msg_t *msg, double now)
{
    if (self->objfetch && fc_objfetch_on_reply(self->objfetch, kind, msg, now))
        return true;
    if (kind != &s_kind_hello && kind != &s_kind_sync && kind != &s_kind_trust &&
        kind != &s_kind_report)
        return false;
    ((const s_kind_t *)kind)->on_reply(self, msg, now);
    return true;
}

/* Asks the broker for a newer trusted-key list, unless one is asked already (or the broker
   refused them this epoch). */
static void s_trust_ask(fc_session_t *self)
{
    if (s_asking(self, &s_kind_trust))
        return;
    fc_msg_t *m = fc_agent_trust_request(self->trusted);
    if (m)
        s_request(self, &m, &s_kind_trust, NULL);
}

/* A GET_TRUST reply: the keys rotated; a release refused under the old keys deserves
   another look under the new ones. */
static void s_on_trust_reply(fc_session_t *self, const fc_msg_t *msg, double now)
{
    (void)now;
    if (fc_agent_trust_on_reply(self->trusted, msg)) {
        self->res->trust_serial = fc_agent_trust_serial(self->trusted);
        self->host.trust_rotated(self->host.ctx);
    }
}

/* A HELLO unless one is outstanding. Sent when a connection takes it (ZMQ_IMMEDIATE:
   nothing is queued for a connection that is not up; the flush after reconnecting sends it). */
static void s_hello(fc_session_t *self)
{
    self->hello_retry_at = 0;
    if (s_asking(self, &s_kind_hello))
        return;
    fc_msg_t *m = fc_msg_new(FC_MSG_HELLO);
    m->role = FC_ROLE_AGENT;
    fc_msg_set_str(m->id, sizeof m->id, self->id);
    fc_msg_set_str(m->channel, sizeof m->channel, self->channel);
    s_request(self, &m, &s_kind_hello, &s_hello_opts);
}

/* Asks for a snapshot at least as new as want. One SYNC at a time: the reply is compared with
   want_seq, and asked again if older. */
static void s_sync(fc_session_t *self, uint64_t want, double now)
{
    /* First the trusted keys: the broker answers in order, so a rotation is in force before
       the snapshot's manifest is judged. */
    s_trust_ask(self);
    if (want > self->want_seq)
        self->want_seq = want;
    if (s_asking(self, &s_kind_sync) || self->sync_retry_at > now)
        return;
    self->sync_retry_at = 0;
    fc_msg_t *m = fc_msg_new(FC_MSG_SYNC);
    fc_msg_set_str(m->channel, sizeof m->channel, self->channel);
    fc_msg_set_str(m->id, sizeof m->id, self->id); /* what our rollout wave offers us */
    s_request(self, &m, &s_kind_sync, NULL);
}

int fc_session_report(fc_session_t *self, double now)
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
    self->host.fill_report(self->host.ctx, st, m->blob);
    fc_freshness_note(self->fresh, st->message, sizeof st->message);
    uint64_t id = s_request(self, &m, &s_kind_report, &s_report_opts);
    /* Best effort: a REPORT that found no connection is not kept. */
    return id && fc_requester_pending(self->req, id) ? 0 : -1;
}

void fc_session_report_due(fc_session_t *self)
{
    self->report_due = true;
}

/* ---------------------------------------------------------------- connection */

static void s_sub_connect(fc_session_t *self, const char *endpoint)
{
    zsock_destroy(&self->sub);
    self->sub_endpoint[0] = '\0';
    self->sub = zsock_new(ZMQ_SUB);
    if (!self->sub)
        return;
    fc_sock_tune(zsock_resolve(self->sub));
    fc_curve_apply(self->curve, self->sub);
    zsock_set_subscribe(self->sub, FC_TOPIC_RELEASE);
    zsock_set_subscribe(self->sub, FC_TOPIC_HEARTBEAT);
    zsock_set_subscribe(self->sub, FC_TOPIC_CONFIG);
    zsock_set_subscribe(self->sub, FC_TOPIC_TRUST);
    if (zsock_connect(self->sub, "%s", endpoint) != 0) {
        s_log(self, "cannot connect to announce endpoint %s; relying on polling", endpoint);
        zsock_destroy(&self->sub);
        return;
    }
    fc_msg_set_str(self->sub_endpoint, sizeof self->sub_endpoint, endpoint);
}

void fc_session_resync(fc_session_t *self, double now)
{
    s_trust_ask(self);
    if (self->welcomed && !s_asking(self, &s_kind_sync))
        s_sync(self, 0, now);
}

void fc_session_set_live(fc_session_t *self)
{
    self->live = true;
}

void fc_session_progress(fc_session_t *self, double now)
{
    self->last_progress = now;
}

/* Connection events. The DEALER has ZMQ_IMMEDIATE set: nothing waits in a queue for a
   connection that is not up, and what was queued for a connection that drops is dropped
   with it. So after any drop the requester sends everything outstanding again, once, as
   soon as a new connection takes it, a HELLO first; and a connection that keeps failing
   before its handshake (a proxy up with the broker down) piles nothing up. Only a
   connection that carried a reply is worth a log line when lost. */
/* The link's failure, told the moment it is known and again at a growing interval while it
   lasts (never silent, never a flood); its end told once. A one-shot run whose link fails
   for a reason of configuration ends at once: waiting will not help. */
static void s_link_check(fc_session_t *self, double now)
{
    if (fc_requester_moves(self->req) != self->moves) {
        /* One line per move: the operator sees which broker was lost and where we went. */
        self->moves = fc_requester_moves(self->req);
        self->moved = true;
        char have[32], total[32];
        size_t inflight = 0;
        bool staged = self->host.staged(self->host.ctx, have, total, sizeof have, &inflight);
        s_log(self, "broker %s lost; moving to %s (%zu brokers listed)%s%s%s%s", self->at,
              s_broker(self), fc_requester_brokers(self->req),
              staged ? ", the download continuing from " : "", staged ? have : "",
              staged ? " of " : "", staged ? total : "");
        self->res->broker_moves++;
        self->diag_link = FC_LINK_UNKNOWN;
    }
    fc_msg_set_str(self->at, sizeof self->at, s_broker(self));
    fc_link_state_t link = fc_requester_link(self->req, NULL);
    if (!fc_link_failing(link)) {
        if (self->diag_link != FC_LINK_UNKNOWN && link == FC_LINK_UP)
            s_log(self, "connected to %s", s_broker(self));
        if (link == FC_LINK_UP)
            self->diag_link = FC_LINK_UNKNOWN;
        return;
    }
    if (link != self->diag_link) {
        self->diag_link = link;
        self->diag_next = now;
        self->diag_every = S_DIAG_FIRST;
    }
    char advice[FC_MAX_TEXT + 1];
    fc_link_advice(link, s_broker(self), FC_ROLE_AGENT,
                   self->curve ? fc_curve_public_txt(self->curve) : NULL, self->curve != NULL,
                   advice, sizeof advice);
    if (self->mode != FC_AGENT_DAEMON && !self->welcomed && fc_link_misconfigured(link) &&
        !s_finished(self)) {
        s_log(self, "%s", advice);
        s_state(self, "failed", "%s", advice);
        self->host.finish(self->host.ctx, FC_AGENT_EXIT_ERROR, FC_ETIMEOUT);
        return;
    }
    if (now < self->diag_next)
        return;
    s_log(self, "%s (retrying; next word on this in %.0f s)", advice, self->diag_every);
    self->diag_next = now + self->diag_every;
    self->diag_every = self->diag_every * 2 > S_DIAG_MAX ? S_DIAG_MAX : self->diag_every * 2;
}

void fc_session_on_monitor(fc_session_t *self, double now)
{
    fc_requester_event_t ev = fc_requester_on_monitor(self->req);
    s_link_check(self, now);
    if (ev != FC_REQUESTER_EV_DISCONNECTED)
        return;
    s_hello(self); /* the probe the flush waits for */
    if (self->live) {
        char have[32], total[32];
        size_t inflight = 0;
        bool staged = self->host.staged(self->host.ctx, have, total, sizeof have, &inflight);
        self->live = false;
        self->lost_logged = true;
        self->res->disconnects++;
        if (staged)
            s_log(self, "connection lost (have %s of %s, %zu requests in flight)", have, total,
                  inflight);
        else
            s_log(self, "connection to %s lost", s_broker(self));
    } else if (self->verbose)
        s_log(self, "connection to %s dropped before any reply", s_broker(self));
}

void fc_session_on_flushed(fc_session_t *self, size_t n, double now)
{
    (void)now;
    if (!self->lost_logged)
        return;
    self->lost_logged = false;
    char have[32], total[32];
    size_t inflight = 0;
    if (self->host.staged(self->host.ctx, have, total, sizeof have, &inflight))
        s_log(self, "reconnected, resuming from %s of %s, re-sending %zu requests", have, total, n);
    else
        s_log(self, "reconnected to %s", s_broker(self));
}

/* ---------------------------------------------------------------- replies */

static void s_on_welcome(fc_session_t *self, const fc_msg_t *msg, double now)
{
    /* The broker answers in order: chunk requests sent before this HELLO and still
       unanswered were lost with a connection. */
    double hello_sent = (double)fc_requester_reply_sent(self->req) / 1000.0;
    size_t n = self->host.resend_before(self->host.ctx, hello_sent, now);
    if (n && self->verbose)
        s_log(self, "re-sent %zu requests lost with an earlier connection", n);
    self->last_progress = now;
    if (self->welcomed && self->moved) {
        /* Another broker: its epoch and sequence are its own, not a restart nor a gap (the
           WELCOME's seq is where its announcements start for us). */
        s_log(self, "now served by %s, synchronising", s_broker(self));
        fc_agent_trust_reset(self->trusted);
    } else if (self->welcomed && msg->epoch != self->epoch) {
        s_log(self, "broker restarted (new epoch), synchronising again");
        fc_agent_trust_reset(self->trusted);
    }
    self->moved = false;
    self->welcomed = true;
    self->epoch = msg->epoch;
    self->seq = msg->seq;
    char ep[FC_MAX_ENDPOINT + 1];
    if (fc_endpoint_for_peer(ep, sizeof ep, msg->endpoint, s_broker(self)) != 0)
        s_log(self, "broker named an unusable announce endpoint '%s'; relying on polling",
              msg->endpoint);
    else if (!self->sub || !streq(ep, self->sub_endpoint))
        s_sub_connect(self, ep);
    /* Subscribed first, then SYNC: nothing announced in between is lost. */
    s_sync(self, 0, now);
    self->host.config_sync(self->host.ctx, now);
    self->report_due = true;
}

/* A channel the broker has never had a release on is most likely a typo: a one-shot run
   fails naming the channels it knows (and the closest); a daemon says so once and waits
   for a first release. True if the run ended here. */
static bool s_channel_unknown(fc_session_t *self, const fc_msg_t *msg)
{
    if (msg->bytes_len > 0)
        return false;
    const char *names[FC_MAX_SNAPSHOT] = {0};
    size_t n = 0;
    char known[FC_MAX_TEXT / 2] = "";
    for (size_t i = 0; i < msg->nreleases && n < FC_MAX_SNAPSHOT; i++) {
        const char *ch = msg->releases[i].channel;
        if (streq(ch, self->channel))
            return false;
        bool seen = false;
        for (size_t j = 0; j < n && !seen; j++)
            seen = streq(names[j], ch);
        if (seen)
            continue;
        names[n++] = ch;
        size_t len = strlen(known);
        snprintf(known + len, sizeof known - len, "%s%s", len ? ", " : "", ch);
    }
    /* A broker with nothing published yet: a first push is awaited, not a typo. */
    if (n == 0)
        return false;
    const char *like = fc_suggest(self->channel, names, n);
    char text[FC_MAX_TEXT];
    snprintf(text, sizeof text,
             "channel '%s' has never had a release on the broker at %s (known channels: %s)%s%s%s",
             self->channel, s_broker(self), known, like ? "; did you mean '" : "", like ? like : "",
             like ? "'?" : "");
    if (self->mode == FC_AGENT_DAEMON) {
        if (!self->unknown_told)
            s_log(self, "%s; waiting for its first release", text);
        self->unknown_told = true;
        return false;
    }
    s_state(self, "failed", "%s", text);
    self->host.finish(self->host.ctx, FC_AGENT_EXIT_ERROR, FC_ENOTFOUND);
    return true;
}

/* The installed release's objects first, when they are to be fetched again and the snapshot
   names another release (the same one is fetched as any snapshot is): true if that fetch is
   under way and the snapshot put aside. */
static bool s_fetch_unread(fc_session_t *self, const fc_msg_t *msg, double now)
{
    size_t len = 0;
    const uint8_t *top = self->host.unread ? self->host.unread(self->host.ctx, &len) : NULL;
    if (!top || (len == msg->bytes_len && memcmp(top, msg->bytes, len) == 0))
        return false;
    if (fc_objfetch_want(self->objfetch, top, len, now)) {
        self->host.unread_done(self->host.ctx, true); /* whole already */
        return false;
    }
    self->unread_first = true;
    return true;
}

static void s_on_snapshot(fc_session_t *self, const fc_msg_t *msg, double now)
{
    self->last_progress = now;
    if (msg->epoch != self->epoch) {
        s_hello(self); /* the broker changed between WELCOME and SNAPSHOT */
        return;
    }
    if (msg->seq > self->seq)
        self->seq = msg->seq;
    self->next_sync = now + S_POLL_SYNC;
    if (s_channel_unknown(self, msg))
        return;
    if (self->objfetch && s_fetch_unread(self, msg, now))
        return;
    /* A format-3 top level is considered once its objects are held (s_objects_ready). */
    if (!self->objfetch || fc_objfetch_want(self->objfetch, msg->bytes, msg->bytes_len, now))
        self->host.consider(self->host.ctx, msg->bytes, msg->bytes_len, now);
    if (!s_finished(self) && self->want_seq > msg->seq)
        s_sync(self, 0, now);
}

/* An ERROR answering what (GET_CHUNK, HELLO, SYNC or REPORT). */
void fc_session_on_error(fc_session_t *self, const fc_msg_t *msg, const char *what, double now)
{
    bool chunk = streq(what, "GET_CHUNK");
    /* The broker may be restoring its store: log (not for every chunk), retry later. */
    if (now - self->last_error_log >= 5 || self->verbose) {
        s_log(self, "broker answered %s with %s: %s%s", what, fc_error_name((int)msg->code),
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
            s_state(self, "failed", "broker refused %s: %s (%s)", what,
                    msg->text[0] ? msg->text : fc_strerror((int)msg->code),
                    fc_error_name((int)msg->code));
            self->host.finish(self->host.ctx, FC_AGENT_EXIT_ERROR, (int)msg->code);
        }
    }
}

static void s_on_hello_reply(fc_session_t *self, const fc_msg_t *msg, double now)
{
    if (msg->type == FC_MSG_WELCOME)
        s_on_welcome(self, msg, now);
    else if (msg->type == FC_MSG_ERROR)
        fc_session_on_error(self, msg, "HELLO", now);
    else if (self->mode == FC_AGENT_DAEMON)
        self->hello_retry_at = now + S_RESEND; /* anything else: asked again later */
}

static void s_on_sync_reply(fc_session_t *self, const fc_msg_t *msg, double now)
{
    if (msg->type == FC_MSG_SNAPSHOT)
        s_on_snapshot(self, msg, now);
    else if (msg->type == FC_MSG_ERROR)
        fc_session_on_error(self, msg, "SYNC", now);
    else
        self->sync_retry_at = now + S_RESEND;
}

static void s_on_report_reply(fc_session_t *self, const fc_msg_t *msg, double now)
{
    if (msg->type == FC_MSG_ERROR)
        fc_session_on_error(self, msg, "REPORT", now); /* OK: nothing to do */
}

/* ---------------------------------------------------------------- announcements */

/* A HEARTBEAT: with a pinned key, its signed timestamp is checked. false: drop it. */
static bool s_on_heartbeat(fc_session_t *self, const fc_msg_t *msg, double now)
{
    bool changed = false;
    bool ok = fc_freshness_on_heartbeat(self->fresh, msg, now, &changed);
    if (changed)
        self->report_due = true;
    return ok;
}

static void s_on_announce(fc_session_t *self, fc_msg_t *msg, double now)
{
    /* Before anything else: a forged or replayed heartbeat must not move us either. */
    if (msg->type == FC_MSG_HEARTBEAT && !s_on_heartbeat(self, msg, now))
        return;
    if (!self->welcomed)
        return; /* a SYNC follows the WELCOME anyway */
    if (msg->epoch != self->epoch) {
        s_hello(self);
        return;
    }
    if (msg->type == FC_MSG_HEARTBEAT) {
        if (msg->seq > self->seq) {
            s_sync(self, msg->seq, now);                 /* the last announcement was lost */
            self->host.config_sync(self->host.ctx, now); /* it may have been a config one */
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
            self->host.config_sync(self->host.ctx, now);
        } else
            self->host.config_announce(self->host.ctx, msg, in_order, now);
        return;
    }
    if (msg->type == FC_MSG_TRUST_ANNOUNCE) {
        bool lost = msg->seq > self->seq + 1;
        if (msg->seq > self->seq)
            self->seq = msg->seq;
        if (lost) {
            s_sync(self, msg->seq, now); /* asks for the trust list too */
            self->host.config_sync(self->host.ctx, now);
        } else if (msg->serial > fc_agent_trust_serial(self->trusted))
            s_trust_ask(self);
        return;
    }
    if (msg->type != FC_MSG_ANNOUNCE)
        return;
    bool gap = msg->seq > self->seq + 1;
    uint64_t newest = self->host.newest_serial(self->host.ctx);
    bool ours = streq(msg->channel, self->channel) && msg->serial > newest;
    if (msg->seq > self->seq)
        self->seq = msg->seq;
    if (gap || ours)
        s_sync(self, msg->seq, now);
    if (gap)
        self->host.config_sync(self->host.ctx, now);
}

void *fc_session_sub(fc_session_t *self)
{
    return self->sub ? zsock_resolve(self->sub) : NULL;
}

void fc_session_drain_sub(fc_session_t *self)
{
    for (int i = 0; i < 1000 && !s_finished(self); i++) {
        void *sock = fc_session_sub(self);
        if (!sock || !(zsock_events(self->sub) & ZMQ_POLLIN))
            return;
        int err = 0;
        fc_msg_t *msg = fc_msg_recv_announce(sock, &err);
        if (!msg) {
            if (zsys_interrupted)
                return;
            continue; /* malformed: dropped */
        }
        s_on_announce(self, msg, fc_now());
        fc_msg_destroy(&msg);
    }
}

/* ---------------------------------------------------------------- timers and runs */

void fc_session_begin(fc_session_t *self, fc_agent_mode_t mode, double now)
{
    self->mode = mode;
    self->started = self->last_progress = now;
    fc_freshness_begin(self->fresh, now);
    /* A fresh HELLO and SYNC: replies to an earlier run's requests are dropped. */
    fc_requester_forget_user(self->req, &s_kind_hello);
    fc_requester_forget_user(self->req, &s_kind_sync);
    self->hello_retry_at = self->sync_retry_at = 0;
    self->want_seq = 0;
    s_hello(self);
}

void fc_session_fresh_timers(fc_session_t *self, double now)
{
    if (fc_freshness_timers(self->fresh, now))
        self->report_due = true;
}

bool fc_session_timers(fc_session_t *self, double now)
{
    s_link_check(self, now);
    if (s_finished(self))
        return false;
    if (self->mode == FC_AGENT_DAEMON) {
        bool asking_hello = s_asking(self, &s_kind_hello);
        if (!self->welcomed && !asking_hello && !fc_requester_flush_pending(self->req) &&
            now >= self->hello_retry_at)
            s_hello(self);
        if (self->welcomed && self->hello_retry_at > 0 && now >= self->hello_retry_at)
            s_hello(self);
        if (self->welcomed && !s_asking(self, &s_kind_sync) &&
            (self->sync_retry_at > 0 ? now >= self->sync_retry_at : now >= self->next_sync)) {
            self->sync_retry_at = 0;
            s_sync(self, 0, now);
        }
        return true;
    }
    if (now - self->last_progress < self->timeout)
        return true;
    char have[32], total[32];
    size_t inflight = 0;
    bool staged = self->host.staged(self->host.ctx, have, total, sizeof have, &inflight);
    fc_link_state_t link = fc_requester_link(self->req, NULL);
    char advice[FC_MAX_TEXT + 1];
    fc_link_advice(link, s_broker(self), FC_ROLE_AGENT, NULL, self->curve != NULL, advice,
                   sizeof advice);
    if (!self->welcomed && fc_link_failing(link))
        s_state(self, "failed", "broker unreachable for %g s: %s (%s)", self->timeout, advice,
                fc_error_name(FC_ETIMEOUT));
    else if (!self->welcomed)
        s_state(self, "failed", "broker unreachable: no reply to HELLO from %s in %g s (%s)",
                s_broker(self), self->timeout, fc_error_name(FC_ETIMEOUT));
    else
        s_state(self, "failed", "no progress from broker %s in %g s%s%s%s%s (%s)", s_broker(self),
                self->timeout, staged ? "; have " : "", staged ? have : "", staged ? " of " : "",
                staged ? total : "", fc_error_name(FC_ETIMEOUT));
    self->host.finish(self->host.ctx, FC_AGENT_EXIT_ERROR, FC_ETIMEOUT);
    return false;
}

void fc_session_report_timers(fc_session_t *self, double now)
{
    bool busy = streq(self->res->state, "downloading");
    if ((self->report_due && (!busy || now - self->last_report >= S_REPORT_BUSY)) ||
        now - self->last_report >= (busy ? S_REPORT_BUSY : S_REPORT_IDLE))
        fc_session_report(self, now);
}

void fc_session_final_report(fc_session_t *self)
{
    if (self->mode == FC_AGENT_CHECK || !self->welcomed)
        return;
    if (fc_session_report(self, fc_now()) != 0)
        return; /* no connection: nothing to wait for */
    double deadline = fc_now() + 0.5;
    bool done = false;
    while (!done && fc_now() < deadline && !zsys_interrupted) {
        zmq_pollitem_t item = {zsock_resolve(fc_requester_sock(self->req)), 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 50) <= 0)
            continue;
        fc_msg_t *msg = NULL;
        void *user = NULL;
        fc_requester_got_t got;
        while (!done && (got = fc_requester_recv(self->req, &msg, &user)) != FC_REQUESTER_NONE) {
            if (got == FC_REQUESTER_OTHER && msg->type == FC_MSG_CHUNK && msg->data)
                self->res->bytes_fetched += zframe_size(msg->data);
            done = got == FC_REQUESTER_REPLY && user == &s_kind_report &&
                   !s_asking(self, &s_kind_report);
            fc_msg_destroy(&msg);
        }
    }
}

void fc_session_await_fresh(fc_session_t *self)
{
    if (!fc_freshness_pinned(self->fresh))
        return;
    double deadline = fc_now() + self->timeout;
    while (!fc_freshness_heard_since(self->fresh, self->started) && self->sub &&
           fc_now() < deadline && !zsys_interrupted && !self->host.stopping(self->host.ctx)) {
        zmq_pollitem_t item = {zsock_resolve(self->sub), 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 100) <= 0)
            continue;
        int err = 0;
        fc_msg_t *msg = fc_msg_recv_announce(zsock_resolve(self->sub), &err);
        if (msg && msg->type == FC_MSG_HEARTBEAT)
            s_on_heartbeat(self, msg, fc_now());
        fc_msg_destroy(&msg);
    }
    if (fc_freshness_heard_since(self->fresh, self->started))
        return;
    fc_freshness_set_stale(self->fresh);
    if (self->res->exit_code != FC_AGENT_EXIT_OK)
        return; /* the run failed anyway; that is what its exit code says */
    fc_agent_result_t r;
    fc_freshness_status(self->fresh, &r);
    self->res->exit_code = FC_AGENT_EXIT_STALE;
    s_state(self, "stale",
            "%s; but no fresh signed timestamp from broker %s in %g s (%llu bad,"
            " %llu replayed): it may be frozen or replaying old data",
            self->res->message, s_broker(self), self->timeout, (unsigned long long)r.stamps_bad,
            (unsigned long long)r.stamps_replayed);
}

bool fc_session_welcomed(const fc_session_t *self)
{
    return self->welcomed;
}

uint64_t fc_session_heartbeats(const fc_session_t *self)
{
    return fc_freshness_heartbeats(self->fresh);
}

void fc_session_fresh_status(const fc_session_t *self, fc_agent_result_t *out)
{
    fc_freshness_status(self->fresh, out);
}
