/* fc_config_cmd_priv.h: helpers shared by the config command files (publishing commands in
   fc_config_cmd.c, its private parts: read-only ones in fc_config_show.c, convergence and
   audit in fc_config_status.c). */
#ifndef FC_CONFIG_CMD_PRIV_H
#define FC_CONFIG_CMD_PRIV_H

#include "fc_client.h"
#include "fc_config.h"
#include "fc_config_cmd.h"
#include "fc_history.h"
#include <stddef.h>
#include <stdint.h>

/* Prints "fleetcast: <fmt>" and the --help hint on stderr; returns 2. */
int fc_cmd_usage(const char *fmt, const char *arg);
/* Prints "fleetcast: <fmt>" on stderr; returns 1. */
int fc_cmd_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A requester for the broker, or NULL with a message printed. */
fc_client_t *fc_cmd_connect(const fc_config_cmd_options_t *o);
/* Fetches the history (agent NULL/"": every revision). NULL with a message printed. */
fc_history_t *fc_cmd_history(const fc_config_cmd_options_t *o, fc_client_t *client,
                             const char *agent, const char *group);
/* Sends req and returns a reply of type want, or NULL with a message printed. */
fc_msg_t *fc_cmd_call(const fc_config_cmd_options_t *o, fc_client_t *client, fc_msg_t **req_p,
                      fc_msg_type_t want);
/* fc_cmd_call's second half: reply (taken; NULL: none came) to a request of type type, if
   it is of type want; else NULL with a message printed. */
fc_msg_t *fc_cmd_reply(const fc_config_cmd_options_t *o, fc_client_t *client, fc_msg_type_t type,
                       fc_msg_t *reply, fc_msg_type_t want);
/* A value as JSON text / for humans (strings bare). Caller frees. */
char *fc_cmd_value_json(const fc_value_t *v);
char *fc_cmd_value_text(const fc_value_t *v);
/* Parses a revision number operand; 0 if not a positive number. */
uint64_t fc_cmd_parse_rev(const char *text);
/* A broker's halt reason without a leading "halted:" (borrowed; never NULL). */
const char *fc_cmd_halt_reason(const char *text);
/* "set", "schema", "promote". */
const char *fc_cmd_kind_name(fc_rev_kind_t kind);

/* The read-only commands (fc_config_show.c). argv[0] is the subcommand. */
int fc_cmd_get(const fc_config_cmd_options_t *o, int argc, char **argv);
int fc_cmd_history_show(const fc_config_cmd_options_t *o, int argc, char **argv);
int fc_cmd_diff(const fc_config_cmd_options_t *o, int argc, char **argv);
int fc_cmd_status(const fc_config_cmd_options_t *o, int argc, char **argv);

#endif
