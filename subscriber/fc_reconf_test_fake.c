/* fc_reconf_test_fake.c: the fake config broker of fc_reconf's self-test, an actor serving
   the agent's config requests from revisions the test pushes (see fc_reconf_test.h). */
#include "fc_fake_broker.h"
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
    char acks[8192];
} s_fake_t;

static void s_item(fc_msg_t *m, const s_stored_t *s)
{
    fc_item_t *item = &m->items[m->nitems++];
    item->data = (uint8_t *)malloc(s->len);
    memcpy(item->data, s->bytes, s->len);
    item->len = s->len;
}

static fc_msg_t *s_config_snapshot(fc_fake_broker_t *broker, const fc_msg_t *req)
{
    s_fake_t *fake = broker->state;
    fc_msg_t *rep = fc_msg_new(FC_MSG_CONFIG_SNAPSHOT);
    rep->epoch = broker->epoch;
    rep->seq = broker->seq;
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

/* fc_fake_serve_fn: CONFIG_SYNC (paged), CONFIG_ACK (recorded), RESTART_SLOT (refused deny
   times, then granted). */
static fc_msg_t *s_fake_serve(fc_fake_broker_t *broker, const fc_msg_t *req, bool *drop)
{
    (void)drop;
    s_fake_t *fake = broker->state;
    fc_msg_t *rep = NULL;
    if (req->type == FC_MSG_CONFIG_SYNC) {
        fake->syncs++;
        rep = s_config_snapshot(broker, req);
    } else if (req->type == FC_MSG_CONFIG_ACK) {
        size_t used = strlen(fake->acks);
        snprintf(fake->acks + used, sizeof fake->acks - used, "%llu %s %s|%s\n",
                 (unsigned long long)req->serial, req->state, req->text, req->id);
    } else if (req->type == FC_MSG_RESTART_SLOT) {
        fake->slots++;
        rep = fc_msg_new(FC_MSG_OK);
        rep->serial = req->serial;
        rep->flag = fake->deny <= 0;
        fake->deny--;
    }
    return rep;
}

static void s_fake_push(fc_fake_broker_t *broker, zmsg_t *cmd)
{
    s_fake_t *fake = broker->state;
    zframe_t *bytes = zmsg_pop(cmd);
    char *quiet = zmsg_popstr(cmd);
    int err = 0;
    fc_revision_t *r = fc_revision_parse(zframe_data(bytes), zframe_size(bytes), NULL, &err);
    FC_CHECK(r && fake->nrevs < 64);
    s_stored_t *s = &fake->revs[fake->nrevs++];
    s->len = zframe_size(bytes);
    s->bytes = (uint8_t *)malloc(s->len);
    memcpy(s->bytes, zframe_data(bytes), s->len);
    s->rev = r->rev;
    snprintf(s->scope, sizeof s->scope, "%s", r->scope);
    broker->seq++;
    if (!quiet || !streq(quiet, "quiet")) {
        fc_msg_t *a = fc_msg_new(FC_MSG_CONFIG_ANNOUNCE);
        a->epoch = broker->epoch;
        a->seq = broker->seq;
        a->serial = r->rev;
        fc_msg_set_str(a->text, sizeof a->text, r->scope);
        if (fake->carry)
            fc_msg_set_bytes(a, s->bytes, s->len);
        fc_msg_publish(&a, zsock_resolve(broker->pub));
    }
    fc_revision_destroy(&r);
    free(quiet);
    zframe_destroy(&bytes);
}

/* fc_fake_command_fn: PUSH, PAGE, DENY, CARRY, REPLAY, ACKS, SLOTS, SYNCS. */
static bool s_fake_command(fc_fake_broker_t *broker, const char *name, zmsg_t *cmd, zsock_t *pipe)
{
    s_fake_t *fake = broker->state;
    if (streq(name, "PUSH")) {
        s_fake_push(broker, cmd);
        zsock_signal(pipe, 0);
    } else if (streq(name, "PAGE") || streq(name, "DENY") || streq(name, "CARRY")) {
        char *n = zmsg_popstr(cmd);
        if (streq(name, "PAGE"))
            fake->page = (size_t)atoi(n);
        else if (streq(name, "CARRY"))
            fake->carry = atoi(n) != 0;
        else
            fake->deny = atoi(n);
        free(n);
        zsock_signal(pipe, 0);
    } else if (streq(name, "REPLAY")) {
        fake->replay = true;
        zsock_signal(pipe, 0);
    } else if (streq(name, "ACKS")) {
        zstr_send(pipe, fake->acks);
        fake->acks[0] = '\0';
    } else if (streq(name, "SLOTS"))
        zsock_send(pipe, "i", fake->slots);
    else if (streq(name, "SYNCS"))
        zsock_send(pipe, "i", fake->syncs);
    else
        return false;
    return true;
}

void fc_reconf_test_fake(zsock_t *pipe, void *args)
{
    (void)args;
    s_fake_t *fake = (s_fake_t *)zmalloc(sizeof(s_fake_t));
    fake->page = 1000;
    fc_fake_broker_run(pipe, 7, s_fake_serve, s_fake_command, fake);
    for (size_t i = 0; i < fake->nrevs; i++)
        free(fake->revs[i].bytes);
    free(fake);
}
