/* fc_agent_release.c: what the agent does with a release: verify the manifest, judge it
   (fc_policy.h decides) and carry out the decision, stage and fetch it, install it. */
#include "fc_agent_priv.h"
#include "fc_error.h"
#include "fc_hash.h"
#include "fc_msg.h"
#include "fc_policy.h"
#include "fc_util.h"

#include <string.h>

/* Stops fetching the target but keeps it: a daemon opens the stage again at retry_at. */
static void s_stop_fetch(fc_agent_t *self)
{
    if (self->fetch) {
        self->retried_base += fc_fetch_retried(self->fetch);
        self->hash_base += fc_fetch_hash_errors(self->fetch);
        fc_fetch_destroy(&self->fetch);
    }
    fc_stage_destroy(&self->stage);
}

void fc_agent_drop_target(fc_agent_t *self)
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
static void s_decided(fc_agent_t *self, const uint8_t id[FC_HASH_LEN])
{
    memcpy(self->decided_id, id, FC_HASH_LEN);
    self->have_decided = true;
}

/* A failure that a daemon retries later and --once reports. */
static void s_fail(fc_agent_t *self, int err, double retry_s, const char *msg)
{
    fc_agent_set_state(self, "failed", "%s", msg);
    fc_agent_finish(self, FC_AGENT_EXIT_ERROR, err);
    self->retry_at = fc_now() + retry_s;
}

static void s_install(fc_agent_t *self)
{
    if (self->fetch) {
        self->retried_base += fc_fetch_retried(self->fetch);
        self->hash_base += fc_fetch_hash_errors(self->fetch);
        fc_fetch_destroy(&self->fetch);
    }
    const fc_manifest_t *m = self->target;
    fc_agent_set_state(self, "installing", "installing %s (serial %llu)", m->version,
                       (unsigned long long)m->serial);
    fc_agent_report(self, fc_now());
    fc_hooks_t hooks = {self->changing, self->changed, self->health, self->hook_timeout};
    char msg[FC_MAX_TEXT + 1] = "";
    int rc = fc_install_commit(self->inst, &self->stage, &hooks, msg, sizeof msg);
    fc_msg_set_str(self->res.version, sizeof self->res.version, fc_install_version(self->inst));
    if (rc == 0) {
        fc_agent_set_state(self, "installed", "%s", msg[0] ? msg : "installed");
        self->res.update_available = false;
        fc_agent_drop_target(self);
        fc_agent_finish(self, FC_AGENT_EXIT_OK, 0);
    } else if (rc == FC_EREFUSED) {
        if (msg[0])
            fc_agent_set_state(self, "postponed", "%s", msg);
        else
            fc_agent_set_state(self, "postponed",
                               "install of %s postponed: the changing hook refused", m->version);
        fc_agent_finish(self, FC_AGENT_EXIT_POSTPONED, rc);
        self->retry_at = fc_now() + self->retry_interval;
    } else if (rc == FC_EUNHEALTHY) {
        fc_agent_set_state(self, "failed", "%s", msg[0] ? msg : "health check failed; rolled back");
        s_decided(self, self->target_id);
        fc_agent_drop_target(self);
        fc_agent_finish(self, FC_AGENT_EXIT_UNHEALTHY, rc);
    } else if (rc == FC_EHASH && ++self->install_attempts < 3) {
        /* A staged chunk changed on disk since it was verified: the stage has forgotten it,
           so open it again and fetch what is missing. */
        fc_agent_log(self, "a staged chunk of %s no longer verifies; fetching it again",
                     m->version);
        fc_agent_start_stage(self, fc_now());
    } else {
        char text[FC_MAX_TEXT + 1];
        fc_textf(text, sizeof text, "install of %s failed: %s (%s)", m->version, /* may cut */
                 msg[0] ? msg : fc_strerror(rc), fc_agent_error_name(rc));
        s_fail(self, rc, rc == FC_ENOSPC ? FC_AGENT_NOSPC_RETRY : self->retry_interval, text);
    }
}

/* Opens (or resumes) the stage of the target, copies what the installed release already has,
   and starts fetching the rest. */
void fc_agent_start_stage(fc_agent_t *self, double now)
{
    const fc_manifest_t *m = self->target;
    char text[FC_MAX_TEXT + 1], a[32], b[32], c[32];
    self->retry_at = 0;
    int err = 0;
    self->stage = fc_stage_open(self->inst, self->target_bytes, self->target_len, m, &err);
    if (!self->stage) {
        snprintf(text, sizeof text, "%s: cannot stage %s: %s (%s)",
                 err == FC_ENOSPC ? "disk full" : "error", m->version, fc_strerror(err),
                 fc_agent_error_name(err));
        s_fail(self, err, err == FC_ENOSPC ? FC_AGENT_NOSPC_RETRY : self->retry_interval, text);
        return;
    }
    uint64_t resumed = fc_stage_bytes_have(self->stage), reused = 0;
    err = fc_stage_reuse_local(self->stage, &reused);
    self->res.bytes_reused += reused;
    self->res.bytes_total = fc_stage_bytes_total(self->stage);
    if (err == FC_ENOSPC) {
        snprintf(text, sizeof text, "disk full: cannot stage %s (%s)", m->version,
                 fc_agent_error_name(err));
        fc_stage_destroy(&self->stage);
        s_fail(self, err, FC_AGENT_NOSPC_RETRY, text);
        return;
    }
    self->fetch = fc_fetch_new(self->stage, self->window);
    self->last_progress = now;
    if (fc_fetch_done(self->fetch)) {
        s_install(self); /* everything was staged already (a retry) or found locally */
        return;
    }
    if (self->mode == FC_AGENT_DAEMON || self->verbose)
        fc_agent_log(self, "fetching %s (serial %llu): %s, %s already staged, %s reused locally",
                     m->version, (unsigned long long)m->serial,
                     fc_format_bytes(a, sizeof a, self->res.bytes_total),
                     fc_format_bytes(b, sizeof b, resumed), fc_format_bytes(c, sizeof c, reused));
    fc_agent_set_state(self, "downloading", "fetching %s (serial %llu)", m->version,
                       (unsigned long long)m->serial);
}

/* The message of a decision that ends the judging of m (NULL for FC_POLICY_NONE). */
static void s_set_decided_state(fc_agent_t *self, const fc_policy_input_t *in,
                                const fc_policy_decision_t *d, const fc_manifest_t *m)
{
    const char *installed = in->installed_version;
    char size[32];
    fc_format_bytes(size, sizeof size, self->res.available_size);
    switch (d->action) {
    case FC_POLICY_NONE:
        fc_agent_set_state(self, in->installed_serial ? "up-to-date" : "idle",
                           "no release published on channel %s", self->channel);
        break;
    case FC_POLICY_REJECT:
        if (d->reason == FC_POLICY_REASON_UNVERIFIED && d->error == FC_EFORMAT)
            fc_agent_set_state(self, "rejected",
                               "release rejected: its manifest is format %u and this agent "
                               "reads formats 1 to %u: upgrade fleetcast-agent to a version "
                               "that reads manifest format %u (%s)",
                               in->format, FC_MANIFEST_FORMAT, in->format,
                               fc_agent_error_name(d->error));
        else if (d->reason == FC_POLICY_REASON_UNVERIFIED)
            fc_agent_set_state(self, "rejected", "release rejected: %s (%s)", fc_strerror(d->error),
                               fc_agent_error_name(d->error));
        else if (d->reason == FC_POLICY_REASON_CHANNEL)
            fc_agent_set_state(self, "rejected",
                               "release rejected: manifest is for channel '%s', not '%s' (%s)",
                               m->channel, self->channel, fc_agent_error_name(d->error));
        else if (d->reason == FC_POLICY_REASON_PRODUCT)
            fc_agent_set_state(self, "rejected",
                               "release rejected: manifest is for product '%s', not '%s' (%s)",
                               m->product, self->product, fc_agent_error_name(d->error));
        else
            fc_agent_set_state(
                self, "rejected",
                "release rejected: serial %llu (%s) is older than the installed serial %llu "
                "(%s)",
                (unsigned long long)m->serial, m->version, (unsigned long long)in->installed_serial,
                fc_agent_error_name(d->error));
        break;
    case FC_POLICY_UP_TO_DATE:
        fc_agent_set_state(self, "up-to-date", "%s (serial %llu) is installed and current",
                           installed, (unsigned long long)in->installed_serial);
        break;
    case FC_POLICY_FAILED_BEFORE:
        fc_agent_set_state(
            self, "failed",
            "release %s (serial %llu) failed its health check here before; staying on %s",
            m->version, (unsigned long long)m->serial, installed[0] ? installed : "nothing");
        break;
    case FC_POLICY_AVAILABLE:
        fc_agent_set_state(self, "idle", "update available: %s (serial %llu, %s%s), installed: %s",
                           m->version, (unsigned long long)m->serial, size,
                           m->mandatory ? ", mandatory" : "", installed[0] ? installed : "nothing");
        break;
    case FC_POLICY_HOLD:
        fc_agent_set_state(self, "idle",
                           "%s (serial %llu, %s) available, not installed: auto-update %s",
                           m->version, (unsigned long long)m->serial, size,
                           self->policy == FC_AGENT_UPDATE_NONE ? "none" : "mandatory only");
        break;
    case FC_POLICY_IGNORE:
    case FC_POLICY_INSTALL:
        break;
    }
}

/* Makes m (owned, taken) the target and starts staging it. */
static void s_take_target(fc_agent_t *self, fc_manifest_t **m_p, const uint8_t *bytes, size_t len,
                          const uint8_t id[FC_HASH_LEN], double now)
{
    self->target = *m_p;
    *m_p = NULL;
    self->target_bytes = (uint8_t *)malloc(len);
    if (!self->target_bytes) {
        fc_agent_drop_target(self);
        s_fail(self, FC_ENOMEM, self->retry_interval, "out of memory");
        return;
    }
    memcpy(self->target_bytes, bytes, len);
    self->target_len = len;
    self->install_attempts = 0;
    memcpy(self->target_id, id, FC_HASH_LEN);
    fc_agent_start_stage(self, now);
}

/* Carries out a decision of the install policy: the result, the state, the target, the end
   of a one-shot run. Consumes *m_p. */
static void s_apply(fc_agent_t *self, const fc_policy_input_t *in, const fc_policy_decision_t *d,
                    fc_manifest_t **m_p, const uint8_t *bytes, size_t len,
                    const uint8_t id[FC_HASH_LEN], double now)
{
    const fc_manifest_t *m = *m_p;
    fc_agent_result_t *r = &self->res;
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
        if (self->mode == FC_AGENT_DAEMON || self->verbose)
            fc_agent_log(self, "newer release %s (serial %llu) replaces %s being fetched",
                         m->version, (unsigned long long)m->serial, self->target->version);
        fc_agent_drop_target(self);
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
    fc_agent_finish(self, d->exit_code, d->error);
    fc_manifest_destroy(m_p);
}

/* What to do with the channel's latest signed manifest (empty: the channel has none): the
   inputs gathered, the decision made by the policy (fc_policy.h), and carried out. */
void fc_agent_consider(fc_agent_t *self, const uint8_t *bytes, size_t len, double now)
{
    uint8_t id[FC_HASH_LEN] = {0};
    if (len > 0)
        fc_hash_buf(id, bytes, len);
    bool known = len > 0 && ((self->target && fc_hash_equal(id, self->target_id)) ||
                             (self->mode == FC_AGENT_DAEMON && self->have_decided &&
                              fc_hash_equal(id, self->decided_id)));
    int err = 0;
    fc_manifest_t *m = len > 0 && !known ? fc_manifest_parse(bytes, len, self->trust, &err) : NULL;
    fc_policy_input_t in = {
        .none = len == 0,
        .known = known,
        .m = m,
        .parse_err = err,
        .format = err == FC_EFORMAT ? fc_manifest_format_of(bytes, len) : 0,
        .channel = self->channel,
        .product = self->product,
        .check_only = self->mode == FC_AGENT_CHECK,
        .policy = self->policy,
        .installed_serial = fc_install_serial(self->inst),
        .installed_version = fc_install_version(self->inst),
        .failed_before = m && fc_install_failed(self->inst, m->serial),
        .fetching = self->target != NULL,
        .target_serial = self->target ? self->target->serial : 0,
    };
    fc_policy_decision_t d = fc_policy_decide(&in);
    s_apply(self, &in, &d, &m, bytes, len, id, now);
}

/* What a chunk's check and write came to (rc as from fc_fetch_on_chunk). */
static void s_after_chunk(fc_agent_t *self, int rc, double now)
{
    if (rc == 0) {
        self->last_progress = now;
        if (self->write_blocked) {
            self->write_blocked = false;
            fc_agent_log(self, "writing again, resuming %s", self->target->version);
            fc_agent_set_state(self, "downloading", "fetching %s (serial %llu)",
                               self->target->version, (unsigned long long)self->target->serial);
        }
        if (fc_fetch_done(self->fetch))
            s_install(self);
        else
            fc_fetch_pump(self->fetch, fc_agent_service(self), now);
    } else if (rc == FC_EHASH) {
        uint64_t bad;
        if (fc_fetch_hash_errors(self->fetch) >= FC_AGENT_MAX_HASH_ERRORS &&
            fc_fetch_last_bad(self->fetch, &bad)) {
            /* The broker keeps sending content that is not what the signed manifest says:
               its copy is damaged. Refuse the release and say which blob, so the operator
               (and the broker, which re-verifies a blob an agent names) can repair it. */
            const fc_file_t *file = NULL;
            const fc_chunk_t *c = fc_stage_chunk(self->stage, bad, &file);
            char hex[2 * FC_HASH_LEN + 1], text[FC_MAX_TEXT + 1];
            snprintf(text, sizeof text,
                     "release %s refused: blob %s corrupt at the broker (%s at offset %llu does "
                     "not match its hash, %llu bad chunks) (%s)",
                     self->target->version, file ? fc_hash_hex(file->hash, hex) : "?",
                     file ? file->path : "?", c ? (unsigned long long)c->offset : 0ULL,
                     (unsigned long long)fc_fetch_hash_errors(self->fetch),
                     fc_agent_error_name(FC_EHASH));
            s_stop_fetch(self);
            s_fail(self, FC_EHASH, self->retry_interval, text);
            if (file) /* the broker re-reads the blob named here, not the prose above */
                memcpy(self->corrupt_blob, file->hash, FC_HASH_LEN);
        } else if (self->verbose)
            fc_agent_log(self, "a chunk of %s did not match its hash; fetching it again",
                         self->target->version);
    } else if (rc > 0 && !self->write_blocked) {
        self->write_blocked = true;
        char have[32], total[32];
        fc_agent_progress(self, have, total, sizeof have);
        fc_agent_set_state(self, "failed",
                           "%s writing %s (have %s of %s): %s (%s); keeping what is staged",
                           rc == FC_ENOSPC ? "disk full" : "write error", self->target->version,
                           have, total, fc_strerror(rc), fc_agent_error_name(rc));
        fc_agent_finish(self, FC_AGENT_EXIT_ERROR, rc);
    }
}

void fc_agent_on_chunk(fc_agent_t *self, fc_msg_t *msg, double now)
{
    self->res.bytes_fetched += msg->data ? zframe_size(msg->data) : 0;
    if (!self->fetch)
        return;
    int rc = fc_fetch_on_chunk(self->fetch, msg, fc_agent_service(self), now, FC_AGENT_NOSPC_RETRY);
    s_after_chunk(self, rc, now);
}

void fc_agent_on_written(fc_agent_t *self, double now)
{
    int rc;
    while (self->fetch && !self->finished &&
           (rc = fc_fetch_collect(self->fetch, fc_agent_service(self), now,
                                  FC_AGENT_NOSPC_RETRY)) != -1)
        s_after_chunk(self, rc, now);
}
