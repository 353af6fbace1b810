/* /api/v1/workflows/: workflows as wholes — create, list, edit, delete, validate, export
 * and import. Their nodes and edges are api-nodes.c and api-edges.c. */

#include <errno.h>

#include "api/api-workflows.h"
#include "api/router.h"
#include "common/json-util.h"
#include "daemon/manager.h"
#include "daemon/worker-pool.h"
#include "engine/events.h"
#include "engine/node-types.h"
#include "engine/workflow-checks.h"
#include "engine/workflow-import.h"
#include "engine/workspaces.h"
#include "store/store-edges.h"
#include "store/store-nodes.h"
#include "store/store-workflows.h"

StoreCaller api_caller(const HttpRequest *req) {
        return (StoreCaller) {
                .user_id = req->user.id,
                .is_admin = req->user.role == USER_ROLE_ADMIN,
        };
}

int api_workflow_from_path(HttpRequest *req, HttpResponse *resp, int64_t *ret_id) {
        StoreCaller caller = api_caller(req);
        const char *slug = http_request_param(req, "slug");
        int r;

        r = store_workflow_find(req->manager->db, &caller, slug ?: "", ret_id);
        if (r == -ENOENT) {
                http_reply_error(resp, 404, "Workflow not found.");
                return 0;
        }
        if (r < 0)
                return r;
        return 1;
}

int api_reply_validation_errors(HttpResponse *resp, json_t *messages) {
        json_t *detail;

        detail = json_pack("{s:o}", "validation_errors", messages);
        if (!detail)
                return -ENOMEM;
        return http_reply_detail(resp, 422, detail);
}

static int workflows_get(HttpRequest *req, HttpResponse *resp) {
        StoreCaller caller = api_caller(req);
        int64_t limit, offset, total;
        json_t *items = NULL;
        int r;

        if (http_request_pagination(req, resp, &limit, &offset) < 0)
                return 0;

        r = store_workflow_list(req->manager->db, &caller, limit, offset, &items, &total);
        if (r < 0)
                return r;
        return http_reply_page(resp, items, total);
}

/* The request body, checked for a create or a patch: 1 with *ret set, 0 when resp already
 * holds the 400/422 answer, or negative errno. */
static int read_workflow_body(HttpRequest *req, HttpResponse *resp, bool creating, json_t **ret) {
        _cleanup_json_ json_t *body = NULL, *errors = NULL;
        StoreCaller caller = api_caller(req);
        int r;

        body = http_request_json_object(req, resp);
        if (!body)
                return resp->status ? 0 : -ENOMEM;
        errors = json_array();
        if (!errors)
                return -ENOMEM;
        r = workflow_body_check(req->manager->db, &caller, body, creating, errors);
        if (r < 0)
                return r;
        if (json_array_size(errors) > 0)
                return http_reply_detail(resp, 422, TAKE_PTR(errors));
        *ret = TAKE_PTR(body);
        return 1;
}

static int workflows_post(HttpRequest *req, HttpResponse *resp) {
        _cleanup_json_ json_t *body = NULL;
        json_t *workflow = NULL;
        int r;

        r = read_workflow_body(req, resp, true, &body);
        if (r <= 0)
                return r;

        r = store_workflow_create(req->manager->db, req->user.id, body, &workflow);
        if (r == -ENOLINK)
                return http_reply_error(resp, 422, "The error handler workflow does not exist.");
        if (r < 0)
                return r;
        worker_pool_workflows_changed(req->manager->workers);
        return http_reply_json(resp, 201, workflow);
}

static int workflows_slug_get(HttpRequest *req, HttpResponse *resp) {
        json_t *workflow = NULL;
        int64_t id;
        int r;

        r = api_workflow_from_path(req, resp, &id);
        if (r <= 0)
                return r;

        r = store_workflow_get(req->manager->db, id, true, &workflow);
        if (r == -ENOENT)
                return http_reply_error(resp, 404, "Workflow not found.");
        if (r < 0)
                return r;
        return http_reply_json(resp, 200, workflow);
}

static int workflows_slug_patch(HttpRequest *req, HttpResponse *resp) {
        _cleanup_json_ json_t *body = NULL;
        json_t *workflow = NULL;
        int64_t id;
        int r;

        r = api_workflow_from_path(req, resp, &id);
        if (r <= 0)
                return r;

        r = read_workflow_body(req, resp, false, &body);
        if (r <= 0)
                return r;

        r = store_workflow_update(req->manager->db, id, body, &workflow);
        if (r == -EEXIST)
                return http_reply_error(resp, 409, "Slug '%s' is already taken.",
                                        json_get_string(body, "slug", ""));
        if (r == -ENOLINK)
                return http_reply_error(resp, 422, "The error handler workflow does not exist.");
        if (r == -ENOENT)
                return http_reply_error(resp, 404, "Workflow not found.");
        if (r < 0)
                return r;
        worker_pool_workflows_changed(req->manager->workers);
        /* On the channel its subscribers know, also when the slug just changed. */
        events_publish_workflow(http_request_param(req, "slug"), "workflow_updated", NULL, json_incref(workflow));
        return http_reply_json(resp, 200, workflow);
}

/* Tells the workflow's subscribers, and lets the WebSocket hub end their subscriptions:
 * the slug may soon name someone else's workflow. */
static void publish_workflow_deleted(const char *slug) {
        events_publish_workflow(slug, "workflow_deleted", NULL, json_pack("{s:s}", "slug", slug));
}

static int workflows_slug_delete(HttpRequest *req, HttpResponse *resp) {
        int64_t id;
        int r;

        r = api_workflow_from_path(req, resp, &id);
        if (r <= 0)
                return r;

        r = store_workflow_delete(req->manager->db, id);
        if (r == -ENOENT)
                return http_reply_error(resp, 404, "Workflow not found.");
        if (r < 0)
                return r;
        workspaces_remove_workflow(id);
        worker_pool_workflows_changed(req->manager->workers);
        publish_workflow_deleted(http_request_param(req, "slug"));
        return http_reply_no_content(resp);
}

static int workflows_batch_delete(HttpRequest *req, HttpResponse *resp) {
        _cleanup_json_ json_t *body = NULL;
        StoreCaller caller = api_caller(req);
        json_t *out;
        int64_t deleted;
        int r;

        body = http_request_batch_body(req, resp, "slugs", false);
        if (!body)
                return resp->status ? 0 : -ENOMEM;

        r = store_workflow_delete_many(req->manager->db, &caller, json_object_get(body, "slugs"), &deleted);
        if (r < 0)
                return r;
        if (deleted > 0) {
                (void) workspaces_sweep(req->manager->db);
                worker_pool_workflows_changed(req->manager->workers);
                /* The ones gone now are the ones deleted (the others were not the caller's). */
                StoreCaller anyone = { .is_admin = true };
                json_t *slug;
                size_t i;

                json_array_foreach(json_object_get(body, "slugs"), i, slug) {
                        const char *s = json_string_value(slug);
                        int64_t id;

                        if (workflow_slug_is_valid(s) &&
                            store_workflow_find(req->manager->db, &anyone, s, &id) == -ENOENT)
                                publish_workflow_deleted(s);
                }
        }
        out = json_pack("{s:I}", "deleted", (json_int_t) deleted);
        if (!out)
                return -ENOMEM;
        return http_reply_json(resp, 200, out);
}

/* Checks of validate/: what would stop the workflow from running as drawn. */
static int validate_nodes(json_t *nodes, json_t *node_types, json_t *messages) {
        json_t *node;
        size_t i;
        int r;

        json_array_foreach(nodes, i, node) {
                const char *node_id = json_get_string(node, "node_id", ""),
                           *component_type = json_get_string(node, "component_type", "");

                if (json_object_set_new(node_types, node_id, json_string(component_type)) < 0)
                        return -ENOMEM;
                if (node_type_find(component_type))
                        continue;
                r = check_message_append(messages, "Node '%s' has unknown component type '%s'", node_id,
                                    component_type);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int validate_edges(json_t *edges, json_t *node_types, json_t *messages) {
        json_t *edge, *m;
        size_t i, j;
        int r;

        json_array_foreach(edges, i, edge) {
                _cleanup_json_ json_t *edge_messages = json_array();

                if (!edge_messages)
                        return -ENOMEM;
                (void) edge_graph_check(edge, node_types, edge_messages);
                json_array_foreach(edge_messages, j, m) {
                        r = check_message_append(messages, "Edge %s -> %s: %s",
                                            json_get_string(edge, "source_node_id", ""),
                                            json_get_string(edge, "target_node_id", ""),
                                            json_string_value(m));
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* A node that needs a model runs only with an ai_model attached by one "llm" edge. */
static int validate_models(json_t *nodes, json_t *edges, json_t *messages) {
        json_t *node, *edge;
        size_t i, j;
        int r;

        json_array_foreach(nodes, i, node) {
                const char *node_id = json_get_string(node, "node_id", "");
                const NodeTypeSpec *spec = node_type_find(json_get_string(node, "component_type", ""));
                size_t n_models = 0;

                json_array_foreach(edges, j, edge)
                        if (streq(json_get_string(edge, "edge_label", ""), "llm") &&
                            streq(json_get_string(edge, "target_node_id", ""), node_id))
                                n_models++;

                if (spec && spec->requires_model && n_models == 0)
                        r = check_message_append(messages, "Node '%s' (%s) requires a model: connect an "
                                            "ai_model node with an 'llm' edge", node_id,
                                            spec->component_type);
                else if (n_models > 1)
                        r = check_message_append(messages, "Node '%s' has %zu models: one 'llm' edge per node",
                                            node_id, n_models);
                else
                        r = 0;
                if (r < 0)
                        return r;
        }
        return 0;
}

static int workflows_validate(HttpRequest *req, HttpResponse *resp) {
        _cleanup_json_ json_t *nodes = NULL, *edges = NULL, *messages = NULL, *node_types = NULL;
        Db *db = req->manager->db;
        json_t *out;
        int64_t id;
        int r;

        r = api_workflow_from_path(req, resp, &id);
        if (r <= 0)
                return r;

        r = store_nodes_list(db, id, &nodes);
        if (r < 0)
                return r;
        r = store_edges_list(db, id, &edges);
        if (r < 0)
                return r;

        messages = json_array();
        if (!messages)
                return -ENOMEM;
        node_types = json_object();
        if (!node_types)
                return -ENOMEM;
        r = validate_nodes(nodes, node_types, messages);
        if (r < 0)
                return r;
        r = validate_edges(edges, node_types, messages);
        if (r < 0)
                return r;
        r = validate_models(nodes, edges, messages);
        if (r < 0)
                return r;

        out = json_pack("{s:b, s:O}", "valid", json_array_size(messages) == 0, "errors", messages);
        if (!out)
                return -ENOMEM;
        return http_reply_json(resp, 200, out);
}

static int workflows_export(HttpRequest *req, HttpResponse *resp) {
        json_t *doc = NULL;
        int64_t id;
        int r;

        r = api_workflow_from_path(req, resp, &id);
        if (r <= 0)
                return r;

        r = store_workflow_export(req->manager->db, id, &doc);
        if (r == -ENOENT)
                return http_reply_error(resp, 404, "Workflow not found.");
        if (r < 0)
                return r;
        return http_reply_json(resp, 200, doc);
}

static int workflows_import(HttpRequest *req, HttpResponse *resp) {
        _cleanup_json_ json_t *doc = NULL;
        json_t *workflow = NULL, *detail = NULL;
        WorkflowImporter im = {
                .db = req->manager->db,
                .vault = req->manager->vault,
                .owner = api_caller(req),
                .max_nodes = req->manager->config.max_nodes_per_workflow,
        };
        int r;

        doc = http_request_json_object(req, resp);
        if (!doc)
                return 0;
        r = workflow_import(&im, doc, &workflow, &detail);
        if (r == -EINVAL)
                return http_reply_detail(resp, 422, detail);
        if (r < 0)
                return r;
        worker_pool_workflows_changed(req->manager->workers);
        return http_reply_json(resp, 201, workflow);
}

const Route workflow_routes[] = {
        /* Literal paths first, before {slug} could take them. */
        { HTTP_POST, "/api/v1/workflows/batch-delete/", workflows_batch_delete, AUTH_USER },
        { HTTP_POST, "/api/v1/workflows/import/", workflows_import, AUTH_USER },
        { HTTP_GET, "/api/v1/workflows/", workflows_get, AUTH_USER },
        { HTTP_POST, "/api/v1/workflows/", workflows_post, AUTH_USER },
        { HTTP_GET, "/api/v1/workflows/{slug}/", workflows_slug_get, AUTH_USER },
        { HTTP_PATCH, "/api/v1/workflows/{slug}/", workflows_slug_patch, AUTH_USER },
        { HTTP_DELETE, "/api/v1/workflows/{slug}/", workflows_slug_delete, AUTH_USER },
        { HTTP_POST, "/api/v1/workflows/{slug}/validate/", workflows_validate, AUTH_USER },
        { HTTP_GET, "/api/v1/workflows/{slug}/export/", workflows_export, AUTH_USER },
        {}
};
