/* fc_broker_log.h: the broker's --verbose line for each request. */
#ifndef FC_BROKER_LOG_H
#define FC_BROKER_LOG_H

#include "fc_msg.h"

/* Logs (zsys_info) request m from peer (its routing id), with the fields that matter for
   its type. */
void fc_broker_log_request(zframe_t *peer, const fc_msg_t *m);

#endif
