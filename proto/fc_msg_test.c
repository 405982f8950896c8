/* fc_msg_test.c: self-test of the message codec: round trips, wire layout, hostile input, sockets.
 */

#include "fc_error.h"
#include "fc_msg.h"
#include "fc_msg_sample.h"
#include "fc_state.h"
#include "fc_test_check.h"

#include <msgpack.h>
#include <stdio.h>
#include <string.h>

/* Hand-packed frames, to test the wire layout independently of the encoder. */
typedef struct {
    msgpack_sbuffer sbuf;
    msgpack_packer pk;
} s_raw_t;

static msgpack_packer *s_raw(s_raw_t *r, size_t n, uint64_t version, uint64_t type, uint64_t req)
{
    msgpack_sbuffer_init(&r->sbuf);
    msgpack_packer_init(&r->pk, &r->sbuf, msgpack_sbuffer_write);
    msgpack_pack_array(&r->pk, n);
    msgpack_pack_uint64(&r->pk, version);
    msgpack_pack_uint64(&r->pk, type);
    msgpack_pack_uint64(&r->pk, req);
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

static void s_pbin(msgpack_packer *pk, size_t n, uint8_t fill)
{
    uint8_t buf[64];
    FC_CHECK(n <= sizeof buf);
    memset(buf, fill, n);
    msgpack_pack_bin_with_body(pk, buf, n);
}

/* A SYNC whose channel is a string of len bytes. */
static zmsg_t *s_sync_with(size_t len)
{
    char s[FC_MAX_ENDPOINT + 2];
    FC_CHECK(len < sizeof s);
    memset(s, 'c', len);
    s[len] = '\0';
    s_raw_t r;
    s_pstr(s_raw(&r, 4, FC_PROTO_VERSION, FC_MSG_SYNC, 1), s);
    return s_raw_end(&r);
}

/* A REPORT: one agent-status with this state, then a blob field of bloblen bytes of fill
   (bloblen SIZE_MAX: left off, the layout before the field existed). */
static zmsg_t *s_report_with(const char *state, size_t bloblen, uint8_t fill)
{
    s_raw_t r;
    msgpack_packer *pk = s_raw(&r, bloblen == SIZE_MAX ? 4 : 5, FC_PROTO_VERSION, FC_MSG_REPORT, 5);
    msgpack_pack_array(pk, 1);
    msgpack_pack_array(pk, 8);
    s_pstr(pk, "id");
    s_pstr(pk, "ch");
    s_pstr(pk, "ver");
    s_pstr(pk, state);
    s_pstr(pk, "msg");
    msgpack_pack_uint64(pk, 1);
    msgpack_pack_uint64(pk, 2);
    msgpack_pack_int64(pk, -3);
    if (bloblen != SIZE_MAX)
        s_pbin(pk, bloblen, fill);
    return s_raw_end(&r);
}

/* A HELLO naming this role, id "id", channel "ch". */
static zmsg_t *s_hello_with(const char *role)
{
    s_raw_t r;
    msgpack_packer *pk = s_raw(&r, 6, FC_PROTO_VERSION, FC_MSG_HELLO, 6);
    s_pstr(pk, role);
    s_pstr(pk, "id");
    s_pstr(pk, "ch");
    return s_raw_end(&r);
}

/* Hand-packed messages in the exact order of docs/PROTOCOL.md section 3. */
static void s_test_wire_layout(void)
{
    s_raw_t r;
    msgpack_packer *pk = s_raw(&r, 7, FC_PROTO_VERSION, FC_MSG_WELCOME, 3);
    msgpack_pack_uint64(pk, 11);
    msgpack_pack_uint64(pk, 12);
    s_pstr(pk, "tcp://h:7401");
    msgpack_pack_uint64(pk, 1000);
    fc_msg_t *m = fc_msg_accept(s_raw_end(&r));
    FC_CHECK(m->type == FC_MSG_WELCOME && m->req == 3 && m->epoch == 11 && m->seq == 12);
    FC_CHECK(!strcmp(m->endpoint, "tcp://h:7401") && m->heartbeat_ms == 1000);
    fc_msg_destroy(&m);

    pk = s_raw(&r, 6, FC_PROTO_VERSION, FC_MSG_UPLOAD_STATE, 4);
    s_pbin(pk, 32, 0xab);
    msgpack_pack_true(pk);
    msgpack_pack_array(pk, 2);
    msgpack_pack_array(pk, 2);
    msgpack_pack_uint64(pk, 0);
    msgpack_pack_uint64(pk, 10);
    msgpack_pack_array(pk, 2);
    msgpack_pack_uint64(pk, 20);
    msgpack_pack_uint64(pk, 5);
    m = fc_msg_accept(s_raw_end(&r));
    FC_CHECK(m->blob[31] == 0xab && m->flag && m->nranges == 2);
    FC_CHECK(m->ranges[1].offset == 20 && m->ranges[1].length == 5);
    fc_msg_destroy(&m);

    m = fc_msg_accept(s_report_with("failed", 32, 0xcd));
    fc_agent_status_t *a = &m->agents[0];
    FC_CHECK(m->nagents == 1 && !strcmp(a->id, "id") && !strcmp(a->channel, "ch"));
    FC_CHECK(!strcmp(a->version, "ver") && !strcmp(a->state, "failed"));
    FC_CHECK(!strcmp(a->message, "msg") && a->done == 1 && a->total == 2 && a->last_seen == -3);
    FC_CHECK(m->blob[0] == 0xcd && m->blob[31] == 0xcd);
    fc_msg_destroy(&m);
    /* An empty blob field: no blob named. */
    m = fc_msg_accept(s_report_with("up-to-date", 0, 0));
    uint8_t none[FC_HASH_LEN] = {0};
    FC_CHECK(!strcmp(m->agents[0].state, "up-to-date") && !memcmp(m->blob, none, FC_HASH_LEN));
    fc_msg_destroy(&m);

    pk = s_raw(&r, 4, FC_PROTO_VERSION, FC_MSG_LIST_REPLY, 6);
    msgpack_pack_array(pk, 1);
    msgpack_pack_array(pk, 7);
    s_pstr(pk, "ch");
    s_pstr(pk, "1.0");
    msgpack_pack_uint64(pk, 9);
    msgpack_pack_uint64(pk, 10);
    msgpack_pack_uint64(pk, 11);
    msgpack_pack_int64(pk, 12);
    msgpack_pack_false(pk);
    m = fc_msg_accept(s_raw_end(&r));
    fc_release_info_t *rel = &m->releases[0];
    FC_CHECK(m->nreleases == 1 && !strcmp(rel->channel, "ch") && !strcmp(rel->version, "1.0"));
    FC_CHECK(rel->serial == 9 && rel->size == 10 && rel->files == 11 && rel->created == 12);
    FC_CHECK(!rel->mandatory);
    fc_msg_destroy(&m);

    pk = s_raw(&r, 6, FC_PROTO_VERSION, FC_MSG_PUT_CHUNK, 7);
    s_pbin(pk, 32, 1);
    msgpack_pack_uint64(pk, FC_CHUNK_SIZE);
    s_pbin(pk, 32, 2);
    zmsg_t *msg = s_raw_end(&r);
    zmsg_addstr(msg, "data");
    m = fc_msg_accept(msg);
    FC_CHECK(m->blob[0] == 1 && m->offset == FC_CHUNK_SIZE && m->hash[0] == 2);
    FC_CHECK(m->data && zframe_streq(m->data, "data"));
    fc_msg_destroy(&m);

    pk = s_raw(&r, 8, FC_PROTO_VERSION, FC_MSG_ANNOUNCE, 0);
    msgpack_pack_uint64(pk, 1);
    msgpack_pack_uint64(pk, 2);
    s_pstr(pk, "ch");
    msgpack_pack_uint64(pk, 3);
    s_pstr(pk, "4.0");
    m = fc_msg_accept(s_raw_end(&r));
    FC_CHECK(m->epoch == 1 && m->seq == 2 && !strcmp(m->channel, "ch") && m->serial == 3);
    FC_CHECK(!strcmp(m->version, "4.0"));
    fc_msg_destroy(&m);

    /* And the encoder's exact bytes for a small message. */
    m = fc_msg_new(FC_MSG_HELLO);
    m->req = 5;
    m->role = FC_ROLE_AGENT;
    fc_msg_set_str(m->id, sizeof m->id, "a1");
    fc_msg_set_str(m->channel, sizeof m->channel, "c");
    msg = fc_msg_encode(m);
    fc_msg_destroy(&m);
    const uint8_t want[] = {0x96, 2,   1,    5,   0xa5, 'a',  'g', 'e',
                            'n',  't', 0xa2, 'a', '1',  0xa1, 'c'};
    FC_CHECK(msg && zmsg_size(msg) == 1);
    zframe_t *f = zmsg_first(msg);
    FC_CHECK(zframe_size(f) == sizeof want && !memcmp(zframe_data(f), want, sizeof want));
    zmsg_destroy(&msg);
}

static void s_test_round_trips(void)
{
    for (int t = FC_MSG_HELLO; t < FC_MSG_TYPE_MAX; t++) {
        if (!fc_msg_type_known(t))
            continue;
        fc_msg_t *m = fc_msg_sample((fc_msg_type_t)t);
        zmsg_t *msg = fc_msg_encode(m);
        FC_CHECK(msg);
        bool has_data = t == FC_MSG_CHUNK || t == FC_MSG_PUT_CHUNK;
        FC_CHECK(zmsg_size(msg) == (has_data ? 2u : 1u));
        FC_CHECK(m->data == NULL); /* moved into the zmsg */
        fc_msg_destroy(&m);
        FC_CHECK(m == NULL);
        fc_msg_t *got = fc_msg_accept(msg);
        fc_msg_t *want = fc_msg_sample((fc_msg_type_t)t);
        FC_CHECK(fc_msg_equal(got, want));
        /* And it re-encodes to a message that decodes the same. */
        msg = fc_msg_encode(got);
        fc_msg_destroy(&got);
        got = fc_msg_accept(msg);
        FC_CHECK(fc_msg_equal(got, want));
        fc_msg_destroy(&got);
        fc_msg_destroy(&want);
    }
    fc_msg_t *none = NULL;
    fc_msg_destroy(&none); /* safe on NULL */
}

static void s_test_encode_rejects(void)
{
    fc_msg_t *m = fc_msg_new((fc_msg_type_t)999);
    FC_CHECK(fc_msg_encode(m) == NULL);
    fc_msg_destroy(&m);
    m = fc_msg_new((fc_msg_type_t)0);
    FC_CHECK(fc_msg_encode(m) == NULL);
    fc_msg_destroy(&m);

    /* A HELLO whose role was never set, or is outside fc_role.h's table. */
    const fc_role_t bad_roles[] = {FC_ROLE_NONE, FC_ROLE_END, (fc_role_t)77};
    for (size_t i = 0; i < sizeof bad_roles / sizeof bad_roles[0]; i++) {
        m = fc_msg_sample(FC_MSG_HELLO);
        m->role = bad_roles[i];
        FC_CHECK(fc_msg_encode(m) == NULL);
        fc_msg_destroy(&m);
    }

    m = fc_msg_sample(FC_MSG_SYNC); /* a string not terminated inside its buffer */
    memset(m->channel, 'a', sizeof m->channel);
    FC_CHECK(fc_msg_encode(m) == NULL);
    fc_msg_destroy(&m);

    m = fc_msg_new(FC_MSG_LIST_REPLY);
    fc_msg_sample_releases(m, FC_MAX_LIST + 1);
    FC_CHECK(fc_msg_encode(m) == NULL);
    m->nreleases = FC_MAX_LIST; /* at the limit is fine */
    zmsg_t *msg = fc_msg_encode(m);
    fc_msg_destroy(&m);
    m = fc_msg_accept(msg);
    FC_CHECK(m->nreleases == FC_MAX_LIST);
    fc_msg_destroy(&m);

    m = fc_msg_sample(FC_MSG_REPORT); /* REPORT carries exactly one status */
    m->nagents = 0;
    FC_CHECK(fc_msg_encode(m) == NULL);
    fc_msg_destroy(&m);

    /* REPORT's blob: 32 bytes on the wire when named, an empty bin when all zero. */
    m = fc_msg_sample(FC_MSG_REPORT);
    memset(m->blob, 0x5a, FC_HASH_LEN);
    msg = fc_msg_encode(m);
    fc_msg_destroy(&m);
    m = fc_msg_accept(msg);
    FC_CHECK(m->blob[0] == 0x5a && m->blob[FC_HASH_LEN - 1] == 0x5a);
    memset(m->blob, 0, FC_HASH_LEN);
    msg = fc_msg_encode(m);
    FC_CHECK(zframe_size(zmsg_first(msg)) < 600 + FC_MAX_TEXT); /* no 32 zero bytes sent */
    fc_msg_destroy(&m);
    m = fc_msg_accept(msg);
    uint8_t zero[FC_HASH_LEN] = {0};
    FC_CHECK(!memcmp(m->blob, zero, FC_HASH_LEN));
    fc_msg_destroy(&m);

    m = fc_msg_new(FC_MSG_RELEASE_COMMIT);
    uint8_t *big = (uint8_t *)zmalloc(FC_MAX_MANIFEST + 1);
    fc_msg_set_bytes(m, big, FC_MAX_MANIFEST + 1);
    FC_CHECK(fc_msg_encode(m) == NULL);
    fc_msg_set_bytes(m, big, FC_MAX_MANIFEST);
    msg = fc_msg_encode(m);
    fc_msg_destroy(&m);
    m = fc_msg_accept(msg);
    FC_CHECK(m->bytes_len == FC_MAX_MANIFEST);
    fc_msg_destroy(&m);

    m = fc_msg_sample(FC_MSG_CHUNK); /* payload over the limit; the message keeps its data */
    zframe_destroy(&m->data);
    m->data = zframe_new(big, FC_MAX_CHUNK_REQ + 1);
    FC_CHECK(fc_msg_encode(m) == NULL && m->data);
    free(big);
    fc_msg_destroy(&m);

    /* fc_msg_set_str truncates, and never splits a UTF-8 sequence. */
    char s[FC_MAX_NAME + 1];
    char src[80];
    memset(src, 'a', 63);
    strcpy(src + 63, "\xc3\xa9xyz"); /* 'é' straddles the limit */
    fc_msg_set_str(s, sizeof s, src);
    FC_CHECK(strlen(s) == 63);
    fc_msg_set_str(s, sizeof s, NULL);
    FC_CHECK(s[0] == '\0');
}

/* Rollouts: waves must be rising percentages ending at 100; a status names a state from
   fc_rollout_state.h or none; SYNC's id is optional and bounded. */
/* The paging groups of STATUS, CONFIG_STATUS and their replies (issue 19): present with a
   limit, left off without one (the bytes of old), the paging group never without the one
   before it, and the request's parameters checked. */
static void s_test_paging(void)
{
    fc_msg_t *m = fc_msg_new(FC_MSG_STATUS);
    m->req = 5;
    fc_msg_set_str(m->channel, sizeof m->channel, "c");
    zmsg_t *msg = fc_msg_encode(m);
    fc_msg_destroy(&m);
    const uint8_t old[] = {0x94, FC_PROTO_VERSION, FC_MSG_STATUS, 5, 0xa1, 'c'};
    FC_CHECK(zframe_size(zmsg_first(msg)) == sizeof old &&
             !memcmp(zframe_data(zmsg_first(msg)), old, sizeof old));
    m = fc_msg_accept(msg);
    FC_CHECK(m->limit == 0 && !*m->cursor && !*m->state);
    fc_msg_destroy(&m);
    for (int t = FC_MSG_STATUS; t <= FC_MSG_CONFIG_STATUS;
         t += FC_MSG_CONFIG_STATUS - FC_MSG_STATUS) {
        m = fc_msg_new((fc_msg_type_t)t);
        m->limit = 100;
        fc_msg_set_str(m->cursor, sizeof m->cursor, "web-0042");
        fc_msg_set_str(m->state, sizeof m->state, "failed");
        msg = fc_msg_encode(m);
        fc_msg_destroy(&m);
        m = fc_msg_accept(msg);
        FC_CHECK(m->limit == 100 && !strcmp(m->cursor, "web-0042") && !strcmp(m->state, "failed"));
        fc_msg_destroy(&m);
    }
    /* A paged reply without the offline pair still carries it (zero): groups go from the end. */
    m = fc_msg_sample(FC_MSG_CONFIG_STATUS_REPLY);
    m->offline_ms = m->time_ms = 0;
    m->limit = 2;
    m->more = true;
    msg = fc_msg_encode(m);
    fc_msg_destroy(&m);
    m = fc_msg_accept(msg);
    FC_CHECK(m->limit == 2 && m->more && m->offline_ms == 0);
    fc_msg_destroy(&m);
    s_raw_t r;
    msgpack_packer *pk = s_raw(&r, 6, 1, FC_MSG_STATUS_REPLY, 1);
    msgpack_pack_array(pk, 0);
    msgpack_pack_uint64(pk, 100); /* limit and more without the offline pair */
    msgpack_pack_true(pk);
    fc_msg_reject(s_raw_end(&r), FC_EPROTO);
    pk = s_raw(&r, 6, 1, FC_MSG_STATUS, 1);
    s_pstr(pk, "");
    msgpack_pack_uint64(pk, 100); /* limit and cursor without state */
    s_pstr(pk, "a");
    fc_msg_reject(s_raw_end(&r), FC_EPROTO);
    /* The parameters: a cursor that is no agent id, or paging without a limit, is refused. */
    size_t limit;
    m = fc_msg_new(FC_MSG_STATUS);
    FC_CHECK(!fc_msg_page_check(m, &limit) && limit == FC_MAX_LIST);
    m->limit = FC_MAX_LIST * 2;
    FC_CHECK(!fc_msg_page_check(m, &limit) && limit == FC_MAX_LIST);
    m->limit = 7;
    FC_CHECK(!fc_msg_page_check(m, &limit) && limit == 7);
    fc_msg_set_str(m->cursor, sizeof m->cursor, "../etc");
    FC_CHECK(fc_msg_page_check(m, &limit) != NULL);
    fc_msg_set_str(m->cursor, sizeof m->cursor, "web-1");
    FC_CHECK(!fc_msg_page_check(m, &limit));
    m->limit = 0;
    FC_CHECK(fc_msg_page_check(m, &limit) != NULL);
    fc_msg_destroy(&m);
    /* A summary that had to leave rows out says so (issue 19): its optional group carries
       the rows, groups and agents left out; a summary that holds everything has the bytes
       it always had. And the request's limit (which allows it) is optional too. */
    m = fc_msg_sample(FC_MSG_STATUS_SUMMARY_REPLY);
    msg = fc_msg_encode(m);
    size_t plain = zframe_size(zmsg_first(msg));
    zmsg_destroy(&msg);
    m->left_out = 7;
    m->groups_left_out = 5;
    m->agents_left_out = 12000;
    msg = fc_msg_encode(m);
    FC_CHECK(zframe_size(zmsg_first(msg)) > plain);
    fc_msg_destroy(&m);
    m = fc_msg_accept(msg);
    FC_CHECK(m->left_out == 7 && m->groups_left_out == 5 && m->agents_left_out == 12000);
    fc_msg_destroy(&m);
    /* A newer program's request is told apart from garbage: a type this codec does not
       know, or more fields than it reads; neither a known shape nor another version is. */
    char why[FC_MAX_TEXT + 1];
    pk = s_raw(&r, 5, FC_PROTO_VERSION, FC_MSG_STATUS_SUMMARY, 9);
    s_pstr(pk, "");
    msgpack_pack_uint64(pk, 5);
    msg = s_raw_end(&r);
    FC_CHECK(!fc_msg_peek_newer(zmsg_first(msg), why, sizeof why)); /* channel and limit */
    zmsg_destroy(&msg);
    pk = s_raw(&r, 6, FC_PROTO_VERSION, FC_MSG_STATUS_SUMMARY, 9);
    s_pstr(pk, "");
    msgpack_pack_uint64(pk, 5);
    msgpack_pack_uint64(pk, 6);
    msg = s_raw_end(&r);
    FC_CHECK(fc_msg_peek_newer(zmsg_first(msg), why, sizeof why) &&
             strstr(why, "STATUS_SUMMARY with 3 fields") && strstr(why, "upgrade the broker"));
    zmsg_destroy(&msg);
    pk = s_raw(&r, 3, FC_PROTO_VERSION, FC_MSG_TYPE_MAX, 9);
    msg = s_raw_end(&r);
    FC_CHECK(fc_msg_peek_newer(zmsg_first(msg), why, sizeof why) &&
             strstr(why, "is not one this broker knows"));
    zmsg_destroy(&msg);
    pk = s_raw(&r, 3, FC_PROTO_VERSION - 1, FC_MSG_TYPE_MAX, 9);
    msg = s_raw_end(&r);
    FC_CHECK(!fc_msg_peek_newer(zmsg_first(msg), why, sizeof why)); /* another version */
    zmsg_destroy(&msg);
    m = fc_msg_sample(FC_MSG_STATUS_SUMMARY);
    m->limit = FC_MAX_LIST;
    msg = fc_msg_encode(m);
    fc_msg_destroy(&m);
    m = fc_msg_accept(msg);
    FC_CHECK(m->limit == FC_MAX_LIST && streq(m->channel, "beta"));
    fc_msg_destroy(&m);
}

static void s_test_rollout_fields(void)
{
    static const struct {
        uint32_t waves[FC_MAX_WAVES + 1];
        size_t n;
        bool ok;
    } cases[] = {
        {{100}, 1, true},         {{5, 25, 100}, 3, true}, {{1, 2, 3, 100}, 4, true},
        {{0}, 0, false},          {{50}, 1, false},        {{5, 5, 100}, 3, false},
        {{25, 5, 100}, 3, false}, {{0, 100}, 2, false},    {{5, 101}, 2, false},
        {{100, 100}, 2, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        FC_CHECK(fc_msg_waves_valid(cases[i].waves, cases[i].n) == cases[i].ok);
        fc_msg_t *m = fc_msg_sample(FC_MSG_ROLLOUT_PLAN);
        memcpy(m->waves, cases[i].waves, sizeof m->waves);
        m->nwaves = cases[i].n;
        zmsg_t *msg = fc_msg_encode(m);
        fc_msg_destroy(&m);
        FC_CHECK(msg);
        if (cases[i].ok) {
            m = fc_msg_accept(msg);
            FC_CHECK(m->nwaves == cases[i].n && m->waves[m->nwaves - 1] == 100);
            fc_msg_destroy(&m);
        } else
            fc_msg_reject(msg, FC_EPROTO);
    }
    /* More waves than FC_MAX_WAVES: the encoder refuses, and so does the decoder. */
    fc_msg_t *m = fc_msg_sample(FC_MSG_ROLLOUT_PLAN);
    m->nwaves = FC_MAX_WAVES + 1;
    FC_CHECK(fc_msg_encode(m) == NULL);
    fc_msg_destroy(&m);
    s_raw_t r;
    msgpack_packer *pk = s_raw(&r, 9, FC_PROTO_VERSION, FC_MSG_ROLLOUT_PLAN, 1);
    s_pstr(pk, "beta");
    msgpack_pack_uint64(pk, 2);
    msgpack_pack_array(pk, FC_MAX_WAVES + 1);
    for (uint32_t i = 0; i <= FC_MAX_WAVES; i++)
        msgpack_pack_uint32(pk, i + 84);
    msgpack_pack_uint32(pk, 20);
    msgpack_pack_uint64(pk, 0);
    msgpack_pack_false(pk);
    zmsg_t *raw = s_raw_end(&r);
    int err = 0;
    FC_CHECK(fc_msg_decode(&raw, &err) == NULL && err != FC_OK);
    /* A rollout state outside the table is refused; "" (no rollout) is not. */
    m = fc_msg_sample(FC_MSG_ROLLOUT_STATUS_REPLY);
    fc_msg_set_str(m->rollouts[1].state, sizeof m->rollouts[1].state, "rolling");
    zmsg_t *msg = fc_msg_encode(m);
    fc_msg_destroy(&m);
    fc_msg_reject(msg, FC_EPROTO);
    /* A cut that is neither an agent id nor a marker is refused; the markers are not. */
    m = fc_msg_sample(FC_MSG_ROLLOUT_STATUS_REPLY);
    fc_msg_set_str(m->rollouts[1].cut, sizeof m->rollouts[1].cut, "not a cut");
    msg = fc_msg_encode(m);
    fc_msg_destroy(&m);
    fc_msg_reject(msg, FC_EPROTO);
    m = fc_msg_sample(FC_MSG_ROLLOUT_STATUS_REPLY);
    fc_msg_set_str(m->rollouts[0].cut, sizeof m->rollouts[0].cut, FC_ROLLOUT_CUT_ALL);
    fc_msg_set_str(m->rollouts[1].cut, sizeof m->rollouts[1].cut, FC_ROLLOUT_CUT_NONE);
    msg = fc_msg_encode(m);
    FC_CHECK(msg);
    fc_msg_t *back = fc_msg_decode(&msg, &err);
    FC_CHECK(back && !strcmp(back->rollouts[0].cut, FC_ROLLOUT_CUT_ALL) &&
             !strcmp(back->rollouts[1].cut, FC_ROLLOUT_CUT_NONE));
    fc_msg_destroy(&back);
    fc_msg_destroy(&m);
    /* SYNC without an id is the bytes of old (no id: the channel's latest release). */
    m = fc_msg_new(FC_MSG_SYNC);
    m->req = 5;
    fc_msg_set_str(m->channel, sizeof m->channel, "c");
    msg = fc_msg_encode(m);
    fc_msg_destroy(&m);
    const uint8_t want[] = {0x94, FC_PROTO_VERSION, FC_MSG_SYNC, 5, 0xa1, 'c'};
    FC_CHECK(zframe_size(zmsg_first(msg)) == sizeof want &&
             !memcmp(zframe_data(zmsg_first(msg)), want, sizeof want));
    m = fc_msg_accept(msg);
    FC_CHECK(m->id[0] == '\0');
    fc_msg_destroy(&m);
    /* STATUS_REPLY without the offline pair is accepted, with half of it it is not. */
    m = fc_msg_sample(FC_MSG_STATUS_REPLY);
    m->offline_ms = 0;
    msg = fc_msg_encode(m);
    fc_msg_destroy(&m);
    m = fc_msg_accept(msg);
    FC_CHECK(m->nagents == 2 && m->offline_ms == 0 && m->time_ms == 0);
    fc_msg_destroy(&m);
    pk = s_raw(&r, 5, FC_PROTO_VERSION, FC_MSG_STATUS_REPLY, 1);
    msgpack_pack_array(pk, 0);
    msgpack_pack_uint64(pk, 30000); /* offline_ms without time_ms */
    fc_msg_reject(s_raw_end(&r), FC_EPROTO);
    s_test_paging();
}

static void s_test_decode_rejects(void)
{
    /* Every truncation of an encoded message, with and without a data frame. */
    int types[] = {FC_MSG_STATUS_REPLY, FC_MSG_CHUNK, FC_MSG_SNAPSHOT, FC_MSG_UPLOAD_STATE};
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
        fc_msg_t *m = fc_msg_sample((fc_msg_type_t)types[t]);
        zmsg_t *good = fc_msg_encode(m);
        fc_msg_destroy(&m);
        zframe_t *body = zmsg_first(good);
        for (size_t cut = 0; cut < zframe_size(body); cut++) {
            zmsg_t *msg = zmsg_new();
            zmsg_addmem(msg, zframe_data(body), cut);
            if (zmsg_size(good) == 2)
                zmsg_addstr(msg, "payload");
            fc_msg_reject(msg, FC_EPROTO);
        }
        /* Trailing garbage */
        zmsg_t *msg = zmsg_dup(good);
        zframe_t *f = zmsg_pop(msg);
        zframe_t *longer = zframe_new(NULL, zframe_size(f) + 1);
        memcpy(zframe_data(longer), zframe_data(f), zframe_size(f));
        zframe_data(longer)[zframe_size(f)] = 0x00;
        zframe_destroy(&f);
        zmsg_prepend(msg, &longer);
        fc_msg_reject(msg, FC_EPROTO);
        zmsg_destroy(&good);
    }

    s_raw_t r;
    msgpack_packer *pk;
    /* Wrong field types */
    pk = s_raw(&r, 6, FC_PROTO_VERSION, FC_MSG_HELLO, 1);
    msgpack_pack_uint64(pk, 1); /* role must be str */
    s_pstr(pk, "id");
    s_pstr(pk, "ch");
    fc_msg_reject(s_raw_end(&r), FC_EPROTO);
    pk = s_raw(&r, 6, FC_PROTO_VERSION, FC_MSG_GET_CHUNK, 1);
    s_pbin(pk, 32, 0);
    s_pstr(pk, "0"); /* offset must be an int */
    msgpack_pack_uint64(pk, 1);
    fc_msg_reject(s_raw_end(&r), FC_EPROTO);
    pk = s_raw(&r, 6, FC_PROTO_VERSION, FC_MSG_UPLOAD_STATE, 1);
    s_pbin(pk, 32, 0);
    msgpack_pack_uint64(pk, 1); /* flag must be a bool */
    msgpack_pack_array(pk, 0);
    fc_msg_reject(s_raw_end(&r), FC_EPROTO);
    pk = s_raw(&r, 4, FC_PROTO_VERSION, FC_MSG_OK, 1);
    msgpack_pack_int64(pk, -1); /* u64 must not be negative */
    fc_msg_reject(s_raw_end(&r), FC_EPROTO);
    pk = s_raw(&r, 5, FC_PROTO_VERSION, FC_MSG_ERROR, 1);
    msgpack_pack_uint64(pk, 1ull << 32); /* code is a u32 */
    s_pstr(pk, "x");
    fc_msg_reject(s_raw_end(&r), FC_EPROTO);
    pk = s_raw(&r, 4, FC_PROTO_VERSION, FC_MSG_RELEASE_COMMIT, 1);
    s_pstr(pk, "manifest"); /* must be bin */
    fc_msg_reject(s_raw_end(&r), FC_EPROTO);
    pk = s_raw(&r, 6, FC_PROTO_VERSION, FC_MSG_UPLOAD_STATE, 1);
    s_pbin(pk, 32, 0);
    msgpack_pack_false(pk);
    msgpack_pack_array(pk, 1);
    msgpack_pack_array(pk, 3); /* a range is [offset, length] */
    msgpack_pack_uint64(pk, 0);
    msgpack_pack_uint64(pk, 1);
    msgpack_pack_uint64(pk, 2);
    fc_msg_reject(s_raw_end(&r), FC_EPROTO);
    pk = s_raw(&r, 4, FC_PROTO_VERSION, FC_MSG_LIST_REPLY, 1);
    msgpack_pack_array(pk, 1);
    msgpack_pack_array(pk, 7);
    s_pstr(pk, "ch");
    s_pstr(pk, "1");
    msgpack_pack_uint64(pk, 1);
    msgpack_pack_uint64(pk, 1);
    msgpack_pack_uint64(pk, 1);
    msgpack_pack_array(pk, 0); /* created: an array, one level too deep as well */
    msgpack_pack_true(pk);
    fc_msg_reject(s_raw_end(&r), FC_EPROTO);
    pk = s_raw(&r, 4, FC_PROTO_VERSION, FC_MSG_SYNC, 1);
    msgpack_pack_nil(pk);
    fc_msg_reject(s_raw_end(&r), FC_EPROTO);

    /* Not an array, or an array too short to hold the header */
    zmsg_t *msg = zmsg_new();
    zmsg_addmem(msg, "\x81\x01\x02", 3);
    fc_msg_reject(msg, FC_EPROTO);
    msg = zmsg_new();
    zmsg_addmem(msg, "\x92\x01\x01", 3);
    fc_msg_reject(msg, FC_EPROTO);
    msg = zmsg_new();
    zmsg_addmem(msg, "\x07", 1);
    fc_msg_reject(msg, FC_EPROTO);
    msg = zmsg_new();
    zmsg_addmem(msg, "\xdd\x80\x00\x00\x00", 5); /* array32 claiming 2^31 elements */
    fc_msg_reject(msg, FC_EPROTO);
    msg = zmsg_new();
    zmsg_addmem(msg, "\x94\x02\x03\x01\xd4\x00\x00", 7); /* ext where channel goes */
    fc_msg_reject(msg, FC_EPROTO);

    /* Unknown types, unknown version; the request id is still reported */
    uint64_t bad_types[] = {999, 0, FC_MSG_TYPE_MAX, FC_MSG_OBJECTS_QUERY - 1};
    for (size_t i = 0; i < sizeof bad_types / sizeof bad_types[0]; i++) {
        s_raw(&r, 3, FC_PROTO_VERSION, bad_types[i], 1);
        fc_msg_reject(s_raw_end(&r), FC_EPROTO);
    }
    pk = s_raw(&r, 4, FC_PROTO_VERSION + 1, FC_MSG_SYNC, 4242);
    s_pstr(pk, "ch");
    msg = s_raw_end(&r);
    int err = -1;
    uint64_t req = 0;
    FC_CHECK(fc_msg_decode_req(&msg, &err, &req) == NULL && err == FC_EPROTO && req == 4242);

    /* Wrong element counts */
    pk = s_raw(&r, 5, FC_PROTO_VERSION, FC_MSG_HELLO, 1);
    s_pstr(pk, "agent");
    s_pstr(pk, "id");
    fc_msg_reject(s_raw_end(&r), FC_EPROTO);
    pk = s_raw(&r, 7, FC_PROTO_VERSION, FC_MSG_HELLO, 1);
    s_pstr(pk, "agent");
    s_pstr(pk, "id");
    s_pstr(pk, "ch");
    s_pstr(pk, "extra");
    fc_msg_reject(s_raw_end(&r), FC_EPROTO);

    /* String limits: at the limit passes, one over is too big */
    fc_msg_t *m = fc_msg_accept(s_sync_with(FC_MAX_NAME));
    FC_CHECK(strlen(m->channel) == FC_MAX_NAME);
    fc_msg_destroy(&m);
    fc_msg_reject(s_sync_with(FC_MAX_NAME + 1), FC_ETOOBIG);
    pk = s_raw(&r, 7, FC_PROTO_VERSION, FC_MSG_WELCOME, 1);
    msgpack_pack_uint64(pk, 1);
    msgpack_pack_uint64(pk, 1);
    char ep[FC_MAX_ENDPOINT + 2];
    memset(ep, 'e', FC_MAX_ENDPOINT + 1);
    ep[FC_MAX_ENDPOINT + 1] = '\0';
    s_pstr(pk, ep);
    msgpack_pack_uint64(pk, 1);
    fc_msg_reject(s_raw_end(&r), FC_ETOOBIG);
    pk = s_raw(&r, 4, FC_PROTO_VERSION, FC_MSG_SYNC, 1);
    msgpack_pack_str_with_body(pk, "a\0b", 3); /* embedded NUL */
    fc_msg_reject(s_raw_end(&r), FC_EPROTO);

    /* List limits */
    pk = s_raw(&r, 4, FC_PROTO_VERSION, FC_MSG_LIST_REPLY, 1);
    msgpack_pack_array(pk, FC_MAX_LIST + 1);
    for (size_t i = 0; i < FC_MAX_LIST + 1; i++) {
        msgpack_pack_array(pk, 7);
        s_pstr(pk, "c");
        s_pstr(pk, "v");
        for (int k = 0; k < 4; k++)
            msgpack_pack_uint64(pk, 1);
        msgpack_pack_true(pk);
    }
    fc_msg_reject(s_raw_end(&r), FC_ETOOBIG);
    pk = s_raw(&r, 6, FC_PROTO_VERSION, FC_MSG_UPLOAD_STATE, 1);
    s_pbin(pk, 32, 0);
    msgpack_pack_false(pk);
    msgpack_pack_array(pk, FC_MAX_RANGES + 1);
    for (size_t i = 0; i < FC_MAX_RANGES + 1; i++) {
        msgpack_pack_array(pk, 2);
        msgpack_pack_uint64(pk, i);
        msgpack_pack_uint64(pk, 1);
    }
    fc_msg_reject(s_raw_end(&r), FC_ETOOBIG);
    pk = s_raw(&r, 5, FC_PROTO_VERSION, FC_MSG_REPORT, 1);
    msgpack_pack_array(pk, 0); /* REPORT needs exactly its own status */
    s_pbin(pk, 0, 0);
    fc_msg_reject(s_raw_end(&r), FC_EPROTO);
    /* A REPORT's state is one of fc_state.h's names: anything else is malformed, and so is
       a blob that is neither empty nor a hash, or a REPORT without the blob field. */
    const char *bad_states[] = {"bogus-state", "", "FAILED", "installed\n"};
    for (size_t i = 0; i < sizeof bad_states / sizeof bad_states[0]; i++)
        fc_msg_reject(s_report_with(bad_states[i], 0, 0), FC_EPROTO);
    for (int i = 0; i < FC_STATE_COUNT; i++) {
        m = fc_msg_accept(s_report_with(fc_state_name((fc_state_t)i), 0, 0));
        fc_msg_destroy(&m);
    }
    /* A HELLO's role is one of fc_role.h's names: anything else is malformed. */
    const char *bad_roles[] = {"wizard", "", "Agent", "publisher ", "broker", "?"};
    for (size_t i = 0; i < sizeof bad_roles / sizeof bad_roles[0]; i++)
        fc_msg_reject(s_hello_with(bad_roles[i]), FC_EPROTO);
    for (int i = FC_ROLE_NONE + 1; i < FC_ROLE_END; i++) {
        if (!fc_role_valid((fc_role_t)i))
            continue; /* a value between the role bits */
        m = fc_msg_accept(s_hello_with(fc_role_name((fc_role_t)i)));
        FC_CHECK(m->role == (fc_role_t)i && !strcmp(m->id, "id") && !strcmp(m->channel, "ch"));
        fc_msg_destroy(&m);
    }
    size_t blob_lens[] = {1, 31, 33, 64};
    for (size_t i = 0; i < sizeof blob_lens / sizeof blob_lens[0]; i++)
        fc_msg_reject(s_report_with("failed", blob_lens[i], 1), FC_EPROTO);
    fc_msg_reject(s_report_with("failed", SIZE_MAX, 0), FC_EPROTO);

    /* Hashes of the wrong length */
    size_t hash_lens[] = {31, 33, 0};
    for (size_t i = 0; i < 3; i++) {
        pk = s_raw(&r, 5, FC_PROTO_VERSION, FC_MSG_PUT_ACK, 1);
        s_pbin(pk, hash_lens[i], 7);
        msgpack_pack_uint64(pk, 0);
        fc_msg_reject(s_raw_end(&r), FC_EPROTO);
    }

    /* Frame counts: none, a stray second frame, a missing or extra data frame */
    fc_msg_reject(zmsg_new(), FC_EPROTO);
    fc_msg_reject(NULL, FC_EPROTO);
    fc_msg_t *sm = fc_msg_sample(FC_MSG_GET_CHUNK);
    msg = fc_msg_encode(sm);
    fc_msg_destroy(&sm);
    zmsg_addstr(msg, "stray");
    fc_msg_reject(msg, FC_EPROTO);
    sm = fc_msg_sample(FC_MSG_CHUNK);
    msg = fc_msg_encode(sm);
    fc_msg_destroy(&sm);
    zmsg_t *three = zmsg_dup(msg);
    zmsg_addstr(three, "extra");
    fc_msg_reject(three, FC_EPROTO);
    zframe_t *data = zmsg_last(msg);
    zmsg_remove(msg, data);
    zframe_destroy(&data);
    fc_msg_reject(msg, FC_EPROTO);

    /* Sizes: payload, manifest and frame over their limits */
    sm = fc_msg_sample(FC_MSG_CHUNK);
    msg = fc_msg_encode(sm);
    fc_msg_destroy(&sm);
    data = zmsg_last(msg);
    zmsg_remove(msg, data);
    zframe_destroy(&data);
    data = zframe_new(NULL, FC_MAX_CHUNK_REQ + 1);
    zmsg_append(msg, &data);
    fc_msg_reject(msg, FC_ETOOBIG);
    uint8_t *big = (uint8_t *)zmalloc(FC_MAX_FRAME + 1);
    pk = s_raw(&r, 4, FC_PROTO_VERSION, FC_MSG_RELEASE_COMMIT, 1);
    msgpack_pack_bin_with_body(pk, big, FC_MAX_MANIFEST + 1);
    fc_msg_reject(s_raw_end(&r), FC_ETOOBIG);
    msg = zmsg_new();
    zmsg_addmem(msg, big, FC_MAX_FRAME + 1);
    fc_msg_reject(msg, FC_ETOOBIG);
    free(big);
}

/* A real DEALER/ROUTER pair on loopback: requests, a 256 KiB CHUNK each way, garbage that
   must be consumed whole, and a reply to a peer that is not there. */
static void s_test_dealer_router(bool verbose)
{
    zsock_t *router = zsock_new(ZMQ_ROUTER);
    zsock_t *dealer = zsock_new(ZMQ_DEALER);
    FC_CHECK(router && dealer);
    zsock_set_router_mandatory(router, 1);
    zsock_set_maxmsgsize(router, FC_MAX_FRAME);
    zsock_set_maxmsgsize(dealer, FC_MAX_FRAME);
    zsock_set_rcvtimeo(router, 5000);
    zsock_set_rcvtimeo(dealer, 5000);
    int port = zsock_bind(router, "tcp://127.0.0.1:*");
    FC_CHECK(port > 0);
    FC_CHECK(zsock_connect(dealer, "tcp://127.0.0.1:%d", port) == 0);

    fc_msg_t *m = fc_msg_sample(FC_MSG_GET_CHUNK);
    m->req = 7;
    FC_CHECK(fc_msg_send(&m, dealer) == 0 && m == NULL);
    zframe_t *peer = NULL;
    int err = -1;
    m = fc_msg_recv(router, &peer, &err);
    FC_CHECK(m && peer && err == FC_OK);
    FC_CHECK(m->type == FC_MSG_GET_CHUNK && m->req == 7 && m->length == FC_CHUNK_SIZE);
    fc_msg_destroy(&m);

    size_t size = FC_CHUNK_SIZE;
    zframe_t *payload = zframe_new(NULL, size);
    for (size_t i = 0; i < size; i++)
        zframe_data(payload)[i] = (uint8_t)(i * 7 + (i >> 8));
    m = fc_msg_new(FC_MSG_CHUNK);
    m->req = 7;
    fc_msg_sample_hash(m->blob, 1);
    m->offset = 3 * FC_CHUNK_SIZE;
    m->data = zframe_dup(payload);
    FC_CHECK(fc_msg_send_to(&m, peer, router) == 0 && m == NULL);
    m = fc_msg_recv(dealer, NULL, &err);
    FC_CHECK(m && err == FC_OK && m->type == FC_MSG_CHUNK && m->req == 7);
    FC_CHECK(m->offset == 3 * FC_CHUNK_SIZE && m->blob[0] == 1);
    FC_CHECK(m->data && zframe_eq(m->data, payload));
    fc_msg_destroy(&m);

    m = fc_msg_sample(FC_MSG_PUT_CHUNK);
    zframe_destroy(&m->data);
    m->data = zframe_dup(payload);
    FC_CHECK(fc_msg_send(&m, dealer) == 0);
    zframe_t *peer2 = NULL;
    m = fc_msg_recv(router, &peer2, &err);
    FC_CHECK(m && m->type == FC_MSG_PUT_CHUNK && zframe_eq(m->data, payload));
    FC_CHECK(zframe_eq(peer, peer2));
    fc_msg_destroy(&m);
    zframe_destroy(&peer2);
    zframe_destroy(&payload);

    /* Garbage, then too many frames, then a bad version: each consumed whole and reported
       with the peer's id, and the next good message still arrives intact. */
    zstr_send(dealer, "garbage");
    m = fc_msg_recv(router, &peer2, &err);
    FC_CHECK(!m && err == FC_EPROTO && peer2 && zframe_eq(peer, peer2));
    zframe_destroy(&peer2);
    zstr_sendx(dealer, "a", "b", "c", "d", "e", "f", NULL);
    m = fc_msg_recv(router, &peer2, &err);
    FC_CHECK(!m && err == FC_EPROTO);
    zframe_destroy(&peer2);
    s_raw_t r;
    s_pstr(s_raw(&r, 4, FC_PROTO_VERSION + 1, FC_MSG_SYNC, 99), "ch");
    zmsg_t *raw = s_raw_end(&r);
    zmsg_send(&raw, dealer);
    uint64_t req = 0;
    m = fc_msg_recv_req(router, &peer2, &err, &req);
    FC_CHECK(!m && err == FC_EPROTO && req == 99);
    zframe_destroy(&peer2);
    m = fc_msg_sample(FC_MSG_OK);
    FC_CHECK(fc_msg_send(&m, dealer) == 0);
    m = fc_msg_recv(router, &peer2, &err);
    FC_CHECK(m && m->type == FC_MSG_OK && m->serial == 77);
    fc_msg_destroy(&m);
    zframe_destroy(&peer2);

    /* Nothing to receive: NULL with FC_OK, not an error */
    zsock_set_rcvtimeo(router, 50);
    m = fc_msg_recv(router, &peer2, &err);
    FC_CHECK(!m && err == FC_OK && !peer2);

    /* A peer that is not there: refused at once, never blocks */
    zframe_t *ghost = zframe_new("ghost", 5);
    int64_t start = zclock_mono();
    m = fc_msg_sample(FC_MSG_OK);
    FC_CHECK(fc_msg_send_to(&m, ghost, router) == -1 && m == NULL);
    FC_CHECK(zmq_errno() == EHOSTUNREACH);
    FC_CHECK(zclock_mono() - start < 1000);
    zframe_destroy(&ghost);
    if (verbose)
        printf("   dealer/router on port %d: ok\n", port);

    zframe_destroy(&peer);
    zsock_destroy(&dealer);
    zsock_destroy(&router);
}

/* A peer that stops reading: once its queue is full, fc_msg_send_to fails instead of
   blocking the broker. inproc makes the queue size exact (the two HWMs). */
static void s_test_full_queue(void)
{
    zsock_t *router = zsock_new(ZMQ_ROUTER);
    zsock_t *dealer = zsock_new(ZMQ_DEALER);
    zsock_set_router_mandatory(router, 1);
    zsock_set_sndhwm(router, 2);
    zsock_set_rcvhwm(dealer, 2);
    zsock_set_rcvtimeo(router, 5000);
    zsock_set_sndtimeo(router, 3000); /* a send that blocks fails the timing check below */
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "inproc://fc_msg_test-%p", (void *)router);
    FC_CHECK(zsock_bind(router, "%s", endpoint) == 0);
    FC_CHECK(zsock_connect(dealer, "%s", endpoint) == 0);
    fc_msg_t *m = fc_msg_sample(FC_MSG_HELLO);
    FC_CHECK(fc_msg_send(&m, dealer) == 0);
    zframe_t *peer = NULL;
    int err;
    m = fc_msg_recv(router, &peer, &err);
    FC_CHECK(m && peer);
    fc_msg_destroy(&m);

    int64_t start = zclock_mono();
    int sent = 0;
    int rc = 0;
    while (sent < 10000) {
        m = fc_msg_sample(FC_MSG_CHUNK);
        rc = fc_msg_send_to(&m, peer, router);
        if (rc != 0)
            break;
        sent++;
    }
    FC_CHECK(rc == -1 && zmq_errno() == EAGAIN);
    FC_CHECK(sent >= 1 && sent < 100);
    FC_CHECK(zclock_mono() - start < 2000);
    /* The queued messages are whole: the dealer reads them all back. */
    zsock_set_rcvtimeo(dealer, 1000);
    for (int i = 0; i < sent; i++) {
        m = fc_msg_recv(dealer, NULL, &err);
        FC_CHECK(m && m->type == FC_MSG_CHUNK && zframe_streq(m->data, "payload"));
        fc_msg_destroy(&m);
    }
    zframe_destroy(&peer);
    zsock_destroy(&dealer);
    zsock_destroy(&router);
}

/* PUB/SUB announcements: topics, bodies, and a topic that lies about its body. */
static void s_test_announce(void)
{
    zsock_t *pub = zsock_new(ZMQ_PUB);
    zsock_t *sub = zsock_new(ZMQ_SUB);
    int port = zsock_bind(pub, "tcp://127.0.0.1:*");
    FC_CHECK(port > 0);
    zsock_set_subscribe(sub, FC_TOPIC_RELEASE);
    zsock_set_subscribe(sub, FC_TOPIC_HEARTBEAT);
    FC_CHECK(zsock_connect(sub, "tcp://127.0.0.1:%d", port) == 0);

    /* The subscription takes a moment to reach the publisher: beat until one arrives. */
    zsock_set_rcvtimeo(sub, 20);
    fc_msg_t *m = NULL;
    int err = -1;
    for (int tries = 0; tries < 250 && !m; tries++) {
        fc_msg_t *hb = fc_msg_sample(FC_MSG_HEARTBEAT);
        FC_CHECK(fc_msg_publish(&hb, pub) == 0 && hb == NULL);
        m = fc_msg_recv_announce(sub, &err);
    }
    FC_CHECK(m && err == FC_OK && m->type == FC_MSG_HEARTBEAT && m->seq == 7);
    fc_msg_destroy(&m);
    zsock_set_rcvtimeo(sub, 200);
    while ((m = fc_msg_recv_announce(sub, &err))) /* drain beats still in flight */
        fc_msg_destroy(&m);
    zsock_set_rcvtimeo(sub, 5000);

    m = fc_msg_sample(FC_MSG_ANNOUNCE);
    FC_CHECK(fc_msg_publish(&m, pub) == 0);
    m = fc_msg_recv_announce(sub, &err);
    fc_msg_t *want = fc_msg_sample(FC_MSG_ANNOUNCE);
    want->req = m ? m->req : 0; /* req travels as set; compare the rest */
    FC_CHECK(m && err == FC_OK && fc_msg_equal(m, want));
    fc_msg_destroy(&m);

    /* An ANNOUNCE body under the heartbeat topic is refused; the next one still works. */
    zmsg_t *raw = fc_msg_encode(want);
    zmsg_pushstr(raw, FC_TOPIC_HEARTBEAT);
    zmsg_send(&raw, pub);
    m = fc_msg_recv_announce(sub, &err);
    FC_CHECK(!m && err == FC_EPROTO);
    raw = zmsg_new();
    zmsg_addstr(raw, "H");
    zmsg_addstr(raw, "not msgpack");
    zmsg_send(&raw, pub);
    m = fc_msg_recv_announce(sub, &err);
    FC_CHECK(!m && err == FC_EPROTO);
    fc_msg_destroy(&want);
    m = fc_msg_sample(FC_MSG_HEARTBEAT);
    FC_CHECK(fc_msg_publish(&m, pub) == 0);
    m = fc_msg_recv_announce(sub, &err);
    FC_CHECK(m && m->type == FC_MSG_HEARTBEAT);
    fc_msg_destroy(&m);

    /* Only announcements can be published. */
    m = fc_msg_sample(FC_MSG_OK);
    FC_CHECK(fc_msg_publish(&m, pub) == -1 && m == NULL);

    zsock_destroy(&sub);
    zsock_destroy(&pub);
}

/* fc_msg_peek_req reads only the header: a readable req whatever follows it, and nothing
   from a frame whose header is not one. */
static void s_test_peek_req(void)
{
    uint64_t req = 0;
    zframe_t *f = zframe_new("\x94\x01\x0d\x4d\xa0\xc0", 6); /* one trailing byte */
    FC_CHECK(fc_msg_peek_req(f, &req) && req == 0x4d);
    zframe_destroy(&f);
    f = zframe_new("\x93\xca\x3f\x80\x00\x00\x01\xcf\xff\xff\xff\xff\xff\xff\xff\xff", 16);
    FC_CHECK(fc_msg_peek_req(f, &req) && req == UINT64_MAX); /* float version, widest req */
    zframe_destroy(&f);
    f = zframe_new("\x93\x01\x05\xd0\x07", 5); /* a signed encoding of 7 */
    FC_CHECK(fc_msg_peek_req(f, &req) && req == 7);
    zframe_destroy(&f);
    /* The version of a request of another protocol version, and of none readable. */
    uint64_t version = 0;
    f = zframe_new("\x96\x02\x01\x4d\xa5\x61\x67\x65\x6e\x74\xa1\x61\xa1\x61", 14);
    FC_CHECK(fc_msg_peek_version(f, &version) && version == 2);
    zframe_destroy(&f);
    f = zframe_new("\x93\xca\x3f\x80\x00\x00\x01\x4d", 8);
    FC_CHECK(fc_msg_peek_version(f, &version) && version == UINT64_MAX); /* a float */
    zframe_destroy(&f);
    /* An ERROR is framed in FC_PROTO_VERSION unless asked for an older one (1 and up): never
       in a version this codec does not speak. */
    for (uint32_t v = 0; v <= FC_PROTO_VERSION + 1; v++) {
        fc_msg_t *e = fc_msg_new(FC_MSG_ERROR);
        e->proto_version = v;
        e->code = FC_EPROTO;
        zmsg_t *z = fc_msg_encode(e);
        fc_msg_destroy(&e);
        FC_CHECK(z && fc_msg_peek_version(zmsg_first(z), &version));
        FC_CHECK(version == (v >= 1 && v < FC_PROTO_VERSION ? v : FC_PROTO_VERSION));
        /* and read back in whatever version it is framed: only ERROR is */
        int err = FC_OK;
        fc_msg_t *back = fc_msg_decode(&z, &err);
        FC_CHECK(back && back->type == FC_MSG_ERROR && back->code == FC_EPROTO);
        fc_msg_destroy(&back);
    }
    const char *bad[] = {"\x92\x01\x05",
                         "\x93\x01\x05\xff",
                         "\x93\xa1\x61\x05\x01",
                         "\x93\x01\x05\xcd\x01",
                         "\x83\x01\x01\x02\x05\x03\x4d",
                         ""};
    const size_t badlen[] = {3, 4, 5, 5, 7, 0};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        f = zframe_new(bad[i], badlen[i]);
        FC_CHECK(!fc_msg_peek_req(f, &req));
        zframe_destroy(&f);
    }
    /* 16 MiB of nils after the header (array32): read at once, nothing allocated for them. */
    size_t big = 16u << 20;
    f = zframe_new(NULL, big);
    uint8_t *d = zframe_data(f);
    memset(d, 0xc0, big);
    memcpy(d, "\xdd\x00\xff\xff\xf8\x01\x05\x2a", 8);
    FC_CHECK(fc_msg_peek_req(f, &req) && req == 42);
    zframe_destroy(&f);
    FC_CHECK(!fc_msg_peek_req(NULL, &req));
}

/* A BLOBS_QUERY, OBJECTS_QUERY, BLOBS_STATE or PUT_BLOBS whose one field is a bin (query, state) or
   a list of bins (put) of the given lengths, every byte fill. */
static zmsg_t *s_blobs_raw(int type, const size_t *lens, size_t n, uint8_t fill)
{
    s_raw_t r;
    msgpack_packer *pk = s_raw(&r, 4, FC_PROTO_VERSION, (uint64_t)type, 1);
    if (type == FC_MSG_PUT_BLOBS)
        msgpack_pack_array(pk, n);
    for (size_t i = 0; i < n; i++) {
        uint8_t *buf = (uint8_t *)zmalloc(lens[i] + 1);
        memset(buf, fill, lens[i]);
        msgpack_pack_bin_with_body(pk, buf, lens[i]);
        free(buf);
    }
    return s_raw_end(&r);
}

/* The batched blob messages: their accessors, their bounds on the way in (a hostile
   publisher or broker), and what encoding still lets a test tool send. */
static void s_test_blob_batches(void)
{
    fc_msg_t *m = fc_msg_sample(FC_MSG_PUT_BLOBS);
    const uint8_t *blob, *data;
    size_t len;
    uint8_t h[FC_HASH_LEN];
    fc_msg_put_blob_get(m, 1, &blob, &data, &len);
    fc_msg_sample_hash(h, 10);
    FC_CHECK(len == FC_MAX_SMALL_BLOB && !memcmp(blob, h, FC_HASH_LEN) && data[len - 1] == 0x5a);
    fc_msg_put_blob_get(m, 0, &blob, &data, &len);
    FC_CHECK(len == 0);
    fc_msg_destroy(&m);
    m = fc_msg_sample(FC_MSG_BLOBS_QUERY);
    fc_msg_sample_hash(h, 7);
    FC_CHECK(fc_msg_blobs_count(m) == 3 && !memcmp(fc_msg_blobs_hash(m, 1), h, FC_HASH_LEN));
    fc_msg_destroy(&m);

    /* Accepted: the bounds themselves. */
    size_t one[] = {FC_HASH_LEN}, most[] = {FC_MAX_BLOB_BATCH * FC_HASH_LEN};
    size_t full[] = {FC_HASH_LEN + FC_MAX_SMALL_BLOB, FC_HASH_LEN};
    /* OBJECTS_QUERY is BLOBS_QUERY's layout and rules, for manifest objects. */
    const int queries[] = {FC_MSG_BLOBS_QUERY, FC_MSG_OBJECTS_QUERY};
    for (size_t q = 0; q < 2; q++) {
        m = fc_msg_accept(s_blobs_raw(queries[q], most, 1, 3));
        FC_CHECK(fc_msg_blobs_count(m) == FC_MAX_BLOB_BATCH);
        fc_msg_destroy(&m);
    }
    m = fc_msg_accept(s_blobs_raw(FC_MSG_PUT_BLOBS, full, 2, 1));
    FC_CHECK(m->nitems == 2);
    fc_msg_destroy(&m);
    size_t state_len[] = {FC_MAX_BLOB_BATCH};
    fc_msg_destroy((m = fc_msg_accept(s_blobs_raw(FC_MSG_BLOBS_STATE, state_len, 1, 1)), &m));

    /* Refused: empty, a partial hash, one hash too many, a flag other than 0 or 1, an item
       shorter than a hash or with a byte more than FC_MAX_SMALL_BLOB of content, an empty
       or over-long list of items. */
    size_t zero[] = {0}, partial[] = {FC_HASH_LEN + 1},
           over[] = {(FC_MAX_BLOB_BATCH + 1) * FC_HASH_LEN};
    for (size_t q = 0; q < 2; q++) {
        fc_msg_reject(s_blobs_raw(queries[q], zero, 1, 0), FC_EPROTO);
        fc_msg_reject(s_blobs_raw(queries[q], partial, 1, 0), FC_EPROTO);
        fc_msg_reject(s_blobs_raw(queries[q], over, 1, 0), FC_ETOOBIG);
    }
    fc_msg_reject(s_blobs_raw(FC_MSG_BLOBS_STATE, zero, 1, 0), FC_EPROTO);
    fc_msg_reject(s_blobs_raw(FC_MSG_BLOBS_STATE, one, 1, 2), FC_EPROTO);
    size_t state_over[] = {FC_MAX_BLOB_BATCH + 1};
    fc_msg_reject(s_blobs_raw(FC_MSG_BLOBS_STATE, state_over, 1, 1), FC_ETOOBIG);
    size_t short_item[] = {FC_HASH_LEN, FC_HASH_LEN - 1};
    size_t long_item[] = {FC_HASH_LEN + FC_MAX_SMALL_BLOB + 1};
    fc_msg_reject(s_blobs_raw(FC_MSG_PUT_BLOBS, short_item, 2, 0), FC_EPROTO);
    fc_msg_reject(s_blobs_raw(FC_MSG_PUT_BLOBS, long_item, 1, 0), FC_ETOOBIG);
    fc_msg_reject(s_blobs_raw(FC_MSG_PUT_BLOBS, NULL, 0, 0), FC_EPROTO);
    size_t *many = (size_t *)zmalloc((FC_MAX_BLOB_BATCH + 1) * sizeof *many);
    for (size_t i = 0; i <= FC_MAX_BLOB_BATCH; i++)
        many[i] = FC_HASH_LEN;
    fc_msg_reject(s_blobs_raw(FC_MSG_PUT_BLOBS, many, FC_MAX_BLOB_BATCH + 1, 0), FC_ETOOBIG);
    free(many);

    /* Encoding refuses what is over a count limit, not what breaks the content rules. */
    m = fc_msg_new(FC_MSG_BLOBS_QUERY);
    m->bytes = (uint8_t *)zmalloc(over[0]);
    m->bytes_len = over[0];
    FC_CHECK(fc_msg_encode(m) == NULL);
    fc_msg_destroy(&m);
    m = fc_msg_new(FC_MSG_PUT_BLOBS);
    zmsg_t *msg = fc_msg_encode(m); /* empty: a hostile tool may send it */
    FC_CHECK(msg);
    fc_msg_reject(msg, FC_EPROTO);
    fc_msg_destroy(&m);
}

/* UPLOAD_CHUNKS: its list read back, and refused when it is not a blob's chunks (empty, a
   partial entry, a chunk of length 0 or over FC_MAX_CHUNK, lengths not adding up to size),
   or names more than FC_MAX_UPLOAD_CHUNKS chunks. */
static void s_test_upload_chunks(void)
{
    fc_msg_t *m = fc_msg_sample(FC_MSG_UPLOAD_CHUNKS);
    const uint8_t *hash;
    uint8_t h[FC_HASH_LEN];
    fc_msg_sample_hash(h, 13);
    FC_CHECK(fc_msg_chunk_ref_count(m) == 3 && fc_msg_chunk_ref_get(m, 1, &hash) == 16385 &&
             !memcmp(hash, h, FC_HASH_LEN));
    FC_CHECK(fc_msg_chunk_ref_get(m, 2, &hash) == FC_MAX_CHUNK);
    fc_msg_destroy(&m);
    struct {
        uint32_t lens[2];
        size_t n;
        int64_t size_delta;
        size_t cut;
        int err;
    } cases[] = {
        {{100, 200}, 2, 0, 0, FC_OK},
        {{100, 200}, 2, 1, 0, FC_EPROTO},  /* lengths short of size */
        {{100, 200}, 2, -1, 0, FC_EPROTO}, /* past it */
        {{0, 300}, 2, 0, 0, FC_EPROTO},    /* an empty chunk */
        {{FC_MAX_CHUNK + 1, 1}, 2, 0, 0, FC_EPROTO},
        {{100, 200}, 2, 0, 1, FC_EPROTO}, /* a partial entry */
        {{0, 0}, 0, 0, 0, FC_EPROTO},     /* no chunk */
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        m = fc_msg_new(FC_MSG_UPLOAD_CHUNKS);
        m->req = 1;
        for (size_t i = 0; i < cases[c].n; i++) {
            fc_msg_chunk_ref_add(m, cases[c].lens[i], h);
            m->size += cases[c].lens[i];
        }
        m->size = (uint64_t)((int64_t)m->size + cases[c].size_delta);
        m->bytes_len -= cases[c].cut;
        zmsg_t *msg = fc_msg_encode(m);
        FC_CHECK(msg);
        fc_msg_destroy(&m);
        if (cases[c].err)
            fc_msg_reject(msg, cases[c].err);
        else
            fc_msg_destroy((m = fc_msg_accept(msg), &m));
    }
    /* One chunk over the count: refused by the codec's bound, on both ends. */
    m = fc_msg_new(FC_MSG_UPLOAD_CHUNKS);
    for (size_t i = 0; i <= FC_MAX_UPLOAD_CHUNKS; i++)
        fc_msg_chunk_ref_add(m, 1, h);
    m->size = FC_MAX_UPLOAD_CHUNKS + 1;
    FC_CHECK(fc_msg_encode(m) == NULL);
    fc_msg_destroy(&m);
}

/* UPLOAD_PREFIXES: its list read back (8 bytes of each hash), and refused by UPLOAD_CHUNKS'
   rules with its own entry size: a partial entry, lengths not adding up to size, no chunk. */
static void s_test_upload_prefixes(void)
{
    fc_msg_t *m = fc_msg_sample(FC_MSG_UPLOAD_PREFIXES);
    const uint8_t *prefix;
    uint8_t h[FC_HASH_LEN];
    fc_msg_sample_hash(h, 13);
    FC_CHECK(m->bytes_len == 3 * FC_CHUNK_PREF_LEN && fc_msg_chunk_prefix_count(m) == 3);
    FC_CHECK(fc_msg_chunk_prefix_get(m, 1, &prefix) == 16385 &&
             !memcmp(prefix, h, FC_CHUNK_PREFIX));
    zmsg_t *msg = fc_msg_encode(m);
    fc_msg_destroy(&m);
    m = fc_msg_accept(msg);
    FC_CHECK(m && fc_msg_chunk_prefix_get(m, 2, &prefix) == FC_MAX_CHUNK);
    fc_msg_destroy(&m);
    struct {
        int64_t size_delta;
        size_t cut;
        size_t n;
    } bad[] = {{0, 1, 2}, {1, 0, 2}, {0, 0, 0}}; /* partial entry, size off by one, none */
    for (size_t c = 0; c < sizeof bad / sizeof bad[0]; c++) {
        m = fc_msg_new(FC_MSG_UPLOAD_PREFIXES);
        m->req = 1;
        for (size_t i = 0; i < bad[c].n; i++)
            fc_msg_chunk_prefix_add(m, 100, h);
        m->size = (uint64_t)((int64_t)(100 * bad[c].n) + bad[c].size_delta);
        m->bytes_len -= bad[c].cut;
        msg = fc_msg_encode(m);
        FC_CHECK(msg);
        fc_msg_destroy(&m);
        fc_msg_reject(msg, FC_EPROTO);
    }
}

/* The object messages of manifest format 3: an object is 1 to FC_MAX_OBJECT bytes (refused
   past it on both ends), and nothing but ERROR is read in an older protocol version. */
static void s_test_objects(void)
{
    int types[] = {FC_MSG_OBJECT, FC_MSG_PUT_OBJECT, FC_MSG_OBJECT_DELTA};
    for (size_t t = 0; t < 3; t++) {
        fc_msg_t *m = fc_msg_new(types[t]);
        m->req = 3;
        zmsg_t *msg = fc_msg_encode(m); /* empty: encodes, refused by the reader */
        FC_CHECK(msg);
        fc_msg_destroy(&m);
        fc_msg_reject(msg, FC_EPROTO);
        m = fc_msg_new(types[t]);
        uint8_t *big = (uint8_t *)zmalloc(FC_MAX_OBJECT + 1);
        fc_msg_set_bytes(m, big, FC_MAX_OBJECT + 1);
        FC_CHECK(fc_msg_encode(m) == NULL);
        fc_msg_set_bytes(m, big, FC_MAX_OBJECT);
        free(big);
        msg = fc_msg_encode(m);
        fc_msg_destroy(&m);
        FC_CHECK(msg);
        m = fc_msg_accept(msg);
        FC_CHECK(m->bytes_len == FC_MAX_OBJECT);
        fc_msg_destroy(&m);
    }
    /* A delta request names the object and its base; the reply names both again. */
    fc_msg_t *m = fc_msg_new(FC_MSG_GET_OBJECT_DELTA);
    memset(m->hash, 0x11, FC_HASH_LEN);
    memset(m->blob, 0x22, FC_HASH_LEN);
    zmsg_t *enc = fc_msg_encode(m);
    fc_msg_destroy(&m);
    m = fc_msg_accept(enc);
    FC_CHECK(m->type == FC_MSG_GET_OBJECT_DELTA && m->hash[31] == 0x11 && m->blob[0] == 0x22);
    fc_msg_destroy(&m);
    FC_CHECK(!strcmp(fc_msg_type_name(FC_MSG_OBJECT_DELTA), "OBJECT_DELTA"));
    /* A GET_OBJECT of version 1 (an agent of before format 3) is refused, its req readable. */
    zmsg_t *msg = zmsg_new();
    zmsg_addmem(msg,
                "\x94\x01\x31\x07\xc4\x20"
                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                38);
    fc_msg_reject(msg, FC_EPROTO);
}

void fc_msg_test(bool verbose)
{
    printf(" * fc_msg: ");
    if (verbose)
        printf("\n");

    FC_CHECK(!strcmp(fc_msg_type_name(FC_MSG_GET_CHUNK), "GET_CHUNK"));
    FC_CHECK(!strcmp(fc_msg_type_name(FC_MSG_HEARTBEAT), "HEARTBEAT"));
    FC_CHECK(!strcmp(fc_msg_type_name(0), "?") && !strcmp(fc_msg_type_name(999), "?"));
    FC_CHECK(!strcmp(fc_msg_type_name(-1), "?"));
    /* The broker routes these to its config and trust services. */
    FC_CHECK(fc_msg_type_is_config_request(FC_MSG_CONFIG_ACK) &&
             fc_msg_type_is_config_request(FC_MSG_GET_TRUST) &&
             fc_msg_type_is_config_request(FC_MSG_AUDIT));
    FC_CHECK(!fc_msg_type_is_config_request(FC_MSG_HELLO) &&
             !fc_msg_type_is_config_request(FC_MSG_CONFIG_SNAPSHOT) &&
             !fc_msg_type_is_config_request(FC_MSG_GET_CHUNK));
    for (int t = FC_MSG_HELLO; t < FC_MSG_TYPE_MAX; t++)
        FC_CHECK(!fc_msg_type_known(t) || strcmp(fc_msg_type_name(t), "?") != 0);
    /* fc_strerror: every code has its own text (ERROR replies carry them). */
    for (int c = 0; c < FC_ERROR_MAX; c++) {
        FC_CHECK(strcmp(fc_strerror(c), fc_strerror(999)) != 0);
        for (int d = 0; d < c; d++)
            FC_CHECK(strcmp(fc_strerror(c), fc_strerror(d)) != 0);
    }

    s_test_round_trips();
    s_test_peek_req();
    s_test_wire_layout();
    s_test_encode_rejects();
    s_test_decode_rejects();
    s_test_rollout_fields();
    s_test_blob_batches();
    s_test_upload_chunks();
    s_test_upload_prefixes();
    s_test_objects();
    s_test_dealer_router(verbose);
    s_test_full_queue();
    s_test_announce();
    fc_msg_config_test(verbose);
    fc_msg_fresh_test(verbose);
    fc_msg_relay_test(verbose);
    fc_msg_relay_up_test(verbose);
    printf("OK\n");
}
