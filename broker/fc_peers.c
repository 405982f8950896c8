/* fc_peers.c: counts the connections of a bound socket from libzmq's socket monitor. Runs on
   its owner's thread: the monitor's PAIR socket sits in the owner's poller. */
#include "fc_peers.h"
#include "fc_test_check.h"

#include <string.h>

struct fc_peers_t {
    zsock_t *watched;
    zsock_t *events; /* PAIR connected to the monitor */
    char endpoint[64];
    int64_t open;
};

fc_peers_t *fc_peers_new(zsock_t *sock)
{
    fc_peers_t *self = zmalloc(sizeof *self);
    self->watched = sock;
    /* Unique per monitor within the context: the object's address. */
    snprintf(self->endpoint, sizeof self->endpoint, "inproc://fc-peers-%p", (void *)self);
    if (zmq_socket_monitor(zsock_resolve(sock), self->endpoint,
                           ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED) != 0) {
        free(self);
        return NULL;
    }
    self->events = zsock_new_pair(self->endpoint); /* ">" is the default for PAIR: connect */
    if (!self->events) {
        zmq_socket_monitor(zsock_resolve(sock), NULL, 0);
        free(self);
        return NULL;
    }
    return self;
}

void fc_peers_destroy(fc_peers_t **self_p)
{
    fc_peers_t *self = *self_p;
    if (!self)
        return;
    zmq_socket_monitor(zsock_resolve(self->watched), NULL, 0);
    zsock_destroy(&self->events);
    free(self);
    *self_p = NULL;
}

zsock_t *fc_peers_sock(fc_peers_t *self)
{
    return self->events;
}

void fc_peers_handle(fc_peers_t *self)
{
    while (zsock_events(self->events) & ZMQ_POLLIN) {
        /* Two frames: 16-bit event and 32-bit value, then the endpoint. */
        zmsg_t *msg = zmsg_recv(self->events);
        if (!msg)
            return;
        zframe_t *first = zmsg_first(msg);
        if (first && zframe_size(first) >= 2) {
            uint16_t event;
            memcpy(&event, zframe_data(first), sizeof event);
            if (event == ZMQ_EVENT_ACCEPTED)
                self->open++;
            else if (event == ZMQ_EVENT_DISCONNECTED && self->open > 0)
                self->open--;
        }
        zmsg_destroy(&msg);
    }
}

uint64_t fc_peers_count(const fc_peers_t *self)
{
    return (uint64_t)self->open;
}

void fc_peers_test(bool verbose)
{
    (void)verbose;
    printf(" * fc_peers: ");
    zsock_t *server = zsock_new(ZMQ_ROUTER);
    int port = zsock_bind(server, "tcp://127.0.0.1:*");
    FC_CHECK(port > 0);
    fc_peers_t *peers = fc_peers_new(server);
    FC_CHECK(peers && fc_peers_count(peers) == 0);
    zsock_t *a = zsock_new_dealer(NULL), *b = zsock_new_dealer(NULL);
    FC_CHECK(zsock_connect(a, "tcp://127.0.0.1:%d", port) == 0);
    FC_CHECK(zsock_connect(b, "tcp://127.0.0.1:%d", port) == 0);
    zpoller_t *poller = zpoller_new(fc_peers_sock(peers), NULL);
    int64_t until = zclock_mono() + 5000;
    while (fc_peers_count(peers) < 2 && zclock_mono() < until)
        if (zpoller_wait(poller, 100))
            fc_peers_handle(peers);
    FC_CHECK(fc_peers_count(peers) == 2);
    zsock_destroy(&a);
    until = zclock_mono() + 5000;
    while (fc_peers_count(peers) > 1 && zclock_mono() < until)
        if (zpoller_wait(poller, 100))
            fc_peers_handle(peers);
    FC_CHECK(fc_peers_count(peers) == 1);
    zpoller_destroy(&poller);
    fc_peers_destroy(&peers);
    FC_CHECK(!peers);
    zsock_destroy(&b);
    zsock_destroy(&server);
    printf("OK\n");
}
