/* /api/v1/workflows/{slug}/edges/: the connections between the nodes of a workflow. */

#include <errno.h>
#include <stdio.h>

#include "api/api-workflows.h"
#include "api/router.h"
#include "common/json-util.h"
#include "daemon/manager.h"
#include "engine/events.h"
#include "engine/node-types.h"
#include "store/store-edges.h"
#include "store/store-nodes.h"

#define CONDITION_VALUE_MAX 255

static const char *const edge_type_choices[] = { "direct", "conditional", NULL };
static const char *const edge_label_choices[] = {
        "", "llm", "tool", "skill", "output_parser", "loop_body", "loop_return", NULL,
};

static const JsonField edge_create_fields[] = {
        { "source_node_id", JSON_FIELD_STRING, JSON_FIELD_REQUIRED | JSON_FIELD_NONEMPTY, .max = NODE_ID_MAX },
        { "target_node_id", JSON_FIELD_STRING, JSON_FIELD_REQUIRED | JSON_FIELD_NONEMPTY, .max = NODE_ID_MAX },
        { "edge_type", JSON_FIELD_STRING, JSON_FIELD_NULLABLE, .choices = edge_type_choices },
        { "edge_label", JSON_FIELD_STRING, JSON_FIELD_NULLABLE, .choices = edge_label_choices },
        { "condition_value", JSON_FIELD_STRING, JSON_FIELD_NULLABLE, .max = CONDITION_VALUE_MAX },
        { "priority", JSON_FIELD_INTEGER, JSON_FIELD_NULLABLE, INT32_MIN, INT32_MAX },
};

static const JsonField edge_update_fields[] = {
        { "source_node_id", JSON_FIELD_STRING, JSON_FIELD_NONEMPTY, .max = NODE_ID_MAX },
        { "target_node_id", JSON_FIELD_STRING, JSON_FIELD_NONEMPTY, .max = NODE_ID_MAX },
        { "edge_type", JSON_FIELD_STRING, JSON_FIELD_NULLABLE, .choices = edge_type_choices },
        { "edge_label", JSON_FIELD_STRING, JSON_FIELD_NULLABLE, .choices = edge_label_choices },
        { "condition_value", JSON_FIELD_STRING, JSON_FIELD_NULLABLE, .max = CONDITION_VALUE_MAX },
        { "priority", JSON_FIELD_INTEGER, JSON_FIELD_NULLABLE, INT32_MIN, INT32_MAX },
};

int api_edge_check_fields(json_t *edge, bool create, json_t *errors) {
        if (create)
                return json_check_fields(edge, edge_create_fields, ELEMENTSOF(edge_create_fields), errors);
        return json_check_fields(edge, edge_update_fields, ELEMENTSOF(edge_update_fields), errors);
}

int api_edge_check_graph(json_t *edge, json_t *node_types, json_t *messages) {
        const char *source = json_get_string(edge, "source_node_id", ""),
                   *target = json_get_string(edge, "target_node_id", ""),
                   *edge_type = json_get_string(edge, "edge_type", "direct"),
                   *edge_label = json_get_string(edge, "edge_label", ""),
                   *condition_value = json_get_string(edge, "condition_value", "");
        bool end = streq(target, EDGE_END_NODE), conditional = streq(edge_type, "conditional");
        const NodeTypeSpec *source_spec, *target_spec = NULL;
        size_t before = json_array_size(messages);
        const char *source_type, *target_type = NULL;
        _cleanup_free_ char *reason = NULL;

        source_type = json_string_value(json_object_get(node_types, source));
        if (!source_type)
                (void) api_message_append(messages, "Source node '%s' does not exist in this workflow",
                                          source);

        if (end) {
                if (!conditional)
                        (void) api_message_append(messages, "Target '%s' may only end a conditional edge",
                                                  EDGE_END_NODE);
        } else {
                target_type = json_string_value(json_object_get(node_types, target));
                if (!target_type)
                        (void) api_message_append(messages,
                                                  "Target node '%s' does not exist in this workflow", target);
        }

        if (conditional && isempty(condition_value))
                (void) api_message_append(messages, "Conditional edges need a condition_value");

        if (json_array_size(messages) > before)
                return (int) (json_array_size(messages) - before);

        /* Types this build does not know are kept as they are; only known ones are checked. */
        source_spec = node_type_find(source_type);
        if (!end)
                target_spec = node_type_find(target_type);
        if (!source_spec || (!end && !target_spec))
                return 0;

        if (!node_types_check_edge(source_spec, target_spec, edge_label, edge_type, &reason))
                (void) api_message_append(messages, "%s",
                                          reason ?: "these node types cannot be connected this way");

        return (int) (json_array_size(messages) - before);
}

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

const char *api_edges_model_of(json_t *edges, const char *target, int64_t except_id) {
        json_t *edge;
        size_t i;

        json_array_foreach(edges, i, edge)
                if (streq(json_get_string(edge, "edge_label", ""), "llm") &&
                    streq(json_get_string(edge, "target_node_id", ""), target) &&
                    !(except_id > 0 && json_get_integer(edge, "id", 0) == except_id))
                        return json_get_string(edge, "source_node_id", "");
        return NULL;
}

int api_edge_check_model(json_t *edge, json_t *edges, int64_t except_id, json_t *messages) {
        const char *target = json_get_string(edge, "target_node_id", ""), *model;

        if (!streq(json_get_string(edge, "edge_label", ""), "llm"))
                return 0;

        model = api_edges_model_of(edges, target, except_id);
        if (!model)
                return 0;

        (void) api_message_append(messages, "Node '%s' already has a model ('%s'): one 'llm' edge per node",
                                  target, model);
        return 1;
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

        if (api_edge_check_fields(body, create, errors) > 0)
                return http_reply_detail(resp, 422, TAKE_PTR(errors));

        r = store_nodes_types(req->manager->db, workflow_id, &node_types);
        if (r < 0)
                return r;
        if (api_edge_check_graph(edge, node_types, messages) > 0)
                return api_reply_validation_errors(resp, TAKE_PTR(messages));

        r = store_edges_list(req->manager->db, workflow_id, &edges);
        if (r < 0)
                return r;
        if (api_edge_check_model(edge, edges, id, messages) > 0)
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
