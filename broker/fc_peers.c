/* fc_peers.c: the connections of a bound socket from libzmq's socket monitor: counted, and
   those refused in the handshake logged by address. Runs on its owner's thread: the
   monitor's PAIR socket sits in the owner's poller. */
#include "fc_peers.h"
#include "fc_accepts.h"
#include "fc_refusals.h"
#include "fc_test_check.h"

#include <string.h>

struct fc_peers_t {
    zsock_t *watched;
    zsock_t *events; /* PAIR connected to the monitor */
    char endpoint[64];
    char name[32];
    bool curve; /* the watched socket is a CURVE server */
    int64_t open;
    uint64_t refused; /* handshakes failed */
    zhashx_t *peers;  /* descriptor (as text) -> peer address, of open connections */
    uint64_t cursor;  /* fc_accepts_take's */
    uint16_t event;   /* a handshake failure waiting for its DISCONNECTED; 0: none */
    uint32_t value;   /* its value: the protocol error, or errno */
    fc_refusals_t *limit;
};

fc_peers_t *fc_peers_new(zsock_t *sock, const char *name)
{
    fc_peers_t *self = zmalloc(sizeof *self);
    self->watched = sock;
    snprintf(self->name, sizeof self->name, "%s", name);
    self->curve = zsock_mechanism(sock) == ZMQ_CURVE;
    self->peers = zhashx_new();
    zhashx_set_destructor(self->peers, (zhashx_destructor_fn *)zstr_free);
    self->limit = fc_refusals_new(false);
    /* Unique per monitor within the context: the object's address. */
    snprintf(self->endpoint, sizeof self->endpoint, "inproc://fc-peers-%p", (void *)self);
    if (!self->limit || zmq_socket_monitor(zsock_resolve(sock), self->endpoint,
                                           ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED |
                                               ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                                               ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) != 0) {
        fc_refusals_destroy(&self->limit);
        zhashx_destroy(&self->peers);
        free(self);
        return NULL;
    }
    self->events = zsock_new_pair(self->endpoint); /* ">" is the default for PAIR: connect */
    if (!self->events) {
        zmq_socket_monitor(zsock_resolve(sock), NULL, 0);
        fc_refusals_destroy(&self->limit);
        zhashx_destroy(&self->peers);
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
    zhashx_destroy(&self->peers);
    fc_refusals_destroy(&self->limit);
    free(self);
    *self_p = NULL;
}

zsock_t *fc_peers_sock(fc_peers_t *self)
{
    return self->events;
}

/* The port of a bound endpoint as the monitor names it ("tcp://0.0.0.0:7400"); 0 if none. */
static uint16_t s_port(const char *endpoint)
{
    const char *colon = endpoint ? strrchr(endpoint, ':') : NULL;
    long port = colon ? strtol(colon + 1, NULL, 10) : 0;
    return port > 0 && port < 65536 ? (uint16_t)port : 0;
}

/* The connection on descriptor fd closed after a failed handshake: one line, at most once a
   minute per kind and address. A refusal (the client spoke another mechanism, or its CURVE
   handshake failed) is a warning; a connection the client closed mid-handshake (a plain
   client that saw the mismatch first, a port probe) a notice. */
static void s_refused(fc_peers_t *self, uint32_t fd)
{
    self->refused++;
    char key[16], what[192], limit[96];
    snprintf(key, sizeof key, "%u", fd);
    const char *address = (const char *)zhashx_lookup(self->peers, key);
    if (!address)
        address = "an unknown address";
    const char *kind = "ended";
    bool refused = self->event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL;
    if (refused && self->value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH) {
        kind = "plain";
        if (self->curve)
            snprintf(what, sizeof what, "a plain client (no CURVE) on the CURVE %s socket",
                     self->name);
        else
            snprintf(what, sizeof what,
                     "a client with a security mechanism (CURVE?) on the plain %s socket "
                     "(this broker runs --insecure)",
                     self->name);
    } else if (refused && self->value == ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC) {
        kind = "crypto";
        snprintf(what, sizeof what,
                 "its CURVE handshake on the %s socket failed (does it hold this broker's "
                 "key?)",
                 self->name);
    } else if (refused) {
        kind = "protocol";
        snprintf(what, sizeof what, "a handshake error on the %s socket (ZMTP protocol error 0x%x)",
                 self->name, self->value);
    }
    snprintf(limit, sizeof limit, "%s %s", kind, address);
    uint64_t quiet = 0;
    if (!fc_refusals_due(self->limit, limit, &quiet))
        return;
    char more[64] = "";
    if (quiet)
        snprintf(more, sizeof more, " (%llu more in the last minute)", (unsigned long long)quiet);
    if (refused)
        zsys_warning("fleetcast-broker: refused a connection from %s: %s%s", address, what, more);
    else
        /* A client without CURVE that saw the broker's greeting first closes at once, and
           its reset takes the greeting it sent with it: then this is all there is to see. */
        zsys_notice("fleetcast-broker: a connection from %s closed during its handshake on the "
                    "%s socket (%s): a client %s, or a port probe%s",
                    address, self->name, strerror((int)self->value),
                    self->curve ? "without CURVE" : "with CURVE (this broker runs --insecure)",
                    more);
}

void fc_peers_handle(fc_peers_t *self)
{
    while (zsock_events(self->events) & ZMQ_POLLIN) {
        /* Two frames: 16-bit event and 32-bit value, then the endpoint. */
        zmsg_t *msg = zmsg_recv(self->events);
        if (!msg)
            return;
        zframe_t *first = zmsg_first(msg);
        zframe_t *second = zmsg_next(msg);
        if (first && zframe_size(first) >= 6) {
            uint16_t event;
            uint32_t value;
            memcpy(&event, zframe_data(first), sizeof event);
            memcpy(&value, zframe_data(first) + 2, sizeof value);
            char key[16];
            snprintf(key, sizeof key, "%u", value);
            if (event == ZMQ_EVENT_ACCEPTED) {
                self->open++;
                char *endpoint = second ? zframe_strdup(second) : NULL;
                char address[FC_ACCEPTS_ADDRESS];
                if (fc_accepts_take(s_port(endpoint), (int)value, &self->cursor, address,
                                    sizeof address))
                    zhashx_update(self->peers, key, strdup(address));
                else
                    zhashx_delete(self->peers, key);
                zstr_free(&endpoint);
            } else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ||
                       event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) {
                /* libzmq's I/O thread reports the failure, then closes that connection: the
                   next DISCONNECTED is its own and names its descriptor. */
                self->event = event;
                self->value = value;
            } else if (event == ZMQ_EVENT_DISCONNECTED) {
                if (self->open > 0)
                    self->open--;
                if (self->event)
                    s_refused(self, value);
                self->event = 0;
                zhashx_delete(self->peers, key);
            }
        }
        zmsg_destroy(&msg);
    }
}

uint64_t fc_peers_count(const fc_peers_t *self)
{
    return (uint64_t)self->open;
}

uint64_t fc_peers_refused(const fc_peers_t *self)
{
    return self->refused;
}

void fc_peers_test(bool verbose)
{
    (void)verbose;
    printf(" * fc_peers: ");
    zsock_t *server = zsock_new(ZMQ_ROUTER);
    int port = zsock_bind(server, "tcp://127.0.0.1:*");
    FC_CHECK(port > 0);
    fc_peers_t *peers = fc_peers_new(server, "test");
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
    /* Counted at accept; a client that leaves before its handshake ends is counted as
       refused, so each speaks once (its handshake done) before one leaves. */
    zsock_set_rcvtimeo(server, 5000);
    FC_CHECK(zstr_send(a, "a") == 0 && zstr_send(b, "b") == 0);
    for (int i = 0; i < 2; i++) {
        zmsg_t *hello = zmsg_recv(server);
        FC_CHECK(hello);
        zmsg_destroy(&hello);
    }
    zsock_destroy(&a);
    until = zclock_mono() + 5000;
    while (fc_peers_count(peers) > 1 && zclock_mono() < until)
        if (zpoller_wait(poller, 100))
            fc_peers_handle(peers);
    FC_CHECK(fc_peers_count(peers) == 1);
    FC_CHECK(fc_peers_refused(peers) == 0);
    zpoller_destroy(&poller);
    fc_peers_destroy(&peers);
    FC_CHECK(!peers);
    zsock_destroy(&b);
    zsock_destroy(&server);

    /* A CURVE server: a plain client is refused in the handshake, and counted. */
    zcert_t *cert = zcert_new();
    server = zsock_new(ZMQ_ROUTER);
    zsock_set_curve_server(server, 1);
    zcert_apply(cert, server);
    port = zsock_bind(server, "tcp://127.0.0.1:*");
    FC_CHECK(port > 0);
    peers = fc_peers_new(server, "test");
    FC_CHECK(peers);
    zsock_t *plain = zsock_new_dealer(NULL);
    FC_CHECK(zsock_connect(plain, "tcp://127.0.0.1:%d", port) == 0);
    poller = zpoller_new(fc_peers_sock(peers), NULL);
    until = zclock_mono() + 5000;
    while (fc_peers_refused(peers) == 0 && zclock_mono() < until)
        if (zpoller_wait(poller, 100))
            fc_peers_handle(peers);
    FC_CHECK(fc_peers_refused(peers) >= 1);
    zpoller_destroy(&poller);
    fc_peers_destroy(&peers);
    zsock_destroy(&plain);
    zsock_destroy(&server);
    zcert_destroy(&cert);
    printf("OK\n");
}
