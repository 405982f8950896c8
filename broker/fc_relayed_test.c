/* fc_relayed_test.c: self-test of what a broker does with a relay's forwarded reports and slot
   requests (fc_relayed.c): items applied with their relay, hostile items skipped, and an
   agent bound here to a key of its own never spoken for by a relay. */
#include "fc_config_service.h"
#include "fc_error.h"
#include "fc_msg_sample.h"
#include "fc_relayed.h"
#include "fc_rollout_service.h"
#include "fc_store.h"
#include "fc_store_testdb.h"
#include "fc_store_via.h"
#include "fc_test_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An agent's key, as zauth would give it (40 Z85 characters). */
#define S_KEY "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"

/* Appends the encoded REPORT of agent id (state installed) to m's items. */
static void s_add_report(fc_msg_t *m, const char *id)
{
    fc_msg_t *r = fc_msg_sample(FC_MSG_REPORT);
    fc_msg_set_str(r->agents[0].id, sizeof r->agents[0].id, id);
    fc_msg_set_str(r->agents[0].state, sizeof r->agents[0].state, "installed");
    zmsg_t *msg = fc_msg_encode(r);
    fc_msg_destroy(&r);
    zframe_t *f = zmsg_first(msg);
    m->items = realloc(m->items, (m->nitems + 1) * sizeof *m->items);
    fc_item_t *item = &m->items[m->nitems++];
    item->len = zframe_size(f);
    item->data = malloc(item->len);
    memcpy(item->data, zframe_data(f), item->len);
    zmsg_destroy(&msg);
}

/* The via the store lists agent id with; "?" if it is not listed. */
static const char *s_via(fc_store_t *store, const char *id, char *out, size_t size)
{
    fc_agent_status_t *list = NULL;
    size_t n = 0;
    FC_CHECK(fc_store_agents(store, "", 100, &list, &n) == FC_OK);
    snprintf(out, size, "?");
    fc_store_via_fill(store, list, n);
    for (size_t i = 0; i < n; i++)
        if (streq(list[i].id, id))
            snprintf(out, size, "%s", list[i].via);
    free(list);
    return out;
}

void fc_relayed_test(bool verbose)
{
    if (verbose)
        printf(" * fc_relayed: ");
    char dir[] = "/tmp/fc_relayed_test_XXXXXX";
    FC_CHECK(mkdtemp(dir) != NULL);
    int err = FC_OK;
    fc_store_t *store = fc_store_testdb_new(dir, &err, NULL, 0);
    FC_CHECK(store);
    fc_config_service_t *config = fc_config_service_new(store, 25, true);
    fc_rollout_service_t *rollout = fc_rollout_service_new(store, true);
    fc_relayed_t ctx = {store, config, rollout, NULL, 1, true};
    /* "direct" reports to this broker with its own key. */
    FC_CHECK(fc_store_agent_claim(store, "direct", S_KEY, NULL, NULL, NULL, 0) == FC_OK);

    /* A batch of site1: two agents behind it, the direct one (skipped), garbage (skipped). */
    fc_msg_t *m = fc_msg_new(FC_MSG_RELAY_REPORTS);
    fc_msg_set_str(m->text, sizeof m->text, "site1");
    s_add_report(m, "behind1");
    s_add_report(m, "direct");
    m->items = realloc(m->items, (m->nitems + 1) * sizeof *m->items);
    m->items[m->nitems].data = (uint8_t *)strdup("garbage");
    m->items[m->nitems++].len = 7;
    {
        /* an item of another type: a HELLO */
        fc_msg_t *h = fc_msg_sample(FC_MSG_HELLO);
        zmsg_t *msg = fc_msg_encode(h);
        fc_msg_destroy(&h);
        zframe_t *f = zmsg_first(msg);
        m->items = realloc(m->items, (m->nitems + 1) * sizeof *m->items);
        m->items[m->nitems].len = zframe_size(f);
        m->items[m->nitems].data = malloc(zframe_size(f));
        memcpy(m->items[m->nitems++].data, zframe_data(f), zframe_size(f));
        zmsg_destroy(&msg);
    }
    s_add_report(m, "behind2");
    fc_msg_t *reply = fc_relayed_reports(&ctx, m);
    FC_CHECK(reply->type == FC_MSG_OK && reply->serial == 2); /* behind1, behind2 */
    fc_msg_destroy(&reply);
    char via[FC_MAX_NAME + 2];
    FC_CHECK(streq(s_via(store, "behind1", via, sizeof via), "site1"));
    FC_CHECK(streq(s_via(store, "behind2", via, sizeof via), "site1"));
    FC_CHECK(streq(s_via(store, "direct", via, sizeof via), "?")); /* never reported */

    /* A via that is not a name: the whole batch refused. */
    fc_msg_set_str(m->text, sizeof m->text, "no/name");
    reply = fc_relayed_reports(&ctx, m);
    FC_CHECK(reply->type == FC_MSG_ERROR && reply->code == FC_EINVAL);
    fc_msg_destroy(&reply);
    fc_msg_destroy(&m);

    /* A slot for the direct agent: refused; for one behind a relay: decided as RESTART_SLOT
       (no such revision here). */
    m = fc_msg_sample(FC_MSG_RELAY_SLOT);
    fc_msg_set_str(m->id, sizeof m->id, "direct");
    fc_msg_t *ann = NULL;
    reply = fc_relayed_slot(&ctx, m, &ann);
    FC_CHECK(reply->type == FC_MSG_ERROR && reply->code == FC_EPERM && !ann);
    FC_CHECK(reply->req == m->req);
    fc_msg_destroy(&reply);
    fc_msg_set_str(m->id, sizeof m->id, "behind1");
    reply = fc_relayed_slot(&ctx, m, &ann);
    FC_CHECK(reply->type == FC_MSG_ERROR && reply->code == FC_ENOTFOUND && !ann);
    FC_CHECK(reply->req == m->req);
    fc_msg_destroy(&reply);
    fc_msg_destroy(&m);

    fc_rollout_service_destroy(&rollout);
    fc_config_service_destroy(&config);
    fc_store_destroy(&store);
    char cmd[sizeof dir + 16];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    FC_CHECK(system(cmd) == 0);
    if (verbose)
        printf("OK\n");
}
