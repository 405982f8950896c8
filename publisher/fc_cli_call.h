/* fc_cli_call.h: one request to the broker for a CLI command: connect, send, wait, and the
   reply of the expected type, or the reason printed. */
#ifndef FC_CLI_CALL_H
#define FC_CLI_CALL_H

#include "fc_curve.h"
#include "fc_msg.h"

/* Sends *req_p (taken) to broker (curve NULL: insecure) and returns its reply of type want
   (the caller's), or NULL with the reason on stderr: a bad endpoint, no answer within
   timeout_ms, the broker's ERROR, or another reply. */
fc_msg_t *fc_cli_call(const char *broker, const fc_curve_t *curve, int timeout_ms, fc_msg_t **req_p,
                      fc_msg_type_t want);

#endif
