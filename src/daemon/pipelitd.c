/* pipelitd: configuration, then the manager. */

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>

#include "common/conf.h"
#include "common/crypto.h"
#include "common/i18n.h"
#include "common/log.h"
#include "common/macro.h"
#include "daemon/create-admin.h"
#include "daemon/manager.h"

#define DEFAULT_LISTEN "127.0.0.1:8080"

extern char **environ;

typedef struct Options {
        const char *config_path;
        bool config_explicit;
        char **listen;          /* from --listen, replaces the configured list */
        size_t n_listen;
        const char *listen_unix;
        const char *state_dir;
        const char *database;
        const char *log_level;
        const char *create_admin;
} Options;

static void help(void) {
        printf(_("Usage: pipelitd [OPTIONS]\n\n"
                 "Serves pipelit: the workflow API, the browser UI and the execution engine.\n\n"
                 "  -h --help                Show this help and exit\n"
                 "     --version             Show the version and exit\n"
                 "  -c --config=FILE         Configuration file (default %s,\n"
                 "                           plus drop-ins in FILE.d/*.conf)\n"
                 "  -l --listen=ADDR:PORT    Listen on this TCP address (repeatable; default\n"
                 "                           %s unless systemd passes sockets)\n"
                 "     --listen-unix=PATH    Also listen on this unix socket\n"
                 "     --state-dir=DIR       Where the embedded database lives\n"
                 "     --database=URL        sqlite:///path/to/db or postgresql://…\n"
                 "     --log-level=LEVEL     debug, info, notice, warning, err\n"
                 "     --create-admin=NAME   Create an admin user and exit (password from the\n"
                 "                           first line of stdin, else generated and printed)\n\n"
                 "Environment: PIPELIT_DATABASE, PIPELIT_LISTEN, PIPELIT_LOG_LEVEL, … override\n"
                 "the configuration file; see pipelitd.conf(5).\n"),
               CONFIG_DEFAULT_PATH, DEFAULT_LISTEN);
}

static int parse_argv(int argc, char *argv[], Options *o) {
        enum { ARG_VERSION = 0x100, ARG_LISTEN_UNIX, ARG_STATE_DIR, ARG_DATABASE, ARG_LOG_LEVEL, ARG_CREATE_ADMIN };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "config", required_argument, NULL, 'c' },
                { "listen", required_argument, NULL, 'l' },
                { "listen-unix", required_argument, NULL, ARG_LISTEN_UNIX },
                { "state-dir", required_argument, NULL, ARG_STATE_DIR },
                { "database", required_argument, NULL, ARG_DATABASE },
                { "log-level", required_argument, NULL, ARG_LOG_LEVEL },
                { "create-admin", required_argument, NULL, ARG_CREATE_ADMIN },
                {},
        };
        int c;

        o->config_path = CONFIG_DEFAULT_PATH;
        while ((c = getopt_long(argc, argv, "hc:l:", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("pipelitd %s\n", PACKAGE_VERSION);
                        return 0;
                case 'c':
                        o->config_path = optarg;
                        o->config_explicit = true;
                        break;
                case 'l': {
                        char **l = realloc(o->listen, (o->n_listen + 2) * sizeof(char *));

                        if (!l)
                                return -ENOMEM;
                        o->listen = l;
                        o->listen[o->n_listen++] = optarg;
                        o->listen[o->n_listen] = NULL;
                        break;
                }
                case ARG_LISTEN_UNIX:
                        o->listen_unix = optarg;
                        break;
                case ARG_STATE_DIR:
                        o->state_dir = optarg;
                        break;
                case ARG_DATABASE:
                        o->database = optarg;
                        break;
                case ARG_LOG_LEVEL:
                        o->log_level = optarg;
                        break;
                case ARG_CREATE_ADMIN:
                        o->create_admin = optarg;
                        break;
                case '?':
                        return -EINVAL;
                }
        if (optind < argc) {
                fprintf(stderr, _("pipelitd: unexpected argument '%s'\n"), argv[optind]);
                return -EINVAL;
        }
        return 1;
}

static int replace_string(char **dst, const char *v) {
        char *copy = strdup(v);

        if (!copy)
                return -ENOMEM;
        free(*dst);
        *dst = copy;
        return 0;
}

static int apply_options(Config *c, const Options *o) {
        int r;

        if (o->listen) {
                char **copy = calloc(o->n_listen + 1, sizeof(char *));

                if (!copy)
                        return -ENOMEM;
                for (size_t i = 0; i < o->n_listen; i++)
                        if (!(copy[i] = strdup(o->listen[i])))
                                return -ENOMEM;
                for (char **l = c->listen; l && *l; l++)
                        free(*l);
                free(c->listen);
                c->listen = copy;
        }
        if (o->listen_unix && (r = replace_string(&c->listen_unix, o->listen_unix)) < 0)
                return r;
        if (o->state_dir && (r = replace_string(&c->state_directory, o->state_dir)) < 0)
                return r;
        if (o->database && (r = replace_string(&c->database, o->database)) < 0)
                return r;
        if (o->log_level) {
                r = log_level_from_string(o->log_level);
                if (r < 0) {
                        fprintf(stderr, _("pipelitd: --log-level: unknown level '%s'\n"), o->log_level);
                        return r;
                }
                c->log_level = r;
        }
        if (!c->listen || !c->listen[0]) {
                free(c->listen);
                c->listen = calloc(2, sizeof(char *));
                if (!c->listen || !(c->listen[0] = strdup(DEFAULT_LISTEN)))
                        return -ENOMEM;
        }
        return 0;
}

/* At start, and again on Reload() and SIGHUP (a ConfigLoader; userdata: the Options). */
static int load_config(Config *c, const void *userdata, char **ret_error) {
        const Options *o = userdata;
        int r;

        r = config_load_file(c, o->config_path, o->config_explicit, ret_error);
        if (r >= 0)
                r = config_apply_env(c, environ, ret_error);
        if (r >= 0)
                r = apply_options(c, o);
        if (r >= 0)
                r = config_finish(c, ret_error);
        return r;
}

/* Every agent waiting on its model holds a connection, every client one more: the soft
 * limit (1024 under systemd, for select()'s sake, which nothing here uses) goes up to the
 * hard one, as systemd's own daemons do. */
static void raise_file_limit(void) {
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= rl.rlim_max)
                return;
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
                log_debug_errno(errno, "Cannot raise the limit of open files: %m");
}

int main(int argc, char *argv[]) {
        _cleanup_(manager_freep) Manager *m = NULL;
        _cleanup_free_ char **listen = NULL;
        _cleanup_free_ char *error = NULL;
        Options o = {};
        sigset_t mask;
        int r;

        i18n_init();
        log_open();
        r = parse_argv(argc, argv, &o);
        listen = o.listen;
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
        sigaddset(&mask, SIGHUP);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        signal(SIGPIPE, SIG_IGN);
        raise_file_limit();

        r = manager_new(&m);
        if (r < 0) {
                log_error_errno(r, "Cannot allocate the manager: %m");
                return EXIT_FAILURE;
        }
        r = load_config(&m->config, &o, &error);
        if (r < 0) {
                if (error)
                        log_error("%s", error);
                return EXIT_FAILURE;
        }
        m->config_loader = load_config;
        m->config_loader_userdata = &o;
        log_set_max_level(m->config.log_level);

        if (manager_open_database(m) < 0)
                return EXIT_FAILURE;

        if (o.create_admin) {
                r = create_admin(m->db, o.create_admin, stdin, stdout);
                if (r == -EEXIST)
                        log_error("User '%s' already exists.", o.create_admin);
                else if (r < 0)
                        log_error_errno(r, "Cannot create user '%s': %m", o.create_admin);
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        }

        return manager_run(m) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
