/* pipelitctl: the command line of pipelitd, over D-Bus (org.pipelit.Pipelit1 on the system
 * bus; docs/dbus.md). */

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/i18n.h"
#include "common/json-util.h"
#include "common/macro.h"
#include "ctl/ctl-output.h"
#include "ctl/ctl.h"

#define IMPORT_MAX (64 * 1024 * 1024)

static void help(void) {
        printf(_("Usage: pipelitctl [OPTIONS] COMMAND …\n\n"
                 "Controls pipelitd over D-Bus.\n\n"
                 "Commands:\n"
                 "  status                      Show the daemon's state\n"
                 "  list-workflows              List the workflows\n"
                 "  show SLUG                   Show a workflow with its nodes and edges\n"
                 "  run SLUG                    Start a run; prints its execution id\n"
                 "  executions                  List executions, newest first\n"
                 "  execution ID                Show an execution\n"
                 "  cancel ID                   Cancel a live execution\n"
                 "  resume ID ANSWER            Answer an interrupted execution's confirmation\n"
                 "                              (ANSWER: JSON, or else taken as a string)\n"
                 "  export SLUG                 Print a workflow's export document\n"
                 "  import FILE                 Create a workflow from an export document\n"
                 "                              ('-': standard input); prints its slug\n"
                 "  user create USERNAME        Create a user (password: asked on a terminal,\n"
                 "                              else the first line of standard input)\n"
                 "  user passwd USERNAME        Set a user's password (asked the same way)\n"
                 "  user list                   List the users\n"
                 "  user disable-mfa USERNAME   Turn a user's second factor (MFA) off\n"
                 "  key create USERNAME NAME    Create an API key for a user; prints the key,\n"
                 "                              which is shown only this once\n"
                 "  key list USERNAME           List a user's API keys (without the keys)\n"
                 "  key revoke USERNAME ID      Revoke a user's API key\n"
                 "  schedules                   List the schedules\n"
                 "  pause ID                    Pause a schedule: it stops firing\n"
                 "  resume-schedule ID          Resume a paused schedule\n"
                 "  worker list                 List the workflows' dedicated workers\n"
                 "  worker start SLUG           Start a workflow's worker (it runs the workflow's\n"
                 "                              nodes until stopped)\n"
                 "  worker stop SLUG            Stop a workflow's worker (pipelitd runs its nodes\n"
                 "                              until the next worker start)\n"
                 "  reload                      Read the configuration file again\n\n"
                 "Options:\n"
                 "  -h --help                   Show this help\n"
                 "     --version                Show the version\n"
                 "     --json                   Print what the daemon answered as JSON\n"
                 "  -H --host=[USER@]HOST       Talk to the daemon on a remote host over SSH\n"
                 "     --user                   Talk to a daemon on the user's session bus\n"
                 "     --no-ask-password        Do not ask for a password when polkit wants one\n"
                 "     --payload=JSON           run: the trigger's payload (a JSON object)\n"
                 "     --text=TEXT              run: the trigger's text\n"
                 "  -f --follow                 run: print the nodes' statuses as they change,\n"
                 "                              then the output, and exit with the run's result\n"
                 "     --workflow=SLUG          executions: only this workflow's\n"
                 "     --status=STATUS          executions: only those with this status\n"
                 "     --limit=N                executions: at most N (default 50)\n"
                 "     --role=ROLE              user create: admin or normal (default normal)\n"
                 "     --expires-in-days=DAYS   key create: the key expires after DAYS days\n"
                 "                              (default: never)\n\n"
                 "Exit status:\n"
                 "  0  success (run --follow: the run completed)\n"
                 "  1  the daemon refused the request (the message says why), or the followed\n"
                 "     run failed or was cancelled\n"
                 "  2  invalid command line\n"
                 "  3  the bus or the daemon cannot be reached\n\n"
                 "On a terminal, polkit may ask for an administrator's password for privileged\n"
                 "commands (through pkttyagent, unless a desktop agent asks).\n"
                 "Colour is used only when standard output is a terminal and NO_COLOR is unset.\n"));
}

int ctl_usage_error(const char *format, ...) {
        va_list ap;

        fprintf(stderr, "pipelitctl: ");
        va_start(ap, format);
        vfprintf(stderr, format, ap);
        va_end(ap);
        fprintf(stderr, "\n");
        fprintf(stderr, _("Try 'pipelitctl --help'.\n"));
        return CTL_EXIT_USAGE;
}

static int property_string(sd_bus *bus, const char *name, char **ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_get_property_string(bus, CTL_BUS_NAME, CTL_MANAGER_PATH, CTL_MANAGER_INTERFACE, name, &error, ret);
        return r < 0 ? ctl_fail(r, &error, name) : CTL_EXIT_SUCCESS;
}

static int verb_status(sd_bus *bus, const CtlOptions *o) {
        _cleanup_free_ char *version = NULL, *state = NULL, *database = NULL, *broker = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        uint32_t active, queued;
        int r;

        if ((r = property_string(bus, "Version", &version)) != 0 || (r = property_string(bus, "State", &state)) != 0 ||
            (r = property_string(bus, "Database", &database)) != 0 || (r = property_string(bus, "Broker", &broker)) != 0)
                return r;
        r = sd_bus_get_property_trivial(bus, CTL_BUS_NAME, CTL_MANAGER_PATH, CTL_MANAGER_INTERFACE, "ActiveExecutions",
                                        &error, 'u', &active);
        if (r < 0)
                return ctl_fail(r, &error, "ActiveExecutions");
        r = sd_bus_get_property_trivial(bus, CTL_BUS_NAME, CTL_MANAGER_PATH, CTL_MANAGER_INTERFACE, "QueuedNodes",
                                        &error, 'u', &queued);
        if (r < 0)
                return ctl_fail(r, &error, "QueuedNodes");

        if (o->json) {
                _cleanup_json_ json_t *v = json_pack("{s:s, s:s, s:I, s:I, s:s, s:s}", "version", version,
                                                     "state", state, "active_executions", (json_int_t) active,
                                                     "queued_nodes", (json_int_t) queued, "database", database,
                                                     "broker", broker);
                ctl_print_json(v);
                return CTL_EXIT_SUCCESS;
        }
        printf("pipelitd %s\n", version);
        printf("            State: %s%s%s\n", streq(state, "running") ? ctl_color(ANSI_GREEN) : ctl_color(ANSI_YELLOW),
               state, ctl_color(ANSI_NORMAL));
        printf("Active executions: %u\n", active);
        printf("     Queued nodes: %u\n", queued);
        printf("         Database: %s\n", database);
        printf("           Broker: %s\n", broker);
        return CTL_EXIT_SUCCESS;
}

static int verb_list_workflows(sd_bus *bus, const CtlOptions *o) {
        static const char *const columns[] = { "slug", "is_active", "name", NULL };
        static const char *const headers[] = { "SLUG", "ACTIVE", "NAME" };
        _cleanup_json_ json_t *list = NULL;
        int r;

        r = ctl_call_json(bus, "ListWorkflows", &list, 0);
        if (r != CTL_EXIT_SUCCESS)
                return r;
        if (o->json)
                ctl_print_json(list);
        else
                ctl_print_table(json_object_get(list, "items"), columns, headers, NULL);
        return CTL_EXIT_SUCCESS;
}

static int verb_show(sd_bus *bus, const char *slug, const CtlOptions *o) {
        static const char *const node_columns[] = { "node_id", "component_type", "label", NULL };
        static const char *const node_headers[] = { "NODE", "TYPE", "LABEL" };
        static const char *const edge_columns[] = { "source_node_id", "target_node_id", "edge_type", NULL };
        static const char *const edge_headers[] = { "FROM", "TO", "TYPE" };
        _cleanup_json_ json_t *w = NULL;
        int r;

        r = ctl_call_json(bus, "GetWorkflow", &w, 1, slug);
        if (r != CTL_EXIT_SUCCESS)
                return r;
        if (o->json) {
                ctl_print_json(w);
                return CTL_EXIT_SUCCESS;
        }
        printf("%s%s%s (%s)\n", ctl_color(ANSI_BOLD), json_get_string(w, "name", ""), ctl_color(ANSI_NORMAL),
               json_get_string(w, "slug", ""));
        if (!isempty(json_get_string(w, "description", NULL)))
                printf("%s\n", json_get_string(w, "description", ""));
        printf("Active: %s\n\n", json_get_bool(w, "is_active", false) ? "yes" : "no");
        ctl_print_table(json_object_get(w, "nodes"), node_columns, node_headers, NULL);
        printf("\n");
        ctl_print_table(json_object_get(w, "edges"), edge_columns, edge_headers, NULL);
        return CTL_EXIT_SUCCESS;
}

static int verb_executions(sd_bus *bus, const CtlOptions *o) {
        static const char *const columns[] = { "execution_id", "workflow_slug", "status", "started_at", NULL };
        static const char *const headers[] = { "EXECUTION", "WORKFLOW", "STATUS", "STARTED" };
        _cleanup_json_ json_t *filter = json_object(), *list = NULL;
        _cleanup_free_ char *text = NULL;
        int r;

        if (!filter ||
            (o->workflow && json_object_set_new(filter, "workflow_slug", json_string(o->workflow)) < 0) ||
            (o->status && json_object_set_new(filter, "status", json_string(o->status)) < 0) ||
            (o->limit > 0 && json_object_set_new(filter, "limit", json_integer(o->limit)) < 0))
                return ctl_fail(-ENOMEM, NULL, "executions");
        text = json_dumps(filter, JSON_COMPACT);
        if (!text)
                return ctl_fail(-ENOMEM, NULL, "executions");

        r = ctl_call_json(bus, "ListExecutions", &list, 1, text);
        if (r != CTL_EXIT_SUCCESS)
                return r;
        if (o->json)
                ctl_print_json(list);
        else
                ctl_print_table(json_object_get(list, "items"), columns, headers, "status");
        return CTL_EXIT_SUCCESS;
}

static int verb_execution(sd_bus *bus, const char *id, const CtlOptions *o) {
        static const char *const columns[] = { "node_id", "status", "attempt", "error", NULL };
        static const char *const headers[] = { "NODE", "STATUS", "ATTEMPT", "ERROR" };
        _cleanup_json_ json_t *e = NULL;
        const char *status;
        int r;

        r = ctl_call_json(bus, "GetExecution", &e, 1, id);
        if (r != CTL_EXIT_SUCCESS)
                return r;
        if (o->json) {
                ctl_print_json(e);
                return CTL_EXIT_SUCCESS;
        }
        status = json_get_string(e, "status", "");
        printf("Execution %s%s%s\n", ctl_color(ANSI_BOLD), json_get_string(e, "execution_id", id), ctl_color(ANSI_NORMAL));
        printf(" Workflow: %s\n", json_get_string(e, "workflow_slug", "-"));
        printf("   Status: %s%s%s\n", ctl_status_color(status), status, ctl_color(ANSI_NORMAL));
        printf("  Started: %s\n", json_get_string(e, "started_at", "-"));
        printf(" Finished: %s\n", json_get_string(e, "completed_at", "-"));
        if (json_get_string(e, "error_message", NULL))
                printf("    Error: %s\n", json_get_string(e, "error_message", ""));
        printf("\n");
        ctl_print_table(json_object_get(e, "node_runs"), columns, headers, "status");
        if (streq(status, "completed")) {
                printf("\nOutput:\n");
                ctl_print_json(json_object_get(e, "final_output"));
        }
        return CTL_EXIT_SUCCESS;
}

static int verb_resume(sd_bus *bus, const char *id, const char *answer, const CtlOptions *o) {
        _cleanup_json_ json_t *parsed = json_loads(answer, JSON_DECODE_ANY, NULL), *reply = NULL;
        _cleanup_free_ char *input = NULL;
        int r;

        /* Anything that is not JSON is meant as a string ("yes", "no", free text). */
        if (!parsed) {
                parsed = json_string(answer);
                if (!parsed)
                        return ctl_usage_error(_("the answer is not valid UTF-8: '%s'"), answer);
        }
        input = json_dumps(parsed, JSON_ENCODE_ANY | JSON_COMPACT);
        if (!input)
                return ctl_fail(-ENOMEM, NULL, "resume");

        r = ctl_call_json(bus, "ResumeExecution", &reply, 2, id, input);
        if (r != CTL_EXIT_SUCCESS)
                return r;
        if (o->json)
                ctl_print_json(reply);
        else
                printf("Execution %s is %s.\n", id, json_get_string(reply, "status", "resumed"));
        return CTL_EXIT_SUCCESS;
}

static int read_file(const char *path, char **ret) {
        _cleanup_free_ char *data = NULL;
        FILE *f = streq(path, "-") ? stdin : fopen(path, "re");
        size_t n = 0, size = 0;

        if (!f)
                return -errno;
        for (;;) {
                size_t got;

                if (n + 4096 + 1 > size) {
                        char *bigger;

                        if (size >= IMPORT_MAX) {
                                if (f != stdin)
                                        fclose(f);
                                return -EFBIG;
                        }
                        size = MAX(size * 2, (size_t) 8192);
                        bigger = realloc(data, size);
                        if (!bigger) {
                                if (f != stdin)
                                        fclose(f);
                                return -ENOMEM;
                        }
                        data = bigger;
                }
                got = fread(data + n, 1, size - n - 1, f);
                n += got;
                if (got == 0)
                        break;
        }
        if (ferror(f)) {
                if (f != stdin)
                        fclose(f);
                return -EIO;
        }
        if (f != stdin)
                fclose(f);
        data[n] = 0;
        *ret = TAKE_PTR(data);
        return 0;
}

static int verb_import(sd_bus *bus, const char *path, const CtlOptions *o) {
        _cleanup_free_ char *document = NULL, *slug = NULL;
        int r;

        r = read_file(path, &document);
        if (r < 0) {
                fprintf(stderr, "pipelitctl: %s: %s\n", path, strerror(-r));
                return CTL_EXIT_FAILURE;
        }
        r = ctl_call(bus, "ImportWorkflow", &slug, 1, document);
        if (r != CTL_EXIT_SUCCESS)
                return r;
        if (o->json)
                printf("{\"slug\": \"%s\"}\n", slug);
        else
                printf("%s\n", slug);
        return CTL_EXIT_SUCCESS;
}

static int connect_bus(const char *host, bool user, sd_bus **ret) {
        int r;

        if (host)
                r = sd_bus_open_system_remote(ret, host);
        else if (user)
                r = sd_bus_open_user(ret);
        else
                r = sd_bus_open_system(ret);
        if (r < 0) {
                fprintf(stderr, "pipelitctl: cannot connect to the %s bus: %s\n", user ? "user" : "system", strerror(-r));
                return CTL_EXIT_NO_DAEMON;
        }
        return CTL_EXIT_SUCCESS;
}

typedef struct Verb {
        const char *name;
        int min_args, max_args; /* user and key check their subcommand's own */
} Verb;

static const Verb verbs[] = {
        { "status", 0, 0 }, { "list-workflows", 0, 0 }, { "show", 1, 1 }, { "run", 1, 1 }, { "executions", 0, 0 },
        { "execution", 1, 1 }, { "cancel", 1, 1 }, { "resume", 2, 2 }, { "export", 1, 1 }, { "import", 1, 1 },
        { "user", 1, 2 }, { "key", 2, 3 }, { "schedules", 0, 0 }, { "pause", 1, 1 }, { "resume-schedule", 1, 1 },
        { "reload", 0, 0 }, { "worker", 1, 2 },
};

/* Whether the command calls a method that polkit decides on (docs/dbus.md). */
static bool verb_is_privileged(const char *verb, char **args, int n_args) {
        static const char *const privileged[] = { "run", "cancel", "resume", "import", "user", "key", "pause",
                                                  "resume-schedule", "reload" };

        if (streq(verb, "worker"))
                return n_args > 0 && !streq(args[0], "list");
        for (size_t i = 0; i < ELEMENTSOF(privileged); i++)
                if (streq(verb, privileged[i]))
                        return true;
        return false;
}

static int dispatch(sd_bus *bus, const char *verb, char **args, int n_args, const CtlOptions *o) {
        _cleanup_json_ json_t *doc = NULL;
        int r;

        if (streq(verb, "status"))
                return verb_status(bus, o);
        if (streq(verb, "list-workflows"))
                return verb_list_workflows(bus, o);
        if (streq(verb, "show"))
                return verb_show(bus, args[0], o);
        if (streq(verb, "run"))
                return ctl_run(bus, args[0], o);
        if (streq(verb, "executions"))
                return verb_executions(bus, o);
        if (streq(verb, "execution"))
                return verb_execution(bus, args[0], o);
        if (streq(verb, "cancel"))
                return ctl_call(bus, "CancelExecution", NULL, 1, args[0]);
        if (streq(verb, "resume"))
                return verb_resume(bus, args[0], args[1], o);
        if (streq(verb, "import"))
                return verb_import(bus, args[0], o);
        if (streq(verb, "user"))
                return ctl_user(bus, args, n_args, o);
        if (streq(verb, "key"))
                return ctl_key(bus, args, n_args, o);
        if (streq(verb, "schedules"))
                return ctl_schedules(bus, o);
        if (streq(verb, "pause") || streq(verb, "resume-schedule"))
                return ctl_schedule_pause(bus, args[0], streq(verb, "pause"));
        if (streq(verb, "reload"))
                return ctl_reload(bus, o);
        if (streq(verb, "worker"))
                return ctl_worker(bus, args, n_args, o);
        /* export */
        r = ctl_call_json(bus, "ExportWorkflow", &doc, 1, args[0]);
        if (r == CTL_EXIT_SUCCESS)
                ctl_print_json(doc);
        return r;
}

int main(int argc, char *argv[]) {
        enum {
                ARG_VERSION = 0x100,
                ARG_JSON,
                ARG_USER,
                ARG_PAYLOAD,
                ARG_TEXT,
                ARG_WORKFLOW,
                ARG_STATUS,
                ARG_LIMIT,
                ARG_ROLE,
                ARG_EXPIRES_IN_DAYS,
                ARG_NO_ASK_PASSWORD,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "json", no_argument, NULL, ARG_JSON },
                { "host", required_argument, NULL, 'H' },
                { "user", no_argument, NULL, ARG_USER },
                { "payload", required_argument, NULL, ARG_PAYLOAD },
                { "text", required_argument, NULL, ARG_TEXT },
                { "follow", no_argument, NULL, 'f' },
                { "workflow", required_argument, NULL, ARG_WORKFLOW },
                { "status", required_argument, NULL, ARG_STATUS },
                { "limit", required_argument, NULL, ARG_LIMIT },
                { "role", required_argument, NULL, ARG_ROLE },
                { "expires-in-days", required_argument, NULL, ARG_EXPIRES_IN_DAYS },
                { "no-ask-password", no_argument, NULL, ARG_NO_ASK_PASSWORD },
                {}
        };
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        CtlOptions o = {};
        const char *host = NULL, *verb;
        bool user = false, ask_password = true;
        const Verb *v = NULL;
        int c, r;

        i18n_init();
        ctl_colors_init();

        while ((c = getopt_long(argc, argv, "hH:f", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return CTL_EXIT_SUCCESS;
                case ARG_VERSION:
                        printf("pipelitctl %s\n", PACKAGE_VERSION);
                        return CTL_EXIT_SUCCESS;
                case ARG_JSON:
                        o.json = true;
                        break;
                case 'H':
                        host = optarg;
                        break;
                case ARG_USER:
                        user = true;
                        break;
                case ARG_NO_ASK_PASSWORD:
                        ask_password = false;
                        break;
                case ARG_PAYLOAD:
                        o.payload = optarg;
                        break;
                case ARG_TEXT:
                        o.text = optarg;
                        break;
                case 'f':
                        o.follow = true;
                        break;
                case ARG_WORKFLOW:
                        o.workflow = optarg;
                        break;
                case ARG_STATUS:
                        o.status = optarg;
                        break;
                case ARG_LIMIT: {
                        char *end;

                        errno = 0;
                        o.limit = strtoll(optarg, &end, 10);
                        if (errno != 0 || *end || end == optarg || o.limit < 1)
                                return ctl_usage_error(_("--limit: not a positive number: '%s'"), optarg);
                        break;
                }
                case ARG_ROLE:
                        o.role = optarg;
                        break;
                case ARG_EXPIRES_IN_DAYS: {
                        unsigned long long days;
                        char *end;

                        errno = 0;
                        days = strtoull(optarg, &end, 10);
                        if (errno != 0 || *end || end == optarg || optarg[0] == '-' || days > CTL_KEY_DAYS_MAX)
                                return ctl_usage_error(_("--expires-in-days: not a number from 0 to %d: '%s'"),
                                                       CTL_KEY_DAYS_MAX, optarg);
                        o.expires_in_days = (uint32_t) days;
                        break;
                }
                default:
                        fprintf(stderr, _("Try 'pipelitctl --help'.\n"));
                        return CTL_EXIT_USAGE;
                }

        if (optind >= argc)
                return ctl_usage_error(_("missing command"));
        verb = argv[optind++];
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(verbs[i].name, verb))
                        v = &verbs[i];
        if (!v)
                return ctl_usage_error(_("unknown command '%s'"), verb);
        if (argc - optind < v->min_args)
                return ctl_usage_error(_("%s: missing argument"), verb);
        if (argc - optind > v->max_args)
                return ctl_usage_error(_("%s: too many arguments"), verb);
        if (host && user)
                return ctl_usage_error(_("--host and --user exclude each other"));

        r = connect_bus(host, user, &bus);
        if (r != CTL_EXIT_SUCCESS)
                return r;
        /* polkit may ask who is at the terminal for a password: through their desktop's
         * agent, else one on this terminal (not for a daemon elsewhere, nor for reads). */
        if (ask_password && isatty(STDIN_FILENO)) {
                (void) sd_bus_set_allow_interactive_authorization(bus, true);
                if (!host && !user && verb_is_privileged(verb, argv + optind, argc - optind))
                        ctl_agent_open();
        }
        r = dispatch(bus, verb, argv + optind, argc - optind, &o);
        ctl_agent_close();
        return r;
}
