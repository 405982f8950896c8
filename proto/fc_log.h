/* fc_log.h: the one log format of the daemons (broker, agent): RFC 3339 UTC time with
   milliseconds, level, program, message; or one JSON object a line; or, when stderr is
   the journal ($JOURNAL_STREAM names it), the syslog priority prefix "<6>" instead of
   the time (journald stamps lines itself). CZMQ's own zsys_* lines (the broker's and
   zauth's) are re-cut into the same format through fc_log_zsys_stream. */
#ifndef FC_LOG_H
#define FC_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* syslog priorities, so the journal prefix is the level itself. */
typedef enum {
    FC_LOG_ERROR = 3,
    FC_LOG_WARNING = 4,
    FC_LOG_NOTICE = 5,
    FC_LOG_INFO = 6,
    FC_LOG_DEBUG = 7,
} fc_log_level_t;

typedef enum { FC_LOG_TEXT = 0, FC_LOG_JSON } fc_log_format_t;

/* The process's logger (one per process, like stderr itself, hence process-wide state):
   lines for program (copied, cut at 63 bytes) at level and above, in format, to out (NULL:
   stderr). Journal mode is decided here, from $JOURNAL_STREAM and out's device and inode.
   Call again to change any of it (SIGHUP). */
void fc_log_setup(const char *program, fc_log_level_t level, fc_log_format_t format, FILE *out);
/* One line at level (dropped below the set level). A message's newlines become spaces. */
void fc_log(fc_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Whether a line at level would be written. */
bool fc_log_enabled(fc_log_level_t level);
/* A stream for zsys_set_logstream: each "X: yy-mm-dd hh:mm:ss text" line CZMQ writes is
   logged at X's level (E, W, N, I, D) with its text, a leading "PROGRAM: " dropped.
   NULL if the stream cannot be made. Owned by the logger: never close it. */
FILE *fc_log_zsys_stream(void);

/* A program's say over CZMQ's lines before they are written: text (the line without its
   CZMQ prefix, at most size bytes with the NUL) and *level may be rewritten; false drops the
   line. Called on the thread that logged (any), so it must be thread-safe. */
typedef bool(fc_log_zsys_filter_fn)(fc_log_level_t *level, char *text, size_t size, void *arg);
/* Installs filter (NULL: none) with arg for the lines of fc_log_zsys_stream. */
void fc_log_zsys_filter(fc_log_zsys_filter_fn *filter, void *arg);

/* "error", "warning", "notice", "info", "debug": 0 and *level set, or -1. */
int fc_log_level_parse(const char *text, fc_log_level_t *level);
/* "text", "json": 0 and *format set, or -1. */
int fc_log_format_parse(const char *text, fc_log_format_t *format);
const char *fc_log_level_name(fc_log_level_t level);
/* The values of --log-level and --log-format, refused as every option value is
   (fc_optval_refuse: the option and the value named in msg): 0, or FC_EINVAL. */
int fc_log_optval_level(const char *text, fc_log_level_t *level, char *msg, size_t msgsize);
int fc_log_optval_format(const char *text, fc_log_format_t *format, char *msg, size_t msgsize);

/* Formats one line as the logger would (for the self-test and the logger itself): at unix
   time ms, into buf (no newline). journal: the prefix form. */
void fc_log_format_line(char *buf, size_t size, long long ms, fc_log_level_t level,
                        fc_log_format_t format, bool journal, const char *program,
                        const char *message);

void fc_log_test(bool verbose);

#endif
