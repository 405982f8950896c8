/* fc_log.c: the daemons' one log format (fc_log.h). */
#define _GNU_SOURCE /* fopencookie */
#include "fc_log.h"
#include "fc_optval.h"
#include "fc_test_check.h"

#include <czmq.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define S_MAX_LINE 4096

/* The process's logger: set up by main (again on SIGHUP), read by every thread, all under
   s_lock, which also keeps lines whole. */
static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    char program[64];
    fc_log_level_t level;
    fc_log_format_t format;
    bool journal;
    FILE *out;
    FILE *zsys; /* fc_log_zsys_stream */
    fc_log_zsys_filter_fn *filter;
    void *filter_arg;
} s_log = {"fleetcast", FC_LOG_INFO, FC_LOG_TEXT, false, NULL, NULL, NULL, NULL};

void fc_log_zsys_filter(fc_log_zsys_filter_fn *filter, void *arg)
{
    pthread_mutex_lock(&s_lock);
    s_log.filter_arg = arg;
    s_log.filter = filter;
    pthread_mutex_unlock(&s_lock);
}

static const char *s_names[] = {[FC_LOG_ERROR] = "error",
                                [FC_LOG_WARNING] = "warning",
                                [FC_LOG_NOTICE] = "notice",
                                [FC_LOG_INFO] = "info",
                                [FC_LOG_DEBUG] = "debug"};

const char *fc_log_level_name(fc_log_level_t level)
{
    return level >= FC_LOG_ERROR && level <= FC_LOG_DEBUG ? s_names[level] : "info";
}

int fc_log_level_parse(const char *text, fc_log_level_t *level)
{
    for (int l = FC_LOG_ERROR; text && l <= FC_LOG_DEBUG; l++)
        if (streq(text, s_names[l])) {
            *level = (fc_log_level_t)l;
            return 0;
        }
    return -1;
}

int fc_log_format_parse(const char *text, fc_log_format_t *format)
{
    if (text && streq(text, "text"))
        *format = FC_LOG_TEXT;
    else if (text && streq(text, "json"))
        *format = FC_LOG_JSON;
    else
        return -1;
    return 0;
}

int fc_log_optval_level(const char *text, fc_log_level_t *level, char *msg, size_t msgsize)
{
    if (fc_log_level_parse(text, level) == 0)
        return 0;
    return fc_optval_refuse("--log-level", "one of error, warning, notice, info, debug", text, msg,
                            msgsize);
}

int fc_log_optval_format(const char *text, fc_log_format_t *format, char *msg, size_t msgsize)
{
    if (fc_log_format_parse(text, format) == 0)
        return 0;
    return fc_optval_refuse("--log-format", "text or json", text, msg, msgsize);
}

/* stderr is the journal when $JOURNAL_STREAM ("DEV:INODE") names the file out is. */
static bool s_is_journal(FILE *out)
{
    const char *js = getenv("JOURNAL_STREAM");
    unsigned long long dev = 0, ino = 0;
    struct stat st;
    if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(fileno(out), &st) != 0)
        return false;
    return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void fc_log_setup(const char *program, fc_log_level_t level, fc_log_format_t format, FILE *out)
{
    bool journal = s_is_journal(out ? out : stderr);
    pthread_mutex_lock(&s_lock);
    snprintf(s_log.program, sizeof s_log.program, "%s", program ? program : "fleetcast");
    s_log.level = level;
    s_log.format = format;
    s_log.out = out;
    s_log.journal = journal;
    pthread_mutex_unlock(&s_lock);
}

bool fc_log_enabled(fc_log_level_t level)
{
    pthread_mutex_lock(&s_lock);
    bool on = level <= s_log.level;
    pthread_mutex_unlock(&s_lock);
    return on;
}

/* Appends text to buf at *len as a JSON string body (quotes not included). */
static void s_json_escape(char *buf, size_t size, size_t *len, const char *text)
{
    for (const unsigned char *p = (const unsigned char *)text; *p && *len + 8 < size; p++) {
        if (*p == '"' || *p == '\\')
            *len += (size_t)snprintf(buf + *len, size - *len, "\\%c", *p);
        else if (*p < 0x20)
            *len += (size_t)snprintf(buf + *len, size - *len, "\\u%04x", *p);
        else
            buf[(*len)++] = (char)*p;
    }
    buf[*len] = '\0';
}

void fc_log_format_line(char *buf, size_t size, long long ms, fc_log_level_t level,
                        fc_log_format_t format, bool journal, const char *program,
                        const char *message)
{
    if (journal && format == FC_LOG_TEXT) {
        snprintf(buf, size, "<%d>%s: %s", (int)level, program, message);
        return;
    }
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char stamp[40];
    size_t n = strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(stamp + n, sizeof stamp - n, ".%03dZ", (int)(ms % 1000));
    if (format == FC_LOG_TEXT) {
        snprintf(buf, size, "%s %s %s: %s", stamp, fc_log_level_name(level), program, message);
        return;
    }
    char prio[8] = ""; /* the journal still wants the priority first */
    if (journal)
        snprintf(prio, sizeof prio, "<%d>", (int)level);
    size_t len = (size_t)snprintf(buf, size, "%s{\"time\":\"%s\",\"level\":\"%s\",\"program\":\"",
                                  prio, stamp, fc_log_level_name(level));
    if (len >= size)
        return; /* cut: size is far below a line */
    s_json_escape(buf, size, &len, program);
    len += (size_t)snprintf(buf + len, size - len, "\",\"message\":\"");
    if (len >= size)
        return;
    s_json_escape(buf, size, &len, message);
    snprintf(buf + len, size - len, "\"}");
}

static void s_write(fc_log_level_t level, const char *message)
{
    if (!fc_log_enabled(level))
        return;
    char text[S_MAX_LINE];
    snprintf(text, sizeof text, "%s", message);
    for (char *p = text; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long long ms = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    char line[S_MAX_LINE + 256];
    pthread_mutex_lock(&s_lock);
    fc_log_format_line(line, sizeof line - 1, ms, level, s_log.format, s_log.journal, s_log.program,
                       text);
    size_t len = strlen(line);
    line[len] = '\n';
    line[len + 1] = '\0';
    FILE *out = s_log.out ? s_log.out : stderr;
    fputs(line, out);
    fflush(out);
    pthread_mutex_unlock(&s_lock);
}

void fc_log(fc_log_level_t level, const char *fmt, ...)
{
    char message[S_MAX_LINE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    s_write(level, message);
}

/* One CZMQ line: "X: yy-mm-dd hh:mm:ss text" (or "X: (ident) yy-mm-dd ..."). */
static void s_zsys_line(const char *line)
{
    fc_log_level_t level = FC_LOG_INFO;
    switch (line[0]) {
    case 'E':
        level = FC_LOG_ERROR;
        break;
    case 'W':
        level = FC_LOG_WARNING;
        break;
    case 'N':
        level = FC_LOG_NOTICE;
        break;
    case 'D':
        level = FC_LOG_DEBUG;
        break;
    }
    const char *text = line;
    int skip = 0;
    int yy, mo, dd, hh, mi, ss;
    if (strlen(line) > 3 && line[1] == ':' &&
        sscanf(line + 3, "%d-%d-%d %d:%d:%d %n", &yy, &mo, &dd, &hh, &mi, &ss, &skip) == 6 &&
        skip > 0)
        text = line + 3 + skip;
    pthread_mutex_lock(&s_lock);
    char program[sizeof s_log.program];
    memcpy(program, s_log.program, sizeof program);
    fc_log_zsys_filter_fn *filter = s_log.filter;
    void *filter_arg = s_log.filter_arg;
    pthread_mutex_unlock(&s_lock);
    size_t plen = strlen(program);
    if (strncmp(text, program, plen) == 0 && strncmp(text + plen, ": ", 2) == 0)
        text += plen + 2;
    char copy[S_MAX_LINE];
    snprintf(copy, sizeof copy, "%s", text);
    if (filter && !filter(&level, copy, sizeof copy, filter_arg))
        return;
    s_write(level, copy);
}

/* fopencookie's writer: CZMQ writes "line\n" with one fprintf; lines are cut at newlines. */
static ssize_t s_zsys_write(void *cookie, const char *data, size_t size)
{
    (void)cookie;
    char line[S_MAX_LINE];
    size_t start = 0;
    for (size_t i = 0; i <= size; i++)
        if (i == size || data[i] == '\n') {
            size_t n = i - start;
            if (n > 0) {
                if (n >= sizeof line)
                    n = sizeof line - 1;
                memcpy(line, data + start, n);
                line[n] = '\0';
                s_zsys_line(line);
            }
            start = i + 1;
        }
    return (ssize_t)size;
}

FILE *fc_log_zsys_stream(void)
{
    /* Made once, by main, before any thread logs through it. */
    if (!s_log.zsys) {
        cookie_io_functions_t io = {.write = s_zsys_write};
        s_log.zsys = fopencookie(NULL, "w", io);
        if (s_log.zsys)
            setvbuf(s_log.zsys, NULL, _IOLBF, 0);
    }
    return s_log.zsys;
}

void fc_log_test(bool verbose)
{
    printf(" * fc_log: ");
    char buf[512];
    long long ms = 1765090138123LL; /* 2025-12-07T06:48:58.123Z */
    fc_log_format_line(buf, sizeof buf, ms, FC_LOG_INFO, FC_LOG_TEXT, false, "fleetcast-broker",
                       "serving");
    FC_CHECK(streq(buf, "2025-12-07T06:48:58.123Z info fleetcast-broker: serving"));
    fc_log_format_line(buf, sizeof buf, ms, FC_LOG_WARNING, FC_LOG_TEXT, true, "fleetcast-agent",
                       "x");
    FC_CHECK(streq(buf, "<4>fleetcast-agent: x"));
    fc_log_format_line(buf, sizeof buf, ms, FC_LOG_ERROR, FC_LOG_JSON, false, "p", "a \"q\"\t");
    FC_CHECK(streq(buf, "{\"time\":\"2025-12-07T06:48:58.123Z\",\"level\":\"error\","
                        "\"program\":\"p\",\"message\":\"a \\\"q\\\"\\u0009\"}"));
    fc_log_level_t l;
    fc_log_format_t f;
    FC_CHECK(fc_log_level_parse("debug", &l) == 0 && l == FC_LOG_DEBUG);
    FC_CHECK(fc_log_level_parse("loud", &l) == -1 && fc_log_level_parse(NULL, &l) == -1);
    FC_CHECK(fc_log_format_parse("json", &f) == 0 && f == FC_LOG_JSON);
    FC_CHECK(fc_log_format_parse("xml", &f) == -1);

    /* Through a file: the level filter, the zsys stream re-cut, newlines flattened. */
    FILE *tmp = tmpfile();
    FC_CHECK(tmp);
    fc_log_setup("fleetcast-test", FC_LOG_INFO, FC_LOG_TEXT, tmp);
    fc_log(FC_LOG_DEBUG, "hidden");
    fc_log(FC_LOG_WARNING, "two\nlines");
    FILE *z = fc_log_zsys_stream();
    FC_CHECK(z);
    fprintf(z, "W: 26-12-07 06:48:58 fleetcast-test: denied HELLO\n");
    fflush(z);
    fprintf(z, "D: 26-12-07 06:48:58 chatty\n");
    fflush(z);
    rewind(tmp);
    char line1[256] = "", line2[256] = "", line3[256] = "";
    FC_CHECK(fgets(line1, sizeof line1, tmp) && fgets(line2, sizeof line2, tmp));
    FC_CHECK(!fgets(line3, sizeof line3, tmp));
    FC_CHECK(strstr(line1, " warning fleetcast-test: two lines\n") && line1[4] == '-' &&
             line1[10] == 'T' && line1[23] == 'Z');
    FC_CHECK(strstr(line2, " warning fleetcast-test: denied HELLO\n"));
    fclose(tmp);
    fc_log_setup("fleetcast", FC_LOG_INFO, FC_LOG_TEXT, NULL);
    if (verbose)
        printf("(text, journal, json, level, zsys lines) ");
    printf("OK\n");
}
