/* fc_client.c: the blocking requester the CLI and tools use: a thin wrapper that waits on
   fc_requester's sockets and deadlines. */
#include "fc_client.h"
#include "fc_error.h"
#include "fc_link.h"
#include "fc_requester.h"
#include "fc_text.h"

#include <string.h>

/* Nothing has listened at the endpoint for this long, and nothing ever did: give up. */
#define S_GIVE_UP_MS 3000
/* How often a wait looks at a failing link. */
#define S_LINK_LOOK_MS 100

struct fc_client_t {
    fc_requester_t *requester; /* ids, pending table, re-sends and the flush: all there */
    zpoller_t *poller;
    char *endpoint;
    char own_key[FC_CURVE_Z85_LEN + 1]; /* "" when plain */
    bool curve;
    fc_role_t role; /* of our key, for the advice on enrolling it */
};

fc_client_t *fc_client_new(const char *endpoint, int resend_ms, const fc_curve_t *curve, int *err)
{
    fc_client_t *self = (fc_client_t *)zmalloc(sizeof(fc_client_t));
    fc_requester_opts_t opts = {.resend_ms = resend_ms, .curve = curve};
    self->requester = fc_requester_new(endpoint, &opts, err);
    if (!self->requester) {
        fc_client_destroy(&self);
        return NULL;
    }
    self->poller = zpoller_new(fc_requester_sock(self->requester),
                               fc_requester_monitor(self->requester), NULL);
    self->endpoint = strdup(endpoint);
    self->curve = curve != NULL;
    if (curve)
        snprintf(self->own_key, sizeof self->own_key, "%s", fc_curve_public_txt(curve));
    self->role = FC_ROLE_PUBLISHER;
    if (!self->poller || !self->endpoint) {
        if (err)
            *err = FC_ENOMEM;
        fc_client_destroy(&self);
    }
    return self;
}

void fc_client_destroy(fc_client_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fc_client_t *self = *self_p;
    zpoller_destroy(&self->poller);
    fc_requester_destroy(&self->requester);
    free(self->endpoint);
    free(self);
    *self_p = NULL;
}

uint64_t fc_client_send(fc_client_t *self, fc_msg_t **req_p)
{
    return fc_requester_send(self->requester, req_p, NULL, NULL);
}

void fc_client_set_role(fc_client_t *self, fc_role_t role)
{
    self->role = role;
}

/* Waiting longer will not help: the link fails for a reason of configuration, or nothing
   has ever listened at the endpoint for S_GIVE_UP_MS. A broker that was reached once and
   went away is waited for: it may be restarting. With a list of brokers: once each was
   left as lost (the requester moves along it). */
static bool s_hopeless(const fc_client_t *self)
{
    int64_t since = 0;
    fc_link_state_t link = fc_requester_link(self->requester, &since);
    if (fc_link_misconfigured(link))
        return true;
    if (fc_requester_ever_up(self->requester))
        return false;
    /* A list: each broker was left once as lost (not up for the requester's move time). */
    size_t n = fc_requester_brokers(self->requester);
    if (n > 1)
        return fc_requester_moves(self->requester) >= n;
    return link == FC_LINK_NO_LISTENER && zclock_mono() - since >= S_GIVE_UP_MS;
}

bool fc_client_why(const fc_client_t *self, char *buf, size_t size)
{
    fc_link_state_t link = fc_requester_link(self->requester, NULL);
    fc_link_advice(link, fc_requester_endpoint(self->requester), self->role,
                   self->curve ? self->own_key : NULL, self->curve, buf, size);
    return fc_link_failing(link);
}

/* The blocking part: a poller over the requester's sockets, woken in time for its next
   deadline. */
fc_msg_t *fc_client_recv(fc_client_t *self, int timeout_ms)
{
    int64_t deadline = zclock_mono() + timeout_ms;
    while (!zsys_interrupted) {
        fc_msg_t *reply = NULL;
        if (fc_requester_recv(self->requester, &reply, NULL) != FC_REQUESTER_NONE)
            return reply; /* every id is ours: only replies come back */
        int64_t now = zclock_mono();
        if (now >= deadline)
            return NULL;
        int64_t wait = deadline - now;
        int64_t next = fc_requester_next_ms(self->requester);
        if (next >= 0 && next < wait)
            wait = next;
        if (fc_link_failing(fc_requester_link(self->requester, NULL))) {
            if (s_hopeless(self))
                return NULL;
            if (wait > S_LINK_LOOK_MS)
                wait = S_LINK_LOOK_MS;
        }
        void *which = zpoller_wait(self->poller, (int)wait);
        if (which == fc_requester_monitor(self->requester))
            fc_requester_on_monitor(self->requester);
        else if (!which && zpoller_terminated(self->poller))
            return NULL;
        fc_requester_tick(self->requester);
    }
    return NULL;
}

/* A broker's "malformed request" to a request this program encoded itself means the broker
   cannot read it: it is older than this program, and does not know the request's type or
   the fields added to it since (a broker of this program's own fleetcast or later says so
   itself, naming them: fc_msg_peek_newer). Brokers older than that say only "malformed
   request": say what it means and what to do, keeping the broker's words. */
static void s_explain_refusal(fc_msg_t *reply, fc_msg_type_t type, bool paged)
{
    if (reply->type != FC_MSG_ERROR || reply->code != FC_EPROTO ||
        strncmp(reply->text, "malformed request", 17) != 0 || strstr(reply->text, "upgrade"))
        return;
    char said[160];
    snprintf(said, sizeof said, "%.150s", reply->text);
    fc_textf(reply->text, sizeof reply->text,
             "the broker cannot read %s%s as this program sends it: it is older than this "
             "program and does not know it; upgrade the broker to this fleetcast or later "
             "(brokers first, then publishers and agents: docs/PROTOCOL.md section 2) (the "
             "broker said: %s)",
             fc_msg_type_name(type), paged ? " with paging (limit, cursor)" : "", said);
}

fc_msg_t *fc_client_call(fc_client_t *self, fc_msg_t **req_p, int timeout_ms)
{
    fc_msg_type_t type = *req_p ? (*req_p)->type : (fc_msg_type_t)0;
    bool paged = *req_p && (*req_p)->limit;
    uint64_t id = fc_client_send(self, req_p);
    if (!id)
        return NULL;
    int64_t deadline = zclock_mono() + timeout_ms;
    while (true) {
        int64_t left = deadline - zclock_mono();
        fc_msg_t *reply = left > 0 ? fc_client_recv(self, (int)left) : NULL;
        if (!reply) {
            fc_client_forget(self, id);
            return NULL;
        }
        if (reply->req == id) {
            s_explain_refusal(reply, type, paged);
            return reply;
        }
        fc_msg_destroy(&reply);
    }
}

/* The next page's request: the same list and filter, after the last agent listed. */
static fc_msg_t *s_next_page(const fc_msg_t *req, const char *cursor)
{
    fc_msg_t *next = fc_msg_new(req->type);
    fc_msg_set_str(next->channel, sizeof next->channel, req->channel);
    fc_msg_set_str(next->state, sizeof next->state, req->state);
    fc_msg_set_str(next->cursor, sizeof next->cursor, cursor);
    fc_msg_set_str(next->text, sizeof next->text, req->text); /* CONFIG_AGENTS' scope */
    next->serial = req->serial;
    next->limit = req->limit;
    return next;
}

fc_msg_t *fc_client_call_pages(fc_client_t *self, fc_msg_t **req_p, int timeout_ms)
{
    fc_msg_t *req = *req_p;
    fc_msg_type_t want = req->type == FC_MSG_AUDIT && req->limit ? FC_MSG_AUDIT_REPLY
                         : req->type == FC_MSG_LIST              ? FC_MSG_LIST_REPLY
                         : req->type == FC_MSG_STATUS            ? FC_MSG_STATUS_REPLY
                         : req->type == FC_MSG_CONFIG_STATUS     ? FC_MSG_CONFIG_STATUS_REPLY
                         : req->type == FC_MSG_CONFIG_AGENTS     ? FC_MSG_CONFIG_STATUS_REPLY
                                                                 : (fc_msg_type_t)0;
    if (!want)
        return fc_client_call(self, req_p, timeout_ms);
    if (!req->limit)
        req->limit = FC_MAX_LIST;
    fc_msg_t *tmpl = s_next_page(req, req->cursor);
    fc_msg_t *all = fc_client_call(self, req_p, timeout_ms);
    /* Each page after the last id of the one before: by the broker's id order, so agents
       arriving meanwhile are never listed twice and none already there is skipped. */
    bool list = want == FC_MSG_LIST_REPLY, audit = want == FC_MSG_AUDIT_REPLY;
    while (all && all->type == want && all->more &&
           (list || audit ? *all->cursor != '\0' : all->nagents > 0)) {
        fc_msg_t *next =
            s_next_page(tmpl, list || audit ? all->cursor : all->agents[all->nagents - 1].id);
        fc_msg_t *page = fc_client_call(self, &next, timeout_ms);
        if (!page || page->type != want) {
            fc_msg_destroy(&all);
            all = page;
            break;
        }
        if (audit) { /* entries, each page older than the one before */
            fc_audit_entry_t *more =
                realloc(all->audit, (all->naudit + page->naudit + 1) * sizeof *more);
            if (!more) {
                fc_msg_destroy(&page);
                fc_msg_destroy(&all);
                break;
            }
            memcpy(more + all->naudit, page->audit, page->naudit * sizeof *more);
            all->audit = more;
            all->naudit += page->naudit;
            all->more = page->more;
            fc_msg_set_str(all->cursor, sizeof all->cursor, page->cursor);
            fc_msg_destroy(&page);
            continue;
        }
        if (list) { /* releases, each page older than the one before */
            fc_release_info_t *more =
                realloc(all->releases, (all->nreleases + page->nreleases + 1) * sizeof *more);
            if (!more) {
                fc_msg_destroy(&page);
                fc_msg_destroy(&all);
                break;
            }
            memcpy(more + all->nreleases, page->releases, page->nreleases * sizeof *more);
            all->releases = more;
            all->nreleases += page->nreleases;
            all->more = page->more;
            fc_msg_set_str(all->cursor, sizeof all->cursor, page->cursor);
            fc_msg_destroy(&page);
            continue;
        }
        fc_agent_status_t *grown =
            realloc(all->agents, (all->nagents + page->nagents + 1) * sizeof *grown);
        if (!grown) {
            fc_msg_destroy(&page);
            fc_msg_destroy(&all);
            break;
        }
        memcpy(grown + all->nagents, page->agents, page->nagents * sizeof *grown);
        all->agents = grown;
        all->nagents += page->nagents;
        all->more = page->more;
        fc_msg_destroy(&page);
    }
    fc_msg_destroy(&tmpl);
    return all;
}

void fc_client_forget(fc_client_t *self, uint64_t req)
{
    fc_requester_forget(self->requester, req);
}

size_t fc_client_outstanding(const fc_client_t *self)
{
    return fc_requester_outstanding(self->requester);
}

uint64_t fc_client_retries(const fc_client_t *self)
{
    return fc_requester_retries(self->requester);
}

uint64_t fc_client_disconnects(const fc_client_t *self)
{
    return fc_requester_disconnects(self->requester);
}
