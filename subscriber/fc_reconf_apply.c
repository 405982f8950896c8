/* fc_reconf_apply.c: what the agent does with a complete batch of config revisions: the diff,
   the Changing phase (veto), the restart path, the Changed phase, config.json, and the acks.
   A private part of fc_reconf (the class, fc_reconf.c): the two call into each other through
   fc_reconf.h, and nothing else calls this file's functions. */
#include "fc_error.h"
#include "fc_file.h"
#include "fc_hook.h"
#include "fc_json.h"
#include "fc_reconf.h"
#include "fc_text.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------------- state and files */

void fc_reconf_set_cur(fc_reconf_t *self, fc_config_t **cfg_p, bool save)
{
    fc_config_t *old = self->cur;
    pthread_mutex_lock(&self->lock);
    self->cur = *cfg_p;
    pthread_mutex_unlock(&self->lock);
    *cfg_p = NULL;
    if (old != self->cur)
        fc_config_destroy(&old);
    self->host.res->config_rev = fc_config_last_rev(self->cur);
    if (save)
        fc_reconf_save(self, self->cur);
}

int fc_reconf_save(fc_reconf_t *self, const fc_config_t *cfg)
{
    int rc = 0;
    /* Who the revisions were folded for first, then the revisions: a crash in between leaves
       a who-file that matches and the previous revisions, which is still consistent. */
    if (!self->who_saved) {
        char who[2 * FC_MAX_NAME + 4];
        int n = snprintf(who, sizeof who, "%s\n%s\n", self->host.id, self->group);
        rc = fc_write_file_atomic(self->who_path, who, (size_t)n, 0644) == 0
                 ? 0
                 : fc_errno_to_error(errno);
        self->who_saved = rc == 0;
    }
    if (rc == 0)
        rc = fc_config_save(cfg, self->revs_path);
    if (rc != 0)
        fc_reconf_log(self, "cannot save config revisions to %s: %s (%s)", self->revs_path,
                      fc_strerror(rc), fc_error_name(rc));
    return rc;
}

/* Before the restart command: the new revisions are saved and a note says which revisions
   restart and why, so that if the command restarts this very process (an embedder, or an
   agent restarted with its application) the next start acks them instead of judging them
   again and restarting forever. */
static int s_pending_save(fc_reconf_t *self)
{
    int rc = fc_reconf_save(self, self->next);
    if (rc != 0)
        return rc;
    char note[FC_RECONF_MAX_BATCH * 24 + FC_MAX_TEXT + 8];
    size_t used = 0;
    for (size_t i = 0; i < self->nbatch; i++)
        used += (size_t)snprintf(note + used, sizeof note - used, "%s%llu", i ? " " : "",
                                 (unsigned long long)self->batch[i]);
    used += (size_t)snprintf(note + used, sizeof note - used, "\n%s\n", self->restart_why);
    if (used >= sizeof note)
        used = sizeof note - 1;
    return fc_write_file_atomic(self->pending_path, note, used, 0644) == 0
               ? 0
               : fc_errno_to_error(errno);
}

void fc_reconf_pending_load(fc_reconf_t *self)
{
    size_t len = 0;
    char *note =
        (char *)fc_read_file(self->pending_path, FC_RECONF_MAX_BATCH * 24 + FC_MAX_TEXT + 8, &len);
    if (!note)
        return;
    char *why = strchr(note, '\n');
    if (why) {
        *why++ = '\0';
        why[strcspn(why, "\n")] = '\0';
        uint64_t have = fc_config_last_rev(self->cur);
        /* Only if the revisions it names are the ones in force (saved before the command). */
        char *save = NULL;
        for (char *tok = strtok_r(note, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
            unsigned long long rev = strtoull(tok, NULL, 10);
            if (rev && rev <= have)
                fc_reconf_ack(self, rev, FC_ACK_RESTARTED, "%s", why);
        }
        fc_msg_set_str(self->host.res->config_state, sizeof self->host.res->config_state,
                       fc_ack_name(FC_ACK_RESTARTED));
    }
    free(note);
    unlink(self->pending_path);
}

int fc_reconf_write_json(fc_reconf_t *self, const fc_config_t *cfg)
{
    fc_json_t *j = fc_json_new();
    fc_config_to_json(cfg, j);
    const char *text = fc_json_text(j);
    size_t len = strlen(text);
    /* One line, newline-terminated, so `cat` and line-oriented tools read it whole. */
    char *buf = (char *)malloc(len + 2);
    int rc = FC_ENOMEM;
    if (buf) {
        memcpy(buf, text, len);
        buf[len] = '\n';
        rc = fc_write_file_atomic(self->json_path, buf, len + 1, 0644) == 0
                 ? 0
                 : fc_errno_to_error(errno);
        free(buf);
    }
    fc_json_destroy(&j);
    return rc;
}

/* ---------------------------------------------------------------- helpers */

/* The application finds a config.json once the broker has answered, even if nothing could
   be applied yet (then it holds the config in force: maybe just {"_rev": 0}). */
static void s_ensure_json(fc_reconf_t *self)
{
    if (access(self->json_path, F_OK) != 0)
        fc_reconf_write_json(self, self->cur);
}

/* Acks every revision of the batch that concerns this agent with the same outcome. */
static void s_ack_batch(fc_reconf_t *self, fc_ack_t ack, const char *text)
{
    for (size_t i = 0; i < self->nbatch; i++)
        fc_reconf_ack(self, self->batch[i], ack, "%s", text);
    const char *state = fc_ack_name(ack);
    fc_msg_set_str(self->host.res->config_state, sizeof self->host.res->config_state, state);
    if (fc_reconf_loud(self) && self->nbatch)
        fc_reconf_log(self, "config rev %llu: %s%s%s",
                      (unsigned long long)self->batch[self->nbatch - 1], state, text[0] ? ": " : "",
                      text);
    if (fc_reconf_mode(self) != FC_AGENT_DAEMON && ack == FC_ACK_FAILED) {
        self->once_error = true;
        self->once_err = FC_EREFUSED;
        snprintf(self->once_msg, sizeof self->once_msg, "%s", text);
    }
}

/* The newest revision of the batch that concerns this agent (what a restart slot is for). */
static uint64_t s_batch_rev(fc_reconf_t *self)
{
    return self->nbatch ? self->batch[self->nbatch - 1] : fc_config_last_rev(self->next);
}

/* The keys of a diff, "a, b, c" (shortened), for log lines and ack texts. */
static void s_keys(char *buf, size_t size, const fc_diff_entry_t *d, size_t n)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && used + 1 < size; i++) {
        int w = snprintf(buf + used, size - used, "%s%s", i ? ", " : "", d[i].key);
        if (w < 0 || (size_t)w >= size - used) {
            snprintf(buf + (size > 5 ? size - 5 : 0), size > 5 ? 5 : size, "...");
            return;
        }
        used += (size_t)w;
    }
}

static char *s_diff_json(const fc_diff_entry_t *d, size_t n, uint64_t rev)
{
    fc_json_t *j = fc_json_new();
    fc_config_diff_json(d, n, rev, j);
    char *text = strdup(fc_json_text(j));
    fc_json_destroy(&j);
    return text;
}

/* Runs a config hook with the diff on stdin, for at most --hook-timeout. Returns its status as
   fc_hook_run_timed does. */
static int s_run(fc_reconf_t *self, const char *cmd, const char *phase, const char *json,
                 uint64_t rev)
{
    char revtext[32];
    snprintf(revtext, sizeof revtext, "%llu", (unsigned long long)rev);
    fc_hook_env_t env[] = {{"FLEETCAST_CONFIG_PHASE", phase},
                           {"FLEETCAST_CONFIG_REV", revtext},
                           {"FLEETCAST_CONFIG_FILE", self->json_path},
                           {"FLEETCAST_AGENT_ID", self->host.id},
                           {"FLEETCAST_GROUP", self->group}};
    return fc_hook_run_timed(cmd, NULL, env, sizeof env / sizeof env[0], json,
                             json ? strlen(json) : 0, self->host.hook_timeout);
}

/* "exit 3", "killed by signal 9", "timed out after 600 s", ... */
static const char *s_status(const fc_reconf_t *self, char *buf, size_t size, int rc)
{
    return fc_hook_status(buf, size, rc, self->host.hook_timeout);
}

/* ---------------------------------------------------------------- the phases */

/* Changing: the in-process handler, then the command; the first veto wins. Writes why into
   why (empty: accepted). */
static void s_changing(fc_reconf_t *self, const fc_diff_entry_t *d, size_t n, const char *json,
                       char *why, size_t size)
{
    why[0] = '\0';
    if (self->changing_fn && !self->changing_fn(d, n, self->changing_arg)) {
        snprintf(why, size, "vetoed by the in-process changing handler");
        return;
    }
    if (self->changing) {
        int rc = s_run(self, self->changing, "changing", json, fc_config_last_rev(self->next));
        char st[48];
        if (rc != 0)
            snprintf(why, size, "vetoed by changing handler (%s)",
                     s_status(self, st, sizeof st, rc));
    }
}

/* Changed: the new config is in force while the handlers run (getters see it); if one fails,
   the old one is put back, and an in-process handler that had accepted gets the reverse
   diff to undo what it did. */
static void s_changed(fc_reconf_t *self, fc_diff_entry_t *d, size_t n, const char *json)
{
    fc_config_t *old = self->cur, *neu = self->next;
    self->next = NULL;
    pthread_mutex_lock(&self->lock);
    self->cur = neu;
    pthread_mutex_unlock(&self->lock);
    uint64_t rev = fc_config_last_rev(neu);

    char why[FC_MAX_TEXT + 1] = "", st[48];
    bool callback_applied = false;
    int rc = 0;
    if (self->changed_fn) {
        rc = self->changed_fn(d, n, self->changed_arg);
        if (rc != 0)
            snprintf(why, sizeof why, "in-process changed handler returned %d", rc);
        else
            callback_applied = true;
    }
    if (rc == 0 && self->changed) {
        rc = s_run(self, self->changed, "changed", json, rev);
        if (rc != 0)
            snprintf(why, sizeof why, "changed handler failed (%s)",
                     s_status(self, st, sizeof st, rc));
    }
    if (rc == 0) {
        rc = fc_reconf_write_json(self, neu);
        if (rc != 0)
            snprintf(why, sizeof why, "cannot write %s: %s (%s)", self->json_path, fc_strerror(rc),
                     fc_error_name(rc));
    }
    if (rc == 0) {
        char keys[FC_MAX_TEXT / 2];
        s_keys(keys, sizeof keys, d, n); /* d borrows from old: before it goes */
        fc_config_destroy(&self->held);
        fc_config_destroy(&old);
        fc_config_t *cfg = neu;
        fc_reconf_set_cur(self, &cfg, true); /* in force already: records and saves it */
        s_ack_batch(self, FC_ACK_APPLIED, keys);
        return;
    }
    pthread_mutex_lock(&self->lock);
    self->cur = old;
    pthread_mutex_unlock(&self->lock);
    if (callback_applied) {
        for (size_t i = 0; i < n; i++) {
            const fc_value_t *v = d[i].old_value;
            d[i].old_value = d[i].new_value;
            d[i].new_value = v;
        }
        self->changed_fn(d, n, self->changed_arg);
    }
    fc_config_destroy(&self->held);
    self->held = neu; /* not judged again until a newer revision comes */
    char text[FC_MAX_TEXT + 1];
    fc_textf(text, sizeof text, "%s; previous config (rev %llu) stays in force", why, /* may cut */
             (unsigned long long)fc_config_last_rev(old));
    s_ensure_json(self);
    s_ack_batch(self, FC_ACK_FAILED, text);
}

void fc_reconf_judge(fc_reconf_t *self, double now)
{
    size_t n = 0;
    fc_diff_entry_t *d = fc_config_diff(self->cur, self->next, &n);
    if (!d || n == 0) {
        /* Not ours to act on: no handler runs, and the application sees no event. */
        free(d);
        fc_config_destroy(&self->held);
        bool save = self->nbatch > 0;
        fc_reconf_set_cur(self, &self->next, save);
        s_ensure_json(self);
        if (self->nbatch)
            s_ack_batch(self, FC_ACK_UNCHANGED, "");
        return;
    }
    uint64_t rev = fc_config_last_rev(self->next);
    char *json = s_diff_json(d, n, rev);
    char why[FC_MAX_TEXT + 1];
    s_changing(self, d, n, json, why, sizeof why);
    bool vetoed = why[0] != '\0';
    for (size_t i = 0; i < n && !why[0]; i++)
        if (d[i].restart_only)
            snprintf(why, sizeof why, "key %s needs a restart", d[i].key);
    if (!why[0])
        s_changed(self, d, n, json);
    else if (!self->restart) {
        fc_config_destroy(&self->held);
        self->held = self->next;
        self->next = NULL;
        char text[FC_MAX_TEXT + 1];
        fc_textf(text, sizeof text, "%s; no --exec-restart: old values stay in force",
                 why); /* may cut */
        s_ensure_json(self);
        /* Nothing restarts: a veto is reported as such (a canary counts it as a failure),
           a restart-only key as waiting for someone to restart the application. */
        s_ack_batch(self, vetoed ? FC_ACK_VETOED : FC_ACK_RESTART_REQUIRED, text);
    } else {
        /* The restart path waits for a slot: the broker staggers restarts across the fleet. */
        self->slot_wait = true;
        fc_reconf_slot_forget(self);
        self->slot_rev = s_batch_rev(self);
        self->slot_retry = now;
        fc_textf(self->restart_why, sizeof self->restart_why, "%s: restarted", why); /* may cut */
        if (fc_reconf_loud(self))
            fc_reconf_log(self, "config rev %llu: %s; waiting for a restart slot",
                          (unsigned long long)rev, why);
    }
    free(json);
    free(d);
}

void fc_reconf_restart(fc_reconf_t *self)
{
    self->slot_wait = false;
    if (!self->next)
        return;
    size_t n = 0;
    fc_diff_entry_t *d = fc_config_diff(self->cur, self->next, &n);
    char *json = s_diff_json(d, n, fc_config_last_rev(self->next));
    char text[FC_MAX_TEXT + 1], st[48];
    int rc = fc_reconf_write_json(self, self->next);
    if (rc == 0)
        rc = s_pending_save(self);
    if (rc != 0) {
        fc_reconf_write_json(self, self->cur);
        fc_reconf_save(self, self->cur);
        snprintf(text, sizeof text, "cannot write the new config in %s: %s (%s); not restarted",
                 self->host.state_dir, fc_strerror(rc), fc_error_name(rc));
    } else {
        rc = s_run(self, self->restart, "restart", json, fc_config_last_rev(self->next));
        if (rc != 0) {
            /* The application keeps (or comes back with) what it had. */
            fc_reconf_write_json(self, self->cur);
            fc_reconf_save(self, self->cur);
            snprintf(text, sizeof text, "restart command failed (%s); previous config restored",
                     s_status(self, st, sizeof st, rc));
        }
    }
    unlink(self->pending_path);
    free(json);
    free(d);
    if (rc != 0) {
        fc_config_destroy(&self->held);
        self->held = self->next;
        self->next = NULL;
        s_ack_batch(self, FC_ACK_FAILED, text);
        return;
    }
    fc_config_destroy(&self->held);
    fc_reconf_set_cur(self, &self->next, false); /* saved before the command */
    s_ack_batch(self, FC_ACK_RESTARTED, self->restart_why);
}
