/* /api/v1/workflows/{slug}/edges/: the connections between the nodes of a workflow. */

#include <errno.h>
#include <stdio.h>

#include "api/api-workflows.h"
#include "api/router.h"
#include "common/json-util.h"
#include "daemon/manager.h"
#include "engine/events.h"
#include "engine/workflow-checks.h"
#include "store/store-edges.h"
#include "store/store-nodes.h"

/* The edge with every field present, defaults for what is absent or null. */
static json_t *edge_complete(json_t *edge) {
        return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}",
                         "source_node_id", json_get_string(edge, "source_node_id", ""),
                         "target_node_id", json_get_string(edge, "target_node_id", ""),
                         "edge_type", json_get_string(edge, "edge_type", "direct"),
                         "edge_label", json_get_string(edge, "edge_label", ""),
                         "condition_value", json_get_string(edge, "condition_value", ""),
                         "priority", (json_int_t) json_get_integer(edge, "priority", 0));
}

/* Path ids are positive decimal numbers; anything else names no edge. */
static bool parse_edge_id(const char *s, int64_t *ret) {
        int64_t v = 0;

        if (isempty(s) || strlen(s) > 18)
                return false;
        for (const char *p = s; *p; p++) {
                if (*p < '0' || *p > '9')
                        return false;
                v = v * 10 + (*p - '0');
        }
        if (v <= 0)
                return false;
        *ret = v;
        return true;
}

/* Field errors answer 422 in FastAPI's shape, graph errors 422 {"validation_errors": …}.
 * Returns 1 when the edge is fine, 0 when resp holds the 422, or negative errno. */
static int check_edge(HttpRequest *req, HttpResponse *resp, int64_t workflow_id, json_t *body,
                      bool create, json_t *edge, int64_t id) {
        _cleanup_json_ json_t *errors = NULL, *messages = NULL, *node_types = NULL, *edges = NULL;
        int r;

        errors = json_array();
        messages = json_array();
        if (!errors || !messages)
                return -ENOMEM;

        if (edge_body_check(body, create, errors) > 0)
                return http_reply_detail(resp, 422, TAKE_PTR(errors));

        r = store_nodes_types(req->manager->db, workflow_id, &node_types);
        if (r < 0)
                return r;
        if (edge_graph_check(edge, node_types, messages) > 0)
                return api_reply_validation_errors(resp, TAKE_PTR(messages));

        r = store_edges_list(req->manager->db, workflow_id, &edges);
        if (r < 0)
                return r;
        if (edge_model_check(edge, edges, id, messages) > 0)
                return api_reply_validation_errors(resp, TAKE_PTR(messages));

        return 1;
}

static int edges_get(HttpRequest *req, HttpResponse *resp) {
        json_t *edges = NULL;
        int64_t workflow_id;
        int r;

        r = api_workflow_from_path(req, resp, &workflow_id);
        if (r <= 0)
                return r;

        r = store_edges_list(req->manager->db, workflow_id, &edges);
        if (r < 0)
                return r;
        return http_reply_json(resp, 200, edges);
}

static int edges_post(HttpRequest *req, HttpResponse *resp) {
        _cleanup_json_ json_t *body = NULL, *edge = NULL;
        int64_t workflow_id;
        json_t *out = NULL;
        int r;

        r = api_workflow_from_path(req, resp, &workflow_id);
        if (r <= 0)
                return r;

        body = http_request_json_object(req, resp);
        if (!body)
                return 0;

        edge = edge_complete(body);
        if (!edge)
                return -ENOMEM;
        r = check_edge(req, resp, workflow_id, body, true, edge, 0);
        if (r <= 0)
                return r;

        r = store_edge_create(req->manager->db, workflow_id, edge, &out);
        if (r < 0)
                return r;
        events_publish_workflow(http_request_param(req, "slug"), "edge_created", NULL, json_incref(out));
        return http_reply_json(resp, 201, out);
}

static int edges_patch(HttpRequest *req, HttpResponse *resp) {
        static const char *const fields[] = {
                "source_node_id", "target_node_id", "edge_type", "edge_label", "condition_value", "priority",
        };
        _cleanup_json_ json_t *body = NULL, *current = NULL, *edge = NULL;
        Db *db = req->manager->db;
        int64_t workflow_id, id;
        json_t *out = NULL;
        int r;

        r = api_workflow_from_path(req, resp, &workflow_id);
        if (r <= 0)
                return r;

        if (!parse_edge_id(http_request_param(req, "id"), &id))
                return http_reply_error(resp, 404, "Edge not found.");
        r = store_edge_get(db, workflow_id, id, &current);
        if (r == -ENOENT)
                return http_reply_error(resp, 404, "Edge not found.");
        if (r < 0)
                return r;

        body = http_request_json_object(req, resp);
        if (!body)
                return 0;

        for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                json_t *v = json_object_get(body, fields[i]);

                if (v && json_object_set(current, fields[i], v) < 0)
                        return -ENOMEM;
        }
        edge = edge_complete(current);
        if (!edge)
                return -ENOMEM;

        r = check_edge(req, resp, workflow_id, body, false, edge, id);
        if (r <= 0)
                return r;

        r = store_edge_update(db, workflow_id, id, edge, &out);
        if (r == -ENOENT)
                return http_reply_error(resp, 404, "Edge not found.");
        if (r < 0)
                return r;
        events_publish_workflow(http_request_param(req, "slug"), "edge_updated", NULL, json_incref(out));
        return http_reply_json(resp, 200, out);
}

static int edges_delete(HttpRequest *req, HttpResponse *resp) {
        int64_t workflow_id, id;
        int r;

        r = api_workflow_from_path(req, resp, &workflow_id);
        if (r <= 0)
                return r;

        if (!parse_edge_id(http_request_param(req, "id"), &id))
                return http_reply_error(resp, 404, "Edge not found.");

        r = store_edge_delete(req->manager->db, workflow_id, id);
        if (r == -ENOENT)
                return http_reply_error(resp, 404, "Edge not found.");
        if (r < 0)
                return r;
        events_publish_workflow(http_request_param(req, "slug"), "edge_deleted", NULL,
                                json_pack("{s:I}", "id", (json_int_t) id));
        return http_reply_no_content(resp);
}

const Route edge_routes[] = {
        { HTTP_GET, "/api/v1/workflows/{slug}/edges/", edges_get, AUTH_USER },
        { HTTP_POST, "/api/v1/workflows/{slug}/edges/", edges_post, AUTH_USER },
        { HTTP_PATCH, "/api/v1/workflows/{slug}/edges/{id}/", edges_patch, AUTH_USER },
        { HTTP_DELETE, "/api/v1/workflows/{slug}/edges/{id}/", edges_delete, AUTH_USER },
        {}
};
