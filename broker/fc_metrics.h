/* fc_metrics.h: the broker's metrics in the Prometheus text exposition format (0.0.4), from a
   fleet view, the counters beside it and the process's own figures. */
#ifndef FC_METRICS_H
#define FC_METRICS_H

#include "fc_view.h"
#include <stddef.h>

#define FC_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* The process's CPU time and memory (from /proc/self): a process_* family each. */
typedef struct {
    double cpu_seconds;
    uint64_t resident_bytes;
    uint64_t virtual_bytes;
    double start_time_seconds; /* unix time */
    uint64_t open_fds;
} fc_metrics_process_t;

/* This process's figures; false if /proc cannot be read (the families are then left out). */
bool fc_metrics_process(fc_metrics_process_t *out);

/* Renders every family: view may be NULL (no view built yet: the fleet families are
   empty), process may be NULL (left out). Returns a malloc'd text (the caller's to free)
   and its length in *len, or NULL if out of memory. */
char *fc_metrics_render(const fc_view_t *view, const fc_view_counters_t *counters,
                        const fc_metrics_process_t *process, size_t *len);

void fc_metrics_test(bool verbose);

#endif
