/* fc_store_release_rollout_test.c: self-test of release rollouts in the store: waves offered
   to a stable share, per-agent SYNC answers, halt, advance, promote, pause, a reopen, and a
   relay's rollout following its upstream's. */
#include "fc_error.h"
#include "fc_file.h"
#include "fc_hash.h"
#include "fc_key.h"
#include "fc_manifest.h"
#include "fc_store_release_rollout.h"
#include "fc_store_rollout_cut.h"
#include "fc_store_testdb.h"
#include "fc_test_check.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_AGENTS 10

static uint8_t *s_sign(const char *tree, const char *channel, const char *version, uint64_t serial,
                       const fc_signkey_t *key, size_t *len)
{
    fc_manifest_t *m = fc_manifest_new();
    FC_CHECK(fc_manifest_scan_dir(m, tree, NULL, NULL) == FC_OK);
    snprintf(m->product, sizeof m->product, "demo");
    snprintf(m->channel, sizeof m->channel, "%s", channel);
    snprintf(m->version, sizeof m->version, "%s", version);
    m->serial = serial;
    m->created = 1700000000;
    uint8_t *bytes = fc_manifest_sign(m, key, len);
    FC_CHECK(bytes);
    fc_manifest_destroy(&m);
    return bytes;
}

typedef struct {
    uint8_t *bytes;
    size_t len;
} s_signed_t;

static void s_commit(fc_store_t *store, const s_signed_t *m)
{
    fc_release_info_t info;
    uint64_t seq = 0;
    char text[FC_MAX_TEXT + 1];
    FC_CHECK(fc_store_release_commit(store, m->bytes, m->len, &info, &seq, text, sizeof text) ==
             FC_OK);
    FC_CHECK(seq > 0);
}

/* What SYNC from id is answered with: 0 for nothing, else 1 + the index in ms. */
static int s_offered(fc_store_t *store, const char *channel, const char *id, const s_signed_t *ms,
                     int nms)
{
    uint8_t *bytes = NULL;
    size_t len = 0;
    int err = fc_store_release_for_agent(store, channel, id, &bytes, &len);
    int which = 0;
    if (err == FC_OK)
        for (int i = 0; i < nms && !which; i++)
            if (len == ms[i].len && !memcmp(bytes, ms[i].bytes, len))
                which = i + 1;
    FC_CHECK(err == FC_OK ? which > 0 : err == FC_ENOTFOUND);
    free(bytes);
    return which;
}

static void s_report(fc_store_t *store, const char *channel, const char *id, const char *version,
                     const char *state)
{
    fc_agent_status_t st;
    memset(&st, 0, sizeof st);
    snprintf(st.id, sizeof st.id, "%s", id);
    snprintf(st.channel, sizeof st.channel, "%s", channel);
    snprintf(st.version, sizeof st.version, "%s", version);
    snprintf(st.state, sizeof st.state, "%s", state);
    FC_CHECK(fc_store_agent_report(store, &st) == FC_OK);
    FC_CHECK(fc_store_rollout_on_report(store, &st) == FC_OK);
}

static fc_rollout_info_t s_status(fc_store_t *store, const char *channel)
{
    fc_rollout_info_t *list = NULL, out;
    size_t n = 0;
    FC_CHECK(fc_store_rollout_status(store, channel, 16, &list, &n) == FC_OK && n == 1);
    out = list[0];
    free(list);
    return out;
}

static fc_rollout_step_t s_step(fc_store_t *store, const char *channel, uint64_t *seq)
{
    fc_rollout_step_t step;
    fc_release_info_t info;
    char text[FC_MAX_TEXT + 1];
    uint64_t s = 0;
    FC_CHECK(fc_store_rollout_step(store, channel, &step, &info, &s, text, sizeof text) == FC_OK);
    if (seq)
        *seq = s;
    return step;
}

/* A relay's rollout follows its upstream's entry (fc_store_rollout_follow): the upstream's
   share is offered to the first of this store's agents in rank order, wider shares are
   announced, its state, pause and halt are taken as they are. */
static void s_test_follow(fc_store_t *store, const char *tree, const fc_signkey_t *key)
{
    s_signed_t m[2];
    m[0].bytes = s_sign(tree, "relayed", "1.0", 1, key, &m[0].len);
    m[1].bytes = s_sign(tree, "relayed", "2.0", 2, key, &m[1].len);
    char ids[S_AGENTS][16];
    const char *order[S_AGENTS];
    for (int i = 0; i < S_AGENTS; i++) {
        snprintf(ids[i], sizeof ids[i], "relayed-%d", i);
        order[i] = ids[i];
        FC_CHECK(fc_store_agent_seen(store, ids[i], "relayed") == FC_OK);
    }
    fc_rollout_order(order, S_AGENTS);
    s_commit(store, &m[0]);
    fc_rollout_info_t up;
    memset(&up, 0, sizeof up);
    snprintf(up.channel, sizeof up.channel, "relayed");
    snprintf(up.version, sizeof up.version, "2.0");
    snprintf(up.state, sizeof up.state, "WAITING-PROMOTE");
    up.serial = 2;
    up.prev_serial = 1;
    up.percent = 30;
    up.halt_percent = 20;
    fc_release_info_t info;
    uint64_t seq = 0;
    /* Not mirrored yet: nothing to follow; the plan the relay registers starts it. */
    FC_CHECK(fc_store_rollout_follow(store, &up, "tcp://up:1", &info, &seq) == FC_ENOTFOUND);
    uint32_t waves[] = {30, 100};
    FC_CHECK(fc_store_rollout_plan(store, "relayed", 2, waves, 2, 20, 0, true) == FC_OK);
    s_commit(store, &m[1]);
    FC_CHECK(fc_store_rollout_follow(store, &up, "tcp://up:1", &info, &seq) == FC_OK && seq == 0);
    fc_rollout_info_t st = s_status(store, "relayed");
    FC_CHECK(!strcmp(st.state, "WAITING-PROMOTE") && st.percent == 30 && st.offered == 3);
    /* No cut from upstream (older): drawn here, and stated as this broker's own. */
    FC_CHECK(!strcmp(st.cut, order[2]));
    for (int i = 0; i < S_AGENTS; i++)
        FC_CHECK(s_offered(store, "relayed", order[i], m, 2) == (i < 3 ? 2 : 1));
    /* Paused upstream: paused here, nobody more offered, nothing announced. */
    snprintf(up.state, sizeof up.state, "PAUSED");
    FC_CHECK(fc_store_rollout_follow(store, &up, "tcp://up:1", &info, &seq) == FC_OK && seq == 0);
    FC_CHECK(!strcmp(s_status(store, "relayed").state, "PAUSED"));
    /* Promoted or resumed upstream to 60%: offered to 6 here, announced. */
    snprintf(up.state, sizeof up.state, "ROLLING");
    up.percent = 60;
    uint64_t before = fc_store_seq(store);
    FC_CHECK(fc_store_rollout_follow(store, &up, "tcp://up:1", &info, &seq) == FC_OK &&
             seq == before + 1 && info.serial == 2 && !strcmp(info.channel, "relayed"));
    st = s_status(store, "relayed");
    FC_CHECK(!strcmp(st.state, "ROLLING") && st.percent == 60 && st.offered == 6);
    for (int i = 0; i < S_AGENTS; i++)
        FC_CHECK(s_offered(store, "relayed", order[i], m, 2) == (i < 6 ? 2 : 1));
    /* Halted upstream: halted here, naming the upstream; nobody more is offered it. */
    snprintf(up.state, sizeof up.state, "HALTED");
    snprintf(up.reason, sizeof up.reason, "wave 2 of 2: 3 of 4 agents failed");
    FC_CHECK(fc_store_rollout_follow(store, &up, "tcp://up:1", &info, &seq) == FC_OK && seq == 0);
    st = s_status(store, "relayed");
    FC_CHECK(!strcmp(st.state, "HALTED") &&
             strstr(st.reason, "at the upstream broker tcp://up:1: wave 2 of 2"));
    FC_CHECK(fc_store_agent_seen(store, "relayed-new", "relayed") == FC_OK);
    FC_CHECK(s_offered(store, "relayed", "relayed-new", m, 2) == 1);
    /* Not a rollout: refused. */
    up.percent = 0;
    FC_CHECK(fc_store_rollout_follow(store, &up, "tcp://up:1", &info, &seq) == FC_EPROTO);
    up.percent = 60;
    snprintf(up.state, sizeof up.state, "SIDEWAYS");
    FC_CHECK(fc_store_rollout_follow(store, &up, "tcp://up:1", &info, &seq) == FC_EPROTO);
    free(m[0].bytes);
    free(m[1].bytes);
}

/* With the upstream's cut (the root's wave drawn over every agent it knows), a relay offers
   the release to exactly its agents within the cut, not its own share of percent; passes the
   cut on unchanged in its status; offers a moved cut (announced); takes in a newcomer
   within the cut; and without a cut (an older upstream) draws its own share. */
static void s_test_follow_cut(fc_store_t *store, const char *tree, const fc_signkey_t *key)
{
    s_signed_t m[2];
    m[0].bytes = s_sign(tree, "cutchan", "1.0", 1, key, &m[0].len);
    m[1].bytes = s_sign(tree, "cutchan", "2.0", 2, key, &m[1].len);
    char ids[S_AGENTS][16];
    const char *order[S_AGENTS];
    for (int i = 0; i < S_AGENTS; i++) {
        snprintf(ids[i], sizeof ids[i], "cut-%d", i);
        order[i] = ids[i];
        FC_CHECK(fc_store_agent_seen(store, ids[i], "cutchan") == FC_OK);
    }
    fc_rollout_order(order, S_AGENTS);
    s_commit(store, &m[0]);
    fc_rollout_info_t up;
    memset(&up, 0, sizeof up);
    snprintf(up.channel, sizeof up.channel, "cutchan");
    snprintf(up.version, sizeof up.version, "2.0");
    snprintf(up.state, sizeof up.state, "WAITING-PROMOTE");
    up.serial = 2;
    up.prev_serial = 1;
    up.percent = 50; /* 5 of these 10, but the root's 50% ends at this relay's second */
    snprintf(up.cut, sizeof up.cut, "%s", order[1]);
    FC_CHECK(fc_store_rollout_cut_set(store, "cutchan", 2, "not a cut!") == FC_EINVAL);
    FC_CHECK(fc_store_rollout_cut_set(store, "cutchan", 2, up.cut) == FC_OK);
    uint32_t waves[] = {50, 100};
    FC_CHECK(fc_store_rollout_plan(store, "cutchan", 2, waves, 2, 20, 0, true) == FC_OK);
    s_commit(store, &m[1]);
    fc_release_info_t info;
    uint64_t seq = 0;
    FC_CHECK(fc_store_rollout_follow(store, &up, "tcp://up:1", &info, &seq) == FC_OK && seq == 0);
    fc_rollout_info_t st = s_status(store, "cutchan");
    FC_CHECK(st.offered == 2 && !strcmp(st.cut, order[1]));
    for (int i = 0; i < S_AGENTS; i++)
        FC_CHECK(s_offered(store, "cutchan", order[i], m, 2) == (i < 2 ? 2 : 1));
    /* The root heard of more agents: its cut moves to this relay's seventh, same percent. */
    snprintf(up.cut, sizeof up.cut, "%s", order[6]);
    uint64_t before = fc_store_seq(store);
    FC_CHECK(fc_store_rollout_follow(store, &up, "tcp://up:1", &info, &seq) == FC_OK &&
             seq == before + 1);
    st = s_status(store, "cutchan");
    FC_CHECK(st.offered == 7 && !strcmp(st.cut, order[6]));
    for (int i = 0; i < S_AGENTS; i++)
        FC_CHECK(s_offered(store, "cutchan", order[i], m, 2) == (i < 7 ? 2 : 1));
    /* A newcomer the root never heard of: in if it ranks within the cut. */
    char fresh[16] = "";
    for (int i = 0; !fresh[0] && i < 1000; i++) {
        snprintf(fresh, sizeof fresh, "fresh-%d", i);
        if (!fc_rollout_in_cut(up.cut, fresh))
            fresh[0] = '\0';
    }
    FC_CHECK(fresh[0] && fc_store_agent_seen(store, fresh, "cutchan") == FC_OK);
    FC_CHECK(s_offered(store, "cutchan", fresh, m, 2) == 2);
    free(m[0].bytes);
    free(m[1].bytes);
}

/* One call of another broker, on a thread of its own: it blocks on the writer's lock while
   the main thread holds it (a batch on a third store). */
typedef struct {
    fc_store_t *store;
    const char *channel;
    bool step; /* fc_store_rollout_step, else a PAUSE */
    fc_rollout_step_t stepped;
    int err;
} s_peer_t;

static void *s_peer(void *arg)
{
    s_peer_t *p = arg;
    uint64_t serial, seq;
    fc_release_info_t info;
    char text[FC_MAX_TEXT + 1];
    if (p->step)
        p->err = fc_store_rollout_step(p->store, p->channel, &p->stepped, &info, &seq, text,
                                       sizeof text);
    else
        p->err = fc_store_rollout_control(p->store, p->channel, FC_ROLLOUT_PAUSE, &serial, &info,
                                          &seq, text, sizeof text);
    return NULL;
}

/* Runs p on its thread while `holder` holds the writer's lock (a batch) and does what
   `during` does inside it, then lets go: p read the rollout before the change, and writes
   after it. */
static void s_race(fc_store_t *holder, s_peer_t *p, void (*during)(fc_store_t *, const char *))
{
    FC_CHECK(fc_store_batch_begin(holder) == FC_OK);
    pthread_t t;
    FC_CHECK(pthread_create(&t, NULL, s_peer, p) == 0);
    usleep(1000 * 1000); /* the peer reads, then waits for the lock */
    during(holder, p->channel);
    FC_CHECK(fc_store_batch_commit(holder) == FC_OK);
    pthread_join(t, NULL);
}

static void s_promote(fc_store_t *store, const char *channel)
{
    uint64_t serial, seq;
    fc_release_info_t info;
    char text[FC_MAX_TEXT + 1];
    FC_CHECK(fc_store_rollout_control(store, channel, FC_ROLLOUT_PROMOTE, &serial, &info, &seq,
                                      text, sizeof text) == FC_OK);
}

static void s_pause(fc_store_t *store, const char *channel)
{
    uint64_t serial, seq;
    fc_release_info_t info;
    char text[FC_MAX_TEXT + 1];
    FC_CHECK(fc_store_rollout_control(store, channel, FC_ROLLOUT_PAUSE, &serial, &info, &seq, text,
                                      sizeof text) == FC_OK);
}

/* Two brokers on one database: a rollout's waves, pauses and halts are decided on what the
   database holds inside the writer's transaction, not on what a broker read before it. Before,
   a pause through one broker racing a promote through another put the rollout back to wave 1
   (the pause wrote back the wave it had read), and a step racing a pause un-paused it. */
static void s_test_peers(const char *dir, const char *tree, const fc_signkey_t *key)
{
    int err = 0;
    fc_store_t *a = fc_store_testdb_new(dir, &err, NULL, 0);
    fc_store_t *b = fc_store_testdb_new(dir, &err, NULL, 0);
    FC_CHECK(a && b);
    uint32_t waves[] = {20, 100};
    const char *chans[] = {"peer1", "peer2"};
    s_signed_t m[2][2];
    for (int c = 0; c < 2; c++) {
        m[c][0].bytes = s_sign(tree, chans[c], "1.0", 1, key, &m[c][0].len);
        m[c][1].bytes = s_sign(tree, chans[c], "2.0", 2, key, &m[c][1].len);
        for (int i = 0; i < S_AGENTS; i++) {
            char id[32];
            snprintf(id, sizeof id, "%s-%d", chans[c], i);
            FC_CHECK(fc_store_agent_seen(a, id, chans[c]) == FC_OK);
        }
        s_commit(a, &m[c][0]);
        FC_CHECK(fc_store_rollout_plan(a, chans[c], 2, waves, 2, 20, 0, c == 0) == FC_OK);
        s_commit(a, &m[c][1]);
    }
    /* peer1 waits for promote; B pauses it while A promotes: wave 2, paused. */
    FC_CHECK(!strcmp(s_status(a, "peer1").state, "WAITING-PROMOTE"));
    s_peer_t p = {b, "peer1", false, FC_ROLLOUT_STAY, -1};
    s_race(a, &p, s_promote);
    FC_CHECK(p.err == FC_OK);
    fc_rollout_info_t st = s_status(a, "peer1");
    FC_CHECK(st.wave == 2 && !strcmp(st.state, "PAUSED"));
    /* peer2's wave 1 is healthy: B steps it on while A pauses it: it stays, paused. */
    for (int i = 0; i < S_AGENTS; i++) {
        char id[32];
        snprintf(id, sizeof id, "peer2-%d", i);
        if (s_offered(a, "peer2", id, m[1], 2) == 2)
            s_report(a, "peer2", id, "2.0", "installed");
    }
    p = (s_peer_t){b, "peer2", true, FC_ROLLOUT_NEXT, -1};
    s_race(a, &p, s_pause);
    FC_CHECK(p.err == FC_OK && p.stepped == FC_ROLLOUT_STAY);
    st = s_status(a, "peer2");
    FC_CHECK(st.wave == 1 && !strcmp(st.state, "PAUSED"));
    fc_store_destroy(&b);
    fc_store_destroy(&a);
    for (int c = 0; c < 2; c++)
        for (int v = 0; v < 2; v++)
            free(m[c][v].bytes);
}

void fc_store_release_rollout_test(bool verbose)
{
    printf(" * fc_store_release_rollout: ");
    FC_CHECK(fc_crypto_init() == 0);
    char base[] = "/tmp/fc_rollout_test.XXXXXX";
    FC_CHECK(mkdtemp(base));
    char dir[300], tree[300], path[400];
    snprintf(dir, sizeof dir, "%s/data", base);
    snprintf(tree, sizeof tree, "%s/tree", base);
    FC_CHECK(fc_mkdirs(dir, 0755) == 0 && fc_mkdirs(tree, 0755) == 0);
    snprintf(path, sizeof path, "%s/empty", tree);
    FC_CHECK(fc_write_file_atomic(path, "", 0, 0644) == 0);
    int err = 0;
    fc_store_t *store = fc_store_testdb_new(dir, &err, NULL, 0);
    FC_CHECK(store);
    fc_signkey_t key;
    fc_signkey_generate(&key);

    const char *chans[] = {"stable", "beta", "gamma"};
    s_signed_t m[3][2];
    char ids[S_AGENTS][16], stable_ids[S_AGENTS][16];
    for (int c = 0; c < 3; c++) {
        m[c][0].bytes = s_sign(tree, chans[c], "1.0", 1, &key, &m[c][0].len);
        m[c][1].bytes = s_sign(tree, chans[c], "2.0", 2, &key, &m[c][1].len);
        for (int i = 0; i < S_AGENTS; i++) {
            char id[32];
            snprintf(id, sizeof id, "%s-%d", chans[c], i);
            FC_CHECK(fc_store_agent_seen(store, id, chans[c]) == FC_OK);
        }
        s_commit(store, &m[c][0]);
    }
    /* No rollout: everyone gets the latest. */
    FC_CHECK(s_offered(store, "stable", "stable-3", m[0], 2) == 1);
    FC_CHECK(s_status(store, "stable").state[0] == '\0');
    FC_CHECK(fc_store_release_for_agent(store, "nochannel", "x", &(uint8_t *){NULL},
                                        &(size_t){0}) == FC_ENOTFOUND);

    /* Plans: bad ones refused; a committed serial refused. */
    uint32_t waves[] = {20, 100}, bad[] = {20, 50};
    FC_CHECK(fc_store_rollout_plan(store, "stable", 2, bad, 2, 20, 0, false) == FC_EINVAL);
    FC_CHECK(fc_store_rollout_plan(store, "stable", 1, waves, 2, 20, 0, false) == FC_ESERIAL);
    FC_CHECK(fc_store_rollout_plan(store, "stable", 2, waves, 1, 20, 0, true) == FC_EINVAL);
    FC_CHECK(fc_store_rollout_plan(store, "stable", 2, waves, 2, 101, 0, false) == FC_EINVAL);

    /* stable: wave 1 is 2 of 10, the first two in rank order; the others follow 1.0. */
    FC_CHECK(fc_store_rollout_plan(store, "stable", 2, waves, 2, 20, 0, false) == FC_OK);
    s_commit(store, &m[0][1]);
    const char *order[S_AGENTS];
    for (int i = 0; i < S_AGENTS; i++) {
        snprintf(stable_ids[i], sizeof stable_ids[i], "stable-%d", i);
        order[i] = stable_ids[i];
    }
    fc_rollout_order(order, S_AGENTS);
    fc_rollout_info_t st = s_status(store, "stable");
    FC_CHECK(!strcmp(st.state, "ROLLING") && st.wave == 1 && st.waves == 2 && st.percent == 20);
    FC_CHECK(st.offered == 2 && st.not_offered == 8 && st.agents == S_AGENTS);
    FC_CHECK(!strcmp(st.prev_version, "1.0") && st.prev_serial == 1 && st.serial == 2);
    for (int i = 0; i < S_AGENTS; i++)
        FC_CHECK(s_offered(store, "stable", order[i], m[0], 2) == (i < 2 ? 2 : 1));
    /* Reports from before the offer do not count; after it they do. Both roll back: halt. */
    s_report(store, "stable", order[0], "1.0", "rolled-back");
    s_report(store, "stable", order[1], "1.0", "failed");
    FC_CHECK(s_step(store, "stable", NULL) == FC_ROLLOUT_HALT);
    st = s_status(store, "stable");
    FC_CHECK(!strcmp(st.state, "HALTED") && strstr(st.reason, "2 of 2"));
    FC_CHECK(st.rolled_back == 1 && st.failed == 1 && st.not_offered == 8);
    /* Halted: no one else is offered it, not even a new agent; controls refused. */
    FC_CHECK(fc_store_agent_seen(store, "stable-new", "stable") == FC_OK);
    FC_CHECK(s_offered(store, "stable", "stable-new", m[0], 2) == 1);
    FC_CHECK(s_offered(store, "stable", order[5], m[0], 2) == 1);
    uint64_t serial, seq;
    fc_release_info_t info;
    char text[FC_MAX_TEXT + 1];
    FC_CHECK(fc_store_rollout_control(store, "stable", FC_ROLLOUT_RESUME, &serial, &info, &seq,
                                      text, sizeof text) == FC_EREFUSED &&
             strstr(text, "halted"));

    /* beta: healthy wave 1 moves on to wave 2 (announced), then DONE. */
    FC_CHECK(fc_store_rollout_plan(store, "beta", 2, waves, 2, 20, 0, false) == FC_OK);
    s_commit(store, &m[1][1]);
    for (int i = 0; i < S_AGENTS; i++)
        snprintf(ids[i], sizeof ids[i], "beta-%d", i);
    int members = 0;
    for (int i = 0; i < S_AGENTS; i++)
        if (s_offered(store, "beta", ids[i], m[1], 2) == 2) {
            members++;
            FC_CHECK(s_step(store, "beta", NULL) == FC_ROLLOUT_STAY);
            s_report(store, "beta", ids[i], "2.0", "installed");
        }
    FC_CHECK(members == 2);
    uint64_t before = fc_store_seq(store);
    FC_CHECK(s_step(store, "beta", &seq) == FC_ROLLOUT_NEXT && seq == before + 1);
    for (int i = 0; i < S_AGENTS; i++) {
        FC_CHECK(s_offered(store, "beta", ids[i], m[1], 2) == 2);
        s_report(store, "beta", ids[i], "2.0", "up-to-date");
    }
    FC_CHECK(s_step(store, "beta", NULL) == FC_ROLLOUT_FINISH);
    st = s_status(store, "beta");
    FC_CHECK(!strcmp(st.state, "DONE") && st.healthy == S_AGENTS && st.installed == S_AGENTS);

    /* gamma: a canary is held until promote; pause holds waves. */
    FC_CHECK(fc_store_rollout_plan(store, "gamma", 2, waves, 2, 20, 0, true) == FC_OK);
    s_commit(store, &m[2][1]);
    for (int i = 0; i < S_AGENTS; i++) {
        snprintf(ids[i], sizeof ids[i], "gamma-%d", i);
        if (s_offered(store, "gamma", ids[i], m[2], 2) == 2)
            s_report(store, "gamma", ids[i], "2.0", "installed");
    }
    FC_CHECK(s_step(store, "gamma", NULL) == FC_ROLLOUT_STAY);
    FC_CHECK(!strcmp(s_status(store, "gamma").state, "WAITING-PROMOTE"));
    FC_CHECK(fc_store_rollout_control(store, "gamma", FC_ROLLOUT_PAUSE, &serial, &info, &seq, text,
                                      sizeof text) == FC_OK &&
             serial == 2 && seq == 0);
    FC_CHECK(!strcmp(s_status(store, "gamma").state, "PAUSED"));
    FC_CHECK(fc_store_rollout_control(store, "gamma", FC_ROLLOUT_RESUME, &serial, &info, &seq, text,
                                      sizeof text) == FC_OK);
    before = fc_store_seq(store);
    FC_CHECK(fc_store_rollout_control(store, "gamma", FC_ROLLOUT_PROMOTE, &serial, &info, &seq,
                                      text, sizeof text) == FC_OK &&
             seq == before + 1 && info.serial == 2);
    st = s_status(store, "gamma");
    FC_CHECK(!strcmp(st.state, "ROLLING") && st.wave == 2 && st.offered == S_AGENTS);
    FC_CHECK(fc_store_rollout_control(store, "gamma", FC_ROLLOUT_PROMOTE, &serial, &info, &seq,
                                      text, sizeof text) == FC_EINVAL);
    FC_CHECK(fc_store_rollout_control(store, "nochannel", FC_ROLLOUT_PAUSE, &serial, &info, &seq,
                                      text, sizeof text) == FC_ENOTFOUND);

    /* Everything survives a reopen. */
    fc_store_destroy(&store);
    store = fc_store_testdb_new(dir, &err, NULL, 0);
    FC_CHECK(store);
    st = s_status(store, "stable");
    FC_CHECK(!strcmp(st.state, "HALTED") && st.rolled_back == 1);
    FC_CHECK(s_offered(store, "stable", order[0], m[0], 2) == 2);
    FC_CHECK(s_offered(store, "stable", order[9], m[0], 2) == 1);
    FC_CHECK(!strcmp(s_status(store, "gamma").state, "ROLLING"));
    char(*active)[FC_MAX_NAME + 1] = NULL;
    size_t nactive = 0;
    FC_CHECK(fc_store_rollout_active(store, &active, &nactive) == FC_OK && nactive == 1 &&
             !strcmp(active[0], "gamma"));
    free(active);

    s_test_follow(store, tree, &key);
    s_test_follow_cut(store, tree, &key);
    s_test_peers(dir, tree, &key);

    fc_store_destroy(&store);
    for (int c = 0; c < 3; c++)
        for (int v = 0; v < 2; v++)
            free(m[c][v].bytes);
    fc_signkey_wipe(&key);
    FC_CHECK(fc_remove_tree(base) == 0);
    printf("%sOK\n", verbose ? "\n" : "");
}
