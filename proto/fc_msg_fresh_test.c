/* fc_msg_fresh_test.c: the codec's signed-heartbeat and trust-list messages (part of
   fc_msg_test): old short heartbeats still decode, half a timestamp does not; a relay's
   heartbeat carries the root's. */
#include "fc_error.h"
#include "fc_msg.h"
#include "fc_stamp.h"
#include "fc_test_check.h"

#include <msgpack.h>
#include <string.h>

/* A hand-packed HEARTBEAT with n fields after the header. */
static zmsg_t *s_beat(size_t n, size_t siglen)
{
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 3 + n);
    msgpack_pack_uint64(&pk, FC_PROTO_VERSION);
    msgpack_pack_uint64(&pk, FC_MSG_HEARTBEAT);
    msgpack_pack_uint64(&pk, 0);
    uint8_t sig[FC_SIG_LEN + 1];
    memset(sig, 0x11, sizeof sig);
    if (n >= 1)
        msgpack_pack_uint64(&pk, 5);
    if (n >= 2)
        msgpack_pack_uint64(&pk, 6);
    if (n >= 3)
        msgpack_pack_uint64(&pk, 1700000000000ull);
    if (n >= 4)
        msgpack_pack_bin_with_body(&pk, sig, n > 4 ? FC_SIG_LEN : siglen);
    /* A relay's: the root's group after it (issue 16). */
    memset(sig, 0x22, sizeof sig);
    if (n >= 5)
        msgpack_pack_uint64(&pk, 7);
    if (n >= 6)
        msgpack_pack_uint64(&pk, 8);
    if (n >= 7)
        msgpack_pack_uint64(&pk, 1700000000001ull);
    if (n >= 8)
        msgpack_pack_bin_with_body(&pk, sig, siglen);
    zmsg_t *msg = zmsg_new();
    zmsg_addmem(msg, sbuf.data, sbuf.size);
    msgpack_sbuffer_destroy(&sbuf);
    return msg;
}

void fc_msg_fresh_test(bool verbose)
{
    (void)verbose;
    int err = -1;
    /* The release-1 heartbeat [epoch, seq] still decodes, as unsigned (time_ms 0). */
    zmsg_t *msg = s_beat(2, 0);
    fc_msg_t *m = fc_msg_decode(&msg, &err);
    FC_CHECK(m && err == FC_OK && m->epoch == 5 && m->seq == 6 && m->time_ms == 0);
    /* And an unsigned heartbeat is encoded in that short form, for older agents. */
    msg = fc_msg_encode(m);
    fc_msg_destroy(&m);
    zmsg_t *want = s_beat(2, 0);
    FC_CHECK(zframe_eq(zmsg_first(msg), zmsg_first(want)));
    zmsg_destroy(&msg);
    zmsg_destroy(&want);
    /* The signed form carries both; half of it, or a short signature, is malformed. */
    msg = s_beat(4, FC_SIG_LEN);
    m = fc_msg_decode(&msg, &err);
    FC_CHECK(m && m->time_ms == 1700000000000ull && m->sig[0] == 0x11 && m->sig[63] == 0x11);
    fc_msg_destroy(&m);
    msg = s_beat(3, 0);
    FC_CHECK(!fc_msg_decode(&msg, &err) && err == FC_EPROTO);
    msg = s_beat(4, FC_SIG_LEN - 1);
    FC_CHECK(!fc_msg_decode(&msg, &err) && err != FC_OK);
    msg = s_beat(4, FC_SIG_LEN + 1);
    FC_CHECK(!fc_msg_decode(&msg, &err) && err != FC_OK);

    /* A signed heartbeat round-trips, and the signature still verifies after it. */
    fc_signkey_t key;
    fc_signkey_generate(&key);
    m = fc_msg_new(FC_MSG_HEARTBEAT);
    m->epoch = 9;
    m->seq = 10;
    m->time_ms = fc_stamp_now_ms();
    fc_stamp_sign(m->sig, m->epoch, m->seq, m->time_ms, &key);
    msg = fc_msg_encode(m);
    fc_msg_destroy(&m);
    m = fc_msg_decode(&msg, &err);
    FC_CHECK(m && fc_stamp_verify(m->sig, m->epoch, m->seq, m->time_ms, key.pk));
    FC_CHECK(m->root_epoch == 0 && m->root_time_ms == 0);
    fc_msg_destroy(&m);

    /* A relay's heartbeat carries the root's stamp after its own; unsigned by the relay
       itself, its own pair goes on the wire as zeros, and the root's still verifies. */
    m = fc_msg_new(FC_MSG_HEARTBEAT);
    m->epoch = 11;
    m->seq = 12;
    m->root_epoch = 9;
    m->root_seq = 10;
    m->root_time_ms = fc_stamp_now_ms();
    fc_stamp_sign(m->root_sig, m->root_epoch, m->root_seq, m->root_time_ms, &key);
    msg = fc_msg_encode(m);
    fc_msg_destroy(&m);
    FC_CHECK(msg);
    m = fc_msg_decode(&msg, &err);
    FC_CHECK(m && m->epoch == 11 && m->seq == 12 && m->time_ms == 0 && m->root_epoch == 9 &&
             m->root_seq == 10 &&
             fc_stamp_verify(m->root_sig, m->root_epoch, m->root_seq, m->root_time_ms, key.pk));
    fc_msg_destroy(&m);
    /* Half of the root's group, or a short root signature, is malformed. */
    for (size_t n = 5; n <= 7; n++) {
        msg = s_beat(n, FC_SIG_LEN);
        FC_CHECK(!fc_msg_decode(&msg, &err) && err != FC_OK);
    }
    msg = s_beat(8, FC_SIG_LEN - 1);
    FC_CHECK(!fc_msg_decode(&msg, &err) && err != FC_OK);
    msg = s_beat(8, FC_SIG_LEN);
    m = fc_msg_decode(&msg, &err);
    FC_CHECK(m && m->root_epoch == 7 && m->root_seq == 8 && m->root_time_ms == 1700000000001ull &&
             m->root_sig[0] == 0x22);
    fc_msg_destroy(&m);

    /* A trust list over its bound is refused by the encoder. */
    m = fc_msg_new(FC_MSG_TRUST);
    uint8_t *big = (uint8_t *)zmalloc(FC_MAX_TRUSTLIST + 1);
    fc_msg_set_bytes(m, big, FC_MAX_TRUSTLIST + 1);
    FC_CHECK(fc_msg_encode(m) == NULL);
    fc_msg_set_bytes(m, big, FC_MAX_TRUSTLIST);
    msg = fc_msg_encode(m);
    FC_CHECK(msg);
    zmsg_destroy(&msg);
    free(big);
    fc_msg_destroy(&m);
    fc_signkey_wipe(&key);
}
