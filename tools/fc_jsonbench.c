/* fc_jsonbench.c: fleetcast-jsonbench, times fc_json_to_msgpack on a config-like document. */
#include "fc_error.h"
#include "fc_json_parse.h"
#include "fc_optval.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Far above any real config value (FC_MAX_VALUE) or schema, so that the figure is the
   parser's and not the call's overhead. */
#define S_DEFAULT_SIZE (1u << 20)
#define S_DEFAULT_ROUNDS 30

/* A positive decimal number for option name, or -1 with the reason printed. */
static long long s_number(const char *name, const char *text, long long max)
{
    uint64_t v = 0;
    char msg[256];
    if (fc_optval_uint(name, text, 1, (uint64_t)max, &v, msg, sizeof msg)) {
        fprintf(stderr, "fleetcast-jsonbench: %s\n", msg);
        return -1;
    }
    return (long long)v;
}

/* One object of size bytes or a little more, shaped like a large config: keys with dots,
   integers, floats, booleans, strings with escapes and non-ASCII text, nested objects and
   arrays. Caller frees. */
static char *s_document(size_t size, size_t *len)
{
    size_t cap = size + 4096;
    char *doc = (char *)malloc(cap);
    if (!doc)
        return NULL;
    size_t n = 0;
    doc[n++] = '{';
    for (unsigned i = 0; n < size; i++) {
        n += (size_t)snprintf(
            doc + n, cap - n,
            "%s\n  \"service%u.limits\": {\"port\": %u, \"timeout\": %u.%02u, \"enabled\": %s, "
            "\"name\": \"w\\u00e9b \\\"%u\\\" caf\xc3\xa9\", \"ratio\": -%ue-3, "
            "\"tags\": [\"a\", \"b\\n\", %u, null, [1, 2.5, {\"k\": false}]]}",
            i ? "," : "", i, 1024 + i % 60000, i % 90, i % 100, i % 2 ? "true" : "false", i, i,
            i * 7919u);
    }
    n += (size_t)snprintf(doc + n, cap - n, "\n}\n");
    *len = n;
    return doc;
}

static double s_cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int s_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    long long size = S_DEFAULT_SIZE, rounds = S_DEFAULT_ROUNDS;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: fleetcast-jsonbench [--size BYTES] [--rounds N]\n"
                   "Parses a config-like JSON document of about BYTES (default %u) into msgpack "
                   "N times\n(default %d) and prints the document's size and the CPU time per "
                   "parse (best, median)\nand the throughput at the median.\n",
                   S_DEFAULT_SIZE, S_DEFAULT_ROUNDS);
            return 0;
        } else if (!strcmp(argv[i], "--size") && i + 1 < argc) {
            if ((size = s_number("--size", argv[++i], 1ll << 30)) < 0)
                return 2;
        } else if (!strcmp(argv[i], "--rounds") && i + 1 < argc) {
            if ((rounds = s_number("--rounds", argv[++i], 100000)) < 0)
                return 2;
        } else {
            fprintf(stderr, "fleetcast-jsonbench: unknown option \"%s\" (see --help)\n", argv[i]);
            return 2;
        }
    }
    size_t len = 0;
    char *doc = s_document((size_t)size, &len);
    double *ms = (double *)calloc((size_t)rounds, sizeof(double));
    if (!doc || !ms) {
        fprintf(stderr, "fleetcast-jsonbench: out of memory\n");
        return 1;
    }
    size_t outlen = 0;
    for (long long r = 0; r < rounds; r++) {
        uint8_t *out = NULL;
        char msg[160];
        double start = s_cpu_ms();
        int rc = fc_json_to_msgpack(doc, len, len, &out, &outlen, msg, sizeof msg);
        ms[r] = s_cpu_ms() - start;
        free(out);
        if (rc) {
            fprintf(stderr, "fleetcast-jsonbench: the document was refused: %s\n", msg);
            return 1;
        }
    }
    qsort(ms, (size_t)rounds, sizeof(double), s_cmp);
    double median = ms[rounds / 2];
    printf("document %zu bytes (msgpack %zu), %lld rounds: CPU per parse best %.1f us, "
           "median %.1f us, %.1f MiB/s at the median\n",
           len, outlen, rounds, ms[0] * 1e3, median * 1e3,
           median > 0 ? (double)len / (1 << 20) / (median / 1e3) : 0.0);
    free(ms);
    free(doc);
    return 0;
}
