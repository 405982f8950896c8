/* fc_link.c: a client's link to the broker from monitor events, and what to tell the
   operator about it (fc_link.h). */
#include "fc_link.h"
#include "fc_test_check.h"

#include <czmq.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#define FC_LINK_NAME(value, name) [value] = name,
static const char *s_names[] = {FC_LINK_TABLE(FC_LINK_NAME)};
#undef FC_LINK_NAME

const char *fc_link_name(fc_link_state_t link)
{
    return (unsigned)link < FC_LINK_END ? s_names[link] : "?";
}

bool fc_link_failing(fc_link_state_t link)
{
    return link == FC_LINK_NO_LISTENER || fc_link_misconfigured(link);
}

bool fc_link_misconfigured(fc_link_state_t link)
{
    return link == FC_LINK_KEY_REFUSED || link == FC_LINK_MECHANISM || link == FC_LINK_SERVER_KEY;
}

fc_link_state_t fc_link_next(fc_link_state_t link, const char *event, int64_t value, bool curve)
{
    if (!event)
        return link;
    if (streq(event, "HANDSHAKE_SUCCEEDED"))
        return FC_LINK_UP;
    if (streq(event, "CONNECT_RETRIED"))
        return FC_LINK_NO_LISTENER;
    /* ZAP said no (400): our key is not enrolled, or was revoked. */
    if (streq(event, "HANDSHAKE_FAILED_AUTH"))
        return FC_LINK_KEY_REFUSED;
    if (streq(event, "HANDSHAKE_FAILED_PROTOCOL"))
        return value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH || !curve ? FC_LINK_MECHANISM
                                                                             : FC_LINK_SERVER_KEY;
    /* A CURVE server that cannot open our HELLO (it was boxed for another server's key)
       closes the connection without a word: all the client sees is a handshake cut short.
       A plain client cut short is a broker that speaks CURVE, told as a mismatch too. */
    if (streq(event, "HANDSHAKE_FAILED_NO_DETAIL"))
        return curve ? FC_LINK_SERVER_KEY : FC_LINK_MECHANISM;
    if (streq(event, "DISCONNECTED") && link == FC_LINK_UP)
        return FC_LINK_UNKNOWN;
    return link;
}

const char *fc_link_advice(fc_link_state_t link, const char *endpoint, fc_role_t role,
                           const char *own_key, bool curve, char *buf, size_t size)
{
    const char *rname = fc_role_valid(role) ? fc_role_name(role) : "client";
    const char *key = own_key ? own_key : "KEY";
    switch (link) {
    case FC_LINK_NO_LISTENER:
        snprintf(buf, size, "nothing listens at %s: is the broker running?", endpoint);
        break;
    case FC_LINK_KEY_REFUSED:
        snprintf(buf, size,
                 "the broker refused this %s's key: enrol it with `fleetcast keys add-%s '%s' "
                 "--data BROKER_DATA_DIR` on the broker (at %s)",
                 rname, rname, key, endpoint);
        break;
    case FC_LINK_SERVER_KEY:
        snprintf(buf, size,
                 "the broker's key does not match --broker-key: the broker at %s dropped the "
                 "CURVE handshake (give the broker.cert of that broker)",
                 endpoint);
        break;
    case FC_LINK_MECHANISM:
        if (curve)
            snprintf(buf, size,
                     "the broker at %s does not speak CURVE (started with --insecure?): use "
                     "--insecure here too, or start the broker with its keys",
                     endpoint);
        else
            snprintf(buf, size,
                     "the broker at %s requires CURVE: give --broker-key and this %s's key "
                     "instead of --insecure",
                     endpoint, rname);
        break;
    default:
        if (size)
            buf[0] = 0;
    }
    return buf;
}

void fc_link_test(bool verbose)
{
    printf(" * fc_link: ");
    fc_link_state_t l = FC_LINK_UNKNOWN;
    /* TCP up is not a link up: the handshake decides. */
    l = fc_link_next(l, "CONNECTED", 0, true);
    FC_CHECK(l == FC_LINK_UNKNOWN && !fc_link_failing(l));
    l = fc_link_next(l, "HANDSHAKE_SUCCEEDED", 0, true);
    FC_CHECK(l == FC_LINK_UP);
    l = fc_link_next(l, "DISCONNECTED", 0, true);
    FC_CHECK(l == FC_LINK_UNKNOWN);
    l = fc_link_next(l, "CONNECT_RETRIED", 100, true);
    FC_CHECK(l == FC_LINK_NO_LISTENER && fc_link_failing(l) && !fc_link_misconfigured(l));
    /* A failure stays through the next TCP connect and its drop. */
    l = fc_link_next(l, "HANDSHAKE_FAILED_AUTH", 400, true);
    FC_CHECK(l == FC_LINK_KEY_REFUSED && fc_link_misconfigured(l));
    l = fc_link_next(l, "CONNECTED", 0, true);
    l = fc_link_next(l, "DISCONNECTED", 0, true);
    FC_CHECK(l == FC_LINK_KEY_REFUSED);
    FC_CHECK(fc_link_next(FC_LINK_UNKNOWN, "HANDSHAKE_FAILED_PROTOCOL",
                          ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH, true) == FC_LINK_MECHANISM);
    FC_CHECK(fc_link_next(FC_LINK_UNKNOWN, "HANDSHAKE_FAILED_PROTOCOL",
                          ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC, true) == FC_LINK_SERVER_KEY);
    FC_CHECK(fc_link_next(FC_LINK_UNKNOWN, "HANDSHAKE_FAILED_NO_DETAIL", 0, true) ==
             FC_LINK_SERVER_KEY);
    FC_CHECK(fc_link_next(FC_LINK_UNKNOWN, "HANDSHAKE_FAILED_NO_DETAIL", 0, false) ==
             FC_LINK_MECHANISM);
    FC_CHECK(fc_link_next(FC_LINK_UP, NULL, 0, true) == FC_LINK_UP);
    FC_CHECK(streq(fc_link_name(FC_LINK_KEY_REFUSED), "key-refused"));
    FC_CHECK(streq(fc_link_name((fc_link_state_t)99), "?"));

    char buf[512];
    const char *ep = "tcp://127.0.0.1:9";
    FC_CHECK(
        streq(fc_link_advice(FC_LINK_NO_LISTENER, ep, FC_ROLE_AGENT, NULL, true, buf, sizeof buf),
              "nothing listens at tcp://127.0.0.1:9: is the broker running?"));
    fc_link_advice(FC_LINK_KEY_REFUSED, ep, FC_ROLE_AGENT, "abc", true, buf, sizeof buf);
    FC_CHECK(strstr(buf, "the broker refused this agent's key: enrol it with `fleetcast keys "
                         "add-agent 'abc'"));
    fc_link_advice(FC_LINK_KEY_REFUSED, ep, FC_ROLE_PUBLISHER, NULL, true, buf, sizeof buf);
    FC_CHECK(strstr(buf, "keys add-publisher 'KEY'"));
    fc_link_advice(FC_LINK_SERVER_KEY, ep, FC_ROLE_AGENT, NULL, true, buf, sizeof buf);
    FC_CHECK(strstr(buf, "the broker's key does not match --broker-key"));
    fc_link_advice(FC_LINK_MECHANISM, ep, FC_ROLE_AGENT, NULL, false, buf, sizeof buf);
    FC_CHECK(strstr(buf, "requires CURVE"));
    fc_link_advice(FC_LINK_MECHANISM, ep, FC_ROLE_AGENT, NULL, true, buf, sizeof buf);
    FC_CHECK(strstr(buf, "does not speak CURVE"));
    FC_CHECK(streq(fc_link_advice(FC_LINK_UP, ep, FC_ROLE_AGENT, NULL, true, buf, sizeof buf), ""));
    if (verbose)
        printf("(events, advice) ");
    printf("OK\n");
}
