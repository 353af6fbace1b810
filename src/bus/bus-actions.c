/* Runs started, cancelled and resumed over D-Bus (bus-actions.h), with the checks of the
 * REST API's execute, cancel and resume endpoints. */

#include <errno.h>

#include "api/api-workflows.h"
#include "bus/bus-actions.h"
#include "bus/bus-polkit.h"
#include "bus/bus-util.h"
#include "common/json-util.h"
#include "daemon/manager.h"
#include "engine/engine.h"
#include "store/store-executions.h"
#include "store/store-workflows.h"

static const StoreCaller bus_reader = { .user_id = 0, .is_admin = true };

static int reply_not_running(sd_bus_error *error) {
        return sd_bus_error_set(error, BUS_ERROR_NOT_RUNNING, "The execution engine is not running.");
}

static int find_workflow(Manager *m, const char *slug, int64_t *ret_id, sd_bus_error *error) {
        int r;

        r = store_workflow_find(m->db, &bus_reader, slug, ret_id);
        if (r == -ENOENT)
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_WORKFLOW, "Workflow '%s' not found.", slug);
        return r;
}

int bus_run_workflow(Manager *m, sd_bus_message *message, const char *slug, const char *request_text,
                     sd_bus_error *error) {
        static const JsonField fields[] = {
                { "text", JSON_FIELD_STRING, JSON_FIELD_NULLABLE },
                { "trigger_node_id", JSON_FIELD_STRING, JSON_FIELD_NULLABLE },
                { "payload", JSON_FIELD_OBJECT, JSON_FIELD_NULLABLE },
        };
        _cleanup_json_ json_t *empty = json_object(), *body = NULL, *errors = NULL, *workflow = NULL,
                *payload = NULL;
        _cleanup_(http_response_done) HttpResponse resp = {};
        _cleanup_free_ char *trigger = NULL, *engine_error = NULL;
        char id[EXECUTION_ID_LEN + 1];
        int64_t workflow_id;
        json_t *given;
        int r;

        r = bus_authorize(m, message, BUS_ACTION_RUN, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        if (!empty)
                return -ENOMEM;
        body = bus_parse_json(request_text, "run request", empty, true, error);
        if (!body)
                return -EINVAL;
        errors = json_array();
        if (!errors)
                return -ENOMEM;
        (void) json_check_fields(body, fields, ELEMENTSOF(fields), errors);
        if (json_array_size(errors) > 0) {
                resp.status = 422;
                resp.json = json_pack("{s:O}", "detail", errors);
                return bus_error_from_response(&resp, BUS_ERROR_NO_SUCH_WORKFLOW, error);
        }

        r = find_workflow(m, slug, &workflow_id, error);
        if (r < 0)
                return r;
        r = store_workflow_get(m->db, workflow_id, false, &workflow);
        if (r == -ENOENT)
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_WORKFLOW, "Workflow '%s' not found.", slug);
        if (r < 0)
                return r;
        if (!json_get_bool(workflow, "is_active", true))
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGUMENT, "Workflow '%s' is not active.", slug);

        /* A run over the bus is the owner's run, as if they had started it themselves. */
        HttpRequest req = {
                .manager = m,
                .user = { .id = json_get_integer(workflow, "owner_id", 0) },
                .authenticated = true,
        };
        r = api_execute_trigger(&req, &resp, workflow_id, json_get_string(body, "trigger_node_id", NULL), &trigger);
        if (r < 0)
                return r;
        if (r == 0)
                return bus_error_from_response(&resp, BUS_ERROR_NO_SUCH_WORKFLOW, error);

        given = json_object_get(body, "payload");
        payload = json_pack("{s:s, s:o}", "text", json_get_string(body, "text", ""),
                            "payload", json_is_object(given) ? json_incref(given) : json_object());
        if (!payload)
                return -ENOMEM;
        if (!m->engine)
                return reply_not_running(error);

        r = engine_execute(m->engine, m->db, &(EngineRequest) {
                .workflow_id = workflow_id,
                .user_id = req.user.id,
                .trigger_node_id = trigger,
                .trigger_payload = payload,
        }, id, &engine_error);
        if (r == -EINVAL)
                return sd_bus_error_set(error, BUS_ERROR_INVALID_ARGUMENT, engine_error ?: "The workflow cannot run.");
        if (r == -ENOENT)
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_WORKFLOW, "Workflow '%s' not found.", slug);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(message, "s", id);
}

/* The workflow of an execution; NoSuchExecution when there is none. */
static int execution_slug(Manager *m, const char *id, char **ret_slug, sd_bus_error *error) {
        int r;

        if (!execution_id_is_valid(id))
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_EXECUTION, "Execution '%s' not found.", id);
        r = store_execution_workflow_slug(m->db, &bus_reader, id, ret_slug);
        if (r == -ENOENT)
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_EXECUTION, "Execution '%s' not found.", id);
        return r;
}

/* Cancelling or resuming an execution in the wrong state: NotRunning, saying which state. */
static int reply_status_conflict(Manager *m, const char *id, bool resuming, sd_bus_error *error) {
        _cleanup_json_ json_t *status = NULL;
        int r;

        r = store_execution_status(m->db, &bus_reader, id, &status);
        if (r < 0)
                return r;
        if (resuming)
                return sd_bus_error_setf(error, BUS_ERROR_NOT_RUNNING, "Execution %s is %s, not interrupted.", id,
                                         json_get_string(status, "status", "finished"));
        return sd_bus_error_setf(error, BUS_ERROR_NOT_RUNNING, "Execution %s is already %s.", id,
                                 json_get_string(status, "status", "finished"));
}

int bus_cancel_execution(Manager *m, sd_bus_message *message, const char *id, sd_bus_error *error) {
        _cleanup_free_ char *slug = NULL;
        int r;

        r = bus_authorize(m, message, BUS_ACTION_RUN, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = execution_slug(m, id, &slug, error);
        if (r < 0)
                return r;
        if (!m->engine)
                return reply_not_running(error);
        r = engine_cancel(m->engine, m->db, id, slug);
        if (r == -ENOENT)
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_EXECUTION, "Execution '%s' not found.", id);
        if (r < 0)
                return r;
        if (r == 0)
                return reply_status_conflict(m, id, false, error);
        return sd_bus_reply_method_return(message, NULL);
}

int bus_resume_execution(Manager *m, sd_bus_message *message, const char *id, const char *input_text,
                         sd_bus_error *error) {
        _cleanup_json_ json_t *input = NULL;
        _cleanup_free_ char *slug = NULL;
        json_t *answer = NULL;
        int r;

        r = bus_authorize(m, message, BUS_ACTION_RUN, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = execution_slug(m, id, &slug, error);
        if (r < 0)
                return r;
        if (isempty(input_text))
                return sd_bus_error_set(error, BUS_ERROR_INVALID_ARGUMENT, "The input is empty: give a JSON value.");
        input = bus_parse_json(input_text, "input", NULL, false, error);
        if (!input)
                return -EINVAL;
        if (!m->engine)
                return reply_not_running(error);
        r = engine_resume(m->engine, m->db, id, slug, NULL, input, &answer);
        if (r == -ENOENT)
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_EXECUTION, "Execution '%s' not found.", id);
        if (r < 0)
                return r;
        if (r == 0)
                return reply_status_conflict(m, id, true, error);
        return bus_reply_json(message, answer);
}
