/* fc_config_service_test.c: self-test of the broker's config requests: handlers called
   directly (restart slots, status, halts, audit), then the same over a real broker. */
#include "fc_broker.h"
#include "fc_config.h"
#include "fc_config_service.h"
#include "fc_curve.h"
#include "fc_error.h"
#include "fc_file.h"
#include "fc_hash.h"
#include "fc_key.h"
#include "fc_sockopt.h"
#include "fc_store.h"
#include "fc_store_config.h"
#include "fc_store_testdb.h"
#include "fc_test_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_EPOCH 4242

/* A CONFIG_PUSH of a signed SET revision setting key=value (value as operator text). */
static fc_msg_t *s_push_msg(const fc_signkey_t *sk, uint64_t rev, const char *scope,
                            uint32_t canary, const char *key, const char *value)
{
    fc_revision_t *r = fc_revision_new(FC_REV_SET);
    r->rev = rev;
    snprintf(r->scope, sizeof r->scope, "%s", scope);
    r->canary = canary;
    fc_value_t v;
    FC_CHECK(fc_value_from_text(&v, value) == 0);
    FC_CHECK(fc_revision_set(r, key, &v) == 0);
    fc_value_free(&v);
    size_t len;
    uint8_t *bytes = fc_revision_sign(r, sk, &len);
    FC_CHECK(bytes);
    fc_revision_destroy(&r);
    fc_msg_t *m = fc_msg_new(FC_MSG_CONFIG_PUSH);
    fc_msg_set_bytes(m, bytes, len);
    free(bytes);
    return m;
}

static fc_msg_t *s_agent_msg(fc_msg_type_t type, const char *id, const char *group, uint64_t rev,
                             const char *state)
{
    fc_msg_t *m = fc_msg_new(type);
    fc_msg_set_str(m->id, sizeof m->id, id);
    fc_msg_set_str(m->group, sizeof m->group, group);
    fc_msg_set_str(m->state, sizeof m->state, state ? state : "");
    m->serial = rev;
    return m;
}

/* Handles m (destroyed) and returns the reply, which must be of type want; *announce_p (may
   be NULL: then none may be produced) gets the announcement. */
static fc_msg_t *s_handle(fc_config_service_t *svc, fc_msg_t *m, fc_msg_type_t want,
                          fc_msg_t **announce_p)
{
    static uint64_t req = 1000;
    m->req = ++req;
    fc_msg_t *ann = NULL;
    fc_msg_t *r = fc_config_service_handle(svc, m, S_EPOCH, &ann);
    FC_CHECK(r);
    if (r->type != want)
        fprintf(stderr, "\n%s: got %s (%u: %s)\n", fc_msg_type_name(m->type),
                fc_msg_type_name(r->type), r->code, r->text);
    FC_CHECK(r->type == want && r->req == req);
    if (announce_p)
        *announce_p = ann;
    else {
        FC_CHECK(!ann);
    }
    fc_msg_destroy(&m);
    return r;
}

static void s_expect_error(fc_config_service_t *svc, fc_msg_t *m, int code, const char *want)
{
    fc_msg_t *r = s_handle(svc, m, FC_MSG_ERROR, NULL);
    if (r->code != (uint32_t)code || (want && !strstr(r->text, want)))
        fprintf(stderr, "\nerror %u '%s', want %d '%s'\n", r->code, r->text, code, want);
    FC_CHECK(r->code == (uint32_t)code);
    FC_CHECK(!want || strstr(r->text, want));
    fc_msg_destroy(&r);
}

/* RESTART_SLOT answer for agent id of group. */
static bool s_slot_in(fc_config_service_t *svc, const char *id, const char *group, uint64_t rev)
{
    fc_msg_t *r =
        s_handle(svc, s_agent_msg(FC_MSG_RESTART_SLOT, id, group, rev, NULL), FC_MSG_OK, NULL);
    FC_CHECK(r->serial == rev);
    bool granted = r->flag;
    fc_msg_destroy(&r);
    return granted;
}

static bool s_slot(fc_config_service_t *svc, const char *id, uint64_t rev)
{
    return s_slot_in(svc, id, "web", rev);
}

static void s_ack(fc_config_service_t *svc, const char *id, const char *group, uint64_t rev,
                  const char *state)
{
    fc_msg_t *r =
        s_handle(svc, s_agent_msg(FC_MSG_CONFIG_ACK, id, group, rev, state), FC_MSG_OK, NULL);
    FC_CHECK(r->serial == rev);
    fc_msg_destroy(&r);
}

static void s_test_handlers(fc_store_t *store, const fc_signkey_t *sk)
{
    fc_config_service_t *svc = fc_config_service_new(store, 25, true);
    FC_CHECK(fc_config_service_handles(FC_MSG_CONFIG_PUSH) &&
             fc_config_service_handles(FC_MSG_AUDIT));
    FC_CHECK(!fc_config_service_handles(FC_MSG_SYNC) &&
             !fc_config_service_handles(FC_MSG_CONFIG_SNAPSHOT));

    /* Push: OK(serial = rev) and an announcement; refusals announce nothing. */
    fc_msg_t *ann;
    fc_msg_t *r =
        s_handle(svc, s_push_msg(sk, 1, "global", 0, "log.level", "info"), FC_MSG_OK, &ann);
    FC_CHECK(r->serial == 1 && ann && ann->type == FC_MSG_CONFIG_ANNOUNCE);
    FC_CHECK(ann->epoch == S_EPOCH && ann->seq == 1 && ann->serial == 1 &&
             streq(ann->text, "global"));
    fc_msg_destroy(&ann);
    fc_msg_destroy(&r);
    s_expect_error(svc, s_push_msg(sk, 5, "global", 0, "a", "1"), FC_ESERIAL, "latest is 1");
    fc_msg_t *junk = fc_msg_new(FC_MSG_CONFIG_PUSH);
    s_expect_error(svc, junk, FC_EPROTO, NULL);

    /* Eight agents in group web, one in db. */
    for (int i = 1; i <= 8; i++) {
        char id[16];
        snprintf(id, sizeof id, "w%d", i);
        FC_CHECK(fc_store_agent_seen(store, id, "stable") == FC_OK);
        FC_CHECK(fc_store_agent_group_set(store, id, "web") == FC_OK);
    }
    FC_CHECK(fc_store_agent_group_set(store, "d1", "db") == FC_OK);
    r = s_handle(svc, s_push_msg(sk, 2, "group:web", 0, "port", "8443"), FC_MSG_OK, &ann);
    FC_CHECK(ann && ann->seq == 2 && streq(ann->text, "group:web"));
    fc_msg_destroy(&ann);
    fc_msg_destroy(&r);

    /* Sync: the group is filled in from what the agent last said. */
    r = s_handle(svc, s_agent_msg(FC_MSG_CONFIG_SYNC, "w1", "", 0, NULL), FC_MSG_CONFIG_SNAPSHOT,
                 NULL);
    FC_CHECK(r->nitems == 2 && r->serial == 2 && r->epoch == S_EPOCH && r->seq == 2 && !r->flag);
    fc_msg_destroy(&r);
    r = s_handle(svc, s_agent_msg(FC_MSG_CONFIG_SYNC, "d1", "", 0, NULL), FC_MSG_CONFIG_SNAPSHOT,
                 NULL);
    FC_CHECK(r->nitems == 1 && r->serial == 2);
    fc_msg_destroy(&r);
    r = s_handle(svc, s_agent_msg(FC_MSG_CONFIG_SYNC, "new1", "web", 1, NULL),
                 FC_MSG_CONFIG_SNAPSHOT, NULL);
    FC_CHECK(r->nitems == 1);
    fc_msg_destroy(&r);
    char group[FC_MAX_NAME + 1];
    fc_store_agent_group(store, "new1", group, sizeof group);
    FC_CHECK(streq(group, "web"));
    s_expect_error(svc, s_agent_msg(FC_MSG_CONFIG_SYNC, "../etc", "", 0, NULL), FC_EINVAL, NULL);

    /* Restart slots: 25% of the 9 web agents (w1..w8, new1) is 3 at once. */
    FC_CHECK(s_slot(svc, "w1", 2) && s_slot(svc, "w2", 2) && s_slot(svc, "w3", 2));
    FC_CHECK(!s_slot(svc, "w4", 2));
    FC_CHECK(s_slot(svc, "w1", 2)); /* a re-sent request keeps its slot */
    s_ack(svc, "w1", "web", 2, "restarted");
    FC_CHECK(s_slot(svc, "w4", 2) && !s_slot(svc, "w5", 2));
    s_ack(svc, "w2", "web", 2, "restart-required"); /* not a release */
    FC_CHECK(!s_slot(svc, "w5", 2));
    s_ack(svc, "w2", "web", 2, "failed");
    FC_CHECK(s_slot(svc, "w5", 2) && !s_slot(svc, "w6", 2));
    /* Slots not released by an ack expire. */
    fc_config_service_set_slot_ttl(svc, 300);
    zclock_sleep(350);
    FC_CHECK(s_slot(svc, "w6", 2) && s_slot(svc, "w7", 2) && s_slot(svc, "w8", 2));
    FC_CHECK(!s_slot(svc, "new1", 2));
    fc_config_service_set_slot_ttl(svc, FC_CONFIG_SLOT_TTL_MS);
    /* At least one slot even when the share rounds to nothing. */
    r = s_handle(svc, s_push_msg(sk, 3, "agent:w1", 0, "debug", "true"), FC_MSG_OK, &ann);
    fc_msg_destroy(&ann);
    fc_msg_destroy(&r);
    FC_CHECK(s_slot(svc, "w1", 3));
    /* Slots go only to agents the scope names: not to w2 (agent:w1), nor to a made-up id
       or one outside the group, whatever group the request claims. */
    s_expect_error(svc, s_agent_msg(FC_MSG_RESTART_SLOT, "w2", "web", 3, NULL), FC_EPERM,
                   "not in the scope of revision 3");
    s_expect_error(svc, s_agent_msg(FC_MSG_RESTART_SLOT, "ghost", "web", 2, NULL), FC_EPERM,
                   "not in the scope");
    s_expect_error(svc, s_agent_msg(FC_MSG_RESTART_SLOT, "d1", "web", 2, NULL), FC_EPERM,
                   "not in the scope");
    fc_store_agent_group(store, "d1", group, sizeof group);
    FC_CHECK(streq(group, "db"));
    s_expect_error(svc, s_agent_msg(FC_MSG_RESTART_SLOT, "w1", "web", 99, NULL), FC_ENOTFOUND,
                   "99");

    /* Status of the latest SET (rev 3: agent:w1) and of rev 2. */
    r = s_handle(svc, s_agent_msg(FC_MSG_CONFIG_STATUS, "", "", 0, NULL),
                 FC_MSG_CONFIG_STATUS_REPLY, NULL);
    FC_CHECK(r->serial == 3 && r->nagents == 1 && streq(r->agents[0].id, "w1") &&
             streq(r->agents[0].state, "pending") && !r->flag);
    fc_msg_destroy(&r);
    s_ack(svc, "w3", "web", 2, "applied");
    s_expect_error(svc, s_agent_msg(FC_MSG_CONFIG_ACK, "w3", "web", 2, "bogus"), FC_EINVAL, NULL);
    s_expect_error(svc, s_agent_msg(FC_MSG_CONFIG_ACK, "w3", "web", 77, "applied"), FC_ENOTFOUND,
                   "77");
    r = s_handle(svc, s_agent_msg(FC_MSG_CONFIG_STATUS, "", "", 2, NULL),
                 FC_MSG_CONFIG_STATUS_REPLY, NULL);
    FC_CHECK(r->serial == 2 && r->nagents == 9);
    size_t pending = 0, applied = 0, restarted = 0, failed = 0;
    for (size_t i = 0; i < r->nagents; i++) {
        pending += streq(r->agents[i].state, "pending");
        applied += streq(r->agents[i].state, "applied");
        restarted += streq(r->agents[i].state, "restarted");
        failed += streq(r->agents[i].state, "failed");
        FC_CHECK(streq(r->agents[i].channel, "web"));
    }
    FC_CHECK(pending == 6 && applied == 1 && restarted == 1 && failed == 1);
    fc_msg_destroy(&r);
    s_expect_error(svc, s_agent_msg(FC_MSG_CONFIG_STATUS, "", "", 50, NULL), FC_ENOTFOUND, NULL);

    /* A canary that fails halts; status says so and PROMOTE is refused with the reason. The
       member is known before the revision. */
    char member[16] = "", late[16] = "";
    for (int i = 0; !*late; i++) {
        char *next = *member ? late : member;
        snprintf(next, sizeof member, "m%d", i);
        if (!fc_canary_member(next, 50))
            next[0] = '\0';
    }
    FC_CHECK(fc_store_agent_seen(store, member, "stable") == FC_OK);
    r = s_handle(svc, s_push_msg(sk, 4, "global", 50, "feature", "on"), FC_MSG_OK, &ann);
    fc_msg_destroy(&ann);
    fc_msg_destroy(&r);
    /* A canary member first heard of after the revision (a made-up id): listed, not
       counted, no halt. */
    s_ack(svc, late, "", 4, "vetoed");
    r = s_handle(svc, s_agent_msg(FC_MSG_CONFIG_STATUS, "", "", 0, NULL),
                 FC_MSG_CONFIG_STATUS_REPLY, NULL);
    FC_CHECK(r->serial == 4 && !r->flag);
    fc_msg_destroy(&r);
    /* An agent out of the scope (a made-up id for agent:w1's revision) is refused. */
    s_expect_error(svc, s_agent_msg(FC_MSG_CONFIG_ACK, "ghost", "web", 3, "failed"), FC_EPERM,
                   "not in the scope of revision 3");
    s_ack(svc, member, "", 4, "vetoed");
    r = s_handle(svc, s_agent_msg(FC_MSG_CONFIG_STATUS, "", "", 0, NULL),
                 FC_MSG_CONFIG_STATUS_REPLY, NULL);
    FC_CHECK(r->serial == 4 && r->flag &&
             streq(r->text, "halted: 1 of 1 canaries failed or vetoed"));
    fc_msg_destroy(&r);
    fc_revision_t *p = fc_revision_new(FC_REV_PROMOTE);
    p->rev = 5;
    p->target = 4;
    size_t len;
    uint8_t *bytes = fc_revision_sign(p, sk, &len);
    fc_revision_destroy(&p);
    fc_msg_t *m = fc_msg_new(FC_MSG_CONFIG_PUSH);
    fc_msg_set_bytes(m, bytes, len);
    free(bytes);
    s_expect_error(svc, m, FC_EREFUSED, "halted: 1 of 1");

    /* Audit: newest first, bounded by serial; release commits are audited too. */
    fc_config_service_audit_release(svc, (const uint8_t *)"xx", 2, FC_EMISSING, "blob missing",
                                    NULL);
    fc_release_info_t info = {.channel = "stable", .version = "1.2", .serial = 3, .files = 1};
    fc_config_service_audit_release(svc, (const uint8_t *)"xx", 2, FC_OK, "", &info);
    r = s_handle(svc, s_agent_msg(FC_MSG_AUDIT, "", "", 0, NULL), FC_MSG_AUDIT_REPLY, NULL);
    FC_CHECK(r->naudit >= 9 && r->naudit <= 100);
    FC_CHECK(streq(r->audit[0].action, "release.commit") && streq(r->audit[0].result, "ok"));
    FC_CHECK(strstr(r->audit[0].detail, "stable 1.2 serial 3"));
    FC_CHECK(streq(r->audit[1].action, "release.commit") &&
             strstr(r->audit[1].result, "blob missing"));
    FC_CHECK(streq(r->audit[2].action, "config.promote") && strstr(r->audit[2].result, "halted"));
    FC_CHECK(streq(r->audit[3].action, "config.halt"));
    fc_msg_destroy(&r);
    r = s_handle(svc, s_agent_msg(FC_MSG_AUDIT, "", "", 2, NULL), FC_MSG_AUDIT_REPLY, NULL);
    FC_CHECK(r->naudit == 2);
    fc_msg_destroy(&r);
    fc_config_service_destroy(&svc);
    FC_CHECK(svc == NULL);
    fc_config_service_destroy(&svc);
}

/* One agent key holds at most one restart slot per revision, whatever the share (a stolen
   key naming a made-up id in a small scope cannot take the slot its real agents need), and
   at most FC_CONFIG_SLOTS_PER_KEY at once across revisions. Pushes revisions rev to
   rev + FC_CONFIG_SLOTS_PER_KEY. */
static void s_test_slots_per_key(fc_store_t *store, const fc_signkey_t *sk, uint64_t rev)
{
    fc_config_service_t *svc = fc_config_service_new(store, 100, true);
    const char *thief = "0123456789012345678901234567890123456789";
    const char *other = "abcdefghijabcdefghijabcdefghijabcdefghij";
    char holder[FC_CURVE_Z85_LEN + 1];
    for (int i = 0; i <= FC_CONFIG_SLOTS_PER_KEY + 1; i++) {
        char id[16];
        snprintf(id, sizeof id, "k%d", i);
        FC_CHECK(fc_store_agent_seen(store, id, "stable") == FC_OK);
        FC_CHECK(fc_store_agent_group_set(store, id, "many") == FC_OK);
        const char *key = i == FC_CONFIG_SLOTS_PER_KEY + 1 ? other : thief;
        FC_CHECK(fc_store_agent_claim(store, id, key, NULL, NULL, holder, sizeof holder) == FC_OK);
    }
    char id[16], last[16];
    snprintf(last, sizeof last, "k%d", FC_CONFIG_SLOTS_PER_KEY + 1);
    fc_msg_t *ann = NULL;
    fc_msg_t *r = s_handle(svc, s_push_msg(sk, rev, "group:many", 0, "x", "1"), FC_MSG_OK, &ann);
    fc_msg_destroy(&ann);
    fc_msg_destroy(&r);
    /* Share 100: every agent may restart at once, yet one key takes one slot of a revision. */
    FC_CHECK(s_slot_in(svc, "k0", "many", rev));
    FC_CHECK(!s_slot_in(svc, "k1", "many", rev));
    FC_CHECK(s_slot_in(svc, "k0", "many", rev)); /* a re-sent request keeps its slot */
    FC_CHECK(s_slot_in(svc, last, "many", rev)); /* another key's agent is not held back */
    s_ack(svc, "k0", "many", rev, "restarted");
    FC_CHECK(s_slot_in(svc, "k1", "many", rev));
    /* Across revisions: k1 holds one, k2..k8 take one each in the next revisions, then the
       cap refuses k0 until a slot is freed. */
    for (int i = 1; i <= FC_CONFIG_SLOTS_PER_KEY; i++) {
        r = s_handle(svc, s_push_msg(sk, rev + (uint64_t)i, "group:many", 0, "x", "1"), FC_MSG_OK,
                     &ann);
        fc_msg_destroy(&ann);
        fc_msg_destroy(&r);
    }
    for (int i = 1; i < FC_CONFIG_SLOTS_PER_KEY; i++) {
        snprintf(id, sizeof id, "k%d", i + 1);
        FC_CHECK(s_slot_in(svc, id, "many", rev + (uint64_t)i));
    }
    uint64_t past = rev + FC_CONFIG_SLOTS_PER_KEY;
    FC_CHECK(!s_slot_in(svc, "k0", "many", past));
    FC_CHECK(s_slot_in(svc, last, "many", past));
    s_ack(svc, "k1", "many", rev, "restarted");
    FC_CHECK(s_slot_in(svc, "k0", "many", past));
    fc_config_service_destroy(&svc);
}

/* Two brokers on one database (two stores of one directory, each with its service): the
   share of restart slots is the fleet's, not each broker's. With slots in each service's
   memory, sb granted w4 a slot of its own past the share. Pushes revision rev. */
static void s_test_two_brokers(fc_store_t *store, const char *dir, const fc_signkey_t *sk,
                               uint64_t rev)
{
    int err;
    fc_store_t *other = fc_store_testdb_new(dir, &err, NULL, 0);
    FC_CHECK(other);
    fc_config_service_t *sa = fc_config_service_new(store, 25, true);
    fc_config_service_t *sb = fc_config_service_new(other, 25, true);
    fc_msg_t *ann = NULL;
    fc_msg_t *r = s_handle(sa, s_push_msg(sk, rev, "group:web", 0, "two", "1"), FC_MSG_OK, &ann);
    fc_msg_destroy(&ann);
    fc_msg_destroy(&r);
    /* 25% of the 9 web agents is 3, wherever they ask. */
    FC_CHECK(s_slot(sa, "w1", rev) && s_slot(sb, "w2", rev) && s_slot(sa, "w3", rev));
    FC_CHECK(!s_slot(sb, "w4", rev));
    FC_CHECK(!s_slot(sa, "w4", rev));
    FC_CHECK(s_slot(sb, "w1", rev)); /* re-sent to the other broker: still its slot */
    /* An ack through one broker frees the slot for the other. */
    s_ack(sb, "w1", "web", rev, "restarted");
    FC_CHECK(s_slot(sa, "w4", rev) && !s_slot(sb, "w5", rev));
    fc_config_service_destroy(&sb);
    fc_config_service_destroy(&sa);
    fc_store_destroy(&other);
}

/* The same requests over a real broker: codec, dispatch, and CONFIG_ANNOUNCE on "C/". */
static void s_test_wire(const char *dir, const fc_signkey_t *sk, bool verbose)
{
    char where[1024];
    fc_broker_config_t config = {.data_dir = dir,
                                 .store = fc_store_testdb_where(dir, where, sizeof where),
                                 .service = "tcp://127.0.0.1:*",
                                 .announce = "tcp://127.0.0.1:*",
                                 .quiet = !verbose,
                                 .verbose = verbose,
                                 .heartbeat_ms = 100,
                                 .restart_share = 50};
    int err;
    char text[FC_MAX_TEXT + 1];
    fc_broker_t *broker = fc_broker_new(&config, &err, text, sizeof text);
    FC_CHECK(broker);
    zsock_t *dealer = zsock_new(ZMQ_DEALER);
    zsock_t *sub = zsock_new(ZMQ_SUB);
    FC_CHECK(dealer && sub);
    fc_sock_tune(zsock_resolve(dealer));
    fc_sock_tune(zsock_resolve(sub));
    zsock_set_rcvtimeo(dealer, 5000);
    zsock_set_rcvtimeo(sub, 5000);
    zsock_set_subscribe(sub, FC_TOPIC_CONFIG);
    zsock_set_subscribe(sub, FC_TOPIC_HEARTBEAT);
    FC_CHECK(zsock_connect(dealer, "%s", fc_broker_service_endpoint(broker)) == 0);
    FC_CHECK(zsock_connect(sub, "%s", fc_broker_announce_endpoint(broker)) == 0);
    /* Wait for a heartbeat: the subscription is live. */
    fc_msg_t *a;
    do {
        a = fc_msg_recv_announce(zsock_resolve(sub), &err);
        FC_CHECK(a);
    } while (a->type != FC_MSG_HEARTBEAT && (fc_msg_destroy(&a), true));
    uint64_t seq0 = a->seq;
    fc_msg_destroy(&a);

    uint64_t latest = 0;
    fc_msg_t *m = fc_msg_new(FC_MSG_CONFIG_SYNC);
    m->req = 1;
    FC_CHECK(fc_msg_send(&m, zsock_resolve(dealer)) == 0);
    fc_msg_t *r = fc_msg_recv(zsock_resolve(dealer), NULL, &err);
    FC_CHECK(r && r->type == FC_MSG_CONFIG_SNAPSHOT && r->req == 1);
    latest = r->serial;
    fc_msg_destroy(&r);

    m = s_push_msg(sk, latest + 1, "group:web", 0, "wire", "1");
    m->req = 2;
    FC_CHECK(fc_msg_send(&m, zsock_resolve(dealer)) == 0);
    r = fc_msg_recv(zsock_resolve(dealer), NULL, &err);
    FC_CHECK(r && r->type == FC_MSG_OK && r->req == 2 && r->serial == latest + 1);
    fc_msg_destroy(&r);
    do {
        a = fc_msg_recv_announce(zsock_resolve(sub), &err);
        FC_CHECK(a);
    } while (a->type == FC_MSG_HEARTBEAT && (fc_msg_destroy(&a), true));
    FC_CHECK(a->type == FC_MSG_CONFIG_ANNOUNCE && a->serial == latest + 1 && a->seq == seq0 + 1);
    FC_CHECK(streq(a->text, "group:web"));
    fc_msg_destroy(&a);

    m = s_agent_msg(FC_MSG_RESTART_SLOT, "w1", "web", latest + 1, NULL);
    m->req = 3;
    FC_CHECK(fc_msg_send(&m, zsock_resolve(dealer)) == 0);
    r = fc_msg_recv(zsock_resolve(dealer), NULL, &err);
    FC_CHECK(r && r->type == FC_MSG_OK && r->req == 3 && r->flag);
    fc_msg_destroy(&r);

    m = s_agent_msg(FC_MSG_AUDIT, "", "", 1, NULL);
    m->req = 4;
    FC_CHECK(fc_msg_send(&m, zsock_resolve(dealer)) == 0);
    r = fc_msg_recv(zsock_resolve(dealer), NULL, &err);
    FC_CHECK(r && r->type == FC_MSG_AUDIT_REPLY && r->naudit == 1);
    FC_CHECK(streq(r->audit[0].action, "config.set") && streq(r->audit[0].result, "ok"));
    fc_msg_destroy(&r);

    zsock_destroy(&sub);
    zsock_destroy(&dealer);
    fc_broker_destroy(&broker);
}

void fc_config_service_test(bool verbose)
{
    printf(" * fc_config_service: ");
    FC_CHECK(fc_crypto_init() == 0);
    char base[] = "/tmp/fc_config_service_test.XXXXXX";
    FC_CHECK(mkdtemp(base));
    int err;
    fc_store_t *store = fc_store_testdb_new(base, &err, NULL, 0);
    FC_CHECK(store);
    fc_signkey_t sk;
    fc_signkey_generate(&sk);
    s_test_handlers(store, &sk);
    s_test_slots_per_key(store, &sk, 5);
    s_test_two_brokers(store, base, &sk, 5 + FC_CONFIG_SLOTS_PER_KEY + 1);
    fc_store_destroy(&store);
    /* The broker reopens the same data: revisions, groups and audit carry over. */
    s_test_wire(base, &sk, verbose);
    fc_remove_tree(base);
    printf("OK\n");
}
