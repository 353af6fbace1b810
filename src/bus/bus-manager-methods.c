/* The methods and properties of org.pipelit.Pipelit1.Manager. Rich records travel as JSON
 * text in the shapes of the REST API (docs/api.md); the store and the API's checks are the
 * same ones the REST endpoints use.
 *
 * Reads see every workflow and execution, as an admin does; Run acts as the workflow's
 * owner, ImportWorkflow as the first admin. Methods that change something ask
 * bus_authorize() first (polkit). */

#include <errno.h>
#include <stdint.h>

#include "api/api-workflows.h"
#include "broker/broker.h"
#include "bus/bus-actions.h"
#include "bus/bus-manager-internal.h"
#include "bus/bus-objects.h"
#include "bus/bus-polkit.h"
#include "bus/bus-util.h"
#include "common/json-util.h"
#include "daemon/manager.h"
#include "daemon/worker-pool.h"
#include "engine/engine.h"
#include "engine/workflow-import.h"
#include "store/store-executions.h"
#include "store/store-users.h"
#include "store/store-workflows.h"

#define LIST_LIMIT_DEFAULT 50
#define LIST_LIMIT_MAX 1000
#define USERS_PAGE 100

static const StoreCaller bus_reader = { .user_id = 0, .is_admin = true };

static int property_version(sd_bus *bus, const char *path, const char *interface, const char *property,
                            sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", PACKAGE_VERSION);
}

static int property_state(sd_bus *bus, const char *path, const char *interface, const char *property,
                          sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;

        return sd_bus_message_append(reply, "s", m->stopping ? "stopping" : "running");
}

static int property_database(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;

        /* The backend only: the URL may carry a password. */
        return sd_bus_message_append(reply, "s", db_backend_to_string(db_backend(m->db)));
}

static int property_broker(sd_bus *bus, const char *path, const char *interface, const char *property,
                           sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", "local");
}

static int property_active_executions(sd_bus *bus, const char *path, const char *interface,
                                      const char *property, sd_bus_message *reply, void *userdata,
                                      sd_bus_error *error) {
        Manager *m = userdata;
        int64_t n;
        int r;

        r = store_executions_live_count(m->db, &n);
        if (r < 0)
                return r;
        return sd_bus_message_append(reply, "u", (uint32_t) MIN(MAX(n, (int64_t) 0), (int64_t) UINT32_MAX));
}

static int property_queued_nodes(sd_bus *bus, const char *path, const char *interface, const char *property,
                                 sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        int64_t n;
        int r;

        r = store_node_runs_queued(m->db, &n);
        if (r < 0)
                return r;
        return sd_bus_message_append(reply, "u", (uint32_t) MIN(MAX(n, (int64_t) 0), (int64_t) UINT32_MAX));
}

static int method_list_workflows(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        json_t *items = NULL;
        int64_t total;
        int r;

        r = store_workflow_list(m->db, &bus_reader, INT32_MAX, 0, &items, &total);
        if (r < 0)
                return r;
        return bus_reply_json(message, json_pack("{s:o, s:I}", "items", items, "total", (json_int_t) total));
}

static int find_workflow(Manager *m, const char *slug, int64_t *ret_id, sd_bus_error *error) {
        int r;

        r = store_workflow_find(m->db, &bus_reader, slug, ret_id);
        if (r == -ENOENT)
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_WORKFLOW, "Workflow '%s' not found.", slug);
        return r;
}

/* Answers the workflow the message's slug names as JSON: WorkflowOut with its graph, or
 * the export document. */
static int reply_workflow(sd_bus_message *message, Manager *m, bool export, sd_bus_error *error) {
        json_t *doc = NULL;
        const char *slug;
        int64_t id;
        int r;

        r = sd_bus_message_read(message, "s", &slug);
        if (r < 0)
                return r;
        r = find_workflow(m, slug, &id, error);
        if (r < 0)
                return r;
        r = export ? store_workflow_export(m->db, id, &doc) : store_workflow_get(m->db, id, true, &doc);
        /* Deleted since it was found. */
        if (r == -ENOENT)
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_WORKFLOW, "Workflow '%s' not found.", slug);
        if (r < 0)
                return r;
        return bus_reply_json(message, doc);
}

static int method_get_workflow(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return reply_workflow(message, userdata, false, error);
}

static int method_export_workflow(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return reply_workflow(message, userdata, true, error);
}

/* The oldest active admin, who owns what is imported over the bus; 0 when there is none. */
static int first_admin(Manager *m, int64_t *ret_id) {
        for (int64_t offset = 0;; offset += USERS_PAGE) {
                _cleanup_json_ json_t *users = NULL;
                int64_t total;
                json_t *u;
                size_t i;
                int r;

                r = store_user_list(m->db, USERS_PAGE, offset, &users, &total);
                if (r < 0)
                        return r;
                json_array_foreach(users, i, u)
                        if (streq(json_get_string(u, "role", ""), "admin")) {
                                *ret_id = json_get_integer(u, "id", 0);
                                return 0;
                        }
                if (json_array_size(users) == 0 || offset + USERS_PAGE >= total) {
                        *ret_id = 0;
                        return 0;
                }
        }
}

static int method_import_workflow(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_json_ json_t *doc = NULL, *workflow = NULL, *detail = NULL;
        _cleanup_free_ char *why = NULL;
        Manager *m = userdata;
        const char *text;
        int64_t owner;
        int r;

        r = bus_authorize(m, message, BUS_ACTION_MANAGE_WORKFLOWS, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = sd_bus_message_read(message, "s", &text);
        if (r < 0)
                return r;
        doc = bus_parse_json(text, "document", NULL, true, error);
        if (!doc)
                return sd_bus_error_is_set(error) ? -EINVAL : sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT,
                                                                                "The document is empty.");
        r = first_admin(m, &owner);
        if (r < 0)
                return r;
        if (owner == 0)
                return sd_bus_error_set(error, BUS_ERROR_NO_ADMIN,
                                        "No admin user owns imported workflows yet; create one with "
                                        "pipelitd --create-admin.");

        WorkflowImporter im = {
                .db = m->db,
                .vault = m->vault,
                .owner = { .user_id = owner, .is_admin = true },
                .max_nodes = m->config.max_nodes_per_workflow,
        };
        r = workflow_import(&im, doc, &workflow, &detail);
        if (r == -EINVAL) {
                why = workflow_import_detail_text(detail, "; ");
                if (!why)
                        return -ENOMEM;
                return sd_bus_error_set(error, BUS_ERROR_INVALID_ARGUMENT, why);
        }
        if (r < 0)
                return r;
        worker_pool_workflows_changed(m->workers);
        return sd_bus_reply_method_return(message, "s", json_get_string(workflow, "slug", ""));
}

static int method_run(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        const char *slug, *request;
        int r;

        r = sd_bus_message_read(message, "ss", &slug, &request);
        if (r < 0)
                return r;
        return bus_run_workflow(userdata, message, slug, request, error);
}

static int method_list_executions(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_json_ json_t *empty = json_object(), *filter = NULL;
        ExecutionFilter f = { .limit = LIST_LIMIT_DEFAULT };
        Manager *m = userdata;
        json_t *items = NULL, *v;
        const char *text;
        int64_t total;
        int r;

        r = sd_bus_message_read(message, "s", &text);
        if (r < 0)
                return r;
        if (!empty)
                return -ENOMEM;
        filter = bus_parse_json(text, "filter", empty, true, error);
        if (!filter)
                return -EINVAL;

        v = json_object_get(filter, "workflow_slug");
        if (v && !json_is_null(v) && !json_is_string(v))
                return sd_bus_error_set(error, BUS_ERROR_INVALID_ARGUMENT, "workflow_slug must be a string.");
        f.workflow_slug = json_string_value(v);
        v = json_object_get(filter, "status");
        if (v && !json_is_null(v) && (!json_is_string(v) || execution_status_from_string(json_string_value(v)) < 0))
                return sd_bus_error_set(error, BUS_ERROR_INVALID_ARGUMENT,
                                        "status must be 'pending', 'running', 'interrupted', 'completed', "
                                        "'failed' or 'cancelled'.");
        f.status = json_string_value(v);
        v = json_object_get(filter, "limit");
        if (v) {
                if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > LIST_LIMIT_MAX)
                        return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT,
                                                 "limit must be a whole number from 1 to %d.", LIST_LIMIT_MAX);
                f.limit = json_integer_value(v);
        }
        v = json_object_get(filter, "offset");
        if (v) {
                if (!json_is_integer(v) || json_integer_value(v) < 0)
                        return sd_bus_error_set(error, BUS_ERROR_INVALID_ARGUMENT,
                                                "offset must be a whole number, 0 or more.");
                f.offset = json_integer_value(v);
        }

        r = store_execution_list(m->db, &bus_reader, &f, &items, &total);
        if (r < 0)
                return r;
        return bus_reply_json(message, json_pack("{s:o, s:I}", "items", items, "total", (json_int_t) total));
}

static int read_execution_id(sd_bus_message *message, const char **ret, sd_bus_error *error) {
        int r;

        r = sd_bus_message_read(message, "s", ret);
        if (r < 0)
                return r;
        if (!execution_id_is_valid(*ret))
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_EXECUTION, "Execution '%s' not found.", *ret);
        return 0;
}

static int method_get_execution(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        json_t *execution = NULL;
        const char *id;
        int r;

        r = read_execution_id(message, &id, error);
        if (r < 0)
                return r;
        r = store_execution_get(m->db, &bus_reader, id, &execution);
        if (r == -ENOENT)
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_EXECUTION, "Execution '%s' not found.", id);
        if (r < 0)
                return r;
        return bus_reply_json(message, execution);
}

static int method_cancel_execution(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        const char *id;
        int r;

        r = read_execution_id(message, &id, error);
        if (r < 0)
                return r;
        return bus_cancel_execution(userdata, message, id, error);
}

static int method_resume_execution(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        const char *id, *input;
        int r;

        r = read_execution_id(message, &id, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(message, "s", &input);
        if (r < 0)
                return r;
        return bus_resume_execution(userdata, message, id, input, error);
}

static int method_reload(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_json_ json_t *report = NULL;
        _cleanup_free_ char *text = NULL;
        Manager *m = userdata;
        int r;

        r = bus_authorize(m, message, BUS_ACTION_RELOAD, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = manager_reload(m, &report, &text);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return sd_bus_error_set(error, BUS_ERROR_BAD_CONFIGURATION,
                                        text ?: "The configuration cannot be read.");
        return bus_reply_json(message, TAKE_PTR(report));
}

static int method_subscribe(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        int r = bus_subscribe(userdata, message);

        return r < 0 ? r : sd_bus_reply_method_return(message, NULL);
}

static int method_unsubscribe(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        int r = bus_unsubscribe(userdata, message);

        return r < 0 ? r : sd_bus_reply_method_return(message, NULL);
}

const sd_bus_vtable bus_manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", property_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("State", "s", property_state, 0, 0),
        SD_BUS_PROPERTY("ActiveExecutions", "u", property_active_executions, 0, 0),
        SD_BUS_PROPERTY("QueuedNodes", "u", property_queued_nodes, 0, 0),
        SD_BUS_PROPERTY("Database", "s", property_database, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Broker", "s", property_broker, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_METHOD_WITH_ARGS("ListWorkflows", SD_BUS_NO_ARGS, SD_BUS_RESULT("s", workflows_json),
                                method_list_workflows, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetWorkflow", SD_BUS_ARGS("s", slug), SD_BUS_RESULT("s", workflow_json),
                                method_get_workflow, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetWorkflowPath", SD_BUS_ARGS("s", slug), SD_BUS_RESULT("o", path),
                                bus_method_get_workflow_path, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ExportWorkflow", SD_BUS_ARGS("s", slug), SD_BUS_RESULT("s", document_json),
                                method_export_workflow, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ImportWorkflow", SD_BUS_ARGS("s", document_json), SD_BUS_RESULT("s", slug),
                                method_import_workflow, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Run", SD_BUS_ARGS("s", slug, "s", request_json), SD_BUS_RESULT("s", execution_id),
                                method_run, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListExecutions", SD_BUS_ARGS("s", filter_json), SD_BUS_RESULT("s", executions_json),
                                method_list_executions, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetExecution", SD_BUS_ARGS("s", execution_id), SD_BUS_RESULT("s", execution_json),
                                method_get_execution, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetExecutionPath", SD_BUS_ARGS("s", execution_id), SD_BUS_RESULT("o", path),
                                bus_method_get_execution_path, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("CancelExecution", SD_BUS_ARGS("s", execution_id), SD_BUS_NO_RESULT,
                                method_cancel_execution, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ResumeExecution", SD_BUS_ARGS("s", execution_id, "s", input_json),
                                SD_BUS_RESULT("s", answer_json), method_resume_execution, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListSchedules", SD_BUS_NO_ARGS, SD_BUS_RESULT("s", schedules_json),
                                bus_method_list_schedules, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("PauseSchedule", SD_BUS_ARGS("s", schedule_id), SD_BUS_NO_RESULT,
                                bus_method_pause_schedule, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ResumeSchedule", SD_BUS_ARGS("s", schedule_id), SD_BUS_NO_RESULT,
                                bus_method_resume_schedule, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListWorkers", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(sssutb)", workers),
                                bus_method_list_workers, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("StartWorker", SD_BUS_ARGS("s", slug), SD_BUS_NO_RESULT, bus_method_start_worker,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("StopWorker", SD_BUS_ARGS("s", slug), SD_BUS_NO_RESULT, bus_method_stop_worker,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Subscribe", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_subscribe,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Unsubscribe", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_unsubscribe,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("CreateUser", SD_BUS_ARGS("s", username, "s", password, "s", role),
                                SD_BUS_RESULT("t", user_id), bus_method_create_user, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SetPassword", SD_BUS_ARGS("s", username, "s", password), SD_BUS_NO_RESULT,
                                bus_method_set_password, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListUsers", SD_BUS_NO_ARGS, SD_BUS_RESULT("s", users_json), bus_method_list_users,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("DisableMfa", SD_BUS_ARGS("s", username), SD_BUS_NO_RESULT, bus_method_disable_mfa,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("CreateApiKey", SD_BUS_ARGS("s", username, "s", name, "u", expires_in_days),
                                SD_BUS_RESULT("s", key_json), bus_method_create_api_key, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListApiKeys", SD_BUS_ARGS("s", username), SD_BUS_RESULT("s", keys_json),
                                bus_method_list_api_keys, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("RevokeApiKey", SD_BUS_ARGS("s", username, "t", key_id), SD_BUS_NO_RESULT,
                                bus_method_revoke_api_key, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Reload", SD_BUS_NO_ARGS, SD_BUS_RESULT("s", report_json), method_reload,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_ARGS("ExecutionStarted", SD_BUS_ARGS("s", execution_id, "s", workflow_slug), 0),
        SD_BUS_SIGNAL_WITH_ARGS("ExecutionFinished",
                                SD_BUS_ARGS("s", execution_id, "s", workflow_slug, "s", status), 0),
        SD_BUS_SIGNAL_WITH_ARGS("NodeStatus", SD_BUS_ARGS("s", execution_id, "s", node_id, "s", status), 0),
        SD_BUS_VTABLE_END,
};
