/* fc_broker_test.c: self-test of the broker actor over real sockets on 127.0.0.1. */
#include "fc_broker.h"
#include "fc_cdc.h"
#include "fc_curve.h"
#include "fc_error.h"
#include "fc_file.h"
#include "fc_hash.h"
#include "fc_manifest.h"
#include "fc_msg.h"
#include "fc_sockopt.h"
#include "fc_store.h"
#include "fc_store_config.h"
#include "fc_store_testdb.h"
#include "fc_test_blob.h"
#include "fc_test_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_TIMEOUT_MS 5000

/* Sends a request with the given req id on the DEALER. */
static void s_request(zsock_t *dealer, fc_msg_t **m_p, uint64_t req)
{
    (*m_p)->req = req;
    FC_CHECK(fc_msg_send(m_p, zsock_resolve(dealer)) == 0);
}

/* Receives the next reply; asserts it answers req and has the expected type. */
static fc_msg_t *s_reply(zsock_t *dealer, uint64_t req, fc_msg_type_t type)
{
    int err = 0;
    fc_msg_t *r = fc_msg_recv(zsock_resolve(dealer), NULL, &err);
    FC_CHECK(r);
    if (r->type != type)
        fprintf(stderr, "\nexpected %s, got %s (code %u: %s)\n", fc_msg_type_name(type),
                fc_msg_type_name(r->type), r->code, r->text);
    FC_CHECK(r->type == type);
    FC_CHECK(r->req == req);
    return r;
}

static fc_msg_t *s_call(zsock_t *dealer, fc_msg_t *m, uint64_t req, fc_msg_type_t type)
{
    s_request(dealer, &m, req);
    return s_reply(dealer, req, type);
}

/* Expects ERROR with code. */
static void s_expect_error(zsock_t *dealer, fc_msg_t *m, uint64_t req, int code)
{
    fc_msg_t *r = s_call(dealer, m, req, FC_MSG_ERROR);
    FC_CHECK(r->code == (uint32_t)code);
    fc_msg_destroy(&r);
}

static void s_expect_ok(zsock_t *dealer, fc_msg_t *m, uint64_t req, uint64_t serial)
{
    fc_msg_t *r = s_call(dealer, m, req, FC_MSG_OK);
    FC_CHECK(r->serial == serial);
    fc_msg_destroy(&r);
}

/* Next announcement that is not a heartbeat (or the heartbeat if want_heartbeat). */
static fc_msg_t *s_announcement(zsock_t *sub, bool want_heartbeat)
{
    while (true) {
        int err = 0;
        fc_msg_t *a = fc_msg_recv_announce(zsock_resolve(sub), &err);
        FC_CHECK(a);
        if ((a->type == FC_MSG_HEARTBEAT) == want_heartbeat)
            return a;
        fc_msg_destroy(&a);
    }
}

static fc_msg_t *s_put_chunk(const uint8_t *blob, const uint8_t *buf, size_t len, size_t i)
{
    size_t off = i * FC_CHUNK_SIZE;
    size_t clen = len - off < FC_CHUNK_SIZE ? len - off : FC_CHUNK_SIZE;
    fc_msg_t *m = fc_msg_new(FC_MSG_PUT_CHUNK);
    memcpy(m->blob, blob, FC_HASH_LEN);
    m->offset = off;
    fc_hash_buf(m->hash, buf + off, clen);
    m->data = zframe_new(buf + off, clen);
    return m;
}

/* BLOBS_QUERY's answer for blobs, checked against want (one 0/1 per blob). */
static void s_expect_held(zsock_t *dealer, const uint8_t (*blobs)[FC_HASH_LEN], size_t n,
                          const char *want, uint64_t req)
{
    fc_msg_t *m = fc_msg_new(FC_MSG_BLOBS_QUERY);
    fc_msg_set_bytes(m, blobs, n * FC_HASH_LEN);
    fc_msg_t *r = s_call(dealer, m, req, FC_MSG_BLOBS_STATE);
    FC_CHECK(r->bytes_len == n);
    for (size_t i = 0; i < n; i++)
        FC_CHECK(r->bytes[i] == (uint8_t)(want[i] - '0'));
    fc_msg_destroy(&r);
}

/* Small files batched (PROTOCOL.md 3.13) through the broker: many whole blobs in one
   request, a mismatched item refused by name with the items before it kept, then served;
   and a blob that differs from one of them by 100 bytes uploaded by chunks (UPLOAD_CHUNKS,
   3.14): only the chunks the broker does not hold are sent, and it serves the result. */
static void s_test_put_blobs(zsock_t *dealer)
{
    size_t lens[3] = {300, 200000, 0}; /* one chunk, several content-defined chunks, empty */
    uint8_t *bufs[3], blobs[3][FC_HASH_LEN];
    uint64_t x = 88172645463325252u;
    for (int b = 0; b < 3; b++) {
        bufs[b] = malloc(lens[b] + 1);
        FC_CHECK(bufs[b]);
        for (size_t i = 0; i < lens[b]; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift: cuts where content says */
            bufs[b][i] = (uint8_t)x;
        }
        fc_test_blob_id(blobs[b], bufs[b], lens[b]);
    }
    fc_cdc_t cdc;
    fc_cdc_init(&cdc, lens[1]);
    FC_CHECK(fc_cdc_cut(&cdc, bufs[1], lens[1]) < lens[1]);
    s_expect_held(dealer, (const uint8_t(*)[FC_HASH_LEN])blobs, 2, "00", 900);
    /* Item 2 carries item 1's content: refused by name, item 1 kept. */
    fc_msg_t *m = fc_msg_new(FC_MSG_PUT_BLOBS);
    fc_msg_put_blob_add(m, blobs[0], bufs[0], lens[0]);
    fc_msg_put_blob_add(m, blobs[1], bufs[0], lens[0]);
    fc_msg_t *r = s_call(dealer, m, 901, FC_MSG_ERROR);
    char hex[2 * FC_HASH_LEN + 1];
    FC_CHECK(r->code == FC_EHASH && strstr(r->text, fc_hash_hex(blobs[1], hex)) &&
             strstr(r->text, "item 2 of 2"));
    fc_msg_destroy(&r);
    s_expect_held(dealer, (const uint8_t(*)[FC_HASH_LEN])blobs, 2, "10", 902);
    /* All three in one request, the first held already: OK, and each served as stored. */
    m = fc_msg_new(FC_MSG_PUT_BLOBS);
    for (int b = 0; b < 3; b++)
        fc_msg_put_blob_add(m, blobs[b], bufs[b], lens[b]);
    s_expect_ok(dealer, m, 903, 0);
    s_expect_held(dealer, (const uint8_t(*)[FC_HASH_LEN])blobs, 3, "111", 904);
    for (int b = 0; b < 2; b++) {
        m = fc_msg_new(FC_MSG_GET_CHUNK);
        memcpy(m->blob, blobs[b], FC_HASH_LEN);
        m->length = lens[b];
        r = s_call(dealer, m, 905 + (uint64_t)b, FC_MSG_CHUNK);
        FC_CHECK(r->data && zframe_size(r->data) == lens[b] &&
                 memcmp(zframe_data(r->data), bufs[b], lens[b]) == 0);
        fc_msg_destroy(&r);
    }
    /* UPLOAD_CHUNKS of bufs[1] with 100 bytes changed: the broker copies the chunks it
       holds (bufs[1] was indexed as it was stored), the rest goes by PUT_CHUNK. */
    uint8_t *edit = malloc(lens[1]), edited[FC_HASH_LEN];
    FC_CHECK(edit);
    memcpy(edit, bufs[1], lens[1]);
    memset(edit + 100000, 0x42, 100);
    fc_test_blob_id(edited, edit, lens[1]);
    m = fc_msg_new(FC_MSG_UPLOAD_CHUNKS);
    memcpy(m->blob, edited, FC_HASH_LEN);
    m->size = lens[1];
    for (size_t off = 0, c; off < lens[1]; off += c) {
        uint8_t h[FC_HASH_LEN];
        c = fc_cdc_cut(&cdc, edit + off, lens[1] - off);
        fc_hash_buf(h, edit + off, c);
        fc_msg_chunk_ref_add(m, (uint32_t)c, h);
    }
    fc_msg_t *list = fc_msg_new(FC_MSG_UPLOAD_CHUNKS); /* kept to send the missing chunks */
    fc_msg_set_bytes(list, m->bytes, m->bytes_len);
    r = s_call(dealer, m, 920, FC_MSG_UPLOAD_STATE);
    uint64_t held = 0;
    for (size_t i = 0; i < r->nranges; i++)
        held += r->ranges[i].length;
    FC_CHECK(!r->flag && held > 0 && held < lens[1] && !memcmp(r->blob, edited, FC_HASH_LEN));
    uint64_t req = 921, off = 0;
    for (size_t i = 0; i < fc_msg_chunk_ref_count(list); i++) {
        const uint8_t *h;
        uint32_t c = fc_msg_chunk_ref_get(list, i, &h);
        bool have = false;
        for (size_t k = 0; k < r->nranges; k++)
            have |=
                r->ranges[k].offset <= off && off + c <= r->ranges[k].offset + r->ranges[k].length;
        if (!have) {
            m = fc_msg_new(FC_MSG_PUT_CHUNK);
            memcpy(m->blob, edited, FC_HASH_LEN);
            memcpy(m->hash, h, FC_HASH_LEN);
            m->offset = off;
            m->data = zframe_new(edit + off, c);
            fc_msg_t *ack = s_call(dealer, m, req++, FC_MSG_PUT_ACK);
            fc_msg_destroy(&ack);
        }
        off += c;
    }
    fc_msg_destroy(&r);
    fc_msg_destroy(&list);
    m = fc_msg_new(FC_MSG_BLOB_COMMIT);
    memcpy(m->blob, edited, FC_HASH_LEN);
    m->size = lens[1];
    s_expect_ok(dealer, m, req++, 0);
    m = fc_msg_new(FC_MSG_GET_CHUNK);
    memcpy(m->blob, edited, FC_HASH_LEN);
    m->length = lens[1];
    r = s_call(dealer, m, req++, FC_MSG_CHUNK);
    FC_CHECK(r->data && zframe_size(r->data) == lens[1] &&
             memcmp(zframe_data(r->data), edit, lens[1]) == 0);
    fc_msg_destroy(&r);
    free(edit);

    /* Malformed: a partial hash; no item. */
    m = fc_msg_new(FC_MSG_BLOBS_QUERY);
    fc_msg_set_bytes(m, blobs, FC_HASH_LEN + 3);
    s_expect_error(dealer, m, 907, FC_EPROTO);
    m = fc_msg_new(FC_MSG_PUT_BLOBS);
    s_expect_error(dealer, m, 908, FC_EPROTO);
    for (int b = 0; b < 3; b++)
        free(bufs[b]);
}

static void s_test_garbage(zsock_t *dealer, fc_broker_t *broker)
{
    fc_broker_stats_t before, after;
    FC_CHECK(fc_broker_stats(broker, &before) == 0);
    /* Not msgpack at all: dropped, no reply. */
    FC_CHECK(zstr_send(dealer, "garbage") == 0);
    /* Three frames of junk. */
    FC_CHECK(zstr_sendm(dealer, "a") == 0 && zstr_sendm(dealer, "b") == 0 &&
             zstr_send(dealer, "c") == 0);
    /* Many frames in one message. */
    for (int i = 0; i < 9; i++)
        FC_CHECK(zstr_sendm(dealer, "x") == 0);
    FC_CHECK(zstr_send(dealer, "x") == 0);
    /* Empty frame. */
    FC_CHECK(zstr_send(dealer, "") == 0);
    /* A msgpack array [1, 99, 77]: unknown type, but req 77 is readable. */
    const uint8_t unknown[] = {0x93, 0x01, 0x63, 0x4d};
    zframe_t *f = zframe_new(unknown, sizeof unknown);
    FC_CHECK(zframe_send(&f, dealer, 0) == 0);
    fc_msg_t *r = s_reply(dealer, 77, FC_MSG_ERROR);
    FC_CHECK(r->code == FC_EPROTO);
    fc_msg_destroy(&r);
    /* A reply type sent as a request. */
    fc_msg_t *m = fc_msg_new(FC_MSG_OK);
    s_expect_error(dealer, m, 78, FC_EPROTO);
    /* HELLO with a field of the wrong type: [1, 1, 79, 5, "x", "y"]. */
    const uint8_t badhello[] = {0x96, 0x01, 0x01, 0x4f, 0x05, 0xa1, 'x', 0xa1, 'y'};
    f = zframe_new(badhello, sizeof badhello);
    FC_CHECK(zframe_send(&f, dealer, 0) == 0);
    r = s_reply(dealer, 79, FC_MSG_ERROR);
    FC_CHECK(r->code == FC_EPROTO);
    fc_msg_destroy(&r);
    /* What a newer program sends, in this version: a type added after this broker
       ([2, 60, 81]), and STATUS_SUMMARY with a field more than it reads ([2, 49, 82, "", 5,
       6]). Refused as malformed, saying the requester is newer: upgrade the broker. */
    const uint8_t newtype[] = {0x93, 0x02, 0x3c, 0x51};
    f = zframe_new(newtype, sizeof newtype);
    FC_CHECK(zframe_send(&f, dealer, 0) == 0);
    r = s_reply(dealer, 81, FC_MSG_ERROR);
    FC_CHECK(r->code == FC_EPROTO && strstr(r->text, "message type 60 is not one this broker") &&
             strstr(r->text, "upgrade the broker"));
    fc_msg_destroy(&r);
    const uint8_t newfields[] = {0x96, 0x02, 0x31, 0x52, 0xa0, 0x05, 0x06};
    f = zframe_new(newfields, sizeof newfields);
    FC_CHECK(zframe_send(&f, dealer, 0) == 0);
    r = s_reply(dealer, 82, FC_MSG_ERROR);
    FC_CHECK(r->code == FC_EPROTO &&
             strstr(r->text, "STATUS_SUMMARY with 3 fields after the header, of which this "
                             "broker reads 2") &&
             strstr(r->text, "upgrade the broker"));
    fc_msg_destroy(&r);
    /* The broker still answers. */
    m = fc_msg_new(FC_MSG_HELLO);
    m->role = FC_ROLE_PUBLISHER;
    fc_msg_set_str(m->id, sizeof m->id, "pub");
    r = s_call(dealer, m, 80, FC_MSG_WELCOME);
    fc_msg_destroy(&r);
    FC_CHECK(fc_broker_stats(broker, &after) == 0);
    FC_CHECK(after.malformed - before.malformed == 9);
    FC_CHECK(after.requests - before.requests == 1);
}

/* A DEALER with CURVE client settings from secret cert path and the broker cert. */
static zsock_t *s_curve_dealer(const char *cert, const char *broker_cert, const char *endpoint)
{
    int err = 0;
    fc_curve_t *curve = fc_curve_new_client(cert, broker_cert, &err, NULL, 0);
    FC_CHECK(curve);
    zsock_t *dealer = zsock_new(ZMQ_DEALER);
    fc_sock_tune(zsock_resolve(dealer));
    fc_curve_apply(curve, dealer);
    fc_curve_destroy(&curve);
    zsock_set_rcvtimeo(dealer, S_TIMEOUT_MS);
    FC_CHECK(zsock_connect(dealer, "%s", endpoint) == 0);
    return dealer;
}

/* Refusals of one key in the burst of s_test_secure. */
#define S_BURST 40

/* The audit log of the broker in data has exactly want refusals of key, counting each
   summary entry ("N more refusals ...") as N, and some were summed up, not listed. */
static void s_check_denial_audits(const char *data, const char *key, unsigned want)
{
    int err = 0;
    char text[FC_MAX_TEXT + 1];
    fc_store_t *store = fc_store_testdb_new(data, &err, text, sizeof text);
    FC_CHECK(store);
    fc_audit_entry_t *list = NULL;
    size_t n = 0;
    FC_CHECK(fc_store_audit_list(store, 1000, &list, &n) == 0);
    unsigned listed = 0, summed = 0;
    for (size_t i = 0; i < n; i++) {
        if (!streq(list[i].action, "denied") || !streq(list[i].who, key))
            continue;
        unsigned more = 0;
        if (sscanf(list[i].detail, "%u more refusals", &more) == 1)
            summed += more;
        else
            listed++;
    }
    FC_CHECK(listed + summed == want);
    FC_CHECK(summed > 0 && listed <= want - summed);
    free(list);
    fc_store_destroy(&store);
}

/* Secure mode: no start without the broker cert; an enrolled agent key is served but refused
   a publisher's request (FC_EPERM, counted), and another agent key cannot speak as its agent
   id; an unknown key gets no reply; one secure broker per process, and another once it is
   gone. */
static void s_test_secure(const char *base, bool verbose)
{
    char data[300], other[300], path[400], agent[420], agent2[420], intruder[420];
    char broker_cert[400];
    char pub[FC_CURVE_Z85_LEN + 1], hex[65];
    snprintf(data, sizeof data, "%s/secure", base);
    snprintf(other, sizeof other, "%s/secure2", base);
    FC_CHECK(fc_mkdirs(data, 0700) == 0 && fc_mkdirs(other, 0700) == 0);
    char where[1024];
    fc_broker_config_t config = {.data_dir = data,
                                 .store = fc_store_testdb_where(data, where, sizeof where),
                                 .service = "tcp://127.0.0.1:*",
                                 .announce = "tcp://127.0.0.1:*",
                                 .quiet = !verbose,
                                 .verbose = verbose,
                                 .secure = true};
    int err = 0;
    char text[FC_MAX_TEXT + 1] = "";
    FC_CHECK(!fc_broker_new(&config, &err, text, sizeof text) && err == FC_ENOTFOUND);
    FC_CHECK(strstr(text, "fleetcast keygen --role broker"));

    snprintf(broker_cert, sizeof broker_cert, "%s/" FC_BROKER_CERT, data);
    FC_CHECK(fc_curve_generate(broker_cert, true, NULL) == 0);
    snprintf(path, sizeof path, "%s/" FC_BROKER_CERT, other);
    FC_CHECK(fc_curve_generate(path, true, NULL) == 0);
    snprintf(path, sizeof path, "%s/agent.cert", base);
    FC_CHECK(fc_curve_generate(path, false, pub) == 0);
    snprintf(agent, sizeof agent, "%s_secret", path);
    snprintf(path, sizeof path, "%s/intruder.cert", base);
    FC_CHECK(fc_curve_generate(path, false, NULL) == 0);
    snprintf(intruder, sizeof intruder, "%s_secret", path);
    fc_curve_key_hex(pub, hex);
    snprintf(path, sizeof path, "%s/keys/agents", data);
    FC_CHECK(fc_mkdirs(path, 0700) == 0);
    snprintf(path, sizeof path, "%s/keys/agents/%s.cert", data, hex);
    FC_CHECK(fc_curve_save_public(pub, path) == 0);
    snprintf(path, sizeof path, "%s/agent2.cert", base);
    FC_CHECK(fc_curve_generate(path, false, pub) == 0);
    snprintf(agent2, sizeof agent2, "%s_secret", path);
    fc_curve_key_hex(pub, hex);
    snprintf(path, sizeof path, "%s/keys/agents/%s.cert", data, hex);
    FC_CHECK(fc_curve_save_public(pub, path) == 0);

    fc_broker_t *broker = fc_broker_new(&config, &err, text, sizeof text);
    FC_CHECK(broker && err == FC_OK);
    fc_broker_config_t second = config;
    char where2[1024];
    second.data_dir = other;
    second.store = fc_store_testdb_where(other, where2, sizeof where2);
    FC_CHECK(!fc_broker_new(&second, &err, text, sizeof text) && err == FC_EINVAL);
    FC_CHECK(strstr(text, "ZAP"));

    const char *ep = fc_broker_service_endpoint(broker);
    zsock_t *dealer = s_curve_dealer(agent, broker_cert, ep);
    fc_msg_t *m = fc_msg_new(FC_MSG_HELLO);
    m->role = FC_ROLE_AGENT;
    fc_msg_set_str(m->id, sizeof m->id, "a1");
    fc_msg_set_str(m->channel, sizeof m->channel, "stable");
    fc_msg_t *r = s_call(dealer, m, 1, FC_MSG_WELCOME);
    fc_msg_destroy(&r);
    s_expect_error(dealer, fc_msg_new(FC_MSG_AUDIT), 2, FC_EPERM);
    s_expect_error(dealer, fc_msg_new(FC_MSG_STATUS), 3, FC_EPERM);
    fc_broker_stats_t stats;
    FC_CHECK(fc_broker_stats(broker, &stats) == 0 && stats.denied == 2);
    zsock_destroy(&dealer);

    /* a1 belongs to the first key: another enrolled agent key cannot speak as a1 (FC_EPERM,
       counted), but it takes an id of its own. */
    dealer = s_curve_dealer(agent2, broker_cert, ep);
    m = fc_msg_new(FC_MSG_HELLO);
    m->role = FC_ROLE_AGENT;
    fc_msg_set_str(m->id, sizeof m->id, "a1");
    s_expect_error(dealer, m, 5, FC_EPERM);
    m = fc_msg_new(FC_MSG_CONFIG_ACK);
    fc_msg_set_str(m->id, sizeof m->id, "a1");
    fc_msg_set_str(m->state, sizeof m->state, "failed");
    s_expect_error(dealer, m, 6, FC_EPERM);
    m = fc_msg_new(FC_MSG_HELLO);
    m->role = FC_ROLE_AGENT;
    fc_msg_set_str(m->id, sizeof m->id, "a2");
    r = s_call(dealer, m, 7, FC_MSG_WELCOME);
    fc_msg_destroy(&r);
    FC_CHECK(fc_broker_stats(broker, &stats) == 0 && stats.denied == 4);
    /* A burst of refusals: at most FC_BROKER_AUTH_MAX_DENY_AUDITS a second are audited one
       by one, the rest summed up in an entry once the second is over (every heartbeat). */
    for (uint64_t req = 100; req < 100 + S_BURST; req++) {
        m = fc_msg_new(FC_MSG_CONFIG_ACK);
        fc_msg_set_str(m->id, sizeof m->id, "a1");
        fc_msg_set_str(m->state, sizeof m->state, "failed"); /* else malformed (fc_ack.h) */
        s_expect_error(dealer, m, req, FC_EPERM);
    }
    zclock_sleep(2200);
    zsock_destroy(&dealer);

    dealer = s_curve_dealer(intruder, broker_cert, ep);
    zsock_set_rcvtimeo(dealer, 500);
    m = fc_msg_new(FC_MSG_HELLO);
    m->role = FC_ROLE_AGENT;
    s_request(dealer, &m, 4);
    r = fc_msg_recv(zsock_resolve(dealer), NULL, &err);
    FC_CHECK(!r); /* ZAP refused the handshake: nothing reaches the broker */
    FC_CHECK(fc_broker_stats(broker, &stats) == 0 && stats.denied == 4 + S_BURST &&
             stats.requests == 6 + S_BURST);
    zsock_destroy(&dealer);
    fc_broker_destroy(&broker);
    s_check_denial_audits(data, pub, 2 + S_BURST);

    broker = fc_broker_new(&second, &err, text, sizeof text);
    FC_CHECK(broker);
    fc_broker_destroy(&broker);
}

void fc_broker_test(bool verbose)
{
    printf(" * fc_broker: ");
    FC_CHECK(fc_crypto_init() == 0);
    char base[] = "/tmp/fc_broker_test.XXXXXX";
    FC_CHECK(mkdtemp(base));
    char data[300], tree[300];
    snprintf(data, sizeof data, "%s/data", base);
    snprintf(tree, sizeof tree, "%s/tree", base);
    FC_CHECK(fc_mkdirs(data, 0755) == 0 && fc_mkdirs(tree, 0755) == 0);

    /* A port already in use is reported, not fatal. */
    char where[1024];
    fc_broker_config_t config = {.data_dir = data,
                                 .store = fc_store_testdb_where(data, where, sizeof where),
                                 .service = "tcp://127.0.0.1:*",
                                 .announce = "tcp://127.0.0.1:*",
                                 .quiet = !verbose,
                                 .verbose = verbose,
                                 .heartbeat_ms = 100};
    int err = -1;
    char text[FC_MAX_TEXT + 1];
    fc_broker_t *broker = fc_broker_new(&config, &err, text, sizeof text);
    FC_CHECK(broker && err == FC_OK);
    const char *service = fc_broker_service_endpoint(broker);
    FC_CHECK(strncmp(service, "tcp://127.0.0.1:", 16) == 0 && strcmp(service + 16, "*") != 0);
    fc_broker_config_t clash = config;
    clash.service = service;
    char where2[1024];
    clash.data_dir = base;
    clash.store = fc_store_testdb_where(base, where2, sizeof where2);
    text[0] = '\0';
    FC_CHECK(fc_broker_new(&clash, &err, text, sizeof text) == NULL && err != FC_OK);
    FC_CHECK(strstr(text, "cannot bind") && strstr(text, service));
    clash.service = "tcp://127.0.0.1:*";
    clash.data_dir = "/nonexistent/fleetcast";
    clash.store = NULL;
    FC_CHECK(fc_broker_new(&clash, &err, text, sizeof text) == NULL && err == FC_EIO);

    zsock_t *dealer = zsock_new(ZMQ_DEALER);
    FC_CHECK(dealer);
    fc_sock_tune(zsock_resolve(dealer));
    zsock_set_rcvtimeo(dealer, S_TIMEOUT_MS);
    FC_CHECK(zsock_connect(dealer, "%s", service) == 0);

    /* HELLO -> WELCOME names the announce endpoint. */
    fc_msg_t *m = fc_msg_new(FC_MSG_HELLO);
    m->role = FC_ROLE_AGENT;
    fc_msg_set_str(m->id, sizeof m->id, "agent-1");
    fc_msg_set_str(m->channel, sizeof m->channel, "stable");
    fc_msg_t *r = s_call(dealer, m, 1, FC_MSG_WELCOME);
    uint64_t epoch = r->epoch;
    FC_CHECK(epoch != 0 && r->seq == 0 && r->heartbeat_ms == 100);
    FC_CHECK(streq(r->endpoint, fc_broker_announce_endpoint(broker)));
    zsock_t *sub = zsock_new(ZMQ_SUB);
    FC_CHECK(sub);
    fc_sock_tune(zsock_resolve(sub));
    zsock_set_rcvtimeo(sub, S_TIMEOUT_MS);
    zsock_set_subscribe(sub, FC_TOPIC_RELEASE);
    zsock_set_subscribe(sub, FC_TOPIC_HEARTBEAT);
    FC_CHECK(zsock_connect(sub, "%s", r->endpoint) == 0);
    fc_msg_destroy(&r);
    /* A role outside fc_role.h's table is malformed: [1, 1, 2, "wizard", "", ""]. */
    const uint8_t wizard[] = {0x96, 0x01, 0x01, 0x02, 0xa6, 'w', 'i',
                              'z',  'a',  'r',  'd',  0xa0, 0xa0};
    zframe_t *f = zframe_new(wizard, sizeof wizard);
    FC_CHECK(zframe_send(&f, dealer, 0) == 0);
    r = s_reply(dealer, 2, FC_MSG_ERROR);
    FC_CHECK(r->code == FC_EPROTO);
    fc_msg_destroy(&r);

    /* A heartbeat proves the subscription is live before anything is announced. */
    fc_msg_t *a = s_announcement(sub, true);
    FC_CHECK(a->epoch == epoch && a->seq == 0);
    fc_msg_destroy(&a);

    /* A release of one file of two and a bit chunks. */
    size_t len = 2 * FC_CHUNK_SIZE + 4321;
    uint8_t *buf = malloc(len);
    FC_CHECK(buf);
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(i * 7 + i / 1000);
    char path[400];
    snprintf(path, sizeof path, "%s/app.bin", tree);
    FC_CHECK(fc_write_file_atomic(path, buf, len, 0755) == 0);
    fc_manifest_t *man = fc_manifest_new();
    FC_CHECK(fc_manifest_scan_dir(man, tree, NULL, NULL) == FC_OK && man->nfiles == 1);
    snprintf(man->product, sizeof man->product, "demo");
    snprintf(man->channel, sizeof man->channel, "stable");
    snprintf(man->version, sizeof man->version, "1.2.3");
    man->serial = 5;
    man->created = 1700000000;
    uint8_t blob[FC_HASH_LEN];
    memcpy(blob, man->files[0].hash, FC_HASH_LEN);
    fc_signkey_t key;
    fc_signkey_generate(&key);
    size_t mlen;
    uint8_t *signed_bytes = fc_manifest_sign(man, &key, &mlen);
    FC_CHECK(signed_bytes);
    fc_manifest_destroy(&man);

    /* Before the upload the commit names the missing blob. */
    m = fc_msg_new(FC_MSG_RELEASE_COMMIT);
    fc_msg_set_bytes(m, signed_bytes, mlen);
    r = s_call(dealer, m, 3, FC_MSG_ERROR);
    char hex[2 * FC_HASH_LEN + 1];
    FC_CHECK(r->code == FC_EMISSING && strstr(r->text, fc_hash_hex(blob, hex)));
    fc_msg_destroy(&r);

    /* Upload: query, one chunk, query again (resumes), the rest, commit. */
    m = fc_msg_new(FC_MSG_UPLOAD_QUERY);
    memcpy(m->blob, blob, FC_HASH_LEN);
    m->size = len;
    r = s_call(dealer, m, 4, FC_MSG_UPLOAD_STATE);
    FC_CHECK(!r->flag && r->nranges == 0 && !memcmp(r->blob, blob, FC_HASH_LEN));
    fc_msg_destroy(&r);
    r = s_call(dealer, s_put_chunk(blob, buf, len, 1), 5, FC_MSG_PUT_ACK);
    FC_CHECK(r->offset == FC_CHUNK_SIZE && !memcmp(r->blob, blob, FC_HASH_LEN));
    fc_msg_destroy(&r);
    m = fc_msg_new(FC_MSG_UPLOAD_QUERY);
    memcpy(m->blob, blob, FC_HASH_LEN);
    m->size = len;
    r = s_call(dealer, m, 6, FC_MSG_UPLOAD_STATE);
    FC_CHECK(!r->flag && r->nranges == 1);
    FC_CHECK(r->ranges[0].offset == FC_CHUNK_SIZE && r->ranges[0].length == FC_CHUNK_SIZE);
    fc_msg_destroy(&r);
    m = s_put_chunk(blob, buf, len, 0);
    m->hash[0] ^= 1;
    s_expect_error(dealer, m, 7, FC_EHASH);
    m = fc_msg_new(FC_MSG_BLOB_COMMIT);
    memcpy(m->blob, blob, FC_HASH_LEN);
    m->size = len;
    s_expect_error(dealer, m, 8, FC_EMISSING);
    /* Two PUT_CHUNKs in flight at once. */
    m = s_put_chunk(blob, buf, len, 0);
    s_request(dealer, &m, 9);
    m = s_put_chunk(blob, buf, len, 2);
    s_request(dealer, &m, 10);
    r = s_reply(dealer, 9, FC_MSG_PUT_ACK);
    fc_msg_destroy(&r);
    r = s_reply(dealer, 10, FC_MSG_PUT_ACK);
    FC_CHECK(r->offset == 2 * FC_CHUNK_SIZE);
    fc_msg_destroy(&r);
    m = fc_msg_new(FC_MSG_BLOB_COMMIT);
    memcpy(m->blob, blob, FC_HASH_LEN);
    m->size = len;
    s_expect_ok(dealer, m, 11, 0);

    /* Commit: OK with the serial, and ANNOUNCE with the next sequence. */
    m = fc_msg_new(FC_MSG_RELEASE_COMMIT);
    fc_msg_set_bytes(m, signed_bytes, mlen);
    s_expect_ok(dealer, m, 12, 5);
    a = s_announcement(sub, false);
    FC_CHECK(a->type == FC_MSG_ANNOUNCE && a->epoch == epoch && a->seq == 1 && a->serial == 5);
    FC_CHECK(streq(a->channel, "stable") && streq(a->version, "1.2.3"));
    fc_msg_destroy(&a);
    /* An identical re-commit is OK and announces nothing: the next heartbeat carries seq 1
       and the announce counter stays at one. */
    m = fc_msg_new(FC_MSG_RELEASE_COMMIT);
    fc_msg_set_bytes(m, signed_bytes, mlen);
    s_expect_ok(dealer, m, 13, 5);
    a = s_announcement(sub, true);
    FC_CHECK(a->seq == 1 && a->epoch == epoch);
    fc_msg_destroy(&a);
    fc_broker_stats_t stats;
    FC_CHECK(fc_broker_stats(broker, &stats) == 0 && stats.announced == 1);

    /* SYNC returns the latest of every channel and this channel's signed manifest. */
    m = fc_msg_new(FC_MSG_SYNC);
    fc_msg_set_str(m->channel, sizeof m->channel, "stable");
    r = s_call(dealer, m, 14, FC_MSG_SNAPSHOT);
    FC_CHECK(r->epoch == epoch && r->seq == 1 && r->nreleases == 1);
    FC_CHECK(r->releases[0].serial == 5 && r->releases[0].size == len);
    FC_CHECK(r->bytes_len == mlen && !memcmp(r->bytes, signed_bytes, mlen));
    fc_msg_destroy(&r);
    m = fc_msg_new(FC_MSG_SYNC);
    fc_msg_set_str(m->channel, sizeof m->channel, "beta");
    r = s_call(dealer, m, 15, FC_MSG_SNAPSHOT);
    FC_CHECK(r->nreleases == 1 && r->bytes_len == 0);
    fc_msg_destroy(&r);
    /* An agent naming itself: no rollout, so the same latest release; an invalid id is
       refused, not served as nobody. */
    m = fc_msg_new(FC_MSG_SYNC);
    fc_msg_set_str(m->channel, sizeof m->channel, "stable");
    fc_msg_set_str(m->id, sizeof m->id, "host-1");
    r = s_call(dealer, m, 60, FC_MSG_SNAPSHOT);
    FC_CHECK(r->bytes_len == mlen && !memcmp(r->bytes, signed_bytes, mlen));
    fc_msg_destroy(&r);
    m = fc_msg_new(FC_MSG_SYNC);
    fc_msg_set_str(m->channel, sizeof m->channel, "stable");
    fc_msg_set_str(m->id, sizeof m->id, "../etc");
    s_expect_error(dealer, m, 61, FC_EINVAL);

    /* GET_CHUNK: the right bytes across a chunk boundary, many in flight; errors. */
    for (uint64_t i = 0; i < 8; i++) {
        m = fc_msg_new(FC_MSG_GET_CHUNK);
        memcpy(m->blob, blob, FC_HASH_LEN);
        m->offset = FC_CHUNK_SIZE - 100 + i * 1000;
        m->length = 5000;
        s_request(dealer, &m, 100 + i);
    }
    for (uint64_t i = 0; i < 8; i++) {
        r = s_reply(dealer, 100 + i, FC_MSG_CHUNK);
        FC_CHECK(r->offset == FC_CHUNK_SIZE - 100 + i * 1000 && r->data);
        FC_CHECK(zframe_size(r->data) == 5000);
        FC_CHECK(!memcmp(zframe_data(r->data), buf + r->offset, 5000));
        fc_msg_destroy(&r);
    }
    m = fc_msg_new(FC_MSG_GET_CHUNK);
    memcpy(m->blob, blob, FC_HASH_LEN);
    m->offset = len - 10;
    m->length = 10;
    r = s_call(dealer, m, 16, FC_MSG_CHUNK);
    FC_CHECK(!memcmp(zframe_data(r->data), buf + len - 10, 10));
    fc_msg_destroy(&r);
    m = fc_msg_new(FC_MSG_GET_CHUNK);
    memcpy(m->blob, blob, FC_HASH_LEN);
    m->offset = len - 10;
    m->length = 11;
    s_expect_error(dealer, m, 17, FC_EINVAL);
    m = fc_msg_new(FC_MSG_GET_CHUNK);
    memcpy(m->blob, blob, FC_HASH_LEN);
    m->offset = 0;
    m->length = FC_MAX_CHUNK_REQ + 1;
    s_expect_error(dealer, m, 18, FC_EINVAL);
    m = fc_msg_new(FC_MSG_GET_CHUNK);
    fc_hash_buf(m->blob, "nope", 4);
    m->length = 1;
    s_expect_error(dealer, m, 19, FC_ENOTFOUND);

    /* LIST, REPORT, STATUS. */
    m = fc_msg_new(FC_MSG_LIST);
    r = s_call(dealer, m, 20, FC_MSG_LIST_REPLY);
    FC_CHECK(r->nreleases == 1 && streq(r->releases[0].version, "1.2.3"));
    fc_msg_destroy(&r);
    m = fc_msg_new(FC_MSG_REPORT);
    m->agents = calloc(1, sizeof *m->agents);
    FC_CHECK(m->agents);
    m->nagents = 1;
    fc_msg_set_str(m->agents[0].id, sizeof m->agents[0].id, "agent-1");
    fc_msg_set_str(m->agents[0].channel, sizeof m->agents[0].channel, "stable");
    fc_msg_set_str(m->agents[0].version, sizeof m->agents[0].version, "1.2.3");
    fc_msg_set_str(m->agents[0].state, sizeof m->agents[0].state, "installed");
    m->agents[0].done = m->agents[0].total = len;
    s_expect_ok(dealer, m, 21, 0);
    m = fc_msg_new(FC_MSG_STATUS);
    fc_msg_set_str(m->channel, sizeof m->channel, "stable");
    r = s_call(dealer, m, 22, FC_MSG_STATUS_REPLY);
    FC_CHECK(r->nagents == 1 && streq(r->agents[0].state, "installed"));
    FC_CHECK(r->agents[0].total == len && r->agents[0].last_seen > 0);
    fc_msg_destroy(&r);

    /* Reports sent back to back share one transaction: each still gets its own answer, in
       order, a bad one fails alone, and a request of another kind in between is served
       after what came before it. */
    for (int i = 0; i < 41; i++) {
        m = fc_msg_new(FC_MSG_REPORT);
        m->agents = calloc(1, sizeof *m->agents);
        FC_CHECK(m->agents);
        m->nagents = 1;
        snprintf(m->agents[0].id, sizeof m->agents[0].id, i == 20 ? "bad id!" : "batch-%d", i);
        fc_msg_set_str(m->agents[0].channel, sizeof m->agents[0].channel, "stable");
        fc_msg_set_str(m->agents[0].state, sizeof m->agents[0].state, "installed");
        s_request(dealer, &m, 100 + (uint64_t)i);
        if (i == 30) {
            m = fc_msg_new(FC_MSG_LIST);
            s_request(dealer, &m, 99);
        }
    }
    for (int i = 0; i < 41; i++) {
        r = s_reply(dealer, 100 + (uint64_t)i, i == 20 ? FC_MSG_ERROR : FC_MSG_OK);
        FC_CHECK(i != 20 || r->code == FC_EINVAL);
        fc_msg_destroy(&r);
        if (i == 30) {
            r = s_reply(dealer, 99, FC_MSG_LIST_REPLY);
            fc_msg_destroy(&r);
        }
    }
    m = fc_msg_new(FC_MSG_STATUS);
    fc_msg_set_str(m->channel, sizeof m->channel, "stable");
    r = s_call(dealer, m, 24, FC_MSG_STATUS_REPLY);
    FC_CHECK(r->nagents == 41); /* agent-1 and the 40 good ones */
    fc_msg_destroy(&r);

    s_test_put_blobs(dealer);
    /* Paging: pages of 16 by id, the last one saying no more; a cursor that is no agent id,
       an unknown state or a LIST cursor that is no number are FC_EINVAL, not a crash. */
    size_t paged = 0;
    char cursor[FC_MAX_NAME + 1] = "";
    for (uint64_t page = 0; page < 10; page++) {
        m = fc_msg_new(FC_MSG_STATUS);
        m->limit = 16;
        fc_msg_set_str(m->cursor, sizeof m->cursor, cursor);
        r = s_call(dealer, m, 300 + page, FC_MSG_STATUS_REPLY);
        FC_CHECK(r->limit == 16 && r->nagents <= 16 && r->nagents > 0);
        FC_CHECK(!*cursor || strcmp(r->agents[0].id, cursor) > 0);
        paged += r->nagents;
        fc_msg_set_str(cursor, sizeof cursor, r->agents[r->nagents - 1].id);
        bool more = r->more;
        fc_msg_destroy(&r);
        if (!more)
            break;
    }
    FC_CHECK(paged == 41);
    m = fc_msg_new(FC_MSG_STATUS);
    m->limit = 5;
    fc_msg_set_str(m->cursor, sizeof m->cursor, "no/such id");
    s_expect_error(dealer, m, 320, FC_EINVAL);
    m = fc_msg_new(FC_MSG_STATUS);
    m->limit = 5;
    fc_msg_set_str(m->state, sizeof m->state, "sleeping");
    s_expect_error(dealer, m, 321, FC_EINVAL);
    m = fc_msg_new(FC_MSG_STATUS);
    m->limit = 100;
    fc_msg_set_str(m->state, sizeof m->state, "installed");
    r = s_call(dealer, m, 322, FC_MSG_STATUS_REPLY);
    FC_CHECK(r->nagents == 41 && !r->more);
    fc_msg_destroy(&r);
    m = fc_msg_new(FC_MSG_LIST);
    m->limit = 5;
    fc_msg_set_str(m->cursor, sizeof m->cursor, "12abc");
    s_expect_error(dealer, m, 323, FC_EINVAL);
    /* A LIST cursor is "SEQ.ID" (a position in (seq, id) order: seq alone need not be
       unique), or "SEQ" as older brokers named it; anything else is refused. */
    const char *bad[] = {"3.x", "3.0", ".5", "3.", "0.1", "3.1.1", "-3.1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        m = fc_msg_new(FC_MSG_LIST);
        m->limit = 5;
        fc_msg_set_str(m->cursor, sizeof m->cursor, bad[i]);
        s_expect_error(dealer, m, 340 + i, FC_EINVAL);
    }
    const char *good[] = {"999999.1", "999999"};
    for (size_t i = 0; i < 2; i++) {
        m = fc_msg_new(FC_MSG_LIST);
        m->limit = 5;
        fc_msg_set_str(m->cursor, sizeof m->cursor, good[i]);
        r = s_call(dealer, m, 350 + i, FC_MSG_LIST_REPLY);
        FC_CHECK(r->nreleases == 1 && !r->more);
        fc_msg_destroy(&r);
    }
    m = fc_msg_new(FC_MSG_AUDIT);
    m->limit = 5;
    fc_msg_set_str(m->cursor, sizeof m->cursor, "-1");
    s_expect_error(dealer, m, 325, FC_EINVAL);
    m = fc_msg_new(FC_MSG_AUDIT);
    m->limit = 1;
    r = s_call(dealer, m, 326, FC_MSG_AUDIT_REPLY);
    FC_CHECK(r->limit == 1 && r->naudit <= 1 && (!r->more || *r->cursor));
    fc_msg_destroy(&r);
    /* Past FC_MAX_LIST agents, a client that does not page is told so, never sent a list
       silently cut; one that pages gets them all. Reports in windows of 16 in flight (within the
       HWMs). */
    for (int i = 0; i < FC_MAX_LIST; i += 16) {
        for (int k = i; k < i + 16 && k < FC_MAX_LIST; k++) {
            m = fc_msg_new(FC_MSG_REPORT);
            m->agents = calloc(1, sizeof *m->agents);
            FC_CHECK(m->agents);
            m->nagents = 1;
            snprintf(m->agents[0].id, sizeof m->agents[0].id, "many-%05d", k);
            fc_msg_set_str(m->agents[0].channel, sizeof m->agents[0].channel, "wide");
            snprintf(m->agents[0].version, sizeof m->agents[0].version, "v%05d", k);
            fc_msg_set_str(m->agents[0].state, sizeof m->agents[0].state, "idle");
            s_request(dealer, &m, 1000 + (uint64_t)k);
        }
        for (int k = i; k < i + 16 && k < FC_MAX_LIST; k++) {
            r = s_reply(dealer, 1000 + (uint64_t)k, FC_MSG_OK);
            fc_msg_destroy(&r);
        }
    }
    m = fc_msg_new(FC_MSG_STATUS); /* 41 + FC_MAX_LIST agents, no paging */
    s_expect_error(dealer, m, 327, FC_ETOOBIG);
    m = fc_msg_new(FC_MSG_STATUS);
    fc_msg_set_str(m->channel, sizeof m->channel, "stable"); /* 41 fit */
    r = s_call(dealer, m, 328, FC_MSG_STATUS_REPLY);
    FC_CHECK(r->nagents == 41 && !r->more && r->limit == 0);
    fc_msg_destroy(&r);
    m = fc_msg_new(FC_MSG_STATUS);
    m->limit = FC_MAX_LIST;
    r = s_call(dealer, m, 329, FC_MSG_STATUS_REPLY);
    FC_CHECK(r->nagents == FC_MAX_LIST && r->more);
    fc_msg_destroy(&r);
    m = fc_msg_new(FC_MSG_STATUS_SUMMARY);
    fc_msg_set_str(m->channel, sizeof m->channel, "stable");
    r = s_call(dealer, m, 324, FC_MSG_STATUS_SUMMARY_REPLY);
    /* One row per version: agent-1 runs 1.2.3, the batch reported none. */
    FC_CHECK(r->ncounts == 2 && r->counts[0].agents + r->counts[1].agents == 41);
    FC_CHECK(streq(r->counts[0].state, "installed") && streq(r->counts[1].state, "installed"));
    fc_msg_destroy(&r);
    /* Each "wide" agent runs a version of its own: FC_MAX_LIST groups in "wide", more in
       all. A summary request without a limit (a client from before it) is refused rather
       than cut; one with a limit gets what fits and is told what was left out (issue 19). */
    m = fc_msg_new(FC_MSG_STATUS_SUMMARY);
    s_expect_error(dealer, m, 330, FC_ETOOBIG);
    m = fc_msg_new(FC_MSG_STATUS_SUMMARY);
    fc_msg_set_str(m->channel, sizeof m->channel, "wide"); /* exactly fits */
    r = s_call(dealer, m, 331, FC_MSG_STATUS_SUMMARY_REPLY);
    FC_CHECK(r->ncounts == FC_MAX_LIST && r->left_out == 0);
    fc_msg_destroy(&r);
    m = fc_msg_new(FC_MSG_STATUS_SUMMARY);
    fc_msg_set_str(m->channel, sizeof m->channel, "wide");
    m->limit = 100;
    r = s_call(dealer, m, 332, FC_MSG_STATUS_SUMMARY_REPLY);
    FC_CHECK(r->ncounts == 100 && streq(r->counts[99].version, "v00099"));
    FC_CHECK(r->left_out == FC_MAX_LIST - 100 && r->groups_left_out == FC_MAX_LIST - 100 &&
             r->agents_left_out == FC_MAX_LIST - 100);
    fc_msg_destroy(&r);
    m = fc_msg_new(FC_MSG_STATUS_SUMMARY);
    m->limit = FC_MAX_LIST;
    r = s_call(dealer, m, 333, FC_MSG_STATUS_SUMMARY_REPLY);
    FC_CHECK(r->ncounts == FC_MAX_LIST && r->groups_left_out > 0 && r->agents_left_out > 0 &&
             r->left_out >= r->groups_left_out);
    fc_msg_destroy(&r);

    s_test_garbage(dealer, broker);

    /* A peer that keeps sending garbage is ignored; others are still served. */
    zsock_t *pest = zsock_new(ZMQ_DEALER);
    FC_CHECK(pest);
    zsock_set_rcvtimeo(pest, 300);
    FC_CHECK(zsock_connect(pest, "%s", service) == 0);
    for (int i = 0; i < FC_BROKER_MAX_BAD; i++)
        FC_CHECK(zstr_send(pest, "junk") == 0);
    m = fc_msg_new(FC_MSG_HELLO);
    m->role = FC_ROLE_PUBLISHER;
    s_request(pest, &m, 1);
    FC_CHECK(fc_msg_recv(zsock_resolve(pest), NULL, &err) == NULL);
    FC_CHECK(fc_broker_stats(broker, &stats) == 0 && stats.ignored == 1);
    zsock_destroy(&pest);
    m = fc_msg_new(FC_MSG_HELLO);
    m->role = FC_ROLE_PUBLISHER;
    r = s_call(dealer, m, 23, FC_MSG_WELCOME);
    fc_msg_destroy(&r);

    zsock_destroy(&sub);
    zsock_destroy(&dealer);
    fc_broker_destroy(&broker);
    fc_broker_destroy(&broker); /* safe on NULL */

    /* A restarted broker has a new epoch and keeps its sequence and releases. */
    broker = fc_broker_new(&config, &err, text, sizeof text);
    FC_CHECK(broker);
    dealer = zsock_new(ZMQ_DEALER);
    zsock_set_rcvtimeo(dealer, S_TIMEOUT_MS);
    FC_CHECK(zsock_connect(dealer, "%s", fc_broker_service_endpoint(broker)) == 0);
    m = fc_msg_new(FC_MSG_HELLO);
    m->role = FC_ROLE_PUBLISHER;
    fc_msg_set_str(m->id, sizeof m->id, "pub");
    r = s_call(dealer, m, 1, FC_MSG_WELCOME);
    FC_CHECK(r->seq == 1 && r->epoch != epoch);
    fc_msg_destroy(&r);
    m = fc_msg_new(FC_MSG_STATUS); /* the batched reports were on disk */
    fc_msg_set_str(m->channel, sizeof m->channel, "stable");
    r = s_call(dealer, m, 2, FC_MSG_STATUS_REPLY);
    FC_CHECK(r->nagents == 41);
    fc_msg_destroy(&r);
    zsock_destroy(&dealer);
    fc_broker_destroy(&broker);

    s_test_secure(base, verbose);

    free(buf);
    free(signed_bytes);
    fc_signkey_wipe(&key);
    FC_CHECK(fc_remove_tree(base) == 0);
    if (verbose)
        printf("(hello, upload, commit, announce, sync, chunks, garbage, restart, curve) ");
    printf("OK\n");
}
