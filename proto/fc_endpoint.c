/* fc_endpoint.c: the endpoint a peer reaches a bound socket at (the announce endpoint named
   in WELCOME). */
#include "fc_endpoint.h"
#include "fc_limits.h"
#include "fc_test_check.h"

#include <stdio.h>
#include <string.h>

/* Splits "tcp://HOST:PORT" into host and port spans (host may be "[v6]"). 0 or -1. */
static int s_tcp_split(const char *ep, const char **host, size_t *hostlen, const char **port)
{
    if (strncmp(ep, "tcp://", 6) != 0)
        return -1;
    const char *h = ep + 6;
    /* A connect endpoint may name a source address first: "tcp://src;dst:port". */
    const char *semi = strchr(h, ';');
    if (semi)
        h = semi + 1;
    const char *colon = strrchr(h, ':');
    if (!colon || colon == h || colon[1] == '\0')
        return -1;
    *host = h;
    *hostlen = (size_t)(colon - h);
    *port = colon + 1;
    return 0;
}

static bool s_span_is(const char *s, size_t len, const char *lit)
{
    return strlen(lit) == len && !memcmp(s, lit, len);
}

int fc_endpoint_for_peer(char *out, size_t outsize, const char *bound, const char *via)
{
    if (!out || outsize == 0 || !bound)
        return -1;
    const char *bhost, *bport;
    size_t bhostlen;
    bool wildcard = false;
    if (s_tcp_split(bound, &bhost, &bhostlen, &bport) == 0)
        wildcard = s_span_is(bhost, bhostlen, "*") || s_span_is(bhost, bhostlen, "0.0.0.0") ||
                   s_span_is(bhost, bhostlen, "[::]") || s_span_is(bhost, bhostlen, "[*]");
    else if (strncmp(bound, "tcp://", 6) == 0)
        return -1; /* tcp without a usable host:port */

    int n;
    if (!wildcard)
        n = snprintf(out, outsize, "%s", bound); /* a named host, ipc://, inproc:// */
    else {
        if (!strcmp(bport, "*") || !strcmp(bport, "!") || bport[0] == '!')
            return -1; /* ephemeral port: the caller must pass the resolved endpoint */
        const char *vhost = "127.0.0.1", *vport;
        size_t vhostlen = strlen(vhost);
        /* A peer that came over ipc:// or inproc:// is on this machine. */
        if (via && strncmp(via, "tcp://", 6) == 0 &&
            s_tcp_split(via, &vhost, &vhostlen, &vport) != 0)
            return -1;
        n = snprintf(out, outsize, "tcp://%.*s:%s", (int)vhostlen, vhost, bport);
    }
    if (n < 0 || (size_t)n >= outsize)
        return -1;
    return 0;
}

static void s_endpoint_case(const char *bound, const char *via, const char *expect)
{
    char out[FC_MAX_ENDPOINT + 1];
    int rc = fc_endpoint_for_peer(out, sizeof out, bound, via);
    if (expect) {
        FC_CHECK(rc == 0);
        FC_CHECK(!strcmp(out, expect));
    } else
        FC_CHECK(rc == -1);
}

void fc_endpoint_test(bool verbose)
{
    (void)verbose;
    printf(" * fc_endpoint: ");
    /* Announce endpoint as seen by a peer. */
    s_endpoint_case("tcp://*:7401", "tcp://10.1.2.3:7400", "tcp://10.1.2.3:7401");
    s_endpoint_case("tcp://0.0.0.0:7401", "tcp://10.1.2.3:7400", "tcp://10.1.2.3:7401");
    s_endpoint_case("tcp://[::]:7401", "tcp://[fe80::1]:7400", "tcp://[fe80::1]:7401");
    s_endpoint_case("tcp://*:7401", "tcp://broker.example.com:7400",
                    "tcp://broker.example.com:7401");
    s_endpoint_case("tcp://*:7401", "tcp://192.168.0.9;10.1.2.3:7400", "tcp://10.1.2.3:7401");
    s_endpoint_case("tcp://192.168.1.5:7401", "tcp://10.1.2.3:7400", "tcp://192.168.1.5:7401");
    s_endpoint_case("ipc:///run/fleetcast/pub", "tcp://10.1.2.3:7400", "ipc:///run/fleetcast/pub");
    s_endpoint_case("tcp://*:7401", "ipc:///run/fleetcast/svc", "tcp://127.0.0.1:7401");
    s_endpoint_case("tcp://*:*", "tcp://10.1.2.3:7400", NULL);
    s_endpoint_case("tcp://*:7401", "tcp://nohostport", NULL);
    s_endpoint_case("tcp://nonsense", "tcp://10.1.2.3:7400", NULL);
    char tiny[10];
    FC_CHECK(fc_endpoint_for_peer(tiny, sizeof tiny, "tcp://*:7401", "tcp://10.1.2.3:7400") == -1);
    printf("OK\n");
}
