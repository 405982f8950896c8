/* fc_store_config_test.c: self-test of the broker's config store: push checks, sync
   filtering and paging, acks, status, canary halts (and a relay's, from its upstream), audit, and
   durability across reopen. */
#include "fc_ack.h"
#include "fc_config_value.h"
#include "fc_error.h"
#include "fc_file.h"
#include "fc_hash.h"
#include "fc_key.h"
#include "fc_revision.h"
#include "fc_store.h"
#include "fc_store_config.h"
#include "fc_store_testdb.h"
#include "fc_test_check.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A signed SET revision of "key=value" pairs (NULL-terminated; "key" alone unsets). */
static uint8_t *s_set(const fc_signkey_t *key, uint64_t rev, const char *scope, uint32_t canary,
                      size_t *len, ...)
{
    fc_revision_t *r = fc_revision_new(FC_REV_SET);
    FC_CHECK(r);
    r->rev = rev;
    r->created = 1700000000;
    snprintf(r->scope, sizeof r->scope, "%s", scope);
    r->canary = canary;
    snprintf(r->message, sizeof r->message, "test rev %llu", (unsigned long long)rev);
    va_list ap;
    va_start(ap, len);
    const char *kv;
    while ((kv = va_arg(ap, const char *))) {
        char k[FC_MAX_KEY + 1];
        const char *eq = strchr(kv, '=');
        if (!eq) {
            FC_CHECK(fc_revision_unset(r, kv) == 0);
            continue;
        }
        snprintf(k, sizeof k, "%.*s", (int)(eq - kv), kv);
        fc_value_t v;
        FC_CHECK(fc_value_from_text(&v, eq + 1) == 0);
        FC_CHECK(fc_revision_set(r, k, &v) == 0);
        fc_value_free(&v);
    }
    va_end(ap);
    uint8_t *bytes = fc_revision_sign(r, key, len);
    FC_CHECK(bytes);
    fc_revision_destroy(&r);
    return bytes;
}

static uint8_t *s_schema(const fc_signkey_t *key, uint64_t rev, const char *json, size_t *len)
{
    fc_revision_t *r = fc_revision_new(FC_REV_SCHEMA);
    r->rev = rev;
    r->schema_json = strdup(json);
    uint8_t *bytes = fc_revision_sign(r, key, len);
    FC_CHECK(bytes);
    fc_revision_destroy(&r);
    return bytes;
}

static uint8_t *s_promote(const fc_signkey_t *key, uint64_t rev, uint64_t target, size_t *len)
{
    fc_revision_t *r = fc_revision_new(FC_REV_PROMOTE);
    r->rev = rev;
    r->target = target;
    uint8_t *bytes = fc_revision_sign(r, key, len);
    FC_CHECK(bytes);
    fc_revision_destroy(&r);
    return bytes;
}

/* Pushes and expects err; text must contain want (if non-NULL). Frees bytes. */
static void s_push(fc_store_t *store, uint8_t *bytes, const size_t *lenp, int err, const char *want,
                   uint64_t want_seq)
{
    size_t len = *lenp; /* read here: argument evaluation order is unspecified */
    char text[FC_MAX_TEXT + 1] = "";
    uint64_t seq = 99;
    fc_store_rev_t info;
    int rc = fc_store_config_push(store, bytes, len, &info, &seq, text, sizeof text);
    if (rc != err || (want && !strstr(text, want)))
        fprintf(stderr, "\npush: got %d '%s', want %d '%s'\n", rc, text, err, want ? want : "");
    FC_CHECK(rc == err);
    FC_CHECK(!want || strstr(text, want));
    if (!err)
        FC_CHECK(seq == want_seq);
    else
        FC_CHECK(seq == 0);
    free(bytes);
}

/* Revisions a sync returns, as their rev numbers in out (at most 16). */
static size_t s_sync(fc_store_t *store, const char *id, const char *group, uint64_t after,
                     size_t max_items, size_t max_bytes, bool *more, uint64_t *out)
{
    fc_item_t *items;
    size_t n;
    FC_CHECK(fc_store_config_sync(store, id, group, after, max_items, max_bytes, &items, &n,
                                  more) == FC_OK);
    FC_CHECK(n <= 16);
    for (size_t i = 0; i < n; i++) {
        int err;
        fc_revision_t *r = fc_revision_parse(items[i].data, items[i].len, NULL, &err);
        FC_CHECK(r);
        out[i] = r->rev;
        fc_revision_destroy(&r);
    }
    fc_store_items_free(&items, n);
    FC_CHECK(!items);
    return n;
}

/* State of id in a status list, NULL if absent. */
static const char *s_state(const fc_agent_status_t *list, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (streq(list[i].id, id))
            return list[i].state;
    return NULL;
}

static size_t s_count(const fc_agent_status_t *list, size_t n, const char *state)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += streq(list[i].state, state);
    return c;
}

/* The audit entry with this action and result prefix exists. */
static bool s_audited(fc_store_t *store, const char *action, const char *result)
{
    fc_audit_entry_t *list;
    size_t n;
    FC_CHECK(fc_store_audit_list(store, 1000, &list, &n) == FC_OK);
    bool found = false;
    for (size_t i = 0; i < n && !found; i++)
        found =
            streq(list[i].action, action) && strncmp(list[i].result, result, strlen(result)) == 0;
    free(list);
    return found;
}

/* Agent ids c0, c1, ... split into canary members (at percent) and others. */
static void s_canary_ids(uint32_t percent, char in[][16], size_t nin, char out[][16], size_t nout)
{
    size_t a = 0, b = 0;
    for (int i = 0; a < nin || b < nout; i++) {
        char id[16];
        snprintf(id, sizeof id, "c%d", i);
        if (fc_canary_member(id, percent) && a < nin)
            snprintf(in[a++], 16, "%s", id);
        else if (!fc_canary_member(id, percent) && b < nout)
            snprintf(out[b++], 16, "%s", id);
        FC_CHECK(i < 10000);
    }
}

/* CONFIG_SUMMARY counts exactly what CONFIG_STATUS lists: per ack state, and offline by
   online_since, for revision rev. */
static bool s_summary_is_status(fc_store_t *store, uint64_t rev, int64_t online_since)
{
    fc_store_rev_t info;
    fc_agent_status_t *list = NULL;
    size_t n = 0;
    fc_fleet_count_t counts[FC_ACK_COUNT];
    if (fc_store_config_status(store, rev, 100000, &info, &list, &n) != FC_OK ||
        fc_store_config_summary(store, rev, online_since, &info, counts) != FC_OK) {
        free(list);
        return false;
    }
    bool same = true;
    for (size_t a = 0; a < FC_ACK_COUNT; a++) {
        uint64_t agents = 0, offline = 0;
        for (size_t i = 0; i < n; i++)
            if (streq(list[i].state, fc_ack_name((fc_ack_t)a))) {
                agents++;
                offline += list[i].last_seen < online_since;
            }
        same = same && streq(counts[a].state, fc_ack_name((fc_ack_t)a)) &&
               counts[a].agents == agents && counts[a].offline == offline;
    }
    free(list);
    return same;
}

/* A relay halts the canaries its upstream halted (fc_store_config_halt_upstream): only a
   canary it holds, neither halted nor promoted; once; with a new sequence number. */
static void s_test_halt_upstream(fc_store_t *store, const fc_signkey_t *key)
{
    uint64_t rev = fc_store_config_latest(store) + 1;
    size_t len;
    s_push(store, s_set(key, rev, "global", 50, &len, "relayed=1", NULL), &len, FC_OK, NULL,
           fc_store_seq(store) + 1);
    fc_store_rev_t info;
    FC_CHECK(fc_store_config_rev(store, 5, &info) == FC_OK && info.halted);
    FC_CHECK(fc_store_config_rev(store, 6, &info) == FC_OK && info.promoted_by);
    /* 1: no canary; 5: halted already; 6: promoted; 999: not held here. */
    uint64_t revs[] = {1, 5, 6, rev, 999};
    uint64_t seq = fc_store_seq(store);
    size_t halted = 0;
    FC_CHECK(fc_store_config_halt_upstream(store, revs, 5, "tcp://up:1", &halted) == FC_OK &&
             halted == 1 && fc_store_seq(store) == seq + 1);
    FC_CHECK(fc_store_config_rev(store, rev, &info) == FC_OK && info.halted &&
             streq(info.reason, "halted at the upstream broker tcp://up:1"));
    FC_CHECK(fc_store_config_rev(store, 1, &info) == FC_OK && !info.halted);
    FC_CHECK(fc_store_config_rev(store, 6, &info) == FC_OK && !info.halted);
    FC_CHECK(s_audited(store, "config.halt", "halted at the upstream broker tcp://up:1"));
    uint64_t *list = NULL;
    size_t n = 0;
    FC_CHECK(fc_store_config_halted(store, &list, &n) == FC_OK && n == 2 && list[0] == 5 &&
             list[1] == rev);
    free(list);
    /* Told again: nothing changes, no new sequence number. */
    FC_CHECK(fc_store_config_halt_upstream(store, revs, 5, "tcp://up:1", &halted) == FC_OK &&
             halted == 0 && fc_store_seq(store) == seq + 1);
    FC_CHECK(fc_store_config_halt_upstream(store, NULL, 0, "tcp://up:1", &halted) == FC_OK &&
             halted == 0);
}

static void s_test_revisions(fc_store_t *store, const fc_signkey_t *key)
{
    size_t len;
    char who[FC_STORE_WHO_HEX + 1], hex[2 * FC_PUBKEY_LEN + 1];
    fc_hex_encode(hex, key->pk, FC_PUBKEY_LEN);
    snprintf(who, sizeof who, "%.16s", hex);
    FC_CHECK(fc_store_config_latest(store) == 0);
    uint64_t set;
    FC_CHECK(fc_store_config_latest_set(store, &set) == FC_ENOTFOUND);

    /* rev 1..3, each bumping the announcement sequence. */
    uint8_t *b1 = s_set(key, 1, "global", 0, &len, "log.level=\"info\"", "port=8080", NULL);
    uint8_t *b1copy = malloc(len);
    memcpy(b1copy, b1, len);
    size_t b1len = len;
    s_push(store, b1, &len, FC_OK, NULL, 1);
    /* The same bytes again (a re-sent request): OK, nothing new to announce. */
    char text[FC_MAX_TEXT + 1];
    uint64_t seq = 7;
    FC_CHECK(fc_store_config_push(store, b1copy, b1len, NULL, &seq, text, sizeof text) == FC_OK);
    FC_CHECK(seq == 0);
    free(b1copy);
    /* A different revision 1 (replay of the number), and a gap. */
    s_push(store, s_set(key, 1, "global", 0, &len, "port=1", NULL), &len, FC_ESERIAL,
           "the latest is 1", 0);
    s_push(store, s_set(key, 3, "global", 0, &len, "port=1", NULL), &len, FC_ESERIAL,
           "the latest is 1", 0);
    s_push(store,
           s_schema(key, 2,
                    "{\"keys\": {\"port\": {\"type\": \"integer\", \"min\": 1, \"max\": 65535,"
                    " \"reload\": \"restart\"}}}",
                    &len),
           &len, FC_OK, NULL, 2);
    /* A violation of the schema in force is refused, naming key and rule. */
    s_push(store, s_set(key, 3, "group:web", 0, &len, "port=70000", NULL), &len, FC_EINVAL, "port",
           0);
    s_push(store, s_set(key, 3, "group:web", 0, &len, "port=8443", "log.level", NULL), &len, FC_OK,
           NULL, 3);
    s_push(store, s_set(key, 4, "agent:a2", 0, &len, "debug=true", NULL), &len, FC_OK, NULL, 4);
    /* Garbage and a bad signature. */
    uint8_t *junk = (uint8_t *)strdup("not a revision");
    len = strlen((char *)junk);
    s_push(store, junk, &len, FC_EPROTO, "rejected", 0);
    uint8_t *bad = s_set(key, 5, "global", 0, &len, "a=1", NULL);
    bad[len / 2] ^= 0x20;
    char text2[FC_MAX_TEXT + 1];
    FC_CHECK(fc_store_config_push(store, bad, len, NULL, &seq, text2, sizeof text2) != FC_OK);
    free(bad);
    FC_CHECK(fc_store_config_latest(store) == 4);
    FC_CHECK(fc_store_config_latest_set(store, &set) == FC_OK && set == 4);

    fc_store_rev_t info;
    FC_CHECK(fc_store_config_rev(store, 3, &info) == FC_OK);
    FC_CHECK(info.kind == FC_REV_SET && streq(info.scope, "group:web") && info.seq == 3);
    FC_CHECK(streq(info.signer, who) && !info.halted && info.canary == 0);
    FC_CHECK(fc_store_config_rev(store, 9, &info) == FC_ENOTFOUND);

    /* Sync: everything for the publisher; scopes filtered for agents. */
    uint64_t revs[16];
    bool more;
    FC_CHECK(s_sync(store, "", "", 0, 100, FC_MAX_FRAME, &more, revs) == 4 && !more);
    FC_CHECK(revs[0] == 1 && revs[3] == 4);
    FC_CHECK(s_sync(store, "a1", "web", 0, 100, FC_MAX_FRAME, &more, revs) == 3 && !more);
    FC_CHECK(revs[0] == 1 && revs[1] == 2 && revs[2] == 3);
    FC_CHECK(s_sync(store, "a2", "", 0, 100, FC_MAX_FRAME, &more, revs) == 3 && !more);
    FC_CHECK(revs[0] == 1 && revs[1] == 2 && revs[2] == 4);
    FC_CHECK(s_sync(store, "a2", "", 2, 100, FC_MAX_FRAME, &more, revs) == 1 && revs[0] == 4);
    FC_CHECK(s_sync(store, "a2", "", 4, 100, FC_MAX_FRAME, &more, revs) == 0 && !more);
    /* Paging by count and by bytes: more says a further matching revision exists. */
    FC_CHECK(s_sync(store, "a1", "web", 0, 2, FC_MAX_FRAME, &more, revs) == 2 && more);
    FC_CHECK(s_sync(store, "a1", "web", 2, 2, FC_MAX_FRAME, &more, revs) == 1 && !more);
    FC_CHECK(revs[0] == 3);
    /* a1 matches 1..3; a page of 3 that ends just before rev 4 (not a1's) has no more. */
    FC_CHECK(s_sync(store, "a1", "web", 0, 3, FC_MAX_FRAME, &more, revs) == 3 && !more);
    FC_CHECK(s_sync(store, "", "", 0, 100, 1, &more, revs) == 0 && more);
    fc_item_t *items;
    size_t nitems;
    FC_CHECK(fc_store_config_sync(store, "", "", 0, 1, FC_MAX_FRAME, &items, &nitems, &more) ==
                 FC_OK &&
             nitems == 1 && more);
    size_t first = items[0].len;
    fc_store_items_free(&items, nitems);
    FC_CHECK(s_sync(store, "", "", 0, 100, first + 5, &more, revs) == 1 && more && revs[0] == 1);

    FC_CHECK(s_audited(store, "config.set", "ok"));
    FC_CHECK(s_audited(store, "config.schema", "ok"));
    FC_CHECK(s_audited(store, "config.set", fc_strerror(FC_EINVAL)));
    FC_CHECK(s_audited(store, "config.set", fc_strerror(FC_ESERIAL)));
    FC_CHECK(s_audited(store, "config.push", "revision rejected"));
    fc_audit_entry_t *audit;
    size_t naudit;
    FC_CHECK(fc_store_audit_list(store, 2, &audit, &naudit) == FC_OK && naudit == 2);
    /* Newest first: the junk, then the tampered revision, both refused before parsing. */
    FC_CHECK(audit[0].time >= audit[1].time);
    FC_CHECK(streq(audit[0].action, "config.push") && streq(audit[1].action, "config.push"));
    FC_CHECK(streq(audit[1].who, "unknown") && streq(audit[0].who, who));
    free(audit);
}

static void s_test_fleet(fc_store_t *store, const fc_signkey_t *key)
{
    size_t len;
    /* Agents: a1, a3 in group web, a2 without a group (HELLO only), a4 in db. */
    FC_CHECK(fc_store_agent_seen(store, "a1", "stable") == FC_OK);
    FC_CHECK(fc_store_agent_seen(store, "a2", "stable") == FC_OK);
    FC_CHECK(fc_store_agent_group_set(store, "a1", "web") == FC_OK);
    FC_CHECK(fc_store_agent_group_set(store, "a3", "web") == FC_OK);
    FC_CHECK(fc_store_agent_group_set(store, "a4", "db") == FC_OK);
    FC_CHECK(fc_store_agent_group_set(store, "a4", "") == FC_OK); /* keeps db */
    FC_CHECK(fc_store_agent_group_set(store, "../x", "web") == FC_EINVAL);
    FC_CHECK(fc_store_agent_group_set(store, "a5", "bad group") == FC_EINVAL);
    char group[FC_MAX_NAME + 1];
    fc_store_agent_group(store, "a4", group, sizeof group);
    FC_CHECK(streq(group, "db"));
    fc_store_agent_group(store, "a2", group, sizeof group);
    FC_CHECK(streq(group, ""));
    size_t count;
    FC_CHECK(fc_store_config_matching(store, "group:web", &count) == FC_OK && count == 2);
    FC_CHECK(fc_store_config_matching(store, "global", &count) == FC_OK && count == 4);
    FC_CHECK(fc_store_config_matching(store, "agent:a2", &count) == FC_OK && count == 1);

    /* Acks and status of rev 3 (group:web). */
    bool halted = true;
    char reason[FC_MAX_TEXT + 1];
    FC_CHECK(fc_store_config_ack(store, 3, "a1", "web", "applied", "", &halted, reason,
                                 sizeof reason) == FC_OK &&
             !halted);
    FC_CHECK(fc_store_config_ack(store, 3, "a1", "web", "exploded", "", NULL, NULL, 0) ==
             FC_EINVAL);
    FC_CHECK(fc_store_config_ack(store, 99, "a1", "web", "applied", "", NULL, NULL, 0) ==
             FC_ENOTFOUND);
    /* Acks belong to the agents the scope names as the broker knows them: a4 is in db, a2
       told no group (claiming web in the ack does not put it there), nobody is unknown. */
    FC_CHECK(fc_store_config_ack(store, 3, "a4", "db", "failed", "", NULL, NULL, 0) == FC_EPERM);
    FC_CHECK(fc_store_config_ack(store, 3, "a2", "web", "failed", "", NULL, NULL, 0) == FC_EPERM);
    FC_CHECK(fc_store_config_ack(store, 3, "nobody", "web", "failed", "", NULL, NULL, 0) ==
             FC_EPERM);
    fc_store_agent_group(store, "a2", group, sizeof group);
    FC_CHECK(streq(group, "")); /* nothing recorded from a refused ack */
    fc_store_rev_t info;
    fc_agent_status_t *list;
    size_t n;
    FC_CHECK(fc_store_config_status(store, 3, 100, &info, &list, &n) == FC_OK);
    FC_CHECK(n == 2 && streq(s_state(list, n, "a1"), "applied") &&
             streq(s_state(list, n, "a3"), "pending"));
    FC_CHECK(streq(list[0].channel, "web") && list[0].last_seen > 0);
    free(list);
    /* Global rev 1: every known agent; a changed ack replaces the earlier one. */
    FC_CHECK(fc_store_config_ack(store, 1, "a2", "", "restart-required", "no --exec-restart", NULL,
                                 NULL, 0) == FC_OK);
    FC_CHECK(fc_store_config_ack(store, 1, "a2", "", "restarted", "", NULL, NULL, 0) == FC_OK);
    FC_CHECK(fc_store_config_ack(store, 1, "a4", "db", "failed", "hook said no", NULL, NULL, 0) ==
             FC_OK);
    FC_CHECK(fc_store_config_status(store, 1, 100, &info, &list, &n) == FC_OK);
    FC_CHECK(n == 4 && s_count(list, n, "pending") == 2 && s_count(list, n, "restarted") == 1);
    FC_CHECK(streq(s_state(list, n, "a4"), "failed") && !info.halted);
    /* a1..a4 were first heard of after revision 1: listed, marked as not counted. */
    for (size_t i = 0; i < n; i++)
        if (streq(list[i].id, "a4"))
            FC_CHECK(streq(list[i].message, FC_STORE_NOT_COUNTED "hook said no"));
    free(list);
    FC_CHECK(fc_store_config_status(store, 42, 100, &info, &list, &n) == FC_ENOTFOUND);

    /* A canary revision at 50% halts when failures among canary acks pass 20%. */
    char in[7][16], out[3][16];
    s_canary_ids(50, in, 7, out, 3);
    for (int i = 0; i < 6; i++)
        FC_CHECK(fc_store_agent_seen(store, in[i], "stable") == FC_OK);
    for (int i = 0; i < 3; i++)
        FC_CHECK(fc_store_agent_seen(store, out[i], "stable") == FC_OK);
    uint64_t since;
    FC_CHECK(fc_store_agent_known_since(store, in[0], &since) == FC_OK && since == 4);
    FC_CHECK(fc_store_agent_known_since(store, in[6], &since) == FC_ENOTFOUND);
    s_push(store, s_set(key, 5, "global", 50, &len, "feature=true", NULL), &len, FC_OK, NULL, 5);
    /* A canary member first heard of after the revision (an id made up by a stolen key):
       its failure is recorded but does not count. */
    FC_CHECK(fc_store_agent_seen(store, in[6], "stable") == FC_OK);
    FC_CHECK(fc_store_agent_known_since(store, in[6], &since) == FC_OK && since == 5);
    for (int i = 0; i < 3; i++)
        FC_CHECK(fc_store_config_ack(store, 5, in[6], "", "failed", "", &halted, reason,
                                     sizeof reason) == FC_OK &&
                 !halted);
    for (int i = 0; i < 3; i++)
        FC_CHECK(fc_store_config_ack(store, 5, out[i], "", "failed", "", &halted, reason,
                                     sizeof reason) == FC_OK &&
                 !halted);
    for (int i = 0; i < 4; i++)
        FC_CHECK(fc_store_config_ack(store, 5, in[i], "", "applied", "", &halted, reason,
                                     sizeof reason) == FC_OK &&
                 !halted);
    /* 1 of 5 is exactly 20%: not above it. */
    FC_CHECK(fc_store_config_ack(store, 5, in[4], "", "vetoed", "", &halted, reason,
                                 sizeof reason) == FC_OK &&
             !halted);
    FC_CHECK(fc_store_config_ack(store, 5, in[5], "", "failed", "x", &halted, reason,
                                 sizeof reason) == FC_OK);
    FC_CHECK(halted && streq(reason, "halted: 2 of 6 canaries failed or vetoed"));
    FC_CHECK(s_audited(store, "config.halt", "halted: 2 of 6"));
    /* The halt takes a sequence number (agents sync and see it) and is listed as halted. */
    FC_CHECK(fc_store_seq(store) == 6);
    uint64_t *halted_revs = NULL;
    size_t nhalted = 0;
    FC_CHECK(fc_store_config_halted(store, &halted_revs, &nhalted) == FC_OK && nhalted == 1 &&
             halted_revs[0] == 5);
    free(halted_revs);
    FC_CHECK(fc_store_config_status(store, 5, 100, &info, &list, &n) == FC_OK);
    FC_CHECK(info.halted && streq(info.reason, reason) && n >= 9);
    free(list);
    /* Promote: refused while halted (with the reason), not a canary, unknown target. */
    s_push(store, s_promote(key, 6, 5, &len), &len, FC_EREFUSED, "halted: 2 of 6", 0);
    s_push(store, s_promote(key, 6, 3, &len), &len, FC_EINVAL, "not a canary", 0);
    FC_CHECK(s_audited(store, "config.promote", fc_strerror(FC_EREFUSED)));
    /* A canary that chooses none of the agents its scope matches would wait for ever: 30%
       of group:web (a1, a3, neither under 30) is refused, naming the least that chooses one. */
    FC_CHECK(!fc_canary_member("a1", 30) && !fc_canary_member("a3", 30));
    s_push(store, s_set(key, 6, "group:web", 30, &len, "feature=false", NULL), &len, FC_EINVAL,
           "chooses none of the 2 agents", 0);
    const char *web[] = {"a1", "a3"};
    uint32_t least = fc_canary_widen(web, 2, 30);
    FC_CHECK(least > 30 && least < 100 &&
             (fc_canary_member("a1", least) || fc_canary_member("a3", least)));
    /* A healthy canary is promoted once; its status follows the target's scope. */
    s_push(store, s_set(key, 6, "group:web", least, &len, "feature=false", NULL), &len, FC_OK, NULL,
           7);
    s_push(store, s_promote(key, 7, 6, &len), &len, FC_OK, NULL, 8);
    s_push(store, s_promote(key, 8, 6, &len), &len, FC_EINVAL, "already promoted", 0);
    FC_CHECK(fc_store_config_rev(store, 6, &info) == FC_OK && info.promoted_by == 7);
    FC_CHECK(fc_store_config_status(store, 7, 100, &info, &list, &n) == FC_OK && n == 2);
    free(list);
    /* Acks after promotion never halt it. */
    FC_CHECK(fc_store_config_ack(store, 6, "a1", "web", "failed", "", &halted, reason,
                                 sizeof reason) == FC_OK &&
             !halted);
    FC_CHECK(fc_store_config_ack(store, 6, "a3", "web", "failed", "", &halted, reason,
                                 sizeof reason) == FC_OK &&
             !halted);
    /* PROMOTE and SCHEMA revisions go to everyone. */
    uint64_t revs[16];
    bool more;
    FC_CHECK(s_sync(store, "a4", "db", 4, 100, FC_MAX_FRAME, &more, revs) == 2);
    FC_CHECK(revs[0] == 5 && revs[1] == 7);
}

/* CONFIG_SUMMARY against CONFIG_STATUS over the revisions s_test_fleet and the reopen left
   (issue 19: the summary counts in SQL, so it must count what the list lists). */
static void s_test_summary(fc_store_t *store, const fc_signkey_t *key)
{
    size_t len;
    /* The summary is counted by SQL, the list row by row: every revision above (global,
       group, canary, promote; acks in and out of scope, pending, agents known only by an
       ack or only by a group) counts the same agents, online and offline. An agent scope
       too, and an id the broker heard of only through a CONFIG_SYNC (no agents row). */
    FC_CHECK(fc_store_agent_group_set(store, "g-only", "web") == FC_OK);
    s_push(store, s_set(key, 9, "agent:a2", 0, &len, "feature=true", NULL), &len, FC_OK, NULL, 10);
    FC_CHECK(fc_store_config_ack(store, 9, "a2", "", "unchanged", "", NULL, NULL, 0) == FC_OK);
    for (uint64_t rev = 1; rev <= 9; rev++) {
        FC_CHECK(s_summary_is_status(store, rev, 0));
        FC_CHECK(s_summary_is_status(store, rev, INT64_MAX));
    }
    fc_fleet_count_t counts[FC_ACK_COUNT];
    fc_store_rev_t info;
    FC_CHECK(fc_store_config_summary(store, 3, 0, &info, counts) == FC_OK);
    FC_CHECK(counts[FC_ACK_APPLIED].agents == 1 && counts[FC_ACK_PENDING].agents == 2);
    FC_CHECK(fc_store_config_summary(store, 42, 0, &info, counts) == FC_ENOTFOUND);
}

/* A database written before config support (no config tables) opens and gains them; one
   from a newer broker is refused. */
/* Past FC_MAX_LIST agents the canary check reads the whole scope, page by page: a member
   beyond the first page is found, and "chooses none" names the exact count (issue 19). */
static void s_test_canary_wide(const char *base)
{
    char dir[300], text[FC_MAX_TEXT + 1];
    snprintf(dir, sizeof dir, "%s/wide", base);
    FC_CHECK(fc_mkdirs(dir, 0755) == 0);
    int err;
    fc_store_t *store = fc_store_testdb_new(dir, &err, text, sizeof text);
    FC_CHECK(store);
    size_t want = FC_MAX_LIST + 4, added = 0;
    FC_CHECK(fc_store_batch_begin(store) == FC_OK);
    /* "a..." ids, none a member at 1%: the first FC_MAX_LIST in id order and a few more. */
    for (unsigned i = 0; added < want; i++) {
        char id[16];
        snprintf(id, sizeof id, "a%06u", i);
        if (fc_canary_member(id, 1))
            continue;
        FC_CHECK(fc_store_agent_seen(store, id, "stable") == FC_OK);
        added++;
    }
    FC_CHECK(fc_store_batch_commit(store) == FC_OK);
    text[0] = '\0';
    FC_CHECK(fc_store_config_canary_check(store, "global", 1, text, sizeof text) == FC_EINVAL);
    char says[64];
    snprintf(says, sizeof says, "none of the %zu agents", want);
    FC_CHECK(strstr(text, says));
    /* One member, after all of them in id order: the check must reach it. */
    for (unsigned i = 0;; i++) {
        char id[16];
        snprintf(id, sizeof id, "b%06u", i);
        if (!fc_canary_member(id, 1))
            continue;
        FC_CHECK(fc_store_agent_seen(store, id, "stable") == FC_OK);
        break;
    }
    FC_CHECK(fc_store_config_canary_check(store, "global", 1, text, sizeof text) == FC_OK);
    fc_store_destroy(&store);
}

/* Databases of older brokers: only SQLite ones exist. */
static void s_test_old_db(const char *base)
{
    if (fc_store_testdb_pg())
        return;
    char dir[300], db[340];
    snprintf(dir, sizeof dir, "%s/old", base);
    FC_CHECK(fc_mkdirs(dir, 0755) == 0);
    int err;
    fc_store_t *store = fc_store_testdb_new(dir, &err, NULL, 0);
    FC_CHECK(store);
    fc_store_destroy(&store);
    snprintf(db, sizeof db, "%s/fleetcast.db", dir);
    sqlite3 *h;
    FC_CHECK(sqlite3_open(db, &h) == SQLITE_OK);
    FC_CHECK(sqlite3_exec(h,
                          "DROP TABLE config_revisions; DROP TABLE config_acks;"
                          " DROP TABLE agent_groups; DROP TABLE audit;"
                          " DELETE FROM meta WHERE key = 'config_schema';",
                          NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(h);
    store = fc_store_testdb_new(dir, &err, NULL, 0);
    FC_CHECK(store && fc_store_config_latest(store) == 0);
    FC_CHECK(fc_store_audit_add(store, "t", "a", "d", "ok") == FC_OK);
    FC_CHECK(fc_store_agent_seen(store, "old1", "stable") == FC_OK);
    fc_store_destroy(&store);
    /* Config schema 1 had no agent_known: the agents it knew were known before anything. */
    FC_CHECK(sqlite3_open(db, &h) == SQLITE_OK);
    FC_CHECK(sqlite3_exec(h,
                          "DELETE FROM agent_known;"
                          " UPDATE meta SET value = 1 WHERE key = 'config_schema';"
                          " UPDATE meta SET value = 3 WHERE key = 'seq';",
                          NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(h);
    store = fc_store_testdb_new(dir, &err, NULL, 0);
    uint64_t since = 99;
    FC_CHECK(store && fc_store_agent_known_since(store, "old1", &since) == FC_OK && since == 0);
    FC_CHECK(fc_store_agent_seen(store, "new1", "stable") == FC_OK);
    FC_CHECK(fc_store_agent_known_since(store, "new1", &since) == FC_OK && since == 3);
    fc_store_destroy(&store);
    FC_CHECK(sqlite3_open(db, &h) == SQLITE_OK);
    FC_CHECK(sqlite3_exec(h, "UPDATE meta SET value = 99 WHERE key = 'config_schema'", NULL, NULL,
                          NULL) == SQLITE_OK);
    sqlite3_close(h);
    char text[FC_MAX_TEXT + 1] = "";
    FC_CHECK(fc_store_testdb_new(dir, &err, text, sizeof text) == NULL && err == FC_EPROTO);
    FC_CHECK(strstr(text, "newer"));
}

/* One canary ack of another broker, on a thread of its own. */
typedef struct {
    fc_store_t *store;
    const char *id;
    bool halted;
    int err;
} s_acker_t;

static void *s_acker(void *arg)
{
    s_acker_t *a = arg;
    char reason[FC_MAX_TEXT + 1];
    a->err = fc_store_config_ack(a->store, 1, a->id, "", "failed", "", &a->halted, reason,
                                 sizeof reason);
    return NULL;
}

/* Two brokers on one database halt a canary once: the halt is decided on the revision as the
   database holds it inside the ack's transaction. Before, an ack through B that read the
   revision before A's halt committed halted it again: a second config.halt entry and a
   second sequence number. */
static void s_test_canary_peers(const char *base, const fc_signkey_t *key)
{
    char dir[300];
    snprintf(dir, sizeof dir, "%s/peers", base);
    FC_CHECK(fc_mkdirs(dir, 0755) == 0);
    int err;
    fc_store_t *a = fc_store_testdb_new(dir, &err, NULL, 0);
    fc_store_t *b = fc_store_testdb_new(dir, &err, NULL, 0);
    FC_CHECK(a && b);
    char in[5][16], out[1][16];
    s_canary_ids(50, in, 5, out, 1);
    for (int i = 0; i < 5; i++)
        FC_CHECK(fc_store_agent_seen(a, in[i], "stable") == FC_OK);
    size_t len;
    s_push(a, s_set(key, 1, "global", 50, &len, "feature=true", NULL), &len, FC_OK, NULL,
           fc_store_seq(a) + 1);
    bool halted = true;
    char reason[FC_MAX_TEXT + 1];
    for (int i = 0; i < 3; i++)
        FC_CHECK(fc_store_config_ack(a, 1, in[i], "", "applied", "", &halted, reason,
                                     sizeof reason) == FC_OK &&
                 !halted);
    /* B reads the revision (not halted), then waits for the writer's lock that A holds
       while its ack halts the canary (1 of 4 failed: above 20%). */
    FC_CHECK(fc_store_batch_begin(a) == FC_OK);
    s_acker_t other = {b, in[4], true, -1};
    pthread_t t;
    FC_CHECK(pthread_create(&t, NULL, s_acker, &other) == 0);
    usleep(1000 * 1000);
    FC_CHECK(fc_store_config_ack(a, 1, in[3], "", "failed", "", &halted, reason, sizeof reason) ==
                 FC_OK &&
             halted);
    FC_CHECK(fc_store_batch_commit(a) == FC_OK);
    uint64_t seq = fc_store_seq(a);
    pthread_join(t, NULL);
    FC_CHECK(other.err == FC_OK && !other.halted);
    fc_audit_entry_t *list;
    size_t n, halts = 0;
    FC_CHECK(fc_store_audit_list(a, 1000, &list, &n) == FC_OK);
    for (size_t i = 0; i < n; i++)
        halts += streq(list[i].action, "config.halt");
    free(list);
    FC_CHECK(halts == 1);
    fc_store_destroy(&b);
    fc_store_destroy(&a);
    a = fc_store_testdb_new(dir, &err, NULL, 0); /* the database's sequence, not a cache */
    FC_CHECK(a && fc_store_seq(a) == seq);
    fc_store_destroy(&a);
}

void fc_store_config_test(bool verbose)
{
    (void)verbose;
    printf(" * fc_store_config: ");
    FC_CHECK(fc_crypto_init() == 0);
    char base[] = "/tmp/fc_store_config_test.XXXXXX";
    FC_CHECK(mkdtemp(base));
    char dir[300];
    snprintf(dir, sizeof dir, "%s/data", base);
    FC_CHECK(fc_mkdirs(dir, 0755) == 0);
    int err;
    char text[FC_MAX_TEXT + 1];
    fc_store_t *store = fc_store_testdb_new(dir, &err, text, sizeof text);
    FC_CHECK(store);
    fc_signkey_t key;
    fc_signkey_generate(&key);

    s_test_revisions(store, &key);
    s_test_fleet(store, &key);
    s_test_canary_wide(base);
    s_test_canary_peers(base, &key);
    fc_audit_entry_t *audit;
    size_t naudit;
    FC_CHECK(fc_store_audit_list(store, 1000, &audit, &naudit) == FC_OK && naudit > 10);
    /* Paged by 3, newest first, each page older than the last: the same entries in order. */
    size_t paged = 0;
    uint64_t before = 0, last;
    bool more_audit = true;
    while (more_audit) {
        fc_audit_entry_t *page;
        size_t npage;
        FC_CHECK(fc_store_audit_page(store, before, 3, &page, &npage, &more_audit, &last) == FC_OK);
        FC_CHECK(npage <= 3 && paged + npage <= naudit);
        for (size_t i = 0; i < npage; i++)
            FC_CHECK(!memcmp(&page[i], &audit[paged + i], sizeof *page));
        paged += npage;
        FC_CHECK(!more_audit || (last > 0 && (!before || last < before)));
        before = last;
        free(page);
    }
    FC_CHECK(paged == naudit);
    free(audit);
    uint64_t seq = fc_store_seq(store);
    FC_CHECK(seq == 8); /* 7 revisions and a halt */

    /* Reopen: revisions, halt state, acks, groups, audit and the sequence are all there. */
    fc_store_destroy(&store);
    store = fc_store_testdb_new(dir, &err, text, sizeof text);
    FC_CHECK(store);
    FC_CHECK(fc_store_seq(store) == seq && fc_store_config_latest(store) == 7);
    fc_store_rev_t info;
    fc_agent_status_t *list;
    size_t n;
    FC_CHECK(fc_store_config_status(store, 5, 100, &info, &list, &n) == FC_OK);
    /* 2 counted failures, 2 outside the canary, 1 from an agent heard of too late. */
    FC_CHECK(info.halted && strstr(info.reason, "2 of 6") && s_count(list, n, "failed") == 5);
    free(list);
    char group[FC_MAX_NAME + 1];
    fc_store_agent_group(store, "a1", group, sizeof group);
    FC_CHECK(streq(group, "web"));
    fc_audit_entry_t *again;
    size_t nagain;
    FC_CHECK(fc_store_audit_list(store, 1000, &again, &nagain) == FC_OK && nagain == naudit);
    free(again);
    uint64_t revs[16];
    bool more;
    FC_CHECK(s_sync(store, "", "", 0, 16, FC_MAX_FRAME, &more, revs) == 7 && !more);
    size_t len;
    s_push(store, s_set(&key, 8, "global", 0, &len, "after.reopen=1", NULL), &len, FC_OK, NULL, 9);
    s_test_summary(store, &key);
    s_test_halt_upstream(store, &key);
    FC_CHECK(fc_store_check(store) == FC_OK);
    fc_store_destroy(&store);

    s_test_old_db(base);
    fc_remove_tree(base);
    printf("OK\n");
}
