/* fc_text.h: text for people: sizes, times, and one-line reasons written into a buffer the
   caller may not have passed. */
#ifndef FC_TEXT_H
#define FC_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A size for people, "512 B" or "37.5 MiB" (binary units up to TiB), into buf of size
   bytes (truncated to fit); returns buf. */
char *fc_format_bytes(char *buf, size_t size, uint64_t bytes);
/* Unix seconds t as UTC, "2026-11-22T02:45:51Z" ("-" for 0 or less), into buf of size bytes. */
void fc_format_time(char *buf, size_t size, int64_t t);
/* snprintf into text (size bytes); does nothing if text is NULL or size 0, for functions
   whose callers may pass no buffer for the one-line reason of a failure. */
void fc_textf(char *text, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

void fc_text_test(bool verbose);

#endif
