/* fc_client.c: the blocking requester the CLI and tools use: a thin wrapper that waits on
   fc_requester's sockets and deadlines. */
#include "fc_client.h"
#include "fc_error.h"
#include "fc_requester.h"
#include "fc_test_check.h"

struct fc_client_t {
    fc_requester_t *requester; /* ids, pending table, re-sends and the flush: all there */
    zpoller_t *poller;
};

fc_client_t *fc_client_new(const char *endpoint, int resend_ms, const fc_curve_t *curve, int *err)
{
    fc_client_t *self = (fc_client_t *)zmalloc(sizeof(fc_client_t));
    fc_requester_opts_t opts = {.resend_ms = resend_ms, .curve = curve};
    self->requester = fc_requester_new(endpoint, &opts, err);
    if (!self->requester) {
        fc_client_destroy(&self);
        return NULL;
    }
    self->poller = zpoller_new(fc_requester_sock(self->requester),
                               fc_requester_monitor(self->requester), NULL);
    return self;
}

void fc_client_destroy(fc_client_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fc_client_t *self = *self_p;
    zpoller_destroy(&self->poller);
    fc_requester_destroy(&self->requester);
    free(self);
    *self_p = NULL;
}

uint64_t fc_client_send(fc_client_t *self, fc_msg_t **req_p)
{
    return fc_requester_send(self->requester, req_p, NULL, NULL);
}

/* The blocking part: a poller over the requester's sockets, woken in time for its next
   deadline. */
fc_msg_t *fc_client_recv(fc_client_t *self, int timeout_ms)
{
    int64_t deadline = zclock_mono() + timeout_ms;
    while (!zsys_interrupted) {
        fc_msg_t *reply = NULL;
        if (fc_requester_recv(self->requester, &reply, NULL) != FC_REQUESTER_NONE)
            return reply; /* every id is ours: only replies come back */
        int64_t now = zclock_mono();
        if (now >= deadline)
            return NULL;
        int64_t wait = deadline - now;
        int64_t next = fc_requester_next_ms(self->requester);
        if (next >= 0 && next < wait)
            wait = next;
        void *which = zpoller_wait(self->poller, (int)wait);
        if (which == fc_requester_monitor(self->requester))
            fc_requester_on_monitor(self->requester);
        else if (!which && zpoller_terminated(self->poller))
            return NULL;
        fc_requester_tick(self->requester);
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
    fc_requester_forget(self->requester, req);
}

size_t fc_client_outstanding(const fc_client_t *self)
{
    return fc_requester_outstanding(self->requester);
}

uint64_t fc_client_retries(const fc_client_t *self)
{
    return fc_requester_retries(self->requester);
}

uint64_t fc_client_disconnects(const fc_client_t *self)
{
    return fc_requester_disconnects(self->requester);
}

/* A ROUTER echo that ignores the first request it sees, so the client must re-send it. */
void fc_client_test(bool verbose)
{
    printf(" * fc_client: ");
    zsock_t *router = zsock_new(ZMQ_ROUTER);
    int port = zsock_bind(router, "tcp://127.0.0.1:*");
    FC_CHECK(port > 0);
    char ep[64];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", port);
    int err = 0;
    fc_client_t *client = fc_client_new(ep, 200, NULL, &err);
    FC_CHECK(client);

    fc_msg_t *req = fc_msg_new(FC_MSG_LIST);
    uint64_t id = fc_client_send(client, &req);
    FC_CHECK(id && !req);
    FC_CHECK(fc_client_outstanding(client) == 1);

    /* Drop the first copy; answer the re-sent one twice (a duplicate reply). */
    zframe_t *who = NULL;
    fc_msg_t *got = fc_msg_recv(zsock_resolve(router), &who, &err);
    FC_CHECK(got && got->type == FC_MSG_LIST && got->req == id);
    fc_msg_destroy(&got);
    zframe_destroy(&who);
    /* Nothing answers within 300 ms, so the client re-sends after its 200 ms. */
    FC_CHECK(fc_client_recv(client, 300) == NULL);
    got = fc_msg_recv(zsock_resolve(router), &who, &err);
    FC_CHECK(got && got->req == id);
    for (int i = 0; i < 2; i++) {
        fc_msg_t *ok = fc_msg_new(FC_MSG_OK);
        ok->req = id;
        ok->serial = 7;
        FC_CHECK(fc_msg_send_to(&ok, who, zsock_resolve(router)) == 0);
    }
    fc_msg_destroy(&got);
    zframe_destroy(&who);

    fc_msg_t *reply = fc_client_recv(client, 2000);
    FC_CHECK(reply && reply->type == FC_MSG_OK && reply->serial == 7 && reply->req == id);
    fc_msg_destroy(&reply);
    FC_CHECK(fc_client_retries(client) >= 1);
    FC_CHECK(fc_client_outstanding(client) == 0);
    /* The duplicate is dropped, not returned. */
    reply = fc_client_recv(client, 100);
    FC_CHECK(reply == NULL);

    /* A call nobody answers times out and leaves nothing outstanding. */
    req = fc_msg_new(FC_MSG_STATUS);
    reply = fc_client_call(client, &req, 300);
    FC_CHECK(reply == NULL && fc_client_outstanding(client) == 0);

    fc_client_destroy(&client);
    FC_CHECK(client == NULL);
    zsock_destroy(&router);
    if (verbose)
        printf("(re-send, duplicate drop, timeout) ");
    printf("OK\n");
}
