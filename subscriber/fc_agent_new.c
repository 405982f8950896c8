/* fc_agent_new.c: builds an agent engine from its config (id, install and state dirs,
   CURVE keys, the service requester, the classes and the host interfaces lent to them) and
   frees it. A private part of fc_agent (the engine, fc_agent.c), sharing fc_agent_priv.h. */
#include "fc_agent_priv.h"
#include "fc_clock.h"
#include "fc_curve.h"
#include "fc_error.h"
#include "fc_fetch.h"
#include "fc_msg.h"
#include "fc_reconf.h"
#include "fc_status_file.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* An optional setting: "" is none. */
static const char *s_nonempty(const char *s)
{
    return s && s[0] ? s : NULL;
}

/* The host name, made into a valid agent id. */
static char *s_default_id(void)
{
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) != 0 || !host[0])
        snprintf(host, sizeof host, "agent");
    host[FC_MAX_NAME] = '\0';
    for (char *p = host; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-", *p))
            *p = '-';
    return strdup(host);
}

/* The CURVE client settings: own cert (the default one made on first start) and the broker's
   key. Returns fc_error_t, the reason logged. */
static int s_curve_setup(fc_agent_t *self, const fc_agent_config_t *cfg)
{
    char path[PATH_MAX], pub[FC_CURVE_Z85_LEN + 1], text[FC_MAX_TEXT] = "";
    if (cfg->key_file && cfg->key_file[0])
        snprintf(path, sizeof path, "%s", cfg->key_file);
    else {
        snprintf(path, sizeof path, "%s/agent.cert_secret", self->state_dir);
        if (access(path, F_OK) != 0) {
            char pubpath[PATH_MAX];
            snprintf(pubpath, sizeof pubpath, "%s/agent.cert", self->state_dir);
            int e = fc_curve_generate(pubpath, false, pub);
            if (e) {
                fc_agent_log(self, "cannot create the agent key %s: %s", path, fc_strerror(e));
                return e;
            }
            fc_agent_log(self,
                         "made a new agent key %s (public key '%s'); enrol it on the broker"
                         " with: fleetcast keys add-agent %s --data BROKER_DATA_DIR (or copy"
                         " that file into BROKER_DATA_DIR/keys/agents/)",
                         path, pub, pubpath);
        }
    }
    int e = 0;
    self->curve = fc_curve_new_client(path, cfg->broker_key, &e, text, sizeof text);
    if (!self->curve) {
        fc_agent_log(self, "%s", text);
        return e;
    }
    return FC_OK;
}

/* The lines of the classes it owns, as the engine's own. */
static void s_engine_log(const char *line, void *arg)
{
    fc_agent_log((fc_agent_t *)arg, "%s", line);
}

/* ---------------------------------------------------------------- the follower's host */

static void s_follower_state(void *ctx, const char *state, const char *message, const uint8_t *blob)
{
    fc_agent_t *self = (fc_agent_t *)ctx;
    fc_agent_set_state(self, state, "%s", message);
    if (blob) /* after the state: a new state names no blob unless set */
        memcpy(self->corrupt_blob, blob, FC_HASH_LEN);
}

static void s_follower_finish(void *ctx, int exit_code, int error)
{
    fc_agent_finish((fc_agent_t *)ctx, exit_code, error);
}

static bool s_follower_finished(void *ctx)
{
    return ((fc_agent_t *)ctx)->finished;
}

static void s_follower_report(void *ctx, double now)
{
    fc_session_report(((fc_agent_t *)ctx)->session, now);
}

static void s_follower_progress(void *ctx, double now)
{
    fc_session_progress(((fc_agent_t *)ctx)->session, now);
}

static void *s_follower_service(void *ctx)
{
    return zsock_resolve(fc_requester_sock(((fc_agent_t *)ctx)->req));
}

/* ---------------------------------------------------------------- reconf's host */

static fc_agent_mode_t s_reconf_mode(void *ctx)
{
    return ((fc_agent_t *)ctx)->mode;
}

static bool s_reconf_welcomed(void *ctx)
{
    return fc_session_welcomed(((fc_agent_t *)ctx)->session);
}

static bool s_stopping(void *ctx)
{
    return __atomic_load_n(&((fc_agent_t *)ctx)->stop, __ATOMIC_RELAXED) != 0;
}

static void s_reconf_set_live(void *ctx)
{
    fc_session_set_live(((fc_agent_t *)ctx)->session);
}

/* ---------------------------------------------------------------- the session's host */

static void s_session_state(void *ctx, const char *state, const char *message)
{
    fc_agent_set_state((fc_agent_t *)ctx, state, "%s", message);
}

static const uint8_t *s_session_unread(void *ctx, size_t *len)
{
    return fc_install_unread(((fc_agent_t *)ctx)->inst, len);
}

static void s_session_unread_done(void *ctx, bool fetched)
{
    fc_agent_t *self = (fc_agent_t *)ctx;
    if (!fetched) {
        fc_install_forget_unread(self->inst);
        return;
    }
    if (fc_install_reread(self->inst))
        fc_agent_log(self, "installed release %s read again, its manifest objects fetched again",
                     fc_install_version(self->inst));
}

static void s_session_consider(void *ctx, const uint8_t *bytes, size_t len, double now)
{
    fc_agent_t *self = (fc_agent_t *)ctx;
    /* The installed release's own top level may be what just became whole. */
    if (fc_install_unread(self->inst, &(size_t){0}))
        s_session_unread_done(self, true);
    fc_follower_consider(self->follower, bytes, len, now);
    /* A run whose end waited for this judgement ends now unless it started a new fetch. */
    if (self->finish_deferred && !self->finished && !fc_follower_staging(self->follower))
        fc_agent_finish(self, self->deferred_exit, self->deferred_error);
}

static uint64_t s_session_newest(void *ctx)
{
    return fc_follower_newest_serial(((fc_agent_t *)ctx)->follower);
}

static const fc_manifest_t *s_session_installed(void *ctx)
{
    return fc_install_manifest(((fc_agent_t *)ctx)->inst);
}

static bool s_session_staged(void *ctx, char *have, char *total, size_t size, size_t *inflight)
{
    fc_follower_t *f = ((fc_agent_t *)ctx)->follower;
    fc_follower_progress(f, have, total, size);
    *inflight = fc_follower_inflight(f);
    return fc_follower_staging(f);
}

static size_t s_session_resend_before(void *ctx, double before, double now)
{
    return fc_follower_resend_before(((fc_agent_t *)ctx)->follower, before, now);
}

static void s_session_config_sync(void *ctx, double now)
{
    fc_reconf_sync(((fc_agent_t *)ctx)->reconf, now);
}

static void s_session_config_announce(void *ctx, const fc_msg_t *msg, bool in_order, double now)
{
    fc_reconf_on_announce(((fc_agent_t *)ctx)->reconf, msg, in_order, now);
}

static void s_session_trust_rotated(void *ctx)
{
    fc_follower_forget_decided(((fc_agent_t *)ctx)->follower);
}

static void s_session_fill_report(void *ctx, fc_agent_status_t *st, uint8_t blob[FC_HASH_LEN])
{
    fc_agent_t *self = (fc_agent_t *)ctx;
    fc_msg_set_str(st->version, sizeof st->version, fc_install_version(self->inst));
    fc_msg_set_str(st->state, sizeof st->state, self->res.state);
    fc_msg_set_str(st->message, sizeof st->message, self->res.message);
    memcpy(blob, self->corrupt_blob, FC_HASH_LEN);
    fc_follower_bytes(self->follower, &st->done, &st->total);
}

fc_agent_t *fc_agent_new(const fc_agent_config_t *cfg, int *err)
{
    char msg[FC_MAX_TEXT];
    int rc = fc_agent_config_check(cfg, msg, sizeof msg);
    if (rc != 0) {
        if (err)
            *err = rc;
        return NULL;
    }
    fc_agent_t *self = (fc_agent_t *)zmalloc(sizeof(fc_agent_t));
    self->broker = strdup(cfg->broker);
    self->channel = strdup(cfg->channel);
    self->state_dir = strdup(cfg->state_dir);
    self->id = cfg->id && cfg->id[0] ? strdup(cfg->id) : s_default_id();
    self->hook_timeout = cfg->hook_timeout;
    self->timeout = cfg->timeout > 0 ? cfg->timeout : 30;
    self->verbose = cfg->verbose;
    self->log = cfg->log;
    self->log_arg = cfg->log_arg;
    fc_msg_set_str(self->res.id, sizeof self->res.id, self->id);
    fc_msg_set_str(self->res.channel, sizeof self->res.channel, self->channel);
    fc_msg_set_str(self->res.state, sizeof self->res.state, "idle");

    uint8_t stamp_pk[FC_PUBKEY_LEN];
    bool pinned = false;
    if (cfg->timestamp_pk) {
        pinned = true;
        memcpy(stamp_pk, cfg->timestamp_pk, FC_PUBKEY_LEN);
    } else if (!cfg->insecure && cfg->broker_key &&
               fc_curve_timestamp_pub(cfg->broker_key, stamp_pk) == 0) {
        /* The broker's public cert names the key its heartbeats are signed with: pinning
           the cert pins freshness too (a bare Z85 key carries no timestamp key). */
        pinned = true;
    }
    int e = FC_OK;
    self->trusted = fc_agent_trust_new(cfg->trust, cfg->trust_file, self->state_dir, self->verbose,
                                       s_engine_log, self, &e);
    if (self->trusted) {
        self->trust = fc_agent_trust_keys(self->trusted);
        self->res.trust_serial = fc_agent_trust_serial(self->trusted);
        self->inst =
            fc_install_new(cfg->install_dir, self->state_dir, self->trust, &e, msg, sizeof msg);
        if (!self->inst && msg[0])
            fc_agent_log(self, "%s", msg);
    }
    if (!self->inst) {
        if (err)
            *err = e ? e : FC_EIO;
        fc_agent_destroy(&self);
        return NULL;
    }
    fc_msg_set_str(self->res.version, sizeof self->res.version, fc_install_version(self->inst));
    fc_follower_config_t fcfg = {
        .channel = self->channel,
        .product = s_nonempty(cfg->product),
        .policy = cfg->policy,
        .window = cfg->window ? cfg->window : FC_AGENT_DEFAULT_WINDOW,
        .retry_interval = cfg->retry_interval > 0 ? cfg->retry_interval : 30,
        .hooks = {s_nonempty(cfg->exec_changing), s_nonempty(cfg->exec_changed),
                  s_nonempty(cfg->exec_health), self->hook_timeout},
        .verbose = self->verbose,
        .inst = self->inst,
        .trust = self->trust,
        .res = &self->res,
    };
    fc_follower_host_t host = {self,
                               s_follower_state,
                               s_follower_finish,
                               s_follower_finished,
                               s_follower_report,
                               s_follower_progress,
                               s_follower_service,
                               s_engine_log};
    self->follower = fc_follower_new(&fcfg, &host);
    if (!self->follower) {
        if (err)
            *err = FC_ENOMEM;
        fc_agent_destroy(&self);
        return NULL;
    }

    if (!cfg->insecure && (e = s_curve_setup(self, cfg)) != 0) {
        if (err)
            *err = e;
        fc_agent_destroy(&self);
        return NULL;
    }
    /* Sends never block the loop (requests are re-sent on deadlines and after a reconnect),
       and nothing piles up for a connection that is not up (ZMQ_IMMEDIATE, s_on_monitor).
       Control ids carry FC_FETCH_CTL_BIT; the fetcher's chunk ids do not. Made before the
       config part, which may ack a restart at once. */
    fc_requester_opts_t ropts = {.resend_ms = (int)(FC_AGENT_RESEND * 1000),
                                 .curve = self->curve,
                                 .immediate = true,
                                 .tag = FC_FETCH_CTL_BIT};
    self->req = fc_requester_new(self->broker, &ropts, &e);
    if (!self->req) {
        if (err)
            *err = e ? e : FC_EIO;
        fc_agent_destroy(&self);
        return NULL;
    }
    fc_session_config_t scfg = {
        .broker = self->broker,
        .channel = self->channel,
        .id = self->id,
        .req = self->req,
        .curve = self->curve,
        .trusted = self->trusted,
        .res = &self->res,
        .verbose = self->verbose,
        .timeout = self->timeout,
        .stamp_pk = pinned ? stamp_pk : NULL,
        .freeze_after = cfg->freeze_after > 0 ? cfg->freeze_after : FC_AGENT_FREEZE_AFTER,
        .objects = fc_install_objects(self->inst),
    };
    fc_session_host_t shost = {.ctx = self,
                               .log = s_engine_log,
                               .set_state = s_session_state,
                               .finish = s_follower_finish,
                               .finished = s_follower_finished,
                               .stopping = s_stopping,
                               .consider = s_session_consider,
                               .unread = s_session_unread,
                               .unread_done = s_session_unread_done,
                               .newest_serial = s_session_newest,
                               .staged = s_session_staged,
                               .resend_before = s_session_resend_before,
                               .config_sync = s_session_config_sync,
                               .config_announce = s_session_config_announce,
                               .trust_rotated = s_session_trust_rotated,
                               .fill_report = s_session_fill_report,
                               .installed = s_session_installed};
    self->session = fc_session_new(&scfg, &shost);
    if (!self->session) {
        if (err)
            *err = FC_ENOMEM;
        fc_agent_destroy(&self);
        return NULL;
    }
    fc_reconf_host_t rhost = {.ctx = self,
                              .log = s_engine_log,
                              .mode = s_reconf_mode,
                              .welcomed = s_reconf_welcomed,
                              .stopping = s_stopping,
                              .set_live = s_reconf_set_live,
                              .req = self->req,
                              .res = &self->res,
                              .id = self->id,
                              .state_dir = self->state_dir,
                              .keys = self->trust,
                              .verbose = self->verbose,
                              .timeout = self->timeout,
                              .hook_timeout = self->hook_timeout};
    self->reconf = fc_reconf_new(cfg, &rhost);
    if (!self->reconf) {
        if (err)
            *err = FC_ENOMEM;
        fc_agent_destroy(&self);
        return NULL;
    }
    return self;
}

void fc_agent_destroy(fc_agent_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fc_agent_t *self = *self_p;
    fc_agent_join(self);
    fc_follower_destroy(&self->follower);
    fc_session_destroy(&self->session);
    fc_requester_destroy(&self->req);
    fc_curve_destroy(&self->curve);
    fc_install_destroy(&self->inst);
    fc_reconf_destroy(&self->reconf);
    fc_agent_trust_destroy(&self->trusted);
    fc_status_file_destroy(&self->status_file);
    free(self->broker);
    free(self->channel);
    free(self->state_dir);
    free(self->id);
    free(self);
    *self_p = NULL;
}

int fc_agent_status_file(fc_agent_t *self, const char *path)
{
    fc_status_file_destroy(&self->status_file);
    self->status_file = fc_status_file_new(path);
    fc_agent_result_t r;
    fc_agent_status(self, &r);
    if (fc_status_file_update(self->status_file, &r, 0, 0, fc_now()) != 0) {
        int saved = errno;
        fc_status_file_destroy(&self->status_file);
        errno = saved;
        return -1;
    }
    return 0;
}

void fc_agent_sim_discard(fc_agent_t *self, bool on)
{
    fc_install_set_discard(self->inst, on);
}

void fc_agent_sim_tick(fc_agent_t *self, int ms)
{
    self->tick_ms = ms > 0 ? ms : 0;
}
