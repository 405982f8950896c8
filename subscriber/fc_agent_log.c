/* fc_agent_log.c: one formatted line to an engine class's log callback. */
#include "fc_agent_log.h"
#include "fc_limits.h"

#include <stdarg.h>
#include <stdio.h>

void fc_agent_logf(fc_agent_log_fn *log, void *arg, const char *fmt, ...)
{
    if (!log)
        return;
    char line[FC_MAX_TEXT + 64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    log(line, arg);
}
