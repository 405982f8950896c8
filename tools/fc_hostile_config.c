/* fc_hostile_config.c: fleetcast-hostile's config mode (well-framed config requests with
   hostile content) and its fake broker that answers agents with garbage (on the tests' one
   fake broker, tests/support/fc_fake_broker.c); a private part of fc_hostile. */
#include <czmq.h>
#include <stdio.h>
#include <string.h>

#include "fc_config_value.h"
#include "fc_fake_broker.h"
#include "fc_hash.h"
#include "fc_hostile.h"
#include "fc_msg.h"
#include "fc_revision.h"

/* --- broker: a fake broker answering everything with garbage ---------------------------- */

static const char *s_garbage[] = {"\x93\x02\x02", "\xdd\x7f\xff\xff\xff", "\xc1",
                                  "\x95\x02\x02\x01\x01\x01"};

/* fc_fake_tick_fn: garbage on every topic an agent subscribes to. */
static void s_garbage_announce(fc_fake_broker_t *fake)
{
    unsigned n = *(unsigned *)fake->state;
    zstr_sendx(fake->pub, "H", s_garbage[n % 4], NULL);
    zstr_sendx(fake->pub, "R/stable", s_garbage[(n + 1) % 4], NULL);
    zstr_sendx(fake->pub, "C/global", s_garbage[(n + 2) % 4], NULL);
}

/* fc_fake_raw_fn: answers with garbage, and with a reply that is well formed but of the wrong
   kind; then announces garbage again. */
static void s_garbage_answer(fc_fake_broker_t *fake, zframe_t *who, zmsg_t *msg)
{
    unsigned *n = (unsigned *)fake->state;
    zframe_send(&who, fake->router, ZFRAME_MORE | ZFRAME_REUSE);
    zstr_send(fake->router, s_garbage[(*n)++ % 4]);
    zframe_send(&who, fake->router, ZFRAME_MORE | ZFRAME_REUSE);
    zstr_sendx(fake->router, "\x93\x02\x12", "extra", "frames", NULL);
    s_garbage_announce(fake);
}

int fc_hostile_fake_broker(const char *service, const char *announce, int seconds,
                           const fc_curve_t *curve)
{
    unsigned n = 0;
    fc_fake_opts_t opts = {.service = service,
                           .announce = announce,
                           .curve = curve,
                           .tune = true,
                           .raw = s_garbage_answer,
                           .tick = s_garbage_announce,
                           .tick_ms = 100,
                           .state = &n};
    return fc_fake_broker_serve(&opts, NULL, zclock_mono() + (int64_t)seconds * 1000);
}

/* --- config: well-framed requests with hostile config content --------------------------- */

/* Sends one request on its own connection and waits for any reply to it; then checks the
   broker still serves. Returns the number of failures (0 or more). */
static int s_config_case(const fc_hostile_target_t *target, const char *name, fc_msg_t *req,
                         const void *raw, size_t rawlen, bool want_reply)
{
    zmsg_t *msg = NULL;
    if (req) {
        req->req = FC_HOSTILE_REQ;
        msg = fc_msg_encode(req);
        fc_msg_destroy(&req);
    } else {
        msg = zmsg_new();
        zmsg_addmem(msg, raw, rawlen);
    }
    char why[64];
    fc_msg_t *reply =
        msg ? fc_hostile_exchange(target, &msg, FC_HOSTILE_REQ, 2000, why, sizeof why) : NULL;
    char text[FC_MAX_TEXT + 32] = "";
    if (reply && reply->type == FC_MSG_ERROR)
        snprintf(text, sizeof text, " (%s)", reply->text);
    printf("%s: %s%s\n", name, reply ? fc_msg_type_name(reply->type) : "no answer", text);
    int failures = want_reply && !reply ? 1 : 0;
    fc_msg_destroy(&reply);
    /* Then a proper request on a fresh connection must still be answered. */
    zmsg_t *hello = fc_hostile_hello(0);
    return failures + fc_hostile_probe(target, "  then HELLO", &hello, FC_HOSTILE_REPLY,
                                       FC_MSG_WELCOME, false);
}

static fc_msg_t *s_push_bytes(const void *buf, size_t len)
{
    fc_msg_t *m = fc_msg_new(FC_MSG_CONFIG_PUSH);
    fc_msg_set_bytes(m, buf, len);
    return m;
}

int fc_hostile_config(const fc_hostile_target_t *target)
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

    failures +=
        s_config_case(target, "CONFIG_PUSH garbage", s_push_bytes("garbage", 7), NULL, 0, true);
    failures += s_config_case(target, "CONFIG_PUSH empty", s_push_bytes("", 0), NULL, 0, true);
    failures +=
        s_config_case(target, "CONFIG_PUSH flipped byte", s_push_bytes(bad, len), NULL, 0, true);
    failures +=
        s_config_case(target, "CONFIG_PUSH truncated", s_push_bytes(good, len - 9), NULL, 0, true);
    failures +=
        s_config_case(target, "CONFIG_PUSH wrong number", s_push_bytes(good, len), NULL, 0, true);
    free(bad);
    free(good);

    fc_msg_t *m = fc_msg_new(FC_MSG_CONFIG_SYNC);
    fc_msg_set_str(m->id, sizeof m->id, "../../etc/passwd");
    fc_msg_set_str(m->group, sizeof m->group, "*");
    m->serial = UINT64_MAX;
    failures += s_config_case(target, "CONFIG_SYNC odd id", m, NULL, 0, true);
    m = fc_msg_new(FC_MSG_CONFIG_ACK);
    fc_msg_set_str(m->id, sizeof m->id, "nobody");
    m->serial = 424242;
    fc_msg_set_str(m->state, sizeof m->state, "bogus-state");
    failures += s_config_case(target, "CONFIG_ACK unknown rev and state", m, NULL, 0, true);
    m = fc_msg_new(FC_MSG_CONFIG_STATUS);
    m->serial = 424242;
    failures += s_config_case(target, "CONFIG_STATUS unknown rev", m, NULL, 0, true);
    m = fc_msg_new(FC_MSG_RESTART_SLOT);
    fc_msg_set_str(m->id, sizeof m->id, "nobody");
    m->serial = 424242;
    failures += s_config_case(target, "RESTART_SLOT unknown rev", m, NULL, 0, true);
    m = fc_msg_new(FC_MSG_AUDIT);
    m->serial = UINT64_MAX;
    failures += s_config_case(target, "AUDIT huge count", m, NULL, 0, true);
    m = fc_msg_new(FC_MSG_CONFIG_SNAPSHOT);
    failures += s_config_case(target, "CONFIG_SNAPSHOT as a request", m, NULL, 0, true);
    m = fc_msg_new(FC_MSG_CONFIG_ANNOUNCE);
    failures += s_config_case(target, "CONFIG_ANNOUNCE as a request", m, NULL, 0, true);

    /* Raw frames: config types with wrong field types, counts and lengths (request id 77,
       0x4d, so an ERROR naming it is matched like the others). */
    const struct {
        const char *name;
        const char *bytes;
        size_t len;
    } raw[] = {
        {"CONFIG_PUSH str for bytes",
         "\x94\x02\x16\x4d\xa3"
         "abc",
         8},
        {"CONFIG_SYNC int for id", "\x96\x02\x17\x4d\x05\xa0\x00", 7},
        {"CONFIG_ACK missing fields",
         "\x95\x02\x19\x4d\xa1"
         "a\xa0",
         7},
        {"CONFIG_SNAPSHOT huge items", "\x98\x02\x18\x4d\x00\x00\x00\xc2\xdd\x7f\xff\xff\xff", 13},
        {"AUDIT negative count", "\x94\x02\x1d\x4d\xff", 5},
        {"CONFIG_PUSH bin32 length lie",
         "\x94\x02\x16\x4d\xc6\x7f\xff\xff\xff"
         "ab",
         11},
    };
    for (size_t i = 0; i < sizeof raw / sizeof raw[0]; i++)
        failures += s_config_case(target, raw[i].name, NULL, raw[i].bytes, raw[i].len, false);
    return failures ? 1 : 0;
}
