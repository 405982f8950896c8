/* fc_doccheck.c: checks that docs/PROTOCOL.md's numbers and names are the code's (error
   codes, limits, message types, what an agent key may send, HELLO roles, ack and agent
   states), so the document cannot drift silently. */
#include <ctype.h>
#include <regex.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fc_ack.h"
#include "fc_error.h"
#include "fc_file.h"
#include "fc_keyring.h"
#include "fc_limits.h"
#include "fc_msg.h"
#include "fc_role.h"
#include "fc_rollout_state.h"
#include "fc_state.h"

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
    S_LIMIT(FC_PROTO_VERSION),     S_LIMIT(FC_CHUNK_SIZE),      S_LIMIT(FC_HASH_LEN),
    S_LIMIT(FC_PUBKEY_LEN),        S_LIMIT(FC_SECKEY_LEN),      S_LIMIT(FC_SIG_LEN),
    S_LIMIT(FC_MAX_FRAME),         S_LIMIT(FC_MAX_MANIFEST),    S_LIMIT(FC_MAX_CHUNK_REQ),
    S_LIMIT(FC_MAX_FILES),         S_LIMIT(FC_MAX_FILE_SIZE),   S_LIMIT(FC_MAX_PATH),
    S_LIMIT(FC_MAX_NAME),          S_LIMIT(FC_MAX_TEXT),        S_LIMIT(FC_MAX_ENDPOINT),
    S_LIMIT(FC_MAX_LIST),          S_LIMIT(FC_MAX_RANGES),      S_LIMIT(FC_MAX_SNAPSHOT),
    S_LIMIT(FC_MAX_REVISION),      S_LIMIT(FC_MAX_KEY),         S_LIMIT(FC_MAX_CHANGES),
    S_LIMIT(FC_MAX_VALUE),         S_LIMIT(FC_MAX_SCOPE),       S_LIMIT(FC_MAX_TRUST_KEYS),
    S_LIMIT(FC_MAX_TRUSTLIST),     S_LIMIT(FC_MANIFEST_FORMAT), S_LIMIT(FC_MAX_CHUNK),
    S_LIMIT(FC_MAX_WAVES),         S_LIMIT(FC_CDC_MIN),         S_LIMIT(FC_CDC_AVG),
    S_LIMIT(FC_CDC_MAX),           S_LIMIT(FC_MAX_BLOB_BATCH),  S_LIMIT(FC_MAX_SMALL_BLOB),
    S_LIMIT(FC_MAX_UPLOAD_CHUNKS), S_LIMIT(FC_MAX_UPLOAD_COPY), S_LIMIT(FC_MANIFEST_FORMAT_PARTS),
    S_LIMIT(FC_PAGE_MAX_ENTRIES),  S_LIMIT(FC_PAGE_CUT_MASK),   S_LIMIT(FC_MAX_PAGE),
    S_LIMIT(FC_MAX_CHUNKLIST),     S_LIMIT(FC_MAX_OBJECT),      S_LIMIT(FC_MAX_DERIVE_BLOB),
    S_LIMIT(FC_CDC_LEVEL),         S_LIMIT(FC_CDC_LARGE_FILE),  S_LIMIT(FC_CDC_LARGE_MIN),
    S_LIMIT(FC_CDC_LARGE_AVG),     S_LIMIT(FC_CDC_LARGE_MAX),   S_LIMIT(FC_CDC_LARGE_LEVEL),
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

/* Section 6's table against proto/fc_error.h's: one row per code, number, name and text. */
static void s_check_errors(const char *doc)
{
    for (int code = 0; code < FC_ERROR_MAX; code++) {
        char num[32], name[64], cell[512];
        snprintf(num, sizeof num, "%d", code);
        snprintf(name, sizeof name, "`%.47s`", fc_error_name(code));
        const char *row = s_row(doc, num);
        if (!row) {
            s_fail("PROTOCOL.md: no row for error code %s (%s)", num, fc_error_name(code));
            continue;
        }
        s_cell(row, 1, cell, sizeof cell);
        if (strcmp(cell, name) != 0)
            s_fail("PROTOCOL.md: error code %s is %s in the table, %s in fc_error.h", num, cell,
                   fc_error_name(code));
        s_cell(row, 2, cell, sizeof cell);
        if (strcmp(cell, fc_strerror(code)) != 0)
            s_fail("PROTOCOL.md: the text of %s is \"%s\", fc_strerror says \"%s\"",
                   fc_error_name(code), cell, fc_strerror(code));
    }
    /* No row for a code that does not exist. */
    s_const_t rows[S_MAX_NAMES];
    size_t nrows = s_scan(doc, "^\\| [0-9]+ \\| `(FC_E?[A-Z]+)` \\|", rows, S_MAX_NAMES);
    if (nrows != FC_ERROR_MAX)
        s_fail("PROTOCOL.md: %zu rows in the error table, %d codes in fc_error.h", nrows,
               FC_ERROR_MAX);
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
            if (fc_msg_type_known(t) && strlen(fc_msg_type_name(t)) == len &&
                strncmp(p, fc_msg_type_name(t), len) == 0)
                listed[t] = known = true;
        if (!known)
            s_fail("PROTOCOL.md: an agent key may send %.*s: no such message", (int)len, p);
        p += len;
    }
    for (int t = 1; t < FC_MSG_TYPE_MAX; t++) {
        if (!fc_msg_type_known(t))
            continue;
        bool allowed = fc_keyring_allows(FC_ROLE_AGENT, t);
        if (allowed && !listed[t])
            s_fail("PROTOCOL.md section 1a: an agent key may send %s, which is not listed",
                   fc_msg_type_name(t));
        if (!allowed && listed[t])
            s_fail("PROTOCOL.md section 1a: lists %s for an agent key, which the broker refuses",
                   fc_msg_type_name(t));
    }
}

/* The text of the section of doc whose heading line starts with heading, up to the next
   heading of any level; malloc'd, or NULL if there is no such heading. */
static char *s_section(const char *doc, const char *heading)
{
    size_t hlen = strlen(heading);
    const char *p = doc;
    while (p && strncmp(p, heading, hlen) != 0) {
        p = strchr(p, '\n');
        p = p ? p + 1 : NULL;
    }
    if (!p)
        return NULL;
    const char *end = strstr(p + hlen, "\n#");
    size_t len = end ? (size_t)(end - p) : strlen(p);
    char *out = malloc(len + 1);
    memcpy(out, p, len);
    out[len] = '\0';
    return out;
}

/* The rows "| `name` | meaning |" of the one table of a section, as the names of a table
   in proto/ (name_of over count values; meaning_of NULL: names only). has(i) says whether
   value i must have a row. Both ways: no row without its value, no value without its row. */
static void s_check_name_table(const char *doc, const char *heading, const char *what, int count,
                               const char *(*name_of)(int), const char *(*meaning_of)(int),
                               bool (*has)(int))
{
    char *sec = s_section(doc, heading);
    if (!sec) {
        s_fail("PROTOCOL.md: no section \"%s\"", heading);
        return;
    }
    bool listed[64] = {false};
    regex_t re;
    if (count > 64 || regcomp(&re, "^\\| `([^`]*)` \\|", REG_EXTENDED | REG_NEWLINE) != 0)
        abort();
    regmatch_t g[2];
    for (const char *p = sec; regexec(&re, p, 2, g, 0) == 0; p += g[0].rm_eo) {
        char name[64], cell[1024];
        snprintf(name, sizeof name, "%.*s", (int)(g[1].rm_eo - g[1].rm_so), p + g[1].rm_so);
        int v = 0;
        while (v < count && strcmp(name_of(v), name) != 0)
            v++;
        if (v == count || !has(v)) {
            s_fail("PROTOCOL.md \"%s\": %s `%s` is not in the code's table", heading, what, name);
            continue;
        }
        if (listed[v])
            s_fail("PROTOCOL.md \"%s\": %s `%s` listed twice", heading, what, name);
        listed[v] = true;
        s_cell(p + g[0].rm_so - 1, 1, cell, sizeof cell);
        if (meaning_of && strcmp(cell, meaning_of(v)) != 0)
            s_fail("PROTOCOL.md \"%s\": %s `%s` means \"%s\", the code's table says \"%s\"",
                   heading, what, name, cell, meaning_of(v));
    }
    regfree(&re);
    for (int v = 0; v < count; v++)
        if (has(v) && !listed[v])
            s_fail("PROTOCOL.md \"%s\": %s `%s` of the code's table is not listed", heading, what,
                   name_of(v));
    free(sec);
}

static const char *s_ack_name(int v)
{
    return fc_ack_name((fc_ack_t)v);
}

static const char *s_ack_meaning(int v)
{
    return fc_ack_meaning((fc_ack_t)v);
}

static bool s_ack_sent(int v)
{
    return fc_ack_is((fc_ack_t)v, FC_ACK_F_SENT);
}

static const char *s_state_name(int v)
{
    return fc_state_name((fc_state_t)v);
}

static const char *s_role_name(int v)
{
    return fc_role_name((fc_role_t)v);
}

static const char *s_role_meaning(int v)
{
    return fc_role_meaning((fc_role_t)v);
}

static bool s_role_valid(int v)
{
    return fc_role_valid((fc_role_t)v);
}

static const char *s_rollout_name(int v)
{
    return fc_rollout_state_name((fc_rollout_state_t)v);
}

static const char *s_rollout_meaning(int v)
{
    return fc_rollout_state_meaning((fc_rollout_state_t)v);
}

static bool s_every(int v)
{
    (void)v;
    return true;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: fc_doccheck SOURCE_DIR\n");
        return 2;
    }
    char *doc = s_read(argv[1], "docs/PROTOCOL.md");
    char *limits = s_read(argv[1], "proto/fc_limits.h");
    s_check_errors(doc);
    s_check_limits(doc, limits);
    for (int code = 0; code < FC_ERROR_MAX; code++)
        s_check_mentions(doc, fc_error_name(code), (unsigned long long)code);
    for (size_t i = 0; i < S_NLIMITS; i++)
        s_check_mentions(doc, s_limits[i].name, s_limits[i].value);
    for (int t = 1; t < FC_MSG_TYPE_MAX; t++)
        if (fc_msg_type_known(t))
            s_check_mentions(doc, fc_msg_type_name(t), (unsigned long long)t);
    s_check_agent_list(doc);
    /* The outcomes an agent may ack with, with their meanings; the agent states by name (the
       document's meanings say more than the code's one-liners). */
    s_check_name_table(doc, "### CONFIG_ACK (", "ack state", FC_ACK_COUNT, s_ack_name,
                       s_ack_meaning, s_ack_sent);
    /* The roles a HELLO may name, with their meanings. */
    s_check_name_table(doc, "### 3.1 HELLO", "role", FC_ROLE_END, s_role_name, s_role_meaning,
                       s_role_valid);
    s_check_name_table(doc, "### 3.7 REPORT", "agent state", FC_STATE_COUNT, s_state_name, NULL,
                       s_every);
    s_check_name_table(doc, "### ROLLOUT_STATUS (40)", "rollout state", FC_ROLLOUT_STATE_COUNT,
                       s_rollout_name, s_rollout_meaning, s_every);
    free(doc);
    free(limits);
    if (s_failures)
        return 1;
    printf("ok - docs/PROTOCOL.md: %d error codes, %zu limits, %d message types, the agent "
           "key's requests, HELLO roles, ack, agent and rollout states match the code\n",
           FC_ERROR_MAX, S_NLIMITS, FC_MSG_TYPE_MAX - 1);
    return 0;
}
