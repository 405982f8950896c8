/* fc_fake_broker.c: the loop, sockets and default answers of every fake broker of the tests. */
#include "fc_fake_broker.h"
#include "fc_error.h"
#include "fc_file.h"
#include "fc_hash.h"
#include "fc_sockopt.h"
#include "fc_test_check.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static fc_msg_t *s_default(const fc_fake_broker_t *fake, const fc_msg_t *req, int heartbeat_ms)
{
    fc_msg_t *rep;
    if (req->type == FC_MSG_HELLO) {
        rep = fc_msg_new(FC_MSG_WELCOME);
        rep->epoch = fake->epoch;
        rep->seq = fake->seq;
        snprintf(rep->endpoint, sizeof rep->endpoint, "tcp://*:%d", fake->pub_port);
        rep->heartbeat_ms = heartbeat_ms;
    } else if (req->type == FC_MSG_SYNC) {
        rep = fc_msg_new(FC_MSG_SNAPSHOT);
        rep->epoch = fake->epoch;
        rep->seq = fake->seq;
    } else
        rep = fc_msg_new(FC_MSG_OK);
    return rep;
}

static void s_request(fc_fake_broker_t *fake, const fc_fake_opts_t *opts)
{
    if (opts->raw) {
        zmsg_t *msg = zmsg_recv(fake->router);
        zframe_t *who = msg ? zmsg_pop(msg) : NULL;
        if (who)
            opts->raw(fake, who, msg);
        zframe_destroy(&who);
        zmsg_destroy(&msg);
        return;
    }
    zframe_t *who = NULL;
    int err = 0;
    fc_msg_t *req = fc_msg_recv(zsock_resolve(fake->router), &who, &err);
    bool drop = false;
    fc_msg_t *rep = req && opts->serve ? opts->serve(fake, req, &drop) : NULL;
    if (req && !rep && !drop)
        rep = s_default(fake, req, opts->heartbeat_ms ? opts->heartbeat_ms : 1000);
    if (rep) {
        rep->req = req->req;
        fc_msg_send_to(&rep, who, zsock_resolve(fake->router));
        fc_msg_destroy(&rep);
    }
    fc_msg_destroy(&req);
    zframe_destroy(&who);
}

/* One pipe command; false on $TERM (or a broken pipe). */
static bool s_command(fc_fake_broker_t *fake, const fc_fake_opts_t *opts, zsock_t *pipe)
{
    zmsg_t *cmd = zmsg_recv(pipe);
    char *name = cmd ? zmsg_popstr(cmd) : NULL;
    bool term = !name || streq(name, "$TERM");
    if (name && streq(name, "BEAT")) {
        fc_msg_t *beat = fc_msg_new(FC_MSG_HEARTBEAT);
        beat->epoch = fake->epoch;
        beat->seq = fake->seq;
        fc_msg_publish(&beat, zsock_resolve(fake->pub));
        zsock_signal(pipe, 0);
    } else if (name && !term && !(opts->command && opts->command(fake, name, cmd, pipe)))
        zsock_signal(pipe, 0);
    free(name);
    zmsg_destroy(&cmd);
    return !term;
}

/* Binds sock to endpoint, or to a free loopback port; the port (0 if not TCP), or -1. */
static int s_bind(zsock_t *sock, const char *endpoint)
{
    return zsock_bind(sock, "%s", endpoint ? endpoint : "tcp://127.0.0.1:*");
}

int fc_fake_broker_serve(const fc_fake_opts_t *opts, zsock_t *pipe, int64_t deadline)
{
    fc_fake_broker_t fake = {.epoch = opts->epoch, .state = opts->state};
    fake.router = zsock_new(ZMQ_ROUTER);
    fake.pub = zsock_new(ZMQ_PUB);
    if (opts->tune) {
        fc_sock_tune(zsock_resolve(fake.router));
        fc_sock_tune(zsock_resolve(fake.pub));
    }
    if (opts->curve) {
        fc_curve_apply(opts->curve, fake.router);
        fc_curve_apply(opts->curve, fake.pub);
    }
    fake.port = s_bind(fake.router, opts->service);
    fake.pub_port = fake.port < 0 ? -1 : s_bind(fake.pub, opts->announce);
    bool bound = fake.port >= 0 && fake.pub_port >= 0;
    if (pipe) {
        zsock_signal(pipe, 0);
        zsock_send(pipe, "ii", bound ? fake.port : -1, bound ? fake.pub_port : -1);
    }
    if (!bound)
        fprintf(stderr, "fake broker: cannot bind %s / %s\n",
                opts->service ? opts->service : "a loopback port",
                opts->announce ? opts->announce : "a loopback port");
    zpoller_t *poller = bound ? zpoller_new(fake.router, NULL) : NULL;
    if (poller && pipe)
        zpoller_add(poller, pipe);
    int64_t next_tick = zclock_mono();
    while (poller && !zsys_interrupted && (!deadline || zclock_mono() < deadline)) {
        int64_t now = zclock_mono();
        if (opts->tick && now >= next_tick) {
            opts->tick(&fake);
            next_tick = now + opts->tick_ms;
        }
        int64_t wait = opts->tick ? next_tick - now : -1;
        if (deadline && (wait < 0 || deadline - now < wait))
            wait = deadline - now;
        void *which = zpoller_wait(poller, wait < 0 ? -1 : (int)(wait > 0 ? wait : 0));
        if (which == fake.router)
            s_request(&fake, opts);
        else if (which && which == pipe) {
            if (!s_command(&fake, opts, pipe))
                break;
        } else if (zpoller_terminated(poller))
            break;
    }
    zpoller_destroy(&poller);
    zsock_destroy(&fake.pub);
    zsock_destroy(&fake.router);
    return bound ? 0 : 1;
}

void fc_fake_broker_run(zsock_t *pipe, uint64_t epoch, fc_fake_serve_fn *serve,
                        fc_fake_command_fn *command, void *state)
{
    fc_fake_opts_t opts = {.epoch = epoch, .serve = serve, .command = command, .state = state};
    fc_fake_broker_serve(&opts, pipe, 0);
}

fc_msg_t *fc_fake_chunk_reply(const fc_manifest_t *m, const char *src, const fc_msg_t *req,
                              bool corrupt)
{
    const fc_file_t *file = NULL;
    for (uint32_t i = 0; m && i < m->nfiles; i++)
        if (fc_hash_equal(m->files[i].hash, req->blob))
            file = &m->files[i];
    if (!file || req->offset + req->length > file->size) {
        fc_msg_t *rep = fc_msg_new(FC_MSG_ERROR);
        rep->code = FC_ENOTFOUND;
        return rep;
    }
    char path[600];
    snprintf(path, sizeof path, "%s/%s", src, file->path);
    zframe_t *data = zframe_new(NULL, req->length);
    int fd = open(path, O_RDONLY);
    FC_CHECK(fd >= 0);
    FC_CHECK(fc_pread_all(fd, zframe_data(data), req->length, req->offset) == 0);
    close(fd);
    if (corrupt && req->length > 0)
        zframe_data(data)[0] ^= 0x5a;
    fc_msg_t *rep = fc_msg_new(FC_MSG_CHUNK);
    memcpy(rep->blob, req->blob, FC_HASH_LEN);
    rep->offset = req->offset;
    rep->data = data;
    return rep;
}
