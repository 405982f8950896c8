/* fc_follower.c: the agent's release follower (fc_follower.h): verify the manifest, judge it
   (fc_policy.h decides) and carry out the decision, stage and fetch it, install it. */
#include "fc_follower.h"
#include "fc_agent_log.h"
#include "fc_clock.h"
#include "fc_error.h"
#include "fc_fetch.h"
#include "fc_hash.h"
#include "fc_policy.h"
#include "fc_text.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct fc_follower_t {
    fc_follower_host_t host;
    fc_follower_config_t cfg;
    fc_agent_result_t *res; /* cfg.res */
    fc_agent_mode_t mode;

    /* The release being fetched or installed (the target). */
    uint8_t *target_bytes; /* its signed manifest */
    size_t target_len;
    uint8_t target_id[FC_HASH_LEN];
    fc_manifest_t *target;
    fc_stage_t *stage;
    fc_fetch_t *fetch;
    double retry_at;      /* daemon: re-open the stage then (postponed, failed, disk full) */
    int install_attempts; /* commits of this target that found a damaged chunk */
    bool write_blocked;   /* disk full while writing chunks */
    double last_expire;
    uint8_t decided_id[FC_HASH_LEN]; /* daemon: last manifest judged not worth acting on */
    bool have_decided;
    uint64_t retried_base, hash_base; /* counters of this run's fetchers already gone */
};

#define s_log(self, ...) fc_agent_logf((self)->host.log, (self)->host.ctx, __VA_ARGS__)

/* Events a daemon logs; a one-shot run only when verbose (its final message is the
   program's to print). */
static bool s_loud(const fc_follower_t *self)
{
    return self->mode == FC_AGENT_DAEMON || self->cfg.verbose;
}

static void s_state_blob(fc_follower_t *self, const char *state, const uint8_t *blob,
                         const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void s_state_blob(fc_follower_t *self, const char *state, const uint8_t *blob,
                         const char *fmt, ...)
{
    char msg[FC_MAX_TEXT + 1];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    self->host.set_state(self->host.ctx, state, msg, blob);
}

#define s_state(self, state, ...) s_state_blob(self, state, NULL, __VA_ARGS__)

static void s_finish(fc_follower_t *self, int exit_code, int error)
{
    self->host.finish(self->host.ctx, exit_code, error);
}

static void *s_service(fc_follower_t *self)
{
    return self->host.service(self->host.ctx);
}

/* A copy of s (NULL stays NULL); false without memory. */
static bool s_copy(const char **out, const char *s)
{
    *out = s ? strdup(s) : NULL;
    return !s || *out;
}

fc_follower_t *fc_follower_new(const fc_follower_config_t *cfg, const fc_follower_host_t *host)
{
    fc_follower_t *self = (fc_follower_t *)calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->cfg = *cfg;
    self->host = *host;
    self->res = cfg->res;
    self->mode = FC_AGENT_DAEMON;
    fc_follower_config_t *c = &self->cfg;
    c->channel = c->product = c->hooks.changing = c->hooks.changed = c->hooks.health = NULL;
    if (!s_copy(&c->channel, cfg->channel) || !s_copy(&c->product, cfg->product) ||
        !s_copy(&c->hooks.changing, cfg->hooks.changing) ||
        !s_copy(&c->hooks.changed, cfg->hooks.changed) ||
        !s_copy(&c->hooks.health, cfg->hooks.health))
        fc_follower_destroy(&self);
    return self;
}

void fc_follower_destroy(fc_follower_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fc_follower_t *self = *self_p;
    fc_follower_drop(self);
    free((char *)self->cfg.channel);
    free((char *)self->cfg.product);
    free((char *)self->cfg.hooks.changing);
    free((char *)self->cfg.hooks.changed);
    free((char *)self->cfg.hooks.health);
    free(self);
    *self_p = NULL;
}

void fc_follower_begin(fc_follower_t *self, fc_agent_mode_t mode)
{
    self->mode = mode;
    self->retried_base = self->hash_base = 0;
    self->have_decided = false;
}

void fc_follower_forget_decided(fc_follower_t *self)
{
    self->have_decided = false;
}

/* Stops fetching the target but keeps it: a daemon opens the stage again at retry_at. */
static void s_stop_fetch(fc_follower_t *self)
{
    if (self->fetch) {
        self->retried_base += fc_fetch_retried(self->fetch);
        self->hash_base += fc_fetch_hash_errors(self->fetch);
        fc_fetch_destroy(&self->fetch);
    }
    fc_stage_destroy(&self->stage);
}

void fc_follower_drop(fc_follower_t *self)
{
    s_stop_fetch(self);
    fc_manifest_destroy(&self->target);
    free(self->target_bytes);
    self->target_bytes = NULL;
    self->target_len = 0;
    self->retry_at = 0;
    self->write_blocked = false;
}

/* Remembers a manifest not worth acting on, so a daemon's periodic SYNC does not redo it. */
static void s_decided(fc_follower_t *self, const uint8_t id[FC_HASH_LEN])
{
    memcpy(self->decided_id, id, FC_HASH_LEN);
    self->have_decided = true;
}

/* A failure that a daemon retries later and --once reports; blob (NULL: none) is the corrupt
   one REPORT names. */
static void s_fail(fc_follower_t *self, int err, double retry_s, const char *msg,
                   const uint8_t *blob)
{
    s_state_blob(self, "failed", blob, "%s", msg);
    s_finish(self, FC_AGENT_EXIT_ERROR, err);
    self->retry_at = fc_now() + retry_s;
}

static void s_start_stage(fc_follower_t *self, double now);

static void s_install(fc_follower_t *self)
{
    if (self->fetch) {
        self->retried_base += fc_fetch_retried(self->fetch);
        self->hash_base += fc_fetch_hash_errors(self->fetch);
        fc_fetch_destroy(&self->fetch);
    }
    const fc_manifest_t *m = self->target;
    s_state(self, "installing", "installing %s (serial %llu)", m->version,
            (unsigned long long)m->serial);
    self->host.report(self->host.ctx, fc_now());
    char msg[FC_MAX_TEXT + 1] = "";
    int rc = fc_install_commit(self->cfg.inst, &self->stage, &self->cfg.hooks, msg, sizeof msg);
    fc_msg_set_str(self->res->version, sizeof self->res->version,
                   fc_install_version(self->cfg.inst));
    if (rc == 0) {
        s_state(self, "installed", "%s", msg[0] ? msg : "installed");
        self->res->update_available = false;
        fc_follower_drop(self);
        s_finish(self, FC_AGENT_EXIT_OK, 0);
    } else if (rc == FC_EREFUSED) {
        if (msg[0])
            s_state(self, "postponed", "%s", msg);
        else
            s_state(self, "postponed", "install of %s postponed: the changing hook refused",
                    m->version);
        s_finish(self, FC_AGENT_EXIT_POSTPONED, rc);
        self->retry_at = fc_now() + self->cfg.retry_interval;
    } else if (rc == FC_EUNHEALTHY) {
        /* Swapped back (the installed serial is not the target's): a rollout counts it as
           rolled back; a failed swap-back stays plain failed. */
        bool back = fc_install_serial(self->cfg.inst) != m->serial;
        s_state(self, back ? "rolled-back" : "failed", "%s",
                msg[0] ? msg : "health check failed; rolled back");
        s_decided(self, self->target_id);
        fc_follower_drop(self);
        s_finish(self, FC_AGENT_EXIT_UNHEALTHY, rc);
    } else if (rc == FC_EHASH && ++self->install_attempts < 3) {
        /* A staged chunk changed on disk since it was verified: the stage has forgotten it,
           so open it again and fetch what is missing. */
        s_log(self, "a staged chunk of %s no longer verifies; fetching it again", m->version);
        s_start_stage(self, fc_now());
    } else {
        char text[FC_MAX_TEXT + 1];
        fc_textf(text, sizeof text, "install of %s failed: %s (%s)", m->version, /* may cut */
                 msg[0] ? msg : fc_strerror(rc), fc_error_name(rc));
        s_fail(self, rc, rc == FC_ENOSPC ? FC_FOLLOWER_NOSPC_RETRY : self->cfg.retry_interval, text,
               NULL);
    }
}

/* Opens (or resumes) the stage of the target, copies what the installed release already has,
   and starts fetching the rest. */
static void s_start_stage(fc_follower_t *self, double now)
{
    const fc_manifest_t *m = self->target;
    char text[FC_MAX_TEXT + 1], a[32], b[32], c[32];
    self->retry_at = 0;
    int err = 0;
    self->stage = fc_stage_open(self->cfg.inst, self->target_bytes, self->target_len, m, &err);
    if (!self->stage) {
        snprintf(text, sizeof text, "%s: cannot stage %s: %s (%s)",
                 err == FC_ENOSPC ? "disk full" : "error", m->version, fc_strerror(err),
                 fc_error_name(err));
        s_fail(self, err, err == FC_ENOSPC ? FC_FOLLOWER_NOSPC_RETRY : self->cfg.retry_interval,
               text, NULL);
        return;
    }
    uint64_t resumed = fc_stage_bytes_have(self->stage), reused = 0;
    err = fc_stage_reuse_local(self->stage, &reused);
    self->res->bytes_reused += reused;
    self->res->bytes_total = fc_stage_bytes_total(self->stage);
    if (err == FC_ENOSPC) {
        snprintf(text, sizeof text, "disk full: cannot stage %s (%s)", m->version,
                 fc_error_name(err));
        fc_stage_destroy(&self->stage);
        s_fail(self, err, FC_FOLLOWER_NOSPC_RETRY, text, NULL);
        return;
    }
    self->fetch = fc_fetch_new(self->stage, self->cfg.window);
    self->host.progress(self->host.ctx, now);
    if (fc_fetch_done(self->fetch)) {
        s_install(self); /* everything was staged already (a retry) or found locally */
        return;
    }
    if (s_loud(self))
        s_log(self, "fetching %s (serial %llu): %s, %s already staged, %s reused locally",
              m->version, (unsigned long long)m->serial,
              fc_format_bytes(a, sizeof a, self->res->bytes_total),
              fc_format_bytes(b, sizeof b, resumed), fc_format_bytes(c, sizeof c, reused));
    s_state(self, "downloading", "fetching %s (serial %llu)", m->version,
            (unsigned long long)m->serial);
}

void fc_follower_retry(fc_follower_t *self, double now)
{
    if (self->target && !self->stage && self->retry_at > 0 && now >= self->retry_at)
        s_start_stage(self, now);
}

/* The message of a decision that ends the judging of m. */
static void s_set_decided_state(fc_follower_t *self, const fc_policy_input_t *in,
                                const fc_policy_decision_t *d, const fc_manifest_t *m)
{
    const char *installed = in->installed_version;
    const char *channel = self->cfg.channel;
    char size[32];
    fc_format_bytes(size, sizeof size, self->res->available_size);
    switch (d->action) {
    case FC_POLICY_NONE:
        s_state(self, in->installed_serial ? "up-to-date" : "idle",
                "no release published on channel %s", channel);
        break;
    case FC_POLICY_REJECT:
        if (d->reason == FC_POLICY_REASON_UNVERIFIED && d->error == FC_EFORMAT)
            s_state(self, "rejected",
                    "release rejected: its manifest is format %u and this agent reads formats 1 "
                    "to %u: upgrade fleetcast-agent to a version that reads manifest format %u "
                    "(%s)",
                    in->format, FC_MANIFEST_FORMAT_PARTS, in->format, fc_error_name(d->error));
        else if (d->reason == FC_POLICY_REASON_UNVERIFIED)
            s_state(self, "rejected", "release rejected: %s (%s)", fc_strerror(d->error),
                    fc_error_name(d->error));
        else if (d->reason == FC_POLICY_REASON_CHANNEL)
            s_state(self, "rejected",
                    "release rejected: manifest is for channel '%s', not '%s' (%s)", m->channel,
                    channel, fc_error_name(d->error));
        else if (d->reason == FC_POLICY_REASON_PRODUCT)
            s_state(self, "rejected",
                    "release rejected: manifest is for product '%s', not '%s' (%s)", m->product,
                    self->cfg.product, fc_error_name(d->error));
        else
            s_state(self, "rejected",
                    "release rejected: serial %llu (%s) is older than the installed serial %llu "
                    "(%s)",
                    (unsigned long long)m->serial, m->version,
                    (unsigned long long)in->installed_serial, fc_error_name(d->error));
        break;
    case FC_POLICY_UP_TO_DATE:
        s_state(self, "up-to-date", "%s (serial %llu) is installed and current", installed,
                (unsigned long long)in->installed_serial);
        break;
    case FC_POLICY_FAILED_BEFORE:
        s_state(self, "failed",
                "release %s (serial %llu) failed its health check here before; staying on %s",
                m->version, (unsigned long long)m->serial, installed[0] ? installed : "nothing");
        break;
    case FC_POLICY_AVAILABLE:
        s_state(self, "idle", "update available: %s (serial %llu, %s%s), installed: %s", m->version,
                (unsigned long long)m->serial, size, m->mandatory ? ", mandatory" : "",
                installed[0] ? installed : "nothing");
        break;
    case FC_POLICY_HOLD:
        s_state(self, "idle", "%s (serial %llu, %s) available, not installed: auto-update %s",
                m->version, (unsigned long long)m->serial, size,
                self->cfg.policy == FC_AGENT_UPDATE_NONE ? "none" : "mandatory only");
        break;
    case FC_POLICY_IGNORE:
    case FC_POLICY_INSTALL:
        break;
    }
}

/* Makes m (owned, taken) the target and starts staging it. */
static void s_take_target(fc_follower_t *self, fc_manifest_t **m_p, const uint8_t *bytes,
                          size_t len, const uint8_t id[FC_HASH_LEN], double now)
{
    self->target = *m_p;
    *m_p = NULL;
    self->target_bytes = (uint8_t *)malloc(len);
    if (!self->target_bytes) {
        fc_follower_drop(self);
        s_fail(self, FC_ENOMEM, self->cfg.retry_interval, "out of memory", NULL);
        return;
    }
    memcpy(self->target_bytes, bytes, len);
    self->target_len = len;
    self->install_attempts = 0;
    memcpy(self->target_id, id, FC_HASH_LEN);
    s_start_stage(self, now);
}

/* Carries out a decision of the install policy: the result, the state, the target, the end
   of a one-shot run. Consumes *m_p. */
static void s_apply(fc_follower_t *self, const fc_policy_input_t *in, const fc_policy_decision_t *d,
                    fc_manifest_t **m_p, const uint8_t *bytes, size_t len,
                    const uint8_t id[FC_HASH_LEN], double now)
{
    const fc_manifest_t *m = *m_p;
    fc_agent_result_t *r = self->res;
    if (d->action == FC_POLICY_IGNORE) {
        fc_manifest_destroy(m_p);
        return;
    }
    if (d->shown) {
        fc_msg_set_str(r->available_version, sizeof r->available_version, m->version);
        r->available_serial = m->serial;
        r->available_size = fc_manifest_total_size(m);
        r->mandatory = m->mandatory;
    }
    if (d->replaces_target) {
        if (s_loud(self))
            s_log(self, "newer release %s (serial %llu) replaces %s being fetched", m->version,
                  (unsigned long long)m->serial, self->target->version);
        fc_follower_drop(self);
    }
    if (d->shown || d->action == FC_POLICY_NONE)
        r->update_available = d->available;
    s_set_decided_state(self, in, d, m);
    if (d->remember)
        s_decided(self, id);
    if (d->action == FC_POLICY_INSTALL) {
        s_take_target(self, m_p, bytes, len, id, now);
        return;
    }
    s_finish(self, d->exit_code, d->error);
    fc_manifest_destroy(m_p);
}

/* The inputs gathered, the decision made by the policy (fc_policy.h), and carried out. */
void fc_follower_consider(fc_follower_t *self, const uint8_t *bytes, size_t len, double now)
{
    uint8_t id[FC_HASH_LEN] = {0};
    if (len > 0)
        fc_hash_buf(id, bytes, len);
    bool known = len > 0 && ((self->target && fc_hash_equal(id, self->target_id)) ||
                             (self->mode == FC_AGENT_DAEMON && self->have_decided &&
                              fc_hash_equal(id, self->decided_id)));
    int err = 0;
    /* A format-3 top level is read with its objects, which the session fetched first. */
    fc_manifest_t *m = len > 0 && !known
                           ? fc_objects_load(fc_install_objects(self->cfg.inst), bytes, len,
                                             self->cfg.trust, NULL, 0, NULL, NULL, &err)
                           : NULL;
    fc_policy_input_t in = {
        .none = len == 0,
        .known = known,
        .m = m,
        .parse_err = err,
        .format = err == FC_EFORMAT ? fc_manifest_format_of(bytes, len) : 0,
        .channel = self->cfg.channel,
        .product = self->cfg.product,
        .check_only = self->mode == FC_AGENT_CHECK,
        .policy = self->cfg.policy,
        .installed_serial = fc_install_serial(self->cfg.inst),
        .installed_version = fc_install_version(self->cfg.inst),
        .failed_before = m && fc_install_failed(self->cfg.inst, m->serial),
        .fetching = self->target != NULL,
        .target_serial = self->target ? self->target->serial : 0,
    };
    fc_policy_decision_t d = fc_policy_decide(&in);
    s_apply(self, &in, &d, &m, bytes, len, id, now);
}

/* What a chunk's check and write came to (rc as from fc_fetch_on_chunk). */
static void s_after_chunk(fc_follower_t *self, int rc, double now)
{
    if (rc == 0) {
        self->host.progress(self->host.ctx, now);
        if (self->write_blocked) {
            self->write_blocked = false;
            s_log(self, "writing again, resuming %s", self->target->version);
            s_state(self, "downloading", "fetching %s (serial %llu)", self->target->version,
                    (unsigned long long)self->target->serial);
        }
        if (fc_fetch_done(self->fetch))
            s_install(self);
        else
            fc_fetch_pump(self->fetch, s_service(self), now);
    } else if (rc == FC_EHASH) {
        uint64_t bad;
        if (fc_fetch_hash_errors(self->fetch) >= FC_FOLLOWER_MAX_HASH_ERRORS &&
            fc_fetch_last_bad(self->fetch, &bad)) {
            /* The broker keeps sending content that is not what the signed manifest says:
               its copy is damaged. Refuse the release and say which blob, so the operator
               (and the broker, which re-verifies a blob an agent names) can repair it. */
            const fc_file_t *file = NULL;
            const fc_chunk_t *c = fc_stage_chunk(self->stage, bad, &file);
            char hex[2 * FC_HASH_LEN + 1], text[FC_MAX_TEXT + 1];
            uint8_t blob[FC_HASH_LEN];
            if (file) /* the broker re-reads the blob named here, not the prose below */
                memcpy(blob, file->hash, FC_HASH_LEN);
            snprintf(text, sizeof text,
                     "release %s refused: blob %s corrupt at the broker (%s at offset %llu does "
                     "not match its hash, %llu bad chunks) (%s)",
                     self->target->version, file ? fc_hash_hex(file->hash, hex) : "?",
                     file ? file->path : "?", c ? (unsigned long long)c->offset : 0ULL,
                     (unsigned long long)fc_fetch_hash_errors(self->fetch),
                     fc_error_name(FC_EHASH));
            s_stop_fetch(self);
            s_fail(self, FC_EHASH, self->cfg.retry_interval, text, file ? blob : NULL);
        } else if (self->cfg.verbose)
            s_log(self, "a chunk of %s did not match its hash; fetching it again",
                  self->target->version);
    } else if (rc > 0 && !self->write_blocked) {
        self->write_blocked = true;
        char have[32], total[32];
        fc_follower_progress(self, have, total, sizeof have);
        s_state(self, "failed", "%s writing %s (have %s of %s): %s (%s); keeping what is staged",
                rc == FC_ENOSPC ? "disk full" : "write error", self->target->version, have, total,
                fc_strerror(rc), fc_error_name(rc));
        s_finish(self, FC_AGENT_EXIT_ERROR, rc);
    }
}

void fc_follower_on_chunk(fc_follower_t *self, fc_msg_t *msg, double now)
{
    self->res->bytes_fetched += msg->data ? zframe_size(msg->data) : 0;
    if (!self->fetch)
        return;
    int rc = fc_fetch_on_chunk(self->fetch, msg, s_service(self), now, FC_FOLLOWER_NOSPC_RETRY);
    s_after_chunk(self, rc, now);
}

void fc_follower_on_written(fc_follower_t *self, double now)
{
    int rc;
    while (self->fetch && !self->host.finished(self->host.ctx) &&
           (rc = fc_fetch_collect(self->fetch, s_service(self), now, FC_FOLLOWER_NOSPC_RETRY)) !=
               -1)
        s_after_chunk(self, rc, now);
}

bool fc_follower_on_error(fc_follower_t *self, const fc_msg_t *msg, double retry_s, double now)
{
    return self->fetch && fc_fetch_on_error(self->fetch, msg, retry_s, now);
}

void fc_follower_pump(fc_follower_t *self, double now)
{
    if (self->fetch)
        fc_fetch_pump(self->fetch, s_service(self), now);
}

void fc_follower_expire(fc_follower_t *self, double now)
{
    if (self->fetch && now - self->last_expire >= 0.1) {
        self->last_expire = now;
        fc_fetch_expire(self->fetch, s_service(self), now);
    }
}

size_t fc_follower_resend_all(fc_follower_t *self, double now)
{
    return self->fetch ? fc_fetch_resend_all(self->fetch, s_service(self), now) : 0;
}

size_t fc_follower_resend_before(fc_follower_t *self, double before, double now)
{
    return self->fetch ? fc_fetch_resend_before(self->fetch, s_service(self), before, now) : 0;
}

size_t fc_follower_pipes(const fc_follower_t *self, void **socks, size_t max)
{
    return self->fetch ? fc_fetch_pipes(self->fetch, socks, max) : 0;
}

bool fc_follower_staging(const fc_follower_t *self)
{
    return self->stage != NULL;
}

size_t fc_follower_inflight(const fc_follower_t *self)
{
    return self->fetch ? fc_fetch_inflight(self->fetch) : 0;
}

void fc_follower_progress(const fc_follower_t *self, char *have, char *total, size_t size)
{
    uint64_t h = self->stage ? fc_stage_bytes_have(self->stage) : 0;
    uint64_t t = self->stage ? fc_stage_bytes_total(self->stage) : 0;
    fc_format_bytes(have, size, h);
    fc_format_bytes(total, size, t);
}

void fc_follower_bytes(const fc_follower_t *self, uint64_t *done, uint64_t *total)
{
    *done = *total = 0;
    if (self->stage) {
        *done = fc_stage_bytes_have(self->stage);
        *total = fc_stage_bytes_total(self->stage);
    } else if (self->target)
        *total = fc_manifest_total_size(self->target);
}

uint64_t fc_follower_newest_serial(const fc_follower_t *self)
{
    uint64_t newest = fc_install_serial(self->cfg.inst);
    if (self->target && self->target->serial > newest)
        newest = self->target->serial;
    return newest;
}

uint64_t fc_follower_retried(const fc_follower_t *self)
{
    return self->retried_base + (self->fetch ? fc_fetch_retried(self->fetch) : 0);
}

uint64_t fc_follower_hash_errors(const fc_follower_t *self)
{
    return self->hash_base + (self->fetch ? fc_fetch_hash_errors(self->fetch) : 0);
}
