/* fc_client.c: a requester over DEALER with request ids, re-sends on timeout and reconnect. */
#include "fc_client.h"
#include "fc_error.h"
#include "fc_util.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>

/* One request in flight: the encoded message is kept so it can be re-sent unchanged. */
typedef struct {
    uint64_t req;
    zmsg_t *wire;
    int64_t sent_ms;
} s_pending_t;

struct fc_client_t {
    zsock_t *dealer;
    zactor_t *monitor;
    zpoller_t *poller;
    int resend_ms;
    uint64_t next_req;
    s_pending_t *pending; /* small array: a window is tens of requests, not thousands */
    size_t npending;
    size_t maxpending;
    uint64_t retries;
    uint64_t disconnects;
    bool connected;
};

fc_client_t *fc_client_new(const char *endpoint, int resend_ms, const fc_curve_t *curve, int *err)
{
    fc_client_t *self = (fc_client_t *)zmalloc(sizeof(fc_client_t));
    self->dealer = zsock_new(ZMQ_DEALER);
    fc_sock_tune(zsock_resolve(self->dealer));
    fc_curve_apply(curve, self->dealer);
    /* Watch the connection before connecting, so the first CONNECTED is seen too. */
    self->monitor = zactor_new(zmonitor, self->dealer);
    zstr_sendx(self->monitor, "LISTEN", "CONNECTED", "DISCONNECTED", NULL);
    zstr_send(self->monitor, "START");
    zsock_wait(self->monitor);
    if (zsock_connect(self->dealer, "%s", endpoint) != 0) {
        if (err)
            *err = FC_EINVAL;
        fc_client_destroy(&self);
        return NULL;
    }
    self->poller = zpoller_new(self->dealer, self->monitor, NULL);
    self->resend_ms = resend_ms > 0 ? resend_ms : 3000;
    /* Random start, so ids from a restarted process never match replies meant for the old one. */
    self->next_req = ((uint64_t)randombytes_random() << 20) + 1;
    return self;
}

void fc_client_destroy(fc_client_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fc_client_t *self = *self_p;
    for (size_t i = 0; i < self->npending; i++)
        zmsg_destroy(&self->pending[i].wire);
    free(self->pending);
    zpoller_destroy(&self->poller);
    zactor_destroy(&self->monitor);
    zsock_destroy(&self->dealer);
    free(self);
    *self_p = NULL;
}

static ssize_t s_find(const fc_client_t *self, uint64_t req)
{
    for (size_t i = 0; i < self->npending; i++)
        if (self->pending[i].req == req)
            return (ssize_t)i;
    return -1;
}

static void s_remove(fc_client_t *self, size_t i)
{
    zmsg_destroy(&self->pending[i].wire);
    self->pending[i] = self->pending[self->npending - 1];
    self->npending--;
}

static void s_transmit(fc_client_t *self, s_pending_t *p)
{
    zmsg_t *copy = zmsg_dup(p->wire);
    /* A full queue is not an error here: the timeout re-sends it later. */
    zsock_set_sndtimeo(self->dealer, 0);
    if (zmsg_send(&copy, self->dealer) != 0)
        zmsg_destroy(&copy);
    p->sent_ms = zclock_mono();
}

uint64_t fc_client_send(fc_client_t *self, fc_msg_t **req_p)
{
    fc_msg_t *req = *req_p;
    req->req = self->next_req++;
    uint64_t id = req->req;
    zmsg_t *wire = fc_msg_encode(req);
    fc_msg_destroy(req_p);
    if (!wire)
        return 0;
    if (self->npending == self->maxpending) {
        self->maxpending = self->maxpending ? self->maxpending * 2 : 32;
        self->pending =
            (s_pending_t *)realloc(self->pending, self->maxpending * sizeof(s_pending_t));
        assert(self->pending);
    }
    s_pending_t *p = &self->pending[self->npending++];
    p->req = id;
    p->wire = wire;
    s_transmit(self, p);
    return id;
}

static void s_resend_all(fc_client_t *self, int64_t older_than_ms)
{
    int64_t now = zclock_mono();
    for (size_t i = 0; i < self->npending; i++)
        if (now - self->pending[i].sent_ms >= older_than_ms) {
            s_transmit(self, &self->pending[i]);
            self->retries++;
        }
}

static void s_monitor_event(fc_client_t *self)
{
    zmsg_t *ev = zmsg_recv(self->monitor);
    if (!ev)
        return;
    char *name = zmsg_popstr(ev);
    if (name && streq(name, "DISCONNECTED")) {
        self->connected = false;
        self->disconnects++;
    } else if (name && streq(name, "CONNECTED")) {
        bool was_lost = self->disconnects > 0;
        self->connected = true;
        /* Whatever was in flight on the lost connection will never be answered. */
        if (was_lost)
            s_resend_all(self, 0);
    }
    free(name);
    zmsg_destroy(&ev);
}

fc_msg_t *fc_client_recv(fc_client_t *self, int timeout_ms)
{
    int64_t deadline = zclock_mono() + timeout_ms;
    while (!zsys_interrupted) {
        int64_t now = zclock_mono();
        if (now >= deadline)
            return NULL;
        int64_t wait = deadline - now;
        /* Wake in time to re-send the oldest request. */
        for (size_t i = 0; i < self->npending; i++) {
            int64_t due = self->pending[i].sent_ms + self->resend_ms - now;
            if (due < wait)
                wait = due > 0 ? due : 0;
        }
        void *which = zpoller_wait(self->poller, (int)wait);
        if (which == self->monitor) {
            s_monitor_event(self);
            continue;
        }
        if (which == self->dealer) {
            int err = 0;
            fc_msg_t *reply = fc_msg_recv(zsock_resolve(self->dealer), NULL, &err);
            if (!reply)
                continue;
            ssize_t i = s_find(self, reply->req);
            if (i < 0) {
                fc_msg_destroy(&reply); /* late duplicate of something already answered */
                continue;
            }
            s_remove(self, (size_t)i);
            return reply;
        }
        if (zpoller_terminated(self->poller))
            return NULL;
        s_resend_all(self, self->resend_ms);
    }
    return NULL;
}

fc_msg_t *fc_client_call(fc_client_t *self, fc_msg_t **req_p, int timeout_ms)
{
    uint64_t id = fc_client_send(self, req_p);
    if (!id)
        return NULL;
    int64_t deadline = zclock_mono() + timeout_ms;
    while (true) {
        int64_t left = deadline - zclock_mono();
        fc_msg_t *reply = left > 0 ? fc_client_recv(self, (int)left) : NULL;
        if (!reply) {
            fc_client_forget(self, id);
            return NULL;
        }
        if (reply->req == id)
            return reply;
        fc_msg_destroy(&reply);
    }
}

void fc_client_forget(fc_client_t *self, uint64_t req)
{
    ssize_t i = s_find(self, req);
    if (i >= 0)
        s_remove(self, (size_t)i);
}

size_t fc_client_outstanding(const fc_client_t *self)
{
    return self->npending;
}

uint64_t fc_client_retries(const fc_client_t *self)
{
    return self->retries;
}

uint64_t fc_client_disconnects(const fc_client_t *self)
{
    return self->disconnects;
}

/* A ROUTER echo that ignores the first request it sees, so the client must re-send it. */
void fc_client_test(bool verbose)
{
    printf(" * fc_client: ");
    zsock_t *router = zsock_new(ZMQ_ROUTER);
    int port = zsock_bind(router, "tcp://127.0.0.1:*");
    assert(port > 0);
    char ep[64];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", port);
    int err = 0;
    fc_client_t *client = fc_client_new(ep, 200, NULL, &err);
    assert(client);

    fc_msg_t *req = fc_msg_new(FC_MSG_LIST);
    uint64_t id = fc_client_send(client, &req);
    assert(id && !req);
    assert(fc_client_outstanding(client) == 1);

    /* Drop the first copy; answer the re-sent one twice (a duplicate reply). */
    zframe_t *who = NULL;
    fc_msg_t *got = fc_msg_recv(zsock_resolve(router), &who, &err);
    assert(got && got->type == FC_MSG_LIST && got->req == id);
    fc_msg_destroy(&got);
    zframe_destroy(&who);
    /* Nothing answers within 300 ms, so the client re-sends after its 200 ms. */
    assert(fc_client_recv(client, 300) == NULL);
    got = fc_msg_recv(zsock_resolve(router), &who, &err);
    assert(got && got->req == id);
    for (int i = 0; i < 2; i++) {
        fc_msg_t *ok = fc_msg_new(FC_MSG_OK);
        ok->req = id;
        ok->serial = 7;
        assert(fc_msg_send_to(&ok, who, zsock_resolve(router)) == 0);
    }
    fc_msg_destroy(&got);
    zframe_destroy(&who);

    fc_msg_t *reply = fc_client_recv(client, 2000);
    assert(reply && reply->type == FC_MSG_OK && reply->serial == 7 && reply->req == id);
    fc_msg_destroy(&reply);
    assert(fc_client_retries(client) >= 1);
    assert(fc_client_outstanding(client) == 0);
    /* The duplicate is dropped, not returned. */
    reply = fc_client_recv(client, 100);
    assert(reply == NULL);

    /* A call nobody answers times out and leaves nothing outstanding. */
    req = fc_msg_new(FC_MSG_STATUS);
    reply = fc_client_call(client, &req, 300);
    assert(reply == NULL && fc_client_outstanding(client) == 0);

    fc_client_destroy(&client);
    assert(client == NULL);
    zsock_destroy(&router);
    if (verbose)
        printf("(re-send, duplicate drop, timeout) ");
    printf("OK\n");
}
