/* fc_progress.h: a one-line progress bar on a terminal, silent when output is not a tty. */
#ifndef FC_PROGRESS_H
#define FC_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef struct fc_progress_t fc_progress_t;

/* Draws on stream only if it is a terminal and enabled; label is copied. */
fc_progress_t *fc_progress_new(FILE *stream, const char *label, uint64_t total, bool enabled);
/* Redraws at most ten times a second. */
void fc_progress_update(fc_progress_t *self, uint64_t done);
/* Draws the final state, ends the line, frees; safe on NULL. */
void fc_progress_destroy(fc_progress_t **self_p);

#endif
