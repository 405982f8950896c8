/* fc_view_hub.c: where the broker's thread leaves the latest fleet view and counters for the
   HTTP thread to read. One mutex guards a pointer, a counter copy and the views' reference
   counts: the broker holds it for a swap or a memcpy, never while building or rendering. */
#include "fc_view_hub.h"

#include <czmq.h>
#include <errno.h>
#include <pthread.h>
#include <time.h>

struct fc_view_hub_t {
    pthread_mutex_t lock;
    pthread_cond_t changed; /* a new view, or stopping */
    fc_view_t *view;        /* current; NULL before the first publish */
    uint64_t generation;
    fc_view_counters_t counters;
    bool stopping;
};

fc_view_hub_t *fc_view_hub_new(void)
{
    fc_view_hub_t *self = zmalloc(sizeof *self);
    pthread_mutex_init(&self->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    /* Waits measured on the monotonic clock: a wall-clock step must not stall a stream. */
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&self->changed, &attr);
    pthread_condattr_destroy(&attr);
    return self;
}

void fc_view_hub_destroy(fc_view_hub_t **self_p)
{
    fc_view_hub_t *self = *self_p;
    if (!self)
        return;
    fc_view_destroy(&self->view);
    pthread_cond_destroy(&self->changed);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

/* Drops one reference; the caller holds the lock. The view to free, if it was the last. */
static fc_view_t *s_unref(fc_view_t *view)
{
    return view && --view->refs == 0 ? view : NULL;
}

void fc_view_hub_publish(fc_view_hub_t *self, fc_view_t **view_p)
{
    fc_view_t *view = *view_p;
    *view_p = NULL;
    view->refs = 1; /* the hub's own */
    pthread_mutex_lock(&self->lock);
    fc_view_t *old = s_unref(self->view);
    self->view = view;
    self->generation++;
    pthread_cond_broadcast(&self->changed);
    pthread_mutex_unlock(&self->lock);
    fc_view_destroy(&old); /* outside the lock: freeing a large view takes a while */
}

void fc_view_hub_counters(fc_view_hub_t *self, const fc_view_counters_t *counters)
{
    pthread_mutex_lock(&self->lock);
    self->counters = *counters;
    pthread_mutex_unlock(&self->lock);
}

const fc_view_t *fc_view_hub_acquire(fc_view_hub_t *self, fc_view_counters_t *counters,
                                     uint64_t *generation)
{
    pthread_mutex_lock(&self->lock);
    fc_view_t *view = self->view;
    if (view)
        view->refs++;
    if (counters)
        *counters = self->counters;
    if (generation)
        *generation = self->generation;
    pthread_mutex_unlock(&self->lock);
    return view;
}

void fc_view_hub_release(fc_view_hub_t *self, const fc_view_t **view_p)
{
    if (!*view_p)
        return;
    pthread_mutex_lock(&self->lock);
    fc_view_t *gone = s_unref((fc_view_t *)*view_p);
    pthread_mutex_unlock(&self->lock);
    fc_view_destroy(&gone);
    *view_p = NULL;
}

bool fc_view_hub_wait(fc_view_hub_t *self, uint64_t generation, int timeout_ms)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&self->lock);
    int rc = 0;
    while (!self->stopping && self->generation <= generation && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&self->changed, &self->lock, &until);
    bool newer = !self->stopping && self->generation > generation;
    pthread_mutex_unlock(&self->lock);
    return newer;
}

void fc_view_hub_stop(fc_view_hub_t *self)
{
    pthread_mutex_lock(&self->lock);
    self->stopping = true;
    pthread_cond_broadcast(&self->changed);
    pthread_mutex_unlock(&self->lock);
}

bool fc_view_hub_stopping(fc_view_hub_t *self)
{
    pthread_mutex_lock(&self->lock);
    bool stopping = self->stopping;
    pthread_mutex_unlock(&self->lock);
    return stopping;
}
