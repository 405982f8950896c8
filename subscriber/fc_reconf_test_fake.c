/* fc_reconf_test_fake.c: the fake config broker of fc_reconf's self-test, an actor serving
   the agent's config requests from revisions the test pushes (see fc_reconf_test.h). */
#include "fc_reconf_test.h"

typedef struct {
    uint8_t *bytes;
    size_t len;
    uint64_t rev;
    char scope[FC_MAX_SCOPE + 1];
} s_stored_t;

typedef struct {
    s_stored_t revs[64];
    size_t nrevs;
    size_t page;
    int deny;
    int slots;
    bool replay;
    bool carry;
    int syncs;
    uint64_t seq;
    char acks[8192];
} s_fake_t;

static void s_item(fc_msg_t *m, const s_stored_t *s)
{
    fc_item_t *item = &m->items[m->nitems++];
    item->data = (uint8_t *)malloc(s->len);
    memcpy(item->data, s->bytes, s->len);
    item->len = s->len;
}

static fc_msg_t *s_config_snapshot(s_fake_t *fake, const fc_msg_t *req)
{
    fc_msg_t *rep = fc_msg_new(FC_MSG_CONFIG_SNAPSHOT);
    rep->epoch = 7;
    rep->seq = fake->seq;
    rep->serial = fake->nrevs ? fake->revs[fake->nrevs - 1].rev : 0;
    rep->items = (fc_item_t *)calloc(fake->nrevs + 1, sizeof(fc_item_t));
    if (fake->replay && fake->nrevs) {
        fake->replay = false;
        s_item(rep, &fake->revs[0]); /* an old one first: must be refused, not applied */
    }
    for (size_t i = 0; i < fake->nrevs; i++) {
        const s_stored_t *s = &fake->revs[i];
        if (s->rev <= req->serial || !fc_scope_matches(s->scope, req->id, req->group))
            continue;
        if (rep->nitems >= fake->page) {
            rep->flag = true;
            break;
        }
        s_item(rep, s);
    }
    return rep;
}

static void s_fake_serve(s_fake_t *fake, zsock_t *router, int pub_port)
{
    zframe_t *who = NULL;
    int err = 0;
    fc_msg_t *req = fc_msg_recv(zsock_resolve(router), &who, &err);
    if (!req) {
        zframe_destroy(&who);
        return;
    }
    fc_msg_t *rep = NULL;
    if (req->type == FC_MSG_HELLO) {
        rep = fc_msg_new(FC_MSG_WELCOME);
        rep->epoch = 7;
        rep->seq = fake->seq;
        snprintf(rep->endpoint, sizeof rep->endpoint, "tcp://*:%d", pub_port);
        rep->heartbeat_ms = 1000;
    } else if (req->type == FC_MSG_SYNC) {
        rep = fc_msg_new(FC_MSG_SNAPSHOT);
        rep->epoch = 7;
        rep->seq = fake->seq;
    } else if (req->type == FC_MSG_CONFIG_SYNC) {
        fake->syncs++;
        rep = s_config_snapshot(fake, req);
    } else if (req->type == FC_MSG_CONFIG_ACK) {
        size_t used = strlen(fake->acks);
        snprintf(fake->acks + used, sizeof fake->acks - used, "%llu %s %s|%s\n",
                 (unsigned long long)req->serial, req->state, req->text, req->id);
        rep = fc_msg_new(FC_MSG_OK);
    } else if (req->type == FC_MSG_RESTART_SLOT) {
        fake->slots++;
        rep = fc_msg_new(FC_MSG_OK);
        rep->serial = req->serial;
        rep->flag = fake->deny <= 0;
        fake->deny--;
    } else
        rep = fc_msg_new(FC_MSG_OK);
    rep->req = req->req;
    fc_msg_send_to(&rep, who, zsock_resolve(router));
    fc_msg_destroy(&req);
    zframe_destroy(&who);
}

static void s_fake_push(s_fake_t *fake, zmsg_t *cmd, zsock_t *pub)
{
    zframe_t *bytes = zmsg_pop(cmd);
    char *quiet = zmsg_popstr(cmd);
    int err = 0;
    fc_revision_t *r = fc_revision_parse(zframe_data(bytes), zframe_size(bytes), NULL, &err);
    assert(r && fake->nrevs < 64);
    s_stored_t *s = &fake->revs[fake->nrevs++];
    s->len = zframe_size(bytes);
    s->bytes = (uint8_t *)malloc(s->len);
    memcpy(s->bytes, zframe_data(bytes), s->len);
    s->rev = r->rev;
    snprintf(s->scope, sizeof s->scope, "%s", r->scope);
    fake->seq++;
    if (!quiet || !streq(quiet, "quiet")) {
        fc_msg_t *a = fc_msg_new(FC_MSG_CONFIG_ANNOUNCE);
        a->epoch = 7;
        a->seq = fake->seq;
        a->serial = r->rev;
        fc_msg_set_str(a->text, sizeof a->text, r->scope);
        if (fake->carry)
            fc_msg_set_bytes(a, s->bytes, s->len);
        fc_msg_publish(&a, zsock_resolve(pub));
    }
    fc_revision_destroy(&r);
    free(quiet);
    zframe_destroy(&bytes);
}

void fc_reconf_test_fake(zsock_t *pipe, void *args)
{
    s_fake_t *fake = (s_fake_t *)zmalloc(sizeof(s_fake_t));
    fake->page = 1000;
    zsock_t *router = zsock_new(ZMQ_ROUTER);
    zsock_t *pub = zsock_new(ZMQ_PUB);
    int port = zsock_bind(router, "tcp://127.0.0.1:*");
    int pub_port = zsock_bind(pub, "tcp://127.0.0.1:*");
    assert(port > 0 && pub_port > 0);
    zsock_signal(pipe, 0);
    zsock_send(pipe, "i", port);
    zpoller_t *poller = zpoller_new(pipe, router, NULL);
    while (true) {
        void *which = zpoller_wait(poller, -1);
        if (which == router) {
            s_fake_serve(fake, router, pub_port);
            continue;
        }
        if (which != pipe)
            break;
        zmsg_t *cmd = zmsg_recv(pipe);
        char *name = cmd ? zmsg_popstr(cmd) : NULL;
        bool term = !name || streq(name, "$TERM");
        if (name && streq(name, "PUSH")) {
            s_fake_push(fake, cmd, pub);
            zsock_signal(pipe, 0);
        } else if (name && streq(name, "BEAT")) {
            fc_msg_t *b = fc_msg_new(FC_MSG_HEARTBEAT);
            b->epoch = 7;
            b->seq = fake->seq;
            fc_msg_publish(&b, zsock_resolve(pub));
            zsock_signal(pipe, 0);
        } else if (name && (streq(name, "PAGE") || streq(name, "DENY") || streq(name, "CARRY"))) {
            char *n = zmsg_popstr(cmd);
            if (streq(name, "PAGE"))
                fake->page = (size_t)atoi(n);
            else if (streq(name, "CARRY"))
                fake->carry = atoi(n) != 0;
            else
                fake->deny = atoi(n);
            free(n);
            zsock_signal(pipe, 0);
        } else if (name && streq(name, "REPLAY")) {
            fake->replay = true;
            zsock_signal(pipe, 0);
        } else if (name && streq(name, "ACKS")) {
            zstr_send(pipe, fake->acks);
            fake->acks[0] = '\0';
        } else if (name && streq(name, "SLOTS"))
            zsock_send(pipe, "i", fake->slots);
        else if (name && streq(name, "SYNCS"))
            zsock_send(pipe, "i", fake->syncs);
        free(name);
        zmsg_destroy(&cmd);
        if (term)
            break;
    }
    zpoller_destroy(&poller);
    for (size_t i = 0; i < fake->nrevs; i++)
        free(fake->revs[i].bytes);
    free(fake);
    zsock_destroy(&pub);
    zsock_destroy(&router);
}
