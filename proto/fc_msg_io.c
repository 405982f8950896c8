/* fc_msg_io.c: sends and receives messages on ZeroMQ sockets, bounded in frames, with topics. */
#include "fc_error.h"
#include "fc_msg.h"

#include <assert.h>
#include <stdio.h>

/* Sends every frame of *msg_p with the given extra flags; always destroys *msg_p. */
static int s_send_frames(zmsg_t **msg_p, void *sock, int flags)
{
    zmsg_t *msg = *msg_p;
    size_t left = zmsg_size(msg);
    int rc = 0;
    for (zframe_t *frame = zmsg_first(msg); frame && rc == 0; frame = zmsg_next(msg)) {
        int more = --left ? ZFRAME_MORE : 0;
        rc = zframe_send(&frame, sock, ZFRAME_REUSE | more | flags);
    }
    zmsg_destroy(msg_p);
    return rc == 0 ? 0 : -1;
}

int fc_msg_send(fc_msg_t **self_p, void *sock)
{
    assert(self_p && *self_p && sock);
    zmsg_t *msg = fc_msg_encode(*self_p);
    fc_msg_destroy(self_p);
    if (!msg)
        return -1;
    return s_send_frames(&msg, sock, 0);
}

int fc_msg_send_to(fc_msg_t **self_p, zframe_t *routing_id, void *sock)
{
    assert(self_p && *self_p && sock);
    zmsg_t *msg = fc_msg_encode(*self_p);
    fc_msg_destroy(self_p);
    if (!msg || !routing_id) {
        zmsg_destroy(&msg);
        return -1;
    }
    /* With ROUTER_MANDATORY the routing frame fails at once (EHOSTUNREACH for a gone peer,
       EAGAIN for a full queue); the other frames then go to the same pipe and cannot
       block. One stuck peer must never stall the broker. */
    if (zframe_send(&routing_id, sock, ZFRAME_REUSE | ZFRAME_MORE | ZFRAME_DONTWAIT) != 0) {
        zmsg_destroy(&msg);
        return -1;
    }
    return s_send_frames(&msg, sock, ZFRAME_DONTWAIT);
}

int fc_msg_send_to_owned(fc_msg_t **self_p, zframe_t *routing_id, void *sock, void *data,
                         size_t len, zmq_free_fn *free_fn, void *hint)
{
    assert(self_p && *self_p && sock && free_fn);
    bool ok = fc_msg_type_has_data((*self_p)->type) && !(*self_p)->data && len <= FC_MAX_CHUNK_REQ;
    zmsg_t *msg = ok ? fc_msg_encode(*self_p) : NULL;
    fc_msg_destroy(self_p);
    zmq_msg_t body;
    /* From here on ZeroMQ owns data: closing the message frees it. */
    if (zmq_msg_init_data(&body, data, len, free_fn, hint) != 0) {
        free_fn(data, hint);
        zmsg_destroy(&msg);
        return -1;
    }
    /* The encoded message ends with an empty data frame: body takes its place. */
    zframe_t *empty = msg ? zmsg_last(msg) : NULL;
    if (empty) {
        zmsg_remove(msg, empty);
        zframe_destroy(&empty);
    }
    int rc = msg && routing_id && zmsg_size(msg) > 0 ? 0 : -1;
    /* As in fc_msg_send_to: the routing frame fails at once or the rest cannot block. */
    if (rc == 0)
        rc = zframe_send(&routing_id, sock, ZFRAME_REUSE | ZFRAME_MORE | ZFRAME_DONTWAIT);
    for (zframe_t *f = msg ? zmsg_first(msg) : NULL; f && rc == 0; f = zmsg_next(msg))
        rc = zframe_send(&f, sock, ZFRAME_REUSE | ZFRAME_MORE | ZFRAME_DONTWAIT);
    if (rc == 0 && zmq_msg_send(&body, sock, ZMQ_DONTWAIT) < 0)
        rc = -1;
    if (rc != 0)
        zmq_msg_close(&body);
    zmsg_destroy(&msg);
    return rc == 0 ? 0 : -1;
}

zmsg_t *fc_msg_recv_frames(void *sock, size_t keep)
{
    zframe_t *frame = zframe_recv(sock);
    if (!frame)
        return NULL;
    zmsg_t *msg = zmsg_new();
    while (frame) {
        bool more = zframe_more(frame);
        if (zmsg_size(msg) < keep)
            zmsg_append(msg, &frame);
        else
            zframe_destroy(&frame);
        frame = more ? zframe_recv(sock) : NULL;
    }
    return msg;
}

fc_msg_t *fc_msg_recv_req(void *sock, zframe_t **routing_id_p, int *err, uint64_t *req_p)
{
    assert(sock);
    int local_err;
    if (!err)
        err = &local_err;
    *err = FC_OK;
    if (req_p)
        *req_p = 0;
    if (routing_id_p)
        *routing_id_p = NULL;
    /* Routing id, body, data, and one more so that too many frames is seen as such. */
    zmsg_t *msg = fc_msg_recv_frames(sock, (routing_id_p ? 1 : 0) + 3);
    if (!msg)
        return NULL; /* interrupted or timed out: *err stays FC_OK */
    if (routing_id_p)
        *routing_id_p = zmsg_pop(msg);
    return fc_msg_decode_req(&msg, err, req_p);
}

fc_msg_t *fc_msg_recv(void *sock, zframe_t **routing_id_p, int *err)
{
    return fc_msg_recv_req(sock, routing_id_p, err, NULL);
}

/* Longest topic: "C/" and a scope held in text. */
#define S_TOPIC_SIZE (FC_MAX_TEXT + 8)

/* Topic of an announcement: "R/<channel>", "C/<scope>", "T", "H" or "K"; -1 for other types. */
static int s_topic(const fc_msg_t *self, char *out, size_t outsize)
{
    int n = -1;
    if (self->type == FC_MSG_HEARTBEAT)
        n = snprintf(out, outsize, "%s", FC_TOPIC_HEARTBEAT);
    else if (self->type == FC_MSG_ANNOUNCE)
        n = snprintf(out, outsize, "%s%s", FC_TOPIC_RELEASE, self->channel);
    else if (self->type == FC_MSG_CONFIG_ANNOUNCE)
        n = snprintf(out, outsize, "%s%s", FC_TOPIC_CONFIG, self->text);
    else if (self->type == FC_MSG_TRUST_ANNOUNCE)
        n = snprintf(out, outsize, "%s", FC_TOPIC_TRUST);
    else if (self->type == FC_MSG_RELAY_KEYS_REPLY)
        n = snprintf(out, outsize, "%s", FC_TOPIC_KEYS);
    return n >= 0 && (size_t)n < outsize ? 0 : -1;
}

int fc_msg_publish(fc_msg_t **self_p, void *pub)
{
    assert(self_p && *self_p && pub);
    /* Encode first: it checks the channel is terminated before the topic is built from it. */
    zmsg_t *msg = fc_msg_encode(*self_p);
    char topic[S_TOPIC_SIZE];
    if (msg && s_topic(*self_p, topic, sizeof topic) != 0)
        zmsg_destroy(&msg);
    fc_msg_destroy(self_p);
    if (!msg)
        return -1;
    zmsg_pushstr(msg, topic);
    return s_send_frames(&msg, pub, ZFRAME_DONTWAIT);
}

fc_msg_t *fc_msg_recv_announce(void *sub, int *err)
{
    assert(sub);
    int local_err;
    if (!err)
        err = &local_err;
    *err = FC_OK;
    zmsg_t *msg = fc_msg_recv_frames(sub, 3);
    if (!msg)
        return NULL;
    *err = FC_EPROTO;
    if (zmsg_size(msg) != 2) {
        zmsg_destroy(&msg);
        return NULL;
    }
    zframe_t *topic = zmsg_pop(msg);
    fc_msg_t *self = fc_msg_decode(&msg, err);
    /* The topic is what subscribers filter on, so it must say what the body says. */
    char want[S_TOPIC_SIZE];
    if (self && (s_topic(self, want, sizeof want) != 0 || !zframe_streq(topic, want))) {
        fc_msg_destroy(&self);
        *err = FC_EPROTO;
    }
    zframe_destroy(&topic);
    return self;
}
