/* fc_agent_log.h: one formatted line to an engine class's log callback. */
#ifndef FC_AGENT_LOG_H
#define FC_AGENT_LOG_H

#include "fc_agent.h"

/* Formats the line (cut at FC_MAX_TEXT + 63 bytes) and hands it to log with arg; nothing
   when log is NULL. */
void fc_agent_logf(fc_agent_log_fn *log, void *arg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
