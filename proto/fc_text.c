/* fc_text.c: text for people: sizes, times, and one-line reasons written into a buffer the
   caller may not have passed. */
#include "fc_text.h"
#include "fc_test_check.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

void fc_textf(char *text, size_t size, const char *fmt, ...)
{
    if (!text || size == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, size, fmt, ap);
    va_end(ap);
}

char *fc_format_bytes(char *buf, size_t size, uint64_t bytes)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)bytes;
    size_t u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, size, "%llu B", (unsigned long long)bytes);
    else
        snprintf(buf, size, "%.1f %s", v, units[u]);
    return buf;
}

void fc_format_time(char *buf, size_t size, int64_t t)
{
    if (t <= 0) {
        snprintf(buf, size, "-");
        return;
    }
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void fc_text_test(bool verbose)
{
    (void)verbose;
    printf(" * fc_text: ");
    /* Sizes for people: bytes exact, then one decimal in the largest unit that fits. */
    char size_text[32];
    FC_CHECK(!strcmp(fc_format_bytes(size_text, sizeof size_text, 0), "0 B"));
    FC_CHECK(!strcmp(fc_format_bytes(size_text, sizeof size_text, 1023), "1023 B"));
    FC_CHECK(!strcmp(fc_format_bytes(size_text, sizeof size_text, 1024), "1.0 KiB"));
    FC_CHECK(!strcmp(fc_format_bytes(size_text, sizeof size_text, 39321600), "37.5 MiB"));
    FC_CHECK(!strcmp(fc_format_bytes(size_text, sizeof size_text, 3ull << 40), "3.0 TiB"));
    FC_CHECK(!strcmp(fc_format_bytes(size_text, sizeof size_text, 2048ull << 40), "2048.0 TiB"));
    FC_CHECK(!strcmp(fc_format_bytes(size_text, 4, 39321600), "37."));

    char when[32];
    fc_format_time(when, sizeof when, 1795315551);
    FC_CHECK(!strcmp(when, "2026-11-22T02:45:51Z"));
    fc_format_time(when, sizeof when, 0);
    FC_CHECK(!strcmp(when, "-"));
    fc_format_time(when, sizeof when, -5);
    FC_CHECK(!strcmp(when, "-"));

    char text[8] = "old";
    fc_textf(text, sizeof text, "%s %d", "abc", 12345);
    FC_CHECK(!strcmp(text, "abc 123"));
    fc_textf(NULL, 10, "%s", "no buffer: nothing happens");
    fc_textf(text, 0, "%s", "no room: nothing happens");
    FC_CHECK(!strcmp(text, "abc 123"));
    printf("OK\n");
}
