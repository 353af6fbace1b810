/* The Manager's dedicated workers: ListWorkers, StartWorker, StopWorker (daemon/worker-pool.h).
 * Listing is open to everyone; starting and stopping ask polkit for
 * org.pipelit.Pipelit1.manage-workers. */

#include <errno.h>

#include "bus/bus-manager-internal.h"
#include "bus/bus-polkit.h"
#include "bus/bus-util.h"
#include "common/json-util.h"
#include "common/log.h"
#include "daemon/manager.h"
#include "daemon/worker-pool.h"
#include "store/store-workflows.h"

static const StoreCaller bus_admin = { .user_id = 0, .is_admin = true };

int bus_method_list_workers(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_json_ json_t *list = NULL;
        Manager *m = userdata;
        json_t *w;
        size_t i;
        int r;

        list = m->workers ? worker_pool_list(m->workers) : json_array();
        if (!list)
                return -ENOMEM;
        r = sd_bus_message_new_method_return(message, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(sssutb)");
        json_array_foreach(list, i, w)
                if (r >= 0)
                        r = sd_bus_message_append(reply, "(sssutb)", json_get_string(w, "slug", ""),
                                                  json_get_string(w, "unit", ""), json_get_string(w, "state", ""),
                                                  (uint32_t) json_get_integer(w, "pid", 0),
                                                  (uint64_t) json_get_integer(w, "node_runs", 0),
                                                  (int) json_get_bool(w, "dedicated", false));
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* The workflow of a slug from a caller: NoSuchWorkflow when there is none. */
static int find_workflow(Manager *m, const char *slug, int64_t *ret_id, sd_bus_error *error) {
        int r;

        if (!workflow_slug_is_valid(slug))
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_WORKFLOW, "Workflow '%s' not found.", slug);
        r = store_workflow_find(m->db, &bus_admin, slug, ret_id);
        if (r == -ENOENT)
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_WORKFLOW, "Workflow '%s' not found.", slug);
        return r;
}

static int start_or_stop(sd_bus_message *message, Manager *m, bool starting, sd_bus_error *error) {
        const char *slug;
        int64_t id;
        int r;

        r = bus_authorize(m, message, BUS_ACTION_MANAGE_WORKERS, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = sd_bus_message_read(message, "s", &slug);
        if (r < 0)
                return r;
        r = find_workflow(m, slug, &id, error);
        if (r < 0)
                return r;
        if (!m->workers)
                return sd_bus_error_set(error, BUS_ERROR_NOT_RUNNING, "The execution engine is not running.");

        if (starting)
                r = worker_pool_start_worker(m->workers, id, slug);
        else
                r = worker_pool_stop_worker(m->workers, id);
        if (r == -ESRCH)
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_WORKER, "Workflow '%s' has no worker.", slug);
        if (r < 0)
                return r;
        log_info("The worker of workflow '%s' %s over D-Bus by %s.", slug, starting ? "started" : "stopped",
                 sd_bus_message_get_sender(message) ?: "a caller");
        return sd_bus_reply_method_return(message, NULL);
}

int bus_method_start_worker(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return start_or_stop(message, userdata, true, error);
}

int bus_method_stop_worker(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return start_or_stop(message, userdata, false, error);
}
