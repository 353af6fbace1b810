/* /api/v1/workflows/{slug}/execute/ and /api/v1/executions/: starting a run by hand, and
 * reading, cancelling and deleting runs (docs/api.md "Executions"). */

#include <errno.h>
#include <stdio.h>

#include "api/api-workflows.h"
#include "api/router.h"
#include "common/json-util.h"
#include "daemon/manager.h"
#include "engine/engine.h"
#include "engine/node-types.h"
#include "store/store-executions.h"
#include "store/store-nodes.h"

#define MANUAL_TRIGGER "trigger_manual"

int api_execute_trigger(HttpRequest *req, HttpResponse *resp, int64_t workflow_id, const char *named,
                        char **ret_node_id) {
        _cleanup_json_ json_t *node = NULL, *nodes = NULL;
        const char *found = NULL;
        size_t n_found = 0, i;
        json_t *n;
        int r;

        if (named) {
                r = store_node_get(req->manager->db, workflow_id, named, &node);
                if (r == -ENOENT)
                        return http_reply_error(resp, 422, "Trigger node '%s' is not in this workflow.", named);
                if (r < 0)
                        return r;
                if (!node_type_is_trigger(node_type_find(json_get_string(node, "component_type", ""))))
                        return http_reply_error(resp, 422, "Node '%s' is not a trigger but a '%s' node.", named,
                                                json_get_string(node, "component_type", ""));
                *ret_node_id = strdup(named);
                return *ret_node_id ? 1 : -ENOMEM;
        }

        r = store_nodes_list(req->manager->db, workflow_id, &nodes);
        if (r < 0)
                return r;
        json_array_foreach(nodes, i, n)
                if (streq(json_get_string(n, "component_type", ""), MANUAL_TRIGGER)) {
                        found = json_get_string(n, "node_id", NULL);
                        n_found++;
                }
        if (n_found == 0)
                return http_reply_error(resp, 422, "The workflow has no %s node; add one or name a trigger "
                                        "with trigger_node_id.", MANUAL_TRIGGER);
        if (n_found > 1)
                return http_reply_error(resp, 422, "The workflow has %zu %s nodes; name one with trigger_node_id.",
                                        n_found, MANUAL_TRIGGER);
        *ret_node_id = strdup(found);
        return *ret_node_id ? 1 : -ENOMEM;
}

static int workflows_execute(HttpRequest *req, HttpResponse *resp) {
        static const JsonField fields[] = {
                { "text", JSON_FIELD_STRING, JSON_FIELD_NULLABLE },
                { "trigger_node_id", JSON_FIELD_STRING, JSON_FIELD_NULLABLE },
                { "payload", JSON_FIELD_OBJECT, JSON_FIELD_NULLABLE },
        };
        _cleanup_json_ json_t *body = NULL, *errors = NULL, *workflow = NULL, *payload = NULL;
        _cleanup_free_ char *trigger = NULL, *error = NULL;
        char id[EXECUTION_ID_LEN + 1];
        Manager *m = req->manager;
        int64_t workflow_id;
        json_t *given;
        int r;

        r = api_workflow_from_path(req, resp, &workflow_id);
        if (r <= 0)
                return r;
        /* No body at all starts a run with empty text. */
        body = req->body_len > 0 ? http_request_json_object(req, resp) : json_object();
        if (!body)
                return resp->status ? 0 : -ENOMEM;
        errors = json_array();
        if (!errors)
                return -ENOMEM;
        (void) json_check_fields(body, fields, ELEMENTSOF(fields), errors);
        if (json_array_size(errors) > 0)
                return http_reply_detail(resp, 422, TAKE_PTR(errors));

        r = store_workflow_get(m->db, workflow_id, false, &workflow);
        if (r < 0)
                return r;
        if (!json_get_bool(workflow, "is_active", true))
                return http_reply_error(resp, 422, "Workflow '%s' is not active.", json_get_string(workflow, "slug", ""));

        r = api_execute_trigger(req, resp, workflow_id, json_get_string(body, "trigger_node_id", NULL), &trigger);
        if (r <= 0)
                return r;

        given = json_object_get(body, "payload");
        payload = json_pack("{s:s, s:o}", "text", json_get_string(body, "text", ""),
                            "payload", json_is_object(given) ? json_incref(given) : json_object());
        if (!payload)
                return -ENOMEM;
        if (!m->engine)
                return http_reply_error(resp, 503, "The execution engine is not running.");

        r = engine_execute(m->engine, m->db, &(EngineRequest) {
                .workflow_id = workflow_id,
                .user_id = req->user.id,
                .trigger_node_id = trigger,
                .trigger_payload = payload,
        }, id, &error);
        if (r == -EINVAL)
                return http_reply_error(resp, 422, "%s", error ?: "The workflow cannot run.");
        if (r == -ENOENT)
                return http_reply_error(resp, 404, "Workflow not found.");
        if (r < 0)
                return r;
        return http_reply_json(resp, 202, json_pack("{s:s, s:s}", "execution_id", id, "status", "pending"));
}

static int executions_get(HttpRequest *req, HttpResponse *resp) {
        _cleanup_free_ char *slug = http_request_query(req, "workflow_slug"), *status = http_request_query(req, "status");
        StoreCaller caller = api_caller(req);
        ExecutionFilter filter = { .workflow_slug = slug, .status = status };
        json_t *items = NULL;
        int64_t total;
        int r;

        if (http_request_pagination(req, resp, &filter.limit, &filter.offset) < 0)
                return 0;
        if (status && execution_status_from_string(status) < 0)
                return http_reply_detail(resp, 422, json_pack("[{s:[s,s], s:s, s:s}]", "loc", "query", "status",
                                                              "msg", "Input should be 'pending', 'running', "
                                                              "'interrupted', 'completed', 'failed' or 'cancelled'",
                                                              "type", "enum"));

        r = store_execution_list(req->manager->db, &caller, &filter, &items, &total);
        if (r < 0)
                return r;
        return http_reply_page(resp, items, total);
}

/* The {id} of the path when it could name an execution; else resp holds the 404. */
static const char *execution_id_from_path(HttpRequest *req, HttpResponse *resp) {
        const char *id = http_request_param(req, "id");

        if (!execution_id_is_valid(id)) {
                http_reply_error(resp, 404, "Execution not found.");
                return NULL;
        }
        return id;
}

static int executions_id_get(HttpRequest *req, HttpResponse *resp) {
        StoreCaller caller = api_caller(req);
        const char *id = execution_id_from_path(req, resp);
        json_t *execution = NULL;
        int r;

        if (!id)
                return 0;
        r = store_execution_get(req->manager->db, &caller, id, &execution);
        if (r == -ENOENT)
                return http_reply_error(resp, 404, "Execution not found.");
        if (r < 0)
                return r;
        return http_reply_json(resp, 200, execution);
}

static int executions_status(HttpRequest *req, HttpResponse *resp) {
        StoreCaller caller = api_caller(req);
        const char *id = execution_id_from_path(req, resp);
        json_t *status = NULL;
        int r;

        if (!id)
                return 0;
        r = store_execution_status(req->manager->db, &caller, id, &status);
        if (r == -ENOENT)
                return http_reply_error(resp, 404, "Execution not found.");
        if (r < 0)
                return r;
        return http_reply_json(resp, 200, status);
}

static int executions_cancel(HttpRequest *req, HttpResponse *resp) {
        _cleanup_json_ json_t *status = NULL;
        _cleanup_free_ char *slug = NULL;
        StoreCaller caller = api_caller(req);
        const char *id = execution_id_from_path(req, resp);
        Manager *m = req->manager;
        int r;

        if (!id)
                return 0;
        r = store_execution_workflow_slug(m->db, &caller, id, &slug);
        if (r == -ENOENT)
                return http_reply_error(resp, 404, "Execution not found.");
        if (r < 0)
                return r;
        if (!m->engine)
                return http_reply_error(resp, 503, "The execution engine is not running.");

        r = engine_cancel(m->engine, m->db, id, slug);
        if (r == -ENOENT)
                return http_reply_error(resp, 404, "Execution not found.");
        if (r < 0)
                return r;
        if (r == 0) {
                r = store_execution_status(m->db, &caller, id, &status);
                if (r < 0)
                        return r;
                return http_reply_error(resp, 409, "Execution is already %s.",
                                        json_get_string(status, "status", "finished"));
        }
        return http_reply_json(resp, 200, json_pack("{s:s, s:s}", "execution_id", id, "status", "cancelled"));
}

static int executions_resume(HttpRequest *req, HttpResponse *resp) {
        static const JsonField fields[] = {
                { "input", JSON_FIELD_ANY, JSON_FIELD_REQUIRED },
                { "task_id", JSON_FIELD_STRING, JSON_FIELD_NULLABLE },
        };
        _cleanup_json_ json_t *body = NULL, *status = NULL;
        _cleanup_free_ char *slug = NULL;
        StoreCaller caller = api_caller(req);
        const char *id = execution_id_from_path(req, resp), *task_id;
        Manager *m = req->manager;
        json_t *answer = NULL;
        int r;

        if (!id)
                return 0;
        r = store_execution_workflow_slug(m->db, &caller, id, &slug);
        if (r == -ENOENT)
                return http_reply_error(resp, 404, "Execution not found.");
        if (r < 0)
                return r;
        body = http_request_checked_object(req, resp, fields, ELEMENTSOF(fields));
        if (!body)
                return resp->status ? 0 : -ENOMEM;
        if (!m->engine)
                return http_reply_error(resp, 503, "The execution engine is not running.");

        task_id = json_get_string(body, "task_id", NULL);
        r = engine_resume(m->engine, m->db, id, slug, task_id, json_object_get(body, "input"), &answer);
        if (r == -ENOENT)
                return http_reply_error(resp, 404, "Execution not found.");
        if (r == -ESRCH)
                return http_reply_error(resp, 404, "No pending confirmation '%s' in this execution.", task_id);
        if (r < 0)
                return r;
        if (r == 0) {
                r = store_execution_status(m->db, &caller, id, &status);
                if (r < 0)
                        return r;
                return http_reply_error(resp, 409, "Execution is %s, not interrupted.",
                                        json_get_string(status, "status", "not interrupted"));
        }
        return http_reply_json(resp, 200, answer);
}

static int executions_batch_delete(HttpRequest *req, HttpResponse *resp) {
        _cleanup_json_ json_t *body = NULL;
        StoreCaller caller = api_caller(req);
        int64_t deleted;
        int r;

        body = http_request_batch_body(req, resp, "execution_ids", false);
        if (!body)
                return resp->status ? 0 : -ENOMEM;

        r = store_execution_delete_many(req->manager->db, &caller, json_object_get(body, "execution_ids"), &deleted);
        if (r < 0)
                return r;
        return http_reply_json(resp, 200, json_pack("{s:I}", "deleted", (json_int_t) deleted));
}

const Route execution_routes[] = {
        { HTTP_POST, "/api/v1/workflows/{slug}/execute/", workflows_execute, AUTH_USER },
        { HTTP_GET, "/api/v1/executions/", executions_get, AUTH_USER },
        { HTTP_POST, "/api/v1/executions/batch-delete/", executions_batch_delete, AUTH_USER },
        { HTTP_GET, "/api/v1/executions/{id}/", executions_id_get, AUTH_USER },
        { HTTP_GET, "/api/v1/executions/{id}/status/", executions_status, AUTH_USER },
        { HTTP_POST, "/api/v1/executions/{id}/cancel/", executions_cancel, AUTH_USER },
        { HTTP_POST, "/api/v1/executions/{id}/resume/", executions_resume, AUTH_USER },
        {},
};
