/* pipelitctl run: starts a run and, with --follow, prints its nodes' statuses from the
 * Manager's signals as they come and ends with the run's result. */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/json-util.h"
#include "common/macro.h"
#include "ctl/ctl-output.h"
#include "ctl/ctl.h"

/* Signals can be lost (they are a live view): without one for this long, ask. */
#define FOLLOW_POLL_USEC (2ULL * 1000 * 1000)

typedef struct Follow {
        char *id;               /* NULL until Run answered: signals queue until then */
        bool quiet;             /* --json: no status lines */
        bool finished;
} Follow;

static int on_node_status(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Follow *f = userdata;
        const char *id, *node, *status;

        if (sd_bus_message_read(m, "sss", &id, &node, &status) < 0 || !streq_ptr(id, f->id) || f->quiet)
                return 0;
        printf("%s %s%s%s\n", node, ctl_status_color(status), status, ctl_color(ANSI_NORMAL));
        fflush(stdout);
        return 0;
}

static int on_finished(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Follow *f = userdata;
        const char *id, *slug, *status;

        if (sd_bus_message_read(m, "sss", &id, &slug, &status) >= 0 && streq_ptr(id, f->id))
                f->finished = true;
        return 0;
}

/* The request body of Run: {"text"?, "payload"?}. NULL with a message printed. */
static char *run_request(const CtlOptions *o) {
        _cleanup_json_ json_t *request = json_object(), *payload = NULL;
        json_error_t e;

        if (!request)
                return NULL;
        if (o->payload) {
                payload = json_loads(o->payload, 0, &e);
                if (!payload || !json_is_object(payload)) {
                        fprintf(stderr, "pipelitctl: --payload must be a JSON object%s%s\n", payload ? "" : ": ",
                                payload ? "." : e.text);
                        return NULL;
                }
                if (json_object_set(request, "payload", payload) < 0)
                        return NULL;
        }
        if (o->text && json_object_set_new(request, "text", json_string(o->text)) < 0)
                return NULL;
        return json_dumps(request, JSON_COMPACT);
}

/* The end of a followed run: its result printed, the exit code for it. */
static int print_result(sd_bus *bus, const char *id, const CtlOptions *o) {
        _cleanup_json_ json_t *execution = NULL;
        const char *status;
        int r;

        r = ctl_call_json(bus, "GetExecution", &execution, 1, id);
        if (r != CTL_EXIT_SUCCESS)
                return r;
        status = json_get_string(execution, "status", "");
        if (o->json)
                ctl_print_json(execution);
        else if (streq(status, "completed"))
                ctl_print_json(json_object_get(execution, "final_output"));
        else
                fprintf(stderr, "Execution %s %s%s%s: %s\n", id, ctl_status_color(status), status,
                        ctl_color(ANSI_NORMAL), json_get_string(execution, "error_message", "no error message"));
        return streq(status, "completed") ? CTL_EXIT_SUCCESS : CTL_EXIT_FAILURE;
}

/* Whether the run has ended, asked directly. */
static int has_ended(sd_bus *bus, const char *id, bool *ret) {
        _cleanup_json_ json_t *execution = NULL;
        const char *status;
        int r;

        r = ctl_call_json(bus, "GetExecution", &execution, 1, id);
        if (r != CTL_EXIT_SUCCESS)
                return r;
        status = json_get_string(execution, "status", "");
        *ret = streq(status, "completed") || streq(status, "failed") || streq(status, "cancelled");
        return CTL_EXIT_SUCCESS;
}

int ctl_run(sd_bus *bus, const char *slug, const CtlOptions *o) {
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *node_slot = NULL, *end_slot = NULL;
        _cleanup_free_ char *request = NULL, *id = NULL;
        Follow f = { .quiet = o->json };
        int r;

        request = run_request(o);
        if (!request)
                return o->payload ? CTL_EXIT_USAGE : CTL_EXIT_FAILURE;

        /* Subscribe before the run starts, so that none of its signals is missed. */
        if (o->follow) {
                r = sd_bus_match_signal(bus, &node_slot, CTL_BUS_NAME, CTL_MANAGER_PATH, CTL_MANAGER_INTERFACE,
                                        "NodeStatus", on_node_status, &f);
                if (r >= 0)
                        r = sd_bus_match_signal(bus, &end_slot, CTL_BUS_NAME, CTL_MANAGER_PATH,
                                                CTL_MANAGER_INTERFACE, "ExecutionFinished", on_finished, &f);
                if (r < 0)
                        return ctl_fail(r, NULL, "Cannot subscribe to the daemon's signals");
                /* The daemon sends its signals only while someone subscribed. */
                r = ctl_call(bus, "Subscribe", NULL, 0);
                if (r != CTL_EXIT_SUCCESS)
                        return r;
        }

        r = ctl_call(bus, "Run", &id, 2, slug, request);
        if (r != CTL_EXIT_SUCCESS)
                return r;
        if (!o->follow) {
                if (o->json)
                        printf("{\"execution_id\": \"%s\"}\n", id);
                else
                        printf("%s\n", id);
                return CTL_EXIT_SUCCESS;
        }
        if (!o->json)
                fprintf(stderr, "Execution %s of '%s' started.\n", id, slug);
        f.id = id;

        while (!f.finished) {
                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        return ctl_fail(r, NULL, "Lost the connection to the bus");
                if (r > 0)
                        continue;
                r = sd_bus_wait(bus, FOLLOW_POLL_USEC);
                if (r < 0 && r != -EINTR)
                        return ctl_fail(r, NULL, "Lost the connection to the bus");
                if (r == 0) {
                        r = has_ended(bus, id, &f.finished);
                        if (r != CTL_EXIT_SUCCESS)
                                return r;
                }
        }
        /* Statuses that came in while we asked are still to print. */
        while (sd_bus_process(bus, NULL) > 0)
                ;
        return print_result(bus, id, o);
}
