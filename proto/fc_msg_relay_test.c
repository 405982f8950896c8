/* fc_msg_relay_test.c: the codec's RELAY_KEYS / RELAY_KEYS_REPLY and topic "K" (part of
   fc_msg_test): a key list is whole Z85 keys in strictly ascending order, or it is refused. */
#include "fc_error.h"
#include "fc_msg.h"
#include "fc_msg_sample.h"
#include "fc_test_check.h"

#include <msgpack.h>
#include <string.h>

/* A hand-packed RELAY_KEYS_REPLY: serial 9, more false, keys as given (len bytes). */
static zmsg_t *s_reply(const void *keys, size_t len)
{
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 6);
    msgpack_pack_uint64(&pk, FC_PROTO_VERSION);
    msgpack_pack_uint64(&pk, FC_MSG_RELAY_KEYS_REPLY);
    msgpack_pack_uint64(&pk, 4);
    msgpack_pack_uint64(&pk, 9);
    msgpack_pack_false(&pk);
    msgpack_pack_bin_with_body(&pk, keys, len);
    zmsg_t *msg = zmsg_new();
    zmsg_addmem(msg, sbuf.data, sbuf.size);
    msgpack_sbuffer_destroy(&sbuf);
    return msg;
}

static void s_test_keys_codec(void)
{
    const char *a = FC_MSG_SAMPLE_KEY_A, *b = FC_MSG_SAMPLE_KEY_B;
    char two[2 * FC_MSG_KEY_Z85_LEN + 1];
    snprintf(two, sizeof two, "%s%s", a, b);

    /* Well formed: two keys in order, and none at all (an empty set, or topic K's body). */
    fc_msg_t *m = fc_msg_accept(s_reply(two, 2 * FC_MSG_KEY_Z85_LEN));
    FC_CHECK(m->serial == 9 && !m->more && fc_msg_relay_key_count(m) == 2);
    char got[FC_MSG_KEY_Z85_LEN + 1];
    fc_msg_relay_key_get(m, 0, got);
    FC_CHECK(streq(got, a));
    fc_msg_relay_key_get(m, 1, got);
    FC_CHECK(streq(got, b));
    fc_msg_destroy(&m);
    m = fc_msg_accept(s_reply("", 0));
    FC_CHECK(fc_msg_relay_key_count(m) == 0);
    fc_msg_destroy(&m);

    /* Malformed: part of a key, keys out of order or twice, a byte outside Z85. */
    fc_msg_reject(s_reply(two, 2 * FC_MSG_KEY_Z85_LEN - 1), FC_EPROTO);
    fc_msg_reject(s_reply(a, 1), FC_EPROTO);
    char swapped[2 * FC_MSG_KEY_Z85_LEN + 1];
    snprintf(swapped, sizeof swapped, "%s%s", b, a);
    fc_msg_reject(s_reply(swapped, 2 * FC_MSG_KEY_Z85_LEN), FC_EPROTO);
    snprintf(swapped, sizeof swapped, "%s%s", a, a);
    fc_msg_reject(s_reply(swapped, 2 * FC_MSG_KEY_Z85_LEN), FC_EPROTO);
    char bad[FC_MSG_KEY_Z85_LEN + 1];
    memcpy(bad, a, sizeof bad);
    bad[7] = ' ';
    fc_msg_reject(s_reply(bad, FC_MSG_KEY_Z85_LEN), FC_EPROTO);
    bad[7] = '\0';
    fc_msg_reject(s_reply(bad, FC_MSG_KEY_Z85_LEN), FC_EPROTO);
    /* More than FC_MAX_LIST keys in one page: over the field's limit. */
    size_t over = (FC_MAX_LIST + 1) * FC_MSG_KEY_Z85_LEN;
    char *many = (char *)zmalloc(over);
    memset(many, 'a', over);
    fc_msg_reject(s_reply(many, over), FC_ETOOBIG);
    free(many);

    /* The builder keeps the same rules, so a broker cannot send what a relay refuses. */
    m = fc_msg_new(FC_MSG_RELAY_KEYS_REPLY);
    FC_CHECK(fc_msg_relay_key_add(m, b) == 0);
    FC_CHECK(fc_msg_relay_key_add(m, a) == -1); /* before the last */
    FC_CHECK(fc_msg_relay_key_add(m, b) == -1); /* twice */
    FC_CHECK(fc_msg_relay_key_add(m, "short") == -1);
    FC_CHECK(fc_msg_relay_key_add(m, NULL) == -1);
    bad[7] = ' ';
    FC_CHECK(fc_msg_relay_key_add(m, bad) == -1);
    FC_CHECK(fc_msg_relay_key_count(m) == 1);
    fc_msg_destroy(&m);

    /* RELAY_KEYS: the cursor is a str like any; a list or a second field is malformed. */
    m = fc_msg_sample(FC_MSG_RELAY_KEYS);
    FC_CHECK(streq(m->cursor, a));
    fc_msg_destroy(&m);
}

/* Topic "K" carries RELAY_KEYS_REPLY (req 0, no keys); under another topic it is refused. */
static void s_test_keys_topic(void)
{
    zsock_t *pub = zsock_new(ZMQ_PUB);
    zsock_t *sub = zsock_new(ZMQ_SUB);
    int port = zsock_bind(pub, "tcp://127.0.0.1:*");
    FC_CHECK(port > 0);
    zsock_set_subscribe(sub, FC_TOPIC_KEYS);
    zsock_set_subscribe(sub, FC_TOPIC_TRUST);
    FC_CHECK(zsock_connect(sub, "tcp://127.0.0.1:%d", port) == 0);
    zsock_set_rcvtimeo(sub, 20);
    fc_msg_t *m = NULL;
    int err = -1;
    for (int tries = 0; tries < 250 && !m; tries++) {
        fc_msg_t *k = fc_msg_new(FC_MSG_RELAY_KEYS_REPLY);
        k->serial = 77;
        FC_CHECK(fc_msg_publish(&k, pub) == 0 && k == NULL);
        m = fc_msg_recv_announce(sub, &err);
    }
    FC_CHECK(m && err == FC_OK && m->type == FC_MSG_RELAY_KEYS_REPLY && m->serial == 77);
    fc_msg_destroy(&m);
    zsock_set_rcvtimeo(sub, 200);
    while ((m = fc_msg_recv_announce(sub, &err)))
        fc_msg_destroy(&m);
    zsock_set_rcvtimeo(sub, 5000);
    fc_msg_t *k = fc_msg_new(FC_MSG_RELAY_KEYS_REPLY);
    zmsg_t *raw = fc_msg_encode(k);
    fc_msg_destroy(&k);
    zmsg_pushstr(raw, FC_TOPIC_TRUST);
    zmsg_send(&raw, pub);
    m = fc_msg_recv_announce(sub, &err);
    FC_CHECK(!m && err == FC_EPROTO);
    /* The request is not an announcement. */
    m = fc_msg_sample(FC_MSG_RELAY_KEYS);
    FC_CHECK(fc_msg_publish(&m, pub) == -1);
    zsock_destroy(&sub);
    zsock_destroy(&pub);
}

void fc_msg_relay_test(bool verbose)
{
    (void)verbose;
    s_test_keys_codec();
    s_test_keys_topic();
}
