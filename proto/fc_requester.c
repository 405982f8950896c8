/* fc_requester.c: the non-blocking requester over DEALER: pending table, re-send deadlines,
   the flush after a reconnect, replies matched to requests. */
#include "fc_requester.h"
#include "fc_brokers.h"
#include "fc_error.h"
#include "fc_limits.h"
#include "fc_link.h"
#include "fc_sockopt.h"

#include <sodium.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#define S_DEFAULT_RESEND_MS 3000
#define S_FLUSH_WAIT_MS 10 /* a new connection finishing its handshake: look again this soon */
#define S_RECV_BUDGET 1000
#define S_DEFAULT_MOVE_MS 2000

/* One request in flight: the encoded message is kept so it can be re-sent unchanged. */
typedef struct {
    uint64_t req;
    zmsg_t *wire;
    void *user;
    int64_t due;     /* next re-send (mono ms); INT64_MAX: never */
    int64_t expires; /* forgotten then (mono ms); 0: never */
    int64_t sent;    /* last transmitted (mono ms); 0: never went out */
    int sends;       /* transmissions that went out */
    int max_sends;   /* 0: no limit */
    int resend_ms;   /* -1: best effort */
    bool first;
} s_pending_t;

typedef struct {
    uint64_t req;
    void *user;
} s_expired_t;

struct fc_requester_t {
    zsock_t *dealer;
    zsock_t *monitor; /* PAIR: the dealer's socket-monitor events, read in this thread */
    int resend_ms;
    uint64_t tag;
    uint64_t next_req;
    s_pending_t *pending; /* small array: tens of requests in flight, not thousands */
    size_t npending, maxpending;
    s_expired_t *expired;
    size_t nexpired, maxexpired;
    bool connected;
    bool flush_pending;
    bool curve;           /* for telling the link's failures apart */
    fc_link_state_t link; /* what the monitor's events say about the link */
    int64_t link_since;   /* when (mono ms) the current failing run began; 0: not failing */
    bool ever_up;         /* a handshake succeeded once */
    int64_t reply_sent;   /* when the last matched reply's request was last transmitted */
    uint64_t retries, disconnects, dropped, malformed;
    /* A list of brokers (fc_brokers.h): connected to one at a time, the next when it is lost. */
    char *endpoints;
    size_t nendpoints, current;
    char endpoint[FC_MAX_ENDPOINT + 1]; /* the one connected to */
    int move_ms;
    int64_t down_since; /* when (mono ms) the link last stopped being up; 0: up */
    uint64_t moves;
};

/* Grows an array of elem-sized items to hold one more; false when out of memory. */
static bool s_grow(void **array, size_t *max, size_t n, size_t elem)
{
    if (n < *max)
        return true;
    size_t want = *max ? *max * 2 : 16;
    void *bigger = realloc(*array, want * elem);
    if (!bigger)
        return false;
    *array = bigger;
    *max = want;
    return true;
}

fc_requester_t *fc_requester_new(const char *endpoint, const fc_requester_opts_t *opts, int *err)
{
    fc_requester_opts_t none = {0};
    if (!opts)
        opts = &none;
    fc_requester_t *self = (fc_requester_t *)calloc(1, sizeof(fc_requester_t));
    if (!self) {
        if (err)
            *err = FC_ENOMEM;
        return NULL;
    }
    self->resend_ms = opts->resend_ms > 0 ? opts->resend_ms : S_DEFAULT_RESEND_MS;
    self->move_ms = opts->move_ms > 0 ? opts->move_ms : S_DEFAULT_MOVE_MS;
    self->down_since = zclock_mono();
    self->tag = opts->tag;
    /* Random start, so ids from a restarted process never match replies meant for the old one. */
    self->next_req = ((uint64_t)randombytes_random() << 20) + 1;
    self->dealer = zsock_new(ZMQ_DEALER);
    if (!self->dealer) {
        if (err)
            *err = FC_ENOMEM;
        fc_requester_destroy(&self);
        return NULL;
    }
    fc_sock_tune(zsock_resolve(self->dealer));
    fc_curve_apply(opts->curve, self->dealer);
    self->curve = opts->curve != NULL;
    /* Sends never wait: a full queue or no connection is left to the re-send or flush. */
    zsock_set_sndtimeo(self->dealer, 0);
    if (opts->immediate)
        zsock_set_immediate(self->dealer, 1);
    /* Watch the connection before connecting, so the first CONNECTED is seen too. The
       events come straight from libzmq on a PAIR socket read by this thread, not through
       CZMQ's zmonitor actor: that actor is a thread per requester, and its pipe could still
       be open when the process exits, which makes zsys_shutdown sleep 200 ms at the end of
       every CLI command that lost the race. */
    static atomic_uint_fast64_t s_monitors;
    char ep[64];
    snprintf(ep, sizeof ep, "inproc://fc-requester-monitor-%ld-%llu", (long)getpid(),
             (unsigned long long)atomic_fetch_add(&s_monitors, 1));
    int events = ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_CONNECT_RETRIED |
                 ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                 ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;
    if (zmq_socket_monitor(zsock_resolve(self->dealer), ep, events) == 0)
        self->monitor = zsock_new_pair(ep); /* '>' by default for PAIR: connects */
    if (!self->monitor) {
        if (err)
            *err = FC_ENOMEM;
        fc_requester_destroy(&self);
        return NULL;
    }
    self->endpoints = endpoint ? strdup(endpoint) : NULL;
    self->nendpoints = fc_brokers_count(endpoint);
    if (!self->endpoints || self->nendpoints > FC_MAX_BROKERS ||
        fc_brokers_nth(endpoint, 0, self->endpoint, sizeof self->endpoint) != 0 ||
        zsock_connect(self->dealer, "%s", self->endpoint) != 0) {
        if (err)
            *err = FC_EINVAL;
        fc_requester_destroy(&self);
        return NULL;
    }
    return self;
}

void fc_requester_destroy(fc_requester_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fc_requester_t *self = *self_p;
    for (size_t i = 0; i < self->npending; i++)
        zmsg_destroy(&self->pending[i].wire);
    free(self->pending);
    free(self->expired);
    if (self->dealer) /* stop the events before their reader goes */
        zmq_socket_monitor(zsock_resolve(self->dealer), NULL, 0);
    zsock_destroy(&self->monitor);
    zsock_destroy(&self->dealer);
    free(self->endpoints);
    free(self);
    *self_p = NULL;
}

zsock_t *fc_requester_sock(fc_requester_t *self)
{
    return self->dealer;
}

zsock_t *fc_requester_monitor(fc_requester_t *self)
{
    return self->monitor;
}

void fc_requester_poll(fc_requester_t *self, zpoller_t *poller, bool add)
{
    if (add) {
        zpoller_add(poller, self->dealer);
        zpoller_add(poller, self->monitor);
    } else {
        zpoller_remove(poller, self->dealer);
        zpoller_remove(poller, self->monitor);
    }
}

static ssize_t s_find(const fc_requester_t *self, uint64_t req)
{
    for (size_t i = 0; i < self->npending; i++)
        if (self->pending[i].req == req)
            return (ssize_t)i;
    return -1;
}

/* Removes entry i, keeping the order of the others (the flush sends in order of sending). */
static void s_remove(fc_requester_t *self, size_t i)
{
    zmsg_destroy(&self->pending[i].wire);
    memmove(&self->pending[i], &self->pending[i + 1],
            (self->npending - i - 1) * sizeof(s_pending_t));
    self->npending--;
}

/* Sends a copy; 0 if it went out. A failure marks the flush: with ZMQ_IMMEDIATE it means no
   connection is ready, and everything pending goes out once one is. */
static int s_transmit(fc_requester_t *self, s_pending_t *p, int64_t now)
{
    p->due = p->resend_ms < 0 ? INT64_MAX : now + p->resend_ms;
    zmsg_t *copy = zmsg_dup(p->wire);
    if (copy && zmsg_send(&copy, self->dealer) == 0) {
        /* Only a request that went out before counts as re-sent. */
        if (p->sent)
            self->retries++;
        p->sent = now;
        p->sends++;
        return 0;
    }
    zmsg_destroy(&copy);
    if (p->resend_ms >= 0)
        self->flush_pending = true;
    return -1;
}

uint64_t fc_requester_send(fc_requester_t *self, fc_msg_t **req_p, void *user,
                           const fc_requester_sendopts_t *opts)
{
    fc_requester_sendopts_t none = {0};
    if (!opts)
        opts = &none;
    uint64_t id = 0;
    while (id == 0)
        id = self->tag | (self->next_req++ & ~self->tag);
    (*req_p)->req = id;
    zmsg_t *wire = fc_msg_encode(*req_p);
    fc_msg_destroy(req_p);
    if (!wire ||
        !s_grow((void **)&self->pending, &self->maxpending, self->npending, sizeof(s_pending_t))) {
        zmsg_destroy(&wire);
        return 0;
    }
    int64_t now = zclock_mono();
    s_pending_t *p = &self->pending[self->npending++];
    *p = (s_pending_t){.req = id,
                       .wire = wire,
                       .user = user,
                       .resend_ms = opts->resend_ms < 0   ? -1
                                    : opts->resend_ms > 0 ? opts->resend_ms
                                                          : self->resend_ms,
                       .expires = opts->expire_ms > 0 ? now + opts->expire_ms : 0,
                       .max_sends = opts->max_sends > 0 ? opts->max_sends : 0,
                       .first = opts->first};
    /* While a flush waits for a connection, this one waits with it (in order). A best-effort
       request that finds no connection is dropped at once: it would never go out. */
    if (p->resend_ms < 0) {
        if (s_transmit(self, p, now) != 0)
            s_remove(self, self->npending - 1);
    } else if (!self->flush_pending)
        s_transmit(self, p, now);
    else
        p->due = now + p->resend_ms;
    return id;
}

static bool s_readable(void *sock)
{
    int events = 0;
    size_t size = sizeof events;
    return zmq_getsockopt(sock, ZMQ_EVENTS, &events, &size) == 0 && (events & ZMQ_POLLIN);
}

fc_requester_got_t fc_requester_recv(fc_requester_t *self, fc_msg_t **reply_p, void **user_p)
{
    *reply_p = NULL;
    if (user_p)
        *user_p = NULL;
    void *sock = zsock_resolve(self->dealer);
    for (int n = 0; n < S_RECV_BUDGET && s_readable(sock); n++) {
        int err = 0;
        fc_msg_t *msg = fc_msg_recv(sock, NULL, &err);
        if (!msg) {
            if (err != FC_OK)
                self->malformed++;
            if (zsys_interrupted)
                break;
            continue;
        }
        if ((msg->req & self->tag) != self->tag || (self->tag && msg->req == 0)) {
            *reply_p = msg;
            return FC_REQUESTER_OTHER;
        }
        ssize_t i = s_find(self, msg->req);
        if (i < 0) {
            self->dropped++; /* a duplicate after a re-send, or a request forgotten */
            fc_msg_destroy(&msg);
            continue;
        }
        if (user_p)
            *user_p = self->pending[i].user;
        self->reply_sent = self->pending[i].sent;
        s_remove(self, (size_t)i);
        *reply_p = msg;
        return FC_REQUESTER_REPLY;
    }
    return FC_REQUESTER_NONE;
}

/* The name CZMQ's zmonitor gives a libzmq event ("" for one not asked for). */
static const char *s_event_name(uint16_t num)
{
    switch (num) {
    case ZMQ_EVENT_CONNECTED:
        return "CONNECTED";
    case ZMQ_EVENT_DISCONNECTED:
        return "DISCONNECTED";
    case ZMQ_EVENT_CONNECT_RETRIED:
        return "CONNECT_RETRIED";
    case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
        return "HANDSHAKE_SUCCEEDED";
    case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
        return "HANDSHAKE_FAILED_NO_DETAIL";
    case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
        return "HANDSHAKE_FAILED_PROTOCOL";
    case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
        return "HANDSHAKE_FAILED_AUTH";
    default:
        return "";
    }
}

fc_requester_event_t fc_requester_on_monitor(fc_requester_t *self)
{
    /* libzmq's event: a frame of the event number (16 bits) and its value (32 bits), then
       the endpoint. Named as fc_link_next knows them (zmonitor's names). */
    zmsg_t *ev = zmsg_recv(self->monitor);
    if (!ev)
        return FC_REQUESTER_EV_NONE;
    zframe_t *head = zmsg_first(ev);
    uint16_t num = 0;
    uint32_t value = 0;
    if (head && zframe_size(head) >= 6) {
        memcpy(&num, zframe_data(head), sizeof num);
        memcpy(&value, zframe_data(head) + 2, sizeof value);
    }
    const char *name = s_event_name(num);
    /* Late events of a broker we moved away from tell nothing about the current one. */
    zframe_t *addr = zmsg_next(ev);
    if (self->nendpoints > 1 && addr && !zframe_streq(addr, self->endpoint)) {
        char left[FC_MAX_ENDPOINT + 1];
        for (size_t i = 0; i < self->nendpoints; i++)
            if (i != self->current && fc_brokers_nth(self->endpoints, i, left, sizeof left) == 0 &&
                zframe_streq(addr, left)) {
                zmsg_destroy(&ev);
                return FC_REQUESTER_EV_NONE;
            }
    }
    fc_link_state_t was = self->link;
    self->link = fc_link_next(self->link, name, (int32_t)value, self->curve);
    if (self->link == FC_LINK_UP) {
        self->ever_up = true;
        self->down_since = 0;
    } else if (self->down_since == 0)
        self->down_since = zclock_mono();
    if (!fc_link_failing(self->link))
        self->link_since = 0;
    else if (!fc_link_failing(was))
        self->link_since = zclock_mono();
    fc_requester_event_t seen = FC_REQUESTER_EV_NONE;
    if (name && streq(name, "DISCONNECTED")) {
        self->connected = false;
        self->disconnects++;
        /* Whatever was in flight on the lost connection will never be answered. */
        self->flush_pending = true;
        seen = FC_REQUESTER_EV_DISCONNECTED;
    } else if (name && streq(name, "CONNECTED")) {
        self->connected = true;
        seen = FC_REQUESTER_EV_CONNECTED;
    }
    zmsg_destroy(&ev);
    return seen;
}

/* Sends everything pending, the `first` ones first; if one of those cannot go yet, nothing
   else is tried and the flush stays due. Best-effort requests are not sent again. */
static bool s_flush(fc_requester_t *self, int64_t now)
{
    self->flush_pending = false;
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < self->npending; i++) {
            s_pending_t *p = &self->pending[i];
            if (p->first != (pass == 0) || p->resend_ms < 0)
                continue;
            if (s_transmit(self, p, now) != 0 && pass == 0)
                return false;
        }
    return true;
}

fc_link_state_t fc_requester_link(const fc_requester_t *self, int64_t *since_ms)
{
    if (since_ms)
        *since_ms = self->link_since;
    return self->link;
}

bool fc_requester_ever_up(const fc_requester_t *self)
{
    return self->ever_up;
}

/* The current broker is lost: not up for move_ms (never connected, refused, dropped and not
   back). Connects to the next of the list instead; everything pending goes there in the
   flush once it is up, as after any reconnect. */
static void s_move(fc_requester_t *self, int64_t now)
{
    char next[FC_MAX_ENDPOINT + 1];
    size_t i = (self->current + 1) % self->nendpoints;
    if (fc_brokers_nth(self->endpoints, i, next, sizeof next) != 0)
        return;
    zsock_disconnect(self->dealer, "%s", self->endpoint);
    if (zsock_connect(self->dealer, "%s", next) != 0)
        return; /* cannot happen for a checked list; the old one is gone either way */
    self->current = i;
    memcpy(self->endpoint, next, sizeof next);
    self->connected = false;
    self->flush_pending = true;
    self->link = FC_LINK_UNKNOWN;
    self->link_since = 0;
    self->down_since = now;
    self->moves++;
}

bool fc_requester_tick(fc_requester_t *self)
{
    int64_t now = zclock_mono();
    if (self->nendpoints > 1 && self->down_since && now - self->down_since >= self->move_ms)
        s_move(self, now);
    for (size_t i = 0; i < self->npending;) {
        s_pending_t *p = &self->pending[i];
        /* Sent as often as it may be, and unanswered a re-send interval after the last. */
        bool spent = p->max_sends && p->sends >= p->max_sends && p->due <= now;
        if (!spent && (p->expires == 0 || p->expires > now)) {
            i++;
            continue;
        }
        if (s_grow((void **)&self->expired, &self->maxexpired, self->nexpired, sizeof(s_expired_t)))
            self->expired[self->nexpired++] = (s_expired_t){p->req, p->user};
        s_remove(self, i);
    }
    /* Offline, nothing is re-sent: the flush after reconnecting sends everything once. Only
       once CONNECTED was seen after the drop: right after it, the dead connection's queue
       may still take a message for a moment, and lose it. */
    if (self->flush_pending)
        return self->connected && s_flush(self, now);
    for (size_t i = 0; i < self->npending && !self->flush_pending; i++)
        if (self->pending[i].due <= now)
            s_transmit(self, &self->pending[i], now);
    return false;
}

int64_t fc_requester_next_ms(const fc_requester_t *self)
{
    int64_t now = zclock_mono();
    int64_t next = INT64_MAX;
    if (self->nendpoints > 1 && self->down_since)
        next = self->down_since + self->move_ms;
    for (size_t i = 0; i < self->npending; i++) {
        const s_pending_t *p = &self->pending[i];
        if (p->expires && p->expires < next)
            next = p->expires;
        if (!self->flush_pending && p->due < next)
            next = p->due;
    }
    if (self->flush_pending && self->connected && now + S_FLUSH_WAIT_MS < next)
        next = now + S_FLUSH_WAIT_MS;
    if (next == INT64_MAX)
        return -1;
    return next > now ? next - now : 0;
}

bool fc_requester_expired(fc_requester_t *self, uint64_t *req_p, void **user_p)
{
    if (self->nexpired == 0)
        return false;
    s_expired_t e = self->expired[--self->nexpired];
    if (req_p)
        *req_p = e.req;
    if (user_p)
        *user_p = e.user;
    return true;
}

void *fc_requester_forget(fc_requester_t *self, uint64_t req)
{
    ssize_t i = s_find(self, req);
    if (i < 0)
        return NULL;
    void *user = self->pending[i].user;
    s_remove(self, (size_t)i);
    return user;
}

size_t fc_requester_forget_user(fc_requester_t *self, const void *user)
{
    size_t n = 0;
    for (size_t i = 0; i < self->npending;)
        if (self->pending[i].user == user) {
            s_remove(self, i);
            n++;
        } else
            i++;
    return n;
}

uint64_t fc_requester_oldest(const fc_requester_t *self, const void *user)
{
    for (size_t i = 0; i < self->npending; i++)
        if (self->pending[i].user == user)
            return self->pending[i].req;
    return 0;
}

size_t fc_requester_count(const fc_requester_t *self, const void *user)
{
    size_t n = 0;
    for (size_t i = 0; i < self->npending; i++)
        n += self->pending[i].user == user;
    return n;
}

int64_t fc_requester_reply_sent(const fc_requester_t *self)
{
    return self->reply_sent;
}

bool fc_requester_pending(const fc_requester_t *self, uint64_t req)
{
    return s_find(self, req) >= 0;
}

size_t fc_requester_outstanding(const fc_requester_t *self)
{
    return self->npending;
}

bool fc_requester_connected(const fc_requester_t *self)
{
    return self->connected;
}

bool fc_requester_flush_pending(const fc_requester_t *self)
{
    return self->flush_pending;
}

uint64_t fc_requester_retries(const fc_requester_t *self)
{
    return self->retries;
}

uint64_t fc_requester_disconnects(const fc_requester_t *self)
{
    return self->disconnects;
}

uint64_t fc_requester_dropped(const fc_requester_t *self)
{
    return self->dropped;
}

uint64_t fc_requester_malformed(const fc_requester_t *self)
{
    return self->malformed;
}

const char *fc_requester_endpoint(const fc_requester_t *self)
{
    return self->endpoint;
}

size_t fc_requester_brokers(const fc_requester_t *self)
{
    return self->nendpoints;
}

uint64_t fc_requester_moves(const fc_requester_t *self)
{
    return self->moves;
}
