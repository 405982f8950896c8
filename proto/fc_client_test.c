/* fc_client_test.c: fc_client's self-test against a ROUTER on 127.0.0.1 that loses the first
   request and answers twice, and against an endpoint nothing listens on. */
#include "fc_client.h"
#include "fc_dead_port.h"
#include "fc_error.h"
#include "fc_test_check.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* fc_client.c gives up on an endpoint nothing ever listened on after this long. */
#define S_GIVE_UP_MS 3000

/* A broker from before a request or its fields existed: every request is "malformed
   request: protocol error", as such a broker answers one it cannot read. Its ROUTER is its
   own (made and closed on its thread); it sends the port it bound after the signal. */
static void s_old_broker(zsock_t *pipe, void *arg)
{
    (void)arg;
    zsock_t *router = zsock_new(ZMQ_ROUTER);
    int port = zsock_bind(router, "tcp://127.0.0.1:*");
    zsock_signal(pipe, 0);
    zstr_sendf(pipe, "%d", port);
    zpoller_t *poller = zpoller_new(pipe, router, NULL);
    while (zpoller_wait(poller, -1) == router) {
        zframe_t *who = NULL;
        int err = 0;
        fc_msg_t *got = fc_msg_recv(zsock_resolve(router), &who, &err);
        fc_msg_t *no = fc_msg_new(FC_MSG_ERROR);
        no->req = got ? got->req : 0;
        no->code = FC_EPROTO;
        snprintf(no->text, sizeof no->text, "malformed request: protocol error");
        if (got)
            fc_msg_send_to(&no, who, zsock_resolve(router));
        fc_msg_destroy(&no);
        fc_msg_destroy(&got);
        zframe_destroy(&who);
    }
    zpoller_destroy(&poller);
    zsock_destroy(&router);
}

/* Against s_old_broker: the refusal says the broker is older and to upgrade it, naming the
   request and whether it carried paging, and keeps the broker's own words. */
static void s_test_old_broker(void)
{
    zactor_t *old = zactor_new(s_old_broker, NULL);
    char *port = zstr_recv(old);
    FC_CHECK(port && atoi(port) > 0);
    char ep[64];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%s", port);
    zstr_free(&port);
    int err = 0;
    fc_client_t *client = fc_client_new(ep, 1000, NULL, &err);
    FC_CHECK(client);
    fc_msg_t *req = fc_msg_new(FC_MSG_CONFIG_AGENTS);
    snprintf(req->text, sizeof req->text, "global");
    fc_msg_t *reply = fc_client_call_pages(client, &req, 5000);
    FC_CHECK(reply && reply->type == FC_MSG_ERROR && reply->code == FC_EPROTO);
    FC_CHECK(strstr(reply->text, "the broker cannot read CONFIG_AGENTS with paging") &&
             strstr(reply->text, "older than this program") &&
             strstr(reply->text, "upgrade the broker") &&
             strstr(reply->text, "(the broker said: malformed request: protocol error)"));
    fc_msg_destroy(&reply);
    req = fc_msg_new(FC_MSG_STATUS_SUMMARY);
    reply = fc_client_call(client, &req, 5000);
    FC_CHECK(reply && strstr(reply->text, "the broker cannot read STATUS_SUMMARY as this"));
    fc_msg_destroy(&reply);
    fc_client_destroy(&client);
    zactor_destroy(&old);
}

/* A ROUTER echo that ignores the first request it sees, so the client must re-send it. */
void fc_client_test(bool verbose)
{
    printf(" * fc_client: ");
    zsock_t *router = zsock_new(ZMQ_ROUTER);
    int port = zsock_bind(router, "tcp://127.0.0.1:*");
    FC_CHECK(port > 0);
    char ep[64];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", port);
    int err = 0;
    fc_client_t *client = fc_client_new(ep, 200, NULL, &err);
    FC_CHECK(client);

    fc_msg_t *req = fc_msg_new(FC_MSG_LIST);
    uint64_t id = fc_client_send(client, &req);
    FC_CHECK(id && !req);
    FC_CHECK(fc_client_outstanding(client) == 1);

    /* Drop the first copy; answer the re-sent one twice (a duplicate reply). */
    zframe_t *who = NULL;
    fc_msg_t *got = fc_msg_recv(zsock_resolve(router), &who, &err);
    FC_CHECK(got && got->type == FC_MSG_LIST && got->req == id);
    fc_msg_destroy(&got);
    zframe_destroy(&who);
    /* Nothing answers within 300 ms, so the client re-sends after its 200 ms. */
    FC_CHECK(fc_client_recv(client, 300) == NULL);
    got = fc_msg_recv(zsock_resolve(router), &who, &err);
    FC_CHECK(got && got->req == id);
    for (int i = 0; i < 2; i++) {
        fc_msg_t *ok = fc_msg_new(FC_MSG_OK);
        ok->req = id;
        ok->serial = 7;
        FC_CHECK(fc_msg_send_to(&ok, who, zsock_resolve(router)) == 0);
    }
    fc_msg_destroy(&got);
    zframe_destroy(&who);

    fc_msg_t *reply = fc_client_recv(client, 2000);
    FC_CHECK(reply && reply->type == FC_MSG_OK && reply->serial == 7 && reply->req == id);
    fc_msg_destroy(&reply);
    FC_CHECK(fc_client_retries(client) >= 1);
    FC_CHECK(fc_client_outstanding(client) == 0);
    /* The duplicate is dropped, not returned. */
    reply = fc_client_recv(client, 100);
    FC_CHECK(reply == NULL);

    /* A call nobody answers times out and leaves nothing outstanding. */
    req = fc_msg_new(FC_MSG_STATUS);
    reply = fc_client_call(client, &req, 300);
    FC_CHECK(reply == NULL && fc_client_outstanding(client) == 0);

    char why[512];
    FC_CHECK(!fc_client_why(client, why, sizeof why) && streq(why, ""));
    fc_client_destroy(&client);
    FC_CHECK(client == NULL);
    zsock_destroy(&router);

    /* Nothing ever listened: the wait ends after about 3 s, not the 30 s asked, and says so. */
    char dead[64];
    int fd = fc_dead_endpoint(dead, sizeof dead);
    FC_CHECK(fd >= 0);
    client = fc_client_new(dead, 200, NULL, &err);
    FC_CHECK(client);
    req = fc_msg_new(FC_MSG_STATUS);
    int64_t t0 = zclock_mono();
    reply = fc_client_call(client, &req, 30000);
    int64_t took = zclock_mono() - t0;
    FC_CHECK(reply == NULL && took >= S_GIVE_UP_MS && took < 5000);
    FC_CHECK(fc_client_why(client, why, sizeof why) && strstr(why, "nothing listens at tcp://"));
    fc_client_destroy(&client);
    close(fd);
    s_test_old_broker();
    if (verbose)
        printf("(re-send, duplicate drop, timeout, no listener told within 5 s) ");
    printf("OK\n");
}
