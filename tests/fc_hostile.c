/* fc_hostile.c: test tool that plays a hostile peer: garbage requests at a broker, or a fake
   broker that answers agents with garbage, so the suites can show nobody crashes. */
#include <czmq.h>
#include <stdio.h>
#include <string.h>

#include "fc_config.h"
#include "fc_curve.h"
#include "fc_hash.h"
#include "fc_msg.h"
#include "fc_util.h"

static int s_usage(void)
{
    fprintf(stderr, "usage: fc_hostile [--broker-key KEY --cert FILE | --server-cert FILE |\n"
                    "                  --insecure] MODE ...\n"
                    "       fc_hostile client ENDPOINT   send malformed requests, then check the\n"
                    "                                    broker still answers a valid HELLO\n"
                    "       fc_hostile config ENDPOINT   send config requests with hostile\n"
                    "                                    content (bad revisions, odd ids, wrong\n"
                    "                                    field types); each must be answered or\n"
                    "                                    dropped, and the broker keep serving\n"
                    "       fc_hostile broker SERVICE ANNOUNCE SECONDS   answer everything with\n"
                    "                                    garbage for SECONDS\n");
    return 2;
}

/* A DEALER to endpoint, with CURVE when curve is set (the test broker's keys). */
static zsock_t *s_dealer(const char *endpoint, const fc_curve_t *curve)
{
    zsock_t *dealer = zsock_new(ZMQ_DEALER);
    fc_sock_tune(zsock_resolve(dealer));
    fc_curve_apply(curve, dealer);
    zsock_connect(dealer, "%s", endpoint);
    return dealer;
}

static void s_send_raw(zsock_t *sock, const void *buf, size_t len)
{
    zframe_t *f = zframe_new(buf, len);
    zframe_send(&f, sock, 0);
}

/* Returns 0 if the broker answers a proper HELLO with WELCOME within two seconds. */
static int s_still_serving(zsock_t *dealer, const char *after)
{
    fc_msg_t *hello = fc_msg_new(FC_MSG_HELLO);
    hello->req = 4242;
    fc_msg_set_str(hello->role, sizeof hello->role, "publisher");
    fc_msg_set_str(hello->id, sizeof hello->id, "hostile");
    fc_msg_send(&hello, zsock_resolve(dealer));
    zpoller_t *poller = zpoller_new(dealer, NULL);
    int64_t deadline = zclock_mono() + 2000;
    int rc = 1;
    while (rc && zclock_mono() < deadline) {
        if (!zpoller_wait(poller, 200))
            continue;
        int err = 0;
        fc_msg_t *reply = fc_msg_recv(zsock_resolve(dealer), NULL, &err);
        if (reply && reply->type == FC_MSG_WELCOME && reply->req == 4242)
            rc = 0;
        fc_msg_destroy(&reply);
    }
    zpoller_destroy(&poller);
    printf("%s: broker %s\n", after, rc ? "NOT ANSWERING" : "still serving");
    return rc;
}

static int s_client(const char *endpoint, const fc_curve_t *curve)
{
    int failures = 0;
    /* Each case on its own connection: the broker may drop a peer that sent garbage. */
    const struct {
        const char *name;
        const char *bytes;
        size_t len;
    } cases[] = {
        {"empty frame", "", 0},
        {"not msgpack", "\xc1\xc1\xc1", 3},
        {"truncated array", "\x93\x01", 2},
        {"huge array count", "\xdd\x7f\xff\xff\xff", 5},
        {"huge string", "\x93\x01\x01\xdb\xff\xff\xff\xff", 8},
        {"unknown type", "\x93\x01\xcd\x03\xe7\x01", 6},
        {"wrong version", "\x93\x09\x01\x01", 4},
        {"wrong field type", "\x96\x01\x01\x01\x01\x01\x01", 7},
        {"trailing bytes", "\x93\x01\x0d\x01\xa0\xc0", 6},
        {"GET_CHUNK of unknown blob",
         "\x96\x01\x05\x01\xc4\x20"
         "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\x00\x10",
         40},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        zsock_t *dealer = s_dealer(endpoint, curve);
        s_send_raw(dealer, cases[i].bytes, cases[i].len);
        failures += s_still_serving(dealer, cases[i].name);
        zsock_destroy(&dealer);
    }
    /* Three frames where one is allowed, and a frame over the size limit. */
    zsock_t *dealer = s_dealer(endpoint, curve);
    zstr_sendx(dealer, "a", "b", "c", NULL);
    failures += s_still_serving(dealer, "three frames");
    zsock_destroy(&dealer);
    dealer = s_dealer(endpoint, curve);
    size_t big = 20u << 20;
    char *buf = (char *)calloc(1, big);
    s_send_raw(dealer, buf, big);
    free(buf);
    zsock_destroy(&dealer);
    dealer = s_dealer(endpoint, curve);
    failures += s_still_serving(dealer, "20 MiB frame");
    zsock_destroy(&dealer);
    return failures ? 1 : 0;
}

static int s_fake_broker(const char *service, const char *announce, int seconds,
                         const fc_curve_t *curve)
{
    zsock_t *router = zsock_new(ZMQ_ROUTER);
    zsock_t *pub = zsock_new(ZMQ_PUB);
    fc_sock_tune(zsock_resolve(router));
    fc_sock_tune(zsock_resolve(pub));
    fc_curve_apply(curve, router);
    fc_curve_apply(curve, pub);
    if (zsock_bind(router, "%s", service) < 0 || zsock_bind(pub, "%s", announce) < 0) {
        fprintf(stderr, "fc_hostile: cannot bind\n");
        return 1;
    }
    const char *garbage[] = {"\x93\x01\x02", "\xdd\x7f\xff\xff\xff", "\xc1",
                             "\x95\x01\x02\x01\x01\x01"};
    zpoller_t *poller = zpoller_new(router, NULL);
    int64_t end = zclock_mono() + seconds * 1000;
    unsigned n = 0;
    while (zclock_mono() < end && !zsys_interrupted) {
        zstr_sendx(pub, "H", garbage[n % 4], NULL);
        zstr_sendx(pub, "R/stable", garbage[(n + 1) % 4], NULL);
        zstr_sendx(pub, "C/global", garbage[(n + 2) % 4], NULL);
        if (!zpoller_wait(poller, 100))
            continue;
        zmsg_t *msg = zmsg_recv(router);
        if (!msg)
            break;
        zframe_t *id = zmsg_pop(msg);
        zmsg_destroy(&msg);
        /* Answer with garbage, and with a reply that is well formed but of the wrong kind. */
        zframe_send(&id, router, ZFRAME_MORE | ZFRAME_REUSE);
        zstr_send(router, garbage[n++ % 4]);
        zframe_send(&id, router, ZFRAME_MORE);
        zstr_sendx(router, "\x93\x01\x12", "extra", "frames", NULL);
    }
    zpoller_destroy(&poller);
    zsock_destroy(&pub);
    zsock_destroy(&router);
    return 0;
}

/* --- config: well-framed requests with hostile config content --------------------------- */

/* Sends one request on its own connection and waits for any reply to it; then checks the
   broker still serves. Returns the number of failures (0 or more). */
static int s_config_case(const char *endpoint, const fc_curve_t *curve, const char *name,
                         fc_msg_t *req, const void *raw, size_t rawlen, bool want_reply)
{
    zsock_t *dealer = s_dealer(endpoint, curve);
    if (req) {
        req->req = 77;
        fc_msg_send(&req, zsock_resolve(dealer));
    } else
        s_send_raw(dealer, raw, rawlen);
    int failures = 0;
    const char *answer = "no answer";
    char text[FC_MAX_TEXT + 32] = "";
    zpoller_t *poller = zpoller_new(dealer, NULL);
    int64_t deadline = zclock_mono() + 2000;
    while (zclock_mono() < deadline) {
        if (!zpoller_wait(poller, 200))
            continue;
        int err = 0;
        fc_msg_t *reply = fc_msg_recv(zsock_resolve(dealer), NULL, &err);
        if (reply && reply->req == 77) {
            answer = fc_msg_type_name(reply->type);
            if (reply->type == FC_MSG_ERROR)
                snprintf(text, sizeof text, " (%s)", reply->text);
            fc_msg_destroy(&reply);
            break;
        }
        fc_msg_destroy(&reply);
    }
    zpoller_destroy(&poller);
    if (want_reply && streq(answer, "no answer"))
        failures++;
    printf("%s: %s%s; ", name, answer, text);
    failures += s_still_serving(dealer, "then");
    zsock_destroy(&dealer);
    return failures;
}

static fc_msg_t *s_push_bytes(const void *buf, size_t len)
{
    fc_msg_t *m = fc_msg_new(FC_MSG_CONFIG_PUSH);
    fc_msg_set_bytes(m, buf, len);
    return m;
}

static int s_config(const char *endpoint, const fc_curve_t *curve)
{
    int failures = 0;
    /* A properly signed revision to damage: numbered far ahead so even intact it is refused
       (the broker accepts only latest + 1), by a key nobody trusts. */
    fc_crypto_init();
    fc_signkey_t key;
    fc_signkey_generate(&key);
    fc_revision_t *rev = fc_revision_new(FC_REV_SET);
    rev->rev = 999999;
    snprintf(rev->scope, sizeof rev->scope, "global");
    fc_value_t v = {0};
    fc_value_from_text(&v, "1");
    fc_revision_set(rev, "hostile", &v);
    fc_value_free(&v);
    size_t len = 0;
    uint8_t *good = fc_revision_sign(rev, &key, &len);
    fc_revision_destroy(&rev);
    fc_signkey_wipe(&key);
    if (!good) {
        printf("cannot sign the test revision\n");
        return 1;
    }
    uint8_t *bad = malloc(len);
    memcpy(bad, good, len);
    bad[len / 2] ^= 0x40;

    failures += s_config_case(endpoint, curve, "CONFIG_PUSH garbage", s_push_bytes("garbage", 7),
                              NULL, 0, true);
    failures +=
        s_config_case(endpoint, curve, "CONFIG_PUSH empty", s_push_bytes("", 0), NULL, 0, true);
    failures += s_config_case(endpoint, curve, "CONFIG_PUSH flipped byte", s_push_bytes(bad, len),
                              NULL, 0, true);
    failures += s_config_case(endpoint, curve, "CONFIG_PUSH truncated", s_push_bytes(good, len - 9),
                              NULL, 0, true);
    failures += s_config_case(endpoint, curve, "CONFIG_PUSH wrong number", s_push_bytes(good, len),
                              NULL, 0, true);
    free(bad);
    free(good);

    fc_msg_t *m = fc_msg_new(FC_MSG_CONFIG_SYNC);
    fc_msg_set_str(m->id, sizeof m->id, "../../etc/passwd");
    fc_msg_set_str(m->group, sizeof m->group, "*");
    m->serial = UINT64_MAX;
    failures += s_config_case(endpoint, curve, "CONFIG_SYNC odd id", m, NULL, 0, true);
    m = fc_msg_new(FC_MSG_CONFIG_ACK);
    fc_msg_set_str(m->id, sizeof m->id, "nobody");
    m->serial = 424242;
    fc_msg_set_str(m->state, sizeof m->state, "bogus-state");
    failures +=
        s_config_case(endpoint, curve, "CONFIG_ACK unknown rev and state", m, NULL, 0, true);
    m = fc_msg_new(FC_MSG_CONFIG_STATUS);
    m->serial = 424242;
    failures += s_config_case(endpoint, curve, "CONFIG_STATUS unknown rev", m, NULL, 0, true);
    m = fc_msg_new(FC_MSG_RESTART_SLOT);
    fc_msg_set_str(m->id, sizeof m->id, "nobody");
    m->serial = 424242;
    failures += s_config_case(endpoint, curve, "RESTART_SLOT unknown rev", m, NULL, 0, true);
    m = fc_msg_new(FC_MSG_AUDIT);
    m->serial = UINT64_MAX;
    failures += s_config_case(endpoint, curve, "AUDIT huge count", m, NULL, 0, true);
    m = fc_msg_new(FC_MSG_CONFIG_SNAPSHOT);
    failures += s_config_case(endpoint, curve, "CONFIG_SNAPSHOT as a request", m, NULL, 0, true);
    m = fc_msg_new(FC_MSG_CONFIG_ANNOUNCE);
    failures += s_config_case(endpoint, curve, "CONFIG_ANNOUNCE as a request", m, NULL, 0, true);

    /* Raw frames: config types with wrong field types, counts and lengths (request id 77,
       0x4d, so an ERROR naming it is matched like the others). */
    const struct {
        const char *name;
        const char *bytes;
        size_t len;
    } raw[] = {
        {"CONFIG_PUSH str for bytes",
         "\x94\x01\x16\x4d\xa3"
         "abc",
         8},
        {"CONFIG_SYNC int for id", "\x96\x01\x17\x4d\x05\xa0\x00", 7},
        {"CONFIG_ACK missing fields",
         "\x95\x01\x19\x4d\xa1"
         "a\xa0",
         7},
        {"CONFIG_SNAPSHOT huge items", "\x98\x01\x18\x4d\x00\x00\x00\xc2\xdd\x7f\xff\xff\xff", 13},
        {"AUDIT negative count", "\x94\x01\x1d\x4d\xff", 5},
        {"CONFIG_PUSH bin32 length lie",
         "\x94\x01\x16\x4d\xc6\x7f\xff\xff\xff"
         "ab",
         11},
    };
    for (size_t i = 0; i < sizeof raw / sizeof raw[0]; i++)
        failures +=
            s_config_case(endpoint, curve, raw[i].name, NULL, raw[i].bytes, raw[i].len, false);
    return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
    zsys_init();
    zsys_set_logstream(NULL);
    /* Security options first, as tests/lib.sh passes them: --broker-key KEY --cert FILE (a
       client), --server-cert FILE (the fake broker), --insecure (nothing). */
    const char *broker_key = NULL, *cert = NULL, *server_cert = NULL;
    while (argc >= 2 && strncmp(argv[1], "--", 2) == 0) {
        if (argc >= 3 && streq(argv[1], "--broker-key"))
            broker_key = argv[2];
        else if (argc >= 3 && streq(argv[1], "--cert"))
            cert = argv[2];
        else if (argc >= 3 && streq(argv[1], "--server-cert"))
            server_cert = argv[2];
        else if (!streq(argv[1], "--insecure"))
            return s_usage();
        int used = streq(argv[1], "--insecure") ? 1 : 2;
        argc -= used;
        argv += used;
    }
    char text[FC_MAX_TEXT] = "";
    int err = 0;
    fc_curve_t *curve = NULL;
    if (server_cert)
        curve = fc_curve_new_server(server_cert, &err, text, sizeof text);
    else if (broker_key || cert)
        curve = fc_curve_new_client(cert ? cert : "", broker_key ? broker_key : "", &err, text,
                                    sizeof text);
    if ((server_cert || broker_key || cert) && !curve) {
        fprintf(stderr, "fc_hostile: %s\n", text);
        return 2;
    }
    int rc = -1;
    if (argc == 3 && streq(argv[1], "client"))
        rc = s_client(argv[2], curve);
    else if (argc == 3 && streq(argv[1], "config"))
        rc = s_config(argv[2], curve);
    else if (argc == 5 && streq(argv[1], "broker"))
        rc = s_fake_broker(argv[2], argv[3], atoi(argv[4]), curve);
    fc_curve_destroy(&curve);
    return rc < 0 ? s_usage() : rc;
}
