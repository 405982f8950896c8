/* fc_doccheck.c: checks that docs/PROTOCOL.md's numbers are the code's (error codes, limits,
   message types, what an agent key may send), so the document cannot drift silently. */
#include <ctype.h>
#include <regex.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fc_error.h"
#include "fc_keyring.h"
#include "fc_limits.h"
#include "fc_msg.h"
#include "fc_util.h"

/* The value of every constant of proto/fc_limits.h. The header's own list of names is read
   from the file, so a constant added there without a line here (and a row in the document)
   fails the check rather than going unseen. */
/* clang-format off */
#define S_LIMIT(name) {#name, (unsigned long long)(name)}
/* clang-format on */
static const struct {
    const char *name;
    unsigned long long value;
} s_limits[] = {
    S_LIMIT(FC_PROTO_VERSION), S_LIMIT(FC_CHUNK_SIZE),    S_LIMIT(FC_HASH_LEN),
    S_LIMIT(FC_PUBKEY_LEN),    S_LIMIT(FC_SECKEY_LEN),    S_LIMIT(FC_SIG_LEN),
    S_LIMIT(FC_MAX_FRAME),     S_LIMIT(FC_MAX_MANIFEST),  S_LIMIT(FC_MAX_CHUNK_REQ),
    S_LIMIT(FC_MAX_FILES),     S_LIMIT(FC_MAX_FILE_SIZE), S_LIMIT(FC_MAX_PATH),
    S_LIMIT(FC_MAX_NAME),      S_LIMIT(FC_MAX_TEXT),      S_LIMIT(FC_MAX_ENDPOINT),
    S_LIMIT(FC_MAX_LIST),      S_LIMIT(FC_MAX_RANGES),    S_LIMIT(FC_MAX_SNAPSHOT),
    S_LIMIT(FC_MAX_REVISION),  S_LIMIT(FC_MAX_KEY),       S_LIMIT(FC_MAX_CHANGES),
    S_LIMIT(FC_MAX_VALUE),     S_LIMIT(FC_MAX_SCOPE),     S_LIMIT(FC_MAX_TRUST_KEYS),
    S_LIMIT(FC_MAX_TRUSTLIST),
};
#define S_NLIMITS (sizeof s_limits / sizeof s_limits[0])

#define S_MAX_NAMES 64
typedef struct {
    char name[48];
    unsigned long long value;
} s_const_t;

static int s_failures;

static void s_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void s_fail(const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    fprintf(stderr, "FAIL: ");
    vfprintf(stderr, fmt, args);
    fprintf(stderr, "\n");
    va_end(args);
    s_failures++;
}

static char *s_read(const char *dir, const char *file)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    size_t len = 0;
    char *text = (char *)fc_read_file(path, 4u << 20, &len);
    if (!text) {
        fprintf(stderr, "fc_doccheck: cannot read %s\n", path);
        exit(2);
    }
    char *copy = realloc(text, len + 1);
    copy[len] = '\0';
    return copy;
}

/* Every match of pattern (group 1 a name, group 2 a number if present) in text, into out. */
static size_t s_scan(const char *text, const char *pattern, s_const_t *out, size_t max)
{
    regex_t re;
    if (regcomp(&re, pattern, REG_EXTENDED | REG_NEWLINE) != 0)
        abort();
    size_t n = 0;
    regmatch_t g[3];
    for (const char *p = text; n < max && regexec(&re, p, 3, g, 0) == 0; p += g[0].rm_eo) {
        int len = (int)(g[1].rm_eo - g[1].rm_so);
        snprintf(out[n].name, sizeof out[n].name, "%.*s", len, p + g[1].rm_so);
        out[n].value = g[2].rm_so >= 0 ? strtoull(p + g[2].rm_so, NULL, 10) : 0;
        n++;
    }
    regfree(&re);
    return n;
}

/* The table row of the document that starts with "| first |", or NULL. */
static const char *s_row(const char *doc, const char *first)
{
    char head[128] = "\n| ";
    if (strlen(first) > sizeof head - 8)
        return NULL;
    strcat(strcat(head, first), " |");
    return strstr(doc, head);
}

/* Cell i (0-based) of the row at p, trimmed, into out. */
static void s_cell(const char *p, int i, char *out, size_t size)
{
    p = strchr(p + 1, '|');
    for (int k = 0; k < i && p; k++)
        p = strchr(p + 1, '|');
    out[0] = '\0';
    if (!p)
        return;
    p++;
    const char *end = strchr(p, '|');
    const char *nl = strchr(p, '\n');
    if (!end || (nl && nl < end))
        return;
    while (p < end && *p == ' ')
        p++;
    while (end > p && end[-1] == ' ')
        end--;
    snprintf(out, size, "%.*s", (int)(end - p), p);
}

static void s_check_errors(const char *doc, const char *header)
{
    s_const_t codes[S_MAX_NAMES];
    size_t n = s_scan(header, "^ *(FC_[A-Z]+) = ([0-9]+),", codes, S_MAX_NAMES);
    if (n != FC_ERROR_MAX)
        s_fail("proto/fc_error.h: read %zu codes, FC_ERROR_MAX is %d", n, FC_ERROR_MAX);
    for (size_t i = 0; i < n; i++) {
        char num[32], name[64], cell[512];
        snprintf(num, sizeof num, "%llu", codes[i].value);
        snprintf(name, sizeof name, "`%.47s`", codes[i].name);
        const char *row = s_row(doc, num);
        if (!row) {
            s_fail("PROTOCOL.md: no row for error code %s (%s)", num, codes[i].name);
            continue;
        }
        s_cell(row, 1, cell, sizeof cell);
        if (strcmp(cell, name) != 0)
            s_fail("PROTOCOL.md: error code %s is %s in the table, %s in fc_error.h", num, cell,
                   codes[i].name);
        s_cell(row, 2, cell, sizeof cell);
        if (strcmp(cell, fc_strerror((int)codes[i].value)) != 0)
            s_fail("PROTOCOL.md: the text of %s is \"%s\", fc_strerror says \"%s\"", codes[i].name,
                   cell, fc_strerror((int)codes[i].value));
    }
    /* No row for a code that does not exist. */
    s_const_t rows[S_MAX_NAMES];
    size_t nrows = s_scan(doc, "^\\| [0-9]+ \\| `(FC_E?[A-Z]+)` \\|", rows, S_MAX_NAMES);
    if (nrows != n)
        s_fail("PROTOCOL.md: %zu rows in the error table, %zu codes in fc_error.h", nrows, n);
}

static bool s_limit_value(const char *name, unsigned long long *value)
{
    for (size_t i = 0; i < S_NLIMITS; i++)
        if (strcmp(s_limits[i].name, name) == 0) {
            *value = s_limits[i].value;
            return true;
        }
    return false;
}

static void s_check_limits(const char *doc, const char *header)
{
    s_const_t names[S_MAX_NAMES];
    size_t n = s_scan(header, "^#define (FC_[A-Z_]+) ", names, S_MAX_NAMES);
    for (size_t i = 0; i < n; i++) {
        unsigned long long value;
        if (!s_limit_value(names[i].name, &value)) {
            s_fail("proto/fc_limits.h: %s is not in tests/fc_doccheck.c's list (and the "
                   "document's table?)",
                   names[i].name);
            continue;
        }
        char first[64], cell[128];
        snprintf(first, sizeof first, "`%.47s`", names[i].name);
        const char *row = s_row(doc, first);
        if (!row) {
            s_fail("PROTOCOL.md: no row for %s in the limits table", names[i].name);
            continue;
        }
        s_cell(row, 1, cell, sizeof cell);
        if (!isdigit((unsigned char)cell[0]) || strtoull(cell, NULL, 10) != value)
            s_fail("PROTOCOL.md: %s is \"%s\" in the limits table, %llu in fc_limits.h",
                   names[i].name, cell, value);
    }
    if (n != S_NLIMITS)
        s_fail("proto/fc_limits.h defines %zu constants, tests/fc_doccheck.c knows %zu", n,
               S_NLIMITS);
}

/* "NAME (N)" or "`NAME` (N)" anywhere in the text, N maybe with a binary unit: N must be
   the value. Names are bounded so GET_TRUST is not read as TRUST. */
static void s_check_mentions(const char *doc, const char *name, unsigned long long value)
{
    size_t len = strlen(name);
    for (const char *p = strstr(doc, name); p; p = strstr(p + 1, name)) {
        if (p > doc && (isupper((unsigned char)p[-1]) || p[-1] == '_'))
            continue;
        const char *q = p + len;
        if (*q == '`')
            q++;
        if (q[0] != ' ' || q[1] != '(' || !isdigit((unsigned char)q[2]))
            continue;
        if (isupper((unsigned char)p[len]) || p[len] == '_')
            continue;
        char *end;
        unsigned long long n = strtoull(q + 2, &end, 10);
        static const char *units[] = {" KiB)", " MiB)", " GiB)", " TiB)"};
        unsigned long long scale = 1;
        for (int u = 0; u < 4; u++)
            if (strncmp(end, units[u], 5) == 0)
                scale = 1ull << (10 * (u + 1)), end += 4;
        if (*end != ')')
            continue;
        if (n * scale != value) {
            int line = 1;
            for (const char *c = doc; c < p; c++)
                line += *c == '\n';
            s_fail("PROTOCOL.md line %d: %s (%.*s), the code says %llu", line, name,
                   (int)(end - q - 2), q + 2, value);
        }
    }
}

/* The names of "An agent key MAY send A, B, ... and Z" must be what fc_keyring_allows
   lets an agent key send. */
static void s_check_agent_list(const char *doc)
{
    const char *lead = "agent key MAY send "; /* "An" may end the line before */
    const char *p = strstr(doc, lead);
    if (!p) {
        s_fail("PROTOCOL.md: no sentence \"%s...\" (section 1a)", lead);
        return;
    }
    p += strlen(lead);
    bool listed[FC_MSG_TYPE_MAX] = {false};
    while (*p && *p != '(' && *p != '.') {
        while (*p == ',' || *p == ' ' || *p == '\n')
            p++;
        if (strncmp(p, "and", 3) == 0 && isspace((unsigned char)p[3])) {
            p += 3;
            continue;
        }
        size_t len = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_");
        if (len == 0)
            break;
        bool known = false;
        for (int t = 1; t < FC_MSG_TYPE_MAX; t++)
            if (strlen(fc_msg_type_name(t)) == len && strncmp(p, fc_msg_type_name(t), len) == 0)
                listed[t] = known = true;
        if (!known)
            s_fail("PROTOCOL.md: an agent key may send %.*s: no such message", (int)len, p);
        p += len;
    }
    for (int t = 1; t < FC_MSG_TYPE_MAX; t++) {
        bool allowed = fc_keyring_allows(FC_ROLE_AGENT, t);
        if (allowed && !listed[t])
            s_fail("PROTOCOL.md section 1a: an agent key may send %s, which is not listed",
                   fc_msg_type_name(t));
        if (!allowed && listed[t])
            s_fail("PROTOCOL.md section 1a: lists %s for an agent key, which the broker refuses",
                   fc_msg_type_name(t));
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: fc_doccheck SOURCE_DIR\n");
        return 2;
    }
    char *doc = s_read(argv[1], "docs/PROTOCOL.md");
    char *errors = s_read(argv[1], "proto/fc_error.h");
    char *limits = s_read(argv[1], "proto/fc_limits.h");
    s_check_errors(doc, errors);
    s_check_limits(doc, limits);
    s_const_t codes[S_MAX_NAMES];
    size_t n = s_scan(errors, "^ *(FC_[A-Z]+) = ([0-9]+),", codes, S_MAX_NAMES);
    for (size_t i = 0; i < n; i++)
        s_check_mentions(doc, codes[i].name, codes[i].value);
    for (size_t i = 0; i < S_NLIMITS; i++)
        s_check_mentions(doc, s_limits[i].name, s_limits[i].value);
    for (int t = 1; t < FC_MSG_TYPE_MAX; t++)
        s_check_mentions(doc, fc_msg_type_name(t), (unsigned long long)t);
    s_check_agent_list(doc);
    free(doc);
    free(errors);
    free(limits);
    if (s_failures)
        return 1;
    printf("ok - docs/PROTOCOL.md: %zu error codes, %zu limits, %d message types and the agent "
           "key's requests match the code\n",
           n, S_NLIMITS, FC_MSG_TYPE_MAX - 1);
    return 0;
}
