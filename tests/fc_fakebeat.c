/* fc_fakebeat.c: test tool for the freeze defence: records a broker's signed heartbeats, and
   plays a minimal fake broker whose heartbeats are replayed, forged or unsigned, so the
   suites can show an agent does not take them for a live broker. */
#include <czmq.h>
#include <stdio.h>
#include <string.h>

#include "fc_error.h"
#include "fc_hash.h"
#include "fc_key.h"
#include "fc_msg.h"
#include "fc_stamp.h"
#include "fc_util.h"

#define S_MAX_BEATS 64
#define S_BEAT_MS 200

static int s_usage(void)
{
    fprintf(stderr,
            "usage: fc_fakebeat record ANNOUNCE COUNT FILE   save COUNT heartbeats of a broker\n"
            "       fc_fakebeat serve SERVICE ANNOUNCE MODE [ARG]   a fake broker (empty\n"
            "            channel and config) whose heartbeats are, by MODE:\n"
            "              replay FILE   the recorded ones, over and over\n"
            "              forge KEY     signed now, by signing.key KEY (not the broker's)\n"
            "              future KEY    signed by KEY, an hour ahead of the clock\n"
            "              unsigned      unsigned\n"
            "            until SIGTERM\n");
    return 2;
}

/* FILE: for each heartbeat, a 4-byte big-endian length and the encoded body frame. */
static int s_record(const char *endpoint, int count, const char *path)
{
    zsock_t *sub = zsock_new(ZMQ_SUB);
    zsock_set_subscribe(sub, FC_TOPIC_HEARTBEAT);
    zsock_set_rcvtimeo(sub, 5000);
    if (zsock_connect(sub, "%s", endpoint) != 0)
        return 1;
    FILE *out = fopen(path, "wb");
    int got = 0;
    while (out && got < count) {
        zmsg_t *msg = zmsg_recv(sub);
        if (!msg)
            break;
        zframe_t *body = zmsg_last(msg);
        uint32_t n = (uint32_t)zframe_size(body);
        uint8_t len[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
        fwrite(len, 1, 4, out);
        fwrite(zframe_data(body), 1, n, out);
        zmsg_destroy(&msg);
        got++;
    }
    if (out)
        fclose(out);
    zsock_destroy(&sub);
    return got == count ? 0 : 1;
}

static size_t s_load(const char *path, zframe_t **beats)
{
    FILE *in = fopen(path, "rb");
    size_t n = 0;
    uint8_t len[4];
    while (in && n < S_MAX_BEATS && fread(len, 1, 4, in) == 4) {
        uint32_t size = (uint32_t)len[0] << 24 | (uint32_t)len[1] << 16 | len[2] << 8 | len[3];
        if (size > 4096)
            break;
        uint8_t buf[4096];
        if (fread(buf, 1, size, in) != size)
            break;
        beats[n++] = zframe_new(buf, size);
    }
    if (in)
        fclose(in);
    return n;
}

/* Answers what an agent asks in one run: nothing published, no config, no trust list. */
static void s_answer(zsock_t *router, const char *announce, uint64_t epoch)
{
    zframe_t *peer = NULL;
    int err = 0;
    fc_msg_t *m = fc_msg_recv(zsock_resolve(router), &peer, &err);
    if (!m) {
        zframe_destroy(&peer);
        return;
    }
    fc_msg_t *r = NULL;
    switch (m->type) {
    case FC_MSG_HELLO:
        r = fc_msg_new(FC_MSG_WELCOME);
        r->epoch = epoch;
        fc_msg_set_str(r->endpoint, sizeof r->endpoint, announce);
        r->heartbeat_ms = S_BEAT_MS;
        break;
    case FC_MSG_SYNC:
        r = fc_msg_new(FC_MSG_SNAPSHOT);
        r->epoch = epoch;
        break;
    case FC_MSG_CONFIG_SYNC:
        r = fc_msg_new(FC_MSG_CONFIG_SNAPSHOT);
        r->epoch = epoch;
        break;
    case FC_MSG_GET_TRUST:
        r = fc_msg_new(FC_MSG_TRUST);
        break;
    case FC_MSG_REPORT:
    case FC_MSG_CONFIG_ACK:
        r = fc_msg_new(FC_MSG_OK);
        break;
    default:
        r = fc_msg_new(FC_MSG_ERROR);
        r->code = FC_EPROTO;
        break;
    }
    r->req = m->req;
    fc_msg_send_to(&r, peer, zsock_resolve(router));
    fc_msg_destroy(&m);
    zframe_destroy(&peer);
}

static int s_serve(const char *service, const char *announce, const char *mode, const char *arg)
{
    zframe_t *beats[S_MAX_BEATS];
    size_t nbeats = 0;
    fc_signkey_t key;
    uint64_t epoch = 4242;
    if (streq(mode, "replay")) {
        nbeats = arg ? s_load(arg, beats) : 0;
        if (nbeats == 0)
            return s_usage();
        /* The recording's epoch, so the agent keeps talking to us rather than re-HELLO. */
        zmsg_t *msg = zmsg_new();
        zmsg_append(msg, &(zframe_t *){zframe_dup(beats[0])});
        int err = 0;
        fc_msg_t *first = fc_msg_decode(&msg, &err);
        if (first)
            epoch = first->epoch;
        fc_msg_destroy(&first);
    } else if (streq(mode, "forge") || streq(mode, "future")) {
        if (!arg || fc_signkey_load(&key, arg) != FC_OK)
            return s_usage();
    } else if (!streq(mode, "unsigned"))
        return s_usage();

    zsock_t *router = zsock_new(ZMQ_ROUTER);
    zsock_t *pub = zsock_new(ZMQ_PUB);
    if (zsock_bind(router, "%s", service) < 0 || zsock_bind(pub, "%s", announce) < 0) {
        fprintf(stderr, "fc_fakebeat: cannot bind %s / %s\n", service, announce);
        return 1;
    }
    zpoller_t *poller = zpoller_new(router, NULL);
    int64_t next = zclock_mono();
    size_t i = 0;
    while (!zsys_interrupted) {
        if (zclock_mono() >= next) {
            next = zclock_mono() + S_BEAT_MS;
            if (nbeats) {
                zmsg_t *msg = zmsg_new();
                zmsg_addstr(msg, FC_TOPIC_HEARTBEAT);
                zmsg_append(msg, &(zframe_t *){zframe_dup(beats[i++ % nbeats])});
                zmsg_send(&msg, pub);
            } else {
                fc_msg_t *hb = fc_msg_new(FC_MSG_HEARTBEAT);
                hb->epoch = epoch;
                if (!streq(mode, "unsigned")) {
                    hb->time_ms = fc_stamp_now_ms() + (streq(mode, "future") ? 3600000 : 0);
                    fc_stamp_sign(hb->sig, hb->epoch, hb->seq, hb->time_ms, &key);
                }
                fc_msg_publish(&hb, zsock_resolve(pub));
            }
        }
        if (zpoller_wait(poller, S_BEAT_MS / 4) == router)
            s_answer(router, announce, epoch);
    }
    for (size_t b = 0; b < nbeats; b++)
        zframe_destroy(&beats[b]);
    zpoller_destroy(&poller);
    zsock_destroy(&router);
    zsock_destroy(&pub);
    return 0;
}

int main(int argc, char **argv)
{
    zsys_init();
    zsys_catch_interrupts();
    if (fc_crypto_init() != 0)
        return 1;
    if (argc == 5 && streq(argv[1], "record"))
        return s_record(argv[2], atoi(argv[3]), argv[4]);
    if (argc >= 5 && argc <= 6 && streq(argv[1], "serve"))
        return s_serve(argv[2], argv[3], argv[4], argc == 6 ? argv[5] : NULL);
    return s_usage();
}
