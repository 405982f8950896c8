/* fc_selftest.c: runs one class's self-test by name (one ctest per class), or all of them. */
#include <czmq.h>
#include <stdio.h>
#include <string.h>

#include "fc_accepts.h"
#include "fc_ack.h"
#include "fc_agent.h"
#include "fc_agent_trust.h"
#include "fc_array.h"
#include "fc_broker.h"
#include "fc_brokers.h"
#include "fc_cdc.h"
#include "fc_chunks.h"
#include "fc_client.h"
#include "fc_clock.h"
#include "fc_conffile.h"
#include "fc_config.h"
#include "fc_config_service.h"
#include "fc_curve.h"
#include "fc_db.h"
#include "fc_delta_cache.h"
#include "fc_endpoint.h"
#include "fc_envelope.h"
#include "fc_error.h"
#include "fc_file.h"
#include "fc_follower.h"
#include "fc_freshness.h"
#include "fc_hash.h"
#include "fc_history.h"
#include "fc_http.h"
#include "fc_install.h"
#include "fc_journal.h"
#include "fc_json.h"
#include "fc_json_parse.h"
#include "fc_key.h"
#include "fc_keyring.h"
#include "fc_keyset.h"
#include "fc_link.h"
#include "fc_log.h"
#include "fc_manifest.h"
#include "fc_manifest_parts.h"
#include "fc_metrics.h"
#include "fc_mpack.h"
#include "fc_msg.h"
#include "fc_objdelta.h"
#include "fc_objects.h"
#include "fc_objfetch.h"
#include "fc_optval.h"
#include "fc_peers.h"
#include "fc_policy.h"
#include "fc_reconf.h"
#include "fc_refusals.h"
#include "fc_relay_cache.h"
#include "fc_relay_keys.h"
#include "fc_relay_stream.h"
#include "fc_relayed.h"
#include "fc_requester.h"
#include "fc_role.h"
#include "fc_rollout.h"
#include "fc_rollout_info.h"
#include "fc_session.h"
#include "fc_sockopt.h"
#include "fc_stamp.h"
#include "fc_state.h"
#include "fc_state_lock.h"
#include "fc_status_file.h"
#include "fc_status_summary.h"
#include "fc_store.h"
#include "fc_store_config.h"
#include "fc_store_keys.h"
#include "fc_store_listen.h"
#include "fc_store_pieces.h"
#include "fc_store_release_rollout.h"
#include "fc_store_slots.h"
#include "fc_store_via.h"
#include "fc_suggest.h"
#include "fc_suspects.h"
#include "fc_text.h"
#include "fc_trustlist.h"
#include "fc_verifier.h"
#include "fc_version.h"
#include "fc_view.h"

typedef struct {
    const char *name;
    void (*test)(bool verbose);
} s_test_t;

static const s_test_t s_tests[] = {
    {"fc_hash", fc_hash_test},
    {"fc_cdc", fc_cdc_test},
    {"fc_key", fc_key_test},
    {"fc_json", fc_json_test},
    {"fc_file", fc_file_test},
    {"fc_clock", fc_clock_test},
    {"fc_text", fc_text_test},
    {"fc_array", fc_array_test},
    {"fc_sockopt", fc_sockopt_test},
    {"fc_endpoint", fc_endpoint_test},
    {"fc_mpack", fc_mpack_test},
    {"fc_msg", fc_msg_test},
    {"fc_manifest", fc_manifest_test},
    {"fc_manifest_parts", fc_manifest_parts_test},
    {"fc_objdelta", fc_objdelta_test},
    {"fc_client", fc_client_test},
    {"fc_store", fc_store_test},
    {"fc_store_via", fc_store_via_test},
    {"fc_store_slots", fc_store_slots_test},
    {"fc_store_pieces", fc_store_pieces_test},
    {"fc_store_listen", fc_store_listen_test},
    {"fc_relayed", fc_relayed_test},
    {"fc_db", fc_db_test},
    {"fc_broker", fc_broker_test},
    {"fc_journal", fc_journal_test},
    {"fc_install", fc_install_test},
    {"fc_objects", fc_objects_test},
    {"fc_objfetch", fc_objfetch_test},
    {"fc_follower", fc_follower_test},
    {"fc_session", fc_session_test},
    {"fc_agent", fc_agent_test},
    {"fc_agent_trust", fc_agent_trust_test},
    {"fc_freshness", fc_freshness_test},
    {"fc_policy", fc_policy_test},
    {"fc_reconf", fc_reconf_test},
    {"fc_config", fc_config_test},
    {"fc_json_parse", fc_json_parse_test},
    {"fc_store_config", fc_store_config_test},
    {"fc_config_service", fc_config_service_test},
    {"fc_history", fc_history_test},
    {"fc_envelope", fc_envelope_test},
    {"fc_curve", fc_curve_test},
    {"fc_keyring", fc_keyring_test},
    {"fc_keyset", fc_keyset_test},
    {"fc_relay_keys", fc_relay_keys_test},
    {"fc_store_keys", fc_store_keys_test},
    {"fc_stamp", fc_stamp_test},
    {"fc_trustlist", fc_trustlist_test},
    {"fc_store_trust", fc_store_trust_test},
    {"fc_chunks", fc_chunks_test},
    {"fc_delta_cache", fc_delta_cache_test},
    {"fc_relay_cache", fc_relay_cache_test},
    {"fc_relay_stream", fc_relay_stream_test},
    {"fc_view", fc_view_test},
    {"fc_status_summary", fc_status_summary_test},
    {"fc_status_file", fc_status_file_test},
    {"fc_metrics", fc_metrics_test},
    {"fc_http", fc_http_test},
    {"fc_peers", fc_peers_test},
    {"fc_accepts", fc_accepts_test},
    {"fc_state", fc_state_test},
    {"fc_role", fc_role_test},
    {"fc_link", fc_link_test},
    {"fc_suggest", fc_suggest_test},
    {"fc_version", fc_version_test},
    {"fc_log", fc_log_test},
    {"fc_conffile", fc_conffile_test},
    {"fc_refusals", fc_refusals_test},
    {"fc_state_lock", fc_state_lock_test},
    {"fc_ack", fc_ack_test},
    {"fc_error", fc_error_test},
    {"fc_suspects", fc_suspects_test},
    {"fc_verifier", fc_verifier_test},
    {"fc_requester", fc_requester_test},
    {"fc_brokers", fc_brokers_test},
    {"fc_requester_move", fc_requester_move_test},
    {"fc_optval", fc_optval_test},
    {"fc_rollout", fc_rollout_test},
    {"fc_rollout_state", fc_rollout_state_test},
    {"fc_rollout_info", fc_rollout_info_test},
    {"fc_store_release_rollout", fc_store_release_rollout_test},
};

int main(int argc, char **argv)
{
    bool verbose = false;
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (streq(argv[i], "-v") || streq(argv[i], "--verbose"))
            verbose = true;
        else if (streq(argv[i], "--list")) {
            for (size_t t = 0; t < sizeof s_tests / sizeof s_tests[0]; t++)
                puts(s_tests[t].name);
            return 0;
        } else
            only = argv[i];
    }
    if (fc_crypto_init() != 0) {
        fprintf(stderr, "fc_selftest: libsodium failed to initialise\n");
        return 1;
    }
    zsys_init();
    zsys_set_logstream(verbose ? stderr : NULL);
    int ran = 0;
    for (size_t t = 0; t < sizeof s_tests / sizeof s_tests[0]; t++)
        if (!only || streq(only, s_tests[t].name)) {
            s_tests[t].test(verbose);
            ran++;
        }
    if (ran == 0) {
        fprintf(stderr, "fc_selftest: no test named '%s' (try --list)\n", only);
        return 1;
    }
    return 0;
}
