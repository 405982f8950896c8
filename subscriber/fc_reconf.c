/* fc_reconf.c: the agent's config session with the broker: saved state at start, CONFIG_SYNC
   pages, announcements, restart slots, acks (each a kind of request of the agent's
   requester), timers, and the --once pass. The public part of class fc_reconf; its private
   part, judging and applying a batch, is fc_reconf_apply.c. */
#include "fc_reconf.h"
#include "fc_clock.h"
#include "fc_error.h"
#include "fc_file.h"
#include "fc_optval.h"

#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#define S_ERROR_RETRY 5.0 /* the broker refused CONFIG_SYNC: ask again after */
#define S_POLL 60.0       /* daemon: sync this often even if the announce feed is silent */
#define S_ONCE_ACK_WAIT 1.0

/* The config part's requests, one reply handler each. CONFIG_SYNC is re-sent after 5 s
   (the agent's default), RESTART_SLOT after 2 s; a CONFIG_ACK without its OK after 1 s, and
   at most 3 times in all (best effort: the broker sees the state next time). Every one is
   flushed after a reconnect. */
typedef struct {
    const char *name; /* the request, for logs */
    void (*on_reply)(fc_reconf_t *self, const fc_msg_t *msg, double now);
} s_kind_t;
static void s_on_sync_reply(fc_reconf_t *self, const fc_msg_t *msg, double now);
static void s_on_slot_reply(fc_reconf_t *self, const fc_msg_t *msg, double now);
static void s_on_ack_reply(fc_reconf_t *self, const fc_msg_t *msg, double now);
static const s_kind_t s_kind_sync = {"CONFIG_SYNC", s_on_sync_reply};
static const s_kind_t s_kind_slot = {"RESTART_SLOT", s_on_slot_reply};
static const s_kind_t s_kind_ack = {"CONFIG_ACK", s_on_ack_reply};
static const fc_requester_sendopts_t s_slot_opts = {.resend_ms = 2000};
static const fc_requester_sendopts_t s_ack_opts = {.resend_ms = 1000, .max_sends = 3};

/* Requests can go out now: connected, nothing waiting for the flush after a reconnect. */
static bool s_up(const fc_reconf_t *self)
{
    return fc_requester_connected(self->host.req) && !fc_requester_flush_pending(self->host.req);
}

static bool s_syncing(const fc_reconf_t *self)
{
    return (fc_requester_count(self->host.req, &s_kind_sync) > 0);
}

/* ---------------------------------------------------------------- lifecycle */

static char *s_path(const char *dir, const char *name)
{
    size_t len = strlen(dir) + strlen(name) + 2;
    char *path = (char *)malloc(len);
    if (path)
        snprintf(path, len, "%s/%s", dir, name);
    return path;
}

static char *s_dup(const char *s)
{
    return s && s[0] ? strdup(s) : NULL;
}

/* The saved revisions were folded for one id and group: for another, fetch everything again
   (group revisions this agent did not keep before may apply now). */
static bool s_same_agent(fc_reconf_t *self, const char *id)
{
    size_t len = 0;
    char *text = (char *)fc_read_file(self->who_path, 4 * FC_MAX_NAME, &len);
    if (!text)
        return errno == ENOENT;
    char want[2 * FC_MAX_NAME + 4];
    snprintf(want, sizeof want, "%s\n%s\n", id, self->group);
    bool same = streq(text, want);
    free(text);
    return same;
}

static fc_config_t *s_load(fc_reconf_t *self)
{
    if (access(self->revs_path, F_OK) == 0) {
        if (!s_same_agent(self, self->host.id)) {
            fc_reconf_log(self, "saved config was for another id or group; fetching it again");
            return fc_config_new(self->host.id, self->group);
        }
        int err = 0;
        fc_config_t *cfg =
            fc_config_load(self->revs_path, self->host.id, self->group, self->host.keys, &err);
        if (cfg)
            return cfg;
        /* config.json stays as it is for the application until the broker answers. */
        fc_reconf_log(self, "saved config revisions %s unusable: %s (%s); fetching them again",
                      self->revs_path, fc_strerror(err), fc_error_name(err));
    }
    return fc_config_new(self->host.id, self->group);
}

/* The halts learnt before a restart count from the start: with the broker unreachable the
   agent must not run a halted canary's values again (fc_config_halt marks are not saved
   with the revisions). */
static void s_load_halts(fc_reconf_t *self)
{
    char *text = (char *)fc_read_file(self->halted_path, 64 * 1024, NULL);
    for (char *line = text, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        uint64_t rev = 0;
        if (fc_optval_uint("halted revision", line, 1, INT64_MAX, &rev, NULL, 0) == FC_OK)
            fc_config_halt(self->cur, rev);
        else if (*line)
            fc_reconf_log(self, "%s: '%s' is not a revision number; ignored", self->halted_path,
                          line);
    }
    free(text);
}

/* Keeps the broker's list of halted revisions for the next start (s_load_halts). */
static void s_save_halts(fc_reconf_t *self, const uint64_t *revs, size_t n)
{
    char *text = malloc(n * 21 + 1);
    size_t len = 0;
    for (size_t i = 0; text && i < n; i++)
        len += (size_t)snprintf(text + len, 22, "%llu\n", (unsigned long long)revs[i]);
    if (!text || fc_write_file_atomic(self->halted_path, text, len, 0644) != 0)
        fc_reconf_log(self, "cannot save the halted config revisions to %s: %s", self->halted_path,
                      text ? strerror(errno) : "out of memory");
    free(text);
}

fc_reconf_t *fc_reconf_new(const fc_agent_config_t *cfg, const fc_reconf_host_t *host)
{
    fc_reconf_t *self = (fc_reconf_t *)zmalloc(sizeof(fc_reconf_t));
    self->host = *host;
    self->group = strdup(cfg->group ? cfg->group : "");
    self->changing = s_dup(cfg->config_changing);
    self->changed = s_dup(cfg->config_changed);
    self->restart = s_dup(cfg->exec_restart);
    self->json_path = s_path(self->host.state_dir, FC_RECONF_JSON);
    self->revs_path = s_path(self->host.state_dir, FC_RECONF_REVS);
    self->who_path = s_path(self->host.state_dir, FC_RECONF_WHO);
    self->pending_path = s_path(self->host.state_dir, FC_RECONF_PENDING);
    self->halted_path = s_path(self->host.state_dir, FC_RECONF_HALTED);
    pthread_mutex_init(&self->lock, NULL);
    if (self->group && self->json_path && self->revs_path && self->who_path && self->pending_path &&
        self->halted_path)
        self->cur = s_load(self);
    if (self->cur)
        s_load_halts(self);
    if (!self->cur) {
        fc_reconf_destroy(&self);
        return NULL;
    }
    self->host.res->config_rev = fc_config_last_rev(self->cur);
    /* The application reads config.json: put it back if it went missing. */
    if (self->host.res->config_rev && access(self->json_path, F_OK) != 0)
        fc_reconf_write_json(self, self->cur);
    fc_reconf_pending_load(self);
    return self;
}

void fc_reconf_destroy(fc_reconf_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fc_reconf_t *self = *self_p;
    fc_config_destroy(&self->cur);
    fc_config_destroy(&self->held);
    fc_config_destroy(&self->next);
    pthread_mutex_destroy(&self->lock);
    free(self->group);
    free(self->changing);
    free(self->changed);
    free(self->restart);
    free(self->json_path);
    free(self->revs_path);
    free(self->who_path);
    free(self->pending_path);
    free(self->halted_path);
    free(self);
    *self_p = NULL;
}

/* ---------------------------------------------------------------- acks */

void fc_reconf_ack(fc_reconf_t *self, uint64_t rev, fc_ack_t result, const char *fmt, ...)
{
    /* Too many waiting for their OK: the oldest go first. */
    if (fc_requester_count(self->host.req, &s_kind_ack) >= FC_RECONF_MAX_ACKS)
        fc_requester_forget(self->host.req, fc_requester_oldest(self->host.req, &s_kind_ack));
    fc_msg_t *m = fc_msg_new(FC_MSG_CONFIG_ACK);
    fc_msg_set_str(m->id, sizeof m->id, self->host.id);
    fc_msg_set_str(m->group, sizeof m->group, self->group);
    m->serial = rev;
    fc_msg_set_str(m->state, sizeof m->state, fc_ack_name(result));
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->text, sizeof m->text, fmt, ap);
    va_end(ap);
    /* A send that finds no connection waits for the flush after reconnecting. */
    fc_requester_send(self->host.req, &m, (void *)&s_kind_ack, &s_ack_opts);
}

static void s_on_ack_reply(fc_reconf_t *self, const fc_msg_t *msg, double now)
{
    (void)now;
    if (msg->type == FC_MSG_ERROR && self->host.verbose)
        fc_reconf_log(self, "broker refused a config ack: %s",
                      msg->text[0] ? msg->text : fc_strerror((int)msg->code));
}

void fc_reconf_slot_forget(fc_reconf_t *self)
{
    fc_requester_forget_user(self->host.req, &s_kind_slot);
}

/* ---------------------------------------------------------------- sync */

/* What the next revisions build on: the batch being received, else the revisions judged
   but not applied, else the config in force. */
static fc_config_t *s_base(fc_reconf_t *self)
{
    return self->next ? self->next : self->held ? self->held : self->cur;
}

static void s_send_sync(fc_reconf_t *self)
{
    fc_msg_t *m = fc_msg_new(FC_MSG_CONFIG_SYNC);
    fc_msg_set_str(m->id, sizeof m->id, self->host.id);
    fc_msg_set_str(m->group, sizeof m->group, self->group);
    m->serial = fc_config_last_rev(s_base(self));
    fc_requester_send(self->host.req, &m, (void *)&s_kind_sync, NULL);
}

void fc_reconf_sync(fc_reconf_t *self, double now)
{
    if (fc_reconf_mode(self) == FC_AGENT_CHECK)
        return; /* --check changes nothing */
    /* One sync at a time; none while a restart waits for its slot (the revisions it
       restarts for must not change under it): ask again when that is over. */
    if (s_syncing(self) || self->slot_wait) {
        self->sync_again = true;
        return;
    }
    self->sync_again = false;
    self->synced = false;
    self->next_poll = now + S_POLL;
    s_send_sync(self);
}

/* Whether a verified revision concerns this agent (for its ack): scope, canary membership. */
static bool s_ours(fc_reconf_t *self, const fc_revision_t *rev)
{
    if (!fc_scope_matches(rev->scope, self->host.id, self->group))
        return false;
    if (rev->kind == FC_REV_SET && rev->canary > 0 && rev->canary < 100 &&
        !fc_canary_member(self->host.id, rev->canary)) {
        if (self->ncanary == FC_RECONF_MAX_CANARY) {
            memmove(&self->canary[0], &self->canary[1],
                    (FC_RECONF_MAX_CANARY - 1) * sizeof self->canary[0]);
            self->ncanary--;
        }
        self->canary[self->ncanary++] = rev->rev;
        return false;
    }
    return true;
}

static void s_batch_add(fc_reconf_t *self, uint64_t rev)
{
    if (self->nbatch == FC_RECONF_MAX_BATCH) {
        memmove(&self->batch[0], &self->batch[1], (FC_RECONF_MAX_BATCH - 1) * sizeof(uint64_t));
        self->nbatch--;
    }
    self->batch[self->nbatch++] = rev;
}

/* A promotion concerns the agents its canary left out: their ack is for the target. */
static void s_promoted(fc_reconf_t *self, uint64_t target)
{
    for (size_t i = 0; i < self->ncanary; i++)
        if (self->canary[i] == target) {
            s_batch_add(self, target);
            memmove(&self->canary[i], &self->canary[i + 1],
                    (self->ncanary - i - 1) * sizeof self->canary[0]);
            self->ncanary--;
            return;
        }
}

/* A revision that does not verify (untrusted signer, bad signature, malformed) is refused
   and skipped: never applied, and no reason to hold back the trusted ones after it (they
   carry higher numbers, so order holds). If its number can be read, this agent acks it
   failed, so the operator sees why it went nowhere. Complaints once per revision. */
static void s_refuse(fc_reconf_t *self, const uint8_t *buf, size_t len, int err)
{
    uint64_t have = fc_config_last_rev(self->next);
    int e = 0;
    fc_revision_t *peek = fc_revision_parse(buf, len, NULL, &e);
    uint64_t number = peek ? peek->rev : 0;
    bool ours = peek && fc_scope_matches(peek->scope, self->host.id, self->group);
    fc_revision_destroy(&peek);
    if (number && number <= have)
        return; /* an old one replayed: nothing to say */
    char text[FC_MAX_TEXT + 1];
    if (number)
        snprintf(text, sizeof text, "config revision %llu rejected: %s (%s)",
                 (unsigned long long)number, fc_strerror(err), fc_error_name(err));
    else
        snprintf(text, sizeof text, "config revision after %llu rejected: %s (%s)",
                 (unsigned long long)have, fc_strerror(err), fc_error_name(err));
    if (fc_reconf_mode(self) != FC_AGENT_DAEMON) {
        self->once_error = true;
        self->once_err = err;
        snprintf(self->once_msg, sizeof self->once_msg, "%s", text);
    }
    uint64_t mark = number ? number : have + 1;
    if (self->bad_rev == mark && !self->host.verbose)
        return;
    self->bad_rev = mark;
    fc_reconf_log(self, "%s; skipped", text);
    if (number && ours)
        fc_reconf_ack(self, number, FC_ACK_FAILED, "rejected by the agent: %s (%s)",
                      fc_strerror(err), fc_error_name(err));
}

/* Adds one verified revision (taken from *rev_p, buf its signed bytes) to the batch. */
static void s_add_verified(fc_reconf_t *self, fc_revision_t **rev_p, const uint8_t *buf, size_t len)
{
    fc_revision_t *rev = *rev_p;
    uint64_t have = fc_config_last_rev(self->next);
    uint64_t number = rev->rev;
    bool ours = number > have && s_ours(self, rev);
    uint64_t promoted = rev->kind == FC_REV_PROMOTE && number > have ? rev->target : 0;
    int rc = fc_config_add(self->next, rev_p, buf, len);
    fc_revision_destroy(rev_p);
    if (rc == FC_ESERIAL) {
        /* A replay or a revision out of order: never applied, and no reason to stop. */
        if (self->host.verbose)
            fc_reconf_log(self, "config revision %llu ignored: not above %llu (%s)",
                          (unsigned long long)number, (unsigned long long)have, fc_error_name(rc));
        return;
    }
    if (rc != 0) {
        fc_reconf_log(self, "config revision %llu not usable: %s (%s)", (unsigned long long)number,
                      fc_strerror(rc), fc_error_name(rc));
        return;
    }
    if (ours)
        s_batch_add(self, number);
    if (promoted)
        s_promoted(self, promoted);
}

/* Verifies one signed revision and adds it to the batch. */
static void s_add(fc_reconf_t *self, const uint8_t *buf, size_t len)
{
    int err = 0;
    fc_revision_t *rev = fc_revision_parse(buf, len, self->host.keys, &err);
    if (!rev) {
        s_refuse(self, buf, len, err ? err : FC_EPROTO);
        return;
    }
    s_add_verified(self, &rev, buf, len);
}

/* Starts a batch on top of the revisions judged so far; false when out of memory. */
static bool s_batch_start(fc_reconf_t *self)
{
    if (self->next)
        return true;
    self->next = fc_config_dup(self->held ? self->held : self->cur);
    self->nbatch = 0;
    if (!self->next) {
        fc_reconf_log(self, "out of memory judging config revisions");
        return false;
    }
    return true;
}

/* The whole batch is in: judge it, unless it brought nothing new. A halt is new: a member
   that applied the halted canary goes back to the last good values, and one that failed it
   drops it from what it holds back. */
static void s_batch_done(fc_reconf_t *self, double now)
{
    fc_config_t *base = self->held ? self->held : self->cur;
    bool halts = self->halts_changed;
    self->halts_changed = false;
    if (halts)
        fc_reconf_judge(self, now);
    else if (fc_config_last_rev(self->next) == fc_config_last_rev(base))
        fc_config_destroy(&self->next);
    else if (self->nbatch == 0 && self->held) {
        /* Nothing for us: the revisions held back are not judged again for it. */
        fc_config_destroy(&self->held);
        self->held = self->next;
        self->next = NULL;
    } else
        fc_reconf_judge(self, now);
    if (self->slot_wait)
        return;
    self->nbatch = 0;
    self->synced = true;
    if (self->sync_again)
        fc_reconf_sync(self, now);
}

/* The broker names its halted canary revisions in every snapshot: from now on their values
   count neither in the batch nor in what is held back. */
static void s_halts(fc_reconf_t *self, const fc_msg_t *msg)
{
    size_t n = 0;
    uint64_t *revs = msg->bytes_len ? malloc(msg->bytes_len) : NULL;
    if (!revs || fc_msg_halted(msg, revs, msg->bytes_len / 8, &n) != FC_OK) {
        if (revs)
            fc_reconf_log(self, "broker sent a malformed list of halted config revisions; "
                                "ignored");
        free(revs);
        return;
    }
    bool marked = false;
    for (size_t i = 0; i < n; i++) {
        if (self->held)
            fc_config_halt(self->held, revs[i]);
        if (fc_config_halt(self->next, revs[i])) {
            marked = true;
            fc_reconf_log(self,
                          "config rev %llu was halted by the broker: its values no "
                          "longer count here",
                          (unsigned long long)revs[i]);
        }
    }
    if (marked) {
        s_save_halts(self, revs, n);
        self->halts_changed = true;
    }
    free(revs);
}

static void s_on_snapshot(fc_reconf_t *self, const fc_msg_t *msg, double now)
{
    self->sync_failed = false;
    self->last_progress = now;
    if (!s_batch_start(self))
        return;
    uint64_t before = fc_config_last_rev(self->next);
    if (msg->serial < before && !self->warned_behind) {
        /* Its history is not the one ours came from (a broker whose database was reset):
           revisions numbered below ours are refused, as replays would be. Said once. */
        fc_reconf_log(self,
                      "broker's latest config revision %llu is below ours (%llu): was its "
                      "history reset? Revisions up to %llu will be refused",
                      (unsigned long long)msg->serial, (unsigned long long)before,
                      (unsigned long long)before);
        self->warned_behind = true;
    }
    for (size_t i = 0; i < msg->nitems; i++)
        s_add(self, msg->items[i].data, msg->items[i].len);
    s_halts(self, msg);
    /* Pages: ask for what follows the last revision received, as long as pages move on. */
    if (msg->flag && fc_config_last_rev(self->next) > before) {
        s_send_sync(self);
        return;
    }
    s_batch_done(self, now);
}

static void s_on_sync_error(fc_reconf_t *self, const fc_msg_t *msg, double now)
{
    self->last_progress = now;
    /* The broker may be restoring its store, or predate config: complain now and then. */
    if (!self->sync_failed || self->host.verbose || now - self->last_log >= 60) {
        fc_reconf_log(self, "broker answered CONFIG_SYNC with %s: %s",
                      fc_error_name((int)msg->code),
                      msg->text[0] ? msg->text : fc_strerror((int)msg->code));
        self->last_log = now;
    }
    self->sync_failed = true;
    self->next_poll = now + (msg->code == FC_EPROTO ? S_POLL : S_ERROR_RETRY);
    if (fc_reconf_mode(self) != FC_AGENT_DAEMON) {
        /* --once: judge the pages that came (a consistent prefix), and end. */
        if (self->next)
            s_batch_done(self, now);
        self->synced = true;
        /* A broker without config (it does not know the message) fails nothing. */
        if (msg->code != FC_EPROTO) {
            self->once_error = true;
            self->once_err = (int)msg->code;
            snprintf(self->once_msg, sizeof self->once_msg,
                     "broker refused CONFIG_SYNC: %.400s (%s)",
                     msg->text[0] ? msg->text : fc_strerror((int)msg->code),
                     fc_error_name((int)msg->code));
        }
    }
}

/* The announcement carries the revision itself and it is the very next one: applied
   from there, without the CONFIG_SYNC round trip (which a fleet would make all at once).
   False when it cannot be (nothing carried, a sync or restart under way, a gap, or it
   does not verify): the caller syncs instead, which also reports a bad revision. */
static bool s_apply_carried(fc_reconf_t *self, const fc_msg_t *msg, bool in_order, double now)
{
    if (!msg->bytes_len || !in_order || fc_reconf_mode(self) == FC_AGENT_CHECK || s_syncing(self) ||
        self->slot_wait || self->next)
        return false;
    uint64_t have = fc_config_last_rev(s_base(self));
    if (msg->serial != have + 1)
        return false;
    int err = 0;
    fc_revision_t *rev = fc_revision_parse(msg->bytes, msg->bytes_len, self->host.keys, &err);
    if (!rev || rev->rev != msg->serial) {
        fc_revision_destroy(&rev);
        return false;
    }
    if (!s_batch_start(self)) {
        fc_revision_destroy(&rev);
        return false;
    }
    self->last_progress = now;
    s_add_verified(self, &rev, msg->bytes, msg->bytes_len);
    if (fc_config_last_rev(self->next) != msg->serial) {
        /* Not taken after all (not usable here): the broker's copy decides. */
        fc_config_destroy(&self->next);
        self->nbatch = 0;
        return false;
    }
    s_batch_done(self, now);
    return true;
}

void fc_reconf_on_announce(fc_reconf_t *self, const fc_msg_t *msg, bool in_order, double now)
{
    if (msg->serial <= fc_config_last_rev(s_base(self)))
        return;
    /* Before the scope test: a revision for others still moves this agent's number on,
       so the next one carried follows on from it. */
    if (s_apply_carried(self, msg, in_order, now))
        return;
    /* The scope says whom it concerns; a promotion or schema may name none of ours, so only
       a scope that clearly excludes this agent is skipped. */
    if (msg->text[0] && fc_scope_valid(msg->text) &&
        !fc_scope_matches(msg->text, self->host.id, self->group) &&
        (strncmp(msg->text, "group:", 6) == 0 || strncmp(msg->text, "agent:", 6) == 0))
        return;
    fc_reconf_sync(self, now);
}

/* ---------------------------------------------------------------- restart slots */

static void s_send_slot(fc_reconf_t *self, double now)
{
    fc_msg_t *m = fc_msg_new(FC_MSG_RESTART_SLOT);
    fc_msg_set_str(m->id, sizeof m->id, self->host.id);
    fc_msg_set_str(m->group, sizeof m->group, self->group);
    m->serial = self->slot_rev;
    (void)now;
    fc_requester_send(self->host.req, &m, (void *)&s_kind_slot, &s_slot_opts);
}

/* Not granted yet: ask again after 200 ms to 1 s (spread, so a fleet does not ask in step). */
static void s_slot_later(fc_reconf_t *self, double now)
{
    self->slot_retry = now + 0.2 + (double)(randombytes_uniform(800)) / 1000.0;
}

static void s_on_slot(fc_reconf_t *self, const fc_msg_t *msg, double now)
{
    if (msg->type == FC_MSG_OK && msg->flag) {
        self->last_progress = now;
        if (fc_reconf_loud(self))
            fc_reconf_log(self, "restart slot granted for config rev %llu",
                          (unsigned long long)self->slot_rev);
        fc_reconf_restart(self);
        self->nbatch = 0;
        self->synced = true;
        if (self->sync_again)
            fc_reconf_sync(self, now);
        return;
    }
    if (msg->type == FC_MSG_ERROR && (now - self->last_log >= 10 || self->host.verbose)) {
        fc_reconf_log(self, "broker answered RESTART_SLOT with %s: %s; asking again",
                      fc_error_name((int)msg->code),
                      msg->text[0] ? msg->text : fc_strerror((int)msg->code));
        self->last_log = now;
    }
    s_slot_later(self, now);
}

/* ---------------------------------------------------------------- replies, timers */

static void s_on_sync_reply(fc_reconf_t *self, const fc_msg_t *msg, double now)
{
    if (msg->type == FC_MSG_CONFIG_SNAPSHOT) {
        s_on_snapshot(self, msg, now);
        return;
    }
    /* An ERROR, or any other answer (a broker that predates config): as an error that fails
       nothing (FC_EPROTO). */
    fc_msg_t *err = fc_msg_new(FC_MSG_ERROR);
    err->code = msg->type == FC_MSG_ERROR ? msg->code : FC_EPROTO;
    fc_msg_set_str(err->text, sizeof err->text,
                   msg->type == FC_MSG_ERROR ? msg->text : "unexpected reply");
    s_on_sync_error(self, err, now);
    fc_msg_destroy(&err);
}

static void s_on_slot_reply(fc_reconf_t *self, const fc_msg_t *msg, double now)
{
    if (self->slot_wait)
        s_on_slot(self, msg, now);
}

bool fc_reconf_kind(const void *kind)
{
    return kind == &s_kind_sync || kind == &s_kind_slot || kind == &s_kind_ack;
}

bool fc_reconf_on_reply(fc_reconf_t *self, const void *kind, const fc_msg_t *msg, double now)
{
    if (!fc_reconf_kind(kind))
        return false;
    ((const s_kind_t *)kind)->on_reply(self, msg, now);
    return true;
}

/* Re-sends are the requester's; here what is asked anew. up: requests can go out now. */
static void s_timers(fc_reconf_t *self, double now, bool up)
{
    if (fc_reconf_mode(self) == FC_AGENT_DAEMON && self->host.welcomed(self->host.ctx) &&
        !s_syncing(self) && !self->slot_wait && now >= self->next_poll)
        fc_reconf_sync(self, now);
    if (up && self->slot_wait && !(fc_requester_count(self->host.req, &s_kind_slot) > 0) &&
        now >= self->slot_retry)
        s_send_slot(self, now);
}

void fc_reconf_timers(fc_reconf_t *self, double now)
{
    if (self)
        s_timers(self, now, s_up(self));
}

/* ---------------------------------------------------------------- --once */

void fc_reconf_run_once(fc_reconf_t *self)
{
    double now = fc_now(), acks_until = 0;
    self->last_progress = now;
    bool timed_out = false;
    while (!self->host.stopping(self->host.ctx) && !zsys_interrupted) {
        now = fc_now();
        if (!self->synced && !s_syncing(self) && !self->slot_wait)
            fc_reconf_sync(self, now);
        bool busy = !self->synced || s_syncing(self) || self->slot_wait;
        if (!busy) {
            /* Done; give the acks a moment to be confirmed. */
            if (!acks_until)
                acks_until = now + S_ONCE_ACK_WAIT;
            if (!(fc_requester_count(self->host.req, &s_kind_ack) > 0) || now >= acks_until)
                break;
        } else if (now - self->last_progress >= self->host.timeout) {
            timed_out = true;
            break;
        }
        s_timers(self, now, true);
        fc_requester_tick(self->host.req); /* re-sends, and the flush after a reconnect */
        while (fc_requester_expired(self->host.req, NULL, NULL))
            ;
        zmq_pollitem_t items[2] = {
            {zsock_resolve(fc_requester_sock(self->host.req)), 0, ZMQ_POLLIN, 0},
            {zsock_resolve(fc_requester_monitor(self->host.req)), 0, ZMQ_POLLIN, 0}};
        if (zmq_poll(items, 2, 20) <= 0)
            continue;
        if (items[1].revents & ZMQ_POLLIN)
            fc_requester_on_monitor(self->host.req);
        for (int i = 0; i < 100; i++) {
            fc_msg_t *msg = NULL;
            void *kind = NULL;
            fc_requester_got_t got = fc_requester_recv(self->host.req, &msg, &kind);
            if (got == FC_REQUESTER_NONE)
                break;
            self->host.set_live(self->host.ctx);
            if (got == FC_REQUESTER_OTHER && msg->type == FC_MSG_CHUNK && msg->data)
                self->host.res->bytes_fetched += zframe_size(msg->data);
            /* Only the config part's replies: the release part is over. */
            if (got == FC_REQUESTER_REPLY)
                fc_reconf_on_reply(self, kind, msg, fc_now());
            fc_msg_destroy(&msg);
        }
    }
    fc_agent_result_t *r = self->host.res;
    if (timed_out) {
        self->once_error = true;
        self->once_err = FC_ETIMEOUT;
        snprintf(self->once_msg, sizeof self->once_msg, "%s in %g s (%s)",
                 self->slot_wait ? "restart slot not granted"
                                 : "no answer to CONFIG_SYNC from the broker",
                 self->host.timeout, fc_error_name(FC_ETIMEOUT));
        /* Nothing was applied: the next run asks again. */
        self->slot_wait = false;
        fc_requester_forget_user(self->host.req, &s_kind_sync);
        fc_config_destroy(&self->next);
        self->nbatch = 0;
    }
    if (self->once_error && r->exit_code == FC_AGENT_EXIT_OK) {
        /* The release part went well; the run as a whole did not. */
        char text[2 * FC_MAX_TEXT + 16];
        snprintf(text, sizeof text, "%s; config: %s", r->message, self->once_msg);
        fc_msg_set_str(r->message, sizeof r->message, text);
        r->exit_code = FC_AGENT_EXIT_ERROR;
        r->error = self->once_err;
    }
    self->once_error = false;
    self->once_err = 0;
    self->once_msg[0] = '\0';
    self->synced = false;
}
