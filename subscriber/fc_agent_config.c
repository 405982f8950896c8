/* fc_agent_config.c: the agent's options (defaults, checks, policy names), error names and
   the result as JSON: everything about the engine that needs no socket. */
#include "fc_agent.h"
#include "fc_brokers.h"
#include "fc_curve.h"
#include "fc_error.h"
#include "fc_json.h"
#include "fc_manifest.h"

#include <errno.h>
#include <string.h>

/* The names come from proto/fc_error.h's table; this stays for embedders. */
const char *fc_agent_error_name(int code)
{
    return fc_error_name(code);
}

void fc_agent_config_defaults(fc_agent_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->policy = FC_AGENT_UPDATE_ALL;
    cfg->window = FC_AGENT_DEFAULT_WINDOW;
    cfg->timeout = 30;
    cfg->retry_interval = 30;
    cfg->hook_timeout = FC_AGENT_HOOK_TIMEOUT;
}

int fc_agent_policy_parse(const char *text)
{
    if (!text)
        return -1;
    if (streq(text, "all"))
        return FC_AGENT_UPDATE_ALL;
    if (streq(text, "mandatory"))
        return FC_AGENT_UPDATE_MANDATORY;
    if (streq(text, "none"))
        return FC_AGENT_UPDATE_NONE;
    return -1;
}

int fc_agent_config_check(const fc_agent_config_t *cfg, char *msg, size_t msgsize)
{
#define S_BAD(...)                                                                                 \
    do {                                                                                           \
        snprintf(msg, msgsize, __VA_ARGS__);                                                       \
        return FC_EINVAL;                                                                          \
    } while (0)
    if (!cfg)
        S_BAD("no configuration");
    if (!cfg->broker || !cfg->broker[0])
        S_BAD("--broker is required (e.g. tcp://broker.example:7400)");
    /* One endpoint, or several brokers serving the same data (fc_brokers.h). */
    size_t nbrokers = fc_brokers_count(cfg->broker);
    if (nbrokers > FC_MAX_BROKERS)
        S_BAD("--broker lists %zu brokers, at most %d", nbrokers, FC_MAX_BROKERS);
    for (size_t i = 0; i < nbrokers; i++) {
        char ep[FC_MAX_ENDPOINT + 1];
        if (fc_brokers_nth(cfg->broker, i, ep, sizeof ep) != 0)
            S_BAD("--broker endpoint is longer than %d bytes", FC_MAX_ENDPOINT);
        if (strncmp(ep, "tcp://", 6) && strncmp(ep, "ipc://", 6) && strncmp(ep, "inproc://", 9))
            S_BAD("--broker '%s' is not a tcp://, ipc:// or inproc:// endpoint", ep);
    }
    if (!cfg->channel || !cfg->channel[0])
        S_BAD("--channel is required");
    if (!fc_name_valid(cfg->channel))
        S_BAD("--channel '%s' is not a valid name (1-%d of A-Z a-z 0-9 . _ + -)", cfg->channel,
              FC_MAX_NAME);
    if (cfg->id && cfg->id[0] && !fc_name_valid(cfg->id))
        S_BAD("--id '%s' is not a valid name (1-%d of A-Z a-z 0-9 . _ + -)", cfg->id, FC_MAX_NAME);
    if (cfg->product && cfg->product[0] && !fc_name_valid(cfg->product))
        S_BAD("--product '%s' is not a valid name (1-%d of A-Z a-z 0-9 . _ + -)", cfg->product,
              FC_MAX_NAME);
    if (cfg->group && cfg->group[0] && !fc_name_valid(cfg->group))
        S_BAD("--group '%s' is not a valid name (1-%d of A-Z a-z 0-9 . _ + -)", cfg->group,
              FC_MAX_NAME);
    if (!cfg->install_dir || !cfg->install_dir[0])
        S_BAD("--install is required");
    if (!cfg->state_dir || !cfg->state_dir[0])
        S_BAD("--state is required");
    if (cfg->policy != FC_AGENT_UPDATE_ALL && cfg->policy != FC_AGENT_UPDATE_MANDATORY &&
        cfg->policy != FC_AGENT_UPDATE_NONE)
        S_BAD("--auto-update must be all, mandatory or none");
    if (cfg->window > (1ull << 30))
        S_BAD("--window must be at most 1 GiB");
    if (cfg->timeout < 0 || cfg->retry_interval < 0 || !(cfg->hook_timeout >= 0))
        S_BAD("timeouts must not be negative");
    if (!cfg->insecure) {
        char key[FC_CURVE_Z85_LEN + 1];
        if (!cfg->broker_key || !cfg->broker_key[0])
            S_BAD("--broker-key is required: the broker's public certificate (its"
                  " DATA/broker.cert) or key; or --insecure for a broker started with"
                  " --insecure");
        int err = fc_curve_read_public(cfg->broker_key, key);
        if (err)
            S_BAD("--broker-key %s: %s", cfg->broker_key,
                  err == FC_EIO ? "cannot read the file" : "not a certificate or Z85 key");
    }
    if (!cfg->trust) {
        if (!cfg->trust_file || !cfg->trust_file[0])
            S_BAD("--trust is required (a file of trusted publisher keys)");
        int err = 0;
        fc_trust_t *trust = fc_trust_load(cfg->trust_file, &err);
        if (!trust) {
            snprintf(msg, msgsize, "cannot load trust file %s: %s (%s)", cfg->trust_file,
                     err == FC_EIO && errno ? strerror(errno) : fc_strerror(err),
                     fc_agent_error_name(err));
            return err ? err : FC_EINVAL;
        }
        fc_trust_destroy(&trust);
    }
    return 0;
#undef S_BAD
}

char *fc_agent_result_json(const fc_agent_result_t *r)
{
    fc_json_t *j = fc_json_new();
    fc_json_open(j);
    fc_json_key_str(j, "id", r->id);
    fc_json_key_str(j, "channel", r->channel);
    fc_json_key_str(j, "version", r->version);
    fc_json_key_str(j, "previous_version", r->previous_version);
    fc_json_key_str(j, "available_version", r->available_version);
    fc_json_key_uint(j, "available_serial", r->available_serial);
    fc_json_key_uint(j, "available_size", r->available_size);
    fc_json_key_bool(j, "mandatory", r->mandatory);
    fc_json_key_bool(j, "update_available", r->update_available);
    fc_json_key_str(j, "state", r->state);
    fc_json_key_str(j, "message", r->message);
    fc_json_key(j, "error");
    if (r->error)
        fc_json_str(j, fc_agent_error_name(r->error));
    else
        fc_json_null(j);
    fc_json_key_uint(j, "bytes_fetched", r->bytes_fetched);
    fc_json_key_uint(j, "bytes_reused", r->bytes_reused);
    fc_json_key_uint(j, "bytes_total", r->bytes_total);
    fc_json_key_uint(j, "requests_retried", r->requests_retried);
    fc_json_key_uint(j, "hash_errors", r->hash_errors);
    fc_json_key_uint(j, "disconnects", r->disconnects);
    fc_json_key_uint(j, "broker_moves", r->broker_moves);
    fc_json_key_double(j, "seconds", r->seconds);
    fc_json_key_int(j, "exit_code", r->exit_code);
    fc_json_key_uint(j, "config_rev", r->config_rev);
    fc_json_key_str(j, "config_state", r->config_state);
    fc_json_key_bool(j, "stale", r->stale);
    fc_json_key(j, "last_fresh");
    if (r->last_fresh)
        fc_json_int(j, r->last_fresh);
    else
        fc_json_null(j);
    fc_json_key_uint(j, "stamps_bad", r->stamps_bad);
    fc_json_key_uint(j, "stamps_replayed", r->stamps_replayed);
    fc_json_key_uint(j, "trust_serial", r->trust_serial);
    fc_json_key_uint(j, "heartbeats", r->heartbeats);
    fc_json_close(j);
    char *text = strdup(fc_json_text(j));
    fc_json_destroy(&j);
    return text;
}
