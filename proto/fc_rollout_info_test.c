/* fc_rollout_info_test.c: self-test of fc_rollout_info.c: a rollout and a channel without
   one, as JSON. */
#include "fc_rollout_info.h"
#include "fc_test_check.h"

#include <stdio.h>
#include <string.h>

void fc_rollout_info_test(bool verbose)
{
    printf(" * fc_rollout_info: ");
    fc_rollout_info_t r = {.channel = "stable",
                           .version = "2.0",
                           .serial = 7,
                           .state = "HALTED",
                           .reason = "wave 1 of 2: 1 of 2 agents failed",
                           .wave = 1,
                           .waves = 2,
                           .percent = 20,
                           .agents = 10,
                           .installed = 1,
                           .failed = 1,
                           .rolled_back = 0,
                           .pending = 0,
                           .not_offered = 8};
    fc_json_t *j = fc_json_new();
    fc_json_open(j);
    fc_rollout_info_json(j, &r);
    fc_json_close(j);
    const char *text = fc_json_text(j);
    if (verbose)
        printf("%s\n", text);
    FC_CHECK(strstr(text, "\"channel\":\"stable\""));
    FC_CHECK(strstr(text, "\"state\":\"HALTED\",\"halted\":true"));
    FC_CHECK(strstr(text, "\"wave\":1,\"waves\":2,\"percent\":20"));
    FC_CHECK(strstr(text, "\"installed\":1,\"healthy\":0,\"failed\":1,\"rolled_back\":0"));
    FC_CHECK(strstr(text, "\"not_offered\":8,\"offline\":0}"));
    fc_json_destroy(&j);
    /* No rollout: the release is offered to every agent, and says so. */
    fc_rollout_info_t none = {
        .channel = "beta", .version = "1", .serial = 1, .agents = 2, .installed = 2};
    j = fc_json_new();
    fc_json_open(j);
    fc_rollout_info_json(j, &none);
    fc_json_close(j);
    FC_CHECK(strstr(fc_json_text(j), "\"state\":\"NONE\",\"halted\":false"));
    FC_CHECK(strstr(fc_json_text(j), "\"wave\":0,\"waves\":0"));
    fc_json_destroy(&j);
    printf("OK\n");
}
