/* pipelitctl worker list|start|stop: the dedicated workers of workflows (ListWorkers,
 * StartWorker, StopWorker). */

#include <errno.h>
#include <stdio.h>

#include "common/i18n.h"
#include "common/json-util.h"
#include "common/macro.h"
#include "ctl/ctl-output.h"
#include "ctl/ctl.h"

/* ListWorkers' a(sssutb) as [{"slug", "unit", "state", "pid", "node_runs", "dedicated"}]. */
static int read_workers(sd_bus_message *reply, json_t **ret) {
        _cleanup_json_ json_t *list = json_array();
        const char *slug, *unit, *state;
        uint32_t pid;
        uint64_t runs;
        int dedicated, r;

        if (!list)
                return -ENOMEM;
        r = sd_bus_message_enter_container(reply, 'a', "(sssutb)");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(reply, "(sssutb)", &slug, &unit, &state, &pid, &runs, &dedicated)) > 0)
                if (json_array_append_new(list, json_pack("{s:s, s:s?, s:s, s:I, s:I, s:b}", "slug", slug, "unit",
                                                          isempty(unit) ? NULL : unit, "state", state, "pid",
                                                          (json_int_t) pid, "node_runs", (json_int_t) runs,
                                                          "dedicated", dedicated)) < 0)
                        return -ENOMEM;
        if (r < 0)
                return r;
        *ret = TAKE_PTR(list);
        return 0;
}

static int worker_list(sd_bus *bus, const CtlOptions *o) {
        static const char *const columns[] = { "slug", "state", "pid", "node_runs", "dedicated", "unit", NULL };
        static const char *const headers[] = { "WORKFLOW", "STATE", "PID", "NODE RUNS", "DEDICATED", "UNIT" };
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_json_ json_t *list = NULL, *out = NULL;
        json_t *item;
        size_t i;
        int r;

        r = ctl_call_typed(bus, "ListWorkers", &reply, "");
        if (r != CTL_EXIT_SUCCESS)
                return r;
        r = read_workers(reply, &list);
        if (r < 0)
                return ctl_fail(r, NULL, "ListWorkers");
        if (o->json) {
                out = json_pack("{s:O}", "workers", list);
                ctl_print_json(out);
                return CTL_EXIT_SUCCESS;
        }
        json_array_foreach(list, i, item) {
                /* No process: no pid worth showing. */
                if (json_get_integer(item, "pid", 0) == 0)
                        (void) json_object_set_new(item, "pid", json_null());
                (void) json_object_set_new(item, "dedicated", json_string(json_get_bool(item, "dedicated", false)
                                                                          ? "yes" : "no"));
        }
        ctl_print_table(list, columns, headers, NULL);
        return CTL_EXIT_SUCCESS;
}

int ctl_worker(sd_bus *bus, char **args, int n_args, const CtlOptions *o) {
        const char *sub = args[0];

        if (streq(sub, "list")) {
                if (n_args != 1)
                        return ctl_usage_error(_("%s: too many arguments"), "worker list");
                return worker_list(bus, o);
        }
        if (!streq(sub, "start") && !streq(sub, "stop"))
                return ctl_usage_error(_("%s: unknown subcommand '%s'"), "worker", sub);
        if (n_args != 2)
                return ctl_usage_error(_("%s: missing argument"), streq(sub, "start") ? "worker start" : "worker stop");
        return ctl_call_typed(bus, streq(sub, "start") ? "StartWorker" : "StopWorker", NULL, "s", args[1]);
}
