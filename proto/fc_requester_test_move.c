/* fc_requester_test_move.c: fc_requester's self-test with a list of brokers: a dead first one
   is left for the next, a lost one too, and the pending request is answered there. */
#include "fc_dead_port.h"
#include "fc_requester.h"
#include "fc_test_check.h"
#include "fc_test_pump.h"

#include <string.h>
#include <unistd.h>

/* Drives the requester until a reply, or wait_ms; other messages are dropped. */
static fc_msg_t *s_pump(fc_requester_t *r, int wait_ms)
{
    int64_t end = zclock_mono() + wait_ms;
    int64_t left;
    while ((left = end - zclock_mono()) > 0) {
        fc_requester_got_t got = FC_REQUESTER_NONE;
        fc_msg_t *msg = fc_test_pump(r, (int)left, NULL, &got);
        if (msg && got == FC_REQUESTER_REPLY)
            return msg;
        fc_msg_destroy(&msg);
    }
    return NULL;
}

/* The broker's side: answers one request with OK within wait_ms; false if none came. */
static bool s_answer(zsock_t *router, int wait_ms)
{
    zmq_pollitem_t item = {zsock_resolve(router), 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, wait_ms) <= 0)
        return false;
    zframe_t *who = NULL;
    int err = 0;
    fc_msg_t *req = fc_msg_recv(zsock_resolve(router), &who, &err);
    if (!req)
        return false;
    fc_msg_t *ok = fc_msg_new(FC_MSG_OK);
    ok->req = req->req;
    fc_msg_destroy(&req);
    bool sent = fc_msg_send_to(&ok, who, zsock_resolve(router)) == 0;
    zframe_destroy(&who);
    return sent;
}

static zsock_t *s_broker(char *ep, size_t size)
{
    zsock_t *router = zsock_new(ZMQ_ROUTER);
    FC_CHECK(router);
    int port = zsock_bind(router, "tcp://127.0.0.1:*");
    FC_CHECK(port > 0);
    snprintf(ep, size, "tcp://127.0.0.1:%d", port);
    return router;
}

void fc_requester_move_test(bool verbose)
{
    if (verbose)
        printf(" * fc_requester (move): ");
    char dead[64], a_ep[64], b_ep[64], list[256];
    int fd = fc_dead_endpoint(dead, sizeof dead);
    FC_CHECK(fd >= 0);
    zsock_t *a = s_broker(a_ep, sizeof a_ep);
    zsock_t *b = s_broker(b_ep, sizeof b_ep);

    /* The first broker refuses every connection: the request is answered by the second. */
    snprintf(list, sizeof list, "%s,%s,%s", dead, a_ep, b_ep);
    fc_requester_opts_t opts = {.move_ms = 300, .immediate = true};
    fc_requester_t *r = fc_requester_new(list, &opts, NULL);
    FC_CHECK(r && fc_requester_brokers(r) == 3 && streq(fc_requester_endpoint(r), dead));
    fc_msg_t *m = fc_msg_new(FC_MSG_LIST);
    uint64_t id = fc_requester_send(r, &m, NULL, NULL);
    FC_CHECK(id);
    fc_msg_t *reply = NULL;
    int64_t end = zclock_mono() + 5000;
    while (!reply && zclock_mono() < end) {
        s_answer(a, 0);
        reply = s_pump(r, 50);
    }
    FC_CHECK(reply && reply->req == id && reply->type == FC_MSG_OK);
    fc_msg_destroy(&reply);
    FC_CHECK(fc_requester_moves(r) == 1 && streq(fc_requester_endpoint(r), a_ep));

    /* That one goes away with a request unanswered: it is sent again to the next. */
    zsock_destroy(&a);
    m = fc_msg_new(FC_MSG_LIST);
    id = fc_requester_send(r, &m, NULL, NULL);
    end = zclock_mono() + 5000;
    while (!reply && zclock_mono() < end) {
        s_answer(b, 0);
        reply = s_pump(r, 50);
    }
    FC_CHECK(reply && reply->req == id);
    fc_msg_destroy(&reply);
    FC_CHECK(fc_requester_moves(r) == 2 && streq(fc_requester_endpoint(r), b_ep));
    fc_requester_destroy(&r);

    /* A single endpoint never moves. */
    r = fc_requester_new(dead, &opts, NULL);
    FC_CHECK(r && fc_requester_brokers(r) == 1);
    FC_CHECK(s_pump(r, 700) == NULL && fc_requester_moves(r) == 0);
    fc_requester_destroy(&r);
    zsock_destroy(&b);
    close(fd);
    if (verbose)
        printf("OK\n");
}
