/* fc_agent_embed.c: libfleetcast for programs that embed the agent: config callbacks, typed
   getters of the config in force, and running the engine as an actor on its own thread.
   A private part of fc_agent (the engine, fc_agent.c), sharing fc_agent_priv.h. */
#include "fc_agent_priv.h"
#include "fc_reconf.h"

#include <string.h>

void fc_agent_on_config_changing(fc_agent_t *self, fc_agent_changing_fn *fn, void *arg)
{
    self->reconf->changing_fn = fn;
    self->reconf->changing_arg = arg;
}

void fc_agent_on_config_changed(fc_agent_t *self, fc_agent_changed_fn *fn, void *arg)
{
    self->reconf->changed_fn = fn;
    self->reconf->changed_arg = arg;
}

/* ---------------------------------------------------------------- getters */

/* A copy of the value in force (the engine thread replaces cur under the lock, so it is
   read under it). true if the key is set; free the copy with fc_value_free. */
static bool s_get(fc_agent_t *self, const char *key, fc_value_t *copy)
{
    memset(copy, 0, sizeof *copy);
    if (!key)
        return false;
    pthread_mutex_lock(&self->reconf->lock);
    const fc_value_t *v = fc_config_get(self->reconf->cur, key);
    bool ok = v && fc_value_copy(copy, v) == 0;
    pthread_mutex_unlock(&self->reconf->lock);
    return ok;
}

int64_t fc_agent_config_int(fc_agent_t *self, const char *key, int64_t dflt)
{
    fc_value_t v;
    int64_t out = dflt;
    if (s_get(self, key, &v) && fc_value_get_int(&v, &out) != 0)
        out = dflt;
    fc_value_free(&v);
    return out;
}

char *fc_agent_config_str(fc_agent_t *self, const char *key, const char *dflt)
{
    fc_value_t v;
    char *out = NULL;
    if (s_get(self, key, &v) && fc_value_get_str(&v, &out) != 0)
        out = NULL;
    fc_value_free(&v);
    if (!out && dflt)
        out = strdup(dflt);
    return out;
}

bool fc_agent_config_bool(fc_agent_t *self, const char *key, bool dflt)
{
    fc_value_t v;
    bool out = dflt;
    if (s_get(self, key, &v) && fc_value_get_bool(&v, &out) != 0)
        out = dflt;
    fc_value_free(&v);
    return out;
}

double fc_agent_config_double(fc_agent_t *self, const char *key, double dflt)
{
    fc_value_t v;
    double out = dflt;
    if (s_get(self, key, &v) && fc_value_get_double(&v, &out) != 0)
        out = dflt;
    fc_value_free(&v);
    return out;
}

uint64_t fc_agent_config_rev(fc_agent_t *self)
{
    pthread_mutex_lock(&self->reconf->lock);
    uint64_t rev = fc_config_last_rev(self->reconf->cur);
    pthread_mutex_unlock(&self->reconf->lock);
    return rev;
}

char *fc_agent_config_json(fc_agent_t *self)
{
    fc_json_t *j = fc_json_new();
    pthread_mutex_lock(&self->reconf->lock);
    fc_config_to_json(self->reconf->cur, j);
    pthread_mutex_unlock(&self->reconf->lock);
    char *text = strdup(fc_json_text(j));
    fc_json_destroy(&j);
    return text;
}

/* ---------------------------------------------------------------- engine actor */

int fc_agent_start(fc_agent_t *self)
{
    if (!self || self->actor)
        return -1;
    if (pthread_mutex_init(&self->actor_lock, NULL) != 0)
        return -1;
    if (pthread_cond_init(&self->actor_ended, NULL) != 0) {
        pthread_mutex_destroy(&self->actor_lock);
        return -1;
    }
    self->actor_done = false;
    /* Returns once the actor has signalled that it started (fc_agent_actor). */
    self->actor = zactor_new(fc_agent_actor, self);
    if (!self->actor) {
        pthread_cond_destroy(&self->actor_ended);
        pthread_mutex_destroy(&self->actor_lock);
        return -1;
    }
    return 0;
}

void fc_agent_join(fc_agent_t *self)
{
    if (!self || !self->actor)
        return;
    /* "$TERM", and a wait for the actor's end (at once if it ended by itself: a stop, an
       interrupt). That wait returns early if a signal interrupts it (a second Ctrl-C while
       the program stops), so the end is also waited for here, where a signal cannot cut it
       short: the engine is freed only once its thread is done with it. The stop flag goes
       first: zactor_destroy sends "$TERM" without blocking and gives up if that send is
       interrupted, and the engine, never told, would then run on while this waits for it
       (unit.fc_agent hung so under ThreadSanitizer, whose signal delivery widens that
       window); the loop checks the flag every tick. */
    fc_agent_stop(self);
    zactor_destroy(&self->actor);
    pthread_mutex_lock(&self->actor_lock);
    while (!self->actor_done)
        pthread_cond_wait(&self->actor_ended, &self->actor_lock);
    pthread_mutex_unlock(&self->actor_lock);
    pthread_cond_destroy(&self->actor_ended);
    pthread_mutex_destroy(&self->actor_lock);
}
