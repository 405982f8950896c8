/* fc_msg_relay_up_test.c: the relay forwarding messages' part of fc_msg_test: RELAY_REPORTS,
   RELAY_SLOT and agent-status' optional via, hand-packed and hostile. */
#include "fc_error.h"
#include "fc_msg.h"
#include "fc_msg_sample.h"
#include "fc_test_check.h"

#include <msgpack.h>
#include <string.h>

typedef struct {
    msgpack_sbuffer sbuf;
    msgpack_packer pk;
} s_raw_t;

static msgpack_packer *s_raw(s_raw_t *r, size_t n, uint64_t type)
{
    msgpack_sbuffer_init(&r->sbuf);
    msgpack_packer_init(&r->pk, &r->sbuf, msgpack_sbuffer_write);
    msgpack_pack_array(&r->pk, n);
    msgpack_pack_uint64(&r->pk, FC_PROTO_VERSION);
    msgpack_pack_uint64(&r->pk, type);
    msgpack_pack_uint64(&r->pk, 7);
    return &r->pk;
}

static zmsg_t *s_raw_end(s_raw_t *r)
{
    zmsg_t *msg = zmsg_new();
    zmsg_addmem(msg, r->sbuf.data, r->sbuf.size);
    msgpack_sbuffer_destroy(&r->sbuf);
    return msg;
}

static void s_pstr(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str_with_body(pk, s, strlen(s));
}

/* A STATUS_REPLY listing one agent whose entry has n elements: the 8 of agent-status, then
   via ("site1") as the 9th, then further strings. */
static zmsg_t *s_status_with(size_t n)
{
    s_raw_t r;
    msgpack_packer *pk = s_raw(&r, 4, FC_MSG_STATUS_REPLY);
    msgpack_pack_array(pk, 1);
    msgpack_pack_array(pk, n);
    const char *strs[] = {"a1", "stable", "1", "installed", "fine"};
    for (size_t i = 0; i < n && i < 5; i++)
        s_pstr(pk, strs[i]);
    if (n > 5)
        msgpack_pack_uint64(pk, 1);
    if (n > 6)
        msgpack_pack_uint64(pk, 2);
    if (n > 7)
        msgpack_pack_int64(pk, -3);
    for (size_t i = 8; i < n; i++)
        s_pstr(pk, "site1");
    return s_raw_end(&r);
}

static void s_test_via(void)
{
    /* Without via: the entry of before (8 elements), byte for byte. */
    fc_msg_t *m = fc_msg_new(FC_MSG_STATUS_REPLY);
    m->req = 7;
    m->agents = zmalloc(sizeof *m->agents);
    m->nagents = 1;
    fc_agent_status_t *a = &m->agents[0];
    fc_msg_set_str(a->id, sizeof a->id, "a1");
    fc_msg_set_str(a->channel, sizeof a->channel, "stable");
    fc_msg_set_str(a->version, sizeof a->version, "1");
    fc_msg_set_str(a->state, sizeof a->state, "installed");
    fc_msg_set_str(a->message, sizeof a->message, "fine");
    a->done = 1, a->total = 2, a->last_seen = -3;
    zmsg_t *got = fc_msg_encode(m);
    zmsg_t *want = s_status_with(8);
    FC_CHECK(got && zframe_eq(zmsg_first(got), zmsg_first(want)));
    zmsg_destroy(&got);
    fc_msg_t *back = fc_msg_accept(want);
    FC_CHECK(back->nagents == 1 && streq(back->agents[0].via, "") &&
             back->agents[0].last_seen == -3);
    fc_msg_destroy(&back);
    /* With via: a 9th element, read back. */
    fc_msg_set_str(a->via, sizeof a->via, "site1");
    got = fc_msg_encode(m);
    want = s_status_with(9);
    FC_CHECK(got && zframe_eq(zmsg_first(got), zmsg_first(want)));
    zmsg_destroy(&want);
    back = fc_msg_accept(got);
    FC_CHECK(streq(back->agents[0].via, "site1"));
    fc_msg_destroy(&back);
    fc_msg_destroy(&m);
    /* Fewer than 8, or more than 9: malformed. */
    fc_msg_reject(s_status_with(7), FC_EPROTO);
    fc_msg_reject(s_status_with(10), FC_EPROTO);
    /* A via that is not a string, or longer than a name. */
    s_raw_t r;
    msgpack_packer *pk = s_raw(&r, 4, FC_MSG_STATUS_REPLY);
    msgpack_pack_array(pk, 1);
    msgpack_pack_array(pk, 9);
    const char *strs[] = {"a1", "stable", "1", "installed", "fine"};
    for (size_t i = 0; i < 5; i++)
        s_pstr(pk, strs[i]);
    msgpack_pack_uint64(pk, 1);
    msgpack_pack_uint64(pk, 2);
    msgpack_pack_int64(pk, -3);
    msgpack_pack_uint64(pk, 4);
    fc_msg_reject(s_raw_end(&r), FC_EPROTO);
    char longname[FC_MAX_NAME + 2];
    memset(longname, 'v', FC_MAX_NAME + 1);
    longname[FC_MAX_NAME + 1] = '\0';
    m = fc_msg_sample(FC_MSG_STATUS_REPLY);
    memcpy(m->agents[1].via, longname, sizeof m->agents[1].via);
    FC_CHECK(fc_msg_encode(m) == NULL); /* not terminated in its buffer: over the limit */
    fc_msg_destroy(&m);
    int err = FC_OK;
    pk = s_raw(&r, 4, FC_MSG_STATUS_REPLY);
    msgpack_pack_array(pk, 1);
    msgpack_pack_array(pk, 9);
    for (size_t i = 0; i < 5; i++)
        s_pstr(pk, strs[i]);
    msgpack_pack_uint64(pk, 1);
    msgpack_pack_uint64(pk, 2);
    msgpack_pack_int64(pk, -3);
    s_pstr(pk, longname);
    zmsg_t *msg = s_raw_end(&r);
    FC_CHECK(fc_msg_decode(&msg, &err) == NULL && err != FC_OK);
}

static void s_test_relay_reports(void)
{
    /* The sample's items are a REPORT and a CONFIG_ACK, each decodable on its own. */
    fc_msg_t *sample = fc_msg_sample(FC_MSG_RELAY_REPORTS);
    fc_msg_t *m = fc_msg_accept(fc_msg_encode(sample));
    fc_msg_destroy(&sample);
    FC_CHECK(m->nitems == 2 && streq(m->text, "site1"));
    for (size_t i = 0; i < m->nitems; i++) {
        zmsg_t *msg = zmsg_new();
        zmsg_addmem(msg, m->items[i].data, m->items[i].len);
        fc_msg_t *item = fc_msg_accept(msg);
        FC_CHECK(item->type == (i ? FC_MSG_CONFIG_ACK : FC_MSG_REPORT));
        fc_msg_destroy(&item);
    }
    fc_msg_destroy(&m);
    /* More than FC_MAX_LIST items; an item that is not a bin; no items field. */
    s_raw_t r;
    msgpack_packer *pk = s_raw(&r, 5, FC_MSG_RELAY_REPORTS);
    s_pstr(pk, "site1");
    msgpack_pack_array(pk, FC_MAX_LIST + 1);
    for (size_t i = 0; i < FC_MAX_LIST + 1; i++)
        msgpack_pack_bin_with_body(pk, "x", 1);
    zmsg_t *msg = s_raw_end(&r);
    int err = FC_OK;
    FC_CHECK(fc_msg_decode(&msg, &err) == NULL && err != FC_OK);
    pk = s_raw(&r, 5, FC_MSG_RELAY_REPORTS);
    s_pstr(pk, "site1");
    msgpack_pack_array(pk, 1);
    s_pstr(pk, "not a bin");
    fc_msg_reject(s_raw_end(&r), FC_EPROTO);
    pk = s_raw(&r, 4, FC_MSG_RELAY_REPORTS);
    s_pstr(pk, "site1");
    fc_msg_reject(s_raw_end(&r), FC_EPROTO);
    /* RELAY_SLOT: all four fields; a negative revision or a missing via is malformed. */
    sample = fc_msg_sample(FC_MSG_RELAY_SLOT);
    m = fc_msg_accept(fc_msg_encode(sample));
    fc_msg_destroy(&sample);
    FC_CHECK(streq(m->id, "a1") && streq(m->group, "wave") && m->serial == 9 &&
             streq(m->text, "site1"));
    fc_msg_destroy(&m);
    pk = s_raw(&r, 7, FC_MSG_RELAY_SLOT);
    s_pstr(pk, "a1");
    s_pstr(pk, "wave");
    msgpack_pack_int64(pk, -1);
    s_pstr(pk, "site1");
    fc_msg_reject(s_raw_end(&r), FC_EPROTO);
    pk = s_raw(&r, 6, FC_MSG_RELAY_SLOT);
    s_pstr(pk, "a1");
    s_pstr(pk, "wave");
    msgpack_pack_uint64(pk, 9);
    fc_msg_reject(s_raw_end(&r), FC_EPROTO);
    FC_CHECK(streq(fc_msg_type_name(FC_MSG_RELAY_REPORTS), "RELAY_REPORTS") &&
             streq(fc_msg_type_name(FC_MSG_RELAY_SLOT), "RELAY_SLOT"));
}

void fc_msg_relay_up_test(bool verbose)
{
    (void)verbose;
    s_test_via();
    s_test_relay_reports();
}
