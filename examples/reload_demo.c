/* reload_demo.c: a component that embeds libfleetcast: it reloads log.level live (and says
   so) and vetoes any change to listen.port, which it cannot rebind while running. Build it
   against an installed libfleetcast with:
     cc reload_demo.c $(pkg-config --cflags --libs libfleetcast) -o reload_demo */
#include <fleetcast/fleetcast.h>

#include <czmq.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    fc_agent_t *agent;
} s_app_t;

/* Changing: a new listen.port would need a new socket, so the change goes the restart way.
   The first port a fresh component gets (no old value) is simply taken. */
static bool s_changing(const fc_diff_entry_t *diff, size_t n, void *arg)
{
    (void)arg;
    for (size_t i = 0; i < n; i++)
        if (strcmp(diff[i].key, "listen.port") == 0 && diff[i].old_value) {
            printf("listen.port change vetoed: needs a restart\n");
            fflush(stdout);
            return false;
        }
    return true;
}

/* Changed: the getters already return the new values. */
static int s_changed(const fc_diff_entry_t *diff, size_t n, void *arg)
{
    s_app_t *app = (s_app_t *)arg;
    for (size_t i = 0; i < n; i++)
        if (strcmp(diff[i].key, "log.level") == 0) {
            char *level = fc_agent_config_str(app->agent, "log.level", "info");
            printf("log.level = %s (rev %llu)\n", level,
                   (unsigned long long)fc_agent_config_rev(app->agent));
            fflush(stdout);
            free(level);
        }
    return 0;
}

static void s_usage(FILE *out)
{
    fprintf(out, "usage: reload_demo --broker tcp://HOST:7400 --state DIR --trust PUBKEYFILE\n"
                 "                   (--broker-key BROKER.cert [--key AGENT.cert_secret] |\n"
                 "                    --insecure)\n"
                 "                   [--id NAME] [--group NAME] [--channel NAME]\n"
                 "                   [--exec-restart CMD]\n"
                 "Follows the runtime config on a fleetcast broker in-process: prints log.level\n"
                 "whenever it changes and vetoes changes to listen.port (restart path: with\n"
                 "--exec-restart CMD the agent runs it, else it reports vetoed).\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"broker", required_argument, NULL, 'b'},
                                         {"state", required_argument, NULL, 's'},
                                         {"trust", required_argument, NULL, 't'},
                                         {"id", required_argument, NULL, 'i'},
                                         {"group", required_argument, NULL, 'g'},
                                         {"channel", required_argument, NULL, 'c'},
                                         {"exec-restart", required_argument, NULL, 'r'},
                                         {"help", no_argument, NULL, 'h'},
                                         {"key", required_argument, NULL, 'k'},
                                         {"broker-key", required_argument, NULL, 'K'},
                                         {"insecure", no_argument, NULL, 'I'},
                                         {NULL, 0, NULL, 0}};
    fc_agent_config_t cfg;
    fc_agent_config_defaults(&cfg);
    cfg.channel = "reload-demo";
    cfg.policy = FC_AGENT_UPDATE_NONE; /* config only: never installs a release */
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'b':
            cfg.broker = optarg;
            break;
        case 's':
            cfg.state_dir = optarg;
            break;
        case 't':
            cfg.trust_file = optarg;
            break;
        case 'i':
            cfg.id = optarg;
            break;
        case 'g':
            cfg.group = optarg;
            break;
        case 'c':
            cfg.channel = optarg;
            break;
        case 'r':
            cfg.exec_restart = optarg;
            break;
        case 'k':
            cfg.key_file = optarg;
            break;
        case 'K':
            cfg.broker_key = optarg;
            break;
        case 'I':
            cfg.insecure = true;
            break;
        case 'h':
            s_usage(stdout);
            return 0;
        default:
            s_usage(stderr);
            return 1;
        }
    }
    /* The engine wants an install dir even when it never installs: keep it in the state. */
    char install[4096];
    snprintf(install, sizeof install, "%s/install", cfg.state_dir ? cfg.state_dir : ".");
    cfg.install_dir = install;
    char msg[256];
    if (fc_agent_config_check(&cfg, msg, sizeof msg) != 0) {
        fprintf(stderr, "reload_demo: %s\n", msg);
        return 1;
    }
    zsys_init(); /* SIGINT/SIGTERM set zsys_interrupted */
    int err = 0;
    s_app_t app = {NULL};
    app.agent = fc_agent_new(&cfg, &err);
    if (!app.agent) {
        fprintf(stderr, "reload_demo: cannot start the agent engine (error %d)\n", err);
        return 1;
    }
    fc_agent_on_config_changing(app.agent, s_changing, &app);
    fc_agent_on_config_changed(app.agent, s_changed, &app);
    /* The last good config, from the state dir, before the broker has said anything. */
    char *level = fc_agent_config_str(app.agent, "log.level", "info");
    printf("log.level = %s (rev %llu, at start)\n", level,
           (unsigned long long)fc_agent_config_rev(app.agent));
    fflush(stdout);
    free(level);
    if (fc_agent_start(app.agent) != 0) {
        fprintf(stderr, "reload_demo: cannot start the engine thread\n");
        fc_agent_destroy(&app.agent);
        return 1;
    }
    /* The program's own work would go here. */
    while (!zsys_interrupted)
        zclock_sleep(100);
    fc_agent_join(app.agent);
    fc_agent_destroy(&app.agent);
    return 0;
}
