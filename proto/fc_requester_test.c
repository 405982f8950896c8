/* fc_requester_test.c: fc_requester's self-test against a ROUTER peer on 127.0.0.1 that
   loses, duplicates, answers late, goes away and comes back. */
#include "fc_dead_port.h"
#include "fc_error.h"
#include "fc_file.h"
#include "fc_requester.h"
#include "fc_test_check.h"
#include "fc_test_pump.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Pumps until the requester has seen a connection event of this kind. */
static bool s_await_event(fc_requester_t *r, fc_requester_event_t want, int wait_ms)
{
    int64_t end = zclock_mono() + wait_ms;
    while (zclock_mono() < end) {
        zmq_pollitem_t item = {zsock_resolve(fc_requester_monitor(r)), 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 50) > 0 && fc_requester_on_monitor(r) == want)
            return true;
    }
    return false;
}

/* The peer's side: the next request within wait_ms (caller owns it and *who), or NULL. */
static fc_msg_t *s_peer_recv(zsock_t *router, zframe_t **who, int wait_ms)
{
    zmq_pollitem_t item = {zsock_resolve(router), 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, wait_ms) <= 0)
        return NULL;
    int err = 0;
    return fc_msg_recv(zsock_resolve(router), who, &err);
}

static void s_peer_reply(zsock_t *router, zframe_t *who, uint64_t req, uint64_t serial)
{
    fc_msg_t *ok = fc_msg_new(FC_MSG_OK);
    ok->req = req;
    ok->serial = serial;
    int rc = fc_msg_send_to(&ok, who, zsock_resolve(router));
    FC_CHECK(rc == 0);
    (void)rc;
}

static zsock_t *s_bind(int port, int *port_out, char *ep, size_t size)
{
    zsock_t *router = zsock_new(ZMQ_ROUTER);
    FC_CHECK(router);
    int got = port ? zsock_bind(router, "tcp://127.0.0.1:%d", port)
                   : zsock_bind(router, "tcp://127.0.0.1:*");
    if (got <= 0) {
        zsock_destroy(&router);
        return NULL;
    }
    if (port_out)
        *port_out = port ? port : got;
    if (ep)
        snprintf(ep, size, "tcp://127.0.0.1:%d", port ? port : got);
    return router;
}

static void s_test_deadlines(void)
{
    char ep[64];
    zsock_t *router = s_bind(0, NULL, ep, sizeof ep);
    fc_requester_opts_t o = {.resend_ms = 10000};
    fc_requester_t *r = fc_requester_new(ep, &o, NULL);
    FC_CHECK(r);
    FC_CHECK(fc_requester_next_ms(r) == -1); /* nothing pending */
    fc_msg_t *m = fc_msg_new(FC_MSG_LIST);
    uint64_t a = fc_requester_send(r, &m, NULL, NULL);
    FC_CHECK(a && !m);
    int64_t next = fc_requester_next_ms(r);
    FC_CHECK(next > 5000 && next <= 10000);
    /* A shorter per-request interval moves the next deadline forward. */
    m = fc_msg_new(FC_MSG_LIST);
    fc_requester_sendopts_t quick = {.resend_ms = 500};
    uint64_t b = fc_requester_send(r, &m, NULL, &quick);
    FC_CHECK(b && b != a);
    next = fc_requester_next_ms(r);
    FC_CHECK(next >= 0 && next <= 500);
    /* Best effort: no deadline of its own. */
    void *mine = fc_requester_forget(r, b);
    FC_CHECK(mine == NULL);
    m = fc_msg_new(FC_MSG_LIST);
    fc_requester_sendopts_t once = {.resend_ms = -1};
    FC_CHECK(fc_requester_send(r, &m, NULL, &once));
    next = fc_requester_next_ms(r);
    FC_CHECK(next > 5000 && next <= 10000);
    /* An expiry is a deadline too; once passed, the request is handed back and forgotten. */
    int token = 0;
    m = fc_msg_new(FC_MSG_LIST);
    fc_requester_sendopts_t brief = {.expire_ms = 20};
    uint64_t c = fc_requester_send(r, &m, &token, &brief);
    next = fc_requester_next_ms(r);
    FC_CHECK(next >= 0 && next <= 20);
    zclock_sleep(30);
    FC_CHECK(fc_requester_next_ms(r) == 0);
    fc_requester_tick(r);
    uint64_t gone = 0;
    void *user = NULL;
    bool was = fc_requester_expired(r, &gone, &user);
    FC_CHECK(was && gone == c && user == &token);
    was = fc_requester_expired(r, NULL, NULL);
    FC_CHECK(!was);
    FC_CHECK(!fc_requester_pending(r, c) && fc_requester_outstanding(r) == 2);
    /* Requests of one kind, by their user pointer. */
    static const char kind_a[] = "a", kind_b[] = "b";
    for (int i = 0; i < 3; i++) {
        m = fc_msg_new(FC_MSG_LIST);
        uint64_t k = fc_requester_send(r, &m, (void *)(i < 2 ? kind_a : kind_b), NULL);
        FC_CHECK(k);
    }
    FC_CHECK(fc_requester_count(r, kind_a) == 2 && fc_requester_count(r, kind_b) == 1);
    size_t forgot = fc_requester_forget_user(r, kind_a);
    FC_CHECK(forgot == 2 && fc_requester_count(r, kind_a) == 0);
    FC_CHECK(fc_requester_outstanding(r) == 3);
    FC_CHECK(fc_requester_oldest(r, kind_b) && fc_requester_oldest(r, kind_a) == 0);
    fc_requester_destroy(&r);
    FC_CHECK(r == NULL);

    /* At most two sends: then, unanswered one interval later, it expires. */
    fc_requester_opts_t fast = {.resend_ms = 30};
    r = fc_requester_new(ep, &fast, NULL);
    FC_CHECK(r);
    m = fc_msg_new(FC_MSG_LIST);
    fc_requester_sendopts_t twice = {.max_sends = 2};
    uint64_t d = fc_requester_send(r, &m, &token, &twice);
    int copies = 0;
    gone = 0;
    int64_t end = zclock_mono() + 5000;
    while (!gone && zclock_mono() < end) {
        fc_msg_t *none = fc_test_pump(r, 20, NULL, NULL);
        FC_CHECK(none == NULL);
        while (fc_requester_expired(r, &gone, NULL))
            ;
        zframe_t *who = NULL;
        fc_msg_t *got = NULL;
        while ((got = s_peer_recv(router, &who, 0)) != NULL) {
            copies += got->req == d;
            fc_msg_destroy(&got);
            zframe_destroy(&who);
        }
    }
    zframe_t *who = NULL;
    fc_msg_t *late = NULL;
    while ((late = s_peer_recv(router, &who, 200)) != NULL) {
        copies += late->req == d;
        fc_msg_destroy(&late);
        zframe_destroy(&who);
    }
    FC_CHECK(gone == d && copies == 2 && fc_requester_outstanding(r) == 0);
    fc_requester_destroy(&r);
    zsock_destroy(&router);
}

/* A request the peer drops is re-sent at its deadline (not before) and answered; a second
   reply to it is dropped and counted; a reply to a forgotten request too; so is a frame that
   does not decode; and a message with another's id is handed over untouched. */
static void s_test_loss_duplicates_late(void)
{
    char ep[64];
    zsock_t *router = s_bind(0, NULL, ep, sizeof ep);
    fc_requester_opts_t o = {.resend_ms = 200, .tag = 1ull << 63};
    fc_requester_t *r = fc_requester_new(ep, &o, NULL);
    FC_CHECK(r);
    int token = 0;
    fc_msg_t *m = fc_msg_new(FC_MSG_LIST);
    int64_t sent = zclock_mono();
    uint64_t id = fc_requester_send(r, &m, &token, NULL);
    FC_CHECK(id & (1ull << 63));

    zframe_t *who = NULL;
    fc_msg_t *got = s_peer_recv(router, &who, 5000);
    FC_CHECK(got && got->type == FC_MSG_LIST && got->req == id);
    fc_msg_destroy(&got);
    zframe_destroy(&who); /* lost */
    /* Nothing answers, so the requester re-sends at its deadline. */
    fc_msg_t *none = fc_test_pump(r, 300, NULL, NULL);
    FC_CHECK(none == NULL);
    got = s_peer_recv(router, &who, 5000);
    FC_CHECK(got && got->req == id);
    FC_CHECK(zclock_mono() - sent >= 200);
    FC_CHECK(fc_requester_retries(r) >= 1);
    fc_msg_destroy(&got);
    s_peer_reply(router, who, id, 7);
    s_peer_reply(router, who, id, 8); /* duplicate */

    void *user = NULL;
    fc_requester_got_t kind = FC_REQUESTER_NONE;
    fc_msg_t *reply = fc_test_pump(r, 5000, &user, &kind);
    FC_CHECK(reply && kind == FC_REQUESTER_REPLY && reply->req == id && reply->serial == 7);
    FC_CHECK(user == &token && fc_requester_outstanding(r) == 0);
    FC_CHECK(fc_requester_reply_sent(r) >= sent + 200); /* the re-sent copy was answered */
    fc_msg_destroy(&reply);
    none = fc_test_pump(r, 100, NULL, NULL);
    FC_CHECK(none == NULL);
    FC_CHECK(fc_requester_dropped(r) == 1);

    /* Late: the reply comes after the request was forgotten. */
    m = fc_msg_new(FC_MSG_STATUS);
    uint64_t late = fc_requester_send(r, &m, &token, NULL);
    zframe_t *who2 = NULL;
    got = s_peer_recv(router, &who2, 5000);
    /* On a loaded machine the pumps above can outlast a second deadline of `id`: its extra
       copies arrive first. */
    while (got && got->req == id) {
        fc_msg_destroy(&got);
        zframe_destroy(&who2);
        got = s_peer_recv(router, &who2, 5000);
    }
    FC_CHECK(got && got->req == late);
    fc_msg_destroy(&got);
    zframe_destroy(&who2);
    void *mine = fc_requester_forget(r, late);
    FC_CHECK(mine == &token);
    mine = fc_requester_forget(r, late);
    FC_CHECK(mine == NULL);
    s_peer_reply(router, who, late, 1);
    /* Malformed: a frame that is no message. */
    zmsg_t *junk = zmsg_new();
    zmsg_addmem(junk, zframe_data(who), zframe_size(who));
    zmsg_addstr(junk, "not msgpack");
    int rc = zmsg_send(&junk, router);
    FC_CHECK(rc == 0);
    /* Another's: an id without the tag bit is handed over, not dropped. */
    s_peer_reply(router, who, 42, 9);
    reply = fc_test_pump(r, 5000, &user, &kind);
    FC_CHECK(reply && kind == FC_REQUESTER_OTHER && reply->req == 42 && user == NULL);
    fc_msg_destroy(&reply);
    FC_CHECK(fc_requester_dropped(r) == 2);
    FC_CHECK(fc_requester_malformed(r) == 1);
    zframe_destroy(&who);
    fc_requester_destroy(&r);
    zsock_destroy(&router);
}

/* Drives the requester while the peer takes up to n requests (their ids in order);
   returns how many came within 10 s. */
static size_t s_collect(fc_requester_t *r, zsock_t *router, uint64_t *ids, size_t n)
{
    size_t got_n = 0;
    int64_t end = zclock_mono() + 10000;
    while (got_n < n && zclock_mono() < end) {
        fc_msg_t *none = fc_test_pump(r, 20, NULL, NULL);
        FC_CHECK(none == NULL);
        zframe_t *who = NULL;
        fc_msg_t *got = s_peer_recv(router, &who, 0);
        while (got && got_n < n) {
            ids[got_n++] = got->req;
            fc_msg_destroy(&got);
            zframe_destroy(&who);
            got = s_peer_recv(router, &who, 10);
        }
        fc_msg_destroy(&got);
        zframe_destroy(&who);
    }
    return got_n;
}

/* The peer goes away and comes back on the same port: what was outstanding is flushed once
   the new connection is up, long before its re-send deadline, `first` requests first. */
static void s_test_reconnect(void)
{
    int port = 0;
    char ep[64];
    zsock_t *router = s_bind(0, &port, ep, sizeof ep);
    fc_requester_opts_t o = {.resend_ms = 60000, .immediate = true};
    fc_requester_t *r = fc_requester_new(ep, &o, NULL);
    FC_CHECK(r);
    bool seen = s_await_event(r, FC_REQUESTER_EV_CONNECTED, 5000);
    FC_CHECK(seen);
    fc_msg_t *m = fc_msg_new(FC_MSG_LIST);
    uint64_t plain = fc_requester_send(r, &m, NULL, NULL);
    m = fc_msg_new(FC_MSG_STATUS);
    fc_requester_sendopts_t first = {.first = true};
    uint64_t probe = fc_requester_send(r, &m, NULL, &first);
    /* A CONNECTED may come before the handshake is done: the flush sends them then. */
    uint64_t order[3] = {0};
    size_t n = s_collect(r, router, order, 2);
    FC_CHECK(n == 2 && (order[0] == plain || order[0] == probe));
    FC_CHECK(order[1] == (order[0] == plain ? probe : plain));
    zsock_destroy(&router); /* gone, with both requests unanswered */
    seen = s_await_event(r, FC_REQUESTER_EV_DISCONNECTED, 5000);
    FC_CHECK(seen);
    FC_CHECK(!fc_requester_connected(r) && fc_requester_flush_pending(r));
    FC_CHECK(fc_requester_disconnects(r) == 1);
    /* Offline nothing is sent: a request made now waits for the flush too. */
    m = fc_msg_new(FC_MSG_LIST);
    uint64_t offline = fc_requester_send(r, &m, NULL, NULL);
    bool flushed = fc_requester_tick(r);
    FC_CHECK(!flushed);

    router = s_bind(port, NULL, NULL, 0);
    FC_CHECK(router); /* the same port, back */
    n = s_collect(r, router, order, 3);
    FC_CHECK(n == 3 && order[0] == probe);
    FC_CHECK((order[1] == plain && order[2] == offline) ||
             (order[1] == offline && order[2] == plain));
    FC_CHECK(fc_requester_connected(r) && !fc_requester_flush_pending(r));
    FC_CHECK(fc_requester_retries(r) == 2); /* `offline` had never gone out */
    FC_CHECK(fc_requester_outstanding(r) == 3);
    fc_requester_destroy(&r);
    zsock_destroy(&router);
}

/* With ZMQ_IMMEDIATE and no connection ever made (nothing listens), a best-effort request
   is not kept (it would never go out); another waits for the flush. (Right after a drop the
   dying connection may still take a message, so this is tested where none ever was.) */
static void s_test_no_connection(void)
{
    char ep[64];
    int dead = fc_dead_endpoint(ep, sizeof ep); /* not a port just freed: see fc_dead_port.h */
    FC_CHECK(dead >= 0);
    fc_requester_opts_t o = {.immediate = true};
    fc_requester_t *r = fc_requester_new(ep, &o, NULL);
    FC_CHECK(r);
    fc_msg_t *m = fc_msg_new(FC_MSG_STATUS);
    fc_requester_sendopts_t once = {.resend_ms = -1};
    uint64_t lost = fc_requester_send(r, &m, NULL, &once);
    FC_CHECK(lost && !fc_requester_pending(r, lost));
    m = fc_msg_new(FC_MSG_STATUS);
    uint64_t kept = fc_requester_send(r, &m, NULL, NULL);
    FC_CHECK(kept && fc_requester_pending(r, kept) && fc_requester_flush_pending(r));
    fc_requester_destroy(&r);
    close(dead);
}

/* Many in flight, answered in reverse order: each reply finds its own user pointer. */
static void s_test_many(void)
{
    enum { N = 300 };
    char ep[64];
    zsock_t *router = s_bind(0, NULL, ep, sizeof ep);
    fc_requester_t *r = fc_requester_new(ep, NULL, NULL);
    FC_CHECK(r);
    static int tokens[N];
    uint64_t ids[N];
    for (int i = 0; i < N; i++) {
        fc_msg_t *m = fc_msg_new(FC_MSG_LIST);
        ids[i] = fc_requester_send(r, &m, &tokens[i], NULL);
        FC_CHECK(ids[i]);
    }
    FC_CHECK(fc_requester_outstanding(r) == N);
    uint64_t seen[N];
    zframe_t *who = NULL;
    for (int i = 0; i < N; i++) {
        zframe_destroy(&who);
        fc_msg_t *got = s_peer_recv(router, &who, 5000);
        FC_CHECK(got);
        seen[i] = got->req;
        fc_msg_destroy(&got);
    }
    for (int i = N - 1; i >= 0; i--)
        s_peer_reply(router, who, seen[i], (uint64_t)i);
    zframe_destroy(&who);
    for (int i = 0; i < N; i++) {
        void *user = NULL;
        fc_msg_t *reply = fc_test_pump(r, 5000, &user, NULL);
        FC_CHECK(reply);
        int k = (int)((int *)user - tokens);
        FC_CHECK(k >= 0 && k < N && ids[k] == reply->req);
        fc_msg_destroy(&reply);
    }
    FC_CHECK(fc_requester_outstanding(r) == 0 && fc_requester_dropped(r) == 0);
    fc_requester_destroy(&r);
    zsock_destroy(&router);
}

/* Pumps the monitor until the link is in state want. */
static bool s_await_link(fc_requester_t *r, fc_link_state_t want, int wait_ms)
{
    int64_t end = zclock_mono() + wait_ms;
    while (zclock_mono() < end && fc_requester_link(r, NULL) != want) {
        zmq_pollitem_t item = {zsock_resolve(fc_requester_monitor(r)), 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 50) > 0)
            fc_requester_on_monitor(r);
    }
    return fc_requester_link(r, NULL) == want;
}

/* A client whose link to the server at ep ends in want within 3 s. */
static void s_expect_link(const char *ep, const fc_curve_t *curve, fc_link_state_t want)
{
    fc_requester_opts_t opts = {.curve = curve};
    fc_requester_t *r = fc_requester_new(ep, &opts, NULL);
    FC_CHECK(r);
    bool got = s_await_link(r, want, 3000);
    if (!got)
        fprintf(stderr, "link to %s: want %s, got %s\n", ep, fc_link_name(want),
                fc_link_name(fc_requester_link(r, NULL)));
    FC_CHECK(got);
    int64_t since = 0;
    fc_requester_link(r, &since);
    FC_CHECK(fc_link_failing(want) ? since > 0 : since == 0);
    FC_CHECK(fc_requester_ever_up(r) == (want == FC_LINK_UP));
    fc_requester_destroy(&r);
}

/* The link's failures told apart with a CURVE server and a ZAP handler admitting one key:
   nothing listening, an unknown key, the wrong server key, a plain client. */
static void s_test_link(void)
{
    char dir[] = "/tmp/fc_requester_test.XXXXXX";
    FC_CHECK(mkdtemp(dir));
    char allowed[64], server[128], known[128], stranger[128], other[128], secret[160];
    snprintf(allowed, sizeof allowed, "%s/allowed", dir);
    FC_CHECK(mkdir(allowed, 0700) == 0);
    snprintf(server, sizeof server, "%s/server.cert", dir);
    snprintf(known, sizeof known, "%s/known.cert", allowed);
    snprintf(stranger, sizeof stranger, "%s/stranger.cert", dir);
    snprintf(other, sizeof other, "%s/other.cert", dir);
    FC_CHECK(fc_curve_generate(server, true, NULL) == 0);
    FC_CHECK(fc_curve_generate(known, false, NULL) == 0);
    FC_CHECK(fc_curve_generate(stranger, false, NULL) == 0);
    FC_CHECK(fc_curve_generate(other, true, NULL) == 0);
    /* zauth reads every cert file in the directory: keep the secret out of it. */
    snprintf(secret, sizeof secret, "%s_secret", known);
    char moved[128];
    snprintf(moved, sizeof moved, "%s/known.cert_secret", dir);
    FC_CHECK(rename(secret, moved) == 0);

    zactor_t *auth = zactor_new(zauth, NULL);
    FC_CHECK(auth);
    zstr_sendx(auth, "CURVE", allowed, NULL);
    zsock_wait(auth);
    snprintf(secret, sizeof secret, "%s_secret", server);
    fc_curve_t *scurve = fc_curve_new_server(secret, NULL, NULL, 0);
    FC_CHECK(scurve);
    zsock_t *router = zsock_new(ZMQ_ROUTER);
    fc_curve_apply(scurve, router);
    int port = zsock_bind(router, "tcp://127.0.0.1:*");
    FC_CHECK(port > 0);
    char ep[64], dead[64];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", port);
    int dead_fd = fc_dead_endpoint(dead, sizeof dead);
    FC_CHECK(dead_fd >= 0);

    fc_curve_t *good = fc_curve_new_client(moved, server, NULL, NULL, 0);
    snprintf(secret, sizeof secret, "%s_secret", stranger);
    fc_curve_t *unknown = fc_curve_new_client(secret, server, NULL, NULL, 0);
    fc_curve_t *wrong_server = fc_curve_new_client(moved, other, NULL, NULL, 0);
    FC_CHECK(good && unknown && wrong_server);
    s_expect_link(ep, good, FC_LINK_UP);
    s_expect_link(dead, good, FC_LINK_NO_LISTENER);
    s_expect_link(ep, unknown, FC_LINK_KEY_REFUSED);
    s_expect_link(ep, wrong_server, FC_LINK_SERVER_KEY);
    s_expect_link(ep, NULL, FC_LINK_MECHANISM);

    fc_curve_destroy(&good);
    fc_curve_destroy(&unknown);
    fc_curve_destroy(&wrong_server);
    zsock_destroy(&router);
    fc_curve_destroy(&scurve);
    zactor_destroy(&auth);
    close(dead_fd);
    FC_CHECK(fc_remove_tree(dir) == 0);
}

void fc_requester_test(bool verbose)
{
    printf(" * fc_requester: ");
    int err = 0;
    fc_requester_t *bad = fc_requester_new("not an endpoint", NULL, &err);
    FC_CHECK(bad == NULL && err == FC_EINVAL);
    fc_requester_destroy(NULL);
    s_test_deadlines();
    s_test_loss_duplicates_late();
    s_test_reconnect();
    s_test_no_connection();
    s_test_many();
    s_test_link();
    if (verbose)
        printf("(deadlines, loss, duplicates, late, malformed, reconnect flush, no connection, "
               "many, link failures told apart) ");
    printf("OK\n");
}
