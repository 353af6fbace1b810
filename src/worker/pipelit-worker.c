/* pipelit-worker: the execution engine alone, for one workflow. pipelitd starts it (as
 * pipelit-worker@<slug>.service, or as a child) when the workflow's settings ask for a
 * dedicated worker; it connects to pipelitd's worker socket, gets what to run with (the
 * database, the limits pipelitd runs with), and runs the node runs pipelitd hands it with
 * the same orchestrator as pipelitd's own threads: no HTTP, no scheduler, no recovery, which
 * stay pipelitd's. It exits when pipelitd closes the link or on SIGTERM. */

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-login.h>

#include "broker/broker.h"
#include "common/conf.h"
#include "common/crypto.h"
#include "common/i18n.h"
#include "common/json-util.h"
#include "common/log.h"
#include "common/vault.h"
#include "daemon/manager.h"
#include "engine/engine.h"
#include "engine/events.h"
#include "engine/platform-link.h"
#include "store/store-workflows.h"
#include "worker/worker-upstream.h"

/* How long running nodes may take to give up after SIGTERM; pipelitd runs the others again. */
#define ENGINE_STOP_USEC (3ULL * 1000 * 1000)

extern char **environ;

typedef struct Options {
        const char *workflow;
        const char *socket;
        const char *config_path;
        bool config_explicit;
        const char *log_level;
} Options;

/* What runs once pipelitd said welcome: the engine, as pipelitd would make it. */
typedef struct WorkerProcess {
        Manager manager;        /* the parts of it the engine reads: config, event, vault */
        Broker *broker;
        Engine *engine;
} WorkerProcess;

static void help(void) {
        printf(_("Usage: pipelit-worker --workflow=SLUG [OPTIONS]\n\n"
                 "Runs the nodes of one workflow for pipelitd, which starts it when the workflow's\n"
                 "settings ask for a dedicated worker.\n\n"
                 "  -h --help                Show this help and exit\n"
                 "     --version             Show the version and exit\n"
                 "     --workflow=SLUG       The workflow it serves\n"
                 "     --socket=PATH         pipelitd's worker socket (default: WorkerSocket= of\n"
                 "                           the configuration)\n"
                 "  -c --config=FILE         Configuration file (default %s)\n"
                 "     --log-level=LEVEL     debug, info, notice, warning, err\n"),
               CONFIG_DEFAULT_PATH);
}

static int parse_argv(int argc, char *argv[], Options *o) {
        enum { ARG_VERSION = 0x100, ARG_WORKFLOW, ARG_SOCKET, ARG_LOG_LEVEL };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "workflow", required_argument, NULL, ARG_WORKFLOW },
                { "socket", required_argument, NULL, ARG_SOCKET },
                { "config", required_argument, NULL, 'c' },
                { "log-level", required_argument, NULL, ARG_LOG_LEVEL },
                {},
        };
        int c;

        o->config_path = CONFIG_DEFAULT_PATH;
        while ((c = getopt_long(argc, argv, "hc:", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("pipelit-worker %s\n", PACKAGE_VERSION);
                        return 0;
                case ARG_WORKFLOW:
                        o->workflow = optarg;
                        break;
                case ARG_SOCKET:
                        o->socket = optarg;
                        break;
                case 'c':
                        o->config_path = optarg;
                        o->config_explicit = true;
                        break;
                case ARG_LOG_LEVEL:
                        o->log_level = optarg;
                        break;
                default:
                        return -EINVAL;
                }
        if (optind < argc) {
                fprintf(stderr, _("pipelit-worker: unexpected argument '%s'\n"), argv[optind]);
                return -EINVAL;
        }
        /* It becomes a unit name and a log field: only what a slug may be. */
        if (!o->workflow || !workflow_slug_is_valid(o->workflow)) {
                fprintf(stderr, _("pipelit-worker: --workflow=SLUG is missing or not a workflow slug\n"));
                return -EINVAL;
        }
        if (o->log_level && log_level_from_string(o->log_level) < 0) {
                fprintf(stderr, _("pipelit-worker: --log-level: unknown level '%s'\n"), o->log_level);
                return -EINVAL;
        }
        return 1;
}

/* The worker socket: --socket, else as pipelitd computes it from the same configuration. */
static int socket_path(const Options *o, char **ret) {
        _cleanup_(config_done) Config c = {};
        _cleanup_free_ char *error = NULL;
        int r;

        if (o->socket)
                return (*ret = strdup(o->socket)) ? 0 : -ENOMEM;
        config_init(&c);
        r = config_load_file(&c, o->config_path, o->config_explicit, &error);
        if (r >= 0)
                r = config_apply_env(&c, environ, &error);
        if (r >= 0)
                r = config_finish(&c, &error);
        if (r < 0) {
                log_error("%s", error ?: "Cannot read the configuration.");
                return r;
        }
        *ret = TAKE_PTR(c.worker_socket);
        return 0;
}

static int copy_string(char **dst, json_t *welcome, const char *key) {
        const char *v = json_get_string(welcome, key, NULL);

        free(*dst);
        *dst = v ? strdup(v) : NULL;
        return !v || *dst ? 0 : -ENOMEM;
}

/* pipelitd's settings, from its welcome. */
static int config_from_welcome(Config *c, json_t *welcome) {
        int r;

        if ((r = copy_string(&c->database, welcome, "database")) < 0 ||
            (r = copy_string(&c->state_directory, welcome, "state_directory")) < 0 ||
            (r = copy_string(&c->price_table, welcome, "price_table")) < 0)
                return r;
        if (!c->database || !c->state_directory)
                return -EBADMSG;
        c->workers = (unsigned) MAX(json_get_integer(welcome, "workers", 4), 1);
        c->max_node_output_size = (size_t) MAX(json_get_integer(welcome, "max_node_output_size", 1 << 20), 1);
        c->max_subworkflow_depth = (unsigned) MAX(json_get_integer(welcome, "max_subworkflow_depth", 5), 0);
        c->max_nodes_per_workflow = MAX(json_get_integer(welcome, "max_nodes_per_workflow", 1000), 1);
        return 0;
}

/* metadata.worker of the logs written here: which process ran the node. */
static json_t *worker_label(const char *slug) {
        _cleanup_free_ char *unit = NULL;
        json_t *label = json_pack("{s:s, s:I}", "workflow", slug, "pid", (json_int_t) getpid());

        if (label && !isempty(getenv("INVOCATION_ID")) && sd_pid_get_unit(0, &unit) >= 0)
                (void) json_object_set_new(label, "unit", json_string(unit));
        return label;
}

static int on_welcome(Upstream *u, json_t *welcome, void *userdata) {
        WorkerProcess *w = userdata;
        Manager *m = &w->manager;
        _cleanup_free_ char *error = NULL;
        const char *slug = json_get_string(welcome, "workflow", "");
        VaultKeySource source;
        int r;

        r = config_from_welcome(&m->config, welcome);
        if (r < 0)
                return r;
        /* pipelitd's level, unless the command line said otherwise. */
        if (m->config.log_level < 0) {
                r = log_level_from_string(json_get_string(welcome, "log_level", "info"));
                log_set_max_level(r < 0 ? LOG_INFO : r);
        }
        r = vault_load(getenv("CREDENTIALS_DIRECTORY"), m->config.state_directory, &m->vault, &source, &error);
        if (r < 0) {
                log_error("Cannot load the secret key: %s", error ?: strerror(-r));
                return r;
        }
        r = broker_new_local(m->event, &w->broker);
        if (r < 0)
                return r;
        events_set_broker(w->broker);
        r = engine_new(m, w->broker, &w->engine);
        if (r < 0)
                return r;
        upstream_attach(u, w->broker, w->engine);
        engine_set_worker_label(w->engine, worker_label(slug));
        (void) platform_link_set_api(engine_platform_link(w->engine), json_get_string(welcome, "api_url", NULL),
                                     json_get_string(welcome, "api_path", NULL));
        r = engine_start_workers(w->engine);
        if (r < 0)
                return r;

        log_info("Serving workflow '%s' for pipelitd with %u thread(s).", slug, m->config.workers);
        (void) sd_notifyf(false, "READY=1\nSTATUS=Serving workflow '%s'", slug);
        return 0;
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        log_info("Received %s, stopping.", strsignal((int) si->ssi_signo));
        return sd_event_exit(sd_event_source_get_event(s), EXIT_SUCCESS);
}

static int run(const Options *o) {
        _cleanup_(upstream_freep) Upstream *u = NULL;
        _cleanup_free_ char *path = NULL;
        WorkerProcess w = {};
        Manager *m = &w.manager;
        int r, status;

        config_init(&m->config);
        /* Negative: take pipelitd's level. */
        m->config.log_level = o->log_level ? log_level_from_string(o->log_level) : -1;
        if (o->log_level)
                log_set_max_level(m->config.log_level);

        r = socket_path(o, &path);
        if (r < 0)
                return r;
        r = sd_event_default(&m->event);
        if (r < 0)
                return log_error_errno(r, "Cannot create the event loop: %m");
        r = sd_event_add_signal(m->event, NULL, SIGTERM, on_signal, NULL);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGINT, on_signal, NULL);
        if (r < 0)
                return log_error_errno(r, "Cannot watch signals: %m");
        (void) sd_event_set_watchdog(m->event, true);

        r = upstream_connect(m->event, path, o->workflow, on_welcome, &w, &u);
        if (r < 0)
                return log_error_errno(r, "Cannot reach pipelitd at %s: %m", path);

        status = sd_event_loop(m->event);
        (void) sd_notify(false, "STOPPING=1");
        /* Nodes still running stop; pipelitd takes back what they held. */
        engine_stop(w.engine, ENGINE_STOP_USEC);
        if (!w.engine || !engine_busy(w.engine)) {
                w.engine = engine_free(w.engine);
                events_set_broker(NULL);
                broker_free(w.broker);
                vault_free(m->vault);
                u = upstream_free(u);
                sd_event_unref(m->event);
                config_done(&m->config);
        }
        return status == EXIT_SUCCESS ? 0 : -EPROTO;
}

int main(int argc, char *argv[]) {
        Options o = {};
        sigset_t mask;
        int r;

        i18n_init();
        log_set_identifier("pipelit-worker");
        log_open();
        r = parse_argv(argc, argv, &o);
        if (r <= 0)
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        if (crypto_init() < 0) {
                log_error("Cannot initialise libsodium.");
                return EXIT_FAILURE;
        }

        /* Signals are handled by sd-event: block them before anything starts a thread. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        signal(SIGPIPE, SIG_IGN);

        return run(&o) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
