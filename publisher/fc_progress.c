/* fc_progress.c: a one-line progress bar on a terminal, silent when output is not a tty. */
#include "fc_progress.h"
#include "fc_clock.h"
#include "fc_text.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct fc_progress_t {
    FILE *stream;
    char label[32];
    uint64_t total;
    uint64_t done;
    double started;
    double drawn;
    bool enabled;
};

fc_progress_t *fc_progress_new(FILE *stream, const char *label, uint64_t total, bool enabled)
{
    fc_progress_t *self = (fc_progress_t *)calloc(1, sizeof(fc_progress_t));
    if (!self)
        return NULL;
    self->stream = stream;
    snprintf(self->label, sizeof self->label, "%s", label);
    self->total = total;
    self->started = fc_now();
    self->enabled = enabled && isatty(fileno(stream));
    return self;
}

static void s_draw(fc_progress_t *self)
{
    const int width = 30;
    double frac = self->total ? (double)self->done / (double)self->total : 1.0;
    if (frac > 1)
        frac = 1;
    char bar[width + 1];
    int filled = (int)(frac * width);
    memset(bar, '#', (size_t)filled);
    memset(bar + filled, '.', (size_t)(width - filled));
    bar[width] = 0;
    double secs = fc_now() - self->started;
    char done[32], rate[32];
    fc_format_bytes(done, sizeof done, self->done);
    fc_format_bytes(rate, sizeof rate, secs > 0 ? (uint64_t)(self->done / secs) : 0);
    fprintf(self->stream, "\r%-10s [%s] %3d%% %s (%s/s)   ", self->label, bar, (int)(frac * 100),
            done, rate);
    fflush(self->stream);
    self->drawn = fc_now();
}

void fc_progress_update(fc_progress_t *self, uint64_t done)
{
    if (!self)
        return;
    self->done = done;
    if (self->enabled && fc_now() - self->drawn >= 0.1)
        s_draw(self);
}

void fc_progress_destroy(fc_progress_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fc_progress_t *self = *self_p;
    if (self->enabled) {
        s_draw(self);
        fputc('\n', self->stream);
    }
    free(self);
    *self_p = NULL;
}
