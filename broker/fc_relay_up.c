/* fc_relay_up.c: forwards a relay's reports, acks and restart-slot requests to its upstream. */
#include "fc_relay_up.h"
#include "fc_error.h"
#include "fc_limits.h"
#include "fc_link.h"
#include "fc_requester.h"

#include <string.h>

/* As fc_relay.c: libzmq does not connect again after a refused handshake. */
#define S_REFUSED_RETRY_MS 2000
/* A forwarded slot request unanswered this long is forgotten: the agent re-sends its own. */
#define S_SLOT_EXPIRE_MS 10000
/* A batch's items stay well inside one frame: reports are at most a few KiB each. */
#define S_BATCH_BYTES (FC_MAX_FRAME / 2)

/* One report or ack waiting to go up: the encoded frame of the agent's message. */
typedef struct {
    char via[FC_MAX_NAME + 1];
    char key[2 * FC_MAX_NAME + 32]; /* what a newer one replaces: "R/id" or "A/id/rev" */
    uint8_t *frame;
    size_t len;
    bool inflight;
} s_entry_t;

/* A slot request forwarded up, waiting for its answer. */
typedef struct {
    zframe_t *peer;
    uint64_t req;
} s_slot_t;

struct fc_relay_up_t {
    fc_relay_up_config_t cfg;
    char upstream[FC_MAX_ENDPOINT + 1];
    char name[FC_MAX_NAME + 1];
    fc_curve_t *curve;
    zpoller_t *poller;
    fc_requester_t *req;
    zlistx_t *queue;  /* s_entry_t, oldest first */
    zhashx_t *latest; /* key -> s_entry_t not in flight, the one a newer message replaces */
    zlistx_t *slots;  /* s_slot_t pending upstream */
    uint64_t batch;   /* req of the RELAY_REPORTS in flight, 0 if none */
    int batch_tag;    /* its user pointer (slots have theirs) */
    int64_t retry_at; /* after a passing refusal, no batch before this (zclock_mono ms) */
    bool drop_logged; /* the queue bound was said once since the queue last emptied */
    fc_relay_up_stats_t stats;
};

static void s_entry_free(s_entry_t **e_p)
{
    if (*e_p) {
        free((*e_p)->frame);
        free(*e_p);
        *e_p = NULL;
    }
}

static int s_connect(fc_relay_up_t *self, int *err)
{
    fc_requester_opts_t opts = {.curve = self->curve};
    self->req = fc_requester_new(self->upstream, &opts, err);
    if (!self->req)
        return *err ? *err : FC_EIO;
    fc_requester_poll(self->req, self->poller, true);
    return FC_OK;
}

static void s_slot_free(s_slot_t *slot)
{
    if (slot) {
        zframe_destroy(&slot->peer);
        free(slot);
    }
}

/* Every pending request is forgotten with the requester: the batch goes again on the next
   connection, and the agents whose slot requests were pending re-send them. */
static void s_disconnect(fc_relay_up_t *self)
{
    s_slot_t *slot;
    while ((slot = zlistx_detach(self->slots, NULL)))
        s_slot_free(slot);
    for (s_entry_t *e = zlistx_first(self->queue); e; e = zlistx_next(self->queue))
        if (e->inflight) {
            e->inflight = false;
            if (!zhashx_lookup(self->latest, e->key))
                zhashx_insert(self->latest, e->key, e);
        }
    self->batch = 0;
    if (!self->req)
        return;
    fc_requester_poll(self->req, self->poller, false);
    fc_requester_destroy(&self->req);
}

fc_relay_up_t *fc_relay_up_new(const fc_relay_up_config_t *config, zpoller_t *poller, int *err)
{
    fc_relay_up_t *self = zmalloc(sizeof *self);
    self->cfg = *config;
    snprintf(self->upstream, sizeof self->upstream, "%s", config->upstream);
    snprintf(self->name, sizeof self->name, "%s", config->name ? config->name : "");
    self->cfg.upstream = self->upstream;
    self->cfg.name = self->name;
    if (!self->cfg.max_queue)
        self->cfg.max_queue = FC_RELAY_UP_MAX_QUEUE;
    self->curve = config->curve ? fc_curve_dup(config->curve) : NULL;
    self->cfg.curve = NULL;
    self->poller = poller;
    self->queue = zlistx_new();
    self->latest = zhashx_new();
    self->slots = zlistx_new();
    if (s_connect(self, err) != FC_OK) {
        fc_relay_up_destroy(&self);
        return NULL;
    }
    return self;
}

void fc_relay_up_destroy(fc_relay_up_t **self_p)
{
    fc_relay_up_t *self = *self_p;
    if (!self)
        return;
    if (self->slots)
        s_disconnect(self);
    if (self->queue) {
        s_entry_t *e;
        while ((e = zlistx_detach(self->queue, NULL)))
            s_entry_free(&e);
    }
    zlistx_destroy(&self->queue);
    zhashx_destroy(&self->latest);
    zlistx_destroy(&self->slots);
    fc_curve_destroy(&self->curve);
    free(self);
    *self_p = NULL;
}

void fc_relay_up_stats(const fc_relay_up_t *self, fc_relay_up_stats_t *stats)
{
    *stats = self->stats;
    stats->queued = zlistx_size(self->queue);
}

/* The agent's own message, as it would have sent it up itself (no req, no via). */
static fc_msg_t *s_copy(const fc_msg_t *m)
{
    fc_msg_t *c = fc_msg_new(m->type);
    if (m->type == FC_MSG_REPORT) {
        c->agents = zmalloc(sizeof *c->agents);
        c->agents[0] = m->agents[0];
        c->agents[0].via[0] = '\0';
        c->agents[0].last_seen = 0;
        c->nagents = 1;
        memcpy(c->blob, m->blob, FC_HASH_LEN);
    } else {
        memcpy(c->id, m->id, sizeof c->id);
        memcpy(c->group, m->group, sizeof c->group);
        memcpy(c->state, m->state, sizeof c->state);
        memcpy(c->text, m->text, sizeof c->text);
        c->serial = m->serial;
    }
    return c;
}

void fc_relay_up_queue(fc_relay_up_t *self, const char *via, const fc_msg_t *m)
{
    if ((m->type != FC_MSG_REPORT || m->nagents != 1) && m->type != FC_MSG_CONFIG_ACK)
        return;
    fc_msg_t *c = s_copy(m);
    zmsg_t *msg = fc_msg_encode(c);
    fc_msg_destroy(&c);
    zframe_t *frame = msg ? zmsg_first(msg) : NULL;
    if (!frame) {
        zmsg_destroy(&msg);
        return;
    }
    s_entry_t *e = zmalloc(sizeof *e);
    snprintf(e->via, sizeof e->via, "%s", via && *via ? via : self->name);
    if (m->type == FC_MSG_REPORT)
        snprintf(e->key, sizeof e->key, "R/%s", m->agents[0].id);
    else
        snprintf(e->key, sizeof e->key, "A/%s/%llu", m->id, (unsigned long long)m->serial);
    e->len = zframe_size(frame);
    e->frame = malloc(e->len);
    memcpy(e->frame, zframe_data(frame), e->len);
    zmsg_destroy(&msg);
    /* Only the latest matters: a report is the agent's whole state, an ack its outcome. */
    s_entry_t *old = zhashx_lookup(self->latest, e->key);
    if (old) {
        void *h = zlistx_find(self->queue, old);
        if (h)
            zlistx_detach(self->queue, h);
        s_entry_free(&old);
    }
    zhashx_update(self->latest, e->key, e);
    zlistx_add_end(self->queue, e);
    while (zlistx_size(self->queue) > self->cfg.max_queue) {
        s_entry_t *first = zlistx_first(self->queue);
        if (!first || first->inflight)
            break; /* a batch in flight is at most FC_MAX_LIST above the bound */
        zlistx_detach_cur(self->queue);
        if (zhashx_lookup(self->latest, first->key) == first)
            zhashx_delete(self->latest, first->key);
        s_entry_free(&first);
        self->stats.dropped++;
        if (!self->drop_logged)
            zsys_warning("fleetcast-broker: relay: more than %zu reports wait for upstream %s; "
                         "dropping the oldest (their agents' next reports replace them)",
                         self->cfg.max_queue, self->upstream);
        self->drop_logged = true;
    }
}

/* The next batch: queued entries of one via, from the oldest, up to FC_MAX_LIST. */
static void s_send_batch(fc_relay_up_t *self)
{
    if (self->batch || !self->req || zclock_mono() < self->retry_at)
        return;
    s_entry_t *first = zlistx_first(self->queue);
    if (!first)
        return;
    fc_msg_t *m = fc_msg_new(FC_MSG_RELAY_REPORTS);
    fc_msg_set_str(m->text, sizeof m->text, first->via);
    m->items = zmalloc(FC_MAX_LIST * sizeof *m->items);
    size_t bytes = 0;
    for (s_entry_t *e = first; e && m->nitems < FC_MAX_LIST; e = zlistx_next(self->queue)) {
        if (strcmp(e->via, first->via) || bytes + e->len > S_BATCH_BYTES)
            continue;
        m->items[m->nitems].data = malloc(e->len);
        memcpy(m->items[m->nitems].data, e->frame, e->len);
        m->items[m->nitems].len = e->len;
        m->nitems++;
        bytes += e->len;
        e->inflight = true;
        if (zhashx_lookup(self->latest, e->key) == e)
            zhashx_delete(self->latest, e->key); /* a newer one queues behind it */
    }
    self->batch = fc_requester_send(self->req, &m, &self->batch_tag, NULL);
}

/* The batch in flight is done: taken (drop it), or refused for good (drop it, said). */
static void s_batch_done(fc_relay_up_t *self, const fc_msg_t *reply)
{
    bool ok = reply->type == FC_MSG_OK;
    /* The upstream's store failing is passing: the batch goes again. Any other refusal (not a
       relay key, a root too old for RELAY_REPORTS) would refuse it again. */
    bool again = reply->type == FC_MSG_ERROR && (reply->code == FC_EIO || reply->code == FC_ENOSPC);
    size_t n = 0;
    s_entry_t *e = zlistx_first(self->queue);
    while (e) {
        s_entry_t *next = zlistx_next(self->queue);
        if (e->inflight) {
            if (again) {
                e->inflight = false;
                if (!zhashx_lookup(self->latest, e->key))
                    zhashx_insert(self->latest, e->key, e);
            } else {
                zlistx_delete(self->queue, zlistx_find(self->queue, e));
                s_entry_free(&e);
                n++;
            }
        }
        e = next;
        if (e)
            zlistx_find(self->queue, e); /* the cursor back on next */
    }
    self->batch = 0;
    if (again)
        self->retry_at = zclock_mono() + 1000;
    if (ok) {
        self->stats.forwarded += n;
        self->stats.batches++;
    } else if (!again) {
        self->stats.dropped += n;
        zsys_warning("fleetcast-broker: relay: upstream %s refused %zu forwarded reports: %s",
                     self->upstream, n, reply->type == FC_MSG_ERROR ? reply->text : "?");
    }
    if (zlistx_size(self->queue) == 0)
        self->drop_logged = false;
}

void fc_relay_up_slot(fc_relay_up_t *self, const fc_msg_t *m, zframe_t *peer, uint64_t req)
{
    if (!self->req)
        return; /* between a refused connection and the next: the agent asks again */
    fc_msg_t *up = fc_msg_new(FC_MSG_RELAY_SLOT);
    memcpy(up->id, m->id, sizeof up->id);
    memcpy(up->group, m->group, sizeof up->group);
    up->serial = m->serial;
    snprintf(up->text, sizeof up->text, "%s",
             m->type == FC_MSG_RELAY_SLOT && *m->text ? m->text : self->name);
    s_slot_t *slot = zmalloc(sizeof *slot);
    slot->peer = zframe_dup(peer);
    slot->req = req;
    fc_requester_sendopts_t opts = {.expire_ms = S_SLOT_EXPIRE_MS};
    if (fc_requester_send(self->req, &up, slot, &opts))
        zlistx_add_end(self->slots, slot);
    else
        s_slot_free(slot);
}

static void s_on_reply(fc_relay_up_t *self, void *user, fc_msg_t **reply_p)
{
    if (user == &self->batch_tag) {
        s_batch_done(self, *reply_p);
        return;
    }
    s_slot_t *slot = user;
    void *h = zlistx_find(self->slots, slot);
    if (!h)
        return;
    zlistx_detach(self->slots, h);
    (*reply_p)->req = slot->req;
    self->stats.slots++;
    self->cfg.answer(self->cfg.arg, slot->peer, reply_p);
    s_slot_free(slot);
}

bool fc_relay_up_handle(fc_relay_up_t *self, void *which)
{
    if (!which || !self->req)
        return false;
    if (which == fc_requester_sock(self->req)) {
        fc_msg_t *reply = NULL;
        void *user = NULL;
        fc_requester_got_t got;
        while ((got = fc_requester_recv(self->req, &reply, &user)) != FC_REQUESTER_NONE) {
            if (got == FC_REQUESTER_REPLY && user)
                s_on_reply(self, user, &reply);
            fc_msg_destroy(&reply);
        }
        s_send_batch(self);
    } else if (which == fc_requester_monitor(self->req))
        fc_requester_on_monitor(self->req);
    else
        return false;
    return true;
}

int fc_relay_up_tick(fc_relay_up_t *self, int wait)
{
    if (!self->req) {
        int err = FC_OK;
        if (s_connect(self, &err) != FC_OK)
            return wait < S_REFUSED_RETRY_MS ? wait : S_REFUSED_RETRY_MS;
    }
    int64_t since = 0;
    fc_link_state_t link = fc_requester_link(self->req, &since);
    if (fc_link_misconfigured(link) && since + S_REFUSED_RETRY_MS <= zclock_mono()) {
        /* Refused our key: a new socket once it may be enrolled (fc_relay.c says why). */
        s_disconnect(self);
        return wait < S_REFUSED_RETRY_MS ? wait : S_REFUSED_RETRY_MS;
    }
    fc_requester_tick(self->req);
    void *user = NULL;
    while (fc_requester_expired(self->req, NULL, &user)) {
        void *h = user != &self->batch_tag ? zlistx_find(self->slots, user) : NULL;
        if (h) {
            zlistx_detach(self->slots, h);
            s_slot_free(user);
        }
    }
    s_send_batch(self);
    int64_t next = fc_requester_next_ms(self->req);
    if (next >= 0 && next < wait)
        wait = (int)next;
    return wait;
}
