/* fc_cli_call.c: one request to the broker for a CLI command (fc_cli_call.h). */
#include "fc_cli_call.h"
#include "fc_client.h"
#include "fc_error.h"

#include <stdio.h>

fc_msg_t *fc_cli_call(const char *broker, const fc_curve_t *curve, int timeout_ms, fc_msg_t **req_p,
                      fc_msg_type_t want)
{
    int err = 0;
    fc_client_t *client = fc_client_new(broker, 2000, curve, &err);
    if (!client) {
        fprintf(stderr, "fleetcast: bad broker endpoint '%s'\n", broker);
        fc_msg_destroy(req_p);
        return NULL;
    }
    fc_msg_t *reply = fc_client_call_pages(client, req_p, timeout_ms);
    char why[512];
    if (!reply && fc_client_why(client, why, sizeof why))
        fprintf(stderr, "fleetcast: %s\n", why);
    else if (!reply)
        fprintf(stderr, "fleetcast: no answer from the broker at %s within %d s\n", broker,
                timeout_ms / 1000);
    fc_client_destroy(&client);
    if (reply && reply->type != want) {
        fprintf(stderr, "fleetcast: broker refused: %s (%s)\n",
                reply->type == FC_MSG_ERROR ? reply->text : "unexpected reply",
                reply->type == FC_MSG_ERROR ? fc_strerror((int)reply->code) : "");
        fc_msg_destroy(&reply);
    }
    return reply;
}
