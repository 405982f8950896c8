/* fc_optval.c: the one strict parser of command-line option values (whole numbers, sizes,
   durations, percentages, endpoints) that every fleetcast program uses. */
#include "fc_optval.h"
#include "fc_error.h"
#include "fc_test_check.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Values are shown at most this long: enough to recognise, too short to flood a terminal. */
#define S_SHOWN_MAX 64

__extension__ typedef unsigned __int128 s_u128_t;

/* Writes "NAME needs WHAT, not 'TEXT'[ (WHY)]" into msg; returns FC_EINVAL. */
static int s_fail(char *msg, size_t msgsize, const char *name, const char *what, const char *text,
                  const char *why)
{
    if (!msg || !msgsize)
        return FC_EINVAL;
    char shown[S_SHOWN_MAX + 4];
    size_t n = 0;
    text = text ? text : "";
    for (; text[n] && n < S_SHOWN_MAX; n++) {
        unsigned char c = (unsigned char)text[n];
        shown[n] = c < 0x20 || c >= 0x7f ? '?' : (char)c;
    }
    shown[n] = '\0';
    if (text[n])
        memcpy(shown + n, "...", 4);
    snprintf(msg, msgsize, "%s needs %s, not '%s'%s%s%s", name ? name : "value", what, shown,
             why ? " (" : "", why ? why : "", why ? ")" : "");
    return FC_EINVAL;
}

/* Reads decimal digits from *p into *v. 0, -1 when there are none, -2 on overflow. */
static int s_digits(const char **p, uint64_t *v)
{
    const char *s = *p;
    uint64_t x = 0;
    if (*s < '0' || *s > '9')
        return -1;
    for (; *s >= '0' && *s <= '9'; s++) {
        unsigned d = (unsigned)(*s - '0');
        if (x > (UINT64_MAX - d) / 10)
            return -2;
        x = x * 10 + d;
    }
    *p = s;
    *v = x;
    return 0;
}

/* Why text does not start with a digit, for the message; NULL when no short reason fits. */
static const char *s_why_not_digits(const char *text)
{
    if (!*text)
        return "empty";
    if (*text == ' ' || *text == '\t')
        return "a blank";
    if (*text == '-' || *text == '+')
        return "a sign";
    return NULL;
}

/* A decimal number with an optional fraction ("12", "1.5") as its digits in *mant and the
   count of them after the point in *frac; the text after it in *rest. 0; -1 malformed (or
   more than 17 decimals); -2 too large. */
static int s_scaled(const char *text, const char **rest, uint64_t *mant, unsigned *frac)
{
    const char *p = text;
    uint64_t v = 0;
    int rc = s_digits(&p, &v);
    if (rc)
        return rc;
    unsigned k = 0;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return -1;
        for (; *p >= '0' && *p <= '9'; p++, k++) {
            unsigned d = (unsigned)(*p - '0');
            if (k >= 17)
                return -1;
            if (v > (UINT64_MAX - d) / 10)
                return -2;
            v = v * 10 + d;
        }
    }
    *rest = p;
    *mant = v;
    *frac = k;
    return 0;
}

/* mant / 10^frac * unit into *out: 0, -2 too large, -3 not whole. */
static int s_apply_unit(uint64_t mant, unsigned frac, uint64_t unit, uint64_t *out)
{
    s_u128_t pow10 = 1;
    for (unsigned i = 0; i < frac; i++)
        pow10 *= 10;
    s_u128_t product = (s_u128_t)mant * unit;
    if (product % pow10)
        return -3;
    product /= pow10;
    if (product > UINT64_MAX)
        return -2;
    *out = (uint64_t)product;
    return 0;
}

/* "1K" for 1024 when a unit divides it, else the plain number. */
static void s_size_text(char *buf, size_t size, uint64_t v)
{
    static const char units[] = "KMGT";
    int u = -1;
    while (u < 3 && v && v % 1024 == 0) {
        v /= 1024;
        u++;
    }
    if (u < 0)
        snprintf(buf, size, "%" PRIu64, v);
    else
        snprintf(buf, size, "%" PRIu64 "%c", v, units[u]);
}

/* "500ms", "30s", "5m", "2h": the largest unit that divides ms. */
static void s_duration_text(char *buf, size_t size, uint64_t ms)
{
    if (ms && ms % 3600000 == 0)
        snprintf(buf, size, "%" PRIu64 "h", ms / 3600000);
    else if (ms && ms % 60000 == 0 && ms / 60000 < 60)
        snprintf(buf, size, "%" PRIu64 "m", ms / 60000);
    else if (ms % 1000 == 0)
        snprintf(buf, size, "%" PRIu64 "s", ms / 1000);
    else
        snprintf(buf, size, "%" PRIu64 "ms", ms);
}

/* A whole number of decimal digits only, then suffix if given (NULL: nothing), in
   min..max; the message names option name and what it needs. */
static int s_whole(const char *name, const char *text, const char *what, const char *suffix,
                   uint64_t min, uint64_t max, uint64_t *out, char *msg, size_t msgsize)
{
    if (!text)
        return s_fail(msg, msgsize, name, what, "", "empty");
    const char *p = text;
    uint64_t v = 0;
    int rc = s_digits(&p, &v);
    if (rc == -1)
        return s_fail(msg, msgsize, name, what, text, s_why_not_digits(text));
    if (rc == -2)
        return s_fail(msg, msgsize, name, what, text, "too large");
    if (*p && !(suffix && strcmp(p, suffix) == 0))
        return s_fail(msg, msgsize, name, what, text, NULL);
    if (v < min || v > max)
        return s_fail(msg, msgsize, name, what, text, v < min ? "too small" : "too large");
    if (out)
        *out = v;
    return FC_OK;
}

int fc_optval_uint(const char *name, const char *text, uint64_t min, uint64_t max, uint64_t *out,
                   char *msg, size_t msgsize)
{
    char what[80] = "a whole number";
    if (min != 0 || max != UINT64_MAX)
        snprintf(what, sizeof what, "a whole number %" PRIu64 "..%" PRIu64, min, max);
    return s_whole(name, text, what, NULL, min, max, out, msg, msgsize);
}

int fc_optval_int(const char *name, const char *text, int64_t min, int64_t max, int64_t *out,
                  char *msg, size_t msgsize)
{
    char what[80] = "a whole number";
    if (min != INT64_MIN || max != INT64_MAX)
        snprintf(what, sizeof what, "a whole number %" PRId64 "..%" PRId64, min, max);
    if (!text || !*text)
        return s_fail(msg, msgsize, name, what, text, "empty");
    bool negative = *text == '-';
    const char *p = text + negative;
    uint64_t v = 0;
    int rc = s_digits(&p, &v);
    if (rc == -1)
        return s_fail(msg, msgsize, name, what, text,
                      *text == '+' ? "a '+'"
                      : negative   ? NULL
                                   : s_why_not_digits(text));
    /* The magnitude of INT64_MIN is INT64_MAX + 1. */
    if (rc == -2 || v > (uint64_t)INT64_MAX + negative)
        return s_fail(msg, msgsize, name, what, text, "too large");
    if (*p)
        return s_fail(msg, msgsize, name, what, text, NULL);
    int64_t s = negative ? (v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v) : (int64_t)v;
    if (s < min || s > max)
        return s_fail(msg, msgsize, name, what, text, s < min ? "too small" : "too large");
    if (out)
        *out = s;
    return FC_OK;
}

/* A unit suffix a scaled value may end with, and what it multiplies the number by. */
typedef struct {
    const char *suffix;
    uint64_t unit;
} s_unit_t;

/* How a scaled value (a size, a duration) reads: its unit suffixes ("" for a bare number),
   how a suffix is matched (strcmp, strcasecmp), and the words of its errors. */
typedef struct {
    const s_unit_t *units;
    size_t nunits;
    int (*match)(const char *, const char *);
    const char *finer; /* a fraction of the base unit */
    const char *small; /* below min */
    const char *big;   /* above max */
} s_scale_t;

/* The tail the size and duration parsers share: a number with an optional fraction, its
   unit, the range check and the message naming option name and what it needs. */
static int s_scaled_value(const char *name, const char *text, const char *what,
                          const s_scale_t *scale, uint64_t min, uint64_t max, uint64_t *out,
                          char *msg, size_t msgsize)
{
    if (!text)
        return s_fail(msg, msgsize, name, what, "", "empty");
    const char *p = NULL;
    uint64_t mant = 0, v = 0;
    unsigned frac = 0;
    int rc = s_scaled(text, &p, &mant, &frac);
    if (rc)
        return s_fail(msg, msgsize, name, what, text,
                      rc == -2 ? "too large" : s_why_not_digits(text));
    uint64_t unit = 0;
    for (size_t i = 0; i < scale->nunits && !unit; i++)
        if (scale->match(p, scale->units[i].suffix) == 0)
            unit = scale->units[i].unit;
    if (!unit)
        return s_fail(msg, msgsize, name, what, text, "unknown unit");
    rc = s_apply_unit(mant, frac, unit, &v);
    if (rc)
        return s_fail(msg, msgsize, name, what, text, rc == -2 ? "too large" : scale->finer);
    if (v < min || v > max)
        return s_fail(msg, msgsize, name, what, text, v < min ? scale->small : scale->big);
    if (out)
        *out = v;
    return FC_OK;
}

int fc_optval_size(const char *name, const char *text, uint64_t min, uint64_t max, uint64_t *out,
                   char *msg, size_t msgsize)
{
    char lo[32], hi[32], what[128];
    s_size_text(lo, sizeof lo, min);
    s_size_text(hi, sizeof hi, max);
    snprintf(what, sizeof what, "a size %s..%s bytes (4096, 64K, 8M, 1G; K = 1024)", lo, hi);
    static const s_unit_t units[] = {{"", 1},
                                     {"B", 1},
                                     {"K", 1ull << 10},
                                     {"KB", 1ull << 10},
                                     {"KiB", 1ull << 10},
                                     {"M", 1ull << 20},
                                     {"MB", 1ull << 20},
                                     {"MiB", 1ull << 20},
                                     {"G", 1ull << 30},
                                     {"GB", 1ull << 30},
                                     {"GiB", 1ull << 30},
                                     {"T", 1ull << 40},
                                     {"TB", 1ull << 40},
                                     {"TiB", 1ull << 40}};
    const s_scale_t scale = {.units = units,
                             .nunits = sizeof units / sizeof units[0],
                             .match = strcasecmp,
                             .finer = "not a whole number of bytes",
                             .small = "too small",
                             .big = "too large"};
    return s_scaled_value(name, text, what, &scale, min, max, out, msg, msgsize);
}

int fc_optval_duration(const char *name, const char *text, uint64_t unit_ms, uint64_t min_ms,
                       uint64_t max_ms, uint64_t *out_ms, char *msg, size_t msgsize)
{
    char lo[32], hi[32], what[160];
    s_duration_text(lo, sizeof lo, min_ms);
    s_duration_text(hi, sizeof hi, max_ms);
    snprintf(what, sizeof what,
             "a duration %s..%s (a number of %s, or with a unit: 500ms, 30s, "
             "5m, 1h)",
             lo, hi,
             unit_ms == 1000    ? "seconds"
             : unit_ms == 1     ? "milliseconds"
             : unit_ms == 60000 ? "minutes"
                                : "units");
    /* A bare number counts in the caller's unit_ms. */
    const s_unit_t units[] = {{"", unit_ms}, {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}};
    const s_scale_t scale = {.units = units,
                             .nunits = sizeof units / sizeof units[0],
                             .match = strcmp,
                             .finer = "finer than a millisecond",
                             .small = "too short",
                             .big = "too long"};
    return s_scaled_value(name, text, what, &scale, min_ms, max_ms, out_ms, msg, msgsize);
}

int fc_optval_percent(const char *name, const char *text, uint32_t min, uint32_t max, uint32_t *out,
                      char *msg, size_t msgsize)
{
    assert(min <= max && max <= 100);
    char what[64];
    snprintf(what, sizeof what, "a whole percentage %" PRIu32 "..%" PRIu32, min, max);
    uint64_t v = 0;
    int rc = s_whole(name, text, what, "%", min, max, &v, msg, msgsize);
    if (rc == FC_OK && out)
        *out = (uint32_t)v;
    return rc;
}

/* A host of length n: a name or IPv4 address, a [bracketed] IPv6 address, or * to bind. */
static bool s_host_ok(const char *h, size_t n, bool bind)
{
    if (n == 1 && *h == '*')
        return bind;
    if (n >= 3 && h[0] == '[' && h[n - 1] == ']') {
        for (size_t i = 1; i < n - 1; i++)
            if (!strchr("0123456789abcdefABCDEF:.%", h[i]) &&
                !((h[i] >= 'a' && h[i] <= 'z') || (h[i] >= 'A' && h[i] <= 'Z')))
                return false;
        return true;
    }
    if (n == 0 || n > 253 || *h == '-' || *h == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = h[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == '_'))
            return false;
    }
    return true;
}

/* "HOST:PORT" of length n; why is set for the message when it is not. */
static bool s_hostport_ok(const char *s, size_t n, bool bind, bool port_optional, const char **why)
{
    const char *colon = NULL;
    for (size_t i = 0; i < n; i++)
        if (s[i] == ':')
            colon = s + i;
    if (colon && s[0] == '[' && colon < (const char *)memchr(s, ']', n))
        colon = NULL; /* the colon is inside the IPv6 address */
    if (!colon) {
        *why = port_optional ? NULL : "no port";
        return port_optional && s_host_ok(s, n, bind);
    }
    size_t hlen = (size_t)(colon - s), plen = n - hlen - 1;
    if (!s_host_ok(s, hlen, bind)) {
        *why = !hlen ? "no host" : hlen == 1 && *s == '*' ? "* only to bind" : "bad host";
        return false;
    }
    const char *port = colon + 1;
    if (plen == 1 && *port == '*' && bind)
        return true;
    uint64_t v = 0;
    const char *p = port;
    if (plen == 0 || s_digits(&p, &v) || (size_t)(p - port) != plen || plen > 5 || v > 65535 ||
        (v == 0 && !port_optional)) {
        *why = plen == 0 ? "no port" : "port not 1..65535";
        return false;
    }
    return true;
}

int fc_optval_endpoint(const char *name, const char *text, int flags, char *msg, size_t msgsize)
{
    bool bind = flags & FC_OPTVAL_BIND;
    char what[160];
    snprintf(what, sizeof what, "an endpoint tcp://HOST:PORT%s%s%s",
             bind ? " (HOST or PORT may be *)" : "", flags & FC_OPTVAL_IPC ? " or ipc://PATH" : "",
             flags & FC_OPTVAL_INPROC ? " or inproc://NAME" : "");
    if (!text || !*text)
        return s_fail(msg, msgsize, name, what, text, "empty");
    for (const char *c = text; *c; c++)
        if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f)
            return s_fail(msg, msgsize, name, what, text, "a blank or control character");
    const char *why = NULL;
    if (strncmp(text, "tcp://", 6) == 0) {
        const char *s = text + 6;
        const char *semi = strchr(s, ';');
        if (semi && bind)
            return s_fail(msg, msgsize, name, what, text, "a source address to bind");
        if (semi && !s_hostport_ok(s, (size_t)(semi - s), false, true, &why))
            return s_fail(msg, msgsize, name, what, text, "bad source address");
        if (semi)
            s = semi + 1;
        if (!s_hostport_ok(s, strlen(s), bind, false, &why))
            return s_fail(msg, msgsize, name, what, text, why);
        return FC_OK;
    }
    if (strncmp(text, "ipc://", 6) == 0 && (flags & FC_OPTVAL_IPC)) {
        size_t n = strlen(text + 6);
        if (n == 0 || n > 107)
            return s_fail(msg, msgsize, name, what, text, n ? "path too long" : "no path");
        return FC_OK;
    }
    if (strncmp(text, "inproc://", 9) == 0 && (flags & FC_OPTVAL_INPROC)) {
        if (!text[9])
            return s_fail(msg, msgsize, name, what, text, "no name");
        return FC_OK;
    }
    return s_fail(msg, msgsize, name, what, text, "unknown or unsupported transport");
}

int fc_optval_refuse(const char *name, const char *what, const char *text, char *msg,
                     size_t msgsize)
{
    return s_fail(msg, msgsize, name, what, text, NULL);
}

/* --- self-test -------------------------------------------------------------------------- */

typedef enum { S_UINT, S_INT, S_SIZE, S_DUR, S_PCT, S_EP } s_kind_t;

typedef struct {
    s_kind_t kind;
    const char *text;
    int64_t a, b; /* range (uint/int/size/duration/percent); flags for endpoints */
    int rc;
    uint64_t want; /* the value when rc is FC_OK (a signed one as its two's complement) */
} s_case_t;

#define U64MAX ((int64_t)-1) /* UINT64_MAX through int64_t, for the table */

static const s_case_t s_cases[] = {
    /* unsigned whole numbers */
    {S_UINT, "0", 0, U64MAX, FC_OK, 0},
    {S_UINT, "42", 0, U64MAX, FC_OK, 42},
    {S_UINT, "007", 0, U64MAX, FC_OK, 7},
    {S_UINT, "18446744073709551615", 0, U64MAX, FC_OK, UINT64_MAX},
    {S_UINT, "18446744073709551616", 0, U64MAX, FC_EINVAL, 0},
    {S_UINT, "99999999999999999999999", 0, U64MAX, FC_EINVAL, 0},
    {S_UINT, "", 0, U64MAX, FC_EINVAL, 0},
    {S_UINT, "abc", 0, U64MAX, FC_EINVAL, 0},
    {S_UINT, "12x", 0, U64MAX, FC_EINVAL, 0},
    {S_UINT, "-1", 0, U64MAX, FC_EINVAL, 0},
    {S_UINT, "+1", 0, U64MAX, FC_EINVAL, 0},
    {S_UINT, " 1", 0, U64MAX, FC_EINVAL, 0},
    {S_UINT, "1 ", 0, U64MAX, FC_EINVAL, 0},
    {S_UINT, "0x10", 0, U64MAX, FC_EINVAL, 0},
    {S_UINT, "1e3", 0, U64MAX, FC_EINVAL, 0},
    {S_UINT, "1.0", 0, U64MAX, FC_EINVAL, 0},
    {S_UINT, "5", 1, 4, FC_EINVAL, 0},
    {S_UINT, "0", 1, 4, FC_EINVAL, 0},
    {S_UINT, "4", 1, 4, FC_OK, 4},
    /* signed whole numbers */
    {S_INT, "-5", -10, 10, FC_OK, (uint64_t)-5},
    {S_INT, "-0", -10, 10, FC_OK, 0},
    {S_INT, "10", -10, 10, FC_OK, 10},
    {S_INT, "-11", -10, 10, FC_EINVAL, 0},
    {S_INT, "+5", -10, 10, FC_EINVAL, 0},
    {S_INT, "-", -10, 10, FC_EINVAL, 0},
    {S_INT, "--5", -10, 10, FC_EINVAL, 0},
    {S_INT, "-9223372036854775808", INT64_MIN, INT64_MAX, FC_OK, (uint64_t)INT64_MIN},
    {S_INT, "-9223372036854775809", INT64_MIN, INT64_MAX, FC_EINVAL, 0},
    {S_INT, "9223372036854775807", INT64_MIN, INT64_MAX, FC_OK, (uint64_t)INT64_MAX},
    {S_INT, "9223372036854775808", INT64_MIN, INT64_MAX, FC_EINVAL, 0},
    /* sizes */
    {S_SIZE, "4096", 1, U64MAX, FC_OK, 4096},
    {S_SIZE, "64K", 1, U64MAX, FC_OK, 65536},
    {S_SIZE, "64k", 1, U64MAX, FC_OK, 65536},
    {S_SIZE, "4KiB", 1, U64MAX, FC_OK, 4096},
    {S_SIZE, "4kb", 1, U64MAX, FC_OK, 4096},
    {S_SIZE, "8M", 1, U64MAX, FC_OK, 8 << 20},
    {S_SIZE, "1G", 1, U64MAX, FC_OK, 1 << 30},
    {S_SIZE, "1.5K", 1, U64MAX, FC_OK, 1536},
    {S_SIZE, "2T", 1, U64MAX, FC_OK, 2ull << 40},
    {S_SIZE, "100B", 1, U64MAX, FC_OK, 100},
    {S_SIZE, "1.0001K", 1, U64MAX, FC_EINVAL, 0},
    {S_SIZE, "0.5", 1, U64MAX, FC_EINVAL, 0},
    {S_SIZE, "16777216T", 1, U64MAX, FC_EINVAL, 0},
    {S_SIZE, "4Q", 1, U64MAX, FC_EINVAL, 0},
    {S_SIZE, "4 K", 1, U64MAX, FC_EINVAL, 0},
    {S_SIZE, "-4M", 1, U64MAX, FC_EINVAL, 0},
    {S_SIZE, "1.5.2", 1, U64MAX, FC_EINVAL, 0},
    {S_SIZE, ".5K", 1, U64MAX, FC_EINVAL, 0},
    {S_SIZE, "5.K", 1, U64MAX, FC_EINVAL, 0},
    {S_SIZE, "K", 1, U64MAX, FC_EINVAL, 0},
    {S_SIZE, "0", 1, U64MAX, FC_EINVAL, 0},
    {S_SIZE, "2G", 1, 1 << 30, FC_EINVAL, 0},
    /* durations, a bare number in seconds */
    {S_DUR, "30", 0, 1000000000, FC_OK, 30000},
    {S_DUR, "30s", 0, 1000000000, FC_OK, 30000},
    {S_DUR, "500ms", 0, 1000000000, FC_OK, 500},
    {S_DUR, "0.5", 0, 1000000000, FC_OK, 500},
    {S_DUR, "1.5m", 0, 1000000000, FC_OK, 90000},
    {S_DUR, "5m", 0, 1000000000, FC_OK, 300000},
    {S_DUR, "2h", 0, 1000000000, FC_OK, 7200000},
    {S_DUR, "0", 0, 1000000000, FC_OK, 0},
    {S_DUR, "0", 1, 1000000000, FC_EINVAL, 0},
    {S_DUR, "0.0001", 0, 1000000000, FC_EINVAL, 0},
    {S_DUR, "1.250000000000000000", 0, 1000000000, FC_EINVAL, 0},
    {S_DUR, "1.2500", 0, 1000000000, FC_OK, 1250},
    {S_DUR, "-5", 0, 1000000000, FC_EINVAL, 0},
    {S_DUR, "10x", 0, 1000000000, FC_EINVAL, 0},
    {S_DUR, "5 s", 0, 1000000000, FC_EINVAL, 0},
    {S_DUR, "5S", 0, 1000000000, FC_EINVAL, 0},
    {S_DUR, "3s5", 0, 1000000000, FC_EINVAL, 0},
    {S_DUR, "1e3", 0, 1000000000, FC_EINVAL, 0},
    {S_DUR, "0x10", 0, 1000000000, FC_EINVAL, 0},
    {S_DUR, "inf", 0, 1000000000, FC_EINVAL, 0},
    {S_DUR, "nan", 0, 1000000000, FC_EINVAL, 0},
    {S_DUR, "1000001", 0, 1000000000, FC_EINVAL, 0},
    {S_DUR, "99999999999999999h", 0, 1000000000, FC_EINVAL, 0},
    /* percentages */
    {S_PCT, "25", 1, 100, FC_OK, 25},
    {S_PCT, "25%", 1, 100, FC_OK, 25},
    {S_PCT, "100", 1, 100, FC_OK, 100},
    {S_PCT, "0", 0, 100, FC_OK, 0},
    {S_PCT, "0", 1, 100, FC_EINVAL, 0},
    {S_PCT, "150", 1, 100, FC_EINVAL, 0},
    {S_PCT, "10.5", 1, 100, FC_EINVAL, 0},
    {S_PCT, "25%%", 1, 100, FC_EINVAL, 0},
    {S_PCT, "%", 1, 100, FC_EINVAL, 0},
    {S_PCT, " 50", 1, 100, FC_EINVAL, 0},
    {S_PCT, "-5", 1, 100, FC_EINVAL, 0},
    {S_PCT, "99999999999999999999", 1, 100, FC_EINVAL, 0},
    /* endpoints to connect to */
    {S_EP, "tcp://127.0.0.1:7400", FC_OPTVAL_IPC, 0, FC_OK, 0},
    {S_EP, "tcp://broker.example.com:7400", 0, 0, FC_OK, 0},
    {S_EP, "tcp://[::1]:7400", 0, 0, FC_OK, 0},
    {S_EP, "tcp://[fe80::1%eth0]:7400", 0, 0, FC_OK, 0},
    {S_EP, "tcp://192.168.0.9;10.1.2.3:7400", 0, 0, FC_OK, 0},
    {S_EP, "tcp://192.168.0.9:0;10.1.2.3:7400", 0, 0, FC_OK, 0},
    {S_EP, "ipc:///run/fleetcast/svc", FC_OPTVAL_IPC, 0, FC_OK, 0},
    {S_EP, "ipc:///run/fleetcast/svc", 0, 0, FC_EINVAL, 0},
    {S_EP, "inproc://svc", FC_OPTVAL_INPROC, 0, FC_OK, 0},
    {S_EP, "inproc://svc", FC_OPTVAL_IPC, 0, FC_EINVAL, 0},
    {S_EP, "inproc://", FC_OPTVAL_INPROC, 0, FC_EINVAL, 0},
    {S_EP, "ipc://", FC_OPTVAL_IPC, 0, FC_EINVAL, 0},
    {S_EP, "tcp://*:7400", 0, 0, FC_EINVAL, 0},
    {S_EP, "tcp://host:*", 0, 0, FC_EINVAL, 0},
    {S_EP, "tcp://host:0", 0, 0, FC_EINVAL, 0},
    {S_EP, "tcp://host:65536", 0, 0, FC_EINVAL, 0},
    {S_EP, "tcp://host:007400", 0, 0, FC_EINVAL, 0},
    {S_EP, "tcp://host:74x", 0, 0, FC_EINVAL, 0},
    {S_EP, "tcp://host:", 0, 0, FC_EINVAL, 0},
    {S_EP, "tcp://host", 0, 0, FC_EINVAL, 0},
    {S_EP, "tcp://:7400", 0, 0, FC_EINVAL, 0},
    {S_EP, "tcp://", 0, 0, FC_EINVAL, 0},
    {S_EP, "tcp://ho st:7400", 0, 0, FC_EINVAL, 0},
    {S_EP, "tcp://host:7400 ", 0, 0, FC_EINVAL, 0},
    {S_EP, "tcp://::1:7400", 0, 0, FC_EINVAL, 0},
    {S_EP, "udp://host:7400", FC_OPTVAL_IPC | FC_OPTVAL_INPROC, 0, FC_EINVAL, 0},
    {S_EP, "127.0.0.1:7400", 0, 0, FC_EINVAL, 0},
    {S_EP, "", 0, 0, FC_EINVAL, 0},
    /* endpoints to bind */
    {S_EP, "tcp://*:7400", FC_OPTVAL_BIND, 0, FC_OK, 0},
    {S_EP, "tcp://127.0.0.1:*", FC_OPTVAL_BIND, 0, FC_OK, 0},
    {S_EP, "tcp://[::]:7401", FC_OPTVAL_BIND, 0, FC_OK, 0},
    {S_EP, "tcp://eth0:7401", FC_OPTVAL_BIND, 0, FC_OK, 0},
    {S_EP, "tcp://*:0", FC_OPTVAL_BIND, 0, FC_EINVAL, 0},
    {S_EP, "tcp://*:99999", FC_OPTVAL_BIND, 0, FC_EINVAL, 0},
    {S_EP, "tcp://*:abc", FC_OPTVAL_BIND, 0, FC_EINVAL, 0},
    {S_EP, "tcp://a;b:7400", FC_OPTVAL_BIND, 0, FC_EINVAL, 0},
    {S_EP, "inproc://x", FC_OPTVAL_BIND | FC_OPTVAL_IPC, 0, FC_EINVAL, 0},
};

static int s_run(const s_case_t *c, uint64_t *got, char *msg, size_t msgsize)
{
    const char *name = "--opt";
    switch (c->kind) {
    case S_UINT:
        return fc_optval_uint(name, c->text, (uint64_t)c->a, (uint64_t)c->b, got, msg, msgsize);
    case S_INT: {
        int64_t v = 0;
        int rc = fc_optval_int(name, c->text, c->a, c->b, &v, msg, msgsize);
        *got = (uint64_t)v;
        return rc;
    }
    case S_SIZE:
        return fc_optval_size(name, c->text, (uint64_t)c->a, (uint64_t)c->b, got, msg, msgsize);
    case S_DUR:
        return fc_optval_duration(name, c->text, 1000, (uint64_t)c->a, (uint64_t)c->b, got, msg,
                                  msgsize);
    case S_PCT: {
        uint32_t v = 0;
        int rc = fc_optval_percent(name, c->text, (uint32_t)c->a, (uint32_t)c->b, &v, msg, msgsize);
        *got = v;
        return rc;
    }
    case S_EP:
        *got = 0;
        return fc_optval_endpoint(name, c->text, (int)c->a, msg, msgsize);
    }
    return -1;
}

void fc_optval_test(bool verbose)
{
    printf(" * fc_optval: ");
    char msg[256];
    for (size_t i = 0; i < sizeof s_cases / sizeof s_cases[0]; i++) {
        const s_case_t *c = &s_cases[i];
        uint64_t got = 12345;
        msg[0] = '\0';
        int rc = s_run(c, &got, msg, sizeof msg);
        if (verbose || rc != c->rc || (rc == FC_OK && got != c->want))
            printf("\n   case %zu '%s': rc %d (want %d) value %" PRIu64 " (want %" PRIu64 ") %s", i,
                   c->text, rc, c->rc, got, c->want, msg);
        fflush(stdout);
        FC_CHECK(rc == c->rc);
        if (rc == FC_OK)
            FC_CHECK(got == c->want);
        else {
            /* Every refusal names the option and quotes the value as given. */
            char quoted[128];
            snprintf(quoted, sizeof quoted, "'%s'", c->text);
            FC_CHECK(strncmp(msg, "--opt needs ", 12) == 0);
            FC_CHECK(strstr(msg, quoted));
        }
    }
    /* A refusal leaves *out alone. */
    uint64_t keep = 7;
    int rc = fc_optval_uint("--n", "x", 0, 10, &keep, NULL, 0);
    FC_CHECK(rc == FC_EINVAL && keep == 7);

    /* The message: option, range, value, and why. */
    rc = fc_optval_uint("--serial", "abc", 1, INT64_MAX, NULL, msg, sizeof msg);
    FC_CHECK(rc == FC_EINVAL);
    FC_CHECK(!strcmp(msg, "--serial needs a whole number 1..9223372036854775807, not 'abc'"));
    rc = fc_optval_percent("--restart-share", "150", 1, 100, NULL, msg, sizeof msg);
    FC_CHECK(rc == FC_EINVAL);
    FC_CHECK(
        !strcmp(msg, "--restart-share needs a whole percentage 1..100, not '150' (too large)"));
    rc = fc_optval_duration("--hook-timeout", "-5", 1000, 0, 1000000000, NULL, msg, sizeof msg);
    FC_CHECK(rc == FC_EINVAL);
    FC_CHECK(strstr(msg, "--hook-timeout needs a duration 0s..1000000s (a number of seconds"));
    FC_CHECK(strstr(msg, "not '-5' (a sign)"));
    rc = fc_optval_size("--window", "64x", 65536, 1 << 30, NULL, msg, sizeof msg);
    FC_CHECK(rc == FC_EINVAL);
    FC_CHECK(strstr(msg, "--window needs a size 64K..1G bytes"));
    rc = fc_optval_endpoint("--broker", "tcp://h:70000", 0, msg, sizeof msg);
    FC_CHECK(rc == FC_EINVAL);
    FC_CHECK(!strcmp(msg, "--broker needs an endpoint tcp://HOST:PORT, not 'tcp://h:70000' (port "
                          "not 1..65535)"));

    rc = fc_optval_refuse("--listen", "HOST:PORT", "x\ty", msg, sizeof msg);
    FC_CHECK(rc == FC_EINVAL && !strcmp(msg, "--listen needs HOST:PORT, not 'x?y'"));

    /* A hostile value is clipped and its control characters replaced. */
    char evil[300];
    memset(evil, 'A', sizeof evil - 1);
    evil[sizeof evil - 1] = '\0';
    evil[0] = '\033';
    rc = fc_optval_uint("--n", evil, 0, 10, NULL, msg, sizeof msg);
    FC_CHECK(rc == FC_EINVAL);
    FC_CHECK(!strchr(msg, '\033') && strstr(msg, "'?AAA") && strstr(msg, "A...'"));
    FC_CHECK(strlen(msg) < 200);
    /* A message buffer too small is cut, still terminated. */
    char tiny[8];
    rc = fc_optval_uint("--serial", "abc", 0, 10, NULL, tiny, sizeof tiny);
    FC_CHECK(rc == FC_EINVAL && strlen(tiny) == 7);
    printf("OK\n");
}
