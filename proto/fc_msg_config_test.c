/* fc_msg_config_test.c: self-test of the config messages (types 22-31) and OK's grant flag. */

#include "fc_error.h"
#include "fc_msg.h"
#include "fc_msg_sample.h"
#include "fc_test_check.h"

#include <msgpack.h>
#include <stdio.h>
#include <string.h>

static const fc_msg_type_t s_config_types[] = {
    FC_MSG_CONFIG_PUSH,   FC_MSG_CONFIG_SYNC,         FC_MSG_CONFIG_SNAPSHOT, FC_MSG_CONFIG_ACK,
    FC_MSG_CONFIG_STATUS, FC_MSG_CONFIG_STATUS_REPLY, FC_MSG_RESTART_SLOT,    FC_MSG_AUDIT,
    FC_MSG_AUDIT_REPLY,   FC_MSG_CONFIG_ANNOUNCE};
#define S_NTYPES (sizeof s_config_types / sizeof s_config_types[0])

static void s_add_items(fc_msg_t *m, size_t n, size_t len)
{
    m->items = (fc_item_t *)zmalloc(n * sizeof(fc_item_t));
    m->nitems = n;
    for (size_t i = 0; i < n; i++) {
        size_t l = len ? len : i * 3; /* len 0: varied lengths, the first one empty */
        m->items[i].len = l;
        m->items[i].data = l ? (uint8_t *)zmalloc(l) : NULL;
        for (size_t k = 0; k < l; k++)
            m->items[i].data[k] = (uint8_t)(i * 31 + k);
    }
}

static void s_add_audit(fc_msg_t *m, size_t n)
{
    m->audit = (fc_audit_entry_t *)zmalloc(n * sizeof(fc_audit_entry_t));
    m->naudit = n;
    char text[FC_MAX_TEXT + 1];
    memset(text, 'd', FC_MAX_TEXT);
    text[FC_MAX_TEXT] = '\0';
    for (size_t i = 0; i < n; i++) {
        fc_audit_entry_t *a = &m->audit[i];
        a->time = i == 0 ? -1 : 1800000000 + (int64_t)i;
        snprintf(a->who, sizeof a->who, "key:%08zx", i);
        fc_msg_set_str(a->action, sizeof a->action, i % 2 ? "config.set" : "release.commit");
        fc_msg_set_str(a->detail, sizeof a->detail, i == 1 ? text : "rev 4 global: a=1");
        fc_msg_set_str(a->result, sizeof a->result, i == 2 ? "" : "ok");
    }
}

/* A message with every field the header names for its type set, by hand (not from the
   codec's table) so a field the table forgets fails the round trip. */
static fc_msg_t *s_sample(fc_msg_type_t type)
{
    fc_msg_t *m = fc_msg_new(type);
    m->req = 0x0102030405060700ull + type;
    switch (type) {
    case FC_MSG_CONFIG_PUSH:
        fc_msg_set_bytes(m, "\x92\x01signed", 8);
        break;
    case FC_MSG_CONFIG_SYNC:
    case FC_MSG_RESTART_SLOT:
        fc_msg_set_str(m->id, sizeof m->id, "host-07");
        fc_msg_set_str(m->group, sizeof m->group, "web");
        m->serial = type == FC_MSG_CONFIG_SYNC ? 0 : UINT64_MAX;
        break;
    case FC_MSG_CONFIG_SNAPSHOT:
        m->epoch = 3;
        m->seq = 99;
        m->serial = 12;
        m->flag = true;
        s_add_items(m, 4, 0);
        break;
    case FC_MSG_CONFIG_ACK:
        fc_msg_set_str(m->id, sizeof m->id, "host-07");
        fc_msg_set_str(m->group, sizeof m->group, "");
        m->serial = 12;
        fc_msg_set_str(m->state, sizeof m->state, "restart-required");
        fc_msg_set_str(m->text, sizeof m->text, "key db.pool is restart-only");
        break;
    case FC_MSG_CONFIG_STATUS:
    case FC_MSG_AUDIT:
        m->serial = 5;
        break;
    case FC_MSG_CONFIG_STATUS_REPLY:
        m->serial = 12;
        m->flag = true;
        fc_msg_set_str(m->text, sizeof m->text, "2 of 3 canary agents failed");
        m->agents = (fc_agent_status_t *)zmalloc(2 * sizeof(fc_agent_status_t));
        m->nagents = 2;
        fc_msg_set_str(m->agents[0].id, sizeof m->agents[0].id, "a1");
        fc_msg_set_str(m->agents[0].channel, sizeof m->agents[0].channel, "web");
        fc_msg_set_str(m->agents[0].state, sizeof m->agents[0].state, "failed");
        fc_msg_set_str(m->agents[0].message, sizeof m->agents[0].message, "exit 3");
        m->agents[0].last_seen = 1800000000;
        fc_msg_set_str(m->agents[1].id, sizeof m->agents[1].id, "a2");
        fc_msg_set_str(m->agents[1].state, sizeof m->agents[1].state, "pending");
        break;
    case FC_MSG_AUDIT_REPLY:
        s_add_audit(m, 3);
        break;
    case FC_MSG_CONFIG_ANNOUNCE:
        m->epoch = 3;
        m->seq = 100;
        m->serial = 13;
        fc_msg_set_str(m->text, sizeof m->text, "group:web");
        break;
    default:
        FC_CHECK(false);
    }
    return m;
}

static zmsg_t *s_frame(const msgpack_sbuffer *sbuf)
{
    zmsg_t *msg = zmsg_new();
    zmsg_addmem(msg, sbuf->data, sbuf->size);
    return msg;
}

static void s_test_round_trips(void)
{
    for (size_t t = 0; t < S_NTYPES; t++) {
        fc_msg_t *m = s_sample(s_config_types[t]);
        zmsg_t *msg = fc_msg_encode(m);
        FC_CHECK(msg && zmsg_size(msg) == 1);
        fc_msg_destroy(&m);
        fc_msg_t *got = fc_msg_accept(msg);
        fc_msg_t *want = s_sample(s_config_types[t]);
        FC_CHECK(fc_msg_equal(got, want));
        msg = fc_msg_encode(got); /* and again from the decoded copy */
        fc_msg_destroy(&got);
        got = fc_msg_accept(msg);
        FC_CHECK(fc_msg_equal(got, want));
        fc_msg_destroy(&got);
        fc_msg_destroy(&want);
    }
}

/* Hand-packed frames in the wire order docs/PROTOCOL.md gives, decoded by the codec. */
static void s_test_wire_layout(void)
{
    msgpack_sbuffer sbuf;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sbuf);
    msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);

    /* CONFIG_SNAPSHOT: epoch, seq, serial, flag, items */
    msgpack_pack_array(&pk, 8);
    msgpack_pack_uint64(&pk, FC_PROTO_VERSION);
    msgpack_pack_uint64(&pk, FC_MSG_CONFIG_SNAPSHOT);
    msgpack_pack_uint64(&pk, 9);
    msgpack_pack_uint64(&pk, 2);
    msgpack_pack_uint64(&pk, 3);
    msgpack_pack_uint64(&pk, 4);
    msgpack_pack_false(&pk);
    msgpack_pack_array(&pk, 2);
    msgpack_pack_bin_with_body(&pk, "rev1", 4);
    msgpack_pack_bin_with_body(&pk, "", 0);
    fc_msg_t *m = fc_msg_accept(s_frame(&sbuf));
    FC_CHECK(m->req == 9 && m->epoch == 2 && m->seq == 3 && m->serial == 4 && !m->flag);
    FC_CHECK(m->nitems == 2 && m->items[0].len == 4 && !memcmp(m->items[0].data, "rev1", 4));
    FC_CHECK(m->items[1].len == 0 && m->items[1].data == NULL);
    fc_msg_destroy(&m);

    /* CONFIG_ACK: id, group, serial, state, text */
    msgpack_sbuffer_clear(&sbuf);
    msgpack_pack_array(&pk, 8);
    msgpack_pack_uint64(&pk, FC_PROTO_VERSION);
    msgpack_pack_uint64(&pk, FC_MSG_CONFIG_ACK);
    msgpack_pack_uint64(&pk, 1);
    msgpack_pack_str_with_body(&pk, "h1", 2);
    msgpack_pack_str_with_body(&pk, "g", 1);
    msgpack_pack_uint64(&pk, 7);
    msgpack_pack_str_with_body(&pk, "vetoed", 6);
    msgpack_pack_str_with_body(&pk, "no", 2);
    m = fc_msg_accept(s_frame(&sbuf));
    FC_CHECK(!strcmp(m->id, "h1") && !strcmp(m->group, "g") && m->serial == 7);
    FC_CHECK(!strcmp(m->state, "vetoed") && !strcmp(m->text, "no"));
    fc_msg_destroy(&m);

    /* CONFIG_STATUS_REPLY: serial, flag, text, agents */
    msgpack_sbuffer_clear(&sbuf);
    msgpack_pack_array(&pk, 7);
    msgpack_pack_uint64(&pk, FC_PROTO_VERSION);
    msgpack_pack_uint64(&pk, FC_MSG_CONFIG_STATUS_REPLY);
    msgpack_pack_uint64(&pk, 1);
    msgpack_pack_uint64(&pk, 8);
    msgpack_pack_true(&pk);
    msgpack_pack_str_with_body(&pk, "halted", 6);
    msgpack_pack_array(&pk, 0);
    m = fc_msg_accept(s_frame(&sbuf));
    FC_CHECK(m->serial == 8 && m->flag && !strcmp(m->text, "halted") && m->nagents == 0);
    fc_msg_destroy(&m);

    /* AUDIT_REPLY: [[time, who, action, detail, result]] */
    msgpack_sbuffer_clear(&sbuf);
    msgpack_pack_array(&pk, 4);
    msgpack_pack_uint64(&pk, FC_PROTO_VERSION);
    msgpack_pack_uint64(&pk, FC_MSG_AUDIT_REPLY);
    msgpack_pack_uint64(&pk, 1);
    msgpack_pack_array(&pk, 1);
    msgpack_pack_array(&pk, 5);
    msgpack_pack_int64(&pk, -2);
    msgpack_pack_str_with_body(&pk, "who", 3);
    msgpack_pack_str_with_body(&pk, "act", 3);
    msgpack_pack_str_with_body(&pk, "det", 3);
    msgpack_pack_str_with_body(&pk, "res", 3);
    m = fc_msg_accept(s_frame(&sbuf));
    FC_CHECK(m->naudit == 1 && m->audit[0].time == -2 && !strcmp(m->audit[0].who, "who"));
    FC_CHECK(!strcmp(m->audit[0].action, "act") && !strcmp(m->audit[0].detail, "det"));
    FC_CHECK(!strcmp(m->audit[0].result, "res"));
    fc_msg_destroy(&m);

    /* CONFIG_ANNOUNCE: epoch, seq, serial, text; exact encoder bytes */
    m = fc_msg_new(FC_MSG_CONFIG_ANNOUNCE);
    m->epoch = 1;
    m->seq = 2;
    m->serial = 3;
    fc_msg_set_str(m->text, sizeof m->text, "global");
    zmsg_t *msg = fc_msg_encode(m);
    fc_msg_destroy(&m);
    const uint8_t want[] = {0x97, FC_PROTO_VERSION, 31, 0, 1, 2, 3, 0xa6, 'g', 'l', 'o', 'b', 'a',
                            'l'};
    FC_CHECK(msg && zframe_size(zmsg_first(msg)) == sizeof want);
    FC_CHECK(!memcmp(zframe_data(zmsg_first(msg)), want, sizeof want));
    zmsg_destroy(&msg);
    msgpack_sbuffer_destroy(&sbuf);
}

/* Re-packs the encoded sample's top array with element `at` replaced by a value of another
   kind (a str for anything not a str, an int for a str), dropped (drop) or with one more
   element appended (at == SIZE_MAX). */
static zmsg_t *s_mutate(zmsg_t *good, size_t at, bool drop)
{
    zframe_t *body = zmsg_first(good);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    int rc = msgpack_unpack_next(&up, (const char *)zframe_data(body), zframe_size(body), &off);
    FC_CHECK(rc == MSGPACK_UNPACK_SUCCESS && up.data.type == MSGPACK_OBJECT_ARRAY);
    msgpack_object_array top = up.data.via.array;
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, top.size + (at == SIZE_MAX) - drop);
    for (size_t i = 0; i < top.size; i++) {
        if (i != at)
            msgpack_pack_object(&pk, top.ptr[i]);
        else if (drop)
            continue;
        else if (top.ptr[i].type == MSGPACK_OBJECT_STR)
            msgpack_pack_uint64(&pk, 1);
        else
            msgpack_pack_str_with_body(&pk, "x", 1);
    }
    if (at == SIZE_MAX)
        msgpack_pack_nil(&pk);
    zmsg_t *msg = s_frame(&sbuf);
    msgpack_sbuffer_destroy(&sbuf);
    msgpack_unpacked_destroy(&up);
    return msg;
}

/* Every new type: each field of the wrong kind, one field short, one too many, every
   truncation, a trailing byte. */
static void s_test_malformed(void)
{
    for (size_t t = 0; t < S_NTYPES; t++) {
        fc_msg_t *m = s_sample(s_config_types[t]);
        zmsg_t *good = fc_msg_encode(m);
        fc_msg_destroy(&m);
        zframe_t *body = zmsg_first(good);
        msgpack_unpacked up;
        msgpack_unpacked_init(&up);
        size_t off = 0;
        msgpack_unpack_next(&up, (const char *)zframe_data(body), zframe_size(body), &off);
        size_t n = up.data.via.array.size;
        msgpack_unpacked_destroy(&up);
        FC_CHECK(n >= 4);

        for (size_t i = 3; i < n; i++) {
            fc_msg_reject(s_mutate(good, i, false), FC_EPROTO);
            fc_msg_reject(s_mutate(good, i, true), FC_EPROTO);
        }
        fc_msg_reject(s_mutate(good, SIZE_MAX, false), FC_EPROTO);
        zmsg_t *same = s_mutate(good, n, false); /* nothing replaced: still fine */
        fc_msg_t *back = fc_msg_accept(same);
        FC_CHECK(back->type == s_config_types[t]);
        fc_msg_destroy(&back);

        for (size_t cut = 0; cut < zframe_size(body); cut++) {
            zmsg_t *msg = zmsg_new();
            zmsg_addmem(msg, zframe_data(body), cut);
            fc_msg_reject(msg, FC_EPROTO);
        }
        zframe_t *longer = zframe_new(NULL, zframe_size(body) + 1);
        memcpy(zframe_data(longer), zframe_data(body), zframe_size(body));
        zframe_data(longer)[zframe_size(body)] = 0xc0;
        zmsg_t *msg = zmsg_new();
        zmsg_append(msg, &longer);
        fc_msg_reject(msg, FC_EPROTO);
        zmsg_addstr(good, "stray"); /* no config type has a data frame */
        fc_msg_reject(good, FC_EPROTO);
    }
}

/* A CONFIG_ACK carrying state, encoded (encoding does not check states). */
static zmsg_t *s_ack_with(const char *state)
{
    fc_msg_t *m = s_sample(FC_MSG_CONFIG_ACK);
    fc_msg_set_str(m->state, sizeof m->state, state);
    zmsg_t *msg = fc_msg_encode(m);
    fc_msg_destroy(&m);
    return msg;
}

/* A CONFIG_ACK's state is an outcome an agent reports (fc_ack.h): anything else, "pending"
   (the broker's word for no ack) included, is malformed, never free text the broker
   stores and the CLI shows. */
static void s_test_ack_states(void)
{
    const char *bad[] = {"bogus-state", "", "APPLIED", "applied ", "restart_required", "pending"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        fc_msg_reject(s_ack_with(bad[i]), FC_EPROTO);
    const char *good[] = {"applied", "restarted",        "vetoed",
                          "failed",  "restart-required", "unchanged"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        fc_msg_t *m = fc_msg_accept(s_ack_with(good[i]));
        FC_CHECK(m->type == FC_MSG_CONFIG_ACK && strcmp(m->state, good[i]) == 0);
        fc_msg_destroy(&m);
    }
}

/* An AUDIT_REPLY or CONFIG_SNAPSHOT list header claiming n elements, each a copy of elem. */
static zmsg_t *s_list_frame(int type, size_t n, size_t elem_len)
{
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);
    bool snap = type == FC_MSG_CONFIG_SNAPSHOT;
    msgpack_pack_array(&pk, snap ? 8 : 4);
    msgpack_pack_uint64(&pk, FC_PROTO_VERSION);
    msgpack_pack_uint64(&pk, (uint64_t)type);
    msgpack_pack_uint64(&pk, 1);
    if (snap) {
        msgpack_pack_uint64(&pk, 1);
        msgpack_pack_uint64(&pk, 1);
        msgpack_pack_uint64(&pk, 1);
        msgpack_pack_true(&pk);
    }
    uint8_t *buf = (uint8_t *)zmalloc(elem_len + 1);
    memset(buf, 'a', elem_len);
    msgpack_pack_array(&pk, n);
    for (size_t i = 0; i < n; i++) {
        if (snap) {
            msgpack_pack_bin_with_body(&pk, buf, elem_len);
            continue;
        }
        msgpack_pack_array(&pk, 5);
        msgpack_pack_int64(&pk, 0);
        msgpack_pack_str_with_body(&pk, "w", 1);
        msgpack_pack_str_with_body(&pk, "a", 1);
        msgpack_pack_str_with_body(&pk, buf, elem_len);
        msgpack_pack_str_with_body(&pk, "ok", 2);
    }
    free(buf);
    zmsg_t *msg = s_frame(&sbuf);
    msgpack_sbuffer_destroy(&sbuf);
    return msg;
}

static void s_test_limits(void)
{
    /* Snapshot items: count, size of one, total size of all (the broker pages instead). */
    fc_msg_t *m = fc_msg_new(FC_MSG_CONFIG_SNAPSHOT);
    s_add_items(m, FC_MAX_SNAPSHOT + 1, 1);
    FC_CHECK(fc_msg_encode(m) == NULL);
    m->nitems = FC_MAX_SNAPSHOT; /* at the limit is fine; destroy still frees the extra one */
    zmsg_t *msg = fc_msg_encode(m);
    m->nitems = FC_MAX_SNAPSHOT + 1;
    fc_msg_destroy(&m);
    m = fc_msg_accept(msg);
    FC_CHECK(m->nitems == FC_MAX_SNAPSHOT &&
             m->items[FC_MAX_SNAPSHOT - 1].data[0] == (uint8_t)((FC_MAX_SNAPSHOT - 1) * 31) &&
             m->items[FC_MAX_SNAPSHOT - 1].len == 1);
    fc_msg_destroy(&m);

    m = fc_msg_new(FC_MSG_CONFIG_SNAPSHOT);
    s_add_items(m, 1, FC_MAX_REVISION + 1);
    FC_CHECK(fc_msg_encode(m) == NULL);
    m->items[0].len = FC_MAX_REVISION;
    msg = fc_msg_encode(m);
    FC_CHECK(msg);
    zmsg_destroy(&msg);
    free(m->items[0].data); /* an item claiming bytes it lacks */
    m->items[0].data = NULL;
    FC_CHECK(fc_msg_encode(m) == NULL);
    m->items[0].len = 0;
    msg = fc_msg_encode(m);
    fc_msg_destroy(&m);
    m = fc_msg_accept(msg);
    FC_CHECK(m->nitems == 1 && m->items[0].len == 0);
    fc_msg_destroy(&m);

    size_t fit = FC_MAX_FRAME / FC_MAX_REVISION - 1; /* 15 full revisions fit in a frame */
    m = fc_msg_new(FC_MSG_CONFIG_SNAPSHOT);
    s_add_items(m, fit + 2, FC_MAX_REVISION);
    int64_t start = zclock_mono();
    FC_CHECK(fc_msg_encode(m) == NULL); /* 17 MiB of items */
    m->nitems = fit + 1;
    FC_CHECK(fc_msg_encode(m) == NULL); /* 16 MiB of items plus the header */
    FC_CHECK(zclock_mono() - start < 2000);
    m->nitems = fit;
    msg = fc_msg_encode(m);
    m->nitems = fit + 2;
    fc_msg_destroy(&m);
    FC_CHECK(msg && zframe_size(zmsg_first(msg)) <= FC_MAX_FRAME);
    m = fc_msg_accept(msg);
    FC_CHECK(m->nitems == fit && m->items[fit - 1].len == FC_MAX_REVISION);
    fc_msg_destroy(&m);

    fc_msg_reject(s_list_frame(FC_MSG_CONFIG_SNAPSHOT, FC_MAX_SNAPSHOT + 1, 1), FC_ETOOBIG);
    fc_msg_reject(s_list_frame(FC_MSG_CONFIG_SNAPSHOT, 1, FC_MAX_REVISION + 1), FC_ETOOBIG);
    m = fc_msg_accept(s_list_frame(FC_MSG_CONFIG_SNAPSHOT, 2, FC_MAX_REVISION));
    FC_CHECK(m->nitems == 2 && m->items[1].len == FC_MAX_REVISION);
    fc_msg_destroy(&m);

    /* Audit entries: count and text lengths. */
    m = fc_msg_new(FC_MSG_AUDIT_REPLY);
    s_add_audit(m, FC_MAX_LIST + 1);
    FC_CHECK(fc_msg_encode(m) == NULL);
    m->naudit = FC_MAX_LIST;
    msg = fc_msg_encode(m);
    fc_msg_destroy(&m);
    m = fc_msg_accept(msg);
    FC_CHECK(m->naudit == FC_MAX_LIST && !strcmp(m->audit[1].action, "config.set"));
    fc_msg_destroy(&m);
    m = s_sample(FC_MSG_AUDIT_REPLY);
    memset(m->audit[2].who, 'w', sizeof m->audit[2].who); /* not terminated in its buffer */
    FC_CHECK(fc_msg_encode(m) == NULL);
    fc_msg_destroy(&m);
    fc_msg_reject(s_list_frame(FC_MSG_AUDIT_REPLY, FC_MAX_LIST + 1, 1), FC_ETOOBIG);
    fc_msg_reject(s_list_frame(FC_MSG_AUDIT_REPLY, 1, FC_MAX_TEXT + 1), FC_ETOOBIG);
    m = fc_msg_accept(s_list_frame(FC_MSG_AUDIT_REPLY, 1, FC_MAX_TEXT));
    FC_CHECK(strlen(m->audit[0].detail) == FC_MAX_TEXT);
    fc_msg_destroy(&m);

    /* A pushed revision is bounded by FC_MAX_REVISION, not the manifest limit. */
    uint8_t *big = (uint8_t *)zmalloc(FC_MAX_REVISION + 1);
    m = fc_msg_new(FC_MSG_CONFIG_PUSH);
    fc_msg_set_bytes(m, big, FC_MAX_REVISION + 1);
    FC_CHECK(fc_msg_encode(m) == NULL);
    fc_msg_set_bytes(m, big, FC_MAX_REVISION);
    msg = fc_msg_encode(m);
    fc_msg_destroy(&m);
    m = fc_msg_accept(msg);
    FC_CHECK(m->bytes_len == FC_MAX_REVISION);
    fc_msg_destroy(&m);
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 4);
    msgpack_pack_uint64(&pk, FC_PROTO_VERSION);
    msgpack_pack_uint64(&pk, FC_MSG_CONFIG_PUSH);
    msgpack_pack_uint64(&pk, 1);
    msgpack_pack_bin_with_body(&pk, big, FC_MAX_REVISION + 1);
    fc_msg_reject(s_frame(&sbuf), FC_ETOOBIG);
    msgpack_sbuffer_destroy(&sbuf);
    free(big);
}

/* CONFIG_ANNOUNCE's optional trailing revision: left off when empty (the exact bytes older
   agents decode), carried and decoded when set, bounded, and a bin or nothing at all. */
static void s_test_announce_bytes(void)
{
    fc_msg_t *m = fc_msg_new(FC_MSG_CONFIG_ANNOUNCE);
    m->epoch = 1;
    m->seq = 2;
    m->serial = 3;
    fc_msg_set_str(m->text, sizeof m->text, "global");
    zmsg_t *msg = fc_msg_encode(m);
    const uint8_t plain[] = {0x97, FC_PROTO_VERSION, 31, 0, 1, 2, 3, 0xa6, 'g', 'l', 'o', 'b', 'a',
                             'l'};
    FC_CHECK(msg && zframe_size(zmsg_first(msg)) == sizeof plain);
    FC_CHECK(!memcmp(zframe_data(zmsg_first(msg)), plain, sizeof plain));
    fc_msg_t *got = fc_msg_accept(msg);
    FC_CHECK(got->bytes_len == 0 && !got->bytes && got->serial == 3 &&
             !strcmp(got->text, "global"));
    fc_msg_destroy(&got);

    fc_msg_set_bytes(m, "rev!", 4);
    msg = fc_msg_encode(m);
    const uint8_t carried[] = {0x98, FC_PROTO_VERSION,
                               31,   0,
                               1,    2,
                               3,    0xa6,
                               'g',  'l',
                               'o',  'b',
                               'a',  'l',
                               0xc4, 4,
                               'r',  'e',
                               'v',  '!'};
    FC_CHECK(msg && zframe_size(zmsg_first(msg)) == sizeof carried);
    FC_CHECK(!memcmp(zframe_data(zmsg_first(msg)), carried, sizeof carried));
    got = fc_msg_accept(msg);
    FC_CHECK(got->bytes_len == 4 && !memcmp(got->bytes, "rev!", 4) && got->seq == 2 &&
             got->serial == 3 && got->epoch == 1 && !strcmp(got->text, "global"));
    fc_msg_destroy(&got);

    /* Through PUB/SUB too: the topic still says the scope. */
    zsock_t *pub = zsock_new(ZMQ_PUB), *sub = zsock_new(ZMQ_SUB);
    int port = zsock_bind(pub, "tcp://127.0.0.1:*");
    FC_CHECK(port > 0 && zsock_connect(sub, "tcp://127.0.0.1:%d", port) == 0);
    zsock_set_subscribe(sub, FC_TOPIC_CONFIG);
    zsock_set_rcvtimeo(sub, 100);
    got = NULL;
    for (int i = 0; i < 50 && !got; i++) { /* slow joiner: publish until one arrives */
        fc_msg_t *copy = fc_msg_new(FC_MSG_CONFIG_ANNOUNCE);
        copy->seq = 2;
        copy->serial = 3;
        fc_msg_set_str(copy->text, sizeof copy->text, "global");
        fc_msg_set_bytes(copy, "rev!", 4);
        FC_CHECK(fc_msg_publish(&copy, zsock_resolve(pub)) == 0);
        int err = 0;
        got = fc_msg_recv_announce(zsock_resolve(sub), &err);
    }
    FC_CHECK(got && got->bytes_len == 4 && !memcmp(got->bytes, "rev!", 4));
    fc_msg_destroy(&got);
    zsock_destroy(&sub);
    zsock_destroy(&pub);

    /* An explicit empty bin is accepted as nothing carried. */
    msg = zmsg_new();
    zmsg_addmem(msg, "\x98\x02\x1f\x00\x01\x02\x03\xa0\xc4\x00", 10);
    got = fc_msg_accept(msg);
    FC_CHECK(got->bytes_len == 0 && got->serial == 3);
    fc_msg_destroy(&got);
    msg = zmsg_new(); /* it must be a bin */
    zmsg_addmem(msg, "\x98\x02\x1f\x00\x01\x02\x03\xa0\x01", 9);
    fc_msg_reject(msg, FC_EPROTO);
    msg = zmsg_new(); /* and nothing after it */
    zmsg_addmem(msg, "\x99\x02\x1f\x00\x01\x02\x03\xa0\xc4\x00\xc3", 11);
    fc_msg_reject(msg, FC_EPROTO);
    msg = zmsg_new(); /* the scope is not optional */
    zmsg_addmem(msg, "\x96\x02\x1f\x00\x01\x02\x03", 7);
    fc_msg_reject(msg, FC_EPROTO);

    /* Bounded like CONFIG_PUSH's revision. */
    uint8_t *big = (uint8_t *)calloc(1, FC_MAX_REVISION + 1);
    fc_msg_set_bytes(m, big, FC_MAX_REVISION + 1);
    FC_CHECK(fc_msg_encode(m) == NULL);
    fc_msg_set_bytes(m, big, FC_MAX_REVISION);
    msg = fc_msg_encode(m);
    got = fc_msg_accept(msg);
    FC_CHECK(got->bytes_len == FC_MAX_REVISION);
    fc_msg_destroy(&got);
    free(big);
    fc_msg_destroy(&m);
}

/* OK's flag (a RESTART_SLOT grant) travels only when set, so every other OK keeps the
   four-element layout older peers decode. */
static void s_test_ok_flag(void)
{
    fc_msg_t *m = fc_msg_new(FC_MSG_OK);
    m->req = 5;
    m->serial = 6;
    zmsg_t *msg = fc_msg_encode(m);
    const uint8_t plain[] = {0x94, FC_PROTO_VERSION, FC_MSG_OK, 5, 6};
    FC_CHECK(msg && zframe_size(zmsg_first(msg)) == sizeof plain);
    FC_CHECK(!memcmp(zframe_data(zmsg_first(msg)), plain, sizeof plain));
    fc_msg_t *got = fc_msg_accept(msg);
    FC_CHECK(!got->flag && got->serial == 6);
    fc_msg_destroy(&got);

    m->flag = true;
    msg = fc_msg_encode(m);
    fc_msg_destroy(&m);
    const uint8_t granted[] = {0x95, FC_PROTO_VERSION, FC_MSG_OK, 5, 6, 0xc3};
    FC_CHECK(msg && zframe_size(zmsg_first(msg)) == sizeof granted);
    FC_CHECK(!memcmp(zframe_data(zmsg_first(msg)), granted, sizeof granted));
    got = fc_msg_accept(msg);
    FC_CHECK(got->flag && got->serial == 6);
    fc_msg_destroy(&got);

    msg = zmsg_new(); /* an explicit false is accepted too */
    zmsg_addmem(msg, "\x95\x02\x12\x05\x06\xc2", 6);
    got = fc_msg_accept(msg);
    FC_CHECK(!got->flag);
    fc_msg_destroy(&got);
    msg = zmsg_new(); /* the flag must be a bool */
    zmsg_addmem(msg, "\x95\x02\x12\x05\x06\x01", 6);
    fc_msg_reject(msg, FC_EPROTO);
    msg = zmsg_new(); /* and nothing after it */
    zmsg_addmem(msg, "\x96\x02\x12\x05\x06\xc3\xc3", 7);
    fc_msg_reject(msg, FC_EPROTO);
    msg = zmsg_new(); /* the serial is not optional */
    zmsg_addmem(msg, "\x93\x02\x12\x05", 4);
    fc_msg_reject(msg, FC_EPROTO);
}

/* CONFIG_ANNOUNCE on PUB/SUB: topic "C/<scope>", matched against the body. */
static void s_test_announce(void)
{
    zsock_t *pub = zsock_new(ZMQ_PUB);
    zsock_t *sub = zsock_new(ZMQ_SUB);
    int port = zsock_bind(pub, "tcp://127.0.0.1:*");
    FC_CHECK(port > 0);
    zsock_set_subscribe(sub, FC_TOPIC_CONFIG);
    FC_CHECK(zsock_connect(sub, "tcp://127.0.0.1:%d", port) == 0);

    /* The subscription takes a moment to reach the publisher: announce until one arrives. */
    zsock_set_rcvtimeo(sub, 20);
    fc_msg_t *m = NULL;
    int err = -1;
    for (int tries = 0; tries < 250 && !m; tries++) {
        fc_msg_t *a = s_sample(FC_MSG_CONFIG_ANNOUNCE);
        FC_CHECK(fc_msg_publish(&a, pub) == 0 && a == NULL);
        m = fc_msg_recv_announce(sub, &err);
    }
    FC_CHECK(m && err == FC_OK);
    fc_msg_t *want = s_sample(FC_MSG_CONFIG_ANNOUNCE);
    FC_CHECK(fc_msg_equal(m, want));
    fc_msg_destroy(&m);
    zsock_set_rcvtimeo(sub, 200);
    while ((m = fc_msg_recv_announce(sub, &err))) /* drain the ones still in flight */
        fc_msg_destroy(&m);
    zsock_set_rcvtimeo(sub, 5000);

    /* The topic on the wire is exactly "C/" + scope. */
    zsock_t *raw_sub = zsock_new(ZMQ_SUB);
    zsock_set_subscribe(raw_sub, "C/group:web");
    zsock_set_rcvtimeo(raw_sub, 20);
    FC_CHECK(zsock_connect(raw_sub, "tcp://127.0.0.1:%d", port) == 0);
    zmsg_t *got = NULL;
    for (int tries = 0; tries < 250 && !got; tries++) {
        m = s_sample(FC_MSG_CONFIG_ANNOUNCE);
        FC_CHECK(fc_msg_publish(&m, pub) == 0);
        got = zmsg_recv(raw_sub);
    }
    FC_CHECK(got && zmsg_size(got) == 2 && zframe_streq(zmsg_first(got), "C/group:web"));
    zmsg_destroy(&got);
    zsock_destroy(&raw_sub);
    zsock_set_rcvtimeo(sub, 200);
    while ((m = fc_msg_recv_announce(sub, &err)))
        fc_msg_destroy(&m);
    zsock_set_rcvtimeo(sub, 5000);

    /* A topic that lies about the body's scope is refused; the next announcement works. */
    const char *lies[] = {"C/global", "C/", "R/group:web", "C/group:webx"};
    for (size_t i = 0; i < sizeof lies / sizeof lies[0]; i++) {
        zmsg_t *raw = fc_msg_encode(want);
        zmsg_pushstr(raw, lies[i]);
        zmsg_send(&raw, pub);
        if (lies[i][0] != 'C')
            continue; /* not subscribed: never arrives */
        m = fc_msg_recv_announce(sub, &err);
        FC_CHECK(!m && err == FC_EPROTO);
    }
    m = fc_msg_new(FC_MSG_CONFIG_ANNOUNCE); /* scope "" publishes on "C/" exactly */
    m->seq = 1;
    FC_CHECK(fc_msg_publish(&m, pub) == 0);
    m = fc_msg_recv_announce(sub, &err);
    FC_CHECK(m && err == FC_OK && m->type == FC_MSG_CONFIG_ANNOUNCE && m->seq == 1);
    fc_msg_destroy(&m);
    m = s_sample(FC_MSG_CONFIG_ANNOUNCE);
    FC_CHECK(fc_msg_publish(&m, pub) == 0);
    m = fc_msg_recv_announce(sub, &err);
    FC_CHECK(m && fc_msg_equal(m, want));
    fc_msg_destroy(&m);
    fc_msg_destroy(&want);

    /* Only announcements are published: not a config request. */
    m = s_sample(FC_MSG_CONFIG_ACK);
    FC_CHECK(fc_msg_publish(&m, pub) == -1 && m == NULL);
    zsock_destroy(&sub);
    zsock_destroy(&pub);
}

/* CONFIG_SNAPSHOT's optional halted list: left off when empty, 8 bytes a number, ascending. */
static void s_test_halted(void)
{
    fc_msg_t *m = fc_msg_new(FC_MSG_CONFIG_SNAPSHOT);
    uint64_t revs[4];
    size_t n = 9;
    FC_CHECK(fc_msg_halted(m, revs, 4, &n) == FC_OK && n == 0);
    zmsg_t *msg = fc_msg_encode(m);
    size_t plain = zframe_size(zmsg_first(msg));
    zmsg_destroy(&msg);
    fc_msg_set_halted(m, (const uint64_t[]){5, 7, 1ull << 40}, 3);
    msg = fc_msg_encode(m);
    FC_CHECK(zframe_size(zmsg_first(msg)) > plain);
    fc_msg_destroy(&m);
    m = fc_msg_accept(msg);
    FC_CHECK(m && fc_msg_halted(m, revs, 4, &n) == FC_OK && n == 3);
    FC_CHECK(revs[0] == 5 && revs[1] == 7 && revs[2] == 1ull << 40);
    FC_CHECK(fc_msg_halted(m, revs, 2, &n) == FC_OK && n == 2); /* at most max */
    fc_msg_set_bytes(m, "1234567", 7);                          /* not a multiple of 8 */
    FC_CHECK(fc_msg_halted(m, revs, 4, &n) == FC_EPROTO && n == 0);
    fc_msg_set_halted(m, (const uint64_t[]){7, 5}, 2); /* not ascending */
    FC_CHECK(fc_msg_halted(m, revs, 4, &n) == FC_EPROTO && n == 0);
    fc_msg_set_halted(m, (const uint64_t[]){0}, 1); /* no revision 0 */
    FC_CHECK(fc_msg_halted(m, revs, 4, &n) == FC_EPROTO);
    fc_msg_destroy(&m);
}

void fc_msg_config_test(bool verbose)
{
    for (size_t t = 0; t < S_NTYPES; t++)
        FC_CHECK(strcmp(fc_msg_type_name(s_config_types[t]), "?") != 0);
    FC_CHECK(!strcmp(fc_msg_type_name(FC_MSG_CONFIG_ANNOUNCE), "CONFIG_ANNOUNCE"));
    s_test_round_trips();
    s_test_wire_layout();
    s_test_malformed();
    s_test_ack_states();
    s_test_limits();
    s_test_ok_flag();
    s_test_announce_bytes();
    s_test_announce();
    s_test_halted();
    if (verbose)
        printf("   config messages: ok\n");
}
