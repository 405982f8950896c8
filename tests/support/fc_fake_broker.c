/* fc_fake_broker.c: the loop, sockets and default answers of the agent self-tests' fake
   brokers. */
/* The asserts must run in RelWithDebInfo builds too. */
#undef NDEBUG
#include <assert.h>

#include "fc_fake_broker.h"

#include <stdio.h>

static void s_serve(fc_fake_broker_t *fake, zsock_t *router, fc_fake_serve_fn *serve)
{
    zframe_t *who = NULL;
    int err = 0;
    fc_msg_t *req = fc_msg_recv(zsock_resolve(router), &who, &err);
    bool drop = false;
    fc_msg_t *rep = req ? serve(fake, req, &drop) : NULL;
    if (req && !rep && !drop) {
        if (req->type == FC_MSG_HELLO) {
            rep = fc_msg_new(FC_MSG_WELCOME);
            rep->epoch = fake->epoch;
            rep->seq = fake->seq;
            snprintf(rep->endpoint, sizeof rep->endpoint, "tcp://*:%d", fake->pub_port);
            rep->heartbeat_ms = 1000;
        } else if (req->type == FC_MSG_SYNC) {
            rep = fc_msg_new(FC_MSG_SNAPSHOT);
            rep->epoch = fake->epoch;
            rep->seq = fake->seq;
        } else
            rep = fc_msg_new(FC_MSG_OK);
    }
    if (rep) {
        rep->req = req->req;
        fc_msg_send_to(&rep, who, zsock_resolve(router));
        fc_msg_destroy(&rep);
    }
    fc_msg_destroy(&req);
    zframe_destroy(&who);
}

void fc_fake_broker_run(zsock_t *pipe, uint64_t epoch, fc_fake_serve_fn *serve,
                        fc_fake_command_fn *command, void *state)
{
    fc_fake_broker_t fake = {.epoch = epoch, .state = state};
    zsock_t *router = zsock_new(ZMQ_ROUTER);
    fake.pub = zsock_new(ZMQ_PUB);
    int port = zsock_bind(router, "tcp://127.0.0.1:*");
    fake.pub_port = zsock_bind(fake.pub, "tcp://127.0.0.1:*");
    assert(port > 0 && fake.pub_port > 0);
    zsock_signal(pipe, 0);
    zsock_send(pipe, "ii", port, fake.pub_port);
    zpoller_t *poller = zpoller_new(pipe, router, NULL);
    while (true) {
        void *which = zpoller_wait(poller, -1);
        if (which == router) {
            s_serve(&fake, router, serve);
            continue;
        }
        if (which != pipe)
            break;
        zmsg_t *cmd = zmsg_recv(pipe);
        char *name = cmd ? zmsg_popstr(cmd) : NULL;
        bool term = !name || streq(name, "$TERM");
        if (name && streq(name, "BEAT")) {
            fc_msg_t *beat = fc_msg_new(FC_MSG_HEARTBEAT);
            beat->epoch = fake.epoch;
            beat->seq = fake.seq;
            fc_msg_publish(&beat, zsock_resolve(fake.pub));
            zsock_signal(pipe, 0);
        } else if (name && !term && !command(&fake, name, cmd, pipe))
            zsock_signal(pipe, 0);
        free(name);
        zmsg_destroy(&cmd);
        if (term)
            break;
    }
    zpoller_destroy(&poller);
    zsock_destroy(&fake.pub);
    zsock_destroy(&router);
}
