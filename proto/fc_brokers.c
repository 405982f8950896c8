/* fc_brokers.c: lists of broker endpoints (fc_brokers.h). */
#include "fc_brokers.h"
#include "fc_error.h"
#include "fc_limits.h"
#include "fc_optval.h"
#include "fc_test_check.h"

#include <stdio.h>
#include <string.h>

size_t fc_brokers_count(const char *list)
{
    if (!list || !*list)
        return 0;
    size_t n = 1;
    for (const char *p = list; *p; p++)
        n += *p == ',';
    return n;
}

int fc_brokers_nth(const char *list, size_t i, char *buf, size_t size)
{
    if (!list || size == 0)
        return FC_EINVAL;
    const char *p = list;
    for (; i > 0; i--) {
        p = strchr(p, ',');
        if (!p)
            return FC_EINVAL;
        p++;
    }
    const char *end = strchr(p, ',');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    if (len >= size)
        return FC_EINVAL;
    memcpy(buf, p, len);
    buf[len] = '\0';
    return 0;
}

int fc_brokers_check(const char *name, const char *list, int flags, char *msg, size_t msgsize)
{
    size_t n = fc_brokers_count(list);
    if (n == 0 || n > FC_MAX_BROKERS) {
        snprintf(msg, msgsize, "%s needs 1 to %d endpoints separated by commas, not '%s'", name,
                 FC_MAX_BROKERS, list ? list : "");
        return FC_EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        char ep[FC_MAX_ENDPOINT + 1];
        if (fc_brokers_nth(list, i, ep, sizeof ep) != 0 || !*ep) {
            snprintf(msg, msgsize, "%s: entry %zu of '%s' is empty or longer than %d bytes", name,
                     i + 1, list, FC_MAX_ENDPOINT);
            return FC_EINVAL;
        }
        if (fc_optval_endpoint(name, ep, flags, msg, msgsize) != 0)
            return FC_EINVAL;
    }
    return 0;
}

void fc_brokers_test(bool verbose)
{
    if (verbose)
        printf(" * fc_brokers: ");
    char ep[FC_MAX_ENDPOINT + 1], msg[256];
    FC_CHECK(fc_brokers_count(NULL) == 0 && fc_brokers_count("") == 0);
    FC_CHECK(fc_brokers_count("tcp://a:1") == 1);
    FC_CHECK(fc_brokers_count("tcp://a:1,tcp://b:2") == 2);
    FC_CHECK(fc_brokers_nth("tcp://a:1,tcp://b:2", 0, ep, sizeof ep) == 0 &&
             !strcmp(ep, "tcp://a:1"));
    FC_CHECK(fc_brokers_nth("tcp://a:1,tcp://b:2", 1, ep, sizeof ep) == 0 &&
             !strcmp(ep, "tcp://b:2"));
    FC_CHECK(fc_brokers_nth("tcp://a:1,tcp://b:2", 2, ep, sizeof ep) == FC_EINVAL);
    FC_CHECK(fc_brokers_nth("tcp://a:1", 0, ep, 4) == FC_EINVAL); /* does not fit */
    /* A single endpoint is a list of one; bad entries, empty ones and too many are refused. */
    FC_CHECK(fc_brokers_check("--broker", "tcp://a:1", FC_OPTVAL_IPC, msg, sizeof msg) == 0);
    FC_CHECK(fc_brokers_check("--broker", "tcp://a:1,ipc:///tmp/x", FC_OPTVAL_IPC, msg,
                              sizeof msg) == 0);
    FC_CHECK(fc_brokers_check("--broker", "tcp://a:1,", FC_OPTVAL_IPC, msg, sizeof msg) ==
             FC_EINVAL);
    FC_CHECK(strstr(msg, "entry 2") != NULL);
    FC_CHECK(fc_brokers_check("--broker", "tcp://a:1,tcp://b", FC_OPTVAL_IPC, msg, sizeof msg) ==
             FC_EINVAL);
    FC_CHECK(fc_brokers_check("--broker", "", FC_OPTVAL_IPC, msg, sizeof msg) == FC_EINVAL);
    char many[FC_MAX_BROKERS * 16 + 32] = "";
    for (int i = 0; i <= FC_MAX_BROKERS; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "%stcp://a:%d", i ? "," : "",
                 i + 1);
    FC_CHECK(fc_brokers_check("--broker", many, FC_OPTVAL_IPC, msg, sizeof msg) == FC_EINVAL);
    if (verbose)
        printf("OK\n");
}
