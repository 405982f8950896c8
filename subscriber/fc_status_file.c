/* fc_status_file.c: the agent's status as a JSON file for node-level tools, rewritten
   atomically when the state changes and at most once a second while only progress moves. */
#include "fc_status_file.h"
#include "fc_error.h"
#include "fc_file.h"
#include "fc_json.h"

#include <czmq.h>
#include <errno.h>
#include <time.h>

struct fc_status_file_t {
    char *path;
    char *written; /* the last document written, "updated" aside: what a change is judged by */
    uint64_t written_done;
    double written_at;
    bool have_error; /* the last error, kept across later states */
    int error;
    char error_state[FC_MAX_NAME + 1];
    char error_message[FC_MAX_TEXT + 1];
    int64_t error_time;
};

fc_status_file_t *fc_status_file_new(const char *path)
{
    fc_status_file_t *self = zmalloc(sizeof *self);
    self->path = strdup(path);
    return self;
}

void fc_status_file_destroy(fc_status_file_t **self_p)
{
    fc_status_file_t *self = *self_p;
    if (!self)
        return;
    free(self->path);
    free(self->written);
    free(self);
    *self_p = NULL;
}

/* Remembers r's failure, if it is one, as the last error. By its state: a daemon's
   r->error stays set after it recovers, so it names the failure but does not make one. */
static void s_note_error(fc_status_file_t *self, const fc_agent_result_t *r)
{
    /* rolled-back: a health check failed and the agent swapped back (release rollouts). */
    if (!streq(r->state, "failed") && !streq(r->state, "rejected") &&
        !streq(r->state, "rolled-back"))
        return;
    if (self->have_error && self->error == r->error && streq(self->error_state, r->state) &&
        streq(self->error_message, r->message))
        return; /* the same error still: it keeps its time */
    self->have_error = true;
    self->error = r->error;
    snprintf(self->error_state, sizeof self->error_state, "%s", r->state);
    snprintf(self->error_message, sizeof self->error_message, "%s", r->message);
    self->error_time = (int64_t)time(NULL);
}

/* The document; with_time adds "updated" (left out when judging a change). */
static char *s_json(fc_status_file_t *self, const fc_agent_result_t *r, uint64_t done,
                    uint64_t total, bool with_time)
{
    fc_json_t *j = fc_json_new();
    fc_json_open(j);
    fc_json_key_str(j, "id", r->id);
    fc_json_key_str(j, "channel", r->channel);
    fc_json_key_str(j, "state", r->state);
    fc_json_key_str(j, "message", r->message);
    fc_json_key_str(j, "version", r->version);
    fc_json_key_str(j, "available_version", r->available_version);
    fc_json_key(j, "progress");
    fc_json_open(j);
    fc_json_key_uint(j, "done", done);
    fc_json_key_uint(j, "total", total);
    fc_json_key_double(j, "fraction", total ? (double)done / (double)total : 0.0);
    fc_json_close(j);
    fc_json_key(j, "last_error");
    if (self->have_error) {
        fc_json_open(j);
        fc_json_key_str(j, "state", self->error_state);
        fc_json_key_str(j, "error", self->error ? fc_error_name(self->error) : "");
        fc_json_key_str(j, "message", self->error_message);
        fc_json_key_int(j, "time", self->error_time);
        fc_json_close(j);
    } else
        fc_json_null(j);
    fc_json_key_uint(j, "config_rev", r->config_rev);
    fc_json_key_str(j, "config_state", r->config_state);
    fc_json_key_bool(j, "stale", r->stale);
    if (with_time)
        fc_json_key_int(j, "updated", (int64_t)time(NULL));
    fc_json_close(j);
    char *text = strdup(fc_json_text(j));
    fc_json_destroy(&j);
    return text;
}

int fc_status_file_update(fc_status_file_t *self, const fc_agent_result_t *r, uint64_t done,
                          uint64_t total, double now)
{
    s_note_error(self, r);
    /* Judged without the progress: a moving download alone waits for the interval. */
    char *shape = s_json(self, r, 0, total, false);
    if (!shape) {
        errno = ENOMEM;
        return -1;
    }
    bool changed = !self->written || !streq(shape, self->written);
    bool moved = done != self->written_done && now - self->written_at >= FC_STATUS_FILE_PROGRESS_S;
    if (!changed && !moved) {
        free(shape);
        return 0;
    }
    char *doc = s_json(self, r, done, total, true);
    int rc = doc ? fc_write_file_atomic(self->path, doc, strlen(doc), 0644) : -1;
    free(doc);
    if (rc != 0) {
        free(shape);
        return -1; /* judged again next time */
    }
    free(self->written);
    self->written = shape;
    self->written_done = done;
    self->written_at = now;
    return 0;
}
