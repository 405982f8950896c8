/* fc_fakebeat.c: test tool for the freeze defence: records a broker's signed heartbeats, and
   plays a minimal fake broker (tests/support/fc_fake_broker.c) whose heartbeats are replayed,
   forged or unsigned, so the suites can show an agent does not take them for a live broker. */
#include <czmq.h>
#include <stdio.h>
#include <string.h>

#include "fc_error.h"
#include "fc_fake_broker.h"
#include "fc_hash.h"
#include "fc_key.h"
#include "fc_msg.h"
#include "fc_stamp.h"

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

/* What the fake broker fakes: its heartbeats (recorded ones, or signed by key). */
typedef struct {
    const char *mode;
    zframe_t *beats[S_MAX_BEATS];
    size_t nbeats;
    size_t next;
    fc_signkey_t key;
} s_fake_t;

/* fc_fake_serve_fn: answers what an agent asks in one run: nothing published, no config, no
   trust list. HELLO, SYNC, REPORT and CONFIG_ACK get the fake broker's default answers
   (WELCOME naming its PUB and S_BEAT_MS, an empty SNAPSHOT, OK). */
static fc_msg_t *s_answer(fc_fake_broker_t *fake, const fc_msg_t *m, bool *drop)
{
    fc_msg_t *r = NULL;
    switch (m->type) {
    case FC_MSG_HELLO:
    case FC_MSG_SYNC:
    case FC_MSG_REPORT:
    case FC_MSG_CONFIG_ACK:
        break;
    case FC_MSG_CONFIG_SYNC:
        r = fc_msg_new(FC_MSG_CONFIG_SNAPSHOT);
        r->epoch = fake->epoch;
        break;
    case FC_MSG_GET_TRUST:
        r = fc_msg_new(FC_MSG_TRUST);
        break;
    default:
        r = fc_msg_new(FC_MSG_ERROR);
        r->code = FC_EPROTO;
        break;
    }
    return r;
}

/* fc_fake_tick_fn: the next heartbeat, replayed, forged, from the future or unsigned. */
static void s_beat(fc_fake_broker_t *fake)
{
    s_fake_t *self = (s_fake_t *)fake->state;
    if (self->nbeats) {
        zmsg_t *msg = zmsg_new();
        zmsg_addstr(msg, FC_TOPIC_HEARTBEAT);
        zmsg_append(msg, &(zframe_t *){zframe_dup(self->beats[self->next++ % self->nbeats])});
        zmsg_send(&msg, fake->pub);
        return;
    }
    fc_msg_t *hb = fc_msg_new(FC_MSG_HEARTBEAT);
    hb->epoch = fake->epoch;
    if (!streq(self->mode, "unsigned")) {
        hb->time_ms = fc_stamp_now_ms() + (streq(self->mode, "future") ? 3600000 : 0);
        fc_stamp_sign(hb->sig, hb->epoch, hb->seq, hb->time_ms, &self->key);
    }
    fc_msg_publish(&hb, zsock_resolve(fake->pub));
}

static int s_serve(const char *service, const char *announce, const char *mode, const char *arg)
{
    s_fake_t self = {.mode = mode};
    uint64_t epoch = 4242;
    if (streq(mode, "replay")) {
        self.nbeats = arg ? s_load(arg, self.beats) : 0;
        if (self.nbeats == 0)
            return s_usage();
        /* The recording's epoch, so the agent keeps talking to us rather than re-HELLO. */
        zmsg_t *msg = zmsg_new();
        zmsg_append(msg, &(zframe_t *){zframe_dup(self.beats[0])});
        int err = 0;
        fc_msg_t *first = fc_msg_decode(&msg, &err);
        if (first)
            epoch = first->epoch;
        fc_msg_destroy(&first);
    } else if (streq(mode, "forge") || streq(mode, "future")) {
        if (!arg || fc_signkey_load(&self.key, arg) != FC_OK)
            return s_usage();
    } else if (!streq(mode, "unsigned"))
        return s_usage();

    fc_fake_opts_t opts = {.service = service,
                           .announce = announce,
                           .epoch = epoch,
                           .heartbeat_ms = S_BEAT_MS,
                           .serve = s_answer,
                           .tick = s_beat,
                           .tick_ms = S_BEAT_MS,
                           .state = &self};
    int rc = fc_fake_broker_serve(&opts, NULL, 0); /* until SIGTERM */
    for (size_t b = 0; b < self.nbeats; b++)
        zframe_destroy(&self.beats[b]);
    fc_signkey_wipe(&self.key);
    return rc;
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
